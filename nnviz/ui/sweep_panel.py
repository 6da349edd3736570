"""The Sweep panel: the model complexity graph, made by training the current points and settings once per
value of one parameter (and per seed) in background processes, on local cores or a Dask cluster.

Usable as a dock: ``SweepPanel(get_base)`` where ``get_base() -> (ExperimentConfig, PointSet)`` returns the
window's current settings and points. Results arrive through a QThread (the GUI thread never waits on a
worker); clicking a run's point in the graph emits ``model_requested(dict)``: the run's row (value, seed,
epochs, metrics), ``param``, the run's full ``config`` dict and its ``weights`` ([[W, b], ...] as lists,
or None for a loaded sweep: the same config and seed retrain it exactly).
"""
from __future__ import annotations

import math
import os
import time
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QThread, QTimer, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QMessageBox, QProgressBar, QPushButton, QSizePolicy, QSpinBox, QVBoxLayout,
                               QWidget)

from ..errors import NnvizError
from ..sweep import (PARAMS, SweepJob, SweepResult, SweepSpec, apply_value, build_tasks, check_metric,
                     default_workers, format_value, get_param, parse_values)
from .palette import CLASS_COLORS

TRAIN_COLOR = CLASS_COLORS[0]
TEST_COLOR = CLASS_COLORS[1]
UNDER_COLOR = (0, 114, 178, 28)     # pale blue: underfitting side
OVER_COLOR = (213, 94, 0, 28)       # pale orange: overfitting side


def _use_log_x(values) -> bool:
    vs = [float(v) for v in values]
    return bool(vs) and min(vs) > 0 and max(vs) / min(vs) >= 10


