"""Worker results graded once and handed in by many students: what the recorder benchmarks feed.

Two real gradings of one assignment by a worker's task (unsandboxed, in this process): the reference
solution and the blank release notebook. A benchmark's students hand them in, two of three the
reference (:func:`kind_of`), so that recording them costs what recording a class costs.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from nbformat import NotebookNode

from grader.instructor.engine import GradeOptions
from grader.instructor.gradebook import empty_gradebook
from grader.instructor.plan import assignment_bundle, read_submission
from grader.messages import TaskResult
from grader.worker.task import run_task
from tests.course_copy import blank_submission, reference_submission, submit

KINDS = ("reference", "blank")
COURSE_ID = "backprop"


def kind_of(student: str) -> str:
    """Which graded notebook a benchmark student hands in: ``student0002`` (every third) the blank one."""
    return "blank" if int(student.removeprefix("student")) % 3 == 2 else "reference"


def student_name(index: int) -> str:
    return f"student{index:04d}"


def graded_kinds(course: Path, assignment: str, scratch: Path) -> tuple[dict[str, NotebookNode],
                                                                        dict[str, TaskResult]]:
    """Grade the reference and the blank submission of ``assignment`` once, with a worker's task.

    Parameters
    ----------
    course : Path
        A course with ``assignment`` generated; its ``submitted/`` is left as it was.
    assignment : str
        The assignment's name.
    scratch : Path
        The tasks' scratch folder.

    Returns
    -------
    notebooks : dict
        {kind: the submitted notebook}, for :data:`KINDS`.
    results : dict
        {kind: the worker's result, not recorded}.
    """
    notebooks = {"reference": reference_submission(course, assignment),
                 "blank": blank_submission(course, assignment)}
    options = dataclasses.replace(GradeOptions(sandbox=False), scratch=str(scratch))
    bundle = assignment_bundle(course, assignment, f"sqlite:///{course / 'gradebook.db'}", COURSE_ID,
                               options.task_options(), empty_gradebook(COURSE_ID))
    results = {}
    for kind, notebook in notebooks.items():
        submit(course, f"source-{kind}", assignment, notebook)
        results[kind] = run_task(bundle, read_submission(course, f"source-{kind}", assignment))
        shutil.rmtree(course / "submitted" / f"source-{kind}")
        if results[kind].status != "graded":
            raise SystemExit(f"grading the {kind} submission failed: {results[kind].reason}\n"
                             f"{results[kind].log}")
    return notebooks, results
