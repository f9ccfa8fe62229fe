"""The student's kernel as the judge sees it: values by value, everything else behind handles.

:class:`Remote` wraps a :class:`~grader.judge.channel.Channel`. ``remote.lookup("relu_forward")`` is
a handle; calling it sends the arguments by value and returns the result by value. An object that is
not plain data (a ``Value``, a ``SimpleCNN``, a bound method, a class) stays in the kernel and comes
back as a :class:`Handle`: attribute get/set, item get/set, calls, every arithmetic and bitwise
operator (the reflected ones too, so ``1 / a`` and ``-a`` work), ``len``, ``iter``, ``bool``,
``hash``, ``repr``, ``copy`` are forwarded. One kernel object is one handle object in the judge, so
``is`` and ``id`` behave as in one process. A handle of a class works with ``isinstance``:
``isinstance(a + 1, Value)``.

Comparisons are **not** forwarded: a handle equals only itself and has no order, as the reference
solutions' classes (which define no comparison) behave in one process. A result the tests compare
(``assert layer.forward(3.0, -4.0) == -12.0``, ``assert y.grad == 1.0``) should be a number or an
array, which travels by value; a student's object whose ``__eq__`` answers yes to everything is not
believed.

What crosses back into the judge is data only, and what the kernel reports about a call is replayed
here as the same call would have shown it in one process, so that the course's checks
(``checked_call``, ``assert_tensor_close``) work unchanged:

* what the call printed is printed (stdout and stderr);
* the warnings it raised are raised again here (same category name, message, file and line);
* an argument it changed in place is changed in place here, and a result that *was* an argument is
  that argument here;
* numpy's floating-point error state (``np.errstate``) travels with each request;
* while the judge traces memory (``tracemalloc``), each call's peak is measured in the kernel and
  replayed here as one allocation of that size, so that a test's ``tracemalloc`` sees it.

These facts are **advisory**: only the kernel sees them, and a kernel that cheats can forge them.

Arrays and dicts read from a handle's attribute or item (``model.params``, ``model.params["W1"]``)
are copies that stay linked to the kernel: setting a key of such a dict sets it in the kernel, and an
array of it that the judge changed in place is written back into the kernel's array before the next
request. Changes the kernel makes later do not reach copies read earlier: read them again.
"""

from __future__ import annotations

import builtins
import copy
import linecache
import os
import sys
import tracemalloc
import warnings
import weakref
from typing import Any

import numpy as np

from course.channel_codec import NotPlainData, Reference
from grader.judge.channel import CallTimeout, Channel

__all__ = ["Remote", "Handle", "LinkedDict", "NotPlainResult", "CannotSend", "StudentException"]


class NotPlainResult(AssertionError):
    """Student code returned something that cannot travel by value (an array subclass, an object array)."""


class CannotSend(TypeError):
    """A test passed an object of the judge's own (a function, a test's class) to student code."""


class StudentException(Exception):
    """Base of the judge's stand-ins for exception classes that are not builtins (named as the original)."""


class StudentWarning(Warning):
    """Base of the judge's stand-ins for warning categories that are not builtins."""


_OPERATORS = ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor",
              "lshift", "rshift"]


def _refusal_message(label: str, type_name: str, where: str, reason: str) -> str:
    """E.g. "relu_forward returned a MyArray; return a numpy array"."""
    place = f" ({where})" if where else ""
    if reason.startswith("an array of dtype"):
        dtype = reason.removeprefix("an array of dtype ").removesuffix(", not numeric")
        return f"{label} returned an array of dtype {dtype}{place}; return an array of numbers"
    if reason == "an array subclass":
        return f"{label} returned a {type_name}{place}; return a numpy array"
    return (f"{label} returned a {type_name}{place}; return numbers, strings or numpy arrays, in tuples, "
            "lists and dicts")


