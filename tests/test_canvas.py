"""The point canvas and its undoable model, driven through real widgets and real mouse events."""
from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from nnviz.data.points import TEST, TRAIN, VALIDATION, PointSet
from nnviz.errors import ConfigError, DataError
from nnviz.ui.canvas import PointCanvas, contour_segments
from nnviz.ui.palette import CLASS_COLORS
from nnviz.ui.points_model import PointsModel

LEFT, RIGHT, MIDDLE = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton
NOMOD, SHIFT = Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier
TOL = 0.06   # data units; the view is 10 units over ~480 pixels, so this is about 3 pixels


def points(xy, target, role=TRAIN) -> PointSet:
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return PointSet(xy, np.broadcast_to(target, len(xy)), np.broadcast_to(role, len(xy)))


@pytest.fixture
def canvas(qtbot, monkeypatch):
    # pyqtgraph drops mouse moves closer than 10 ms apart; synthetic events come much faster
    monkeypatch.setitem(pg.CONFIG_OPTIONS, "mouseRateLimit", 0)
    c = PointCanvas(PointsModel())
    qtbot.addWidget(c)
    c.resize(520, 520)
    c.show()
    qtbot.waitExposed(c)
    c.view_box.setRange(xRange=(-5, 5), yRange=(-5, 5), padding=0)
    QApplication.processEvents()
    return c


def at(c: PointCanvas, x: float, y: float) -> QPoint:
    return c.data_to_widget(x, y)


def click(c, x, y, button=LEFT, mods=NOMOD):
    QTest.mouseClick(c.plot_widget.viewport(), button, mods, at(c, x, y))


def drag(c, path, button=LEFT, mods=NOMOD):
    """Press at the first data point, move through the rest, release at the last."""
    vp = c.plot_widget.viewport()
    QTest.mousePress(vp, button, mods, at(c, *path[0]))
    for x, y in path[1:]:
        QTest.mouseMove(vp, at(c, x, y))
    QTest.mouseRelease(vp, button, mods, at(c, *path[-1]))


def line(a, b, steps=8):
    return [tuple(a + (np.asarray(b) - a) * t) for t in np.linspace(0, 1, steps)]


# -- model ---------------------------------------------------------------------------------------
def test_model_edits_undo_redo_and_signal(qtbot):
    m = PointsModel()
    seen = []
    m.changed.connect(seen.append)
    m.add_points([[0, 0], [1, 1]], [0, 1], TRAIN, text="Add 2 points")
    m.relabel([0], 1)
    m.set_role([1], TEST)
    m.move([0], [[3, 4]])
    assert m.points.xy.tolist() == [[3, 4], [1, 1]]
    assert m.points.target.tolist() == [1, 1] and m.points.role.tolist() == [TRAIN, TEST]
    assert m.undo_stack.count() == 4 and m.undo_stack.undoText() == "Move 1 point"
    m.undo_stack.undo()
    m.undo_stack.undo()
    assert m.points.xy.tolist() == [[0, 0], [1, 1]] and m.points.role.tolist() == [TRAIN, TRAIN]
    m.undo_stack.redo()
    assert m.points.role.tolist() == [TRAIN, TEST]
    assert seen[-1] is m.points and len(seen) == 7   # 4 edits, 2 undos, 1 redo


def test_model_remove_replace_and_clean_state():
    m = PointsModel(points([[0, 0], [1, 0], [2, 0]], 0))
    m.undo_stack.setClean()
    m.remove([0, 2])
    assert m.points.xy.tolist() == [[1, 0]] and not m.undo_stack.isClean()
    m.replace_all(points([[5, 5]], 1), "Generate dataset")
    assert m.undo_stack.undoText() == "Generate dataset"
    m.undo_stack.undo()
    m.undo_stack.undo()
    assert len(m.points) == 3 and m.undo_stack.isClean()


def test_model_gestures_make_one_undo_step():
    m = PointsModel(points([[0, 0], [1, 0]], 0))
    m.begin_move([1])
    for x in (1.5, 2.0, 2.5):
        m.update_move([[x, 1.0]])
    m.end_move()
    m.begin_stroke("Brush stroke")
    for i in range(4):
        m.add_points([[i, -1.0]], 1, TRAIN)
    m.remove([0])
    m.end_stroke()
    assert m.undo_stack.count() == 2 and len(m.points) == 5
    m.undo_stack.undo()
    assert m.points.xy.tolist() == [[0, 0], [2.5, 1.0]]
    m.undo_stack.undo()
    assert m.points.xy.tolist() == [[0, 0], [1, 0]]


def test_model_gesture_without_change_pushes_nothing_and_undo_voids_open_gesture():
    m = PointsModel(points([[0, 0]], 0))
    m.begin_stroke("Erase points")
    m.end_stroke()
    assert m.undo_stack.count() == 0
    m.add_points([[1, 1]], 1, TRAIN)
    m.begin_stroke("Brush stroke")
    m.add_points([[2, 2]], 1, TRAIN)
    m.undo_stack.undo()            # undo in mid-stroke reverts the last finished command
    m.end_stroke()                 # the voided stroke must not resurrect its points
    assert m.points.xy.tolist() == [[0, 0]] and m.undo_stack.index() == 0


def test_model_rejects_bad_input_with_typed_errors():
    m = PointsModel(points([[0, 0]], 0))
    with pytest.raises(DataError, match="indices"):
        m.remove([3])
    with pytest.raises(DataError, match="indices"):
        m.relabel([0.5], 1)
    with pytest.raises(DataError, match="role"):
        m.set_role([0], 7)
    with pytest.raises(DataError, match="move"):
        m.move([0], [[1, 2], [3, 4]])
    with pytest.raises(DataError, match="PointSet"):
        m.replace_all("not points")
    with pytest.raises(DataError):
        m.add_points([[np.nan, 0]], 0, TRAIN)
    assert len(m.points) == 1 and m.undo_stack.count() == 0


