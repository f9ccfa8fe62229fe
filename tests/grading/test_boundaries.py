"""The typed hand-offs between the grader's stages: each survives pickling and its own round trip, the
launcher reads exactly the keys of its spec, and no module of grader/ or course/ writes into another
module's names."""

from __future__ import annotations

import ast
import datetime
import importlib
import pickle
import types
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from grader.instructor.flag_reasons import (
    create_flag_reasons_table,
    read_flag_reasons,
    replace_flag_reasons,
)
from grader.instructor.grading_log import GradingLogRow, read_grading_log, write_grading_log
from grader.instructor.report.notes import flag_reasons, grader_notes
from grader.messages import CrashCause, Flag, ProbeReport, SandboxLimits, Status, TaskResult
from grader.nbgrader_terms import HIDDEN_MESSAGE, MAX_MESSAGE, cell_error_line, error_line, hidden_lines
from grader.sandbox import launcher
from grader.sandbox.spec import LaunchSpec, SandboxSpec, TaskSettings
from grader.structure import AssignmentStructure, GradedCell, NotebookStructure, SourceCell
from grader.worker.flags import _assignment_targets, _root_name

ROOT = Path(__file__).resolve().parents[2]

STRUCTURE = AssignmentStructure("hw", datetime.datetime(2026, 1, 2, 3, 4), (NotebookStructure(
    name="hw",
    grade_cells=(GradedCell("test_a", 2.0, "code"),),
    solution_cells=("solve_a",),
    source_cells=(
        SourceCell("solve_a", "code", False,
                   "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()", "c1"),
        SourceCell("test_a", "code", True,
                   "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(-12345) == -12345, 'negatives'\n"
                   "assert f(1) == 1\n### END HIDDEN TESTS", "c2"),
    ),
),))

SPEC = SandboxSpec(uid=2_000_001, gid=999, ipc_dir="/tmp/x/ipc", limits=SandboxLimits(memory_mb=512),
                   preload={"/tmp/matplotlib/fontlist.json": "/var/fonts.json"},
                   kernel_server="/run/k/1.sock")
SETTINGS = TaskSettings(sandbox=SPEC, output_cell_bytes=1024, output_total_bytes=4096,
                        probe_report="/tmp/x/probe.json", phases_report="/tmp/x/phases.json",
                        causes_report="/tmp/x/causes.json", cell_timeout=30)
LAUNCH = LaunchSpec(uid=1, gid=2, cwd="/tmp/w", limits=SandboxLimits().as_dict(), tmp_mb=64,
                    private_tmp=["/tmp"], preload={},
                    view=[("/usr", "ro"), ("/tmp/w", "rw"), ("/dev/null", "dev")],
                    env={"PATH": "/usr/bin"})
RESULT = TaskResult(student="ann", assignment="hw", status=Status.CRASH, reason="the kernel died",
                    cause=CrashCause.KERNEL_DIED,
                    flags=[Flag("numpy-rebinding", "hw", "solve_a", 3, "np.x = 1")],
                    probe=ProbeReport(ran=True, changed=("numpy.allclose",), truncated_cells=(4,)),
                    started=100.0, finished=112.5, worker="host:1", log="x" * 3000,
                    phases={"execution": 2.0}, cells={"hw/test_a": 0.0})


@pytest.mark.parametrize("message", [STRUCTURE, SPEC, SETTINGS, LAUNCH, RESULT, CrashCause.CELL_TIMEOUT,
                                     GradingLogRow.of(RESULT, ["test_a"])])
def test_every_boundary_type_survives_pickling(message):
    assert pickle.loads(pickle.dumps(message)) == message


def test_task_settings_and_launch_spec_round_trip_through_json():
    assert TaskSettings.from_json(SETTINGS.to_json()) == SETTINGS
    unconfined = TaskSettings(None, 1, 2, "p", "q", "r")
    assert TaskSettings.from_json(unconfined.to_json()) == unconfined
    assert LaunchSpec.from_json(LAUNCH.to_json()) == LAUNCH


def _keys_read(tree: ast.AST, name: str) -> set[str]:
    """Constant keys read from the dict ``name``: ``name["key"]`` and ``name.get("key", ...)``."""
    keys = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == name:
            if isinstance(node.slice, ast.Constant):
                keys.add(node.slice.value)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == name and node.args
                and isinstance(node.args[0], ast.Constant)):
            keys.add(node.args[0].value)
    return keys


def test_the_launcher_reads_exactly_the_keys_of_its_spec():
    tree = ast.parse(Path(launcher.__file__).read_text())
    assert _keys_read(tree, "spec") == set(LaunchSpec.__dataclass_fields__)
    assert _keys_read(tree, "limits") <= set(SandboxLimits.__dataclass_fields__)
    # the launcher parses its argument the way LaunchSpec.to_json writes it
    assert "json.loads(argv[1])" in ast.unparse(tree)


