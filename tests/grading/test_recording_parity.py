"""What a recorder most easily gets wrong, against plain ``nbgrader autograde``: one course, graded twice.

A copy of the course gets a due date (in the gradebook, as ``nbgrader db assignment add --duedate``
sets it), late penalties (``LateSubmissionPlugin.penalty_method = "zero"``) and an extension for one
student. Every corpus submission's ``timestamp.txt`` says 2026-11-23 12:00 UTC, a day after the due
date: ``reference`` and ``deleted-test-cell`` are late, ``blank`` has two days more. Two clones of it
are graded, one by ``course grade --workers 0``, one by plain ``nbgrader autograde``, each with its
own gradebook (SQLite, then again on PostgreSQL); then, in both, a
person grades by hand (a manual score and a manual comment, through nbgrader's API, as formgrader
writes them), and both regrade with ``--force``. Then

* the gradebooks hold the same rows (:func:`grader.instructor.gradebook.gradebook_snapshot`: auto and
  manual scores, ``needs_manual_grade``, comments, timestamps, late penalties), after the first
  grading and after the regrade;
* the regrade kept the manual score and comment, and set ``needs_manual_grade`` as nbgrader does;
* ``autograded/`` holds the same files with the same modes, the same bytes but for what two executions
  of one notebook never share (:func:`_execution_independent`: timing metadata, widget model ids, the
  random ids of restored cells, where a stream's output was cut in chunks). The recorder's own files
  are compared byte for byte with nbgrader's converter on the same executed notebooks in
  ``tests/grading/test_recorder.py``.
"""

from __future__ import annotations

import datetime
import json

import pytest
from nbgrader.api import Gradebook

from grader.instructor.gradebook import gradebook_snapshot
from tests.course_copy import nbgrader
from tests.grading import corpus
from tests.grading.conftest import clone_course, course_grade
from tests.postgres_server import create_database

STUDENTS = ["reference", "blank", "deleted-test-cell"]
ONLY = [arg for student in STUDENTS for arg in ("--student", student)]
#: every ``course grade`` of this module gets these arguments too, from here alone: the test cells run in
#: the kernel, as under plain nbgrader, so that the autograded notebooks can be compared with its own
#: (the judge writes its verdicts instead of the cells' outputs; test_parallel_serial holds the judge's
#: gradebooks to nbgrader's)
EXTRA_GRADE_ARGS: tuple[str, ...] = ("--no-judge",)
DUEDATE = datetime.datetime(2026, 11, 22, 12, 0, 0)  # naive UTC, as nbgrader stores it
EXTENDED = "blank"
EXTENSION = datetime.timedelta(days=2)
MANUAL = "reference"  # graded by hand between the two gradings
LATE_PENALTIES = '\nc.LateSubmissionPlugin.penalty_method = "zero"\n'


def _rows(url) -> dict:
    return {key: value for key, value in gradebook_snapshot(url).items() if key[1] in STUDENTS}


def _autograded(course) -> dict[str, tuple[int, bytes]]:
    """{path under ``autograded/``: (mode, bytes)} of the module's students."""
    base = course / "autograded"
    return {path.relative_to(base).as_posix(): (path.stat().st_mode, path.read_bytes())
            for student in STUDENTS for path in sorted((base / student).rglob("*")) if path.is_file()}


def _execution_independent(content: bytes) -> dict:
    """An executed notebook without what two executions of it never share.

    The cells' timing metadata, the widget models' random ids, the random id nbgrader gives a cell it
    restores, and where a stream's output was cut in chunks (consecutive outputs of one stream are
    joined).
    """
    nb = json.loads(content)
    nb["metadata"].pop("widgets", None)
    for cell in nb["cells"]:
        cell.pop("id", None)
        cell["metadata"].pop("execution", None)
        joined = []
        for output in cell.get("outputs", []):
            if (output["output_type"] == "stream" and joined and joined[-1]["output_type"] == "stream"
                    and joined[-1]["name"] == output["name"]):
                joined[-1]["text"] = "".join(joined[-1]["text"]) + "".join(output["text"])
            else:
                joined.append(output)
        for output in joined:
            if output["output_type"] == "stream":
                output["text"] = "".join(output["text"])
        if "outputs" in cell:
            cell["outputs"] = joined
    return nb


