"""Build the class report: read the gradebook and the autograded notebooks, analyse, write files."""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from grader.instructor.flag_reasons import read_flag_reasons
from grader.instructor.gradebook import read_structure
from grader.instructor.report.autograded import digest_notebook
from grader.instructor.report.failures import cell_failures
from grader.instructor.report.gradebook_reader import matching_assignments, open_gradebook, read_submissions
from grader.instructor.report.models import ClassReport
from grader.instructor.report.notes import grader_notes, read_grading_logs, slowest
from grader.instructor.report.similarity import (
    COMMON_SHARE,
    DEFAULT_THRESHOLD,
    MAX_PAIRS,
    boilerplate_hashes,
    fingerprint,
    similar_pairs,
)
from grader.structure import AssignmentStructure

__all__ = ["ReportOptions", "build_report"]

# below this many submissions a pool of processes costs more than it saves
PARALLEL_FROM = 100


@dataclass
class ReportOptions:
    """How to build a report (the ``course report`` options)."""

    db_url: str | None = None
    grading_logs: list[Path] = field(default_factory=list)
    threshold: float = DEFAULT_THRESHOLD
    progress: bool = True
    processes: int = os.cpu_count() or 1


# Set before the pool forks, so workers inherit them instead of receiving them with every task.
_STRUCTURES: dict[str, AssignmentStructure] = {}
_BOILERPLATE: dict[str, np.ndarray] = {}  # assignment -> hashes of the given code


def _read_submission(job: tuple[str, str, str]):
    """Digest every notebook of one submission and fingerprint the student's own code (in a worker)."""
    student, assignment, folder = job
    structure = _STRUCTURES[assignment]
    digests = [digest_notebook(Path(folder) / f"{notebook}.ipynb", notebook, structure.given_code,
                               structure.hidden_lines) for notebook in sorted(structure.notebook_names)]
    code = "\n".join(d.code for d in digests if d.code)
    return student, assignment, digests, fingerprint(code, student, _BOILERPLATE[assignment])


def _read_submissions(jobs: list[tuple[str, str, str]], options: ReportOptions):
    bar = tqdm(total=len(jobs), desc="reading autograded notebooks", unit="submission",
               disable=not options.progress, leave=False)
    try:
        if options.processes > 1 and len(jobs) >= PARALLEL_FROM:
            # fork: the workers inherit _STRUCTURES and _BOILERPLATE instead of unpickling them per task
            with multiprocessing.get_context("fork").Pool(options.processes) as pool:
                for result in pool.imap_unordered(_read_submission, jobs, chunksize=16):
                    bar.update()
                    yield result
        else:
            for job in jobs:
                result = _read_submission(job)
                bar.update()
                yield result
    finally:
        bar.close()


def _default_db(root: Path) -> tuple[str, str]:
    from grader.instructor.record import default_db_url, load_course_config

    config = load_course_config(root)
    course_id = config.CourseDirectory.get("course_id", "") if "CourseDirectory" in config else ""
    return default_db_url(root, config), course_id


def build_report(root: Path, patterns: list[str], options: ReportOptions | None = None) -> ClassReport:
    """Everything the report shows, for the assignments of the gradebook matching ``patterns``.

    Raises
    ------
    LookupError
        No gradebook at the URL, or no assignment matches.
    """
    options = options or ReportOptions()
    root = Path(root).resolve()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    default_url, course_id = _default_db(root)
    db_url = options.db_url or default_url
    with open_gradebook(db_url, course_id) as gb:
        assignments = matching_assignments(gb, patterns)
        if not assignments:
            raise LookupError(f"no assignment of the gradebook matches {' '.join(patterns)}")
        structures = {a: read_structure(gb, a) for a in assignments}
        submissions = {a: read_submissions(gb, a, root) for a in assignments}
        with gb.engine.connect() as connection:
            stored_reasons = read_flag_reasons(connection, assignments)
    timings["gradebook"] = time.perf_counter() - started

    started = time.perf_counter()
    _STRUCTURES.clear()
    _STRUCTURES.update(structures)
    _BOILERPLATE.clear()
    _BOILERPLATE.update({a: boilerplate_hashes(list(structures[a].given_code.values())) for a in assignments})
    jobs = [(s.student, a, str(root / "autograded" / s.student / a))
            for a in assignments for s in submissions[a] if s.has_autograded_notebook]
    messages: dict[str, dict[str, dict[str, str]]] = {a: {} for a in assignments}
    prints: dict[str, dict] = {a: {} for a in assignments}
    timeouts: dict[tuple[str, str], list[str]] = {}
    for student, assignment, digests, print_ in _read_submissions(jobs, options):
        for digest in digests:
            messages[assignment].setdefault(student, {}).update(digest.messages)
            if digest.timeouts:
                timeouts.setdefault((student, assignment), []).extend(digest.timeouts)
        prints[assignment][student] = print_
    timings["autograded notebooks"] = time.perf_counter() - started

    started = time.perf_counter()
    cell_order = {a: list(structures[a].max_scores) for a in assignments}
    failures = []
    for a in assignments:
        graded = [s for s in submissions[a] if s.graded]
        failures += cell_failures(a, cell_order[a], structures[a].max_scores, graded, messages[a])
    timings["failures"] = time.perf_counter() - started

    started = time.perf_counter()
    pairs, notes_on_similarity = [], []
    for a in tqdm(assignments, desc="comparing code", unit="assignment", disable=not options.progress,
                  leave=False):
        found, screened_out, common = similar_pairs(a, prints[a], options.threshold)
        pairs += found
        if common:
            notes_on_similarity.append(f"{a}: {common} fingerprints held by more than {COMMON_SHARE:.0%} "
                                       f"of the class ignored")
        if screened_out:
            notes_on_similarity.append(f"{a}: {screened_out} candidate pairs beyond the {MAX_PAIRS} most "
                                       f"similar were not compared")
    timings["similarity"] = time.perf_counter() - started

    logs = read_grading_logs(options.grading_logs)
    all_submissions = [s for a in assignments for s in submissions[a]]
    return ClassReport(
        assignments=assignments,
        submissions=all_submissions,
        cell_order=cell_order,
        failures=failures,
        similar_pairs=pairs,
        similarity_threshold=options.threshold,
        similarity_note="; ".join(notes_on_similarity),
        notes=grader_notes(all_submissions, timeouts, logs, stored_reasons, assignments),
        slowest=slowest(logs, assignments),
        created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        source=_safe_url(db_url),
        timings=timings,
    )


def _safe_url(db_url: str) -> str:
    """The gradebook URL without its password (it goes into a file others may read)."""
    from sqlalchemy.engine import make_url

    return make_url(db_url).render_as_string(hide_password=True)
