"""Plausible mistakes and correct alternatives for 02_activations.

Each entry redefines one graded name. The cache of a forward/backward pair is
private to the pair, so an entry whose mistake (or alternative) is a different
cache redefines both halves of the pair, under the name of the half that
carries the idea: e.g. "the backward uses x instead of y" is filed under
``sigmoid_backward`` and redefines ``sigmoid_forward`` to cache x.
"""

# ----------------------------------------------------------------------------- ReLU

RELU_FORWARD_MUTANTS = {
    "no_return_statement": '''
def relu_forward(x):
    cache = x
    out = x.copy()
    out[x <= 0] = 0
''',
    "clips_the_input_in_place": '''
def relu_forward(x):
    x[x < 0] = 0
    return x, x
''',
    "np_maximum_with_out_argument": '''
def relu_forward(x):
    out = np.maximum(x, 0, out=x)
    return out, x
''',
    "leaky_slope_by_mistake": '''
def relu_forward(x):
    return np.maximum(x, 0.01 * x), x
''',
    "returns_the_mask_as_output": '''
def relu_forward(x):
    return x > 0, x
''',
    "upcasts_to_float64": '''
def relu_forward(x):
    out = np.maximum(x, 0.0).astype(np.float64)
    return out, x
''',
    "returns_only_the_output": '''
def relu_forward(x):
    return np.maximum(x, 0)
''',
}

RELU_FORWARD_VARIANTS = {
    "np_maximum": '''
def relu_forward(x):
    return np.maximum(x, 0), x
''',
    "copy_and_mask": '''
def relu_forward(x):
    out = x.copy()
    out[x <= 0] = 0
    return out, x
''',
    "multiply_by_mask": '''
def relu_forward(x):
    return x * (x > 0), x
''',
}

RELU_BACKWARD_MUTANTS = {
    "gradient_one_at_zero": '''
def relu_backward(dout, cache):
    x = cache
    return dout * (x >= 0)
''',
    "modifies_dout_in_place": '''
def relu_backward(dout, cache):
    x = cache
    dout[x <= 0] = 0
    dx = dout
    return dx
''',
    "forgets_the_upstream_gradient": '''
def relu_backward(dout, cache):
    x = cache
    return (x > 0).astype(dout.dtype)
''',
    "multiplies_by_the_input": '''
def relu_backward(dout, cache):
    x = cache
    return dout * np.maximum(x, 0)
''',
    "passes_dout_through": '''
def relu_backward(dout, cache):
    return dout.copy()
''',
    "heaviside_half_at_zero": '''
def relu_backward(dout, cache):
    x = cache
    return dout * np.heaviside(x, 0.5)
''',
    "mask_upcast_to_float64": '''
def relu_backward(dout, cache):
    x = cache
    return dout * (x > 0).astype(np.float64)
''',
    "remembers_the_last_input_globally": '''
_last_relu_input = []


def relu_forward(x):
    _last_relu_input[:] = [x]
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    x = _last_relu_input[0]
    return np.where(x > 0, dout, 0).astype(dout.dtype, copy=False)
''',
}

RELU_BACKWARD_VARIANTS = {
    "copy_and_zero": '''
def relu_backward(dout, cache):
    x = cache
    dx = dout.copy()
    dx[x <= 0] = 0
    return dx
''',
    "mask_in_the_cache": '''
def relu_forward(x):
    positive = x > 0
    return np.where(positive, x, 0).astype(x.dtype), positive


def relu_backward(dout, cache):
    return dout * cache
''',
    "output_in_the_cache": '''
def relu_forward(x):
    out = np.maximum(x, 0)
    return out, out


def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0).astype(dout.dtype)
''',
}

# ----------------------------------------------------------------------------- sigmoid

SIGMOID_FORWARD_MUTANTS = {
    "naive_formula_overflows": '''
def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    return out, out
''',
    "mirror_formula_gives_nan": '''
def sigmoid_forward(x):
    e = np.exp(x)
    out = e / (1 + e)
    return out, out
''',
    "both_formulas_inside_np_where": '''
def sigmoid_forward(x):
    out = np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
    return out, out
''',
    "caches_the_input": '''
def sigmoid_forward(x):
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out, x
''',
    "sign_flipped": '''
def sigmoid_forward(x):
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, e / (1 + e), 1 / (1 + e))
    return out, out
''',
    "upcasts_to_float64": '''
def sigmoid_forward(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out, out
''',
    "clips_the_input_in_place": '''
def sigmoid_forward(x):
    np.clip(x, -500, 500, out=x)
    out = 1 / (1 + np.exp(-x))
    return out, out
''',
}

