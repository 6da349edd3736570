"""Weight statistics for the plots that need no Qt: per-layer weight histograms.

The training session sends them with its snapshots (exact when training is paused or stopped; from a fixed,
deterministic sample of each big layer while it plays, so a frame stays cheap); nnviz.viewmath re-exports
:func:`weight_histograms` for anything that draws from plain weights.
"""
from __future__ import annotations

import math

import numpy as np

WEIGHT_HISTOGRAM_BINS = 41   # odd: one bin is centred on zero, where L1 piles the weights up
# a sampled histogram reads at least this many weights of every layer (smaller layers: all of them)
MIN_LAYER_SAMPLE = 4096


def weight_histograms(weights, bins: int = WEIGHT_HISTOGRAM_BINS,
                      max_weights: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-layer histograms of the weight matrices (biases left out), on one shared, symmetric range.

    ``weights`` is ``[(W, b), ...]`` (or bare matrices), input side first. Every layer gets the same
    ``bins + 1`` float64 edges from ``-m`` to ``m``, ``m`` the largest finite |w| of all layers (1 when
    there is none), so the layers compare bin for bin. Returns ``[(edges, counts), ...]`` with int64
    counts equal to ``np.histogram(W, edges)``; non-finite weights are not counted.

    ``max_weights`` (None: exact) bounds the work for big networks: a layer with more than
    ``max(MIN_LAYER_SAMPLE, max_weights // layers)`` weights is read at an odd stride (deterministic, and
    coprime with the power-of-two widths, so every column is visited), its counts scaled back to the
    layer's size and rounded; the range ``m`` is still that of all weights (one max/min pass, cheap). The
    shape is that of the whole layer to within sampling noise; exact whenever ``max_weights`` is None.
    """
    mats = [np.asarray(w[0] if isinstance(w, (tuple, list)) else w) for w in weights]
    mats = [m.ravel() if m.dtype.kind == "f" else m.astype(np.float64).ravel() for m in mats]
    top = 0.0
    for j, m in enumerate(mats):
        if not m.size:
            continue
        big = max(float(m.max()), -float(m.min()))
        if not math.isfinite(big):      # NaN or inf among the weights: they are left out
            mats[j] = m = m[np.isfinite(m)]
            big = float(np.abs(m).max()) if m.size else 0.0
        top = max(top, big)
    top = top if top > 0 else 1.0
    scales = [1.0] * len(mats)
    if max_weights is not None and mats:
        cap = max(MIN_LAYER_SAMPLE, int(max_weights) // len(mats))
        for j, m in enumerate(mats):
            if m.size > cap:
                stride = -(-m.size // cap) | 1
                mats[j] = m[::stride]
                scales[j] = m.size / mats[j].size
    edges = np.linspace(-top, top, int(bins) + 1)
    out = []
    for m, scale in zip(mats, scales):
        counts = np.histogram(m, edges)[0].astype(np.int64, copy=False)
        if scale != 1.0:
            counts = np.rint(counts * scale).astype(np.int64)
        out.append((edges.copy(), counts))
    return out
