"""Activations, their derivatives, and output losses as small tables (after scikit-learn's MLP).

Activations work in place. Each derivative is expressed through the activation's *output* so the
backward pass needs no pre-activation buffer: it multiplies ``delta`` by that factor in place.
"""
from __future__ import annotations

import numpy as np

LEAKY_SLOPE = 0.01


# ``zeros``/``ones`` may be arrays of ``out``'s shape instead of scalars: NumPy then stays on its fast
# same-shape loop, which is several times quicker than broadcasting a scalar on small arrays.

def _sigmoid(z, out, zeros=0.0, ones=1.0):
    # 1/(1+exp(-z)) written to stay finite for large |z| (float overflow -> inf -> 0 is fine here)
    np.negative(z, out=out)
    np.exp(out, out=out)
    np.add(out, ones, out=out)
    np.reciprocal(out, out=out)
    return out


def _tanh(z, out, zeros=0.0, ones=1.0):
    return np.tanh(z, out=out)


def _relu(z, out, zeros=0.0, ones=1.0):
    return np.maximum(z, zeros, out=out)


def _leaky_relu(z, out, zeros=0.0, ones=1.0):
    # max(z, slope*z) is leaky ReLU for 0 < slope < 1 (the product is a temporary: out may be z)
    return np.maximum(z, z * LEAKY_SLOPE, out=out)


def _linear(z, out, zeros=0.0, ones=1.0):
    if out is not z:
        out[...] = z
    return out


ACTIVATIONS = {"sigmoid": _sigmoid, "tanh": _tanh, "relu": _relu, "leaky_relu": _leaky_relu,
               "linear": _linear}


# Derivative factors f'(z), written into ``out`` from the activation's output ``a``. The backward pass
# multiplies each layer's delta by its factor; with one activation throughout, the factors of all hidden
# layers come from a single call on their shared buffer.

def _f_sigmoid(a, out, ones=1.0):
    np.subtract(ones, a, out=out)
    out *= a
    return out


def _f_tanh(a, out, ones=1.0):
    np.multiply(a, a, out=out)
    np.subtract(ones, out, out=out)
    return out


def _f_relu(a, out, ones=1.0):
    # a = max(z, 0) >= 0, so ceil(min(a, 1)) is the 0/1 derivative (two fast SIMD loops; sign() is slower)
    np.minimum(a, ones, out=out)
    return np.ceil(out, out=out)


def _f_leaky_relu(a, out, ones=1.0):
    out.fill(1.0)
    np.copyto(out, LEAKY_SLOPE, where=a < 0.0)
    return out


DERIVATIVE_FACTORS = {"sigmoid": _f_sigmoid, "tanh": _f_tanh, "relu": _f_relu, "leaky_relu": _f_leaky_relu,
                      "linear": None}


# -- output heads: loss from logits, and dL/dlogits ------------------------------------------------------
# y is (N, 1) float for binary/regression, (N,) int class index for softmax.

def binary_cross_entropy(z, y):
    """Mean BCE of sigmoid(z) against y in {0, 1}, computed stably from the logits."""
    return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))


# ``n`` is the batch's row count: a chunk of a larger batch divides by the whole batch's count, so the
# chunks' gradients add up to the batch's.

def binary_grad(z, y, out, n=None):
    _sigmoid(z, out)
    out -= y
    out /= n or len(z)
    return out


def softmax(z, out):
    np.subtract(z, z.max(axis=1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out


def softmax_cross_entropy(z, y):
    """Mean cross-entropy of softmax(z) against class indices y, via log-sum-exp."""
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(z)), y]))


def softmax_grad(z, y, out, n=None):
    softmax(z, out)
    out[np.arange(len(z)), y] -= 1.0
    out /= n or len(z)
    return out


def squared_error(z, y):
    """Half mean squared error, as TensorFlow Playground's regression uses."""
    d = z - y
    return float(0.5 * np.mean(d * d))


def squared_error_grad(z, y, out, n=None):
    np.subtract(z, y, out=out)
    out /= n or len(z)
    return out


# -- per-row losses for evaluating many points at once (the trainer's per-epoch record) ------------------

def binary_row_losses(z, sign, out, zeros=0.0, scratch=None):
    """BCE per row for labels y in {0, 1}, given ``sign`` = 1 - 2y: softplus(sign * z), computed stably.

    With ``scratch`` (an array like ``out``) and more than SOFTPLUS_ROWS rows, softplus(x) is computed as
    max(x, 0) + log1p(exp(-|x|)): six SIMD loops, about twice as fast as ``logaddexp`` (which has none)
    on a few hundred rows; the same value up to rounding."""
    if scratch is None or len(out) <= SOFTPLUS_ROWS:
        np.multiply(z, sign, out=out)
        return np.logaddexp(zeros, out, out=out)
    np.multiply(z, sign, out=scratch)
    np.abs(scratch, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    np.maximum(scratch, zeros, out=scratch)
    return np.add(out, scratch, out=out)


SOFTPLUS_ROWS = 64


def binary_row_losses_fast(z, sign, out):
    """:func:`binary_row_losses` as log1p(exp(sign * z)): three calls, exact to rounding (2.3e-16 relative)
    except that a row whose sign * z exceeds ~709 gives infinity; a caller whose sum is not finite computes
    the rows again with :func:`binary_row_losses`."""
    np.multiply(z, sign, out=out)
    np.exp(out, out=out)
    return np.log1p(out, out=out)


def softmax_row_losses(z, flat_target, out, row_max, scratch):
    """Cross-entropy per row: log-sum-exp minus the target logit (``flat_target`` indexes ``z.ravel()``)."""
    np.maximum.reduce(z, axis=1, out=row_max)
    np.subtract(z, row_max[:, None], out=scratch)
    np.exp(scratch, out=scratch)
    np.add.reduce(scratch, axis=1, out=out)
    np.log(out, out=out)
    out += row_max
    out -= np.take(z.reshape(-1), flat_target)
    return out


def squared_error_rows(z, y, out):
    np.subtract(z, y, out=out)
    np.multiply(out, out, out=out)
    out *= 0.5
    return out


LOSSES = {"binary": binary_cross_entropy, "softmax": softmax_cross_entropy, "regression": squared_error}
LOSS_GRADIENTS = {"binary": binary_grad, "softmax": softmax_grad, "regression": squared_error_grad}
