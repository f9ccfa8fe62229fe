"""A JupyterLab server on a throwaway copy of the course, and headless Chromium to use it.

A second server, ``jupyter notebook``, serves the same course in Notebook 7 (``/tree``,
``/notebooks/...``), for the tests of that front end.

The server runs on loopback, on a free port, with a random token, in a
temporary course folder holding ``nbgrader_config.py``, ``source/`` and the
repository's committed ``release/``. ``COURSE_STATIC_WIDGETS`` and
``NBGRADER_EXECUTION`` are removed from the server's environment, so widgets
are live, as in a student's JupyterLab.

The browser is Chromium from the system (Debian's ``chromium`` package, or
``COURSE_CHROMIUM``), driven by Playwright. ``scripts/install_browser.sh``
installs it where it is missing and we are root; where no browser can be
installed the tests skip and say so.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from grader.nbgrader_terms import nbgrader_environment
from tests.browser.lab import ARTIFACTS, Lab, released_assignments, wait_until_answering
from tests.course_copy import make_course_copy
from tests.notebooks import ROOT
from tests.ports import free_port

CHROMIUM_ARGS = [  # Playwright adds --headless itself
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_SCRIPT = ROOT / "scripts" / "install_browser.sh"


def find_chromium() -> str | None:
    configured = os.environ.get("COURSE_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Chromium's executable; installed by scripts/install_browser.sh where missing and possible."""
    found = find_chromium()
    if found:
        return found
    result = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900)
    found = find_chromium()
    if found:
        return found
    pytest.skip(
        "no browser for the end-to-end tests: Chromium is not installed and cannot be installed here "
        f"({(result.stderr or result.stdout).strip() or 'scripts/install_browser.sh installed nothing'})"
    )


@pytest.fixture(scope="session")
def browser(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # a setup mistake, not a missing browser: fail, never skip
        raise RuntimeError("playwright is missing: pip install -e '.[test]' installs it") from error

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _make_course(folder: Path, assignments: list[str]) -> Path:
    """Course copy: config, sources and the committed release, which is what a student opens.

    No ``nbgrader generate_assignment``: formgrader lists the assignments found in source/, and
    another test already checks that release/ equals a fresh generation.
    """
    make_course_copy(folder, assignments)
    for assignment in assignments:
        shutil.copytree(ROOT / "release" / assignment, folder / "release" / assignment)
    # A writable exchange beside the copy: formgrader then shows no "exchange directory does not exist".
    exchange = folder.parent / "exchange"
    exchange.mkdir()
    with open(folder / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Exchange.root = {str(exchange)!r}\n")
    return folder


def _server_environment(home: Path) -> dict:
    env = nbgrader_environment({k: v for k, v in os.environ.items()
                                if k not in ("COURSE_STATIC_WIDGETS", "NBGRADER_EXECUTION")})
    env["JUPYTER_CONFIG_DIR"] = str(home / "config")
    env["JUPYTER_RUNTIME_DIR"] = str(home / "runtime")
    env["JUPYTER_DATA_DIR"] = str(home / "data")
    env["IPYTHONDIR"] = str(home / "ipython")
    env["MPLCONFIGDIR"] = str(home / "matplotlib")
    return env


def _page_config(config_dir: Path) -> None:
    """No build check: the front end would otherwise ask the server, which runs node, on every page load."""
    labconfig = config_dir / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text('{"buildCheck": false, "buildAvailable": false}\n')


def _user_settings(folder: Path) -> Path:
    """JupyterLab settings: no 'official Jupyter news?' toast over the notebook."""
    notification = folder / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text('{"fetchNews": "false"}\n')
    return folder


def _serve(base: Path, front_end: str):
    """Start ``python -m jupyterlab`` or ``python -m notebook`` on a course copy; yield (URL, token,
    course folder), then stop it (the server shuts its kernels down on SIGTERM)."""
    course = _make_course(base / "course", released_assignments())
    home = base / "home"
    _page_config(home / "config")
    port, token = free_port(), secrets.token_hex(16)
    app = {"jupyterlab": "LabApp", "notebook": "JupyterNotebookApp"}[front_end]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / ("jupyter-server.log" if front_end == "jupyterlab" else f"{front_end}-server.log")
    log = open(log_path, "w")  # noqa: SIM115 - closed at teardown
    command = [
        sys.executable, "-m", front_end, "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", "--ServerApp.allow_root=True",
        f"--ServerApp.root_dir={course}",
        f"--{app}.expose_app_in_browser=True",  # lets the tests wait on the kernel's state
        f"--{app}.user_settings_dir={_user_settings(home / 'settings')}",
        f"--{app}.workspaces_dir={home / 'workspaces'}",
    ]
    if front_end == "jupyterlab":
        command += ["--LabApp.extension_manager=readonly", "--LabApp.news_url=None"]
    server = subprocess.Popen(command, cwd=course, env=_server_environment(home),
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/api/status?token={token}", server, log_path, front_end)
    except RuntimeError:
        server.kill()
        raise
    finally:
        log.close()
    yield url, token, course
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    log.close()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, chromium_path):
    """(base URL, token, course folder) of a JupyterLab server serving a course copy."""
    yield from _serve(tmp_path_factory.mktemp("browser"), "jupyterlab")


@pytest.fixture(scope="session")
def notebook7_server(tmp_path_factory, chromium_path):
    """The same for Notebook 7 (``jupyter notebook``: /tree, /notebooks/...), a server of its own.

    Not the JupyterLab server's own /tree: there, once JupyterLab has served a font that Notebook 7's
    bundle also holds, Notebook 7's request for it gets 403 (jupyter_server 2.21's FileFindHandler
    caches a static file's location by its name alone, across front ends).
    """
    yield from _serve(tmp_path_factory.mktemp("notebook7"), "notebook")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _page_session(request, browser, server):
    url, token, course = server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    session = Lab(page, url, token, course, request.node.name)
    yield session
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        session.screenshot("FAILED")
    context.close()
    session.shut_down_kernels()


@pytest.fixture
def lab(request, browser, lab_server):
    """A fresh browser page on the JupyterLab server; a screenshot is saved when the test fails."""
    yield from _page_session(request, browser, lab_server)


@pytest.fixture
def notebook7(request, browser, notebook7_server):
    """A fresh browser page on the Notebook 7 server; a screenshot is saved when the test fails."""
    yield from _page_session(request, browser, notebook7_server)
