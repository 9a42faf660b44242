# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 06 — DataLoader: datasets, batches and real digits
#
# Layers need numbers to work on. Training reads a data set many times over (each pass is an
# *epoch*), in small random **batches**: big enough for NumPy to be efficient, small enough to
# update the weights often, and shuffled so that each batch is a fair sample of the whole.
#
# **Goals of this module**
# - Describe any data set with one small interface: `Dataset`.
# - Write a `DataLoader` that cuts a data set into shuffled batches, reproducibly when seeded.
# - Make a synthetic data set you can learn, and split a real one — 1,797 handwritten digits —
#   into train and test sets fairly.

# %%
#| default_exp core.dataloader

# %%
#| export
import gzip
from abc import ABC, abstractmethod
from functools import lru_cache
from importlib.resources import files

import numpy as np

from tinytorch.core.tensor import Tensor

# %%
import os

SHOW = __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING")  # demos only when you run it

# %% [markdown]
# ## Step 1 — The `Dataset` interface
#
# A data set answers two questions: *how many samples are there?* (`len(ds)`) and *what is
# sample i?* (`ds[i]`, a `(data, label)` pair of Tensors). Two more describe its shape:
# `get_sample_shape()` (the shape of one sample's data) and `get_num_classes()`.
#
# `Dataset` is *abstract*: it fixes the interface and leaves the storage to subclasses, so the
# loader below works for any data set — synthetic, from a file, or generated on the fly.

# %%
#| export
class Dataset(ABC):
    """Abstract data set: `ds[i]` is a `(data, label)` pair of Tensors, `len(ds)` the sample count."""

    @abstractmethod
    def __getitem__(self, index):
        """The sample at `index` as `(data, label)` Tensors."""

    @abstractmethod
    def __len__(self):
        """Number of samples."""

    @abstractmethod
    def get_num_classes(self):
        """Number of distinct labels."""

    def get_sample_shape(self):
        """Shape of one sample's data (read from sample 0)."""
        data, _ = self[0]
        return tuple(data.shape)


def _check_index(index, size, name):
    """A plain int in range(-size, size), as a non-negative int; IndexError/TypeError otherwise."""
    if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
        raise TypeError(f"{name}: expected an int index, got {type(index).__name__}")
    if not -size <= index < size:
        raise IndexError(f"{name}: expected an index in [{-size}, {size}), got {index}")
    return int(index) % size

# %% [markdown]
# ## Step 2 — A learnable synthetic data set
#
# Before real data, something we control: `SimpleDataset(size, num_features, num_classes)` puts one
# random **centre** per class in feature space and scatters that class's samples around it. With
# centres far apart compared with the scatter, a classifier can learn it — a quick check that a
# model trains at all.
#
# Everything comes from one seeded generator, so `SimpleDataset(seed=0)` is the same data every
# time. Labels cycle through the classes (`0, 1, 2, 0, 1, 2, …`) so that every class has its share.

# %% nbgrader={"grade": false, "grade_id": "simple-dataset", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class SimpleDataset(Dataset):
    """Synthetic clusters: one random centre per class, samples = centre + unit Gaussian noise."""

    def __init__(self, size=100, num_features=4, num_classes=3, seed=42):
        for name, value in (("size", size), ("num_features", num_features), ("num_classes", num_classes)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"SimpleDataset: expected {name} to be a positive int, got {value!r}")
        self.size, self.num_features, self.num_classes = int(size), int(num_features), int(num_classes)
        rng = np.random.default_rng(seed)
        # TODO: fill self.centers (num_classes, num_features), self.labels (size,) int64 and
        #       self.data (size, num_features) float32.
        # HINTS:
        # - centres: rng.normal(scale=4.0, size=(num_classes, num_features))
        # - labels:  np.arange(size) % num_classes, as int64
        # - data:    self.centers[self.labels] + rng.normal(size=(size, num_features)), as float32
        ### BEGIN SOLUTION
        self.centers = rng.normal(scale=4.0, size=(self.num_classes, self.num_features))
        self.labels = (np.arange(self.size) % self.num_classes).astype(np.int64)
        noise = rng.normal(size=(self.size, self.num_features))
        self.data = (self.centers[self.labels] + noise).astype(np.float32)
        ### END SOLUTION

    def __getitem__(self, index):
        i = _check_index(index, self.size, "SimpleDataset")
        return Tensor(self.data[i]), Tensor(self.labels[i])

    def __len__(self):
        return self.size

    def get_num_classes(self):
        return self.num_classes


# %% nbgrader={"grade": true, "grade_id": "test-simple-dataset", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
ds = SimpleDataset(size=90, num_features=5, num_classes=3)
assert len(ds) == 90 and ds.get_num_classes() == 3, \
    f"expected 90 samples in 3 classes, got {len(ds)} samples in {ds.get_num_classes()} classes"
