"""PyTorch as an outside oracle for every reference layer of notebooks 02-07.

The reference implementations are the source notebooks' setup, solution and given cells,
executed in-process (``tests.notebooks``). Each is compared with PyTorch on CPU in float64,
forward and backward (PyTorch's autograd gives the backward), to 1e-10 relative to the size
of the tensor compared. An assignment whose source notebook does not exist yet is skipped,
and so is the whole module when PyTorch is not installed.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np
import pytest

from tests.notebooks import fresh_namespace, notebook_parts, source_path

torch = pytest.importorskip(
    "torch",
    reason="PyTorch is not installed, so the layers are not compared with it "
    "(install it with: .venv/bin/pip install torch==2.13.0)",
)
F = torch.nn.functional

RTOL = 1e-10


@functools.cache
def _namespace(assignment: str) -> dict:
    return fresh_namespace(notebook_parts(assignment))


def reference(assignment: str) -> dict:
    """The names defined by the setup, solution and given cells of ``assignment``."""
    if not source_path(assignment).exists():
        pytest.skip(f"source/{assignment}/{assignment}.ipynb does not exist yet")
    return _namespace(assignment)


def leaf(array: np.ndarray):
    """A float64 torch tensor that records gradients, holding a copy of ``array``."""
    return torch.tensor(np.array(array, dtype=np.float64), requires_grad=True)


def to_numpy(value) -> np.ndarray:
    if torch.is_tensor(value):
        return value.detach().numpy()
    return np.asarray(value, dtype=np.float64)


def assert_agrees(ours, theirs, name: str) -> None:
    """``ours`` equals PyTorch's ``theirs`` to RTOL, relative to the largest entry of ``theirs``."""
    theirs = to_numpy(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, f"{name}: shape {ours.shape}, PyTorch gives {theirs.shape}"
    scale = float(np.max(np.abs(theirs))) if theirs.size else 0.0
    worst = float(np.max(np.abs(ours.astype(np.float64) - theirs))) if theirs.size else 0.0
    assert worst <= RTOL * max(scale, 1e-300), (
        f"{name}: largest difference from PyTorch {worst:.3e} for entries up to {scale:.3e} "
        f"(relative {worst / max(scale, 1e-300):.2e}, allowed {RTOL:g})"
    )


def backward_of(output, upstream: np.ndarray, *inputs):
    """Gradients of ``sum(output * upstream)`` with respect to ``inputs`` (a VJP)."""
    output.backward(torch.tensor(upstream, dtype=torch.float64))
    return [x.grad for x in inputs]


def rng_for(name: str) -> np.random.Generator:
    """A generator seeded by the test's own label, so each case has its own fixed data."""
    return np.random.default_rng(zlib.crc32(name.encode()))


# ----------------------------------------------------------------------- 02_activations


@pytest.mark.parametrize(
    "layer, torch_fn",
    [("relu", torch.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh)],
)
def test_activation_matches_torch(layer, torch_fn):
    ns = reference("02_activations")
    rng = rng_for(layer)
    x = rng.uniform(-20, 20, size=(5, 7))
    x[0, :3] = 0.0  # the derivative of ReLU at 0 is 0, in the course and in PyTorch
    dout = rng.standard_normal(x.shape)
    out, cache = ns[f"{layer}_forward"](x)
    dx = ns[f"{layer}_backward"](dout, cache)
    xt = leaf(x)
    out_t = torch_fn(xt)
    (dx_t,) = backward_of(out_t, dout, xt)
    assert_agrees(out, out_t, f"{layer}_forward")
    assert_agrees(dx, dx_t, f"{layer}_backward")


def test_mse_loss_matches_torch():
    ns = reference("02_activations")
    rng = rng_for("mse")
    y, t = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    loss, dy = ns["mse_loss"](y, t)
    yt = leaf(y)
    loss_t = 0.5 * F.mse_loss(yt, torch.tensor(t), reduction="sum") / y.shape[0]
    loss_t.backward()
    assert_agrees(loss, loss_t, "mse_loss")
    assert_agrees(dy, yt.grad, "dy of mse_loss")


def test_cross_entropy_loss_matches_torch():
    ns = reference("02_activations")
    rng = rng_for("cross_entropy")
    logits = rng.standard_normal((6, 5))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    t = np.eye(5)[rng.integers(0, 5, size=6)]
    loss, dp = ns["cross_entropy_loss"](p, t)
    pt = leaf(p)
    loss_t = -(torch.tensor(t) * torch.log(pt)).sum() / p.shape[0]
    loss_t.backward()
    assert_agrees(loss, loss_t, "cross_entropy_loss")
    assert_agrees(dp, pt.grad, "dp of cross_entropy_loss")


# -------------------------------------------------------------------------- 03_softmax


@pytest.mark.parametrize("shape", [(4, 7), (2, 3, 5)])
def test_softmax_matches_torch(shape):
    ns = reference("03_softmax")
    x = 5 * rng_for(f"softmax{shape}").standard_normal(shape)
    assert_agrees(ns["softmax"](x), torch.softmax(torch.tensor(x), dim=-1), f"softmax {shape}")


def test_softmax_of_large_logits_matches_torch():
    ns = reference("03_softmax")
    x = np.array([[1e4, -1e4, 0.0, 9999.0], [-1e4, -1e4, -9990.0, -1e4]])
    assert_agrees(ns["softmax"](x), torch.softmax(torch.tensor(x), dim=-1), "softmax of ±1e4")


def test_softmax_jacobian_matches_torch():
    ns = reference("03_softmax")
    x = rng_for("jacobian").standard_normal(6)
    jacobian_t = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=0),
                                                    torch.tensor(x))
    assert_agrees(ns["softmax_jacobian"](x), jacobian_t, "softmax_jacobian")


