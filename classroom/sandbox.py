"""One sandbox per notebook: bubblewrap, a throwaway home, no network, limits, and nothing left running.

The kernel that runs a submission is started by the command :meth:`Sandbox.wrap` builds:

* ``bwrap`` with new PID, network, IPC and UTS namespaces: the notebook sees only its own
  processes and has no network at all (not even the host's loopback). bwrap's own init is the
  namespace's PID 1 and the kernel its child: when the grader kills bwrap
  (``--die-with-parent``), the init dies and the Linux kernel kills every process of the
  namespace with it. (With ``--as-pid-1`` the kernel would be PID 1 itself, and a PID 1 does
  not receive the SIGINT that interrupts a cell past its time limit.)
* a read-only view of what Python needs (``/usr``, ``/etc``, the interpreter, the virtualenv)
  and of the book's packages alone (camlib, cambook); the only writable folder is the
  notebook's own home, a fresh temporary directory; the submissions, the grades, the grader's
  code, the shared model cache and the teacher's home are simply not there;
* as root, ``setpriv`` to the unprivileged user ``nobody`` with every capability dropped, then
  ``prlimit``: address space, CPU seconds, processes (and threads) and file size.

The kernel talks to the grader over Unix sockets in a folder bound into the sandbox (ZeroMQ's
IPC transport), since a new network namespace has no usable TCP at all.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroups, seccomp

SANDBOX_UID = 65534  # nobody: the sandbox of slot 0 (one notebook at a time)
SLOT_UIDS = 61000  # slot k > 0 (notebooks graded at the same time) runs as uid SLOT_UIDS + k: a user of its own
HOME = "/home/student"  # the notebook's home inside the sandbox
LIBRARY = "/opt/classroom"  # each of the book's packages is bound at LIBRARY/<its name>


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made on this machine (the message says why, and what to do)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one notebook's kernel (``prlimit``); the defaults fit the book's chapters."""

    memory: int = 8 * 2**30  # bytes of address space (torch alone maps about 3 GiB)
    cpu_seconds: int = 1200  # CPU time of the kernel process, all its threads together
    processes: int = 256  # processes and threads of the sandbox's user
    file_size: int = 512 * 2**20  # bytes, the largest file it may write
    disk: int = 1 * 2**30  # bytes its home (a tmpfs of its own) may hold in all
    inodes: int = 20_000  # files and folders its home may hold
    shm: int = 256 * 2**20  # bytes of shared memory (/dev/shm, a tmpfs of its own)
    threads: int = 0  # compute threads of torch and NumPy (0: their default, every core)
    ram: int = 4 * 2**30  # bytes of memory of the whole notebook (all its processes, shared memory and home
    # included), when a cgroup can be made (:mod:`classroom.cgroups`)

    def describe(self) -> str:
        """The limits in words, for the summary."""
        return (
            f"memory {self.memory / 2**30:g} GiB, CPU {self.cpu_seconds} s, {self.processes} processes, "
            f"files up to {self.file_size / 2**20:g} MiB, home {self.disk / 2**30:g} GiB and "
            f"{self.inodes} files, shared memory {self.shm / 2**20:g} MiB, "
            f"{self.ram / 2**30:g} GiB for the whole notebook where a cgroup can be made"
        )


