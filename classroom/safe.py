"""Text from a submission made safe to show: one line, no control characters, no spreadsheet formulas.

Everything the grader writes (CSV cells, the summary, the progress lines, the feedback files)
may hold text a notebook chose: its file name, its metadata, an exception's message. Such
text goes through :func:`field` (one printable line) and, in a CSV, :func:`cell` (a value a
spreadsheet does not run as a formula).
"""

from __future__ import annotations

import re
import unicodedata

_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|.)", re.S)  # ANSI CSI, OSC, 2-byte
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def field(text: object, width: int = 300) -> str:
    """``text`` as one printable line of at most ``width`` characters.

    Terminal escape sequences are removed, every other control or format character (newlines,
    carriage returns, NUL, bidi overrides, zero-width characters) becomes a space, and runs of
    white space become one space.
    """
    text = _ESCAPES.sub("", str(text))
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def cell(value: object, width: int = 2000) -> str:
    """``value`` as a CSV cell: one line (:func:`field`), and a leading ``'`` if a spreadsheet would read it as a
    formula (it starts with ``=``, ``+``, ``-`` or ``@``, or their full-width forms). Numbers stay numbers."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}" if isinstance(value, float) else str(value)
    text = field(value, width)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
