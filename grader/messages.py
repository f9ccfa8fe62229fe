"""What the stages of ``course grade`` hand to one another, as typed, picklable dataclasses.

The instructor's process plans the run and sends each worker an :class:`AssignmentBundle` (once per
assignment, broadcast) and a :class:`SubmissionFiles` (once per task); the worker sends back a
:class:`TaskResult`, which the instructor's process completes when it records it in the gradebook. Dask
pickles all of them: they hold only plain data (str, bytes, numbers, tuples, lists, dicts and these
dataclasses), never an open file, a lock or a class from the course.

Whether a submission counts as *graded* and whether it is *flagged* for a human is decided here, once,
by :attr:`TaskResult.graded` and :attr:`TaskResult.flagged`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from grader.structure import AssignmentStructure

__all__ = ["SandboxLimits", "TaskOptions", "AssignmentBundle", "SubmissionFiles", "Flag", "ProbeReport",
           "GradedNotebook", "PHASES", "Status", "CrashCause", "TaskResult", "STARTUP_STEPS",
           "BACKGROUND_STEPS", "StartupTimings"]


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one student kernel.

    Attributes
    ----------
    memory_mb : int
        Address space of the kernel process (RLIMIT_AS), in MiB.
    cpu_seconds : int
        CPU time of the kernel process (RLIMIT_CPU); the kernel is killed
        when it is spent, and the submission counts as crashed.
    processes : int
        Processes and threads of the submission's uid (RLIMIT_NPROC).
    open_files : int
        Open file descriptors (RLIMIT_NOFILE).
    file_mb : int
        Largest file the kernel may write (RLIMIT_FSIZE), in MiB.
    tmp_mb : int
        Size of the kernel's private ``/tmp``, ``/var/tmp`` and ``/dev/shm``.
    output_cell_kb : int
        Output kept per cell (text and data, in KiB); the rest is dropped by
        the grader and replaced by a one-line notice.
    output_total_kb : int
        Output kept for the whole notebook, in KiB.
    """

    memory_mb: int = 2048
    cpu_seconds: int = 900
    processes: int = 64
    open_files: int = 256
    file_mb: int = 64
    tmp_mb: int = 64
    output_cell_kb: int = 512
    output_total_kb: int = 4096

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class TaskOptions:
    """How a worker grades each submission of an assignment.

    Attributes
    ----------
    limits : SandboxLimits
    cell_timeout : int or None
        Seconds per cell; None keeps the course's ``Execute.timeout``.
    task_timeout : int
        Seconds for a whole submission (kernel start to last cell).
    sandbox : bool
        Run the kernel in the sandbox (needs root on the worker).
    scratch : str
        Folder of the scratch courses, on the worker.
    judge : bool
        The judge decides the test cells (they never run in the kernel); False runs them in the
        kernel, as plain ``nbgrader autograde`` does (``--no-judge``).
    """

    limits: SandboxLimits
    cell_timeout: int | None
    task_timeout: int
    sandbox: bool
    scratch: str
    judge: bool = True