assert ds.get_sample_shape() == (5,), f"sample shape should be (5,), got {ds.get_sample_shape()}"
x0, y0 = ds[0]
assert isinstance(x0, Tensor) and isinstance(y0, Tensor), "samples are (Tensor, Tensor) pairs"
assert ds.data.dtype == np.float32 and ds.labels.dtype == np.int64, \
    f"data should be float32 and labels int64, got {ds.data.dtype} and {ds.labels.dtype}"
assert np.array_equal(np.bincount(ds.labels), [30, 30, 30]), "every class gets its share"
assert np.array_equal(SimpleDataset(size=90, num_features=5, num_classes=3).data, ds.data), "same seed, same data"
# learnable: the nearest centre predicts the label for most samples
distances = ((ds.data[:, None, :] - ds.centers[None, :, :]) ** 2).sum(axis=2)
accuracy = (distances.argmin(axis=1) == ds.labels).mean()
assert accuracy > 0.9, f"classes should be well separated, nearest-centre accuracy is {accuracy:.2f}"
print(f"✅ SimpleDataset works (nearest-centre accuracy {accuracy:.0%})")
### BEGIN HIDDEN TESTS
assert not np.array_equal(SimpleDataset(seed=1).data, SimpleDataset(seed=2).data), \
    "different seeds should give different data (use the seed argument for the random generator)"
assert SimpleDataset().data.shape == (100, 4) and SimpleDataset().get_num_classes() == 3, \
    (f"the defaults are 100 samples of 4 features in 3 classes, got data of shape {SimpleDataset().data.shape} "
     f"in {SimpleDataset().get_num_classes()} classes")
try:
    SimpleDataset(size=0)
    raise AssertionError("size=0 should raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ## Step 3 — The `DataLoader`
#
# `DataLoader(dataset, batch_size=32, shuffle=True)` is iterable: each pass (`for x, y in loader`)
# is one epoch and yields `(batch_data, batch_labels)`, Tensors of shape `(B, *sample_shape)` and
# `(B,)`. Every sample appears exactly once per epoch; when `batch_size` doesn't divide the data
# set, the last batch is shorter. `len(loader)` is the number of batches: `ceil(len(dataset) /
# batch_size)`.
#
# With `shuffle=True` each epoch uses a fresh random order. Pass `seed=...` and the loader draws its
# orders from its own generator, so two loaders with the same seed give the same sequence of
# epochs. Without a seed it uses NumPy's global generator (`np.random.seed` controls it).
#
# Worked example: 10 samples, `batch_size=4`, no shuffle → batches of indices `[0 1 2 3]`,
# `[4 5 6 7]`, `[8 9]`; `len(loader) == 3`.

# %% nbgrader={"grade": false, "grade_id": "dataloader", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class DataLoader:
    """Iterates a Dataset in batches of `(data, labels)` Tensors; with shuffle=True, a new order every epoch."""

    def __init__(self, dataset, batch_size=32, shuffle=True, seed=None):
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"DataLoader: expected batch_size to be a positive int, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def _order(self):
        """The sample indices of one epoch."""
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return self._rng.permutation(n) if self._rng is not None else np.random.permutation(n)

    def __len__(self):
        # TODO: the number of batches per epoch (round up).
        ### BEGIN SOLUTION
        return (len(self.dataset) + self.batch_size - 1) // self.batch_size
        ### END SOLUTION

    def __iter__(self):
        # TODO: for each slice of self._order() of length batch_size, yield a pair of Tensors:
        #       the samples' data stacked along a new first axis, and their labels as a 1-D array.
        # HINTS:
        # - `yield` each pair: a method with `yield` is a generator, and a fresh one (a new
        #   epoch, with a new order) starts every time a `for` loop calls iter(loader).
        # - order = self._order(); batch = order[start:start + self.batch_size]
        # - data, label = self.dataset[int(i)]; their NumPy arrays are data.data and label.data
        # - np.stack(list_of_arrays) and np.array(list_of_labels)
        ### BEGIN SOLUTION
        order = self._order()
        for start in range(0, len(order), self.batch_size):
            samples = [self.dataset[int(i)] for i in order[start:start + self.batch_size]]
            data = np.stack([np.asarray(x.data) for x, _ in samples])
            labels = np.array([np.asarray(y.data) for _, y in samples])
            yield Tensor(data), Tensor(labels)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-dataloader", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
ds = SimpleDataset(size=10, num_features=3, num_classes=2)
loader = DataLoader(ds, batch_size=4, shuffle=False)
assert len(loader) == 3, f"10 samples in batches of 4 make 3 batches, got {len(loader)}"
batches = list(loader)
assert [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)], "the last batch is short"
assert [b[1].shape for b in batches] == [(4,), (4,), (2,)], \
    f"label batches should have shapes [(4,), (4,), (2,)], got {[b[1].shape for b in batches]}"
