"""Start time of one sandboxed kernel, as ``course grade`` starts it: launched, and forked.

Usage (from the repository root, as root: the sandbox needs it)::

    .venv/bin/python benchmarks/kernel_start.py [--runs 7]

Prints figures, asserts nothing. Each run starts a kernel with
:class:`grader.sandbox.kernel.SandboxKernelManager` (the file view, the limits, an unprivileged uid),
the way a worker does, in two ways, one after the other:

* ``launched``: a new process (``unshare`` and :mod:`grader.sandbox.launcher`);
* ``forked``: forked by a kernel server (:mod:`grader.sandbox.kernel_server`), as ``course grade``
  does when the machine's font list exists;

and measures

* ``ready``: from ``start_kernel`` until the kernel answers (``wait_for_ready``), the task's
  ``kernel_start`` phase;
* ``first cell``: then running ``import numpy, matplotlib.pyplot, ipywidgets`` in it, as the
  notebooks' first cells do;
* ``CPU``: the CPU seconds of the kernel until it has run that cell (its own times, read in the
  kernel; a launched kernel's include the launcher's, which it was before its ``exec``), plus those of
  ``unshare`` or of a forked kernel's stand-in: what a busy worker pays. Not counted: the server's fork
  itself and the monitor, a few milliseconds.

One run of each before the measured ones warms the page cache, builds matplotlib's font list and
starts the kernel server (its own start is printed once: a worker pays it once).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
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
    machine_font_list,
    sandbox_unavailable_reason,
    uid_slot,
)
from grader.sandbox.kernel_server import shared_kernel_server  # noqa: E402
from grader.sandbox.spec import SandboxSpec  # noqa: E402

FIRST_CELL = "import numpy, matplotlib.pyplot, ipywidgets"
#: the kernel's CPU seconds so far (user and system), read by the kernel itself
CPU_SO_FAR = "import os; print(sum(os.times()[:2]))"


async def one_start(folder: Path, name: str, kernel_server: str) -> tuple[float, float, float]:
    """Seconds until the kernel answers, seconds of its first cell, CPU seconds of its start and cell."""
    _, gid = ensure_sandbox_user()
    with uid_slot() as uid:
        work, ipc = folder / name, folder / f"{name}-ipc"
        work.mkdir()
        ipc.mkdir(mode=0o700)
        os.chown(ipc, uid, gid)
        spec = SandboxSpec(uid=uid, gid=gid, ipc_dir=str(ipc), limits=SandboxLimits(),
                           preload=machine_font_list(folder / "fonts").preload, kernel_server=kernel_server)
        manager = SandboxKernelManager(sandbox=spec, kernel_name="python3")
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        await manager.start_kernel(cwd=str(work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = manager.client()
        client.start_channels()
        output: list[str] = []
        try:
            await client.wait_for_ready(timeout=120)
            ready = time.perf_counter()
            reply = await client.execute_interactive(FIRST_CELL, timeout=120)
            assert reply["content"]["status"] == "ok", reply["content"]
            first_cell = time.perf_counter()
            await client.execute_interactive(CPU_SO_FAR, timeout=60, output_hook=lambda message: (
                output.append(message["content"].get("text", ""))))
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the kernel's own times (a launched kernel's include the launcher's, the same process before its
    # exec), plus what this process reaped: unshare, or a forked kernel's stand-in
    reaped = (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    kernel = float("".join(output).strip() or "nan")
    return ready - started, first_cell - ready, reaped + kernel


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
        started = time.perf_counter()
        server = shared_kernel_server(machine_font_list(folder / "fonts"))
        if server is None:
            raise SystemExit("the kernel server did not start")
        print(f"kernel server's start (once per worker): {time.perf_counter() - started:.2f} s")
        ways = {"launched": "", "forked": server.socket}
        for way, socket in ways.items():
            asyncio.run(one_start(folder, f"warm-up-{way}", socket))
        runs: dict[str, list[tuple[float, float, float]]] = {way: [] for way in ways}
        for index in range(args.runs):  # interleaved: a change in the machine's load meets both
            for way, socket in ways.items():
                runs[way].append(asyncio.run(one_start(folder, f"{way}{index}", socket)))
    medians = {}
    for way, measured in runs.items():
        for position, label in enumerate(("ready", "first cell", "CPU")):
            values = [run[position] for run in measured]
            medians[way, label] = statistics.median(values)
            print(f"{way:>8} {label:>10}: median {medians[way, label]:.3f} s, min {min(values):.3f} s, "
                  f"max {max(values):.3f} s over {len(values)} runs")
    for label in ("ready", "first cell", "CPU"):
        print(f"{label:>10}: forked/launched {medians['forked', label] / medians['launched', label]:.2f}")
    total = {way: medians[way, "ready"] + medians[way, "first cell"] for way in ways}
    print(f"ready and first cell: launched {total['launched']:.3f} s, forked {total['forked']:.3f} s, "
          f"saved {total['launched'] - total['forked']:.3f} s per kernel")


if __name__ == "__main__":
    main()
