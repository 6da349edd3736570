"""The main window: canvas in the centre, data and model docks, live plots, transport toolbar.

It wires plain models (points, config) to the training session and the views. It does no maths:
metrics come computed from the session; the window only stores and shows them.
"""
from __future__ import annotations

import os
import re
import time
from collections import deque

import numpy as np

from PySide6.QtCore import QByteArray, QEvent, QEventLoop, QPoint, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QFont, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QAbstractSpinBox, QApplication, QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QDockWidget, QFileDialog,
    QFormLayout, QLabel, QLineEdit, QMainWindow, QMessageBox, QPlainTextEdit, QRadioButton, QTextBrowser,
    QSplitter, QTextEdit, QVBoxLayout, QWidget,
)

from ..data.points import PointSet
from ..engine.config import ExperimentConfig
from ..engine.history import History
from ..errors import NnvizError
from ..experiment import Experiment, load_experiment
from ..fileio import write_atomically
from ..session import messages as m
from .banner import Banner
from .pgutil import cache_axes
from .canvas import PointCanvas
from .controls import ControlPanel
from .data_panel import DataPanel
from .plots import GradientPlot, LearningRatePlot, LossPlot, WeightsPlot
from .autosave import Autosaver, discard_recovery, pending_recoveries, restore_recovery as _restore_recovery
from .recorder import FPS_CHOICES, Recorder, default_video_path
from .save_job import SaveJob
from .session_client import ProcessSessionClient, SessionClient
from .training_run import TrainingRun
from .document import Document
from .sweep_panel import SweepPanel
from .network_view import NetworkView
from .compare import CompareGroup, history_from_reply as _history_from_reply
from .tiles import TileGrid
from .pins import PinList, PinsWidget
from .plots import Overlay
from ..compare_variants import describe, diff_changes, variant_choices, apply_changes
from .document import MAX_COMPARED_RUNS, Variant

SPEEDS = ((0, "As fast as possible"), (1, "1 epoch/s"), (5, "5 epochs/s"), (20, "20 epochs/s"),
          (60, "60 epochs/s"), (200, "200 epochs/s"), (1000, "1,000 epochs/s"))
MAX_RECENT = 8
BOUNDARY_RESOLUTION = 100
# Each metric plot repaints at most this often, and at most one plot per frame: a plot whose range
# moved costs several times the boundary image to paint, and a curve read by eye gains nothing
# above ~10 Hz. Spreading them over frames keeps every event-loop turn short.
PLOT_REFRESH_SECONDS = 0.1
STATUS_REFRESH_SECONDS = 0.25   # numbers that change every frame are unreadable anyway
# "Save changes?" is asked for the user's own work: edits (the undo stack is not clean) or a run at
# least this long (seconds of playing since the last save or load). A click on Play or Step in a
# lesson is not worth a question; a minute of training is.
TRAINING_WORTH_SAVING_SECONDS = 30.0
# Keys that drive training from anywhere in the window except while text is typed (see eventFilter).
TRANSPORT_KEYS = {(Qt.Key_Space, Qt.NoModifier), (Qt.Key_S, Qt.NoModifier), (Qt.Key_R, Qt.NoModifier),
                  (Qt.Key_R, Qt.ShiftModifier)}
IMAGE_SCALES = (1, 2, 3)
# Presentation mode (F11, for a projector): fonts and point markers this many times larger.
PRESENTATION_FONT_SCALE = 1.5
PRESENTATION_MARKER_SCALE = 1.6
# The window layout (geometry, docks) is written to the settings this often when it changed, so a crash
# does not lose it (it used to be written only on a clean close).
LAYOUT_AUTOSAVE_SECONDS = 5.0
MAX_COMPARE_FPS = 40         # frames a second of all compared runs together (each run: this / runs)
COMPACT_WIDTH = 1200         # a window narrower than this opens with the compact layout (see _compact_layout)
BOTTOM_SHARE = 0.46          # of the window's height, for the plots under the canvas (a new layout)
# Lessons that open the Sweep panel, with its fields filled in (parameter, values, spacing, seeds, epochs).
LESSON_SWEEPS = {
    "model-complexity": dict(param="hidden_units", values="1:128:8", scale="log", seeds=3, epochs=2000),
}
# The plot tab a lesson opens on, where its evidence is (the others show the gradients).
LESSON_TABS = {"l1-vs-l2": "weights", "l1-sparsity": "weights", "l2-weight-decay": "weights"}
FILE_FILTER = "nnviz experiments (*.nnviz);;All files (*)"
CSV_FILTER = "CSV files (*.csv);;All files (*)"


def _panel_args(g: dict) -> dict:
    return dict(kind=g["kind"], count=g["n"], noise=g["noise"], train_fraction=g["train_fraction"], seed=g["seed"])


