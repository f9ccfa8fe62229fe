"""Session-wide settings for the course's tests."""

import os

# Widgets in notebooks run by the tests
# draw their static figure instead of waiting for a front end.
os.environ.setdefault("COURSE_STATIC_WIDGETS", "1")


def pytest_terminal_summary(terminalreporter):
    from tests.mutation import summary_lines

    lines = summary_lines()
    if lines:
        terminalreporter.section("mutation harness")
        for line in lines:
            terminalreporter.write_line(line)