# -- adding and moving with the mouse --------------------------------------------------------------
def test_click_adds_point_of_current_class_at_cursor(canvas):
    canvas.set_current_class(1)
    click(canvas, 1.5, -2.0)
    ps = canvas.model.points
    assert len(ps) == 1
    assert np.allclose(ps.xy[0], [1.5, -2.0], atol=TOL)
    assert ps.target[0] == 1 and ps.role[0] == TRAIN
    assert canvas.model.undo_stack.undoText() == "Add orange point"


def test_right_click_and_shift_click_add_the_other_class(canvas):
    canvas.set_current_class(0)
    canvas.set_new_point_role(TEST)
    click(canvas, -1, 1, RIGHT)
    click(canvas, 2, 2, LEFT, SHIFT)
    canvas.set_current_class(2)
    click(canvas, 0, 0, RIGHT)
    ps = canvas.model.points
    assert ps.target.tolist() == [1, 1, 0]
    assert ps.role.tolist() == [TEST, TEST, TEST]
    assert np.allclose(ps.xy[0], [-1, 1], atol=TOL)


def test_dragging_a_point_moves_it_and_one_undo_restores_it(canvas):
    canvas.model.replace_all(points([[0, 0], [3, 3]], [0, 1]))
    drag(canvas, line((0, 0), (2, -1)))
    ps = canvas.model.points
    assert len(ps) == 2, "dragging a point must not add one"
    assert np.allclose(ps.xy[0], [2, -1], atol=TOL) and ps.xy[1].tolist() == [3, 3]
    canvas.model.undo_stack.undo()
    assert canvas.model.points.xy.tolist() == [[0, 0], [3, 3]]
    canvas.model.undo_stack.redo()
    assert np.allclose(canvas.model.points.xy[0], [2, -1], atol=TOL)


def test_left_drag_on_empty_space_does_not_pan(canvas):
    before = canvas.view_box.viewRange()
    drag(canvas, line((-3, -3), (2, 2)))
    assert np.allclose(canvas.view_box.viewRange(), before)
    assert len(canvas.model.points) == 0


def test_middle_drag_pans_in_every_tool(canvas):
    canvas.set_tool("brush")
    before = np.array(canvas.view_box.viewRange())
    drag(canvas, line((0, 0), (2, 0)), MIDDLE)
    after = np.array(canvas.view_box.viewRange())
    assert after[0, 0] < before[0, 0] - 1.0   # content follows the mouse to the right
    assert len(canvas.model.points) == 0


# -- brush and erase ------------------------------------------------------------------------------
def test_brush_stroke_sprays_points_and_one_undo_removes_them(canvas):
    canvas.model.replace_all(points([[4, 4]], 0))
    canvas.set_tool("brush")
    canvas.set_current_class(1)
    canvas.set_brush_radius(0.5)
    canvas.set_new_point_role(VALIDATION)
    drag(canvas, line((-3, 0), (3, 0), steps=12))
    ps = canvas.model.points
    new = slice(1, None)
    assert len(ps) > 2
    assert (ps.target[new] == 1).all() and (ps.role[new] == VALIDATION).all()
    assert (np.abs(ps.xy[new, 1]) <= 0.5 + TOL).all()
    assert (ps.xy[new, 0] >= -3.5 - TOL).all() and (ps.xy[new, 0] <= 3.5 + TOL).all()
    canvas.model.undo_stack.undo()
    assert canvas.model.points.xy.tolist() == [[4, 4]]


def test_erase_removes_points_under_the_brush_and_undo_restores(canvas):
    keep = [[0, 3], [-4, -4]]
    gone = [[-2, 0.2], [0, -0.3], [2, 0]]
    canvas.model.replace_all(points(keep + gone, 0))
    canvas.set_tool("erase")
    canvas.set_brush_radius(0.8)
    drag(canvas, line((-2.5, 0), (2.5, 0)))
    assert sorted(canvas.model.points.xy.tolist()) == sorted(keep)
    canvas.model.undo_stack.undo()
    assert len(canvas.model.points) == 5


# -- selection ------------------------------------------------------------------------------------
def test_rubber_band_selects_and_delete_key_removes_exactly_those(canvas, qtbot):
    inside = [[0, 0], [1, 1], [-1, 0.5]]
    outside = [[3, 3], [-3, -3], [0, 3]]
    canvas.model.replace_all(points(inside + outside, 0))
    canvas.set_tool("select")
    with qtbot.waitSignal(canvas.selection_changed) as sig:
        drag(canvas, line((-2, -1), (2, 2)))
    assert sig.args == [3]
    assert len(canvas.selection_item.data) == 3
    QTest.keyClick(canvas.plot_widget, Qt.Key.Key_Delete)
    assert sorted(canvas.model.points.xy.tolist()) == sorted(outside)
    assert len(canvas.selected_indices) == 0
    canvas.model.undo_stack.undo()
    assert len(canvas.model.points) == 6


def test_escape_clears_selection(canvas):
    canvas.model.replace_all(points([[0, 0], [1, 1]], 0))
    canvas.set_tool("select")
    drag(canvas, line((-1, -1), (2, 2)))
    assert len(canvas.selected_indices) == 2
    QTest.keyClick(canvas.plot_widget, Qt.Key.Key_Escape)
    assert len(canvas.selected_indices) == 0 and len(canvas.model.points) == 2


