"""Which submissions look alike beyond what the release notebook gives everyone.

Each submission of an assignment becomes one document: the code of its
solution cells with the given lines removed (:func:`own_code`). copydetect
(MOSS's winnowing) fingerprints it after its tokenizer has replaced every
identifier by one symbol per token type, so renamed variables and functions
do not change a fingerprint; a fingerprint is a set, so reordered functions
keep theirs. The given code's fingerprints are subtracted as copydetect's
boilerplate.

A pair is reported when both students' *smaller* share of code found in
the other one reaches the threshold (default :data:`DEFAULT_THRESHOLD`).
The smaller share, because one short function shared by two long
submissions is how independent correct answers of a short exercise look;
copying makes most of both documents the same. How the default was chosen
is in ``docs/report.md`` (``tests/test_report_similarity.py`` keeps it true).

All pairs of a class are screened at once: a matrix of which fingerprints
each document holds gives every pair's count of shared fingerprints in one
product; copydetect's exact comparison (and its matching slices) runs only
on the pairs that can reach the threshold.
"""

from __future__ import annotations

import io

import numpy as np
from copydetect import CodeFingerprint, compare_files

from course.grading.report.models import SimilarPair

__all__ = ["DEFAULT_THRESHOLD", "NOISE_CHARS", "GUARANTEE_CHARS", "fingerprint", "similar_pairs",
           "compare", "MAX_PAIRS"]

# k-grams of the filtered code (identifiers are one character "V"/"F", whitespace is gone): 25 characters
# are about one line of numpy, so a single shared line such as `V=V.V(V,0)` never counts on its own
NOISE_CHARS = 25
GUARANTEE_CHARS = 30
DEFAULT_THRESHOLD = 0.5
# at most this many candidate pairs per assignment get copydetect's exact comparison (most similar first)
MAX_PAIRS = 2000


def fingerprint(code: str, name: str, boilerplate=None) -> CodeFingerprint:
    """copydetect's fingerprint of Python ``code`` (``name`` only labels it)."""
    return CodeFingerprint(f"{name}.py", NOISE_CHARS, GUARANTEE_CHARS - NOISE_CHARS + 1,
                           boilerplate=boilerplate, language="python", fp=io.StringIO(code))


def boilerplate_hashes(given_code: list[str]) -> np.ndarray:
    """Every k-gram hash of the given code (copydetect's boilerplate: window 1, nothing winnowed)."""
    hashes: set[int] = set()
    for code in given_code:
        fp = CodeFingerprint("given.py", NOISE_CHARS, 1, language="python", fp=io.StringIO(code))
        hashes |= fp.hashes
    return np.array(sorted(hashes), dtype=np.int64)


def _matched_lines(code: str, slices: np.ndarray) -> list[int]:
    lines: set[int] = set()
    if len(slices) == 0 or slices.size == 0:
        return []
    for start, end in zip(slices[0], slices[1], strict=True):
        first = code.count("\n", 0, int(start)) + 1
        last = code.count("\n", 0, max(int(end) - 1, int(start))) + 1
        lines.update(range(first, last + 1))
    return sorted(lines)


def compare(assignment: str, student_a: str, fp_a: CodeFingerprint, student_b: str,
            fp_b: CodeFingerprint) -> SimilarPair:
    """copydetect's comparison of two fingerprinted submissions, with the matching lines."""
    overlap, (share_a, share_b), (slices_a, slices_b) = compare_files(fp_a, fp_b)
    return SimilarPair(assignment, student_a, student_b, float(share_a), float(share_b), int(overlap),
                       fp_a.raw_code, fp_b.raw_code, _matched_lines(fp_a.raw_code, slices_a),
                       _matched_lines(fp_b.raw_code, slices_b))


def _shared_counts(hash_sets: list[set[int]]) -> np.ndarray:
    """(n, n) counts of fingerprints shared by each pair of documents."""
    seen: dict[int, int] = {}
    for hashes in hash_sets:
        for h in hashes:
            seen[h] = seen.get(h, 0) + 1
    # a fingerprint only one document holds cannot be shared: leave it out of the matrix
    columns = {h: i for i, h in enumerate(h for h, n in seen.items() if n > 1)}
    rows, cols = [], []
    for row, hashes in enumerate(hash_sets):
        for h in hashes:
            column = columns.get(h)
            if column is not None:
                rows.append(row)
                cols.append(column)
    rows, cols = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
    n = len(hash_sets)
    counts = np.zeros((n, n), dtype=np.float32)
    chunk = 4096  # columns per product: memory n x chunk, not n x all fingerprints
    for start in range(0, len(columns), chunk):
        inside = (cols >= start) & (cols < start + chunk)
        block = np.zeros((n, min(chunk, len(columns) - start)), dtype=np.float32)
        block[rows[inside], cols[inside] - start] = 1.0
        counts += block @ block.T
    return counts


def similar_pairs(assignment: str, codes: dict[str, str], given_code: list[str],
                  threshold: float = DEFAULT_THRESHOLD) -> tuple[list[SimilarPair], int]:
    """Pairs of students whose own code of ``assignment`` is at least ``threshold`` alike.

    Parameters
    ----------
    codes : dict
        Student -> own code of the solution cells (given lines removed); empty strings are skipped.
    given_code : list of str
        The release code of the solution cells, subtracted as boilerplate.

    Returns
    -------
    pairs : list of SimilarPair
        Most similar first.
    screened_out : int
        Candidate pairs beyond :data:`MAX_PAIRS` that were not compared (0 unless a class is
        mostly one code).
    """
    boilerplate = boilerplate_hashes(given_code)
    students = sorted(s for s, code in codes.items() if code.strip())
    prints = {s: fingerprint(codes[s], s, boilerplate) for s in students}
    sizes = np.array([max(len(prints[s].hashes), 1) for s in students], dtype=np.float32)
    if len(students) < 2:
        return [], 0
    shared = _shared_counts([prints[s].hashes for s in students])
    # the share of fingerprints is a close estimate of copydetect's share of tokens; screen generously
    estimate = np.minimum(shared / sizes[:, None], shared / sizes[None, :])
    rows, cols = np.nonzero(np.triu(estimate >= threshold / 2, k=1))
    order = np.argsort(-estimate[rows, cols], kind="stable")
    screened_out = max(0, len(order) - MAX_PAIRS)
    pairs = []
    for i in order[:MAX_PAIRS]:
        a, b = students[rows[i]], students[cols[i]]
        pair = compare(assignment, a, prints[a], b, prints[b])
        if pair.similarity >= threshold:
            pairs.append(pair)
    pairs.sort(key=lambda p: (-p.similarity, p.student_a, p.student_b))
    return pairs, screened_out
