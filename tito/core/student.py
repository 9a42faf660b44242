"""The student process: runs a submission's own cells and answers the judge's requests.

It runs inside the sandbox (tito/core/zygote.py) and owns every object student code makes.
Requests come over one socket (tito/core/rpc.py): `exec` runs a cell's source in the notebook's
namespace; the others operate on objects by handle (attribute access, calls, operators, indexing,
iteration, conversions, NumPy ufuncs) for the judge, which runs the tests in another process.
Nothing here decides a grade: whatever this process answers is only a value the judge checks.
"""
from __future__ import annotations

import builtins
import importlib
import operator
import sys
import traceback
import types

from tito.core import rpc

OPS = {name: getattr(operator, name) for name in (
    "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and_", "or_", "xor", "lshift",
    "rshift", "lt", "le", "eq", "ne", "gt", "ge", "neg", "pos", "abs", "invert", "getitem", "setitem",
    "delitem", "contains", "index", "iadd", "isub", "imul", "itruediv", "ifloordiv", "imod", "ipow",
    "imatmul")}
OPS.update(getattr=getattr, setattr=setattr, delattr=delattr, len=len, iter=iter, next=next, bool=bool,
           repr=repr, str=str, format=format, hash=hash, float=float, int=int, complex=complex, round=round,
           dir=dir, divmod=divmod, call=lambda f, *a, **k: f(*a, **k),
           enter=lambda obj: obj.__enter__(), exit=lambda obj, *a: obj.__exit__(*a))
BUILTIN_TYPES = {t.__name__: t for t in (int, float, bool, complex, str, bytes, list, tuple, dict, set,
                                         frozenset, object, slice, type)}


class Callback:
    """A function of the judge's (a test's lambda): it can be called, and nothing else."""
    __slots__ = ("_lid", "_peer")

    def __init__(self, lid, peer):
        self._lid, self._peer = lid, peer

    def __call__(self, *args, **kwargs):
        return self._peer.request({"op": "callback", "cb": self._lid, "a": [self._peer.encode(a) for a in args],
                                   "k": {k: self._peer.encode(v) for k, v in kwargs.items()}})

    def __getattr__(self, name):
        """A method of a random generator the test passed in (`rng.choice(...)`): the judge runs
        it on its own generator, so the draws are the test's. Nothing else of the judge's can be
        reached: the judge refuses every other object and every non-public name."""
        if name.startswith("_"):
            raise AttributeError(name)

        def method(*args, **kwargs):
            return self._peer.request({"op": "callback", "cb": self._lid, "attr": name,
                                       "a": [self._peer.encode(a) for a in args],
                                       "k": {k: self._peer.encode(v) for k, v in kwargs.items()}})
        return method

    def __repr__(self):
        return "<a function of the grader's>"


