"""Train the book's networks and ship them inside cambook (cambook/weights/).

    python -m tools.train_book_models              # every network of cambook.networks.RECIPES
    python -m tools.train_book_models gapnet       # just one (the others' records are kept)

Run it from the repository's root, as a module, so that ``benchmarks`` imports as a package.

Each network is trained on the CPU with its recipe (the seed is among the settings), saved
as a state dict (loaded later with ``weights_only=True``), and recorded in
``cambook/weights/manifest.json`` with its SHA-256, its recipe, its accuracy on the test split
and how it was made: torch and NumPy versions, Python, the machine and its CPU, the number
of threads, the date, the git commit and the training time. Re-running it on the same
machine gives the same bytes; on another machine it gives a slightly different network,
which is why the book ships one instead of training on every reader's machine.
After re-running it, re-execute the chapters (``make notebooks``) so they print the new numbers.
"""

from __future__ import annotations

import datetime
import io
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import cambook
import camlib
from benchmarks.machine import cpu_description, git_commit
from cambook.networks import MANIFEST, RECIPES, WEIGHTS_DIR, sha256

ROOT = Path(__file__).resolve().parents[1]


def made_by() -> dict:
    return {
        "script": "tools/train_book_models.py",
        "device": "cpu",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": cpu_description(),
        "threads": torch.get_num_threads(),
        "git_commit": git_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def train_one(name: str) -> dict:
    recipe = RECIPES[name]
    images, labels, _ = cambook.book_split(recipe.split)
    test_images, test_labels, _ = cambook.book_split("test")
    model = recipe.build()
    start = time.perf_counter()
    losses = camlib.train(model, images, labels, device="cpu", progress=False, **recipe.settings)
    seconds = time.perf_counter() - start
    correct = int((camlib.predict(model, test_images) == test_labels).sum())
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, buffer)
    path = WEIGHTS_DIR / f"{name}.pt"
    path.write_bytes(buffer.getvalue())
    entry = {
        "file": path.name,
        "sha256": sha256(path),
        "architecture": recipe.architecture,
        "split": recipe.split,
        "settings": recipe.settings,
        "final_train_loss": round(losses[-1], 6),
        "test_correct": correct,
        "test_n": len(test_labels),
        "test_accuracy": correct / len(test_labels),
        "train_seconds": round(seconds, 1),
        "made_by": made_by(),
    }
    print(
        f"{name:12s} test accuracy {correct}/{len(test_labels)} = {correct / len(test_labels):.1%}, "
        f"trained in {seconds:.0f} s, {path.stat().st_size / 1024:.0f} KiB, sha256 {entry['sha256'][:12]}",
        flush=True,
    )
    return entry


def main(names: list[str]) -> None:
    unknown = sorted(set(names) - set(RECIPES))
    if unknown:
        sys.exit(f"unknown network(s) {unknown}; choose from {sorted(RECIPES)}")
    WEIGHTS_DIR.mkdir(exist_ok=True)
    records = json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {}
    for name in names or list(RECIPES):
        records[name] = train_one(name)
        MANIFEST.write_text(json.dumps({k: records[k] for k in sorted(records)}, indent=2) + "\n")
    print(f"wrote {MANIFEST.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