def test_relabel_and_role_of_selection_with_undo_and_redo(canvas):
    canvas.model.replace_all(points([[0, 0], [1, 0], [4, 4]], 0))
    canvas.set_tool("select")
    drag(canvas, line((-0.5, -0.5), (1.5, 0.5)))
    canvas.relabel_selected(3)
    canvas.set_selected_role(TEST)
    ps = canvas.model.points
    assert ps.target.tolist() == [3, 3, 0] and ps.role.tolist() == [TEST, TEST, TRAIN]
    canvas.model.undo_stack.undo()
    assert canvas.model.points.role.tolist() == [TRAIN, TRAIN, TRAIN]
    assert canvas.model.points.target.tolist() == [3, 3, 0]
    canvas.model.undo_stack.redo()
    assert canvas.model.points.role.tolist() == [TEST, TEST, TRAIN]
    with pytest.raises(ConfigError):
        canvas.relabel_selected(9)


def test_dragging_a_selected_point_moves_the_whole_selection(canvas):
    canvas.model.replace_all(points([[0, 0], [1, 0], [4, 4]], 0))
    canvas.set_tool("select")
    drag(canvas, line((-0.5, -0.5), (1.5, 0.5)))
    drag(canvas, line((1, 0), (1, -2)))
    xy = canvas.model.points.xy
    assert np.allclose(xy[:2], [[0, -2], [1, -2]], atol=TOL) and xy[2].tolist() == [4, 4]
    canvas.model.undo_stack.undo()
    assert canvas.model.points.xy.tolist() == [[0, 0], [1, 0], [4, 4]]


def test_click_selects_single_point_and_empty_click_clears(canvas):
    canvas.model.replace_all(points([[0, 0], [2, 2]], 0))
    canvas.set_tool("select")
    click(canvas, 2, 2)
    assert canvas.selected_indices.tolist() == [1]
    click(canvas, 0, 0, LEFT, SHIFT)
    assert canvas.selected_indices.tolist() == [0, 1]
    click(canvas, -3, 3)
    assert canvas.selected_indices.tolist() == []


# -- boundary -------------------------------------------------------------------------------------
def test_set_boundary_modes_reuse_the_same_items(canvas):
    items_before = list(canvas.view_box.addedItems)
    image_id, contour_id = id(canvas.boundary_item), id(canvas.contour_item)
    yy, xx = np.mgrid[0:40, 0:60]
    binary = (xx > 30).astype(np.float32) * 0.8 + 0.1
    canvas.set_boundary(binary, (-3, 3, -2, 2), "binary")
    img = canvas.boundary_item
    assert img.image.shape == (40, 60) and img.isVisible()
    rect = img.mapRectToParent(img.boundingRect())
    assert (rect.left(), rect.right(), rect.top(), rect.bottom()) == pytest.approx((-3, 3, -2, 2))
    cx, _ = canvas.contour_item.getData()
    assert len(cx) > 0 and np.allclose(cx, -3 + 30.5 * 6 / 60, atol=6 / 60)   # the 0.5 crossing

    probs = np.random.default_rng(0).dirichlet(np.ones(3), size=(20, 30)).astype(np.float32)
    canvas.set_boundary(probs, (-1, 1, -1, 1), "multiclass")
    assert img.image.shape == (20, 30, 3) and img.image.dtype == np.uint8
    canvas.set_boundary(np.linspace(-2, 2, 50 * 50, dtype=np.float32).reshape(50, 50), (-5, 5, -5, 5),
                        "regression")
    assert img.image.shape == (50, 50)
    for _ in range(3):
        canvas.set_boundary(binary, (-3, 3, -2, 2), "binary")
    assert id(canvas.boundary_item) == image_id and id(canvas.contour_item) == contour_id
    assert list(canvas.view_box.addedItems) == items_before
    canvas.clear_boundary()
    assert not img.isVisible()


def test_row_zero_is_the_bottom_of_the_field(canvas):
    field = np.zeros((10, 10), np.float32)
    field[0] = 1.0                                 # bottom row red, the rest blue
    canvas.set_boundary(field, (-5, 5, -5, 5), "binary")
    image = canvas.plot_widget.grab().toImage()
    bottom = image.pixelColor(at(canvas, 0, -4.8))
    top = image.pixelColor(at(canvas, 0, 4.8))
    assert bottom.red() > bottom.blue() and top.blue() > top.red()


def test_bad_boundary_input_raises_typed_errors_and_keeps_the_last_field(canvas):
    good = np.full((8, 8), 0.7, np.float32)
    canvas.set_boundary(good, (-1, 1, -1, 1), "binary")
    for values, extent, mode in [
        (np.zeros((8, 8, 3), np.float32), (-1, 1, -1, 1), "binary"),
        (np.zeros((8, 8), np.float32), (-1, 1, -1, 1), "multiclass"),
        (np.zeros((8, 8, 7), np.float32), (-1, 1, -1, 1), "multiclass"),
        (good, (1, -1, -1, 1), "binary"),
        (good, (0, np.inf, -1, 1), "binary"),
        (good, (-1, 1, -1, 1), "heatmap"),
        ([["a", "b"]], (-1, 1, -1, 1), "binary"),
    ]:
        with pytest.raises(DataError):
            canvas.set_boundary(values, extent, mode)
    assert np.allclose(canvas.boundary_item.image, 0.7)


