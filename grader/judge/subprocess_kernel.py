"""A kernel side in a process of its own: the student's cells run there, the judge reaches them by socket.

Used by the mutation harness (each entry's code runs in a fresh process, the tests in the judge's)
and wherever a Jupyter kernel is not needed. The process runs ``python -m course.kernel_channel``;
an interrupt is SIGINT to it, which stops a student's call in its main thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.judge.channel import Limits, connect
from grader.judge.remote import Remote

__all__ = ["SubprocessKernel"]


class SubprocessKernel:
    """Run ``cells`` (``(label, source)`` pairs) in a new Python process and connect to it.

    Use as a context manager; ``remote`` is the :class:`~grader.judge.remote.Remote` to bind names from.

    Parameters
    ----------
    cells : list of (str, str)
        The student's code, cell by cell; a cell is compiled as ``<label>``.
    limits : Limits
        The channel's time and size limits.
    start_seconds : float
        How long the process may take to run the cells and open its socket.
    """

    def __init__(self, cells: list[tuple[str, str]], limits: Limits | None = None,
                 start_seconds: float = 60.0):
        self.folder = tempfile.TemporaryDirectory(prefix="judge-kernel-")
        folder = Path(self.folder.name)
        (folder / "cells.json").write_text(json.dumps([list(c) for c in cells]), encoding="utf-8")
        self.socket_path = str(folder / "kernel.sock")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "course.kernel_channel", self.socket_path, str(folder / "cells.json")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=folder,
        )
        try:
            channel = connect(self.socket_path, self.interrupt, limits or Limits(), start_seconds,
                              alive=lambda: self.process.poll() is None)
        except BaseException:
            self.close()
            raise
        self.remote = Remote(channel)

    def interrupt(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGINT)

    def close(self) -> None:
        """Stop serving and end the process (killed if it does not end within a second)."""
        if hasattr(self, "remote"):
            self.remote.close()
        try:
            self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        self.folder.cleanup()

    def __enter__(self) -> SubprocessKernel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
