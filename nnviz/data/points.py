"""A set of 2-D points with a target and a role (train, test or validation).

For classification the target is the class index (0..3) stored as a float; for regression it is the
point's real value. Arrays are never shared between two PointSets: every edit makes a new set, so a
snapshot handed to the trainer cannot change under it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError

TRAIN, TEST, VALIDATION = 0, 1, 2
ROLE_NAMES = ("train", "test", "validation")
MAX_CLASSES = 4
MAX_POINTS = 1_000_000
COORD_LIMIT = 1e6


@dataclass(frozen=True, eq=False)
class PointSet:
    xy: np.ndarray      # (N, 2) float64
    target: np.ndarray  # (N,) float64: class index or real value
    role: np.ndarray    # (N,) int8: TRAIN, TEST or VALIDATION

    def __post_init__(self):
        xy = np.array(self.xy, dtype=np.float64, copy=True).reshape(-1, 2) if np.size(self.xy) else \
            np.zeros((0, 2))
        target = np.array(self.target, dtype=np.float64, copy=True).reshape(-1)
        role = np.array(self.role, copy=True).reshape(-1)
        if len(target) != len(xy) or len(role) != len(xy):
            raise DataError(f"points: {len(xy)} coordinates but {len(target)} targets and {len(role)} roles")
        if len(xy) > MAX_POINTS:
            raise DataError(f"points: at most {MAX_POINTS} points are supported, got {len(xy)}")
        if not np.isfinite(xy).all() or np.abs(xy).max(initial=0) > COORD_LIMIT:
            raise DataError(f"points: coordinates must be finite numbers within ±{COORD_LIMIT:g}")
        if not np.isfinite(target).all():
            raise DataError("points: every target must be a finite number")
        if not np.isin(role, (TRAIN, TEST, VALIDATION)).all():
            raise DataError("points: role must be train (0), test (1) or validation (2)")
        for name, arr in (("xy", xy), ("target", target), ("role", role.astype(np.int8))):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    # -- constructors ------------------------------------------------------------------------------
    @classmethod
    def empty(cls) -> "PointSet":
        return cls(np.zeros((0, 2)), np.zeros(0), np.zeros(0, np.int8))

    # -- queries -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.xy)

    def __eq__(self, other) -> bool:
        return (isinstance(other, PointSet) and np.array_equal(self.xy, other.xy)
                and np.array_equal(self.target, other.target) and np.array_equal(self.role, other.role))

    def subset(self, role: int) -> tuple[np.ndarray, np.ndarray]:
        mask = self.role == role
        return self.xy[mask], self.target[mask]

    def count(self, role: int) -> int:
        return int(np.count_nonzero(self.role == role))

    def n_classes(self) -> int:
        """Classes implied by the labels: at least 2 (an empty set is still a two-class problem)."""
        if len(self) == 0:
            return 2
        return max(2, int(self.target.max()) + 1)

    def check_classification(self) -> None:
        t = self.target
        if len(t) and (not np.all(t == np.round(t)) or t.min() < 0 or t.max() >= MAX_CLASSES):
            raise DataError(f"points: class labels must be whole numbers from 0 to {MAX_CLASSES - 1}")

    def bounds(self, margin: float = 0.1) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) of the points, padded; a square around the origin if empty."""
        if len(self) == 0:
            return (-6.0, 6.0, -6.0, 6.0)
        lo, hi = self.xy.min(axis=0), self.xy.max(axis=0)
        span = np.maximum(hi - lo, 1e-3)
        lo, hi = lo - margin * span, hi + margin * span
        return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])

    # -- edits (each returns a new set) ------------------------------------------------------------
    def with_points(self, xy, target, role) -> "PointSet":
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return PointSet(np.vstack([self.xy, xy]), np.concatenate([self.target, np.ravel(target)]),
                        np.concatenate([self.role, np.ravel(role).astype(np.int8)]))

    def without(self, indices) -> "PointSet":
        keep = np.ones(len(self), bool)
        keep[np.asarray(indices, dtype=np.intp)] = False
        return PointSet(self.xy[keep], self.target[keep], self.role[keep])

    def replaced(self, indices, *, xy=None, target=None, role=None) -> "PointSet":
        idx = np.asarray(indices, dtype=np.intp)
        new_xy, new_t, new_r = self.xy.copy(), self.target.copy(), self.role.copy()
        if xy is not None:
            new_xy[idx] = xy
        if target is not None:
            new_t[idx] = target
        if role is not None:
            new_r[idx] = role
        return PointSet(new_xy, new_t, new_r)

    def resplit(self, train_fraction: float, seed: int = 0, validation_fraction: float = 0.0) -> "PointSet":
        """Same points, new roles: a random ``train_fraction`` trains, an optional share validates."""
        if not (0.0 <= train_fraction <= 1.0) or not (0.0 <= validation_fraction <= 1.0 - train_fraction):
            raise DataError("re-split: fractions must lie in [0, 1] and add up to at most 1")
        n = len(self)
        order = np.random.default_rng(seed).permutation(n)
        n_train = int(round(train_fraction * n))
        n_val = int(round(validation_fraction * n))
        role = np.full(n, TEST, np.int8)
        role[order[:n_train]] = TRAIN
        role[order[n_train:n_train + n_val]] = VALIDATION
        return PointSet(self.xy, self.target, role)