def test_the_structure_says_what_the_report_and_the_flags_need():
    assert STRUCTURE.notebook_names == ["hw"]
    assert STRUCTURE.max_scores == {"test_a": 2.0}
    assert STRUCTURE.given_code == {("hw", "solve_a"): STRUCTURE.notebooks[0].source_cells[0].source}
    # a hidden line the student also sees gives nothing away; a long one of their own does
    assert STRUCTURE.hidden_lines == {"assert f(-12345) == -12345, 'negatives'"}
    assert STRUCTURE.notebooks[0].locked == {"test_a"} and STRUCTURE.notebooks[0].graded == {"test_a"}


def test_error_line_is_whole_masks_hidden_lines_and_cuts_only_the_huge():
    hidden = hidden_lines([{"source": STRUCTURE.notebooks[0].source_cells[1].source}])
    long = "the accumulated gradient must add up (+= in a loop, not =) " * 8
    assert error_line({"ename": "AssertionError", "evalue": long}) == f"AssertionError: {long.strip()}"
    assert len(long) > 400  # longer than any cut the three redactors used to make
    quoting = {"ename": "AssertionError", "evalue": "failed: assert f(-12345) == -12345, 'negatives'"}
    assert error_line(quoting, hidden) == f"AssertionError: {HIDDEN_MESSAGE}"
    assert error_line({"ename": "ValueError", "evalue": "a\n  b"}) == "ValueError: a b"
    huge = error_line({"ename": "E", "evalue": "y" * (MAX_MESSAGE + 10)})
    assert huge.startswith("E: yyy") and huge.endswith("(13 more characters not shown)")
    assert cell_error_line({"outputs": [{"output_type": "stream", "text": "x"}]}) is None
    assert cell_error_line({"outputs": [{"output_type": "error", "ename": "E", "evalue": "v"}]}) == "E: v"


def test_the_grading_log_round_trips_through_its_file(tmp_path):
    row = GradingLogRow.of(RESULT, ["test_a"])
    write_grading_log([row], tmp_path / "log.json")
    assert read_grading_log(tmp_path / "log.json") == [row]
    assert row.seconds == 12.5 and row.cause is CrashCause.KERNEL_DIED and len(row.log_tail) == 1500
    with pytest.raises(ValueError, match="unknown keys"):
        GradingLogRow.from_dict(row.to_dict() | {"renamed": 1})


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_flag_reasons_are_replaced_per_submission_and_read_back(tmp_path, backend, request):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    else:
        from tests.postgres_server import create_database

        url = create_database(request.getfixturevalue("postgres"), "flag_reasons")
    engine = create_engine(url, future=True)
    first = [Flag("numpy-rebinding", "hw", "solve_a", 3, "np.allclose = f"),
             Flag("changed-at-run-time", detail="numpy.allclose")]
    with engine.begin() as connection:
        assert read_flag_reasons(connection, ["hw"]) == {}  # no table yet: nothing stored
        create_flag_reasons_table(connection)
        create_flag_reasons_table(connection)  # twice is harmless
        assert replace_flag_reasons(connection, "hw", "ann", first) == []
        replace_flag_reasons(connection, "hw", "bob", [Flag("dynamic-code")])
    with engine.begin() as connection:
        assert read_flag_reasons(connection, ["hw"]) == {("ann", "hw"): first,
                                                         ("bob", "hw"): [Flag("dynamic-code")]}
        # a regrade that finds nothing clears the submission's reasons, and says what was there
        assert replace_flag_reasons(connection, "hw", "ann", []) == first
        assert read_flag_reasons(connection, ["hw", "other"]) == {("bob", "hw"): [Flag("dynamic-code")]}
    engine.dispose()
    assert flag_reasons(first) == ["numpy-rebinding (solve_a:3): np.allclose = f",
                                   "changed at run time: numpy.allclose"]


def test_the_report_names_stored_reasons_without_a_grading_log():
    from grader.instructor.report.models import CellScore, GradebookSubmission

    flagged = GradebookSubmission("ann", "hw", 2.0, 2.0, [CellScore("test_a", 2.0, 2.0, True)], True, True)
    stored = {("ann", "hw"): [Flag("dynamic-code", "hw", "solve_a", 2, "eval")]}
    notes = grader_notes([flagged], {}, {}, stored, ["hw"])
    assert [(n.status, n.reasons) for n in notes] == [("flagged", ["dynamic-code (solve_a:2): eval"])]


# ---- no module writes into another module's names ----------------------------------------------------

#: Deliberate exceptions, as (file, the written name's dotted form): each says why.
ALLOWED_FOREIGN_WRITES = {
    # the forked child of the zygote becomes a new nbgrader process: its standard streams are the new
    # descriptors and its argv the request's (the interpreter's documented places for both; nbgrader and
    # the course's configuration read them as a fresh process's)
    ("grader/worker/zygote.py", "sys.stdin"),
    ("grader/worker/zygote.py", "sys.stdout"),
    ("grader/worker/zygote.py", "sys.stderr"),
    ("grader/worker/zygote.py", "sys.argv"),
    # the same for a kernel forked by the kernel server: its argv is the kernel's command line (what
    # ipykernel's app parses). It also resets, outside what this check sees, matplotlib's remembered
    # folders and the style library's user path, which the server's imports computed from its own
    # MPLCONFIGDIR (kernel_server._as_a_new_kernel)
    ("grader/sandbox/kernel_server.py", "sys.argv"),
}


