"""The shipped digits and the loaders in course/digits.py."""


import numpy as np
import pytest

from course.digits import (
    DIGITS_SHA256,
    digits_path,
    file_sha256,
    load_digits,
    load_digits_split,
    split_indices,
)

CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_shipped_file_is_the_documented_one():
    assert digits_path().is_file(), "course/data/digits.csv.gz is not installed with the package"
    assert file_sha256(digits_path()) == DIGITS_SHA256


def test_load_digits_shapes_dtypes_and_range():
    images, labels = load_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float64
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert np.all(np.isin(images * 16, np.arange(17)))
    assert np.bincount(labels).tolist() == CLASS_COUNTS


def test_load_digits_first_image_is_a_zero():
    images, labels = load_digits()
    assert labels[0] == 0
    # a zero is a ring: ink around, none in the middle of row 4
    first = images[0, 0] * 16
    assert first[0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]
    assert first[4, 3] == 0 and first[4, 1] > 0 and first[4, 6] > 0


def test_load_digits_from_a_custom_csv(tmp_path):
    rows = np.zeros((3, 65))
    rows[:, :64] = np.arange(3 * 64).reshape(3, 64) % 17
    rows[:, 64] = [7, 1, 3]
    path = tmp_path / "few.csv"
    np.savetxt(path, rows, delimiter=",", fmt="%d")
    images, labels = load_digits(path)
    assert images.shape == (3, 1, 8, 8)
    np.testing.assert_array_equal(images.reshape(3, 64) * 16, rows[:, :64])
    assert labels.tolist() == [7, 1, 3]


def test_load_digits_rejects_a_wrong_width(tmp_path):
    path = tmp_path / "bad.csv"
    np.savetxt(path, np.zeros((2, 10)), delimiter=",")
    with pytest.raises(ValueError, match="columns"):
        load_digits(path)


def test_split_is_disjoint_complete_stratified_and_deterministic():
    _, labels = load_digits()
    train_idx, test_idx = split_indices(labels, test_fraction=0.2, seed=0)
    assert np.intersect1d(train_idx, test_idx).size == 0
    assert np.array_equal(np.sort(np.concatenate([train_idx, test_idx])), np.arange(1797))
    assert np.all(np.diff(train_idx) > 0) and np.all(np.diff(test_idx) > 0)
    expected_test = [int(round(0.2 * c)) for c in CLASS_COUNTS]
    assert np.bincount(labels[test_idx], minlength=10).tolist() == expected_test
    again = split_indices(labels, test_fraction=0.2, seed=0)
    assert np.array_equal(again[1], test_idx)
    other = split_indices(labels, test_fraction=0.2, seed=1)
    assert not np.array_equal(other[1], test_idx)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_split_rejects_fractions_outside_the_open_interval(fraction):
    with pytest.raises(ValueError):
        split_indices(np.arange(10) % 2, test_fraction=fraction)


def test_load_digits_split_matches_the_indices():
    split = load_digits_split(test_fraction=0.2, seed=0)
    images, labels = load_digits()
    train_idx, test_idx = split_indices(labels, 0.2, 0)
    assert split.x_train.shape == (train_idx.size, 1, 8, 8)
    assert split.x_test.shape == (359, 1, 8, 8)
    np.testing.assert_array_equal(split.x_test, images[test_idx])
    np.testing.assert_array_equal(split.y_train, labels[train_idx])