class Remote:
    """The student's kernel: a channel plus the judge's handles of its objects.

    Parameters
    ----------
    channel : Channel
        Connected to the kernel's side.
    """

    def __init__(self, channel: Channel):
        self.channel = channel
        self.handles: weakref.WeakValueDictionary[int, Handle] = weakref.WeakValueDictionary()
        self.handle_types: dict[int, type] = {}
        self.frees: list[tuple[int, int]] = []
        self.mirrors: list[_Mirror] = []
        self.last_facts: dict = {}
        self.exceptions: dict[str, type] = {}
        self.categories: dict[str, type] = {}
        self.warning_registry: dict = {}

    # -- requests --------------------------------------------------------------------------------
    def _reference(self, obj: Any) -> Reference | None:
        if isinstance(obj, Handle) and obj._judge_remote is self:
            return Reference(obj._judge_ref, 0, "", False)
        return None

    def request(self, op: str, target: Any = None, args: tuple = (), kwargs: dict | None = None,
                label: str = "the student's code") -> tuple:
        """One request to ``label``; the reply with its references turned into handles.

        Raises
        ------
        CannotSend
            When an argument is neither plain data nor a handle of this kernel.
        """
        if self.mirrors and op != "push":
            self._push_mirrors()
        frees, self.frees = self.frees, []
        options = ("memory",) if tracemalloc.is_tracing() else ()
        request = (op, target, _sendable(args), _sendable(kwargs or {}), _errstate(), frees, options)
        try:
            reply = self.channel.exchange(request, self._reference)
        except NotPlainData as refusal:
            self.frees = frees + self.frees
            raise CannotSend(
                f"cannot pass a {refusal.type_name} to {label}: only numbers, strings, numpy arrays of "
                "numbers (in tuples, lists and dicts) and the student's own objects reach the kernel"
            ) from None
        return self._materialize(reply)

    def _materialize(self, value: Any) -> Any:
        kind = type(value)
        if kind is Reference:
            return self._handle(value)
        if kind in (tuple, list):
            return kind(self._materialize(v) for v in value)
        if kind is dict:
            return {k: self._materialize(v) for k, v in value.items()}
        return value

    def _handle(self, ref: Reference) -> Handle:
        handle = self.handles.get(ref.ref)
        if handle is None:
            handle_type = self.handle_types.get(ref.type_ref)
            if handle_type is None:
                handle_type = type(ref.type_name or "object", (Handle,),
                                   {"__slots__": (), "_judge_type_ref": ref.type_ref})
                self.handle_types[ref.type_ref] = handle_type
            handle = object.__new__(handle_type)
            for slot, value in (("_judge_remote", self), ("_judge_ref", ref.ref), ("_judge_count", 0),
                                ("_judge_label", ref.type_name), ("_judge_is_class", ref.is_class)):
                object.__setattr__(handle, slot, value)
            self.handles[ref.ref] = handle
        object.__setattr__(handle, "_judge_count", handle._judge_count + 1)
        return handle

    def release(self, ref: int, count: int) -> None:
        self.frees.append((ref, count))

    def close(self) -> None:
        """Stop the kernel's side from serving."""
        from course.channel_codec import encode

        if not self.channel.lost:
            self.channel.close(encode(("close", None, (), {}, {}, self.frees, ())))
        self.channel.close()

    # -- what tests use --------------------------------------------------------------------------
    def lookup(self, name: str) -> Any:
        """The value of ``name`` in the kernel's namespace (a handle, or data by value)."""
        value = self._finish(self.request("global", args=(name,)), name, (), {})
        if isinstance(value, Handle):
            object.__setattr__(value, "_judge_label", name)
        return value

    def apply(self, op: str, args: tuple, label: str) -> Any:
        """Run one of the kernel side's operations (``course.kernel_channel.OPERATIONS``)."""
        return self._finish(self.request(op, args=args, label=label), label, args, {})

    def call(self, target: Handle, args: tuple, kwargs: dict) -> Any:
        label = target._judge_label
        return self._finish(self.request("call", target, args, kwargs, label), label, args, kwargs)

    # -- replies ---------------------------------------------------------------------------------
    def _finish(self, reply: tuple, label: str, args: tuple, kwargs: dict) -> Any:
        status = reply[0]
        facts = reply[-1] if type(reply[-1]) is dict else {}
        self.last_facts = facts
        self._replay(facts, args, kwargs, reply[1] if status == "ok" else None)
        if status == "ok":
            result = reply[1]
            for position, key in facts.get("result_is_argument", ()):
                result = _substitute(result, position, args[key] if isinstance(key, int) else kwargs[key])
            return result
        if status == "refused":
            _, type_name, where, reason, _ = reply
            raise NotPlainResult(_refusal_message(label, str(type_name), str(where), str(reason)))
        _, name, is_builtin, error_args, text, _ = reply
        raise self._exception(str(name), bool(is_builtin), error_args, str(text))

    def _exception(self, name: str, is_builtin: bool, args: Any, text: str) -> BaseException:
        builtin = getattr(builtins, name, None) if is_builtin else None
        if name == "KeyboardInterrupt":
            return CallTimeout("a call into the student's code was interrupted")
        if isinstance(builtin, type) and issubclass(builtin, Exception):
            try:
                return builtin(*args) if type(args) is tuple else builtin(text)
            except Exception:  # noqa: BLE001 - arguments the class does not take
                return builtin(text)
        kind = self.exceptions.get(name)
        if kind is None:
            kind = self.exceptions[name] = type(name, (StudentException,), {})
        return kind(text)

    def _replay(self, facts: dict, args: tuple, kwargs: dict, result: Any) -> None:
        if "stdout" in facts:
            sys.stdout.write(str(facts["stdout"]))
        if "stderr" in facts:
            sys.stderr.write(str(facts["stderr"]))
        for key, now in facts.get("changed", ()):
            _write_back(args[key] if isinstance(key, int) else kwargs[key], now)
        for record in facts.get("warnings", ()):
            self._warn(*record)
        peak = facts.get("memory_peak")
        if type(peak) is int and 0 < peak < _MAX_REPLAYED_PEAK and tracemalloc.is_tracing():
            # the kernel's peak, allocated once here, so that a test's tracemalloc sees it; the
            # result's arrays, counted in it, are already allocated here
            block = np.empty(max(peak - _array_bytes(result), 0), dtype=np.uint8)
            del block

    def _warn(self, category_name, is_builtin, message, filename, lineno, line) -> None:
        category = getattr(builtins, category_name, None) if is_builtin else None
        if not (isinstance(category, type) and issubclass(category, Warning)):
            category = self.categories.get(category_name)
            if category is None:
                category = self.categories[category_name] = type(category_name, (StudentWarning,), {})
        filename, lineno = str(filename), int(lineno)
        if line and 0 < lineno <= _MAX_INJECTED_LINE and not os.path.exists(filename) \
                and filename not in linecache.cache:
            # the student's line, so that a message can quote it as it would in one process
            lines = [""] * (lineno - 1) + [str(line) + "\n"]
            linecache.cache[filename] = (len("".join(lines)), None, lines, filename)
        registry = self.warning_registry.setdefault(filename, {})
        warnings.warn_explicit(str(message), category, filename, lineno, registry=registry)

    # -- linked copies ---------------------------------------------------------------------------
    def linked(self, value: Any, owner: Handle, path: list) -> Any:
        """``value`` read from ``owner`` by ``path``, linked to the kernel's object where it can be."""
        if type(value) is np.ndarray:
            self.mirrors.append(_Mirror(value, owner, path))
        elif type(value) is dict:
            linked = LinkedDict(owner, path)
            for key, item in value.items():
                dict.__setitem__(linked, key, self.linked(item, owner, path + [("item", key)]))
            return linked
        return value

    def _push_mirrors(self) -> None:
        """Write back the linked arrays the judge changed; forget those only the mirror still holds.

        A copy that died since it was changed (``model.params["W1"][...] = 0`` drops the dict and the
        array at once) is still written back: the mirror holds it until then.
        """
        live = []
        for mirror in self.mirrors:
            array = mirror.array
            if not np.array_equal(array, mirror.snapshot, equal_nan=True):
                mirror.snapshot = array.copy()
                self._finish(self.request("push", args=(mirror.owner, mirror.path, array)), "push", (), {})
            if sys.getrefcount(array) > _HELD_BY_MIRROR_ONLY:
                live.append(mirror)
        self.mirrors = live


