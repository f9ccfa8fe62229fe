"""Small two-dimensional classification data sets, generated with numpy.

They are the classic toys for watching a network bend its decision boundary:
two interleaved half moons, and spirals whose arms wind around each other.
Both are deterministic for a given ``seed`` and take well under a millisecond
for a few hundred points.
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_moons", "make_spirals"]


def _split_counts(n_samples: int, n_classes: int) -> list[int]:
    if n_samples < n_classes:
        raise ValueError(f"need at least {n_classes} samples, got {n_samples}")
    base, extra = divmod(n_samples, n_classes)
    return [base + (1 if k < extra else 0) for k in range(n_classes)]


def make_moons(
    n_samples: int = 200, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles.

    Parameters
    ----------
    n_samples : int
        Total number of points, split as evenly as possible between the classes.
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int
        Seed of the random generator; the same seed gives the same data.

    Returns
    -------
    X : ndarray of float64, shape (n_samples, 2)
        Points, roughly centred on the origin, in [-1.5, 2.5] x [-1, 1.5]
        before noise.
    y : ndarray of int64, shape (n_samples,)
        Class labels, 0 for the upper moon and 1 for the lower one.
    """
    rng = np.random.default_rng(seed)
    n_upper, n_lower = _split_counts(n_samples, 2)
    angle_upper = np.linspace(0.0, np.pi, n_upper)
    angle_lower = np.linspace(0.0, np.pi, n_lower)
    upper = np.stack([np.cos(angle_upper), np.sin(angle_upper)], axis=1)
    lower = np.stack([1.0 - np.cos(angle_lower), 0.5 - np.sin(angle_lower)], axis=1)
    X = np.concatenate([upper, lower]) - np.array([0.5, 0.25])
    X = X + noise * rng.standard_normal(X.shape)
    y = np.concatenate([np.zeros(n_upper, dtype=np.int64), np.ones(n_lower, dtype=np.int64)])
    order = rng.permutation(n_samples)
    return X[order], y[order]


def make_spirals(
    n_samples: int = 200,
    n_classes: int = 2,
    noise: float = 0.1,
    turns: float = 1.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Spiral arms, one per class, winding out from the origin.

    Parameters
    ----------
    n_samples : int
        Total number of points, split as evenly as possible between the arms.
    n_classes : int
        Number of arms (and classes), at least 2.
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate,
        relative to the outer radius 1.
    turns : float
        How many full turns each arm makes; more turns are harder to separate.
    seed : int
        Seed of the random generator; the same seed gives the same data.

    Returns
    -------
    X : ndarray of float64, shape (n_samples, 2)
        Points within about ``1 + 3 * noise`` of the origin.
    y : ndarray of int64, shape (n_samples,)
        Class labels ``0 .. n_classes - 1``.
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    rng = np.random.default_rng(seed)
    points, labels = [], []
    for label, count in enumerate(_split_counts(n_samples, n_classes)):
        radius = np.linspace(0.1, 1.0, count)
        angle = 2.0 * np.pi * (turns * radius + label / n_classes)
        points.append(np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1))
        labels.append(np.full(count, label, dtype=np.int64))
    X = np.concatenate(points)
    X = X + noise * rng.standard_normal(X.shape)
    y = np.concatenate(labels)
    order = rng.permutation(n_samples)
    return X[order], y[order]
