"""Per-mouse-move cost of canvas gestures at 100,000 points (issue 11 item 3).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_canvas_drag.py [n_points] [-v]

Drags a selection of ~68% of the points, an erase stroke and a brush stroke through real mouse
events, repainting after each move, with a listener on ``PointsModel.changed`` that does what the
window does with every change (pickle the whole point set for the training process). Prints the
worst and median time per mouse move and how often ``changed`` fired.
"""
from __future__ import annotations

import pickle
import sys
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtTest import QTest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from nnviz.data.points import PointSet
from nnviz.ui.canvas import PointCanvas
from nnviz.ui.points_model import PointsModel

LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier


def gesture(canvas, path, fanout):
    vp = canvas.plot_widget.viewport()
    times = []
    fanout.clear()
    t0 = time.perf_counter()
    QTest.mousePress(vp, LEFT, NOMOD, canvas.data_to_widget(*path[0]))
    QApplication.processEvents()
    times.append(time.perf_counter() - t0)
    # a press on a big selection prepares the drag over the next event-loop turns (a hand needs far
    # longer to move the few pixels that start a drag): one turn = one step + a paint
    while getattr(canvas, "_prepared", None) is not None and (canvas._prepared["to_show"] or canvas._prepared["to_hide"]):
        t0 = time.perf_counter()
        canvas._prep_step()
        vp.repaint()
        times.append(time.perf_counter() - t0)
    n_press = len(times)
    for x, y in path[1:]:
        t0 = time.perf_counter()
        QTest.mouseMove(vp, canvas.data_to_widget(x, y))
        QApplication.processEvents()      # handles the move and paints the frame
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    QTest.mouseRelease(vp, LEFT, NOMOD, canvas.data_to_widget(*path[-1]))
    vp.repaint()
    release = time.perf_counter() - t0
    # a big drag hands its items back over the next event-loop turns: one turn = one step + a paint
    later = []
    while getattr(canvas, "_settle", None) is not None:
        t0 = time.perf_counter()
        canvas._settle_step()
        vp.repaint()
        later.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    QApplication.processEvents()
    vp.repaint()
    later.append(time.perf_counter() - t0)
    times = np.array(times) * 1e3
    return times[[0] + list(range(n_press, len(times)))], release * 1e3, len(fanout), np.array(later) * 1e3, \
        times[1:n_press]


def main(n: int = 100_000) -> None:
    app = QApplication.instance() or QApplication([])
    pg.setConfigOption("mouseRateLimit", 0)
    rng = np.random.default_rng(0)
    xy = rng.uniform(-5, 5, (n, 2))
    ps = PointSet(xy, rng.integers(0, 2, n).astype(float), rng.integers(0, 2, n).astype(np.int8))
    model = PointsModel(ps)
    fanout = []
    model.changed.connect(lambda p: fanout.append(len(pickle.dumps(p))))   # what the window sends the child
    canvas = PointCanvas(model)
    canvas.resize(900, 800)
    canvas.show()
    QTest.qWaitForWindowExposed(canvas)
    canvas.view_box.setRange(xRange=(-6, 6), yRange=(-6, 6), padding=0)
    QApplication.processEvents()

    canvas.set_tool("select")
    canvas._set_selection(np.flatnonzero(xy[:, 0] < 1.8))            # ~68% of the points
    start = canvas.model.points.xy[canvas.selected_indices[0]]
    path = [tuple(start + [0.1 * i, 0.05 * i]) for i in range(13)]    # press + 12 moves
    for name, tool, p in (("drag 68% selection", "select", path),
                          ("erase stroke", "erase", [(-4 + 0.6 * i, 0.3 * i) for i in range(13)]),
                          ("brush stroke", "brush", [(-4 + 0.6 * i, -0.3 * i) for i in range(13)])):
        canvas.set_tool(tool)
        if tool == "select":
            canvas._set_selection(np.flatnonzero(canvas.model.points.xy[:, 0] < 1.8))
            p = [tuple(canvas.model.points.xy[canvas.selected_indices[0]] + [0.1 * i, 0.05 * i]) for i in range(13)]
        QApplication.processEvents()      # the selection (or tool change) is drawn before the gesture
        canvas.plot_widget.viewport().repaint()
        undo_before = canvas.model.undo_stack.count()
        t0 = time.perf_counter()
        times, release, signals, later, prep = gesture(canvas, p, fanout)
        total = time.perf_counter() - t0
        steps = canvas.model.undo_stack.count() - undo_before
        print(f"{name:22s} n={n}: total {total * 1e3:7.0f} ms, per move max {times[1:].max():6.1f} ms, "
              f"median {np.median(times[1:]):6.1f} ms, first move {times[1]:6.1f} ms, later max {times[2:].max():6.1f} ms, "
              f"press {times[0]:6.1f} ms" + (f" (then {len(prep)} turns, max {prep.max():5.1f} ms)" if len(prep) else "")
              + f", release {release:6.1f} ms (then {len(later)} turns, max {later.max():5.1f} ms), "
              f"changed emitted {signals}x, undo steps {steps}")
        if "-v" in sys.argv:
            print("   press, moves", np.round(times, 1), "\n   after press", np.round(prep, 1),
                  "\n   after release", np.round(later, 1))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "-v"]
    main(int(args[0]) if args else 100_000)
