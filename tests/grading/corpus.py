"""Hostile and broken submissions of ``01_computation_graphs``, one student each.

Each entry builds the submitted folder of one student in a course copy made
by :mod:`tests.course_copy`. Attacks print a marker (``ATTACK-SUCCEEDED
...``) only when they work, so that a test can look for it in the
autograded notebook; the sandbox must keep every marker out.

``context`` holds what an attacker could know: the course root (its absolute
path), the pid of a root-owned sentinel process, the port of a listener
on loopback, and the marker carried by the solutions of the course copies
planted around the machine (``planted_marker``, see the ``planted_courses`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from tests.course_copy import blank_submission, reference_submission, submission_with, submit
from tests.notebooks import nbgrader_meta

ASSIGNMENT = "01_computation_graphs"
OTHER = "02_activations"
MARKER = "ATTACK-SUCCEEDED"
#: the file the "walk-for-solutions" student hands in beside its notebook, carrying the planted marker:
#: its walk must find it (the walk works in the sandbox) and nothing else
CONTROL_FILE = "walk-control.txt"

#: ``walk(tops, wanted)``: every file under the folders ``tops`` (not /proc, /sys, /dev) whose content
#: holds the bytes ``wanted``, among notebooks, nbgrader configurations and text, JSON and database
#: files; returns (files seen, paths found)
WALK_CODE = """
import os, stat

def walk(tops, wanted):
    seen, found = 0, []
    for top in tops:
        for folder, folders, files in os.walk(top):
            folders[:] = [f for f in folders if os.path.join(folder, f) not in ("/proc", "/sys", "/dev")]
            for name in files:
                seen += 1
                if not (name.endswith((".ipynb", ".txt", ".json", ".md", ".cfg", ".db"))
                        or name == "nbgrader_config.py"):
                    continue
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                    if stat.S_ISREG(info.st_mode) and info.st_size < 4_000_000:
                        with open(path, "rb") as handle:
                            if wanted in handle.read():
                                found.append(path)
                except OSError:
                    pass
    return seen, found
