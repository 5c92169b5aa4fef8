"""Wall time to execute every chapter of the book, each in a fresh kernel, without writing it back.

Like ``tools/execute_notebooks.py`` (what ``make notebooks`` runs): nbclient, kernel
``python3``, working directory the chapter's folder, 900 s per cell; but the executed
copy is thrown away, so the stored notebooks are untouched. The time includes starting
the kernel. The book's shipped GAPNet is loaded first (``cambook.book_model``), to time that load on its
own; the chapters load the shipped networks too, so no chapter trains one except chapter 2's
short demonstration run (``benchmarks/train_gapnet.py`` times a full training run).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import cambook

ROOT = Path(__file__).resolve().parents[1]


def _describe(err: Exception, nb) -> str:
    """One line on what failed: the cell's error, or (outside a cell) where in the client it broke."""
    import traceback

    if isinstance(err, CellExecutionError):
        cell = next(
            (
                i
                for i, c in enumerate(nb.cells)
                if c.get("outputs") and any(o.get("output_type") == "error" for o in c["outputs"])
            ),
            "?",
        )
        return f"cell {cell}: {err.ename}: {err.evalue}"[:300]
    frame = traceback.extract_tb(err.__traceback__)[-1]
    return f"{type(err).__name__}: {err} (in {Path(frame.filename).name}:{frame.lineno})"[:300]


def run_book(chapters: list[Path] | None = None, log: Callable[[str], None] = print) -> dict:
    chapters = chapters or sorted((ROOT / "book" / "chapters").glob("*.ipynb"))
    start = time.perf_counter()
    cambook.book_model("gapnet", device="cpu")  # the shipped network the chapters load
    gapnet_s = time.perf_counter() - start
    rows = []
    for path in chapters:
        nb = nbformat.read(path, as_version=4)  # a copy in memory; never written back
        start = time.perf_counter()
        error = None
        try:
            NotebookClient(
                nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
            ).execute()
        except Exception as err:  # noqa: BLE001 - a failing chapter is a result, not a crash
            error = _describe(err, nb)
        seconds = time.perf_counter() - start
        rows.append(
            {"chapter": path.stem, "seconds": seconds, "ok": error is None, **({"error": error} if error else {})}
        )
        log(f"  book {path.name}: {seconds:.1f} s" + (f" FAILED ({error})" if error else ""))
    return {
        "chapters": rows,
        "total_s": sum(r["seconds"] for r in rows),
        "gapnet_seconds": gapnet_s,
        "models": "shipped",
    }
