"""Plausible mistakes and correct variants for 04_fully_connected.

Each source redefines one graded name the way a student might. The mutants
of ``mlp_forward`` and ``mlp_backward`` keep the documented cache format
``(affine_caches, pre_activations)``, so that they pair with the reference
of the other function.
"""

# The derivation exercises (Derive 1 to 3): plausible wrong derivations.
DERIVATION_MUTANTS = {
    "dW_one": {
        "outer_product_transposed": """
def dW_one(x, delta):
    return np.outer(delta, x)
""",
        "sign_flipped": """
def dW_one(x, delta):
    return -np.outer(x, delta)
""",
        "weights_times_delta": """
def dW_one(x, delta):
    return np.outer(np.ones_like(x), delta)
""",
    },
    "db_one": {
        "derivative_of_y_alone": """
def db_one(delta):
    return np.ones_like(delta)
""",
        "summed_to_one_number": """
def db_one(delta):
    return np.sum(delta)
""",
        "averaged_over_outputs": """
def db_one(delta):
    return delta / len(delta)
""",
    },
    "dx_one": {
        "weights_without_delta": """
def dx_one(delta, W):
    return W.sum(axis=1)
""",
        "sign_flipped": """
def dx_one(delta, W):
    return -(W @ delta)
""",
        "only_the_diagonal_of_W": """
def dx_one(delta, W):
    k = min(W.shape)
    out = np.zeros(W.shape[0])
    out[:k] = np.diag(W) * delta[:k]
    return out
""",
    },
    "dW_entry": {
        "mean_over_the_batch": """
def dW_entry(X, Delta, k, i):
    return np.mean(X[:, k] * Delta[:, i])
""",
        "first_example_only": """
def dW_entry(X, Delta, k, i):
    return X[0, k] * Delta[0, i]
""",
        "product_of_sums": """
def dW_entry(X, Delta, k, i):
    return np.sum(X[:, k]) * np.sum(Delta[:, i])
""",
    },
    "db_entry": {
        "mean_over_the_batch": """
def db_entry(Delta, i):
    return np.mean(Delta[:, i])
""",
        "first_example_only": """
def db_entry(Delta, i):
    return Delta[0, i]
""",
        "sum_over_the_outputs": """
def db_entry(Delta, i):
    return np.sum(Delta[i, :])
""",
    },
    "dx_entry": {
        "summed_over_the_batch_too": """
def dx_entry(Delta, W, n, k):
    return np.sum(Delta @ W[k, :])
""",
        "divided_by_the_batch": """
def dx_entry(Delta, W, n, k):
    return np.sum(Delta[n, :] * W[k, :]) / len(Delta)
""",
        "product_of_sums": """
def dx_entry(Delta, W, n, k):
    return np.sum(Delta[n, :]) * np.sum(W[k, :])
""",
    },
    "gradient_shapes": {
        "dW_transposed": """
def gradient_shapes(N, D, M):
    return ((N, D), (M, D), (M,))
""",
        "db_not_summed_over_the_batch": """
def gradient_shapes(N, D, M):
    return ((N, D), (D, M), (N, M))
""",
        "dx_shaped_like_the_output": """
def gradient_shapes(N, D, M):
    return ((N, M), (D, M), (M,))
""",
        "order_of_the_inputs_x_w_b_with_b_first": """
def gradient_shapes(N, D, M):
    return ((M,), (N, D), (D, M))
""",
    },
    "delta_below": {
        "mask_forgotten": """
def delta_below(delta, W, z):
    return delta @ W.T
""",
        "mask_includes_zero": """
def delta_below(delta, W, z):
    return (delta @ W.T) * (z >= 0)
""",
        "times_relu_instead_of_its_derivative": """
def delta_below(delta, W, z):
    return (delta @ W.T) * np.maximum(z, 0)
""",
        "mask_on_the_wrong_side": """
def delta_below(delta, W, z):
    return (delta @ W.T) * (z < 0)
""",
    },
}

