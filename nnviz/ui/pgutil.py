"""Small pyqtgraph helpers shared by the views."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem, QWidget


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
