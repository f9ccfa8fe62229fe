"""One line that says what machine a benchmark ran on, printed by every benchmark here."""

from __future__ import annotations

import os
import platform
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
