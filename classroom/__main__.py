"""``python -m classroom list|generate|grade|guide``: the classroom's commands (see book/instructor_guide.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import answerkey, edition, grading, guide, points, sandbox
from .notes import notes_for

ROOT = Path(__file__).resolve().parents[1]


def _default(*parts: str) -> Path:
    """``parts`` under the current directory if there, else under this repository."""
    here = Path(*parts)
    return here if here.exists() else ROOT.joinpath(*parts)


def _size(text: str) -> int:
    """``"8G"``, ``"512M"``, ``"100k"`` or a plain number of bytes -> bytes."""
    units = {"k": 2**10, "m": 2**20, "g": 2**30}
    text = text.strip().lower().removesuffix("ib").removesuffix("b")
    return int(float(text[:-1]) * units[text[-1]]) if text and text[-1] in units else int(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classroom", description=__doc__.split(":", 1)[1].strip())
    parser.add_argument("--chapters", type=Path, default=None, help="the chapter notebooks (default: book/chapters)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the code exercises of the chapters")
    g = sub.add_parser("generate", help="write the student edition (solutions removed, outputs cleared)")
    g.add_argument("--out", type=Path, default=Path("assignments/student"))
    r = sub.add_parser("grade", help="grade a folder of submitted notebooks, each in a sandbox; write a CSV")
    r.add_argument("submissions", type=Path, help="a folder of .ipynb files (searched recursively), or one notebook")
    r.add_argument("--out", type=Path, default=Path("grades.csv"), help="the CSV to write (default: grades.csv)")
    r.add_argument("--timeout", type=float, default=300, help="seconds to run each notebook (default: 300)")
    r.add_argument("--check-timeout", type=float, default=60, help="seconds for each exercise's check (default: 60)")
    r.add_argument(
        "--jobs",
        type=int,
        default=grading.default_jobs(),
        help="notebooks graded at the same time, each in its own sandbox (default: the cores, %(default)s)",
    )
    r.add_argument(
        "--chapter",
        default=None,
        help="grade every notebook as this chapter (e.g. 05_map_to_box) instead of reading it from each notebook",
    )
    r.add_argument(
        "--points",
        type=Path,
        default=None,
        help="points per exercise: the points.csv that `generate` writes, edited (default: 10 each)",
    )
    r.add_argument(
        "--all-or-nothing",
        action="store_true",
        help="an exercise earns its points only if every case passes (default: partial credit)",
    )
    r.add_argument(
        "--cache",
        default=None,
        help="trained-model cache, copied into each sandbox (default: $CAMLIB_CACHE or ~/.cache/camlib)",
    )
    limits = sandbox.Limits()
    r.add_argument(
        "--memory", default=f"{limits.memory // 2**30}G", help="address space per notebook (default: %(default)s)"
    )
    r.add_argument(
        "--cpu", type=int, default=limits.cpu_seconds, help="CPU seconds per notebook (default: %(default)s)"
    )
    r.add_argument(
        "--processes", type=int, default=limits.processes, help="processes and threads (default: %(default)s)"
    )
    r.add_argument(
        "--file-size", default=f"{limits.file_size // 2**20}M", help="largest file it may write (default: %(default)s)"
    )
    r.add_argument(
        "--ram",
        default=f"{limits.ram // 2**30}G",
        help="memory of the whole notebook, all its "
        "processes and shared memory together, where a cgroup can be made (default: %(default)s)",
    )
    r.add_argument(
        "--disk",
        default=f"{limits.disk // 2**20}M",
        help="what its home may hold in all, when the grader runs as root (default: %(default)s)",
    )
    r.add_argument(
        "--unsafe",
        action="store_true",
        help="grade WITHOUT a sandbox (only on a machine that holds nothing else); the summary says so",
    )
    d = sub.add_parser("guide", help="update the exercise table of the instructor's guide")
    d.add_argument("--file", type=Path, default=None, help="default: book/instructor_guide.md")
    d.add_argument("--check", action="store_true", help="only check that the table is up to date")
    args = parser.parse_args(argv)
    chapters = args.chapters or _default("book", "chapters")
    if args.command == "list":
        rows = [
            [
                chapter,
                ex.number,
                ex.name,
                ", ".join(c.checker for c in ex.checks) or "(no check cell!)",
                sum(n.minutes for c in ex.checks if (n := notes_for(c.checker))),
            ]
            for chapter, exs in edition.answer_key(chapters).items()
            for ex in exs
        ]
        print(grading.table(["chapter", "#", "function", "checker", "minutes"], rows))
        return 0
    if args.command == "generate":
        written = edition.generate(chapters, args.out)
        extra = answerkey.write(edition.answer_key(chapters), Path(args.out).resolve().parent)
        print(
            f"wrote {len(written)} student notebook(s) to {args.out}, and {', '.join(str(p) for p in extra)} "
            "(for the teacher only)"
        )
        return 0
    if args.command == "grade":
        if not args.submissions.exists():
            parser.error(f"{args.submissions} does not exist")
        key = edition.answer_key(chapters) if chapters.is_dir() else {}
        if args.chapter and args.chapter not in key:
            parser.error(f"--chapter {args.chapter}: not a chapter; pass one of {', '.join(c for c in key if key[c])}")
        if args.jobs < 1:
            parser.error("--jobs must be 1 or more")
        try:
            table = points.read(args.points, args.all_or_nothing)
        except (OSError, points.PointsError) as err:
            parser.error(str(err))
        settings = grading.Settings(
            timeout=args.timeout,
            check_timeout=args.check_timeout,
            cache=grading.shared_cache(args.cache),
            unsafe=args.unsafe,
            jobs=args.jobs,
            chapter=args.chapter,
            points=table,
            editions=edition.edition_code(chapters) if chapters.is_dir() else {},
            limits=sandbox.Limits(
                _size(args.memory),
                args.cpu,
                args.processes,
                _size(args.file_size),
                _size(args.disk),
                ram=_size(args.ram),
            ),
        )
        try:
            grading.grade(args.submissions, args.out, key, settings)
        except sandbox.SandboxUnavailable as err:
            print(f"refusing to grade: {err}", file=sys.stderr)
            return 2
        return 0
    path = args.file or _default("book", "instructor_guide.md")
    fresh = guide.update_guide(path, edition.answer_key(chapters), check=args.check)
    if args.check and not fresh:
        print(f"{path}: the exercise table is out of date; run `python -m classroom guide`", file=sys.stderr)
        return 1
    print(f"{path}: the exercise table is up to date" if fresh or args.check else f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
