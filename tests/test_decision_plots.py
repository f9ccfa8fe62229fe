"""Unit tests of course.decision_plots."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course.decision_plots import (
    decision_grid,
    plot_decision_boundary,
    plot_loss_curve,
)


def test_decision_grid_covers_the_points_with_margin():
    X = np.array([[0.0, 1.0], [2.0, -1.0], [1.0, 0.0]])
    xx, yy, grid = decision_grid(X, resolution=11, margin=0.5)
    assert xx.shape == yy.shape == (11, 11)
    assert grid.shape == (121, 2)
    assert np.isclose(grid[:, 0].min(), -0.5) and np.isclose(grid[:, 0].max(), 2.5)
    assert np.isclose(grid[:, 1].min(), -1.5) and np.isclose(grid[:, 1].max(), 1.5)
    np.testing.assert_array_equal(grid[:, 0], xx.ravel())


def test_decision_grid_rejects_points_that_are_not_2d():
    with pytest.raises(ValueError):
        decision_grid(np.zeros((5, 3)))


@pytest.mark.parametrize("n_outputs", [None, 1, 3])
def test_boundary_calls_predict_once_on_the_grid(n_outputs):
    X = np.random.default_rng(0).normal(size=(30, 2))
    y = np.arange(30) % 3
    calls = []

    def predict(points):
        calls.append(points.shape)
        if n_outputs is None:
            return points[:, 0] - points[:, 1]
        return np.column_stack([points[:, 0] * (k + 1) for k in range(n_outputs)])

    ax = plot_decision_boundary(predict, X, y, resolution=20, title="t")
    assert calls == [(400, 2)]
    assert ax.get_title() == "t"
    assert len(ax.collections) >= 3  # the filled regions and the points


def test_boundary_rejects_a_predict_of_the_wrong_length():
    X = np.zeros((4, 2)) + np.arange(4)[:, None]
    with pytest.raises(ValueError):
        plot_decision_boundary(lambda p: np.zeros(3), X, np.zeros(4, dtype=int), resolution=5)


def test_loss_curve_draws_steps_and_moving_average():
    fig, ax = plt.subplots()
    returned = plot_loss_curve(np.linspace(2.0, 0.1, 50), ax=ax, window=10, log_scale=True)
    assert returned is ax
    lines = ax.get_lines()
    assert len(lines) == 2
    assert len(lines[0].get_xdata()) == 50 and len(lines[1].get_xdata()) == 41
    assert ax.get_yscale() == "log"


def test_loss_curve_skips_the_average_for_short_runs():
    ax = plot_loss_curve([1.0, 0.5], window=10)
    assert len(ax.get_lines()) == 1
