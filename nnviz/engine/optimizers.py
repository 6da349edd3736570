"""Optimisers as small classes updating one flat parameter vector in place.

All parameters live in one contiguous buffer, so every update is a handful of vectorised
operations whatever the depth of the network. ``learning_rate`` is passed per step so a
schedule or a live edit takes effect at once without touching the optimiser's state.

The formulas and the state are those of ``torch.optim`` (SGD with momentum, dampening 0 and optional
Nesterov; RMSprop, not centred, no momentum; Adam, not AMSGrad), so a run can be checked against
PyTorch and a learning-rate change acts as it does there. The gradient ``g`` they receive already holds
the L2 penalty's gradient ``l2 * w`` (weights only), which is what torch's ``weight_decay`` adds for SGD
and Adam (torch would also decay the biases).

Buffers that only decay (momentum of weights whose gradient is zero, e.g. dead ReLU units) sink into
subnormal floats, on which every operation is many times slower; :meth:`flush_subnormals`, called once
per epoch, sets them to zero. Their contribution to a step is far below a weight's last bit, so results
do not change.
"""
from __future__ import annotations

import numpy as np


class _Buffers:
    """Shared scratch, and flushing of subnormal values in the state buffers."""
    state: tuple = ()

    def __init__(self, size: int, dtype=np.float64):
        self.dtype = np.dtype(dtype)
        self._tmp = np.empty(size, self.dtype)
        self._mask = None
        self._tiny = np.finfo(self.dtype).tiny   # smallest normal number

    def flush_subnormals(self) -> None:
        """Set subnormal entries of the state buffers to zero (cheap; keeps every later step fast)."""
        for name in self.state:
            buf = getattr(self, name)
            if self._mask is None:
                self._mask = np.empty(len(buf), bool)
            np.abs(buf, out=self._tmp)
            np.less(self._tmp, self._tiny, out=self._mask)
            np.copyto(buf, 0.0, where=self._mask)


class SGD(_Buffers):
    """torch.optim.SGD without momentum:  p <- p - lr g."""

    def __init__(self, size: int, dtype=np.float64, **_):
        super().__init__(size, dtype)

    def step(self, params: np.ndarray, grad: np.ndarray, lr: float) -> None:
        np.multiply(grad, lr, out=self._tmp)
        params -= self._tmp


class Momentum(_Buffers):
    """torch.optim.SGD(momentum=mu, dampening=0):  b <- mu b + g  (b = g at the first step);
    p <- p - lr b,  or with Nesterov  p <- p - lr (g + mu b).

    The buffer is in gradient units, so a new learning rate scales the whole next step (as in torch).
    """
    state = ("momentum_buffer",)

    def __init__(self, size: int, momentum: float = 0.9, nesterov: bool = False, dtype=np.float64, **_):
        super().__init__(size, dtype)
        self.momentum = momentum
        self.nesterov = nesterov
        self.momentum_buffer = np.zeros(size, self.dtype)

    def step(self, params, grad, lr):
        b, tmp = self.momentum_buffer, self._tmp
        b *= self.momentum
        b += grad
        if self.nesterov:
            np.multiply(b, self.momentum, out=tmp)
            tmp += grad
            tmp *= lr
        else:
            np.multiply(b, lr, out=tmp)
        params -= tmp


class RMSprop(_Buffers):
    """torch.optim.RMSprop (alpha = rho, centered=False, momentum 0):
    s <- rho s + (1 - rho) g^2;  p <- p - lr g / (sqrt(s) + eps)."""
    state = ("square_avg",)

    def __init__(self, size: int, rho: float = 0.9, epsilon: float = 1e-8, dtype=np.float64, **_):
        super().__init__(size, dtype)
        self.rho, self.epsilon = rho, epsilon
        self.square_avg = np.zeros(size, self.dtype)

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


class Adam(_Buffers):
    """torch.optim.Adam (amsgrad=False):  t <- t + 1;  m <- m + (1 - beta1)(g - m);
    v <- beta2 v + (1 - beta2) g^2;
    p <- p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    i.e. lr m_hat / (sqrt(v_hat) + eps): epsilon is added to the bias-corrected root, not scaled."""
    state = ("m", "v")

    def __init__(self, size: int, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
                 dtype=np.float64, **_):
        super().__init__(size, dtype)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.t = 0
        self.m = np.zeros(size, self.dtype)
        self.v = np.zeros(size, self.dtype)

    def step(self, params, grad, lr):
        self.t += 1
        b1, b2, tmp, m, v = self.beta1, self.beta2, self._tmp, self.m, self.v
        np.subtract(grad, m, out=tmp)        # m.lerp_(g, 1 - beta1), as torch writes it
        tmp *= 1.0 - b1
        m += tmp
        v *= b2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        # torch: (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps), written with one pass fewer as
        # (lr sqrt(bc2) / bc1) m / (sqrt(v) + eps sqrt(bc2)): the same number, eps still unscaled
        root_bc2 = (1.0 - b2 ** self.t) ** 0.5
        step_size = lr * root_bc2 / (1.0 - b1 ** self.t)
        np.sqrt(v, out=tmp)
        tmp += self.epsilon * root_bc2
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        params -= tmp


def make_optimizer(cfg, size: int, dtype=np.float64):
    """Build the optimiser named in an :class:`OptimizerConfig` for ``size`` parameters."""
    if cfg.name == "sgd":
        return SGD(size, dtype=dtype)
    if cfg.name in ("momentum", "nesterov"):
        return Momentum(size, momentum=cfg.momentum, nesterov=cfg.name == "nesterov", dtype=dtype)
    if cfg.name == "rmsprop":
        return RMSprop(size, rho=cfg.rho, epsilon=cfg.epsilon, dtype=dtype)
    if cfg.name == "adam":
        return Adam(size, beta1=cfg.beta1, beta2=cfg.beta2, epsilon=cfg.epsilon, dtype=dtype)
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
