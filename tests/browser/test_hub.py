"""A class on the course's JupyterHub, end to end, in headless Chromium.

One assignment, an instructor and two students, each a Unix user who logs in through the hub's login
page (hub/: PAM, one JupyterLab per user, nbgrader's exchange):

1. The instructor generates and releases the assignment in formgrader.
2. Student 1 fetches it from the Assignments tab and submits it before doing anything (by mistake),
   then fills every TODO with the right answer, validates and submits again: the later submission
   counts, and the earlier one is still in the exchange.
3. The deadline passes: the instructor sets the due date in formgrader.
4. Student 2 fetches, fills the TODOs with one plausible mistake (a mutant of tests/mutants/), sees
   Validate report it, deletes a graded test cell from the notebook file, and submits after the due date.
   From their browser they try to open student 1's server and the instructor's course; from their
   account, to read student 1's work, the exchange's inbound folder and the instructor's source/.
5. The instructor collects in formgrader, grades with ``course grade`` (as root, from a terminal),
   generates and releases feedback in formgrader.
6. Each student fetches their feedback and opens it: their score, the diagnosis, no hidden test.

The gradebook must then hold: full marks for student 1, from the later submission, on time; for
student 2 the test cells the mutation harness predicts at zero, the deleted cell restored and
graded, and nbgrader's late penalty (this class's policy: zero) applied.

The whole cycle runs once, then each check below looks at what it recorded (one test). Screenshots go
to test-artifacts/browser/hub/ (COURSE_DOCS_SCREENSHOTS=1: also docs/screenshots/hub-*.png, which
docs/running-a-class.md shows).
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from tests.browser.hub import SHOTS, Hub, Person, hub_unavailable_reason, screenshot
from tests.mutation import mutants, run_entry
from tests.notebooks import (
    is_solution_cell,
    is_test_cell,
    nbgrader_meta,
    notebook_parts,
    read_notebook,
    source_path,
    without_solution_markers,
)
from tests.test_nbgrader_pipeline import _hidden_lines

ASSIGNMENT = "01_computation_graphs"  # three TODOs: the shortest notebook to fill through the editor
# What a student could type in a terminal or a notebook to read a file or list a folder.
READ = "import os, sys; p = sys.argv[1]; print(os.listdir(p) if os.path.isdir(p) else len(open(p).read()))"


def right_answers() -> dict[str, str]:
    """grade_id → the source notebook's solution cell, markers removed."""
    return {nbgrader_meta(c)["grade_id"]: without_solution_markers(c.source)
            for c in read_notebook(source_path(ASSIGNMENT)).cells if is_solution_cell(c)}


def the_mistake():
    """The first mutant that fails some test cells but not all: (entry, {grade id: reason})."""
    parts = notebook_parts(ASSIGNMENT)
    for entry in mutants(ASSIGNMENT):
        failures = run_entry(entry, parts, stop_at_first_failure=False).failures
        if failures and len(failures) < len(parts.tests):
            return entry, failures
    raise LookupError(f"no mutant of {ASSIGNMENT} fails only some test cells")


def fill_todos(person: Person, answers: dict[str, str]) -> None:
    """Paste an answer into every solution cell of the open notebook, through the editor; save."""
    cells = person.lab.cells()
    for index, cell in enumerate(cells):
        if is_solution_cell(cell):
            answer = answers[nbgrader_meta(cell)["grade_id"]]
            person.lab.paste_into_cell(index, answer)
            assert person.lab.cell_source(index) == answer, "the editor does not hold the pasted answer"
    person.save_notebook()


