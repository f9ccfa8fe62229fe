"""Plausible mistakes and correct alternatives for 03_softmax.

Each entry redefines one graded name; the others keep the reference
solution. A "transposed Jacobian" mistake cannot be told apart from the right
answer here (softmax's Jacobian is symmetric), so it is not listed.
"""

SOFTMAX_MUTANTS = {
    "no_max_subtraction": '''
def softmax(x):
    e = np.exp(x)
    return e / np.sum(e, axis=-1, keepdims=True)
''',
    "normalises_over_axis_0": '''
def softmax(x):
    e = np.exp(x - np.max(x, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)
''',
    "hard_coded_axis_1": '''
def softmax(x):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)
''',
    "global_max_of_the_batch": '''
def softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e, axis=-1, keepdims=True)
''',
    "max_without_keepdims": '''
def softmax(x):
    e = np.exp(x - np.max(x, axis=-1))
    return e / np.sum(e, axis=-1, keepdims=True)
''',
    "subtracts_in_place": '''
def softmax(x):
    x -= np.max(x, axis=-1, keepdims=True)
    e = np.exp(x)
    return e / np.sum(e, axis=-1, keepdims=True)
''',
    "subtracts_the_minimum": '''
def softmax(x):
    e = np.exp(x - np.min(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
''',
    "upcasts_to_float64": '''
def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
''',
    "normalises_by_the_total_of_the_batch": '''
def softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e)
''',
}

SOFTMAX_VARIANTS = {
    "log_sum_exp": '''
def softmax(x):
    m = np.max(x, axis=-1, keepdims=True)
    log_norm = m + np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))
    return np.exp(x - log_norm)
''',
    "loop_over_rows": '''
def softmax(x):
    y = np.empty_like(x)
    for index in np.ndindex(x.shape[:-1]):
        row = x[index]
        e = np.exp(row - row.max())
        y[index] = e / e.sum()
    return y
''',
    "reshape_to_two_dimensions": '''
def softmax(x):
    flat = x.reshape(-1, x.shape[-1])
    e = np.exp(flat - flat.max(axis=1)[:, None])
    return (e / e.sum(axis=1)[:, None]).reshape(x.shape)
''',
}

JACOBIAN_MUTANTS = {
    "diagonal_only": '''
def softmax_jacobian(x):
    y = softmax(x)
    return np.diag(y * (1 - y))
''',
    "missing_the_diagonal_term": '''
def softmax_jacobian(x):
    y = softmax(x)
    return -np.outer(y, y)
''',
    "plus_instead_of_minus": '''
def softmax_jacobian(x):
    y = softmax(x)
    return np.diag(y) + np.outer(y, y)
''',
    "elementwise_square_instead_of_outer": '''
def softmax_jacobian(x):
    y = softmax(x)
    return np.diag(y) - y * y
''',
    "dot_product_instead_of_outer": '''
def softmax_jacobian(x):
    y = softmax(x)
    return np.diag(y) - y @ y
''',
    "uses_the_logits": '''
def softmax_jacobian(x):
    return np.diag(x) - np.outer(x, x)
''',
    "naive_softmax_inside": '''
def softmax_jacobian(x):
    e = np.exp(x)
    y = e / e.sum()
    return np.diag(y) - np.outer(y, y)
''',
    "identity_instead_of_diag_y": '''
def softmax_jacobian(x):
    y = softmax(x)
    return np.eye(len(y)) - np.outer(y, y)
''',
    "double_loop_into_float64_zeros": '''
def softmax_jacobian(x):
    y = softmax(x)
    k = len(y)
    J = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            J[i, j] = y[i] * ((i == j) - y[j])
    return J
''',
}

JACOBIAN_VARIANTS = {
    "double_loop": '''
def softmax_jacobian(x):
    y = softmax(x)
    k = len(y)
    J = np.zeros((k, k), dtype=y.dtype)
    for i in range(k):
        for j in range(k):
            if i == j:
                J[i, j] = y[i] * (1 - y[i])
            else:
                J[i, j] = -y[i] * y[j]
    return J
''',
    "y_times_identity_minus_y": '''
def softmax_jacobian(x):
    y = softmax(x)
    return y[:, None] * (np.eye(len(y), dtype=y.dtype) - y[None, :])
''',
    "broadcast_outer": '''
def softmax_jacobian(x):
    y = softmax(x)
    return np.diagflat(y) - y[:, None] * y[None, :]
''',
}

