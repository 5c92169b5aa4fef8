"""The student edition of the chapters: the code exercises found in them, and their solutions removed.

The chapters are the single source. A code exercise is a code cell tagged ``solution``
(the book folds it away with ``hide-input``), followed by a check cell that calls a
:mod:`cambook.exercises` checker on the function the solution defines::

    # %% tags=["solution", "hide-input"]          <- the reference solution
    def mass_box(cam, threshold): ...

    # %%
    from cambook.exercises import check_mass_box   <- the check cell
    check_mass_box(mass_box)

An exercise keeps the number of the chapter's list ("1. **Evidence, not area.** ..."), in
the stub, the grader's CSV and the instructor's guide alike. An open exercise (no checker)
may have a possible answer in a cell tagged ``answer``.

:func:`generate` writes one student notebook per chapter: every solution cell becomes a stub
that keeps the function's signature and docstring and raises ``NotImplementedError`` with a
hint (from the solution cell's ``metadata["hint"]``, else a default for its checker); the
solution's code is not in the file at all. The answer cells are left out. Every other cell
is kept; outputs are cleared.
"""

from __future__ import annotations

import ast
import copy
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from cambook import exercises as checkers

from . import think
from .notes import notes_for

SOLUTION_TAG = "solution"
ANSWER_TAG = "answer"  # a possible answer to an open exercise (no checker): not in the student edition
EXERCISE_TAG = "exercise"  # what a stubbed solution cell is tagged in the student edition
ITEM = re.compile(r"^(\d+)\.\s+\*\*", re.M)  # an exercise of the chapter's list: "5. **Where is the peak?**"
HIDING_TAGS = {"hide-input", "hide-output", "hide-cell", "remove-input", "remove-output", "remove-cell"}
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


# -- finding the exercises in a chapter --------------------------------------------------------
class AssignmentError(ValueError):
    """A chapter's exercise cells are not in the shape the student edition needs."""


@dataclass(frozen=True)
class Check:
    function: str  # the name the check cell passes to its checker
    checker: str  # a cambook.exercises function, e.g. "check_box"


@dataclass(frozen=True)
class Exercise:
    chapter: str  # the notebook's stem, e.g. "05_map_to_box"
    number: int  # the exercise's number in the chapter's list of exercises (code or not)
    cell: int  # index of the solution cell in the chapter
    functions: tuple[str, ...]  # top-level functions (and classes) the solution cell defines
    checks: tuple[Check, ...]  # what the following check cell calls
    hint: str = ""  # from the solution cell's metadata["hint"], if any

    @property
    def name(self) -> str:
        return self.checks[0].function if self.checks else (self.functions[0] if self.functions else "?")


