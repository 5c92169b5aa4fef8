"""How good a map or a box is, against the truth.

IoU, box accuracy, the paper's localization accuracy, and the pointing game.

Boxes are ``(x0, y0, x1, y1)`` with exclusive ends, as everywhere in camlib.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["box_accuracy", "iou", "localization_accuracy", "peak_in_box"]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes ``(x0, y0, x1, y1)`` with exclusive ends.

    Taught in chapter 5, "From a map to a box".

    Args:
        a: one box.
        b: the other box.

    Returns:
        The IoU, in [0, 1]; 0 for two empty boxes.

    Raises:
        ValueError: a box is not 4 numbers with x0 <= x1 and y0 <= y1.
    """
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


def box_accuracy(pred: Sequence[Sequence[int]], truth: Sequence[Sequence[int]], min_iou: float = 0.5) -> float:
    """The share of predicted boxes whose IoU with their true box is at least ``min_iou``.

    Taught in chapter 5, "From a map to a box". The class is not looked at; for the paper's
    metric, where it must be right too, see :func:`localization_accuracy`.

    Args:
        pred: N predicted boxes.
        truth: N true boxes, in the same order.
        min_iou: the bar; the paper's 0.5.

    Returns:
        The share, in [0, 1].

    Raises:
        ValueError: the two lists differ in length, or are empty.
    """
    if len(pred) != len(truth) or len(pred) == 0:
        raise ValueError(f"need as many predicted as true boxes (and at least one), got {len(pred)} and {len(truth)}")
    return sum(iou(p, t) >= min_iou for p, t in zip(pred, truth)) / len(pred)


def localization_accuracy(
    classes: Tensor,
    boxes: Sequence[Sequence[Sequence[int]]],
    labels: Tensor,
    truth: Sequence[Sequence[int]],
    min_iou: float = 0.5,
) -> float:
    """The CAM paper's localization accuracy: an image counts only when the class is right too.

    Taught in chapter 6, "Scoring localization the paper's way". An image is localized when
    one of its K guesses has the true class *and* a box with IoU >= ``min_iou``. K = 1 gives
    top-1, K = 5 top-5 localization accuracy; the paper reports the error, 1 minus this.

    Args:
        classes: [N, K] each image's K guessed classes (the top-K predictions).
        boxes: N lists of K boxes, the box of each guessed class.
        labels: [N] the true classes.
        truth: N true boxes.
        min_iou: the bar; the paper's 0.5.

    Returns:
        The share of localized images, in [0, 1].

    Raises:
        ValueError: the inputs disagree in length, or an image lacks a box for a guess.
    """
    classes = torch.as_tensor(classes)
    if classes.ndim != 2 or len(classes) != len(boxes) or len(labels) != len(classes) or len(truth) != len(classes):
        raise ValueError(
            f"expected classes [N, K], N lists of K boxes, labels [N] and N true boxes, got "
            f"{tuple(classes.shape)}, {len(boxes)}, {len(labels)} and {len(truth)}"
        )
    if len(classes) == 0 or any(len(b) != classes.shape[1] for b in boxes):
        raise ValueError(f"need at least one image, and one box per guessed class ({classes.shape[1]} per image)")
    hits = sum(
        any(int(c) == int(y) and iou(b, t) >= min_iou for c, b in zip(cs, bs))
        for cs, bs, y, t in zip(classes.tolist(), boxes, torch.as_tensor(labels).tolist(), truth)
    )
    return hits / len(classes)


def peak_in_box(maps: Tensor, boxes: Tensor) -> Tensor:
    """Is the maximum of each map inside its box? The "pointing game".

    Taught in chapter 1, "What CAM is, in one picture", and used in chapters 4 and 7. A
    weaker test than the share of evidence in the box: it asks only where the strongest
    evidence lies.

    Args:
        maps: [N, H, W] maps in the images' pixels.
        boxes: [N, 4] boxes ``(x0, y0, x1, y1)``, exclusive ends.

    Returns:
        bool [N].

    Raises:
        ValueError: the shapes do not match.
    """
    if maps.ndim != 3 or boxes.shape != (len(maps), 4):
        raise ValueError(f"expected maps [N, H, W] and boxes [N, 4], got {tuple(maps.shape)} and {tuple(boxes.shape)}")
    flat = maps.flatten(1).argmax(dim=1)
    y, x = flat // maps.shape[-1], flat % maps.shape[-1]
    return (x >= boxes[:, 0]) & (x < boxes[:, 2]) & (y >= boxes[:, 1]) & (y < boxes[:, 3])