BACKWARD_MUTANTS = {
    "batched_jacobian_einsum": '''
def softmax_backward(dout, y):
    n, k = y.shape
    eye = np.eye(k, dtype=y.dtype)
    jacobians = y[:, :, None] * eye[None] - y[:, :, None] * y[:, None, :]
    return np.einsum("nk,nkj->nj", dout, jacobians)
''',
    "one_jacobian_per_row": '''
def softmax_backward(dout, y):
    dx = np.empty_like(dout)
    for n in range(len(y)):
        dx[n] = dout[n] @ (np.diag(y[n]) - np.outer(y[n], y[n]))
    return dx
''',
    "sums_over_the_batch_axis": '''
def softmax_backward(dout, y):
    weighted = np.sum(dout * y, axis=0, keepdims=True)
    return y * (dout - weighted)
''',
    "diagonal_only": '''
def softmax_backward(dout, y):
    return dout * y * (1 - y)
''',
    "forgets_y_in_the_weighted_sum": '''
def softmax_backward(dout, y):
    return y * (dout - np.sum(dout, axis=1, keepdims=True))
''',
    "sum_without_keepdims": '''
def softmax_backward(dout, y):
    return y * (dout - np.sum(dout * y, axis=1))
''',
    "one_sum_for_the_whole_batch": '''
def softmax_backward(dout, y):
    return y * (dout - np.sum(dout * y))
''',
    "forgets_the_outer_y": '''
def softmax_backward(dout, y):
    return dout - np.sum(dout * y, axis=1, keepdims=True)
''',
    "modifies_dout_in_place": '''
def softmax_backward(dout, y):
    dout -= np.sum(dout * y, axis=1, keepdims=True)
    dout *= y
    return dout
''',
    "loop_into_float64_zeros": '''
def softmax_backward(dout, y):
    dx = np.zeros(dout.shape)
    for n in range(len(y)):
        dx[n] = y[n] * (dout[n] - np.dot(dout[n], y[n]))
    return dx
''',
    "scales_y_in_place": '''
def softmax_backward(dout, y):
    weighted = np.sum(dout * y, axis=-1, keepdims=True)
    y *= dout - weighted
    return y
''',
}

BACKWARD_VARIANTS = {
    "loop_over_rows": '''
def softmax_backward(dout, y):
    dx = np.empty_like(dout)
    for n in range(len(y)):
        dx[n] = y[n] * (dout[n] - np.dot(dout[n], y[n]))
    return dx
''',
    "einsum_row_dot": '''
def softmax_backward(dout, y):
    return y * dout - y * np.einsum("nk,nk->n", dout, y)[:, None]
''',
    "expanded_products": '''
def softmax_backward(dout, y):
    dx = dout * y
    dx -= y * dx.sum(axis=-1, keepdims=True)
    return dx
''',
}

CROSS_ENTROPY_MUTANTS = {
    "labels_treated_as_one_hot": '''
def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    y = softmax(logits)
    return -np.sum(labels * np.log(y)) / n, (y - labels) / n
''',
    "loss_summed_not_averaged": '''
def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_y = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    grad = np.exp(log_y)
    grad[rows, labels] -= 1
    return -np.sum(log_y[rows, labels]), grad / n
''',
    "gradient_misses_one_over_n": '''
def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_y = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    grad = np.exp(log_y)
    grad[rows, labels] -= 1
    return -np.mean(log_y[rows, labels]), grad
''',
    "log_of_softmax": '''
def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    y = softmax(logits)
    rows = np.arange(n)
    grad = y.copy()
    grad[rows, labels] -= 1
    return -np.mean(np.log(y[rows, labels])), grad / n
''',
    "log_of_softmax_plus_eps": '''
def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    y = softmax(logits)
    rows = np.arange(n)
    grad = y.copy()
    grad[rows, labels] -= 1
    return -np.mean(np.log(y[rows, labels] + 1e-12)), grad / n
''',
    "indexes_columns_not_pairs": '''
def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_y = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    grad = np.exp(log_y)
    grad[:, labels] -= 1
    return -np.mean(log_y[:, labels]), grad / n
''',
    "gradient_sign_flipped": '''
def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_y = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    t = np.zeros_like(logits)
    t[rows, labels] = 1
    return -np.mean(log_y[rows, labels]), (t - np.exp(log_y)) / n
''',
    "shifts_the_logits_in_place": '''
def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    logits -= logits.max(axis=1, keepdims=True)
    log_y = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    grad = np.exp(log_y)
    grad[rows, labels] -= 1
    return -np.mean(log_y[rows, labels]), grad / n
''',
    "float64_one_hot_labels": '''
def softmax_cross_entropy(logits, labels):
    n, k = logits.shape
    t = np.eye(k)[labels]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_y = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -np.sum(t * log_y) / n, (np.exp(log_y) - t) / n
''',
}