def missing_protections() -> list[str]:
    """What this machine cannot give each sandbox, in words (empty when everything is there).

    A home of limited size needs root (a tmpfs mounted per notebook); a uid of its own per concurrent
    grading needs root; blocking user namespaces inside the sandbox needs x86-64 (:mod:`classroom.seccomp`)
    or ``user.max_user_namespaces=0`` on the host; memory and process
    limits for the whole notebook (not per process) need cgroup v2 with the memory and pids controllers
    delegated, or the v1 memory and pids hierarchies (else ``prlimit``'s per-process limits apply)."""
    missing = []
    root = os.geteuid() == 0
    if not root:
        missing.append("a size-limited home (disk bytes and inodes): needs root")
        missing.append("a uid of its own per concurrent grading: needs root")
    try:
        userns = int(Path("/proc/sys/user/max_user_namespaces").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        userns = 1
    if userns and not seccomp.supported():
        missing.append(
            "user namespaces inside the sandbox are not blocked (the seccomp filter is written for "
            "x86-64; set user.max_user_namespaces=0 on this grading machine)"
        )
    if not cgroups.available():
        missing.append(
            "one cgroup per notebook (memory incl. shared memory, processes): neither cgroup v2 with "
            "the memory and pids controllers nor the v1 memory and pids hierarchies can be written "
            "here (root needed), so the limits are per process"
        )
    return missing


def _merged_usr_links() -> list[str]:
    """``--symlink`` or ``--ro-bind`` for /bin, /lib, ... as the host has them."""
    args: list[str] = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def python_trees() -> list[tuple[Path, Path]]:
    """The folders the running Python needs, as (host folder, where it is bound): the virtualenv and the
    interpreter it was made from. A virtualenv reached through a symlink is bound at its real path and at
    the symlink's path too, since its scripts and ``pyvenv.cfg`` may name either."""
    found: list[tuple[Path, Path]] = []
    paths = [Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)]
    paths += [Path(sys.executable).resolve().parent.parent, Path(sys.executable).absolute().parent.parent]
    for p in paths:
        for where in dict.fromkeys((p.absolute(), p.resolve())):
            if where.is_relative_to("/usr") and where.resolve().is_relative_to("/usr"):
                continue
            if any(where == w or where.is_relative_to(w) for _, w in found):
                continue
            found = [(r, w) for r, w in found if not w.is_relative_to(where)] + [(where.resolve(), where)]
    return found


def _dirs(path: str) -> list[str]:
    """``--dir`` (mode 0755) for every ancestor of ``path``: bwrap would make them 0700."""
    parts = Path(path).parts[1:-1]
    out: list[str] = []
    for i in range(len(parts)):
        out += ["--perms", "0755", "--dir", "/" + "/".join(parts[: i + 1])]
    return out


