"""Milestone 01: a multilayer perceptron built from tinytorch reads handwritten digits.

Data: the 8x8 digits shipped with module 06 (1,797 images; a stratified 80/20 split).
Model: create_mlp(64, [128, 64], 10) with ReLU, logits into CrossEntropyLoss, trained with Adam.
Target: at least 95 % accuracy on the held-out test digits. Exit code 0 only if the target is met.
Run: tito milestone run 01   (or: python milestones/01_digits_mlp/train.py)
"""
import os
import sys
import time

# These matrices are small: one BLAS thread is faster than several, and the run no longer depends
# on the number of cores. Must be set before NumPy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from tinytorch.core.dataloader import DataLoader, DigitsDataset
from tinytorch.core.networks import create_mlp
from tinytorch.core.optimizers import Adam
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import Accuracy, CrossEntropyLoss, Trainer

TARGET = 0.95
EPOCHS = 15
SEED = 0


def curve(history):
    """One line per epoch: losses, test accuracy and a bar."""
    for epoch, loss, val_loss, acc in zip(history["epoch"], history["train_loss"], history["val_loss"],
                                          history["val_accuracy"]):
        print(f"  epoch {epoch:2d}  train loss {loss:6.4f}  test loss {val_loss:6.4f}  "
              f"test acc {acc:6.1%}  {'█' * int(round(acc * 40))}")


def confusion_matrix(model, dataset):
    """Counts[true, predicted] over the whole data set."""
    predicted = np.asarray(model(Tensor(dataset.images))).argmax(axis=1)
    counts = np.zeros((10, 10), dtype=int)
    np.add.at(counts, (dataset.labels, predicted), 1)
    return counts


def show_confusion(counts):
    print("confusion matrix (rows: true digit, columns: predicted digit)")
    print("       " + "".join(f"{c:>4}" for c in range(10)))
    for true, row in enumerate(counts):
        print(f"  {true:>3}  " + "".join(f"{n:>4}" if n else "   ." for n in row))


def main():
    np.random.seed(SEED)
    train, test = DigitsDataset(train=True, flatten=True), DigitsDataset(train=False, flatten=True)
    model = create_mlp(64, [128, 64], 10, output_activation=None)
    trainer = Trainer(model, Adam(model.parameters(), learning_rate=0.002), CrossEntropyLoss(), [Accuracy()])
    print(f"training {len(train)} digits, testing on {len(test)}: MLP 64-128-64-10, Adam, {EPOCHS} epochs")
    start = time.perf_counter()
    history = trainer.fit(DataLoader(train, batch_size=32, seed=SEED),
                          DataLoader(test, batch_size=256, shuffle=False), epochs=EPOCHS, verbose=False)
    seconds = time.perf_counter() - start
    curve(history)
    counts = confusion_matrix(model, test)
    show_confusion(counts)
    accuracy = counts.trace() / counts.sum()
    print(f"test accuracy: {accuracy:.2%} (target {TARGET:.0%}), trained in {seconds:.1f} s")
    if accuracy < TARGET:
        print(f"target missed: {accuracy:.2%} < {TARGET:.0%}")
        return 1
    print("✅ Milestone 01 reached: your MLP reads handwritten digits.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
