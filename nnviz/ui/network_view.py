"""The network view: TensorFlow Playground's network diagram, fed by the session's NetworkFrame.

Inputs (every feature; the unused ones faded), hidden units and outputs are small heatmaps of what each
computes over the canvas's view, in the canvas's colours; edges are drawn with width and opacity by the
weight's size and colour by its sign (orange positive, blue negative, as the heatmaps); units the last
training step dropped (dropout) are greyed; a bar per weight layer shows its gradient size (mean |dW|, log
scale). Hovering a unit emits its heatmap (``unit_hovered``) for the canvas to show large; hovering an edge
shows its weight; clicking an input toggles that feature (through the config model: undoable). Networks
beyond 10 hidden layers or 32 units in a layer are summarised: each hidden layer is a strip with a cell per
unit (its mean activation over the view) and no single edges.

Painting: the diagram is rendered into a pixmap once per frame (or resize); a paint event draws that
pixmap and the hover highlight. The geometry and colour maths live in nnviz.network_layout (no Qt).
"""
from __future__ import annotations

import time

import numpy as np
from pyqtgraph import functions as fn
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from .. import network_layout as nl
from ..engine.config import FEATURES
from ..engine.units import input_maps, output_levels, symmetric_levels
from .config_model import ConfigModel
from .controls import FEATURE_NAMES
from .palette import CLASS_COLORS, diverging_lut

POSITIVE = QColor(CLASS_COLORS[1])   # orange: positive weights (and high values in the heatmaps)
NEGATIVE = QColor(CLASS_COLORS[0])   # blue: negative
GREY = QColor(150, 150, 150, 215)
HOVER = QColor("#202020")
TEXT = QColor("#303030")
FAINT_TEXT = QColor("#808080")
# the canvas's blue-white-orange ramp, with stronger ends: thumbnails carry no points to keep readable
THUMB_LUT = diverging_lut(strength=0.85)
AA_EDGES = 400                       # antialiased edges up to this many drawn
VIEW_SHARE = 0.15                    # while training plays, the view takes at most this share of the GUI's time


def _image(rgba: np.ndarray) -> QImage:
    """A QImage over a (h, w, 4) uint8 array (kept alive by the image's owner: we keep the array)."""
    h, w = rgba.shape[:2]
    img = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
    img.ndarray = rgba   # noqa: keep the buffer alive as long as the image
    return img