# References to a mirror's array when nothing else holds it: the mirror, a local name, getrefcount's.
_HELD_BY_MIRROR_ONLY = 3


# A warning's line further down than this is not put into linecache (a forged line number).
_MAX_INJECTED_LINE = 100_000
# A replayed memory peak larger than this is not replayed (a forged fact must not exhaust the judge).
_MAX_REPLAYED_PEAK = 1 << 34


class _Mirror:
    """A judge's copy of an array that lives in the kernel, written back when the judge changes it."""

    __slots__ = ("array", "snapshot", "owner", "path")

    def __init__(self, array: np.ndarray, owner: Handle, path: list):
        self.array = array
        self.snapshot = array.copy()
        self.owner, self.path = owner, path


def _errstate() -> str:
    """numpy's floating-point error state, e.g. ``"divide=warn,over=warn,under=ignore,invalid=warn"``."""
    return ",".join(f"{k}={v}" for k, v in np.geterr().items())


def _sendable(value: Any) -> Any:
    """``value`` with its linked dicts made plain dicts (they travel by value)."""
    kind = type(value)
    if kind is LinkedDict or kind is dict:
        return {k: _sendable(v) for k, v in value.items()}
    if kind in (tuple, list):
        return kind(_sendable(v) for v in value)
    return value


