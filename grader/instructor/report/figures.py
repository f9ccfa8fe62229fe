"""Score histograms as PNG data URIs, so the HTML report needs no other file and no network."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)

__all__ = ["score_histogram"]


def score_histogram(scores: list[float], max_score: float, title: str, width: float = 4.2,
                    height: float = 2.4) -> str:
    """A histogram of ``scores`` on ``[0, max_score]`` as a ``data:image/png;base64,...`` URI.

    Bins are one point wide (wider above 20 points), centred on whole
    points, so a 2-point cell shows 0, 1 and 2 as separate bars.
    """
    step = max(1.0, round(max_score / 20))
    edges = [i * step - step / 2 for i in range(int(max_score / step) + 2)]
    figure, axes = plt.subplots(figsize=(width, height), dpi=90)
    try:
        axes.hist(scores, bins=edges, color="#3b6ea8", edgecolor="white")
        axes.set_xlim(edges[0], edges[-1])
        axes.set_xlabel(f"score (of {max_score:g})")
        axes.set_ylabel("submissions")
        axes.set_title(title, fontsize=10)
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.xaxis.get_major_locator().set_params(integer=True)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
