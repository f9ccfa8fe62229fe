"""Plausible mistakes and correct alternatives for 07_cnn.

Most mutants are the reference solution with one plausible change, made by exact text
replacement in the source notebook's solution cells (``_mutate`` fails loudly when the
reference no longer contains the text, so the mutants cannot silently drift away from
it). The correct variants are written out in full: each is a different way a student
might get the same answer right.
"""

from tests.notebooks import notebook_parts

_REFERENCE = dict(notebook_parts("07_cnn").definitions)


def _mutate(grade_id: str, *replacements: tuple[str, str]) -> str:
    """The reference of ``grade_id`` with each ``(old, new)`` replacement made exactly once."""
    source = _REFERENCE[grade_id]
    for old, new in replacements:
        count = source.count(old)
        if count != 1:
            raise ValueError(f"{grade_id}: {old!r} occurs {count} times in the reference")
        source = source.replace(old, new)
    return source


# ----------------------------------------------------------------------------- derivations

IM2COL_SOURCE_MUTANTS = {
    "stride_ignored": _mutate("derive_im2col", (
        "return n, c, i * stride + a, j * stride + b", "return n, c, i + a, j + b")),
    "columns_in_a_b_c_order": _mutate("derive_im2col", (
        "    c, offset = divmod(q, kh * kw)\n    a, b = divmod(offset, kw)\n",
        "    a, offset = divmod(q, kw * x_shape[1])\n    b, c = divmod(offset, x_shape[1])\n")),
    "rows_split_by_the_output_height": _mutate("derive_im2col", (
        "i, j = divmod(pixel, out_w)", "i, j = divmod(pixel, out_h)")),
    "kernel_height_and_width_swapped": _mutate("derive_im2col", (
        "a, b = divmod(offset, kw)", "a, b = divmod(offset, kh)")),
    "output_size_without_padding": _mutate("derive_im2col", (
        "out_h = (height + 2 * pad - kh) // stride + 1\n    out_w = (width + 2 * pad - kw) // stride + 1",
        "out_h = (height - kh) // stride + 1\n    out_w = (width - kw) // stride + 1")),
}

IM2COL_SOURCE_VARIANTS = {
    "unravel_index": """
def im2col_source(r, q, x_shape, kh, kw, stride=1, pad=0):
    n_img, channels, height, width = x_shape
    rows = ((height + 2 * pad - kh) // stride + 1, (width + 2 * pad - kw) // stride + 1)
    n, i, j = np.unravel_index(r, (n_img,) + rows)
    c, a, b = np.unravel_index(q, (channels, kh, kw))
    return n, c, i * stride + a, j * stride + b
""",
    "table_of_every_entry": """
def im2col_source(r, q, x_shape, kh, kw, stride=1, pad=0):
    n_img, channels, height, width = x_shape
    out_h = (height + 2 * pad - kh) // stride + 1
    out_w = (width + 2 * pad - kw) // stride + 1
    rows = [(n, i, j) for n in range(n_img) for i in range(out_h) for j in range(out_w)]
    columns = [(c, a, b) for c in range(channels) for a in range(kh) for b in range(kw)]
    (n, i, j), (c, a, b) = rows[r], columns[q]
    return (n, c, stride * i + a, stride * j + b)
""",
}

WINDOWS_MUTANTS = {
    "padding_ignored": _mutate("derive_col2im", (
        "0 <= h + pad - i * stride < kh", "0 <= h - i * stride < kh"), (
        "0 <= w + pad - j * stride < kw", "0 <= w - j * stride < kw")),
    "stride_ignored": _mutate("derive_col2im", (
        "0 <= h + pad - i * stride < kh", "0 <= h + pad - i < kh"), (
        "0 <= w + pad - j * stride < kw", "0 <= w + pad - j < kw")),
    "windows_past_the_last_one": _mutate("derive_col2im", (
        "rows = [i for i in range(out_h) if", "rows = [i for i in range(out_h + kh) if"), (
        "columns = [j for j in range(out_w) if", "columns = [j for j in range(out_w + kw) if")),
    "window_one_entry_too_long": _mutate("derive_col2im", (
        "0 <= h + pad - i * stride < kh", "0 <= h + pad - i * stride <= kh"), (
        "0 <= w + pad - j * stride < kw", "0 <= w + pad - j * stride <= kw")),
    "kernel_height_and_width_swapped": _mutate("derive_col2im", (
        "0 <= h + pad - i * stride < kh", "0 <= h + pad - i * stride < kw"), (
        "0 <= w + pad - j * stride < kw", "0 <= w + pad - j * stride < kh")),
}

WINDOWS_VARIANTS = {
    "scan_every_window": """
def windows_containing(h, w, x_shape, kh, kw, stride=1, pad=0):
    height, width = x_shape[2], x_shape[3]
    found = []
    for i in range((height + 2 * pad - kh) // stride + 1):
        for j in range((width + 2 * pad - kw) // stride + 1):
            top, left = i * stride - pad, j * stride - pad
            if top <= h < top + kh and left <= w < left + kw:
                found.append((i, j))
    return found
""",
    "range_arithmetic": """
import math


def windows_containing(h, w, x_shape, kh, kw, stride=1, pad=0):
    height, width = x_shape[2], x_shape[3]
    out_h = (height + 2 * pad - kh) // stride + 1
    out_w = (width + 2 * pad - kw) // stride + 1
    first_i = max(0, math.ceil((h + pad - kh + 1) / stride))
    first_j = max(0, math.ceil((w + pad - kw + 1) / stride))
    last_i = min(out_h - 1, (h + pad) // stride)
    last_j = min(out_w - 1, (w + pad) // stride)
    return {(i, j) for i in range(first_i, last_i + 1) for j in range(first_j, last_j + 1)}
""",
}

