"""The real main window, driven through its widgets and a real (in-process or child-process) session."""
import os

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from engine_data import circle
from nnviz.data.points import PointSet
from nnviz.engine import ExperimentConfig
from nnviz.experiment import Experiment, load_experiment
from nnviz.ui.main_window import MainWindow
from nnviz.ui.session_client import InProcessSessionClient, ProcessSessionClient


def experiment(**arch):
    c = ExperimentConfig()
    for k, v in arch.items():
        setattr(c.architecture, k, v)
    return Experiment(c, circle(), name="Circle test", description="A test lesson.")


@pytest.fixture
def window(qtbot, settings):
    client = InProcessSessionClient()
    w = MainWindow(client, settings=settings, experiment=experiment())
    qtbot.addWidget(w, before_close_func=_discard_changes)
    w.show()
    return w


def _discard_changes(w):
    w.forget_unsaved()   # pytest-qt closes the window: no "save changes?" question


def trainer(w):
    return w.client.session.trainer


def test_loads_experiment_and_trains_on_step(window):
    assert len(trainer(window).points) == len(circle())
    window.act_step.trigger()
    window.client.pump()
    assert trainer(window).epoch == 1
    assert len(window.history) == 1 and window.last_snapshot.boundary is not None
    window.client.pump(20)
    window.client.pump(0)
    assert len(window.history) == 21
    assert window.loss_plot.history is window.history


def test_play_and_pause(window):
    window.act_play.trigger()
    assert window.client.session.playing and window.act_play.text() == "Pause"
    window.client.pump()
    window.client.pump()
    assert trainer(window).epoch > 0
    window.act_play.trigger()
    assert not window.client.session.playing
    epoch = trainer(window).epoch
    window.client.pump()
    assert trainer(window).epoch == epoch


def test_control_change_reaches_the_trainer_live(window, qtbot):
    window.client.pump(10)
    weights = trainer(window).network.params.copy()
    spin = window.control_panel.findChild(object, "optimizer.learning_rate")
    spin.setValue(0.3)
    spin.editingFinished.emit()
    assert trainer(window).config.optimizer.learning_rate == pytest.approx(0.3)
    assert trainer(window).epoch == 10                       # live: no reset
    np.testing.assert_array_equal(trainer(window).network.params, weights)
    # an architecture change resets, and the window says so
    window.config_model.set_field("architecture", "hidden_layers", [6])
    assert trainer(window).network.sizes == [2, 6, 1] and trainer(window).epoch == 0


def test_point_edits_reach_the_trainer_and_undo(window):
    n = len(window.points_model.points)
    window.points_model.add_points([[0.5, 0.5]], [1], [0])
    assert len(trainer(window).points) == n + 1
    window.act_undo.trigger()
    assert len(trainer(window).points) == n
    window.act_redo.trigger()
    assert len(trainer(window).points) == n + 1
    assert window.isWindowModified()


def test_divergence_shows_its_message(window):
    pts = circle()
    big = PointSet(pts.xy * 1e3, pts.xy[:, 0] * 1e3, pts.role)
    c = ExperimentConfig(problem="regression")
    c.optimizer.learning_rate = 5.0
    c.architecture.activation = "relu"
    c.architecture.hidden_layers = [8, 8]
    window.load_experiment(Experiment(c, big))
    window.act_play.trigger()
    for _ in range(50):
        window.client.pump()
        if window.banner.isVisible():
            break
    assert "diverged" in window.banner.text() and "lower learning rate" in window.banner.text()
    assert window.act_play.text() == "Play"
    assert np.isfinite(window.history["train_loss"]).all()


def test_save_and_open_round_trip(window, tmp_path):
    window.client.pump(15)
    window.client.pump(0)
    path = str(tmp_path / "run.nnviz")
    assert window.save_to(path)
    assert not window.isWindowModified()
    saved = load_experiment(path)
    assert saved.history is not None and len(saved.history) == 15
    np.testing.assert_allclose(np.concatenate([w.ravel() for w, _ in saved.weights]),
                               np.concatenate([w.ravel() for w, _ in trainer(window).weights()]))
    window.load_experiment(experiment(hidden_layers=[3]))
    assert window.open_path(path)
    window.client.pump(0)
    assert trainer(window).epoch == 15 and len(window.history) == 15
    assert window.windowTitle().startswith("run.nnviz")
    assert window._recent()[0] == os.path.abspath(path)


