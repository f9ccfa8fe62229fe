"""The README's first command, ``make course``, on a fresh copy of the repository, as a learner runs it.

For each user (root, and an unprivileged user where the machine allows), on a fresh copy of the
repository's files (tracked and not ignored, as a clone of this working tree would hold them) with no
``.venv``: ``make course`` creates the environment, installs the learner's dependencies only, copies
``release/`` to ``my-work/`` and starts JupyterLab, which must answer ``/api/status``; it is then shut
down through its API and ``make`` must exit cleanly. In the same environment: none of the grader's or
the tests' heavy dependencies is installed, ``course check`` grades a notebook (also a copy outside the
repository, checked from its own folder), and ``course grade`` says which extra it needs.

Each user costs one fresh virtual environment (a download and install of JupyterLab and nbgrader: a few
minutes). ``COURSE_SKIP_MAKE_COURSE=1`` skips these tests.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.notebooks import ROOT
from tests.ports import free_port

LEARNER_USER = "coursetest"
HEAVY = ("dask", "distributed", "psycopg2", "tqdm", "torch", "playwright")
START_TIMEOUT = 1200  # seconds for the install and the server's start; the install downloads packages

pytestmark = pytest.mark.skipif(bool(os.environ.get("COURSE_SKIP_MAKE_COURSE")),
                                reason="COURSE_SKIP_MAKE_COURSE is set")


def _python() -> str | None:
    """A Python 3.11 any user can run (a pyenv shim under /root is root's only)."""
    for candidate in ("/usr/bin/python3.11", "/usr/local/bin/python3.11", shutil.which("python3.11")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _fresh_copy(destination: Path) -> Path:
    """The repository's files that a clone of this working tree holds (untracked ones included)."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, check=True).stdout
    for relative in filter(None, listed.decode().split("\0")):
        source = ROOT / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def _clean_environment(home: str) -> dict:
    """The environment of a person at a shell: none of this test run's virtualenv or PYTHONPATH."""
    dropped = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR",
               "JUPYTER_RUNTIME_DIR", "COURSE_ASSIGNMENTS"}
    env = {name: value for name, value in os.environ.items()
           if name not in dropped and not name.startswith("PYTEST")}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["HOME"] = home
    return env


def _status(port: int, token: str) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5) as reply:
            json.load(reply)
            return reply.status
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _shutdown(port: int, token: str) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/shutdown", method="POST",
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10):
        pass


def run_make_course(folder: Path, home: str, user: int | None = None, group: int | None = None) -> dict:
    """``make course`` in ``folder``; returns the output, timings, and ``make``'s exit status."""
    python = _python()
    port, token = free_port(), secrets.token_hex(16)
    log = folder.parent / f"make-course-{port}.log"
    lab_args = f"--port={port} --no-browser --IdentityProvider.token={token}"
    started = time.perf_counter()
    with open(log, "w") as output:
        if user is not None:
            os.chown(log, user, group)
        process = subprocess.Popen(
            ["make", "course", f"PYTHON={python}", f"LAB_ARGS={lab_args}"], cwd=folder,
            env=_clean_environment(home), stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, user=user, group=group, extra_groups=[] if user is not None else None)
    try:
        answered = None
        while time.perf_counter() - started < START_TIMEOUT and process.poll() is None:
            answered = _status(port, token)
            if answered == 200:
                break
            time.sleep(2)
        ready_seconds = time.perf_counter() - started
        if answered == 200:
            _shutdown(port, token)
        returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:  # never leave a server behind, even when the test failed
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return {"answered": answered, "returncode": returncode, "ready_seconds": ready_seconds,
            "output": log.read_text()}


