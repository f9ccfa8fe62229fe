"""The judge's channel: how values travel between the judge and a student's kernel, without pickle.

Both ends import this module: the kernel's side (``course.kernel_channel``, which must be importable
in a sandboxed kernel, where only the ``course`` package is visible) and the judge
(``grader.judge``). A value is encoded as a tagged tree of bytes:

* ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str`` and ``fractions.Fraction`` of exactly
  those types (a derivation exercise's exact answer is a ``Fraction``);
* numpy scalars of a numeric or bool dtype (their dtype string and raw bytes);
* numpy arrays of exactly type ``np.ndarray`` with a numeric or bool dtype, as ``.npy`` bytes,
  read back with ``allow_pickle=False``;
* tuples, lists and dicts of exactly those types (dict keys: plain hashable values), and sets and
  frozensets of plain hashable values, nested at most :data:`MAX_DEPTH` deep;
* a *reference* to an object that stays on the other side (a handle), as numbers and a type name.

Nothing else can be encoded: an object of another type is either a reference (the caller decides)
or refused with :class:`NotPlainData`. The decoder refuses every byte string that is not exactly
such a tree (unknown tags, trailing bytes, an array of object, string or structured dtype, a
pickle), raising :class:`ChannelError`.

Frames on the socket are a 4-byte big-endian length and that many bytes; a frame longer than the
receiver's limit is refused before it is read.
"""

from __future__ import annotations

import io
import math
import re
import struct
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "ChannelError",
    "NotPlainData",
    "Reference",
    "MAX_DEPTH",
    "encode",
    "encode_tuple",
    "decode",
    "send_frame",
    "recv_frame",
    "ARRAY_KINDS",
]

#: How deep tuples, lists and dicts may nest.
MAX_DEPTH = 64
#: The dtype kinds an array or numpy scalar may have: bool, signed, unsigned, float, complex.
ARRAY_KINDS = "biufc"
_SCALAR_TYPES = {
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.longdouble, np.complex64, np.complex128, np.clongdouble,
}
_SCALAR_DTYPES = {np.dtype(t).str: np.dtype(t) for t in _SCALAR_TYPES}
_LENGTH = struct.Struct(">I")
_COUNT = struct.Struct(">I")
_FLOAT = struct.Struct(">d")
_COMPLEX = struct.Struct(">dd")
_REF = struct.Struct(">QQ")


class ChannelError(Exception):
    """Bytes that are not a value the channel carries, or a broken connection."""


class NotPlainData(TypeError):
    """A value that cannot travel by value: an array subclass, an object array, a subclass of a
    plain type. ``where`` says where it sat in the value (e.g. ``"item 0 of the tuple"``)."""

    def __init__(self, type_name: str, where: str = "", reason: str = ""):
        self.type_name, self.where, self.reason = type_name, where, reason
        super().__init__(self.describe())

    def describe(self) -> str:
        place = f" ({self.where})" if self.where else ""
        return f"a {self.type_name}{place}{': ' + self.reason if self.reason else ''}"


class Reference:
    """An object left on the other side: its reference number, its type's reference number and the
    type's name (for messages and for the judge's handle classes), and whether it is a class."""

    __slots__ = ("ref", "type_ref", "type_name", "is_class")

    def __init__(self, ref: int, type_ref: int, type_name: str, is_class: bool):
        self.ref, self.type_ref, self.type_name, self.is_class = ref, type_ref, type_name, is_class

    def __repr__(self) -> str:
        return f"Reference({self.ref}, {self.type_name!r})"


def _array_refusal(value: np.ndarray) -> str | None:
    if type(value) is not np.ndarray:
        return "an array subclass"
    if value.dtype.kind not in ARRAY_KINDS or value.dtype.fields is not None:
        return f"an array of dtype {value.dtype}, not numeric"
    return None


def encode(value: Any, reference: Callable[[Any], Reference | None] | None = None) -> bytes:
    """Encode ``value`` as bytes.

    Parameters
    ----------
    value : Any
        The value to encode.
    reference : callable, optional
        ``reference(obj)`` for an object that is not plain data: a :class:`Reference` to send
        in its place, or None to refuse it. Without it, every such object is refused.

    Raises
    ------
    NotPlainData
        For an object that is neither plain data nor given a reference, and always for an array
        subclass, an array of a non-numeric dtype or a numpy scalar of one.
    """
    out: list[bytes] = []
    _encode(value, out, reference, 0)
    return b"".join(out)


