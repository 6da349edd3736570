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

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QEvent, QPointF, QRectF, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QColor, QPalette, QPen, QTransform
from PySide6.QtWidgets import (QDockWidget, QDoubleSpinBox, QGraphicsItem, QLabel, QMainWindow, QSizePolicy,
                               QSplitter, QToolBar, QVBoxLayout, QWidget)

from ..engine.history import History
from ..viewmath import ema, integer_tick_levels, weight_histograms, whole_ticks  # noqa: F401  (ema: re-exported)
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
               floor: float | None, log_x: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """x, y to draw: the whole envelope, or ``rows`` re-bucketed finely; y clipped up to ``floor``.

        On a log epoch axis the first buckets would squeeze the early epochs (which the log axis is
        there to show) into a few strokes, so those rows are drawn from log-spaced single rows."""
        env = self.envelope
        if rows is None or env.stride == 1:
            x, y = _envelope_points(epochs, 0, env.n, env.stride,
                                    env.lo[:env.n_buckets], env.hi[:env.n_buckets])
            if log_x and env.stride > 1:
                head = min(env.n, env.stride * 16)       # rows whose buckets look coarse in log scale
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
            np.maximum(y, floor, out=y)   # NaN stays NaN (a gap); zeros sit on the floor
        return x, y


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
    def logTickStrings(self, values, scale, spacing):
        # within a single decade every minor tick has room; across several only 1, 2, 5 do
        narrow = len(values) > 1 and max(values) - min(values) < 0.7
        return [log_tick_label(10.0 ** v * scale, narrow) for v in values]


class _EpochAxis(pg.AxisItem):
    """Epochs are whole numbers: no tick at 0.5 or 1.5 while a run is a few epochs long."""

    def tickSpacing(self, minVal, maxVal, size):
        levels = super().tickSpacing(minVal, maxVal, size)
        return levels if self.logMode else integer_tick_levels(levels)

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
        self.history: History | None = None
        self.series: dict[str, _Series] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._labels: dict[str, str] = {}
        self._shown: dict[str, bool] = {}
        self._display_key = None
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
        self._drawn: dict[str, tuple[np.ndarray, np.ndarray]] = {}
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
        raise NotImplementedError

    def _describe(self, row: int) -> str:
        raise NotImplementedError

    def _wants(self, key: str, series: _Series) -> bool:
        """Whether a curve with data should be shown (e.g. a penalty that is always zero is not)."""
        return series.has_data

    def _on_history_changed(self):
        """Called by set_history before the first draw (e.g. to rebuild per-layer curves)."""

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
        self._auto_x = True     # a new run: follow it again
        self._redraw(force=True)

    def refresh(self) -> None:
        """The history grew: draw the new rows (cost independent of the run's length)."""
        if self.history is not None:
            self._redraw(force=False)

    def clear(self) -> None:
        """Forget the history and blank the plot."""
        self.history = None
        for key, series in self.series.items():
            series.reset()
            self.curves[key].setData([], [])
        self._set_shown({key: False for key in self.curves})
        self.hide_readout()
        self._display_key = None
        self._drawn.clear()
        self._range = None

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
    def _visible_rows(self, n: int) -> tuple[int, int] | None:
        """Rows to re-bucket finely when the user has zoomed into a short stretch, else None."""
        if n == 0 or self._auto_x or any(self.view_box.autoRangeEnabled()):
            return None
        left, right = (self._view_to_epoch(v) for v in self.view_box.viewRange()[0])
        epochs = self.history["epoch"]
        start = max(0, int(np.searchsorted(epochs, left)) - 1)
        stop = min(n, int(np.searchsorted(epochs, right)) + 1)
        if stop - start < 2 or stop - start > ZOOM_DETAIL_ROWS:
            return None
        return start, stop

    def _log_floor(self, keys) -> float:
        lowest = min((self.series[k].min_positive for k in keys), default=math.inf)
        return 0.5 * lowest if math.isfinite(lowest) else FALLBACK_LOG_FLOOR

    def _redraw(self, force: bool) -> None:
        if self.history is None:
            return
        columns = self._columns()
        changed = force
        for key, column in columns.items():
            changed |= self.series[key].sync(column)
        n = len(self.history)
        rows = self._visible_rows(n)
        shown = {key: key in columns and self._wants(key, self.series[key]) for key in self.curves}
        key = (n, rows, self._log, self._log_x, tuple(k for k, v in shown.items() if v))
        if not changed and key == self._display_key:
            return
        self._display_key = key
        epochs = self.history["epoch"]
        floor = self._log_floor([k for k, v in shown.items() if v]) if self._log else None
        for k, curve in self.curves.items():
            if shown[k]:
                self._drawn[k] = self.series[k].points(epochs, rows, floor, self._log_x)
                curve.setData(*self._drawn[k])
        self._set_shown(shown)
        self._apply_range()
        self._after_redraw()
        if self.readout.isVisibleTo(self):   # keep the hover text in step with the data under the cursor
            self._on_mouse_moved(self._hover_scene_pos)

    def _after_redraw(self):
        pass

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
        drawn = [self._drawn[k] for k, on in self._shown.items() if on and k in self._drawn]
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

    def _set_shown(self, shown: dict[str, bool]) -> None:
        """Show/hide curves and keep the legend listing exactly the shown ones, in a fixed order."""
        if shown == self._shown:
            return
        self._shown = dict(shown)
        for key, curve in self.curves.items():
            curve.setVisible(shown[key])
        if getattr(self, "legend", None) is not None:
            self.legend.clear()
            for key in self._legend_keys():
                if shown[key]:
                    self.legend.addItem(self.curves[key], self._labels[key])
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
        if self.history is not None:
            self._redraw(force=False)   # re-buckets the visible rows when zoomed; no-op otherwise

    # -- log axis ------------------------------------------------------------------------------------
    def _set_log(self, on: bool) -> None:
        self._log = bool(on)
        self.plot_item.setLogMode(self._log_x, self._log)
        self._redraw(force=True)

    # -- hover ---------------------------------------------------------------------------------------
    def nearest_row(self, epoch: float) -> int | None:
        """Index of the history row whose epoch is closest to ``epoch``."""
        if self.history is None or len(self.history) == 0:
            return None
        epochs = self.history["epoch"]
        i = int(np.searchsorted(epochs, epoch))
        if i >= epochs.size:
            return epochs.size - 1
        if i > 0 and abs(epochs[i - 1] - epoch) <= abs(epochs[i] - epoch):
            return i - 1
        return i

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        self._hover_scene_pos = QPointF(scene_pos)
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            self.hide_readout()
            return
        p = self.view_box.mapSceneToView(scene_pos)
        row = self.nearest_row(self._view_to_epoch(p.x()))
        if row is None:
            self.hide_readout()
            return
        self.readout.setText(self._describe(row))
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
        self.hover_line.setValue(self._epoch_to_view(float(self.history["epoch"][row])))
        self.readout.show()
        self.readout.raise_()
        self.hover_line.show()


