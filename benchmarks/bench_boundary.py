"""Boundary benchmark: frames/s a real training child delivers for big networks, and its epochs/s.

For each network (6x8, 4x64, 4x256, 10x256, 16x512; tanh, spiral, 500 points, batch 10) it starts the
real child process (``nnviz.session.child.serve`` over a spawned Pipe, as the window does), asks for a
100 x 100 boundary view, plays, and acknowledges every snapshot at once (a GUI that draws instantly).
Over a fixed time it reports: frames/s delivered, epochs/s trained, the median boundary side sent while
playing, the median and longest wait between two frames, and the cost of one full-size image measured in this process (``Trainer.boundary``). After a
Pause it checks that the still is the full requested size.

Usage: python benchmarks/bench_boundary.py [--seconds 6] [--nets 6x8,4x64,4x256,10x256,16x512] [--mistakes]
(``--mistakes``: the view asks for every point's class too, as "show mistakes" does.)
Others may share the machine: the header prints the CPU model and load average.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import time

import numpy as np

from nnviz.data.generators import generate
from nnviz.engine import ExperimentConfig
from nnviz.engine.threads import limit_blas_threads
from nnviz.engine.trainer import Trainer
from nnviz.session import messages as m
from nnviz.session.child import receive, serve

EXTENT = (-6.0, 6.0, -6.0, 6.0)
SIZE = 100


def config(layers: int, width: int) -> ExperimentConfig:
    c = ExperimentConfig()
    c.architecture.hidden_layers = [width] * layers
    c.architecture.activation = "tanh"
    c.optimizer.learning_rate = 0.03
    c.optimizer.batch_size = 10
    return c


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def image_cost(cfg: ExperimentConfig, points) -> float:
    """Median seconds of one full-size boundary image, measured in this process (one BLAS thread)."""
    t = Trainer(cfg, points)
    t.boundary(EXTENT, SIZE, SIZE)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        t.boundary(EXTENT, SIZE, SIZE)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def run_child(cfg: ExperimentConfig, points, seconds: float, mistakes: bool = False) -> dict:
    ctx = mp.get_context("spawn")
    parent_end, child_end = ctx.Pipe(duplex=True)
    proc = ctx.Process(target=serve, args=(child_end, os.getpid()), daemon=True)
    proc.start()
    child_end.close()
    try:
        parent_end.send(m.SetConfig(cfg))
        parent_end.send(m.SetPoints(points, 1))
        parent_end.send(m.SetView(EXTENT, SIZE, SIZE, predictions=mistakes))
        parent_end.send(m.Play())
        frames, sizes, first, stamps = 0, [], None, []
        end = None
        while True:
            if not parent_end.poll(120.0):
                raise RuntimeError("the child sent nothing for 120 s")
            snap = receive(parent_end)
            if not isinstance(snap, m.Snapshot):
                continue
            parent_end.send(m.Ack())
            now = time.perf_counter()
            if not snap.playing:
                continue
            if first is None:   # count from the first playing frame (after the child's start-up)
                first = (now, snap.epoch)
                end = now + seconds
                continue
            frames += 1
            stamps.append(now)
            if snap.boundary is not None:
                sizes.append(snap.boundary.shape[1])
            if now >= end:
                last = (now, snap.epoch)
                break
        parent_end.send(m.Pause(seq=1))
        still = None
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and parent_end.poll(30):
            snap = receive(parent_end)
            if isinstance(snap, m.Snapshot):
                parent_end.send(m.Ack())
                if not snap.playing and snap.transport_seq == 1:
                    still = snap.boundary.shape[:2] if snap.boundary is not None else None
                    break
        parent_end.send(m.Shutdown())
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
    dt = last[0] - first[0]
    gaps = np.diff([first[0]] + stamps) * 1e3
    return {"fps": frames / dt, "eps": (last[1] - first[1]) / dt, "gap50": float(np.median(gaps)),
            "gapmax": float(gaps.max()),
            "side": int(np.median(sizes)) if sizes else 0, "still": still}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--nets", default="6x8,4x64,4x256,10x256,16x512")
    ap.add_argument("--mistakes", action="store_true",
                    help="'show mistakes' on: every frame also classifies the 500 points")
    args = ap.parse_args()
    limit_blas_threads(1)
    print(f"# {cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
          f"(others may share the machine), {args.seconds:g} s per net, requested {SIZE}x{SIZE}"
          f"{', show mistakes on' if args.mistakes else ''}")
    points = generate("spiral", 500, 0.0, 0.5, seed=1)
    print(f"{'net':>8} {'image ms':>9} {'frames/s':>9} {'epochs/s':>9} {'side':>5} {'gap p50/max ms':>15} {'paused still':>13}")
    for spec in args.nets.split(","):
        layers, width = (int(v) for v in spec.split("x"))
        cfg = config(layers, width)
        cost = image_cost(cfg, points)
        r = run_child(cfg, points, args.seconds, args.mistakes)
        still = "x".join(map(str, r["still"])) if r["still"] else "-"
        print(f"{spec:>8} {cost * 1e3:9.1f} {r['fps']:9.1f} {r['eps']:9.1f} {r['side']:5d} {r['gap50']:7.0f}/{r['gapmax']:<7.0f} {still:>13}",
              flush=True)
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
