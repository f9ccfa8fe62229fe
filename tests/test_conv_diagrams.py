"""The index patterns drawn in 06_convolution match the Habr article's demos and the graded layer."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course.conv_diagrams import (  # noqa: E402
    conv_taps,
    draw_backward_pattern,
    kernel_offsets,
    output_shape,
    whole_windows,
)


def test_kernel_offsets_follow_the_origin():
    assert kernel_offsets(3, 1).tolist() == [-1, 0, 1]
    assert kernel_offsets(2, 0).tolist() == [0, 1]
    with pytest.raises(ValueError):
        kernel_offsets(2, 2)


@pytest.mark.parametrize(
    ("input_shape", "stride", "mode", "expected"),
    [
        # stride 2: the shapes of the upstream gradient (dEdx_l) that the Habr article's demo
        # scripts state (2x2 kernel, origin (0, 0)); stride 1: every position with a tap inside,
        # partial windows too
        ((4, 4), 1, "cross_correlation", (4, 4)),
        ((4, 4), 1, "convolution", (5, 5)),
        ((4, 4), 2, "cross_correlation", (2, 2)),
        ((4, 4), 2, "convolution", (3, 3)),
        ((3, 3), 1, "convolution", (4, 4)),
        ((3, 3), 2, "cross_correlation", (2, 2)),
        ((3, 3), 2, "convolution", (2, 2)),
    ],
)
def test_output_shapes_include_partial_windows(input_shape, stride, mode, expected):
    assert output_shape(conv_taps(input_shape, (2, 2), stride, (0, 0), mode)) == expected


def _valid_correlation(x, w, stride):
    kh, kw = w.shape
    ho = (x.shape[0] - kh) // stride + 1
    wo = (x.shape[1] - kw) // stride + 1
    out = np.zeros((ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[i, j] = np.sum(x[i * stride : i * stride + kh, j * stride : j * stride + kw] * w)
    return out


def _from_whole_taps(x, w, taps):
    whole = whole_windows(taps, w.shape)
    rows, cols = np.nonzero(whole)
    out = np.zeros((rows.max() - rows.min() + 1, cols.max() - cols.min() + 1))
    for t in taps:
        if whole[t.i, t.j]:
            out[t.i - rows.min(), t.j - cols.min()] += w[t.a, t.b] * x[t.p, t.q]
    return out


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_whole_windows_are_the_valid_modes_of_the_layer(stride):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((7, 8)), rng.standard_normal((2, 3))
    taps = conv_taps(x.shape, w.shape, stride, (0, 0), "cross_correlation")
    np.testing.assert_allclose(_from_whole_taps(x, w, taps), _valid_correlation(x, w, stride))
    taps = conv_taps(x.shape, w.shape, stride, (1, 2), "convolution")
    np.testing.assert_allclose(
        _from_whole_taps(x, w, taps), _valid_correlation(x, w[::-1, ::-1], stride)
    )


def test_every_tap_lands_inside_the_image():
    taps = conv_taps((5, 3), (3, 2), 2, (1, 0), "convolution")
    assert taps and all(0 <= t.p < 5 and 0 <= t.q < 3 for t in taps)
    assert all(0 <= t.a < 3 and 0 <= t.b < 2 for t in taps)


@pytest.mark.parametrize("view", ["dw", "dx"])
@pytest.mark.parametrize("mode", ["cross_correlation", "convolution"])
def test_drawing_runs_for_every_view_and_mode(view, mode):
    fig = draw_backward_pattern(mode=mode, stride=2, origin=(1, 0), view=view, step=3)
    assert len(fig.axes) == 3
    plt.close(fig)


@pytest.mark.parametrize("view", ["dw", "dx"])
def test_drawing_uses_the_notebooks_names(view):
    """06 calls the input x and the upstream gradient dout; the drawing must not say y or dE/dy."""
    fig = draw_backward_pattern(view=view, step=3)
    texts = [fig.get_suptitle()] + [
        t.get_text() for ax in fig.axes for t in [ax.title, *ax.texts]
    ]
    plt.close(fig)
    joined = "\n".join(texts)
    assert "dout" in joined and "input x" in joined
    assert "dE/dy" not in joined and "y[" not in joined and "input y" not in joined


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        conv_taps((4, 4), (2, 2), 1, (0, 0), "conv")
    with pytest.raises(ValueError):
        conv_taps((4, 4), (2, 2), 0)
    with pytest.raises(ValueError):
        draw_backward_pattern(view="both")
    with pytest.raises(ValueError, match="has 4 steps"):
        draw_backward_pattern(view="dw", step=4)
    with pytest.raises(ValueError, match="has 16 steps"):
        draw_backward_pattern(view="dx", step=16)
