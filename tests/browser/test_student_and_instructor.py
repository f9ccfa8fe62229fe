"""The course as a person meets it, in headless Chromium against a real JupyterLab.

* A student opens each release notebook, runs it cell by cell and sees
  NotImplementedError only where a TODO waits (raised by a TODO's stub, or by
  a cell that refuses to run before the TODOs are done); pastes a right
  answer into the first TODO, re-runs it and sees its visible tests pass.
* With every TODO filled in, each notebook runs top to bottom, and moving a
  slider of its interactive exploration redraws the figure.
* nbgrader's Validate button reports success on a completed notebook (one:
  the notebooks' grading itself is tested without a browser in
  test_nbgrader_pipeline.py; here it is the button and its dialog).
* The same in Notebook 7 (the README promises both front ends), on a
  ``jupyter notebook`` server of its own: a student finds the notebook in
  ``/tree``, opens it at ``/notebooks/...``, runs it, drags its exploration's
  slider, sees the figure redrawn, and clicks Validate.
* An instructor opens formgrader from JupyterLab's Nbgrader menu and sees the assignments.

The JupyterLab tests share one JupyterLab server, all tests one browser (conftest.py).
Screenshots go to test-artifacts/browser/ (and FAILED.png when a test fails).
"""

from __future__ import annotations

import nbformat
import pytest

from tests.browser.lab import (
    WIDGET_MIME,
    describe_errors,
    error_outputs,
    raising_cell,
    released_assignments,
)
from tests.course_copy import reference_submission
from tests.notebooks import (
    is_solution_cell,
    is_test_cell,
    nbgrader_meta,
    read_notebook,
    source_path,
    without_solution_markers,
)

ASSIGNMENTS = released_assignments()
WIDGET_ERRORS = ("Error displaying widget", "Failed to load model class", "Could not create a view")


def solutions(assignment: str) -> dict[str, str]:
    """grade_id → the source notebook's solution cell, markers removed: a right answer."""
    return {
        nbgrader_meta(c)["grade_id"]: without_solution_markers(c.source)
        for c in read_notebook(source_path(assignment)).cells
        if is_solution_cell(c)
    }


def completed_notebook(course, assignment: str, folder: str) -> str:
    """The release notebook with every TODO filled from the source, saved in the course; its path."""
    relative = f"{folder}/{assignment}/{assignment}.ipynb"
    (course / relative).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(reference_submission(course, assignment), str(course / relative))
    return relative


def assert_no_widget_errors(lab) -> None:
    # textContent, not innerText: cells scrolled out of view are not laid out, but their text is there
    text = lab.page.locator(".jp-Notebook").evaluate("node => node.textContent")
    shown = [message for message in WIDGET_ERRORS if message in text]
    assert not shown, f"the notebook shows {shown}"


def assert_no_frontend_errors(lab) -> None:
    assert not lab.frontend_errors, "errors in the browser:\n" + "\n".join(lab.frontend_errors)


def widget_views(cell: dict) -> list[dict]:
    """The cell's outputs that are a widget view (a display of an ipywidgets widget)."""
    return [o for o in cell.get("outputs", []) if WIDGET_MIME in o.get("data", {})]


def raised_by_a_todo(error: dict, cells: list[dict], index: int) -> bool:
    """The error comes from a TODO's stub, or from cell ``index`` itself (a guard such as
    ``raise NotImplementedError("finish the TODOs above")``), not from code handed out as finished."""
    origin = raising_cell(error, cells)
    return origin == index or (origin is not None and is_solution_cell(cells[origin]))


def stderr_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr")


def first_exploration(lab, cells: list[dict]):
    """The first live exploration with a slider (an interact box), found by its widget: the first
    cell showing a widget view whose box holds a slider."""
    explorations = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and widget_views(c)]
    assert explorations, "no cell shows a live widget (is COURSE_STATIC_WIDGETS leaking into the server?)"
    for index in explorations:
        interact = lab.cell_element(index).wait_for_selector(".widget-interact")
        if interact.query_selector(".widget-slider .noUi-handle") is not None:
            interact.wait_for_selector(".widget-output img")
            return interact
    raise AssertionError(f"no exploration has a slider (cells {explorations})")


