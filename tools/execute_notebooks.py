"""Execute chapters in a fresh kernel, top to bottom, and store their outputs in place.

    python tools/execute_notebooks.py [NOTEBOOK ...]     (default: every chapter)

Stored outputs are what nbval compares a later run against, and what Colab shows before
a reader runs anything. Prints the wall time of each chapter and the total.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def execute(path: Path, timeout: int = 900) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        store_widget_state=True,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    elapsed = time.perf_counter() - start
    nbformat.write(nb, path)
    return elapsed


def main(args: list[str]) -> None:
    paths = [Path(a) for a in args] or sorted((ROOT / "book" / "chapters").glob("*.ipynb"))
    total = 0.0
    for path in paths:
        seconds = execute(path)
        total += seconds
        print(f"{path.name:40s} {seconds:7.1f} s", flush=True)
    print(f"{'total':40s} {total:7.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
