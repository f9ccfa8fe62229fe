"""Plausible mistakes and correct variants for 05_maxpool.

Each source redefines one graded name the way a student might. Variants and
mutants of ``maxpool_forward`` keep the documented cache
``(x, argmax, (ph, pw), stride)`` with ``argmax`` the flat index ``r * W + c``
of each window's first maximum, so that they pair with the reference
``maxpool_backward`` (and the other way round).

The derivation answers (``pooled_size``, ``window_pixels``, ``dx_example``) have their own mutants:
the wrong derivations a student plausibly makes (the stride forgotten, a ceiling for the floor,
the last or every tied maximum, one of two overlapping windows kept).
"""

MUTANTS = {
    "pooled_size": {
        "ceil_division": '''
def pooled_size(H, p, s):
    return -(-(H - p) // s) + 1
''',
        "stride_ignored": '''
def pooled_size(H, p, s):
    return H // p
''',
        "length_over_stride": '''
def pooled_size(H, p, s):
    return H // s
''',
        "last_window_forgotten": '''
def pooled_size(H, p, s):
    return (H - p) // s
''',
        "one_pixel_too_many": '''
def pooled_size(H, p, s):
    return (H - p + 1) // s + 1
''',
        "true_division": '''
def pooled_size(H, p, s):
    return (H - p) / s + 1
''',
    },
    "window_pixels": {
        "stride_ignored": '''
def window_pixels(i, j, ph, pw, s):
    return {(i * ph + a, j * pw + b) for a in range(ph) for b in range(pw)}
''',
        "height_and_width_swapped": '''
def window_pixels(i, j, ph, pw, s):
    return {(i * s + a, j * s + b) for a in range(pw) for b in range(ph)}
''',
        "inclusive_end": '''
def window_pixels(i, j, ph, pw, s):
    return {(r, c) for r in range(i * s, i * s + ph + 1) for c in range(j * s, j * s + pw + 1)}
''',
        "i_and_j_swapped": '''
def window_pixels(i, j, ph, pw, s):
    return {(j * s + a, i * s + b) for a in range(ph) for b in range(pw)}
''',
        "step_of_one": '''
def window_pixels(i, j, ph, pw, s):
    return {(i + a, j + b) for a in range(ph) for b in range(pw)}
''',
    },
    "dx_example": {
        "one_window_kept_at_the_shared_winner": '''
def dx_example(dout):
    dx = np.zeros((3, 3))
    dx[0, 1] = dout[0, 1]
    dx[2, 1] = dout[1, 0]
    dx[1, 2] = dout[1, 1]
    return dx
''',
        "last_tied_maximum": '''
def dx_example(dout):
    dx = np.zeros((3, 3))
    dx[0, 1] = dout[0, 0] + dout[0, 1]
    dx[2, 1] = dout[1, 0] + dout[1, 1]
    return dx
''',
        "every_tied_maximum": '''
def dx_example(dout):
    dx = np.zeros((3, 3))
    dx[0, 1] = dout[0, 0] + dout[0, 1]
    dx[2, 1] = dout[1, 0] + dout[1, 1]
    dx[1, 2] = dout[1, 1]
    return dx
''',
        "split_among_ties": '''
def dx_example(dout):
    dx = np.zeros((3, 3))
    dx[0, 1] = dout[0, 0] + dout[0, 1]
    dx[2, 1] = dout[1, 0] + dout[1, 1] / 2
    dx[1, 2] = dout[1, 1] / 2
    return dx
''',
        "dout_read_transposed": '''
def dx_example(dout):
    dx = np.zeros((3, 3))
    dx[0, 1] = dout[0, 0] + dout[1, 0]
    dx[2, 1] = dout[0, 1]
    dx[1, 2] = dout[1, 1]
    return dx
''',
    },
    "maxpool_forward": {
        "output_size_with_ceil": '''
def maxpool_forward(x, pool=2, stride=2):
    ph, pw = (pool, pool) if np.ndim(pool) == 0 else pool
    N, C, H, W = x.shape
    Ho = -(-(H - ph) // stride) + 1
    Wo = -(-(W - pw) // stride) + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for i in range(Ho):
        for j in range(Wo):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            h, w = window.shape[2:]
            flat = window.reshape(N, C, h * w)
            k = np.argmax(flat, axis=2)
            out[:, :, i, j] = flat.max(axis=2)
            argmax[:, :, i, j] = (i * stride + k // w) * W + j * stride + k % w
    return out, (x, argmax, (ph, pw), stride)
''',
        "stride_ignored": '''
def maxpool_forward(x, pool=2, stride=2):
    ph, pw = (pool, pool) if np.ndim(pool) == 0 else pool
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // ph + 1, (W - pw) // pw + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for i in range(Ho):
        for j in range(Wo):
            flat = x[:, :, i * ph:i * ph + ph, j * pw:j * pw + pw].reshape(N, C, ph * pw)
            k = np.argmax(flat, axis=2)
            out[:, :, i, j] = flat.max(axis=2)
            argmax[:, :, i, j] = (i * ph + k // pw) * W + j * pw + k % pw
    return out, (x, argmax, (ph, pw), stride)
''',
        "pool_tuple_swapped": '''
def maxpool_forward(x, pool=2, stride=2):
    pw, ph = (pool, pool) if np.ndim(pool) == 0 else pool
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // stride + 1, (W - pw) // stride + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for i in range(Ho):
        for j in range(Wo):
            flat = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw].reshape(N, C, ph * pw)
            k = np.argmax(flat, axis=2)
            out[:, :, i, j] = flat.max(axis=2)
            argmax[:, :, i, j] = (i * stride + k // pw) * W + j * stride + k % pw
    return out, (x, argmax, (ph, pw), stride)
''',
        "output_size_H_over_stride": '''
def maxpool_forward(x, pool=2, stride=2):
    ph, pw = (pool, pool) if np.ndim(pool) == 0 else pool
    N, C, H, W = x.shape
    Ho, Wo = H // stride, W // stride
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for i in range(Ho):
        for j in range(Wo):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            h, w = window.shape[2:]
            flat = window.reshape(N, C, h * w)
            k = np.argmax(flat, axis=2)
            out[:, :, i, j] = flat.max(axis=2)
            argmax[:, :, i, j] = (i * stride + k // w) * W + j * stride + k % w
    return out, (x, argmax, (ph, pw), stride)
''',
        "float64_output": '''
def maxpool_forward(x, pool=2, stride=2):
    ph, pw = (pool, pool) if np.ndim(pool) == 0 else pool
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // stride + 1, (W - pw) // stride + 1
    out = np.zeros((N, C, Ho, Wo))
    argmax = np.zeros((N, C, Ho, Wo), dtype=int)
    for i in range(Ho):
        for j in range(Wo):
            flat = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw].reshape(N, C, -1)
            k = np.argmax(flat, axis=2)
            out[:, :, i, j] = flat.max(axis=2)
            argmax[:, :, i, j] = (i * stride + k // pw) * W + j * stride + k % pw
    return out, (x, argmax, (ph, pw), stride)
''',
        "last_maximum_kept": '''
def maxpool_forward(x, pool=2, stride=2):
    ph, pw = (pool, pool) if np.ndim(pool) == 0 else pool
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // stride + 1, (W - pw) // stride + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best, where = -np.inf, 0
                    for r in range(i * stride, i * stride + ph):
                        for s in range(j * stride, j * stride + pw):
                            if x[n, c, r, s] >= best:
                                best, where = x[n, c, r, s], r * W + s
                    out[n, c, i, j] = best
                    argmax[n, c, i, j] = where
    return out, (x, argmax, (ph, pw), stride)
''',
        "column_major_first_maximum": '''
def maxpool_forward(x, pool=2, stride=2):
    ph, pw = (pool, pool) if np.ndim(pool) == 0 else pool
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // stride + 1, (W - pw) // stride + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best, where = -np.inf, 0
                    for s in range(j * stride, j * stride + pw):
                        for r in range(i * stride, i * stride + ph):
                            if x[n, c, r, s] > best:
                                best, where = x[n, c, r, s], r * W + s
                    out[n, c, i, j] = best
                    argmax[n, c, i, j] = where
    return out, (x, argmax, (ph, pw), stride)
''',
        "index_inside_the_window": '''
def maxpool_forward(x, pool=2, stride=2):
    ph, pw = (pool, pool) if np.ndim(pool) == 0 else pool
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // stride + 1, (W - pw) // stride + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for i in range(Ho):
        for j in range(Wo):
            flat = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw].reshape(N, C, -1)
            out[:, :, i, j] = flat.max(axis=2)
            argmax[:, :, i, j] = np.argmax(flat, axis=2)
    return out, (x, argmax, (ph, pw), stride)
''',
        "flat_index_times_H": '''
def maxpool_forward(x, pool=2, stride=2):
    ph, pw = (pool, pool) if np.ndim(pool) == 0 else pool
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // stride + 1, (W - pw) // stride + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for i in range(Ho):
        for j in range(Wo):
            flat = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw].reshape(N, C, ph * pw)
            k = np.argmax(flat, axis=2)
            out[:, :, i, j] = flat.max(axis=2)
            argmax[:, :, i, j] = (i * stride + k // pw) * H + j * stride + k % pw
    return out, (x, argmax, (ph, pw), stride)
''',
        "default_stride_one": '''
def maxpool_forward(x, pool=2, stride=1):
    ph, pw = (pool, pool) if np.ndim(pool) == 0 else pool
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // stride + 1, (W - pw) // stride + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for i in range(Ho):
        for j in range(Wo):
            flat = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw].reshape(N, C, ph * pw)
            k = np.argmax(flat, axis=2)
            out[:, :, i, j] = flat.max(axis=2)
            argmax[:, :, i, j] = (i * stride + k // pw) * W + j * stride + k % pw
    return out, (x, argmax, (ph, pw), stride)
''',
        "window_slice_axes_swapped": '''
def maxpool_forward(x, pool=2, stride=2):
    ph, pw = (pool, pool) if np.ndim(pool) == 0 else pool
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // stride + 1, (W - pw) // stride + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for i in range(Ho):
        for j in range(Wo):
            window = x[:, :, i * stride:i * stride + pw, j * stride:j * stride + ph]
            h, w = window.shape[2:]
            flat = window.reshape(N, C, h * w)
            k = np.argmax(flat, axis=2)
            out[:, :, i, j] = flat.max(axis=2)
            argmax[:, :, i, j] = (i * stride + k // w) * W + j * stride + k % w
    return out, (x, argmax, (ph, pw), stride)
''',
        "pooled_across_the_batch": '''
def maxpool_forward(x, pool=2, stride=2):
    ph, pw = (pool, pool) if np.ndim(pool) == 0 else tuple(pool)
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // stride + 1, (W - pw) // stride + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for i in range(Ho):
        for j in range(Wo):
            r0, c0 = i * stride, j * stride
            window = x[:, :, r0:r0 + ph, c0:c0 + pw]
            out[:, :, i, j] = window.max()  # one maximum over every image and channel
            k = np.argmax(window.reshape(N, C, ph * pw), axis=2)
            argmax[:, :, i, j] = (r0 + k // pw) * W + (c0 + k % pw)
    return out, (x, argmax, (ph, pw), stride)
''',
        "winner_index_with_ph_for_pw": '''
def maxpool_forward(x, pool=2, stride=2):
    ph, pw = (pool, pool) if np.ndim(pool) == 0 else tuple(pool)
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // stride + 1, (W - pw) // stride + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for i in range(Ho):
        for j in range(Wo):
            r0, c0 = i * stride, j * stride
            window = x[:, :, r0:r0 + ph, c0:c0 + pw].reshape(N, C, ph * pw)
            k = np.argmax(window, axis=2)
            out[:, :, i, j] = np.take_along_axis(window, k[:, :, None], axis=2)[:, :, 0]
            argmax[:, :, i, j] = (r0 + k // ph) * W + (c0 + k % ph)  # right for square windows only
    return out, (x, argmax, (ph, pw), stride)
''',
    },
    "maxpool_backward": {
        "assignment_instead_of_addition": '''
def maxpool_backward(dout, cache):
    x, argmax, _, _ = cache
    N, C, H, W = x.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    r, s = divmod(int(argmax[n, c, i, j]), W)
                    dx[n, c, r, s] = dout[n, c, i, j]
    return dx
''',
        "fancy_index_plus_equals": '''
def maxpool_backward(dout, cache):
    x, argmax, _, _ = cache
    N, C, H, W = x.shape
    dx = np.zeros((N, C, H * W), dtype=x.dtype)
    n_idx = np.arange(N)[:, None, None, None]
    c_idx = np.arange(C)[None, :, None, None]
    dx[n_idx, c_idx, argmax] += dout
    return dx.reshape(x.shape)
''',
        "every_tied_maximum": '''
def maxpool_backward(dout, cache):
    x, _, (ph, pw), stride = cache
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw] += (
                mask * dout[:, :, i, j][:, :, None, None])
    return dx
''',
        "last_tied_maximum": '''
def maxpool_backward(dout, cache):
    x, _, (ph, pw), stride = cache
    N, C, H, W = x.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    k = window.size - 1 - np.argmax(window.ravel()[::-1])
                    dx[n, c, i * stride + k // pw, j * stride + k % pw] += dout[n, c, i, j]
    return dx
''',
        "stride_ignored": '''
def maxpool_backward(dout, cache):
    x, _, (ph, pw), stride = cache
    N, C, H, W = x.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = x[n, c, i * ph:i * ph + ph, j * pw:j * pw + pw]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * ph + a, j * pw + b] += dout[n, c, i, j]
    return dx
''',
        "split_among_ties": '''
def maxpool_backward(dout, cache):
    x, _, (ph, pw), stride = cache
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            share = mask / mask.sum(axis=(2, 3), keepdims=True)
            dx[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw] += (
                share * dout[:, :, i, j][:, :, None, None])
    return dx
''',
        "average_pooling_backward": '''
def maxpool_backward(dout, cache):
    x, _, (ph, pw), stride = cache
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw] += (
                dout[:, :, i, j][:, :, None, None] / (ph * pw))
    return dx
''',
        "flat_index_divided_by_H": '''
def maxpool_backward(dout, cache):
    x, argmax, _, _ = cache
    N, C, H, W = x.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    r, s = divmod(int(argmax[n, c, i, j]), H)
                    dx[n, c, r, s] += dout[n, c, i, j]
    return dx
''',
        "float64_zeros": '''
def maxpool_backward(dout, cache):
    x, argmax, _, _ = cache
    N, C, H, W = x.shape
    dx = np.zeros(x.shape)
    rows, cols = np.unravel_index(argmax, (H, W))
    n_idx = np.arange(N)[:, None, None, None]
    c_idx = np.arange(C)[None, :, None, None]
    np.add.at(dx, (n_idx, c_idx, rows, cols), dout)
    return dx
''',
        "fancy_index_assignment": '''
def maxpool_backward(dout, cache):
    x, argmax, _, _ = cache
    N, C, H, W = x.shape
    dx = np.zeros((N, C, H * W), dtype=x.dtype)
    n_idx = np.arange(N)[:, None, None, None]
    c_idx = np.arange(C)[None, :, None, None]
    dx[n_idx, c_idx, argmax] = dout
    return dx.reshape(x.shape)
''',
        "zeros_by_overwriting_x": '''
def maxpool_backward(dout, cache):
    x, argmax, _, _ = cache
    N, C, H, W = x.shape
    dx = x.reshape(N, C, H * W)
    dx[...] = 0
    n_idx = np.arange(N)[:, None, None, None]
    c_idx = np.arange(C)[None, :, None, None]
    np.add.at(dx, (n_idx, c_idx, argmax), dout)
    return dx.reshape(x.shape)
''',
    },
}

