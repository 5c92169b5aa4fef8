"""The book's trained networks, shipped with camlib so that every machine prints the same numbers.

Training is deterministic on one machine, but another CPU instruction set or a GPU rounds
differently and trains a slightly different network (98.8 % instead of 99.1 %, say), and
every number derived from it moves. So the networks the chapters build on are trained once,
by ``tools/train_book_models.py``, and shipped as small files inside the package::

    camlib/weights/gapnet.pt        GAPNet(5):    trunk -> global average pooling -> fc
    camlib/weights/gmpnet.pt        GMPNet(5):    trunk -> global max pooling     -> fc
    camlib/weights/flattennet.pt    FlattenNet(5): trunk -> flatten               -> fc
    camlib/weights/manifest.json    SHA-256 of each file, its recipe, test accuracy, and how it was made

:func:`book_model` loads one with ``torch.load(..., weights_only=True)`` after checking its
SHA-256. To train it on your own machine instead, pass ``retrain=True`` or set the
environment variable ``CAMLIB_RETRAIN=1``: the chapters then print this machine's numbers.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .data import CLASSES, book_split
from .device import default_device
from .models import FlattenNet, GAPNet, GMPNet
from .train import load_or_train

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST = WEIGHTS_DIR / "manifest.json"
RETRAIN_ENV = "CAMLIB_RETRAIN"


@dataclass(frozen=True)
class Recipe:
    """How one book network is made: its architecture, its training split and :func:`camlib.train`'s settings."""

    build: Callable[[], nn.Module]
    architecture: str  # what ``build`` makes, in words, for the manifest
    split: str = "train"
    settings: dict = field(default_factory=lambda: {"epochs": 8, "batch_size": 64, "lr": 3e-3,
                                                    "weight_decay": 1e-4, "seed": 0})


RECIPES: dict[str, Recipe] = {
    "gapnet": Recipe(lambda: GAPNet(len(CLASSES)), f"GAPNet({len(CLASSES)})"),
    "gmpnet": Recipe(lambda: GMPNet(len(CLASSES)), f"GMPNet({len(CLASSES)})"),
    "flattennet": Recipe(lambda: FlattenNet(len(CLASSES)), f"FlattenNet({len(CLASSES)})"),
}


def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def manifest() -> dict:
    """The shipped networks' records: ``{name: {file, sha256, architecture, split, settings, test_accuracy, ...}}``,
    and under ``"made_by"`` the script, seed-independent settings, torch version and machine that trained them."""
    if not MANIFEST.is_file():
        raise FileNotFoundError(f"{MANIFEST} is missing: reinstall camlib, or run `python tools/train_book_models.py` "
                                f"to train the book's networks, or pass retrain=True to train one on this machine")
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
        raise RuntimeError(f"the shipped {name} was made by another recipe ({entry['architecture']}, "
                           f"{entry['settings']}) than camlib's ({recipe.architecture}, {recipe.settings}); "
                           f"run `python tools/train_book_models.py {name}` to ship matching weights")
    path = WEIGHTS_DIR / entry["file"]
    digest = sha256(path)
    if digest != entry["sha256"]:
        raise RuntimeError(f"{path} has SHA-256 {digest[:16]}..., the manifest expects {entry['sha256'][:16]}...: "
                           f"reinstall camlib, or run `python tools/train_book_models.py {name}`")
    model = recipe.build()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def book_model(name: str, device: torch.device | str | None = None, retrain: bool | None = None,
               progress: bool = True) -> nn.Module:
    """One of the book's trained networks, ``"gapnet"``, ``"gmpnet"`` or ``"flattennet"``, in eval mode on ``device``.

    By default the shipped weights are loaded (the same network on every machine, so the
    chapters print the same numbers everywhere). With ``retrain=True``, or with the
    environment variable ``CAMLIB_RETRAIN=1`` when ``retrain`` is None, the network is trained
    on this machine with the same recipe instead (cached by :func:`camlib.load_or_train`), and
    the message says that what follows are this machine's numbers.

    Input [B, 3, S, S] images in [0, 1] (S = 64 for ``"flattennet"``) -> [B, 5] logits.
    """
    recipe = RECIPES[_check(name)]
    device = torch.device(device) if device is not None else default_device()
    if retrain if retrain is not None else _retrain_requested():
        images, labels, _ = book_split(recipe.split)
        model = load_or_train(recipe.build(), images, labels, device=device, progress=progress, **recipe.settings)
        print(f"{name}: trained on this machine ({device.type}), not the book's shipped weights:\n"
              f"the numbers below are this machine's and may differ from the book's in the last digits")
        return model
    model = load_shipped(name).to(device)
    entry = manifest()[name]
    print(f"{name}: shipped weights ({entry['file']}, SHA-256 {entry['sha256'][:12]}, "
          f"test accuracy {entry['test_accuracy']:.1%})")
    return model
