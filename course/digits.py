"""Real hand-written digits that load offline.

The course ships the UCI ML hand-written digits (1,797 images of 8×8 pixels,
CC BY 4.0; see ``course/data/README.md``), so notebook 07 trains its CNN on
real data without a download.

Images come as ``(N, 1, H, W)`` float64 arrays scaled to ``[0, 1]`` (the
course's ``(N, C, H, W)`` convention with one channel), labels as ``(N,)``
int64 arrays.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "DIGITS_SHA256",
    "DigitsSplit",
    "digits_path",
    "load_digits",
    "split_indices",
    "load_digits_split",
    "file_sha256",
]

DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
_DIGITS_MAX = 16.0


def digits_path() -> Path:
    """Where the shipped ``digits.csv.gz`` lives (inside the installed package)."""
    return Path(str(resources.files("course").joinpath("data", "digits.csv.gz")))


def load_digits(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load the UCI hand-written digits.

    Parameters
    ----------
    path : str or Path, optional
        A ``.csv`` or ``.csv.gz`` file with 64 pixel values (0..16) and a
        label per line; by default the copy shipped with the course.

    Returns
    -------
    images : ndarray of float64, shape (N, 1, 8, 8)
        Pixel values divided by 16, so in ``[0, 1]``; N = 1797 for the
        shipped file.
    labels : ndarray of int64, shape (N,)
        The digit shown, 0..9.
    """
    path = Path(path) if path is not None else digits_path()
    data = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    if data.shape[1] != 65:
        raise ValueError(f"{path} has {data.shape[1]} columns, expected 64 pixels and a label")
    images = (data[:, :64] / _DIGITS_MAX).reshape(-1, 1, 8, 8)
    labels = data[:, 64].astype(np.int64)
    return images, labels


def split_indices(
    labels: np.ndarray, test_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic, stratified train/test split.

    Every class gives ``round(test_fraction * count)`` of its examples to the
    test set, chosen at random with ``np.random.default_rng(seed)``; the two
    index arrays are disjoint and together cover every example.

    Parameters
    ----------
    labels : ndarray of int, shape (N,)
        Class of each example.
    test_fraction : float
        Share of each class that goes to the test set, in ``(0, 1)``.
    seed : int
        Seed of the random choice: the same seed gives the same split.

    Returns
    -------
    train_idx : ndarray of int64, shape (N - T,)
        Sorted indices of the training examples.
    test_idx : ndarray of int64, shape (T,)
        Sorted indices of the held-out test examples.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    test_parts = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        n_test = int(round(test_fraction * members.size))
        test_parts.append(rng.permutation(members)[:n_test])
    test_idx = np.sort(np.concatenate(test_parts)).astype(np.int64)
    is_test = np.zeros(labels.shape[0], dtype=bool)
    is_test[test_idx] = True
    train_idx = np.flatnonzero(~is_test).astype(np.int64)
    return train_idx, test_idx


class DigitsSplit(NamedTuple):
    """Training and held-out test data; images ``(n, 1, 8, 8)``, labels ``(n,)``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits_split(test_fraction: float = 0.2, seed: int = 0) -> DigitsSplit:
    """The shipped digits split by :func:`split_indices`.

    Parameters
    ----------
    test_fraction : float
        Share of each class held out for testing (0.2 gives 359 test images).
    seed : int
        Seed of the split.

    Returns
    -------
    DigitsSplit
        ``(x_train, y_train, x_test, y_test)``: images of shape
        ``(n, 1, 8, 8)`` float64 in ``[0, 1]`` and int64 labels ``(n,)``.
    """
    images, labels = load_digits()
    train_idx, test_idx = split_indices(labels, test_fraction, seed)
    return DigitsSplit(images[train_idx], labels[train_idx], images[test_idx], labels[test_idx])


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, to check that a data file is the expected one."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
