"""Sandboxed kernels forked from a process that has imported what every kernel imports.

A kernel started by :mod:`grader.sandbox.launcher` is a new interpreter: before the student's first cell
it imports ipykernel, then the notebook imports numpy and matplotlib, 1.1-1.3 CPU-seconds of every task
on a 2-CPU machine. A kernel server imports them once, as root, with the kernel's environment, then
forks one kernel per request. Each fork becomes exactly what the launcher makes of a new process:

1. the server forks a *monitor*, which unshares the mount, network and PID namespaces (as ``unshare
   --mount --net --pid``) and forks the kernel, the first process of its PID namespace;
2. the kernel takes the requester's stdin, stdout and stderr, closes every other descriptor, mounts
   its ``/proc``, and calls :func:`grader.sandbox.launcher.confine` with the same
   :class:`~grader.sandbox.spec.LaunchSpec`: its own root, limits, an unprivileged uid, no privileges;
3. it clears its environment for the spec's, undoes what the server's imports kept of the server
   (matplotlib's remembered folders, numpy's global random state, signal handlers) and runs
   ``ipykernel``'s kernel app in place of ``python -m ipykernel_launcher``.

The requester is :mod:`grader.sandbox.kernel_client`, the command that
:class:`~grader.sandbox.kernel.SandboxKernelManager` starts instead of ``unshare``; jupyter_client sees
it as the kernel's process. Its signals reach the kernel through the monitor (SIGINT interrupts, the
others kill), and when it dies, the monitor kills the kernel (and with it every process of its PID
namespace). When the server's stdin closes (its worker is gone), the server kills its monitors and
exits; a kernel whose monitor dies gets SIGKILL (``PR_SET_PDEATHSIG``). The task's uid slot
(:func:`grader.sandbox.kernel.uid_slot`) kills whatever of the uid is left, as for launched kernels.

The server holds nothing a student may not read: it is started with the kernel's environment (none of
the grader's variables), in ``/``, and reads no course file; what it imports is what the kernel sees
read-only anyway. Only root processes of the machine may connect (its socket is in a folder only root
can enter, and each peer's uid is checked). It imports neither ipywidgets nor the ``course`` package:
ipywidgets registers its comm target at import only inside a running kernel.

The file runs as a script (``python kernel_server.py SOCKET``), not isolated (``-I``), so that a kernel
gets the interpreter's flags that ``python -m ipykernel_launcher`` gets from the same environment
(IPython puts ``''`` on ``sys.path`` only without ``-P``); the server's environment is the kernel's,
its folder ``/``, and it drops its own folder from ``sys.path`` before it imports anything but the
standard library. It loads the launcher by path. The grader's side is :class:`KernelServer` and
:func:`shared_kernel_server`.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.sandbox.kernel import FontList

__all__ = ["KernelServer", "shared_kernel_server", "kernel_server_folder", "remove_orphaned_sockets",
           "stop_helper", "PRELOAD"]

#: Imported by the server, so that no kernel imports them again.
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "numpy", "matplotlib",
           "matplotlib.pyplot")
#: matplotlib's backend in a kernel: what ipykernel sets before the first cell when it is not set
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: How a request starts: the length of its JSON, then the JSON (with the three descriptors attached)
HEADER = struct.Struct("!I")
#: A request's largest JSON (a launch spec is a few KiB)
MAX_REQUEST = 1 << 20
CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
PR_SET_PDEATHSIG = 1


def kernel_server_folder() -> Path:
    """The folder of this machine's kernel servers' sockets: root's only, short enough for a socket."""
    from grader.sandbox.kernel import machine_folder

    return machine_folder("course-grader-kernels")


# ---------------------------------------------------------------- the grader's side


