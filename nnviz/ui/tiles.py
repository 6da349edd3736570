"""Compare mode's small multiples: one read-only canvas tile per extra run, beside the main canvas.

A :class:`BoundaryTile` is a :class:`~nnviz.ui.canvas.PointCanvas` that only shows: the same boundary image,
lookup table, contour and point styles as the main canvas (it *is* one, with editing, hovering and its own
panning switched off), following the main canvas's view. It redraws its points once per announced edit (not
per mouse move of a gesture), after the main canvas and one tile per event-loop turn, so that at 100,000
points four runs never block the window for all their redraws at once. A :class:`TileGrid` lays out the main canvas and the tiles (1 x 2 for two
runs, 2 x 2 for three or four) with a caption above each naming the run in its colour.
"""
from __future__ import annotations

from html import escape

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from .canvas import PointCanvas
from .points_model import PointsModel

MAX_TILES = 3
CAPTION_TEXT_COLOUR = "#505050"


class BoundaryTile(PointCanvas):
    """A read-only canvas: boundary and points of one run, no editing, the view set by :meth:`link_view`."""

    def __init__(self, points_model: PointsModel, parent: QWidget | None = None):
        super().__init__(points_model, parent)
        # a gesture's steps redraw the main canvas live; a tile redraws once per announced change, on an
        # event-loop turn of its own (see _Staggered)
        points_model.edited.disconnect(self._on_points_changed)
        points_model.changed.connect(self._points_changed_later)
        self.view_box.setMouseEnabled(x=False, y=False)
        self.plot_widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.plot_widget.setCursor(Qt.CursorShape.ArrowCursor)
        self.setMinimumSize(80, 80)
        self._followed = None
        self._followed_axes = None
        self._follow_signals: list = []
        self._caption = ("", "#000000", "")

    # -- points: redrawn after the main canvas, one tile per event-loop turn ------------------------------
    def _points_changed_later(self, _points=None) -> None:
        _staggered().add(self)

    def redraw_points_now(self) -> None:
        """Draw the points as they are now (a redraw still waiting is done)."""
        _staggered().discard(self)
        if self._last_points is not self.model.points:
            self._on_points_changed(self.model.points)

    @property
    def points_pending(self) -> bool:
        """Points changed and this tile has not drawn them yet."""
        return self._last_points is not self.model.points

    # -- read-only: every gesture of the main canvas is switched off ---------------------------------------
    def _handle_click(self, ev) -> bool:
        return False

    def _handle_drag(self, ev) -> None:
        ev.ignore()

    def _on_mouse_moved(self, scene_pos) -> None:
        pass

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        return False

    # -- the view ----------------------------------------------------------------------------------------
    def link_view(self, view_box) -> None:
        """Show what ``view_box`` (the main canvas's) shows, now and whenever it pans or zooms; the tile's axes
        take the main canvas's axis sizes, so that a tile of the same size shows exactly the same range."""
        for signal in self._follow_signals:
            try:
                signal.disconnect(self._follow)
            except (RuntimeError, TypeError):
                pass
        self._followed = view_box
        self._follow_signals = []
        if view_box is None:
            return
        # its range changes; or the tile's view box is resized (a new axis size): aspect-locked, it would
        # widen one side of the range on its own
        self._follow_signals += [view_box.sigRangeChanged, self.view_box.sigResized]
        plot = view_box.parentItem()
        self._followed_axes = None
        if hasattr(plot, "getAxis"):
            self._followed_axes = (plot.getAxis("left"), plot.getAxis("bottom"))
            self._follow_signals += [axis.geometryChanged for axis in self._followed_axes]
        for signal in self._follow_signals:
            signal.connect(self._follow)
        self._follow()

    def _follow(self, *_args) -> None:
        if self._followed is None:
            return
        try:
            if self._followed_axes is not None:
                left, bottom = self._followed_axes
                plot = self.plot_widget.getPlotItem()
                plot.getAxis("left").setWidth(left.width())
                plot.getAxis("bottom").setHeight(bottom.height())
            (x0, x1), (y0, y1) = self._followed.viewRange()
        except RuntimeError:     # the main canvas is gone (the window closes)
            self._followed = self._followed_axes = None
            return
        self.view_box.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self._followed is not None:
            self._follow()

    # -- caption -----------------------------------------------------------------------------------------
    def set_caption(self, label: str, colour: str, text: str = "") -> None:
        """What the grid shows above this tile: the run's label in its colour, and a line of text."""
        self._caption = (label, colour, text)
        grid = self._grid()
        if grid is not None:
            grid.set_caption(grid.index_of(self), label, colour, text)

    @property
    def caption(self) -> tuple[str, str, str]:
        return self._caption

    def _grid(self) -> "TileGrid | None":
        w = self.parentWidget()
        while w is not None and not isinstance(w, TileGrid):
            w = w.parentWidget()
        return w

    def shutdown(self) -> None:
        """Stop following the points and the view (before the tile is deleted)."""
        self.link_view(None)
        _staggered().discard(self)
        try:
            self.model.changed.disconnect(self._points_changed_later)
        except (RuntimeError, TypeError):
            pass


