"""How much of a solution a student can read before writing any code.

The measure of issue 22 ("the third edition"), kept so that a later edit cannot slip a solution back
into view:

* **The solution side:** every line of the source notebook between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``, with its comment dropped, kept when it has at least 12 characters once
  whitespace is removed; the kept lines of the whole notebook, in order, tokenized with Python's
  :mod:`tokenize`, keeping NAME, OP and NUMBER tokens.
* **The release side:** every cell of the release notebook (markdown, code, docstrings, test cells),
  each markdown ``<details>…</details>`` block removed, split into word and punctuation tokens
  (``\\w+|[^\\w\\s]``).
* **The share:** the fraction of the solution's distinct token 6-grams that also occur in the release.

``python -m tests.solution_visibility [assignment ...]`` prints the shares.
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from collections.abc import Iterator

from grader.nbgrader_terms import SOLUTION_BEGIN, SOLUTION_END
from tests.notebooks import assignment_ids, read_notebook, release_path, source_path

GRAM = 6
MIN_LINE_CHARACTERS = 12
MAX_VISIBLE_SHARE = 0.05
KEPT_TOKENS = (tokenize.NAME, tokenize.OP, tokenize.NUMBER)
DETAILS_BLOCK = re.compile(r"<details\b.*?</details>", re.DOTALL | re.IGNORECASE)
WORD_OR_PUNCTUATION = re.compile(r"\w+|[^\w\s]")


def _python_tokens(line: str) -> Iterator[tokenize.TokenInfo]:
    """The tokens of one line, as far as it tokenizes on its own (an open bracket ends it early)."""
    try:
        yield from tokenize.generate_tokens(io.StringIO(line).readline)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return


def _without_comment(line: str) -> str:
    for token in _python_tokens(line):
        if token.type == tokenize.COMMENT:
            return line[: token.start[1]]
    return line


def solution_lines(assignment: str) -> list[str]:
    """The kept solution lines of the source notebook, in order, comments dropped."""
    kept = []
    for cell in read_notebook(source_path(assignment)).cells:
        if cell.cell_type != "code":
            continue
        inside = False
        for line in cell.source.split("\n"):
            if SOLUTION_BEGIN.match(line):
                inside = True
            elif SOLUTION_END.match(line):
                inside = False
            elif inside:
                code = _without_comment(line)
                if len(re.sub(r"\s", "", code)) >= MIN_LINE_CHARACTERS:
                    kept.append(code)
    return kept


def _grams(tokens: list[str]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + GRAM]) for i in range(len(tokens) - GRAM + 1)}


def solution_grams(assignment: str) -> set[tuple[str, ...]]:
    tokens = [
        token.string
        for line in solution_lines(assignment)
        for token in _python_tokens(line)
        if token.type in KEPT_TOKENS
    ]
    return _grams(tokens)


def readable_text(assignment: str) -> list[str]:
    """Each release cell's text as a student reads it before opening anything."""
    texts = []
    for cell in read_notebook(release_path(assignment)).cells:
        text = cell.source
        if cell.cell_type == "markdown":
            text = DETAILS_BLOCK.sub("", text)
        texts.append(text)
    return texts


def release_grams(assignment: str) -> set[tuple[str, ...]]:
    grams: set[tuple[str, ...]] = set()
    for text in readable_text(assignment):
        grams |= _grams(WORD_OR_PUNCTUATION.findall(text))
    return grams


def visible_share(assignment: str) -> tuple[float, set[tuple[str, ...]]]:
    """The share of the solution's distinct 6-grams readable in the release, and those 6-grams."""
    solution = solution_grams(assignment)
    visible = solution & release_grams(assignment)
    return (len(visible) / len(solution) if solution else 0.0), visible


def main(argv: list[str]) -> int:
    for assignment in argv or assignment_ids():
        share, visible = visible_share(assignment)
        total = len(solution_grams(assignment))
        print(f"{assignment}: {100 * share:.1f} % of {total} solution 6-grams readable")
        if "-v" in sys.argv:
            for gram in sorted(visible):
                print("    " + " ".join(gram))
    return 0


if __name__ == "__main__":
    raise SystemExit(main([a for a in sys.argv[1:] if a != "-v"]))
