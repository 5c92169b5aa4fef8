"""The book's structure: every chapter listed, stored executed, runnable in Colab, with exercises.

nbval (``make nbval``) re-runs the chapters and compares their outputs; these tests check
what nbval cannot: that the stored notebooks are what a reader and Colab need.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
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
        assert any((ROOT / f).with_suffix(ext).is_file() for ext in (".md", ".ipynb")), (
            f"{f} is in _toc.yml but missing"
        )
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
    assert "remove-cell" in first.metadata.get("tags", []), "the rendered page hides the set-up cell"
    assert '"google.colab" in sys.modules' in first.source
    assert f"camlib-book[book] @ git+{REPO}" in first.source, (
        "run `python tools/set_repository.py URL` to sync the set-up cells"
    )


def test_device_chosen_once_and_seeded(chapter):
    source = "\n".join(c.source for c in code_cells(chapter))
    assert "device = camlib.default_device()" in source
    assert "camlib.full_precision()" in source, "a GPU must print the digits a CPU prints"
    assert "_ = torch.manual_seed(0)" in source
    assert ".cuda()" not in source and 'device="cuda"' not in source


def test_exercises_with_checked_solutions(chapter):
    cells = chapter.cells
    assert any(c.cell_type == "markdown" and c.source.lstrip().startswith("## Exercises") for c in cells)
    solutions = [i for i, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])]
    assert solutions, "at least one code exercise, in a cell tagged 'solution'"
    for i in solutions:
        assert "hide-input" in cells[i].metadata.get("tags", []), "solutions are folded away in the book"
        check = next(c for c in cells[i + 1 :] if c.cell_type == "code")
        call = re.search(r"check_\w+\(", check.source)
        assert call and "cambook.exercises" in check.source, "a solution is followed by a cambook.exercises check"
        printed = "".join(o.get("text", "") for o in check.outputs)
        assert printed.startswith("PASS "), f"the reference solution must pass its check: {printed!r}"


def test_every_figure_has_alt_text(chapter):
    for cell in code_cells(chapter):
        has_image = any(k.startswith("image/") for o in cell.outputs for k in o.get("data", {}))
        if has_image:
            alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt) > 15, f"figure cell without alt text: {cell.source[:60]!r}"


# What nbval honours as "do not compare this cell's output": comment markers and tags. The book
# uses the tag only (a comment would show on the page), with its reason in the cell's metadata.
OPT_OUT_MARKERS = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION", "NBVAL_CHECK_OUTPUT")
OPT_OUT_TAGS = {"nbval-ignore-output", "nbval-skip", "raises-exception"}
MAX_OPT_OUTS = 6  # in all chapters together: a fresh training run and its accuracy, a timing, and nothing else
TOOLING_COMMENTS = re.compile(r"#.*\b(NBVAL_\w+|noqa|type:\s*ignore|fmt:\s*(off|on|skip)|pragma)\b")


def opt_outs(nb) -> list:
    return [c for c in code_cells(nb) if OPT_OUT_TAGS & set(c.metadata.get("tags", []))]


def test_few_cells_opt_out_of_output_comparison_each_saying_why():
    cells = [c for path in CHAPTERS for c in opt_outs(nbformat.read(path, as_version=4))]
    assert len(cells) <= MAX_OPT_OUTS, f"{len(cells)} cells opt out of nbval's comparison; at most {MAX_OPT_OUTS} may"
    for cell in cells:
        why = cell.metadata.get("nbval", {}).get("ignore-output", "")
        assert len(why) > 20, (
            "a cell that opts out says why its output differs per run, in its metadata: "
            f'nbval={{"ignore-output": "..."}}: {cell.source[:80]!r}'
        )


@pytest.mark.parametrize("path", sorted((ROOT / "book" / "src").glob("*.py")), ids=lambda p: p.stem)
def test_no_tooling_comment_and_code_lines_fit_88_columns(path):
    """What a reader sees of the code: at most 88 columns, and no comment meant for a test tool or linter."""
    nb = jupytext.read(path)
    wide, tooling = [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            if len(line) > 88:
                wide.append(f"{len(line)} columns: {line[:60]}")
            if TOOLING_COMMENTS.search(line) or line.strip() in OPT_OUT_MARKERS:
                tooling.append(line.strip())
    assert not wide, f"{path.name}: code lines wider than 88 columns:\n" + "\n".join(wide)
    assert not tooling, (
        f"{path.name}: tooling comments show on the page (use cell tags, per-file settings):\n" + "\n".join(tooling)
    )


EXERCISE_ITEM = re.compile(r"^(\d+)\.\s+\*\*(.+?)\*\*", re.M)


def exercise_items(nb):
    """(number, title, index of its markdown cell, last item of that cell?) for every exercise of the chapter."""
    start = next(
        i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.lstrip().startswith("## Exercises")
    )
    items = []
    for i, cell in enumerate(nb.cells[start:], start):
        if cell.cell_type == "markdown":
            found = EXERCISE_ITEM.findall(cell.source)
            items += [(int(n), title, i, k == len(found) - 1) for k, (n, title) in enumerate(found)]
    return items


def test_every_exercise_is_numbered_once_and_has_a_think_answer_a_checker_or_a_possible_answer(chapter):
    """One numbering 1..n; a Think question stands alone; every other exercise is followed by its
    reference solution (tagged ``solution``, with a checker) or a possible answer (tagged ``answer``),
    which nbval runs in the chapter's own context, so that every instruction runs as written."""
    items = exercise_items(chapter)
    assert [n for n, *_ in items] == list(range(1, len(items) + 1)), "exercises are numbered 1, 2, 3, ... once"
    cells = chapter.cells
    for number, title, i, last in items:
        nxt = next((c for c in cells[i + 1 :] if c.cell_type == "code"), None) if last else None
        tags = set(nxt.metadata.get("tags", [])) if nxt is not None else set()
        follows = nxt is not None and cells.index(nxt) == i + 1
        if title.startswith("Think"):
            assert not (follows and tags & {"solution", "answer"}), f"exercise {number} is a Think question"
            continue
        assert last and follows and tags & {"solution", "answer"}, (
            f"exercise {number} ({title}) needs the next cell to be its reference solution (tag 'solution') "
            "or a possible answer (tag 'answer')"
        )
        if "answer" in tags:
            assert {"hide-cell"} <= tags, f"exercise {number}'s answer is folded away (hide-cell)"
            errors = [o for o in nxt.outputs if o.output_type == "error"]
            assert not errors, f"exercise {number}'s answer raised"


