"""The yardstick of the recorder: nbgrader's own ``Autograde`` converter recording a worker's results.

:func:`record_with_nbgrader` runs ``NbGraderAPI.autograde`` (formgrader's call) on the real course, one
result at a time, each ``Gradebook`` nbgrader opens with its own engine and commits, with ``Execute``
replaced by :class:`ReplayExecute`, which hands back the notebook the worker returned. So every row and
file is nbgrader's: sanitizing, the course's preprocessors, ``SaveAutoGrades``, late penalties and the
``autograded/`` folder. This is how ``course grade`` recorded before its bulk merge
(:mod:`grader.instructor.merge`); the tests and benchmarks compare the merge with it. The worker's
notebook has been through the course's preprocessors after ``Execute`` already
(:mod:`grader.worker.pipeline`); the course's (``IgnorePattern``, ``LimitOutput``, ``StderrToStdout``)
leave such a notebook as it is, so nbgrader's converter records what it would have recorded from the
executed notebook.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import nbformat
from nbgrader.apps.api import NbGraderAPI
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from sqlalchemy.exc import SAWarning
from traitlets import Unicode

from grader.instructor.gradebook import submission_scores
from grader.instructor.record import default_db_url, load_course_config
from grader.messages import TaskResult


class ReplayMissing(RuntimeError):
    """The worker did not return an executed notebook (crash, timeout...)."""


class ReplayExecute(NbGraderPreprocessor):
    """Return the notebook a worker executed instead of executing it here.

    ``snapshot_root/<assignment>/<student>/<notebook>.ipynb`` holds the executed notebook;
    ``<notebook>.error`` holds why there is none. The executed notebook must hold the same cells as the
    sanitized notebook given here (same count, types and sources), or the replay fails.
    """

    snapshot_root = Unicode("", help="folder of the executed notebooks").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        folder = os.path.join(self.snapshot_root, info["assignment"], info["student"])
        path = os.path.join(folder, info["notebook"] + ".ipynb")
        if not os.path.exists(path):
            error_path = os.path.join(folder, info["notebook"] + ".error")
            reason = Path(error_path).read_text().strip() if os.path.exists(error_path) else ""
            raise ReplayMissing(reason or "no executed notebook came back from the worker")
        executed = nbformat.read(path, as_version=4)
        if len(executed.cells) != len(nb.cells) or any(
            a.cell_type != b.cell_type or a.source != b.source for a, b in zip(executed.cells, nb.cells)
        ):
            raise ReplayMissing("the executed notebook does not match the sanitized submission")
        return executed, resources


def record_with_nbgrader(root: Path, results: list[TaskResult], db_url: str | None = None) -> None:
    """Record ``results`` with nbgrader's converter; fill ``recorded``, ``record_error``, ``score``..."""
    root = Path(root).resolve()
    config = load_course_config(root)
    config.CourseDirectory.db_url = db_url or default_db_url(root, config)
    preprocessors = list(config.Autograde.get("autograde_preprocessors",
                                              Autograde.autograde_preprocessors.default_value))
    config.Autograde.autograde_preprocessors = [
        ReplayExecute if isinstance(p, type) and issubclass(p, Execute) else p for p in preprocessors]
    snapshots = Path(tempfile.mkdtemp(prefix="nbgrader-replay-"))
    config.ReplayExecute.snapshot_root = str(snapshots)
    config.NbGraderAPI.log_level = "ERROR"
    api = NbGraderAPI(config=config)
    api.log.setLevel(logging.ERROR)
    try:
        for result in results:
            folder = snapshots / result.assignment / result.student
            folder.mkdir(parents=True, exist_ok=True)
            for name, content in result.notebooks.items():
                (folder / f"{name}.ipynb").write_bytes(content)
            for name, reason in result.errors.items():
                (folder / f"{name}.error").write_text(reason)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session",
                                        category=SAWarning)
                outcome = api.autograde(result.assignment, result.student, force=True, create=True)
            result.recorded = bool(outcome["success"])
            result.record_error = "" if result.recorded else str(outcome.get("error", ""))[-1500:]
            scores = submission_scores(config.CourseDirectory.db_url, result.assignment, result.student)
            if scores is not None:
                result.score, result.max_score, result.cells = (scores["score"], scores["max_score"],
                                                                scores["cells"])
    finally:
        shutil.rmtree(snapshots, ignore_errors=True)
