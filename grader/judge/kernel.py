"""Judging the test cells of a notebook whose other cells ran in a Jupyter kernel.

The kernel ran the student's cells (never the test cells). One more ``execute_request`` makes it serve
the judge's channel (:data:`SERVE_CODE`, which names only a socket path); the judge then runs the
instructor's setup and given cells and every test cell here (:mod:`grader.judge.cells`), and sends
the kernel nothing but calls into the graded names. No line of a test cell, hidden or visible, is
ever sent to the kernel.

This is what ``course grade`` and ``course check`` would call after executing a submission without
its test cells (see docs/grading.md, "The judge"); it is not wired into them yet.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from grader.judge.cells import InstructorCells, judge_cell, judge_namespace
from grader.judge.channel import CallTimeout, KernelLost, Limits, connect
from grader.judge.remote import Remote

__all__ = ["Verdict", "serve_code", "judge_kernel"]


@dataclass(frozen=True)
class Verdict:
    """A test cell's verdict: ``message`` is empty when it passed, else one line (the failure)."""

    grade_id: str
    passed: bool
    message: str = ""


def serve_code(socket_path: str) -> str:
    """The one cell the kernel runs to serve the channel at ``socket_path`` (in its main thread)."""
    return f"__import__('course.kernel_channel', fromlist=['_']).serve({socket_path!r}, globals())"


def judge_kernel(client, cells: InstructorCells, socket_path: str, interrupt, limits: Limits | None = None,
                 label: str = "judge", connect_seconds: float = 30.0) -> list[Verdict]:
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

    Returns
    -------
    list of Verdict
        One per test cell, in notebook order. A kernel that cannot be reached, or is lost midway,
        fails the cells still to judge, with the reason.
    """
    serving = client.execute(serve_code(socket_path), store_history=False)
    try:
        remote = Remote(connect(socket_path, interrupt, limits, connect_seconds))
    except KernelLost as lost:
        return [Verdict(test.grade_id, False, f"KernelLost: {lost}") for test in cells.tests]
    verdicts = []
    try:
        try:
            namespace = judge_namespace(cells, remote, label=label)
        except (KernelLost, CallTimeout) as lost:  # the kernel died or hung while the names were bound
            return [Verdict(test.grade_id, False, f"{type(lost).__name__}: {lost}") for test in cells.tests]
        for test in cells.tests:
            reason = judge_cell(test.source, test.grade_id, namespace)
            verdicts.append(Verdict(test.grade_id, reason is None, reason or ""))
        del namespace
    finally:
        remote.close()
        with contextlib.suppress(Exception):  # the serving cell's reply: the kernel is free again
            while client.get_shell_msg(timeout=5)["parent_header"].get("msg_id") != serving:
                pass
    return verdicts
