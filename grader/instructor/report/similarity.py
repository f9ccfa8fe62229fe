"""Which submissions look alike beyond what the release notebook gives everyone.

Each submission of an assignment becomes one document: the code of its
solution cells with the given lines removed (:func:`own_code`). It is
fingerprinted the way copydetect (MOSS's winnowing) does it, after a filter
that replaces every identifier by one symbol per token type, so renamed
variables and functions do not change a fingerprint; fingerprints are a set,
so reordered functions keep theirs. Two things differ from copydetect's own
``CodeFingerprint``, for speed and reproducibility: the filter
(:func:`filter_python`, the same output without pygments) and the k-gram
hash (CRC-32, not Python's per-process salted ``hash``). copydetect's
``winnow`` and ``compare_files`` do the rest. The given code's fingerprints
are subtracted as copydetect's boilerplate, and so are those that a large
share of the class holds (MOSS's ``-m``: the obvious answer is not evidence
of copying).

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

import builtins
import keyword
import re
import zlib

import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import get_token_coverage, winnow

from grader.instructor.report.models import SimilarPair

__all__ = ["DEFAULT_THRESHOLD", "NOISE_CHARS", "GUARANTEE_CHARS", "fingerprint", "boilerplate_hashes",
           "drop_common", "similar_pairs", "compare", "MAX_PAIRS"]

# k-grams of the filtered code (identifiers are one character "V"/"F", whitespace is gone): 25 characters
# are about one line of numpy, so a single shared line such as `V=V.V(V,0)` never counts on its own
NOISE_CHARS = 25
GUARANTEE_CHARS = 30
DEFAULT_THRESHOLD = 0.5
# fingerprints held by more than this share of a class (and more than COMMON_MIN submissions) are ignored
COMMON_SHARE = 0.2
COMMON_MIN = 10
# at most this many candidate pairs per assignment get copydetect's exact comparison (most similar first)
MAX_PAIRS = 2000


_KEPT_NAMES = frozenset(dir(builtins)) | {"self", "cls"}
# One pass of one regular expression: Python's tokenize module was 5 times slower, and it refuses code
# whose given lines were removed (indentation no longer matches); this never refuses anything.
_TOKENS = re.compile(r"""
 (?P<space>[ \t\f\r\n]+|\\\r?\n)
