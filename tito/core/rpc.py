"""The wire between the judge and a student process: length-prefixed JSON frames, values by value.

Only plain data crosses by value: None, bool, int, float, complex, str, bytes, tuples, lists,
dicts and sets of them, slices, Ellipsis, NumPy dtypes and scalar types, and numeric NumPy arrays
and scalars (`np.save`/`np.load` with `allow_pickle=False`). Exact types only: a subclass of
`int` or `ndarray` is not plain data. Everything else crosses as a *handle* that only its owner
can resolve. Nothing is ever pickled, so decoding a frame runs no code of the sender's.

`Codec` is shared by both sides; each side subclasses it to say how it wraps a handle it received
(`proxy`) and how it refers to one of its own objects (`own`).
"""
from __future__ import annotations

import base64
import io
import json
import socket
import struct

MAX_FRAME = 64 * 2**20           # bytes in one message; a larger one is refused
MAX_DEPTH = 64                   # nesting of containers sent by value


class WireError(Exception):
    """The other side sent something that is not a valid message, or went away."""


def send(sock: socket.socket, message: dict) -> None:
    data = json.dumps(message, separators=(",", ":"), allow_nan=True).encode()
    if len(data) > MAX_FRAME:
        raise WireError(f"message of {len(data)} bytes is over the {MAX_FRAME}-byte limit")
    sock.sendall(struct.pack("!I", len(data)) + data)


def _exact(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise WireError("the other side closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket) -> dict:
    (size,) = struct.unpack("!I", _exact(sock, 4))
    if size > MAX_FRAME:
        raise WireError(f"message of {size} bytes is over the {MAX_FRAME}-byte limit")
    try:
        message = json.loads(_exact(sock, size))
    except ValueError as err:
        raise WireError(f"not a valid message: {err}") from None
    if not isinstance(message, dict):
        raise WireError("not a valid message")
    return message


def _np():
    import numpy

    return numpy


PLAIN_SCALARS = (type(None), bool, int, float, str)


class Codec:
    """Turns objects into JSON trees and back. Subclasses implement `own` (an object of this side
    that must travel by handle) and `proxy`/`resolve` (a handle received from the other side /
    a handle of ours coming back)."""

    def own(self, obj) -> dict:                      # pragma: no cover - abstract
        raise NotImplementedError

    def resolve(self, tree: dict):                   # pragma: no cover - abstract
        raise NotImplementedError

    def proxy(self, tree: dict):                     # pragma: no cover - abstract
        raise NotImplementedError

    def remote_ref(self, obj):
        """A proxy of the other side's object being sent back: its reference tree, else None."""
        return None

    def mark(self, obj, tree: dict) -> dict:
        """A hook to tag mutable values sent by value (identity bookkeeping)."""
        return tree

    def adopt(self, tree: dict, value):
        """A hook to map a value received by value onto an object this side already has."""
        return value

    # -- encoding ------------------------------------------------------------------------------
    def encode(self, obj, depth: int = 0):
        kind = type(obj)
        if kind in PLAIN_SCALARS:
            if kind is float and obj != obj or kind is float and obj in (float("inf"), float("-inf")):
                return {"f": repr(obj)}
            return obj
        ref = self.remote_ref(obj)
        if ref is not None:
            return ref
        if depth > MAX_DEPTH:
            return self.own(obj)
        if kind is complex:
            return {"c": [repr(obj.real), repr(obj.imag)]}
        if kind is bytes:
            return {"b": base64.b64encode(obj).decode()}
        if kind is tuple:
            return {"t": [self.encode(x, depth + 1) for x in obj]}
        if kind is list:
            return self.mark(obj, {"l": [self.encode(x, depth + 1) for x in obj]})
        if kind in (set, frozenset) and all(type(x) in PLAIN_SCALARS for x in obj):
            return {"set": [self.encode(x) for x in obj], "frozen": kind is frozenset}
        if kind is dict and all(type(k) in PLAIN_SCALARS or type(k) is tuple and
                                all(type(x) in PLAIN_SCALARS for x in k) for k in obj):
            return self.mark(obj, {"d": [[self.encode(k), self.encode(v, depth + 1)] for k, v in obj.items()]})
        if kind is slice:
            return {"sl": [self.encode(obj.start, depth + 1), self.encode(obj.stop, depth + 1),
                           self.encode(obj.step, depth + 1)]}
        if obj is Ellipsis:
            return {"E": 1}
        np = _np()
        if kind is np.ndarray and obj.dtype.kind in "biufcmM" and obj.dtype.fields is None:
            buffer = io.BytesIO()
            np.save(buffer, obj, allow_pickle=False)
            return self.mark(obj, {"a": base64.b64encode(buffer.getvalue()).decode()})
        if isinstance(obj, np.generic) and kind.__module__ == "numpy" and np.dtype(kind).kind in "biufcmM":
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(obj), allow_pickle=False)
            return {"s": base64.b64encode(buffer.getvalue()).decode()}
        if kind.__module__ == "numpy" and kind.__name__.endswith("DType") or kind is np.dtype:
            if obj.kind in "biufcmM" and obj.fields is None:
                return {"dt": obj.str}
        if isinstance(obj, type) and issubclass(obj, np.generic) and obj.__module__ == "numpy" \
                and getattr(np, obj.__name__, None) is obj:
            return {"nt": obj.__name__}
        return self.own(obj)

    # -- decoding ------------------------------------------------------------------------------
    def decode(self, tree):
        if type(tree) in PLAIN_SCALARS:
            return tree
        if type(tree) is list:
            raise WireError("bare list in a message")
        if type(tree) is not dict:
            raise WireError(f"unexpected {type(tree).__name__} in a message")
        if "f" in tree:
            return float(tree["f"])
        if "c" in tree:
            return complex(float(tree["c"][0]), float(tree["c"][1]))
        if "b" in tree:
            return base64.b64decode(tree["b"])
        if "t" in tree:
            return tuple(self.decode(x) for x in tree["t"])
        if "l" in tree:
            return self.adopt(tree, [self.decode(x) for x in tree["l"]])
        if "set" in tree:
            items = (self.decode(x) for x in tree["set"])
            return frozenset(items) if tree.get("frozen") else set(items)
        if "d" in tree:
            return self.adopt(tree, {self._key(k): self.decode(v) for k, v in tree["d"]})
        if "sl" in tree:
            return slice(*(self.decode(x) for x in tree["sl"]))
        if "E" in tree:
            return Ellipsis
        if "a" in tree or "s" in tree:
            np = _np()
            value = np.load(io.BytesIO(base64.b64decode(tree.get("a") or tree["s"])), allow_pickle=False)
            return self.adopt(tree, value) if "a" in tree else value[()]
        if "dt" in tree:
            return _np().dtype(str(tree["dt"]))
        if "nt" in tree:
            np = _np()
            value = getattr(np, str(tree["nt"]), None)
            if not (isinstance(value, type) and issubclass(value, np.generic)):
                raise WireError(f"unknown NumPy type {tree['nt']!r}")
            return value
        if "r" in tree:
            return self.resolve(tree)
        return self.proxy(tree)

    def _key(self, tree):
        key = self.decode(tree)
        if type(key) not in PLAIN_SCALARS and type(key) is not tuple:
            raise WireError("dictionary key is not plain data")
        return key


def error_tree(exc: BaseException) -> dict:
    """An exception as data: its class's name, the names along its MRO, and its message."""
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable>"
    names = [getattr(c, "__name__", "?") for c in type(exc).__mro__]
    return {"type": names[0], "mro": names, "msg": message[:4000]}
