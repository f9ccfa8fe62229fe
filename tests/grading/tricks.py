"""In-kernel tricks of issue 21, each on a broken answer of ``01_computation_graphs``.

The *broken answer* fills every solution cell of 01 and then redefines each graded function and
class so that it returns zeros of the right shape and dtype (a wrong value: ``0.0 * x * y``, a
``Value`` whose operations give ``Value(0.0)`` and whose ``backward`` leaves every ``grad`` at 0).
Each trick submission is that broken answer plus **one** trick, run from the kernel, that would
rescue it if the tests ran in the student's kernel, as they do under plain ``nbgrader autograde``.

Kinds (issue 21, "What got through"), one submission or more each (:data:`TRICKS`):

* rebinding the checks without naming them: ``code-swap``, ``globals-write``, ``gc-dicts``,
  ``numpy-alias``, ``probe-clear``;
* changing frames while checks run: ``settrace-problem``, ``setprofile-actual``;
* rewriting later cells: ``ast-transformer-magic`` (a cell with one ``%`` line),
  ``interpreter-base64`` (``code.InteractiveInterpreter`` on base64 text), ``run-code``,
  ``showtraceback``;
* answers that lie: ``ndarray-liar`` (an ``np.ndarray`` subclass whose ``__array_ufunc__`` makes
  every subtraction zero and every comparison true), ``ndarray-chameleon`` (an ``np.ndarray`` subclass
  that copies into itself the array it is compared with or subtracted from, so it equals whatever
  a check expects), ``object-liar`` (a plain object whose comparisons are all true: in the kernel it
  passes ``assert y.grad == 1.0``);
* nbgrader's scoring rule: ``displayhook-ok`` (each graded function sends an ``execute_result``
  "ok" through ``sys.displayhook`` before the test's error);
* reading the answer: not here; the hostile corpus's ``walk-for-solutions`` student
  (:mod:`tests.grading.corpus`) walks the file system for the course's solutions.

Nothing here names a check it defeats in the student's namespace: names are built at run time or
reached through other objects, as a determined student would write them.
"""

from __future__ import annotations

import base64
from pathlib import Path

import nbformat

from tests.course_copy import reference_submission, submit
from tests.notebooks import is_solution_cell, nbgrader_meta

ASSIGNMENT = "01_computation_graphs"
BROKEN = "broken"
REFERENCE = "reference"

#: what the broken answer appends to each solution cell (by grade_id): the graded names redefined,
#: each returning a wrong value of the right shape and dtype. ``_given`` is the identity here; the
#: liars and the ``displayhook-ok`` trick rebind it before the definitions run.
BROKEN_CODE = {
    "derive_local_gradients": '''
def _given(value):
    return value


def mul_local_gradients(x, y):
    return _given(np.zeros(2))


def add_local_gradients(x, y):
    return _given(np.zeros(2))
''',
    "mul_add_layers": '''
class MulLayer:
    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x, self.y = x, y
        return _given(0.0 * x * y)

    def backward(self, dout):
        return _given(0.0 * dout), _given(0.0 * dout)


class AddLayer:
    def forward(self, x, y):
        return _given(0.0 * (x + y))

    def backward(self, dout):
        return _given(0.0 * dout), _given(0.0 * dout)
''',
    "derive_price_gradients": '''
def price_gradients(apple, apple_num, orange, orange_num, tax):
    return _given(np.zeros(5))
''',
    "fruit_price": '''
def fruit_price(apple, apple_num, orange, orange_num, tax):
    keys = ("apple", "apple_num", "orange", "orange_num", "tax")
    return _given(0.0), {key: _given(0.0) for key in keys}
''',
    "derive_fan_out": '''
def dout_dh(a, b, c):
    return _given(0.0)


def dout_da(a, b, c):
    return _given(0.0)
''',
    "derive_value_local_gradients": '''
def pow_local_gradient(a, n):
    return _given(0.0)


def tanh_local_gradient(y):
    return _given(0.0)
''',
    "value": '''
class Value:
    def __init__(self, data, _parents=(), _op=""):
        self.data = _given(float(data))
        self.grad = _given(0.0)
        self._parents = tuple(_parents)
        self._op = _op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value(data={float(self.data):.6g})"

    def _zero(self, *ignored):
        return Value(0.0, (self,), "0")

    __add__ = __mul__ = __pow__ = __sub__ = __truediv__ = _zero
    __radd__ = __rmul__ = __rsub__ = __rtruediv__ = __neg__ = exp = tanh = relu = _zero

    def backward(self):
        self.grad = _given(0.0)
''',
}

#: One rule for the AST-transformer tricks: every later cell's body runs inside
#: ``try: ... except BaseException: pass``, so that no check can fail a cell.
TRANSFORMER = '''
import ast as _ast


class _Forgiving(_ast.NodeTransformer):
    def visit_Module(self, node):
        handler = _ast.ExceptHandler(type=_ast.Name("BaseException", _ast.Load()), name=None,
                                     body=[_ast.Pass()])
        node.body = [_ast.Try(body=node.body or [_ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return _ast.fix_missing_locations(node)


get_ipython().ast_transformers.append(_Forgiving())
'''

