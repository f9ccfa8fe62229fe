"""Which upstream gradients meet which inputs in a strided 2-D convolution.

The backward pass of a convolution is easiest to understand by looking at
index patterns, the way the demo scripts of the Habr article "Свёрточная сеть
на Python. Часть 2. Вывод формул для обучения модели" print them. This module
works on one channel and one image. It lists the *taps*
of a convolution, one per (output position, kernel entry, input position)
triple, and draws them.

Indexing follows the article. The kernel has an *origin* ``(oa, ob)``;
kernel entry ``w[a, b]`` (array indices) sits at the signed offset
``(a - oa, b - ob)``. With ``g = +1`` for convolution and ``g = -1`` for
cross-correlation, output ``(i, j)`` at stride ``s`` is

    out[i, j] = sum over a, b of  w[a, b] * x[i*s - g*(a - oa), j*s - g*(b - ob)]

where input positions outside the image are skipped (as if zero-padded).
An output position exists when at least one of its taps lands inside the
image; it is a *whole window* when all of them do. Cross-correlation with
origin ``(0, 0)`` and convolution with origin ``(KH - 1, KW - 1)``, keeping
whole windows only, are the two modes of the course's ``conv2d_forward``
without padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

__all__ = [
    "MODES",
    "Tap",
    "kernel_offsets",
    "conv_taps",
    "output_shape",
    "whole_windows",
    "draw_matrix",
    "draw_backward_pattern",
]

MODES = ("cross_correlation", "convolution")
HIGHLIGHT = "#f4a261"
SELECTED = "#e76f51"
PARTIAL = "#b0b0b0"


@dataclass(frozen=True)
class Tap:
    """One product ``w[a, b] * x[p, q]`` that contributes to ``out[i, j]``.

    Attributes
    ----------
    i, j : int
        Output position (row, column).
    a, b : int
        Kernel entry, as array indices (0 .. KH-1, 0 .. KW-1).
    p, q : int
        Input position (row, column).
    """

    i: int
    j: int
    a: int
    b: int
    p: int
    q: int


def kernel_offsets(size: int, origin: int) -> np.ndarray:
    """Signed offsets of the kernel entries along one axis.

    Parameters
    ----------
    size : int
        Kernel size along the axis.
    origin : int
        Array index of the entry at offset 0, ``0 <= origin < size``.

    Returns
    -------
    offsets : ndarray of int, shape (size,)
        ``offsets[a] = a - origin``, e.g. ``[-1, 0, 1]`` for size 3, origin 1.
    """
    if not 0 <= origin < size:
        raise ValueError(f"origin {origin} is outside a kernel of size {size}")
    return np.arange(size) - origin


def _sign(mode: str) -> int:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return 1 if mode == "convolution" else -1


def conv_taps(
    input_shape: tuple[int, int],
    kernel_shape: tuple[int, int],
    stride: int = 1,
    origin: tuple[int, int] = (0, 0),
    mode: str = "cross_correlation",
) -> list[Tap]:
    """Every product of the forward pass whose input position is inside the image.

    Parameters
    ----------
    input_shape : (H, W)
        Shape of the single-channel input ``x``.
    kernel_shape : (KH, KW)
        Shape of the kernel ``w``.
    stride : int
        Step ``s`` between output positions, in input pixels.
    origin : (oa, ob)
        Array indices of the kernel entry at offset ``(0, 0)``.
    mode : {"cross_correlation", "convolution"}

    Returns
    -------
    taps : list of Tap
        In row-major order of ``(i, j)``, then of ``(a, b)``; output
        positions with no tap inside the image are left out.
    """
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    g = _sign(mode)
    (h, w), (kh, kw) = input_shape, kernel_shape
    off_a, off_b = kernel_offsets(kh, origin[0]), kernel_offsets(kw, origin[1])
    taps = []
    # no output row beyond h + kh can reach the image, whatever the offsets
    for i in range(h + kh):
        for j in range(w + kw):
            for a in range(kh):
                for b in range(kw):
                    p = i * stride - g * int(off_a[a])
                    q = j * stride - g * int(off_b[b])
                    if 0 <= p < h and 0 <= q < w:
                        taps.append(Tap(i, j, a, b, p, q))
    return taps


def output_shape(taps: list[Tap]) -> tuple[int, int]:
    """Shape ``(H', W')`` of the output the taps fill (positions start at 0)."""
    return max(t.i for t in taps) + 1, max(t.j for t in taps) + 1


def whole_windows(taps: list[Tap], kernel_shape: tuple[int, int]) -> np.ndarray:
    """Which output positions see the whole kernel inside the image.

    Parameters
    ----------
    taps : list of Tap
        From :func:`conv_taps`.
    kernel_shape : (KH, KW)

    Returns
    -------
    whole : ndarray of bool, shape (H', W')
        True where all ``KH * KW`` taps of the position are inside the image.
    """
    counts = np.zeros(output_shape(taps), dtype=int)
    for t in taps:
        counts[t.i, t.j] += 1
    return counts == kernel_shape[0] * kernel_shape[1]


def draw_matrix(
    ax: Axes,
    labels: np.ndarray,
    title: str = "",
    colors: np.ndarray | None = None,
    hatched: np.ndarray | None = None,
) -> None:
    """Draw a small matrix as a grid of labelled cells, row 0 at the top.

    Parameters
    ----------
    ax : matplotlib Axes
    labels : ndarray, shape (R, K)
        Text of each cell (numbers are formatted with ``%g``; ``""`` leaves a
        cell blank).
    title : str
    colors : ndarray of str, shape (R, K), optional
        Face colour of each cell; white by default.
    hatched : ndarray of bool, shape (R, K), optional
        Cells drawn with a hatch pattern.
    """
    labels = np.asarray(labels, dtype=object)
    rows, cols = labels.shape
    for r in range(rows):
        for c in range(cols):
            face = "white" if colors is None else colors[r, c]
            if hatched is not None and hatched[r, c]:
                ax.add_patch(
                    Rectangle((c, r), 1, 1, facecolor=face, edgecolor=PARTIAL, hatch="//", lw=0)
                )
                face = "none"
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor=face, edgecolor="black", lw=1))
            text = labels[r, c]
            if isinstance(text, (int, float, np.integer, np.floating)):
                text = f"{text:g}"
            # two-line labels ("5\n× w=3") must fit a cell that is a third of an inch wide
            size = 8 if "\n" in str(text) else 11
            ax.text(c + 0.5, r + 0.5, text, ha="center", va="center", fontsize=size)
    ax.set_xlim(-0.1, cols + 0.1)
    ax.set_ylim(rows + 0.1, -0.1)
    ax.set_aspect("equal")
    ax.set_xticks(np.arange(cols) + 0.5, [str(c) for c in range(cols)])
    ax.set_yticks(np.arange(rows) + 0.5, [str(r) for r in range(rows)])
    ax.tick_params(length=0, labelsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, fontsize=10)


def draw_backward_pattern(
    mode: str = "cross_correlation",
    stride: int = 1,
    origin: tuple[int, int] = (0, 0),
    view: str = "dw",
    step: int = 0,
    input_shape: tuple[int, int] = (4, 4),
    kernel: np.ndarray | None = None,
) -> plt.Figure:
    """Draw which upstream gradients meet which inputs or kernel entries.

    Three panels: the kernel ``w`` (its origin outlined), the upstream
    gradient ``dout = dL/dout`` (entries numbered 1, 2, ... in row-major
    order; partial windows hatched) and the input ``x``.

    * ``view="dw"``: ``step`` picks a kernel entry ``(a, b)``. The input
      panel shows, at every input position that meets it, the number of the
      upstream entry it is multiplied with, as in the article's demo for
      ``dL/dw``: ``dL/dw[a, b]`` is the sum of those products.
    * ``view="dx"``: ``step`` picks an input position ``(p, q)``. The
      upstream panel shows, at every output position whose window covers it,
      the kernel value it goes through, as in the article's demo for
      ``dL/dx``: ``dL/dx[p, q]`` is the sum of upstream times kernel value.

    Parameters
    ----------
    mode : {"cross_correlation", "convolution"}
    stride : int
    origin : (oa, ob)
        Array indices of the kernel's origin.
    view : {"dw", "dx"}
    step : int
        Index of the kernel entry (``dw``, ``0 <= step < KH * KW``) or input
        position (``dx``, ``0 <= step < H * W``) in row-major order.
    input_shape : (H, W)
        Default ``(4, 4)``, the article's demo input.
    kernel : ndarray, shape (KH, KW), optional
        Default ``[[1, 2], [3, 4]]``, the article's demo kernel.

    Returns
    -------
    matplotlib Figure
    """
    kernel = np.array([[1, 2], [3, 4]]) if kernel is None else np.asarray(kernel)
    kh, kw = kernel.shape
    taps = conv_taps(input_shape, kernel.shape, stride, origin, mode)
    ho, wo = output_shape(taps)
    whole = whole_windows(taps, kernel.shape)
    number = np.arange(1, ho * wo + 1).reshape(ho, wo)

    kernel_colors = np.full(kernel.shape, "white", dtype=object)
    upstream_colors = np.full((ho, wo), "white", dtype=object)
    input_colors = np.full(input_shape, "white", dtype=object)
    upstream_labels = number.astype(object)
    input_labels = np.full(input_shape, "", dtype=object)

    count = {"dw": kh * kw, "dx": input_shape[0] * input_shape[1]}.get(view)
    if count is not None and not 0 <= step < count:
        raise ValueError(f"view {view!r} has {count} steps (0 to {count - 1}), got step {step}")
    if view == "dw":
        a, b = divmod(step, kw)
        kernel_colors[a, b] = SELECTED
        used = [t for t in taps if (t.a, t.b) == (a, b)]
        for t in used:
            upstream_colors[t.i, t.j] = HIGHLIGHT
            input_colors[t.p, t.q] = HIGHLIGHT
            input_labels[t.p, t.q] = number[t.i, t.j]
        off = (a - origin[0], b - origin[1])
        headline = (
            f"dL/dw[{a},{b}] (offset {off}) = sum of {len(used)} products dout × input\n"
            "each coloured input shows the number of the dout entry it is multiplied with"
        )
    elif view == "dx":
        p, q = divmod(step, input_shape[1])
        input_colors[p, q] = SELECTED
        input_labels[p, q] = f"x[{p},{q}]"
        used = [t for t in taps if (t.p, t.q) == (p, q)]
        for t in used:
            upstream_colors[t.i, t.j] = HIGHLIGHT
            upstream_labels[t.i, t.j] = f"{number[t.i, t.j]}\n× w={kernel[t.a, t.b]:g}"
            kernel_colors[t.a, t.b] = HIGHLIGHT
        headline = (
            f"dL/dx[{p},{q}] = sum of {len(used)} products dout × kernel\n"
            "each coloured dout entry shows the kernel value it is multiplied with"
        )
    else:
        raise ValueError(f"view must be 'dw' or 'dx', got {view!r}")

    fig, axes = plt.subplots(
        1, 3, figsize=(11, 3.9), gridspec_kw={"width_ratios": [kw, max(wo, 1), input_shape[1]]}
    )
    draw_matrix(axes[0], kernel, "kernel w (origin outlined)", kernel_colors)
    axes[0].add_patch(
        Rectangle((origin[1], origin[0]), 1, 1, fill=False, edgecolor="black", lw=3.5)
    )
    draw_matrix(
        axes[1],
        upstream_labels,
        f"upstream gradient dout, {ho}×{wo}\n(hatched: window partly outside x)",
        upstream_colors,
        hatched=~whole,
    )
    draw_matrix(axes[2], input_labels, f"input x, {input_shape[0]}×{input_shape[1]}", input_colors)
    fig.suptitle(f"{mode}, stride {stride}: {headline}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.86))
    return fig
