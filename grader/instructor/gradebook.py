"""Moving an assignment's structure between gradebooks, and reading scores back.

A worker grades in a scratch course whose SQLite gradebook holds only what
``nbgrader autograde`` needs to sanitize a submission: the assignment, its
notebooks, grade, solution, task and source cells (the source cells hold
the hidden tests that ``OverwriteCells`` puts back). The real gradebook,
SQLite or PostgreSQL, is only ever written by the process that runs
``course grade``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from grader.nbgrader_terms import nbgrader_environment
from grader.structure import AssignmentStructure, GradedCell, NotebookStructure, SourceCell

__all__ = ["empty_gradebook", "read_structure", "export_structure", "write_template", "submission_scores",
           "gradebook_snapshot"]


def empty_gradebook(course_id: str) -> bytes:
    """The bytes of a new SQLite gradebook with nbgrader's tables and no assignment.

    Creating a gradebook runs ``alembic heads`` in a subprocess (about 3 s);
    a copy of an existing one does not, so :func:`write_template` starts
    from these bytes. nbgrader starts ``alembic`` by name, so this
    interpreter's ``bin/`` goes first on PATH meanwhile: ``.venv/bin/course``
    and the benchmarks work with an environment that was not activated.
    """
    path_before = os.environ.get("PATH")
    os.environ["PATH"] = nbgrader_environment()["PATH"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "gradebook.db"
            with Gradebook(f"sqlite:///{path}", course_id or "default_course"):
                pass
            return path.read_bytes()
    finally:
        if path_before is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = path_before


def read_structure(gb: Gradebook, assignment: str) -> AssignmentStructure:
    """The structure of ``assignment`` in the open gradebook ``gb``.

    Raises
    ------
    LookupError
        When the gradebook does not know the assignment (run
        ``nbgrader generate_assignment`` first).
    """
    try:
        found = gb.find_assignment(assignment)
    except MissingEntry:
        raise LookupError(
            f"the gradebook has no assignment {assignment!r}: run `nbgrader generate_assignment "
            f"{assignment}` first"
        ) from None
    return AssignmentStructure(
        assignment=assignment,
        duedate=found.duedate,
        notebooks=tuple(
            NotebookStructure(
                name=notebook.name,
                grade_cells=tuple(GradedCell(c.name, c.max_score, c.cell_type) for c in notebook.grade_cells),
                solution_cells=tuple(c.name for c in notebook.solution_cells),
                task_cells=tuple(GradedCell(c.name, c.max_score, c.cell_type) for c in notebook.task_cells),
                source_cells=tuple(SourceCell(c.name, c.cell_type, c.locked, c.source, c.checksum)
                                   for c in notebook.source_cells),
            )
            for notebook in found.notebooks
        ),
    )


def export_structure(db_url: str, assignment: str) -> AssignmentStructure:
    """:func:`read_structure` of the gradebook at ``db_url``."""
    with Gradebook(db_url) as gb:
        return read_structure(gb, assignment)


def write_template(structure: AssignmentStructure, path: Path, course_id: str,
                   empty: bytes | None = None) -> None:
    """Create a SQLite gradebook at ``path`` holding ``structure`` and nothing else.

    ``empty``, from :func:`empty_gradebook` with the same ``course_id``, is
    copied to ``path`` first, which spares nbgrader's ``alembic`` subprocess.
    """
    assignment = structure.assignment
    if empty is not None:
        Path(path).write_bytes(empty)
    with Gradebook(f"sqlite:///{path}", course_id or "default_course") as gb:
        gb.update_or_create_assignment(assignment, duedate=structure.duedate)
        for notebook in structure.notebooks:
            name = notebook.name
            gb.update_or_create_notebook(name, assignment)
            for cell in notebook.grade_cells:
                gb.update_or_create_grade_cell(cell.name, name, assignment,
                                               max_score=cell.max_score, cell_type=cell.cell_type)
            for cell_name in notebook.solution_cells:
                gb.update_or_create_solution_cell(cell_name, name, assignment)
            for cell in notebook.task_cells:
                gb.update_or_create_task_cell(cell.name, name, assignment,
                                              max_score=cell.max_score, cell_type=cell.cell_type)
            for cell in notebook.source_cells:
                gb.update_or_create_source_cell(cell.name, name, assignment, cell_type=cell.cell_type,
                                                locked=cell.locked, source=cell.source,
                                                checksum=cell.checksum)


def submission_scores(db_url: str, assignment: str, student: str) -> dict | None:
    """Score, max score and per-cell scores of one submission, or None if ungraded."""
    with Gradebook(db_url) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        cells = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                cells[f"{notebook.name}/{grade.name}"] = grade.score
        return {"score": submission.score, "max_score": submission.max_score, "cells": cells,
                "needs_manual_grade": submission.needs_manual_grade}


def gradebook_snapshot(db_url: str) -> dict:
    """Everything autograde records, for comparing two gradebooks.

    Keys are ``(assignment, student, notebook, cell)``; values are the
    grade's auto score, manual score, extra credit, needs_manual_grade and
    the comment's auto comment; submission-level rows hold the timestamp and
    the notebooks' late penalties.
    """
    rows = {}
    with Gradebook(db_url) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                key = (assignment.name, submission.student.id)
                rows[key] = {"timestamp": str(submission.timestamp)}
                for notebook in submission.notebooks:
                    rows[key + (notebook.name,)] = {"late_penalty": notebook.late_submission_penalty}
                    for grade in notebook.grades:
                        rows[key + (notebook.name, "grade", grade.name)] = (
                            grade.auto_score, grade.manual_score, grade.extra_credit,
                            grade.needs_manual_grade)
                    for comment in notebook.comments:
                        rows[key + (notebook.name, "comment", comment.name)] = (
                            comment.auto_comment, comment.manual_comment)
    return rows
