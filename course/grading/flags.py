"""Static flags: what in a submitted notebook deserves a human look.

:func:`static_flags` reads the submitted files (never runs them) and
compares the notebooks with the assignment's structure from the gradebook.
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
metadata-stripped        a code cell carries no nbgrader metadata while the
                         cell it replaces did (its grade id is gone)
numpy-rebinding          assignment to ``numpy``/``np`` names, ``np.testing``...
setup-name-rebinding     a name imported by the locked setup cell is rebound
ipython-machinery        touches IPython's traceback/display/execution machinery,
                         ``sys.excepthook``, ``sys.stdout``/``stderr``, builtins
grading-environment      reads the environment, the process tree, the grader's
                         files (``gradebook``, ``source/``, ``/proc``...), or
                         spawns processes / opens sockets
dynamic-code             ``exec``/``eval``/``compile``/``__import__``/``importlib``,
                         ``getattr``/``setattr`` on modules with computed names
link-in-submission       a symbolic link or special file in the submission
"""

from __future__ import annotations

import ast
import json
import re

import nbformat

__all__ = ["static_flags", "analyse_code", "FLAG_CODES"]

FLAG_CODES = [
    "unreadable-notebook", "unknown-notebook", "missing-notebook", "foreign-notebook", "grade-cell-deleted",
    "grade-cell-modified", "duplicate-grade-id", "metadata-stripped", "numpy-rebinding",
    "setup-name-rebinding", "ipython-machinery", "grading-environment", "dynamic-code",
    "link-in-submission",
]

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


