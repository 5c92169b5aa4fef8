"""The number-aware comparison that `make nbval` uses (tests/nbval_tolerance.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from tests.nbval_tolerance import numbers_match

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("reference", "test", "same"),
    [
        ("max 0.443", "max 0.442", True),  # the last digit flipped by rounding
        ("98.8 % | 0.12", "98.9 % | 0.11", True),
        ("max 0.443", "max 0.441", False),  # two units: a real difference
        ("max 0.443", "max 0.44", False),  # another format
        ("12 of 1000 wrong", "13 of 1000 wrong", False),  # integers are exact
        ("palace 32.3 %", "palace 32.3 %", True),
        ("palace 32.3 %", "lakeside 32.3 %", False),  # text is exact
        ("a 1.5 b 2.5", "a 1.5 b", False),  # as many numbers
        ("-0.001", "0.000", True),
    ],
)
def test_numbers_match(reference, test, same):
    assert numbers_match(reference, test) is same


def run_nbval(tmp_path: Path, stored: str, printed: str) -> subprocess.CompletedProcess:
    cell = new_code_cell(f"print({printed!r})", execution_count=1)
    cell.outputs = [new_output("stream", name="stdout", text=stored + "\n")]
    nb = new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval",
            "--nbval-current-env",
            "-p",
            "tests.nbval_tolerance",
            "-p",
            "no:cacheprovider",
            "-q",
            str(path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_nbval_with_the_plugin_accepts_a_flipped_last_digit_and_nothing_more(tmp_path):
    assert run_nbval(tmp_path, "max 0.443", "max 0.442").returncode == 0
    failed = run_nbval(tmp_path, "max 0.443, 12 wrong", "max 0.443, 13 wrong")
    assert failed.returncode == 1 and "13 wrong" in failed.stdout
