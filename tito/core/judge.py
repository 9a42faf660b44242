"""The judge: runs a notebook's graded test cells in the grader's own process, never student code.

A test cell is compiled and executed here, with this process's pristine builtins, NumPy and
standard library. The names it reads that the notebook defines (the student's classes and
functions), and `tinytorch.*` imports inside it, resolve to *proxies* of objects in the student
process (tito/core/student.py): attribute access, calls, operators, indexing, iteration, len,
bool, conversions, `__array__` and ufuncs are forwarded as requests (tito/core/rpc.py), and
what comes back is plain data by value or another proxy. A proxy of a remote class is a local
type, so `type(x) is Dense`, `isinstance(x, Tensor)` and `[type(l) for l in net.layers] == [...]`
work. An exception raised by student code is raised here as the builtin exception of the same
name (message included), any other as `RemoteError`. Functions a test passes to student code
travel as callbacks that can only be called. A test passes iff its code ran to the end here
without an exception: no output, patch or exit of the student process can change that.
"""
from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import select
import sys
import time
import traceback
import weakref

from tito.core import rpc

DUNDER_ATTRS = {"__name__", "__qualname__", "__doc__", "__module__", "__wrapped__", "__self__", "__func__"}


class RemoteError(Exception):
    """Student code raised an exception that is not one of Python's builtin ones."""


class StudentDied(Exception):
    """The student process exited, was killed, or broke the protocol."""


class StudentTimeout(Exception):
    """The student process did not answer in time."""


def _exception(tree) -> BaseException:
    names = [str(n) for n in tree.get("mro", [tree.get("type")])]
    message = str(tree.get("msg", ""))
    for name in names:
        kind = getattr(builtins, name, None)
        if isinstance(kind, type) and issubclass(kind, BaseException) and kind not in (BaseException, object):
            if kind in (SystemExit, KeyboardInterrupt, GeneratorExit):
                break
            try:
                exc = kind(message)
            except Exception:
                continue
            if kind is KeyError:
                exc = KeyError(message[1:-1] if message.startswith("'") else message)
            return exc
    return RemoteError(f"{names[0]}: {message}")


# ---- proxies ------------------------------------------------------------------------------------
class RemoteType(type):
    """The metaclass of proxies of remote classes: calling one constructs a remote instance."""

    def __call__(cls, *args, **kwargs):
        return cls._tito_class_peer.call("call", cls, *args, **kwargs)

    def __instancecheck__(cls, obj):
        kind = type(obj)
        return isinstance(kind, RemoteType) and cls._tito_class_h in kind._tito_mro

    def __subclasscheck__(cls, sub):
        return isinstance(sub, RemoteType) and cls._tito_class_h in sub._tito_mro

    def __getattr__(cls, name):
        if name.startswith("__") and name.endswith("__") and name not in DUNDER_ATTRS or name.startswith("_tito"):
            raise AttributeError(name)
        return cls._tito_class_peer.call("getattr", cls, name)

    def __repr__(cls):
        return f"<class {cls.__qualname__!r} (student code)>"


def _forward(op):
    def method(self, *args):
        return self._tito_peer.call(op, self, *args)
    method.__name__ = op
    return method


def _reflected(op):
    def method(self, other):
        return self._tito_peer.call(op, other, self)
    return method


