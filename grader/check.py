"""``course check NOTEBOOK``: a learner grades their own notebook, on their machine.

The hidden tests live only in the course's ``source/`` folder. A learner who
cloned the repository has it; a learner who was handed ``release/`` only
does not, and ``course check`` then says so and stops (exit status 2)
instead of pretending to grade.

Which course: ``--root``, else the nearest folder at or above the notebook,
then at or above the current folder, that holds ``nbgrader_config.py``; else
the course this command was installed from (``make course`` installs the
repository in place, in its own ``.venv``), so that a notebook copied to
``~/work`` is checked from there. Which assignment: ``--assignment``, else
the notebook's name or its folder's, else the source notebook whose graded
cells the notebook holds (a renamed copy).

How it grades: in a throwaway course (a temporary folder holding the
course's ``nbgrader_config.py`` and ``source/<assignment>/``) it runs
``nbgrader generate_assignment``, hands the learner's notebook in as student
``learner``, and runs ``nbgrader autograde``: the same preprocessors, the
same hidden tests, the same per-cell timeout as the instructor's grading,
and, like ``course grade``, the judge decides the test cells in a process of
its own (:mod:`grader.judge`; ``--in-kernel`` runs them in the notebook's
kernel instead), but no sandbox (it is the learner's own code, on their own
machine: no root needed). Then it
prints, for each graded cell, the points and, for a failed one, the error's
whole message (:func:`grader.nbgrader_terms.error_line`, the rule feedback
and the class report follow too). It never prints test code: a message that
quotes a line of a hidden test is replaced by "a hidden test failed". The learner's file
is only read, never changed, and the throwaway course is deleted.

Exit status: 0 full marks, 1 some points lost, 2 nothing graded (bad
notebook, no hidden tests, nbgrader failed).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from grader.nbgrader_terms import (
    cell_error_line,
    copy_source_course,
    grade_id,
    hidden_lines,
    is_grade,
    nbgrader_command,
    nbgrader_environment,
)

__all__ = ["check_main", "check_notebook", "find_course_root", "installed_course_roots", "CheckError"]

STUDENT = "learner"


class CheckError(Exception):
    """Why a notebook could not be checked (printed as is, exit status 2)."""


def find_course_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``nbgrader_config.py``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "nbgrader_config.py").is_file():
            return folder
    return None


def installed_course_roots() -> list[Path]:
    """The course folders this install came from, if any.

    The checkout that holds this package (an editable install, as ``make course`` and
    ``pip install -e .`` make), then the folder that holds this Python environment (the course's
    ``.venv``); each only if it holds ``nbgrader_config.py``.
    """
    places = (Path(__file__).resolve().parents[1], Path(sys.prefix).resolve().parent)
    return [place for place in dict.fromkeys(places) if (place / "nbgrader_config.py").is_file()]


def _assignment_by_cells(notebook: Path, root: Path) -> str | None:
    """The assignment of ``root/source`` whose graded cells the notebook shares most, or None."""
    try:
        ids = {grade_id(cell) for cell in nbformat.read(str(notebook), as_version=4).cells} - {None}
    except Exception:  # noqa: BLE001 - an unreadable notebook is reported when it is read for grading
        return None
    shared = {}
    for source in sorted((root / "source").glob("*/*.ipynb")):
        if source.stem == source.parent.name:
            cells = nbformat.read(str(source), as_version=4).cells
            shared[source.stem] = len(ids & {grade_id(cell) for cell in cells})
    ranked = sorted(shared.items(), key=lambda item: -item[1])
    if not ranked or ranked[0][1] == 0 or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
        return None
    return ranked[0][0]


def _resolve(notebook: Path, assignment: str | None, root: Path | None) -> tuple[Path, str, Path]:
    if not notebook.is_file():
        raise CheckError(f"{notebook}: no such file")
    if root is None:
        nearest = find_course_root(notebook.parent) or find_course_root(Path.cwd())
        root = nearest or next(iter(installed_course_roots()), None)
    root = root.resolve() if root else None
    if root is None:
        raise CheckError(
            f"cannot find the course: no nbgrader_config.py in {notebook.parent.resolve()} or above, nor in "
            f"the current folder or above, and this command was not installed from a course folder "
            f"(make course, or pip install -e . in the repository, does that). Pass the course "
            f"repository with --root.")
    if assignment is None:
        candidates = [name for name in (notebook.stem, notebook.resolve().parent.name) if name]
        assignment = next((c for c in candidates if (root / "source" / c).is_dir()
                           or (root / "release" / c).is_dir()), None)
        if assignment is None:  # a renamed copy: the source notebook whose graded cells it holds
            assignment = _assignment_by_cells(notebook, root)
        if assignment is None:  # no source/ nor release/ copy here: trust a name like 01_computation_graphs
            assignment = next((c for c in candidates if re.fullmatch(r"\d\d_\w+", c)), None)
        if assignment is None:
            raise CheckError(f"cannot tell which assignment {notebook.name} is: name it like the released "
                             f"notebook (e.g. 01_computation_graphs.ipynb) or pass --assignment")
    source = root / "source" / assignment
    if not (source / f"{assignment}.ipynb").is_file():
        raise CheckError(
            f"the hidden tests of {assignment} are not here: {source / (assignment + '.ipynb')} is missing. "
            f"They live only in the course repository's source/ folder; a copy of release/ has the "
            f"visible tests only (run them in Jupyter). Nothing was graded.")
    return root, assignment, source


def check_notebook(notebook: Path, assignment: str | None = None, root: Path | None = None,
                   cell_timeout: int | None = None, judge: bool = True) -> dict:
    """Grade ``notebook`` against every test of its assignment.

    With ``judge`` (the default, as ``course grade``), the test cells are decided by the judge
    (:mod:`grader.judge.nbgrader`): the notebook's kernel runs its other cells, and no test code is
    sent to it; without it (``--in-kernel``) they run in the kernel, as plain ``nbgrader autograde``.

    Returns
    -------
    dict
        ``assignment``, ``score``, ``max_score`` and ``cells``: a list of
        ``{"name", "score", "max_score", "message"}`` in notebook order.

    Raises
    ------
    CheckError
        When the notebook cannot be graded (the reason is the message).
    """
    notebook = Path(notebook)
    root, assignment, source = _resolve(notebook, assignment, root)
    try:
        submitted = nbformat.read(str(notebook), as_version=4)
    except Exception as error:  # noqa: BLE001 - any unreadable file
        raise CheckError(f"{notebook} is not a readable notebook ({type(error).__name__}: "
                         f"{str(error)[:200]}); nothing was graded and the file was not changed") from None
    source_nb = nbformat.read(str(source / f"{assignment}.ipynb"), as_version=4)
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        course = Path(tmp)
        copy_source_course(root, course, [assignment])
        if judge:
            instructors = str(course / "source" / assignment)
            with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
                config.write(f"\nfrom grader.judge.nbgrader import configure_judge\n"
                             f"configure_judge(c, {instructors!r})\n")
        _nbgrader(course, "generate_assignment", assignment, "--force")
        folder = course / "submitted" / STUDENT / assignment
        folder.mkdir(parents=True)
        nbformat.write(submitted, str(folder / f"{assignment}.ipynb"))
        extra = [f"--Execute.timeout={int(cell_timeout)}"] if cell_timeout else []
        _nbgrader(course, "autograde", assignment, "--student", STUDENT, "--force", *extra)
        executed_path = course / "autograded" / STUDENT / assignment / f"{assignment}.ipynb"
        if not executed_path.is_file():
            raise CheckError("nbgrader could not grade the notebook (see the messages above)")
        executed = nbformat.read(str(executed_path), as_version=4)
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            submission = gb.find_submission(assignment, STUDENT)
            grades = {g.name: (g.score, g.max_score) for nb in submission.notebooks for g in nb.grades}
            score, max_score = submission.score, submission.max_score
    hidden = hidden_lines(source_nb.cells)
    cells = []
    for cell in executed.cells:
        cell_id = grade_id(cell)
        if cell_id in grades and is_grade(cell):
            got, most = grades[cell_id]
            cells.append({"name": cell_id, "score": got, "max_score": most,
                          "message": (cell_error_line(cell, hidden) or "") if got < most else ""})
    return {"assignment": assignment, "score": score, "max_score": max_score, "cells": cells}


def _nbgrader(course: Path, *args: str) -> None:
    process = subprocess.run(nbgrader_command(*args), cwd=course, env=nbgrader_environment(),
                             capture_output=True, text=True)
    if process.returncode != 0:
        tail = "\n".join((process.stdout + process.stderr).strip().splitlines()[-15:])
        raise CheckError(f"nbgrader {args[0]} failed:\n{tail}")


def format_result(result: dict) -> list[str]:
    lines = [f"{result['assignment']}: {result['score']:g}/{result['max_score']:g} points"]
    width = max((len(c["name"]) for c in result["cells"]), default=10)
    for cell in result["cells"]:
        mark = "ok  " if cell["score"] >= cell["max_score"] else "FAIL"
        lines.append(f"  {mark} {cell['name']:<{width}}  {cell['score']:g}/{cell['max_score']:g}"
                     + (f"  {cell['message']}" if cell["message"] else ""))
    if result["score"] >= result["max_score"]:
        lines.append("All tests pass, hidden ones included.")
    else:
        lines.append("Failed cells show the error's message; the code of hidden tests is never shown.")
    return lines


def check_main(args) -> int:
    """``course check``: print per-exercise results; exit status 0, 1 or 2."""
    print("course check: running your notebook with every test (this takes a little while)...",
          file=sys.stderr)
    try:
        result = check_notebook(args.notebook, args.assignment, args.root, args.cell_timeout,
                                judge=not args.in_kernel)
    except CheckError as error:
        print(f"course check: {error}", file=sys.stderr)
        return 2
    for line in format_result(result):
        print(line)
    return 0 if result["score"] >= result["max_score"] else 1
