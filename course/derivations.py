"""Checks for the derivation exercises.

Before each graded implementation a notebook asks the student to derive what the code will need,
and to hand the result in as a small Python function or value: a formula in the given quantities
(checked at several points), a set of indices (which pixels does one output read?), a shape, or an
exact number such as a factor. These functions check such answers as strictly as the code tests
check code: exactly where the answer is exact, and with messages that say what is wrong, never
what is right.

A visible test may hold the right answer of a small exact case **sealed** (:class:`Sealed`, made by
the course author with :func:`seal` or ``python -m course.derivations seal``): ``check_exact`` and
``check_index_set`` accept it in place of the open value and give the same messages, so the test
checks the answer without showing it.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import secrets
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from numbers import Integral, Rational, Real
from typing import Any

import numpy as np

from course.testing import checked_call, describe_mismatch

__all__ = ["check_formula", "check_index_set", "check_exact", "Sealed", "seal"]


def _with_hint(message: str, hint: str) -> str:
    return message + (f" Hint: {hint}" if hint else "")


def check_formula(
    formula: Callable[..., Any],
    reference: Callable[..., Any] | Sequence[Any],
    points: Sequence[Mapping[str, Any]],
    name: str,
    rtol: float = 1e-7,
    atol: float = 1e-10,
    batch_size: int | None = None,
    regions: Mapping[str, np.ndarray] | None = None,
    hint: str = "",
) -> None:
    """Check a derived formula against the right values at several points.

    Parameters
    ----------
    formula : callable
        The student's answer: a function of the given quantities, called as ``formula(**point)``
        (with ``checked_call``, so it may neither change its inputs nor raise a warning).
    reference : callable or sequence
        The right value at each point: a function called like ``formula`` (in a visible test,
        typically a finite difference of the forward computation, so that the formula itself is
        not shown), or one value per point.
    points : sequence of mappings
        The keyword arguments of each evaluation; two or more, so that a factor or a sign is only
        named when several values support it.
    name : str
        What the formula stands for, e.g. ``"your dL/dz"``.
    rtol, atol : float
        The tolerance of each value (see ``course.testing.describe_mismatch``); for a formula
        checked against finite differences, about 1e-6.
    batch_size : int, optional
        The batch size N of the points, so that a missing 1/N can be named.
    regions : mapping of str to ndarray of bool, optional
        Named masks of the shape of the stacked values (the points first), e.g.
        ``{"where two entries of a window tie": mask}``: when every wrong value lies in one, the
        message names it.
    hint : str
        A sentence added on failure, e.g. ``"open hint 1 of section 2"``.

    Raises
    ------
    AssertionError
        Naming the point and what is wrong (a shape, a factor, a sign, the worst entry), never the
        right value.

    Examples
    --------
    >>> points = [{"y": 0.2, "t": 1.0}, {"y": 0.7, "t": 0.0}, {"y": 0.5, "t": 1.0}]
    >>> check_formula(lambda y, t: t - y, lambda y, t: y - t, points, name="your dL/dy")
    Traceback (most recent call last):
    AssertionError: your dL/dy, evaluated at 3 points (the first index counts the points, from 0),
    is exactly -1 times the right value: it has the opposite sign everywhere.
    """
    __tracebackhide__ = True
    if len(points) < 2:
        raise ValueError("check_formula needs two or more points")
    actual = []
    for index, point in enumerate(points):
        value = checked_call(formula, **dict(point), name=name)
        numbers = _as_numbers(value)
        if numbers is None:
            what = "None (did you forget `return`?)" if value is None else f"a {type(value).__name__}"
            raise AssertionError(_with_hint(
                f"{name} returned {what} at point {index} (points count from 0); return a number or an "
                "array of numbers.",
                hint))
        actual.append(numbers)
    expected = [np.asarray(reference(**dict(p)) if callable(reference) else reference[i], dtype=float)
                for i, p in enumerate(points)]
    for index, (a, e) in enumerate(zip(actual, expected)):
        if a.shape != e.shape:
            problem = describe_mismatch(a, e, check_dtype=False)
            message = f"{name}, at point {index} (points count from 0), {problem}."
            raise AssertionError(_with_hint(message, hint))
    problem = describe_mismatch(np.stack(actual), np.stack(expected), rtol=rtol, atol=atol,
                                check_dtype=False, batch_size=batch_size, regions=regions)
    if problem:
        message = (f"{name}, evaluated at {len(points)} points (the first index counts the points, from 0), "
                   f"{problem}")
        raise AssertionError(_with_hint(message + ("" if problem.endswith("?") else "."), hint))


def _as_numbers(value: Any) -> np.ndarray | None:
    """``value`` as a float array when it is a number, or an array (or tuple, list) of numbers or bools."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return None
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # ragged sequences
        return None
    return array.astype(float) if array.dtype.kind in "biuf" else None


