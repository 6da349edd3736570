"""What every unit of the network computes over the view: the network view's heatmaps.

Each input feature, each hidden unit and each output is evaluated at the centres of an ``g x g`` grid of
cells covering the view (``extent`` = (xmin, xmax, ymin, ymax), row 0 at ymin, as the boundary image): one
evaluation-mode forward pass (no dropout) in float32 whose layer activations are kept, so a unit's heatmap
is exactly what that unit outputs at the grid's points.

Cost and size: the pass costs about ``g * g`` times the network's multiply-adds, and a frame holds ``g * g``
floats per map. :func:`frame_resolution` caps both: at most ``MAX_FRAME_FLOATS`` floats per frame (a 10 x 32
net gets 17 x 17 maps instead of 24 x 24), and (while training plays) at most a time budget. Networks
beyond ``DETAIL_LAYERS`` hidden layers or ``DETAIL_UNITS`` units in a layer are *summarised*: the view draws
each hidden layer as a strip of units (no per-edge drawing), and their maps are small.

Pure NumPy; never imports Qt.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .boundary import clamp_coordinates, finite_logits
from .features import feature_matrix
from .functions import ACTIVATIONS, softmax

DEFAULT_RESOLUTION = 24
MIN_RESOLUTION = 4
MAX_RESOLUTION = 64
MAX_FRAME_FLOATS = 100_000        # ~400 KB of maps per frame at most
DETAIL_LAYERS = 10                 # up to 10 hidden layers of up to 32 units: every unit and edge drawn
DETAIL_UNITS = 32
BOUNDED = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}   # fixed colour levels of bounded activations


@dataclass
class NetworkFrame:
    """The network as the view draws it, at one moment (sent in ``Snapshot.network``)."""
    features: tuple                  # feature names, input order
    sizes: tuple                     # (inputs, *hidden, outputs)
    activations: tuple               # per hidden layer
    head: str                        # 'binary', 'softmax' or 'regression'
    extent: tuple                    # (xmin, xmax, ymin, ymax) of the grid (the canvas view)
    resolution: int                  # g: the side of every map below (may be below the one asked for)
    inputs: np.ndarray               # (n_features, g, g) float32: each feature's value
    hidden: list                     # per hidden layer (units, g, g) float32: each unit's activation
    output: np.ndarray               # (n_out, g, g) float32: P(class 1) / class probabilities / value
    weights: list                    # [(W (fan_in, fan_out), b (fan_out,)), ...] float32, input side first;
                                     # [] when summarised (too many to draw or send: see weight_stats)
    summarised: bool = False         # beyond DETAIL_LAYERS x DETAIL_UNITS: drawn as per-layer strips
    weight_stats: list = field(default_factory=list)   # per weight matrix: (mean |w|, max |w|, share > 0)
    generation: int = 0
    epoch: int = 0
    levels: list = field(default_factory=list)   # per hidden layer: (lo, hi) colour levels of its maps


def is_summarised(sizes) -> bool:
    """True when a network is too big to draw unit by unit (more than 10 hidden layers or 32 units)."""
    hidden = list(sizes)[1:-1]
    return len(hidden) > DETAIL_LAYERS or max(hidden, default=0) > DETAIL_UNITS


def multiply_adds(sizes) -> int:
    """Multiply-adds of one forward pass of one point."""
    sizes = list(sizes)
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def frame_resolution(sizes, asked: int = DEFAULT_RESOLUTION, seconds_per_mac: float | None = None,
                     budget: float | None = None) -> int:
    """The grid side a frame uses: ``asked``, lowered so the frame holds at most MAX_FRAME_FLOATS floats and,
    with ``seconds_per_mac`` and ``budget`` given, so its forward pass costs at most ``budget`` seconds."""
    sizes = [int(s) for s in sizes]
    g = max(MIN_RESOLUTION, min(MAX_RESOLUTION, int(asked)))
    maps = sum(sizes)   # inputs + hidden units + outputs
    g = min(g, int(math.sqrt(MAX_FRAME_FLOATS / max(1, maps))))
    if seconds_per_mac is not None and budget is not None and seconds_per_mac > 0:
        g = min(g, int(math.sqrt(budget / (seconds_per_mac * max(1, multiply_adds(sizes))))))
    return max(MIN_RESOLUTION, g)


def grid_points(extent, g: int) -> np.ndarray:
    """(g*g, 2) float64 cell centres over ``extent``, row-major with row 0 at ymin (as the boundary image)."""
    xmin, xmax, ymin, ymax = (float(v) for v in extent)
    with np.errstate(all="ignore"):
        xs = xmin + (np.arange(g) + 0.5) * (xmax - xmin) / g
        ys = ymin + (np.arange(g) + 0.5) * (ymax - ymin) / g
    gx, gy = np.meshgrid(clamp_coordinates(xs), clamp_coordinates(ys))
    return np.column_stack([gx.ravel(), gy.ravel()])


def input_maps(features, extent, g: int) -> np.ndarray:
    """(len(features), g, g) float32: each feature's value over the grid (any features, chosen or not)."""
    F = feature_matrix(grid_points(extent, g), list(features), dtype=np.float32)
    return np.ascontiguousarray(F.T).reshape(len(features), g, g)


