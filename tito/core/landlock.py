"""Linux Landlock through ctypes: restrict what the current process (and its children) may open.

Landlock is an unprivileged allow-list of file-system access (Linux ≥ 5.13): after
`restrict_self`, a path can only be opened with the rights granted on it or on one of its parent
directories, whoever the process runs as (root included), and the restriction cannot be lifted.
Each kernel release adds rights (its *ABI* version); rights the running kernel does not know are
masked off, so the same code runs on every ABI and stays as strict as that kernel allows.

The grader calls `restrict(read=..., write=..., devices=...)` in the kernel process before
ipykernel starts (tito/core/sandbox.py). `abi()` is 0 where Landlock is unavailable (another OS,
an old kernel, Landlock disabled); `restrict` then raises `Unavailable` and the caller falls back.
"""
from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

# syscall numbers: the same on x86_64, aarch64 and every architecture using the unified table
# (alpha adds 110); see include/uapi/asm-generic/unistd.h.
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

# file-system access rights (include/uapi/linux/landlock.h) and the ABI that introduced them
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
FS_LATEST = (1 << 16) - 1                        # ABI 5 and later: + IOCTL_DEV
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV   # the only rights a file (not a dir) takes
# scopes (ABI 6): no signals to, and no abstract unix sockets of, processes outside the sandbox
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

# network access rights (ABI 4): TCP only
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
RULE_NET_PORT = 2

READ = EXECUTE | READ_FILE | READ_DIR
DEVICE = READ_FILE | WRITE_FILE | TRUNCATE | IOCTL_DEV


class Unavailable(OSError):
    """Landlock can't be used here (the reason is the message)."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1                                   # __attribute__((packed)) in the kernel header
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPortAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def _libc():
    if not sys.platform.startswith("linux"):
        raise Unavailable(f"Landlock is Linux-only (this is {sys.platform})")
    import platform

    if platform.machine().startswith("alpha"):
        raise Unavailable("Landlock syscall numbers differ on alpha")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi() -> int:
    """The running kernel's Landlock ABI version; 0 when Landlock is unavailable."""
    try:
        return _abi(_libc())
    except Unavailable:
        return 0


def _abi(libc) -> int:
    version = libc.syscall(ctypes.c_long(SYS_CREATE_RULESET), None, ctypes.c_size_t(0),
                           ctypes.c_uint32(CREATE_RULESET_VERSION))
    return max(int(version), 0)


def handled_fs(version: int) -> int:
    return FS_BY_ABI.get(version, FS_LATEST) if version > 0 else 0


def _paths(items) -> list[Path]:
    """Existing paths, symlinks resolved (a rule applies to the file it opens), no duplicates."""
    seen, out = set(), []
    for item in items:
        try:
            path = Path(item).resolve()
        except (OSError, RuntimeError):
            continue
        if path.exists() and path not in seen:
            seen.add(path)
            out.append(path)
    return out


def restrict(read=(), write=(), devices=(), bind_ports=None) -> int:
    """Allow only: reading/executing beneath `read`, everything beneath `write`, read/write/ioctl
    on the device files `devices`. Everything else is refused from now on, for this process and
    every process it starts. With `bind_ports` (a list) and ABI ≥ 4, TCP is restricted too: bind
    only on those ports, connect nowhere. Returns the ABI version in force; raises Unavailable
    when it can't."""
    libc = _libc()
    version = _abi(libc)
    if version < 1:
        raise Unavailable("this kernel has no Landlock (Linux ≥ 5.13 with landlock in the LSM list)")
    handled = handled_fs(version)
    net = NET_BIND_TCP | NET_CONNECT_TCP if bind_ports is not None and version >= 4 else 0
    attr = _RulesetAttr(handled_access_fs=handled, handled_access_net=net,
                        scoped=(SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if version >= 6 else 0)
    # the struct grew with the ABI: fs only (1-3), + net (4-5), + scoped (6+)
    size = 8 * (1 if version < 4 else 2 if version < 6 else 3)
    ruleset = libc.syscall(ctypes.c_long(SYS_CREATE_RULESET), ctypes.byref(attr), ctypes.c_size_t(size),
                           ctypes.c_uint32(0))
    if ruleset < 0:
        raise Unavailable(f"landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())}")
    try:
        rules = [(p, READ) for p in _paths(read)] + [(p, handled) for p in _paths(write)] + \
                [(p, DEVICE) for p in _paths(devices)]
        for path, access in rules:
            access &= handled if path.is_dir() else (handled & FILE_RIGHTS)
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                rule = _PathBeneathAttr(allowed_access=access, parent_fd=fd)
                if libc.syscall(ctypes.c_long(SYS_ADD_RULE), ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH),
                                ctypes.byref(rule), ctypes.c_uint32(0)) < 0:
                    raise Unavailable(f"landlock_add_rule({path}) failed: {os.strerror(ctypes.get_errno())}")
            finally:
                os.close(fd)
        for port in sorted(set(bind_ports or ())) if net else ():
            rule = _NetPortAttr(allowed_access=NET_BIND_TCP, port=int(port))
            if libc.syscall(ctypes.c_long(SYS_ADD_RULE), ctypes.c_int(ruleset), ctypes.c_int(RULE_NET_PORT),
                            ctypes.byref(rule), ctypes.c_uint32(0)) < 0:
                raise Unavailable(f"landlock_add_rule(port {port}) failed: {os.strerror(ctypes.get_errno())}")
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise Unavailable(f"prctl(PR_SET_NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}")
        if libc.syscall(ctypes.c_long(SYS_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            raise Unavailable(f"landlock_restrict_self failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(ruleset)
    return version
