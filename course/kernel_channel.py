"""The kernel's side of the judge's channel: serves calls into student code over a Unix socket.

The judge (``grader.judge``) runs a notebook's test cells in its own process, where no student code
ever ran. Each time a test calls a graded function or touches a student's object, the judge sends one
request here; this side runs it **in the kernel's main thread** (so that an interrupt stops it) and
answers by value (:mod:`course.channel_codec`: numbers, strings, numeric arrays as ``.npy``, in
tuples, lists and dicts). Every other object stays here, in a table, and travels as a reference
number; the judge wraps it in a handle.

Run with the student's namespace, after the student's cells::

    import course.kernel_channel
    course.kernel_channel.serve("/path/to/socket", globals())

or as a process of its own (the mutation harness's kernel side)::

    python -m course.kernel_channel SOCKET CODE_FILE

What this side reports besides the result (the warnings a call raised, the arguments it changed in
place, what it printed, its memory peak) can only be seen in the kernel, so a kernel that cheats can
forge it: the judge takes these facts as advisory.

Requests and replies are encoded tuples:

* request ``(op, target, args, kwargs, errstate, frees, options)``: ``op`` names an entry of
  :data:`OPERATIONS`, or is ``"call"`` (call ``target``), ``"global"`` (a name of the namespace),
  ``"push"`` (write an array into an array reached from ``target`` through a path of attributes and
  keys), ``"kernel_side_class"`` (a class of the course package that the judge makes its instances
  of here: a spy, :mod:`course.spies`) or ``"close"``; ``frees`` returns references the judge no
  longer holds, as (ref, count) pairs; ``options`` may ask for ``"memory"`` (the call's peak of traced
  memory).
* reply ``("ok", value, facts)``, ``("error", name, is_builtin, args, text, facts)`` for an exception
  of the student's code, or ``("refused", type_name, where, reason, facts)`` for a result that is
  not plain data.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import importlib
import io
import json
import operator
import os
import socket
import sys
import tracemalloc
import warnings
from typing import Any

import numpy as np

from course.channel_codec import (
    ChannelError,
    NotPlainData,
    Reference,
    decode,
    encode,
    encode_tuple,
    recv_frame,
    send_frame,
)
from course.spies import KERNEL_SIDE
from course.testing import _same, _snapshot

__all__ = ["serve", "run_cells", "KernelSide", "OPERATIONS", "MAX_REQUEST_BYTES", "MAX_CAPTURED_CHARS"]

#: The largest request this side reads.
MAX_REQUEST_BYTES = 256 * 1024 * 1024
#: How much of what a call prints is reported.
MAX_CAPTURED_CHARS = 64 * 1024


def _follow(target: Any, path: list) -> Any:
    for kind, key in path:
        target = getattr(target, key) if kind == "attr" else target[key]
    return target


def _push(target: Any, path: list, array: np.ndarray) -> None:
    """Write ``array`` into the array reached from ``target`` by ``path`` (the judge wrote into its copy)."""
    target = _follow(target, path)
    if type(target) is not np.ndarray:
        raise TypeError(f"cannot write an array into a {type(target).__name__}")
    target[...] = array


def _kernel_side_class(module: str, name: str) -> type:
    """The course's class ``module.name`` marked :data:`course.spies.KERNEL_SIDE` (a spy), as here."""
    if module != "course" and not module.startswith("course."):
        raise ValueError(f"{module} is not a module of the course package")
    found = getattr(importlib.import_module(module), name)
    if not (isinstance(found, type) and getattr(found, KERNEL_SIDE, False) is True):
        raise ValueError(f"{module}.{name} is not a class the judge makes in the kernel")
    return found


def _store(target: Any, path: list, step: tuple, value: Any) -> None:
    """Set the attribute or item ``step`` of the object reached from ``target`` by ``path``."""
    target = _follow(target, path)
    kind, key = step
    if kind == "attr":
        setattr(target, key, value)
    else:
        target[key] = value


#: What a request may ask this side to do, besides calling an object.
OPERATIONS = {
    **{name: getattr(operator, name) for name in (
        "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and_", "or_", "xor",
        "lshift", "rshift", "neg", "pos", "invert", "contains",
        "getitem", "setitem", "delitem", "index", "iadd", "isub", "imul", "itruediv", "ifloordiv",
        "imod", "ipow", "imatmul", "iand", "ior", "ixor", "ilshift", "irshift",
    )},
    "divmod": divmod, "abs": abs, "len": len, "bool": bool, "repr": repr, "str": str, "hash": hash,
    "list": list, "format": format, "float": float, "int": int, "complex": complex, "round": round,
    "isinstance": isinstance, "issubclass": issubclass, "getattr": getattr, "setattr": setattr,
    "delattr": delattr, "copy": copy.copy, "deepcopy": copy.deepcopy, "dir": dir, "push": _push,
    "store": _store, "kernel_side_class": _kernel_side_class,
}


