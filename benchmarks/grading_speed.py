"""Grading speed: plain ``nbgrader autograde`` against ``course grade`` with 1 and 2 workers.

Usage (from the repository root, as root: the sandbox needs it)::

    .venv/bin/python benchmarks/grading_speed.py [--students 8] [--assignments 01_computation_graphs,...]

Prints figures, asserts nothing. It builds a throwaway copy of the course
(``tests/course_copy.py``), generates the assignments, and submits, for each
of ``--students`` students, every assignment: two students in three hand in
the reference solution, the third the blank release notebook (8 students and
the seven assignments: 56 submissions). Then, each on a fresh copy of
that course:

1. ``nbgrader autograde "*"`` (serial, no sandbox: the baseline);
2. ``course grade "*" --workers 1 --no-judge``;
3. ``course grade "*" --workers 2 --no-judge``.

Each run is repeated ``--repeat`` times (3 by default), each time on a fresh
copy, in rounds (every command once per round, in turn, so that a change in
the machine's load meets them all), and the median is taken; the load
average is printed before each.
``course grade`` runs with ``--no-judge`` (the test cells run in the kernel,
as in the baseline: the figures of issue 23); ``--runs`` may name
``course-grade-1-judge`` and ``course-grade-2-judge``, the same with the
judge, ``course grade``'s default. For each it prints the wall time,
submissions per minute, the CPU seconds the machine was busy during the run
(``/proc/stat``: every process of the run, and whatever else ran; on two cores,
two workers cannot beat serial nbgrader by more than twice the ratio of their
CPU times), and for the
``course grade`` runs the per-submission task time (median and max), the median
seconds of each phase of a task (``TaskResult.phases``) and of each step of the
start-up (``StartupTimings``, median of the repeats per step) from their JSON
report, and checks that the gradebooks agree. It also samples memory twice a second: the peak
``Pss`` of the run's whole process tree (nbgrader and its kernels, or the cluster, workers, kernel
servers and kernels) and the peak of the machine's memory in use over its value at the start.

``--judge-compare`` runs instead ``course grade "*" --workers 2`` with the judge and with
``--no-judge``, interleaved (on, off, on, off, ...) ``--repeat`` times each, each on a
fresh copy, and prints both medians and the judge's overhead (issue 21's bar: at most 15 %).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import (  # noqa: E402
    MemoryPeaks,
    describe_machine,
    load_average,
    machine_busy_seconds,
)
from grader.instructor.gradebook import gradebook_snapshot  # noqa: E402
from grader.messages import BACKGROUND_STEPS, PHASES, STARTUP_STEPS  # noqa: E402
from grader.nbgrader_terms import nbgrader_environment  # noqa: E402
from tests.course_copy import (  # noqa: E402
    blank_submission,
    make_course_copy,
    nbgrader,
    reference_submission,
    submit,
)

# the whole course: every assignment with a release
DEFAULT_ASSIGNMENTS = sorted(
    p.name for p in (ROOT / "release").iterdir() if (p / f"{p.name}.ipynb").is_file()
)


def environment() -> dict:
    env = nbgrader_environment()
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def build(base: Path, assignments: list[str], students: int) -> tuple[Path, int]:
    course = make_course_copy(base / "template", assignments)
    nbgrader(course, "generate_assignment", "*", "--force")
    count = 0
    for index in range(students):
        for assignment in assignments:
            nb = (blank_submission if index % 3 == 2 else reference_submission)(course, assignment)
            submit(course, f"student{index:02d}", assignment, nb)
            count += 1
    return course, count


def course_grade_command() -> list[str]:
    """``course grade "*"`` as the benchmark runs it (with the judge, its default)."""
    return [sys.executable, "-m", "grader", "grade", "*", "--no-progress", "--report", "report.json"]


def run(label: str, template: Path, base: Path, command: list[str]) -> dict:
    course = base / label
    shutil.rmtree(course, ignore_errors=True)
    course.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template, course)
    load = load_average()
    busy_before = machine_busy_seconds()
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(command, cwd=course, env=environment(), stdout=stdout, stderr=stderr,
                                   text=True)
        memory = MemoryPeaks(process.pid)
        process.wait()
        seconds = time.perf_counter() - started
        memory.stop()
        stdout.seek(0)
        stderr.seek(0)
        output, errors = stdout.read(), stderr.read()
    # the machine's busy CPU time over the run: nbgrader, or course grade with its cluster, workers,
    # nbgrader processes, kernel servers and kernels (RUSAGE_CHILDREN misses the processes that end
    # without being waited for, as a worker's kernel server and its kernels when the cluster closes)
    cpu = machine_busy_seconds() - busy_before
    if process.returncode not in (0, 1):
        print(output[-3000:], errors[-3000:], file=sys.stderr)
        raise SystemExit(f"{label} failed with status {process.returncode}")
    outcome = {"label": label, "seconds": seconds, "cpu": cpu, "course": course, "status": process.returncode,
               "load": load, "tree_peak": memory.tree_peak, "tree_processes": memory.tree_processes,
               "machine_peak": memory.machine_peak - memory.machine_before}
    report = course / "report.json"
    if report.exists():
        log = json.loads(report.read_text())
        rows = log["submissions"]
        outcome["task_seconds"] = [row["seconds"] for row in rows]
        outcome["phases"] = [row.get("phases") or {} for row in rows]
        outcome["graded"] = sum(row["status"] == "graded" and bool(row["recorded"]) for row in rows)
        outcome["startup"] = log.get("startup")
    return outcome


def interleaved(labels: list[str], template: Path, base: Path, commands: dict, times: int) -> list[dict]:
    """``times`` rounds, each running every command of ``labels`` once, in turn, so that a change in the
    machine's load meets every command; per command, the median run's figures, with every run's seconds
    and start-up (in the order of ``labels``)."""
    outcomes: dict[str, list[dict]] = {label: [] for label in labels}
    for attempt in range(times):
        for label in labels:
            outcome = run(label, template, base, commands[label])
            print(f"  {label} run {attempt + 1}/{times}: {outcome['seconds']:.1f} s "
                  f"({outcome['load']} before)", flush=True)
            outcomes[label].append(outcome)
    summaries = []
    for label in labels:
        runs = outcomes[label]
        median = sorted(runs, key=lambda o: o["seconds"])[len(runs) // 2]
        summaries.append({**median, "seconds": statistics.median(o["seconds"] for o in runs),
                          "cpu": statistics.median(o["cpu"] for o in runs),
                          "tree_peak": statistics.median(o["tree_peak"] for o in runs),
                          "machine_peak": statistics.median(o["machine_peak"] for o in runs),
                          "all_seconds": [o["seconds"] for o in runs],
                          "startups": [o["startup"] for o in runs if o.get("startup")]})
    return summaries


def startup_lines(outcome: dict) -> list[str]:
    """Each start-up step's median over the repeats (foreground in order, then the background)."""
    startups = outcome.get("startups") or []
    if not startups:
        return []
    lines = [f"{outcome['label']}: start-up, median of {len(startups)} runs per step "
             f"(to the first task: {statistics.median(s['total'] for s in startups):.2f} s)"]
    for kind, steps in (("steps", STARTUP_STEPS), ("background", BACKGROUND_STEPS)):
        for step in steps:
            values = [s[kind][step] for s in startups if step in s[kind]]
            if values:
                built = sum(step in s.get("built", ()) for s in startups)
                lines.append(f"  {'meanwhile ' if kind == 'background' else ''}{step:<16}"
                             f"{statistics.median(values):>7.2f} s"
                             + (f"  (built in {built} of the runs)" if built else ""))
    return lines


