"""A Jupyter kernel for one submission: started in its sandbox, fed cells with time limits, then ended.

:class:`Session` is used as a context manager. Inside, :meth:`Session.run` executes one cell and
says how it went (``ok``, ``error``, ``timeout``, ``stuck`` or ``died``) with the outputs the
grader keeps: errors, and the harness's answers. Everything else a notebook prints is dropped
as it arrives, so that a notebook cannot flood the grader's memory. On exit the kernel is
killed and, when sandboxed, every process of its PID namespace is gone before it returns;
what was still running is listed in :attr:`Session.stragglers`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import zmq
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from . import sandbox as sb
from .harness import MIME

INTERRUPT_GRACE = 10  # seconds a kernel gets to answer again after an interrupt
IOPUB_GRACE = 10  # seconds to wait for a cell's last output after its reply
STARTUP_TIMEOUT = 120
MAX_MESSAGE = 16 * 2**20  # bytes: a larger message from the kernel is dropped by ZeroMQ (on the client's sockets)
MAX_KEPT = 8  # outputs kept per cell (errors and answers)
BYTE_BUDGET = 64 * 2**20  # bytes of output text and data one notebook may send the grader in all; then dropped
KERNEL_NAME = "classroom-sandbox"
_TIME_LIMIT = "ClassroomTimeLimit"  # the ename nbclient reports for a cell past its time limit


def _size(content: Any) -> int:
    """About how many bytes of text a message's content holds (strings counted, nesting walked, no copy)."""
    total, stack, seen = 0, [content], 0
    while stack and seen < 10_000:
        item = stack.pop()
        seen += 1
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return total


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)


class _Client(NotebookClient):
    """nbclient, keeping only errors and the answers that carry the expected nonce, each one cut to size, within a
    byte budget for the whole notebook (what comes out of the sandbox is hostile input)."""

    nonce: str | None = None  # the nonce of the request being run; answers without it are dropped
    budget: int = BYTE_BUDGET
    refused: list[str] = []

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
        kind, content = msg["msg_type"], msg["content"]
        self.budget -= _size(content)
        if self.budget < 0:
            _note(self.refused, f"it sent more than {BYTE_BUDGET // 2**20} MiB of output: the rest was dropped")
            return None
        if len(outs) >= MAX_KEPT:
            return None
        if kind == "display_data" and MIME in content.get("data", {}):
            answer = content["data"][MIME]
            if self.nonce is None or not isinstance(answer, dict) or answer.get("nonce") != self.nonce:
                _note(self.refused, "it published answers that the grader did not ask for (dropped)")
                return None
        if kind == "error":
            out = nbformat.v4.new_output(
                "error",
                ename=str(content.get("ename", ""))[:200],
                evalue=str(content.get("evalue", ""))[:1000],
                traceback=[],
            )
        elif kind == "display_data" and MIME in content.get("data", {}):
            out = nbformat.v4.new_output("display_data", data={MIME: content["data"][MIME]})
        else:
            return None
        outs.append(out)
        return out


class SandboxedKernelManager(AsyncKernelManager):
    """Hands the connection file to the sandbox's user once written (the kernel reads it there)."""

    box: sb.Sandbox | None = None

    def client(self, **kwargs: Any) -> Any:
        """The client, its own ZeroMQ context capping every message it receives at :data:`MAX_MESSAGE` bytes
        (the client makes a context of its own: a cap on the manager's would not reach its sockets)."""
        kc = super().client(**kwargs)
        kc.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
        return kc

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if self.box is not None:
            self.box.share(Path(self.connection_file))