@dataclass(frozen=True)
class AssignmentBundle:
    """Everything a worker needs from the course root to grade one assignment, shared by its tasks.

    Attributes
    ----------
    assignment : str
    course_id : str
    config_text : str
        The course's ``nbgrader_config.py``.
    structure : AssignmentStructure
        The assignment's cells as the gradebook knows them
        (:func:`grader.instructor.gradebook.export_structure`).
    template_db : bytes
        A SQLite gradebook holding ``structure`` and nothing else.
    source_files : dict of str to bytes
        The data files of ``source/<assignment>/`` (not the notebooks), by relative path.
    course_code : dict of str to list of str
        Per notebook name, the code cells the course hands out (see
        :func:`grader.worker.flags.course_code`): they raise no flag.
    options : TaskOptions
    instructor_notebooks : dict of str to bytes
        With ``options.judge``: the instructor's notebooks of ``source/<assignment>/`` (solutions and
        hidden tests), by notebook name, for the judge; the kernel never sees them.
    """

    assignment: str
    course_id: str
    config_text: str
    structure: AssignmentStructure
    template_db: bytes
    source_files: dict[str, bytes]
    course_code: dict[str, list[str]]
    options: TaskOptions
    instructor_notebooks: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class SubmissionFiles:
    """One student's submitted folder of one assignment.

    Attributes
    ----------
    student, assignment : str
    files : dict of str to bytes
        The regular files, by path relative to ``submitted/<student>/<assignment>/``.
    skipped : tuple of str
        Files not sent: links, special files, files past the size cap.
    """

    student: str
    assignment: str
    files: dict[str, bytes]
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class Flag:
    """One finding of the static analysis (:mod:`grader.worker.flags`) for a human to review."""

    code: str
    notebook: str = ""
    cell: str = ""
    line: int = 0
    detail: str = ""


@dataclass(frozen=True)
class ProbeReport:
    """What the in-kernel probe (:mod:`course.probe`) reported after the last cell.

    Attributes
    ----------
    ran : bool or str
        True when the probe's line came back, False when it did not run, ``"garbled"`` when it came back
        unreadable.
    changed : tuple of str
        Watched names that no longer hold the object they held at kernel start.
    truncated_cells : tuple of int
        Cells whose output the grader cut at the output limits.
    """

    ran: bool | str = False
    changed: tuple[str, ...] = ()
    truncated_cells: tuple[int, ...] = ()


@dataclass(frozen=True)
class GradedNotebook:
    """What nbgrader's ``SaveAutoGrades`` reads from one executed notebook (the worker's
    :class:`grader.worker.pipeline.CollectGrades`), for the recorder to merge into the gradebook.

    Attributes
    ----------
    name : str
        The notebook's name (no ``.ipynb``).
    grades : dict of str to float or None
        The automatic score of each grade cell, by grade id (None: none can be given).
    comments : dict of str to str or None
        The automatic comment of each solution cell, by grade id.
    """

    name: str
    grades: dict[str, float | None]
    comments: dict[str, str | None]


#: The phases of a task, in order, with what each covers (keys of :attr:`TaskResult.phases`).
PHASES = {
    "analysis": "static flags of the submission (worker)",
    "scratch": "building the scratch course and taking a uid (worker)",
    "kernel_start": "starting the sandboxed kernel until it answers (worker)",
    "execution": "running the notebook's cells and the probe (worker)",
    "judge": "the judge deciding the test cells, its calls into the kernel included (worker)",
    "nbgrader": "nbgrader's own work in the task: start-up, sanitizing, the rest of its pipeline (worker)",
    "collect": "reading back the executed notebooks and cleaning up (worker)",
    "transfer": "from the worker's end of the task to the instructor's process (Dask)",
    "recording": "writing autograded/ and merging the rows into the gradebook (instructor)",
}


#: The steps of ``course grade`` from the command's start to the first task's start, in order, one after
#: the other in the instructor's process (keys of :attr:`StartupTimings.steps`).
STARTUP_STEPS = {
    "interpreter": "Python's start and the `course` command's imports (instructor)",
    "checks": "checking that the sandbox can run, reading the options (instructor)",
    "imports": "importing the engine: nbgrader, SQLAlchemy, the grader (instructor)",
    "plan": "choosing the assignments, finding the submissions, nbgrader's skip rule (instructor)",
    "recorder": "opening the course's gradebook for recording (instructor)",
    "template": "the empty gradebook the templates copy: from the machine's cache, or built (instructor)",
    "bundles": "each assignment's bundle: structure, template gradebook, files, course code (instructor)",
    "submissions": "reading the submitted files (instructor)",
    "workers": "waiting for the Dask cluster and its workers once the bundles are ready (instructor)",
    "first_task": "from the first submission sent to the first task's start on a worker (Dask)",
}

