"""The preprocessors wired into nbgrader_config.py."""

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from grader.nbgrader_plugins import ShortenTestTracebacks, StderrToStdout
from grader.nbgrader_terms import HIDDEN_MESSAGE


def _graded_cell(**outputs_and_meta):
    cell = new_code_cell("assert f() == 1")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1}
    cell.outputs = outputs_and_meta["outputs"]
    return cell


def test_plugins_are_enabled_by_default_as_nbgrader_expects():
    assert StderrToStdout().enabled and ShortenTestTracebacks().enabled


def test_stderr_becomes_stdout_and_errors_stay():
    cell = _graded_cell(outputs=[
        new_output("stream", name="stderr", text="DeprecationWarning: old\n"),
        new_output("error", ename="AssertionError", evalue="wrong", traceback=["tb"]),
    ])
    nb, _ = StderrToStdout().preprocess(new_notebook(cells=[cell]), {})
    outputs = nb.cells[0].outputs
    assert outputs[0].name == "stdout"
    assert outputs[0].text == "DeprecationWarning: old\n"
    assert outputs[1].output_type == "error"


def test_failed_test_cells_keep_only_the_message():
    cell = _graded_cell(outputs=[new_output(
        "error", ename="AssertionError", evalue="dx is wrong at index 3",
        traceback=["Traceback", "----> 5 assert_tensor_close(dx, secret_expected)", "AssertionError"],
    )])
    free_cell = new_code_cell("1/0")
    free_cell.outputs = [new_output("error", ename="ZeroDivisionError", evalue="x", traceback=["a", "b"])]
    nb, _ = ShortenTestTracebacks().preprocess(new_notebook(cells=[cell, free_cell]), {})
    assert nb.cells[0].outputs[0].traceback == ["AssertionError: dx is wrong at index 3"]
    assert nb.cells[1].outputs[0].traceback == ["a", "b"]
    nbformat.validate(nb)


def test_a_message_that_quotes_a_hidden_line_is_masked_in_feedback():
    cell = _graded_cell(outputs=[new_output(
        "error", ename="AssertionError", evalue="failed: assert_tensor_close(dx, secret_expected)",
        traceback=["Traceback", "AssertionError"],
    )])
    cell.source = ("assert f() == 1\n### BEGIN HIDDEN TESTS\nassert_tensor_close(dx, secret_expected)\n"
                   "### END HIDDEN TESTS")
    nb, _ = ShortenTestTracebacks().preprocess(new_notebook(cells=[cell]), {})
    assert nb.cells[0].outputs[0].traceback == [f"AssertionError: {HIDDEN_MESSAGE}"]
