"""Results a teacher can hand out: a table per student with totals, a feedback file per student,
and a CSV that a learning-management system imports.

From the grades' rows (:class:`classroom.grading.Row`), :func:`write_all` writes next to the grades CSV:

* ``<grades>-students.csv``: one line per student, the points per chapter and the total;
* ``<grades>-lms.csv``: the same totals in the column layout of Canvas's gradebook import
  (``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per assignment); the
  student id from the folder or file name goes into ``SIS Login ID``. Gradescope and Moodle
  read it too (map the ``SIS Login ID`` column to the student's id or e-mail, and the chapter
  columns to the assignments);
* ``feedback/<student>.md``: only what is meant for the student: per exercise, the result,
  the points and the checker's message, how the notebook ran, and their answers to the
  **Think** questions with a blank for the teacher's marks. The teacher's notes stay in the
  grades CSV's ``teacher_notes`` column.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .safe import cell, field

if TYPE_CHECKING:
    from .grading import Row


def file_name(student: str) -> str:
    """A file name for ``student``'s feedback: letters, digits, ``._-`` only, never hidden or empty."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._") or "student"
    return name[:100]


def totals(rows: Sequence[Row]) -> dict[str, dict[str, tuple[float, float]]]:
    """``{student: {chapter: (points, max points)}}`` over the checks (not the notebook or Think rows)."""
    out: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    from .grading import NOTEBOOK, THINK

    for r in rows:
        if r.exercise == NOTEBOOK or r.checker == THINK:
            out[r.student][r.chapter or "(unknown)"]  # the student and chapter appear even without points
            continue
        got = out[r.student][r.chapter or "(unknown)"]
        got[0] += r.points
        got[1] += r.max_points
    return {s: {c: (round(v[0], 2), round(v[1], 2)) for c, v in chapters.items()} for s, chapters in out.items()}


def write_students(rows: Sequence[Row], out: Path) -> Path:
    """The per-student table: ``student``, then ``<chapter>`` and ``<chapter> max`` for each chapter, then
    ``total`` and ``max``."""
    per = totals(rows)
    chapters = sorted({c for s in per.values() for c in s})
    with Path(out).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", *(h for c in chapters for h in (c, f"{c} max")), "total", "max"])
        for student in sorted(per):
            got = per[student]
            w.writerow(
                [
                    cell(student),
                    *(cell(v) for c in chapters for v in got.get(c, (0.0, 0.0))),
                    cell(round(sum(v[0] for v in got.values()), 2)),
                    cell(round(sum(v[1] for v in got.values()), 2)),
                ]
            )
    return Path(out)


def write_lms(rows: Sequence[Row], out: Path) -> Path:
    """The LMS export (Canvas gradebook layout): one column per chapter, headed ``<chapter> (<max> pts)``."""
    per = totals(rows)
    chapters = sorted({c for s in per.values() for c in s})
    most = {c: max((s.get(c, (0.0, 0.0))[1] for s in per.values()), default=0.0) for c in chapters}
    with Path(out).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "Student",
                "ID",
                "SIS User ID",
                "SIS Login ID",
                "Section",
                *(cell(f"{c} ({most[c]:g} pts)") for c in chapters),
            ]
        )
        for student in sorted(per):
            w.writerow(
                [
                    cell(student),
                    "",
                    "",
                    cell(student),
                    "",
                    *(cell(per[student].get(c, (0.0, 0.0))[0]) for c in chapters),
                ]
            )
    return Path(out)


def feedback(student: str, rows: Sequence[Row]) -> str:
    """The Markdown feedback of one student: results and messages only (never the teacher's notes)."""
    from .grading import NOTEBOOK, THINK

    lines = [f"# Feedback for {field(student, 100)}", ""]
    for file in dict.fromkeys(r.file for r in rows):
        mine = [r for r in rows if r.file == file]
        checks = [r for r in mine if r.exercise != NOTEBOOK and r.checker != THINK]
        head = next((r for r in mine if r.exercise == NOTEBOOK), None)
        got, most = sum(r.points for r in checks), sum(r.max_points for r in checks)
        lines += [
            f"## {field(file, 200)} ({field(mine[0].chapter or 'chapter unknown', 100)})",
            "",
            f"**Points: {got:g} / {most:g}** for the code exercises.",
            "",
        ]
        if head is not None:
            lines += [f"How your notebook ran: {field(head.message, 600)}", ""]
        if checks:
            lines += ["| # | exercise | result | points | message |", "| --- | --- | --- | --- | --- |"]
            for r in checks:
                msg = field(r.message, 600).replace("|", "\\|")
                lines.append(
                    f"| {field(r.number, 10)} | `{field(r.exercise, 60)}` | {r.result} | "
                    f"{r.points:g} / {r.max_points:g} | {msg} |"
                )
            lines.append("")
        thinks = [r for r in mine if r.checker == THINK]
        if thinks:
            lines += ["### Think questions (marked by your teacher)", ""]
            for r in thinks:
                lines += [
                    f"**{field(r.exercise, 60)}.** Your answer:",
                    "",
                    "> " + (field(r.message, 4000) or "(no answer)"),
                    "",
                    "Points: ____ / ____",
                    "",
                ]
    return "\n".join(lines).rstrip() + "\n"


def write_feedback(rows: Sequence[Row], folder: Path) -> list[Path]:
    """One ``<student>.md`` per student in ``folder`` (:func:`feedback`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    by: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by[r.student].append(r)
    written = []
    for student, mine in sorted(by.items()):
        path = folder / (file_name(student) + ".md")
        n = 2
        while path in written:  # two ids that clean to the same name
            path = folder / f"{file_name(student)}-{n}.md"
            n += 1
        path.write_text(feedback(student, mine), encoding="utf-8")
        written.append(path)
    return written


def write_all(rows: Sequence[Row], folder: Path, stem: str) -> list[Path]:
    """Write the per-student table, the LMS export and the feedback files for ``rows`` into ``folder``;
    returns the tables' paths and the feedback folder."""
    folder = Path(folder)
    students = write_students(rows, folder / f"{stem}-students.csv")
    lms = write_lms(rows, folder / f"{stem}-lms.csv")
    write_feedback(rows, folder / "feedback")
    return [students, lms, folder / "feedback"]
