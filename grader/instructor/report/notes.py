"""Which submissions were flagged or not graded, and why; the slowest ones.

The gradebook says *that* a submission was flagged (formgrader's mark, which
``course grade`` sets) or not graded (nbgrader left cells unscored and
removed its ``autograded/`` folder). *Why*, and how long each took, only
``course grade --report FILE`` records: pass those files with
``--grading-log`` and their reasons, flags and times join the report.
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.instructor.report.models import GradebookSubmission, GraderNote

__all__ = ["read_grading_logs", "grader_notes", "slowest"]


def read_grading_logs(paths: list[Path]) -> dict[tuple[str, str], dict]:
    """(student, assignment) -> the last row about it in ``course grade --report`` files."""
    rows: dict[tuple[str, str], dict] = {}
    for path in paths:
        for row in json.loads(Path(path).read_text()):
            rows[(row["student"], row["assignment"])] = row
    return rows


def _reasons_from_log(row: dict) -> list[str]:
    reasons = []
    if row.get("status") and row["status"] != "graded":
        reasons.append(f"{row['status']}: {row.get('reason') or 'no reason recorded'}")
    if row.get("record_error") and row.get("status") == "graded":
        reasons.append("recording failed: " + row["record_error"].strip().splitlines()[-1])
    for flag in row.get("flags") or []:
        where = f" ({flag['cell']}:{flag['line']})" if flag.get("cell") else ""
        reasons.append(f"{flag['code']}{where}: {flag.get('detail') or ''}".rstrip(": "))
    changed = (row.get("probe") or {}).get("changed") or []
    if changed:
        reasons.append("changed at run time: " + ", ".join(changed[:8]))
    if row.get("cell_timeouts"):
        reasons.append("cell timeout in " + ", ".join(row["cell_timeouts"]))
    return reasons


def grader_notes(submissions: list[GradebookSubmission], timeouts: dict[tuple[str, str], list[str]],
                 logs: dict[tuple[str, str], dict], assignments: list[str]) -> list[GraderNote]:
    """Every submission not graded or flagged, with what is known of the reason; not graded first.

    A submission that only a grading log knows (nbgrader never created it in
    the gradebook, e.g. a notebook that is not JSON) is included from the log.
    """
    notes = []
    known = set()
    for submission in submissions:
        key = (submission.student, submission.assignment)
        known.add(key)
        row = logs.get(key, {})
        reasons = _reasons_from_log(row)
        status = None
        if not submission.graded:
            status = "not graded"
            if not reasons:
                reasons.append("nbgrader left graded cells unscored and wrote no autograded notebook"
                               if not submission.has_autograded_notebook
                               else "nbgrader left graded cells unscored")
        elif submission.flagged or row.get("flags") or (row.get("probe") or {}).get("changed"):
            status = "flagged"
            if not reasons:
                reasons.append("flagged in the gradebook (no grading log names the reason)")
        elif timeouts.get(key):
            status = "cell timeout"
            if not reasons:
                reasons.append("cell timeout in " + ", ".join(timeouts[key]))
        if status:
            notes.append(GraderNote(submission.student, submission.assignment, status, reasons,
                                    row.get("seconds")))
    for key, row in logs.items():
        if key not in known and key[1] in assignments:
            notes.append(GraderNote(key[0], key[1], "not graded", _reasons_from_log(row) or ["not graded"],
                                    row.get("seconds")))
    order = {"not graded": 0, "flagged": 1, "cell timeout": 2}
    notes.sort(key=lambda n: (order[n.status], n.assignment, n.student))
    return notes


def slowest(logs: dict[tuple[str, str], dict], assignments: list[str], count: int = 10) -> list[GraderNote]:
    """The ``count`` submissions of ``assignments`` that took longest to grade, from the grading logs."""
    timed = [row for row in logs.values()
             if row.get("seconds") is not None and row["assignment"] in assignments]
    timed.sort(key=lambda row: -row["seconds"])
    return [GraderNote(row["student"], row["assignment"], row.get("status") or "?",
                       [f"worker {row['worker']}"] if row.get("worker") else [], row["seconds"])
            for row in timed[:count]]
