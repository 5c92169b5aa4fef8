"""Speed paths of :mod:`camlib.postprocess` and :mod:`camlib.boxes`: the same results as the plain code, faster.

The book teaches the plain versions (``F.interpolate``; ``cam_to_box``, one map at a time).
These give the same numbers (the tests compare them) and are what ``upsample`` and
``cam_to_boxes`` call on many maps at once; ``benchmarks/`` measures what they save.

* :func:`resize_matrix`: bilinear resizing is separable, so small CPU maps are resized by two
  matrix products ``A_H @ map @ A_W.T`` whose matrices are read off ``F.interpolate``;
* :func:`boxes_cpu`: the box rule on a stack of CPU maps, with one ``scipy.ndimage.label`` call;
* :func:`boxes_torch`: the box rule with tensor ops only, for maps on a GPU.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

EIGHT_NEIGHBOURS = np.ones((3, 3), dtype=bool)


MATMUL_MAX_SIDE = 32  # maps up to this side are resized by matrix products on the CPU


@functools.lru_cache(maxsize=64)
def resize_matrix(n_in: int, n_out: int) -> Tensor:
    """The [n_out, n_in] matrix of 1-D linear resizing with half-pixel centres (align_corners=False),
    read off F.interpolate itself so that the weights are PyTorch's."""
    with torch.inference_mode(False), torch.no_grad():  # a plain tensor, usable with autograd later
        eye = torch.eye(n_in).unsqueeze(1)  # n_in one-hot signals [n_in, 1, n_in]
        return F.interpolate(eye, size=n_out, mode="linear", align_corners=False).squeeze(1).T.contiguous()


def boxes_cpu(maps: Tensor, threshold: float) -> np.ndarray:
    """cam_to_box's rule on CPU maps [N, H, W] (float32): boxes [N, 4] int64.

    The mask ``map >= threshold * max`` is made by torch (one comparison in float32, as in
    cam_to_box), then :func:`boxes_scipy` labels the whole stack at once.
    """
    pos = maps.clamp(min=0)
    peak = pos.amax(dim=(1, 2), keepdim=True)
    mask = pos >= torch.where(peak > 0, threshold * peak, torch.inf)  # no positive value: no blob
    return boxes_scipy(pos.numpy(), mask.numpy())


_STACKED_EIGHT_NEIGHBOURS = np.zeros((3, 3, 3), dtype=bool)
_STACKED_EIGHT_NEIGHBOURS[1] = EIGHT_NEIGHBOURS  # 8-connected within a map, never across maps


def boxes_scipy(pos: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Boxes [N, 4] int64 of the largest blob of each mask [N, H, W] (bool), with one scipy labelling
    of the stack; ``pos`` [N, H, W] (the maps, negatives set to 0) breaks ties between equal sizes.
    A map without a blob gets the whole image."""
    from scipy import ndimage  # loaded with the box rule, not with camlib

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
    # the label of each map's winner, maps in `has` order
    chosen = order[np.r_[True, in_order[1:] != in_order[:-1]]] + 1
    blob = labels[has] == chosen[:, None, None]
    rows, cols = blob.any(axis=2), blob.any(axis=1)  # [M, H], [M, W]
    boxes[has] = np.stack(
        [cols.argmax(axis=1), rows.argmax(axis=1), w - cols[:, ::-1].argmax(axis=1), h - rows[:, ::-1].argmax(axis=1)],
        axis=1,
    )
    return boxes


def boxes_torch(maps: Tensor, threshold: float, check_every: int = 3) -> Tensor:
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
    return torch.stack(
        [
            torch.where(cols, xs, w + 1).amin(1) - 1,
            torch.where(rows, ys, h + 1).amin(1) - 1,
            torch.where(cols, xs, 0).amax(1),
            torch.where(rows, ys, 0).amax(1),
        ],
        dim=1,
    )
