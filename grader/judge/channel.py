"""The judge's end of the channel: one request at a time to a student's kernel, bounded in time and size.

The kernel's side is :mod:`course.kernel_channel`; the encoding is :mod:`course.channel_codec`. This
module only moves frames: it sends a request, waits at most ``limits.call_seconds`` for the reply
(then interrupts the kernel and waits ``limits.grace_seconds`` more), refuses a reply longer than
``limits.reply_bytes``, and decodes it without ever unpickling. Once a call timed out without an
answer, or the kernel closed the socket or sent bytes that are not a value, the channel is *lost*:
every later request raises :class:`KernelLost` at once, so a dead or hanging kernel costs the checks
that needed it and nothing else.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from course.channel_codec import ChannelError, decode, encode, recv_frame, send_frame

__all__ = ["Limits", "Channel", "KernelLost", "CallTimeout", "connect"]


@dataclass(frozen=True)
class Limits:
    """How long one forwarded call may take, all the calls of one test cell together, and how large
    one reply may be (``cell_seconds`` None: no limit per cell, only per call)."""

    call_seconds: float = 30.0
    cell_seconds: float | None = None
    grace_seconds: float = 2.0
    reply_bytes: int = 64 * 1024 * 1024


class KernelLost(RuntimeError):
    """The student's kernel no longer answers (it died, hung, or broke the protocol)."""


class CallTimeout(TimeoutError):
    """A forwarded call took longer than its limit."""


class Channel:
    """A connected socket to a kernel's :func:`course.kernel_channel.serve`.

    Parameters
    ----------
    sock : socket.socket
        Connected to the kernel's side.
    interrupt : callable, optional
        Interrupts the kernel's main thread (SIGINT to its process, or the kernel manager's
        ``interrupt_kernel``); called when a call exceeds its time limit.
    limits : Limits
        The time and size limits.
    """

    def __init__(self, sock: socket.socket, interrupt: Callable[[], None] | None = None,
                 limits: Limits | None = None):
        self.sock = sock
        self.interrupt = interrupt
        self.limits = limits or Limits()
        self.lost: str | None = None
        self.requests = 0
        #: ``time.monotonic()`` by which the current test cell's calls must be answered (None: none)
        self.cell_deadline: float | None = None

    def exchange(self, request: tuple, reference: Callable[[Any], Any]) -> tuple:
        """Send one request and return the decoded reply (references still as ``Reference``)."""
        if self.lost:
            raise KernelLost(self.lost)
        payload = encode(request, reference)
        self.requests += 1
        try:
            send_frame(self.sock, payload)
            return self._receive(request[0])
        except CallTimeout:
            raise
        except (ChannelError, OSError) as error:
            self._lose(f"the student's kernel broke the channel: {error}")
            raise KernelLost(self.lost) from None

    def _receive(self, what: str) -> tuple:
        call_deadline = time.monotonic() + self.limits.call_seconds
        by_cell = self.cell_deadline is not None and self.cell_deadline < call_deadline
        try:
            deadline = self.cell_deadline if by_cell else call_deadline
            frame = recv_frame(self.sock, self.limits.reply_bytes, deadline)
        except TimeoutError:
            frame = self._after_timeout(what, by_cell)
        reply = decode(frame)
        if type(reply) is not tuple or not reply or reply[0] not in ("ok", "error", "refused"):
            raise ChannelError("a reply that is not one of the protocol's")
        return reply

    def _after_timeout(self, what: str, by_cell: bool) -> bytes:
        """Interrupt the kernel; raise CallTimeout whether or not it then answers."""
        if by_cell:
            message = (f"the test cell's calls into the student's code took longer than "
                       f"{self.limits.cell_seconds:g} s together (the last: {what})")
        else:
            message = (f"a call into the student's code ({what}) took longer than "
                       f"{self.limits.call_seconds:g} s")
        if self.interrupt is not None:
            with contextlib.suppress(Exception):
                self.interrupt()
            try:  # the interrupted call's answer
                recv_frame(self.sock, self.limits.reply_bytes, time.monotonic() + self.limits.grace_seconds)
            except (TimeoutError, ChannelError, OSError):
                self._lose(message + ", and did not stop when interrupted")
            raise CallTimeout(message)
        self._lose(message)
        raise CallTimeout(message)

    def _lose(self, reason: str) -> None:
        self.lost = self.lost or reason
        with contextlib.suppress(OSError):
            self.sock.close()

    def close(self, request: bytes | None = None) -> None:
        """Tell the kernel's side to stop serving (``request``: the encoded close), then close."""
        if not self.lost and request is not None:
            with contextlib.suppress(OSError):
                send_frame(self.sock, request)
        self._lose("the channel was closed")


def connect(path: str, interrupt: Callable[[], None] | None = None, limits: Limits | None = None,
            wait_seconds: float = 30.0, alive: Callable[[], bool] | None = None) -> Channel:
    """Connect to the kernel's socket at ``path``, waiting up to ``wait_seconds`` for it to listen.

    ``alive`` (optional) says whether the kernel still runs; connecting stops early when it does not.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return Channel(sock, interrupt, limits)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if time.monotonic() > deadline or (alive is not None and not alive()):
                raise KernelLost(f"the student's kernel did not open its channel at {path}") from None
            time.sleep(0.01)
