"""Evaluate the network on a W x H grid over a view box: the decision-boundary image.

Float32 throughout, with the grid's feature matrix and the layer buffers kept between calls, so a
redraw is a few matrix products per row block. The grid runs in blocks of rows small enough for a
block's activations to stay in the CPU cache (about twice as fast as whole-grid passes at 200 x 200).
"""
from __future__ import annotations

import numpy as np

from .features import feature_matrix
from .functions import ACTIVATIONS, softmax
from .network import BlockBuffers, block_rows, forward_blocks


class BoundaryEvaluator:
    def __init__(self):
        self._key = None
        self._features = None
        self._blocks: BlockBuffers | None = None

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
        n = len(self._features)
        rows, widths = max(1, min(n, block_rows(network.sizes[1:], 4))), network.sizes[1:]
        if self._blocks is None or not self._blocks.fits(rows, widths, np.float32):
            self._blocks = BlockBuffers(rows, widths, np.float32)
        Ws = [W.astype(np.float32) for W in network.W]
        bs = [b.astype(np.float32) for b in network.b]
        acts = [ACTIVATIONS[a] for a in network.activations]
        # a new array per call: the caller may keep the image while the next one is computed
        out = np.empty((n, network.sizes[-1]), np.float32)
        forward_blocks(self._features, Ws, bs, acts, out, self._blocks)
        if network.head == "softmax":
            return softmax(out, out).reshape(height, width, -1)
        image = out.reshape(height, width)
        if network.head == "binary":
            ACTIVATIONS["sigmoid"](image, image)
        return image
