"""The student edition, the exercises found in the chapters, and the guide's table (classroom.edition, guide).

No chapter is executed here: the student edition of the real chapters is generated and inspected.
"""

import ast
import csv
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cambook import exercises
from classroom import edition as asg
from classroom import guide, matching, think
from classroom.__main__ import main
from classroom.edition import answer_key
from classroom.notes import NOTES

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = ROOT / "book" / "chapters"
GUIDE = ROOT / "book" / "instructor_guide.md"
KEY = answer_key(CHAPTERS)
EXERCISES = [(chapter, ex) for chapter, exs in KEY.items() for ex in exs]
SETUP = (
    "# Set-up: in Colab, install camlib; anywhere else this does nothing.\nimport sys\n\n"
    'if "google.colab" in sys.modules:\n    pass\n'
)


def code(source: str, tags=(), **meta):
    cell = new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    cell.metadata.update(meta)
    return cell


def notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = dict(asg.KERNELSPEC)
    return nb


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


# -- the real chapters --------------------------------------------------------------------------
def test_every_solution_cell_has_a_known_checker():
    assert any(KEY.values())
    for chapter, exs in KEY.items():
        for ex in exs:
            assert ex.checks, f"{chapter}: the solution `{ex.name}` is not followed by a check cell"
            for check in ex.checks:
                assert check.function in ex.functions, f"{chapter}: {check} checks a function the solution lacks"
                assert check.checker in exercises.EXERCISES, f"{chapter}: no cambook.exercises.{check.checker}"
                assert check.checker in NOTES, f"{check.checker}: add its hint and mistakes to classroom.notes.NOTES"


def _body_lines(source: str) -> set[str]:
    """The statements inside the solution's functions: what a stub must not give away."""
    lines = source.splitlines()
    out = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            first = node.body[1 if ast.get_docstring(node) else 0].lineno
            out |= {
                ln.strip()
                for ln in lines[first - 1 : node.end_lineno]
                if len(ln.strip()) > 3 and not ln.strip().startswith("#")
            }
    return out


def test_student_edition_of_the_real_chapters(tmp_path):
    written = asg.generate(CHAPTERS, tmp_path / "student", quiet=True)
    assert {p.stem for p in written} == {c for c, exs in KEY.items() if exs}
    for path in written:
        source = nbformat.read(CHAPTERS / path.name, as_version=4)
        student = nbformat.read(path, as_version=4)
        nbformat.validate(student)
        assert student.metadata["kernelspec"]["name"] == "python3"  # opens in Jupyter and Colab without asking
        assert "jupytext" not in student.metadata and "widgets" not in student.metadata
        header = [c for c in student.cells if "student-edition" in c.metadata.get("tags", [])]
        assert len(header) == 1 and "NotImplementedError" in header[0].source
        thinks = [c for c in student.cells if think.TAG in c.metadata.get("tags", [])]
        asked = [n for c in source.cells if c.cell_type == "markdown" for n in think.questions(c.source)]
        assert [c.metadata["camlib"]["think"] for c in thinks] == asked, "an answer cell under each Think question"
        assert all(think.answers(nbformat.from_dict({"cells": [c]})) == [(n, "")] for c, n in zip(thinks, asked))
        kept = [c for c in student.cells if c is not header[0] and c not in thinks]
        answers = [c for c in source.cells if "answer" in c.metadata.get("tags", [])]
        assert not [c for c in kept if "answer" in c.metadata.get("tags", [])], "the open exercises' answers stay out"
        source_cells = [c for c in source.cells if c not in answers]
        assert len(kept) == len(source_cells)
        for i, (orig, new) in enumerate(zip(source_cells, kept)):
            assert new.cell_type == orig.cell_type
            if new.cell_type == "code":
                assert new.outputs == [] and new.execution_count is None, "students start with a clean notebook"
            assert "execution" not in new.metadata
            if "solution" not in orig.metadata.get("tags", []):
                assert new.source == orig.source, f"{path.name}, cell {i}: a non-solution cell was changed"
                assert new.metadata.get("tags", []) == orig.metadata.get("tags", [])
                continue
            tags = new.metadata["tags"]
            assert "solution" not in tags and "hide-input" not in tags and "exercise" in tags
            assert "raise NotImplementedError(" in new.source
            leaked = _body_lines(orig.source) & {ln.strip() for ln in new.source.splitlines()}
            assert not leaked, f"{path.name}, cell {i}: the stub gives away {leaked}"
            old_defs = {n.name: ast.dump(n.args) for n in ast.parse(orig.source).body if isinstance(n, ast.FunctionDef)}
            new_defs = {n.name: ast.dump(n.args) for n in ast.parse(new.source).body if isinstance(n, ast.FunctionDef)}
            assert new_defs == old_defs, "a stub keeps every function's name and signature"
            namespace: dict = {}
            exec(compile(new.source, path.name, "exec"), namespace)
            for node in ast.parse(orig.source).body:
                if isinstance(node, ast.FunctionDef):
                    with pytest.raises(NotImplementedError, match=r"Exercise \d+: write `\w+`.* Hint: "):
                        namespace[node.name](*[None] * len(node.args.args))
        first_code = next(c for c in student.cells if c.cell_type == "code")
        assert "colab-setup" in first_code.metadata.get("tags", [])


