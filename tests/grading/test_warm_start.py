"""Warm starts of the sandbox: matplotlib's font list is built once per machine, each kernel gets a copy.

Two sandboxed kernels are started the way nbgrader starts them (:class:`SandboxKernelManager`, the
launcher or a kernel server, an unprivileged uid each): both find the font list in their private
``/tmp/matplotlib``, owned by their own uid, and load it without scanning the fonts again; what the
first kernel writes there, the second never sees.
"""

from __future__ import annotations

import os

import pytest

from grader.sandbox.kernel import KERNEL_MPLCONFIGDIR, machine_font_list
from grader.sandbox.kernel_server import shared_kernel_server
from tests.grading.sandboxed import in_own_event_loop, run_in_sandbox

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


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root")
@pytest.mark.parametrize("start", ["launched", "forked"])
def test_each_kernel_starts_with_its_own_copy_of_the_font_list(tmp_path, start):
    os.chmod(tmp_path, 0o755)
    server = ""
    if start == "forked":
        found = shared_kernel_server(machine_font_list(tmp_path / "fonts"))
        assert found is not None
        server = found.socket
    first = in_own_event_loop(run_in_sandbox, tmp_path, "first", PROBE, server)
    second = in_own_event_loop(run_in_sandbox, tmp_path, "second", PROBE, server)
    for report in (first, second):
        assert report["found"] >= 1, report
        assert report["owner"] == report["uid"] == report["expected_uid"], report
        assert report["fonts"] > 0 and not report["rewritten"], report
    assert not second["tampered_before"], "the second kernel saw what the first wrote: shared /tmp"
