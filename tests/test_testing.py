"""The assertions the notebooks' tests are written with."""

import warnings

import numpy as np
import pytest

from course.testing import assert_tensor_close, checked_call, describe_mismatch


def test_close_values_pass():
    expected = np.linspace(-1, 1, 12).reshape(3, 4)
    assert_tensor_close(expected * (1 + 1e-9), expected, name="out")
    assert_tensor_close(715.0, 715.0, name="price")
    assert_tensor_close(np.float64(2.2), 2.2, name="grad")


@pytest.mark.parametrize(
    ("actual", "fragment"),
    [
        (None, "None"),
        ("text", "got a str"),
        (np.zeros((4, 3)), "shape (4, 3), expected shape (3, 4)"),
        (np.zeros((3, 4), dtype=np.float32), "dtype float32"),
        (np.full((3, 4), np.nan), "non-finite"),
        (np.zeros((3, 4)), "12 of 12 entries differ"),
    ],
)
def test_each_kind_of_mismatch_is_named(actual, fragment):
    expected = np.ones((3, 4))
    with pytest.raises(AssertionError) as error:
        assert_tensor_close(actual, expected, name="out")
    assert fragment in str(error.value)
    assert str(error.value).startswith("out")


def test_the_worst_entry_is_reported_and_the_expected_value_is_not():
    expected = np.array([[10.0, 20.0], [30.0, 40.0]])
    actual = expected.copy()
    actual[1, 0] = 31.0
    actual[0, 1] = 20.5
    message = describe_mismatch(actual, expected)
    assert "index (1, 0)" in message
    assert "value 31" in message
    assert "30" not in message


def test_a_hint_is_appended():
    with pytest.raises(AssertionError, match="Hint: sum over the batch"):
        assert_tensor_close(np.zeros(2), np.ones(2), name="db", hint="sum over the batch")


def test_dtype_check_can_be_turned_off():
    assert_tensor_close(np.ones(2, dtype=np.float32), np.ones(2), check_dtype=False)


def test_infinities_must_match_exactly():
    assert_tensor_close(np.array([np.inf, 1.0]), np.array([np.inf, 1.0]))
    with pytest.raises(AssertionError, match="inf or nan"):
        assert_tensor_close(np.array([-np.inf, 1.0]), np.array([np.inf, 1.0]))


def test_checked_call_returns_the_result_of_a_clean_function():
    x = np.arange(3.0)
    assert np.array_equal(checked_call(lambda v: v * 2, x), x * 2)


def test_checked_call_catches_in_place_modification():
    def scale_in_place(v, factor=2.0):
        v *= factor
        return v

    with pytest.raises(AssertionError, match="argument number 1 in place"):
        checked_call(scale_in_place, np.ones(3), name="scale")


def test_checked_call_catches_modification_inside_a_dict():
    def zero_first(params):
        params["W1"][0] = 0.0
        return params

    with pytest.raises(AssertionError, match="in place"):
        checked_call(zero_first, {"W1": np.ones(3)})


def test_checked_call_catches_keyword_argument_modification():
    def clip(x, out):
        out[:] = 0
        return x

    with pytest.raises(AssertionError, match="'out' in place"):
        checked_call(clip, np.ones(2), out=np.ones(2))


def test_checked_call_catches_numpy_overflow_warnings():
    with pytest.raises(AssertionError, match="RuntimeWarning: overflow"):
        checked_call(lambda v: 1 / (1 + np.exp(-v)), np.array([-1000.0]), name="sigmoid")


def test_checked_call_catches_python_warnings_and_leaves_filters_alone():
    def noisy():
        warnings.warn("careful", UserWarning, stacklevel=1)

    with pytest.raises(AssertionError, match="UserWarning: careful"):
        checked_call(noisy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checked_call(lambda: 1)


def test_checked_call_accepts_underflow_to_zero():
    result = checked_call(lambda v: np.exp(v), np.array([-1000.0, 0.0]))
    assert result[0] == 0.0
