"""The judge's channel: values by value, student objects behind handles, nothing pickled, bounded."""

import copy
import io
import math
import pickle
import socket
import threading
import time
import warnings
from fractions import Fraction

import numpy as np
import pytest

from course.channel_codec import ChannelError, NotPlainData, decode, encode, send_frame
from course.derivations import check_formula
from course.testing import checked_call
from grader.judge.channel import CallTimeout, Channel, KernelLost, Limits
from grader.judge.remote import CannotSend, NotPlainResult, Remote
from grader.judge.subprocess_kernel import SubprocessKernel

STUDENT = '''
import threading
import time
import warnings
import numpy as np

class Value:
    def __init__(self, data):
        self.data = data
        self.grad = 0.0
    def _wrap(self, other):
        return other if isinstance(other, Value) else Value(other)
    def __add__(self, other):
        return Value(self.data + self._wrap(other).data)
    def __radd__(self, other):
        return self + other
    def __mul__(self, other):
        return Value(self.data * self._wrap(other).data)
    def __rmul__(self, other):
        return self * other
    def __pow__(self, k):
        return Value(self.data ** k)
    def __neg__(self):
        return self * -1
    def __truediv__(self, other):
        return self * self._wrap(other) ** -1
    def __rtruediv__(self, other):
        return self._wrap(other) * self ** -1
    def __repr__(self):
        return f"Value(data={self.data})"

class MyArray(np.ndarray):
    pass

class Model:
    def __init__(self):
        self.params = {"W1": np.ones((2, 2)), "b1": np.zeros(2)}
    def loss(self, x):
        return float(np.sum(x @ self.params["W1"] + self.params["b1"]))

def relu_forward(x):
    return np.maximum(x, 0), x

def relu_in_place(x):
    x[x < 0] = 0.0
    return x

def overflowing(x):
    return np.exp(x)

def as_subclass(x):
    return x.view(MyArray)

def as_objects(x):
    return np.array([x, None], dtype=object)

class Lying(float):
    def __eq__(self, other):
        return True

def lying_number():
    return Lying(1.0)

def everything():
    from fractions import Fraction
    return (None, True, 3, 2.5, 1 + 2j, "text", np.float32(1.5), np.int64(-7), np.bool_(True),
            [np.arange(3), {"k": np.zeros((2, 0))}], {1: "one", (2, 3): b"x" == b"x"},
            Fraction(-1, 3), {(0, 1), (1, 1)}, frozenset({2}))

def in_main_thread():
    return threading.current_thread() is threading.main_thread()

def talkative():
    print("to stdout")
    warnings.warn("careful", UserWarning)
    return 1

def raises_value_error():
    raise ValueError("bad shape", 3)

class MyError(Exception):
    pass

def raises_own():
    raise MyError("mine")

def spin():
    while True:
        pass

def pause(seconds):
    time.sleep(seconds)

def spin_deaf():
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        pass

def huge():
    return np.zeros(10**6)

def die():
    import os
    os._exit(3)

class Pointer:
    def __init__(self, address, count):
        self.__array_interface__ = {"shape": (count,), "typestr": "<f8", "data": (address, True),
                                    "version": 3}

def pointing_at(address, count):
    return Pointer(address, count)

class Agreeable:
    def __eq__(self, other):
        return True

    __le__ = __ge__ = __lt__ = __gt__ = __eq__

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

def agreeable():
    return Agreeable()
'''


@pytest.fixture(scope="module")
def kernel():
    with SubprocessKernel([("student", STUDENT)]) as started:
        yield started


@pytest.fixture
def remote(kernel):
    return kernel.remote


def test_plain_values_round_trip_with_their_exact_types(remote):
    got = remote.lookup("everything")()
    assert got[:6] == (None, True, 3, 2.5, 1 + 2j, "text")
    kinds = [type(None), bool, int, float, complex, str, np.float32, np.int64, np.bool_]
    assert [type(v) for v in got[:9]] == kinds
    arrays, dicts = got[9]
    assert type(arrays) is np.ndarray and arrays.tolist() == [0, 1, 2]
    assert dicts["k"].shape == (2, 0)
    assert got[10] == {1: "one", (2, 3): True}
    assert [type(v) for v in got[11:]] == [Fraction, set, frozenset]
    assert got[11:] == (Fraction(-1, 3), {(0, 1), (1, 1)}, frozenset({2}))


