"""The point-editing canvas: the decision field, its boundary contour and the points on top.

The canvas is a view over a :class:`PointsModel`: it redraws whenever the model changes and turns
mouse gestures into model edits (each gesture one undo step). Every graphics item is created once
and updated with ``setImage``/``setData`` so redrawing at animation rates stays cheap.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPainter, QPixmap, QPixmapCache
from PySide6.QtWidgets import (
    QGraphicsEllipseItem, QGraphicsItem, QGraphicsRectItem, QMenu, QVBoxLayout, QWidget,
)

from ..data.points import MAX_CLASSES, ROLE_NAMES, TEST, TRAIN, VALIDATION
from ..errors import ConfigError, DataError
from .palette import CLASS_COLORS, CLASS_NAMES, CONTOUR_COLOR, MISCLASSIFIED_COLOR, class_tints, diverging_lut
from .points_model import PointsModel

TOOLS = ("add", "brush", "erase", "select")
TOOL_TIPS = {
    "add": "Click to add a point of the current class (right-click or Shift+click for the other class); "
           "drag a point to move it.",
    "brush": "Press and drag to spray points of the current class within the brush radius.",
    "erase": "Press and drag to remove every point under the brush circle.",
    "select": "Drag a rectangle to select points (Shift adds), drag a selected point to move the selection. "
              "Right-click for relabel / move to train, test or validation / delete, or use the keys: "
              "1-4 relabel, T training, Shift+T test, Shift+V validation, Delete removes, Escape clears.",
}
#: keys acting on the selection (while the canvas has focus and points are selected); none clashes with
#: the window's (Space, S, Right, R, Shift+R, F, D, M, A, B, E, V, Delete, Ctrl+A/Z/Y)
SELECTION_KEYS = {
    "relabel": ("1", "2", "3", "4"),
    "train": "T",
    "test": "Shift+T",
    "validation": "Shift+V",
}
BOUNDARY_MODES = ("binary", "multiclass", "regression")
MAX_BOUNDARY_SIDE = 4096
DEFAULT_VIEW = (-6.0, 6.0, -6.0, 6.0)
PICK_RADIUS_PX = 7.0
PIXMAP_CACHE_KB = 160 * 1024   # room for ~20 item caches of a full-HD canvas (see PointCanvas.__init__)
# Regression has no classes: the "class" tools add the value at the blue or orange end of the ramp.
REGRESSION_TARGETS = (-1.0, 1.0)
REGRESSION_BANDS = 4          # discretized regression field: this many bands on each side of 0

_DARK_OUTLINE = "#202020"
_POINT_SIZE = 12
_RING_WIDTH = 2.6
_DIAMOND_SIZE = 15
_HALO_SIZE = 21
_SELECTION_SIZE = 21
_WHITE = np.full(3, 255.0)
_FIELD_LUT = diverging_lut()


# -- pure array helpers (no Qt) -------------------------------------------------------------------
def contour_segments(values: np.ndarray, level: float) -> np.ndarray:
    """Marching squares on a (H, W) grid, vectorized.

    Returns an (M, 2) array of segment end points in grid coordinates (x = column, y = row), two
    consecutive rows per segment, ready for a ``connect='pairs'`` curve.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 2 or v.shape[1] < 2:
        return np.zeros((0, 2))
    up = v >= level
    ua, ub, uc, ud = up[:-1, :-1], up[:-1, 1:], up[1:, 1:], up[1:, :-1]
    # only cells the level passes through (a thin band of the grid) get the floating-point work
    rows, cols = np.nonzero((ua != ub) | (ua != uc) | (ua != ud))
    if rows.size == 0:
        return np.zeros((0, 2))
    a, b, c, d = v[rows, cols], v[rows, cols + 1], v[rows + 1, cols + 1], v[rows + 1, cols]
    ua, ub, uc, ud = ua[rows, cols], ub[rows, cols], uc[rows, cols], ud[rows, cols]
    r, q = rows.astype(np.float64), cols.astype(np.float64)

    def frac(p, s):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (level - p) / (s - p)
        return np.clip(np.nan_to_num(t, nan=0.5), 0.0, 1.0)

    # crossing point on each edge, in order bottom, right, top, left
    pts = np.empty((rows.size, 4, 2))
    pts[:, 0, 0], pts[:, 0, 1] = q + frac(a, b), r
    pts[:, 1, 0], pts[:, 1, 1] = q + 1.0, r + frac(b, c)
    pts[:, 2, 0], pts[:, 2, 1] = q + frac(d, c), r + 1.0
    pts[:, 3, 0], pts[:, 3, 1] = q, r + frac(a, d)
    crosses = np.column_stack([ua != ub, ub != uc, ud != uc, ua != ud])
    n_cross = crosses.sum(axis=1)
    two = n_cross == 2
    simple = pts[two][crosses[two]]                                  # 2 rows per cell, in order
    # Saddle cells cross all four edges; the cell centre decides which corners are joined.
    saddle = n_cross == 4
    if not saddle.any():
        return simple
    sp = pts[saddle]
    centre_up = ((a + b + c + d) / 4.0 >= level)[saddle]
    joins_a_c = (centre_up == ua[saddle])[:, None, None]
    # a joined to c: cut off corners b (bottom+right) and d (top+left); otherwise a (bottom+left), c
    first = np.where(joins_a_c, sp[:, [0, 1]], sp[:, [0, 3]])
    second = np.where(joins_a_c, sp[:, [2, 3]], sp[:, [1, 2]])
    return np.concatenate([simple, first.reshape(-1, 2), second.reshape(-1, 2)])


