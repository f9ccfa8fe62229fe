"""Merging graded submissions into nbgrader's gradebook in bulk: SQLAlchemy core, one transaction a batch.

What nbgrader's ``autograde`` writes in the gradebook for one submission, it writes row by row through
its ORM, committing after nearly every row. :meth:`Merger.merge_batch` writes the same rows for a whole batch
of :class:`SubmissionRows` with a few statements on one connection, inside the caller's transaction:

* the student, when missing (``Autograde.create_student``, nbgrader's default);
* the submission with its timestamp (``update_or_create_submission``): a new one gets a submitted
  notebook, a grade per grade cell and task cell and a comment per solution cell and task cell, as
  ``Gradebook.add_submission`` mirrors the assignment; an existing one keeps its rows (so a person's
  manual scores, comments, extra credit and extension) and only gets the new timestamp;
* a notebook of the assignment that was not handed in: every grade 0 and no review needed;
* a graded notebook: each grade cell's ``auto_score``, ``needs_manual_grade`` set as ``SaveAutoGrades``
  sets it (a manual score already there, or no automatic score, asks for a review), each solution
  cell's ``auto_comment`` (``"No response."`` for an untouched answer); then the late penalty as
  ``AssignLatePenalties`` computes it, from the submission's timestamp and the real gradebook's due
  date and extension, with the course's late-submission plugin.

The assignment's structure is read from the gradebook once per assignment (:class:`_Structure`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from nbgrader.api import (
    Assignment,
    BaseCell,
    Comment,
    Grade,
    GradeCell,
    Notebook,
    SolutionCell,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
    TaskCell,
    new_uuid,
)
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from grader.messages import GradedNotebook

__all__ = ["SubmissionRows", "MergedScores", "Merger"]

_assignment, _notebook, _base_cell = Assignment.__table__, Notebook.__table__, BaseCell.__table__
_grade_cell, _solution_cell, _task_cell = GradeCell.__table__, SolutionCell.__table__, TaskCell.__table__
_student, _submission = Student.__table__, SubmittedAssignment.__table__
_submitted_notebook, _grade, _comment = SubmittedNotebook.__table__, Grade.__table__, Comment.__table__

#: ``late_penalty(student, notebook score, seconds late)``: the course's late-submission plugin's answer
LatePenalty = Callable[[str, float, float], "float | None"]


@dataclass(frozen=True)
class SubmissionRows:
    """Everything one autograde of a submission writes in the gradebook.

    Attributes
    ----------
    assignment, student : str
    timestamp : datetime.datetime or None
        From the submission's ``timestamp.txt`` (naive UTC), when it has one.
    missing : tuple of str
        Notebooks of the assignment not handed in: their grades are set to 0.
    graded : tuple of GradedNotebook
        Notebooks graded, in nbgrader's order (those before a notebook nbgrader failed on).
    """

    assignment: str
    student: str
    timestamp: datetime.datetime | None
    missing: tuple[str, ...] = ()
    graded: tuple[GradedNotebook, ...] = ()


@dataclass
class MergedScores:
    """A submission's scores after the merge, as nbgrader's ``SubmittedAssignment`` computes them."""

    score: float
    max_score: float
    cells: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Structure:
    """The ids of an assignment's rows in the gradebook, read once."""

    id: str
    duedate: datetime.datetime | None
    notebooks: dict[str, str]  # name -> notebook id
    grade_cells: dict[tuple[str, str], str]  # (notebook, cell) -> cell id
    solution_cells: dict[tuple[str, str], str]
    task_cells: dict[tuple[str, str], str]
    cell_names: dict[str, str]  # cell id -> name
    max_score: float

    @classmethod
    def read(cls, connection: Connection, assignment: str) -> _Structure:
        row = connection.execute(select(_assignment.c.id, _assignment.c.duedate)
                                 .where(_assignment.c.name == assignment)).one()
        notebooks = dict(connection.execute(select(_notebook.c.name, _notebook.c.id)
                                            .where(_notebook.c.assignment_id == row.id)).all())
        names = {notebook_id: name for name, notebook_id in notebooks.items()}
        kinds, max_score = {}, 0.0
        for table in (_grade_cell, _solution_cell, _task_cell):
            columns = [_base_cell.c.id, _base_cell.c.name, _base_cell.c.notebook_id]
            if table is not _solution_cell:
                columns.append(table.c.max_score)
            query = select(*columns).select_from(table.join(_base_cell, _base_cell.c.id == table.c.id)).where(
                _base_cell.c.notebook_id.in_(list(names)))
            kinds[table.name] = {}
            for cell in connection.execute(query):
                kinds[table.name][(names[cell.notebook_id], cell.name)] = cell.id
                if table is not _solution_cell:
                    max_score += cell.max_score or 0.0
        cell_names = {cell_id: key[1] for cells in kinds.values() for key, cell_id in cells.items()}
        return cls(row.id, row.duedate, notebooks, kinds[_grade_cell.name], kinds[_solution_cell.name],
                   kinds[_task_cell.name], cell_names, max_score)


