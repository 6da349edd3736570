"""Compare mode's tiles (nnviz.ui.tiles): read-only canvases drawn like the main one, following its view, laid
out beside it with a caption naming each run."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from engine_data import circle
from nnviz.session import messages as m
from nnviz.session.core import TrainingSession
from nnviz.ui.canvas import PointCanvas
from nnviz.ui.compare import RUN_COLOURS
from nnviz.ui.points_model import PointsModel
from nnviz.ui.tiles import BoundaryTile, TileGrid


@pytest.fixture
def grid(qtbot):
    model = PointsModel(circle(n=80))
    canvas = PointCanvas(model)
    g = TileGrid(canvas)
    qtbot.addWidget(g)
    g.resize(900, 700)
    g.show()
    qtbot.waitExposed(g)
    return g


def boundary_snapshot(extent, hidden=(4,)):
    session = TrainingSession(points=circle(n=80))
    session.trainer.config.architecture.hidden_layers = list(hidden)
    session.handle(m.SetView(extent, 40, 30))
    session.trainer.train(20)
    session.dirty = True
    return session.snapshot()


def cell_rect(grid, i):
    w = grid.widget(i)
    return w.mapTo(grid, QPoint(0, 0)), w.size()


def test_one_run_is_the_main_canvas_alone_without_a_caption(grid):
    assert grid.count == 1 and grid.widget(0) is grid.main_widget
    assert not grid.caption_widget(0).isVisible()
    with pytest.raises(IndexError):
        grid.tile(1)


def test_two_runs_side_by_side_four_in_two_rows_each_with_a_caption(grid, qtbot):
    grid.set_runs(["L1 0.01", "L2 0.03"], RUN_COLOURS[:2])
    qtbot.wait(1)
    (p0, s0), (p1, s1) = cell_rect(grid, 0), cell_rect(grid, 1)
    assert p0.y() == p1.y() and p1.x() >= p0.x() + s0.width() and s0 == s1
    assert all(grid.caption_widget(i).isVisible() for i in range(2))
    grid.set_caption(0, "L1 0.01", RUN_COLOURS[0], "epoch 12")
    assert grid.caption_text(0) == "L1 0.01  epoch 12"
    grid.set_runs(["A", "B", "C", "D"], RUN_COLOURS)
    qtbot.wait(1)
    rects = [cell_rect(grid, i) for i in range(4)]
    xs, ys = sorted({p.x() for p, _ in rects}), sorted({p.y() for p, _ in rects})
    assert len(xs) == 2 and len(ys) == 2 and len({(s.width(), s.height()) for _, s in rects}) == 1
    assert grid.caption_text(0) == "A  epoch 12"          # a relabel keeps the text line
    assert isinstance(grid.tile(3), BoundaryTile)
    tile = grid.tile(3)
    grid.set_runs(["A", "B"], RUN_COLOURS[:2])
    assert grid.count == 2
    with pytest.raises(IndexError):
        grid.tile(2)
    grid.main_widget.model.add_points([[0.0, 0.0]], 0, 0)   # a removed tile no longer listens
    assert len(tile._last_points) == 80


def test_a_tile_draws_like_the_main_canvas(grid):
    grid.set_runs(["A", "B"], RUN_COLOURS[:2])
    (x0, x1), (y0, y1) = grid.main_widget.view_box.viewRange()
    snap = boundary_snapshot((x0, x1, y0, y1))
    grid.main_widget.set_boundary(snap.boundary, snap.extent, snap.mode)
    grid.show_snapshot(1, snap)
    main, tile = grid.main_widget, grid.tile(1)
    assert tile.boundary_item.isVisible()
    assert np.array_equal(tile.boundary_item.image, main.boundary_item.image)
    assert np.array_equal(tile.boundary_item.lut, main.boundary_item.lut)
    assert np.array_equal(tile.contour_item.xData, main.contour_item.xData)
    for key, item in main.point_items.items():            # the same points, in the same styles
        other = tile.point_items[key]
        assert np.array_equal(other.data["x"], item.data["x"]) and np.array_equal(other.data["y"], item.data["y"])
        if len(item.data):
            assert other.opts["brush"].color() == item.opts["brush"].color() or \
                other.data["brush"][0].color() == item.data["brush"][0].color()


def test_tiles_follow_the_main_view_and_redraw_on_point_edits(grid, qtbot):
    grid.set_runs(["A", "B", "C"], RUN_COLOURS[:3])
    main = grid.main_widget
    main.view_box.setRange(xRange=(-2, 3), yRange=(-1, 2), padding=0)
    def same_range(i):
        main_range = np.array(main.view_box.viewRange())
        return np.allclose(grid.tile(i).view_box.viewRange(), main_range, atol=0.002 * np.ptp(main_range))

    qtbot.waitUntil(lambda: grid.tile(1).size() == grid.tile(2).size() == main.size(), timeout=2000)
    for i in (1, 2):        # a tile of the main canvas's size shows exactly its range (axes of its sizes)
        qtbot.waitUntil(lambda: same_range(i), timeout=2000)
    main.model.add_points([[0.5, 0.5]], 1, 0)
    drawn = len(main.point_items[(0, 1)].data)
    # the main canvas at once, the tiles a turn later each
    assert grid.tile(1).points_pending and grid.tile(2).points_pending
    qtbot.waitUntil(lambda: not grid.tile(1).points_pending and not grid.tile(2).points_pending, timeout=2000)
    assert len(grid.tile(1).point_items[(0, 1)].data) == len(grid.tile(2).point_items[(0, 1)].data) == drawn
    main.model.add_points([[0.7, 0.5]], 1, 0)
    grid.flush()                                         # before a screenshot: all of them now
    assert len(grid.tile(2).point_items[(0, 1)].data) == drawn + 1 and not grid.tile(1).points_pending


def test_a_tile_edits_nothing(grid, qtbot):
    grid.set_runs(["A", "B"], RUN_COLOURS[:2])
    tile, model = grid.tile(1), grid.main_widget.model
    before = model.points
    viewport = tile.plot_widget.viewport()
    centre = viewport.rect().center()
    for button in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
        qtbot.mouseClick(viewport, button, pos=centre)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(viewport, centre + QPoint(40, 30))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=centre + QPoint(40, 30))
    assert model.points is before and model.undo_stack.count() == 0


@pytest.mark.parametrize("size", [(1100, 780), (700, 560)])
def test_captions_stay_readable_when_the_cells_are_small(qtbot, size):
    canvas = PointCanvas(PointsModel(circle(n=40)))
    grid = TileGrid(canvas)
    qtbot.addWidget(grid)
    grid.resize(*size)
    grid.show()
    qtbot.waitExposed(grid)
    grid.set_runs(["too small: 1 neuron", "right: 8 neurons", "too big: 3 x 32 neurons", "ReLU"], RUN_COLOURS)
    for i in range(4):
        grid.set_caption_text(i, "epoch 1,000 · train loss 0.123 · test loss 0.456 · train error 3.1 %")
    qtbot.wait(1)
    for i in range(4):
        caption = grid.caption_widget(i)
        assert caption.label.width() >= caption.label.sizeHint().width()   # the label is never cut
        shown = caption.text.text()
        assert shown.startswith("epoch 1,000") and caption.text.fontMetrics().horizontalAdvance(shown) \
            <= caption.text.width() + 1
        assert grid.widget(i).height() > 200 and grid.widget(i).width() > 300
