"""nbgrader's ``Execute`` with the judge: the kernel runs the student's cells, the judge decides the tests.

:class:`JudgeExecute` executes every cell of the submission **except the test cells**, then judges the
test cells (:func:`grader.judge.kernel.judge_kernel`) from the instructor's notebook of the same name
in ``instructor_folder`` and writes each verdict into its cell: an ``error`` output for a failure, one
line of ``stdout`` text for a pass, never an ``execute_result``, after a ``stderr`` output when the
judge's run of the cell wrote to stderr (a warning replayed from a student's call: it costs the cell
what stderr costs in the course's pipeline). nbgrader's ``SaveAutoGrades`` then scores the cells as
usual: points only when the judge's run raised nothing. No output from the student's kernel ever
lands in a test cell, and what it reports can only take points away.

It is the one place of that behaviour: ``course check`` runs it as is (:func:`configure_judge`),
``course grade``'s workers run it together with the sandbox's execution
(:class:`grader.worker.execute.SandboxJudgeExecute`). When the kernel is lost while judging (it died,
hung, or broke the channel), the cells still to judge fail with the reason and nothing more is sent to
that kernel (no later cell runs): the submission is graded, never the batch stopped.
"""

from __future__ import annotations

import os
import tempfile
import time

import nbformat
from nbclient.util import run_sync
from nbgrader.apps.autogradeapp import Autograde
from nbgrader.preprocessors import Execute
from traitlets import Unicode

from grader.judge.cells import InstructorCells, instructor_cells
from grader.judge.channel import Limits
from grader.judge.kernel import Verdict, judge_kernel
from grader.nbgrader_terms import grade_id, is_test_cell

__all__ = ["JudgeExecute", "configure_judge", "PASSED_TEXT", "SOCKET_NAME"]

#: The text a passed test cell gets.
PASSED_TEXT = "passed (decided by the judge)\n"
#: The judge's socket, in ``socket_folder``
SOCKET_NAME = "judge.sock"


class JudgeExecute(Execute):
    """``Execute`` that leaves test cells to the judge.

    After :meth:`preprocess`, ``judge_seconds`` holds the time spent judging and ``kernel_lost`` the
    reason the kernel was lost while judging ("" when it was not).
    """

    instructor_folder = Unicode(
        "", help="folder of the instructor's (source) notebooks, named as the submitted ones",
    ).tag(config=True)
    socket_folder = Unicode(
        "", help="folder of the kernel's socket for the judge, which the kernel and this process both "
                 "reach; empty: a new temporary folder").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        notebook = ((resources or {}).get("nbgrader") or {}).get("notebook", "")
        self._cells: InstructorCells | None = None
        self._missing = ""
        path = os.path.join(self.instructor_folder, f"{notebook}.ipynb")
        try:
            self._cells = instructor_cells(nbformat.read(path, as_version=4))
        except Exception as error:  # noqa: BLE001 - every test cell then fails with the reason
            self._missing = f"JudgeError: the instructor's notebook {notebook}.ipynb cannot be read ({error})"
        self._last_code = max((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), default=-1)
        self.judge_seconds = 0.0
        self.kernel_lost = ""
        return super().preprocess(nb, resources, km=km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_test_cell(cell):
            cell.outputs = []
            cell.execution_count = None
        elif self.kernel_lost and index > self._last_code:
            pass  # a cell after the student's (the probe): the kernel is gone or stuck
        else:
            cell, resources = super().preprocess_cell(cell, resources, index)
        if index == self._last_code:
            self._judge()
        return cell, resources

    def _judge(self) -> None:
        started = time.perf_counter()
        try:
            verdicts = self._verdicts()
        finally:
            self.judge_seconds += time.perf_counter() - started
        by_id = {v.grade_id: v for v in verdicts}
        for cell in self.nb.cells:
            if cell.cell_type == "code" and is_test_cell(cell):
                reason = self._missing or "JudgeError: the instructor's notebook has no such test cell"
                missing = Verdict(grade_id(cell) or "?", False, reason)
                cell.outputs = _outputs(by_id.get(grade_id(cell), missing))

    def _verdicts(self) -> list[Verdict]:
        if self._cells is None:
            return []
        with tempfile.TemporaryDirectory(prefix="judge-") as folder:
            socket_path = os.path.join(self.socket_folder or folder, SOCKET_NAME)
            # a test cell's calls into the student's code may take as long as a cell (nbgrader's per-cell
            # timeout), together
            seconds = float(self.timeout) if self.timeout else None
            limits = Limits(call_seconds=seconds, cell_seconds=seconds) if seconds else None
            judgement = judge_kernel(_SyncClient(self.kc), self._cells, socket_path,
                                     run_sync(self.km.interrupt_kernel), limits, label="judge")
        self.kernel_lost = judgement.kernel_lost
        return list(judgement.verdicts)


def _outputs(verdict: Verdict) -> list[nbformat.NotebookNode]:
    """The test cell's outputs: what the judge's run wrote to stderr, if anything, then the verdict."""
    outputs = [nbformat.v4.new_output("stream", name="stderr", text=verdict.stderr)] if verdict.stderr else []
    if verdict.passed:
        return outputs + [nbformat.v4.new_output("stream", name="stdout", text=PASSED_TEXT)]
    name, _, value = verdict.message.partition(": ")
    return outputs + [nbformat.v4.new_output("error", ename=name or "Error", evalue=value,
                                             traceback=[f"{name}: {value}"])]


class _SyncClient:
    """The calls :func:`judge_kernel` makes on a client, over nbclient's asynchronous client."""

    def __init__(self, client):
        self.client = client

    def execute(self, code: str, **kwargs):
        return self.client.execute(code, **kwargs)

    def get_shell_msg(self, timeout: float):
        return run_sync(self.client.get_shell_msg)(timeout=timeout)


def configure_judge(c, instructor_folder: str) -> None:
    """Make autograding run :class:`JudgeExecute` where the course's config runs ``Execute``."""
    preprocessors = list(c[Autograde.__name__].get("autograde_preprocessors", [Execute]))
    swapped = [JudgeExecute if p is Execute else p for p in preprocessors]
    c[Autograde.__name__].autograde_preprocessors = swapped
    c[JudgeExecute.__name__].instructor_folder = instructor_folder
