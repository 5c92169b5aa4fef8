"""Grading a folder of submitted notebooks: each one in its sandbox, every verdict in the grader.

For each notebook, :func:`grade_notebook`

1. runs its code cells from top to bottom in a fresh sandboxed kernel (:mod:`classroom.kernel`),
   with a time limit for the whole notebook;
2. for each exercise, draws the checker's cases *here*, from a secret seed fresh for this
   grading run, sends them into the kernel as plain data (:mod:`classroom.wire`), has the
   student's function called on them there (:mod:`classroom.harness`), and reads back what it
   returned, as data;
3. judges those values here, in the grader's process, with :func:`cambook.exercises.judge`:
   no verdict is ever computed, printed or stored in the student's kernel, so nothing the
   notebook patches there (torch, builtins, stdout, json, IPython's events, frames, files) can
   change it;
4. ends the kernel and every process the notebook started before its rows are written, and
   adds advisory notes from reading the source (:mod:`classroom.static`).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import queue
import secrets
import shutil
import sys
import tempfile
import threading
import time
import traceback
import zlib
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat
import numpy as np

from cambook import exercises as checkers

from . import harness, matching, naming, sandbox, static, think, wire
from .edition import Check, Exercise
from .kernel import Cell, Session, book_packages
from .points import Points
from .safe import cell as csv_cell
from .safe import field as one_line

NOTEBOOK = "(notebook)"  # the exercise column of the row that reports how the notebook ran
THINK = "think"  # the checker column of a Think answer's row (result "manual": the teacher marks it)
WARM_UP_TIMEOUT = 120  # seconds to import torch and the checkers in the kernel, before the first check
MAX_NOTEBOOK_BYTES = 50 * 2**20
_HARNESS = Path(wire.__file__).read_text(encoding="utf-8") + "\n" + Path(harness.__file__).read_text(encoding="utf-8")


@dataclass
class Row:
    """One line of the grades CSV: how a notebook ran (``exercise`` is :data:`NOTEBOOK`), or one check.

    ``message`` is for the student (it goes into their feedback file); ``teacher_notes`` is for the
    teacher alone (reference use, tampering, metadata problems, processes left running)."""

    file: str
    chapter: str
    exercise: str
    checker: str
    result: str  # "pass" or "fail"
    message: str
    number: str = ""  # the exercise's number in its chapter ("" for the notebook's own row)
    student: str = ""
    points: float = 0.0
    max_points: float = 0.0
    cases_passed: int = 0
    cases: int = 0
    teacher_notes: str = ""

    FIELDS = (
        "student",
        "file",
        "chapter",
        "number",
        "exercise",
        "checker",
        "result",
        "points",
        "max_points",
        "cases_passed",
        "cases",
        "message",
        "teacher_notes",
    )


@dataclass(frozen=True)
class Settings:
    """How to grade: time limits (seconds), the sandbox's limits, the model cache, and whether to
    run without a sandbox at all (``unsafe``)."""

    timeout: float = 300
    check_timeout: float = 60
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    cache: Path | None = None
    unsafe: bool = False
    scratch: Path | None = None  # where the notebooks' temporary folders go (default: the system's)
    jobs: int = 1  # notebooks graded at the same time, each in its own sandbox
    chapter: str | None = None  # --chapter: grade every notebook as this chapter
    points: Points = field(default_factory=Points)
    editions: Mapping[str, frozenset[str]] = field(default_factory=dict)  # chapter -> the edition's code cells


def _first_line(source: str, width: int = 50) -> str:
    line = next((ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")), "")
    return line if len(line) <= width else line[: width - 3] + "..."


# -- one exercise: cases out, data back, verdict here ------------------------------------------------
def draw_cases(checker: str, seed: int) -> list[checkers.Case]:
    """The cases of ``checker`` for this grading run (the same for every notebook of the run)."""
    return checkers.exercise(checker).cases(np.random.default_rng([seed, zlib.crc32(checker.encode())]))


def request_cell(function: str, cases: Sequence[checkers.Case], nonce: str) -> str:
    """The source of the cell that calls ``function`` on ``cases`` in the student's kernel."""
    request = json.dumps(
        {"function": function, "nonce": nonce, "cases": [[wire.encode(a) for a in case.args] for case in cases]}
    )
    return (
        "__import__('builtins').exec("
        + repr(_HARNESS + "\nanswer(_classroom_ns, _classroom_request)\n")
        + ", {'__name__': 'classroom_harness', '_classroom_ns': globals(), "
        + f"'_classroom_request': {request!r}}})\n"
    )


