"""Every graded implementation comes after a graded derivation, and the README's table says which.

A derivation exercise is a solution cell whose grade id starts with ``derive_`` (its answer: one or
more functions), checked by the test cell ``test_<grade id>`` that follows it. The README's table
"Derive, then implement" has one row per group: the derivations, then the graded names they come
before, in notebook order.
"""

import re

import pytest

from grader.nbgrader_terms import grade_id, is_test_cell
from tests.mutation import DERIVATION_PREFIX, graded_names_by_cell
from tests.notebooks import ROOT, assignment_ids, is_solution_cell, read_notebook, source_path

TABLE_HEADING = "### Derive, then implement"
NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
NOTEBOOK = re.compile(r"`(\d\d_\w+)`")


def readme_rows() -> dict[str, list[tuple[list[str], list[str]]]]:
    """The README table's rows by notebook: (derivation functions, graded names) per row."""
    text = (ROOT / "README.md").read_text()
    assert TABLE_HEADING in text, f"the README has no table under {TABLE_HEADING!r}"
    rows: dict[str, list[tuple[list[str], list[str]]]] = {}
    notebook = None
    for line in text.split(TABLE_HEADING, 1)[1].split("\n")[1:]:
        if line.startswith("#"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] == "notebook" or (cells[0] and set(cells[0]) <= set("-: ")):
            continue
        if cells[0]:
            notebook = NOTEBOOK.findall(cells[0])[0]
        rows.setdefault(notebook, []).append((NAME.findall(cells[1]), NAME.findall(cells[2])))
    return rows


ROWS = readme_rows()


@pytest.mark.parametrize("assignment", assignment_ids())
def test_each_derivation_is_checked_by_the_test_cell_that_follows_it(assignment):
    cells = read_notebook(source_path(assignment)).cells
    derivations = [i for i, c in enumerate(cells) if is_solution_cell(c)
                   and (grade_id(c) or "").startswith(DERIVATION_PREFIX)]
    assert derivations, f"{assignment} has no derivation exercise"
    for index in derivations:
        following = next((c for c in cells[index + 1:] if is_test_cell(c) or is_solution_cell(c)), None)
        label = grade_id(cells[index])
        assert following is not None and is_test_cell(following) and grade_id(following) == f"test_{label}", (
            f"{assignment}: the derivation {label} is not followed by its test cell test_{label}")


@pytest.mark.parametrize("assignment", assignment_ids())
def test_the_readme_table_lists_every_derivation_before_what_it_prepares(assignment):
    assert assignment in ROWS, f"the README's table has no row for {assignment}"
    order = [(name, cell.startswith(DERIVATION_PREFIX)) for cell, name in graded_names_by_cell(assignment)]
    position = {name: i for i, (name, _) in enumerate(order)}
    listed = [name for derived, implemented in ROWS[assignment] for name in derived + implemented]
    assert sorted(listed) == sorted(position), (
        f"{assignment}: the README's table lists {sorted(set(listed) - set(position))} that the notebook "
        f"does not define and misses {sorted(set(position) - set(listed))}")
    previous_end = -1
    for derived, implemented in ROWS[assignment]:
        assert derived and implemented, f"{assignment}: a row needs derivations and implementations"
        assert all(dict(order)[name] for name in derived), f"{assignment}: {derived} are not all derivations"
        assert not any(dict(order)[name] for name in implemented), (
            f"{assignment}: {implemented} are not all implementations")
        first, last = min(position[n] for n in derived), max(position[n] for n in derived)
        assert first > previous_end and last < min(position[n] for n in implemented), (
            f"{assignment}: {derived} do not all come after the previous row and before {implemented}")
        previous_end = max(position[n] for n in implemented)
