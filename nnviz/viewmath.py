"""View maths with no Qt: smoothing, tick choice and weight histograms for the plots.

Kept apart from the widgets so it can be tested exactly and used by anything that draws.
"""
from __future__ import annotations

import math

import numpy as np

# weight histograms live with the engine (the training session computes them too); re-exported here
from .engine.stats import WEIGHT_HISTOGRAM_BINS, weight_histograms  # noqa: F401


def ema(values: np.ndarray, factor: float, state: float | None = None) -> tuple[np.ndarray, float | None]:
    """Exponential moving average ``s = factor * s + (1 - factor) * x``, vectorised.

    The average starts at the first finite value (or continues from ``state``, the last average of
    an earlier call, so long series can be smoothed piece by piece). NaN and infinite inputs give
    NaN outputs and leave the average unchanged. Returns the smoothed values and the new state.

    Overflow-proof: every block is computed on values divided by the block's largest magnitude, so
    finite inputs of any size (up to 1.8e308) give finite averages, and the average comes back down
    once the inputs do. A non-finite ``state`` is ignored (the average restarts).
    """
    x = np.asarray(values, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    finite = np.isfinite(x)
    xf = x[finite]
    if xf.size == 0:
        return out, state
    a = float(factor)
    if not 0.0 <= a < 1.0:
        raise ValueError(f"smoothing factor: expected a number from 0 up to (not including) 1, got {factor!r}")
    if a == 0.0:
        out[finite] = xf
        return out, float(xf[-1])
    s = float(xf[0]) if state is None or not math.isfinite(state) else float(state)
    # Closed form per block: s_j = a^(j+1) * (s + (1-a) * sum_k a^-(k+1) x_k). Blocks are short
    # enough that a^-(block) stays below ~1e130; with the block scaled to magnitudes <= 1 the sums
    # stay below ~1e134, so nothing overflows and precision holds.
    block = int(min(4096, max(1, 300.0 / -math.log(a))))
    p = a ** -np.arange(1.0, block + 1.0)
    yf = np.empty_like(xf)
    with np.errstate(under="ignore"):
        for start in range(0, xf.size, block):
            seg = xf[start:start + block]
            q = p[:seg.size]
            scale = max(abs(s), float(np.abs(seg).max()))
            if not scale > 0:
                scale = 1.0
            y = (s / scale + (1.0 - a) * np.cumsum(q * (seg / scale))) / q
            yf[start:start + seg.size] = y * scale
            s = float(yf[start + seg.size - 1])
    out[finite] = yf
    return out, s


def integer_tick_levels(levels: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """pyqtgraph tick levels ``[(spacing, offset), ...]`` for an axis of whole numbers (epochs).

    Levels finer than 1 are replaced by a level of spacing 1 (once), so an axis spanning a few
    epochs shows 0, 1, 2 ... and never 0.5 or 1.5; offsets are rounded to whole numbers.
    """
    out: list[tuple[float, float]] = []
    for spacing, offset in levels:
        if spacing < 1:
            spacing, offset = 1.0, 0.0
        else:
            offset = float(round(offset))
        if (spacing, offset) not in out:
            out.append((float(spacing), offset))
    return out


def whole_ticks(values, lo: float = -math.inf, hi: float = math.inf) -> list[float]:
    """The whole numbers among tick ``values`` within [lo, hi] (for an epoch axis)."""
    return [float(v) for v in values if abs(v - round(v)) < 1e-9 and lo <= v <= hi]