def test_a_corrupt_file_gives_a_clear_error_and_keeps_the_points(window, tmp_path):
    bad = tmp_path / "bad.nnviz"
    bad.write_text('{"format": "nnviz-experiment", "version": 1, "config": {"optimizer": {"learning_rate": "fast"}}')
    before = window.points_model.points
    assert not window.open_path(str(bad))
    assert "Cannot open the file" in window.banner.text()
    assert window.points_model.points is before


def test_close_with_unsaved_changes_asks_and_can_cancel(qtbot, settings, monkeypatch):
    w = MainWindow(InProcessSessionClient(), settings=settings, experiment=experiment())
    qtbot.addWidget(w, before_close_func=_discard_changes)
    w.show()
    w.points_model.add_points([[1.0, 1.0]], [0], [0])
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.Cancel)
    assert not w.close()
    assert asked and w.isVisible()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    assert w.close()


def test_settings_remember_layout_and_toggles(qtbot, settings):
    w = MainWindow(InProcessSessionClient(), settings=settings, experiment=experiment())
    qtbot.addWidget(w, before_close_func=_discard_changes)
    w.act_discretize.setChecked(True)
    w.speed_combo.setCurrentIndex(3)
    w.close()
    w2 = MainWindow(InProcessSessionClient(), settings=settings, experiment=experiment())
    qtbot.addWidget(w2)
    assert w2.act_discretize.isChecked() and w2.speed_combo.currentIndex() == 3
    w2.close()


# -- the real child process ----------------------------------------------------------------------------------

def started_process_window(qtbot, settings):
    """A window whose training runs in a real child process, after its first frame arrived."""
    client = ProcessSessionClient()
    w = MainWindow(client, settings=settings, experiment=experiment())
    qtbot.addWidget(w, before_close_func=_discard_changes)
    w.show()
    qtbot.waitUntil(lambda: w.last_snapshot is not None, timeout=20000)
    return w, client


def test_child_process_trains_while_points_are_edited_and_closes_cleanly(qtbot, settings):
    client = ProcessSessionClient()
    w = MainWindow(client, settings=settings, experiment=experiment())
    qtbot.addWidget(w, before_close_func=_discard_changes)
    w.show()
    w.act_misclassified.setChecked(True)      # the session classifies the points only when asked
    w.act_play.trigger()
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.epoch > 30, timeout=20000)
    for i in range(20):   # edits while training: a drag's worth of moves and some additions
        w.points_model.add_points([[0.1 * i, -0.1 * i]], [i % 2], [0])
    version = w._points_version
    qtbot.waitUntil(lambda: w.last_snapshot.points_version == version, timeout=5000)
    assert len(w.last_snapshot.predictions) == len(w.points_model.points)
    assert len(w.history) == w.last_snapshot.epoch          # no metric row lost between frames
    proc = client._proc
    thread = client._thread
    w.forget_unsaved()
    assert w.close()
    assert not proc.is_alive() and not thread.isRunning()


def test_child_death_is_reported_and_restart_recovers(qtbot, settings):
    w, client = started_process_window(qtbot, settings)
    client._proc.kill()
    qtbot.waitUntil(lambda: w.banner.isVisible() and "stopped unexpectedly" in w.banner.text(), timeout=5000)
    points = w.points_model.points
    w.banner.action_button.click()
    w.act_play.trigger()
    qtbot.waitUntil(lambda: w.last_snapshot is not None and w.last_snapshot.epoch > 5 and w.client.alive,
                    timeout=20000)
    assert w.points_model.points is points
    w.forget_unsaved()
    w.close()


