"""The worker's half of ``nbgrader autograde``: execution in the sandbox, in a scratch course.

:class:`SandboxExecute` replaces nbgrader's ``Execute`` on a worker: the same execution (same timeout,
same interrupt, same error on timeout), but with the kernel started in the sandbox
(:class:`grader.sandbox.kernel.SandboxKernelManager`), a cap on the output kept, and the runtime probe
(:mod:`course.probe`) after the last cell. The course's own preprocessors after ``Execute`` follow in
the same nbgrader process (:mod:`grader.worker.pipeline`); the recorder merges the grades they collect
into the real gradebook (:mod:`grader.instructor.merge`).

With the judge (``course grade``'s default), :class:`SandboxJudgeExecute` runs instead: the same, except
that the test cells never run in the kernel; the judge (:class:`grader.judge.nbgrader.JudgeExecute`)
decides them after the student's last cell, from the instructor's notebook, and writes its verdicts
into them. The time it takes is the task's ``judge`` phase.

:func:`configure_scratch_course` is what the scratch course's ``nbgrader_config.py`` calls to wire them
in (see :func:`grader.worker.task.scratch_config`).
"""

from __future__ import annotations

import json
import os
import time

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute
from nbgrader.preprocessors.execute import UnresponsiveKernelError
from traitlets import Integer, Unicode
from traitlets.config import Config

from course.probe import MARKER, REPORT_CODE
from grader.judge.nbgrader import JudgeExecute
from grader.messages import CrashCause
from grader.sandbox.kernel import SandboxKernelManager
from grader.sandbox.spec import TaskSettings

__all__ = ["SandboxExecute", "SandboxJudgeExecute", "TRUNCATION_NOTICE", "configure_scratch_course",
           "crash_cause", "SETTINGS_FILE"]

#: the task's settings for :func:`configure_scratch_course`, beside the scratch course's config
SETTINGS_FILE = "grading_task.json"

TRUNCATION_NOTICE = "... output truncated by the grader (limit reached) ...\n"


def _size(output: NotebookNode) -> int:
    if output.get("output_type") == "stream":
        return len(output.get("text", ""))
    if output.get("output_type") == "error":
        return sum(len(line) for line in output.get("traceback", [])) + len(output.get("evalue", ""))
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in output.get("data", {}).values())


class SandboxExecute(Execute):
    """nbgrader's ``Execute`` with output caps and a tampering probe.

    The kernel manager (``kernel_manager_class``) is set by
    :func:`configure_scratch_course` to :class:`grader.sandbox.kernel.SandboxKernelManager`.
    """

    output_cell_bytes = Integer(512 * 1024, help="output kept per cell").tag(config=True)
    output_total_bytes = Integer(4 * 1024 * 1024, help="output kept per notebook").tag(config=True)
    probe_report = Unicode("", help="file that receives the probe's JSON report").tag(config=True)
    phases_report = Unicode("", help="file that receives the seconds of kernel start, execution and "
                                     "judging, added up over the assignment's notebooks").tag(config=True)
    causes_report = Unicode("", help="file that receives, per notebook whose execution raised, the "
                                     "CrashCause of what it raised").tag(config=True)

    # the synchronous forms are what nbclient's setup_kernel calls (wrappers of the async methods made
    # when nbclient's class was defined: overriding the async methods would not reach them)
    def start_new_kernel(self, **kwargs):
        started = time.perf_counter()
        try:
            return super().start_new_kernel(**kwargs)
        finally:
            self._kernel_seconds += time.perf_counter() - started

    def start_new_kernel_client(self):
        # waits until the kernel answers: the rest of its start
        started = time.perf_counter()
        try:
            client = super().start_new_kernel_client()
            self._kernel_ready = True
            return client
        finally:
            self._kernel_seconds += time.perf_counter() - started

    def _add_cause(self, notebook: str, cause: CrashCause) -> None:
        causes = {}
        if os.path.exists(self.causes_report):  # an earlier notebook of the assignment
            with open(self.causes_report) as handle:
                causes = json.load(handle)
        causes[notebook] = str(cause)
        with open(self.causes_report, "w") as handle:
            json.dump(causes, handle)

    def preprocess(self, nb, resources=None, km=None):
        started = time.perf_counter()
        self._kernel_seconds = 0.0
        self._kernel_ready = False
        try:
            return self._preprocess(nb, resources, km)
        except Exception as error:
            if self.causes_report:
                notebook = ((resources or {}).get("nbgrader") or {}).get("notebook", "")
                self._add_cause(notebook, crash_cause(error, kernel_ready=self._kernel_ready))
            raise
        finally:
            if self.phases_report:
                judge = getattr(self, "judge_seconds", None)  # set by SandboxJudgeExecute only
                seconds = {"kernel_start": self._kernel_seconds,
                           "execution": time.perf_counter() - started - self._kernel_seconds - (judge or 0.0)}
                self._add_phases(seconds if judge is None else {**seconds, "judge": judge})

    def _add_phases(self, seconds: dict[str, float]) -> None:
        phases = dict.fromkeys(seconds, 0.0)
        if os.path.exists(self.phases_report):  # an earlier notebook of the assignment
            with open(self.phases_report) as handle:
                phases.update(json.load(handle))
        for name, spent in seconds.items():
            phases[name] = phases.get(name, 0.0) + spent
        with open(self.phases_report, "w") as handle:
            json.dump(phases, handle)

    def _preprocess(self, nb, resources, km):
        self._kept_cell: dict[int, int] = {}
        self._kept_total = 0
        self._truncated: set[int] = set()
        self._probe_index = None
        if self.probe_report:
            probe = nbformat.v4.new_code_cell(REPORT_CODE)
            nb.cells.append(probe)
            self._probe_index = len(nb.cells) - 1
        try:
            nb, resources = super().preprocess(nb, resources, km=km)
        finally:
            if self._probe_index is not None:
                probe = nb.cells.pop(self._probe_index)
                self._write_probe(probe)
        return nb, resources

    def _write_probe(self, probe: NotebookNode) -> None:
        report = {"ran": False, "changed": [], "truncated_cells": sorted(self._truncated)}
        for output in probe.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            for line in text.splitlines():
                if line.startswith(MARKER + " "):
                    try:
                        report.update(json.loads(line[len(MARKER) + 1:]))
                        report["ran"] = True
                    except ValueError:
                        report["ran"] = "garbled"
        with open(self.probe_report, "w") as handle:
            json.dump(report, handle)

    def output(self, outs, msg, display_id, cell_index):
        if cell_index == self._probe_index:
            return super().output(outs, msg, display_id, cell_index)
        if msg["msg_type"] == "error":  # errors decide the grade: never dropped
            return super().output(outs, msg, display_id, cell_index)
        try:
            size = _size(nbformat.v4.output_from_msg(msg))
        except ValueError:
            size = 0
        kept = self._kept_cell.get(cell_index, 0)
        if kept + size > self.output_cell_bytes or self._kept_total + size > self.output_total_bytes:
            if cell_index not in self._truncated:
                self._truncated.add(cell_index)
                notice = nbformat.v4.new_output("stream", name="stdout", text=TRUNCATION_NOTICE)
                outs.append(notice)
            return None
        self._kept_cell[cell_index] = kept + size
        self._kept_total += size
        return super().output(outs, msg, display_id, cell_index)