class KernelSide:
    """Answers the judge's requests against one namespace (the student's ``globals()``)."""

    def __init__(self, namespace: dict):
        self.namespace = namespace
        self.objects: dict[int, list] = {}  # ref -> [object, count of times sent]
        self.refs_by_id: dict[int, int] = {}
        self.pinned: set[int] = set()  # types: sent as type references, never freed
        self.next_ref = 1

    # -- references ------------------------------------------------------------------------------
    def _ref_of(self, obj: Any, pin: bool = False) -> int:
        ref = self.refs_by_id.get(id(obj))
        if ref is None:
            ref = self.next_ref
            self.next_ref += 1
            self.objects[ref] = [obj, 0]
            self.refs_by_id[id(obj)] = ref
        if pin:
            self.pinned.add(ref)
        return ref

    def _reference(self, obj: Any) -> Reference | None:
        if isinstance(obj, (np.ndarray, np.generic, int, float, complex, str, bytes)):
            # an array subclass, an object array, a subclass of a number or a string: refused, never
            # a handle (it would pass for data in one process, and lie about what it is)
            return None
        ref = self._ref_of(obj)
        self.objects[ref][1] += 1
        kind = type(obj)
        return Reference(ref, self._ref_of(kind, pin=True), kind.__name__, isinstance(obj, type))

    def _free(self, frees) -> None:
        for ref, count in frees:
            entry = self.objects.get(ref)
            if entry is None or ref in self.pinned:
                continue
            entry[1] -= count
            if entry[1] <= 0:
                del self.objects[ref]
                self.refs_by_id.pop(id(entry[0]), None)

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, Reference):
            try:
                return self.objects[value.ref][0]
            except KeyError:
                raise ChannelError(f"no object has the reference {value.ref}") from None
        kind = type(value)
        if kind in (tuple, list):
            return kind(self._resolve(v) for v in value)
        if kind is dict:
            return {k: self._resolve(v) for k, v in value.items()}
        return value

    # -- requests --------------------------------------------------------------------------------
    def handle(self, frame: bytes) -> bytes | None:
        """The reply to one request, or None for ``close``."""
        try:
            op, target, args, kwargs, errstate, frees, options = decode(frame)
            self._free(frees)
            if op == "close":
                return None
            if op == "global":
                if args[0] not in self.namespace:
                    return self._error(NameError(f"name {args[0]!r} is not defined"), {})
                return self._reply(("ok", self.namespace[args[0]], {}))
            function = self._resolve(target) if op == "call" else OPERATIONS[op]
            return self._run(function, args, kwargs, errstate, options)
        except KeyboardInterrupt as error:
            return self._error(error, {})
        except Exception as error:  # noqa: BLE001 - a bad request is answered, never fatal
            return self._error(error, {})

    def _run(self, function, args, kwargs, errstate, options) -> bytes:
        by_value = [i for i, a in enumerate(args) if not _holds_reference(a)]
        named_by_value = [k for k, v in kwargs.items() if not _holds_reference(v)]
        args, kwargs = self._resolve(args), self._resolve(kwargs)
        before = {i: _snapshot(args[i]) for i in by_value}
        before.update({k: _snapshot(kwargs[k]) for k in named_by_value})
        facts: dict = {}
        out, err = io.StringIO(), io.StringIO()
        measure = "memory" in options
        try:
            with warnings.catch_warnings(record=True) as caught, np.errstate(**_errstate(errstate)), \
                    contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                warnings.simplefilter("always")
                if measure:
                    tracemalloc.start()
                    tracemalloc.reset_peak()
                    start = tracemalloc.get_traced_memory()[0]
                try:
                    result = function(*args, **kwargs)
                finally:
                    if measure:
                        facts["memory_peak"] = tracemalloc.get_traced_memory()[1] - start
                        tracemalloc.stop()
        except BaseException as error:  # noqa: BLE001 - the student's exception, reported as data
            self._facts(facts, caught if "caught" in locals() else [], out, err, args, kwargs, before, None)
            return self._error(error, facts)
        self._facts(facts, caught, out, err, args, kwargs, before, result)
        return self._reply(("ok", result, facts))

    def _facts(self, facts, caught, out, err, args, kwargs, before, result) -> None:
        if caught:
            facts["warnings"] = [_warning_record(w) for w in caught[:20]]
        if out.getvalue():
            facts["stdout"] = out.getvalue()[:MAX_CAPTURED_CHARS]
        if err.getvalue():
            facts["stderr"] = err.getvalue()[:MAX_CAPTURED_CHARS]
        changed = []
        for key, snapshot in before.items():
            now = args[key] if isinstance(key, int) else kwargs[key]
            if snapshot is not None and not _same(snapshot, now):
                changed.append((key, now))
        if changed:
            facts["changed"] = changed
        results = result if type(result) is tuple else (result,)
        aliases = [
            (position, key)
            for position, item in enumerate(results) if isinstance(item, np.ndarray)
            for key in before
            if (args[key] if isinstance(key, int) else kwargs[key]) is item
        ]
        if aliases:
            facts["result_is_argument"] = aliases

    def _reply(self, reply: tuple) -> bytes:
        try:
            return encode_tuple(reply, self._reference)
        except NotPlainData as refusal:
            facts = reply[2] if reply[0] == "ok" else {}
            try:
                return encode(("refused", refusal.type_name, refusal.where, refusal.reason, facts),
                              self._reference)
            except NotPlainData:
                return encode(("refused", refusal.type_name, refusal.where, refusal.reason, {}))

    def _error(self, error: BaseException, facts: dict) -> bytes:
        kind = type(error)
        is_builtin = getattr(builtins, kind.__name__, None) is kind
        args = error.args
        try:
            encode(args)
        except Exception:  # noqa: BLE001 - arguments that are not plain data: the text only
            args = None
        try:
            text = str(error)
        except Exception:  # noqa: BLE001
            text = f"<{kind.__name__} whose message cannot be printed>"
        try:
            return encode(("error", kind.__name__, is_builtin, args, text, facts), self._reference)
        except NotPlainData:
            return encode(("error", kind.__name__, is_builtin, args, text, {}))