def _parse(source: str, where: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as err:
        raise AssignmentError(
            f"{where}: the cell is not plain Python ({err.msg}, line {err.lineno}); "
            "the student edition parses solution cells to stub them"
        ) from None


def checks_in(source: str) -> list[Check]:
    """The ``check_xxx(name)`` calls of a check cell, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a magic in the check cell: fall back on a pattern
        return [Check(f, c) for c, f in re.findall(r"\b(check_\w+)\(\s*([A-Za-z_]\w*)", source)]
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name.startswith("check_"):
                calls.append((node.lineno, node.col_offset, Check(node.args[0].id, name)))
    return [c for _, _, c in sorted(calls, key=lambda t: t[:2])]


def _defined(tree: ast.Module) -> tuple[str, ...]:
    return tuple(n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))


def find_exercises(nb, chapter: str) -> list[Exercise]:
    """The code exercises of a chapter notebook: each cell tagged ``solution``, with its check cell.

    An exercise keeps the number the chapter gives it: the last item of the chapter's numbered
    list of exercises ("5. **Where is the peak?** ...") above its solution cell.
    """
    exercises = []
    cells = nb.cells
    last_item = 0
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            items = ITEM.findall(cell.source)
            last_item = int(items[-1]) if items else last_item
        if cell.cell_type != "code" or SOLUTION_TAG not in cell.metadata.get("tags", []):
            continue
        where = f"{chapter}, cell {i}"
        functions = _defined(_parse(cell.source, where))
        if not functions:
            raise AssignmentError(f"{where}: a solution cell must define the function(s) the exercise asks for")
        following = next((c for c in cells[i + 1 :] if c.cell_type == "code"), None)
        checks = tuple(checks_in(following.source)) if following is not None else ()
        hint = cell.metadata.get("hint", "")
        hint = hint if isinstance(hint, str) else ""
        number = last_item if last_item and all(ex.number != last_item for ex in exercises) else len(exercises) + 1
        exercises.append(Exercise(chapter, number, i, functions, checks, hint))
    return exercises


def chapter_paths(chapters: Path) -> list[Path]:
    return sorted(p for p in Path(chapters).glob("*.ipynb") if not p.name.startswith("."))


def answer_key(chapters: Path) -> dict[str, list[Exercise]]:
    """``{chapter stem: [Exercise, ...]}`` for every chapter notebook in ``chapters``."""
    return {p.stem: find_exercises(nbformat.read(p, as_version=4), p.stem) for p in chapter_paths(chapters)}


def edition_code(chapters: Path, names: Sequence[str] | None = None) -> dict[str, frozenset[str]]:
    """``{chapter: the stripped sources of its student edition's code cells}``: what a student did not write.

    ``names``: only these chapters (default: every chapter with code exercises)."""
    out = {}
    for path in chapter_paths(chapters):
        if names is not None and path.stem not in names:
            continue
        nb = nbformat.read(path, as_version=4)
        if not find_exercises(nb, path.stem):
            continue
        student, _ = student_notebook(nb, path.stem)
        out[path.stem] = frozenset(c.source.strip() for c in student.cells if c.cell_type == "code")
    return out


def chapter_title(nb, default: str = "") -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return default


# -- the student edition ------------------------------------------------------------------------
def _contract(checker: str, function: str) -> str:
    """The checker's contract for the function, with the student's name."""
    ex = checkers.EXERCISES.get(checker)
    doc = " ".join(ex.contract.split()).replace("``", "`") if ex else ""
    return re.sub(r"`fn\(", f"`{function}(", doc)


def _hint_text(exercise: Exercise) -> str:
    checker = exercise.checks[0].checker if exercise.checks else None
    notes = notes_for(checker)
    hint = exercise.hint or (notes.hint if notes else "")
    base = f"Exercise {exercise.number}: write `{exercise.name}`"
    base += f", then run the check cell below ({checker})." if checker else "."
    return f"{base} Hint: {hint}" if hint else base


def _raise_lines(message: str, indent: str) -> list[str]:
    chunks = textwrap.wrap(message, width=max(40, 88 - len(indent) - 8)) or [message]  # 88 columns
    chunks = [c + " " for c in chunks[:-1]] + chunks[-1:]  # implicit concatenation puts the spaces back
    body = [f"{indent}    {chunk!r}" for chunk in chunks]
    return [f"{indent}raise NotImplementedError("] + body + [f"{indent})"]


def _stub_function(node: ast.FunctionDef | ast.AsyncFunctionDef, message: str, comment: str) -> list[str]:
    """The def line(s) and docstring of ``node``, then a comment and ``raise NotImplementedError(message)``."""
    new = copy.copy(node)
    doc = ast.get_docstring(node, clean=False) is not None
    new.body = ([node.body[0]] if doc else []) + [ast.Pass()]
    lines = ast.unparse(ast.fix_missing_locations(new)).splitlines()
    indent = re.match(r"\s*", lines[-1]).group(0)  # the body's indentation: the line of `pass`
    lines = lines[:-1]
    if comment:
        lines += [f"{indent}# {line}" for line in textwrap.wrap(comment, width=max(40, 86 - len(indent)))]
    return lines + _raise_lines(message, indent)


def _stub_class(node: ast.ClassDef, message: str) -> list[str]:
    new = copy.copy(node)
    doc = ast.get_docstring(node, clean=False) is not None
    new.body = ([node.body[0]] if doc else []) + [ast.Pass()]
    lines = ast.unparse(ast.fix_missing_locations(new)).splitlines()
    indent = re.match(r"\s*", lines[-1]).group(0)
    methods = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not methods:
        return lines
    lines = lines[:-1]
    for m in methods:
        lines += [""] + [indent + line for line in _stub_function(m, message, "")]
    return lines


def stub_source(source: str, exercise: Exercise) -> tuple[str, list[str]]:
    """The student's version of a solution cell, and the top-level statements it had to drop.

    Imports stay; each top-level ``def`` keeps its signature and docstring, its body becomes
    ``raise NotImplementedError(hint)``; classes keep their methods' signatures the same way.
    Any other top-level statement is part of the answer and is dropped (reported).
    """
    tree = _parse(source, f"{exercise.chapter}, cell {exercise.cell}")
    message = _hint_text(exercise)
    checked = {c.function: c.checker for c in exercise.checks}
    out = [
        f"# Exercise {exercise.number}: replace each `raise NotImplementedError(...)` below with your code.",
        "# Keep the function's name and arguments: the check cell and the grader use them.",
    ]
    dropped = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(ast.get_source_segment(source, node) or ast.unparse(node))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            contract = _contract(checked[node.name], node.name) if node.name in checked else ""
            out += [""] + _stub_function(node, message, f"Contract: {contract}" if contract else "")
        elif isinstance(node, ast.ClassDef):
            out += [""] + _stub_class(node, message)
        elif isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant):
            continue  # a bare string: a note for the book
        else:
            dropped.append((ast.get_source_segment(source, node) or ast.unparse(node)).splitlines()[0])
    return "\n".join(out) + "\n", dropped


def _instructions(title: str, exercises: Sequence[Exercise]) -> str:
    items = []
    for ex in exercises:
        checks = ", ".join(f"`{c.checker}`" for c in ex.checks) or "no automatic check"
        minutes = sum(n.minutes for n in (notes_for(c.checker) for c in ex.checks) if n)
        items.append(f"{ex.number}. `{ex.name}` (checked by {checks}" + (f", about {minutes} min)" if minutes else ")"))
    return "\n".join(
        [
            f'**Student edition of "{title}".** The cells that define the functions of the exercises now',
            "hold stubs that raise `NotImplementedError`: find them under *Exercises*, at the end of the notebook,",
            "replace each `raise NotImplementedError(...)` with your code, and run the check cell that follows",
            "it: it tests your function on fresh random inputs and edge cases, and tells you what is wrong if",
            "something is. Keep the functions' names and arguments.",
            "",
            "In Colab, run the first code cell (it installs `camlib`); in Jupyter, `camlib` must be installed",
            "in the kernel. Before you hand the notebook in, run it from top to bottom in a fresh kernel",
            "(*Restart and run all*).",
            "",
            "**Where the grading happens.** Your teacher grades the notebook you hand in on their own machine:",
            "it runs from top to bottom in a sandbox (no network, no files but its own, with time and memory",
            "limits), then the grader calls each of your functions on new inputs that it draws at random for",
            "that grading run, and compares the results with the answers it computes itself. Passing the",
            "check cells here is a good sign, not the grade. Write the functions yourself: calling camlib's",
            "own implementation of the answer is reported to your teacher.",
            "",
            "Code exercises in this notebook:",
            "",
            *items,
        ]
    )


def student_notebook(nb, chapter: str, source: str = "") -> tuple[object, list[str]]:
    """The student edition of one chapter notebook, and warnings (dropped statements)."""
    exercises = {ex.cell: ex for ex in find_exercises(nb, chapter)}
    out = copy.deepcopy(nb)
    warnings = []
    answers = {i for i, c in enumerate(out.cells) if ANSWER_TAG in c.metadata.get("tags", [])}
    for i, cell in enumerate(out.cells):
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if i not in exercises:
            continue
        ex = exercises[i]
        cell.source, dropped = stub_source(cell.source, ex)
        warnings += [
            f"{chapter}, cell {i}: dropped `{d}` from the stub (put it in a cell of its own if later cells need it)"
            for d in dropped
        ]
        tags = [t for t in cell.metadata.get("tags", []) if t != SOLUTION_TAG and t not in HIDING_TAGS]
        cell.metadata["tags"] = tags + [EXERCISE_TAG]
        cell.metadata.pop("hint", None)
        cell.metadata["camlib"] = {
            "exercise": ex.number,
            "functions": list(ex.functions),
            "checks": [[c.function, c.checker] for c in ex.checks],
        }
    out.cells = [c for i, c in enumerate(out.cells) if i not in answers]  # the open exercises' answers
    out.cells = think.with_answer_cells(out.cells)
    title = chapter_title(nb, chapter)
    header = nbformat.v4.new_markdown_cell(_instructions(title, list(exercises.values())))
    header.id = "student-edition"
    header.metadata["tags"] = ["student-edition"]
    first_md = 1 if out.cells and out.cells[0].cell_type == "markdown" else 0  # after the title
    out.cells.insert(first_md, header)
    for key in ("widgets", "jupytext", "execution"):
        out.metadata.pop(key, None)
    out.metadata["kernelspec"] = dict(KERNELSPEC)
    out.metadata.setdefault("language_info", {"name": "python"})
    out.metadata["camlib"] = {
        "student_edition": True,
        "chapter": chapter,
        "title": title,
        "source": source,
        "exercises": [
            {
                "number": ex.number,
                "functions": list(ex.functions),
                "checks": [[c.function, c.checker] for c in ex.checks],
            }
            for ex in exercises.values()
        ],
    }
    out.nbformat, out.nbformat_minor = 4, max(5, out.get("nbformat_minor", 5))
    nbformat.validate(out)
    return out, warnings


def generate(chapters: Path, out_dir: Path, quiet: bool = False) -> list[Path]:
    """Write the student edition of every chapter of ``chapters`` that has code exercises into ``out_dir``."""
    chapters, out_dir = Path(chapters), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in chapter_paths(chapters):
        nb = nbformat.read(path, as_version=4)
        if not find_exercises(nb, path.stem):
            continue
        try:
            source = str(path.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            source = path.name
        student, warnings = student_notebook(nb, path.stem, source)
        target = out_dir / path.name
        nbformat.write(student, target)
        written.append(target)
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)
        if not quiet:
            n = len(student.metadata["camlib"]["exercises"])
            print(f"{target}  ({n} exercise{'s' * (n != 1)})")
    for stale in out_dir.glob("*.ipynb"):  # a student edition of a chapter that no longer exists
        if stale not in written:
            try:
                if nbformat.read(stale, as_version=4).metadata.get("camlib", {}).get("student_edition"):
                    stale.unlink()
            except Exception:  # not ours, or not a notebook: leave it
                pass
    return written
