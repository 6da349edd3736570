"""Sweep throughput: runs per second of a 7-value x 3-seed sweep of the circle lesson at 500 epochs.

Modes: 1 local worker process, all local cores, and a Dask LocalCluster of 2 worker processes (1 thread
each; skipped without `dask[distributed]`). For each: wall time, runs/s, speed-up over 1 worker, and the
overhead per run - wall time x workers minus the time the runs spent training, per run - as a share of a
run's training time (process start, sending points and settings, collecting results, idle tail).

    python benchmarks/bench_sweep.py [--epochs 500] [--values 1,2,4,8,16,32,64] [--seeds 3] [--gui]

``--gui`` also runs the sweep through the Sweep panel (offscreen, workers = cores - 1) and measures how late
a 60 Hz timer on the GUI thread fires meanwhile: the GUI's stalls caused by receiving and drawing results.

The machine's load average is printed before and after: other work on the cores makes every figure worse.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nnviz.presets import PRESETS  # noqa: E402
from nnviz.sweep import SweepSpec, cpu_count, parse_values, run_sweep  # noqa: E402


def measure(label, spec, exp, workers, scheduler=None):
    t = time.perf_counter()
    result, problems = run_sweep(spec, exp.config, exp.points, workers=workers, scheduler=scheduler,
                                 connect_timeout=30)
    wall = time.perf_counter() - t
    if problems:
        print(f"{label}: problems: {problems}")
    n = len(result)
    train = sum(r["seconds"] for r in result.rows)
    overhead = (wall * workers - train) / n
    return {"label": label, "workers": workers, "wall": wall, "runs": n, "rate": n / wall,
            "train_per_run": train / n, "overhead_per_run": overhead, "share": overhead / (train / n)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=500)
    ap.add_argument("--values", default="1,2,4,8,16,32,64")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--gui", action="store_true", help="also measure GUI-thread stalls in the Sweep panel")
    args = ap.parse_args()
    exp = PRESETS["circle"].build()
    spec = SweepSpec("hidden_units", parse_values(args.values, "hidden_units"), seeds=args.seeds,
                     epochs=args.epochs)
    cores = cpu_count()
    print(f"circle lesson, hidden_units {spec.values} x {spec.seeds} seeds = {len(spec.runs())} runs, "
          f"{spec.epochs} epochs; {cores} cores; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = [measure("1 worker", spec, exp, 1)]
    if cores > 1:
        rows.append(measure(f"{cores} local workers", spec, exp, cores))
    if not args.no_dask:
        try:
            from distributed import LocalCluster
        except ImportError:
            print("Dask LocalCluster: skipped (pip install 'dask[distributed]')")
        else:
            t = time.perf_counter()
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None) as cluster:
                start = time.perf_counter() - t
                r = measure("Dask LocalCluster, 2 workers", spec, exp, 2, scheduler=cluster.scheduler_address)
                r["label"] += f" (+{start:.1f} s cluster start)"
                rows.append(r)
    base = rows[0]["rate"]
    print(f"{'mode':<46} {'wall s':>7} {'runs/s':>7} {'speed-up':>8} {'train s/run':>11} "
          f"{'overhead s/run':>14} {'overhead':>8}")
    for r in rows:
        print(f"{r['label']:<46} {r['wall']:7.2f} {r['rate']:7.2f} {r['rate'] / base:7.2f}x "
              f"{r['train_per_run']:11.3f} {r['overhead_per_run']:14.3f} {100 * r['share']:7.1f}%")
    if args.gui:
        gui_stalls(spec, exp)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def gui_stalls(spec, exp) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from nnviz.ui.sweep_panel import SweepPanel

    app = QApplication.instance() or QApplication(["bench"])
    panel = SweepPanel(lambda: (exp.config, exp.points))
    panel.resize(500, 300)
    panel.show()
    panel.values.setText(",".join(str(v) for v in spec.values))
    panel.seeds.setValue(spec.seeds)
    panel.epochs.setValue(spec.epochs)
    clock, late = QElapsedTimer(), []
    timer = QTimer()
    timer.setTimerType(timer.timerType().PreciseTimer)
    last = [0]

    def tick():
        now = clock.nsecsElapsed()
        late.append((now - last[0]) / 1e6 - 1000 / 60)
        if os.environ.get("BENCH_DEBUG") and late[-1] > 30:
            print(f"stall {late[-1]:.0f} ms at {now / 1e9:.2f} s, {len(panel.result or [])} rows", flush=True)
        last[0] = now
    timer.timeout.connect(tick)
    panel.sweep_finished.connect(lambda r: app.quit())
    clock.start()
    t = time.perf_counter()
    timer.start(round(1000 / 60))
    panel.run()
    app.exec()
    timer.stop()
    wall = time.perf_counter() - t
    a = np.maximum(np.asarray(late[1:]), 0.0)
    print(f"Sweep panel ({panel.workers.value()} worker(s)), {len(panel.result)} runs in {wall:.1f} s: GUI timer at "
          f"60 Hz late by p50 {np.percentile(a, 50):.1f} ms, p99 {np.percentile(a, 99):.1f} ms, "
          f"max {a.max():.1f} ms over {len(a)} ticks")


if __name__ == "__main__":
    sys.exit(main())
