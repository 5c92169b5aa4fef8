"""cambook: what only the book needs, beside the library it teaches from (camlib).

* :mod:`cambook.data`       the book's fixtures: its standard splits (``book_split``), its photos
                            (``sample_images``) and their hand-drawn boxes (``HAND_BOXES``)
* :mod:`cambook.networks`   ``book_model``: the book's trained networks, shipped in ``cambook/weights``
* :mod:`cambook.exercises`  the checkers of the chapters' exercises (``check_mass_box``, ...)
* :mod:`cambook.plots`      figures the chapters draw more than once (an annotated heat map)
* :mod:`cambook.widgets`    interactive explorers of top-k CAMs, for the rendered page and for a kernel

Like fastbook beside fastai: camlib holds the method, cambook the teaching aids. Both ship in
one distribution, ``camlib-book``; the photos and the explorers need its ``book`` extra
(``pip install "camlib-book[book]"``), as the chapters' Colab set-up cell installs it.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {"HAND_BOXES": "data", "SPLITS": "data", "book_split": "data", "sample_images": "data",
         "book_model": "networks"}
_SUBMODULES = ("data", "networks", "exercises", "plots", "widgets")

__all__ = ["HAND_BOXES", "SPLITS", "book_model", "book_split", "data", "exercises", "networks", "plots",
           "sample_images", "widgets"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'cambook' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from . import data, exercises, networks, plots, widgets
    from .data import HAND_BOXES, SPLITS, book_split, sample_images
    from .networks import book_model
