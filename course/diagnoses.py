"""What relation a wrong array has to the right one, said without the right values.

``course.testing.describe_mismatch`` asks this module, once it knows an
answer is wrong, whether the answer is a simple transformation of the right
one: a constant factor, the opposite sign, a transpose, a flip, a shift, the
right numbers in the wrong places, or right everywhere except in one kind of
place (where the right value is zero, on the borders, in some slices, in a
region the test names). Each rule is a small function; the generators
``_yield_shape_diagnoses`` and ``_yield_value_diagnoses`` list them in the
order they are tried, in the manner of scikit-learn's ``_yield_checks``. The
first rule that applies speaks; a rule applies only when its claim holds at
every entry within the assertion's own tolerance, so a diagnosis is never a
guess. A relation (a factor, the opposite sign, a permutation, a flip, a
shift) is claimed only when at least two entries with distinct non-zero right
values support it (``_two_sizes``): on a single number, or on entries that all
share one size, any factor fits, and a wrong formula that treats those entries
alike fits it by construction. What a relation *usually means* is said as a
hint ("usually"), never as a claim.

Every rule is cheap: it compares a few failing entries first and the whole
array only when those agree, so the cost stays a small multiple of the
array's size.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

import numpy as np

__all__ = ["Comparison", "diagnose_shape", "diagnose_values", "diagnose_dtype", "format_index", "first_index"]

# Arrays with more axes than this are not searched for permutations or flips (the count grows as n!).
MAX_AXES_SEARCHED = 5
# Sorting costs n log n; beyond this size the "right numbers, wrong places" rule is skipped.
MAX_SORTED_SIZE = 2_000_000
# A claim "right elsewhere" needs this many nonzero right values there, or it may hold by chance.
MIN_RIGHT_ENTRIES = 4
# How many failing entries a candidate relation must fit before the whole array is compared.
SAMPLE_SIZE = 16


def first_index(mask: np.ndarray) -> tuple[int, ...]:
    """The first True entry of a boolean array in row-major order (O(size), unlike np.argwhere)."""
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))


def format_index(index: tuple[int, ...]) -> str:
    """Write an index the way a student would type it: ``index (0, 2)``."""
    if len(index) == 0:
        return "the value"
    if len(index) == 1:
        return f"index {index[0]}"
    return "index (" + ", ".join(str(i) for i in index) + ")"


@dataclass(frozen=True)
class Comparison:
    """A wrong answer next to the right one, as float64 arrays, with the tolerance.

    Parameters
    ----------
    actual, expected : ndarray of float64
        The answer under test and the reference (of the same shape for value
        rules; shape rules accept any shapes). Both finite.
    rtol, atol : float
        An entry is right when ``|actual - expected| <= atol + rtol * |expected|``.
    batch_size : int or None
        The batch size N of the computation, when the caller knows it.
    regions : mapping of str to ndarray of bool, shape of ``expected``
        Named places the caller knows about, e.g.
        ``{"where two entries of a window tie": mask}``.
    """

    actual: np.ndarray
    expected: np.ndarray
    rtol: float
    atol: float
    batch_size: int | None = None
    regions: Mapping[str, np.ndarray] = field(default_factory=dict)

    def close(self, candidate: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Entrywise: is ``candidate`` within the tolerance of ``reference``?"""
        return np.abs(candidate - reference) <= self.atol + self.rtol * np.abs(reference)

    @cached_property
    def failing(self) -> np.ndarray:
        return ~self.close(self.actual, self.expected)

    @cached_property
    def sample(self) -> tuple[np.ndarray, ...]:
        """Indices of a few entries spread over the array, and a few wrong ones when shapes agree."""
        flat = _spread(self.actual.size)
        if self.actual.shape == self.expected.shape:
            wrong = np.flatnonzero(self.failing.ravel()[: 64 * SAMPLE_SIZE])[:SAMPLE_SIZE]
            flat = np.concatenate([flat, wrong])
        return _indices(flat, self.actual.shape)

    def agree(self, first: np.ndarray, second: np.ndarray) -> bool:
        """Are two arrays of one shape equal within tolerance (a few entries first, then all)?"""
        probe = _indices(_spread(first.size), first.shape)
        return bool(np.all(self.close(first[probe], second[probe])) and np.all(self.close(first, second)))

    def matches(self, candidate: np.ndarray, where: np.ndarray | None = None) -> bool:
        """Does ``actual`` equal ``candidate`` (within tolerance) everywhere, or where ``where``?"""
        if candidate.shape != self.actual.shape:
            return False
        sample = self.sample
        if not np.all(self.close(self.actual[sample], candidate[sample]) | _excused(where, sample)):
            return False
        ok = self.close(self.actual, candidate)
        return bool(np.all(ok if where is None else ok | ~where))


