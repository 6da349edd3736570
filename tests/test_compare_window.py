"""Compare mode and pins in the real main window: runs side by side on one document."""
import os

import numpy as np
import pytest

from engine_data import circle
from nnviz.engine import ExperimentConfig
from nnviz.experiment import Experiment, load_experiment
from nnviz.presets import get_preset
from nnviz.ui.main_window import MainWindow
from nnviz.ui.session_client import InProcessSessionClient, ProcessSessionClient

RELU = {"architecture": {"activation": "relu"}}
L2 = {"regularization": {"l2": 0.03}}
WIDE = {"architecture": {"hidden_layers": [16, 16]}}


def experiment():
    c = ExperimentConfig()
    c.architecture.hidden_layers = [4, 4]
    return Experiment(c, circle(), name="Circle test", description="A test lesson.")


@pytest.fixture
def window(qtbot, settings):
    w = MainWindow(InProcessSessionClient(), settings=settings, experiment=experiment())
    qtbot.addWidget(w, before_close_func=lambda w: w.forget_unsaved())
    w.show()
    return w


def pump_all(window, epochs=None):
    for run in window.compare.runs:
        run.client.pump(epochs)
    for run in window.compare.runs:
        run.client.pump(0)


def sessions(window):
    return [run.client.session for run in window.compare.runs]


def legend_labels(plot):
    return [label.text for _, label in plot.legend.items]


def pinned(label, plot) -> bool:
    """The pin's label is in the plot's legend (long names are cut there, with "…")."""
    want = "pin: " + label
    return any(shown == want or (shown.endswith("…") and want.startswith(shown[:-1]))
               for shown in legend_labels(plot))


def test_compare_with_adds_a_run_with_one_setting_changed_and_its_tile(window):
    assert not window.compare.active and window.tile_grid.count == 1
    assert window.compare_with(RELU)
    assert window.compare.active and window.tile_grid.count == 2
    doc = window.document
    assert [v.changes for v in doc.comparison] == [{}, RELU]
    labels = window.compare.labels
    assert labels[1].lower() == "relu" and labels[0].lower() == "tanh"   # each named by what differs
    configs = [s.trainer.config for s in sessions(window)]
    assert [c.architecture.activation for c in configs] == ["tanh", "relu"]
    assert configs[0].architecture.hidden_layers == configs[1].architecture.hidden_layers == [4, 4]
    assert window.is_modified()
    # the Model panel edits run A's settings, and every run follows except where it differs
    window.config_model.set_field("optimizer", "learning_rate", 0.1)
    pump_all(window, 0)
    configs = [s.trainer.config for s in sessions(window)]
    assert [c.optimizer.learning_rate for c in configs] == [0.1, 0.1]
    assert configs[1].architecture.activation == "relu"


def test_four_runs_share_the_points_and_the_transport(window):
    for changes in (RELU, L2, WIDE):
        assert window.compare_with(changes)
    assert len(window.compare.runs) == 4 and window.tile_grid.count == 4
    assert not window.compare_with({"optimizer": {"learning_rate": 1.0}})   # at most four runs
    # a point edit reaches every run
    before = len(window.points_model.points)
    window.points_model.add_points(np.array([[0.5, 0.5]]), np.array([1]), np.array([0]))
    window.step()
    pump_all(window)
    for s in sessions(window):
        assert s.points_version == window.document.points_version
        assert len(s.trainer.points) == before + 1
    # Step acted on every run, and each tile shows its own run
    assert [s.trainer.epoch for s in sessions(window)] == [1, 1, 1, 1]
    for i in range(1, 4):
        assert "epoch 1" in window.tile_grid.caption_text(i)
    # Reset acts on all
    window.reset_weights()
    pump_all(window, 0)
    assert [s.trainer.epoch for s in sessions(window)] == [0, 0, 0, 0]
    # the curves of every run are in the loss plot, named
    window.step()
    pump_all(window)
    window._refresh_plots(all_now=True)   # plots refresh at a bounded rate; a test does not wait for it
    names = legend_labels(window.loss_plot)
    for label in window.compare.labels:
        assert label in names


