"""The notebooks as files: clean sources, a release in sync, nothing leaked."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import pytest

from grader.nbgrader_terms import SOLUTION_BEGIN, is_hidden_delimiter, split_hidden, split_solution
from tests.notebooks import (
    ROOT,
    assignment_ids,
    is_solution_cell,
    is_test_cell,
    nbgrader_meta,
    read_notebook,
    release_path,
    source_path,
)

ASSIGNMENTS = assignment_ids()


def test_source_notebooks_are_stored_clean():
    result = subprocess.run(
        [sys.executable, "scripts/clean_notebooks.py", "--check",
         *[str(source_path(a)) for a in ASSIGNMENTS]],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_structure_follows_the_course_rules(assignment):
    nb = read_notebook(source_path(assignment))
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    setup = code_cells[0]
    assert nbgrader_meta(setup).get("locked") and nbgrader_meta(setup).get("grade_id") == "setup"
    grade_ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(grade_ids) == len(set(grade_ids)), "duplicated grade ids"
    for cell in code_cells:
        assert not re.search(r"^\s*[%!]", cell.source, re.M) or not nbgrader_meta(cell), (
            f"IPython magic in graded or locked cell {nbgrader_meta(cell).get('grade_id')}"
        )
    tests = [c for c in code_cells if is_test_cell(c)]
    solutions = [c for c in code_cells if is_solution_cell(c)]
    assert tests and solutions
    for cell in solutions:
        assert any(SOLUTION_BEGIN.match(line) for line in cell.source.split("\n"))
    for cell in tests:
        grade_id = nbgrader_meta(cell)["grade_id"]
        assert float(nbgrader_meta(cell).get("points", 0)) > 0, f"{grade_id} has no points"
        tree = ast.parse(cell.source)
        first = tree.body[0]
        assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant), (
            f"{grade_id} does not open with a docstring saying what it checks"
        )
        assert sum(1 for line in cell.source.split("\n") if is_hidden_delimiter(line)) == 2, (
            f"{grade_id} needs exactly one hidden-test region"
        )


def _ends_without_a_value(source: str) -> bool:
    """nbgrader reads a number shown by a test cell as partial credit: show none."""
    body = ast.parse(source).body
    if not body:
        return True
    last = body[-1]
    if not isinstance(last, ast.Expr):
        return True
    call = last.value
    # print and the course's assert_*/check_* helpers return None.
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and (call.func.id == "print" or call.func.id.startswith(("assert_", "check_")))
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_test_cells_never_end_with_a_value(assignment):
    for path in (source_path(assignment), release_path(assignment)):
        for cell in read_notebook(path).cells:
            if is_test_cell(cell):
                source = "\n".join(
                    line for line in cell.source.split("\n") if not is_hidden_delimiter(line)
                )
                assert _ends_without_a_value(source), f"{nbgrader_meta(cell)['grade_id']} in {path}"


def _files_under(release_root, assignment):
    return sorted(
        p.relative_to(release_root) for p in (release_root / assignment).rglob("*") if p.is_file()
    )


def _normalised(path):
    return json.loads(path.read_text())


def test_release_equals_a_fresh_nbgrader_generate_assignment(tmp_path):
    subprocess.run(
        [sys.executable, "scripts/generate_release.py", *ASSIGNMENTS, "--out", str(tmp_path)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    for assignment in ASSIGNMENTS:
        fresh = _files_under(tmp_path / "release", assignment)
        committed = _files_under(ROOT / "release", assignment)
        assert fresh == committed, f"release/{assignment} has other files than nbgrader generates"
        for relative in fresh:
            if relative.suffix == ".ipynb":
                assert _normalised(ROOT / "release" / relative) == _normalised(
                    tmp_path / "release" / relative
                ), f"release/{relative} is stale: run `make release`"
            else:
                assert (ROOT / "release" / relative).read_bytes() == (
                    tmp_path / "release" / relative
                ).read_bytes()


def test_release_has_exactly_the_assignments_of_source():
    released = sorted(p.name for p in (ROOT / "release").iterdir() if p.is_dir())
    sources = sorted(p.parent.name for p in (ROOT / "source").glob("*/*.ipynb"))
    assert released == sources


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_solution_and_no_hidden_test(assignment):
    source = read_notebook(source_path(assignment))
    release_text = "\n".join(c.source for c in read_notebook(release_path(assignment)).cells)
    assert "BEGIN SOLUTION" not in release_text and "HIDDEN TESTS" not in release_text
    secret = set()
    outside = set()
    for cell in source.cells:
        shown, hidden = (split_solution if is_solution_cell(cell) else split_hidden)(cell.source)
        outside_lines, inside_lines = shown.split("\n"), hidden.split("\n")
        secret |= {line.strip() for line in inside_lines}
        outside |= {line.strip() for line in outside_lines}
    release_lines = {line.strip() for line in release_text.split("\n")}
    leaked = {line for line in secret - outside if len(line) >= 12} & release_lines
    assert not leaked, f"release/{assignment} shows solution or hidden lines: {sorted(leaked)[:3]}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_keeps_the_visible_tests(assignment):
    release = {
        nbgrader_meta(c)["grade_id"]: c.source
        for c in read_notebook(release_path(assignment)).cells
        if is_test_cell(c)
    }
    for cell in read_notebook(source_path(assignment)).cells:
        if is_test_cell(cell):
            shown, hidden = split_hidden(cell.source)
            hidden_lines = {line.strip() for line in hidden.split("\n")}
            visible = [line for line in shown.split("\n")
                       if line.strip() and line.strip() not in hidden_lines]
            for line in visible:
                assert line in release[nbgrader_meta(cell)["grade_id"]]


# The graded names of the course's curriculum (its fixed contract: names and signatures), per assignment.
# Vendored here: the curriculum document is not part of the repository, so a test that read it from
# beside the checkout skipped on every clone.
GRADED_NAMES = {
    "01_computation_graphs": {"AddLayer", "MulLayer", "Value", "fruit_price"},
    "02_activations": {"cross_entropy_loss", "mse_loss", "relu_backward", "relu_forward", "sigmoid_backward",
                       "sigmoid_forward", "tanh_backward", "tanh_forward"},
    "03_softmax": {"softmax", "softmax_backward", "softmax_cross_entropy", "softmax_jacobian"},
    "04_fully_connected": {"affine_backward", "affine_forward", "mlp_backward", "mlp_forward"},
    "05_maxpool": {"maxpool_backward", "maxpool_forward"},
    "06_convolution": {"conv2d_backward", "conv2d_forward"},
    "07_cnn": {"SimpleCNN", "col2im", "conv2d_backward_fast", "conv2d_forward_fast", "im2col", "train"},
}


def test_every_assignment_has_its_graded_names():
    assert sorted(GRADED_NAMES) == sorted(p.parent.name for p in (ROOT / "source").glob("*/*.ipynb"))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_graded_names_of_the_curriculum_are_defined_in_solution_cells(assignment):
    solution_code = "\n".join(
        c.source for c in read_notebook(source_path(assignment)).cells if is_solution_cell(c)
    )
    defined = set(re.findall(r"^(?:def|class) ([A-Za-z_]\w*)", solution_code, re.M))
    missing = GRADED_NAMES[assignment] - defined
    assert not missing, f"{assignment}: curriculum names not defined in solution cells: {missing}"