def _as_index(item: Any) -> tuple[int, ...] | None:
    items = item if isinstance(item, tuple) else (item,)
    if all(isinstance(i, Integral) and not isinstance(i, bool) for i in items):
        return tuple(int(i) for i in items)
    return None


def check_index_set(
    answer: Iterable[Any], expected: Iterable[Any], name: str, things: str = "indices", hint: str = ""
) -> None:
    """Check a set of indices, such as the pixels of ``x`` that one output reads.

    Parameters
    ----------
    answer : iterable of int or of tuples of int
        The student's indices, in any order (a set, a list, a tuple).
    expected : iterable of int or of tuples of int, or Sealed
        The right indices, or a sealed set of them (:func:`seal`); never printed.
    name : str
        What the set stands for, e.g. ``"the pixels out[1, 2] reads"``.
    things : str
        What an element is called in the message, e.g. ``"pixels"``.
    hint : str
        A sentence added on failure.

    Raises
    ------
    AssertionError
        Saying which of the student's indices do not belong (the student's own), how many are
        missing (a count only), and whether one is listed twice.

    Examples
    --------
    >>> check_index_set([(0, 0), (0, 1), (1, 1)], {(0, 0), (0, 1), (1, 0), (1, 1)}, "the window", "pixels")
    Traceback (most recent call last):
    AssertionError: the window misses 1 of its pixels.
    """
    __tracebackhide__ = True
    if isinstance(answer, (str, bytes)) or not isinstance(answer, Iterable):
        raise AssertionError(_with_hint(
            f"{name} should be a set (or list) of {things}, not a {type(answer).__name__}.", hint))
    given = list(answer)
    indices = [_as_index(item) for item in given]
    for item, index in zip(given, indices):
        if index is None:
            raise AssertionError(_with_hint(
                f"{name} holds {item!r}; each of its {things} should be an int or a tuple of ints.", hint))
    if isinstance(expected, Sealed):
        if expected.kind != "set":
            raise TypeError(f"check_index_set needs a sealed set, not a sealed {expected.kind}")
        belongs, size = expected._has_index, len(expected)
    else:
        right = {_as_index(item) for item in expected}
        belongs, size = right.__contains__, len(right)
    problems = []
    twice = sorted({i for i in indices if indices.count(i) > 1})
    if twice:
        problems.append(f"lists {twice[0]} more than once")
    chosen = set(indices)
    extra = sorted(i for i in chosen if not belongs(i))
    if extra:
        example = ", ".join(str(i) for i in extra[:3])
        verb = "does" if len(extra) == 1 else "do"
        problems.append(f"includes {_count(len(extra), things)} that {verb} not belong ({example}"
                        + (", ..." if len(extra) > 3 else "") + ")")
    missing = size - (len(chosen) - len(extra))
    if missing:
        problems.append(f"misses {missing} of its {things}")
    if problems:
        raise AssertionError(_with_hint(f"{name} " + "; ".join(problems) + ".", hint))


