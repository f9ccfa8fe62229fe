"""A throwaway OpenSSH server on loopback addresses, for the SSH-started Dask cluster test.

It listens only on the loopback addresses it is given (e.g. 127.0.0.1 and 127.0.0.2: two "hosts" of
one machine), on a free port, with a host key and one client key made for the test, and lets in
only root with that key. Everything lives in one folder and is gone with the server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_port

SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class SSHServer:
    """Where the test server answers, and the client key it accepts."""

    addresses: tuple[str, ...]
    port: int
    client_key: Path

    def connect_options(self) -> dict:
        """``asyncssh.connect`` options for Dask's ``SSHCluster``: root, the test's key, no known_hosts."""
        return {"port": self.port, "username": "root", "client_keys": [str(self.client_key)],
                "known_hosts": None}


def why_no_sshd() -> str | None:
    """Why the server cannot run here, or None."""
    if os.geteuid() != 0:
        return "sshd logs users in only when it runs as root"
    if not Path(SSHD).exists() or shutil.which("ssh-keygen") is None:
        return f"{SSHD} or ssh-keygen is missing (scripts/install_grading_deps.sh installs openssh-server)"
    return None


def _answering(address: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=1) as conn:
        return conn.recv(4).startswith(b"SSH-")
    return False


@contextlib.contextmanager
def ssh_server(folder: Path, addresses: tuple[str, ...] = ("127.0.0.1", "127.0.0.2")) -> Iterator[SSHServer]:
    """Run ``sshd -D`` on ``addresses`` (loopback only) until the block ends."""
    if any(not address.startswith("127.") for address in addresses):
        raise ValueError("the test server listens on loopback addresses only")
    folder.mkdir(parents=True, exist_ok=True)
    host_key, client_key = folder / "host_ed25519", folder / "client_ed25519"
    for key in (host_key, client_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = folder / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    port = free_port(*addresses)
    config = folder / "sshd_config"
    config.write_text("\n".join([
        *(f"ListenAddress {address}:{port}" for address in addresses),
        f"HostKey {host_key}",
        f"AuthorizedKeysFile {authorized}",
        f"PidFile {folder / 'sshd.pid'}",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",  # the test's folder is not root's home
        "AllowTcpForwarding no",
        "X11Forwarding no",
        "PrintMotd no",
        "LogLevel VERBOSE",  # logs the local address of every connection
        "",
    ]))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation folder
    log = open(folder / "sshd.log", "w")
    server = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not all(_answering(address, port) for address in addresses):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not start: {(folder / 'sshd.log').read_text()[-2000:]}")
            time.sleep(0.1)
        yield SSHServer(addresses, port, client_key)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()
