"""One grading task: one student's submission of one assignment, on a worker.

:func:`run_task` is what a Dask worker runs. It needs nothing from the
course root: everything comes in its arguments (the course's
``nbgrader_config.py`` text, the assignment's structure, the source folder's
data files, the submitted files), so that it runs the same on a
LocalCluster and on a remote worker. It

1. builds a scratch course (its own SQLite gradebook holding only the
   assignment's structure, ``submitted/<student>/<assignment>/``);
2. runs ``nbgrader autograde`` there, in a fresh process forked by
   :mod:`course.grading.zygote` (which has imported nbgrader once), with
   ``SandboxExecute`` instead of ``Execute`` and no other autograde
   preprocessor: the result is the
   sanitized, executed notebook, exactly what nbgrader's ``Execute`` would
   hand to the next preprocessor;
3. returns the executed notebooks, the static flags, the probe's report,
   and how it went; and removes the scratch course and every process of
   the task's uid.

It never raises: every failure is described in the returned dict.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from course.grading.flags import static_flags
from course.grading.zygote import ZygoteTimeout, shared_zygote

__all__ = ["run_task", "scratch_config"]

MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024
LOG_TAIL = 4000


def scratch_config(course_config: str, options: dict, sandbox: dict | None, probe_report: str) -> str:
    """The scratch course's ``nbgrader_config.py``: the course's own, then the overrides."""
    limits = options["limits"]
    lines = [
        course_config,
        "",
        "# ---- added by `course grade` for a scratch course on a worker ----",
        "from course.grading.preprocessors import SandboxExecute as _SandboxExecute",
        "from course.grading.sandbox import SandboxKernelManager as _SandboxKernelManager",
        "c.Autograde.autograde_preprocessors = [_SandboxExecute]",
        "c.SandboxExecute.kernel_manager_class = _SandboxKernelManager",
        f"c.SandboxKernelManager.sandbox = {json.dumps(sandbox or {'enabled': False})!r}",
        "import json as _json",
        "c.SandboxKernelManager.sandbox = _json.loads(c.SandboxKernelManager.sandbox)",
        f"c.SandboxExecute.output_cell_bytes = {int(limits['output_cell_kb']) * 1024}",
        f"c.SandboxExecute.output_total_bytes = {int(limits['output_total_kb']) * 1024}",
        f"c.SandboxExecute.probe_report = {probe_report!r}",
        "c.CourseDirectory.root = __import__('os').path.dirname(__import__('os').path.abspath(__file__))",
        "c.CourseDirectory.db_url = 'sqlite:///' + c.CourseDirectory.root + '/gradebook.db'",
    ]
    if options.get("cell_timeout"):
        lines.append(f"c.Execute.timeout = {int(options['cell_timeout'])}")
    return "\n".join(lines) + "\n"


def _write_files(root: Path, files: dict[str, bytes]) -> None:
    for relative, content in files.items():
        target = (root / relative).resolve()
        if root.resolve() not in target.parents:
            continue  # never write outside the folder
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _tail(path: Path, size: int) -> str:
    """The last ``size`` bytes of nbgrader's output, as text."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - size))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def _crash_reason(log: str) -> str:
    for needle, reason in (
        ("DeadKernelError", "the kernel died"),
        ("Kernel died", "the kernel died"),
        ("CellTimeoutError", "cell timeout"),
        ("NotJSONError", "the notebook is not valid JSON"),
        ("JSONDecodeError", "the notebook is not valid JSON"),
        ("ValidationError", "the notebook is not a valid notebook"),
        ("No notebooks found", "no notebook of the assignment was submitted"),
        ("UnresponsiveKernelError", "the kernel became unresponsive"),
        ("KeyError", "nbgrader cannot match the notebook's cells to the assignment's (cells deleted, "
                     "duplicated or stripped of their metadata: see the flags)"),
        ("SchemaTooOld", "the notebook's nbgrader metadata is too old"),
        ("TimeoutError", "the kernel did not start in time"),
        ("RuntimeError", "the kernel failed"),
    ):
        if needle in log:
            return reason
    return "nbgrader autograde failed"