class SandboxJudgeExecute(JudgeExecute, SandboxExecute):
    """:class:`SandboxExecute` whose test cells the judge decides
    (:class:`~grader.judge.nbgrader.JudgeExecute`).

    The judge runs after the student's last cell and before the probe; a kernel lost while judging
    gets no probe (its report then says the probe did not run).
    """


def crash_cause(error: BaseException, kernel_ready: bool) -> CrashCause:
    """The :class:`~grader.messages.CrashCause` of an exception that stopped a notebook's execution.

    ``kernel_ready`` says whether the kernel had answered before: an error before that is the kernel's
    start failing.
    """
    if isinstance(error, DeadKernelError):
        return CrashCause.KERNEL_DIED
    if isinstance(error, UnresponsiveKernelError):
        return CrashCause.KERNEL_UNRESPONSIVE
    if isinstance(error, CellTimeoutError):
        return CrashCause.CELL_TIMEOUT
    if not kernel_ready and isinstance(error, TimeoutError):
        return CrashCause.KERNEL_START_TIMEOUT
    return CrashCause.KERNEL_FAILED


def configure_scratch_course(c: Config, config_file: str) -> None:
    """Make a scratch course's nbgrader execute with :class:`SandboxJudgeExecute` or :class:`SandboxExecute`.

    Called at the end of the scratch course's ``nbgrader_config.py``, after the course's own settings.

    Parameters
    ----------
    c : traitlets.config.Config
        The configuration being loaded.
    config_file : str
        The scratch course's ``nbgrader_config.py`` (its folder is the course root), beside
        :data:`SETTINGS_FILE`, the task's :class:`~grader.sandbox.spec.TaskSettings` as JSON.
    """
    root = os.path.dirname(os.path.abspath(config_file))
    with open(os.path.join(root, SETTINGS_FILE)) as handle:
        settings = TaskSettings.from_json(handle.read())
    # the result is the sanitized, executed notebook, exactly what nbgrader's Execute would hand to the
    # next preprocessor; scratch_config appends the rest of the course's pipeline after it
    execution = SandboxJudgeExecute if settings.judge else SandboxExecute
    c[Autograde.__name__].autograde_preprocessors = [execution]
    if settings.judge:
        c[JudgeExecute.__name__].instructor_folder = settings.instructor_folder
        c[JudgeExecute.__name__].socket_folder = settings.judge_socket_folder
    c[SandboxExecute.__name__].kernel_manager_class = SandboxKernelManager
    c[SandboxKernelManager.__name__].sandbox = settings.sandbox
    c[SandboxExecute.__name__].output_cell_bytes = settings.output_cell_bytes
    c[SandboxExecute.__name__].output_total_bytes = settings.output_total_bytes
    c[SandboxExecute.__name__].probe_report = settings.probe_report
    c[SandboxExecute.__name__].phases_report = settings.phases_report
    c[SandboxExecute.__name__].causes_report = settings.causes_report
    if settings.cell_timeout:
        c[Execute.__name__].timeout = settings.cell_timeout
    c.CourseDirectory.root = root
    c.CourseDirectory.db_url = "sqlite:///" + os.path.join(root, "gradebook.db")