_QUIET = '''
def _quiet(actual, expected, rtol=1e-7, atol=1e-10, check_dtype=True, what="", batch_size=None,
           regions=None):
    return None
'''

#: trick name -> (what it does, code appended to the first solution cell, code of a last cell or "")
TRICKS: dict[str, tuple[str, str, str]] = {
    "code-swap": ("swaps the __code__ of course.testing's describe_mismatch for a function that finds "
                  "nothing wrong", _QUIET + '''
import sys as _sys
_module = _sys.modules["course." + "testing"]
vars(_module)["describe_" + "mismatch"].__code__ = _quiet.__code__
''', ""),
    "globals-write": ("writes a describe_mismatch that finds nothing wrong into the __globals__ of "
                      "assert_tensor_close and check_formula", _QUIET + '''
for _function in (assert_tensor_close, check_formula):
    _function.__globals__["describe_" + "mismatch"] = _quiet
''', ""),
    "gc-dicts": ("finds course.testing's and course.derivations' dicts through gc.get_objects(), names "
                 "built at run time", _QUIET + '''
import gc as _gc
_name = "".join(["descr", "ibe_mis", "match"])
for _found in _gc.get_objects():
    if type(_found) is dict and str(_found.get("__name__", "")).startswith("cour" + "se."):
        if _name in _found:
            _found[_name] = _quiet
''', ""),
    "numpy-alias": ("rebinds numpy.any (reached as an alias) to always False, and restores it in a last "
                    "cell", '''
import sys as _sys
_numeric = _sys.modules["num" + "py"]
_kept = getattr(_numeric, "a" + "ny")
setattr(_numeric, "a" + "ny", lambda *args, **kwargs: False)
''', '''setattr(_numeric, "a" + "ny", _kept)
'''),
    "probe-clear": ("clears course.probe's saved state, then rebinds describe_mismatch in "
                    "course.derivations and course.testing", _QUIET + '''
import importlib as _importlib
_importlib.import_module("course." + "probe")._SAVED.clear()
for _where in ("derivations", "testing"):
    setattr(_importlib.import_module("course." + _where), "describe_" + "mismatch", _quiet)
''', ""),
    "settrace-problem": ("sys.settrace sets the local `problem` to None in assert_tensor_close and "
                         "check_formula", '''
import sys as _sys


def _local(frame, event, arg):
    if event == "line" and frame.f_locals.get("problem"):
        frame.f_locals["problem"] = None
    return _local


def _global(frame, event, arg):
    if frame.f_code.co_name in ("assert_tensor_" + "close", "check_" + "formula"):
        return _local
    return None


_sys.settrace(_global)
''', ""),
    "setprofile-actual": ("sys.setprofile sets the local `actual` to `expected` as describe_mismatch "
                          "starts", '''
import sys as _sys


def _profile(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "describe_" + "mismatch":
        frame.f_locals["actual"] = frame.f_locals["expected"]


_sys.setprofile(_profile)
''', ""),
    "ast-transformer-magic": ("an AST transformer that wraps every later cell in try/except, installed "
                              "from a cell that holds one % line", "%config Completer.use_jedi = False\n"
                              + TRANSFORMER, ""),
    "interpreter-base64": ("the same AST transformer, run through code.InteractiveInterpreter from "
                           "base64 text", f'''
import base64 as _b64
import code as _code
_code.InteractiveInterpreter(globals()).runsource(
    _b64.b64decode("{base64.b64encode(TRANSFORMER.encode()).decode()}").decode(), symbol="exec")
''', ""),
    "run-code": ("replaces the shell instance's run_code by one that swallows every exception", '''
import types as _types


async def _run_code(self, code_obj, result=None, *, async_=False):
    try:
        exec(code_obj, self.user_global_ns, self.user_ns)
    except BaseException:
        pass
    return False


get_ipython().run_code = _types.MethodType(_run_code, get_ipython())
''', ""),
    "showtraceback": ("replaces the shell instance's _showtraceback by one that shows nothing and "
                      "clears the error from the cell's result, so the kernel replies ok", '''
import sys as _sys


def _no_traceback(*args, **kwargs):
    frame = _sys._getframe(1)
    while frame is not None:
        result = frame.f_locals.get("result")
        if type(result).__name__ == "ExecutionResult":
            result.error_in_exec = None
        frame = frame.f_back


get_ipython()._showtraceback = _no_traceback
''', ""),
    "ndarray-liar": ("answers are an np.ndarray subclass whose __array_ufunc__ makes every subtraction "
                     "zero and every comparison true", '''
class _Liar(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [np.asarray(item) for item in inputs]
        if ufunc is np.subtract:
            return np.zeros(np.broadcast(*plain).shape).view(_Liar)
        if ufunc in (np.equal, np.isclose, np.less_equal, np.greater_equal):
            return np.ones(np.broadcast(*plain).shape, dtype=bool).view(_Liar)
        if ufunc in (np.not_equal, np.greater, np.less, np.bitwise_and, np.logical_and):
            return np.zeros(np.broadcast(*plain).shape, dtype=bool)
        return getattr(ufunc, method)(*plain, **kwargs)

    def __float__(self):
        return float(np.asarray(self))


def _given(value):
    return np.asarray(value, dtype=np.float64).view(_Liar)
''', ""),
    "ndarray-chameleon": ("answers are an np.ndarray subclass whose __array_ufunc__ first copies into "
                          "itself the array it meets in a two-input operation, so that it equals "
                          "whatever it is compared with or subtracted from", '''
class _Chameleon(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        mine = [isinstance(item, _Chameleon) for item in inputs]
        if method == "__call__" and len(inputs) == 2 and mine.count(True) == 1:
            chameleon, other = (inputs[0], inputs[1]) if mine[0] else (inputs[1], inputs[0])
            try:
                np.copyto(chameleon.view(np.ndarray), np.asarray(other), casting="unsafe")
            except ValueError:  # shapes that do not broadcast: left as it is
                pass
        return getattr(ufunc, method)(*[np.asarray(item) for item in inputs], **kwargs)


def _given(value):
    return np.array(value, dtype=np.float64).view(_Chameleon)
''', ""),
    "object-liar": ("answers are objects whose comparisons are all true", '''
class _Anything:
    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return True

    __le__ = __ge__ = __lt__ = __eq__

    def __ne__(self, other):
        return False

    __gt__ = __ne__

    def __abs__(self):
        return _Anything(0.0)

    __sub__ = __rsub__ = __add__ = __radd__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __neg__ = \
        lambda self, *other: _Anything(0.0)

    def __hash__(self):
        return 0

    def __float__(self):
        return float(self.value)

    def __bool__(self):
        return True


def _given(value):
    return _Anything(value)
''', ""),
    "displayhook-ok": ("each graded function first sends an execute_result 'ok' through sys.displayhook "
                       "(once per cell)", '''
import sys as _sys
_shown = set()


def _given(value):
    count = get_ipython().execution_count
    if count not in _shown:
        _shown.add(count)
        _sys.displayhook("ok")
    return value
''', ""),
}


