"""The classroom tooling (camlib.assignments): the student edition, the grader, the guide's table.

No chapter is executed here: the student edition of the real chapters is generated and
inspected, and the grader runs on small notebooks built from the chapters' own solution and
check cells (the reference), on their student edition (stubs), on planted wrong answers for
every checker, and on notebooks that raise, delete files, or run past their time limit.
"""
from __future__ import annotations

import ast
import csv
import hashlib
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from camlib import assignments as asg
from camlib import exercises

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "book" / "chapters"
GUIDE = ROOT / "book" / "instructor_guide.md"
KEY = asg.answer_key(CHAPTERS)
SETUP = ('# Set-up: in Colab, install camlib; anywhere else this does nothing.\nimport sys\n\n'
         'if "google.colab" in sys.modules:\n    pass\n')


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
                assert callable(getattr(exercises, check.checker, None)), f"{chapter}: no camlib.exercises.{check.checker}"
                assert check.checker in asg.NOTES, f"{check.checker}: add its hint and mistakes to camlib.assignments.NOTES"


def _body_lines(source: str) -> set[str]:
    """The statements inside the solution's functions: what a stub must not give away."""
    lines = source.splitlines()
    out = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            first = node.body[1 if ast.get_docstring(node) else 0].lineno
            out |= {ln.strip() for ln in lines[first - 1:node.end_lineno]
                    if len(ln.strip()) > 3 and not ln.strip().startswith("#")}
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
        kept = [c for c in student.cells if c is not header[0]]
        assert len(kept) == len(source.cells)
        for i, (orig, new) in enumerate(zip(source.cells, kept)):
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
    assert asg.NOTES["check_iou"].hint.split()[0] in stub and "return 0.5" not in stub
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
    nb = notebook([code("def f(a):\n    return a\ndef g(a):\n    return a", ["solution"]),
                   new_markdown_cell("text"),
                   code("from camlib.exercises import check_iou\nimport camlib\ncheck_iou(f)\ncamlib.exercises.check_box(g)"),
                   code("def h():\n    pass", ["solution"], hint="a hint from the cell")])
    first, second = asg.find_exercises(nb, "99_test")
    assert first.checks == (asg.Check("f", "check_iou"), asg.Check("g", "check_box"))
    assert second.checks == () and second.hint == "a hint from the cell" and second.number == 2


# -- grading --------------------------------------------------------------------------------------
# One planted wrong answer per checker, and the words of the message it must get.
WRONG = {
    "check_topk": ("def {f}(logits):\n    return logits.topk(5, dim=1)\n", "raw logits"),
    "check_head_params": ("def {f}(n_ch, h, w, num_classes):\n    return n_ch * h * w * num_classes, n_ch * num_classes\n",
                          "count the biases"),
    "check_gap_head": ("def {f}(features, weight, bias):\n    return (features.mean((2, 3)) @ weight.T + bias).T\n",
                       "should have shape"),
    "check_hook": ("def {f}(model, layer, x):\n    kept = {{}}\n"
                   "    layer.register_forward_hook(lambda m, i, o: kept.update(f=o))\n"
                   "    with torch.no_grad():\n        model(x)\n    return kept['f']\n", "still attached"),
    "check_cam": ("def {f}(features, weight, class_idx):\n"
                  "    return torch.einsum('bc,bchw->bhw', weight.T[class_idx], features)\n", "transposed"),
    "check_normalize": ("def {f}(maps):\n    peak = maps.amax(dim=(-2, -1), keepdim=True)\n"
                        "    return torch.where(peak != 0, maps / peak, torch.zeros_like(maps))\n", "apply the ReLU"),
    "check_box": ("def {f}(cam, threshold):\n    x0, y0, x1, y1 = camlib_box(cam, threshold)\n"
                  "    return x0, y0, x1 - 1, y1 - 1\n", "Off by one"),
    "check_iou": ("def {f}(a, b):\n    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]) + 1)\n"
                  "    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]) + 1)\n"
                  "    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)\n"
                  "    return iw * ih / (area(a) + area(b) - iw * ih)\n", "only touch"),
    "check_misclassified": ("def {f}(logits, labels):\n    return (logits.argmax(1) == labels).nonzero().flatten()\n",
                            "correctly classified"),
    "check_gradcam_weights": ("def {f}(model, layer, x, class_idx):\n    kept = {{}}\n"
                              "    handle = layer.register_forward_hook(lambda m, i, o: kept.update(f=o))\n"
                              "    logits = model(x)\n    handle.remove()\n"
                              "    (g,) = torch.autograd.grad(logits[:, class_idx].sum(), kept['f'])\n"
                              "    return g.sum((2, 3))\n", "summed the gradients"),
}
IMPORTS = ("import numpy as np\nimport torch\nfrom scipy import ndimage\n\nimport camlib\n"
           "from camlib.localize import cam_to_box as camlib_box\n")