def judge_compare(template: Path, base: Path, commands: dict, count: int, repeats: int) -> None:
    """``course grade --workers 2`` with the judge and without, interleaved; medians and the overhead."""
    seconds: dict[str, list[float]] = {"course-grade-2-judge": [], "course-grade-2": []}
    snapshots = []
    for index in range(repeats):
        for label in seconds:
            outcome = run(label, template, base / f"repeat{index}", commands[label])
            seconds[label].append(outcome["seconds"])
            print(f"{label} (run {index + 1}): {outcome['seconds']:.1f} s, "
                  f"graded {outcome.get('graded')}/{count}")
            snapshot = gradebook_snapshot(f"sqlite:///{outcome['course'] / 'gradebook.db'}")
            snapshots.append({k: v for k, v in snapshot.items() if "grade" in k})
            shutil.rmtree(outcome["course"], ignore_errors=True)
    on, off = (statistics.median(seconds[label]) for label in seconds)
    print(f"median of {repeats}: judge on {on:.1f} s, judge off {off:.1f} s; "
          f"the judge adds {(on / off - 1) * 100:.1f} % ({count} submissions)")
    same = all(s == snapshots[0] for s in snapshots)
    print(f"the {len(snapshots)} gradebooks hold the same grades: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--assignments", default=",".join(DEFAULT_ASSIGNMENTS))
    parser.add_argument("--keep", action="store_true", help="keep the throwaway courses")
    parser.add_argument("--runs", default="nbgrader-serial,course-grade-1,course-grade-2",
                        help="which runs, comma-separated (default: the first three; also "
                             "course-grade-1-judge, course-grade-2-judge)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; the median is shown")
    parser.add_argument("--judge-compare", action="store_true",
                        help="only course grade --workers 2 with and without the judge, interleaved")
    args = parser.parse_args()
    assignments = [a for a in args.assignments.split(",") if a]
    base = Path(tempfile.mkdtemp(prefix="grading-speed-"))
    try:
        print(describe_machine())
        started = time.perf_counter()
        template, count = build(base, assignments, args.students)
        print(f"{count} submissions ({args.students} students x {len(assignments)} assignments: "
              f"{', '.join(assignments)}), built in {time.perf_counter() - started:.0f} s")
        course_grade = course_grade_command()
        print("course grade runs as: " + " ".join(course_grade[2:]))
        commands = {
            "nbgrader-serial": [sys.executable, "-m", "nbgrader", "autograde", "*", "--force"],
            "course-grade-1": course_grade + ["--workers", "1", "--no-judge"],
            "course-grade-2": course_grade + ["--workers", "2", "--no-judge"],
            "course-grade-1-judge": course_grade + ["--workers", "1"],
            "course-grade-2-judge": course_grade + ["--workers", "2"],
        }
        if args.judge_compare:
            judge_compare(template, base, commands, count, args.repeat)
            return
        runs = interleaved(args.runs.split(","), template, base, commands, args.repeat)
        serial = runs[0]["seconds"]  # the first run is the yardstick of "vs serial"
        print(f"\n{'run':<18}{'seconds':>9}{'per minute':>12}{'vs serial':>11}{'minus serial':>14}"
              f"{'task median':>13}{'task max':>10}{'CPU s':>9}{'CPU vs serial':>15}")
        for outcome in runs:
            tasks = outcome.get("task_seconds") or []
            median = f"{statistics.median(tasks):.1f}" if tasks else "-"
            longest = f"{max(tasks):.1f}" if tasks else "-"
            print(f"{outcome['label']:<18}{outcome['seconds']:>9.1f}{count / outcome['seconds'] * 60:>12.1f}"
                  f"{serial / outcome['seconds']:>10.2f}x{outcome['seconds'] - serial:>+12.1f} s"
                  f"{median:>13}{longest:>10}{outcome['cpu']:>9.1f}{outcome['cpu'] / runs[0]['cpu']:>14.2f}x")
        for outcome in runs:
            print(f"{outcome['label']}: {outcome['seconds'] / count:.1f} s per submission on average; runs: "
                  + ", ".join(f"{seconds:.1f}" for seconds in outcome["all_seconds"]) + " s")
        for outcome in runs:
            print(f"{outcome['label']}: memory at its peak, median of the runs: the run's processes "
                  f"{outcome['tree_peak'] / 2**20:.0f} MB (Pss; {outcome['tree_processes']} processes in the "
                  f"median run's peak), the machine's memory in use "
                  f"{outcome['machine_peak'] / 2**20:+.0f} MB over its start")
        for outcome in runs:
            for line in startup_lines(outcome):
                print(line)
        for outcome in runs:
            if outcome.get("phases"):
                medians = {phase: statistics.median(p[phase] for p in outcome["phases"] if phase in p)
                           for phase in PHASES if any(phase in p for p in outcome["phases"])}
                print(f"{outcome['label']}: median seconds per task by phase: "
                      + ", ".join(f"{phase} {seconds:.3f}" for phase, seconds in medians.items()))
        for outcome in runs:
            if "graded" not in outcome:
                continue
            print(f"{outcome['label']}: graded {outcome.get('graded')}/{count}, "
                  f"exit status {outcome['status']}")
        snapshots = [gradebook_snapshot(f"sqlite:///{o['course'] / 'gradebook.db'}") for o in runs]

        def scores(snapshot):
            return {k: v for k, v in snapshot.items() if "grade" in k}

        same = all(scores(s) == scores(snapshots[0]) for s in snapshots[1:])
        print(f"the {len(runs)} gradebooks (each command's last run) hold the same grades: {same}")
        print(describe_machine())
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"kept {base}")


if __name__ == "__main__":
    main()
