"""A worker's warm-up: what its first task would otherwise wait for, started as soon as it is up.

``course grade`` runs :func:`warm_up` on every worker (``Client.run``) while it builds the assignments'
bundles, and in its own process when it grades without Dask. It returns at once, having started:

* a zygote (:func:`grader.worker.zygote.prestart_zygote`), which imports nbgrader in its own process;
  the worker's first task takes it (:func:`grader.worker.zygote.shared_zygote`);
* in a thread, the import of the grading task's modules (nbformat, jupyter_client, the sandbox), less
  jsonschema's slow optional import, as in the zygote and the ``course`` command
  (:func:`grader.worker.nbgrader_main.skip_slow_optional_imports`: a spawned Dask worker never ran the
  command's ``main``, and paid 1.5 s for it at its first task), and
  then, when kernels are sandboxed, matplotlib's font list of the machine
  (:func:`grader.sandbox.kernel.machine_font_list`), built once per machine, found by the others, and
  the worker's kernel server (:func:`grader.sandbox.kernel_server.shared_kernel_server`), which imports
  what every kernel imports and forks the task's kernels.

A task that starts before these are done waits for them where it would have done them itself (the
import lock, the font list's lock, the zygote's first line), so nothing changes but the time.
:func:`warm_up_report` says afterwards how long each took, for the start-up timings
(:class:`~grader.messages.StartupTimings`).

This module imports nothing heavy itself: unpickling :func:`warm_up` on a worker must be quick.
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
import time
from pathlib import Path

__all__ = ["warm_up", "warm_up_report", "ignore_sigint", "quiet_closing_heartbeat"]

#: What a Dask worker logs, with a traceback, when its heartbeat meets a scheduler that closed first.
CLOSING_HEARTBEAT = "Failed to communicate with scheduler during heartbeat"

#: The modules a grading task needs, imported by the warm-up's thread.
TASK_MODULES = ("grader.worker.task",)

_state: dict = {}
_state_lock = threading.Lock()


def ignore_sigint() -> None:
    """SIGINT no longer stops this process (a LocalCluster's worker: ``course grade`` handles Ctrl+C).

    Only in the main thread, where Python runs signal handlers.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


class _ClosingHeartbeat(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(CLOSING_HEARTBEAT)


def quiet_closing_heartbeat() -> None:
    """Drop the traceback a LocalCluster worker logs when the run closes the scheduler under its heartbeat.

    ``course grade`` closes the cluster it started at the end of a run, or when SIGINT or SIGTERM
    stops it; a worker whose heartbeat was under way then logs an error with a traceback, which the
    user would take for a failure. Only that message is dropped, and only in the workers of a
    LocalCluster (a scheduler of the user's that goes away is worth the message).
    """
    worker_logger = logging.getLogger("distributed.worker")
    if not any(isinstance(existing, _ClosingHeartbeat) for existing in worker_logger.filters):
        worker_logger.addFilter(_ClosingHeartbeat())


def warm_up(scratch: str, sandbox: bool, ignore_interrupts: bool = False,
            import_modules: bool = True, judge: bool = False) -> None:
    """Start this worker's zygote, its task imports and (``sandbox``) the machine's font list, once.

    Parameters
    ----------
    scratch : str
        The scratch folder of the tasks (``TaskOptions.scratch``); the font list is kept under it.
    sandbox : bool
        Kernels run in the sandbox (only they use the prebuilt font list).
    ignore_interrupts : bool
        Also :func:`ignore_sigint` and :func:`quiet_closing_heartbeat` (a LocalCluster's worker).
    import_modules : bool
        Import the task's modules in the thread (False where the main thread imports them meanwhile:
        two threads importing one package tree from different ends is best avoided).
    judge : bool
        The judge decides the test cells (``TaskOptions.judge``): the zygote preloads its imports.
    """
    if ignore_interrupts:
        ignore_sigint()
        quiet_closing_heartbeat()
    from grader.worker.nbgrader_main import skip_slow_optional_imports

    skip_slow_optional_imports()
    with _state_lock:
        if _state:
            return
        from grader.worker.zygote import prestart_zygote

        _state["zygote"] = prestart_zygote(judge)
        thread = threading.Thread(target=_prepare, args=(Path(scratch), sandbox, import_modules), daemon=True,
                                  name="course-grade-warm-up")
        _state["thread"] = thread
        thread.start()


def _prepare(scratch: Path, sandbox: bool, import_modules: bool) -> None:
    if import_modules:
        started = time.perf_counter()
        try:
            for name in TASK_MODULES:
                importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the task imports them again and reports what fails
            return
        _state["imports"] = time.perf_counter() - started
    if sandbox:
        from grader.sandbox.kernel import machine_font_list

        scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
        scratch.chmod(0o700)
        try:
            font_list = machine_font_list(scratch / "matplotlib")
        except Exception:  # noqa: BLE001 - the task tries again and kernels build their own list
            return
        _state["font_list"] = (font_list.seconds, font_list.built)
        from grader.sandbox.kernel_server import shared_kernel_server

        started = time.perf_counter()
        try:
            if shared_kernel_server(font_list) is not None:
                _state["kernel_server"] = (time.perf_counter() - started, False)
        except Exception:  # noqa: BLE001 - the task tries again, else launches its kernel
            return


def warm_up_report(timeout: float = 0.0) -> dict[str, tuple[float, bool]]:
    """Seconds of each warm-up step done so far: ``worker_imports``, ``zygote``, ``font_list``,
    ``kernel_server``.

    Each value is ``(seconds, built)``; ``built`` says the font list was built by this worker. Waits at
    most ``timeout`` seconds for the zygote's imports. Empty before :func:`warm_up`.
    """
    report: dict[str, tuple[float, bool]] = {}
    if "imports" in _state:
        report["worker_imports"] = (_state["imports"], False)
    zygote = _state.get("zygote")
    if zygote is not None:
        try:
            ready = zygote.wait_ready(timeout)
        except RuntimeError:  # the zygote died; the task started another
            ready = None
        if ready is not None:
            report["zygote"] = (ready, False)
    for step in ("font_list", "kernel_server"):
        if step in _state:
            report[step] = _state[step]
    return report
