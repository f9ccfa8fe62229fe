"""The kernel server (:mod:`grader.sandbox.kernel_server`): a forked kernel is a launched kernel, sooner.

Each test starts sandboxed kernels as nbgrader does on a worker (:mod:`tests.grading.sandboxed`), some
launched as new processes (``unshare`` and the launcher), some forked by this process's kernel server,
and compares what they see, or what becomes of them when their stand-in (the client process that
jupyter_client holds) or the server goes away.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from grader.sandbox.kernel import _pids_of_uid, machine_font_list
from grader.sandbox.kernel_server import (
    KernelServer,
    _read_request,
    kernel_server_folder,
    remove_orphaned_sockets,
    shared_kernel_server,
)
from tests.grading.sandboxed import REPORT, in_own_event_loop, run_in_sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root")

# What a kernel knows of itself, besides what differs from one kernel to the next by design (its
# working folder's name, its connection file)
SELF_PORTRAIT = f"""
import json, os, sys
import matplotlib, matplotlib.style, matplotlib.pyplot as plt, numpy as np
plt.plot([0, 1])
plt.show()
print({REPORT!r} + json.dumps({{
    "pid": os.getpid(), "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "root": sorted(os.listdir("/")), "environment": sorted(os.environ), "path": sys.path,
    "flags": list(sys.flags), "argv0": sys.argv[0], "argv": len(sys.argv), "executable": sys.executable,
    "modules_loaded": "numpy" in sys.modules, "main": repr(sys.modules["__main__"]),
    "configdir": matplotlib.get_configdir(), "cachedir": matplotlib.get_cachedir(),
    "styles": matplotlib.style.USER_LIBRARY_PATHS, "backend": matplotlib.get_backend(),
    "descriptors": len(os.listdir("/proc/self/fd")), "threads": len(os.listdir("/proc/self/task")),
    "processes": sorted(p for p in os.listdir("/proc") if p.isdigit()),
    "limits": open("/proc/self/limits").read().splitlines()[1:],
    "mounts": sorted(line.split()[1] for line in open("/proc/self/mounts")),
    "random": float(np.random.random()), "figures": plt.get_fignums(),
    "cwd": os.path.basename(os.getcwd()), "hash_seeded": sys.flags.hash_randomization,
}}))
"""


def _system_interpreter() -> str:
    """An interpreter another user can run: the course's may sit in a folder only root can enter (pyenv
    under /root)."""
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fonts-for-the-server")
    os.chmod(folder, 0o755)
    found = shared_kernel_server(machine_font_list(folder / "fonts"))
    assert found is not None, "the kernel server did not start"
    return found


@pytest.fixture
def folder(tmp_path):
    os.chmod(tmp_path, 0o755)
    return tmp_path


def test_a_forked_kernel_sees_what_a_launched_kernel_sees(folder, server):
    launched = in_own_event_loop(run_in_sandbox, folder, "launched", SELF_PORTRAIT)
    forked = in_own_event_loop(run_in_sandbox, folder, "forked", SELF_PORTRAIT, server.socket)
    again = in_own_event_loop(run_in_sandbox, folder, "forked-again", SELF_PORTRAIT, server.socket)
    for report in (launched, forked, again):
        assert report["uid"] == report["expected_uid"] and report["pid"] == 1, report
    differ = {"random", "expected_uid", "uid", "mounts"}
    assert {k: v for k, v in forked.items() if k not in differ} == \
           {k: v for k, v in launched.items() if k not in differ}
    # the mount points differ only by the folders that hold each kernel's working folder
    assert len(forked["mounts"]) == len(launched["mounts"])
    assert forked["random"] != again["random"], "two forked kernels drew the same numpy random numbers"
    assert forked["configdir"] == forked["cachedir"] == "/tmp/matplotlib", forked


async def _interrupted(folder, server_socket):
    async def interrupt_a_loop(manager, uid):
        client = manager.client()
        client.start_channels()
        try:
            running = asyncio.ensure_future(client.execute_interactive("while True: pass", timeout=60))
            await asyncio.sleep(1.0)
            await manager.interrupt_kernel()
            reply = await running
            assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
            after = await client.execute_interactive("print('still here')", timeout=30)
            assert after["content"]["status"] == "ok"
        finally:
            client.stop_channels()

    return await run_in_sandbox(folder, "interrupted", f"print({REPORT!r} + '{{}}')", server_socket,
                                during=interrupt_a_loop)


def test_an_interrupt_stops_a_forked_kernel_s_cell_and_keeps_the_kernel(folder, server):
    in_own_event_loop(_interrupted, folder, server.socket)


async def _client_killed(folder, server_socket):
    async def kill_the_stand_in(manager, uid):
        assert _pids_of_uid(uid), "the kernel is not running under its uid"
        os.kill(manager.provisioner.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _pids_of_uid(uid) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not _pids_of_uid(uid), "the kernel outlived the process jupyter_client holds for it"

    return await run_in_sandbox(folder, "orphaned", f"print({REPORT!r} + '{{}}')", server_socket,
                                during=kill_the_stand_in)


def test_killing_the_stand_in_kills_the_forked_kernel(folder, server):
    in_own_event_loop(_client_killed, folder, server.socket)


async def _server_closed(folder, own_server):
    async def close_the_server(manager, uid):
        assert _pids_of_uid(uid)
        own_server.process.stdin.close()  # what a worker's end does to it, even by SIGKILL
        own_server.process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _pids_of_uid(uid) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not _pids_of_uid(uid), "the kernel outlived its server"
        assert not await manager.is_alive(), "the stand-in outlived its kernel"

    return await run_in_sandbox(folder, "closed", f"print({REPORT!r} + '{{}}')", own_server.socket,
                                during=close_the_server)


def test_closing_the_server_ends_its_kernels(folder, server):
    own = KernelServer(os.path.dirname(next(iter(machine_font_list(folder / "fonts").preload.values()))))
    assert own.wait_ready(120), own.error
    in_own_event_loop(_server_closed, folder, own)
    assert not own.alive()
    assert not os.path.exists(own.socket), "the server left its socket behind"


def test_only_root_reaches_the_server(server):
    assert (kernel_server_folder().stat().st_mode & 0o077) == 0
    attempt = subprocess.run(
        [_system_interpreter(), "-c",
         f"import socket; socket.socket(socket.AF_UNIX).connect({server.socket!r})"],
        user=65534, group=65534, capture_output=True, text=True, timeout=60)
    assert attempt.returncode != 0 and "PermissionError" in attempt.stderr, attempt.stderr


def test_a_peer_of_another_uid_is_refused_before_it_is_read():
    """The server's second lock, behind the folder's mode: a request over a socket that another uid
    could reach is refused for its sender's uid, before any of its bytes or descriptors are read."""
    folder = tempfile.mkdtemp(prefix="peer-", dir="/tmp")
    try:
        os.chmod(folder, 0o755)
        path = os.path.join(folder, "kernels.sock")
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(path)
            os.chmod(path, 0o777)
            listener.listen(1)
            sender = subprocess.Popen(
                [_system_interpreter(), "-c", "import socket, time; s = socket.socket(socket.AF_UNIX); "
                 f"s.connect({path!r}); s.sendall(b'{{}}'); time.sleep(10)"],
                user=65534, group=65534)
            try:
                connection, _ = listener.accept()
                with connection, pytest.raises(PermissionError, match="uid 65534 may not ask for kernels"):
                    _read_request(connection)
            finally:
                sender.kill()
                sender.wait()
    finally:
        shutil.rmtree(folder)


def test_without_a_font_list_kernels_are_launched():
    from grader.sandbox.kernel import FontList

    assert shared_kernel_server(FontList(preload={})) is None


def test_sockets_of_owners_that_are_gone_are_removed(server, tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()  # a pid that ended, reaped
    folder = tmp_path / "sockets"
    folder.mkdir()
    orphaned, owned = folder / f"{gone}-1.sock", folder / f"{os.getpid()}-2.sock"
    orphaned.touch()
    owned.touch()
    remove_orphaned_sockets(folder)
    assert not orphaned.exists() and owned.exists()
    remove_orphaned_sockets(kernel_server_folder())
    assert os.path.exists(server.socket), "a running server's socket was removed"