def _observed(raw: Any) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise wire.WireError("observations must be a mapping")
    out = {}
    for key in ("hooks", "grads"):
        value = raw.get(key, 0)
        if type(value) is not int or not 0 <= value < 10**6:
            raise wire.WireError(f"observation {key!r} must be a small int")
        out[key] = value
    return out


def read_answer(cell: Cell, nonce: str, n_cases: int, function: str) -> list | str:
    """The outcomes the kernel reported, or why there are none (a message for the student)."""
    mine = [a for a in cell.answers() if isinstance(a, dict) and a.get("nonce") == nonce]
    if len(mine) != 1:
        err = cell.error()
        why = (
            f"{err.ename}: {err.evalue}"
            if err is not None
            else ("no answer came back" if not mine else "more than one answer came back")
        )
        return f"the grader could not call `{function}` in your notebook's kernel ({one_line(why, 200)})."
    reply = mine[0]
    if reply.get("missing"):
        return (
            f"`{function}` is not defined after the notebook ran: keep the name the exercise gives it, "
            "and make sure its cell runs without an error."
        )
    if "not_callable" in reply:
        return f"`{function}` is a {one_line(str(reply['not_callable']), 60)}, not a function."
    results = reply.get("results")
    if not isinstance(results, list) or len(results) != n_cases:
        return "the kernel's answer did not have one result per case."
    outcomes = []
    try:
        for r in results:
            if not isinstance(r, dict):
                raise wire.WireError("a result must be a mapping")
            observed = _observed(r.get("observed", {}))
            if "returned" in r:
                outcomes.append(checkers.Returned(wire.decode(r["returned"]), observed))
            else:
                kind, message, line = (r.get(k) for k in ("raised", "message", "line"))
                if not all(isinstance(v, str) and len(v) <= 400 for v in (kind, message, line)):
                    raise wire.WireError("an error must be reported as short text")
                outcomes.append(checkers.Raised(kind, message, line, observed))
    except (wire.WireError, ValueError, TypeError, OverflowError) as err:
        return f"the kernel's answer was not plain data of the expected form ({one_line(str(err), 200)})."
    return outcomes


# -- one notebook ------------------------------------------------------------------------------------
@dataclass
class NotebookRun:
    """How a notebook ran, and each check's (ok, message, cases passed, cases)."""

    seconds: float = 0.0
    status: str = "ok"  # ok | errors | timeout | stuck | died | no-kernel
    detail: str = ""
    verdicts: dict[tuple[str, str], tuple[bool, str, int, int]] = field(default_factory=dict)
    stragglers: dict[int, str] = field(default_factory=dict)
    leftover: bool = False
    boundary: list[str] = field(default_factory=list)  # what the kernel sent that the grader refused


