"""The shape of the code: camlib stays a small library that depends on nothing of the book's.

camlib holds the method (CAM, its boxes, the networks, the data); cambook the teaching aids
(exercise checkers, widgets); classroom the teacher's tools. Each may use the one before it,
never the other way round, and camlib stays short enough to read in an afternoon.
"""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAMLIB_MAX_LINES = 1800  # issue 14: camlib without the grader stays at most 1,800 lines


def imported_modules(folder: Path) -> set[str]:
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return names


def test_camlib_stays_small():
    lines = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in (ROOT / "camlib").glob("*.py")}
    assert sum(lines.values()) <= CAMLIB_MAX_LINES, sorted(lines.items(), key=lambda kv: -kv[1])


def test_dependencies_point_one_way():
    top = lambda names: {n.split(".")[0] for n in names}  # noqa: E731
    assert not top(imported_modules(ROOT / "camlib")) & {"cambook", "classroom"}
    assert "classroom" not in top(imported_modules(ROOT / "cambook"))


def test_importing_the_packages_changes_no_torch_setting():
    code = ("import torch\n"
            "def flags():\n"
            "    return (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32,\n"
            "            torch.get_default_dtype(), torch.are_deterministic_algorithms_enabled(),\n"
            "            torch.get_num_threads(), torch.initial_seed())\n"
            "before = flags()\n"
            "import camlib, cambook.exercises, cambook.widgets\n"
            "assert flags() == before, (before, flags())\n"
            "print('unchanged')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "unchanged", run.stderr[-2000:]
