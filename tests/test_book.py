"""The book's structure: every chapter listed, stored executed, runnable in Colab, with exercises.

nbval (``make nbval``) re-runs the chapters and compares their outputs; these tests check
what nbval cannot: that the stored notebooks are what a reader and Colab need.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book" / "chapters").glob("*.ipynb"))
REPO = re.search(r"repository:\s*\n\s*url:\s*(\S+)", (ROOT / "_config.yml").read_text()).group(1)


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


def test_every_toc_page_exists_and_every_chapter_is_listed():
    files = toc_files()
    for f in files:
        assert any((ROOT / f).with_suffix(ext).is_file() for ext in (".md", ".ipynb")), f"{f} is in _toc.yml but missing"
    listed = {ROOT / f for f in files}
    for nb in CHAPTERS:
        assert nb.with_suffix("") in listed, f"{nb.name} is not in _toc.yml"


def test_config_makes_errors_fail_the_build():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "force"
    assert config["execute"]["timeout"] >= 300
    assert config["execute"]["allow_errors"] is False
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True


@pytest.fixture(params=CHAPTERS, ids=[p.stem for p in CHAPTERS])
def chapter(request):
    return nbformat.read(request.param, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_stored_executed_top_to_bottom(chapter):
    counts = [c.execution_count for c in code_cells(chapter)]
    assert None not in counts, "run `make notebooks`: some code cells were never executed"
    assert counts == list(range(1, len(counts) + 1)), "cells were not executed once each, in order, in a fresh kernel"
    errors = [o for c in code_cells(chapter) for o in c.outputs if o.output_type == "error"]
    assert not errors


def test_colab_setup_cell_first(chapter):
    first = code_cells(chapter)[0]
    assert "colab-setup" in first.metadata.get("tags", [])
    assert '"google.colab" in sys.modules' in first.source
    assert f"camlib @ git+{REPO}" in first.source, "run `python tools/set_repository.py URL` to sync the set-up cells"


def test_device_chosen_once_and_seeded(chapter):
    source = "\n".join(c.source for c in code_cells(chapter))
    assert "device = camlib.default_device()" in source
    assert "_ = torch.manual_seed(0)" in source
    assert ".cuda()" not in source and "device=\"cuda\"" not in source


def test_exercises_with_checked_solutions(chapter):
    cells = chapter.cells
    assert any(c.cell_type == "markdown" and c.source.lstrip().startswith("## Exercises") for c in cells)
    solutions = [i for i, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])]
    assert solutions, "at least one code exercise, in a cell tagged 'solution'"
    for i in solutions:
        assert "hide-input" in cells[i].metadata.get("tags", []), "solutions are folded away in the book"
        check = next(c for c in cells[i + 1:] if c.cell_type == "code")
        call = re.search(r"check_\w+\(", check.source)
        assert call and "camlib.exercises" in check.source, "a solution is followed by a camlib.exercises check"
        printed = "".join(o.get("text", "") for o in check.outputs)
        assert printed.startswith("✅"), f"the reference solution must pass its check: {printed!r}"


def test_every_figure_has_alt_text(chapter):
    for cell in code_cells(chapter):
        has_image = any(k.startswith("image/") for o in cell.outputs for k in o.get("data", {}))
        if has_image:
            alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt) > 15, f"figure cell without alt text: {cell.source[:60]!r}"