#: What starts in the background while the steps above run (keys of :attr:`StartupTimings.background`):
#: each the slowest over the workers, in seconds from its own start to its end.
BACKGROUND_STEPS = {
    "cluster": "starting the LocalCluster (scheduler, nannies, workers) or connecting to --scheduler",
    "worker_imports": "a worker importing the grading task's modules",
    "zygote": "a worker's zygote, from its start until it has imported nbgrader",
    "font_list": "matplotlib's font list, from the machine's cache or built once for the machine",
    "kernel_server": "a worker's kernel server, from its start until it has imported what kernels import",
}


@dataclass
class StartupTimings:
    """Where the time went between ``course grade``'s start and its first task's start.

    Attributes
    ----------
    steps : dict of str to float
        Seconds of each step of :data:`STARTUP_STEPS` that happened, in that order. They follow one
        another in the instructor's process, so their sum is the time from the command's start to the
        first task's start.
    background : dict of str to float
        Seconds of each step of :data:`BACKGROUND_STEPS` that happened, the slowest worker's; they
        overlap ``steps`` (a background step that outlasts them shows in ``steps["workers"]`` or in the
        first task's own phases).
    built : tuple of str
        The background steps that had to build what a cache would have given (``font_list``), and
        ``template`` when the empty gradebook was built rather than read from the machine's cache.
    """

    steps: dict[str, float] = field(default_factory=dict)
    background: dict[str, float] = field(default_factory=dict)
    built: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        """Seconds from the command's start to the first task's start."""
        return sum(self.steps.values())

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {"steps": dict(self.steps), "background": dict(self.background), "built": list(self.built),
                "total": self.total}

    @classmethod
    def from_dict(cls, data: dict) -> StartupTimings:
        """The timings :meth:`to_dict` wrote (``total`` is derived, so it is read back from ``steps``).

        Raises
        ------
        ValueError
            On a step this version does not know.
        """
        unknown = (set(data.get("steps", {})) - set(STARTUP_STEPS)) | (
            set(data.get("background", {})) - set(BACKGROUND_STEPS))
        if unknown:
            raise ValueError(f"unknown start-up steps {sorted(unknown)}")
        return cls(steps={k: float(v) for k, v in data.get("steps", {}).items()},
                   background={k: float(v) for k, v in data.get("background", {}).items()},
                   built=tuple(data.get("built", ())))


class Status(StrEnum):
    """How a worker's task ended."""

    GRADED = "graded"  # nbgrader executed every notebook it found
    CRASH = "crash"  # nbgrader failed: a dead kernel, an unreadable notebook...
    TIMEOUT = "timeout"  # the whole submission outlived the task timeout
    ERROR = "error"  # the grading machinery itself failed (or Dask lost the task)
    # never a task's: a grading-log row of a submission not sent, already graded from the same files
    SKIPPED = "skipped"


class CrashCause(StrEnum):
    """Why a notebook was not executed, decided where it happened (never read back from a log).

    The execution causes come from the exception :class:`grader.worker.execute.SandboxExecute` caught;
    the others from the worker's own reading of the submitted files (:mod:`grader.worker.task`) and its
    static flags.
    """

    KERNEL_DIED = "kernel-died"
    KERNEL_UNRESPONSIVE = "kernel-unresponsive"
    KERNEL_START_TIMEOUT = "kernel-start-timeout"
    KERNEL_FAILED = "kernel-failed"
    CELL_TIMEOUT = "cell-timeout"
    NOT_JSON = "not-json"
    NOT_A_NOTEBOOK = "not-a-notebook"
    NOT_SUBMITTED = "not-submitted"
    CELLS_UNMATCHED = "cells-unmatched"
    TASK_TIMEOUT = "task-timeout"
    NBGRADER_FAILED = "nbgrader-failed"

    @property
    def description(self) -> str:
        """What the instructor reads."""
        return _CAUSE_DESCRIPTIONS[self]


