"""Checks for the derivation exercises.

Before each graded implementation a notebook asks the student to derive what the code will need,
and to hand the result in as a small Python function or value: a formula in the given quantities
(checked at several points), a set of indices (which pixels does one output read?), a shape, or an
exact number such as a factor. These functions check such answers as strictly as the code tests
check code: exactly where the answer is exact, and with messages that say what is wrong, never
what is right.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from numbers import Integral, Rational, Real
from typing import Any

import numpy as np

from course.testing import checked_call, describe_mismatch

__all__ = ["check_formula", "check_index_set", "check_exact"]


def _with_hint(message: str, hint: str) -> str:
    return message + (f" Hint: {hint}" if hint else "")


def check_formula(
    formula: Callable[..., Any],
    reference: Callable[..., Any] | Sequence[Any],
    points: Sequence[Mapping[str, Any]],
    name: str,
    rtol: float = 1e-7,
    atol: float = 1e-10,
    batch_size: int | None = None,
    regions: Mapping[str, np.ndarray] | None = None,
    hint: str = "",
) -> None:
    """Check a derived formula against the right values at several points.

    Parameters
    ----------
    formula : callable
        The student's answer: a function of the given quantities, called as ``formula(**point)``
        (with ``checked_call``, so it may neither change its inputs nor raise a warning).
    reference : callable or sequence
        The right value at each point: a function called like ``formula`` (in a visible test,
        typically a finite difference of the forward computation, so that the formula itself is
        not shown), or one value per point.
    points : sequence of mappings
        The keyword arguments of each evaluation; two or more, so that a factor or a sign is only
        named when several values support it.
    name : str
        What the formula stands for, e.g. ``"your dL/dz"``.
    rtol, atol : float
        The tolerance of each value (see ``course.testing.describe_mismatch``); for a formula
        checked against finite differences, about 1e-6.
    batch_size : int, optional
        The batch size N of the points, so that a missing 1/N can be named.
    regions : mapping of str to ndarray of bool, optional
        Named masks of the shape of the stacked values (the points first), e.g.
        ``{"where two entries of a window tie": mask}``: when every wrong value lies in one, the
        message names it.
    hint : str
        A sentence added on failure, e.g. ``"open hint 1 of section 2"``.

    Raises
    ------
    AssertionError
        Naming the point and what is wrong (a shape, a factor, a sign, the worst entry), never the
        right value.

    Examples
    --------
    >>> points = [{"y": 0.2, "t": 1.0}, {"y": 0.7, "t": 0.0}, {"y": 0.5, "t": 1.0}]
    >>> check_formula(lambda y, t: t - y, lambda y, t: y - t, points, name="your dL/dy")
    Traceback (most recent call last):
    AssertionError: your dL/dy, evaluated at 3 points (the first index counts the points),
    is exactly -1 times the right value: it has the opposite sign everywhere.
    """
    __tracebackhide__ = True
    if len(points) < 2:
        raise ValueError("check_formula needs two or more points")
    actual = []
    for index, point in enumerate(points):
        value = checked_call(formula, **dict(point), name=name)
        numbers = _as_numbers(value)
        if numbers is None:
            what = "None (did you forget `return`?)" if value is None else f"a {type(value).__name__}"
            raise AssertionError(_with_hint(
                f"{name} returned {what} at point {index + 1}; return a number or an array of numbers.",
                hint))
        actual.append(numbers)
    expected = [np.asarray(reference(**dict(p)) if callable(reference) else reference[i], dtype=float)
                for i, p in enumerate(points)]
    for index, (a, e) in enumerate(zip(actual, expected)):
        if a.shape != e.shape:
            problem = describe_mismatch(a, e, check_dtype=False)
            raise AssertionError(_with_hint(f"{name}, at point {index + 1}, {problem}.", hint))
    problem = describe_mismatch(np.stack(actual), np.stack(expected), rtol=rtol, atol=atol,
                                check_dtype=False, batch_size=batch_size, regions=regions)
    if problem:
        message = f"{name}, evaluated at {len(points)} points (the first index counts the points), {problem}"
        raise AssertionError(_with_hint(message + ("" if problem.endswith("?") else "."), hint))


def _as_numbers(value: Any) -> np.ndarray | None:
    """``value`` as a float array when it is a number, or an array (or tuple, list) of numbers or bools."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return None
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # ragged sequences
        return None
    return array.astype(float) if array.dtype.kind in "biuf" else None


def _as_index(item: Any) -> tuple[int, ...] | None:
    items = item if isinstance(item, tuple) else (item,)
    if all(isinstance(i, Integral) and not isinstance(i, bool) for i in items):
        return tuple(int(i) for i in items)
    return None


