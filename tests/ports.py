"""A port for a server a test starts: free now, and out of the range the system hands out by itself.

A port found by binding to port 0 comes from the system's ephemeral range
(``/proc/sys/net/ipv4/ip_local_port_range``), the range every other process that binds to port 0 or
connects draws from too: between the moment it is released and the moment the server binds it, a
Dask scheduler or worker of a grading test running beside it may take it (a CI run's JupyterHub found
a Dask handshake on its own port). Ports below that range are never handed out by the system, so
only a process that names one can take it.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOWEST = 10000  # above the ports that system services name


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port(*addresses: str) -> int:
    """A port that no socket holds on any of ``addresses`` (default: 127.0.0.1), drawn at random below
    the ephemeral range.

    Parameters
    ----------
    *addresses : str
        The loopback addresses the server will listen on.

    Returns
    -------
    int
        The port; nothing holds it when this returns.
    """
    addresses = addresses or ("127.0.0.1",)
    draw = random.SystemRandom()  # not the random module's state, which a test may have seeded
    for _ in range(200):
        port = draw.randrange(LOWEST, _ephemeral_start())
        if is_free(port, *addresses):
            return port
    raise RuntimeError(f"no port free on every one of {addresses}")


def is_free(port: int, *addresses: str) -> bool:
    """Whether a server could bind ``port`` now on each of ``addresses``."""
    try:
        for address in addresses:
            with socket.socket() as probe:
                probe.bind((address, port))
    except OSError:
        return False
    return True
