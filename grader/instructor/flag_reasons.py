"""Why ``course grade`` flagged a submission, kept in the gradebook's database beside nbgrader's tables.

nbgrader's gradebook has a *flagged* mark per notebook but no place for a reason, and its comments belong
to the graders. So the grader keeps a table of its own, :data:`FLAG_REASONS`, in the same database
(SQLite or PostgreSQL): one row per flag of each submission's latest grading. Recording a submission
replaces its rows (:func:`replace_flag_reasons`), in the same transaction as its grades, so the table
always holds what the latest run found, and nothing for a submission it found clean; ``course report``
reads them (:func:`read_flag_reasons`) and needs no grading log to say why a submission is flagged.

Whether a *flagged* mark in the gradebook is the grader's (and may be cleared by a regrade that finds
nothing) or a person's (and stays) is for the recorder to decide: :func:`replace_flag_reasons` returns
the flags the previous run had stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, delete, insert, inspect, select
from sqlalchemy.engine import Connection

from grader.messages import Flag, TaskResult

__all__ = ["FLAG_REASONS", "RUNTIME_CHANGE", "flags_of", "create_flag_reasons_table", "replace_flag_reasons",
           "read_flag_reasons"]

_metadata = MetaData()

#: The grader's table (nbgrader's own tables are untouched): one row per flag of a submission.
FLAG_REASONS = Table(
    "course_grade_flag_reason", _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assignment", String(128), nullable=False),
    Column("student", String(128), nullable=False),
    Column("code", String(64), nullable=False),
    Column("notebook", String(128), nullable=False),
    Column("cell", String(128), nullable=False),
    Column("line", Integer, nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_course_grade_flag_reason_submission", "assignment", "student"),
)

#: The code of a flag that stands for a watched name the probe found changed after the last cell.
RUNTIME_CHANGE = "changed-at-run-time"


def flags_of(result: TaskResult) -> list[Flag]:
    """Every reason ``result`` is flagged: its static flags, then one per name the probe saw changed."""
    return list(result.flags) + [Flag(RUNTIME_CHANGE, detail=name) for name in result.probe.changed]


def create_flag_reasons_table(connection: Connection) -> None:
    """Create the table if the database lacks it (nbgrader's tables are not touched)."""
    _metadata.create_all(connection, tables=[FLAG_REASONS], checkfirst=True)


def _row_flag(row) -> Flag:
    return Flag(code=row.code, notebook=row.notebook, cell=row.cell, line=row.line, detail=row.detail)


def replace_flag_reasons(connection: Connection, assignment: str, student: str,
                         flags: Iterable[Flag]) -> list[Flag]:
    """Store ``flags`` as the submission's reasons, in place of those of its previous grading.

    Runs in the caller's transaction on ``connection``. Returns the flags stored before.
    """
    where = (FLAG_REASONS.c.assignment == assignment) & (FLAG_REASONS.c.student == student)
    previous = [_row_flag(row) for row in connection.execute(
        select(FLAG_REASONS).where(where).order_by(FLAG_REASONS.c.id))]
    connection.execute(delete(FLAG_REASONS).where(where))
    rows = [{"assignment": assignment, "student": student, "code": flag.code, "notebook": flag.notebook,
             "cell": flag.cell, "line": int(flag.line), "detail": flag.detail} for flag in flags]
    if rows:
        connection.execute(insert(FLAG_REASONS), rows)
    return previous


def read_flag_reasons(connection: Connection,
                      assignments: Iterable[str]) -> dict[tuple[str, str], list[Flag]]:
    """``(student, assignment)`` -> the stored flags, for ``assignments``; empty when the table is absent
    (a gradebook that ``course grade`` never recorded into)."""
    if not inspect(connection).has_table(FLAG_REASONS.name):
        return {}
    found: dict[tuple[str, str], list[Flag]] = {}
    query = (select(FLAG_REASONS).where(FLAG_REASONS.c.assignment.in_(list(assignments)))
             .order_by(FLAG_REASONS.c.id))
    for row in connection.execute(query):
        found.setdefault((row.student, row.assignment), []).append(_row_flag(row))
    return found
