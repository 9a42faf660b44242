"""Package tests for module 06: tinytorch.core.dataloader and the shipped digits data."""
from __future__ import annotations

import gzip
import hashlib
import math
import re
from importlib.resources import files

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import FAST
from tinytorch.core.dataloader import (DataLoader, Dataset, DigitsDataset, SimpleDataset, load_digits,
                                       stratified_split)
from tinytorch.core.tensor import Tensor

DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


class Indexed(Dataset):
    """Sample i is ([i, i], i): batches tell exactly which samples they hold."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, index):
        if not 0 <= index < self.n:
            raise IndexError(index)
        return Tensor(np.array([index, index], dtype=np.float32)), Tensor(np.int64(index))

    def __len__(self):
        return self.n

    def get_num_classes(self):
        return self.n


# ---- Dataset ------------------------------------------------------------------------------------

def test_dataset_is_abstract():
    with pytest.raises(TypeError):
        Dataset()

    class NoClasses(Dataset):
        def __getitem__(self, index):
            return Tensor([1.0]), Tensor(0)

        def __len__(self):
            return 1

    with pytest.raises(TypeError):
        NoClasses()
    assert Indexed(3).get_sample_shape() == (2,)


# ---- SimpleDataset --------------------------------------------------------------------------------

def test_simple_dataset_defaults():
    ds = SimpleDataset()
    assert len(ds) == 100 and ds.get_num_classes() == 3 and ds.get_sample_shape() == (4,)
    x, y = ds[5]
    assert type(x) is Tensor and type(y) is Tensor
    assert x.dtype == np.float32 and x.shape == (4,) and y.shape == () and y.dtype == np.int64
    np.testing.assert_array_equal(x.data, ds.data[5])
    assert set(np.unique(ds.labels)) == {0, 1, 2}


def test_simple_dataset_is_seeded_and_learnable():
    a, b = SimpleDataset(size=300, num_features=6, num_classes=5), SimpleDataset(size=300, num_features=6, num_classes=5)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.data, SimpleDataset(size=300, num_features=6, num_classes=5, seed=7).data)
    # a classifier that only sees the data (class means estimated from it) gets nearly all of it right
    means = np.stack([a.data[a.labels == c].mean(axis=0) for c in range(5)])
    predicted = ((a.data[:, None, :] - means[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert (predicted == a.labels).mean() > 0.9


@pytest.mark.parametrize("kwargs", [dict(size=0), dict(num_features=-1), dict(num_classes=0), dict(size=2.5)])
def test_simple_dataset_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="expected .*got"):
        SimpleDataset(**kwargs)


def test_index_errors():
    ds = SimpleDataset(size=4)
    with pytest.raises(IndexError, match=r"expected an index in \[-4, 4\), got 4"):
        ds[4]
    np.testing.assert_array_equal(ds[-1][0].data, ds.data[3])
    with pytest.raises(TypeError):
        ds[1.5]
    assert len(list(ds)) == 4, "IndexError ends Python's sequence iteration"


# ---- DataLoader -----------------------------------------------------------------------------------

@FAST
@given(st.integers(1, 60), st.integers(1, 70), st.booleans(), st.one_of(st.none(), st.integers(0, 99)))
def test_every_sample_once_per_epoch(n, batch_size, shuffle, seed):
    loader = DataLoader(Indexed(n), batch_size=batch_size, shuffle=shuffle, seed=seed)
    assert len(loader) == math.ceil(n / batch_size)
    for _ in range(2):                                          # two epochs
        batches = list(loader)
        assert len(batches) == len(loader)
        sizes = [y.shape[0] for _, y in batches]
        assert sizes[:-1] == [batch_size] * (len(batches) - 1)
        assert sizes[-1] == n - batch_size * (len(batches) - 1), "the last batch holds the rest"
        labels = np.concatenate([y.data for _, y in batches])
        assert sorted(labels) == list(range(n)), "each sample exactly once"
        for x, y in batches:
            assert type(x) is Tensor and type(y) is Tensor
            assert x.dtype == np.float32 and y.dtype == np.int64 and x.shape == (y.shape[0], 2)
            np.testing.assert_array_equal(x.data[:, 0], y.data)
        if not shuffle:
            np.testing.assert_array_equal(labels, np.arange(n))


def test_shuffle_is_reproducible_with_a_seed():
    def epochs(loader, k=3):
        return [np.concatenate([y.data for _, y in loader]) for _ in range(k)]

    first, second = epochs(DataLoader(Indexed(40), batch_size=8, seed=5)), epochs(DataLoader(Indexed(40), batch_size=8, seed=5))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1]), "each epoch has a new order"
    assert not np.array_equal(first[0], np.arange(40)), "shuffled"
    other = epochs(DataLoader(Indexed(40), batch_size=8, seed=6), 1)[0]
    assert not np.array_equal(first[0], other)


def test_unseeded_shuffle_follows_numpy_global_seed():
    np.random.seed(123)
    a = np.concatenate([y.data for _, y in DataLoader(Indexed(30), batch_size=7)])
    np.random.seed(123)
    b = np.concatenate([y.data for _, y in DataLoader(Indexed(30), batch_size=7)])
    np.testing.assert_array_equal(a, b)


def test_default_arguments():
    loader = DataLoader(Indexed(100))
    assert loader.batch_size == 32 and loader.shuffle is True and len(loader) == 4


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, "8", None, True])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=re.escape(f"expected batch_size to be a positive int, got {batch_size!r}")):
        DataLoader(Indexed(5), batch_size=batch_size)


# ---- the digits -------------------------------------------------------------------------------------

def test_digits_file_ships_with_the_package():
    data = files("tinytorch").joinpath("data", "digits.csv.gz")
    readme = files("tinytorch").joinpath("data", "README.md").read_text(encoding="utf-8")
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    assert digest in readme, "README.md records the checksum of the shipped file"
    assert "CC BY 4.0" in readme and "UCI" in readme and "scikit-learn" in readme
    with data.open("rb") as raw, gzip.open(raw) as handle:
        assert len(handle.read().splitlines()) == 1797


def test_load_digits():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert np.all(np.isin(images * 16, np.arange(17))), "pixels are counts 0..16 scaled by 1/16"
    assert np.array_equal(np.bincount(labels), DIGIT_COUNTS)
    images[0, 0, 0] = 99.0                                       # callers get their own copy
    assert load_digits()[0][0, 0, 0] != 99.0


@FAST
@given(st.lists(st.integers(0, 4), min_size=1, max_size=80), st.floats(0.05, 0.95), st.integers(0, 1000))
def test_stratified_split_properties(labels, fraction, seed):
    labels = np.array(labels)
    train, test = stratified_split(labels, fraction, seed)
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(labels))), "a partition"
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    for c in np.unique(labels):
        count = int((labels == c).sum())
        assert int((labels[test] == c).sum()) == int(round(count * fraction)), "each class keeps its share"
    again = stratified_split(labels, fraction, seed)
    assert np.array_equal(again[0], train) and np.array_equal(again[1], test)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_stratified_split_bad_fraction(fraction):
    with pytest.raises(ValueError, match=f"expected 0 < test_fraction < 1, got {fraction}"):
        stratified_split(np.zeros(10), fraction)


def test_digits_dataset_split():
    train, test = DigitsDataset(train=True), DigitsDataset(train=False)
    assert (len(train), len(test)) == (1438, 359)
    assert train.get_num_classes() == test.get_num_classes() == 10
    assert train.get_sample_shape() == (1, 8, 8) and train.images.shape == (1438, 1, 8, 8)
    assert train.images.dtype == np.float32 and train.labels.dtype == np.int64
    images, labels = load_digits()
    train_idx, test_idx = stratified_split(labels, 0.2, 0)
    assert not set(train_idx) & set(test_idx)
    np.testing.assert_array_equal(train.images[:, 0], images[train_idx])
    np.testing.assert_array_equal(test.labels, labels[test_idx])
    np.testing.assert_array_equal(np.bincount(train.labels) + np.bincount(test.labels), DIGIT_COUNTS)
    x, y = test[3]
    assert type(x) is Tensor and x.shape == (1, 8, 8) and int(y.item()) == test.labels[3]
    other = DigitsDataset(train=False, seed=1)
    assert not np.array_equal(other.labels, test.labels) or not np.array_equal(other.images, test.images)
    assert len(DigitsDataset(train=False, test_fraction=0.5)) == sum(int(round(c * 0.5)) for c in DIGIT_COUNTS)


def test_digits_flat_and_batched():
    flat = DigitsDataset(flatten=True)
    assert flat.get_sample_shape() == (64,) and flat.images.shape == (1438, 64)
    loader = DataLoader(DigitsDataset(train=True), batch_size=64, seed=0)
    assert len(loader) == 23
    x, y = next(iter(loader))
    assert x.shape == (64, 1, 8, 8) and x.dtype == np.float32 and y.shape == (64,) and y.dtype == np.int64
    with pytest.raises(ValueError, match="test_fraction"):
        DigitsDataset(test_fraction=1.2)
