"""nbgrader preprocessors that make the autograder's verdict trustworthy.

``nbgrader_config.py`` wires them in:

* :class:`StderrToStdout` runs after execution during autograde. nbgrader
  gives a test cell zero points as soon as anything reaches stderr, so a
  stray DeprecationWarning from a library would fail a correct answer. The
  tests check for warnings where warnings matter (``checked_call``), so
  stderr text is moved to stdout, where it is still shown but does not cost
  points. Errors (failed assertions, exceptions) still score zero.
* :class:`ShortenTestTracebacks` runs when feedback is generated. A
  traceback quotes the lines of the test cell around the failure, which
  would show hidden test code to the student; only the exception's name
  and message are kept in test cells.
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from grader.nbgrader_terms import is_test_cell

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
    """Replace the traceback of a failed test cell by ``Name: message``."""

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
