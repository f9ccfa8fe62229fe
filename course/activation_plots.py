"""Plots that put an elementwise function next to its derivative.

Used by the activations notebook: every activation is drawn together with the
derivative its backward pass computes and a centered finite-difference
estimate, so a wrong backward shows up as markers off the curve; and one
point of the curve is drawn with its tangent and the gradient that flows back
through it.

An elementwise layer's backward, called with an upstream gradient of ones,
returns the derivative itself; :func:`layer_as_functions` turns a
``forward``/``backward`` pair into the two plain functions these plots take.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

__all__ = ["layer_as_functions", "plot_derivative_check", "plot_local_slope"]

Elementwise = Callable[[np.ndarray], np.ndarray]

FUNCTION_COLOR = "#0969da"
DERIVATIVE_COLOR = "#cf222e"
ESTIMATE_COLOR = "#1a7f37"


def layer_as_functions(forward: Callable, backward: Callable) -> tuple[Elementwise, Elementwise]:
    """Turn an elementwise layer into its function and its derivative.

    Parameters
    ----------
    forward : callable
        ``forward(x) -> (out, cache)`` with ``out`` of the shape of ``x``.
    backward : callable
        ``backward(dout, cache) -> dx``.

    Returns
    -------
    f : callable
        ``f(x) -> out``, ndarray of any shape to ndarray of the same shape.
    df : callable
        ``df(x) -> backward(ones_like(x), cache)``: for an elementwise layer
        this is the derivative ``f'(x)``, entry by entry, same shape as ``x``.
    """

    def f(x: np.ndarray) -> np.ndarray:
        return forward(x)[0]

    def df(x: np.ndarray) -> np.ndarray:
        _, cache = forward(x)
        return backward(np.ones_like(x), cache)

    return f, df


def _finite_difference(f: Elementwise, x: np.ndarray, h: float) -> np.ndarray:
    """Centered differences of an elementwise ``f`` at every entry of ``x`` at once."""
    x = np.asarray(x, dtype=np.float64)
    return (np.asarray(f(x + h)) - np.asarray(f(x - h))) / (2.0 * h)


def plot_derivative_check(
    f: Elementwise,
    df: Elementwise,
    x: np.ndarray | None = None,
    ax: Axes | None = None,
    name: str = "f",
    h: float = 1e-5,
    markers: int = 21,
) -> Axes:
    """Draw ``f``, the derivative ``df`` and finite-difference estimates on one axes.

    Parameters
    ----------
    f : callable
        Elementwise function, ndarray of shape (M,) to ndarray of shape (M,).
    df : callable
        The derivative under test, same shapes as ``f``.
    x : ndarray, shape (M,), optional
        Where the curves are drawn; default 401 points on [-5, 5].
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    name : str
        The function's name in the legend, e.g. ``"relu"``.
    h : float
        Step of the centered difference ``(f(x + h) - f(x - h)) / (2 h)``.
    markers : int
        Number of evenly spaced points, ends included, where the estimate is
        drawn as a marker; with the default range and an odd count, 0 is one
        of them.

    Returns
    -------
    matplotlib Axes
        With three artists in this order: the line of ``f``, the line of
        ``df``, and the markers of the estimate.
    """
    if x is None:
        x = np.linspace(-5.0, 5.0, 401)
    x = np.asarray(x, dtype=np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.6))
    x_markers = np.linspace(x.min(), x.max(), markers)
    ax.plot(x, f(x), color=FUNCTION_COLOR, lw=2, label=f"{name}(x)")
    ax.plot(x, df(x), color=DERIVATIVE_COLOR, lw=2, label=f"{name}'(x) from backward")
    ax.plot(
        x_markers,
        _finite_difference(f, x_markers, h),
        "o",
        color=ESTIMATE_COLOR,
        ms=5,
        label="finite-difference estimate",
    )
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.axvline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("x")
    ax.set_title(f"{name} and its derivative")
    ax.legend(loc="best", fontsize=9)
    return ax


def plot_local_slope(
    f: Elementwise,
    df: Elementwise,
    x0: float,
    upstream: float = 1.0,
    axes: tuple[Axes, Axes] | None = None,
    name: str = "f",
    x: np.ndarray | None = None,
) -> tuple[Axes, Axes]:
    """Show one point of ``f``, its tangent, and the gradient that flows back through it.

    Parameters
    ----------
    f, df : callable
        Elementwise function and its derivative, ndarray (M,) to ndarray (M,).
    x0 : float
        The input the forward pass saw.
    upstream : float
        The upstream gradient ``dL/dy`` arriving at this point.
    axes : pair of matplotlib Axes, optional
        Left: ``f`` with the tangent at ``x0``. Right: ``df`` with the local
        slope at ``x0`` and the product ``upstream * df(x0)``. A new figure
        is made when omitted.
    name : str
        The function's name in titles and labels.
    x : ndarray, shape (M,), optional
        Where the curves are drawn; default 401 points on [-5, 5].

    Returns
    -------
    (Axes, Axes)
        The two axes drawn on.
    """
    if x is None:
        x = np.linspace(-5.0, 5.0, 401)
    x = np.asarray(x, dtype=np.float64)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    left, right = axes
    point = np.array([float(x0)])
    y0 = float(np.asarray(f(point))[0])
    slope = float(np.asarray(df(point))[0])
    flowing_back = upstream * slope

    left.plot(x, f(x), color=FUNCTION_COLOR, lw=2, label=f"y = {name}(x)")
    half_width = 1.0
    tangent_x = np.array([x0 - half_width, x0 + half_width])
    left.plot(tangent_x, y0 + slope * (tangent_x - x0), color=DERIVATIVE_COLOR, lw=2,
              label=f"tangent, slope {slope:.4g}")
    left.plot([x0], [y0], "o", color="black", ms=7)
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.set_title(f"forward: x = {x0:.3g}, y = {y0:.4g}")
    left.legend(loc="best", fontsize=9)

    right.plot(x, df(x), color=DERIVATIVE_COLOR, lw=2, label=f"local slope dy/dx = {name}'(x)")
    right.plot([x0], [slope], "o", color="black", ms=7)
    right.axhline(0.0, color="0.6", lw=0.8)
    right.set_xlabel("x")
    right.set_title(
        f"backward: dL/dx = dL/dy · dy/dx = {upstream:.3g} · {slope:.4g} = {flowing_back:.4g}"
    )
    right.legend(loc="best", fontsize=9)
    return left, right