DERIVATION_VARIANTS = {
    "dW_one": {
        "broadcast": """
def dW_one(x, delta):
    return x[:, None] * delta[None, :]
""",
        "loops": """
def dW_one(x, delta):
    out = np.zeros((len(x), len(delta)))
    for k in range(len(x)):
        for i in range(len(delta)):
            out[k, i] = x[k] * delta[i]
    return out
""",
    },
    "db_one": {
        "delta_itself": """
def db_one(delta):
    return delta
""",
        "times_one": """
def db_one(delta):
    return 1.0 * delta
""",
    },
    "dx_one": {
        "row_times_transpose": """
def dx_one(delta, W):
    return delta @ W.T
""",
        "sum_over_outputs": """
def dx_one(delta, W):
    return np.sum(W * delta, axis=1)
""",
    },
    "dW_entry": {
        "loop": """
def dW_entry(X, Delta, k, i):
    return sum(X[n, k] * Delta[n, i] for n in range(len(X)))
""",
        "dot": """
def dW_entry(X, Delta, k, i):
    return X[:, k] @ Delta[:, i]
""",
    },
    "db_entry": {
        "builtin_sum": """
def db_entry(Delta, i):
    return sum(Delta[:, i])
""",
        "column_sums": """
def db_entry(Delta, i):
    return Delta.sum(axis=0)[i]
""",
    },
    "dx_entry": {
        "dot": """
def dx_entry(Delta, W, n, k):
    return Delta[n] @ W[k]
""",
        "matrix_product_entry": """
def dx_entry(Delta, W, n, k):
    return (Delta @ W.T)[n, k]
""",
    },
    "gradient_shapes": {
        "lists": """
def gradient_shapes(N, D, M):
    return [[N, D], [D, M], [M]]
""",
        "from_arrays": """
def gradient_shapes(N, D, M):
    X, W, b = np.empty((N, D)), np.empty((D, M)), np.empty(M)
    return X.shape, W.shape, b.shape
""",
    },
    "delta_below": {
        "where": """
def delta_below(delta, W, z):
    return np.where(z > 0, delta @ W.T, 0.0)
""",
        "heaviside": """
def delta_below(delta, W, z):
    return np.dot(delta, W.T) * np.heaviside(z, 0.0)
""",
    },
}