SIGMOID_FORWARD_VARIANTS = {
    "boolean_masks": '''
def sigmoid_forward(x):
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1 + e)
    return out, out
''',
    "via_tanh": '''
def sigmoid_forward(x):
    out = 0.5 * (1 + np.tanh(0.5 * x))
    return out, out
''',
    "numerator_chosen_by_sign": '''
def sigmoid_forward(x):
    e = np.exp(-np.abs(x))
    numerator = np.where(x >= 0, 1, e)
    out = numerator / (1 + e)
    return out, out
''',
}

SIGMOID_BACKWARD_MUTANTS = {
    "uses_x_instead_of_y": '''
def sigmoid_forward(x):
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out, x


def sigmoid_backward(dout, cache):
    x = cache
    return dout * x * (1 - x)
''',
    "forgets_the_upstream_gradient": '''
def sigmoid_backward(dout, cache):
    y = cache
    return y * (1 - y)
''',
    "modifies_dout_in_place": '''
def sigmoid_backward(dout, cache):
    y = cache
    dout *= y * (1 - y)
    return dout
''',
    "exp_form_overflows": '''
def sigmoid_forward(x):
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out, x


def sigmoid_backward(dout, cache):
    x = cache
    return dout * np.exp(-x) / (1 + np.exp(-x)) ** 2
''',
    "drops_the_factor_y": '''
def sigmoid_backward(dout, cache):
    y = cache
    return dout * (1 - y)
''',
    "one_plus_y": '''
def sigmoid_backward(dout, cache):
    y = cache
    return dout * y * (1 + y)
''',
}

SIGMOID_BACKWARD_VARIANTS = {
    "y_minus_y_squared": '''
def sigmoid_backward(dout, cache):
    y = cache
    return dout * (y - y * y)
''',
    "recompute_from_cached_x": '''
def sigmoid_forward(x):
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out, x


def sigmoid_backward(dout, cache):
    y, _ = sigmoid_forward(cache)
    return dout * y * (1 - y)
''',
    "new_array_with_multiply": '''
def sigmoid_backward(dout, cache):
    local = cache * (1 - cache)
    return np.multiply(dout, local)
''',
}

# ----------------------------------------------------------------------------- tanh

TANH_FORWARD_MUTANTS = {
    "exp_formula_overflows": '''
def tanh_forward(x):
    a, b = np.exp(x), np.exp(-x)
    out = (a - b) / (a + b)
    return out, out
''',
    "sinh_over_cosh": '''
def tanh_forward(x):
    out = np.sinh(x) / np.cosh(x)
    return out, out
''',
    "via_naive_sigmoid": '''
def tanh_forward(x):
    out = 2 / (1 + np.exp(-2 * x)) - 1
    return out, out
''',
    "caches_the_input": '''
def tanh_forward(x):
    return np.tanh(x), x
''',
    "in_place_out_argument": '''
def tanh_forward(x):
    out = np.tanh(x, out=x)
    return out, out
''',
    "upcasts_to_float64": '''
def tanh_forward(x):
    out = np.tanh(x.astype(np.float64))
    return out, out
''',
}

TANH_FORWARD_VARIANTS = {
    "stable_exp_of_minus_two_abs": '''
def tanh_forward(x):
    e = np.exp(-2 * np.abs(x))
    out = np.sign(x) * (1 - e) / (1 + e)
    return out, out
''',
    "copy_then_in_place": '''
def tanh_forward(x):
    out = x.copy()
    np.tanh(out, out=out)
    return out, out
''',
}

TANH_BACKWARD_MUTANTS = {
    "one_minus_x_squared": '''
def tanh_forward(x):
    return np.tanh(x), x


def tanh_backward(dout, cache):
    x = cache
    return dout * (1 - x**2)
''',
    "forgets_the_upstream_gradient": '''
def tanh_backward(dout, cache):
    y = cache
    return 1 - y**2
''',
    "bracket_in_the_wrong_place": '''
def tanh_backward(dout, cache):
    y = cache
    return dout * (1 - y) ** 2
''',
    "copied_from_sigmoid": '''
def tanh_backward(dout, cache):
    y = cache
    return dout * y * (1 - y)
''',
    "modifies_dout_in_place": '''
def tanh_backward(dout, cache):
    y = cache
    dout *= 1 - y**2
    return dout
''',
    "sech_squared_overflows": '''
def tanh_forward(x):
    return np.tanh(x), x


def tanh_backward(dout, cache):
    return dout / np.cosh(cache) ** 2
''',
}

