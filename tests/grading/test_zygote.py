"""The zygote: each command in a fresh forked nbgrader process, with its own folder, environment,
output and exit status, and a timeout that kills it."""

from __future__ import annotations

import os
import time
import types

import pytest

from grader.nbgrader_terms import nbgrader_environment
from grader.worker.zygote import Zygote, ZygoteTimeout

# nbgrader executes the nbgrader_config.py of its working folder: a handy way to run code in the child
PROBE_CONFIG = """
import os, sys
import grader.worker.zygote as zygote
print("marker:", getattr(zygote, "_test_marker", "fresh"))
zygote._test_marker = "left over"  # a child that leaked state into the helper would show this next time
print("cwd:", os.getcwd())
print("env:", os.environ.get("ZYGOTE_TEST"), "PATH set:", "PATH" in os.environ)
print("argv:", sys.argv[1:])
print("to stderr", file=sys.stderr)
"""


def environment(**extra):
    return {"PATH": nbgrader_environment()["PATH"], **extra}


@pytest.fixture
def zygote():
    with Zygote() as helper:
        yield helper


def test_each_command_runs_fresh_in_its_folder_with_its_environment(zygote, tmp_path):
    outputs = []
    for index in range(2):
        course = tmp_path / f"course{index}"
        course.mkdir()
        (course / "nbgrader_config.py").write_text(PROBE_CONFIG)
        log = tmp_path / f"log{index}"
        status = zygote.run(["db", "student", "list"], course, environment(ZYGOTE_TEST=str(index)), log)
        assert status == 0, log.read_text()
        outputs.append(log.read_text())
    for index, output in enumerate(outputs):
        assert "marker: fresh" in output  # the second child did not inherit the first one's change
        assert f"cwd: {tmp_path / f'course{index}'}" in output
        assert f"env: {index} PATH set: True" in output
        assert "argv: ['db', 'student', 'list']" in output
        assert "to stderr" in output


def test_the_exit_status_is_the_commands(zygote, tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("raise SystemExit(3)\n")
    status = zygote.run(["db", "student", "list"], tmp_path, environment(), tmp_path / "log")
    assert status != 0
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert zygote.run(["db", "student", "list"], tmp_path, environment(), tmp_path / "log") == 0


def test_a_command_past_its_timeout_is_killed_with_its_children_and_the_zygote_goes_on(zygote, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    (tmp_path / "nbgrader_config.py").write_text(
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(120)\n"
    )
    started = time.monotonic()
    with pytest.raises(ZygoteTimeout):
        zygote.run(["db", "student", "list"], tmp_path, environment(), tmp_path / "log", timeout=5)
    assert time.monotonic() - started < 60
    grandchild = int(pid_file.read_text())
    for _ in range(50):
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the command's own child process outlived the timeout")
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert zygote.run(["db", "student", "list"], tmp_path, environment(), tmp_path / "log") == 0


def test_a_command_that_fails_at_once_is_reported_not_waited_for(zygote, tmp_path):
    # the child dies before it imports anything, so both of the helper's messages arrive together
    for attempt in range(20):
        log = tmp_path / f"log{attempt}"
        status = zygote.run(["db", "student", "list"], tmp_path / "missing", environment(), log, timeout=30)
        assert status != 0
        assert "missing" in log.read_text()


def test_both_messages_of_a_command_are_seen_when_they_arrive_in_one_read():
    # a child that exits at once: the pid and the exit status reach the pipe together. A buffered
    # reader would swallow the second message with the first and then wait for it forever.
    read_end, write_end = os.pipe()
    os.write(write_end, b'{"pid": 12}\n{"returncode": 3}\n')
    helper = Zygote.__new__(Zygote)  # only the reading half, on a pipe of our own
    helper.process = types.SimpleNamespace(stdout=open(read_end, "rb"))  # noqa: SIM115
    helper._pending = b""
    try:
        assert helper._read(time.monotonic() + 5) == {"pid": 12}
        assert helper._read(time.monotonic() + 5) == {"returncode": 3}
        assert helper._read(time.monotonic() + 0.2) is None  # nothing more: the deadline answers
    finally:
        helper.process.stdout.close()
        os.close(write_end)


@pytest.mark.parametrize("judge", [False, True])
def test_the_judge_s_imports_are_preloaded_only_when_the_judge_is_on(tmp_path, judge):
    """A child inherits the helper's modules: with the judge on, what its setup cells import is there
    before the child imports anything (a ``db`` command imports none of it itself)."""
    (tmp_path / "nbgrader_config.py").write_text(
        "import sys\nprint('preloaded:', sorted(m for m in ('matplotlib.pyplot', 'ipywidgets')"
        " if m in sys.modules))\n")
    log = tmp_path / "log"
    with Zygote(judge=judge) as helper:
        assert helper.run(["db", "student", "list"], tmp_path, environment(), log) == 0, log.read_text()
    expected = ["ipywidgets", "matplotlib.pyplot"] if judge else []
    assert f"preloaded: {expected}" in log.read_text()
