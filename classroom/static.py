"""What a submission's source says about itself: advisory notes for the teacher, never a verdict.

The grader reads every code cell of a notebook (without running anything) and notes two things:
uses of camlib's own implementation of an exercise's answer, and code that reaches into the
grading machinery (the checkers' module, frames, tracing, builtins, output streams, IPython
events). Such code cannot change a verdict, which is computed outside the notebook, but a
teacher wants to know about it. The grader reads only the code the student wrote (the cells that
differ from the student edition's). Indirect access (``sys.modules``, ``getattr`` or an import by a
computed name) is noted as such, since what it reaches cannot be read; static analysis can still be
dodged (``exec`` of a built string), so the notes are advisory, for a human to read; the marks never
depend on them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

# The camlib callables that *are* the answer to each checker's exercise.
from cambook.exercises import EXERCISES
from cambook.exercises.running import OWN, imports_internals

BOOK = ("camlib", "cambook")  # the project's packages, as names start

# Names whose *use* is worth a look (they read frames, trace, hook events, detach, connect, import by name)...
USED = {
    "inspect.stack": "reads the call stack",
    "inspect.currentframe": "reads the call stack",
    "sys._getframe": "reads the call stack",
    "sys.settrace": "installs a trace function",
    "threading.settrace": "installs a trace function",
    "sys.setprofile": "installs a profile function",
    "events.register": "hooks IPython events",
    "importlib.import_module": "imports modules by name",
    "__import__": "imports modules by name",
    "socket.socket": "opens network connections",
    "socket.create_connection": "opens network connections",
}
# ...and names that are worth a look only when the code assigns to them.
REPLACED = {
    "torch.allclose": "replaces a torch function",
    "torch.equal": "replaces a torch function",
    "numpy.allclose": "replaces a NumPy function",
    "np.allclose": "replaces a NumPy function",
    "json.dumps": "replaces json",
    "sys.stdout": "replaces an output stream",
    "sys.stderr": "replaces an output stream",
    "__module__": "rewrites where a function comes from",
}


def code_of(cells: Iterable[str]) -> list[ast.AST]:
    """The parsed code cells (lines starting with % or ! dropped); cells that do not parse are skipped."""
    trees = []
    for source in cells:
        text = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())
        try:
            trees.append(ast.parse(text))
        except (SyntaxError, RecursionError, MemoryError, ValueError):  # not Python, or too deeply nested to read
            continue
    return trees


def _dotted(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # noqa: BLE001 - an exotic node: nothing to report
        return ""


def reference_uses(trees: list[ast.AST], checker: str) -> list[str]:
    """camlib's answers to ``checker``'s exercise that the code imports or names, in words for a message."""
    ex = EXERCISES.get(checker)
    if ex is None:
        return []
    short = {r.rsplit(".", 1)[1]: r for r in ex.references}
    found = []
    for tree in trees:
        for node in ast.walk(tree):
            module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
            if module.startswith(BOOK):
                found += [f"`{short[a.name]}`" for a in node.names if a.name in short]
                if imports_internals(node):
                    found.append(f"`{OWN}` internals")
            elif isinstance(node, ast.Attribute) and node.attr in short and _dotted(node).startswith(BOOK):
                found.append(f"`{short[node.attr]}`")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value in short:
                    found.append(f"`{short[node.value]}` (named in a string)")
                elif re.match(r"(camlib|cambook)\b", node.value):
                    found.append(f"{node.value.split('.')[0]} imported by a name in a string ({node.value[:40]!r})")
    return list(dict.fromkeys(found))


def _indirect(node: ast.AST) -> list[str]:
    """Ways of reaching a module or a function by a name the code computes (what static notes cannot follow)."""
    if isinstance(node, ast.Subscript) and _dotted(node.value).endswith("sys.modules"):
        return ["reaches modules through `sys.modules` (what it takes there cannot be read statically)"]
    if isinstance(node, ast.Call):
        name = _dotted(node.func)
        computed = len(node.args) > 1 and not isinstance(node.args[1], ast.Constant)
        if name in ("getattr", "builtins.getattr") and computed:
            return ["calls getattr with a computed name (what it takes cannot be read statically)"]
        if (
            name in ("__import__", "importlib.import_module")
            and node.args
            and not isinstance(node.args[0], ast.Constant)
        ):
            return ["imports a module by a computed name (which one cannot be read statically)"]
        if name in ("globals", "vars", "locals") or name.endswith("importlib.util.find_spec"):
            return [f"reads `{name}()` (what it takes there cannot be read statically)"]
    return []


def tampering(trees: list[ast.AST]) -> list[str]:
    """What the code does that reaches into the grading machinery, in words (each once, six at most)."""
    found = []
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Attribute, ast.Name)):
                name = _dotted(node)
                for key, what in USED.items():
                    if name == key or name.endswith("." + key):
                        found.append(f"{what} (`{name}`)")
                if isinstance(node.ctx, ast.Store):
                    for key, what in REPLACED.items():
                        if name == key or name.endswith("." + key):
                            found.append(f"{what} (`{name}`)")
                    if isinstance(node, ast.Attribute) and _dotted(node.value) in ("builtins", "__builtins__"):
                        found.append(f"changes builtins (`{name}`)")
            elif isinstance(node, ast.keyword) and node.arg == "start_new_session":
                found.append("starts a detached process (`start_new_session=`)")
            found += _indirect(node)
    return list(dict.fromkeys(found))[:6]