class Remote:
    """A proxy of an object in the student process."""
    __slots__ = ("_tito_h", "_tito_peer", "__weakref__")

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") and name not in DUNDER_ATTRS or name.startswith("_tito"):
            raise AttributeError(name)
        return self._tito_peer.call("getattr", self, name)

    def __setattr__(self, name, value):
        if name.startswith("_tito"):
            object.__setattr__(self, name, value)
        else:
            self._tito_peer.call("setattr", self, name, value)

    def __delattr__(self, name):
        self._tito_peer.call("delattr", self, name)

    def __call__(self, *args, **kwargs):
        return self._tito_peer.call("call", self, *args, **kwargs)

    def __bool__(self):
        return self._tito_peer.call_typed(bool, "bool", self)

    def __len__(self):
        return self._tito_peer.call_typed(int, "len", self)

    def __hash__(self):
        return self._tito_peer.call_typed(int, "hash", self)

    def __index__(self):
        return self._tito_peer.call_typed(int, "index", self)

    def __int__(self):
        return self._tito_peer.call_typed(int, "int", self)

    def __float__(self):
        return self._tito_peer.call_typed(float, "float", self)

    def __complex__(self):
        return complex(self._tito_peer.call("complex", self))

    def __repr__(self):
        return self._tito_peer.call_typed(str, "repr", self)[:10_000]

    def __str__(self):
        return self._tito_peer.call_typed(str, "str", self)[:10_000]

    def __format__(self, spec):
        return self._tito_peer.call_typed(str, "format", self, spec)[:10_000]

    def __dir__(self):
        return list(self._tito_peer.call("dir", self))

    def __iter__(self):
        return self._tito_peer.call("iter", self)

    def __next__(self):
        return self._tito_peer.call("next", self)

    def __round__(self, *args):
        return self._tito_peer.call("round", self, *args)

    def __enter__(self):
        return self._tito_peer.call("enter", self)

    def __exit__(self, *args):
        return self._tito_peer.call("exit", self, *(None if a is None else repr(a) for a in args))

    def __array__(self, dtype=None, copy=None):
        value = self._tito_peer.call("array", self)
        return value.astype(dtype) if dtype is not None else value

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        kwargs.pop("out", None)
        return self._tito_peer.call("ufunc", ufunc.__name__, method, *inputs, **kwargs)

    def __del__(self):
        try:
            self._tito_peer.forget(self._tito_h)
        except Exception:
            pass


for _op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor",
            "lshift", "rshift"):
    _name = _op + "_" if _op in ("and", "or") else _op
    setattr(Remote, f"__{_op}__", _forward(_name))
    setattr(Remote, f"__r{_op}__", _reflected(_name))
    setattr(Remote, f"__i{_op}__", _forward("i" + _op) if _op not in ("and", "or", "xor", "lshift", "rshift")
            else _forward(_name))
for _op in ("lt", "le", "eq", "ne", "gt", "ge", "neg", "pos", "abs", "invert", "getitem", "setitem",
            "delitem", "contains"):
    setattr(Remote, f"__{_op}__", _forward(_op))
Remote.__divmod__ = _forward("divmod")


class RemoteModuleMissing:
    def __init__(self, name):
        self.name = name

    def __getattr__(self, attr):
        raise ImportError(f"module {self.name!r} is not available to the grader")