"""


def _folder(course: Path, student: str) -> Path:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "timestamp.txt").write_text("2026-11-23 12:00:00.000000 UTC")
    return folder


def _with(course, code):
    """The reference submission, ``code`` appended to the cell that defines fruit_price."""
    return submission_with(course, ASSIGNMENT, "fruit_price", code)


def _without(nb, grade_id):
    nb.cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") != grade_id]
    return nb


def _walk_for_solutions(marker: str) -> str:
    """Code that reports every file visible from / holding ``marker``: its own control file, and with
    ``ATTACK-SUCCEEDED`` any other. The marker is built at run time, so that the notebook holds no copy."""
    return "\n".join([
        WALK_CODE,
        f"_seen, _found = walk(['/'], bytes.fromhex('{marker.encode().hex()}'))",
        "print('walked', _seen, 'files; at the top:', sorted(os.listdir('/')))",
        "for _path in _found:",
        f"    if os.path.basename(_path) == {CONTROL_FILE!r}:",
        "        print('found the control file', _path)",
        "    else:",
        f"        print('{MARKER} solution', _path)",
    ])


def build(course: Path, context: dict) -> dict[str, str]:
    """Submit every corpus student into ``course``; returns {student: what it does}."""
    root = context["root"]
    sentinel = context["sentinel_pid"]
    port = context["port"]
    source_nb = f"{root}/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    students = {
        "reference": ("the reference solution", reference_submission(course, ASSIGNMENT)),
        "blank": ("the release notebook, untouched", blank_submission(course, ASSIGNMENT)),
        "loop-top": ("an infinite loop at top level", _with(course, "while True:\n    pass")),
        "loop-function": ("an infinite loop inside fruit_price", _with(course, (
            "def fruit_price(apple, apple_num, orange, orange_num, tax):\n    while True:\n        pass"))),
        "memory-bomb": ("allocates until memory runs out", _with(course, (
            "def _bomb():\n    hog = []\n    while True:\n        hog.append(bytearray(50 * 1024 * 1024))\n\n"
            "try:\n    _bomb()\nexcept MemoryError:\n    print('out of memory')\n"
            f"else:\n    print('{MARKER} memory')"))),
        "fork-bomb": ("forks until it cannot", _with(course, (
            "import os, time\n_pids = []\ntry:\n    for _ in range(5000):\n        _pid = os.fork()\n"
            "        if _pid == 0:\n            time.sleep(20)\n            os._exit(0)\n"
            "        _pids.append(_pid)\n"
            "except OSError:\n    pass\n"
            f"print('forked', len(_pids))\nif len(_pids) >= 64:\n    print('{MARKER} fork')"))),
        "os-exit": ("os._exit at top level of a solution cell", _with(course, "import os\nos._exit(3)")),
        "kill-parent": ("signals the kernel's parent, JPY_PARENT_PID and a root process", _with(course, (
            "import os, signal\n"
            f"for _pid in (os.getppid(), int(os.environ.get('JPY_PARENT_PID', '0') or 0), {sentinel}):\n"
            "    if _pid > 1:\n"
            "        try:\n            os.kill(_pid, signal.SIGKILL)\n"
            f"            print('{MARKER} kill', _pid)\n"
            "        except OSError as error:\n            print('kill failed', _pid, error)"))),
        "read-source": ("reads source/, the config and the gradebook", _with(course, (
            f"for _path in ({source_nb!r}, '{root}/nbgrader_config.py', '{root}/gradebook.db'):\n"
            "    try:\n        with open(_path, 'rb') as _f:\n            _f.read(100)\n"
            f"        print('{MARKER} read', _path)\n"
            "    except OSError as error:\n        print('read failed', error)"))),
        "write-gradebook": ("overwrites gradebook.db", _with(course, (
            f"try:\n    with open('{root}/gradebook.db', 'r+b') as _f:\n        _f.write(b'garbage' * 100)\n"
            f"    print('{MARKER} write')\nexcept OSError as error:\n    print('write failed', error)"))),
        "network": ("connects to a listener on loopback and to a public address", _with(course, (
            "import socket\n"
            f"for _address in (('127.0.0.1', {port}), ('1.1.1.1', 53)):\n"
            "    try:\n        socket.create_connection(_address, timeout=3).close()\n"
            f"        print('{MARKER} network', _address)\n"
            "    except OSError as error:\n        print('no network', error)"))),
        "patch-allclose": ("a wrong fruit_price, and np.allclose always true", _with(course, (
            "def fruit_price(apple, apple_num, orange, orange_num, tax):\n    return 0.0\n\n"
            "np.allclose = lambda *args, **kwargs: True\nnp.isclose = lambda *args, **kwargs: True"))),
        "patch-assert-allclose": ("np.testing.assert_allclose does nothing", _with(course, (
            "def fruit_price(apple, apple_num, orange, orange_num, tax):\n    return 0.0\n\n"
            "np.testing.assert_allclose = lambda *args, **kwargs: None"))),
        "patch-showtraceback": ("IPython shows no traceback", _with(course, (
            "def fruit_price(apple, apple_num, orange, orange_num, tax):\n    return 0.0\n\n"
            "get_ipython().showtraceback = lambda *args, **kwargs: None"))),
        "deleted-test-cell": ("deleted the test cell of fruit_price",
                              _without(reference_submission(course, ASSIGNMENT), "test_fruit_price")),
        "stderr-warning": ("a correct answer that warns on stderr", _with(course, (
            "_fruit_price = fruit_price\n\n"
            "def fruit_price(*args, **kwargs):\n    import sys\n"
            "    print('warning: rounding to cents', file=sys.stderr)\n"
            "    return _fruit_price(*args, **kwargs)"))),
        "big-output": ("prints 100 MB", _with(course, "for _ in range(100):\n    print('x' * 1_000_000)")),
        "walk-for-solutions": ("walks the file system from / for the planted solutions' marker",
                               _with(course, _walk_for_solutions(context["planted_marker"]))),
    }
    described = {}
    for student, (what, nb) in students.items():
        submit(course, student, ASSIGNMENT, nb)
        described[student] = what
    (_folder(course, "walk-for-solutions") / CONTROL_FILE).write_text(context["planted_marker"])

    nb = reference_submission(course, ASSIGNMENT)
    test = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "test_fruit_price")
    nb.cells.append(nbformat.from_dict(json.loads(json.dumps(test))))
    submit(course, "duplicate-grade-id", ASSIGNMENT, nb)
    described["duplicate-grade-id"] = "the fruit_price test cell twice"

    nb = reference_submission(course, ASSIGNMENT)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    submit(course, "stripped-metadata", ASSIGNMENT, nb)
    described["stripped-metadata"] = "every cell's nbgrader metadata removed"

    (_folder(course, "corrupt-json") / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [{"cell_type": "co')
    described["corrupt-json"] = "a truncated JSON file"
    (_folder(course, "empty-file") / f"{ASSIGNMENT}.ipynb").write_bytes(b"")
    described["empty-file"] = "an empty file"
    nbformat.write(reference_submission(course, ASSIGNMENT),
                   str(_folder(course, "wrong-name") / "01_computation_graph.ipynb"))
    described["wrong-name"] = "the reference solution, misnamed"
    nbformat.write(reference_submission(course, OTHER), str(_folder(course, "other-assignment")
                                                            / f"{ASSIGNMENT}.ipynb"))
    described["other-assignment"] = "02_activations' notebook under 01's name"
    return described