def test_softmax_backward_matches_torch():
    ns = reference("03_softmax")
    rng = rng_for("softmax_backward")
    x, dout = rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
    xt = leaf(x)
    y_t = torch.softmax(xt, dim=-1)
    (dx_t,) = backward_of(y_t, dout, xt)
    dx = ns["softmax_backward"](dout, y_t.detach().numpy().copy())
    assert_agrees(dx, dx_t, "softmax_backward")


def test_softmax_cross_entropy_matches_torch():
    ns = reference("03_softmax")
    rng = rng_for("softmax_cross_entropy")
    logits = 3 * rng.standard_normal((7, 5))
    labels = rng.integers(0, 5, size=7)
    loss, dlogits = ns["softmax_cross_entropy"](logits, labels)
    lt = leaf(logits)
    loss_t = F.cross_entropy(lt, torch.tensor(labels))
    loss_t.backward()
    assert_agrees(loss, loss_t, "softmax_cross_entropy")
    assert_agrees(dlogits, lt.grad, "dlogits of softmax_cross_entropy")


# ------------------------------------------------------------------- 04_fully_connected


def test_affine_matches_torch():
    ns = reference("04_fully_connected")
    rng = rng_for("affine")
    x, w, b = rng.standard_normal((5, 7)), rng.standard_normal((7, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((5, 3))
    out, cache = ns["affine_forward"](x, w, b)
    dx, dw, db = ns["affine_backward"](dout, cache)
    xt, wt, bt = leaf(x), leaf(w), leaf(b)
    out_t = xt @ wt + bt
    grads_t = backward_of(out_t, dout, xt, wt, bt)
    assert_agrees(out, out_t, "affine_forward")
    for name, ours, theirs in zip(["dx", "dW", "db"], (dx, dw, db), grads_t, strict=True):
        assert_agrees(ours, theirs, f"{name} of affine_backward")


def test_mlp_matches_torch():
    ns = reference("04_fully_connected")
    rng = rng_for("mlp")
    sizes = [7, 6, 5, 3]
    params = {}
    for k, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        params[f"W{k}"] = rng.standard_normal((d_in, d_out)) / np.sqrt(d_in)
        params[f"b{k}"] = 0.1 * rng.standard_normal(d_out)
    x = rng.standard_normal((4, 7))
    dscores = rng.standard_normal((4, 3))
    scores, cache = ns["mlp_forward"](x, {k: v.copy() for k, v in params.items()})
    grads = ns["mlp_backward"](dscores, cache)
    tensors = {k: leaf(v) for k, v in params.items()}
    hidden = torch.tensor(x)
    layers = len(sizes) - 1
    for k in range(1, layers + 1):
        hidden = hidden @ tensors[f"W{k}"] + tensors[f"b{k}"]
        if k < layers:
            hidden = torch.relu(hidden)
    backward_of(hidden, dscores)
    assert_agrees(scores, hidden, "mlp_forward")
    assert set(grads) == set(params), "mlp_backward returns the keys of params"
    for key, tensor in tensors.items():
        assert_agrees(grads[key], tensor.grad, f"{key} of mlp_backward")


# --------------------------------------------------------------------------- 05_maxpool


@pytest.mark.parametrize(
    "shape, pool, stride",
    [((2, 3, 6, 8), 2, 2), ((2, 2, 7, 5), (3, 2), 1), ((1, 3, 8, 7), 3, 3), ((2, 1, 5, 9), 3, 2)],
)
def test_maxpool_matches_torch(shape, pool, stride):
    ns = reference("05_maxpool")
    rng = rng_for(f"maxpool{shape}{pool}{stride}")
    x = rng.standard_normal(shape)
    out, cache = ns["maxpool_forward"](x, pool=pool, stride=stride)
    dout = rng.standard_normal(out.shape)
    dx = ns["maxpool_backward"](dout, cache)
    xt = leaf(x)
    out_t = F.max_pool2d(xt, kernel_size=pool, stride=stride)
    (dx_t,) = backward_of(out_t, dout, xt)
    assert_agrees(out, out_t, f"maxpool_forward pool={pool} stride={stride}")
    assert_agrees(dx, dx_t, f"maxpool_backward pool={pool} stride={stride}")


def test_maxpool_ties_go_to_the_first_maximum_as_in_torch():
    ns = reference("05_maxpool")
    rng = rng_for("maxpool ties")
    x = rng.integers(0, 3, size=(2, 2, 6, 6)).astype(np.float64)  # many exact ties
    out, cache = ns["maxpool_forward"](x, pool=2, stride=2)
    dout = rng.standard_normal(out.shape)
    dx = ns["maxpool_backward"](dout, cache)
    xt = leaf(x)
    (dx_t,) = backward_of(F.max_pool2d(xt, kernel_size=2, stride=2), dout, xt)
    assert_agrees(dx, dx_t, "maxpool_backward with ties")


# ----------------------------------------------------------------------- 06_convolution

CONV_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 1),
    ((2, 2, 8, 7), (3, 2, 3, 2), 2, 0),
    ((1, 3, 9, 8), (2, 3, 3, 3), 3, 2),
    ((3, 1, 5, 5), (2, 1, 5, 5), 1, 2),
]


