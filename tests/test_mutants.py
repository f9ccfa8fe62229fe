"""Every plausible wrong implementation fails a test cell; every correct one passes them all."""

import pytest

from tests.mutation import (
    MIN_CORRECT_VARIANTS,
    MIN_MUTANTS,
    correct_variants,
    defines,
    graded_names,
    mutants,
    outcome_record,
    reference_failures,
    run_entry,
)
from tests.notebooks import assignment_ids, notebook_parts

ASSIGNMENTS = assignment_ids()
PARTS = {a: notebook_parts(a) for a in ASSIGNMENTS}
MUTANTS = [e for a in ASSIGNMENTS for e in mutants(a)]
VARIANTS = [e for a in ASSIGNMENTS for e in correct_variants(a)]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_passes_every_test_cell(assignment):
    assert reference_failures(assignment) == {}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_name_has_enough_mutants_and_variants(assignment):
    names = graded_names(PARTS[assignment])
    assert names, f"{assignment} defines no graded names in its solution cells"
    for name in names:
        n_mutants = sum(e.target == name for e in MUTANTS if e.assignment == assignment)
        n_variants = sum(e.target == name for e in VARIANTS if e.assignment == assignment)
        assert n_mutants >= MIN_MUTANTS, f"{name}: {n_mutants} mutants, need {MIN_MUTANTS}"
        assert n_variants >= MIN_CORRECT_VARIANTS, (
            f"{name}: {n_variants} correct variants, need {MIN_CORRECT_VARIANTS}"
        )


@pytest.mark.parametrize("entry", MUTANTS + VARIANTS, ids=lambda e: e.label)
def test_entry_redefines_its_target(entry):
    assert defines(entry.source, entry.target), f"{entry.label} does not define {entry.target}"


@pytest.mark.parametrize("entry", MUTANTS, ids=lambda e: e.label)
def test_mutant_is_killed(entry, record_property):
    outcome = run_entry(entry, PARTS[entry.assignment], stop_at_first_failure=True)
    record_property(*outcome_record(outcome, "mutant"))
    assert outcome.killed, f"no test cell fails the mutant {entry.label}"


@pytest.mark.parametrize("entry", VARIANTS, ids=lambda e: e.label)
def test_correct_variant_passes(entry, record_property):
    outcome = run_entry(entry, PARTS[entry.assignment], stop_at_first_failure=False)
    record_property(*outcome_record(outcome, "variant"))
    assert not outcome.killed, f"{entry.label} is correct but fails {outcome.failures}"