def stop_helper(process: subprocess.Popen, timeout: float = 10) -> None:
    """End a helper process that ends when its stdin closes (a kernel server, a zygote): close its
    stdin, wait ``timeout`` seconds, then kill it."""
    if process.poll() is None:
        process.stdin.close()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class KernelServer:
    """A kernel server process of this worker, and the socket its requests go to.

    Parameters
    ----------
    font_folder : str
        The machine's matplotlib font list (:func:`grader.sandbox.kernel.machine_font_list`), the
        server's ``MPLCONFIGDIR`` while it imports matplotlib.
    """

    def __init__(self, font_folder: str):
        from grader.sandbox.kernel import kernel_environment

        folder = kernel_server_folder()
        remove_orphaned_sockets(folder)
        # named by its owner's pid: a server ends with its owner
        self.socket = str(folder / f"{os.getpid()}-{time.monotonic_ns()}.sock")
        self.ready_at: float | None = None
        self.error = ""
        env = kernel_environment({}, "/nonexistent") | {"MPLCONFIGDIR": font_folder,
                                                         "MPLBACKEND": INLINE_BACKEND}
        self.process = subprocess.Popen(
            [sys.executable, __file__, self.socket], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, cwd="/", env=env, start_new_session=True)
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait for the server's imports; False when it failed (:attr:`error` says why) or timed out."""
        with self.lock:
            if self.ready_at is None and not self.error:
                ready, _, _ = select.select([self.process.stdout], [], [], timeout)
                if not ready:
                    return False
                line = self.process.stdout.readline()
                try:
                    message = json.loads(line)
                    self.ready_at = float(message["ready"])
                except (ValueError, KeyError, TypeError):
                    self.error = (line.decode(errors="replace").strip() if line else "") or "the server died"
            return self.ready_at is not None and self.alive()

    def close(self) -> None:
        stop_helper(self.process)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)


def remove_orphaned_sockets(folder: Path) -> None:
    """Remove the sockets in ``folder`` whose owner (the pid that starts their name) is gone: a server
    killed with its worker (SIGKILL to the whole tree) could not remove its own."""
    for path in folder.glob("*.sock"):
        try:
            os.kill(int(path.name.split("-", 1)[0]), 0)
        except ProcessLookupError:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        except (ValueError, PermissionError):
            continue


_servers: dict[str, KernelServer] = {}
_servers_lock = threading.Lock()


def shared_kernel_server(font_list: FontList, timeout: float = 120) -> KernelServer | None:
    """This process's kernel server, started if needed, for the machine's font list.

    None when it cannot serve: kernels are then new processes (``unshare`` and the launcher). So they
    are without a font list: a server would build one in its own folder, where no kernel finds it. A
    server that died after it served is started again; one that failed to start is not tried again.
    """
    if not font_list.preload:
        return None
    font_folder = os.path.dirname(next(iter(font_list.preload.values())))
    with _servers_lock:
        server = _servers.get(font_folder)
        if server is None or (server.ready_at is not None and not server.alive()):
            try:
                server = _servers[font_folder] = KernelServer(font_folder)
            except (OSError, RuntimeError):  # no socket folder of root's, no interpreter to start
                return None
    return server if server.wait_ready(timeout) else None


@atexit.register
def _close_servers() -> None:
    for server in list(_servers.values()):
        server.close()


# ---------------------------------------------------------------- the server


def _load_launcher():
    """:mod:`grader.sandbox.launcher`, loaded from its file (this script's folder is off ``sys.path``)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launcher.py")
    spec = importlib.util.spec_from_file_location("course_sandbox_launcher", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read_request(connection: socket.socket) -> tuple[dict, list[int]]:
    """A request's JSON and the three descriptors sent with its first bytes, from a peer of this uid."""
    peer_uid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
    if peer_uid != os.geteuid():
        raise PermissionError(f"uid {peer_uid} may not ask for kernels")
    connection.settimeout(30)
    data, fds, _, _ = socket.recv_fds(connection, 65536, 3)
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("a request comes with stdin, stdout and stderr")
    while len(data) < HEADER.size:
        chunk = connection.recv(65536)
        if not chunk:
            raise ValueError("the request ended early")
        data += chunk
    (size,) = HEADER.unpack_from(data)
    if size > MAX_REQUEST:
        raise ValueError("the request is too large")
    while len(data) < HEADER.size + size:
        chunk = connection.recv(65536)
        if not chunk:
            raise ValueError("the request ended early")
        data += chunk
    request = json.loads(data[HEADER.size:HEADER.size + size])
    argv = request["argv"]
    if argv[1:3] != ["-m", "ipykernel_launcher"] or int(request["spec"]["uid"]) <= 0:
        raise ValueError("only an ipykernel, under a uid of its own")
    return request, fds


def serve(socket_path: str) -> None:
    """Import :data:`PRELOAD`, say ``{"ready": ...}`` on stdout, then fork a kernel per request."""
    launcher = _load_launcher()
    for name in PRELOAD:
        importlib.import_module(name)
    replies = sys.stdout.buffer
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:  # a fork would copy a process whose other threads are gone
        replies.write(f"the server runs {threads} threads after its imports\n".encode())
        replies.flush()
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    os.chmod(socket_path, 0o600)
    listener.listen(64)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl+C of the grading run is the worker's to handle
    replies.write((json.dumps({"ready": time.time()}) + "\n").encode())
    replies.flush()
    try:
        _serve_requests(listener, launcher)
    finally:
        with contextlib.suppress(FileNotFoundError):  # the worker is gone, or the server failed
            os.unlink(socket_path)