TANH_BACKWARD_VARIANTS = {
    "factored": '''
def tanh_backward(dout, cache):
    y = cache
    return dout * (1 - y) * (1 + y)
''',
    "recompute_from_cached_x": '''
def tanh_forward(x):
    return np.tanh(x), x


def tanh_backward(dout, cache):
    return dout * (1 - np.tanh(cache) ** 2)
''',
}

# ----------------------------------------------------------------------------- MSE

MSE_MUTANTS = {
    "no_division_by_batch_size": '''
def mse_loss(y, t):
    diff = y - t
    return 0.5 * np.sum(diff**2), diff
''',
    "mean_over_all_elements": '''
def mse_loss(y, t):
    diff = y - t
    return 0.5 * np.mean(diff**2), diff / diff.size
''',
    "gradient_misses_one_over_n": '''
def mse_loss(y, t):
    diff = y - t
    return 0.5 * np.sum(diff**2) / y.shape[0], diff
''',
    "gradient_sign_flipped": '''
def mse_loss(y, t):
    n = y.shape[0]
    return 0.5 * np.sum((y - t) ** 2) / n, (t - y) / n
''',
    "forgot_the_half_cancels": '''
def mse_loss(y, t):
    n = y.shape[0]
    return 0.5 * np.sum((y - t) ** 2) / n, 2 * (y - t) / n
''',
    "loss_without_the_half": '''
def mse_loss(y, t):
    n = y.shape[0]
    return np.sum((y - t) ** 2) / n, (y - t) / n
''',
    "subtracts_in_place": '''
def mse_loss(y, t):
    n = y.shape[0]
    y -= t
    return 0.5 * np.sum(y**2) / n, y / n
''',
}

MSE_VARIANTS = {
    "mean_of_row_sums": '''
def mse_loss(y, t):
    diff = y - t
    return 0.5 * np.mean(np.sum(diff**2, axis=1)), diff / len(y)
''',
    "loop_over_examples": '''
def mse_loss(y, t):
    n = y.shape[0]
    loss = 0.0
    dy = np.zeros_like(y)
    for i in range(n):
        d = y[i] - t[i]
        loss += 0.5 * float(d @ d)
        dy[i] = d / n
    return loss / n, dy
''',
}

# ----------------------------------------------------------------------------- cross-entropy

CROSS_ENTROPY_MUTANTS = {
    "log_of_zero_gives_nan": '''
def cross_entropy_loss(p, t):
    n = p.shape[0]
    return -np.sum(t * np.log(p)) / n, -t / p / n
''',
    "biased_by_eps": '''
def cross_entropy_loss(p, t):
    n = p.shape[0]
    eps = 1e-7
    return -np.sum(t * np.log(p + eps)) / n, -t / (p + eps) / n
''',
    "clipped_probabilities": '''
def cross_entropy_loss(p, t):
    n = p.shape[0]
    q = np.clip(p, 1e-12, 1.0)
    return -np.sum(t * np.log(q)) / n, -t / q / n
''',
    "gradient_misses_one_over_n": '''
def cross_entropy_loss(p, t):
    n = p.shape[0]
    used = t != 0
    dp = np.zeros_like(p)
    dp[used] = -t[used] / p[used]
    return -np.sum(t[used] * np.log(p[used])) / n, dp
''',
    "loss_summed_not_averaged": '''
def cross_entropy_loss(p, t):
    n = p.shape[0]
    used = t != 0
    dp = np.zeros_like(p)
    dp[used] = -t[used] / p[used] / n
    return -np.sum(t[used] * np.log(p[used])), dp
''',
    "softmax_gradient_by_mistake": '''
def cross_entropy_loss(p, t):
    n = p.shape[0]
    used = t != 0
    return -np.sum(t[used] * np.log(p[used])) / n, (p - t) / n
''',
    "gradient_sign_flipped": '''
def cross_entropy_loss(p, t):
    n = p.shape[0]
    used = t != 0
    dp = np.zeros_like(p)
    dp[used] = t[used] / p[used] / n
    return -np.sum(t[used] * np.log(p[used])) / n, dp
''',
    "mean_over_all_elements": '''
def cross_entropy_loss(p, t):
    used = t != 0
    dp = np.zeros_like(p)
    dp[used] = -t[used] / p[used] / p.size
    return -np.sum(t[used] * np.log(p[used])) / p.size, dp
''',
    "zeros_without_dtype": '''
def cross_entropy_loss(p, t):
    n = p.shape[0]
    used = t != 0
    dp = np.zeros(p.shape)
    dp[used] = -t[used] / p[used] / n
    return -np.sum(t[used] * np.log(p[used])) / n, dp
''',
}

