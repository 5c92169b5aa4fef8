"""camlib: class activation maps (Zhou et al., CVPR 2016) in small, readable PyTorch.

One module per idea, loaded when first used (``import camlib`` imports torch and nothing
heavier; matplotlib, torchvision and scipy load with the functions that need them):

* :mod:`camlib.cam`        CAM: hook-based class activation maps, as a context manager
* :mod:`camlib.gradients`  gradcam: Grad-CAM, for comparison and for networks without GAP
* :mod:`camlib.family`     the CAM family a reader meets next: Grad-CAM++, Score-CAM, Layer-CAM,
                           XGrad-CAM and Eigen-CAM, with CAM's call and result
* :mod:`camlib.modes`      eval_mode and train_mode: switch a model's mode, restore each module's
* :mod:`camlib.postprocess` upsample and normalize: from the map's grid to the image, for display
* :mod:`camlib.boxes`      cam_to_box(es): the paper's box rule; centre_box, a baseline
* :mod:`camlib.metrics`    iou, box_accuracy, the paper's localization_accuracy, peak_in_box; the
                           pointing game, relevance mass, deletion/insertion, ROAD, Average Drop
                           and the cascading randomization test
* :mod:`camlib.pipelines`  cam_maps (a whole set of images) and localize (boxes on a photo)
* :mod:`camlib.models`     GAPNet, GMPNet and FlattenNet: one trunk, three heads
* :mod:`camlib.data`       synthetic data with boxes, image loading, side-by-side scenes
* :mod:`camlib.pretrained` load_pretrained: EfficientNet-Lite0 (offline), ResNets
* :mod:`camlib.viz`        overlay and plotting helpers
* :mod:`camlib.training`   train: a plain seeded training loop; predict, evaluate
* :mod:`camlib.device`     default_device, and full_precision: float32 convolutions on a GPU

What only the book needs, its fixtures (the shipped networks, the photos, the standard
splits), its exercises' checkers and its explorers, is in a package of its own in the same
distribution, :mod:`cambook`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # the one place; pyproject.toml reads it

# name -> the submodule that defines it; each submodule is imported on first use (PEP 562)
_LAZY = {
    "CAM": "cam",
    "CAMResult": "cam",
    "gradcam": "gradients",
    "eigencam": "family",
    "gradcampp": "family",
    "layercam": "family",
    "scorecam": "family",
    "xgradcam": "family",
    "eval_mode": "modes",
    "train_mode": "modes",
    "normalize": "postprocess",
    "upsample": "postprocess",
    "Box": "boxes",
    "cam_to_box": "boxes",
    "cam_to_boxes": "boxes",
    "centre_box": "boxes",
    "box_accuracy": "metrics",
    "iou": "metrics",
    "localization_accuracy": "metrics",
    "peak_in_box": "metrics",
    "Curve": "metrics",
    "blur": "metrics",
    "cascading_randomization": "metrics",
    "deletion_insertion": "metrics",
    "drop_and_increase": "metrics",
    "noisy_linear_imputation": "metrics",
    "pointing_game": "metrics",
    "region_masks": "metrics",
    "relevance_mass": "metrics",
    "road": "metrics",
    "spearman": "metrics",
    "ssim": "metrics",
    "Localization": "pipelines",
    "cam_maps": "pipelines",
    "localize": "pipelines",
    "FlattenNet": "models",
    "GAPNet": "models",
    "GMPNet": "models",
    "count_params": "models",
    "CLASSES": "data",
    "load_image": "data",
    "synthetic": "data",
    "Pretrained": "pretrained",
    "load_pretrained": "pretrained",
    "draw_box": "viz",
    "overlay": "viz",
    "show_cams": "viz",
    "evaluate": "training",
    "load_or_train": "training",
    "predict": "training",
    "train": "training",
    "default_device": "device",
    "full_precision": "device",
}
_SUBMODULES = (
    "cam",
    "gradients",
    "family",
    "modes",
    "postprocess",
    "boxes",
    "metrics",
    "pipelines",
    "models",
    "data",
    "pretrained",
    "viz",
    "training",
    "device",
)

__all__ = [
    "blur",
    "Box",
    "box_accuracy",
    "boxes",
    "CAM",
    "cam",
    "cam_maps",
    "cam_to_box",
    "cam_to_boxes",
    "CAMResult",
    "cascading_randomization",
    "centre_box",
    "CLASSES",
    "count_params",
    "Curve",
    "data",
    "default_device",
    "deletion_insertion",
    "device",
    "draw_box",
    "drop_and_increase",
    "eigencam",
    "eval_mode",
    "evaluate",
    "FlattenNet",
    "family",
    "full_precision",
    "GAPNet",
    "GMPNet",
    "gradcam",
    "gradcampp",
    "gradients",
    "iou",
    "layercam",
    "load_image",
    "load_or_train",
    "load_pretrained",
    "Localization",
    "localization_accuracy",
    "localize",
    "metrics",
    "models",
    "modes",
    "noisy_linear_imputation",
    "normalize",
    "overlay",
    "peak_in_box",
    "pipelines",
    "pointing_game",
    "postprocess",
    "predict",
    "Pretrained",
    "pretrained",
    "region_masks",
    "relevance_mass",
    "road",
    "scorecam",
    "show_cams",
    "spearman",
    "ssim",
    "synthetic",
    "train",
    "train_mode",
    "training",
    "upsample",
    "viz",
    "xgradcam",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        moved = {
            "book_model": "cambook.book_model",
            "book_split": "cambook.book_split",
            "sample_images": "cambook.sample_images",
        }
        hint = f"; it moved to {moved[name]} (import cambook)" if name in moved else ""
        raise AttributeError(f"module 'camlib' has no attribute {name!r}{hint}")
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names above load on first use
    from . import (
        boxes,
        cam,
        data,
        device,
        family,
        gradients,
        metrics,
        models,
        modes,
        pipelines,
        postprocess,
        pretrained,
        training,
        viz,
    )
    from .boxes import Box, cam_to_box, cam_to_boxes, centre_box
    from .cam import CAM, CAMResult
    from .data import CLASSES, load_image, synthetic
    from .device import default_device, full_precision
    from .family import eigencam, gradcampp, layercam, scorecam, xgradcam
    from .gradients import gradcam
    from .metrics import (
        Curve,
        blur,
        box_accuracy,
        cascading_randomization,
        deletion_insertion,
        drop_and_increase,
        iou,
        localization_accuracy,
        noisy_linear_imputation,
        peak_in_box,
        pointing_game,
        region_masks,
        relevance_mass,
        road,
        spearman,
        ssim,
    )
    from .models import FlattenNet, GAPNet, GMPNet, count_params
    from .modes import eval_mode, train_mode
    from .pipelines import Localization, cam_maps, localize
    from .postprocess import normalize, upsample
    from .pretrained import Pretrained, load_pretrained
    from .training import evaluate, load_or_train, predict, train
    from .viz import draw_box, overlay, show_cams
