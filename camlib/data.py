"""Data with known boxes, and images from anywhere.

* :func:`synthetic` draws one object (a disk, square, triangle, cross or ring) per image,
  at a random position, size, rotation and colour, on a cluttered background (smooth
  colour gradients, pixel noise, random line segments and small blobs as distractors).
  Because we draw the object ourselves, we know its exact bounding box, which is what
  lets the book *measure* CAM localization without any box labels in training.
* :func:`load_image` turns a path, a PIL image or an array into an HxWx3 uint8 array.
* :func:`composite` puts photos side by side in one scene and returns the box of each,
  so that the book can measure whether each class's map falls on its own object.

The book's fixtures (its standard splits, its photos and their hand-drawn boxes) are in
:mod:`cambook.data`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Union

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ._utils import pair

CLASSES = ("disk", "square", "triangle", "cross", "ring")
SIZE = 64  # side of a synthetic image, in pixels

ImageLike = Union[str, os.PathLike, Image.Image, np.ndarray]


def _shape_mask(kind: str, xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    """Boolean HxW mask of one shape of 'radius' r centred at (cx, cy), rotated by angle."""
    c, s = np.cos(angle), np.sin(angle)
    u = c * (xx - cx) + s * (yy - cy)
    v = -s * (xx - cx) + c * (yy - cy)
    if kind == "disk":
        return u**2 + v**2 <= r**2
    if kind == "ring":
        d2 = u**2 + v**2
        return (d2 <= r**2) & (d2 >= (0.55 * r) ** 2)
    if kind == "square":
        return np.maximum(abs(u), abs(v)) <= 0.75 * r
    if kind == "triangle":  # equilateral, circumradius r
        inside = np.ones_like(u, dtype=bool)
        for k in range(3):
            a = np.pi / 2 + 2 * np.pi * k / 3
            inside &= u * np.cos(a) + v * np.sin(a) >= -r / 2
        return inside
    if kind == "cross":
        arm = 0.3 * r
        return ((abs(u) <= arm) & (abs(v) <= r)) | ((abs(v) <= arm) & (abs(u) <= r))
    raise ValueError(f"unknown shape {kind!r}; expected one of {CLASSES}")


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random colour field plus pixel noise: HxWx3 float in [0, 1]."""
    coarse = rng.uniform(0.1, 0.9, size=(3, 4, 4)).astype(np.float32)
    field = torch.nn.functional.interpolate(
        torch.from_numpy(coarse)[None], size=(size, size), mode="bicubic", align_corners=False
    )[0].numpy()
    field = field.transpose(1, 2, 0) + rng.normal(0, 0.06, size=(size, size, 3))
    return np.clip(field, 0, 1)


def _clutter(rng: np.random.Generator, img: np.ndarray, xx: np.ndarray, yy: np.ndarray) -> None:
    """Draw random line segments and small blobs (distractors) into img, in place."""
    size = img.shape[0]
    for _ in range(rng.integers(3, 7)):  # thin line segments
        x0, y0, x1, y1 = rng.uniform(0, size, 4)
        t = np.clip(((xx - x0) * (x1 - x0) + (yy - y0) * (y1 - y0)) / ((x1 - x0) ** 2 + (y1 - y0) ** 2 + 1e-6), 0, 1)
        dist = np.hypot(xx - (x0 + t * (x1 - x0)), yy - (y0 + t * (y1 - y0)))
        img[dist <= rng.uniform(0.5, 1.2)] = rng.uniform(0, 1, 3)
    for _ in range(rng.integers(3, 7)):  # small blobs of a random shape and colour
        kind = CLASSES[rng.integers(len(CLASSES))]
        cx, cy = rng.uniform(0, size, 2)
        mask = _shape_mask(kind, xx, yy, cx, cy, rng.uniform(2.0, 6.0), rng.uniform(0, np.pi))
        img[mask] = rng.uniform(0, 1, 3)