SHAPES_MUTANTS = {
    "batch_forgotten_in_the_rows": _mutate("derive_conv_matmul", (
        "windows = n_img * ((height", "windows = ((height")),
    "weights_as_columns": _mutate("derive_conv_matmul", (
        "(n_filters, n_ch * kh * kw), (windows, n_filters)",
        "(n_ch * kh * kw, n_filters), (windows, n_filters)")),
    "output_size_without_padding": _mutate("derive_conv_matmul", (
        "((height + 2 * pad - kh) // stride + 1) * ((width + 2 * pad - kw) // stride + 1)",
        "((height - kh) // stride + 1) * ((width - kw) // stride + 1)")),
    "output_filters_first": _mutate("derive_conv_matmul", (
        ", (windows, n_filters)", ", (n_filters, windows)")),
}

SHAPES_VARIANTS = {
    "named_sizes": """
def conv_matmul_shapes(x_shape, w_shape, stride=1, pad=0):
    N, C, H, W = x_shape
    F, _, KH, KW = w_shape
    out_h = (H + 2 * pad - KH) // stride + 1
    out_w = (W + 2 * pad - KW) // stride + 1
    depth = C * KH * KW
    return [N * out_h * out_w, depth], [F, depth], [N * out_h * out_w, F]
""",
    "from_the_output_shape": """
def conv_matmul_shapes(x_shape, w_shape, stride=1, pad=0):
    out_h = (x_shape[2] + 2 * pad - w_shape[2]) // stride + 1
    out_w = (x_shape[3] + 2 * pad - w_shape[3]) // stride + 1
    rows = int(np.prod((x_shape[0], out_h, out_w)))
    depth = int(np.prod(w_shape[1:]))
    return (rows, depth), (w_shape[0], depth), (rows, w_shape[0])
""",
}

MATMUL_GRADS_MUTANTS = {
    "dwm_transposed": _mutate("derive_conv_backward_fast", ("return dY.T @ X,", "return X.T @ dY,")),
    "db_summed_over_filters": _mutate("derive_conv_backward_fast", (
        "dY.sum(axis=0)", "dY.sum(axis=1)")),
    "db_averaged_over_rows": _mutate("derive_conv_backward_fast", ("dY.sum(axis=0)", "dY.mean(axis=0)")),
    "dx_sign_flipped": _mutate("derive_conv_backward_fast", (", dY @ Wm", ", -dY @ Wm")),
    "dwm_averaged_over_rows": _mutate("derive_conv_backward_fast", (
        "return dY.T @ X,", "return dY.T @ X / len(X),")),
}

MATMUL_GRADS_VARIANTS = {
    "einsum": """
def matmul_conv_grads(X, Wm, dY):
    return np.einsum("rf,rd->fd", dY, X), np.einsum("rf->f", dY), np.einsum("rf,fd->rd", dY, Wm)
""",
    "transpose_of_the_transpose": """
def matmul_conv_grads(X, Wm, dY):
    return (X.T @ dY).T, np.ones(len(dY)) @ dY, (Wm.T @ dY.T).T
""",
}

RELU_POOL_MUTANTS = {
    "every_tied_maximum": _mutate("derive_simplecnn", (
        "    a, b = np.unravel_index(np.argmax(window), window.shape)\n    if window[a, b] > 0:\n"
        "        dz[a, b] = dpooled\n",
        "    if window.max() > 0:\n        dz[window == window.max()] = dpooled\n")),
    "last_maximum": _mutate("derive_simplecnn", (
        "a, b = np.unravel_index(np.argmax(window), window.shape)",
        "a, b = np.unravel_index(3 - np.argmax(window.ravel()[::-1]), window.shape)")),
    "relu_forgotten": _mutate("derive_simplecnn", ("    if window[a, b] > 0:\n        dz[a, b] = dpooled",
                                                   "    dz[a, b] = dpooled")),
    "relu_derivative_one_at_zero": _mutate("derive_simplecnn", (
        "if window[a, b] > 0:", "if window[a, b] >= 0:")),
    "max_of_absolute_values": _mutate("derive_simplecnn", (
        "np.argmax(window)", "np.argmax(np.abs(window))")),
}

RELU_POOL_VARIANTS = {
    "relu_first": """
def relu_pool_gradient(window, dpooled):
    relu = np.maximum(window, 0)
    flat = relu.ravel()
    winner = int(np.argmax(flat))
    dz = np.zeros(window.size, dtype=window.dtype)
    if flat[winner] > 0:
        dz[winner] = dpooled
    return dz.reshape(window.shape)
""",
    "loops": """
def relu_pool_gradient(window, dpooled):
    best = None
    for a in range(2):
        for b in range(2):
            if window[a, b] > 0 and (best is None or window[a, b] > window[best]):
                best = (a, b)
    dz = np.zeros_like(window)
    if best is not None:
        dz[best] = dpooled
    return dz
""",
}

