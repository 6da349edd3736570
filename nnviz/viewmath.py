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



# -- several runs in one plot (issue 7 section 2) ---------------------------------------------------------
def finite_points(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points of a curve whose x and y are both finite: a line drawn through what remains joins
    the evaluated epochs across the rows that hold NaN (epochs not evaluated, values that do not exist)."""
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.all():
        return x, y
    return x[keep], y[keep]


def last_finite_index(values: np.ndarray, first_chunk: int = 64, test=np.isfinite) -> int | None:
    """Index of the last entry of a 1-D array that passes ``test`` (default: finite), or None; looks
    back from the end in growing chunks, so a column evaluated every few rows costs a few dozen checks."""
    values = np.asarray(values)
    end, chunk = values.size, max(1, first_chunk)
    while end > 0:
        start = max(0, end - chunk)
        hits = np.flatnonzero(test(values[start:end]))
        if hits.size:
            return start + int(hits[-1])
        end, chunk = start, chunk * 8
    return None


def _hex_to_rgb(colour: str) -> tuple[float, float, float]:
    text = str(colour).strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) == 8:          # #AARRGGBB (Qt's HexArgb): the alpha is dropped
        text = text[2:]
    if len(text) != 6:
        raise ValueError(f"colour: expected '#RRGGBB', got {colour!r}")
    return tuple(int(text[i:i + 2], 16) / 255.0 for i in (0, 2, 4))


def _rgb_to_hex(rgb) -> str:
    return "#" + "".join(f"{min(255, max(0, round(255 * c))):02x}" for c in rgb)


def mix(colour: str, other: str, amount: float) -> str:
    """``colour`` moved ``amount`` (0..1) of the way towards ``other``, as '#rrggbb'."""
    a, b = _hex_to_rgb(colour), _hex_to_rgb(other)
    t = min(1.0, max(0.0, float(amount)))
    return _rgb_to_hex([x + (y - x) * t for x, y in zip(a, b)])


def shade_ramp(colour: str, n: int, dark_background: bool = False) -> list[str]:
    """``n`` shades of one hue, darkest (input layer) to lightest (output layer), as '#rrggbb'.

    A run's layers in a plot of several runs: the hue says which run, the lightness which layer.
    The ends are kept off the background (not too light on white, not too dark on black)."""
    import colorsys
    h, l0, s = colorsys.rgb_to_hls(*_hex_to_rgb(colour))
    s = max(s, 0.35) if s > 0.05 else s          # keep a hue's saturation, greys stay grey
    lo, hi = (0.40, 0.85) if dark_background else (0.18, 0.72)
    if n <= 1:
        levels = [min(hi, max(lo, l0))]
    else:
        levels = list(np.linspace(lo, hi, n))
    return [_rgb_to_hex(colorsys.hls_to_rgb(h, float(v), s)) for v in levels]


def sum_histograms(histograms) -> tuple[np.ndarray, np.ndarray] | None:
    """One histogram of all layers together: ``[(edges, counts), ...]`` -> ``(edges, counts)``.

    Layers of one run share their edges (see weight_histograms) and are simply added; otherwise the
    counts are re-binned by bin centre onto edges spanning them all. None for no histograms."""
    hists = [(np.asarray(e, dtype=float).ravel(), np.asarray(c, dtype=float).ravel()) for e, c in histograms or []]
    hists = [(e, c) for e, c in hists if e.size == c.size + 1 and c.size]
    if not hists:
        return None
    edges = hists[0][0]
    if all(e.size == edges.size and np.array_equal(e, edges) for e, _ in hists):
        return edges.copy(), np.sum([c for _, c in hists], axis=0)
    lo = min(float(e[0]) for e, _ in hists)
    hi = max(float(e[-1]) for e, _ in hists)
    bins = max(c.size for _, c in hists)
    out_edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    centres = np.concatenate([(e[:-1] + e[1:]) / 2 for e, _ in hists])
    weights = np.concatenate([c for _, c in hists])
    counts, _ = np.histogram(centres, bins=out_edges, weights=weights)
    return out_edges, counts


def nearest_evaluated_row(history, i: int, reach: int = 1024) -> int:
    """The row nearest ``i`` (within ``reach`` rows) whose ``evaluated`` flag is set; ``i`` itself when
    it is evaluated, when the history has no such column, or when none is near."""
    try:
        flags = history["evaluated"]
    except KeyError:
        return i
    if not 0 <= i < len(flags) or flags[i] > 0:
        return i
    lo = max(0, i - reach)
    hits = np.flatnonzero(flags[lo:i + reach + 1] > 0)
    if hits.size == 0:
        return i
    return lo + int(hits[np.argmin(np.abs(lo + hits - i))])
