"""Issue 21's in-kernel tricks (:mod:`tests.grading.tricks`): each kind beats plain nbgrader, none the judge.

One course copy holds the reference solution, the broken answer and every trick submission of
``01_computation_graphs``. It is graded twice, at the same time, in two copies:

* :func:`grade_in_kernel`: plain ``nbgrader autograde`` with the course's own configuration, where the
  test cells run in the student's kernel. A trick works when it earns more than the broken answer
  alone there; every trick does, except two liars that 01's checks were hardened against
  (:data:`tests.grading.tricks.OUTLIVED`).
* :func:`grade_through_judge`: ``course grade`` (sandboxed, as root), where the judge decides every
  test cell. Each trick must earn exactly what the broken answer earns, cell by cell, while the
  reference keeps full marks (so that the judge is seen to pass what is right).

The course lives under ``test-artifacts/`` so that the sandboxed kernels can be given its folders.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.nbgrader_terms import grade_id, is_test_cell
from tests.course_copy import make_course_copy, nbgrader
from tests.grading import tricks
from tests.grading.conftest import course_grade
from tests.notebooks import ROOT

ASSIGNMENT = tricks.ASSIGNMENT
CELL_TIMEOUT = 30  # seconds per cell: no trick here loops


def grade_in_kernel(course: Path) -> None:
    """Plain ``nbgrader autograde`` of every submission: the checks run in the student's kernel."""
    nbgrader(course, "autograde", ASSIGNMENT, "--force", f"--Execute.timeout={CELL_TIMEOUT}")


def grade_through_judge(course: Path) -> None:
    """Every submission graded by ``course grade``, its default: the judge decides the test cells."""
    # the per-cell timeout of the plain run: a profile hook slows every cell, and on a busy machine the
    # grading tests' 10 s cut 01's plotting cells short (no notebook came back)
    outcome = course_grade(course, ASSIGNMENT, "--workers", "1", cell_timeout=CELL_TIMEOUT)
    assert outcome["status"] in (0, 1), outcome["stdout"][-2000:] + outcome["stderr"][-2000:]


def _results(course: Path) -> dict[str, dict]:
    """{student: {"score", "max_score", "cells": {grade_id: score}, "messages": {grade_id: text}}}."""
    results = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for submission in gb.find_assignment(ASSIGNMENT).submissions:
            cells = {g.name: g.score for nb in submission.notebooks for g in nb.grades if g.max_score}
            results[submission.student.id] = {"score": submission.score, "max_score": submission.max_score,
                                              "cells": cells}
    for student, result in results.items():
        path = course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        cells = nbformat.read(str(path), as_version=4).cells
        result["messages"] = {grade_id(cell): " | ".join(_said(output) for output in cell.outputs)
                              for cell in cells if cell.cell_type == "code" and is_test_cell(cell)}
    return results


def _said(output) -> str:
    """An output as one line: an error's name and value, or a stream's name and text."""
    return f"{output.get('ename', output.get('name'))}: {output.get('evalue', output.get('text', ''))}"


@pytest.fixture(scope="module")
def graded():
    """{"in_kernel": results, "judge": results, "described": {student: what}} of one build, graded twice."""
    base = ROOT / "test-artifacts"
    base.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="tricks-", dir=base))
    folder.chmod(0o755)
    try:
        course = make_course_copy(folder / "in-kernel", [ASSIGNMENT])
        nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
        described = tricks.build(course)
        judged = folder / "judge"
        shutil.copytree(course, judged)
        with ThreadPoolExecutor(2) as pool:  # two nbgrader processes, each one kernel at a time
            runs = [pool.submit(grade_in_kernel, course), pool.submit(grade_through_judge, judged)]
            for run in runs:
                run.result()
        yield {"in_kernel": _results(course), "judge": _results(judged), "described": described}
    finally:
        if not os.environ.get("COURSE_KEEP_TEST_ARTIFACTS"):
            shutil.rmtree(folder, ignore_errors=True)


def test_every_kind_of_the_issue_has_a_trick_submission():
    built = {name for names in tricks.KINDS.values() for name in names if name not in tricks.ELSEWHERE}
    assert built == set(tricks.TRICKS)
    assert all(tricks.KINDS.values()), tricks.KINDS
    for name, module in tricks.ELSEWHERE.items():  # reading the answer: the hostile corpus's walk
        assert hasattr(importlib.import_module(module), "WALK_CODE"), name