def _array_bytes(value: Any) -> int:
    """Bytes of the arrays in a decoded value."""
    kind = type(value)
    if kind is np.ndarray:
        return value.nbytes
    if kind in (tuple, list):
        return sum(_array_bytes(v) for v in value)
    if kind is dict:
        return sum(_array_bytes(v) for v in value.values())
    return 0


def _substitute(result: Any, position: int, argument: Any) -> Any:
    """The result with its ``position``-th item (the whole result when not a tuple) replaced."""
    if type(result) is tuple:
        return result[:position] + (argument,) + result[position + 1:]
    return argument


def _write_back(mine: Any, now: Any) -> None:
    """Make the judge's argument ``mine`` equal to the kernel's ``now``, in place where it can be.

    Arrays are overwritten (same shape), dicts and lists updated, tuples updated item by item (their
    arrays, dicts and lists can change in place).
    """
    if isinstance(mine, np.ndarray):
        if isinstance(now, np.ndarray) and mine.shape == now.shape and mine.flags.writeable:
            np.copyto(mine, now, casting="unsafe")
    elif isinstance(mine, dict) and type(now) is dict:
        for key in [k for k in mine if k not in now]:
            del mine[key]
        for key, value in now.items():
            if key in mine and _mutable(mine[key]):
                _write_back(mine[key], value)
            else:
                mine[key] = value
    elif isinstance(mine, list) and type(now) is list and len(mine) != len(now):
        mine[:] = now
    elif isinstance(mine, (list, tuple)) and type(now) in (list, tuple) and len(mine) == len(now):
        for index, value in enumerate(now):
            if _mutable(mine[index]):
                _write_back(mine[index], value)
            elif isinstance(mine, list):
                mine[index] = value


def _mutable(value: Any) -> bool:
    return isinstance(value, (np.ndarray, dict, list, tuple))


class LinkedDict(dict):
    """A dict read from a kernel object (``model.params``): setting a key sets it in the kernel too."""

    __slots__ = ("_judge_owner", "_judge_path")

    def __init__(self, owner: Handle, path: list):
        super().__init__()
        self._judge_owner, self._judge_path = owner, path

    def __setitem__(self, key, value):
        owner = self._judge_owner
        remote = owner._judge_remote
        label = f"{owner._judge_label}[{key!r}]"
        remote.apply("store", (owner, self._judge_path, ("item", key), value), label)
        dict.__setitem__(self, key, remote.linked(value, owner, self._judge_path + [("item", key)]))


def _plain_copy(self, memo=None):
    """A copy of a linked dict is a plain dict, as a copy of ``model.params`` is in one process."""
    return copy.deepcopy(dict(self), memo) if memo is not None else dict(self)


LinkedDict.__copy__ = _plain_copy
LinkedDict.__deepcopy__ = _plain_copy
# In one process this dict is a dict; messages that name its type say so.
LinkedDict.__name__ = LinkedDict.__qualname__ = "dict"