class LossPlot(_MetricPlot):
    """Train/test/validation loss (or error rate) and the penalty vs epoch, with best/stop markers."""

    y_label = "loss"
    _LOSS = {"train": "train_loss", "test": "test_loss", "validation": "validation_loss"}
    _ERROR = {"train": "train_error", "test": "test_error", "validation": "validation_error"}

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._add_legend()
        self._add_curve("train", "train", curve_pen(TRAIN_COLOR), bold=True)
        self._add_curve("test", "test", curve_pen(TEST_COLOR), bold=True)
        self._add_curve("validation", "validation", curve_pen(VALIDATION_COLOR, Qt.PenStyle.DashDotLine))
        self._add_curve("penalty", "penalty", curve_pen(PENALTY_COLOR, Qt.PenStyle.DashLine))
        self._add_curve("objective", "train + penalty", curve_pen(TRAIN_COLOR, Qt.PenStyle.DotLine))
        self._objective = _Growable()
        self._objective_inputs = (np.nan, np.nan)

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
        self._header_parts = ("", "")
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
        for series in self.series.values():
            series.reset()
        self._redraw(force=True)

    def _on_smoothing(self, *_):
        factor = self.smooth_factor.value() if self.smooth_button.isChecked() else None
        for series in self.series.values():
            series.set_smoothing(factor or None)
        self._redraw(force=True)

    def set_history(self, history: History) -> None:
        """Show ``history`` from scratch; the best/stop markers are cleared (they belong to the old run)."""
        self._objective = _Growable()
        self.set_best_epoch(None)
        self.set_stop_epoch(None)
        super().set_history(history)

    def clear(self) -> None:
        super().clear()
        self._objective = _Growable()
        self.set_best_epoch(None)
        self.set_stop_epoch(None)
        self.empty_note.hide()
        self._update_header()

    def _objective_column(self) -> np.ndarray:
        """train_loss + penalty, extended by the new rows only."""
        train, penalty = self.history["train_loss"], self.history["penalty"]
        done = self._objective.n
        if done > train.size or (done and (not _same(train[done - 1], self._objective_inputs[0])
                                           or not _same(penalty[done - 1], self._objective_inputs[1]))):
            self._objective, done = _Growable(), 0
        if train.size > done:
            # a missing penalty counts as none, so the objective exists whenever the loss does
            self._objective.append(train[done:] + np.nan_to_num(penalty[done:], nan=0.0))
            self._objective_inputs = (train[-1], penalty[-1])
        return self._objective.view

    def _columns(self):
        h = self.history
        names = self._ERROR if self.error_mode else self._LOSS
        cols = {key: h[name] for key, name in names.items()}
        if not self.error_mode:
            cols["penalty"] = h["penalty"]
            if self.objective_button.isChecked():
                cols["objective"] = self._objective_column()
        return cols

    def _wants(self, key, series):
        if key == "penalty":
            return series.max_abs > 0   # no regularisation: an all-zero line only adds clutter
        return series.has_data

    def current_numbers(self) -> str:
        """The last epoch's losses and errors as text ("" without rows): "loss / error: train 0.052 / 3.1% · ..."."""
        h = self.history
        if h is None or len(h) == 0:
            return ""
        parts = []
        for key in ("train", "test", "validation"):
            loss = float(h[self._LOSS[key]][-1])
            error = float(h[self._ERROR[key]][-1])
            if not np.isfinite(loss) and not np.isfinite(error):
                continue
            values = [_fmt(loss) if np.isfinite(loss) else "–"]
            if np.isfinite(error):
                values.append(_percent(error))
            parts.append(f"{key} {' / '.join(values)}")
        if not parts:
            return ""
        errors = any(np.isfinite(float(h[name][-1])) for name in self._ERROR.values())
        return f"{'loss / error' if errors else 'loss'}: " + " · ".join(parts)

    def _update_header(self) -> None:
        numbers = self.current_numbers()
        marks = []
        for key, color, glyph in (("best", TEST_COLOR, "┆"), ("stop", self._fg.name(), "┊")):
            epoch, what, detail = self._marks[key]
            if epoch is None or not np.isfinite(float(epoch)):
                continue
            if len(detail) > MARKER_DETAIL_CHARS:
                detail = detail[:MARKER_DETAIL_CHARS - 1].rstrip() + "…"
            marks.append((color, glyph, f"{what}: {float(epoch):.0f}" + (f" ({detail})" if detail else "")))
        marks_text = "   ".join(f"{g} {t}" for _, g, t in marks)
        if (numbers, marks_text) == self._header_parts:
            return
        self._header_parts = (numbers, marks_text)
        self.numbers.setText(numbers)
        self.marks.setText(marks_text)
        colored = numbers
        for key, color in (("train", TRAIN_COLOR), ("test", TEST_COLOR), ("validation", VALIDATION_COLOR)):
            colored = colored.replace(f" {key} ", f' <b style="color:{color}">{key}</b> ', 1)
        html = [colored] if numbers else []
        html += [f'<span style="color:{c}">{g} {_html_escape(t)}</span>' for c, g, t in marks]
        self.header.setText("&nbsp;&nbsp;&nbsp;".join(html))
        tip = "The last epoch's loss and, after the slash, its error rate (the share of misclassified points)."
        self.header.setToolTip(tip + (f"\nStopped: {self.stop_reason}" if self.stop_reason else ""))

    def _after_redraw(self):
        self._update_header()
        nothing = len(self.history) > 0 and not any(self._shown.values())
        if nothing:
            self.empty_note.setText("No error rates: this is a regression task." if self.error_mode
                                    else "No loss values yet.")
            (x0, x1), (y0, y1) = self.view_box.viewRange()
            self.empty_note.setPos((x0 + x1) / 2, (y0 + y1) / 2)
        self.empty_note.setVisible(nothing)

    def _describe(self, row: int) -> str:
        h = self.history
        head = f"epoch {int(h['epoch'][row])}:"
        fmt = _percent if self.error_mode else _fmt
        names = self._ERROR if self.error_mode else self._LOSS
        values = [(key, h[name][row]) for key, name in names.items()]
        if not self.error_mode and self._shown.get("penalty"):
            values.append(("penalty", h["penalty"][row]))
        text = ", ".join(f"{key} {fmt(v)}" for key, v in values if np.isfinite(v))
        return f"{head} {text}" if text else f"{head} no values"

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

    Used instead of a legend when there are many layers (a legend of 10 entries takes several rows)."""

    HEIGHT = 16

    def __init__(self, fg: QColor):
        super().__init__()
        self._fg = QColor(fg)
        self.colors: list[QColor] = []
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.set_layers([])

    def set_layers(self, colors) -> None:
        self.colors = [QColor(c) for c in colors]
        height = self.HEIGHT if self.colors else 0
        self.setMinimumHeight(height)
        self.setMaximumHeight(height)
        self.setVisible(bool(self.colors))
        self.update()

    def labels(self) -> list[str]:
        return [str(j + 1) for j in range(len(self.colors))]

    def paint(self, painter, option, widget=None):
        if not self.colors:
            return
        rect = self.boundingRect()
        font = painter.font()
        font.setPointSizeF(8)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        left, right = "input", "output"
        lw, rw = metrics.horizontalAdvance(left) + 6, metrics.horizontalAdvance(right) + 6
        n = len(self.colors)
        box = min(36.0, max(12.0, (rect.width() - lw - rw) / n))
        x0 = rect.left() + (rect.width() - (lw + rw + n * box)) / 2
        h = rect.height() - 2
        painter.setPen(self._fg)
        painter.drawText(QRectF(x0, rect.top(), lw - 4, rect.height()),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, left)
        for j, color in enumerate(self.colors):
            cell = QRectF(x0 + lw + j * box, rect.top() + 1, box, h)
            painter.fillRect(cell, color)
            painter.setPen(QColor("black") if color.lightness() > 140 else QColor("white"))
            painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, str(j + 1))
        painter.setPen(self._fg)
        painter.drawText(QRectF(x0 + lw + n * box + 4, rect.top(), rw, rect.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, right)


class GradientPlot(_MetricPlot):
    """Per-layer gradient magnitude vs epoch on a log axis, coloured from input side to output side."""

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
        self.n_layers = 0
        self._pool: list[pg.PlotDataItem] = []
        self.layer_strip = _LayerStrip(self._fg)
        self.layer_strip.setParentItem(self.plot_item)
        self.plot_item.layout.addItem(self.layer_strip, 5, 1)

    @property
    def column(self) -> str:
        return "grad_mean_abs" if self.mean_button.isChecked() else "grad_norm"

    def _on_mode(self, *_):
        self.plot_item.setLabel("left", "mean |dW|" if self.mean_button.isChecked()
                                else self.y_label, color=self._fg.name())
        for series in self.series.values():
            series.reset()
        self._redraw(force=True)

    def layer_colors(self, n: int) -> list[QColor]:
        """Sequential viridis ramp from input (0) to output (n-1), trimmed so both ends stay visible."""
        lo, hi = (0.15, 1.0) if self.dark else (0.0, 0.85)
        return pg.colormap.get("viridis").map(np.linspace(lo, hi, n) if n > 1 else [lo], mode="qcolor")

    def _build_curves(self, n: int) -> None:
        """Show ``n`` layer curves, reusing (restyling) existing ones; spare ones are hidden, not deleted,
        so switching architectures back and forth creates nothing new."""
        self.legend.clear()
        self.curves.clear()
        self.series.clear()
        self._labels.clear()
        for j, color in enumerate(self.layer_colors(n)):
            pen = curve_pen(color)
            bold = j in (0, n - 1)   # input and output layers: the two ends of the gradient ladder
            if j < len(self._pool):
                curve = self._pool[j]
                curve.setPen(pen)
                set_bold(curve, bold)
            else:
                curve = make_curve(pen, bold)
                self.plot_item.addItem(curve)
                self._pool.append(curve)
            key = f"layer{j}"
            self.curves[key] = curve
            self.series[key] = _Series()
            self._labels[key] = layer_label(j, n)
        for curve in self._pool[n:]:
            curve.setData([], [])
            curve.hide()
        self._shown = {key: None for key in self.curves}   # forces the legend rebuild on the next draw
        self.n_layers = n
        many = n > SHORT_LAYER_LABELS
        self.layer_strip.set_layers(self.layer_colors(n) if many else [])

    def _on_history_changed(self):
        if self.history.n_layers != self.n_layers:   # only after a reset to another architecture
            self._build_curves(self.history.n_layers)

    def _legend_keys(self):
        # many layers: the one-line strip of numbered swatches names them all instead
        return [] if self.n_layers > SHORT_LAYER_LABELS else list(self.curves)

    def _columns(self):
        data = self.history[self.column]
        return {f"layer{j}": data[:, j] for j in range(self.n_layers)}

    def _describe(self, row: int) -> str:
        data = self.history[self.column][row]
        layers = range(self.n_layers) if self.n_layers <= 4 else (0, self.n_layers - 1)
        text = ", ".join(f"layer {j + 1} {_fmt(data[j])}" for j in layers)
        if self.n_layers > 1 and data[-1] > 0 and np.isfinite(data[0]):
            text += f"  (input/output {data[0] / data[-1]:.2g})"
        return f"epoch {int(self.history['epoch'][row])}: {text}"


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
        self.hist_widget.hide()
        self.log_count_button.setVisible(False)
        self._hist_curves: list[pg.PlotDataItem] = []
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
        hists = []
        for edges, counts in histograms or []:
            edges = np.asarray(edges, dtype=float).ravel()
            counts = np.asarray(counts, dtype=float).ravel()
            if edges.size != counts.size + 1:
                raise ValueError(f"set_weight_histograms: {edges.size} edges for {counts.size} counts "
                                 "(expected one edge more than counts)")
            hists.append((edges, counts))
        self.histograms = hists
        if hists and self.hist_widget.isHidden():   # appearing: 3/5 of the width for the curves, 2/5 here
            total = max(self.splitter.width(), 250)
            self.splitter.setSizes([total * 3 // 5, total - total * 3 // 5])
        self.hist_widget.setVisible(bool(hists))
        self.log_count_button.setVisible(bool(hists))
        colors = self.layer_colors(len(hists)) if hists else []
        while len(self._hist_curves) < len(hists):
            curve = make_curve(curve_pen(self._fg))
            curve.setData([0.0, 1.0], [0.0], stepMode="center")
            self.hist_item.addItem(curve)
            self._hist_curves.append(curve)
        for j, curve in enumerate(self._hist_curves):
            if j >= len(hists):
                curve.hide()
                continue
            edges, counts = hists[j]
            if curve.opts["pen"].color() != colors[j]:
                curve.setPen(curve_pen(colors[j]))
            curve.setData(edges, self._count_values(counts), stepMode="center")
            curve.show()
        self._apply_hist_range()

    def _count_values(self, counts: np.ndarray) -> np.ndarray:
        if not self.log_count_button.isChecked():
            return counts
        return np.maximum(counts, HIST_LOG_FLOOR)   # an empty bin sits on the floor, not at log(0)

    def _on_log_count(self, on: bool) -> None:
        self.hist_item.setLogMode(False, bool(on))
        self.set_weight_histograms(self.histograms)

    def _apply_hist_range(self) -> None:
        if not self.histograms:
            return
        lo = min(float(e[0]) for e, _ in self.histograms)
        hi = max(float(e[-1]) for e, _ in self.histograms)
        top = max((float(c.max()) for _, c in self.histograms if c.size), default=1.0)
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
        for series in self.series.values():
            series.reset()
        self._redraw(force=True)

    def _describe(self, row: int) -> str:
        data = self.history[self.column][row]
        layers = range(self.n_layers) if self.n_layers <= 4 else (0, self.n_layers - 1)
        fmt = _fmt if self.norm_button.isChecked() else _percent
        text = ", ".join(f"layer {j + 1} {fmt(data[j])}" for j in layers)
        return f"epoch {int(self.history['epoch'][row])}: {text}"


COMPACT_LR_WIDTH = 150   # px: a constant learning rate's dock shrinks to its one line of text
LR_PLOT_WIDTH = 300      # px: the width it gets back when the rate starts changing (unless it had more)


class LearningRatePlot(_MetricPlot):
    """The learning rate used in each epoch."""

    y_label = "learning rate"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
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
        if on:
            if self.width() > COMPACT_LR_WIDTH:
                self._wide_width = self.width()
            self.setMaximumWidth(COMPACT_LR_WIDTH)
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
        rates = self.history["learning_rate"] if self.history is not None else np.empty(0)
        finite = rates[np.isfinite(rates)]
        constant = finite.size == 0 or bool(finite.min() == finite.max())
        text = (f"Learning rate {_fmt(finite[-1])}, constant so far." if finite.size
                else "The learning rate is plotted here when it changes (a schedule).")
        self._set_compact(constant, text)

    def clear(self) -> None:
        super().clear()
        self._after_redraw()

    def _columns(self):
        return {"learning_rate": self.history["learning_rate"]}


    def _describe(self, row: int) -> str:
        return f"epoch {int(self.history['epoch'][row])}: learning rate {_fmt(self.history['learning_rate'][row])}"
