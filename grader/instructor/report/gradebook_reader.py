"""What the report reads from nbgrader's gradebook (SQLite or PostgreSQL).

Everything comes through nbgrader's own ``nbgrader.api`` models: scores of
every graded cell of every submission, the *flagged* mark, and the
assignment's source cells. Those source cells are the release version of
each cell as ``nbgrader generate_assignment`` recorded it: the given code of
every solution cell (signature, docstring, ``raise NotImplementedError()``)
and the full code of every test cell, hidden tests included. The report uses
the first to subtract what everybody was given, the second only to make sure
no hidden line ever reaches the report.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from nbgrader.api import (
    Assignment,
    Grade,
    Gradebook,
    GradeCell,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
)
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from grader.instructor.report.models import CellScore, GradebookSubmission

__all__ = ["open_gradebook", "matching_assignments", "read_submissions"]


def open_gradebook(db_url: str, course_id: str) -> Gradebook:
    """nbgrader's gradebook at ``db_url``; never creates one (a report only reads).

    Raises
    ------
    LookupError
        When ``db_url`` holds no gradebook.
    """
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        raise LookupError(f"no nbgrader gradebook at {db_url}")  # connecting would create an empty file
    engine = create_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if "submitted_assignment" not in tables:
        raise LookupError(f"no nbgrader gradebook at {db_url}")
    return Gradebook(db_url, course_id or "default_course")


def matching_assignments(gb: Gradebook, patterns: list[str]) -> list[str]:
    """Assignment names of the gradebook that match any of the glob ``patterns``, sorted."""
    names = [a.name for a in gb.assignments]
    return sorted({n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)})


def read_submissions(gb: Gradebook, assignment: str, root: Path) -> list[GradebookSubmission]:
    """Every submission of ``assignment`` with its per-cell scores, in one query.

    ``root`` is the course root: a submission counts as graded only if
    nbgrader also wrote ``autograded/<student>/<assignment>/`` (it removes the
    folder of a submission it failed to grade).
    """
    rows = (
        gb.db.query(Student.id, GradeCell.name, Grade.score, GradeCell.max_score, Grade.auto_score,
                    Grade.manual_score, SubmittedNotebook.flagged)
        .join(SubmittedAssignment, SubmittedAssignment.student_id == Student.id)
        .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
        .join(SubmittedNotebook, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
        .join(Grade, Grade.notebook_id == SubmittedNotebook.id)
        .join(GradeCell, Grade.cell_id == GradeCell.id)
        .filter(Assignment.name == assignment)
        .order_by(Student.id)
        .all()
    )
    by_student: dict[str, GradebookSubmission] = {}
    for student, cell, score, max_score, auto_score, manual_score, flagged in rows:
        submission = by_student.get(student)
        if submission is None:
            folder = root / "autograded" / student / assignment
            submission = by_student[student] = GradebookSubmission(
                student, assignment, 0.0, 0.0, [], False,
                has_autograded_notebook=any(folder.glob("*.ipynb")))
        scored = auto_score is not None or manual_score is not None
        submission.cells.append(CellScore(cell, float(score or 0.0), float(max_score), scored))
        submission.score += float(score or 0.0)
        submission.max_score += float(max_score)
        submission.flagged = submission.flagged or bool(flagged)
    return list(by_student.values())