@dataclass
class Sandbox:
    """The sandbox of one notebook. ``root`` is a fresh host folder of the grader's that holds the
    notebook's home (``root/home``, bound read-write at :data:`HOME`) and the kernel's socket folder
    (``root/ipc``, bound at the same path)."""

    root: Path
    limits: Limits
    packages: tuple[Path, ...]  # package folders, each bound read-only at LIBRARY/<folder name>
    slot: int = 0  # which of the notebooks graded at the same time: its own uid
    group: cgroups.Group | None = field(default=None, init=False)  # its cgroup, from prepare() to release()

    @property
    def uid(self) -> int:
        """The user the notebook runs as (when the grader is root): one per concurrent grading."""
        return SANDBOX_UID if self.slot == 0 else SLOT_UIDS + self.slot

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def ipc(self) -> Path:
        return self.root / "ipc"

    def prepare(self) -> None:
        """Make the home (a tmpfs of :attr:`Limits.disk` bytes and :attr:`Limits.inodes` files when root) and
        the socket folder, owned by the sandbox's user; and its cgroup, where this machine allows one."""
        self.home.mkdir(parents=True, exist_ok=True)
        if self.group is None:
            self.group = cgroups.make(self.limits.ram, self.limits.processes + 64)  # + bwrap, sh, setpriv
        if os.geteuid() == 0 and not os.path.ismount(self.home):
            saved = self.root / "home-files"
            shutil.move(str(self.home), saved)
            self.home.mkdir()
            subprocess.run(
                [
                    "mount",
                    "-t",
                    "tmpfs",
                    "-o",
                    f"size={self.limits.disk},nr_inodes={self.limits.inodes},mode=0700,nosuid,nodev",
                    "tmpfs",
                    str(self.home),
                ],
                check=True,
                capture_output=True,
            )
            for item in saved.iterdir():
                shutil.move(str(item), self.home / item.name)
            shutil.rmtree(saved, ignore_errors=True)
        for d in (
            self.home,
            self.ipc,
            self.home / "work",
            self.home / ".tmp",
            self.home / ".cache" / "camlib",
            self.home / ".config" / "matplotlib",
        ):
            d.mkdir(parents=True, exist_ok=True)
        self.share(self.home)
        self.share(self.ipc)

    def share(self, path: Path) -> None:
        """Hand ``path`` (and what is under it) to the sandbox's user."""
        if os.geteuid() != 0:
            return
        for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
            os.chown(p, self.uid, self.uid, follow_symlinks=False)

    def seal_ipc(self) -> None:
        """Once the kernel has made its sockets: hand them and their folder to root, folder sticky, so that the
        notebook can neither replace a socket (with a symlink to a host socket, say) nor rename one.
        Refuses a socket path that is not a socket."""
        if os.geteuid() != 0:
            return
        import stat

        for p in self.ipc.iterdir():
            info = p.lstat()
            if stat.S_ISLNK(info.st_mode):
                raise RuntimeError(f"the kernel's socket {p.name} is a symlink: refusing to talk to it")
            os.chown(p, 0, 0, follow_symlinks=False)
        os.chown(self.ipc, 0, 0)
        os.chmod(self.ipc, 0o1733)

    def release(self) -> bool:
        """Remove its cgroup (killing what is left in it) and unmount the home's tmpfs (if :meth:`prepare` made
        them). False if some process of the cgroup could not be killed."""
        gone = True
        if self.group is not None:
            gone = self.group.remove()
            self.group = None
        if os.geteuid() == 0 and os.path.ismount(self.home):
            subprocess.run(["umount", "-l", str(self.home)], capture_output=True)
        return gone

    def env(self) -> dict[str, str]:
        """The environment of the kernel inside the sandbox."""
        venv_bin = str(Path(sys.prefix) / "bin")
        threads = (
            {k: str(self.limits.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
            if self.limits.threads
            else {}
        )
        return {
            **threads,
            "HOME": HOME,
            "TMPDIR": f"{HOME}/.tmp",
            "PYTHONPATH": LIBRARY,
            "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "CAMLIB_CACHE": f"{HOME}/.cache/camlib",
            "MPLCONFIGDIR": f"{HOME}/.config/matplotlib",
            "MPLBACKEND": "agg",
            "LANG": "C.UTF-8",
            "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
            "USER": "student",
        }

    def wrap(self, command: Sequence[str], cwd: str = f"{HOME}/work") -> list[str]:
        """``command`` (run inside) as the full bwrap command line."""
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailable(no_bwrap_message())
        args = [
            bwrap,
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "sandbox",
            "--ro-bind",
            "/usr",
            "/usr",
            *_merged_usr_links(),
            "--ro-bind",
            "/etc",
            "/etc",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--perms",
            "01777",
            "--size",
            str(self.limits.shm),
            "--tmpfs",
            "/dev/shm",
        ]  # shared memory, capped
        if os.geteuid() != 0:
            args[1:1] = ["--unshare-user"]
        for real, where in python_trees():
            args += [*_dirs(str(where) + "/x"), "--ro-bind", str(real), str(where)]
        for package in self.packages:
            args += [*_dirs(f"{LIBRARY}/{package.name}"), "--ro-bind", str(package), f"{LIBRARY}/{package.name}"]
        args += [*_dirs(HOME), "--bind", str(self.home), HOME]
        args += [*_dirs(str(self.ipc)), "--bind", str(self.ipc), str(self.ipc)]
        args += ["--chdir", cwd, "--clearenv"]
        for key, value in self.env().items():
            args += ["--setenv", key, value]
        if seccomp.supported():  # no user namespaces inside: the filter comes on fd 9, opened by the shell below
            filter_file = self.root / "seccomp.bpf"
            filter_file.write_bytes(seccomp.program())
            args += ["--seccomp", "9"]
            prefix = ["/bin/sh", "-c", 'exec 9<"$1"; shift; exec "$@"', "sh", str(filter_file)]
        else:
            prefix = []
        args += ["--", *self.drop_privileges(), *self.prlimit(), *command]
        return prefix + (self.group.command() if self.group is not None else []) + args

    def drop_privileges(self) -> list[str]:
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        if os.geteuid() != 0:
            return []
        return [
            setpriv,
            f"--reuid={self.uid}",
            f"--regid={self.uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
        ]

    def prlimit(self) -> list[str]:
        nproc = self.limits.processes + (0 if os.geteuid() == 0 else _threads_of(os.getuid()))
        return [
            shutil.which("prlimit") or "/usr/bin/prlimit",
            f"--as={self.limits.memory}",
            f"--cpu={self.limits.cpu_seconds}",
            f"--nproc={nproc}",
            f"--fsize={self.limits.file_size}",
            "--core=0",
            "--",
        ]


def _threads_of(uid: int) -> int:
    """Threads the user ``uid`` runs now (RLIMIT_NPROC counts them all, sandbox or not)."""
    n = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                status = Path(entry.path, "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if fields.get("Uid", "").split()[:1] == [str(uid)]:
                n += int(fields.get("Threads", "1"))
    return n


def no_bwrap_message() -> str:
    return (
        "bubblewrap is not installed: `apt-get install bubblewrap` (Debian/Ubuntu) gives each notebook a "
        "sandbox. To grade without one, on a machine that holds nothing else, pass --unsafe."
    )


def check_available() -> None:
    """Raise :class:`SandboxUnavailable` unless a sandbox can be made here (a trial run of ``true``)."""
    if sys.platform != "linux":
        raise SandboxUnavailable(
            "the sandbox needs Linux (bubblewrap and namespaces); pass --unsafe to grade "
            "without one, on a machine that holds nothing else."
        )
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable(no_bwrap_message())
    for tool in ("prlimit",) + (("setpriv",) if os.geteuid() == 0 else ()):
        if shutil.which(tool) is None:
            raise SandboxUnavailable(f"`{tool}` (util-linux) is missing: install util-linux, or pass --unsafe.")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="classroom-probe-") as tmp:
        box = Sandbox(Path(tmp), Limits(), (Path(__file__).resolve().parent,))  # any package folder will do
        try:
            box.prepare()
            run = subprocess.run(
                box.wrap([sys.executable, "-c", "import os; print(os.getpid() < 10)"], cwd=HOME),
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            box.release()
    if run.returncode != 0 or run.stdout.strip() != "True":  # a PID of its own namespace
        why = " ".join(run.stderr.split())[:300] or f"exit status {run.returncode}"
        links = [f"{where} is a symlink to {real}" for real, where in python_trees() if real != where]
        if "execute" in why and links:
            raise SandboxUnavailable(
                f"bubblewrap could not start Python in the sandbox ({why}); the cause is the "
                f"virtualenv: {'; '.join(links)}. Make the virtualenv a real folder (python -m "
                "venv at its final place) or run the grader with the real path's python."
            )
        raise SandboxUnavailable(
            f"bubblewrap is installed but could not make a sandbox here ({why}); "
            "on a container, allow user and PID namespaces, or pass --unsafe."
        )


# -- every process gone ------------------------------------------------------------------------------
def pid_namespace(pid: int) -> str | None:
    """The PID namespace of process ``pid`` (e.g. ``'pid:[4026532]'``), or None if it is gone."""
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def children(pid: int) -> list[int]:
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def members(namespace: str) -> dict[int, str]:
    """The processes in PID namespace ``namespace``, with their command lines."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and pid_namespace(int(entry.name)) == namespace:
            try:
                cmd = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                cmd = "?"
            found[int(entry.name)] = cmd[:120]
    return found


def kill_namespace(namespace: str, timeout: float = 10) -> bool:
    """SIGKILL every process left in ``namespace``; True once none is left."""
    deadline = time.monotonic() + timeout
    while True:
        left = members(namespace)
        if not left:
            return True
        if time.monotonic() > deadline:
            return False
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
