"""Learning-rate schedules: the rate for epoch ``t`` (0-based) from the base rate.

All but reduce-on-plateau are pure functions of the epoch, so changing the schedule or the base
rate mid-run takes effect at once and consistently. Plateau keeps a little state, fed the training
loss (plus penalty) of every scheduled evaluation with the number of epochs since the previous one.
"""
from __future__ import annotations

import math


class Schedule:
    def __init__(self, cfg):
        self.cfg = cfg
        self.plateau_scale = 1.0
        self._best = math.inf
        self._bad_epochs = 0

    def rate(self, epoch: int, base: float) -> float:
        c = self.cfg
        if c.name == "constant":
            return base
        if c.name == "step":
            return base * c.gamma ** (epoch // c.step_size)
        if c.name == "exponential":
            return base * c.decay_rate ** epoch
        if c.name == "inverse_time":
            return base / (1.0 + c.decay * epoch)
        if c.name == "cosine":
            progress = min(epoch, c.period) / c.period
            low = min(c.min_lr, base)
            return low + (base - low) * 0.5 * (1.0 + math.cos(math.pi * progress))
        if c.name == "plateau":
            return max(base * self.plateau_scale, min(c.min_lr, base))
        raise ValueError(f"unknown schedule {c.name!r}")

    def observe(self, loss: float, epochs: int = 1) -> None:
        """Reduce-on-plateau: cut the rate after ``patience`` epochs without improvement. ``epochs``: how
        many epochs have passed since the previous observation (the trainer observes evaluated epochs)."""
        if self.cfg.name != "plateau" or not math.isfinite(loss):
            return
        if loss < self._best - self.cfg.threshold:
            self._best = loss
            self._bad_epochs = 0
        else:
            self._bad_epochs += epochs
            if self._bad_epochs >= self.cfg.patience:
                self.plateau_scale *= self.cfg.factor
                self._bad_epochs = 0

    def reconfigure(self, cfg) -> None:
        if cfg.name != self.cfg.name:
            self.plateau_scale, self._best, self._bad_epochs = 1.0, math.inf, 0
        self.cfg = cfg
