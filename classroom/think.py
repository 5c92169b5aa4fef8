"""The **Think** questions: an answer cell under each one in the student edition, and the answers read back.

A chapter's list of exercises marks a question for reflection ``N. **Think.** ...``. The student
edition puts a Markdown cell tagged :data:`TAG` after the cell that holds it, with
``metadata.camlib.think = N``; the student writes their answer there. The grader has no checker for
them: :func:`answers` reads them back so that they reach the student's feedback file, where the
teacher marks them by hand.
"""

from __future__ import annotations

import re
from typing import Any

import nbformat

TAG = "think-answer"
ITEM = re.compile(r"^(\d+)\.\s+\*\*Think\.?\*\*", re.M)
PROMPT = "**Your answer to exercise {n} (Think)**, marked by your teacher. Write it below this line."
PLACEHOLDER = "_(your answer)_"


def questions(source: str) -> list[int]:
    """The numbers of the Think questions in a Markdown cell's ``source``."""
    return [int(n) for n in ITEM.findall(source)]


def answer_cell(number: int) -> Any:
    """The empty answer cell of Think question ``number``."""
    cell = nbformat.v4.new_markdown_cell(PROMPT.format(n=number) + "\n\n" + PLACEHOLDER)
    cell.id = f"think-answer-{number}"
    cell.metadata["tags"] = [TAG]
    cell.metadata["camlib"] = {"think": number}
    return cell


def with_answer_cells(cells: list) -> list:
    """``cells`` with an answer cell after every Markdown cell that holds Think questions."""
    out = []
    for cell in cells:
        out.append(cell)
        if cell.cell_type == "markdown":
            out += [answer_cell(n) for n in questions(cell.source)]
    return out


def answers(nb: Any) -> list[tuple[int, str]]:
    """``[(number, answer text)]`` from a submitted notebook's answer cells ("" for one left empty)."""
    found = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("camlib", {})
        number = meta.get("think") if isinstance(meta, dict) else None
        if cell.get("cell_type") != "markdown" or type(number) is not int:
            continue
        text = str(cell.get("source", ""))
        prompt = PROMPT.format(n=number)
        text = text.replace(prompt, "", 1).replace(PLACEHOLDER, "").strip()
        found.append((number, text))
    return found
