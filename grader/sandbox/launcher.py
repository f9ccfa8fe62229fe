"""Start a student's kernel inside the sandbox (runs as root, stdlib only).

This file is executed, never imported, by the command that
:class:`grader.sandbox.kernel.SandboxKernelManager` builds::

    unshare --mount --net --pid --fork --kill-child --mount-proc -- \\
        python -I launcher.py SPEC_JSON -- python -m ipykernel_launcher -f CONNECTION_FILE

``unshare`` gives the kernel a private network namespace (no interface but a
down loopback: no network at all), a private PID namespace (the kernel is
PID 1: it cannot see or signal the grader, and every process it starts dies
with it) and a private mount namespace, in which this script, still root:

1. hides the folders named in ``hide`` (the course root, the grading scratch
   folder of every other submission, home folders) under empty read-only
   tmpfs mounts, and gives the kernel private ``/tmp``, ``/var/tmp`` and
   ``/dev/shm``, where it copies the files named in ``preload`` (matplotlib's
   font list, read before anything is hidden), owned by the kernel's uid;
2. binds back the folders named in ``expose`` (the Python environment and
   the ``course`` package read-only; the submission's own working folder
   read-write);
3. sets resource limits (address space, CPU seconds, processes, open
   files, file size, no core dumps);
4. drops every privilege for good (a per-submission uid with no
   supplementary groups, ``no_new_privs``) and clears the environment;
5. replaces itself with the kernel.

It is run with ``python -I`` and imports only the standard library, so that
nothing in the student's working folder can be imported while it is root.
Its ``SPEC_JSON`` is a :class:`grader.sandbox.spec.LaunchSpec` as JSON, read
here as a plain dict; ``tests/grading/test_boundaries.py`` checks that the
keys read here are that class's fields.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_NO_NEW_PRIVS = 38

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source, target, fstype, flags, data=None):
    args = [
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    ]
    if _libc.mount(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def _hide(path, size="64k", mode="0755"):
    # writable (by root) until the exposed folders are bound inside it
    _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode={mode}")


def _bind(fd, target, read_only):
    os.makedirs(target, exist_ok=True)
    _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
    if read_only:
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def main(argv):
    separator = argv.index("--")
    spec = json.loads(argv[1])
    kernel_argv = argv[separator + 1:]

    # 0. nothing done here may leak to the host's mount table
    _mount(None, "/", None, MS_REC | MS_PRIVATE)

    # 1-2. hide, then bind back what the kernel needs; read the preloaded files while they are visible
    preload = {}
    for target, source in spec.get("preload", {}).items():
        # root writes them: only ever into a fresh private /tmp (nothing there yet, no links)
        if not any(os.path.normpath(target).startswith(t + "/") for t in spec.get("private_tmp", [])):
            raise SystemExit(f"sandbox: preload target outside the private /tmp: {target}")
        with open(source, "rb") as handle:
            preload[target] = handle.read()
    exposed = []
    for path, read_only in spec["expose"]:
        if os.path.isdir(path):
            exposed.append((os.open(path, os.O_PATH | os.O_DIRECTORY), path, read_only))
    for path in spec.get("private_tmp", []):
        if os.path.isdir(path):
            _hide(path, size=f"{spec['tmp_mb']}m", mode="1777")
    hidden = []  # a folder inside a private /tmp is already gone: nothing to hide
    for path in spec["hide"]:
        if os.path.isdir(path):
            _hide(path)
            hidden.append(path)
    for fd, path, read_only in exposed:
        _bind(fd, path, read_only)
        os.close(fd)
    for path in hidden:
        _mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
    for target, content in preload.items():
        target = os.path.normpath(target)
        folder = os.path.dirname(target)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        os.chown(folder, spec["uid"], spec["gid"])
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.chown(target, spec["uid"], spec["gid"])

    # 3. limits (hard = soft: the kernel cannot raise them again)
    limits = spec["limits"]
    for name, value in (
        ("RLIMIT_AS", limits["memory_mb"] * 1024 * 1024),
        ("RLIMIT_CPU", limits["cpu_seconds"]),
        ("RLIMIT_NPROC", limits["processes"]),
        ("RLIMIT_NOFILE", limits["open_files"]),
        ("RLIMIT_FSIZE", limits["file_mb"] * 1024 * 1024),
        ("RLIMIT_CORE", 0),
    ):
        resource.setrlimit(getattr(resource, name), (value, value))

    # 4. drop privileges for good
    uid, gid = spec["uid"], spec["gid"]
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SystemExit("sandbox: still root after dropping privileges")

    # 5. a clean environment, then the kernel
    os.chdir(spec["cwd"])
    os.umask(0o077)
    os.execve(kernel_argv[0], kernel_argv, spec["env"])


if __name__ == "__main__":
    main(sys.argv)
