"""The book's trained networks, shipped with cambook so that every machine prints the same numbers.

Training is deterministic on one machine, but another CPU instruction set or a GPU rounds
differently and trains a slightly different network (98.8 % instead of 99.1 %, say), and
every number derived from it moves. So the networks the chapters build on are trained once,
by ``tools/train_book_models.py``, and shipped as small files inside the package::

    cambook/weights/gapnet.pt        GAPNet(5):    trunk -> global average pooling -> fc
    cambook/weights/gmpnet.pt        GMPNet(5):    trunk -> global max pooling     -> fc
    cambook/weights/flattennet.pt    FlattenNet(5): trunk -> flatten               -> fc
    cambook/weights/manifest.json    SHA-256 of each file, its recipe, test accuracy, and how it was made

:func:`book_model` loads one with ``torch.load(..., weights_only=True)`` after checking its
SHA-256. To train it on your own machine instead, pass ``retrain=True`` or set the
environment variable ``CAMLIB_RETRAIN=1``: the chapters then print this machine's numbers.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from camlib.data import CLASSES
from camlib.device import resolve_device
from camlib.models import FlattenNet, GAPNet, GMPNet
from camlib.training import load_or_train, train

from .data import book_split

__all__ = [
    "MANIFEST",
    "RECIPES",
    "RETRAIN_ENV",
    "WEIGHTS_DIR",
    "Recipe",
    "book_model",
    "load_shipped",
    "manifest",
    "sha256",
    "train_defaults",
]
log = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST = WEIGHTS_DIR / "manifest.json"
RETRAIN_ENV = "CAMLIB_RETRAIN"


@dataclass(frozen=True)
class Recipe:
    """How one book network is made: its architecture, its training split and :func:`camlib.train`'s settings."""

    build: Callable[[], nn.Module]
    architecture: str  # what ``build`` makes, in words, for the manifest
    split: str = "train"
    settings: dict = field(default_factory=lambda: train_defaults())


def train_defaults() -> dict:
    """:func:`camlib.train`'s own defaults for the settings a recipe records (read off its signature)."""
    params = inspect.signature(train).parameters
    return {name: params[name].default for name in ("epochs", "batch_size", "lr", "weight_decay", "seed")}


RECIPES: dict[str, Recipe] = {
    "gapnet": Recipe(lambda: GAPNet(len(CLASSES)), f"GAPNet({len(CLASSES)})"),
    "gmpnet": Recipe(lambda: GMPNet(len(CLASSES)), f"GMPNet({len(CLASSES)})"),
    "flattennet": Recipe(lambda: FlattenNet(len(CLASSES)), f"FlattenNet({len(CLASSES)})"),
}


def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def manifest() -> dict:
    """The shipped networks' records, ``{name: {file, sha256, architecture, split, settings, test_accuracy, ...}}``,
    and under ``"made_by"`` the script, seed-independent settings, torch version and machine that trained them."""
    if not MANIFEST.is_file():
        raise FileNotFoundError(
            f"{MANIFEST} is missing: reinstall camlib-book, or run "
            "`python -m tools.train_book_models` to train the book's networks, or pass "
            "retrain=True to train one on this machine"
        )
    return json.loads(MANIFEST.read_text())


def _retrain_requested() -> bool:
    return os.environ.get(RETRAIN_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _check(name: str) -> str:
    """Name, checked against :data:`RECIPES`; the error lists the choices."""
    if name not in RECIPES:
        raise ValueError(f"unknown book model {name!r}; choose one of {sorted(RECIPES)}")
    return name


def load_shipped(name: str) -> nn.Module:
    """The shipped network ``name`` on the CPU in eval mode, after checking its file's SHA-256.

    Raises ``RuntimeError`` if the file does not match the manifest (a damaged or edited file),
    or if the manifest's recipe differs from :data:`RECIPES` (the code changed, the weights did not).
    """
    recipe, entry = RECIPES[_check(name)], manifest()[name]
    if entry["architecture"] != recipe.architecture or entry["settings"] != recipe.settings:
        raise RuntimeError(
            f"the shipped {name} was made by another recipe ({entry['architecture']}, "
            f"{entry['settings']}) than camlib's ({recipe.architecture}, {recipe.settings}); "
            f"run `python -m tools.train_book_models {name}` to ship matching weights"
        )
    path = WEIGHTS_DIR / entry["file"]
    digest = sha256(path)
    if digest != entry["sha256"]:
        raise RuntimeError(
            f"{path} has SHA-256 {digest[:16]}..., the manifest expects {entry['sha256'][:16]}...: "
            f"reinstall camlib-book, or run `python -m tools.train_book_models {name}`"
        )
    model = recipe.build()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def book_model(
    name: str, device: torch.device | str | None = None, retrain: bool | None = None, progress: bool = True
) -> nn.Module:
    """One of the book's trained networks, ``"gapnet"``, ``"gmpnet"`` or ``"flattennet"``, in eval mode on ``device``.

    By default the shipped weights are loaded (the same network on every machine, so the
    chapters print the same numbers everywhere). With ``retrain=True``, or with the
    environment variable ``CAMLIB_RETRAIN=1`` when ``retrain`` is None, the network is trained
    on this machine with the same recipe instead (cached by :func:`camlib.load_or_train`), and
    a warning (logger ``cambook.networks``) says that what follows are this machine's numbers.
    Loading the shipped weights logs their file, hash and test accuracy at level INFO.

    Input [B, 3, S, S] images in [0, 1] (S = 64 for ``"flattennet"``) -> [B, 5] logits.
    """
    recipe = RECIPES[_check(name)]
    device = resolve_device(device)
    if retrain if retrain is not None else _retrain_requested():
        images, labels, _ = book_split(recipe.split)
        model = load_or_train(recipe.build(), images, labels, device=device, progress=progress, **recipe.settings)
        log.warning(
            "%s: trained on this machine (%s), not the book's shipped weights: the numbers that follow are "
            "this machine's and may differ from the book's in the last digits",
            name,
            device.type,
        )
        return model
    model = load_shipped(name).to(device)
    entry = manifest()[name]
    log.info(
        "%s: shipped weights (%s, SHA-256 %s, test accuracy %.1f%%)",
        name,
        entry["file"],
        entry["sha256"][:12],
        100 * entry["test_accuracy"],
    )
    return model