EXERCISES = [(chapter, ex) for chapter, exs in KEY.items() for ex in exs]


def test_every_checker_has_a_planted_wrong_answer():
    checkers = {n for n in dir(exercises) if n.startswith("check_")}
    assert checkers == set(WRONG), "add a planted wrong answer for each checker"
    assert {c.checker for _, ex in EXERCISES for c in ex.checks} <= checkers


def mini_chapter() -> nbformat.NotebookNode:
    """The chapters' solution and check cells, alone: a chapter that runs in seconds."""
    cells = [new_markdown_cell("# 99. Every exercise of the book"), code(SETUP, ["colab-setup"]), code(IMPORTS),
             new_markdown_cell("## Exercises")]
    for chapter, ex in EXERCISES:
        source = nbformat.read(CHAPTERS / f"{chapter}.ipynb", as_version=4).cells[ex.cell].source
        cells.append(new_markdown_cell(f"From {chapter}: write `{ex.name}`."))
        cells.append(code(source, ["solution", "hide-input"]))
        calls = "\n".join(f"{c.checker}({c.function})" for c in ex.checks)
        imports = ", ".join(sorted({c.checker for c in ex.checks}))
        cells.append(code(f"from camlib.exercises import {imports}\n\n{calls}"))
    return notebook(cells)


def replace_stubs(nb, answers: dict[str, str]):
    """A student's notebook: each stub whose function is in ``answers`` gets that code instead."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        meta = cell.metadata.get("camlib", {})
        for function, _checker in meta.get("checks", []):
            if function in answers:
                cell.source = answers[function]
    return nb


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One grading run over a folder of submissions (one kernel each); the tests read its CSV."""
    tmp = tmp_path_factory.mktemp("grading")
    chapters = tmp / "chapters"
    reference = mini_chapter()
    write(reference, chapters / "99_mini.ipynb")
    student = nbformat.read(asg.generate(chapters, tmp / "student", quiet=True)[0], as_version=4)
    names = {c.checker: c.function for _, ex in EXERCISES for c in ex.checks}
    subs = tmp / "submissions"
    write(reference, subs / "ref" / "99_mini.ipynb")  # the chapter's own solutions
    write(student, subs / "stub" / "99_mini.ipynb")  # handed in untouched
    write(replace_stubs(student, {names[c]: src.format(f=names[c]) for c, (src, _) in WRONG.items() if c in names}),
          subs / "wrong" / "99_mini.ipynb")
    # Raises half-way; one answer imports camlib's reference, another calls it.
    raises = nbformat.from_dict(reference)
    at = next(i for i, c in enumerate(raises.cells) if "solution" in c.metadata.get("tags", []))
    raises.cells.insert(at, code("print('about to fail')\n1 / 0"))
    raises = replace_stubs(asg.student_notebook(raises, "99_mini")[0], {
        names["check_iou"]: f"from camlib import iou as {names['check_iou']}\n",
        names["check_box"]: f"def {names['check_box']}(cam, threshold):\n    return camlib.cam_to_box(cam, threshold)\n"})
    for cell, ref_cell in zip([c for c in raises.cells if "exercise" in c.metadata.get("tags", [])],
                              [c for c in reference.cells if "solution" in c.metadata.get("tags", [])]):
        if "NotImplementedError" in cell.source:
            cell.source = ref_cell.source
    write(raises, subs / "raises" / "99_mini.ipynb")
    # Deletes every file it can reach in its directory and in the model cache, then answers
    # correctly; graded first.
    deleter = nbformat.from_dict(reference)
    deleter.cells.insert(3, code("import os, shutil\nfor name in os.listdir('.'):\n"
                                 "    shutil.rmtree(name) if os.path.isdir(name) else os.remove(name)\n"
                                 "print('deleted', len(os.listdir('.')) == 0)\n"
                                 "cache = os.environ['CAMLIB_CACHE']\n"
                                 "assert open(os.path.join(cache, 'gapnet-0.pt')).read() == 'trained'\n"
                                 "for name in os.listdir(cache):\n    os.remove(os.path.join(cache, name))"))
    write(deleter, subs / "00_deleter_99_mini.ipynb")
    # Kills its own kernel.
    crash = nbformat.from_dict(reference)
    crash.cells.insert(2, code("import os\nos._exit(1)"))
    write(crash, subs / "crash" / "99_mini.ipynb")
    (subs / "broken_99_mini.ipynb").write_text("{ this is not a notebook", encoding="utf-8")
    write(notebook([code("print('no exercises here')")]), subs / "notes.ipynb")
    before = digest(subs)
    cache = tmp / "cache"
    cache.mkdir()
    (cache / "gapnet-0.pt").write_text("trained")
    out = tmp / "grades" / "grades.csv"
    start = time.monotonic()
    rows = asg.grade(subs, out, chapters, timeout=300, check_timeout=120, cache=cache, quiet=True)
    return {"rows": rows, "csv": read_csv(out), "out": out, "before": before, "subs": subs, "cache": cache,
            "seconds": time.monotonic() - start, "names": names}