def test_screenshot_command_writes_the_whole_window(tmp_path):
    import subprocess
    import sys

    from PySide6.QtGui import QImage
    out = tmp_path / "shot.png"
    r = subprocess.run([sys.executable, "-m", "nnviz", "screenshot", "circle", "--epochs", "20", "--out", str(out),
                        "--size", "1000x700"], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1000, 700)
    # the boundary field is drawn: both class tints appear in the canvas area
    colours = {img.pixelColor(x, y).name() for x in range(300, 700, 7) for y in range(100, 500, 7)}
    assert len(colours) > 20


def test_files_dropped_on_the_window_open(window, tmp_path):
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDropEvent
    from PySide6.QtCore import Qt
    csv = tmp_path / "pts.csv"
    csv.write_text("x,y,label,role\n0,0,0,train\n1,1,1,test\n2,2,1,train\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(csv))])
    event = QDropEvent(QPoint(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    assert len(window.points_model.points) == 3
    assert len(trainer(window).points) == 3
    window.act_undo.trigger()           # importing is an undoable edit
    assert len(window.points_model.points) == len(circle())


def test_exports_write_image_points_and_metrics(window, tmp_path, monkeypatch):
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QFileDialog

    from nnviz.data.csv_io import read_points_csv
    window.client.pump(12)
    window.client.pump(0)
    png = tmp_path / "canvas.png"
    assert window.export_image(str(png)) and QImage(str(png)).width() > 100
    targets = iter([str(tmp_path / "points.csv"), str(tmp_path / "metrics.csv")])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (next(targets), ""))
    window.act_export_csv.trigger()
    window.act_export_metrics.trigger()
    assert read_points_csv(tmp_path / "points.csv") == window.points_model.points
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,") and len(rows) == 13
    # an unwritable target is a message, not a crash
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "no" / "x.csv"), ""))
    window.act_export_metrics.trigger()
    assert "Cannot write" in window.banner.text()


def test_garbage_settings_do_not_stop_the_window(qtbot, settings):
    settings.setValue("window/geometry", "garbage")
    settings.setValue("window/state", ["a", "b"])
    settings.setValue("training/speed", "fast")
    settings.setValue("recent_files", 42)
    w = MainWindow(InProcessSessionClient(), settings=settings, experiment=experiment())
    qtbot.addWidget(w, before_close_func=_discard_changes)
    assert w.speed_combo.currentIndex() == 0 and not w.recent_menu.isEnabled()


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def play_for(window, seconds, frame=0.5):
    """Play with a fake clock: one frame every ``frame`` seconds of training time."""
    window._clock = clock = FakeClock()
    window.act_play.trigger()
    for _ in range(int(seconds / frame) + 1):
        clock.now += frame
        window.client.pump(1)
    window.act_play.trigger()
    window.client.pump(0)


def test_a_long_run_since_the_last_save_counts_as_unsaved_work(window, tmp_path, monkeypatch):
    assert not window.is_modified()
    play_for(window, 40)
    assert window.is_modified() and window.isWindowModified()
    assert window.save_to(str(tmp_path / "t.nnviz")) and not window.is_modified()
    play_for(window, 40)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(1) or QMessageBox.Cancel)
    assert not window.close() and asked


def test_play_or_step_in_a_lesson_switches_lessons_without_asking(window, monkeypatch):
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(1) or QMessageBox.Cancel)
    window.open_preset("circle")
    window.act_step.trigger()
    window.client.pump()
    play_for(window, 5)                       # a few seconds of watching: nothing of the user's to lose
    assert window.last_snapshot.epoch > 1
    window.open_preset("spiral")
    assert not asked and window.experiment_name.startswith("Spiral")
    window.points_model.add_points([[0.5, 0.5]], [1], [0])   # an edit is the user's own work
    window.open_preset("circle")
    assert asked and window.experiment_name.startswith("Spiral")


def test_after_the_child_dies_save_keeps_points_and_restart_stays_offered(qtbot, settings, tmp_path):
    w, client = started_process_window(qtbot, settings)
    client._proc.kill()
    qtbot.waitUntil(lambda: "stopped unexpectedly" in w.banner.text(), timeout=5000)
    path = str(tmp_path / "rescued.nnviz")
    assert w.save_to(path)
    saved = load_experiment(path)
    assert saved.points == w.points_model.points and saved.weights is None
    w.open_path(str(tmp_path / "missing.nnviz"))            # another error must not hide the way out
    assert w.banner.action_button.isVisible() and w.act_restart.isEnabled()


