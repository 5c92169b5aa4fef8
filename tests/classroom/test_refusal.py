"""Without a sandbox the grader refuses, unless told --unsafe; then the summary says so."""

from __future__ import annotations

import csv
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from classroom import grading, sandbox
from classroom.__main__ import main


@pytest.fixture
def no_bwrap(monkeypatch):
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "bwrap" else real(name, *a, **k))


def one_notebook(tmp_path):
    nb = new_notebook(cells=[new_code_cell("def box_iou(a, b):\n    return 0.5")])
    nb.metadata["camlib"] = {"chapter": "99_mini", "exercises": [{"checks": [["box_iou", "check_iou"]]}]}
    (tmp_path / "subs").mkdir()
    nbformat.write(nb, tmp_path / "subs" / "hw.ipynb")
    return tmp_path / "subs"


def test_refuses_without_a_sandbox(tmp_path, no_bwrap, capsys):
    subs = one_notebook(tmp_path)
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap.*--unsafe"):
        grading.grade(subs, tmp_path / "g.csv", {}, grading.Settings(), quiet=True)
    assert main(["grade", str(subs), "--out", str(tmp_path / "g.csv")]) == 2
    assert "refusing to grade" in capsys.readouterr().err
    assert not (tmp_path / "g.csv").exists()


def test_unsafe_grades_and_says_so(tmp_path, no_bwrap):
    subs = one_notebook(tmp_path)
    assert main(["grade", str(subs), "--out", str(tmp_path / "g.csv"), "--unsafe", "--timeout", "60"]) == 0
    rows = list(csv.DictReader((tmp_path / "g.csv").open(encoding="utf-8")))
    assert [(r["exercise"], r["result"]) for r in rows] == [("(notebook)", "pass"), ("box_iou", "fail")]
    assert "should be" in rows[1]["message"]
    summary = grading.summary_path(tmp_path / "g.csv").read_text(encoding="utf-8")
    assert summary.startswith("UNSAFE: this run was NOT sandboxed (--unsafe)")


def test_a_symlinked_virtualenv_works(tmp_path, monkeypatch):
    """The sandbox binds the virtualenv at its real path and at the symlink's (issue 18)."""
    import sys
    from pathlib import Path

    link = tmp_path / "venv-link"
    link.symlink_to(Path(sys.prefix).resolve())
    monkeypatch.setattr(sys, "prefix", str(link))
    monkeypatch.setattr(sys, "exec_prefix", str(link))
    monkeypatch.setattr(sys, "executable", str(link / "bin" / "python"))
    assert any(where == link for _, where in sandbox.python_trees())
    sandbox.check_available()  # raises SandboxUnavailable if Python cannot start in the sandbox