def encode_tuple(items: tuple, reference: Callable[[Any], Reference | None] | None = None) -> bytes:
    """Encode a tuple like :func:`encode`, saying where a refused object sat from each item down.

    A reply ``("ok", result, facts)`` is encoded this way, so that a refusal names its place in
    ``result`` ("item 1 of the tuple"), not in the reply.
    """
    return b"".join([b"t", _COUNT.pack(len(items))] + [encode(item, reference) for item in items])


def _inside(refusal: NotPlainData, step: str) -> NotPlainData:
    """The refusal, its place now said from one container further out."""
    refusal.where = f"{refusal.where} of {step}" if refusal.where else step
    refusal.args = (refusal.describe(),)
    return refusal


def _encode(value, out, reference, depth) -> None:  # noqa: C901 - one branch per tag
    kind = type(value)
    if value is None:
        out.append(b"N")
    elif kind is bool:
        out.append(b"T" if value else b"F")
    elif kind is int:
        text = str(value).encode()
        out += [b"i", _LENGTH.pack(len(text)), text]
    elif kind is float:
        out += [b"f", _FLOAT.pack(value)]
    elif kind is complex:
        out += [b"c", _COMPLEX.pack(value.real, value.imag)]
    elif kind is str:
        data = value.encode("utf-8", "surrogatepass")
        out += [b"s", _LENGTH.pack(len(data)), data]
    elif kind is Fraction:
        out.append(b"q")
        _encode(value.numerator, out, None, depth)
        _encode(value.denominator, out, None, depth)
    elif kind in _SCALAR_TYPES or (
        isinstance(value, np.generic) and kind.__module__ == "numpy" and value.dtype.kind in ARRAY_KINDS
    ):  # numpy's own scalar types (np.longlong too), never a subclass defined elsewhere
        dtype = value.dtype.str.encode()
        data = value.tobytes()
        out += [b"n", bytes([len(dtype)]), dtype, _LENGTH.pack(len(data)), data]
    elif kind is np.ndarray and value.dtype.kind in ARRAY_KINDS and value.dtype.fields is None:
        header = _npy_header(value)
        data = value.tobytes()
        out += [b"a", _LENGTH.pack(len(header) + len(data)), header, data]
    elif isinstance(value, np.ndarray):
        raise NotPlainData(type(value).__name__, "", _array_refusal(value) or "")
    elif depth < MAX_DEPTH and kind in (tuple, list):
        out += [b"t" if kind is tuple else b"l", _COUNT.pack(len(value))]
        for index, item in enumerate(value):
            try:
                _encode(item, out, reference, depth + 1)
            except NotPlainData as refusal:
                raise _inside(refusal, f"item {index} of the {kind.__name__}") from None
    elif depth < MAX_DEPTH and kind in (set, frozenset) and all(_plain_key(k) for k in value):
        out += [b"S" if kind is set else b"Z", _COUNT.pack(len(value))]
        for item in value:
            _encode(item, out, None, depth + 1)
    elif depth < MAX_DEPTH and kind is dict and all(_plain_key(k) for k in value):
        out += [b"d", _COUNT.pack(len(value))]
        for key, item in value.items():
            _encode(key, out, None, depth + 1)
            try:
                _encode(item, out, reference, depth + 1)
            except NotPlainData as refusal:
                raise _inside(refusal, f"item {key!r} of the dict") from None
    else:
        ref = value if kind is Reference else reference(value) if reference is not None else None
        if ref is None:
            raise NotPlainData(type(value).__name__)
        name = ref.type_name.encode("utf-8", "replace")[:200]
        tag = b"R" if ref.is_class else b"r"
        out += [tag, _REF.pack(ref.ref, ref.type_ref), bytes([len(name)]), name]


