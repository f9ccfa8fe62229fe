"""Figures for training a classifier on two-dimensional data.

``plot_decision_boundary`` colours the plane by the class a model predicts
and draws the training points on top; ``plot_loss_curve`` draws the loss of
every training step with a moving average, so a noisy SGD curve stays readable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

__all__ = ["decision_grid", "plot_decision_boundary", "plot_loss_curve"]

CLASS_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def decision_grid(
    X: np.ndarray, resolution: int = 150, margin: float = 0.3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A regular grid covering the points with a margin.

    Parameters
    ----------
    X : ndarray, shape (N, 2)
        The points the grid must cover.
    resolution : int
        Number of grid points along each axis.
    margin : float
        Added on every side of the points' bounding box.

    Returns
    -------
    xx, yy : ndarray of float64, shape (resolution, resolution)
        Grid coordinates, as returned by ``np.meshgrid``.
    grid : ndarray of float64, shape (resolution * resolution, 2)
        The grid points as rows, ready to be fed to a model.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2), got {X.shape}")
    low = X.min(axis=0) - margin
    high = X.max(axis=0) + margin
    xx, yy = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def plot_decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    ax: Axes | None = None,
    resolution: int = 150,
    margin: float = 0.3,
    title: str = "",
) -> Axes:
    """Colour the plane by the predicted class and draw the labelled points.

    Parameters
    ----------
    predict : callable
        ``predict(points)`` with ``points`` of shape (K, 2) returns either
        scores of shape (K,) for two classes (class 1 where the score is
        positive, and the boundary is the zero level) or scores of shape
        (K, C) for C classes (the predicted class is the argmax of a row).
    X : ndarray, shape (N, 2)
        The points to draw.
    y : ndarray of int, shape (N,)
        Their labels, ``0 .. C - 1``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    resolution : int
        Grid points per axis; ``predict`` is called once on ``resolution**2`` points.
    margin : float
        How far the coloured region extends beyond the points.
    title : str
        Axes title.

    Returns
    -------
    matplotlib Axes
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    xx, yy, grid = decision_grid(X, resolution=resolution, margin=margin)
    scores = np.asarray(predict(grid))
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.shape[0] != grid.shape[0] or scores.ndim not in (1, 2):
        raise ValueError(
            f"predict returned shape {scores.shape} for {grid.shape[0]} points; "
            "expected (K,) or (K, C)"
        )
    n_classes = int(max(y.max(initial=0) + 1, 2 if scores.ndim == 1 else scores.shape[1]))
    colors = [CLASS_COLORS[k % len(CLASS_COLORS)] for k in range(n_classes)]
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    if scores.ndim == 1:
        labels = (scores > 0).astype(int)
    else:
        labels = np.argmax(scores, axis=1)
    ax.contourf(
        xx,
        yy,
        labels.reshape(xx.shape),
        levels=np.arange(n_classes + 1) - 0.5,
        cmap=ListedColormap(colors),
        alpha=0.25,
    )
    if scores.ndim == 1 and scores.min() < 0 < scores.max():
        ax.contour(xx, yy, scores.reshape(xx.shape), levels=[0.0], colors="k", linewidths=1)
    for k in range(n_classes):
        chosen = y == k
        if np.any(chosen):
            ax.scatter(X[chosen, 0], X[chosen, 1], s=12, color=colors[k],
                       edgecolors="white", linewidths=0.4, label=f"class {k}")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def plot_loss_curve(
    losses: Sequence[float],
    ax: Axes | None = None,
    window: int = 20,
    title: str = "training loss",
    log_scale: bool = False,
) -> Axes:
    """Draw the loss of every step, and its moving average.

    Parameters
    ----------
    losses : sequence of float, length S
        The loss after each training step.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    window : int
        Width of the moving average; no average is drawn when ``S < window``
        or ``window < 2``.
    title : str
        Axes title.
    log_scale : bool
        Use a logarithmic loss axis.

    Returns
    -------
    matplotlib Axes
    """
    values = np.asarray(losses, dtype=np.float64).ravel()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    steps = np.arange(1, values.size + 1)
    ax.plot(steps, values, color="0.7", lw=0.8, label="each step")
    if window >= 2 and values.size >= window:
        average = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], average, color="C0", lw=1.8,
                label=f"mean of {window} steps")
        ax.legend(frameon=False)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title)
    return ax
