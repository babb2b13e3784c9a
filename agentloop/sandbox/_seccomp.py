"""A seccomp filter for bwrap runs: refuse the kernel objects whose memory no rlimit counts.

Without a cgroup, memory is bounded by RLIMIT_AS per process times RLIMIT_NPROC plus the sized
tmpfs mounts. Three kinds of kernel object escape that sum, so the filter refuses to create them
(EPERM; nothing in Python or pytest needs them):

- SysV shared memory (`shmget`): tmpfs-backed segments that outlive their attachment; measured,
  512 MB written from a process capped at 256 MB of address space;
- SysV message queues (`msgget`): up to msgmni x msgmnb (~512 MB) in a fresh IPC namespace;
- `memfd_create` / `memfd_secret`: anonymous tmpfs files filled with write(), each up to
  RLIMIT_FSIZE, as many as there are file descriptors.

POSIX shared memory (`shm_open`, used by multiprocessing) lives in the sized /dev/shm and keeps
working. The program is classic BPF, built here byte by byte (no libseccomp needed), and handed to
bwrap through a pipe (`--seccomp FD`). Syscalls of another ABI (i386, x32 on x86_64) are refused
outright: their numbers differ, and a filter that only knows the native table could be bypassed.
"""

from __future__ import annotations

import os
import platform
import struct

# Linux audit arch values and the syscall numbers refused, per native architecture.
_ARCHES: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (0xC000003E, {"shmget": 29, "msgget": 68, "memfd_create": 319, "memfd_secret": 447}),
    "aarch64": (0xC00000B7, {"shmget": 194, "msgget": 186, "memfd_create": 279, "memfd_secret": 447}),
}
_X32_SYSCALL_BIT = 0x40000000

# classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h)
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_EPERM = 1
_OFF_NR, _OFF_ARCH = 0, 4  # struct seccomp_data: int nr; __u32 arch; ...

DENIED = ("shmget", "msgget", "memfd_create", "memfd_secret")


def supported() -> bool:
    """Whether this machine's architecture has a syscall table here."""
    return platform.machine() in _ARCHES


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def filter_program(machine: str | None = None) -> bytes:
    """The BPF program (struct sock_filter[]) that refuses DENIED with EPERM and allows the rest."""
    machine = machine or platform.machine()
    if machine not in _ARCHES:
        raise ValueError(f"no seccomp syscall table for {machine!r}")
    arch, numbers = _ARCHES[machine]
    # Each check jumps to `deny` when it matches; one that falls through them all reaches `allow`.
    checks = [(_JGE_K, _X32_SYSCALL_BIT)] if machine == "x86_64" else []  # x32: same arch, bit 30 set
    checks += [(_JEQ_K, numbers[name]) for name in DENIED]
    # Layout: 0 load arch, 1 arch check, 2 load nr, 3.. checks, then allow, then deny.
    deny_at = 3 + len(checks) + 1
    program = [_insn(_LD_W_ABS, 0, 0, _OFF_ARCH),
               _insn(_JEQ_K, 0, deny_at - 2, arch),  # jumps count from the next instruction
               _insn(_LD_W_ABS, 0, 0, _OFF_NR)]
    for at, (op, k) in enumerate(checks, start=3):
        program.append(_insn(op, deny_at - at - 1, 0, k))
    program += [_insn(_RET_K, 0, 0, _RET_ALLOW), _insn(_RET_K, 0, 0, _RET_ERRNO | _EPERM)]
    assert len(program) == deny_at + 1, "jump offsets assume this layout"
    return b"".join(program)


def program_fd() -> int:
    """A pipe's read end holding the program, ready for `bwrap --seccomp FD` (the caller closes it)."""
    program = filter_program()
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, program)  # a few hundred bytes: always fits the pipe buffer
    finally:
        os.close(write_end)
    return read_end
