"""Window features of issues 8 and 9: the Sweep dock, recording, autosave and recovery, presentation mode."""
from __future__ import annotations

import json
import multiprocessing
import os
import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from engine_data import circle
from nnviz.engine import ExperimentConfig
from nnviz.experiment import Experiment, load_experiment, save_experiment
from nnviz.ui import autosave as A
from nnviz.ui.main_window import LESSON_SWEEPS, MainWindow
from nnviz.ui.session_client import InProcessSessionClient


def experiment():
    c = ExperimentConfig()
    c.architecture.hidden_layers = [4]
    c.optimizer.name = "adam"
    c.optimizer.learning_rate = 0.02
    return Experiment(c, circle(), name="Circle test", description="A test lesson.")


@pytest.fixture
def window(qtbot, settings):
    w = MainWindow(InProcessSessionClient(), settings=settings, experiment=experiment())
    qtbot.addWidget(w, before_close_func=lambda w: w.forget_unsaved())
    w.resize(1200, 800)
    w.show()
    yield w
    w.sweep_panel.shutdown()


def _tiny_sweep(window, values="1,4", epochs=20, seeds=1):
    panel = window.sweep_panel
    window.prefill_sweep("hidden_units", values, "lin", seeds, epochs)
    panel.workers.setValue(1)
    return panel


# -- the Sweep dock ------------------------------------------------------------------------------------------

def test_sweep_dock_is_hidden_until_asked_for_and_the_lesson_prefills_it(window, qtbot):
    assert not window.sweep_dock.isVisible()
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert window.act_show_sweep in view.actions()   # View > Sweep
    window.act_show_sweep.trigger()
    assert window.sweep_dock.isVisible()
    window.act_show_sweep.trigger()
    assert not window.sweep_dock.isVisible()
    window.open_preset("model-complexity")
    panel = window.sweep_panel
    assert window.sweep_dock.isVisible() and not window.sweep_dock.visibleRegion().isEmpty()
    assert LESSON_SWEEPS["model-complexity"]["epochs"] == 2000
    assert (panel.param.currentData(), panel.values.text(), panel.scale.currentText(), panel.seeds.value(),
            panel.epochs.value()) == ("hidden_units", "1:128:8", "log", 3, 2000)
    spec = panel.spec_from_fields(window.config_model.config)
    assert spec.values == [1, 2, 4, 8, 16, 32, 64, 128]
    window.open_preset("circle")                      # another lesson: the panel stays where the user put it
    assert panel.result is None


def test_a_finished_sweep_is_unsaved_work_saved_with_the_experiment_and_restored(window, qtbot, tmp_path):
    assert not window.is_modified()
    panel = _tiny_sweep(window)
    with qtbot.waitSignal(panel.sweep_finished, timeout=60000):
        assert panel.run()
    assert len(panel.result) == 2
    assert window.is_modified() and window.isWindowModified()    # a finished sweep is unsaved work
    assert window.current_experiment().sweep["rows"][0]["value"] == 1
    path = str(tmp_path / "swept.nnviz")
    assert window.save_to(path)
    assert not window.is_modified()
    saved = load_experiment(path)
    assert saved.sweep == panel.to_dict() and len(saved.sweep["rows"]) == 2
    csv = panel.result.to_csv()

    window.open_preset("circle")                       # another document: its (empty) sweep
    assert panel.result is None and not window.is_modified()
    assert window.open_path(path)                      # and back: the sweep is restored into the panel
    assert panel.result.to_csv() == csv and not window.is_modified()
    assert panel.values.text() == "1,4" and panel.csv_button.isEnabled()


