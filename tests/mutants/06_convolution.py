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

# The answer is exactly the right one times a factor: the first message must name it.
# db_averaged_over_everything is not listed: its first failure is db of a single filter (one number),
# which any factor fits (a relation needs two entries with distinct non-zero right values).
EXACT_RELATIONS = {
    "conv2d_backward": {
        "db_averaged_over_batch": "scale",
        "dw_averaged_over_batch": "scale",
    },
}
