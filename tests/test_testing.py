"""The assertions the notebooks' tests are written with, and their diagnoses."""

import doctest
import linecache
import re
import time
import warnings
from fractions import Fraction

import numpy as np
import pytest

import course.diagnoses
import course.gradcheck
import course.testing
from course.diagnoses import Comparison, diagnose_shape, diagnose_values
from course.testing import assert_tensor_close, checked_call, describe_mismatch

RNG_SEEDS = range(40)


def failure_message(actual, expected, **kwargs) -> str:
    with pytest.raises(AssertionError) as error:
        assert_tensor_close(actual, expected, name="out", **kwargs)
    return str(error.value)


def numbers_in(message: str) -> list[float]:
    return [float(token) for token in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", message)]


def leaked_values(message: str, actual, expected, rtol=1e-7, atol=1e-10) -> list[float]:
    """Expected values at wrong entries that the message quotes (to 4 significant digits)."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if actual.shape == expected.shape:
        wrong = np.abs(actual - expected) > atol + rtol * np.abs(expected)
    else:
        wrong = np.ones(expected.shape, dtype=bool)
    hidden = expected[wrong & (expected != 0)]
    return [n for n in numbers_in(message) if np.any(np.abs(hidden - n) <= 5e-4 * np.abs(hidden))]


# --------------------------------------------------------------------------------------------
# The basic checks
# --------------------------------------------------------------------------------------------


def test_close_values_pass():
    expected = np.linspace(-1, 1, 12).reshape(3, 4)
    assert_tensor_close(expected * (1 + 1e-9), expected, name="out")
    assert_tensor_close(715.0, 715.0, name="price")
    assert_tensor_close(np.float64(2.2), 2.2, name="grad")


@pytest.mark.parametrize(
    ("actual", "fragment"),
    [
        (None, "is None"),
        ("text", "is a str"),
        (np.zeros((4, 3)), "shape (4, 3), expected shape (3, 4)"),
        (np.zeros((3, 4), dtype=np.float32), "dtype float32"),
        (np.full((3, 4), np.nan), "non-finite"),
        (np.random.default_rng(0).standard_normal((3, 4)), "at 12 of 12 entries"),
    ],
)
def test_each_kind_of_mismatch_is_named(actual, fragment):
    message = failure_message(actual, np.ones((3, 4)))
    assert fragment in message
    assert message.startswith("out ")


def test_the_worst_entry_is_reported_and_the_expected_value_is_not():
    expected = np.array([[10.0, 20.0], [30.0, 40.0]])
    actual = expected.copy()
    actual[1, 0] = 31.0
    actual[0, 1] = 20.5
    message = describe_mismatch(actual, expected)
    assert "index (1, 0)" in message
    assert "value 31" in message
    assert leaked_values(message, actual, expected) == []


def test_the_relative_error_printed_is_the_one_the_tolerance_bounds():
    # |31 - 30| / |30|: the denominator of rtol, not max(|actual|, |expected|) (which gives 0.0323)
    expected = np.array([30.0, 1.0, 2.0])
    message = describe_mismatch(np.array([31.0, 1.0, 2.0]), expected)
    assert "relative error 0.0333" in message
    # just inside and just outside rtol agree with the printed figure
    assert describe_mismatch(expected * (1 + 0.9e-7), expected) is None
    assert "relative error 1.1e-07" in describe_mismatch(expected * (1 + 1.1e-7), expected)


def test_a_zero_right_value_is_reported_as_such_not_as_a_relative_error():
    message = describe_mismatch(np.array([0.3, -1.0, 2.0]), np.array([0.0, 2.0, 2.0]))
    assert "where the right value is 0" in message
    assert "relative error" not in message


def test_a_hint_is_appended():
    with pytest.raises(AssertionError, match="Hint: sum over the batch"):
        assert_tensor_close(np.zeros(2), np.ones(2), name="db", hint="sum over the batch")


def test_dtype_check_can_be_turned_off():
    assert_tensor_close(np.ones(2, dtype=np.float32), np.ones(2), check_dtype=False)


def test_infinities_must_match_exactly():
    assert_tensor_close(np.array([np.inf, 1.0]), np.array([np.inf, 1.0]))
    with pytest.raises(AssertionError, match="inf or nan"):
        assert_tensor_close(np.array([-np.inf, 1.0]), np.array([np.inf, 1.0]))


@pytest.mark.parametrize("module", [course.testing, course.diagnoses, course.gradcheck])
def test_the_docstring_examples_are_the_real_messages(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# --------------------------------------------------------------------------------------------
# Each diagnosis
# --------------------------------------------------------------------------------------------

# Values no index, count or factor of a message can be mistaken for, so that a leak shows.
RIGHT = np.round(3 * np.random.default_rng(7).standard_normal((4, 3)), 4)
NEGATIVE = int(np.sum(RIGHT < 0))


def _shifted_right(right):
    shifted = np.zeros_like(right)
    shifted[:, 1:] = right[:, :-1]
    return shifted


def _with(right, index, value):
    changed = right.copy()
    changed[index] = value
    return changed


def _border_zeroed(right):
    changed = right.copy()
    changed[..., 0, :] = 0.0
    return changed


AXES_3 = np.random.default_rng(8).standard_normal((3, 3, 3))
AXES_4 = np.random.default_rng(9).standard_normal((2, 3, 2, 2))
CUBE = np.random.default_rng(10).standard_normal((2, 4, 4))
RAMP = np.random.default_rng(11).standard_normal((4, 3))
TIE = {"where two entries of a window tie": RIGHT < 0}

# name: (actual, expected, keyword arguments, a fragment the message must hold)
DIAGNOSES = {
    "all zeros": (np.zeros_like(RIGHT), RIGHT, {}, "is zero everywhere"),
    "1/N with the batch size": (
        RIGHT / 4, RIGHT, {"batch_size": 4},
        "1/4 times the right value: with a batch of N = 4, that usually means dividing by N twice"),
    "N with the batch size": (
        RIGHT * 4, RIGHT, {"batch_size": 4},
        "4 times the right value: with a batch of N = 4, that usually means a missing 1/N"),
    "a factor 2": (
        2 * RIGHT, RIGHT, {},
        "exactly 2 times the right value: a factor 2 usually means a 0.5 left out"),
    "a factor 1/2": (RIGHT / 2, RIGHT, {}, "exactly 1/2 times the right value: a factor 1/2 usually"),
    "a factor 3": (3 * RIGHT, RIGHT, {}, "is exactly 3 times the right value."),
    "the opposite sign": (-RIGHT, RIGHT, {}, "exactly -1 times the right value: it has the opposite sign"),
    "a negative factor": (-RIGHT / 2, RIGHT, {}, "exactly -1/2 times the right value (the opposite sign"),
    "a whole reciprocal": (
        RIGHT / 24, RIGHT, {},
        "exactly 1/24 times the right value: that usually means a mean over 24 numbers where the"),
    "a whole reciprocal, a multiple of the batch size": (
        RIGHT / 24, RIGHT, {"batch_size": 2},
        "a mean over 24 numbers (N = 2 times 12: the batch and, e.g., the positions)"),
    "1/N with a batch of 2 is not the 0.5 of a squared loss": (
        RIGHT / 2, RIGHT, {"batch_size": 2},
        "1/2 times the right value: with a batch of N = 2, that usually means dividing by N twice "
        "(once in the loss and again in its gradient), or a mean where the layer's gradient sums: "
        "dout already carries the 1/N."),
    "N with a batch of 2 is not a 0.5 left out": (
        RIGHT * 2, RIGHT, {"batch_size": 2},
        "2 times the right value: with a batch of N = 2, that usually means a missing 1/N (a sum, "
        "not a mean)."),
    "any constant factor": (RIGHT * np.pi, RIGHT, {}, "is about 3.142 times the right value at every entry"),
    "a transpose of a square": (RIGHT[:3].T, RIGHT[:3], {}, "with axes 0 and 1 swapped (a transpose)"),
    "a permutation of axes": (AXES_3.transpose(2, 0, 1), AXES_3, {}, "with its axes in the order (2, 0, 1)"),
    "a 180 degree rotation": (RIGHT[::-1, ::-1], RIGHT, {}, "reversed along axes 0 and 1 (rotated by 180°"),
    "a flip of one axis": (RIGHT[:, ::-1], RIGHT, {}, "reversed along axis 1."),
    "a shift": (_shifted_right(RIGHT), RIGHT, {}, "shifted by 1 place toward higher indices along axis 1"),
    "reshape for transpose": (
        AXES_4.transpose(0, 2, 3, 1).reshape(AXES_4.shape), AXES_4, {},
        "in the memory order of the right value's axes (0, 2, 3, 1)"),
    "right numbers in wrong places": (
        np.array([[3.71, 0.0, 0.0], [0.0, 0.0, 5.13]]), np.array([[0.0, 3.71, 0.0], [0.0, 0.0, 5.13]]), {},
        "has the right numbers, but 2 of 6 are in the wrong places"),
    "a named region": (
        _with(RIGHT, (1, 1), 9.0), RIGHT, {"regions": TIE},
        "is wrong only where two entries of a window tie, and right elsewhere: 1 of 12 entries"),
    "wrong only where zero": (
        np.array([[1.0, 2.37], [0.5, 4.71]]), np.array([[0.0, 2.37], [0.0, 4.71]]), {},
        "is wrong only where the right value is 0"),
    "the opposite sign on some entries": (
        np.abs(RIGHT), RIGHT, {},
        f"has the opposite sign at some entries, and right elsewhere: {NEGATIVE} of 12"),
    "borders": (
        _border_zeroed(CUBE), CUBE, {}, "is 0 only on the border of its last two axes (the first row)"),
    "right in the first rows only": (
        _with(RIGHT, (slice(2, None),), 7.0), RIGHT, {}, "is wrong only from index 2 on along axis 0"),
    "wrong in one slice": (
        _with(RAMP, (slice(None), 1), -1.0), RAMP, {}, "is wrong only at index 1 along axis 1"),
    "shape: transposed": (
        RIGHT.T, RIGHT, {},
        "has shape (3, 4), expected shape (4, 3): it is the right value with axes 0 and 1 swapped"),
    "shape: an extra axis": (
        RIGHT[None], RIGHT, {}, "the right numbers in the right order, but the wrong shape"),
    "shape: not summed over the batch": (
        RIGHT, RIGHT.sum(axis=0), {"batch_size": 4},
        "summed over axis 0 (the batch axis) it would be right"),
    "shape: summed over an axis it keeps": (
        RIGHT.sum(axis=1), RIGHT, {},
        "it is the right value summed over axis 1, an axis the result must keep"),
    "dtype: promoted to float64": (
        RIGHT, RIGHT.astype(np.float32), {"rtol": 1e-6},
        "has dtype float64, expected float32: an operation with a float64 array or an np.float64 number "
        "promoted it (its values are right)"),
    "dtype: float32 for float64": (
        (RIGHT * 3).astype(np.float32), RIGHT, {},
        "has dtype float32, expected float64: an array made with a fixed dtype"),
    "dtype: a mask": (RIGHT > 0, RIGHT, {}, "has dtype bool, expected float64: a comparison gave booleans"),
    "dtype: integers": (
        RIGHT.astype(int), RIGHT, {}, "has dtype int64, expected float64: integer arithmetic"),
}


@pytest.mark.parametrize("case", DIAGNOSES.values(), ids=DIAGNOSES.keys())
def test_each_diagnosis_says_the_relation(case):
    actual, expected, kwargs, fragment = case
    message = failure_message(actual, expected, **kwargs)
    assert fragment in message, message


@pytest.mark.parametrize("case", DIAGNOSES.values(), ids=DIAGNOSES.keys())
def test_no_diagnosis_prints_an_expected_value(case):
    actual, expected, kwargs, _ = case
    message = failure_message(actual, expected, **kwargs)
    assert leaked_values(message, actual, expected) == [], message


def test_the_leak_check_finds_a_leak():
    """leaked_values is the net of the test above: it must catch an expected value anywhere."""
    assert leaked_values("out is 3 times; expected 2.0 at (0, 1)", [1.0, 7.0], [1.0, 2.0]) == [2.0]


@pytest.mark.parametrize(
    "factor", [Fraction(2), Fraction(1, 2), Fraction(-1), Fraction(-3, 4), Fraction(5), Fraction(1, 7),
               Fraction(-2), Fraction(3, 2)]
)
def test_every_readable_factor_is_named_with_the_phrases_the_harness_reads(factor):
    right = np.random.default_rng(1).standard_normal((3, 5))
    message = failure_message(float(factor) * right, right)
    written = str(factor)
    assert f"exactly {written} times the right value" in message
    assert ("opposite sign" in message) == (factor < 0)


# --------------------------------------------------------------------------------------------
# No relation without support
# --------------------------------------------------------------------------------------------

RELATION_WORDS = ("times the right", "opposite sign", "swapped", "reversed", "shifted", "memory order",
                  "axes in the order")


@pytest.mark.parametrize(
    ("actual", "expected"),
    [(2.0, 1.0), (np.float64(-0.3), 0.3), (np.array([0.25]), np.array([1.0])), (np.array([[6.0]]), [[3.0]]),
     (1.0, 2.5),  # AddLayer.backward returning 1 for a dout of 2.5: not "exactly 2/5 times"
     (2.0, 0.5)],  # 1 / a computed as a / 1, at a = 2: not "exactly 4 times"
)
def test_a_single_number_gets_its_value_and_error_and_no_relation(actual, expected):
    message = describe_mismatch(actual, expected)
    assert message.startswith("differs from the expected value"), message
    assert "relative error" in message, message
    assert not any(word in message for word in RELATION_WORDS), message


# Each: (actual, expected, keyword arguments); every relation would rest on one size of right value.
A = np.array  # the cases below read as rows of numbers
LONE = 5.0 * np.eye(1, 8, 1).reshape(2, 2, 2)  # one non-zero entry, at (0, 0, 1)
UNSUPPORTED = {
    "one non-zero entry, a factor": (A([0.0, 0.0, 1.0, 0.0]), A([0.0, 0.0, 2.5, 0.0]), {}),
    "one non-zero entry, the sign": (A([[0.0, -3.0], [0.0, 0.0]]), A([[0.0, 3.0], [0.0, 0.0]]), {}),
    "one size everywhere, a factor": (np.full((2, 3), 1.0), np.full((2, 3), 2.5), {}),
    "one size everywhere, a constant factor": (np.full(4, 2.5 * np.e), np.full(4, 2.5), {}),
    "x and -x, the sign": (A([[-0.5, 0.5], [0.0, 0.0]]), A([[0.5, -0.5], [0.0, 0.0]]), {}),
    # max pooling, windows [0:3] and [2:5] of one row share their maximum at index 2: `=` for `+=`
    # keeps the last window's dout (1.0) where the two must add up (1.5 + 1.0)
    "overlapping windows, = for +=": (
        A([0.0, 0.0, 1.0, 0.0, 0.0]), A([0.0, 0.0, 2.5, 0.0, 0.0]),
        {"regions": {"where two windows overlap": np.arange(5) == 2}}),
    "a factor on wrong entries of one size": (A([1.0, -2.0, 6.0, 6.0]), A([1.0, -2.0, 3.0, 3.0]), {}),
    "a lone value transposed": (A([[0.0, 0.0], [3.0, 0.0]]), A([[0.0, 3.0], [0.0, 0.0]]), {}),
    "a lone value flipped": (A([0.0, 0.0, 0.0, 4.0]), A([4.0, 0.0, 0.0, 0.0]), {}),
    "one size shifted": (A([[0.0, 1.0, 0.0, 1.0, 0.0, 1.0]]), A([[1.0, 0.0, 1.0, 0.0, 1.0, 0.0]]), {}),
    "a lone value, axes reordered": (np.moveaxis(LONE, 0, 2), LONE, {}),
}


@pytest.mark.parametrize("case", UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_no_relation_is_claimed_on_right_values_of_one_size(case):
    actual, expected, kwargs = case
    message = failure_message(actual, expected, **kwargs)
    assert not any(word in message for word in RELATION_WORDS), message


def test_the_overlap_is_still_named_without_a_factor():
    actual, expected, kwargs = UNSUPPORTED["overlapping windows, = for +="]
    message = failure_message(actual, expected, **kwargs)
    assert "out is wrong only where two windows overlap, and right elsewhere: 1 of 5 entries" in message


# The same mistakes where two distinct sizes of right value support the relation.
SUPPORTED = {
    "two sizes, a factor": (A([1.0, -0.4]), A([2.5, -1.0]), "is exactly 2/5 times the right value"),
    "two sizes, the sign": (A([-0.5, 0.25]), A([0.5, -0.25]), "exactly -1 times the right value"),
    "a factor on wrong entries of two sizes": (
        A([1.0, -2.0, 6.0, 8.0]), A([1.0, -2.0, 3.0, 4.0]), "is exactly 2 times the right value at some"),
    "two values transposed": (A([[0.0, 5.0], [3.0, 0.0]]), A([[0.0, 3.0], [5.0, 0.0]]), "0 and 1 swapped"),
    "two values flipped": (A([0.0, 0.0, 2.0, 4.0]), A([4.0, 2.0, 0.0, 0.0]), "reversed along axis 0"),
}


@pytest.mark.parametrize("case", SUPPORTED.values(), ids=SUPPORTED.keys())
def test_two_distinct_sizes_support_the_relation(case):
    actual, expected, fragment = case
    assert fragment in failure_message(actual, expected)


def test_a_transpose_that_moves_nothing_is_a_reshape():
    row = np.array([[1.0, 2.0, 3.0]])
    message = failure_message(row.T, row)
    assert "the right numbers in the right order, but the wrong shape" in message, message
    assert "swapped" not in message


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_random_mistakes_on_one_size_of_right_value_claim_no_relation(seed):
    """Right values in {0, v, -v}: every factor, sign, permutation and shift would rest on one size."""
    rng = np.random.default_rng(500 + seed)
    shape = SHAPES[seed % len(SHAPES)]
    right = rng.choice([0.0, 1.0, -1.0], size=shape) * rng.uniform(0.5, 3.0)
    if not np.any(right):
        right.flat[0] = 1.7
    mistakes = [2.5 * right, -right, right * np.e, np.flip(right, -1), np.roll(right, 1, axis=-1),
                np.where(rng.random(shape) < 0.5, -right, right), np.swapaxes(right, 0, -1).reshape(shape)]
    for actual in mistakes:
        message = describe_mismatch(actual, right)
        if message is not None:
            assert not any(word in message for word in RELATION_WORDS), message


SHAPE_ZOO = [(), (1,), (0,), (1, 1), (2, 0, 3), (5,), (1, 4), (3, 1, 1, 2), (2, 2, 2, 2, 2, 2)]


@pytest.mark.parametrize("shape", SHAPE_ZOO, ids=str)
def test_no_rule_raises_whatever_the_shape(shape):
    """describe_mismatch swallows a rule's exception; the rules themselves must not raise."""
    rng = np.random.default_rng(3)
    right = rng.standard_normal(shape)
    comparisons = [Comparison(actual, right, 1e-7, 1e-10) for actual in (
        -right, right + 1, np.zeros(shape), np.where(right > 0, right, 0.0), 2 * right, right * 1.0001)]
    regions = {"where positive": right > 0}
    for c in comparisons:
        diagnose_values(Comparison(c.actual, c.expected, c.rtol, c.atol, batch_size=2, regions=regions))
        for other in SHAPE_ZOO:
            diagnose_shape(Comparison(rng.standard_normal(other), right, 1e-7, 1e-10))


def test_a_named_region_is_used_only_when_it_holds_every_wrong_entry():
    right = np.arange(1.0, 9.0)
    wrong = right.copy()
    wrong[[1, 6]] = 0.0
    tie = np.zeros(8, dtype=bool)
    tie[1] = True
    message = failure_message(wrong, right, regions={"where two entries of a window tie": tie})
    assert "tie" not in message


# --------------------------------------------------------------------------------------------
# No claim that does not hold
# --------------------------------------------------------------------------------------------

SHAPES = [(7,), (4, 5), (3, 3), (2, 3, 4), (2, 2, 5, 5)]
DIAGNOSIS_WORDS = ("times the right", "opposite sign", "swapped", "reversed", "shifted", "memory order",
                   "right numbers", "only", "zero everywhere", "axes in the order")


@pytest.mark.parametrize("seed", RNG_SEEDS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_near_misses_and_noise_get_no_diagnosis(seed, shape):
    rng = np.random.default_rng(seed)
    right = rng.standard_normal(shape)
    near_miss = right * (1 + 1e-5 * rng.standard_normal(shape))
    scaled_with_noise = 2 * right * (1 + 1e-4 * rng.standard_normal(shape))
    unrelated = rng.standard_normal(shape)
    uniformly_off = right * (1 + 1e-5)
    for actual in (near_miss, scaled_with_noise, unrelated, uniformly_off):
        message = describe_mismatch(actual, right)
        assert message.startswith("differs from the expected value at"), message
        assert not any(word in message for word in DIAGNOSIS_WORDS), message


def _claimed_factor(message: str) -> Fraction | None:
    match = re.search(r"is exactly (-?\d+(?:/\d+)?) times the right value", message)
    return None if match is None else Fraction(match.group(1))


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_a_claimed_factor_always_holds(seed):
    """Random mistakes, some of them exact rescalings: every claim of a factor holds, with support."""
    rng = np.random.default_rng(seed)
    shape = SHAPES[seed % len(SHAPES)]
    right = rng.standard_normal(shape)
    right[rng.random(shape) < 0.2] = 0.0
    factor = [2.0, 0.5, -1.0, 0.25, 3.0][seed % 5]
    mistakes = [factor * right, right + (rng.random(shape) < 0.3) * rng.standard_normal(shape),
                np.where(rng.random(shape) < 0.5, factor * right, right), right + 1.0, right * (1 + 1e-6)]
    for actual in mistakes:
        message = describe_mismatch(actual, right)
        if message is None:
            continue
        claimed = _claimed_factor(message)
        if claimed is not None:
            where = "only" not in message and "at some entries" not in message
            wrong = ~np.isclose(actual, right, rtol=1e-7, atol=1e-10)
            region = np.ones(shape, dtype=bool) if where else wrong
            assert np.allclose(actual[region], float(claimed) * right[region], rtol=1e-7, atol=1e-10), message
            sizes = np.abs(right[region][np.abs(right[region]) > 1e-10])
            assert np.ptp(sizes) > 1e-7 * sizes.max(), f"a factor on one size of right value: {message}"


@pytest.mark.parametrize("seed", range(10))
def test_random_mistakes_never_quote_an_expected_value(seed):
    rng = np.random.default_rng(100 + seed)
    right = 10 * rng.standard_normal((3, 4, 4))
    mistakes = [right.transpose(0, 2, 1), right[:, ::-1], -right, right * 1.5, right + 2.5,
                np.where(rng.random(right.shape) < 0.4, 0.0, right), np.roll(right, 1, axis=2)]
    for actual in mistakes:
        message = describe_mismatch(actual, right)
        assert leaked_values(message, actual, right) == [], message


# --------------------------------------------------------------------------------------------
# Cost
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1000, 1000), (10, 10, 100, 100), (2,) * 20, (50, 40, 30, 20, 1)], ids=str)
def test_a_big_array_keeps_the_assertion_fast(shape):
    """Every rule probes a few entries before touching the whole array: a small multiple of one pass."""
    rng = np.random.default_rng(0)
    right = rng.standard_normal(shape)
    near_miss = right + 1e-5 * rng.standard_normal(shape)
    start = time.perf_counter()
    assert describe_mismatch(near_miss, right).startswith("differs")
    with_zeros = right.copy()
    with_zeros[..., 0] = 0.0
    describe_mismatch(with_zeros, right)
    # A few tenths of a second on an idle laptop; the bound leaves room for a loaded CI machine.
    assert time.perf_counter() - start < 10.0


