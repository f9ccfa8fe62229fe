"""Assertions the notebooks' tests are written with.

The messages are written for a student: they say which array is wrong, where,
and by how much, but never print the expected values, so a hidden test does
not hand out its answer through the feedback.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "assert_tensor_close",
    "describe_mismatch",
    "checked_call",
]


def _format_index(index: tuple[int, ...]) -> str:
    if len(index) == 0:
        return "the value"
    if len(index) == 1:
        return f"index {index[0]}"
    return "index (" + ", ".join(str(i) for i in index) + ")"


def describe_mismatch(
    actual: Any,
    expected: Any,
    rtol: float = 1e-7,
    atol: float = 1e-10,
    check_dtype: bool = True,
    what: str = "the expected value",
) -> str | None:
    """Say how ``actual`` differs from ``expected``, or return None if it does not.

    Parameters
    ----------
    actual : ndarray or number
        The value under test.
    expected : ndarray or number
        The reference value; it is never quoted in the message.
    rtol, atol : float
        Entries pass when ``|actual - expected| <= atol + rtol * |expected|``.
    check_dtype : bool
        Whether an ndarray ``actual`` must have the dtype of ``expected``.
    what : str
        How the message refers to ``expected``.

    Returns
    -------
    str or None
        A one-sentence description of the first problem found: type, shape,
        dtype, non-finite entries, or the worst entry and its relative error.
    """
    expected_arr = np.asarray(expected)
    if isinstance(actual, np.ndarray):
        actual_arr = actual
    elif isinstance(actual, (int, float, np.number, np.bool_)) and not isinstance(actual, bool):
        actual_arr = np.asarray(actual)
    elif actual is None:
        return "got None: did you forget a return statement?"
    else:
        return f"got a {type(actual).__name__}, expected a numpy array or a number"
    if actual_arr.shape != expected_arr.shape:
        return f"has shape {actual_arr.shape}, expected shape {expected_arr.shape}"
    if actual_arr.dtype.kind not in "fiub":
        return f"has dtype {actual_arr.dtype}, which is not numeric"
    if (
        check_dtype
        and isinstance(actual, np.ndarray)
        and expected_arr.dtype.kind == "f"
        and actual_arr.dtype != expected_arr.dtype
    ):
        return f"has dtype {actual_arr.dtype}, expected {expected_arr.dtype}"
    actual_f = actual_arr.astype(np.float64)
    expected_f = expected_arr.astype(np.float64)
    bad_actual = ~np.isfinite(actual_f) & np.isfinite(expected_f)
    if np.any(bad_actual):
        index = tuple(int(i) for i in np.argwhere(bad_actual)[0])
        count = int(bad_actual.sum())
        return (
            f"has {count} non-finite entr{'y' if count == 1 else 'ies'} (nan or inf), "
            f"the first at {_format_index(index)}, where {what} is finite"
        )
    both_finite = np.isfinite(actual_f) & np.isfinite(expected_f)
    special_mismatch = ~both_finite & ~(
        (actual_f == expected_f) | (np.isnan(actual_f) & np.isnan(expected_f))
    )
    if np.any(special_mismatch):
        index = tuple(int(i) for i in np.argwhere(special_mismatch)[0])
        return f"differs from {what} at {_format_index(index)} (an inf or nan entry)"
    diff = np.abs(np.where(both_finite, actual_f, 0.0) - np.where(both_finite, expected_f, 0.0))
    allowed = atol + rtol * np.abs(np.where(both_finite, expected_f, 0.0))
    failing = diff > allowed
    if not np.any(failing):
        return None
    scale = np.maximum(np.abs(expected_f), np.abs(actual_f))
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(scale > 0, diff / np.where(scale > 0, scale, 1.0), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(failing, diff / np.where(allowed > 0, allowed, np.inf), 0.0)
    if not np.any(excess > 0):  # only zero-tolerance failures: rank them by difference
        excess = np.where(failing, diff, 0.0)
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    worst = tuple(int(i) for i in worst)
    count = int(failing.sum())
    return (
        f"{count} of {failing.size} entries differ from {what}; the worst is at "
        f"{_format_index(worst)}, value {actual_f[worst]:.6g}, relative error "
        f"{relative[worst]:.3g} (allowed: {rtol:g} relative, {atol:g} absolute)"
    )


def assert_tensor_close(
    actual: Any,
    expected: Any,
    name: str = "result",
    rtol: float = 1e-7,
    atol: float = 1e-10,
    check_dtype: bool = True,
    hint: str = "",
) -> None:
    """Assert that an array (or number) matches a reference.

    Checks the type, then the shape, then the dtype, then the values, and
    stops at the first problem.

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

    Raises
    ------
    AssertionError
        With the worst entry, the value found there and its relative error.
    """
    __tracebackhide__ = True
    problem = describe_mismatch(actual, expected, rtol=rtol, atol=atol, check_dtype=check_dtype)
    if problem:
        message = f"{name} {problem}."
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
        If an argument was modified in place, or a warning (for example a
        numpy overflow RuntimeWarning) was raised. Floating-point underflow
        is not reported: rounding a tiny value to zero is correct.
    """
    __tracebackhide__ = True
    label = name or getattr(func, "__qualname__", getattr(func, "__name__", "the function"))
    before_args = [_snapshot(a) for a in args]
    before_kwargs = {k: _snapshot(v) for k, v in kwargs.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Underflow to zero (exp(-1000) == 0.0) is correct to double precision.
        with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            result = func(*args, **kwargs)
    for position, (before, after) in enumerate(zip(before_args, args)):
        if before is not None and not _same(before, after):
            raise AssertionError(
                f"{label} modified its argument number {position + 1} in place; "
                "a graded function must leave its inputs untouched (work on a copy)."
            )
    for key, before in before_kwargs.items():
        if before is not None and not _same(before, kwargs[key]):
            raise AssertionError(
                f"{label} modified its argument {key!r} in place; "
                "a graded function must leave its inputs untouched (work on a copy)."
            )
    if caught:
        first = caught[0]
        raise AssertionError(
            f"{label} raised a {first.category.__name__}: {first.message}. "
            "A correct implementation runs without warnings on these inputs."
        )
    return result

