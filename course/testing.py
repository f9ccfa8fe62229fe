"""Assertions the notebooks' tests are written with.

The messages are written for a student: they say which array is wrong, where,
and by how much, but never print the expected values, so a hidden test does
not hand out its answer through the feedback.
"""

from __future__ import annotations

import copy
import linecache
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from course.diagnoses import (
    Comparison,
    diagnose_dtype,
    diagnose_shape,
    diagnose_values,
    first_index,
    format_index,
)

__all__ = [
    "assert_tensor_close",
    "describe_mismatch",
    "checked_call",
]


def describe_mismatch(
    actual: Any,
    expected: Any,
    rtol: float = 1e-7,
    atol: float = 1e-10,
    check_dtype: bool = True,
    what: str = "the expected value",
    batch_size: int | None = None,
    regions: Mapping[str, np.ndarray] | None = None,
) -> str | None:
    """Say how ``actual`` differs from ``expected``, or return None if it does not.

    Parameters
    ----------
    actual : ndarray or number
        The value under test.
    expected : ndarray or number
        The reference value; it is never quoted in the message.
    rtol, atol : float
        Entries pass when ``|actual - expected| <= atol + rtol * |expected|``;
        the relative error printed is ``|actual - expected| / |expected|``,
        the quantity ``rtol`` bounds.
    check_dtype : bool
        Whether an ndarray ``actual`` must have the dtype of ``expected``.
    what : str
        How the message refers to ``expected``.
    batch_size : int, optional
        The batch size N, so that a factor N or 1/N can be explained.
    regions : mapping of str to ndarray of bool, optional
        Named masks of the shape of ``expected``; when every wrong entry lies
        in one of them, the message says so with its name, e.g.
        ``{"where two entries of a window tie": mask}``.

    Returns
    -------
    str or None
        A clause that follows the array's name: the first problem found
        (type, shape, dtype, non-finite entries, values), and for wrong values
        the relation to the right one when one holds exactly (see
        ``course.diagnoses``), else the worst entry and its relative error.

    Examples
    --------
    >>> import numpy as np
    >>> print(describe_mismatch(np.array([1.0, 2.5]), np.array([1.0, 2.0])))
    differs from the expected value at 1 of 2 entries; the worst is at index 1, value 2.5, relative error
    0.25 (allowed: 1e-07 relative, 1e-10 absolute)
    >>> print(describe_mismatch(np.array([0.3, -1.0, 2.0]), np.array([0.0, 2.0, 2.0]), what="the estimate"))
    differs from the estimate at 2 of 3 entries; the worst is at index 0, value 0.3, where the right value
    is 0 (allowed: 1e-10 absolute)
    """
    expected_arr = np.asarray(expected)
    if isinstance(actual, np.ndarray):
        actual_arr = actual
    elif isinstance(actual, (int, float, np.number, np.bool_)) and not isinstance(actual, bool):
        actual_arr = np.asarray(actual)
    elif actual is None:
        return "is None: did you forget a return statement?"
    else:
        return f"is a {type(actual).__name__}, expected a numpy array or a number"
    if actual_arr.shape != expected_arr.shape:
        problem = f"has shape {actual_arr.shape}, expected shape {expected_arr.shape}"
        with np.errstate(all="ignore"):
            relation = _diagnose(actual_arr, expected_arr, rtol, atol, batch_size, regions, diagnose_shape)
        return f"{problem}: {relation}" if relation else problem
    if actual_arr.dtype.kind not in "fiub":
        return f"has dtype {actual_arr.dtype}, which is not numeric"
    if (
        check_dtype
        and isinstance(actual, np.ndarray)
        and expected_arr.dtype.kind == "f"
        and actual_arr.dtype != expected_arr.dtype
    ):
        cause = diagnose_dtype(actual_arr.dtype, expected_arr.dtype)
        problem = f"has dtype {actual_arr.dtype}, expected {cause}"
        with np.errstate(all="ignore"):
            values_right = bool(np.all(np.isclose(actual_arr.astype(np.float64),
                                                  expected_arr.astype(np.float64),
                                                  rtol=rtol, atol=atol, equal_nan=True)))
        return problem + (" (its values are right)" if values_right else "")
    # A test may run under np.errstate(all="raise"); describing a wrong answer must not raise.
    with np.errstate(all="ignore"):
        return _describe_values(actual_arr, expected_arr, rtol, atol, what, batch_size, regions)


