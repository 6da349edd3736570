"""GUI benchmark: the real main window training while it draws (offscreen, or on an X display).

For TensorFlow Playground's default (circle, 4-2 tanh) and its heavy case (spiral, 6x8 tanh,
batch 10, lr 0.03) it reports, over a fixed time:
  - epochs per second while drawing (training runs in the child process),
  - frames drawn per second, and the GUI process's CPU time per frame (independent of other load),
  - the CPU time of each repaint of a plot and of the canvas (median and worst),
  - GUI event-loop stalls: how late a 10 ms QTimer fires (p50, p99, worst),
  - for the heavy case, the wall time from Play until training error first drops below 5%.

Usage: python benchmarks/bench_gui.py [--seconds 10] [--repeats 3] [--features x1,x2]
                                     [--platform offscreen|xcb] [--xvfb] [--profile]
The header names the Qt platform plugin that really ran. ``--platform xcb`` draws on the X display in
$DISPLAY (a real one, or Xvfb: ``xvfb-run -a python benchmarks/bench_gui.py --platform xcb``);
``--xvfb`` starts a private Xvfb server itself (needs the ``Xvfb`` program) and draws on it.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np  # noqa: E402
from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402

from nnviz.data.generators import generate  # noqa: E402
from nnviz.engine import ExperimentConfig  # noqa: E402
from nnviz.experiment import Experiment  # noqa: E402
from nnviz.ui.app import make_app  # noqa: E402
from nnviz.ui.main_window import MainWindow  # noqa: E402
from nnviz.ui.session_client import ProcessSessionClient  # noqa: E402


def playground_default() -> Experiment:
    c = ExperimentConfig()
    c.architecture.hidden_layers = [4, 2]
    c.architecture.activation = "tanh"
    c.optimizer.learning_rate = 0.03
    c.optimizer.batch_size = 10
    return Experiment(c, generate("circle", 500, 0.0, 0.5, seed=1), name="Playground default")


def playground_heavy(features) -> Experiment:
    c = ExperimentConfig()
    c.architecture.hidden_layers = [8] * 6
    c.architecture.activation = "tanh"
    c.architecture.features = list(features)
    c.optimizer.learning_rate = 0.03
    c.optimizer.batch_size = 10
    return Experiment(c, generate("spiral", 500, 0.0, 0.5, seed=1), name="Playground heavy case")


PAINTS: dict[str, list] = {"plot": [], "canvas": []}


def _time_paints() -> None:
    """Record the main thread's CPU time of every repaint of a pyqtgraph view (a plot or the canvas):
    CPU time, not wall time, so other processes on the machine do not inflate it."""
    import pyqtgraph as pg
    from nnviz.ui.plots import _MetricPlot
    original = pg.GraphicsView.paintEvent

    def timed(view, event):
        t0 = time.thread_time()
        original(view, event)
        parent = view.parentWidget()
        while parent is not None and not isinstance(parent, _MetricPlot):
            parent = parent.parentWidget()
        PAINTS["plot" if parent is not None else "canvas"].append(1000 * (time.thread_time() - t0))

    pg.GraphicsView.paintEvent = timed


def compare_four(features) -> tuple[Experiment, list[dict]]:
    """The heavy case and three variants of it, side by side: four runs, four child processes."""
    return playground_heavy(features), [{"architecture": {"activation": "relu"}},
                                        {"regularization": {"l2": 0.001}},
                                        {"optimizer": {"learning_rate": 0.01}}]


def run(app, exp: Experiment, seconds: float, fit_target: float | None = None, compare: list | None = None,
        network: bool = False) -> dict:
    settings = QSettings(os.path.join(tempfile.mkdtemp(), "bench.ini"), QSettings.IniFormat)
    client = ProcessSessionClient()
    window = MainWindow(client, settings=settings, experiment=exp)
    window.resize(1440, 900)
    window.show()
    for changes in compare or []:
        window.compare_with(changes)
    if network:
        window.show_network_view(True)
    runs = list(window.compare.runs)
    # wait until every child answered once (start-up is not part of the measurement)
    deadline = time.perf_counter() + 60
    while any(r.last_snapshot is None for r in runs) and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.005)
    frames = []
    fit = {"time": None, "epoch": None}
    lateness = []
    last_tick = [time.perf_counter()]

    def on_frame(epoch):
        now = time.perf_counter()
        frames.append((now, epoch, time.process_time()))
        if fit_target is not None and fit["time"] is None and len(window.history):
            err = window.history["train_error"]
            hit = np.flatnonzero(err < fit_target)
            if hit.size:
                fit["time"] = now - start
                fit["epoch"] = int(window.history["epoch"][hit[0]])

    def tick():
        now = time.perf_counter()
        lateness.append((now - last_tick[0] - 0.010) * 1000.0)
        if os.environ.get("NNVIZ_BENCH_TRACE") and lateness[-1] > 30:
            print(f"  stall {lateness[-1]:.0f} ms at t={now - start:.2f} s, epoch {frames[-1][1] if frames else 0}")
        last_tick[0] = now

    window.frame_drawn.connect(on_frame)
    run_epochs: list = []   # (time, [epoch of each run]) at every frame of run A

    def sample(_epoch):
        run_epochs.append((time.perf_counter(), [r.last_snapshot.epoch if r.last_snapshot else 0 for r in runs]))
    window.frame_drawn.connect(sample)
    for paints in PAINTS.values():
        paints.clear()
    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(tick)
    start = time.perf_counter()
    window.play()
    last_tick[0] = time.perf_counter()
    probe.start()
    def stop():
        window.forget_unsaved()   # Qt 6's quit() closes windows: no "save changes?" question here
        app.quit()
    QTimer.singleShot(int(seconds * 1000), stop)
    app.exec()   # the real event loop, as in the app
    probe.stop()
    window.pause()
    span = [f for f in frames if f[0] >= start + 1.0]   # skip the first second (warm-up)
    eps = (span[-1][1] - span[0][1]) / (span[-1][0] - span[0][0]) if len(span) > 1 else 0.0
    fps = (len(span) - 1) / (span[-1][0] - span[0][0]) if len(span) > 1 else 0.0
    # CPU time of the GUI process per frame: what drawing costs, whatever else runs on the machine
    cpu_ms = 1000 * (span[-1][2] - span[0][2]) / (len(span) - 1) if len(span) > 1 else 0.0
    late = np.array(lateness[10:]) if len(lateness) > 10 else np.zeros(1)
    per_run = [r for r in run_epochs if r[0] >= start + 1.0]
    run_eps = ([(b - a) / (per_run[-1][0] - per_run[0][0]) for a, b in zip(per_run[0][1], per_run[-1][1])]
               if len(per_run) > 1 else [0.0] * len(runs))
    window.forget_unsaved()
    window.close()
    plot_paint = np.array(PAINTS["plot"] or [0.0])
    canvas_paint = np.array(PAINTS["canvas"] or [0.0])
    return {"epochs_per_s": eps, "fps": fps, "cpu_ms": cpu_ms,
            "plot_paint": float(np.median(plot_paint)), "plot_paint_max": float(plot_paint.max()),
            "canvas_paint": float(np.median(canvas_paint)), "canvas_paint_max": float(canvas_paint.max()),
            "stall_p50": float(np.percentile(late, 50)),
            "stall_p99": float(np.percentile(late, 99)), "stall_max": float(late.max()),
            "fit_time": fit["time"], "fit_epoch": fit["epoch"], "epochs": frames[-1][1] if frames else 0,
            "run_eps_min": float(min(run_eps)), "run_eps_max": float(max(run_eps)), "runs": len(runs)}


def _median(runs: list[dict]) -> dict:
    out = {}
    for key in runs[0]:
        values = [r[key] for r in runs if r[key] is not None]
        out[key] = float(np.median(values)) if values else None
    return out


def start_xvfb() -> subprocess.Popen:
    """A private Xvfb server on a free display number; DISPLAY and QT_QPA_PLATFORM point at it."""
    exe = shutil.which("Xvfb")
    if exe is None:
        raise SystemExit("--xvfb: the Xvfb program is not installed (Debian/Ubuntu: apt install xvfb)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen([exe, "-displayfd", str(write_fd), "-screen", "0", "1920x1200x24", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        raise SystemExit("--xvfb: Xvfb did not start")
    os.environ["DISPLAY"] = f":{number}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return server


def load_text() -> str:
    try:
        with open("/proc/loadavg") as f:
            return "load " + " ".join(f.read().split()[:3])
    except OSError:
        return "load unknown"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--features", default="x1,x2", help="inputs for the heavy case (Playground: x1,x2)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per case; the median of each figure is shown")
    ap.add_argument("--platform", choices=("offscreen", "xcb"), default=None,
                    help="Qt platform plugin (default: offscreen, or xcb with --xvfb); xcb needs DISPLAY, e.g. "
                         "under xvfb-run -a")
    ap.add_argument("--xvfb", action="store_true", help="start a private Xvfb server and draw on it (xcb)")
    ap.add_argument("--cases", default="", help="comma-separated case numbers to run (default: all): 1 default, "
                    "2 heavy, 3 four-run compare, 4 heavy with the network view")
    ap.add_argument("--profile", action="store_true",
                    help="profile the GUI process with cProfile (not the training child); the 30 most costly "
                         "functions are printed, the data kept in /tmp/bench_gui.prof")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    server = None
    if args.xvfb:
        server = start_xvfb()
    elif args.platform == "xcb":
        if not os.environ.get("DISPLAY"):
            raise SystemExit("--platform xcb: DISPLAY is not set (run under xvfb-run -a, or use --xvfb)")
        os.environ["QT_QPA_PLATFORM"] = "xcb"
    else:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    try:
        return _bench(args)
    finally:
        if server is not None:
            server.terminate()
            server.wait(5)


def _bench(args) -> int:
    app = make_app()
    _time_paints()
    where = QGuiApplication.platformName()
    if where == "xcb":
        where += f" on DISPLAY={os.environ.get('DISPLAY', '')}"
    print(f"nnviz GUI benchmark: Qt platform {where}, 1440x900 window, {args.seconds:g} s per case, "
          f"median of {args.repeats} runs, {os.cpu_count()} cores ({cpu_model()}), {load_text()} at start")
    features = args.features.split(",")
    cases = [("Playground default (circle, 4-2 tanh)", lambda: (playground_default(), None), None, False),
             ("Playground heavy (spiral, 6x8 tanh, batch 10)", lambda: (playground_heavy(features), None), 0.05,
              False),
             ("Compare: heavy case x 4 runs (4 children)", lambda: compare_four(features), None, False),
             ("Heavy case + network view dock", lambda: (playground_heavy(features), None), None, True)]
    if args.cases:
        cases = [c for i, c in enumerate(cases, 1) if str(i) in args.cases.split(",")]
    results = {name: [] for name, *_ in cases}
    for _ in range(max(1, args.repeats)):   # interleaved, so drifting load hits every case alike
        for name, make, target, network in cases:
            exp, compare = make()
            results[name].append(run(app, exp, args.seconds, fit_target=target, compare=compare, network=network))
    rows = [(name, _median(results[name])) for name, *_ in cases]
    print(f"{'case':48} {'epochs/s':>9} {'fps':>6} {'GUI cpu/frame':>13} {'stall p50':>10} {'p99':>7} {'max':>7}  "
          "fit<5%")
    for name, r in rows:
        fit = (f"{r['fit_time']:.2f} s (epoch {r['fit_epoch']:.0f})" if r["fit_time"] is not None
               else f"not within {args.seconds:g} s ({r['epochs']:.0f} epochs)")
        print(f"{name:48} {r['epochs_per_s']:9.0f} {r['fps']:6.1f} {r['cpu_ms']:11.1f}ms {r['stall_p50']:8.1f}ms "
              f"{r['stall_p99']:5.1f}ms {r['stall_max']:5.1f}ms  {fit}")
    for name, r in rows:
        if r["runs"] > 1:
            print(f"  {name}: epochs/s per run {r['run_eps_min']:.0f} (slowest) .. {r['run_eps_max']:.0f} (fastest)")
    print("repaint CPU time (median / worst):")
    for name, r in rows:
        print(f"  {name:46} plots {r['plot_paint']:5.1f} / {r['plot_paint_max']:5.1f} ms   "
              f"canvas {r['canvas_paint']:5.1f} / {r['canvas_paint_max']:5.1f} ms")
    print(f"({load_text()} at the end)")
    return 0


if __name__ == "__main__":
    if "--profile" in sys.argv[1:]:   # profile the GUI process (the child is not profiled)
        import cProfile
        import pstats
        cProfile.run("main()", "/tmp/bench_gui.prof")
        pstats.Stats("/tmp/bench_gui.prof").sort_stats("tottime").print_stats(30)
        sys.exit(0)
    sys.exit(main())