# --------------------------------------------------------------------------------------------
# checked_call
# --------------------------------------------------------------------------------------------


def test_checked_call_returns_the_result_of_a_clean_function():
    x = np.arange(3.0)
    assert np.array_equal(checked_call(lambda v: v * 2, x), x * 2)


def test_checked_call_says_the_argument_now_holds_the_returned_array():
    def scale_in_place(v, factor=2.0):
        v *= factor
        return v

    returned = "argument number 1 in place .it now holds the array the function returned"
    with pytest.raises(AssertionError, match=returned):
        checked_call(scale_in_place, np.ones(3), name="scale")


def test_checked_call_counts_the_changed_entries_inside_a_dict():
    def zero_first(params):
        params["W1"][0] = 0.0
        return {"W1": np.ones(3)}

    with pytest.raises(AssertionError, match=r"in place \(1 of 3 entries of \['W1'\] changed, the first at "
                                             r"index 0\)"):
        checked_call(zero_first, {"W1": np.ones(3)})


def test_checked_call_names_a_changed_keyword_argument_and_a_changed_list():
    def clip(x, out):
        out[:] = 0
        return x

    with pytest.raises(AssertionError, match="'out' in place .2 of 2 entries changed"):
        checked_call(clip, np.ones(2), out=np.ones(2))
    with pytest.raises(AssertionError, match="length of the sequence changed from 1 to 2"):
        checked_call(lambda history: history.append(1.0), [0.5])


