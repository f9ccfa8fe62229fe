"""The report's files: one self-contained HTML page, and CSV and JSON with the same numbers.

The HTML, rendered from ``templates/report.html.j2`` with Jinja2 (autoescaped),
holds its figures as data URIs and its style (``templates/report.css``) inline:
it opens from disk, with no server and no network, and can be mailed as one file.
"""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import jinja2
from markupsafe import Markup

from grader.instructor.report.figures import score_histogram
from grader.instructor.report.models import ClassReport

__all__ = ["score_summary", "write_report_files"]

# the HTML lists this many pairs, side-by-side code for the first PAIRS_SHOWN; the CSV and JSON hold all
PAIRS_LISTED = 200
PAIRS_SHOWN = 40
GROUPS_SHOWN = 8
#: the page's template and style sheet (inlined: the page is one self-contained file)
TEMPLATES = Path(__file__).resolve().parent / "templates"


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


STYLE = (TEMPLATES / "report.css").read_text()


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
    environment.filters["fmt"] = _fmt
    environment.filters["percent"] = lambda share: f"{share:.0%}"
    return environment


def _histograms(report: ClassReport, per_assignment: list[dict], per_cell: list[dict]) -> list[dict]:
    """Per assignment, its score histogram and one per graded cell, as data URIs."""
    histograms = []
    for row in per_assignment:
        assignment = row["assignment"]
        graded = [s for s in report.submissions if s.assignment == assignment and s.graded]
        cells = []
        for cell_row in (c for c in per_cell if c["assignment"] == assignment):
            cell = cell_row["cell"]
            scores = [c.score for s in graded for c in s.cells if c.name == cell]
            figure = score_histogram(scores, cell_row["max_score"], cell, 3.0, 2.0)
            cells.append({"name": cell, "figure": figure})
        histograms.append({"name": assignment, "cells": cells,
                           "figure": score_histogram([s.score for s in graded], row["max_score"], assignment,
                                                     5, 2.6)})
    return histograms


def _html(report: ClassReport, per_assignment: list[dict], per_cell: list[dict]) -> str:
    """The page, from ``templates/report.html.j2``."""
    return _environment().get_template("report.html.j2").render(
        report=report, style=Markup(STYLE), per_assignment=per_assignment,
        histograms=_histograms(report, per_assignment, per_cell),
        failures=sorted(report.failures, key=lambda c: (-c.failure_rate, c.assignment, c.cell)),
        groups_shown=GROUPS_SHOWN, pairs_listed=PAIRS_LISTED, pairs_shown=PAIRS_SHOWN)


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