def rows_of(graded, file: str) -> dict[str, dict]:
    return {r["exercise"]: r for r in graded["csv"] if r["file"] == file}


def test_csv_has_a_row_per_notebook_and_exercise(graded):
    assert list(graded["csv"][0]) == list(asg.Row.FIELDS)
    files = list(dict.fromkeys(r["file"] for r in graded["csv"]))
    assert files == ["00_deleter_99_mini.ipynb", "broken_99_mini.ipynb", "crash/99_mini.ipynb", "notes.ipynb",
                     "raises/99_mini.ipynb", "ref/99_mini.ipynb", "stub/99_mini.ipynb", "wrong/99_mini.ipynb"]
    assert {r["result"] for r in graded["csv"]} == {"pass", "fail"}
    summary = asg.summary_path(graded["out"]).read_text(encoding="utf-8")
    assert "8 notebook(s)" in summary and "ref/99_mini.ipynb" in summary and "exercise checks passed" in summary


def test_reference_solutions_all_pass(graded):
    rows = rows_of(graded, "ref/99_mini.ipynb")
    assert len(rows) == 1 + len(graded["names"])
    assert all(r["result"] == "pass" for r in rows.values()), rows
    assert rows[asg.NOTEBOOK]["message"].startswith("ran to the end")
    assert rows[graded["names"]["check_cam"]]["message"].endswith("cases passed.")


def test_stubs_all_fail_cleanly(graded):
    rows = rows_of(graded, "stub/99_mini.ipynb")
    for name, row in rows.items():
        if name != asg.NOTEBOOK:
            assert row["result"] == "fail" and "not implemented yet" in row["message"], row


@pytest.mark.parametrize("checker", sorted(WRONG))
def test_planted_wrong_answer_is_caught_with_its_message(graded, checker):
    if checker not in graded["names"]:
        pytest.skip(f"no chapter has a {checker} exercise yet")
    row = rows_of(graded, "wrong/99_mini.ipynb")[graded["names"][checker]]
    assert row["result"] == "fail" and row["checker"] == checker
    assert WRONG[checker][1] in row["message"], row["message"]


def test_a_notebook_that_raises_is_reported_and_still_graded(graded):
    rows = rows_of(graded, "raises/99_mini.ipynb")
    head = rows[asg.NOTEBOOK]
    assert head["result"] == "fail" and "ZeroDivisionError" in head["message"] and "about to fail" in head["message"]
    names = graded["names"]
    assert rows[names["check_cam"]]["result"] == "pass"  # defined after the error: still graded
    iou, box = rows[names["check_iou"]], rows[names["check_box"]]
    assert iou["result"] == "fail" and "not written in this notebook" in iou["message"] and "camlib" in iou["message"]
    assert box["result"] == "pass" and "calls `camlib.cam_to_box`" in box["message"]


def test_a_notebook_that_kills_its_kernel_is_reported(graded):
    rows = rows_of(graded, "crash/99_mini.ipynb")
    head = rows.pop(asg.NOTEBOOK)
    assert head["result"] == "fail" and "the kernel died in code cell 2 (`import os`)" in head["message"], head
    assert all(r["result"] == "fail" and r["message"].startswith("not graded: the kernel died") for r in rows.values())
    assert all(r["result"] == "pass" for r in rows_of(graded, "raises/99_mini.ipynb").values()
               if r["exercise"] == graded["names"]["check_cam"])  # graded after it