def _torch_conv(x, w, b, stride, pad, flip=False):
    xt, wt, bt = leaf(x), leaf(w), leaf(b)
    kernel = torch.flip(wt, dims=(2, 3)) if flip else wt
    return (xt, wt, bt), F.conv2d(xt, kernel, bt, stride=stride, padding=pad)


@pytest.mark.parametrize("mode", ["cross_correlation", "convolution"])
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_conv2d_matches_torch(mode, x_shape, w_shape, stride, pad):
    ns = reference("06_convolution")
    rng = rng_for(f"conv{mode}{x_shape}{w_shape}{stride}{pad}")
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out, cache = ns["conv2d_forward"](x, w, b, stride=stride, pad=pad, mode=mode)
    dout = rng.standard_normal(out.shape)
    grads = ns["conv2d_backward"](dout, cache)
    inputs, out_t = _torch_conv(x, w, b, stride, pad, flip=(mode == "convolution"))
    grads_t = backward_of(out_t, dout, *inputs)
    where = f"{mode}, x {x_shape}, w {w_shape}, stride {stride}, pad {pad}"
    assert_agrees(out, out_t, f"conv2d_forward ({where})")
    for name, ours, theirs in zip(["dx", "dw", "db"], grads, grads_t, strict=True):
        assert_agrees(ours, theirs, f"{name} of conv2d_backward ({where})")