MUTANTS = {
    "affine_forward": {
        "bias_forgotten": '''
def affine_forward(x, W, b):
    out = x @ W
    return out, (x, W, b)
''',
        "weights_used_transposed": '''
def affine_forward(x, W, b):
    # the (outputs, inputs) convention of column-vector books
    out = x @ W.T + b
    return out, (x, W, b)
''',
        "bias_as_a_column": '''
def affine_forward(x, W, b):
    out = x @ W + b.reshape(-1, 1)
    return out, (x, W, b)
''',
        "output_transposed": '''
def affine_forward(x, W, b):
    out = W.T @ x.T + b[:, None]
    return out, (x, W, b)
''',
        "loops_into_float64_zeros": '''
def affine_forward(x, W, b):
    N, D = x.shape
    M = W.shape[1]
    out = np.zeros((N, M))
    for n in range(N):
        for i in range(M):
            out[n, i] = np.sum(x[n, :] * W[:, i]) + b[i]
    return out, (x, W, b)
''',
        "no_cache_returned": '''
def affine_forward(x, W, b):
    return x @ W + b
''',
    },
    "affine_backward": {
        "db_not_summed_over_batch": '''
def affine_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout
''',
        "db_mean_over_batch": '''
def affine_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.mean(axis=0)
''',
        "db_summed_over_outputs": '''
def affine_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=1)
''',
        "dW_is_dout_T_x": '''
def affine_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, dout.T @ x, dout.sum(axis=0)
''',
        "dW_averaged_over_batch": '''
def affine_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout / x.shape[0], dout.sum(axis=0)
''',
        "dx_summed_over_batch_like_db": '''
def affine_backward(dout, cache):
    x, W, b = cache
    return dout.sum(axis=0) @ W.T, x.T @ dout, dout.sum(axis=0)
''',
        "gradients_in_wrong_order": '''
def affine_backward(dout, cache):
    x, W, b = cache
    return x.T @ dout, dout @ W.T, dout.sum(axis=0)
''',
        "db_with_keepdims": '''
def affine_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0, keepdims=True)
''',
        "loops_into_float64_zeros": '''
def affine_backward(dout, cache):
    x, W, b = cache
    N, D = x.shape
    M = W.shape[1]
    dx, dW, db = np.zeros((N, D)), np.zeros((D, M)), np.zeros(M)
    for n in range(N):
        dx[n] = W @ dout[n]
        dW += np.outer(x[n], dout[n])
        db += dout[n]
    return dx, dW, db
''',
    },
    "mlp_forward": {
        "relu_after_last_layer": '''
def mlp_forward(x, params):
    n_layers = len(params) // 2
    caches, zs = [], []
    h = x
    for layer in range(1, n_layers + 1):
        z, c = affine_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        caches.append(c)
        zs.append(z)
        h = np.maximum(z, 0)
    return h, (caches, zs)
''',
        "no_relu_at_all": '''
def mlp_forward(x, params):
    n_layers = len(params) // 2
    caches, zs = [], []
    h = x
    for layer in range(1, n_layers + 1):
        h, c = affine_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        caches.append(c)
        zs.append(h)
    return h, (caches, zs)
''',
        "keys_sorted_as_strings": '''
def mlp_forward(x, params):
    weight_keys = sorted(k for k in params if k.startswith("W"))
    caches, zs = [], []
    h = x
    for i, key in enumerate(weight_keys):
        z, c = affine_forward(h, params[key], params["b" + key[1:]])
        caches.append(c)
        zs.append(z)
        h = np.maximum(z, 0) if i < len(weight_keys) - 1 else z
    return h, (caches, zs)
''',
        "bias_added_after_relu": '''
def mlp_forward(x, params):
    n_layers = len(params) // 2
    caches, zs = [], []
    h = x
    for layer in range(1, n_layers + 1):
        W, b = params[f"W{layer}"], params[f"b{layer}"]
        z, c = affine_forward(h, W, np.zeros_like(b))
        caches.append(c)
        zs.append(z + b)
        h = np.maximum(z, 0) + b if layer < n_layers else z + b
    return h, (caches, zs)
''',
        "last_layer_skipped": '''
def mlp_forward(x, params):
    n_layers = len(params) // 2 - 1
    caches, zs = [], []
    h = x
    for layer in range(1, n_layers + 1):
        z, c = affine_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        caches.append(c)
        zs.append(z)
        h = np.maximum(z, 0) if layer < n_layers else z
    return h, (caches, zs)
''',
        "relu_only_after_first_layer": '''
def mlp_forward(x, params):
    n_layers = len(params) // 2
    caches, zs = [], []
    h = x
    for layer in range(1, n_layers + 1):
        z, c = affine_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        caches.append(c)
        zs.append(z)
        h = np.maximum(z, 0) if layer == 1 and n_layers > 1 else z
    return h, (caches, zs)
''',
        "relu_mask_cast_to_float64": '''
def mlp_forward(x, params):
    n_layers = len(params) // 2
    caches, zs = [], []
    h = x
    for layer in range(1, n_layers + 1):
        z, c = affine_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        caches.append(c)
        zs.append(z)
        h = z * (z > 0).astype(float) if layer < n_layers else z
    return h, (caches, zs)
''',
    },
    "mlp_backward": {
        "relu_mask_includes_zero": '''
def mlp_backward(dscores, cache):
    caches, zs = cache
    L = len(caches)
    grads = {}
    grad = dscores
    for layer in range(L, 0, -1):
        if layer < L:
            grad = grad * (zs[layer - 1] >= 0)
        grad, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(grad, caches[layer - 1])
    return grads
''',
        "relu_mask_on_the_scores_too": '''
def mlp_backward(dscores, cache):
    caches, zs = cache
    L = len(caches)
    grads = {}
    grad = dscores
    for layer in range(L, 0, -1):
        grad = grad * (zs[layer - 1] > 0)
        grad, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(grad, caches[layer - 1])
    return grads
''',
        "relu_mask_forgotten": '''
def mlp_backward(dscores, cache):
    caches, zs = cache
    L = len(caches)
    grads = {}
    grad = dscores
    for layer in range(L, 0, -1):
        grad, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(grad, caches[layer - 1])
    return grads
''',
        "mask_indexed_one_based": '''
def mlp_backward(dscores, cache):
    caches, zs = cache
    L = len(caches)
    grads = {}
    grad = dscores
    for layer in range(L, 0, -1):
        if layer < L:
            grad = grad * (zs[layer] > 0)
        grad, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(grad, caches[layer - 1])
    return grads
''',
        "keys_off_by_one": '''
def mlp_backward(dscores, cache):
    caches, zs = cache
    L = len(caches)
    grads = {}
    grad = dscores
    for layer in range(L - 1, -1, -1):
        if layer < L - 1:
            grad = grad * (zs[layer] > 0)
        grad, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(grad, caches[layer])
    return grads
''',
        "gradient_keys_with_d_prefix": '''
def mlp_backward(dscores, cache):
    caches, zs = cache
    L = len(caches)
    grads = {}
    grad = dscores
    for layer in range(L, 0, -1):
        if layer < L:
            grad = grad * (zs[layer - 1] > 0)
        grad, grads[f"dW{layer}"], grads[f"db{layer}"] = affine_backward(grad, caches[layer - 1])
    return grads
''',
        "layers_visited_first_to_last": '''
def mlp_backward(dscores, cache):
    caches, zs = cache
    L = len(caches)
    grads = {}
    grad = dscores
    for layer in range(1, L + 1):
        if layer < L:
            grad = grad * (zs[layer - 1] > 0)
        grad, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(grad, caches[layer - 1])
    return grads
''',
        "relu_mask_cast_to_float64": '''
def mlp_backward(dscores, cache):
    caches, zs = cache
    L = len(caches)
    grads = {}
    grad = dscores
    for layer in range(L, 0, -1):
        if layer < L:
            grad = grad * (zs[layer - 1] > 0).astype(np.float64)
        grad, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(grad, caches[layer - 1])
    return grads
''',
    },
}