CROSS_ENTROPY_VARIANTS = {
    "log_softmax_layer_then_nll": '''
def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    rows = np.arange(n)
    m = logits.max(axis=1, keepdims=True)
    log_y = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
    loss = -log_y[rows, labels].sum() / n
    dlog_y = np.zeros_like(logits)
    dlog_y[rows, labels] = -1.0 / n
    # backward of log-softmax: dx = g - softmax(x) * (sum of g over the row)
    dlogits = dlog_y - np.exp(log_y) * dlog_y.sum(axis=1, keepdims=True)
    return loss, dlogits
''',
    "one_hot_matrix": '''
def softmax_cross_entropy(logits, labels):
    n, k = logits.shape
    t = np.eye(k, dtype=logits.dtype)[labels]
    m = logits.max(axis=1, keepdims=True)
    log_y = logits - m - np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True))
    loss = -np.sum(t * log_y) / n
    return loss, (np.exp(log_y) - t) / n
''',
    "loop_over_examples": '''
def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    loss = 0.0
    grad = np.empty_like(logits)
    for i in range(n):
        row = logits[i] - logits[i].max()
        log_norm = np.log(np.exp(row).sum())
        loss -= row[labels[i]] - log_norm
        grad[i] = np.exp(row - log_norm)
        grad[i, labels[i]] -= 1
    return loss / n, grad / n
''',
    "uses_softmax_and_logsumexp": '''
def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    rows = np.arange(n)
    m = logits.max(axis=1)
    log_norm = m + np.log(np.exp(logits - m[:, None]).sum(axis=1))
    loss = np.mean(log_norm - logits[rows, labels])
    grad = softmax(logits)
    grad[rows, labels] -= 1
    return loss, grad / n
''',
}

SHIFT_MUTANTS = {
    "shift_multiplies_by_exp_c": """
def softmax_after_shift(y, c):
    return y * np.exp(c)
""",
    "shift_adds_c": """
def softmax_after_shift(y, c):
    return y + c
""",
    "shift_divides_by_exp_c": """
def softmax_after_shift(y, c):
    return y * np.exp(-c)
""",
}

DENOMINATOR_MUTANTS = {
    "denominator_from_zero": """
def denominator_range(K):
    return (0, K)
""",
    "denominator_counts_only_the_others": """
def denominator_range(K):
    return (1, K - 1)
""",
    "denominator_unbounded": """
def denominator_range(K):
    return (1, float("inf"))
""",
    "denominator_range_of_a_probability": """
def denominator_range(K):
    return (Fraction(1, K), 1)
""",
}

SHIFT_VARIANTS = {
    "returns_y_itself": """
def softmax_after_shift(y, c):
    return y
""",
    "recomputes_from_log_y": """
def softmax_after_shift(y, c):
    e = np.exp(np.log(y) + c)
    return e / e.sum()
""",
}

DENOMINATOR_VARIANTS = {
    "floats": """
def denominator_range(K):
    return (1.0, float(K))
""",
    "a_list_of_fractions": """
def denominator_range(K):
    return [Fraction(1), Fraction(K)]
""",
}

JACOBIAN_ENTRY_MUTANTS = {
    "diagonal_formula_everywhere": """
def jacobian_entry(y, i, j):
    return y[i] * (1 - y[i])
""",
    "off_diagonal_formula_everywhere": """
def jacobian_entry(y, i, j):
    return -y[i] * y[j]
""",
    "plus_instead_of_minus": """
def jacobian_entry(y, i, j):
    return y[i] * ((i == j) + y[j])
""",
    "diagonal_only": """
def jacobian_entry(y, i, j):
    return y[i] * (1 - y[i]) if i == j else 0.0
""",
    "squares_the_wrong_entry": """
def jacobian_entry(y, i, j):
    return y[j] * ((i == j) - y[j])
""",
}