def _plain_key(key: Any) -> bool:
    kind = type(key)
    if kind in (str, int, float, bool, complex, Fraction) or key is None or kind in _SCALAR_TYPES:
        return True
    return kind in (tuple, frozenset) and all(_plain_key(k) for k in key)


def decode(data: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Decode bytes made by :func:`encode`; references come back as :class:`Reference`.

    Raises
    ------
    ChannelError
        For anything that is not exactly one encoded value: an unknown tag, a truncated or
        overlong frame, an array that is not a plain numeric ``.npy`` (pickled or object data, a
        structured or string dtype), a dict key that is not hashable.
    """
    data = bytes(data)
    try:
        value, end = _decode(data, 0, 0, max_depth)
    except ChannelError:
        raise
    except Exception as error:  # noqa: BLE001 - any malformed input is the same refusal
        raise ChannelError(f"not a value the channel carries ({type(error).__name__}: {error})") from None
    if end != len(data):
        raise ChannelError(f"{len(data) - end} bytes after the value")
    return value


def _sized(data: bytes, at: int) -> tuple[bytes, int]:
    """The ``length``-prefixed bytes at ``at``, and where they end."""
    (size,) = _LENGTH.unpack_from(data, at)
    end = at + 4 + size
    if end > len(data):
        raise ChannelError("truncated value")
    return data[at + 4:end], end


def _decode(data: bytes, at: int, depth: int, max_depth: int):  # noqa: C901 - one branch per tag
    if depth > max_depth:
        raise ChannelError("value nested too deeply")
    tag = data[at]
    at += 1
    if tag == 78:  # N
        return None, at
    if tag == 84:  # T
        return True, at
    if tag == 70:  # F
        return False, at
    if tag == 115:  # s
        raw, at = _sized(data, at)
        return raw.decode("utf-8", "surrogatepass"), at
    if tag == 102:  # f
        return _FLOAT.unpack_from(data, at)[0], at + 8
    if tag == 97:  # a
        raw, at = _sized(data, at)
        return _read_npy(raw), at
    if tag in (116, 108):  # t, l
        (count,) = _COUNT.unpack_from(data, at)
        at += 4
        items = []
        for _ in range(count):
            item, at = _decode(data, at, depth + 1, max_depth)
            items.append(item)
        return (tuple(items) if tag == 116 else items), at
    if tag == 100:  # d
        (count,) = _COUNT.unpack_from(data, at)
        at += 4
        result = {}
        for _ in range(count):
            key, at = _decode(data, at, depth + 1, max_depth)
            if not _plain_key(key):
                raise ChannelError(f"a dict key of type {type(key).__name__}")
            result[key], at = _decode(data, at, depth + 1, max_depth)
        return result, at
    if tag in (83, 90):  # S, Z
        (count,) = _COUNT.unpack_from(data, at)
        at += 4
        items = []
        for _ in range(count):
            item, at = _decode(data, at, depth + 1, max_depth)
            if not _plain_key(item):
                raise ChannelError(f"a set item of type {type(item).__name__}")
            items.append(item)
        return (set(items) if tag == 83 else frozenset(items)), at
    if tag == 113:  # q
        numerator, at = _decode(data, at, depth + 1, max_depth)
        denominator, at = _decode(data, at, depth + 1, max_depth)
        if type(numerator) is not int or type(denominator) is not int or denominator <= 0:
            raise ChannelError("malformed fraction")
        return Fraction(numerator, denominator), at
    if tag == 105:  # i
        raw, at = _sized(data, at)
        if not raw.lstrip(b"-").isdigit():
            raise ChannelError("malformed integer")
        return int(raw), at
    if tag == 99:  # c
        real, imag = _COMPLEX.unpack_from(data, at)
        return complex(real, imag), at + 16
    if tag == 110:  # n
        size = data[at]
        dtype = _SCALAR_DTYPES.get(data[at + 1:at + 1 + size].decode("ascii", "replace"))
        if dtype is None:
            raise ChannelError(f"a numpy scalar of dtype {data[at + 1:at + 1 + size]!r}, not numeric")
        raw, at = _sized(data, at + 1 + size)
        if len(raw) != dtype.itemsize:
            raise ChannelError("malformed numpy scalar")
        return np.frombuffer(raw, dtype=dtype)[0], at
    if tag in (114, 82):  # r, R
        ref, type_ref = _REF.unpack_from(data, at)
        at += 16
        size = data[at]
        name = data[at + 1:at + 1 + size]
        if len(name) != size:
            raise ChannelError("truncated value")
        return Reference(ref, type_ref, name.decode("utf-8", "replace"), tag == 82), at + 1 + size
    raise ChannelError(f"unknown tag {bytes([tag])!r}")


def _npy_header(array: np.ndarray) -> bytes:
    """The ``.npy`` (version 1.0) header of a C-ordered copy of ``array``, as numpy writes it."""
    text = f"{{'descr': '{array.dtype.str}', 'fortran_order': False, 'shape': {array.shape!r}, }}"
    padding = 64 - (len(_NPY_MAGIC) + 2 + len(text) + 1) % 64
    text += " " * (padding % 64) + "\n"
    return _NPY_MAGIC + struct.pack("<H", len(text)) + text.encode("latin1")


_NPY_MAGIC = b"\x93NUMPY\x01\x00"
_NPY_HEADER = re.compile(
    r"\{'descr': '([<>|][biufc]\d{1,2})', 'fortran_order': False, 'shape': \(([\d, ]{0,200})\), \} *\n"
)
_ARRAY_DTYPES = {np.dtype(t).str: np.dtype(t) for t in _SCALAR_TYPES}


def _read_npy(data: bytes) -> np.ndarray:
    """An exact numeric ``np.ndarray`` from ``.npy`` bytes, never unpickling anything.

    The headers this module writes (version 1.0, C order, a numeric dtype) are read by a strict
    pattern, which is faster than numpy's header parser; any other ``.npy`` goes to
    ``np.lib.format.read_array(..., allow_pickle=False)``. Either way only a numeric, non-structured
    dtype is accepted.
    """
    if data[:8] == _NPY_MAGIC and len(data) >= 10:
        size = struct.unpack("<H", data[8:10])[0]
        match = _NPY_HEADER.fullmatch(data[10:10 + size].decode("latin1"))
        dtype = _ARRAY_DTYPES.get(match.group(1)) if match else None
        if dtype is not None:
            shape = tuple(int(n) for n in match.group(2).replace(",", " ").split())
            count = math.prod(shape)
            body = data[10 + size:]
            if len(body) != count * dtype.itemsize:
                raise ChannelError("an array whose data does not match its header")
            return np.frombuffer(body, dtype=dtype).reshape(shape).copy()
    stream = io.BytesIO(data)
    try:
        array = np.lib.format.read_array(stream, allow_pickle=False)
    except ValueError as error:  # numpy's refusal of object arrays without allow_pickle
        raise ChannelError(f"an array the channel does not carry: {error}") from None
    if stream.tell() != len(data):
        raise ChannelError("bytes after the array")
    problem = _array_refusal(array)
    if problem:
        raise ChannelError(f"{problem}")
    return array


def send_frame(sock, payload: bytes) -> None:
    """Send one frame: the payload's length, then the payload."""
    sock.sendall(_LENGTH.pack(len(payload)) + payload if len(payload) < 65536 else _LENGTH.pack(len(payload)))
    if len(payload) >= 65536:
        sock.sendall(payload)


def recv_frame(sock, max_bytes: int, deadline: float | None = None) -> bytes:
    """Receive one frame of at most ``max_bytes``, by ``deadline`` (``time.monotonic()``) if given.

    Raises
    ------
    ChannelError
        When the other side closed the connection, or announced a longer frame.
    TimeoutError
        When the deadline passed (however slowly the other side trickles its bytes).
    """
    header = _recv_exactly(sock, 4, deadline)
    size = _LENGTH.unpack(header)[0]
    if size > max_bytes:
        raise ChannelError(f"a message of {size} bytes, more than the limit of {max_bytes}")
    return _recv_exactly(sock, size, deadline)


def _recv_exactly(sock, size: int, deadline: float | None) -> bytes:
    if size == 0:
        return b""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the deadline passed")
            sock.settimeout(remaining)
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise ChannelError("the other side closed the connection")
        got += n
    return bytes(buffer)
