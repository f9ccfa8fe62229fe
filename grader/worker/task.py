"""One grading task: one student's submission of one assignment, on a worker.

:func:`run_task` is what a Dask worker runs. It needs nothing from the
course root: everything comes in its arguments (an
:class:`~grader.messages.AssignmentBundle` and a
:class:`~grader.messages.SubmissionFiles`), so that it runs the same on a
LocalCluster and on a remote worker. It

1. builds a scratch course (its own SQLite gradebook holding only the
   assignment's structure, ``submitted/<student>/<assignment>/``, and, for
   the judge, the instructor's notebooks in ``source/<assignment>/``);
2. runs ``nbgrader autograde`` there, in a fresh process forked by
   :mod:`grader.worker.zygote` (which has imported nbgrader once), with
   :class:`~grader.worker.execute.SandboxJudgeExecute` (with the judge, the
   default: the test cells hold the judge's verdicts) or
   :class:`~grader.worker.execute.SandboxExecute` instead of ``Execute``,
   then the rest of the course's autograde pipeline but the two steps that
   need the real gradebook (:mod:`grader.worker.pipeline`): the result is
   the notebook nbgrader writes in ``autograded/``, with the grades and
   comments ``SaveAutoGrades`` would record;
3. returns those notebooks and grades, the static flags, the probe's
   report, and how it went, as a :class:`~grader.messages.TaskResult`; and
   removes the scratch course and every process of the task's uid.

It never raises: every failure is described in the returned result.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import traceback
from pathlib import Path

import nbformat

from grader.messages import (
    AssignmentBundle,
    CrashCause,
    Flag,
    ProbeReport,
    Status,
    SubmissionFiles,
    TaskResult,
)
from grader.nbgrader_terms import nbgrader_environment
from grader.sandbox.kernel import ensure_sandbox_user, machine_font_list, uid_slot
from grader.sandbox.kernel_server import shared_kernel_server
from grader.sandbox.spec import SandboxSpec, TaskSettings
from grader.worker import execute
from grader.worker.flags import static_flags
from grader.worker.pipeline import after_execute, read_grades
from grader.worker.zygote import ZygoteTimeout, shared_zygote

__all__ = ["run_task", "scratch_config"]

MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024
LOG_TAIL = 4000


def scratch_config(course_config: str, grades_report: str) -> str:
    """The scratch course's ``nbgrader_config.py``: the course's own, then the grader's overrides.

    nbgrader reads its configuration from this file in another process (forked by the zygote), so the
    overrides must be text; the text is calls to functions named by import here, and the values
    travel as a :class:`~grader.sandbox.spec.TaskSettings` in :data:`grader.worker.execute.SETTINGS_FILE`
    beside it (see :func:`grader.worker.execute.configure_scratch_course`). After the sandbox's
    execution, the course's own pipeline runs up to the gradebook
    (:func:`grader.worker.pipeline.after_execute`, its grades written to ``grades_report``).
    """
    configure, after = execute.configure_scratch_course, after_execute
    return "\n".join([
        course_config,
        "",
        "# ---- added by `course grade` for a scratch course on a worker ----",
        f"from {configure.__module__} import {configure.__name__} as _configure",
        f"from {after.__module__} import {after.__name__} as _after_execute",
        f"_after = _after_execute(c, {grades_report!r})",
        "_configure(c, __file__)",
        "c.Autograde.autograde_preprocessors = list(c.Autograde.autograde_preprocessors) + _after",
    ]) + "\n"


class _Stopwatch:
    """Seconds between successive :meth:`lap` calls, stored in a result's ``phases``."""

    def __init__(self, phases: dict[str, float]):
        self.phases = phases
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - self.last
        self.last = now


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


#: Static flags that say nbgrader cannot match a notebook's cells to the assignment's.
UNMATCHED_CELLS = {"grade-cell-deleted", "duplicate-grade-id", "metadata-stripped", "foreign-notebook"}