class NetworkView(QWidget):
    """``set_frame(snapshot)`` draws the snapshot's network frame (``snapshot.network``; None keeps the last)."""

    #: (title, values (r, r) float32 with row 0 at ymin, extent (xmin, xmax, ymin, ymax), levels (lo, hi))
    #: while a unit is hovered (again on each new frame), None when the pointer leaves it
    unit_hovered = Signal(object)
    #: a person-readable message (e.g. "Keep at least one input feature")
    message = Signal(str)

    def __init__(self, config_model: ConfigModel, parent: QWidget | None = None):
        super().__init__(parent)
        self._config_model = config_model
        self._frame = None
        self._snapshot = None
        self._generation = None
        self._gradients: np.ndarray | None = None   # per weight layer: mean |dW| of the last epoch with one
        self._drawn_gradients: np.ndarray | None = None
        self._built = 0.0
        self._keep: list = []                        # per hidden layer: bool (units,) or None
        self._large = False
        self._layout: nl.Layout | None = None
        self._images: dict = {}                      # (column, node) -> QImage
        self._unused_maps: tuple | None = None       # (key, maps) of the features the frame does not use
        self._strips: dict = {}                      # column -> QImage (count x 1)
        self._edges: list = []                       # per weight layer: (segments, weights, levels, index) drawn
        self._edge_image: QPixmap | None = None      # the edges, rendered once per network frame
        self._edges_stale = False                    # new weights not drawn yet (see _ensure_edges)
        # while training plays, snapshots wait (the latest wins) so that the view costs at most VIEW_SHARE
        self._pending = None                         # the latest snapshot not drawn yet
        self._pending_network = None                 # the latest network frame not drawn yet
        self._next_due = 0.0                         # perf_counter before which a playing snapshot waits
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.flush)
        self._scene: QPixmap | None = None
        self._hover: tuple | None = None             # ('node', c, i) | ('edge', layer, k) | ('bar', j) | ...
        self._hover_text = ""
        self._emitted = None                         # the hovered unit whose heatmap was emitted
        self.paint_seconds = 0.0                     # the last scene render (for benchmarks and tests)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)   # the scene covers every pixel
        self.setMinimumSize(160, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("")
        config_model.changed.connect(self._on_config_changed)

    # -- public -----------------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(420, 360)

    def set_large(self, large: bool) -> None:
        """Bigger thumbnails and text, for a central (large) view."""
        if bool(large) != self._large:
            self._large = bool(large)
            self._relayout()

    @property
    def frame(self):
        return self._frame

    def set_frame(self, snapshot) -> None:
        """Take a session snapshot: its network frame if it carries one, its dropout masks, its gradients.

        A still (not playing) is drawn at once; while training plays, a snapshot that comes sooner than the
        view's cost allows (VIEW_SHARE of the time) waits, and only the latest waiting one is drawn."""
        if snapshot is None:
            return
        if snapshot.generation != self._generation:
            self._generation = snapshot.generation
            self._gradients = None
            self._pending_network = None
        self._take_gradients(getattr(snapshot, "rows", None))   # every snapshot's rows (they are increments)
        if getattr(snapshot, "network", None) is not None:
            self._pending_network = snapshot.network
        self._pending = snapshot
        wait = self._next_due - time.perf_counter()
        if not getattr(snapshot, "playing", False) or wait <= 0:
            self.flush()
        elif not self._timer.isActive():
            self._timer.start(max(1, int(wait * 1000) + 1))

    def flush(self) -> None:
        """Draw the waiting snapshot now (if any)."""
        self._timer.stop()
        snapshot, frame = self._pending, self._pending_network
        if snapshot is None:
            return
        self._pending = self._pending_network = None
        started = time.perf_counter()
        self._snapshot = snapshot
        keep = list(getattr(snapshot, "dropout_keep", None) or [])
        same = (_same_masks(keep, self._keep) and frame is None
                and _same_values(self._drawn_gradients, self._gradients))
        self._keep = keep
        if same:
            return   # nothing drawn changed: no new render
        self._drawn_gradients = None if self._gradients is None else self._gradients.copy()
        if frame is not None:
            shape_changed = (self._frame is None or frame.sizes != self._frame.sizes
                             or frame.summarised != self._frame.summarised)
            self._frame = frame
            if shape_changed or self._layout is None:
                self._layout = None
                self._relayout()
            else:
                self._build_images()
                self._build_edges()
        self._scene = None
        self.update()
        if frame is not None:
            self._reemit_hover()
        self._built = time.perf_counter() - started   # the render's share is added when it is painted
        self._next_due = started + (self._built + self.paint_seconds) / VIEW_SHARE

    def clear(self) -> None:
        self._frame = self._snapshot = self._pending = self._pending_network = None
        self._timer.stop()
        self._layout = None
        self._images, self._strips, self._edges = {}, {}, []
        self._scene = None
        self._set_hover(None)
        self.update()

    def greyed_units(self) -> list[np.ndarray]:
        """Per hidden layer: which units are drawn greyed (dropped by the last training step)."""
        if self._frame is None:
            return []
        out = []
        for layer, n in enumerate(self._frame.sizes[1:-1]):
            mask = self._keep[layer] if layer < len(self._keep) else None
            if mask is None or len(mask) != n:
                out.append(np.zeros(n, bool))
            else:
                out.append(~np.asarray(mask, bool))
        return out

    def hover_text(self) -> str:
        """What the pointer is over (the tooltip's text): a unit, an edge's weight, a gradient bar."""
        return self._hover_text

    def node_center(self, kind: str, index: int, layer: int = 0) -> QPointF:
        """Widget position of a node: ``kind`` 'input' (index into FEATURES), 'hidden' (layer, unit) or
        'output' (index); for tests and tours."""
        lay = self._ensure_layout()
        col = {"input": 0, "output": len(lay.columns) - 1}.get(kind, layer + 1)
        x, y, w, h = lay.columns[col].rect(index)
        return QPointF(x + w / 2, y + h / 2)

    def edge_midpoint(self, layer: int, i: int, j: int) -> QPointF:
        """Middle of the edge from unit ``i`` of column ``layer`` to unit ``j`` of the next (detailed nets)."""
        segs, _, _, index = self._edges[layer]
        n_out = self._layout.columns[layer + 1].count
        k = np.searchsorted(index, self._edge_row(layer, i) * n_out + j)
        if k >= len(index) or index[k] != self._edge_row(layer, i) * n_out + j:
            raise ValueError("that edge is not drawn (only the strongest of a dense layer are)")
        x0, y0, x1, y1 = segs[k]
        return QPointF((x0 + x1) / 2, (y0 + y1) / 2)

    def render_scene(self) -> float:
        """Render the diagram now (as a paint would); returns the seconds it took."""
        self._scene = self._edge_image = None
        self._ensure_scene()
        return self.paint_seconds

    def waiting(self) -> bool:
        """True while a snapshot waits to be drawn (training plays and the view keeps to VIEW_SHARE)."""
        return self._pending is not None

    # -- data ---------------------------------------------------------------------------------------------
    def _take_gradients(self, rows) -> None:
        if not rows or "grad_mean_abs" not in rows:
            return
        g = np.asarray(rows["grad_mean_abs"], dtype=np.float64)
        if g.ndim != 2 or not len(g):
            return
        finite = np.isfinite(g).any(axis=1)
        if finite.any():
            self._gradients = g[np.flatnonzero(finite)[-1]].copy()

    def _active_features(self) -> list[str]:
        return list(self._config_model.value("architecture", "features"))

    def _on_config_changed(self, *_args) -> None:
        self._scene = None
        self.update()

    def _ensure_layout(self) -> nl.Layout:
        if self._layout is None:
            self._relayout()
        return self._layout

    def _relayout(self) -> None:
        self._edge_image = None   # positions move: the edges are drawn again at once
        f = self._frame
        if f is None:
            self._layout = nl.layout(len(FEATURES), [], 1, self.width(), self.height(), self._large)
        else:
            self._layout = nl.layout(len(FEATURES), list(f.sizes[1:-1]), f.sizes[-1], self.width(), self.height(),
                                     self._large, f.summarised)
        self._build_images()
        self._build_edges()
        self._scene = None
        self.update()

    def _build_images(self) -> None:
        """Heatmap images from the frame: per node column one atlas of its tiles (each padded by a copy of its
        border, so smooth scaling never mixes neighbours), per summarised layer one block image."""
        f, lay = self._frame, self._layout
        self._images, self._strips = {}, {}
        if f is None or lay is None:
            return
        # inputs: every feature; the unused ones computed here over the same grid
        unused = [name for name in FEATURES if name not in f.features]
        key = (tuple(unused), tuple(f.extent), f.resolution)
        if self._unused_maps is None or self._unused_maps[0] != key:
            self._unused_maps = (key, input_maps(unused, f.extent, f.resolution) if unused
                                 else np.zeros((0, 1, 1), np.float32))
        extra = self._unused_maps[1]
        tiles = [nl.colorize(m[None], symmetric_levels(m), THUMB_LUT)[0] for m in
                 (f.inputs[f.features.index(name)] if name in f.features else extra[unused.index(name)]
                  for name in FEATURES)]
        self._images[0] = _atlas(np.stack(tiles))
        for layer, maps in enumerate(f.hidden):
            c = layer + 1
            levels = f.levels[layer] if layer < len(f.levels) else symmetric_levels(maps)
            col = lay.columns[c]
            if col.strip:   # one block of every unit's tile, unit u at row u // grid, column u % grid
                g = maps.shape[1]
                block = np.zeros((col.rows * col.grid, g, g), np.float32)
                block[:len(maps)] = maps
                block[len(maps):] = (levels[0] + levels[1]) / 2   # unused tiles: the neutral colour
                rgba = nl.colorize(block, levels, THUMB_LUT)                  # (n, g, g, 4), each flipped
                rgba = rgba.reshape(col.rows, col.grid, g, g, 4).transpose(0, 2, 1, 3, 4)
                self._strips[c] = _image(np.ascontiguousarray(rgba.reshape(col.rows * g, col.grid * g, 4)))
            else:
                self._images[c] = _atlas(nl.colorize(maps, levels, THUMB_LUT))
        c = len(lay.columns) - 1
        if f.head == "softmax":
            self._images[c] = _atlas(np.stack([nl.class_ramp(f.output[k][None], k)[0] for k in range(len(f.output))]))
        else:
            self._images[c] = _atlas(nl.colorize(f.output, output_levels(f.head, f.output), THUMB_LUT))

    def _edge_row(self, layer: int, i: int) -> int:
        """Row of the drawn segments for source unit ``i`` (inputs: FEATURES index -> the frame's order)."""
        if layer == 0:
            return self._frame.features.index(FEATURES[i])
        return i

    def _build_edges(self) -> None:
        f, lay = self._frame, self._layout
        self._edges = []
        if f is None or lay is None or f.summarised or not f.weights:
            return
        wmax = max((float(np.abs(W).max()) for W, _ in f.weights if W.size), default=0.0)
        for layer, (W, _) in enumerate(f.weights):
            if layer == 0:   # inputs: rows in the frame's feature order, drawn from their FEATURES position
                sources = np.array([FEATURES.index(name) for name in f.features], np.intp)
                segs = nl.edge_segments(lay, 0, sources)
            else:
                segs = nl.edge_segments(lay, layer)
            w = W.ravel()
            index = nl.strongest(w)   # dense layers: the strongest edges only
            levels = nl.edge_levels(w[index], wmax)
            if len(index) > 64:       # and thinner, or they hide each other
                levels = (levels * 0.6).astype(np.intp)
            self._edges.append((segs[index], w[index], levels, index))
        self._edges_stale = True

    # -- hover ---------------------------------------------------------------------------------------------
    def _hit(self, x: float, y: float):
        lay = self._layout
        if lay is None or self._frame is None:
            return None
        node = lay.hit_node(x, y)
        if node is not None:
            return ("node",) + node
        # gradient bars
        for j, rect in enumerate(self._bar_rects()):
            bx, by, bw, bh = rect
            if bx - 2 <= x <= bx + bw + 2 and by - 2 <= y <= by + bh + 12:
                return ("bar", j)
        if self._frame.summarised:
            for j in range(len(lay.columns) - 1):
                a, b = lay.columns[j], lay.columns[j + 1]
                if a.x + a.size / 2 < x < b.x - b.size / 2 and nl.HEADER <= y <= lay.height - nl.FOOTER:
                    return ("band", j)
            return None
        best = None
        for layer, (segs, _, _, _) in enumerate(self._edges):
            a, b = lay.columns[layer], lay.columns[layer + 1]
            if not (a.x + a.size / 2 - 1 <= x <= b.x - b.size / 2 + 1):
                continue
            d = nl.segment_distance(x, y, segs)
            if len(d):
                k = int(np.argmin(d))
                if d[k] <= 4.0 and (best is None or d[k] < best[0]):
                    best = (float(d[k]), layer, k)
        return None if best is None else ("edge", best[1], best[2])

    def _node_title(self, c: int, i: int) -> str:
        lay, f = self._layout, self._frame
        col = lay.columns[c]
        if col.kind == "input":
            used = "" if FEATURES[i] in self._active_features() else " (not used: click to use it)"
            return f"Input {FEATURE_NAMES[FEATURES[i]]}{used}"
        if col.kind == "output":
            if f.head == "softmax":
                return f"Output: probability of class {i} ({_class_name(i)})"
            return "Output: probability of orange" if f.head == "binary" else "Output: predicted value"
        return f"Layer {col.layer + 1}, neuron {i + 1} ({f.activations[col.layer]})"

    def _node_payload(self, c: int, i: int):
        """(title, values, extent, levels) of a node, from the current frame."""
        f, col = self._frame, self._layout.columns[c]
        if col.kind == "input":
            name = FEATURES[i]
            values = (f.inputs[f.features.index(name)] if name in f.features
                      else input_maps([name], f.extent, f.resolution)[0])
            levels = symmetric_levels(values)
        elif col.kind == "output":
            values = f.output[i]
            levels = (0.0, 1.0) if f.head == "binary" else output_levels(f.head, f.output)
            if f.head == "softmax":
                levels = (-1.0, 1.0)   # 0 white, 1 the orange end: the canvas shows it with its own ramp
        else:
            values = f.hidden[col.layer][i]
            levels = f.levels[col.layer] if col.layer < len(f.levels) else symmetric_levels(values)
        return (self._node_title(c, i), np.asarray(values, np.float32), tuple(f.extent), tuple(levels))

    def _describe(self, hit) -> str:
        f = self._frame
        if hit is None or f is None:
            return ""
        kind = hit[0]
        if kind == "node":
            _, c, i = hit
            col = self._layout.columns[c]
            title = self._node_title(c, i)
            if col.kind == "hidden":
                lines = [title]
                if f.weights:
                    lines.append(f"bias {nl.format_value(float(f.weights[col.layer][1][i]))}")
                values = f.hidden[col.layer][i]
                lines.append(f"activation over the view: {nl.format_value(float(values.min()))} to "
                             f"{nl.format_value(float(values.max()))}")
                if self.greyed_units()[col.layer][i]:
                    lines.append("dropped in the last training step (dropout)")
                return "\n".join(lines)
            if col.kind == "input":
                return title + "\nClick to " + ("stop using" if FEATURES[i] in self._active_features()
                                                else "use") + " this input."
            return title
        if kind == "edge":
            _, layer, k = hit
            _, w, _, index = self._edges[layer]
            n_out = self._layout.columns[layer + 1].count
            i, j = divmod(int(index[k]), n_out)
            src = (FEATURE_NAMES[f.features[i]] if layer == 0 else f"neuron {layer}.{i + 1}")
            dst = "the output" if layer == len(f.weights) - 1 else f"neuron {layer + 1}.{j + 1}"
            if layer == len(f.weights) - 1 and f.sizes[-1] > 1:
                dst = f"output {j}"
            return f"Weight {src} \u2192 {dst}: {w[k]:+.4g}"
        if kind == "band":
            j = hit[1]
            mean_abs, max_abs, positive = f.weight_stats[j] if j < len(f.weight_stats) else (0, 0, 0)
            return (f"Weights {_layer_name(j, f)} \u2192 {_layer_name(j + 1, f)}: {f.sizes[j]} \u00d7 "
                    f"{f.sizes[j + 1]}\nmean |w| {nl.format_value(mean_abs)}, largest "
                    f"{nl.format_value(max_abs)}, {positive * 100:.0f} % positive")
        if kind == "bar":
            j = hit[1]
            g = self._gradients
            value = nl.format_value(float(g[j])) if g is not None and j < len(g) else "not known yet"
            return (f"Gradient of the weights {_layer_name(j, f)} \u2192 {_layer_name(j + 1, f)}: mean |dW| {value}"
                    "\n(log scale: each bar spans 6 powers of ten below the largest)")
        return ""

    def _set_hover(self, hit, global_pos=None) -> None:
        if hit != self._hover:
            self._hover = hit
            self.update()
        text = self._describe(hit)
        self._hover_text = text
        if global_pos is not None:
            if text:
                QToolTip.showText(global_pos, text, self)
            else:
                QToolTip.hideText()
        unit = hit[1:] if hit is not None and hit[0] == "node" else None
        if unit is None:
            if self._emitted is not None:
                self._emitted = None
                self.unit_hovered.emit(None)
        elif unit != self._emitted or global_pos is None:
            self._emitted = unit
            self.unit_hovered.emit(self._node_payload(*unit))

    def _reemit_hover(self) -> None:
        """A new frame while a unit is hovered: its new heatmap (the layout may have changed under it)."""
        if self._emitted is None:
            return
        c, i = self._emitted
        lay = self._layout
        if c < len(lay.columns) and i < lay.columns[c].count:
            self.unit_hovered.emit(self._node_payload(c, i))
            self._hover_text = self._describe(self._hover)
        else:
            self._set_hover(None)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        pos = event.position()
        self._set_hover(self._hit(pos.x(), pos.y()), event.globalPosition().toPoint())

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._set_hover(None)
        QToolTip.hideText()
        super().leaveEvent(event)

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._set_hover(None)   # a dock closed under the pointer: the canvas gets its boundary back
        super().hideEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        pos = event.position()
        hit = self._layout.hit_node(pos.x(), pos.y()) if self._layout is not None else None
        if hit is not None and hit[0] == 0:
            self.toggle_feature(FEATURES[hit[1]])
            event.accept()
            return
        super().mousePressEvent(event)

    def toggle_feature(self, name: str) -> bool:
        """Use or stop using an input feature, as the Model panel's buttons do (one undoable edit)."""
        chosen = self._active_features()
        new = [f for f in FEATURES if (f in chosen) != (f == name)]
        if not new:
            self.message.emit("Keep at least one input feature: the network needs something to look at.")
            return False
        return self._config_model.set_field("architecture", "features", new)

    # -- painting --------------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._relayout()
        super().resizeEvent(event)

    def _bar_rects(self) -> list[tuple[float, float, float, float]]:
        lay = self._layout
        if lay is None or self._frame is None:
            return []
        out = []
        y = lay.height - nl.FOOTER + 6
        for j in range(len(lay.columns) - 1):
            a, b = lay.columns[j], lay.columns[j + 1]
            width = max(6.0, 0.8 * (b.x - a.x))
            out.append(((a.x + b.x) / 2 - width / 2, y, width, 7.0))
        return out

    def _font(self, scale: float = 1.0, bold: bool = False) -> QFont:
        font = QFont(self.font())
        size = font.pointSizeF() if font.pointSizeF() > 0 else 9.0
        font.setPointSizeF(max(6.0, size * scale * (1.15 if self._large else 0.9)))
        font.setBold(bold)
        return font

    def _ensure_scene(self) -> QPixmap:
        size = self.size()
        ratio = self.devicePixelRatioF()
        if self._scene is not None and self._scene.size() == size * ratio:
            return self._scene
        started = time.perf_counter()
        pix = QPixmap(size * ratio)
        pix.setDevicePixelRatio(ratio)
        p = QPainter(pix)
        try:
            if self._frame is not None and not self._frame.summarised:
                p.drawPixmap(0, 0, self._ensure_edges())   # opaque: the background and the edges
            else:
                p.fillRect(QRectF(0, 0, size.width(), size.height()), self._background())
            self._paint_scene(p)
        finally:
            p.end()
        self._scene = pix
        self.paint_seconds = time.perf_counter() - started
        return pix

    def _paint_scene(self, p: QPainter) -> None:
        f = self._frame
        lay = self._ensure_layout()
        if f is None:
            p.setPen(FAINT_TEXT)
            p.setFont(self._font())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       "The network appears here once training has started\n(or after the next frame).")
            return
        self._paint_titles(p, lay, f)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if f.summarised:
            self._paint_bands(p, lay, f)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        active = set(self._active_features())
        greyed = self.greyed_units()
        for c, col in enumerate(lay.columns):
            if col.strip:
                self._paint_strip(p, c, col, greyed[col.layer])
                continue
            small = col.size < 10
            atlas = self._images.get(c)
            rects = [QRectF(*col.rect(i)) for i in range(col.count)]
            faded = [col.kind == "input" and FEATURES[i] not in active for i in range(col.count)]
            if atlas is not None:
                g = atlas.tile
                # scaled down (many small units), smoothing shows nothing and costs
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, col.size > 1.2 * g)
                for i, target in enumerate(rects):
                    if faded[i]:
                        p.setOpacity(0.3)
                    p.drawImage(target, atlas, QRectF(1, i * (g + 2) + 1, g, g))
                    if faded[i]:
                        p.setOpacity(1.0)
            if col.kind == "hidden":
                dropped = [r for r, d in zip(rects, greyed[col.layer]) if d]
                for target in dropped:
                    p.fillRect(target, GREY)
                if dropped and not small:
                    p.setPen(QPen(QColor(90, 90, 90), 1.0))
                    p.drawLines([QLineF(r.topLeft(), r.bottomRight()) for r in dropped])
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(120, 120, 120), 0.0 if small else 1.0))
            p.drawRects([r for r, fd in zip(rects, faded) if not fd])
            if any(faded):
                pen = QPen(QColor(170, 170, 170), 1.0)
                pen.setStyle(Qt.PenStyle.DashLine)
                p.setPen(pen)
                p.drawRects([r for r, fd in zip(rects, faded) if fd])
            if col.kind == "input":
                p.setFont(self._font(0.95))
                for i, name in enumerate(FEATURES):
                    x, y, w, h = col.rect(i)
                    p.setPen(TEXT if name in active else FAINT_TEXT)
                    p.drawText(QRectF(2, y + h / 2 - 9, x - 5, 18),
                               Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, FEATURE_NAMES[name])
        self._paint_bars(p, lay, f)

    def _paint_titles(self, p: QPainter, lay: nl.Layout, f) -> None:
        font = self._font(0.9, bold=True)
        p.setFont(font)
        p.setPen(TEXT)
        metrics = QFontMetricsF(font)
        n = len(lay.columns)
        for c, col in enumerate(lay.columns):
            if col.kind == "input":
                options = ["Inputs", "In"]
            elif col.kind == "output":
                options = ["Output", "Out"]
            else:
                options = [f"Layer {c} ({f.sizes[c]})", f"Layer {c}", f"L{c}", f"{c}"]
            text = next((t for t in options if metrics.horizontalAdvance(t) <= lay.gap - 6), options[-1])
            r = QRectF(col.x - lay.gap / 2, 1, lay.gap, nl.HEADER - 2)
            if c == 0:
                r = QRectF(0, 1, col.x + lay.gap / 2, nl.HEADER - 2)
            elif c == n - 1:
                r = QRectF(col.x - lay.gap / 2, 1, lay.width - (col.x - lay.gap / 2), nl.HEADER - 2)
            p.drawText(r, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, text)

    def _ensure_edges(self) -> QPixmap:
        """The edges (the dearest part), rendered once per network frame or layout."""
        size, ratio = self.size(), self.devicePixelRatioF()
        fresh = (self._edge_image is not None and self._edge_image.size() == size * ratio
                 and not self._edges_stale)
        if not fresh:
            pix = QPixmap(size * ratio)
            pix.setDevicePixelRatio(ratio)
            pix.fill(self._background())
            p = QPainter(pix)
            try:
                self._paint_edges(p)
            finally:
                p.end()
            self._edge_image = pix
            self._edges_stale = False
        return self._edge_image

    def _background(self) -> QColor:
        return self.palette().color(self.backgroundRole())

    def _paint_edges(self, p: QPainter) -> None:
        """Edges in opaque colours mixed with the background (translucent pens cost ~4x more to draw)."""
        pens = {}
        bg = np.array(self._background().getRgb()[:3], float)
        for sign, colour in ((0, NEGATIVE), (1, POSITIVE)):
            for level in range(nl.EDGE_LEVELS):
                width, alpha = nl.edge_style(level)
                mixed = bg + (np.array(colour.getRgb()[:3], float) - bg) * (alpha / 255)
                pen = QPen(QColor(*(int(round(v)) for v in mixed)), width)
                pen.setCapStyle(Qt.PenCapStyle.FlatCap)
                pens[(sign, level)] = pen
        # antialiased strokes cost ~3x more: only for nets with few edges drawn
        p.setRenderHint(QPainter.RenderHint.Antialiasing, sum(len(e[0]) for e in self._edges) <= AA_EDGES)
        if not self._edges:
            return
        segs = np.concatenate([e[0] for e in self._edges])
        positive = np.concatenate([e[1] for e in self._edges]) > 0
        levels = np.concatenate([e[2] for e in self._edges])
        # one path per pen, faint ones first so the strong ones are drawn on top
        for level in range(nl.EDGE_LEVELS):
            for sign in (0, 1):
                sel = (levels == level) & (positive if sign else ~positive)
                if not sel.any():
                    continue
                p.setPen(pens[(sign, level)])
                part = segs[sel]
                p.drawPath(fn.arrayToQPath(part[:, [0, 2]].ravel(), part[:, [1, 3]].ravel(), connect="pairs"))

    def _paint_bands(self, p: QPainter, lay: nl.Layout, f) -> None:
        """Summarised: a grey band per weight layer, darker for larger mean |w|, labelled with it."""
        stats = f.weight_stats
        top = max((st[0] for st in stats), default=0.0) or 1.0
        font = self._font(0.8)
        p.setFont(font)
        metrics = QFontMetricsF(font)
        for j in range(len(lay.columns) - 1):
            mean_abs = stats[j][0] if j < len(stats) else 0.0
            a, b = lay.columns[j], lay.columns[j + 1]
            ax, ay, aw, ah = a.bounds()
            bx, by, bw, bh = b.bounds()
            # opaque (mixed with the background: translucent polygons cost several times more)
            bg = np.array(self._background().getRgb()[:3], float)
            mix = bg + (110.0 - bg) * (25 + 90 * min(1.0, mean_abs / top)) / 255
            c = QColor(*(int(round(v)) for v in mix))
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(c)
            p.drawPolygon(QPolygonF([QPointF(ax + aw, ay), QPointF(bx, by), QPointF(bx, by + bh),
                                     QPointF(ax + aw, ay + ah)]))
            p.setPen(TEXT)
            mid = (ax + aw + bx) / 2
            if metrics.horizontalAdvance("mean |w|") > bx - (ax + aw) - 2:
                continue   # no room: the value shows on hover
            p.drawText(QRectF(mid - 40, nl.HEADER + 2, 80, 28), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                       f"mean |w|\n{nl.format_value(mean_abs)}")

    def _paint_strip(self, p: QPainter, c: int, col: nl.Column, greyed: np.ndarray) -> None:
        img = self._strips.get(c)
        x, y, w, h = col.bounds()
        target = QRectF(x, y, w, h)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        if img is not None:
            p.drawImage(target, img)
        for i in np.flatnonzero(greyed):
            p.fillRect(QRectF(*col.rect(int(i))), GREY)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        p.setPen(QPen(QColor(120, 120, 120), 1.0))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(target)

    def _paint_bars(self, p: QPainter, lay: nl.Layout, f) -> None:
        g = self._gradients
        rects = self._bar_rects()
        fractions, _ = nl.gradient_fractions(g if g is not None and len(g) == len(rects) else np.full(len(rects), np.nan))
        font = self._font(0.8)
        p.setFont(font)
        metrics = QFontMetricsF(font)
        for j, (x, y, w, h) in enumerate(rects):
            p.fillRect(QRectF(x, y, w, h), QColor(228, 228, 228))
            if fractions[j] > 0:
                p.fillRect(QRectF(x, y, w * fractions[j], h), QColor("#555555"))
            p.setPen(FAINT_TEXT)
            label = nl.format_value(float(g[j])) if g is not None and j < len(g) else ""
            if metrics.horizontalAdvance(label) > min(w + 8, lay.gap - 4):
                continue   # no room: the value shows on hover
            p.drawText(QRectF(x - 10, y + h, w + 20, 14), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                       label)
        if rects:
            p.setPen(FAINT_TEXT)
            x, y, w, h = rects[0]
            p.drawText(QRectF(2, y - 3, max(10.0, x - 4), h + 6),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "|dW|")

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        try:
            p.drawPixmap(0, 0, self._ensure_scene())   # opaque: a plain copy
            self._paint_hover(p)
        finally:
            p.end()

    def _paint_hover(self, p: QPainter) -> None:
        hit, lay = self._hover, self._layout
        if hit is None or lay is None or self._frame is None:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pen = QPen(HOVER, 2.0)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        if hit[0] == "node":
            x, y, w, h = lay.columns[hit[1]].rect(hit[2])
            p.drawRect(QRectF(x - 1.5, y - 1.5, w + 3, h + 3))
        elif hit[0] == "edge":
            x0, y0, x1, y1 = self._edges[hit[1]][0][hit[2]]
            pen.setWidthF(3.0)
            p.setPen(pen)
            p.drawLine(QPointF(x0, y0), QPointF(x1, y1))
        elif hit[0] == "bar":
            x, y, w, h = self._bar_rects()[hit[1]]
            p.drawRect(QRectF(x - 1, y - 1, w + 2, h + 2))


