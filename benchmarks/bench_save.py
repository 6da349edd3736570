"""Save benchmark: getting the state of a long run from a real training child, and writing it.

A real child process (ProcessSessionClient) is given the weights of a 10-weight-layer network and a
full metric history (100,000 rows, the history's bound) with LoadState; then it reports:
  - state: wall time from request_state() to the state_received signal (the child makes NumPy arrays,
    pickles them through the pipe, the GUI's reader thread unpickles them), and the longest stall of a
    2 ms QTimer on the main thread meanwhile;
  - save: wall time of save_experiment in a worker thread, the file's size, and the longest stall of a
    2 ms QTimer on the main thread meanwhile (what the window's user would feel);
  - load: wall time of load_experiment (on the calling thread), and that it equals what was saved.

Usage: python benchmarks/bench_save.py [--rows 100000] [--layers 10] [--neurons 8] [--points 1000]
                                       [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer  # noqa: E402

from nnviz.data.generators import generate  # noqa: E402
from nnviz.engine import ExperimentConfig  # noqa: E402
from nnviz.engine.config import layer_sizes  # noqa: E402
from nnviz.engine.history import LAYER_COLUMNS, SCALAR_COLUMNS, History  # noqa: E402
from nnviz.experiment import Experiment, load_experiment, save_experiment  # noqa: E402
from nnviz.session import messages as m  # noqa: E402
from nnviz.ui.session_client import ProcessSessionClient  # noqa: E402

TICK_MS = 2


class StallMeter:
    """A 2 ms QTimer on the main thread; records the longest gap between two of its ticks."""

    def __init__(self):
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.worst = 0.0

    def _tick(self):
        now = time.perf_counter()
        if self.last is not None:
            self.worst = max(self.worst, now - self.last)
        self.last = now

    def start(self):
        self.last, self.worst = None, 0.0
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.worst


def long_experiment(rows: int, layers: int, neurons: int, points: int) -> Experiment:
    config = ExperimentConfig()
    config.architecture.hidden_layers = [neurons] * (layers - 1)
    pts = generate("spiral", points, 0.1, 0.5, seed=1)
    sizes = layer_sizes(config, pts.n_classes())
    rng = np.random.default_rng(0)
    weights = [(rng.normal(size=(a, b)), rng.normal(size=b)) for a, b in zip(sizes[:-1], sizes[1:])]
    # rows as a long run leaves them: epochs thinned to a stride, real-valued metrics, no validation
    arrays = {c: rng.random(rows) for c in SCALAR_COLUMNS}
    arrays["epoch"] = np.arange(1, rows + 1) * 2.0
    arrays["validation_loss"][:] = arrays["validation_error"][:] = np.nan
    arrays.update({c: rng.random((rows, layers)) for c in LAYER_COLUMNS})
    arrays["n_layers"] = layers
    return Experiment(config, pts, name="bench", weights=weights, history=History.from_arrays(arrays))


def wait_until(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        QCoreApplication.processEvents(QEventLoop.AllEvents, 5)


def bench_state(exp: Experiment, repeats: int) -> list[tuple[float, float]]:
    client = ProcessSessionClient()
    client.start()
    meter = StallMeter()
    out = []
    try:
        client.send(m.SetExperiment(exp.config, exp.points, 1))
        client.send(m.LoadState(exp.weights, exp.history.to_arrays()))
        snapshots = []
        client.snapshot.connect(lambda snap: (snapshots.append(snap.epoch), client.ack()))
        assert client.request_state_blocking(timeout=120).epoch == int(exp.history.last("epoch"))
        wait_until(lambda: bool(snapshots))   # the load's snapshot (all rows) is not part of a save
        replies = []
        client.state_received.connect(replies.append)
        for _ in range(repeats):
            replies.clear()
            meter.start()
            start = time.perf_counter()
            token = client.request_state()
            wait_until(lambda: bool(replies))
            elapsed = time.perf_counter() - start
            worst = meter.stop()
            reply = replies[0]
            assert reply.token == token and len(reply.history["epoch"]) == len(exp.history)
            out.append((elapsed, worst))
    finally:
        client.shutdown()
    return out


def bench_save(exp: Experiment, path: str, repeats: int) -> list[tuple[float, float]]:
    meter = StallMeter()
    out = []
    for _ in range(repeats):
        done = threading.Event()
        result = {}

        def work():
            start = time.perf_counter()
            try:
                save_experiment(exp, path)
            except BaseException as e:   # reported below
                result["error"] = e
            result["seconds"] = time.perf_counter() - start
            done.set()

        meter.start()
        worker = threading.Thread(target=work, name="save")
        worker.start()
        wait_until(done.is_set)
        worst = meter.stop()
        worker.join()
        if "error" in result:
            raise result["error"]
        out.append((result["seconds"], worst))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--layers", type=int, default=10, help="weight layers (hidden layers + 1)")
    ap.add_argument("--neurons", type=int, default=8, help="neurons per hidden layer")
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])  # noqa: F841
    exp = long_experiment(args.rows, args.layers, args.neurons, args.points)
    print(f"{args.rows} history rows, {args.layers} weight layers of {args.neurons} neurons, "
          f"{args.points} points, {args.repeats} repeats")
    for i, (secs, worst) in enumerate(bench_state(exp, args.repeats)):
        print(f"state from the child  #{i + 1}: {secs * 1000:7.0f} ms   longest main-thread stall "
              f"{worst * 1000:5.1f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "long.nnviz")
        for i, (secs, worst) in enumerate(bench_save(exp, path, args.repeats)):
            print(f"save in a worker      #{i + 1}: {secs * 1000:7.0f} ms   longest main-thread stall "
                  f"{worst * 1000:5.1f} ms")
        print(f"file size: {os.path.getsize(path) / 1e6:.1f} MB")
        start = time.perf_counter()
        back = load_experiment(path)
        print(f"load: {(time.perf_counter() - start) * 1000:.0f} ms, equal to what was saved: {back == exp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