def text_of_html(source: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", source))


@pytest.fixture
def hub(browser):
    reason = hub_unavailable_reason()
    if reason:
        pytest.skip(f"no JupyterHub class on this machine: {reason}")
    class_hub = Hub([ASSIGNMENT])
    try:
        class_hub.prepare()
        class_hub.start()
        yield class_hub
    finally:
        class_hub.stop()


def run_the_class(hub: Hub, browser) -> dict:
    """The whole class, once; what the checks below look at, recorded on the way."""
    started = time.monotonic()
    seen: dict = {}
    mistake, reasons = the_mistake()
    predicted = set(reasons)
    seen["predicted_failures"], seen["predicted_reasons"] = predicted, reasons
    answers = right_answers()
    wrong_answers = {}
    for grade_id, answer in answers.items():  # the mutant's code follows the cell that defines its name
        defines = f"def {mistake.target}(" in answer or f"class {mistake.target}" in answer
        wrong_answers[grade_id] = answer + "\n\n" + mistake.source.strip("\n") + "\n" if defines else answer
    assert wrong_answers != answers, f"no solution cell defines {mistake.target}"

    instructor = Person(hub, browser, hub.instructor)
    student1 = Person(hub, browser, hub.students[0])
    student2 = Person(hub, browser, hub.students[1])
    people = [instructor, student1, student2]
    try:
        # 1. The instructor releases.
        instructor.log_in(shot="login")
        instructor.open_formgrader()
        instructor.formgrader_action(ASSIGNMENT, "assign")
        instructor.formgrader_action(ASSIGNMENT, "release", shot="formgrader-release")

        # 2. Student 1: a submission too early, then the right one.
        student1.log_in()
        student1.open_assignments()
        screenshot(student1.page, "assignments-fetch")
        student1.fetch(ASSIGNMENT)
        student1.submit(ASSIGNMENT)
        student1.open_fetched_notebook(ASSIGNMENT)
        fill_todos(student1, answers)
        first_todo = next(i for i, c in enumerate(student1.lab.cells()) if is_solution_cell(c))
        student1.lab.cell_element(first_todo)  # scrolled into view for the screenshot
        screenshot(student1.page, "notebook-filled")
        student1.close_notebook()
        seen["validate_right"] = student1.validate(ASSIGNMENT, shot="validate-success")
        student1.submit(ASSIGNMENT)
        seen["student1_timestamps"] = student1.submitted_timestamps(ASSIGNMENT)
        screenshot(student1.page, "submitted-twice")

        # 3. The deadline passes (set to now, rather than waited for).
        due = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 1)
        instructor.open_formgrader()
        instructor.set_due_date(ASSIGNMENT, due.strftime("%Y-%m-%dT%H:%M:%S"))
        seen["due"] = due

        # 4. Student 2: a mistake, a deleted graded cell, late; tries to read what is not theirs.
        student2.log_in()
        student2.open_assignments()
        student2.fetch(ASSIGNMENT)
        path = student2.open_fetched_notebook(ASSIGNMENT)
        fill_todos(student2, wrong_answers)
        student2.close_notebook()
        seen["validate_mistake"] = student2.validate(ASSIGNMENT, shot="validate-mistake")
        notebook = student2.contents(path)
        tests = [nbgrader_meta(c)["grade_id"] for c in notebook["content"]["cells"] if is_test_cell(c)]
        deleted = next(g for g in tests if g not in predicted)
        notebook["content"]["cells"] = [c for c in notebook["content"]["cells"]
                                        if nbgrader_meta(c).get("grade_id") != deleted]
        student2.save_contents(path, {"type": "notebook", "format": "json", "content": notebook["content"]})
        seen["deleted_cell"] = deleted
        student2.open_assignments()
        student2.submit(ASSIGNMENT)

        seen["refused_urls"] = {
            url: student2.status_of(url) for url in (
                f"{student1.server}/lab",
                f"{student1.server}/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                f"{instructor.server}/api/contents/backprop/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                f"{instructor.server}/formgrader",
            )}
        tab = student2.context.new_page()  # a second browser tab, as a curious student opens it
        tab.goto(f"{student1.server}/lab")
        screenshot(tab, "refused")
        tab.close()
        seen["own_status"] = student2.status_of(f"{student2.server}/api/contents/{ASSIGNMENT}")
        reads = {
            "student 1's notebook": hub.home(hub.students[0]) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
            "the instructor's source/": hub.course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
            "the exchange's inbound folder": hub.exchange / "backprop" / "inbound",
        }
        seen["reads_as_student2"] = {
            what: hub.python_as(hub.students[1], READ, str(target)) for what, target in reads.items()}
        seen["reads_as_instructor"] = hub.python_as(hub.instructor, READ,
                                                    str(reads["the instructor's source/"]))
        seen["inbound"] = sorted(p.name for p in (hub.exchange / "backprop" / "inbound").iterdir())

        # 5. The instructor collects, grades with `course grade`, releases feedback.
        instructor.open_formgrader()
        instructor.formgrader_action(ASSIGNMENT, "collect")
        grading_started = time.monotonic()
        seen["course_grade"] = subprocess.run(
            [str(Path(sys.executable).parent / "course"), "grade", ASSIGNMENT,
             "--no-progress", "--workers", "2"],
            cwd=hub.course, capture_output=True, text=True, timeout=1800,
            env={**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]})
        seen["grading_seconds"] = time.monotonic() - grading_started
        (SHOTS / "course-grade.txt").write_text(seen["course_grade"].stdout + seen["course_grade"].stderr)
        # course grade runs as root and hands what it wrote back to the course's owner: the
        # instructor's formgrader writes the gradebook next
        instructor.open_formgrader()
        instructor.formgrader_action(ASSIGNMENT, "generate-feedback")
        instructor.formgrader_action(ASSIGNMENT, "release-feedback")
        instructor.page.goto(f"{instructor.server}/formgrader/manage_submissions/{ASSIGNMENT}")
        instructor.page.locator("table tbody td.score", has_text=re.compile(r"\d")).first.wait_for()
        screenshot(instructor.page, "formgrader-scores")

        # 6. Each student fetches and reads their feedback.
        seen["feedback"] = {}
        for number, student in ((1, student1), (2, student2)):
            student.open_assignments()
            student.fetch_feedback(ASSIGNMENT)
            if number == 2:
                screenshot(student.page, "feedback-fetched")
            folder = next(f for f in student.contents(f"{ASSIGNMENT}/feedback")["content"]
                          if f["type"] == "directory")
            page = student.context.new_page()
            page.goto(f"{student.server}/files/{folder['path']}/{ASSIGNMENT}.html")
            page.locator("body").wait_for()
            screenshot(page, f"feedback-student{number}")
            seen["feedback"][student.user] = page.content()
            (SHOTS / f"feedback-student{number}.html").write_text(seen["feedback"][student.user])
            page.close()
    except Exception:
        for person in people:  # where each person was when the class broke down
            screenshot(person.page, f"FAILED-{person.user}")
        raise
    finally:
        for person in people:
            person.close()
    seen["seconds"] = time.monotonic() - started
    print(f"\nthe class took {seen['seconds']:.0f} s, course grade {seen.get('grading_seconds', 0):.0f} s")
    return seen


