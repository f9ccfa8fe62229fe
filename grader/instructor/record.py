"""Recording graded submissions into the real gradebook, from one place, in bulk.

Workers never touch the course's gradebook. A worker's nbgrader has already sanitized and executed
each notebook against the assignment's structure and run the rest of the course's autograde pipeline
on it (:mod:`grader.worker.pipeline`): it returns the notebook nbgrader writes in ``autograded/`` and
the grades and comments ``SaveAutoGrades`` would record (:class:`grader.messages.GradedNotebook`).
What needs the real course is done here, for a whole batch of results at once:

1. the submission's ``autograded/`` folder, as nbgrader's converter writes it (the submitted files,
   then the source's, then the worker's notebooks, with nbgrader's permissions), under
   :data:`STAGING`;
2. the rows, merged into the gradebook in one transaction per batch with SQLAlchemy core
   (:class:`grader.instructor.merge.Merger`): students, submissions, grades, comments, timestamps,
   and what a worker's scratch course cannot know: the late penalties, from the real gradebook's due
   date and extensions, and a person's manual grades, which a regrade keeps; each submission's flag
   reasons (:mod:`grader.instructor.flag_reasons`) and formgrader's flag
   (:mod:`grader.instructor.flag_marks`) in the same transaction.

The rows and the files are plain nbgrader's: ``tests/grading/test_recorder.py`` compares them with
nbgrader's own converter recording the same results (byte for byte for the files), and
``tests/grading/test_recording_parity.py`` and ``test_parallel_serial.py`` with plain ``nbgrader
autograde``. The notebooks are written as the worker's nbgrader wrote them, not read again: the worker
is the grading machinery (student code runs in its sandboxed kernel, which only adds outputs that
nbgrader itself serializes). A single writer: no SQLite lock contention between graders, and the same
code path for SQLite and PostgreSQL. A result that cannot be recorded is reported (``record_error``),
never allowed to stop the batch.

A submission's ``autograded/`` folder appears only once its grades are committed: it is written under
:data:`STAGING`, and :meth:`Recorder.record_batch` moves it in place after the commit, or deletes it
when the transaction fails. So a run stopped at any point, even by SIGKILL, leaves no ``autograded/``
folder whose grades were not recorded, and the rule that skips what is already graded
(:func:`grader.instructor.plan.graded_before`, nbgrader's) can trust it.
"""

from __future__ import annotations

import glob
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from nbgrader import utils
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import AssignLatePenalties
from sqlalchemy import create_engine
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader
from traitlets.utils.importstring import import_item

from grader.instructor.flag_marks import create_grader_flags_table, set_grader_flag
from grader.instructor.flag_reasons import create_flag_reasons_table, flags_of, replace_flag_reasons
from grader.instructor.merge import LatePenalty, Merger, SubmissionRows
from grader.messages import TaskResult

__all__ = ["load_course_config", "Recorder", "default_db_url", "late_penalty_of", "STAGING"]

#: Where nbgrader writes a submission's autograded folder, under the course root, until its grades are
#: committed; what a killed run left there was never committed, and the next recorder deletes it.
STAGING = ".course-grade-recording"


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


def late_penalty_of(autograde: Autograde, config: Config) -> LatePenalty | None:
    """The course's late-submission plugin's penalty, when its autograde pipeline assigns late penalties."""
    for preprocessor in autograde.autograde_preprocessors:
        found = import_item(preprocessor) if isinstance(preprocessor, str) else preprocessor
        if isinstance(found, type) and issubclass(found, AssignLatePenalties):
            late = found(config=config)
            late.init_plugin()
            return late.plugin_inst.late_submission_penalty
    return None


@dataclass
class _Prepared:
    """One result made ready for the merge: its rows (None: nbgrader records nothing) and its failure."""

    result: TaskResult
    rows: SubmissionRows | None
    error: str
    seconds: float