|(?P<comment>\#[^\r\n]*)
|(?P<string>[rRbBuUfF]{0,2}(?:'''[\s\S]*?(?:'''|\Z)|\"\"\"[\s\S]*?(?:\"\"\"|\Z)
    |'(?:[^'\\\n]|\\.)*(?:'|$)|"(?:[^"\\\n]|\\.)*(?:"|$)))
|(?P<name>[^\W\d]\w*)
|(?P<number>0[xXoObB][\da-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?)
|(?P<op>\*\*=?|//=?|>>=?|<<=?|->|:=|[-+*/%@&|^=<>!]=|\.\.\.|.)
""", re.VERBOSE | re.MULTILINE)


def filter_python(code: str) -> tuple[str, np.ndarray]:
    r"""copydetect's token filter for Python, without pygments.

    The same output as ``copydetect.utils.filter_code(code, "x.py")`` except
    inside f-strings and escapes: a variable or attribute becomes ``V``, a
    name after ``def`` ``F``, after ``class`` ``O``, a string's body ``S``;
    keywords, builtins, module names of imports, numbers and operators stay;
    whitespace and comments go. The offsets map positions of the filtered
    text back to ``code`` as copydetect's do. pygments' lexer, which copydetect
    uses, is many times slower: it was most of a large class's report.

    Examples
    --------
    >>> filter_python("def relu(x):\n    out = np.maximum(x, 0)  # clip\n    return out")[0]
    'defF(V):V=V.V(V,0)returnV'
    """
    pieces: list[str] = []
    length = removed = 0
    offsets = [[0, 0]]
    previous = ""
    depth = 0  # brackets open: a newline inside them does not end a statement
    importing = ""  # "module": names are kept (pygments' Name.Namespace); "names": after from-import

    def replace(symbol: str, span: int) -> None:
        nonlocal length, removed
        pieces.append(symbol)
        length += 1
        offsets.append([length - 1, removed])
        removed += span - 1

    for match in _TOKENS.finditer(code):
        kind, text = match.lastgroup, match.group()
        if kind == "space" or kind == "comment":
            offsets.append([length - 1, removed])
            removed += len(text)
            if importing and depth == 0 and "\n" in text and not text.startswith("\\"):
                importing = ""
            continue
        if kind == "string":
            body_start = len(text) - len(text.lstrip("rRbBuUfF"))
            if text[body_start:body_start + 3] in ('"""', "'''"):
                replace("S", len(text))
            else:
                if body_start:
                    replace("S", body_start)
                pieces.append('"')
                length += 1
                if len(text) - body_start > 2:
                    replace("S", len(text) - body_start - 2)
                pieces.append('"')
                length += 1
            previous = text
            continue
        symbol = None
        if kind == "name":
            if keyword.iskeyword(text):
                if text in ("import", "from"):
                    importing = "names" if (text == "import" and importing == "module") else "module"
            elif importing != "module" and (text not in _KEPT_NAMES or previous == "."):
                symbol = "F" if previous == "def" else "O" if previous == "class" else "V"
        elif text in "([{":
            depth += 1
        elif text in ")]}":
            depth = max(0, depth - 1)
        if symbol is None:
            pieces.append(text)
            length += len(text)
        else:
            replace(symbol, len(text))
        previous = text
    return "".join(pieces), np.array(offsets)


def _kgram_hashes(filtered: str) -> np.ndarray:
    """CRC-32 of every k-gram: the same in every process and every run, unlike Python's ``hash``,
    which copydetect uses and which is salted per process (shares would differ from run to run)."""
    data = filtered.encode("ascii", "replace")
    return np.array([zlib.crc32(data[i:i + NOISE_CHARS]) for i in range(len(data) - NOISE_CHARS + 1)],
                    dtype=np.int64)


def fingerprint(code: str, name: str, boilerplate: np.ndarray | None = None,
                window: int = GUARANTEE_CHARS - NOISE_CHARS + 1) -> CodeFingerprint:
    """copydetect's fingerprint of Python ``code``: :func:`filter_python`, k-grams, winnowing.

    What ``copydetect.CodeFingerprint`` computes, with stable k-gram hashes
    (:func:`_kgram_hashes`), so it compares with copydetect's ``compare_files``.

    Parameters
    ----------
    code : str
        The student's own code.
    name : str
        A label (copydetect's file name).
    boilerplate : ndarray of int64, optional
        Hashes to leave out (:func:`boilerplate_hashes`).
    window : int
        Winnowing window; 1 keeps every k-gram.
    """
    filtered, offsets = filter_python(code)
    hashes = _kgram_hashes(filtered)
    if window > 1 and len(hashes):
        hashes, positions = winnow(hashes, window, remove_duplicates=False)
    else:
        positions = np.arange(len(hashes))
    if boilerplate is not None and len(boilerplate) and len(hashes):
        keep = ~np.isin(hashes, boilerplate)
        hashes, positions = hashes[keep], positions[keep]
    hash_idx: dict[int, list[int]] = {}
    for value, position in zip(hashes.tolist(), positions.tolist(), strict=True):
        hash_idx.setdefault(value, []).append(position)
    result = CodeFingerprint.__new__(CodeFingerprint)
    result.filename, result.raw_code, result.filtered_code = f"{name}.py", code, filtered
    result.offsets, result.hashes, result.hash_idx, result.k = offsets, set(hash_idx), hash_idx, NOISE_CHARS
    result.token_coverage = get_token_coverage(hash_idx, NOISE_CHARS, len(filtered))
    return result


def boilerplate_hashes(given_code: list[str]) -> np.ndarray:
    """Every k-gram hash of the given code (copydetect's boilerplate: window 1, nothing winnowed)."""
    hashes: set[int] = set()
    for code in given_code:
        hashes |= fingerprint(code, "given", window=1).hashes
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


def drop_common(prints: dict[str, CodeFingerprint]) -> int:
    """Forget the fingerprints that many submissions hold; returns how many were dropped.

    MOSS's ``-m``: what more than :data:`COMMON_SHARE` of a large class wrote
    (at least :data:`COMMON_MIN` submissions) is the obvious answer, not a
    copy. In a class of ten nothing is dropped, so a code that three of them
    share stays visible. Each fingerprint's ``token_coverage`` (the
    denominator of copydetect's share) is left as it was: two students who
    both wrote the obvious answer share little *beyond* it, and their share
    stays small.
    """
    held: dict[int, int] = {}
    for fp in prints.values():
        for h in fp.hashes:
            held[h] = held.get(h, 0) + 1
    limit = max(COMMON_MIN, COMMON_SHARE * len(prints))
    common = {h for h, n in held.items() if n > limit}
    if common:
        for fp in prints.values():
            mine = fp.hashes & common
            if mine:
                fp.hashes -= mine
                for h in mine:
                    del fp.hash_idx[h]
    return len(common)


def similar_pairs(assignment: str, prints: dict[str, CodeFingerprint],
                  threshold: float = DEFAULT_THRESHOLD) -> tuple[list[SimilarPair], int, int]:
    """Pairs of students whose own code of ``assignment`` is at least ``threshold`` alike.

    Parameters
    ----------
    prints : dict
        Student -> :func:`fingerprint` of the own code of the solution cells (given lines removed,
        given code as boilerplate); submissions with no own code are skipped.

    Returns
    -------
    pairs : list of SimilarPair
        Most similar first.
    screened_out : int
        Candidate pairs beyond :data:`MAX_PAIRS` that were not compared (0 unless a class is
        mostly one code).
    common : int
        Fingerprints ignored because much of the class holds them (:func:`drop_common`).
    """
    sizes_before = {s: len(fp.hashes) for s, fp in prints.items()}
    common = drop_common(prints)
    students = sorted(s for s, fp in prints.items() if fp.hashes)
    sizes = np.array([max(sizes_before[s], 1) for s in students], dtype=np.float32)
    if len(students) < 2:
        return [], 0, common
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
    return pairs, screened_out, common
