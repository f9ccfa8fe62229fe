"""nbgrader preprocessors that make the autograder's verdict trustworthy.

``nbgrader_config.py`` wires them in:

* :class:`StderrToStdout` runs after execution during autograde. nbgrader
  gives a test cell zero points as soon as anything reaches stderr, so a
  stray DeprecationWarning from a library would fail a correct answer. The
  tests check for warnings where warnings matter (``checked_call``), so
  stderr text is moved to stdout, where it is still shown but does not cost
  points. Errors (failed assertions, exceptions) still score zero.
* :class:`ShortenTestTracebacks` runs when feedback is generated, before
  ``ClearHiddenTests``. A traceback quotes the lines of the test cell around
  the failure, which would show hidden test code to the student; only the
  error's message is kept in test cells (:func:`grader.nbgrader_terms.error_line`,
  the rule ``course check`` and the class report follow too: whole, on one
  line, masked when it quotes a hidden test's line).
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from grader.nbgrader_terms import error_line, hidden_lines, is_test_cell

__all__ = ["StderrToStdout", "ShortenTestTracebacks"]


class StderrToStdout(Preprocessor):
    """Rename stderr stream outputs of every code cell to stdout."""

    # nbconvert runs a preprocessor only when it is enabled; nbgrader's own
    # preprocessors default to enabled, so must these.
    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output["name"] = "stdout"
        return cell, resources


class ShortenTestTracebacks(Preprocessor):
    """Replace the traceback of a failed test cell by its :func:`~grader.nbgrader_terms.error_line`.

    The hidden lines are read from the notebook's own test cells, so it must run while they still hold
    their hidden regions (before ``ClearHiddenTests``).
    """

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        self._hidden = hidden_lines(nb.cells)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [error_line(output, self._hidden)]
        return cell, resources