def _grade_by_hand(url) -> dict:
    """A manual score on the first grade cell and a manual comment on the first comment of ``MANUAL``."""
    with Gradebook(url) as gb:
        notebook = gb.find_submission_notebook(corpus.ASSIGNMENT, corpus.ASSIGNMENT, MANUAL)
        grade, comment = notebook.grades[0], notebook.comments[0]
        grade.manual_score = grade.max_score / 2
        grade.needs_manual_grade = False  # what formgrader does when a person saves a score
        comment.manual_comment = "graded by hand"
        gb.db.commit()
        return {"grade": grade.name, "comment": comment.name, "manual_score": grade.manual_score}


def _grade_plain(course, url, *force: str) -> None:
    for student in STUDENTS:
        nbgrader(course, "autograde", corpus.ASSIGNMENT, "--student", student, f"--db={url}", *force)


def _grade_course(course, url, *force: str) -> None:
    run = course_grade(course, corpus.ASSIGNMENT, "--workers", "0", "--db", url, *ONLY, *force,
                       *EXTRA_GRADE_ARGS)
    assert run["status"] == 0, run["stdout"][-2000:] + run["stderr"][-3000:]
    assert set(run["report"]) == set(STUDENTS)


def _due_date_and_extension(url) -> None:
    with Gradebook(url) as gb:
        gb.update_or_create_assignment(corpus.ASSIGNMENT, duedate=DUEDATE)
        gb.update_or_create_student(EXTENDED)
        gb.update_or_create_submission(corpus.ASSIGNMENT, EXTENDED, extension=EXTENSION)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def graded_twice(request, template):
    server = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    courses, urls = {}, {}
    for name in ("plain", "course"):
        courses[name] = course = clone_course(template[0], f"parity-{request.param}-{name}")
        with open(course / "nbgrader_config.py", "a") as handle:
            handle.write(LATE_PENALTIES)
        urls[name] = f"sqlite:///{course / 'gradebook.db'}"
        if server is not None:
            urls[name] = create_database(server, f"parity_{name}")
            nbgrader(course, "generate_assignment", corpus.ASSIGNMENT, "--force", f"--db={urls[name]}")
        _due_date_and_extension(urls[name])
    graders = {"plain": _grade_plain, "course": _grade_course}
    first = {}
    for name, course in courses.items():
        graders[name](course, urls[name])
        first[name] = _rows(urls[name])
    by_hand = {name: _grade_by_hand(url) for name, url in urls.items()}
    for name, course in courses.items():
        graders[name](course, urls[name], "--force")
    return {"courses": courses, "first": first, "by_hand": by_hand,
            "rows": {name: _rows(url) for name, url in urls.items()}}


def test_the_first_grading_leaves_nbgrader_s_rows(graded_twice):
    first = graded_twice["first"]
    assert len(first["plain"]) > 4 * len(STUDENTS)
    assert first["course"] == first["plain"]


def test_late_and_extended_submissions_get_nbgrader_s_penalties(graded_twice):
    rows = graded_twice["rows"]
    assert rows["course"] == rows["plain"]
    penalties = {key[1]: value["late_penalty"] for key, value in rows["plain"].items()
                 if len(key) == 3}
    # the penalty method "zero" takes the whole score of a late notebook; the extended one is on time
    assert penalties[EXTENDED] is None
    assert penalties["reference"] is not None and penalties["reference"] > 0
    assert penalties["deleted-test-cell"] is not None


def test_a_regrade_keeps_the_manual_grade_as_nbgrader_does(graded_twice):
    rows, by_hand = graded_twice["rows"], graded_twice["by_hand"]["plain"]
    assert rows["course"] == rows["plain"]
    key = (corpus.ASSIGNMENT, MANUAL, corpus.ASSIGNMENT)
    auto_score, manual_score, _, needs_manual_grade = rows["plain"][key + ("grade", by_hand["grade"])]
    assert manual_score == by_hand["manual_score"]
    assert needs_manual_grade  # nbgrader asks for a review of a manual score after an autograde
    assert rows["plain"][key + ("comment", by_hand["comment"])][1] == "graded by hand"
    assert graded_twice["first"]["plain"][key + ("grade", by_hand["grade"])][3] is False


def test_the_autograded_files_are_nbgrader_s(graded_twice):
    courses = graded_twice["courses"]
    plain, ours = _autograded(courses["plain"]), _autograded(courses["course"])
    assert sorted(ours) == sorted(plain)
    assert sum(name.endswith(".ipynb") for name in plain) == len(STUDENTS)
    modes = {name: mode for name, (mode, _) in plain.items()}
    assert {name: mode for name, (mode, _) in ours.items()} == modes
    for name, (_, content) in plain.items():
        if name.endswith(".ipynb"):
            assert _execution_independent(ours[name][1]) == _execution_independent(content), name
        else:
            assert ours[name][1] == content, name