def check_learner_environment(folder: Path, home: str, user: int | None = None, group: int | None = None):
    python = folder / ".venv" / "bin" / "python"
    probe = "import importlib.util, json; print(json.dumps([m for m in %r if importlib.util.find_spec(m)]))"
    found = subprocess.run([str(python), "-c", probe % (HEAVY,)], capture_output=True, text=True, check=True,
                           env=_clean_environment(home), user=user, group=group)
    assert json.loads(found.stdout) == [], f"the learner's install holds {found.stdout.strip()}"
    notebook = folder / "my-work" / "01_computation_graphs" / "01_computation_graphs.ipynb"
    checked = subprocess.run([str(folder / ".venv" / "bin" / "course"), "check", str(notebook)], cwd=folder,
                             capture_output=True, text=True, env=_clean_environment(home), user=user,
                             group=group, timeout=900)
    # the release notebook is unanswered: graded, with points lost (1), not "could not grade" (2)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "01_computation_graphs: 0/" in checked.stdout, checked.stdout
    # a copy outside the repository (the README's ~/work), checked from there: the course is found
    work = folder.parent / "work"
    work.mkdir(exist_ok=True)
    shutil.copy(notebook, work / notebook.name)
    if user is not None:
        os.chown(work, user, group)
        os.chown(work / notebook.name, user, group)
    outside = subprocess.run([str(folder / ".venv" / "bin" / "course"), "check", notebook.name], cwd=work,
                             capture_output=True, text=True, env=_clean_environment(home), user=user,
                             group=group, timeout=900)
    assert outside.returncode == 1, outside.stdout + outside.stderr
    assert "01_computation_graphs: 0/" in outside.stdout, outside.stdout
    grading = subprocess.run([str(folder / ".venv" / "bin" / "course"), "grade", "01_computation_graphs"],
                             cwd=folder, capture_output=True, text=True, env=_clean_environment(home),
                             user=user, group=group, timeout=120)
    assert grading.returncode == 2 and "pip install -e '.[grading]'" in grading.stderr, (
        "course grade without the grading extra should say how to install it:\n" + grading.stderr)


def _report(label: str, run: dict) -> None:
    print(f"make course as {label}: server answered after {run['ready_seconds']:.0f} s "
          f"(fresh venv, learner install)")


@pytest.fixture(scope="module")
def python311():
    python = _python()
    if python is None:
        pytest.skip("no Python 3.11 that every user can run (/usr/bin/python3.11)")
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return python


def test_make_course_as_the_current_user(python311, tmp_path):
    folder = _fresh_copy(tmp_path / "clone")
    run = run_make_course(folder, os.environ.get("HOME", str(tmp_path)))
    assert run["answered"] == 200, f"JupyterLab did not answer; make said:\n{run['output'][-3000:]}"
    assert run["returncode"] == 0, f"make course exited {run['returncode']}:\n{run['output'][-3000:]}"
    if os.geteuid() == 0:
        assert "Running as root" in run["output"], "make course should say that it runs JupyterLab as root"
    assert (folder / "my-work" / "01_computation_graphs" / "01_computation_graphs.ipynb").is_file()
    check_learner_environment(folder, os.environ.get("HOME", str(tmp_path)))
    _report("root" if os.geteuid() == 0 else "the current user", run)


def _learner_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(LEARNER_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "--comment",
                        "make course test learner", LEARNER_USER], check=True, capture_output=True)
        return pwd.getpwnam(LEARNER_USER)


def test_make_course_as_an_unprivileged_user(python311):
    if os.geteuid() != 0:
        pytest.skip("creating an unprivileged user needs root; the test above ran as this user")
    if shutil.which("useradd") is None:
        pytest.skip("useradd is missing: cannot create an unprivileged user")
    account = _learner_account()
    base = Path(tempfile.mkdtemp(prefix="make-course-"))
    try:
        os.chown(base, account.pw_uid, account.pw_gid)
        folder = _fresh_copy(base / "clone")
        subprocess.run(["chown", "-R", f"{account.pw_uid}:{account.pw_gid}", str(folder)], check=True)
        run = run_make_course(folder, account.pw_dir, account.pw_uid, account.pw_gid)
        assert run["answered"] == 200, f"JupyterLab did not answer; make said:\n{run['output'][-3000:]}"
        assert run["returncode"] == 0, f"make course exited {run['returncode']}:\n{run['output'][-3000:]}"
        assert "Running as root" not in run["output"]
        check_learner_environment(folder, account.pw_dir, account.pw_uid, account.pw_gid)
        _report(LEARNER_USER, run)
    finally:
        shutil.rmtree(base, ignore_errors=True)
