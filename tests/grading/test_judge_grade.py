"""``course grade`` with the judge (its default): test cells are decided where no student code ran.

One course copy of ``01_computation_graphs``, five students:

* ``reference`` (the solutions) and ``blank`` (the release notebook);
* ``broken``: the reference with ``fruit_price`` returning zeros (worth the points of every cell but
  ``test_fruit_price``);
* ``broken-rebound``: ``broken``, and its cell rebinds the checks the test cells call
  (``assert_tensor_close``, ``checked_call``, ``course.testing.assert_tensor_close``);
* ``broken-transformer``: ``broken``, and its cell installs an IPython input transformer that turns
  every later cell that calls ``fruit_price`` (its test cell) into ``pass``;
* ``stderr-warning`` (a correct ``fruit_price`` that prints a warning on stderr) and ``loop-function``
  (a ``fruit_price`` that never returns): graded as plain nbgrader grades them;
* ``dies-when-judged`` and ``hangs-when-judged``: the reference, but a ``fruit_price`` that kills its
  kernel, or ignores SIGINT and never returns, when the judge calls it.

Both tricks fool plain ``nbgrader autograde`` (run on a copy: it gives them more than ``broken``);
through ``course grade`` they earn exactly what ``broken`` earns, and through ``course grade
--no-judge`` what plain nbgrader gives. The course's ``nbgrader_config.py``
of the graded copy wraps ``KernelClient.execute`` on the worker to record every ``execute_request``:
no line of any test cell, hidden or visible, is ever sent to a kernel. Feedback and ``course report``
show the judge's one-line message, and no hidden line.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from grader.judge.nbgrader import PASSED_TEXT
from grader.nbgrader_terms import cell_error_line, grade_id, hidden_lines, is_test_cell
from tests.course_copy import (
    blank_submission,
    make_course_copy,
    nbgrader,
    reference_submission,
    submission_with,
    submit,
)
from tests.grading.conftest import clone_course, course_env, course_grade
from tests.notebooks import read_notebook, source_path

ASSIGNMENT = "01_computation_graphs"
BROKEN = '''
def fruit_price(apple, apple_num, orange, orange_num, tax):
    return 0.0, {key: 0.0 for key in ("apple", "apple_num", "orange", "orange_num", "tax")}
'''
REBOUND = '''
import course.testing
course.testing.assert_tensor_close = lambda *args, **kwargs: None
assert_tensor_close = lambda *args, **kwargs: None
checked_call = lambda function, *args, name=None, **kwargs: function(*args, **kwargs)
'''
TRANSFORMER = '''
def _quiet(lines):
    calls = any("fruit_price(" in line for line in lines)
    return ["pass\\n"] if calls and not any("def fruit_price" in line for line in lines) else lines
get_ipython().input_transformers_post.append(_quiet)
'''
WARNS = '''
_fruit_price = fruit_price

def fruit_price(*args, **kwargs):
    import sys
    print("warning: rounding to cents", file=sys.stderr)
    return _fruit_price(*args, **kwargs)
'''
LOOPS = '''
def fruit_price(apple, apple_num, orange, orange_num, tax):
    while True:
        pass
'''
# the reference's fruit_price, unless the judge calls it (its caller is the kernel's side of the channel)
WHEN_JUDGED = '''
import os, signal, sys
_fruit_price = fruit_price

def fruit_price(*args, **kwargs):
    if sys._getframe(1).f_code.co_filename.endswith("kernel_channel.py"):
        {action}
    return _fruit_price(*args, **kwargs)
'''
DIES = WHEN_JUDGED.format(action="os._exit(1)")
HANGS = WHEN_JUDGED.format(action="signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                  "        while True:\n            pass")
STUDENTS = {"reference": None, "blank": None, "broken": BROKEN, "broken-rebound": BROKEN + REBOUND,
            "broken-transformer": BROKEN + TRANSFORMER, "stderr-warning": WARNS, "loop-function": LOOPS,
            "dies-when-judged": DIES, "hangs-when-judged": HANGS}
#: added to the graded copy's nbgrader_config.py: every code the worker's nbgrader sends to a kernel
RECORDER = '''
import json as _json
from jupyter_client.asynchronous.client import AsyncKernelClient as _Client
_execute = _Client.execute
def _recorded(self, code, *args, **kwargs):
    with open({log!r}, "a") as _log:
        _log.write(_json.dumps(code) + "\\n")
    return _execute(self, code, *args, **kwargs)
if _execute.__name__ != "_recorded":  # nbgrader loads its configuration more than once
    _Client.execute = _recorded
'''


def _scores(course: Path) -> dict[str, dict[str, float]]:
    """Per student, the score of each graded cell, and ``total``."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {}
        for student in STUDENTS:
            submission = gb.find_submission(ASSIGNMENT, student)
            cells = {g.name: g.score for nb in submission.notebooks for g in nb.grades}
            scores[student] = {**cells, "total": submission.score}
        return scores