def _imported_modules(tree: ast.AST, module_name: str) -> set[str]:
    """Names a module binds to modules: ``import x``, ``import x.y as z``, ``from p import module``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            package = importlib.util.resolve_name("." * node.level + (node.module or ""), module_name) \
                if node.level else node.module
            for alias in node.names:
                try:
                    found = getattr(importlib.import_module(package), alias.name, None)
                except ImportError:
                    found = None
                if isinstance(found, types.ModuleType):
                    names.add(alias.asname or alias.name)
    return names


def _module_aliases(tree: ast.AST, modules: set[str]) -> set[str]:
    """Local names bound to a module: ``m = pkg.sub`` (a dotted path from an imported module), names bound
    from ``sys.modules``, and loop variables over such names."""
    aliases = set()

    def from_module(value: ast.AST) -> bool:
        text = ast.unparse(value)
        root = text.split(".")[0].split("[")[0]
        return "sys.modules" in text or (isinstance(value, (ast.Attribute, ast.Name)) and
                                         (root in modules or root in aliases) and "(" not in text)

    changed = True
    while changed:
        changed = False
        for node in ast.walk(tree):
            targets, value = [], None
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, (ast.For, ast.comprehension)):
                targets, value = [node.target], node.iter
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and value is not None and from_module(value) and (
                            name.id not in aliases):
                        aliases.add(name.id)
                        changed = True
    return aliases


def _foreign_writes(path: Path) -> list[str]:
    relative = path.relative_to(ROOT).as_posix()
    module_name = relative[:-3].replace("/", ".").removesuffix(".__init__")
    tree = ast.parse(path.read_text())
    modules = _imported_modules(tree, module_name)
    foreign = modules | _module_aliases(tree, modules)
    writes = []
    for node in ast.walk(tree):
        for part in _assignment_targets(node):  # the flags' own reading of what a statement writes
            if isinstance(part, ast.Attribute) and isinstance(part.ctx, (ast.Store, ast.Del)) and (
                    _root_name(part) in foreign):
                writes.append(ast.unparse(part))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                "setattr", "delattr") and node.args and _root_name(node.args[0]) in foreign:
            writes.append(f"{node.func.id}({ast.unparse(node.args[0])}, ...)")
    return [write for write in writes if (relative, write) not in ALLOWED_FOREIGN_WRITES]


def test_no_module_of_grader_or_course_writes_into_another_modules_names():
    files = sorted(p for folder in ("grader", "course") for p in (ROOT / folder).rglob("*.py"))
    assert len(files) > 30
    found = {p.relative_to(ROOT).as_posix(): w for p in files if (w := _foreign_writes(p))}
    assert found == {}


def test_the_foreign_write_check_finds_what_it_must():
    sample = ROOT / "grader" / "_foreign_write_sample.py"
    sample.write_text("import sys\nimport numpy as np\nimport nbgrader.api\n"
                      "from nbgrader import preprocessors\n"
                      "np.allclose = None\nsetattr(preprocessors, 'x', 1)\n"
                      "def f(cls):\n    module = nbgrader.api\n    module.Gradebook = cls\n"
                      "    for m in list(sys.modules.values()):\n        m.y = 1\n"
                      "class A:\n    def g(self):\n        self.x = 1\n")
    try:
        assert sorted(_foreign_writes(sample)) == sorted(
            ["np.allclose", "setattr(preprocessors, ...)", "module.Gradebook", "m.y"])
    finally:
        sample.unlink()


def test_crash_causes_come_from_what_happened_not_from_the_log():
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbgrader.preprocessors.execute import UnresponsiveKernelError

    from grader.worker.execute import crash_cause
    from grader.worker.task import cause_before_execution

    assert crash_cause(DeadKernelError("gone"), kernel_ready=True) is CrashCause.KERNEL_DIED
    assert crash_cause(UnresponsiveKernelError(), kernel_ready=True) is CrashCause.KERNEL_UNRESPONSIVE
    assert crash_cause(CellTimeoutError("slow"), kernel_ready=True) is CrashCause.CELL_TIMEOUT
    assert crash_cause(TimeoutError(), kernel_ready=False) is CrashCause.KERNEL_START_TIMEOUT
    # a KeyError raised while running is the kernel's failure, not "cells deleted"
    assert crash_cause(KeyError("cells"), kernel_ready=True) is CrashCause.KERNEL_FAILED
    notebook = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])).encode()
    assert cause_before_execution(b"", []) is CrashCause.NOT_JSON
    assert cause_before_execution(b"\xff{", []) is CrashCause.NOT_JSON
    assert cause_before_execution(b'{"cells": 3, "nbformat": 4}', []) is CrashCause.NOT_A_NOTEBOOK
    assert cause_before_execution(notebook, [Flag("grade-cell-deleted", "hw", "test_a")]) is (
        CrashCause.CELLS_UNMATCHED)
    assert cause_before_execution(notebook, [Flag("dynamic-code")]) is CrashCause.NBGRADER_FAILED
    assert all(cause.description for cause in CrashCause)
