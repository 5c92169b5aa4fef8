"""Data for the book: a synthetic dataset with ground-truth boxes, and real photos.

* :func:`synthetic` draws one object (a disk, square, triangle, cross or ring) per image,
  at a random position, size, rotation and colour, on a cluttered background (smooth
  colour gradients, pixel noise, random line segments and small blobs as distractors).
  Because we draw the object ourselves, we know its exact bounding box, which is what
  lets the book *measure* CAM localization without any box labels in training.
* :func:`sample_images` returns real photos that ship inside scikit-image and
  scikit-learn, so that the pretrained chapters run offline.
* :func:`load_image` turns a path, a PIL image or an array into an HxWx3 uint8 array.
* :func:`composite` puts photos side by side in one scene and returns the box of each,
  so that the book can measure whether each class's map falls on its own object.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

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
    field = torch.nn.functional.interpolate(torch.from_numpy(coarse)[None], size=(size, size),
                                            mode="bicubic", align_corners=False)[0].numpy()
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
        mask = _shape_mask(kind, xx, yy, *rng.uniform(0, size, 2), rng.uniform(2.0, 6.0), rng.uniform(0, np.pi))
        img[mask] = rng.uniform(0, 1, 3)


def synthetic(n: int, seed: int = 0, size: int = SIZE, with_masks: bool = False) -> tuple[torch.Tensor, ...]:
    """A deterministic dataset of ``n`` cluttered images with one labelled object each.

    Returns ``(images, labels, boxes)``, and the object masks last with ``with_masks=True``:

    * images: float32 [n, 3, size, size] in [0, 1]
    * labels: int64 [n], indices into :data:`CLASSES` (balanced: class = i mod 5, shuffled)
    * boxes:  int64 [n, 4] as (x0, y0, x1, y1), the object's tight box with exclusive ends
    * masks:  bool [n, size, size], the object's pixels

    The same ``(n, seed, size)`` always gives the same tensors.
    """
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
    out = (torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
           torch.from_numpy(labels.astype(np.int64)), torch.from_numpy(boxes))
    return out + (torch.from_numpy(masks),) if with_masks else out


def load_image(image: ImageLike) -> np.ndarray:
    """A path, PIL image or array -> HxWx3 uint8 RGB array.

    Accepts HxWx3 (RGB) and HxWx4 (RGBA, alpha dropped) uint8 arrays and HxW grayscale
    arrays; float arrays must hold values in [0, 1].
    """
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.is_file():
            raise ValueError(f"no image file at {str(path)!r}; pass the path of a JPEG/PNG file, a PIL image "
                             "or an HxWx3 array")
        try:
            with Image.open(path) as im:
                image = im.convert("RGB")
        except (UnidentifiedImageError, OSError) as err:
            raise ValueError(f"cannot read {str(path)!r} as an image ({err}); pass a JPEG or PNG file") from err
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    if isinstance(image, torch.Tensor):
        raise TypeError("load_image takes a photo, not a tensor; pass a PIL image or an HxWx3 uint8 numpy array "
                        "(tensor.permute(1, 2, 0).mul(255).byte().numpy() for a [3, H, W] tensor in [0, 1])")
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


def _centre_square(arr: np.ndarray) -> np.ndarray:
    h, w = arr.shape[:2]
    s = min(h, w)
    return arr[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]


def sample_images(square: bool = True) -> dict[str, np.ndarray]:
    """Real photos that ship with scikit-learn and scikit-image, as HxWx3 uint8 arrays.

    ==============  ================================================================
    ``"china"``     ``china.jpg`` from ``sklearn.datasets.load_sample_images`` (a pagoda;
                    EfficientNet-Lite0's top class is "palace", the top class of the CAM
                    paper's Figure 4, whose photo's ground truth is "dome")
    ``"flower"``    ``flower.jpg`` from ``sklearn.datasets.load_sample_images``
    ``"chelsea"``   ``skimage.data.chelsea()``: Chelsea the cat
    ``"coffee"``    ``skimage.data.coffee()``: a cup of espresso
    ``"motorcycle"`` left view of ``skimage.data.stereo_motorcycle()``
    ==============  ================================================================

    With ``square=True`` (the default) each photo is centre-cropped to a square, so that
    resizing it to size x size (what :func:`camlib.load_pretrained`'s preprocess does)
    does not squash it, and maps and boxes still map back onto the photo exactly.
    """
    import skimage.data
    from sklearn.datasets import load_sample_images

    sk = load_sample_images()
    by_name = {Path(f).name: img for f, img in zip(sk.filenames, sk.images)}
    photos = {
        "china": by_name["china.jpg"],
        "chelsea": skimage.data.chelsea(),
        "coffee": skimage.data.coffee(),
        "motorcycle": skimage.data.stereo_motorcycle()[0],
        "flower": by_name["flower.jpg"],
    }
    return {k: np.ascontiguousarray(_centre_square(v) if square else v) for k, v in photos.items()}


# Hand-drawn boxes (x0, y0, x1, y1), exclusive ends, in the pixels of sample_images() (square crops):
# the object a reader would point at. "china": the pagoda tower, from its finial to the bottom edge.
HAND_BOXES: dict[str, tuple[int, int, int, int]] = {"china": (0, 28, 265, 427)}

# The splits every chapter, test and benchmark shares: (number of images, seed).
SPLITS = {"train": (3000, 0), "valid": (500, 2), "test": (1000, 1)}


def book_split(name: str, with_masks: bool = False) -> tuple[torch.Tensor, ...]:
    """One of the book's standard synthetic splits, ``"train"``, ``"valid"`` or ``"test"``.

    Same return value as :func:`synthetic`; the seeds differ, so no image is in two splits.
    """
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; choose one of {list(SPLITS)}")
    n, seed = SPLITS[name]
    return synthetic(n, seed=seed, with_masks=with_masks)


def composite(images: Sequence[ImageLike], size: int = 224) -> tuple[np.ndarray, torch.Tensor]:
    """Photos side by side in one scene, each resized to ``size`` x ``size``, with the box of each part.

    Returns ``(scene, boxes)``:

    * scene: uint8 array [size, n * size, 3], the n photos left to right
    * boxes: int64 tensor [n, 4], part i's box (x0, y0, x1, y1) with exclusive ends,
      ``(i * size, 0, (i + 1) * size, size)``: the true box of each photo in the scene

    Each photo is resized as :func:`camlib.load_pretrained`'s preprocess resizes (PIL bilinear,
    no crop), so preprocessing one part's tile ``scene[:, x0:x1]`` gives exactly the tensor
    that preprocessing the photo alone gives. Non-square photos are squashed, as preprocess
    squashes them; :func:`sample_images` returns square ones.
    """
    if isinstance(images, (np.ndarray, Image.Image, str, os.PathLike)) or len(images) == 0:
        raise ValueError("composite takes a list of one or more photos, e.g. [photos['chelsea'], photos['motorcycle']]")
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int (pixels per side of each part), got {size!r}")
    parts = [np.asarray(Image.fromarray(load_image(img)).resize((size, size), Image.BILINEAR)) for img in images]
    boxes = torch.tensor([[i * size, 0, (i + 1) * size, size] for i in range(len(parts))], dtype=torch.int64)
    return np.ascontiguousarray(np.concatenate(parts, axis=1)), boxes