def _count(number: int, things: str) -> str:
    """``"1 pixel"``, ``"2 pixels"``, ``"1 index"``: ``things`` is the plural."""
    if number == 1 and things.endswith("ices"):
        return f"1 {things[:-4]}ex"
    return f"{number} {things[:-1] if number == 1 and things.endswith('s') else things}"


def check_exact(
    answer: Any, expected: Any, name: str, hint: str = "", entry_names: Sequence[str] | None = None
) -> None:
    """Check an exact answer: an integer, a fraction, or a tuple of them such as a shape.

    Floats are accepted when they equal the exact value (``0.5`` for 1/2); a float that only comes
    close (``0.333`` for 1/3) is wrong, and the message says to use ``fractions.Fraction``.

    Parameters
    ----------
    answer : int, Fraction, float, or tuple of them
        The student's answer.
    expected : int, Fraction, or tuple of them, or Sealed
        The right answer, or a sealed number or tuple (:func:`seal`); never printed.
    name : str
        What the answer stands for, e.g. ``"the shape of dW"``.
    hint : str
        A sentence added on failure.
    entry_names : sequence of str, optional
        What each entry of a tuple stands for, e.g. ``("n", "c", "h", "w")``; the message names
        the wrong entries by them.

    Raises
    ------
    AssertionError
        Saying which entry of a tuple is wrong (by name, or by position), or that the number is
        wrong.

    Examples
    --------
    >>> check_exact((3, 4), (4, 3), "the shape of dW")
    Traceback (most recent call last):
    AssertionError: the shape of dW is wrong in entries 0 and 1 (counting from 0).
    >>> check_exact((0, 2, 3, 4), (0, 2, 3, 5), "the index", entry_names=("n", "c", "h", "w"))
    Traceback (most recent call last):
    AssertionError: the index is wrong in entry w.
    >>> check_exact(0.5, Fraction(1, 2), "the factor")
    """
    __tracebackhide__ = True
    if isinstance(expected, Sealed) and expected.kind not in ("number", "tuple"):
        raise TypeError(f"check_exact needs a sealed number or tuple, not a sealed {expected.kind}")
    if isinstance(expected, tuple) or (isinstance(expected, Sealed) and expected.kind == "tuple"):
        if not isinstance(answer, (tuple, list)):
            raise AssertionError(_with_hint(
                f"{name} should be a tuple of {len(expected)} numbers, not a {type(answer).__name__}.", hint))
        if len(answer) != len(expected):
            raise AssertionError(_with_hint(
                f"{name} has {len(answer)} entries, too {'many' if len(answer) > len(expected) else 'few'}.",
                hint))
        entries = expected
        if isinstance(expected, Sealed):
            entries = [expected._entry(i) for i in range(len(expected))]
        wrong = [i for i, (a, e) in enumerate(zip(answer, entries)) if _exact_problem(a, e) is not None]
        if wrong:
            named = entry_names is not None and len(entry_names) == len(expected)
            labels = [str(entry_names[i]) if named else str(i) for i in wrong]
            places = " and ".join(", ".join(labels).rsplit(", ", 1))
            label = "entry" if len(wrong) == 1 else "entries"
            counted = "" if named else " (counting from 0)"
            raise AssertionError(_with_hint(f"{name} is wrong in {label} {places}{counted}.", hint))
        return
    problem = _exact_problem(answer, expected)
    if problem is not None:
        raise AssertionError(_with_hint(f"{name} {problem}.", hint))


def _exact_problem(answer: Any, expected: Any) -> str | None:
    """What is wrong with the number ``answer`` (None if nothing), ``expected`` a number or a sealed one."""
    if isinstance(answer, bool) or not isinstance(answer, (Real, np.number)):
        return f"should be a number, not a {type(answer).__name__}"
    if isinstance(answer, np.integer):
        answer = int(answer)
    if isinstance(answer, Rational):
        return None if _is_value(expected, Fraction(answer)) else "is wrong"
    value = float(answer)
    if not np.isfinite(value):
        return f"is {value}, not a finite number"
    if _is_value(expected, Fraction(value)):
        return None
    if _is_near(expected, value):
        return "comes close to the right number but is not exact: give it as a fractions.Fraction"
    return "is wrong"