assert isinstance(batches[0][0], Tensor) and isinstance(batches[0][1], Tensor), \
    f"a batch is a (Tensor, Tensor) pair, got ({type(batches[0][0]).__name__}, {type(batches[0][1]).__name__})"
assert np.allclose(np.concatenate([b[0].data for b in batches]), ds.data), "without shuffle, the order is kept"
shuffled = DataLoader(SimpleDataset(size=50), batch_size=8, seed=3)
seen = np.concatenate([np.asarray(y.data) for _, y in shuffled])
assert len(seen) == 50 and len(shuffled) == 7, \
    f"50 samples in batches of 8: 50 labels in 7 batches, got {len(seen)} labels in {len(shuffled)} batches"
rows = np.concatenate([x.data for x, _ in shuffled])
assert sorted(map(tuple, rows)) == sorted(map(tuple, shuffled.dataset.data)), "every sample exactly once per epoch"
print("✅ DataLoader works")
### BEGIN HIDDEN TESTS
first = [np.asarray(x.data) for x, _ in DataLoader(SimpleDataset(size=30), batch_size=7, seed=9)]
again = [np.asarray(x.data) for x, _ in DataLoader(SimpleDataset(size=30), batch_size=7, seed=9)]
assert all(np.array_equal(a, b) for a, b in zip(first, again)), "same seed, same batches"
epochs = DataLoader(SimpleDataset(size=30), batch_size=30, seed=9)
e1, e2 = [np.asarray(next(iter(epochs))[0].data) for _ in range(2)]
assert not np.array_equal(e1, e2), "each epoch reshuffles"
assert len(DataLoader(SimpleDataset(size=32), batch_size=32)) == 1, \
    f"32 samples in batches of 32 make 1 batch, got {len(DataLoader(SimpleDataset(size=32), batch_size=32))}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 4 — Real data: 8×8 handwritten digits
#
# The package ships a classic small data set: 1,797 handwritten digits, each an 8×8 grid of
# integers 0–16 (how many of 16 pixels of a 4×4 block of the original 32×32 scan were ink). It is
# the test part of the *Optical Recognition of Handwritten Digits* set (Alpaydin & Kaynak, UCI
# repository), in the copy scikit-learn bundles; `tinytorch/data/README.md` gives source and
# licence. `load_digits()` reads it from the package — no download — scaled to `[0, 1]`.

# %%
#| export
@lru_cache(maxsize=1)
def _digits_raw():
    with files("tinytorch").joinpath("data", "digits.csv.gz").open("rb") as raw, gzip.open(raw) as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.float32)
    return table


def load_digits():
    """All 1,797 digits: images (1797, 8, 8) float32 in [0, 1] and labels (1797,) int64."""
    table = _digits_raw()
    images = (table[:, :64] / 16.0).reshape(-1, 8, 8).astype(np.float32)
    return images, table[:, 64].astype(np.int64)

# %% [markdown]
# ### A fair train/test split
#
# We measure a model on images it never trained on, so the data is split once into a training and
# a test set. A **stratified** split keeps each class's share the same in both: for each class,
# shuffle its indices with a seeded generator and send `round(count × test_fraction)` of them to
# the test set. Same seed, same split — every run and every student sees the same test set.

# %% nbgrader={"grade": false, "grade_id": "stratified-split", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def stratified_split(labels, test_fraction=0.2, seed=0):
    """Sorted (train_indices, test_indices): per class, a seeded round(count * test_fraction) go to test."""
    labels = np.asarray(labels)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"stratified_split: expected 0 < test_fraction < 1, got {test_fraction!r}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    # TODO: for each class c in np.unique(labels): shuffle np.flatnonzero(labels == c) with rng,
    #       put the first int(round(len * test_fraction)) in `test`, the rest in `train`.
    #       Return (np.sort(np.concatenate(train)), np.sort(np.concatenate(test))).
    ### BEGIN SOLUTION
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(members) * test_fraction))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-stratified-split", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
toy = np.array([0] * 10 + [1] * 20)
tr, te = stratified_split(toy, test_fraction=0.3, seed=1)
assert len(te) == 9 and len(tr) == 21, f"3 of class 0 and 6 of class 1 go to test, got {len(te)} test samples"
assert np.array_equal(np.bincount(toy[te]), [3, 6]), "the split keeps each class's share"
assert not set(tr) & set(te) and set(tr) | set(te) == set(range(30)), "disjoint, and together all samples"
tr2, te2 = stratified_split(toy, test_fraction=0.3, seed=1)
assert np.array_equal(te, te2), "same seed, same split"
print("✅ stratified_split works")
### BEGIN HIDDEN TESTS
_, te3 = stratified_split(toy, test_fraction=0.3, seed=2)
assert not np.array_equal(te, te3), "another seed, another split"
assert np.all(np.diff(tr) > 0) and np.all(np.diff(te) > 0), "indices come back sorted"
### END HIDDEN TESTS

