"""Every plausible wrong implementation fails a test cell; every correct one passes them all."""

import pytest

from tests.mutation import (
    MAX_HIDDEN_ONLY_FRACTION,
    MIN_CORRECT_VARIANTS,
    RELATION_PHRASES,
    correct_variants,
    defines,
    exact_relations,
    graded_names,
    hidden_only,
    min_mutants,
    must_fail,
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
HIDDEN_ONLY = {label: reason for a in ASSIGNMENTS for label, reason in hidden_only(a).items()}
EXACT_RELATIONS = {label: r for a in ASSIGNMENTS for label, r in exact_relations(a).items()}
MUST_FAIL = {label: cells for a in ASSIGNMENTS for label, cells in must_fail(a).items()}


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
        needed = min_mutants(assignment, name)
        assert n_mutants >= needed, f"{name}: {n_mutants} mutants, need {needed}"
        assert n_variants >= MIN_CORRECT_VARIANTS, (
            f"{name}: {n_variants} correct variants, need {MIN_CORRECT_VARIANTS}"
        )


@pytest.mark.parametrize("entry", MUTANTS + VARIANTS, ids=lambda e: e.label)
def test_entry_redefines_its_target(entry):
    assert defines(entry.source, entry.target), f"{entry.label} does not define {entry.target}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_marks_name_existing_mutants_and_few_are_hidden_only(assignment):
    labels = {e.label for e in MUTANTS if e.assignment == assignment}
    marked = set(hidden_only(assignment)) | set(exact_relations(assignment)) | set(must_fail(assignment))
    assert marked <= labels, f"marks name no mutant: {sorted(marked - labels)}"
    allowed = MAX_HIDDEN_ONLY_FRACTION * len(labels)
    assert len(hidden_only(assignment)) <= allowed, (
        f"{len(hidden_only(assignment))} of {len(labels)} mutants are hidden-only; at most "
        f"{MAX_HIDDEN_ONLY_FRACTION:.0%} may be: a student should meet the mistake in a visible test"
    )


@pytest.mark.parametrize("entry", MUTANTS, ids=lambda e: e.label)
def test_mutant_is_killed(entry, record_property):
    """Killed by the visible tests, or, where marked hidden-only, by grading."""
    outcome = run_entry(entry, PARTS[entry.assignment], stop_at_first_failure=True, visible_only=True)
    if not outcome.killed:
        outcome = run_entry(entry, PARTS[entry.assignment], stop_at_first_failure=True)
    record_property(*outcome_record(outcome, "mutant"))
    assert outcome.killed, f"no test cell fails the mutant {entry.label}"
    if outcome.visible_only:
        assert entry.label not in HIDDEN_ONLY, (
            f"{entry.label} is marked hidden-only, but a visible test catches it: remove the mark"
        )
    else:
        assert entry.label in HIDDEN_ONLY, (
            f"only the hidden tests catch {entry.label} ({outcome.first_message}); add a visible test "
            "that does, or mark it in HIDDEN_ONLY with the reason a visible test cannot"
        )
    relation = EXACT_RELATIONS.get(entry.label)
    if relation:
        assert RELATION_PHRASES[relation] in outcome.first_message, (
            f"{entry.label} is an exact {relation} of the right answer, but the first message does "
            f"not say so ({RELATION_PHRASES[relation]!r}): {outcome.first_message}"
        )


@pytest.mark.parametrize("entry", [e for e in MUTANTS if e.label in MUST_FAIL], ids=lambda e: e.label)
def test_mutant_fails_each_cell_named_for_it(entry):
    """Each cell in MUST_FAIL fails the mutant on its own (in its visible part unless hidden-only)."""
    visible_only = entry.label not in HIDDEN_ONLY
    outcome = run_entry(entry, PARTS[entry.assignment], stop_at_first_failure=False,
                        visible_only=visible_only)
    passed = [cell for cell in MUST_FAIL[entry.label] if cell not in outcome.failures]
    assert not passed, (
        f"{entry.label} passes {passed} ({'visible part' if visible_only else 'hidden tests included'}), "
        "which would give it those cells' points"
    )


@pytest.mark.parametrize("entry", VARIANTS, ids=lambda e: e.label)
def test_correct_variant_passes(entry, record_property):
    outcome = run_entry(entry, PARTS[entry.assignment], stop_at_first_failure=False)
    record_property(*outcome_record(outcome, "variant"))
    assert not outcome.killed, f"{entry.label} is correct but fails {outcome.failures}"
