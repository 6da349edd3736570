"""Evaluate the network on a W x H grid over a view box: the decision-boundary image.

Float32 throughout, with the grid's feature matrix and every layer buffer kept between calls, so a
redraw is a few matrix products and no allocation.
"""
from __future__ import annotations

import numpy as np

from .features import feature_matrix
from .functions import ACTIVATIONS, softmax


class BoundaryEvaluator:
    def __init__(self):
        self._key = None
        self._features = None
        self._buffers: list[np.ndarray] = []

    def evaluate(self, network, features, extent, width: int, height: int) -> np.ndarray:
        """Row-major image, row 0 at y = ymin: (H, W) P(class 1) or value, or (H, W, K) probabilities."""
        xmin, xmax, ymin, ymax = (float(v) for v in extent)
        key = (xmin, xmax, ymin, ymax, width, height, tuple(features))
        if key != self._key:
            # sample pixel centres, as an image item spanning the extent draws them
            xs = xmin + (np.arange(width) + 0.5) * (xmax - xmin) / width
            ys = ymin + (np.arange(height) + 0.5) * (ymax - ymin) / height
            gx, gy = np.meshgrid(xs, ys)
            xy = np.column_stack([gx.ravel(), gy.ravel()])
            self._features = feature_matrix(xy, features, dtype=np.float32)
            self._key = key
            self._buffers = []
        sizes = network.sizes[1:]
        if [b.shape[1] for b in self._buffers] != sizes:
            n = len(self._features)
            self._buffers = [np.empty((n, s), np.float32) for s in sizes]
        h = self._features
        last = network.n_layers - 1
        for i in range(network.n_layers):
            z = self._buffers[i]
            np.matmul(h, network.W[i].astype(np.float32), out=z)
            z += network.b[i].astype(np.float32)
            if i < last:
                ACTIVATIONS[network.activations[i]](z, z)
            h = z
        if network.head == "softmax":
            return softmax(h, np.empty_like(h)).reshape(height, width, -1)
        out = h[:, 0].reshape(height, width).copy()
        if network.head == "binary":
            ACTIVATIONS["sigmoid"](out, out)
        return out
