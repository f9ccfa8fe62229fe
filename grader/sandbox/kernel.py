"""The sandbox that student kernels run in while ``course grade`` grades them.

A kernel is started by :class:`SandboxKernelManager` as::

    unshare --mount --net --pid --fork --kill-child --mount-proc -- \\
        python -I grader/sandbox/launcher.py SPEC -- python -m ipykernel_launcher -f CONN

(see :mod:`grader.sandbox.launcher` for what happens inside). The grader
talks to the kernel over Unix sockets (jupyter_client's ``ipc`` transport)
in a folder that both can reach, because the kernel's network namespace has
no usable interface, not even loopback.

Each submission runs under its own numeric uid (``uid_base + slot``, the
slot locked for the time of the task) and the group of the ``coursegrader``
system user, so that the per-user process limit and ``kill`` are per
submission: two kernels graded at once share nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import grp
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import pwd
import shutil
import signal
import site
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Instance, Unicode, default

import course
from course.probe import SNAPSHOT_CODE
from grader.sandbox import launcher
from grader.sandbox.spec import LaunchSpec, SandboxSpec

__all__ = [
    "SANDBOX_USER",
    "file_view",
    "python_view",
    "KERNEL_MPLCONFIGDIR",
    "machine_font_list",
    "font_list_key",
    "FontList",
    "SandboxKernelManager",
    "ensure_sandbox_user",
    "sandbox_unavailable_reason",
    "uid_slot",
    "kill_uid",
    "machine_folder",
]

SANDBOX_USER = "coursegrader"
UID_BASE = 2_000_000
# The launcher is imported only to know its file: it is executed by path, with ``python -I``, so that
# while it is root nothing in the student's working folder (or on PYTHONPATH) can be imported.
LAUNCHER = launcher.__file__
# Started instead of the launcher when a kernel server forks the kernels (see kernel_server.py)
KERNEL_CLIENT = str(Path(launcher.__file__).with_name("kernel_client.py"))
# The course package, shown read-only to the kernel: notebooks and the probe import it.
COURSE_PACKAGE = str(Path(course.__file__).resolve().parent)

#: What a kernel sees of the machine besides Python and the course package, read-only: the system
#: libraries (and ``/bin``, ``/usr/bin`` for a cell's ``!command``), fonts, time zones, and the few
#: ``/etc`` files the dynamic linker, the C library and matplotlib read. Paths missing here are skipped.
SYSTEM_VIEW = (
    "/lib", "/lib32", "/lib64", "/libx32", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32",
    "/bin", "/usr/bin",
    "/usr/share/fonts", "/usr/local/share/fonts", "/usr/share/zoneinfo",
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/nsswitch.conf",
    "/etc/fonts", "/etc/mime.types",
)
#: Device nodes a kernel may open
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
#: The kernel's private tmpfs folders, empty at start
PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm")


@functools.cache
def python_view() -> tuple[str, ...]:
    """What the interpreter that runs the kernels needs, and nothing else of its installation.

    The interpreter (``sys.executable`` and the links it goes through), a venv's ``pyvenv.cfg``, the
    standard library, its extension modules, the interpreter's library folder (``LIBDIR``: ``libpython``,
    and in a conda environment the shared libraries its packages link to), and the site-packages
    folders. Never a whole prefix: a venv may sit in the course root and an interpreter's
    prefix may be ``/usr`` or ``/usr/local``, beside other people's files. Folders ``.pth`` files add
    to ``sys.path`` are not in it (an editable install's is the course root): the ``course`` package
    is shown on its own (:data:`COURSE_PACKAGE`).
    """
    paths = [sys.executable, os.path.join(sys.prefix, "pyvenv.cfg"),
             *(sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")),
             *site.getsitepackages(), sysconfig.get_config_var("DESTSHARED") or "",
             sysconfig.get_config_var("LIBDIR") or ""]
    return tuple(path for path in dict.fromkeys(paths) if path and os.path.exists(path))


def file_view(cwd: str, ipc_dir: str) -> list[list[str]]:
    """The launcher's ``view``: every path the kernel sees, with its kind (``ro``, ``rw``, ``dev``).

    Read-only: :func:`python_view`, :data:`COURSE_PACKAGE`, :data:`SYSTEM_VIEW`; read-write: the
    submission's working folder and the folder of the kernel's sockets; the :data:`DEVICES`. The
    launcher adds ``/proc`` and the :data:`PRIVATE_TMP` folders; nothing else of the machine exists in
    the kernel's root.
    """
    return ([[path, "ro"] for path in (*python_view(), COURSE_PACKAGE, *SYSTEM_VIEW)]
            + [[path, "dev"] for path in DEVICES] + [[cwd, "rw"], [ipc_dir, "rw"]])


#: matplotlib's configuration and cache folder in the kernel (its private ``/tmp``)
KERNEL_MPLCONFIGDIR = "/tmp/matplotlib"

#: Where matplotlib looks for the machine's fonts on Linux (``matplotlib.font_manager``'s
#: ``X11FontDirectories``, fontconfig's configuration), besides its own: what the font list depends on.
FONT_SOURCES = ("/usr/X11R6/lib/X11/fonts/TTF", "/usr/X11/lib/X11/fonts", "/usr/share/fonts",
                "/usr/local/share/fonts", "/usr/lib/openoffice/share/fonts/truetype", "~/.local/share/fonts",
                "~/.fonts", "/etc/fonts")


@dataclass(frozen=True)
class FontList:
    """matplotlib's font list on this machine, as :func:`machine_font_list` found it.

    Attributes
    ----------
    preload : dict of str to str
        Path in the kernel to path on the worker, for the launcher's ``preload``; empty when the list
        could not be built (the kernels then build their own, as without it).
    seconds : float
        What finding (or building) it took this process.
    built : bool
        This process built it (no other process of the machine had, for this matplotlib and these fonts).
    """

    preload: dict[str, str]
    seconds: float = 0.0
    built: bool = False


def font_list_key(sources: tuple[str, ...] = FONT_SOURCES) -> str | None:
    """What the font list depends on, hashed: matplotlib's version and place, and each font file's
    path, size and modification time under ``sources``; None without matplotlib."""
    try:
        version = importlib.metadata.version("matplotlib")
        spec = importlib.util.find_spec("matplotlib")
    except (importlib.metadata.PackageNotFoundError, ValueError, ImportError):
        return None
    if spec is None:
        return None
    digest = hashlib.sha256(f"{version}\0{spec.origin}\0{sys.executable}\n".encode())
    for source in sources:
        for directory, dirnames, filenames in os.walk(os.path.expanduser(source)):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(directory, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


_font_lists: dict[Path, FontList] = {}
_font_lists_lock = threading.Lock()


def _font_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("fontlist-*.json")) if folder.is_dir() else []


def machine_font_list(base: Path) -> FontList:
    """matplotlib's font list, built once per machine, for every kernel to start with a copy.

    A kernel's ``/tmp`` is private and empty, so without it every kernel that imports matplotlib scans
    the machine's fonts again (0.36-0.49 s to build the list, measured here on a busy machine). The list
    lives in ``base/<key>/`` (:func:`font_list_key`: a new matplotlib or a changed font set makes a new
    key, and the list is built again); the first process of the machine that needs it builds it, in a
    separate process (the worker never imports matplotlib), under the lock file ``base/<key>.lock``,
    into a temporary folder renamed into place once complete, so the other workers wait for it and
    then read it, and later runs reuse it. Each process looks once, then remembers (as long as the
    files are there). The launcher
    copies the files into each kernel's own ``/tmp/matplotlib`` before dropping privileges, so no two
    kernels share a file. ``base`` is owned by root (the scratch folder).
    """
    with _font_lists_lock:
        known = _font_lists.get(base)
        # remembered, unless its files went away meanwhile (a cleaned scratch folder): then look again
        if known is not None and all(os.path.exists(path) for path in known.preload.values()):
            return known
        started = time.perf_counter()
        key = font_list_key()
        built = False
        found: list[Path] = []
        if key is not None:
            base.mkdir(parents=True, exist_ok=True, mode=0o755)
            folder = base / key
            found = _font_files(folder)
            if not found:
                with open(base / f"{key}.lock", "a") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    found = _font_files(folder)
                    if not found:
                        built = _build_font_list(base, folder)
                        found = _font_files(folder)
        font_list = FontList(preload={f"{KERNEL_MPLCONFIGDIR}/{path.name}": str(path) for path in found},
                             seconds=time.perf_counter() - started, built=built)
        _font_lists[base] = font_list
        return font_list


def _build_font_list(base: Path, folder: Path) -> bool:
    """Build matplotlib's font list into ``folder`` (a complete folder or none); True when it did."""
    building = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=base))
    try:
        building.chmod(0o755)
        subprocess.run([sys.executable, "-I", "-c", "import matplotlib.font_manager"],
                       env={"MPLCONFIGDIR": str(building), "PATH": os.environ.get("PATH", "")},
                       capture_output=True, timeout=300)
        if not _font_files(building):
            return False
        shutil.rmtree(folder, ignore_errors=True)  # an incomplete folder cannot be there: it is renamed whole
        os.rename(building, folder)
        return True
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        shutil.rmtree(building, ignore_errors=True)