@pytest.fixture(scope="module")
def judged(artifacts):
    """The course graded by ``course grade`` (judge on) and by plain nbgrader, and the kernels' code."""
    course = make_course_copy(artifacts / "judge-template", [ASSIGNMENT])
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    for student, code in STUDENTS.items():
        if student == "reference":
            nb = reference_submission(course, ASSIGNMENT)
        elif student == "blank":
            nb = blank_submission(course, ASSIGNMENT)
        else:
            nb = submission_with(course, ASSIGNMENT, "fruit_price", code)
        submit(course, student, ASSIGNMENT, nb)
    plain = clone_course(course, "judge-plain")
    for student in STUDENTS:
        nbgrader(plain, "autograde", ASSIGNMENT, "--student", student, "--force")
    graded = clone_course(course, "judge-grade")
    log = graded / "execute-requests.jsonl"
    with open(graded / "nbgrader_config.py", "a") as config:
        config.write(RECORDER.format(log=str(log)))
    run = course_grade(graded, ASSIGNMENT, "--workers", "2")
    assert run["status"] in (0, 1), run["stderr"][-3000:]
    sent = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    without = course_grade(clone_course(course, "judge-off"), ASSIGNMENT, "--workers", "2", "--no-judge")
    assert without["status"] in (0, 1), without["stderr"][-3000:]
    return {"plain": plain, "course": graded, "run": run, "sent": sent, "without": without}


def test_without_the_judge_course_grade_grades_as_plain_nbgrader(judged):
    """``--no-judge``: the test cells run in the kernel, and every trick earns what plain nbgrader gives."""
    assert _scores(judged["without"]["course"]) == _scores(judged["plain"])
    assert all("judge" not in row["phases"] for row in judged["without"]["report"].values())


def test_no_line_of_a_test_cell_is_ever_sent_to_a_kernel(judged):
    notebook = read_notebook(source_path(ASSIGNMENT))
    other_code = "\n".join(cell.source for cell in notebook.cells
                           if cell.cell_type == "code" and not is_test_cell(cell))
    # the lines of test cells, visible and hidden, but those a solution or given cell holds too
    test_lines = {line.strip() for cell in notebook.cells if is_test_cell(cell)
                  for line in cell.source.split("\n") if len(line.strip()) >= 12}
    test_lines = {line for line in test_lines if line not in other_code}
    assert hidden_lines(notebook.cells) <= test_lines and len(test_lines) > 50
    sent = judged["sent"]
    # control: the recorder saw the student's cells and the judge's one serving cell, for every student
    assert sum("def fruit_price(" in code for code in sent) >= len(STUDENTS)
    assert sum("course.kernel_channel" in code for code in sent) == len(STUDENTS)
    assert [line for line in sorted(test_lines) if any(line in code for code in sent)] == []


