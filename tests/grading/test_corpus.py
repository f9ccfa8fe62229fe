"""The hostile corpus, graded once by ``course grade --workers 2`` (fixture ``corpus_run``).

Every submission gets the right score or a flag; the batch finishes; no
attack reaches the grader, the course's files, another student or the
network.
"""

from __future__ import annotations

import errno
import re
import sqlite3

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.messages import CrashCause
from tests.grading import corpus

ASSIGNMENT = corpus.ASSIGNMENT

#: students whose notebook is the reference plus something that must change nothing
FULL_MARKS = ["reference", "loop-top", "memory-bomb", "fork-bomb", "kill-parent", "read-source",
              "write-gradebook", "network", "stderr-warning", "big-output", "deleted-test-cell",
              "walk-for-solutions"]

#: flags each student must carry (at least)
FLAGS = {
    "patch-allclose": {"numpy-rebinding"},
    "patch-assert-allclose": {"numpy-rebinding"},
    "patch-showtraceback": {"ipython-machinery"},
    "deleted-test-cell": {"grade-cell-deleted"},
    "duplicate-grade-id": {"duplicate-grade-id"},
    "stripped-metadata": {"metadata-stripped"},
    "corrupt-json": {"unreadable-notebook"},
    "empty-file": {"unreadable-notebook"},
    "wrong-name": {"unknown-notebook", "missing-notebook"},
    "other-assignment": {"foreign-notebook"},
    "read-source": {"grading-environment"},
    "write-gradebook": {"grading-environment"},
    "network": {"grading-environment"},
    "kill-parent": {"grading-environment"},
}

#: what nbgrader itself cannot grade: reported as not graded (exit status 1), with a reason and flags
NOT_GRADED = {
    "corrupt-json": CrashCause.NOT_JSON,
    "empty-file": CrashCause.NOT_JSON,
    "os-exit": CrashCause.KERNEL_DIED,
    "wrong-name": CrashCause.NOT_SUBMITTED,
    "other-assignment": CrashCause.CELLS_UNMATCHED,
    "duplicate-grade-id": CrashCause.CELLS_UNMATCHED,
    "stripped-metadata": CrashCause.CELLS_UNMATCHED,
}


def _cells(course, student):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(ASSIGNMENT, student)
        return submission.score, submission.max_score, {
            g.name: (g.score, g.max_score) for nb in submission.notebooks for g in nb.grades}


def test_the_corpus_is_big_enough(corpus_run):
    assert len(corpus_run["described"]) >= 20


def test_the_batch_finishes_and_every_submission_is_reported(corpus_run):
    assert corpus_run["status"] == 1, corpus_run["stderr"][-3000:]  # 1: some were not graded
    assert set(corpus_run["report"]) == set(corpus_run["described"])
    assert "submission(s) NOT graded" in corpus_run["stdout"]


def test_exactly_the_unreadable_notebooks_are_not_graded(corpus_run):
    report = corpus_run["report"]
    not_graded = {s for s, row in report.items() if not (row["status"] == "graded" and row["recorded"])}
    assert not_graded == set(NOT_GRADED), {s: report[s]["reason"] for s in not_graded}
    for student, cause in NOT_GRADED.items():
        assert (report[student]["cause"], report[student]["reason"]) == (cause, cause.description), student
        assert f"{student} / {ASSIGNMENT}: crash" in corpus_run["stdout"]