def analyse_code(source: str, setup_names: set[str] = frozenset()) -> list[tuple[str, int, str]]:
    """Suspicious constructs in one cell's code, as ``(code, line, text)``."""
    tree = _parse(source)
    if tree is None:
        return []
    found = []
    lines = source.split("\n")

    def add(code, node):
        line = getattr(node, "lineno", 0)
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        found.append((code, line, text[:120]))

    for node in ast.walk(tree):
        # assignments and deletions whose target is numpy or IPython machinery
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            for sub in _target_parts(target):
                if isinstance(sub, (ast.Attribute, ast.Subscript)):
                    root = _root_name(sub)
                    if root in NUMPY_ROOTS:
                        add("numpy-rebinding", node)
                    elif isinstance(sub, ast.Attribute) and (
                        sub.attr in IPYTHON_ATTRIBUTES or sub.attr in {"stdout", "stderr", "modules"}
                        or root in IPYTHON_NAMES
                    ):
                        add("ipython-machinery", node)
                elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                    if sub.id in NUMPY_ROOTS:
                        add("numpy-rebinding", node)
                    elif sub.id in setup_names:
                        add("setup-name-rebinding", node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in (
            setup_names - NUMPY_ROOTS
        ):
            add("setup-name-rebinding", node)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                modules = [a.name for a in node.names]
            for alias in node.names:
                bound = (alias.asname or alias.name).split(".")[0]
                is_numpy = isinstance(node, ast.Import) and alias.name == "numpy"
                from_course = isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course")
                if bound in NUMPY_ROOTS and not is_numpy:
                    add("numpy-rebinding", node)
                elif bound in setup_names and bound not in NUMPY_ROOTS and not from_course:
                    add("setup-name-rebinding", node)
            for module in modules:
                top = module.split(".")[0]
                if top in ENVIRONMENT_MODULES:
                    add("grading-environment", node)
                elif top in {"IPython", "ipykernel", "builtins", "traitlets"}:
                    add("ipython-machinery", node)
                elif top == "importlib":
                    add("dynamic-code", node)
        if isinstance(node, ast.Attribute):
            root = _root_name(node)
            if node.attr in ENVIRONMENT_ATTRIBUTES and root in {"os", "sys", "shutil", "signal", "posix"}:
                add("grading-environment", node)
            elif node.attr in IPYTHON_ATTRIBUTES and node.attr not in {"events", "kernel"}:
                add("ipython-machinery", node)
            elif _dotted(node) in {"sys.modules", "sys.excepthook", "sys.displayhook"}:
                add("ipython-machinery", node)
        if isinstance(node, ast.Name) and node.id in IPYTHON_NAMES - {"IPython", "ipykernel", "traitlets"}:
            add("ipython-machinery", node)
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in DYNAMIC_NAMES or name.split(".")[-1] in {"__import__", "import_module"}:
                add("dynamic-code", node)
            elif name in {"open", "io.open"} or name.endswith((".read_text", ".read_bytes", ".open")):
                args = [a for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if any(SUSPICIOUS_STRINGS.search(a.value) for a in args) or not args:
                    add("grading-environment", node)
            elif name in {"getattr", "hasattr"} and len(node.args) >= 2 and not isinstance(
                    node.args[1], ast.Constant):
                add("dynamic-code", node)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SUSPICIOUS_STRINGS.search(
                node.value):
            add("grading-environment", node)
    # one flag per (code, line)
    unique = {}
    for code, line, text in found:
        unique.setdefault((code, line), (code, line, text))
    return sorted(unique.values(), key=lambda item: (item[1], item[0]))


HIDDEN_BEGIN = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS\s*$")
HIDDEN_END = re.compile(r"^\s*#+\s*END HIDDEN TESTS\s*$")


def _without_hidden(source: str) -> str:
    """A test cell as the release shows it: the hidden-tests region removed."""
    kept, inside = [], False
    for line in (source or "").split("\n"):
        if HIDDEN_BEGIN.match(line):
            inside = True
        elif HIDDEN_END.match(line):
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in (source or "").split("\n") if line.strip())


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def static_flags(structure: dict, files: dict[str, bytes], skipped: list[str] = ()) -> list[dict]:
    """Flags of one submission.

    Parameters
    ----------
    structure : dict
        The assignment's structure (:func:`course.grading.gradebook.export_structure`).
    files : dict
        The submitted files, ``{relative path: bytes}``.
    skipped : list of str
        Files left out of the submission (links, special files).

    Returns
    -------
    list of dict
        ``{"code", "notebook", "cell", "line", "detail"}`` for each finding.
    """
    flags: list[dict] = []

    def flag(code, notebook="", cell="", line=0, detail=""):
        flags.append({"code": code, "notebook": notebook, "cell": cell, "line": line, "detail": detail})

    for name in skipped:
        flag("link-in-submission", detail=name)
    expected = {nb["name"]: nb for nb in structure["notebooks"]}
    submitted = {path[:-6]: content for path, content in files.items()
                 if path.endswith(".ipynb") and "/" not in path}
    for name in sorted(set(submitted) - set(expected)):
        flag("unknown-notebook", name, detail=f"{name}.ipynb is not a notebook of {structure['assignment']}")
    for name, spec in expected.items():
        if name not in submitted:
            flag("missing-notebook", name, detail=f"{name}.ipynb was not submitted")
            continue
        flags += _notebook_flags(name, spec, submitted[name])
    return flags


def _notebook_flags(name: str, spec: dict, content: bytes) -> list[dict]:
    flags: list[dict] = []

    def flag(code, cell="", line=0, detail=""):
        flags.append({"code": code, "notebook": name, "cell": cell, "line": line, "detail": detail})

    try:
        nb = nbformat.reads(content.decode("utf-8"), as_version=4)
    except Exception as error:  # noqa: BLE001 - any unreadable file
        flag("unreadable-notebook", detail=f"{type(error).__name__}: {str(error)[:200]}")
        return flags
    cells = [c for c in nb.get("cells", []) if isinstance(c, dict)]
    sources = {c["name"]: c for c in spec["source_cells"]}
    graded = {c["name"] for c in spec["grade_cells"]} | {c["name"] for c in spec["task_cells"]}
    locked = {n for n, c in sources.items() if c["locked"]}
    ids = [_grade_id(c) for c in cells if _grade_id(c)]
    for grade_id in sorted({i for i in ids if ids.count(i) > 1}):
        flag("duplicate-grade-id", grade_id, detail=f"{ids.count(grade_id)} cells have grade id {grade_id!r}")
    present = set(ids)
    if graded and not (graded & present):
        flag("foreign-notebook", detail="none of the assignment's graded cells is in this notebook")
    else:
        for grade_id in sorted((graded | locked) - present):
            flag("grade-cell-deleted", grade_id, detail=f"cell {grade_id!r} is missing")
    if any(c.get("cell_type") == "code" and "nbgrader" not in c.get("metadata", {}) for c in cells) and (
            (graded | locked) - present):
        flag("metadata-stripped", detail="code cells without nbgrader metadata, and graded cells missing")
    known = set(spec.get("course_code", []))
    setup_names: set[str] = set()
    first_code = next((c for c in spec["source_cells"] if c["cell_type"] == "code" and c["locked"]), None)
    if first_code is not None:
        tree = _parse(first_code["source"])
        setup_names = _bound_names(tree) if tree else set()
    for cell in cells:
        grade_id = _grade_id(cell)
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if grade_id in locked and grade_id in sources:
            if _normal(source) not in {_normal(sources[grade_id]["source"]),
                                       _normal(_without_hidden(sources[grade_id]["source"]))}:
                flag("grade-cell-modified", grade_id, detail=f"locked cell {grade_id!r} was edited")
            continue  # locked cells are put back by nbgrader: their code never runs as submitted
        if cell.get("cell_type") != "code" or _normal(source) in known:
            continue
        for code, line, text in analyse_code(source, setup_names):
            flag(code, grade_id or f"cell {cells.index(cell)}", line, text)
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
    return [_normal(c.source) for c in nb.cells if c.cell_type == "code"
            and not c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def summarize(flags: list[dict]) -> str:
    """One line: ``code (notebook/cell:line) ...``."""
    return "; ".join(
        f"{f['code']}" + (f" ({f['cell']}:{f['line']})" if f.get("cell") else "") for f in flags[:6]
    ) + (f"; +{len(flags) - 6} more" if len(flags) > 6 else "")


def to_json(flags: list[dict]) -> str:
    return json.dumps(flags, indent=1)
