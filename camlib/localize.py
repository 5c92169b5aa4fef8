"""From a class activation map to a box, without any box labels (Section 3 of the paper).

The paper's rule: keep the pixels whose value is at least 20% of the map's maximum, take
the largest connected component, and return its bounding box. Boxes are
``(x0, y0, x1, y1)`` integer pixel coordinates with exclusive ends (x1, y1 one past the
last pixel), so ``width = x1 - x0`` and an image of W x H pixels is ``(0, 0, W, H)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import Tensor, nn

from ._fast import EIGHT_NEIGHBOURS, MATMUL_MAX_SIDE, boxes_cpu, boxes_torch, resize_matrix
from .cam import CAM, ClassIndex, _class_index, all_finite
from .data import ImageLike, load_image
from .pretrained import Pretrained

Box = tuple[int, int, int, int]


def upsample(maps: Tensor, size: int | tuple[int, int]) -> Tensor:
    """Bilinear resize of maps [B, K, h, w] (or [K, h, w], or [h, w]) to ``size`` = (H, W) or H = W.

    Returns float32 (other dtypes are converted first): the values of
    ``F.interpolate(..., mode="bilinear", align_corners=False)``, to float32 rounding. Small
    CPU maps (sides up to 32, as class activation maps are) are computed faster as two
    matrix products (:mod:`camlib._fast`); larger maps, and maps on a GPU, go through
    ``F.interpolate`` itself.
    """
    if not isinstance(maps, Tensor) or maps.ndim not in (2, 3, 4):
        raise ValueError(f"expected maps as a [B, K, h, w], [K, h, w] or [h, w] tensor, "
                         f"got {getattr(maps, 'shape', type(maps))}")
    size = (size, size) if isinstance(size, int) else tuple(size)
    h, w = maps.shape[-2:]
    x = maps.float()
    if x.device.type == "cpu" and max(h, w) <= MATMUL_MAX_SIDE:
        return torch.matmul(resize_matrix(h, size[0]), torch.matmul(x, resize_matrix(w, size[1]).T))
    extra = 4 - maps.ndim
    out = F.interpolate(x.reshape((1,) * extra + tuple(maps.shape)), size=size, mode="bilinear", align_corners=False)
    return out.reshape(tuple(maps.shape[:-2]) + size)


def normalize(maps: Tensor) -> Tensor:
    """ReLU, then divide each map by its own maximum: values in [0, 1]; all-zero maps stay zero.

    Works on [..., h, w]; every leading index is one map. Integer maps are converted to float32.
    """
    if not isinstance(maps, Tensor) or maps.ndim < 2:
        raise ValueError(f"expected maps as a tensor [..., h, w], got {getattr(maps, 'shape', type(maps))}")
    pos = (maps if maps.is_floating_point() else maps.float()).clamp(min=0)
    peak = pos.amax(dim=(-2, -1), keepdim=True)
    return pos / peak.clamp(min=torch.finfo(pos.dtype).tiny)  # a map without a positive value is all 0: 0 / tiny


def cam_to_box(cam: Tensor | np.ndarray, threshold: float = 0.2) -> Box:
    """Box ``(x0, y0, x1, y1)`` (exclusive ends) around the largest blob of ``cam`` >= threshold * max.

    ``cam`` is one map [H, W] (tensor or array). Negative values count as zero (as after
    a ReLU). Blobs are 8-connected; between equally large blobs the one holding the
    map's highest value wins. A map with no positive value has no evidence anywhere,
    and gives the whole image.
    """
    arr = cam.detach().float().cpu().numpy() if isinstance(cam, Tensor) else np.asarray(cam, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"cam_to_box takes one map [H, W], got shape {arr.shape}; loop over a batch, e.g. "
                         "[cam_to_box(m) for m in maps.flatten(0, -3)]")
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold is a fraction of the maximum, in [0, 1], got {threshold}")
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


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes ``(x0, y0, x1, y1)`` with exclusive ends; in [0, 1]."""
    a, b = [float(v) for v in a], [float(v) for v in b]
    if len(a) != 4 or len(b) != 4:
        raise ValueError("boxes are 4 numbers (x0, y0, x1, y1)")
    for box in (a, b):
        if box[2] < box[0] or box[3] < box[1]:
            raise ValueError(f"box {tuple(box)} has x1 < x0 or y1 < y0; boxes are (x0, y0, x1, y1)")
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def cam_to_boxes(maps: Tensor, threshold: float = 0.2, size: int | tuple[int, int] | None = None) -> Tensor:
    """:func:`cam_to_box` on every map of ``maps`` [..., h, w] at once: boxes [..., 4] (int64, on the maps' device).

    With ``size`` = (H, W) (or H = W), the maps are first upsampled to it and normalized
    (:func:`upsample`, :func:`normalize`), so the boxes are in those pixels: raw class
    activation maps [B, K, h, w] in, boxes of the images [B, K, 4] out. The same boxes as
    ``cam_to_box`` map by map (the tests check it); the whole stack is labelled at once
    (:mod:`camlib._fast`), on the CPU or, for maps on a GPU, there.
    """
    if not isinstance(maps, Tensor) or maps.ndim < 2:
        raise ValueError(f"expected maps as a tensor [..., H, W], got {getattr(maps, 'shape', type(maps))}")
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold is a fraction of the maximum, in [0, 1], got {threshold}")
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


@dataclass
class Localization:
    """One class's evidence in one photo: its box and map in the photo's own pixels."""

    class_idx: int
    label: str
    prob: float
    box: Box
    cam: Tensor  # [H, W] normalised to [0, 1], the size of the original photo