class SweepGraph(pg.PlotWidget):
    """Train and test metric against the swept value: mean curves, min-max bands across seeds, every run
    as a clickable dot, the best test value marked, the underfitting and overfitting sides shaded."""

    run_clicked = Signal(dict)    # the row of the clicked run

    def __init__(self, parent: QWidget | None = None):
        bg = (parent.palette() if parent is not None else QPalette()).color(QPalette.ColorRole.Base)
        super().__init__(parent, background=bg)
        self._fg = QColor("#e0e0e0") if bg.lightness() < 128 else QColor("#303030")
        self.setMinimumSize(240, 100)   # the window must still fit 1024x700 with the Sweep dock open
        self.setToolTip("Lines: mean across seeds; bands: lowest to highest seed; dots: single runs "
                        "(click one to open that model). Left of the best test value the models underfit, "
                        "right of it they overfit.")
        self.plot_item = self.getPlotItem()
        self.plot_item.setMenuEnabled(False)
        self.plot_item.showGrid(x=True, y=True, alpha=0.15)
        self.plot_item.getViewBox().setMouseEnabled(x=False, y=False)
        for name in ("left", "bottom"):
            axis = self.plot_item.getAxis(name)
            axis.setPen(self._fg)
            axis.setTextPen(self._fg)
        self.legend = self.plot_item.addLegend(offset=(0, 4), labelTextColor=self._fg, labelTextSize="8pt",
                                               colCount=2)
        self.legend.anchor(itemPos=(0.5, 0), parentPos=(0.5, 0), offset=(0, 4))
        self.sweep_result: SweepResult | None = None
        self.shown_metric = "error"
        self.shown_log_x = False
        self._run_points: list[tuple[float, float, dict]] = []   # (x, y) in view coordinates, row
        self.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self._build_items()
        self.show_result(None)

    def _build_items(self) -> None:
        """Every item once; showing a result only updates data, positions and visibility (a redraw per
        arriving run then costs a few milliseconds, not a rebuild of the scene)."""
        pi = self.plot_item
        self._message = pg.TextItem("", color=self._fg, anchor=(0.5, 0.5))
        self._regions, self._side_labels = [], []
        for color, text, anchor in ((UNDER_COLOR, "underfitting", (0, 0)), (OVER_COLOR, "overfitting", (1, 0))):
            region = pg.LinearRegionItem((0, 1), movable=False, brush=pg.mkBrush(*color), pen=pg.mkPen(None))
            region.setZValue(-20)
            label = pg.TextItem(text, color=self._fg, anchor=anchor)
            self._regions.append(region)
            self._side_labels.append(label)
        self._best_line = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(TEST_COLOR, width=1, style=Qt.PenStyle.DashLine))
        self._series = {}
        for side, color in (("train", TRAIN_COLOR), ("test", TEST_COLOR)):
            c = QColor(color)
            low = pg.PlotCurveItem(pen=pg.mkPen(None))
            high = pg.PlotCurveItem(pen=pg.mkPen(None))
            band = pg.FillBetweenItem(low, high, brush=pg.mkBrush(c.red(), c.green(), c.blue(), 60))
            band.setZValue(-10)
            mean = pg.PlotDataItem(pen=pg.mkPen(color, width=2), symbol="o", symbolSize=6, symbolBrush=color,
                                   symbolPen=None, name=side)
            dots = pg.ScatterPlotItem(size=7, pen=pg.mkPen(color, width=1),
                                      brush=pg.mkBrush(c.red(), c.green(), c.blue(), 70), hoverable=True,
                                      hoverBrush=pg.mkBrush(color), tip=None)
            dots.setZValue(5)
            self._series[side] = (low, high, band, mean, dots)
        self._star = pg.ScatterPlotItem(symbol="star", size=16, brush=pg.mkBrush(TEST_COLOR),
                                        pen=pg.mkPen(self._fg, width=1))
        self._star.setZValue(10)
        self._star.setAcceptedMouseButtons(Qt.MouseButton.NoButton)   # clicks reach the run dots beneath
        self._best_label = pg.TextItem("", color=self._fg, anchor=(0.5, 1.2))
        self._best_label.setZValue(10)
        items = [self._message, *self._regions, *self._side_labels, self._best_line, self._star, self._best_label]
        for low, high, band, mean, dots in self._series.values():
            items += [low, high, band, mean, dots]
        for item in items:
            pi.addItem(item)
        self._optional = [*self._regions, *self._side_labels, self._best_line, self._star, self._best_label]

    # -- drawing ---------------------------------------------------------------------------------------
    def _x(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        return np.log10(v) if self.shown_log_x else v

    def _y(self, values) -> np.ndarray:
        v = np.asarray([math.nan if x is None else x for x in values], dtype=np.float64)
        return 100.0 * v if self.shown_metric == "error" else v

    def show_result(self, result: SweepResult | None, metric: str | None = None) -> None:
        self.sweep_result = result
        self.shown_metric = metric or (result.spec.metric if result else "error")
        pi = self.plot_item
        self._run_points.clear()
        unit = " (%)" if self.shown_metric == "error" else ""
        empty = result is None or not len(result)
        for item in self._optional:
            item.setVisible(False)
        for low, high, band, mean, dots in self._series.values():
            for curve in (low, high, mean):
                curve.setData([], [])
            dots.setData([], [])
            band.setVisible(False)
        self._message.setVisible(empty)
        if empty:
            param = get_param(result.spec.param).label if result else "the swept value"
            pi.setLabel("bottom", param)
            pi.setLabel("left", f"{self.shown_metric}{unit}")
            self.shown_log_x = False
            pi.getAxis("bottom").setTicks(None)
            self._message.setText(f"Run a sweep to draw train and test {self.shown_metric} against {param}")
            self._message.setPos(0.5, 0.5)
            pi.setXRange(0, 1, padding=0)
            pi.setYRange(0, 1, padding=0)
            return
        spec = result.spec
        p = get_param(spec.param)
        values = sorted({r["value"] for r in result.rows} | set(spec.values))
        self.shown_log_x = p.log and _use_log_x(values)
        # ticks at the swept values (at most ~12 labelled), so a log axis reads 1 2 4 8 ... 128
        step = max(1, -(-len(values) // 12))
        ticks = [(float(x), format_value(v)) for x, v in zip(self._x(values), values)]
        pi.getAxis("bottom").setTicks([ticks[::step], []])
        pi.setLabel("bottom", p.label + (" (log scale)" if self.shown_log_x else ""))
        pi.setLabel("left", f"{self.shown_metric}{unit}")
        s = result.summary(self.shown_metric)
        xs = self._x([st.value for st in s.stats])
        x_all = self._x(values)
        x_lo, x_hi = float(x_all.min()), float(x_all.max())
        if x_hi == x_lo:
            x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
        ys = [self._y([getattr(st, f"{side}_{k}") for st in s.stats]) for side in ("train", "test")
              for k in ("mean", "min", "max")]
        finite = np.concatenate([y[np.isfinite(y)] for y in ys] + [np.zeros(1)])
        y_top = float(finite.max()) * 1.12 or 1.0
        if s.best_value is not None:      # the two sides of the best test value, behind everything
            xb = float(self._x([s.best_value])[0])
            for region, label, (a, b), at in zip(self._regions, self._side_labels, ((x_lo, xb), (xb, x_hi)),
                                                 (x_lo, x_hi)):
                if b > a:
                    region.setRegion((a, b))
                    label.setPos(at, y_top)
                    region.setVisible(True)
                    label.setVisible(True)
            self._best_line.setValue(xb)
            self._best_line.setVisible(True)
        for side, (low, high, band, mean_item, dots) in self._series.items():
            mean = self._y([getattr(st, f"{side}_mean") for st in s.stats])
            lo = self._y([getattr(st, f"{side}_min") for st in s.stats])
            hi = self._y([getattr(st, f"{side}_max") for st in s.stats])
            ok = np.isfinite(mean)
            if not ok.any():
                continue
            if ok.sum() > 1:
                low.setData(xs[ok], lo[ok])
                high.setData(xs[ok], hi[ok])
                band.setVisible(True)
            mean_item.setData(xs[ok], mean[ok])
            # every run as a small dot: click one to open that model
            rows = [r for r in result.rows if r.get(f"{side}_{self.shown_metric}") is not None]
            if rows:
                x = self._x([r["value"] for r in rows])
                y = self._y([r[f"{side}_{self.shown_metric}"] for r in rows])
                dots.setData(x=x, y=y)
                self._run_points.extend((float(a), float(b), r) for a, b, r in zip(x, y, rows))
        if s.best_value is not None:
            best = next(st for st in s.stats if st.value == s.best_value)
            xb = float(self._x([s.best_value])[0])
            yb = float(self._y([best.test_mean])[0])
            self._star.setData([xb], [yb])
            fmt = f"{yb:.1f}%" if self.shown_metric == "error" else f"{yb:.3g}"
            self._best_label.setText(f"best test: {format_value(s.best_value)} ({fmt})")
            self._best_label.setPos(xb, yb)
            for item in (self._star, self._best_label):
                item.setVisible(True)
        pad = 0.04 * (x_hi - x_lo)
        pi.setXRange(x_lo - pad, x_hi + pad, padding=0)
        pi.setYRange(-0.03 * y_top, y_top * 1.08, padding=0)

    def run_at(self, scene_pos, radius: float = 10.0) -> dict | None:
        """The row of the run dot nearest to ``scene_pos`` within ``radius`` pixels, if any."""
        vb = self.plot_item.getViewBox()
        best, best_d = None, radius * radius
        for x, y, row in self._run_points:
            p = vb.mapViewToScene(QPointF(x, y))
            d = (p.x() - scene_pos.x()) ** 2 + (p.y() - scene_pos.y()) ** 2
            if d <= best_d:
                best, best_d = row, d
        return best

    def _on_scene_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        row = self.run_at(ev.scenePos())
        if row is not None:
            ev.accept()
            self.run_clicked.emit(row)


class _JobThread(QThread):
    """Starts the job (a Dask connection may take seconds) and forwards its outcomes to the GUI thread."""

    outcome = Signal(object)      # nnviz.sweep.Outcome
    failed = Signal(str)          # the job could not start
    ended = Signal(str)           # a message ("" when all went well) once nothing more will come

    def __init__(self, job: SweepJob, parent=None):
        super().__init__(parent)
        self.job = job

    def run(self) -> None:
        try:
            self.job.start()
        except NnvizError as e:
            self.job.close(terminate=True)
            self.failed.emit(str(e))
            return
        except Exception as e:   # noqa: BLE001 - a worker pool that cannot start: say so in the panel
            self.job.close(terminate=True)
            self.failed.emit(f"the workers could not start: {type(e).__name__}: {e}")
            return
        try:
            for out in self.job.outcomes():
                self.outcome.emit(out)
        finally:
            self.job.close(terminate=self.job.cancelled)
        self.ended.emit(self.job.message)


class SweepPanel(QWidget):
    """Parameter, values, seeds, epochs, workers and an optional Dask scheduler; Run / Cancel, progress with
    ETA, the model complexity graph, Export CSV / PNG. Re-running the same parameter on the same settings
    adds only the missing (value, seed) runs and merges them."""

    model_requested = Signal(dict)
    sweep_finished = Signal(object)     # the SweepResult, after a run ends (completed, cancelled or failed)
    result_changed = Signal()           # a row came in or a sweep was loaded (the lead may mark unsaved)

    def __init__(self, get_base: Callable[[], tuple], parent: QWidget | None = None):
        super().__init__(parent)
        self.get_base = get_base
        self.result: SweepResult | None = None
        self._thread: _JobThread | None = None
        self._tasks: list[dict] = []
        self._weights: dict[tuple, list] = {}
        self._done = self._total = 0
        self._started = 0.0
        self._failures: list[str] = []
        self.connect_timeout = 5.0       # seconds to wait for a Dask scheduler
        self._redraw = QTimer(self)       # rows arriving in a burst redraw the graph once (<= 4/s)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(250)
        self._redraw.timeout.connect(self._draw)

        self.param = QComboBox()
        for p in PARAMS.values():
            self.param.addItem(p.label, p.name)
        self.param.setToolTip("The setting that changes from run to run; everything else stays as in the window.")
        self.values = QLineEdit(PARAMS["hidden_units"].hint)
        self.values.setToolTip("A list (1,2,4,8) or a range START:STOP:COUNT, spaced as chosen on the right "
                               "(or ending in :lin / :log).")
        self.scale = QComboBox()
        self.scale.addItems(["log", "lin"])
        self.scale.setToolTip("Spacing of a START:STOP:COUNT range.")
        self.seeds = QSpinBox()
        self.seeds.setRange(1, 100)
        self.seeds.setValue(3)
        self.seeds.setPrefix("seeds ")
        self.seeds.setToolTip("Runs per value, each with its own initial weights and batch order (same points).")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1_000_000)
        self.epochs.setValue(500)
        self.epochs.setPrefix("epochs ")
        self.epochs.setToolTip("Epochs per run (at most, when early stopping is on in the settings).")
        self.workers = QSpinBox()
        self.workers.setRange(1, 4096)
        self.workers.setValue(default_workers(leave_one=True))
        self.workers.setPrefix("workers ")
        self.workers.setToolTip("Local worker processes; by default one core is left to the live run.")
        self.metric_combo = QComboBox()
        self.metric_combo.addItems(["error", "loss"])
        self.metric_combo.setToolTip("What the graph compares: error rate or loss.")
        self.scheduler = QLineEdit()
        self.scheduler.setPlaceholderText("Dask scheduler")
        self.scheduler.setToolTip("Optional: run on a Dask cluster instead of local processes, e.g. "
                                  "tcp://host:8786 (needs nnviz[distributed]).")
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.progress.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.csv_button = QPushButton("CSV…")
        self.csv_button.setToolTip("Export one row per run as CSV")
        self.png_button = QPushButton("PNG…")
        self.png_button.setToolTip("Export the graph as a PNG image")
        self.graph = SweepGraph(self)

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(2)
        # two rows, so the panel fits under the canvas of a 1024x700 window with room for the graph
        grid.addWidget(self.param, 0, 0)
        grid.addWidget(self.values, 0, 1, 1, 2)
        grid.addWidget(self.scale, 0, 3)
        grid.addWidget(self.metric_combo, 0, 4)
        grid.addWidget(self.seeds, 1, 0)
        grid.addWidget(self.epochs, 1, 1)
        grid.addWidget(self.workers, 1, 2)
        grid.addWidget(self.scheduler, 1, 3, 1, 2)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        for w in (self.run_button, self.cancel_button, self.progress, self.csv_button, self.png_button):
            buttons.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(grid)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.graph, 1)
        self.status.hide()

        self.param.currentIndexChanged.connect(self._param_changed)
        self.metric_combo.currentTextChanged.connect(self._metric_changed)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.csv_button.clicked.connect(self._export_csv_dialog)
        self.png_button.clicked.connect(self._export_png_dialog)
        self.graph.run_clicked.connect(self._run_clicked)
        self._update_buttons()

    # -- state -----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None

    def _update_buttons(self) -> None:
        has = self.result is not None and len(self.result) > 0
        self.run_button.setEnabled(not self.running)
        self.cancel_button.setEnabled(self.running)
        self.csv_button.setEnabled(has)
        self.png_button.setEnabled(has)
        for w in (self.param, self.values, self.scale, self.seeds, self.epochs, self.workers, self.scheduler):
            w.setEnabled(not self.running)
        self.epochs.setEnabled(not self.running and self.param.currentData() != "epochs")

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def _param_changed(self) -> None:
        p = get_param(self.param.currentData())
        self.values.setText(p.hint)
        self.scale.setCurrentText("log" if p.log else "lin")
        self.epochs.setEnabled(p.name != "epochs" and not self.running)

    def _metric_changed(self, metric: str) -> None:
        if self.result is not None:
            self.graph.show_result(self.result, metric)

    # -- running ---------------------------------------------------------------------------------------
    def spec_from_fields(self, config) -> SweepSpec:
        param = self.param.currentData()
        values = parse_values(self.values.text(), param, self.scale.currentText())
        metric = self.metric_combo.currentText()
        if config.problem == "regression" and metric == "error":
            metric = "loss"
            self.metric_combo.setCurrentText("loss")
        return SweepSpec(param, values, seeds=self.seeds.value(), epochs=self.epochs.value(), metric=metric,
                         first_seed=config.architecture.seed)

    def run(self) -> bool:
        """Start a sweep of the fields' settings on the current points (merging into a matching earlier one)."""
        if self.running:
            return False
        try:
            config, points = self.get_base()
            spec = self.spec_from_fields(config)
            check_metric(spec, config)
            base = config.to_dict()
            previous = self.result
            if (previous is None or previous.spec.param != spec.param or previous.base_config != base
                    or previous.spec.epochs != spec.epochs):
                previous = None
                self._weights.clear()
            self.result = SweepResult(spec, previous.rows if previous else None, base)
            tasks = build_tasks(spec, config, points, skip=previous, return_weights=True)
        except NnvizError as e:
            self._say(str(e))
            return False
        self._say("")
        self._tasks = tasks
        self._done, self._total = 0, len(tasks)
        self._failures = []
        self.graph.show_result(self.result)
        if not tasks:
            self._say("All these runs are already in the graph.")
            self._update_buttons()
            return False
        job = SweepJob(tasks, workers=self.workers.value(), scheduler=self.scheduler.text() or None,
                       connect_timeout=self.connect_timeout)
        self._thread = _JobThread(job, self)
        self._thread.outcome.connect(self._on_outcome)
        self._thread.failed.connect(self._on_failed)
        self._thread.ended.connect(self._on_ended)
        self._thread.finished.connect(self._on_thread_finished)
        self._started = time.perf_counter()
        self.progress.setRange(0, self._total)
        self.progress.setValue(0)
        self.progress.setFormat(f"0/{self._total} runs")
        self._update_buttons()
        self._thread.start()
        return True

    def cancel(self) -> None:
        """Stop the workers now; the runs that finished stay in the graph."""
        if self._thread is not None:
            self._thread.job.request_cancel()
            self.progress.setFormat(f"{self._done}/{self._total} runs - cancelling…")

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the worker thread is gone (tests, and the window's close)."""
        if self._thread is None:
            return True
        return self._thread.wait(timeout_ms)

    def _on_outcome(self, out) -> None:
        self._done += 1
        if out.row is not None:
            row = dict(out.row)
            weights = row.pop("weights", None)
            if weights is not None:
                self._weights[(row["value"], row["seed"])] = weights
            self.result.add(row)
            if not self._redraw.isActive():
                self._redraw.start()
            self.result_changed.emit()
        else:
            t = self._tasks[out.index]
            self._failures.append(f"{format_value(t['value'])} seed {t['seed']}: {out.error}")
            self._say(f"{len(self._failures)} run(s) failed; first: {self._failures[0]}")
        elapsed = time.perf_counter() - self._started
        left = elapsed / self._done * (self._total - self._done)
        self.progress.setValue(self._done)
        self.progress.setFormat(f"{self._done}/{self._total} runs - about {_duration(left)} left"
                                if self._done < self._total else f"{self._done}/{self._total} runs")

    def _on_failed(self, message: str) -> None:
        self._say(message)

    def _on_ended(self, message: str) -> None:
        if message:
            self._say(message)

    def _draw(self) -> None:
        self._redraw.stop()
        self.graph.show_result(self.result, self.metric_combo.currentText())

    def _on_thread_finished(self) -> None:
        self._draw()
        thread, self._thread = self._thread, None
        if thread is not None:
            if thread.job.cancelled:
                self.progress.setFormat(f"{self._done}/{self._total} runs - cancelled")
            thread.deleteLater()
        self._update_buttons()
        self.sweep_finished.emit(self.result)

    def shutdown(self) -> None:
        """Cancel and wait (the window calls this when it closes): no worker process is left behind."""
        self.cancel()
        self.wait()

    # -- results ---------------------------------------------------------------------------------------
    def _run_clicked(self, row: dict) -> None:
        if self.result is None:
            return
        param = self.result.spec.param
        out = dict(row)
        out["param"] = param
        base = self.result.base_config
        out["config"] = apply_value(base, param, row["value"], row["seed"]) if base is not None else None
        out["weights"] = self._weights.get((row["value"], row["seed"]))
        self.model_requested.emit(out)

    def to_dict(self) -> dict | None:
        """The sweep as plain JSON-able data (for the experiment file), or None when there is none."""
        return self.result.to_dict() if self.result is not None and len(self.result) else None

    def load_dict(self, d: dict | None) -> None:
        """Show a saved sweep (None clears the graph). Raises NnvizError for malformed data."""
        self.result = SweepResult.from_dict(d) if d is not None else None
        self._weights.clear()
        if self.result is not None:
            spec = self.result.spec
            i = self.param.findData(spec.param)
            self.param.blockSignals(True)
            self.param.setCurrentIndex(i)
            self.param.blockSignals(False)
            self.values.setText(",".join(format_value(v) for v in spec.values))
            self.seeds.setValue(spec.seeds)
            self.epochs.setValue(spec.epochs)
            self.metric_combo.setCurrentText(spec.metric)
        self.graph.show_result(self.result, self.metric_combo.currentText())
        self._update_buttons()

    def export_csv(self, path: str) -> None:
        if self.result is None:
            raise NnvizError("no sweep to export yet")
        self.result.write_csv(path)

    def export_png(self, path: str) -> None:
        save_widget_png(self.graph, path)

    def _export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export sweep as CSV", "sweep.csv", "CSV files (*.csv)")
        if path:
            self._export(self.export_csv, path)

    def _export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export sweep graph as PNG", "sweep.png", "PNG images (*.png)")
        if path:
            self._export(self.export_png, path)

    def _export(self, fn, path: str) -> None:
        try:
            fn(path)
        except NnvizError as e:
            QMessageBox.warning(self, "Export failed", str(e))


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def save_widget_png(widget: QWidget, path: str) -> None:
    """Grab ``widget`` and write it as PNG atomically (a temporary file beside ``path``, then a rename)."""
    import tempfile
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".sweep.", suffix=".png", dir=directory)
    os.close(fd)
    try:
        if not widget.grab().save(tmp, "PNG"):
            raise NnvizError(f"{path}: cannot write the image")
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise NnvizError(f"{path}: cannot write ({e.strerror or e})") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def render_png(result: SweepResult, path: str, size: tuple[int, int] = (800, 480)) -> None:
    """Draw the model complexity graph of ``result`` into a PNG without showing a window (the CLI's --png)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(["nnviz"])   # noqa: F841 - keeps Qt alive while drawing
    graph = SweepGraph()
    graph.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    graph.resize(*size)
    graph.show_result(result)
    graph.show()
    QApplication.processEvents()
    graph.show_result(result)      # again at its final size: text items are placed in view coordinates
    QApplication.processEvents()
    save_widget_png(graph, path)
    graph.close()
    graph.deleteLater()
