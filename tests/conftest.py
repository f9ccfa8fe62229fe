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


# Tests that share a costly fixture run on one pytest-xdist worker (make test uses --dist loadgroup), so
# the fixture is built once, not once per worker. A test with no group is scheduled on its own.
XDIST_GROUPS = {
    "test_nbgrader_pipeline.py": "nbgrader-pipeline",
    "test_make_course.py": "make-course",
    # the class on JupyterHub shares nothing with the JupyterLab tests: its own group, its own worker
    "test_hub.py": "hub",
    "browser": "browser",
}
#: the grading modules that share tests/grading/conftest.py's course template, graded corpus or
#: PostgreSQL server; every other grading module is a group of its own (its module fixtures built once)
SHARED_GRADING_MODULES = {"test_check.py", "test_corpus.py", "test_interrupted.py", "test_parallel_serial.py",
                          "test_recorder.py", "test_report.py", "test_recording_parity.py"}


def xdist_group(parts: tuple[str, ...]) -> str | None:
    """The xdist group of a test file, given its path's parts under ``tests/``."""
    if parts[0] == "grading":
        module = parts[-1]
        return "grading" if module in SHARED_GRADING_MODULES else f"grading-{module.removesuffix('.py')}"
    return XDIST_GROUPS.get(parts[-1]) or XDIST_GROUPS.get(parts[0])


# first: pytest-xdist's own hook turns the marks into groups, and before this ran it saw none (the groups
# were split over both workers, and their module fixtures built on each)
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        group = xdist_group(item.path.relative_to(item.config.rootpath / "tests").parts)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_runtest_logreport(report):
    """Gather the mutation harness's outcomes; under pytest-xdist they arrive from the workers."""
    if report.when == "call":
        from tests.mutation import collect

        collect(report)


def pytest_terminal_summary(terminalreporter):
    from tests.mutation import summary_lines

    lines = summary_lines()
    if lines:
        terminalreporter.section("mutation harness")
        for line in lines:
            terminalreporter.write_line(line)