class Recorder:
    """Record worker results into the course's gradebook as nbgrader's autograde would.

    Parameters
    ----------
    root : Path
        The course root.
    db_url : str, optional
        The gradebook (default: the course's, ``sqlite:///<root>/gradebook.db``); it must hold the
        assignments (``nbgrader generate_assignment``).
    """

    def __init__(self, root: Path, db_url: str | None = None):
        self.root = Path(root).resolve()
        config = load_course_config(self.root)
        self.course_id = config.CourseDirectory.get("course_id", "") if "CourseDirectory" in config else ""
        self.db_url = db_url or default_db_url(self.root, config)
        config.CourseDirectory.db_url = self.db_url
        self.coursedir = CourseDirectory(config=config)  # the course's real folders
        self.autograde = Autograde(coursedir=self.coursedir, config=config)  # its settings, never run
        self.merger = Merger(late_penalty_of(self.autograde, config))
        shutil.rmtree(self.root / STAGING, ignore_errors=True)
        self.engine = create_engine(self.db_url, future=True)
        with self.engine.begin() as connection:
            # the grader's own tables, beside nbgrader's
            create_flag_reasons_table(connection)
            create_grader_flags_table(connection)

    def close(self) -> None:
        shutil.rmtree(self.root / STAGING, ignore_errors=True)
        self.engine.dispose()

    def record(self, result: TaskResult) -> None:
        """Record one worker result (see :meth:`record_batch`)."""
        self.record_batch([result])

    def record_batch(self, results: list[TaskResult]) -> None:
        """Record worker results in one gradebook transaction; fill ``recorded``, ``score``...

        Never raises: a result that cannot be recorded is reported (``record_error``), never allowed to
        stop the batch. When the batch's transaction fails, each of its results is recorded again in a
        transaction of its own, so that one broken submission costs only its own recording; a result
        whose own transaction fails says so and keeps no row and no ``autograded/`` folder.
        """
        prepared = [self._prepare(result) for result in results]
        started = time.perf_counter()
        try:
            with self.engine.begin() as connection:
                merged = [p for p in prepared if p.rows is not None]
                scores = dict(zip((id(p) for p in merged),
                                  self.merger.merge_batch(connection, [p.rows for p in merged])))
                for result in results:
                    replace_flag_reasons(connection, result.assignment, result.student, flags_of(result))
                    set_grader_flag(connection, result.assignment, result.student, result.flagged)
        except Exception as error:  # noqa: BLE001 - the commit failed: nothing of these was kept
            if len(results) > 1:
                for result in results:
                    shutil.rmtree(self._staged(result), ignore_errors=True)
                    self.record_batch([result])
                return
            for result in results:
                shutil.rmtree(self._staged(result), ignore_errors=True)
                result.recorded, result.score, result.max_score, result.cells = False, None, None, {}
                result.record_error = (f"the gradebook transaction failed: {type(error).__name__}: "
                                       f"{error}")[-1500:]
            return
        share = (time.perf_counter() - started) / max(1, len(results))
        for p in prepared:
            result = p.result
            result.recorded = p.rows is not None and not p.error
            result.record_error = p.error[-1500:]
            found = scores.get(id(p))
            if found is not None:
                result.score, result.max_score, result.cells = found.score, found.max_score, found.cells
            result.phases["recording"] = p.seconds + share
            self._publish(result)

    def _prepare(self, result: TaskResult) -> _Prepared:
        started = time.perf_counter()
        try:
            rows, error = self._autograde(result)
        except Exception as error:  # noqa: BLE001
            shutil.rmtree(self._staged(result), ignore_errors=True)
            rows, error = None, f"recording failed: {type(error).__name__}: {error}"
        return _Prepared(result, rows, error, time.perf_counter() - started)

    def _autograde(self, result: TaskResult) -> tuple[SubmissionRows | None, str]:
        """What nbgrader's autograde of the submission would write: its rows, and its folder under STAGING.

        Returns the rows (None when nbgrader would record nothing) and why nbgrader would fail ("" when
        it would not). As nbgrader does, a failed submission keeps the rows written before the failure
        (the student, the submission, the notebooks graded before) and no ``autograded/`` folder.
        """
        assignment, student = result.assignment, result.student
        coursedir = self.coursedir
        submitted = coursedir.format_path(coursedir.submitted_directory, student, assignment)
        pattern = os.path.join(submitted, coursedir.notebook_id + ".ipynb")
        handed_in = sorted(glob.glob(pattern))
        if not handed_in:  # nbgrader stops before it writes anything
            return None, f"No notebooks were matched by '{pattern}'"
        with self.engine.connect() as connection:
            structure = self.merger.structure(connection, assignment)
        names = [Path(path).stem for path in handed_in if Path(path).stem in structure.notebooks]
        timestamp = coursedir.get_existing_timestamp(submitted)
        missing = tuple(name for name in structure.notebooks
                        if not os.path.exists(os.path.join(submitted, f"{name}.ipynb")))
        if not names:
            return (SubmissionRows(assignment, student, timestamp, missing),
                    "No notebooks found, did you forget to run 'nbgrader generate_assignment'?")
        staged = self._staged(result)
        shutil.rmtree(staged, ignore_errors=True)
        self._copy_files(submitted, staged, assignment)
        graded, error = [], ""
        for name in names:
            content, found = result.notebooks.get(name), result.grades.get(name)
            if content is None or found is None:
                error = result.errors.get(name) or "no graded notebook came back from the worker"
                break
            unknown = (set(found.grades) - {c for n, c in structure.grade_cells if n == name}) | (
                set(found.comments) - {c for n, c in structure.solution_cells if n == name})
            if unknown:
                error = f"{name}: cells the gradebook does not know: {', '.join(sorted(map(str, unknown)))}"
                break
            graded.append(found)
            (staged / f"{name}.ipynb").write_bytes(content)  # what the worker's nbgrader wrote
        if error:
            shutil.rmtree(staged, ignore_errors=True)  # nbgrader's converter removes a failed submission
        else:
            self._set_permissions(staged)
        return SubmissionRows(assignment, student, timestamp, missing, tuple(graded)), error

    def _copy_files(self, submitted: str, staged: Path, assignment: str) -> None:
        """nbgrader's ``init_assignment``: the submitted files, then the source's over them (no notebook)."""
        ignore = self.coursedir.ignore + ["*.ipynb"]
        source = self.coursedir.format_path(self.coursedir.source_directory, ".", assignment)
        excluded = {os.path.join(source, name)
                    for name in self.autograde.exclude_overwriting.get(assignment, [])}
        copies = [(submitted, path) for path in utils.find_all_files(submitted, ignore)]
        copies += [(source, path) for path in utils.find_all_files(source, ignore) if path not in excluded]
        staged.mkdir(parents=True, exist_ok=True)
        for base, path in copies:
            target = staged / os.path.relpath(path, base)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target.unlink()
            shutil.copy(path, target)

    def _set_permissions(self, staged: Path) -> None:
        """nbgrader's ``set_permissions`` on the files (444, or 664 in a group-shared course)."""
        permissions = int(str(self.autograde.permissions), 8)
        for folder, _, files in os.walk(staged):
            for name in files:
                os.chmod(os.path.join(folder, name), permissions)
            if self.coursedir.groupshared:
                mode = os.stat(folder).st_mode
                if mode & 0o2770 != 0o2770:
                    os.chmod(folder, (mode | 0o2770) & 0o2777)

    def _staged(self, result: TaskResult) -> Path:
        return Path(self.coursedir.format_path(STAGING, result.student, result.assignment))

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
