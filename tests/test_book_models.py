"""The book's shipped networks (cambook.networks): intact, loaded safely, and what the chapters print.

Retraining them takes minutes; benchmarks/retrain.py checks that a retrain on this machine
lands within 1.5 points of the shipped test accuracy.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
import torch

import cambook
import camlib
from cambook import networks as book_models

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(book_models.RECIPES)


def test_manifest_records_every_recipe_and_how_it_was_made():
    records = book_models.manifest()
    assert sorted(records) == NAMES
    for name, entry in records.items():
        recipe = book_models.RECIPES[name]
        assert entry["architecture"] == recipe.architecture and entry["settings"] == recipe.settings
        assert "seed" in entry["settings"]
        assert {"torch", "machine", "date", "device", "script"} <= set(entry["made_by"])
        assert entry["test_accuracy"] == entry["test_correct"] / entry["test_n"]


@pytest.mark.parametrize("name", NAMES)
def test_shipped_file_matches_its_sha256_and_is_small(name):
    entry = book_models.manifest()[name]
    path = book_models.WEIGHTS_DIR / entry["file"]
    assert book_models.sha256(path) == entry["sha256"]
    assert path.stat().st_size < 2 * 2**20, "shipped weights stay small"


@pytest.mark.parametrize("name", NAMES)
def test_loading_reproduces_the_recorded_test_accuracy(name, caplog):
    caplog.set_level("INFO", logger="cambook.networks")
    model = cambook.book_model(name, device="cpu")
    assert not model.training
    images, labels, _ = cambook.book_split("test")
    correct = int((camlib.predict(model, images) == labels).sum())
    assert correct == book_models.manifest()[name]["test_correct"]
    assert f"{name}: shipped weights ({name}.pt" in caplog.text, "the file, hash and accuracy are logged (INFO)"


def test_chapter_2_prints_the_shipped_accuracies():
    nb = nbformat.read(ROOT / "book" / "chapters" / "02_gap_vs_flatten.ipynb", as_version=4)
    printed = "".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    for name, label in [("gapnet", "GAPNet"), ("flattennet", "FlattenNet")]:
        acc = book_models.manifest()[name]["test_accuracy"]
        # the table of train and test accuracy (%), one row per network
        assert re.search(rf"^{label} +[\d.]+ +{100 * acc:.1f} ", printed, re.M), (
            f"chapter 2 does not print {label}'s {acc:.1%}"
        )


def test_loads_with_weights_only(monkeypatch):
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    book_models.load_shipped("gapnet")
    assert calls == [True]


@pytest.fixture
def weights_copy(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    shutil.copytree(book_models.WEIGHTS_DIR, folder)
    monkeypatch.setattr(book_models, "WEIGHTS_DIR", folder)
    monkeypatch.setattr(book_models, "MANIFEST", folder / "manifest.json")
    return folder


def test_a_damaged_file_is_refused(weights_copy):
    path = weights_copy / book_models.manifest()["gapnet"]["file"]
    data = bytearray(path.read_bytes())
    data[-100] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="SHA-256.*reinstall camlib-book"):
        cambook.book_model("gapnet", device="cpu")


def test_a_changed_recipe_is_refused(weights_copy):
    records = json.loads((weights_copy / "manifest.json").read_text())
    records["gapnet"]["settings"] = {**records["gapnet"]["settings"], "epochs": 99}
    (weights_copy / "manifest.json").write_text(json.dumps(records))
    with pytest.raises(RuntimeError, match="another recipe.*tools.train_book_models gapnet"):
        cambook.book_model("gapnet", device="cpu")


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="flattennet.*gapnet.*gmpnet"):
        cambook.book_model("resnet")


@pytest.mark.parametrize("switch", ["argument", "environment"])
def test_retraining_is_one_switch_away_and_says_so(switch, tmp_path, monkeypatch, caplog):
    """A tiny recipe on a tiny split, so that the switch is tested in seconds."""
    tiny = book_models.Recipe(
        lambda: camlib.GAPNet(5, widths=(4, 8)),
        "GAPNet(5, widths=(4, 8))",
        settings={"epochs": 1, "batch_size": 16, "lr": 3e-3, "weight_decay": 1e-4, "seed": 0},
    )
    monkeypatch.setitem(book_models.RECIPES, "gapnet", tiny)
    monkeypatch.setattr(book_models, "book_split", lambda name, with_masks=False: camlib.synthetic(40, seed=5))
    monkeypatch.setenv("CAMLIB_CACHE", str(tmp_path))
    if switch == "environment":
        monkeypatch.setenv(book_models.RETRAIN_ENV, "1")
        model = cambook.book_model("gapnet", device="cpu", progress=False)
    else:
        monkeypatch.delenv(book_models.RETRAIN_ENV, raising=False)
        model = cambook.book_model("gapnet", device="cpu", retrain=True, progress=False)
    assert model.features[0].out_channels == 4 and not model.training
    assert "trained on this machine" in caplog.text, "a warning says whose numbers follow"
    assert list(tmp_path.glob("gapnet-*.pt")), "the retrained weights are cached on this machine"


def test_the_wheel_ships_the_weights(tmp_path):
    """`pip install` of the repository (the Colab set-up cell) brings the weights, the manifest and cambook."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("camlib_book-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for entry in book_models.manifest().values():
        assert f"cambook/weights/{entry['file']}" in names
    assert "cambook/weights/manifest.json" in names and "camlib/py.typed" in names
    book = {p.relative_to(ROOT).as_posix() for p in (ROOT / "cambook").rglob("*.py")}
    assert "cambook/exercises/registry.py" in book and book <= names, sorted(book - names)


def test_show_notes_prints_each_note_once_and_leaves_the_root_logger_alone(capsys):
    import io
    import logging

    import cambook

    root_handlers = list(logging.getLogger().handlers)
    stream = io.StringIO()
    try:
        cambook.show_notes(stream)
        cambook.show_notes(stream)  # a second call must not print every note twice
        cambook.book_model("gapnet")
        assert stream.getvalue().splitlines() == [
            "gapnet: shipped weights (gapnet.pt, SHA-256 7b1907f1594d, test accuracy 98.8%)"
        ]
        assert logging.getLogger().handlers == root_handlers
    finally:
        for name in ("camlib", "cambook"):
            logger = logging.getLogger(name)
            logger.handlers = [h for h in logger.handlers if not getattr(h, "_cambook_notes", False)]
            logger.propagate = True
            logger.setLevel(logging.NOTSET)