# ---- the judge's end of the connection -----------------------------------------------------------
class Judge(rpc.Codec):
    """One student process, seen from the grader: `call` sends a request and waits for the answer
    (serving the student's callbacks meanwhile), with a deadline; output the student process
    writes arrives on `out_fd` and is collected into `output`."""

    OUTPUT_LIMIT = 20_000

    def __init__(self, sock, out_fd=None):
        self.sock = sock
        self.out_fd = out_fd
        self.output = bytearray()
        self.output_dropped = 0
        self.deadline = None
        self.proxies = weakref.WeakValueDictionary()
        self.classes: dict[int, RemoteType] = {}
        self.values = weakref.WeakValueDictionary()      # remote id -> local array (identity)
        self.containers: dict[int, object] = {}          # remote id -> local list/dict (identity)
        self.owned: dict[int, object] = {}               # lid -> local object sent to the student
        self.owned_ids: dict[int, int] = {}
        self.released: list[int] = []
        self.next = 1
        self.dead = None

    # -- codec -------------------------------------------------------------------------------------
    def own(self, obj):
        if type(obj) is type and getattr(builtins, obj.__name__, None) is obj:
            return {"bt": obj.__name__}
        return {"h": self._register(obj), "cb": 1}

    def _register(self, obj) -> int:
        lid = self.owned_ids.get(id(obj))
        if lid is None or self.owned.get(lid) is not obj:
            lid, self.next = self.next, self.next + 1
            self.owned[lid], self.owned_ids[id(obj)] = obj, lid
        return lid

    def remote_ref(self, obj):
        kind = type(obj)
        if isinstance(kind, RemoteType) and kind is not RemoteType:
            return {"r": object.__getattribute__(obj, "_tito_h")}
        if kind is RemoteType:
            return {"r": obj._tito_class_h}
        return None

    def mark(self, obj, tree):
        tree["lid"] = self._register(obj)
        return tree

    def adopt(self, tree, value):
        import numpy as np

        if "lid" in tree and tree["lid"] in self.owned:
            local = self.owned[tree["lid"]]
            if _refresh(local, value):
                return local
        rid = tree.get("id")
        if rid is None:
            return value
        self._keep(rid)
        if isinstance(value, np.ndarray):
            local = self.values.get(rid)
            if local is not None and _refresh(local, value):
                return local
            self.values[rid] = value
            weakref.finalize(value, self.forget, rid)
            return value
        local = self.containers.get(rid)
        if local is not None and _refresh(local, value):
            return local
        self.containers[rid] = value
        return value

    def resolve(self, tree):
        try:
            return self.owned[tree["r"]]
        except (KeyError, TypeError):
            raise StudentDied("the student process referred to an object it was never given") from None

    def proxy(self, tree):
        if "m" in tree:
            name = str(tree["m"])
            return sys.modules.get(name) or RemoteModuleMissing(name)
        if "bt" in tree:
            kind = getattr(builtins, str(tree["bt"]), None)
            if isinstance(kind, type):
                return kind
            raise StudentDied("bad builtin type from the student process")
        if "h" not in tree or type(tree["h"]) is not int:
            raise StudentDied("unexpected value from the student process")
        hid = tree["h"]
        self._keep(hid)
        if "T" in tree:
            return self._class(hid, tree["T"])
        known = self.proxies.get(hid)
        if known is not None:
            return known
        kind = self.decode(tree["k"]) if "k" in tree else None
        if not isinstance(kind, RemoteType):
            kind = _generic_type(self)
        proxy = object.__new__(kind)
        object.__setattr__(proxy, "_tito_h", hid)
        object.__setattr__(proxy, "_tito_peer", self)
        self.proxies[hid] = proxy
        return proxy

    def _class(self, hid, info):
        if hid in self.classes:
            return self.classes[hid]
        if not isinstance(info, dict):
            raise StudentDied("the student process sent an unknown class")
        name = str(info.get("name", "Remote"))
        if not name.isidentifier():
            name = "Remote"
        cls = RemoteType(name, (Remote,), {"__slots__": (), "__module__": str(info.get("mod", "")),
                                           "__qualname__": str(info.get("qual", name))})
        type.__setattr__(cls, "_tito_class_h", hid)
        type.__setattr__(cls, "_tito_class_peer", self)
        type.__setattr__(cls, "_tito_mro", frozenset(h for h in info.get("mro", [hid]) if type(h) is int) | {hid})
        self.classes[hid] = cls
        return cls

    def _keep(self, hid):
        if hid in self.released:
            self.released.remove(hid)

    def forget(self, hid):
        if hid not in self.classes:
            self.released.append(hid)

    # -- requests ----------------------------------------------------------------------------------
    def call(self, op, *args, **kwargs):
        message = {"op": op, "a": [self.encode(a) for a in args], "k": {k: self.encode(v) for k, v in kwargs.items()}}
        return self._request(message)

    def call_typed(self, kind, op, *args):
        value = self.call(op, *args)
        if type(value) is not kind:
            if kind is int and type(value) is bool:
                return int(value)
            raise TypeError(f"{op}() of a student object returned {type(value).__name__}, not {kind.__name__}")
        return value

    def _request(self, message):
        if self.dead:
            raise StudentDied(self.dead)
        if self.released:
            message["rel"], self.released = self.released, []
        try:
            rpc.send(self.sock, message)
        except (OSError, rpc.WireError) as err:
            raise self._died(f"the student process went away ({err})")
        while True:
            answer = self._receive()
            if "ok" in answer:
                return self.decode(answer["ok"])
            if "err" in answer:
                error = answer["err"] if isinstance(answer["err"], dict) else {}
                exc = _exception(error)
                exc.student_traceback = [str(x) for x in error.get("tb", [])][:60]
                exc.remote_type = str(error.get("type", type(exc).__name__))[:200]
                changed = answer.get("changed")
                exc.changed = [str(n) for n in changed] if isinstance(changed, list) else []
                raise exc
            if answer.get("op") == "callback":
                self._serve_callback(answer)
            else:
                raise self._died("the student process broke the protocol")

    def _serve_callback(self, message):
        try:
            function = self.owned[message["cb"]]
            if "attr" in message:            # a method of a test's random generator, and nothing else
                function = _generator_method(function, message["attr"])
            if not callable(function):
                raise TypeError("this object of the grader's can only be called if it is a function")
            args = [self.decode(a) for a in message.get("a", ())]
            kwargs = {str(k): self.decode(v) for k, v in message.get("k", {}).items()}
            reply = {"ok": self.encode(function(*args, **kwargs))}
        except (StudentDied, StudentTimeout):
            raise
        except Exception as exc:
            reply = {"err": rpc.error_tree(exc)}
        try:
            rpc.send(self.sock, reply)
        except (OSError, rpc.WireError) as err:
            raise self._died(f"the student process went away ({err})")

    def _died(self, reason):
        self.dead = reason
        return StudentDied(reason)

    def _receive(self) -> dict:
        """The next message from the student, reading its output meanwhile; honours the deadline."""
        while True:
            timeout = None if self.deadline is None else self.deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                self.dead = "timeout"
                raise StudentTimeout()
            watch = [self.sock] + ([self.out_fd] if self.out_fd is not None else [])
            ready, _, _ = select.select(watch, [], [], timeout)
            if self.out_fd is not None and self.out_fd in ready:
                self.read_output()
            if self.sock in ready:
                try:
                    return rpc.recv(self.sock)
                except (OSError, rpc.WireError) as err:
                    raise self._died(str(err))

    def read_output(self, drain=False) -> None:
        import os

        while self.out_fd is not None:
            try:
                chunk = os.read(self.out_fd, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                os.close(self.out_fd)
                self.out_fd = None
                return
            room = self.OUTPUT_LIMIT - len(self.output)
            if room > 0:
                self.output += chunk[:room]
            self.output_dropped += max(0, len(chunk) - max(room, 0))
            if not drain:
                return

    def take_output(self) -> str:
        self.read_output(drain=True)
        text = self.output.decode("utf-8", "replace")
        if self.output_dropped:
            text += f"\n… [output truncated by the grader: more than {self.OUTPUT_LIMIT} characters]\n"
        self.output, self.output_dropped = bytearray(), 0
        return text


_GENERIC = {}


def _generic_type(peer):
    if peer not in _GENERIC:
        cls = RemoteType("Remote", (Remote,), {"__slots__": ()})
        type.__setattr__(cls, "_tito_class_h", -1)
        type.__setattr__(cls, "_tito_class_peer", peer)
        type.__setattr__(cls, "_tito_mro", frozenset())
        _GENERIC[peer] = cls
    return _GENERIC[peer]


def _refresh(local, value) -> bool:
    """Give `local` the contents of `value` (same remote object fetched again): True if it could."""
    import numpy as np

    if type(local) is not type(value):
        return False
    if isinstance(local, np.ndarray):
        if local.shape != value.shape or local.dtype != value.dtype or not local.flags.writeable:
            return False
        np.copyto(local, value)
        return True
    if isinstance(local, list):
        local[:] = value
        return True
    if isinstance(local, dict):
        local.clear()
        local.update(value)
        return True
    return False


# ---- running test cells ------------------------------------------------------------------------
def names_read(code) -> set[str]:
    """Every name a compiled cell (and the functions and classes inside it) might look up."""
    names, stack = set(), [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(c for c in current.co_consts if hasattr(c, "co_names"))
    return names


class TestRunner:
    """The namespace the test cells of one notebook run in, on the judge's side."""

    def __init__(self, judge: Judge, trusted_imports: list[str] = ()):
        self.judge = judge
        self.globals: dict = {"__name__": "__main__"}
        safe = dict(vars(builtins))
        safe["__import__"] = self._import
        self.globals["__builtins__"] = safe
        self.builtin_names = set(safe)
        for statement in trusted_imports:
            try:
                exec(statement, self.globals)
            except Exception:
                pass
        self.pinned = set(self.globals)

    def _import(self, name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name.split(".")[0] == "tinytorch":
            module = self.judge.call("import", name)
            if fromlist:
                return module
            return self.judge.call("import", name.split(".")[0])
        return importlib.__import__(name, globals, locals, fromlist, level)

    def forget(self, names) -> None:
        """A student cell rebound these names: tests read the student's values from now on."""
        for name in names:
            if isinstance(name, str) and name not in self.pinned:
                self.globals.pop(name, None)

    def run(self, source: str, filename: str, timeout: float) -> tuple[str, BaseException | None]:
        """Execute one test cell; returns (what it printed, the exception that failed it or None).
        StudentDied and StudentTimeout propagate."""
        printed = io.StringIO()
        try:
            code = compile(source, filename, "exec")
        except SyntaxError as err:
            return "", err
        self.judge.deadline = time.monotonic() + timeout
        injected = {}
        try:
            wanted = sorted(n for n in names_read(code) if n not in self.builtin_names and n not in self.globals)
            if wanted:
                found = self.judge.call("names", wanted)
                for name, value in found.items():
                    self.globals[name] = injected[name] = value
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed), _seed_forwarding(self.judge):
                exec(code, self.globals)
            failure = None
        except (StudentDied, StudentTimeout):
            raise
        except BaseException as exc:
            if self.judge.dead:
                raise StudentTimeout() if self.judge.dead == "timeout" else StudentDied(self.judge.dead)
            failure = exc
        finally:
            self.judge.deadline = None
            for name, value in injected.items():       # names the test did not rebind are fetched afresh
                if self.globals.get(name) is value:
                    del self.globals[name]
        text = printed.getvalue()
        if len(text) > Judge.OUTPUT_LIMIT:
            text = text[:Judge.OUTPUT_LIMIT] + "\n… [output truncated]\n"
        return text, failure


@contextlib.contextmanager
def _seed_forwarding(judge):
    """`np.random.seed(n)` in a test seeds the student's global RNG too: the student's layers draw
    their initial weights from it, as they did when tests ran in the same process."""
    import numpy as np

    original = np.random.seed

    def seed(*args, **kwargs):
        original(*args, **kwargs)
        judge.call("seed", *args, **kwargs)

    np.random.seed = seed
    try:
        yield
    finally:
        np.random.seed = original


def format_failure(exc: BaseException, filename: str) -> tuple[str, str, list[str]]:
    """ename, evalue, traceback lines of a failed test (frames of the test cell only)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    lines = traceback.format_list(frames) if frames else []
    student = getattr(exc, "student_traceback", None)
    if student:
        lines += ["In the submission's code:\n", *student]
    ename = type(exc).__name__
    lines.append(f"{ename}: {exc}")
    return ename, str(exc), lines


def _generator_method(obj, name):
    """`obj.name` when `obj` is a NumPy random generator of the test's and `name` a public method
    (a test hands student code `rng = np.random.default_rng(0)`); AttributeError otherwise."""
    import numpy as np

    name = str(name)
    if type(obj) not in (np.random.Generator, np.random.RandomState) or name.startswith("_"):
        raise AttributeError(f"this object of the grader's has no attribute {name!r} the submission may use")
    method = getattr(obj, name, None)
    if not callable(method) or getattr(method, "__self__", None) is not obj:
        raise AttributeError(f"{type(obj).__name__}.{name} is not a method the submission may call")
    return method
