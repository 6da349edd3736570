"""Optimisers as small classes updating one flat parameter vector in place.

All parameters live in one contiguous buffer, so every update is a handful of vectorised
operations whatever the depth of the network. ``learning_rate`` is passed per step so a
schedule or a live edit takes effect at once without touching the optimiser's state.
"""
from __future__ import annotations

import numpy as np


class SGD:
    def __init__(self, size: int, **_):
        self._tmp = np.empty(size)

    def step(self, params: np.ndarray, grad: np.ndarray, lr: float) -> None:
        np.multiply(grad, lr, out=self._tmp)
        params -= self._tmp


class Momentum:
    """v <- mu v - lr g;  w <- w + v   (Nesterov: w <- w + mu v - lr g, as in scikit-learn)."""

    def __init__(self, size: int, momentum: float = 0.9, nesterov: bool = False, **_):
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocity = np.zeros(size)
        self._tmp = np.empty(size)

    def step(self, params, grad, lr):
        v, tmp = self.velocity, self._tmp
        v *= self.momentum
        np.multiply(grad, lr, out=tmp)
        v -= tmp
        if self.nesterov:
            params -= tmp
            np.multiply(v, self.momentum, out=tmp)
        else:
            tmp = v
        params += tmp


class RMSprop:
    """s <- rho s + (1 - rho) g^2;  w <- w - lr g / (sqrt(s) + eps)."""

    def __init__(self, size: int, rho: float = 0.9, epsilon: float = 1e-8, **_):
        self.rho, self.epsilon = rho, epsilon
        self.square_avg = np.zeros(size)
        self._tmp = np.empty(size)

    def step(self, params, grad, lr):
        s, tmp = self.square_avg, self._tmp
        s *= self.rho
        np.multiply(grad, grad, out=tmp)
        tmp *= 1.0 - self.rho
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.epsilon
        np.divide(grad, tmp, out=tmp)
        tmp *= lr
        params -= tmp


class Adam:
    """Kingma & Ba with the bias correction folded into the step size (as scikit-learn does)."""

    def __init__(self, size: int, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8, **_):
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.t = 0
        self.m = np.zeros(size)
        self.v = np.zeros(size)
        self._tmp = np.empty(size)

    def step(self, params, grad, lr):
        self.t += 1
        b1, b2, tmp = self.beta1, self.beta2, self._tmp
        self.m *= b1
        np.multiply(grad, 1.0 - b1, out=tmp)
        self.m += tmp
        self.v *= b2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1.0 - b2
        self.v += tmp
        lr_t = lr * np.sqrt(1.0 - b2 ** self.t) / (1.0 - b1 ** self.t)
        np.sqrt(self.v, out=tmp)
        tmp += self.epsilon
        np.divide(self.m, tmp, out=tmp)
        tmp *= lr_t
        params -= tmp


def make_optimizer(cfg, size: int):
    """Build the optimiser named in an :class:`OptimizerConfig` for ``size`` parameters."""
    if cfg.name == "sgd":
        return SGD(size)
    if cfg.name in ("momentum", "nesterov"):
        return Momentum(size, momentum=cfg.momentum, nesterov=cfg.name == "nesterov")
    if cfg.name == "rmsprop":
        return RMSprop(size, rho=cfg.rho, epsilon=cfg.epsilon)
    if cfg.name == "adam":
        return Adam(size, beta1=cfg.beta1, beta2=cfg.beta2, epsilon=cfg.epsilon)
    raise ValueError(f"unknown optimiser {cfg.name!r}")


def update_hyperparameters(opt, cfg) -> None:
    """Apply edited hyper-parameters to a running optimiser, keeping its state."""
    if isinstance(opt, Momentum):
        opt.momentum = cfg.momentum
    elif isinstance(opt, RMSprop):
        opt.rho, opt.epsilon = cfg.rho, cfg.epsilon
    elif isinstance(opt, Adam):
        opt.beta1, opt.beta2, opt.epsilon = cfg.beta1, cfg.beta2, cfg.epsilon


def optimizer_matches(opt, cfg) -> bool:
    """Whether ``opt`` is the kind ``cfg`` names (else a new one, with fresh state, is needed)."""
    kinds = {"sgd": SGD, "momentum": Momentum, "nesterov": Momentum, "rmsprop": RMSprop, "adam": Adam}
    if type(opt) is not kinds[cfg.name]:
        return False
    return not isinstance(opt, Momentum) or opt.nesterov == (cfg.name == "nesterov")
