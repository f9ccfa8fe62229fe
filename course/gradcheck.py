"""Numerical gradients by centered finite differences, and a gradient check.

Every gradient a student writes in this course is judged against these
estimates. They work in float64 and perturb one entry at a time, so they are
slow on purpose: use them on small inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from course.testing import describe_mismatch

__all__ = ["numerical_gradient", "numerical_vjp", "check_gradient"]


def _as_float64_array(x: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            f"{name} must be a float64 numpy array for finite differences, "
            f"got {type(x).__name__}"
            + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else "")
        )
    return x


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """Gradient of a scalar function by centered differences.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``; called with ``x`` itself, one entry perturbed.
    x : ndarray of float64, any shape
        The point; every entry is restored before this returns.
    h : float
        The step: ``(f(x + h e_i) - f(x - h e_i)) / (2 h)``.

    Returns
    -------
    grad : ndarray, same shape as ``x``
        ``grad[i] = d f / d x[i]``.
    """
    _as_float64_array(x, "x")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        try:
            x[index] = original + h
            f_plus = float(f(x))
            x[index] = original - h
            f_minus = float(f(x))
        finally:
            x[index] = original
        grad[index] = (f_plus - f_minus) / (2.0 * h)
    return grad


def numerical_vjp(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    dout: np.ndarray,
    h: float = 1e-6,
) -> np.ndarray:
    """Vector-Jacobian product of an array function by centered differences.

    This is what a layer's backward computes: given the upstream gradient
    ``dout = dL/dout``, return ``dL/dx = sum_k dout[k] * d out[k] / d x``.

    Parameters
    ----------
    f : callable
        ``f(x) -> out``; called with ``x`` itself, one entry perturbed.
    x : ndarray of float64, any shape
        The point; every entry is restored before this returns.
    dout : ndarray, shape of ``f(x)``
        The upstream gradient.
    h : float
        The step of the centered difference.

    Returns
    -------
    dx : ndarray, same shape as ``x``
    """
    _as_float64_array(x, "x")
    dout = np.asarray(dout, dtype=np.float64)
    dx = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        try:
            x[index] = original + h
            out_plus = np.array(f(x), dtype=np.float64, copy=True)
            x[index] = original - h
            out_minus = np.array(f(x), dtype=np.float64, copy=True)
        finally:
            x[index] = original
        if out_plus.shape != dout.shape:
            raise ValueError(
                f"f(x) has shape {out_plus.shape} but dout has shape {dout.shape}"
            )
        dx[index] = np.sum((out_plus - out_minus) * dout) / (2.0 * h)
    return dx


def check_gradient(
    f: Callable[[np.ndarray], float | np.ndarray],
    x: np.ndarray,
    analytic: np.ndarray,
    dout: np.ndarray | None = None,
    name: str = "dx",
    h: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    batch_size: int | None = None,
    regions: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Compare an analytic gradient with centered finite differences.

    Parameters
    ----------
    f : callable
        ``f(x)``: a scalar (then ``dout`` is None) or an array (then the
        vector-Jacobian product with ``dout`` is checked).
    x : ndarray of float64, any shape
        The point at which both gradients are taken.
    analytic : ndarray, same shape as ``x``
        The gradient under test, e.g. what a backward function returned.
    dout : ndarray or None
        Upstream gradient, shape of ``f(x)``, for array-valued ``f``.
    name : str
        How the message names the gradient, e.g. ``"dW of affine_backward"``.
    h, rtol, atol : float
        The step, and the tolerance ``|a - n| <= atol + rtol * |n|``.
    batch_size : int, optional
        The batch size N, so that a factor N or 1/N can be explained.
    regions : mapping of str to ndarray of bool, optional
        Named masks of the shape of ``x``; when every wrong entry lies in one,
        the message names it (see ``course.testing.describe_mismatch``).

    Raises
    ------
    AssertionError
        Naming the array and its relation to the finite-difference estimate
        when one holds exactly (a factor, the opposite sign, ...), else the
        worst index and its relative error; the numerical value itself is
        never printed.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.5, -1.0], [2.0, 1.5]])
    >>> check_gradient(lambda v: float(np.mean(v**2)), x, 2 * x / 4 / 4, name="dx", batch_size=4)
    Traceback (most recent call last):
    AssertionError: dx disagrees with finite differences: it is exactly 1/4 times the right value: with a
    batch of N = 4, that usually means dividing by N twice (once in the loss and again in its gradient),
    or a mean where the layer's gradient sums: dout already carries the 1/N.
    >>> check_gradient(lambda v: float(np.sum(v**3)), x, 3 * x**2 + np.eye(2), name="dW")
    Traceback (most recent call last):
    AssertionError: dW disagrees with finite differences: it differs from the finite-difference estimate
    at 2 of 4 entries; the worst is at index (0, 0), value 1.75, relative error 1.33 (allowed: 1e-05
    relative, 1e-08 absolute).
    """
    __tracebackhide__ = True
    if dout is None:
        numeric = numerical_gradient(f, x, h=h)
    else:
        numeric = numerical_vjp(f, x, dout, h=h)
    if not isinstance(analytic, np.ndarray) and np.ndim(analytic) == 0 and x.ndim == 0:
        analytic = np.asarray(analytic, dtype=np.float64)
    problem = describe_mismatch(
        analytic,
        numeric,
        rtol=rtol,
        atol=atol,
        check_dtype=False,
        what="the finite-difference estimate",
        batch_size=batch_size,
        regions=regions,
    )
    if problem:
        ending = "" if problem.endswith("?") else "."
        raise AssertionError(f"{name} disagrees with finite differences: it {problem}{ending}")