def test_arrays_come_back_as_exact_writable_ndarrays(remote):
    out, cache = remote.lookup("relu_forward")(np.array([-1.0, 2.0]))
    assert type(out) is np.ndarray and out.tolist() == [0.0, 2.0] and out.flags.writeable
    assert cache.tolist() == [-1.0, 2.0]


def test_value_handles_forward_every_operator_and_isinstance(remote):
    Value = remote.lookup("Value")
    a = Value(2.0)
    assert (a + 1).data == 3.0 and (1 + a).data == 3.0 and (a * 3).data == 6.0
    assert (1 / a).data == 0.5 and (-a).data == -2.0 and (a ** 3).data == 8.0
    assert isinstance(a + 1, Value) and isinstance(1 + a, Value) and not isinstance(3, Value)
    assert type(a).__name__ == "Value" and repr(a) == "Value(data=2.0)"
    a.grad = 5.0
    assert a.grad == 5.0
    assert remote.lookup("Value") is Value, "one kernel object is one handle"


def test_a_call_runs_in_the_kernels_main_thread(remote):
    assert remote.lookup("in_main_thread")() is True


def test_in_place_changes_reach_the_callers_array_and_checked_call_names_them(remote):
    x = np.array([-1.0, 2.0])
    result = remote.lookup("relu_in_place")(x)
    assert x.tolist() == [0.0, 2.0] and result is x
    with pytest.raises(AssertionError, match="it now holds the array the function returned"):
        checked_call(remote.lookup("relu_in_place"), np.array([-1.0, 2.0]), name="relu_forward")


