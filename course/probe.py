"""Runtime checks inside a graded kernel: was the grading machinery tampered with?

It lives in ``course/``, not in the grader, because it runs inside the student's kernel: the sandbox
shows the kernel the ``course`` package (which the notebooks import anyway) and hides the rest of the
repository, the grader included.

The kernel runs :func:`snapshot` at start (an ``exec_lines`` of the kernel,
before any cell), which remembers the objects the tests rely on. After the
last cell, the grader runs :func:`report`, which prints one JSON line
listing the names that no longer hold the remembered object.

This is a tripwire, not a defence: code running in the same process can
tamper with this module too. It catches the simple cheats (``np.allclose =
lambda *a, **k: True``, replacing IPython's ``showtraceback``) that static
analysis could miss when they are written indirectly.
"""

from __future__ import annotations

import json
import sys

__all__ = ["snapshot", "report", "WATCHED", "MARKER", "SNAPSHOT_CODE", "REPORT_CODE"]

MARKER = "__course_probe__"

# The grader hands these to the kernel as code to run (an ``exec_lines`` entry, an appended cell): they
# run in another process, the kernel, so they must be text; they are built from this module's name here,
# so that the grader imports them instead of spelling the module out.
SNAPSHOT_CODE = f"__import__({__name__!r}, fromlist=['_']).snapshot()"
REPORT_CODE = f"__import__({__name__!r}, fromlist=['_']).report()"

#: (module, attribute path) pairs whose identity is checked.
WATCHED = [
    ("numpy", name)
    for name in (
        "allclose", "isclose", "array_equal", "array_equiv", "all", "any", "abs", "max", "isfinite",
        "isnan", "shape", "asarray", "array",
    )
] + [
    ("numpy.testing", name)
    for name in (
        "assert_allclose", "assert_array_equal", "assert_array_almost_equal", "assert_equal",
        "assert_almost_equal", "assert_array_less", "assert_raises",
    )
] + [
    ("builtins", name)
    for name in ("abs", "all", "any", "isinstance", "len", "print", "AssertionError", "Exception", "max")
] + [
    ("IPython.core.interactiveshell", "InteractiveShell.showtraceback"),
    ("IPython.core.interactiveshell", "InteractiveShell.run_cell"),
    ("IPython.core.interactiveshell", "InteractiveShell.run_code"),
    ("IPython.core.interactiveshell", "InteractiveShell._showtraceback"),
    ("ipykernel.zmqshell", "ZMQInteractiveShell._showtraceback"),
    ("ipykernel.ipkernel", "IPythonKernel.do_execute"),
]

_SAVED: dict = {}


def _lookup(module_name, path):
    module = sys.modules.get(module_name) or __import__(module_name, fromlist=["_"])
    value = module
    for part in path.split("."):
        value = getattr(value, part)
    return value


def snapshot() -> None:
    """Remember the watched objects (run before the first cell)."""
    for module_name, path in WATCHED:
        try:
            _SAVED[(module_name, path)] = _lookup(module_name, path)
        except Exception:  # noqa: BLE001 - a missing name is simply not watched
            pass
    _SAVED.update(_course_functions())
    try:
        shell = get_ipython()  # noqa: F821 - defined in a kernel
        _SAVED[("shell", "custom_exceptions")] = tuple(shell.custom_exceptions)
        _SAVED[("shell", "showtraceback")] = shell.__dict__.get("showtraceback")
    except NameError:
        pass


COURSE_MODULES = ("course.testing", "course.gradcheck")


def _course_functions():
    """Public callables of the course's testing modules, by name."""
    found = {}
    for module_name in COURSE_MODULES:
        try:
            module = __import__(module_name, fromlist=["_"])
        except Exception:  # noqa: BLE001
            continue
        for name in getattr(module, "__all__", [n for n in vars(module) if not n.startswith("_")]):
            value = getattr(module, name, None)
            if callable(value):
                found[(module_name, name)] = value
    return found


def report() -> None:
    """Print ``__course_probe__ {"changed": [...]}`` for the grader."""
    changed = []
    for (module_name, path), original in _SAVED.items():
        if module_name == "shell":
            continue
        try:
            current = _lookup(module_name, path)
        except Exception:  # noqa: BLE001
            current = None
        if current is not original:
            changed.append(f"{module_name}.{path}")
    try:
        shell = get_ipython()  # noqa: F821
        if tuple(shell.custom_exceptions) != _SAVED.get(("shell", "custom_exceptions"), ()):
            changed.append("IPython custom exception handler")
        if shell.__dict__.get("showtraceback") is not _SAVED.get(("shell", "showtraceback")):
            changed.append("get_ipython().showtraceback")
        if type(sys.stdout).__module__ != "ipykernel.iostream" or type(sys.stderr).__module__ != (
            "ipykernel.iostream"
        ):
            changed.append("sys.stdout/sys.stderr")
        originals = {name: value for (module, name), value in _SAVED.items() if module in COURSE_MODULES}
        for name, original in originals.items():
            if name in shell.user_ns and shell.user_ns[name] is not original:
                changed.append(f"{name} (the setup cell's import)")
    except NameError:
        pass
    print(MARKER, json.dumps({"changed": sorted(set(changed)), "saved": len(_SAVED)}))
