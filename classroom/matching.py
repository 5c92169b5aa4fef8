"""Which chapter a submission is, and which exercises it must answer: every one of them, each once.

The chapter comes from ``--chapter`` if the teacher gives it, else from the student edition's
metadata (``metadata.camlib.chapter``), checked against the chapter named in the file's path;
a path that names a chapter is enough when the metadata is gone. The exercises to grade are
the answer key's (the chapters themselves), never the notebook's own list: metadata that lists
a check twice, or a check the chapter does not have, is reported to the teacher and adds
nothing. Only for a chapter the answer key lacks are the metadata's exercises used, each once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from cambook import exercises as checkers

from .edition import Check, Exercise


@dataclass
class Match:
    """The chapter (``""`` if unknown), the checks to grade, notes for the teacher, and why the notebook cannot be
    graded at all (``error``, a message for the student and the teacher; ``""`` when it can)."""

    chapter: str
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str = ""


def _metadata(nb: Any) -> tuple[str, list[Any], list[str]]:
    """(chapter, exercises, problems) from ``metadata.camlib``, whatever types the notebook put there."""
    problems = []
    meta = nb.get("metadata", {}).get("camlib", {})
    if not isinstance(meta, dict):
        return "", [], [f"its metadata.camlib is a {type(meta).__name__}, not a mapping (ignored)"]
    chapter = meta.get("chapter", "")
    if not isinstance(chapter, str):
        problems.append(f"its metadata.camlib.chapter is a {type(chapter).__name__}, not text (ignored)")
        chapter = ""
    exercises = meta.get("exercises", [])
    if not isinstance(exercises, list):
        problems.append(f"its metadata.camlib.exercises is a {type(exercises).__name__}, not a list (ignored)")
        exercises = []
    return chapter, exercises, problems


def _recorded(exercises: list[Any]) -> tuple[list[Check], list[str]]:
    """The checks the metadata lists, in order, and what is malformed about them."""
    found, problems = [], []
    for ex in exercises:
        pairs = ex.get("checks", []) if isinstance(ex, dict) else None
        if not isinstance(pairs, list):
            problems.append("an exercise entry of its metadata is not of the student edition's form (ignored)")
            continue
        for pair in pairs:
            if isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(v, str) for v in pair):
                found.append(Check(pair[0], pair[1]))
            else:
                problems.append("a check entry of its metadata is not a [function, checker] pair (ignored)")
    return found, problems


def named_chapter(rel: PurePosixPath, chapters: Sequence[str]) -> str:
    """The longest chapter name in ``rel`` (file or folder), or ``""``."""
    named = [c for c in chapters if c and c in rel.as_posix()]
    return max(named, key=len) if named else ""


def match(
    rel: PurePosixPath | str, nb: Any, key: Mapping[str, Sequence[Exercise]], chapter: str | None = None
) -> Match:
    """What to grade in the notebook ``nb`` handed in as ``rel``, given the answer key and the teacher's
    ``--chapter`` (None: work it out)."""
    rel = PurePosixPath(rel)
    meta_chapter, exercises, notes = _metadata(nb)
    recorded, more = _recorded(exercises)
    notes += more
    named = named_chapter(rel, list(key))
    if chapter:
        if chapter not in key:
            return Match(
                "", [], notes, f"--chapter {chapter} is not a chapter of the book; pass one of: {', '.join(key)}."
            )
        if meta_chapter and meta_chapter != chapter:
            notes.append(f"its metadata says chapter {meta_chapter}, graded as {chapter} (--chapter)")
    elif meta_chapter and named and meta_chapter != named:
        return Match(
            "",
            [],
            notes,
            f"the file is named for chapter {named} but its metadata says {meta_chapter}: "
            "not graded. Hand in the student edition of the right chapter, or the teacher "
            "passes --chapter.",
        )
    else:
        chapter = meta_chapter or named
    if not chapter:
        return Match(
            "",
            [],
            notes,
            "no chapter found: keep the chapter's name in the file name (e.g. "
            "alice_05_map_to_box.ipynb) and the student edition's metadata, or the teacher "
            "passes --chapter.",
        )
    if chapter in key:
        checks = [c for ex in key[chapter] for c in ex.checks]
    else:
        checks = list(dict.fromkeys(c for c in recorded if c.checker in checkers.EXERCISES))
        if not checks:
            return Match(
                chapter,
                [],
                notes,
                f"no exercises to grade: {chapter} is not a chapter of the book and "
                "the notebook does not carry the student edition's metadata.",
            )
    expected = set(checks)
    seen: set[Check] = set()
    for c in recorded:
        if c in seen:
            notes.append(f"its metadata lists `{c.checker}({c.function})` more than once (counted once)")
        elif c not in expected:
            notes.append(f"its metadata lists `{c.checker}({c.function})`, which {chapter} does not have (ignored)")
        seen.add(c)
    if recorded and chapter in key:
        gone = [c for c in checks if c not in seen]
        if gone:
            notes.append("its metadata lacks " + ", ".join(f"`{c.function}`" for c in gone) + " (graded anyway)")
    return Match(chapter, checks, list(dict.fromkeys(notes)))
