"""The student's code all the way down: a bug planted in an earlier module shows in later ones.

Two kinds of proof:
1. In process (fast): each of module 01's Tensor methods is replaced by a plausible wrong version
   (pytest's monkeypatch, undone after the test), and a Variable computation that uses it gives a
   different value — and, where the backward rule uses the method, a different gradient. So
   `Variable` computes with the student's `Tensor`, not with NumPy behind its back.
2. In a subprocess: a copy of the package with one line of module 01, 02 or 03 changed (as a
   student's bug would be) makes module 08's tests or milestone 01 fail, while the unchanged copy
   passes them.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinytorch.core.tensor as tensor_module
from tinytorch.core.autograd import Variable
from tinytorch.core.tensor import Tensor

REPO = Path(__file__).resolve().parents[1]
F64 = np.float64


def _wrong(array_fn):
    """A Tensor method computing `array_fn(self_array, *args)`: the planted bug."""
    def method(self, *args, **kwargs):
        args = [a._data if isinstance(a, Tensor) else a for a in args]
        return tensor_module._result(array_fn(self._data, *args, **kwargs), self)
    return method


def _reshape_reversed(a, *shape):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return a.ravel()[::-1].reshape(shape)


# method -> a plausible bug in it
BUGS = {
    "add": _wrong(lambda a, b: a - b),
    "subtract": _wrong(lambda a, b: a + b),
    "multiply": _wrong(lambda a, b: a + b),
    "divide": _wrong(lambda a, b: a * b),
    "matmul": _wrong(lambda a, b: a @ b + 1),
    "sum": _wrong(lambda a, axis=None, keepdims=False: a.mean(axis=axis, keepdims=keepdims)),
    "mean": _wrong(lambda a, axis=None, keepdims=False: a.sum(axis=axis, keepdims=keepdims)),
    "max": _wrong(lambda a, axis=None, keepdims=False: a.min(axis=axis, keepdims=keepdims)),
    "reshape": _wrong(_reshape_reversed),
    "transpose": _wrong(lambda a, *axes: a),
    "exp": _wrong(lambda a: np.exp(a) - 1),
    "log": _wrong(np.log2),
    "sqrt": _wrong(np.cbrt),
    "tanh": _wrong(lambda a: np.tanh(a / 2)),
    "abs": _wrong(lambda a: a),
    "maximum": _wrong(np.minimum),
    "minimum": _wrong(np.maximum),
}

V = np.array([[1.0, 2.0], [3.0, 4.0]])
W = np.array([[0.5, 2.5], [3.5, 1.0]])

# method -> (what a user computes with Variables, the NumPy reference)
COMPUTATIONS = {
    "add": (lambda v, w: v + w, lambda v, w: v + w),
    "subtract": (lambda v, w: v - w, lambda v, w: v - w),
    "multiply": (lambda v, w: v * w, lambda v, w: v * w),
    "divide": (lambda v, w: v / w, lambda v, w: v / w),
    "matmul": (lambda v, w: v @ w, lambda v, w: v @ w),
    "sum": (lambda v, w: v.sum(axis=0), lambda v, w: v.sum(axis=0)),
    "mean": (lambda v, w: v.mean(), lambda v, w: v.mean()),
    "max": (lambda v, w: v.max(axis=1), lambda v, w: v.max(axis=1)),
    "reshape": (lambda v, w: v.reshape(4, 1), lambda v, w: v.reshape(4, 1)),
    "transpose": (lambda v, w: v.T, lambda v, w: v.T),
    "exp": (lambda v, w: np.exp(v), lambda v, w: np.exp(v)),
    "log": (lambda v, w: np.log(v), lambda v, w: np.log(v)),
    "sqrt": (lambda v, w: np.sqrt(v), lambda v, w: np.sqrt(v)),
    "tanh": (lambda v, w: np.tanh(v), lambda v, w: np.tanh(v)),
    "abs": (lambda v, w: abs(v - 2.5), lambda v, w: abs(v - 2.5)),
    "maximum": (lambda v, w: np.maximum(v, w), lambda v, w: np.maximum(v, w)),
    "minimum": (lambda v, w: np.minimum(v, w), lambda v, w: np.minimum(v, w)),
}


def _run(name):
    """(value, d sum(value * weights) / d v) of the computation for `name`."""
    v, w = Variable(V.copy()), Variable(W.copy(), requires_grad=False)
    out = COMPUTATIONS[name][0](v, w)
    weights = Variable(np.arange(1.0, 1.0 + out.size).reshape(out.shape), requires_grad=False)
    (out * weights).sum().backward()
    return np.array(out.data.data), np.array(v.grad.data.data)


@pytest.mark.parametrize("name", sorted(BUGS))
def test_a_bug_in_a_tensor_method_changes_the_variable_result(name, monkeypatch):
    value, _ = _run(name)
    np.testing.assert_allclose(value, COMPUTATIONS[name][1](V, W), rtol=1e-12)   # correct Tensor: right
    monkeypatch.setattr(Tensor, name, BUGS[name])
    wrong, _ = _run(name)
    assert wrong.shape != value.shape or not np.allclose(wrong, value), \
        f"a bug in Tensor.{name} did not change the Variable computation: Variable bypasses it"


# Backward rules that compute with a Tensor method: (method, computation whose gradient uses it)
GRADIENT_USES = [
    ("multiply", "multiply"), ("divide", "divide"), ("matmul", "matmul"), ("transpose", "matmul"),
    ("sum", "bias"), ("reshape", "reshape"), ("subtract", "tanh"), ("multiply", "exp"),
    ("divide", "log"), ("divide", "mean"), ("multiply", "maximum"), ("multiply", "abs"),
]
COMPUTATIONS["bias"] = (lambda v, w: w + v[0], lambda v, w: w + v[0])   # v[0] broadcast over rows


@pytest.mark.parametrize("method, computation", GRADIENT_USES, ids=[f"{m}-in-{c}" for m, c in GRADIENT_USES])
def test_a_bug_in_a_tensor_method_changes_the_gradient(method, computation, monkeypatch):
    _, grad = _run(computation)
    original = getattr(Tensor, method)
    # Plant the bug only where the backward rule calls the method: forward values stay right.
    monkeypatch.setattr(Variable, "backward", _backward_with(method, BUGS[method], original))
    _, wrong = _run(computation)
    assert wrong.shape != grad.shape or not np.allclose(wrong, grad), \
        f"the gradient of {computation} does not use Tensor.{method}"


def _backward_with(method, bug, original):
    """Variable.backward with Tensor.`method` replaced by `bug` while the gradients are computed."""
    real_backward = Variable.backward

    def backward(self, gradient=None):
        setattr(Tensor, method, bug)
        try:
            return real_backward(self, gradient)
        finally:
            setattr(Tensor, method, original)
    return backward


# ---- bugs in a copy of the package, caught downstream ------------------------------------------

PLANTED = {  # id: (file in tinytorch/core, correct line, buggy line, what must fail)
    "01-add-subtracts": ("tensor.py", "_result(self._data + b, self, other)",
                         "_result(self._data - b, self, other)", "train_simple_model"),
    "01-multiply-adds": ("tensor.py", "_result(self._data * b, self, other)",
                         "_result(self._data + b, self, other)", "train_simple_model"),
    "02-relu-clips-at-1": ("activations.py", "return np.maximum(x, 0)", "return np.maximum(x, 1)",
                           "milestone"),
    "02-softmax-wrong-axis": ("activations.py", "return exps / exps.sum(axis=-1, keepdims=True)",
                              "return exps / exps.sum(axis=0, keepdims=True)", "milestone"),
    "03-dense-zero-weights": ("layers.py",
                              "weights = np.random.randn(self.input_size, self.output_size) * scale",
                              "weights = np.zeros((self.input_size, self.output_size))", "milestone"),
    # The milestone still reaches ~97 % without biases (digits are separable without them), so a
    # dropped bias is caught by module 08's XOR test, whose (0, 0) point needs one.
    "03-dense-drops-bias": ("layers.py", "out = out + self.bias", "out = out", "xor"),
}

CHECKS = {
    "train_simple_model": [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(REPO / "tests/modules/test_08_optimizers.py::test_train_simple_model_fits_the_line")],
    "xor": [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "xor",
            str(REPO / "tests/modules/test_08_optimizers.py")],
    "milestone": [sys.executable, str(REPO / "milestones/01_digits_mlp/train.py")],
}


def _package_copy(tmp_path, edit=None):
    """A copy of the installed package under tmp_path, with one line replaced; returns run()."""
    shutil.copytree(REPO / "tinytorch", tmp_path / "tinytorch",
                    ignore=shutil.ignore_patterns("__pycache__"))
    if edit:
        path, old, new = edit
        source = tmp_path / "tinytorch" / "core" / path
        text = source.read_text()
        assert text.count(old) == 1, f"the line to plant a bug in changed: {old!r} in {path}"
        source.write_text(text.replace(old, new))
    env = dict(os.environ, PYTHONPATH=str(tmp_path), OPENBLAS_NUM_THREADS="1")

    def run(command):
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    where = run([sys.executable, "-c", "import tinytorch; print(tinytorch.__file__)"])
    assert where.stdout.strip() == str(tmp_path / "tinytorch" / "__init__.py"), where
    return run


def test_the_unchanged_copy_passes_every_check(tmp_path):
    run = _package_copy(tmp_path)
    for name, command in CHECKS.items():
        result = run(command)
        assert result.returncode == 0, f"{name} fails without a planted bug:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_a_planted_bug_fails_downstream(bug, tmp_path):
    path, old, new, check = PLANTED[bug]
    run = _package_copy(tmp_path, (path, old, new))
    result = run(CHECKS[check])
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"{check} still passes with the bug {bug!r}:\n{output[-2000:]}"
    if check == "milestone":
        assert "target missed" in output, output[-2000:]
    else:
        assert "AssertionError" in output or "assert " in output, output[-2000:]
