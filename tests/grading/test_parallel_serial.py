"""Parallel and serial grading, SQLite and PostgreSQL, and plain nbgrader: the same gradebook.

Four submissions (a reference, a blank, a correct answer that warns on
stderr, a deleted test cell) are graded

* in parallel by the corpus run (2 workers, SQLite, alongside every attack);
* serially by ``course grade --workers 0`` (SQLite);
* by ``course grade --workers 0 --no-sandbox`` (SQLite);
* by plain ``nbgrader autograde`` (SQLite, no sandbox): the baseline;
* in parallel and serially on PostgreSQL (``--db postgresql+psycopg2://``).

Every gradebook must hold the same rows for them. After ``course grade``,
``nbgrader generate_feedback`` and ``nbgrader export`` still work.
"""

from __future__ import annotations

import csv

import pytest

from grader.instructor.gradebook import gradebook_snapshot
from tests.course_copy import nbgrader
from tests.grading import corpus
from tests.grading.conftest import copy_course, course_grade
from tests.postgres_server import create_database

STUDENTS = ["reference", "blank", "stderr-warning", "deleted-test-cell"]
ONLY = [arg for student in STUDENTS for arg in ("--student", student)]


def rows_of(url):
    snapshot = gradebook_snapshot(url)
    return {key: value for key, value in snapshot.items() if key[1] in STUDENTS}


def sqlite_url(course):
    return f"sqlite:///{course / 'gradebook.db'}"


@pytest.fixture(scope="module")
def serial_sqlite(template):
    run = course_grade(copy_course(template[0], "serial-sqlite"), corpus.ASSIGNMENT, "--workers", "0", *ONLY,
                       progress=True)
    print(f"\nserial SQLite run: {len(STUDENTS)} submissions, {run['seconds']:.0f} s")
    return run


@pytest.fixture(scope="module")
def plain_nbgrader(template):
    course = copy_course(template[0], "plain-nbgrader")
    for student in STUDENTS:
        nbgrader(course, "autograde", corpus.ASSIGNMENT, "--student", student, "--force")
    return course


def postgres_run(template, server, name, workers):
    course = copy_course(template[0], name)
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
    run = course_grade(copy_course(template[0], "no-sandbox"), corpus.ASSIGNMENT, "--workers", "0",
                       "--no-sandbox", *ONLY)
    assert run["status"] == 0, run["stderr"][-3000:]
    assert "--no-sandbox: student code runs with YOUR rights" in run["stderr"]
    assert rows_of(sqlite_url(run["course"])) == rows_of(sqlite_url(serial_sqlite["course"]))