def test_regenerating_removes_student_editions_of_deleted_chapters(tmp_path):
    out = tmp_path / "student"
    write(notebook([]), out / "teacher_notes.ipynb")  # not generated: left alone
    stale = nbformat.read(asg.generate(CHAPTERS, out, quiet=True)[0], as_version=4)
    assert "Where the grading happens" in stale.cells[1].source
    write(stale, out / "00_removed_chapter.ipynb")
    asg.generate(CHAPTERS, out, quiet=True)
    assert not (out / "00_removed_chapter.ipynb").exists() and (out / "teacher_notes.ipynb").exists()


# -- stubbing ---------------------------------------------------------------------------------------
def _exercise(source: str, checks=(), hint="") -> asg.Exercise:
    tree = ast.parse(source)
    return asg.Exercise("99_test", 2, 7, asg._defined(tree), tuple(asg.Check(f, c) for f, c in checks), hint)


def test_stub_keeps_signature_docstring_decorators_and_imports():
    source = '''import numpy as np
from scipy import ndimage

THRESHOLD = 0.2

@staticmethod
def cam_box(cam,
            threshold: float = THRESHOLD) -> tuple:
    """The paper's box."""
    mask = cam >= threshold * cam.max()  # the secret
    return (0, 0, 1, 1)

class Boxer:
    """Boxes maps."""
    def __call__(self, cam):
        return cam_box(cam)
'''
    stub, dropped = asg.stub_source(source, _exercise(source, [("cam_box", "check_box")], hint="think of ndimage"))
    assert "import numpy as np" in stub and "from scipy import ndimage" in stub
    assert "@staticmethod" in stub and "def cam_box(cam, threshold: float=THRESHOLD) -> tuple:" in stub
    assert "'The paper's box.'" in stub or '"""The paper\'s box."""' in stub
    assert "the secret" not in stub and "mask" not in stub and "return (0, 0, 1, 1)" not in stub
    assert "class Boxer:" in stub and "def __call__(self, cam):" in stub and "return cam_box(cam)" not in stub
    assert dropped == ["THRESHOLD = 0.2"]
    assert "think of ndimage" in stub and "Contract: `cam_box(cam [H, W] array, threshold)" in stub
    namespace = {"THRESHOLD": 0.2}
    exec(stub, namespace)
    with pytest.raises(NotImplementedError, match="Exercise 2: write `cam_box`.*check_box.*think of ndimage"):
        namespace["cam_box"](None)


def test_default_hint_names_the_exercise_and_never_the_code():
    source = "def box_iou(a, b):\n    return 0.5\n"
    stub, _ = asg.stub_source(source, _exercise(source, [("box_iou", "check_iou")]))
    assert NOTES["check_iou"].hint.split()[0] in stub and "return 0.5" not in stub
    other = "def helper(x):\n    return x\n"
    stub, _ = asg.stub_source(other, _exercise(other))
    assert "Exercise 2: write `helper`." in stub


def test_a_solution_cell_that_is_not_python_is_an_error():
    with pytest.raises(asg.AssignmentError, match="not plain Python"):
        asg.stub_source("%timeit f()\ndef f():\n    pass\n", _exercise("def f():\n    pass\n"))
    nb = notebook([code("x = 1", ["solution"]), code("check_cam(x)")])
    with pytest.raises(asg.AssignmentError, match="must define"):
        asg.find_exercises(nb, "99_test")


def test_check_cells_map_solutions_to_checkers():
    nb = notebook(
        [
            code("def f(a):\n    return a\ndef g(a):\n    return a", ["solution"]),
            new_markdown_cell("text"),
            code(
                "from cambook.exercises import check_iou\nimport cambook.exercises\n"
                "check_iou(f)\ncambook.exercises.check_box(g)"
            ),
            code("def h():\n    pass", ["solution"], hint="a hint from the cell"),
        ]
    )
    first, second = asg.find_exercises(nb, "99_test")
    assert first.checks == (asg.Check("f", "check_iou"), asg.Check("g", "check_box"))
    assert second.checks == () and second.hint == "a hint from the cell" and second.number == 2


