"""Prepare a demo class for the course's JupyterHub: users, homes, nbgrader exchange, course.

Run as root (it creates Unix users)::

    python hub/prepare_class.py [--root /srv/backprop-hub] [--students 2] [ASSIGNMENT ...]

Everything lives under ``--root`` except the users themselves:

``home/<user>/``
    one home per user (mode 700); the instructor's holds the course, ``home/bp-instructor/backprop/``
    (``nbgrader_config.py`` and ``source/``), which only the instructor can read.
``exchange/``
    nbgrader's exchange, mode 777 as nbgrader requires (it resets any other mode when the instructor
    releases); ``exchange/backprop/`` is created now and owned by the instructor, so that no student can
    create the course's folders first.
``etc/jupyter/nbgrader_config.py``
    the exchange's place and the course id, read by every user's server (``JUPYTER_CONFIG_PATH``).
``lib/course/``
    a copy of the ``course`` package (no solutions in it) that every kernel imports.
``python/``, ``python-base/``
    only where the course's environment runs on an interpreter that the users cannot run (pyenv under
    ``/root``, say): a thin environment that reads the course's environment's packages and holds its
    commands (``jupyterhub-singleuser``, ``alembic``...), on a mirror of the interpreter if need be.
``state/``
    root only: the hub's database and cookie secret, and ``passwords.txt``.
``users.json``
    who is the instructor and who are the students, read by ``hub/jupyterhub_config.py``.

It is idempotent: run again, it keeps existing users (moving their home under ``--root`` if it was
elsewhere), sets new passwords, and refreshes the course's sources, the configuration and ``lib/``;
students' work and the instructor's gradebook stay. ``--remove`` deletes the users and ``--root``.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
HUB = REPOSITORY / "hub"
DEFAULT_ROOT = Path("/srv/backprop-hub")
PREFIX = "bp-"  # the class's user names start with it, so that they clash with no one's
COURSE_ID = "backprop"
COURSE_FOLDER = "backprop"

# Students do not need the instructor's tools; turned off in their servers (not a security barrier:
# a student's formgrader would only show the student's own files).
STUDENT_SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {
    "nbgrader.server_extensions.formgrader": False,
}}}
STUDENT_LAB_PLUGINS_OFF = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"]
# An offline class: no "news?" toast, no question about rebuilding JupyterLab.
NO_NEWS = {"fetchNews": "false"}


def instructor_name(prefix: str = PREFIX) -> str:
    return f"{prefix}instructor"


def student_names(count: int, prefix: str = PREFIX) -> list[str]:
    return [f"{prefix}student{i}" for i in range(1, count + 1)]


def _run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for folder, _subfolders, files in os.walk(path):
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(folder, name), entry.pw_uid, entry.pw_gid)


def _write_json(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n")


def ensure_user(name: str, home: Path) -> str:
    """Create (or keep) the Unix user ``name`` with home ``home``; give it a fresh random password."""
    if _user_exists(name):
        if Path(pwd.getpwnam(name).pw_dir) != home:
            _run("usermod", "--home", str(home), name)
    else:
        _run("useradd", "--home-dir", str(home), "--no-create-home", "--shell", "/bin/bash",
             "--user-group", name)
    home.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    _run("chpasswd", input=f"{name}:{password}\n")
    return password


def configure_home(user: str, home: Path, *, student: bool) -> None:
    """The user's Jupyter settings (in ~/.jupyter, which the user owns and may change)."""
    jupyter = home / ".jupyter"
    settings = jupyter / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    _write_json(settings / "notification.jupyterlab-settings", NO_NEWS)
    page_config: dict = {"buildCheck": False, "buildAvailable": False}
    if student:
        _write_json(jupyter / "jupyter_server_config.json", STUDENT_SERVER_CONFIG)
        page_config["disabledExtensions"] = {name: True for name in STUDENT_LAB_PLUGINS_OFF}
    else:
        (jupyter / "nbgrader_config.py").write_text(
            "# The instructor's course: formgrader and the nbgrader commands use it from anywhere.\n"
            "c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.root = {str(home / COURSE_FOLDER)!r}\n"
        )
    _write_json(jupyter / "labconfig" / "page_config.json", page_config)
    _chown_tree(home, user)
    home.chmod(0o700)


