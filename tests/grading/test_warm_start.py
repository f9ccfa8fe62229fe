"""Warm starts of the sandbox: matplotlib's font list is built once per machine, each kernel gets a copy.

Two sandboxed kernels are started the way nbgrader starts them (:class:`SandboxKernelManager`, the
launcher, an unprivileged uid each): both find the font list in their private ``/tmp/matplotlib``,
owned by their own uid, and load it without scanning the fonts again; what the first kernel writes
there, the second never sees.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os

import pytest

from grader.messages import SandboxLimits
from grader.sandbox.kernel import (
    KERNEL_MPLCONFIGDIR,
    SandboxKernelManager,
    ensure_sandbox_user,
    matplotlib_font_cache,
    uid_slot,
)
from grader.sandbox.spec import SandboxSpec

# run in each kernel: report the copy it found, load it, then tamper with it
PROBE = f"""
import glob, json, os
found = sorted(glob.glob("{KERNEL_MPLCONFIGDIR}/fontlist-*.json"))
owner = os.stat(found[0]).st_uid if found else None
before = os.stat(found[0]).st_mtime_ns if found else None
tampered_before = os.path.exists("{KERNEL_MPLCONFIGDIR}/tampered")
import matplotlib.font_manager as fm  # rewrites the list when it finds no usable copy
rewritten = before is None or os.stat(found[0]).st_mtime_ns != before
open("{KERNEL_MPLCONFIGDIR}/tampered", "w").write("x")
print("REPORT", json.dumps({{"found": len(found), "owner": owner, "uid": os.getuid(), "rewritten": rewritten,
                            "tampered_before": tampered_before, "fonts": len(fm.fontManager.ttflist)}}))
"""


async def _run_in_sandbox(tmp_path, name: str) -> dict:
    import json

    _, gid = ensure_sandbox_user()
    with uid_slot() as uid:  # the machine's slots: a grading run may hold some at the same time
        work, ipc = tmp_path / name, tmp_path / f"{name}-ipc"
        work.mkdir()
        ipc.mkdir(mode=0o700)
        os.chown(ipc, uid, gid)
        spec = SandboxSpec(uid=uid, gid=gid, ipc_dir=str(ipc), limits=SandboxLimits(),
                           preload=matplotlib_font_cache(tmp_path / "fonts"))
        manager = SandboxKernelManager(sandbox=spec, kernel_name="python3")
        await manager.start_kernel(cwd=str(work))
        client = manager.client()
        client.start_channels()
        lines = []
        try:
            await client.wait_for_ready(timeout=120)
            await client.execute_interactive(PROBE, timeout=120, output_hook=lambda message: lines.append(
                message["content"].get("text", "") + message["content"].get("evalue", "")))
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)
    reports = [line for text in lines for line in text.splitlines() if line.startswith("REPORT ")]
    assert reports, lines
    return json.loads(reports[0][len("REPORT "):]) | {"expected_uid": uid}


def _in_own_event_loop(coroutine_function, *args):
    """Run a coroutine in a thread of its own: Playwright's sync API (the browser tests, which may share
    this pytest worker) keeps an event loop running in the main thread, where asyncio.run refuses."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_function(*args))).result()


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root")
def test_each_kernel_starts_with_its_own_copy_of_the_font_list(tmp_path):
    os.chmod(tmp_path, 0o755)
    first = _in_own_event_loop(_run_in_sandbox, tmp_path, "first")
    second = _in_own_event_loop(_run_in_sandbox, tmp_path, "second")
    for report in (first, second):
        assert report["found"] >= 1, report
        assert report["owner"] == report["uid"] == report["expected_uid"], report
        assert report["fonts"] > 0 and not report["rewritten"], report
    assert not second["tampered_before"], "the second kernel saw what the first wrote: shared /tmp"
