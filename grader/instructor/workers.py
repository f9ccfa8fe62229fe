"""Where ``course grade``'s tasks run, started as early as the command knows its options.

:class:`Workers` starts a Dask LocalCluster (or connects to ``--scheduler``) in a background thread and
warms every worker up (:func:`grader.worker.warmup.warm_up`), while the command imports the engine, opens
the gradebook and builds the assignments' bundles. This module imports neither nbgrader nor Dask at its
top: the ``course`` command imports it before the engine, to start the cluster first.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field

from grader.messages import AssignmentBundle, SandboxLimits, TaskOptions
from grader.worker.warmup import warm_up, warm_up_report

__all__ = ["GradeOptions", "Workers", "hold_bundle"]


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


class Workers:
    """Where the tasks run, started in a background thread: a LocalCluster, a scheduler, or this process.

    The thread starts the cluster (or connects to ``options.scheduler``) and then warms every worker up
    (:func:`grader.worker.warmup.warm_up`); without Dask (``workers == 0``), the warm-up runs in this
    process. :meth:`ready` waits for it; :meth:`close` closes what was started, even half-started.
    """

    def __init__(self, options: GradeOptions):
        self.options = options
        self.local = options.workers == 0 and not options.scheduler
        self.cluster = self.client = None
        self.cluster_seconds: float | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._closed = False
        if self.local:
            # this process imports the task's modules with the engine's, in its main thread
            warm_up(options.scratch, options.sandbox, import_modules=False, judge=options.judge)
            self._thread = None
        else:
            self._thread = threading.Thread(target=self._start, name="course-grade-cluster", daemon=True)
            self._thread.start()

    def _start(self) -> None:
        from distributed import Client, LocalCluster

        logging.getLogger("distributed").setLevel(logging.ERROR)
        started = time.perf_counter()
        try:
            if self.options.scheduler:
                client = Client(self.options.scheduler)
            else:
                cluster = LocalCluster(n_workers=self.options.workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
                with self._lock:
                    self.cluster = cluster
                    if self._closed:
                        return
                client = Client(cluster)
            with self._lock:
                self.client = client
                if self._closed:
                    return
            self.cluster_seconds = time.perf_counter() - started
        except BaseException as error:  # noqa: BLE001 - raised again in the main thread by ready()
            self._error = error
            return
        try:
            # Ctrl+C in a terminal signals the whole process group, the LocalCluster's worker processes
            # too: only this process handles it (the engine's _StopSignals), and closes the workers in order
            client.run(warm_up, self.options.scratch, self.options.sandbox, not self.options.scheduler,
                       judge=self.options.judge)
        except Exception:  # noqa: BLE001 - a worker that cannot warm up does it all in its first task
            logging.getLogger(__name__).warning("a worker's warm-up failed", exc_info=True)

    def ready(self):
        """The Dask client once the workers are up and warming up (None without Dask).

        Raises
        ------
        Exception
            What starting the cluster raised.
        """
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self.client

    def reports(self) -> list[dict[str, tuple[float, bool]]]:
        """Each worker's :func:`grader.worker.warmup.warm_up_report` (what it has done so far)."""
        if self.local:
            return [warm_up_report()]
        if self.client is None:
            return []
        try:
            return list(self.client.run(warm_up_report, 0.0).values())
        except Exception:  # noqa: BLE001 - timings are never worth a failed run
            return []

    def close(self) -> None:
        """Close what was started (waiting for a start under way to end); again, it does nothing."""
        with self._lock:
            self._closed = True
        if self._thread is not None:
            self._thread.join()
        # each forgotten before it is closed: a close cut short by a signal goes on with the next one
        if self.client is not None:
            client, self.client = self.client, None
            client.close()
        if self.cluster is not None:
            cluster, self.cluster = self.cluster, None
            cluster.close()


def hold_bundle(bundle: AssignmentBundle) -> AssignmentBundle:
    """A Dask task that returns its argument: where the workers fetch an assignment's bundle from.

    Defined here, not in the engine, so that a worker running it imports nothing heavy.
    """
    return bundle
