"""Small deterministic point sets for engine tests (independent of the generators module)."""
import numpy as np

from nnviz.data.points import PointSet


def circle(n=200, seed=0, noise=0.0, train_fraction=0.5):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-5, 5, (n, 2))
    label = (np.hypot(xy[:, 0], xy[:, 1]) < 2.8).astype(float)
    flip = rng.random(n) < noise
    label[flip] = 1 - label[flip]
    role = (rng.random(n) >= train_fraction).astype(np.int8)
    return PointSet(xy, label, role)


def blobs(n=150, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[-3, -3], [3, -3], [0, 3], [3, 3]])[:k]
    label = rng.integers(0, k, n)
    xy = centres[label] + rng.standard_normal((n, 2))
    return PointSet(xy, label.astype(float), (rng.random(n) < 0.3).astype(np.int8))