# %% [markdown]
# `DigitsDataset(train=True, test_fraction=0.2, seed=0, flatten=False)` is the training part
# (1,438 images with the defaults) or, with `train=False`, the test part (359). A sample's data is
# `(1, 8, 8)` — one channel, ready for `MultiChannelConv2D` — or `(64,)` with `flatten=True`, for a
# `Dense` network. The whole split is also there as NumPy arrays, `.images` and `.labels`, for
# evaluating a model on all of it at once.

# %%
#| export
class DigitsDataset(Dataset):
    """The 8x8 digits, split by `stratified_split`; samples (1, 8, 8), or (64,) when flatten=True."""

    def __init__(self, train=True, test_fraction=0.2, seed=0, flatten=False):
        images, labels = load_digits()
        train_idx, test_idx = stratified_split(labels, test_fraction, seed)
        chosen = train_idx if train else test_idx
        shape = (64,) if flatten else (1, 8, 8)
        self.train, self.flatten = train, flatten
        self.images = images[chosen].reshape(len(chosen), *shape)
        self.labels = labels[chosen]

    def __getitem__(self, index):
        i = _check_index(index, len(self.labels), "DigitsDataset")
        return Tensor(self.images[i]), Tensor(self.labels[i])

    def __len__(self):
        return len(self.labels)

    def get_num_classes(self):
        return 10


# %% nbgrader={"grade": true, "grade_id": "test-digits", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
train_set, test_set = DigitsDataset(train=True), DigitsDataset(train=False)
assert len(train_set) + len(test_set) == 1797, "the split covers all 1,797 digits"
assert len(test_set) == 359, f"with test_fraction=0.2 the test set has 359 digits, got {len(test_set)}"
assert train_set.get_sample_shape() == (1, 8, 8) and train_set.get_num_classes() == 10, \
    f"digits are (1, 8, 8) images in 10 classes, got {train_set.get_sample_shape()} in {train_set.get_num_classes()}"
assert DigitsDataset(flatten=True).get_sample_shape() == (64,), \
    f"flatten=True gives samples of shape (64,), got {DigitsDataset(flatten=True).get_sample_shape()}"
images, labels = load_digits()
assert images.dtype == np.float32 and 0.0 <= images.min() and images.max() == 1.0, \
    f"images should be float32 scaled into [0, 1] (brightest pixel 1.0), got {images.dtype} in [{images.min()}, {images.max()}]"
x, y = next(iter(DataLoader(test_set, batch_size=16, seed=0)))
assert x.shape == (16, 1, 8, 8) and y.shape == (16,), \
    f"a batch of 16 is images (16, 1, 8, 8) and labels (16,), got {x.shape} and {y.shape}"
print("✅ the digits are ready:", len(train_set), "for training,", len(test_set), "for testing")
### BEGIN HIDDEN TESTS
assert np.array_equal(np.bincount(labels), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]), \
    f"digits per class should be [178, 182, 177, 183, 181, 182, 181, 179, 174, 180], got {np.bincount(labels).tolist()}"
assert np.array_equal(DigitsDataset(train=False).labels, test_set.labels), \
    "the train/test split should be the same every time (a fixed seed)"
### END HIDDEN TESTS

# %% [markdown]
# ## See it: a batch of digits
#
# One shuffled batch from the training loader, with the labels the model will learn to predict.

# %%
if SHOW:
    import matplotlib.pyplot as plt

    batch_x, batch_y = next(iter(DataLoader(DigitsDataset(train=True), batch_size=16, seed=1)))
    fig, axes = plt.subplots(2, 8, figsize=(10, 3))
    for ax, image, label in zip(axes.flat, batch_x.data, batch_y.data):
        ax.imshow(image[0], cmap="gray_r")
        ax.set_title(int(label))
        ax.axis("off")
    plt.show()

# %% [markdown]
# ## What you built
#
# - `Dataset`: the interface every data source follows.
# - `SimpleDataset`: seeded, learnable synthetic clusters.
# - `DataLoader`: shuffled batches, each sample once per epoch, reproducible with `seed`.
# - `load_digits`, `stratified_split`, `DigitsDataset`: real handwritten digits with a fixed,
#   fair train/test split.
#
# ```python
# from tinytorch.core.dataloader import DataLoader, DigitsDataset
# ```
#
# With layers (modules 03–05) and data (this module), what is missing is learning: module 07 adds
# automatic differentiation.