def sandbox_unavailable_reason() -> str | None:
    """Why kernels cannot be sandboxed on this machine, or None when they can."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the sandbox needs root (to create namespaces and switch to an unprivileged uid)"
    if shutil.which("unshare") is None:
        return "the `unshare` command (util-linux) is missing"
    probe = subprocess.run(
        ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "true"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"unshare cannot create namespaces here: {probe.stderr.strip()}"
    return None


def ensure_sandbox_user(name: str = SANDBOX_USER) -> tuple[int, int]:
    """Create the sandbox system user and group when missing.

    Returns
    -------
    uid, gid : int
        The user's uid and group id.
    """
    try:
        entry = pwd.getpwnam(name)
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise PermissionError(f"the sandbox user {name!r} is missing and only root can create it")
    try:
        grp.getgrnam(name)
    except KeyError:
        subprocess.run(["groupadd", "--system", name], check=True)
    subprocess.run(
        ["useradd", "--system", "--gid", name, "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", "--comment", "course grade sandbox", name],
        check=True,
    )
    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def machine_folder(name: str) -> Path:
    """A folder of this machine, the same for every grading run and every test: ``/run/NAME``, or
    ``NAME`` in the temporary folder where ``/run`` cannot be written.

    Created if missing; it must be a folder of this user that nobody else can write.
    """
    run = Path("/run")
    base = run if run.is_dir() and os.access(run, os.W_OK) else Path(tempfile.gettempdir())
    folder = base / name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    status = folder.lstat()
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.geteuid() or status.st_mode & 0o022:
        raise RuntimeError(f"{folder} must be a folder of this user that nobody else can write")
    return folder


def machine_uid_locks() -> Path:
    """The one folder of this machine where sandbox uid slots are locked (:func:`machine_folder`).

    It is the same for every grading run and every test, whatever their scratch folder: a slot's
    holder kills every process of its uid on entry, so two lock folders on one machine would hand the
    same uid to two kernels and let each kill the other's (a kernel dying before ``kernel_info``).
    """
    return machine_folder("course-grader-uids")


@contextlib.contextmanager
def uid_slot(uid_base: int = UID_BASE, slots: int = 4096):
    """Hold a per-submission uid, unique on this machine while the context lasts.

    Slots are claimed with ``flock`` on ``<slot>.lock`` in :func:`machine_uid_locks`,
    so that worker processes of any grading run on one machine never share a uid.
    """
    lock_dir = machine_uid_locks()
    for slot in range(slots):
        handle = open(lock_dir / f"{slot}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        uid = uid_base + slot
        try:
            kill_uid(uid)  # a previous run killed before cleaning up
            yield uid
        finally:
            kill_uid(uid)
            handle.close()
        return
    raise RuntimeError(f"no free sandbox uid slot in {lock_dir}")


def _pids_of_uid(uid: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as status:
                for line in status:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(entry.name))
                        break
        except OSError:
            continue
    return pids


def kill_uid(uid: int, attempts: int = 50) -> None:
    """SIGKILL every process of ``uid`` until none is left (never uid 0)."""
    if uid == 0 or os.geteuid() != 0:
        return
    for _ in range(attempts):
        pids = _pids_of_uid(uid)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def kernel_environment(base: dict, home: str) -> dict:
    """The kernel's whole environment: a few safe variables, nothing of the grader's."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLCONFIGDIR": KERNEL_MPLCONFIGDIR,
        "IPYTHONDIR": "/tmp/ipython",
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    for name, value in base.items():
        if name == "NBGRADER_EXECUTION" or name.startswith("COURSE_"):
            env[name] = value
    return env


