"""View maths of the network view (nnviz.ui.network_view), with no Qt: where each column, unit and edge goes,
how edges are styled by weight, how heatmaps are coloured, how gradient bars are scaled, and hit tests.

Coordinates are widget pixels (x right, y down). Columns, left to right: the inputs (every feature the
network could use, chosen or not), each hidden layer, the outputs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .ui.palette import class_tints

HEADER = 18            # column titles
FOOTER = 34            # gradient bars and their values
LEFT = 46              # input labels
RIGHT = 10
NODE_MAX = 40          # largest thumbnail side (docked); set_large raises it
NODE_MAX_LARGE = 72
NODE_MIN = 4
STRIP_WIDTH = 90       # a summarised layer's block of tiles: at most this wide (docked)
EDGE_LEVELS = 8        # edges are drawn in this many width/alpha levels per sign
MAX_EDGES = 128        # per weight layer: only its strongest this many edges are drawn (32 x 32 has 1,024)
GRADIENT_DECADES = 6.0 # the gradient bars span this many powers of ten below the largest


@dataclass
class Column:
    kind: str                      # 'input', 'hidden' or 'output'
    layer: int                     # hidden layer index (0 based); -1 for input, n_hidden for output
    count: int
    x: float                       # centre x
    size: float                    # side of each node (strip: width)
    ys: np.ndarray                 # centre y of each node (strip: of each cell)
    strip: bool = False            # drawn as one block of small tiles, one per unit (summarised layer)
    top: float = 0.0               # strip: top and bottom
    bottom: float = 0.0
    grid: int = 1                  # strip: tiles per row (unit u is in row u // grid, column u % grid)

    @property
    def rows(self) -> int:
        return -(-self.count // self.grid)

    def rect(self, i: int) -> tuple[float, float, float, float]:
        """(x, y, w, h) of node ``i`` (strip: its tile)."""
        if self.strip:
            w, h = self.size / self.grid, (self.bottom - self.top) / max(1, self.rows)
            return (self.x - self.size / 2 + (i % self.grid) * w, self.top + (i // self.grid) * h, w, h)
        s = self.size
        return (self.x - s / 2, float(self.ys[i]) - s / 2, s, s)

    def bounds(self) -> tuple[float, float, float, float]:
        if self.strip:
            return (self.x - self.size / 2, self.top, self.size, self.bottom - self.top)
        if self.count == 0:
            return (self.x, 0.0, 0.0, 0.0)
        y0 = float(self.ys[0]) - self.size / 2
        return (self.x - self.size / 2, y0, self.size, float(self.ys[-1]) - float(self.ys[0]) + self.size)


@dataclass
class Layout:
    width: int
    height: int
    columns: list = field(default_factory=list)   # Column, left to right
    gap: float = 0.0                               # distance between column centres

    def hit_node(self, x: float, y: float, slack: float = 2.0) -> tuple[int, int] | None:
        """(column index, node index) under the point, or None."""
        for c, col in enumerate(self.columns):
            bx, by, bw, bh = col.bounds()
            if not (bx - slack <= x <= bx + bw + slack and by - slack <= y <= by + bh + slack):
                continue
            if col.strip:
                row = int((y - col.top) / max(1e-9, (col.bottom - col.top) / max(1, col.rows)))
                column = int((x - (col.x - col.size / 2)) / max(1e-9, col.size / col.grid))
                row, column = min(max(row, 0), col.rows - 1), min(max(column, 0), col.grid - 1)
                i = row * col.grid + column
                return (c, i) if i < col.count else None
            d = np.abs(col.ys - y)
            i = int(np.argmin(d))
            if d[i] <= col.size / 2 + slack:
                return (c, i)
        return None


def layout(n_inputs: int, hidden: list[int], n_outputs: int, width: int, height: int, large: bool = False,
           summarised: bool = False) -> Layout:
    """Place every column: evenly spaced, each node column centred vertically, nodes as big as fit."""
    width, height = max(1, int(width)), max(1, int(height))
    counts = [n_inputs] + list(hidden) + [n_outputs]
    n_cols = len(counts)
    node_max = NODE_MAX_LARGE if large else NODE_MAX
    usable_w = max(1.0, width - LEFT - RIGHT)
    usable_h = max(1.0, height - HEADER - FOOTER)
    # columns from LEFT + half a node to width - RIGHT - half a node: first fix a provisional gap
    gap = usable_w / max(1, n_cols - 1 + 0.8)
    out = Layout(width, height, gap=gap)
    first = LEFT + 0.4 * gap
    for c, n in enumerate(counts):
        kind = "input" if c == 0 else "output" if c == n_cols - 1 else "hidden"
        x = first + c * gap
        strip = summarised and kind == "hidden"
        if strip:
            w = max(2.0, min(STRIP_WIDTH * (1.6 if large else 1.0), 0.55 * gap))
            top, bottom = HEADER + 0.02 * usable_h, HEADER + 0.98 * usable_h
            grid = int(min(n, max(1, round(math.sqrt(n * w / max(1.0, bottom - top))))))
            rows = -(-n // grid)
            ys = top + (np.arange(n) // grid + 0.5) * (bottom - top) / rows
            out.columns.append(Column(kind, c - 1, n, x, w, ys, True, top, bottom, grid))
            continue
        limit = node_max * (1.5 if kind == "output" and n == 1 else 1.0)
        s = min(limit, 0.5 * gap, usable_h / max(1.0, n * 1.25))
        s = max(float(NODE_MIN), s)
        pitch = min(s * 1.5, usable_h / max(1, n))
        ys = HEADER + usable_h / 2 + (np.arange(n) - (n - 1) / 2) * pitch
        out.columns.append(Column(kind, c - 1 if kind != "input" else -1, n, x, s, ys))
    return out


def edge_segments(lay: Layout, source: int, sources: np.ndarray | None = None) -> np.ndarray:
    """(fan_in * fan_out, 4) segments x0, y0, x1, y1 from column ``source``'s nodes (or the ``sources`` among
    them, in weight-row order) to the next column's, row-major like the weight matrix W[i, j]."""
    a, b = lay.columns[source], lay.columns[source + 1]
    rows = np.arange(a.count) if sources is None else np.asarray(sources, dtype=np.intp)
    y0 = a.ys[rows] if len(rows) else np.zeros(0)
    x0 = a.x + a.size / 2
    x1 = b.x - b.size / 2
    segs = np.empty((len(rows), b.count, 4))
    segs[..., 0] = x0
    segs[..., 1] = y0[:, None]
    segs[..., 2] = x1
    segs[..., 3] = b.ys[None, :]
    return segs.reshape(-1, 4)


