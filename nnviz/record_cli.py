"""``nnviz record LESSON|FILE --seconds 20 --out demo.mp4``: a demo video, made headless.

The real main window (off-screen, ``QT_QPA_PLATFORM=offscreen`` unless a platform is set) trains the
experiment in its training process, as in the app, and is recorded for ``--seconds`` at ``--fps``:
exactly ``seconds * fps`` frames. Frame *i* is grabbed at ``i / fps`` seconds of wall-clock time after
the first drawn frame (after letting the window process what arrived), so training in the video runs at
the speed it ran (``--speed`` epochs per second, default the lesson's own speed). On a machine too slow
to grab a frame in ``1 / fps`` the frames are grabbed as fast as possible: the file still has exactly
``seconds * fps`` frames at ``fps``, training just looks faster than it ran.

This module imports no Qt at the top level (``nnviz --help`` must not need it).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time

from .errors import NnvizError

DEFAULT_SIZE = (1280, 720)
MAX_SECONDS = 3600
FIRST_FRAME_TIMEOUT = 30.0


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,6})\s*[xX×]\s*(\d{1,6})\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels (e.g. 1280x720), got {text!r}")
    w, h = int(match.group(1)), int(match.group(2))
    if not (320 <= w <= 7680 and 240 <= h <= 4320):
        raise argparse.ArgumentTypeError(f"the size must be between 320x240 and 7680x4320, got {w}x{h}")
    return w, h


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"seconds must be more than 0 and at most {MAX_SECONDS}, got {text}")
    return value


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected epochs per second, got {text!r}") from None
    if not 0 <= value <= 1e7:
        raise argparse.ArgumentTypeError(f"the speed must be from 0 (as fast as possible) to 1e7, got {text}")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``record`` to ``nnviz``'s sub-commands (``build_parser()``'s ``add_subparsers`` object)."""
    p = subparsers.add_parser(
        "record", help="train an experiment in the app off-screen and record a video (MP4, GIF)",
        description="Play a lesson or an experiment file in the app off-screen and record the window as an "
                    "H.264 MP4 (and a GIF with --gif): exactly SECONDS x FPS frames. Training runs at "
                    "--speed epochs per second (default: the lesson's own speed; 0 = as fast as possible).")
    p.add_argument("experiment", nargs="?", metavar="LESSON|FILE",
                   help="a lesson name (see `nnviz presets`) or a .nnviz file; default: the opening lesson")
    p.add_argument("--seconds", type=_seconds, default=20.0, metavar="S", help="length of the video (default 20)")
    p.add_argument("--out", required=True, metavar="FILE",
                   help="the video to write: .mp4 (H.264), or .gif for a GIF only")
    p.add_argument("--fps", type=int, choices=(15, 30, 60), default=30, help="frames per second (default 30)")
    p.add_argument("--size", type=_size, default=DEFAULT_SIZE, metavar="WxH",
                   help="window size in pixels (default 1280x720; odd sizes are padded by one pixel in MP4)")
    p.add_argument("--speed", type=_speed, metavar="EPOCHS_PER_S",
                   help="training speed cap (default: the lesson's; 0 = as fast as possible)")
    p.add_argument("--gif", action="store_true", help="also write a GIF next to the MP4 (same name, .gif)")
    p.add_argument("--canvas", action="store_true", help="record only the canvas, not the whole window")
    return p


def run(args) -> int:
    """Run ``nnviz record`` with parsed ``args``. Raises NnvizError for a user error (the CLI prints it)."""
    out = args.out
    gif_path = None
    if args.gif and not out.lower().endswith(".gif"):
        gif_path = os.path.splitext(out)[0] + ".gif"
    if not out.lower().endswith((".mp4", ".gif")):
        raise NnvizError(f"{out}: the video must end in .mp4 (or .gif)")
    return record(args.experiment, out, seconds=args.seconds, fps=args.fps, size=args.size,
                  speed=args.speed, gif_path=gif_path, canvas_only=getattr(args, "canvas", False))


def _resolve(text: str | None):
    """(Experiment, path or None, Preset or None): the same resolution as every other command."""
    from .cli import resolve_experiment
    r = resolve_experiment(text)
    return r.experiment, r.path, r.preset


