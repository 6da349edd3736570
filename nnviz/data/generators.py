"""Built-in data sets, after TensorFlow Playground's generators (dataset.ts).

Coordinates lie in about [-6, 6]. ``noise`` runs over [0, 1]; Playground's slider covers 0..50 %,
i.e. 0..0.5 here, and larger values extrapolate the same formulas. Playground's labels -1/+1 become
class indices 0/1. Regression targets are real values in about [-1, 1].

Multi-class data: ``generate("gaussian", n_classes=3)`` (or 4) places one Gaussian blob per class
on a circle, and ``generate("spiral", n_classes=3)`` (or 4) winds one spiral arm per class. With
``n_classes=2`` both are exactly Playground's data sets; the other kinds are two-class only.

Everything is drawn from ``np.random.default_rng(seed)``, so a seed always gives the same points,
and the roles (train/test/validation) follow :meth:`PointSet.resplit` with the same seed.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import DataError
from .points import MAX_CLASSES, PointSet

DATASETS = ("circle", "xor", "gaussian", "spiral", "moons", "linear")
REGRESSION_DATASETS = ("plane", "gaussians")
MULTICLASS_DATASETS = ("gaussian", "spiral")
MAX_GENERATED = 100_000
RADIUS = 6.0


def generate(kind: str, n: int = 200, noise: float = 0.0, train_fraction: float = 0.5, seed: int = 0,
             validation_fraction: float = 0.0, n_classes: int = 2) -> PointSet:
    """``n`` points of data set ``kind`` (one of DATASETS or REGRESSION_DATASETS), roles already split.

    ``n_classes`` (2..4) applies to the "gaussian" and "spiral" classification sets only.
    Raises :class:`DataError` naming the bad argument.
    """
    generators = {**_CLASSIFIERS, **_REGRESSORS}
    if not isinstance(kind, str) or kind not in generators:
        raise DataError(f"data set: unknown kind {kind!r}; choose one of "
                        f"{', '.join(DATASETS + REGRESSION_DATASETS)}")
    n = _whole_number("n", n, 1, MAX_GENERATED)
    noise = _fraction("noise", noise)
    train_fraction = _fraction("train_fraction", train_fraction)
    validation_fraction = _fraction("validation_fraction", validation_fraction)
    if train_fraction + validation_fraction > 1.0 + 1e-12:
        raise DataError(f"validation_fraction: train ({train_fraction:g}) and validation "
                        f"({validation_fraction:g}) fractions add up to more than 1")
    validation_fraction = min(validation_fraction, 1.0 - train_fraction)
    seed = _whole_number("seed", seed, 0, 2**63 - 1)
    n_classes = _whole_number("n_classes", n_classes, 2, MAX_CLASSES)
    if n_classes != 2 and kind not in MULTICLASS_DATASETS:
        raise DataError(f"n_classes: {kind!r} has two classes; only {', '.join(MULTICLASS_DATASETS)} "
                        f"support 3 or 4")

    rng = np.random.default_rng(seed)
    if kind in _CLASSIFIERS:
        if kind in MULTICLASS_DATASETS:
            xy, target = _CLASSIFIERS[kind](rng, n, noise, n_classes)
        else:
            xy, target = _CLASSIFIERS[kind](rng, n, noise)
    else:
        xy, target = _REGRESSORS[kind](rng, n, noise)
    # Playground shuffles too; here it only keeps one class from being drawn on top of the other.
    order = rng.permutation(n)
    points = PointSet(xy[order], target[order], np.zeros(n, np.int8))
    return points.resplit(train_fraction, seed, validation_fraction)


# -- argument checks ---------------------------------------------------------------------------------------

def _whole_number(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DataError(f"{name}: expected a whole number, got {value!r}")
    if not lo <= value <= hi:
        raise DataError(f"{name}: must be from {lo} to {hi}, got {value}")
    return int(value)


def _fraction(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DataError(f"{name}: expected a number from 0 to 1, got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise DataError(f"{name}: must be from 0 to 1, got {value!r}")
    return value


# -- classification (labels are class indices) ---------------------------------------------------------------

def _split_count(n: int, parts: int) -> list[int]:
    """n split into ``parts`` near-equal counts that add up to exactly n."""
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def _circle(rng, n, noise):
    # Class 1 inside radius 2.5, class 0 in the ring 3.5..5; the label comes from a jittered position.
    radius = 5.0
    n_in, n_out = _split_count(n, 2)
    r = np.concatenate([rng.uniform(0, radius * 0.5, n_in), rng.uniform(radius * 0.7, radius, n_out)])
    angle = rng.uniform(0, 2 * math.pi, n)
    xy = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    jitter = rng.uniform(-radius, radius, (n, 2)) * noise
    label = np.linalg.norm(xy + jitter, axis=1) < radius * 0.5
    return xy, label.astype(np.float64)


def _xor(rng, n, noise):
    xy = rng.uniform(-5, 5, (n, 2))
    xy += np.where(xy > 0, 0.3, -0.3)  # Playground's padding keeps points off the axes
    jitter = rng.uniform(-5, 5, (n, 2)) * noise
    moved = xy + jitter
    return xy, (moved[:, 0] * moved[:, 1] >= 0).astype(np.float64)


def _gaussian(rng, n, noise, n_classes=2):
    # Playground: variance grows linearly from 0.5 (no noise) to 4 (noise 0.5).
    variance = 0.5 + noise * (4.0 - 0.5) / 0.5
    xy, target = [], []
    for cls, count in enumerate(_split_count(n, n_classes)):
        # Two classes: class 1 at (2, 2), class 0 at (-2, -2) as in Playground; more go round the circle.
        angle = math.radians(225.0 + 360.0 * cls / n_classes)
        centre = 2.0 * math.sqrt(2.0) * np.array([math.cos(angle), math.sin(angle)])
        xy.append(centre + rng.normal(0.0, math.sqrt(variance), (count, 2)))
        target.append(np.full(count, float(cls)))
    return np.vstack(xy), np.concatenate(target)


def _spiral(rng, n, noise, n_classes=2):
    xy, target = [], []
    for cls, count in enumerate(_split_count(n, n_classes)):
        # Two classes: class 1 starts at angle 0 and class 0 at pi, as in Playground.
        delta = math.pi * (1 - cls) if n_classes == 2 else 2 * math.pi * cls / n_classes
        i = np.arange(count)
        r = i / max(count, 1) * 5.0
        t = 1.75 * i / max(count, 1) * 2 * math.pi + delta
        arm = np.column_stack([r * np.sin(t), r * np.cos(t)]) + rng.uniform(-1, 1, (count, 2)) * noise
        xy.append(arm)
        target.append(np.full(count, float(cls)))
    return np.vstack(xy), np.concatenate(target)


def _moons(rng, n, noise):
    # Two interleaved half circles (as scikit-learn's make_moons), centred and scaled to about ±5.
    n_upper, n_lower = _split_count(n, 2)
    t_up = rng.uniform(0, math.pi, n_upper)
    t_lo = rng.uniform(0, math.pi, n_lower)
    upper = np.column_stack([np.cos(t_up), np.sin(t_up)])
    lower = np.column_stack([1 - np.cos(t_lo), 0.5 - np.sin(t_lo)])
    xy = (np.vstack([upper, lower]) - [0.5, 0.25]) * 3.5
    xy += rng.normal(0.0, 2.5 * noise, xy.shape)
    return xy, np.concatenate([np.zeros(n_upper), np.ones(n_lower)])


def _linear(rng, n, noise):
    # A random line through the origin; no point lies within MARGIN of it. Like Playground's noise,
    # a jittered copy of the position decides the label, so noise blurs the edge instead of moving points.
    margin = 1.0
    angle = rng.uniform(0, 2 * math.pi)
    normal = np.array([math.cos(angle), math.sin(angle)])
    kept = np.zeros((0, 2))
    while len(kept) < n:  # the band holds at most a third of the square, so this ends fast
        batch = rng.uniform(-RADIUS, RADIUS, (2 * n + 16, 2))
        kept = np.vstack([kept, batch[np.abs(batch @ normal) >= margin]])
    xy = kept[:n]
    jitter = rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise
    return xy, ((xy + jitter) @ normal > 0).astype(np.float64)


# -- regression (targets are real values in about [-1, 1]) --------------------------------------------------

def _plane(rng, n, noise):
    xy = rng.uniform(-RADIUS, RADIUS, (n, 2))
    moved = xy + rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise
    return xy, (moved[:, 0] + moved[:, 1]) / 10.0


_BUMPS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def _gaussians(rng, n, noise):
    xy = rng.uniform(-RADIUS, RADIUS, (n, 2))
    moved = xy + rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise
    # Each bump is 1 at its centre falling linearly to 0 at distance 2; the largest |value| wins.
    best = np.zeros(n)
    for cx, cy, sign in _BUMPS:
        dist = np.hypot(moved[:, 0] - cx, moved[:, 1] - cy)
        value = sign * np.clip(1.0 - dist / 2.0, 0.0, 1.0)
        best = np.where(np.abs(value) > np.abs(best), value, best)
    return xy, best


_CLASSIFIERS = {"circle": _circle, "xor": _xor, "gaussian": _gaussian, "spiral": _spiral,
                "moons": _moons, "linear": _linear}
_REGRESSORS = {"plane": _plane, "gaussians": _gaussians}