def test_lock_step_keeps_runs_at_one_epoch(window):
    window.compare_with(WIDE)
    window.play()
    for _ in range(20):
        pump_all(window, 7)
    window.pause()
    pump_all(window, 0)
    epochs = [s.trainer.epoch for s in sessions(window)]
    assert max(epochs) - min(epochs) <= window.compare._quantum_now() and min(epochs) > 0


def test_removing_and_stopping_comparison(window):
    window.compare_with(RELU)
    window.compare_with(L2)
    window.remove_run(1)
    assert [v.label for v in window.document.comparison][1:] == [window.compare.labels[1]] == ["L2 0.03"]
    assert window.tile_grid.count == 2
    window.stop_comparing()
    assert not window.compare.active and window.tile_grid.count == 1
    assert window.act_play.text() == "Play"


def test_pin_keeps_a_faded_copy_through_reset_and_setting_changes(window):
    window.step()
    pump_all(window, 30)
    assert window.pin_run()
    pin = window.pins.pins[0]
    assert len(pin.history) == len(window.history) > 0 and pin.history is not window.history
    assert pinned(pin.label, window.loss_plot)
    window.reset_weights()
    window.config_model.set_field("architecture", "activation", "relu")
    pump_all(window, 0)
    assert len(window.pins.pins) == 1 and pinned(pin.label, window.loss_plot)
    assert window.pins_dock.isVisible()
    key = window.pins.pins[0].key
    window.pins.rename(key, "before ReLU")
    assert pinned("before ReLU", window.loss_plot)
    window.pins.remove(key)
    assert not any("before ReLU" in label for label in legend_labels(window.loss_plot))


def test_save_and_open_keep_the_comparison_with_every_runs_weights(window, tmp_path, qtbot, settings):
    window.compare_with(RELU)
    window.step()
    pump_all(window, 5)
    path = str(tmp_path / "cmp.nnviz")
    assert window.save_to(path)
    exp = load_experiment(path)
    assert exp.comparison is not None and len(exp.comparison) == 1
    assert exp.comparison[0]["changes"] == RELU and exp.comparison[0]["weights"] is not None
    assert len(exp.comparison[0]["history"]) == len(exp.history) == 6
    other = MainWindow(InProcessSessionClient(), settings=settings)
    qtbot.addWidget(other, before_close_func=lambda w: w.forget_unsaved())
    assert other.open_path(path)
    pump_all(other, 0)
    assert other.compare.active and other.compare.labels == window.compare.labels
    w_saved = exp.comparison[0]["weights"][0][0]
    np.testing.assert_array_equal(other.compare.runs[1].client.session.trainer.weights()[0][0], w_saved)
    assert other.compare.runs[1].client.session.trainer.epoch == 6


def test_comparison_lesson_opens_every_run(window):
    window.open_preset("sigmoid-vs-relu")
    preset = get_preset("sigmoid-vs-relu")
    assert window.compare.labels == [r.label for r in preset.runs]
    assert window.tile_grid.count == len(preset.runs)


def test_plot_sizes_at_1440x900(window, qtbot):
    window.resize(1440, 900)
    window._default_dock_sizes(window.size())
    qtbot.wait(50)
    assert window.loss_plot.view_box.height() >= 240      # the data area of the loss plot
    assert window.gradient_plot.view_box.height() >= 200
    assert window.canvas.height() >= 300                 # and the canvas keeps room
    # a bigger window: the plots keep their share (the canvas does not take everything)
    before = window.loss_dock.height()
    window.resize(2560, 1440)
    qtbot.waitUntil(lambda: window.height() == 1440, timeout=2000)
    qtbot.wait(50)
    assert window.loss_dock.height() >= before * 1.4
    assert window.loss_dock.height() >= 0.35 * window.height()


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_one_child_per_run_and_none_left_after_close(qtbot, settings):
    w = MainWindow(ProcessSessionClient(), settings=settings)
    qtbot.addWidget(w, before_close_func=lambda w: w.forget_unsaved())
    w.open_preset("learning-rates")   # three runs
    w.compare_with({"optimizer": {"batch_size": 50}})
    pids = [run.client.pid for run in w.compare.runs]
    assert len(pids) == 4 and len(set(pids)) == 4 and all(p is not None for p in pids)
    assert all(_running(p) for p in pids) and os.getpid() not in pids
    w.forget_unsaved()
    w.close()
    assert not any(_running(p) for p in pids)
