"""The two start-up shortcuts of ``course grade``: they must change nothing but the time."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import nbgrader.api
import pytest

from grader.instructor.gradebook import empty_gradebook, export_structure, write_template
from grader.nbgrader_terms import nbgrader_environment
from grader.structure import AssignmentStructure, GradedCell, NotebookStructure, SourceCell

STRUCTURE = AssignmentStructure("hw", None, (NotebookStructure(
    name="hw",
    grade_cells=(GradedCell("test_a", 2.0, "code"),),
    solution_cells=("solve_a",),
    task_cells=(),
    source_cells=(SourceCell("test_a", "code", True, "assert a == 1", "c1"),
                  SourceCell("solve_a", "code", False, "a = 1", "c2")),
),))


def test_a_template_from_the_empty_gradebook_needs_no_alembic_and_holds_the_structure(tmp_path, monkeypatch):
    # nbgrader runs `alembic` by name, from the environment's bin/
    monkeypatch.setenv("PATH", nbgrader_environment()["PATH"])
    empty = empty_gradebook("course101")

    def no_alembic():
        raise AssertionError("a copy of an existing gradebook must not run `alembic heads`")

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", no_alembic)
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    write_template(STRUCTURE, first, "course101", empty)
    write_template(dataclasses.replace(STRUCTURE, assignment="other"), second, "course101", empty)
    assert export_structure(f"sqlite:///{first}", "hw") == STRUCTURE
    # each template holds its own assignment only: the empty bytes were not changed by the first
    with nbgrader.api.Gradebook(f"sqlite:///{second}", "course101") as gb:
        assert [a.name for a in gb.assignments] == ["other"]
    with nbgrader.api.Gradebook(f"sqlite:///{first}", "course101") as gb:
        assert [a.name for a in gb.assignments] == ["hw"]
        version = gb.db.execute(nbgrader.api.text("SELECT version_num FROM alembic_version")).scalar()
    assert version  # nbgrader's migrations still know where this gradebook stands


def test_the_task_entry_point_skips_only_the_slow_optional_import():
    code = (
        "import sys\n"
        "from grader.worker.nbgrader_main import skip_slow_optional_imports\n"
        "skip_slow_optional_imports()\n"
        "import jsonschema._format, nbformat\n"
        "assert 'rfc3987_syntax' not in sys.modules or sys.modules['rfc3987_syntax'] is None\n"
        "assert 'iri' not in jsonschema.FormatChecker.checkers\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "nbformat.validate(nb)\n"
        "bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "del bad.cells[0]['source']\n"
        "try:\n"
        "    nbformat.validate(bad)\n"
        "except nbformat.ValidationError:\n"
        "    print('still validates')\n"
    )
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "still validates"


@pytest.mark.parametrize("args", [["--version"], ["autograde", "--help"]])
def test_the_task_entry_point_is_nbgraders_command_line(args):
    ours = subprocess.run([sys.executable, "-m", "grader.worker.nbgrader_main", *args],
                          capture_output=True, text=True, timeout=120)
    theirs = subprocess.run([sys.executable, "-m", "nbgrader", *args], capture_output=True, text=True,
                            timeout=120)
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout
