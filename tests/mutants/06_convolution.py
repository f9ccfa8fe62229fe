"""Plausible mistakes and correct alternatives for 06_convolution.

Every entry keeps the cache of the reference, ``(x, w, b, stride, pad, mode)``
(the notebook gives that line outside the solution region), so a forward
entry runs with the reference backward and the other way round.
"""

_FORWARD = '''
import numpy as np


def conv2d_forward(x, w, b, stride=1, pad=0, mode="cross_correlation"):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    kernel = {kernel}
    xp = {xp}
    out_h = {out_h}
    out_w = {out_w}
    out = np.zeros((N, F, out_h, out_w), dtype={dtype})
    for n in range(N):
        for f in range(F):
            for i in range(out_h):
                for j in range(out_w):
                    top, left = {top_left}
                    window = xp[n, :, top : top + KH, left : left + KW]
                    out[n, f, i, j] = {value}
    cache = (x, w, b, stride, pad, mode)
    return out, cache
'''

_FORWARD_DEFAULTS = {
    "kernel": 'w[:, :, ::-1, ::-1] if mode == "convolution" else w',
    "xp": "np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))",
    "out_h": "(H + 2 * pad - KH) // stride + 1",
    "out_w": "(W + 2 * pad - KW) // stride + 1",
    "dtype": "x.dtype",
    "top_left": "i * stride, j * stride",
    "value": "np.sum(window * kernel[f]) + b[f]",
}


def _forward(**changes):
    fields = dict(_FORWARD_DEFAULTS)
    fields.update(changes)
    return _FORWARD.format(**fields)


_BACKWARD = '''
import numpy as np


def conv2d_backward(dout, cache):
    x, w, b, stride, pad, mode = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    {out_hw} = dout.shape[2:]
    kernel = {kernel}
    xp = {xp}
    dxp = {dxp}
    dkernel = np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(out_h):
                for j in range(out_w):
                    top, left = {top_left}
                    g = dout[n, f, i, j]
                    {dx_update}
                    {dw_update}
    dx = {dx}
    dw = {dw}
    db = {db}
    return dx, dw, db
'''

_BACKWARD_DEFAULTS = {
    "out_hw": "out_h, out_w",
    "kernel": 'w[:, :, ::-1, ::-1] if mode == "convolution" else w',
    "xp": "np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))",
    "top_left": "i * stride, j * stride",
    "dxp": "np.zeros_like(xp)",
    "dx_update": "dxp[n, :, top : top + KH, left : left + KW] += g * kernel[f]",
    "dw_update": "dkernel[f] += g * xp[n, :, top : top + KH, left : left + KW]",
    "dx": "dxp[:, :, pad : pad + H, pad : pad + W]",
    "dw": 'dkernel[:, :, ::-1, ::-1] if mode == "convolution" else dkernel',
    "db": "dout.sum(axis=(0, 2, 3))",
}


def _backward(**changes):
    fields = dict(_BACKWARD_DEFAULTS)
    fields.update(changes)
    return _BACKWARD.format(**fields)


