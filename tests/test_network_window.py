"""The network view in the real main window: frames only while it is shown, hover on the canvas, the
central large mode, dropped units while training with dropout, and a feature toggle reaching the session."""
import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from engine_data import circle
from nnviz.engine import ExperimentConfig
from nnviz.experiment import Experiment
from nnviz.ui.main_window import MainWindow
from nnviz.ui.session_client import InProcessSessionClient


@pytest.fixture
def window(qtbot, tmp_path):
    c = ExperimentConfig()
    c.architecture.hidden_layers = [4, 3]
    c.regularization.dropout = 0.5
    w = MainWindow(InProcessSessionClient(), settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat),
                   experiment=Experiment(c, circle(), name="Net test"))
    qtbot.addWidget(w, before_close_func=lambda w: w.forget_unsaved())
    w.resize(1440, 900)
    w.show()
    return w


def move(view, point: QPointF) -> None:
    event = QMouseEvent(QEvent.Type.MouseMove, point, view.mapToGlobal(point.toPoint()).toPointF(),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view, event)


def test_frames_come_only_while_the_view_is_shown_and_hover_shows_a_unit_on_the_canvas(window, qtbot):
    window.step()
    window.client.pump()
    assert window.last_snapshot.network is None           # hidden: the session computes no heatmaps
    window.show_network_view(True)
    window.step()
    window.client.pump()
    frame = window.last_snapshot.network
    assert frame is not None and [h.shape[0] for h in frame.hidden] == [4, 3]
    view = window.network_view
    view.flush()
    move(view, view.node_center("hidden", 1, layer=0))
    assert window.canvas.unit_heatmap is not None
    np.testing.assert_array_equal(window.canvas.unit_heatmap[0], frame.hidden[0][1])
    QApplication.sendEvent(view, QEvent(QEvent.Type.Leave))
    assert window.canvas.unit_heatmap is None
    # dropped units of the last step are greyed (dropout 0.5: some are)
    greyed = view.greyed_units()
    keep = window.last_snapshot.dropout_keep
    assert [g.tolist() for g in greyed] == [(~k).tolist() for k in keep] and any(g.any() for g in greyed)
    window.show_network_view(False)
    window.step()
    window.client.pump()
    assert window.last_snapshot.network is None


def test_clicking_an_input_changes_the_sessions_features(window, qtbot):
    window.show_network_view(True)
    window.step()
    window.client.pump()
    view = window.network_view
    view.flush()
    assert "x1*x2" not in window.config_model.config.architecture.features
    assert view.toggle_feature("x1*x2")
    window.client.pump(0)
    assert "x1*x2" in window.client.session.trainer.config.architecture.features
    window.undo_stack.undo()
    window.client.pump(0)
    assert "x1*x2" not in window.client.session.trainer.config.architecture.features


def test_network_in_the_centre_and_back(window, qtbot):
    window.act_network_large.trigger()
    assert window.network_large and window.network_view.isVisible() and not window.network_dock.isVisible()
    assert window.network_view.width() > window.canvas.width() * 0.8
    window.step()
    window.client.pump()
    assert window.last_snapshot.network is not None
    window.act_network_large.trigger()
    assert not window.network_large and window.network_dock.widget() is window.network_view