def _is_value(expected: Any, value: Fraction) -> bool:
    return expected._is_value(value) if isinstance(expected, Sealed) else value == Fraction(expected)


def _is_near(expected: Any, value: float) -> bool:
    """Close to a right number that a float cannot hold exactly (not a multiple of 1/8)."""
    if isinstance(expected, Sealed):
        return expected._is_near(value)
    right = Fraction(expected)
    close = abs(value - float(right)) <= 1e-9 * max(1.0, abs(float(right)))
    return close and right.denominator not in (1, 2, 4, 8)


# Sealed answers -------------------------------------------------------------------------------------

_SEAL_VERSION = "s1"
_DIGEST_BYTES = 6  # 8 characters of base64url: a wrong answer matches by chance with odds 2**-48
_DIGEST_CHARS = 8
_NEAR_DIGITS = 9  # "comes close": equal to the right number when both are rounded to 9 significant digits


def _digest(salt: str, path: str, text: str) -> str:
    raw = hashlib.sha256(f"{salt}|{path}|{text}".encode()).digest()[:_DIGEST_BYTES]
    return base64.urlsafe_b64encode(raw).decode()


def _near_text(value: float) -> str:
    return format(float(value), f".{_NEAR_DIGITS}g")


def _key_text(key: Any) -> str:
    """The canonical text of a mapping key: an int, a str, or a tuple of them."""
    if isinstance(key, tuple):
        return "(" + ",".join(_key_text(k) for k in key) + ")"
    if isinstance(key, Integral) and not isinstance(key, bool):
        return str(int(key))
    if isinstance(key, str):
        return repr(key)
    raise TypeError(f"a sealed mapping's key must be an int, a str or a tuple of them, not {key!r}")


def _index_text(index: tuple[int, ...]) -> str:
    return ",".join(str(i) for i in index)


def _exact_fraction(value: Any) -> Fraction:
    """The exact value of a number to seal (a str such as ``"1/3"`` is read as a Fraction)."""
    if isinstance(value, str):
        return Fraction(value)
    if isinstance(value, bool) or not isinstance(value, (Real, np.number)):
        raise TypeError(f"only numbers can be sealed as numbers, not {value!r}")
    if isinstance(value, (Rational, np.integer)):
        return Fraction(int(value)) if isinstance(value, np.integer) else Fraction(value)
    if not np.isfinite(float(value)):
        raise ValueError(f"cannot seal {value}")
    return Fraction(float(value))


