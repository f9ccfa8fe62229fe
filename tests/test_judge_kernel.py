"""The judge against a real Jupyter kernel that ran a notebook's cells except its test cells."""

import tempfile
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from grader.judge.cells import instructor_cells
from grader.judge.kernel import judge_kernel
from grader.nbgrader_terms import hidden_lines, is_test_cell
from tests.notebooks import read_notebook, source_path

ASSIGNMENT = "02_activations"
CHEATS = '''
import course.testing
course.testing.assert_tensor_close = lambda *args, **kwargs: None
assert_tensor_close = lambda *args, **kwargs: None
class AssertionError(Exception):
    pass
def relu_forward(x):
    return np.zeros_like(x), x
'''


def _run(client, code: str, sent: list[str]) -> None:
    sent.append(code)
    reply = client.execute_interactive(code, store_history=False, timeout=120, output_hook=lambda msg: None)
    assert reply["content"]["status"] == "ok", reply["content"]


def _judge(extra_cell: str = "", kernel_lost: bool = False):
    notebook = read_notebook(source_path(ASSIGNMENT))
    manager, client = start_new_kernel(kernel_name="python3")
    sent: list[str] = []
    original_execute = client.execute
    client.execute = lambda code, **kwargs: (sent.append(code), original_execute(code, **kwargs))[1]
    try:
        _run(client, "import matplotlib\nmatplotlib.use('Agg')", sent)
        for cell in notebook.cells:
            if cell.cell_type == "code" and not is_test_cell(cell):
                _run(client, cell.source, sent)
        if extra_cell:
            _run(client, extra_cell, sent)
        with tempfile.TemporaryDirectory() as folder:
            judgement = judge_kernel(client, instructor_cells(notebook), str(Path(folder) / "judge.sock"),
                                     manager.interrupt_kernel, label=ASSIGNMENT)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert bool(judgement.kernel_lost) == kernel_lost, judgement.kernel_lost
    return judgement.verdicts, sent, notebook


@pytest.fixture(scope="module")
def reference():
    return _judge()


def test_the_reference_passes_and_no_test_line_is_sent_to_the_kernel(reference):
    verdicts, sent, notebook = reference
    assert verdicts and all(v.passed for v in verdicts), [v for v in verdicts if not v.passed]
    test_lines = {line.strip() for cell in notebook.cells if is_test_cell(cell)
                  for line in cell.source.split("\n") if len(line.strip()) >= 12}
    assert hidden_lines(notebook.cells) <= test_lines
    assert [line for line in test_lines if any(line in code for code in sent)] == []


def test_cheats_in_the_kernel_do_not_reach_the_judges_checks():
    verdicts, _, _ = _judge(CHEATS)
    failed = {v.grade_id: v.message for v in verdicts if not v.passed}
    # relu_backward's tests make their caches with relu_forward, so they fail with it
    assert list(failed) == ["test_relu_forward", "test_relu_backward"], failed
    assert failed["test_relu_forward"].startswith("AssertionError: out of relu_forward")


# The kernel's side replaced by one that takes the judge's first request and dies.
DIES_AT_ONCE = '''
import os
import socket
import course.kernel_channel

def _serve_and_die(path, namespace):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    connection, _ = listener.accept()
    connection.recv(4)
    os._exit(0)

course.kernel_channel.serve = _serve_and_die
'''


def test_a_kernel_that_dies_while_the_names_are_bound_fails_every_test_cell_with_the_reason():
    verdicts, _, notebook = _judge(DIES_AT_ONCE, kernel_lost=True)
    assert [v.grade_id for v in verdicts] == [t.grade_id for t in instructor_cells(notebook).tests]
    assert verdicts and all(not v.passed and v.message.startswith("KernelLost: ") for v in verdicts), verdicts
