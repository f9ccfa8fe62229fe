"""The two start-up shortcuts of ``course grade``: they must change nothing but the time."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time

import nbgrader.api
import pytest

from grader.instructor.gradebook import empty_gradebook, export_structure, write_template
from grader.nbgrader_terms import nbgrader_environment
from grader.structure import AssignmentStructure, GradedCell, NotebookStructure, SourceCell

STRUCTURE = AssignmentStructure("hw", None, (NotebookStructure(
    name="hw",
    grade_cells=(GradedCell("test_a", 2.0, "code"),),
    solution_cells=("solve_a",),
    task_cells=(),
    source_cells=(SourceCell("test_a", "code", True, "assert a == 1", "c1"),
                  SourceCell("solve_a", "code", False, "a = 1", "c2")),
),))


def test_the_empty_gradebook_is_made_without_the_environment_on_path(monkeypatch):
    """nbgrader runs ``alembic`` by name: ``.venv/bin/course`` run from a shell that did not activate
    the environment must find the environment's, and leave PATH as it was."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert empty_gradebook("course101").startswith(b"SQLite format 3")
    assert os.environ["PATH"] == "/usr/bin:/bin"


def test_a_template_from_the_empty_gradebook_needs_no_alembic_and_holds_the_structure(tmp_path, monkeypatch):
    empty = empty_gradebook("course101")

    def no_alembic():
        raise AssertionError("a copy of an existing gradebook must not run `alembic heads`")

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", no_alembic)
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    write_template(STRUCTURE, first, "course101", empty)
    write_template(dataclasses.replace(STRUCTURE, assignment="other"), second, "course101", empty)
    assert export_structure(f"sqlite:///{first}", "hw") == STRUCTURE
    # each template holds its own assignment only: the empty bytes were not changed by the first
    with nbgrader.api.Gradebook(f"sqlite:///{second}", "course101") as gb:
        assert [a.name for a in gb.assignments] == ["other"]
    with nbgrader.api.Gradebook(f"sqlite:///{first}", "course101") as gb:
        assert [a.name for a in gb.assignments] == ["hw"]
        version = gb.db.execute(nbgrader.api.text("SELECT version_num FROM alembic_version")).scalar()
    assert version  # nbgrader's migrations still know where this gradebook stands


def test_the_task_entry_point_skips_only_the_slow_optional_import():
    code = (
        "import sys\n"
        "from grader.worker.nbgrader_main import skip_slow_optional_imports\n"
        "skip_slow_optional_imports()\n"
        "import jsonschema._format, nbformat\n"
        "assert 'rfc3987_syntax' not in sys.modules or sys.modules['rfc3987_syntax'] is None\n"
        "assert 'iri' not in jsonschema.FormatChecker.checkers\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "nbformat.validate(nb)\n"
        "bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "del bad.cells[0]['source']\n"
        "try:\n"
        "    nbformat.validate(bad)\n"
        "except nbformat.ValidationError:\n"
        "    print('still validates')\n"
    )
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "still validates"


@pytest.mark.parametrize("args", [["--version"], ["autograde", "--help"]])
def test_the_task_entry_point_is_nbgraders_command_line(args):
    ours = subprocess.run([sys.executable, "-m", "grader.worker.nbgrader_main", *args],
                          capture_output=True, text=True, timeout=120)
    theirs = subprocess.run([sys.executable, "-m", "nbgrader", *args], capture_output=True, text=True,
                            timeout=120)
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout


# ---- the start-up's timings (issue 23) and what was cut from it ----

def test_startup_timings_survive_json_and_pickling_and_the_grading_log(tmp_path):
    import pickle

    from grader.instructor.grading_log import GradingLogRow, read_grading_log, read_startup, write_grading_log
    from grader.messages import StartupTimings, Status

    timings = StartupTimings(steps={"interpreter": 0.1, "imports": 0.8, "bundles": 0.4, "first_task": 0.05},
                             background={"cluster": 1.2, "zygote": 1.5}, built=("font_list",))
    assert StartupTimings.from_dict(json.loads(json.dumps(timings.to_dict()))) == timings
    assert pickle.loads(pickle.dumps(timings)) == timings
    assert timings.total == pytest.approx(1.35)
    with pytest.raises(ValueError, match="unknown start-up steps"):
        StartupTimings.from_dict({"steps": {"warp_drive": 1.0}})
    row = GradingLogRow(student="ann", assignment="a1", status=Status.GRADED)
    write_grading_log([row], tmp_path / "log.json", timings)
    assert read_grading_log(tmp_path / "log.json") == [row]
    assert read_startup(tmp_path / "log.json") == timings
    # a log written before the start-up was timed: a bare list of rows
    (tmp_path / "old.json").write_text(json.dumps([row.to_dict()]))
    assert read_grading_log(tmp_path / "old.json") == [row]
    assert read_startup(tmp_path / "old.json") is None