SGD_STEP_MUTANTS = {
    "sum_instead_of_mean": _mutate("derive_train", ("X_batch.mean(axis=0)", "X_batch.sum(axis=0)")),
    "gradient_summed_over_the_batch": _mutate("derive_train", (
        "return theta - lr * (theta - X_batch.mean(axis=0))",
        "return theta - lr * (len(X_batch) * theta - X_batch.sum(axis=0))")),
    "step_uphill": _mutate("derive_train", (
        "return theta - lr * (theta - X_batch.mean(axis=0))",
        "return theta + lr * (theta - X_batch.mean(axis=0))")),
    "mean_over_the_wrong_axis": _mutate("derive_train", (
        "X_batch.mean(axis=0)", "X_batch.mean(axis=1).mean()")),
    "learning_rate_forgotten": _mutate("derive_train", (
        "return theta - lr * (theta - X_batch.mean(axis=0))",
        "return theta - (theta - X_batch.mean(axis=0))")),
}

SGD_STEP_VARIANTS = {
    "convex_combination": """
def one_sgd_step(theta, X_batch, lr):
    return (1 - lr) * theta + lr * np.mean(X_batch, axis=0)
""",
    "mean_of_the_differences": """
def one_sgd_step(theta, X_batch, lr):
    gradient = np.mean(theta[None, :] - X_batch, axis=0)
    new_theta = theta.copy()
    new_theta -= lr * gradient
    return new_theta
""",
}


# ----------------------------------------------------------------------------- im2col

_IM2COL_RETURN = "return blocks.reshape(N * out_h * out_w, C * kh * kw)"

IM2COL_MUTANTS = {
    "columns_in_a_b_c_order": _mutate("im2col", (
        _IM2COL_RETURN,
        "return blocks.transpose(0, 1, 2, 4, 5, 3).reshape(N * out_h * out_w, C * kh * kw)")),
    "rows_in_i_j_n_order": _mutate("im2col", (
        _IM2COL_RETURN,
        "return blocks.transpose(1, 2, 0, 3, 4, 5).reshape(N * out_h * out_w, C * kh * kw)")),
    "stride_ignored_in_slices": _mutate("im2col", (
        "window = xp[:, :, a:a + stride * out_h:stride, b:b + stride * out_w:stride]",
        "window = xp[:, :, a:a + out_h, b:b + out_w]")),
    "output_size_rounded_up": _mutate(
        "im2col",
        ("out_h = (H + 2 * pad - kh) // stride + 1", "out_h = -(-(H + 2 * pad - kh) // stride) + 1"),
        ("out_w = (W + 2 * pad - kw) // stride + 1", "out_w = -(-(W + 2 * pad - kw) // stride) + 1"),
    ),
    "kernel_flipped": _mutate("im2col", (
        "blocks[:, :, :, :, a, b] = window.transpose(0, 2, 3, 1)",
        "blocks[:, :, :, :, kh - 1 - a, kw - 1 - b] = window.transpose(0, 2, 3, 1)")),
    "padding_on_one_side_only": _mutate("im2col", (
        "np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))",
        "np.pad(x, ((0, 0), (0, 0), (0, 2 * pad), (0, 2 * pad)))")),
    "buffer_always_float64": _mutate("im2col", (
        "blocks = np.empty((N, out_h, out_w, C, kh, kw), dtype=x.dtype)",
        "blocks = np.empty((N, out_h, out_w, C, kh, kw))")),
    "output_size_ignores_padding": _mutate(
        "im2col",
        ("out_h = (H + 2 * pad - kh) // stride + 1", "out_h = (H - kh) // stride + 1"),
        ("out_w = (W + 2 * pad - kw) // stride + 1", "out_w = (W - kw) // stride + 1"),
    ),
}

IM2COL_VARIANTS = {
    "sliding_window_view": '''
def im2col(x, kh, kw, stride=1, pad=0):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    n, c, out_h, out_w = windows.shape[:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * out_h * out_w, c * kh * kw)
''',
    "loop_over_windows": '''
def im2col(x, kh, kw, stride=1, pad=0):
    n_img, n_ch, height, width = x.shape
    out_h = (height + 2 * pad - kh) // stride + 1
    out_w = (width + 2 * pad - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.zeros((n_img * out_h * out_w, n_ch * kh * kw), dtype=x.dtype)
    row = 0
    for n in range(n_img):
        for i in range(out_h):
            for j in range(out_w):
                top, left = i * stride, j * stride
                cols[row] = xp[n, :, top:top + kh, left:left + kw].reshape(-1)
                row += 1
    return cols
''',
    "fancy_indexing": '''
def im2col(x, kh, kw, stride=1, pad=0):
    n_img, n_ch, height, width = x.shape
    out_h = (height + 2 * pad - kh) // stride + 1
    out_w = (width + 2 * pad - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    rows = stride * np.repeat(np.arange(out_h), out_w)[:, None] + np.repeat(np.arange(kh), kw)
    cols = stride * np.tile(np.arange(out_w), out_h)[:, None] + np.tile(np.arange(kw), kh)
    patches = xp[:, :, rows, cols]
    return patches.transpose(0, 2, 1, 3).reshape(n_img * out_h * out_w, n_ch * kh * kw)
''',
}

# ----------------------------------------------------------------------------- col2im

_COL2IM_RETURN = "return xp[:, :, pad:pad + H, pad:pad + W].copy()"

