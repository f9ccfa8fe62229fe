"""course.derivations: the checks of the derivation exercises fail wrong answers, pass right ones,
and never print the right answer."""

import doctest
import pickle
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import course.derivations
from course.derivations import Sealed, check_exact, check_formula, check_index_set, seal

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
    with pytest.raises(AssertionError,
                       match=r"None \(did you forget `return`\?\) at point 0 \(points count from 0\)"):
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
    with pytest.raises(AssertionError, match=r"at point 0 \(points count from 0\)"):
        check_formula(lambda y, t: np.array([y, t]), lambda y, t: y - t, POINTS, name="dL/dy")
    # the second point is point 1, as the first index of a value mismatch counts it
    with pytest.raises(AssertionError, match=r"at point 1 \(points count from 0\)"):
        check_formula(lambda y, t: None if y > 0.5 else y, lambda y, t: y, POINTS, name="dL/dy")
    with pytest.raises(AssertionError) as info:
        check_formula(lambda y, t: y + (y > 0.5), lambda y, t: y, POINTS, name="dL/dy")
    message = str(info.value)
    assert "(the first index counts the points, from 0)" in message and "at index 1," in message


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
    with pytest.raises(AssertionError, match="returned a str at point 0"):
        check_formula(lambda x: "x > 0", lambda x: x, points, name="relu'")


# Sealed answers: the same messages as the open check, the value never in clear.

def _message(check, *args, **kwargs):
    """The failure message of a check, or None when it passes."""
    try:
        check(*args, **kwargs)
    except AssertionError as failure:
        return str(failure)
    return None


EXACT_CASES = [
    # (answer, expected, entry_names)
    ((1, 1, 2, 3), (1, 1, 2, 3), ("n", "c", "h", "w")),
    ((1, 1, 3, 2), (1, 1, 2, 3), ("n", "c", "h", "w")),
    ((0, 0, 0, 0), (1, 1, 2, 3), None),
    ([24, 18], (24, 18), ("rows", "columns")),
    ((18, 24), (24, 18), ("rows", "columns")),
    ((24, 18, 1), (24, 18), None),
    ((24,), (24, 18), None),
    ("(24, 18)", (24, 18), None),
    (np.array([24, 18]), (24, 18), None),
    ((24.0, 18), (24, 18), None),
    ((24.5, 18), (24, 18), None),
    ((True, 18), (1, 18), None),
    ((None, 18), (1, 18), None),
    ((float("nan"), 18), (1, 18), None),
    ((np.int64(-1), 2), (-1, 2), None),
    (Fraction(1, 3), Fraction(1, 3), None),
    (1 / 3, Fraction(1, 3), None),
    (0.333333333, Fraction(1, 3), None),
    (0.3333, Fraction(1, 3), None),
    (0.1, Fraction(1, 10), None),
    (0.25, Fraction(1, 4), None),
    (0.2500000001, Fraction(1, 4), None),
    (-2 / 7, Fraction(-2, 7), None),
    (Fraction(2, 7), Fraction(-2, 7), None),
    (3, 3, None),
    (np.int32(3), 3, None),
    (3.0, 3, None),
    (4, 3, None),
    (float("inf"), 3, None),
    ("3", 3, None),
    ((Fraction(1, 3), 0.5), (Fraction(1, 3), Fraction(1, 2)), None),
    ((1 / 3, 0.5), (Fraction(1, 3), Fraction(1, 2)), ("p", "q")),
]


@pytest.mark.parametrize("answer, expected, entry_names", EXACT_CASES)
def test_a_sealed_exact_check_says_what_the_open_one_says(answer, expected, entry_names):
    kwargs = {"name": "the answer", "hint": "open hint 1", "entry_names": entry_names}
    assert _message(check_exact, answer, seal(expected), **kwargs) == _message(check_exact, answer, expected,
                                                                                **kwargs)


INDEX_CASES = [
    ([(0, 0), (0, 1), (0, 1)], {(0, 0), (0, 2), (2, 0), (2, 2)}),
    ({(2, 2), (0, 0), (0, 2), (2, 0)}, {(0, 0), (0, 2), (2, 0), (2, 2)}),
    ([(5, 5), (6, 6), (7, 7), (8, 8), (0, 0)], {(0, 0), (1, 1)}),
    ([], {(0, 0), (1, 1)}),
    ([(0, 0)], set()),
    ([], set()),
    ([1, 2, 3], {1, 3, 4}),
    ([(1,), 3], {1, 3}),
    ([(-1, 0, 2, 3)], {(1, 0, 2, 3)}),
    ("(0, 0)", {(0, 0)}),
    (3, {(0, 0)}),
    ([(0, 0.5)], {(0, 0)}),
    ([("a",)], {(0, 0)}),
    ([(np.int64(0), 0)], {(0, 0)}),
]


