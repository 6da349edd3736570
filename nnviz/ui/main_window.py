"""The main window: canvas in the centre, data and model docks, live plots, transport toolbar.

It wires plain models (points, config) to the training session and the views. It does no maths:
metrics come computed from the session; the window only stores and shows them.
"""
from __future__ import annotations

import os
import time
from collections import deque

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QTextBrowser, QVBoxLayout, QWidget,
)

from ..data.csv_io import read_points_csv, write_points_csv
from ..data.generators import generate
from ..data.points import PointSet
from ..engine.config import ExperimentConfig
from ..engine.history import History
from ..errors import NnvizError
from ..experiment import Experiment, load_experiment, save_experiment
from ..session import messages as m
from .banner import Banner
from .pgutil import cache_axes
from .canvas import PointCanvas
from .config_model import ConfigModel
from .controls import ControlPanel
from .data_panel import DataPanel
from .plots import GradientPlot, LearningRatePlot, LossPlot, WeightsPlot
from .points_model import PointsModel
from .session_client import SessionClient

SPEEDS = ((0, "As fast as possible"), (1, "1 epoch/s"), (5, "5 epochs/s"), (20, "20 epochs/s"),
          (60, "60 epochs/s"), (200, "200 epochs/s"), (1000, "1,000 epochs/s"))
MAX_RECENT = 8
BOUNDARY_RESOLUTION = 100
# Each metric plot repaints at most this often, and at most one plot per frame: a plot whose range
# moved costs several times the boundary image to paint, and a curve read by eye gains nothing
# above ~10 Hz. Spreading them over frames keeps every event-loop turn short.
PLOT_REFRESH_SECONDS = 0.1
STATUS_REFRESH_SECONDS = 0.25   # numbers that change every frame are unreadable anyway
FILE_FILTER = "nnviz experiments (*.nnviz);;All files (*)"
CSV_FILTER = "CSV files (*.csv);;All files (*)"


