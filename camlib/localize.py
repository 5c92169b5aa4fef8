"""From a class activation map to a box, without any box labels (Section 3 of the paper).

The paper's rule: keep the pixels whose value is at least 20% of the map's maximum, take
the largest connected component, and return its bounding box. Boxes are
``(x0, y0, x1, y1)`` integer pixel coordinates with exclusive ends (x1, y1 one past the
last pixel), so ``width = x1 - x0`` and an image of W x H pixels is ``(0, 0, W, H)``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import Tensor

from .cam import all_finite
from .data import ImageLike, load_image

Box = tuple[int, int, int, int]
_EIGHT_NEIGHBOURS = np.ones((3, 3), dtype=bool)


def upsample(maps: Tensor, size: int | tuple[int, int]) -> Tensor:
    """Bilinear resize of maps [B, K, h, w] (or [K, h, w], or [h, w]) to ``size`` = (H, W) or H = W.

    Returns float32 (other dtypes are converted first). The same values as
    ``F.interpolate(..., mode="bilinear", align_corners=False)`` (to float32 rounding).
    Bilinear resizing is separable, so on the CPU small maps (sides up to 32, as class
    activation maps are) are resized by two matrix products, ``A_H @ map @ A_W.T``: measured on
    2 cores, 40 maps of 7x7 to 224x224 in 0.18 ms instead of 1.17 ms, and 1000 maps of 16x16 to
    64x64 in 1 ms instead of 40 ms. Larger maps, and maps on a GPU, go through F.interpolate.
    """
    if not isinstance(maps, Tensor) or maps.ndim not in (2, 3, 4):
        raise ValueError(f"expected maps as a [B, K, h, w], [K, h, w] or [h, w] tensor, got {getattr(maps, 'shape', type(maps))}")
    size = (size, size) if isinstance(size, int) else tuple(size)
    h, w = maps.shape[-2:]
    x = maps.float()
    if x.device.type == "cpu" and max(h, w) <= _MATMUL_MAX_SIDE:
        return torch.matmul(_resize_matrix(h, size[0]), torch.matmul(x, _resize_matrix(w, size[1]).T))
    extra = 4 - maps.ndim
    out = F.interpolate(x.reshape((1,) * extra + tuple(maps.shape)), size=size, mode="bilinear", align_corners=False)
    return out.reshape(tuple(maps.shape[:-2]) + size)


_MATMUL_MAX_SIDE = 32  # above it the products cost more than F.interpolate (measured: equal at 56 px)


@functools.lru_cache(maxsize=64)
def _resize_matrix(n_in: int, n_out: int) -> Tensor:
    """The [n_out, n_in] matrix of 1-D linear resizing with half-pixel centres (align_corners=False),
    read off F.interpolate itself so that the weights are PyTorch's."""
    with torch.inference_mode(False), torch.no_grad():  # a plain tensor, usable with autograd later
        eye = torch.eye(n_in).unsqueeze(1)  # n_in one-hot signals [n_in, 1, n_in]
        return F.interpolate(eye, size=n_out, mode="linear", align_corners=False).squeeze(1).T.contiguous()


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
    labels, n = ndimage.label(arr >= np.float32(threshold) * peak, structure=_EIGHT_NEIGHBOURS)
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