def _submission(hub, student):
    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        cells = {grade.name: (grade.score, grade.max_score)
                 for notebook in submission.notebooks for grade in notebook.grades}
        return {"score": submission.score, "max_score": submission.max_score, "cells": cells,
                "late_penalty": submission.late_submission_penalty, "timestamp": submission.timestamp}


def course_grade_grades_both_students(hub, cycle):
    result = cycle["course_grade"]
    assert result.returncode == 0, (
        f"course grade exited {result.returncode}:\n{result.stdout}\n{result.stderr}")


def validate_tells_each_student_how_they_stand(hub, cycle):
    assert "Success! Your notebook passes all the tests." in cycle["validate_right"], cycle["validate_right"]
    assert "Success!" not in cycle["validate_mistake"], "Validate passes the notebook with a mistake"


def the_later_submission_counts_and_the_earlier_is_kept(hub, cycle):
    timestamps = cycle["student1_timestamps"]
    assert len(timestamps) == 2, f"student 1's submissions: {timestamps}"
    student1 = hub.students[0]
    kept = [name for name in cycle["inbound"] if name.startswith(f"{student1}+{ASSIGNMENT}+")]
    assert len(kept) == 2, f"the exchange holds {kept} for student 1"
    graded = _submission(hub, student1)
    lost = {name: cell for name, cell in graded["cells"].items() if cell[0] != cell[1]}
    assert graded["score"] == graded["max_score"] > 0, lost
    collected = (hub.course / "submitted" / student1 / ASSIGNMENT / "timestamp.txt").read_text().strip()
    assert collected.startswith(max(timestamps)[:19]), f"collected {collected}, submitted {timestamps}"


def a_student_on_time_has_no_late_penalty(hub, cycle):
    graded = _submission(hub, hub.students[0])
    assert graded["late_penalty"] == 0
    assert graded["timestamp"] < cycle["due"].replace(tzinfo=None)