def test_checked_call_catches_numpy_overflow_warnings_and_says_what_they_usually_mean():
    meaning = "RuntimeWarning: overflow encountered in exp.*That usually means np.exp of a large number"
    with pytest.raises(AssertionError, match=meaning):
        checked_call(lambda v: 1 / (1 + np.exp(-v)), np.array([-1000.0]), name="sigmoid")
    # The cure named is the general one, not softmax's "subtract the maximum".
    with pytest.raises(AssertionError, match="rewrite the formula so that every exponent is <= 0") as caught:
        checked_call(lambda v: (np.exp(2 * v) - 1) / (np.exp(2 * v) + 1), np.array([1000.0]), name="tanh")
    assert "maximum" not in str(caught.value)


def test_checked_call_shows_the_students_line_that_raised_the_warning():
    # A notebook cell: IPython registers its source with linecache under a name like this one.
    cell = "<ipython-input-7-student>"
    source = "import numpy as np\ndef sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n"
    linecache.cache[cell] = (len(source), None, source.splitlines(True), cell)
    namespace = {}
    exec(compile(source, cell, "exec"), namespace)
    try:
        with pytest.raises(AssertionError, match=r"at line 3: `return 1 / \(1 \+ np.exp\(-x\)\)`"):
            checked_call(namespace["sigmoid"], np.array([-1000.0]))
    finally:
        del linecache.cache[cell]


def test_checked_call_never_quotes_a_line_of_the_test_itself():
    """A hidden test's own code must not reach the feedback through a warning's location."""
    with pytest.raises(AssertionError) as error:
        checked_call(lambda v: np.log(v), np.array([0.0]), name="log")
    assert "np.log(v)" not in str(error.value)
    assert "divide by zero encountered in log" in str(error.value)


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
