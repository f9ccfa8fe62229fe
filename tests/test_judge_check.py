"""``course check``, the judge by default: nbgrader scores its verdicts; kernel cheats change nothing."""

import nbformat

from grader.check import check_notebook
from grader.nbgrader_terms import grade_id, is_test_cell
from tests.notebooks import ROOT, source_path

ASSIGNMENT = "02_activations"
# A broken relu_forward, and every in-kernel trick that would rescue it if the tests ran in the kernel.
CHEATS = '''
import sys
import course.testing
course.testing.assert_tensor_close = lambda *args, **kwargs: None
assert_tensor_close = lambda *args, **kwargs: None
checked_call = lambda function, *args, name=None, **kwargs: function(*args, **kwargs)
class AssertionError(Exception):
    pass
sys.settrace(None)
get_ipython().showtraceback = lambda *args, **kwargs: None
def relu_forward(x):
    return np.zeros_like(x), x
'''


def test_check_with_the_judge_fails_only_what_is_wrong_whatever_the_kernel_does(tmp_path):
    notebook = nbformat.read(str(source_path(ASSIGNMENT)), as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(CHEATS))  # after every solution cell
    for cell in notebook.cells:  # the student's copy of a test cell, rewritten to print "ok": never run
        if is_test_cell(cell) and grade_id(cell) == "test_relu_forward":
            cell.source = "print('ok')"
    path = tmp_path / f"{ASSIGNMENT}.ipynb"
    nbformat.write(notebook, str(path))
    result = check_notebook(path, ASSIGNMENT, ROOT)  # the judge is the default
    failed = {cell["name"]: cell["message"] for cell in result["cells"] if cell["score"] < cell["max_score"]}
    # relu_backward's tests make their caches with relu_forward
    assert sorted(failed) == ["test_relu_backward", "test_relu_forward"], failed
    assert failed["test_relu_forward"].startswith("AssertionError: out of relu_forward")
    assert result["score"] == result["max_score"] - 3
