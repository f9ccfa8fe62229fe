"""Shared fixtures of the grading tests: one generated course, few grading runs.

* ``template`` (session): a copy of the course with 01 and 02 generated
  and the hostile corpus submitted for 01 (tests/grading/corpus.py), not
  graded. It lives under ``test-artifacts/`` (ignored by git), not under
  ``/tmp``: the sandbox gives kernels a private ``/tmp``, which would hide a
  course there even if hiding the course root were broken.
* ``planted_courses`` (session): world-readable copies of the course, each solution carrying one
  marker, under /opt, /srv, /var, a home folder and /usr/local/share, as an instructor's copies might
  stand on a grading machine; removed at the end. The corpus's ``walk-for-solutions`` looks for them.
* ``corpus_run`` (session): ``course grade`` with 2 workers on a copy of it,
  through the command line, the way an instructor runs it.
* ``postgres`` (session): a throwaway PostgreSQL server on loopback, started
  from the Debian packages (``scripts/install_grading_deps.sh`` installs them).

Grading needs root (the sandbox switches uids); CI runs as root.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from grader.nbgrader_terms import nbgrader_environment
from tests.course_copy import make_course_copy, nbgrader
from tests.grading import corpus
from tests.notebooks import ROOT, is_solution_cell, read_notebook
from tests.postgres_server import postgres_server

CELL_TIMEOUT = 10  # seconds per cell in the tests: the infinite loops cost 10 s each, not 120


def course_env() -> dict:
    env = nbgrader_environment()
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def course_grade(course: Path, *args: str, progress: bool = False, timeout: float = 1200,
                 cell_timeout: int = CELL_TIMEOUT) -> dict:
    """Run ``python -m grader grade ARGS`` (``course grade``) in ``course``: status, output, report, time."""
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-m", "grader", "grade", *args, "--report", "report.json",
         "--cell-timeout", str(cell_timeout), *([] if progress else ["--no-progress"])],
        cwd=course, env=course_env(), capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - started
    report = course / "report.json"
    log = json.loads(report.read_text()) if report.exists() else {"submissions": [], "startup": None}
    return {"status": process.returncode, "stdout": process.stdout, "stderr": process.stderr,
            "report": {row["student"]: row for row in log["submissions"]}, "startup": log["startup"],
            "seconds": seconds, "course": course}


def clone_course(template: Path, name: str) -> Path:
    target = template.parent / name
    shutil.copytree(template, target)
    return target


@pytest.fixture(scope="session")
def artifacts():
    if os.geteuid() != 0:
        pytest.fail("the grading tests need root: the sandbox runs kernels under other uids "
                    "(CI runs as root)")
    base = ROOT / "test-artifacts"
    base.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="grading-", dir=base))
    # readable by everyone, as a course root usually is: only the sandbox's hiding keeps kernels out
    folder.chmod(0o755)
    yield folder
    if not os.environ.get("COURSE_KEEP_TEST_ARTIFACTS"):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def sentinel():
    """A root process that no submission may kill."""
    process = subprocess.Popen(["sleep", "3600"])
    yield process
    process.kill()
    process.wait()


@pytest.fixture(scope="session")
def listener():
    """A TCP listener on loopback that no submission may reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    yield server
    server.close()


#: top-level folders where ``planted_courses`` puts a copy of the course ("HOME" a new home folder)
PLANT_UNDER = ("/opt", "/srv", "/var", "HOME", "/usr/local/share")


def _plant_course(folder: Path, marker: str) -> Path:
    """A world-readable copy of the course (config, source/ of 01) whose first solution cell holds
    ``marker``; returns the solution notebook."""
    make_course_copy(folder, [corpus.ASSIGNMENT])
    notebook = folder / "source" / corpus.ASSIGNMENT / f"{corpus.ASSIGNMENT}.ipynb"
    nb = read_notebook(notebook)
    cell = next(c for c in nb.cells if is_solution_cell(c))
    cell.source += f"\n# {marker}\n"
    nbformat.write(nb, str(notebook))
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return notebook


@pytest.fixture(scope="session")
def planted_courses(artifacts):
    """{marker, solutions}: copies of the course under :data:`PLANT_UNDER`, removed at the end."""
    token = uuid.uuid4().hex[:12]
    marker = f"PLANTED-SOLUTION-{token}"
    made, solutions = [], []
    try:
        for top in PLANT_UNDER:
            if top == "HOME":
                made.append(Path("/home") / f"instructor-{token}")
                folder = made[-1] / "backprop-course"
            else:
                made.append(Path(top) / f"backprop-course-{token}")
                folder = made[-1]
            solutions.append(str(_plant_course(folder, marker)))
            made[-1].chmod(0o755)
        yield {"marker": marker, "solutions": solutions}
    finally:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def template(artifacts, sentinel, listener, planted_courses):
    course = make_course_copy(artifacts / "template", [corpus.ASSIGNMENT, corpus.OTHER])
    nbgrader(course, "generate_assignment", corpus.ASSIGNMENT, "--force")
    nbgrader(course, "generate_assignment", corpus.OTHER, "--force")
    context = {"root": str(artifacts / "corpus"), "sentinel_pid": sentinel.pid,
               "port": listener.getsockname()[1], "planted_marker": planted_courses["marker"]}
    described = corpus.build(course, context)
    return course, described


@pytest.fixture(scope="session")
def corpus_run(template):
    course, described = template
    run = course_grade(clone_course(course, "corpus"), corpus.ASSIGNMENT, "--workers", "2")
    run["described"] = described
    print(f"\ncorpus run: {len(described)} submissions, 2 workers, {run['seconds']:.0f} s")
    return run


@pytest.fixture(scope="session")
def postgres(artifacts):
    """``postgresql+psycopg2://postgres@127.0.0.1:PORT`` of a server of our own; stopped at the end."""
    try:
        with postgres_server() as url:
            yield url
    except FileNotFoundError as error:
        pytest.fail(str(error))