def run_notebook(
    nb: Any, root: Path, checks: Sequence[Check], settings: Settings, seed: int, slot: int = 0
) -> NotebookRun:
    """Run ``nb`` in a sandbox under ``root`` (the ``slot``-th of the concurrent ones), then grade each check;
    the kernel is gone on return."""
    run = NotebookRun()
    box = None if settings.unsafe else sandbox.Sandbox(root, settings.limits, book_packages(), slot=slot)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    start = time.monotonic()
    errors: list[str] = []
    session: Session | None = None
    try:
        session = _started(root, box, settings)
        try:
            responsive = _run_cells(session, code, settings.timeout, run, errors)
            run.seconds = time.monotonic() - start
            if responsive and checks:
                warm = session.run("import numpy, torch, cambook.exercises", WARM_UP_TIMEOUT)
                if warm.outcome in ("stuck", "died"):
                    responsive = False
                    run.status, run.detail = (
                        warm.outcome,
                        run.detail or "the kernel stopped answering before the checks",
                    )
            for check in checks:
                key = (check.function, check.checker)
                if not responsive:
                    run.verdicts[key] = (
                        False,
                        "not graded: " + (run.detail or "the kernel stopped answering") + ".",
                        0,
                        0,
                    )
                    continue
                ok, message, outcome, passed, total = _grade_one(session, check, settings.check_timeout, seed)
                run.verdicts[key] = (ok, message, passed, total)
                if outcome in ("stuck", "died"):
                    responsive = False
                    if run.status in ("ok", "errors"):
                        run.status = outcome
                        run.detail = f"the kernel stopped answering while checking `{check.function}`"
        finally:
            session.__exit__(None, None, None)
    except sandbox.SandboxUnavailable:
        raise
    except Exception as err:  # no kernel at all (start-up failure)
        if run.status == "ok":
            run.status, run.detail = "no-kernel", one_line(f"could not run the notebook: {type(err).__name__}: {err}")
    if session is not None:
        run.stragglers, run.leftover, run.boundary = session.stragglers, session.leftover, session.refused
    run.seconds = run.seconds or time.monotonic() - start
    for check in checks:
        run.verdicts.setdefault(
            (check.function, check.checker), (False, "not graded: " + (run.detail or "no kernel") + ".", 0, 0)
        )
    if run.status == "ok" and errors:
        run.status = "errors"
    if errors:
        more = f" (and {len(errors) - 4} more)" if len(errors) > 4 else ""
        run.detail = (
            (run.detail + "; " if run.detail else "")
            + f"{len(errors)} cell(s) raised an error: "
            + "; ".join(errors[:4])
            + more
        )
    return run


def _started(root: Path, box: sandbox.Sandbox | None, settings: Settings) -> Session:
    """A :class:`Session` whose kernel is up (entered; the caller exits it): a kernel that dies before it
    answers once (a busy machine) is started once more; the second failure is the notebook's."""
    session = Session(root, box, settings.cache)
    try:
        return session.__enter__()
    except Exception:
        session.__exit__(None, None, None)
    return Session(root, box, settings.cache).__enter__()


def _run_cells(session: Session, code: list, timeout: float, run: NotebookRun, errors: list[str]) -> bool:
    """Run the notebook's cells within ``timeout`` in all; False if the kernel no longer answers."""
    deadline = time.monotonic() + timeout
    for k, cell in enumerate(code, 1):
        where = f"code cell {k} (`{_first_line(cell.source)}`)"
        left = deadline - time.monotonic()
        ran = session.run(cell.source, left) if left > 0 else Cell("timeout")
        if ran.outcome == "error":
            err = ran.error()
            errors.append(f"{where}: {err.ename}: {one_line(err.evalue, 120)}")
        elif ran.outcome in ("timeout", "stuck"):
            run.status = ran.outcome
            run.detail = f"ran past the time limit of {timeout:g} s in {where}" + (
                "; it was interrupted, and the exercises defined before it are graded"
                if ran.outcome == "timeout"
                else "; the kernel did not answer an interrupt"
            )
            return ran.outcome == "timeout"
        elif ran.outcome == "died":
            run.status, run.detail = "died", f"the kernel died in {where}"
            return False
    return True


