"""Start a student's kernel inside the sandbox (runs as root, stdlib only).

This file is executed, never imported, by the command that
:class:`grader.sandbox.kernel.SandboxKernelManager` builds::

    unshare --mount --net --pid --fork --kill-child --mount-proc -- \\
        python -I launcher.py SPEC_JSON -- python -m ipykernel_launcher -f CONNECTION_FILE

``unshare`` gives the kernel a private network namespace (no interface but a
down loopback: no network at all), a private PID namespace (the kernel is
PID 1: it cannot see or signal the grader, and every process it starts dies
with it) and a private mount namespace, in which this script, still root:

1. builds the kernel a root of its own, an empty tmpfs, holding only what
   ``view`` names: the Python environment, the ``course`` package, the system
   libraries, fonts and ``/etc`` files a kernel needs, read-only; the device
   nodes ``/dev/null``, ``/dev/urandom``...; the submission's working folder
   and the folder of the kernel's sockets, read-write; ``/proc`` of its own
   PID namespace; and private tmpfs ``/tmp``, ``/var/tmp`` and ``/dev/shm``,
   where it copies the files named in ``preload`` (matplotlib's font list),
   owned by the kernel's uid. Symbolic links on the way to a named path
   (``/lib64``, a venv's ``bin/python``) are made again in the new root, so
   the path works as on the host. Then it moves into that root
   (``pivot_root``) and detaches the host's: nothing else of the machine is
   reachable, whatever its permissions;
2. sets resource limits (address space, CPU seconds, processes, open
   files, file size, no core dumps);
3. drops every privilege for good (a per-submission uid with no
   supplementary groups, ``no_new_privs``) and clears the environment;
4. replaces itself with the kernel.

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
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS = 38
#: pivot_root's system call number (glibc has no wrapper), by machine
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
#: where the new root is built before the kernel moves into it (covered in this mount namespace only)
STAGING = "/tmp"
#: remount flags of each kind of entry of ``view``: read-only, read-write, a device node
VIEW_FLAGS = {
    "ro": MS_RDONLY | MS_NOSUID | MS_NODEV,
    "rw": MS_NOSUID | MS_NODEV,
    "dev": MS_NOSUID,
}

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    args = [
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    ]
    _check(_libc.mount(*args), f"mount {source} on {target}")


def _tmpfs(path, size, mode):
    _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode={mode}")


def _resolve(path, links):
    """The real path of ``path`` on the host; appends each symbolic link met on the way to ``links``.

    ``links`` receives ``(where, target)`` pairs, to be made again in the new root, so that ``path``
    (``/lib64/ld-linux-x86-64.so.2``, a venv's ``bin/python``) leads where it leads on the host.
    """
    pending = [part for part in path.split("/") if part]
    current = "/"
    hops = 0
    while pending:
        name = pending.pop(0)
        if name == ".":
            continue
        if name == "..":
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, name)
        if not os.path.islink(candidate):
            current = candidate
            continue
        hops += 1
        if hops > 40:
            raise SystemExit(f"sandbox: too many symbolic links in {path}")
        target = os.readlink(candidate)
        links.append((candidate, target))
        pending = [part for part in target.split("/") if part] + pending
        if target.startswith("/"):
            current = "/"
    return current


def _open_view(view):
    """Open every entry of ``view`` (``O_PATH``) while the host's tree is whole.

    Returns
    -------
    binds : list of (int, str, str)
        File descriptor, real path and kind, parents before children; an entry inside an already
        listed folder of the same kind is left out, and so is a path missing on this machine.
    links : list of (str, str)
        Symbolic links to make again in the new root.
    """
    links, found = [], {}
    for path, kind in view:
        real = _resolve(os.path.abspath(path), links)
        if os.path.exists(real):
            found.setdefault(real, kind)
    binds = []
    for real in sorted(found):
        kind = found[real]
        parent = os.path.dirname(real)
        covered = False
        while parent != "/" and not covered:
            covered = found.get(parent) == kind
            parent = os.path.dirname(parent)
        if not covered:
            binds.append((os.open(real, os.O_PATH | os.O_NOFOLLOW), real, kind))
    return binds, links


def _bind(fd, target, kind):
    if os.path.isdir(f"/proc/self/fd/{fd}"):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o644))
    _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND)
    _mount(None, target, None, MS_BIND | MS_REMOUNT | VIEW_FLAGS[kind])


def _build_root(spec):
    """Mount the kernel's own root at :data:`STAGING`; see the module's docstring."""
    binds, links = _open_view(spec["view"])
    proc = os.open("/proc", os.O_PATH | os.O_DIRECTORY)  # the kernel's PID namespace's, from unshare
    root = STAGING
    _tmpfs(root, "1m", "0755")
    for path in spec.get("private_tmp", []):
        os.makedirs(root + path, exist_ok=True)
        _tmpfs(root + path, f"{spec['tmp_mb']}m", "1777")
    for fd, real, kind in binds:
        _bind(fd, root + real, kind)
        os.close(fd)
    os.makedirs(root + "/proc")
    _mount(f"/proc/self/fd/{proc}", root + "/proc", None, MS_BIND | MS_REC)
    os.close(proc)
    for where, target in links:
        if not os.path.lexists(root + where):
            os.makedirs(os.path.dirname(root + where), exist_ok=True)
            os.symlink(target, root + where)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        if not os.path.lexists(f"{root}/dev/{name}"):
            os.makedirs(f"{root}/dev", exist_ok=True)
            os.symlink(target, f"{root}/dev/{name}")
    return root


def _enter_root(root):
    """Make ``root`` the root of this mount namespace and detach the host's (``pivot_root(".", ".")``)."""
    machine = os.uname().machine
    number = SYS_PIVOT_ROOT.get(machine)
    if number is None:
        raise SystemExit(f"sandbox: pivot_root's system call number on {machine} is unknown")
    os.chdir(root)
    _check(_libc.syscall(number, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detaching the host's root")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m,mode=0755")


def mount_proc():
    """Mount ``/proc`` of this process's PID namespace (what ``unshare --mount-proc`` does), after
    making every mount of this mount namespace private. For the kernel server's children
    (:mod:`grader.sandbox.kernel_server`), which unshare the namespaces themselves."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def confine(spec):
    """Steps 0 to 3 of the module's docstring, in this process: its own root, limits, no privileges.

    Ends in the kernel's working folder with ``umask`` 077; the caller then clears the environment
    and becomes the kernel (:func:`main` by ``execve``, the kernel server in its forked child).
    """
    # 0. nothing done here may leak to the host's mount table
    _mount(None, "/", None, MS_REC | MS_PRIVATE)

    # 1. a root of its own; the preloaded files are read while the host's tree is still there
    preload = {}
    for target, source in spec.get("preload", {}).items():
        # root writes them: only ever into a fresh private /tmp (nothing there yet, no links)
        if not any(os.path.normpath(target).startswith(t + "/") for t in spec.get("private_tmp", [])):
            raise SystemExit(f"sandbox: preload target outside the private /tmp: {target}")
        with open(source, "rb") as handle:
            preload[target] = handle.read()
    _enter_root(_build_root(spec))
    for target, content in preload.items():
        target = os.path.normpath(target)
        folder = os.path.dirname(target)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        os.chown(folder, spec["uid"], spec["gid"])
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.chown(target, spec["uid"], spec["gid"])

    # 2. limits (hard = soft: the kernel cannot raise them again)
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

    # 3. drop privileges for good
    uid, gid = spec["uid"], spec["gid"]
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SystemExit("sandbox: still root after dropping privileges")
    os.chdir(spec["cwd"])
    os.umask(0o077)


def main(argv):
    separator = argv.index("--")
    spec = json.loads(argv[1])
    kernel_argv = argv[separator + 1:]
    confine(spec)
    # 4. a clean environment, then the kernel
    os.execve(kernel_argv[0], kernel_argv, spec["env"])


if __name__ == "__main__":
    main(sys.argv)