def test_nan_in_the_field_is_drawn_neutral(canvas):
    binary = np.full((6, 6), 0.9, np.float32)
    binary[2, 3] = np.nan
    canvas.set_boundary(binary, (-1, 1, -1, 1), "binary")
    assert canvas.boundary_item.image[2, 3] == pytest.approx(0.5)
    probs = np.full((6, 6, 3), [0.9, 0.05, 0.05], np.float32)
    probs[1, 1, 0] = np.nan
    canvas.set_boundary(probs, (-1, 1, -1, 1), "multiclass")
    assert canvas.boundary_item.image[1, 1].tolist() == [255, 255, 255]
    assert canvas.boundary_item.image[0, 0].tolist() != [255, 255, 255]
    reg = np.full((6, 6), 3.0, np.float32)
    reg[0, 0] = np.nan
    canvas.set_boundary(reg, (-1, 1, -1, 1), "regression")
    assert canvas.boundary_item.image[0, 0] == 0.0


def test_discretize_shows_hard_regions(canvas):
    field = np.linspace(0, 1, 100, dtype=np.float32).reshape(10, 10)
    canvas.set_boundary(field, (-1, 1, -1, 1), "binary")
    assert len(np.unique(canvas.boundary_item.image)) > 2
    canvas.set_discretize(True)
    assert set(np.unique(canvas.boundary_item.image)) == {0.0, 1.0}
    probs = np.random.default_rng(1).dirichlet(np.ones(4), size=(10, 10)).astype(np.float32)
    canvas.set_boundary(probs, (-1, 1, -1, 1), "multiclass")
    assert len(np.unique(canvas.boundary_item.image.reshape(-1, 3), axis=0)) <= 4


def test_regression_levels_are_symmetric_around_zero(canvas):
    canvas.model.replace_all(points([[0, 0], [1, 1]], [-0.5, 2.0]))
    canvas.set_boundary(np.zeros((5, 5), np.float32), (-1, 1, -1, 1), "regression")
    assert tuple(canvas.boundary_item.getLevels()) == pytest.approx((-2.0, 2.0))
    canvas.set_value_range(-4, 1)
    assert tuple(canvas.boundary_item.getLevels()) == pytest.approx((-4.0, 4.0))


def test_contour_segments_follow_the_level_set():
    yy, xx = np.mgrid[0:41, 0:41].astype(float)
    r = np.hypot(xx - 20, yy - 20)
    segs = contour_segments(r, 12.0)
    assert len(segs) > 40 and len(segs) % 2 == 0
    assert np.allclose(np.hypot(segs[:, 0] - 20, segs[:, 1] - 20), 12.0, atol=0.1)
    assert len(contour_segments(r, 100.0)) == 0
    saddle = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert len(contour_segments(saddle, 0.5)) == 4


# -- markers, highlight, hover, tooltips -----------------------------------------------------------
def test_misclassified_points_get_a_halo_only_when_enabled_and_predictions_fit(canvas):
    canvas.model.replace_all(points([[0, 0], [1, 1], [2, 2]], [0, 1, 1]))
    canvas.set_predictions(np.array([0, 0, 1]))
    assert len(canvas.halo_item.data) == 0
    canvas.set_highlight_misclassified(True)
    assert len(canvas.halo_item.data) == 1 and canvas.halo_item.data[0]["x"] == 1
    canvas.model.add_points([[3, 3]], 0, TRAIN)      # predictions are now stale: no halo
    assert len(canvas.halo_item.data) == 0


def test_points_are_split_by_role_and_class(canvas):
    canvas.model.replace_all(PointSet([[0, 0], [1, 0], [2, 0], [3, 0]], [0, 1, 1, 0],
                                      [TRAIN, TEST, TEST, VALIDATION]))
    counts = {key: len(item.data) for key, item in canvas.point_items.items() if len(item.data)}
    assert counts == {(TRAIN, 0): 1, (TEST, 1): 2, (VALIDATION, 0): 1}


def test_hover_reports_data_coordinates(canvas, qtbot):
    canvas.model.replace_all(points([[1, 2]], 1))
    with qtbot.waitSignal(canvas.status_message) as sig:
        QTest.mouseMove(canvas.plot_widget.viewport(), at(canvas, 1, 2))
    x, y = (float(part.split("=")[1]) for part in sig.args[0].split()[:2])
    assert (x, y) == pytest.approx((1, 2), abs=TOL)
    assert "orange" in sig.args[0] and "train" in sig.args[0]


def test_tool_tooltip_and_bad_settings(canvas):
    tips = set()
    for tool in ("add", "brush", "erase", "select"):
        canvas.set_tool(tool)
        assert canvas.tool == tool and canvas.toolTip()
        tips.add(canvas.toolTip())
    assert len(tips) == 4
    with pytest.raises(ConfigError, match="tool"):
        canvas.set_tool("lasso")
    with pytest.raises(ConfigError, match="brush radius"):
        canvas.set_brush_radius(-1)
    with pytest.raises(ConfigError, match="current class"):
        canvas.set_current_class(4)


def test_fit_view_frames_points_or_default_square(canvas):
    canvas.fit_view()
    (x0, x1), (y0, y1) = canvas.view_box.viewRange()
    assert x0 <= -6 and x1 >= 6 and y0 <= -6 and y1 >= 6 and x1 - x0 < 20
    canvas.model.replace_all(points([[10, 10], [14, 12]], 0))
    canvas.fit_view()
    (x0, x1), (y0, y1) = canvas.view_box.viewRange()
    assert x0 <= 10 and x1 >= 14 and y0 <= 10 and y1 >= 12 and x1 - x0 < 10