COL2IM_MUTANTS = {
    "overlaps_overwritten": _mutate("col2im", (
        "b:b + stride * out_w:stride] += (", "b:b + stride * out_w:stride] = (")),
    "overlaps_averaged": _mutate("col2im", (
        _COL2IM_RETURN,
        """counts = np.zeros(xp.shape)
    for a in range(kh):
        for b in range(kw):
            counts[:, :, a:a + stride * out_h:stride, b:b + stride * out_w:stride] += 1
    xp = xp / np.maximum(counts, 1)
    return xp[:, :, pad:pad + H, pad:pad + W].copy()""")),
    "padding_kept": _mutate("col2im", (_COL2IM_RETURN, "return xp")),
    "padding_cut_with_negative_index": _mutate("col2im", (
        _COL2IM_RETURN, "return xp[:, :, pad:-pad, pad:-pad].copy()")),
    "padding_cut_on_one_side": _mutate("col2im", (
        _COL2IM_RETURN, "return xp[:, :, :H, :W].copy()")),
    "columns_read_in_a_b_c_order": _mutate(
        "col2im",
        ("blocks = cols.reshape(N, out_h, out_w, C, kh, kw)",
         "blocks = cols.reshape(N, out_h, out_w, kh, kw, C)"),
        ("blocks[:, :, :, :, a, b].transpose(0, 3, 1, 2)",
         "blocks[:, :, :, a, b, :].transpose(0, 3, 1, 2)"),
    ),
    "buffer_always_float64": _mutate("col2im", (
        "xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)",
        "xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad))")),
    "stride_ignored": _mutate("col2im", (
        "xp[:, :, a:a + stride * out_h:stride, b:b + stride * out_w:stride] += (",
        "xp[:, :, a:a + out_h, b:b + out_w] += (")),
}

COL2IM_VARIANTS = {
    "loop_over_windows": '''
def col2im(cols, x_shape, kh, kw, stride=1, pad=0):
    n_img, n_ch, height, width = x_shape
    out_h = (height + 2 * pad - kh) // stride + 1
    out_w = (width + 2 * pad - kw) // stride + 1
    xp = np.zeros((n_img, n_ch, height + 2 * pad, width + 2 * pad), dtype=cols.dtype)
    row = 0
    for n in range(n_img):
        for i in range(out_h):
            for j in range(out_w):
                top, left = i * stride, j * stride
                xp[n, :, top:top + kh, left:left + kw] += cols[row].reshape(n_ch, kh, kw)
                row += 1
    return xp[:, :, pad:pad + height, pad:pad + width]
''',
    "add_at_with_index_arrays": '''
def col2im(cols, x_shape, kh, kw, stride=1, pad=0):
    n_img, n_ch, height, width = x_shape
    out_h = (height + 2 * pad - kh) // stride + 1
    out_w = (width + 2 * pad - kw) // stride + 1
    rows = stride * np.repeat(np.arange(out_h), out_w)[:, None] + np.repeat(np.arange(kh), kw)
    columns = stride * np.tile(np.arange(out_w), out_h)[:, None] + np.tile(np.arange(kw), kh)
    patches = cols.reshape(n_img, out_h * out_w, n_ch, kh * kw).transpose(0, 2, 1, 3)
    xp = np.zeros((n_img, n_ch, height + 2 * pad, width + 2 * pad), dtype=cols.dtype)
    np.add.at(xp, (slice(None), slice(None), rows, columns), patches)
    if pad == 0:
        return xp
    return xp[:, :, pad:-pad, pad:-pad]
''',
}

# ------------------------------------------------------------------ conv2d_forward_fast

_PRODUCT = "out = cols @ w.reshape(F, -1).T + b"

CONV_FORWARD_MUTANTS = {
    "bias_forgotten": _mutate("conv2d_forward_fast", (_PRODUCT, "out = cols @ w.reshape(F, -1).T")),
    "weights_reshaped_to_columns_directly": _mutate("conv2d_forward_fast", (
        _PRODUCT, "out = cols @ w.reshape(-1, F) + b")),
    "output_reshaped_without_transpose": _mutate("conv2d_forward_fast", (
        "out.reshape(N, out_h, out_w, F).transpose(0, 3, 1, 2)",
        "out.reshape(N, F, out_h, out_w)")),
    "kernel_flipped": _mutate("conv2d_forward_fast", (
        _PRODUCT, "out = cols @ w[:, :, ::-1, ::-1].reshape(F, -1).T + b")),
    "padding_not_passed_on": _mutate("conv2d_forward_fast", (
        "cols = im2col(x, kh, kw, stride, pad)", "cols = im2col(x, kh, kw, stride)")),
    "spatial_axes_swapped": _mutate("conv2d_forward_fast", (
        "out.reshape(N, out_h, out_w, F).transpose(0, 3, 1, 2)",
        "out.reshape(N, out_w, out_h, F).transpose(0, 3, 2, 1)")),
}

CONV_FORWARD_VARIANTS = {
    "tensordot_filters_first": '''
def conv2d_forward_fast(x, w, b, stride=1, pad=0):
    n_img, _, height, width = x.shape
    n_f, _, kh, kw = w.shape
    out_h = (height + 2 * pad - kh) // stride + 1
    out_w = (width + 2 * pad - kw) // stride + 1
    cols = im2col(x, kh, kw, stride, pad)
    out = np.tensordot(w.reshape(n_f, -1), cols, axes=([1], [1]))
    out = out.reshape(n_f, n_img, out_h, out_w).transpose(1, 0, 2, 3) + b[None, :, None, None]
    return out, (x.shape, w, cols, stride, pad)
''',
    "einsum": '''
def conv2d_forward_fast(x, w, b, stride=1, pad=0):
    n_img, _, height, width = x.shape
    n_f, n_ch, kh, kw = w.shape
    out_h = (height + 2 * pad - kh) // stride + 1
    out_w = (width + 2 * pad - kw) // stride + 1
    cols = im2col(x, kh, kw, stride, pad)
    windows = cols.reshape(n_img, out_h, out_w, n_ch, kh, kw)
    out = np.einsum("nijcab,fcab->nfij", windows, w) + b.reshape(1, -1, 1, 1)
    return out, (x.shape, w, cols, stride, pad)
''',
}