class _Staggered(QObject):
    """Tiles waiting to redraw their points, one per event-loop turn: at 100,000 points a tile's redraw
    after an edit takes as long as the main canvas's (~0.1 s), and four runs must not block the window for
    all of them in one go. The main canvas shows the edit at once; each tile follows a turn later."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._queue: list[BoundaryTile] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._next)

    def add(self, tile: BoundaryTile) -> None:
        if tile not in self._queue:
            self._queue.append(tile)
        if not self._timer.isActive():
            self._timer.start()

    def discard(self, tile: BoundaryTile) -> None:
        if tile in self._queue:
            self._queue.remove(tile)

    def _next(self) -> None:
        if not self._queue:
            return
        tile = self._queue.pop(0)
        try:
            tile.redraw_points_now()
        except RuntimeError:    # deleted meanwhile
            pass
        if self._queue:
            self._timer.start()  # a timer started while timers fire waits for the next turn


_STAGGERED: _Staggered | None = None


def _staggered() -> _Staggered:
    global _STAGGERED
    if _STAGGERED is None:
        _STAGGERED = _Staggered(QApplication.instance())
    return _STAGGERED


def caption_html(label: str, colour: str, text: str = "") -> str:
    """A run's caption as rich text: a swatch and the label in the run's colour, then the text in grey."""
    parts = [f'<span style="color:{escape(colour)}">&#9632;</span>&nbsp;'
             f'<b style="color:{escape(colour)}">{escape(label)}</b>']
    if text:
        parts.append(f'&nbsp;&nbsp;<span style="color:{CAPTION_TEXT_COLOUR}">{escape(text)}</span>')
    return "".join(parts)


class _Caption(QWidget):
    """The run's label in its colour (always whole), then its text in grey, cut short with "…" if the cell is
    too narrow (the whole caption is the tooltip)."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 0)
        layout.setSpacing(8)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.text = QLabel(self)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setStyleSheet(f"color: {CAPTION_TEXT_COLOUR}")
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.text.setMinimumWidth(0)
        layout.addWidget(self.label)
        layout.addWidget(self.text, 1)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.full_text = ""

    def show_caption(self, label: str, colour: str, text: str) -> None:
        self.label.setText(caption_html(label, colour))
        self.full_text = text
        self._elide()
        self.setToolTip(f"{label}: {text}" if text else label)

    def _elide(self) -> None:
        width = max(0, self.text.width())
        self.text.setText(self.text.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, width))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()


class _Cell(QWidget):
    """A caption above a canvas."""

    def __init__(self, widget: QWidget, parent: QWidget):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        self.caption = _Caption(self)
        layout.addWidget(self.caption)
        layout.addWidget(widget, 1)
        self.widget = widget


