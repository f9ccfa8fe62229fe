"""Run ``nbgrader`` commands in fresh processes without paying its imports each time.

A grading task used to start ``python -m nbgrader autograde`` for every
submission: a new interpreter that imports nbgrader, nbconvert, nbformat,
jupyter_client and SQLAlchemy (1.3-1.7 s here) before it grades anything.
A :class:`Zygote` is one long-lived helper process that imports all of that
once; for each command it ``fork()``\\ s a child, which is exactly a fresh
``nbgrader`` process started in no time: its own working folder,
environment, session (process group), output file and exit status, and
nothing shared with the next command (the helper itself never runs nbgrader,
so every child starts from the same clean state).

A child never outlives the process that asked for it: when the helper's
stdin closes (its owner closed it, exited, or was killed, even by SIGKILL)
while a child runs, the helper kills the child and every process descended
from it (the kernel too, which jupyter_client starts in a session of its
own), then exits; see :func:`kill_tree`.

The helper is single-threaded, so forking it is safe (a Dask worker, with
its threads, is not). It runs as the user who started it (root, for the
sandbox) and speaks JSON lines over its stdin and stdout; its first line says when its imports were
done (epoch seconds)::

    <- {"ready": 1765015200.5}
    -> {"argv": [...], "cwd": "...", "env": {...}, "log": "/path/to/output"}
    <- {"pid": 1234}
    <- {"returncode": 0}

Usage::

    with Zygote() as zygote:
        returncode = zygote.run(["autograde", "ps1", "--force"], cwd, env, log_path, timeout=1800)
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time

from grader.sandbox.kernel_server import stop_helper

__all__ = ["Zygote", "ZygoteTimeout", "shared_zygote", "prestart_zygote", "kill_tree", "process_tree"]

# Imported by the helper before it forks, so that no child pays for them. The grader's own modules are
# imported by name: importing them here would make every importer of this module pay for nbgrader too.
PRELOAD = (
    "nbgrader.apps.nbgraderapp",
    "nbgrader.converters",
    "nbgrader.preprocessors",
    "nbclient",
    "jupyter_client",
    "grader.worker.execute",
    "grader.sandbox.kernel",
)
# Imported too when the judge is on (``--judge`` on the helper's command line): what the judge runs of
# the instructor's setup cells in each nbgrader process (numpy comes with the grader's modules).
JUDGE_PRELOAD = (
    "matplotlib.pyplot",
    "ipywidgets",
    "course.derivations",
    "course.gradcheck",
    "course.graphs",
    "course.testing",
    "course.widgets",
)


class ZygoteTimeout(Exception):
    """The command ran longer than its timeout; its whole process group was killed."""


class Zygote:
    """A helper process, on this interpreter, that forks one fresh ``nbgrader`` process per command."""

    def __init__(self, judge: bool = False):
        #: epoch seconds: the helper's start, and the end of its imports (None until it says so)
        self.started = time.time()
        self.ready_at: float | None = None
        # the helper is this module run as a script (``-m``, so a module name: the helper is another
        # process and cannot be handed a function); ``-P`` keeps the current folder off sys.path
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", __name__, *(["--judge"] if judge else [])], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/", start_new_session=True)
        self.lock = threading.Lock()
        self._pending = b""

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        stop_helper(self.process)

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _read(self, deadline: float | None) -> dict | None:
        """The helper's next message, or None when the deadline passes first.

        Reads the pipe's descriptor directly, keeping what comes after the
        first line: both messages of a command can arrive in one read, and a
        buffered reader would hide the second from ``select``.
        """
        descriptor = self.process.stdout.fileno()
        while b"\n" not in self._pending:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([descriptor], [], [], wait)
            if not ready:
                return None
            chunk = os.read(descriptor, 65536)
            if not chunk:
                raise RuntimeError("the zygote process died")
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return json.loads(line)

    def _await_ready(self, deadline: float | None) -> bool:
        """Read the helper's first line (its imports are done) unless it was read; False when the
        deadline passed first. Called with :attr:`lock` held."""
        if self.ready_at is None:
            message = self._read(deadline)
            if message is None:
                return False
            self.ready_at = float(message["ready"])
        return True

    def wait_ready(self, timeout: float | None = None) -> float | None:
        """Seconds from the helper's start to the end of its imports; None if not known in ``timeout``.

        Raises
        ------
        RuntimeError
            When the helper process died.
        """
        if self.ready_at is None:
            if not self.lock.acquire(timeout=-1 if timeout is None else timeout):
                return None
            try:
                if not self._await_ready(None if timeout is None else time.monotonic() + timeout):
                    return None
            finally:
                self.lock.release()
        return self.ready_at - self.started

    def run(self, argv: list[str], cwd: str, env: dict, log: str, timeout: float | None = None) -> int:
        """Run ``nbgrader ARGV`` in a child and return its exit status.

        Parameters
        ----------
        argv : list of str
            nbgrader's arguments (``["autograde", "ps1", ...]``).
        cwd : str
            The child's working folder (the course root).
        env : dict
            The child's whole environment.
        log : str
            File that receives the child's stdout and stderr.
        timeout : float, optional
            Seconds; past them the child's process group is killed.

        Raises
        ------
        ZygoteTimeout
            When the command outlived ``timeout``.
        RuntimeError
            When the helper process died.
        """
        with self.lock:
            self._await_ready(None)
            request = {"argv": list(argv), "cwd": str(cwd), "env": dict(env), "log": str(log)}
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            pid = self._read(None)["pid"]
            deadline = None if timeout is None else time.monotonic() + timeout
            try:
                finished = self._read(deadline)
            except BaseException:
                # interrupted here (Ctrl+C in a run without Dask): the helper kills the child's tree
                self.close()
                raise
            if finished is not None:
                return int(finished["returncode"])
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._read(None)  # the helper reaps the child before it takes the next command
            raise ZygoteTimeout(f"nbgrader {' '.join(argv[:2])} took longer than {timeout} s")


_local = threading.local()
_started: list[Zygote] = []
_spare: list[Zygote] = []
_spare_lock = threading.Lock()


def prestart_zygote(judge: bool = False) -> Zygote:
    """Start a helper process now, for the next thread that asks for one (:func:`shared_zygote`).

    Returns at once: the helper imports nbgrader (and, with ``judge``, :data:`JUDGE_PRELOAD`) in its
    own process meanwhile.
    """
    zygote = Zygote(judge)
    with _spare_lock:
        _started.append(zygote)
        _spare.append(zygote)
    return zygote


def shared_zygote(judge: bool = False) -> Zygote:
    """This thread's helper process: a prestarted one, else one started now (preloading for the judge
    with ``judge``); again if it died."""
    zygote = getattr(_local, "zygote", None)
    if zygote is None or not zygote.alive():
        zygote = _take_spare()
        if zygote is None:
            zygote = Zygote(judge)
            with _spare_lock:
                _started.append(zygote)
        _local.zygote = zygote
    return zygote


def _take_spare() -> Zygote | None:
    with _spare_lock:
        while _spare:
            zygote = _spare.pop(0)
            if zygote.alive():
                return zygote
    return None


@atexit.register
def _close_started() -> None:
    for zygote in _started:
        zygote.close()


def _child(request: dict) -> None:
    """In the forked child: become a fresh ``nbgrader`` process, run, exit. Never returns."""
    code = 1
    try:
        os.setsid()
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own descriptors
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.argv = ["nbgrader", *request["argv"]]
        from nbgrader.apps.nbgraderapp import main

        try:
            main()
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # noqa: BLE001 - report it in the log, exit non-zero
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _serve(judge: bool) -> None:
    """The helper's loop: one request at a time, one child per request."""
    from grader.worker.nbgrader_main import skip_slow_optional_imports

    skip_slow_optional_imports()
    import importlib

    for name in PRELOAD + (JUDGE_PRELOAD if judge else ()):
        importlib.import_module(name)
    replies = sys.stdout.buffer
    replies.write((json.dumps({"ready": time.time()}) + "\n").encode())
    replies.flush()
    pending = b""
    while True:
        # the descriptor itself, not a buffered reader: select() below must see what is unread
        while b"\n" not in pending:
            chunk = os.read(0, 65536)
            if not chunk:
                return
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        replies.write((json.dumps({"pid": pid}) + "\n").encode())
        replies.flush()
        if not _wait_unless_orphaned(pid):
            return
        _, status = os.waitpid(pid, 0)
        returncode = os.waitstatus_to_exitcode(status)
        replies.write((json.dumps({"returncode": returncode}) + "\n").encode())
        replies.flush()