def _serve_requests(listener: socket.socket, launcher) -> None:
    """Fork a monitor per request until stdin closes; then kill the monitors still running."""
    # monitors not yet reaped: a pid here cannot belong to another process, so killing it is safe
    monitors: set[int] = set()
    while True:
        ready, _, _ = select.select([0, listener], [], [], 1.0)
        monitors -= _reaped()
        if 0 in ready and not os.read(0, 4096):  # the worker is gone
            for pid in monitors:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return
        if listener not in ready:
            continue
        connection, _ = listener.accept()
        try:
            request, fds = _read_request(connection)
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            connection.close()
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            listener.close()
            _monitor(connection, fds, request, launcher)
        for fd in fds:
            os.close(fd)
        connection.close()
        monitors.add(pid)


def _reaped() -> set[int]:
    """The server's children that ended since the last call, reaped."""
    ended = set()
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        ended.add(pid)


def _monitor(connection: socket.socket, fds: list[int], request: dict, launcher) -> None:
    """In the server's child: unshare the namespaces, fork the kernel, relay its signals and its end.

    Never returns. The connection's end (the client died) kills the kernel.
    """
    code = 1
    try:
        os.close(0)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) != 0:
            raise OSError(ctypes.get_errno(), "unshare")
        kernel = os.fork()
        if kernel == 0:
            connection.close()
            _kernel(fds, request, launcher, libc)
        for fd in fds:
            os.close(fd)
        done = os.pidfd_open(kernel)
        connection.setblocking(True)
        while True:
            ready, _, _ = select.select([connection, done], [], [])
            if done in ready:
                _, status = os.waitpid(kernel, 0)
                with contextlib.suppress(OSError):
                    ended = {"exit": os.waitstatus_to_exitcode(status)}
                    connection.sendall((json.dumps(ended) + "\n").encode())
                code = 0
                break
            received = connection.recv(64)
            if not received:  # the client is gone: so is the kernel
                os.kill(kernel, signal.SIGKILL)
                os.waitpid(kernel, 0)
                break
            for number in received:
                # SIGINT interrupts the kernel (jupyter_client's interrupt); every other signal ends it
                os.kill(kernel, signal.SIGINT if number == signal.SIGINT else signal.SIGKILL)
    except BaseException:  # noqa: BLE001 - the client sees the connection close
        code = 1
    finally:
        os._exit(code)


def _kernel(fds: list[int], request: dict, launcher, libc) -> None:
    """In the monitor's child, the first process of its PID namespace: become the kernel. Never returns."""
    code = 1
    confined = False
    try:
        os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        spec = request["spec"]
        launcher.mount_proc()
        launcher.confine(spec)
        confined = True
        # after the uid changed, which clears it
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
        os.environ.clear()
        os.environ.update(spec["env"])
        _as_a_new_kernel(request["argv"])
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # noqa: BLE001 - said on the kernel's stderr, as a failed start would be
        import traceback

        traceback.print_exc()
    finally:
        try:
            if confined:  # as a new interpreter's exit would, under the kernel's uid only
                atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _as_a_new_kernel(argv: list[str]) -> None:
    """Undo what the server's state would leak into a kernel that a new interpreter would not have.

    ``argv`` is the kernel's command line (``python -m ipykernel_launcher -f CONNECTION ...``).
    """
    sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin, *argv[3:]]
    for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    import matplotlib
    import matplotlib.style
    import numpy

    # matplotlib remembers its folders on first use: the server's, where the kernel's MPLCONFIGDIR is not
    for remembered in (matplotlib.get_configdir, matplotlib.get_cachedir):
        cells = dict(zip(remembered.__code__.co_freevars, remembered.__closure__, strict=True))
        cells["called"].cell_contents = False
        cells["ret"].cell_contents = None
    matplotlib.style.USER_LIBRARY_PATHS[:] = [os.path.join(os.environ.get("MPLCONFIGDIR", ""), "stylelib")]
    numpy.random.seed()  # a new interpreter draws its global state from the system's entropy


if __name__ == "__main__":
    # this file's folder: a kernel's sys.path does not hold it (imported so far: the standard library)
    del sys.path[0]
    serve(sys.argv[1])
