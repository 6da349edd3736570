"""The editable point set behind the canvas, with undo/redo.

Every edit replaces the immutable :class:`PointSet` with a new one and pushes a command that keeps
both snapshots, so undo and redo restore exactly what was there. Continuous gestures (dragging
points, brush or erase strokes) apply their edits live and push a single command when they end, so
one undo reverts the whole gesture.

Two signals: ``edited`` fires on every change, including each step of a gesture (the canvas draws
from it); ``changed`` fires on every change too, except that inside a gesture it fires at most
:data:`GESTURE_EMIT_HZ` times a second, and always once more with the final state when the gesture
ends. Listeners that do costly work per change (the window sends the whole point set to the
training process) stay off the mouse's path that way.
"""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..data.points import PointSet
from ..errors import DataError


class _SnapshotCommand(QUndoCommand):
    """Swaps the model between two point sets."""

    def __init__(self, model: "PointsModel", before: PointSet, after: PointSet, text: str):
        super().__init__(text)
        self._model, self._before, self._after = model, before, after

    def redo(self):
        self._model._apply(self._after)

    def undo(self):
        self._model._apply(self._before)


GESTURE_EMIT_HZ = 20   # most `changed` signals per second while a gesture is under way


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class PointsModel(QObject):
    """Holds the current point set and the undo stack of edits to it."""

    changed = Signal(object)   # the new PointSet, after every edit, undo and redo (rate-limited in gestures)
    edited = Signal(object)    # the new PointSet after every change, gesture steps included, at once

    def __init__(self, points: PointSet | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._points = points if points is not None else PointSet.empty()
        self.undo_stack = QUndoStack(self)
        # An open gesture: (kind, state before it, text, moved indices or None).
        self._gesture: tuple[str, PointSet, str, np.ndarray | None] | None = None
        self._pushing = False
        self._emitted_at = -1e9          # monotonic time of the last `changed` inside a gesture
        self._pending = False            # a gesture step not yet announced by `changed`
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self._flush)
        self.undo_stack.indexChanged.connect(self._on_stack_index_changed)

    # -- state -------------------------------------------------------------------------------------
    @property
    def points(self) -> PointSet:
        return self._points

    def _apply(self, points: PointSet, gesture_step: bool = False) -> None:
        if points is self._points:
            return
        self._points = points
        self.edited.emit(points)
        if gesture_step:
            now = time.monotonic()
            wait = self._emitted_at + 1.0 / GESTURE_EMIT_HZ - now
            if wait > 0:
                self._pending = True
                if not self._flush_timer.isActive():
                    self._flush_timer.start(max(1, int(wait * 1000) + 1))
                return
            self._emitted_at = now
        self._pending = False
        self._flush_timer.stop()
        self.changed.emit(points)

    def _flush(self) -> None:
        """Announce the latest state if a gesture step is still unannounced."""
        self._flush_timer.stop()
        if self._pending:
            self._pending = False
            self._emitted_at = time.monotonic()
            self.changed.emit(self._points)

    def _commit(self, after: PointSet, text: str) -> None:
        """Record an edit: live inside a gesture, otherwise as its own undo step."""
        if after == self._points:
            return
        if self._gesture is not None:
            self._apply(after, gesture_step=True)
            return
        self._push(self._points, after, text)

    def _push(self, before: PointSet, after: PointSet, text: str) -> None:
        self._pushing = True
        try:
            self.undo_stack.push(_SnapshotCommand(self, before, after, text))
        finally:
            self._pushing = False

    def _on_stack_index_changed(self, _index: int) -> None:
        # An undo/redo in the middle of a gesture overwrote its live edits: the gesture is void.
        if not self._pushing:
            self._gesture = None

    def _indices(self, indices) -> np.ndarray:
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self._points),):
                raise DataError(f"indices: a mask must have one entry per point ({len(self._points)}), "
                                f"got shape {idx.shape}")
            return np.flatnonzero(idx)
        idx = idx.ravel()
        if idx.size == 0:
            return idx.astype(np.intp)
        if not np.issubdtype(idx.dtype, np.integer):
            raise DataError(f"indices: expected whole point numbers, got {idx.dtype}")
        if idx.min() < 0 or idx.max() >= len(self._points):
            raise DataError(f"indices: must lie in 0..{len(self._points) - 1}, got {idx.min()}..{idx.max()}")
        return idx.astype(np.intp)

    # -- single-step edits -------------------------------------------------------------------------
    def add_points(self, xy, target, role, text: str = "Add point") -> None:
        xy = np.asarray(xy, dtype=np.float64)
        if xy.size % 2:
            raise DataError(f"add points: coordinates must be (x, y) pairs, got shape {xy.shape}")
        xy = xy.reshape(-1, 2)
        n = len(xy)
        if n == 0:
            return
        try:
            target = np.broadcast_to(np.asarray(target, dtype=np.float64), (n,))
            role = np.broadcast_to(np.asarray(role), (n,))
        except ValueError as exc:
            raise DataError(f"add points: need one target and role per point ({n}) or a single value") from exc
        self._commit(self._points.with_points(xy, target, role), text)

    def remove(self, indices, text: str | None = None) -> None:
        idx = np.unique(self._indices(indices))
        if idx.size:
            self._commit(self._points.without(idx), text or f"Delete {_plural(idx.size, 'point')}")

    def move(self, indices, new_xy, text: str | None = None) -> None:
        idx = self._indices(indices)
        if idx.size:
            xy = self._xy_for(idx, new_xy)
            self._commit(self._points.replaced(idx, xy=xy), text or f"Move {_plural(idx.size, 'point')}")

    def relabel(self, indices, target, text: str | None = None) -> None:
        idx = self._indices(indices)
        if idx.size:
            self._commit(self._points.replaced(idx, target=target),
                         text or f"Relabel {_plural(idx.size, 'point')}")

    def set_role(self, indices, role, text: str | None = None) -> None:
        idx = self._indices(indices)
        if idx.size:
            self._commit(self._points.replaced(idx, role=role),
                         text or f"Change role of {_plural(idx.size, 'point')}")

    def replace_all(self, pointset: PointSet, text: str = "Replace points") -> None:
        if not isinstance(pointset, PointSet):
            raise DataError(f"replace points: expected a PointSet, got {type(pointset).__name__}")
        self._commit(pointset, text)

    @staticmethod
    def _xy_for(idx: np.ndarray, new_xy) -> np.ndarray:
        try:
            return np.broadcast_to(np.asarray(new_xy, dtype=np.float64), (idx.size, 2))
        except ValueError as exc:
            raise DataError(f"move: need one (x, y) per moved point ({idx.size}) or a single pair, "
                            f"got shape {np.shape(new_xy)}") from exc

    # -- gestures ----------------------------------------------------------------------------------
    @property
    def in_gesture(self) -> bool:
        return self._gesture is not None

    def begin_move(self, indices) -> None:
        """Start dragging ``indices``; positions update live until :meth:`end_move`."""
        self._end_gesture()
        idx = self._indices(indices)
        self._gesture = ("move", self._points, f"Move {_plural(idx.size, 'point')}", idx)

    def update_move(self, new_xy) -> None:
        if self._gesture is None or self._gesture[0] != "move":
            return
        idx = self._gesture[3]
        if idx.size == 0:
            return
        if idx.max() >= len(self._points):   # points were removed under the drag
            self._gesture = None
            self._flush()
            return
        self._apply(self._points.replaced(idx, xy=self._xy_for(idx, new_xy)), gesture_step=True)

    def end_move(self) -> None:
        if self._gesture is not None and self._gesture[0] == "move":
            self._end_gesture()

    def begin_stroke(self, text: str) -> None:
        """Start a stroke: edits until :meth:`end_stroke` form one undo step named ``text``."""
        self._end_gesture()
        self._gesture = ("stroke", self._points, text, None)

    def end_stroke(self) -> None:
        if self._gesture is not None and self._gesture[0] == "stroke":
            self._end_gesture()

    def _end_gesture(self) -> None:
        self._flush()                     # the final state is always announced
        self._emitted_at = -1e9
        if self._gesture is None:
            return
        _kind, before, text, _idx = self._gesture
        self._gesture = None
        if not (before == self._points):
            self._push(before, self._points, text)