class MainWindow(QMainWindow):
    frame_drawn = Signal(int)   # epoch shown; lets tests and the GUI benchmark follow the drawing

    def __init__(self, client: SessionClient, settings: QSettings | None = None,
                 experiment: Experiment | None = None, path: str | None = None):
        super().__init__()
        self.setObjectName("nnviz-main-window")
        self.settings = settings if settings is not None else QSettings()
        self.client = client
        self.history = History(1)
        self.path: str | None = None
        self.experiment_name = "Untitled"
        self.description = ""
        self.last_snapshot: m.Snapshot | None = None
        self._generation = -1
        self._points_version = 0
        self._playing = False
        self._shown_stop = ""
        self._frame_times: deque = deque(maxlen=60)
        self._plot_refreshed: dict = {}
        self._loading = False
        self._saved_epoch = 0
        self._transport_seq = 0
        self._status_shown = 0.0
        self._best_label = "best test"
        self._view_timer = QTimer(self, singleShot=True, interval=30, timeout=self._send_view)

        self.points_model = PointsModel(PointSet.empty(), self)
        self.undo_stack = self.points_model.undo_stack
        self.config_model = ConfigModel(ExperimentConfig(), undo_stack=self.undo_stack, parent=self)

        self._build_central()
        self._build_docks()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self.setAcceptDrops(True)
        self.resize(1440, 900)

        self.points_model.changed.connect(self._on_points_changed)
        self.config_model.changed.connect(self._on_config_changed)
        self.config_model.invalid.connect(lambda msg: self.statusBar().showMessage(msg, 5000))
        self.undo_stack.cleanChanged.connect(lambda clean: self.setWindowModified(self.is_modified()))
        self.canvas.view_box.sigRangeChanged.connect(lambda *_: self._view_timer.start())
        self.canvas.status_message.connect(self._coords_label.setText)
        self._attach_client(client)
        self._restore_settings()
        cache_axes(self)

        if experiment is not None:
            self.load_experiment(experiment, path)
        self._update_title()

    # -- construction ------------------------------------------------------------------------------------
    def _build_central(self) -> None:
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.banner = Banner(central)
        self.banner.action_triggered.connect(self._on_banner_action)
        self._banner_action = None
        self.canvas = PointCanvas(self.points_model, central)
        layout.addWidget(self.banner)
        layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                         | QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.data_panel = DataPanel(self)
        self.control_panel = ControlPanel(self.config_model, self)
        self.lesson_view = QTextBrowser(self)
        self.lesson_view.setOpenExternalLinks(False)
        self.lesson_view.setToolTip("What this experiment is about, and what to watch for.")
        self.loss_plot = LossPlot(self)
        self.gradient_plot = GradientPlot(self)
        self.lr_plot = LearningRatePlot(self)
        self.weights_plot = WeightsPlot(self)
        self.plots = (self.loss_plot, self.gradient_plot, self.weights_plot, self.lr_plot)
        L, R, B = Qt.LeftDockWidgetArea, Qt.RightDockWidgetArea, Qt.BottomDockWidgetArea
        self.data_dock = self._dock("Data", "dock-data", self.data_panel, L)
        self.lesson_dock = self._dock("Lesson", "dock-lesson", self.lesson_view, L)
        self.model_dock = self._dock("Model and training", "dock-model", self.control_panel, R)
        self.loss_dock = self._dock("Loss", "dock-loss", self.loss_plot, B)
        self.gradient_dock = self._dock("Gradients per layer", "dock-gradients", self.gradient_plot, B)
        self.lr_dock = self._dock("Learning rate", "dock-lr", self.lr_plot, B)
        self.weights_dock = self._dock("Weights", "dock-weights", self.weights_plot, B)
        self.splitDockWidget(self.loss_dock, self.gradient_dock, Qt.Horizontal)
        self.splitDockWidget(self.gradient_dock, self.lr_dock, Qt.Horizontal)
        self.tabifyDockWidget(self.gradient_dock, self.weights_dock)
        self.gradient_dock.raise_()
        for dock, plot in ((self.loss_dock, self.loss_plot), (self.gradient_dock, self.gradient_plot),
                           (self.weights_dock, self.weights_plot), (self.lr_dock, self.lr_plot)):
            # a plot in a hidden tab skips refreshes; it catches up when it is shown
            dock.visibilityChanged.connect(lambda visible, p=plot: visible and p.refresh())
        self.resizeDocks([self.loss_dock, self.gradient_dock, self.lr_dock], [520, 460, 300], Qt.Horizontal)
        self.resizeDocks([self.loss_dock], [270], Qt.Vertical)
        self.resizeDocks([self.data_dock, self.model_dock], [250, 340], Qt.Horizontal)
        self.resizeDocks([self.data_dock, self.lesson_dock], [430, 200], Qt.Vertical)

        dp = self.data_panel
        dp.regenerate_requested.connect(self.regenerate)
        dp.resplit_requested.connect(self.resplit)
        dp.tool_changed.connect(self.canvas.set_tool)
        dp.current_class_changed.connect(self.canvas.set_current_class)
        dp.new_point_role_changed.connect(self.canvas.set_new_point_role)

    def _action(self, text, slot, shortcut=None, tip="", checkable=False, checked=False) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        a.setToolTip(tip or text)
        a.setStatusTip(tip)
        a.setCheckable(checkable)
        if checkable:
            a.setChecked(checked)
            a.toggled.connect(slot)
        else:
            a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        A = self._action
        self.act_play = A("Play", self.toggle_play, "Space", "Start or pause training (Space).")
        self.act_step = A("Step", self.step, [QKeySequence("S"), QKeySequence(Qt.Key_Right)],
                          "Train exactly one epoch, then pause (S or Right arrow).")
        self.act_reset = A("Reset", self.reset_weights, "R",
                           "Start over from the same initial weights; the points stay (R).")
        self.act_redraw = A("New weights", self.redraw_weights, "Shift+R",
                            "Start over from freshly drawn random weights (a new seed) (Shift+R).")
        self.act_restart = A("Restart training process", self.restart_session, None,
                             "Start a new training process with the current points and settings.")
        self.act_fit = A("Fit view", self.canvas.fit_view, "F", "Zoom to show all points (F).")
        self.act_discretize = A("Discretize", self.canvas.set_discretize, "D",
                                "Show the boundary as hard class regions instead of a smooth colour field (D).",
                                checkable=True)
        self.act_misclassified = A("Show mistakes", self._show_mistakes, "M",
                                   "Ring the points the network currently gets wrong (M).", checkable=True)
        self.act_undo = self.undo_stack.createUndoAction(self, "Undo")
        self.act_undo.setShortcut(QKeySequence.Undo)
        self.act_redo = self.undo_stack.createRedoAction(self, "Redo")
        self.act_redo.setShortcuts([QKeySequence.Redo, QKeySequence("Ctrl+Shift+Z")])
        for a in (self.act_undo, self.act_redo):
            self.addAction(a)
        self.act_delete = A("Delete selected points", self.canvas.delete_selected, None,
                            "Delete the points selected with the Select tool (Delete).")
        self.act_select_all = A("Select all points", self.canvas.select_all, "Ctrl+A", "Select every point.")
        self.act_new = A("New", self.new_experiment, QKeySequence.New, "Start an empty experiment.")
        self.act_open = A("Open…", self.open_dialog, QKeySequence.Open, "Open an experiment file (.nnviz).")
        self.act_save = A("Save", self.save, QKeySequence.Save, "Save the experiment: points, settings, weights.")
        self.act_save_as = A("Save As…", self.save_as, QKeySequence.SaveAs, "Save the experiment under a new name.")
        self.act_import_csv = A("Import points (CSV)…", self.import_points_dialog, None,
                                "Replace the points with ones from a CSV file (x, y, label[, role]).")
        self.act_export_csv = A("Export points (CSV)…", self.export_points_dialog, None,
                                "Write the points to a CSV file (x, y, label, role).")
        self.act_export_png = A("Export image (PNG)…", self.export_image_dialog, None,
                                "Save a picture of the canvas.")
        self.act_export_metrics = A("Export metrics (CSV)…", self.export_metrics_dialog, None,
                                    "Write the per-epoch metrics to a CSV file.")
        self.act_quit = A("Quit", self.close, QKeySequence.Quit, "Close nnviz.")

    def _build_menus_and_toolbar(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        for a in (self.act_new, self.act_open):
            f.addAction(a)
        self.presets_menu = f.addMenu("Open lesson")
        self._fill_presets_menu()
        self.recent_menu = f.addMenu("Open recent")
        f.addSeparator()
        for a in (self.act_save, self.act_save_as):
            f.addAction(a)
        f.addSeparator()
        for a in (self.act_import_csv, self.act_export_csv, self.act_export_png, self.act_export_metrics):
            f.addAction(a)
        f.addSeparator()
        f.addAction(self.act_quit)
        e = mb.addMenu("&Edit")
        for a in (self.act_undo, self.act_redo, self.act_select_all, self.act_delete):
            e.addAction(a)
        t = mb.addMenu("&Training")
        for a in (self.act_play, self.act_step, self.act_reset, self.act_redraw):
            t.addAction(a)
        t.addSeparator()
        t.addAction(self.act_restart)
        v = mb.addMenu("&View")
        for a in (self.act_fit, self.act_discretize, self.act_misclassified):
            v.addAction(a)
        v.addSeparator()
        for d in (self.data_dock, self.lesson_dock, self.model_dock, self.loss_dock, self.gradient_dock,
                  self.weights_dock, self.lr_dock):
            v.addAction(d.toggleViewAction())
        h = mb.addMenu("&Help")
        h.addAction(self._action("About nnviz", self._about, None, "Version and licence."))

        tb = self.addToolBar("Training")
        tb.setObjectName("toolbar-training")
        for a in (self.act_play, self.act_step, self.act_reset, self.act_redraw):
            tb.addAction(a)
        tb.addSeparator()
        self.speed_combo = QComboBox(self)
        for value, text in SPEEDS:
            self.speed_combo.addItem(text, value)
        self.speed_combo.setToolTip("Cap on training speed; 'as fast as possible' never waits for drawing.")
        self.speed_combo.currentIndexChanged.connect(self._on_speed_changed)
        tb.addWidget(QLabel(" Speed: "))
        tb.addWidget(self.speed_combo)
        tb.addSeparator()
        for a in (self.act_undo, self.act_redo):
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.act_fit, self.act_discretize, self.act_misclassified):
            tb.addAction(a)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self._coords_label = QLabel("")
        self._epoch_label = QLabel("epoch 0")
        self._rate_label = QLabel("")
        self._points_label = QLabel("")
        for w in (self._coords_label, self._points_label, self._epoch_label, self._rate_label):
            w.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(w)
        self._epoch_label.setToolTip("Epochs trained: one epoch is one pass over the training points.")
        self._rate_label.setToolTip("Training speed, and how many frames per second the window draws.")

    def _fill_presets_menu(self) -> None:
        try:
            from ..presets import PRESETS
        except ImportError:   # presets are optional for the window itself
            return
        for name, preset in PRESETS.items():
            act = self.presets_menu.addAction(preset.title)
            act.setToolTip(preset.lesson)
            act.triggered.connect(lambda _=False, n=name: self.open_preset(n))

    # -- session wiring ----------------------------------------------------------------------------------
    def _attach_client(self, client: SessionClient) -> None:
        self.client = client
        client.snapshot.connect(self._on_snapshot)
        client.error.connect(self._on_session_error)
        client.died.connect(self._on_session_died)
        client.start()
        self._send_all()

    def _send_all(self) -> None:
        """Tell the session everything it needs: after start, restart or load."""
        self.client.send(m.SetConfig(self.config_model.config))
        self.client.send(m.SetPoints(self.points_model.points, self._points_version))
        self.client.send(m.SetSpeed(self.speed_combo.currentData() or 0))
        self._send_view()

    def _send_view(self) -> None:
        (x0, x1), (y0, y1) = self.canvas.view_box.viewRange()
        w = max(1.0, x1 - x0)
        h = max(1.0, y1 - y0)
        # about BOUNDARY_RESOLUTION pixels along the longer side, keeping the view's aspect ratio
        scale = BOUNDARY_RESOLUTION / max(w, h)
        self.client.send(m.SetView((x0, x1, y0, y1), max(8, round(w * scale)), max(8, round(h * scale)),
                                   predictions=self.act_misclassified.isChecked()))

    def _show_mistakes(self, on: bool) -> None:
        self.canvas.set_highlight_misclassified(on)
        self._send_view()   # the session classifies every point only while mistakes are shown

    def _on_points_changed(self, points: PointSet) -> None:
        self._points_version += 1
        if not self._loading:   # a load sends settings and points together
            self.client.send(m.SetPoints(points, self._points_version))
        self._update_points_label()

    def _on_config_changed(self, config: ExperimentConfig, needs_reset: bool) -> None:
        self._best_label = "best " + config.early_stopping.monitor.split("_")[0]
        if not self._loading:   # a load sends settings and points together
            self.client.send(m.SetConfig(config))
            if needs_reset:
                self.statusBar().showMessage("The architecture changed: training restarts from new weights.", 4000)
        self.data_panel.set_problem(config.problem)

    def _on_speed_changed(self) -> None:
        self.client.send(m.SetSpeed(self.speed_combo.currentData() or 0))

    def _on_snapshot(self, snap: m.Snapshot) -> None:
        try:
            self._show_snapshot(snap)
        finally:
            self.client.ack()   # the next frame may come: backpressure is per drawn frame

    def _show_snapshot(self, snap: m.Snapshot) -> None:
        self.last_snapshot = snap
        self.setWindowModified(self.is_modified())
        if snap.generation != self._generation:
            self._generation = snap.generation
            self.history = History(snap.n_layers)
            self.history.extend(snap.rows)
            for plot in self.plots:
                plot.set_history(self.history)
            self._place_markers()
        else:
            self.history.extend(snap.rows)
            self._refresh_plots(all_now=not snap.playing)
        if snap.boundary is not None:
            self.canvas.set_boundary(snap.boundary, snap.extent, snap.mode)
        if snap.points_version == self._points_version:
            self.canvas.set_predictions(snap.predictions)
        if snap.transport_seq == self._transport_seq:   # older snapshots predate the last Play/Pause
            self._set_playing(snap.playing)
        if snap.stop_message and snap.stop_message != self._shown_stop:
            kind = "error" if snap.stop_kind == "diverged" else "info"
            self.banner.show_message(snap.stop_message, kind)
        elif not snap.stop_message and self._shown_stop and self.banner.kind in ("info", "error") \
                and self._banner_action is None:
            self.banner.hide()
        self._shown_stop = snap.stop_message
        if snap.notice:
            self.statusBar().showMessage(snap.notice, 4000)
        now = time.perf_counter()
        self._frame_times.append(now)
        fps = 0.0
        if len(self._frame_times) > 1 and now - self._frame_times[0] > 0:
            fps = (len(self._frame_times) - 1) / (now - self._frame_times[0])
        if not snap.playing or now - self._status_shown >= STATUS_REFRESH_SECONDS:
            self._status_shown = now
            self._epoch_label.setText(f"epoch {snap.epoch:,}")
            self._rate_label.setText(f"{snap.epochs_per_second:,.0f} epochs/s · {fps:.0f} fps")
        self.frame_drawn.emit(snap.epoch)

    def _refresh_plots(self, all_now: bool) -> None:
        plots = [p for p in self.plots if p.isVisible()] or [self.loss_plot]   # hidden tabs wait
        now = time.perf_counter()
        if all_now:
            due = plots
        else:
            stalest = min(plots, key=lambda p: self._plot_refreshed.get(p, 0.0))
            due = [stalest] if now - self._plot_refreshed.get(stalest, 0.0) >= PLOT_REFRESH_SECONDS else []
        for plot in due:
            plot.refresh()
            self._plot_refreshed[plot] = now
        if self.loss_plot in due:   # markers move with their plot's refresh, not every frame
            self._place_markers()

    def _place_markers(self) -> None:
        snap = self.last_snapshot
        if snap is None:
            return
        self.loss_plot.set_best_epoch(snap.best_epoch, label=self._best_label)
        self.loss_plot.set_stop_epoch(snap.epoch if snap.stop_kind == "early_stopping" else None,
                                      snap.stop_message)

    def _on_session_error(self, message: str, detail: str) -> None:
        self._set_playing(False)
        self.banner.show_message(message, "error")
        if detail:
            print(detail)

    def _on_session_died(self, message: str) -> None:
        self._set_playing(False)
        self._banner_action = self.restart_session
        self.banner.show_message(message + " Your points and settings are safe.", "error",
                                 action="Restart training")

    def _on_banner_action(self) -> None:
        action, self._banner_action = self._banner_action, None
        self.banner.hide()
        if action:
            action()

    def restart_session(self) -> None:
        """Start a new training process with the current points and settings (weights start over)."""
        old = self.client
        try:
            old.snapshot.disconnect(self._on_snapshot)
            old.error.disconnect(self._on_session_error)
            old.died.disconnect(self._on_session_died)
        except (RuntimeError, TypeError):
            pass
        old.shutdown()
        self._generation = -1
        self._transport_seq = 0   # the new process numbers transport commands afresh
        self._attach_client(type(old)(self))

    # -- transport ---------------------------------------------------------------------------------------
    def _set_playing(self, playing: bool) -> None:
        self._playing = playing
        self.act_play.setText("Pause" if playing else "Play")

    def toggle_play(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def _next_seq(self) -> int:
        self._transport_seq += 1
        return self._transport_seq

    def play(self) -> None:
        self.client.send(m.Play(self._next_seq()))
        self._set_playing(True)

    def pause(self) -> None:
        self.client.send(m.Pause(self._next_seq()))
        self._set_playing(False)

    def step(self) -> None:
        self.client.send(m.Step(1, self._next_seq()))
        self._set_playing(False)

    def reset_weights(self) -> None:
        self.client.send(m.Reset(False))
        self.banner.hide()

    def redraw_weights(self) -> None:
        """New random weights: a new seed, recorded in the settings so the run stays reproducible."""
        from ..engine.trainer import new_random_seed
        self.config_model.set_field("architecture", "seed", new_random_seed())
        self.banner.hide()

    # -- data --------------------------------------------------------------------------------------------
    def regenerate(self, kind: str, count: int, noise: float, train_fraction: float, seed: int) -> None:
        try:
            points = generate(kind, count, noise, train_fraction, seed)
        except NnvizError as exc:
            self._error("Cannot generate data", str(exc))
            return
        self.points_model.replace_all(points, f"Generate {kind} data")
        self.canvas.fit_view()

    def resplit(self, train_fraction: float) -> None:
        points = self.points_model.points
        try:
            new = points.resplit(train_fraction, seed=self.data_panel.seed())
        except NnvizError as exc:
            self._error("Cannot re-split", str(exc))
            return
        self.points_model.replace_all(new, f"Re-split {train_fraction:.0%} train")

    def _update_points_label(self) -> None:
        p = self.points_model.points
        self._points_label.setText(f"{p.count(0)} train · {p.count(1)} test"
                                   + (f" · {p.count(2)} validation" if p.count(2) else ""))

    # -- documents ---------------------------------------------------------------------------------------
    def load_experiment(self, exp: Experiment, path: str | None = None) -> None:
        """Show an experiment: its points, settings, and (if saved) its weights and metric history."""
        self.pause()
        self._loading = True
        try:
            self.config_model.set_config(exp.config, undo_text=None)
            self.points_model.replace_all(exp.points, "Load")
        finally:
            self._loading = False
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.client.send(m.SetExperiment(exp.config, exp.points, self._points_version))
        self.client.send(m.LoadState(exp.weights, exp.history.to_dict() if exp.history is not None else None))
        # training beyond the loaded epoch is unsaved work
        self._saved_epoch = int(exp.history.last("epoch")) if exp.history is not None and len(exp.history) else 0
        self.experiment_name = exp.name
        self.description = exp.description
        self.path = path
        self.lesson_view.setHtml(_lesson_html(exp.name, exp.description))
        self.banner.hide()
        self._shown_stop = ""
        self.data_panel.set_generator_settings(self.data_panel.kind(), max(1, len(exp.points)),
                                               self.data_panel.noise_fraction(),
                                               self.data_panel.train_fraction(), self.data_panel.seed())
        self.canvas.fit_view()
        self._send_view()
        self._update_title()
        if path:
            self._add_recent(path)

    def open_path(self, path: str) -> bool:
        """Open a .nnviz experiment (or a points CSV). Errors are shown; the current work is kept."""
        if path.lower().endswith(".csv"):
            return self.import_points(path)
        try:
            exp = load_experiment(path)
        except NnvizError as exc:
            self._error("Cannot open the file", str(exc))
            return False
        self.load_experiment(exp, path)
        return True

    def open_preset(self, name: str) -> None:
        from ..presets import get_preset
        if not self.maybe_save():
            return
        preset = get_preset(name)
        self.load_experiment(preset.build(), None)
        self.show_generator_settings(preset.data)

    def show_generator_settings(self, data: dict) -> None:
        """Show how a lesson's points were made, so Regenerate makes more of the same kind."""
        if data.get("kind"):
            self.data_panel.set_generator_settings(data["kind"], data.get("n", 200), data.get("noise", 0.0),
                                                   data.get("train_fraction", 0.5), data.get("seed", 0))

    def new_experiment(self) -> None:
        if not self.maybe_save():
            return
        self.load_experiment(Experiment(ExperimentConfig(), PointSet.empty(), name="Untitled",
                                        description="Draw points with the Add or Brush tool, then press Play."))

    def current_experiment(self) -> Experiment | None:
        """The experiment as it is now, with the weights and metric history of one same moment.

        Asks the training process for them; without one (it died) the points and settings alone.
        """
        exp = Experiment(self.config_model.config, self.points_model.points, name=self.experiment_name,
                         description=self.description)
        if not self.client.alive:
            return exp
        reply = self.client.request_state()
        if reply is None:
            return None
        exp.weights = reply.weights
        exp.history = History.from_dict(reply.history) if reply.history is not None else None
        return exp

    def save_to(self, path: str) -> bool:
        exp = self.current_experiment()
        if exp is None:
            self._error("Cannot save", "The training process did not answer; the weights could not be read. "
                        "Your points and settings are unchanged; try again, or restart training.")
            return False
        try:
            save_experiment(exp, path)
        except (NnvizError, OSError) as exc:
            self._error("Cannot save", str(exc))
            return False
        if exp.weights is None and len(self.history):
            self.statusBar().showMessage("Saved points and settings; the weights were lost with the training "
                                         "process.", 8000)
        if exp.history is not None and len(exp.history):
            self._saved_epoch = int(exp.history.last("epoch"))   # the epoch of the saved weights
        else:
            self._saved_epoch = self.last_snapshot.epoch if self.last_snapshot else 0
        self.path = path
        self.undo_stack.setClean()
        self._add_recent(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def save(self) -> bool:
        return self.save_to(self.path) if self.path else self.save_as()

    def save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save experiment", self._suggest_path(".nnviz"), FILE_FILTER)
        if not path:
            return False
        if not os.path.splitext(path)[1]:
            path += ".nnviz"
        return self.save_to(path)

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open experiment", self._last_dir(), FILE_FILTER)
        if path:
            self.open_path(path)

    def import_points(self, path: str) -> bool:
        try:
            points = read_points_csv(path)
        except (NnvizError, OSError) as exc:
            self._error("Cannot import points", str(exc))
            return False
        self.points_model.replace_all(points, "Import points")
        self.canvas.fit_view()
        return True

    def import_points_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import points", self._last_dir(), CSV_FILTER)
        if path:
            self.import_points(path)

    def export_points_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export points", self._suggest_path(".csv"), CSV_FILTER)
        if path:
            self._write(lambda: write_points_csv(self.points_model.points, path), path)

    def export_image(self, path: str) -> bool:
        if not self.canvas.grab().save(path):
            self._error("Cannot export the image", f"Could not write {path}.")
            return False
        return True

    def export_image_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export image", self._suggest_path(".png"),
                                              "PNG images (*.png)")
        if path:
            self.export_image(path)

    def export_metrics_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", self._suggest_path("-metrics.csv"),
                                              CSV_FILTER)
        if path:
            def write():
                with open(path, "w", encoding="utf-8", newline="") as fh:
                    fh.write(self.history.to_csv())
            self._write(write, path)

    def _write(self, fn, path) -> None:
        try:
            fn()
        except (NnvizError, OSError) as exc:
            self._error("Cannot write the file", str(exc))
            return
        self.statusBar().showMessage(f"Wrote {path}", 4000)

    def is_modified(self) -> bool:
        """Unsaved edits, or training since the last save or load (hours of it can be at stake)."""
        trained = self.last_snapshot is not None and self.last_snapshot.epoch != self._saved_epoch
        return not self.undo_stack.isClean() or trained

    def forget_unsaved(self) -> None:
        """Treat the current state as saved (closing a throw-away window: screenshots, tests)."""
        self.undo_stack.setClean()
        self._saved_epoch = self.last_snapshot.epoch if self.last_snapshot else 0
        self.setWindowModified(False)

    def maybe_save(self) -> bool:
        """Ask about unsaved work. False means the user cancelled."""
        if not self.is_modified():
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.experiment_name}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def _error(self, title: str, message: str) -> None:
        restart = "Restart training" if self._banner_action is not None else None   # keep that way out
        self.banner.show_message(f"{title}: {message}", "error", action=restart)
        self.statusBar().showMessage(f"{title}: {message}", 8000)

    def _update_title(self) -> None:
        name = os.path.basename(self.path) if self.path else self.experiment_name
        self.setWindowTitle(f"{name}[*] — nnviz")
        self.setWindowModified(self.is_modified())

    def _suggest_path(self, suffix: str) -> str:
        base = os.path.splitext(self.path)[0] if self.path else os.path.join(
            self._last_dir(), self.experiment_name.lower().replace(" ", "-") or "experiment")
        return base + suffix

    def _last_dir(self) -> str:
        value = self.settings.value("last_dir", "")
        return value if isinstance(value, str) and os.path.isdir(value) else os.path.expanduser("~")

    # -- recent files and settings -----------------------------------------------------------------------
    def _recent(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            return []
        return [v for v in value if isinstance(v, str)]

    def _add_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        recent = [path] + [p for p in self._recent() if p != path]
        self.settings.setValue("recent_files", recent[:MAX_RECENT])
        self.settings.setValue("last_dir", os.path.dirname(path))
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self._recent()
        for path in recent:
            act = self.recent_menu.addAction(os.path.basename(path))
            act.setToolTip(path)
            act.triggered.connect(lambda _=False, p=path: self.maybe_save() and self.open_path(p))
        self.recent_menu.setEnabled(bool(recent))

    def _restore_settings(self) -> None:
        s = self.settings
        geometry, state = s.value("window/geometry"), s.value("window/state")
        # a hand-edited or foreign settings file must never stop the window from opening
        if isinstance(geometry, (QByteArray, bytes)):
            self.restoreGeometry(QByteArray(geometry))
        if isinstance(state, (QByteArray, bytes)):
            self.restoreState(QByteArray(state))
        speed = s.value("training/speed", 0)
        index = self.speed_combo.findData(int(speed) if str(speed).isdigit() else 0)
        self.speed_combo.setCurrentIndex(max(0, index))
        self.act_discretize.setChecked(s.value("view/discretize", False) in (True, "true"))
        self.act_misclassified.setChecked(s.value("view/misclassified", False) in (True, "true"))
        self._fill_recent_menu()

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("training/speed", self.speed_combo.currentData() or 0)
        s.setValue("view/discretize", self.act_discretize.isChecked())
        s.setValue("view/misclassified", self.act_misclassified.isChecked())
        s.sync()

    # -- window events -----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not self.maybe_save():
            event.ignore()
            return
        self._save_settings()
        self.client.shutdown()
        event.accept()

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        path = event.mimeData().urls()[0].toLocalFile()
        if path.lower().endswith(".csv") or self.maybe_save():
            self.open_path(path)

    def _about(self) -> None:
        from .. import __version__
        QMessageBox.about(self, "About nnviz",
                          f"<b>nnviz {__version__}</b><p>A desktop lab in which you watch a neural network "
                          "learn.</p><p>MIT licence.</p>")


def _lesson_html(title: str, text: str) -> str:
    from html import escape
    return f"<h3>{escape(title)}</h3><p>{escape(text)}</p>"
