"""The rest of the course's autograde pipeline, in the worker's nbgrader, after the sandboxed execution.

nbgrader's ``autograde`` runs the course's ``Autograde.autograde_preprocessors`` on each sanitized
notebook: ``Execute``, then (in this course) ``IgnorePattern``, ``ClearMetadataPreprocessor``,
``LimitOutput``, ``StderrToStdout``, ``SaveAutoGrades``, ``AssignLatePenalties`` and
``CheckCellMetadata``. In a worker's scratch course, ``Execute`` is the sandbox's
(:func:`grader.worker.execute.configure_scratch_course`); :func:`after_execute` gives the rest, so that
the worker's nbgrader writes the very notebook nbgrader writes in ``autograded/``, except for the two
steps that need the real gradebook:

* ``SaveAutoGrades`` becomes :class:`CollectGrades`, which reads the same grades and comments and
  writes them to a JSON file (:func:`read_grades`), for the recorder to merge
  (:mod:`grader.instructor.merge`) with what only the real gradebook holds (manual grades);
* ``AssignLatePenalties`` is left to the recorder, which knows the due date and the extensions.

The scratch course's ``nbgrader_config.py`` calls :func:`after_execute` before the sandbox's
configuration replaces the pipeline, and appends its answer after (:func:`grader.worker.task.scratch_config`).
"""

from __future__ import annotations

import json
import os

from nbgrader import utils
from nbgrader.converters import Autograde
from nbgrader.preprocessors import AssignLatePenalties, Execute, NbGraderPreprocessor, SaveAutoGrades
from traitlets import Unicode
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from grader.messages import GradedNotebook

__all__ = ["CollectGrades", "after_execute", "read_grades"]


class CollectGrades(NbGraderPreprocessor):
    """``SaveAutoGrades``' reading of a notebook, written to :attr:`report` instead of a gradebook.

    Per notebook: each grade cell's automatic score (``nbgrader.utils.determine_grade``), and each
    solution cell's automatic comment (``"No response."`` when its checksum is the released one's), as
    ``SaveAutoGrades`` computes them.
    """

    report = Unicode("", help="JSON file of the grades and comments, by notebook").tag(config=True)

    def preprocess(self, nb, resources):
        self._graded = {"grades": {}, "comments": {}}
        nb, resources = super().preprocess(nb, resources)
        found = {}
        if os.path.exists(self.report):  # an earlier notebook of the assignment
            with open(self.report) as handle:
                found = json.load(handle)
        found[resources["nbgrader"]["notebook"]] = self._graded
        with open(self.report, "w") as handle:
            json.dump(found, handle)
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if utils.is_grade(cell):
            self._graded["grades"][grade_id] = utils.determine_grade(cell, self.log)[0]
        if utils.is_solution(cell) or utils.is_task(cell):
            untouched = (cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
                         and not utils.is_task(cell))
            self._graded["comments"][grade_id] = "No response." if untouched else None
        return cell, resources


def after_execute(c: Config, report: str) -> list:
    """The course's autograde preprocessors after ``Execute``, as configured in ``c`` so far.

    ``SaveAutoGrades`` is replaced by :class:`CollectGrades` (writing to ``report``);
    ``AssignLatePenalties`` is left out.
    """
    c.CollectGrades.report = report
    configured = c.Autograde.get("autograde_preprocessors", Autograde.autograde_preprocessors.default_value)
    kept = []
    for preprocessor in configured:
        found = import_item(preprocessor) if isinstance(preprocessor, str) else preprocessor
        if isinstance(found, type) and issubclass(found, (Execute, AssignLatePenalties)):
            continue
        kept.append(CollectGrades if isinstance(found, type) and issubclass(found, SaveAutoGrades) else found)
    return kept


def read_grades(path: str) -> dict[str, GradedNotebook]:
    """What :class:`CollectGrades` wrote, by notebook name (nothing when the file is missing or garbled)."""
    try:
        with open(path) as handle:
            raw = json.load(handle)
        return {name: GradedNotebook(name, {str(k): v for k, v in found["grades"].items()},
                                     {str(k): v for k, v in found["comments"].items()})
                for name, found in raw.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
