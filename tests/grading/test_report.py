"""``course report`` on a class graded for real, checked against the gradebook and in Chromium.

The class, two assignments (01_computation_graphs and 02_activations):

* the hostile and broken submissions of ``tests/grading/corpus.py`` (01), graded
  by the shared ``corpus_run`` (``course grade``, sandboxed, 2 workers);
* students made of the course's own answers, graded here with ``course grade``
  into a copy of that course: ``ada`` takes every graded name from the first
  correct variant of ``tests/mutants/<id>.py``, ``bo`` from the second, the
  corpus' ``reference`` is the reference solution (02 is added for it);
  ``copier-1`` and ``copier-2`` hand in ``ada``'s code disguised (locals
  renamed, functions reordered, reformatted); ``slip-ref`` and ``slip-bo``
  are the reference and ``bo`` with one mutant each.

Lineages: a student's code is its base's (reference, ada or bo). The report
must list as similar exactly the pairs of one lineage, its numbers must be
the gradebook's, and its HTML must show no hidden test and load nothing from
the network. Separately, a PostgreSQL gradebook (``--db``) with the reference
and the blank student graded by plain ``nbgrader autograde``.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from grader.instructor.report.notes import NO_STORED_REASON
from tests.course_copy import nbgrader, reference_submission, submit
from tests.grading import corpus
from tests.grading.conftest import clone_course, course_env, course_grade
from tests.mutation import mutants
from tests.notebooks import ROOT, is_solution_cell, nbgrader_meta
from tests.postgres_server import create_database
from tests.report_class import defined_names, disguised, solutions, with_entry
from tests.test_nbgrader_pipeline import _hidden_lines

ASSIGNMENTS = [corpus.ASSIGNMENT, corpus.OTHER]
SCREENSHOTS = ROOT / "docs" / "screenshots"


def _notebook(course: Path, assignment: str, cells: dict[str, str]):
    nb = reference_submission(course, assignment)
    for cell in nb.cells:
        if is_solution_cell(cell):
            cell.source = cells[nbgrader_meta(cell)["grade_id"]]
    return nb


def _with_mutant(assignment: str, cells: dict[str, str], index: int) -> dict[str, str]:
    """``cells`` with the first mutant of the ``index``-th graded name swapped in."""
    targets = list(dict.fromkeys(entry.target for entry in mutants(assignment)))
    entry = next(e for e in mutants(assignment) if e.target == targets[index])
    cells = dict(cells)
    for cell_id, code in cells.items():
        if entry.target in defined_names(code):
            cells[cell_id] = with_entry(code, entry.target, entry.source)
            return cells
    raise LookupError(entry.label)


@pytest.fixture(scope="module")
def report_run(corpus_run, artifacts):
    course = clone_course(corpus_run["course"], "report-class")
    shutil.copy(course / "report.json", course / "grading-corpus.json")
    lineage = {"reference": "reference", "ada": "ada", "copier-1": "ada", "copier-2": "ada", "bo": "bo",
               "slip-ref": "reference", "slip-bo": "bo"}
    for assignment in ASSIGNMENTS:
        ada, bo = solutions(assignment, 0), solutions(assignment, 1)
        students = {"ada": ada, "bo": bo, "copier-1": disguised(ada, seed=1),
                    "copier-2": disguised(ada, seed=2),
                    "slip-ref": _with_mutant(assignment, solutions(assignment), 0),
                    "slip-bo": _with_mutant(assignment, bo, 1)}
        if assignment == corpus.OTHER:
            students["reference"] = solutions(assignment)
        for student, cells in students.items():
            submit(course, student, assignment, _notebook(course, assignment, cells))
    only = [arg for student in lineage for arg in ("--student", student)]
    graded = course_grade(course, *ASSIGNMENTS, "--workers", "2", *only)
    assert graded["status"] in (0, 1), graded["stderr"][-2000:]
    out = course / "class-report"
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-m", "grader", "report", "0*", "--out", str(out), "--no-progress",
         "--grading-log", "grading-corpus.json", "--grading-log", "report.json"],
        cwd=course, env=course_env(), capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    assert process.returncode == 0, process.stderr[-3000:]
    print(f"\ncourse report on {course.name}: {seconds:.1f} s")
    data = json.loads((out / "report.json").read_text())
    logs = {r["student"]: r for r in json.loads((course / "grading-corpus.json").read_text())["submissions"]}
    return {"course": course, "out": out, "data": data, "lineage": lineage, "logs": logs,
            "corpus": corpus_run}


def test_scores_equal_the_gradebook(report_run):
    course, data = report_run["course"], report_run["data"]
    rows = {(s["student"], s["assignment"]): s for s in data["submissions"]}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "backprop") as gb:
        expected = {}
        for assignment in ASSIGNMENTS:
            for submission in gb.assignment_submissions(assignment):
                cells = {g.name: g.score for nb in submission.notebooks for g in nb.grades}
                key = (submission.student_id, assignment)
                expected[key] = (submission.score, submission.max_score, cells)
    assert set(rows) == set(expected)
    for key, (score, max_score, cells) in expected.items():
        assert rows[key]["score"] == pytest.approx(score)
        assert rows[key]["max_score"] == pytest.approx(max_score)
        assert {c["name"]: c["score"] for c in rows[key]["cells"]} == pytest.approx(cells)
    for summary in data["assignment_summary"]:
        graded = [r for r in rows.values() if r["assignment"] == summary["assignment"] and r["graded"]]
        assert summary["submissions"] == len(graded)
        assert summary["full_marks"] == sum(r["score"] == r["max_score"] for r in graded)
        assert summary["zero"] == sum(r["score"] == 0 for r in graded)


def test_copies_are_found_and_independent_answers_are_not(report_run):
    data, lineage = report_run["data"], report_run["lineage"]
    ours = set(lineage)
    found = {(p["assignment"], frozenset((p["student_a"], p["student_b"]))) for p in data["similar_pairs"]}
    for assignment in ASSIGNMENTS:
        for pair in ({"ada", "copier-1"}, {"ada", "copier-2"}, {"copier-1", "copier-2"}):
            assert (assignment, frozenset(pair)) in found, f"{assignment}: copies {pair} not found"
        pairs_of_ours = {students for a, students in found if a == assignment and students <= ours}
        crossing = [sorted(s) for s in pairs_of_ours if len({lineage[x] for x in s}) > 1]
        assert not crossing, f"{assignment}: independent answers reported as similar: {crossing}"
    # corpus students are the reference plus an attack: similar only to reference-based students
    for a, students in found:
        for student in students - ours:
            other = next(iter(students - {student}), student)
            assert lineage.get(other, "reference") == "reference", f"{a}: {sorted(students)}"
    copy = next(p for p in data["similar_pairs"] if {p["student_a"], p["student_b"]} == {"ada", "copier-1"})
    assert copy["matched_lines_a"] and copy["matched_lines_b"]


def test_failures_are_grouped_with_the_feedback_messages(report_run):
    data = report_run["data"]
    by_cell = {(c["assignment"], c["cell"]): c for c in data["failures"]}
    rows = {(s["student"], s["assignment"]): s for s in data["submissions"]}
    for (student, assignment), row in rows.items():
        if not row["graded"]:
            continue
        for cell in row["cells"]:
            failing = cell["score"] < cell["max_score"]
            listed = [g for g in by_cell[(assignment, cell["name"])]["groups"] if student in g["students"]]
            assert len(listed) == int(failing), (student, assignment, cell["name"])
    groups = by_cell[(corpus.ASSIGNMENT, "test_fruit_price")]["groups"]
    blank = next(g for g in groups if "blank" in g["students"])
    assert blank["message"] == "NotImplementedError"
    for cell in by_cell.values():
        assert cell["failed"] == sum(g["count"] for g in cell["groups"])


def test_no_hidden_test_in_the_report(report_run):
    out = report_run["out"]
    texts = [(out / name).read_text() for name in ("report.html", "report.json", "failures.csv")]
    for assignment in ASSIGNMENTS:
        hidden = _hidden_lines(assignment)
        assert hidden
        for text in texts:
            leaked = [line for line in hidden if line in text]
            assert not leaked, f"{assignment}: hidden test lines in the report: {leaked[:3]}"
    assert all("HIDDEN TESTS" not in text for text in texts)


def test_flagged_and_not_graded_submissions_with_reasons(report_run):
    data, logs = report_run["data"], report_run["logs"]
    notes = {(n["student"], n["assignment"]): n for n in data["notes"]}
    not_graded = [s for s, r in logs.items() if r["status"] != "graded" or not r.get("recorded")]
    flagged = [s for s, r in logs.items() if r.get("flags") and s not in not_graded]
    assert not_graded and flagged
    for student in not_graded:
        note = notes[(student, corpus.ASSIGNMENT)]
        assert note["status"] == "not graded" and note["reasons"], student
    for student in flagged:
        note = notes[(student, corpus.ASSIGNMENT)]
        assert note["status"] == "flagged", student
        assert any(flag["code"] in " ".join(note["reasons"]) for flag in logs[student]["flags"]), student
    assert "numpy-rebinding" in " ".join(notes[("patch-allclose", corpus.ASSIGNMENT)]["reasons"])
    seconds = [n["seconds"] for n in data["slowest"]]
    assert seconds and seconds == sorted(seconds, reverse=True)


def test_flag_reasons_come_from_the_gradebook_alone(report_run):
    """Without --grading-log, every flagged submission is listed with its flags, read from the grader's
    own table in the gradebook (course grade stored them when it recorded the submission)."""
    course, logs = report_run["course"], report_run["logs"]
    process = subprocess.run(
        [sys.executable, "-m", "grader", "report", corpus.ASSIGNMENT, "--out", "no-log", "--no-progress"],
        cwd=course, env=course_env(), capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stderr[-3000:]
    notes = {n["student"]: n for n in json.loads((course / "no-log" / "report.json").read_text())["notes"]}
    flagged = [s for s, r in logs.items() if r["flags"] and r["status"] == "graded" and r["recorded"]]
    assert flagged
    for student in flagged:
        reasons = " ".join(notes[student]["reasons"])
        assert notes[student]["status"] == "flagged" and NO_STORED_REASON not in reasons, student
        assert all(flag["code"] in reasons for flag in logs[student]["flags"]), (student, reasons)
    assert "numpy-rebinding" in " ".join(notes["patch-allclose"]["reasons"])


def test_report_reads_a_postgresql_gradebook(template, postgres):
    course = clone_course(template[0], "report-postgres")
    url = create_database(postgres, "report")
    nbgrader(course, "generate_assignment", corpus.ASSIGNMENT, "--force", f"--db={url}")
    for student in ("reference", "blank"):
        nbgrader(course, "autograde", corpus.ASSIGNMENT, "--student", student, "--force", f"--db={url}")
    process = subprocess.run(
        [sys.executable, "-m", "grader", "report", "01*", "--db", url, "--out", "pg-report", "--no-progress"],
        cwd=course, env=course_env(), capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stderr[-3000:]
    data = json.loads((course / "pg-report" / "report.json").read_text())
    with Gradebook(url, "backprop") as gb:
        expected = {s.student_id: s.score for s in gb.assignment_submissions(corpus.ASSIGNMENT)}
    assert {s["student"]: s["score"] for s in data["submissions"]} == expected
    assert expected["reference"] > 0 and expected["blank"] == 0
    assert data["source"].startswith("postgresql")


def _look_at_in_chromium(path, html):
    """Open ``html`` offline, check it, take the screenshots; the network requests it made."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
        requests = []
        context.on("request", lambda request: requests.append(request.url))
        page = context.new_page()
        try:
            page.goto(html.as_uri(), wait_until="load")
            assert page.locator("h2").count() == 4
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])")
            assert len(images) >= len(ASSIGNMENTS) * 2
            assert all(complete and width > 0 for _, complete, width in images), images
            assert page.locator(".pair .hit").count() > 0
            artifacts = ROOT / "test-artifacts" / "report"
            artifacts.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(artifacts / "class-report-top.png"))
            for section, name in (("failures", "class-report.png"), ("similar", "class-report-similar.png")):
                top = page.evaluate(
                    f"document.getElementById('{section}').getBoundingClientRect().top + scrollY")
                clip = {"x": 0, "y": top - 12, "width": 1280, "height": 1000}
                page.screenshot(path=str(artifacts / name), clip=clip, full_page=True)
                if os.environ.get("COURSE_UPDATE_SCREENSHOTS"):  # the pictures of docs/report.md and README
                    shutil.copy(artifacts / name, SCREENSHOTS / name)
        finally:
            context.close()
            browser.close()
    return requests


def test_the_html_report_renders_offline_in_chromium(report_run):
    from tests.browser.conftest import find_chromium

    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium (scripts/install_browser.sh installs it)")
    # In a thread of its own: the browser tests' Playwright, when they share this pytest worker, keeps
    # an event loop running in the main thread, where Playwright's sync API refuses to start again.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        requests = pool.submit(_look_at_in_chromium, path, report_run["out"] / "report.html").result()
    external = [url for url in requests if not url.startswith(("file:", "data:"))]
    assert not external, f"the report made network requests: {external[:5]}"
