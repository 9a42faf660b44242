"""`Tracked`: a Tensor subclass that stands in for module 07's Variable in the layer tests.

It overrides the operators, methods and `__array_ufunc__` the way a graph-building subclass
does (each records its name and returns a Tracked), and it refuses `.data`. Code that computes
with the operations in CONTRIBUTING.md's list on whatever it is given returns a Tracked and
leaves a record; code that unwraps `x.data` and builds a new Tensor fails loudly.

    from tracked import Tracked, tracked_ops
"""
from __future__ import annotations

import numpy as np

from tinytorch.core.tensor import Tensor

OVERRIDDEN = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
              "__rtruediv__", "__matmul__", "__rmatmul__", "__neg__", "__pow__", "__getitem__",
              "sum", "mean", "max", "reshape", "transpose")


class Tracked(Tensor):
    """A Tensor that logs every operation applied to it into `Tracked.log`."""

    log: list[str] = []

    @property
    def data(self):
        raise AssertionError("code reached into .data; compute with operators and ufuncs instead")

    @classmethod
    def wrap(cls, result):
        return cls(np.asarray(result), dtype=result.dtype) if isinstance(result, Tensor) else result

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        result = Tensor.__array_ufunc__(self, ufunc, method, *inputs, **kwargs)
        if result is NotImplemented:
            return result
        Tracked.log.append(ufunc.__name__)
        return Tracked.wrap(result)


def _recording(name):
    base = getattr(Tensor, name)

    def method(self, *args, **kwargs):
        result = base(self, *args, **kwargs)
        if result is NotImplemented:
            return result
        Tracked.log.append(name.strip("_"))
        return Tracked.wrap(result)

    method.__name__ = name
    return method


for _name in OVERRIDDEN:
    setattr(Tracked, _name, _recording(_name))


def tracked_ops(fn, *args):
    """Run fn(*args) with a fresh log; return (result, list of recorded operation names)."""
    Tracked.log = []
    result = fn(*args)
    return result, list(Tracked.log)