def synthetic(
    n: int, seed: int = 0, size: int | Sequence[int] = SIZE, with_masks: bool = False
) -> tuple[torch.Tensor, ...]:
    """A deterministic dataset of ``n`` cluttered images with one labelled object each.

    Taught in chapter 2, "Global average pooling versus flatten". The same
    ``(n, seed, size)`` always gives the same tensors.

    Args:
        n: the number of images.
        seed: the seed of the generator (the book's splits use 0, 1 and 2).
        size: the side of the square images, as an int or (S, S).
        with_masks: also return each object's pixels.

    Returns:
        ``(images, labels, boxes)``, and ``masks`` last with ``with_masks=True``:

        * images: float32 [n, 3, S, S] in [0, 1]
        * labels: int64 [n], indices into :data:`CLASSES` (balanced: class = i mod 5, shuffled)
        * boxes: int64 [n, 4] as (x0, y0, x1, y1), the object's tight box with exclusive ends
        * masks: bool [n, S, S], the object's pixels

    Raises:
        ValueError: ``n`` is not positive, or ``size`` is not a square.
    """
    height, width = pair(size)
    if height != width:
        raise ValueError(f"synthetic draws square images: pass size as an int or (S, S), got {size!r}")
    size = height
    if n < 1:
        raise ValueError(f"n must be a positive number of images, got {n}")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5  # pixel centres
    labels = rng.permutation(np.arange(n) % len(CLASSES))
    images = np.empty((n, size, size, 3), dtype=np.float32)
    boxes = np.empty((n, 4), dtype=np.int64)
    masks = np.empty((n, size, size), dtype=bool)
    for i, label in enumerate(labels):
        img = _background(rng, size)
        _clutter(rng, img, xx, yy)
        r = rng.uniform(0.12, 0.30) * size
        cx, cy = rng.uniform(r, size - r, 2)
        mask = _shape_mask(CLASSES[label], xx, yy, cx, cy, r, rng.uniform(0, np.pi))
        colour = rng.uniform(0, 1, 3)
        while abs(colour.mean() - img[mask].mean()) < 0.25:  # keep the object visible
            colour = rng.uniform(0, 1, 3)
        img[mask] = colour
        ys, xs = np.nonzero(mask)
        boxes[i] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        images[i], masks[i] = img, mask
    out = (
        torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
        torch.from_numpy(labels.astype(np.int64)),
        torch.from_numpy(boxes),
    )
    return out + (torch.from_numpy(masks),) if with_masks else out


def load_image(image: ImageLike) -> np.ndarray:
    """A photo from a file, a PIL image or an array, as an HxWx3 uint8 RGB array.

    Taught in chapter 4, "Top-5 class activation maps" (exercise 4). HxWx4 arrays lose their
    alpha channel, HxW grayscale arrays are repeated into three channels, and float arrays
    must hold values in [0, 1].

    Args:
        image: a path to a JPEG or PNG file, a PIL image, or an array.

    Returns:
        An HxWx3 uint8 array.

    Raises:
        ValueError: no file at the path, an unreadable file, or an array of the wrong shape or range.
        TypeError: a tensor (pass an array), or another type.
    """
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.is_file():
            raise ValueError(
                f"no image file at {str(path)!r}; pass the path of a JPEG/PNG file, a PIL image or an HxWx3 array"
            )
        try:
            with Image.open(path) as im:
                image = im.convert("RGB")
        except (UnidentifiedImageError, OSError) as err:
            raise ValueError(f"cannot read {str(path)!r} as an image ({err}); pass a JPEG or PNG file") from err
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    if isinstance(image, torch.Tensor):
        raise TypeError(
            "load_image takes a photo, not a tensor; pass a PIL image or an HxWx3 uint8 numpy array "
            "(tensor.permute(1, 2, 0).mul(255).byte().numpy() for a [3, H, W] tensor in [0, 1])"
        )
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected a file path, a PIL image or a numpy array, got {type(image).__name__}")
    arr = image
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"expected a uint8 array (or floats in [0, 1]), got dtype {arr.dtype}")
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise ValueError("a float image must be finite and in [0, 1]; pass uint8 values 0..255 instead")
        arr = (arr * 255).round().astype(np.uint8)
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        return np.ascontiguousarray(arr[:, :, :3])
    raise ValueError(f"expected an HxW grayscale or HxWx3/HxWx4 colour array, got shape {tuple(arr.shape)}")


def composite(images: Sequence[ImageLike], size: int | Sequence[int] = 224) -> tuple[np.ndarray, torch.Tensor]:
    """Photos side by side in one scene, each resized to ``size``, with the box of each part.

    Taught in chapter 4, "Top-5 class activation maps". Each photo is resized as
    :func:`camlib.load_pretrained`'s preprocess resizes (PIL bilinear, no crop), so
    preprocessing one part's tile ``scene[:, x0:x1]`` gives exactly the tensor that
    preprocessing the photo alone gives. Non-square photos are squashed, as preprocess
    squashes them; ``cambook.sample_images`` returns square ones.

    Args:
        images: the photos, left to right (paths, PIL images or arrays).
        size: each part's (H, W), or one int for square parts.

    Returns:
        ``(scene, boxes)``: the uint8 scene [H, n * W, 3], and int64 boxes [n, 4], part i's
        box ``(i * W, 0, (i + 1) * W, H)`` with exclusive ends.

    Raises:
        ValueError: not a list of photos, or a size that is not positive.
    """
    if isinstance(images, (np.ndarray, Image.Image, str, os.PathLike)) or len(images) == 0:
        raise ValueError("composite takes a list of one or more photos, e.g. [photos['chelsea'], photos['motorcycle']]")
    height, width = pair(size)
    parts = [
        np.asarray(Image.fromarray(load_image(img)).resize((width, height), Image.Resampling.BILINEAR))
        for img in images
    ]
    boxes = torch.tensor([[i * width, 0, (i + 1) * width, height] for i in range(len(parts))], dtype=torch.int64)
    return np.ascontiguousarray(np.concatenate(parts, axis=1)), boxes
