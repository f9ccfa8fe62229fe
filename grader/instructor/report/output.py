"""The report's files: one self-contained HTML page, and CSV and JSON with the same numbers.

The HTML holds its figures as data URIs and its style inline: it opens from
disk, with no server and no network, and can be mailed as one file.
"""

from __future__ import annotations

import csv
import html
import json
import statistics
from pathlib import Path

from grader.instructor.report.figures import score_histogram
from grader.instructor.report.models import ClassReport, SimilarPair

__all__ = ["score_summary", "write_report_files"]

# the HTML lists this many pairs, side-by-side code for the first PAIRS_SHOWN; the CSV and JSON hold all
PAIRS_LISTED = 200
PAIRS_SHOWN = 40
GROUPS_SHOWN = 8


def score_summary(scores: list[float], max_score: float) -> dict:
    """Count, mean, median, full-mark and zero counts of ``scores`` out of ``max_score``."""
    return {
        "submissions": len(scores),
        "max_score": max_score,
        "mean": statistics.fmean(scores) if scores else None,
        "median": statistics.median(scores) if scores else None,
        "full_marks": sum(s >= max_score for s in scores),
        "zero": sum(s == 0 for s in scores),
    }


def _summaries(report: ClassReport) -> tuple[list[dict], list[dict]]:
    """Per assignment and per graded cell score summaries, over graded submissions."""
    per_assignment, per_cell = [], []
    for assignment in report.assignments:
        graded = [s for s in report.submissions if s.assignment == assignment and s.graded]
        max_score = max((s.max_score for s in graded), default=0.0)
        per_assignment.append({"assignment": assignment,
                               "not_graded": sum(1 for s in report.submissions
                                                 if s.assignment == assignment and not s.graded),
                               **score_summary([s.score for s in graded], max_score)})
        for cell in report.cell_order[assignment]:
            scores, most = [], 0.0
            for submission in graded:
                for score in submission.cells:
                    if score.name == cell:
                        scores.append(score.score)
                        most = score.max_score
            per_cell.append({"assignment": assignment, "cell": cell, **score_summary(scores, most)})
    return per_assignment, per_cell


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        if not rows:
            return
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _e(text) -> str:
    return html.escape(str(text), quote=True)


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;
margin:0 auto;max-width:1180px;padding:1em 1.5em;color:#1d2330;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}
h2{border-bottom:2px solid #3b6ea8;padding-bottom:.2em;margin-top:2em}
h3{margin-bottom:.3em}
.meta{color:#5a6270}
nav a{margin-right:1.2em}
table{border-collapse:collapse;margin:.5em 0 1em}
td,th{border:1px solid #d5d9e0;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#eef2f7}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.figs{display:flex;flex-wrap:wrap;gap:.6em}
.figs figure{margin:0}
.bar{background:#e4e8ee;width:120px;height:.8em;display:inline-block;vertical-align:middle}
.bar span{display:block;height:100%;background:#c0392b}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.85em}
.msg{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.85em;white-space:pre-wrap}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:.6em}
.pair pre{margin:0;border:1px solid #d5d9e0;padding:.4em;overflow-x:auto;max-height:28em;background:#fafbfc}
.pair .hit{background:#fde2a6;display:block}
.pair .line{display:block}
.ln{color:#8a93a3;user-select:none;display:inline-block;width:3em}
.status-not{color:#b03020;font-weight:600}
.status-flag{color:#a06000;font-weight:600}
"""


def _code_column(code: str, matched: list[int]) -> str:
    hits = set(matched)
    rows = []
    for number, line in enumerate(code.split("\n"), start=1):
        kind = "hit" if number in hits else "line"
        rows.append(f'<span class="{kind}"><span class="ln">{number}</span>{_e(line) or " "}</span>')
    return "<pre>" + "".join(rows) + "</pre>"


def _pair_html(pair: SimilarPair) -> str:
    return (f'<h3>{_e(pair.assignment)}: {_e(pair.student_a)} and {_e(pair.student_b)} '
            f'({pair.similarity:.0%})</h3>'
            f'<p class="meta">{pair.similarity_a:.0%} of {_e(pair.student_a)}\'s own code is found in '
            f'{_e(pair.student_b)}\'s, {pair.similarity_b:.0%} the other way; {pair.matched_tokens} matching '
            f'characters after tokenizing. Highlighted: lines inside a match.</p>'
            f'<div class="pair"><div><b>{_e(pair.student_a)}</b>'
            f'{_code_column(pair.code_a, pair.matched_lines_a)}</div><div><b>{_e(pair.student_b)}</b>'
            f'{_code_column(pair.code_b, pair.matched_lines_b)}</div></div>')


def _html(report: ClassReport, per_assignment: list[dict], per_cell: list[dict]) -> str:
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Class report: "
             f"{_e(', '.join(report.assignments))}</title><style>{STYLE}</style></head><body>",
             f"<h1>Class report</h1><p class='meta'>{_e(', '.join(report.assignments))} · "
             f"gradebook {_e(report.source)} · {_e(report.created)}</p>",
             "<nav><a href='#scores'>1. Scores</a><a href='#failures'>2. Failing tests</a>"
             "<a href='#similar'>3. Similar submissions</a>"
             "<a href='#review'>4. Flagged and not graded</a></nav>"]

    parts.append("<h2 id='scores'>1. How scores are distributed</h2><table><tr><th>assignment</th>"
                 "<th>graded</th><th>not graded</th><th>mean</th><th>median</th><th>full marks</th>"
                 "<th>zero</th><th>max</th></tr>")
    for row in per_assignment:
        parts.append(f"<tr><td>{_e(row['assignment'])}</td><td class='num'>{row['submissions']}</td>"
                     f"<td class='num'>{row['not_graded']}</td><td class='num'>{_fmt(row['mean'])}</td>"
                     f"<td class='num'>{_fmt(row['median'])}</td><td class='num'>{row['full_marks']}</td>"
                     f"<td class='num'>{row['zero']}</td><td class='num'>{_fmt(row['max_score'])}</td></tr>")
    parts.append("</table>")
    for row in per_assignment:
        assignment = row["assignment"]
        scores = [s.score for s in report.submissions if s.assignment == assignment and s.graded]
        figure = score_histogram(scores, row["max_score"], assignment, 5, 2.6)
        parts.append(f"<h3>{_e(assignment)}</h3><div class='figs'><figure><img alt='scores of "
                     f"{_e(assignment)}' src='{figure}'></figure>")
        for cell_row in (c for c in per_cell if c["assignment"] == assignment):
            cell = cell_row["cell"]
            cell_scores = [c.score for s in report.submissions if s.assignment == assignment and s.graded
                           for c in s.cells if c.name == cell]
            parts.append(f"<figure><img alt='scores of {_e(cell)}' "
                         f"src='{score_histogram(cell_scores, cell_row['max_score'], cell, 3.0, 2.0)}'>"
                         "</figure>")
        parts.append("</div>")

    parts.append("<h2 id='failures'>2. Which test cells fail, and how</h2><p class='meta'>Over graded "
                 "submissions. A student's first error in a cell, as its last line reads (what the feedback "
                 "shows; never the test's code), grouped after masking numbers (#) that differ between "
                 "students.</p><table><tr><th>assignment</th><th>test cell</th><th>failed</th>"
                 "<th>rate</th><th>first failure messages, most frequent first</th></tr>")
    for cell in sorted(report.failures, key=lambda c: (-c.failure_rate, c.assignment, c.cell)):
        groups = "".join(f"<div><b>{g.count}×</b> <span class='msg'>{_e(g.message)}</span></div>"
                         for g in cell.groups[:GROUPS_SHOWN])
        if len(cell.groups) > GROUPS_SHOWN:
            groups += f"<div class='meta'>+{len(cell.groups) - GROUPS_SHOWN} more (failures.csv)</div>"
        parts.append(f"<tr><td>{_e(cell.assignment)}</td><td><code>{_e(cell.cell)}</code></td>"
                     f"<td class='num'>{cell.failed}/{cell.submissions}</td><td><span class='bar'><span "
                     f"style='width:{cell.failure_rate * 100:.0f}%'></span></span> "
                     f"{cell.failure_rate:.0%}</td><td>{groups}</td></tr>")
    parts.append("</table>")

    parts.append(f"<h2 id='similar'>3. Submissions that look alike</h2><p class='meta'>The code students "
                 f"wrote in solution cells, with the release notebook's given code removed, compared with "
                 f"copydetect (winnowed fingerprints of the tokenized code: renamed variables and reordered "
                 f"functions still match). Pairs where both shares reach {report.similarity_threshold:.0%}. "
                 f"Similar is not proof: read the code.</p>")
    if report.similarity_note:
        parts.append(f"<p class='meta'>{_e(report.similarity_note)}</p>")
    if report.similar_pairs:
        parts.append("<table><tr><th>assignment</th><th>student</th><th>student</th><th>similarity</th></tr>")
        for pair in report.similar_pairs[:PAIRS_LISTED]:
            parts.append(f"<tr><td>{_e(pair.assignment)}</td><td>{_e(pair.student_a)}</td>"
                         f"<td>{_e(pair.student_b)}</td><td class='num'>{pair.similarity:.0%}</td></tr>")
        parts.append("</table>")
        if len(report.similar_pairs) > PAIRS_LISTED:
            parts.append(f"<p class='meta'>{len(report.similar_pairs) - PAIRS_LISTED} more pairs in "
                         "similar_pairs.csv.</p>")
        if len(report.similar_pairs) > PAIRS_SHOWN:
            parts.append(f"<p class='meta'>Code side by side for the {PAIRS_SHOWN} most similar pairs.</p>")
        parts += [_pair_html(pair) for pair in report.similar_pairs[:PAIRS_SHOWN]]
    else:
        parts.append("<p>No pair reaches the threshold.</p>")

    parts.append("<h2 id='review'>4. Flagged and not graded</h2>")
    if report.notes:
        parts.append("<table><tr><th>student</th><th>assignment</th><th>status</th><th>why</th></tr>")
        for note in report.notes:
            css = "status-not" if note.status == "not graded" else "status-flag"
            reasons = "".join(f"<div class='msg'>{_e(r)}</div>" for r in note.reasons)
            parts.append(f"<tr><td>{_e(note.student)}</td><td>{_e(note.assignment)}</td>"
                         f"<td class='{css}'>{_e(note.status)}</td><td>{reasons}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>Every submission was graded and none is flagged.</p>")
    if report.slowest:
        parts.append("<h3>Slowest to grade</h3><table><tr><th>student</th><th>assignment</th><th>seconds</th>"
                     "<th>status</th></tr>")
        for note in report.slowest:
            parts.append(f"<tr><td>{_e(note.student)}</td><td>{_e(note.assignment)}</td>"
                         f"<td class='num'>{note.seconds:.1f}</td><td>{_e(note.status)}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p class='meta'>Grading times are recorded only by <code>course grade --report FILE"
                     "</code>; pass that file with <code>--grading-log</code> to list the slowest.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report_files(report: ClassReport, folder: Path) -> dict[str, Path]:
    """Write ``report.html``, ``report.json`` and the CSV files into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    per_assignment, per_cell = _summaries(report)
    paths = {name: folder / name for name in (
        "report.html", "report.json", "assignments.csv", "cells.csv", "scores.csv", "failures.csv",
        "similar_pairs.csv", "review.csv")}
    paths["report.html"].write_text(_html(report, per_assignment, per_cell), encoding="utf-8")
    data = report.as_json() | {"assignment_summary": per_assignment, "cell_summary": per_cell}
    # the code of every pair of a large class would be most of the file; the HTML shows the first ones
    for pair in data["similar_pairs"][PAIRS_SHOWN:]:
        pair.update(code_a=None, code_b=None, matched_lines_a=None, matched_lines_b=None)
    paths["report.json"].write_text(json.dumps(data, indent=1), encoding="utf-8")
    _write_csv(paths["assignments.csv"], per_assignment)
    _write_csv(paths["cells.csv"], per_cell)
    _write_csv(paths["scores.csv"], [
        {"student": s.student, "assignment": s.assignment, "cell": c.name, "score": c.score,
         "max_score": c.max_score, "graded": s.graded, "flagged": s.flagged}
        for s in report.submissions for c in s.cells])
    _write_csv(paths["failures.csv"], [
        {"assignment": c.assignment, "cell": c.cell, "submissions": c.submissions, "failed": c.failed,
         "failure_rate": round(c.failure_rate, 4), "count": g.count, "message": g.message,
         "example": g.example}
        for c in report.failures for g in c.groups])
    _write_csv(paths["similar_pairs.csv"], [
        {"assignment": p.assignment, "student_a": p.student_a, "student_b": p.student_b,
         "similarity": round(p.similarity, 4), "share_a": round(p.similarity_a, 4),
         "share_b": round(p.similarity_b, 4), "matched_characters": p.matched_tokens}
        for p in report.similar_pairs])
    _write_csv(paths["review.csv"], [
        {"list": kind, "student": n.student, "assignment": n.assignment, "status": n.status,
         "reasons": " | ".join(n.reasons), "seconds": n.seconds}
        for kind, notes in (("review", report.notes), ("slowest", report.slowest)) for n in notes])
    return paths