def move_a_slider_and_see_the_figure_redrawn(lab, interact, by: str = "keyboard") -> None:
    """Move the exploration's first slider a little (back, if it starts at its maximum), ``by`` the
    keyboard (one arrow key on the focused handle) or the mouse (a short drag of the handle); the
    figure must change, with no error."""
    figure = interact.query_selector(".widget-output img")
    handle = interact.query_selector(".widget-slider .noUi-handle")
    readout = interact.query_selector(".widget-slider .widget-readout")
    value_before, image_before = readout.inner_text(), figure.get_attribute("src")
    now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
    at_max = now is not None and top is not None and float(now) >= float(top)
    if by == "keyboard":
        handle.focus()
        lab.page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
    else:
        handle.scroll_into_view_if_needed()
        box = handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        lab.page.mouse.move(x, y)
        lab.page.mouse.down()
        # One mouse move, so one new value and one redraw: intermediate values would redraw the
        # figure for a value the slider has already left.
        lab.page.mouse.move(x - 20 if at_max else x + 20, y, steps=1)
        lab.page.mouse.up()
    lab.page.wait_for_function(
        """([interact, before]) => {
          const image = interact.querySelector('.widget-output img');
          return image !== null && image.getAttribute('src') !== before;
        }""",
        arg=[interact, image_before],
        timeout=180_000,
    )
    lab.page.wait_for_function("() => window.jupyterapp.shell.currentWidget"
                               ".sessionContext.session.kernel.status === 'idle'")
    assert readout.inner_text() != value_before, "the slider's value did not change"
    errors = interact.query_selector_all(
        '.widget-output [data-mime-type="application/vnd.jupyter.stderr"]')
    assert not errors, "the exploration printed an error: " + errors[0].inner_text()[:500]


def validate_and_see_success(lab):
    """Click nbgrader's Validate in the notebook's toolbar; its dialog must report success (returned)."""
    lab.page.locator(".validate-button").click()
    dialog = lab.page.locator(".jp-Dialog")
    dialog.wait_for(timeout=300_000)  # nbgrader runs the whole notebook in a new kernel first
    text = dialog.inner_text()
    assert "Success! Your notebook passes all the tests." in text, text[:3000]
    return dialog


def run_all_without_errors(lab) -> list[dict]:
    """Run → Run All Cells on a completed notebook: every code cell runs, none fails; the cells."""
    lab.run_all()
    cells = lab.cells()
    assert not any(error_outputs(c) for c in cells), describe_errors(cells)
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    assert all(cells[i]["execution_count"] is not None for i in code), "Run All did not reach every cell"
    assert_no_widget_errors(lab)
    return cells


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_runs_the_release_fills_a_todo_and_sees_its_test_pass(lab, assignment):
    lab.open_notebook(f"release/{assignment}/{assignment}.ipynb")
    code = [i for i, c in enumerate(lab.cells()) if c["cell_type"] == "code"]
    for index in code:  # Shift+Enter through the notebook: Run All would stop at the first error
        lab.run_cell(index)
    cells = lab.cells()

    assert all(cells[i]["execution_count"] is not None for i in code), "a code cell did not run"
    wrong = [f"cell {i}: {e['ename']}: {e['evalue'][:200]}"
             for i in code for e in error_outputs(cells[i]) if e["ename"] != "NotImplementedError"]
    assert not wrong, "errors other than an unfilled TODO's NotImplementedError: " + "; ".join(wrong)
    outside = [f"cell {i} (raised in cell {raising_cell(e, cells)})"
               for i in code for e in error_outputs(cells[i]) if not raised_by_a_todo(e, cells, i)]
    assert not outside, "NotImplementedError raised by code that is not a TODO: " + "; ".join(outside)
    tests = [i for i in code if is_test_cell(cells[i])]
    assert tests, "the release notebook has no test cell"
    passing = [nbgrader_meta(cells[i])["grade_id"] for i in tests if not error_outputs(cells[i])]
    assert not passing, f"test cells pass although no TODO is filled in: {passing}"
    noisy = {i: stderr_of(cells[i])[:200] for i in code if stderr_of(cells[i])}
    assert not noisy, f"cells write to stderr: {noisy}"
    assert_no_widget_errors(lab)
    lab.screenshot("1-release-first-test-fails", lab.cell_element(tests[0]))

    # The first TODO gets a right answer; then the student re-runs it and its tests.
    first = next(i for i in code if is_solution_cell(cells[i]))
    following = [i for i in code if i > first]
    next_todo = next((i for i in following if is_solution_cell(cells[i])), len(cells))
    own_tests = [i for i in following if i < next_todo and is_test_cell(cells[i])]
    assert own_tests, f"no test cell follows the first TODO (cell {first})"
    answer = solutions(assignment)[nbgrader_meta(cells[first])["grade_id"]]
    lab.paste_into_cell(first, answer)
    assert lab.cell_source(first) == answer, "the editor does not hold the pasted answer"
    for index in [i for i in code if first <= i <= own_tests[-1]]:
        lab.run_cell(index)
    cells = lab.cells()
    assert not error_outputs(cells[first]), describe_errors([cells[first]])
    for index in own_tests:
        assert not error_outputs(cells[index]), (
            f"{nbgrader_meta(cells[index])['grade_id']} fails with the source's answer: "
            + describe_errors([cells[index]])
        )
    lab.screenshot("2-filled-todo-test-passes", lab.cell_element(own_tests[0]))
    assert_no_frontend_errors(lab)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_completed_notebook_runs_and_its_widget_redraws_when_a_slider_moves(lab, assignment):
    lab.open_notebook(completed_notebook(lab.course, assignment, "completed"))
    cells = run_all_without_errors(lab)
    interact = first_exploration(lab, cells)
    lab.screenshot("1-widget-before", interact)
    move_a_slider_and_see_the_figure_redrawn(lab, interact)
    lab.screenshot("2-widget-after", interact)
    interact.evaluate("node => node.scrollIntoView({block: 'center'})")
    lab.screenshot("3-jupyterlab")
    assert_no_widget_errors(lab)
    assert_no_frontend_errors(lab)
    explorations = [i for i, c in enumerate(cells) if widget_views(c)]
    shown_twice = {i: len(widget_views(cells[i])) for i in explorations if len(widget_views(cells[i])) > 1}
    assert not shown_twice, (
        f"an exploration is shown twice (cell: views {shown_twice}): does course.widgets.explore "
        "return its widget, so that a cell ending in explore(...) shows it again as Out[n]?")