def test_the_clock_marks_steps_one_after_the_other_from_its_origin():
    from grader.instructor.startup import StartupClock, process_started

    clock = StartupClock(origin=100.0)
    clock.mark("interpreter", now=100.5)
    clock.mark("imports", now=101.5)
    clock.mark("bundles", now=102.0)
    clock.mark("bundles", now=102.25)  # a step marked again adds up
    clock.background("zygote", 3.0)
    clock.background("zygote", 2.0, built=False)  # the slowest worker's is kept
    clock.background("font_list", 0.4, built=True)
    timings = clock.timings()
    assert timings.steps == {"interpreter": 0.5, "imports": 1.0, "bundles": 0.75}
    assert timings.total == pytest.approx(102.25 - 100.0)
    assert timings.background == {"zygote": 3.0, "font_list": 0.4}
    assert timings.built == ("font_list",)
    with pytest.raises(ValueError):
        clock.mark("coffee")
    # this process started before now, and not long before this test module was imported
    assert 0 < time.time() - process_started() < 24 * 3600


def test_the_summary_prints_the_start_up_steps_in_order_with_the_background():
    from grader.instructor.summary import startup_line, summary_lines
    from grader.messages import StartupTimings, Status, TaskResult

    timings = StartupTimings(steps={"interpreter": 0.1, "plan": 0.2, "first_task": 0.3},
                             background={"zygote": 1.5, "font_list": 0.5}, built=("font_list", "template"))
    line = startup_line(timings)
    assert line.startswith("start-up, 0.60 s to the first task's start: interpreter 0.10 s, plan 0.20 s, "
                           "first_task 0.30 s; meanwhile, the slowest worker's: zygote 1.50 s, "
                           "font_list 0.50 s (built)"), line
    assert "empty gradebook was built" in line
    result = TaskResult(student="ann", assignment="a1", status=Status.GRADED, recorded=True)
    assert line in summary_lines([result], 5.0, "1 Dask worker(s)", startup=timings)


def _font_list_in_a_process(base, barrier, queue):
    from grader.sandbox.kernel import machine_font_list

    barrier.wait()
    font_list = machine_font_list(base)
    queue.put((font_list.built, sorted(font_list.preload.values())))