MUTANTS = {
    "conv2d_forward": {
        "height_and_width_swapped": _forward(
            out_h="(W + 2 * pad - KW) // stride + 1", out_w="(H + 2 * pad - KH) // stride + 1"
        ),
        "kernel_size_axes_swapped": _forward(
            value="np.sum(xp[n, :, top : top + KW, left : left + KH] * kernel[f]) + b[f]"
        ),
        "transpose_instead_of_rotation": _forward(
            kernel='w.transpose(0, 1, 3, 2) if mode == "convolution" else w'
        ),
        "flip_in_the_wrong_mode": _forward(
            kernel='w[:, :, ::-1, ::-1] if mode == "cross_correlation" else w'
        ),
        "flip_one_axis_only": _forward(kernel='w[:, :, ::-1, :] if mode == "convolution" else w'),
        "stride_ignored_in_window_position": _forward(top_left="i, j"),
        "output_size_with_ceil": _forward(
            out_h="-(-(H + 2 * pad - KH) // stride) + 1",
            out_w="-(-(W + 2 * pad - KW) // stride) + 1",
        ),
        "padding_only_top_and_left": _forward(
            xp="np.pad(x, ((0, 0), (0, 0), (pad, 0), (pad, 0)))",
            out_h="(H + pad - KH) // stride + 1",
            out_w="(W + pad - KW) // stride + 1",
        ),
        "padding_batch_and_channel_axes_too": _forward(xp="np.pad(x, pad)"),
        "one_input_channel_per_filter": _forward(
            value="np.sum(window[f % C] * kernel[f, f % C]) + b[f]"
        ),
        "bias_added_per_input_channel": _forward(
            value="np.sum(window * kernel[f]) + C * b[f]"
        ),
        "float64_output_always": _forward(dtype="np.float64"),
        "kernel_flipped_in_place": '''
import numpy as np


def conv2d_forward(x, w, b, stride=1, pad=0, mode="cross_correlation"):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    if mode == "convolution":
        w[:] = w[:, :, ::-1, ::-1].copy()
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h = (H + 2 * pad - KH) // stride + 1
    out_w = (W + 2 * pad - KW) // stride + 1
    out = np.zeros((N, F, out_h, out_w), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(out_h):
                for j in range(out_w):
                    window = xp[n, :, i * stride : i * stride + KH, j * stride : j * stride + KW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    cache = (x, w, b, stride, pad, mode)
    return out, cache
''',
    },
    "conv2d_backward": {
        "stride_ignored": _backward(top_left="i, j"),
        "unpad_with_negative_slice": _backward(dx="dxp[:, :, pad:-pad, pad:-pad]"),
        "padding_not_cut_away": _backward(dx="dxp"),
        "padding_cut_from_one_side": _backward(dx="dxp[:, :, pad:, pad:]"),
        "height_and_width_swapped": _backward(out_hw="out_w, out_h"),
        "dx_through_unrotated_kernel": _backward(
            dx_update="dxp[n, :, top : top + KH, left : left + KW] += g * w[f]"
        ),
        "dw_not_rotated_back": _backward(dw="dkernel"),
        "dx_through_transposed_kernel": _backward(
            kernel='w.transpose(0, 1, 3, 2) if mode == "convolution" else w'
        ),
        "dx_overwritten_not_accumulated": _backward(
            dx_update="dxp[n, :, top : top + KH, left : left + KW] = g * kernel[f]"
        ),
        "db_averaged_over_batch": _backward(db="dout.sum(axis=(0, 2, 3)) / N"),
        "db_averaged_over_everything": _backward(db="dout.mean(axis=(0, 2, 3))"),
        "dw_averaged_over_batch": _backward(
            dw='(dkernel[:, :, ::-1, ::-1] if mode == "convolution" else dkernel) / N'
        ),
        "dx_sums_over_channels": _backward(
            dx_update="dxp[n, :, top : top + KH, left : left + KW] += g * kernel[f].sum(axis=0)"
        ),
        # the Habr article's cross-correlation formula y_(is+a)(j+b): no stride on the columns
        "dw_without_stride_on_columns": _backward(
            dw_update="dkernel[f] += g * xp[n, :, top : top + KH, j : j + KW]"
        ),
        "dx_gradient_in_float64": _backward(dxp="np.zeros(xp.shape)"),
        "padding_one_side_in_backward": _backward(
            xp="np.pad(x, ((0, 0), (0, 0), (pad, 0), (pad, 0)))",
            dx="dxp[:, :, pad:, pad:]",
        ),
    },
}

