"""Grading many submissions at once on Dask, recording them from one place.

:func:`grade` plans the run (:mod:`grader.instructor.plan`), sends one task per (student, assignment)
to Dask (a LocalCluster, or the scheduler at an address) or runs them here one by one, records each
result in the gradebook as it arrives (:class:`grader.instructor.record.Recorder`), and shows a
progress bar. Results that arrive while others are being recorded are recorded together
(:meth:`grader.instructor.record.Recorder.record_batch`; one transaction): the busier the
recorder, the larger its batches, so that it keeps up with the workers.

Tasks are independent (each grades one notebook of one student in a scratch course of its own, under
a uid of its own), so a student's assignments run on different workers at once, as any two tasks do. At
most twice as many tasks as the cluster has threads are sent ahead (:func:`_in_flight`), so that
submissions wait in this process, not in the scheduler's memory.

The start-up is timed step by step (:class:`grader.instructor.startup.StartupClock`, the run's
``startup``), and what it need not wait for runs meanwhile: the Dask cluster starts, and its workers warm
up (:mod:`grader.worker.warmup`: their zygotes, task imports and the machine's font list), in a background
thread (:class:`grader.instructor.workers.Workers`, which the ``course`` command starts before it imports
this module) while this process opens the gradebook and builds the assignments' bundles; the empty
gradebook and the templates come from the machine's cache (:func:`grader.instructor.plan.empty_template`).

A submission already graded from the same submitted files is skipped, by nbgrader's own rule
(:func:`grader.instructor.plan.graded_before`), unless ``GradeOptions.force``.

SIGINT (Ctrl+C) and SIGTERM stop a run cleanly (:class:`_StopSignals`): a batch being recorded is
recorded whole first, nothing is recorded after it, and the Dask cluster is closed (its workers'
zygotes then kill their nbgrader processes and kernels: :mod:`grader.worker.zygote`). The run's
:class:`GradingRun` says which signal stopped it.

Dask (in :mod:`grader.instructor.workers`' thread) and tqdm are imported only when a run starts: the
learner's install (``course check``) has neither.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.coursedir import CourseDirectory

from grader.instructor.plan import (
    assignment_bundle,
    choose_assignments,
    empty_template,
    find_submissions,
    graded_before,
    read_submission,
)
from grader.instructor.record import Recorder, load_course_config
from grader.instructor.startup import StartupClock
from grader.instructor.workers import GradeOptions, Workers, hold_bundle
from grader.messages import AssignmentBundle, StartupTimings, SubmissionFiles, TaskResult
from grader.worker.task import run_task

__all__ = ["GradeOptions", "GradingRun", "GradingInterrupted", "grade", "MAX_BATCH"]

#: Results recorded together at most (one transaction; more wait for the next batch): a bounded
#: time during which the gradebook is locked for other writers (formgrader), little lost if a commit fails.
MAX_BATCH = 32


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
    startup : StartupTimings or None
        The start-up's steps, up to the first task's start (None when nothing was graded, or a signal
        stopped the run).
    """

    results: list[TaskResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    planned: int = 0
    stopped_by: signal.Signals | None = None
    startup: StartupTimings | None = None


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
          on_result: Callable[[TaskResult], None] | None = None,
          clock: StartupClock | None = None, workers: Workers | None = None) -> GradingRun:
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
    clock : StartupClock, optional
        The command's start-up clock, its earlier steps marked (default: one started now).
    workers : Workers, optional
        Already starting (the ``course`` command starts them before it imports this module); else they
        are started here once the plan is made. Closed before this returns, whatever happens.

    Returns
    -------
    GradingRun
        Its ``results``: one per submission recorded (see :meth:`grader.instructor.record.Recorder.record`);
        those skipped as already graded; the signal that stopped the run, if one did; the start-up's timings.

    Raises
    ------
    LookupError
        When no assignment matches, or the gradebook does not know one.
    """
    clock = clock or StartupClock(origin=time.time())
    holder = _Held(workers)
    try:
        return _grade(root, assignments, students, options, on_result, clock, holder)
    finally:
        if holder.value is not None:
            holder.value.close()


@dataclass
class _Held:
    """The run's workers, once started (closed by :func:`grade` whatever happens)."""

    value: Workers | None = None


