"""Parallel and serial grading, SQLite and PostgreSQL, and plain nbgrader: the same gradebook.

Four submissions (a reference, a blank, a correct answer that warns on
stderr, a deleted test cell) are graded

* in parallel by the corpus run (2 workers, SQLite, alongside every attack);
* serially by ``course grade --workers 0`` (SQLite);
* by ``course grade --workers 0 --no-sandbox`` (SQLite);
* by plain ``nbgrader autograde`` (SQLite, no sandbox): the baseline;
* in parallel and serially on PostgreSQL (``--db postgresql+psycopg2://``);
* on a Dask cluster of separate processes, as a cluster runs them (``dask scheduler`` and two
  ``dask worker`` on loopback, ``course grade --scheduler``), and again on such a cluster while one
  of its workers is killed in the middle of a task (its submission is graded again elsewhere);
* on a cluster that Dask's ``SSHCluster`` starts over SSH, through a real ``sshd`` that listens on
  two loopback addresses (127.0.0.1 and 127.0.0.2), one worker logged in through each.

Every gradebook must hold the same rows for them. After ``course grade``,
``nbgrader generate_feedback`` and ``nbgrader export`` still work.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.instructor.gradebook import gradebook_snapshot
from grader.worker.zygote import process_tree
from tests.course_copy import nbgrader
from tests.grading import corpus
from tests.grading.conftest import clone_course, course_env, course_grade
from tests.ports import free_port
from tests.postgres_server import create_database
from tests.ssh_server import SSHServer, ssh_server, why_no_sshd

STUDENTS = ["reference", "blank", "stderr-warning", "deleted-test-cell"]
ONLY = [arg for student in STUDENTS for arg in ("--student", student)]


def rows_of(url):
    snapshot = gradebook_snapshot(url)
    return {key: value for key, value in snapshot.items() if key[1] in STUDENTS}


def sqlite_url(course):
    return f"sqlite:///{course / 'gradebook.db'}"


@pytest.fixture(scope="module")
def serial_sqlite(template):
    run = course_grade(clone_course(template[0], "serial-sqlite"), corpus.ASSIGNMENT, "--workers", "0", *ONLY,
                       progress=True)
    print(f"\nserial SQLite run: {len(STUDENTS)} submissions, {run['seconds']:.0f} s")
    return run


@pytest.fixture(scope="module")
def plain_nbgrader(template):
    course = clone_course(template[0], "plain-nbgrader")
    for student in STUDENTS:
        nbgrader(course, "autograde", corpus.ASSIGNMENT, "--student", student, "--force")
    return course


def postgres_run(template, server, name, workers):
    course = clone_course(template[0], name)
    url = create_database(server, name)
    nbgrader(course, "generate_assignment", corpus.ASSIGNMENT, "--force", f"--db={url}")
    run = course_grade(course, corpus.ASSIGNMENT, "--workers", workers, "--db", url, *ONLY)
    print(f"\nPostgreSQL run, {workers} workers: {len(STUDENTS)} submissions, {run['seconds']:.0f} s")
    run["url"] = url
    return run


def test_serial_run_grades_everything(serial_sqlite):
    assert serial_sqlite["status"] == 0, serial_sqlite["stderr"][-3000:]
    assert "all submissions graded" in serial_sqlite["stdout"]
    assert set(serial_sqlite["report"]) == set(STUDENTS)
    bar = serial_sqlite["stderr"].replace("\r", "\n").splitlines()
    assert any("grading:" in line and f"{len(STUDENTS)}/{len(STUDENTS)}" in line for line in bar), bar[-3:]
    assert any("<" in line and "submission" in line for line in bar)  # tqdm's elapsed<remaining (ETA)
    assert "SAWarning" not in serial_sqlite["stderr"]  # nbgrader's, muted by the recorder


def test_parallel_and_serial_sqlite_gradebooks_are_identical(corpus_run, serial_sqlite):
    parallel = rows_of(sqlite_url(corpus_run["course"]))
    serial = rows_of(sqlite_url(serial_sqlite["course"]))
    assert len(serial) > 4 * len(STUDENTS)
    assert parallel == serial


def test_course_grade_agrees_with_plain_nbgrader(serial_sqlite, plain_nbgrader):
    assert rows_of(sqlite_url(plain_nbgrader)) == rows_of(sqlite_url(serial_sqlite["course"]))


def test_postgresql_parallel_and_serial_are_identical_to_sqlite(template, postgres, serial_sqlite):
    parallel = postgres_run(template, postgres, "parallel", "2")
    serial = postgres_run(template, postgres, "serial", "0")
    for run in (parallel, serial):
        assert run["status"] == 0, run["stderr"][-3000:]
    reference = rows_of(sqlite_url(serial_sqlite["course"]))
    assert rows_of(parallel["url"]) == reference
    assert rows_of(serial["url"]) == reference
    # nothing was written to a SQLite gradebook when --db named PostgreSQL
    assert not (parallel["course"] / "gradebook.db").exists() or "reference" not in str(
        gradebook_snapshot(sqlite_url(parallel["course"])))


def test_feedback_and_export_work_after_course_grade(serial_sqlite):
    course = serial_sqlite["course"]
    nbgrader(course, "generate_feedback", corpus.ASSIGNMENT, "--force")
    nbgrader(course, "export")
    for student in STUDENTS:
        assert (course / "feedback" / student / corpus.ASSIGNMENT / f"{corpus.ASSIGNMENT}.html").is_file()
    with open(course / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)
                if row["assignment"] == corpus.ASSIGNMENT}
    assert float(rows["reference"]["score"]) == float(rows["reference"]["max_score"]) > 0
    assert float(rows["blank"]["score"]) == 0


def test_no_sandbox_grades_like_the_sandbox_and_warns(template, serial_sqlite):
    run = course_grade(clone_course(template[0], "no-sandbox"), corpus.ASSIGNMENT, "--workers", "0",
                       "--no-sandbox", *ONLY)
    assert run["status"] == 0, run["stderr"][-3000:]
    assert "--no-sandbox: student code runs with YOUR rights" in run["stderr"]
    assert rows_of(sqlite_url(run["course"])) == rows_of(sqlite_url(serial_sqlite["course"]))


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2):
    """``dask scheduler`` and ``workers`` × ``dask worker`` (one process, one thread each) on loopback.

    Started with this environment's ``dask`` command, each in its own session, the way a cluster runs
    them; yields the scheduler's address and the worker commands' processes; kills all at the end.
    """
    from distributed import Client

    dask = str(Path(sys.executable).parent / "dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    folder.mkdir(parents=True, exist_ok=True)
    env = course_env()  # the course on PYTHONPATH: what installing it with the grading extra gives a worker
    commands = [[dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]] + [
        [dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
         "--local-directory", str(folder / f"worker{index}"), "--name", f"worker{index}"]
        for index in range(workers)]
    started = []
    try:
        for index, command in enumerate(commands):
            with open(folder / f"process{index}.log", "w") as log:  # the child keeps its own descriptor
                started.append(subprocess.Popen(command, cwd=folder, env=env, start_new_session=True,
                                                stdout=subprocess.DEVNULL, stderr=log))
        with Client(address, timeout=120) as client:
            client.wait_for_workers(workers, timeout=300)
        yield address, started[1:]
    finally:
        for process in started:
            _kill_tree(process.pid)
            process.wait()


def _kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and all below it at once, as when the machine under them dies."""
    for member in process_tree(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _busy(worker: subprocess.Popen) -> bool:
    """The worker is grading: its zygote has a child (an ``nbgrader autograde`` running)."""
    return any("grader.worker.zygote" in _cmdline(pid) and len(process_tree(pid)) > 1
               for pid in process_tree(worker.pid))


def test_a_dask_cluster_of_separate_processes_grades_like_the_local_run(template, serial_sqlite, artifacts):
    with dask_cluster(artifacts / "dask-cluster") as (address, _):
        run = course_grade(clone_course(template[0], "cluster"), corpus.ASSIGNMENT, "--scheduler", address,
                           *ONLY)
    assert run["status"] == 0, run["stderr"][-3000:]
    assert f"Dask scheduler {address}" in run["stdout"]
    assert len({row["worker"] for row in run["report"].values()}) == 2, "both workers should have graded"
    assert rows_of(sqlite_url(run["course"])) == rows_of(sqlite_url(serial_sqlite["course"]))


def test_a_worker_killed_mid_task_loses_no_submission(template, serial_sqlite, artifacts):
    course = clone_course(template[0], "cluster-kill")
    with dask_cluster(artifacts / "dask-cluster-kill") as (address, workers):
        grading = subprocess.Popen(
            [sys.executable, "-m", "grader", "grade", corpus.ASSIGNMENT, "--scheduler", address, *ONLY,
             "--report", "report.json", "--no-progress", "--cell-timeout", "10"],
            cwd=course, env=course_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 600
        victim = None
        while victim is None and time.monotonic() < deadline and grading.poll() is None:
            victim = next((w for w in workers if _busy(w)), None)
            time.sleep(0.1)
        assert victim is not None, "no worker was seen grading"
        _kill_tree(victim.pid)
        stdout, stderr = grading.communicate(timeout=1200)
    report = {row["student"]: row for row in json.loads((course / "report.json").read_text())["submissions"]}
    # every submission is reported; here each is graded again by the surviving worker
    assert set(report) == set(STUDENTS), stdout
    assert grading.returncode == 0, stdout + stderr[-3000:]
    assert rows_of(sqlite_url(course)) == rows_of(sqlite_url(serial_sqlite["course"]))


@contextlib.contextmanager
def ssh_cluster(server: SSHServer, folder: Path):
    """Dask's ``SSHCluster``: the scheduler through the first address, one worker through each address.

    Every process binds to loopback; the workers get the course's environment (its ``bin/`` on PATH,
    the course on PYTHONPATH) through ``remote_python``. Yields the scheduler's address; at the end,
    closes the cluster and kills whatever process of it is left.
    """
    from distributed import SSHCluster

    env = course_env()
    remote_python = " ".join([*(f"{key}={shlex.quote(env[key])}" for key in ("PATH", "PYTHONPATH")),
                              shlex.quote(sys.executable)])
    scratch = folder / "dask-workers"  # also marks the cluster's processes on their command lines
    cluster = SSHCluster(
        [server.addresses[0], *server.addresses], connect_options=server.connect_options(),
        remote_python=remote_python,
        scheduler_options={"host": server.addresses[0], "port": 0, "dashboard": False},
        worker_options={"nthreads": 1, "n_workers": 1, "host": server.addresses[0],
                        "local_directory": str(scratch)})
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
        for entry in os.scandir("/proc"):
            command = _cmdline(int(entry.name)) if entry.name.isdigit() else ""
            if "distributed.cli.dask_spec" in command and str(scratch) in command:
                _kill_tree(int(entry.name))


def test_a_cluster_started_over_ssh_on_two_addresses_grades_like_the_local_run(template, serial_sqlite,
                                                                               artifacts):
    reason = why_no_sshd()
    if reason:
        pytest.skip(f"no SSH server for the SSH-started cluster: {reason}")
    folder = artifacts / "ssh-cluster-processes"
    with ssh_server(folder / "sshd") as server, ssh_cluster(server, folder) as address:
        course = clone_course(template[0], "ssh-cluster")
        run = course_grade(course, corpus.ASSIGNMENT, "--scheduler", address, *ONLY)
    log = (folder / "sshd" / "sshd.log").read_text()
    for host in server.addresses:
        assert f"on {host} port {server.port}" in log, f"no SSH connection reached {host}: {log[-2000:]}"
    assert run["status"] == 0, run["stderr"][-3000:]
    assert f"Dask scheduler {address}" in run["stdout"]
    assert len({row["worker"] for row in run["report"].values()}) == 2, "both workers should have graded"
    assert rows_of(sqlite_url(run["course"])) == rows_of(sqlite_url(serial_sqlite["course"]))


STARTUP_PRINTED = ("interpreter", "checks", "imports", "plan", "recorder", "template", "bundles",
                   "submissions", "workers", "first_task")


def _printed_startup(run) -> dict[str, float]:
    """The start-up line of ``course grade``'s summary: its steps, in the order printed."""
    line = next((line for line in run["stdout"].splitlines() if line.startswith("start-up, ")), None)
    assert line is not None, run["stdout"][-2000:]
    steps = line.split(": ", 1)[1].split("; ")[0]
    return {name: float(seconds) for name, seconds in
            (part.rsplit(" ", 2)[:2] for part in steps.split(", "))}


@pytest.mark.parametrize("which", ["serial", "parallel"])
def test_the_start_up_is_printed_step_by_step_and_fits_in_the_wall_time(which, request):
    from grader.messages import StartupTimings

    run = request.getfixturevalue("serial_sqlite" if which == "serial" else "corpus_run")
    printed = _printed_startup(run)
    assert tuple(printed) == STARTUP_PRINTED
    # the steps follow one another from the process's start: together, no more than the wall time the
    # test measured around the command (0.01 s per step for the printed rounding)
    assert sum(printed.values()) <= run["seconds"] + 0.01 * len(printed)
    reported = StartupTimings.from_dict(run["startup"])
    assert tuple(reported.steps) == STARTUP_PRINTED
    assert reported.steps == pytest.approx(printed, abs=0.006)
    assert 0 < reported.total <= run["seconds"]
    # what ran meanwhile: the workers' warm-up (and the cluster's start with Dask)
    expected = {"zygote", "font_list"} | ({"cluster", "worker_imports"} if which == "parallel" else set())
    assert expected <= set(reported.background), reported.background
