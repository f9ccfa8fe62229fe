"""Recording graded submissions into the real gradebook, from one place.

Workers never touch the course's gradebook. The process that runs
``course grade`` records every result, one at a time, by running
nbgrader's own ``Autograde`` converter on the real course (through
``NbGraderAPI.autograde``, the call formgrader makes) with nbgrader's
``Execute`` replaced by :class:`course.grading.preprocessors.ReplayExecute`.
So the gradebook rows, the ``autograded/`` folder and the handling of
missing, misnamed, crashed or late notebooks are nbgrader's, and there is
a single writer: no SQLite lock contention between graders, and the same
code path for SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.api import NbGraderAPI
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute
from sqlalchemy.exc import SAWarning
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from course.grading.preprocessors import ReplayExecute

__all__ = ["load_course_config", "Recorder", "default_db_url"]


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
    """

    def __init__(self, root: Path, db_url: str | None = None):
        self.root = Path(root).resolve()
        config = load_course_config(self.root)
        self.course_id = config.CourseDirectory.get("course_id", "") if "CourseDirectory" in config else ""
        self.db_url = db_url or default_db_url(self.root, config)
        config.CourseDirectory.db_url = self.db_url
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

    def close(self) -> None:
        shutil.rmtree(self.snapshots, ignore_errors=True)

    def record(self, result: dict) -> dict:
        """Record one worker result; returns nbgrader's ``{"success", "log", "error"}``."""
        assignment, student = result["assignment"], result["student"]
        folder = self.snapshots / assignment / student
        folder.mkdir(parents=True, exist_ok=True)
        try:
            for name, content in result.get("notebooks", {}).items():
                # validate before nbgrader sees it: a worker's answer is data, not trusted
                nb = nbformat.reads(content.decode("utf-8"), as_version=4)
                nbformat.write(nb, str(folder / f"{name}.ipynb"))
            for name, reason in result.get("errors", {}).items():
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
        if result.get("flags") or result.get("probe", {}).get("changed"):
            self.mark_flagged(assignment, student)
        return outcome

    def mark_flagged(self, assignment: str, student: str) -> None:
        """Set formgrader's *flagged* on every notebook of the submission."""
        with Gradebook(self.db_url, self.course_id or "default_course") as gb:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                return
            for notebook in submission.notebooks:
                notebook.flagged = True
            gb.db.commit()