def test_a_notebook_that_deletes_files_harms_nothing(graded):
    assert digest(graded["subs"]) == graded["before"], "the submissions folder changed"
    assert (graded["cache"] / "gapnet-0.pt").read_text() == "trained", "the shared model cache changed"
    rows = rows_of(graded, "00_deleter_99_mini.ipynb")
    assert all(r["result"] == "pass" for r in rows.values()), rows
    assert all(r["result"] == "pass" for r in rows_of(graded, "ref/99_mini.ipynb").values())


def test_unreadable_and_unknown_notebooks_are_reported(graded):
    (broken,) = rows_of(graded, "broken_99_mini.ipynb").values()
    assert broken["result"] == "fail" and "not a readable notebook" in broken["message"]
    (notes,) = rows_of(graded, "notes.ipynb").values()
    assert notes["result"] == "fail" and "no exercises to grade" in notes["message"]


def test_time_limits(tmp_path, monkeypatch):
    """A notebook that ignores the interrupt at its time limit loses its kernel, and the next
    notebook is graded all the same; in a notebook that loops forever, what it defined before the
    loop is graded; a student function that loops inside a check is stopped too."""
    monkeypatch.setattr(asg, "INTERRUPT_GRACE", 3)
    monkeypatch.setattr(asg, "IOPUB_GRACE", 3)
    chapters = tmp_path / "chapters"
    write(notebook([
        code("def add(a, b):\n    return a + b", ["solution"]), code("check_iou(add)"),
        code("def spin(logits, labels):\n    return None", ["solution"]), code("check_misclassified(spin)"),
        code("def late(a, b):\n    return a", ["solution"]), code("check_iou(late)"),
    ]), chapters / "98_tiny.ipynb")
    subs = tmp_path / "subs"
    iou = KEY["05_localization"][1]
    iou_source = nbformat.read(CHAPTERS / "05_localization.ipynb", as_version=4).cells[iou.cell].source
    write(notebook([code("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")]),
          subs / "a_ignores_interrupts_98_tiny.ipynb")
    write(notebook([code(iou_source.replace(f"def {iou.name}(", "def add(")),
                    code("def spin(logits, labels):\n    while True:\n        pass"),
                    code("while True:\n    pass"),
                    code("def late(a, b):\n    return 0.0")]), subs / "b_loops_98_tiny.ipynb")
    start = time.monotonic()
    asg.grade(subs, tmp_path / "grades.csv", chapters, timeout=5, check_timeout=5, quiet=True)
    assert time.monotonic() - start < 180
    rows = read_csv(tmp_path / "grades.csv")
    stuck = {r["exercise"]: r for r in rows if r["file"] == "a_ignores_interrupts_98_tiny.ipynb"}
    assert "time limit of 5 s" in stuck[asg.NOTEBOOK]["message"]
    assert "did not answer an interrupt" in stuck[asg.NOTEBOOK]["message"]
    assert all(r["result"] == "fail" and "not graded" in r["message"] for k, r in stuck.items() if k != asg.NOTEBOOK)
    loops = {r["exercise"]: r for r in rows if r["file"] == "b_loops_98_tiny.ipynb"}
    assert loops[asg.NOTEBOOK]["result"] == "fail" and "time limit of 5 s" in loops[asg.NOTEBOOK]["message"]
    assert "code cell 3" in loops[asg.NOTEBOOK]["message"] and "interrupted" in loops[asg.NOTEBOOK]["message"]
    assert loops["add"]["result"] == "pass", loops["add"]
    assert loops["spin"]["result"] == "fail" and "loop forever" in loops["spin"]["message"]
    assert loops["late"]["result"] == "fail" and "not defined" in loops["late"]["message"]


def test_prepare_checks_the_reference_solutions_and_fills_the_cache(tmp_path, capsys):
    chapters = tmp_path / "chapters"
    write(notebook([
        code("from camlib.exercises import check_iou"),
        code("def add(a, b):\n    return 0.0", ["solution"]), code("check_iou(add)"),
        code(nbformat.read(CHAPTERS / "05_localization.ipynb", as_version=4).cells[KEY["05_localization"][1].cell].source,
             ["solution"]),
        code(f"check_iou({KEY['05_localization'][1].name})"),
        code("import os\nwith open(os.path.join(os.environ['CAMLIB_CACHE'], 'model.pt'), 'w') as f:\n"
             "    f.write('weights')"),
    ]), chapters / "97_prep.ipynb")
    assert not asg.prepare(chapters, cache=tmp_path / "cache", timeout=120)
    out = capsys.readouterr().out
    assert "97_prep: ran in" in out and "1/2 reference solutions pass" in out and "add (check_iou):" in out
    assert (tmp_path / "cache" / "model.pt").read_text() == "weights"


