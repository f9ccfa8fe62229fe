"""``course check NOTEBOOK``: a learner's own grading, hidden tests included but never shown."""

from __future__ import annotations

import shutil
import subprocess
import sys

import nbformat
import pytest

from grader.check import CheckError, check_notebook, installed_course_roots
from grader.nbgrader_terms import copy_source_course
from tests.course_copy import reference_submission, submission_with
from tests.grading import corpus
from tests.grading.conftest import CELL_TIMEOUT, course_env
from tests.mutation import RELATION_PHRASES, exact_relations, mutants
from tests.notebooks import ROOT
from tests.test_nbgrader_pipeline import _hidden_lines

ASSIGNMENT = corpus.ASSIGNMENT


def course_check(notebook, cwd, *args):
    return subprocess.run([sys.executable, "-m", "grader", "check", str(notebook), "--cell-timeout",
                           str(CELL_TIMEOUT), *args], cwd=cwd, env=course_env(), capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def learner(template, artifacts):
    """A learner's clone: the course with source/, and my-work/ holding their notebooks."""
    course = template[0]
    clone = copy_source_course(course, artifacts / "clone", [ASSIGNMENT])
    work = clone / "my-work" / ASSIGNMENT
    work.mkdir(parents=True)
    nbformat.write(reference_submission(course, ASSIGNMENT), str(work / f"{ASSIGNMENT}.ipynb"))
    wrong = submission_with(course, ASSIGNMENT, "fruit_price",
                            "def fruit_price(apple, apple_num, orange, orange_num, tax):\n    return 0.0")
    nbformat.write(wrong, str(work / "wrong.ipynb"))
    (work / "broken.ipynb").write_text('{"cells": [')
    return clone, work


def test_full_marks(learner):
    clone, work = learner
    result = course_check(work / f"{ASSIGNMENT}.ipynb", clone)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "14/14 points" in result.stdout or "All tests pass" in result.stdout
    assert "FAIL" not in result.stdout


def test_a_wrong_answer_fails_exactly_its_test_without_showing_hidden_code(learner):
    clone, work = learner
    notebook = work / "wrong.ipynb"
    before = notebook.read_bytes()
    result = course_check(notebook, clone, "--assignment", ASSIGNMENT)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert len(failed) == 1 and "test_fruit_price" in failed[0], result.stdout
    hidden = _hidden_lines(ASSIGNMENT)
    assert hidden
    assert not [line for line in hidden if line in result.stdout + result.stderr]
    assert notebook.read_bytes() == before


def test_the_message_says_what_kind_of_wrong(learner, template):
    """course check shows the same diagnosis as the notebook: a mutant's exact relation (a factor)."""
    clone, work = learner
    label, relation = next(iter(exact_relations(ASSIGNMENT).items()))
    entry = next(e for e in mutants(ASSIGNMENT) if e.label == label)
    notebook = work / "relation.ipynb"
    nbformat.write(submission_with(template[0], ASSIGNMENT, entry.target, entry.source), str(notebook))
    result = course_check(notebook, clone, "--assignment", ASSIGNMENT)
    assert result.returncode == 1, result.stdout + result.stderr
    assert RELATION_PHRASES[relation] in result.stdout, result.stdout


def test_the_judge_is_the_default_and_in_kernel_runs_the_tests_in_the_kernel(learner, monkeypatch):
    """Both ways, the same verdicts for an honest notebook; the judge's cells say it decided them."""
    clone, work = learner
    judged = course_check(work / "wrong.ipynb", clone, "--assignment", ASSIGNMENT)
    in_kernel = course_check(work / "wrong.ipynb", clone, "--assignment", ASSIGNMENT, "--in-kernel")
    alias = course_check(work / "wrong.ipynb", clone, "--assignment", ASSIGNMENT, "--judge")
    for result in (judged, in_kernel, alias):
        assert result.returncode == 1, result.stdout + result.stderr
    assert judged.stdout == in_kernel.stdout == alias.stdout
    ran = []
    monkeypatch.setattr("grader.check._nbgrader", lambda course, *args: ran.append(
        (args[0], (course / "nbgrader_config.py").read_text())) or (_ for _ in ()).throw(CheckError("stop")))
    for judge in (True, False):
        with pytest.raises(CheckError):
            check_notebook(work / "wrong.ipynb", ASSIGNMENT, clone, judge=judge)
    assert ["configure_judge(" in config for _, config in ran] == [True, False]


def test_a_broken_notebook_is_a_clear_error_and_is_left_alone(learner):
    clone, work = learner
    notebook = work / "broken.ipynb"
    result = course_check(notebook, clone, "--assignment", ASSIGNMENT)
    assert result.returncode == 2
    assert "not a readable notebook" in result.stderr
    assert notebook.read_text() == '{"cells": ['


def test_without_source_it_says_the_hidden_tests_are_missing(learner, artifacts):
    clone, work = learner
    release_only = artifacts / "release-only"
    release_only.mkdir()
    shutil.copy(clone / "nbgrader_config.py", release_only)
    shutil.copytree(work, release_only / "my-work" / ASSIGNMENT)
    result = course_check(release_only / "my-work" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", release_only)
    assert result.returncode == 2
    assert "hidden tests" in result.stderr and "source/" in result.stderr
    assert "Nothing was graded" in result.stderr


# ------------------------------------------------------------------------------------------------
# A copy outside the repository: a learner who ran `make course` and copied a notebook to ~/work
# ------------------------------------------------------------------------------------------------


def test_this_checkout_is_the_course_this_command_was_installed_from():
    assert ROOT.resolve() in installed_course_roots()


def test_outside_the_repository_a_renamed_copy_is_checked_against_the_course_it_came_from(tmp_path):
    """No --root, no --assignment, no course above the notebook or the current folder."""
    work = tmp_path / "work"
    work.mkdir()
    notebook = work / "my attempt.ipynb"
    shutil.copy(ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", notebook)
    result = course_check(notebook.name, work)
    # the release notebook is unanswered: graded, with points lost (1), not "could not grade" (2)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{ASSIGNMENT}: 0/" in result.stdout, result.stdout


def test_outside_any_course_and_any_course_install_it_asks_for_root(tmp_path, monkeypatch):
    monkeypatch.setattr("grader.check.installed_course_roots", lambda: [])
    monkeypatch.chdir(tmp_path)
    notebook = tmp_path / f"{ASSIGNMENT}.ipynb"
    shutil.copy(ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", notebook)
    with pytest.raises(CheckError, match="cannot find the course.*--root"):
        check_notebook(notebook)


def test_a_notebook_of_no_assignment_is_named_as_such(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    notebook = tmp_path / "notes.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), str(notebook))
    with pytest.raises(CheckError, match="cannot tell which assignment notes.ipynb is"):
        check_notebook(notebook)
