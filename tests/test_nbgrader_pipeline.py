"""nbgrader end to end, as an instructor runs it, in a throwaway copy of the course.

generate_assignment → submissions (a reference student, a blank student, and
students who each make one plausible mistake) → autograde →
generate_feedback → export. The in-process mutation harness predicts which
test cells each mistaken student fails; nbgrader must agree exactly.
"""

from __future__ import annotations

import csv
import html
import json
import re

import pytest
from nbgrader.api import Gradebook

from grader.nbgrader_terms import cell_error_line, grade_id, hidden_lines, is_test_cell
from tests.course_copy import (
    blank_submission,
    make_course_copy,
    nbgrader,
    reference_submission,
    submission_with,
    submit,
)
from tests.mutation import RELATION_PHRASES, exact_relations, mutants, run_entry
from tests.notebooks import (
    assignment_ids,
    notebook_parts,
    read_notebook,
    source_path,
)

ASSIGNMENTS = assignment_ids()
MISTAKES_PER_ASSIGNMENT = 2


def chosen_mistakes(assignment):
    """An exact rescaling or sign flip where the notebook has one, then the first mutant of other names."""
    relations = exact_relations(assignment)
    every = mutants(assignment)
    chosen = [e for e in every if e.label in relations][:1]
    targets = {e.target for e in chosen}
    for entry in every:
        if entry.target not in targets and len(chosen) < MISTAKES_PER_ASSIGNMENT:
            chosen.append(entry)
            targets.add(entry.target)
    return chosen


def student_id(entry) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"mistake-{entry.assignment[:2]}-{entry.target}-{entry.name}".lower())


#: (student, assignment) -> the message the harness got from the first test cell the mistake fails
first_messages: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    course = make_course_copy(tmp_path_factory.mktemp("nbgrader") / "course", ASSIGNMENTS)
    nbgrader(course, "generate_assignment", "*", "--force")
    expected_failures = {}  # (student, assignment) -> set of grade ids that must score 0
    first_messages.clear()  # (student, assignment) -> the harness's message of the first failing cell
    for assignment in ASSIGNMENTS:
        submit(course, "reference", assignment, reference_submission(course, assignment))
        submit(course, "blank", assignment, blank_submission(course, assignment))
        parts = notebook_parts(assignment)
        for entry in chosen_mistakes(assignment):
            student = student_id(entry)
            submit(course, student, assignment,
                   submission_with(course, assignment, entry.target, entry.source))
            outcome = run_entry(entry, parts, stop_at_first_failure=False)
            expected_failures[(student, assignment)] = set(outcome.failures)
            first_messages[(student, assignment)] = outcome.first_message
    nbgrader(course, "autograde", "*", "--force")
    nbgrader(course, "generate_feedback", "*", "--force")
    nbgrader(course, "export")
    return course, expected_failures


def _scores(course, assignment, student):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(assignment, student)
        cells = {
            grade.name: (grade.score, grade.max_score)
            for notebook in submission.notebooks
            for grade in notebook.grades
        }
        return submission.score, submission.max_score, cells


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_student_scores_full_marks(graded_course, assignment):
    course, _ = graded_course
    score, max_score, cells = _scores(course, assignment, "reference")
    assert max_score > 0
    assert score == max_score, {k: v for k, v in cells.items() if v[0] != v[1]}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_student_scores_zero(graded_course, assignment):
    course, _ = graded_course
    score, _, cells = _scores(course, assignment, "blank")
    assert score == 0, {k: v for k, v in cells.items() if v[0]}


def test_each_mistaken_student_loses_exactly_the_cells_the_harness_predicts(graded_course):
    course, expected_failures = graded_course
    assert expected_failures, "no mistaken students were submitted"
    for (student, assignment), predicted in expected_failures.items():
        score, max_score, cells = _scores(course, assignment, student)
        zeroed = {name for name, (s, m) in cells.items() if s == 0 and m > 0}
        assert predicted, f"{student} makes a mistake that no test cell fails"
        assert score < max_score, f"{student} kept full marks on {assignment}"
        assert zeroed == predicted, f"{student} on {assignment}: nbgrader zeroed {zeroed}"


def _hidden_lines(assignment):
    """The hidden-test lines that must reach no student (the rule of ``grader.nbgrader_terms``)."""
    return hidden_lines(read_notebook(source_path(assignment)).cells)


def _text_of_html(path):
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_shows_no_hidden_test(graded_course, assignment):
    course, expected_failures = graded_course
    hidden = _hidden_lines(assignment)
    assert hidden, f"{assignment} has no hidden tests"
    students = ["reference", "blank"] + [s for (s, a) in expected_failures if a == assignment]
    autograded = (course / "autograded" / "reference" / assignment / f"{assignment}.ipynb").read_text()
    assert any(line.replace('"', '\\"') in autograded for line in hidden), (
        "control: the autograded notebook should still hold the hidden tests"
    )
    for student in students:
        text = _text_of_html(course / "feedback" / student / assignment / f"{assignment}.html")
        # a line the student wrote in their own submission is theirs, not a leak
        own = (course / "submitted" / student / assignment / f"{assignment}.ipynb").read_text()
        leaked = [line for line in hidden if line in text and json.dumps(line)[1:-1] not in own]
        assert not leaked, f"feedback of {student} shows hidden test lines: {leaked[:3]}"
        assert "HIDDEN TESTS" not in text


def test_feedback_tells_a_mistaken_student_what_failed(graded_course):
    """The feedback shows, whole, the message of every test cell the mistake fails, as nbgrader's executed
    notebook holds it; the first one says what the harness saw (up to details only a kernel knows, such
    as the line of a warning)."""
    course, expected_failures = graded_course
    for (student, assignment), failing in expected_failures.items():
        feedback = course / "feedback" / student / assignment / f"{assignment}.html"
        text = " ".join(_text_of_html(feedback).split())
        hidden = _hidden_lines(assignment)
        executed = read_notebook(course / "autograded" / student / assignment / f"{assignment}.ipynb")
        messages = {grade_id(cell): cell_error_line(cell, hidden)
                    for cell in executed.cells if is_test_cell(cell)}
        for cell in failing:
            message = messages[cell]
            assert message and len(message.partition(": ")[2]) > 20, f"{student}: {cell} has no message"
            assert message in text, f"feedback of {student} does not say {message!r}"
        first_clause = re.split(r"[,.] ", first_messages[(student, assignment)])[0]
        assert first_clause in text, f"feedback of {student} does not say {first_clause!r}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_names_an_exact_relation(graded_course, assignment):
    """The diagnosis a student reads in the notebook reaches nbgrader's feedback unchanged."""
    course, _ = graded_course
    relations = exact_relations(assignment)
    entries = [e for e in chosen_mistakes(assignment) if e.label in relations]
    if not entries:
        pytest.skip(f"{assignment} has no exact-relation mutant")
    entry = entries[0]
    text = _text_of_html(course / "feedback" / student_id(entry) / assignment / f"{assignment}.html")
    phrase = RELATION_PHRASES[relations[entry.label]]
    assert phrase in text, f"the feedback of {entry.label} does not say {phrase!r}"


def test_export_lists_every_student_and_assignment(graded_course):
    course, expected_failures = graded_course
    with open(course / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    exported = {(row["student_id"], row["assignment"]) for row in rows}
    students = {"reference", "blank"} | {s for (s, _) in expected_failures}
    missing = {(s, a) for s in students for a in ASSIGNMENTS} - exported
    assert not missing, f"grades.csv lacks {sorted(missing)[:5]}"