def multiclass_rgb(probs: np.ndarray, discretize: bool) -> np.ndarray:
    """(H, W, K) class probabilities → (H, W, 3) uint8 colours from the palette's class tints.

    Colours fade to white where the network is unsure (like the binary ramp at p = 0.5); pixels
    with missing or meaningless probabilities are white.
    """
    k = probs.shape[2]
    p = np.where(np.isfinite(probs), probs, np.nan).astype(np.float64)
    valid = np.isfinite(p).all(axis=2)
    p = np.clip(np.nan_to_num(p, nan=0.0), 0.0, None)
    total = p.sum(axis=2, keepdims=True)
    valid &= total[..., 0] > 0
    p = np.divide(p, total, out=np.zeros_like(p), where=total > 0)
    tints = class_tints()[:k]
    if discretize:
        rgb = tints[np.argmax(p, axis=2)]
    else:
        mix = p @ tints
        confidence = np.clip((p.max(axis=2) - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0) ** 0.8
        rgb = _WHITE + (mix - _WHITE) * confidence[..., None]
    rgb[~valid] = _WHITE
    return np.clip(rgb, 0, 255).round().astype(np.uint8)


def _argmax_border_field(probs: np.ndarray) -> list[np.ndarray]:
    """One field per class whose zero level is that class's region border (p_k minus best rival)."""
    p = np.nan_to_num(np.asarray(probs, dtype=np.float64), nan=0.0)
    fields = []
    for k in range(p.shape[2]):
        rivals = np.delete(p, k, axis=2).max(axis=2)
        fields.append(p[..., k] - rivals)
    return fields


# -- graphics items -------------------------------------------------------------------------------
def _checked_extent(extent, what: str) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) as floats, or DataError naming ``what``."""
    try:
        xmin, xmax, ymin, ymax = (float(e) for e in extent)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what}: expected (xmin, xmax, ymin, ymax), got {extent!r}") from exc
    if not (np.isfinite([xmin, xmax, ymin, ymax]).all() and xmin < xmax and ymin < ymax):
        raise DataError(f"{what}: expected finite xmin < xmax and ymin < ymax, got {extent!r}")
    return (xmin, xmax, ymin, ymax)


class _PassiveScatter(pg.ScatterPlotItem):
    """A scatter that never takes clicks, so the view box handles every mouse gesture.

    Drawn from a cached pixmap: while training, only the field under the points changes, and
    re-rasterising hundreds of markers every frame would cost about as much as the rest of the canvas.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def mouseClickEvent(self, ev):
        ev.ignore()

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        """pyqtgraph's bounds, NaN-safe: a NaN position is a hidden point (a live stroke hides erased
        or moving points that way), and an item whose points are all hidden has no bounds, like an
        empty one. pyqtgraph's own ``np.nanmin`` would warn "All-NaN slice encountered" on it."""
        if ax not in (0, 1) or self.data is None or len(self.data) == 0:
            return super().dataBounds(ax, frac, orthoRange)
        d = self.data["x" if ax == 0 else "y"]
        if frac >= 1.0 and orthoRange is None:
            if self.bounds[ax] is None:
                lo, hi = np.fmin.reduce(d), np.fmax.reduce(d)      # NaN only when every value is NaN
                pad = self._maxSpotWidth * 0.7072
                self.bounds[ax] = (None, None) if np.isnan(lo) else (float(lo) - pad, float(hi) + pad)
            return self.bounds[ax]
        if not np.isfinite(d).any():
            return (None, None)
        return super().dataBounds(ax, frac, orthoRange)

    def updateSpots(self, dataSet=None):
        """pyqtgraph looks up every point's symbol in its atlas by a per-point Python key (~0.5 µs a
        point, 50 ms at 100,000). When no point has a style of its own (the canvas gives each item one
        pen and brush), one lookup serves them all."""
        data = self.data if dataSet is None else dataSet
        if (len(data) > 256 and self.opts["pxMode"] and self.opts["useCache"] and not self.opts["hoverable"]
                and (data["size"] == -1).all()
                and all(np.equal(data[c], None).all() for c in ("symbol", "pen", "brush"))):
            mask = data["sourceRect"]["w"] == 0
            if mask.any():
                style = (self.opts["symbol"], self.opts["size"], self.opts["pen"], self.opts["brush"])
                data["sourceRect"][mask] = self.fragmentAtlas[[style]][0]
                self._maybeRebuildAtlas()
                self._updateMaxSpotSizes(data=data)
                self.invalidate()
                return
        super().updateSpots(dataSet)

    _exposed: QRectF | None = None

    def paint(self, painter, option, widget=None):
        """Draws only the points whose markers reach the exposed rectangle: when a stroke hides a few
        points (:meth:`hide_rows`), Qt repaints just that part of the item's cached pixmap."""
        self._exposed = option.exposedRect if option is not None else None
        try:
            super().paint(painter, option, widget)
        finally:
            self._exposed = None

    def viewRect(self):
        rect = super().viewRect()
        exposed = self._exposed
        if rect is not None and exposed is not None and not exposed.isEmpty():
            rect = rect.intersected(exposed)
        return rect

    def hide_rows(self, rows: np.ndarray) -> None:
        """Hide the points ``rows`` (NaN positions) and repaint only the region they covered: the
        rest of the item's cached pixmap stays, so erasing a few points of 100,000 is cheap. The
        item keeps its bounds until its next full update (a superset of what is drawn)."""
        if len(rows) == 0:
            return
        x, y = self.data["x"], self.data["y"]
        ox, oy = x[rows], y[rows]
        x[rows] = np.nan
        y[rows] = np.nan
        px, py = self.pixelVectors()
        if px is None or not np.isfinite(ox).any() or not np.isfinite(x).any():
            self.set_xy_in_place(np.column_stack([x, y]))   # nothing left, or not shown yet: full update
            return
        pad = self._maxSpotPxWidth * 0.75 + 2.0
        padx, pady = pad * abs(px.length()), pad * abs(py.length())
        x0, x1, y0, y1 = np.nanmin(ox), np.nanmax(ox), np.nanmin(oy), np.nanmax(oy)
        self.update(QRectF(x0 - padx, y0 - pady, x1 - x0 + 2 * padx, y1 - y0 + 2 * pady))

    def copy_rows(self, source: "_PassiveScatter", rows: np.ndarray, xy: np.ndarray) -> None:
        """Show the points ``rows`` of ``source`` at ``xy[rows]`` (the positions ``source`` was drawn
        from), in this item's own style: pyqtgraph's records are copied, not built point by point."""
        data = source.data[rows]
        data["x"] = xy[rows, 0]
        data["y"] = xy[rows, 1]
        data["item"] = None
        data["sourceRect"] = 0                # symbols come from this item's atlas
        self.data = data
        self.prepareGeometryChange()
        self.bounds = [None, None]
        self.updateSpots(data)
        self.informViewBoundsChanged()
        self.invalidate()

    def append_xy(self, xy: np.ndarray) -> None:
        """Add points drawn like the item's first one (an item of one style): its record is repeated,
        not rebuilt per point, so a brush stroke ends without re-creating 25,000 records."""
        new = np.repeat(self.data[:1], len(xy))
        new["x"] = xy[:, 0]
        new["y"] = xy[:, 1]
        self.data = np.concatenate([self.data, new])
        self.data["item"] = None
        self.prepareGeometryChange()
        self.bounds = [None, None]
        self.informViewBoundsChanged()
        self.invalidate()

    def keep_rows(self, keep: np.ndarray) -> None:
        """Drop the rows not in ``keep`` (hidden points) without repainting: the drawing is the same."""
        self.data = self.data[keep]
        self.data["item"] = None              # pyqtgraph's per-spot wrappers hold row numbers

    def set_xy_in_place(self, xy: np.ndarray) -> None:
        """New positions for the same number of points, styles unchanged: written into the item's
        arrays (no record rebuild, no atlas lookups), so a drag of 100,000 points stays cheap.
        NaN positions are not drawn (a stroke hides erased points this way until it ends)."""
        self.data["x"] = xy[:, 0]
        self.data["y"] = xy[:, 1]
        self.prepareGeometryChange()
        self.bounds = [None, None]
        self.informViewBoundsChanged()
        self.invalidate()


class _FieldImage(pg.ImageItem):
    """The boundary image, drawn with bilinear smoothing unless hard regions are wanted."""

    smooth = True

    def paint(self, painter, *args):
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
        super().paint(painter, *args)


class _EditViewBox(pg.ViewBox):
    """Routes left-button gestures to the canvas; middle/right drag and the wheel pan and zoom."""

    def __init__(self, canvas: "PointCanvas"):
        super().__init__(enableMenu=False)
        self._canvas = canvas

    def mouseClickEvent(self, ev):
        if self._canvas._handle_click(ev):
            ev.accept()
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None):
        if axis is None and ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self._canvas._handle_drag(ev)
        else:
            super().mouseDragEvent(ev, axis)