def _grade(root: Path, assignments: list[str], students: list[str] | None, options: GradeOptions,
           on_result: Callable[[TaskResult], None] | None, clock: StartupClock, workers: _Held) -> GradingRun:
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
    clock.mark("plan")
    task_options = options.task_options()
    recorder = bar = None
    with _StopSignals() as stop:
        try:
            # the cluster and the workers' warm-up start now (unless the command started them already), in
            # the background, while the bundles are built
            if workers.value is None:
                workers.value = Workers(options)
            recorder = Recorder(root, options.db_url)
            clock.mark("recorder")
            empty, built = empty_template(course_id, Path(options.scratch))
            if built:
                clock.note_built("template")
            clock.mark("template")
            bundles = {a: assignment_bundle(root, a, recorder.db_url, course_id, task_options, empty)
                       for a in chosen}
            clock.mark("bundles")
            submissions = [read_submission(root, student, assignment) for student, assignment in pending]
            clock.mark("submissions")
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

            workers.value.ready()
            clock.mark("workers")
            if workers.value.local:
                for submission in submissions:
                    finish([_arrived(run_task(bundles[submission.assignment], submission))])
            else:
                _grade_on_dask(bundles, submissions, options, finish, workers=workers.value)
            if run.results:
                run.startup = _startup_timings(clock, workers.value, run.results)
            # closed here, where a signal is still caught below, as well as in `finally`
            workers.value.close()
        except GradingInterrupted:
            run.stopped_by = stop.received
            run.startup = None
        finally:
            if bar is not None:
                bar.close()
            # inside _StopSignals: a second signal while the workers and their kernels stop is ignored
            if workers.value is not None:
                workers.value.close()
            if recorder is not None:
                recorder.close()
    return run


def _startup_timings(clock: StartupClock, workers: Workers, results: list[TaskResult]) -> StartupTimings:
    """The clock's steps, the first task's start (the earliest of ``results``) and the background's."""
    clock.mark("first_task", now=min(result.started for result in results))
    if workers.cluster_seconds is not None:
        clock.background("cluster", workers.cluster_seconds)
    for report in workers.reports():
        for step, (seconds, built) in report.items():
            clock.background(step, seconds, built)
    return clock.timings()


def _arrived(result: TaskResult) -> TaskResult:
    """Stamp the ``transfer`` phase: the worker's clock at the task's end to this process's at arrival.

    Clocks of other machines may differ: a negative span counts as 0.
    """
    result.phases["transfer"] = max(0.0, time.time() - result.finished)
    return result


def _in_flight(client) -> int:
    """How many tasks to keep sent ahead: twice the cluster's threads (at least 4), so that a worker that
    frees up finds its next task at once, and the rest wait here."""
    try:
        threads = sum(client.nthreads().values())
    except Exception:  # noqa: BLE001 - the scheduler did not answer: keep a small window
        threads = 0
    return max(4, 2 * threads)


def _grade_on_dask(bundles: dict[str, AssignmentBundle], submissions: list[SubmissionFiles],
                   options: GradeOptions,
                   finish: Callable[[list[TaskResult]], None],
                   task: Callable[[AssignmentBundle, SubmissionFiles], TaskResult] = run_task,
                   workers: Workers | None = None) -> None:
    """Send every submission to the cluster of ``workers`` (one started here when None), ``finish`` each
    batch of results as it arrives."""
    from distributed import as_completed

    own = workers is None
    if own:
        workers = Workers(options)
    try:
        client = workers.ready()
        token = uuid.uuid4().hex[:8]
        # each bundle is the result of a task that returns it, not scattered data: Dask drops the extra
        # copies of scattered data (its active memory manager), so a worker that dies can take the only
        # copy with it and every task of the assignment fails ("lost scattered data"); a task's result
        # is computed again on a surviving worker
        shared = {a: client.submit(hold_bundle, b, key=f"bundle-{a}-{token}", pure=False)
                  for a, b in bundles.items()}
        waiting = list(reversed(submissions))
        keys = {}

        def submit() -> object:
            submission = waiting.pop()
            future = client.submit(task, shared[submission.assignment], submission,
                                   key=f"grade-{submission.assignment}-{submission.student}-{token}",
                                   pure=False, retries=0)
            keys[future.key] = submission
            return future

        limit = _in_flight(client)
        running = as_completed([submit() for _ in range(min(limit, len(waiting)))])
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
                arrived.append(result)
            if waiting:
                limit = _in_flight(client)
                while waiting and running.count() < limit:
                    running.add(submit())
            finish(arrived)
    finally:
        if own:
            workers.close()


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
