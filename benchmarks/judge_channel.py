"""What one call into student code costs through the judge's channel, against a Jupyter execute_request.

Usage (from the repository root)::

    .venv/bin/python benchmarks/judge_channel.py [--calls 2000] [--rounds 5]

Prints figures, asserts nothing. Issue 21's bar: at most 0.3 ms per forwarded call. Three ways to
call ``relu_forward(x)`` in another process and have its result, each timed in this run:

1. the channel to a kernel side in a process of its own (``grader.judge.subprocess_kernel``: the
   mutation harness's setting);
2. the channel served inside a real IPython kernel (``course.kernel_channel.serve`` run by one
   ``execute_request``, as grading would run it);
3. one Jupyter ``execute_request`` per call on the same kind of kernel, waiting for its reply and
   for the kernel to be idle again (as nbclient does). The result stays in the kernel, so this is a
   lower bound for a call whose result must come back.

Each is timed with several inputs: a (4, 5) array (most calls of the tests are this small), a
(64, 64) array, and a method call on a handle (``Value(2.0) * 3``, an operator on a student object).
A figure is the median over ``--rounds`` rounds of the mean per call of ``--calls`` calls, in wall
time and in CPU time (this process's and the kernel's, from ``/proc``): on a shared machine the wall
time includes waiting for a core, the CPU time does not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe_machine  # noqa: E402
from grader.judge.channel import connect  # noqa: E402
from grader.judge.remote import Remote  # noqa: E402
from grader.judge.subprocess_kernel import SubprocessKernel  # noqa: E402

STUDENT = """
import numpy as np

def relu_forward(x):
    out = np.maximum(x, 0.0)
    return out, x

class Value:
    def __init__(self, data):
        self.data = data
    def __mul__(self, other):
        return Value(self.data * (other.data if isinstance(other, Value) else other))
"""
SMALL = np.random.default_rng(0).standard_normal((4, 5))
LARGE = np.random.default_rng(1).standard_normal((64, 64))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_call_ms(call, calls: int, rounds: int, kernel_pid: int) -> tuple[float, float]:
    """Median (wall ms, CPU ms of both processes) per call."""
    call()  # warm up
    walls, cpus = [], []
    for _ in range(rounds):
        start, cpu_start = time.perf_counter(), time.process_time() + cpu_seconds(kernel_pid)
        for _ in range(calls):
            call()
        walls.append((time.perf_counter() - start) / calls * 1e3)
        cpus.append((time.process_time() + cpu_seconds(kernel_pid) - cpu_start) / calls * 1e3)
    return statistics.median(walls), statistics.median(cpus)


def channel_figures(remote: Remote, calls: int, rounds: int, kernel_pid: int) -> dict[str, tuple]:
    relu_forward = remote.lookup("relu_forward")
    value = remote.lookup("Value")(2.0)
    return {
        "(4, 5) array": per_call_ms(lambda: relu_forward(SMALL), calls, rounds, kernel_pid),
        "(64, 64) array": per_call_ms(lambda: relu_forward(LARGE), calls, rounds, kernel_pid),
        "operator on a handle": per_call_ms(lambda: value * 3, calls, rounds, kernel_pid),
    }


def execute(client, code: str, timeout: float = 60.0) -> None:
    """One execute_request, waiting for its reply and for the kernel to be idle (as nbclient does)."""
    msg_id = client.execute(code, store_history=False)
    while True:
        reply = client.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    while True:
        message = client.get_iopub_msg(timeout=timeout)
        if (message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "status"
                and message["content"]["execution_state"] == "idle"):
            return


def ipykernel_figures(calls: int, rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        execute(client, STUDENT)
        execute(client, f"x_small = np.random.default_rng(0).standard_normal({SMALL.shape})\n"
                        f"x_large = np.random.default_rng(1).standard_normal({LARGE.shape})\n"
                        "value = Value(2.0)")
        pid = manager.provisioner.pid
        by_request = {
            what: per_call_ms(lambda code=code: execute(client, code), calls // 10, rounds, pid)
            for what, code in (("(4, 5) array", "_ = relu_forward(x_small)"),
                               ("(64, 64) array", "_ = relu_forward(x_large)"),
                               ("operator on a handle", "_ = value * 3"))
        }
        with tempfile.TemporaryDirectory() as folder:
            path = str(Path(folder) / "kernel.sock")
            serving = client.execute(
                f"import course.kernel_channel\ncourse.kernel_channel.serve({path!r}, globals())")
            remote = Remote(connect(path, manager.interrupt_kernel))
            by_channel = channel_figures(remote, calls, rounds, pid)
            remote.close()
            while client.get_shell_msg(timeout=60)["parent_header"].get("msg_id") != serving:
                pass
        return by_channel, by_request
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(describe_machine())
    with SubprocessKernel([("student", STUDENT)]) as kernel:
        subprocess_channel = channel_figures(kernel.remote, args.calls, args.rounds, kernel.process.pid)
    in_kernel_channel, by_request = ipykernel_figures(args.calls, args.rounds)
    print(f"ms per call, wall / CPU of both processes (median of {args.rounds} rounds; {args.calls} calls a "
          f"round through the channel, {args.calls // 10} execute_requests)")
    print(f"{'call':22} {'channel, process':>17} {'channel, ipykernel':>19} {'execute_request':>16} "
          f"{'ratio (wall)':>13}")
    for what, (request_wall, request_cpu) in by_request.items():
        process_wall, process_cpu = subprocess_channel[what]
        kernel_wall, kernel_cpu = in_kernel_channel[what]
        print(f"{what:22} {process_wall:8.3f} / {process_cpu:.3f} {kernel_wall:10.3f} / {kernel_cpu:.3f} "
              f"{request_wall:7.3f} / {request_cpu:.3f} {request_wall / kernel_wall:12.1f}x")
    print(describe_machine())


if __name__ == "__main__":
    main()
