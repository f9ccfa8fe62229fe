"""Static flags: what in a submitted notebook deserves a human look.

:func:`static_flags` reads the submitted files (never runs them) and
compares the notebooks with the assignment's structure from the gradebook. It runs on
the worker, as part of the task.
A flag does not change a score; ``course grade`` lists flagged submissions
in its summary and marks their notebooks *flagged* in the gradebook, where
formgrader shows them.

Flag codes
----------
unreadable-notebook      not JSON, not a notebook, or empty
unknown-notebook         a notebook the assignment does not have (e.g. misnamed)
missing-notebook         a notebook of the assignment is not in the submission
foreign-notebook         none of the assignment's graded cells is in the notebook
grade-cell-deleted       a graded or locked cell of the assignment is missing
grade-cell-modified      a locked cell's source differs from the released one
duplicate-grade-id       two cells share a grade id
metadata-stripped        a code cell without nbgrader metadata holds the code of a
                         graded or locked cell that is missing (its grade id is gone);
                         a deleted cell alone is ``grade-cell-deleted``
numpy-rebinding          assignment to ``numpy``/``np`` names, ``np.testing``...
setup-name-rebinding     a name imported by the locked setup cell is rebound
ipython-machinery        touches IPython's traceback/display/execution machinery,
                         ``sys.excepthook``, ``sys.stdout``/``stderr``, builtins
grading-environment      reads the environment, the process tree, the grader's
                         files (``gradebook``, ``source/``, ``/proc``...), or
                         spawns processes / opens sockets
dynamic-code             ``exec``/``eval``/``compile``/``__import__``/``importlib``,
                         ``getattr``/``setattr`` on modules with computed names
trace-hook               installs a trace or profile function (``sys.settrace``,
                         ``sys.setprofile``, ``threading.settrace``/``setprofile``,
                         their ``_all_threads`` forms, ``sys.monitoring``), or names one
                         in a string
link-in-submission       a symbolic link or special file in the submission
analysis-failed          the analysis itself failed on this submission (a bug to report)

The code checks are small functions, one per flag code, listed by :func:`_yield_checks`;
:func:`analyse_code` runs each on every node of a cell's syntax tree.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator

import nbformat

from grader.messages import Flag
from grader.nbgrader_terms import grade_id, is_solution, visible_part
from grader.structure import AssignmentStructure, NotebookStructure

__all__ = ["static_flags", "analyse_code", "course_code"]

NUMPY_ROOTS = {"np", "numpy"}
IPYTHON_ATTRIBUTES = {
    "showtraceback", "_showtraceback", "showsyntaxerror", "set_custom_exc", "custom_exceptions",
    "excepthook", "displayhook", "display_pub", "display_formatter", "run_cell", "run_code",
    "run_ast_nodes", "ast_transformers", "input_transformers_post", "input_transformer_manager",
    "InteractiveShell", "events", "register_magic_function", "_exit", "kernel", "send_response",
    "do_execute", "InteractiveTB", "SyntaxTB", "CustomTB",
}
IPYTHON_NAMES = {"get_ipython", "IPython", "ipykernel", "builtins", "__builtins__", "traitlets"}
ENVIRONMENT_ATTRIBUTES = {
    "environ", "getenv", "putenv", "getppid", "kill", "killpg", "getpgid", "fork", "forkpty", "system",
    "popen", "execv", "execve", "execvp", "spawnv", "setsid", "ptrace", "chmod", "chown", "rmtree",
}
ENVIRONMENT_MODULES = {"subprocess", "socket", "ctypes", "signal", "multiprocessing", "pty", "urllib",
                       "http", "requests", "psutil", "resource", "shutil", "pathlib", "glob", "sqlite3",
                       "nbgrader", "jupyter_client", "zmq", "asyncio"}
SUSPICIOUS_STRINGS = re.compile(
    r"gradebook|nbgrader|source/|/source|/proc|\.\./|JPY_|NBGRADER|/etc/|/root|"
    r"connection_file|kernel-.*\.json|hidden tests",
    re.IGNORECASE,
)
# Functions that install a trace or profile hook (in sys and threading), and the two calls of
# sys.monitoring (Python 3.12) that install its callbacks.
TRACE_HOOKS = {"settrace", "setprofile", "settrace_all_threads", "setprofile_all_threads"}
MONITORING_CALLS = {"use_tool_id", "register_callback"}
DYNAMIC_NAMES = {"exec", "eval", "compile", "__import__", "importlib", "globals", "vars", "setattr",
                 "delattr", "locals", "sys.modules"}


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _target_parts(target: ast.AST):
    """The nodes an assignment target writes through: ``a.b[i].c`` gives the chain, not ``i``."""
    if isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_parts(element)
    elif isinstance(target, ast.Starred):
        yield from _target_parts(target.value)
    else:
        node = target
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            yield node
            node = node.value
        yield node


def _bound_names(tree: ast.AST) -> set[str]:
    """Names a cell binds at top level or declares global."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.Global):
            names.update(node.names)
    return names


