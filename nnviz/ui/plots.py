"""Live metric plots: loss (or error rate), per-layer gradient magnitude and learning rate vs epoch.

Each widget reads columns of a :class:`~nnviz.engine.history.History` owned by the main window, which
calls :meth:`refresh` after appending rows (up to ~60 times a second) and :meth:`set_history` after a
reset or load.

Why the plumbing below exists: handing pyqtgraph 10^6-point arrays costs it O(N) per frame (log
mapping, bounds, downsampling), ~50-150 ms at 10^6 epochs. Instead every curve keeps a min/max
envelope of at most ``MAX_BUCKETS`` buckets that is updated from the new rows only, so a refresh costs
O(new rows + MAX_BUCKETS) however long the run. When the user zooms in, the visible rows are
re-bucketed at full resolution (O(visible rows), only while zoomed).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QEvent, QPointF, QRectF, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QColor, QPalette, QPen, QTransform
from PySide6.QtWidgets import (QDockWidget, QDoubleSpinBox, QGraphicsItem, QLabel, QMainWindow, QSizePolicy,
                               QSplitter, QToolBar, QVBoxLayout, QWidget)

from ..engine.history import History
from ..viewmath import ema  # noqa: F401  (re-exported)
from ..viewmath import (finite_points, integer_tick_levels, last_finite_index, mix, nearest_evaluated_row,
                        shade_ramp, sum_histograms, weight_histograms, whole_ticks)
from .palette import CLASS_COLORS

MAX_BUCKETS = 2048          # envelope buckets per curve: ~2 points per pixel on a wide screen
ZOOM_DETAIL_ROWS = 64 * MAX_BUCKETS   # re-bucket the visible rows when the view shows at most this many
DEFAULT_SMOOTHING = 0.9
FALLBACK_LOG_FLOOR = 1e-6   # log-axis floor when a plot has no positive value at all
LOG_EPOCHS_KEY = "plots/log_epochs"   # QSettings key remembering the epoch axis scale (app runs only)

# Okabe-Ito: distinct for colour-blind viewers, and train/test also differ in lightness.
TRAIN_COLOR = CLASS_COLORS[0]        # blue
TEST_COLOR = CLASS_COLORS[1]         # vermillion ("orange")
VALIDATION_COLOR = CLASS_COLORS[2]   # bluish green
PENALTY_COLOR = "#808080"
LEARNING_RATE_COLOR = CLASS_COLORS[0]


# -- numerics (no Qt) ---------------------------------------------------------------------------------
def _bucket_extremes(values: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max (NaN-ignoring; NaN for an all-NaN bucket) of consecutive ``stride``-row buckets."""
    n_full = values.size // stride
    n = n_full + (values.size % stride > 0)
    lo, hi = np.empty(n), np.empty(n)
    if n_full:
        blocks = values[:n_full * stride].reshape(n_full, stride)
        lo[:n_full] = np.fmin.reduce(blocks, axis=1)
        hi[:n_full] = np.fmax.reduce(blocks, axis=1)
    if n > n_full:
        tail = values[n_full * stride:]
        lo[-1], hi[-1] = np.fmin.reduce(tail), np.fmax.reduce(tail)
    return lo, hi