class StudentPeer(rpc.Codec):
    def __init__(self, sock):
        self.sock = sock
        self.handles: dict[int, object] = {}
        self.ids: dict[int, int] = {}           # id(obj) -> handle, while pinned
        self.classes_sent: set[int] = set()
        self.origin: dict[int, int] = {}        # id(value received from the judge) -> its lid
        self.callbacks: dict[int, Callback] = {}
        self.next = 1
        self.ns = {"__name__": "__main__", "__builtins__": builtins}
        self.changed: list[str] = []

    # -- codec -----------------------------------------------------------------------------------
    def _pin(self, obj) -> int:
        hid = self.ids.get(id(obj))
        if hid is None or self.handles.get(hid) is not obj:
            hid, self.next = self.next, self.next + 1
            self.handles[hid], self.ids[id(obj)] = obj, hid
        return hid

    def own(self, obj):
        if isinstance(obj, types.ModuleType) and obj.__name__ != "__main__" \
                and not obj.__name__.split(".")[0] == "tinytorch":
            return {"m": obj.__name__}
        if type(obj) is type and obj.__name__ in BUILTIN_TYPES and BUILTIN_TYPES[obj.__name__] is obj:
            return {"bt": obj.__name__}
        hid = self._pin(obj)
        if isinstance(obj, type):
            if hid in self.classes_sent:
                return {"h": hid, "T": 0}
            self.classes_sent.add(hid)
            mro = [self._pin(c) for c in getattr(obj, "__mro__", (obj,))]
            return {"h": hid, "T": {"name": str(obj.__name__), "qual": str(getattr(obj, "__qualname__", obj.__name__)),
                                    "mod": str(getattr(obj, "__module__", "")), "mro": mro}}
        return {"h": hid, "k": self.encode(type(obj))}

    def remote_ref(self, obj):
        if type(obj) is Callback:
            return {"r": obj._lid}
        return None

    def mark(self, obj, tree):
        tree["id"] = self._pin(obj)
        if id(obj) in self.origin:
            tree["lid"] = self.origin[id(obj)]
        return tree

    def adopt(self, tree, value):
        if "lid" in tree:
            self.origin[id(value)] = tree["lid"]
            self._pin(value)
        return value

    def resolve(self, tree):
        try:
            return self.handles[tree["r"]]
        except (KeyError, TypeError):
            raise rpc.WireError("unknown handle") from None

    def proxy(self, tree):
        if "bt" in tree and tree["bt"] in BUILTIN_TYPES:
            return BUILTIN_TYPES[tree["bt"]]
        if "cb" in tree:
            lid = tree["h"]
            if lid not in self.callbacks:
                self.callbacks[lid] = Callback(lid, self)
            return self.callbacks[lid]
        raise rpc.WireError("unexpected value from the grader")

    # -- requests ----------------------------------------------------------------------------------
    def request(self, message):
        """Send a request to the judge (a callback) and serve its requests until the answer comes."""
        rpc.send(self.sock, message)
        return self.serve(until_answer=True)

    def serve(self, until_answer=False):
        while True:
            message = rpc.recv(self.sock)
            if "ok" in message:
                if until_answer:
                    return self.decode(message["ok"])
                continue
            if "err" in message:
                if until_answer:
                    raise _exception(message["err"])
                continue
            for hid in message.get("rel", ()):
                obj = self.handles.pop(hid, None)
                if obj is not None and self.ids.get(id(obj)) == hid:
                    del self.ids[id(obj)]
                    self.origin.pop(id(obj), None)
            try:
                reply = {"ok": self.handle(message)}
            except BaseException as exc:          # every failure of student code is an answer
                if isinstance(exc, rpc.WireError):
                    raise
                reply = {"err": {**rpc.error_tree(exc), "tb": _student_traceback(exc)}}
                if message.get("op") == "exec":
                    reply["changed"] = [str(k) for k in self.changed]
            finally:
                _flush()
            try:
                rpc.send(self.sock, reply)
            except rpc.WireError as err:
                rpc.send(self.sock, {"err": {"type": "ValueError", "mro": ["ValueError"], "msg": str(err)}})

    def handle(self, message):
        op = message.get("op")
        args = [self.decode(a) for a in message.get("a", ())]
        kwargs = {str(k): self.decode(v) for k, v in message.get("k", {}).items()}
        if op == "exec":
            source, name = str(args[0]), str(args[1])
            before = dict(self.ns)
            try:
                exec(compile(source, name, "exec"), self.ns)
            finally:
                self.changed = [k for k in set(before) | set(self.ns)
                                if not isinstance(k, str) or before.get(k, before) is not self.ns.get(k, before)]
            return self.encode([str(k) for k in self.changed])
        if op == "names":
            return self.encode({n: self.ns[n] for n in args[0] if isinstance(n, str) and n in self.ns})
        if op == "import":
            name = str(args[0])
            if name.split(".")[0] != "tinytorch":
                raise ImportError(f"{name} is not imported from the submission")
            return self.encode(importlib.import_module(name))
        if op == "array":
            import numpy

            value = numpy.asarray(args[0], *args[1:])
            tree = self.encode(value)
            if not isinstance(tree, dict) or "a" not in tree:
                raise TypeError(f"an array of dtype {value.dtype} can't be checked")
            return tree
        if op == "ufunc":
            import numpy

            ufunc = getattr(numpy, str(args[0]))
            return self.encode(getattr(ufunc, str(args[1]))(*args[2:], **kwargs))
        if op == "seed":
            import numpy

            numpy.random.seed(*args)
            return None
        if op in OPS:
            return self.encode(OPS[op](*args, **kwargs))
        raise rpc.WireError(f"unknown request {op!r}")


def _exception(tree) -> BaseException:
    kind = getattr(builtins, str(tree.get("type")), None)
    if isinstance(kind, type) and issubclass(kind, BaseException):
        try:
            return kind(str(tree.get("msg", "")))
        except Exception:
            pass
    return RuntimeError(f"{tree.get('type')}: {tree.get('msg', '')}")


def _student_traceback(exc) -> list[str]:
    try:
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        return [line for line in lines if "tito/core/" not in line][-40:]
    except Exception:
        return []


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
