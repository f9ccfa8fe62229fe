"""Running a notebook's test cells in the judge, against the student's kernel.

The judge's namespace is built from the **instructor's** notebook, never from the submission: its
setup cell (the first code cell), then the *graded names* (the public top-level functions and classes
of the solution cells) bound to handles of the student's objects of those names, then its given
cells (code the course hands to students, which tests build on). A student's cell that defines its
own ``assert_tensor_close`` or ``np`` changes nothing here: only the graded names reach the kernel.

:func:`run_test_cell` runs a test cell and returns what it raised and what it wrote to stderr apart, for
nbgrader's pipeline to decide what stderr costs (this course's moves it to stdout).
"""

from __future__ import annotations

import ast
import contextlib
import io
from dataclasses import dataclass
from typing import Any

from course.spies import KERNEL_SIDE
from grader.judge.remote import Remote
from grader.nbgrader_terms import (
    grade_id,
    is_hidden_delimiter,
    is_solution,
    is_test_cell,
    visible_part,
    without_solution_delimiters,
)

__all__ = ["TestSource", "InstructorCells", "instructor_cells", "graded_names", "judge_namespace",
           "run_test_cell", "MAX_STDERR_CHARS"]

#: What :func:`run_test_cell` keeps of what a test cell wrote to stderr (the end of it).
MAX_STDERR_CHARS = 8 * 1024


@dataclass(frozen=True)
class TestSource:
    """A test cell: ``source`` is its whole code (visible and hidden), ``visible`` what the release shows."""

    grade_id: str
    source: str
    visible: str


@dataclass(frozen=True)
class InstructorCells:
    """What the judge takes from the instructor's notebook."""

    setup: str
    given: tuple[tuple[str, str], ...]
    graded_names: tuple[str, ...]
    tests: tuple[TestSource, ...]


def _is_given(cell: Any) -> bool:
    return cell.get("cell_type") == "code" and "given" in cell.get("metadata", {}).get("tags", [])


def graded_names(solution_sources: list[str]) -> list[str]:
    """The public top-level functions and classes that solution cells define, in order."""
    names: list[str] = []
    for source in solution_sources:
        for node in ast.parse(without_solution_delimiters(source)).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                names.append(node.name)
    return names


def instructor_cells(notebook: Any) -> InstructorCells:
    """Split the instructor's (source) notebook into what the judge runs.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
        The instructor's copy, with solutions and hidden tests.
    """
    code = [c for c in notebook.cells if c.get("cell_type") == "code"]
    if not code:
        raise ValueError("the notebook has no code cells")
    given, solutions, tests = [], [], []
    for cell in code[1:]:
        if is_test_cell(cell):
            whole = "\n".join(line for line in cell.source.split("\n") if not is_hidden_delimiter(line))
            tests.append(TestSource(grade_id(cell) or "?", whole, visible_part(cell.source)))
        elif cell.get("cell_type") == "code" and is_solution(cell):
            solutions.append(cell.source)
        elif _is_given(cell):
            given.append((grade_id(cell) or "given", cell.source))
    return InstructorCells(code[0].source, tuple(given), tuple(graded_names(solutions)), tuple(tests))


def _execute(source: str, label: str, namespace: dict) -> None:
    exec(compile(source, f"<{label}>", "exec"), namespace)


def judge_namespace(cells: InstructorCells, remote: Remote, label: str = "judge") -> dict:
    """The namespace test cells run in: setup, graded names as handles, given cells.

    A graded name the student's kernel does not define is left unbound, so that a test using it
    fails with a NameError, as it would in the student's notebook. A class of the course package
    that the setup cell bound and that is marked :data:`course.spies.KERNEL_SIDE` (a spy a test hands
    to the student's code) stands for the same class in the student's kernel: its instances are made
    there.
    """
    namespace: dict = {"__name__": "__main__"}
    _execute(cells.setup, f"{label}:setup", namespace)
    for name, value in list(namespace.items()):
        if isinstance(value, type) and value.__dict__.get(KERNEL_SIDE) is True:
            kernel_class = remote.apply("kernel_side_class", (value.__module__, value.__qualname__), name)
            object.__setattr__(kernel_class, "_judge_label", name)
            namespace[name] = kernel_class
    for name in cells.graded_names:
        with contextlib.suppress(NameError):
            namespace[name] = remote.lookup(name)
    for cell_label, source in cells.given:
        _execute(source, f"{label}:{cell_label}", namespace)
    return namespace


def run_test_cell(source: str, label: str, namespace: dict) -> tuple[str | None, str]:
    """Run one test cell's code in a copy of ``namespace``: the exception, and what went to stderr.

    Returns
    -------
    reason : str or None
        None when the code raised nothing, else the exception on one line (``"AssertionError: ..."``,
        its type and message: never a line of the test's code).
    stderr : str
        What the cell wrote to stderr (the replayed warnings and prints of the student's calls among
        it), its last :data:`MAX_STDERR_CHARS` characters.
    """
    cell_namespace = dict(namespace)
    stdout, stderr = io.StringIO(), io.StringIO()
    reason = None
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            _execute(source, label, cell_namespace)
    except Exception as error:  # noqa: BLE001 - any failure of the checks counts
        reason = f"{type(error).__name__}: {error}"
    return reason, stderr.getvalue()[-MAX_STDERR_CHARS:]
