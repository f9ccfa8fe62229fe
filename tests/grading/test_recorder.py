"""The recorder's bulk merge: the same gradebook rows and files as nbgrader's own converter.

Four submissions of the corpus (a reference, a blank, a correct answer that warns on stderr, a deleted
test cell) are graded once by a worker's task (unsandboxed: the sandbox is not what is tested here),
plus one result that came back without an executed notebook (a crash). The five results are recorded

* one at a time by nbgrader's own converter, replaying the executed notebooks
  (:func:`tests.grading.nbgrader_recording.record_with_nbgrader`: how plain ``nbgrader autograde``
  writes them);
* in one batch (``Recorder.record_batch``: the bulk merge, one transaction, no nbgrader ``Gradebook``);

on SQLite and on PostgreSQL, each into a fresh gradebook: every row must be the same
(:func:`grader.instructor.gradebook.gradebook_snapshot`), and so must what each result says and every
file of ``autograded/``, byte for byte and mode for mode. A batch
whose commit fails keeps nothing, and each of its results says why.
"""

from __future__ import annotations

import dataclasses

import nbgrader.api
import pytest

from grader.instructor.engine import GradeOptions
from grader.instructor.gradebook import empty_gradebook, gradebook_snapshot
from grader.instructor.merge import Merger
from grader.instructor.plan import assignment_bundle, read_submission
from grader.instructor.record import Recorder
from grader.messages import Flag, Status, TaskResult
from grader.worker.task import run_task
from tests.course_copy import nbgrader as run_nbgrader
from tests.grading import corpus
from tests.grading.conftest import clone_course
from tests.grading.nbgrader_recording import record_with_nbgrader
from tests.postgres_server import create_database

GRADED = ["reference", "blank", "stderr-warning", "deleted-test-cell"]
CRASHED = "loop-top"  # any corpus student: its result is made up, its submitted notebook is real


@pytest.fixture(scope="module")
def worker_results(template, artifacts):
    course = template[0]
    options = dataclasses.replace(GradeOptions(sandbox=False, cell_timeout=10),
                                  scratch=str(artifacts / "recorder-scratch"))
    bundle = assignment_bundle(course, corpus.ASSIGNMENT, f"sqlite:///{course / 'gradebook.db'}", "",
                               options.task_options(), empty_gradebook(""))
    results = [run_task(bundle, read_submission(course, student, corpus.ASSIGNMENT)) for student in GRADED]
    assert all(r.status == Status.GRADED for r in results), [(r.student, r.reason, r.log[-500:])
                                                             for r in results]
    results.append(TaskResult(student=CRASHED, assignment=corpus.ASSIGNMENT, status=Status.CRASH,
                              reason="the kernel died", errors={corpus.ASSIGNMENT: "the kernel died"}))
    return results


def _record(course, db_url, results, batched, monkeypatch):
    results = [dataclasses.replace(r, phases=dict(r.phases)) for r in results]
    engines = []  # engines of nbgrader's Gradebook: none while the bulk merge records
    original = nbgrader.api.create_engine
    monkeypatch.setattr(nbgrader.api, "create_engine", lambda *a, **k: engines.append(a) or original(*a, **k))
    try:
        if batched:
            recorder = Recorder(course, db_url)
            try:
                recorder.record_batch(results)
            finally:
                recorder.close()
        else:
            record_with_nbgrader(course, results, db_url)
    finally:
        monkeypatch.setattr(nbgrader.api, "create_engine", original)
    assert bool(engines) != batched, f"{len(engines)} engines of nbgrader's own while recording"
    said = {r.student: (r.recorded, r.graded, r.score, r.max_score, r.cells, bool(r.record_error))
            for r in results}
    base = course / "autograded"
    files = {path.relative_to(base).as_posix(): (path.stat().st_mode, path.read_bytes())
             for path in sorted(base.rglob("*")) if path.is_file()}
    return gradebook_snapshot(db_url), said, files


def _compare(one_at_a_time, batched):
    rows, said, files = one_at_a_time
    batch_rows, batch_said, batch_files = batched
    assert {key[1] for key in rows} == set(GRADED) | {CRASHED}
    assert batch_rows == rows
    assert batch_said == said
    assert sum(name.endswith(".ipynb") for name in files) == len(GRADED)
    assert sorted(batch_files) == sorted(files)
    assert [name for name in files if batch_files[name] != files[name]] == []
    assert said["reference"][1] and not said[CRASHED][1]  # graded; recorded by nbgrader without a score


def test_a_batch_leaves_the_same_sqlite_gradebook(template, worker_results, monkeypatch):
    runs = []
    for batched in (False, True):
        course = clone_course(template[0], f"recorder-sqlite-{batched}")
        runs.append(_record(course, f"sqlite:///{course / 'gradebook.db'}", worker_results, batched,
                            monkeypatch))
    _compare(*runs)


