"""Which test cells fail most, and with which messages.

A student's *first* failure in a test cell is the error that stopped it
(later checks never ran). Two students who made the same mistake get
messages that differ only in numbers (the index where ``dW`` first differs,
the value found there, a relative error), so numbers are masked before
grouping: "dW of affine_backward differs at index (#, #), value #" groups
them, while the words, array names and dtypes (``float32`` keeps its digits)
still tell mistakes apart.
"""

from __future__ import annotations

import re
from collections import defaultdict

from grader.instructor.report.models import CellFailures, FailureGroup, GradebookSubmission

__all__ = ["mask_numbers", "cell_failures", "NO_MESSAGE"]

NO_MESSAGE = "(no error shown: the cell lost points without raising)"
# a number not glued to a name (float32, x2 and 1e-07's exponent stay as they are)
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]*\w)")


def mask_numbers(message: str) -> str:
    """``message`` with every number replaced by ``#``.

    Examples
    --------
    >>> mask_numbers("dx differs at index (0, 3), value -0.25, relative error 1.5e-02")
    'dx differs at index (#, #), value #, relative error #'
    >>> mask_numbers("out has dtype float64, expected float32")
    'out has dtype float64, expected float32'
    """
    return _NUMBER.sub("#", message)


def cell_failures(assignment: str, cell_order: list[str], max_scores: dict[str, float],
                  submissions: list[GradebookSubmission],
                  messages: dict[str, dict[str, str]]) -> list[CellFailures]:
    """Failure rate and grouped first-failure messages of every graded cell of ``assignment``.

    Parameters
    ----------
    cell_order : list of str
        Grade ids in notebook order.
    max_scores : dict
        Grade id -> max score.
    submissions : list of GradebookSubmission
        The graded submissions of ``assignment`` (a failure is a score below the max).
    messages : dict
        Student -> grade id -> the first error's last line in the autograded notebook.
    """
    result = []
    for cell in cell_order:
        grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
        failed = 0
        for submission in submissions:
            score = next((c for c in submission.cells if c.name == cell), None)
            if score is None or score.score >= score.max_score:
                continue
            failed += 1
            message = messages.get(submission.student, {}).get(cell, NO_MESSAGE)
            grouped[mask_numbers(message)].append((submission.student, message))
        groups = [FailureGroup(masked, len(members), members[0][1], sorted(s for s, _ in members))
                  for masked, members in grouped.items()]
        groups.sort(key=lambda g: (-g.count, g.message))
        result.append(CellFailures(assignment, cell, max_scores.get(cell, 0.0), len(submissions), failed,
                                   groups))
    return result
