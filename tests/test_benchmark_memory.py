"""The memory sampler of the benchmarks (:class:`benchmarks.machine.MemoryPeaks`): it sees a process's
grandchild, as a grading run's kernels sit below workers and servers, and keeps the peak after the
memory is gone."""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.machine import MemoryPeaks

# a child that starts a grandchild; the grandchild holds 200 MB (written, so resident) for a second
HOLDER = """
import subprocess, sys
holder = "import time; held = b'x' * (200 * 2**20); time.sleep(1.0)"
subprocess.run([sys.executable, "-c", holder], check=True)
"""


def test_the_peak_counts_a_grandchild_s_memory_after_it_is_freed():
    process = subprocess.Popen([sys.executable, "-c", HOLDER])
    peaks = MemoryPeaks(process.pid, interval=0.1)
    assert process.wait(timeout=60) == 0
    time.sleep(0.3)
    peaks.stop()
    assert peaks.tree_peak >= 200 * 2**20, peaks.tree_peak
    assert peaks.tree_processes >= 2
    assert peaks.samples >= 5