CORRECT_VARIANTS = {
    "conv2d_forward": {
        "loop_over_kernel_offsets": '''
import numpy as np


def conv2d_forward(x, w, b, stride=1, pad=0, mode="cross_correlation"):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    kernel = np.flip(w, axis=(2, 3)) if mode == "convolution" else w
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h = (H + 2 * pad - KH) // stride + 1
    out_w = (W + 2 * pad - KW) // stride + 1
    out = np.zeros((N, F, out_h, out_w), dtype=x.dtype)
    for a in range(KH):
        for c in range(KW):
            rows = slice(a, a + stride * (out_h - 1) + 1, stride)
            cols = slice(c, c + stride * (out_w - 1) + 1, stride)
            out += np.einsum("nkhw,fk->nfhw", xp[:, :, rows, cols], kernel[:, :, a, c])
    out += b[None, :, None, None]
    cache = (x, w, b, stride, pad, mode)
    return out, cache
''',
        "scalar_loops_with_rotated_index": '''
import numpy as np


def conv2d_forward(x, w, b, stride=1, pad=0, mode="cross_correlation"):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    Hp, Wp = H + 2 * pad, W + 2 * pad
    xp = np.zeros((N, C, Hp, Wp), dtype=x.dtype)
    xp[:, :, pad : pad + H, pad : pad + W] = x
    out_h = (Hp - KH) // stride + 1
    out_w = (Wp - KW) // stride + 1
    out = np.empty((N, F, out_h, out_w), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(out_h):
                for j in range(out_w):
                    total = b[f]
                    for c in range(C):
                        for a in range(KH):
                            for q in range(KW):
                                if mode == "convolution":
                                    weight = w[f, c, KH - 1 - a, KW - 1 - q]
                                else:
                                    weight = w[f, c, a, q]
                                total += weight * xp[n, c, i * stride + a, j * stride + q]
                    out[n, f, i, j] = total
    cache = (x, w, b, stride, pad, mode)
    return out, cache
''',
        "rot90_and_tensordot": '''
import numpy as np


def conv2d_forward(x, w, b, stride=1, pad=0, mode="cross_correlation"):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    kernel = np.rot90(w, 2, axes=(2, 3)) if mode == "convolution" else w
    xp = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], mode="constant")
    out_h = 1 + (H + 2 * pad - KH) // stride
    out_w = 1 + (W + 2 * pad - KW) // stride
    out = np.zeros((N, F, out_h, out_w), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            patch = xp[:, :, i * stride : i * stride + KH, j * stride : j * stride + KW]
            out[:, :, i, j] = np.tensordot(patch, kernel, axes=([1, 2, 3], [1, 2, 3])) + b
    cache = (x, w, b, stride, pad, mode)
    return out, cache
''',
    },
    "conv2d_backward": {
        "loop_over_kernel_offsets": '''
import numpy as np


def conv2d_backward(dout, cache):
    x, w, b, stride, pad, mode = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    out_h, out_w = dout.shape[2:]
    kernel = np.flip(w, axis=(2, 3)) if mode == "convolution" else w
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dkernel = np.zeros_like(w)
    for a in range(KH):
        for c in range(KW):
            rows = slice(a, a + stride * (out_h - 1) + 1, stride)
            cols = slice(c, c + stride * (out_w - 1) + 1, stride)
            dkernel[:, :, a, c] = np.einsum("nfhw,nkhw->fk", dout, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += np.einsum("nfhw,fk->nkhw", dout, kernel[:, :, a, c])
    dx = dxp[:, :, pad : pad + H, pad : pad + W]
    dw = np.flip(dkernel, axis=(2, 3)) if mode == "convolution" else dkernel
    db = np.sum(dout, axis=(0, 2, 3))
    return dx, dw, db
''',
        "gather_per_input_pixel": '''
import numpy as np


def conv2d_backward(dout, cache):
    x, w, b, stride, pad, mode = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    out_h, out_w = dout.shape[2:]
    kernel = w[:, :, ::-1, ::-1] if mode == "convolution" else w
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx = np.zeros_like(x)
    # gather: input pixel (p, q) collects dout[i, j] * kernel[p - i*s, q - j*s]
    for p in range(H):
        for q in range(W):
            pp, qq = p + pad, q + pad
            for i in range(out_h):
                a = pp - i * stride
                if not 0 <= a < KH:
                    continue
                for j in range(out_w):
                    c = qq - j * stride
                    if 0 <= c < KW:
                        dx[:, :, p, q] += dout[:, :, i, j] @ kernel[:, :, a, c]
    dkernel = np.zeros_like(w)
    for a in range(KH):
        for c in range(KW):
            for i in range(out_h):
                for j in range(out_w):
                    pixel = xp[:, :, i * stride + a, j * stride + c]
                    dkernel[:, :, a, c] += dout[:, :, i, j].T @ pixel
    dw = dkernel[:, :, ::-1, ::-1] if mode == "convolution" else dkernel
    db = dout.sum(axis=3).sum(axis=2).sum(axis=0)
    return dx, dw, db
''',
        "dilated_upstream_gradient": '''
import numpy as np


def conv2d_backward(dout, cache):
    x, w, b, stride, pad, mode = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    out_h, out_w = dout.shape[2:]
    kernel = w[:, :, ::-1, ::-1] if mode == "convolution" else w
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    # zeros between the entries of dout make every sum a stride-1 one
    up = np.zeros((N, F, (out_h - 1) * stride + 1, (out_w - 1) * stride + 1), dtype=dout.dtype)
    up[:, :, ::stride, ::stride] = dout
    uh, uw = up.shape[2:]
    dkernel = np.zeros_like(w)
    for a in range(KH):
        for c in range(KW):
            dkernel[:, :, a, c] = np.einsum("nfhw,nkhw->fk", up, xp[:, :, a : a + uh, c : c + uw])
    dxp = np.zeros_like(xp)
    for a in range(KH):
        for c in range(KW):
            dxp[:, :, a : a + uh, c : c + uw] += np.einsum("nfhw,fk->nkhw", up, kernel[:, :, a, c])
    dx = dxp[:, :, pad : pad + H, pad : pad + W]
    dw = dkernel[:, :, ::-1, ::-1] if mode == "convolution" else dkernel
    return dx, dw, dout.sum(axis=(0, 2, 3))
''',
    },
}