def _grade_one(session: Session, check: Check, limit: float, seed: int) -> tuple[bool, str, str, int, int]:
    """Call the student's function on this run's cases in the kernel; judge here.

    Returns (ok, message for the student, how the cell ran, cases passed, cases)."""
    cases = draw_cases(check.checker, seed)
    nonce = secrets.token_hex(8)
    ran = session.run(request_cell(check.function, cases, nonce), limit, nonce=nonce)
    n = len(cases)
    if ran.outcome in ("timeout", "stuck"):
        return (
            False,
            f"the check ran past its time limit of {limit:g} s: does your function loop forever?",
            ran.outcome,
            0,
            n,
        )
    if ran.outcome == "died":
        return (
            False,
            "the kernel died during the check (out of memory, or a call that ends the process?).",
            "died",
            0,
            n,
        )
    outcomes = read_answer(ran, nonce, n, check.function)
    if isinstance(outcomes, str):
        return False, outcomes, ran.outcome, 0, n
    try:
        verdict = checkers.judge(check.checker, cases, outcomes)
        passed = (
            n
            if verdict.passed
            else sum(checkers.judge(check.checker, [c], [o]).passed for c, o in zip(cases, outcomes))
        )
    except Exception as err:  # data that the judge cannot compare: say so, never crash the run
        return (
            False,
            one_line(f"the grader could not judge the result: {type(err).__name__}: {err}"),
            ran.outcome,
            0,
            n,
        )
    message = verdict.message if verdict.passed else f"{verdict.message} ({passed} of {n} cases passed.)"
    return verdict.passed, one_line(message), ran.outcome, passed, n


MAX_STATIC_CHARS = 200_000  # characters of the student's own code that the static notes read, at most


def student_code(nb: Any, edition: frozenset[str] | None) -> list[str]:
    """The code cells the student wrote: those whose source is not one of the student edition's code cells
    (``edition``; None when the chapter has no edition here, then every code cell)."""
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    if edition is None:
        return sources
    return [s for s in sources if s.strip() and s.strip() not in edition]


def static_notes(code: list[str], checks: Sequence[Check]) -> tuple[list[str], dict[str, str]]:
    """(notes on the whole notebook, {checker: note}) from reading ``code`` (the student's own cells); advisory.

    Never raises: code too large to read, or too deeply nested, gives a note saying so."""
    size = sum(len(s) for s in code)
    if size > MAX_STATIC_CHARS:
        return [
            f"its own code is {size:,} characters long, more than the static notes read "
            f"({MAX_STATIC_CHARS:,}): look at it by hand"
        ], {}
    try:
        trees = static.code_of(code)
        reaching = static.tampering(trees)
        per_check = {}
        for c in checks:
            uses = static.reference_uses(trees, c.checker)
            if uses:
                per_check[c.checker] = (
                    "the student's code uses "
                    + ", ".join(uses)
                    + " (camlib's own answer to this exercise, or the checkers' internals)"
                )
    except (RecursionError, MemoryError, ValueError) as err:
        return [f"its code could not be read for the static notes ({type(err).__name__}): look at it by hand"], {}
    notes = ["its code " + "; ".join(reaching) + " (no effect on the verdicts)"] if reaching else []
    return notes, per_check


def _error_rows(
    name: str,
    student: str,
    chapter: str,
    checks: Sequence[Check],
    message: str,
    notes: str,
    numbers: Mapping[Check, str],
    settings: Settings,
) -> list[Row]:
    """A failing notebook row with ``message``, and a failing row (no points) for each expected check."""
    rows = [
        Row(
            name,
            chapter,
            NOTEBOOK,
            "",
            "fail",
            one_line(message, 600),
            student=student,
            teacher_notes=one_line(notes, 600),
        )
    ]
    for c in checks:
        rows.append(
            Row(
                name,
                chapter,
                c.function,
                c.checker,
                "fail",
                "not graded: " + one_line(message, 300),
                numbers.get(c, ""),
                student,
                0.0,
                settings.points.of(chapter, c.checker),
            )
        )
    return rows