def segment_distance(x: float, y: float, segs: np.ndarray) -> np.ndarray:
    """Distance from the point to each segment (N, 4)."""
    if len(segs) == 0:
        return np.zeros(0)
    p0, p1 = segs[:, :2], segs[:, 2:]
    d = p1 - p0
    length2 = np.einsum("ij,ij->i", d, d)
    t = np.where(length2 > 0, np.einsum("ij,ij->i", np.array([x, y]) - p0, d) / np.where(length2 > 0, length2, 1),
                 0.0)
    t = np.clip(t, 0.0, 1.0)
    nearest = p0 + d * t[:, None]
    return np.hypot(nearest[:, 0] - x, nearest[:, 1] - y)


def strongest(weights: np.ndarray, limit: int = MAX_EDGES) -> np.ndarray:
    """Indices (ascending) of the ``limit`` weights of largest magnitude (all if there are no more)."""
    w = np.abs(np.nan_to_num(np.asarray(weights, dtype=np.float64).ravel(), nan=0.0))
    if len(w) <= limit:
        return np.arange(len(w))
    return np.sort(np.argpartition(-w, limit - 1)[:limit])


def edge_levels(weights: np.ndarray, wmax: float) -> np.ndarray:
    """Each weight's drawing level 0..EDGE_LEVELS-1 by |w| / wmax (0: thinnest, faintest)."""
    w = np.abs(np.nan_to_num(np.asarray(weights, dtype=np.float64).ravel(), nan=0.0))
    if not wmax > 0 or not math.isfinite(wmax):
        return np.zeros(len(w), np.intp)
    return np.minimum((np.minimum(w / wmax, 1.0) * EDGE_LEVELS).astype(np.intp), EDGE_LEVELS - 1)


def edge_style(level: int) -> tuple[float, int]:
    """(pen width px, alpha 0-255) of an edge level: thin and faint for small weights."""
    f = (level + 1) / EDGE_LEVELS
    return (0.5 + 2.5 * f, int(40 + 215 * f))


def colorize(maps: np.ndarray, levels: tuple[float, float], lut: np.ndarray) -> np.ndarray:
    """(n, g, g) values -> (n, g, g, 4) uint8 through ``lut`` (256, 4), ``levels`` = (lo, hi) to its ends,
    flipped vertically (row 0 of a map is ymin; row 0 of an image is its top). NaN gets the low end's colour
    (frames are finite: the session replaces non-finite activations)."""
    lo, hi = float(levels[0]), float(levels[1])
    span = hi - lo if hi > lo else 1.0
    top = len(lut) - 1
    idx = np.subtract(maps, lo, dtype=np.float32)
    idx *= top / span
    np.fmax(idx, 0, out=idx)        # fmax/fmin: NaN becomes 0
    np.fmin(idx, top, out=idx)
    # truncated: the same bins as pyqtgraph's ImageItem with levels and a LUT (the canvas)
    return np.ascontiguousarray(lut[idx.astype(np.intp)][:, ::-1])


def class_ramp(probs: np.ndarray, k: int) -> np.ndarray:
    """(n, g, g) probabilities of class ``k`` -> (n, g, g, 4) uint8 from white to the class tint, flipped
    vertically like :func:`colorize`."""
    tint = class_tints(strength=0.85)[k]
    p = np.clip(np.nan_to_num(np.asarray(probs, dtype=np.float64), nan=0.0), 0.0, 1.0)[..., None]
    rgb = 255.0 + (tint - 255.0) * p
    out = np.empty(p.shape[:-1] + (4,), np.uint8)
    out[..., :3] = np.clip(rgb, 0, 255).round()
    out[..., 3] = 255
    return np.ascontiguousarray(out[:, ::-1])


def gradient_fractions(values) -> tuple[np.ndarray, float]:
    """Bar lengths 0..1 for per-layer gradient magnitudes on a log scale spanning GRADIENT_DECADES below the
    largest (0 for a zero or missing value), and that largest power of ten."""
    v = np.asarray(values, dtype=np.float64)
    good = np.isfinite(v) & (v > 0)
    if not good.any():
        return np.zeros(len(v)), 0.0
    top = math.ceil(math.log10(float(v[good].max())) - 1e-9)
    f = np.zeros(len(v))
    f[good] = np.clip((np.log10(v[good]) - (top - GRADIENT_DECADES)) / GRADIENT_DECADES, 0.02, 1.0)
    return f, float(top)


def format_value(v: float) -> str:
    """A short number for labels: 3 significant digits, scientific when tiny or huge."""
    if not math.isfinite(v):
        return "-"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e4 or a < 1e-2:
        return f"{v:.1e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{v:.3g}"

