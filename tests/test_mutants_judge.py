"""The mutation harness through the judge's channel: the same verdicts and first messages as in one process.

Each entry runs twice: in one process (``tests.mutation.run_entry``) and split as grading splits it
(``run_entry_through_judge``: the notebook's code and the entry in a kernel side of their own, the
test cells in this process, reaching the graded names over the channel). Every test cell must give
the same verdict with the same message, for the visible tests and for all of them.

By default a sample runs (every ``SAMPLE_EVERY``-th entry of each assignment, the entries whose
checks rest on what only the kernel can observe, and every entry of the graded names in
:data:`ALWAYS`); ``COURSE_JUDGE_MUTANTS=all`` runs every entry (about twenty minutes on two busy cores).

Every test cell works through handles: 07's ``test_train_sgd`` hands ``train`` a spy
(:class:`course.spies.SpyModel`) that the judge makes in the kernel.
"""

import os

import pytest

from grader.judge.cells import judge_namespace
from grader.judge.remote import Handle
from tests.mutation import (
    correct_variants,
    judge_cells,
    kernel_forks,
    mutants,
    run_entry,
    run_entry_through_judge,
)
from tests.notebooks import assignment_ids, judge_cell, notebook_parts

SAMPLE_EVERY = 12
# Checks that rest on facts only the kernel observes (advisory under the judge): in-place changes
# (inside a cache tuple too), the memory peak.
KERNEL_REPORTED = {
    "05_maxpool:maxpool_backward:zeros_by_overwriting_x",
    "03_softmax:softmax_backward:batched_jacobian_einsum",
    "03_softmax:softmax_backward:one_jacobian_per_row",
}
# Graded names whose every entry runs, sampled or not: 07's train is checked with a spy that the judge
# makes in the kernel (course.spies), and that spy's records are kernel-reported too.
ALWAYS = {("07_cnn", "train")}


def _entries():
    everything = os.environ.get("COURSE_JUDGE_MUTANTS") == "all"
    chosen = []
    for assignment in assignment_ids():
        entries = [(e, "mutant") for e in mutants(assignment)]
        entries += [(e, "variant") for e in correct_variants(assignment)]
        chosen += [(e, kind) for index, (e, kind) in enumerate(entries)
                   if everything or index % SAMPLE_EVERY == 0 or e.label in KERNEL_REPORTED
                   or (e.assignment, e.target) in ALWAYS]
    return chosen


PARTS: dict = {}


@pytest.mark.parametrize(("entry", "kind"), _entries(), ids=lambda v: v.label if hasattr(v, "label") else v)
def test_the_judge_agrees_with_one_process(entry, kind):
    parts = PARTS.setdefault(entry.assignment, notebook_parts(entry.assignment))
    skip = frozenset()
    for visible_only in (True, False):
        stop = visible_only or kind == "mutant"
        alone = run_entry(entry, parts, stop, visible_only, skip)
        judged = run_entry_through_judge(entry, parts, stop, visible_only, skip)
        which = "visible tests" if visible_only else "all tests"
        assert judged.failures == alone.failures, (
            f"{entry.label}, {which}: in one process {alone.failures}, through the judge {judged.failures}"
        )


@pytest.mark.skipif("07_cnn" not in assignment_ids(), reason="07_cnn is not among the chosen assignments")
def test_train_s_spy_is_made_in_the_kernel_and_the_reference_passes_through_the_judge():
    assignment = "07_cnn"
    parts = notebook_parts(assignment)
    cells = judge_cells(assignment)
    kernel_code = [(f"{assignment}:{label}", source) for label, source in parts.definitions]
    with kernel_forks(assignment, parts.setup).kernel(kernel_code) as kernel:
        namespace = judge_namespace(cells, kernel.remote, label=assignment)
        assert isinstance(namespace["SpyModel"], Handle)  # the kernel's class, not the judge's
        test = next(test for test in cells.tests if test.grade_id == "test_train_sgd")
        reason = judge_cell(test.source, test.grade_id, namespace)
        del namespace
    assert reason is None, reason
