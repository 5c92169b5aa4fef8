"""Points per exercise, set in one place (a CSV the teacher edits), and partial credit by cases passed.

``make assignments`` writes ``assignments/points.csv`` next to the student edition, one line per
code exercise with its default points (:data:`DEFAULT_POINTS`)::

    chapter,number,exercise,checker,points
    01_what_is_cam,5,peak,check_peak,10

The teacher edits the ``points`` column (0 drops an exercise from the total) and passes the file
to ``python -m classroom grade --points assignments/points.csv``. An exercise the file does not
list gets the default. A check earns ``points * cases passed / cases``, or all or nothing with
``--all-or-nothing``.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .edition import Exercise

DEFAULT_POINTS = 10.0
FIELDS = ("chapter", "number", "exercise", "checker", "points")


class PointsError(ValueError):
    """A points file that cannot be read (the message says which line, and what to write instead)."""


@dataclass(frozen=True)
class Points:
    """``table[(chapter, checker)]`` -> points; anything else gets ``default``."""

    table: Mapping[tuple[str, str], float] = field(default_factory=dict)
    default: float = DEFAULT_POINTS
    all_or_nothing: bool = False

    def of(self, chapter: str, checker: str) -> float:
        """The points of ``checker``'s exercise in ``chapter``."""
        return self.table.get((chapter, checker), self.default)

    def earned(self, chapter: str, checker: str, passed: int, cases: int, ok: bool) -> float:
        """Points for ``passed`` of ``cases`` cases (``ok``: the check passed as a whole)."""
        full = self.of(chapter, checker)
        if ok:
            return full
        if self.all_or_nothing or cases <= 0:
            return 0.0
        return round(full * min(passed, cases) / cases, 2)


def write(key: Mapping[str, Sequence[Exercise]], out: Path, default: float = DEFAULT_POINTS) -> Path:
    """Write the points file of every code exercise in ``key`` ({chapter: [Exercise]}) with ``default`` points."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        for chapter, exercises in key.items():
            for ex in exercises:
                for c in ex.checks:
                    w.writerow([chapter, ex.number, c.function, c.checker, f"{default:g}"])
    return out


def read(path: Path | None, all_or_nothing: bool = False) -> Points:
    """The points in ``path`` (written by :func:`write`, then edited), or the defaults when ``path`` is None."""
    if path is None:
        return Points(all_or_nothing=all_or_nothing)
    table: dict[tuple[str, str], float] = {}
    with Path(path).open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"chapter", "checker", "points"} - set(reader.fieldnames or ())
        if missing:
            raise PointsError(
                f"{path}: the columns {', '.join(sorted(missing))} are missing; write the file with "
                "`python -m classroom generate` (it writes points.csv) and edit its points column"
            )
        for n, row in enumerate(reader, 2):
            try:
                value = float(row["points"])
            except (TypeError, ValueError):
                raise PointsError(
                    f"{path}, line {n}: points must be a number, like 10 or 2.5, not {row['points']!r}"
                ) from None
            if not 0 <= value < 1e6:
                raise PointsError(f"{path}, line {n}: points must be between 0 and 1e6, not {value:g}")
            table[(row["chapter"], row["checker"])] = value
    return Points(table, all_or_nothing=all_or_nothing)