def the_mistake_costs_the_cells_the_harness_predicts_and_the_late_penalty_applies(hub, cycle):
    graded = _submission(hub, hub.students[1])
    zeroed = {name for name, (score, top) in graded["cells"].items() if score == 0 and top > 0}
    assert zeroed == cycle["predicted_failures"], f"nbgrader zeroed {zeroed}"
    raw = sum(score for score, _ in graded["cells"].values())
    assert 0 < raw < graded["max_score"]
    assert graded["timestamp"] > cycle["due"].replace(tzinfo=None)
    # nbgrader keeps the raw score and the penalty apart; the feedback shows their difference
    assert graded["score"] == raw
    assert graded["late_penalty"] == raw, "the late penalty (policy: zero) does not take the whole score"


def a_deleted_graded_cell_is_restored_graded_and_flagged(hub, cycle):
    graded = _submission(hub, hub.students[1])
    score, top = graded["cells"][cycle["deleted_cell"]]
    assert top > 0 and score == top, f"the deleted cell {cycle['deleted_cell']} scored {score}/{top}"
    summary = cycle["course_grade"].stdout
    flagged = f"{hub.students[1]} / {ASSIGNMENT}: grade-cell-deleted ({cycle['deleted_cell']}"
    assert flagged in summary, f"course grade does not flag the deleted cell for review:\n{summary[-1500:]}"
    assert f"{hub.students[0]} / {ASSIGNMENT}:" not in summary, "course grade flags student 1"


def feedback_shows_each_student_their_score_and_diagnosis_and_no_hidden_test(hub, cycle):
    hidden = _hidden_lines(ASSIGNMENT)
    assert hidden
    for student in hub.students:
        text = text_of_html(cycle["feedback"][student])
        graded = _submission(hub, student)
        final = graded["score"] - graded["late_penalty"]
        assert re.search(rf"Score:\s*{final:g}(\.0)?\s*/\s*{graded['max_score']:g}", text), (
            f"{student}'s feedback does not show the score {final}/{graded['max_score']}")
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{student}'s feedback shows hidden test lines: {leaked[:3]}"
        assert "HIDDEN TESTS" not in text
    mistaken = text_of_html(cycle["feedback"][hub.students[1]])
    for grade_id, reason in cycle["predicted_reasons"].items():
        # the error and the array it names, as the harness saw them ("AssertionError: grads['apple']");
        # the rest of the message may differ (the harness calls the tests outside a kernel)
        error, message = reason.split(": ", 1)
        diagnosis = f"{error}: {message.split()[0]}"
        assert diagnosis in mistaken, f"student 2's feedback does not say {diagnosis!r} for {grade_id}"
    assert "Late submission penalty" in mistaken, "student 2's feedback does not show the late penalty"
    assert "Late submission penalty" not in text_of_html(cycle["feedback"][hub.students[0]])


def a_student_cannot_reach_another_students_or_the_instructors_files(hub, cycle):
    allowed = {url: status for url, status in cycle["refused_urls"].items() if status < 400}
    assert not allowed, f"the hub let student 2 read: {allowed}"
    assert cycle["own_status"] == 200, "control: student 2 reads their own files"
    for what, result in cycle["reads_as_student2"].items():
        assert result.returncode != 0 and "PermissionError" in result.stderr, (
            f"student 2's account reads {what}: {result.stdout[:200]}{result.stderr[-300:]}")
    control = cycle["reads_as_instructor"]
    assert control.returncode == 0, f"control: the instructor reads their source/: {control.stderr[-300:]}"


CHECKS = [
    course_grade_grades_both_students,
    validate_tells_each_student_how_they_stand,
    the_later_submission_counts_and_the_earlier_is_kept,
    a_student_on_time_has_no_late_penalty,
    the_mistake_costs_the_cells_the_harness_predicts_and_the_late_penalty_applies,
    a_deleted_graded_cell_is_restored_graded_and_flagged,
    feedback_shows_each_student_their_score_and_diagnosis_and_no_hidden_test,
    a_student_cannot_reach_another_students_or_the_instructors_files,
]


def test_a_class_on_jupyterhub(hub, browser):
    """The cycle runs once; every check runs on it and all failures are reported together.

    One test, not one per check sharing a module fixture: pytest-xdist's groups do not hold with
    pytest 9 (the group suffix it adds to node ids is lost), and two workers each running a class
    would share the ``bp-test-*`` users.
    """
    cycle = run_the_class(hub, browser)
    failures = []
    for check in CHECKS:
        try:
            check(hub, cycle)
        except AssertionError as error:
            failures.append(f"{check.__name__}: {error}")
    assert not failures, "\n\n".join(failures)
