"""Recording graded submissions into the real gradebook, from one place, in bulk.

Workers never touch the course's gradebook. A worker's nbgrader has already sanitized and executed
each notebook against the assignment's structure (:mod:`grader.worker.task`); what its ``autograde``
would do next in the real course is done here, for a whole batch of results at once:

1. each executed notebook goes through the rest of the course's autograde pipeline, on an nbconvert
   ``NotebookExporter`` as nbgrader's converter runs it (``IgnorePattern``, ``LimitOutput``, the
   course's ``StderrToStdout``...), with ``SaveAutoGrades`` replaced by :class:`CollectGrades`, which
   reads the same grades and comments without a gradebook, and ``AssignLatePenalties`` left to the
   merge; the output is written under :data:`STAGING` as nbgrader's ``autograded/`` folder (the
   submitted files, then the source's, then the notebooks, with nbgrader's permissions);
2. the rows are merged into the gradebook in one transaction per batch with SQLAlchemy core
   (:class:`grader.instructor.merge.Merger`): students, submissions, grades, comments, timestamps,
   and the late penalties, from the real gradebook's due date, extensions and manual grades, which a
   worker's scratch course cannot know; each submission's flag reasons
   (:mod:`grader.instructor.flag_reasons`) and formgrader's flag (:mod:`grader.instructor.flag_marks`)
   in the same transaction.

The rows and the files are plain nbgrader's: ``tests/grading/test_recorder.py`` compares them with
nbgrader's own converter on the same executed notebooks (byte for byte for the files), and
``tests/grading/test_recording_parity.py`` and ``test_parallel_serial.py`` with plain ``nbgrader
autograde``. A single writer: no SQLite lock contention between graders, and the same code path for
SQLite and PostgreSQL. A result that cannot be recorded is reported (``record_error``), never allowed
to stop the batch.

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

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader import utils
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import AssignLatePenalties, Execute, NbGraderPreprocessor, SaveAutoGrades
from sqlalchemy import create_engine
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader
from traitlets.utils.importstring import import_item

from grader.instructor.flag_marks import create_grader_flags_table, set_grader_flag
from grader.instructor.flag_reasons import create_flag_reasons_table, flags_of, replace_flag_reasons
from grader.instructor.merge import GradedNotebook, Merger, SubmissionRows
from grader.messages import TaskResult

__all__ = ["load_course_config", "Recorder", "default_db_url", "CollectGrades", "STAGING"]

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


class CollectGrades(NbGraderPreprocessor):
    """``SaveAutoGrades``' reading of a notebook, without a gradebook: into ``resources["graded"]``.

    ``grades``: each grade cell's automatic score (``nbgrader.utils.determine_grade``); ``comments``: each
    solution cell's automatic comment (``"No response."`` when its checksum is the released one's).
    """

    def preprocess(self, nb, resources):
        resources["graded"] = {"grades": {}, "comments": {}}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        graded = resources["graded"]
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if utils.is_grade(cell):
            graded["grades"][grade_id] = utils.determine_grade(cell, self.log)[0]
        if utils.is_solution(cell) or utils.is_task(cell):
            untouched = (cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
                         and not utils.is_task(cell))
            graded["comments"][grade_id] = "No response." if untouched else None
        return cell, resources


class _Pipeline:
    """The course's autograde preprocessors after ``Execute``, on one exporter, as nbgrader's converter.

    ``Execute`` (the worker ran it) and ``AssignLatePenalties`` (:class:`~grader.instructor.merge.Merger`
    computes it) are left out; ``SaveAutoGrades`` becomes :class:`CollectGrades`.
    """

    def __init__(self, autograde: Autograde, config: Config):
        exporter_config = Config(config)
        exporter_config.Exporter.default_preprocessors = []  # as nbgrader's BaseConverter sets it
        self.exporter = NotebookExporter(config=exporter_config)
        self.collects_grades = self.assigns_penalties = False
        for preprocessor in autograde.autograde_preprocessors:
            if isinstance(preprocessor, str):
                preprocessor = import_item(preprocessor)
            if isinstance(preprocessor, type) and issubclass(preprocessor, Execute):
                continue
            if isinstance(preprocessor, type) and issubclass(preprocessor, AssignLatePenalties):
                self.assigns_penalties = True
                continue
            if isinstance(preprocessor, type) and issubclass(preprocessor, SaveAutoGrades):
                self.collects_grades = True
                preprocessor = CollectGrades
            self.exporter.register_preprocessor(preprocessor)
        late = AssignLatePenalties(config=config)
        late.init_plugin()
        self.late_penalty = late.plugin_inst.late_submission_penalty if self.assigns_penalties else None

    def run(self, content: bytes, assignment: str, student: str, notebook: str) -> tuple[str, dict]:
        """The notebook nbgrader would write, as text, and what :class:`CollectGrades` read from it."""
        nb = nbformat.reads(content.decode("utf-8"), as_version=4)
        resources = {"unique_key": notebook, "output_files_dir": f"{notebook}_files",
                     "nbgrader": {"student": student, "assignment": assignment, "notebook": notebook},
                     "metadata": {"name": notebook}}
        output, resources = self.exporter.from_notebook_node(nb, resources=resources)
        return output, resources.get("graded", {"grades": {}, "comments": {}})


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
        self.pipeline = _Pipeline(self.autograde, config)
        self.merger = Merger(self.pipeline.late_penalty)
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
        found = sorted(glob.glob(os.path.join(submitted, coursedir.notebook_id + ".ipynb")))
        if not found:
            pattern = os.path.join(submitted, coursedir.notebook_id + ".ipynb")
            return None, f"No notebooks were matched by '{pattern}'"
        with self.engine.connect() as connection:
            structure = self.merger.structure(connection, assignment)
        names = [Path(path).stem for path in found if Path(path).stem in structure.notebooks]
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
            content = result.notebooks.get(name)
            if content is None:
                error = result.errors.get(name) or "no executed notebook came back from the worker"
                break
            try:
                output, found_grades = self.pipeline.run(content, assignment, student, name)
            except Exception as failure:  # noqa: BLE001 - the notebook fails, as in nbgrader's converter
                error = f"{name}: {type(failure).__name__}: {failure}"
                break
            unknown = (set(found_grades["grades"]) - {c for n, c in structure.grade_cells if n == name}) | (
                set(found_grades["comments"]) - {c for n, c in structure.solution_cells if n == name})
            if unknown:
                error = f"{name}: cells the gradebook does not know: {', '.join(sorted(map(str, unknown)))}"
                break
            graded.append(GradedNotebook(name, found_grades["grades"], found_grades["comments"]))
            with open(os.path.join(staged, f"{name}.ipynb"), "w", encoding="utf-8") as handle:
                handle.write(output)
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
