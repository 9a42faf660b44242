"""Hypothesis strategies shared by the package tests.

All strategies are float32-friendly: elements are bounded (|x| <= `bound`, default 10), never NaN,
infinite or subnormal, so results can be compared with NumPy at float32 tolerances.

    from strategies import arrays, broadcastable_pairs, matmul_pairs, shapes, FAST

    @FAST
    @given(broadcastable_pairs())
    def test_add(pair): a, b = pair; ...

`tests/` is on sys.path because tests/conftest.py sits there without an __init__.py.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FLOAT_DTYPES = (np.float32, np.float64)
INT_DTYPES = (np.int32, np.int64)
NUMERIC_DTYPES = FLOAT_DTYPES + INT_DTYPES

# No deadline (timing belongs in benchmarks/, and a slow CI machine must not fail a test).
FAST = settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=5):
    """Array shapes, e.g. (), (3,), (2, 1, 4)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def dtypes(choices=NUMERIC_DTYPES):
    """One of the given NumPy dtypes (default: float32, float64, int32, int64)."""
    return st.sampled_from([np.dtype(d) for d in choices])


def elements(dtype=np.float32, bound=10.0, min_magnitude=0.0):
    """Scalars of `dtype` with |x| <= bound (and |x| >= min_magnitude, e.g. for divisors)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        high, low = int(bound), int(np.ceil(min_magnitude))
        if dtype.kind == "u":
            return st.integers(low, high)
        if low > 0:
            positive = st.integers(low, high)
            return st.one_of(positive, positive.map(lambda v: -v))
        return st.integers(-high, high)
    width = 32 if dtype.itemsize <= 4 else 64
    options = dict(allow_nan=False, allow_infinity=False, allow_subnormal=False, width=width)
    if min_magnitude > 0:
        positive = st.floats(min_magnitude, bound, **options)
        return st.one_of(positive, positive.map(lambda v: -v))
    return st.floats(-bound, bound, **options)


def arrays(shape=None, dtype=np.float32, bound=10.0, min_magnitude=0.0, **shape_kwargs):
    """NumPy arrays of `dtype` (a dtype or a strategy of dtypes); `shape` a tuple, a strategy, or
    None for `shapes(**shape_kwargs)`."""
    if shape is None:
        shape = shapes(**shape_kwargs)

    @st.composite
    def build(draw):
        dt = np.dtype(draw(dtype) if isinstance(dtype, st.SearchStrategy) else dtype)
        sh = draw(shape) if isinstance(shape, st.SearchStrategy) else shape
        return draw(hnp.arrays(dt, sh, elements=elements(dt, bound, min_magnitude)))

    return build()


@st.composite
def broadcastable_pairs(draw, dtype=np.float32, bound=10.0, min_magnitude_b=0.0, max_dims=4, max_side=4):
    """(a, b): two arrays whose shapes broadcast together, e.g. (2, 1, 3) and (4, 1).
    `min_magnitude_b` keeps b away from zero (for division)."""
    a_shape, b_shape = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=max_dims, max_side=max_side)).input_shapes
    dt_a = draw(dtype) if isinstance(dtype, st.SearchStrategy) else dtype
    dt_b = draw(dtype) if isinstance(dtype, st.SearchStrategy) else dtype
    a = draw(arrays(a_shape, dt_a, bound))
    b = draw(arrays(b_shape, dt_b, bound, min_magnitude_b))
    return a, b


@st.composite
def matmul_pairs(draw, dtype=np.float32, bound=10.0, max_batch_dims=2, max_side=5):
    """(a, b) with a @ b defined: (*batch, m, k) @ (*batch', k, n), batches broadcasting;
    sometimes 1-D on either side."""
    m, k, n = (draw(st.integers(1, max_side)) for _ in range(3))
    batch_a, batch_b = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=max_batch_dims, max_side=3)).input_shapes
    a_shape = draw(st.sampled_from([(k,), (*batch_a, m, k)]))
    b_shape = draw(st.sampled_from([(k,), (*batch_b, k, n)]))
    return draw(arrays(a_shape, dtype, bound)), draw(arrays(b_shape, dtype, bound))


@st.composite
def axes_for(draw, ndim):
    """A valid `axis` argument for an array of `ndim` axes: None, an int (maybe negative) or a
    tuple of distinct axes."""
    if ndim == 0:
        return None
    choice = draw(st.sampled_from(["none", "int", "tuple"]))
    if choice == "none":
        return None
    if choice == "int":
        return draw(st.integers(-ndim, ndim - 1))
    return tuple(draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)))
