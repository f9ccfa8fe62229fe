"""nbgrader's ``Execute`` with the judge: the kernel runs the student's cells, the judge decides the tests.

:class:`JudgeExecute` executes every cell of the submission **except the test cells**, then judges the
test cells (:func:`grader.judge.kernel.judge_kernel`) from the instructor's notebook
(``instructor_notebook``) and writes each verdict into its cell: an ``error`` output for a failure,
one line of ``stdout`` text for a pass, never an ``execute_result``. nbgrader's ``SaveAutoGrades``
then scores the cells as usual: points only when the judge's run raised nothing. No output from the
student's kernel ever lands in a test cell.

:func:`configure_judge` puts it in place of ``Execute`` in a course's ``nbgrader_config.py``.
"""

from __future__ import annotations

import os
import tempfile

import nbformat
from nbclient.util import run_sync
from nbgrader.apps.autogradeapp import Autograde
from nbgrader.preprocessors import Execute
from traitlets import Unicode

from grader.judge.cells import InstructorCells, instructor_cells
from grader.judge.kernel import Verdict, judge_kernel
from grader.nbgrader_terms import grade_id, is_test_cell

__all__ = ["JudgeExecute", "configure_judge", "PASSED_TEXT"]

#: The text a passed test cell gets.
PASSED_TEXT = "passed (decided by the judge)\n"


class JudgeExecute(Execute):
    """``Execute`` that leaves test cells to the judge."""

    instructor_notebook = Unicode("", help="the instructor's (source) notebook").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._cells: InstructorCells = instructor_cells(nbformat.read(self.instructor_notebook, as_version=4))
        self._last_code = max((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), default=-1)
        return super().preprocess(nb, resources, km=km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_test_cell(cell):
            cell.outputs = []
            cell.execution_count = None
        else:
            cell, resources = super().preprocess_cell(cell, resources, index)
        if index == self._last_code:
            self._judge()
        return cell, resources

    def _judge(self) -> None:
        with tempfile.TemporaryDirectory(prefix="judge-") as folder:
            verdicts = judge_kernel(
                _SyncClient(self.kc), self._cells, os.path.join(folder, "judge.sock"),
                run_sync(self.km.interrupt_kernel), label="judge",
            )
        by_id = {v.grade_id: v for v in verdicts}
        for cell in self.nb.cells:
            if cell.cell_type == "code" and is_test_cell(cell):
                missing = Verdict(grade_id(cell) or "?", False,
                                  "JudgeError: the instructor's notebook has no such test cell")
                cell.outputs = [_output(by_id.get(grade_id(cell), missing))]


def _output(verdict: Verdict) -> nbformat.NotebookNode:
    if verdict.passed:
        return nbformat.v4.new_output("stream", name="stdout", text=PASSED_TEXT)
    name, _, value = verdict.message.partition(": ")
    return nbformat.v4.new_output("error", ename=name or "Error", evalue=value,
                                  traceback=[f"{name}: {value}"])


class _SyncClient:
    """The calls :func:`judge_kernel` makes on a client, over nbclient's asynchronous client."""

    def __init__(self, client):
        self.client = client

    def execute(self, code: str, **kwargs):
        return self.client.execute(code, **kwargs)

    def get_shell_msg(self, timeout: float):
        return run_sync(self.client.get_shell_msg)(timeout=timeout)


def configure_judge(c, instructor_notebook: str) -> None:
    """Make autograding run :class:`JudgeExecute` where the course's config runs ``Execute``."""
    preprocessors = list(c[Autograde.__name__].get("autograde_preprocessors", [Execute]))
    swapped = [JudgeExecute if p is Execute else p for p in preprocessors]
    c[Autograde.__name__].autograde_preprocessors = swapped
    c[JudgeExecute.__name__].instructor_notebook = instructor_notebook