def _indices(flat: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """``np.unravel_index``, which a 0-d array (indexed by ``()``) does not accept."""
    return () if shape == () else np.unravel_index(flat, shape)


def _spread(size: int) -> np.ndarray:
    return np.unique(np.linspace(0, size - 1, num=min(size, SAMPLE_SIZE)).astype(np.intp))


def _excused(where: np.ndarray | None, sample: tuple[np.ndarray, ...]) -> np.ndarray | bool:
    """Which sampled entries lie outside ``where``, and so need not match."""
    return False if where is None else ~where[sample]


# --------------------------------------------------------------------------------------------
# Support: what a relation needs before it is claimed
# --------------------------------------------------------------------------------------------


def _two_sizes(c: Comparison, right_values: np.ndarray) -> bool:
    """Do ``right_values`` hold at least two distinct non-zero sizes, within the tolerance?

    The support a relation needs: the right values of the entries it speaks about. Sizes, not
    values: entries ``x`` and ``-x`` are as alike as ``x`` and ``x`` (the two classes of a softmax
    gradient), and a wrong formula with that symmetry fits any factor on them.
    """
    sizes = np.abs(right_values[np.abs(right_values) > c.atol])
    return sizes.size >= 2 and bool(np.any(~c.close(sizes, sizes.max())))


def _moves_two_sizes(c: Comparison, candidate: np.ndarray) -> bool:
    """Does ``candidate`` (the right values rearranged) put two distinct non-zero sizes in new places?

    Read in memory order, so that it also serves a candidate of another shape. Where the
    rearrangement leaves a value as it was, the relation says nothing; what it moves is its support.
    """
    flat_candidate, flat_expected = candidate.ravel(), c.expected.ravel()
    moved = ~c.close(flat_candidate, flat_expected)
    return _two_sizes(c, flat_candidate[moved])


# --------------------------------------------------------------------------------------------
# Factors
# --------------------------------------------------------------------------------------------

_SMALL = range(1, 11)
_READABLE = sorted(
    {Fraction(p, q) for p in _SMALL for q in _SMALL} | {Fraction(n) for n in (12, 16, 32, 64, 100)}
)


def _readable_factors(batch_size: int | None) -> list[Fraction]:
    factors = set(_READABLE)
    if batch_size and batch_size > 1:
        factors |= {Fraction(batch_size), Fraction(1, batch_size)}
    return sorted(factors | {-f for f in factors})


def _nearest_readable(ratio: float, batch_size: int | None) -> Fraction | None:
    if not np.isfinite(ratio):
        return None
    return min(_readable_factors(batch_size), key=lambda f: abs(float(f) - ratio))


def _write_factor(factor: Fraction) -> str:
    return str(factor.numerator) if factor.denominator == 1 else f"{factor.numerator}/{factor.denominator}"


def _what_a_factor_usually_means(factor: Fraction, batch_size: int | None) -> str:
    """The usual cause of a factor, as a hint ("" when there is none worth saying).

    A caller that passes ``batch_size`` says that the batch matters here, so a factor N or 1/N
    is explained by the batch only: with N = 2, not as the 0.5 of a squared loss.
    """
    size = abs(factor)
    batch = batch_size if batch_size and batch_size > 1 else None
    if batch and size == batch:
        return f"with a batch of N = {batch}, that usually means a missing 1/N (a sum, not a mean)"
    if batch and size == Fraction(1, batch):
        return (
            f"with a batch of N = {batch}, that usually means dividing by N twice "
            "(once in the loss and again in its gradient), or a mean where the layer's gradient "
            "sums: dout already carries the 1/N"
        )
    if size == 2:
        return (
            "a factor 2 usually means a 0.5 left out (as in 0.5 * sum(d**2), or in its derivative) "
            "or a path counted twice"
        )
    if size == Fraction(1, 2):
        return (
            "a factor 1/2 usually means a 0.5 too many (the derivative of 0.5 * sum(d**2) has none) "
            "or one of two paths left out"
        )
    if size.numerator == 1 and size.denominator > 10:
        count = size.denominator
        over = f"{count} numbers"
        if batch and count % batch == 0:
            over += f" (N = {batch} times {count // batch}: the batch and, e.g., the positions)"
        return f"that usually means a mean over {over} where the gradient sums (np.mean for np.sum)"
    return ""


def _factor_sentence(factor: Fraction, batch_size: int | None) -> str:
    if factor == -1:
        return "is exactly -1 times the right value: it has the opposite sign everywhere"
    sentence = f"is exactly {_write_factor(factor)} times the right value"
    if factor < 0:
        sentence += " (the opposite sign, and a different size)"
    meaning = _what_a_factor_usually_means(factor, batch_size)
    return sentence + (f": {meaning}" if meaning else "")


def _fitted_factor(c: Comparison, where: np.ndarray) -> Fraction | None:
    """A readable factor f with ``actual == f * expected`` where ``where``, or None.

    None also when the right values there hold fewer than two distinct non-zero sizes: any factor
    fits one number.
    """
    reference = np.where(where, np.abs(c.expected), 0.0)
    if not np.any(reference > c.atol):
        return None
    anchor = np.unravel_index(int(np.argmax(reference)), reference.shape)
    factor = _nearest_readable(c.actual[anchor] / c.expected[anchor], c.batch_size)
    if factor is None or factor == 1 or not c.matches(float(factor) * c.expected, where):
        return None
    return factor if _two_sizes(c, c.expected[where]) else None


# --------------------------------------------------------------------------------------------
# Whole-array rules (the same shape)
# --------------------------------------------------------------------------------------------


def diagnose_all_zeros(c: Comparison) -> str | None:
    """The answer is zero everywhere, the right value is not.

    Why: a gradient array allocated and never filled, or a loop that never
    ran. Does not apply when only some entries are zero (see the rules that
    say where an answer is wrong).

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> assert_tensor_close(np.zeros(3), np.array([1.0, -2.0, 0.5]), name="db")
    Traceback (most recent call last):
    AssertionError: db is zero everywhere, and the right value is not: was it ever filled in?
    """
    if np.any(c.actual != 0) or not np.any(np.abs(c.expected) > c.atol):
        return None
    return "is zero everywhere, and the right value is not: was it ever filled in?"


def diagnose_scale(c: Comparison) -> str | None:
    """The answer is one readable factor (2, 1/4, -1, N, ...) times the right value.

    Why: a missing or doubled 1/N, a 0.5 of a squared loss, a flipped sign
    (factor -1) are the commonest gradient mistakes, and a plain "relative
    error 0.75" hides them. Applies only when every entry fits the same
    factor, the factor is readable (p/q with p, q <= 10, a few powers of 2,
    or the batch size), and the right values hold at least two distinct
    non-zero sizes: on a single number, or on entries that all share one
    size (``dout`` passed on to every entry, ``x`` and ``-x``), any factor
    fits, so none is named there. An arbitrary constant is said by
    ``diagnose_constant_factor``.

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.array([[0.5, -1.0], [2.0, 4.0]])
    >>> assert_tensor_close(right / 4, right, name="dW", batch_size=4)
    Traceback (most recent call last):
    AssertionError: dW is exactly 1/4 times the right value: with a batch of N = 4, that usually means
    dividing by N twice (once in the loss and again in its gradient), or a mean where the layer's
    gradient sums: dout already carries the 1/N.
    >>> assert_tensor_close(-right, right, name="dx")
    Traceback (most recent call last):
    AssertionError: dx is exactly -1 times the right value: it has the opposite sign everywhere.
    >>> assert_tensor_close(2 * right, right, name="dy")
    Traceback (most recent call last):
    AssertionError: dy is exactly 2 times the right value: a factor 2 usually means a 0.5 left out (as in
    0.5 * sum(d**2), or in its derivative) or a path counted twice.
    >>> assert_tensor_close(np.array([1.0, 1.0]), np.array([2.5, 2.5]), name="dx")
    Traceback (most recent call last):
    AssertionError: dx differs from the expected value at 2 of 2 entries; the worst is at index 0, value 1,
    relative error 0.6 (allowed: 1e-07 relative, 1e-10 absolute).
    """
    factor = _fitted_factor(c, np.ones(c.actual.shape, dtype=bool))
    return None if factor is None else _factor_sentence(factor, c.batch_size)


def diagnose_constant_factor(c: Comparison) -> str | None:
    """The answer is the right value times one constant that is not a readable number.

    Why: a wrong constant (e.g. ``np.e`` for 1, a wrong learning rate) scales
    every entry alike. Applies only when one factor, not within 1 % of 1,
    fits every entry within the tolerance, and the right values hold at
    least two distinct non-zero sizes (as for ``diagnose_scale``); a whole
    number or one over a whole number (1/24: a mean over 24 entries) is
    written exactly, anything else rounded, with "about".

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.array([1.0, -2.0, 3.0])
    >>> assert_tensor_close(right * np.e, right, name="out")
    Traceback (most recent call last):
    AssertionError: out is about 2.718 times the right value at every entry (one constant factor is wrong).
    """
    reference = np.abs(c.expected)
    if c.expected.size < 2 or not np.any(reference > c.atol):
        return None
    anchor = np.unravel_index(int(np.argmax(reference)), reference.shape)
    factor = c.actual[anchor] / c.expected[anchor]
    if not np.isfinite(factor) or abs(factor - 1) < 0.01 or factor == 0:
        return None  # within 1 % of 1 a "constant factor" is a near miss, not a relation worth naming
    if not c.matches(factor * c.expected) or not _two_sizes(c, c.expected):
        return None
    for exact in _whole_or_reciprocal(factor):
        if c.matches(float(exact) * c.expected):
            return _factor_sentence(exact, c.batch_size)
    return f"is about {factor:.4g} times the right value at every entry (one constant factor is wrong)"


def _whole_or_reciprocal(factor: float) -> list[Fraction]:
    """The whole number, or one over a whole number, nearest to ``factor`` (up to 10000)."""
    candidates = []
    if 1 <= abs(factor) <= 10_000:
        candidates.append(Fraction(round(factor)))
    if 1e-4 <= abs(factor) < 1:
        candidates.append(Fraction(1, round(1 / factor)) if factor > 0 else -Fraction(1, round(-1 / factor)))
    return [f for f in candidates if f not in (0, 1)]


def _axes_phrase(axes: tuple[int, ...]) -> str:
    if len(axes) == 1:
        return f"axis {axes[0]}"
    return "axes " + ", ".join(str(a) for a in axes[:-1]) + f" and {axes[-1]}"


def _permutation_phrase(order: tuple[int, ...]) -> str:
    moved = tuple(i for i, a in enumerate(order) if a != i)
    if len(moved) == 2:
        return f"with {_axes_phrase(moved)} swapped" + (" (a transpose)" if len(order) == 2 else "")
    return f"with its axes in the order {order}"


def diagnose_permuted_axes(c: Comparison) -> str | None:
    """The answer is the right value with two (or more) axes swapped.

    Why: ``x.T`` where ``x`` was meant, ``dout @ W`` where ``W.T`` belongs.
    Applies to a same-shape answer only where the swapped axes have equal
    lengths (a square matrix, square images), and only when the permutation
    moves right values of at least two distinct non-zero sizes (one lone
    value moved fits a transpose, a flip and a shift alike); other shapes are
    said by ``diagnose_shape_is_a_permutation``.

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.arange(9.0).reshape(3, 3)
    >>> assert_tensor_close(right.T, right, name="dW")
    Traceback (most recent call last):
    AssertionError: dW is the right value with axes 0 and 1 swapped (a transpose).
    """
    if c.actual.ndim < 2 or c.actual.ndim > MAX_AXES_SEARCHED:
        return None
    for order in itertools.permutations(range(c.actual.ndim)):
        candidate = c.expected.transpose(order)
        if (order != tuple(sorted(order)) and candidate.shape == c.actual.shape and c.matches(candidate)
                and _moves_two_sizes(c, candidate)):
            return f"is the right value {_permutation_phrase(order)}"
    return None


def diagnose_flipped(c: Comparison) -> str | None:
    """The answer is the right value reversed along some axes (a 180° rotated kernel).

    Why: convolution and cross-correlation differ by a flip of the kernel;
    forgetting it, or flipping twice, reverses the last two axes. Applies
    when reversing one set of axes gives the right value at every entry and
    moves right values of at least two distinct non-zero sizes.

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.arange(18.0).reshape(2, 3, 3)
    >>> assert_tensor_close(right[:, ::-1, ::-1], right, name="dw")
    Traceback (most recent call last):
    AssertionError: dw is the right value reversed along axes 1 and 2 (rotated by 180° in those axes, like
    a flipped kernel).
    """
    if c.actual.ndim == 0 or c.actual.ndim > MAX_AXES_SEARCHED:
        return None
    all_axes = range(c.actual.ndim)
    subsets = (s for n in range(1, c.actual.ndim + 1) for s in itertools.combinations(all_axes, n))
    for axes in subsets:
        candidate = np.flip(c.expected, axes)
        if c.matches(candidate) and _moves_two_sizes(c, candidate):
            rotated = " (rotated by 180° in those axes, like a flipped kernel)" if len(axes) == 2 else ""
            return f"is the right value reversed along {_axes_phrase(axes)}{rotated}"
    return None


def diagnose_shifted(c: Comparison) -> str | None:
    """The answer holds the right values shifted by one or two places along an axis.

    Why: an off-by-one in a loop bound or a slice, a padding added on the
    wrong side. Applies when, along one axis at least twice as long as the
    shift, every entry that has a neighbour ``shift`` places before it holds
    that neighbour's right value, and some of those entries are wrong where
    they stand; the entries shifted in from outside are not judged. Does not
    apply when fewer than 3, or fewer than half, of the right values differ
    from their neighbour (a tiny or mostly-zero array), or when the values
    shifted onto a different neighbour hold fewer than two distinct non-zero
    sizes, where a shift would be a coincidence.

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    >>> shifted = np.zeros_like(right)
    >>> shifted[:, 1:] = right[:, :-1]
    >>> assert_tensor_close(shifted, right, name="out")
    Traceback (most recent call last):
    AssertionError: out is the right value shifted by 1 place toward higher indices along axis 1 (entry i
    holds the right value of entry i - 1).
    """
    failing = c.failing
    for axis, length in enumerate(c.actual.shape):
        for shift in (1, -1, 2, -2):
            if abs(shift) >= length:
                continue
            moved = [slice(None)] * c.actual.ndim
            source = [slice(None)] * c.actual.ndim
            moved[axis] = slice(shift, None) if shift > 0 else slice(None, shift)
            source[axis] = slice(None, -shift) if shift > 0 else slice(-shift, None)
            moved_t, source_t = tuple(moved), tuple(source)
            if 2 * abs(shift) > length or not np.any(failing[moved_t]):
                continue
            if not c.agree(c.actual[moved_t], c.expected[source_t]):
                continue
            # Where the right value equals its neighbour, a shift changes nothing: too few such
            # changes (a mostly-zero array) and the claim would be true but say nothing.
            informative = ~c.close(c.expected[source_t], c.expected[moved_t])
            if (informative.sum() >= 3 and 2 * informative.sum() >= informative.size
                    and _two_sizes(c, c.expected[source_t][informative])):
                direction = "higher" if shift > 0 else "lower"
                plural = "place" if abs(shift) == 1 else "places"
                sign = "-" if shift > 0 else "+"
                return (
                    f"is the right value shifted by {abs(shift)} {plural} toward {direction} indices along "
                    f"axis {axis} (entry i holds the right value of entry i {sign} {abs(shift)})"
                )
    return None


def diagnose_wrong_memory_order(c: Comparison) -> str | None:
    """The answer holds the right numbers in the memory order of other axes.

    Why: ``reshape`` where ``transpose`` was needed, e.g. reshaping an
    ``(N*OH*OW, F)`` matrix straight to ``(N, F, OH, OW)``: the numbers are
    right but laid out in the order of axes ``(N, OH, OW, F)``. Applies when
    reading the right value in the order of some permutation of its axes,
    then reshaping, gives the answer at every entry, and that order moves
    right values of at least two distinct non-zero sizes.

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.arange(24.0).reshape(2, 3, 2, 2)
    >>> wrong = right.transpose(0, 2, 3, 1).reshape(2, 3, 2, 2)
    >>> assert_tensor_close(wrong, right, name="out")
    Traceback (most recent call last):
    AssertionError: out has the right numbers, but in the memory order of the right value's axes (0, 2, 3,
    1): a reshape where a transpose (then reshape) was needed.
    """
    return _memory_order_sentence(c)


def _memory_order_sentence(c: Comparison) -> str | None:
    if c.expected.ndim > MAX_AXES_SEARCHED or c.expected.size != c.actual.size:
        return None
    flat_actual = c.actual.ravel()
    probe = _spread(flat_actual.size)
    for order in itertools.permutations(range(c.expected.ndim)):
        identity = order == tuple(range(c.expected.ndim))
        if identity and c.expected.shape == c.actual.shape:
            continue
        # Compare a few entries before building the reordered copy.
        transposed = c.expected.transpose(order)
        probe_values = transposed[_indices(probe, transposed.shape)]
        if not np.all(c.close(flat_actual[probe], probe_values)):
            continue
        reordered = _values_in_order(c.expected, order)
        if c.agree(flat_actual, reordered):
            if identity:
                return "has the right numbers in the right order, but the wrong shape: reshape it"
            if not _moves_two_sizes(c, reordered):
                continue
            return (
                f"has the right numbers, but in the memory order of the right value's axes {order}: "
                "a reshape where a transpose (then reshape) was needed"
            )
    return None


def _values_in_order(array: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    return np.ascontiguousarray(array.transpose(order)).ravel()


def diagnose_right_numbers_wrong_places(c: Comparison) -> str | None:
    """The answer holds exactly the right numbers, but some in the wrong places.

    Why: a gradient routed to the wrong entry of a pooling window, an index
    computed the wrong way. Applies when the sorted answer equals the sorted
    right value within tolerance; says how many entries are misplaced. It
    names no factor and no rearrangement, only that the values are right, so
    one value in the wrong place (a routing with one non-zero ``dout``) is
    enough to say it.

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.array([[0.0, 3.0], [0.0, 0.0], [5.0, 0.0]])
    >>> routed = np.array([[3.0, 0.0], [0.0, 0.0], [5.0, 0.0]])
    >>> assert_tensor_close(routed, right, name="dx")
    Traceback (most recent call last):
    AssertionError: dx has the right numbers, but 2 of 6 are in the wrong places, the first at index (0,
    0): check where each value is written.
    """
    if c.actual.size < 2 or c.actual.size > MAX_SORTED_SIZE:
        return None
    sorted_expected = np.sort(c.expected, axis=None)
    if not np.all(c.close(np.sort(c.actual, axis=None), sorted_expected)):
        return None
    failing = c.failing
    first = first_index(failing)
    return (
        f"has the right numbers, but {int(failing.sum())} of {failing.size} are in the wrong places, "
        f"the first at {format_index(first)}: check where each value is written"
    )


# --------------------------------------------------------------------------------------------
# Where the answer is wrong (the rest is right)
# --------------------------------------------------------------------------------------------


def _how_wrong(c: Comparison, where: np.ndarray) -> str:
    """What the failing entries are, when one thing holds for all of them.

    A factor (or the opposite sign) is named only when the failing entries' right values hold two
    distinct non-zero sizes (``_fitted_factor``); "is 0" says what the answer holds, not a relation.
    """
    if np.all(c.actual[where] == 0):
        return "is 0"
    factor = _fitted_factor(c, where)
    if factor == -1:
        return "has the opposite sign"
    if factor is not None:
        return f"is exactly {_write_factor(factor)} times the right value"
    return "is wrong"


def _local_sentence(c: Comparison, place: str) -> str:
    failing = c.failing
    first = first_index(failing)
    count = int(failing.sum())
    return (
        f"{_how_wrong(c, failing)} {place}, and right elsewhere: {count} of {failing.size} "
        f"entries, the first at {format_index(first)}"
    )


def diagnose_named_region(c: Comparison) -> str | None:
    """The answer is wrong only inside a region the test named (``regions=``).

    Why: some mistakes show only where the input is special (ties of a
    pooling window, overlapping windows, x == 0), which only the test knows.
    Applies when every wrong entry lies in one named mask; the first such
    mask in the caller's order is named. What the wrong entries are (a
    factor, the opposite sign) is said only when their right values hold two
    distinct non-zero sizes; else they are just wrong there.

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.array([1.0, 0.5, 0.75, 2.0])
    >>> tie = np.array([False, True, True, False])
    >>> assert_tensor_close(np.array([1.0, 1.0, 1.5, 2.0]), right, name="dx",
    ...                     regions={"where two entries of a window tie": tie})
    Traceback (most recent call last):
    AssertionError: dx is exactly 2 times the right value only where two entries of a window tie, and
    right elsewhere: 2 of 4 entries, the first at index 1.
    >>> assert_tensor_close(np.array([1.0, 1.0, 1.0, 2.0]), np.array([1.0, 0.5, 0.5, 2.0]), name="dx",
    ...                     regions={"where two entries of a window tie": tie})
    Traceback (most recent call last):
    AssertionError: dx is wrong only where two entries of a window tie, and right elsewhere: 2 of 4
    entries, the first at index 1.
    """
    failing = c.failing
    for label, mask in c.regions.items():
        mask = np.asarray(mask, dtype=bool)
        if mask.shape == failing.shape and not np.any(failing & ~mask):
            return _local_sentence(c, f"only {label}")
    return None


def diagnose_partial_factor(c: Comparison) -> str | None:
    """The wrong entries are all 0, or all the same readable factor (or -1) times their right values.

    Why: a sign or a factor applied on one branch only (one side of a
    ReLU, one of two inputs), a gradient never written to some entries.
    Applies when at least two entries are wrong, some are right, and the
    wrong ones are all 0, or all fit one readable factor and their right
    values hold two distinct non-zero sizes.

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.array([1.0, -2.0, 3.0, -4.0])
    >>> assert_tensor_close(np.abs(right), right, name="dx")
    Traceback (most recent call last):
    AssertionError: dx has the opposite sign at some entries, and right elsewhere: 2 of 4 entries, the
    first at index 1.
    """
    failing = c.failing
    if failing.sum() < 2 or np.all(failing) or _how_wrong(c, failing) == "is wrong":
        return None
    return _local_sentence(c, "at some entries")


def diagnose_wrong_only_where_zero(c: Comparison) -> str | None:
    """The answer is wrong only where the right value is zero.

    Why: a mask forgotten (ReLU's dx must be 0 where x <= 0), a gradient
    written to entries that get none. Applies when the right value is zero
    (within ``atol``) at every wrong entry and not zero everywhere.

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.array([0.0, 2.0, 0.0, 4.0])
    >>> assert_tensor_close(np.array([1.0, 2.0, 3.0, 4.0]), right, name="dx")
    Traceback (most recent call last):
    AssertionError: dx is wrong only where the right value is 0, and right elsewhere: 2 of 4 entries, the
    first at index 0.
    """
    failing = c.failing
    zero = np.abs(c.expected) <= c.atol
    if np.all(zero) or np.any(failing & ~zero):
        return None
    return _local_sentence(c, "only where the right value is 0")


def diagnose_wrong_only_on_borders(c: Comparison) -> str | None:
    """The answer is wrong only on the border of its last two axes.

    Why: padding, the first or last window of a convolution or a pooling,
    a loop over ``range(1, H - 1)``. Applies when the last two axes have at
    least 3 entries each, every wrong entry lies in their first or last
    row or column, and the inside holds at least ``MIN_RIGHT_ENTRIES``
    nonzero right values (fewer could be right by chance); says which of
    those borders.

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.arange(1.0, 17.0).reshape(1, 4, 4)
    >>> wrong = right.copy()
    >>> wrong[:, :, -1] = 0.0
    >>> assert_tensor_close(wrong, right, name="dx")
    Traceback (most recent call last):
    AssertionError: dx is 0 only on the border of its last two axes (the last column), and right
    elsewhere: 4 of 16 entries, the first at index (0, 0, 3).
    """
    if c.actual.ndim < 2 or min(c.actual.shape[-2:]) < 3:
        return None
    failing = c.failing
    inside = np.abs(c.expected[..., 1:-1, 1:-1]) > c.atol
    if np.any(failing[..., 1:-1, 1:-1]) or inside.sum() < MIN_RIGHT_ENTRIES:
        return None
    # A side is named when it has a wrong entry between its corners; a wrong corner that no named
    # side covers names its row.
    sides = {
        "the first row": (..., 0, slice(1, -1)),
        "the last row": (..., -1, slice(1, -1)),
        "the first column": (..., slice(1, -1), 0),
        "the last column": (..., slice(1, -1), -1),
    }
    named = {side for side, place in sides.items() if np.any(failing[place])}
    for row in ("the first row", "the last row"):
        i = 0 if row == "the first row" else -1
        for column, j in (("the first column", 0), ("the last column", -1)):
            if np.any(failing[..., i, j]) and row not in named and column not in named:
                named.add(row)
    named = [side for side in sides if side in named]
    return _local_sentence(c, f"only on the border of its last two axes ({', '.join(named)})")


def diagnose_wrong_only_in_some_slices(c: Comparison) -> str | None:
    """The answer is right in a leading block of slices along an axis and wrong after it, or the reverse.

    Why: a loop that stops early or starts late, a slice that misses the end,
    one sample of a batch treated differently. Applies to arrays with two or
    more axes longer than 1 when, along an axis of length 3 or more, the
    slices with a wrong entry are exactly the first k, the last k, or a single
    one; the right slices must hold ``MIN_RIGHT_ENTRIES`` nonzero right
    values, and be at least
    two unless a single slice is wrong (one right slice against many wrong
    ones is more likely a coincidence than a pattern).

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.arange(1.0, 13.0).reshape(4, 3)
    >>> wrong = right.copy()
    >>> wrong[2:] = 0.0
    >>> assert_tensor_close(wrong, right, name="out")
    Traceback (most recent call last):
    AssertionError: out is 0 only from index 2 on along axis 0, and right elsewhere: 6 of 12 entries, the
    first at index (2, 0).
    """
    failing = c.failing
    if sum(length > 1 for length in failing.shape) < 2 or failing.sum() < 2:
        return None
    for axis, length in enumerate(failing.shape):
        if length < 3:
            continue
        wrong_slices = np.any(np.moveaxis(failing, axis, 0).reshape(length, -1), axis=1)
        indices = np.flatnonzero(wrong_slices)
        if indices.size == length:
            continue
        first, last = int(indices[0]), int(indices[-1])
        if last - first + 1 != indices.size:
            continue
        right_slices = np.moveaxis(np.abs(c.expected) > c.atol, axis, 0)[~wrong_slices]
        if right_slices.sum() < MIN_RIGHT_ENTRIES or (length - indices.size < 2 and indices.size > 1):
            continue  # the right part is all zeros, or one slice against many: nothing to learn
        if indices.size == 1:
            place = f"only at index {first} along axis {axis}"
        elif last == length - 1:
            place = f"only from index {first} on along axis {axis}"
        elif first == 0:
            place = f"only before index {last + 1} along axis {axis}"
        else:
            continue
        return _local_sentence(c, place)
    return None


def _yield_value_diagnoses() -> Iterator[Callable[[Comparison], str | None]]:
    """The rules for a same-shape answer, most telling first."""
    yield diagnose_all_zeros
    yield diagnose_scale
    yield diagnose_permuted_axes
    yield diagnose_flipped
    yield diagnose_wrong_memory_order
    yield diagnose_constant_factor
    # Local rules before the shift: on a small array a shift by one can hold by coincidence.
    yield diagnose_named_region
    yield diagnose_wrong_only_where_zero
    yield diagnose_right_numbers_wrong_places
    yield diagnose_shifted
    yield diagnose_wrong_only_on_borders
    yield diagnose_wrong_only_in_some_slices
    yield diagnose_partial_factor


def diagnose_values(c: Comparison) -> str | None:
    """The first value rule that applies to a wrong answer of the right shape, or None.

    A single number (0-d, or one entry) gets none: any factor fits it, and where its entries are
    placed means nothing. Its value and relative error say what there is to say. Nor does an
    empty array, which cannot be wrong.
    """
    if c.actual.size <= 1:
        return None
    for rule in _yield_value_diagnoses():
        sentence = rule(c)
        if sentence:
            return sentence
    return None


# --------------------------------------------------------------------------------------------
# A shape that differs
# --------------------------------------------------------------------------------------------


def diagnose_shape_is_a_permutation(c: Comparison) -> str | None:
    """The answer's shape is the right shape with axes reordered, and so are its values.

    Why: a transpose too many or too few. Applies when some permutation of
    the right value's axes gives the answer at every entry and, read in
    memory order, moves right values of at least two distinct non-zero sizes
    (a transpose that moves nothing, such as (1, 3) to (3, 1), is a reshape).

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.arange(6.0).reshape(2, 3)
    >>> assert_tensor_close(right.T, right, name="dW")
    Traceback (most recent call last):
    AssertionError: dW has shape (3, 2), expected shape (2, 3): it is the right value with axes 0 and 1
    swapped (a transpose).
    """
    if c.actual.ndim != c.expected.ndim or c.actual.ndim > MAX_AXES_SEARCHED:
        return None
    for order in itertools.permutations(range(c.expected.ndim)):
        candidate = c.expected.transpose(order)
        if candidate.shape == c.actual.shape and c.matches(candidate) and _moves_two_sizes(c, candidate):
            return f"it is the right value {_permutation_phrase(order)}"
    return None


def diagnose_shape_reshaped(c: Comparison) -> str | None:
    """The answer has the right numbers in a different shape (an extra axis, a reshape).

    Why: ``keepdims=True`` where it is not wanted, a flattened result, a
    reshape where a transpose was needed. Applies when the answer, read in
    memory order, equals the right value read in the order of some
    permutation of its axes.

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> right = np.array([1.0, 2.0, 3.0])
    >>> assert_tensor_close(right[None, :], right, name="db")
    Traceback (most recent call last):
    AssertionError: db has shape (1, 3), expected shape (3,): it has the right numbers in the right order,
    but the wrong shape: reshape it.
    """
    sentence = _memory_order_sentence(c)
    return None if sentence is None else f"it {sentence}"


def diagnose_shape_summed(c: Comparison) -> str | None:
    """The answer summed over one axis is right, or it is the right value summed over an axis.

    Why: a bias gradient not summed over the batch (``db = dout`` for
    ``dout.sum(axis=0)``), or an axis summed away that the result keeps.
    Applies when one array, summed over one of its axes, equals the other
    (up to axes of length 1).

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> dout = np.arange(12.0).reshape(4, 3)
    >>> assert_tensor_close(dout, dout.sum(axis=0), name="db", batch_size=4)
    Traceback (most recent call last):
    AssertionError: db has shape (4, 3), expected shape (3,): summed over axis 0 (the batch axis) it would
    be right.
    >>> assert_tensor_close(dout.sum(axis=1), dout, name="dx")
    Traceback (most recent call last):
    AssertionError: dx has shape (4,), expected shape (4, 3): it is the right value summed over axis 1, an
    axis the result must keep.
    """
    for bigger, smaller, actual_is_bigger in (
        (c.actual, c.expected, True),
        (c.expected, c.actual, False),
    ):
        if bigger.ndim == 0 or bigger.size <= smaller.size:
            continue
        for axis in range(bigger.ndim):
            summed = bigger.sum(axis=axis)
            if summed.size != smaller.size or np.squeeze(summed).shape != np.squeeze(smaller).shape:
                continue
            summed = summed.reshape(smaller.shape)
            if actual_is_bigger:
                if c.agree(summed, c.expected):
                    batch = " (the batch axis)" if c.batch_size == bigger.shape[axis] else ""
                    return f"summed over axis {axis}{batch} it would be right"
            elif c.matches(summed):
                return f"it is the right value summed over axis {axis}, an axis the result must keep"
    return None


def _yield_shape_diagnoses() -> Iterator[Callable[[Comparison], str | None]]:
    """The rules for an answer whose shape differs from the right one."""
    yield diagnose_shape_is_a_permutation
    yield diagnose_shape_reshaped
    yield diagnose_shape_summed


def diagnose_shape(c: Comparison) -> str | None:
    """The first shape rule that applies, or None."""
    if c.actual.size * max(c.expected.size, 1) == 0:
        return None
    for rule in _yield_shape_diagnoses():
        sentence = rule(c)
        if sentence:
            return sentence
    return None


# --------------------------------------------------------------------------------------------
# The wrong dtype
# --------------------------------------------------------------------------------------------


def diagnose_dtype(actual: np.dtype, expected: np.dtype) -> str:
    """What a wrong dtype usually comes from.

    Why: NumPy promotes float32 to float64 as soon as one operand is a
    float64 array or a NumPy float64 scalar, and integer inputs give integer
    results; students rarely see either happen.

    Examples
    --------
    >>> import numpy as np
    >>> from course.testing import assert_tensor_close
    >>> x = np.ones(3, dtype=np.float32)
    >>> assert_tensor_close(x * np.float64(2.0), 2 * x, name="out")
    Traceback (most recent call last):
    AssertionError: out has dtype float64, expected float32: an operation with a float64 array or an
    np.float64 number promoted it (its values are right).
    """
    if actual.kind == "f" and expected.kind == "f" and actual.itemsize > expected.itemsize:
        return (
            f"{expected}: an operation with a {actual} array or an np.{actual} number promoted it"
        )
    if actual.kind == "f" and expected.kind == "f":
        return (
            f"{expected}: an array made with a fixed dtype (dtype=np.{actual}, astype) lost precision; "
            "follow the input's dtype (e.g. np.zeros_like(x))"
        )
    if actual.kind == "b" and expected.kind == "f":
        return f"{expected}: a comparison gave booleans (a mask such as x > 0 returned instead of values)"
    if actual.kind in "iu" and expected.kind == "f":
        return (
            f"{expected}: integer arithmetic gave integers (e.g. np.zeros_like of an integer array, "
            "or an array built from Python ints)"
        )
    return f"{expected}"
