"""No user namespaces inside the sandbox: a seccomp filter that bubblewrap loads before it starts the kernel.

A notebook that makes a user namespace of its own can mount a tmpfs outside its home's limit (its
pages land in the machine's shared memory) and reach kernel code an unprivileged user cannot.
:func:`program` is a classic BPF program for ``bwrap --seccomp FD``: ``unshare`` and ``clone``
with ``CLONE_NEWUSER`` fail with EPERM, ``clone3`` (whose flags a filter cannot read) fails with
ENOSYS, so that the C library falls back on ``clone``, and the x32 system-call numbers fail too.
Everything else is allowed. It is written for x86-64 (:func:`supported`).
"""

from __future__ import annotations

import errno
import platform
import struct

CLONE_NEWUSER = 0x10000000
AUDIT_ARCH_X86_64 = 0xC000003E
X32_BIT = 0x40000000
NR = {"clone": 56, "unshare": 272, "clone3": 435}  # x86-64
_LD_W_ABS, _JEQ, _JSET, _RET = 0x20, 0x15, 0x45, 0x06
ALLOW = 0x7FFF0000
KILL = 0x80000000  # SECCOMP_RET_KILL_PROCESS


def _errno(code: int) -> int:
    return 0x00050000 | code


def supported() -> bool:
    """Whether :func:`program` fits this machine (x86-64)."""
    return platform.machine() in ("x86_64", "AMD64")


def program() -> bytes:
    """The filter, as the ``struct sock_filter`` array bwrap reads from its ``--seccomp`` file descriptor."""
    insns = [
        (_LD_W_ABS, 0, 0, 4),  # 0: the architecture
        (_JEQ, 1, 0, AUDIT_ARCH_X86_64),  # 1: x86-64 -> 3
        (_RET, 0, 0, KILL),  # 2: another ABI (i386 through int 0x80): kill
        (_LD_W_ABS, 0, 0, 0),  # 3: the system call's number
        (_JSET, 0, 1, X32_BIT),  # 4: an x32 call -> 5, else -> 6
        (_RET, 0, 0, _errno(errno.ENOSYS)),  # 5
        (_JEQ, 0, 1, NR["clone3"]),  # 6: clone3 -> 7, else -> 8
        (_RET, 0, 0, _errno(errno.ENOSYS)),  # 7: the C library falls back on clone
        (_JEQ, 1, 0, NR["unshare"]),  # 8: unshare -> 10
        (_JEQ, 0, 2, NR["clone"]),  # 9: clone -> 10, else -> 12
        (_LD_W_ABS, 0, 0, 16),  # 10: the first argument's low 32 bits (the flags)
        (_JSET, 1, 0, CLONE_NEWUSER),  # 11: a new user namespace -> 13
        (_RET, 0, 0, ALLOW),  # 12
        (_RET, 0, 0, _errno(errno.EPERM)),  # 13
    ]
    return b"".join(struct.pack("<HBBI", *i) for i in insns)