class Sealed:
    """The right answer of a small exact case, held without showing it.

    A visible test cell can check a student's answer against a ``Sealed`` value exactly as against
    the open one: ``check_exact`` takes a sealed number or tuple of numbers, ``check_index_set`` a
    sealed set of indices, and a sealed mapping (``sealed[key]``) holds one of these per case, e.g.
    per output position. The messages are those of the open check: which entry is wrong, which of
    the student's indices do not belong, how many are missing; never the right values.

    The token stores, per number (per entry of a tuple, per element of a set, per key of a mapping),
    the first 6 bytes of a SHA-256 of a random salt, the position and a canonical text of the value
    (``str(Fraction(x))`` for a number, ``"1,2"`` for an index); for a number that is not a multiple
    of 1/8 also one of its float rounded to 9 significant digits, so that a near float can be told to
    use ``fractions.Fraction``. In clear it shows only the kinds and the counts: the length of a
    tuple, the size of a set (a failure message reports how many indices are missing anyway), the
    number of keys of a mapping.

    **What a seal does not do.** The salt and the hash function are in the token and in this module,
    so a student who wants to can try every candidate answer of a small domain (every pair of small
    ints, every window of a small image) until the digests match: a seal cannot stop brute force.
    The point is that a student who reads the test cell, as an honest student does, cannot read the
    answer there; a student who brute-forces a seal, or hard-codes the visible cases, is caught by
    the hidden tests, which check other cases against closed forms.

    Parameters
    ----------
    token : str
        The text that :func:`seal` made (its ``repr`` is ``Sealed('<token>')``, ready to paste into
        a test cell).

    Examples
    --------
    >>> answer = seal((1, 1, 2, 3))
    >>> check_exact((1, 1, 2, 3), answer, "cols[13, 11]")
    >>> check_exact((1, 1, 3, 2), answer, "cols[13, 11]", entry_names=("n", "c", "h", "w"))
    Traceback (most recent call last):
    AssertionError: cols[13, 11] is wrong in entries h and w.
    >>> window = seal({(0, 1): {(0, 1), (1, 1)}})
    >>> check_index_set([(0, 1), (1, 2)], window[0, 1], "out[0, 1] reads", "pixels")
    Traceback (most recent call last):
    AssertionError: out[0, 1] reads includes 1 pixel that does not belong ((1, 2)); misses 1 of its pixels.
    """

    __slots__ = ("token", "_salt", "_path", "_node", "_label")

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or token.count(".") < 2 or not token.startswith(_SEAL_VERSION + "."):
            raise ValueError("not a sealed answer: make one with course.derivations.seal")
        _, salt, body = token.split(".", 2)
        node, end = _parse_node(body, 0)
        if end != len(body):
            raise ValueError("not a sealed answer: the token has trailing text")
        self.token, self._salt, self._path, self._node = token, salt, "", node
        self._label = f"Sealed({token!r})"

    @classmethod
    def _part(cls, parent: Sealed, path: str, node: tuple, label: str) -> Sealed:
        part = cls.__new__(cls)
        part.token, part._salt, part._label = parent.token, parent._salt, label
        part._path, part._node = path, node
        return part

    def __repr__(self) -> str:
        return self._label

    @property
    def kind(self) -> str:
        """``"number"``, ``"tuple"``, ``"set"`` or ``"mapping"``."""
        return {"n": "number", "t": "tuple", "s": "set", "m": "mapping"}[self._node[0]]

    def __len__(self) -> int:
        if self._node[0] == "n":
            raise TypeError("a sealed number has no length")
        return len(self._node[1])

    def _key_digest(self, key: Any) -> str:
        return _digest(self._salt, self._path + "[]", _key_text(key))

    def __contains__(self, key: Any) -> bool:
        return self._node[0] == "m" and self._key_digest(key) in self._node[1]

    def __getitem__(self, key: Any) -> Sealed:
        if self._node[0] != "m":
            raise TypeError(f"a sealed {self.kind} has no keys")
        node = self._node[1].get(self._key_digest(key))
        if node is None:
            raise KeyError(key)
        return Sealed._part(self, f"{self._path}[{_key_text(key)}]", node, f"{self._label}[{key!r}]")

    def _entry(self, position: int) -> Sealed:
        return Sealed._part(self, f"{self._path}.{position}", self._node[1][position],
                            f"{self._label} entry {position}")

    def _is_value(self, value: Fraction) -> bool:
        return _digest(self._salt, self._path, str(value)) == self._node[1]

    def _is_near(self, value: float) -> bool:
        near = self._node[2]
        return near is not None and _digest(self._salt, self._path + "~", _near_text(value)) == near

    def _has_index(self, index: tuple[int, ...]) -> bool:
        return _digest(self._salt, self._path + "{}", _index_text(index)) in self._node[1]


def _parse_count(body: str, at: int) -> tuple[int, int]:
    end = body.index(".", at)
    return int(body[at:end]), end + 1


