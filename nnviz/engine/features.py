"""Input features as in TensorFlow Playground: functions of the point's two coordinates."""
from __future__ import annotations

import numpy as np

FEATURE_FUNCTIONS = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin_x1": lambda x1, x2: np.sin(x1),
    "sin_x2": lambda x1, x2: np.sin(x2),
}
FEATURE_LABELS = {"x1": "x₁", "x2": "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1*x2": "x₁x₂",
                  "sin_x1": "sin x₁", "sin_x2": "sin x₂"}


def feature_matrix(xy: np.ndarray, features, dtype=np.float64, out: np.ndarray | None = None) -> np.ndarray:
    """(N, len(features)) C-contiguous matrix of the chosen features of points ``xy`` (N, 2)."""
    xy = np.asarray(xy, dtype=dtype)
    if out is None:
        out = np.empty((len(xy), len(features)), dtype=dtype)
    x1, x2 = xy[:, 0], xy[:, 1]
    for j, name in enumerate(features):
        out[:, j] = FEATURE_FUNCTIONS[name](x1, x2)
    return out
