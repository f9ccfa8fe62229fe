"""nbgrader's vocabulary, said once: cell roles, hidden tests, the environment nbgrader needs.

The grader, the scripts and the tests read notebooks the way nbgrader does through this module, so that
they cannot disagree with nbgrader or with one another:

* cell roles come from ``nbgrader.utils`` (``is_grade``, ``is_solution``, ``is_locked``), the functions
  nbgrader itself decides with; a *test cell* is a graded code cell that is not a solution;
* the ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` delimiters, with the rule of nbgrader's
  ``ClearHiddenTests`` (a line that holds the delimiter and nothing else, any number of ``#``), and the
  split of a test cell into the part a student sees and the hidden part;
* what a failed test cell may show: :func:`error_line`, the one rule by which feedback, ``course check``
  and the class report turn an error output into a message (whole, on one line, with a message that
  quotes a hidden test's line masked, see :func:`hidden_lines`);
* the environment an ``nbgrader`` command needs: this interpreter's ``bin/`` first on ``PATH``, because
  nbgrader starts ``alembic`` by name when it creates a gradebook.

It imports nbgrader only (no Dask, no course code), so the learner's ``course check`` can use it.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from nbformat import NotebookNode
from nbgrader import utils as nbgrader_utils

__all__ = [
    "TIMEOUT_ENAMES",
    "HIDDEN_BEGIN",
    "HIDDEN_END",
    "SOLUTION_BEGIN",
    "SOLUTION_END",
    "nbgrader_metadata",
    "grade_id",
    "points",
    "is_grade",
    "is_solution",
    "is_locked",
    "is_test_cell",
    "is_hidden_delimiter",
    "split_hidden",
    "split_solution",
    "visible_part",
    "hidden_lines",
    "MIN_HIDDEN_LINE",
    "MAX_MESSAGE",
    "HIDDEN_MESSAGE",
    "error_line",
    "cell_error_line",
    "without_solution_delimiters",
    "nbgrader_environment",
    "nbgrader_command",
    "copy_source_course",
]

# nbgrader's ClearHiddenTests and ClearSolutions match a delimiter as the whole line, after any number of
# "#" and surrounding spaces (their default begin/end strings are "BEGIN HIDDEN TESTS", ...)
HIDDEN_BEGIN = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS\s*$")
HIDDEN_END = re.compile(r"^\s*#+\s*END HIDDEN TESTS\s*$")
SOLUTION_BEGIN = re.compile(r"^\s*#+\s*BEGIN SOLUTION\s*$")
SOLUTION_END = re.compile(r"^\s*#+\s*END SOLUTION\s*$")


def nbgrader_metadata(cell: Mapping) -> dict:
    """The cell's ``metadata.nbgrader`` dict, or ``{}`` when it has none (or a malformed one)."""
    metadata = cell.get("metadata") if isinstance(cell, Mapping) else None
    found = metadata.get("nbgrader") if isinstance(metadata, Mapping) else None
    return dict(found) if isinstance(found, Mapping) else {}


def _as_node(cell: Mapping) -> NotebookNode:
    """The cell as ``nbgrader.utils`` expects it: attribute access, a dict for ``metadata.nbgrader``.

    A submitted notebook is untrusted: its metadata may be missing or of the wrong type, which would make
    nbgrader's helpers raise instead of answering.
    """
    meta = nbgrader_metadata(cell)
    metadata = NotebookNode(nbgrader=NotebookNode(meta)) if meta else NotebookNode()
    cell_type = cell.get("cell_type") if isinstance(cell, Mapping) else None
    return NotebookNode(cell_type=cell_type, metadata=metadata)


def grade_id(cell: Mapping) -> str | None:
    """The cell's ``grade_id``, or None."""
    return nbgrader_metadata(cell).get("grade_id")


def points(cell: Mapping) -> float:
    """The points of a graded cell (0 for any other cell)."""
    return float(nbgrader_metadata(cell).get("points", 0) or 0)


def is_grade(cell: Mapping) -> bool:
    """nbgrader's *graded* cell (``nbgrader.utils.is_grade``)."""
    return bool(nbgrader_utils.is_grade(_as_node(cell)))


def is_solution(cell: Mapping) -> bool:
    """nbgrader's *solution* cell (``nbgrader.utils.is_solution``)."""
    return bool(nbgrader_utils.is_solution(_as_node(cell)))


def is_locked(cell: Mapping) -> bool:
    """A cell nbgrader puts back from the gradebook (``nbgrader.utils.is_locked``: graded cells too)."""
    return bool(nbgrader_utils.is_locked(_as_node(cell)))


def is_test_cell(cell: Mapping) -> bool:
    """An autograded test cell: a graded code cell that is not a solution."""
    return cell.get("cell_type") == "code" and is_grade(cell) and not is_solution(cell)


def is_hidden_delimiter(line: str) -> bool:
    """True for a ``### BEGIN HIDDEN TESTS`` or ``### END HIDDEN TESTS`` line."""
    return bool(HIDDEN_BEGIN.match(line) or HIDDEN_END.match(line))


def _split_regions(source: str, begin: re.Pattern, end: re.Pattern) -> tuple[str, str]:
    """``(outside, inside)`` the ``begin``/``end`` regions of ``source``, the delimiter lines in neither."""
    outside, inside_lines, inside = [], [], False
    for line in (source or "").split("\n"):
        if begin.match(line):
            inside = True
        elif end.match(line):
            inside = False
        else:
            (inside_lines if inside else outside).append(line)
    return "\n".join(outside), "\n".join(inside_lines)