def _errstate(text: str) -> dict:
    """``"divide=warn,over=raise,..."`` as ``np.errstate``'s keywords."""
    return dict(item.split("=", 1) for item in text.split(",")) if text else {}


def _holds_reference(value: Any) -> bool:
    kind = type(value)
    if kind is Reference:
        return True
    if kind in (tuple, list, set, frozenset):
        return any(_holds_reference(v) for v in value)
    if kind is dict:
        return any(_holds_reference(v) for v in value.values())
    return False


def _warning_record(caught: warnings.WarningMessage) -> tuple:
    import linecache

    category = caught.category
    is_builtin = getattr(builtins, category.__name__, None) is category
    line = linecache.getline(str(caught.filename), int(caught.lineno or 0)).strip()
    return (category.__name__, is_builtin, str(caught.message), str(caught.filename), int(caught.lineno or 0),
            line)


def serve(path: str, namespace: dict) -> None:
    """Listen on the Unix socket ``path``, answer one judge until it closes, then return.

    Runs in the calling thread: call it from the kernel's main thread (a cell), so that an interrupt
    (SIGINT) stops a student's call that runs too long.
    """
    side = KernelSide(namespace)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener.bind(path)
    listener.listen(1)
    connection, _ = listener.accept()
    listener.close()
    with connection:
        while True:
            try:
                frame = recv_frame(connection, MAX_REQUEST_BYTES)
            except KeyboardInterrupt:  # an interrupt that came after its call had ended
                continue
            except (ChannelError, OSError):
                break
            reply = side.handle(frame)
            if reply is None:
                break
            try:
                send_frame(connection, reply)
            except KeyboardInterrupt:
                send_frame(connection, reply)
            except OSError:
                break


def _main(argv: list[str]) -> None:
    """``python -m course.kernel_channel SOCKET CELLS_JSON``: run the cells, then serve their namespace.

    ``CELLS_JSON`` holds a list of ``[label, source]`` pairs, each compiled as ``<label>`` (the names a
    notebook's cells have in tracebacks and warnings when run in one process).
    """
    socket_path, cells_file = argv
    namespace: dict = {"__name__": "__main__"}
    with open(cells_file, encoding="utf-8") as handle:
        run_cells(json.load(handle), namespace)
    serve(socket_path, namespace)


def run_cells(cells: list, namespace: dict) -> None:
    """Run ``(label, source)`` pairs in ``namespace``, each compiled as ``<label>``."""
    for label, source in cells:
        exec(compile(source, f"<{label}>", "exec"), namespace)


if __name__ == "__main__":
    _main(sys.argv[1:])