def test_warnings_are_raised_again_in_the_judge_and_errstate_travels(remote):
    overflowing = remote.lookup("overflowing")
    with pytest.raises(AssertionError, match="raised a RuntimeWarning: overflow encountered in exp"):
        checked_call(overflowing, np.array([1000.0]), name="sigmoid_forward")
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        overflowing(np.array([1000.0]))
    with np.errstate(over="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isinf(overflowing(np.array([1000.0]))[0])


def test_what_a_call_prints_and_warns_is_shown_in_the_judge(remote, capsys):
    with pytest.warns(UserWarning, match="careful"):
        assert remote.lookup("talkative")() == 1
    assert capsys.readouterr().out == "to stdout\n"
    assert remote.last_facts["warnings"][0][:3] == ("UserWarning", True, "careful")


def test_exceptions_keep_their_class_name_and_message(remote):
    with pytest.raises(ValueError) as error:
        remote.lookup("raises_value_error")()
    assert error.value.args == ("bad shape", 3)
    with pytest.raises(Exception, match="mine") as error:
        remote.lookup("raises_own")()
    assert type(error.value).__name__ == "MyError"
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        getattr(remote.lookup("Value")(1.0), "missing")  # noqa: B009 - the forwarded lookup is tested
    with pytest.raises(NameError):
        remote.lookup("not_defined")


def test_array_subclasses_and_object_arrays_are_refused_with_a_clear_message(remote):
    with pytest.raises(NotPlainResult, match=r"^relu_forward returned a MyArray; return a numpy array$"):
        _renamed(remote, "as_subclass", "relu_forward")(np.ones(2))
    with pytest.raises(NotPlainResult, match="returned an array of dtype object; return an array of numbers"):
        remote.lookup("as_objects")(np.ones(2))
    with pytest.raises(NotPlainResult, match="^lying_number returned a Lying; return numbers, strings"):
        remote.lookup("lying_number")()


def test_a_kernel_object_never_makes_the_judge_read_its_own_memory(remote):
    """``np.asarray`` views the memory an ``__array_interface__`` names, in the process that converts:
    a kernel object naming the judge's array (or any address: a crash) must not become that array."""
    expected = np.array([3.25, -7.5, 11.0])
    points = [{"address": expected.ctypes.data, "count": expected.size}] * 2
    with pytest.raises(AssertionError, match="returned a Pointer at point 0"):
        check_formula(remote.lookup("pointing_at"), [expected, expected], points, name="pointing_at")
    pointer = remote.lookup("pointing_at")(expected.ctypes.data, expected.size)
    assert not hasattr(pointer, "__array_interface__") and not hasattr(pointer, "__array_struct__")
    assert np.asarray(pointer).dtype == object


def test_a_kernel_object_s_comparisons_are_not_believed(remote):
    """``assert layer.forward(3.0, -4.0) == -12.0`` must not pass on the student's ``__eq__``: a handle
    equals only itself and has no order, as the reference solutions' classes (which define no
    comparison) behave in one process."""
    liar = remote.lookup("agreeable")()
    assert not liar == -12.0 and liar != -12.0 and (liar, 1.0) != (-12.0, 1.0)
    assert liar == liar and liar in [liar]
    with pytest.raises(TypeError):
        liar < 1.0  # noqa: B015 - the comparison itself is tested
    Value = remote.lookup("Value")
    a = Value(2.0)
    assert a == a and a != Value(2.0) and (a + 1).data == 3.0


def _renamed(remote, name, label):
    handle = remote.lookup(name)
    object.__setattr__(handle, "_judge_label", label)
    return handle


def test_params_read_from_a_model_write_through_to_the_kernel(remote):
    model = remote.lookup("Model")()
    x = np.ones((1, 2))
    assert isinstance(model.params, dict) and sorted(model.params) == ["W1", "b1"]
    assert model.loss(x) == 4.0
    model.params["W1"][...] = 2.0  # written into the judge's copy, then into the kernel's array
    assert model.loss(x) == 8.0
    model.params["b1"] = np.ones(2)
    assert model.loss(x) == 10.0
    kept = copy.deepcopy(model.params)
    assert type(kept) is dict
    kept["W1"][...] = 0.0  # a copy is the judge's own
    assert model.loss(x) == 10.0


def test_judge_objects_are_not_sent_to_the_kernel(remote):
    with pytest.raises(CannotSend, match="^cannot pass a function to relu_forward: only numbers"):
        remote.lookup("relu_forward")(lambda v: v)
    with pytest.raises(TypeError):
        remote.lookup("Value")(1.0) + object()


def test_a_call_over_its_time_limit_is_interrupted_and_the_kernel_still_answers(kernel):
    remote = kernel.remote
    remote.channel.limits = Limits(call_seconds=0.5)
    try:
        with pytest.raises(CallTimeout, match="longer than 0.5 s"):
            remote.lookup("spin")()
        assert remote.lookup("relu_forward")(np.array([1.0]))[0].tolist() == [1.0]
    finally:
        remote.channel.limits = Limits()


def test_a_kernel_that_ignores_the_interrupt_costs_only_later_calls():
    with SubprocessKernel([("student", STUDENT)], Limits(call_seconds=0.5, grace_seconds=0.5)) as kernel:
        with pytest.raises(CallTimeout):
            kernel.remote.lookup("spin_deaf")()
        with pytest.raises(KernelLost, match="did not stop when interrupted"):
            kernel.remote.lookup("relu_forward")


def test_a_kernel_that_dies_or_answers_too_much_is_lost():
    with SubprocessKernel([("student", STUDENT)], Limits(reply_bytes=1_000_000)) as kernel:
        with pytest.raises(KernelLost, match="more than the limit"):
            kernel.remote.lookup("huge")()
        with pytest.raises(KernelLost):
            kernel.remote.lookup("relu_forward")
    with SubprocessKernel([("student", STUDENT)]) as kernel:
        with pytest.raises(KernelLost):
            kernel.remote.lookup("die")()


# -- the decoder against a forged kernel ---------------------------------------------------------------
def _npy(array, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _array_frame(npy: bytes) -> bytes:
    return b"a" + len(npy).to_bytes(4, "big") + npy


def test_the_decoder_refuses_pickled_data():
    with pytest.raises(ChannelError):
        decode(pickle.dumps(np.arange(3)))
    with pytest.raises(ChannelError):
        decode(_array_frame(_npy(np.array([{"a": 1}], dtype=object), allow_pickle=True)))


def test_the_decoder_refuses_object_string_and_structured_dtypes():
    for array in (np.array(["a", "b"]), np.zeros(2, dtype=[("x", "f8")]), np.array(["2020-01-01"], "M8[D]")):
        with pytest.raises(ChannelError):
            decode(_array_frame(_npy(array)))
    with pytest.raises(ChannelError):
        decode(b"n" + bytes([3]) + b"|O8" + (8).to_bytes(4, "big") + bytes(8))


def test_the_decoder_refuses_malformed_frames():
    good = encode((1, np.ones(2)))
    for bad in (good + b"x", good[:-1], b"Z", b"t" + (5).to_bytes(4, "big")):
        with pytest.raises(ChannelError):
            decode(bad)
    # numpy's own .npy bytes are read too, and equal what the encoder writes
    assert decode(_array_frame(_npy(np.arange(6.0).reshape(2, 3)))).tolist() == [[0, 1, 2], [3, 4, 5]]
    assert _npy(np.arange(6.0).reshape(2, 3)) == encode(np.arange(6.0).reshape(2, 3))[5:]


def test_the_encoder_refuses_array_subclasses_and_object_arrays():
    with pytest.raises(NotPlainData, match="an array subclass"):
        encode(np.ma.masked_array([1.0]))
    with pytest.raises(NotPlainData, match=r"item 1 of the tuple.*dtype object"):
        encode((1, np.array([None], dtype=object)))


def test_the_encoder_refuses_subclasses_wherever_they_sit():
    """A subclass lies about what it is (``__array_ufunc__``, ``__eq__``): refused, even deep in a result."""

    class Liar(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            return np.zeros(np.broadcast(*[np.asarray(i) for i in inputs]).shape)

    class Scalar(np.float64):
        pass

    with pytest.raises(NotPlainData, match=r"a Liar \(item 'apple' of the dict of item 1 of the tuple\)"):
        encode((0.0, {"apple": np.zeros(2).view(Liar)}))
    for value in (Scalar(1.0), [np.float64(1.0), Scalar(2.0)]):
        with pytest.raises(NotPlainData):
            encode(value)


def test_a_forged_reply_of_pickle_loses_the_kernel_and_unpickles_nothing():
    judge_end, kernel_end = socket.socketpair()
    unpickled = []

    class Trap:
        def __reduce__(self):
            return (unpickled.append, ("ran",))

    def forged_kernel():
        judge_end_request = kernel_end.recv(65536)
        assert judge_end_request
        send_frame(kernel_end, pickle.dumps(("ok", Trap(), {})))

    thread = threading.Thread(target=forged_kernel)
    thread.start()
    remote = Remote(Channel(judge_end, limits=Limits(call_seconds=5)))
    with pytest.raises(KernelLost, match="broke the channel"):
        remote.lookup("anything")
    thread.join()
    kernel_end.close()
    assert unpickled == []


def test_a_kernel_that_trickles_its_reply_is_stopped_at_the_call_limit():
    judge_end, kernel_end = socket.socketpair()

    def trickling_kernel():
        kernel_end.recv(65536)
        reply = encode(("ok", 1, {}))
        frame = len(reply).to_bytes(4, "big") + reply
        for byte in frame:
            try:
                kernel_end.sendall(bytes([byte]))
            except OSError:
                return
            time.sleep(0.2)

    thread = threading.Thread(target=trickling_kernel)
    thread.start()
    remote = Remote(Channel(judge_end, limits=Limits(call_seconds=0.5)))
    started = time.monotonic()
    with pytest.raises(CallTimeout):
        remote.lookup("anything")
    assert time.monotonic() - started < 1.5
    with pytest.raises(KernelLost):
        remote.lookup("anything")
    kernel_end.close()
    thread.join()


def test_the_calls_of_one_test_cell_share_one_time_limit(kernel):
    """Calls each under the per-call limit still stop at the cell's: a kernel that answers every call
    just in time cannot stall the judge for a call limit per call."""
    remote = kernel.remote
    remote.channel.limits = Limits(call_seconds=5, cell_seconds=0.6)
    remote.channel.cell_deadline = time.monotonic() + 0.6
    try:
        pause = remote.lookup("pause")
        pause(0.4)
        with pytest.raises(CallTimeout, match="the test cell's calls .* longer than 0.6 s together"):
            pause(0.4)
        remote.channel.cell_deadline = None  # the next cell: the kernel answers again
        assert remote.lookup("relu_forward")(np.array([1.0]))[0].tolist() == [1.0]
    finally:
        remote.channel.limits = Limits()
        remote.channel.cell_deadline = None
