"""The grading log: ``course grade --report FILE`` writes one :class:`GradingLogRow` per submission as JSON,
with the run's start-up timings (:class:`~grader.messages.StartupTimings`);
``course report --grading-log FILE`` reads them back. Both sides go through these types, so a key cannot be
renamed on one side only.

The file is ``{"startup": {...} or null, "submissions": [row, ...]}``; a log of an older version, a bare
list of rows, is read too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from grader.messages import CrashCause, Flag, ProbeReport, StartupTimings, Status, TaskResult

__all__ = ["GradingLogRow", "write_grading_log", "read_grading_log", "read_startup", "LOG_TAIL"]

#: The characters of nbgrader's output kept per row.
LOG_TAIL = 1500


@dataclass(frozen=True)
class GradingLogRow:
    """One submission's line of the grading log: a :class:`~grader.messages.TaskResult` without notebooks.

    The fields of :class:`~grader.messages.TaskResult` keep their names and meanings (``notebooks``,
    ``errors`` and ``log`` are left out), with these besides: ``seconds``, ``graded`` and ``flagged``
    (the result's properties), ``cell_timeouts`` (grade ids of the cells that hit the per-cell timeout)
    and ``log_tail`` (the last :data:`LOG_TAIL` characters of nbgrader's output).
    """

    student: str
    assignment: str
    status: Status
    reason: str = ""
    cause: CrashCause | None = None
    score: float | None = None
    max_score: float | None = None
    cells: dict[str, float | None] = field(default_factory=dict)
    flags: tuple[Flag, ...] = ()
    probe: ProbeReport = field(default_factory=ProbeReport)
    worker: str = ""
    recorded: bool = False
    record_error: str = ""
    started: float = 0.0
    finished: float = 0.0
    seconds: float | None = None
    phases: dict[str, float] = field(default_factory=dict)
    graded: bool = False
    flagged: bool = False
    cell_timeouts: tuple[str, ...] = ()
    log_tail: str = ""

    @classmethod
    def of(cls, result: TaskResult, cell_timeouts: list[str]) -> GradingLogRow:
        """The row of a recorded ``result`` (``cell_timeouts``: see ``summary.timeouts_of``)."""
        return cls(student=result.student, assignment=result.assignment, status=result.status,
                   reason=result.reason, cause=result.cause, score=result.score, max_score=result.max_score,
                   cells=dict(result.cells), flags=tuple(result.flags), probe=result.probe,
                   worker=result.worker, recorded=result.recorded, record_error=result.record_error,
                   started=result.started, finished=result.finished, seconds=result.seconds,
                   phases=dict(result.phases), graded=result.graded, flagged=result.flagged,
                   cell_timeouts=tuple(cell_timeouts), log_tail=result.log[-LOG_TAIL:])

    def to_dict(self) -> dict:
        """JSON-ready: the enums as their values, the nested dataclasses as dicts."""
        data = asdict(self)
        data["status"] = str(self.status)
        data["cause"] = None if self.cause is None else str(self.cause)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> GradingLogRow:
        """A row from :meth:`to_dict`'s JSON; a key this type does not know is an error (a log of another
        format), a missing one takes its default (a log from before the key existed)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"not a grading log row: unknown keys {sorted(unknown)}")
        values = dict(data)
        values["status"] = Status(values["status"])
        values["cause"] = CrashCause(values["cause"]) if values.get("cause") else None
        values["flags"] = tuple(Flag(**flag) for flag in values.get("flags") or ())
        probe = values.get("probe") or {}
        values["probe"] = ProbeReport(ran=probe.get("ran", False), changed=tuple(probe.get("changed", ())),
                                      truncated_cells=tuple(probe.get("truncated_cells", ())))
        values["cell_timeouts"] = tuple(values.get("cell_timeouts") or ())
        return cls(**values)


def write_grading_log(rows: list[GradingLogRow], path: str | Path,
                      startup: StartupTimings | None = None) -> None:
    """The rows (no notebook contents) and the start-up's timings, as JSON."""
    with open(path, "w") as handle:
        json.dump({"startup": None if startup is None else startup.to_dict(),
                   "submissions": [row.to_dict() for row in rows]}, handle, indent=1, default=str)


def _read(path: str | Path) -> dict:
    data = json.loads(Path(path).read_text())
    if isinstance(data, list):  # an older log: its rows alone
        data = {"startup": None, "submissions": data}
    rows = data.get("submissions") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ValueError(f"{path} is not a grading log (its submissions: a JSON list of rows)")
    return data


def read_grading_log(path: str | Path) -> list[GradingLogRow]:
    """The rows of a file :func:`write_grading_log` wrote.

    Raises
    ------
    ValueError
        When the file is not a grading log.
    """
    return [GradingLogRow.from_dict(row) for row in _read(path)["submissions"]]


def read_startup(path: str | Path) -> StartupTimings | None:
    """The start-up timings of a file :func:`write_grading_log` wrote (None when it has none).

    Raises
    ------
    ValueError
        When the file is not a grading log.
    """
    startup = _read(path).get("startup")
    return None if startup is None else StartupTimings.from_dict(startup)