CROSS_ENTROPY_VARIANTS = {
    "ufunc_where_argument": '''
def cross_entropy_loss(p, t):
    n = p.shape[0]
    mask = t > 0
    logp = np.log(p, out=np.zeros_like(p), where=mask)
    dp = np.divide(-t, p * n, out=np.zeros_like(p), where=mask)
    return -np.sum(t * logp) / n, dp
''',
    "index_of_the_true_class": '''
def cross_entropy_loss(p, t):
    n = p.shape[0]
    labels = np.argmax(t, axis=1)
    rows = np.arange(n)
    dp = np.zeros_like(p)
    dp[rows, labels] = -1.0 / (n * p[rows, labels])
    return -np.mean(np.log(p[rows, labels])), dp
''',
    "loop_over_examples": '''
def cross_entropy_loss(p, t):
    n, k = p.shape
    loss = 0.0
    dp = np.zeros_like(p)
    for i in range(n):
        for j in range(k):
            if t[i, j] != 0:
                loss -= t[i, j] * np.log(p[i, j])
                dp[i, j] = -t[i, j] / (n * p[i, j])
    return loss / n, dp
''',
}

MUTANTS = {
    "relu_forward": RELU_FORWARD_MUTANTS,
    "relu_backward": RELU_BACKWARD_MUTANTS,
    "sigmoid_forward": SIGMOID_FORWARD_MUTANTS,
    "sigmoid_backward": SIGMOID_BACKWARD_MUTANTS,
    "tanh_forward": TANH_FORWARD_MUTANTS,
    "tanh_backward": TANH_BACKWARD_MUTANTS,
    "mse_loss": MSE_MUTANTS,
    "cross_entropy_loss": CROSS_ENTROPY_MUTANTS,
}

CORRECT_VARIANTS = {
    "relu_forward": RELU_FORWARD_VARIANTS,
    "relu_backward": RELU_BACKWARD_VARIANTS,
    "sigmoid_forward": SIGMOID_FORWARD_VARIANTS,
    "sigmoid_backward": SIGMOID_BACKWARD_VARIANTS,
    "tanh_forward": TANH_FORWARD_VARIANTS,
    "tanh_backward": TANH_BACKWARD_VARIANTS,
    "mse_loss": MSE_VARIANTS,
    "cross_entropy_loss": CROSS_ENTROPY_VARIANTS,
}

# Mutants whose answer is, by construction, a fixed multiple of the right one; their first failure
# message must name the factor or the sign (course.testing's diagnosis).
# A relation needs two entries with distinct non-zero right values: the mutants whose first failure
# is the loss, a single number that any factor fits, are not listed (mse_loss's
# no_division_by_batch_size, mean_over_all_elements and loss_without_the_half, cross_entropy_loss's
# loss_summed_not_averaged and mean_over_all_elements); their messages give the loss's value and
# relative error instead.
EXACT_RELATIONS = {
    "mse_loss": {
        "gradient_misses_one_over_n": "scale",  # dy N times
        "gradient_sign_flipped": "sign",
        "forgot_the_half_cancels": "scale",    # dy 2 times
    },
    "cross_entropy_loss": {
        "gradient_misses_one_over_n": "scale",  # dp N times
        "gradient_sign_flipped": "sign",
    },
}


# ----------------------------------------------------------------------------- derivation exercises


def _derived(name, args, body):
    """A derivation answer: ``def name(args): return body``."""
    return f"\ndef {name}({args}):\n    return {body}\n"