CORRECT_VARIANTS = {
    "pooled_size": {
        "count_the_starts": '''
def pooled_size(H, p, s):
    return len(range(0, H - p + 1, s))
''',
        "slide_until_it_sticks_out": '''
def pooled_size(H, p, s):
    count, start = 0, 0
    while start + p <= H:
        count += 1
        start += s
    return count
''',
        "floor_of_a_float": '''
def pooled_size(H, p, s):
    import math
    return math.floor((H - p) / s) + 1
''',
    },
    "window_pixels": {
        "row_and_column_ranges": '''
def window_pixels(i, j, ph, pw, s):
    rows = range(i * s, i * s + ph)
    cols = range(j * s, j * s + pw)
    return {(r, c) for r in rows for c in cols}
''',
        "product_as_a_list": '''
def window_pixels(i, j, ph, pw, s):
    from itertools import product
    top, left = s * i, s * j
    return [(top + a, left + b) for a, b in product(range(ph), range(pw))]
''',
    },
    "dx_example": {
        "written_out": '''
def dx_example(dout):
    (d00, d01), (d10, d11) = dout
    return np.array([[0.0, d00 + d01, 0.0],
                     [0.0, 0.0, d11],
                     [0.0, d10, 0.0]])
''',
        "winners_added_in_a_loop": '''
def dx_example(dout):
    winner = {(0, 0): (0, 1), (0, 1): (0, 1), (1, 0): (2, 1), (1, 1): (1, 2)}
    dx = np.zeros((3, 3))
    for window, position in winner.items():
        dx[position] += dout[window]
    return dx
''',
    },
    "maxpool_forward": {
        "four_loops_and_a_scan": '''
def maxpool_forward(x, pool=2, stride=2):
    if isinstance(pool, int):
        pool = (pool, pool)
    ph, pw = pool
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // stride + 1, (W - pw) // stride + 1
    out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.zeros((N, C, Ho, Wo), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best, where = None, None
                    for r in range(i * stride, i * stride + ph):
                        for s in range(j * stride, j * stride + pw):
                            if best is None or x[n, c, r, s] > best:
                                best, where = x[n, c, r, s], r * W + s
                    out[n, c, i, j] = best
                    argmax[n, c, i, j] = where
    return out, (x, argmax, (ph, pw), stride)
''',
        "sliding_window_view": '''
def maxpool_forward(x, pool=2, stride=2):
    from numpy.lib.stride_tricks import sliding_window_view

    ph, pw = np.broadcast_to(pool, (2,))
    ph, pw = int(ph), int(pw)
    N, C, H, W = x.shape
    windows = sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, ::stride, ::stride]
    Ho, Wo = windows.shape[2:4]
    flat = windows.reshape(N, C, Ho, Wo, ph * pw)
    k = flat.argmax(axis=-1)
    out = flat.max(axis=-1)
    rows = np.arange(Ho)[:, None] * stride + k // pw
    cols = np.arange(Wo)[None, :] * stride + k % pw
    return out, (x, rows * W + cols, (ph, pw), stride)
''',
        "unravel_per_window": '''
def maxpool_forward(x, pool=2, stride=2):
    ph, pw = pool if isinstance(pool, tuple) else (pool, pool)
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // stride + 1, (W - pw) // stride + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((N, C, Ho, Wo), dtype=int)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    out[n, c, i, j] = window[a, b]
                    argmax[n, c, i, j] = np.ravel_multi_index((i * stride + a, j * stride + b), (H, W))
    return out, (x, argmax, (ph, pw), stride)
''',
    },
    "maxpool_backward": {
        "loops_with_divmod": '''
def maxpool_backward(dout, cache):
    x, argmax, pool, stride = cache
    N, C, H, W = x.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    r, s = divmod(int(argmax[n, c, i, j]), W)
                    dx[n, c, r, s] += dout[n, c, i, j]
    return dx
''',
        "rescan_and_stop_at_first_maximum": '''
def maxpool_backward(dout, cache):
    x, _, (ph, pw), stride = cache
    N, C, H, W = x.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    top = window.max()
                    found = False
                    for a in range(ph):
                        for b in range(pw):
                            if not found and window[a, b] == top:
                                dx[n, c, i * stride + a, j * stride + b] += dout[n, c, i, j]
                                found = True
    return dx
''',
        "unravel_and_add_at": '''
def maxpool_backward(dout, cache):
    x, argmax, _, _ = cache
    N, C, H, W = x.shape
    dx = np.zeros(x.shape, dtype=x.dtype)
    rows, cols = np.unravel_index(argmax, (H, W))
    n_idx, c_idx = np.ogrid[:N, :C]
    np.add.at(dx, (n_idx[:, :, None, None], c_idx[:, :, None, None], rows, cols), dout)
    return dx
''',
        "bincount_per_plane": '''
def maxpool_backward(dout, cache):
    x, argmax, _, _ = cache
    N, C, H, W = x.shape
    plane = (np.arange(N * C).reshape(N, C, 1, 1) * (H * W) + argmax).ravel()
    dx = np.bincount(plane, weights=dout.ravel(), minlength=N * C * H * W)
    return dx.reshape(x.shape).astype(x.dtype)
''',
    },
}
