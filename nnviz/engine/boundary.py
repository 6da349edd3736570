"""Evaluate the network on a W x H grid over a view box: the decision-boundary image.

Float32 throughout, with the grid's feature matrix and the layer buffers kept between calls, so a
redraw is a few matrix products per row block. The grid runs in blocks of rows small enough for a
block's activations to stay in the CPU cache (about twice as fast as whole-grid passes at 200 x 200).
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .features import feature_matrix
from .functions import ACTIVATIONS, softmax
from .network import BlockBuffers, block_rows, forward_blocks

# The view may ask for any box, but the network is evaluated only at coordinates within +-VIEW_LIMIT (the
# points' own coordinate limit): a pixel centre beyond it is evaluated at the nearest coordinate inside.
# Far out, features such as x1*x2 would overflow and the image would be NaN.
VIEW_LIMIT = 1e6
MAX_PIXELS = 2048 * 2048   # a bigger image is refused (ConfigError): its grid alone would take hundreds of MB


def clamp_coordinates(values: np.ndarray) -> np.ndarray:
    """Coordinates clipped to +-VIEW_LIMIT in place (NaN becomes 0)."""
    np.nan_to_num(values, copy=False, nan=0.0, posinf=VIEW_LIMIT, neginf=-VIEW_LIMIT)
    return np.clip(values, -VIEW_LIMIT, VIEW_LIMIT, out=values)


def finite_logits(out: np.ndarray) -> np.ndarray:
    """Replace non-finite logits (an overflowing network) in place: +-inf by the largest finite value of
    their sign, NaN by 0 (undecided). Costs one sum when everything is finite (the usual case)."""
    with np.errstate(all="ignore"):
        total = np.add.reduce(out, axis=None)
    if not np.isfinite(total):
        np.nan_to_num(out, copy=False, nan=0.0)
    return out


class BoundaryEvaluator:
    def __init__(self):
        self._key = None
        self._features = None
        self._blocks: BlockBuffers | None = None

    def evaluate(self, network, features, extent, width: int, height: int) -> np.ndarray:
        """Row-major image, row 0 at y = ymin: (H, W) P(class 1) or value, or (H, W, K) probabilities."""
        xmin, xmax, ymin, ymax = (float(v) for v in extent)
        width, height = int(width), int(height)
        if width < 0 or height < 0 or width * height > MAX_PIXELS:
            raise ConfigError("boundary", f"the image may have at most {MAX_PIXELS} pixels, got {width} x {height}")
        key = (xmin, xmax, ymin, ymax, width, height, tuple(features))
        if key != self._key:
            # sample pixel centres, as an image item spanning the extent draws them (in float64: a box
            # of +-1e200 must not overflow), clamped to the coordinates the network is evaluated at
            with np.errstate(all="ignore"):
                xs = xmin + (np.arange(width) + 0.5) * (xmax - xmin) / width
                ys = ymin + (np.arange(height) + 0.5) * (ymax - ymin) / height
            gx, gy = np.meshgrid(clamp_coordinates(xs), clamp_coordinates(ys))
            xy = np.column_stack([gx.ravel(), gy.ravel()])
            self._features = feature_matrix(xy, features, dtype=np.float32)
            self._key = key
        n = len(self._features)
        rows, widths = max(1, min(n, block_rows(network.sizes[1:], 4))), network.sizes[1:]
        if self._blocks is None or not self._blocks.fits(rows, widths, np.float32):
            self._blocks = BlockBuffers(rows, widths, np.float32)
        Ws = [W.astype(np.float32, copy=False) for W in network.W]   # read only: a float32 net's own
        bs = [b.astype(np.float32, copy=False) for b in network.b]
        acts = [ACTIVATIONS[a] for a in network.activations]
        # a new array per call: the caller may keep the image while the next one is computed
        out = np.empty((n, network.sizes[-1]), np.float32)
        with np.errstate(all="ignore"):   # an overflowing network gives inf/NaN, replaced just below
            forward_blocks(self._features, Ws, bs, acts, out, self._blocks)
        finite_logits(out)
        with np.errstate(over="ignore", under="ignore"):
            return self._image(network.head, out, width, height)

    @staticmethod
    def _image(head, out, width, height):
        if head == "softmax":
            return softmax(out, out).reshape(height, width, -1)
        image = out.reshape(height, width)
        if head == "binary":
            ACTIVATIONS["sigmoid"](image, image)
        return image