DERIVATION_MUTANTS = {
    "relu_local_gradient": {
        "slope_one_at_zero": _derived("relu_local_gradient", "x", "(x >= 0).astype(float)"),
        "half_at_zero": _derived("relu_local_gradient", "x", "np.heaviside(x, 0.5)"),
        "relu_itself": _derived("relu_local_gradient", "x", "np.maximum(x, 0.0)"),
        "sign_of_x": _derived("relu_local_gradient", "x", "np.sign(x)"),
    },
    "sigmoid_local_gradient": {
        "drops_the_factor_y": _derived("sigmoid_local_gradient", "y", "1.0 - y"),
        "sign_flipped": _derived("sigmoid_local_gradient", "y", "y * (y - 1.0)"),
        "one_plus_y": _derived("sigmoid_local_gradient", "y", "y * (1.0 + y)"),
        "graph_route_stops_at_y_squared": _derived("sigmoid_local_gradient", "y", "y ** 2"),
    },
    "tanh_local_gradient": {
        "forgets_the_square": _derived("tanh_local_gradient", "y", "1.0 - y"),
        "square_outside": _derived("tanh_local_gradient", "y", "(1.0 - y) ** 2"),
        "copied_from_sigmoid": _derived("tanh_local_gradient", "y", "y * (1.0 - y)"),
        "sign_flipped": _derived("tanh_local_gradient", "y", "y ** 2 - 1.0"),
    },
    "mse_gradient": {
        "misses_one_over_n": _derived("mse_gradient", "y, t", "y - t"),
        "mean_over_all_entries": _derived("mse_gradient", "y, t", "(y - t) / y.size"),
        "forgets_that_the_half_cancels": _derived("mse_gradient", "y, t", "2 * (y - t) / len(y)"),
        "sign_flipped": _derived("mse_gradient", "y, t", "(t - y) / len(y)"),
    },
    "cross_entropy_gradient": {
        "misses_one_over_n": _derived("cross_entropy_gradient", "p, t", "-t / p"),
        "sign_flipped": _derived("cross_entropy_gradient", "p, t", "t / (len(p) * p)"),
        "ignores_the_target": _derived("cross_entropy_gradient", "p, t", "-1.0 / (len(p) * p)"),
        "softmax_gradient_by_mistake": _derived("cross_entropy_gradient", "p, t", "(p - t) / len(p)"),
    },
}

DERIVATION_VARIANTS = {
    "relu_local_gradient": {
        "heaviside_zero_at_zero": _derived("relu_local_gradient", "x", "np.heaviside(x, 0.0)"),
        "mask_times_one": _derived("relu_local_gradient", "x", "1.0 * (x > 0)"),
    },
    "sigmoid_local_gradient": {
        "y_minus_y_squared": _derived("sigmoid_local_gradient", "y", "y - y ** 2"),
        "factors_swapped": _derived("sigmoid_local_gradient", "y", "(1 - y) * y"),
    },
    "tanh_local_gradient": {
        "factored": _derived("tanh_local_gradient", "y", "(1 - y) * (1 + y)"),
        "y_times_y": _derived("tanh_local_gradient", "y", "1 - y * y"),
    },
    "mse_gradient": {
        "times_one_over_n": _derived("mse_gradient", "y, t", "(y - t) * (1.0 / y.shape[0])"),
        "divide_by_len": _derived("mse_gradient", "y, t", "(y - t) / len(y)"),
    },
    "cross_entropy_gradient": {
        "divided_twice": _derived("cross_entropy_gradient", "p, t", "-t / p / p.shape[0]"),
        "only_where_t_is_not_zero": _derived(
            "cross_entropy_gradient", "p, t", "np.where(t != 0, -t / (len(p) * p), 0.0)"),
    },
}

MUTANTS.update(DERIVATION_MUTANTS)
CORRECT_VARIANTS.update(DERIVATION_VARIANTS)
EXACT_RELATIONS.update({
    # several entries with distinct non-zero right values, all in the same relation
    "sigmoid_local_gradient": {"sign_flipped": "sign"},
    "tanh_local_gradient": {"sign_flipped": "sign"},
    "mse_gradient": {
        "misses_one_over_n": "scale",              # N times
        "mean_over_all_entries": "scale",          # 1/K times
        "forgets_that_the_half_cancels": "scale",  # 2 times
        "sign_flipped": "sign",
    },
    "cross_entropy_gradient": {"misses_one_over_n": "scale", "sign_flipped": "sign"},
})
