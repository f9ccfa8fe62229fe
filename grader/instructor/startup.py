"""Timing ``course grade``'s start-up, step by step, into a :class:`~grader.messages.StartupTimings`.

The instructor's process marks the end of each step of :data:`~grader.messages.STARTUP_STEPS` on one
:class:`StartupClock`, from the process's own start (read from ``/proc``, so that the interpreter's start
and the command's imports count) to the first task's start on a worker. Steps that run meanwhile in the
background (the cluster's start, the workers' warm-up: :mod:`grader.worker.warmup`) are added with
:meth:`StartupClock.background`. Every time is an epoch time (``time.time()``), as the workers' are.
"""

from __future__ import annotations

import os
import time

from grader.messages import BACKGROUND_STEPS, STARTUP_STEPS, StartupTimings

__all__ = ["StartupClock", "process_started"]


def process_started() -> float:
    """This process's start, in epoch seconds (to 1/100 s), or now when ``/proc`` cannot say.

    ``/proc/self/stat``'s 22nd field counts clock ticks from the boot to the process's start, on the
    clock that ``CLOCK_BOOTTIME`` reads.
    """
    try:
        with open("/proc/self/stat") as handle:
            # the command name (2nd field) is in parentheses and may hold spaces
            ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        since_start = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.time()
    return time.time() - max(0.0, since_start)


class StartupClock:
    """The start-up's steps as they end, one after the other, from ``origin``.

    Parameters
    ----------
    origin : float, optional
        Epoch seconds at which the first step began (default: :func:`process_started`).
    """

    def __init__(self, origin: float | None = None):
        self.origin = process_started() if origin is None else origin
        self.last = self.origin
        self.steps: dict[str, float] = {}
        self.background_steps: dict[str, float] = {}
        self.built: list[str] = []

    def mark(self, step: str, now: float | None = None) -> None:
        """``step`` ended now (or at ``now``): its seconds are those since the previous mark.

        A step marked again (a second assignment's bundle) adds to its seconds.
        """
        if step not in STARTUP_STEPS:
            raise ValueError(f"not a start-up step: {step}")
        now = time.time() if now is None else now
        self.steps[step] = self.steps.get(step, 0.0) + max(0.0, now - self.last)
        self.last = max(self.last, now)

    def background(self, step: str, seconds: float, built: bool = False) -> None:
        """A background step took ``seconds`` (the longest of several is kept)."""
        if step not in BACKGROUND_STEPS:
            raise ValueError(f"not a background start-up step: {step}")
        self.background_steps[step] = max(self.background_steps.get(step, 0.0), max(0.0, seconds))
        if built and step not in self.built:
            self.built.append(step)

    def note_built(self, step: str) -> None:
        """``step`` built what the machine's cache would have given."""
        if step not in self.built:
            self.built.append(step)

    def timings(self) -> StartupTimings:
        ordered = {step: self.steps[step] for step in STARTUP_STEPS if step in self.steps}
        background = {step: self.background_steps[step] for step in BACKGROUND_STEPS
                      if step in self.background_steps}
        return StartupTimings(steps=ordered, background=background, built=tuple(self.built))
