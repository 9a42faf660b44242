"""A pre-imported process that forks one sandboxed student process per submission.

The grading worker (tito/core/sandbox.py) forks the zygote once, right after importing NumPy and
`tinytorch` and before it has read any job, so the zygote's memory holds no test (hidden or not)
and no secret. For each run the worker sends the limits and three file descriptors (the
student's end of a socket pair, an output pipe, a status pipe); the zygote forks:

* an intermediate process that joins the run's cgroup (tito/core/cgroup.py: a process count and
  a memory cap for the whole tree), unshares a PID and a mount namespace, forks the student
  process, reports its pid and later its exit status on the status pipe;
* the student process: PID 1 of its namespace (when it ends, the kernel kills every process it
  started, `setsid` grandchildren included; nothing outside is visible in its own /proc), a new
  session, fds 1 and 2 on the output pipe, an environment of a fixed allow-list (no variable of
  the grader's), rlimits (address space, file size, CPU time, open files, processes), Landlock
  (reads only what Python needs, writes only its scratch folder, no TCP, no signals out of its
  domain), an unprivileged uid, and only then `tito.core.student` serving the judge.

Without root (or without namespaces/cgroups) the missing parts are listed in `partial`; the
process group and rlimits still apply.
"""
from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import socket
import sys
from pathlib import Path

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24

_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags):
    _check(libc().unshare(ctypes.c_int(flags)), "unshare")


def mount(source, target, fstype, flags=0, data=None):
    _check(libc().mount(source and source.encode(), str(target).encode(), fstype and fstype.encode(),
                        ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def umount(target):
    libc().umount2(str(target).encode(), ctypes.c_int(MNT_DETACH))


def die_with_parent():
    libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> bool:
    """Root without any capability (bounding set emptied too, so no exec regains one): it can't
    raise its rlimits, bypass file permissions, mount, or load modules."""
    for cap in range(64):
        libc().prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    data = (_CapData * 2)()
    return libc().capset(ctypes.byref(_CapHeader(0x20080522, 0)), data) == 0


def readable_by_others(paths) -> bool:
    """Whether a process of another uid can reach these folders (e.g. not a Python under /root)."""
    for path in paths:
        path = Path(path).resolve()
        for folder in [path, *path.parents]:
            try:
                if folder.stat().st_mode & 0o005 != 0o005:
                    return False
            except OSError:
                return False
    return True


def preload() -> None:
    """What every submission imports anyway: paid once, shared by every forked student."""
    import importlib
    import pkgutil

    import numpy  # noqa: F401
    import numpy.linalg  # noqa: F401
    import numpy.random  # noqa: F401

    try:
        import tinytorch.core as core
    except Exception:
        return
    for info in pkgutil.iter_modules(core.__path__):
        try:
            importlib.import_module(f"tinytorch.core.{info.name}")
        except Exception:
            pass


class Zygote:
    """The worker's handle on its zygote."""

    def __init__(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                ours.close()
                _serve(theirs)
            finally:
                os._exit(0)
        theirs.close()
        self.sock, self.pid = ours, pid

    def spawn(self, limits: dict) -> "Student":
        judge_end, student_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_r, out_w = os.pipe()
        status_r, status_w = os.pipe()
        try:
            socket.send_fds(self.sock, [json.dumps(limits).encode()], [student_end.fileno(), out_w, status_w])
        finally:
            student_end.close()
            os.close(out_w)
            os.close(status_w)
        os.set_blocking(out_r, False)
        return Student(judge_end, out_r, status_r)

    def close(self):
        try:
            self.sock.close()
            os.waitpid(self.pid, 0)
        except OSError:
            pass


class Student:
    """One forked student process, seen from the worker."""

    def __init__(self, sock, out_fd, status_fd):
        self.sock, self.out_fd, self.status_fd = sock, out_fd, status_fd
        self.status_text = b""
        line = self._line(timeout=30)
        try:
            pid, pidns = line.split()
            self.pid, self.pidns = int(pid), pidns == "1"
        except ValueError:
            raise OSError("the sandbox could not start a student process") from None
        self.status = None

    def _line(self, timeout):
        while b"\n" not in self.status_text:
            ready, _, _ = select.select([self.status_fd], [], [], timeout)
            if not ready:
                return ""
            chunk = os.read(self.status_fd, 4096)
            if not chunk:
                break
            self.status_text += chunk
        line, _, self.status_text = self.status_text.partition(b"\n")
        return line.decode()

    def kill(self):
        """Its whole process group (its session: it called setsid), then itself; with a PID
        namespace the kernel kills everything else it started when it dies."""
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
            except OSError:
                pass

    def wait(self, timeout=10) -> int | None:
        """The wait status of the student process (it is killed first if still running)."""
        if self.status is None:
            line = self._line(timeout=0.2)
            if not line:
                self.kill()
                line = self._line(timeout=timeout)
            try:
                self.status = int(line)
            except ValueError:
                self.status = None
        return self.status

    def reason(self) -> str:
        status = self.wait()
        if status is None:
            return "the student process died"
        if os.WIFSIGNALED(status):
            try:
                name = signal.Signals(os.WTERMSIG(status)).name
            except ValueError:
                name = f"signal {os.WTERMSIG(status)}"
            hint = {"SIGSEGV": " (a segmentation fault, e.g. a crash in C code)",
                    "SIGKILL": " (killed, usually for using too much memory)",
                    "SIGXCPU": " (its CPU time ran out)",
                    "SIGABRT": " (aborted, e.g. memory exhausted inside C code)"}.get(name, "")
            return f"the kernel was killed by {name}{hint}"
        return f"the kernel exited with status {os.WEXITSTATUS(status)} (e.g. os._exit() or a fatal error)"

    def close(self):
        self.kill()
        self.wait()
        for fd in (self.out_fd, self.status_fd):
            try:
                os.close(fd)
            except (OSError, TypeError):
                pass
        self.sock.close()


# ---- inside the zygote ------------------------------------------------------------------------
def _serve(sock):
    die_with_parent()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)          # intermediates are reaped automatically
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 1 << 20, 3)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)
        if os.fork() == 0:
            try:
                sock.close()
                _intermediate(json.loads(message), *fds)
            finally:
                os._exit(1)
        for fd in fds:
            os.close(fd)


