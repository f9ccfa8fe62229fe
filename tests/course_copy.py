"""A throwaway copy of the course on which nbgrader runs as an instructor would.

The copy holds ``nbgrader_config.py`` and ``source/``; nbgrader creates the
rest (``release/``, ``submitted/``, ``gradebook.db``...) inside it, never in
the repository.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

from grader.nbgrader_terms import copy_source_course, nbgrader_environment
from tests.notebooks import (
    ROOT,
    is_solution_cell,
    nbgrader_meta,
    read_notebook,
    source_path,
    without_solution_markers,
)


def nbgrader(course: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in ``course`` with this environment's bin/ first on PATH."""
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=nbgrader_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"nbgrader {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def make_course_copy(destination: Path, assignments: list[str]) -> Path:
    return copy_source_course(ROOT, destination, assignments)


def reference_submission(course: Path, assignment: str):
    """The release notebook with every solution cell filled from the source."""
    solutions = {
        nbgrader_meta(c)["grade_id"]: without_solution_markers(c.source)
        for c in read_notebook(source_path(assignment)).cells
        if is_solution_cell(c)
    }
    nb = read_notebook(course / "release" / assignment / f"{assignment}.ipynb")
    for cell in nb.cells:
        if is_solution_cell(cell):
            cell.source = solutions[nbgrader_meta(cell)["grade_id"]]
    return nb


def blank_submission(course: Path, assignment: str):
    return read_notebook(course / "release" / assignment / f"{assignment}.ipynb")


def submission_with(course: Path, assignment: str, target: str, code: str):
    """The reference submission with ``code`` appended to the cell that defines ``target``."""
    nb = reference_submission(course, assignment)
    for cell in nb.cells:
        if is_solution_cell(cell) and (f"def {target}(" in cell.source or f"class {target}" in cell.source):
            cell.source = cell.source + "\n\n" + code.strip("\n") + "\n"
            return nb
    raise LookupError(f"no solution cell of {assignment} defines {target}")


def submit(course: Path, student: str, assignment: str, nb) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / f"{assignment}.ipynb"))
    (folder / "timestamp.txt").write_text("2026-11-23 12:00:00.000000 UTC")
