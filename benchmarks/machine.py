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
