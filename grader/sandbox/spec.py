"""The sandbox's settings on their way from the task to the kernel, one type per hop.

A task's settings cross three processes before a kernel runs:

1. the worker's task (:mod:`grader.worker.task`) writes a :class:`TaskSettings` as JSON beside the scratch
   course's ``nbgrader_config.py`` (:data:`grader.worker.execute.SETTINGS_FILE`);
2. nbgrader, forked by the zygote, loads that configuration, which reads it back
   (:func:`grader.worker.execute.configure_scratch_course`) and hands its :class:`SandboxSpec` to
   :class:`grader.sandbox.kernel.SandboxKernelManager`;
3. the kernel manager turns it into a :class:`LaunchSpec`, the JSON argument of
   :mod:`grader.sandbox.launcher` on the ``unshare`` command line (or of
   :mod:`grader.sandbox.kernel_client`, which hands it to the worker's kernel server).

The launcher runs with ``python -I`` and the standard library only, so it reads a plain dict; a test
(``tests/grading/test_boundaries.py``) checks that the keys it reads are :class:`LaunchSpec`'s fields.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

from grader.messages import SandboxLimits

__all__ = ["SandboxSpec", "TaskSettings", "LaunchSpec"]


@dataclass(frozen=True)
class SandboxSpec:
    """How one task's kernel is sandboxed.

    Attributes
    ----------
    uid, gid : int
        The submission's own uid and the sandbox user's group.
    ipc_dir : str
        A folder owned by ``uid`` for the kernel's sockets and connection file.
    limits : SandboxLimits
    preload : dict of str to str
        Files copied into the kernel's private ``/tmp`` before anything is hidden: path in the kernel
        to path on the worker (see :func:`grader.sandbox.kernel.machine_font_list`).
    kernel_server : str
        The socket of the worker's kernel server (:mod:`grader.sandbox.kernel_server`), which forks the
        kernel; empty: the kernel is a new process (``unshare`` and :mod:`grader.sandbox.launcher`).
    """

    uid: int
    gid: int
    ipc_dir: str
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    preload: dict[str, str] = field(default_factory=dict)
    kernel_server: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SandboxSpec:
        return cls(uid=int(data["uid"]), gid=int(data["gid"]), ipc_dir=str(data["ipc_dir"]),
                   limits=SandboxLimits(**data["limits"]), preload=dict(data["preload"]),
                   kernel_server=str(data["kernel_server"]))


@dataclass(frozen=True)
class TaskSettings:
    """What a worker's task tells the nbgrader process it starts in the scratch course.

    Attributes
    ----------
    sandbox : SandboxSpec or None
        None runs the kernel unconfined (``--no-sandbox``), with the probe.
    output_cell_bytes, output_total_bytes : int
        Output kept per cell and per notebook.
    probe_report : str
        File that receives the probe's JSON report.
    phases_report : str
        File that receives the seconds of kernel start and execution.
    causes_report : str
        File that receives the crash cause of each notebook whose execution raised.
    cell_timeout : int or None
        Seconds per cell; None keeps the course's ``Execute.timeout``.
    judge : bool
        Test cells are decided by the judge (:class:`grader.worker.execute.SandboxJudgeExecute`), not run
        in the kernel.
    instructor_folder : str
        With ``judge``: the folder of the instructor's notebooks (the scratch course's ``source/``
        copy), which the kernel cannot see.
    judge_socket_folder : str
        With ``judge``: where the kernel listens for the judge, a folder both reach (the sandbox's
        ``ipc_dir``); empty: a temporary folder.
    """

    sandbox: SandboxSpec | None
    output_cell_bytes: int
    output_total_bytes: int
    probe_report: str
    phases_report: str
    causes_report: str
    cell_timeout: int | None = None
    judge: bool = False
    instructor_folder: str = ""
    judge_socket_folder: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> TaskSettings:
        data = json.loads(text)
        sandbox = data.pop("sandbox")
        return cls(sandbox=None if sandbox is None else SandboxSpec.from_dict(sandbox), **data)


@dataclass(frozen=True)
class LaunchSpec:
    """The launcher's argument (:mod:`grader.sandbox.launcher`): every key it reads, and nothing else.

    Attributes
    ----------
    uid, gid : int
    cwd : str
        The kernel's working folder (the submission's copy), left writable.
    limits : dict of str to int
        :class:`~grader.messages.SandboxLimits` as a dict.
    tmp_mb : int
        Size of each private ``/tmp``-like folder.
    private_tmp : list of str
        Folders replaced by private tmpfs mounts.
    preload : dict of str to str
        Path in the kernel to path on the worker, copied in before anything is hidden.
    view : list of [str, str]
        Everything the kernel's own root holds: each path with ``"ro"`` (read-only), ``"rw"`` or
        ``"dev"`` (a device node); see :func:`grader.sandbox.kernel.file_view`.
    env : dict of str to str
        The kernel's whole environment.
    """

    uid: int
    gid: int
    cwd: str
    limits: dict[str, int]
    tmp_mb: int
    private_tmp: list[str]
    preload: dict[str, str]
    view: list[tuple[str, str]]
    env: dict[str, str]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LaunchSpec:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        if set(data) != known:
            raise ValueError(f"a launch spec holds {sorted(known)}, not {sorted(data)}")
        data["view"] = [(str(path), str(mode)) for path, mode in data["view"]]
        return cls(**data)
