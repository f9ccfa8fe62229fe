"""A class on the course's JupyterHub (hub/), and what its people do there, through a browser page.

:class:`Hub` prepares a class in a temporary folder (``hub/prepare_class.py``: Unix users named
``bp-test-*`` so that they never touch a class made by ``make hub``), starts JupyterHub on loopback on
free ports, and at the end stops it, ends what its users left running and deletes the users.
:class:`Person` is one user logged in through the hub's login page, in a browser context of their own;
its methods are what that person clicks: nbgrader's Assignments tab for a student, formgrader for the
instructor.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.browser.lab import ARTIFACTS, NOTEBOOK_READY, PANEL, Lab, wait_until_answering
from tests.notebooks import ROOT
from tests.ports import free_port

HUB = ROOT / "hub"
PROXY = HUB / "node_modules" / ".bin" / "configurable-http-proxy"
PREFIX = "bp-test-"
COURSE_FOLDER = "backprop"  # the instructor's course, in their home (hub/prepare_class.py)
SHOTS = ARTIFACTS / "hub"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
SYSTEM_TOOLS = ("useradd", "usermod", "userdel", "chpasswd", "runuser")


def hub_unavailable_reason() -> str | None:
    """Why this machine cannot run the class (no root, no user tools, no proxy), or None."""
    if os.geteuid() != 0:
        return "not root: the hub test creates Unix users (useradd) and JupyterHub spawns servers as them"
    missing = [tool for tool in SYSTEM_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"cannot create users here: {', '.join(missing)} missing"
    if not _proxy_runs():
        result = subprocess.run(["bash", str(ROOT / "scripts" / "install_hub.sh")],
                                capture_output=True, text=True, timeout=600)
        if not _proxy_runs():
            return ("configurable-http-proxy is not installed and cannot be installed here ("
                    + ((result.stderr or result.stdout).strip() or "scripts/install_hub.sh installed nothing")
                    + ")")
    return None


def _proxy_runs() -> bool:
    if not PROXY.exists():
        return False
    return subprocess.run([str(PROXY), "--version"], capture_output=True).returncode == 0


def screenshot(page_or_element, name: str) -> Path:
    """Save a screenshot in test-artifacts/browser/hub/; with COURSE_DOCS_SCREENSHOTS=1 also in docs/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page_or_element.screenshot(path=str(path))
    if os.environ.get("COURSE_DOCS_SCREENSHOTS") == "1":
        shutil.copy(path, DOCS_SHOTS / f"hub-{name}.png")
    return path


class Hub:
    """A class prepared in a temporary folder and its JupyterHub, on loopback."""

    def __init__(self, assignments: list[str], students: int = 2):
        self.root = Path(tempfile.mkdtemp(prefix="backprop-hub-", dir="/tmp"))  # users must reach it
        self.assignments = assignments
        self.students_count = students
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.log_path = ARTIFACTS / "jupyterhub.log"

    # -- the class --------------------------------------------------------------------------------

    def prepare(self) -> None:
        subprocess.run(
            [sys.executable, str(HUB / "prepare_class.py"), "--root", str(self.root), "--prefix", PREFIX,
             "--students", str(self.students_count), *self.assignments],
            check=True, capture_output=True, text=True, timeout=300)
        users = json.loads((self.root / "users.json").read_text())
        self.instructor: str = users["instructor"]
        self.students: list[str] = users["students"]
        self.passwords = dict(line.split() for line in (self.root / "state" / "passwords.txt").read_text()
                              .splitlines())

    def home(self, user: str) -> Path:
        return self.root / "home" / user

    @property
    def course(self) -> Path:
        return self.home(self.instructor) / COURSE_FOLDER

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    # -- the hub ----------------------------------------------------------------------------------

    def start(self) -> None:
        port = free_port()
        env = dict(os.environ)
        env.update({
            "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
            "BACKPROP_HUB_ROOT": str(self.root),
            "BACKPROP_HUB_PORT": str(port),
            "BACKPROP_HUB_API_PORT": str(free_port()),
            "BACKPROP_HUB_PROXY_API_PORT": str(free_port()),
            # the tests wait on JupyterLab's own state, as in tests/browser/lab.py
            "BACKPROP_HUB_SINGLEUSER_ARGS": "--LabApp.expose_app_in_browser=True",
        })
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w")  # noqa: SIM115 - the hub writes to it until stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(HUB / "jupyterhub_config.py")],
            cwd=self.root / "state", env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.url = f"http://127.0.0.1:{port}"
        wait_until_answering(f"{self.url}/hub/api", self.process, self.log_path, "JupyterHub")

    def stop(self) -> None:
        """Stop the hub (it stops the users' servers and the proxy), then remove the class."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        users = [getattr(self, "instructor", None), *getattr(self, "students", [])]
        for user in filter(None, users):
            self._end_processes_of(user)
        subprocess.run([sys.executable, str(HUB / "prepare_class.py"), "--root", str(self.root), "--remove"],
                       capture_output=True, text=True, timeout=120)
        shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def _end_processes_of(user: str) -> None:
        """Kernels or servers a user left behind (the hub ends them; this is in case it could not)."""
        listed = subprocess.run(["ps", "-o", "pid=", "-u", user], capture_output=True, text=True)
        for pid in (int(p) for p in listed.stdout.split()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # -- as a user, outside the browser -----------------------------------------------------------

    def python_as(self, user: str, code: str, *args: str) -> subprocess.CompletedProcess:
        """Python ``code`` run by ``user`` (runuser), in their home, with the class's Python."""
        environment = json.loads((self.root / "users.json").read_text())
        python = Path(environment["bin"]) / "python"
        return subprocess.run(["runuser", "-u", user, "--", str(python), "-c", code, *args],
                              cwd=self.home(user), capture_output=True, text=True, timeout=120,
                              env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                   "LD_LIBRARY_PATH": environment["library_path"]})