def test_tricks_that_fool_plain_nbgrader_earn_what_the_broken_answer_earns(judged):
    plain, graded = _scores(judged["plain"]), _scores(judged["course"])
    total = graded["reference"]["total"]
    assert total > 0 and graded["reference"] == plain["reference"]
    assert all(score == graded["reference"][name] for name, score in graded["reference"].items())
    assert graded["broken"]["test_fruit_price"] == 0
    assert graded["broken"]["total"] == plain["broken"]["total"] < total
    for trick in ("broken-rebound", "broken-transformer"):
        assert plain[trick]["total"] > plain["broken"]["total"], f"{trick} does not fool plain nbgrader"
        assert graded[trick] == graded["broken"], trick
    assert graded["blank"] == plain["blank"]
    # a warning on stderr costs what it costs in the course's pipeline (moved to stdout: nothing)
    assert graded["stderr-warning"] == plain["stderr-warning"] == graded["reference"]
    # a call that runs longer than a cell may: the cell fails, and the summary counts it as a timeout
    assert graded["loop-function"] == plain["loop-function"]
    assert graded["loop-function"]["test_fruit_price"] == 0 < graded["loop-function"]["total"]
    assert "loop-function" in judged["run"]["stdout"].split("cell timeouts")[1]


def test_a_kernel_that_dies_or_hangs_while_judged_fails_the_cells_left_and_nothing_else(judged):
    graded = _scores(judged["course"])
    before = ["test_derive_local_gradients", "test_mul_layer", "test_add_layer",
              "test_derive_price_gradients"]
    kept = sum(graded["reference"][cell] for cell in before)
    for student in ("dies-when-judged", "hangs-when-judged"):
        row = judged["run"]["report"][student]
        assert row["status"] == "graded", row
        assert all(graded[student][cell] == graded["reference"][cell] for cell in before), graded[student]
        assert graded[student]["total"] == kept, graded[student]
        folder = judged["course"] / "autograded" / student / ASSIGNMENT
        executed = read_notebook(folder / f"{ASSIGNMENT}.ipynb")
        messages = {grade_id(cell): cell_error_line(cell) for cell in executed.cells if is_test_cell(cell)}
        assert messages["test_value_topological_order"].startswith("KernelLost: "), messages
    assert judged["run"]["report"]["reference"]["status"] == "graded"


def test_the_judge_writes_its_verdict_into_each_test_cell_never_an_execute_result(judged):
    folder = judged["course"] / "autograded"
    for student in STUDENTS:
        executed = read_notebook(folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        for cell in executed.cells:
            if is_test_cell(cell):
                # the verdict, after what the judge's run wrote to stderr, if anything (which the
                # course's pipeline moves to stdout)
                *before, output = cell.outputs
                assert all(o.output_type == "stream" and o.text != PASSED_TEXT for o in before), student
                assert output.output_type in ("error", "stream"), (student, grade_id(cell))
                if output.output_type == "stream":
                    assert output.text == PASSED_TEXT


def test_the_report_times_the_judge_as_its_own_phase(judged):
    rows = judged["run"]["report"]
    assert all(row["phases"].get("judge", 0) > 0 for row in rows.values()), rows
    assert "judge" in judged["run"]["stdout"]


def _text_of_html(path: Path) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", path.read_text())).split())


def test_feedback_and_the_report_show_the_judges_message_and_no_hidden_line(judged):
    course = judged["course"]
    hidden = hidden_lines(read_notebook(source_path(ASSIGNMENT)).cells)
    executed = read_notebook(course / "autograded" / "broken" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    message = next(cell_error_line(cell, hidden) for cell in executed.cells
                   if grade_id(cell) == "test_fruit_price")
    assert message.startswith("AssertionError: price"), message
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    for student in STUDENTS:
        text = _text_of_html(course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html")
        own = (course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
        leaked = [line for line in hidden if line in text and json.dumps(line)[1:-1] not in own]
        assert not leaked, f"feedback of {student} shows hidden test lines: {leaked[:3]}"
        if student.startswith("broken"):
            assert message in text, f"feedback of {student} does not say {message!r}"
    out = course / "class-report"
    process = subprocess.run([sys.executable, "-m", "grader", "report", ASSIGNMENT, "--out", str(out),
                              "--no-progress"], cwd=course, env=course_env(), capture_output=True, text=True,
                             timeout=600)
    assert process.returncode == 0, process.stderr[-3000:]
    report = (out / "report.json").read_text()
    assert json.dumps(message)[1:-1] in report
    leaked = [line for line in hidden if json.dumps(line)[1:-1] in report or line in report]
    assert not leaked, leaked[:3]
