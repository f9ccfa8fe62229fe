"""Pictures of max pooling on one channel: the windows over an input, and where each window routes.

Used by 05_maxpool. Nothing here pools: :func:`draw_windows` only outlines the windows, and
:func:`draw_routing` asks the notebook's own ``maxpool_forward`` and ``maxpool_backward`` where
each window sends its gradient. The grids are drawn with :func:`course.conv_diagrams.draw_matrix`
(cell ``(r, c)`` spans ``[c, c + 1] x [r, r + 1]``, row 0 at the top).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgb
from matplotlib.patches import Circle, Rectangle

from course.conv_diagrams import draw_matrix

__all__ = [
    "as_pool_shape",
    "window_starts",
    "covered_pixels",
    "draw_windows",
    "window_routes",
    "draw_routing",
]


def as_pool_shape(pool: int | tuple[int, int]) -> tuple[int, int]:
    """The window's ``(height, width)`` from an int (a square window) or a pair."""
    if np.ndim(pool) == 0:
        return int(pool), int(pool)
    height, width = pool
    return int(height), int(width)


def window_starts(length: int, size: int, stride: int) -> range:
    """The first index of every whole window along one axis of ``length`` entries."""
    return range(0, length - size + 1, stride)


def covered_pixels(shape: tuple[int, int], pool: int | tuple[int, int], stride: int) -> np.ndarray:
    """Which pixels of an ``(H, W)`` input at least one whole window reads.

    Returns
    -------
    covered : ndarray of bool, shape (H, W)
    """
    height, width = as_pool_shape(pool)
    covered = np.zeros(shape, dtype=bool)
    for top in window_starts(shape[0], height, stride):
        for left in window_starts(shape[1], width, stride):
            covered[top:top + height, left:left + width] = True
    return covered


def _window_colors(count: int) -> list[tuple[float, float, float]]:
    palette = plt.cm.tab10.colors if count <= 10 else plt.cm.tab20.colors
    return [palette[k % len(palette)] for k in range(count)]


def _light(color: Any, amount: float = 0.55) -> str:
    """``color`` mixed with white, so that black numbers on it stay readable."""
    return to_hex((1 - amount) * np.array(to_rgb(color)) + amount)


def draw_windows(
    x: np.ndarray, pool: int | tuple[int, int], stride: int, ax: Axes | None = None, title: str = ""
) -> Axes:
    """Draw one channel with the outline of every whole pooling window; pixels in no window hatched.

    Parameters
    ----------
    x : ndarray, shape (H, W)
    pool : int or (ph, pw)
    stride : int
    ax : matplotlib Axes, optional
        A new figure is made when omitted.
    title : str
        Default: the pool, the stride and the number of windows.

    Returns
    -------
    matplotlib Axes
    """
    height, width = as_pool_shape(pool)
    rows = window_starts(x.shape[0], height, stride)
    cols = window_starts(x.shape[1], width, stride)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.55 * x.shape[1] + 1, 0.55 * x.shape[0] + 0.8))
    draw_matrix(ax, x, title or f"pool {height}×{width}, stride {stride}: "
                f"{len(rows)}×{len(cols)} windows", hatched=~covered_pixels(x.shape, pool, stride))
    colors = _window_colors(len(rows) * len(cols))
    for number, (top, left) in enumerate((t, s) for t in rows for s in cols):
        # neighbouring outlines are inset by different amounts, so that overlapping ones stay apart
        inset = 0.06 + 0.07 * (number % 3)
        ax.add_patch(Rectangle((left + inset, top + inset), width - 2 * inset, height - 2 * inset,
                               fill=False, lw=2, edgecolor=colors[number]))
    return ax