def _envelope_points(epochs: np.ndarray, start: int, stop: int, stride: int,
                     lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Curve points for buckets of rows [start, stop): each bucket is drawn as a max-min stroke."""
    if stride == 1:
        return epochs[start:stop], lo.copy()
    centre = np.minimum(start + np.arange(lo.size) * stride + stride // 2, stop - 1)
    return np.repeat(epochs[centre], 2), np.column_stack((hi, lo)).ravel()


def _merge_buckets(lo: np.ndarray, hi: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Min/max envelope buckets merged ``factor`` at a time (the last group may be partial)."""
    n = lo.size
    groups = -(-n // factor)
    pad = groups * factor - n
    if pad:
        lo = np.concatenate([lo, np.full(pad, np.nan)])
        hi = np.concatenate([hi, np.full(pad, np.nan)])
    return (np.fmin.reduce(lo.reshape(groups, factor), axis=1),
            np.fmax.reduce(hi.reshape(groups, factor), axis=1))


def _pow2_at_least(x: float) -> int:
    return 1 << max(0, math.ceil(math.log2(max(x, 1.0))))


class _Envelope:
    """Min/max of one series in at most ``budget`` buckets of ``stride`` rows, grown incrementally."""

    def __init__(self, budget: int = MAX_BUCKETS):
        self.budget = budget
        self.stride = 1
        self.n = 0
        self.lo = np.empty(budget + 1)
        self.hi = np.empty(budget + 1)

    def update(self, values: np.ndarray) -> None:
        """``values`` is the whole series so far; rows before ``self.n`` are assumed unchanged."""
        n = values.size
        while -(-n // self.stride) > self.budget:
            # merge complete bucket pairs; the partial tail is recomputed below
            k = self.n // (2 * self.stride)
            self.lo[:k] = np.fmin(self.lo[0:2 * k:2], self.lo[1:2 * k:2])
            self.hi[:k] = np.fmax(self.hi[0:2 * k:2], self.hi[1:2 * k:2])
            self.stride *= 2
        b0 = self.n // self.stride
        lo, hi = _bucket_extremes(values[b0 * self.stride:], self.stride)
        self.lo[b0:b0 + lo.size] = lo
        self.hi[b0:b0 + hi.size] = hi
        self.n = n

    @property
    def n_buckets(self) -> int:
        return -(-self.n // self.stride)


class _Growable:
    """A float buffer that grows by doubling; ``view`` is the filled part (no copy)."""

    def __init__(self):
        self._buf = np.empty(1024)
        self.n = 0

    def append(self, values: np.ndarray) -> None:
        need = self.n + values.size
        if need > self._buf.size:
            bigger = np.empty(max(need, 2 * self._buf.size))
            bigger[:self.n] = self._buf[:self.n]
            self._buf = bigger
        self._buf[self.n:need] = values
        self.n = need

    @property
    def view(self) -> np.ndarray:
        return self._buf[:self.n]


class _Series:
    """One displayed curve: raw column -> optional EMA -> envelope, each updated from new rows only."""

    def __init__(self):
        self.smoothing: float | None = None
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self._last_raw = np.nan
        self._raw = np.empty(0)
        self._smoothed: _Growable | None = None
        self._ema_state: float | None = None
        self.envelope = _Envelope()
        self.min_positive = math.inf   # of the raw values: sets the log-axis floor
        self.max_abs = 0.0
        self.lo, self.hi = math.inf, -math.inf   # of the finite raw values
        self.has_data = False          # any finite value at all

    def set_smoothing(self, factor: float | None) -> None:
        if factor != self.smoothing:
            self.smoothing = factor
            self.reset()

    def sync(self, raw: np.ndarray) -> bool:
        """Take in the rows of ``raw`` (the whole column so far) not seen yet; True if any were new."""
        n = raw.size
        stale = n < self.n or (self.n and not _same(raw[self.n - 1], self._last_raw))
        if stale:   # the history was truncated or rewritten under us: start over
            self.reset()
        self._raw = raw
        if n == self.n:
            return bool(stale)
        new = raw[self.n:]
        positive = new[new > 0]
        if positive.size:
            self.min_positive = min(self.min_positive, float(positive.min()))
        finite = new[np.isfinite(new)]
        if finite.size:
            self.has_data = True
            self.max_abs = max(self.max_abs, float(np.abs(finite).max()))
            self.lo, self.hi = min(self.lo, float(finite.min())), max(self.hi, float(finite.max()))
        if self.smoothing:
            if self._smoothed is None:
                self._smoothed = _Growable()
            smoothed, self._ema_state = ema(new, self.smoothing, self._ema_state)
            self._smoothed.append(smoothed)
        self.envelope.update(self.values)
        self.n = n
        self._last_raw = raw[n - 1]
        return True

    @property
    def values(self) -> np.ndarray:
        """The full-resolution values the curve shows (smoothed or raw)."""
        return self._smoothed.view if self.smoothing else self._raw

    def points(self, epochs: np.ndarray, rows: tuple[int, int] | None,
               floor: float | None, log_x: bool = False,
               max_buckets: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """x, y to draw: the whole envelope, or ``rows`` re-bucketed finely; y clipped up to ``floor``.

        ``max_buckets`` (e.g. the plot's width in pixels) merges the envelope's buckets further, so a
        plot of many curves draws about one min/max stroke per pixel column: the same ink, a fraction
        of the painting (a noisy curve's strokes are long).
        On a log epoch axis the first buckets would squeeze the early epochs (which the log axis is
        there to show) into a few strokes, so those rows are drawn from log-spaced single rows."""
        env = self.envelope
        if rows is None or env.stride == 1:
            stride, lo, hi = env.stride, env.lo[:env.n_buckets], env.hi[:env.n_buckets]
            if rows is None and max_buckets and lo.size > max_buckets:
                factor = _pow2_at_least(lo.size / max_buckets)
                lo, hi = _merge_buckets(lo, hi, factor)
                stride *= factor
            x, y = _envelope_points(epochs, 0, env.n, stride, lo, hi)
            if log_x and stride > 1:
                head = min(env.n, stride * 16)           # rows whose buckets look coarse in log scale
                picks = np.unique(np.geomspace(1, head, 512).astype(np.intp) - 1)
                keep = x > epochs[head - 1]
                x = np.concatenate([epochs[picks], x[keep]])
                y = np.concatenate([self.values[picks], y[keep]])
        else:
            start, stop = rows
            stride = _pow2_at_least((stop - start) / env.budget)
            lo, hi = _bucket_extremes(self.values[start:stop], stride)
            x, y = _envelope_points(epochs, start, stop, stride, lo, hi)
        if floor is not None:
            np.maximum(y, floor, out=y)   # zeros sit on the floor
        # rows without a value (epochs not evaluated, all-NaN buckets) are left out, so the line joins
        # the values either side instead of breaking into dots at every unevaluated epoch
        return finite_points(x, y)


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _percent(v: float) -> str:
    return f"{100 * v:.3g}%"


# -- pens ---------------------------------------------------------------------------------------------
# Curves are drawn with 1-pixel cosmetic, antialiased pens. A pen wider than one pixel goes through
# Qt's stroker (an outline path per segment, then a fill): 11-15 ms per repaint of a 7-curve plot,
# the largest GUI stall while training. A 1-pixel pen takes the cosmetic line rasteriser (~0.2 ms per
# curve). The curves that carry the story (train and test loss, the input and output layers) are
# drawn twice, one device pixel apart: two pixels thick for the price of two thin lines.
def curve_pen(color, style=Qt.PenStyle.SolidLine) -> QPen:
    """A 1-pixel cosmetic pen (the cheap rasteriser path), whatever the view's scale."""
    pen = pg.mkPen(color, width=1, style=style)
    pen.setCosmetic(True)
    return pen


class _Bold(QGraphicsItem):
    """Draws its curve's path a second time one device pixel lower: a 2-pixel line at 1-pixel cost."""

    def __init__(self, item: pg.PlotDataItem):
        super().__init__(item)   # no reference back to the item: a cycle would wait for the GC
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent, True)

    def geometry_changed(self, *_):
        self.prepareGeometryChange()
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self.parentItem().curve.boundingRect()

    def paint(self, painter, option, widget=None):
        curve = self.parentItem().curve
        if not curve.isVisible() or curve.xData is None or len(curve.xData) < 2:
            return
        painter.save()
        painter.setWorldTransform(painter.worldTransform() * QTransform.fromTranslate(0.0, 1.0))
        painter.setRenderHint(painter.RenderHint.Antialiasing, bool(curve.opts["antialias"]))
        painter.setPen(curve.opts["pen"])
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(curve.getPath())
        painter.restore()


def make_curve(pen: QPen, bold: bool = False) -> pg.PlotDataItem:
    """A curve item drawn with ``pen`` (antialiased); ``bold`` draws it two pixels thick (see _Bold)."""
    item = pg.PlotDataItem(pen=pen, connect="finite", antialias=True)
    set_bold(item, bold)
    return item


def set_bold(item: pg.PlotDataItem, bold: bool) -> None:
    extra = getattr(item, "_nnviz_bold", None)
    if bold and extra is None:
        extra = item._nnviz_bold = _Bold(item)
        item.curve.sigPlotChanged.connect(extra.geometry_changed)   # every data change, clip-to-view too
    if extra is not None:
        extra.setVisible(bold)


def is_bold(item: pg.PlotDataItem) -> bool:
    extra = getattr(item, "_nnviz_bold", None)
    return extra is not None and extra.isVisibleTo(item)


# -- several runs ---------------------------------------------------------------------------------------
@dataclass(eq=False)
class Overlay:
    """Another run's curves drawn beside the window's own run: a live run of a comparison, or a pin.

    ``history`` is read on every ``refresh()`` (it may grow in place); ``colour`` is '#rrggbb';
    ``faded`` draws it paler and behind the live runs (a pin); ``weight_histograms`` is the run's latest
    ``[(edges, counts), ...]`` (as ``WeightsPlot.set_weight_histograms`` takes), or None."""

    key: str
    label: str
    history: History
    colour: str
    faded: bool = False
    weight_histograms: list | None = None


# Where colour alone does not say which run a line belongs to (a run's layers are shades of its
# colour), the line style does: run A solid, then dashed, dotted, ...
RUN_LINE_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine,
                   Qt.PenStyle.DashDotLine, Qt.PenStyle.DashDotDotLine)
PIN_FADE = 0.4          # a pin's colour: this far from its own colour towards the background
PRIMARY_LABEL = "this run"   # the window's run when the caller gave it no name
PIN_PREFIX = "pin: "
LEGEND_PINS = 2             # more pins than this share one legend entry (and leave the layer strip)
LEGEND_LABEL_CHARS = 26     # longer run names are cut in the legend (in full in its tooltip)


def _elide(text: str, limit: int = LEGEND_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


class _Run:
    """One run's curves in a plot: the window's own run (``key`` "") or an overlay."""

    def __init__(self, key: str):
        self.key = key
        self.history: History | None = None
        self.label = ""
        self.colour: str | None = None
        self.faded = False
        self.index = 0                  # position among the runs: picks the line style where needed
        self.weight_histograms = None
        self.series: dict[str, _Series] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.drawn: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.shown: dict[str, bool] = {}
        self.display_key = None
        self.dirty = True               # redraw on the next refresh whatever the rows say
        self.n_layers = 0
        self.pool: list[pg.PlotDataItem] = []   # per-layer curves, kept for reuse when layers come back
        self.objective = _Growable()
        self.objective_inputs = (np.nan, np.nan)

    def items(self) -> list[pg.PlotDataItem]:
        return list({id(c): c for c in [*self.curves.values(), *self.pool]}.values())


# -- widgets ------------------------------------------------------------------------------------------
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def log_tick_label(value: float, all_labels: bool = False) -> str:
    """Tick text on a log axis: 1/2/5 x 10^k only (others crowd), plain decimals for moderate values."""
    if not np.isfinite(value) or value <= 0:
        return ""
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = round(value / 10.0 ** exponent, 6)
    if not all_labels and mantissa not in (1.0, 2.0, 5.0):
        return ""
    if 1e-3 <= value < 1e4:
        return f"{value:.3g}"
    power = "10" + str(exponent).translate(_SUPERSCRIPT)
    return power if mantissa == 1.0 else f"{mantissa:g}·{power}"


def epoch_tick_labels(values) -> list[str]:
    """Epoch ticks in one unit per axis: 2500, 5000 ... / 200k, 400k ... / 0.5M, 1M ... ("1e+06" reads badly)."""
    top = max((abs(v) for v in values), default=0.0)
    unit, suffix = (1e6, "M") if top >= 1e6 else (1e3, "k") if top >= 1e5 else (1.0, "")
    digits = 6 if unit == 1.0 else 4    # 10000 stays "10000" (".4g" would make it "1e+04")
    return [("0" if v == 0 else f"{v / unit:.{digits}g}{suffix}") for v in values]


class _Axis(pg.AxisItem):
    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        if not self.logMode:
            return levels
        # pyqtgraph's minor log ticks repeat the decades of the major level: "10" was written twice
        seen, out = set(), []
        for spacing, values in levels:
            out.append((spacing, [v for v in values if round(float(v), 9) not in seen]))
            seen.update(round(float(v), 9) for v in values)
        return out

    def logTickStrings(self, values, scale, spacing):
        # within a single decade every minor tick has room; across several only 1, 2, 5 do
        narrow = len(values) > 1 and max(values) - min(values) < 0.7
        return [log_tick_label(10.0 ** v * scale, narrow) for v in values]


class _EpochAxis(pg.AxisItem):
    """Epochs are whole numbers: no tick at 0.5 or 1.5 while a run is a few epochs long."""

    def tickSpacing(self, minVal, maxVal, size):
        levels = super().tickSpacing(minVal, maxVal, size)
        if self.logMode:
            return levels
        levels = integer_tick_levels(levels)
        # a narrow plot: labelled ticks at least one label apart ("100200300" read as one number)
        span = maxVal - minVal
        if size > 0 and span > 0 and levels:
            label = max(epoch_tick_labels([minVal, maxVal]), key=len)
            need = (len(label) * 7 + 12) * span / size          # epochs one label (and a gap) takes
            if levels[0][0] < need:
                major = nice_ceil(need)
                levels = [(major, 0.0)] + [(sp, off) for sp, off in levels[1:] if sp < major]
        return levels

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        if not self.logMode:
            return levels
        # log mode: values are log10(epoch); keep only ticks at whole epochs
        out = []
        for spacing, values in levels:
            epochs = whole_ticks([round(10.0 ** v, 6) for v in values], lo=1.0)
            out.append((spacing, [math.log10(e) for e in epochs]))
        return out

    def tickStrings(self, values, scale, spacing):
        if self.logMode:
            epochs = [round(10.0 ** v * scale) for v in values]
            labels = epoch_tick_labels(epochs)
            # decades only, or 1-2-5 within a narrow range: every minor tick labelled would crowd
            narrow = len(values) > 1 and max(values) - min(values) < 1.5
            lead = [int(str(e)[0]) if e > 0 else 0 for e in epochs]
            zeros = [e > 0 and str(e)[1:].strip("0") == "" for e in epochs]
            return [t if z and (d == 1 or (narrow and d in (2, 5))) else ""
                    for t, d, z in zip(labels, lead, zeros)]
        return epoch_tick_labels([v * scale for v in values])


def nice_ceil(value: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (x 10^k) not below ``value`` (> 0)."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    exp = math.floor(math.log10(value))
    for step in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        candidate = step * 10.0 ** exp
        if candidate >= value * (1 - 1e-12):
            return candidate
    return 10.0 ** (exp + 1)


def _remembered_log_epochs() -> bool:
    """The epoch axis scale the user chose last (only the real app, which has an organisation, keeps it)."""
    if not QCoreApplication.organizationName():
        return False
    value = QSettings().value(LOG_EPOCHS_KEY, False)
    return value in (True, "true", "1", 1)


class _MetricPlot(QWidget):
    """Toolbar + plot + hover readout; subclasses say which series to draw and how to describe a row."""

    y_label = ""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        # the window's own run; its curves and series are also reachable as self.curves / self.series
        self._primary = _Run("")
        self.series: dict[str, _Series] = self._primary.series
        self.curves: dict[str, pg.PlotDataItem] = self._primary.curves
        self._drawn = self._primary.drawn
        self._overlays: dict[str, _Run] = {}       # key -> run, in the order given to set_overlays
        self._primary_label: str | None = None
        self._primary_colour: str | None = None
        self._legend_signature = None
        self._legend_samples: list[pg.PlotDataItem] = []
        self._legend_targets: dict[int, tuple[str, str]] = {}   # id(sample item) -> ("run"|"curve", key)
        self._hidden: set[tuple[str, str]] = set()              # switched off from the legend
        self._labels: dict[str, str] = {}
        self._log = False
        self._log_x = _remembered_log_epochs()   # epoch axis scale, shared by all plots of a window
        self._hover_scene_pos = QPointF()

        pal = self.palette()
        self._bg = pal.color(QPalette.ColorRole.Base)
        self._fg = pal.color(QPalette.ColorRole.Text)
        self.dark = self._bg.lightness() < 128

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        # a QToolBar moves what does not fit into its "»" menu, so a narrow dock still shows the plot
        self.toolbar = QToolBar(self)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        layout.addWidget(self.toolbar)
        self.plot_widget = pg.PlotWidget(background=self._bg,
                                         axisItems={"left": _Axis("left"), "bottom": _EpochAxis("bottom")})
        layout.addWidget(self.plot_widget, 1)
        self.plot_widget.setMinimumHeight(150)   # room for axes, curves and a two-row legend in a small dock
        self.plot_item: pg.PlotItem = self.plot_widget.getPlotItem()
        self.view_box: pg.ViewBox = self.plot_item.getViewBox()
        self._style_axes()
        # Our envelopes already bound the point count; these keep pyqtgraph from drawing more
        # than the pixels need when a plot is small.
        self.plot_item.setClipToView(True)
        self.plot_item.setDownsampling(auto=True, mode="peak")
        self.plot_item.showGrid(x=True, y=True, alpha=0.15)
        self.plot_item.setMenuEnabled(False)
        self.view_box.setMouseEnabled(x=True, y=False)   # wheel zooms epochs; y follows the data
        self.view_box.sigXRangeChanged.connect(self._on_view_changed)
        # Ranges move in steps (see _apply_range), not with every new epoch: an axis whose range
        # changed is re-rendered, which costs more than everything else in a frame.
        self._auto_x = True
        self._range = None
        self.view_box.disableAutoRange()
        self._setting_range = False

        # The hover readout is a label over the viewport, placed in pixels: data coordinates would
        # go stale whenever a refresh or the log toggle rescales the axes under a still mouse.
        self.readout = QLabel(self.plot_widget.viewport())
        self.readout.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.readout.setStyleSheet(
            f"QLabel {{ background: rgba({self._bg.red()}, {self._bg.green()}, {self._bg.blue()}, 235);"
            f" color: {self._fg.name()}; border: 1px solid {self._muted().name(QColor.NameFormat.HexArgb)};"
            " padding: 1px 4px; }")
        self.readout.hide()
        self.hover_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(self._muted(), style=Qt.PenStyle.DotLine))
        self.hover_line.hide()
        self.plot_item.addItem(self.hover_line, ignoreBounds=True)
        self.plot_widget.scene().sigMouseMoved.connect(self._on_mouse_moved)
        # This widget filters the plot's events itself: a helper QObject holding a bound method would
        # form a reference cycle, leaving an unparented plot to be freed by a GC pass that can fall
        # in the middle of its own paint (a segfault seen under pytest-qt).
        self.plot_widget.installEventFilter(self)
        self.plot_item.setLogMode(self._log_x, self._log)

    # the window's own run, under the names the single-run plots always had
    @property
    def history(self) -> History | None:
        return self._primary.history

    @history.setter
    def history(self, value: History | None) -> None:
        self._primary.history = value

    @property
    def _shown(self) -> dict[str, bool]:
        return self._primary.shown

    @_shown.setter
    def _shown(self, value: dict) -> None:
        self._primary.shown = value

    @property
    def _display_key(self):
        return self._primary.display_key

    @_display_key.setter
    def _display_key(self, value) -> None:
        self._primary.display_key = value

    # -- construction helpers ------------------------------------------------------------------------
    def _muted(self) -> QColor:
        c = QColor(self._fg)
        c.setAlpha(140)
        return c

    def _style_axes(self):
        for name in ("left", "bottom"):
            axis = self.plot_item.getAxis(name)
            axis.enableAutoSIPrefix(False)   # "loss (x0.001)" with ticks of 300 reads worse than 0.3
            axis.setPen(self._muted())
            axis.setTextPen(self._fg)
        self.plot_item.setLabel("bottom", "epoch", color=self._fg.name())
        self.plot_item.setLabel("left", self.y_label, color=self._fg.name())

    def _add_toggle(self, text: str, tooltip: str, checked: bool, slot) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tooltip)
        action.setCheckable(True)
        action.setChecked(checked)
        action.toggled.connect(slot)
        self.toolbar.addAction(action)
        # a focus frame on a flat tool button looks like "checked"; these are mouse controls anyway
        self.toolbar.widgetForAction(action).setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return action

    def _add_log_epochs_toggle(self) -> QAction:
        """The "Log epochs" toggle; every plot of the window follows it, and the app remembers it."""
        self.log_epochs_button = self._add_toggle(
            "Log epochs", "Use a logarithmic epoch axis, so the first epochs are not squeezed against the "
            "y axis after a long run. Applies to all plots.", self._log_x, self._on_log_epochs_toggled)
        return self.log_epochs_button

    def _on_log_epochs_toggled(self, on: bool) -> None:
        root = self.window()
        plots = [p for p in root.findChildren(_MetricPlot)] if root is not self else []
        for plot in {self, *plots}:
            plot.set_log_epochs(on)
        if QCoreApplication.organizationName():   # the real app (tests and scripts leave no trace)
            QSettings().setValue(LOG_EPOCHS_KEY, bool(on))

    @property
    def log_epochs(self) -> bool:
        return self._log_x

    def set_log_epochs(self, on: bool) -> None:
        """Show epochs on a logarithmic (True) or linear (False) axis."""
        on = bool(on)
        button = getattr(self, "log_epochs_button", None)
        if button is not None and button.isChecked() != on:
            button.blockSignals(True)
            button.setChecked(on)
            button.blockSignals(False)
        if on == self._log_x:
            return
        self._log_x = on
        self.plot_item.setLogMode(self._log_x, self._log)
        self._range = None
        self._auto_x = True
        self.hide_readout()
        self._epoch_axis_changed()
        self._redraw(force=True)

    def _epoch_axis_changed(self) -> None:
        """Subclasses move epoch-placed items (markers) to the new axis."""

    def _epoch_to_view(self, epoch: float) -> float:
        if not self._log_x:
            return float(epoch)
        return math.log10(epoch) if epoch > 0 else 0.0

    def _view_to_epoch(self, x: float) -> float:
        return 10.0 ** min(x, 300.0) if self._log_x else float(x)

    def _add_header(self) -> QLabel:
        """A line of text between the toolbar and the plot: numbers and notes that must not cover curves."""
        label = QLabel(self)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setWordWrap(True)
        label.setContentsMargins(4, 0, 4, 0)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)   # never widens the dock
        self.layout().insertWidget(1, label)
        return label

    def _add_legend(self):
        # Under the x axis rather than inside the view, where it would hide the ends of the curves.
        self.legend = pg.LegendItem(labelTextColor=self._fg, labelTextSize="8pt", horSpacing=4, verSpacing=-6)
        # parent first: QGraphicsLayout.addItem alone does not hand ownership to the scene
        self.legend.setParentItem(self.plot_item)
        self.plot_item.layout.addItem(self.legend, 4, 1)
        self.legend.sigSampleClicked.connect(self._on_legend_clicked)
        # its text is re-rasterised with every repaint of the plot otherwise
        self.legend.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def _add_curve(self, key: str, label: str, pen, bold: bool = False) -> pg.PlotDataItem:
        curve = make_curve(pen, bold)
        self.plot_item.addItem(curve)
        curve.hide()
        self.curves[key] = curve
        self.series[key] = _Series()
        self._labels[key] = label
        self._shown[key] = False
        return curve

    # -- subclass hooks ------------------------------------------------------------------------------
    def _columns(self) -> dict[str, np.ndarray]:
        """Key -> full column (a view into the history) for every curve that should be drawn now."""
        return self._columns_for(self._primary)

    def _columns_for(self, run: _Run) -> dict[str, np.ndarray]:
        """Key -> full column of ``run.history`` for every curve of the run that should be drawn now."""
        raise NotImplementedError

    def _describe(self, row: int) -> str:
        return f"epoch {int(self.history['epoch'][row])}: {self._row_text(self._primary, row)}"

    def _row_text(self, run: _Run, row: int) -> str:
        """The values of ``run``'s row ``row`` for the hover readout, without the epoch."""
        raise NotImplementedError

    def _wants(self, key: str, series: _Series) -> bool:
        """Whether a curve with data should be shown (e.g. a penalty that is always zero is not)."""
        return series.has_data

    def _on_history_changed(self):
        """Called by set_history before the first draw (e.g. to rebuild per-layer curves)."""

    def _prepare_run(self, run: _Run) -> None:
        """Make sure ``run`` has the curves its history needs (called before each of its redraws)."""

    def _style_run(self, run: _Run) -> None:
        """Give ``run``'s curves their pens for the current mode (single run or coloured runs)."""

    def _overlays_changed(self) -> None:
        """Called after set_overlays/set_primary changed something (e.g. weight histograms)."""

    def _style_key_entries(self) -> list[tuple[str, str, Qt.PenStyle, str]]:
        """Extra legend entries in coloured mode: (label, colour, line style, curve key), e.g. "test"
        dashed; clicking one hides that kind of curve in every run."""
        return []

    def _run_legend_colour(self, run: _Run) -> str:
        return self.run_colour(run)

    def _run_legend_style(self, run: _Run) -> Qt.PenStyle:
        return Qt.PenStyle.SolidLine

    # -- public API ----------------------------------------------------------------------------------
    def set_history(self, history: History) -> None:
        """Show ``history`` from scratch (after a reset or load)."""
        if not isinstance(history, History):
            raise TypeError(f"set_history: expected a History, got {type(history).__name__}")
        self.history = history
        self._on_history_changed()
        for series in self.series.values():
            series.reset()
        self._drawn.clear()
        self._primary.dirty = True
        self._auto_x = True     # a new run: follow it again
        self._redraw(force=True)

    def refresh(self) -> None:
        """The histories grew: draw the new rows (cost independent of the runs' length)."""
        if self.history is not None or self._overlays:
            self._redraw(force=False)

    def clear(self) -> None:
        """Forget the window's history and blank its curves (overlays stay: they have their own)."""
        self.history = None
        for key, series in self.series.items():
            series.reset()
            self.curves[key].setData([], [])
        self._set_shown({key: False for key in self.curves})
        self.hide_readout()
        self._display_key = None
        self._drawn.clear()
        self._range = None
        if self._overlays:
            self._redraw(force=True)

    @property
    def coloured(self) -> bool:
        """True when runs are told apart by colour: there are overlays, or the window's run has a name."""
        return bool(self._overlays) or self._primary_label is not None

    @property
    def overlays(self) -> list[str]:
        """The keys of the overlays shown, in order."""
        return list(self._overlays)

    def set_primary(self, label: str | None, colour: str | None = None) -> None:
        """Name and colour the window's own run (compare mode: run A); None, None: the single-run look
        (as long as there are no overlays either)."""
        label = None if label is None else str(label)
        colour = None if colour is None else str(colour)
        if colour is not None:
            mix(colour, colour, 0.0)   # ValueError for a colour that is not '#rrggbb'
        if (label, colour) == (self._primary_label, self._primary_colour):
            return
        was = self.coloured
        self._primary_label, self._primary_colour = label, colour
        self._restyle(all_runs=was != self.coloured, runs=[self._primary])
        self._overlays_changed()
        self._redraw(force=True)
        self._update_legend()

    def set_overlays(self, overlays) -> None:
        """Draw these runs or pins (``list[Overlay]``) beside the window's run, replacing the previous
        ones. An overlay whose key was shown before keeps its curves (and its drawn rows, if its history
        is the same object); curves of overlays no longer listed are removed from the plot."""
        overlays = list(overlays or [])
        seen = set()
        for o in overlays:
            if not isinstance(o, Overlay):
                raise TypeError(f"set_overlays: expected Overlay items, got {type(o).__name__}")
            if not isinstance(o.history, History):
                raise TypeError(f"set_overlays: overlay {o.key!r}: expected a History, "
                                f"got {type(o.history).__name__}")
            if o.key in seen:
                raise ValueError(f"set_overlays: the key {o.key!r} is given twice")
            seen.add(o.key)
            mix(o.colour, o.colour, 0.0)   # ValueError for a colour that is not '#rrggbb'
        was = self.coloured
        runs: dict[str, _Run] = {}
        restyle = []
        for i, o in enumerate(overlays, start=1):
            run = self._overlays.get(o.key)
            if run is None:
                run = _Run(o.key)
            if run.history is not o.history:
                run.history = o.history
                for series in run.series.values():
                    series.reset()
                run.drawn.clear()
                run.objective = _Growable()
                run.dirty = True
            style = (str(o.label), str(o.colour), bool(o.faded), i)
            if style != (run.label, run.colour, run.faded, run.index):
                run.label, run.colour, run.faded, run.index = style
                restyle.append(run)
            run.weight_histograms = o.weight_histograms
            runs[o.key] = run
        for key, run in self._overlays.items():
            if key not in runs:
                self._drop_run(run)
        order_changed = list(runs) != list(self._overlays)
        self._overlays = runs
        self._restyle(all_runs=was != self.coloured, runs=restyle)
        self._overlays_changed()
        if order_changed or restyle or was != self.coloured:
            self._range = None
        self._redraw(force=False)
        self._update_legend()
        if not self._runs():
            self._apply_range()

    def run_colour(self, run: _Run) -> str:
        """The colour a run is drawn in ('#rrggbb'): a pin's is faded towards the background."""
        if run is self._primary:
            colour = self._primary_colour or self._fg.name()
        else:
            colour = run.colour or self._fg.name()
        return mix(colour, self._bg.name(), PIN_FADE) if run.faded else colour

    def run_label(self, run: _Run) -> str:
        if run is self._primary:
            return self._primary_label or PRIMARY_LABEL
        return (PIN_PREFIX if run.faded else "") + run.label

    def run_style(self, run: _Run) -> Qt.PenStyle:
        """The line style that tells ``run`` apart where colour alone does not (its layers are shades)."""
        return RUN_LINE_STYLES[run.index % len(RUN_LINE_STYLES)]

    def _all_series(self) -> list[_Series]:
        return [series for run in (self._primary, *self._overlays.values()) for series in run.series.values()]

    def _runs(self) -> list[_Run]:
        """The runs to draw: the window's (when it has a history) first, then the overlays in order."""
        return ([self._primary] if self.history is not None else []) + list(self._overlays.values())

    def _restyle(self, all_runs: bool, runs=()) -> None:
        for run in ([self._primary, *self._overlays.values()] if all_runs else runs):
            if run is self._primary or run.curves:
                self._style_run(run)
                self._apply_visibility(run)
            run.display_key = None
            run.dirty = True
        self._legend_signature = None

    def _drop_run(self, run: _Run) -> None:
        for curve in run.items():
            self.plot_item.removeItem(curve)
        run.curves.clear()
        run.pool.clear()
        run.series.clear()
        run.drawn.clear()
        run.history = None

    def eventFilter(self, watched, event) -> bool:
        if watched is self.plot_widget and event.type() == QEvent.Type.Leave:
            self.hide_readout()
        elif watched is self.plot_widget and event.type() == QEvent.Type.Resize:
            if getattr(self, "legend", None) is not None:   # e.g. a splitter beside it moved
                self._fit_legend()
        return False

    def hide_readout(self) -> None:
        self.readout.hide()
        self.hover_line.hide()

    # -- drawing -------------------------------------------------------------------------------------
    def _visible_rows(self, n: int, history: History | None = None) -> tuple[int, int] | None:
        """Rows to re-bucket finely when the user has zoomed into a short stretch, else None."""
        history = self.history if history is None else history
        if n == 0 or self._auto_x or any(self.view_box.autoRangeEnabled()):
            return None
        left, right = (self._view_to_epoch(v) for v in self.view_box.viewRange()[0])
        epochs = history["epoch"]
        start = max(0, int(np.searchsorted(epochs, left)) - 1)
        stop = min(n, int(np.searchsorted(epochs, right)) + 1)
        if stop - start < 2 or stop - start > ZOOM_DETAIL_ROWS:
            return None
        return start, stop

    def _log_floor(self, keys, run: _Run | None = None) -> float:
        series = (run or self._primary).series
        lowest = min((series[k].min_positive for k in keys), default=math.inf)
        return 0.5 * lowest if math.isfinite(lowest) else FALLBACK_LOG_FLOOR

    def _redraw(self, force: bool) -> None:
        runs = self._runs()
        if not runs:
            return
        drew = False
        for run in runs:
            drew |= self._redraw_run(run, force)
        if not drew:
            return
        self._update_legend()
        self._apply_range()
        self._after_redraw()
        if self.readout.isVisibleTo(self):   # keep the hover text in step with the data under the cursor
            self._on_mouse_moved(self._hover_scene_pos)

    def _redraw_run(self, run: _Run, force: bool) -> bool:
        """Bring ``run``'s curves up to date with its history; True if anything was drawn."""
        self._prepare_run(run)
        columns = self._columns_for(run)
        changed = force or run.dirty
        run.dirty = False
        for key, column in columns.items():
            changed |= run.series[key].sync(column)
        history = run.history
        n = len(history)
        rows = self._visible_rows(n, history)
        shown = {key: key in columns and self._wants(key, run.series[key]) for key in run.curves}
        target = self._bucket_target()
        key = (n, rows, self._log, self._log_x, tuple(k for k, v in shown.items() if v), target)
        if not changed and key == run.display_key:
            return False
        run.display_key = key
        epochs = history["epoch"]
        floor = self._log_floor([k for k, v in shown.items() if v], run) if self._log else None
        for k, curve in run.curves.items():
            if shown[k]:
                run.drawn[k] = run.series[k].points(epochs, rows, floor, self._log_x, target)
                curve.setData(*run.drawn[k])
        self._set_run_shown(run, shown)
        return True

    def _after_redraw(self):
        pass

    def _bucket_target(self) -> int | None:
        """With several runs (many curves): about one envelope bucket per pixel column of the plot;
        a single run keeps the envelope's full resolution (MAX_BUCKETS)."""
        if not self.coloured:
            return None
        width = int(self.view_box.width()) if self.view_box.width() > 0 else 0
        return max(256, _pow2_at_least(width + 1) // 2)   # a power of 2 <= width: a resize rarely changes it

    def _fixed_y_range(self) -> tuple[float, float] | None:
        """A y range that does not follow the data (e.g. a share: 0 to 1), or None."""
        return None

    def _apply_range(self) -> None:
        """Fit the view to the data in steps: x to a 'nice' number of epochs, y to nice bounds."""
        vb = self.view_box
        if any(vb.autoRangeEnabled()):   # pyqtgraph's "A" button: back to following the data
            vb.disableAutoRange()
            self._auto_x = True
            self._range = None
        drawn = [run.drawn[k] for run in self._runs() for k, on in run.shown.items() if on and k in run.drawn]
        drawn = [(x, y) for x, y in drawn if x.size]
        if not drawn:   # nothing yet: a plain empty frame rather than pyqtgraph's unit square
            target = ((0.0, 2.0) if self._log_x else (0.0, 100.0),
                      self._fixed_y_range() or ((-4.0, 1.0) if self._log else (0.0, 1.0)))
            if self._auto_x and target != self._range:
                self._range = target
                self._setting_range = True
                try:
                    vb.setRange(xRange=target[0], yRange=target[1], padding=0)
                finally:
                    self._setting_range = False
            return
        if self._auto_x:
            top = nice_ceil(1.02 * max(float(np.nanmax(x)) for x, _ in drawn))
            x_range = (0.0, math.log10(max(top, 10.0))) if self._log_x else (0.0, top)
        else:
            x_range = tuple(vb.viewRange()[0])
        lo_epoch, hi_epoch = (self._view_to_epoch(v) for v in x_range)
        ys = np.concatenate([y[(x >= lo_epoch) & (x <= hi_epoch)] for x, y in drawn])
        ys = ys[np.isfinite(ys)]
        if self._log:
            ys = ys[ys > 0]
        if ys.size == 0:
            return
        lo, hi = float(ys.min()), float(ys.max())
        if self._log:
            y_range = (math.floor(math.log10(lo)), math.ceil(math.log10(hi)))
            if y_range[1] <= y_range[0]:
                y_range = (y_range[0], y_range[0] + 1)
        else:
            y0 = 0.0 if lo >= 0 else -nice_ceil(-lo)
            y1 = nice_ceil(hi * 1.02) if hi > 0 else 0.0
            y_range = (y0, y1 if y1 > y0 else y0 + 1.0)
        fixed = self._fixed_y_range()
        if fixed is not None:
            y_range = fixed
        target = (x_range if self._auto_x else None, y_range)
        if target != self._range:
            self._range = target
            self._setting_range = True
            try:
                vb.setRange(xRange=target[0], yRange=y_range, padding=0)
            finally:
                self._setting_range = False

    def _set_run_shown(self, run: _Run, shown: dict[str, bool]) -> None:
        if shown == run.shown:
            return
        run.shown = dict(shown)
        self._apply_visibility(run)

    def _apply_visibility(self, run: _Run) -> None:
        """A curve is visible when it has data to show and neither its run nor its kind (e.g. all "test"
        curves) was switched off by a click on its legend entry."""
        hidden = self.coloured and (("run", run.key) in self._hidden
                                    or (run.faded and ("pins", "") in self._hidden))
        for key, curve in run.curves.items():
            on = bool(run.shown.get(key)) and not hidden and not (self.coloured and ("curve", key) in self._hidden)
            if curve.isVisible() != on:
                curve.setVisible(on)

    def _on_legend_clicked(self, item) -> None:
        what = self._legend_targets.get(id(item))
        if what is None:   # a single run's own curve: pyqtgraph has toggled it already
            return
        if item.isVisible():
            self._hidden.discard(what)
        else:
            self._hidden.add(what)
        for run in self._runs():
            self._apply_visibility(run)

    def _set_shown(self, shown: dict[str, bool]) -> None:
        """Show/hide the window's run's curves and keep the legend listing what is shown."""
        self._set_run_shown(self._primary, shown)
        self._update_legend()

    def _update_legend(self) -> None:
        """Rebuild the legend when what it should list changed: the shown curves of a single run, or
        one entry per run (its colour and name) plus what the line styles mean, when runs are coloured."""
        if getattr(self, "legend", None) is None:
            return
        if self.coloured:
            runs = [run for run in self._runs() if any(run.shown.values())]
            pins = [run for run in runs if run.faded]
            if len(pins) > LEGEND_PINS:   # many pins: one entry for all (the Pinned runs list names them)
                runs = [run for run in runs if not run.faded]
            entries = [(_elide(self.run_label(run)), self._run_legend_colour(run), self._run_legend_style(run))
                       for run in runs]
            targets = [("run", run.key) for run in runs]
            if len(pins) > LEGEND_PINS:
                entries.append((f"{len(pins)} pins", mix(self._fg.name(), self._bg.name(), 0.6),
                                Qt.PenStyle.SolidLine))
                targets.append(("pins", ""))
            if entries:
                extra = self._style_key_entries()
                entries += [entry[:3] for entry in extra]
                targets += [("curve", entry[3]) for entry in extra]
            signature = ("runs", tuple(entries), tuple(targets))
        else:
            keys = [key for key in self._legend_keys() if self._shown.get(key)]
            signature = ("curves", tuple((key, self._labels.get(key, key)) for key in keys))
        if signature == self._legend_signature:
            return
        self._legend_signature = signature
        self.legend.clear()
        if signature[0] == "curves":
            for key, label in signature[1]:
                self.legend.addItem(self.curves[key], label)
        else:
            while len(self._legend_samples) < len(entries):
                self._legend_samples.append(pg.PlotDataItem(antialias=True))
            self._legend_targets = {}
            full = {("run", run.key): self.run_label(run) for run in self._runs()}
            for (label, colour, style), target, sample in zip(entries, targets, self._legend_samples):
                sample.setPen(pg.mkPen(colour, width=2, style=style))
                sample.setVisible(target not in self._hidden)
                self._legend_targets[id(sample)] = target
                self.legend.addItem(sample, _html_escape(label))
                item_sample, item_label = self.legend.items[-1]
                item_sample.setToolTip("Click to hide or show these curves")
                item_label.setToolTip(full.get(target, label))
        self._fit_legend()

    def _fit_legend(self) -> None:
        """As many legend columns as fit under the plot (a wider legend would widen, and clip, the plot)."""
        items = self.legend.items
        if not items:
            return
        # the view box's width lags behind a resize of the widget: take the widget's width less the axis
        room = self.plot_widget.width() - self.plot_item.getAxis("left").width() - 12
        if self.view_box.width() > 0:
            room = min(room, self.view_box.width())
        # the layout's own measure of each column count (labels' rects are stretched to their columns,
        # so adding up their widths misjudges it); few counts to try, and only when the legend changes
        for columns in range(len(items), 0, -1):
            self.legend.setColumnCount(columns)
            if columns == 1 or self.legend.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize).width() <= room:
                break

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if getattr(self, "legend", None) is not None:
            self._fit_legend()

    def _legend_keys(self):
        return list(self.curves)

    def _on_view_changed(self, *_):
        if self._auto_x and not self._setting_range and not any(self.view_box.autoRangeEnabled()):
            ours = self._range[0] if self._range else None
            now = self.view_box.viewRange()[0]
            if ours is not None and abs(now[0] - ours[0]) + abs(now[1] - ours[1]) > 1e-9 * max(1.0, ours[1]):
                self._auto_x = False   # someone else (the user's wheel or drag) moved the epochs
        if self._runs():
            self._redraw(force=False)   # re-buckets the visible rows when zoomed; no-op otherwise

    # -- log axis ------------------------------------------------------------------------------------
    def _set_log(self, on: bool) -> None:
        self._log = bool(on)
        self.plot_item.setLogMode(self._log_x, self._log)
        self._redraw(force=True)

    # -- hover ---------------------------------------------------------------------------------------
    def nearest_row(self, epoch: float, history: History | None = None) -> int | None:
        """Index of the row of ``history`` (default: the window's) whose epoch is closest to ``epoch``."""
        history = self.history if history is None else history
        if history is None or len(history) == 0:
            return None
        epochs = history["epoch"]
        i = int(np.searchsorted(epochs, epoch))
        if i >= epochs.size:
            i = epochs.size - 1
        elif i > 0 and abs(epochs[i - 1] - epoch) <= abs(epochs[i] - epoch):
            i -= 1
        return nearest_evaluated_row(history, i) if self.snap_to_evaluated else i

    # the hover readout moves to the nearest evaluated epoch (the only ones with test values, gradients)
    snap_to_evaluated = True

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        self._hover_scene_pos = QPointF(scene_pos)
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            self.hide_readout()
            return
        p = self.view_box.mapSceneToView(scene_pos)
        epoch = self._view_to_epoch(p.x())
        runs = [run for run in self._runs() if len(run.history)]
        if not runs:
            self.hide_readout()
            return
        lead = runs[0]
        row = self.nearest_row(epoch, lead.history)
        if not self.coloured:
            text = self._describe(row)
        else:   # a line per run, each at its own row nearest the cursor
            lines = [f"epoch {int(lead.history['epoch'][row])}"]
            for run in runs:
                r = self.nearest_row(epoch, run.history)
                at_epoch = int(run.history["epoch"][r])
                lines.append(f"{self.run_label(run)}: {self._row_text(run, r)}"
                             + ("" if at_epoch == int(lead.history["epoch"][row]) else f" (epoch {at_epoch})"))
            text = "\n".join(lines)
        self.readout.setText(text)
        self.readout.adjustSize()
        # Slide the text across the cursor as the cursor crosses the plot (left-aligned at the left
        # edge, right-aligned at the right), above the cursor in the lower half and below it in the
        # upper half, so it never leaves the plot nor covers the point under the cursor.
        box = self.plot_widget.mapFromScene(self.view_box.sceneBoundingRect()).boundingRect()
        at = self.plot_widget.mapFromScene(scene_pos)
        w, h = self.readout.width(), self.readout.height()
        across = (at.x() - box.left()) / max(1, box.width())
        x = round(at.x() - across * w)
        y = at.y() + 14 if at.y() < box.center().y() else at.y() - h - 8
        self.readout.move(max(0, min(x, self.plot_widget.viewport().width() - w)),
                          max(0, min(y, self.plot_widget.viewport().height() - h)))
        self.hover_line.setValue(self._epoch_to_view(float(lead.history["epoch"][row])))
        self.readout.show()
        self.readout.raise_()
        self.hover_line.show()


class LossPlot(_MetricPlot):
    """Train/test/validation loss (or error rate) and the penalty vs epoch, with best/stop markers."""

    y_label = "loss"
    # key, legend label, single-run colour and style, drawn bold
    _CURVES = (("train", "train", TRAIN_COLOR, Qt.PenStyle.SolidLine, True),
               ("test", "test", TEST_COLOR, Qt.PenStyle.SolidLine, True),
               ("validation", "validation", VALIDATION_COLOR, Qt.PenStyle.DashDotLine, False),
               ("penalty", "penalty", PENALTY_COLOR, Qt.PenStyle.DashLine, False),
               ("objective", "train + penalty", TRAIN_COLOR, Qt.PenStyle.DotLine, False))
    # with several runs each run has its colour, and the line style says which curve it is
    _RUN_STYLES = {"train": Qt.PenStyle.SolidLine, "test": Qt.PenStyle.DashLine,
                   "validation": Qt.PenStyle.DashDotLine, "penalty": Qt.PenStyle.DotLine,
                   "objective": Qt.PenStyle.DotLine}
    _LOSS = {"train": "train_loss", "test": "test_loss", "validation": "validation_loss"}
    _ERROR = {"train": "train_error", "test": "test_error", "validation": "validation_error"}

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._add_legend()
        for key, label, colour, style, bold in self._CURVES:
            self._add_curve(key, label, curve_pen(colour, style), bold=bold)

        self.error_button = self._add_toggle(
            "Error rate", "Plot the fraction of misclassified points instead of the loss.", False,
            self._on_mode)
        self.log_button = self._add_toggle(
            "Log y", "Use a logarithmic y axis, so late, small improvements stay visible.", False,
            self._set_log)
        self.objective_button = self._add_toggle(
            "Objective", "Also draw the training objective (data loss + penalty), the quantity gradient "
            "descent actually minimises.", False, self._on_mode)
        self.smooth_button = self._add_toggle(
            "Smooth", "Draw an exponential moving average of each curve to hide epoch-to-epoch noise; "
            "hovering still reports the raw values.", False, self._on_smoothing)
        self.smooth_factor = QDoubleSpinBox(self)
        self.smooth_factor.setRange(0.0, 0.999)
        self.smooth_factor.setDecimals(3)
        self.smooth_factor.setSingleStep(0.05)
        self.smooth_factor.setValue(DEFAULT_SMOOTHING)
        self.smooth_factor.setToolTip("How much of the running average each epoch keeps: 0 is no smoothing, "
                                      "0.99 is very smooth but lags behind.")
        self.smooth_factor.valueChanged.connect(self._on_smoothing)
        self.toolbar.addWidget(self.smooth_factor)
        self._add_log_epochs_toggle()
        self._marks = {"best": (None, "best test", ""), "stop": (None, "stopped", "")}

        # The current values as numbers, and what the marker lines mean, in a header above the plot:
        # text inside the data area would cover the curves exactly where they matter.
        self.header = self._add_header()
        self.numbers = QLabel(self)        # kept for tests and the readout: plain text of the numbers
        self.numbers.hide()
        self.marks = QLabel(self)          # plain text of the markers' notes
        self.marks.hide()
        self._header_parts = ("", "", [])
        self.best_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(TEST_COLOR, width=1, style=Qt.PenStyle.DashLine))
        self.stop_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(self._fg, width=1,
                                                                style=Qt.PenStyle.DashDotDotLine))
        self.stop_reason = ""
        for line in (self.best_line, self.stop_line):
            line.hide()
            line.setZValue(-5)   # under the curves: a marker never hides a curve
            self.plot_item.addItem(line, ignoreBounds=True)

        self.empty_note = pg.TextItem("", color=self._muted(), anchor=(0.5, 0.5))
        self.empty_note.hide()
        self.plot_item.addItem(self.empty_note, ignoreBounds=True)

    # -- modes ---------------------------------------------------------------------------------------
    @property
    def error_mode(self) -> bool:
        return self.error_button.isChecked()

    def _on_mode(self, *_):
        self.plot_item.setLabel("left", "error rate" if self.error_mode else "loss", color=self._fg.name())
        for series in self._all_series():
            series.reset()
        self._redraw(force=True)

    def _on_smoothing(self, *_):
        factor = self.smooth_factor.value() if self.smooth_button.isChecked() else None
        for series in self._all_series():
            series.set_smoothing(factor or None)
        self._redraw(force=True)

    def set_history(self, history: History) -> None:
        """Show ``history`` from scratch; the best/stop markers are cleared (they belong to the old run)."""
        self._primary.objective = _Growable()
        self.set_best_epoch(None)
        self.set_stop_epoch(None)
        super().set_history(history)

    def clear(self) -> None:
        super().clear()
        self._primary.objective = _Growable()
        self.set_best_epoch(None)
        self.set_stop_epoch(None)
        self.empty_note.hide()
        self._update_header()

    # -- runs ----------------------------------------------------------------------------------------
    def _prepare_run(self, run: _Run) -> None:
        if run is self._primary or run.curves:
            return
        for key, *_ in self._CURVES:
            curve = make_curve(curve_pen(self._fg))
            self.plot_item.addItem(curve)
            curve.hide()
            run.curves[key] = curve
            run.series[key] = _Series()
            run.series[key].set_smoothing(self.series["train"].smoothing)
            run.shown[key] = False
        self._style_run(run)

    def _style_run(self, run: _Run) -> None:
        coloured = self.coloured
        for key, _, colour, style, bold in self._CURVES:
            curve = run.curves.get(key)
            if curve is None:
                continue
            if coloured:
                colour, style, bold = self.run_colour(run), self._RUN_STYLES[key], bold and not run.faded
            curve.setPen(curve_pen(colour, style))
            set_bold(curve, bold)
            curve.setZValue(-1 if run.faded else 0)   # pins behind the live runs

    def _style_key_entries(self):
        muted = mix(self._fg.name(), self._bg.name(), 0.45)   # grey: a line style, not a run
        shown = {k for run in self._runs() for k, on in run.shown.items() if on}
        return [(label, muted, self._RUN_STYLES[key], key) for key, label in
                (("train", "train"), ("test", "test"), ("validation", "validation"),
                 ("objective", "train + penalty")) if key in shown]

    def _objective_column(self, run: _Run | None = None) -> np.ndarray:
        """train_loss + penalty, extended by the new rows only."""
        run = run or self._primary
        train, penalty = run.history["train_loss"], run.history["penalty"]
        done = run.objective.n
        if done > train.size or (done and (not _same(train[done - 1], run.objective_inputs[0])
                                           or not _same(penalty[done - 1], run.objective_inputs[1]))):
            run.objective, done = _Growable(), 0
        if train.size > done:
            # a missing penalty counts as none, so the objective exists whenever the loss does
            run.objective.append(train[done:] + np.nan_to_num(penalty[done:], nan=0.0))
            run.objective_inputs = (train[-1], penalty[-1])
        return run.objective.view

    def _columns_for(self, run: _Run):
        h = run.history
        names = self._ERROR if self.error_mode else self._LOSS
        cols = {key: h[name] for key, name in names.items()}
        if not self.error_mode:
            # train loss from evaluated epochs only, like test loss: between evaluations a row holds the mean
            # of the epoch's batch losses (with dropout, if any), which would saw-tooth against them
            try:
                evaluated = h["evaluated"]
            except (KeyError, IndexError):
                evaluated = None
            if evaluated is not None and evaluated.size and not evaluated.all():
                cols["train"] = np.where(evaluated == 1, cols["train"], np.nan)
            cols["penalty"] = h["penalty"]
            if self.objective_button.isChecked():
                cols["objective"] = self._objective_column(run)
        return cols

    def _wants(self, key, series):
        if key == "penalty":
            # no regularisation: an all-zero line only adds clutter; with several runs, one line per
            # run more than the plot can carry (the "Objective" toggle draws loss + penalty per run)
            return series.max_abs > 0 and not self.coloured
        return series.has_data

    # -- numbers ---------------------------------------------------------------------------------------
    @staticmethod
    def last_values(h: History, columns) -> dict[str, float]:
        """The last evaluated value of each column: of the last evaluated row when the history says
        which rows were evaluated (an ``evaluated`` column), else each column's last finite value."""
        row = None
        try:
            evaluated = h["evaluated"]
        except KeyError:
            evaluated = None
        if evaluated is not None:
            row = last_finite_index(evaluated, test=lambda a: a > 0)
        out = {}
        for column in columns:
            values = h[column]
            if row is not None:   # that row's values; NaN there means the value does not exist
                out[column] = float(values[row])
                continue
            i = last_finite_index(values)
            out[column] = float(values[i]) if i is not None else math.nan
        return out

    def _number_parts(self, h: History | None) -> tuple[bool, list[tuple[str, float, float]]]:
        """(any error rates, [(key, loss, error), ...]) of the last evaluated values of ``h``."""
        if h is None or len(h) == 0:
            return False, []
        values = self.last_values(h, list(self._LOSS.values()) + list(self._ERROR.values()))
        parts = []
        for key in ("train", "test", "validation"):
            loss, error = values[self._LOSS[key]], values[self._ERROR[key]]
            if math.isfinite(loss) or math.isfinite(error):
                parts.append((key, loss, error))
        return any(math.isfinite(e) for _, _, e in parts), parts

    def current_numbers(self) -> str:
        """The last evaluated epoch's losses and errors as text ("" without rows):
        "loss / error: train 0.052 / 3.1% · ..."."""
        errors, parts = self._number_parts(self.history)
        if not parts:
            return ""
        texts = []
        for key, loss, error in parts:
            values = [_fmt(loss) if math.isfinite(loss) else "–"]
            if math.isfinite(error):
                values.append(_percent(error))
            texts.append(f"{key} {' / '.join(values)}")
        return f"{'loss / error' if errors else 'loss'}: " + " · ".join(texts)

    def run_numbers(self) -> list[tuple[str, str, str]]:
        """With several runs: (label, colour, "train / test" numbers) per live run, the window's run first
        (pins are left out: their numbers do not change, and hovering shows them)."""
        out = []
        which, fmt = (1, _percent) if self.error_mode else (0, _fmt)   # what the curves show
        for run in self._runs():
            if run.faded:
                continue
            _, parts = self._number_parts(run.history)
            got = {key: values[which] for key, *values in parts}
            train, test = got.get("train", math.nan), got.get("test", math.nan)
            if not (math.isfinite(train) or math.isfinite(test)):
                continue
            text = " / ".join(fmt(v) if math.isfinite(v) else "–" for v in (train, test))
            out.append((_elide(self.run_label(run)), self.run_colour(run), text))
        return out

    def _runs_header(self, runs) -> str:
        """One chunk per run, each kept on one line (the header wraps between runs only)."""
        head = f"train / test {'error' if self.error_mode else 'loss'}:"
        # a run's name and its numbers wrap apart only when a narrow dock leaves no choice
        chunks = [f'<b style="color:{c}">{_nbsp(_html_escape(label))}</b> {_nbsp(text)}'
                  for label, c, text in runs]
        return head + " " + " &nbsp; ".join(chunks)

    def _update_header(self) -> None:
        numbers = self.current_numbers()
        runs = self.run_numbers() if self.coloured else []
        marks = []
        for key, color, glyph in (("best", TEST_COLOR, "┆"), ("stop", self._fg.name(), "┊")):
            epoch, what, detail = self._marks[key]
            if epoch is None or not np.isfinite(float(epoch)):
                continue
            if len(detail) > MARKER_DETAIL_CHARS:
                detail = detail[:MARKER_DETAIL_CHARS - 1].rstrip() + "…"
            marks.append((color, glyph, f"{what}: {float(epoch):.0f}" + (f" ({detail})" if detail else "")))
        marks_text = "   ".join(f"{g} {t}" for _, g, t in marks)
        if (numbers, marks_text, runs) == self._header_parts:
            return
        self._header_parts = (numbers, marks_text, runs)
        self.numbers.setText(numbers)
        self.marks.setText(marks_text)
        if runs:
            colored = self._runs_header(runs)
        else:
            colored = numbers
            for key, color in (("train", TRAIN_COLOR), ("test", TEST_COLOR), ("validation", VALIDATION_COLOR)):
                colored = colored.replace(f" {key} ", f' <b style="color:{color}">{key}</b> ', 1)
        html = [colored] if colored else []
        html += [f'<span style="color:{c}">{g} {_html_escape(t)}</span>' for c, g, t in marks]
        self.header.setText("&nbsp;&nbsp;&nbsp;".join(html))
        tip = ("The last evaluated epoch's loss and, after the slash, its error rate (the share of "
               "misclassified points)." if not runs else
               "Each run's train and test " + ("error rate" if self.error_mode else "loss")
               + " at its last evaluated epoch (pins: hover the plot).")
        self.header.setToolTip(tip + (f"\nStopped: {self.stop_reason}" if self.stop_reason else ""))

    def _after_redraw(self):
        self._update_header()
        nothing = (self.history is not None and len(self.history) > 0 and not any(self._shown.values())
                   and not self._overlays)
        if nothing:
            self.empty_note.setText("No error rates: this is a regression task." if self.error_mode
                                    else "No loss values yet.")
            (x0, x1), (y0, y1) = self.view_box.viewRange()
            self.empty_note.setPos((x0 + x1) / 2, (y0 + y1) / 2)
        self.empty_note.setVisible(nothing)

    def _row_text(self, run: _Run, row: int) -> str:
        h = run.history
        fmt = _percent if self.error_mode else _fmt
        names = self._ERROR if self.error_mode else self._LOSS
        values = [(key, h[name][row]) for key, name in names.items()]
        if not self.error_mode and run.shown.get("penalty"):
            values.append(("penalty", h["penalty"][row]))
        text = ", ".join(f"{key} {fmt(v)}" for key, v in values if np.isfinite(v))
        return text or "no values"

    # -- markers -------------------------------------------------------------------------------------
    def set_best_epoch(self, epoch: float | None, label: str = "best test") -> None:
        """Mark the epoch with the best monitored score (``label`` names it), or remove the mark (None)."""
        self._marks["best"] = (epoch, label, "")
        _place(self.best_line, epoch, self._epoch_to_view)
        self._update_header()

    def set_stop_epoch(self, epoch: float | None, reason: str = "") -> None:
        """Mark where early stopping ended training, labelled with ``reason``; None removes the mark."""
        self.stop_reason = str(reason or "")
        if self.stop_line.toolTip() != self.stop_reason:
            self.stop_line.setToolTip(self.stop_reason)
        self._marks["stop"] = (epoch, "stopped", self.stop_reason)
        _place(self.stop_line, epoch, self._epoch_to_view)
        self._update_header()

    def _epoch_axis_changed(self) -> None:
        for key, line in (("best", self.best_line), ("stop", self.stop_line)):
            _place(line, self._marks[key][0], self._epoch_to_view)