def test_a_submission_is_matched_to_its_chapter():
    key = {"05_localization": KEY["05_localization"], "06_errors": KEY["06_errors"]}
    student, _ = asg.student_notebook(nbformat.read(CHAPTERS / "05_localization.ipynb", as_version=4), "05_localization")
    checks = [c for ex in KEY["05_localization"] for c in ex.checks]
    # by the student edition's metadata, whatever the file is called
    assert asg._match_chapter(Path("x.ipynb"), Path("alice/hw.ipynb"), student, key) == ("05_localization", checks)
    # by the chapter's name in its path
    bare = notebook([code("print(1)")])
    assert asg._match_chapter(Path("x.ipynb"), Path("06_errors/bob.ipynb"), bare, key)[0] == "06_errors"
    # a chapter the answer key lacks: the exercises the student edition recorded
    assert asg._match_chapter(Path("x.ipynb"), Path("hw.ipynb"), student, {}) == ("05_localization", checks)
    # nothing else: the notebook's own check cells
    found = notebook([code("def f(a, b):\n    return 0"), code("from camlib.exercises import check_iou\ncheck_iou(f)")])
    assert asg._match_chapter(Path("hw.ipynb"), Path("hw.ipynb"), found, {}) == ("hw", [asg.Check("f", "check_iou")])


def test_command_line(tmp_path, capsys):
    subs = tmp_path / "subs"
    write(notebook([code("print(1)")]), subs / "unknown.ipynb")
    assert asg.main(["--chapters", str(CHAPTERS), "grade", str(subs), "--out", str(tmp_path / "g.csv")]) == 0
    assert read_csv(tmp_path / "g.csv")[0]["message"].startswith("no exercises to grade")
    assert asg.main(["--chapters", str(CHAPTERS), "list"]) == 0
    out = capsys.readouterr().out
    for chapter, exs in KEY.items():
        for ex in exs:
            assert re.search(rf"{chapter}\s+{ex.number}\s+{ex.name}\s+{ex.checks[0].checker}", out)
    assert asg.main(["--chapters", str(CHAPTERS), "generate", "--out", str(tmp_path / "student")]) == 0
    assert sorted(p.stem for p in (tmp_path / "student").glob("*.ipynb")) == sorted(c for c, e in KEY.items() if e)


# -- the instructor's guide ---------------------------------------------------------------------
def test_guide_exercise_table_is_up_to_date():
    assert asg.update_guide(GUIDE, KEY, check=True), \
        "the chapters' exercises changed: run `python -m camlib.assignments guide` to update book/instructor_guide.md"


def test_guide_covers_every_chapter_and_links_only_existing_pages():
    text = GUIDE.read_text(encoding="utf-8")
    for target in re.findall(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`", text):
        page = (GUIDE.parent / target)
        assert page.with_suffix(".ipynb").exists() or page.with_suffix(".md").exists(), f"{{doc}} to a missing page: {target}"
    goals = text.split("## Learning goals", 1)[1].split("\n## ", 1)[0]
    for chapter in sorted(p.stem for p in CHAPTERS.glob("*.ipynb")):
        assert f"chapters/{chapter}" in goals, f"the guide's learning goals miss {chapter}"
    for notes in asg.NOTES.values():
        assert notes.minutes > 0 and notes.hint and notes.mistakes


def test_guide_shows_a_stub_as_generated():
    text = GUIDE.read_text(encoding="utf-8")
    shown = re.search(r"```python\n(# Exercise .*?)```", text, re.S).group(1)
    name = re.search(r"^def (\w+)\(", shown, re.M).group(1)
    chapter, ex = next((c, e) for c, e in EXERCISES if e.name == name)
    source = nbformat.read(CHAPTERS / f"{chapter}.ipynb", as_version=4).cells[ex.cell].source
    assert asg.stub_source(source, ex)[0] == shown, "update the stub shown in book/instructor_guide.md"