def grade_notebook(
    path: Path, rel: PurePosixPath, key: Mapping[str, Sequence[Exercise]], settings: Settings, seed: int, slot: int = 0
) -> list[Row]:
    """Grade one submitted notebook: a row for how it ran, and one per expected check.

    Never raises but for :class:`classroom.sandbox.SandboxUnavailable`: whatever goes wrong in this
    notebook (an unreadable file, odd metadata, a grader error) becomes its own failing rows."""
    rel = PurePosixPath(rel)
    name, student = rel.as_posix(), naming.student_of(rel, key)
    found: matching.Match | None = None
    numbers: dict[Check, str] = {}
    try:
        try:
            if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                raise ValueError(f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB")
            nb = nbformat.read(path, as_version=4)
            nbformat.validate(nb)
        except nbformat.ValidationError as err:
            return _error_rows(
                name,
                student,
                "",
                [],
                "not a valid notebook (nbformat): "
                + one_line(err.message, 200)
                + ". Save it again from Jupyter or Colab.",
                "",
                {},
                settings,
            )
        except Exception as err:
            return _error_rows(
                name, student, "", [], f"not a readable notebook: {type(err).__name__}: {err}", "", {}, settings
            )
        found = matching.match(rel, nb, key, settings.chapter)
        numbers = {c: str(ex.number) for ex in key.get(found.chapter, []) for c in ex.checks}
        if found.error:
            return _error_rows(name, student, found.chapter, [], found.error, "; ".join(found.notes), {}, settings)
        return _grade_matched(path, name, student, nb, found, numbers, settings, seed, slot)
    except sandbox.SandboxUnavailable:
        raise
    except BaseException as err:  # noqa: BLE001 - one notebook never stops the run
        if isinstance(err, (KeyboardInterrupt, SystemExit)):
            raise
        where = traceback.extract_tb(err.__traceback__)[-1:]
        at = f" at {where[0].name}:{where[0].lineno}" if where else ""
        return _error_rows(
            name,
            student,
            found.chapter if found else "",
            found.checks if found else [],
            "the grader could not grade this notebook; your teacher will look at it",
            f"grader error {type(err).__name__}: {one_line(str(err), 200)}{at}",
            numbers,
            settings,
        )


def _grade_matched(
    path: Path,
    name: str,
    student: str,
    nb: Any,
    found: matching.Match,
    numbers: Mapping[Check, str],
    settings: Settings,
    seed: int,
    slot: int,
) -> list[Row]:
    chapter, checks = found.chapter, found.checks
    root = Path(tempfile.mkdtemp(prefix="classroom-", dir=settings.scratch))
    try:
        (root / "home" / "work").mkdir(parents=True)
        shutil.copyfile(path, root / "home" / "work" / "notebook.ipynb")
        run = run_notebook(nb, root, checks, settings, seed, slot)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ok = run.status == "ok" and not run.stragglers
    if run.status == "ok":
        message = f"ran to the end in {run.seconds:.1f} s."
    else:
        message = run.detail if run.detail.endswith((".", "...")) else run.detail + "."
    teacher = list(found.notes)
    if run.stragglers:
        listed = ", ".join(f"`{one_line(c, 60)}`" for c in list(run.stragglers.values())[:3])
        message += f" It left {len(run.stragglers)} process(es) running: they were stopped."
        teacher.append(
            f"it left {len(run.stragglers)} process(es) running ({listed}): killed with its sandbox "
            "before the grades were written"
        )
    if run.leftover:
        teacher.append("some of its processes could not be killed: look at this machine")
    teacher += run.boundary
    own = student_code(nb, settings.editions.get(chapter))
    notebook_notes, per_check = static_notes(own, checks)
    teacher += notebook_notes
    rows = [
        Row(
            name,
            chapter,
            NOTEBOOK,
            "",
            "pass" if ok else "fail",
            one_line(message, 1200),
            student=student,
            teacher_notes=one_line("; ".join(teacher), 1000),
        )
    ]
    for c in checks:
        passed, verdict, n_ok, n = run.verdicts[(c.function, c.checker)]
        note = per_check.get(c.checker, "")
        rows.append(
            Row(
                name,
                chapter,
                c.function,
                c.checker,
                "pass" if passed else "fail",
                one_line(verdict, 600),
                numbers.get(c, ""),
                student,
                settings.points.earned(chapter, c.checker, n_ok, n, passed),
                settings.points.of(chapter, c.checker),
                n_ok,
                n,
                one_line(note + ("; static notes are advisory: look at the code by hand" if note else ""), 600),
            )
        )
    for number, text in think.answers(nb):
        rows.append(
            Row(
                name,
                chapter,
                f"Think {number}",
                THINK,
                "manual",
                one_line(text, 4000) or "(no answer)",
                str(number),
                student,
            )
        )
    return rows


# -- a folder -----------------------------------------------------------------------------------------
def submissions_in(folder: Path) -> list[Path]:
    """The notebooks under ``folder`` (or ``folder`` itself if it is one), hidden folders and symlinks left out."""
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    return sorted(
        p
        for p in folder.rglob("*.ipynb")
        if not any(part.startswith(".") for part in p.relative_to(folder).parts) and not p.is_symlink()
    )


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """``rows`` under ``header`` as aligned plain-text columns; every field made one safe line."""
    rows = [[one_line(x, 200) for x in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda r: "  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def summary(rows: Sequence[Row], settings: Settings) -> str:
    """How the run was made (sandboxed or not), then per notebook and per exercise."""
    if settings.unsafe:
        how = (
            "UNSAFE: this run was NOT sandboxed (--unsafe). The notebooks ran with the grader's own rights; "
            "the verdicts were still computed outside them."
        )
    else:
        how = f"Sandboxed: each notebook ran in its own bubblewrap sandbox (no network; {settings.limits.describe()})."
        missing = sandbox.missing_protections()
        if missing:
            how += " Not available on this machine: " + "; ".join(missing) + "."
    files = list(dict.fromkeys(r.file for r in rows))
    per_file = []
    for f in files:
        mine = [r for r in rows if r.file == f]
        ex = [r for r in mine if r.exercise != NOTEBOOK and r.checker != THINK]
        head = next((r for r in mine if r.exercise == NOTEBOOK), None)
        ran = "ok" if head and head.result == "pass" else one_line(head.message if head else "", 70)
        per_file.append(
            [
                f,
                mine[0].student,
                mine[0].chapter,
                f"{sum(r.result == 'pass' for r in ex)}/{len(ex)}",
                f"{sum(r.points for r in ex):g}/{sum(r.max_points for r in ex):g}",
                ran,
            ]
        )
    exercises = list(
        dict.fromkeys((r.chapter, r.exercise, r.checker) for r in rows if r.exercise != NOTEBOOK and r.checker != THINK)
    )
    per_ex = [
        [
            c,
            e,
            k,
            f"{sum(r.result == 'pass' for r in rows if (r.chapter, r.exercise, r.checker) == (c, e, k))}/"
            f"{sum((r.chapter, r.exercise, r.checker) == (c, e, k) for r in rows)}",
        ]
        for c, e, k in exercises
    ]
    total = [r for r in rows if r.exercise != NOTEBOOK and r.checker != THINK]
    clean = sum(r.result == "pass" for r in rows if r.exercise == NOTEBOOK)
    return (
        "\n\n".join(
            [
                how,
                f"{len(files)} notebook(s), {clean} ran without a problem; "
                f"{sum(r.result == 'pass' for r in total)}/{len(total)} exercise checks passed.",
                table(["file", "student", "chapter", "passed", "points", "notebook"], per_file),
                table(["chapter", "exercise", "checker", "passed"], per_ex) if per_ex else "",
            ]
        ).rstrip()
        + "\n"
    )


class CsvRows:
    """The grades CSV, written a notebook at a time (each notebook's rows as soon as it is graded)."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.out.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(Row.FIELDS)
        self._file.flush()

    def add(self, rows: Sequence[Row]) -> None:
        """Append ``rows``, every cell made safe (:func:`classroom.safe.cell`), and flush."""
        for r in rows:
            self._writer.writerow([csv_cell(getattr(r, k)) for k in Row.FIELDS])
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def write_csv(rows: Sequence[Row], out: Path) -> None:
    """Write ``rows`` to the CSV ``out`` at once."""
    writer = CsvRows(out)
    writer.add(rows)
    writer.close()


def summary_path(out: Path) -> Path:
    """Where the summary of the CSV ``out`` goes: ``grades.csv`` -> ``grades-summary.txt``."""
    out = Path(out)
    return out.with_name(out.stem + "-summary.txt")


def shared_cache(cache: str | os.PathLike | None = None) -> Path:
    """The trained-model cache the grader copies into each notebook's home (never shared itself)."""
    return Path(cache or os.environ.get("CAMLIB_CACHE") or Path.home() / ".cache" / "camlib").expanduser()


def default_jobs() -> int:
    """Notebooks to grade at once by default: the cores this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def grade(
    submissions: Path, out: Path, key: Mapping[str, Sequence[Exercise]], settings: Settings, quiet: bool = False
) -> list[Row]:
    """Grade every notebook under ``submissions``, ``settings.jobs`` at a time; write ``out`` (CSV, a notebook's
    rows as soon as it is graded), its summary, and the per-student results (:mod:`classroom.results`).

    Refuses (:class:`classroom.sandbox.SandboxUnavailable`) when no sandbox can be made, unless
    ``settings.unsafe``. Returns the rows, sorted by file.
    """
    from . import results

    if not settings.unsafe:
        sandbox.check_available()
    if settings.jobs > 1 and not settings.limits.threads:  # N kernels at once share the cores: no oversubscription
        settings = dataclasses.replace(
            settings, limits=dataclasses.replace(settings.limits, threads=max(1, default_jobs() // settings.jobs))
        )
    submissions = Path(submissions)
    seed = secrets.randbits(128)  # this run's cases: drawn here, never written anywhere
    paths = submissions_in(submissions)
    rels = {p: PurePosixPath(p.relative_to(submissions).as_posix() if submissions.is_dir() else p.name) for p in paths}
    writer = CsvRows(out)
    rows: list[Row] = []
    slots: queue.SimpleQueue[int] = queue.SimpleQueue()
    for s in range(max(1, settings.jobs)):
        slots.put(s)
    lock = threading.Lock()

    def one(path: Path) -> tuple[list[Row], float]:
        slot = slots.get()
        start = time.monotonic()
        try:
            return grade_notebook(path, rels[path], key, settings, seed, slot), time.monotonic() - start
        finally:
            slots.put(slot)

    def done(n: int, path: Path, mine: list[Row], seconds: float) -> None:
        with lock:
            rows.extend(mine)
            writer.add(mine)
        if not quiet:
            ex = [r for r in mine if r.exercise != NOTEBOOK and r.checker != THINK]
            state = "ran" if mine[0].result == "pass" else "problem: " + one_line(mine[0].message, 80)
            print(
                one_line(
                    f"[{n}/{len(paths)}] {rels[path].as_posix()}: {sum(r.result == 'pass' for r in ex)}/"
                    f"{len(ex)} passed, {state} ({seconds:.0f} s)",
                    400,
                ),
                flush=True,
            )

    try:
        with ThreadPoolExecutor(max_workers=max(1, settings.jobs), thread_name_prefix="classroom") as pool:
            pending: dict[Future, Path] = {pool.submit(one, p): p for p in paths}
            finished = 0
            while pending:
                ready, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in ready:
                    path = pending.pop(fut)
                    finished += 1
                    mine, seconds = fut.result()  # SandboxUnavailable propagates
                    done(finished, path, mine, seconds)
    finally:
        writer.close()
    rows.sort(key=lambda r: (r.file, r.exercise != NOTEBOOK))
    write_csv(rows, out)  # the same rows, in file order
    text = summary(rows, settings) if rows else f"no notebooks found under {submissions}\n"
    summary_path(out).write_text(text, encoding="utf-8")
    written = results.write_all(rows, Path(out).parent, Path(out).stem)
    if not quiet:
        print()
        print(text, end="")
        print(f"\nwrote {out}, {summary_path(out)}, " + ", ".join(str(p) for p in written), file=sys.stderr)
    return rows