def split_hidden(source: str) -> tuple[str, str]:
    """A test cell's code as ``(visible, hidden)``, the delimiters in neither.

    The visible part is what the release shows (nbgrader's ``ClearHiddenTests`` removes each region from
    its BEGIN line to its END line); the hidden part is the lines inside the regions, in order. A region
    left open runs to the end of the cell, as in nbgrader.
    """
    return _split_regions(source, HIDDEN_BEGIN, HIDDEN_END)


def split_solution(source: str) -> tuple[str, str]:
    """A solution cell's code as ``(given, solution)``: outside and inside the SOLUTION regions.

    The release keeps the first and replaces each region by nbgrader's stub.
    """
    return _split_regions(source, SOLUTION_BEGIN, SOLUTION_END)


def visible_part(source: str) -> str:
    """A test cell as the release shows it: the hidden regions removed."""
    return split_hidden(source)[0]


#: A hidden line shorter than this ("pass", "x = 1") would mask ordinary messages and gives no test away.
MIN_HIDDEN_LINE = 12
#: The longest message shown: every message of the course is far shorter, so none is cut; a longer one
#: (student code may raise anything) is cut here, with the count of what was left out.
MAX_MESSAGE = 4000
#: What stands after ``ename:`` when the message quotes a hidden test's line.
HIDDEN_MESSAGE = "a hidden test failed (its message quotes test code, not shown)"
#: The ``ename`` of a test cell's error output that says it ran out of time: nbgrader's own for a cell,
#: the judge's for one call into the student's code (:class:`grader.judge.channel.CallTimeout`, whose
#: limit is nbgrader's per-cell timeout)
TIMEOUT_ENAMES = ("CellTimeoutError", "CallTimeout")


def _source_of(cell: Mapping) -> str:
    source = cell.get("source", "") if isinstance(cell, Mapping) else ""
    return "".join(source) if isinstance(source, list) else str(source)


def hidden_lines(cells) -> frozenset[str]:
    """The lines of ``cells``' hidden-test regions that would give a hidden test away.

    A line counts when, stripped, it is at least :data:`MIN_HIDDEN_LINE` characters long and is not
    part of any line shown outside the hidden regions of ``cells`` (a line the student sees anyway,
    such as the same call without its comment, gives nothing away).
    """
    hidden, visible = set(), set()
    for cell in cells:
        shown, secret = split_hidden(_source_of(cell))
        hidden |= {line.strip() for line in secret.split("\n")}
        visible |= {line.strip() for line in shown.split("\n") if line.strip()}
    return frozenset(line for line in hidden - visible
                     if len(line) >= MIN_HIDDEN_LINE and not any(line in shown for shown in visible))


def error_line(output: Mapping, hidden: frozenset[str] | set[str] = frozenset()) -> str:
    """What a failed cell shows of its error ``output``: ``ename: evalue``, whole, on one line.

    Runs of whitespace become one space; a message that quotes a line of ``hidden``
    (:func:`hidden_lines`) becomes ``ename: HIDDEN_MESSAGE``; a message longer than
    :data:`MAX_MESSAGE` is cut there, saying how much was left out. Feedback, ``course check`` and the
    report all use this function.
    """
    ename = str(output.get("ename") or "Error")
    text = " ".join(f"{ename}: {output.get('evalue') or ''}".split()).rstrip(":")
    if any(line in text for line in hidden):
        return f"{ename}: {HIDDEN_MESSAGE}"
    if len(text) > MAX_MESSAGE:
        return f"{text[:MAX_MESSAGE]}... ({len(text) - MAX_MESSAGE} more characters not shown)"
    return text


def cell_error_line(cell: Mapping, hidden: frozenset[str] | set[str] = frozenset()) -> str | None:
    """:func:`error_line` of the cell's first error output, or None when it has none."""
    for output in cell.get("outputs", []) or []:
        if isinstance(output, Mapping) and output.get("output_type") == "error":
            return error_line(output, hidden)
    return None


def without_solution_delimiters(source: str) -> str:
    """A solution cell's code as a student would type it: the BEGIN/END SOLUTION lines removed."""
    return "\n".join(line for line in source.split("\n")
                     if not (SOLUTION_BEGIN.match(line) or SOLUTION_END.match(line)))


def nbgrader_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with this interpreter's ``bin/`` first on PATH.

    nbgrader starts ``alembic`` by name to create or upgrade a gradebook; without the environment's
    ``bin/`` on PATH it finds another alembic, or none.
    """
    env = dict(os.environ if base is None else base)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("JPY_PARENT_PID", None)  # a notebook server's variable: nbgrader run from one must not see it
    return env


def nbgrader_command(*args: str) -> list[str]:
    """The command line of ``nbgrader ARGS`` on this interpreter, started without a slow optional import.

    See :mod:`grader.worker.nbgrader_main` for what it skips.
    """
    from grader.worker import nbgrader_main

    return [sys.executable, "-m", nbgrader_main.__name__, *args]


def copy_source_course(root: Path, destination: Path, assignments) -> Path:
    """A throwaway course for nbgrader: ``root``'s ``nbgrader_config.py`` and ``source/<assignment>/``.

    nbgrader writes everything else (``release/``, ``gradebook.db``, ``submitted/``...) inside
    ``destination``, never in ``root``. Editor and Python caches are left out.
    """
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(root) / "nbgrader_config.py", destination)
    for assignment in assignments:
        shutil.copytree(Path(root) / "source" / assignment, destination / "source" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return destination