def test_screenshot_of_points_over_a_binary_boundary(canvas):
    rng = np.random.default_rng(3)
    xy = rng.uniform(-4.5, 4.5, (60, 2))
    target = (np.hypot(*xy.T) > 3).astype(float)
    role = rng.choice([TRAIN, TEST, VALIDATION], 60, p=[0.6, 0.25, 0.15])
    canvas.model.replace_all(PointSet(xy, target, role))
    yy, xx = np.mgrid[-5:5:100j, -5:5:100j]
    p = 1 / (1 + np.exp(-3 * (np.hypot(xx, yy) - 3)))
    canvas.set_boundary(p.astype(np.float32), (-5, 5, -5, 5), "binary")
    canvas.set_predictions((np.hypot(*xy.T) > 2.6).astype(int))
    canvas.set_highlight_misclassified(True)
    QApplication.processEvents()
    shot = canvas.grab()
    shot.save("/tmp/canvas.png")
    image = shot.toImage()
    # the centre of a train point isolated from the others shows its class colour
    ps = canvas.model.points
    dist = np.hypot(*(ps.xy[:, None] - ps.xy[None]).transpose(2, 0, 1)) + np.eye(len(ps)) * 99
    ok = (ps.role == TRAIN) & (dist.min(axis=1) > 0.6) & ~canvas.misclassified_mask()
    i = int(np.flatnonzero(ok)[0])
    colour = image.pixelColor(canvas.plot_widget.mapTo(canvas, at(canvas, *ps.xy[i])))
    want = QColor(CLASS_COLORS[int(ps.target[i])])
    assert abs(colour.red() - want.red()) < 40 and abs(colour.blue() - want.blue()) < 40


# -- select tool: context menu and keys (issue 6 item 17) ---------------------------------------------
def _select_two(canvas):
    canvas.model.replace_all(points([[0, 0], [1, 0], [4, 4]], 0))
    canvas.set_tool("select")
    drag(canvas, line((-0.5, -0.5), (1.5, 0.5)))
    assert canvas.selected_indices.tolist() == [0, 1]
    canvas.plot_widget.setFocus()


def _popped_menu(qtbot):
    from PySide6.QtWidgets import QMenu
    menus = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()]
    assert len(menus) == 1
    return menus[0]


def test_right_click_on_a_selection_offers_relabel_role_and_delete(canvas, qtbot):
    from PySide6.QtGui import QAction
    _select_two(canvas)
    click(canvas, 1, 0, RIGHT)
    menu = _popped_menu(qtbot)
    actions = {a.objectName(): a for a in menu.actions() if a.objectName()}
    assert {f"selection.relabel.{k}" for k in range(4)} <= set(actions)
    assert {"selection.role.train", "selection.role.test", "selection.role.validation", "selection.delete"} <= set(actions)
    assert "yellow" in actions["selection.relabel.3"].text()
    assert actions["selection.role.test"].shortcut().toString() == "Shift+T"   # the key is shown as a hint
    actions["selection.relabel.2"].trigger()
    menu.close()
    assert canvas.model.points.target.tolist() == [2, 2, 0]
    click(canvas, 0, 0, RIGHT)
    menu = _popped_menu(qtbot)
    next(a for a in menu.actions() if a.objectName() == "selection.role.validation").trigger()
    menu.close()
    assert canvas.model.points.role.tolist() == [VALIDATION, VALIDATION, TRAIN]
    assert canvas.model.undo_stack.count() == 3       # replace, relabel, role: each its own undo step
    canvas.model.undo_stack.undo()
    canvas.model.undo_stack.undo()
    assert canvas.model.points.target.tolist() == [0, 0, 0] and canvas.model.points.role.tolist() == [TRAIN] * 3
    # right-click on an unselected point selects it first and acts on it alone
    click(canvas, 4, 4, RIGHT)
    menu = _popped_menu(qtbot)
    assert canvas.selected_indices.tolist() == [2]
    next(a for a in menu.actions() if a.objectName() == "selection.delete").trigger()
    menu.close()
    assert canvas.model.points.xy.tolist() == [[0, 0], [1, 0]]
    assert isinstance(menu.actions()[0], QAction)


def test_selection_keys_relabel_and_move_roles_undoably(canvas):
    _select_two(canvas)
    vp = canvas.plot_widget
    QTest.keyClick(vp, Qt.Key.Key_4)
    assert canvas.model.points.target.tolist() == [3, 3, 0]
    QTest.keyClick(vp, Qt.Key.Key_T, SHIFT)
    assert canvas.model.points.role.tolist() == [TEST, TEST, TRAIN]
    QTest.keyClick(vp, Qt.Key.Key_V, SHIFT)
    assert canvas.model.points.role.tolist() == [VALIDATION, VALIDATION, TRAIN]
    QTest.keyClick(vp, Qt.Key.Key_T)
    assert canvas.model.points.role.tolist() == [TRAIN, TRAIN, TRAIN]
    QTest.keyClick(vp, Qt.Key.Key_2)
    assert canvas.model.points.target.tolist() == [1, 1, 0]
    assert canvas.model.undo_stack.undoText() == "Relabel selection as orange"
    for _ in range(5):
        canvas.model.undo_stack.undo()
    assert canvas.model.points.target.tolist() == [0, 0, 0] and canvas.model.points.role.tolist() == [TRAIN] * 3
    # without a selection the keys do nothing here (they are left to the window)
    canvas.clear_selection()
    QTest.keyClick(vp, Qt.Key.Key_3)
    assert canvas.model.points.target.tolist() == [0, 0, 0]


def test_selection_keys_are_claimed_from_window_shortcuts(canvas, qtbot):
    from PySide6.QtGui import QAction, QKeySequence
    fired = []
    window_action = QAction("window T", canvas)
    window_action.setShortcut(QKeySequence("T"))
    window_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    window_action.triggered.connect(lambda: fired.append(1))
    canvas.addAction(window_action)
    _select_two(canvas)
    canvas.model.undo_stack.clear()
    canvas.set_selected_role(TEST)
    QTest.keyClick(canvas.plot_widget, Qt.Key.Key_T)
    assert canvas.model.points.role.tolist() == [TRAIN, TRAIN, TRAIN] and not fired