def _describe_values(actual_arr, expected_arr, rtol, atol, what, batch_size, regions) -> str | None:
    actual_f = actual_arr.astype(np.float64)
    expected_f = expected_arr.astype(np.float64)
    bad_actual = ~np.isfinite(actual_f) & np.isfinite(expected_f)
    if np.any(bad_actual):
        index = first_index(bad_actual)
        count = int(bad_actual.sum())
        return (
            f"has {count} non-finite entr{'y' if count == 1 else 'ies'} (nan or inf), "
            f"the first at {format_index(index)}, where {what} is finite"
        )
    both_finite = np.isfinite(actual_f) & np.isfinite(expected_f)
    special_mismatch = ~both_finite & ~(
        (actual_f == expected_f) | (np.isnan(actual_f) & np.isnan(expected_f))
    )
    if np.any(special_mismatch):
        index = first_index(special_mismatch)
        return f"differs from {what} at {format_index(index)} (an inf or nan entry)"
    actual_f = np.where(both_finite, actual_f, 0.0)
    expected_f = np.where(both_finite, expected_f, 0.0)
    diff = np.abs(actual_f - expected_f)
    allowed = atol + rtol * np.abs(expected_f)
    failing = diff > allowed
    if not np.any(failing):
        return None
    if np.all(both_finite):
        relation = _diagnose(actual_f, expected_f, rtol, atol, batch_size, regions, diagnose_values)
        if relation:
            return relation
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(failing, diff / np.where(allowed > 0, allowed, np.inf), 0.0)
    if not np.any(excess > 0):  # only zero-tolerance failures: rank them by difference
        excess = np.where(failing, diff, 0.0)
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), excess.shape))
    count = int(failing.sum())
    if expected_f[worst] == 0:
        error = f"where the right value is 0 (allowed: {atol:g} absolute)"
    else:
        relative = diff[worst] / abs(expected_f[worst])
        error = f"relative error {relative:.3g} (allowed: {rtol:g} relative, {atol:g} absolute)"
    if failing.ndim == 0:
        return f"differs from {what}: value {actual_f[worst]:.6g}, {error}"
    return (
        f"differs from {what} at {count} of {failing.size} entries; the worst is at "
        f"{format_index(worst)}, value {actual_f[worst]:.6g}, {error}"
    )


def _diagnose(actual, expected, rtol, atol, batch_size, regions, rules) -> str | None:
    """The relation the rules find between two finite numeric arrays, or None."""
    if actual.dtype.kind not in "fiub" or expected.dtype.kind not in "fiub":
        return None
    comparison = Comparison(
        actual.astype(np.float64), expected.astype(np.float64), rtol, atol, batch_size, dict(regions or {})
    )
    if not (np.all(np.isfinite(comparison.actual)) and np.all(np.isfinite(comparison.expected))):
        return None
    try:
        return rules(comparison)
    except Exception:  # noqa: BLE001 - a diagnosis is an extra: never let it hide the failure itself
        return None