def _kernel_argv() -> list[str]:
    return [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def _quiet_logger() -> logging.Logger:
    log = logging.getLogger("classroom.kernel")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
        log.propagate = False
    return log


@dataclass
class Cell:
    """How one cell ran, and the outputs kept (errors and answers)."""

    outcome: str  # ok | error | timeout | stuck | died
    outputs: list = field(default_factory=list)

    def error(self) -> Any | None:
        return next((o for o in self.outputs if o.output_type == "error"), None)

    def answers(self) -> list[Any]:
        return [o.data[MIME] for o in self.outputs if o.output_type == "display_data" and MIME in o.data]


class Session:
    """A kernel for one notebook, in ``root`` (a fresh folder of the grader's): sandboxed, or with
    ``box=None``, a plain local kernel (``--unsafe``)."""

    def __init__(self, root: Path, box: sb.Sandbox | None, cache: Path | None = None):
        self.root, self.box, self.cache = root, box, cache
        self.stragglers: dict[int, str] = {}
        self.leftover = False  # True if some process could not be killed
        self._namespace: str | None = None
        self.nb = nbformat.v4.new_notebook()
        self.client: _Client | None = None
        self._context = None
        self._own: set[int] = set()  # the sandbox's init and the kernel
        self._process: Any = None  # the launched process (bwrap, or the kernel itself)
        self._replies: dict[int, dict] = {}
        self.refused: list[str] = []  # what the kernel sent that the grader dropped

    # -- set-up -----------------------------------------------------------------------------
    def _home(self) -> Path:
        return self.box.home if self.box else self.root / "home"

    def _fill_home(self) -> None:
        """A private copy of the trained-model cache and of matplotlib's font list."""
        home = self._home()
        for d in (home / "work", home / ".tmp", home / ".cache" / "camlib", home / ".config" / "matplotlib"):
            d.mkdir(parents=True, exist_ok=True)
        if self.cache is not None and self.cache.is_dir():
            for f in self.cache.glob("*.pt"):
                if f.is_file() and not f.is_symlink():
                    shutil.copyfile(f, home / ".cache" / "camlib" / f.name)
        mpl = Path(
            os.environ.get("MPLCONFIGDIR")
            or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "matplotlib"
        )
        for f in mpl.glob("fontlist-*.json") if mpl.is_dir() else []:
            shutil.copyfile(f, home / ".config" / "matplotlib" / f.name)

    def _manager(self) -> AsyncKernelManager:
        specs = self.root / "kernelspec"
        if self.box is None:
            argv, transport, conn = _kernel_argv(), "tcp", self.root / "kernel.json"
        else:
            self.box.prepare()
            argv, transport, conn = self.box.wrap(_kernel_argv()), "ipc", self.box.ipc / "kernel.json"
        (specs / KERNEL_NAME).mkdir(parents=True, exist_ok=True)
        (specs / KERNEL_NAME / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": argv,
                    "display_name": "classroom sandbox",
                    "language": "python",
                    "interrupt_mode": "message",
                    "env": {} if self.box else self._unsafe_env(),
                }
            )
        )
        km = SandboxedKernelManager(
            kernel_name=KERNEL_NAME,
            transport=transport,
            connection_file=str(conn),
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]),
        )
        km.box = self.box
        return km

    def _unsafe_env(self) -> dict[str, str]:
        home = self._home()
        paths = [*(str(p.parent) for p in book_packages()), *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
        return {
            "HOME": str(home),
            "TMPDIR": str(home / ".tmp"),
            "CAMLIB_CACHE": str(home / ".cache" / "camlib"),
            "MPLCONFIGDIR": str(home / ".config" / "matplotlib"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": os.pathsep.join(p for p in dict.fromkeys(paths) if p),
            "PYTHONUSERBASE": site.getuserbase(),
        }

    def __enter__(self) -> Session:
        try:
            return self._enter()
        except BaseException:
            if self.box is not None:
                self.box.release()
            raise

    def _enter(self) -> Session:
        self._fill_home()
        km = self._manager()
        self.client = _Client(
            self.nb,
            km=km,
            timeout=60,
            allow_errors=True,
            interrupt_on_timeout=True,
            shutdown_kernel="immediate",
            record_timing=False,
            error_on_timeout={"ename": _TIME_LIMIT, "evalue": "time limit", "traceback": []},
            startup_timeout=STARTUP_TIMEOUT,
            iopub_timeout=IOPUB_GRACE,
            log=_quiet_logger(),
            on_cell_executed=lambda cell, cell_index, execute_reply: self._replies.__setitem__(
                cell_index, execute_reply or {}
            ),
        )
        cwd = str(self._home() / "work")
        # cleanup_kc: nbclient kills the kernel on exit even though the manager is ours
        self._context = self.client.setup_kernel(
            cwd=cwd, cleanup_kc=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._context.__enter__()
        self.client.refused = self.refused
        if self.box is not None:
            self.box.seal_ipc()  # its sockets now belong to the grader: the notebook cannot swap them
        process = self._process = getattr(km.provisioner, "process", None)
        if self.box is not None:  # outer bwrap -> the namespace's init (bwrap) -> the kernel
            inits = sb.children(process.pid) if process is not None else []
            if inits:
                self._namespace = sb.pid_namespace(inits[0])
                self._own = {inits[0], *sb.children(inits[0])}
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._namespace is not None:
            self.stragglers = {pid: cmd for pid, cmd in sb.members(self._namespace).items() if pid not in self._own}
        with contextlib.suppress(Exception):  # a kernel that died on its own: nothing left to stop
            self._context.__exit__(None, None, None)
        if self._process is not None:
            # reap it (no zombie per graded notebook); one still there after a kill is what
            # kill_namespace below reports
            with contextlib.suppress(Exception):
                self._process.wait(timeout=10)
        if self._namespace is not None:
            self.leftover = not sb.kill_namespace(self._namespace)
        if self.box is not None:
            self.box.release()

    # -- cells --------------------------------------------------------------------------------
    def _timed_out(self, index: int) -> bool:
        return self._replies.get(index, {}).get("content", {}).get("ename") == _TIME_LIMIT

    def run(self, source: str, limit: float, nonce: str | None = None) -> Cell:
        """Execute ``source`` within ``limit`` seconds: 'ok', 'error', 'timeout' (interrupted, and the kernel
        answers again), 'stuck' (it does not) or 'died'. Only answers carrying ``nonce`` are kept."""
        client = self.client
        client.nonce = nonce
        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells.append(cell)
        index = len(self.nb.cells) - 1
        client.timeout = max(1, int(limit + 0.999))
        try:
            client.execute_cell(cell, index)
            if not self._timed_out(index):
                return Cell("error" if any(o.output_type == "error" for o in cell.outputs) else "ok", cell.outputs)
            probe = nbformat.v4.new_code_cell("pass")
            self.nb.cells.append(probe)
            client.timeout = INTERRUPT_GRACE
            client.execute_cell(probe, len(self.nb.cells) - 1)
            return Cell("stuck" if self._timed_out(len(self.nb.cells) - 1) else "timeout", cell.outputs)
        except DeadKernelError:
            return Cell("died", cell.outputs)
        except CellTimeoutError:
            return Cell("stuck", cell.outputs)


BOOK_PACKAGES = ("camlib", "cambook")  # what a notebook imports from the project


def book_packages() -> tuple[Path, ...]:
    """The folders of the packages in :data:`BOOK_PACKAGES`, as the grader itself imports them."""
    import importlib.util

    folders = []
    for name in BOOK_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not importable by the grader: install the project (pip install -e .)")
        folders.append(Path(spec.origin).resolve().parent)
    return tuple(folders)