def test_a_click_on_a_run_opens_it_as_the_current_run_with_its_weights(window, qtbot, tmp_path, monkeypatch):
    panel = _tiny_sweep(window, values="3", epochs=15)
    with qtbot.waitSignal(panel.sweep_finished, timeout=60000):
        assert panel.run()
    row = panel.result.rows[0]
    # unsaved work (the sweep) is asked about first; Cancel keeps everything as it was
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.Cancel)
    with qtbot.waitSignal(panel.model_requested, timeout=2000):
        panel._run_clicked(row)
    assert len(asked) == 1 and window.config_model.config.architecture.hidden_layers == [4]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    panel._run_clicked(row)
    assert window.config_model.config.architecture.hidden_layers == [3]
    assert window.experiment_name == "Circle test (hidden units per layer = 3, seed 0)"
    assert panel.result is not None and len(panel.result) == 1      # the sweep stays in the panel
    path = str(tmp_path / "run.nnviz")
    assert window.save_to(path)                      # the session holds the run's weights
    run = load_experiment(path)
    ref = panel._weights[(3, 0)]
    assert len(run.weights) == len(ref)
    for (W, b), (W0, b0) in zip(run.weights, ref):
        np.testing.assert_array_equal(W, np.asarray(W0))
        np.testing.assert_array_equal(b, np.asarray(b0))
    # opening another run does not stack names
    panel._run_clicked(row)
    assert window.experiment_name == "Circle test (hidden units per layer = 3, seed 0)"


def test_a_run_of_a_loaded_sweep_is_trained_again_to_the_same_result(window, qtbot, tmp_path):
    panel = _tiny_sweep(window, values="2", epochs=12)
    with qtbot.waitSignal(panel.sweep_finished, timeout=60000):
        assert panel.run()
    row = dict(panel.result.rows[0])
    path = str(tmp_path / "s.nnviz")
    assert window.save_to(path)
    assert window.open_path(path)                     # from the file: no weights kept
    assert panel._weights == {}
    panel._run_clicked(row)
    window.client.pump(0)                             # the Step(epochs) the window sent
    trainer = window.client.session.trainer
    assert trainer.epoch == row["epochs"] == 12
    summary = trainer.summary()
    assert summary["test_error"] == pytest.approx(row["test_error"], abs=1e-12)
    assert summary["train_loss"] == pytest.approx(row["train_loss"], rel=1e-9)


def test_closing_the_window_stops_the_sweep_workers(qtbot, settings):
    w = MainWindow(InProcessSessionClient(), settings=settings, experiment=experiment())
    w.show()
    panel = _tiny_sweep(w, values="1,2", epochs=1_000_000)
    panel.workers.setValue(2)
    assert panel.run()
    qtbot.waitUntil(lambda: panel._thread is not None and panel._thread.job._pool is not None
                    and len(panel._thread.job._pool._processes) == 2, timeout=30000)
    procs = list(panel._thread.job._pool._processes.values())
    w.forget_unsaved()
    start = time.monotonic()
    assert w.close()
    assert time.monotonic() - start < 10
    assert panel._thread is None or panel._thread.isFinished()   # the job thread has ended
    for p in procs:
        p.join(timeout=5)
        assert not p.is_alive()
    assert not {c.pid for c in multiprocessing.active_children()} & {p.pid for p in procs}


def test_a_garbage_sweep_in_a_file_is_a_clear_error_and_the_work_stays(window, tmp_path):
    path = tmp_path / "bad.nnviz"
    good = tmp_path / "good.nnviz"
    save_experiment(experiment(), good)
    doc = json.loads(good.read_text())
    doc["sweep"] = {"spec": {"param": "hidden_units", "values": [1]}, "rows": [{"value": "many"}]}
    path.write_text(json.dumps(doc))
    n = len(window.points_model.points)
    assert not window.open_path(str(path))
    assert window.banner.isVisible() and "sweep.rows[0].value" in window.statusBar().currentMessage()
    assert len(window.points_model.points) == n


# -- recording -----------------------------------------------------------------------------------------------

def _decode(path):
    import av
    with av.open(path) as c:
        s = c.streams.video[0]
        frames = [f for f in c.decode(s)]
        return len(frames), frames[0].width, frames[0].height, frames[-1].to_ndarray(format="rgb24")


