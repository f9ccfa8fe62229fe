"""Judging the test cells of a notebook whose other cells ran in a Jupyter kernel.

The kernel ran the student's cells (never the test cells). One more ``execute_request`` makes it serve
the judge's channel (:data:`SERVE_CODE`, which names only a socket path); the judge then runs the
instructor's setup and given cells and every test cell here (:mod:`grader.judge.cells`), and sends
the kernel nothing but calls into the graded names. No line of a test cell, hidden or visible, is
ever sent to the kernel.

``course grade`` and ``course check`` call it through :class:`grader.judge.nbgrader.JudgeExecute`, after
executing a submission without its test cells (see docs/grading.md, "The judge").
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from grader.judge.cells import InstructorCells, judge_namespace, run_test_cell
from grader.judge.channel import KernelLost, Limits, connect
from grader.judge.remote import Remote

__all__ = ["Verdict", "Judgement", "serve_code", "judge_kernel"]


@dataclass(frozen=True)
class Verdict:
    """A test cell's verdict: ``message`` is empty when it passed, else one line (the failure).

    ``passed`` says the judge's run of the cell raised nothing; ``stderr`` is what it wrote to stderr,
    which nbgrader's pipeline weighs as it would in the kernel (a stderr output zeroes the cell unless
    the course moves stderr to stdout, as this course's ``nbgrader_config.py`` does).
    """

    grade_id: str
    passed: bool
    message: str = ""
    stderr: str = ""


@dataclass(frozen=True)
class Judgement:
    """The verdicts of a notebook's test cells, and whether the kernel was lost on the way.

    ``kernel_lost`` is empty when the kernel answered to the end and its serving cell then returned;
    otherwise it says why not (it never opened its channel, died, hung, broke the protocol, or did not
    finish its serving cell): nothing more should be sent to that kernel.
    """

    verdicts: tuple[Verdict, ...]
    kernel_lost: str = ""


def serve_code(socket_path: str) -> str:
    """The one cell the kernel runs to serve the channel at ``socket_path`` (in its main thread)."""
    return f"__import__('course.kernel_channel', fromlist=['_']).serve({socket_path!r}, globals())"


def judge_kernel(client, cells: InstructorCells, socket_path: str, interrupt, limits: Limits | None = None,
                 label: str = "judge", connect_seconds: float = 30.0,
                 reply_seconds: float = 5.0) -> Judgement:
    """Judge every test cell of ``cells`` against the kernel that ``client`` talks to.

    Parameters
    ----------
    client : jupyter_client.KernelClient
        A started client of the kernel that ran the student's cells.
    cells : InstructorCells
        The instructor's setup, given and test cells, and the graded names.
    socket_path : str
        Where the kernel listens: a path both the kernel and this process can reach.
    interrupt : callable
        Interrupts the kernel (``KernelManager.interrupt_kernel``), for a call over its time limit.
    limits : Limits, optional
        The channel's limits.
    reply_seconds : float
        How long to wait, once the judge closed the channel, for the serving cell's reply.

    Returns
    -------
    Judgement
        One verdict per test cell, in notebook order. A kernel that cannot be reached, or is lost
        midway, fails the cells still to judge, with the reason.
    """
    serving = client.execute(serve_code(socket_path), store_history=False)
    try:
        remote = Remote(connect(socket_path, interrupt, limits, connect_seconds))
    except KernelLost as lost:
        return Judgement(tuple(Verdict(test.grade_id, False, f"KernelLost: {lost}") for test in cells.tests),
                         str(lost))
    verdicts = []
    try:
        try:
            namespace = judge_namespace(cells, remote, label=label)
        except Exception as error:  # noqa: BLE001 - a given cell that calls the student's code, or a lost kernel
            reason = f"{type(error).__name__}: {error}"
            verdicts = [Verdict(test.grade_id, False, reason) for test in cells.tests]
        else:
            cell_seconds = remote.channel.limits.cell_seconds
            for test in cells.tests:
                if cell_seconds is not None:  # a test cell's calls share one budget, as a cell's run does
                    remote.channel.cell_deadline = time.monotonic() + cell_seconds
                reason, stderr = run_test_cell(test.source, test.grade_id, namespace)
                remote.channel.cell_deadline = None
                verdicts.append(Verdict(test.grade_id, reason is None, reason or "", stderr))
            del namespace
    finally:
        lost = remote.channel.lost
        remote.close()
        returned = False
        with contextlib.suppress(Exception):  # the serving cell's reply: the kernel is free again
            while client.get_shell_msg(timeout=reply_seconds)["parent_header"].get("msg_id") != serving:
                pass
            returned = True
    if not lost and not returned:
        lost = "the student's kernel did not return from serving the judge"
    return Judgement(tuple(verdicts), lost or "")
