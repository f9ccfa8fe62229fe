"""Grading many submissions at once on Dask, recording them from one place.

:func:`grade` plans the run (:mod:`grader.instructor.plan`), sends one task per (student, assignment)
to Dask (a LocalCluster, or the scheduler at an address) or runs them here one by one, records each
result in the gradebook as it arrives (:class:`grader.instructor.record.Recorder`), and shows a
progress bar. Results that arrive while others are being recorded are recorded together
(:meth:`grader.instructor.record.Recorder.record_batch`; one transaction on SQLite): the busier the
recorder, the larger its batches, so that it keeps up with the workers.

Each student has at most one task in flight: a student's next assignment is submitted when the
previous one comes back, so two tasks of one student never run at once; tasks of different students
run in any order, as workers free up.

A submission already graded from the same submitted files is skipped, by nbgrader's own rule
(:func:`grader.instructor.plan.graded_before`), unless ``GradeOptions.force``.

SIGINT (Ctrl+C) and SIGTERM stop a run cleanly (:class:`_StopSignals`): a batch being recorded is
recorded whole first, nothing is recorded after it, and the Dask cluster is closed (its workers'
zygotes then kill their nbgrader processes and kernels: :mod:`grader.worker.zygote`). The run's
:class:`GradingRun` says which signal stopped it.

Dask and tqdm are imported only here, when a run starts: the learner's install (``course check``) has
neither.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.coursedir import CourseDirectory

from grader.instructor.gradebook import empty_gradebook
from grader.instructor.plan import (
    assignment_bundle,
    choose_assignments,
    find_submissions,
    graded_before,
    read_submission,
)
from grader.instructor.record import Recorder, load_course_config
from grader.messages import AssignmentBundle, SandboxLimits, SubmissionFiles, TaskOptions, TaskResult
from grader.worker.task import run_task

__all__ = ["GradeOptions", "GradingRun", "GradingInterrupted", "grade", "MAX_BATCH"]

#: Results recorded together at most (one SQLite transaction; more wait for the next batch): a bounded
#: time during which the gradebook is locked for other writers (formgrader), little lost if a commit fails.
MAX_BATCH = 32


@dataclass
class GradeOptions:
    """How ``course grade`` grades.

    Attributes
    ----------
    workers : int
        Dask workers of the LocalCluster; 0 grades in this process, one
        submission after the other, without Dask.
    scheduler : str or None
        Address of a running Dask scheduler; then ``workers`` is ignored.
    db_url : str or None
        Gradebook URL (SQLAlchemy); default: the course's SQLite gradebook.
    sandbox : bool
        Run student kernels in the sandbox (needs root).
    limits : SandboxLimits
    cell_timeout : int or None
        Seconds per cell (default: the course's ``Execute.timeout``).
    task_timeout : int
        Seconds for a whole submission (kernel start to last cell).
    scratch : str
        Folder for the workers' scratch courses (on each worker).
    progress : bool
        Show a progress bar on stderr.
    force : bool
        Grade every submission again, even one already graded from the same submitted files
        (nbgrader's ``--force``).
    judge : bool
        The judge decides the test cells (``--no-judge``: they run in the student's kernel).
    """

    workers: int = 2
    scheduler: str | None = None
    db_url: str | None = None
    sandbox: bool = True
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    cell_timeout: int | None = None
    task_timeout: int = 1800
    scratch: str = field(default_factory=lambda: os.path.join(tempfile.gettempdir(), "course-grading"))
    progress: bool = True
    force: bool = False
    judge: bool = True

    def task_options(self) -> TaskOptions:
        """What the workers need of these options."""
        return TaskOptions(limits=self.limits, cell_timeout=self.cell_timeout, task_timeout=self.task_timeout,
                           sandbox=self.sandbox, scratch=self.scratch, judge=self.judge)


@dataclass
class GradingRun:
    """What one run of :func:`grade` did.

    Attributes
    ----------
    results : list of TaskResult
        The submissions recorded by this run, in the order they were recorded.
    skipped : list of (str, str)
        (student, assignment) pairs not sent: already graded from the same submitted files
        (:func:`grader.instructor.plan.graded_before`).
    planned : int
        Submissions this run set out to grade (found, less the skipped).
    stopped_by : signal.Signals or None
        SIGINT or SIGTERM when a signal stopped the run before the end.
    """

    results: list[TaskResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    planned: int = 0
    stopped_by: signal.Signals | None = None


class GradingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived outside the recording of a batch: :func:`grade` stops the run.

    A ``KeyboardInterrupt``, so that no ``except Exception`` on the way (nbgrader's, the recorder's, the
    task's) takes it for a failed submission.
    """


class _StopSignals:
    """SIGINT and SIGTERM stop a run between two recordings, never inside one.

    In the main thread (where Python runs signal handlers), while the block runs. A signal raises
    :class:`GradingInterrupted` at once, unless a batch is being recorded (:meth:`shield`): then it is
    raised when that batch is committed. Signals after the first are noted and ignored, so that closing
    the cluster, the zygotes and the kernels is never cut short.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.received: signal.Signals | None = None
        self._shielded = 0
        self._raised = False
        self._previous: dict = {}

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum, frame) -> None:
        if self.received is None:
            self.received = signal.Signals(signum)
            print(f"\ncourse grade: {self.received.name} received: stopping (a batch being recorded is "
                  "recorded whole; the workers and their kernels are being stopped)", file=sys.stderr)
        else:
            print(f"course grade: {signal.Signals(signum).name} again: already stopping, please wait",
                  file=sys.stderr)
        self._raise_unless_shielded()

    def _raise_unless_shielded(self) -> None:
        if self.received is not None and not self._shielded and not self._raised:
            self._raised = True
            raise GradingInterrupted(self.received.name)

    @contextlib.contextmanager
    def shield(self):
        """A block that a signal never cuts: the signal takes effect when the block ends."""
        self._shielded += 1
        try:
            yield
        finally:
            self._shielded -= 1
        self._raise_unless_shielded()


def grade(root: Path, assignments: list[str], students: list[str] | None, options: GradeOptions,
          on_result: Callable[[TaskResult], None] | None = None) -> GradingRun:
    """Grade the submissions of ``assignments`` and record them in the gradebook.

    Parameters
    ----------
    root : Path
        The course root.
    assignments : list of str
        Assignment ids (glob patterns allowed, matched against ``source/``).
    students : list of str or None
        Only these students (default: every student with a submission).
    options : GradeOptions
    on_result : callable, optional
        Called with each recorded result (for tests and reports).

    Returns
    -------
    GradingRun
        Its ``results``: one per submission recorded (see :meth:`grader.instructor.record.Recorder.record`);
        those skipped as already graded; the signal that stopped the run, if one did.

    Raises
    ------
    LookupError
        When no assignment matches, or the gradebook does not know one.
    """
    root = Path(root).resolve()
    chosen = choose_assignments(root, assignments)
    config = load_course_config(root)
    course_id = config.CourseDirectory.get("course_id", "") if "CourseDirectory" in config else ""
    coursedir = CourseDirectory(config=config)
    run = GradingRun()
    pending = []
    for student, assignment in find_submissions(root, chosen, students):
        if not options.force and graded_before(coursedir, student, assignment):
            run.skipped.append((student, assignment))
        else:
            pending.append((student, assignment))
    run.planned = len(pending)
    if not pending:
        return run
    task_options = options.task_options()
    recorder = bar = None
    with _StopSignals() as stop:
        try:
            recorder = Recorder(root, options.db_url)
            empty = empty_gradebook(course_id)
            bundles = {a: assignment_bundle(root, a, recorder.db_url, course_id, task_options, empty)
                       for a in chosen}
            submissions = [read_submission(root, student, assignment) for student, assignment in pending]
            bar = _Progress(len(submissions), options.progress)

            def finish(arrived: list[TaskResult]) -> None:
                with stop.shield():
                    for start in range(0, len(arrived), MAX_BATCH):
                        batch = arrived[start:start + MAX_BATCH]
                        recorder.record_batch(batch)
                        for result in batch:
                            run.results.append(result)
                            bar.update(result)
                            if on_result:
                                on_result(result)

            if options.workers == 0 and not options.scheduler:
                for submission in submissions:
                    finish([_arrived(run_task(bundles[submission.assignment], submission))])
            else:
                _grade_on_dask(bundles, submissions, options, finish)
        except GradingInterrupted:
            run.stopped_by = stop.received
        finally:
            if bar is not None:
                bar.close()
            if recorder is not None:
                recorder.close()
    return run


def _hold(bundle: AssignmentBundle) -> AssignmentBundle:
    """A Dask task that returns its argument: where the workers fetch an assignment's bundle from."""
    return bundle


def _ignore_sigint() -> None:
    """Run on each worker of a LocalCluster (in its main thread): SIGINT no longer stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _arrived(result: TaskResult) -> TaskResult:
    """Stamp the ``transfer`` phase: the worker's clock at the task's end to this process's at arrival.

    Clocks of other machines may differ: a negative span counts as 0.
    """
    result.phases["transfer"] = max(0.0, time.time() - result.finished)
    return result


def _grade_on_dask(bundles: dict[str, AssignmentBundle], submissions: list[SubmissionFiles],
                   options: GradeOptions,
                   finish: Callable[[list[TaskResult]], None],
                   task: Callable[[AssignmentBundle, SubmissionFiles], TaskResult] = run_task) -> None:
    from distributed import Client, LocalCluster, as_completed

    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = None
    if options.scheduler:
        client = Client(options.scheduler)
    else:
        cluster = LocalCluster(n_workers=options.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        # Ctrl+C in a terminal signals the whole process group, the LocalCluster's worker processes too:
        # only this process handles it (_StopSignals), and closes the workers in order
        client.run(_ignore_sigint)
    try:
        token = uuid.uuid4().hex[:8]
        # each bundle is the result of a task that returns it, not scattered data: Dask drops the extra
        # copies of scattered data (its active memory manager), so a worker that dies can take the only
        # copy with it and every task of the assignment fails ("lost scattered data"); a task's result
        # is computed again on a surviving worker
        shared = {a: client.submit(_hold, b, key=f"bundle-{a}-{token}", pure=False)
                  for a, b in bundles.items()}
        queues: dict[str, list[SubmissionFiles]] = {}
        for submission in submissions:
            queues.setdefault(submission.student, []).append(submission)
        keys = {}

        def submit(student):
            submission = queues[student].pop(0)
            future = client.submit(task, shared[submission.assignment], submission,
                                   key=f"grade-{submission.assignment}-{student}-{token}", pure=False,
                                   retries=0)
            keys[future.key] = submission
            return future

        # one task per student in flight: a student's next assignment waits for the previous one
        running = as_completed([submit(student) for student in queues])
        # every result that came back while the previous batch was being recorded: recorded together
        for done in running.batches():
            arrived = []
            for future in done:
                submission = keys.pop(future.key)
                try:
                    result = _arrived(future.result())
                except Exception as error:  # noqa: BLE001 - a task that raised, or failed on every worker
                    result = TaskResult.failed(submission.assignment, submission.student,
                                               f"the task failed on Dask: {type(error).__name__}: {error}")
                finally:
                    future.release()
                if queues[submission.student]:
                    running.add(submit(submission.student))
                arrived.append(result)
            finish(arrived)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class _Progress:
    """tqdm progress bar with an ETA and counts of what went wrong."""

    def __init__(self, total: int, enabled: bool):
        self.counts = {"graded": 0, "not graded": 0, "flagged": 0}
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="submission", file=sys.stderr, dynamic_ncols=True,
                            smoothing=0.1, desc="grading")

    def update(self, result: TaskResult) -> None:
        self.counts["graded" if result.graded else "not graded"] += 1
        if result.flagged:
            self.counts["flagged"] += 1
        if self.bar is not None:
            self.bar.set_postfix(self.counts, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
