"""L1 and L2 weight penalties (weights only, never biases).

penalty = l1 * sum|w| + (l2 / 2) * sum w^2, so its gradient is l1 * sign(w) + l2 * w.

L1 works through its subgradient l1 * sign(w) (what PyTorch gives for an L1 term added to the loss), not a
proximal step: weights it pushes down end near zero (|w| < 1e-3, the history's ``near_zero``), oscillating
by about one step size, not at exactly zero. L2's gradient added before the optimiser is exactly what
torch's ``weight_decay`` does for SGD and Adam (on the weights only here).
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
