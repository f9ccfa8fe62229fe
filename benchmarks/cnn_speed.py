"""Speed of notebook 07's CNN: the im2col convolution against PyTorch, and training to 97 %.

Usage (from the repository root)::

    .venv/bin/python benchmarks/cnn_speed.py [--repeats 200] [--seeds 3]

Prints figures, asserts nothing. The implementations are the reference solutions of
``source/07_cnn/07_cnn.ipynb``, executed in-process the way the tests load them.

1. ``conv2d_forward_fast`` + ``conv2d_backward_fast`` (numpy) against ``torch.nn.functional
   .conv2d`` forward + autograd backward (CPU, float64) on the notebook's shapes; the goal is
   numpy within 2x of PyTorch. Skipped when PyTorch is not installed.
2. ``SimpleCNN`` trained by ``train`` (plain minibatch SGD) on the shipped UCI digits, the way
   the notebook's full run trains it (16 filters, lr 0.1, batches of 32, 30 epochs, one
   ``train`` call per epoch; seed 0 is exactly the notebook's run); the goal is at least 97 %
   held-out test accuracy in at most 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("COURSE_STATIC_WIDGETS", "1")

import numpy as np  # noqa: E402

from course.digits import load_digits_split  # noqa: E402
from tests.notebooks import fresh_namespace, notebook_parts  # noqa: E402

# (label, x shape, w shape, pad): a training batch, and the whole training set at once
CONV_SHAPES = [
    ("training batch", (32, 1, 8, 8), (8, 1, 3, 3), 1),
    ("whole training set", (1438, 1, 8, 8), (8, 1, 3, 3), 1),
    ("wider net, 16 filters", (32, 1, 8, 8), (16, 1, 3, 3), 1),
]


def load_average() -> str:
    try:
        return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "load average unknown"


def cpu_description() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} logical cores, {model}"


def timed(func, repeats: int) -> float:
    """Median wall time of ``func()`` over ``repeats`` calls, after two warm-up calls."""
    func()
    func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _numpy_step(forward, backward, x, w, b, pad, dout):
    _, cache = forward(x, w, b, 1, pad)
    backward(dout, cache)


def _torch_step(torch, xt, wt, bt, pad, dout_t):
    out_t = torch.nn.functional.conv2d(xt, wt, bt, padding=pad)
    torch.autograd.grad(out_t, (xt, wt, bt), dout_t)


def bench_conv(ns: dict, repeats: int) -> None:
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: the convolution comparison is skipped.")
        return
    forward, backward = ns["conv2d_forward_fast"], ns["conv2d_backward_fast"]
    print(f"convolution forward + backward, float64, median of {repeats} runs "
          f"(numpy {np.__version__}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} torch threads)")
    print(f"{'shape':<24}{'x':>18}{'w':>16}{'numpy ms':>10}{'torch ms':>10}{'ratio':>8}")
    rng = np.random.default_rng(0)
    for label, x_shape, w_shape, pad in CONV_SHAPES:
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        b = rng.standard_normal(w_shape[0])
        out, _ = forward(x, w, b, 1, pad)
        dout = rng.standard_normal(out.shape)

        xt = torch.tensor(x, requires_grad=True)
        wt = torch.tensor(w, requires_grad=True)
        bt = torch.tensor(b, requires_grad=True)
        numpy_step = functools.partial(_numpy_step, forward, backward, x, w, b, pad, dout)
        torch_step = functools.partial(_torch_step, torch, xt, wt, bt, pad, torch.tensor(dout))
        t_numpy, t_torch = timed(numpy_step, repeats), timed(torch_step, repeats)
        print(f"{label:<24}{str(x_shape):>18}{str(w_shape):>16}{1e3 * t_numpy:>10.3f}"
              f"{1e3 * t_torch:>10.3f}{t_numpy / t_torch:>7.2f}x")
    print("ratio = numpy time / PyTorch time (goal: at most 2x)")


def bench_training(ns: dict, seeds: int) -> None:
    SimpleCNN, train = ns["SimpleCNN"], ns["train"]
    digits = load_digits_split(test_fraction=0.2, seed=0)
    mean, std = digits.x_train.mean(), digits.x_train.std()
    x_train, x_test = (digits.x_train - mean) / std, (digits.x_test - mean) / std
    config = dict(num_filters=16, filter_size=3)
    epochs, batch_size, lr = 30, 32, 0.1
    print(f"\ntraining SimpleCNN((1, 8, 8), {config}) with train(epochs={epochs}, "
          f"batch_size={batch_size}, lr={lr}) on {len(digits.y_train)} digits, "
          f"testing on {len(digits.y_test)} held-out digits (goal: >= 97 % in <= 60 s)")
    for seed in range(seeds):
        model = SimpleCNN((1, 8, 8), seed=seed, **config)
        losses = []
        start = time.perf_counter()
        for epoch in range(epochs):
            # one call per epoch, with the shuffling seeds of the notebook's run for seed 0
            history = train(model, x_train, digits.y_train, 1, batch_size, lr,
                            seed=1000 * seed + epoch)
            losses += history["loss"]
        seconds = time.perf_counter() - start
        accuracy = np.mean(model.predict(x_test) == digits.y_test)
        steps_per_epoch = len(losses) // epochs
        print(f"seed {seed}: test accuracy {accuracy:.1%}, {len(losses)} steps in "
              f"{seconds:.1f} s, mean training loss of the last epoch "
              f"{np.mean(losses[-steps_per_epoch:]):.4f}")

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=200, help="timed runs per conv shape")
    parser.add_argument("--seeds", type=int, default=3, help="training runs (model/data seeds)")
    args = parser.parse_args()
    print(f"machine: {cpu_description()}; Python {platform.python_version()}; {load_average()}")
    ns = fresh_namespace(notebook_parts("07_cnn"))
    bench_conv(ns, args.repeats)
    bench_training(ns, args.seeds)
    print(f"done; {load_average()}")


if __name__ == "__main__":
    main()