def test_a_snapshot_sent_before_pause_does_not_undo_it(window):
    window.act_play.trigger()
    window.client.pump()                    # a frame from while playing...
    in_flight = window.client.session.snapshot()
    window.act_play.trigger()               # ...the user pauses...
    assert window.act_play.text() == "Play"
    window.run.take(in_flight)              # ...and the older frame arrives afterwards
    assert window.act_play.text() == "Play"


def test_keyboard_shortcuts_drive_the_transport_and_tools(window, qtbot):
    from PySide6.QtCore import Qt
    window.activateWindow()
    window.canvas.plot_widget.setFocus()
    qtbot.keyClick(window.canvas.plot_widget, Qt.Key_Space)
    assert window.client.session.playing
    qtbot.keyClick(window.canvas.plot_widget, Qt.Key_Space)
    assert not window.client.session.playing
    qtbot.keyClick(window.canvas.plot_widget, Qt.Key_S)
    window.client.pump()
    assert window.client.session.trainer.epoch == 1
    qtbot.keyClick(window.canvas.plot_widget, Qt.Key_B)
    qtbot.waitUntil(lambda: window.canvas.tool == "brush", timeout=2000)   # a button shortcut animates a click
    qtbot.keyClick(window.canvas.plot_widget, Qt.Key_D)
    assert window.act_discretize.isChecked()


def test_opening_a_lesson_shows_how_its_points_were_made(window):
    window.open_preset("spiral")
    assert window.data_panel.kind() == "spiral" and window.data_panel.count() == 500
    assert len(window.points_model.points) == 500 and window.experiment_name.startswith("Spiral")


# -- saving without freezing (issue 6 items 1, 2, 8) --------------------------------------------------------

from PySide6.QtCore import QTimer  # noqa: E402

from nnviz.session import messages as msgs  # noqa: E402