def prepare_course(course: Path, assignments: list[str]) -> None:
    """The instructor's course: the repository's nbgrader_config.py plus the hub's, and the sources."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(
        (REPOSITORY / "nbgrader_config.py").read_text()
        + "\n\n# ---- added for the hub by hub/prepare_class.py, from hub/nbgrader_config.py ----\n"
        + (HUB / "nbgrader_config.py").read_text()
    )
    for assignment in assignments:
        target = course / "source" / assignment
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(REPOSITORY / "source" / assignment, target,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))


def _runs_as(user: str, python: Path, library_path: str = "") -> bool:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LD_LIBRARY_PATH": library_path}
    probe = subprocess.run(["runuser", "-u", user, "--", str(python), "-c", "import sys"],
                           capture_output=True, cwd="/", env=env)
    return probe.returncode == 0


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)  # same file system: no copy, no space
    except OSError:
        shutil.copy2(source, destination)


def users_environment(root: Path, user: str) -> dict:
    """A Python environment that ``user`` can run, holding the course's packages.

    Returns ``{"bin": its bin/ folder, "library_path": what LD_LIBRARY_PATH needs, or ""}``.
    That is this environment when its interpreter is readable by everyone. Otherwise ``root/python``:
    a venv on the same interpreter (or, when even that is out of the users' reach, on a mirror of its
    installation in ``root/python-base``, without its own site-packages), whose site-packages adds this
    environment's (a ``.pth`` file), with copies of this environment's commands and links to its
    ``share/`` and ``etc/`` (JupyterLab's front end, extensions and their settings).
    """
    environment_bin = Path(sys.executable).parent
    if _runs_as(user, environment_bin / "python"):
        return {"bin": str(environment_bin), "library_path": ""}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(sys.base_prefix)
    library_path = ""
    if not _runs_as(user, base / "bin" / version):
        mirror = root / "python-base"
        shutil.rmtree(mirror, ignore_errors=True)
        shutil.copytree(base / "lib" / version, mirror / "lib" / version, copy_function=_link_or_copy,
                        ignore=shutil.ignore_patterns("site-packages", "test", "tests", "idle_test"))
        (mirror / "lib" / version / "site-packages").mkdir()
        for library in base.glob("lib/libpython*"):
            _link_or_copy(str(library), str(mirror / "lib" / library.name))
        (mirror / "bin").mkdir()
        _link_or_copy(str(base / "bin" / version), str(mirror / "bin" / version))
        for folder in [mirror, *mirror.rglob("*")]:
            if folder.is_dir():
                folder.chmod(0o755)
        # the interpreter looks for libpython where it was built (a RUNPATH): the mirror's comes first
        base, library_path = mirror, str(mirror / "lib")
        if not _runs_as(user, base / "bin" / version, library_path):
            raise RuntimeError(f"the class's users cannot run this environment's Python ({sys.executable}) "
                               "nor a copy of it: install the course in an environment readable by everyone")
    thin = root / "python"
    shutil.rmtree(thin, ignore_errors=True)
    _run(str(base / "bin" / version), "-m", "venv", "--without-pip", str(thin),
         env={**os.environ, "LD_LIBRARY_PATH": library_path})
    site_packages = sysconfig.get_paths()["purelib"]
    (thin / "lib" / version / "site-packages" / "course_environment.pth").write_text(
        f"import site; site.addsitedir({site_packages!r})\n")
    # Jupyter finds its front end, extensions and their settings under sys.prefix: share them too.
    for shared in ("share", "etc"):
        if (Path(sys.prefix) / shared).is_dir():
            (thin / shared).symlink_to(Path(sys.prefix) / shared)
    for script in environment_bin.iterdir():
        if script.name.startswith("python") or not script.is_file():
            continue
        with open(script, "rb") as handle:
            first_line = handle.readline()
        if first_line.startswith(b"#!") and b"python" in first_line:
            body = script.read_bytes()[len(first_line):]
            copy = thin / "bin" / script.name
            copy.write_bytes(f"#!{thin / 'bin' / 'python'}\n".encode() + body)
            copy.chmod(0o755)
    return {"bin": str(thin / "bin"), "library_path": library_path}


def prepare(root: Path, students: int, assignments: list[str], prefix: str = PREFIX) -> dict:
    """Set the class up under ``root``; returns {user: password}."""
    instructor = instructor_name(prefix)
    root = root.resolve()
    for folder, mode in (("", 0o755), ("home", 0o755), ("etc/jupyter", 0o755), ("lib", 0o755),
                         ("state", 0o700), ("exchange", 0o777)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder).chmod(mode)

    shutil.rmtree(root / "lib" / "course", ignore_errors=True)
    shutil.copytree(REPOSITORY / "course", root / "lib" / "course",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "etc" / "jupyter" / "nbgrader_config.py").write_text(
        "# Every user's nbgrader: where the exchange is, and which course (hub/prepare_class.py).\n"
        "c = get_config()  # noqa: F821\n"
        f"c.Exchange.root = {str(root / 'exchange')!r}\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
    )

    passwords = {}
    names = student_names(students, prefix)
    for user in [instructor, *names]:
        home = root / "home" / user
        passwords[user] = ensure_user(user, home)
        configure_home(user, home, student=user != instructor)
    course = root / "home" / instructor / COURSE_FOLDER
    prepare_course(course, assignments)
    _chown_tree(course, instructor)

    course_exchange = root / "exchange" / COURSE_ID
    course_exchange.mkdir(exist_ok=True)
    _chown_tree(course_exchange, instructor)
    course_exchange.chmod(0o755)

    _write_json(root / "users.json", {"instructor": instructor, "students": names,
                                      **users_environment(root, names[0])})
    passwords_file = root / "state" / "passwords.txt"
    passwords_file.write_text("".join(f"{user} {password}\n" for user, password in passwords.items()))
    passwords_file.chmod(0o600)
    return passwords


def remove(root: Path) -> None:
    """Delete the class's users (those listed in ``root/users.json``) and ``root``."""
    users_file = root / "users.json"
    if users_file.exists():
        users = json.loads(users_file.read_text())
        for user in [users["instructor"], *users["students"]]:
            if _user_exists(user):
                _run("userdel", user)
    shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="assignments to put in the instructor's source/ (default: all)")
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("BACKPROP_HUB_ROOT", DEFAULT_ROOT)),
                        help=f"where the class lives (default: $BACKPROP_HUB_ROOT or {DEFAULT_ROOT})")
    parser.add_argument("--students", type=int, default=2, help="how many student accounts (default 2)")
    parser.add_argument("--prefix", default=PREFIX, help=f"start of the user names (default {PREFIX})")
    parser.add_argument("--remove", action="store_true", help="delete the class's users and --root")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("prepare_class.py creates Unix users: run it as root", file=sys.stderr)
        return 2
    if args.remove:
        remove(args.root)
        return 0
    known = sorted(p.name for p in (REPOSITORY / "source").iterdir() if (p / f"{p.name}.ipynb").is_file())
    unknown = sorted(set(args.assignments) - set(known))
    if unknown:
        parser.error(f"no such assignment in source/: {', '.join(unknown)}")
    passwords = prepare(args.root, args.students, args.assignments or known, args.prefix)
    print(f"class ready in {args.root.resolve()}; users and passwords in "
          f"{args.root.resolve() / 'state' / 'passwords.txt'}:")
    for user, password in passwords.items():
        print(f"  {user:16} {password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
