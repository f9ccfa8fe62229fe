"""The judge runs a notebook's test cells in its own process, against the student's code in another."""

import pytest

import grader.judge.channel
from grader.judge.cells import judge_namespace
from grader.nbgrader_terms import hidden_lines
from tests.mutation import judge_cells, kernel_forks
from tests.notebooks import judge_cell, notebook_parts, read_notebook, source_path

ASSIGNMENT = "02_activations"


def _kernel(parts, extra: str = ""):
    cells = [(f"{parts.assignment}:{label}", source) for label, source in parts.definitions]
    if extra:
        cells.append(("student", extra))
    return kernel_forks(parts.assignment, parts.setup).kernel(cells)


@pytest.fixture(scope="module")
def parts():
    return notebook_parts(ASSIGNMENT)


def test_the_reference_passes_every_test_cell_and_no_hidden_line_reaches_the_kernel(parts, monkeypatch):
    sent: list[bytes] = []
    real_send = grader.judge.channel.send_frame
    monkeypatch.setattr(grader.judge.channel, "send_frame", lambda sock, payload: (sent.append(payload),
                                                                                   real_send(sock, payload)))
    cells = judge_cells(ASSIGNMENT)
    with _kernel(parts) as kernel:
        namespace = judge_namespace(cells, kernel.remote, label=ASSIGNMENT)
        verdicts = {test.grade_id: judge_cell(test.source, test.grade_id, namespace) for test in cells.tests}
        del namespace
    assert verdicts == {test.grade_id: None for test in cells.tests}
    assert len(sent) > 100
    hidden = hidden_lines(read_notebook(source_path(ASSIGNMENT)).cells)
    assert hidden, "the notebook has hidden tests"
    leaked = [line for line in hidden if any(line.encode() in payload for payload in sent)]
    assert leaked == []


def test_only_graded_names_are_bound_so_a_students_own_checks_change_nothing(parts):
    cheat = '''
def assert_tensor_close(*args, **kwargs):
    pass

def checked_call(function, *args, **kwargs):
    return function(*args, **kwargs)

def relu_forward(x):
    return np.zeros_like(x), x
'''
    cells = judge_cells(ASSIGNMENT)
    with _kernel(parts, cheat) as kernel:
        namespace = judge_namespace(cells, kernel.remote, label=ASSIGNMENT)
        assert namespace["assert_tensor_close"].__module__ == "course.testing"
        assert namespace["checked_call"].__module__ == "course.testing"
        relu = next(test for test in cells.tests if test.grade_id == "test_relu_forward")
        reason = judge_cell(relu.source, relu.grade_id, namespace)
        del namespace
    assert reason is not None and reason.startswith("AssertionError: out of relu_forward")


def test_a_graded_name_the_kernel_lacks_fails_its_tests_with_a_name_error(parts):
    cells = judge_cells(ASSIGNMENT)
    with _kernel(parts, "del relu_forward") as kernel:
        namespace = judge_namespace(cells, kernel.remote, label=ASSIGNMENT)
        relu = next(test for test in cells.tests if test.grade_id == "test_relu_forward")
        assert judge_cell(relu.source, relu.grade_id, namespace).startswith("NameError")
        del namespace


def test_an_array_subclass_that_lies_is_refused_by_the_judge(parts):
    liar = '''
class _Zero(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(np.shape(inputs[0]))

def relu_forward(x):
    return np.zeros_like(x).view(_Zero), x
'''
    cells = judge_cells(ASSIGNMENT)
    with _kernel(parts, liar) as kernel:
        namespace = judge_namespace(cells, kernel.remote, label=ASSIGNMENT)
        relu = next(test for test in cells.tests if test.grade_id == "test_relu_forward")
        reason = judge_cell(relu.source, relu.grade_id, namespace)
        del namespace
    assert reason == (
        "NotPlainResult: relu_forward returned a _Zero (item 0 of the tuple); return a numpy array"
    )


def test_a_bare_assert_in_a_hidden_part_fails_without_quoting_its_line():
    source = ("x = 1\n### BEGIN HIDDEN TESTS\nassert x == 2\n### END HIDDEN TESTS\n")
    reason = judge_cell(source, "test_hidden", {})
    assert reason == "AssertionError: "
    assert "x == 2" not in reason


def test_a_call_timeout_counts_as_a_timeout():
    from grader.judge.channel import CallTimeout
    from grader.nbgrader_terms import TIMEOUT_ENAMES

    assert CallTimeout.__name__ in TIMEOUT_ENAMES
