"""A grade never trusts a helper the student can edit (modules 02, 05 and 07).

The judge runs test cells in its own process, but a name a test reads from the notebook is the
student's object, helpers in ordinary (editable) cells included. So the tests compute their
reference values themselves (a local central difference, a local NumPy convolution) and only
*call* the student's code. Proof: an empty submission that also redefines those helpers to agree
with anything scores exactly what the empty submission scores, and the targeted tests score zero.
(02: a ReLU that reads `.data`, with `NoPeeking` edited so it no longer refuses it.)
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from pipeline_support import meta
from tito.core import registry, sandbox
from tito.core.autograde import Worker
from tito.core.notebook import load_module_notebook

ROOT = Path(__file__).resolve().parents[1]

FORGED_GRADIENTS = """
import numpy as np

def gradient_check(*args, **kwargs):
    return True

def numerical_gradient(f, x, h=1e-6):
    return np.zeros_like(np.asarray(x, dtype=np.float64))
"""

FORGED_CONVOLUTION = """
import numpy as np
from tinytorch.core.tensor import Tensor

def conv2d_vectorized(x, weight, bias=None):
    (n, c, h, w), (o, c_w, kh, kw) = x.shape, weight.shape
    if c != c_w:
        raise ValueError("channel mismatch")
    out = np.zeros((n, o, h - kh + 1, w - kw + 1))
    if bias is not None:
        out = out + np.asarray(bias).reshape(1, -1, 1, 1)
    return Tensor(out) if isinstance(x, Tensor) else out

def conv2d_reference(x, weight):
    return conv2d_vectorized(x, weight)

def conv2d_naive(image, kernel):
    return conv2d_vectorized(image[None, None], kernel[None, None])[0, 0]

def conv2d_gemm(x, weight, bias=None):
    (n, c, h, w), (o, _, kh, kw) = x.shape, weight.shape
    cols = np.zeros((c * kh * kw, n * (h - kh + 1) * (w - kw + 1)))
    return conv2d_vectorized(x, weight, bias), cols

def as_array(t):
    return np.zeros(t.shape)
"""

PEEKING_ACTIVATIONS = """
import numpy as np
from tinytorch.core.tensor import Tensor

class NoPeeking(Tensor):
    pass

class ReLU:
    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        return Tensor(np.maximum(x.data, 0).astype(x.data.dtype))
"""

# module -> (hostile code, the graded tests it is inserted before and that must score zero)
CASES = {
    "07": (FORGED_GRADIENTS, ["test-ops-gradients", "test-activation-gradients", "test-layers-trainable"]),
    "02": (PEEKING_ACTIVATIONS, ["test-relu"]),
    "05": (FORGED_CONVOLUTION, ["test-conv2d-vectorized", "test-conv2d-gemm", "test-multichannel-conv2d"]),
}


def _source(module):
    return load_module_notebook(registry.resolve(module, ROOT).source)


def _empty(module):
    nb = _source(module)
    for cell in nb.cells:
        if meta(cell).get("solution"):
            cell.source = "raise NotImplementedError()"
    return nb


def _before_each(nb, grade_ids, code):
    for grade_id in grade_ids:
        at = next(i for i, c in enumerate(nb.cells) if meta(c).get("grade_id") == grade_id)
        nb.cells.insert(at, new_code_cell(code))
    return nb


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


def _points(worker, module, nb) -> dict[str, float]:
    """Points each graded test cell earned when a real grading worker ran the notebook."""
    job = {"cell_timeout": 60, "wall_clock": 600, "memory_mb": 1024, "fsize_mb": 16, "pids": 64, "disk_mb": 32,
           "inodes": 2000, "protect": [str(ROOT)], "imports": sandbox.trusted_imports(_source(module))}
    answer = worker.run(job, nb, 900)
    assert answer and answer["nb"], answer
    graded = nbformat.reads(answer["nb"], as_version=4)
    return {meta(c)["grade_id"]: 0 if any(o.get("output_type") == "error" for o in c.outputs) else meta(c)["points"]
            for c in graded.cells if sandbox.is_test(c)}


@pytest.mark.parametrize("module", sorted(CASES))
def test_redefined_helpers_earn_nothing(worker, module):
    code, targets = CASES[module]
    empty = _points(worker, module, _empty(module))
    forged = _points(worker, module, _before_each(_empty(module), targets, code))
    assert all(forged[t] == 0 for t in targets), \
        f"module {module}: tests trusted a redefined helper: {[t for t in targets if forged[t]]} scored"
    assert sum(forged.values()) == sum(empty.values()), \
        f"module {module}: the forged submission scored {forged}, the empty one {empty} (expected the same)"
