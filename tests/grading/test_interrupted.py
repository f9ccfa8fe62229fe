"""``course grade`` stopped mid-batch by SIGINT, SIGTERM or SIGKILL, then run again.

Five submissions of the corpus (one an infinite loop, so that a kernel is busy when the signal comes)
are graded with 2 workers; as soon as the first one is recorded (its ``autograded/`` folder appears, which
the recorder moves in place only after the commit), the run gets the signal:

* SIGINT to its whole process group, as Ctrl+C in a terminal sends it (Dask's worker processes get it
  too); SIGTERM to the process alone, as ``kill`` sends it; SIGKILL to the process alone.
* SIGINT and SIGTERM: exit status 130 and 143, no traceback, a summary of what was recorded and how to
  continue. SIGKILL: the design's guarantee is that every process of the run ends by itself within
  seconds (worker processes exit when their parent's pipe closes; each zygote kills its nbgrader
  process and kernel when its worker's pipe closes).
* Then: the gradebook is intact (every submission with rows has exactly a clean serial run's rows; every
  ``autograded/`` folder has its rows), no process of the run is left (found by a marker in the
  environment, which reaches the kernels too: ``COURSE_*`` variables pass the sandbox), and the same
  command again grades only what is left and says how many it skipped.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from grader.instructor.gradebook import gradebook_snapshot
from grader.instructor.record import STAGING
from tests.grading import corpus
from tests.grading.conftest import CELL_TIMEOUT, clone_course, course_env, course_grade

STUDENTS = ["blank", "deleted-test-cell", "loop-top", "reference", "stderr-warning"]
ONLY = [arg for student in STUDENTS for arg in ("--student", student)]
MARKER = "COURSE_TEST_RUN"


def rows_by_student(course: Path) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for key, value in gradebook_snapshot(f"sqlite:///{course / 'gradebook.db'}").items():
        if key[1] in STUDENTS:
            rows.setdefault(key[1], {})[key] = value
    return rows


def graded_folders(course: Path) -> set[str]:
    return {student for student in STUDENTS if (course / "autograded" / student / corpus.ASSIGNMENT).is_dir()}


def marked_processes(token: str) -> list[str]:
    """Processes whose environment carries ``MARKER=token``: the run's, wherever they were reparented."""
    needle = f"{MARKER}={token}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry.name}/environ").read_bytes()
            if needle in environ.split(b"\0"):
                command = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ")
                found.append(f"{entry.name}: {command.decode(errors='replace')[:150]}")
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def clean_serial(template):
    run = course_grade(clone_course(template[0], "interrupt-baseline"), corpus.ASSIGNMENT, "--workers", "0",
                       *ONLY)
    assert run["status"] == 0, run["stderr"][-3000:]
    return rows_by_student(run["course"])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_an_interrupted_run_records_whole_results_leaves_no_process_and_resumes(template, clean_serial,
                                                                                signum):
    course = clone_course(template[0], f"interrupted-{signum.name}")
    token = uuid.uuid4().hex
    env = course_env() | {MARKER: token}
    command = [sys.executable, "-m", "grader", "grade", corpus.ASSIGNMENT, *ONLY, "--workers", "2",
               "--cell-timeout", str(CELL_TIMEOUT), "--no-progress"]
    grading = subprocess.Popen(command, cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while not graded_folders(course):
            assert grading.poll() is None, grading.communicate()
            assert time.monotonic() < deadline, "no submission was recorded in 600 s"
            time.sleep(0.1)
        running = marked_processes(token)
        if signum == signal.SIGINT:
            os.killpg(grading.pid, signum)  # Ctrl+C: the terminal signals the whole foreground group
        else:
            grading.send_signal(signum)
        stdout, stderr = grading.communicate(timeout=300)
    finally:
        if grading.poll() is None:
            grading.kill()
            grading.communicate()
    print(f"\n{signum.name}: status {grading.returncode}\n{stdout}\n{stderr[-2000:]}")

    if signum == signal.SIGKILL:
        assert grading.returncode == -signal.SIGKILL
    else:
        assert grading.returncode == 128 + signum, stderr[-3000:]
        assert "Traceback" not in stderr, stderr[-3000:]
        assert f"STOPPED by {signum.name}" in stdout
        assert "run the same command again" in stdout

    # no process of the run lingers (orderly: closed before the exit; SIGKILL: each ends by itself), and
    # soon: sooner than the infinite loop's cell timeout would end a kernel left running
    exited = time.monotonic()
    while (left := marked_processes(token)) and time.monotonic() < exited + CELL_TIMEOUT / 2:
        time.sleep(0.2)
    print(f"{len(running)} processes of the run when the signal came:\n" + "\n".join(running))
    print(f"the last one gone {time.monotonic() - exited:.1f} s after the exit")
    assert not left, left

    # the gradebook is intact: whole submissions only, each exactly as a clean serial run records it
    with sqlite3.connect(course / "gradebook.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    recorded = rows_by_student(course)
    folders = graded_folders(course)
    assert folders <= set(recorded)
    for student, rows in recorded.items():
        assert rows == clean_serial[student], student
    assert 1 <= len(folders) < len(STUDENTS), folders
    if signum != signal.SIGKILL:
        # an orderly stop: folders and rows agree, the staging folder is gone
        assert set(recorded) == folders
        assert not (course / STAGING).exists()
        assert f"{len(folders)} of the {len(STUDENTS)} submission(s) of this run recorded" in stdout

    # the same command again grades only what is left, and says how many it skipped
    again = course_grade(course, corpus.ASSIGNMENT, *ONLY, "--workers", "2")
    assert again["status"] == 0, again["stderr"][-3000:]
    assert f"{len(folders)} submission(s) skipped: already graded" in again["stdout"], again["stdout"]
    statuses = {student: row["status"] for student, row in again["report"].items()}
    assert {s for s, status in statuses.items() if status == "skipped"} == folders
    assert {s for s, status in statuses.items() if status != "skipped"} == set(STUDENTS) - folders
    assert rows_by_student(course) == clean_serial
    assert graded_folders(course) == set(STUDENTS)
    assert not (course / STAGING).exists()


def test_a_run_with_nothing_left_grades_nothing_and_force_grades_everything(template, clean_serial):
    course = clone_course(template[0], "nothing-left")
    first = course_grade(course, corpus.ASSIGNMENT, "--workers", "0", "--student", "reference")
    assert first["status"] == 0, first["stderr"][-3000:]
    second = course_grade(course, corpus.ASSIGNMENT, "--workers", "0", "--student", "reference")
    assert second["status"] == 0, second["stderr"][-3000:]
    assert "1 submission(s) skipped" in second["stdout"] and "nothing left to grade" in second["stdout"]
    assert json.loads((course / "report.json").read_text())["submissions"][0]["status"] == "skipped"
    forced = course_grade(course, corpus.ASSIGNMENT, "--workers", "0", "--student", "reference", "--force")
    assert forced["status"] == 0, forced["stderr"][-3000:]
    assert forced["report"]["reference"]["status"] == "graded"
    assert "skipped" not in forced["stdout"]
    assert rows_by_student(course)["reference"] == clean_serial["reference"]
    # a newer submission (a later timestamp.txt) is graded again without --force, as nbgrader does
    (course / "submitted" / "reference" / corpus.ASSIGNMENT / "timestamp.txt").write_text(
        "2026-11-24 12:00:00.000000 UTC")
    newer = course_grade(course, corpus.ASSIGNMENT, "--workers", "0", "--student", "reference")
    assert newer["report"]["reference"]["status"] == "graded", newer["stdout"]


TIMESTAMPS = {"older": "2026-11-23 12:00:00.000000 UTC", "newer": "2026-11-24 12:00:00.000000 UTC",
              "empty": "", "none": None}


@pytest.mark.parametrize("submitted", sorted(TIMESTAMPS))
@pytest.mark.parametrize("autograded", [*sorted(TIMESTAMPS), "no folder"])
def test_the_skip_rule_is_nbgraders(tmp_path, submitted, autograded):
    """``graded_before`` decides as nbgrader's own ``Autograde.init_destination`` without ``--force``."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    from grader.instructor.plan import graded_before

    def folder(step: str, timestamp: str | None) -> None:
        path = tmp_path / step / "ann" / "hw"
        path.mkdir(parents=True)
        if timestamp is not None:
            (path / "timestamp.txt").write_text(timestamp)

    folder("submitted", TIMESTAMPS[submitted])
    if autograded != "no folder":
        folder("autograded", TIMESTAMPS[autograded])
    coursedir = CourseDirectory(root=str(tmp_path))
    ours = graded_before(coursedir, "ann", "hw")
    nbgraders = not Autograde(coursedir=coursedir).init_destination("hw", "ann")
    assert ours == nbgraders
    assert ours == (autograded != "no folder" and not (submitted == "newer" and autograded == "older"))


def test_a_signal_during_a_recording_takes_effect_when_the_recording_ends():
    from grader.instructor.engine import GradingInterrupted, _StopSignals

    recorded = []
    with pytest.raises(GradingInterrupted), _StopSignals() as stop:
        with stop.shield():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)  # the handler has run by now: it only noted the signal
            recorded.append("the whole batch")
            os.kill(os.getpid(), signal.SIGINT)  # a second signal while stopping: noted, ignored
        recorded.append("nothing after it")
    assert recorded == ["the whole batch"]
    assert stop.received == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # the handlers are restored
