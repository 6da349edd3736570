"""GUI stall while recording: event-loop gaps of a 2 ms QTimer in the main window, off-screen.

The real main window (1440x900) trains a lesson as fast as possible in its training process (so frames
arrive as fast as the window draws them), and a 2 ms QTimer measures how late each of its ticks comes:
the gap between ticks is how long the GUI thread was busy. Three phases of SECONDS each:
no recording, recording the whole window to MP4 at 30 fps, and MP4 + GIF at 30 fps. Also reported: the
frames written against the wall-clock length (the rate must hold) and the mean cost of one grab.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_record.py [--seconds 6] [--fps 30] [--lesson spiral]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--lesson", default="spiral")
    parser.add_argument("--size", default="1440x900")
    args = parser.parse_args()
    w, h = map(int, args.size.split("x"))

    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, Qt, QTimer

    from nnviz.presets import get_preset
    from nnviz.ui.app import make_app
    from nnviz.ui.main_window import MainWindow
    from nnviz.ui.recorder import Recorder
    from nnviz.ui.session_client import ProcessSessionClient

    app = make_app()
    tmp = tempfile.mkdtemp(prefix="nnviz-bench-record-")
    settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.IniFormat)
    client = ProcessSessionClient()
    preset = get_preset(args.lesson)
    window = MainWindow(client, settings=settings, experiment=preset.build())
    window.resize(w, h)
    window.show()
    index = window.speed_combo.findData(0)
    window.speed_combo.setCurrentIndex(max(0, index))   # as fast as possible
    drawn = []
    window.frame_drawn.connect(drawn.append)
    window.play()
    deadline = time.monotonic() + 30
    while len(drawn) < 5 and time.monotonic() < deadline:
        app.processEvents(QEventLoop.AllEvents, 20)

    clock = QElapsedTimer()
    gaps: list[float] = []
    last = [0]

    def tick():
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    probe = QTimer()
    probe.setTimerType(Qt.PreciseTimer)
    probe.setInterval(2)
    probe.timeout.connect(tick)

    # time the grabs (what the recorder does on the GUI thread for each new picture)
    from nnviz.ui import recorder as recorder_module
    grab_ms: list[float] = []
    real_grab = recorder_module.grab_image

    def timed_grab(widget):
        t = time.perf_counter()
        image = real_grab(widget)
        grab_ms.append((time.perf_counter() - t) * 1000)
        return image

    recorder_module.grab_image = timed_grab
    if os.environ.get("NNVIZ_BENCH_WIDGET_GRAB") == "1":   # compare: QWidget.grab(), a full repaint
        real_grab = lambda widget: widget.grab().toImage()  # noqa: E731

    def phase(name, paths):
        gaps.clear()
        grab_ms.clear()
        drawn.clear()
        recorder = Recorder()
        clock.start()
        last[0] = 0
        probe.start()
        t0 = time.perf_counter()
        if paths:
            recorder.start(window, paths[0], args.fps, paths[1] if len(paths) > 1 else None)
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            app.processEvents(QEventLoop.AllEvents | QEventLoop.WaitForMoreEvents, 50)
        if paths:
            recorder.stop()
        wall = time.perf_counter() - t0
        probe.stop()
        encode_wait = 0.0
        if paths:
            t = time.perf_counter()
            recorder.wait(120)
            encode_wait = time.perf_counter() - t
        g = np.array(gaps[1:])
        row = {
            "phase": name, "p50": np.percentile(g, 50), "p99": np.percentile(g, 99), "max": g.max(),
            "frames_drawn_per_s": len(drawn) / wall,
            "video_frames": recorder.frames, "expected": round(wall * args.fps) if paths else 0,
            "grabs": recorder.grabs, "grab_ms": float(np.mean(grab_ms)) if grab_ms else 0.0,
            "encode_tail_s": encode_wait, "error": recorder.error,
        }
        print(f"{row['phase']:<22} gap p50 {row['p50']:5.1f} ms  p99 {row['p99']:5.1f} ms  max {row['max']:6.1f} ms"
              f"  | window frames {row['frames_drawn_per_s']:5.1f}/s"
              + (f"  | video {row['video_frames']} frames for {row['expected']} due, {row['grabs']} grabs, "
                 f"grab {row['grab_ms']:.1f} ms, encoder done {row['encode_tail_s']:.2f} s after stop"
                 if paths else ""), flush=True)
        return row

    print(f"nnviz record benchmark: {args.lesson}, window {w}x{h}, {args.fps} fps, {args.seconds:g} s per phase, "
          f"training as fast as possible; {os.cpu_count()} CPUs")
    phase("no recording", [])
    phase(f"MP4 {args.fps} fps", [os.path.join(tmp, "a.mp4")])
    phase(f"MP4 + GIF {args.fps} fps", [os.path.join(tmp, "b.mp4"), os.path.join(tmp, "b.gif")])
    for name in ("a.mp4", "b.mp4", "b.gif"):
        path = os.path.join(tmp, name)
        if os.path.exists(path):
            print(f"  {name}: {os.path.getsize(path) / 1e6:.1f} MB")
    window.forget_unsaved()
    window.close()
    client.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
