"""The end-of-run summary of ``course grade``, its JSON report and its exit status.

Exit status
-----------
0   every submission was graded and recorded (flags do not change this)
1   at least one submission was not graded (crash, timeout, grader error):
    the summary names them; nbgrader recorded them with no score
2   nothing was graded: bad arguments, unknown assignment, no sandbox
130 stopped by SIGINT (Ctrl+C), 143 by SIGTERM (128 + the signal's number, as a shell reports a
    process a signal ended): what was recorded before stays; the same command grades what is left

A run that finds nothing left to grade (every submission skipped as already graded) exits 0.
"""

from __future__ import annotations

import json
import signal
import statistics
from collections import Counter

from grader.instructor.grading_log import GradingLogRow, write_grading_log
from grader.messages import PHASES, StartupTimings, Status, TaskResult
from grader.nbgrader_terms import TIMEOUT_ENAMES, grade_id
from grader.worker.flags import summarize

__all__ = ["summary_lines", "phase_line", "startup_line", "exit_status", "timeouts_of", "write_report",
           "skipped_line", "interrupted_lines"]


def timeouts_of(result: TaskResult) -> list[str]:
    """Grade ids of the cells that hit the per-cell timeout."""
    cells = []
    for content in result.notebooks.values():
        try:
            nb = json.loads(content)
        except ValueError:
            continue
        for cell in nb.get("cells", []):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and output.get("ename") in TIMEOUT_ENAMES:
                    cells.append(grade_id(cell) or "?")
    return cells


def exit_status(results: list[TaskResult], stopped_by: signal.Signals | None = None) -> int:
    if stopped_by is not None:
        return 128 + int(stopped_by)
    return 0 if all(r.graded for r in results) else 1


def skipped_line(skipped: int) -> str | None:
    """How many submissions were skipped as already graded (nbgrader's rule), if any."""
    if not skipped:
        return None
    return (f"{skipped} submission(s) skipped: already graded from the same submitted files "
            "(--force grades them again)")


def interrupted_lines(stopped_by: signal.Signals, results: list[TaskResult], planned: int,
                      command: str) -> list[str]:
    """What a stopped run recorded, and how to continue it."""
    not_graded = sum(not r.graded for r in results)
    done = f"{len(results)} of the {planned} submission(s) of this run recorded in the gradebook"
    if not_graded:
        done += f" ({not_graded} of them recorded as not graded)"
    return [f"STOPPED by {stopped_by.name}: {done}; the others are left as they were (nothing half "
            "recorded).",
            f"To continue, run the same command again: {command}",
            "  it skips what is already graded and grades the rest; add --force to grade everything again."]


def _why_not_graded(result: TaskResult) -> str:
    if result.reason:
        return result.reason
    last_lines = result.record_error.strip().splitlines()[-1:]
    return last_lines[0] if last_lines else "?"


def phase_line(results: list[TaskResult]) -> str | None:
    """Where the time went: each phase's median seconds per submission and its share of all phases."""
    timed = [r.phases for r in results if r.phases]
    total = sum(sum(phases.values()) for phases in timed)
    if not timed or total <= 0:
        return None
    parts = []
    for phase in PHASES:
        spans = [phases[phase] for phases in timed if phase in phases]
        if spans:
            parts.append(f"{phase} {statistics.median(spans):.2f} s ({sum(spans) / total:.0%})")
    return "time per submission, median by phase (share of the total): " + ", ".join(parts)


def startup_line(startup: StartupTimings) -> str:
    """The start-up's steps, in order, and what ran meanwhile in the background."""
    steps = ", ".join(f"{step} {seconds:.2f} s" for step, seconds in startup.steps.items())
    line = f"start-up, {startup.total:.2f} s to the first task's start: {steps}"
    if startup.background:
        line += "; meanwhile, the slowest worker's: " + ", ".join(
            f"{step} {seconds:.2f} s" + (" (built)" if step in startup.built else "")
            for step, seconds in startup.background.items())
    if "template" in startup.built:
        line += "; the empty gradebook was built (cached for the next runs)"
    return line


