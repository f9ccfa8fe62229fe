"""Unit tests of course.toy_data."""

import numpy as np
import pytest

from course.toy_data import make_moons, make_spirals


@pytest.mark.parametrize("make", [make_moons, make_spirals])
@pytest.mark.parametrize("n_samples", [2, 7, 200])
def test_shapes_dtypes_and_balanced_labels(make, n_samples):
    X, y = make(n_samples=n_samples, seed=1)
    assert X.shape == (n_samples, 2) and X.dtype == np.float64
    assert y.shape == (n_samples,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=2)
    assert counts.max() - counts.min() <= 1
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("make", [make_moons, make_spirals])
def test_same_seed_same_data_other_seed_other_data(make):
    X1, y1 = make(n_samples=50, seed=3)
    X2, y2 = make(n_samples=50, seed=3)
    X3, _ = make(n_samples=50, seed=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)


def test_spirals_have_one_arm_per_class_and_stay_near_the_unit_disc():
    X, y = make_spirals(n_samples=300, n_classes=3, noise=0.0, seed=0)
    assert set(np.unique(y)) == {0, 1, 2}
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.min() >= 0.1 - 1e-12 and radius.max() <= 1.0 + 1e-12
    # without noise, arm k starts at angle 2 pi k / 3 on the inner radius
    for k in range(3):
        inner = X[(y == k) & np.isclose(radius, 0.1)]
        assert inner.shape == (1, 2)
        angle = np.arctan2(inner[0, 1], inner[0, 0]) % (2 * np.pi)
        expected = (2 * np.pi * (0.1 + k / 3)) % (2 * np.pi)
        assert np.isclose(angle, expected)


def test_moons_without_noise_lie_on_two_circles():
    X, y = make_moons(n_samples=40, noise=0.0, seed=0)
    upper = X[y == 0] + np.array([0.5, 0.25])
    lower = X[y == 1] + np.array([0.5, 0.25]) - np.array([1.0, 0.5])
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0], lower[:, 1]), 1.0)
    assert np.all(upper[:, 1] >= -1e-12) and np.all(lower[:, 1] <= 1e-12)


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError):
        make_spirals(n_samples=10, n_classes=1)
    with pytest.raises(ValueError):
        make_moons(n_samples=1)