def test_record_from_the_window_writes_a_decodable_video(window, qtbot, tmp_path):
    assert window.act_record.shortcut().toString() == "Ctrl+Shift+R"
    assert any(a.text() == "&Record" for a in window.menuBar().actions())
    assert window._toolbar.widgetForAction(window.act_record) is not None
    path = str(tmp_path / "demo.mp4")
    assert window.start_recording(path, fps=15, gif=True)
    assert window.recorder.recording and window._rec_label.isVisible()
    assert window.windowTitle().startswith("● REC")
    assert window.act_record.text() == "Stop recording" and not window.act_record_canvas.isEnabled()
    window.client._timer.start()                     # training runs meanwhile
    qtbot.waitUntil(lambda: window.recorder.frames >= 8 and window._rec_label.text() != "", timeout=20000)
    label = window._rec_label
    top_left = label.mapTo(window, QPoint(0, 0))
    rec_area = (top_left.x(), top_left.y(), label.width(), label.height())
    with qtbot.waitSignal(window.recorder.finished, timeout=30000):
        window.act_record.trigger()                  # the same action stops it
    window.client._timer.stop()
    assert not window._rec_label.isVisible() and not window.windowTitle().startswith("●")
    frames, width, height, last = _decode(path)
    assert frames == window.recorder.frames and frames >= 8
    assert (width, height) == (window.width() + window.width() % 2, window.height() + window.height() % 2)
    assert last.std() > 5                            # a picture, not a blank frame
    # the indicator is not in the frames: its area has the status bar's plain background
    x, y, w, h = rec_area
    assert w > 20 and h > 8
    patch = last[y + 2:y + h - 2, x + 2:x + w - 2].astype(float)
    assert patch.std() < 4, "the REC indicator shows in the video"
    gif_frames, gw, gh, _ = _decode(str(tmp_path / "demo.gif"))
    assert (gw, gh) == (window.width(), window.height()) and gif_frames >= 1


def test_record_the_canvas_only_by_shortcut(window, qtbot, tmp_path, monkeypatch):
    path = str(tmp_path / "canvas")
    monkeypatch.setattr(window, "_ask_save_path", lambda *a: path)
    window.act_record_gif.setChecked(False)
    window._record_rates.actions()[0].trigger()      # 15 frames/s
    assert window._record_fps() == 15
    window.toggle_recording(canvas=True)
    assert window.recorder.recording
    qtbot.waitUntil(lambda: window.recorder.frames >= 3, timeout=20000)
    with qtbot.waitSignal(window.recorder.finished, timeout=30000):
        qtbot.keyClick(window.canvas.plot_widget, Qt.Key_R, Qt.ControlModifier | Qt.ShiftModifier)
    frames, width, height, _ = _decode(path + ".mp4")
    c = window.canvas
    assert (width, height) == (c.width() + c.width() % 2, c.height() + c.height() % 2) and frames >= 3
    assert not os.path.exists(path + ".gif")


# -- autosave, crash recovery, layout ------------------------------------------------------------------------

def _fake_recovery(directory, rid="4242-deadbeef", epoch=17, n_points=9, lr=0.25):
    exp = experiment()
    exp.points = exp.points.without(list(range(n_points, len(exp.points))))
    exp.config.optimizer.learning_rate = lr
    os.makedirs(directory, exist_ok=True)
    save_experiment(exp, os.path.join(directory, rid + ".nnviz"))
    meta = {"format": A.FORMAT, "version": A.VERSION, "id": rid, "pid": 4242, "saved_at": time.time(),
            "epoch": epoch, "name": exp.name, "document": None, "weights": False,
            "window": {"discretize": True, "speed": 20}}
    with open(os.path.join(directory, rid + ".json"), "w") as f:
        json.dump(meta, f)
    return exp


def _answer(monkeypatch, button_text, seen):
    def exec_(box):
        seen.append(box.text())
        next(b for b in box.buttons() if b.text() == button_text).click()
        return 0
    monkeypatch.setattr(QMessageBox, "exec", exec_)


def test_offer_recoveries_restore(window, tmp_path, monkeypatch):
    directory = str(tmp_path / "recovery")
    monkeypatch.setattr(A, "recovery_dir", lambda: directory)
    _fake_recovery(directory)
    seen = []
    _answer(monkeypatch, "Restore", seen)
    window.offer_recoveries()
    assert len(seen) == 1 and "epoch 17" in seen[0]
    assert len(window.points_model.points) == 9
    assert window.config_model.config.optimizer.learning_rate == 0.25
    assert window.act_discretize.isChecked() and window.speed_combo.currentData() == 20
    assert window.is_modified()                       # restored work is unsaved until saved
    # the files stay until this window has autosaved the work (or exits cleanly)
    assert len(A.pending_recoveries(directory)) == 1


