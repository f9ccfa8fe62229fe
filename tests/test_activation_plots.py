"""Unit tests of course.activation_plots (conftest.py selects Agg and closes figures)."""

import matplotlib.pyplot as plt
import numpy as np

from course.activation_plots import (
    layer_as_functions,
    plot_derivative_check,
    plot_local_slope,
)


def _square_layer():
    def forward(x):
        return x**2, x

    def backward(dout, cache):
        return dout * 2 * cache

    return forward, backward


def test_layer_as_functions_gives_value_and_derivative():
    f, df = layer_as_functions(*_square_layer())
    x = np.array([[-1.5, 0.0, 2.0], [3.0, -0.5, 1.0]])
    np.testing.assert_allclose(f(x), x**2)
    np.testing.assert_allclose(df(x), 2 * x)
    assert df(x).shape == x.shape


def test_plot_derivative_check_draws_function_derivative_and_estimate():
    ax = plot_derivative_check(np.sin, np.cos, name="sin", markers=11)
    function_line, derivative_line, estimate = ax.get_lines()[:3]
    x = function_line.get_xdata()
    assert x[0] == -5.0 and x[-1] == 5.0 and len(x) == 401
    np.testing.assert_allclose(function_line.get_ydata(), np.sin(x))
    np.testing.assert_allclose(derivative_line.get_ydata(), np.cos(x))
    x_markers = estimate.get_xdata()
    assert len(x_markers) == 11 and 0.0 in x_markers
    np.testing.assert_allclose(estimate.get_ydata(), np.cos(x_markers), atol=1e-8)
    assert "sin" in ax.get_title()


def test_plot_derivative_check_shows_a_kink_as_the_average_slope():
    ax = plot_derivative_check(lambda x: np.maximum(x, 0.0), lambda x: (x > 0) * 1.0, markers=21)
    estimate = ax.get_lines()[2]
    at_zero = estimate.get_ydata()[estimate.get_xdata() == 0.0]
    np.testing.assert_allclose(at_zero, [0.5])


def test_plot_derivative_check_uses_given_axes_and_range():
    _, ax = plt.subplots()
    returned = plot_derivative_check(np.tanh, lambda x: 1 - np.tanh(x) ** 2,
                                     x=np.linspace(-2, 2, 9), ax=ax, markers=5)
    assert returned is ax
    assert len(ax.get_lines()[0].get_xdata()) == 9


def test_plot_local_slope_draws_tangent_and_gradient_flowing_back():
    left, right = plot_local_slope(np.sin, np.cos, x0=1.0, upstream=-2.0, name="sin")
    tangent = left.get_lines()[1]
    tx, ty = tangent.get_xdata(), tangent.get_ydata()
    np.testing.assert_allclose((ty[1] - ty[0]) / (tx[1] - tx[0]), np.cos(1.0))
    np.testing.assert_allclose(np.interp(1.0, tx, ty), np.sin(1.0))
    assert f"{-2.0 * np.cos(1.0):.4g}" in right.get_title()
    point = right.get_lines()[1]
    np.testing.assert_allclose(point.get_ydata(), [np.cos(1.0)])
