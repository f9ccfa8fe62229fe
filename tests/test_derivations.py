"""course.derivations: the checks of the derivation exercises fail wrong answers, pass right ones,
and never print the right answer."""

import doctest
from fractions import Fraction

import numpy as np
import pytest

import course.derivations
from course.derivations import check_exact, check_formula, check_index_set

POINTS = [{"y": 0.2, "t": 1.0}, {"y": 0.7, "t": 0.0}, {"y": -1.5, "t": 1.0}]


def test_docstring_examples():
    result = doctest.testmod(course.derivations, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_a_right_formula_passes_in_any_equivalent_form():
    check_formula(lambda y, t: -(t - y), lambda y, t: y - t, POINTS, name="dL/dy")
    check_formula(lambda y, t: np.array([y, t]) * 2, lambda y, t: [2 * y, 2 * t], POINTS, name="pair")


def test_a_missing_batch_factor_is_named_and_the_right_value_is_not_printed():
    points = [{"y": np.array([0.5, 2.0]), "t": np.array([1.5, -1.0])}, {"y": np.array([3.0, 1.0]),
                                                                        "t": np.array([0.0, 0.25])}]
    with pytest.raises(AssertionError) as info:
        check_formula(lambda y, t: y - t, lambda y, t: (y - t) / 2, points, name="dL/dy", batch_size=2,
                      hint="open hint 1 of section 3")
    message = str(info.value)
    assert "2 times" in message and "open hint 1 of section 3" in message
    assert "1.5" not in message and "0.5" not in message


def test_a_formula_that_returns_nothing_is_told_to_return():
    with pytest.raises(AssertionError, match=r"returned None \(did you forget `return`\?\) at point 1"):
        check_formula(lambda y, t: None, lambda y, t: y - t, POINTS, name="dL/dy")


def test_a_formula_may_not_change_its_inputs():
    def in_place(y, t):
        y -= t
        return y

    points = [{"y": np.array([1.0, 2.0]), "t": np.array([0.5, 0.5])}] * 2
    with pytest.raises(AssertionError, match="modified its argument 'y' in place"):
        check_formula(in_place, lambda y, t: y - t, points, name="dL/dy")


def test_one_point_is_refused():
    with pytest.raises(ValueError):
        check_formula(lambda y, t: y, lambda y, t: y, POINTS[:1], name="dL/dy")


def test_a_wrong_shape_is_named_at_its_point():
    with pytest.raises(AssertionError, match="at point 1"):
        check_formula(lambda y, t: np.array([y, t]), lambda y, t: y - t, POINTS, name="dL/dy")


def test_index_sets_name_the_students_wrong_entries_and_count_the_missing_ones():
    right = {(0, 0), (0, 2), (2, 0), (2, 2)}
    check_index_set([(2, 2), (0, 0), (0, 2), (2, 0)], right, "the pixels", "pixels")
    with pytest.raises(AssertionError) as info:
        check_index_set([(0, 0), (0, 1), (0, 1)], right, "the pixels", "pixels")
    message = str(info.value)
    assert "lists (0, 1) more than once" in message
    assert "includes 1 pixel that does not belong ((0, 1))" in message
    assert "misses 3 of its pixels" in message
    assert "(2, 2)" not in message and "(0, 2)" not in message


@pytest.mark.parametrize("answer", ["(0, 0)", 3, [(0, 0.5)], [("a",)]])
def test_index_sets_refuse_what_is_not_a_set_of_integer_indices(answer):
    with pytest.raises(AssertionError, match="should be|each of its"):
        check_index_set(answer, {(0, 0)}, "the pixels", "pixels")


def test_exact_answers_accept_equal_floats_and_refuse_near_ones():
    check_exact(Fraction(1, 3), Fraction(1, 3), "the factor")
    check_exact(0.25, Fraction(1, 4), "the factor")
    check_exact(np.int64(4), 4, "the count")
    with pytest.raises(AssertionError, match="not exact: give it as a fractions.Fraction"):
        check_exact(0.3333333333333333, Fraction(1, 3), "the factor")
    with pytest.raises(AssertionError, match="the factor is wrong"):
        check_exact(Fraction(1, 2), Fraction(1, 3), "the factor")
    with pytest.raises(AssertionError, match="should be a number, not a bool"):
        check_exact(True, 1, "the count")


def test_shapes_say_which_entry_is_wrong_but_not_its_value():
    check_exact((5, 3), (5, 3), "the shape of dW")
    check_exact([5, 3], (5, 3), "the shape of dW")
    with pytest.raises(AssertionError, match=r"wrong in entry 1 \(counting from 0\)\.$"):
        check_exact((5, 7), (5, 3), "the shape of dW")
    with pytest.raises(AssertionError, match="has 3 entries, too many"):
        check_exact((5, 3, 1), (5, 3), "the shape of dW")


def test_a_formula_wrong_only_in_a_named_region_says_so():
    windows = [np.array([[3.0, 3.0], [1.0, 0.0]]), np.array([[1.0, 2.0], [2.0, 0.5]]),
               np.array([[0.5, 4.0], [1.0, 4.0]])]
    points = [{"window": w} for w in windows]

    def first_max(window):
        grad = np.zeros_like(window)
        grad[np.unravel_index(np.argmax(window), window.shape)] = 1.0
        return grad

    def every_max(window):
        return (window == window.max()).astype(float)

    ties = np.stack([(w == w.max()) & ((w == w.max()).sum() > 1) for w in windows])
    with pytest.raises(AssertionError, match="where two entries tie"):
        check_formula(every_max, first_max, points, name="the routed gradient",
                      regions={"where two entries tie": ties})


def test_a_formula_may_return_bools_tuples_or_lists_of_numbers():
    points = [{"x": np.array([-1.0, 0.0, 2.0])}, {"x": np.array([3.0, -0.5, 0.0])}]
    check_formula(lambda x: x > 0, lambda x: (x > 0).astype(float), points, name="relu'")
    check_formula(lambda x: (x[0], x[1]), lambda x: x[:2], points, name="a pair")
    with pytest.raises(AssertionError, match="returned a str at point 1"):
        check_formula(lambda x: "x > 0", lambda x: x, points, name="relu'")