def test_offer_recoveries_discard_and_later(window, tmp_path, monkeypatch):
    directory = str(tmp_path / "recovery")
    monkeypatch.setattr(A, "recovery_dir", lambda: directory)
    _fake_recovery(directory)
    n = len(window.points_model.points)
    seen = []
    _answer(monkeypatch, "Later", seen)
    window.offer_recoveries()
    assert len(A.pending_recoveries(directory)) == 1 and len(window.points_model.points) == n
    _answer(monkeypatch, "Discard", seen)
    window.offer_recoveries()
    assert A.pending_recoveries(directory) == [] and not os.listdir(directory)
    assert len(window.points_model.points) == n and not window.is_modified()
    window.offer_recoveries()                         # nothing left: no question
    assert len(seen) == 2


def test_autosave_writes_the_work_and_a_clean_close_removes_it(qtbot, settings, tmp_path, monkeypatch):
    directory = str(tmp_path / "recovery")
    monkeypatch.setattr(A, "recovery_dir", lambda: directory)
    w = MainWindow(InProcessSessionClient(), settings=settings, experiment=experiment())
    w.show()
    w.start_autosave()
    w.points_model.replace_all(w.points_model.points.without([0, 1, 2]), "Delete")
    with qtbot.waitSignal(w.autosaver.saved, timeout=5000):
        w.autosaver.tick()
    (rec_file,) = [f for f in os.listdir(directory) if f.endswith(".nnviz")]
    assert len(load_experiment(os.path.join(directory, rec_file)).points) == len(circle()) - 3
    w.forget_unsaved()
    w.close()
    assert [f for f in os.listdir(directory) if not f.endswith(".lock")] == []


def test_window_layout_is_autosaved_not_only_on_a_clean_close(qtbot, settings, tmp_path, monkeypatch):
    monkeypatch.setattr(A, "recovery_dir", lambda: str(tmp_path / "recovery"))
    w = MainWindow(InProcessSessionClient(), settings=settings, experiment=experiment())
    qtbot.addWidget(w, before_close_func=lambda w: w.forget_unsaved())
    w.show()
    w.start_autosave()
    assert w._layout_timer.isActive()
    w.lesson_dock.hide()
    w.sweep_dock.show()
    assert w.autosave_layout() and not w.autosave_layout()   # written once; unchanged: not again
    fresh = QSettings(settings.fileName(), QSettings.IniFormat)   # what a restart after a crash reads
    other = MainWindow(InProcessSessionClient(), settings=fresh, experiment=experiment())
    qtbot.addWidget(other, before_close_func=lambda w: w.forget_unsaved())
    other.show()
    assert not other.lesson_dock.isVisible() and other.sweep_dock.isVisible()


# -- presentation mode ---------------------------------------------------------------------------------------

def _marker_size(w):
    return next(iter(w.canvas.point_items.values())).opts["size"]


