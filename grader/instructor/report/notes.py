"""Which submissions were flagged or not graded, and why; the slowest ones.

The gradebook says *that* a submission was flagged (formgrader's mark, which
``course grade`` sets) or not graded (nbgrader left cells unscored and
removed its ``autograded/`` folder). *Why* it was flagged, ``course grade``
keeps in the gradebook's database too, in a table of its own
(:mod:`grader.instructor.flag_reasons`), so the report names the reasons with
no other file. How long each submission took, and why one was not graded,
only ``course grade --report FILE`` records
(:class:`~grader.instructor.grading_log.GradingLogRow`): pass those files with
``--grading-log`` and they join the report.
"""

from __future__ import annotations

from pathlib import Path

from grader.instructor.flag_reasons import RUNTIME_CHANGE
from grader.instructor.grading_log import GradingLogRow, read_grading_log
from grader.instructor.report.models import GradebookSubmission, GraderNote
from grader.messages import Flag, Status

__all__ = ["read_grading_logs", "flag_reasons", "grader_notes", "slowest", "NO_STORED_REASON"]

NO_STORED_REASON = ("flagged in the gradebook, with no reason stored (flagged by a person, or graded "
                    "before course grade stored reasons)")


def read_grading_logs(paths: list[Path]) -> dict[tuple[str, str], GradingLogRow]:
    """(student, assignment) -> the last row about it in ``course grade --report`` files.

    A ``skipped`` row (a run that found it already graded) says nothing new: the grading's own row stays.
    """
    rows: dict[tuple[str, str], GradingLogRow] = {}
    for path in paths:
        for row in read_grading_log(path):
            if row.status != Status.SKIPPED:
                rows[(row.student, row.assignment)] = row
    return rows


def flag_reasons(flags: list[Flag]) -> list[str]:
    """One line per static flag, then one line for every name changed at run time."""
    reasons = []
    for flag in flags:
        if flag.code != RUNTIME_CHANGE:
            where = f" ({flag.cell}:{flag.line})" if flag.cell else ""
            reasons.append(f"{flag.code}{where}: {flag.detail}".rstrip(": "))
    changed = [flag.detail for flag in flags if flag.code == RUNTIME_CHANGE]
    if changed:
        reasons.append("changed at run time: " + ", ".join(changed[:8]))
    return reasons


def _reasons_from_log(row: GradingLogRow) -> list[str]:
    reasons = []
    if row.status != Status.GRADED:
        reasons.append(f"{row.status}: {row.reason or 'no reason recorded'}")
    elif row.record_error:
        reasons.append("recording failed: " + row.record_error.strip().splitlines()[-1])
    changed = [Flag(RUNTIME_CHANGE, detail=name) for name in row.probe.changed]
    reasons += flag_reasons(list(row.flags) + changed)
    if row.cell_timeouts:
        reasons.append("cell timeout in " + ", ".join(row.cell_timeouts))
    return reasons


def grader_notes(submissions: list[GradebookSubmission], timeouts: dict[tuple[str, str], list[str]],
                 logs: dict[tuple[str, str], GradingLogRow], stored: dict[tuple[str, str], list[Flag]],
                 assignments: list[str]) -> list[GraderNote]:
    """Every submission not graded or flagged, with what is known of the reason; not graded first.

    ``stored`` holds the flag reasons kept in the gradebook's database
    (:func:`grader.instructor.flag_reasons.read_flag_reasons`); a grading log's row, when given, says
    more (why a submission was not graded, recording errors, timeouts). A submission that only a grading
    log knows (nbgrader never created it in the gradebook, e.g. a notebook that is not JSON) is included
    from the log.
    """
    notes = []
    known = set()
    for submission in submissions:
        key = (submission.student, submission.assignment)
        known.add(key)
        row = logs.get(key)
        reasons = _reasons_from_log(row) if row is not None else flag_reasons(stored.get(key, []))
        status = None
        if not submission.graded:
            status = "not graded"
            if not reasons:
                reasons.append("nbgrader left graded cells unscored and wrote no autograded notebook"
                               if not submission.has_autograded_notebook
                               else "nbgrader left graded cells unscored")
        elif submission.flagged or stored.get(key) or (row is not None and row.flagged):
            status = "flagged"
            if not reasons:
                reasons.append(NO_STORED_REASON)
        elif timeouts.get(key):
            status = "cell timeout"
            if not reasons:
                reasons.append("cell timeout in " + ", ".join(timeouts[key]))
        if status:
            notes.append(GraderNote(submission.student, submission.assignment, status, reasons,
                                    row.seconds if row is not None else None))
    for key, row in logs.items():
        if key not in known and key[1] in assignments:
            notes.append(GraderNote(key[0], key[1], "not graded", _reasons_from_log(row) or ["not graded"],
                                    row.seconds))
    order = {"not graded": 0, "flagged": 1, "cell timeout": 2}
    notes.sort(key=lambda n: (order[n.status], n.assignment, n.student))
    return notes


def slowest(logs: dict[tuple[str, str], GradingLogRow], assignments: list[str],
            count: int = 10) -> list[GraderNote]:
    """The ``count`` submissions of ``assignments`` that took longest to grade, from the grading logs."""
    timed = [row for row in logs.values() if row.seconds is not None and row.assignment in assignments]
    timed.sort(key=lambda row: -row.seconds)
    return [GraderNote(row.student, row.assignment, str(row.status),
                       [f"worker {row.worker}"] if row.worker else [], row.seconds)
            for row in timed[:count]]
