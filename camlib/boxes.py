"""From a class activation map to a box, without any box labels (the paper's Section 3.2).

The paper's rule: keep the pixels whose value is at least 20% of the map's maximum, take
the largest connected component, and return its bounding box. Boxes are
``(x0, y0, x1, y1)`` integer pixel coordinates with exclusive ends (x1, y1 one past the
last pixel), so ``width = x1 - x0`` and an image of W x H pixels is ``(0, 0, W, H)``.
:func:`cam_to_box` is the rule for one map, written plainly; :func:`cam_to_boxes` gives the
same boxes for a whole stack at once, through the speed paths of :mod:`camlib._fast`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from ._fast import EIGHT_NEIGHBOURS, boxes_cpu, boxes_torch
from ._utils import all_finite, pair
from .postprocess import normalize, upsample

__all__ = ["Box", "cam_to_box", "cam_to_boxes", "centre_box"]

Box = tuple[int, int, int, int]


def _check_threshold(threshold: float) -> None:
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold is a fraction of the maximum, in [0, 1], got {threshold}")


def cam_to_box(cam: Tensor | np.ndarray, threshold: float = 0.2) -> Box:
    """The paper's box: around the largest blob of ``cam`` >= ``threshold`` x its maximum.

    Taught in chapter 5, "From a map to a box". Negative values count as zero (as after a
    ReLU). Blobs are 8-connected; between equally large blobs the one holding the map's
    highest value wins. A map with no positive value has no evidence anywhere, and gives the
    whole image.

    Args:
        cam: one map [H, W], a tensor or an array.
        threshold: a fraction of the map's maximum, in [0, 1]; the paper's 0.2.

    Returns:
        The box ``(x0, y0, x1, y1)``, exclusive ends, in the map's pixels.

    Raises:
        ValueError: not one map [H, W], a threshold outside [0, 1], or NaN or infinite values.
    """
    from scipy import ndimage  # loaded with the box rule, not with camlib

    arr = cam.detach().float().cpu().numpy() if isinstance(cam, Tensor) else np.asarray(cam, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(
            f"cam_to_box takes one map [H, W], got shape {arr.shape}; for many maps use "
            "cam_to_boxes(maps), which boxes a whole stack [..., H, W] at once"
        )
    _check_threshold(threshold)
    if not np.isfinite(arr).all():
        raise ValueError("the map holds NaN or infinite values")
    arr = np.maximum(arr, 0)
    peak = arr.max()
    h, w = arr.shape
    if peak <= 0:
        return (0, 0, w, h)
    # the cut in float32, as torch computes it in cam_to_boxes (NumPy 1.x would use float64 here)
    labels, n = ndimage.label(arr >= np.float32(threshold) * peak, structure=EIGHT_NEIGHBOURS)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    peaks = ndimage.maximum(arr, labels, index=np.arange(1, n + 1))
    best = 1 + max(range(n), key=lambda i: (sizes[i], peaks[i], -i))
    ys, xs = np.nonzero(labels == best)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def cam_to_boxes(maps: Tensor, threshold: float = 0.2, size: int | Sequence[int] | None = None) -> Tensor:
    """:func:`cam_to_box` on every map of a stack at once.

    Taught in chapter 5, "From a map to a box". The same boxes as ``cam_to_box`` map by map
    (the tests check it); the whole stack is labelled at once (:mod:`camlib._fast`), on the
    CPU or, for maps on a GPU, there.

    Args:
        maps: [..., h, w] maps.
        threshold: a fraction of each map's maximum, in [0, 1]; the paper's 0.2.
        size: if given, (H, W) or one int: the maps are first upsampled to it and normalized
            (:func:`camlib.upsample`, :func:`camlib.normalize`), so that raw class activation
            maps [B, K, h, w] give the boxes of the images [B, K, 4] in their pixels.

    Returns:
        int64 boxes [..., 4] on the maps' device.

    Raises:
        ValueError: not a stack of maps, a threshold outside [0, 1], or NaN or infinite values.
    """
    if not isinstance(maps, Tensor) or maps.ndim < 2:
        raise ValueError(f"expected maps as a tensor [..., H, W], got {getattr(maps, 'shape', type(maps))}")
    _check_threshold(threshold)
    if size is not None:
        maps = normalize(upsample(maps, size))
    h, w = maps.shape[-2:]
    flat = maps.detach().float().reshape(-1, h, w)
    if not all_finite(flat):
        raise ValueError("the maps hold NaN or infinite values")
    if flat.device.type == "cpu" or len(flat) == 0:
        boxes = torch.from_numpy(boxes_cpu(flat.cpu(), threshold)).to(flat.device)
    else:  # in chunks of about 4M pixels, to bound the memory of the labels and counts
        boxes = torch.cat([boxes_torch(c, threshold) for c in flat.split(max(1, 2**22 // (h * w)))])
    return boxes.reshape(tuple(maps.shape[:-2]) + (4,))


def centre_box(size: int | Sequence[int], fraction: float = 0.5) -> Box:
    """A baseline that looks at nothing: the centred box covering ``fraction`` of each side.

    Taught in chapter 5, "From a map to a box".

    Args:
        size: the image's (H, W), or one int for a square.
        fraction: the share of each side the box covers, in (0, 1].

    Returns:
        The box ``(x0, y0, x1, y1)``, exclusive ends.

    Raises:
        ValueError: ``fraction`` outside (0, 1], or a size that is not positive.
    """
    height, width = pair(size)
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction is a share of each side, in (0, 1], got {fraction}")
    bw, bh = round(width * fraction), round(height * fraction)
    x0, y0 = (width - bw) // 2, (height - bh) // 2
    return (x0, y0, x0 + bw, y0 + bh)
