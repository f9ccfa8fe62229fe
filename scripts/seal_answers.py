"""Seal answers computed by a notebook's reference solution, for its visible test cells.

Usage::

    python scripts/seal_answers.py ASSIGNMENT EXPRESSION [EXPRESSION ...]

Runs the setup, solution and given cells of ``source/ASSIGNMENT`` (the reference), evaluates each
EXPRESSION there and prints ``Sealed('...')`` of its value (see ``course.derivations.seal``), to
paste into a test cell. For example::

    python scripts/seal_answers.py 07_cnn "{(13, 11): im2col_source(13, 11, (2, 3, 5, 7), 3, 2, 2, 1)}"

The mutation harness checks every seal on the way: the reference must pass each visible test.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the course and tests packages of this checkout

from course.derivations import seal  # noqa: E402
from tests.notebooks import fresh_namespace, notebook_parts  # noqa: E402


def sealed_values(assignment: str, expressions: list[str]) -> list[str]:
    """``repr(seal(value))`` of each expression, evaluated with the reference solution."""
    namespace = fresh_namespace(notebook_parts(assignment))
    return [repr(seal(eval(expression, namespace))) for expression in expressions]  # noqa: S307 - the author's


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    for line in sealed_values(argv[0], argv[1:]):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