def run_task(common: dict, submission: dict, previous=None) -> dict:
    """Grade one submission in a scratch course (what a Dask task runs).

    Parameters
    ----------
    common : dict
        Shared by every task of the assignment: ``assignment``,
        ``course_id``, ``config_text``, ``structure`` (see
        :func:`course.grading.gradebook.export_structure`), ``template_db``
        (bytes of a SQLite gradebook holding the structure),
        ``source_files`` ({relative path: bytes}), ``options`` (limits,
        ``cell_timeout``, ``task_timeout``, ``sandbox``, ``scratch``,
        ``hide``).
    submission : dict
        ``student``, ``files`` ({relative path: bytes}) and ``skipped``
        (files not sent: links, special files, too large).
    previous : object, optional
        The result of this student's previous task; unused, it only orders
        one student's tasks so that they never run at once.

    Returns
    -------
    dict
        ``student``, ``assignment``, ``status`` ("graded", "crash",
        "timeout", "error"), ``reason``, ``notebooks`` ({name: executed
        notebook bytes}), ``errors`` ({name: reason}), ``flags`` (list of
        dicts), ``probe``, ``seconds``, ``started``, ``finished``,
        ``worker``, ``log``.
    """
    started = time.time()
    assignment, student = common["assignment"], submission["student"]
    result = {
        "student": student, "assignment": assignment, "status": "error", "reason": "", "notebooks": {},
        "errors": {}, "flags": [], "probe": {}, "started": started, "finished": started, "seconds": 0.0,
        "worker": f"{os.uname().nodename}:{os.getpid()}", "log": "",
    }
    try:
        result["flags"] = static_flags(common["structure"], submission["files"],
                                       submission.get("skipped", []))
    except Exception:  # noqa: BLE001 - flags must never stop grading
        result["flags"] = [{"code": "analysis-failed", "detail": traceback.format_exc(limit=1)[-300:]}]
    options = common["options"]
    scratch_base = Path(options["scratch"])
    scratch_base.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(scratch_base, 0o700)
    scratch = Path(tempfile.mkdtemp(prefix="task-", dir=scratch_base))
    try:
        if options["sandbox"]:
            from course.grading.sandbox import ensure_sandbox_user, uid_slot

            _, gid = ensure_sandbox_user()
            with uid_slot(scratch_base / "uids") as uid:
                _grade_in_scratch(common, submission, scratch, result, {"uid": uid, "gid": gid})
        else:
            _grade_in_scratch(common, submission, scratch, result, None)
    except Exception:  # noqa: BLE001
        result["status"], result["reason"] = "error", "grading machinery failed: " + (
            traceback.format_exc(limit=3)[-600:])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        result["finished"] = time.time()
        result["seconds"] = result["finished"] - started
    return result


def _grade_in_scratch(common, submission, scratch: Path, result: dict, identity: dict | None) -> None:
    assignment, student = common["assignment"], submission["student"]
    options = common["options"]
    course = scratch / "course"
    course.mkdir()
    (course / "gradebook.db").write_bytes(common["template_db"])
    _write_files(course / "source" / assignment, common["source_files"])
    (course / "source" / assignment).mkdir(parents=True, exist_ok=True)
    _write_files(course / "submitted" / student / assignment, submission["files"])
    probe_report = scratch / "probe.json"
    sandbox = None
    if identity is not None:
        ipc = scratch / "ipc"
        ipc.mkdir(mode=0o700)
        os.chown(ipc, identity["uid"], identity["gid"])
        sandbox = {
            "enabled": True, "uid": identity["uid"], "gid": identity["gid"], "ipc_dir": str(ipc),
            "limits": options["limits"],
            "hide": sorted({str(scratch.parent), *options.get("hide", [])}),
        }
    (course / "nbgrader_config.py").write_text(
        scratch_config(common["config_text"], options, sandbox, str(probe_report)))
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("JPY_PARENT_PID", None)
    arguments = ["autograde", assignment, "--student", student, "--force", "--Autograde.create_student=True"]
    log_path = scratch / "nbgrader.log"
    try:
        returncode = shared_zygote().run(arguments, course, env, log_path, timeout=options["task_timeout"])
    except ZygoteTimeout:
        result.update(status="timeout", reason=f"grading took longer than {options['task_timeout']} s")
        returncode = None
    log = _tail(log_path, 64 * 1024)  # where nbgrader says what went wrong
    result["log"] = log[-LOG_TAIL:]
    if probe_report.exists():
        try:
            result["probe"] = json.loads(probe_report.read_text())
        except ValueError:
            result["probe"] = {"ran": "garbled"}
    folder = course / "autograded" / student / assignment
    names = [n["name"] for n in common["structure"]["notebooks"]]
    for name in names:
        path = folder / f"{name}.ipynb"
        if path.is_file() and not path.is_symlink() and returncode == 0:
            if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                result["errors"][name] = "the executed notebook is too large"
            else:
                result["notebooks"][name] = path.read_bytes()
        elif (course / "submitted" / student / assignment / f"{name}.ipynb").exists():
            result["errors"][name] = result["reason"] or _crash_reason(log)
    if returncode == 0 and result["notebooks"]:
        result["status"] = "graded"
    elif result["status"] != "timeout":
        result["status"] = "crash"
        result["reason"] = _crash_reason(log)