def _set_speed(window, speed: float) -> None:
    combo = window.speed_combo
    index = combo.findData(speed if speed != int(speed) else int(speed))
    if index < 0:
        combo.addItem(f"{speed:g} epochs/s", speed)
        index = combo.count() - 1
    if combo.currentIndex() == index:
        combo.currentIndexChanged.emit(index)
    else:
        combo.setCurrentIndex(index)


def record(experiment: str | None, out: str, seconds: float = 20.0, fps: int = 30,
           size: tuple[int, int] = DEFAULT_SIZE, speed: float | None = None, gif_path: str | None = None,
           canvas_only: bool = False, quiet: bool = False) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    from .ui.app import make_app
    from .ui.main_window import MainWindow
    from .ui.recorder import Recorder
    from .ui.session_client import ProcessSessionClient

    for path in [out] + ([gif_path] if gif_path else []):
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise NnvizError(f"{path}: the folder {folder} does not exist")
    exp, path, preset = _resolve(experiment)
    if speed is None:
        speed = float(getattr(preset, "speed", 0) or 0) if preset is not None else 0.0
    n_frames = max(1, round(seconds * fps))
    w, h = size
    app = make_app()
    with tempfile.TemporaryDirectory() as tmp:
        # a throw-away settings file: a recording must not depend on (or change) the user's layout
        settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.IniFormat)
        client = ProcessSessionClient()
        window = MainWindow(client, settings=settings, experiment=exp, path=path)
        drawn = []
        window.frame_drawn.connect(drawn.append)
        recorder = Recorder()
        try:
            if preset is not None:
                window.show_generator_settings(preset.data)
            window.resize(w, h)
            from .ui.screenshot import show_without_size_hints
            show_without_size_hints(window)   # no "propagateSizeHints()" warnings offscreen
            app.processEvents()
            actual = (window.width(), window.height())
            if actual != (w, h) and not quiet:
                print(f"nnviz: note: the window cannot be {w}x{h}; recording it at {actual[0]}x{actual[1]}",
                      file=sys.stderr)
            w, h = actual
            window.canvas.fit_view()
            _set_speed(window, speed)
            window.play()
            deadline = time.monotonic() + FIRST_FRAME_TIMEOUT
            while not drawn:   # the first frame with a boundary, so the video does not open blank
                if time.monotonic() > deadline or not client.alive:
                    raise NnvizError("the training process did not send a first frame")
                app.processEvents(QEventLoop.AllEvents, 10)
                time.sleep(0.005)
            target = window.canvas if canvas_only else window
            recorder.start(target, out, fps, gif_path, timer=False)
            start = time.perf_counter()
            for i in range(n_frames):
                due = start + i / fps
                while True:
                    app.processEvents(QEventLoop.AllEvents, 5)
                    left = due - time.perf_counter()
                    if left <= 0:
                        break
                    time.sleep(min(left, 0.004))
                recorder.capture()
            wall = time.perf_counter() - start
            w, h = recorder.frame_size
            recorder.stop()
            epoch = window.last_snapshot.epoch if window.last_snapshot is not None else 0
            window.pause()
            if not recorder.wait(600):
                raise NnvizError("the video encoder did not finish")
            if recorder.error:
                raise NnvizError(f"{out}: cannot write the video ({recorder.error})")
        finally:
            recorder.stop()
            window.forget_unsaved()
            window.close()
            client.shutdown()
            QApplication.processEvents()
    if not quiet:
        files = out + (f" and {gif_path}" if gif_path else "")
        late = f"; grabbing took {wall:.1f} s, training ran faster than shown" if wall > 1.1 * n_frames / fps else ""
        print(f"wrote {files} ({n_frames} frames, {w}x{h}, {fps} fps, {n_frames / fps:g} s, "
              f"epoch {epoch}{late})")
    return 0


def main(argv=None) -> int:   # `python -m nnviz.record_cli ...` until the lead wires it into nnviz.cli
    parser = argparse.ArgumentParser(prog="nnviz")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return run(args)
    except NnvizError as e:
        print(f"nnviz: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