# ----------------------------------------------------------------- conv2d_backward_fast

CONV_BACKWARD_MUTANTS = {
    "dout_reshaped_without_transpose": _mutate("conv2d_backward_fast", (
        "dout_rows = dout.transpose(0, 2, 3, 1).reshape(-1, F)",
        "dout_rows = dout.reshape(-1, F)")),
    "db_not_summed_over_pixels": _mutate("conv2d_backward_fast", (
        "db = dout_rows.sum(axis=0)", "db = dout.sum(axis=0)")),
    "dw_product_transposed": _mutate("conv2d_backward_fast", (
        "dw = (dout_rows.T @ cols).reshape(w.shape)", "dw = (cols.T @ dout_rows).reshape(w.shape)")),
    "dx_with_flipped_kernel": _mutate("conv2d_backward_fast", (
        "col2im(dout_rows @ w.reshape(F, -1),", "col2im(dout_rows @ w[:, :, ::-1, ::-1].reshape(F, -1),")),
    "dx_without_stride": _mutate("conv2d_backward_fast", (
        "x_shape, kh, kw, stride, pad)", "x_shape, kh, kw, 1, pad)")),
    "dw_averaged_over_batch": _mutate("conv2d_backward_fast", (
        "dw = (dout_rows.T @ cols).reshape(w.shape)",
        "dw = (dout_rows.T @ cols).reshape(w.shape) / x_shape[0]")),
    "db_averaged_over_pixels": _mutate("conv2d_backward_fast", (
        "db = dout_rows.sum(axis=0)", "db = dout_rows.mean(axis=0)")),
}

CONV_BACKWARD_VARIANTS = {
    "einsum": '''
def conv2d_backward_fast(dout, cache):
    x_shape, w, cols, stride, pad = cache
    n_f, n_ch, kh, kw = w.shape
    n_img, _, out_h, out_w = dout.shape
    windows = cols.reshape(n_img, out_h, out_w, n_ch, kh, kw)
    dw = np.einsum("nfij,nijcab->fcab", dout, windows)
    db = dout.sum(axis=(0, 2, 3))
    dcols = np.einsum("nfij,fcab->nijcab", dout, w).reshape(cols.shape)
    return col2im(dcols, x_shape, kh, kw, stride, pad), dw, db
''',
    "scatter_per_kernel_offset": '''
def conv2d_backward_fast(dout, cache):
    x_shape, w, cols, stride, pad = cache
    n_img, n_ch, height, width = x_shape
    n_f, _, kh, kw = w.shape
    out_h, out_w = dout.shape[2], dout.shape[3]
    flat = dout.transpose(1, 0, 2, 3).reshape(n_f, -1)
    order = cols.reshape(n_img, out_h, out_w, -1).reshape(-1, n_ch * kh * kw)
    dw = (flat @ order).reshape(w.shape)
    db = flat.sum(axis=1)
    dxp = np.zeros((n_img, n_ch, height + 2 * pad, width + 2 * pad), dtype=dout.dtype)
    for a in range(kh):
        for b in range(kw):
            dxp[:, :, a:a + stride * out_h:stride, b:b + stride * out_w:stride] += np.einsum(
                "nfij,fc->ncij", dout, w[:, :, a, b])
    return dxp[:, :, pad:pad + height, pad:pad + width], dw, db
''',
}

# ---------------------------------------------------------------------------- SimpleCNN

