"""How fast the instructor's side of ``course grade`` absorbs finished results, with infinitely fast workers.

Usage (from the repository root; the PostgreSQL half needs root and the server packages of
``scripts/install_grading_deps.sh``)::

    .venv/bin/python benchmarks/coordinator_speed.py [--results 600] [--workers 2] [--no-postgres]

Prints figures, asserts nothing. A run of ``course grade`` goes no faster than its one process that
schedules the tasks, receives the results and records them (issue 23: the coordinator must not cap a
cluster of 100 workers). This measures that process alone: the real engine path
(``grader.instructor.engine._grade_on_dask`` on a Dask LocalCluster, the batches of
``MAX_BATCH``, :class:`grader.instructor.record.Recorder`), with a stub task that returns a
prerecorded :class:`~grader.messages.TaskResult` at once instead of grading (:func:`replay_task`).

The prerecorded results come from two real gradings of ``01_computation_graphs`` by a worker's task
(unsandboxed, in this process): the reference solution and the blank release notebook, handed in by
``--results`` students (2 of 3 reference). The same two notebooks are graded by plain ``nbgrader
autograde`` once; every student's rows in the gradebook must equal those of plain nbgrader's for the
same notebook (:func:`grader.instructor.gradebook.gradebook_snapshot`, the student's id aside).

Figures: results per minute from the first result's arrival to the last one's recording (the cluster's
start is not the coordinator's rate, and is printed apart), on SQLite and on a throwaway PostgreSQL
server on loopback, and the load average before and after.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import os
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# the LocalCluster's worker processes import replay_task from this module
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

from benchmarks.machine import describe_machine, load_average  # noqa: E402
from benchmarks.prerecorded import KINDS, graded_kinds, kind_of, student_name  # noqa: E402
from grader.instructor import engine  # noqa: E402
from grader.instructor.gradebook import empty_gradebook, gradebook_snapshot  # noqa: E402
from grader.instructor.plan import assignment_bundle, read_submission  # noqa: E402
from grader.instructor.record import Recorder  # noqa: E402
from grader.messages import AssignmentBundle, SubmissionFiles, TaskResult  # noqa: E402
from tests.course_copy import (  # noqa: E402
    make_course_copy,
    nbgrader,
    submit,
)
from tests.postgres_server import create_database, postgres_binaries, postgres_server  # noqa: E402

ASSIGNMENT = "01_computation_graphs"


@functools.cache
def _prerecorded(path: str) -> dict[str, TaskResult]:
    with open(path, "rb") as handle:
        return pickle.load(handle)


def replay_task(path: str, bundle: AssignmentBundle, submission: SubmissionFiles) -> TaskResult:
    """The stub task: the prerecorded result of the student's kind, at once (read once per worker)."""
    result = _prerecorded(path)[kind_of(submission.student)]
    now = time.time()
    return dataclasses.replace(result, student=submission.student, flags=list(result.flags),
                               phases=dict(result.phases), started=now, finished=now)


def prepare(base: Path, students: int) -> tuple[Path, Path, dict]:
    """A course with ``students`` submissions, the prerecorded results' file, and nbgrader's rows per kind.

    Returns the course (not graded), the pickle of {kind: TaskResult}, and {kind: rows of plain
    ``nbgrader autograde``, keyed without the assignment and student}.
    """
    course = make_course_copy(base / "course", [ASSIGNMENT])
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    plain = base / "plain"
    shutil.copytree(course, plain)
    notebooks, graded = graded_kinds(course, ASSIGNMENT, base / "scratch")
    for kind, nb in notebooks.items():
        submit(plain, kind, ASSIGNMENT, nb)
        nbgrader(plain, "autograde", ASSIGNMENT, "--student", kind, "--force")
    rows = gradebook_snapshot(f"sqlite:///{plain / 'gradebook.db'}")
    expected = {kind: {key[2:]: value for key, value in rows.items() if key[1] == kind} for kind in KINDS}
    path = base / "prerecorded.pickle"
    path.write_bytes(pickle.dumps(graded))
    for index in range(students):
        student = student_name(index)
        submit(course, student, ASSIGNMENT, notebooks[kind_of(student)])
    return course, path, expected


