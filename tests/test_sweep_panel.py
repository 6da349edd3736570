"""The Sweep panel: a tiny sweep through local worker processes, results as they arrive, cancel, clicks."""
from __future__ import annotations

import multiprocessing

import pytest
from PySide6.QtCore import QPointF, Qt, QTimer

from nnviz.data.generators import generate
from nnviz.engine import ExperimentConfig
from nnviz.ui.sweep_panel import SweepPanel


def _base():
    d = ExperimentConfig().to_dict()
    d["architecture"]["hidden_layers"] = [4]
    d["optimizer"].update(name="adam", learning_rate=0.02, batch_size=1)
    return ExperimentConfig.from_dict(d), generate("circle", 60, 0.25, 0.5, 0)


@pytest.fixture
def panel(qtbot):
    p = SweepPanel(_base)
    qtbot.addWidget(p)
    p.resize(500, 300)
    p.show()
    yield p
    p.shutdown()


def _setup(panel, values, epochs, seeds=1, workers=2):
    panel.param.setCurrentIndex(panel.param.findData("hidden_units"))
    panel.values.setText(values)
    panel.seeds.setValue(seeds)
    panel.epochs.setValue(epochs)
    panel.workers.setValue(workers)


def test_tiny_sweep_results_arrive_without_blocking_the_gui(panel, qtbot, tmp_path):
    _setup(panel, "1,4", 20)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    rows_seen = []
    panel.result_changed.connect(lambda: rows_seen.append(len(panel.result)))
    with qtbot.waitSignal(panel.sweep_finished, timeout=60000):
        assert panel.run()
        assert panel.running and not panel.run_button.isEnabled() and panel.cancel_button.isEnabled()
    timer.stop()
    assert rows_seen == [1, 2]                       # one by one, as they finished
    assert ticks                                     # the event loop ran while the workers trained
    assert len(panel.result) == 2 and not panel.running
    assert panel.progress.format() == "2/2 runs" and panel.csv_button.isEnabled()
    assert {r["value"] for r in panel.result.rows} == {1, 4}
    # the graph: a click on a run's dot asks to open that model, with its config and weights
    graph = panel.graph
    row = next(r for r in panel.result.rows if r["value"] == 4)
    graph.grab()                                     # lay out and paint: the axes take their final widths
    vb = graph.plot_item.getViewBox()
    x, y = float(graph._x([4])[0]), float(graph._y([row["test_error"]])[0])
    pos = graph.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
    with qtbot.waitSignal(panel.model_requested, timeout=2000) as blocker:
        qtbot.mouseClick(graph.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    got = blocker.args[0]
    assert got["value"] == 4 and got["seed"] == 0 and got["param"] == "hidden_units"
    assert got["config"]["architecture"]["hidden_layers"] == [4] and len(got["weights"]) == 2
    # exports, and the sweep saved and loaded as plain data
    panel.export_csv(str(tmp_path / "s.csv"))
    assert (tmp_path / "s.csv").read_text().startswith("hidden_units,seed,")
    panel.export_png(str(tmp_path / "s.png"))
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    saved = panel.to_dict()
    other = SweepPanel(_base)
    qtbot.addWidget(other)
    other.load_dict(saved)
    assert other.result.to_csv() == panel.result.to_csv() and other.values.text() == "1,4"
    # re-run with one more seed: only the two new runs are trained, the rest is merged
    panel.seeds.setValue(2)
    with qtbot.waitSignal(panel.sweep_finished, timeout=60000):
        assert panel.run()
        assert panel._total == 2
    assert len(panel.result) == 4


def test_cancel_stops_the_workers_and_keeps_the_panel_usable(panel, qtbot):
    _setup(panel, "1,2", 1_000_000)
    assert panel.run()
    qtbot.waitUntil(lambda: panel._thread is not None and panel._thread.job._pool is not None
                    and len(panel._thread.job._pool._processes) == 2, timeout=20000)
    procs = list(panel._thread.job._pool._processes.values())
    with qtbot.waitSignal(panel.sweep_finished, timeout=5000):
        panel.cancel()
    assert not panel.running and panel.run_button.isEnabled()
    assert "cancelled" in panel.progress.format()
    for p in procs:
        p.join(timeout=5)
        assert not p.is_alive()
    assert not {c.pid for c in multiprocessing.active_children()} & {p.pid for p in procs}


def test_bad_values_are_shown_not_run(panel):
    _setup(panel, "a,b", 10)
    assert not panel.run()
    assert "'a' is not a number" in panel.status.text() and not panel.running


def test_unreachable_scheduler_is_shown(panel, qtbot):
    pytest.importorskip("distributed")
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _setup(panel, "1", 5)
    panel.connect_timeout = 1
    panel.scheduler.setText(f"tcp://127.0.0.1:{port}")
    with qtbot.waitSignal(panel.sweep_finished, timeout=20000):
        assert panel.run()
    assert "cannot reach the Dask scheduler" in panel.status.text()
    assert panel.run_button.isEnabled()