def test_the_font_list_is_built_once_for_two_workers_and_reused_by_the_next_run(tmp_path):
    import multiprocessing

    from grader.sandbox.kernel import font_list_key, machine_font_list

    base = tmp_path / "matplotlib"
    context = multiprocessing.get_context("spawn")  # two fresh worker processes, as Dask starts them
    barrier, queue = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_font_list_in_a_process, args=(base, barrier, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    answers = [queue.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(built for built, _ in answers) == [False, True], answers  # one built it, one waited
    assert answers[0][1] == answers[1][1] and answers[0][1], answers  # the same files, and some
    key = font_list_key()
    assert [path.name for path in base.iterdir() if path.is_dir()] == [key]  # no half-built folder left
    again = machine_font_list(base)  # a later run's process: reused, not built
    assert not again.built and sorted(again.preload.values()) == answers[0][1]


def test_the_font_list_key_follows_the_font_files(tmp_path):
    from grader.sandbox.kernel import font_list_key

    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / "a.ttf").write_bytes(b"one")
    first = font_list_key((str(fonts),))
    assert font_list_key((str(fonts),)) == first
    (fonts / "b.ttf").write_bytes(b"two")  # a font installed
    second = font_list_key((str(fonts),))
    assert second != first
    (fonts / "b.ttf").write_bytes(b"three")  # a font replaced
    assert font_list_key((str(fonts),)) not in (first, second)


def test_the_empty_gradebook_is_built_once_per_machine_and_only_cached_where_no_one_else_writes(
        tmp_path, monkeypatch):
    from grader.instructor import plan

    monkeypatch.setenv("PATH", nbgrader_environment()["PATH"])
    scratch = tmp_path / "scratch"
    first, built = plan.empty_template("course101", scratch)
    assert built and first.startswith(b"SQLite format 3\0")
    again, built_again = plan.empty_template("course101", scratch)
    assert again == first and not built_again
    other, built_other = plan.empty_template("course102", scratch)  # another course: another key
    assert built_other
    open_to_all = tmp_path / "shared"
    open_to_all.mkdir(mode=0o777)
    open_to_all.chmod(0o777)
    assert plan.empty_template("course101", open_to_all)[1]
    assert plan.empty_template("course101", open_to_all)[1]  # never read from a folder others can write
    assert not (open_to_all / "templates").exists() or not any((open_to_all / "templates").iterdir())


def test_a_prestarted_zygote_is_the_one_the_next_task_thread_takes():
    import threading

    from grader.worker import zygote as zygotes

    started = zygotes.prestart_zygote()
    taken = []
    thread = threading.Thread(target=lambda: taken.append(zygotes.shared_zygote()))
    thread.start()
    thread.join()
    try:
        assert taken == [started]
        assert started.wait_ready(timeout=120) > 0  # it said when its imports were done
    finally:
        started.close()


def test_the_workers_zygotes_start_before_the_bundles_are_ready():
    # the engine starts the cluster and warms its workers up in the background, then builds the
    # bundles: without the main thread doing anything more, a worker's zygote comes up
    from grader.instructor.workers import GradeOptions, Workers
    from grader.worker.zygote import process_tree

    workers = Workers(GradeOptions(workers=1, sandbox=False, progress=False))
    try:
        deadline, seen = time.monotonic() + 180, False
        while time.monotonic() < deadline and not seen:
            for pid in process_tree(os.getpid()):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as handle:
                        seen = seen or b"grader.worker.zygote" in handle.read()
                except OSError:
                    continue
            time.sleep(0.2)
        assert seen, "no zygote started while the main thread was busy elsewhere"
        workers.ready()
        reports = workers.reports()
        assert len(reports) == 1
    finally:
        workers.close()


def test_a_template_is_built_once_per_machine_and_read_back(tmp_path):
    from grader.instructor import plan

    builds = []

    def build(path):
        builds.append(path)
        path.write_bytes(b"SQLite format 3\0" + b"x" * 100)

    first = plan._cached_gradebook(tmp_path / "scratch", "hw-key", build)
    second = plan._cached_gradebook(tmp_path / "scratch", "hw-key", build)
    assert first == (b"SQLite format 3\0" + b"x" * 100, True) and second == (first[0], False)
    assert len(builds) == 1
    (tmp_path / "scratch" / "templates" / "hw-key.db").write_bytes(b"not a gradebook")
    assert plan._cached_gradebook(tmp_path / "scratch", "hw-key", build)[1]  # unreadable: built again
    assert len(builds) == 2


def test_what_a_worker_unpickles_imports_neither_nbgrader_nor_the_engine():
    # warm_up and hold_bundle are what every worker runs first; the task's modules come in the background
    code = ("import sys\n"
            "import grader.worker.warmup, grader.instructor.workers\n"
            "heavy = [m for m in ('nbgrader', 'sqlalchemy', 'grader.instructor.engine', 'distributed')\n"
            "         if m in sys.modules]\n"
            "print(heavy)\n")
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "[]"


def test_the_warm_up_skips_jsonschemas_slow_import_in_a_worker_process(tmp_path):
    code = ("import sys, time\n"
            "from grader.worker.warmup import warm_up, _state\n"
            f"warm_up({str(tmp_path)!r}, sandbox=False)\n"
            "_state['thread'].join(120)\n"
            "print('imports' in _state, sys.modules.get('rfc3987_syntax', 'absent'))\n"
            "_state['zygote'].close()\n")
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "True None"


def test_a_local_worker_drops_only_the_heartbeat_error_of_a_closing_scheduler(caplog):
    """The traceback a worker logs when its heartbeat meets the scheduler the run just closed (seen once
    in a SIGTERM test's stderr) is dropped; any other error of the worker still shows."""
    from grader.worker.warmup import CLOSING_HEARTBEAT, quiet_closing_heartbeat

    worker_logger = logging.getLogger("distributed.worker")
    before = list(worker_logger.filters)
    try:
        quiet_closing_heartbeat()
        quiet_closing_heartbeat()  # a second warm-up adds no second filter
        assert len(worker_logger.filters) == len(before) + 1
        with caplog.at_level(logging.ERROR, logger="distributed.worker"):
            try:
                raise OSError("Stream is closed")
            except OSError:
                worker_logger.exception(CLOSING_HEARTBEAT + ".")
                worker_logger.exception("Compute Failed")
        assert [record.getMessage() for record in caplog.records] == ["Compute Failed"]
    finally:
        worker_logger.filters[:] = before