def window_routes(
    forward: Callable[..., Any], backward: Callable[..., Any], x: np.ndarray,
    pool: int | tuple[int, int], stride: int,
) -> tuple[np.ndarray, dict[tuple[int, int], list[tuple[int, int]]], np.ndarray]:
    """Ask a max-pooling layer where each window sends its gradient, on one channel.

    Parameters
    ----------
    forward, backward : callable
        ``forward(x, pool, stride) -> (out, cache)`` and ``backward(dout, cache) -> dx`` on
        ``(N, C, H, W)`` arrays, such as the notebook's ``maxpool_forward`` and ``maxpool_backward``.
    x : ndarray, shape (H, W)
    pool : int or (ph, pw)
    stride : int

    Returns
    -------
    out : ndarray, shape (H', W')
        The pooled channel.
    routes : dict
        ``(i, j) -> [(r, c), ...]``: the inputs where ``dx`` is non-zero when ``dout`` is 1 at
        ``(i, j)`` and 0 elsewhere (one input for a right backward pass).
    counts : ndarray, shape (H, W)
        ``dx`` for ``dout`` 1 everywhere.
    """
    out, cache = forward(np.asarray(x, dtype=float)[None, None], pool, stride)
    out = np.asarray(out)[0, 0]
    counts = np.asarray(backward(np.ones((1, 1) + out.shape), cache))[0, 0]
    routes = {}
    for i, j in np.ndindex(out.shape):
        probe = np.zeros((1, 1) + out.shape)
        probe[0, 0, i, j] = 1.0
        routed = np.asarray(backward(probe, cache))[0, 0]
        routes[i, j] = [(int(r), int(c)) for r, c in np.argwhere(routed != 0)]
    return out, routes, counts


def draw_routing(
    forward: Callable[..., Any], backward: Callable[..., Any], x: np.ndarray,
    pool: int | tuple[int, int], stride: int,
) -> plt.Figure:
    """Three panels: the input with each window's winner circled, the output, and ``dx`` for ones.

    Each output cell shows its value and the (row, column) of the input it routes to, in the
    colour of the circle around that input; an input that wins several windows gets one circle
    per window, nested. Pixels in no window are hatched.

    Parameters
    ----------
    forward, backward, x, pool, stride
        As in :func:`window_routes`.

    Returns
    -------
    matplotlib Figure

    Raises
    ------
    ValueError
        When the window is larger than ``x``.
    """
    height, width = as_pool_shape(pool)
    if height > x.shape[0] or width > x.shape[1]:
        raise ValueError(f"a {height}×{width} window does not fit a {x.shape[0]}×{x.shape[1]} input")
    out, routes, counts = window_routes(forward, backward, x, (height, width), stride)
    colors = _window_colors(out.size)
    hatched = ~covered_pixels(x.shape, (height, width), stride)

    fig, (ax_in, ax_out, ax_count) = plt.subplots(
        1, 3, figsize=(14, 4.6), gridspec_kw={"width_ratios": [x.shape[1], max(out.shape[1], 3), x.shape[1]]})
    draw_matrix(ax_in, x, "input x: each window's winner circled", hatched=hatched)
    labels = np.empty(out.shape, dtype=object)
    faces = np.empty(out.shape, dtype=object)
    circles_at: dict[tuple[int, int], int] = {}
    for number, ((i, j), winners) in enumerate(routes.items()):
        faces[i, j] = _light(colors[number])
        where = ", ".join(f"({r},{c})" for r, c in winners[:2]) + (" …" if len(winners) > 2 else "")
        labels[i, j] = f"{out[i, j]:g}\n→ {where or 'nowhere'}"
        for r, c in winners:
            nested = circles_at.get((r, c), 0)
            circles_at[r, c] = nested + 1
            ax_in.add_patch(Circle((c + 0.5, r + 0.5), max(0.44 - 0.08 * nested, 0.12), fill=False,
                                   lw=2, edgecolor=colors[number]))
    draw_matrix(ax_out, labels, f"out, {out.shape[0]}×{out.shape[1]}:\nvalue → the input it routes to",
                colors=faces)
    greens = np.array([[_light("tab:green", 1 - min(v, 4) / 5) if v else "white" for v in row]
                       for row in counts], dtype=object)
    draw_matrix(ax_count, counts, "dx for dout = 1 everywhere:\nhow many windows each input wins",
                colors=greens, hatched=hatched)
    fig.suptitle(f"pool {height}×{width}, stride {stride} (hatched: in no window)", fontsize=11)
    fig.tight_layout()
    return fig
