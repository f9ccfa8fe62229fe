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

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import Boolean, Column, MetaData, String, Table, and_, delete, insert, select

__all__ = ["GRADER_FLAGS", "set_grader_flag"]

_metadata = MetaData()

#: One row per submitted notebook that ``course grade`` flagged; ``flagged_before``: the bit it found
GRADER_FLAGS = Table(
    "course_grade_flag", _metadata,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("notebook", String(128), primary_key=True),
    Column("flagged_before", Boolean, nullable=False),
)


def _rows(gb: Gradebook, assignment: str, student: str) -> dict[str, bool]:
    GRADER_FLAGS.create(gb.db.connection(), checkfirst=True)
    query = select(GRADER_FLAGS.c.notebook, GRADER_FLAGS.c.flagged_before).where(
        and_(GRADER_FLAGS.c.assignment == assignment, GRADER_FLAGS.c.student == student))
    return dict(gb.db.execute(query).all())


def set_grader_flag(gb: Gradebook, assignment: str, student: str, flagged: bool) -> None:
    """Set the grader's flag on every notebook of a submission from this run, and commit.

    ``flagged`` True: every notebook is marked flagged, and the ones the grader had not flagged yet are
    remembered with the bit they had. False: the notebooks the grader had flagged get back the bit they
    had before; the others are left as they are. Nothing happens to a submission not in the gradebook.
    """
    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        return
    ours = _rows(gb, assignment, student)
    for notebook in submission.notebooks:
        if flagged:
            if notebook.name not in ours:
                gb.db.execute(insert(GRADER_FLAGS).values(
                    assignment=assignment, student=student, notebook=notebook.name,
                    flagged_before=bool(notebook.flagged)))
            notebook.flagged = True
        elif notebook.name in ours:
            notebook.flagged = ours[notebook.name]
    if not flagged and ours:
        gb.db.execute(delete(GRADER_FLAGS).where(
            and_(GRADER_FLAGS.c.assignment == assignment, GRADER_FLAGS.c.student == student)))
    gb.db.commit()
