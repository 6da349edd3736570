"""L1 and L2 weight penalties (weights only, never biases).

penalty = l1 * sum|w| + (l2 / 2) * sum w^2, so its gradient is l1 * sign(w) + l2 * w.
"""
from __future__ import annotations

import numpy as np


def penalty_value(w: np.ndarray, l1: float, l2: float) -> float:
    value = 0.0
    if l1:
        value += l1 * float(np.abs(w).sum())
    if l2:
        value += 0.5 * l2 * float(np.dot(w, w))
    return value


def add_penalty_gradient(w: np.ndarray, grad_w: np.ndarray, l1: float, l2: float, tmp: np.ndarray) -> None:
    """grad_w += d(penalty)/dw, using ``tmp`` (same shape) as scratch space."""
    if l2:
        np.multiply(w, l2, out=tmp)
        grad_w += tmp
    if l1:
        np.sign(w, out=tmp)
        tmp *= l1
        grad_w += tmp
