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
import logging
import sys
from typing import TYPE_CHECKING, Any, TextIO

_LAZY = {
    "HAND_BOXES": "data",
    "SPLITS": "data",
    "book_split": "data",
    "sample_images": "data",
    "book_model": "networks",
}
_SUBMODULES = ("data", "networks", "exercises", "plots", "widgets")

__all__ = [
    "HAND_BOXES",
    "SPLITS",
    "book_model",
    "book_split",
    "data",
    "exercises",
    "networks",
    "plots",
    "sample_images",
    "show_notes",
    "widgets",
]


def show_notes(stream: TextIO | None = None) -> None:
    """Print camlib's and cambook's notes (which shipped weights loaded, what was trained) as plain lines.

    Both packages only log (loggers ``camlib`` and ``cambook``) and configure no handler, as a
    library should. The chapters call this once, in their set-up cell, so that a page shows which
    network it loaded. It touches only those two loggers, never the root logger: their notes stop
    propagating to it, so that a notebook that configures logging does not print them twice. Calling
    it again adds no second handler.

    Args:
        stream: where the lines go; ``None`` means ``sys.stdout`` at the time of each note.
    """
    for name in ("camlib", "cambook"):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not getattr(h, "_cambook_notes", False)]
        handler = logging.StreamHandler(stream) if stream is not None else _StdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._cambook_notes = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


class _StdoutHandler(logging.StreamHandler):
    """A stream handler that writes to whatever ``sys.stdout`` is when a note is logged (a notebook swaps it)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


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
