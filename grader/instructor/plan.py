"""Planning a grading run: which submissions, and what each worker is sent.

Everything a worker needs from the course root is read here, in the instructor's process, into
:class:`~grader.messages.AssignmentBundle` (one per assignment) and
:class:`~grader.messages.SubmissionFiles` (one per student and assignment), so that a worker needs no access
to the course root (a remote Dask worker has none).
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.metadata
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from nbgrader.coursedir import CourseDirectory

from grader.instructor.gradebook import empty_gradebook, export_structure, write_template
from grader.messages import AssignmentBundle, SubmissionFiles, TaskOptions
from grader.worker.flags import course_code

__all__ = ["choose_assignments", "find_submissions", "read_submission", "assignment_bundle",
           "graded_before", "empty_template", "MAX_SUBMISSION_BYTES", "IGNORED"]

MAX_SUBMISSION_BYTES = 100 * 1024 * 1024
IGNORED = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]


def choose_assignments(root: Path, patterns: list[str]) -> list[str]:
    """The assignments of ``source/`` that match the glob ``patterns``, sorted.

    Raises
    ------
    LookupError
        When none matches.
    """
    source = root / "source"
    known = sorted(p.name for p in source.iterdir() if p.is_dir()) if source.is_dir() else []
    chosen = sorted({a for pattern in patterns for a in known if fnmatch.fnmatch(a, pattern)})
    if not chosen:
        raise LookupError(f"no assignment in {source} matches {' '.join(patterns)}")
    return chosen


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


def graded_before(coursedir: CourseDirectory, student: str, assignment: str) -> bool:
    """Whether ``autograded/<student>/<assignment>/`` holds a grading of what is submitted now.

    nbgrader's own rule, which plain ``nbgrader autograde`` applies without ``--force``
    (``BaseConverter.init_destination`` in ``nbgrader/converters/base.py``, for a whole assignment):
    a submission is graded when its autograded folder is missing, or when both folders hold a
    ``timestamp.txt`` and the submitted one is later than the autograded one (the copy nbgrader made
    of the timestamp it graded); otherwise it is skipped, whatever the files' modification times.

    ``coursedir`` is the course's nbgrader ``CourseDirectory`` (its folder names, its timestamp
    parser). ``course grade`` moves a folder into ``autograded/`` only once its grades are committed
    (:class:`grader.instructor.record.Recorder`), so the folder stands for a recorded grading.
    """
    dest = os.path.normpath(coursedir.format_path(coursedir.autograded_directory, student, assignment))
    if not os.path.exists(dest):
        return False
    src = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    try:
        new_timestamp = coursedir.get_existing_timestamp(src)
        old_timestamp = coursedir.get_existing_timestamp(dest)
    except Exception:  # noqa: BLE001 - an unreadable timestamp: grade it, and nbgrader says what is wrong
        return False
    return not (new_timestamp is not None and old_timestamp is not None and new_timestamp > old_timestamp)


def read_submission(root: Path, student: str, assignment: str) -> SubmissionFiles:
    """``submitted/<student>/<assignment>/``: its regular files, and what was left out."""
    files, skipped = _read_tree(root / "submitted" / student / assignment, IGNORED)
    return SubmissionFiles(student=student, assignment=assignment, files=files, skipped=tuple(skipped))


def assignment_bundle(root: Path, assignment: str, db_url: str, course_id: str, options: TaskOptions,
                      empty: bytes | None = None) -> AssignmentBundle:
    """What every task of ``assignment`` needs, read from the course root and its gradebook.

    ``empty`` is :func:`grader.instructor.gradebook.empty_gradebook`'s bytes (:func:`empty_template`).
    With it, the assignment's template gradebook (``write_template``: one commit per cell, 0.1-0.2 s)
    comes from this machine's cache under ``options.scratch`` when the same structure, course and empty
    gradebook made one before (:func:`_cached_gradebook`); only the random row ids nbgrader gives the
    template's rows differ from a new one's, and nothing reads them: the recorder writes the course's own
    gradebook.
    """
    structure = export_structure(db_url, assignment)
    if empty is None:
        with tempfile.TemporaryDirectory() as tmp:
            template = Path(tmp) / "gradebook.db"
            write_template(structure, template, course_id, empty)
            template_bytes = template.read_bytes()
    else:
        key = _cache_key(empty, course_id, repr(structure))
        template_bytes, _ = _cached_gradebook(
            Path(options.scratch), f"{assignment}-{key}",
            lambda path: write_template(structure, path, course_id, empty))
    source_files, _ = _read_tree(root / "source" / assignment, IGNORED + ["*.ipynb"])
    config = root / "nbgrader_config.py"
    return AssignmentBundle(
        assignment=assignment,
        course_id=course_id,
        config_text=config.read_text() if config.exists() else "c = get_config()\n",
        structure=structure,
        template_db=template_bytes,
        source_files=source_files,
        course_code={nb: course_code(root / "source" / assignment / f"{nb}.ipynb")
                     for nb in structure.notebook_names},
        options=options,
        instructor_notebooks=_instructor_notebooks(root / "source" / assignment, structure.notebook_names)
        if options.judge else {},
    )


_SQLITE_HEADER = b"SQLite format 3\0"


def _private_folder(folder: Path) -> bool:
    """``folder`` exists or was made, owned by this user, writable by no one else."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = folder.stat()
    except OSError:
        return False
    return info.st_uid == os.geteuid() and not info.st_mode & 0o022


def _cache_key(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def _cached_gradebook(scratch: Path, name: str, build: Callable[[Path], None]) -> tuple[bytes, bool]:
    """The SQLite gradebook ``scratch/templates/<name>.db`` if this machine has it, else built by
    ``build(path)`` and kept there; and whether it was built now.

    The cache is used only in a folder of this user's that no one else can write, and holds only whole
    files (written aside, then renamed into place).
    """
    folder = scratch / "templates"
    usable = _private_folder(scratch) and _private_folder(folder)
    path = folder / f"{name}.db"
    if usable:
        try:
            data = path.read_bytes()
            if data.startswith(_SQLITE_HEADER):
                return data, False
        except OSError:
            pass
    with tempfile.TemporaryDirectory() as tmp:
        built = Path(tmp) / "gradebook.db"
        build(built)
        data = built.read_bytes()
    if usable:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".building-", delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
    return data, True


def empty_template(course_id: str, scratch: Path) -> tuple[bytes, bool]:
    """:func:`grader.instructor.gradebook.empty_gradebook`'s bytes, from this machine's cache when it has
    them; and whether they were built now.

    Building them runs nbgrader's ``alembic heads`` in a subprocess (3-5 s); they depend only on the
    course id and the versions of nbgrader, SQLAlchemy and alembic, so they are kept under
    ``scratch/templates/`` by that key and read back by later runs.
    """
    versions = []
    for distribution in ("nbgrader", "sqlalchemy", "alembic"):
        try:
            versions.append(importlib.metadata.version(distribution))
        except importlib.metadata.PackageNotFoundError:
            versions.append("")
    key = _cache_key(course_id, *versions)
    return _cached_gradebook(scratch, f"empty-{key}",
                             lambda path: path.write_bytes(empty_gradebook(course_id)))


def _instructor_notebooks(folder: Path, names: list[str]) -> dict[str, bytes]:
    """The instructor's notebooks of ``names`` in ``folder`` (the judge fails the tests of any other)."""
    return {name: (folder / f"{name}.ipynb").read_bytes() for name in names
            if (folder / f"{name}.ipynb").is_file()}
