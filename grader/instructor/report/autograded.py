"""What the report reads from one autograded notebook: failure messages and the student's own code.

Only the error's message (``ename: evalue``, what nbgrader's feedback
shows, by :func:`grader.nbgrader_terms.error_line`) is kept from a failed
cell, never its traceback, which quotes the test's code; a message that
still quotes a hidden line is replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.nbgrader_terms import cell_error_line, grade_id, is_grade, is_solution

__all__ = ["NotebookDigest", "digest_notebook", "own_code", "CELL_HEADER"]

CELL_HEADER = "# --- cell "


@dataclass
class NotebookDigest:
    """What one autograded notebook contributes to the report."""

    messages: dict[str, str] = field(default_factory=dict)  # grade id -> first error's last line
    timeouts: list[str] = field(default_factory=list)  # grade ids whose cell hit the cell timeout
    code: str = ""  # the student's own code of every solution cell, given lines removed
    readable: bool = True


def own_code(source: str, given: str) -> str:
    """``source`` without the lines every student was given in ``given``.

    A line is dropped when, stripped, it equals a non-blank line of the given
    cell: the signature, the docstring, ``# YOUR CODE HERE``,
    ``raise NotImplementedError()``. Order does not matter, so a student who
    moves given lines around still has them removed.
    """
    given_lines = {line.strip() for line in given.splitlines() if line.strip()}
    return "\n".join(line for line in source.splitlines()
                     if line.strip() and line.strip() not in given_lines)


def digest_notebook(path: Path, notebook: str, given_code: dict[tuple[str, str], str],
                    hidden_lines: frozenset[str]) -> NotebookDigest:
    """Failure messages, timeouts and own code of the autograded notebook at ``path``.

    Parameters
    ----------
    path : Path
        ``autograded/<student>/<assignment>/<notebook>.ipynb``.
    notebook : str
        The notebook's name in the gradebook (the file name without ``.ipynb``).
    given_code : dict
        ``(notebook, solution cell id) -> release code of the cell``.
    hidden_lines : frozenset of str
        :func:`grader.nbgrader_terms.hidden_lines` of the assignment; a message quoting one is replaced.
    """
    digest = NotebookDigest()
    try:
        # nbformat's reader parses without validating the schema (validation costs more than the
        # rest of the report on a large class); a notebook nbgrader wrote is valid
        nb = nbformat.reader.reads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (OSError, ValueError, KeyError, nbformat.reader.NotJSONError):
        return NotebookDigest(readable=False)
    pieces = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        cell_id = grade_id(cell)
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if is_grade(cell):
            message = cell_error_line(cell, hidden_lines)
            if message is not None:
                digest.messages[cell_id] = message
                if message.startswith("CellTimeoutError"):
                    digest.timeouts.append(cell_id)
        elif is_solution(cell):
            mine = own_code(source, given_code.get((notebook, cell_id), ""))
            if mine:
                pieces.append(f"{CELL_HEADER}{cell_id}\n{mine}")
    digest.code = "\n".join(pieces)
    return digest