def assert_tensor_close(
    actual: Any,
    expected: Any,
    name: str = "result",
    rtol: float = 1e-7,
    atol: float = 1e-10,
    check_dtype: bool = True,
    hint: str = "",
    batch_size: int | None = None,
    regions: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Assert that an array (or number) matches a reference.

    Checks the type, then the shape, then the dtype, then the values, and
    stops at the first problem. A wrong value that is a simple relation of
    the right one (a factor, the opposite sign, a transpose, a flip, a shift,
    wrong only in one kind of place) is said as that relation.

    Parameters
    ----------
    actual : ndarray or number
        What the student's code returned.
    expected : ndarray or number
        The reference; never printed.
    name : str
        How the message names ``actual``, e.g. ``"dx of relu_backward"``.
    rtol, atol : float
        Entries pass when ``|actual - expected| <= atol + rtol * |expected|``.
    check_dtype : bool
        Whether a float array must keep the reference's dtype.
    hint : str
        An extra sentence pointing at the likely mistake, added on failure.
    batch_size : int, optional
        The batch size N, so that a factor N or 1/N can be explained.
    regions : mapping of str to ndarray of bool, optional
        Named masks of the shape of ``expected`` (see ``describe_mismatch``).

    Raises
    ------
    AssertionError
        Naming the array and what is wrong with it, never the expected values.

    Examples
    --------
    >>> import numpy as np
    >>> right = np.array([[10.0, 20.0], [30.0, 40.0]])
    >>> wrong = right.copy()
    >>> wrong[1, 0] = 31.0
    >>> assert_tensor_close(wrong, right, name="out", hint="check the bias")
    Traceback (most recent call last):
    AssertionError: out differs from the expected value at 1 of 4 entries; the worst is at index (1, 0),
    value 31, relative error 0.0333 (allowed: 1e-07 relative, 1e-10 absolute). Hint: check the bias
    """
    __tracebackhide__ = True
    problem = describe_mismatch(
        actual, expected, rtol=rtol, atol=atol, check_dtype=check_dtype,
        batch_size=batch_size, regions=regions,
    )
    if problem:
        message = f"{name} {problem}" + ("" if problem.endswith("?") else ".")
        if hint:
            message += f" Hint: {hint}"
        raise AssertionError(message)


def _snapshot(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    try:
        return copy.deepcopy(value)
    except Exception:  # an object we cannot copy is not compared
        return None


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, np.ndarray):
        return (
            isinstance(after, np.ndarray)
            and before.shape == after.shape
            and before.dtype == after.dtype
            and bool(np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"))
        )
    if isinstance(before, dict) and isinstance(after, dict):
        return before.keys() == after.keys() and all(_same(before[k], after[k]) for k in before)
    if isinstance(before, (list, tuple)) and isinstance(after, (list, tuple)):
        return len(before) == len(after) and all(_same(b, a) for b, a in zip(before, after))
    try:
        return bool(before == after)
    except Exception:
        return True


def _first_change(before: Any, after: Any, where: str = "") -> str | None:
    """Where and how ``after`` differs from its snapshot ``before``, or None if it does not."""
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray):
            return f"{where} was replaced by a {type(after).__name__}".strip()
        if before.shape != after.shape or before.dtype != after.dtype:
            return f"{where} now has shape {after.shape} and dtype {after.dtype}".strip()
        changed = ~((before == after) | (np.isnan(before) & np.isnan(after)) if before.dtype.kind in "fc"
                    else before == after)
        if np.any(changed):
            first = first_index(changed)
            return (
                f"{int(changed.sum())} of {changed.size} entries{' of ' + where if where else ''} changed, "
                f"the first at {format_index(first)}"
            )
        return None
    if isinstance(before, dict) and isinstance(after, dict):
        if before.keys() != after.keys():
            return f"the keys of {where or 'the dict'} changed"
        for key in before:
            change = _first_change(before[key], after[key], f"{where}[{key!r}]")
            if change:
                return change
        return None
    if isinstance(before, (list, tuple)) and isinstance(after, (list, tuple)):
        if len(before) != len(after):
            return f"the length of {where or 'the sequence'} changed from {len(before)} to {len(after)}"
        for i, (b, a) in enumerate(zip(before, after)):
            change = _first_change(b, a, f"{where}[{i}]")
            if change:
                return change
        return None
    return None if _same(before, after) else f"{where or 'its value'} changed"


def _holds_the_result(argument: Any, result: Any) -> bool:
    """Is the argument the returned array (or does it share its memory)?"""
    results = result if isinstance(result, tuple) else (result,)
    return isinstance(argument, np.ndarray) and any(
        isinstance(r, np.ndarray) and np.shares_memory(argument, r) for r in results
    )


def _modified_message(label: str, which: str, before: Any, after: Any, result: Any) -> str:
    if _holds_the_result(after, result):
        how = (
            "it now holds the array the function returned: an in-place operation (x *= ..., "
            "x[mask] = 0, out=x) wrote into the caller's array"
        )
    else:
        how = _first_change(before, after) or "it changed"
    return (
        f"{label} modified its {which} in place ({how}); "
        "a graded function must leave its inputs untouched (work on a copy)."
    )


# What a floating-point warning usually means, by the start of numpy's message.
_WARNING_CAUSES = {
    # Not softmax's cure only: the sigmoid and tanh overflow too, and the cure is the same idea.
    "overflow encountered in exp": "np.exp of a large number overflows: never exponentiate a large "
    "positive number; rewrite the formula so that every exponent is <= 0",
    "divide by zero encountered in log": "the log of 0: a probability rounded to 0",
    "invalid value encountered": "an operation such as 0/0, inf - inf or 0 * inf produced nan",
    "divide by zero encountered": "a division by zero",
    "overflow encountered": "a number grew past the largest float",
}


def _warning_origin(caught: warnings.WarningMessage, test_file: str) -> str:
    """Where a warning was raised: the student's line, never a line of the (maybe hidden) test."""
    if caught.filename == test_file:
        return ""
    code = linecache.getline(caught.filename, caught.lineno).strip()
    if code:
        return f", at line {caught.lineno}: `{code}`"
    if caught.filename.startswith("<"):  # code compiled from a string: no file to point at
        return ""
    return f", in {os.path.basename(caught.filename)}"


def _warning_message(label: str, caught: warnings.WarningMessage, test_file: str) -> str:
    text = str(caught.message)
    cause = next((why for start, why in _WARNING_CAUSES.items() if text.startswith(start)), "")
    return (
        f"{label} raised a {caught.category.__name__}: {text}{_warning_origin(caught, test_file)}. "
        + (f"That usually means {cause}. " if cause else "")
        + "A correct implementation runs without warnings on these inputs."
    )


def checked_call(func: Callable[..., Any], *args: Any, name: str | None = None, **kwargs: Any) -> Any:
    """Call ``func`` and check that it changed no input and raised no warning.

    Parameters
    ----------
    func : callable
        The function under test.
    *args, **kwargs
        Its arguments; arrays (also inside dicts, lists and tuples) are
        compared entry by entry before and after the call.
    name : str, optional
        How messages name the function; defaults to its ``__name__``.

    Returns
    -------
    Any
        Whatever ``func`` returned.

    Raises
    ------
    AssertionError
        If an argument was modified in place (saying which, and how: it now
        holds the returned array, or how many entries changed), or a warning
        (for example a numpy overflow RuntimeWarning) was raised (saying
        which, and the line of the function that raised it). Floating-point
        underflow is not reported: rounding a tiny value to zero is correct.

    Examples
    --------
    >>> import numpy as np
    >>> def relu(x):
    ...     x[x < 0] = 0.0
    ...     return x
    >>> checked_call(relu, np.array([-1.0, 2.0]), name="relu_forward")
    Traceback (most recent call last):
    AssertionError: relu_forward modified its argument number 1 in place (it now holds the array the
    function returned: an in-place operation (x *= ..., x[mask] = 0, out=x) wrote into the caller's
    array); a graded function must leave its inputs untouched (work on a copy).
    >>> def step(params):
    ...     params["W1"][0] -= 0.1
    >>> checked_call(step, {"W1": np.ones(3)}, name="sgd_step")
    Traceback (most recent call last):
    AssertionError: sgd_step modified its argument number 1 in place (1 of 3 entries of ['W1'] changed,
    the first at index 0); a graded function must leave its inputs untouched (work on a copy).
    """
    __tracebackhide__ = True
    label = name or getattr(func, "__qualname__", getattr(func, "__name__", "the function"))
    test_file = sys._getframe(1).f_code.co_filename
    before_args = [_snapshot(a) for a in args]
    before_kwargs = {k: _snapshot(v) for k, v in kwargs.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Underflow to zero (exp(-1000) == 0.0) is correct to double precision.
        with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            result = func(*args, **kwargs)
    for position, (before, after) in enumerate(zip(before_args, args)):
        if before is not None and not _same(before, after):
            which = f"argument number {position + 1}"
            raise AssertionError(_modified_message(label, which, before, after, result))
    for key, before in before_kwargs.items():
        if before is not None and not _same(before, kwargs[key]):
            raise AssertionError(_modified_message(label, f"argument {key!r}", before, kwargs[key], result))
    if caught:
        raise AssertionError(_warning_message(label, caught[0], test_file))
    return result
