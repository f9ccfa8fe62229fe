"""A throwaway PostgreSQL server on loopback, for the grading tests and the recorder benchmark.

Started from the Debian server packages (``scripts/install_grading_deps.sh`` installs them) as the
``postgres`` system user, with trust authentication on 127.0.0.1 only, in a temporary folder that is
removed when the server stops.
"""

from __future__ import annotations

import contextlib
import glob
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.ports import free_port

__all__ = ["postgres_binaries", "postgres_server", "create_database"]


def postgres_binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (newest version), or None when the server is missing."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server; yield ``postgresql+psycopg2://postgres@127.0.0.1:PORT``; stop and remove it.

    Raises
    ------
    FileNotFoundError
        When the server binaries are missing.
    """
    binaries = postgres_binaries()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL server binaries are missing: run scripts/install_grading_deps.sh "
                                "(as root)")
    data = Path(tempfile.mkdtemp(prefix="pg-"))
    shutil.chown(data, "postgres", "postgres")
    port = free_port()

    def as_postgres(*command):
        return subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True,
                              capture_output=True, text=True, cwd=data)

    try:
        as_postgres(str(binaries / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "postgres")
        as_postgres(str(binaries / "pg_ctl"), "-D", str(data / "db"), "-w", "-l", str(data / "log"), "-o",
                    f"-c listen_addresses=127.0.0.1 -p {port} -k {data}", "start")
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(binaries / "pg_ctl"), "-D", str(data / "db"),
                        "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def create_database(server: str, name: str) -> str:
    """Create database ``name`` on ``server`` (a URL without a database); return its URL."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{server}/{name}"