SIMPLECNN_MUTANTS = {
    "flattened_in_i_j_f_order": _mutate(
        "SimpleCNN",
        ("flat = pooled.reshape(n, -1)", "flat = pooled.transpose(0, 2, 3, 1).reshape(n, -1)"),
        ('dpooled = (dscores @ self.params["W2"].T).reshape(n, f, hp, wp)',
         'dpooled = (dscores @ self.params["W2"].T).reshape(n, hp, wp, f).transpose(0, 3, 1, 2)'),
    ),
    "pool_gradient_to_every_tied_maximum": _mutate(
        "SimpleCNN",
        ("return scores, (conv, conv_cache, first_max, flat)",
         "return scores, (conv, conv_cache, windows == pooled[..., None], flat)"),
        ("n, f, hp, wp = first_max.shape", "n, f, hp, wp = first_max.shape[:4]"),
        ("np.put_along_axis(dwindows, first_max[..., None], dpooled[..., None], axis=-1)",
         "dwindows = first_max * dpooled[..., None]"),
    ),
    "pool_gradient_to_last_maximum": _mutate("SimpleCNN", (
        "first_max = np.argmax(windows, axis=-1)",
        "first_max = 3 - np.argmax(windows[..., ::-1], axis=-1)")),
    "relu_backward_forgotten": _mutate("SimpleCNN", ("dconv = dact * (conv > 0)", "dconv = dact")),
    "relu_derivative_one_at_zero": _mutate("SimpleCNN", (
        "dconv = dact * (conv > 0)", "dconv = dact * (conv >= 0)")),
    "labels_indexed_as_a_block": _mutate("SimpleCNN", (
        "loss = float(-log_probs[np.arange(n), y].mean())", "loss = float(-log_probs[:, y].mean())")),
    "gradient_not_divided_by_batch": _mutate("SimpleCNN", ("        dscores /= n\n", "")),
    "softmax_without_max_shift": _mutate("SimpleCNN", (
        "shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores")),
    "odd_maps_not_cropped_for_pooling": _mutate("SimpleCNN", (
        "windows = (act[:, :, :2 * hp, :2 * wp].reshape(", "windows = (act.reshape(")),
    "initialisation_not_seeded": _mutate("SimpleCNN", (
        "rng = np.random.default_rng(seed)", "rng = np.random.default_rng()")),
    "last_layer_initialised_with_unit_variance": _mutate("SimpleCNN", (
        'rng.normal(0.0, 0.01, size=(hidden, num_classes))',
        'rng.normal(0.0, 1.0, size=(hidden, num_classes))')),
    "predict_returns_scores": _mutate("SimpleCNN", (
        "return np.argmax(self.forward(x)[0], axis=1)", "return self.forward(x)[0]")),
    "convolution_not_padded": _mutate("SimpleCNN", ("self.pad = k // 2", "self.pad = 0")),
    "no_relu_at_all": _mutate(
        "SimpleCNN",
        ("act = np.maximum(conv, 0.0)", "act = conv"),
        ("dconv = dact * (conv > 0)", "dconv = dact"),
    ),
    "pool_windows_grouped_without_transpose": _mutate(
        "SimpleCNN",
        ("\n                   .transpose(0, 1, 2, 4, 3, 5).reshape(n, f, hp, wp, 4))",
         ".reshape(n, f, hp, wp, 4))"),
        ("(dwindows.reshape(n, f, hp, wp, 2, 2)\n" + " " * 40
         + ".transpose(0, 1, 2, 4, 3, 5).reshape(n, f, 2 * hp, 2 * wp))",
         "dwindows.reshape(n, f, 2 * hp, 2 * wp)"),
    ),
    "dscores_sign_flipped": _mutate("SimpleCNN", (
        "grads, _ = self.backward(dscores, cache)", "grads, _ = self.backward(-dscores, cache)")),
    "he_variance_passed_as_scale": _mutate("SimpleCNN", (
        "rng.normal(0.0, np.sqrt(2.0 / (channels * k * k)),",
        "rng.normal(0.0, 2.0 / (channels * k * k),")),
    "loss_summed_over_batch": _mutate(
        "SimpleCNN",
        ("loss = float(-log_probs[np.arange(n), y].mean())",
         "loss = float(-log_probs[np.arange(n), y].sum())"),
        ("        dscores /= n\n", ""),
    ),
}

SIMPLECNN_VARIANTS = {
    "everything_in_loss_with_pooling_masks": '''
class SimpleCNN:
    def __init__(self, input_shape, num_filters=8, filter_size=3, num_classes=10, seed=0):
        c, h, w = input_shape
        rng = np.random.default_rng(seed)
        self.params = {}
        self.params["W1"] = rng.standard_normal((num_filters, c, filter_size, filter_size))
        self.params["W1"] *= np.sqrt(2.0 / (c * filter_size ** 2))
        self.params["b1"] = np.zeros(num_filters)
        self.params["W2"] = 0.01 * rng.standard_normal((num_filters * (h // 2) * (w // 2),
                                                        num_classes))
        self.params["b2"] = np.zeros(num_classes)
        self.pad = filter_size // 2

    def _scores(self, x):
        conv, conv_cache = conv2d_forward_fast(x, self.params["W1"], self.params["b1"], 1,
                                               self.pad)
        relu = np.where(conv > 0, conv, 0.0)
        hp, wp = relu.shape[2] // 2, relu.shape[3] // 2
        corners = [relu[:, :, a:2 * hp:2, b:2 * wp:2] for a in (0, 1) for b in (0, 1)]
        pooled = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
        scores = pooled.reshape(len(x), -1) @ self.params["W2"] + self.params["b2"]
        return scores, (conv, conv_cache, corners, pooled)

    def loss(self, x, y):
        scores, (conv, conv_cache, corners, pooled) = self._scores(x)
        n = len(x)
        top = scores.max(axis=1, keepdims=True)
        log_z = top[:, 0] + np.log(np.sum(np.exp(scores - top), axis=1))
        loss = np.mean(log_z - scores[np.arange(n), y])
        probs = np.exp(scores - log_z[:, None])
        onehot = np.zeros_like(scores)
        onehot[np.arange(n), y] = 1.0
        dscores = (probs - onehot) / n
        grads = {"W2": pooled.reshape(n, -1).T @ dscores, "b2": np.sum(dscores, axis=0)}
        dpooled = (dscores @ self.params["W2"].T).reshape(pooled.shape)
        drelu = np.zeros(conv.shape)
        taken = np.zeros(pooled.shape, dtype=bool)
        for k, (a, b) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
            hit = (corners[k] == pooled) & ~taken
            drelu[:, :, a:2 * pooled.shape[2]:2, b:2 * pooled.shape[3]:2] = np.where(hit, dpooled, 0.0)
            taken |= hit
        dconv = np.where(conv > 0, drelu, 0.0)
        _, grads["W1"], grads["b1"] = conv2d_backward_fast(dconv, conv_cache)
        return loss, grads

    def predict(self, x):
        return self._scores(x)[0].argmax(axis=1)
''',
    "one_hot_windows_and_logaddexp": '''
class SimpleCNN:
    def __init__(self, input_shape, num_filters=8, filter_size=3, num_classes=10, seed=0):
        channels, height, width = input_shape
        rng = np.random.default_rng(seed)
        fan_in = channels * filter_size * filter_size
        self.params = {
            "W1": rng.normal(scale=np.sqrt(2 / fan_in),
                             size=(num_filters, channels, filter_size, filter_size)),
            "b1": np.zeros(num_filters),
            "W2": rng.normal(scale=0.01, size=(num_filters * (height // 2) * (width // 2),
                                               num_classes)),
            "b2": np.zeros(num_classes),
        }
        self.filter_size = filter_size

    def forward(self, x):
        p = self.params
        conv, conv_cache = conv2d_forward_fast(x, p["W1"], p["b1"], pad=self.filter_size // 2)
        act = conv * (conv > 0)
        n, f, h, w = act.shape
        hp, wp = h // 2, w // 2
        win = act[:, :, :2 * hp, :2 * wp].reshape(n, f, hp, 2, wp, 2)
        win = np.moveaxis(win, 3, 4).reshape(n, f, hp, wp, 4)
        mask = np.eye(4)[win.argmax(axis=-1)]
        pooled = np.sum(win * mask, axis=-1)
        feats = pooled.reshape(n, f * hp * wp)
        return feats @ p["W2"] + p["b2"], (conv, conv_cache, mask, feats)

    def loss(self, x, y):
        scores, (conv, conv_cache, mask, feats) = self.forward(x)
        n = scores.shape[0]
        log_probs = scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)
        loss = -np.mean(log_probs[np.arange(n), y])
        dscores = np.exp(log_probs)
        dscores[np.arange(n), y] -= 1
        dscores = dscores / n
        grads = {"W2": feats.T @ dscores, "b2": dscores.sum(0)}
        _, f, hp, wp, _ = mask.shape
        dwin = mask * (dscores @ self.params["W2"].T).reshape(n, f, hp, wp, 1)
        dwin = np.moveaxis(dwin.reshape(n, f, hp, wp, 2, 2), 4, 3).reshape(n, f, 2 * hp, 2 * wp)
        dact = np.zeros_like(conv)
        dact[:, :, :2 * hp, :2 * wp] = dwin
        dx, dw1, db1 = conv2d_backward_fast(dact * (conv > 0), conv_cache)
        grads["W1"], grads["b1"] = dw1, db1
        return float(loss), grads

    def predict(self, x):
        return np.argmax(self.forward(x)[0], axis=-1)
''',
}

