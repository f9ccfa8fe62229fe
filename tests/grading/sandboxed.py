"""Start one sandboxed kernel the way nbgrader does on a worker, run code in it, and read what it printed.

Shared by the tests of the kernel's start (``test_warm_start``, ``test_kernel_server``): a uid slot of
the machine, :class:`~grader.sandbox.kernel.SandboxKernelManager`, the machine's font list, and the
kernel launched as a new process or forked by a kernel server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from grader.messages import SandboxLimits
from grader.sandbox.kernel import (
    SandboxKernelManager,
    ensure_sandbox_user,
    machine_font_list,
    uid_slot,
)
from grader.sandbox.spec import SandboxSpec

#: How a kernel's code says what the test reads: a line ``REPORT <json>``
REPORT = "REPORT "


async def run_in_sandbox(folder: Path, name: str, code: str, kernel_server: str = "",
                         during: Callable[[SandboxKernelManager, int], Awaitable[None]] | None = None,
                         ) -> dict:
    """Run ``code`` in a new sandboxed kernel; its first ``REPORT`` line's JSON, with ``expected_uid``.

    Parameters
    ----------
    folder : Path
        Holds the font list and ``name``, which holds the kernel's working folder (``kernel``, the
        same name for every kernel) and its socket folder.
    kernel_server : str
        A kernel server's socket: the kernel is forked by it; empty: launched as a new process.
    during : callable, optional
        Awaited with the manager and the uid after ``code`` ran, while the kernel and its uid slot
        are still held.
    """
    _, gid = ensure_sandbox_user()
    with uid_slot() as uid:  # the machine's slots: a grading run may hold some at the same time
        work, ipc = folder / name / "kernel", folder / name / "ipc"
        work.mkdir(parents=True)
        os.chmod(work.parent, 0o755)
        ipc.mkdir(mode=0o700)
        os.chown(ipc, uid, gid)
        spec = SandboxSpec(uid=uid, gid=gid, ipc_dir=str(ipc), limits=SandboxLimits(),
                           preload=machine_font_list(folder / "fonts").preload, kernel_server=kernel_server)
        manager = SandboxKernelManager(sandbox=spec, kernel_name="python3")
        await manager.start_kernel(cwd=str(work))
        client = manager.client()
        client.start_channels()
        lines: list[str] = []
        try:
            await client.wait_for_ready(timeout=120)
            await client.execute_interactive(code, timeout=120, output_hook=lambda message: lines.append(
                message["content"].get("text", "") + message["content"].get("evalue", "")))
            if during is not None:
                await during(manager, uid)
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)
    reports = [line for text in lines for line in text.splitlines() if line.startswith(REPORT)]
    assert reports, lines
    return json.loads(reports[0][len(REPORT):]) | {"expected_uid": uid}


def in_own_event_loop(coroutine_function, *args, **kwargs):
    """Run a coroutine in a thread of its own: Playwright's sync API (the browser tests, which may share
    this pytest worker) keeps an event loop running in the main thread, where asyncio.run refuses."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_function(*args, **kwargs))).result()
