"""The mutation harness: do the tests fail wrong answers and pass right ones?

For each assignment, ``tests/mutants/<assignment>.py`` defines two dicts,
keyed by graded name (a top-level function or class of a solution cell)::

    MUTANTS = {"relu_backward": {"gradient_one_at_zero": '''def relu_backward...'''}}
    CORRECT_VARIANTS = {"relu_backward": {"where_instead_of_mask": '''...'''}}

Each entry is complete source code that redefines the graded name as a
student might. The harness runs the source notebook's setup, solution and
given cells, then the entry's code (so it replaces the reference, and every
other solution that calls it now calls it), then the test cells in order.
A mutant is *killed* when some test cell fails; a correct variant must pass
every test cell.

Visible tests come first: a mutant should be caught by what the student's
release shows (the test cells without their hidden regions), so that the
student learns of the mistake before grading. A mutant that only the hidden
tests catch (another shape, a random input, hard-coding) must say so in the
mutant file, with the reason a visible test cannot catch it without giving the
answer away::

    HIDDEN_ONLY = {"affine_backward": {"hard_coded_shapes": "a visible test would show the shape"}}

At most 5 % of a notebook's mutants may be hidden-only. A mutant whose answer
is an exact rescaling or sign flip of the right one is listed with its
relation, and the first failure message must name it::

    EXACT_RELATIONS = {"mse_loss": {"forgot_batch_mean": "scale", "flipped_sign": "sign"}}

A mutant that a particular test cell must fail by itself (so that the cell does not give its points
to it, even when an earlier cell already kills it) is listed with those cells' grade ids; they must
fail it in their visible part unless the mutant is hidden-only::

    MUST_FAIL = {"Value": {"zero_forward": ["test_value_local_gradients"]}}
"""

from __future__ import annotations

import ast
import atexit
import functools
import importlib.util
import sys
from dataclasses import dataclass
from types import ModuleType

from grader.judge.cells import InstructorCells, instructor_cells, judge_namespace
from grader.judge.cells import graded_names as judge_graded_names
from grader.judge.subprocess_kernel import KernelForks
from grader.nbgrader_terms import grade_id
from tests.notebooks import (
    ROOT,
    NotebookParts,
    fresh_namespace,
    is_solution_cell,
    judge_cell,
    notebook_parts,
    read_notebook,
    run_test_cell,
    source_path,
)

MUTANTS_DIR = ROOT / "tests" / "mutants"
MIN_MUTANTS = 5
# A derivation exercise's answer (a solution cell whose grade id starts with DERIVATION_PREFIX) is a
# small formula, index set or number: fewer distinct plausible mistakes than a layer.
DERIVATION_PREFIX = "derive_"
MIN_DERIVATION_MUTANTS = 3
MIN_CORRECT_VARIANTS = 2
MAX_HIDDEN_ONLY_FRACTION = 0.05
# What the first failure message of an exact-relation mutant must contain (course.testing's wording).
RELATION_PHRASES = {"scale": "times the right", "sign": "opposite sign"}


@dataclass(frozen=True)
class Entry:
    assignment: str
    target: str
    name: str
    source: str

    @property
    def label(self) -> str:
        return f"{self.assignment}:{self.target}:{self.name}"


@dataclass
class Outcome:
    entry: Entry
    failures: dict[str, str]  # grade_id -> reason, for the cells that failed, in notebook order
    visible_only: bool = False

    @property
    def killed(self) -> bool:
        return bool(self.failures)

    @property
    def first_message(self) -> str:
        return next(iter(self.failures.values()), "")


