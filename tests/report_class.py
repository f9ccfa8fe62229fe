"""Synthetic students for the class report, made from the course's own material.

* ``solutions(assignment, variant)``: the code of every solution cell, with each
  graded name taken from the reference (``variant=None``) or from the
  ``variant``-th correct variant of ``tests/mutants/<assignment>.py`` (the
  last one when a name has fewer): independent correct answers.
* ``disguised(cells, seed)``: the same code as a copier hands it in: local
  variables renamed, the functions of each cell in another order, the code
  reformatted (``ast.unparse`` drops comments and changes layout).
"""

from __future__ import annotations

import ast
import random

from tests.mutation import load_mutant_module
from tests.notebooks import (
    is_solution_cell,
    nbgrader_meta,
    read_notebook,
    source_path,
    without_solution_markers,
)

__all__ = ["solutions", "disguised", "with_entry", "defined_names"]


def defined_names(code: str) -> list[str]:
    return [node.name for node in ast.parse(code).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]


def with_entry(cell_code: str, target: str, entry_code: str) -> str:
    """``cell_code`` with ``target`` (and whatever else ``entry_code`` defines) replaced by ``entry_code``."""
    replaced = set(defined_names(entry_code)) | {target}
    tree = ast.parse(cell_code)
    lines = cell_code.split("\n")
    kept, inserted = [], False
    position = 0
    for node in tree.body:
        start = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
        kept.append("\n".join(lines[position:start]))
        position = node.end_lineno
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in replaced:
            if not inserted:
                kept.append(entry_code.strip("\n"))
                inserted = True
            continue
        kept.append("\n".join(lines[start:node.end_lineno]))
    kept.append("\n".join(lines[position:]))
    if not inserted:
        kept.append(entry_code.strip("\n"))
    return "\n".join(part for part in kept if part.strip()) + "\n"


def solutions(assignment: str, variant: int | None = None) -> dict[str, str]:
    """Solution cell id -> code, from the reference or the ``variant``-th correct variants."""
    cells = {
        nbgrader_meta(cell)["grade_id"]: without_solution_markers(cell.source)
        for cell in read_notebook(source_path(assignment)).cells if is_solution_cell(cell)
    }
    if variant is None:
        return cells
    for target, variants in load_mutant_module(assignment).CORRECT_VARIANTS.items():
        code = list(variants.values())[min(variant, len(variants) - 1)]
        for cell_id, cell_code in cells.items():
            if target in defined_names(cell_code):
                cells[cell_id] = with_entry(cell_code, target, code)
                break
    return cells


class _RenameLocals(ast.NodeTransformer):
    """Renames every variable a function assigns (not its parameters: tests may pass them by name)."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def visit_FunctionDef(self, node):
        assigned = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        suffix = self.rng.choice(["_val", "_arr", "_tmp", "_res"])
        mapping = {name: f"my_{name}{suffix}" for name in assigned}
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and child.id in mapping:
                child.id = mapping[child.id]
        self.generic_visit(node)
        return node


def disguised(cells: dict[str, str], seed: int) -> dict[str, str]:
    """The cells as a copier hands them in: locals renamed, functions reordered, reformatted."""
    rng = random.Random(seed)
    result = {}
    for cell_id, code in cells.items():
        tree = _RenameLocals(rng).visit(ast.parse(code))
        definitions = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        others = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        rng.shuffle(definitions)
        if len(definitions) > 1 and [d.name for d in definitions] == defined_names(code):
            definitions.reverse()
        tree.body = others + definitions
        result[cell_id] = ast.unparse(tree) + "\n"
    return result
