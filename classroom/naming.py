"""Who handed a notebook in: the student id, from the folder or the file name."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath


def student_of(rel: PurePosixPath | str, chapters: Iterable[str] = ()) -> str:
    """The student id of the submission at ``rel`` (relative to the submissions folder).

    ``alice/05_map_to_box.ipynb`` -> ``alice`` (a folder per student); ``bob_05_map_to_box.ipynb``
    -> ``bob`` (the file name without a chapter's name, ``chapters``, or its ``NN_`` number);
    a name that is nothing but the chapter's stays as it is.
    """
    rel = PurePosixPath(rel)
    if len(rel.parts) > 1:
        return rel.parts[0]
    stem = rel.stem
    for chapter in sorted(chapters, key=len, reverse=True):
        if chapter and chapter in stem:
            stem = stem.replace(chapter, " ")
            break
    else:
        stem = re.sub(r"(^|[_\-. ])\d\d([_\-. ]|$)", " ", stem)
    name = re.sub(r"[_\-. ]+", "_", stem).strip("_")
    return name or rel.stem
