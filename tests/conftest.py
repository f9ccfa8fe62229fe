"""Session-wide settings for the course's tests."""

import os

import matplotlib
import pytest

# Figures drawn by the unit tests never need a screen.
matplotlib.use("Agg")

# Widgets in notebooks run by the tests
# draw their static figure instead of waiting for a front end.
os.environ.setdefault("COURSE_STATIC_WIDGETS", "1")


@pytest.fixture(autouse=True)
def close_figures():
    """Close every figure a test opened, so that none leaks into the next test."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def pytest_terminal_summary(terminalreporter):
    from tests.mutation import summary_lines

    lines = summary_lines()
    if lines:
        terminalreporter.section("mutation harness")
        for line in lines:
            terminalreporter.write_line(line)