class SlowClient(InProcessSessionClient):
    """An in-process session whose state replies wait until ``release()``: a child busy for minutes."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.hold = True
        self.held = []

    def _dispatch(self, msg):
        if isinstance(msg, msgs.StateReply) and self.hold:
            self.held.append(msg)
            return
        super()._dispatch(msg)

    def release(self):
        held, self.held = self.held, []
        for msg in held:
            super()._dispatch(msg)


@pytest.fixture
def slow_window(qtbot, settings):
    w = MainWindow(SlowClient(), settings=settings, experiment=experiment())
    qtbot.addWidget(w, before_close_func=_release_and_discard)
    w.show()
    return w


def _release_and_discard(w):
    if isinstance(w.client, SlowClient):
        w.client.hold = False
        w.client.release()
    _discard_changes(w)


def event_loop_runs(qtbot):
    ticked = []
    QTimer.singleShot(0, lambda: ticked.append(1))
    qtbot.waitUntil(lambda: bool(ticked), timeout=1000)


def test_save_waits_for_a_slow_reply_and_a_slow_write_without_freezing(slow_window, qtbot, tmp_path, monkeypatch):
    import threading

    import nnviz.experiment
    w = slow_window
    w.client.pump(15)
    w.client.pump(0)
    gate = threading.Event()
    real_save = nnviz.experiment.save_experiment

    def slow_save(exp, path):
        assert gate.wait(5)
        real_save(exp, path)
    monkeypatch.setattr(nnviz.experiment, "save_experiment", slow_save)
    path = tmp_path / "slow.nnviz"
    w.path = str(path)
    w.act_save.trigger()                                  # returns at once
    assert w.saving and not w.act_save.isEnabled() and not w.act_save_as.isEnabled()
    assert w._saving_label.isVisible() and w.client.pending_states
    event_loop_runs(qtbot)                                # the reply is late: the window keeps running
    w.client.release()                                    # it comes, however late
    assert not w.client.pending_states and w.saving       # now the file is being written, on a thread
    event_loop_runs(qtbot)
    assert not path.exists()
    gate.set()
    qtbot.waitUntil(lambda: not w.saving, timeout=5000)
    saved = load_experiment(path)
    assert len(saved.history) == 15 and saved.weights is not None
    assert w.act_save.isEnabled() and not w._saving_label.isVisible() and not w.is_modified()


def test_close_prompt_save_waits_for_the_save_and_closes_only_if_it_worked(qtbot, settings, tmp_path, monkeypatch):
    w = MainWindow(SlowClient(), settings=settings, experiment=experiment())
    qtbot.addWidget(w, before_close_func=_release_and_discard)
    w.show()
    w.points_model.add_points([[1.0, 1.0]], [0], [0])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Save)
    w.path = str(tmp_path / "missing-dir" / "x.nnviz")      # cannot be written
    QTimer.singleShot(0, w.client.release)
    assert not w.close()
    assert w.isVisible() and "Cannot save" in w.banner.text() and w.is_modified()
    w.path = str(tmp_path / "x.nnviz")
    QTimer.singleShot(0, w.client.release)                # the answer comes while the prompt's save waits
    assert w.close()
    assert load_experiment(w.path).points == w.points_model.points


def test_a_request_abandoned_by_a_restart_keeps_no_late_reply(slow_window, qtbot, tmp_path):
    w = slow_window
    old = w.client
    w.client.pump(5)
    w.client.pump(0)
    assert w.save_to(str(tmp_path / "r.nnviz"), wait=False)
    token = w._save.token
    w.restart_session()
    assert token not in old.pending_states               # cancelled: its reply would be dropped
    received = []
    old.state_received.connect(received.append)
    old.release()
    assert not received
    qtbot.waitUntil(lambda: not w.saving, timeout=5000)
    assert load_experiment(tmp_path / "r.nnviz").weights is None
    assert "points and settings" in w.statusBar().currentMessage()


def test_save_as_without_an_extension_asks_before_replacing_the_nnviz_file(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QDialog, QFileDialog
    existing = tmp_path / "name.nnviz"
    existing.write_text("precious")
    seen = {}

    def exec_(dialog):
        seen["suffix"] = dialog.defaultSuffix()
        seen["mode"] = dialog.acceptMode()
        return QDialog.Accepted
    monkeypatch.setattr(QFileDialog, "exec", exec_)
    monkeypatch.setattr(QFileDialog, "selectedFiles", lambda self: [str(tmp_path / "name")])
    answers = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answers.append(a[2]) or QMessageBox.No)
    assert not window.save_as()
    assert seen == {"suffix": "nnviz", "mode": QFileDialog.AcceptSave}
    assert answers and "name.nnviz" in answers[0] and existing.read_text() == "precious"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    assert window.save_as()
    assert load_experiment(existing).points == window.points_model.points


def test_saving_while_out_of_sync_writes_points_and_settings_only_and_says_so(window, tmp_path):
    """Issue 11 item 1: Regression lesson, Problem -> Classification, add a point, + Layer, Save, back."""
    window.open_preset("regression")
    window.client.pump(3)
    window.client.pump(0)
    _set_problem(window, "classification")
    window.points_model.add_points([[0.1, 0.2]], [0.5], [0])
    layers = list(window.config_model.config.architecture.hidden_layers)
    window.config_model.set_field("architecture", "hidden_layers", layers + [4])
    window.client.pump(0)
    snap = window.last_snapshot
    assert not snap.in_sync and snap.sync_message
    assert window.banner.kind == "warning" and snap.sync_message.strip() in window.banner.text()
    assert not window.save_to(str(tmp_path / "bad.nnviz"))       # regression targets are not class indices
    assert "Cannot save" in window.banner.text()
    _set_problem(window, "regression")
    window.client.pump(0)
    assert window.last_snapshot.in_sync
    assert "Until then" not in window.banner.text()
    path = tmp_path / "ok.nnviz"
    assert window.save_to(str(path))
    assert window.banner.text() == ""                               # the stale "Cannot save" is gone
    saved = load_experiment(path)
    assert len(saved.points) == len(window.points_model.points) == 501


def _set_problem(window, problem):
    assert window.config_model.set_field("", "problem", problem)


def test_a_reply_out_of_sync_saves_no_weights_and_says_so(slow_window, qtbot, tmp_path):
    w = slow_window
    w.client.pump(5)
    w.client.pump(0)
    assert w.save_to(str(tmp_path / "s.nnviz"), wait=False)
    reply = w.client.held[0]
    reply.in_sync, reply.sync_message = False, "The points do not suit the settings."
    w.client.release()
    qtbot.waitUntil(lambda: not w.saving, timeout=5000)
    saved = load_experiment(tmp_path / "s.nnviz")
    assert saved.weights is None and saved.history is None and saved.points == w.points_model.points
    assert "without weights" in w.statusBar().currentMessage()


# -- keys (issue 6 items 15, 19) ------------------------------------------------------------------------------

def test_redo_on_ctrl_shift_z_and_ctrl_y_without_ambiguity(window, qtbot, qtlog):
    from PySide6.QtCore import Qt
    window.activateWindow()
    window.canvas.plot_widget.setFocus()
    n = len(window.points_model.points)
    window.points_model.add_points([[0.5, 0.5]], [1], [0])
    for modifiers, key in ((Qt.ControlModifier | Qt.ShiftModifier, Qt.Key_Z), (Qt.ControlModifier, Qt.Key_Y)):
        qtbot.keyClick(window.canvas.plot_widget, Qt.Key_Z, Qt.ControlModifier)
        assert len(window.points_model.points) == n
        qtbot.keyClick(window.canvas.plot_widget, key, modifiers)
        assert len(window.points_model.points) == n + 1
    sequences = [s.toString() for s in window.act_redo.shortcuts()]
    assert sorted(sequences) == sorted(["Ctrl+Shift+Z", "Ctrl+Y"])
    assert not [r for r in qtlog.records if "Ambiguous" in r.message]


def test_every_key_sequence_is_bound_once(window):
    """Two bindings of one sequence make Qt refuse both ("Ambiguous shortcut overload"): on Linux
    desktops the platform's Redo already is Ctrl+Shift+Z (offscreen it is Ctrl+Y)."""
    from collections import Counter
    from PySide6.QtGui import QAction
    bound = Counter(seq.toString() for a in set(window.findChildren(QAction)) for seq in a.shortcuts()
                    if not seq.isEmpty())
    assert [s for s, n in bound.items() if n > 1] == []