# The derivation exercises: plausible wrong derivations, and equivalent right ones.
def _entry(body):
    return f"""
def convolution_entry(a, b, KH, KW):
    return {body}
"""


def _size(body):
    return f"""
def output_size(H, K, stride, pad):
    return {body}
"""


_PIXELS = """
def pixels_read(i, j, H, W, KH, KW, stride, pad):
    top, left = {top_left}
    rows = {rows}
    cols = range(max(left, 0), min(left + KW, W))
    return {{(p, q) for p in rows for q in cols}}
"""


def _pixels(top_left="i * stride - pad, j * stride - pad", rows="range(max(top, 0), min(top + KH, H))"):
    return _PIXELS.format(top_left=top_left, rows=rows)


_DB = """
import numpy as np


def dL_db(dout):
    return {body}
"""

_DW_TERMS = """
def dw_terms(a, b, H, W, KH, KW, stride, pad, mode):
    if mode == {flip_mode}:
        a, b = KH - 1 - a, KW - 1 - b
    terms = set()
    for i in range(output_size(H, KH, stride, pad)):
        for j in range(output_size(W, KW, stride, pad)):
            p, q = {pixel}
            if {inside}:
                terms.add((i, j, p, q))
    return terms
"""


def _dw_terms(flip_mode='"convolution"', pixel="i * stride + a - pad, j * stride + b - pad",
              inside="0 <= p < H and 0 <= q < W"):
    return _DW_TERMS.format(flip_mode=flip_mode, pixel=pixel, inside=inside)


_DX_TERMS = """
def dx_terms(p, q, H, W, KH, KW, stride, pad, mode):
    terms = set()
    for i in range({rows}):
        for j in range({cols}):
            a, b = {entry}
            if 0 <= a < KH and 0 <= b < KW:
                if mode == {flip_mode}:
                    a, b = {flipped}
                terms.add((i, j, a, b))
    return terms
"""


