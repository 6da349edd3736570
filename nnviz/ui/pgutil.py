"""Small pyqtgraph helpers shared by the views."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QGraphicsItem, QWidget


def cache_axes(root: QWidget) -> None:
    """Render every axis under ``root`` into a cached pixmap.

    An axis is re-rasterised (text and tick lines) on every repaint of its view otherwise, which
    costs milliseconds per axis per frame while its ticks have not changed at all.
    """
    widgets = [root] if isinstance(root, pg.PlotWidget) else []
    widgets += root.findChildren(pg.PlotWidget)
    for widget in widgets:
        for axis in widget.getPlotItem().axes.values():
            axis["item"].setCacheMode(QGraphicsItem.DeviceCoordinateCache)


class _WheelGuard(QObject):
    """Scrolling a panel over a spin box, combo or slider must scroll, not change the value: the
    wheel only edits a field that has keyboard focus. Otherwise the event goes to the nearest
    scroll area around the field (which scrolls), or is dropped when there is none."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, QWidget) or obj.hasFocus():
            return False
        parent = obj.parentWidget()
        while parent is not None and not isinstance(parent, QAbstractScrollArea):
            parent = parent.parentWidget()
        if parent is not None:
            bar = parent.verticalScrollBar()
            if abs(event.angleDelta().x()) > abs(event.angleDelta().y()):
                bar = parent.horizontalScrollBar()
            QApplication.sendEvent(bar, event)
        return True


_WHEEL_GUARD: _WheelGuard | None = None


def guard_wheel(widget: QWidget) -> None:
    """Give ``widget`` (a spin box, combo box or slider) the wheel only while it has focus.

    Its focus policy becomes Qt.StrongFocus (Tab and click, not the wheel), and a shared event
    filter passes unfocused wheel events on to the surrounding scroll area.
    """
    global _WHEEL_GUARD
    if _WHEEL_GUARD is None:
        _WHEEL_GUARD = _WheelGuard(QApplication.instance())
    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    widget.installEventFilter(_WHEEL_GUARD)
