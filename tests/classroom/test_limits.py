"""Time limits in the sandbox: a cell that loops is interrupted, a kernel that ignores the interrupt
is killed, and a function that loops during its check is stopped; the grading goes on."""
from __future__ import annotations

import csv
import time

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from classroom import grading, kernel

IOU = ("def box_iou(a, b):\n    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))\n"
       "    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))\n"
       "    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih\n"
       "    return iw * ih / union if union > 0 else 0.0")
CHECKS = [["box_iou", "check_iou"], ["spin", "check_misclassified"], ["late", "check_iou"]]


def notebook(*cells: str) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["camlib"] = {"chapter": "98_tiny", "exercises": [{"checks": CHECKS}]}
    return nb


def test_time_limits(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel, "INTERRUPT_GRACE", 3)
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(notebook("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
                   subs / "a_ignores_interrupts.ipynb")
    nbformat.write(notebook(IOU, "def spin(logits, labels):\n    while True:\n        pass", "while True:\n    pass",
                            "def late(a, b):\n    return 0.0"), subs / "b_loops.ipynb")
    start = time.monotonic()
    grading.grade(subs, tmp_path / "grades.csv", {}, grading.Settings(timeout=5, check_timeout=8, jobs=2), quiet=True)
    assert time.monotonic() - start < 180
    with (tmp_path / "grades.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    stuck = {r["exercise"]: r for r in rows if r["file"] == "a_ignores_interrupts.ipynb"}
    assert "time limit of 5 s" in stuck[grading.NOTEBOOK]["message"]
    assert "did not answer an interrupt" in stuck[grading.NOTEBOOK]["message"]
    assert all(r["result"] == "fail" and "not graded" in r["message"]
               for k, r in stuck.items() if k != grading.NOTEBOOK)
    loops = {r["exercise"]: r for r in rows if r["file"] == "b_loops.ipynb"}
    assert loops[grading.NOTEBOOK]["result"] == "fail" and "time limit of 5 s" in loops[grading.NOTEBOOK]["message"]
    assert "code cell 3" in loops[grading.NOTEBOOK]["message"] and "interrupted" in loops[grading.NOTEBOOK]["message"]
    assert loops["box_iou"]["result"] == "pass", loops["box_iou"]
    assert loops["spin"]["result"] == "fail" and "loop forever" in loops["spin"]["message"]
    assert loops["late"]["result"] == "fail" and "not defined" in loops["late"]["message"]
