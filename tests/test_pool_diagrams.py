"""The pictures of 05_maxpool: the windows they outline and the routes they draw are the right ones."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course.pool_diagrams import (  # noqa: E402
    as_pool_shape,
    covered_pixels,
    draw_routing,
    draw_windows,
    window_routes,
    window_starts,
)
from tests.notebooks import fresh_namespace, notebook_parts  # noqa: E402


@pytest.fixture(scope="module")
def maxpool():
    """The reference maxpool_forward and maxpool_backward of the source notebook."""
    namespace = fresh_namespace(notebook_parts("05_maxpool"))
    return namespace["maxpool_forward"], namespace["maxpool_backward"]


def test_pool_shapes_and_window_starts():
    assert as_pool_shape(3) == (3, 3) and as_pool_shape((2, 4)) == (2, 4)
    assert list(window_starts(5, 2, 2)) == [0, 2]
    assert list(window_starts(7, 3, 2)) == [0, 2, 4]
    assert list(window_starts(4, 4, 3)) == [0]


def test_pixels_in_no_window_are_the_ones_a_stride_leaves_out():
    covered = covered_pixels((5, 6), (2, 2), 3)   # windows at rows 0 and 3, columns 0 and 3
    assert covered[[0, 1, 3, 4]][:, [0, 1, 3, 4]].all()
    assert not covered[2].any() and not covered[:, 2].any() and not covered[:, 5].any()


def test_routes_follow_the_first_maximum_and_count_overlaps(maxpool):
    x = np.array([[1.0, 4.0, 2.0],
                  [0.0, 2.0, 3.0],
                  [2.0, 3.0, 1.0]])
    out, routes, counts = window_routes(*maxpool, x, 2, 1)
    assert out.tolist() == [[4.0, 4.0], [3.0, 3.0]]
    assert routes == {(0, 0): [(0, 1)], (0, 1): [(0, 1)], (1, 0): [(2, 1)], (1, 1): [(1, 2)]}
    assert counts.tolist() == [[0, 2, 0], [0, 0, 1], [0, 1, 0]]


def test_a_backward_pass_that_routes_to_every_tie_shows_every_route(maxpool):
    forward, _ = maxpool

    def every_tie(dout, cache):
        x = cache[0]
        return np.where(x == x.max(), dout.sum(), 0.0)

    _, routes, _ = window_routes(forward, every_tie, np.array([[3.0, 3.0], [0.0, 1.0]]), 2, 2)
    assert routes == {(0, 0): [(0, 0), (0, 1)]}


def test_the_figures_draw_and_label_each_output_with_its_route(maxpool):
    x = np.random.default_rng(3).integers(0, 4, size=(7, 8)).astype(float)
    fig = draw_routing(*maxpool, x, (3, 2), 1)
    _, routes, _ = window_routes(*maxpool, x, (3, 2), 1)
    labels = {text.get_text() for text in fig.axes[1].texts}
    assert all(f"→ ({r},{c})" in " ".join(labels) for [(r, c)] in routes.values())
    plt.close(fig)
    ax = draw_windows(x, 2, 3)
    assert len(ax.patches) > x.size      # a cell per pixel, hatches, and one outline per window
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="does not fit"):
        draw_routing(*maxpool, x, (8, 2), 1)