def test_a_batch_leaves_the_same_postgresql_gradebook(template, postgres, worker_results, monkeypatch):
    runs = []
    for batched in (False, True):
        course = clone_course(template[0], f"recorder-postgres-{batched}")
        url = create_database(postgres, f"recorder_{batched}".lower())
        run_nbgrader(course, "generate_assignment", corpus.ASSIGNMENT, "--force", f"--db={url}")
        runs.append(_record(course, url, worker_results, batched, monkeypatch))
    _compare(*runs)


def _batch_failing_when(template, name, fail, worker_results, monkeypatch):
    """Record ``worker_results`` in one batch into a clone of the course, ``fail(batch)`` called after each
    merge inside its transaction; returns the course, its gradebook's URL and the results."""
    course = clone_course(template[0], name)
    url = f"sqlite:///{course / 'gradebook.db'}"
    real = Merger.merge_batch

    def merge_then_fail(self, connection, batch):
        scores = real(self, connection, batch)
        fail(batch)
        return scores

    monkeypatch.setattr(Merger, "merge_batch", merge_then_fail)
    results = [dataclasses.replace(r, phases=dict(r.phases)) for r in worker_results]
    recorder = Recorder(course, url)
    try:
        recorder.record_batch(results)
    finally:
        recorder.close()
    return course, url, results


def test_a_batch_whose_commit_fails_says_so_for_each_result_and_keeps_nothing(template, worker_results,
                                                                               monkeypatch):
    def failing_commit(batch):
        raise OSError("disk full")  # inside the transaction: it is rolled back, as a failed commit is

    course, url, results = _batch_failing_when(template, "recorder-commit-fails", failing_commit,
                                               worker_results, monkeypatch)
    for result in results:
        assert not result.recorded and not result.graded and result.score is None, result.student
        assert "the gradebook transaction failed: OSError: disk full" in result.record_error
    assert not gradebook_snapshot(url), "rows of a failed batch were kept"


def test_a_submission_that_breaks_the_batch_s_transaction_costs_only_its_own_recording(template,
                                                                                      worker_results,
                                                                                      monkeypatch):
    def breaks_on_blank(batch):
        if any(rows.student == "blank" for rows in batch):
            raise ValueError("a row the gradebook refuses")

    course, url, results = _batch_failing_when(template, "recorder-one-breaks", breaks_on_blank,
                                               worker_results, monkeypatch)
    said = {r.student: r for r in results}
    assert not said["blank"].recorded
    assert "ValueError: a row the gradebook refuses" in said["blank"].record_error
    assert said["reference"].graded and said["reference"].score == said["reference"].max_score > 0
    students = {key[1] for key in gradebook_snapshot(url)}
    assert "blank" not in students and {"reference", CRASHED} <= students
    assert not (course / "autograded" / "blank").exists()
    assert (course / "autograded" / "reference" / corpus.ASSIGNMENT).is_dir()


def _flags(url, student):
    with nbgrader.api.Gradebook(url) as gb:
        return [nb.flagged for nb in gb.find_submission(corpus.ASSIGNMENT, student).notebooks]


def _set_by_hand(url, student, flagged):
    """What formgrader's flag button does."""
    with nbgrader.api.Gradebook(url) as gb:
        for notebook in gb.find_submission(corpus.ASSIGNMENT, student).notebooks:
            notebook.flagged = flagged
        gb.db.commit()


def test_a_clean_regrade_clears_the_grader_s_flag_and_keeps_a_person_s(template, worker_results):
    course = clone_course(template[0], "recorder-flags")
    url = f"sqlite:///{course / 'gradebook.db'}"
    clean = next(r for r in worker_results if r.student == "reference")
    flagged = dataclasses.replace(clean, flags=[Flag("dynamic-code", corpus.ASSIGNMENT)])
    recorder = Recorder(course, url)

    def regrade(result):
        result = dataclasses.replace(result, phases=dict(result.phases))
        recorder.record_batch([result])
        assert result.recorded, result.record_error

    try:
        regrade(flagged)
        assert _flags(url, "reference") == [True]
        regrade(flagged)  # flagged twice: still the grader's
        regrade(clean)
        assert _flags(url, "reference") == [False], "a clean regrade left the grader's flag"
        _set_by_hand(url, "reference", True)
        regrade(clean)
        assert _flags(url, "reference") == [True], "a clean regrade cleared a person's flag"
        regrade(flagged)
        regrade(clean)
        assert _flags(url, "reference") == [True], "the grader's flag came and went over a person's"
        _set_by_hand(url, "reference", False)
        regrade(flagged)
        _set_by_hand(url, "reference", False)  # a person reviewed it and cleared the flag
        regrade(flagged)
        assert _flags(url, "reference") == [True], "a flagged regrade did not flag again"
    finally:
        recorder.close()
