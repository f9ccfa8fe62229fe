"""Moving an assignment's structure between gradebooks, and reading scores back.

A worker grades in a scratch course whose SQLite gradebook holds only what
``nbgrader autograde`` needs to sanitize a submission: the assignment, its
notebooks, grade, solution, task and source cells (the source cells hold
the hidden tests that ``OverwriteCells`` puts back). The real gradebook,
SQLite or PostgreSQL, is only ever written by the process that runs
``course grade``.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbgrader.api
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import scoped_session, sessionmaker

from grader.structure import AssignmentStructure, GradedCell, NotebookStructure, SourceCell

__all__ = ["empty_gradebook", "read_structure", "export_structure", "write_template", "submission_scores",
           "gradebook_snapshot", "SharedGradebook"]


def empty_gradebook(course_id: str) -> bytes:
    """The bytes of a new SQLite gradebook with nbgrader's tables and no assignment.

    Creating a gradebook runs ``alembic heads`` in a subprocess (about 3 s);
    a copy of an existing one does not, so :func:`write_template` starts
    from these bytes.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gradebook.db"
        with Gradebook(f"sqlite:///{path}", course_id or "default_course"):
            pass
        return path.read_bytes()


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


class _JoinedGradebook(nbgrader.api.Gradebook):
    """nbgrader's ``Gradebook`` on the open transaction of a :class:`SharedGradebook`, when its URL matches.

    Its session joins that transaction with ``create_savepoint``: nbgrader's ``commit()`` releases a
    savepoint and ``close()`` rolls back what was not committed, as they do on a connection of their
    own, but nothing reaches the disk until the :class:`SharedGradebook` commits. The schema is known
    to exist, so nbgrader's per-instance table check (``create_all``) is skipped; ``check_course`` is
    kept (it creates the course row nbgrader expects). Any other URL gets nbgrader's own ``Gradebook``.
    """

    shared: SharedGradebook | None = None

    def __init__(self, db_url: str, course_id: str = "default_course", authenticator=None):
        shared = type(self).shared
        self._joined = shared is not None and shared.connection is not None and db_url == shared.db_url
        if not self._joined:
            super().__init__(db_url, course_id, authenticator)
            return
        self.engine = shared.engine
        self.db = scoped_session(sessionmaker(bind=shared.connection, autoflush=True,
                                              join_transaction_mode="create_savepoint"))
        self.check_course(course_id=course_id)
        self.course_id = course_id
        self.authenticator = authenticator

    def close(self) -> None:
        if self._joined:
            self.db.remove()
        else:
            super().close()


class SharedGradebook:
    """One engine for every nbgrader ``Gradebook`` this process opens on ``db_url``; one transaction a batch.

    nbgrader's autograde opens about ten ``Gradebook`` objects per submission, each with a new SQLAlchemy
    engine (so every SQL statement is compiled again), a check of every table, and a commit after
    nearly every row (33 commits per submission of notebook 01, each an ``fsync`` on SQLite). In one
    profiled run (``benchmarks/recorder_speed.py --profile``, 30 results, on a busy machine) recording
    took 35 s without this class and 7 s with it, in batches of 10. Within :meth:`transaction`, the
    ``Gradebook`` name of every loaded nbgrader (and grader) module is :class:`_JoinedGradebook`, so all
    of them share this engine, its compiled statements and one transaction, committed once at the end.
    nbgrader's code and SQL are unchanged: the rows are the same (tested against one transaction per
    submission on SQLite and PostgreSQL).

    Parameters
    ----------
    db_url : str
        The gradebook; it must exist with nbgrader's tables (``nbgrader generate_assignment`` made it).
    """

    def __init__(self, db_url: str):
        self.db_url = db_url
        self.engine: Engine = create_engine(db_url, future=True)
        self.connection: Connection | None = None
        sqlite = self.engine.dialect.name == "sqlite"
        if sqlite:
            _sqlite_savepoints(self.engine)
        #: Results recorded per transaction. SQLite: a whole batch, one ``fsync``. Other servers: one
        #: (the shared engine still spares the rest): each result opens some 30 savepoints, and on
        #: PostgreSQL a transaction of 16 results recorded slower than 16 transactions in
        #: ``benchmarks/recorder_speed.py`` (PostgreSQL caches only 64 subtransactions per transaction).
        self.results_per_transaction = 1_000_000 if sqlite else 1

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Join every ``Gradebook`` on ``db_url`` opened inside to one transaction, committed on exit.

        Rolled back, and the error raised, when the block raises or the commit fails.
        """
        if _JoinedGradebook.shared is not None:
            raise RuntimeError("one shared gradebook transaction at a time")
        patched = _patch_gradebook_names(_JoinedGradebook)
        _JoinedGradebook.shared = self
        try:
            with self.engine.connect() as connection:
                self.connection = connection
                with connection.begin():
                    yield
        finally:
            self.connection = None
            _JoinedGradebook.shared = None
            _patch_gradebook_names(nbgrader.api.Gradebook, patched)

    def close(self) -> None:
        self.engine.dispose()


def _patch_gradebook_names(cls: type, modules: list | None = None) -> list:
    """Bind the name ``Gradebook`` to ``cls`` in ``modules`` (default: every loaded module of nbgrader or
    of the grader that imported nbgrader's ``Gradebook`` by name: they call it as a global).

    Reads nbgrader's class from ``nbgrader.api``, never patched, because this module's own name
    ``Gradebook`` is among those patched.
    """
    if modules is None:
        modules = [module for name, module in list(sys.modules.items())
                   if name.split(".")[0] in ("nbgrader", "grader") and module is not nbgrader.api
                   and getattr(module, "Gradebook", None) is nbgrader.api.Gradebook]
    for module in modules:
        module.Gradebook = cls
    return modules


def _sqlite_savepoints(engine: Engine) -> None:
    """Let SQLAlchemy, not the ``sqlite3`` module, begin transactions, so that SAVEPOINT works.

    The ``sqlite3`` module begins transactions on its own (before the first write) and so breaks
    SAVEPOINT; this is SQLAlchemy's documented remedy ("Serializable isolation / Savepoints /
    Transactional DDL" in its SQLite dialect notes).
    """

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _explicit_begin(connection):
        connection.exec_driver_sql("BEGIN")