def _parse(source: str) -> ast.AST | None:
    lines = [line for line in source.split("\n") if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return None


Check = Callable[[ast.AST, frozenset], bool]


def _assignment_targets(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes an assignment or ``del`` statement writes through (nothing for other nodes)."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = node.targets
    else:
        return
    for target in targets:
        yield from _target_parts(target)


def _bound_by_import(node: ast.AST) -> Iterator[tuple[ast.alias, str]]:
    """``(alias, name bound)`` for each name an import statement binds."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            yield alias, (alias.asname or alias.name).split(".")[0]


def _imported_modules(node: ast.AST) -> list[str]:
    """The top-level packages an import statement imports from."""
    if isinstance(node, ast.ImportFrom):
        return [(node.module or "").split(".")[0]]
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    return []


def _rebinds_numpy(node: ast.AST, setup_names: frozenset) -> bool:
    """Writes to numpy (``np.allclose = ...``, ``np.testing.x = ...``, ``np = ...``).

    Why: the tests compare with numpy's functions; a submission that replaces one makes every
    comparison pass. Exceptions: ``import numpy`` itself (with any alias), and writes into arrays held
    in other names (``x[np.arange(3), y] -= 1`` writes to ``x``).
    """
    for part in _assignment_targets(node):
        if isinstance(part, (ast.Attribute, ast.Subscript)) and _root_name(part) in NUMPY_ROOTS:
            return True
        if isinstance(part, ast.Name) and isinstance(part.ctx, (ast.Store, ast.Del)) and (
                part.id in NUMPY_ROOTS):
            return True
    return any(bound in NUMPY_ROOTS and not (isinstance(node, ast.Import) and alias.name == "numpy")
               for alias, bound in _bound_by_import(node))


def _rebinds_setup_name(node: ast.AST, setup_names: frozenset) -> bool:
    """Rebinds a name the locked setup cell imports (``assert_tensor_close = ...``, ``def check_gradient``).

    Why: the tests call the setup cell's helpers by name; a submission that rebinds one decides its own
    verdict. Exceptions: numpy's names (flagged as numpy-rebinding instead), and importing the same
    name again from the course package (``from course.testing import ...``).
    """
    for part in _assignment_targets(node):
        if isinstance(part, ast.Name) and isinstance(part.ctx, (ast.Store, ast.Del)) and (
                part.id in setup_names and part.id not in NUMPY_ROOTS):
            return True
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name in setup_names - NUMPY_ROOTS
    from_course = isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course")
    return not from_course and any(bound in setup_names and bound not in NUMPY_ROOTS
                                   for _, bound in _bound_by_import(node))


def _writes_ipython_machinery(node: ast.AST, setup_names: frozenset) -> bool:
    """Writes to IPython's machinery or to ``sys.stdout``/``stderr``/``modules``.

    Why: nbgrader learns that a test failed from the error IPython reports; replacing
    ``showtraceback``, an exception hook or the output streams hides a failure. Exceptions: writes
    through numpy's names (numpy-rebinding instead).
    """
    for part in _assignment_targets(node):
        if isinstance(part, ast.Attribute) and _root_name(part) not in NUMPY_ROOTS and (
                part.attr in IPYTHON_ATTRIBUTES or part.attr in {"stdout", "stderr", "modules"}
                or _root_name(part) in IPYTHON_NAMES):
            return True
    return False


def _uses_ipython_machinery(node: ast.AST, setup_names: frozenset) -> bool:
    """Reaches IPython's machinery: imports it, names ``get_ipython``/``builtins``, reads its hooks.

    Why: a solution to a numpy exercise has no use for the shell that runs it; code that reaches it can
    change how failures are reported. Exceptions: attributes named ``events`` or ``kernel`` (ordinary
    names in student code), and importing ``IPython.display`` is still flagged (a human decides).
    """
    if any(top in {"IPython", "ipykernel", "builtins", "traitlets"} for top in _imported_modules(node)):
        return True
    if isinstance(node, ast.Attribute):
        if node.attr in IPYTHON_ATTRIBUTES and node.attr not in {"events", "kernel"}:
            return True
        return _dotted(node) in {"sys.modules", "sys.excepthook", "sys.displayhook"}
    return isinstance(node, ast.Name) and node.id in IPYTHON_NAMES - {"IPython", "ipykernel", "traitlets"}


def _reaches_environment(node: ast.AST, setup_names: frozenset) -> bool:
    """Reads the environment or the process tree, spawns processes, opens sockets.

    Why: the grader's secrets and processes are there (the sandbox hides most; the flag shows the
    attempt). Exceptions: the same attribute names on objects that are not ``os``, ``sys``,
    ``shutil``, ``signal`` or ``posix`` (``self.kill``).
    """
    if any(top in ENVIRONMENT_MODULES for top in _imported_modules(node)):
        return True
    return isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT_ATTRIBUTES and (
        _root_name(node) in {"os", "sys", "shutil", "signal", "posix"})


def _opens_grader_files(node: ast.AST, setup_names: frozenset) -> bool:
    """Opens a file whose name points at the grader (``source/``, the gradebook) or is computed.

    Why: the hidden tests live in ``source/`` and the scores in the gradebook. Exceptions: ``open`` of
    a literal name that points nowhere suspicious (``open("results.txt")``).
    """
    if not isinstance(node, ast.Call):
        return False
    name = _dotted(node.func)
    if not (name in {"open", "io.open"} or name.endswith((".read_text", ".read_bytes", ".open"))):
        return False
    literals = [a for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return not literals or any(SUSPICIOUS_STRINGS.search(a.value) for a in literals)


def _names_grader_paths(node: ast.AST, setup_names: frozenset) -> bool:
    """A string that names the grader's files or variables (``"gradebook"``, ``"/proc"``, ``"JPY_"``).

    Why: such a string has no place in a numpy exercise and is the first step of reaching them.
    Exceptions: none; the course's own cells that need one are not analysed (see :func:`course_code`).
    """
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(
        SUSPICIOUS_STRINGS.search(node.value))


def _runs_dynamic_code(node: ast.AST, setup_names: frozenset) -> bool:
    """``exec``/``eval``/``compile``/``__import__``/``importlib``, ``getattr`` with a computed name.

    Why: code built at run time hides from every other check. Exceptions: ``getattr``/``hasattr`` with
    a literal attribute name (``getattr(layer, "W")``).
    """
    if "importlib" in _imported_modules(node):
        return True
    if not isinstance(node, ast.Call):
        return False
    name = _dotted(node.func)
    if name in DYNAMIC_NAMES or name.split(".")[-1] in {"__import__", "import_module"}:
        return True
    computed_name = len(node.args) >= 2 and not isinstance(node.args[1], ast.Constant)
    return name in {"getattr", "hasattr"} and computed_name


def _installs_trace_hook(node: ast.AST, setup_names: frozenset) -> bool:
    """Reaches a trace or profile hook: ``sys.settrace``, ``threading.setprofile``, ``sys.monitoring``.

    Why: a trace function runs inside every frame that follows, the test cells' too; it sees their
    locals (a hidden test's expected values) and can change them before they are compared. Checked:
    the attribute on any object (``sys.settrace``, ``threading.setprofile``, ``t.settrace``, and
    ``m.register_callback``/``use_tool_id`` of ``sys.monitoring`` under any name), importing one by
    name (``from sys import settrace``), a bare name (after ``from sys import *``), and a string that
    is exactly one of the names (``getattr(sys, "settrace")``). Not seen here: a name built at run
    time; ``getattr(sys, "set" + "trace")`` and ``vars(sys)[...]`` raise ``dynamic-code``, while
    ``sys.__dict__[...]`` and ``operator.attrgetter(...)`` with a computed name raise nothing.
    Exceptions: none (the course's own cells are not analysed, see :func:`course_code`).
    """
    if isinstance(node, ast.Attribute):
        return node.attr in TRACE_HOOKS | MONITORING_CALLS or _dotted(node) == "sys.monitoring"
    if isinstance(node, ast.ImportFrom):
        return any(alias.name in TRACE_HOOKS or (node.module == "sys" and alias.name == "monitoring")
                   for alias in node.names)
    if isinstance(node, ast.Name):
        return node.id in TRACE_HOOKS
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in TRACE_HOOKS


def _yield_checks() -> Iterator[tuple[str, Check]]:
    """``(flag code, check)`` for every check :func:`analyse_code` runs on each node."""
    yield "numpy-rebinding", _rebinds_numpy
    yield "setup-name-rebinding", _rebinds_setup_name
    yield "ipython-machinery", _writes_ipython_machinery
    yield "ipython-machinery", _uses_ipython_machinery
    yield "grading-environment", _reaches_environment
    yield "grading-environment", _opens_grader_files
    yield "grading-environment", _names_grader_paths
    yield "dynamic-code", _runs_dynamic_code
    yield "trace-hook", _installs_trace_hook


def analyse_code(source: str, setup_names: set[str] = frozenset()) -> list[tuple[str, int, str]]:
    """Suspicious constructs in one cell's code, as ``(code, line, text)``, one per code and line.

    An unparsable cell yields nothing: nbgrader reports its SyntaxError as a failed cell.
    """
    tree = _parse(source)
    if tree is None:
        return []
    lines = source.split("\n")
    names = frozenset(setup_names)
    checks = list(_yield_checks())
    found: dict[tuple[str, int], tuple[str, int, str]] = {}
    for node in ast.walk(tree):
        for code, check in checks:
            if check(node, names):
                line = getattr(node, "lineno", 0)
                text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
                found.setdefault((code, line), (code, line, text[:120]))
    return sorted(found.values(), key=lambda item: (item[1], item[0]))


def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in (source or "").split("\n") if line.strip())


def _source_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def static_flags(structure: AssignmentStructure, files: dict[str, bytes], skipped=(),
                 course_code: dict[str, list[str]] | None = None) -> list[Flag]:
    """Flags of one submission.

    Parameters
    ----------
    structure : AssignmentStructure
        The assignment's structure (:func:`grader.instructor.gradebook.export_structure`).
    files : dict
        The submitted files, ``{relative path: bytes}``.
    skipped : sequence of str
        Files left out of the submission (links, special files).
    course_code : dict of str to list of str, optional
        Per notebook name, the normalised code cells the course hands out (:func:`course_code`).

    Returns
    -------
    list of Flag
    """
    flags: list[Flag] = [Flag("link-in-submission", detail=name) for name in skipped]
    expected = {nb.name: nb for nb in structure.notebooks}
    submitted = {path[:-6]: content for path, content in files.items()
                 if path.endswith(".ipynb") and "/" not in path}
    for name in sorted(set(submitted) - set(expected)):
        flags.append(Flag("unknown-notebook", name,
                          detail=f"{name}.ipynb is not a notebook of {structure.assignment}"))
    for name, spec in expected.items():
        if name not in submitted:
            flags.append(Flag("missing-notebook", name, detail=f"{name}.ipynb was not submitted"))
            continue
        flags += _notebook_flags(name, spec, submitted[name], set((course_code or {}).get(name, ())))
    return flags


def _notebook_flags(name: str, spec: NotebookStructure, content: bytes, known: set[str]) -> list[Flag]:
    flags: list[Flag] = []

    def flag(code, cell="", line=0, detail=""):
        flags.append(Flag(code, name, cell, line, detail))

    try:
        nb = nbformat.reads(content.decode("utf-8"), as_version=4)
    except Exception as error:  # noqa: BLE001 - any unreadable file
        flag("unreadable-notebook", detail=f"{type(error).__name__}: {str(error)[:200]}")
        return flags
    cells = [c for c in nb.get("cells", []) if isinstance(c, dict)]
    sources = spec.sources
    graded = spec.graded
    locked = spec.locked
    ids = [grade_id(c) for c in cells if grade_id(c)]
    for cell_id in sorted({i for i in ids if ids.count(i) > 1}):
        flag("duplicate-grade-id", cell_id, detail=f"{ids.count(cell_id)} cells have grade id {cell_id!r}")
    present = set(ids)
    if graded and not (graded & present):
        flag("foreign-notebook", detail="none of the assignment's graded cells is in this notebook")
    else:
        for cell_id in sorted((graded | locked) - present):
            flag("grade-cell-deleted", cell_id, detail=f"cell {cell_id!r} is missing")
    missing_code = {_normal(text) for cell_id in (graded | locked) - present if cell_id in sources
                    for text in (sources[cell_id].source, visible_part(sources[cell_id].source))}
    if any(c.get("cell_type") == "code" and "nbgrader" not in c.get("metadata", {})
           and _normal(_source_text(c)) in missing_code for c in cells):
        flag("metadata-stripped", detail="a missing graded or locked cell's code stands in a cell without "
                                         "nbgrader metadata")
    setup_names: set[str] = set()
    first_code = next((c for c in spec.source_cells if c.cell_type == "code" and c.locked), None)
    if first_code is not None:
        tree = _parse(first_code.source)
        setup_names = _bound_names(tree) if tree else set()
    for index, cell in enumerate(cells):
        cell_id = grade_id(cell)
        source = _source_text(cell)
        if cell_id in locked and cell_id in sources:
            released = sources[cell_id].source
            if _normal(source) not in {_normal(released), _normal(visible_part(released))}:
                flag("grade-cell-modified", cell_id, detail=f"locked cell {cell_id!r} was edited")
            continue  # locked cells are put back by nbgrader: their code never runs as submitted
        if cell.get("cell_type") != "code" or _normal(source) in known:
            continue
        for code, line, text in analyse_code(source, setup_names):
            flag(code, cell_id or f"cell {index}", line, text)
    return flags


def course_code(source_notebook) -> list[str]:
    """The code the course itself hands out: the source notebook's code cells that are not solutions.

    Their statements (e.g. ``os.environ.get("NBGRADER_EXECUTION")`` in a
    training cell) are the course's, not the student's: a submitted cell
    whose code is one of these raises no flag.
    """
    try:
        nb = nbformat.read(str(source_notebook), as_version=4)
    except Exception:  # noqa: BLE001 - no source notebook: nothing is known
        return []
    return [_normal(c.source) for c in nb.cells if c.cell_type == "code" and not is_solution(c)]


def summarize(flags: list[Flag]) -> str:
    """One line: ``code (notebook/cell:line) ...``."""
    return "; ".join(
        f.code + (f" ({f.cell}:{f.line})" if f.cell else "") for f in flags[:6]
    ) + (f"; +{len(flags) - 6} more" if len(flags) > 6 else "")
