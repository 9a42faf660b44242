"""The judge's proxies behave like the objects they stand for, and tests stay out of the student's
process. Graded through `sandbox.grade_submission` (notebook bytes in, per-cell results out)."""
from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from tito.core import sandbox

NB = {"schema_version": 3, "locked": True, "solution": False, "task": False}

ANSWER = '''
import numpy as np

class Shape(Exception):
    pass

class BadShape(ValueError):
    pass

class Param:
    def __init__(self, value):
        self.data = np.asarray(value, dtype=np.float32)
    def __array__(self, dtype=None, copy=None):
        return self.data
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        values = [x.data if isinstance(x, Param) else x for x in inputs]
        return Param(getattr(ufunc, method)(*values, **kwargs))
    def __add__(self, other):
        return Param(self.data + (other.data if isinstance(other, Param) else other))
    __radd__ = __add__
    def __len__(self):
        return len(self.data)
    def __getitem__(self, key):
        return Param(self.data[key])

class Scaled(Param):
    pass

class Layer:
    def __init__(self, n):
        if n <= 0:
            raise BadShape(f"n must be positive, got {n}")
        self.w, self.b = Param(np.ones(n)), Param(np.zeros(n))
    def parameters(self):
        return [self.w, self.b]
    def step(self):
        self.w.data -= 0.5          # in place

def apply(f, values):
    return [f(v) for v in values]
'''

TESTS = {
    "identity-and-types": '''
layer = Layer(3)
assert layer.parameters()[0] is layer.w and layer.parameters()[1] is not layer.w
assert type(layer.w) is Param and isinstance(Scaled(1.0), Param) and not isinstance(layer, Param)
assert [type(p) for p in layer.parameters()] == [Param, Param] and issubclass(Scaled, Param)
assert isinstance(layer.w.data, np.ndarray) and layer.w.data.dtype == np.float32
''',
    "values-and-mutation": '''
layer = Layer(2)
data = layer.w.data
layer.step()
assert layer.w.data is data and np.allclose(data, [0.5, 0.5]), data
assert np.allclose(np.asarray(layer.w + 1), [1.5, 1.5]) and np.allclose(np.asarray(1 + layer.w), [1.5, 1.5])
assert len(layer.w) == 2 and np.allclose(np.asarray(layer.w[1:]), [0.5])
''',
    "exceptions": '''
try:
    Layer(0)
except ValueError as err:
    assert "positive, got 0" in str(err), str(err)
else:
    raise AssertionError("Layer(0) should raise")
try:
    Layer(2).missing
except AttributeError:
    pass
else:
    raise AssertionError("no attribute")
''',
    "callbacks-and-ufuncs": '''
seen = []
assert apply(lambda v: seen.append(v) or v * 2, [1, 2.5]) == [2, 5.0] and seen == [1, 2.5]
out = np.tanh(Param([0.0, 1.0]))
assert type(out) is Param and np.allclose(np.asarray(out), np.tanh([0.0, 1.0]))
### BEGIN HIDDEN TESTS
HIDDEN_MARKER = "hidden-marker-" + "6d2f"
assert len(HIDDEN_MARKER) == 18
### END HIDDEN TESTS
''',
}

PROBE = '''
import gc
def strings(obj):
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)
    if type(obj).__name__ == "code":
        return list(obj.co_consts)
    return []
def seen():
    marker = "".join(["hidden-marker-", "6d2f"])
    for o in gc.get_objects():
        for s in strings(o):
            for t in [s, *strings(s)]:         # containers of atoms are not tracked by gc
                if isinstance(t, str) and t is not marker and marker in t:
                    return True
    return False
print("HIDDEN SEEN" if seen() else "HIDDEN NOT SEEN")
'''


def _notebook(answer: str, tests=None):
    cells = [new_code_cell(answer, metadata={"nbgrader": {**NB, "locked": False, "solution": True, "grade": False,
                                                           "grade_id": "answer"}})]
    for gid, source in (tests or TESTS).items():
        cells.append(new_code_cell(source, metadata={"nbgrader": {**NB, "grade": True, "grade_id": gid, "points": 1}}))
    cells.append(new_code_cell(PROBE))
    return new_notebook(cells=cells)


def _grade(answer: str, tests=None):
    nb = _notebook(answer, tests)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    result = sandbox.grade_submission(nbformat.writes(nb).encode(), graded, {"cell_timeout": 10, "wall_clock": 60})
    return {c["grade_id"]: c for c in result["cells"]}, result


def test_proxies_behave_like_the_objects_and_hidden_tests_stay_in_the_judge():
    cells, result = _grade(ANSWER)
    assert {gid: c["score"] for gid, c in cells.items()} == {gid: 1.0 for gid in TESTS}, cells
    graded = nbformat.reads(result["notebook"], as_version=4)
    printed = "".join(o.get("text", "") for o in graded.cells[-1].outputs)
    assert printed.strip() == "HIDDEN NOT SEEN", printed         # the hidden test never reached it


def test_wrong_answers_fail_exactly_the_tests_they_break():
    wrong = (ANSWER.replace("self.w.data -= 0.5", "self.w.data = self.w.data - 0.5")     # not in place
                   .replace("raise BadShape(f\"n must be positive, got {n}\")", "raise TypeError('no')")
                   .replace("return [self.w, self.b]", "return [Param(self.w.data), self.b]"))
    wrong += "\nkept = {'note': 'hidden-marker-' + '6d2f'}\n"       # the probe finds a string it can see
    cells, result = _grade(wrong)
    graded = nbformat.reads(result["notebook"], as_version=4)
    assert "".join(o.get("text", "") for o in graded.cells[-1].outputs).strip() == "HIDDEN SEEN"
    assert {gid: c["score"] for gid, c in cells.items()} == {
        "identity-and-types": 0.0, "values-and-mutation": 0.0, "exceptions": 0.0, "callbacks-and-ufuncs": 1.0}, cells
    assert "TypeError" in cells["exceptions"]["error"]


RNG_ANSWER = '''
import numpy as np

def draw(rng, n):
    return [int(rng.integers(0, 10)) for _ in range(n)] + [int(rng.choice(4, p=[0, 0, 1, 0]))]

def peek(rng):
    return rng._bit_generator

def reach(f):
    return f.__globals__
'''

RNG_TESTS = {
    "test-generator": '''
rng, ref = np.random.default_rng(3), np.random.default_rng(3)
assert draw(rng, 5) == [int(ref.integers(0, 10)) for _ in range(5)] + [2]
assert int(rng.integers(0, 10**6)) == int(ref.integers(0, 10**6)), "the test's own generator advanced"
''',
    "test-nothing-else": '''
for attempt in (lambda: peek(np.random.default_rng(0)), lambda: reach(lambda: 0), lambda: draw(lambda: 0, 1)):
    try:
        attempt()
    except AttributeError:
        pass
    else:
        raise AssertionError("student code reached an attribute of the grader's")
''',
}


def test_student_code_draws_from_the_tests_generator_and_reaches_nothing_else():
    """A test hands student code `rng = np.random.default_rng(0)` (module 13's sample_next): its
    public methods run on the judge's generator; private names and other objects stay closed."""
    cells, _ = _grade(RNG_ANSWER, RNG_TESTS)
    assert {gid: c["score"] for gid, c in cells.items()} == {"test-generator": 1.0, "test-nothing-else": 1.0}, cells