class PointCanvas(QWidget):
    """Shows the point set over the model's decision field and lets the user edit the points."""

    status_message = Signal(str)
    selection_changed = Signal(int)

    def __init__(self, model: PointsModel, parent: QWidget | None = None):
        super().__init__(parent)
        self._model = model
        self._tool = "add"
        self._current_class = 0
        self._new_role = TRAIN
        self._brush_radius = 0.6
        self._brush_density = 6
        self._rng = np.random.default_rng()
        self._regression = False
        self._value_range: tuple[float, float] | None = None
        self._discretize = False
        self._boundary: tuple[np.ndarray, tuple[float, float, float, float], str] | None = None
        self._unit_heatmap: tuple | None = None   # (values, extent, levels) shown instead of the boundary
        self._predictions: np.ndarray | None = None
        self._highlight_misclassified = False
        self._selection = np.zeros(0, np.intp)
        self._drag: dict | None = None
        self._last_points = model.points
        self._drawn: dict[int, tuple] = {}   # scatter id -> (style key, points drawn)
        self._menu: QMenu | None = None
        # An erase or brush stroke under way: drawn incrementally (see _begin_live_stroke).
        self._live: dict | None = None
        self._mover_items: list[_PassiveScatter] = []
        # A big drag that has ended but whose items are still being rewritten, one per event-loop turn
        # (see _settle_step); until then its movers show the moved points where the model has them.
        self._settle: dict | None = None
        self._prepared: dict | None = None    # movers built on a button press (see _prepare_move)
        self._prep_timer = QTimer(self)
        self._prep_timer.setSingleShot(True)
        self._prep_timer.timeout.connect(self._prep_step)
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.timeout.connect(self._settle_step)
        self._own_edit = False

        self.view_box = _EditViewBox(self)
        self.plot_widget = pg.PlotWidget(parent=self, viewBox=self.view_box, background="w")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget)
        self.setFocusProxy(self.plot_widget)
        self.plot_widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        plot_item = self.plot_widget.getPlotItem()
        plot_item.hideButtons()
        plot_item.setMenuEnabled(False)
        for name in ("left", "bottom"):
            axis = plot_item.getAxis(name)
            axis.setPen(pg.mkPen("#606060"))
            axis.setTextPen(pg.mkPen("#303030"))
        self.view_box.setAspectLocked(True, 1.0)
        self.view_box.disableAutoRange()

        # Each point item keeps its drawing in a viewport-sized pixmap (DeviceCoordinateCache) held in
        # Qt's global QPixmapCache, 10 MB by default: fewer than four such pixmaps at 900x800. Past that,
        # caches evict each other and every frame re-rasterises all points (~35 ms at 100,000 points).
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), PIXMAP_CACHE_KB))
        self._make_styles()
        self._make_items()

        self.plot_widget.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot_widget.installEventFilter(self)
        self.plot_widget.viewport().installEventFilter(self)
        model.edited.connect(self._on_points_changed)   # every step of a gesture, at once

        self.set_tool("add")
        self._redraw_points()
        self.fit_view()

    # -- construction ------------------------------------------------------------------------------
    def _make_styles(self) -> None:
        """Brushes and pens are made once: pyqtgraph caches symbol images by the objects' ids."""
        self._class_brushes = np.array([pg.mkBrush(c) for c in CLASS_COLORS], dtype=object)
        # test points are rings in the class colour; a light colour (yellow) gets a darker shade of
        # itself so its ring still shows on its own pale field
        rings = [QColor(c).darker(135) if QColor(c).lightnessF() >= 0.55 else QColor(c) for c in CLASS_COLORS]
        self._class_ring_pens = np.array([pg.mkPen(c, width=_RING_WIDTH) for c in rings], dtype=object)
        self._outline_pen = pg.mkPen(_DARK_OUTLINE, width=1.2)
        self._ring_fill = pg.mkBrush(255, 255, 255, 170)   # rings stay legible on a saturated field
        # Regression points: the field's blue-to-orange ramp at full strength, with a grey middle and
        # a steep start so points near zero still show against the (white) middle of the field.
        t = np.linspace(-1.0, 1.0, 64)[:, None]
        grey = np.full(3, 180.0)
        blue, orange = (np.array(QColor(CLASS_COLORS[i]).getRgb()[:3], float) for i in (0, 1))
        ramp = grey + (np.where(t < 0, blue, orange) - grey) * np.abs(t) ** 0.6
        colors = [QColor(*(int(v) for v in np.clip(c, 0, 255).round())) for c in ramp]
        self._value_brushes = np.array([pg.mkBrush(c) for c in colors], dtype=object)
        self._value_ring_pens = np.array([pg.mkPen(c, width=_RING_WIDTH) for c in colors], dtype=object)

    def _make_items(self) -> None:
        vb = self.view_box
        self.boundary_item = _FieldImage(axisOrder="row-major")
        self.boundary_item.setZValue(-20)
        self.boundary_item.setLookupTable(_FIELD_LUT)
        self.boundary_item.hide()
        vb.addItem(self.boundary_item, ignoreBounds=True)

        self.contour_item = pg.PlotCurveItem(pen=pg.mkPen(CONTOUR_COLOR, width=1.6), connect="pairs")
        self.contour_item.setZValue(-10)
        vb.addItem(self.contour_item, ignoreBounds=True)

        self.halo_item = _PassiveScatter(pxMode=True, symbol="o", size=_HALO_SIZE,
                                         brush=pg.mkBrush(MISCLASSIFIED_COLOR), pen=pg.mkPen("#000000", width=1.5))
        self.halo_item.setZValue(5)
        vb.addItem(self.halo_item)

        # One scatter per (role, class): each takes a single brush and pen, which keeps setData cheap.
        # Regression colours points by value, so it puts every point of a role into its class-0
        # item with per-point brushes instead.
        self.point_items: dict[tuple[int, int], pg.ScatterPlotItem] = {}
        for z, (role, symbol, size) in enumerate(((TRAIN, "o", _POINT_SIZE), (TEST, "o", _POINT_SIZE),
                                                 (VALIDATION, "d", _DIAMOND_SIZE))):
            for k in range(MAX_CLASSES):
                item = _PassiveScatter(pxMode=True, symbol=symbol, size=size)
                item.setZValue(10 + z)
                vb.addItem(item)
                self.point_items[(role, k)] = item

        # points a brush stroke has added so far (drawn into their own item until the stroke ends)
        self.stroke_item = _PassiveScatter(pxMode=True, symbol="o", size=_POINT_SIZE)
        self.stroke_item.setZValue(13)
        vb.addItem(self.stroke_item)

        self.selection_item = _PassiveScatter(pxMode=True, symbol="s", size=_SELECTION_SIZE,
                                              brush=pg.mkBrush(None), pen=pg.mkPen("#111111", width=2.0))
        self.selection_item.setZValue(20)
        vb.addItem(self.selection_item)

        self.rubber_band = QGraphicsRectItem()
        self.rubber_band.setPen(pg.mkPen("#333333", width=1, style=Qt.PenStyle.DashLine))
        self.rubber_band.setBrush(pg.mkBrush(60, 60, 60, 30))
        self.rubber_band.setZValue(30)
        self.rubber_band.hide()
        vb.addItem(self.rubber_band, ignoreBounds=True)

        self.brush_cursor = QGraphicsEllipseItem()
        self.brush_cursor.setPen(pg.mkPen("#333333", width=1.2))
        self.brush_cursor.setZValue(30)
        self.brush_cursor.hide()
        vb.addItem(self.brush_cursor, ignoreBounds=True)

    # -- settings ----------------------------------------------------------------------------------
    @property
    def model(self) -> PointsModel:
        return self._model

    @property
    def tool(self) -> str:
        return self._tool

    def set_tool(self, name: str) -> None:
        if name not in TOOLS:
            raise ConfigError("tool", f"expected one of {', '.join(TOOLS)}, got {name!r}")
        self._finish_drag()
        self._drop_prepared()
        self._tool = name
        tip = TOOL_TIPS[name]
        self.setToolTip(tip)
        self.plot_widget.setToolTip(tip)
        cursor = Qt.CursorShape.ArrowCursor if name == "select" else Qt.CursorShape.CrossCursor
        self.plot_widget.viewport().setCursor(cursor)
        if name not in ("brush", "erase"):
            self.brush_cursor.hide()

    def set_current_class(self, k: int) -> None:
        if not isinstance(k, (int, np.integer)) or not 0 <= k < MAX_CLASSES:
            raise ConfigError("current class", f"expected a class index from 0 to {MAX_CLASSES - 1}, got {k!r}")
        self._current_class = int(k)

    def set_new_point_role(self, role: int) -> None:
        if role not in (TRAIN, TEST, VALIDATION):
            raise ConfigError("new point role", f"expected train (0), test (1) or validation (2), got {role!r}")
        self._new_role = int(role)

    def set_brush_radius(self, radius: float) -> None:
        if not np.isfinite(radius) or radius <= 0:
            raise ConfigError("brush radius", f"expected a positive number of data units, got {radius!r}")
        self._brush_radius = float(radius)

    def set_brush_density(self, points_per_dab: int) -> None:
        if not isinstance(points_per_dab, (int, np.integer)) or not 1 <= points_per_dab <= 200:
            raise ConfigError("brush density", f"expected 1 to 200 points per dab, got {points_per_dab!r}")
        self._brush_density = int(points_per_dab)

    def set_task(self, task: str) -> None:
        """'classification' colours points by class, 'regression' by value."""
        if task not in ("classification", "regression"):
            raise ConfigError("task", f"expected 'classification' or 'regression', got {task!r}")
        regression = task == "regression"
        if regression != self._regression:
            self._regression = regression
            self._redraw_points()

    def set_value_range(self, lo: float | None, hi: float | None = None) -> None:
        """Target range for regression colours; ``None`` follows the points' own targets."""
        if lo is None or hi is None:
            self._value_range = None
        elif not (np.isfinite(lo) and np.isfinite(hi)):
            raise ConfigError("value range", f"expected finite numbers, got {lo!r}..{hi!r}")
        else:
            self._value_range = (float(min(lo, hi)), float(max(lo, hi)))
        self._render_boundary()
        self._redraw_points()

    def set_discretize(self, on: bool) -> None:
        self._discretize = bool(on)
        self._render_boundary()

    def set_highlight_misclassified(self, on: bool) -> None:
        self._highlight_misclassified = bool(on)
        self._redraw_halo()

    def set_predictions(self, pred_class_per_point: np.ndarray | None) -> None:
        """Predicted class per point (same order as the model's points), or None."""
        if pred_class_per_point is None:
            self._predictions = None
        else:
            try:
                self._predictions = np.asarray(pred_class_per_point, dtype=np.float64).ravel()
            except (TypeError, ValueError) as exc:
                raise DataError(f"predictions: expected one class number per point ({exc})") from exc
        self._redraw_halo()

    # -- boundary ----------------------------------------------------------------------------------
    def set_boundary(self, values: np.ndarray, extent: tuple[float, float, float, float], mode: str) -> None:
        """Show the model's field over ``extent`` = (xmin, xmax, ymin, ymax); row 0 is ymin.

        ``values`` is (H, W) P(class 1) for "binary", (H, W) predictions for "regression" or
        (H, W, K) class probabilities for "multiclass". NaNs are drawn as the neutral colour.
        """
        if mode not in BOUNDARY_MODES:
            raise DataError(f"boundary mode: expected one of {', '.join(BOUNDARY_MODES)}, got {mode!r}")
        try:
            arr = np.asarray(values, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise DataError(f"boundary values: expected a numeric array ({exc})") from exc
        want = 3 if mode == "multiclass" else 2
        if arr.ndim != want or min(arr.shape[:2], default=0) < 1 or max(arr.shape[:2]) > MAX_BOUNDARY_SIDE:
            shape = "(H, W, K)" if want == 3 else "(H, W)"
            raise DataError(f"boundary values: mode {mode!r} needs a {shape} array with sides of 1 to "
                            f"{MAX_BOUNDARY_SIDE}, got shape {arr.shape}")
        if mode == "multiclass" and not 2 <= arr.shape[2] <= MAX_CLASSES:
            raise DataError(f"boundary values: multiclass needs 2 to {MAX_CLASSES} class probabilities per "
                            f"pixel, got {arr.shape[2]}")
        self._boundary = (arr, _checked_extent(extent, "boundary extent"), mode)
        if (mode == "regression") != self._regression:
            self.set_task("regression" if mode == "regression" else "classification")
        self._render_boundary()

    def clear_boundary(self) -> None:
        self._boundary = None
        if self._unit_heatmap is None:
            self.boundary_item.hide()
        self.contour_item.setData([], [])

    def show_unit_heatmap(self, values: np.ndarray | None, extent=None, levels=None) -> None:
        """Show one unit's heatmap (the network view's hovered neuron) instead of the boundary; None restores
        the boundary. ``values`` (H, W), row 0 at ymin, over ``extent`` (default: the boundary's, else the
        view's), coloured with the boundary's ramp from ``levels[0]`` to ``levels[1]`` (default symmetric
        about 0). The boundary keeps updating underneath and comes back as it is then."""
        if values is None:
            self._unit_heatmap = None
            self.boundary_item.smooth = not self._discretize
            if self._boundary is None:
                self.boundary_item.hide()
                self.contour_item.setData([], [])
            else:
                self._render_boundary()
            return
        try:
            arr = np.asarray(values, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise DataError(f"unit heatmap: expected a numeric array ({exc})") from exc
        if arr.ndim != 2 or min(arr.shape) < 1 or max(arr.shape) > MAX_BOUNDARY_SIDE:
            raise DataError(f"unit heatmap: expected an (H, W) array with sides of 1 to {MAX_BOUNDARY_SIDE}, "
                            f"got shape {arr.shape}")
        if extent is None:
            if self._boundary is not None:
                extent = self._boundary[1]
            else:
                (x0, x1), (y0, y1) = self.view_box.viewRange()
                extent = (x0, x1, y0, y1)
        xmin, xmax, ymin, ymax = _checked_extent(extent, "unit heatmap extent")
        finite = arr[np.isfinite(arr)]
        if levels is None:
            m = float(np.abs(finite).max()) if finite.size else 1.0
            lo, hi = (-m, m) if m > 0 else (-1.0, 1.0)
        else:
            try:
                lo, hi = (float(v) for v in levels)
            except (TypeError, ValueError) as exc:
                raise DataError(f"unit heatmap levels: expected (low, high), got {levels!r}") from exc
            if not (np.isfinite([lo, hi]).all() and lo < hi):
                lo, hi = -1.0, 1.0
        mid = (lo + hi) / 2
        shown = np.nan_to_num(arr, nan=mid, posinf=hi, neginf=lo)
        self._unit_heatmap = (shown, (xmin, xmax, ymin, ymax), (lo, hi))
        item = self.boundary_item
        item.smooth = True
        item.setLookupTable(_FIELD_LUT, update=False)
        item.setImage(shown, autoLevels=False, levels=(lo, hi))
        item.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
        item.show()
        self.contour_item.setData([], [])   # the boundary's line would tell of something else

    @property
    def unit_heatmap(self) -> tuple | None:
        """(values, extent, levels) of the unit heatmap shown instead of the boundary, or None."""
        return self._unit_heatmap

    def _symmetric_level(self) -> float:
        if self._value_range is not None:
            lo, hi = self._value_range
        else:
            t = self._model.points.target
            lo, hi = (float(t.min()), float(t.max())) if len(t) else (-1.0, 1.0)
        m = max(abs(lo), abs(hi))
        return m if m > 1e-12 else 1.0

    def _render_boundary(self) -> None:
        if self._boundary is None or self._unit_heatmap is not None:
            return   # (a unit's heatmap is shown: the boundary comes back when it is hidden)
        values, (xmin, xmax, ymin, ymax), mode = self._boundary
        item = self.boundary_item
        item.smooth = not self._discretize
        if mode == "multiclass":
            item.setLookupTable(None, update=False)
            item.setImage(multiclass_rgb(values, self._discretize), autoLevels=False, levels=(0, 255))
            fields, level = _argmax_border_field(values), 0.0
        elif mode == "binary":
            p = np.clip(np.nan_to_num(values, nan=0.5), 0.0, 1.0).astype(np.float32)
            shown = (p >= 0.5).astype(np.float32) if self._discretize else p
            item.setLookupTable(_FIELD_LUT, update=False)
            item.setImage(shown, autoLevels=False, levels=(0.0, 1.0))
            fields, level = [p], 0.5
        else:
            m = self._symmetric_level()
            v = np.clip(np.nan_to_num(values, nan=0.0), -m, m).astype(np.float32)
            if self._discretize:
                step = m / REGRESSION_BANDS
                v = (np.round(v / step) * step).astype(np.float32)
            item.setLookupTable(_FIELD_LUT, update=False)
            item.setImage(v, autoLevels=False, levels=(-m, m))
            fields, level = [], 0.0
        item.setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
        item.show()

        h, w = values.shape[:2]
        segs = [contour_segments(f, level) for f in fields]
        segs = np.concatenate(segs) if segs else np.zeros((0, 2))
        # grid value (row i, column j) is the centre of that image pixel
        x = xmin + (segs[:, 0] + 0.5) * (xmax - xmin) / w
        y = ymin + (segs[:, 1] + 0.5) * (ymax - ymin) / h
        self.contour_item.setData(x, y, connect="pairs")

    # -- points ------------------------------------------------------------------------------------
    def _on_points_changed(self, points) -> None:
        self._drop_prepared()
        old = self._last_points
        self._last_points = points
        if self._live is not None and not self._own_edit:
            self._end_live_stroke()          # someone else (an undo) changed the points mid-stroke
        if len(self._selection):
            keep = len(points) == len(old) or (
                len(points) > len(old) and np.array_equal(points.xy[:len(old)], old.xy))
            if not keep:
                self._set_selection(np.zeros(0, np.intp))
        if self._regression and self._value_range is None and self._boundary is not None:
            self._render_boundary()
        if self._live is not None:
            if self._live["kind"] != "move":     # a move translates the selection overlay instead
                self._redraw_selection()
                self._redraw_halo()
            return                           # the stroke draws its own changes (see _live_*)
        self._redraw_points()

    # -- strokes at 100,000 points -----------------------------------------------------------------
    # setData on a scatter costs ~1.5 µs a point, so redrawing 100,000 points for every mouse move
    # of a stroke blocks the GUI for 100+ ms. During a stroke the items keep their arrays: erased
    # points are hidden in place (NaN positions) and sprayed points go to a small extra item; the
    # items are rebuilt once when the stroke ends.
    def _item_map(self, ps) -> tuple[np.ndarray, np.ndarray, list]:
        """For every point: which point item draws it (-1: none drawn from these points) and its row."""
        n = len(ps)
        item_of = np.full(n, -1, np.intp)
        pos_of = np.zeros(n, np.intp)
        items = list(self.point_items.values())
        if not self._regression:
            # one pass over the points instead of one per item: group them by (role, class)
            cls = np.clip(np.rint(ps.target), 0, MAX_CLASSES - 1).astype(np.intp)
            group = ps.role.astype(np.intp) * MAX_CLASSES + cls
            order = np.argsort(group, kind="stable")
            bounds = np.searchsorted(group[order], np.arange(3 * MAX_CLASSES + 1))
        for j, item in enumerate(items):
            last = self._drawn.get(id(item))
            if last is None:
                continue
            role, k = self._item_key(item)
            if self._regression or not 0 <= role < 3:
                idx = self._item_indices(ps, role, k)
            else:
                g = role * MAX_CLASSES + k
                idx = order[bounds[g]:bounds[g + 1]]
            if len(idx) != len(last[1]):
                continue                     # not drawn from these points: leave it to the end redraw
            item_of[idx] = j
            pos_of[idx] = np.arange(len(idx))
        return item_of, pos_of, items

    def _begin_live_stroke(self, kind: str, item_map=None) -> None:
        self._drop_prepared()
        self.settle()
        ps = self._model.points
        item_of, pos_of, items = item_map if item_map is not None else self._item_map(ps)
        self._live = {"kind": kind, "alive": np.arange(len(ps)), "item_of": item_of, "pos_of": pos_of,
                      "items": items, "xy": {}, "added": np.zeros((0, 2))}
        if kind == "brush":
            self._style_stroke_item()

    def _begin_live_move(self, indices: np.ndarray) -> None:
        """A drag of points: they are hidden in their items and drawn, once, into mover items that
        the drag only translates (a cached pixmap moved: no per-point work per mouse move)."""
        ps = self._model.points
        prepared = self._prepared
        reuse = (prepared is not None and not self._regression and prepared["points"] is ps
                 and prepared["token"] == self._drawn_token() and np.array_equal(prepared["indices"], indices))
        if reuse:
            self._prepared = None
            self._prep_timer.stop()
        else:
            self._drop_prepared()
        if self._regression or len(indices) < 256:
            return                            # small drags redraw in place; regression styles per point
        self._begin_live_stroke("move", prepared["map"] if reuse else None)
        live = self._live
        sel = np.zeros(len(ps), bool)
        sel[indices] = True
        where = live["item_of"][indices]
        if reuse:
            for j, pair in prepared["to_show"]:   # the movers must show before their points hide below
                self._fill_mover(prepared, j, pair)
            live["xy"].update(prepared["xy"])
        for j in np.unique(where):
            if j < 0 or j in live["xy"]:
                continue
            item = live["items"][j]
            xy = live["xy"][j] = self._drawn[id(item)][1].copy()
            xy[live["pos_of"][indices[where == j]]] = np.nan
            item.set_xy_in_place(xy)
        movers, pairs = [], []
        if reuse:
            pairs = prepared["pairs"]           # built when the button went down (see _prepare_move)
            movers = [m for _item, m in pairs]
            for m in movers:
                m.show()
        elif (where >= 0).all():
            pairs = self._copy_to_movers(indices, live["item_of"], live["pos_of"], live["items"])
            movers = [m for _item, m in pairs]
            for m in movers:
                m.show()
        else:
            cls = np.clip(np.rint(ps.target), 0, MAX_CLASSES - 1).astype(np.intp)
            for (role, k), item in self.point_items.items():
                mask = sel & (ps.role == role) & (cls == k)
                if not mask.any():
                    continue
                mover = self._mover(len(movers), role, k)
                mover.setData(x=ps.xy[mask, 0], y=ps.xy[mask, 1])
                mover.show()
                movers.append(mover)
                pairs.append((item, mover))
        live["movers"] = movers + [self.selection_item]
        live["pairs"] = pairs

    def _copy_to_movers(self, indices, item_of, pos_of, items) -> list[tuple]:
        """Every moving point is drawn by its (role, class) item: the (hidden) movers copy those items'
        rows (positions and pyqtgraph's records), which costs far less than building them anew."""
        pairs = []
        where = item_of[indices]
        for j in np.unique(where):
            item = items[j]
            mover = self._mover(len(pairs), *self._item_key(item))
            mover.copy_rows(item, pos_of[indices[where == j]], self._drawn[id(item)][1])
            pairs.append((item, mover))
        return pairs

    def _drawn_token(self) -> tuple:
        return tuple(id(self._drawn.get(id(item))) for item in self.point_items.values())

    def _prepare_move(self, widget_pos) -> None:
        """The button went down on a big selection: build its movers now (hidden), then, one item per
        event-loop turn, show them where the points are and hide those points in their items (the
        picture stays the same). The drag's first mouse move then only translates the movers; a
        release without a drag undoes it (see _drop_prepared)."""
        self._drop_prepared()
        if self._tool != "select" or self._regression or self._drag is not None or self._live is not None:
            return
        if len(self._selection) < 256:
            return
        self.settle()
        hit = self._point_at(self.plot_widget.mapToScene(widget_pos))
        if hit is None or hit not in self._selection:
            return
        ps = self._model.points
        item_map = self._item_map(ps)
        if (item_map[0][self._selection] < 0).any():
            return
        for m in self._mover_items:
            m.hide()
        item_of, pos_of, items = item_map
        where = item_of[self._selection]
        rows = {int(j): pos_of[self._selection[where == j]] for j in np.unique(where)}
        pairs = []
        for j in rows:                        # movers styled now, filled one per turn (_prep_step)
            pairs.append((items[j], self._mover(len(pairs), *self._item_key(items[j]))))
        self._prepared = {"points": ps, "indices": self._selection.copy(), "token": self._drawn_token(),
                          "map": item_map, "pairs": pairs, "to_show": list(zip(rows, pairs)),
                          "to_hide": list(rows), "rows": rows, "xy": {}}
        self._prep_timer.start(0)

    def _prep_step(self) -> None:
        """One event-loop turn of a press's preparation: show one mover, or hide its points in one item."""
        prep = self._prepared
        if prep is None:
            return
        if prep["to_show"]:
            self._fill_mover(prep, *prep["to_show"].pop(0))
        elif prep["to_hide"]:
            j = prep["to_hide"].pop(0)
            item = prep["map"][2][j]
            xy = prep["xy"][j] = self._drawn[id(item)][1].copy()
            xy[prep["rows"][j]] = np.nan
            item.set_xy_in_place(xy)
        if prep["to_show"] or prep["to_hide"]:
            self._prep_timer.start(0)

    def _fill_mover(self, prep: dict, j: int, pair: tuple) -> None:
        item, mover = pair
        mover.copy_rows(item, prep["rows"][j], self._drawn[id(item)][1])
        mover.show()

    def _drop_prepared(self) -> None:
        """Undo a press's preparation that no drag used: movers hidden, items drawn as before."""
        prep, self._prepared = self._prepared, None
        if prep is None:
            return
        self._prep_timer.stop()
        for _item, m in prep["pairs"]:
            m.hide()
            m.setData(x=[], y=[])
        items = prep["map"][2]
        for j in prep["xy"]:
            last = self._drawn.get(id(items[j]))
            if last is not None and len(last[1]) == len(items[j].data):
                items[j].set_xy_in_place(last[1])
            else:
                self._drawn.pop(id(items[j]), None)   # the next redraw rebuilds it

    def _mover(self, i: int, role: int, k: int) -> "_PassiveScatter":
        while len(self._mover_items) <= i:
            item = _PassiveScatter(pxMode=True)
            item.setZValue(14)
            item.hide()                       # shown when its drag begins
            self.view_box.addItem(item)
            self._mover_items.append(item)
        item = self._mover_items[i]
        symbol, size = ("d", _DIAMOND_SIZE) if role == VALIDATION else ("o", _POINT_SIZE)
        item.setSymbol(symbol, update=False)
        item.setSize(size, update=False)
        if role == TEST:
            item.setBrush(self._ring_fill, update=False)
            item.setPen(self._class_ring_pens[k], update=False)
        else:
            item.setBrush(self._class_brushes[k], update=False)
            item.setPen(self._outline_pen, update=False)
        item.setPos(0.0, 0.0)
        return item

    def _item_key(self, item) -> tuple[int, int]:
        for key, it in self.point_items.items():
            if it is item:
                return key
        raise KeyError(item)

    def _item_indices(self, ps, role: int, k: int) -> np.ndarray:
        if self._regression:
            return np.flatnonzero(ps.role == role) if k == 0 else np.zeros(0, np.intp)
        cls = np.clip(np.rint(ps.target), 0, MAX_CLASSES - 1).astype(np.intp)
        return np.flatnonzero((ps.role == role) & (cls == k))

    def _style_stroke_item(self) -> None:
        role, k = self._new_role, self._current_class
        if self._regression:
            n = len(self._value_brushes)
            style = (n - 1) if self._target_for_class(k) > 0 else 0
            brush, ring = self._value_brushes[style], self._value_ring_pens[style]
        else:
            brush, ring = self._class_brushes[k], self._class_ring_pens[k]
        symbol, size = ("d", _DIAMOND_SIZE) if role == VALIDATION else ("o", _POINT_SIZE)
        self.stroke_item.setSymbol(symbol, update=False)
        self.stroke_item.setSize(size, update=False)
        if role == TEST:
            self.stroke_item.setBrush(self._ring_fill, update=False)
            self.stroke_item.setPen(ring, update=False)
        else:
            self.stroke_item.setBrush(brush, update=False)
            self.stroke_item.setPen(self._outline_pen, update=False)
        self.stroke_item.setData(x=[], y=[])

    def _live_removed(self, hit: np.ndarray) -> None:
        """Hide the points ``hit`` (indices into the current points) in their items, in place."""
        live = self._live
        orig = live["alive"][hit]
        live["alive"] = np.delete(live["alive"], hit)
        where = live["item_of"][orig]
        for j in np.unique(where):
            if j < 0:
                continue
            item = live["items"][j]
            xy = live["xy"].get(j)
            if xy is None:
                xy = live["xy"][j] = self._drawn[id(item)][1].copy()
            rows = live["pos_of"][orig[where == j]]
            xy[rows] = np.nan
            item.hide_rows(rows)

    def _live_added(self, xy: np.ndarray) -> None:
        live = self._live
        live["added"] = np.vstack([live["added"], xy])
        self.stroke_item.setData(x=live["added"][:, 0], y=live["added"][:, 1])

    def _end_live_stroke(self, settle_later: bool = False) -> None:
        """End the live drawing of a gesture: the items show the model's points again. A big drag
        that ended normally (``settle_later``) hands its items back over the next event-loop turns,
        one item per turn, so no single turn repaints all 100,000 points."""
        live, self._live = self._live, None
        if live is None:
            return
        if live["kind"] == "move":
            # the items hold NaN rows for the moved points: record that, so that the redraw rewrites
            # them even when the model is back at the positions from before the drag (an undo)
            for j, xy in live["xy"].items():
                last = self._drawn.get(id(live["items"][j]))
                if last is not None:
                    self._drawn[id(live["items"][j])] = (last[0], xy)
        if settle_later and live["kind"] == "move" and live.get("pairs"):
            self._settle = {"pairs": list(live["pairs"])}
            self._settle_timer.start(0)
            return
        if live["kind"] != "move":
            # Items hold NaN rows for erased points: drop those rows from the item's arrays. What is
            # drawn stays the same, so the item keeps its cached pixmap (no repaint of 100,000 points);
            # the redraw below checks every item against the points and rebuilds any that differ.
            for j, xy in live["xy"].items():
                item = live["items"][j]
                last = self._drawn.get(id(item))
                keep = ~np.isnan(xy[:, 0])
                if last is None or len(item.data) != len(xy) or not keep.any():
                    self._drawn.pop(id(item), None)
                    continue
                item.keep_rows(keep)
                self._drawn[id(item)] = (last[0], xy[keep])
        # a move keeps every item's point count, so the redraw below writes the final positions in place
        for item in live.get("movers", ()):
            item.setPos(0.0, 0.0)
        for item in self._mover_items:
            item.setData(x=[], y=[])
            item.hide()
        self.stroke_item.setData(x=[], y=[])
        self._redraw_points()
        self._redraw_selection()

    def _settle_step(self) -> None:
        """Hand one moved item back from its mover (the model already holds the final positions)."""
        st = self._settle
        if st is None:
            return
        if st["pairs"]:
            item, mover = st["pairs"].pop(0)
            ps = self._model.points
            role, k = self._item_key(item)
            if self._regression:
                self._settle_now()
                self._redraw_points()
                return
            self._set_item_points(item, role, ps.xy[self._item_indices(ps, role, k)], k)
            mover.setPos(0.0, 0.0)
            mover.setData(x=[], y=[])
            mover.hide()
            self._settle_timer.start(0)
            return
        st["keep_selection_offset"] = True
        # The selection overlay stays translated: its rows plus its offset are the moved positions,
        # bit for bit (the model computed them as the same sum), so redrawing it (68,000 squares can
        # take 50 ms) would change nothing. The next change of the selection draws it from zero again.
        item = self.selection_item
        last = self._drawn.get(id(item))
        if last is not None and len(last[1]) == len(item.data):
            self._drawn[id(item)] = (None, last[1] + [item.pos().x(), item.pos().y()])
        self._settle_now()
        self._redraw_points()

    def _settle_now(self) -> None:
        """Drop a pending settle: movers hidden, the selection back in place; the caller redraws."""
        st, self._settle = self._settle, None
        if st is None:
            return
        self._settle_timer.stop()
        for item in self._mover_items:
            item.setPos(0.0, 0.0)
            item.setData(x=[], y=[])
            item.hide()
        if not st.get("keep_selection_offset"):
            self.selection_item.setPos(0.0, 0.0)

    def settle(self) -> None:
        """Finish at once whatever drawing a gesture left for later (tests, screenshots)."""
        if self._settle is not None:
            self._settle_now()
            self._redraw_points()

    def _redraw_points(self) -> None:
        self._drop_prepared()
        self._settle_now()
        ps = self._model.points
        if self._regression:
            m = self._symmetric_level()
            n = len(self._value_brushes)
            style = np.clip(np.round((ps.target / m + 1.0) / 2.0 * (n - 1)), 0, n - 1).astype(np.intp)
            for (role, k), item in self.point_items.items():
                mask = ps.role == role if k == 0 else np.zeros(len(ps), bool)
                self._set_item_points(item, role, ps.xy[mask], style[mask])
        else:
            cls = np.clip(np.rint(ps.target), 0, MAX_CLASSES - 1).astype(np.intp)
            for (role, k), item in self.point_items.items():
                self._set_item_points(item, role, ps.xy[(ps.role == role) & (cls == k)], k)
        self._redraw_selection()
        self._redraw_halo()

    def _set_item_points(self, item, role: int, xy: np.ndarray, style) -> None:
        """Training points and validation diamonds are filled with a thin dark outline; test points
        are rings in the point's colour. ``style`` is the class index, or per-point ramp indices for
        regression. Items whose points did not change are left alone: pyqtgraph's setData costs a
        few microseconds per point, and most edits touch one class of one role."""
        key = (self._regression, np.asarray(style).tobytes())
        last = self._drawn.get(id(item))
        if last is not None and last[0] == key and np.array_equal(last[1], xy):
            return
        self._drawn[id(item)] = (key, xy.copy())
        if last is not None and last[0] == key and last[1].shape == xy.shape:
            item.set_xy_in_place(xy)          # moved points: same count and styles
            return
        n0 = len(last[1]) if last is not None else 0
        if (not self._regression and last is not None and last[0] == key and 0 < n0 < len(xy)
                and len(item.data) == n0 and np.array_equal(xy[:n0], last[1])):
            item.append_xy(xy[n0:])           # added points (a brush stroke): same style, appended
            return
        if self._regression:
            brush, ring_pen = self._value_brushes[style], self._value_ring_pens[style]
        else:
            brush, ring_pen = self._class_brushes[style], self._class_ring_pens[style]
        if role == TEST:
            item.setData(x=xy[:, 0], y=xy[:, 1], brush=self._ring_fill, pen=ring_pen)
        else:
            item.setData(x=xy[:, 0], y=xy[:, 1], brush=brush, pen=self._outline_pen)

    def misclassified_mask(self) -> np.ndarray:
        """Points whose prediction differs from their label (all False when unknown or stale; a point
        whose prediction is not a number, e.g. of a diverged network, is not counted as a mistake)."""
        ps = self._model.points
        pred = self._predictions
        if self._regression or pred is None or len(pred) != len(ps):
            return np.zeros(len(ps), bool)
        return np.isfinite(pred) & (np.rint(pred) != np.rint(ps.target))

    def _redraw_halo(self) -> None:
        if not self._highlight_misclassified:
            self._set_plain_points(self.halo_item, np.zeros((0, 2)))
            return
        self._set_plain_points(self.halo_item, self._model.points.xy[self.misclassified_mask()])

    # -- selection ---------------------------------------------------------------------------------
    @property
    def selected_indices(self) -> np.ndarray:
        return self._selection.copy()

    def _set_selection(self, indices) -> None:
        idx = np.unique(np.asarray(indices, dtype=np.intp))
        idx = idx[(idx >= 0) & (idx < len(self._model.points))]
        changed = not np.array_equal(idx, self._selection)
        self._selection = idx
        self._redraw_selection()
        if changed:
            self.selection_changed.emit(len(idx))

    def _redraw_selection(self) -> None:
        if self._settle is not None:
            self.settle()                      # redraws the selection too, back in place
            return
        sel = self._selection[self._selection < len(self._model.points)]
        self._set_plain_points(self.selection_item, self._model.points.xy[sel])

    def _set_plain_points(self, item, xy: np.ndarray) -> None:
        """setData for a single-style overlay, skipped when its points did not change."""
        last = self._drawn.get(id(item))
        if last is not None and np.array_equal(last[1], xy):
            return
        self._drawn[id(item)] = (None, xy.copy())
        if item.pos().x() != 0.0 or item.pos().y() != 0.0:
            item.setPos(0.0, 0.0)             # a drag left it translated (see _settle_step)
        if last is not None and last[1].shape == xy.shape:
            item.set_xy_in_place(xy)
            return
        item.setData(x=xy[:, 0], y=xy[:, 1])

    def select_all(self) -> None:
        self._set_selection(np.arange(len(self._model.points)))

    def clear_selection(self) -> None:
        self._set_selection(np.zeros(0, np.intp))

    def delete_selected(self) -> None:
        sel = self._selection
        if len(sel):
            self._set_selection(np.zeros(0, np.intp))
            self._model.remove(sel, text=f"Delete {len(sel)} selected point{'s' if len(sel) != 1 else ''}")

    def relabel_selected(self, k: int) -> None:
        if not isinstance(k, (int, np.integer)) or not 0 <= k < MAX_CLASSES:
            raise ConfigError("class", f"expected a class index from 0 to {MAX_CLASSES - 1}, got {k!r}")
        if len(self._selection):
            self._model.relabel(self._selection, self._target_for_class(int(k)),
                                text=f"Relabel selection as {CLASS_NAMES[k]}")

    def set_selected_role(self, role: int) -> None:
        if role not in (TRAIN, TEST, VALIDATION):
            raise ConfigError("role", f"expected train (0), test (1) or validation (2), got {role!r}")
        if len(self._selection):
            self._model.set_role(self._selection, role, text=f"Make selection {ROLE_NAMES[role]}")

    def selection_menu(self) -> QMenu:
        """The Select tool's context menu for the current selection (relabel, role, delete)."""
        menu = QMenu(self)
        n = len(self._selection)
        title = menu.addAction(f"{n} point{'s' if n != 1 else ''} selected")
        title.setEnabled(False)
        menu.addSeparator()
        for k in range(MAX_CLASSES):
            if self._regression:
                if k > 1:
                    break
                text = ("Set value to −1 (low)", "Set value to +1 (high)")[k]
            else:
                text = f"Relabel as {CLASS_NAMES[k]}"
            action = QAction(self._swatch(k), text, menu)
            action.setShortcut(QKeySequence(SELECTION_KEYS["relabel"][k]))
            action.setObjectName(f"selection.relabel.{k}")
            action.triggered.connect(lambda _c=False, k=k: self.relabel_selected(k))
            menu.addAction(action)
        menu.addSeparator()
        for role, key in ((TRAIN, "train"), (TEST, "test"), (VALIDATION, "validation")):
            action = menu.addAction(f"Move to {ROLE_NAMES[role]}")
            action.setShortcut(QKeySequence(SELECTION_KEYS[key]))
            action.setObjectName(f"selection.role.{key}")
            action.triggered.connect(lambda _c=False, r=role: self.set_selected_role(r))
        menu.addSeparator()
        action = menu.addAction("Delete")
        action.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        action.setObjectName("selection.delete")
        action.triggered.connect(self.delete_selected)
        # the shortcuts are shown as hints; the canvas's key handler does the work (no double firing)
        for a in menu.actions():
            a.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        return menu

    def show_selection_menu(self, global_pos: QPoint | None = None) -> QMenu | None:
        """Pop up the selection menu (non-blocking) at ``global_pos`` (default: the cursor)."""
        if not len(self._selection):
            return None
        menu = self.selection_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._menu = menu
        menu.popup(global_pos if global_pos is not None else self.cursor().pos())
        return menu

    @staticmethod
    def _swatch(k: int) -> QIcon:
        pix = QPixmap(12, 12)
        pix.fill(QColor(CLASS_COLORS[k]))
        return QIcon(pix)

    def _selection_key_action(self, event) -> Callable[[], None] | None:
        """What a key press does to the selection (None: not a selection key)."""
        key, mods = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        plain = mods == Qt.KeyboardModifier.NoModifier
        shift = mods == Qt.KeyboardModifier.ShiftModifier
        if plain and Qt.Key.Key_1 <= key <= Qt.Key.Key_4:
            k = int(key - Qt.Key.Key_1)
            if self._regression and k > 1:
                return None
            return lambda: self.relabel_selected(k)
        if key == Qt.Key.Key_T and plain:
            return lambda: self.set_selected_role(TRAIN)
        if key == Qt.Key.Key_T and shift:
            return lambda: self.set_selected_role(TEST)
        if key == Qt.Key.Key_V and shift:
            return lambda: self.set_selected_role(VALIDATION)
        if key == Qt.Key.Key_Menu or (key == Qt.Key.Key_F10 and shift):
            return lambda: self.show_selection_menu(self.plot_widget.mapToGlobal(self.plot_widget.rect().center()))
        return None

    # -- view --------------------------------------------------------------------------------------
    def fit_view(self) -> None:
        ps = self._model.points
        xmin, xmax, ymin, ymax = ps.bounds() if len(ps) else DEFAULT_VIEW
        cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
        hw, hh = max((xmax - xmin) / 2, 1.0), max((ymax - ymin) / 2, 1.0)
        self.view_box.setRange(xRange=(cx - hw, cx + hw), yRange=(cy - hh, cy + hh), padding=0.02)

    def data_to_widget(self, x: float, y: float) -> QPoint:
        """Viewport pixel position of a data point (for tests and overlays)."""
        scene = self.view_box.mapViewToScene(QPointF(x, y))
        return self.plot_widget.mapFromScene(scene)

    def _data_to_scene(self, xy: np.ndarray) -> np.ndarray:
        t = self.view_box.childGroup.sceneTransform()   # data → scene; only scale and shift
        return np.asarray(xy) * [t.m11(), t.m22()] + [t.m31(), t.m32()]

    def _point_at(self, scene_pos) -> int | None:
        """Index of the point drawn nearest ``scene_pos`` within a few pixels, else None."""
        xy = self._model.points.xy
        if len(xy) == 0:
            return None
        d = np.hypot(*(self._data_to_scene(xy) - [scene_pos.x(), scene_pos.y()]).T)
        i = int(np.argmin(d))
        return i if d[i] <= PICK_RADIUS_PX else None

    # -- mouse gestures ----------------------------------------------------------------------------
    def _target_for_class(self, k: int) -> float:
        if self._regression:
            return REGRESSION_TARGETS[min(k, 1)]
        return float(k)

    def _view_pos(self, scene_pos) -> np.ndarray:
        p = self.view_box.mapSceneToView(scene_pos)
        return np.array([p.x(), p.y()])

    def _handle_click(self, ev) -> bool:
        """A click without drag. Returns True if the current tool used it."""
        pos = self._view_pos(ev.scenePos())
        button, shift = ev.button(), bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        left = button == Qt.MouseButton.LeftButton
        if self._tool == "add" and (left or button == Qt.MouseButton.RightButton):
            other = (not left) or shift
            k = (1 if self._current_class == 0 else 0) if other else self._current_class
            self._model.add_points(pos, self._target_for_class(k), self._new_role,
                                   text=f"Add {CLASS_NAMES[k]} point")
            return True
        if self._tool == "select" and button == Qt.MouseButton.RightButton:
            hit = self._point_at(ev.scenePos())
            if hit is not None and hit not in self._selection:
                self._set_selection([hit])          # right-click on an unselected point: act on it
            if len(self._selection):
                self.show_selection_menu(ev.screenPos().toPoint())
            return True
        if not left:
            return False
        if self._tool == "brush":
            self._model.begin_stroke("Brush stroke")
            self._spray(pos)
            self._model.end_stroke()
        elif self._tool == "erase":
            self._model.begin_stroke("Erase points")
            self._erase(pos, pos)
            self._model.end_stroke()
        elif self._tool == "select":
            hit = self._point_at(ev.scenePos())
            if hit is None:
                if not shift:
                    self.clear_selection()
            elif shift:
                sel = self._selection
                self._set_selection(sel[sel != hit] if hit in sel else np.append(sel, hit))
            else:
                self._set_selection([hit])
        return True

    def _handle_drag(self, ev) -> None:
        pos = self._view_pos(ev.scenePos())
        if ev.isStart():
            self._start_drag(ev, self._view_pos(ev.buttonDownScenePos()))
        drag = self._drag
        if drag is not None:
            kind = drag["kind"]
            if kind == "move":
                shift = pos - drag["anchor"]
                live = self._live is not None and self._live["kind"] == "move"
                self._own_edit = live
                try:
                    self._model.update_move(drag["origin"] + shift)
                finally:
                    self._own_edit = False
                if live and self._live is not None:
                    for item in self._live["movers"]:
                        item.setPos(float(shift[0]), float(shift[1]))
            elif kind == "brush":
                if np.hypot(*(pos - drag["last"])) >= 0.5 * self._brush_radius:
                    self._spray(pos)
                    drag["last"] = pos
            elif kind == "erase":
                self._erase(drag["last"], pos)
                drag["last"] = pos
            elif kind == "rubber":
                a = drag["anchor"]
                self.rubber_band.setRect(QRectF(QPointF(*a), QPointF(*pos)).normalized())
                drag["last"] = pos
        self._update_brush_cursor(pos)
        if ev.isFinish():
            self._finish_drag()

    def _start_drag(self, ev, press: np.ndarray) -> None:
        self._finish_drag()
        tool = self._tool
        press_scene = ev.buttonDownScenePos()
        if tool in ("add", "select"):
            hit = self._point_at(press_scene)
            if hit is not None:
                if tool == "select" and hit in self._selection:
                    indices = self._selection.copy()
                else:
                    indices = np.array([hit])
                    if tool == "select":
                        self._set_selection(indices)
                self._model.begin_move(indices)
                self._drag = {"kind": "move", "anchor": press,
                              "origin": self._model.points.xy[indices].copy()}
                self._begin_live_move(indices)
            elif tool == "select":
                self._drag = {"kind": "rubber", "anchor": press, "last": press,
                              "additive": bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)}
                self.rubber_band.setRect(QRectF(QPointF(*press), QPointF(*press)))
                self.rubber_band.show()
        elif tool == "brush":
            self._model.begin_stroke("Brush stroke")
            self._begin_live_stroke("brush")
            self._spray(press)
            self._drag = {"kind": "brush", "last": press}
        elif tool == "erase":
            self._model.begin_stroke("Erase points")
            self._begin_live_stroke("erase")
            # no erase here: this same drag event erases along press -> cursor (see _handle_drag)
            self._drag = {"kind": "erase", "last": press}

    def _finish_drag(self) -> None:
        drag, self._drag = self._drag, None
        if drag is None:
            return
        kind = drag["kind"]
        if kind == "move":
            self._end_live_stroke(settle_later=True)
            self._model.end_move()
        elif kind in ("brush", "erase"):
            self._end_live_stroke()
            self._model.end_stroke()
        elif kind == "rubber":
            self.rubber_band.hide()
            (x0, y0), (x1, y1) = drag["anchor"], drag["last"]
            xy = self._model.points.xy
            inside = np.flatnonzero((xy[:, 0] >= min(x0, x1)) & (xy[:, 0] <= max(x0, x1))
                                    & (xy[:, 1] >= min(y0, y1)) & (xy[:, 1] <= max(y0, y1)))
            self._set_selection(np.union1d(self._selection, inside) if drag["additive"] else inside)

    def _spray(self, centre: np.ndarray) -> None:
        n = self._brush_density
        angle = self._rng.uniform(0.0, 2 * np.pi, n)
        radius = self._brush_radius * np.sqrt(self._rng.uniform(0.0, 1.0, n))
        xy = centre + np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
        live = self._live is not None and self._live["kind"] == "brush"
        self._own_edit = live
        try:
            self._model.add_points(xy, self._target_for_class(self._current_class), self._new_role,
                                   text="Brush stroke")
        finally:
            self._own_edit = False
        if live and self._live is not None:
            self._live_added(xy)

    def _erase(self, start: np.ndarray, end: np.ndarray) -> None:
        """Remove points within the brush radius of the segment the cursor swept."""
        xy = self._model.points.xy
        if len(xy) == 0:
            return
        r = self._brush_radius
        lo, hi = np.minimum(start, end) - r, np.maximum(start, end) + r
        near = np.flatnonzero((xy[:, 0] >= lo[0]) & (xy[:, 0] <= hi[0])
                              & (xy[:, 1] >= lo[1]) & (xy[:, 1] <= hi[1]))   # cheap box test first
        p = xy[near]
        seg = end - start
        length2 = float(seg @ seg)
        t = np.clip(((p - start) @ seg) / length2, 0.0, 1.0) if length2 > 0 else np.zeros(len(p))
        nearest = start + t[:, None] * seg
        hit = near[np.hypot(*(p - nearest).T) <= r]
        if len(hit):
            live = self._live is not None and self._live["kind"] == "erase"
            self._own_edit = live
            try:
                self._model.remove(hit, text="Erase points")
            finally:
                self._own_edit = False
            if live and self._live is not None:
                self._live_removed(hit)

    # -- hover, keys -------------------------------------------------------------------------------
    def _update_brush_cursor(self, pos: np.ndarray | None) -> None:
        if pos is None or self._tool not in ("brush", "erase"):
            self.brush_cursor.hide()
            return
        r = self._brush_radius
        self.brush_cursor.setRect(QRectF(pos[0] - r, pos[1] - r, 2 * r, 2 * r))
        self.brush_cursor.show()

    def _on_mouse_moved(self, scene_pos) -> None:
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            self._update_brush_cursor(None)
            return
        pos = self._view_pos(scene_pos)
        self._update_brush_cursor(pos)
        text = f"x={pos[0]:.2f}  y={pos[1]:.2f}"
        # no point lookup while a gesture is under way (a search of every point on each mouse move)
        hit = self._point_at(scene_pos) if self._drag is None else None
        if hit is not None:
            ps = self._model.points
            label = (f"value {ps.target[hit]:.3g}" if self._regression
                     else CLASS_NAMES[int(np.clip(np.rint(ps.target[hit]), 0, MAX_CLASSES - 1))])
            text += f"   point {hit}: {label}, {ROLE_NAMES[int(ps.role[hit])]}"
        self.status_message.emit(text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        etype = event.type()
        if etype in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            key = event.key()
            action = self._selection_key_action(event) if len(self._selection) and self._drag is None else None
            if action is not None:
                event.accept()              # claim it from window shortcuts while points are selected
                if etype == QEvent.Type.KeyPress:
                    action()
                return True
            wanted = (key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and len(self._selection)) or (
                key == Qt.Key.Key_Escape and (len(self._selection) or self._drag is not None))
            if wanted:
                # claim the key from window shortcuts while there is something to delete or clear
                event.accept()
                if etype == QEvent.Type.KeyPress:
                    if key == Qt.Key.Key_Escape:
                        self._cancel_rubber_band()
                        self.clear_selection()
                    else:
                        self.delete_selected()
                return True
        elif (etype == QEvent.Type.MouseButtonPress and watched is self.plot_widget.viewport()
              and event.button() == Qt.MouseButton.LeftButton):
            self._prepare_move(event.position().toPoint())
        elif (etype == QEvent.Type.MouseButtonRelease and watched is self.plot_widget.viewport()
              and self._drag is None):
            self._drop_prepared()             # a click: the press's preparation is not needed
        elif etype == QEvent.Type.Leave and watched is self.plot_widget.viewport():
            self._update_brush_cursor(None)
        return super().eventFilter(watched, event)

    def _cancel_rubber_band(self) -> None:
        if self._drag is not None and self._drag["kind"] == "rubber":
            self._drag = None
            self.rubber_band.hide()
