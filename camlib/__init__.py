"""camlib: the small library behind the executable book on Class Activation Maps.

One module per idea:

* :mod:`camlib.models`     GAPNet, GMPNet and FlattenNet: one trunk, three heads
* :mod:`camlib.book_models` book_model: the book's trained networks, shipped with camlib
* :mod:`camlib.cam`        CAM: hook-based class activation maps, as a context manager
* :mod:`camlib.localize`   upsample, normalize, cam_to_box(es), iou, the paper's metrics, localize
* :mod:`camlib.data`       synthetic data with boxes, real sample photos, image loading
* :mod:`camlib.pretrained` load_pretrained: EfficientNet-Lite0 (offline), ResNets
* :mod:`camlib.viz`        overlay and plotting helpers
* :mod:`camlib.train`      a plain seeded training loop, evaluate
* :mod:`camlib.gradcam`    Grad-CAM, for comparison and for networks without GAP
* :mod:`camlib.device`     default_device, and full_precision: float32 convolutions on a GPU

What only the book needs, its exercises' checkers and its interactive explorers, is in a
package of its own in the same distribution, :mod:`cambook`.
"""
from . import data
from .book_models import book_model
from .cam import CAM, CAMResult
from .data import CLASSES, book_split, load_image, sample_images, synthetic
from .device import default_device, full_precision
from .gradcam import gradcam
from .localize import (
    Localization,
    box_accuracy,
    cam_maps,
    cam_to_box,
    cam_to_boxes,
    centre_box,
    iou,
    localization_accuracy,
    localize,
    normalize,
    peak_in_box,
    upsample,
)
from .models import FlattenNet, GAPNet, GMPNet, count_params
from .pretrained import Pretrained, load_pretrained
from .train import evaluate, load_or_train, predict, train
from .viz import draw_box, overlay, show_cams

__version__ = "0.1.0"  # the one place; pyproject.toml reads it

__all__ = [
    "CAM", "CAMResult", "CLASSES", "FlattenNet", "GAPNet", "GMPNet", "Localization", "Pretrained", "book_model",
    "book_split", "box_accuracy", "cam_maps", "cam_to_box", "cam_to_boxes", "centre_box", "count_params", "data",
    "default_device", "draw_box", "evaluate", "full_precision", "gradcam", "iou", "load_image", "load_or_train",
    "load_pretrained", "localization_accuracy", "localize", "normalize", "overlay", "peak_in_box", "predict",
    "sample_images", "show_cams", "synthetic", "train", "upsample",
]
