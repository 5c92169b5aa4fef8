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
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import nbformat
import numpy as np

from cambook import exercises as checkers

from . import harness, sandbox, static, wire
from .edition import Check, Exercise, checks_in
from .kernel import Cell, Session, book_packages

NOTEBOOK = "(notebook)"  # the exercise column of the row that reports how the notebook ran
WARM_UP_TIMEOUT = 120  # seconds to import torch and the checkers in the kernel, before the first check
MAX_NOTEBOOK_BYTES = 50 * 2**20
_HARNESS = Path(wire.__file__).read_text(encoding="utf-8") + "\n" + Path(harness.__file__).read_text(encoding="utf-8")


@dataclass
class Row:
    file: str
    chapter: str
    exercise: str
    checker: str
    result: str  # "pass" or "fail"
    message: str
    number: str = ""  # the exercise's number in its chapter ("" for the notebook's own row)

    FIELDS = ("file", "chapter", "number", "exercise", "checker", "result", "message")


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


def one_line(text: str, width: int = 300) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", " ".join(str(text).split()))
    return text if len(text) <= width else text[: width - 3] + "..."


def _first_line(source: str, width: int = 50) -> str:
    line = next((ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")), "")
    return line if len(line) <= width else line[: width - 3] + "..."


# -- one exercise: cases out, data back, verdict here ------------------------------------------------
def draw_cases(checker: str, seed: int) -> list[checkers.Case]:
    """The cases of ``checker`` for this grading run (the same for every notebook of the run)."""
    return checkers.exercise(checker).cases(np.random.default_rng([seed, zlib.crc32(checker.encode())]))


def request_cell(function: str, cases: Sequence[checkers.Case], nonce: str) -> str:
    """The source of the cell that calls ``function`` on ``cases`` in the student's kernel."""
    request = json.dumps({"function": function, "nonce": nonce,
                          "cases": [[wire.encode(a) for a in case.args] for case in cases]})
    return ("__import__('builtins').exec(" + repr(_HARNESS + "\nanswer(_classroom_ns, _classroom_request)\n")
            + ", {'__name__': 'classroom_harness', '_classroom_ns': globals(), "
            + f"'_classroom_request': {request!r}}})\n")


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
        why = f"{err.ename}: {err.evalue}" if err is not None else (
            "no answer came back" if not mine else "more than one answer came back")
        return f"the grader could not call `{function}` in your notebook's kernel ({one_line(why, 200)})."
    reply = mine[0]
    if reply.get("missing"):
        return (f"`{function}` is not defined after the notebook ran: keep the name the exercise gives it, "
                "and make sure its cell runs without an error.")
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
    except wire.WireError as err:
        return f"the kernel's answer was not plain data of the expected form ({err})."
    return outcomes


# -- one notebook ------------------------------------------------------------------------------------
@dataclass
class NotebookRun:
    """How a notebook ran, and each check's (ok, message)."""
    seconds: float = 0.0
    status: str = "ok"  # ok | errors | timeout | stuck | died | no-kernel
    detail: str = ""
    verdicts: dict[tuple[str, str], tuple[bool, str]] = field(default_factory=dict)
    stragglers: dict[int, str] = field(default_factory=dict)
    leftover: bool = False


def run_notebook(nb: Any, root: Path, checks: Sequence[Check], settings: Settings, seed: int) -> NotebookRun:
    """Run ``nb`` in a sandbox under ``root``, then grade each check; the kernel is gone on return."""
    run = NotebookRun()
    box = None if settings.unsafe else sandbox.Sandbox(root, settings.limits, book_packages())
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    start = time.monotonic()
    errors: list[str] = []
    try:
        with Session(root, box, settings.cache) as session:
            responsive = _run_cells(session, code, settings.timeout, run, errors)
            run.seconds = time.monotonic() - start
            if responsive and checks:
                warm = session.run("import numpy, torch, cambook.exercises", WARM_UP_TIMEOUT)
                if warm.outcome in ("stuck", "died"):
                    responsive = False
                    run.status, run.detail = (warm.outcome,
                                              run.detail or "the kernel stopped answering before the checks")
            for check in checks:
                key = (check.function, check.checker)
                if not responsive:
                    run.verdicts[key] = (False, "not graded: " + (run.detail or "the kernel stopped answering") + ".")
                    continue
                ok, message, outcome = _grade_one(session, check, settings.check_timeout, seed)
                run.verdicts[key] = (ok, message)
                if outcome in ("stuck", "died"):
                    responsive = False
                    if run.status in ("ok", "errors"):
                        run.status = outcome
                        run.detail = f"the kernel stopped answering while checking `{check.function}`"
        run.stragglers, run.leftover = session.stragglers, session.leftover
    except sandbox.SandboxUnavailable:
        raise
    except Exception as err:  # no kernel at all (start-up failure)
        if run.status == "ok":
            run.status, run.detail = "no-kernel", one_line(f"could not run the notebook: {type(err).__name__}: {err}")
    run.seconds = run.seconds or time.monotonic() - start
    for check in checks:
        run.verdicts.setdefault((check.function, check.checker),
                                (False, "not graded: " + (run.detail or "no kernel") + "."))
    if run.status == "ok" and errors:
        run.status = "errors"
    if errors:
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        run.detail = (run.detail + "; " if run.detail else "") + f"{len(errors)} cell(s) raised an error: " + \
            "; ".join(errors[:3]) + more
    return run


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
            run.detail = (f"ran past the time limit of {timeout:g} s in {where}"
                          + ("; it was interrupted, and the exercises defined before it are graded"
                             if ran.outcome == "timeout" else "; the kernel did not answer an interrupt"))
            return ran.outcome == "timeout"
        elif ran.outcome == "died":
            run.status, run.detail = "died", f"the kernel died in {where}"
            return False
    return True


def _grade_one(session: Session, check: Check, limit: float, seed: int) -> tuple[bool, str, str]:
    """Call the student's function on this run's cases in the kernel; judge here. (ok, message, outcome)."""
    cases = draw_cases(check.checker, seed)
    nonce = secrets.token_hex(8)
    ran = session.run(request_cell(check.function, cases, nonce), limit)
    if ran.outcome in ("timeout", "stuck"):
        return False, f"the check ran past its time limit of {limit:g} s: does your function loop forever?", ran.outcome
    if ran.outcome == "died":
        return False, "the kernel died during the check (out of memory, or a call that ends the process?).", "died"
    outcomes = read_answer(ran, nonce, len(cases), check.function)
    if isinstance(outcomes, str):
        return False, outcomes, ran.outcome
    try:
        verdict = checkers.judge(check.checker, cases, outcomes)
    except Exception as err:  # data that the judge cannot compare: say so, never crash the run
        return False, one_line(f"the grader could not judge the result: {type(err).__name__}: {err}"), ran.outcome
    return verdict.passed, one_line(verdict.message), ran.outcome


def match_chapter(path: Path, rel: Path, nb: Any, key: dict[str, list[Exercise]]) -> tuple[str, list[Check]]:
    """Which chapter a submission is, and what to check: the answer key of that chapter if it is
    known (by the notebook's metadata, else by a chapter name in its path); else the exercises
    recorded in the student edition's metadata; else the check cells found in the notebook."""
    meta = nb.metadata.get("camlib", {}) if isinstance(nb.metadata.get("camlib"), dict) else {}
    chapter = meta.get("chapter") if isinstance(meta.get("chapter"), str) else ""
    if chapter not in key:
        named = [c for c in key if c in rel.as_posix()]
        chapter = max(named, key=len) if named else chapter
    if chapter in key:
        return chapter, [c for ex in key[chapter] for c in ex.checks]
    recorded = [Check(f, c) for ex in meta.get("exercises", []) if isinstance(ex, dict)
                for f, c in ex.get("checks", []) if isinstance(f, str) and isinstance(c, str)]
    found = recorded or [c for cell in nb.cells if cell.cell_type == "code" for c in checks_in(cell.source)]
    known = [c for c in dict.fromkeys(found) if c.checker in checkers.EXERCISES]
    return chapter or path.stem, known


def _notes(nb: Any, check: Check) -> str:
    trees = static.code_of(c.source for c in nb.cells if c.cell_type == "code")
    uses = static.reference_uses(trees, check.checker)
    return (" Note: the notebook's code uses " + ", ".join(uses) +
            " (camlib's own answer to this exercise, or the checkers' internals): look at it by hand.") if uses else ""


def grade_notebook(path: Path, rel: Path, key: dict[str, list[Exercise]], settings: Settings, seed: int) -> list[Row]:
    """Grade one submitted notebook: a row for how it ran, and one per check."""
    name = rel.as_posix()
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB")
        nb = nbformat.read(path, as_version=4)
    except Exception as err:
        return [Row(name, "", NOTEBOOK, "", "fail", one_line(f"not a readable notebook: {type(err).__name__}: {err}"))]
    chapter, checks = match_chapter(path, rel, nb, key)
    if not checks:
        return [Row(name, chapter, NOTEBOOK, "", "fail",
                    "no exercises to grade: name the file after its chapter (e.g. 05_localization.ipynb), "
                    "or keep the student edition's notebook metadata.")]
    root = Path(tempfile.mkdtemp(prefix="classroom-", dir=settings.scratch))
    try:
        (root / "home" / "work").mkdir(parents=True)
        shutil.copyfile(path, root / "home" / "work" / path.name)
        run = run_notebook(nb, root, checks, settings, seed)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ok = run.status == "ok" and not run.stragglers
    if run.status == "ok":
        message = f"ran to the end in {run.seconds:.1f} s."
    else:
        message = run.detail if run.detail.endswith((".", "...")) else run.detail + "."
    if run.stragglers:
        listed = ", ".join(f"`{one_line(c, 60)}`" for c in list(run.stragglers.values())[:3])
        message += (f" It left {len(run.stragglers)} process(es) running ({listed}): killed with its sandbox "
                    "before the grades were written.")
    if run.leftover:
        message += " Some of its processes could not be killed: look at this machine."
    reaching = static.tampering(static.code_of(c.source for c in nb.cells if c.cell_type == "code"))
    if reaching:
        message += " Note: its code " + "; ".join(reaching) + " (no effect on the verdicts; look at it by hand)."
    rows = [Row(name, chapter, NOTEBOOK, "", "pass" if ok else "fail", one_line(message, 600))]
    numbers = {c: str(ex.number) for ex in key.get(chapter, []) for c in ex.checks}
    for c in checks:
        passed, verdict = run.verdicts[(c.function, c.checker)]
        rows.append(Row(name, chapter, c.function, c.checker, "pass" if passed else "fail",
                        one_line(verdict + _notes(nb, c), 600), numbers.get(c, "")))
    return rows


# -- a folder -----------------------------------------------------------------------------------------
def submissions_in(folder: Path) -> list[Path]:
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.rglob("*.ipynb")
                  if not any(part.startswith(".") for part in p.relative_to(folder).parts) and not p.is_symlink())


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    rows = [[str(x) for x in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda r: "  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def summary(rows: Sequence[Row], settings: Settings) -> str:
    """How the run was made (sandboxed or not), then per notebook and per exercise."""
    if settings.unsafe:
        how = ("UNSAFE: this run was NOT sandboxed (--unsafe). The notebooks ran with the grader's own rights; "
               "the verdicts were still computed outside them.")
    else:
        how = f"Sandboxed: each notebook ran in its own bubblewrap sandbox (no network; {settings.limits.describe()})."
    files = list(dict.fromkeys(r.file for r in rows))
    per_file = []
    for f in files:
        mine = [r for r in rows if r.file == f]
        ex = [r for r in mine if r.exercise != NOTEBOOK]
        head = next((r for r in mine if r.exercise == NOTEBOOK), None)
        ran = "ok" if head and head.result == "pass" else one_line(head.message if head else "", 70)
        per_file.append([f, mine[0].chapter, f"{sum(r.result == 'pass' for r in ex)}/{len(ex)}", ran])
    exercises = list(dict.fromkeys((r.chapter, r.exercise, r.checker) for r in rows if r.exercise != NOTEBOOK))
    per_ex = [[c, e, k, f"{sum(r.result == 'pass' for r in rows if (r.chapter, r.exercise, r.checker) == (c, e, k))}/"
               f"{sum((r.chapter, r.exercise, r.checker) == (c, e, k) for r in rows)}"] for c, e, k in exercises]
    total = [r for r in rows if r.exercise != NOTEBOOK]
    clean = sum(r.result == "pass" for r in rows if r.exercise == NOTEBOOK)
    return "\n\n".join([
        how,
        f"{len(files)} notebook(s), {clean} ran without a problem; "
        f"{sum(r.result == 'pass' for r in total)}/{len(total)} exercise checks passed.",
        _table(["file", "chapter", "passed", "notebook"], per_file),
        _table(["chapter", "exercise", "checker", "passed"], per_ex) if per_ex else "",
    ]).rstrip() + "\n"


def write_csv(rows: Sequence[Row], out: Path) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(Row.FIELDS)
        for r in rows:
            w.writerow([getattr(r, k) for k in Row.FIELDS])


def summary_path(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.stem + "-summary.txt")


def shared_cache(cache: str | os.PathLike | None = None) -> Path:
    """The trained-model cache the grader copies into each notebook's home (never shared itself)."""
    return Path(cache or os.environ.get("CAMLIB_CACHE") or Path.home() / ".cache" / "camlib").expanduser()


def grade(submissions: Path, out: Path, key: dict[str, list[Exercise]], settings: Settings,
          quiet: bool = False) -> list[Row]:
    """Grade every notebook under ``submissions``; write ``out`` (CSV) and its summary next to it.

    Refuses (:class:`classroom.sandbox.SandboxUnavailable`) when no sandbox can be made, unless
    ``settings.unsafe``.
    """
    if not settings.unsafe:
        sandbox.check_available()
    submissions = Path(submissions)
    seed = secrets.randbits(128)  # this run's cases: drawn here, never written anywhere
    rows: list[Row] = []
    paths = submissions_in(submissions)
    for n, path in enumerate(paths, 1):
        rel = path.relative_to(submissions) if submissions.is_dir() else Path(path.name)
        start = time.monotonic()
        mine = grade_notebook(path, rel, key, settings, seed)
        rows += mine
        if not quiet:
            ex = [r for r in mine if r.exercise != NOTEBOOK]
            state = "ran" if mine[0].result == "pass" else "problem: " + one_line(mine[0].message, 80)
            print(f"[{n}/{len(paths)}] {rel.as_posix()}: {sum(r.result == 'pass' for r in ex)}/{len(ex)} passed, "
                  f"{state} ({time.monotonic() - start:.0f} s)", flush=True)
    write_csv(rows, out)
    text = summary(rows, settings) if rows else f"no notebooks found under {submissions}\n"
    summary_path(out).write_text(text, encoding="utf-8")
    if not quiet:
        print()
        print(text, end="")
        print(f"\nwrote {out} and {summary_path(out)}", file=sys.stderr)
    return rows