#: Attributes through which numpy views memory at an address the object names (``np.asarray(obj)``
#: reads ``__array_interface__``'s ``data`` pointer): never asked of the kernel, whose answer would be
#: an address in the judge's memory, read there (a crash, or the judge's own data read as an answer).
_MEMORY_PROTOCOLS = frozenset({"__array_interface__", "__array_struct__"})


class Handle:
    """An object that stays in the student's kernel. Every operation is forwarded to it, except
    comparisons (a handle equals only itself) and the attributes of :data:`_MEMORY_PROTOCOLS`, which a
    handle does not have."""

    __slots__ = ("_judge_remote", "_judge_ref", "_judge_count", "_judge_label", "_judge_is_class",
                 "__weakref__")
    _judge_type_ref = 0
    # numpy defers to the handle's reflected operators instead of making an object array of it
    __array_ufunc__ = None

    def __del__(self):
        try:
            self._judge_remote.release(self._judge_ref, self._judge_count)
        except Exception:  # noqa: BLE001 - at interpreter exit
            pass

    def _judge_apply(self, op: str, *args: Any) -> Any:
        return self._judge_remote.apply(op, args, self._judge_label)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_judge_") or name in _MEMORY_PROTOCOLS:
            raise AttributeError(name)
        value = self._judge_apply("getattr", self, name)
        if isinstance(value, Handle) and value._judge_label == type(value).__name__:
            object.__setattr__(value, "_judge_label", f"{self._judge_label}.{name}")
        return self._judge_remote.linked(value, self, [("attr", name)])

    def __setattr__(self, name: str, value: Any) -> None:
        self._judge_apply("setattr", self, name, value)

    def __delattr__(self, name: str) -> None:
        self._judge_apply("delattr", self, name)

    def __getitem__(self, key: Any) -> Any:
        return self._judge_remote.linked(self._judge_apply("getitem", self, key), self, [("item", key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        self._judge_apply("setitem", self, key, value)

    def __delitem__(self, key: Any) -> None:
        self._judge_apply("delitem", self, key)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._judge_remote.call(self, args, kwargs)

    def __instancecheck__(self, instance: Any) -> bool:
        if isinstance(instance, Handle) and type(instance)._judge_type_ref == self._judge_ref:
            return True
        try:
            return bool(self._judge_apply("isinstance", instance, self))
        except CannotSend:
            return False  # a judge object the kernel cannot see is no instance of a student's class

    def __subclasscheck__(self, subclass: Any) -> bool:
        return bool(self._judge_apply("issubclass", subclass, self))

    def __iter__(self):
        return iter(self._judge_apply("list", self))

    def __deepcopy__(self, memo: dict) -> Any:
        return self._judge_apply("deepcopy", self)

    def __reduce_ex__(self, protocol: int):
        raise TypeError("a handle of an object in the student's kernel cannot be pickled")

    def _judge_binary(self, op: str, left: Any, right: Any) -> Any:
        try:
            return self._judge_remote.apply(op, (left, right), self._judge_label)
        except CannotSend:
            return NotImplemented


def _binary_methods(name: str):
    op = {"and": "and_", "or": "or_"}.get(name, name)

    def forward(self, other):
        return self._judge_binary(op, self, other)

    def reflected(self, other):
        return self._judge_binary(op, other, self)

    def in_place(self, other):
        return self._judge_binary("i" + op.rstrip("_"), self, other)

    return forward, reflected, in_place


for _name in _OPERATORS:
    _forward, _reflected, _in_place = _binary_methods(_name)
    setattr(Handle, f"__{_name}__", _forward)
    setattr(Handle, f"__r{_name}__", _reflected)
    setattr(Handle, f"__i{_name}__", _in_place)
Handle.__divmod__, Handle.__rdivmod__, _ = _binary_methods("divmod")


def _forwarded(op: str):
    def method(self, *args):
        return self._judge_apply(op, self, *args)

    method.__name__ = f"__{op}__"
    return method


# Special methods that forward to the kernel's function of the same name (``len(obj)``, ...), and
# ``__contains__``/``__format__``/``__round__`` with their arguments.
for _name in ("len", "contains", "bool", "hash", "repr", "str", "format", "float", "int", "index",
              "complex", "round", "abs", "neg", "pos", "invert", "copy", "dir"):
    setattr(Handle, f"__{_name}__", _forwarded(_name))
