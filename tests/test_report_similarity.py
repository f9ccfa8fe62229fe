"""The similarity check of ``course report``, tuned and checked on the course's own answers.

For every assignment, three independent correct answers: the reference
solution, and two notebooks that take every graded name from the first or
the second correct variant of ``tests/mutants/<assignment>.py``. Each is
also handed in *disguised* (locals renamed, the functions of each cell
reordered, the code reformatted by ``ast.unparse``). The default threshold
must lie above every pair of independent answers and at or below every
answer/disguised-copy pair. No kernel, no nbgrader: a few seconds.
"""

from __future__ import annotations

import doctest
import itertools
import re

import pytest
from copydetect.utils import filter_code

from grader.instructor.report import failures, similarity
from grader.instructor.report.autograded import CELL_HEADER, own_code
from grader.instructor.report.similarity import (
    DEFAULT_THRESHOLD,
    boilerplate_hashes,
    compare,
    drop_common,
    filter_python,
    fingerprint,
    similar_pairs,
)
from tests.notebooks import assignment_ids, is_solution_cell, nbgrader_meta, read_notebook, release_path
from tests.report_class import disguised, solutions

ASSIGNMENTS = assignment_ids()
BASES = {"reference": None, "variants-1": 0, "variants-2": 1}


def _documents(assignment: str) -> tuple[dict[str, str], list[str]]:
    """Student -> own code as the report builds it; the given code of the solution cells."""
    given = {nbgrader_meta(c)["grade_id"]: c.source
             for c in read_notebook(release_path(assignment)).cells if is_solution_cell(c)}
    documents = {}
    for name, variant in BASES.items():
        cells = solutions(assignment, variant)
        for label, version in ((name, cells), (f"{name}-copy", disguised(cells, seed=len(name)))):
            documents[label] = "\n".join(f"{CELL_HEADER}{cell}\n{own_code(code, given[cell])}"
                                         for cell, code in version.items() if own_code(code, given[cell]))
    return documents, list(given.values())


def _similarities(assignment: str) -> tuple[dict, dict]:
    documents, given = _documents(assignment)
    boilerplate = boilerplate_hashes(given)
    prints = {name: fingerprint(code, name, boilerplate) for name, code in documents.items()}
    independent = {(a, b): compare(assignment, a, prints[a], b, prints[b])
                   for a, b in itertools.combinations(BASES, 2)}
    copies = {name: compare(assignment, name, prints[name], f"{name}-copy", prints[f"{name}-copy"])
              for name in BASES}
    return independent, copies


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_independent_correct_answers_stay_below_the_threshold(assignment):
    independent, _ = _similarities(assignment)
    for (a, b), pair in independent.items():
        assert pair.similarity < DEFAULT_THRESHOLD, (
            f"{assignment}: the independent answers {a} and {b} are {pair.similarity:.2f} alike")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_renamed_and_reordered_copies_reach_the_threshold(assignment):
    _, copies = _similarities(assignment)
    for name, pair in copies.items():
        assert pair.similarity >= DEFAULT_THRESHOLD, (
            f"{assignment}: {name} and its disguised copy are only {pair.similarity:.2f} alike")
        assert pair.matched_lines_a and pair.matched_lines_b
        assert max(pair.matched_lines_a) <= pair.code_a.count("\n") + 1
        assert max(pair.matched_lines_b) <= pair.code_b.count("\n") + 1


def test_similar_pairs_finds_exactly_the_copies():
    documents, given = _documents("05_maxpool")
    boilerplate = boilerplate_hashes(given)
    prints = {name: fingerprint(code, name, boilerplate) for name, code in documents.items()}
    pairs, screened_out, common = similar_pairs("05_maxpool", prints)
    found = {frozenset((p.student_a, p.student_b)) for p in pairs}
    assert found == {frozenset((name, f"{name}-copy")) for name in BASES}
    assert screened_out == 0 and common == 0  # six submissions: too few for either


def test_what_most_of_a_large_class_wrote_is_not_a_copy():
    """MOSS's -m: the fingerprints that more than COMMON_MIN submissions hold are dropped, no others."""
    documents, given = _documents("05_maxpool")
    boilerplate = boilerplate_hashes(given)
    reference = documents["reference"]
    prints = {f"s{i:02d}": fingerprint(reference, f"s{i:02d}", boilerplate) for i in range(12)}
    prints["other"] = fingerprint(documents["variants-1"], "other", boilerplate)
    shared = set.intersection(*(prints[f"s{i:02d}"].hashes for i in range(12)))
    own = prints["other"].hashes - shared
    assert shared and own
    assert drop_common(prints) >= len(shared)
    assert not any(fp.hashes & shared for fp in prints.values())
    assert prints["other"].hashes == own


def _strings_as_one(filtered: str) -> str:
    # pygments splits f-strings, escapes and implicitly joined literals into several tokens; the
    # standard tokenizer keeps each literal whole
    return re.sub(r'(S?"[^"]*")+', '"S"', filtered)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_fast_filter_reads_code_as_copydetect_does(assignment):
    for variant in BASES.values():
        cells = solutions(assignment, variant)
        for code in [*cells.values(), *disguised(cells, seed=1).values()]:
            expected, _ = filter_code(code, "x.py", "python")
            got, offsets = filter_python(code)
            assert _strings_as_one(got) == _strings_as_one(expected)
            assert offsets[-1][1] <= len(code)


def test_the_fast_filter_copes_with_code_whose_given_lines_were_removed():
    code = "def f(x):\n    '''Doc.'''\n    y = x + 1\n    return y\n"
    part = own_code(code, "def f(x):\n    '''Doc.'''\n")
    assert filter_python(part)[0] == "V=V+1returnV"


@pytest.mark.parametrize("module", [similarity, failures], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0
