"""A kernel side in a process of its own: the student's cells run there, the judge reaches them by socket.

Used by the mutation harness (each entry's code runs in a fresh process, the tests in the judge's)
and wherever a Jupyter kernel is not needed. An interrupt is SIGINT to the process, which stops a
student's call in its main thread.

:class:`KernelForks` starts one process that runs the cells every kernel shares (a notebook's setup
cell: its imports take a second or two) and then forks a kernel per request, which runs its own cells
and serves them: a kernel costs a fork instead of an interpreter's start. ``python -m
grader.judge.subprocess_kernel CONTROL_SOCKET SHARED_CELLS_JSON`` is that process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from course.channel_codec import recv_frame, send_frame
from course.kernel_channel import run_cells, serve
from grader.judge.channel import Limits, connect
from grader.judge.remote import Remote

__all__ = ["SubprocessKernel", "KernelForks"]

Cells = list[tuple[str, str]]


def _end(process: subprocess.Popen, seconds: float) -> None:
    """Wait ``seconds`` for ``process`` to end, then kill it."""
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class KernelForks:
    """A process that ran ``shared_cells`` and forks a kernel side for each :meth:`kernel`.

    Use as a context manager.

    Parameters
    ----------
    shared_cells : list of (str, str)
        ``(label, source)`` pairs run once, before any fork (a notebook's setup cell).
    """

    def __init__(self, shared_cells: Cells, start_seconds: float = 120.0):
        self.folder = tempfile.TemporaryDirectory(prefix="judge-forks-")
        folder = Path(self.folder.name)
        (folder / "shared.json").write_text(json.dumps([list(c) for c in shared_cells]), encoding="utf-8")
        control = str(folder / "control.sock")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.judge.subprocess_kernel", control, str(folder / "shared.json")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, cwd=folder,
        )
        self.control = connect(control, None, Limits(call_seconds=start_seconds), start_seconds,
                               alive=lambda: self.process.poll() is None).sock
        self.count = 0

    def kernel(self, cells: Cells, limits: Limits | None = None) -> SubprocessKernel:
        """A new kernel side that ran ``cells`` after the shared ones."""
        self.count += 1
        path = str(Path(self.folder.name) / f"kernel-{self.count}.sock")
        send_frame(self.control, json.dumps({"cells": [list(c) for c in cells], "socket": path}).encode())
        pid = int(recv_frame(self.control, 64))
        return SubprocessKernel(pid=pid, socket_path=path, limits=limits)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.control.close()
        _end(self.process, 5.0)
        self.folder.cleanup()

    def __enter__(self) -> KernelForks:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SubprocessKernel:
    """A kernel side in another process, connected; ``remote`` is the judge's view of it.

    Either started here, running ``cells`` (``(label, source)`` pairs, each compiled as
    ``<label>``) in a new interpreter, or given as the ``pid`` and ``socket_path`` of a kernel
    :class:`KernelForks` forked. Use as a context manager.
    """

    def __init__(self, cells: Cells | None = None, limits: Limits | None = None, start_seconds: float = 60.0,
                 pid: int | None = None, socket_path: str | None = None):
        self.folder = None
        self.process = None
        if pid is None:
            self.folder = tempfile.TemporaryDirectory(prefix="judge-kernel-")
            folder = Path(self.folder.name)
            (folder / "cells.json").write_text(json.dumps([list(c) for c in cells or []]), encoding="utf-8")
            socket_path = str(folder / "kernel.sock")
            self.process = subprocess.Popen(
                [sys.executable, "-m", "course.kernel_channel", socket_path, str(folder / "cells.json")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder,
            )
            pid = self.process.pid
        self.pid = pid
        try:
            channel = connect(socket_path, self.interrupt, limits or Limits(), start_seconds,
                              alive=self.alive)
        except BaseException:
            self.close()
            raise
        self.remote = Remote(channel)

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def interrupt(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)

    def close(self) -> None:
        """Stop serving and end the process."""
        if hasattr(self, "remote"):
            self.remote.close()
        if self.process is None:  # a fork: nothing of it is worth a clean exit
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            return
        _end(self.process, 1.0)
        self.folder.cleanup()

    def __enter__(self) -> SubprocessKernel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _serve_forks(control_path: str, shared_file: str) -> None:
    """Run the shared cells, then fork a kernel side for each request on the control socket."""
    namespace: dict = {"__name__": "__main__"}
    run_cells(json.loads(Path(shared_file).read_text(encoding="utf-8")), namespace)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forks are reaped by the system
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(control_path)
    listener.listen(1)
    control, _ = listener.accept()
    listener.close()
    while True:
        try:
            request = json.loads(recv_frame(control, 1 << 30))
        except Exception:  # noqa: BLE001 - the harness closed the control socket: done
            return
        pid = os.fork()
        if pid == 0:
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            status = 0
            try:
                kernel_namespace = dict(namespace)
                run_cells([tuple(c) for c in request["cells"]], kernel_namespace)
                serve(request["socket"], kernel_namespace)
            except BaseException:  # noqa: BLE001 - a cell that raised: the judge finds no socket
                status = 1
            finally:
                os._exit(status)
        send_frame(control, str(pid).encode())


if __name__ == "__main__":
    _serve_forks(*sys.argv[1:])
