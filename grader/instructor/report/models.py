"""The typed results the report's stages hand to each other, decided here once."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["CellScore", "GradebookSubmission", "FailureGroup", "CellFailures", "SimilarPair", "GraderNote",
           "ClassReport"]


@dataclass(frozen=True)
class CellScore:
    """One graded cell of one submission, as the gradebook holds it."""

    name: str
    score: float
    max_score: float
    scored: bool  # False when nbgrader never scored it (autograde failed)


@dataclass
class GradebookSubmission:
    """One student's submission of one assignment, read from the gradebook."""

    student: str
    assignment: str
    score: float
    max_score: float
    cells: list[CellScore]
    flagged: bool
    has_autograded_notebook: bool

    @property
    def graded(self) -> bool:
        """nbgrader scored every cell and wrote the autograded notebook."""
        return self.has_autograded_notebook and all(cell.scored for cell in self.cells)


@dataclass
class FailureGroup:
    """Students whose first failure in one test cell reads the same once numbers are masked."""

    message: str  # with varying numbers replaced by "#"
    count: int
    example: str  # one student's unmasked message
    students: list[str]


@dataclass
class CellFailures:
    """Failure rate and grouped first failure messages of one test cell."""

    assignment: str
    cell: str
    max_score: float
    submissions: int
    failed: int
    groups: list[FailureGroup]

    @property
    def failure_rate(self) -> float:
        return self.failed / self.submissions if self.submissions else 0.0


@dataclass
class SimilarPair:
    """Two submissions of one assignment whose own code (given code removed) matches."""

    assignment: str
    student_a: str
    student_b: str
    similarity_a: float  # share of a's own code found in b's
    similarity_b: float
    matched_tokens: int
    code_a: str
    code_b: str
    matched_lines_a: list[int]  # 1-based line numbers of code_a inside a match
    matched_lines_b: list[int]

    @property
    def similarity(self) -> float:
        """The smaller share: both submissions must be mostly the same code."""
        return min(self.similarity_a, self.similarity_b)


@dataclass
class GraderNote:
    """A submission an instructor should look at: not graded, flagged, or slow."""

    student: str
    assignment: str
    status: str  # "not graded", "flagged"
    reasons: list[str]
    seconds: float | None = None


@dataclass
class ClassReport:
    """Everything the report shows; the HTML, CSV and JSON files are views of it."""

    assignments: list[str]
    submissions: list[GradebookSubmission]
    cell_order: dict[str, list[str]]
    failures: list[CellFailures]
    similar_pairs: list[SimilarPair]
    similarity_threshold: float
    similarity_note: str
    notes: list[GraderNote]
    slowest: list[GraderNote]
    created: str
    source: str
    timings: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict:
        data = asdict(self)
        for row, submission in zip(data["submissions"], self.submissions, strict=True):
            row["graded"] = submission.graded
        for row, cell in zip(data["failures"], self.failures, strict=True):
            row["failure_rate"] = cell.failure_rate
        for row, pair in zip(data["similar_pairs"], self.similar_pairs, strict=True):
            row["similarity"] = pair.similarity
        return data
