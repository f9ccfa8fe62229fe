"""Sandbox uid slots are machine-wide: a holder never gets, nor kills, a uid another process holds."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from grader.sandbox.kernel import uid_slot

HOLD_A_SLOT = """
import sys
from grader.sandbox.kernel import uid_slot
with uid_slot() as uid:
    print(uid, flush=True)
    sys.stdin.read()  # hold the slot until the test closes stdin
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="uids of others are only killed as root")
def test_a_second_holder_gets_another_uid_and_kills_nothing_of_the_first():
    holder = subprocess.Popen([sys.executable, "-c", HOLD_A_SLOT], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        held = int(holder.stdout.readline())
        # a process of the held uid, as a kernel of that slot would be
        kernel = subprocess.Popen(["sleep", "60"], user=held, group=held)
        try:
            with uid_slot() as mine:
                assert mine != held
                assert kernel.poll() is None, "taking another slot killed the first holder's kernel"
        finally:
            kernel.kill()
            kernel.wait()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
