"""How fast the recorder writes results into the gradebook, alone: SQLite and PostgreSQL.

Usage (from the repository root; the PostgreSQL half needs root and the server packages of
``scripts/install_grading_deps.sh``)::

    .venv/bin/python benchmarks/recorder_speed.py [--results 120] [--batch 16] [--no-postgres]
                                                  [--profile FILE]

Prints figures, asserts nothing. Every result the grader records comes from one process
(:class:`grader.instructor.record.Recorder`), whatever the size of the cluster, so its throughput is
the ceiling of a grading run. This measures it without any grading: it builds a throwaway course with
one assignment, grades two submissions once (a reference and a blank one, unsandboxed, in this
process) and then feeds copies of those two results, as ``--results`` students, to a Recorder:

1. *nbgrader's converter*: one at a time, nbgrader's ``Autograde`` run again on the real course with
   the executed notebooks replayed, each ``Gradebook`` nbgrader opens with its own engine and commits
   (:func:`tests.grading.nbgrader_recording.record_with_nbgrader`: how ``course grade`` recorded
   before its bulk merge);
2. *one at a time*: ``Recorder.record``, the bulk merge of one result per transaction (what
   ``course grade`` does when results arrive one by one);
3. *batched*: ``Recorder.record_batch`` with ``--batch`` results at a time, one transaction (what
   ``course grade`` does when results wait to be recorded);

on SQLite and on a throwaway PostgreSQL server on loopback, each time into a fresh gradebook, and
prints results per minute, the ratios to the first, and whether the three left identical gradebooks
(:func:`grader.instructor.gradebook.gradebook_snapshot`). ``--profile FILE`` writes cProfile statistics
of the SQLite runs to ``FILE.nbgrader``, ``FILE.single`` and ``FILE.batch``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe_machine  # noqa: E402
from benchmarks.prerecorded import graded_kinds, kind_of, student_name  # noqa: E402
from grader.instructor.gradebook import gradebook_snapshot  # noqa: E402
from grader.instructor.record import Recorder  # noqa: E402
from grader.messages import TaskResult  # noqa: E402
from tests.course_copy import (  # noqa: E402
    make_course_copy,
    nbgrader,
    submit,
)
from tests.grading.nbgrader_recording import record_with_nbgrader  # noqa: E402
from tests.postgres_server import create_database, postgres_binaries, postgres_server  # noqa: E402

ASSIGNMENT = "01_computation_graphs"


def prerecorded(base: Path, assignment: str, students: int) -> tuple[Path, list[TaskResult]]:
    """A course with ``students`` submissions, and a finished worker result for each (not recorded)."""
    course = make_course_copy(base / "course", [assignment])
    nbgrader(course, "generate_assignment", assignment, "--force")
    notebooks, graded = graded_kinds(course, assignment, base / "scratch")
    results = []
    for index in range(students):
        student = student_name(index)
        submit(course, student, assignment, notebooks[kind_of(student)])
        results.append(dataclasses.replace(graded[kind_of(student)], student=student,
                                           flags=list(graded[kind_of(student)].flags)))
    return course, results


def fresh_copies(results: list[TaskResult]) -> list[TaskResult]:
    """Results as a worker sends them: nothing filled in by an earlier recording."""
    return [dataclasses.replace(r, recorded=False, record_error="", score=None, max_score=None, cells={})
            for r in results]


def measure(course: Path, db_url: str, results: list[TaskResult], batch: int, profile: str | None,
            converter: bool = False) -> dict:
    """Record ``results`` into ``db_url`` (``batch`` 0: one at a time; ``converter``: with nbgrader's
    converter); seconds and the gradebook."""
    results = fresh_copies(results)
    recorder = None if converter else Recorder(course, db_url)
    profiler = cProfile.Profile() if profile else None
    try:
        started = time.perf_counter()
        with profiler or contextlib.nullcontext():
            if converter:
                record_with_nbgrader(course, results, db_url)
            elif batch:
                for start in range(0, len(results), batch):
                    recorder.record_batch(results[start:start + batch])
            else:
                for result in results:
                    recorder.record(result)
        seconds = time.perf_counter() - started
    finally:
        if recorder is not None:
            recorder.close()
    if profiler:
        profiler.dump_stats(profile)
    not_recorded = [r.student for r in results if not r.graded]
    if not_recorded:
        raise SystemExit(f"{len(not_recorded)} results not recorded, e.g. {not_recorded[0]}: "
                         f"{results[0].record_error}")
    return {"seconds": seconds, "per_minute": len(results) / seconds * 60,
            "snapshot": gradebook_snapshot(db_url)}


def compare(label: str, course_of, db_of, results: list[TaskResult], batch: int, profile: str | None) -> None:
    runs = [measure(course_of("nbgrader"), db_of("nbgrader"), results, 0, profile and profile + ".nbgrader",
                    converter=True),
            measure(course_of("single"), db_of("single"), results, 0, profile and profile + ".single"),
            measure(course_of("batch"), db_of("batch"), results, batch, profile and profile + ".batch")]
    same = all(run["snapshot"] == runs[0]["snapshot"] for run in runs[1:])
    before = runs[0]["per_minute"]
    figures = "".join(f"{run['per_minute']:>10.0f}{run['per_minute'] / before:>8.2f}x" for run in runs)
    print(f"{label:<11}{figures}   {'yes' if same else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=int, default=120, help="results recorded per run (default 120)")
    parser.add_argument("--batch", type=int, default=16, help="results per batch (default 16)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--profile", metavar="FILE", help="cProfile statistics of the SQLite runs")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="recorder-speed-"))
    try:
        print(describe_machine())
        started = time.perf_counter()
        template, results = prerecorded(base, ASSIGNMENT, args.results)
        print(f"{len(results)} prerecorded results of {ASSIGNMENT} (2 of 3 full marks, 1 of 3 blank), "
              f"built in {time.perf_counter() - started:.0f} s; batches of {args.batch}")
        print("\nresults recorded per minute, and ratio to nbgrader's converter")
        print(f"{'gradebook':<11}{'nbgrader converter':>19}{'one at a time':>19}{'batched':>19}   same rows")

        def course_of(name):
            course = base / f"{name}-{time.monotonic_ns()}"
            shutil.copytree(template, course)
            return course

        courses = {}

        def sqlite_course(name):
            courses[name] = course_of(name)
            return courses[name]

        compare("SQLite", sqlite_course, lambda name: f"sqlite:///{courses[name] / 'gradebook.db'}", results,
                args.batch, args.profile)
        if args.no_postgres:
            return
        if postgres_binaries() is None:
            print("PostgreSQL: skipped (no server binaries: scripts/install_grading_deps.sh)")
            return
        with postgres_server() as server:
            def postgres_db(name):
                url = create_database(server, name)
                nbgrader(courses[name], "generate_assignment", ASSIGNMENT, "--force", f"--db={url}")
                return url

            compare("PostgreSQL", sqlite_course, postgres_db, results, args.batch, None)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