def _grade_score(grade: dict) -> float:
    """nbgrader's ``Grade.score``: the manual score over the automatic one, plus extra credit."""
    base = grade["manual_score"] if grade["manual_score"] is not None else grade["auto_score"]
    if base is None:
        return 0.0
    return base + (grade["extra_credit"] or 0.0)


class Merger:
    """:func:`merge_batch` with the structures of the assignments it has seen."""

    def __init__(self, late_penalty: LatePenalty | None):
        self.late_penalty = late_penalty
        self._structures: dict[str, _Structure] = {}

    def structure(self, connection: Connection, assignment: str) -> _Structure:
        if assignment not in self._structures:
            self._structures[assignment] = _Structure.read(connection, assignment)
        return self._structures[assignment]

    def merge_batch(self, connection: Connection, batch: list[SubmissionRows]) -> list[MergedScores]:
        """Write the rows of ``batch`` in the caller's transaction; the scores of each submission.

        One submission of a student per assignment in a batch (the engine never has two in flight).
        """
        scores: dict[tuple[str, str], MergedScores] = {}
        for assignment in dict.fromkeys(rows.assignment for rows in batch):
            scores.update(self._merge_assignment(connection, assignment,
                                                 [rows for rows in batch if rows.assignment == assignment]))
        return [scores[(rows.assignment, rows.student)] for rows in batch]

    def _merge_assignment(self, connection: Connection, assignment: str,
                          batch: list[SubmissionRows]) -> dict[tuple[str, str], MergedScores]:
        structure = self.structure(connection, assignment)
        students = [rows.student for rows in batch]
        known = set(connection.execute(select(_student.c.id).where(_student.c.id.in_(students))).scalars())
        new_students = [{"id": s} for s in dict.fromkeys(students) if s not in known]
        if new_students:
            connection.execute(insert(_student), new_students)
        submissions = {row.student_id: row for row in connection.execute(
            select(_submission.c.id, _submission.c.student_id, _submission.c.extension,
                   _submission.c.timestamp)
            .where(_submission.c.assignment_id == structure.id, _submission.c.student_id.in_(students)))}
        self._create_submissions(connection, structure,
                                 [rows for rows in batch if rows.student not in submissions])
        retimed = [{"sid": submissions[rows.student].id, "timestamp": rows.timestamp} for rows in batch
                   if rows.student in submissions and rows.timestamp is not None]
        if retimed:
            connection.execute(update(_submission).where(_submission.c.id == bindparam("sid"))
                               .values(timestamp=bindparam("timestamp")), retimed)
        ids = dict(connection.execute(select(_submission.c.student_id, _submission.c.id).where(
            _submission.c.assignment_id == structure.id, _submission.c.student_id.in_(students))).all())
        notebook_names = {notebook_id: name for name, notebook_id in structure.notebooks.items()}
        submitted = {}  # submitted notebook id -> (student, notebook name)
        by_key = {}  # (student, notebook name) -> submitted notebook id
        owners = {submission_id: student for student, submission_id in ids.items()}
        for row in connection.execute(select(_submitted_notebook.c.id, _submitted_notebook.c.assignment_id,
                                             _submitted_notebook.c.notebook_id)
                                      .where(_submitted_notebook.c.assignment_id.in_(list(owners)))):
            key = (owners[row.assignment_id], notebook_names[row.notebook_id])
            submitted[row.id], by_key[key] = key, row.id
        grades: dict[tuple[str, str], dict[str, dict]] = {}  # (student, notebook) -> cell name -> grade
        for row in connection.execute(select(_grade).where(_grade.c.notebook_id.in_(list(submitted)))):
            grades.setdefault(submitted[row.notebook_id], {})[structure.cell_names[row.cell_id]] = dict(
                row._mapping)
        comments: dict[tuple[str, str, str], str] = {}  # (student, notebook, solution cell id) -> comment id
        for row in connection.execute(select(_comment.c.id, _comment.c.notebook_id, _comment.c.cell_id)
                                      .where(_comment.c.notebook_id.in_(list(submitted)))):
            comments[submitted[row.notebook_id] + (row.cell_id,)] = row.id
        grade_updates, comment_updates, penalty_updates = [], [], []
        for rows in batch:
            for name in rows.missing:
                for grade in grades.get((rows.student, name), {}).values():
                    grade.update(auto_score=0, needs_manual_grade=False)
                    grade_updates.append(grade)
            before = submissions.get(rows.student)
            timestamp = rows.timestamp if rows.timestamp is not None or before is None else before.timestamp
            seconds_late = self._seconds_late(structure, timestamp, before.extension if before else None)
            for notebook in rows.graded:
                cells = grades.get((rows.student, notebook.name), {})
                for name, auto_score in notebook.grades.items():
                    grade = cells[name]  # nbgrader's find_grade: a grade cell it does not know fails
                    grade.update(auto_score=auto_score,
                                 needs_manual_grade=grade["manual_score"] is not None or auto_score is None)
                    grade_updates.append(grade)
                for name, text in notebook.comments.items():
                    cell_id = structure.solution_cells[(notebook.name, name)]
                    comment_updates.append({"cid": comments[(rows.student, notebook.name, cell_id)],
                                            "auto_comment": text})
                if self.late_penalty is not None:
                    score = sum(_grade_score(grade) for grade in cells.values())
                    penalty_updates.append({"nid": by_key[(rows.student, notebook.name)],
                                            "penalty": self._penalty(rows.student, score, seconds_late)})
        if grade_updates:
            connection.execute(update(_grade).where(_grade.c.id == bindparam("gid")).values(
                auto_score=bindparam("auto"), needs_manual_grade=bindparam("review")),
                [{"gid": g["id"], "auto": g["auto_score"], "review": g["needs_manual_grade"]}
                 for g in grade_updates])
        if comment_updates:
            connection.execute(update(_comment).where(_comment.c.id == bindparam("cid")).values(
                auto_comment=bindparam("auto_comment")), comment_updates)
        if penalty_updates:
            connection.execute(update(_submitted_notebook).where(_submitted_notebook.c.id == bindparam("nid"))
                               .values(late_submission_penalty=bindparam("penalty")), penalty_updates)
        scores = {}
        for rows in batch:
            cells = {f"{notebook}/{name}": _grade_score(grade)
                     for (student, notebook), by_name in grades.items() if student == rows.student
                     for name, grade in by_name.items()}
            scores[(assignment, rows.student)] = MergedScores(sum(cells.values()), structure.max_score, cells)
        return scores

    def _create_submissions(self, connection: Connection, structure: _Structure,
                            batch: list[SubmissionRows]) -> None:
        """``Gradebook.add_submission`` for each: the submission and a mirror of the assignment's cells."""
        if not batch:
            return
        submissions, notebooks, grades, comments = [], [], [], []
        for rows in {rows.student: rows for rows in batch}.values():
            submission_id = new_uuid()
            submissions.append({"id": submission_id, "assignment_id": structure.id,
                                "student_id": rows.student, "timestamp": rows.timestamp, "extension": None})
            for name, notebook_id in structure.notebooks.items():
                submitted_id = new_uuid()
                notebooks.append({"id": submitted_id, "assignment_id": submission_id,
                                  "notebook_id": notebook_id, "flagged": False,
                                  "late_submission_penalty": None})
                for (owner, _), cell_id in [*structure.grade_cells.items(), *structure.task_cells.items()]:
                    if owner == name:
                        grades.append({"id": new_uuid(), "notebook_id": submitted_id, "cell_id": cell_id,
                                       "auto_score": None, "manual_score": None, "extra_credit": None,
                                       "needs_manual_grade": True})
                for (owner, _), cell_id in [*structure.solution_cells.items(), *structure.task_cells.items()]:
                    if owner == name:
                        comments.append({"id": new_uuid(), "notebook_id": submitted_id, "cell_id": cell_id,
                                         "auto_comment": None, "manual_comment": None})
        connection.execute(insert(_submission), submissions)
        connection.execute(insert(_submitted_notebook), notebooks)
        if grades:
            connection.execute(insert(_grade), grades)
        if comments:
            connection.execute(insert(_comment), comments)

    @staticmethod
    def _seconds_late(structure: _Structure, timestamp, extension) -> float:
        """nbgrader's ``SubmittedAssignment.total_seconds_late``."""
        duedate = structure.duedate
        if duedate is not None and extension is not None:
            duedate = duedate + extension
        if timestamp is None or duedate is None:
            return 0
        return max(0, (timestamp - duedate).total_seconds())

    def _penalty(self, student: str, score: float, seconds_late: float) -> float | None:
        """``AssignLatePenalties``: None on time; the plugin's penalty, kept between 0 and the score."""
        if seconds_late <= 0:
            return None
        penalty = self.late_penalty(student, score, seconds_late)
        if penalty is None:
            return None
        return 0 if penalty < 0 else min(penalty, score)

