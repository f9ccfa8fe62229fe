"""The end-of-run summary of ``course grade``, its JSON report and its exit status.

Exit status
-----------
0   every submission was graded and recorded (flags do not change this)
1   at least one submission was not graded (crash, timeout, grader error):
    the summary names them; nbgrader recorded them with no score
2   nothing was graded: bad arguments, unknown assignment, no sandbox
"""

from __future__ import annotations

import json
import statistics
from collections import Counter

from grader.instructor.grading_log import GradingLogRow, write_grading_log
from grader.messages import PHASES, TaskResult
from grader.nbgrader_terms import grade_id
from grader.worker.flags import summarize

__all__ = ["summary_lines", "phase_line", "exit_status", "timeouts_of", "write_report"]


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
                if output.get("output_type") == "error" and output.get("ename") == "CellTimeoutError":
                    cells.append(grade_id(cell) or "?")
    return cells


def exit_status(results: list[TaskResult]) -> int:
    return 0 if all(r.graded for r in results) else 1


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


def summary_lines(results: list[TaskResult], seconds: float, workers: str) -> list[str]:
    """Human-readable summary: throughput, scores, what was not graded, timeouts, flags."""
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
    phases = phase_line(results)
    if phases:
        lines.append(phases)
    slow = sorted(results, key=lambda r: -r.seconds)[:1]
    if slow:
        lines.append(f"slowest submission: {slow[0].student} / {slow[0].assignment} {slow[0].seconds:.1f} s")
    lines.append("all submissions graded" if not failed else f"{len(failed)} submission(s) NOT graded")
    return lines


def write_report(results: list[TaskResult], path: str) -> None:
    """The grading log (:class:`~grader.instructor.grading_log.GradingLogRow` per submission) as JSON."""
    write_grading_log([GradingLogRow.of(r, timeouts_of(r)) for r in results], path)