# Threads the kernel would otherwise start on first need, started before student code runs. pyzmq
# sends a message over 64 KiB (a figure) without copying it, through a garbage-collector thread it
# starts the first time; once a submission has used up its process limit (a fork bomb), that thread
# cannot start, the kernel sends half a message and the whole notebook fails ("Invalid Signature").
START_KERNEL_THREADS = "__import__('zmq.utils.garbage', fromlist=['gc']).gc.start()"


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside the sandbox.

    Configured (by the scratch course's ``nbgrader_config.py``) with ``sandbox``, a
    :class:`~grader.sandbox.spec.SandboxSpec`; None runs the kernel unconfined, with the probe. What
    the kernel sees of the machine is :func:`file_view`. The kernel is a new process started by
    ``unshare`` and :mod:`grader.sandbox.launcher`, or, when the sandbox names a kernel server, a fork
    of that server (:mod:`grader.sandbox.kernel_server`), confined the same way, for which
    :mod:`grader.sandbox.kernel_client` stands.
    """

    sandbox = Instance(SandboxSpec, allow_none=True, help="the sandbox; None: unconfined").tag(config=True)
    probe = Bool(True, help="snapshot the watched objects at kernel start").tag(config=True)
    kernel_cwd = Unicode("")

    @default("transport")
    def _transport_default(self):
        return "ipc" if self.sandbox is not None else "tcp"

    @default("ip")
    def _ip_default(self):
        if self.sandbox is not None:
            return os.path.join(self.sandbox.ipc_dir, "kernel")
        return "127.0.0.1"

    @default("connection_file")
    def _connection_file_default(self):
        if self.sandbox is not None:
            return os.path.join(self.sandbox.ipc_dir, "kernel.json")
        return ""  # jupyter_client's own default: it picks a file when it writes one

    def format_kernel_cmd(self, extra_arguments=None):
        extra = list(extra_arguments or [])
        exec_lines = [SNAPSHOT_CODE] if self.probe else []
        if self.sandbox is not None:
            exec_lines.append(START_KERNEL_THREADS)
        if exec_lines:
            extra.append(f"--IPKernelApp.exec_lines={json.dumps(exec_lines)}")
        cmd = super().format_kernel_cmd(extra)
        if self.sandbox is None:
            return cmd
        spec = self.sandbox
        cwd = os.path.realpath(self._launch_args.get("cwd") or os.getcwd())
        os.chown(cwd, spec.uid, spec.gid)
        os.chmod(cwd, 0o700)
        for entry in os.scandir(cwd):  # the copied files: readable by the student, not writable
            if entry.is_file(follow_symlinks=False):
                os.chmod(entry.path, 0o644)
        os.chmod(self.connection_file, 0o644)
        launch_env = self._launch_args.get("env") or os.environ
        launch = LaunchSpec(
            uid=spec.uid,
            gid=spec.gid,
            cwd=cwd,
            limits=spec.limits.as_dict(),
            tmp_mb=spec.limits.tmp_mb,
            private_tmp=list(PRIVATE_TMP),
            preload=dict(spec.preload),
            view=file_view(cwd, spec.ipc_dir),
            env=kernel_environment(dict(launch_env), cwd),
        )
        if spec.kernel_server:
            return [sys.executable, "-I", "-S", KERNEL_CLIENT, spec.kernel_server, launch.to_json(), "--",
                    *cmd]
        return [
            shutil.which("unshare") or "unshare",
            "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--",
            sys.executable, "-I", str(LAUNCHER), launch.to_json(), "--", *cmd,
        ]