@pytest.mark.parametrize("leave_key", [Qt.Key_F11, Qt.Key_Escape])
def test_presentation_mode_hides_panels_scales_text_and_returns_exactly(window, qtbot, leave_key):
    window.sweep_dock.show()
    state, geometry, rect = window.saveState(), window.saveGeometry(), window.geometry()
    visible = {d.objectName(): d.isVisible() for d in window.findChildren(type(window.data_dock))}
    font = QApplication.font().pointSizeF()
    size = _marker_size(window)
    qtbot.keyClick(window.canvas.plot_widget, Qt.Key_F11)
    assert window.presenting and window.act_presentation.isChecked() and window.isFullScreen()
    for dock in (window.data_dock, window.lesson_dock, window.model_dock):
        assert not dock.isVisible()
    assert window.loss_dock.isVisible() and window.sweep_dock.isVisible() and window.canvas.isVisible()
    assert not window.menuBar().isVisible()
    assert QApplication.font().pointSizeF() == pytest.approx(font * 1.5)
    assert window.loss_plot.font().pointSizeF() == pytest.approx(font * 1.5)
    assert _marker_size(window) == pytest.approx(size * 1.6)
    qtbot.keyClick(window.canvas.plot_widget, leave_key)
    assert not window.presenting and not window.act_presentation.isChecked() and not window.isFullScreen()
    assert {d.objectName(): d.isVisible() for d in window.findChildren(type(window.data_dock))} == visible
    assert window.menuBar().isVisible()
    assert QApplication.font().pointSizeF() == pytest.approx(font) and _marker_size(window) == size
    qtbot.waitUntil(lambda: window.geometry() == rect and window.saveState() == state, timeout=3000)
    assert window.saveGeometry() == geometry


def test_esc_does_nothing_special_outside_presentation_mode_and_close_keeps_the_usual_layout(window, qtbot,
                                                                                           settings):
    state = window.saveState()
    qtbot.keyClick(window.canvas.plot_widget, Qt.Key_Escape)
    assert not window.presenting and window.data_dock.isVisible()
    window.set_presentation(True)
    window.forget_unsaved()
    window.close()                                   # closing while presenting remembers the usual layout
    assert QSettings(settings.fileName(), QSettings.IniFormat).value("window/state") == state


# -- the application's error hook ----------------------------------------------------------------------------

def test_internal_error_report_survives_a_deleted_window(qtbot, settings, monkeypatch):
    import shiboken6
    from nnviz.ui.app import report_internal_error
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: shown.append(a[1]))
    w = MainWindow(InProcessSessionClient(), settings=settings, experiment=experiment())
    w.show()
    assert report_internal_error(w, ValueError, ValueError("boom")) and shown == ["nnviz: internal error"]
    w.forget_unsaved()
    w.close()
    shiboken6.delete(w)
    assert report_internal_error(w, ValueError, ValueError("late")) is False
    assert shown == ["nnviz: internal error"]


def test_run_gui_offers_recoveries_then_autosaves_and_its_hook_survives_the_window(qtbot, monkeypatch,
                                                                                 tmp_path):
    import sys

    import shiboken6
    from PySide6.QtWidgets import QApplication as QApp
    from nnviz.ui import app as app_module
    from nnviz.ui import session_client
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)          # run_gui installs its own
    monkeypatch.setattr(session_client, "ProcessSessionClient", InProcessSessionClient)
    monkeypatch.setattr(A, "recovery_dir", lambda: str(tmp_path / "recovery"))
    monkeypatch.setattr(QApp, "exec", lambda self: 0)
    from nnviz.ui import main_window as main_window_module   # the user's own settings stay untouched
    ini = str(tmp_path / "settings.ini")
    monkeypatch.setattr(main_window_module, "QSettings",
                        lambda *a: QSettings(*a) if a else QSettings(ini, QSettings.IniFormat))
    calls, windows = [], []
    monkeypatch.setattr(MainWindow, "offer_recoveries", lambda self: calls.append("offer"))
    real_start = MainWindow.start_autosave
    monkeypatch.setattr(MainWindow, "start_autosave",
                        lambda self: (calls.append("autosave"), windows.append(self), real_start(self)))
    assert app_module.run_gui(None) == 0
    assert calls == ["offer", "autosave"]
    (w,) = windows
    assert w.autosaver is not None and w._layout_timer.isActive() and w.settings.fileName() == ini
    from nnviz.presets import DEFAULT_PRESET, get_preset   # the opening lesson opens at its own speed
    assert w.speed_combo.currentData() == get_preset(DEFAULT_PRESET).speed != 0
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: shown.append(a[1]))
    sys.excepthook(ValueError, ValueError("in a slot"), None)
    assert shown == ["nnviz: internal error"]
    w.forget_unsaved()
    w.close()
    shiboken6.delete(w)
    sys.excepthook(ValueError, ValueError("after the window went"), None)   # no RuntimeError
    assert shown == ["nnviz: internal error"]
