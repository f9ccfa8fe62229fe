"""Recording graded submissions into the real gradebook, from one place.

Workers never touch the course's gradebook. The process that runs
``course grade`` records every result by running nbgrader's own
``Autograde`` converter on the real course (through
``NbGraderAPI.autograde``, the call formgrader makes) with nbgrader's
``Execute`` replaced by :class:`ReplayExecute`, the recorder's half of the
pipe whose worker half is :class:`grader.worker.execute.SandboxExecute`.
So the gradebook rows, the ``autograded/`` folder and the handling of
missing, misnamed, crashed or late notebooks are nbgrader's, and there is
a single writer: no SQLite lock contention between graders, and the same
code path for SQLite and PostgreSQL. Results that arrive together are
recorded one after the other in one gradebook transaction
(:meth:`Recorder.record_batch`, :class:`grader.instructor.gradebook.SharedGradebook`). Each
submission's flag reasons go into the grader's own table in the same transaction
(:mod:`grader.instructor.flag_reasons`).

A submission's ``autograded/`` folder appears only once its grades are committed: nbgrader writes it
under :data:`STAGING` (the recorder's ``autograded_directory``), and :meth:`Recorder.record_batch` moves
it in place after the commit, or deletes it when the transaction fails. So a run stopped at any point,
even by SIGKILL, leaves no ``autograded/`` folder whose grades were not recorded, and the rule that
skips what is already graded (:func:`grader.instructor.plan.graded_before`, nbgrader's) can trust it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import jsonschema
import nbformat
import nbgrader.nbgraderformat.common
from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from sqlalchemy import create_engine
from sqlalchemy.exc import SAWarning
from traitlets import Unicode
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from grader.instructor.flag_marks import set_grader_flag
from grader.instructor.flag_reasons import create_flag_reasons_table, flags_of, replace_flag_reasons
from grader.instructor.gradebook import SharedGradebook, submission_scores
from grader.messages import TaskResult

__all__ = ["load_course_config", "Recorder", "default_db_url", "ReplayExecute", "ReplayMissing", "STAGING"]

#: Where nbgrader writes a submission's autograded folder, under the course root, until its grades are
#: committed; what a killed run left there was never committed, and the next recorder deletes it.
STAGING = ".course-grade-recording"


class ReplayMissing(RuntimeError):
    """The worker did not return an executed notebook (crash, timeout...)."""


class ReplayExecute(NbGraderPreprocessor):
    """Return the notebook a worker executed instead of executing it here.

    ``snapshot_root/<assignment>/<student>/<notebook>.ipynb`` holds the
    executed notebook; ``<notebook>.error`` holds why there is none. The
    executed notebook must hold the same cells as the sanitized notebook
    given here (same count, types and sources), or the replay fails.
    """

    snapshot_root = Unicode("", help="folder of the executed notebooks").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        folder = os.path.join(self.snapshot_root, info["assignment"], info["student"])
        path = os.path.join(folder, info["notebook"] + ".ipynb")
        if not os.path.exists(path):
            reason = "no executed notebook came back from the worker"
            error_path = os.path.join(folder, info["notebook"] + ".error")
            if os.path.exists(error_path):
                with open(error_path) as handle:
                    reason = handle.read().strip() or reason
            raise ReplayMissing(reason)
        executed = nbformat.read(path, as_version=4)
        if len(executed.cells) != len(nb.cells) or any(
            a.cell_type != b.cell_type or a.source != b.source for a, b in zip(executed.cells, nb.cells)
        ):
            raise ReplayMissing("the executed notebook does not match the sanitized submission")
        return executed, resources


class _SchemaChecker:
    """``jsonschema.validate`` for nbgrader's cell-metadata check, each schema checked and compiled once.

    nbgrader's ``CheckCellMetadata`` calls ``jsonschema.validate(metadata, schema)`` for every graded
    cell, twice per notebook; each call first checks the schema itself against its meta-schema and
    builds a validator: 23 % of the recording time in ``benchmarks/recorder_speed.py --profile``. This
    keeps one validator per schema (nbgrader's schemas are files it ships) and reports the same error
    (``best_match`` of the same validator's errors, as ``jsonschema.validate`` does).
    """

    def __init__(self):
        self._validators: dict[str, object] = {}

    def validate(self, instance, schema) -> None:
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[key] = cls(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name):  # the rest of jsonschema, unchanged
        return getattr(jsonschema, name)

    @contextlib.contextmanager
    def in_nbgrader(self):
        """nbgrader's metadata check uses this object as its ``jsonschema`` while the block runs."""
        module = nbgrader.nbgraderformat.common
        original, module.jsonschema = module.jsonschema, self
        try:
            yield
        finally:
            module.jsonschema = original


def load_course_config(root: Path) -> Config:
    """The course's ``nbgrader_config.py`` (as nbgrader loads it from the course root)."""
    config = Config()
    path = root / "nbgrader_config.py"
    if path.exists():
        config.merge(PyFileConfigLoader(path.name, path=str(root)).load_config())
    config.CourseDirectory.root = str(root)
    return config


def default_db_url(root: Path, config: Config) -> str:
    url = config.CourseDirectory.get("db_url") if "CourseDirectory" in config else None
    return url or f"sqlite:///{root / 'gradebook.db'}"


class Recorder:
    """Record worker results into the course's gradebook with nbgrader's own code.

    Parameters
    ----------
    root : Path
        The course root.
    db_url : str, optional
        The gradebook (default: the course's, ``sqlite:///<root>/gradebook.db``).
    shared : bool
        Share one engine and one transaction per batch between nbgrader's gradebooks
        (:class:`~grader.instructor.gradebook.SharedGradebook`) and one compiled schema between its
        metadata checks (:class:`_SchemaChecker`); False leaves nbgrader to do both its own way, as plain
        ``nbgrader autograde`` does (the benchmark's and the tests' yardstick).
    """

    def __init__(self, root: Path, db_url: str | None = None, shared: bool = True):
        self.root = Path(root).resolve()
        config = load_course_config(self.root)
        self.course_id = config.CourseDirectory.get("course_id", "") if "CourseDirectory" in config else ""
        self.db_url = db_url or default_db_url(self.root, config)
        config.CourseDirectory.db_url = self.db_url
        self.coursedir = CourseDirectory(config=config)  # the course's real folders
        shutil.rmtree(self.root / STAGING, ignore_errors=True)
        config.CourseDirectory.autograded_directory = STAGING
        preprocessors = list(config.Autograde.get("autograde_preprocessors", Autograde.autograde_preprocessors
                                                  .default_value))
        replaced = [ReplayExecute if (isinstance(p, type) and issubclass(p, Execute)) else p
                    for p in preprocessors]
        if ReplayExecute not in replaced:
            replaced.insert(0, ReplayExecute)
        config.Autograde.autograde_preprocessors = replaced
        self.snapshots = Path(tempfile.mkdtemp(prefix="course-grade-replay-"))
        config.ReplayExecute.snapshot_root = str(self.snapshots)
        config.NbGraderAPI.log_level = "ERROR"
        self.api = NbGraderAPI(config=config)
        self.api.log.setLevel(logging.ERROR)
        self.gradebook = SharedGradebook(self.db_url) if shared else None
        self.schemas = _SchemaChecker() if shared else None
        # the grader's own table of flag reasons, beside nbgrader's (grader.instructor.flag_reasons)
        self._engine = self.gradebook.engine if shared else create_engine(self.db_url, future=True)
        with self._engine.begin() as connection:
            create_flag_reasons_table(connection)

    def close(self) -> None:
        shutil.rmtree(self.snapshots, ignore_errors=True)
        shutil.rmtree(self.root / STAGING, ignore_errors=True)
        if self.gradebook is not None:
            self.gradebook.close()
        else:
            self._engine.dispose()

    def record(self, result: TaskResult) -> None:
        """Record one worker result (see :meth:`record_batch`)."""
        self.record_batch([result])

    def record_batch(self, results: list[TaskResult]) -> None:
        """Record worker results, in one gradebook transaction on SQLite; fill ``recorded``, ``score``...

        Each result is recorded as :meth:`NbGraderAPI.autograde` records it alone; the transaction
        (:meth:`grader.instructor.gradebook.SharedGradebook.transaction`) only spares a commit per row
        (on other servers each result has its own: see ``SharedGradebook.results_per_transaction``).
        Never raises: a result that cannot be recorded is reported (``record_error``), never allowed to
        stop the batch; when the transaction itself fails, every result of the batch says so.
        """
        if self.gradebook is None:
            for result in results:
                self._record_one(result)
                self._publish(result)
            return
        size = self.gradebook.results_per_transaction
        for start in range(0, len(results), size):
            together = results[start:start + size]
            try:
                with self.schemas.in_nbgrader(), self.gradebook.transaction():
                    for result in together:
                        self._record_one(result)
            except Exception as error:  # noqa: BLE001 - the commit failed: nothing of these was kept
                for result in together:
                    shutil.rmtree(self._staged(result), ignore_errors=True)
                    result.recorded, result.score, result.max_score, result.cells = False, None, None, {}
                    result.record_error = (f"the gradebook transaction failed: {type(error).__name__}: "
                                           f"{error}")[-1500:]
            else:
                for result in together:
                    self._publish(result)

    def _staged(self, result: TaskResult) -> Path:
        return Path(self.api.coursedir.format_path(STAGING, result.student, result.assignment))

    def _publish(self, result: TaskResult) -> None:
        """After the commit: the staged autograded folder replaces the submission's in ``autograded/``.

        When nbgrader left none (it deletes the folder of a submission it failed to grade), the old one
        is deleted, as ``nbgrader autograde --force`` deletes it.
        """
        staged = self._staged(result)
        final = Path(self.coursedir.format_path(self.coursedir.autograded_directory, result.student,
                                                result.assignment))
        replaced = self.root / STAGING / f".replaced-{uuid.uuid4().hex}"
        if final.exists():
            replaced.parent.mkdir(exist_ok=True)
            os.rename(final, replaced)
        if staged.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staged, final)
        shutil.rmtree(replaced, ignore_errors=True)

    def _record_one(self, result: TaskResult) -> None:
        started = time.perf_counter()
        try:
            outcome = self._autograde(result)
            # nbgrader's API answers {"success": bool, "log": str} and adds "error" only on failure
            result.recorded = bool(outcome["success"])
            result.record_error = "" if result.recorded else str(outcome.get("error", ""))[-1500:]
        except Exception as error:  # noqa: BLE001
            result.recorded = False
            result.record_error = f"recording failed: {type(error).__name__}: {error}"[-1500:]
        try:
            scores = submission_scores(self.db_url, result.assignment, result.student)
        except Exception:  # noqa: BLE001 - no scores to show; the recording outcome says why
            scores = None
        if scores is not None:
            result.score, result.max_score = scores["score"], scores["max_score"]
            result.cells = scores["cells"]
        result.phases["recording"] = time.perf_counter() - started

    def _autograde(self, result: TaskResult) -> dict:
        """Run nbgrader's autograde on the real course, replaying the worker's executed notebooks."""
        assignment, student = result.assignment, result.student
        folder = self.snapshots / assignment / student
        folder.mkdir(parents=True, exist_ok=True)
        try:
            for name, content in result.notebooks.items():
                # validate before nbgrader sees it: a worker's answer is data, not trusted; the bytes
                # themselves are written (ReplayExecute reads them as nbformat does: the same notebook)
                nbformat.reads(content.decode("utf-8"), as_version=4)
                (folder / f"{name}.ipynb").write_bytes(content)
            for name, reason in result.errors.items():
                (folder / f"{name}.error").write_text(reason)
            with warnings.catch_warnings():
                # nbgrader's autograde makes SQLAlchemy warn "Object of type <SubmittedAssignment> not
                # in session" on every submission (plain `nbgrader autograde` prints the same); harmless
                # here, and noise among the progress bar and the summary
                warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session",
                                        category=SAWarning)
                outcome = self.api.autograde(assignment, student, force=True, create=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self._store_flag_reasons(result)
        self.set_flag(assignment, student, result.flagged)
        return outcome

    def _store_flag_reasons(self, result: TaskResult) -> None:
        """Replace the submission's stored flag reasons by this grading's (none when it is clean).

        Inside a batch's transaction when there is one, so that reasons and grades are kept together.
        """
        connection = self.gradebook.connection if self.gradebook is not None else None
        if connection is not None:
            replace_flag_reasons(connection, result.assignment, result.student, flags_of(result))
            return
        with self._engine.begin() as connection:
            replace_flag_reasons(connection, result.assignment, result.student, flags_of(result))

    def set_flag(self, assignment: str, student: str, flagged: bool) -> None:
        """formgrader's *flagged* on the submission's notebooks from this run (see :mod:`.flag_marks`)."""
        with Gradebook(self.db_url, self.course_id or "default_course") as gb:
            set_grader_flag(gb, assignment, student, flagged)