MARKER_DETAIL_CHARS = 48   # longer early-stopping reasons are cut in the header (the banner has them in full)


def _nbsp(html: str) -> str:
    return html.replace(" ", "&nbsp;")


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _place(line: pg.InfiniteLine, epoch: float | None, to_view=float) -> None:
    """Move a marker line to ``epoch`` (hide it for None/NaN); its meaning is written in the header.

    Called with every frame, so it does nothing when nothing changed."""
    if epoch is None or not np.isfinite(float(epoch)):
        line.hide()
        return
    at = to_view(float(epoch))
    if line.isVisible() and line.value() == at:
        return
    line.setValue(at)
    line.show()


SHORT_LAYER_LABELS = 2   # more layers than this: a one-line strip of numbered swatches instead of a legend


def layer_label(j: int, n: int) -> str:
    """Legend text of layer ``j`` (0-based) of ``n``."""
    tag = " (input → output)" if n == 1 else " (input)" if j == 0 else " (output)" if j == n - 1 else ""
    return f"layer {j + 1}{tag}"


class _LayerStrip(pg.GraphicsWidget):
    """One line under the plot naming every layer: "input", a numbered swatch per layer, "output".

    Used instead of a legend when there are many layers (a legend of 10 entries takes several rows).
    With several runs each swatch is split into a band per run (the run's shade for that layer), so
    the strip also shows how each run's lightness maps to its layers."""

    HEIGHT = 16
    BAND = 5          # px per run when there are more than three runs

    def __init__(self, fg: QColor):
        super().__init__()
        self._fg = QColor(fg)
        self.colors: list[QColor] = []
        self.rows: list[list[QColor]] = []
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.set_layers([])

    def set_layers(self, colors) -> None:
        """One run: a swatch per layer in ``colors`` (input first); [] hides the strip."""
        self.set_rows([colors] if len(colors) else [])

    def set_rows(self, rows) -> None:
        """Several runs: ``rows[i]`` is run i's colour per layer (runs may have different layer counts)."""
        rows = [[QColor(c) for c in row] for row in rows if len(row)]
        if rows == self.rows and self.isVisible() == bool(rows):
            return
        self.rows = rows
        self.colors = self.rows[0] if self.rows else []
        height = max(self.HEIGHT, self.BAND * len(self.rows) + 2) if self.rows else 0
        self.setMinimumHeight(height)
        self.setMaximumHeight(height)
        self.setVisible(bool(self.rows))
        self.update()

    def labels(self) -> list[str]:
        return [str(j + 1) for j in range(max((len(r) for r in self.rows), default=0))]

    def paint(self, painter, option, widget=None):
        if not self.rows:
            return
        rect = self.boundingRect()
        font = painter.font()
        font.setPointSizeF(8)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        left, right = "input", "output"
        lw, rw = metrics.horizontalAdvance(left) + 6, metrics.horizontalAdvance(right) + 6
        n = len(self.labels())
        if rect.width() < lw + rw + 12 * n:   # a narrow plot: the swatches alone (input on the left)
            left, right, lw, rw = "", "", 0, 0
        box = min(36.0, max(12.0, (rect.width() - lw - rw) / n))
        x0 = rect.left() + (rect.width() - (lw + rw + n * box)) / 2
        h = rect.height() - 2
        band = h / len(self.rows)
        painter.setPen(self._fg)
        painter.drawText(QRectF(x0, rect.top(), lw - 4, rect.height()),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, left)
        for j in range(n):
            cell = QRectF(x0 + lw + j * box, rect.top() + 1, box - (1 if len(self.rows) > 1 else 0), h)
            lightness = []
            for i, row in enumerate(self.rows):
                if j < len(row):
                    painter.fillRect(QRectF(cell.left(), cell.top() + i * band, cell.width(), band), row[j])
                    lightness.append(row[j].lightness())
            painter.setPen(QColor("black") if lightness and sum(lightness) / len(lightness) > 140
                           else QColor("white") if lightness else self._fg)
            painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, str(j + 1))
        painter.setPen(self._fg)
        painter.drawText(QRectF(x0 + lw + n * box + 4, rect.top(), rw, rect.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, right)


@functools.lru_cache(maxsize=256)
def _layer_shades(base: str, n: int, dark: bool, fade_to: str | None) -> tuple[str, ...]:
    """A run's layer colours (see viewmath.shade_ramp), faded towards ``fade_to`` for a pin; cached,
    since the legend asks for them with every redraw."""
    shades = shade_ramp(base, n, dark)
    return tuple(mix(c, fade_to, PIN_FADE) for c in shades) if fade_to else tuple(shades)


class GradientPlot(_MetricPlot):
    """Per-layer gradient magnitude vs epoch on a log axis, coloured from input side to output side.

    With several runs, each run's layers are shades of the run's colour (darkest: input side) drawn
    in the run's line style, and the layer strip under the plot shows every run's shades."""

    y_label = "|dW|"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._add_legend()
        self.mean_button = self._add_toggle(
            "Per weight", "Show the mean |dW| per weight instead of the L2 norm of each layer's gradient, "
            "so layers of different sizes compare fairly.", False, self._on_mode)
        self._log = True
        self.plot_item.setLogMode(self._log_x, True)
        self._add_log_epochs_toggle()
        self._pool = self._primary.pool
        self.layer_strip = _LayerStrip(self._fg)
        self.layer_strip.setParentItem(self.plot_item)
        self.plot_item.layout.addItem(self.layer_strip, 5, 1)

    @property
    def n_layers(self) -> int:
        """The window's run's layer count (the number of its curves)."""
        return self._primary.n_layers

    @property
    def column(self) -> str:
        return "grad_mean_abs" if self.mean_button.isChecked() else "grad_norm"

    def _on_mode(self, *_):
        self.plot_item.setLabel("left", "mean |dW|" if self.mean_button.isChecked()
                                else self.y_label, color=self._fg.name())
        for series in self._all_series():
            series.reset()
        self._redraw(force=True)

    def layer_colors(self, n: int) -> list[QColor]:
        """Sequential viridis ramp from input (0) to output (n-1), trimmed so both ends stay visible."""
        lo, hi = (0.15, 1.0) if self.dark else (0.0, 0.85)
        return pg.colormap.get("viridis").map(np.linspace(lo, hi, n) if n > 1 else [lo], mode="qcolor")

    def run_layer_colors(self, run: _Run, n: int | None = None) -> list[QColor]:
        """The colours of ``run``'s layers: viridis for a single run, else shades of the run's colour."""
        n = run.n_layers if n is None else n
        if not self.coloured:
            return list(self.layer_colors(n))
        base = self._primary_colour or self._fg.name() if run is self._primary else run.colour
        return [QColor(c) for c in _layer_shades(base, n, self.dark, self._bg.name() if run.faded else None)]

    def _build_curves(self, n: int, run: _Run | None = None) -> None:
        """Give ``run`` (default: the window's) ``n`` layer curves, reusing (restyling) existing ones;
        spare ones are hidden, not deleted, so switching architectures back and forth creates nothing new."""
        run = run or self._primary
        run.curves.clear()
        run.series.clear()
        run.drawn.clear()
        if run is self._primary:
            self._labels.clear()
        for j in range(n):
            if j < len(run.pool):
                curve = run.pool[j]
            else:
                curve = make_curve(curve_pen(self._fg))
                self.plot_item.addItem(curve)
                run.pool.append(curve)
            key = f"layer{j}"
            run.curves[key] = curve
            run.series[key] = _Series()
            if run is self._primary:
                self._labels[key] = layer_label(j, n)
        for curve in run.pool[n:]:
            curve.setData([], [])
            curve.hide()
        run.shown = {key: None for key in run.curves}   # forces visibility (and legend) on the next draw
        run.n_layers = n
        run.display_key = None
        self._style_run(run)

    def _style_run(self, run: _Run) -> None:
        n = run.n_layers
        colours = self.run_layer_colors(run, n)
        style = self.run_style(run) if self.coloured else Qt.PenStyle.SolidLine
        for j, curve in enumerate(run.curves.values()):
            curve.setPen(curve_pen(colours[j], style))
            # input and output layers: the two ends of the gradient ladder
            set_bold(curve, j in (0, n - 1) and not run.faded)
            curve.setZValue(-1 if run.faded else 0)
        self._update_layer_strip()

    def _update_layer_strip(self) -> None:
        if self.coloured:
            runs = [self._primary, *self._overlays.values()]
            if sum(run.faded for run in runs) > LEGEND_PINS:   # many pins: the strip keeps to the live runs
                runs = [run for run in runs if not run.faded]
            self.layer_strip.set_rows([self.run_layer_colors(run) for run in runs if run.n_layers])
        else:
            many = self.n_layers > SHORT_LAYER_LABELS
            self.layer_strip.set_layers(self.layer_colors(self.n_layers) if many else [])

    def _overlays_changed(self) -> None:
        self._update_layer_strip()

    def _drop_run(self, run: _Run) -> None:
        super()._drop_run(run)
        run.n_layers = 0

    def _run_legend_colour(self, run: _Run) -> str:
        colours = self.run_layer_colors(run)
        return colours[len(colours) // 2].name() if colours else self.run_colour(run)

    def _run_legend_style(self, run: _Run) -> Qt.PenStyle:
        return self.run_style(run)

    def _on_history_changed(self):
        if self.history.n_layers != self.n_layers:   # only after a reset to another architecture
            self._build_curves(self.history.n_layers)

    def _prepare_run(self, run: _Run) -> None:
        if run is not self._primary and run.n_layers != run.history.n_layers:
            self._build_curves(run.history.n_layers, run)

    def _legend_keys(self):
        # many layers: the one-line strip of numbered swatches names them all instead
        return [] if self.n_layers > SHORT_LAYER_LABELS else list(self.curves)

    def _columns_for(self, run: _Run):
        data = run.history[self.column]
        return {f"layer{j}": data[:, j] for j in range(run.n_layers)}

    def _row_text(self, run: _Run, row: int) -> str:
        data = run.history[self.column][row]
        n = run.n_layers
        layers = range(n) if n <= 4 else (0, n - 1)
        text = ", ".join(f"layer {j + 1} {_fmt(data[j])}" for j in layers)
        if n > 1 and data[-1] > 0 and np.isfinite(data[0]):
            text += f"  (input/output {data[0] / data[-1]:.2g})"
        return text


NEAR_ZERO_TOP = 1.04     # the share axis: 0 to 1, with room for the "1" tick label
HIST_LOG_FLOOR = 0.5   # with a log count axis, empty bins are drawn at this count (below 1)


class WeightsPlot(GradientPlot):
    """Per-layer share of near-zero weights (L1 makes it climb) or weight norm (L2 keeps it small)."""

    y_label = "weights ≈ 0"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.mean_button.setVisible(False)   # the gradient plot's toggle: not meaningful here
        self.norm_button = self._add_toggle(
            "Norm", "Show each layer's weight norm (how big its weights are, which L2 keeps small) instead of "
                    "the share of weights that are practically zero (which L1 drives up).", False, self._on_norm)
        self._log = False
        self.plot_item.setLogMode(self._log_x, False)
        self.plot_item.setLabel("left", self.y_label, color=self._fg.name())

        # Beside the curves: a histogram of each layer's weights now (L1 piles them up at zero, L2
        # keeps them small and spread). It appears with the first histograms the window is given.
        self.log_count_button = self._add_toggle(
            "Log count", "Count the histogram's weights on a logarithmic axis, so a few large weights stay "
                         "visible next to a tall bin at zero.", False, self._on_log_count)
        self.hist_widget = pg.PlotWidget(background=self._bg, axisItems={"left": _Axis("left")})
        self.hist_widget.setMinimumWidth(120)
        self.hist_item: pg.PlotItem = self.hist_widget.getPlotItem()
        self.hist_item.setMenuEnabled(False)
        self.hist_item.hideButtons()
        self.hist_item.showGrid(x=True, y=True, alpha=0.15)
        self.hist_item.getViewBox().setMouseEnabled(x=False, y=False)
        self.hist_item.getViewBox().disableAutoRange()
        for name, text in (("left", "weights"), ("bottom", "weight value")):
            axis = self.hist_item.getAxis(name)
            axis.enableAutoSIPrefix(False)
            axis.setPen(self._muted())
            axis.setTextPen(self._fg)
            self.hist_item.setLabel(name, text, color=self._fg.name())
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        layout = self.layout()
        layout.insertWidget(layout.indexOf(self.plot_widget), self.splitter, 1)
        self.splitter.addWidget(self.plot_widget)
        self.splitter.addWidget(self.hist_widget)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.per_layer_button = self._add_toggle(
            "Per layer", "With several runs: one histogram outline per layer of each run (shades of the run's "
                         "colour, darkest: input side) instead of one outline per run for all its weights.",
            False, lambda *_: self._show_histograms())
        self.hist_widget.hide()
        self.log_count_button.setVisible(False)
        self.per_layer_button.setVisible(False)
        self._hist_curves: list[pg.PlotDataItem] = []
        self._outlines: list[tuple[np.ndarray, np.ndarray]] = []
        self.histograms: list[tuple[np.ndarray, np.ndarray]] = []
        self._hist_range = None

    @property
    def column(self) -> str:
        return "weight_norm" if self.norm_button.isChecked() else "near_zero"

    def _fixed_y_range(self):
        # a share runs from 0 to 1: an axis that rescaled itself made 0.07 (L2) look like 0.8 (L1)
        return None if self.norm_button.isChecked() else (0.0, NEAR_ZERO_TOP)

    # -- weight histograms ---------------------------------------------------------------------------
    def set_weights(self, weights) -> None:
        """Histogram ``[(W, b), ...]`` (input side first) per layer: see viewmath.weight_histograms."""
        self.set_weight_histograms(weight_histograms(weights))

    def set_weight_histograms(self, histograms) -> None:
        """Show one histogram per layer: ``[(edges, counts), ...]``, input side first, ``len(edges) ==
        len(counts) + 1``. An empty list or None hides the histogram. Existing items are reused."""
        self.histograms = _checked_histograms(histograms)
        self._show_histograms()

    def _overlays_changed(self) -> None:
        super()._overlays_changed()
        self._show_histograms()

    def _hist_outlines(self) -> list[tuple[np.ndarray, np.ndarray, QColor, Qt.PenStyle]]:
        """(edges, counts, colour, style) of every outline to draw."""
        if not self.coloured:
            colours = self.layer_colors(len(self.histograms)) if self.histograms else []
            return [(e, c, QColor(colours[j]), Qt.PenStyle.SolidLine) for j, (e, c) in enumerate(self.histograms)]
        out = []
        for run in (self._primary, *self._overlays.values()):
            if run is self._primary:
                hists = self.histograms
            else:
                try:
                    hists = _checked_histograms(run.weight_histograms)
                except (ValueError, TypeError):   # an overlay's bad histograms are left out, not fatal
                    hists = []
            if not hists:
                continue
            style = self.run_style(run)
            if self.per_layer_button.isChecked():
                colours = self.run_layer_colors(run, len(hists))
                out += [(e, c, colours[j], style) for j, (e, c) in enumerate(hists)]
            else:
                edges, counts = sum_histograms(hists)
                out.append((edges, counts, QColor(self.run_colour(run)), style))
        return out

    def _show_histograms(self) -> None:
        # the window hands over the overlays again with each run's new histograms: skip what is unchanged
        sources = [self.histograms] + [r.weight_histograms for r in self._overlays.values()]
        style = (self.coloured, self.per_layer_button.isChecked(), self.log_count_button.isChecked(),
                 self._primary_colour, tuple((r.colour, r.faded, r.index) for r in self._overlays.values()))
        last_sources, last_style = getattr(self, "_hist_drawn", ([], None))
        if style == last_style and len(sources) == len(last_sources) and all(
                a is b for a, b in zip(sources, last_sources)):
            return
        self._hist_drawn = (sources, style)
        outlines = self._hist_outlines()
        self._outlines = [(e, c) for e, c, _, _ in outlines]
        if outlines and self.hist_widget.isHidden():   # appearing: 3/5 of the width for the curves, 2/5 here
            total = max(self.splitter.width(), 250)
            self.splitter.setSizes([total * 3 // 5, total - total * 3 // 5])
        self.hist_widget.setVisible(bool(outlines))
        self.log_count_button.setVisible(bool(outlines))
        self.per_layer_button.setVisible(bool(outlines) and self.coloured)
        while len(self._hist_curves) < len(outlines):
            curve = make_curve(curve_pen(self._fg))
            curve.setData([0.0, 1.0], [0.0], stepMode="center")
            self.hist_item.addItem(curve)
            self._hist_curves.append(curve)
        for j, curve in enumerate(self._hist_curves):
            if j >= len(outlines):
                curve.hide()
                continue
            edges, counts, colour, style = outlines[j]
            pen = curve.opts["pen"]
            if pen.color() != colour or pen.style() != style:
                curve.setPen(curve_pen(colour, style))
            curve.setData(edges, self._count_values(counts), stepMode="center")
            curve.show()
        self._apply_hist_range()

    def _count_values(self, counts: np.ndarray) -> np.ndarray:
        if not self.log_count_button.isChecked():
            return counts
        return np.maximum(counts, HIST_LOG_FLOOR)   # an empty bin sits on the floor, not at log(0)

    def _on_log_count(self, on: bool) -> None:
        self.hist_item.setLogMode(False, bool(on))
        self._show_histograms()

    def _apply_hist_range(self) -> None:
        if not self._outlines:
            return
        lo = min(float(e[0]) for e, _ in self._outlines)
        hi = max(float(e[-1]) for e, _ in self._outlines)
        top = max((float(c.max()) for _, c in self._outlines if c.size), default=1.0)
        if self.log_count_button.isChecked():
            y_range = (math.log10(HIST_LOG_FLOOR), max(1.0, math.ceil(math.log10(max(top, 1.0)))))
        else:
            y_range = (0.0, nice_ceil(max(top, 1.0) * 1.02))
        target = ((lo, hi), y_range)
        if target != self._hist_range:   # ranges move in steps: an axis re-renders when its range changes
            self._hist_range = target
            self.hist_item.getViewBox().setRange(xRange=target[0], yRange=target[1], padding=0)

    def _on_norm(self, on: bool) -> None:
        self._log = bool(on)
        self.plot_item.setLogMode(self._log_x, self._log)
        self.plot_item.setLabel("left", "‖W‖" if on else self.y_label, color=self._fg.name())
        for series in self._all_series():
            series.reset()
        self._redraw(force=True)

    def _row_text(self, run: _Run, row: int) -> str:
        data = run.history[self.column][row]
        n = run.n_layers
        layers = range(n) if n <= 4 else (0, n - 1)
        fmt = _fmt if self.norm_button.isChecked() else _percent
        return ", ".join(f"layer {j + 1} {fmt(data[j])}" for j in layers)


def _checked_histograms(histograms) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(edges, counts), ...]`` as float arrays; ValueError when edges are not one more than counts."""
    hists = []
    for edges, counts in histograms or []:
        edges = np.asarray(edges, dtype=float).ravel()
        counts = np.asarray(counts, dtype=float).ravel()
        if edges.size != counts.size + 1:
            raise ValueError(f"set_weight_histograms: {edges.size} edges for {counts.size} counts "
                             "(expected one edge more than counts)")
        hists.append((edges, counts))
    return hists


COMPACT_LR_WIDTH = 150   # px: a constant learning rate's dock shrinks to its one line of text
LR_PLOT_WIDTH = 300      # px: the width it gets back when the rate starts changing (unless it had more)


class LearningRatePlot(_MetricPlot):
    """The learning rate used in each epoch."""

    y_label = "learning rate"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._add_legend()   # empty for a single run (the axis says it all); names the runs otherwise
        self._add_curve("learning_rate", "learning rate", curve_pen(LEARNING_RATE_COLOR), bold=True)
        self.log_button = self._add_toggle(
            "Log y", "Use a logarithmic y axis, which turns an exponential decay into a straight line.",
            False, self._set_log)
        self._add_log_epochs_toggle()

        # A constant rate needs no plot: a line of text, and the dock may shrink to it.
        self.constant_note = QLabel(self)
        self.constant_note.setWordWrap(True)
        self.constant_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.constant_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.layout().addWidget(self.constant_note, 1)
        self.constant_note.hide()
        self._compact = None
        self._wide_width = LR_PLOT_WIDTH
        self._set_compact(True, "")

    compact_changed = Signal(bool)

    @property
    def compact(self) -> bool:
        """True while the rate has been constant (or there are no epochs yet): the plot is folded away."""
        return bool(self._compact)

    def _set_compact(self, on: bool, text: str) -> None:
        if on and self.constant_note.text() != text:
            self.constant_note.setText(text)
        if on == self._compact:
            return
        self._compact = on
        self.toolbar.setVisible(not on)
        self.plot_widget.setVisible(not on)
        self.constant_note.setVisible(on)
        dock = self.parentWidget()
        window = dock.parentWidget() if isinstance(dock, QDockWidget) else None
        # a tab among other docks must not narrow its whole tab group: only a dock of its own folds narrow
        tabbed = isinstance(window, QMainWindow) and bool(window.tabifiedDockWidgets(dock))
        if on:
            if self.width() > COMPACT_LR_WIDTH:
                self._wide_width = self.width()
            self.setMaximumWidth(16777215 if tabbed else COMPACT_LR_WIDTH)
        else:
            self.setMaximumWidth(16777215)   # QWIDGETSIZE_MAX
            if isinstance(window, QMainWindow) and not dock.isFloating():
                # a dock does not grow back by itself: give the plot the width it had before folding
                window.resizeDocks([dock], [self._wide_width], Qt.Orientation.Horizontal)
            elif self.isWindow():
                self.resize(max(self.width(), self._wide_width), self.height())
        self.layout().activate()
        self.compact_changed.emit(on)

    def _after_redraw(self):
        # folded while every run has had one and the same rate; runs at different rates are plotted
        rates = set()
        for run in self._runs():
            series = run.series.get("learning_rate")
            if series is not None and series.has_data:   # its extremes, kept up to date row by row
                rates.update((series.lo, series.hi))
        if not rates:
            text = "The learning rate is plotted here when it changes (a schedule)."
        elif self.coloured:
            text = f"Learning rate {_fmt(next(iter(rates)))} in every run, constant so far."
        else:
            text = f"Learning rate {_fmt(next(iter(rates)))}, constant so far."
        self._set_compact(len(rates) <= 1, text)

    def _prepare_run(self, run: _Run) -> None:
        if run is self._primary or run.curves:
            return
        curve = make_curve(curve_pen(self._fg))
        self.plot_item.addItem(curve)
        curve.hide()
        run.curves["learning_rate"] = curve
        run.series["learning_rate"] = _Series()
        run.shown["learning_rate"] = False
        self._style_run(run)

    def _style_run(self, run: _Run) -> None:
        curve = run.curves.get("learning_rate")
        if curve is None:
            return
        if self.coloured:   # equal rates overlap exactly: the line styles keep both visible
            curve.setPen(curve_pen(self.run_colour(run), self.run_style(run)))
        else:
            curve.setPen(curve_pen(LEARNING_RATE_COLOR))
        set_bold(curve, not run.faded)
        curve.setZValue(-1 if run.faded else 0)

    def _run_legend_style(self, run: _Run) -> Qt.PenStyle:
        return self.run_style(run)

    def _legend_keys(self):
        return []

    def clear(self) -> None:
        super().clear()
        self._after_redraw()

    def _columns_for(self, run: _Run):
        return {"learning_rate": run.history["learning_rate"]}

    snap_to_evaluated = False   # every epoch has its rate

    def _row_text(self, run: _Run, row: int) -> str:
        return f"learning rate {_fmt(run.history['learning_rate'][row])}"