# -- big point sets stay interactive (issue 11 item 3, contract C7) ----------------------------------
def _big(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    return PointSet(rng.uniform(-4, 4, (n, 2)), rng.integers(0, 3, n).astype(float),
                    rng.integers(0, 3, n).astype(np.int8))


def _drawn_now(canvas):
    """Every point position on screen: the items' shown rows plus the movers' rows at their offsets."""
    parts = [np.column_stack([i.data["x"], i.data["y"]]) for i in canvas.point_items.values()]
    parts += [np.column_stack([m.data["x"], m.data["y"]]) + [m.pos().x(), m.pos().y()]
              for m in canvas._mover_items if m.isVisible()]
    drawn = np.concatenate(parts)
    return drawn[np.isfinite(drawn).all(axis=1)]


def test_dragging_a_big_selection_moves_it_with_one_undo_step_and_few_change_signals(canvas, monkeypatch, qtbot):
    import nnviz.ui.points_model as pm
    clock = [0.0]
    monkeypatch.setattr(pm.time, "monotonic", lambda: clock[0])   # a mouse move every 10 ms
    big = _big()
    # the flush timer runs on real time, which a loaded machine stretches: only the clock counts here
    monkeypatch.setattr(canvas.model._flush_timer, "start", lambda *_: None)
    canvas.model.replace_all(big)
    canvas.model.undo_stack.clear()
    announced, edited = [], []
    canvas.model.changed.connect(announced.append)
    canvas.model.edited.connect(edited.append)
    canvas.set_tool("select")
    sel = np.flatnonzero(big.xy[:, 0] < 1.0)                   # most of the points
    canvas._set_selection(sel)
    start = big.xy[sel[np.argmin(np.hypot(*(big.xy[sel] - [0, 0]).T))]]
    vp = canvas.plot_widget.viewport()
    QTest.mousePress(vp, LEFT, NOMOD, at(canvas, *start))
    for i in range(1, 13):
        clock[0] += 0.01
        QTest.mouseMove(vp, at(canvas, start[0] + 0.1 * i, start[1] - 0.05 * i))
        QApplication.processEvents()
        if i == 6:   # mid-drag: the selected points are drawn by translated movers, hidden in place
            assert canvas._live is not None and canvas._live["kind"] == "move"
            assert canvas.selection_item.pos().x() == pytest.approx(0.6, abs=TOL)
            drawn = sum(np.isfinite(item.data["x"]).sum() for item in canvas.point_items.values())
            assert drawn == len(big) - len(sel)
    QTest.mouseRelease(vp, LEFT, NOMOD, at(canvas, start[0] + 1.2, start[1] - 0.6))
    QApplication.processEvents()
    ps = canvas.model.points
    moved = ps.xy[sel] - big.xy[sel]
    assert np.allclose(moved, moved[0], atol=1e-9) and np.allclose(moved[0], [1.2, -0.6], atol=TOL)
    others = np.setdiff1d(np.arange(len(big)), sel)
    assert np.array_equal(ps.xy[others], big.xy[others])
    assert canvas.model.undo_stack.count() == 1                 # the whole drag is one undo step
    assert len(edited) >= 12 and 1 <= len(announced) <= 4       # <= 20/s to the window; last = final
    assert announced[-1] is ps
    # the items are handed back from the movers over the next event-loop turns; meanwhile the screen
    # already shows the model's points where the model has them
    assert canvas._live is None
    while canvas._settle is not None:
        shown = _drawn_now(canvas)
        assert len(shown) == len(ps)
        assert np.allclose(np.sort(shown, axis=0), np.sort(ps.xy, axis=0), atol=1e-9)
        canvas._settle_step()
    qtbot.waitUntil(lambda: canvas._settle is None)
    # what is drawn is exactly the model's points, at their new positions
    assert not any(m.isVisible() for m in canvas._mover_items)
    drawn = np.concatenate([np.column_stack([i.data["x"], i.data["y"]]) for i in canvas.point_items.values()])
    assert len(drawn) == len(ps) and np.isfinite(drawn).all()
    assert np.allclose(np.sort(drawn, axis=0), np.sort(ps.xy, axis=0))
    sel_item = canvas.selection_item    # may stay translated: its rows plus its offset are what is drawn
    sel_drawn = np.column_stack([sel_item.data["x"], sel_item.data["y"]]) + [sel_item.pos().x(), sel_item.pos().y()]
    assert np.allclose(sel_drawn, ps.xy[sel])
    canvas.model.undo_stack.undo()
    assert canvas.model.points == big


def test_big_erase_and_brush_strokes_draw_incrementally_and_end_exact(canvas):
    big = _big()
    canvas.model.replace_all(big)
    canvas.model.undo_stack.clear()
    canvas.set_tool("erase")
    canvas.set_brush_radius(0.5)
    drag(canvas, line((-3, 0), (3, 0), steps=10))
    ps = canvas.model.points
    assert len(ps) < len(big)
    assert not np.any((np.abs(ps.xy[:, 1]) < 0.5 - TOL) & (np.abs(ps.xy[:, 0]) < 3 - TOL))   # the swept band is empty
    drawn = sum(len(i.data) for i in canvas.point_items.values())
    assert drawn == len(ps) and all(np.isfinite(i.data["x"]).all() for i in canvas.point_items.values())
    assert canvas.model.undo_stack.count() == 1
    canvas.set_tool("brush")
    canvas.set_current_class(1)
    drag(canvas, line((-2, 3), (2, 3), steps=10))
    after = canvas.model.points
    assert len(after) > len(ps) and canvas.model.undo_stack.count() == 2
    assert len(canvas.stroke_item.data) == 0                     # the stroke's preview is folded in
    assert sum(len(i.data) for i in canvas.point_items.values()) == len(after)
    canvas.model.undo_stack.undo()
    canvas.model.undo_stack.undo()
    assert canvas.model.points == big
    assert sum(len(i.data) for i in canvas.point_items.values()) == len(big)


def test_undo_in_the_middle_of_a_big_stroke_redraws_the_truth(canvas):
    big = _big(5000)
    canvas.model.replace_all(big)
    canvas.set_tool("erase")
    vp = canvas.plot_widget.viewport()
    QTest.mousePress(vp, LEFT, NOMOD, at(canvas, -2, 0))
    QTest.mouseMove(vp, at(canvas, 0, 0))
    QTest.mouseMove(vp, at(canvas, 1, 0))
    assert canvas._live is not None
    canvas.model.undo_stack.undo()                               # undoes the replace, voids the stroke
    assert canvas._live is None and len(canvas.model.points) == 0
    QTest.mouseRelease(vp, LEFT, NOMOD, at(canvas, 1, 0))
    drawn = np.concatenate([np.column_stack([i.data["x"], i.data["y"]]) for i in canvas.point_items.values()])
    assert np.isfinite(drawn).all() and len(drawn) == len(canvas.model.points)


def test_points_model_rate_limits_changed_during_gestures_only(qtbot, monkeypatch):
    import nnviz.ui.points_model as pm
    clock = [100.0]
    monkeypatch.setattr(pm.time, "monotonic", lambda: clock[0])
    m = PointsModel(points([[0, 0], [1, 1]], 0))
    seen = []
    m.changed.connect(seen.append)
    m.begin_move([0])
    for i in range(10):                      # 10 steps within 45 ms: one announcement, the rest wait
        clock[0] += 0.005
        m.update_move([i * 0.1, 0])
    assert len(seen) == 1
    clock[0] += 0.1
    with qtbot.waitSignal(m.changed, timeout=1000):   # the pending step is announced by a timer
        pass
    assert seen[-1] is m.points
    m.update_move([5, 5])
    m.end_move()                             # the final state is always announced at the end
    assert seen[-1] is m.points and m.points.xy[0].tolist() == [5, 5]
    n = len(seen)
    m.add_points([2, 2], 0, TRAIN)           # outside gestures: every change at once
    m.add_points([3, 3], 0, TRAIN)
    assert len(seen) == n + 2


# -- nothing NaN reaches pyqtgraph's bounds (monkey finding F2) ------------------------------------
@contextmanager
def warnings_fail_the_test():
    """Every Python warning inside fails the test, like ``-W error`` but after the actions: a warning
    raised as an exception inside a Qt virtual (pyqtgraph's boundingRect) would crash the process."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        yield
    assert not seen, "warnings: " + "; ".join(f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
                                              for w in seen)


#: /work/coord/monkey_logs/f2-erase-all-nan-warning.jsonl (the monkey's actions; data coordinates)
F2_LOG = [
    (0, "class_button", {"name": "class.3"}),
    (1, "click", {"x": 0.5, "y": 0.5, "button": "left", "shift": False}),
    (2, "stroke", {"tool": "erase", "path": [[0.0, 0.5], [0.5, 0.5], [1.0, 0.5]]}),
]


def test_monkey_f2_erasing_the_only_point_of_a_class_warns_nothing(canvas, qtbot):
    """Erasing the last point of a class left its scatter all-NaN mid-stroke, and pyqtgraph's bounds
    (np.nanmin) warned "All-NaN slice encountered" on every repaint of the stroke."""
    with warnings_fail_the_test():
        _replay_f2(canvas, qtbot)
    assert len(canvas.model.points) == 0 and canvas.model.undo_stack.count() == 2
    assert all(len(item.data) == 0 for item in canvas.point_items.values())


def _replay_f2(canvas, qtbot):
    from nnviz.ui.data_panel import DataPanel
    panel = DataPanel()
    qtbot.addWidget(panel)
    panel.tool_changed.connect(canvas.set_tool)                    # wired as the window wires them
    panel.current_class_changed.connect(canvas.set_current_class)
    buttons = {b.objectName(): b for b in panel.findChildren(type(panel._tool_buttons["add"]))}
    for _i, action, args in F2_LOG:
        if action == "class_button":
            buttons[args["name"]].click()
        elif action == "click":
            click(canvas, args["x"], args["y"])
        else:
            buttons[f"tool.{args['tool']}"].click()
            vp = canvas.plot_widget.viewport()
            path = args["path"]
            QTest.mousePress(vp, LEFT, NOMOD, at(canvas, *path[0]))
            for x, y in path[1:]:
                QTest.mouseMove(vp, at(canvas, x, y))
                if canvas._live is not None:                   # mid-stroke: the class's item is all hidden
                    item = canvas.point_items[(TRAIN, 3)]
                    assert len(item.data) == 1 and np.isnan(item.data["x"]).all()
                canvas.grab()                                  # repaint: bounds of every item
            QTest.mouseRelease(vp, LEFT, NOMOD, at(canvas, *path[-1]))
        if _i == 1:
            assert canvas.model.points.target.tolist() == [3.0]
    canvas.grab()


def test_dragging_every_point_of_a_class_hides_its_items_without_warnings(canvas):
    """A big drag hides the moving points in their items (NaN) and draws them in movers: moving all
    the points leaves every item all-hidden, which has no bounds rather than a warning."""
    big = _big(600)
    canvas.model.replace_all(big)
    canvas.set_tool("select")
    canvas.select_all()
    start = big.xy[np.argmin(np.hypot(*big.xy.T))]
    vp = canvas.plot_widget.viewport()
    with warnings_fail_the_test():
        QTest.mousePress(vp, LEFT, NOMOD, at(canvas, *start))
        for i in range(1, 4):
            QTest.mouseMove(vp, at(canvas, start[0] + 0.2 * i, start[1]))
            canvas.grab()
        assert canvas._live is not None and canvas._live["kind"] == "move"
        assert all(np.isnan(item.data["x"]).all() for item in canvas.point_items.values())
        assert all(item.dataBounds(ax) == (None, None) for item in canvas.point_items.values() for ax in (0, 1))
        QTest.mouseRelease(vp, LEFT, NOMOD, at(canvas, start[0] + 0.6, start[1]))
        canvas.grab()
        while canvas._settle is not None:    # the items come back one per event-loop turn
            canvas._settle_step()
            canvas.grab()
    assert np.allclose(canvas.model.points.xy - big.xy, [0.6, 0], atol=TOL)
    ps = canvas.model.points
    train0 = ps.xy[(ps.role == TRAIN) & (ps.target == 0), 0]
    assert canvas.point_items[(TRAIN, 0)].dataBounds(0) == pytest.approx((train0.min(), train0.max()))


def test_empty_roles_nan_fields_and_nan_predictions_reach_pyqtgraph_clean(canvas):
    """Other ways NaN or nothing could reach pyqtgraph: roles and classes with no point (empty
    items), a regression set with one role only, fields that are NaN everywhere, NaN predictions."""
    with warnings_fail_the_test():
        _nan_and_empty_inputs(canvas)


def _nan_and_empty_inputs(canvas):
    canvas.model.replace_all(points([[0, 0], [1, 1], [2, 2]], [0, 1, 1]))
    canvas.set_predictions(np.array([np.nan, 0.0, np.nan]))
    canvas.set_highlight_misclassified(True)
    assert len(canvas.halo_item.data) == 1                 # an unknown prediction is not a mistake
    for mode, shape in (("binary", (8, 8)), ("multiclass", (8, 8, 3)), ("regression", (8, 8))):
        canvas.set_boundary(np.full(shape, np.nan, np.float32), (-1, 1, -1, 1), mode)
        canvas.set_discretize(mode == "multiclass")
        canvas.grab()
        assert np.isfinite(canvas.boundary_item.image).all()
        assert len(canvas.contour_item.xData) == 0
    canvas.model.replace_all(points([[0, 0], [1, 0]], [2.5, -0.5]))   # regression: train role only
    canvas.set_value_range(None)
    canvas.grab()
    assert len(canvas.point_items[(TRAIN, 0)].data) == 2
    assert all(len(item.data) == 0 for key, item in canvas.point_items.items() if key != (TRAIN, 0))
    canvas.model.replace_all(PointSet(np.zeros((0, 2)), np.zeros(0), np.zeros(0, np.int8)))
    canvas.set_value_range(None)
    canvas.grab()
    assert all(item.dataBounds(0) == (None, None) for item in canvas.point_items.values())


def test_an_edit_while_a_big_drag_is_settling_draws_the_truth(canvas):
    """The items of a big drag come back over several event-loop turns; an undo, a new selection or a
    new gesture in between finishes that at once, and what is drawn is the model's points."""
    big = _big(3000)
    canvas.model.replace_all(big)
    canvas.set_tool("select")
    canvas.select_all()
    start = big.xy[np.argmin(np.hypot(*big.xy.T))]
    vp = canvas.plot_widget.viewport()

    def big_drag():
        canvas.select_all()
        xy = canvas.model.points.xy
        start = xy[np.argmin(np.hypot(*xy.T))]
        QTest.mousePress(vp, LEFT, NOMOD, at(canvas, *start))
        for i in range(1, 4):
            QTest.mouseMove(vp, at(canvas, start[0] + 0.2 * i, start[1]))
        QTest.mouseRelease(vp, LEFT, NOMOD, at(canvas, start[0] + 0.6, start[1]))
        assert canvas._settle is not None

    def drawn_is_model():
        assert canvas._settle is None and not any(m.isVisible() for m in canvas._mover_items)
        ps = canvas.model.points
        drawn = np.concatenate([np.column_stack([i.data["x"], i.data["y"]]) for i in canvas.point_items.values()])
        assert len(drawn) == len(ps) and np.isfinite(drawn).all()
        assert np.allclose(np.sort(drawn, axis=0), np.sort(ps.xy, axis=0))
        item = canvas.selection_item
        sel = np.column_stack([item.data["x"], item.data["y"]]) + [item.pos().x(), item.pos().y()]
        assert np.allclose(sel, ps.xy[canvas.selected_indices])

    big_drag()
    canvas.model.undo_stack.undo()                 # undo mid-settle
    drawn_is_model()
    assert canvas.model.points == big
    big_drag()
    canvas._settle_step()
    canvas._set_selection(np.arange(10))           # a new selection mid-settle
    drawn_is_model()
    big_drag()
    canvas.set_tool("erase")                       # a new gesture mid-settle
    drag(canvas, [(0, 0), (0.5, 0.5)])
    drawn_is_model()
    canvas.set_tool("select")                      # a settled drag, then a new selection and undo
    big_drag()
    while canvas._settle is not None:
        canvas._settle_step()
    drawn_is_model()
    canvas._set_selection(np.arange(5))
    assert canvas.selection_item.pos().x() == 0
    drawn_is_model()
    canvas.model.undo_stack.undo()
    canvas.select_all()
    drawn_is_model()
    assert canvas.selection_item.pos().x() == 0