def test_space_plays_from_the_speed_combo_and_a_number_box_and_esc_leaves_a_field(window, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractSpinBox, QApplication
    window.activateWindow()
    spin = window.control_panel.findChild(QAbstractSpinBox, "optimizer.learning_rate")
    for field in (window.speed_combo, spin):
        field.setFocus()
        assert QApplication.focusWidget() in (field, getattr(field, "lineEdit", lambda: None)())
        target = QApplication.focusWidget()
        qtbot.keyClick(target, Qt.Key_Space)
        assert window.client.session.playing
        qtbot.keyClick(target, Qt.Key_Space)
        assert not window.client.session.playing
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Escape)
    assert QApplication.focusWidget() is window.canvas.plot_widget


def test_keys_belong_to_a_field_while_its_text_is_typed(window, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit
    window.activateWindow()
    spin = window.control_panel.findChild(QAbstractSpinBox, "optimizer.learning_rate")
    spin.setFocus()
    spin.lineEdit().selectAll()
    qtbot.keyClicks(QApplication.focusWidget(), "0.5")     # typing a number: S and Space are not transport
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Space)
    assert not window.client.session.playing
    edit = QLineEdit(window.data_panel)                   # any text field of the window
    edit.show()
    edit.setFocus()
    qtbot.keyClicks(edit, "s r")
    assert edit.text() == "s r" and not window.client.session.playing
    assert window.client.session.trainer.epoch == 0


# -- teardown (item 18) ---------------------------------------------------------------------------------------

