"""The network view (nnviz.ui.network_view), its Qt-free geometry (nnviz.network_layout) and the canvas's unit
heatmap, driven with frames from a real training session and real mouse events."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QUndoStack
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from engine_data import blobs, circle
from nnviz import network_layout as nl
from nnviz.engine.config import FEATURES, ExperimentConfig
from nnviz.errors import DataError
from nnviz.session import messages as m
from nnviz.session.core import TrainingSession
from nnviz.ui.canvas import PointCanvas
from nnviz.ui.config_model import ConfigModel
from nnviz.ui.network_view import NetworkView
from nnviz.ui.points_model import PointsModel

EXTENT = (-6.0, 6.0, -6.0, 6.0)


def make_config(hidden=(4, 3), features=("x1", "x2"), dropout=0.0, activation="tanh"):
    c = ExperimentConfig()
    c.architecture.hidden_layers = list(hidden)
    c.architecture.features = list(features)
    c.architecture.activation = activation
    c.regularization.dropout = dropout
    return c


def snapshot(config, epochs=5, points=None, resolution=24):
    """A snapshot with a network frame, from the production session."""
    s = TrainingSession()
    s.handle(m.SetExperiment(config, points if points is not None else circle(), 1))
    s.handle(m.SetView(EXTENT, 50, 50))
    s.handle(m.SetNetworkView(True, resolution))
    if epochs:
        s.handle(m.Step(epochs))
        s.work(100.0)
    snap = s.snapshot()
    assert snap.network is not None
    return snap


def make_view(qtbot, config, size=(600, 420)):
    model = ConfigModel(config, QUndoStack())
    view = NetworkView(model)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return view, model


def move(view, point: QPointF) -> None:
    """A mouse move with no button (hover), delivered as Qt delivers one."""
    global_pos = view.mapToGlobal(point.toPoint()).toPointF()
    event = QMouseEvent(QEvent.Type.MouseMove, point, global_pos, Qt.MouseButton.NoButton,
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view, event)


def leave(view) -> None:
    QApplication.sendEvent(view, QEvent(QEvent.Type.Leave))


def test_a_real_sessions_frame_has_the_right_shapes():
    snap = snapshot(make_config(hidden=(5, 3), features=("x1", "x2", "sin_x1")), resolution=16)
    f = snap.network
    assert f.features == ("x1", "x2", "sin_x1") and f.extent == EXTENT and f.resolution == 16
    assert f.inputs.shape == (3, 16, 16) and f.output.shape == (1, 16, 16)
    assert [h.shape for h in f.hidden] == [(5, 16, 16), (3, 16, 16)]
    assert [(W.shape, b.shape) for W, b in f.weights] == [((3, 5), (5,)), ((5, 3), (3,)), ((3, 1), (1,))]
    assert all(a.dtype == np.float32 for a in [f.inputs, f.output, *f.hidden])


def test_hovering_a_neuron_emits_its_heatmap_and_leaving_clears_it(qtbot):
    snap = snapshot(make_config())
    view, _ = make_view(qtbot, make_config())
    view.set_frame(snap)
    seen = []
    view.unit_hovered.connect(seen.append)
    move(view, view.node_center("hidden", 2, layer=0))
    title, values, extent, levels = seen[-1]
    f = snap.network
    assert "Layer 1, neuron 3" in title
    np.testing.assert_array_equal(values, f.hidden[0][2])
    assert extent == EXTENT and levels == (-1.0, 1.0)           # tanh
    assert "Layer 1, neuron 3" in view.hover_text() and "bias" in view.hover_text()
    # a new frame while hovered: the new heatmap follows
    snap2 = snapshot(make_config(), epochs=30)
    view.set_frame(snap2)
    np.testing.assert_array_equal(seen[-1][1], snap2.network.hidden[0][2])
    # the output and an input
    move(view, view.node_center("output", 0))
    assert seen[-1][0].startswith("Output") and seen[-1][3] == (0.0, 1.0)
    np.testing.assert_array_equal(seen[-1][1], snap2.network.output[0])
    move(view, view.node_center("input", FEATURES.index("x2")))
    np.testing.assert_array_equal(seen[-1][1], snap2.network.inputs[1])
    leave(view)
    assert seen[-1] is None and view.hover_text() == ""


def test_hovering_an_edge_shows_its_weight(qtbot):
    config = make_config(hidden=(3, 2))
    snap = snapshot(config)
    view, _ = make_view(qtbot, config)
    view.set_frame(snap)
    W = snap.network.weights[1]   # layer 1 -> layer 2: (3, 2)
    # an edge whose middle is well clear of every other drawn edge
    segs = np.concatenate([e[0] for e in view._edges])
    for i in range(3):
        for j in range(2):
            p = view.edge_midpoint(1, i, j)
            d = nl.segment_distance(p.x(), p.y(), segs)
            if np.sort(d)[1] > 6:
                break
        else:
            continue
        break
    else:
        pytest.skip("every edge crosses another at its middle")
    seen = []
    view.unit_hovered.connect(seen.append)
    move(view, p)
    text = view.hover_text()
    assert text.startswith(f"Weight neuron 1.{i + 1} \u2192 neuron 2.{j + 1}: ") and f"{W[0][i, j]:+.4g}" in text
    assert view._hover[0] == "edge" and seen == []   # no unit heatmap for an edge
    # the input edges name the feature
    p = view.edge_midpoint(0, FEATURES.index("x2"), 0)
    move(view, QPointF(p.x(), p.y()))
    if view._hover and view._hover[0] == "edge":
        assert view.hover_text().startswith("Weight x")


def test_dropped_units_are_greyed_while_training_with_dropout(qtbot):
    config = make_config(hidden=(8, 6), dropout=0.5)
    snap = snapshot(config)
    view, _ = make_view(qtbot, config)
    view.set_frame(snap)
    greyed = view.greyed_units()
    assert [len(g) for g in greyed] == [8, 6]
    for g, keep in zip(greyed, snap.dropout_keep):
        np.testing.assert_array_equal(g, ~keep)
    assert any(g.any() for g in greyed)
    unit = int(np.flatnonzero(greyed[0])[0])
    move(view, view.node_center("hidden", unit, layer=0))
    assert "dropped" in view.hover_text()
    view.render_scene()
    # no dropout: nothing greyed
    plain = snapshot(make_config(hidden=(8, 6)))
    view.set_frame(plain)
    assert not any(g.any() for g in view.greyed_units())


def test_clicking_an_input_toggles_the_feature_undoably(qtbot):
    config = make_config()
    view, model = make_view(qtbot, config)
    view.set_frame(snapshot(config))
    point = view.node_center("input", FEATURES.index("x1^2")).toPoint()
    QTest.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    assert model.value("architecture", "features") == ["x1", "x2", "x1^2"]
    QTest.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.node_center("input", 0).toPoint())
    assert model.value("architecture", "features") == ["x2", "x1^2"]
    model.undo_stack.undo()
    assert model.value("architecture", "features") == ["x1", "x2"]
    # the last feature cannot go
    model.set_field("architecture", "features", ["x2"])
    messages = []
    view.message.connect(messages.append)
    QTest.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.node_center("input", 1).toPoint())
    assert model.value("architecture", "features") == ["x2"] and "at least one" in messages[0]


@pytest.mark.parametrize("hidden", [(), (32,) * 10, (64, 40, 300)])
def test_small_large_and_summarised_nets_render(qtbot, tmp_path, hidden):
    config = make_config(hidden=hidden)
    snap = snapshot(config, epochs=1)
    view, _ = make_view(qtbot, config, size=(900, 600))
    view.set_frame(snap)
    assert view.render_scene() > 0
    assert view.grab().save(str(tmp_path / "net.png"))
    f = snap.network
    assert f.summarised == (hidden == (64, 40, 300))
    if f.summarised:
        # a summarised layer is a block of tiles: hovering one emits that unit's map
        seen = []
        view.unit_hovered.connect(seen.append)
        move(view, view.node_center("hidden", 299, layer=2))
        np.testing.assert_array_equal(seen[-1][1], f.hidden[2][299])
        move(view, QPointF((view.node_center("input", 0).x() + view.node_center("hidden", 0).x()) / 2, 300))
        assert "mean |w|" in view.hover_text()
    elif hidden:
        # dense layers draw only their strongest edges
        assert max(len(e[0]) for e in view._edges) == nl.MAX_EDGES
    view.set_large(True)
    view.render_scene()


def test_multiclass_output_and_frames_without_network(qtbot):
    config = make_config()
    snap = snapshot(config, points=blobs(k=3))
    view, _ = make_view(qtbot, config)
    view.set_frame(snap)
    seen = []
    view.unit_hovered.connect(seen.append)
    move(view, view.node_center("output", 2))
    assert "class 2" in seen[-1][0]
    np.testing.assert_array_equal(seen[-1][1], snap.network.output[2])
    # a snapshot without a frame keeps the last frame; the gradient bars take its rows
    import dataclasses
    later = dataclasses.replace(snap, network=None)
    view.set_frame(later)
    assert view.frame is snap.network


def test_layout_hit_tests_and_scales():
    lay = nl.layout(7, [4, 2], 1, 420, 360)
    assert len(lay.columns) == 4 and [c.count for c in lay.columns] == [7, 4, 2, 1]
    for c, col in enumerate(lay.columns):
        for i in range(col.count):
            x, y, w, h = col.rect(i)
            assert 0 <= x and x + w <= 420 and nl.HEADER <= y and y + h <= 360 - nl.FOOTER
            assert lay.hit_node(x + w / 2, y + h / 2) == (c, i)
    assert lay.hit_node(2, 2) is None
    segs = nl.edge_segments(lay, 1)
    assert segs.shape == (8, 4)
    assert nl.segment_distance(segs[0, 0], segs[0, 1], segs)[0] == 0
    assert nl.segment_distance(0.0, 0.0, np.array([[0.0, 3.0, 4.0, 3.0]]))[0] == 3.0
    # levels: thin for small weights, the biggest at the top level
    assert nl.edge_levels(np.array([0.0, 0.5, -1.0]), 1.0).tolist() == [0, 4, nl.EDGE_LEVELS - 1]
    assert nl.strongest(np.array([0.1, -3, 2, 0.5]), 2).tolist() == [1, 2]
    fractions, top = nl.gradient_fractions([1e-1, 1e-4, 0.0, np.nan])
    assert top == -1 and fractions[0] == 1 and fractions[2] == fractions[3] == 0
    assert fractions[1] == pytest.approx(3 / 6)   # 1e-4 is 3 powers of ten above the bottom, 1e-7
    # colours: the LUT's ends at the levels' ends, rows flipped (row 0 of a map is ymin)
    lut = np.arange(256 * 4, dtype=np.uint8).reshape(256, 4)
    rgba = nl.colorize(np.array([[[-1.0, 1.0], [0.0, 0.0]]]), (-1, 1), lut)
    assert rgba[0, 1, 0].tolist() == lut[0].tolist() and rgba[0, 1, 1].tolist() == lut[255].tolist()
    # a summarised layer: tiles, unit u at row u // grid
    lay = nl.layout(7, [300], 1, 900, 600, summarised=True)
    col = lay.columns[1]
    assert col.strip and col.grid * col.rows >= 300
    x, y, w, h = col.rect(299)
    assert lay.hit_node(x + w / 2, y + h / 2) == (1, 299)


# -- the canvas's unit heatmap ---------------------------------------------------------------------------------

def test_canvas_shows_a_unit_heatmap_instead_of_the_boundary(qtbot):
    c = PointCanvas(PointsModel())
    qtbot.addWidget(c)
    boundary = np.linspace(0, 1, 20 * 20, dtype=np.float32).reshape(20, 20)
    c.set_boundary(boundary, EXTENT, "binary")
    assert len(c.contour_item.getData()[0]) > 0
    unit = np.linspace(-1, 1, 8 * 8, dtype=np.float32).reshape(8, 8)
    c.show_unit_heatmap(unit, (-2, 2, -3, 3), (-1, 1))
    item = c.boundary_item
    np.testing.assert_array_equal(item.image, unit)
    assert item.levels.tolist() == [-1, 1] and item.isVisible()
    r = item.mapRectToParent(item.boundingRect())
    assert (r.x(), r.y(), r.width(), r.height()) == pytest.approx((-2, -3, 4, 6))
    assert len(c.contour_item.getData()[0]) == 0
    # new boundaries keep coming while the unit is shown: they wait underneath
    c.set_boundary(boundary[::-1].copy(), EXTENT, "binary")
    np.testing.assert_array_equal(item.image, unit)
    c.show_unit_heatmap(None)
    np.testing.assert_array_equal(item.image, boundary[::-1])
    assert len(c.contour_item.getData()[0]) > 0 and c.unit_heatmap is None
    # defaults: the boundary's extent, symmetric levels; bad input is refused, not drawn
    c.show_unit_heatmap(unit * 3)
    assert c.unit_heatmap[1] == EXTENT and c.unit_heatmap[2] == pytest.approx((-3, 3))
    with pytest.raises(DataError):
        c.show_unit_heatmap(np.zeros(5))
    with pytest.raises(DataError):
        c.show_unit_heatmap(unit, (1, 0, 0, 1))
    c.show_unit_heatmap(None)
    c.clear_boundary()
    c.show_unit_heatmap(unit)           # no boundary: over the view
    c.show_unit_heatmap(None)
    assert not item.isVisible()


def test_while_playing_the_latest_snapshot_is_drawn_at_a_bounded_rate(qtbot):
    import dataclasses
    config = make_config(hidden=(6, 6), dropout=0.3)
    first, second, third = (snapshot(config, epochs=e) for e in (1, 2, 3))
    view, _ = make_view(qtbot, config)
    seen = []
    view.unit_hovered.connect(seen.append)
    view.set_frame(dataclasses.replace(first, playing=True))        # nothing drawn yet: at once
    assert view.frame is first.network and not view.waiting()
    move(view, view.node_center("hidden", 0, layer=1))
    view.render_scene()
    view._next_due = max(view._next_due, time.perf_counter() + 0.05)   # a dear view
    view.set_frame(dataclasses.replace(second, playing=True))
    view.set_frame(dataclasses.replace(third, playing=True, network=None))   # no frame: the second's waits
    assert view.waiting() and view.frame is first.network
    qtbot.waitUntil(lambda: not view.waiting(), timeout=5000)
    assert view.frame is second.network
    np.testing.assert_array_equal(seen[-1][1], second.network.hidden[1][0])   # the hovered unit followed
    for g, keep in zip(view.greyed_units(), third.dropout_keep):   # the latest snapshot's masks
        np.testing.assert_array_equal(g, ~keep)
    view._next_due = time.perf_counter() + 10
    view.set_frame(first)                                            # a still: drawn at once
    assert view.frame is first.network and not view.waiting()
    view.hide()                                                      # hidden under the pointer: hover ends
    assert seen[-1] is None