def test_every_submission_is_in_the_gradebook(corpus_run):
    with Gradebook(f"sqlite:///{corpus_run['course'] / 'gradebook.db'}") as gb:
        students = {s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert students == set(corpus_run["described"])


@pytest.mark.parametrize("student", FULL_MARKS)
def test_attacks_that_fail_leave_full_marks(corpus_run, student):
    score, max_score, cells = _cells(corpus_run["course"], student)
    assert max_score > 0
    assert score == max_score, {k: v for k, v in cells.items() if v[0] != v[1]}


def test_blank_scores_zero_and_wrong_answers_stay_wrong(corpus_run):
    course = corpus_run["course"]
    assert _cells(course, "blank")[0] == 0
    assert _cells(course, "other-assignment")[0] == 0
    _, max_score, cells = _cells(course, "loop-function")
    assert cells["test_fruit_price"][0] == 0  # timed out
    assert sum(s for s, _ in cells.values()) == max_score - cells["test_fruit_price"][1]
    assert "loop-function" in corpus_run["stdout"].split("cell timeouts")[1]


def test_rebinding_the_checks_is_flagged_at_run_time(corpus_run):
    report = corpus_run["report"]

    def how(student):  # what to look at when it fails
        row = report[student]
        return {key: row.get(key) for key in ("status", "reason", "probe", "seconds", "log")}

    assert "numpy.allclose" in report["patch-allclose"]["probe"]["changed"], how("patch-allclose")
    assert "numpy.testing.assert_allclose" in report["patch-assert-allclose"]["probe"]["changed"], (
        how("patch-assert-allclose"))
    assert "get_ipython().showtraceback" in report["patch-showtraceback"]["probe"]["changed"], (
        how("patch-showtraceback"))
    assert report["reference"]["probe"]["ran"] is True
    assert report["reference"]["probe"]["changed"] == []


@pytest.mark.parametrize("student", sorted(FLAGS))
def test_flags(corpus_run, student):
    codes = {flag["code"] for flag in corpus_run["report"][student]["flags"]}
    assert FLAGS[student] <= codes, codes


def test_a_deleted_cell_is_not_called_stripped_metadata(corpus_run):
    """The release's ordinary code cells carry no nbgrader metadata: that alone is no stripping."""
    codes = {flag["code"] for flag in corpus_run["report"]["deleted-test-cell"]["flags"]}
    assert codes == {"grade-cell-deleted"}, codes


def test_clean_submissions_are_not_flagged(corpus_run):
    for student in ("reference", "blank", "stderr-warning", "loop-function"):
        row = corpus_run["report"][student]
        assert row["flags"] == [] and row["probe"]["changed"] == [], (student, row["flags"])


def test_flagged_submissions_are_flagged_in_the_gradebook(corpus_run):
    with Gradebook(f"sqlite:///{corpus_run['course'] / 'gradebook.db'}") as gb:
        flagged = {s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions
                   if any(nb.flagged for nb in s.notebooks)}
    assert {"patch-allclose", "patch-showtraceback", "deleted-test-cell", "read-source"} <= flagged
    assert "reference" not in flagged


def _outputs(path):
    """The text of every output of a notebook (the attack code itself holds the marker too)."""
    texts = []
    for cell in nbformat.read(str(path), as_version=4).cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", "") + output.get("evalue", ""))
    return "\n".join(texts)


def test_no_attack_succeeded(corpus_run):
    autograded = corpus_run["course"] / "autograded"
    texts = {p.parent.parent.name: _outputs(p) for p in autograded.glob(f"*/{ASSIGNMENT}/*.ipynb")}
    assert {"read-source", "write-gradebook", "network", "kill-parent", "fork-bomb"} <= set(texts)
    leaked = {student for student, text in texts.items() if corpus.MARKER in text}
    assert not leaked
    assert "read failed" in texts["read-source"] and "write failed" in texts["write-gradebook"]
    assert "no network" in texts["network"] and "kill failed" in texts["kill-parent"]
    assert "out of memory" in texts["memory-bomb"] and "forked" in texts["fork-bomb"]


def test_the_grader_s_files_are_intact(corpus_run, sentinel, listener):
    assert sentinel.poll() is None, "the sentinel root process was killed"
    with pytest.raises(OSError) as caught:
        listener.accept()
    assert caught.value.errno in (errno.EAGAIN, errno.EWOULDBLOCK)
    with sqlite3.connect(corpus_run["course"] / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_output_is_capped(corpus_run):
    path = corpus_run["course"] / "autograded" / "big-output" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert path.stat().st_size < 6 * 1024 * 1024
    assert "output truncated by the grader" in path.read_text()


def test_the_summary_names_flags_and_scores(corpus_run):
    out = corpus_run["stdout"]
    total = len(corpus_run["described"])
    assert f"{total - len(NOT_GRADED)}/{total} submissions graded" in out
    assert "FLAGGED FOR REVIEW" in out and "patch-allclose" in out
    assert f"{ASSIGNMENT}: mean" in out


def test_the_walk_finds_every_planted_course_outside_the_sandbox(planted_courses):
    """The walk of ``walk-for-solutions`` works: run unconfined, it finds every planted solution."""
    namespace = {}
    exec(corpus.WALK_CODE, namespace)
    tops = sorted({"/" + path.split("/")[1] for path in planted_courses["solutions"]} | {"/usr/local/share"})
    _, found = namespace["walk"](tops, planted_courses["marker"].encode())
    assert set(planted_courses["solutions"]) <= set(found)
    assert len(planted_courses["solutions"]) == 5


def test_a_submission_sees_no_planted_course(corpus_run, planted_courses):
    """Sandboxed, the same walk from / finds the submission's own control file and nothing else."""
    path = corpus_run["course"] / "autograded" / "walk-for-solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    text = _outputs(path)
    assert "found the control file" in text, text[-2000:]
    walked = re.search(r"walked (\d+) files; at the top: (.*)", text)
    assert walked and int(walked.group(1)) > 1000, text[-2000:]  # it walked the Python environment
    assert corpus.MARKER not in text and "backprop-course" not in text, text[-2000:]
    assert planted_courses["marker"] not in text
    for solution in planted_courses["solutions"]:
        assert solution not in text
    top = eval(walked.group(2))  # noqa: S307 - a list of names the test's own notebook printed
    assert not {"opt", "srv", "home", "mnt", "boot", "media"} & set(top), top
