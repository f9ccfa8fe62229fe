"""formgrader's *flagged* mark as the grader sets it: from the last grading run, never over a person's.

nbgrader keeps one bit per submitted notebook (``SubmittedNotebook.flagged``), which formgrader shows and
which a person may set too. ``course grade`` sets it on the notebooks of a submission the run flagged
(:attr:`grader.messages.TaskResult.flagged`) and, on a later run that flags nothing, clears what it set.
To tell its mark from a person's, it keeps, in the gradebook beside nbgrader's tables, one row of
:data:`GRADER_FLAGS` per notebook it has flagged, holding whether that notebook was flagged before it
did (by a person): clearing restores that bit. So

* a notebook a person flagged stays flagged whatever the grader decides;
* a flag set by the grader goes when a regrade finds nothing;
* what cannot be told apart: a person flagging a notebook the grader had already flagged (the bit does
  not change). A clean regrade clears it, as the grader's.

:func:`set_grader_flag` is the only writer of both the table and the bit; the grader's reasons for a
flag (codes, cells) belong to the run's report, not here.
"""

from __future__ import annotations

from nbgrader.api import Assignment, Notebook, SubmittedAssignment, SubmittedNotebook
from sqlalchemy import (
    Boolean,
    Column,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

__all__ = ["GRADER_FLAGS", "create_grader_flags_table", "set_grader_flag"]

_metadata = MetaData()

#: One row per submitted notebook that ``course grade`` flagged; ``flagged_before``: the bit it found
GRADER_FLAGS = Table(
    "course_grade_flag", _metadata,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("notebook", String(128), primary_key=True),
    Column("flagged_before", Boolean, nullable=False),
)

_submitted_notebook = SubmittedNotebook.__table__


def create_grader_flags_table(connection: Connection) -> None:
    """Create :data:`GRADER_FLAGS` in the gradebook when it is not there."""
    _metadata.create_all(connection, tables=[GRADER_FLAGS], checkfirst=True)


def set_grader_flag(connection: Connection, assignment: str, student: str, flagged: bool) -> None:
    """Set the grader's flag on every notebook of a submission from this run, in the caller's transaction.

    ``flagged`` True: every notebook is marked flagged, and the ones the grader had not flagged yet are
    remembered with the bit they had. False: the notebooks the grader had flagged get back the bit they
    had before; the others are left as they are. Nothing happens to a submission not in the gradebook.
    :data:`GRADER_FLAGS` must exist (:func:`create_grader_flags_table`).
    """
    submission, assignments = SubmittedAssignment.__table__, Assignment.__table__
    notebooks = connection.execute(
        select(_submitted_notebook.c.id, Notebook.__table__.c.name, _submitted_notebook.c.flagged)
        .select_from(_submitted_notebook
                     .join(submission, submission.c.id == _submitted_notebook.c.assignment_id)
                     .join(assignments, assignments.c.id == submission.c.assignment_id)
                     .join(Notebook.__table__, Notebook.__table__.c.id == _submitted_notebook.c.notebook_id))
        .where(assignments.c.name == assignment, submission.c.student_id == student)).all()
    if not notebooks:
        return
    where = and_(GRADER_FLAGS.c.assignment == assignment, GRADER_FLAGS.c.student == student)
    ours = dict(connection.execute(select(GRADER_FLAGS.c.notebook, GRADER_FLAGS.c.flagged_before)
                                   .where(where)).all())
    bits, remembered = [], []
    for notebook in notebooks:
        if flagged:
            if notebook.name not in ours:
                remembered.append({"assignment": assignment, "student": student, "notebook": notebook.name,
                                   "flagged_before": bool(notebook.flagged)})
            bits.append({"nid": notebook.id, "bit": True})
        elif notebook.name in ours:
            bits.append({"nid": notebook.id, "bit": ours[notebook.name]})
    if remembered:
        connection.execute(insert(GRADER_FLAGS), remembered)
    if bits:
        connection.execute(update(_submitted_notebook).where(_submitted_notebook.c.id == bindparam("nid"))
                           .values(flagged=bindparam("bit")), bits)
    if not flagged and ours:
        connection.execute(delete(GRADER_FLAGS).where(where))
