"""Activations, their derivatives, and output losses as small tables (after scikit-learn's MLP).

Activations work in place. Each derivative is expressed through the activation's *output* so the
backward pass needs no pre-activation buffer: it multiplies ``delta`` in place.
"""
from __future__ import annotations

import numpy as np

LEAKY_SLOPE = 0.01


def _sigmoid(z, out):
    # 1/(1+exp(-z)) written to stay finite for large |z| (float overflow -> inf -> 0 is fine here)
    np.negative(z, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


def _tanh(z, out):
    return np.tanh(z, out=out)


def _relu(z, out):
    return np.maximum(z, 0.0, out=out)


def _leaky_relu(z, out):
    # max(z, slope*z) is leaky ReLU for 0 < slope < 1 (the product is a temporary: out may be z)
    return np.maximum(z, z * LEAKY_SLOPE, out=out)


def _linear(z, out):
    if out is not z:
        out[...] = z
    return out


ACTIVATIONS = {"sigmoid": _sigmoid, "tanh": _tanh, "relu": _relu, "leaky_relu": _leaky_relu,
               "linear": _linear}


def _d_sigmoid(a, delta, tmp):
    np.subtract(1.0, a, out=tmp)
    tmp *= a
    delta *= tmp


def _d_tanh(a, delta, tmp):
    np.multiply(a, a, out=tmp)
    np.subtract(1.0, tmp, out=tmp)
    delta *= tmp


def _d_relu(a, delta, tmp):
    delta[a <= 0.0] = 0.0


def _d_leaky_relu(a, delta, tmp):
    delta[a < 0.0] *= LEAKY_SLOPE


def _d_linear(a, delta, tmp):
    pass


DERIVATIVES = {"sigmoid": _d_sigmoid, "tanh": _d_tanh, "relu": _d_relu, "leaky_relu": _d_leaky_relu,
               "linear": _d_linear}


# -- output heads: loss from logits, and dL/dlogits ------------------------------------------------------
# y is (N, 1) float for binary/regression, (N,) int class index for softmax.

def binary_cross_entropy(z, y):
    """Mean BCE of sigmoid(z) against y in {0, 1}, computed stably from the logits."""
    return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def binary_grad(z, y, out):
    _sigmoid(z, out)
    out -= y
    out /= len(z)
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


def softmax_grad(z, y, out):
    softmax(z, out)
    out[np.arange(len(z)), y] -= 1.0
    out /= len(z)
    return out


def squared_error(z, y):
    """Half mean squared error, as TensorFlow Playground's regression uses."""
    d = z - y
    return float(0.5 * np.mean(d * d))


def squared_error_grad(z, y, out):
    np.subtract(z, y, out=out)
    out /= len(z)
    return out


LOSSES = {"binary": binary_cross_entropy, "softmax": softmax_cross_entropy, "regression": squared_error}
LOSS_GRADIENTS = {"binary": binary_grad, "softmax": softmax_grad, "regression": squared_error_grad}
