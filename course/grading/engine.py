"""Grading many submissions at once on Dask, recording them from one place.

:func:`grade` finds the submissions (nbgrader's layout:
``submitted/<student>/<assignment>/``), sends one task per (student,
assignment) to Dask (a LocalCluster, or the scheduler at an address),
records each result in the gradebook as it arrives
(:class:`course.grading.record.Recorder`), and shows a progress bar.

A student's tasks are chained (each depends on the previous one of the
same student), so two tasks of one student never run at once; tasks of
different students run in any order, as workers free up.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import stat
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from course.grading.flags import course_code
from course.grading.gradebook import empty_gradebook, export_structure, submission_scores, write_template
from course.grading.record import Recorder, load_course_config
from course.grading.sandbox import SandboxLimits
from course.grading.task import run_task

__all__ = ["GradeOptions", "find_submissions", "grade"]

MAX_SUBMISSION_BYTES = 100 * 1024 * 1024
IGNORED = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]


@dataclass
class GradeOptions:
    """How ``course grade`` grades.

    Attributes
    ----------
    workers : int
        Dask workers of the LocalCluster; 0 grades in this process, one
        submission after the other, without Dask.
    scheduler : str or None
        Address of a running Dask scheduler; then ``workers`` is ignored.
    db_url : str or None
        Gradebook URL (SQLAlchemy); default: the course's SQLite gradebook.
    sandbox : bool
        Run student kernels in the sandbox (needs root).
    limits : SandboxLimits
    cell_timeout : int or None
        Seconds per cell (default: the course's ``Execute.timeout``).
    task_timeout : int
        Seconds for a whole submission (kernel start to last cell).
    scratch : str
        Folder for the workers' scratch courses (on each worker).
    progress : bool
        Show a progress bar on stderr.
    """

    workers: int = 2
    scheduler: str | None = None
    db_url: str | None = None
    sandbox: bool = True
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    cell_timeout: int | None = None
    task_timeout: int = 1800
    scratch: str = field(default_factory=lambda: os.path.join(tempfile.gettempdir(), "course-grading"))
    progress: bool = True


def _read_tree(folder: Path, ignore: list[str]) -> tuple[dict[str, bytes], list[str]]:
    """Regular files under ``folder`` (never following links), and what was left out."""
    files, skipped, total = {}, [], 0
    for directory, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = [d for d in dirnames if not any(fnmatch.fnmatch(d, p) for p in ignore)]
        for name in filenames:
            if any(fnmatch.fnmatch(name, p) for p in ignore):
                continue
            path = Path(directory) / name
            relative = str(path.relative_to(folder))
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                skipped.append(relative)
                continue
            if total + info.st_size > MAX_SUBMISSION_BYTES:
                skipped.append(relative + " (too large)")
                continue
            total += info.st_size
            files[relative] = path.read_bytes()
    return files, skipped


def find_submissions(root: Path, assignments: list[str], students: list[str] | None) -> list[tuple[str, str]]:
    """(student, assignment) pairs found in ``submitted/``, sorted."""
    found = []
    submitted = root / "submitted"
    if not submitted.is_dir():
        return found
    for student_dir in sorted(submitted.iterdir()):
        if not student_dir.is_dir() or (students and student_dir.name not in students):
            continue
        for assignment in assignments:
            if (student_dir / assignment).is_dir():
                found.append((student_dir.name, assignment))
    return found


def _common(root: Path, assignment: str, db_url: str, course_id: str, options: GradeOptions,
            empty: bytes | None = None) -> dict:
    structure = export_structure(db_url, assignment)
    for notebook in structure["notebooks"]:
        notebook["course_code"] = course_code(root / "source" / assignment / f"{notebook['name']}.ipynb")
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "gradebook.db"
        write_template(structure, template, course_id, empty)
        template_bytes = template.read_bytes()
    source_files, _ = _read_tree(root / "source" / assignment, IGNORED + ["*.ipynb"])
    return {
        "assignment": assignment,
        "course_id": course_id,
        "config_text": (root / "nbgrader_config.py").read_text() if (root / "nbgrader_config.py").exists()
        else "c = get_config()\n",
        "structure": structure,
        "template_db": template_bytes,
        "source_files": source_files,
        "options": {
            "limits": options.limits.as_dict(),
            "cell_timeout": options.cell_timeout,
            "task_timeout": options.task_timeout,
            "sandbox": options.sandbox,
            "scratch": options.scratch,
            "hide": sorted({str(root), "/root", "/home", os.path.expanduser("~")}),
        },
    }


def grade(root: Path, assignments: list[str], students: list[str] | None, options: GradeOptions,
          on_result=None) -> list[dict]:
    """Grade the submissions of ``assignments`` and record them in the gradebook.

    Parameters
    ----------
    root : Path
        The course root.
    assignments : list of str
        Assignment ids (glob patterns allowed, matched against ``source/``).
    students : list of str or None
        Only these students (default: every student with a submission).
    options : GradeOptions
    on_result : callable, optional
        Called with each recorded result (for tests and reports).

    Returns
    -------
    list of dict
        One result per submission (see :func:`course.grading.task.run_task`),
        plus ``recorded`` (nbgrader's success), ``record_error``, ``score``
        and ``max_score`` from the gradebook.
    """
    root = Path(root).resolve()
    recorder = Recorder(root, options.db_url)
    config = load_course_config(root)
    course_id = config.CourseDirectory.get("course_id", "") if "CourseDirectory" in config else ""
    source = root / "source"
    known = sorted(p.name for p in source.iterdir() if p.is_dir()) if source.is_dir() else []
    chosen = sorted({a for pattern in assignments for a in known if fnmatch.fnmatch(a, pattern)})
    if not chosen:
        raise LookupError(f"no assignment in {root / 'source'} matches {' '.join(assignments)}")
    pairs = find_submissions(root, chosen, students)
    empty = empty_gradebook(course_id)
    commons = {a: _common(root, a, recorder.db_url, course_id, options, empty) for a in chosen}
    submissions = []
    for student, assignment in pairs:
        files, skipped = _read_tree(root / "submitted" / student / assignment, IGNORED)
        submissions.append((assignment, {"student": student, "files": files, "skipped": skipped}))
    results = []
    bar = _Progress(len(submissions), options.progress)

    def finish(result):
        # a result that cannot be recorded is reported, never allowed to stop the batch
        try:
            outcome = recorder.record(result)
        except Exception as error:  # noqa: BLE001
            outcome = {"success": False, "error": f"recording failed: {type(error).__name__}: {error}"}
        result["recorded"] = bool(outcome.get("success"))
        result["record_error"] = "" if result["recorded"] else (outcome.get("error") or "")[-1500:]
        try:
            scores = submission_scores(recorder.db_url, result["assignment"], result["student"])
        except Exception:  # noqa: BLE001
            scores = None
        result["score"] = scores["score"] if scores else None
        result["max_score"] = scores["max_score"] if scores else None
        result["cells"] = scores["cells"] if scores else {}
        results.append(result)
        bar.update(result)
        if on_result:
            on_result(result)

    try:
        if options.workers == 0 and not options.scheduler:
            for assignment, submission in submissions:
                finish(run_task(commons[assignment], submission))
        else:
            _grade_on_dask(commons, submissions, options, finish)
    finally:
        bar.close()
        recorder.close()
    return results


def _grade_on_dask(commons, submissions, options: GradeOptions, finish, task=run_task) -> None:
    from distributed import Client, LocalCluster, as_completed

    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = None
    if options.scheduler:
        client = Client(options.scheduler)
    else:
        cluster = LocalCluster(n_workers=options.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        # a list, not the dict itself: scatter() would take a dict's keys for Dask keys, and every
        # assignment's dict has the same keys
        shared = {a: client.scatter([c], broadcast=True)[0] for a, c in commons.items()}
        token = uuid.uuid4().hex[:8]
        queues: dict[str, list] = {}
        for assignment, submission in submissions:
            queues.setdefault(submission["student"], []).append((assignment, submission))
        keys = {}

        def submit(student):
            assignment, submission = queues[student].pop(0)
            future = client.submit(task, shared[assignment], submission,
                                   key=f"grade-{assignment}-{student}-{token}", pure=False, retries=0)
            keys[future.key] = (assignment, student)
            return future

        # one task per student in flight: a student's next assignment waits for the previous one
        running = as_completed([submit(student) for student in queues])
        for future in running:
            assignment, student = keys[future.key]
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - a lost worker, a failed task
                result = _failed(assignment, student,
                                 f"the task failed on Dask: {type(error).__name__}: {error}")
            finally:
                future.release()
            if queues[student]:
                running.add(submit(student))
            finish(result)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _failed(assignment: str, student: str, reason: str) -> dict:
    now = time.time()
    return {"student": student, "assignment": assignment, "status": "error", "reason": reason,
            "notebooks": {}, "errors": {}, "flags": [], "probe": {}, "started": now, "finished": now,
            "seconds": 0.0, "worker": "", "log": ""}


class _Progress:
    """tqdm progress bar with an ETA and counts of what went wrong."""

    def __init__(self, total: int, enabled: bool):
        self.counts = {"graded": 0, "not graded": 0, "flagged": 0}
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="submission", file=sys.stderr, dynamic_ncols=True,
                            smoothing=0.1, desc="grading")
        self.start = time.time()

    def update(self, result: dict) -> None:
        graded = result["status"] == "graded" and result.get("recorded")
        self.counts["graded" if graded else "not graded"] += 1
        if result.get("flags") or result.get("probe", {}).get("changed"):
            self.counts["flagged"] += 1
        if self.bar is not None:
            self.bar.set_postfix(self.counts, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