class TileGrid(QWidget):
    """The main canvas and one :class:`BoundaryTile` per extra run, a caption above each.

    One run: the main canvas alone, no caption (the window as it always was). Two runs: side by side.
    Three or four: two rows of two.
    """

    def __init__(self, main_widget: PointCanvas, parent: QWidget | None = None):
        super().__init__(parent)
        self.main_widget = main_widget
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._cells: list[_Cell] = [_Cell(main_widget, self)]
        self._tiles: list[BoundaryTile] = []
        self._discretize = False
        self._mistakes = False
        self.labels: list[str] = [""]
        self.colours: list[str] = ["#000000"]
        self._arrange()

    # -- runs --------------------------------------------------------------------------------------------
    @property
    def count(self) -> int:
        """Runs shown: the main canvas and the tiles."""
        return 1 + len(self._tiles)

    def tile(self, i: int) -> BoundaryTile:
        """The tile of run ``i`` (1 for the second run, ...); run 0 is the main canvas."""
        if not 1 <= i <= len(self._tiles):
            raise IndexError(f"tile {i}: there are tiles 1 to {len(self._tiles)}")
        return self._tiles[i - 1]

    def widget(self, i: int) -> PointCanvas:
        """Run ``i``'s canvas: the main canvas for 0, else its tile."""
        return self.main_widget if i == 0 else self.tile(i)

    def index_of(self, tile: QWidget) -> int:
        return 0 if tile is self.main_widget else 1 + self._tiles.index(tile)

    def set_runs(self, labels: list[str], colours: list[str]) -> None:
        """Show ``len(labels)`` runs (1 to 4): tiles are added or removed; captions name each run in its
        colour (their text lines stay until :meth:`set_caption` changes them)."""
        n = max(1, min(1 + MAX_TILES, len(labels)))
        labels = (list(labels) + [""] * n)[:n]
        colours = (list(colours) + ["#000000"] * n)[:n]
        while len(self._tiles) > n - 1:
            tile = self._tiles.pop()
            cell = self._cells.pop()
            tile.shutdown()
            self._layout.removeWidget(cell)
            cell.hide()
            cell.deleteLater()
        while len(self._tiles) < n - 1:
            tile = BoundaryTile(self.main_widget.model, None)
            tile.set_discretize(self._discretize)
            tile.set_highlight_misclassified(self._mistakes)
            cell = _Cell(tile, self)
            self._tiles.append(tile)
            self._cells.append(cell)
            tile.link_view(self.main_widget.view_box)
        old = [c.caption.full_text for c in self._cells]
        self.labels, self.colours = labels, colours
        for i, cell in enumerate(self._cells):
            self._show_caption(i, labels[i], colours[i], old[i] if i < len(old) else "")
        self._arrange()

    def _arrange(self) -> None:
        n = len(self._cells)
        columns = 1 if n == 1 else 2
        for i, cell in enumerate(self._cells):
            self._layout.removeWidget(cell)
        for i, cell in enumerate(self._cells):
            self._layout.addWidget(cell, i // columns, i % columns)
            cell.caption.setVisible(n > 1)
            cell.show()
        rows = (n + columns - 1) // columns
        for r in range(2):
            self._layout.setRowStretch(r, 1 if r < rows else 0)
        for c in range(2):
            self._layout.setColumnStretch(c, 1 if c < columns else 0)

    # -- captions ----------------------------------------------------------------------------------------
    def set_caption(self, i: int, label: str, colour: str, text: str = "") -> None:
        """Run ``i``'s caption (0: the main canvas's)."""
        if not 0 <= i < len(self._cells):
            raise IndexError(f"caption {i}: there are runs 0 to {len(self._cells) - 1}")
        self.labels[i], self.colours[i] = label, colour
        self._show_caption(i, label, colour, text)

    def set_caption_text(self, i: int, text: str) -> None:
        """Only the text after run ``i``'s label (its epoch, its errors)."""
        self.set_caption(i, self.labels[i], self.colours[i], text)

    def caption_text(self, i: int) -> str:
        """Run ``i``'s caption as plain text (for tests): "label  text"."""
        return f"{self.labels[i]}  {self._cells[i].caption.full_text}".strip()

    def caption_widget(self, i: int) -> QWidget:
        """Run ``i``'s caption widget (for tests and screenshots)."""
        return self._cells[i].caption

    def _show_caption(self, i: int, label: str, colour: str, text: str) -> None:
        self._cells[i].caption.show_caption(label, colour, text)

    # -- what every tile shows alike ---------------------------------------------------------------------
    def show_snapshot(self, i: int, snap, points_version: int | None = None) -> None:
        """Draw run ``i``'s frame in its tile (i >= 1): its boundary, and its classes of the points if they
        are of ``points_version`` (None: whatever they are of)."""
        tile = self.tile(i)
        if snap.boundary is not None and snap.extent is not None:
            tile.set_boundary(snap.boundary, snap.extent, snap.mode)
        if points_version is None or snap.points_version == points_version:
            tile.set_predictions(snap.predictions)

    def set_discretize(self, on: bool) -> None:
        self._discretize = bool(on)
        for tile in self._tiles:
            tile.set_discretize(on)

    def set_highlight_misclassified(self, on: bool) -> None:
        self._mistakes = bool(on)
        for tile in self._tiles:
            tile.set_highlight_misclassified(on)

    def set_value_range(self, lo: float | None, hi: float | None = None) -> None:
        for tile in self._tiles:
            tile.set_value_range(lo, hi)

    def flush(self) -> None:
        """Draw every tile's points now (before a screenshot, in tests)."""
        for tile in self._tiles:
            tile.redraw_points_now()

    def clear_boundaries(self) -> None:
        for tile in self._tiles:
            tile.clear_boundary()