def _dx_terms(rows="output_size(H, KH, stride, pad)", cols="output_size(W, KW, stride, pad)",
              entry="p + pad - i * stride, q + pad - j * stride", flip_mode='"convolution"',
              flipped="KH - 1 - a, KW - 1 - b"):
    return _DX_TERMS.format(rows=rows, cols=cols, entry=entry, flip_mode=flip_mode, flipped=flipped)


DERIVATION_MUTANTS = {
    "convolution_entry": {
        "no_flip": _entry("(a, b)"),
        "transpose_instead_of_rotation": _entry("(b, a)"),
        "rows_flipped_only": _entry("(KH - 1 - a, b)"),
        "flip_off_by_one": _entry("(KH - a, KW - b)"),
        "kernel_sizes_swapped": _entry("(KW - 1 - a, KH - 1 - b)"),
    },
    "output_size": {
        "rounds_up": _size("-(-(H + 2 * pad - K) // stride) + 1"),
        "counts_gaps_not_windows": _size("(H + 2 * pad - K) // stride"),
        "padding_on_one_side": _size("(H + pad - K) // stride + 1"),
        "stride_divides_the_input": _size("(H + 2 * pad) // stride - K + 1"),
        "plus_one_inside_the_division": _size("(H + 2 * pad - K + 1) // stride"),
    },
    "pixels_read": {
        "stride_ignored": _pixels(top_left="i - pad, j * stride - pad"),
        "padding_not_subtracted": _pixels(top_left="i * stride, j * stride"),
        "padding_pixels_kept": _pixels(rows="range(top, top + KH)"),
        "window_one_row_too_tall": _pixels(rows="range(max(top, 0), min(top + KH + 1, H))"),
        "kernel_sizes_swapped": _pixels(rows="range(max(top, 0), min(top + KW, H))"),
    },
    "dL_db": {
        "mean_over_the_batch": _DB.format(body="dout.sum(axis=(0, 2, 3)) / dout.shape[0]"),
        "positions_only": _DB.format(body="dout.sum(axis=(2, 3))"),
        "batch_only": _DB.format(body="dout.sum(axis=0)"),
        "everything_summed": _DB.format(body="dout.sum()"),
        "mean_over_everything": _DB.format(body="dout.mean(axis=(0, 2, 3))"),
    },
    "dw_terms": {
        # the Habr article's cross-correlation formula y_(is+a)(j+b): no stride on the columns
        "no_stride_on_columns": _dw_terms(pixel="i * stride + a - pad, j + b - pad"),
        "not_rotated_back": _dw_terms(flip_mode='"never"'),
        "rotated_in_the_wrong_mode": _dw_terms(flip_mode='"cross_correlation"'),
        "padding_not_subtracted": _dw_terms(pixel="i * stride + a, j * stride + b"),
        "padding_products_kept": _dw_terms(inside="True"),
    },
    "dx_terms": {
        # the sum of the second edition: no bound i < H' (H=7, K=3, s=3: row 6 and i=2)
        "outputs_not_bounded": _dx_terms(rows="H + 2 * pad", cols="W + 2 * pad"),
        "no_flip_in_convolution_mode": _dx_terms(flip_mode='"never"'),
        "padding_not_added": _dx_terms(entry="p - i * stride, q - j * stride"),
        "stride_ignored": _dx_terms(entry="p + pad - i, q + pad - j"),
        "transposed_instead_of_rotated": _dx_terms(flipped="b, a"),
    },
}
MUTANTS.update(DERIVATION_MUTANTS)

