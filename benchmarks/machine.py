"""What machine a measurement ran on: its CPU (and widest vector instruction set), cores, git commit.

Shared by the benchmarks and by ``tools/train_book_models.py``, which records the machine
that trained the shipped networks.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpuinfo() -> tuple[str, set[str]]:
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    return name, flags


def cpu_model() -> str:
    """The CPU's model name, e.g. ``"AMD EPYC"``."""
    return _cpuinfo()[0]


def cpu_isa() -> str:
    """The widest x86 vector instruction set the CPU has (``"AVX512F"``, ``"AVX2"``, ...), or ``""``.

    It decides how a CPU rounds in vectorised kernels, so networks trained on machines with
    different ones differ in the last bits.
    """
    flags = _cpuinfo()[1]
    return next((f.upper() for f in ("avx512f", "avx2", "avx", "sse4_2") if f in flags), "")


def cpu_description() -> str:
    """``"AMD EPYC (AVX2), 2 usable cores"``."""
    isa = cpu_isa()
    return f"{cpu_model()}{f' ({isa})' if isa else ''}, {usable_cpus()} usable cores"


def usable_cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere every core counts
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


def git_commit() -> str | None:
    """The checked-out commit (with "+changes" when the working tree differs), or None outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if dirty else "")