def load_mutant_module(assignment: str) -> ModuleType:
    path = MUTANTS_DIR / f"{assignment}.py"
    if not path.exists():
        raise FileNotFoundError(f"{assignment} has no mutant file {path.relative_to(ROOT)}")
    spec = importlib.util.spec_from_file_location(f"mutants_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _entries(assignment: str, table: dict[str, dict[str, str]]) -> list[Entry]:
    return [
        Entry(assignment, target, name, source)
        for target, by_name in table.items()
        for name, source in by_name.items()
    ]


def mutants(assignment: str) -> list[Entry]:
    return _entries(assignment, load_mutant_module(assignment).MUTANTS)


def correct_variants(assignment: str) -> list[Entry]:
    return _entries(assignment, load_mutant_module(assignment).CORRECT_VARIANTS)


def _labelled(assignment: str, table_name: str) -> dict[str, str]:
    table = getattr(load_mutant_module(assignment), table_name, {})
    return {f"{assignment}:{target}:{name}": value for target, by_name in table.items()
            for name, value in by_name.items()}


def hidden_only(assignment: str) -> dict[str, str]:
    """Mutants only the hidden tests catch, by label, with the reason."""
    return _labelled(assignment, "HIDDEN_ONLY")


def exact_relations(assignment: str) -> dict[str, str]:
    """Mutants that are an exact rescaling ("scale") or sign flip ("sign") of the right answer."""
    relations = _labelled(assignment, "EXACT_RELATIONS")
    unknown = {label: r for label, r in relations.items() if r not in RELATION_PHRASES}
    if unknown:
        raise ValueError(f"EXACT_RELATIONS values must be one of {sorted(RELATION_PHRASES)}: {unknown}")
    return relations


def must_fail(assignment: str) -> dict[str, list[str]]:
    """Per mutant label, the grade ids of the test cells that must each fail it."""
    return _labelled(assignment, "MUST_FAIL")


def graded_names_by_cell(assignment: str) -> list[tuple[str, str]]:
    """(grade id, name) of each public top-level function and class of the solution cells, in order."""
    cells = [cell for cell in read_notebook(source_path(assignment)).cells if is_solution_cell(cell)]
    return [(grade_id(cell) or "", name) for cell in cells for name in judge_graded_names([cell.source])]


def graded_names(parts: NotebookParts) -> list[str]:
    """Public top-level functions and classes defined in the solution cells."""
    return [name for _, name in graded_names_by_cell(parts.assignment)]


def min_mutants(assignment: str, name: str) -> int:
    """How many mutants ``name`` needs: fewer for a derivation exercise's answer."""
    cells = {n: cell_id for cell_id, n in graded_names_by_cell(assignment)}
    return MIN_DERIVATION_MUTANTS if cells.get(name, "").startswith(DERIVATION_PREFIX) else MIN_MUTANTS


def defines(source: str, name: str) -> bool:
    tree = ast.parse(source)
    return any(
        isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name
        for node in tree.body
    )


def run_entry(
    entry: Entry, parts: NotebookParts, stop_at_first_failure: bool, visible_only: bool = False,
    skip: frozenset[str] = frozenset(),
) -> Outcome:
    """Run the test cells against the notebook with ``entry`` swapped in.

    With ``visible_only``, only the parts of the test cells that the release shows. The test cells
    whose grade ids are in ``skip`` are not run.
    """
    namespace = fresh_namespace(parts, entry.source, extra_label=entry.label)
    failures: dict[str, str] = {}
    modules_before = set(sys.modules)
    for test in (t for t in parts.tests if t.grade_id not in skip):
        reason = run_test_cell(test, namespace, visible_only=visible_only)
        if reason is not None:
            failures[test.grade_id] = reason
            if stop_at_first_failure:
                break
    # a mutant must not leave imports behind that change later runs
    for module in set(sys.modules) - modules_before:
        if module.startswith("mutants_"):
            del sys.modules[module]
    return Outcome(entry, failures, visible_only)


def run_entry_through_judge(
    entry: Entry, parts: NotebookParts, stop_at_first_failure: bool, visible_only: bool = False,
    skip: frozenset[str] = frozenset(),
) -> Outcome:
    """:func:`run_entry`, with the judge's split: the notebook's code and the entry run in a kernel
    side of their own (a subprocess), the test cells in this process, reaching the graded names
    through the judge's channel (:mod:`grader.judge`)."""
    cells = judge_cells(parts.assignment)
    kernel_code = [(f"{parts.assignment}:{label}", source) for label, source in parts.definitions]
    kernel_code.append((entry.label, entry.source))
    failures: dict[str, str] = {}
    with kernel_forks(parts.assignment, parts.setup).kernel(kernel_code) as kernel:
        namespace = judge_namespace(cells, kernel.remote, label=parts.assignment)
        for test in (t for t in cells.tests if t.grade_id not in skip):
            reason = judge_cell(test.visible if visible_only else test.source, test.grade_id, namespace)
            if reason is not None:
                failures[test.grade_id] = reason
                if stop_at_first_failure:
                    break
        del namespace
    return Outcome(entry, failures, visible_only)


@functools.cache
def kernel_forks(assignment: str, setup: str) -> KernelForks:
    """A process that ran the assignment's setup cell and forks a kernel side per entry (closed at exit)."""
    forks = KernelForks([(f"{assignment}:setup", setup)])
    atexit.register(forks.close)
    return forks


@functools.cache
def judge_cells(assignment: str) -> InstructorCells:
    return instructor_cells(read_notebook(source_path(assignment)))


def reference_failures(assignment: str) -> dict[str, str]:
    """Test cells the untouched reference solution fails (should be none)."""
    parts = notebook_parts(assignment)
    namespace = fresh_namespace(parts)
    failures = {}
    for test in parts.tests:
        reason = run_test_cell(test, namespace)
        if reason is not None:
            failures[test.grade_id] = reason
    return failures


# Filled from the test reports (conftest.py, also under pytest-xdist), printed at the end of the run.
RESULTS: list[dict] = []
PROPERTY = "mutation outcome"


def outcome_record(outcome: Outcome, kind: str) -> tuple[str, dict]:
    """What a mutation test attaches to its report: ``record_property(*outcome_record(...))``."""
    return PROPERTY, {
        "assignment": outcome.entry.assignment,
        "kind": kind,
        "label": outcome.entry.label,
        "killed": bool(outcome.killed),
        "by_visible": bool(outcome.killed and outcome.visible_only),
        "failures": str(outcome.failures),
    }


def collect(report) -> None:
    """Keep the mutation outcomes of one test report (its user_properties)."""
    RESULTS.extend(value for name, value in report.user_properties if name == PROPERTY)


def summary_lines() -> list[str]:
    lines = []
    for assignment in sorted({r["assignment"] for r in RESULTS}):
        mutant_outcomes = [r for r in RESULTS if r["assignment"] == assignment and r["kind"] == "mutant"]
        variant_outcomes = [r for r in RESULTS if r["assignment"] == assignment and r["kind"] == "variant"]
        killed = sum(r["killed"] for r in mutant_outcomes)
        by_visible = sum(r["by_visible"] for r in mutant_outcomes)
        passed = sum(not r["killed"] for r in variant_outcomes)
        lines.append(
            f"{assignment}: mutants killed by the visible tests {by_visible}/{len(mutant_outcomes)}, "
            f"by visible + hidden {killed}/{len(mutant_outcomes)}; "
            f"correct variants passed {passed}/{len(variant_outcomes)}"
        )
        for r in mutant_outcomes:
            if not r["killed"]:
                lines.append(f"    SURVIVED {r['label']}")
            elif not r["by_visible"]:
                lines.append(f"    only grading catches {r['label']}")
        for r in variant_outcomes:
            if r["killed"]:
                lines.append(f"    REJECTED {r['label']}: {r['failures']}")
    return lines
