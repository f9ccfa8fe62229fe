"""The Dask engine, with a stand-in task: nothing is lost; one student's tasks run on different workers."""

from __future__ import annotations

import os
import time

from grader.instructor.engine import GradeOptions, _grade_on_dask
from grader.instructor.summary import exit_status, summary_lines
from grader.messages import Status, SubmissionFiles, TaskResult


def fake_task(bundle, submission):
    """Sleeps a little; fails the way a lost task does for student 'lost'."""
    if submission.student == "lost" and submission.assignment == "a2":
        raise RuntimeError("worker lost")
    result = TaskResult(student=submission.student, assignment=submission.assignment, status=Status.GRADED,
                        worker=str(os.getpid()))
    time.sleep(0.4)
    result.finished = time.time()
    return result


def test_every_result_comes_back_and_one_students_tasks_run_at_once_on_two_workers():
    students = ["ann", "bob", "cy", "lost"]
    assignments = ["a1", "a2", "a3"]
    bundles = {a: a for a in assignments}  # the fake task never opens its bundle
    submissions = [SubmissionFiles(student=s, assignment=a, files={}) for s in students for a in assignments]
    results = []
    _grade_on_dask(bundles, submissions, GradeOptions(workers=2, progress=False), results.extend,
                   task=fake_task)
    assert sorted((r.student, r.assignment) for r in results) == sorted(
        (s, a) for s in students for a in assignments)
    lost = [r for r in results if r.student == "lost" and r.assignment == "a2"]
    assert lost[0].status == Status.ERROR and "worker lost" in lost[0].reason
    graded = [r for r in results if r.status == Status.GRADED]
    # tasks are independent: a student's assignments are not chained (the first student's first two
    # assignments are the first two tasks sent, one to each worker)
    overlapping = set()
    for student in students:
        spans = sorted((r.started, r.finished) for r in graded if r.student == student)
        if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
            overlapping.add(student)
    assert overlapping, "no student had two tasks running at once"
    assert len({r.worker for r in graded}) == 2, "both workers should have worked"


def test_exit_status_and_summary_name_what_was_not_graded():
    ok = TaskResult(student="ann", assignment="a1", status=Status.GRADED, recorded=True, score=3.0,
                    max_score=4.0, started=0.0, finished=1.0)
    crashed = TaskResult(student="bob", assignment="a1", status=Status.CRASH, reason="the kernel died",
                         recorded=True, score=0.0, max_score=4.0, started=0.0, finished=1.0)
    assert exit_status([ok]) == 0
    assert exit_status([ok, crashed]) == 1
    lines = summary_lines([ok, crashed], 2.0, "2 Dask worker(s)")
    assert "1/2 submissions graded" in lines[0]
    assert any("bob / a1: crash: the kernel died" in line for line in lines)
    assert lines[-1] == "1 submission(s) NOT graded"


def test_graded_and_flagged_are_decided_by_the_result():
    from grader.messages import Flag, ProbeReport

    result = TaskResult(student="ann", assignment="a1", status=Status.GRADED)
    assert not result.graded, "not recorded yet: not graded"
    result.recorded = True
    assert result.graded and not result.flagged
    assert TaskResult(student="ann", assignment="a1", flags=[Flag("numpy-rebinding")]).flagged
    assert TaskResult(student="ann", assignment="a1", probe=ProbeReport(changed=("numpy.allclose",))).flagged


def test_messages_survive_pickling():
    import pickle

    from grader.messages import AssignmentBundle, Flag, ProbeReport, SandboxLimits, TaskOptions
    from grader.structure import AssignmentStructure

    options = TaskOptions(limits=SandboxLimits(), cell_timeout=None, task_timeout=60, sandbox=False,
                          scratch="/tmp/x")
    bundle = AssignmentBundle(assignment="a1", course_id="c", config_text="c = get_config()\n",
                              structure=AssignmentStructure("a1"), template_db=b"db",
                              source_files={"data.csv": b"1,2"}, course_code={"a1": ["x = 1"]},
                              options=options)
    result = TaskResult(student="ann", assignment="a1", status=Status.CRASH, flags=[Flag("dynamic-code")],
                        probe=ProbeReport(ran=True, changed=("numpy.allclose",)))
    for message in (options, bundle, SubmissionFiles("ann", "a1", {"a1.ipynb": b"{}"}, ("link",)), result):
        assert pickle.loads(pickle.dumps(message)) == message


def test_summary_says_where_the_time_went_phase_by_phase():
    from grader.instructor.summary import phase_line

    fast = TaskResult(student="ann", assignment="a1", phases={"kernel_start": 1.0, "execution": 2.0,
                                                              "recording": 1.0})
    slow = TaskResult(student="bob", assignment="a1", phases={"kernel_start": 3.0, "execution": 2.0,
                                                              "recording": 1.0})
    line = phase_line([fast, slow, TaskResult(student="cy", assignment="a1")])
    # medians over the results that have the phase; shares of the 10 s of all phases, in PHASES' order
    assert line.endswith("kernel_start 2.00 s (40%), execution 2.00 s (40%), recording 1.00 s (20%)"), line
    assert phase_line([TaskResult(student="cy", assignment="a1")]) is None