JACOBIAN_ENTRY_VARIANTS = {
    "two_cases": """
def jacobian_entry(y, i, j):
    if i == j:
        return y[i] * (1 - y[i])
    return -y[i] * y[j]
""",
    "delta_minus_product": """
def jacobian_entry(y, i, j):
    return (y[i] if i == j else 0.0) - y[i] * y[j]
""",
}

BACKWARD_ENTRY_MUTANTS = {
    "diagonal_only": """
def dL_dx_entry(g, y, j):
    return g[j] * y[j] * (1 - y[j])
""",
    "forgets_y_in_the_sum": """
def dL_dx_entry(g, y, j):
    return y[j] * (g[j] - np.sum(g))
""",
    "forgets_the_outer_y": """
def dL_dx_entry(g, y, j):
    return g[j] - np.dot(g, y)
""",
    "plus_the_weighted_sum": """
def dL_dx_entry(g, y, j):
    return y[j] * (g[j] + np.dot(g, y))
""",
    "y_j_inside_the_sum": """
def dL_dx_entry(g, y, j):
    return y[j] * (g[j] - np.sum(g) * y[j])
""",
}

BACKWARD_ENTRY_VARIANTS = {
    "sum_over_i": """
def dL_dx_entry(g, y, j):
    return sum(g[i] * y[i] * ((i == j) - y[j]) for i in range(len(y)))
""",
    "expanded": """
def dL_dx_entry(g, y, j):
    return y[j] * g[j] - y[j] * np.sum(g * y)
""",
}

CROSS_ENTROPY_GRADIENT_MUTANTS = {
    "misses_one_over_n": """
def dL_dlogits(y, t):
    return y - t
""",
    "sign_flipped": """
def dL_dlogits(y, t):
    return (t - y) / len(y)
""",
    "stops_at_dL_dy": """
def dL_dlogits(y, t):
    return -t / (len(y) * y)
""",
    "divides_by_n_times_k": """
def dL_dlogits(y, t):
    return (y - t) / y.size
""",
    "diagonal_of_the_jacobian_only": """
def dL_dlogits(y, t):
    return -t * (1 - y) / len(y)
""",
}

CROSS_ENTROPY_GRADIENT_VARIANTS = {
    "shape_of_y": """
def dL_dlogits(y, t):
    return (y - t) / y.shape[0]
""",
    "through_dL_dy": """
def dL_dlogits(y, t):
    g = -t / (len(y) * y)
    return y * (g - np.sum(g * y, axis=1, keepdims=True))
""",
}

MUTANTS = {
    "softmax_after_shift": SHIFT_MUTANTS,
    "denominator_range": DENOMINATOR_MUTANTS,
    "jacobian_entry": JACOBIAN_ENTRY_MUTANTS,
    "dL_dx_entry": BACKWARD_ENTRY_MUTANTS,
    "dL_dlogits": CROSS_ENTROPY_GRADIENT_MUTANTS,
    "softmax": SOFTMAX_MUTANTS,
    "softmax_jacobian": JACOBIAN_MUTANTS,
    "softmax_backward": BACKWARD_MUTANTS,
    "softmax_cross_entropy": CROSS_ENTROPY_MUTANTS,
}

CORRECT_VARIANTS = {
    "softmax_after_shift": SHIFT_VARIANTS,
    "denominator_range": DENOMINATOR_VARIANTS,
    "jacobian_entry": JACOBIAN_ENTRY_VARIANTS,
    "dL_dx_entry": BACKWARD_ENTRY_VARIANTS,
    "dL_dlogits": CROSS_ENTROPY_GRADIENT_VARIANTS,
    "softmax": SOFTMAX_VARIANTS,
    "softmax_jacobian": JACOBIAN_VARIANTS,
    "softmax_backward": BACKWARD_VARIANTS,
    "softmax_cross_entropy": CROSS_ENTROPY_VARIANTS,
}

# Every mutant is caught by the visible tests.
HIDDEN_ONLY = {}

# Mutants whose answer is an exact rescaling or sign flip of the right one, where the first failing
# check sees it: the batch of the hand example has N = 3.
# loss_summed_not_averaged is not listed: its first failure is the loss, a single number, which any
# factor fits (a relation needs two entries with distinct non-zero right values).
EXACT_RELATIONS = {
    "dL_dlogits": {
        "misses_one_over_n": "scale",
        "sign_flipped": "sign",
    },
    "softmax_cross_entropy": {
        "gradient_misses_one_over_n": "scale",
        "gradient_sign_flipped": "sign",
    },
}