def _wait_unless_orphaned(pid: int) -> bool:
    """Wait for the child ``pid`` to end (True), or kill its tree when stdin closes first (False).

    Nothing else arrives on stdin while a child runs (:meth:`Zygote.run` sends one request at a time),
    so stdin readable means closed: the owner is gone or closing.
    """
    child = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([0, child], [], [])
        if child in ready:
            return True
        kill_tree(pid)
        os.waitpid(pid, 0)
        return False
    finally:
        os.close(child)


def _children() -> dict[int, list[int]]:
    """Parent pid -> its children's pids, read from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                # the command name (2nd field) is in parentheses and may hold spaces
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    return children


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process descended from it, through parent pids, whatever their sessions."""
    family, tree, stack = _children(), [], [pid]
    while stack:
        current = stack.pop()
        tree.append(current)
        stack.extend(family.get(current, []))
    return tree


def kill_tree(pid: int, attempts: int = 50) -> None:
    """SIGKILL ``pid`` and every process descended from it, until none is left.

    Descent is followed through parent pids, whatever the session, process group or uid: nbgrader's
    process, the kernel's ``unshare`` and the kernel (the first process of its pid namespace, so that
    killing it ends every process of the namespace). ``pid`` itself, not yet reaped, stays a zombie
    for its parent to collect.
    """
    for _ in range(attempts):
        alive = []
        for member in process_tree(pid):
            try:
                with open(f"/proc/{member}/stat") as handle:
                    if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                        continue
                os.kill(member, signal.SIGKILL)
                alive.append(member)
            except (OSError, IndexError):
                continue
        if not alive:
            return
        time.sleep(0.05)


if __name__ == "__main__":
    _serve(judge="--judge" in sys.argv[1:])