def cam_to_boxes(maps: Tensor, threshold: float = 0.2) -> Tensor:
    """:func:`cam_to_box` on every map of ``maps`` [..., H, W] at once: boxes [..., 4] (int64, maps' device).

    The same boxes as ``cam_to_box`` map by map, without a Python loop over the maps. On the
    CPU the whole stack is labelled by one ``scipy.ndimage.label`` call (the fastest there);
    on a GPU the maps stay there and are labelled by tensor ops (see :func:`_boxes_torch`).
    """
    if not isinstance(maps, Tensor) or maps.ndim < 2:
        raise ValueError(f"expected maps as a tensor [..., H, W], got {getattr(maps, 'shape', type(maps))}")
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold is a fraction of the maximum, in [0, 1], got {threshold}")
    h, w = maps.shape[-2:]
    flat = maps.detach().float().reshape(-1, h, w)
    if not all_finite(flat):
        raise ValueError("the maps hold NaN or infinite values")
    if flat.device.type == "cpu" or len(flat) == 0:
        boxes = torch.from_numpy(_boxes_cpu(flat.cpu(), threshold)).to(flat.device)
    else:  # in chunks of about 4M pixels, to bound the memory of the labels and counts
        boxes = torch.cat([_boxes_torch(c, threshold) for c in flat.split(max(1, 2**22 // (h * w)))])
    return boxes.reshape(tuple(maps.shape[:-2]) + (4,))


def _boxes_cpu(maps: Tensor, threshold: float) -> np.ndarray:
    """cam_to_box's rule on CPU maps [N, H, W] (float32): boxes [N, 4] int64.

    The mask ``map >= threshold * max`` is made by torch (one comparison in float32, as in
    cam_to_box), then :func:`_boxes_scipy` labels the whole stack at once. Measured on 2
    cores, 32 maps of 224 x 224: 11-13 ms, against 16-18 ms with numpy masks and
    ``find_objects``. Splitting the stack over Python threads did not help there (2-4 ms
    slower): after a torch operation its OpenMP threads keep spinning on the cores a while.
    """
    pos = maps.clamp(min=0)
    peak = pos.amax(dim=(1, 2), keepdim=True)
    mask = pos >= torch.where(peak > 0, threshold * peak, torch.inf)  # no positive value: no blob
    return _boxes_scipy(pos.numpy(), mask.numpy())


_STACKED_EIGHT_NEIGHBOURS = np.zeros((3, 3, 3), dtype=bool)
_STACKED_EIGHT_NEIGHBOURS[1] = _EIGHT_NEIGHBOURS  # 8-connected within a map, never across maps


def _boxes_scipy(pos: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Boxes [N, 4] int64 of the largest blob of each mask [N, H, W] (bool), with one scipy labelling
    of the stack; ``pos`` [N, H, W] (the maps, negatives set to 0) breaks ties between equal sizes.
    A map without a blob gets the whole image."""
    n, h, w = mask.shape
    boxes = np.tile(np.array([0, 0, w, h], dtype=np.int64), (n, 1))
    labels, k = ndimage.label(mask, structure=_STACKED_EIGHT_NEIGHBOURS, output=np.intp)  # intp: bincount's own type
    if k == 0:
        return boxes
    # Labels are numbered in raster order over the stack and never join two maps, so map m
    # holds the run first[m] .. last[m], and within a map a lower label starts earlier.
    last = np.maximum.accumulate(labels.reshape(n, -1).max(axis=1))
    first = np.r_[0, last[:-1]] + 1
    has = np.flatnonzero(first <= last)  # the maps with at least one blob
    counts = last[has] - first[has] + 1
    sizes = np.bincount(labels.ravel(), minlength=k + 1)[1:]  # blob i (label i + 1) has sizes[i] pixels
    image = np.repeat(has, counts)  # blob i lies in map image[i]
    largest = np.repeat(np.maximum.reduceat(sizes, first[has] - 1), counts)
    # Peaks only matter between equally large blobs (rare): look them up for those alone, in
    # one pass over the maps that have such ties.
    tied = sizes == largest
    tied &= np.bincount(image[tied], minlength=n)[image] > 1
    peaks = np.zeros(k, dtype=np.float32)
    if tied.any():
        idx = np.flatnonzero(tied)
        maps = np.unique(image[idx])
        peaks[idx] = ndimage.maximum(pos[maps], labels[maps], index=idx + 1)
    order = np.lexsort((np.arange(k), -peaks, -sizes, image))  # per map: largest, then highest peak, then first
    in_order = image[order]
    chosen = order[np.r_[True, in_order[1:] != in_order[:-1]]] + 1  # the label of each map's winner, maps in `has` order
    blob = labels[has] == chosen[:, None, None]
    rows, cols = blob.any(axis=2), blob.any(axis=1)  # [M, H], [M, W]
    boxes[has] = np.stack([cols.argmax(axis=1), rows.argmax(axis=1),
                           w - cols[:, ::-1].argmax(axis=1), h - rows[:, ::-1].argmax(axis=1)], axis=1)
    return boxes


def _boxes_torch(maps: Tensor, threshold: float, check_every: int = 3) -> Tensor:
    """cam_to_box's rule on maps [N, H, W] (float32, any device) with tensor ops only: boxes [N, 4] int64.

    A fixed number of kernel launches per round of labelling, and one host sync every
    ``check_every`` rounds (a few rounds in all, even for long winding blobs).
    """
    n, h, w = maps.shape
    if h * w > 2**24:
        raise ValueError(f"maps of {h}x{w} pixels are too large: at most 2**24 pixels, for exact float32 ids")
    pos = maps.clamp(min=0)
    peak = pos.amax(dim=(1, 2), keepdim=True)
    on = ((pos >= threshold * peak) & (peak > 0)).view(n, -1).long()  # 0/1; a float32 comparison, as in cam_to_box
    ids = torch.arange(1, h * w + 1, device=maps.device)  # 1 + flat pixel index within a map
    # labels[:, 1 + i] is the label of pixel i: 0 off the mask, else 1 + the index of a pixel
    # of the same blob (its "parent"). Column 0 always holds 0, so that labels.gather(1, labels)
    # reads every pixel's parent's label (and 0 off the mask).
    labels = F.pad(ids * on, (1, 0))
    # Every round, each pixel (1) hooks its parent onto the largest label in its 3x3
    # neighbourhood, then (2) jumps twice to its parent's parent. Labels only grow and
    # always name a pixel of the same blob, so they must settle; and a round changes nothing
    # only once every pixel of a blob points at the blob's last pixel (its largest id).
    # Hooking joins whole trees at once and jumping halves their depth, so a blob needs
    # about log2(its length) rounds, not one round per pixel of its longest path.
    while True:
        for _ in range(check_every):
            before = labels
            grid = labels[:, 1:].view(n, 1, h, w).float()  # exact: ids <= 2**24
            largest = F.max_pool2d(grid, 3, stride=1, padding=1).view(n, -1).long() * on
            labels = labels.scatter_reduce(1, labels[:, 1:], largest, "amax")
            labels = labels.gather(1, labels)
            labels = labels.gather(1, labels)
        if torch.equal(labels, before):  # the last round changed nothing
            break
    # Per blob, indexed by its label: size, highest value, first pixel in raster order.
    label = labels[:, 1:]
    size = torch.zeros_like(labels).scatter_add_(1, label, on)
    top = pos.new_zeros(n, h * w + 1).scatter_reduce_(1, label, pos.view(n, -1), "amax")
    first = torch.full_like(labels, h * w + 1).scatter_reduce_(1, label, ids.expand(n, -1), "amin")
    # The largest blob, then the highest peak, then the first in raster order (as cam_to_box).
    best = size == size.amax(dim=1, keepdim=True)
    top = torch.where(best, top, -1.0)
    best &= top == top.amax(dim=1, keepdim=True)
    chosen = torch.where(best, first, h * w + 1).argmin(dim=1, keepdim=True)
    blob = (label == chosen) | (peak.view(n, 1) <= 0)  # no evidence: the whole image
    rows, cols = blob.view(n, h, w).any(dim=2), blob.view(n, h, w).any(dim=1)  # [N, H], [N, W]
    ys, xs = ids[:h], ids[:w]  # 1 + row, 1 + column
    return torch.stack([torch.where(cols, xs, w + 1).amin(1) - 1, torch.where(rows, ys, h + 1).amin(1) - 1,
                        torch.where(cols, xs, 0).amax(1), torch.where(rows, ys, 0).amax(1)], dim=1)


def boxes_from_maps(maps: Tensor, size: int | tuple[int, int], threshold: float = 0.2) -> list[list[Box]]:
    """Upsample maps [B, K, h, w] to ``size`` and turn each into a box: B lists of K boxes.

    All maps at once, on their own device (:func:`cam_to_boxes`); one transfer to the CPU at the end.
    """
    boxes = cam_to_boxes(normalize(upsample(maps, size)), threshold)  # [B, K, 4]
    return [[tuple(b) for b in per_image] for per_image in boxes.tolist()]


@dataclass
class Localization:
    """One class's evidence in one photo: its box and map in the photo's own pixels."""

    class_idx: int
    label: str
    prob: float
    box: Box
    cam: Tensor  # [H, W] normalised to [0, 1], the size of the original photo


def localize(pretrained, image: ImageLike, class_idx=None, topk: int = 1, size: int = 224,
             threshold: float = 0.2) -> list[Localization]:
    """Boxes and maps for the top-``topk`` (or the given) classes of one photo.

    ``pretrained`` is what :func:`camlib.load_pretrained` returns; ``image`` a file path, a
    PIL image or an HxWx3 / HxWx4 / HxW array. The map is computed at ``size`` x ``size``,
    upsampled to the photo's H x W, normalised, and boxed with the paper's rule.
    """
    from .cam import CAM

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


def cam_maps(model, images: Tensor, class_idx=None, topk: int = 1, batch_size: int = 256,
             target_layer=None) -> tuple[Tensor, Tensor]:
    """Logits [N, num_classes] and raw maps [N, K, h, w] of a whole set of images, batch by batch.

    ``class_idx`` is as for :class:`camlib.CAM` (None for the top-``topk``, an int or a list
    of classes for every image, "all" for every class), or a tensor [N] / [N, K] of classes
    per image (e.g. the true labels). ``target_layer`` as for :class:`camlib.CAM`: name it to
    read the maps of a network that is not GAP -> Linear (the paper's GMP networks, say).
    One forward pass per batch; results on the CPU.
    """
    from .cam import CAM

    device = next(model.parameters()).device
    logits, maps = [], []
    with CAM(model, target_layer=target_layer) as cam:
        if isinstance(class_idx, str) and class_idx == "all":
            class_idx = list(range(cam.fc.out_features))
        for start in range(0, len(images), batch_size):
            idx = class_idx
            if isinstance(class_idx, Tensor):
                idx = class_idx[start:start + batch_size]
                idx = idx.view(-1, 1) if idx.ndim == 1 else idx
            res = cam(images[start:start + batch_size].to(device), class_idx=idx, topk=topk)
            logits.append(res.logits.cpu())
            maps.append(res.maps.cpu())
    return torch.cat(logits), torch.cat(maps)


def cam_boxes(model, images: Tensor, thresholds: Sequence[float] = (0.2,), class_idx=None,
              batch_size: int = 256, target_layer=None) -> dict[float, list[Box]]:
    """CAM boxes of a batch of images [N, C, H, W], at several thresholds, from one forward pass each batch.

    ``class_idx`` is None (each image's predicted class), an int, or a tensor [N] (e.g. the
    true labels); ``target_layer`` as for :func:`cam_maps`. Returns {threshold: N boxes in
    the images' pixel coordinates}.
    """
    _, maps = cam_maps(model, images, class_idx=class_idx, batch_size=batch_size, target_layer=target_layer)
    return boxes_at_thresholds(maps[:, 0], tuple(images.shape[-2:]), thresholds)


def boxes_at_thresholds(maps: Tensor, size: int | tuple[int, int], thresholds: Sequence[float]) -> dict[float, list[Box]]:
    """Maps [N, h, w] upsampled to ``size`` and normalised once, then boxed at each threshold:
    {threshold: N boxes}. For any kind of map (CAM, Grad-CAM)."""
    up = normalize(upsample(maps, size))
    return {t: [tuple(b) for b in cam_to_boxes(up, t).tolist()] for t in thresholds}


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