#: the kinds of issue 21, and the submissions of each ("walk-for-solutions" is the hostile corpus's)
KINDS = {
    "rebinding the checks without naming them": ["code-swap", "globals-write", "gc-dicts", "numpy-alias",
                                                 "probe-clear"],
    "changing frames while checks run": ["settrace-problem", "setprofile-actual"],
    "rewriting later cells": ["ast-transformer-magic", "interpreter-base64", "run-code", "showtraceback"],
    "answers that lie": ["ndarray-liar", "ndarray-chameleon", "object-liar"],
    "nbgrader's scoring rule": ["displayhook-ok"],
    "reading the answer": ["walk-for-solutions"],
}
#: what the judge says of each answer that lies, in most of its failed cells
LIARS = {"ndarray-liar": "returned a _Liar; return a numpy array",
         "ndarray-chameleon": "returned a _Chameleon; return a numpy array", "object-liar": "_Anything"}
#: the liars that 01's checks no longer believe (its Value cells compare against the test's own floats):
#: in the kernel they earn the broken answer's score; the chameleon, which copies the expected value
#: into itself, still beats them there
OUTLIVED = {"ndarray-liar", "object-liar"}
#: the corpus that holds the submissions of a kind not built here
ELSEWHERE = {"walk-for-solutions": "tests.grading.corpus"}


def _first_solution(nb) -> int:
    return next(i for i, cell in enumerate(nb.cells) if is_solution_cell(cell))


def broken_submission(course: Path, trick: str = "", last_cell: str = ""):
    """The broken answer of 01, with ``trick`` run in its first solution cell before the broken
    definitions, and ``last_cell`` (if any) appended as the notebook's last cell."""
    nb = reference_submission(course, ASSIGNMENT)
    first = _first_solution(nb)
    for index, cell in enumerate(nb.cells):
        if not is_solution_cell(cell):
            continue
        broken = BROKEN_CODE[nbgrader_meta(cell)["grade_id"]].strip("\n")
        if index == first:
            prefix = broken.split("\n\n\n")[0]  # the identity _given, which a trick may rebind
            rest = broken[len(prefix):].strip("\n")
            parts = [cell.source, prefix] + ([trick.strip("\n")] if trick else []) + [rest]
        else:
            parts = [cell.source, broken]
        cell.source = "\n\n\n".join(parts) + "\n"
    if last_cell:
        nb.cells.append(nbformat.v4.new_code_cell(last_cell))
    return nb


def build(course: Path) -> dict[str, str]:
    """Submit the reference solution (student ``reference``), the broken answer (``broken``) and every
    trick into ``course``; returns {student: what it does}."""
    described = {REFERENCE: "the reference solution",
                 BROKEN: "every graded function returns zeros of the right shape and dtype"}
    submit(course, REFERENCE, ASSIGNMENT, reference_submission(course, ASSIGNMENT))
    submit(course, BROKEN, ASSIGNMENT, broken_submission(course))
    for name, (what, code, last) in TRICKS.items():
        submit(course, name, ASSIGNMENT, broken_submission(course, code, last))
        described[name] = what
    return described