def _atlas(rgba: np.ndarray) -> QImage:
    """(n, g, g, 4) tiles -> one QImage of n tiles stacked, each padded by a copy of its border (tile i's
    pixels at x 1..g, y i*(g+2)+1 ..): a source rectangle then scales smoothly without its neighbours."""
    n, g = rgba.shape[0], rgba.shape[1]
    padded = np.empty((n, g + 2, g + 2, 4), np.uint8)
    padded[:, 1:-1, 1:-1] = rgba
    padded[:, 0, 1:-1], padded[:, -1, 1:-1] = rgba[:, 0], rgba[:, -1]
    padded[:, :, 0], padded[:, :, -1] = padded[:, :, 1], padded[:, :, -2]
    img = _image(padded.reshape(n * (g + 2), g + 2, 4))
    img.tile = g
    return img


def _same_masks(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if (x is None) != (y is None):
            return False
        if x is not None and (x.shape != y.shape or not np.array_equal(x, y)):
            return False
    return True


def _same_values(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def _class_name(k: int) -> str:
    from .palette import CLASS_NAMES
    return CLASS_NAMES[k] if k < len(CLASS_NAMES) else str(k)


def _layer_name(column: int, f) -> str:
    if column == 0:
        return "inputs"
    if column == len(f.sizes) - 1:
        return "output"
    return f"layer {column}"
