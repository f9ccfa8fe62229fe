"""The ``course`` command: ``course grade`` and ``course report`` for instructors, ``course check``
for learners.

Usage::

    course grade ASSIGNMENT [ASSIGNMENT ...] [--student ID ...] [--workers N] [--force]
                 [--scheduler ADDRESS] [--db URL] [--report FILE] [limits...]
    course check NOTEBOOK [--assignment ID]
    course report ASSIGNMENT [ASSIGNMENT ...] [--db URL] [--out FOLDER] [--grading-log FILE ...]

(``python -m grader ...`` is the same.) ``course grade`` runs from the
course root; see ``docs/grading.md``. It needs the ``grading`` extra
(Dask, tqdm, PostgreSQL's driver); ``course check`` needs none: this module
imports the engine only on the ``grade`` path.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import signal
import sys
import time
from pathlib import Path

from grader.messages import SandboxLimits

__all__ = ["main", "build_parser", "missing_grading_modules"]

#: what ``course grade`` imports that a learner's install lacks: (module, distribution)
GRADING_MODULES = (("distributed", "dask[distributed]"), ("tqdm", "tqdm"))
POSTGRES_MODULE = ("psycopg2", "psycopg2-binary")


def missing_grading_modules(db_url: str | None = None) -> list[str]:
    """Distributions of the ``grading`` extra that ``course grade`` needs and cannot import."""
    needed = list(GRADING_MODULES)
    if db_url and db_url.startswith("postgresql"):
        needed.append(POSTGRES_MODULE)
    return [distribution for module, distribution in needed if importlib.util.find_spec(module) is None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course",
                                     description="Grading tools of the backpropagation course.")
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser(
        "grade", help="autograde submissions, sandboxed and in parallel (run from the course root)",
        description="Autograde submitted/<student>/<assignment>/ with nbgrader's machinery: student "
                    "kernels in a sandbox, submissions in parallel on Dask, every grade recorded in the "
                    "gradebook from this process. A submission already graded from the same submitted "
                    "files is skipped (nbgrader's rule); --force grades it again. Ctrl+C or SIGTERM stops "
                    "the run cleanly; the same command then continues it. Exit status: 0 all graded, "
                    "1 some not graded, 2 error, 130 stopped by SIGINT, 143 by SIGTERM.")
    grade.add_argument("assignments", nargs="+", metavar="ASSIGNMENT", help="assignment id (globs allowed)")
    grade.add_argument("--student", action="append", default=None, metavar="ID",
                       help="grade only this student (repeatable)")
    grade.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 8),
                       help="LocalCluster workers (default: CPU count, at most 8); 0: no Dask, one by one")
    grade.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler (tcp://host:8786)")
    grade.add_argument("--db", metavar="URL",
                       help="gradebook URL, e.g. postgresql+psycopg2://user:pw@host/db "
                            "(default: the course's sqlite:///gradebook.db)")
    grade.add_argument("--report", metavar="FILE", help="also write a JSON report of every submission")
    grade.add_argument("--force", action="store_true",
                       help="grade again submissions already graded from the same submitted files "
                            "(as nbgrader autograde --force)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run student code unconfined, with the grader's rights (trusted code only)")
    grade.add_argument("--no-judge", action="store_true",
                       help="run the test cells in the student's kernel, as plain nbgrader autograde does, "
                            "instead of deciding them in the judge (code in the kernel can then fake a pass)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument("--root", default=".", help="course root (default: the current folder)")
    grade.add_argument("--scratch", help="scratch folder on each worker (default: $TMPDIR/course-grading)")
    grade.add_argument("--cell-timeout", type=int, help="seconds per cell (default: nbgrader_config.py's)")
    grade.add_argument("--task-timeout", type=int, default=1800, help="seconds per submission (default 1800)")
    defaults = SandboxLimits()
    for name, help_text in (
        ("memory_mb", "kernel address space, MiB"), ("cpu_seconds", "kernel CPU seconds"),
        ("processes", "processes and threads"), ("file_mb", "largest file written, MiB"),
        ("output_cell_kb", "output kept per cell, KiB"), ("output_total_kb", "output kept per notebook, KiB"),
    ):
        grade.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name),
                           help=f"{help_text} (default {getattr(defaults, name)})")

    check = commands.add_parser(
        "check", help="grade your own notebook against the hidden tests, on your machine",
        description="Run your notebook with nbgrader against every test, visible and hidden, and print "
                    "per-exercise results. Hidden test code is never printed.")
    check.add_argument("notebook", type=Path,
                       help="your notebook, e.g. my-work/01_computation_graphs/01_computation_graphs.ipynb")
    check.add_argument("--assignment", help="assignment id (default: from the notebook's name)")
    check.add_argument("--root", type=Path,
                       help="the course repository (default: the nearest above the notebook or the current "
                            "folder, else the one this command was installed from)")
    check.add_argument("--cell-timeout", type=int, help="seconds per cell (default: nbgrader_config.py's)")
    check.add_argument("--in-kernel", action="store_true",
                       help="run the tests in your notebook's kernel, as plain nbgrader autograde does, "
                            "instead of deciding them in a process of their own as course grade does")
    check.add_argument("--judge", action="store_true", help=argparse.SUPPRESS)  # the default since issue 21

    # --- course report (grader/instructor/report/) ---
    from grader.instructor.report.cli import add_report_parser

    add_report_parser(commands)
    return parser


def _grade(args, argv: list[str], clock) -> int:
    missing = missing_grading_modules(args.db)
    if missing:
        print(f"course grade: this install lacks the grader's engine ({', '.join(missing)}). Install the "
              "grading extra from the course repository: pip install -e '.[grading]'", file=sys.stderr)
        return 2
    from grader.instructor.workers import GradeOptions, Workers
    from grader.sandbox.kernel import sandbox_unavailable_reason

    root = Path(args.root).resolve()
    sandbox = not args.no_sandbox
    if sandbox and not args.scheduler:
        reason = sandbox_unavailable_reason()
        if reason:
            print(f"course grade: cannot sandbox student code: {reason}.\n"
                  "Run as root on Linux (sudo -E env PATH=$PATH course grade ...), or pass --no-sandbox "
                  "to run student code with your rights (only for code you trust).", file=sys.stderr)
            return 2
    if not sandbox:
        print("WARNING: --no-sandbox: student code runs with YOUR rights: it can read source/ and the "
              "hidden tests, rewrite gradebook.db, and reach the network.", file=sys.stderr)
    limits = SandboxLimits(**{name: getattr(args, name) for name in (
        "memory_mb", "cpu_seconds", "processes", "file_mb", "output_cell_kb", "output_total_kb")})
    options = GradeOptions(workers=args.workers, scheduler=args.scheduler, db_url=args.db, sandbox=sandbox,
                           limits=limits, cell_timeout=args.cell_timeout, task_timeout=args.task_timeout,
                           progress=not args.no_progress, force=args.force, judge=not args.no_judge)
    if args.scratch:
        options.scratch = args.scratch
    clock.mark("checks")
    # the cluster and its workers' warm-up start now, in the background, while the engine is imported
    workers = Workers(options)
    try:
        from grader.instructor.engine import grade
        from grader.instructor.ownership import return_to_course_owner
        from grader.instructor.record import default_db_url, load_course_config
        from grader.instructor.summary import (
            exit_status,
            interrupted_lines,
            skipped_line,
            summary_lines,
            write_report,
        )
    except BaseException:
        workers.close()
        raise
    clock.mark("imports")
    started = clock.origin
    try:
        run = grade(root, args.assignments, args.student, options, clock=clock, workers=workers)
    except LookupError as error:
        print(f"course grade: {error}", file=sys.stderr)
        return 2
    finally:
        return_to_course_owner(root, args.db or default_db_url(root, load_course_config(root)))
    seconds = time.time() - started
    if not run.planned and not run.skipped:
        print("course grade: no submission found under submitted/<student>/<assignment>/", file=sys.stderr)
        return 2
    engine = f"Dask scheduler {args.scheduler}" if args.scheduler else (
        f"{args.workers} Dask worker(s)" if args.workers else "no Dask (one by one)")
    if run.planned:
        for line in summary_lines(run.results, seconds, engine, stopped=run.stopped_by is not None,
                                  startup=run.startup):
            print(line)
    skipped = skipped_line(len(run.skipped))
    if skipped:
        print(skipped)
    if not run.planned:
        print("nothing left to grade")
    if run.stopped_by is not None:
        # the same command, less --force: it would grade again what this run recorded
        again = shlex.join(["course", *(arg for arg in argv if arg != "--force")])
        for line in interrupted_lines(run.stopped_by, run.results, run.planned, again):
            print(line)
    if args.report:
        write_report(run.results, args.report, run.skipped, run.startup)
    return exit_status(run.results, run.stopped_by)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``course`` command."""
    from grader.instructor.startup import StartupClock

    clock = StartupClock()  # from this process's start
    clock.mark("interpreter")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    from grader.worker.nbgrader_main import skip_slow_optional_imports

    skip_slow_optional_imports()
    if args.command == "grade":
        try:
            return _grade(args, argv, clock)
        except KeyboardInterrupt:
            # Ctrl+C before grading started or after it ended (while grading, grade() handles it)
            print("\ncourse grade: stopped by SIGINT while nothing was being graded or recorded",
                  file=sys.stderr)
            return 128 + int(signal.SIGINT)
    if args.command == "report":
        from grader.instructor.report.cli import report_main

        return report_main(args)
    from grader.check import check_main

    return check_main(args)


if __name__ == "__main__":
    sys.exit(main())