@pytest.mark.parametrize("answer, expected", INDEX_CASES)
def test_a_sealed_index_set_check_says_what_the_open_one_says(answer, expected):
    kwargs = {"name": "the pixels", "things": "pixels", "hint": "open hint 2"}
    assert _message(check_index_set, answer, seal(expected), **kwargs) == _message(
        check_index_set, answer, expected, **kwargs)


def test_a_sealed_mapping_holds_one_case_per_key():
    right = {(a, b): (1 - a, 2 - b) for a in range(2) for b in range(3)}
    sealed = seal(right)
    assert sealed.kind == "mapping" and len(sealed) == 6
    assert (1, 2) in sealed and (2, 0) not in sealed and "x" not in sealed
    for key, value in right.items():
        check_exact(value, sealed[key], "the entry")
        wrong = value[::-1]
        assert _message(check_exact, wrong, sealed[key], "e") == _message(check_exact, wrong, value, "e")
    with pytest.raises(KeyError):
        sealed[2, 0]
    sets = seal({(i, j): {(i, j), (i + 1, j)} for i in range(2) for j in range(2)} | {"none": set()})
    check_index_set([(1, 0), (0, 0)], sets[0, 0], "the pixels")
    check_index_set([], sets["none"], "the pixels")
    with pytest.raises(AssertionError, match=r"includes 1 index that does not belong \(\(0, 0\)\)"):
        check_index_set([(0, 0)], sets[1, 0], "the pixels")  # (0, 0) belongs to another key only


def test_the_kind_of_a_sealed_value_must_fit_the_check():
    with pytest.raises(TypeError):
        check_exact((0, 0), seal({(0, 0)}), "the entry")
    with pytest.raises(TypeError):
        check_index_set([(0, 0)], seal((0, 0)), "the pixels")
    with pytest.raises(TypeError):
        seal({(0, 0): 1})[0, 0][0]
    with pytest.raises(ValueError):
        Sealed("(1, 1, 2, 3)")
    with pytest.raises(TypeError):
        seal(seal(1))


BIG = (123456789, 987654321, Fraction(22, 7))


@pytest.mark.parametrize("value", [BIG, {BIG[:2]}, {"case": BIG}, {(5, 6): {BIG[:2]}}, 123456789])
def test_a_seal_never_holds_the_value_in_clear(value):
    sealed = seal(value)
    for shown in (sealed.token, repr(sealed), str(pickle.dumps(sealed.token))):
        for number in ("123456789", "987654321", "22/7", "3.14285"):
            assert number not in shown
    # a random salt: the same value sealed twice gives unrelated tokens, so equal answers do not show
    other = seal(value)
    assert other.token != sealed.token
    _, salt, body = sealed.token.split(".", 2)
    _, other_salt, other_body = other.token.split(".", 2)
    assert salt != other_salt and body[3:] != other_body[3:]


def test_equal_entries_of_one_seal_do_not_show_as_equal():
    token = seal((7, 7, 7, 7), salt="fixedsal").token
    digests = [token.split(".", 3)[3][k * 9 + 1:(k + 1) * 9] for k in range(4)]
    assert len(set(digests)) == 4


def test_the_author_seals_literals_from_the_command_line():
    literals = ["(1, 1, 2, 3)", "{(0, 0): {(0, 1)}}", '"1/3"']
    command = [sys.executable, "-m", "course.derivations", "seal", *literals]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("Sealed('s1.") for line in lines)
    namespace = {"Sealed": Sealed}
    tuple_seal, set_seal, third = (eval(line, namespace) for line in lines)  # noqa: S307 - our own output
    check_exact((1, 1, 2, 3), tuple_seal, "the index")
    check_index_set({(0, 1)}, set_seal[0, 0], "the pixels")
    check_exact(Fraction(1, 3), third, "the factor")
    with pytest.raises(AssertionError, match="not exact: give it as a fractions.Fraction"):
        check_exact(1 / 3, third, "the factor")
    usage = subprocess.run([sys.executable, "-m", "course.derivations"], capture_output=True, text=True)
    assert usage.returncode == 2 and "usage" in usage.stderr


def test_the_author_seals_values_of_the_reference_solution():
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, str(root / "scripts" / "seal_answers.py"), "06_convolution",
               "output_size(7, 3, 3, 0)", "{(0, 1): pixels_read(0, 1, 5, 5, 3, 3, 2, 1)}"]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=root)
    size, read = (eval(line, {"Sealed": Sealed}) for line in done.stdout.strip().splitlines())  # noqa: S307
    check_exact(2, size, "H'")
    check_index_set({(p, q) for p in range(2) for q in range(1, 4)}, read[0, 1], "the pixels")