def localize(pretrained: Pretrained, image: ImageLike, class_idx: ClassIndex = None, topk: int = 1,
             size: int = 224, threshold: float = 0.2) -> list[Localization]:
    """Boxes and maps for the top-``topk`` (or the given) classes of one photo.

    ``pretrained`` is what :func:`camlib.load_pretrained` returns; ``image`` a file path, a
    PIL image or an HxWx3 / HxWx4 / HxW array; ``class_idx`` as for :class:`camlib.CAM` with
    one image: an int, or ``[[c1, c2, ...]]`` for several classes. The map is computed at ``size`` x ``size``,
    upsampled to the photo's H x W, normalised, and boxed with the paper's rule.
    """
    photo = load_image(image)
    h, w = photo.shape[:2]
    device = next(pretrained.model.parameters()).device
    x = pretrained.preprocess(photo, size=size).unsqueeze(0).to(device)
    with CAM(pretrained.model) as cam:
        res = cam(x, class_idx=class_idx, topk=topk)
    maps = normalize(upsample(res.maps[0], (h, w))).cpu()
    return [Localization(class_idx=int(c), label=pretrained.categories[int(c)], prob=float(p),
                         box=cam_to_box(m, threshold), cam=m)
            for c, p, m in zip(res.class_idx[0], res.probs[0], maps)]


def centre_box(width: int, height: int, fraction: float = 0.5) -> Box:
    """A baseline that looks at nothing: the centred box covering ``fraction`` of each side."""
    bw, bh = round(width * fraction), round(height * fraction)
    x0, y0 = (width - bw) // 2, (height - bh) // 2
    return (x0, y0, x0 + bw, y0 + bh)


def box_accuracy(pred: Sequence[Sequence[int]], truth: Sequence[Sequence[int]], min_iou: float = 0.5) -> float:
    """Fraction of predicted boxes whose IoU with the true box is at least ``min_iou`` (the paper's 0.5)."""
    if len(pred) != len(truth) or len(pred) == 0:
        raise ValueError(f"need as many predicted as true boxes (and at least one), got {len(pred)} and {len(truth)}")
    return sum(iou(p, t) >= min_iou for p, t in zip(pred, truth)) / len(pred)


def localization_accuracy(classes: Tensor, boxes: Sequence[Sequence[Sequence[int]]], labels: Tensor,
                          truth: Sequence[Sequence[int]], min_iou: float = 0.5) -> float:
    """The CAM paper's localization accuracy: an image counts only when the class is right too.

    ``classes`` [N, K] are each image's K guessed classes (the top-K predictions), ``boxes``
    N lists of K boxes (the box of each guessed class), ``labels`` [N] the true classes and
    ``truth`` N true boxes. An image is localized when one of its K guesses has the true
    class *and* a box with IoU >= ``min_iou`` (the paper's 0.5). K = 1 gives top-1, K = 5
    top-5 localization accuracy; the paper reports the error, 1 minus this.
    """
    classes = torch.as_tensor(classes)
    if classes.ndim != 2 or len(classes) != len(boxes) or len(labels) != len(classes) or len(truth) != len(classes):
        raise ValueError(f"expected classes [N, K], N lists of K boxes, labels [N] and N true boxes, got "
                         f"{tuple(classes.shape)}, {len(boxes)}, {len(labels)} and {len(truth)}")
    if len(classes) == 0 or any(len(b) != classes.shape[1] for b in boxes):
        raise ValueError(f"need at least one image, and one box per guessed class ({classes.shape[1]} per image)")
    hits = sum(any(int(c) == int(y) and iou(b, t) >= min_iou for c, b in zip(cs, bs))
               for cs, bs, y, t in zip(classes.tolist(), boxes, torch.as_tensor(labels).tolist(), truth))
    return hits / len(classes)


def cam_maps(model: nn.Module, images: Tensor, class_idx: ClassIndex = None, topk: int = 1, batch_size: int = 256,
             target_layer: nn.Module | str | None = None) -> tuple[Tensor, Tensor]:
    """Logits [N, num_classes] and raw maps [N, K, h, w] of a whole set of images [N, C, H, W], batch by batch.

    ``class_idx`` and ``topk`` as for :class:`camlib.CAM`, with N images: None for the
    top-``topk``; an int; N ints, one class per image (e.g. the true labels); an [N, K] or
    [1, K] tensor; ``"all"`` for every class. ``target_layer`` as for :class:`camlib.CAM`:
    name it to read the maps of a network that is not GAP -> Linear (the paper's GMP
    networks, say). One forward pass per batch; results on the CPU.
    """
    device = next(model.parameters()).device
    logits, maps = [], []
    with CAM(model, target_layer=target_layer) as cam:
        idx = _class_index(class_idx, len(images), cam.fc.out_features)
        for start in range(0, len(images), batch_size):
            part = None if idx is None else idx[start:start + batch_size]
            res = cam(images[start:start + batch_size].to(device), class_idx=part, topk=topk)
            logits.append(res.logits.cpu())
            maps.append(res.maps.cpu())
    return torch.cat(logits), torch.cat(maps)


def peak_in_box(maps: Tensor, boxes: Tensor) -> Tensor:
    """Is the maximum of each map inside its box? maps [N, H, W] (image pixels), boxes [N, 4] -> bool [N].

    The "pointing game": a weaker test than IoU that asks only whether the map's strongest
    evidence falls on the object.
    """
    if maps.ndim != 3 or boxes.shape != (len(maps), 4):
        raise ValueError(f"expected maps [N, H, W] and boxes [N, 4], got {tuple(maps.shape)} and {tuple(boxes.shape)}")
    flat = maps.flatten(1).argmax(dim=1)
    y, x = flat // maps.shape[-1], flat % maps.shape[-1]
    return (x >= boxes[:, 0]) & (x < boxes[:, 2]) & (y >= boxes[:, 1]) & (y < boxes[:, 3])
