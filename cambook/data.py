"""The book's fixtures: its standard synthetic splits, its photos and their hand-drawn boxes.

* :func:`book_split` returns the splits every chapter, test and benchmark shares
  (:data:`SPLITS`: the number of images and the seed of each), drawn by
  :func:`camlib.data.synthetic`;
* :func:`sample_images` returns real photos that ship inside scikit-image and
  scikit-learn, so that the pretrained chapters run offline (install the ``book`` extra);
* :data:`HAND_BOXES` holds the boxes a reader would draw around their objects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from camlib.data import synthetic

__all__ = ["HAND_BOXES", "SPLITS", "book_split", "centre_square", "sample_images"]


def centre_square(arr: np.ndarray) -> np.ndarray:
    """The largest centred square of an image [H, W, ...]."""
    h, w = arr.shape[:2]
    s = min(h, w)
    return arr[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]


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
    try:
        import skimage.data
        from sklearn.datasets import load_sample_images
    except ImportError as err:
        raise ImportError(
            f"sample_images needs scikit-image and scikit-learn ({err}): install the book's extra, "
            "pip install 'camlib-book[book]'"
        ) from err

    sk = load_sample_images()
    by_name = {Path(f).name: img for f, img in zip(sk.filenames, sk.images)}
    photos = {
        "china": by_name["china.jpg"],
        "chelsea": skimage.data.chelsea(),
        "coffee": skimage.data.coffee(),
        "motorcycle": skimage.data.stereo_motorcycle()[0],
        "flower": by_name["flower.jpg"],
    }
    return {k: np.ascontiguousarray(centre_square(v) if square else v) for k, v in photos.items()}


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