def test_a_submission_is_matched_to_its_chapter():
    key = {"05_map_to_box": KEY["05_map_to_box"], "07_errors": KEY["07_errors"]}
    student, _ = asg.student_notebook(nbformat.read(CHAPTERS / "05_map_to_box.ipynb", as_version=4), "05_map_to_box")
    checks = [c for ex in KEY["05_map_to_box"] for c in ex.checks]
    # by the student edition's metadata, whatever the file is called
    found = matching.match("alice/hw.ipynb", student, key)
    assert (found.chapter, found.checks, found.error) == ("05_map_to_box", checks, "")
    # by the chapter's name in its path
    bare = notebook([code("print(1)")])
    assert matching.match("07_errors/bob.ipynb", bare, key).chapter == "07_errors"
    # a chapter the answer key lacks: the exercises the student edition recorded, each once
    found = matching.match("hw.ipynb", student, {})
    assert (found.chapter, found.checks) == ("05_map_to_box", checks)
    # nothing else: not graded (a check cell of its own does not choose what is graded)
    own = notebook([code("def f(a, b):\n    return 0"), code("from cambook.exercises import check_iou\ncheck_iou(f)")])
    assert "no chapter found" in matching.match("hw.ipynb", own, {}).error
    # the teacher says which chapter
    assert matching.match("hw.ipynb", own, key, chapter="07_errors").checks == [
        c for ex in KEY["07_errors"] for c in ex.checks
    ]


def test_chapter_mismatch_duplicates_and_unknown_entries_are_reported():
    key = {"01_what_is_cam": KEY["01_what_is_cam"], "05_map_to_box": KEY["05_map_to_box"]}
    student, _ = asg.student_notebook(nbformat.read(CHAPTERS / "01_what_is_cam.ipynb", as_version=4), "01_what_is_cam")
    mismatch = matching.match("bob_05_map_to_box.ipynb", student, key)
    assert (
        mismatch.checks == []
        and "named for chapter 05_map_to_box but its metadata says 01_what_is_cam" in mismatch.error
    )
    first = student.metadata["camlib"]["exercises"][0]["checks"][0]
    student.metadata["camlib"]["exercises"] = [{"checks": [first] * 5 + [["steal", "check_iou"]]}]
    found = matching.match("bob_01_what_is_cam.ipynb", student, key)
    assert found.checks == [c for ex in key["01_what_is_cam"] for c in ex.checks]  # the key's, once each
    assert any("more than once" in n for n in found.notes) and any("does not have" in n for n in found.notes)
    student.metadata["camlib"]["exercises"] = 5
    odd = matching.match("bob_01_what_is_cam.ipynb", student, key)
    assert not odd.error and any("not a list" in n for n in odd.notes)
    assert "no chapter found" in matching.match("hw.ipynb", notebook([code("1")]), key).error


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_command_line(tmp_path, capsys):
    subs = tmp_path / "subs"
    write(notebook([code("print(1)")]), subs / "unknown.ipynb")
    assert main(["--chapters", str(CHAPTERS), "grade", str(subs), "--out", str(tmp_path / "g.csv")]) == 0
    assert read_csv(tmp_path / "g.csv")[0]["message"].startswith("no chapter found")
    for made in ("g-summary.txt", "g-students.csv", "g-lms.csv", "feedback/unknown.md"):
        assert (tmp_path / made).is_file(), made
    assert main(["--chapters", str(CHAPTERS), "list"]) == 0
    out = capsys.readouterr().out
    for chapter, exs in KEY.items():
        for ex in exs:
            assert re.search(rf"{chapter}\s+{ex.number}\s+{ex.name}\s+{ex.checks[0].checker}", out)
    assert main(["--chapters", str(CHAPTERS), "generate", "--out", str(tmp_path / "student")]) == 0
    assert sorted(p.stem for p in (tmp_path / "student").glob("*.ipynb")) == sorted(c for c, e in KEY.items() if e)
    answer_key = (tmp_path / "answer-key.md").read_text(encoding="utf-8")  # next to the student edition
    for path in sorted((ROOT / "book" / "answers" / "think").glob("*.md")):
        first = path.read_text(encoding="utf-8").split("#### Think questions", 1)[1].strip().splitlines()[0]
        assert first in answer_key, f"the answer key lacks {path.name}'s Think answers"
    points = read_csv(tmp_path / "points.csv")
    assert [(r["chapter"], r["checker"]) for r in points] == [
        (c, k.checker) for c, exs in KEY.items() for ex in exs for k in ex.checks
    ]
    with pytest.raises(SystemExit):
        main(["--chapters", str(CHAPTERS), "grade", str(subs), "--chapter", "=cmd|x", "--out", str(tmp_path / "h.csv")])