class MainWindow(QMainWindow):
    frame_drawn = Signal(int)   # epoch shown; lets tests and the GUI benchmark follow the drawing

    def __init__(self, client: SessionClient, settings: QSettings | None = None,
                 experiment: Experiment | None = None, path: str | None = None):
        super().__init__()
        self.setObjectName("nnviz-main-window")
        self.settings = settings if settings is not None else QSettings()
        self._shown_stop = ""
        self._frame_times: deque = deque(maxlen=60)
        self._plot_refreshed: dict = {}
        self._closed = False
        self._save: _PendingSave | None = None
        self._requesting_state = False
        self._early_reply = None
        self._banner_source = ""              # what the banner shows: "sync", "stop", "died", an error title
        self._sync_text_shown: str | None = None
        self._died_message = ""
        self._status_shown = 0.0
        self._best_label = "best test"
        self._view_timer = QTimer(self, singleShot=True, interval=30, timeout=self._send_view)
        self.autosaver: Autosaver | None = None   # start_autosave() (the app) makes it; tests and scripts don't
        self._layout_timer: QTimer | None = None
        self._layout_written: tuple | None = None
        self._presenting: dict | None = None  # presentation mode: what to restore when it ends
        self._layout_restored = False         # the user's dock layout came from the settings
        self._first_shown = False
        self._compact = False                 # the compact layout of a small window (see _compact_layout)
        self._network_sent: bool | None = None   # the last SetNetworkView sent to run A's session
        self._network_dock_visible = False    # the Network tab is in front (visibilityChanged)
        self._run_histograms: dict = {}       # compare mode: each further run's latest weight histograms
        self._histograms_dirty = False        # ... not yet handed to the weights plot
        self._primary_histograms = None       # run A's latest weight histograms (for a pin)

        self.document = Document(self)        # points, settings, undo, file state: what is saved
        self.points_model = self.document.points_model
        self.undo_stack = self.document.undo_stack
        self.config_model = self.document.config_model

        self._build_central()
        self._build_docks()
        self._front_plot_dock = self.gradient_dock   # the plot tab in front (a lesson may choose another)
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self.setAcceptDrops(True)
        self.resize(1440, 900)

        self.points_model.changed.connect(self._on_points_changed)
        self.config_model.changed.connect(self._on_config_changed)
        self.config_model.invalid.connect(lambda msg: self.statusBar().showMessage(msg, 5000))
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.canvas.view_box.sigRangeChanged.connect(lambda *_: self._view_timer.start())
        self.canvas.status_message.connect(self._coords_label.setText)
        self.run = TrainingRun(client, self)
        self.run.frame.connect(self._show_snapshot)
        self.run.playing_changed.connect(self._show_playing)
        self.run.state_received.connect(self._on_state_received)
        self.run.error.connect(self._on_session_error)
        self.run.died.connect(self._on_session_died)
        self.compare = CompareGroup(self.document, self.run, lambda parent: type(self.run.client)(parent), self)
        self.compare.runs_changed.connect(self._on_runs_changed)
        self.compare.frame.connect(self._show_compare_frame)
        self.compare.playing_changed.connect(self._on_group_playing)
        self.compare.error.connect(lambda i, message, detail: self._on_session_error(message, detail))
        self.compare.died.connect(self._on_compare_died)
        self.pins = PinList(self)
        self.pins.changed.connect(self._update_overlays)
        self._build_compare_ui()
        self._send_all()
        self._restore_settings()
        cache_axes(self)

        if experiment is not None:
            self.load_experiment(experiment, path)
        self._update_title()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)   # app-wide keys (Space, transport, Esc): see eventFilter

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
        # compare mode: the canvas (run A, where points are edited) and a tile per further run
        self.tile_grid = TileGrid(self.canvas, central)
        # the large network view (View > Network in the centre) sits beside the canvas
        self.central_splitter = QSplitter(Qt.Horizontal, central)
        self.central_splitter.setChildrenCollapsible(False)
        self.central_splitter.addWidget(self.tile_grid)
        layout.addWidget(self.banner)
        layout.addWidget(self.central_splitter, 1)
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
        self.network_view = NetworkView(self.config_model, self)
        self.network_view.unit_hovered.connect(self._show_unit)
        self.network_view.message.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.network_dock = self._dock("Network", "dock-network", self.network_view, B)
        self.network_dock.setToolTip("The network: inputs, every neuron's activation over the view, weights as "
                                     "edges, dropped neurons greyed, gradient per layer.")
        self.sweep_panel = SweepPanel(lambda: (self.config_model.config.copy(), self.points_model.points), self)
        self.sweep_dock = self._dock("Sweep: model complexity", "dock-sweep", self.sweep_panel, B)
        self.splitDockWidget(self.loss_dock, self.gradient_dock, Qt.Horizontal)
        self.splitDockWidget(self.gradient_dock, self.lr_dock, Qt.Horizontal)
        self.tabifyDockWidget(self.gradient_dock, self.weights_dock)
        self.tabifyDockWidget(self.gradient_dock, self.sweep_dock)
        self.tabifyDockWidget(self.gradient_dock, self.network_dock)
        self.network_dock.visibilityChanged.connect(self._on_network_dock_visible)
        self.sweep_dock.hide()   # View > Sweep, or a lesson about model complexity, shows it
        self.gradient_dock.raise_()
        for dock, plot in ((self.loss_dock, self.loss_plot), (self.gradient_dock, self.gradient_plot),
                           (self.weights_dock, self.weights_plot), (self.lr_dock, self.lr_plot)):
            # a plot in a hidden tab skips refreshes; it catches up when it is shown
            dock.visibilityChanged.connect(lambda visible, p=plot: visible and p.refresh())
        # the side panels run the full height; the plots share the width under the canvas only
        for corner, area in ((Qt.TopLeftCorner, L), (Qt.BottomLeftCorner, L), (Qt.TopRightCorner, R),
                             (Qt.BottomRightCorner, R)):
            self.setCorner(corner, area)
        self._default_dock_sizes(QSize(1440, 900))

        self.sweep_panel.model_requested.connect(self.open_sweep_run)
        self.sweep_panel.result_changed.connect(self._on_sweep_changed)
        self.sweep_panel.sweep_finished.connect(lambda _result: self._update_title())

        dp = self.data_panel
        dp.regenerate_requested.connect(self.regenerate)
        dp.resplit_requested.connect(self.resplit)
        dp.tool_changed.connect(self.canvas.set_tool)
        dp.current_class_changed.connect(self.canvas.set_current_class)
        dp.new_point_role_changed.connect(self.canvas.set_new_point_role)

    def _default_dock_sizes(self, size: QSize) -> None:
        """Dock sizes for a window of ``size``: the plots get ~40 % of the height (the loss plot's data area
        ~250 px at 1440x900), the side panels fixed widths that grow a little on big screens."""
        width, height = size.width(), size.height()
        left = max(230, min(380, round(width * 0.17)))
        right = max(340, min(460, round(width * 0.235)))
        if self._compact:
            left = 0
            self.resizeDocks([self.model_dock], [right], Qt.Horizontal)
            self.resizeDocks([self.model_dock, self.lesson_dock], [round(height * 0.68), round(height * 0.32)],
                             Qt.Vertical)
        else:
            self.resizeDocks([self.data_dock, self.model_dock], [left, right], Qt.Horizontal)
            self.resizeDocks([self.data_dock, self.lesson_dock], [round(height * 0.55), round(height * 0.45)],
                             Qt.Vertical)
        centre = max(300, width - left - right)
        if self._compact:   # the learning rate is a tab: loss and the other plots share the width evenly
            # (resizeDocks ignores a dock hidden behind another tab: size the group by its front tab)
            group = (self._front_plot_dock, self.gradient_dock, self.weights_dock, self.network_dock, self.lr_dock)
            front = next((d for d in group if d.isVisible() and not d.visibleRegion().isEmpty()), group[0])
            self.resizeDocks([self.loss_dock, front], [centre // 2, centre // 2], Qt.Horizontal)
        else:
            self.resizeDocks([self.loss_dock, self.gradient_dock, self.lr_dock],
                             [round(centre * 0.48), round(centre * 0.40), round(centre * 0.12)], Qt.Horizontal)
        self.resizeDocks([self.loss_dock], [max(220, round(height * BOTTOM_SHARE))], Qt.Vertical)

    def _compact_layout(self) -> None:
        """A small window (a laptop, a projector at 1024x768): the Data panel shares the right column with the
        Model panel (tabs), the lesson text sits under them, and the learning-rate plot is a tab beside the
        gradients, so that the canvas and the plots keep the width."""
        R = Qt.RightDockWidgetArea
        self.addDockWidget(R, self.data_dock)
        self.tabifyDockWidget(self.model_dock, self.data_dock)
        self.addDockWidget(R, self.lesson_dock)
        self.splitDockWidget(self.model_dock, self.lesson_dock, Qt.Vertical)
        self.tabifyDockWidget(self.pins_dock, self.lesson_dock) if self.pins_dock.isVisible() else None
        self.tabifyDockWidget(self.gradient_dock, self.lr_dock)
        self.lr_plot.setMaximumWidth(16777215)   # folded narrow it would narrow the whole tab group
        self.model_dock.raise_()
        self.gradient_dock.raise_()
        self._compact = True

    def _scale_docks(self, old: QSize, new: QSize) -> None:
        """The window was resized: the bottom plots keep their share of the height (the canvas must not
        take everything on a big screen), the side panels keep theirs of the width within limits."""
        if old.height() <= 0 or old.width() <= 0 or self._presenting is not None:
            return
        bottom = [d for d in (self.loss_dock, self.gradient_dock, self.sweep_dock)
                  if d.isVisible() and not d.isFloating() and self.dockWidgetArea(d) == Qt.BottomDockWidgetArea]
        if bottom and new.height() != old.height():
            h = bottom[0].height()
            self.resizeDocks(bottom[:1], [max(160, round(h * new.height() / old.height()))], Qt.Vertical)
        if new.width() != old.width():
            sides = [d for d in (self.data_dock, self.model_dock)
                     if d.isVisible() and not d.isFloating()]
            if sides:
                factor = min(1.35, max(0.75, new.width() / old.width()))
                self.resizeDocks(sides, [round(d.width() * factor) for d in sides], Qt.Horizontal)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._layout_restored and not self._first_shown:
            if self.width() < COMPACT_WIDTH:
                self._compact_layout()
                # the moved docks settle in the next turn; size them again then
                QTimer.singleShot(0, lambda: self._closed or self._default_dock_sizes(self.size()))
            self._default_dock_sizes(self.size())   # sized for the window as it is shown, once
            self._front_plot_dock.raise_()           # the front tab of the plots' group (a lesson's choice)
        self._first_shown = True

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self.isVisible() and event.oldSize().isValid():
            self._scale_docks(event.oldSize(), event.size())

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
        self.act_discretize = A("Discretize", self._set_discretize, "D",
                                "Show the boundary as hard class regions instead of a smooth colour field (D).",
                                checkable=True)
        self.act_misclassified = A("Show mistakes", self._show_mistakes, "M",
                                   "Ring the points the network currently gets wrong (M).", checkable=True)
        self.act_undo = self.undo_stack.createUndoAction(self, "Undo")
        self.act_undo.setShortcut(QKeySequence.Undo)
        self.act_redo = self.undo_stack.createRedoAction(self, "Redo")
        # each sequence once: the platform's Redo (Ctrl+Shift+Z on Linux, Ctrl+Y on Windows) is one of these two
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for a in (self.act_undo, self.act_redo):
            self.addAction(a)
        self.act_delete = A("Delete selected points", self.canvas.delete_selected, None,
                            "Delete the points selected with the Select tool (Delete).")
        self.act_select_all = A("Select all points", self.canvas.select_all, "Ctrl+A", "Select every point.")
        self.act_new = A("New", self.new_experiment, QKeySequence.New, "Start an empty experiment.")
        self.act_open = A("Open…", self.open_dialog, QKeySequence.Open, "Open an experiment file (.nnviz).")
        self.act_save = A("Save", lambda: self.save(wait=False), QKeySequence.Save,
                          "Save the experiment: points, settings, weights.")
        self.act_save_as = A("Save As…", lambda: self.save_as(wait=False), QKeySequence.SaveAs,
                             "Save the experiment under a new name.")
        self.act_import_csv = A("Import points (CSV)…", self.import_points_dialog, None,
                                "Replace the points with ones from a CSV file (x, y, label[, role]).")
        self.act_export_csv = A("Export points (CSV)…", self.export_points_dialog, None,
                                "Write the points to a CSV file (x, y, label, role).")
        self.act_export_png = A("Export image (PNG)…", self.export_image_dialog, None,
                                "Save a picture of the whole window (plots, legend, epoch) or of the canvas, "
                                "at 1x, 2x or 3x size.")
        self.act_export_metrics = A("Export metrics (CSV)…", self.export_metrics_dialog, None,
                                    "Write the per-epoch metrics to a CSV file.")
        self.act_quit = A("Quit", self.close, QKeySequence.Quit, "Close nnviz.")
        self.act_presentation = A("Presentation mode", self.set_presentation, "F11",
                                  "Full screen with larger text and points and only the canvas and plots, for a "
                                  "projector (F11; F11 or Esc returns to the previous layout).", checkable=True)
        # Esc leaves presentation mode; enabled only then, so Esc keeps its other uses otherwise
        self.act_leave_presentation = A("Leave presentation mode", lambda: self.set_presentation(False), "Esc",
                                        "Back to the layout before presentation mode (Esc).")
        self.act_leave_presentation.setEnabled(False)
        self._build_recording_actions()

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
        self.compare_menu = mb.addMenu("&Compare")
        v = mb.addMenu("&View")
        self.view_menu = v
        for a in (self.act_fit, self.act_discretize, self.act_misclassified):
            v.addAction(a)
        v.addSeparator()
        for d in (self.data_dock, self.lesson_dock, self.model_dock, self.loss_dock, self.gradient_dock,
                  self.weights_dock, self.lr_dock):
            v.addAction(d.toggleViewAction())
        act = self.network_dock.toggleViewAction()
        act.setText("Network")
        act.setShortcut(QKeySequence("N"))
        act.setToolTip("Show the network: every neuron's activation over the view, weights, dropped neurons (N).")
        v.addAction(act)
        self.act_network_large = self._action(
            "Network in the centre", self.set_network_large, "Shift+N",
            "Show the network large, beside the canvas (Shift+N); off puts it back in its panel.", checkable=True)
        v.addAction(self.act_network_large)
        self.act_show_sweep = self.sweep_dock.toggleViewAction()
        self.act_show_sweep.setText("Sweep (model complexity graph)")
        self.act_show_sweep.setToolTip("Train copies of this experiment with one setting varied, in background "
                                       "processes, and graph train and test error against it.")
        self.act_show_sweep.triggered.connect(lambda on: on and self.show_sweep_dock())
        v.addAction(self.act_show_sweep)
        self._view_anchor = v.addSeparator()
        v.addAction(self.act_presentation)
        self._build_record_menu(mb)
        h = mb.addMenu("&Help")
        h.addAction(self._action("About nnviz", self._about, None, "Version and licence."))

        tb = self.addToolBar("Training")
        tb.setObjectName("toolbar-training")
        self.training_toolbar = tb
        for a in (self.act_play, self.act_step, self.act_reset, self.act_redraw):
            tb.addAction(a)
        self._compare_anchor = tb.addSeparator()
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
        tb.addSeparator()
        tb.addAction(self.act_record)
        self._record_button = tb.widgetForAction(self.act_record)
        self._toolbar = tb

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self._coords_label = QLabel("")
        self._epoch_label = QLabel("epoch 0")
        self._rate_label = QLabel("")
        self._points_label = QLabel("")
        self._saving_label = QLabel("Saving…")
        self._saving_label.hide()
        for w in (self._saving_label, self._coords_label, self._points_label, self._epoch_label, self._rate_label):
            w.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(w)
        self._epoch_label.setToolTip("Epochs trained: one epoch is one pass over the training points.")
        # the recording indicator: blanked out of every recorded frame (Recorder exclude=...)
        self._rec_label = QLabel("")
        self._rec_label.setStyleSheet("color: #c62828; font-weight: bold;")
        self._rec_label.setToolTip("Recording; not shown in the video. Ctrl+Shift+R stops.")
        self._rec_label.setContentsMargins(8, 0, 8, 0)
        self._rec_label.hide()
        sb.addPermanentWidget(self._rec_label)
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
    # the document's facts, under the names the tests, the CLI and the monkey use
    def _document_fact(name: str, doc: str):
        def get(self):
            return getattr(self.document, name)

        def set(self, value):
            setattr(self.document, name, value)
        return property(get, set, doc=doc)

    path = _document_fact("path", "The file the document was loaded from or saved to (None: never saved).")
    experiment_name = _document_fact("name", "The document's name.")
    description = _document_fact("description", "The document's description (the lesson text).")
    _points_version = _document_fact("points_version", "Version of the points (sent with them).")
    _document = _document_fact("serial", "Bumps on every load.")
    _loading = _document_fact("loading", "A load is replacing points and settings.")
    _sweep_changes = _document_fact("sweep_changes", "Bumps when a sweep result changes.")
    _sweep_saved = _document_fact("sweep_saved", "_sweep_changes at the last save or load.")
    del _document_fact

    # the run's facts, under the names the tests, the CLI and the monkey use
    @property
    def client(self) -> SessionClient:
        return self.run.client

    @property
    def history(self) -> History:
        return self.run.history

    @property
    def last_snapshot(self) -> m.Snapshot | None:
        return self.run.last_snapshot

    @property
    def _playing(self) -> bool:
        return self.run.playing

    @property
    def _transport_seq(self) -> int:
        return self.run.transport_seq

    @property
    def _clock(self):
        return self.run.clock

    @_clock.setter
    def _clock(self, clock) -> None:
        self.run.clock = clock

    @property
    def _trained_seconds(self) -> float:
        return self.run.trained_seconds

    @_trained_seconds.setter
    def _trained_seconds(self, seconds: float) -> None:
        self.run.trained_seconds = seconds

    def _send_all(self) -> None:
        """Tell the session everything it needs: after start, restart or load."""
        self.client.send(m.SetConfig(self.config_model.config))
        self.client.send(m.SetPoints(self.points_model.points, self._points_version))
        self._network_sent = None
        self._send_network_view()
        self.compare.send_all(m.SetSpeed(self.speed_combo.currentData() or 0))
        self._send_view()

    def _send_view(self) -> None:
        (x0, x1), (y0, y1) = self.canvas.view_box.viewRange()
        w = max(1.0, x1 - x0)
        h = max(1.0, y1 - y0)
        # about BOUNDARY_RESOLUTION pixels along the longer side, keeping the view's aspect ratio
        scale = BOUNDARY_RESOLUTION / max(w, h)
        self.compare.send_all(m.SetView((x0, x1, y0, y1), max(8, round(w * scale)), max(8, round(h * scale)),
                                        predictions=self.act_misclassified.isChecked()))

    # -- the network view ----------------------------------------------------------------------------
    def _on_network_dock_visible(self, visible: bool) -> None:
        self._network_dock_visible = visible   # False also while another tab of its group is in front
        self._send_network_view()

    def _network_wanted(self) -> bool:
        if self._closed:
            return False
        return self.network_large or (self._network_dock_visible and self.network_dock.widget() is self.network_view)

    def _send_network_view(self) -> None:
        """The session computes every neuron's heatmap only while the network view is on screen."""
        wanted = self._network_wanted()
        if wanted != self._network_sent and getattr(self, "run", None) is not None:
            self._network_sent = wanted
            self.client.send(m.SetNetworkView(wanted))
            if not wanted:
                self.canvas.show_unit_heatmap(None)

    def _show_unit(self, unit) -> None:
        """A neuron is hovered in the network view: its activation over the canvas (None: the boundary)."""
        if unit is None:
            self.canvas.show_unit_heatmap(None)
            self._coords_label.setText("")
            return
        title, values, extent, levels = unit
        self.canvas.show_unit_heatmap(values, extent, levels)
        self._coords_label.setText(title)

    def show_network_view(self, on: bool = True) -> None:
        """Show (and bring to the front) or hide the Network dock."""
        if on:
            self.network_dock.show()
            self.network_dock.raise_()
            self._network_dock_visible = True
        else:
            self.network_dock.hide()
        self._send_network_view()

    @property
    def network_large(self) -> bool:
        return self.network_view.parentWidget() is self.central_splitter

    def set_network_large(self, on: bool) -> None:
        """The network view in the centre, beside the canvas, large (on), or back in its dock (off)."""
        if on == self.network_large:
            return
        if on:
            self.network_dock.hide()
            self.central_splitter.addWidget(self.network_view)
            self.network_view.set_large(True)
            self.network_view.show()
            total = max(2, self.central_splitter.width())
            self.central_splitter.setSizes([round(total * 0.42), round(total * 0.58)])
        else:
            self.network_view.set_large(False)
            self.network_dock.setWidget(self.network_view)
            self.network_dock.show()
            self.network_dock.raise_()
        if self.act_network_large.isChecked() != on:
            self.act_network_large.setChecked(on)
        self._send_network_view()

    def _set_discretize(self, on: bool) -> None:
        self.canvas.set_discretize(on)
        self.tile_grid.set_discretize(on)

    def _show_mistakes(self, on: bool) -> None:
        self.canvas.set_highlight_misclassified(on)
        self.tile_grid.set_highlight_misclassified(on)
        self._send_view()   # the session classifies every point only while mistakes are shown

    def _on_points_changed(self, points: PointSet) -> None:
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
        self.compare.send_all(m.SetSpeed(self.speed_combo.currentData() or 0))

    def _show_snapshot(self, snap: m.Snapshot, restarted: bool) -> None:
        """Draw a frame of the run (its history copy is already updated; the run acks after this)."""
        self.setWindowModified(self.is_modified())
        self._show_sync_state(snap)
        if restarted:
            for plot in self.plots:
                plot.set_history(self.history)
            self._place_markers()
            self._primary_histograms = None
        else:
            self._refresh_plots(all_now=not snap.playing)
        if snap.boundary is not None:
            self.canvas.set_boundary(snap.boundary, snap.extent, snap.mode)
        if snap.weight_histograms is not None:   # None: unchanged since the last frame that had some
            self.weights_plot.set_weight_histograms(snap.weight_histograms)
            self._primary_histograms = snap.weight_histograms
        if self.compare.active:
            self.tile_grid.set_caption_text(0, _run_numbers(snap, self.history))
            for other in self.compare.runs[1:]:
                other.ack_if_due()
        if self._network_sent:
            self.network_view.set_frame(snap)
        if snap.points_version == self._points_version:
            self.canvas.set_predictions(snap.predictions)
        if snap.stop_message and snap.stop_message != self._shown_stop:
            kind = "error" if snap.stop_kind == "diverged" else "info"
            self._show_banner("stop", snap.stop_message, kind)
        elif not snap.stop_message and self._shown_stop:
            self._clear_banner("stop")
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
            # rates only while training runs: a paused or stopped run has none (not its last value)
            self._rate_label.setText(f"{snap.epochs_per_second:,.0f} epochs/s · {fps:.0f} fps"
                                     if snap.playing else "")
        if not snap.playing:
            self._frame_times.clear()   # a frame rate spans playing frames only
        self.frame_drawn.emit(snap.epoch)

    def _show_sync_state(self, snap) -> None:
        """A persistent warning while the session cannot use the window's points and settings (C4)."""
        message = getattr(snap, "sync_message", "") or ""
        if getattr(snap, "in_sync", True):
            self._sync_text_shown = None
            self._clear_banner("sync")
        elif message != self._sync_text_shown:   # newly out of sync, or for another reason: say so now
            self._sync_text_shown = message
            self._show_banner("sync", self._sync_text(message), "warning")
        # an unchanged reason does not push an error off the banner; it returns when the error clears

    @staticmethod
    def _sync_text(message: str) -> str:
        reason = message.strip() or "Training waits: the points and the settings do not suit each other."
        return f"{reason} Until then, Save writes your points and settings without weights or history."

    def _in_sync(self) -> bool:
        return self.run.in_sync

    def _refresh_plots(self, all_now: bool) -> None:
        plots = [p for p in self.plots if p.isVisible()] or [self.loss_plot]   # hidden tabs wait
        now = time.perf_counter()
        # several runs: each refresh draws every run's curves, so refreshes come that many times less often
        interval = PLOT_REFRESH_SECONDS * (len(self.compare.runs) if self.compare.active else 1)
        if all_now:
            due = plots
        else:
            stalest = min(plots, key=lambda p: self._plot_refreshed.get(p, 0.0))
            due = [stalest] if now - self._plot_refreshed.get(stalest, 0.0) >= interval else []
        if self._histograms_dirty and self.weights_plot in due:
            self._histograms_dirty = False
            self.weights_plot.set_overlays(self._overlays())
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
        self._show_banner("session", message, "error")
        if detail:
            print(detail)

    def _on_session_died(self, message: str) -> None:
        self._rate_label.setText("")
        self._frame_times.clear()
        self._banner_action = self.restart_session
        self._died_message = message + " Your points and settings are safe."
        self._show_banner("died", self._died_message, "error", action="Restart training")
        job = self._save
        if job is not None and job.awaiting:   # the weights will not come: save what the window has
            self._write_save(job, note="The training process stopped before it sent the weights; saved the "
                             "points and settings.")

    def _on_banner_action(self) -> None:
        action, self._banner_action = self._banner_action, None
        self.banner.hide()
        self._banner_source = ""
        if action:
            action()

    # -- the banner: one message at a time, each cleared by what resolves it -----------------------------
    def _show_banner(self, source: str, text: str, kind: str, action: str | None = None) -> None:
        if action is None and self._banner_action is not None:
            action = "Restart training"   # the training process is gone: keep the way out on screen
        self._banner_source = source
        self.banner.show_message(text, kind, action=action)

    def _clear_banner(self, *sources: str) -> None:
        """Hide the banner if it shows one of these; then what still holds (a dead process, no sync) returns."""
        if self._banner_source not in sources:
            return
        self._banner_source = ""
        self.banner.hide()
        if self._banner_action is not None:
            self._show_banner("died", self._died_message, "error",
                              action="Restart training")
        elif not self._in_sync():
            self._show_banner("sync", self._sync_text(getattr(self.last_snapshot, "sync_message", "")),
                              "warning")

    def _hide_transient_banner(self) -> None:
        """A new run (reset, new weights, load) makes stop messages and old errors moot."""
        if self._banner_source not in ("died", "sync"):
            self._clear_banner(self._banner_source)

    def restart_session(self) -> None:
        """Start a new training process with the current points and settings (weights start over)."""
        job = self._save
        if job is not None and job.awaiting:   # its answer would come from the old process
            self.run.cancel_state(job.token)
            self._write_save(job, note="The training process was restarted before it sent the weights; saved "
                             "the points and settings.")
        self.run.restart()
        self._send_all()
        if self.autosaver is not None:
            self.autosaver.set_client(self.client)

    # -- compare mode and pins --------------------------------------------------------------------------
    def _build_compare_ui(self) -> None:
        A = self._action
        self.act_pin = A("Pin", self.pin_run, "P",
                         "Keep this run's curves as a faded, labelled copy in the plots, to compare later runs "
                         "with it; it stays through Reset and setting changes (P).")
        self.act_lock_step = A("Keep runs in step", self.compare.set_locked, None,
                               "Compared runs train the same number of epochs: a faster run waits for the slower "
                               "ones. Off, each trains at its own speed.", checkable=True, checked=True)
        self.act_stop_comparing = A("Stop comparing", self.stop_comparing, None,
                                    "Keep only the first run (the one the Model panel edits).")
        menu = self.compare_menu
        self.compare_with_menu = menu.addMenu("Compare with…")
        self.compare_with_menu.setToolTipsVisible(True)
        self.compare_with_menu.aboutToShow.connect(self._fill_compare_with_menu)
        self.remove_run_menu = menu.addMenu("Remove run")
        self.remove_run_menu.aboutToShow.connect(self._fill_remove_run_menu)
        menu.addAction(self.act_stop_comparing)
        menu.addAction(self.act_lock_step)
        menu.addSeparator()
        menu.addAction(self.act_pin)
        self.act_clear_pins = A("Remove all pins", self.pins.clear, None, "Remove every pinned run from the plots.")
        menu.addAction(self.act_clear_pins)
        self.training_toolbar.insertAction(self._compare_anchor, self.act_pin)
        self._compare_button = self.compare_with_menu.menuAction()
        self._compare_button.setText("Compare with…")
        self._compare_button.setToolTip("Train a copy of this run with one setting changed, side by side on the "
                                        "same points (up to 4 runs).")
        self.training_toolbar.insertAction(self._compare_anchor, self._compare_button)
        self.pins_widget = PinsWidget(self.pins, self)
        self.pins_dock = self._dock("Pinned runs", "dock-pins", self.pins_widget, Qt.LeftDockWidgetArea)
        self.tabifyDockWidget(self.lesson_dock, self.pins_dock)
        self.lesson_dock.raise_()
        self.pins_dock.hide()
        self.view_menu.insertAction(self._view_anchor, self.pins_dock.toggleViewAction())
        self._update_compare_actions()

    def _update_compare_actions(self) -> None:
        active = self.compare.active
        self.act_stop_comparing.setEnabled(active)
        self.remove_run_menu.setEnabled(active)
        self.act_lock_step.setEnabled(active)
        self.compare_with_menu.setEnabled(len(self.compare.runs) < MAX_COMPARED_RUNS)

    def _fill_compare_with_menu(self) -> None:
        menu = self.compare_with_menu
        menu.clear()
        config = self.config_model.config
        for text, changes in variant_choices(config):
            act = menu.addAction(text)
            act.setToolTip(f"Add a run like this one but with {text[0].lower() + text[1:]}")
            act.triggered.connect(lambda _=False, c=changes: self.compare_with(c))

    def _fill_remove_run_menu(self) -> None:
        menu = self.remove_run_menu
        menu.clear()
        for i, variant in enumerate(self.document.comparison[1:], 1):
            act = menu.addAction(variant.label or f"Run {i + 1}")
            act.triggered.connect(lambda _=False, k=i: self.remove_run(k))

    def compare_with(self, changes: dict, label: str | None = None) -> bool:
        """Add a run with ``changes`` on top of this one's settings (at most four runs); False if refused."""
        config = self.config_model.config
        try:
            other = apply_changes(config, changes)
        except NnvizError as exc:
            self._error("Cannot compare", str(exc))
            return False
        runs = list(self.document.comparison)
        if len(runs) >= MAX_COMPARED_RUNS:
            self._error("Cannot compare", f"At most {MAX_COMPARED_RUNS} runs can be compared: remove one first.")
            return False
        if not runs:   # run A is named by what it has where the new run differs
            runs = [Variant(describe(other, diff_changes(other, config)) or "this run", {})]
        label = label or describe(config, changes) or f"Run {len(runs) + 1}"
        self.document.set_comparison(runs + [Variant(label, dict(changes))])
        self._after_comparison_edit()
        return True

    def remove_run(self, index: int) -> None:
        runs = list(self.document.comparison)
        if 1 <= index < len(runs):
            del runs[index]
            self.document.set_comparison(runs)
            self._after_comparison_edit()

    def stop_comparing(self) -> None:
        self.document.set_comparison([])
        self._after_comparison_edit()

    def _after_comparison_edit(self) -> None:
        self.setWindowModified(self.is_modified())
        self._update_title()
        if self.compare.active:   # a new run starts from epoch 0: all start again, so they stay comparable
            self.compare.reset()

    def _on_runs_changed(self) -> None:
        group = self.compare
        labels = list(group.labels)
        if group.active and not labels[0]:
            labels[0] = self.document.comparison[0].label if self.document.comparison else "Run A"
        self.tile_grid.set_runs(labels if group.active else [""], list(group.colours) if group.active else [])
        if group.active:
            snap = self.last_snapshot
            if snap is not None:
                self.tile_grid.set_caption_text(0, _run_numbers(snap, self.history))
            for i, run in enumerate(group.runs[1:], 1):
                if run.last_snapshot is not None:
                    self.tile_grid.show_snapshot(i, run.last_snapshot, self._points_version)
        self._update_overlays()
        self._update_compare_actions()
        self._show_playing(self._playing)
        # the runs share the GUI's time: together they send about MAX_COMPARE_FPS frames a second
        # (child processes only: an in-process session, as in tests and screenshots, is pumped by its caller)
        interval = len(group.runs) / MAX_COMPARE_FPS if group.active else 0.0
        for run in group.runs:
            run.min_frame_interval = interval if isinstance(run.client, ProcessSessionClient) else 0.0

    def _overlays(self) -> list:
        group = self.compare
        overlays = []
        if group.active:
            for i, run in enumerate(group.runs[1:], 1):
                overlays.append(Overlay(f"run-{id(run)}", group.labels[i], run.history, group.colours[i],
                                        weight_histograms=self._run_histograms.get(id(run))))
        return overlays + self.pins.overlays()

    def _update_overlays(self) -> None:
        """Runs or pins came or went, or a run restarted (a new history object): every plot draws them."""
        group = self.compare
        overlays = self._overlays()
        self._histograms_dirty = False
        primary = (group.labels[0] or "Run A", group.colours[0]) if group.active else (None, None)
        for plot in self.plots:
            if plot.history is None:   # before run A's first frame
                plot.set_history(self.history)
            plot.set_primary(*primary)
            plot.set_overlays(overlays)
        if self.pins.pins and not self.pins_dock.isVisible():
            self.pins_dock.show()
        self._refresh_plots(all_now=True)


    def _show_compare_frame(self, index: int, snap, restarted: bool) -> None:
        """A frame of a further run: its tile, its caption numbers, its curves (read from its history)."""
        if not self.compare.active or index >= self.tile_grid.count:
            return
        run = self.compare.runs[index]
        for other in self.compare.runs:   # Acks held back for the frame rate go out on time (see ack_if_due)
            other.ack_if_due()
        self.tile_grid.show_snapshot(index, snap, self._points_version)
        self.tile_grid.set_caption_text(index, _run_numbers(snap, run.history))
        if snap.weight_histograms is not None:   # shown with the weights plot's next refresh
            self._run_histograms = {**self._run_histograms, id(run): snap.weight_histograms}
            self._histograms_dirty = True
        if restarted:
            self._update_overlays()   # a new history object: the overlays point at it
        else:
            self._refresh_plots(all_now=False)   # histories grow in place; plots refresh at a bounded rate

    def _on_compare_died(self, index: int, message: str) -> None:
        label = self.compare.labels[index] if index < len(self.compare.labels) else f"run {index + 1}"
        self._banner_action = lambda: self.compare.restart(index)
        self._show_banner("died", f"{label}: {message} Your points and settings are safe.", "error",
                          action="Restart that run")

    def pin_run(self) -> str:
        """Pin the current run's curves (run A's; in compare mode every run's) as faded overlays."""
        keys = []
        group = self.compare
        runs = list(enumerate(group.runs)) if group.active else [(0, self.run)]
        for i, run in runs:
            if not len(run.history):
                continue
            epoch = int(run.history["epoch"][-1])
            name = (group.labels[i] or "Run A") if group.active else _config_summary(self.config_model.config)
            hist = self._primary_histograms if i == 0 else self._run_histograms.get(id(run))
            keys.append(self.pins.add(f"{name} @ {epoch:,}", run.history, weight_histograms=hist))
        if not keys:
            self.statusBar().showMessage("Nothing to pin yet: train a few epochs first.", 4000)
            return ""
        self.pins_dock.show()
        self.statusBar().showMessage("Pinned: the faded curves stay while you change settings or reset. "
                                     "Rename or remove pins in the Pinned runs panel.", 5000)
        return keys[0]

    # -- transport ---------------------------------------------------------------------------------------
    def _show_playing(self, playing: bool) -> None:
        if self.compare.active:
            playing = self.compare.playing   # the transport shows the group's state, not run A's alone
        self.act_play.setText("Pause" if playing else "Play")

    def _on_group_playing(self, playing: bool) -> None:
        if self.compare.active:
            self.act_play.setText("Pause" if playing else "Play")

    def toggle_play(self) -> None:
        if (self.compare.playing if self.compare.active else self._playing):
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self.compare.active:
            self.compare.play()
        else:
            self.run.play()

    def pause(self) -> None:
        if self.compare.active:
            self.compare.pause()
        else:
            self.run.pause()

    def step(self) -> None:
        if self.compare.active:
            self.compare.step(1)
        else:
            self.run.step(1)

    def reset_weights(self) -> None:
        if self.compare.active:
            self.compare.reset()
        else:
            self.run.reset()
        self._hide_transient_banner()

    def redraw_weights(self) -> None:
        """New random weights: a new seed, recorded in the settings so the run stays reproducible."""
        from ..engine.trainer import new_random_seed
        self.config_model.set_field("architecture", "seed", new_random_seed())
        self._hide_transient_banner()

    # -- data --------------------------------------------------------------------------------------------
    def regenerate(self, kind: str, count: int, noise: float, train_fraction: float, seed: int) -> None:
        try:
            self.document.regenerate(kind, count, noise, train_fraction, seed)
        except NnvizError as exc:
            self._error("Cannot generate data", str(exc))
            return
        self._clear_banner("Cannot generate data")
        self.reset_weights()   # fresh data, fresh run: the loss history starts again at epoch 0
        self.canvas.fit_view()

    def resplit(self, train_fraction: float) -> None:
        try:
            self.document.resplit(train_fraction, seed=self.data_panel.seed())
        except NnvizError as exc:
            self._error("Cannot re-split", str(exc))
            return
        self._clear_banner("Cannot re-split")

    def _update_points_label(self) -> None:
        p = self.points_model.points
        self._points_label.setText(f"{p.count(0)} train · {p.count(1)} test"
                                   + (f" · {p.count(2)} validation" if p.count(2) else ""))

    # -- documents ---------------------------------------------------------------------------------------
    def load_experiment(self, exp: Experiment, path: str | None = None, keep_sweep: bool = False) -> None:
        """Show an experiment: its points, settings, (if saved) its weights and metric history, and its
        sweep. ``keep_sweep``: leave the Sweep panel as it is (a run of that sweep is being opened)."""
        if not keep_sweep:
            self._load_sweep(getattr(exp, "sweep", None))
        self.pause()
        self.document.load(exp, path)
        self._trained_seconds = 0.0
        self.client.send(m.SetExperiment(exp.config, exp.points, self._points_version))
        # arrays: cheap to make and to send, whatever the length of the history
        self.client.send(m.LoadState(exp.weights, exp.history.to_arrays() if exp.history is not None else None))
        if self.compare.active and exp.comparison:   # the further runs' saved weights and histories
            self.compare.load_states([(run.get("weights"), run.get("history")) for run in exp.comparison])
        self.lesson_view.setHtml(_lesson_html(exp.name, exp.description))
        self._hide_transient_banner()
        self._shown_stop = ""
        # the generator shows how many points there are; with none (File > New) it keeps its count
        count = len(exp.points) if len(exp.points) else self.data_panel.count()
        self.data_panel.set_generator_settings(self.data_panel.kind(), max(1, count),
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
        self.show_lesson(get_preset(name))

    def show_lesson(self, preset, experiment: Experiment | None = None) -> None:
        """Open a lesson as File > Open lesson does (no question asked): its runs (all of a comparison), its
        data generator, its speed and its sweep. ``experiment``: the lesson as already built."""
        exp = experiment if experiment is not None else preset.build_comparison()
        self.load_experiment(exp, None)
        self.show_generator_settings(preset.data)
        speed = getattr(preset, "speed", None)   # each lesson opens at a speed where it can be watched
        if speed is not None:
            self.set_speed(int(speed))
        if preset.name in LESSON_SWEEPS:
            self.prefill_sweep(**LESSON_SWEEPS[preset.name])
        tab = {"weights": self.weights_dock}.get(LESSON_TABS.get(preset.name), self.gradient_dock)
        self._front_plot_dock = tab
        if not (preset.name in LESSON_SWEEPS and tab is self.gradient_dock):
            tab.raise_()

    def set_speed(self, epochs_per_second: int) -> None:
        """Choose the speed cap (0 = as fast as possible); a value not on the list is added to it."""
        index = self.speed_combo.findData(epochs_per_second)
        if index < 0:
            self.speed_combo.addItem(f"{epochs_per_second:,} epochs/s", epochs_per_second)
            index = self.speed_combo.count() - 1
        self.speed_combo.setCurrentIndex(index)

    def show_generator_settings(self, data: dict) -> None:
        """Show how a lesson's points were made, so Regenerate makes more of the same kind."""
        if data.get("kind"):
            self.document.set_generator(data["kind"], data.get("n", 200), data.get("noise", 0.0),
                                        data.get("train_fraction", 0.5), data.get("seed", 0))
            self.data_panel.set_generator_settings(**_panel_args(self.document.generator))

    def new_experiment(self) -> None:
        if not self.maybe_save():
            return
        self.load_experiment(Experiment(ExperimentConfig(), PointSet.empty(), name="Untitled",
                                        description="Draw points with the Add or Brush tool, then press Play."))

    def current_experiment(self) -> Experiment:
        """The window's experiment now: its points and settings (no weights; a save asks the session)."""
        return self.document.experiment(sweep=self.sweep_panel.to_dict())

    # -- saving: ask the session for its state, write on a worker thread, never freeze the window --------
    @property
    def saving(self) -> bool:
        return self._save is not None

    def save_to(self, path: str, wait: bool = True) -> bool:
        """Save the experiment to ``path``.

        The weights and history come from the training process, however long it takes to answer (no
        time limit while it lives); the file is written on a worker thread. With ``wait`` (the close
        prompt, tests) this returns once the file is written, processing events except user input,
        and says whether it succeeded; without, it returns at once (False if a save already runs) and
        the status bar and banner report the result.
        """
        if self._save is not None:
            if not wait:
                self.statusBar().showMessage("A save is still running; try again when it has finished.", 4000)
                return False
            self._wait_for_save(self._save)
        job = _PendingSave(path, self.current_experiment(), self._points_version, self.undo_stack.index(),
                           self._document, self._trained_seconds, self._sweep_changes)
        self._save = job
        self.act_save.setEnabled(False)
        self.act_save_as.setEnabled(False)
        self._saving_label.show()
        self.statusBar().showMessage("Saving…")
        if self.compare.active:   # each further run's weights and history, asked for alongside run A's
            job.compare_pending = True
            self.compare.request_states(lambda entries, j=job: self._on_compare_states(j, entries))
        if self.client.alive:
            job.awaiting = True
            self._requesting_state, self._early_reply = True, None
            try:
                job.token = self.client.request_state()
            finally:
                self._requesting_state = False
            early, self._early_reply = self._early_reply, None
            if early is not None and early.token == job.token:   # a session in this process answers at once
                self._on_state_received(early)
        else:
            self._write_save(job, note="Saved the points and settings; the weights were lost with the training "
                             "process." if len(self.history) else "")
        if wait:
            return self._wait_for_save(job)
        return True

    def _on_state_received(self, reply) -> None:
        if self._requesting_state:
            self._early_reply = reply
            return
        job = self._save
        if job is None or not job.awaiting or reply.token != job.token:
            return   # a cancelled request: nothing is kept
        note = ""
        in_sync = getattr(reply, "in_sync", True) and getattr(reply, "points_version", job.points_version) \
            == job.points_version
        if in_sync:
            job.exp.weights = reply.weights
            try:
                job.exp.history = _history_from_reply(reply.history)
            except NnvizError as exc:   # never leave a save waiting: keep points, settings and weights
                job.exp.history = None
                note = f"Saved without the metric history, which could not be read: {exc}"
            except Exception as exc:  # noqa: BLE001 - a bug here must end the save, not hang the window
                if job.awaiting and job.token is not None:
                    self.client.cancel_state(job.token)
                job.awaiting = False
                self._finish_save(job, f"Internal error while reading the training state: {exc}")
                return
        else:   # never weights trained on other points or settings than the ones written
            reason = getattr(reply, "sync_message", "") or "the training process is not using these points."
            note = f"Saved the points and settings without weights or history: {reason}"
        self._write_save(job, note=note)

    def _on_compare_states(self, job: "_PendingSave", entries: list) -> None:
        if self._save is not job or not job.compare_pending:
            return
        job.compare_pending = False
        if job.exp is not None and job.exp.comparison is not None:
            job.exp.comparison = entries
        if not job.awaiting and job.writer is None and job.ready:
            self._start_writer(job)

    def _write_save(self, job: "_PendingSave", note: str = "") -> None:
        if job.awaiting and job.token is not None:
            self.client.cancel_state(job.token)   # no-op once answered; drops a reply still on its way
        job.awaiting = False
        job.note = note
        job.ready = True
        if job.compare_pending:
            return   # written when the further runs have answered (_on_compare_states)
        self._start_writer(job)

    def _start_writer(self, job: "_PendingSave") -> None:
        job.writer = SaveJob(job.exp, job.path, self)
        job.writer.finished.connect(lambda error, j=job: self._finish_save(j, error))
        job.writer.start()

    def _finish_save(self, job: "_PendingSave", error: str) -> None:
        if self._save is job:
            self._save = None
        self.act_save.setEnabled(True)
        self.act_save_as.setEnabled(True)
        self._saving_label.hide()
        self.statusBar().clearMessage()
        job.result = not error
        if error:
            self._error("Cannot save", error)
        else:
            self._clear_banner("Cannot save")
            if job.document == self._document:   # still the same experiment (no lesson opened meanwhile)
                self.path = job.path
                # edits and sweep runs that came in while it was written stay unsaved
                self.document.mark_saved(job.undo_index, job.sweep_changes)
                self._trained_seconds = max(0.0, self._trained_seconds - job.trained_seconds)
                self._update_title()
            self._add_recent(job.path)
            self.statusBar().showMessage(job.note or f"Saved {job.path}", 8000 if job.note else 4000)
        job.exp = job.writer = None   # the save is over: hold none of its (possibly huge) history
        if job.loop is not None:
            job.loop.quit()

    def _wait_for_save(self, job: "_PendingSave") -> bool:
        """Wait for a save to end, repainting meanwhile (user input waits: nothing can change it)."""
        if job.result is None:
            job.loop = QEventLoop(self)
            job.loop.exec(QEventLoop.ExcludeUserInputEvents)
            job.loop = None
        return bool(job.result)

    def _cancel_save_request(self) -> None:
        """Forget an unanswered state request (the window is closing): a late reply is dropped."""
        self.compare.cancel_states()
        job = self._save
        if job is not None and job.awaiting:
            self.client.cancel_state(job.token)
            job.awaiting = False
            self._save = None

    def save(self, wait: bool = True) -> bool:
        return self.save_to(self.path, wait=wait) if self.path else self.save_as(wait=wait)

    def save_as(self, wait: bool = True) -> bool:
        path = self._ask_save_path("Save experiment", self._suggest_path(".nnviz"), FILE_FILTER, "nnviz")
        if not path:
            return False
        return self.save_to(path, wait=wait)

    def _ask_save_path(self, title: str, suggested: str, filters: str, suffix: str) -> str | None:
        """A save dialog that adds ``.suffix`` to a bare name BEFORE it asks about replacing a file."""
        dialog = QFileDialog(self, title, suggested, filters)
        dialog.setAcceptMode(QFileDialog.AcceptSave)
        dialog.setFileMode(QFileDialog.AnyFile)
        dialog.setDefaultSuffix(suffix)
        if dialog.exec() != QDialog.Accepted or not dialog.selectedFiles():
            return None
        return self._with_suffix(dialog.selectedFiles()[0], suffix)

    def _with_suffix(self, path: str, suffix: str) -> str | None:
        """Add ``.suffix`` to a name without one; if that file exists, ask before it is replaced."""
        if not path or os.path.splitext(path)[1]:
            return path or None
        path = f"{path}.{suffix}"
        if os.path.exists(path):
            answer = QMessageBox.question(
                self, "Replace file?", f"{os.path.basename(path)} already exists. Replace it?",
                QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
            if answer != QMessageBox.Yes:
                return None
        return path

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open experiment", self._last_dir(), FILE_FILTER)
        if path:
            self.open_path(path)

    def import_points(self, path: str) -> bool:
        """Replace the points with a CSV file's (undoable). New data starts a new run, as Regenerate does."""
        try:
            self.document.import_points(path)
        except (NnvizError, OSError) as exc:
            self._error("Cannot import points", str(exc))
            return False
        self._clear_banner("Cannot import points")
        self.reset_weights()
        self.canvas.fit_view()
        return True

    def import_points_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import points", self._last_dir(), CSV_FILTER)
        if path:
            self.import_points(path)

    def export_points_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export points", self._suggest_path(".csv"), CSV_FILTER)
        if path:
            self._write(lambda: self.document.export_points(path), path)

    def render_image(self, what: str = "window", scale: int = 1) -> QImage:
        """A picture of the whole window (canvas, plots, legend, status bar with the epoch) or of the
        canvas, ``scale`` times its size on screen (2x for slides): drawn again at that size, not
        magnified."""
        self.tile_grid.flush()   # tiles draw their points a turn after the canvas
        widget = self if what == "window" else (self.tile_grid if self.compare.active else self.canvas)
        ratio = max(1, int(scale)) * widget.devicePixelRatioF()
        image = QImage(QSize(round(widget.width() * ratio), round(widget.height() * ratio)),
                       QImage.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(self.palette().window().color())
        painter = QPainter(image)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setRenderHint(QPainter.TextAntialiasing)
        widget.render(painter, QPoint(0, 0))
        painter.end()
        image.setDevicePixelRatio(1.0)
        return image

    def export_image(self, path: str, what: str = "window", scale: int = 1) -> bool:
        image = self.render_image(what, scale)
        if image.isNull() or not image.save(path, "PNG"):
            self._error("Cannot export the image", f"Could not write {path}.")
            return False
        self._clear_banner("Cannot export the image")
        self.statusBar().showMessage(f"Wrote {path} ({image.width()} x {image.height()} pixels)", 4000)
        return True

    def export_image_dialog(self) -> None:
        choice = _ImageExportDialog(self)
        choice.set_choice(self.settings.value("export/image_what", "window"),
                          self.settings.value("export/image_scale", 1))
        if choice.exec() != QDialog.Accepted:
            return
        what, scale = choice.choice()
        self.settings.setValue("export/image_what", what)
        self.settings.setValue("export/image_scale", scale)
        path = self._ask_save_path("Export image", self._suggest_path(".png"), "PNG images (*.png)", "png")
        if path:
            self.export_image(path, what, scale)

    def export_metrics_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", self._suggest_path("-metrics.csv"),
                                              CSV_FILTER)
        if path:
            text = self.history.to_csv()
            self._write(lambda: write_atomically(path, text), path)   # a full disk leaves the old file whole

    def _write(self, fn, path) -> None:
        try:
            fn()
        except (NnvizError, OSError) as exc:
            self._error("Cannot write the file", str(exc))
            return
        self._clear_banner("Cannot write the file")
        self.statusBar().showMessage(f"Wrote {path}", 4000)

    def is_modified(self) -> bool:
        """The user's own work would be lost: edits to points or settings (the undo stack is not clean),
        or at least TRAINING_WORTH_SAVING_SECONDS of playing since the last save or load. Pressing Play
        or Step for a moment in a lesson is not worth a question."""
        return not self.document.clean or self._trained_seconds >= TRAINING_WORTH_SAVING_SECONDS

    def _on_clean_changed(self, _clean: bool = True) -> None:
        if self._closed:
            return   # tearing down: the undo stack may already be gone
        try:
            self.setWindowModified(self.is_modified())
        except RuntimeError:   # a C++ object deleted under us during teardown
            pass

    def forget_unsaved(self) -> None:
        """Treat the current state as saved (closing a throw-away window: screenshots, tests)."""
        self.document.mark_saved()
        self._trained_seconds = 0.0
        self.setWindowModified(False)

    def maybe_save(self) -> bool:
        """Ask about unsaved work. False means the user cancelled (or the save failed)."""
        if self._save is not None:
            self._wait_for_save(self._save)   # a save on its way decides what is still unsaved
        if not self.is_modified():
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {self.experiment_name}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save(wait=True)   # goes on only if the file was written
        return answer == QMessageBox.Discard

    def _error(self, title: str, message: str) -> None:
        self._show_banner(title, f"{title}: {message}", "error")
        self.statusBar().showMessage(f"{title}: {message}", 8000)

    def _update_title(self) -> None:
        name = os.path.basename(self.path) if self.path else self.experiment_name
        # while recording, the title says so (the title bar is never in the recorded frames)
        prefix = "● REC — " if getattr(self, "recorder", None) is not None and self.recorder.recording else ""
        self.setWindowTitle(f"{prefix}{name}[*] — nnviz")
        self.setWindowModified(self.is_modified())

    def _suggest_path(self, suffix: str) -> str:
        base = os.path.splitext(self.path)[0] if self.path else os.path.join(
            self._last_dir(), _slug(self.experiment_name))
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
            self._layout_restored = self.restoreState(QByteArray(state))
        speed = s.value("training/speed", 0)
        index = self.speed_combo.findData(int(speed) if str(speed).isdigit() else 0)
        self.speed_combo.setCurrentIndex(max(0, index))
        self.act_discretize.setChecked(s.value("view/discretize", False) in (True, "true"))
        self.act_misclassified.setChecked(s.value("view/misclassified", False) in (True, "true"))
        self._fill_recent_menu()

    def _layout(self) -> tuple:
        """Geometry and dock state to remember: the one before presentation mode while it is on."""
        if self._presenting is not None:
            return self._presenting["geometry"], self._presenting["state"]
        return self.saveGeometry(), self.saveState()

    def _save_settings(self, layout: tuple | None = None) -> None:
        s = self.settings
        geometry, state = layout or self._layout()
        s.setValue("window/geometry", geometry)
        s.setValue("window/state", state)
        self._layout_written = (bytes(geometry.data()), bytes(state.data()))
        s.setValue("training/speed", self.speed_combo.currentData() or 0)
        s.setValue("view/discretize", self.act_discretize.isChecked())
        s.setValue("view/misclassified", self.act_misclassified.isChecked())
        s.sync()

    # -- the sweep (model complexity graph) ---------------------------------------------------------------
    def _load_sweep(self, sweep: dict | None) -> None:
        """Show an experiment's saved sweep (None: an empty panel); a running sweep of the old one stops."""
        if self.sweep_panel.running:
            self.sweep_panel.shutdown()
        try:
            self.sweep_panel.load_dict(sweep)
        except NnvizError as exc:   # a file's sweep is checked on load; this is belt and braces
            self.sweep_panel.load_dict(None)
            self._error("Cannot show the saved sweep", str(exc))
        self._sweep_changes += 1    # a new document: whatever the panel held before is not this one's work

    def _on_sweep_changed(self) -> None:
        self._sweep_changes += 1    # a run of the sweep came in: unsaved work (saved with the experiment)
        self.setWindowModified(self.is_modified())

    def prefill_sweep(self, param: str, values: str, scale: str = "log", seeds: int = 3, epochs: int = 500,
                      show: bool = True) -> None:
        """Fill in the Sweep panel's fields (a lesson about model complexity) and show it."""
        panel = self.sweep_panel
        if not panel.running:
            index = panel.param.findData(param)
            if index >= 0:
                panel.param.setCurrentIndex(index)   # (sets the values hint and spacing: override below)
            panel.values.setText(values)
            panel.scale.setCurrentText(scale)
            panel.seeds.setValue(seeds)
            panel.epochs.setValue(epochs)
        if show:
            self.show_sweep_dock()

    def show_sweep_dock(self) -> None:
        """Show the Sweep tab in front, with room for its graph (it shares the bottom with the plots)."""
        was_visible = self.sweep_dock.isVisible()
        self.sweep_dock.show()
        self.sweep_dock.raise_()
        if not was_visible and not self.sweep_dock.isFloating():
            height = self.height()
            self.resizeDocks([self.sweep_dock], [max(300, round(height * 0.42))], Qt.Vertical)
            width = self.width()
            self.resizeDocks([self.loss_dock, self.sweep_dock], [round(width * 0.3), round(width * 0.5)],
                             Qt.Horizontal)

    def open_sweep_run(self, run: dict) -> bool:
        """A click on a run of the sweep graph: that model becomes the current run (same points, its settings,
        its weights). Unsaved work is asked about first, as for any other document."""
        if not run.get("config") or not self.maybe_save():
            return False
        try:
            config = ExperimentConfig.from_dict(run["config"])
            weights = None
            if run.get("weights"):
                import numpy as np
                weights = [(np.asarray(W, float), np.asarray(b, float)) for W, b in run["weights"]]
        except (NnvizError, TypeError, ValueError) as exc:
            self._error("Cannot open the sweep's run", str(exc))
            return False
        from ..sweep import format_value, get_param
        try:
            label = get_param(run["param"]).label
        except NnvizError:
            label = str(run.get("param"))
        base = re.sub(r" \([^()]* = [^()]*, seed \d+\)$", "", self.experiment_name)
        name = f"{base} ({label} = {format_value(run['value'])}, seed {run['seed']})"
        exp = Experiment(config, self.points_model.points, name=name, description=self.description,
                         weights=weights, history=None)
        self.load_experiment(exp, None, keep_sweep=True)
        epochs = int(run.get("epochs") or 0)
        if weights is None and epochs > 0:   # a sweep loaded from a file keeps no weights: train it again
            self.run.step(epochs, pause=False)
            self.statusBar().showMessage(f"Training this run again: {epochs:,} epochs from seed {run['seed']} "
                                         "(the same result: the sweep's runs are reproducible).", 8000)
        else:
            self.statusBar().showMessage(f"Opened the sweep's run {name}", 6000)
        return True

    # -- recording (Record menu, toolbar button, Ctrl+Shift+R) ---------------------------------------------
    def _build_recording_actions(self) -> None:
        self.recorder = Recorder(self)
        self.recorder.recording_changed.connect(self._on_recording_changed)
        self.recorder.elapsed_changed.connect(self._on_recording_elapsed)
        self.recorder.finished.connect(lambda files: self.statusBar().showMessage(f"Recorded {files}", 8000))
        self.recorder.failed.connect(lambda msg: self._error("Recording failed", msg))
        self.act_record = self._action("Record window…", lambda: self.toggle_recording(), "Ctrl+Shift+R",
                                       "Record the whole window to a video (MP4, and a GIF if chosen in the "
                                       "Record menu); again to stop (Ctrl+Shift+R).")
        self.act_record_canvas = self._action("Record canvas only…", lambda: self.toggle_recording(canvas=True),
                                              None, "Record only the canvas (points and boundary; in compare mode every run's tile) to a video.")
        self.act_record_gif = self._action(
            "Also write a GIF", lambda on: self.settings.setValue("record/gif", on), None,
            "Write a GIF (at most 15 frames/s) beside the MP4.", checkable=True,
            checked=self.settings.value("record/gif", False) in (True, "true"))

    def _build_record_menu(self, mb) -> None:
        menu = mb.addMenu("&Record")
        menu.addAction(self.act_record)
        menu.addAction(self.act_record_canvas)
        menu.addSeparator()
        rates = menu.addMenu("Frame rate")
        group = QActionGroup(self)
        saved = str(self.settings.value("record/fps", 30))
        for fps in FPS_CHOICES:
            act = rates.addAction(f"{fps} frames/s")
            act.setCheckable(True)
            act.setData(fps)
            act.setChecked(str(fps) == saved or (saved not in map(str, FPS_CHOICES) and fps == 30))
            group.addAction(act)
        group.triggered.connect(lambda act: self.settings.setValue("record/fps", act.data()))
        self._record_rates = group
        menu.addAction(self.act_record_gif)

    def _record_fps(self) -> int:
        act = self._record_rates.checkedAction()
        return int(act.data()) if act is not None else 30

    def toggle_recording(self, canvas: bool = False) -> None:
        if self.recorder.recording:
            self.recorder.stop()
            return
        path = self._ask_save_path("Record a video", default_video_path(self._last_dir(), _slug(
            self.experiment_name)), "MP4 video (*.mp4);;GIF animation (*.gif)", "mp4")
        if path:
            if not path.lower().endswith((".mp4", ".gif")):
                path += ".mp4"
            self.start_recording(path, canvas=canvas)

    def start_recording(self, path: str, canvas: bool = False, fps: int | None = None,
                        gif: bool | None = None) -> bool:
        """Record without a dialog (tests, scripts); the menu action asks for the file first."""
        gif = self.act_record_gif.isChecked() if gif is None else gif
        gif_path = os.path.splitext(path)[0] + ".gif" if gif and path.lower().endswith(".mp4") else None
        try:
            # compare mode: the canvas and every run's tile
            target = (self.tile_grid if self.compare.active else self.canvas) if canvas else self
            self.recorder.start(target, path, fps or self._record_fps(), gif_path,
                                exclude=[self._rec_label, self._record_button])
        except NnvizError as exc:
            self._error("Cannot record", str(exc))
            return False
        self._clear_banner("Cannot record", "Recording failed")
        return True

    def stop_recording(self) -> None:
        self.recorder.stop()

    def _on_recording_changed(self, on: bool) -> None:
        self.act_record.setText("Stop recording" if on else "Record window…")
        self.act_record.setToolTip("Stop recording (Ctrl+Shift+R)." if on else self.act_record.statusTip())
        self.act_record_canvas.setEnabled(not on)
        self._rec_label.setText("● REC 0:00")
        self._rec_label.setVisible(on)
        self._update_title()

    def _on_recording_elapsed(self, seconds: float) -> None:
        s = int(seconds)
        self._rec_label.setText(f"● REC {s // 60}:{s % 60:02d}")

    # -- autosave and crash recovery -----------------------------------------------------------------------
    def _has_unsaved_work(self) -> bool:
        """Anything a crash would lose (more than is_modified(), which decides the close question)."""
        return (not self.undo_stack.isClean() or self._trained_seconds > 0
                or self._sweep_changes != self._sweep_saved)

    def start_autosave(self) -> None:
        """Autosave this window's work to the recovery folder, and its layout to the settings, every few
        seconds (the app calls it; tests, screenshots, recordings and the self-test don't)."""
        if self.autosaver is not None:
            return
        self.autosaver = Autosaver(
            self.current_experiment, self._has_unsaved_work, window_state=self._autosave_window_state,
            epoch=lambda: self.last_snapshot.epoch if self.last_snapshot is not None else 0,
            points_version=lambda: self._points_version, parent=self)
        self.autosaver.set_client(self.client)
        self.autosaver.failed.connect(lambda msg: self.statusBar().showMessage(f"Autosave failed: {msg}", 8000))
        self.autosaver.start()
        self._layout_timer = QTimer(self)
        self._layout_timer.setInterval(int(LAYOUT_AUTOSAVE_SECONDS * 1000))
        self._layout_timer.timeout.connect(self.autosave_layout)
        self._layout_timer.start()

    def autosave_layout(self) -> bool:
        """Write the window's geometry and docks to the settings if they changed (True if written)."""
        if self._closed:
            return False
        geometry, state = self._layout()
        key = (bytes(geometry.data()), bytes(state.data()))
        if key == self._layout_written:
            return False
        self._save_settings()
        return True

    def _autosave_window_state(self) -> dict:
        (x0, x1), (y0, y1) = self.canvas.view_box.viewRange()
        geometry, state = self._layout()
        return {"geometry": geometry, "state": state, "path": self.path,
                "speed": self.speed_combo.currentData() or 0, "discretize": self.act_discretize.isChecked(),
                "misclassified": self.act_misclassified.isChecked(), "view": [x0, x1, y0, y1]}

    def restore_recovery(self, rec) -> bool:
        """Show the work autosaved by an instance that crashed (an autosave.Recovery); it stays unsaved."""
        try:
            exp = _restore_recovery(rec)
        except NnvizError as exc:
            self._error("Cannot restore the autosaved work", str(exc))
            return False
        path = rec.document if rec.document and os.path.isfile(rec.document) else None
        self.load_experiment(exp, path)
        self.undo_stack.resetClean()   # restored work is unsaved until saved (a save or load sets it clean)
        w = rec.window if isinstance(rec.window, dict) else {}
        if isinstance(w.get("geometry"), (bytes, bytearray)):
            self.restoreGeometry(QByteArray(bytes(w["geometry"])))
        if isinstance(w.get("state"), (bytes, bytearray)):
            self.restoreState(QByteArray(bytes(w["state"])))
        index = self.speed_combo.findData(w.get("speed", 0))
        if index >= 0:
            self.speed_combo.setCurrentIndex(index)
        self.act_discretize.setChecked(bool(w.get("discretize", False)))
        self.act_misclassified.setChecked(bool(w.get("misclassified", False)))
        view = w.get("view")
        if isinstance(view, list) and len(view) == 4 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in view):
            self.canvas.view_box.setRange(xRange=view[:2], yRange=view[2:], padding=0)
        if self.autosaver is not None:
            self.autosaver.adopt(rec)   # its files go once this window has autosaved the restored work
        self._update_title()
        self.statusBar().showMessage(f"Restored the autosaved work: {rec.describe()}", 8000)
        return True

    def offer_recoveries(self) -> None:
        """At start: offer each recovery left by a crashed or killed nnviz (restore one, discard, or later)."""
        for rec in pending_recoveries():
            box = QMessageBox(QMessageBox.Warning, "Restore unsaved work?",
                              "nnviz did not close normally. Restore the work it autosaved?\n\n" + rec.describe(),
                              parent=self)
            restore = box.addButton("Restore", QMessageBox.AcceptRole)
            discard = box.addButton("Discard", QMessageBox.DestructiveRole)
            box.addButton("Later", QMessageBox.RejectRole)
            box.setDefaultButton(restore)
            box.exec()
            clicked = box.clickedButton()
            if clicked is restore:
                if self.restore_recovery(rec):
                    return   # one window shows one experiment; the others stay for the next start
            elif clicked is discard:
                try:
                    discard_recovery(rec)
                except NnvizError as exc:
                    self.statusBar().showMessage(f"Cannot discard the autosaved work: {exc}", 8000)

    # -- presentation mode (F11) ---------------------------------------------------------------------------
    @property
    def presenting(self) -> bool:
        return self._presenting is not None

    def set_presentation(self, on: bool) -> None:
        """Full screen, larger text and points, only the canvas and the plots (and the sweep graph, if shown):
        for a projector. Leaving it (F11 or Esc) brings back exactly the layout from before."""
        on = bool(on)
        if on == self.presenting:
            self._sync_presentation_actions()
            return
        app = QApplication.instance()
        if on:
            self._presenting = {
                "geometry": self.saveGeometry(), "state": self.saveState(), "window_state": self.windowState(),
                "menu": self.menuBar().isVisible(), "app_font": QFont(app.font()) if app else None,
                "style": self.styleSheet(), "rect": self.geometry(),
            }
            for dock in (self.data_dock, self.lesson_dock, self.model_dock):
                dock.hide()
            self.menuBar().hide()   # its actions keep their keys (they belong to the window)
            if app is not None:
                font = QFont(app.font())
                if font.pointSizeF() > 0:
                    font.setPointSizeF(font.pointSizeF() * PRESENTATION_FONT_SCALE)
                else:
                    font.setPixelSize(round(font.pixelSize() * PRESENTATION_FONT_SCALE))
                app.setFont(font)   # dialogs and the plots' scenes follow the application's font
                # widgets under a style sheet take their font from it, not from their parent
                self.setStyleSheet(_font_size_rule(self._presenting["style"], font))
            self._scale_markers(PRESENTATION_MARKER_SCALE)
            self._refresh_axes(scaled=True)
            self.showFullScreen()
            # the plots' text grew: give them room (leaving the mode restores the sizes from before)
            screen = self.screen().geometry() if self.screen() is not None else self.geometry()
            bottom = [d for d in (self.loss_dock, self.sweep_dock, self.gradient_dock, self.lr_dock)
                      if d.isVisible() and not d.isFloating() and self.dockWidgetArea(d) == Qt.BottomDockWidgetArea]
            if bottom:
                self.resizeDocks(bottom[:1], [round(screen.height() * 0.36)], Qt.Vertical)
            self.statusBar().showMessage("Presentation mode: F11 or Esc returns to the usual layout.", 5000)
        else:
            saved, self._presenting = self._presenting, None
            if app is not None and saved["app_font"] is not None:
                app.setFont(saved["app_font"])
                # widgets keep the last font a style sheet gave them: give them the usual size, then drop it
                self.setStyleSheet(_font_size_rule(saved["style"], saved["app_font"]))
            self.setStyleSheet(saved["style"])
            self._scale_markers(1.0)
            self._refresh_axes(scaled=False)
            self.menuBar().setVisible(saved["menu"])
            state = saved["window_state"]
            if state & Qt.WindowFullScreen:
                self.showFullScreen()
            elif state & Qt.WindowMaximized:
                self.showMaximized()
            else:
                self.showNormal()
                self.setGeometry(saved["rect"])   # exactly (restoreGeometry would fit it to the screen)
            self.restoreState(saved["state"])
        self._sync_presentation_actions()

    def _sync_presentation_actions(self) -> None:
        self.act_presentation.blockSignals(True)
        self.act_presentation.setChecked(self.presenting)
        self.act_presentation.blockSignals(False)
        self.act_leave_presentation.setEnabled(self.presenting)

    def _scale_markers(self, factor: float) -> None:
        """Point markers ``factor`` times their usual size (1.0: back to usual)."""
        scale = getattr(self.canvas, "set_marker_scale", None)
        if callable(scale):
            scale(factor)
            return
        items = list(getattr(self.canvas, "point_items", {}).values())
        items += [getattr(self.canvas, n, None) for n in ("halo_item", "stroke_item", "selection_item")]
        for item in items:
            if item is None or not hasattr(item, "setSize"):
                continue
            base = getattr(item, "_nnviz_base_size", None)
            if base is None:
                base = item._nnviz_base_size = item.opts.get("size", 10)
            item.setSize(base * factor)

    def _refresh_axes(self, scaled: bool) -> None:
        """Axis ticks and titles in the presentation font (``scaled``) or back to their own."""
        import pyqtgraph as pg
        app = QApplication.instance()
        for view in self.findChildren(pg.GraphicsView):
            for item in view.scene().items():
                if not isinstance(item, pg.AxisItem):
                    continue
                item.setTickFont(QFont(app.font()) if scaled and app is not None else None)
                base = getattr(item, "_nnviz_label_font", None)
                if base is None:
                    base = item._nnviz_label_font = QFont(item.label.font())
                font = QFont(base)
                if scaled and font.pointSizeF() > 0:
                    font.setPointSizeF(font.pointSizeF() * PRESENTATION_FONT_SCALE)
                item.label.setFont(font)
                item._updateLabel()   # the axis makes room for the title's new size

    # -- window events -----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not self.maybe_save():
            event.ignore()
            return
        layout = self._layout()             # the usual layout (the one before presentation mode)
        self.set_presentation(False)        # the application's font back to normal
        self.sweep_panel.shutdown()         # cancel and wait: no sweep worker process is left
        if self.recorder.recording:
            self.recorder.stop()
        self.recorder.wait(30)              # the encoder finishes the file (seconds at most)
        if self._layout_timer is not None:
            self._layout_timer.stop()
        if self.autosaver is not None:
            self.autosaver.finish()         # a clean exit: this window's recovery files go
        self._cancel_save_request()
        if not self._closed:
            self._closed = True
            # tearing down: nothing may call back into the window while its children are deleted
            self.undo_stack.cleanChanged.disconnect(self._on_clean_changed)
            app = QApplication.instance()
            if app is not None:
                app.removeEventFilter(self)
        self._save_settings(layout)
        self.compare.shutdown()             # every further run's process ends
        self.client.shutdown()
        event.accept()

    # -- app-wide keys (contract C9) ---------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        """Space and the transport keys work wherever the focus is in this window, except while text is
        typed (a line edit, or a number box whose text the user is editing); Esc leaves a field."""
        kind = event.type()
        if kind not in (QEvent.ShortcutOverride, QEvent.KeyPress) or self._closed:
            return False
        if not isinstance(obj, QWidget) or not self._owns(obj):
            return False
        key = event.key()
        mods = event.modifiers() & ~Qt.KeypadModifier
        if kind == QEvent.ShortcutOverride:
            if (key, mods) in TRANSPORT_KEYS and not _typing_text(obj):
                event.ignore()   # not claimed by the field: the window's shortcut runs
                return True
            return False
        if key == Qt.Key_Escape and mods == Qt.NoModifier and not self._in_canvas(obj):
            self.canvas.plot_widget.setFocus(Qt.ShortcutFocusReason)
            return True
        return False

    def _owns(self, widget: QWidget) -> bool:
        """The widget is part of this window (docks included, floating or not); dialogs are not."""
        w = widget
        while w is not None:
            if w is self:
                return True
            if isinstance(w, QDialog):
                return False
            w = w.parentWidget()
        return False

    def _in_canvas(self, widget: QWidget) -> bool:
        return widget is self.canvas or self.canvas.isAncestorOf(widget)

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


def _font_size_rule(style: str, font: QFont) -> str:
    """``style`` plus a rule giving every widget the size of ``font`` (widgets under a style sheet take
    their font from it, not from their parent or the application)."""
    size = font.pointSizeF() if font.pointSizeF() > 0 else font.pixelSize() * 0.75
    return f"{style}\nQWidget {{ font-size: {size:.2f}pt; }}".strip()


def _slug(name: str) -> str:
    """A file name from an experiment name: 'Spiral (deep network)' -> 'spiral-deep-network'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "experiment"


def _typing_text(widget: QWidget) -> bool:
    """Keys belong to the field: an editable text field, or a number box while its text is being typed."""
    w = widget
    spin = None
    while w is not None:   # the focus may be the spin box or the line edit inside it
        if isinstance(w, QAbstractSpinBox):
            spin = w
            break
        w = w.parentWidget() if isinstance(w, QLineEdit) else None
    if spin is not None:
        edit = spin.lineEdit()
        return edit is not None and edit.isModified()
    if isinstance(widget, QLineEdit):
        return not widget.isReadOnly()
    if isinstance(widget, (QTextEdit, QPlainTextEdit)):
        return not widget.isReadOnly()
    return False


class _PendingSave:
    """One save on its way: the experiment as it was when Save was chosen, then the session's answer."""

    def __init__(self, path, exp, points_version, undo_index, document, trained_seconds, sweep_changes=0):
        self.path = path
        self.sweep_changes = sweep_changes
        self.exp = exp
        self.points_version = points_version
        self.undo_index = undo_index
        self.document = document
        self.trained_seconds = trained_seconds
        self.token: int | None = None
        self.awaiting = False          # the state request is not answered yet
        self.compare_pending = False   # compare mode: the further runs' states are not all in yet
        self.ready = False             # run A's part is done (answered, or given up): write once all are
        self.writer: SaveJob | None = None
        self.note = ""
        self.result: bool | None = None
        self.loop: QEventLoop | None = None


class _ImageExportDialog(QDialog):
    """What to export (the whole window or the canvas) and at what size."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export image")
        form = QFormLayout(self)
        self.whole = QRadioButton("Whole window (canvas, plots, legend, epoch)")
        self.canvas_only = QRadioButton("Canvas only")
        group = QButtonGroup(self)
        group.addButton(self.whole)
        group.addButton(self.canvas_only)
        self.whole.setChecked(True)
        box = QVBoxLayout()
        box.addWidget(self.whole)
        box.addWidget(self.canvas_only)
        form.addRow("Picture of:", box)
        self.scale = QComboBox(self)
        for s in IMAGE_SCALES:
            self.scale.addItem(f"{s}x" + (" (screen size)" if s == 1 else " (slides, print)" if s == 2 else ""), s)
        form.addRow("Size:", self.scale)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def set_choice(self, what, scale) -> None:
        (self.canvas_only if what == "canvas" else self.whole).setChecked(True)
        index = self.scale.findData(int(scale) if str(scale).isdigit() else 1)
        self.scale.setCurrentIndex(max(0, index))

    def choice(self) -> tuple[str, int]:
        return ("canvas" if self.canvas_only.isChecked() else "window"), int(self.scale.currentData() or 1)


def _run_numbers(snap, history) -> str:
    """A run's caption text: its epoch and its last evaluated train/test error (or loss)."""
    parts = [f"epoch {snap.epoch:,}"]
    row = history.last_evaluated_row() if len(history) else None
    if row is not None:
        if snap.mode == "regression":
            pairs = (("train loss", "train_loss", "{:.3g}"), ("test", "test_loss", "{:.3g}"))
        else:
            pairs = (("train error", "train_error", "{:.1%}"), ("test", "test_error", "{:.1%}"))
        for name, column, form in pairs:
            value = float(history[column][row])
            if np.isfinite(value):
                parts.append(f"{name} {form.format(value)}")
    if snap.stop_message:
        parts.append("stopped")
    return " · ".join(parts)


def _config_summary(config) -> str:
    """A run's settings in a few words, for a pin's label: "tanh 6x8 · lr 0.03 · L2 0.001"."""
    a = config.architecture
    layers = "x".join(str(n) for n in a.hidden_layers) if a.hidden_layers else "no hidden layer"
    out = [f"{a.activation} {layers}", f"lr {config.optimizer.learning_rate:g}"]
    r = config.regularization
    if r.l1:
        out.append(f"L1 {r.l1:g}")
    if r.l2:
        out.append(f"L2 {r.l2:g}")
    if r.dropout:
        out.append(f"dropout {r.dropout:g}")
    return " · ".join(out)