def activation_levels(activation: str, maps: np.ndarray) -> tuple[float, float]:
    """Colour levels for a layer's maps: the activation's fixed range (tanh, sigmoid), else symmetric about 0
    over the layer's largest magnitude (so a layer's units compare, and 0 is the neutral colour)."""
    if activation in BOUNDED:
        return BOUNDED[activation]
    return symmetric_levels(maps)


def symmetric_levels(values) -> tuple[float, float]:
    """(-m, m) with m the largest finite magnitude (1 if none or zero)."""
    a = np.asarray(values, dtype=np.float32)
    finite = a[np.isfinite(a)] if a.size else a
    m = float(np.abs(finite).max()) if finite.size else 0.0
    m = m if m > 1e-12 else 1.0
    return (-m, m)


def output_levels(head: str, output: np.ndarray) -> tuple[float, float]:
    return (0.0, 1.0) if head in ("binary", "softmax") else symmetric_levels(output)


def network_frame(network, features, extent, resolution: int = DEFAULT_RESOLUTION,
                  generation: int = 0, epoch: int = 0) -> NetworkFrame:
    """Every unit's activation over a ``resolution`` x ``resolution`` grid covering ``extent``.

    ``network`` is a :class:`nnviz.engine.network.Network` (any dtype; evaluated in float32, no dropout).
    Non-finite values (an overflowing network) become finite: logits as in the boundary image, hidden
    activations NaN -> 0, +-inf -> the largest float32.
    """
    g = max(1, int(resolution))
    features = tuple(features)
    summarised = is_summarised(network.sizes)
    X = feature_matrix(grid_points(extent, g), list(features), dtype=np.float32)
    if summarised:
        # no float32 copy of (up to millions of) weights: the few grid rows run in the network's own dtype
        weights, layers = [], list(zip(network.W, network.b))
        h = X.astype(network.dtype)
    else:
        weights = [(W.astype(np.float32), b.astype(np.float32)) for W, b in zip(network.W, network.b)]
        layers, h = weights, X
    with np.errstate(all="ignore"):
        stats = [weight_stats(W) for W, _ in layers]
    hidden, levels = [], []
    with np.errstate(all="ignore"):
        for (W, b), name in zip(layers[:-1], network.activations):
            z = h.dot(W)
            z += b
            ACTIVATIONS[name](z, z)
            np.nan_to_num(z, copy=False)
            h = z
            maps = np.ascontiguousarray(z.T, dtype=np.float32).reshape(W.shape[1], g, g)
            hidden.append(maps)
            levels.append(activation_levels(name, maps))
        W, b = layers[-1]
        logits = h.dot(W)
        logits += b
        finite_logits(logits)
        if network.head == "binary":
            out = ACTIVATIONS["sigmoid"](logits, logits)
        elif network.head == "softmax":
            out = softmax(logits, logits)
        else:
            out = logits
    inputs = np.ascontiguousarray(X.T).reshape(len(features), g, g)
    output = np.ascontiguousarray(out.T).reshape(out.shape[1], g, g).astype(np.float32, copy=False)
    return NetworkFrame(features=features, sizes=tuple(network.sizes), activations=tuple(network.activations),
                        head=network.head, extent=tuple(float(v) for v in extent), resolution=g, inputs=inputs,
                        hidden=hidden, output=output, weights=weights, summarised=summarised,
                        generation=generation, epoch=epoch, levels=levels, weight_stats=stats)


STATS_SAMPLE = 1 << 12   # weight_stats reads at most about this many weights of a matrix


def weight_stats(W) -> tuple[float, float, float]:
    """(mean |w|, max |w|, share of positive weights) of one weight matrix (0s for an empty one); a matrix of
    more than STATS_SAMPLE weights is read at a stride (a summary: the max is then the sample's)."""
    W = np.asarray(W).reshape(-1)
    if W.size == 0:
        return (0.0, 0.0, 0.0)
    if W.size > STATS_SAMPLE:
        W = W[::-(-W.size // STATS_SAMPLE)]
    a = np.abs(W)
    return (float(a.mean()), float(a.max()), float((W > 0).mean()))
