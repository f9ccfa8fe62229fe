"""The Dask engine, with a stand-in task: one student never graded twice at once; nothing is lost."""

from __future__ import annotations

import os
import time

from course.grading.engine import GradeOptions, _grade_on_dask
from course.grading.summary import exit_status, summary_lines


def fake_task(common, submission):
    """Sleeps a little; fails the way a lost task does for student 'lost'."""
    started = time.time()
    if submission["student"] == "lost" and common["assignment"] == "a2":
        raise RuntimeError("worker lost")
    time.sleep(0.4)
    return {"student": submission["student"], "assignment": common["assignment"], "status": "graded",
            "reason": "", "notebooks": {}, "errors": {}, "flags": [], "probe": {}, "started": started,
            "finished": time.time(), "seconds": time.time() - started, "worker": str(os.getpid()), "log": ""}


def test_one_task_per_student_at_a_time_and_every_result_comes_back():
    students = ["ann", "bob", "cy", "lost"]
    assignments = ["a1", "a2", "a3"]
    commons = {a: {"assignment": a} for a in assignments}
    submissions = [(a, {"student": s, "files": {}, "skipped": []}) for s in students for a in assignments]
    results = []
    _grade_on_dask(commons, submissions, GradeOptions(workers=2, progress=False), results.append,
                   task=fake_task)
    assert sorted((r["student"], r["assignment"]) for r in results) == sorted(
        (s, a) for s in students for a in assignments)
    lost = [r for r in results if r["student"] == "lost" and r["assignment"] == "a2"]
    assert lost[0]["status"] == "error" and "worker lost" in lost[0]["reason"]
    graded = [r for r in results if r["status"] == "graded"]
    for student in students:
        spans = sorted((r["started"], r["finished"]) for r in graded if r["student"] == student)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), f"{student} graded twice at once"
    assert len({r["worker"] for r in graded}) == 2, "both workers should have worked"


def test_exit_status_and_summary_name_what_was_not_graded():
    ok = {"student": "ann", "assignment": "a1", "status": "graded", "recorded": True, "score": 3.0,
          "max_score": 4.0, "flags": [], "probe": {}, "notebooks": {}, "seconds": 1.0}
    crashed = dict(ok, student="bob", status="crash", reason="the kernel died", recorded=True, score=0.0)
    assert exit_status([ok]) == 0
    assert exit_status([ok, crashed]) == 1
    lines = summary_lines([ok, crashed], 2.0, "2 Dask worker(s)")
    assert "1/2 submissions graded" in lines[0]
    assert any("bob / a1: crash: the kernel died" in line for line in lines)
    assert lines[-1] == "1 submission(s) NOT graded"