# ------------------------------------------------------------------------------ 07_cnn


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_im2col_and_col2im_match_unfold_and_fold(x_shape, w_shape, stride, pad):
    ns = reference("07_cnn")
    rng = rng_for(f"im2col{x_shape}{w_shape}{stride}{pad}")
    x = rng.standard_normal(x_shape)
    kh, kw = w_shape[2:]
    cols = ns["im2col"](x, kh, kw, stride, pad)
    unfolded = F.unfold(torch.tensor(x), (kh, kw), padding=pad, stride=stride)
    assert_agrees(cols, unfolded.permute(0, 2, 1).reshape(cols.shape), "im2col vs unfold")
    c = rng.standard_normal(cols.shape)
    blocks = torch.tensor(c).reshape(x_shape[0], -1, cols.shape[1]).permute(0, 2, 1)
    folded = F.fold(blocks, x_shape[2:], (kh, kw), padding=pad, stride=stride)
    assert_agrees(ns["col2im"](c, x_shape, kh, kw, stride, pad), folded, "col2im vs fold")


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_fast_conv_matches_torch(x_shape, w_shape, stride, pad):
    ns = reference("07_cnn")
    rng = rng_for(f"fast{x_shape}{w_shape}{stride}{pad}")
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out, cache = ns["conv2d_forward_fast"](x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    grads = ns["conv2d_backward_fast"](dout, cache)
    inputs, out_t = _torch_conv(x, w, b, stride, pad)
    grads_t = backward_of(out_t, dout, *inputs)
    assert_agrees(out, out_t, "conv2d_forward_fast")
    for name, ours, theirs in zip(["dx", "dw", "db"], grads, grads_t, strict=True):
        assert_agrees(ours, theirs, f"{name} of conv2d_backward_fast")


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_fast_conv_matches_notebook_06(x_shape, w_shape, stride, pad):
    """The curriculum: the fast convolution gives the results of 06 within 1e-10."""
    fast, slow = reference("07_cnn"), reference("06_convolution")
    rng = rng_for(f"06vs07{x_shape}{w_shape}{stride}{pad}")
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out_fast, cache_fast = fast["conv2d_forward_fast"](x, w, b, stride, pad)
    out_slow, cache_slow = slow["conv2d_forward"](x, w, b, stride=stride, pad=pad)
    dout = rng.standard_normal(out_fast.shape)
    assert_agrees(out_fast, out_slow, "conv2d_forward_fast vs 06 conv2d_forward")
    for name, a, b_ in zip(["dx", "dw", "db"], fast["conv2d_backward_fast"](dout, cache_fast),
                           slow["conv2d_backward"](dout, cache_slow), strict=True):
        assert_agrees(a, b_, f"{name}: conv2d_backward_fast vs 06 conv2d_backward")


@pytest.mark.parametrize(
    "input_shape, num_filters, filter_size, num_classes",
    [((1, 8, 8), 8, 3, 10), ((2, 5, 7), 3, 3, 4), ((3, 6, 9), 2, 5, 3)],
)
def test_simple_cnn_loss_and_gradients_match_torch(input_shape, num_filters, filter_size,
                                                    num_classes):
    ns = reference("07_cnn")
    rng = rng_for(f"cnn{input_shape}{num_filters}{filter_size}")
    model = ns["SimpleCNN"](input_shape, num_filters=num_filters, filter_size=filter_size,
                            num_classes=num_classes, seed=0)
    for key in model.params:  # large enough weights that every layer matters
        model.params[key][...] = rng.standard_normal(model.params[key].shape)
    x = rng.standard_normal((5,) + input_shape)
    y = rng.integers(0, num_classes, size=5)
    loss, grads = model.loss(x, y)
    tensors = {key: leaf(value) for key, value in model.params.items()}
    hidden = F.conv2d(torch.tensor(x), tensors["W1"], tensors["b1"], padding=filter_size // 2)
    hidden = F.max_pool2d(torch.relu(hidden), kernel_size=2, stride=2)
    scores = hidden.reshape(len(y), -1) @ tensors["W2"] + tensors["b2"]
    loss_t = F.cross_entropy(scores, torch.tensor(y))
    loss_t.backward()
    assert_agrees(loss, loss_t, "SimpleCNN.loss")
    for key, tensor in tensors.items():
        assert_agrees(grads[key], tensor.grad, f"grads[{key!r}] of SimpleCNN.loss")
    assert np.array_equal(model.predict(x), scores.argmax(dim=1).numpy()), "SimpleCNN.predict"
