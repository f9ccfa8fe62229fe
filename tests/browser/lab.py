"""What a person does in JupyterLab or Notebook 7, through a real browser page (Playwright).

Actions go through the user interface (menus, toolbar buttons, the keyboard,
pasting into the editor, dragging sliders by the keyboard). To know when an
action has finished, the tests read JupyterLab's own state (the server is
started with ``expose_app_in_browser``): the kernel's status and the cells'
execution counts and outputs, never a fixed sleep.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.notebooks import RELEASE, ROOT, SOURCE

ARTIFACTS = ROOT / "test-artifacts" / "browser"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"


def wait_until_answering(url: str, process: subprocess.Popen, log: Path, what: str,
                         seconds: float = 120) -> None:
    """Poll ``url`` until it answers 200; raise with the end of ``log`` if ``process`` exits first."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}):\n" + log.read_text()[-3000:])
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer within {seconds:.0f} s; see {log}")
        time.sleep(0.25)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# JavaScript run in the page; PANEL is the notebook in the main area.
PANEL = "window.jupyterapp.shell.currentWidget"
NOTEBOOK_READY = """(path) => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.context || panel.context.path !== path || !panel.context.isReady) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}"""
KERNEL_IDLE = f"() => {PANEL}.sessionContext.session.kernel.status === 'idle'"
CELL_FINISHED = f"""([index, before]) => {{
  const panel = {PANEL};
  const cell = panel.content.widgets[index];
  const count = cell.model.executionCount;
  return panel.sessionContext.session.kernel.status === 'idle' && count !== null && count !== before;
}}"""
RUN_ALL_FINISHED = f"""() => {{
  const panel = {PANEL};
  if (panel.sessionContext.session.kernel.status !== 'idle') return false;
  const code = panel.content.widgets.filter(c => c.model.type === 'code');
  const failed = code.some(c => c.model.outputs.toJSON().some(o => o.output_type === 'error'));
  return failed || code[code.length - 1].model.executionCount !== null;
}}"""


def released_assignments() -> list[str]:
    """Assignments with a committed release notebook and a source (``COURSE_ASSIGNMENTS`` limits them)."""
    if not RELEASE.is_dir():
        return []
    found = sorted(
        p.name for p in RELEASE.iterdir()
        if re.match(r"\d\d_", p.name) and (p / f"{p.name}.ipynb").is_file()
        and (SOURCE / p.name / f"{p.name}.ipynb").is_file()
    )
    wanted = [a for a in os.environ.get("COURSE_ASSIGNMENTS", "").split(",") if a]
    return [a for a in found if a in wanted] if wanted else found


