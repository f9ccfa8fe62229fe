"""An assignment as the gradebook knows it: :class:`AssignmentStructure`, one type for every reader.

``nbgrader generate_assignment`` records each assignment's notebooks and their cells in the gradebook.
:func:`grader.instructor.gradebook.read_structure` reads them into an :class:`AssignmentStructure`,
which the bundle carries to the workers (the static flags and the scratch gradebook's template read
it there) and which the class report reads for its cell order, given code and hidden lines. It holds
plain data only (str, float, bool, tuples, a datetime), so Dask pickles it; what is derived from it is
computed once per instance (the report asks for it once per notebook of every submission).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import cached_property

__all__ = ["GradedCell", "SourceCell", "NotebookStructure", "AssignmentStructure"]


@dataclass(frozen=True)
class GradedCell:
    """A grade cell or a task cell: its grade id, points and cell type (``code`` or ``markdown``)."""

    name: str
    max_score: float
    cell_type: str


@dataclass(frozen=True)
class SourceCell:
    """The release version of a cell nbgrader keeps (graded, solution or locked), hidden tests included.

    ``source`` is the cell as ``generate_assignment`` recorded it: for a test cell, the hidden regions
    too; for a solution cell, the code given to students.
    """

    name: str
    cell_type: str
    locked: bool
    source: str
    checksum: str | None


@dataclass(frozen=True)
class NotebookStructure:
    """One notebook of an assignment (``name`` is the file name without ``.ipynb``)."""

    name: str
    grade_cells: tuple[GradedCell, ...] = ()
    solution_cells: tuple[str, ...] = ()
    task_cells: tuple[GradedCell, ...] = ()
    source_cells: tuple[SourceCell, ...] = ()

    @property
    def sources(self) -> dict[str, SourceCell]:
        """Source cells by grade id."""
        return {cell.name: cell for cell in self.source_cells}

    @property
    def graded(self) -> set[str]:
        """Grade ids of the grade and task cells."""
        return {cell.name for cell in self.grade_cells} | {cell.name for cell in self.task_cells}

    @property
    def locked(self) -> set[str]:
        """Grade ids of the cells nbgrader puts back from the gradebook."""
        return {cell.name for cell in self.source_cells if cell.locked}


@dataclass(frozen=True)
class AssignmentStructure:
    """An assignment's notebooks and cells, as the gradebook recorded them.

    Attributes
    ----------
    assignment : str
    duedate : datetime.datetime or None
    notebooks : tuple of NotebookStructure
        In the gradebook's order.
    """

    assignment: str
    duedate: datetime.datetime | None = None
    notebooks: tuple[NotebookStructure, ...] = ()

    @property
    def notebook_names(self) -> list[str]:
        return [notebook.name for notebook in self.notebooks]

    @cached_property
    def max_scores(self) -> dict[str, float]:
        """Grade id -> max score of every grade cell, in notebook order."""
        return {cell.name: cell.max_score for notebook in self.notebooks for cell in notebook.grade_cells}

    @cached_property
    def given_code(self) -> dict[tuple[str, str], str]:
        """``(notebook, solution cell id)`` -> the code every student was given in that cell."""
        return {(notebook.name, cell.name): cell.source or ""
                for notebook in self.notebooks for cell in notebook.source_cells
                if cell.name in set(notebook.solution_cells)}

    @cached_property
    def hidden_lines(self) -> frozenset[str]:
        """:func:`grader.nbgrader_terms.hidden_lines` of every notebook's cells."""
        from grader.nbgrader_terms import hidden_lines  # nbgrader's import, only when asked

        return hidden_lines([{"source": cell.source or ""} for notebook in self.notebooks
                             for cell in notebook.source_cells])