# -------------------------------------------------------------------------------- train

_LAYERS_KEEP_REFERENCES = '''
class Convolution:
    """A conv layer that keeps the weight and bias arrays it was built with."""

    def __init__(self, weight, bias, pad):
        self.weight, self.bias, self.pad = weight, bias, pad

    def forward(self, x):
        out, self.cache = conv2d_forward_fast(x, self.weight, self.bias, 1, self.pad)
        return out

    def backward(self, dout):
        dx, self.dweight, self.dbias = conv2d_backward_fast(dout, self.cache)
        return dx


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0.0
        return out

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = 0.0
        return dx


class Pooling:
    """2x2 max pooling, stride 2, with a loop over the four offsets of a window."""

    def forward(self, x):
        n, f, h, w = x.shape
        self.shape, hp, wp = x.shape, h // 2, w // 2
        self.best = np.full((n, f, hp, wp), -np.inf)
        self.where = np.zeros((n, f, hp, wp), dtype=int)
        for k, (a, b) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
            entry = x[:, :, a:2 * hp:2, b:2 * wp:2]
            better = entry > self.best
            self.best = np.where(better, entry, self.best)
            self.where = np.where(better, k, self.where)
        return self.best

    def backward(self, dout):
        dx = np.zeros(self.shape)
        hp, wp = dout.shape[2], dout.shape[3]
        for k, (a, b) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
            dx[:, :, a:2 * hp:2, b:2 * wp:2] = np.where(self.where == k, dout, 0.0)
        return dx


class Affine:
    """Flattens its input, then x @ W + b, keeping the arrays W and b it was built with."""

    def __init__(self, weight, bias):
        self.weight, self.bias = weight, bias

    def forward(self, x):
        self.shape = x.shape
        self.x = x.reshape(len(x), -1)
        return self.x @ self.weight + self.bias

    def backward(self, dout):
        self.dweight, self.dbias = self.x.T @ dout, dout.sum(axis=0)
        return (dout @ self.weight.T).reshape(self.shape)


class SimpleCNN:
    """Deep Learning from Scratch style: a list of layers that hold the parameter arrays."""

    def __init__(self, input_shape, num_filters=8, filter_size=3, num_classes=10, seed=0):
        channels, height, width = input_shape
        rng = np.random.default_rng(seed)
        scale = np.sqrt(2.0 / (channels * filter_size ** 2))
        self.params = {
            "W1": scale * rng.standard_normal((num_filters, channels, filter_size, filter_size)),
            "b1": np.zeros(num_filters),
            "W2": 0.01 * rng.standard_normal((num_filters * (height // 2) * (width // 2),
                                              num_classes)),
            "b2": np.zeros(num_classes),
        }
        self.conv = Convolution(self.params["W1"], self.params["b1"], filter_size // 2)
        self.affine = Affine(self.params["W2"], self.params["b2"])
        self.layers = [self.conv, Relu(), Pooling(), self.affine]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x, None

    def backward(self, dscores, cache=None):
        dout = dscores
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        grads = {"W1": self.conv.dweight, "b1": self.conv.dbias,
                 "W2": self.affine.dweight, "b2": self.affine.dbias}
        return grads, dout

    def loss(self, x, y):
        scores, _ = self.forward(x)
        n = len(x)
        scores = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(probs[np.arange(n), y] + 1e-300))
        dscores = probs.copy()
        dscores[np.arange(n), y] -= 1.0
        grads, _ = self.backward(dscores / n)
        return float(loss), grads

    def predict(self, x):
        return self.forward(x)[0].argmax(axis=1)
'''

