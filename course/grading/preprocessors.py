"""nbgrader preprocessors that split ``nbgrader autograde`` in two halves.

* :class:`SandboxExecute` replaces nbgrader's ``Execute`` on a worker, in a
  scratch copy of the course: the same execution (same timeout, same
  interrupt, same error on timeout), but in the sandbox, with a cap on the
  output kept, and a runtime probe after the last cell.
* :class:`ReplayExecute` replaces ``Execute`` in the real course, where
  ``course grade`` records the results: instead of running the notebook
  again, it returns the notebook the worker executed. Everything else
  (sanitizing, ``OverwriteCells``, ``SaveAutoGrades``, late penalties, the
  autograded/ folder) is nbgrader's own code, run as ``nbgrader autograde``
  runs it, so the gradebook ends up as ``nbgrader autograde`` would leave it.
"""

from __future__ import annotations

import json
import os

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer, Unicode

from course.grading.probe import MARKER

__all__ = ["SandboxExecute", "ReplayExecute", "TRUNCATION_NOTICE", "ReplayMissing"]

TRUNCATION_NOTICE = "... output truncated by the grader (limit reached) ...\n"


def _size(output: NotebookNode) -> int:
    if output.get("output_type") == "stream":
        return len(output.get("text", ""))
    if output.get("output_type") == "error":
        return sum(len(line) for line in output.get("traceback", [])) + len(output.get("evalue", ""))
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in output.get("data", {}).values())


class SandboxExecute(Execute):
    """nbgrader's ``Execute`` with output caps and a tampering probe.

    The kernel manager (``kernel_manager_class``) is set by the scratch
    course's configuration to :class:`course.grading.sandbox.SandboxKernelManager`.
    """

    output_cell_bytes = Integer(512 * 1024, help="output kept per cell").tag(config=True)
    output_total_bytes = Integer(4 * 1024 * 1024, help="output kept per notebook").tag(config=True)
    probe_report = Unicode("", help="file that receives the probe's JSON report").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._kept_cell: dict[int, int] = {}
        self._kept_total = 0
        self._truncated: set[int] = set()
        self._probe_index = None
        if self.probe_report:
            probe = nbformat.v4.new_code_cell("__import__('course.grading.probe').grading.probe.report()")
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


class ReplayMissing(RuntimeError):
    """The worker did not return an executed notebook (crash, timeout...)."""


class ReplayExecute(NbGraderPreprocessor):
    """Return the notebook a worker executed instead of executing it here.

    ``snapshot_root/<assignment>/<student>/<notebook>.ipynb`` holds the
    executed notebook; ``<notebook>.error`` holds why there is none. The
    executed notebook must hold the same cells as the sanitized notebook
    given here (same count, types and sources), or the replay fails.
    """

    snapshot_root = Unicode("", help="folder of the executed notebooks").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        folder = os.path.join(self.snapshot_root, info["assignment"], info["student"])
        path = os.path.join(folder, info["notebook"] + ".ipynb")
        if not os.path.exists(path):
            reason = "no executed notebook came back from the worker"
            error_path = os.path.join(folder, info["notebook"] + ".error")
            if os.path.exists(error_path):
                with open(error_path) as handle:
                    reason = handle.read().strip() or reason
            raise ReplayMissing(reason)
        executed = nbformat.read(path, as_version=4)
        if len(executed.cells) != len(nb.cells) or any(
            a.cell_type != b.cell_type or a.source != b.source for a, b in zip(executed.cells, nb.cells)
        ):
            raise ReplayMissing("the executed notebook does not match the sanitized submission")
        return executed, resources