def test_quit_after_an_edit_and_discard_raises_nothing(qtbot, settings, monkeypatch):
    from PySide6.QtCore import QCoreApplication, QEvent
    w = MainWindow(InProcessSessionClient(), settings=settings, experiment=experiment())
    w.show()
    w.points_model.add_points([[1.0, 1.0]], [0], [0])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    w.setAttribute(Qt.WA_DeleteOnClose)
    errors = []
    monkeypatch.setattr("sys.excepthook", lambda *exc: errors.append(exc))
    w.act_quit.trigger()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    QCoreApplication.processEvents()
    assert not errors


# -- lessons, data, status (items 20, 22, 24) ----------------------------------------------------------------

def test_a_lesson_opens_at_its_own_speed(window):
    from nnviz.presets import get_preset
    window.open_preset("spiral")
    assert window.speed_combo.currentData() == get_preset("spiral").speed
    assert window.client.session.speed == get_preset("spiral").speed
    window.open_preset("lr-decay")
    assert window.speed_combo.currentData() == get_preset("lr-decay").speed


def test_new_keeps_the_generator_count_and_regenerate_starts_a_new_run(window):
    window.open_preset("spiral")
    window.forget_unsaved()
    window.new_experiment()
    assert len(window.points_model.points) == 0 and window.data_panel.count() == 500
    window.open_preset("circle")
    window.client.pump(30)
    window.client.pump(0)
    assert window.last_snapshot.epoch == 30
    dp = window.data_panel
    window.regenerate(dp.kind(), dp.count(), dp.noise_fraction(), dp.train_fraction(), dp.seed() + 1)
    window.client.pump(2)
    window.client.pump(0)
    assert window.last_snapshot.epoch == 2 and len(window.history) == 2


def test_rates_are_blank_when_not_playing_and_after_the_process_died(window):
    window.act_play.trigger()
    window.client.pump()
    window.client.pump()
    assert "epochs/s" in window._rate_label.text()
    window.act_play.trigger()
    window.client.pump(0)
    window.client.pump()
    assert window._rate_label.text() == ""
    window.act_play.trigger()
    window.client.pump()
    window._on_session_died("gone")
    assert window._rate_label.text() == ""


def test_an_error_banner_is_cleared_by_a_later_success_of_the_same_kind(window, tmp_path):
    assert not window.save_to(str(tmp_path / "no" / "x.nnviz"))
    assert "Cannot save" in window.banner.text()
    assert window.save_to(str(tmp_path / "x.nnviz"))
    assert window.banner.text() == ""
    assert not window.import_points(str(tmp_path / "missing.csv"))
    assert "Cannot import" in window.banner.text()
    assert window.save_to(str(tmp_path / "y.nnviz"))           # another kind of success: the message stays
    assert "Cannot import" in window.banner.text()


def test_banner_shows_messages_word_for_word(window):
    window._error("Cannot open the file", "<b>x</b> & <i>y</i>.nnviz")
    assert window.banner.label.textFormat() == Qt.PlainText
    assert "<b>x</b> & <i>y</i>.nnviz" in window.banner.text()


def test_suggested_file_name_is_a_clean_slug(window):
    window.open_preset("spiral")
    assert os.path.basename(window._suggest_path(".nnviz")) == "spiral-deep-network.nnviz"


# -- export image (item 25) ------------------------------------------------------------------------------

def test_export_image_of_the_whole_window_or_the_canvas_at_2x(window, tmp_path):
    from PySide6.QtGui import QImage
    window.client.pump(5)
    window.client.pump(0)
    path = tmp_path / "w.png"
    assert window.export_image(str(path), "window", 2)
    img = QImage(str(path))
    ratio = window.devicePixelRatioF()
    assert (img.width(), img.height()) == (round(window.width() * 2 * ratio), round(window.height() * 2 * ratio))
    # the plots are in it: the loss dock's area is not blank
    dock = window.loss_dock.geometry()
    colours = {img.pixelColor(x, y).name() for x in range(dock.left() * 2, dock.right() * 2, 9)
               for y in range(dock.top() * 2, dock.bottom() * 2, 9)}
    assert len(colours) > 3
    path = tmp_path / "c.png"
    assert window.export_image(str(path), "canvas", 2)
    assert QImage(str(path)).width() == round(window.canvas.width() * 2 * ratio)


