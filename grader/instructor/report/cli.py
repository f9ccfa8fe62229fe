"""The ``course report`` subcommand: its arguments and what it runs."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["add_report_parser", "report_main"]


def add_report_parser(commands) -> None:
    """Add ``report`` to the ``course`` command's subparsers."""
    report = commands.add_parser(
        "report", help="a class report of graded assignments: scores, failing tests, similar code, flags",
        description="Read the gradebook and autograded/ (run from the course root) and write a "
                    "self-contained HTML report plus CSV and JSON files with the same numbers.")
    report.add_argument("assignments", nargs="+", metavar="ASSIGNMENT", help="assignment id (globs allowed)")
    report.add_argument("--db", metavar="URL",
                        help="gradebook URL, e.g. postgresql+psycopg2://user:pw@host/db "
                             "(default: the course's sqlite:///gradebook.db)")
    report.add_argument("--out", type=Path,
                        help="output folder (default: reports/<UTC date and time>/ under the course root)")
    report.add_argument("--grading-log", action="append", default=[], type=Path, metavar="FILE",
                        help="a JSON file written by `course grade --report FILE`: why submissions were "
                             "not graded, and grading times (flag reasons come from the gradebook) "
                             "(repeatable)")
    report.add_argument("--similarity", type=float, default=None, metavar="SHARE",
                        help="report pairs whose smaller share of matching code reaches this "
                             "(default 0.5, tuned on the course's own answers: docs/report.md)")
    report.add_argument("--processes", type=int, default=None,
                        help="processes reading autograded notebooks (default: CPU count)")
    report.add_argument("--no-progress", action="store_true", help="no progress bar")
    report.add_argument("--root", default=".", help="course root (default: the current folder)")


def report_main(args: argparse.Namespace) -> int:
    """Build and write the report; exit status 0, or 2 when nothing could be read."""
    from grader.worker.nbgrader_main import skip_slow_optional_imports

    skip_slow_optional_imports()
    from grader.instructor.report.build import ReportOptions, build_report
    from grader.instructor.report.output import write_report_files

    root = Path(args.root).resolve()
    options = ReportOptions(db_url=args.db, grading_logs=args.grading_log, progress=not args.no_progress)
    if args.similarity is not None:
        options.threshold = args.similarity
    if args.processes:
        options.processes = args.processes
    started = time.perf_counter()
    try:
        report = build_report(root, args.assignments, options)
    except (LookupError, FileNotFoundError) as error:
        print(f"course report: {error}", file=sys.stderr)
        return 2
    out = args.out or root / "reports" / datetime.now(UTC).strftime("%Y-%m-%d_%H%M%S")
    paths = write_report_files(report, out)
    print(f"course report: {len(report.submissions)} submissions of {len(report.assignments)} assignment(s), "
          f"{len(report.similar_pairs)} similar pair(s), {len(report.notes)} to review, in "
          f"{time.perf_counter() - started:.1f} s")
    print(f"  {paths['report.html']}")
    return 0