@pytest.mark.parametrize("assignment", ASSIGNMENTS[:1])
def test_validate_button_reports_success_on_a_completed_notebook(lab, assignment):
    lab.open_notebook(completed_notebook(lab.course, assignment, "validate"))
    dialog = validate_and_see_success(lab)
    lab.screenshot("validate-dialog")
    dialog.get_by_role("button", name="Ok").click()
    assert_no_frontend_errors(lab)


# Raised by Notebook 7's own front end (its notebook_core bundle: the shortcuts plugin reading the
# settings schema of @jupyterlab/docmanager-extension:plugin) on every page, /tree and an empty
# notebook alike; measured with notebook 7.6.5 and JupyterLab 4.6.6. Nothing of the course's.
NOTEBOOK7_OWN_ERRORS = ("uncaught: Cannot read properties of undefined (reading 'schema')",
                        "console.error: Cannot convert undefined or null to object")


@pytest.mark.parametrize("assignment", ASSIGNMENTS[:1])
def test_notebook7_runs_a_notebook_redraws_its_exploration_and_validates(notebook7, assignment):
    """Notebook 7's own pages (``jupyter notebook``): /tree, then /notebooks/<path>.

    The slider is dragged with the mouse: in Notebook 7 an arrow key on a focused slider handle
    moves the notebook's active cell instead (notebook 7.6.5), so a keyboard step tests nothing.
    """
    page = notebook7
    page.open_notebook7(completed_notebook(page.course, assignment, "notebook7"))
    page.screenshot("1-notebook7-opened")
    cells = run_all_without_errors(page)
    interact = first_exploration(page, cells)
    move_a_slider_and_see_the_figure_redrawn(page, interact, by="mouse")
    interact.evaluate("node => node.scrollIntoView({block: 'center'})")
    page.screenshot("2-notebook7-exploration", docs_name="notebook7-exploration")

    dialog = validate_and_see_success(page)
    page.screenshot("3-notebook7-validate")
    dialog.get_by_role("button", name="Ok").click()
    assert_no_widget_errors(page)
    page.frontend_errors[:] = [e for e in page.frontend_errors if e not in NOTEBOOK7_OWN_ERRORS]
    assert_no_frontend_errors(page)


@pytest.mark.skipif(not ASSIGNMENTS, reason="no release notebook yet")
def test_instructor_sees_the_assignments_in_formgrader(lab):
    lab.open_lab()
    lab.menu("Nbgrader", "Formgrader")
    formgrader = lab.page.frame_locator("iframe").first
    for assignment in ASSIGNMENTS:
        formgrader.locator("td.name a", has_text=assignment).wait_for()
    formgrader.locator("td.name a").last.scroll_into_view_if_needed()
    lab.screenshot("formgrader")
    shown = formgrader.locator("td.name a").all_inner_texts()
    assert sorted(shown) == ASSIGNMENTS, f"formgrader lists {shown}"
    assert_no_frontend_errors(lab)