def measure(course: Path, db_url: str, prerecorded: Path, workers: int, expected: dict) -> dict:
    """Grade every submission of ``course`` with the stub task on a LocalCluster; figures and parity."""
    options = dataclasses.replace(engine.GradeOptions(workers=workers, sandbox=False, db_url=db_url,
                                                      progress=False),
                                  scratch=str(course.parent / "scratch"))
    started = time.perf_counter()
    recorder = Recorder(course, db_url)
    empty = empty_gradebook("backprop")
    bundles = {ASSIGNMENT: assignment_bundle(course, ASSIGNMENT, recorder.db_url, "backprop",
                                             options.task_options(), empty)}
    submissions = [read_submission(course, folder.name, ASSIGNMENT)
                   for folder in sorted((course / "submitted").iterdir())]
    clock = {"first": None, "last": None}
    recorded = []

    def finish(arrived: list[TaskResult]) -> None:
        clock["first"] = clock["first"] or time.perf_counter()
        for start in range(0, len(arrived), engine.MAX_BATCH):
            recorder.record_batch(arrived[start:start + engine.MAX_BATCH])
        recorded.extend(arrived)
        clock["last"] = time.perf_counter()

    # by reference from its module (not __main__, which Dask would pickle by value with each task)
    stub = importlib.import_module("benchmarks.coordinator_speed").replay_task
    try:
        engine._grade_on_dask(bundles, submissions, options, finish,
                              task=functools.partial(stub, str(prerecorded)))
    finally:
        recorder.close()
    total = time.perf_counter() - started
    failed = [r for r in recorded if not r.graded]
    rows = gradebook_snapshot(db_url)
    students = {r.student for r in recorded}
    same = not failed and len(recorded) == len(submissions) and all(
        {key[2:]: value for key, value in rows.items() if key[1] == student} == expected[kind_of(student)]
        for student in students)
    seconds = clock["last"] - clock["first"]
    return {"per_minute": len(recorded) / seconds * 60, "seconds": seconds, "total": total,
            "start": total - seconds, "same": same, "failed": failed, "results": len(recorded)}


def report(label: str, figures: dict) -> None:
    print(f"{label:<11}{figures['results']:>8}{figures['per_minute']:>14.0f}{figures['seconds']:>12.1f}"
          f"{figures['start']:>12.1f}   {'yes' if figures['same'] else 'NO'}")
    for result in figures["failed"][:3]:
        print(f"    not graded: {result.student}: {result.status} {result.reason} {result.record_error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=int, default=600, help="results per run (default 600)")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers of the LocalCluster (default 2)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="coordinator-speed-"))
    try:
        print(describe_machine())
        started = time.perf_counter()
        template, prerecorded, expected = prepare(base, args.results)
        print(f"{args.results} submissions of {ASSIGNMENT} (2 of 3 reference, 1 of 3 blank), prerecorded "
              f"in {time.perf_counter() - started:.0f} s; {args.workers} Dask workers returning them at once")
        print(f"\n{'gradebook':<11}{'results':>8}{'per minute':>14}{'seconds':>12}{'start (s)':>12}"
              "   rows of plain nbgrader")

        def course_copy(name: str) -> Path:
            course = base / name
            shutil.copytree(template, course)
            return course

        sqlite = course_copy("sqlite")
        report("SQLite", measure(sqlite, f"sqlite:///{sqlite / 'gradebook.db'}", prerecorded, args.workers,
                                 expected))
        if not args.no_postgres:
            if postgres_binaries() is None:
                print("PostgreSQL: skipped (no server binaries: scripts/install_grading_deps.sh)")
            else:
                with postgres_server() as server:
                    course = course_copy("postgres")
                    url = create_database(server, "coordinator")
                    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", f"--db={url}")
                    report("PostgreSQL", measure(course, url, prerecorded, args.workers, expected))
        print(f"\nafter: {load_average()}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
