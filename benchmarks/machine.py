"""One line that says what machine a benchmark ran on, printed by every benchmark here."""

from __future__ import annotations

import os
import platform
import threading
from pathlib import Path


def load_average() -> str:
    try:
        return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "load average unknown"


def describe_machine() -> str:
    """``machine: <cores>, <CPU model>, <Python>, <load average>``."""
    model = platform.processor() or "unknown CPU"
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), model)
    except OSError:
        pass
    return (f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {model}, "
            f"{platform.python_implementation()} {platform.python_version()}, {load_average()}")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot, over all its CPUs (``/proc/stat``: user,
    nice, system, irq and softirq time; idle, iowait and the hypervisor's steal left out).

    The difference over a run counts every process of the run, however it ended (a process killed
    before its parent waited for it is missing from ``RUSAGE_CHILDREN``), and everything else the
    machine did meanwhile: meaningful on an otherwise idle machine only.
    """
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(value) for value in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def machine_memory_in_use() -> int:
    """Bytes of the machine's memory in use: ``MemTotal - MemAvailable`` (``/proc/meminfo``)."""
    fields = {line.split(":")[0]: int(line.split()[1]) * 1024
              for line in Path("/proc/meminfo").read_text().splitlines() if line.split()}
    return fields["MemTotal"] - fields["MemAvailable"]


def _descendants(root: int) -> set[int]:
    """``root`` and every process below it, by their parent pids (``/proc/<pid>/stat``)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:  # ended meanwhile
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, grown = {root}, True
    while grown:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        grown = bool(below)
        tree |= below
    return tree


def proportional_set_size(pids: set[int]) -> int:
    """Bytes of memory the processes ``pids`` hold, pages shared by several counted once in all
    (the sum of their ``Pss`` in ``/proc/<pid>/smaps_rollup``); a process that ended counts 0."""
    total = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) * 1024 for line in rollup.splitlines()
                       if line.startswith("Pss:")), 0)
    return total


class MemoryPeaks:
    """Samples, every ``interval`` seconds while it runs, the machine's memory in use and the memory
    of the process tree under ``root`` (its ``Pss``: every worker, kernel server and kernel of a
    grading run, however deep); keeps each one's peak.

    Attributes
    ----------
    machine_before : int
        Bytes in use when sampling started.
    machine_peak, tree_peak, tree_processes : int
        The highest of each sample (bytes; the number of processes at the tree's peak).
    samples : int
        How many samples were taken.
    """

    def __init__(self, root: int, interval: float = 0.5):
        self.root, self.interval = root, interval
        self.machine_before = self.machine_peak = machine_memory_in_use()
        self.tree_peak = self.tree_processes = self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            tree = _descendants(self.root)
            held = proportional_set_size(tree)
            if held > self.tree_peak:
                self.tree_peak, self.tree_processes = held, len(tree)
            self.machine_peak = max(self.machine_peak, machine_memory_in_use())
            self.samples += 1
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
