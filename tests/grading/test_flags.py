"""Static flags, without a kernel: the cheats are caught, the course's own solutions are not."""

from __future__ import annotations

import nbformat
import pytest

from grader.nbgrader_terms import (
    grade_id,
    is_grade,
    is_locked,
    is_solution,
    nbgrader_metadata,
    points,
    without_solution_delimiters,
)
from grader.structure import AssignmentStructure, GradedCell, NotebookStructure, SourceCell
from grader.worker.flags import analyse_code, course_code, static_flags
from tests.notebooks import assignment_ids, read_notebook, source_path


def structure_of(assignment):
    """The assignment's structure as the gradebook would hold it, read from source/."""
    grade, solution, source = [], [], []
    for cell in read_notebook(source_path(assignment)).cells:
        if not nbgrader_metadata(cell):
            continue
        if is_grade(cell):
            grade.append(GradedCell(grade_id(cell), points(cell), cell.cell_type))
        if is_solution(cell):
            solution.append(grade_id(cell))
        source.append(SourceCell(grade_id(cell), cell.cell_type, is_locked(cell), cell.source, None))
    notebook = NotebookStructure(assignment, tuple(grade), tuple(solution), (), tuple(source))
    return AssignmentStructure(assignment, None, (notebook,))


def known_code(assignment):
    return {assignment: course_code(source_path(assignment))}


def solved(assignment):
    nb = read_notebook(source_path(assignment))
    for cell in nb.cells:
        if is_solution(cell):
            cell.source = without_solution_delimiters(cell.source)
    return nb


@pytest.mark.parametrize("assignment", assignment_ids())
def test_reference_solutions_raise_no_flag(assignment):
    nb = solved(assignment)
    files = {f"{assignment}.ipynb": nbformat.writes(nb).encode()}
    assert static_flags(structure_of(assignment), files, course_code=known_code(assignment)) == []


@pytest.mark.parametrize("code, flag", [
    ("np.allclose = lambda *a, **k: True", "numpy-rebinding"),
    ("np.testing.assert_allclose = print", "numpy-rebinding"),
    ("import numpy.testing as np", "numpy-rebinding"),
    ("a, np.pi = 1, 2", "numpy-rebinding"),
    ("get_ipython().showtraceback = print", "ipython-machinery"),
    ("import IPython\nIPython.core.interactiveshell.InteractiveShell.showtraceback = print",
     "ipython-machinery"),
    ("import sys\nsys.excepthook = print", "ipython-machinery"),
    ("import os\nkey = os.environ['HOME']", "grading-environment"),
    ("text = open('../../source/x.ipynb').read()", "grading-environment"),
    ("import subprocess", "grading-environment"),
    ("setattr(np, 'all' + 'close', print)", "dynamic-code"),
])
def test_cheats_are_flagged(code, flag):
    assert flag in {found[0] for found in analyse_code(code)}


@pytest.mark.parametrize("code", [
    "x[np.arange(3), y] -= 1.0",
    "grad = np.zeros_like(x)\ngrad[...] = 1",
    "self.W = np.random.default_rng(0).normal(size=(2, 3))",
])
def test_ordinary_numpy_code_is_not_flagged(code):
    assert analyse_code(code) == []


@pytest.mark.parametrize("code, flags", [
    ("import sys\nsys.settrace(spy)", {"trace-hook"}),
    ("import sys\nsys.setprofile(spy)", {"trace-hook"}),
    ("import threading\nthreading.settrace(spy)", {"trace-hook"}),
    ("import threading\nthreading.setprofile_all_threads(spy)", {"trace-hook"}),
    ("from sys import settrace as watch\nwatch(spy)", {"trace-hook"}),
    ("from sys import *\nsettrace(spy)", {"trace-hook"}),
    ("import sys as s\nmon = s.monitoring\nmon.use_tool_id(3, 'x')", {"trace-hook"}),
    ("from sys import monitoring", {"trace-hook"}),
    # a literal name dodges an attribute match, not the string match
    ("import sys\ngetattr(sys, 'settrace')(spy)", {"trace-hook"}),
    # a name built at run time: only the computed getattr / vars is seen
    ("import sys\ngetattr(sys, 'set' + 'trace')(spy)", {"dynamic-code"}),
    ("import sys\nvars(sys)['set' + 'prof' + 'ile'](spy)", {"dynamic-code"}),
])
def test_trace_and_profile_hooks_are_flagged(code, flags):
    assert {found[0] for found in analyse_code(code)} == flags


@pytest.mark.parametrize("code", [
    "print('monitoring the loss')",
    "self.monitoring = True",
    "trace = np.trace(W)",
])
def test_words_near_the_trace_hooks_are_not_flagged(code):
    assert analyse_code(code) == []


def test_an_unparsable_cell_is_not_an_error():
    assert analyse_code("def broken(:\n") == []


def test_course_code_is_not_flagged_but_the_same_line_in_a_solution_is():
    assignment = assignment_ids()[0]
    structure = structure_of(assignment)
    nb = solved(assignment)
    given = 'import os\nif os.environ.get("NBGRADER_EXECUTION"):\n    pass'
    known = known_code(assignment)
    known[assignment].append(given)  # as if the course handed this cell out
    nb.cells.append(nbformat.v4.new_code_cell(given))
    files = {f"{assignment}.ipynb": nbformat.writes(nb).encode()}
    assert static_flags(structure, files, course_code=known) == []
    nb.cells[-1].source = given + "\nprint(os.environ)"
    files = {f"{assignment}.ipynb": nbformat.writes(nb).encode()}
    assert {f.code for f in static_flags(structure, files, course_code=known)} == {"grading-environment"}