def _parse_node(body: str, at: int) -> tuple[tuple, int]:
    """One node of a token's body: ``n`` D, ``f`` D D, ``t``/``s``/``m`` count ``.`` then the parts."""
    kind, at = body[at:at + 1], at + 1
    take = _DIGEST_CHARS
    if kind in ("n", "f"):
        exact, at = body[at:at + take], at + take
        near = None
        if kind == "f":
            near, at = body[at:at + take], at + take
        return ("n", exact, near), at
    if kind not in ("t", "s", "m"):
        raise ValueError("not a sealed answer: unknown part in the token")
    count, at = _parse_count(body, at)
    if kind == "s":
        digests = [body[at + k * take:at + (k + 1) * take] for k in range(count)]
        return ("s", frozenset(digests)), at + count * take
    parts: list = []
    for _ in range(count):
        if kind == "m":
            key, at = body[at:at + take], at + take
        node, at = _parse_node(body, at)
        parts.append((key, node) if kind == "m" else node)
    return (kind, dict(parts) if kind == "m" else tuple(parts)), at


def _seal_body(value: Any, salt: str, path: str) -> str:
    if isinstance(value, Mapping):
        parts = [_digest(salt, path + "[]", _key_text(k)) + _seal_body(v, salt, f"{path}[{_key_text(k)}]")
                 for k, v in value.items()]
        return f"m{len(parts)}." + "".join(sorted(parts))
    if isinstance(value, (set, frozenset)):
        indices = {_as_index(item) for item in value}
        if None in indices:
            raise TypeError(f"a sealed set holds ints or tuples of ints, not {value!r}")
        digests = sorted(_digest(salt, path + "{}", _index_text(i)) for i in indices)
        return f"s{len(digests)}." + "".join(digests)
    if isinstance(value, (tuple, list)):
        return f"t{len(value)}." + "".join(_seal_number(v, salt, f"{path}.{k}") for k, v in enumerate(value))
    return _seal_number(value, salt, path)


def _seal_number(value: Any, salt: str, path: str) -> str:
    exact = _exact_fraction(value)
    body = _digest(salt, path, str(exact))
    if exact.denominator in (1, 2, 4, 8):
        return "n" + body
    return "f" + body + _digest(salt, path + "~", _near_text(float(exact)))


def seal(value: Any, salt: str | None = None) -> Sealed:
    """Seal the right answer of a small exact case, for a visible test cell (run by the course author).

    Parameters
    ----------
    value : number, tuple of numbers, set of indices, or mapping of keys to these
        A number is an int, a ``Fraction`` (or a str such as ``"1/3"``) or a float; a tuple (or
        list) of numbers is checked by ``check_exact`` entry by entry; a set (only a ``set`` or a
        ``frozenset``) of ints or tuples of ints by ``check_index_set``; a mapping from keys (ints,
        strs, tuples of them) to any of these holds one case per key.
    salt : str, optional
        For reproducible tokens in tests; by default a fresh random one, so that sealing the same
        value twice gives two different tokens.

    Returns
    -------
    Sealed

    Examples
    --------
    >>> seal((4, 18), salt="fixedsal")
    Sealed('s1.fixedsal.t2.nuSbtLU8SnOhASpgtu')
    """
    salt = secrets.token_urlsafe(6) if salt is None else salt
    if "." in salt or "|" in salt or not salt:
        raise ValueError("a salt may not be empty or hold '.' or '|'")
    if isinstance(value, Sealed):
        raise TypeError("the value is sealed already")
    return Sealed(f"{_SEAL_VERSION}.{salt}.{_seal_body(value, salt, '')}")


def _main(argv: Sequence[str]) -> int:
    """``python -m course.derivations seal LITERAL ...``: print the seal of each Python literal."""
    if len(argv) < 2 or argv[0] != "seal":
        print("usage: python -m course.derivations seal LITERAL [LITERAL ...]\n"
              "  e.g. seal '(1, 1, 2, 3)'  '{(0, 0): {(0, 0), (0, 1)}}'  '\"1/3\"'", file=sys.stderr)
        return 2
    for literal in argv[1:]:
        print(repr(seal(ast.literal_eval(literal))))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