_CAUSE_DESCRIPTIONS = {
    CrashCause.KERNEL_DIED: "the kernel died",
    CrashCause.KERNEL_UNRESPONSIVE: "the kernel became unresponsive",
    CrashCause.KERNEL_START_TIMEOUT: "the kernel did not start in time",
    CrashCause.KERNEL_FAILED: "the kernel failed",
    CrashCause.CELL_TIMEOUT: "cell timeout",
    CrashCause.NOT_JSON: "the notebook is not valid JSON",
    CrashCause.NOT_A_NOTEBOOK: "the notebook is not a valid notebook",
    CrashCause.NOT_SUBMITTED: "no notebook of the assignment was submitted",
    CrashCause.CELLS_UNMATCHED: ("nbgrader cannot match the notebook's cells to the assignment's (cells "
                                 "deleted, duplicated or stripped of their metadata: see the flags)"),
    CrashCause.TASK_TIMEOUT: "grading took longer than the task timeout",
    CrashCause.NBGRADER_FAILED: "nbgrader autograde failed",
}


@dataclass
class TaskResult:
    """One submission's grading, from the worker's task and then from the recording.

    The worker fills the fields up to ``log``; the instructor's process fills ``recorded`` to ``cells``
    when it records the result in the gradebook.

    Attributes
    ----------
    student, assignment : str
    status : Status
    reason : str
        Why the submission was not graded (empty when it was).
    cause : CrashCause or None
        The typed cause behind ``reason``, when one is known.
    notebooks : dict of str to bytes
        The notebooks the worker's nbgrader wrote in its ``autograded/`` (executed, then the course's
        pipeline up to the gradebook: :mod:`grader.worker.pipeline`), by name (no ``.ipynb``).
    grades : dict of str to GradedNotebook
        The grades and comments read from each of them, by name.
    errors : dict of str to str
        Why a submitted notebook has no executed copy, by name.
    flags : list of Flag
    probe : ProbeReport
    started, finished : float
        Epoch seconds on the worker.
    worker : str
        ``host:pid`` of the worker process.
    log : str
        The tail of nbgrader's output.
    phases : dict of str to float
        Seconds spent in each phase of the task, in the order of :data:`PHASES` (a phase that did not
        happen is missing): the worker fills all but ``transfer`` (worker to instructor, filled when
        the result arrives) and ``recording`` (filled by the recorder).
    recorded : bool
        nbgrader recorded the submission in the gradebook.
    record_error : str
        What went wrong while recording.
    score, max_score : float or None
        From the gradebook after recording (None when nbgrader recorded nothing).
    cells : dict of str to float
        Score per ``notebook/grade_id``.
    """

    student: str
    assignment: str
    status: Status = Status.ERROR
    reason: str = ""
    cause: CrashCause | None = None
    notebooks: dict[str, bytes] = field(default_factory=dict)
    grades: dict[str, GradedNotebook] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    probe: ProbeReport = field(default_factory=ProbeReport)
    started: float = field(default_factory=time.time)
    finished: float = 0.0
    worker: str = ""
    log: str = ""
    phases: dict[str, float] = field(default_factory=dict)
    recorded: bool = False
    record_error: str = ""
    score: float | None = None
    max_score: float | None = None
    cells: dict[str, float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.finished = self.finished or self.started

    @classmethod
    def failed(cls, assignment: str, student: str, reason: str) -> TaskResult:
        """The result of a task that never ran or never came back (e.g. a worker lost by Dask)."""
        return cls(student=student, assignment=assignment, status=Status.ERROR, reason=reason)

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    @property
    def graded(self) -> bool:
        """Executed by the worker and recorded by nbgrader: the submission has its score."""
        return self.status == Status.GRADED and self.recorded

    @property
    def flagged(self) -> bool:
        """A static flag or a change seen by the probe: a human should look at it."""
        return bool(self.flags) or bool(self.probe.changed)