SIMPLECNN_VARIANTS["layers_keep_references"] = _LAYERS_KEEP_REFERENCES

TRAIN_MUTANTS = {
    "never_shuffled": _mutate("train", ("order = rng.permutation(n)", "order = np.arange(n)")),
    "shuffled_once_for_all_epochs": _mutate("train", (
        "for _ in range(epochs):\n        order = rng.permutation(n)",
        "order = rng.permutation(n)\n    for _ in range(epochs):")),
    "last_partial_batch_dropped": _mutate("train", (
        "for start in range(0, n, batch_size):",
        "for start in range(0, n - batch_size + 1, batch_size):")),
    "gradient_ascent": _mutate("train", (
        "model.params[key] -= lr * grad", "model.params[key] += lr * grad")),
    "data_shuffled_in_place": _mutate("train", (
        "order = rng.permutation(n)",
        "state = rng.bit_generator.state\n        rng.shuffle(X)\n"
        "        rng.bit_generator.state = state\n        rng.shuffle(y)\n"
        "        order = np.arange(n)")),
    "images_and_labels_shuffled_separately": _mutate(
        "train",
        ("order = rng.permutation(n)", "order = rng.permutation(n)\n        labels = rng.permutation(n)"),
        ("model.loss(X[batch], y[batch])",
         "model.loss(X[batch], y[labels[start:start + batch_size]])"),
    ),
    "seed_ignored": _mutate("train", (
        "rng = np.random.default_rng(seed)", "rng = np.random.default_rng()")),
    "step_divided_by_batch_size": _mutate("train", (
        "model.params[key] -= lr * grad", "model.params[key] -= lr * grad / len(batch)")),
    "history_keeps_epoch_means": _mutate(
        "train",
        ("        order = rng.permutation(n)\n",
         "        order = rng.permutation(n)\n        epoch_losses = []\n"),
        ("            history[\"loss\"].append(float(loss))",
         "            epoch_losses.append(float(loss))\n"
         "        history[\"loss\"].append(float(np.mean(epoch_losses)))"),
    ),
}

TRAIN_VARIANTS = {
    "shuffled_indices_and_new_arrays": '''
def train(model, X, y, epochs, batch_size, lr, seed=0):
    rng = np.random.default_rng(seed)
    history = {"loss": []}
    idx = np.arange(len(X))
    for epoch in range(epochs):
        rng.shuffle(idx)
        for batch in np.split(idx, np.arange(batch_size, len(idx), batch_size)):
            loss, grads = model.loss(X[batch], y[batch])
            for key in model.params:
                model.params[key] = model.params[key] - lr * grads[key]
            history["loss"].append(loss)
    return history
''',
    "permuted_copies_and_while_loop": '''
def train(model, X, y, epochs, batch_size, lr, seed=0):
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        perm = rng.permutation(X.shape[0])
        x_epoch, y_epoch = X[perm], y[perm]
        start = 0
        while start < len(y_epoch):
            loss, grads = model.loss(x_epoch[start:start + batch_size],
                                     y_epoch[start:start + batch_size])
            for key, value in model.params.items():
                value -= lr * grads[key]
            losses.append(float(loss))
            start += batch_size
    return {"loss": losses}
''',
}

MUTANTS = {
    "im2col_source": IM2COL_SOURCE_MUTANTS,
    "windows_containing": WINDOWS_MUTANTS,
    "conv_matmul_shapes": SHAPES_MUTANTS,
    "matmul_conv_grads": MATMUL_GRADS_MUTANTS,
    "relu_pool_gradient": RELU_POOL_MUTANTS,
    "one_sgd_step": SGD_STEP_MUTANTS,
    "im2col": IM2COL_MUTANTS,
    "col2im": COL2IM_MUTANTS,
    "conv2d_forward_fast": CONV_FORWARD_MUTANTS,
    "conv2d_backward_fast": CONV_BACKWARD_MUTANTS,
    "SimpleCNN": SIMPLECNN_MUTANTS,
    "train": TRAIN_MUTANTS,
}

# Only the hidden tests catch these; why a visible test cannot without giving the answer away.
HIDDEN_ONLY: dict[str, dict[str, str]] = {}

# Mutants whose answer is an exact multiple or the negative of the right one.
EXACT_RELATIONS = {
    "matmul_conv_grads": {"dx_sign_flipped": "sign", "dwm_averaged_over_rows": "scale",
                          "db_averaged_over_rows": "scale"},
    "conv2d_backward_fast": {"dw_averaged_over_batch": "scale", "db_averaged_over_pixels": "scale"},
    "SimpleCNN": {"gradient_not_divided_by_batch": "scale", "loss_summed_over_batch": "scale",
                  "dscores_sign_flipped": "sign"},
}

CORRECT_VARIANTS = {
    "im2col_source": IM2COL_SOURCE_VARIANTS,
    "windows_containing": WINDOWS_VARIANTS,
    "conv_matmul_shapes": SHAPES_VARIANTS,
    "matmul_conv_grads": MATMUL_GRADS_VARIANTS,
    "relu_pool_gradient": RELU_POOL_VARIANTS,
    "one_sgd_step": SGD_STEP_VARIANTS,
    "im2col": IM2COL_VARIANTS,
    "col2im": COL2IM_VARIANTS,
    "conv2d_forward_fast": CONV_FORWARD_VARIANTS,
    "conv2d_backward_fast": CONV_BACKWARD_VARIANTS,
    "SimpleCNN": SIMPLECNN_VARIANTS,
    "train": TRAIN_VARIANTS,
}
