"""Whole jobs in one call: the maps of a whole set of images, and boxes on a photo."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from ._utils import ClassIndex, class_index
from .boxes import Box, cam_to_box
from .cam import CAM, CAMResult
from .data import ImageLike, load_image
from .postprocess import normalize, upsample

if TYPE_CHECKING:  # a type only: importing camlib.pretrained would load torchvision
    from .pretrained import Pretrained

__all__ = ["Localization", "cam_maps", "localize"]


def cam_maps(
    model: nn.Module,
    images: Tensor,
    class_idx: ClassIndex = None,
    topk: int = 1,
    batch_size: int = 256,
    target_layer: nn.Module | str | None = None,
) -> CAMResult:
    """The raw maps of a whole set of images, batch by batch, through :class:`camlib.CAM`.

    Taught in chapter 5, "From a map to a box", and used in chapters 6 and 7.

    Args:
        model: a GAP -> Linear network (or any network, with ``target_layer`` named: the
            paper's GMP networks, say).
        images: [N, C, H, W], on any device; each batch moves to the model's device.
        class_idx: as for :class:`camlib.CAM`, with N images: None for the top ``topk``; an
            int; N ints, one class per image (the true labels, say); an [N, K] or [1, K]
            tensor; ``"all"`` for every class.
        topk: how many of the most likely classes, when ``class_idx`` is None.
        batch_size: images per forward pass.
        target_layer: as for :class:`camlib.CAM`.

    Returns:
        A :class:`camlib.CAMResult` on the CPU: logits [N, num_classes], probs [N, K],
        class_idx [N, K], maps [N, K, h, w]; ``features`` is None (too large to keep).

    Raises:
        TypeError, ValueError: as :class:`camlib.CAM` raises them.
    """
    device = next(model.parameters()).device
    parts: list[CAMResult] = []
    with CAM(model, target_layer=target_layer) as cam:
        idx = class_index(class_idx, len(images), cam.fc.out_features)
        for start in range(0, len(images), batch_size):
            part = None if idx is None else idx[start : start + batch_size]
            parts.append(cam(images[start : start + batch_size].to(device), class_idx=part, topk=topk))
    return CAMResult(
        *(torch.cat([getattr(r, f).cpu() for r in parts]) for f in ("logits", "probs", "class_idx", "maps"))
    )


@dataclass
class Localization:
    """One class's evidence in one photo, as :func:`localize` returns it.

    Taught in chapter 5, "From a map to a box".

    Attributes:
        class_idx: the class.
        label: its name.
        prob: its softmax probability.
        box: the paper's box ``(x0, y0, x1, y1)`` in the photo's pixels.
        cam: the map [H, W], normalised to [0, 1], the size of the original photo.
    """

    class_idx: int
    label: str
    prob: float
    box: Box
    cam: Tensor


def localize(
    pretrained: Pretrained,
    image: ImageLike,
    class_idx: ClassIndex = None,
    topk: int = 1,
    size: int | Sequence[int] = 224,
    threshold: float = 0.2,
) -> list[Localization]:
    """Boxes and maps for the top-``topk`` (or the given) classes of one photo.

    Taught in chapter 5, "From a map to a box". The map is computed at ``size``, upsampled
    to the photo's H x W, normalised, and boxed with the paper's rule.

    Args:
        pretrained: what :func:`camlib.load_pretrained` returns.
        image: a file path, a PIL image, or an HxWx3 / HxWx4 / HxW array.
        class_idx: as for :class:`camlib.CAM` with one image: an int, or ``[[c1, c2, ...]]``
            for several classes; None for the top ``topk``.
        topk: how many of the most likely classes, when ``class_idx`` is None.
        size: the network's input size, (H, W) or one int.
        threshold: the box rule's fraction of the maximum; the paper's 0.2.

    Returns:
        One :class:`Localization` per class, most likely first.

    Raises:
        TypeError, ValueError: an image, a class or a size that cannot be used, with what to pass.
    """
    photo = load_image(image)
    h, w = photo.shape[:2]
    device = next(pretrained.model.parameters()).device
    x = pretrained.preprocess(photo, size=size).unsqueeze(0).to(device)
    with CAM(pretrained.model) as cam:
        res = cam(x, class_idx=class_idx, topk=topk)
    maps = normalize(upsample(res.maps[0], (h, w))).cpu()
    return [
        Localization(
            class_idx=int(c), label=pretrained.categories[int(c)], prob=float(p), box=cam_to_box(m, threshold), cam=m
        )
        for c, p, m in zip(res.class_idx[0], res.probs[0], maps)
    ]
