"""Calling the reader's function here, in the book, and naming camlib's answer if it uses it."""

from __future__ import annotations

import ast
import inspect
import textwrap
import traceback
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Callable

import numpy as np
import torch

import camlib

from .core import Case, Raised, Returned, Verdict, materialize, observe
from .registry import cases, exercise, judge

# library code, skipped when pointing at the reader's line: torch, NumPy, camlib and cambook
_LIBRARIES = (
    Path(torch.__file__).parent,
    Path(np.__file__).parent,
    Path(camlib.__file__).parent,
    Path(__file__).parents[1],
)
OWN = "cambook.exercises"  # the checkers' own package: a solution may import its check_* functions, nothing else


def imports_internals(node: ast.AST) -> bool:
    """Whether ``node`` is ``from cambook.exercises[.module] import ...`` of anything but ``check_*`` functions."""
    return (
        isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith(OWN)
        and any(not a.name.startswith("check_") for a in node.names)
    )


def where_raised(err: BaseException) -> str:
    """``'3: return f @ w'``: the line of the reader's own code (not library code) an error came from."""
    frames = traceback.extract_tb(err.__traceback__)[1:]  # the first frame is the caller's: the checker's own
    yours = [f for f in frames if not any(Path(f.filename).is_relative_to(p) for p in _LIBRARIES)]
    frame = (yours or frames[-1:] or [None])[-1]  # none at all: the call itself failed (the wrong number of arguments)
    return f"{frame.lineno}: {frame.line!r}" if frame is not None else ""


def call(fn: Callable, case: Case) -> Returned | Raised:
    """Call ``fn`` on one case and record what it returned or raised, and what it left behind."""
    args = materialize(case.args)
    try:
        value = fn(*args)
    except Exception as err:
        return Raised(type(err).__name__, " ".join(str(err).split())[:300], where_raised(err), observe(args))
    return Returned(value, observe(args))


def reference_calls(fn: Callable, references: Sequence[str]) -> list[str]:
    """The camlib callables among ``references`` (dotted names) that ``fn`` is, or that its code names,
    and any use of the checkers' own package (:data:`OWN`, its modules included) but its ``check_*`` functions.

    Looks at the names the function's code uses and what they are bound to, and at its source.
    """
    import importlib

    targets = {}
    for dotted in references:
        module, _, attr = dotted.rpartition(".")
        try:
            targets[id(getattr(importlib.import_module(module), attr))] = dotted
        except (ImportError, AttributeError):
            continue

    def own(obj) -> bool:  # the checkers' package, one of its modules, or one of its internals
        name = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None) or ""
        short = getattr(obj, "__name__", "")
        return (name == OWN or name.startswith(OWN + ".")) and not (
            callable(obj) and short.startswith("check_") and not isinstance(obj, types.ModuleType)
        )

    found = []
    if id(fn) in targets:
        found.append(targets[id(fn)])
    code, env = getattr(fn, "__code__", None), getattr(fn, "__globals__", {})
    if code is not None:

        def names(c: types.CodeType):
            yield from c.co_names
            for const in c.co_consts:
                if isinstance(const, types.CodeType):
                    yield from names(const)

        used = set(names(code))
        for name in sorted(used):
            obj = env.get(name)
            if id(obj) in targets:
                found.append(targets[id(obj)])
            elif isinstance(obj, types.ModuleType):
                found += [
                    targets[id(getattr(obj, a, None))] for a in sorted(used) if id(getattr(obj, a, None)) in targets
                ]
            if obj is not None and own(obj):
                found.append(OWN)
    short = {r.rsplit(".", 1)[1]: r for r in references}
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):  # no source (a builtin, a lambda in a REPL)
        tree = ast.Module(body=[], type_ignores=[])
    for node in ast.walk(tree):
        dotted = ast.unparse(node) if isinstance(node, ast.Attribute) else ""
        if dotted.startswith(OWN) or imports_internals(node):
            found.append(OWN)
        elif dotted.startswith("camlib.") and node.attr in short:
            found.append(short[node.attr])
    found = [f if f != OWN else f"{OWN} (the checkers' own package)" for f in found]
    return list(dict.fromkeys(found))


def verdict(checker: str, fn: Callable, seed: int | None = None) -> Verdict:
    """Check ``fn`` with ``checker`` here, on fresh random cases; return the :class:`Verdict` (prints nothing)."""
    ex = exercise(checker)
    drawn = cases(checker, seed)
    outcomes: list[Returned | Raised] = []
    for case in drawn:
        outcomes.append(call(fn, case))
        if isinstance(outcomes[-1], Raised) and not case.raises:
            break  # the first crash is the message; the remaining cases would not change it
    result = judge(checker, drawn[: len(outcomes)], outcomes)
    used = reference_calls(fn, ex.references)
    if used and result.passed:
        named = ", ".join(f"`{u}`" for u in used)
        return Verdict(
            checker,
            False,
            f"{result.cases} cases pass, but your function uses {named}, the book's own "
            "answer to this exercise: write it without it.",
            result.cases,
        )
    return result