def test_the_think_answers_are_not_on_the_site():
    """The site's pages are the table of contents' files and what they include: no Think answers there."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    pages = [
        ROOT / (f + (".md" if (ROOT / (f + ".md")).exists() else ".ipynb")) for f in re.findall(r"file:\s*(\S+)", toc)
    ] + [ROOT / "book" / "preface.md"]
    included = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        included += [page.parent / inc for inc in re.findall(r"```\{include\}\s*(\S+)", text)]
    assert (ROOT / "book" / "answers" / "01.md") in included, "the guide still shows the questionnaire answers"
    think_answers = sorted((ROOT / "book" / "answers" / "think").glob("*.md"))
    asking = {p.stem[:2] for p in CHAPTERS.glob("*.ipynb") if "**Think.**" in p.read_text(encoding="utf-8")}
    assert {p.stem for p in think_answers} == asking, "one answer file per chapter that asks Think questions"
    for page in pages + included:
        text = page.read_text(encoding="utf-8")
        assert "#### Think questions" not in text, f"{page.relative_to(ROOT)} holds Think answers"
        for path in think_answers:
            assert "answers/think" not in text
            body = path.read_text(encoding="utf-8").split("#### Think questions", 1)[1]
            assert body.strip().splitlines()[0] not in text, f"{page.relative_to(ROOT)} holds {path.name}"


# -- the instructor's guide ---------------------------------------------------------------------
def test_guide_exercise_table_is_up_to_date():
    assert guide.update_guide(GUIDE, KEY, check=True), (
        "the chapters' exercises changed: run `python -m classroom guide` to update book/instructor_guide.md"
    )


def test_guide_covers_every_chapter_and_links_only_existing_pages():
    text = GUIDE.read_text(encoding="utf-8")
    for target in re.findall(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`", text):
        page = GUIDE.parent / target
        assert page.with_suffix(".ipynb").exists() or page.with_suffix(".md").exists(), (
            f"{{doc}} to a missing page: {target}"
        )
    goals = text.split("## Learning goals", 1)[1].split("\n## ", 1)[0]
    for chapter in sorted(p.stem for p in CHAPTERS.glob("*.ipynb")):
        assert f"chapters/{chapter}" in goals, f"the guide's learning goals miss {chapter}"
    assert set(NOTES) == set(exercises.EXERCISES), "every checker needs its hint, time and mistakes"
    for notes in NOTES.values():
        assert notes.minutes > 0 and notes.hint and notes.mistakes


def test_guide_shows_a_stub_as_generated():
    text = GUIDE.read_text(encoding="utf-8")
    shown = re.search(r"```python\n(# Exercise .*?)```", text, re.S).group(1)
    name = re.search(r"^def (\w+)\(", shown, re.M).group(1)
    chapter, ex = next((c, e) for c, e in EXERCISES if e.name == name)
    source = nbformat.read(CHAPTERS / f"{chapter}.ipynb", as_version=4).cells[ex.cell].source
    assert asg.stub_source(source, ex)[0] == shown, "update the stub shown in book/instructor_guide.md"


def test_an_exercise_keeps_its_chapter_number_in_the_stub_and_the_guide(tmp_path):
    """One numbering: the chapter's list of exercises, the stub's words, the grader's CSV, the guide."""
    for chapter, exs in KEY.items():
        nb = nbformat.read(CHAPTERS / f"{chapter}.ipynb", as_version=4)
        for ex in exs:
            above = next(
                c.source
                for c in reversed(nb.cells[: ex.cell])
                if c.cell_type == "markdown" and re.search(r"^\d+\.\s+\*\*", c.source, re.M)
            )
            assert re.findall(r"^(\d+)\.\s+\*\*", above, re.M)[-1] == str(ex.number), (chapter, ex.name)
            stub, _ = asg.stub_source(nb.cells[ex.cell].source, ex)
            assert stub.startswith(f"# Exercise {ex.number}: ")
    table = (ROOT / "book" / "instructor_guide.md").read_text()
    assert "| {doc}`chapters/01_what_is_cam` | 5. `peak`, `check_peak` |" in table