def test_the_reference_earns_full_marks_and_the_broken_answer_does_not(graded):
    for path in ("in_kernel", "judge"):
        results = graded[path]
        assert set(results) == set(graded["described"]), path
        reference = results[tricks.REFERENCE]
        assert reference["score"] == reference["max_score"] > 0, (path, reference["messages"])
        assert results[tricks.BROKEN]["score"] < reference["max_score"], path
    assert graded["judge"][tricks.BROKEN]["cells"] == graded["in_kernel"][tricks.BROKEN]["cells"]


@pytest.mark.parametrize("trick", sorted(set(tricks.TRICKS) - tricks.OUTLIVED))
def test_the_trick_beats_the_checks_in_the_kernel(graded, trick):
    """Under plain nbgrader the trick earns more than the broken answer alone: it works."""
    results = graded["in_kernel"]
    assert results[trick]["score"] > results[tricks.BROKEN]["score"], results[trick]["messages"]


def test_every_kind_has_a_submission_that_beats_the_checks_in_the_kernel(graded):
    """Issue 21's proof that each kind of trick works: one of its submissions, at least, earns more than
    the broken answer under plain nbgrader (the walk for solutions is proved in the hostile corpus's
    tests, where it finds every planted course outside the sandbox)."""
    results = graded["in_kernel"]
    broken = results[tricks.BROKEN]["score"]
    for kind, names in tricks.KINDS.items():
        built = [name for name in names if name in tricks.TRICKS]
        assert built or all(name in tricks.ELSEWHERE for name in names), kind
        if built:
            assert max(results[name]["score"] for name in built) > broken, kind


@pytest.mark.parametrize("trick", sorted(tricks.OUTLIVED))
def test_the_checks_in_the_kernel_no_longer_believe_a_lying_answer(graded, trick):
    """The liars earned 01's Value gradient cell in the kernel while that cell compared the student's
    ``grad`` with ``==`` and took its finite differences from the student's own forward; it now checks
    forward values and gradients against the test's own floats (``math.isclose`` converts a liar to
    the number it holds), and ``assert_tensor_close`` subtracts plain arrays (``np.where`` drops the
    subclass first). So in the kernel too these liars earn what the broken answer earns; the judge
    refuses them whatever the checks. The chameleon is not outlived: it has copied the expected array
    into itself at an earlier comparison, before the subtraction."""
    results = graded["in_kernel"]
    assert results[trick]["cells"] == results[tricks.BROKEN]["cells"], results[trick]["messages"]


@pytest.mark.parametrize("trick", sorted(tricks.TRICKS))
def test_through_the_judge_the_trick_earns_exactly_the_broken_answers_score(graded, trick):
    results = graded["judge"]
    assert results[trick]["cells"] == results[tricks.BROKEN]["cells"], results[trick]["messages"]
    assert results[trick]["score"] == results[tricks.BROKEN]["score"]


@pytest.mark.parametrize("trick", sorted(set(tricks.TRICKS) - set(tricks.LIARS)))
def test_the_judge_s_messages_are_the_broken_answers(graded, trick):
    """The kernel's tricks change nothing the judge says: every failure reads as the broken answer's."""
    results = graded["judge"]
    assert results[trick]["messages"] == results[tricks.BROKEN]["messages"]


@pytest.mark.parametrize("trick", sorted(tricks.LIARS))
def test_an_answer_that_lies_is_named_for_what_it_is(graded, trick):
    """The judge's messages name the lying type: it was refused, or compared as the object it is."""
    messages = graded["judge"][trick]["messages"]
    named = [m for m in messages.values() if tricks.LIARS[trick] in m]
    assert len(named) >= len(messages) // 2, messages


@pytest.mark.parametrize("trick", sorted(tricks.OUTLIVED))
def test_a_lying_answer_gets_past_checks_that_stop_the_broken_answer(graded, trick):
    """The outlived liars still work on the checks they target: in the kernel, cells that stop the
    broken answer at an equality (``AddLayer.forward(3, -4) should be -1``) fail the liar only at a
    later check, one that reads the number it holds; so they earn nothing there either
    (:func:`test_the_checks_in_the_kernel_no_longer_believe_a_lying_answer`). The chameleon passes
    those cells whole (:func:`test_the_trick_beats_the_checks_in_the_kernel`)."""
    liar = graded["in_kernel"][trick]["messages"]
    broken = graded["in_kernel"][tricks.BROKEN]["messages"]
    got_past = [cell for cell, message in broken.items() if message and message not in liar.get(cell, "")]
    assert len(got_past) >= 2, {cell: (broken[cell], liar.get(cell)) for cell in broken}
    assert "test_add_layer" in got_past