class Person:
    """One user of the hub, logged in, in a browser context of their own."""

    def __init__(self, hub: Hub, browser, user: str):
        self.hub, self.user = hub, user
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(90_000)
        self.server = f"{hub.url}/user/{user}"
        self.lab = Lab(self.page, self.server, "", hub.home(user), f"hub-{user}")

    def log_in(self, shot: str | None = None) -> None:
        """The hub's login page with the user's Unix password; the hub then starts their JupyterLab."""
        self.page.goto(f"{self.hub.url}/hub/login")
        self.page.fill("#username_input", self.user)
        self.page.fill("#password_input", self.hub.passwords[self.user])
        if shot:
            screenshot(self.page, shot)
        self.page.click("#login_submit")
        self.page.locator(".lm-MenuBar").wait_for(timeout=180_000)

    def close(self) -> None:
        self.context.close()

    # -- the student's Assignments tab (nbgrader's assignment list) -------------------------------

    def open_assignments(self) -> None:
        """Nbgrader → Assignment List, and wait until its three lists are loaded."""
        self.lab.menu("Nbgrader", "Assignment List")
        self.refresh_assignments()

    def refresh_assignments(self) -> None:
        self.page.locator("#refresh_assignments_list").click()
        for name in ("released", "fetched", "submitted"):
            self.page.locator(f"#{name}_assignments_list_loading").wait_for(state="hidden")

    def fetch(self, assignment: str) -> None:
        row = self.page.locator("#released_assignments_list .list_item", has_text=assignment)
        row.get_by_role("button", name="Fetch").click()
        self.page.locator("#fetched_assignments_list .list_item", has_text=assignment).first.wait_for()

    def _fetched_notebook_row(self, assignment: str):
        folder = self.page.locator(f"#nbgrader-backprop-{assignment}")
        if not folder.is_visible():
            self.page.locator("#fetched_assignments_list a.assignment-notebooks-link",
                              has_text=assignment).click()
        row = folder.locator(".nested_list_item", has_text=assignment)
        row.wait_for()
        return row

    def open_fetched_notebook(self, assignment: str) -> str:
        """Click the notebook in the fetched assignment; wait for it and its kernel. Its path."""
        self._fetched_notebook_row(assignment).locator("a", has_text=assignment).click()
        path = f"{assignment}/{assignment}.ipynb"
        self.page.wait_for_function(NOTEBOOK_READY, arg=path, timeout=180_000)
        return path

    def save_notebook(self) -> None:
        self.lab.select_cell(0)
        self.page.keyboard.press("Control+S")
        self.page.wait_for_function(f"() => !{PANEL}.context.model.dirty")

    def close_notebook(self) -> None:
        """Shut the notebook's kernel down and close its (saved) tab, so that Validate and Submit
        read the file alone."""
        self.page.evaluate(f"""async () => {{
          const panel = {PANEL};
          await panel.sessionContext.shutdown();
          panel.close();
        }}""")
        self.page.wait_for_function(f"() => !{PANEL} || !{PANEL}.sessionContext")

    def validate(self, assignment: str, shot: str | None = None) -> str:
        """The assignment list's Validate button; the dialog's text."""
        self.open_assignments()
        self._fetched_notebook_row(assignment).get_by_role("button", name="Validate").click()
        dialog = self.page.locator(".jp-Dialog")
        dialog.wait_for(timeout=300_000)  # nbgrader runs the whole notebook in a new kernel first
        if shot:
            screenshot(self.page, shot)
        text = dialog.inner_text()
        dialog.locator("button").last.click()
        dialog.wait_for(state="detached")
        return text

    def submitted_timestamps(self, assignment: str) -> list[str]:
        item = self.page.locator(f"#nbgrader-backprop-{assignment}-submissions .nested_list_item")
        return [re.sub(r"\s*\(.*\)\s*$", "", t).strip() for t in item.all_inner_texts()]

    def submit(self, assignment: str) -> None:
        before = len(self.submitted_timestamps(assignment))
        row = self.page.locator("#fetched_assignments_list .list_item", has_text=assignment).first
        row.get_by_role("button", name="Submit").click()
        self.page.wait_for_function(
            """([selector, before]) => document.querySelectorAll(selector).length > before""",
            arg=[f"#nbgrader-backprop-{assignment}-submissions .nested_list_item", before])

    def fetch_feedback(self, assignment: str) -> None:
        """Fetch Feedback, then the "(view feedback)" link: the file browser shows the feedback."""
        row = self.page.locator("#submitted_assignments_list > .list_item", has_text=assignment)
        row.get_by_role("button", name="Fetch Feedback").click()
        link = row.locator("a", has_text="view feedback").first
        link.wait_for()
        link.click()
        self.page.locator(".jp-DirListing-item", has_text=f"{assignment}.html").wait_for()

    # -- the server, as the front end talks to it -------------------------------------------------

    def contents(self, path: str) -> dict:
        return self.page.evaluate("(path) => window.jupyterapp.serviceManager.contents.get(path)", path)

    def save_contents(self, path: str, model: dict) -> None:
        self.page.evaluate("([path, model]) => window.jupyterapp.serviceManager.contents.save(path, model)",
                           [path, model])

    def status_of(self, url: str) -> int:
        """HTTP status of a GET with this person's cookies, redirects followed (as a browser does)."""
        return self.page.request.get(url, max_redirects=10).status

    # -- the instructor's formgrader ----------------------------------------------------------------

    def open_formgrader(self) -> None:
        self.page.goto(f"{self.server}/formgrader")
        self.page.locator("table tbody td.name a").first.wait_for()

    def formgrader_row(self, assignment: str):
        return self.page.locator("table tbody tr", has=self.page.locator("td.name a", has_text=assignment))

    def formgrader_action(self, assignment: str, column: str, shot: str | None = None) -> str:
        """Click the icon in ``column`` (assign, release, collect, generate-feedback, release-feedback);
        the log of formgrader's success dialog. A failure dialog fails the test with its log. The
        screenshot ``shot`` shows the table once the dialog is closed."""
        self.formgrader_row(assignment).locator(f"td.{column} a").click()
        dialog = self.page.locator("#success-modal, #error-modal")
        dialog.wait_for(timeout=300_000)
        text = dialog.inner_text()
        failed = dialog.get_attribute("id") == "error-modal"
        dialog.locator("button[data-dismiss=modal]").last.click()
        dialog.wait_for(state="detached")
        if failed:
            raise AssertionError(f"formgrader's {column} of {assignment} failed:\n{text[-3000:]}")
        # the row shows "Please wait..." until formgrader has read the assignment again
        self.formgrader_row(assignment).wait_for()
        self.page.locator("body.modal-open").wait_for(state="detached")
        if shot:
            screenshot(self.page, shot)
        return text

    def set_due_date(self, assignment: str, when: str) -> None:
        """Formgrader's edit dialog: due date ``when`` ("YYYY-MM-DDTHH:MM:SS"), in UTC."""
        self.formgrader_row(assignment).locator("td.edit a").click()
        dialog = self.page.locator("#edit-assignment-modal")
        dialog.locator("input.modal-duedate").fill(when)
        dialog.locator("input.modal-timezone").fill("+0000")
        dialog.locator("button.save").click()
        dialog.wait_for(state="detached")
        self.formgrader_row(assignment).locator("td.duedate", has_text=when[:10]).wait_for()
