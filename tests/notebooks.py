"""Reading the course's notebooks the way nbgrader sees them.

Cell roles come from nbgrader's cell metadata, read with :mod:`grader.nbgrader_terms` (nbgrader's own
``is_grade``/``is_solution``/``is_locked`` and its hidden-test delimiters):

* the *setup* cell is the first code cell (locked; imports only);
* *solution* cells have ``solution: true``; their ``### BEGIN SOLUTION`` /
  ``### END SOLUTION`` regions become stubs in the release;
* *test* cells have ``grade: true`` and ``solution: false``; their
  ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` regions are stripped
  from the release;
* *given* cells are locked code cells tagged ``given``: code the course hands
  to students that solutions or tests build on.

Test cells may rely only on the setup, solution and given cells (and on
their own code): that is what lets the mutation harness run them in-process,
fast, without a kernel.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from grader.judge.cells import run_test_cell as run_judged_test_cell
from grader.nbgrader_terms import (
    grade_id,
    is_hidden_delimiter,
    is_solution,
    is_test_cell,
    nbgrader_metadata,
    points,
    visible_part,
    without_solution_delimiters,
)

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source"
RELEASE = ROOT / "release"

__all__ = ["ROOT", "SOURCE", "RELEASE", "assignment_ids", "source_path", "release_path", "nbgrader_meta",
           "is_solution_cell", "is_test_cell", "is_given_cell", "without_solution_markers",
           "without_hidden_markers", "TestCell", "NotebookParts", "read_notebook", "notebook_parts",
           "execute_into", "fresh_namespace", "run_test_cell"]


def assignment_ids() -> list[str]:
    """Ids of the assignments in source/, e.g. ``["01_computation_graphs", ...]``.

    ``COURSE_ASSIGNMENTS=01_computation_graphs,02_activations`` limits the
    test suite to those assignments while one works on them.
    """
    found = sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and re.match(r"\d\d_", p.name))
    wanted = [a for a in os.environ.get("COURSE_ASSIGNMENTS", "").split(",") if a]
    return [a for a in found if a in wanted] if wanted else found


def source_path(assignment: str) -> Path:
    return SOURCE / assignment / f"{assignment}.ipynb"


def release_path(assignment: str) -> Path:
    return RELEASE / assignment / f"{assignment}.ipynb"


nbgrader_meta = nbgrader_metadata
without_solution_markers = without_solution_delimiters


def is_solution_cell(cell: Any) -> bool:
    return cell.get("cell_type") == "code" and is_solution(cell)


def is_given_cell(cell: Any) -> bool:
    return cell.get("cell_type") == "code" and "given" in cell.get("metadata", {}).get("tags", [])


def without_hidden_markers(source: str) -> str:
    """A test cell's whole code, visible and hidden, without the delimiter lines."""
    return "\n".join(line for line in source.split("\n") if not is_hidden_delimiter(line))


@dataclass
class TestCell:
    """A test cell: ``source`` is what grading runs, ``visible`` what the student's release runs."""

    grade_id: str
    source: str
    points: float
    visible: str


@dataclass
class NotebookParts:
    """The parts of a source notebook that the in-process harness runs."""

    assignment: str
    setup: str
    definitions: list[tuple[str, str]] = field(default_factory=list)
    tests: list[TestCell] = field(default_factory=list)


def read_notebook(path: Path) -> Any:
    return nbformat.read(str(path), as_version=4)


def notebook_parts(assignment: str) -> NotebookParts:
    """Split a source notebook into setup, definitions (solution and given cells) and tests."""
    nb = read_notebook(source_path(assignment))
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    if not code_cells:
        raise ValueError(f"{assignment} has no code cells")
    parts = NotebookParts(assignment=assignment, setup=code_cells[0].source)
    for cell in code_cells[1:]:
        label = grade_id(cell) or "?"
        if is_test_cell(cell):
            parts.tests.append(
                TestCell(label, without_hidden_markers(cell.source), points(cell), visible_part(cell.source))
            )
        elif is_solution_cell(cell) or is_given_cell(cell):
            parts.definitions.append((label, without_solution_markers(cell.source)))
    return parts


def execute_into(source: str, namespace: dict, label: str) -> None:
    """Execute one cell's code in ``namespace``, naming it ``label`` in tracebacks."""
    exec(compile(source, f"<{label}>", "exec"), namespace)


def fresh_namespace(parts: NotebookParts, extra_code: str = "", extra_label: str = "extra") -> dict:
    """Run setup and definitions (then ``extra_code``) in a new namespace."""
    namespace: dict = {"__name__": "__main__"}
    execute_into(parts.setup, namespace, f"{parts.assignment}:setup")
    for label, source in parts.definitions:
        execute_into(source, namespace, f"{parts.assignment}:{label}")
    if extra_code:
        execute_into(extra_code, namespace, extra_label)
    return namespace


def judge_cell(source: str, label: str, namespace: dict) -> str | None:
    """Run one test cell's code in the judge, in a copy of ``namespace``: None when it passes, else a
    one-line reason (plain nbgrader's rule: stderr fails the cell too).

    The reason is the exception (``"AssertionError: ..."``), or the last line written to stderr.
    """
    reason, stderr = run_judged_test_cell(source, label, namespace)
    if reason is None and stderr.strip():
        return "wrote to stderr: " + stderr.strip().splitlines()[-1][:200]
    return reason


def run_test_cell(test: TestCell, namespace: dict, visible_only: bool = False) -> str | None:
    """Run a test cell as nbgrader would judge it (:func:`judge_cell`).

    With ``visible_only``, run only what the student's release shows of it.
    Returns None when the cell would earn its points, or a one-line reason:
    the exception, or text written to stderr (nbgrader zeroes a cell for
    either; the course's config moves stderr to stdout, but a test cell of
    the reference must not rely on that).
    """
    return judge_cell(test.visible if visible_only else test.source, test.grade_id, namespace)