def cause_before_execution(content: bytes, flags: list[Flag]) -> CrashCause:
    """Why nbgrader stopped before executing a submitted notebook that has no executed copy.

    Read from the notebook as nbgrader reads it (``nbformat``: not JSON, or not a valid notebook) and
    from the notebook's static flags (cells nbgrader cannot match); anything else is nbgrader's own
    failure, which its log tail tells.
    """
    try:
        nb = nbformat.reads(content.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except (UnicodeDecodeError, nbformat.reader.NotJSONError):
        return CrashCause.NOT_JSON
    except Exception:  # noqa: BLE001 - any other reason the file is not a notebook
        return CrashCause.NOT_A_NOTEBOOK
    if any(flag.code in UNMATCHED_CELLS for flag in flags):
        return CrashCause.CELLS_UNMATCHED
    return CrashCause.NBGRADER_FAILED


def _read_causes(path: Path) -> dict[str, CrashCause]:
    """The causes :class:`~grader.worker.execute.SandboxExecute` wrote, by notebook name."""
    try:
        return {name: CrashCause(cause) for name, cause in json.loads(path.read_text()).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def run_task(bundle: AssignmentBundle, submission: SubmissionFiles) -> TaskResult:
    """Grade one submission in a scratch course (what a Dask task runs).

    Parameters
    ----------
    bundle : AssignmentBundle
        Shared by every task of the assignment.
    submission : SubmissionFiles

    Returns
    -------
    TaskResult
        Filled up to ``log``; status ``graded``, ``crash``, ``timeout`` or ``error``.
    """
    result = TaskResult(student=submission.student, assignment=bundle.assignment,
                        worker=f"{os.uname().nodename}:{os.getpid()}")
    stopwatch = _Stopwatch(result.phases)
    try:
        result.flags = static_flags(bundle.structure, submission.files, submission.skipped,
                                    bundle.course_code)
    except Exception:  # noqa: BLE001 - flags must never stop grading
        result.flags = [Flag("analysis-failed", detail=traceback.format_exc(limit=1)[-300:])]
    stopwatch.lap("analysis")
    options = bundle.options
    scratch_base = Path(options.scratch)
    scratch_base.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(scratch_base, 0o700)
    scratch = Path(tempfile.mkdtemp(prefix="task-", dir=scratch_base))
    try:
        if options.sandbox:
            _, gid = ensure_sandbox_user()
            with uid_slot() as uid:
                _grade_in_scratch(bundle, submission, scratch, result, (uid, gid), stopwatch)
        else:
            _grade_in_scratch(bundle, submission, scratch, result, None, stopwatch)
    except Exception:  # noqa: BLE001
        result.status, result.reason = Status.ERROR, "grading machinery failed: " + (
            traceback.format_exc(limit=3)[-600:])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        stopwatch.lap("collect")
        result.finished = time.time()
    return result


def _read_probe(path: Path) -> ProbeReport:
    """The probe's report as :class:`~grader.worker.execute.SandboxExecute` wrote it."""
    if not path.exists():
        return ProbeReport()
    try:
        raw = json.loads(path.read_text())
        return ProbeReport(ran=raw["ran"], changed=tuple(raw["changed"]),
                           truncated_cells=tuple(raw["truncated_cells"]))
    except (ValueError, KeyError, TypeError):
        return ProbeReport(ran="garbled")


def _read_phases(path: Path) -> dict[str, float]:
    """Kernel start, execution and judge seconds, as :class:`~grader.worker.execute.SandboxExecute` wrote."""
    try:
        raw = json.loads(path.read_text())
        return {name: float(raw[name]) for name in ("kernel_start", "execution", "judge") if name in raw}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _grade_in_scratch(bundle: AssignmentBundle, submission: SubmissionFiles, scratch: Path,
                      result: TaskResult,
                      identity: tuple[int, int] | None, stopwatch: _Stopwatch) -> None:
    assignment, student = bundle.assignment, submission.student
    options = bundle.options
    course = scratch / "course"
    course.mkdir()
    (course / "gradebook.db").write_bytes(bundle.template_db)
    _write_files(course / "source" / assignment, bundle.source_files)
    # the judge's copy of the instructor's notebooks: outside the kernel's file view (grader.sandbox.kernel)
    _write_files(course / "source" / assignment,
                 {f"{name}.ipynb": content for name, content in bundle.instructor_notebooks.items()})
    (course / "source" / assignment).mkdir(parents=True, exist_ok=True)
    _write_files(course / "submitted" / student / assignment, submission.files)
    probe_report = scratch / "probe.json"
    sandbox = None
    ipc = scratch / "ipc"  # the kernel's sockets: its channel to the judge too
    ipc.mkdir(mode=0o700)
    if identity is not None:
        uid, gid = identity
        os.chown(ipc, uid, gid)
        font_list = machine_font_list(scratch.parent / "matplotlib")
        server = shared_kernel_server(font_list)  # the kernel is forked from it, else a new process
        sandbox = SandboxSpec(uid=uid, gid=gid, ipc_dir=str(ipc), limits=options.limits,
                              preload=font_list.preload,
                              kernel_server="" if server is None else server.socket)
    phases_report = scratch / "phases.json"
    causes_report = scratch / "causes.json"
    settings = TaskSettings(sandbox=sandbox, output_cell_bytes=options.limits.output_cell_kb * 1024,
                            output_total_bytes=options.limits.output_total_kb * 1024,
                            probe_report=str(probe_report), phases_report=str(phases_report),
                            causes_report=str(causes_report), cell_timeout=options.cell_timeout,
                            judge=options.judge, instructor_folder=str(course / "source" / assignment),
                            judge_socket_folder=str(ipc))
    (course / execute.SETTINGS_FILE).write_text(settings.to_json())
    grades_report = scratch / "grades.json"
    (course / "nbgrader_config.py").write_text(scratch_config(bundle.config_text, str(grades_report)))
    arguments = ["autograde", assignment, "--student", student, "--force", "--Autograde.create_student=True"]
    log_path = scratch / "nbgrader.log"
    stopwatch.lap("scratch")
    try:
        returncode = shared_zygote(options.judge).run(arguments, course, nbgrader_environment(), log_path,
                                                      timeout=options.task_timeout)
    except ZygoteTimeout:
        result.status, result.cause = Status.TIMEOUT, CrashCause.TASK_TIMEOUT
        result.reason = f"grading took longer than {options.task_timeout} s"
        returncode = None
    stopwatch.lap("nbgrader")
    # the nbgrader process's time, less what its Execute spent starting the kernel and running cells
    inside = _read_phases(phases_report)
    result.phases.update(inside)
    result.phases["nbgrader"] = max(0.0, result.phases["nbgrader"] - sum(inside.values()))
    result.log = _tail(log_path, LOG_TAIL)  # where nbgrader says what went wrong
    result.probe = _read_probe(probe_report)
    executed = _read_causes(causes_report)
    graded = read_grades(str(grades_report))
    folder = course / "autograded" / student / assignment
    submitted = course / "submitted" / student / assignment
    causes = []
    for name in bundle.structure.notebook_names:
        path = folder / f"{name}.ipynb"
        if path.is_file() and not path.is_symlink() and returncode == 0:
            if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                result.errors[name] = "the executed notebook is too large"
            elif name not in graded:
                result.errors[name] = "no grades came back from nbgrader"
            else:
                result.notebooks[name] = path.read_bytes()
                result.grades[name] = graded[name]
        elif (submitted / f"{name}.ipynb").exists():
            cause = result.cause or executed.get(name) or cause_before_execution(
                (submitted / f"{name}.ipynb").read_bytes(), [f for f in result.flags if f.notebook == name])
            causes.append(cause)
            result.errors[name] = result.reason or cause.description
    if returncode == 0 and result.notebooks:
        result.status = Status.GRADED
    elif result.status != Status.TIMEOUT:
        result.cause = causes[0] if causes else (
            CrashCause.NBGRADER_FAILED if result.notebooks or result.errors else CrashCause.NOT_SUBMITTED)
        result.status, result.reason = Status.CRASH, result.cause.description