def test_a_save_waiting_when_the_process_dies_writes_points_and_settings(slow_window, qtbot, tmp_path):
    w = slow_window
    w.client.pump(5)
    w.client.pump(0)
    path = tmp_path / "d.nnviz"
    assert w.save_to(str(path), wait=False)
    token = w._save.token
    w.client.died.emit("The training process stopped unexpectedly (exit code -9).")
    qtbot.waitUntil(lambda: not w.saving, timeout=5000)
    assert token not in w.client.pending_states
    saved = load_experiment(path)
    assert saved.weights is None and saved.points == w.points_model.points
    assert "stopped before it sent the weights" in w.statusBar().currentMessage()
    assert "stopped unexpectedly" in w.banner.text() and w.banner.action_button.isVisible()


def test_a_reply_whose_history_cannot_be_read_still_saves_and_never_hangs(slow_window, qtbot, tmp_path):
    """Monkey finding F1: a history the reader refuses (inf after a divergence) left the save waiting forever."""
    w = slow_window
    w.client.pump(5)
    w.client.pump(0)
    assert w.save_to(str(tmp_path / "h.nnviz"), wait=False)
    reply = w.client.held[0]
    reply.history = dict(reply.history)
    penalty = np.array(reply.history["penalty"], dtype=float)
    penalty[-1] = np.inf
    reply.history["penalty"] = penalty
    w.client.release()
    qtbot.waitUntil(lambda: not w.saving, timeout=5000)
    saved = load_experiment(tmp_path / "h.nnviz")
    assert saved.weights is not None and saved.history is None and saved.points == w.points_model.points
    assert "without the metric history" in w.statusBar().currentMessage()
    assert w.act_save.isEnabled()


def test_weights_tab_shows_the_histograms_the_session_sends(window):
    from nnviz.viewmath import weight_histograms
    window.client.pump(3)
    window.client.pump(0)
    shown = window.weights_plot
    expected = weight_histograms(trainer(window).weights())
    counts = [c for _, c in expected]
    got = shown.histograms
    assert got, "the weights plot got no histograms"
    for (edges, c), (_, c2) in zip(got, expected):
        np.testing.assert_array_equal(c, c2)
    assert len(got) == len(counts)


def test_saves_keep_no_history_behind(window, qtbot, tmp_path):
    """Issue 6 item 2: every successful save kept its writer (and the whole history) under the window."""
    import gc
    import weakref
    from PySide6.QtCore import QCoreApplication, QEvent
    from nnviz.ui.save_job import SaveJob
    window.client.pump(20)
    window.client.pump(0)
    histories = []
    for i in range(3):
        assert window.save_to(str(tmp_path / f"s{i}.nnviz"))
        job_exps = [j.exp for j in window.findChildren(SaveJob) if j.exp is not None]
        histories += [weakref.ref(e.history) for e in job_exps if e.history is not None]
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    gc.collect()
    assert window.findChildren(SaveJob) == []
    assert all(ref() is None for ref in histories)


def test_after_a_restart_the_old_process_frame_never_answers_for_the_new_one(window):
    # monkey seeds 2 and 3 ("epoch: child 0, window frame 1 (paused)"): transport commands were numbered
    # afresh from 0 after a restart, so the old process's last frame (still shown until the new one sends
    # its first) carried a transport_seq >= that of the Step just sent to the new process: it passed for
    # the new process's answer to that Step, though the new process had not even started.
    window.act_play.trigger()
    window.client.pump()
    window.act_play.trigger()                          # pause
    window.client.pump(0)
    old_frame = window.last_snapshot
    assert old_frame.transport_seq == window._transport_seq and not old_frame.playing
    window.act_play.trigger()                          # playing when the process is restarted
    window.restart_session()
    assert window.act_play.text() == "Play"            # the new process starts paused
    window.act_step.trigger()                          # sent to the new process, not answered yet
    assert window.last_snapshot is old_frame
    assert old_frame.transport_seq < window._transport_seq
    window.client.pump()
    assert window.last_snapshot.transport_seq == window._transport_seq
    assert window.last_snapshot.epoch == 1 and not window.last_snapshot.playing
