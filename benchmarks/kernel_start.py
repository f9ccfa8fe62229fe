"""Start time of one sandboxed kernel, as ``course grade`` starts it.

Usage (from the repository root, as root: the sandbox needs it)::

    .venv/bin/python benchmarks/kernel_start.py [--runs 7]

Prints figures, asserts nothing. Each run starts a kernel with
:class:`grader.sandbox.kernel.SandboxKernelManager` (the launcher, the file view, the limits, an
unprivileged uid), the way a worker does, and measures

* ``ready``: from ``start_kernel`` until the kernel answers (``wait_for_ready``), the task's
  ``kernel_start`` phase;
* ``first cell``: then running ``import numpy, matplotlib.pyplot`` in it, as the notebooks' first cell
  does.

One run before the measured ones warms the page cache and builds matplotlib's font list.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe_machine  # noqa: E402
from grader.messages import SandboxLimits  # noqa: E402
from grader.sandbox.kernel import (  # noqa: E402
    SandboxKernelManager,
    ensure_sandbox_user,
    matplotlib_font_cache,
    sandbox_unavailable_reason,
    uid_slot,
)


async def one_start(folder: Path, name: str) -> tuple[float, float]:
    """Seconds until the kernel answers, then seconds of its first cell."""
    _, gid = ensure_sandbox_user()
    with uid_slot(folder / "uids") as uid:
        work, ipc = folder / name, folder / f"{name}-ipc"
        work.mkdir()
        ipc.mkdir(mode=0o700)
        os.chown(ipc, uid, gid)
        spec = {"enabled": True, "uid": uid, "gid": gid, "ipc_dir": str(ipc),
                "limits": SandboxLimits().as_dict(), "preload": matplotlib_font_cache(folder / "fonts")}
        manager = SandboxKernelManager(sandbox=spec, kernel_name="python3")
        started = time.perf_counter()
        await manager.start_kernel(cwd=str(work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=120)
            ready = time.perf_counter()
            reply = await client.execute_interactive("import numpy, matplotlib.pyplot", timeout=120)
            assert reply["content"]["status"] == "ok", reply["content"]
            first_cell = time.perf_counter()
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)
    return ready - started, first_cell - ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    reason = sandbox_unavailable_reason()
    if reason:
        raise SystemExit(reason)
    print(describe_machine())
    with tempfile.TemporaryDirectory(prefix="kernel-start-", dir=ROOT / "test-artifacts"
                                     if (ROOT / "test-artifacts").is_dir() else None) as folder:
        folder = Path(folder)
        os.chmod(folder, 0o755)
        asyncio.run(one_start(folder, "warm-up"))
        runs = [asyncio.run(one_start(folder, f"run{index}")) for index in range(args.runs)]
    for label, values in (("ready", [r[0] for r in runs]), ("first cell", [r[1] for r in runs])):
        print(f"{label:>10}: median {statistics.median(values):.3f} s, min {min(values):.3f} s, "
              f"max {max(values):.3f} s over {len(values)} runs")


if __name__ == "__main__":
    main()