def _intermediate(limits, sock_fd, out_w, status_w):
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    die_with_parent()
    partial = []
    for procs in limits.get("cgroup_procs", []):
        try:
            with open(procs, "w") as handle:
                handle.write(str(os.getpid()))
        except OSError as err:
            partial.append(f"could not join {procs} ({err.strerror})")
    namespaces = False
    if limits.get("namespaces", True):
        try:
            unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET)     # no network at all, not even UDP
            namespaces = True
        except OSError as err:
            partial.append(f"no PID namespace ({err.strerror})")
    pid = os.fork()
    if pid == 0:
        try:
            os.close(status_w)
            _student(limits, sock_fd, out_w, namespaces, partial)
        except BaseException:
            import traceback

            os.write(2, traceback.format_exc()[-2000:].encode())
        finally:
            os._exit(70)
    os.close(sock_fd)
    os.close(out_w)
    os.write(status_w, f"{pid} {int(namespaces)}\n".encode())
    _, status = os.waitpid(pid, 0)
    os.write(status_w, f"{status}\n".encode())
    os._exit(0)


def _student(limits, sock_fd, out_w, namespaces, partial):
    import io

    from tito.core import landlock, rpc, sandbox, student   # imported before Landlock locks the repository

    os.setsid()
    die_with_parent()
    run_dir = Path(limits["dir"])
    proc = []
    if namespaces:
        try:
            mount(None, "/", None, MS_REC | MS_PRIVATE)
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            proc = ["/proc"]                       # a /proc of this namespace only
        except OSError as err:
            partial.append(f"no private /proc ({err.strerror})")
    if not proc:
        proc = [p for p in sandbox._proc_read() if not p.startswith("/proc/self")] + \
               [str(Path("/proc/self").resolve())]
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    os.dup2(sock_fd, 3)
    os.closerange(4, 65536)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in limits["env"].items()})
    os.chdir(run_dir / "work")
    for name, value in (("RLIMIT_AS", limits.get("memory_mb", 0) * 2**20), ("RLIMIT_FSIZE", limits.get("fsize_mb", 0) * 2**20),
                        ("RLIMIT_CPU", int(limits.get("cpu_s", 0))), ("RLIMIT_NPROC", limits.get("nproc", 0)),
                        ("RLIMIT_NOFILE", 256), ("RLIMIT_CORE", -1)):
        if value:
            value = 0 if value < 0 else value
            hard = value + 5 if name == "RLIMIT_CPU" else value
            try:
                resource.setrlimit(getattr(resource, name), (value, hard))
            except (ValueError, OSError) as err:
                partial.append(f"{name} not set ({err})")
    isolation = {"landlock": 0, "partial": None}
    if limits.get("landlock", True):
        read, why = sandbox._read_paths(limits.get("protect", []))
        read = [p for p in read if not str(p).startswith("/proc")] + proc
        try:
            isolation["landlock"] = landlock.restrict(read=read, write=[run_dir], devices=sandbox.DEVICES, bind_ports=[])
            isolation["partial"] = "; ".join(why) or None
        except landlock.Unavailable as err:
            isolation["partial"] = str(err)
    else:
        isolation["partial"] = "Landlock switched off (TITO_SANDBOX_LANDLOCK=0)"
    uid = int(limits.get("uid", 0))
    if uid and os.geteuid() == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            libc().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        except OSError as err:
            partial.append(f"still root ({err.strerror})")
    if os.geteuid() == 0 and not drop_capabilities():
        partial.append("runs as root with its capabilities")
    sys.stdin = open(os.devnull)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="backslashreplace",
                                  line_buffering=True, write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace",
                                  line_buffering=True, write_through=True)
    sock = socket.socket(fileno=3)
    isolation["containment"] = {"pid_namespace": namespaces, "partial": "; ".join(partial) or None}
    rpc.send(sock, {"ready": isolation})
    try:
        student.StudentPeer(sock).serve()
    except rpc.WireError:
        pass
    os._exit(0)
