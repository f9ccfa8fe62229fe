"""The notebooks run as students and graders run them: in a Jupyter kernel, top to bottom."""

from __future__ import annotations

import pytest
from nbclient import NotebookClient

from tests.notebooks import (
    assignment_ids,
    is_test_cell,
    nbgrader_meta,
    read_notebook,
    release_path,
    source_path,
)

ASSIGNMENTS = assignment_ids()


def execute(path):
    nb = read_notebook(path)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return nb


def errors(cell):
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def stderr_text(cell):
    return "".join(o.text for o in cell.get("outputs", [])
                   if o.output_type == "stream" and o.name == "stderr")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_runs_and_every_test_cell_passes(assignment):
    nb = execute(source_path(assignment))
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        label = nbgrader_meta(cell).get("grade_id") or cell.source.split("\n")[0]
        assert not errors(cell), f"{label}: {[e.ename + ': ' + e.evalue for e in errors(cell)]}"
        assert not stderr_text(cell), f"{label} wrote to stderr: {stderr_text(cell)[:300]}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_notebook_fails_only_where_a_todo_is_unfilled(assignment):
    nb = execute(release_path(assignment))
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        label = nbgrader_meta(cell).get("grade_id") or cell.source.split("\n")[0]
        for error in errors(cell):
            assert error.ename == "NotImplementedError", f"{label}: {error.ename}: {error.evalue}"
        assert not stderr_text(cell), f"{label} wrote to stderr: {stderr_text(cell)[:300]}"
        if is_test_cell(cell):
            assert errors(cell), f"{label} passes although the TODOs are not filled in"