def summary_lines(results: list[TaskResult], seconds: float, workers: str,
                  stopped: bool = False, startup: StartupTimings | None = None) -> list[str]:
    """Human-readable summary: throughput, scores, what was not graded, timeouts, flags, where the time went.

    ``stopped``: a signal stopped the run, so its results are not all it was to grade
    (:func:`interrupted_lines` says what follows). ``startup``: the run's start-up timings.
    """
    lines = []
    total = len(results)
    ok = [r for r in results if r.graded]
    per_minute = total / seconds * 60 if seconds > 0 else 0.0
    lines.append(f"{len(ok)}/{total} submissions graded in {seconds:.1f} s with {workers} "
                 f"({per_minute:.1f} per minute)")
    by_assignment: dict[str, list[TaskResult]] = {}
    for r in results:
        by_assignment.setdefault(r.assignment, []).append(r)
    for assignment, rows in sorted(by_assignment.items()):
        scores = [r.score for r in rows if r.score is not None]
        max_score = max((r.max_score or 0 for r in rows), default=0)
        if scores:
            lines.append(
                f"  {assignment}: mean {statistics.mean(scores):.2f}/{max_score:g}, median "
                f"{statistics.median(scores):g}, full marks {sum(s == max_score for s in scores)}, "
                f"zero {sum(s == 0 for s in scores)}")
    failed = [r for r in results if not r.graded]
    if failed:
        lines.append(f"NOT GRADED ({len(failed)}): recorded by nbgrader without a score")
        for r in sorted(failed, key=lambda r: (r.assignment, r.student)):
            lines.append(f"  {r.student} / {r.assignment}: {r.status}: {_why_not_graded(r)}")
    timed = [(r, timeouts_of(r)) for r in results]
    timed = [(r, cells) for r, cells in timed if cells]
    if timed:
        lines.append(f"cell timeouts ({len(timed)} submissions, graded: those cells score 0)")
        for r, cells in timed:
            lines.append(f"  {r.student} / {r.assignment}: {', '.join(cells)}")
    flagged = [r for r in results if r.flagged]
    if flagged:
        codes = Counter(f.code for r in flagged for f in r.flags)
        lines.append(f"FLAGGED FOR REVIEW ({len(flagged)}; marked flagged in the gradebook): "
                     + ", ".join(f"{c} {n}" for c, n in codes.most_common()))
        for r in sorted(flagged, key=lambda r: (r.assignment, r.student)):
            parts = []
            if r.flags:
                parts.append(summarize(r.flags))
            if r.probe.changed:
                parts.append("runtime: changed " + ", ".join(r.probe.changed[:5]))
            lines.append(f"  {r.student} / {r.assignment}: {'; '.join(parts)}")
    if startup is not None:
        lines.append(startup_line(startup))
    phases = phase_line(results)
    if phases:
        lines.append(phases)
    slow = sorted(results, key=lambda r: -r.seconds)[:1]
    if slow:
        lines.append(f"slowest submission: {slow[0].student} / {slow[0].assignment} {slow[0].seconds:.1f} s")
    if failed:
        lines.append(f"{len(failed)} submission(s) NOT graded")
    elif not stopped:
        lines.append("all submissions graded")
    return lines


def write_report(results: list[TaskResult], path: str, skipped: list[tuple[str, str]] = (),
                 startup: StartupTimings | None = None) -> None:
    """The grading log (:class:`~grader.instructor.grading_log.GradingLogRow` per submission, the start-up's
    timings) as JSON.

    ``skipped`` (student, assignment) pairs get a row of status ``skipped`` and nothing else.
    """
    rows = [GradingLogRow.of(r, timeouts_of(r)) for r in results]
    rows += [GradingLogRow(student=student, assignment=assignment, status=Status.SKIPPED)
             for student, assignment in skipped]
    write_grading_log(rows, path, startup)
