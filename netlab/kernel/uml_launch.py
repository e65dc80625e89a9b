"""Start user-mode Linux 6.1 on hosts whose FPU state is larger than UML 6.1 knows (AVX-512, AMX).

UML 6.1 probes for XSTATE with ptrace(PTRACE_GETREGSET, NT_X86_XSTATE) and later writes the state back
with PTRACE_SETREGSET and a buffer of its own fixed size; a host kernel whose full xstate is larger
(AVX-512: about 2.7 KB, AMX: about 11 KB) refuses the write with EFAULT and the guest's init dies at
once ("ptrace set fp regs failed, errno = 14"). Upstream fixed it in 2024 ("um: switch to regset API and
depend on XSTATE"); Debian 12's 6.1 does not have the fix.

Run as `python -S uml_launch.py LINUX ARGS...`: it installs a seccomp filter that makes exactly that
probe fail with EIO (UML then uses PTRACE_GETFPREGS/SETFPREGS, the legacy x87/SSE area) and execs LINUX.
That area does not hold the upper halves of the AVX registers, which a guest page fault then loses:
the caller also tells the guest's glibc, OpenSSL and Go runtime not to use AVX (GUEST_ENV), which every program
of netlab's guest (sh, python3, iptables, nft, modprobe, the CNI plugins) honours. Standard library only, no
netlab import: this file runs as a script before the kernel starts.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
AUDIT_ARCH_X86_64 = 0xC000003E
NR_PTRACE = 101  # x86_64
PTRACE_GETREGSET = 0x4204
NT_X86_XSTATE = 0x202
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_RET_K = 0x06
#: struct seccomp_data: int nr @0, u32 arch @4, u64 ip @8, u64 args[6] @16 (little endian)
OFF_NR, OFF_ARCH, OFF_ARGS = 0, 4, 16

#: kernel command-line words the guest's init receives as environment: glibc picks no AVX string
#: functions, OpenSSL no AVX code paths, Go's runtime (the CNI plugins) no AVX memmove ("fatal error: unknown
#: caller pc" otherwise)
GUEST_ENV = {
    "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD,-FMA,-FMA4,"
    "-AVX_Fast_Unaligned_Load",
    "OPENSSL_ia32cap": "~0x1000000000000000:0x0",
    "GODEBUG": "cpu.avx=off,cpu.avx2=off",
}
#: CPU flags whose state UML 6.1's buffer cannot hold
LARGE_XSTATE_FLAGS = ("avx512f", "amx_tile")


def needed(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """True on an x86_64 host whose CPU has AVX-512 or AMX."""
    if os.uname().machine != "x86_64":
        return False
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return any(flag in line.split() for flag in LARGE_XSTATE_FLAGS)
    except OSError:
        pass
    return False


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def program() -> list[tuple[int, int, int, int]]:
    """Classic BPF: arch, syscall, request (both halves) and note type (both halves) must all match for
    ERRNO(EIO); any mismatch jumps to ALLOW."""
    checks = [
        (OFF_ARCH, AUDIT_ARCH_X86_64),
        (OFF_NR, NR_PTRACE),
        (OFF_ARGS, PTRACE_GETREGSET),
        (OFF_ARGS + 4, 0),
        (OFF_ARGS + 16, NT_X86_XSTATE),
        (OFF_ARGS + 20, 0),
    ]
    prog = []
    for i, (offset, value) in enumerate(checks):
        prog.append((BPF_LD_W_ABS, 0, 0, offset))
        prog.append((BPF_JEQ_K, 0, (len(checks) - 1 - i) * 2 + 1, value))  # no: to ALLOW
    prog.append((BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.EIO))
    prog.append((BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    return prog


def install() -> None:
    prog = program()
    insns = (_SockFilter * len(prog))(*[_SockFilter(*p) for p in prog])
    fprog = _SockFprog(len(prog), ctypes.cast(insns, ctypes.POINTER(_SockFilter)))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0:
        return
    if ctypes.get_errno() == errno.EACCES:  # without CAP_SYS_ADMIN a filter needs no_new_privs
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0)
        if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0:
            return
    e = ctypes.get_errno()
    raise OSError(e, f"prctl(PR_SET_SECCOMP): {os.strerror(e)}")


if __name__ == "__main__":
    install()
    os.execv(sys.argv[1], sys.argv[1:])
