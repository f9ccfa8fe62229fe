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


def _judge(extra_cell: str = ""):
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
    assert judgement.kernel_lost == ""
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