class Lab:
    """One browser page on the course's JupyterLab server."""

    def __init__(self, page, url: str, token: str, course: Path, test_name: str):
        self.page, self.url, self.token, self.course = page, url, token, course
        self.artifacts = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_")
        self.frontend_errors: list[str] = []
        page.on("pageerror", lambda error: self.frontend_errors.append(f"uncaught: {error}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error":
            self.frontend_errors.append(f"console.error: {message.text}")

    # -- pages -----------------------------------------------------------------------------------

    def open_lab(self) -> None:
        self.page.goto(f"{self.url}/lab?reset&token={self.token}")
        self.page.locator(".lm-MenuBar").wait_for()

    def open_notebook(self, path: str) -> None:
        """Open ``path`` (relative to the course) in a fresh workspace; wait for an idle kernel.

        The file browser is then closed (View → Appearance → Show Left Sidebar), so that
        screenshots show the notebook at full width.
        """
        self.page.goto(f"{self.url}/lab/tree/{path}?reset&token={self.token}")
        self.page.wait_for_function(NOTEBOOK_READY, arg=path, timeout=120_000)
        self.page.evaluate("""async () => {
          if (!window.jupyterapp.shell.leftCollapsed) {
            await window.jupyterapp.commands.execute('application:toggle-left-area');
          }
        }""")

    def open_notebook7(self, path: str) -> None:
        """Notebook 7: its file list at ``/tree`` shows the notebook's folder; then the notebook's
        own page, ``/notebooks/<path>``; wait for an idle kernel."""
        self.page.goto(f"{self.url}/tree?token={self.token}")
        folder = path.split("/")[0]
        self.page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(folder)}$")).wait_for()
        self.page.goto(f"{self.url}/notebooks/{path}?token={self.token}")
        self.page.wait_for_function(NOTEBOOK_READY, arg=path, timeout=120_000)

    def screenshot(self, name: str, element=None, docs_name: str | None = None) -> Path:
        """Save a screenshot in the test's artifacts; with ``COURSE_DOCS_SCREENSHOTS=1`` and a
        ``docs_name``, also as docs/screenshots/<docs_name>.png (a picture of the README)."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        (element or self.page).screenshot(path=str(path))
        if docs_name and os.environ.get("COURSE_DOCS_SCREENSHOTS") == "1":
            shutil.copy(path, DOCS_SCREENSHOTS / f"{docs_name}.png")
        return path

    def menu(self, menu: str, item: str) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(menu)}$")).click()
        self.page.get_by_role("menuitem", name=item, exact=True).click()

    # -- the notebook's state ----------------------------------------------------------------------

    def cells(self) -> list[dict[str, Any]]:
        """The notebook's cells as nbformat dicts, outputs included, as the front end holds them."""
        return self.page.evaluate(f"() => {PANEL}.content.model.toJSON().cells")

    def cell_source(self, index: int) -> str:
        return self.page.evaluate(
            f"(i) => {PANEL}.content.widgets[i].model.sharedModel.getSource()", index)

    def cell_element(self, index: int):
        """The cell's DOM node, scrolled into view (cells are rendered lazily)."""
        self.page.evaluate(f"async (i) => {{ await {PANEL}.content.scrollToItem(i, 'start'); }}", index)
        return self.page.evaluate_handle(f"(i) => {PANEL}.content.widgets[i].node", index).as_element()

    # -- actions -------------------------------------------------------------------------------------

    def select_cell(self, index: int) -> None:
        """Make cell ``index`` the active cell, in command mode, with the keyboard focus on the notebook."""
        self.page.evaluate(
            f"""async (i) => {{
              const notebook = {PANEL}.content;
              notebook.mode = 'command';
              notebook.activeCellIndex = i;
              await notebook.scrollToItem(i, 'start');
              notebook.node.focus();
            }}""",
            index,
        )

    def run_cell(self, index: int) -> None:
        """Select cell ``index``, press Shift+Enter, and wait until the kernel has run it and is idle."""
        before = self.page.evaluate(f"(i) => {PANEL}.content.widgets[i].model.executionCount", index)
        self.select_cell(index)
        self.page.keyboard.press("Shift+Enter")
        self.page.wait_for_function(CELL_FINISHED, arg=[index, before], timeout=300_000)

    def run_all(self) -> None:
        """Run → Run All Cells, then wait for the last code cell (or the first error) and an idle kernel."""
        self.menu("Run", "Run All Cells")
        self.page.wait_for_function(RUN_ALL_FINISHED, timeout=300_000)

    def paste_into_cell(self, index: int, text: str) -> None:
        """Click into the cell's editor, select everything and paste ``text`` over it."""
        editor = self.cell_element(index).query_selector(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+A")
        editor.evaluate(
            """(element, text) => {
              const data = new DataTransfer();
              data.setData('text/plain', text);
              element.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true,
                                                                  cancelable: true}));
            }""",
            text,
        )
        self.page.keyboard.press("Escape")

    # -- the server ----------------------------------------------------------------------------------

    def _api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        """End every session the test opened, so that no kernel keeps a core busy."""
        for session in self._api("GET", "sessions"):
            self._api("DELETE", f"sessions/{session['id']}")


ANSI = re.compile(r"\x1b\[[0-9;]*m")
CELL_FRAME = re.compile(r"Cell In\[(\d+)\]")


def raising_cell(error: dict, cells: list[dict]) -> int | None:
    """Index of the cell whose code raised ``error``: its traceback's innermost notebook frame."""
    frames = CELL_FRAME.findall(ANSI.sub("", "\n".join(error.get("traceback", []))))
    if not frames:
        return None
    count = int(frames[-1])
    return next((i for i, c in enumerate(cells) if c.get("execution_count") == count), None)


def error_outputs(cell: dict) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def describe_errors(cells: list[dict]) -> str:
    return "; ".join(
        f"cell {i}: {e['ename']}: {e['evalue'][:200]}"
        for i, cell in enumerate(cells) for e in error_outputs(cell)
    )
