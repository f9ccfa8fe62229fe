"""Give what ``course grade`` wrote in the course back to the course's owner.

``course grade`` runs as root (the sandbox needs it), so the files nbgrader
writes while recording (the SQLite gradebook and its journal, ``autograded/``)
would belong to root, and the instructor's own formgrader or nbgrader could no
longer write them. The course root's owner is taken to be the instructor.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["return_to_course_owner"]


def _sqlite_file(db_url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(db_url[len(prefix):]) if db_url.startswith(prefix) else None


def return_to_course_owner(root: Path, db_url: str) -> int:
    """Chown, without following links, what recording writes to the owner of ``root``.

    Parameters
    ----------
    root : Path
        The course root.
    db_url : str
        The gradebook's URL; a SQLite file inside ``root`` is handed back, with
        its journal files.

    Returns
    -------
    int
        How many paths changed owner (0 when not root, or when root owns the course).
    """
    if os.geteuid() != 0:
        return 0
    owner = root.stat()
    if owner.st_uid == 0:
        return 0
    paths: list[Path] = []
    database = _sqlite_file(db_url)
    if database is not None and database.resolve().parent == root.resolve():
        paths += [database.with_name(database.name + suffix) for suffix in ("", "-journal", "-wal", "-shm")]
    autograded = root / "autograded"
    if autograded.is_dir() and not autograded.is_symlink():
        paths.append(autograded)
        for folder, subfolders, files in os.walk(autograded, followlinks=False):
            paths += [Path(folder) / name for name in subfolders + files]
    changed = 0
    for path in paths:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if (info.st_uid, info.st_gid) != (owner.st_uid, owner.st_gid):
            os.lchown(path, owner.st_uid, owner.st_gid)
            changed += 1
    return changed