CORRECT_VARIANTS = {
    "affine_forward": {
        "np_dot": '''
def affine_forward(x, W, b):
    return np.dot(x, W) + b, (x, W, b)
''',
        "loops_with_matching_dtype": '''
def affine_forward(x, W, b):
    N, M = x.shape[0], W.shape[1]
    out = np.empty((N, M), dtype=x.dtype)
    for n in range(N):
        for i in range(M):
            out[n, i] = x[n] @ W[:, i] + b[i]
    return out, (x, W, b)
''',
        "einsum": '''
def affine_forward(x, W, b):
    out = np.einsum("nd,dm->nm", x, W) + b[np.newaxis, :]
    return out, (x, W, b)
''',
    },
    "affine_backward": {
        "np_dot_and_ones": '''
def affine_backward(dout, cache):
    x, W, _ = cache
    ones = np.ones(dout.shape[0], dtype=dout.dtype)
    return np.dot(dout, W.T), np.dot(x.T, dout), ones @ dout
''',
        "outer_products_per_example": '''
def affine_backward(dout, cache):
    x, W, b = cache
    dx = np.zeros_like(x)
    dW = np.zeros_like(W)
    db = np.zeros_like(b)
    for n in range(x.shape[0]):
        dx[n] = W @ dout[n]
        dW += np.outer(x[n], dout[n])
        db += dout[n]
    return dx, dW, db
''',
        "einsum": '''
def affine_backward(dout, cache):
    x, W, b = cache
    return (np.einsum("nm,dm->nd", dout, W), np.einsum("nd,nm->dm", x, dout),
            np.einsum("nm->m", dout))
''',
    },
    "mlp_forward": {
        "while_the_next_key_exists": '''
def mlp_forward(x, params):
    affine_caches, pre_activations = [], []
    h, layer = x, 1
    while f"W{layer}" in params:
        z, c = affine_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        affine_caches.append(c)
        pre_activations.append(z)
        h = z * (z > 0)
        layer += 1
    return z, (affine_caches, pre_activations)
''',
        "own_affine_and_where": '''
def mlp_forward(x, params):
    n_layers = sum(key.startswith("W") for key in params)
    caches, zs = [], []
    h = x
    for layer in range(1, n_layers + 1):
        W, b = params["W" + str(layer)], params["b" + str(layer)]
        z = h @ W + b
        caches.append((h, W, b))
        zs.append(z)
        h = z if layer == n_layers else np.where(z > 0, z, 0)
    return h, (caches, zs)
''',
        "keys_sorted_by_number_and_typed_mask": '''
def mlp_forward(x, params):
    weight_keys = sorted((k for k in params if k.startswith("W")), key=lambda k: int(k[1:]))
    caches, zs = [], []
    h = x
    for i, key in enumerate(weight_keys):
        z, c = affine_forward(h, params[key], params["b" + key[1:]])
        caches.append(c)
        zs.append(z)
        h = z * (z > 0).astype(z.dtype) if i < len(weight_keys) - 1 else z
    return h, (caches, zs)
''',
    },
    "mlp_backward": {
        "where_and_reversed": '''
def mlp_backward(dscores, cache):
    affine_caches, pre_activations = cache
    grads = {}
    upstream = dscores
    last = len(affine_caches)
    for layer in reversed(range(1, last + 1)):
        if layer != last:
            upstream = np.where(pre_activations[layer - 1] > 0, upstream, 0)
        dh, dW, db = affine_backward(upstream, affine_caches[layer - 1])
        grads["W%d" % layer] = dW
        grads["b%d" % layer] = db
        upstream = dh
    return grads
''',
        "formulas_written_out": '''
def mlp_backward(dscores, cache):
    affine_caches, pre_activations = cache
    L = len(affine_caches)
    grads = {}
    delta = dscores
    for layer in range(L, 0, -1):
        h_prev, W, _ = affine_caches[layer - 1]
        grads[f"W{layer}"] = h_prev.T @ delta
        grads[f"b{layer}"] = delta.sum(axis=0)
        if layer > 1:
            step = np.heaviside(pre_activations[layer - 2], 0.0).astype(delta.dtype)
            delta = (delta @ W.T) * step
    return grads
''',
    },
}

MUTANTS.update(DERIVATION_MUTANTS)
CORRECT_VARIANTS.update(DERIVATION_VARIANTS)

# Every mutant is caught by the visible tests.
HIDDEN_ONLY = {}

# Mutants whose answer is an exact rescaling of the right one where the first failing check sees it
# (the visible finite-difference check of affine_backward has a batch of N = 4).
EXACT_RELATIONS = {
    "dW_one": {"sign_flipped": "sign"},
    "dx_one": {"sign_flipped": "sign"},
    "dW_entry": {"mean_over_the_batch": "scale"},
    "db_entry": {"mean_over_the_batch": "scale"},
    "dx_entry": {"divided_by_the_batch": "scale"},
    "affine_backward": {
        "db_mean_over_batch": "scale",
        "dW_averaged_over_batch": "scale",
    },
}