def test_each_chapter_source_is_paired_with_its_notebook():
    """book/src/*.py is the file to edit; `make sync` writes its cells into the notebook (jupytext.toml)."""
    sources = sorted((ROOT / "book" / "src").glob("*.py"))
    assert [p.stem for p in sources] == [p.stem for p in CHAPTERS], "every chapter needs a book/src/*.py and a notebook"
    for src, path in zip(sources, CHAPTERS):
        want = jupytext.read(src)
        have = nbformat.read(path, as_version=4)
        cells = [(c.cell_type, c.source, c.metadata.get("tags", []), c.metadata.get("mystnb")) for c in have.cells]
        expected = [(c.cell_type, c.source, c.metadata.get("tags", []), c.metadata.get("mystnb")) for c in want.cells]
        assert cells == expected, (
            f"{path.name} differs from {src.name}: edit the .py, then run `make sync` and `make notebooks`"
        )


# Numbers in the prose that are not the chapter's own outputs, each with where it comes from.
NOT_FROM_OUTPUTS = {
    "04_top5": {"50": "the chance level of a two-photo scene: half the evidence, or the peak, in each half"},
    "06_scoring": {
        "0.5": "the paper's criterion: a box is correct at IoU >= 0.5",
        "20": "the paper's threshold: 20 % of the map's maximum",
        "43.0": "the paper's Table 2 (top-5 localization error, validation)",
        "37.1": "the paper's Table 3",
        "34.2": "the paper's Table 3",
        "46.4": "the paper's Table 3",
    },
    "07_errors": {
        "7.7": "camlib.data: the object's radius, 0.12 * 64 pixels",
        "19.2": "camlib.data: the object's radius, 0.30 * 64 pixels",
        "2.4": "camlib.data: a clutter line's width, at most twice its 1.2-pixel half-width",
    },
}
CITATION = re.compile(r"(Section|§|arXiv|version|Figure|Table|Eq\.?)\s*$")


def prose_numbers(nb) -> set[str]:
    """Decimals, percentages and image ids (#661) in the chapter's text, section numbers and citations left out."""
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    found = set()
    for m in re.finditer(r"(?<![\w.#$])(\d+\.\d+)(?!\w|\.\d)|(\d+(?:\.\d+)?) ?%|#(\d+)\b", text):
        if not CITATION.search(text[max(0, m.start() - 12) : m.start()]):
            found.add(next(g for g in m.groups() if g))
    return found


def output_text(nb) -> str:
    parts = []
    for cell in code_cells(nb):
        for out in cell.outputs:
            parts.append(out.get("text", ""))
            parts += [
                v if isinstance(v, str) else ""
                for k, v in out.get("data", {}).items()
                if k in ("text/plain", "text/markdown", "text/html")
            ]
    return "\n".join(parts)


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_numbers_in_the_prose_come_from_the_outputs(path):
    """Every decimal, percentage and image id the text states is printed by the chapter's own code."""
    nb = nbformat.read(path, as_version=4)
    outputs, known, stated = output_text(nb), NOT_FROM_OUTPUTS.get(path.stem, {}), prose_numbers(nb)
    missing = sorted(n for n in stated - set(known) if not re.search(rf"(?<![\d.]){re.escape(n)}(?!\d)", outputs))
    assert not missing, (
        f"{path.name} states {missing} in its text, but no output prints them: print them, "
        "or say where they come from in NOT_FROM_OUTPUTS"
    )
    assert set(known) <= stated, "NOT_FROM_OUTPUTS lists a number the text no longer states"


def _code_lines(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_no_exercise_answer_retypes_six_lines_of_its_chapter(chapter):
    """A reference solution or possible answer asks for something new: it shares no run of six lines
    with another code cell of its chapter (the rule `duplicates` applies to the repository)."""
    answers = [c for c in code_cells(chapter) if {"solution", "answer"} & set(c.metadata.get("tags", []))]
    others = [_code_lines(c.source) for c in code_cells(chapter) if c not in answers]
    runs = {tuple(lines[i : i + 6]) for lines in others for i in range(len(lines) - 5)}
    for cell in answers:
        lines = _code_lines(cell.source)
        shared = [lines[i : i + 6] for i in range(len(lines) - 5) if tuple(lines[i : i + 6]) in runs]
        assert not shared, f"an exercise's answer retypes the chapter's own code: {shared[0]}"