def check_index_set(
    answer: Iterable[Any], expected: Iterable[Any], name: str, things: str = "indices", hint: str = ""
) -> None:
    """Check a set of indices, such as the pixels of ``x`` that one output reads.

    Parameters
    ----------
    answer : iterable of int or of tuples of int
        The student's indices, in any order (a set, a list, a tuple).
    expected : iterable of int or of tuples of int
        The right indices; never printed.
    name : str
        What the set stands for, e.g. ``"the pixels out[1, 2] reads"``.
    things : str
        What an element is called in the message, e.g. ``"pixels"``.
    hint : str
        A sentence added on failure.

    Raises
    ------
    AssertionError
        Saying which of the student's indices do not belong (the student's own), how many are
        missing (a count only), and whether one is listed twice.

    Examples
    --------
    >>> check_index_set([(0, 0), (0, 1), (1, 1)], {(0, 0), (0, 1), (1, 0), (1, 1)}, "the window", "pixels")
    Traceback (most recent call last):
    AssertionError: the window misses 1 of its pixels.
    """
    __tracebackhide__ = True
    if isinstance(answer, (str, bytes)) or not isinstance(answer, Iterable):
        raise AssertionError(_with_hint(
            f"{name} should be a set (or list) of {things}, not a {type(answer).__name__}.", hint))
    given = list(answer)
    indices = [_as_index(item) for item in given]
    for item, index in zip(given, indices):
        if index is None:
            raise AssertionError(_with_hint(
                f"{name} holds {item!r}; each of its {things} should be an int or a tuple of ints.", hint))
    right = {_as_index(item) for item in expected}
    problems = []
    twice = sorted({i for i in indices if indices.count(i) > 1})
    if twice:
        problems.append(f"lists {twice[0]} more than once")
    chosen = set(indices)
    extra = sorted(chosen - right)
    if extra:
        example = ", ".join(str(i) for i in extra[:3])
        verb = "does" if len(extra) == 1 else "do"
        problems.append(f"includes {_count(len(extra), things)} that {verb} not belong ({example}"
                        + (", ..." if len(extra) > 3 else "") + ")")
    missing = len(right - chosen)
    if missing:
        problems.append(f"misses {missing} of its {things}")
    if problems:
        raise AssertionError(_with_hint(f"{name} " + "; ".join(problems) + ".", hint))


def _count(number: int, things: str) -> str:
    """``"1 pixel"``, ``"2 pixels"``: ``things`` is the plural."""
    return f"{number} {things[:-1] if number == 1 and things.endswith('s') else things}"


def check_exact(
    answer: Any, expected: Any, name: str, hint: str = "", entry_names: Sequence[str] | None = None
) -> None:
    """Check an exact answer: an integer, a fraction, or a tuple of them such as a shape.

    Floats are accepted when they equal the exact value (``0.5`` for 1/2); a float that only comes
    close (``0.333`` for 1/3) is wrong, and the message says to use ``fractions.Fraction``.

    Parameters
    ----------
    answer : int, Fraction, float, or tuple of them
        The student's answer.
    expected : int, Fraction, or tuple of them
        The right answer; never printed.
    name : str
        What the answer stands for, e.g. ``"the shape of dW"``.
    hint : str
        A sentence added on failure.
    entry_names : sequence of str, optional
        What each entry of a tuple stands for, e.g. ``("n", "c", "h", "w")``; the message names
        the wrong entries by them.

    Raises
    ------
    AssertionError
        Saying which entry of a tuple is wrong (by name, or by position), or that the number is
        wrong.

    Examples
    --------
    >>> check_exact((3, 4), (4, 3), "the shape of dW")
    Traceback (most recent call last):
    AssertionError: the shape of dW is wrong in entries 0 and 1 (counting from 0).
    >>> check_exact((0, 2, 3, 4), (0, 2, 3, 5), "the index", entry_names=("n", "c", "h", "w"))
    Traceback (most recent call last):
    AssertionError: the index is wrong in entry w.
    >>> check_exact(0.5, Fraction(1, 2), "the factor")
    """
    __tracebackhide__ = True
    if isinstance(expected, tuple):
        if not isinstance(answer, (tuple, list)):
            raise AssertionError(_with_hint(
                f"{name} should be a tuple of {len(expected)} numbers, not a {type(answer).__name__}.", hint))
        if len(answer) != len(expected):
            raise AssertionError(_with_hint(
                f"{name} has {len(answer)} entries, too {'many' if len(answer) > len(expected) else 'few'}.",
                hint))
        wrong = [i for i, (a, e) in enumerate(zip(answer, expected)) if _exact_problem(a, e) is not None]
        if wrong:
            named = entry_names is not None and len(entry_names) == len(expected)
            labels = [str(entry_names[i]) if named else str(i) for i in wrong]
            places = " and ".join(", ".join(labels).rsplit(", ", 1))
            label = "entry" if len(wrong) == 1 else "entries"
            counted = "" if named else " (counting from 0)"
            raise AssertionError(_with_hint(f"{name} is wrong in {label} {places}{counted}.", hint))
        return
    problem = _exact_problem(answer, expected)
    if problem is not None:
        raise AssertionError(_with_hint(f"{name} {problem}.", hint))


def _exact_problem(answer: Any, expected: Any) -> str | None:
    if isinstance(answer, bool) or not isinstance(answer, (Real, np.number)):
        return f"should be a number, not a {type(answer).__name__}"
    right = Fraction(expected)
    if isinstance(answer, np.integer):
        answer = int(answer)
    if isinstance(answer, Rational):
        return None if Fraction(answer) == right else "is wrong"
    value = float(answer)
    if not np.isfinite(value):
        return f"is {value}, not a finite number"
    if Fraction(value) == right:
        return None
    close = abs(value - float(right)) <= 1e-9 * max(1.0, abs(float(right)))
    if close and right.denominator not in (1, 2, 4, 8):
        return "comes close to the right number but is not exact: give it as a fractions.Fraction"
    return "is wrong"