CORRECT_VARIANTS.update({
    "convolution_entry": {
        "negative_index_modulo": _entry("((-1 - a) % KH, (-1 - b) % KW)"),
        "flat_index_reversed": _entry("divmod(KH * KW - 1 - (a * KW + b), KW)"),
    },
    "output_size": {
        "count_the_window_starts": _size("len(range(0, H + 2 * pad - K + 1, stride))"),
        "ceiling_of_one_more": _size("(H + 2 * pad - K + stride) // stride"),
    },
    "pixels_read": {
        "filter_the_whole_window": """
def pixels_read(i, j, H, W, KH, KW, stride, pad):
    window = [(i * stride + a - pad, j * stride + b - pad) for a in range(KH) for b in range(KW)]
    return [(p, q) for p, q in window if 0 <= p < H and 0 <= q < W]
""",
        "numpy_index_grid": """
import numpy as np


def pixels_read(i, j, H, W, KH, KW, stride, pad):
    rows = np.arange(KH) + i * stride - pad
    cols = np.arange(KW) + j * stride - pad
    rows, cols = rows[(rows >= 0) & (rows < H)], cols[(cols >= 0) & (cols < W)]
    return {(int(p), int(q)) for p in rows for q in cols}
""",
    },
    "dL_db": {
        "einsum": _DB.format(body='np.einsum("nfij->f", dout)'),
        "one_axis_at_a_time": _DB.format(body="dout.sum(axis=3).sum(axis=2).sum(axis=0)"),
    },
    "dw_terms": {
        "kernel_used_as_a_lookup": """
def dw_terms(a, b, H, W, KH, KW, stride, pad, mode):
    used = (KH - 1 - a, KW - 1 - b) if mode == "convolution" else (a, b)
    n_rows = (H + 2 * pad - KH) // stride + 1
    n_cols = (W + 2 * pad - KW) // stride + 1
    found = []
    for i in range(n_rows):
        for j in range(n_cols):
            p, q = i * stride + used[0] - pad, j * stride + used[1] - pad
            if p in range(H) and q in range(W):
                found.append((i, j, p, q))
    return found
""",
        "search_every_pixel": """
def dw_terms(a, b, H, W, KH, KW, stride, pad, mode):
    if mode == "convolution":
        a, b = KH - 1 - a, KW - 1 - b
    terms = set()
    for p in range(H):
        for q in range(W):
            i, rest_i = divmod(p + pad - a, stride)
            j, rest_j = divmod(q + pad - b, stride)
            if rest_i == rest_j == 0 and 0 <= i < output_size(H, KH, stride, pad) and 0 <= j < output_size(
                    W, KW, stride, pad):
                terms.add((i, j, p, q))
    return terms
""",
    },
    "dx_terms": {
        "only_the_outputs_that_can_reach": """
def dx_terms(p, q, H, W, KH, KW, stride, pad, mode):
    rows = [i for i in range(output_size(H, KH, stride, pad)) if 0 <= p + pad - i * stride < KH]
    cols = [j for j in range(output_size(W, KW, stride, pad)) if 0 <= q + pad - j * stride < KW]
    terms = []
    for i in rows:
        for j in cols:
            a, b = p + pad - i * stride, q + pad - j * stride
            terms.append((i, j, KH - 1 - a, KW - 1 - b) if mode == "convolution" else (i, j, a, b))
    return terms
""",
        "invert_the_forward_taps": """
def dx_terms(p, q, H, W, KH, KW, stride, pad, mode):
    terms = set()
    for i in range((H + 2 * pad - KH) // stride + 1):
        for j in range((W + 2 * pad - KW) // stride + 1):
            for a in range(KH):
                for b in range(KW):
                    if (i * stride + a - pad, j * stride + b - pad) == (p, q):
                        used = (KH - 1 - a, KW - 1 - b) if mode == "convolution" else (a, b)
                        terms.add((i, j) + used)
    return terms
""",
    },
})

# The answer is exactly the right one times a factor: the first message must name it.
# db_averaged_over_everything is not listed: its first failure is db of a single filter (one number),
# which any factor fits (a relation needs two entries with distinct non-zero right values).
EXACT_RELATIONS = {
    "conv2d_backward": {
        "db_averaged_over_batch": "scale",
        "dw_averaged_over_batch": "scale",
    },
    "dL_db": {
        "mean_over_the_batch": "scale",
        "mean_over_everything": "scale",
    },
}
