"""One control group per notebook: its memory (shared memory and its home's tmpfs included) and its process count.

``prlimit``'s limits hold per process; a notebook that starts three processes gets three times
its memory. A control group holds the whole notebook: every process the kernel starts stays in
it. :func:`make` creates one (cgroup v2 when its memory and pids controllers are delegated, else
the v1 memory and pids hierarchies, as on hybrid hosts), :meth:`Group.command` puts the sandbox
in it before bubblewrap starts, and :meth:`Group.remove` kills what is left and removes it.
The grader needs root for this; :func:`available` says whether this machine can.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

V1 = Path("/sys/fs/cgroup")
_names = itertools.count()


def _v2_root() -> Path | None:
    """A cgroup v2 folder with the memory and pids controllers enabled for its children, if writable."""
    for mount in (V1, V1 / "unified"):
        try:
            enabled = (mount / "cgroup.subtree_control").read_text().split()
        except OSError:
            continue
        if {"memory", "pids"} <= set(enabled) and os.access(mount, os.W_OK):
            return mount
    return None


def available() -> str:
    """``"v2"``, ``"v1"``, or ``""`` when this process cannot make a cgroup with memory and pids limits."""
    if os.geteuid() != 0:
        return ""
    if _v2_root() is not None:
        return "v2"
    if all(os.access(V1 / c, os.W_OK) and (V1 / c / "cgroup.procs").exists() for c in ("memory", "pids")):
        return "v1"
    return ""


@dataclass
class Group:
    """A notebook's cgroup: the folders whose ``cgroup.procs`` take the sandbox's first process."""

    folders: tuple[Path, ...]

    def command(self) -> list[str]:
        """The prefix of the sandbox's command line that moves it into this group, then runs the rest."""
        script = 'for f in "$@"; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 111; shift; done; shift; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *(str(f / "cgroup.procs") for f in self.folders), "--"]

    def pids(self) -> set[int]:
        """The processes in the group now."""
        found: set[int] = set()
        for f in self.folders:
            try:
                found |= {int(p) for p in (f / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                continue
        return found

    def remove(self, timeout: float = 10) -> bool:
        """Kill every process left in the group and remove it; True once it is gone."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.pids()
            if not left:
                break
            if time.monotonic() > deadline:
                return False
            for pid in left:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        for f in self.folders:
            with contextlib.suppress(OSError):
                f.rmdir()
        return not any(f.exists() for f in self.folders)


def _write(path: Path, value: object) -> None:
    if path.exists():
        path.write_text(str(value))


def make(memory: int, processes: int) -> Group | None:
    """A fresh group that holds its processes to ``memory`` bytes (no swap) and ``processes`` processes and
    threads, or None when :func:`available` says no."""
    kind = available()
    name = f"classroom-{os.getpid()}-{next(_names)}"
    if kind == "v2":
        root = _v2_root()
        assert root is not None
        folder = root / name
        folder.mkdir()
        _write(folder / "memory.max", memory)
        _write(folder / "memory.swap.max", 0)
        _write(folder / "pids.max", processes)
        return Group((folder,))
    if kind == "v1":
        mem, pids = V1 / "memory" / name, V1 / "pids" / name
        mem.mkdir()
        pids.mkdir()
        _write(mem / "memory.limit_in_bytes", memory)
        with contextlib.suppress(OSError):  # memory and swap together (no swap), where the kernel counts swap
            _write(mem / "memory.memsw.limit_in_bytes", memory)
        _write(pids / "pids.max", processes)
        return Group((mem, pids))
    return None
