"""Recording: the writers (MP4/GIF, even sizes, frame counts), the recorder's wall-clock timing, and
``nnviz record`` end to end (the written files are decoded with PyAV)."""
import os
import subprocess
import sys

import numpy as np
import pytest

av = pytest.importorskip("av")

from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget  # noqa: E402

from nnviz.errors import NnvizError  # noqa: E402
from nnviz.ui import recorder as rec  # noqa: E402
from nnviz.ui.recorder import Recorder, VideoWriter, bgra_to_pal8, grab_image, image_to_bgra, GIF_PALETTE  # noqa: E402


def decode(path):
    """(frames, width, height, duration in seconds, last frame as RGB) of a video file."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        duration = container.duration / 1e6 if container.duration else None
        return len(frames), stream.width, stream.height, duration, frames[-1].to_ndarray(format="rgb24")


def _frame(i, w, h):
    f = np.zeros((h, w, 4), np.uint8)
    f[..., 2] = 200                       # red background (BGRA)
    f[10:40, (5 * i) % (w - 30):(5 * i) % (w - 30) + 30, 1] = 255
    return f


def test_mp4_pads_odd_sizes_and_counts_repeats(tmp_path):
    path = str(tmp_path / "odd.mp4")
    writer = VideoWriter(path, 321, 241, 30)
    for i in range(20):
        writer.write(_frame(i, 321, 241), repeat=2 if i == 5 else 1)
    writer.write(None, repeat=3)          # the previous picture again
    writer.close()
    n, w, h, duration, last = decode(path)
    assert (w, h) == (322, 242)           # yuv420p needs even sizes: padded, not refused
    assert n == 24 == writer.frames_in
    assert duration == pytest.approx(24 / 30, rel=0.1)
    assert last[100, 100, 0] > 150 and last[100, 100, 1] < 80   # still red


def test_gif_keeps_size_and_at_most_15_fps(tmp_path):
    for fps, expected in ((15, 30), (30, 15), (60, 8)):
        path = str(tmp_path / f"g{fps}.gif")
        writer = VideoWriter(path, 161, 121, fps)
        for i in range(30):
            writer.write(_frame(i, 161, 121))
        writer.close()
        n, w, h, duration, last = decode(path)
        assert (w, h) == (161, 121) and n == expected
        assert duration == pytest.approx(30 / fps, rel=0.1)   # same length as the MP4 would be
        assert last[50:110, 60:150, 0].mean() == pytest.approx(200, abs=10)   # dithered, right on average
        assert last[50:110, 60:150, 1:].max() == 0


def test_gif_palette_maps_pure_colours_exactly():
    frame = np.zeros((4, 8, 4), np.uint8)
    frame[:, :4] = (255, 255, 255, 255)   # white
    frame[:, 4:, 2] = 255                 # red
    idx = bgra_to_pal8(frame)
    assert tuple(GIF_PALETTE[idx[0, 0]][1:]) == (255, 255, 255)
    assert tuple(GIF_PALETTE[idx[0, 5]][1:]) == (255, 0, 0)


class _FakeClock:
    def __init__(self):
        self.ns = 0

    def start(self):
        self.ns = 0

    def nsecsElapsed(self):  # noqa: N802 - Qt's name
        return self.ns


def test_late_ticks_repeat_and_early_ticks_wait(qtbot, tmp_path, monkeypatch):
    label = QLabel("hello")
    label.resize(200, 100)
    qtbot.addWidget(label)
    r = Recorder()
    clock = _FakeClock()
    r._clock = clock
    r.start(label, str(tmp_path / "t.mp4"), fps=30, timer=False)
    r._tick()                              # t = 0: frame 0
    assert (r.frames, r.grabs) == (1, 1)
    clock.ns = 20_000_000                  # 20 ms: frame 1 is not due yet
    r._tick()
    assert r.frames == 1
    clock.ns = 200_000_000                 # the GUI was busy for 200 ms: frames 1..6 are due
    r._tick()
    assert (r.frames, r.grabs) == (7, 2)   # one grab, repeated
    monkeypatch.setattr(r._encoder, "pending_frames", 10_000)   # the encoder is far behind
    clock.ns = 300_000_000
    r._tick()
    assert (r.frames, r.grabs) == (10, 2)  # the rate holds without grabbing
    monkeypatch.undo()
    r.stop()
    assert r.wait(30) and r.error is None
    n, w, h, duration, _ = decode(str(tmp_path / "t.mp4"))
    assert n == r.frames == 10 and (w, h) == (200, 100)
    assert duration == pytest.approx(10 / 30, rel=0.1)


def test_recorder_with_timer_signals_and_wall_clock_length(qtbot, tmp_path):
    label = QLabel("recording")
    label.resize(161, 91)
    label.show()
    qtbot.addWidget(label)
    r = Recorder()
    states, elapsed, done = [], [], []
    r.recording_changed.connect(states.append)
    r.elapsed_changed.connect(elapsed.append)
    r.finished.connect(done.append)
    mp4, gif = str(tmp_path / "t.mp4"), str(tmp_path / "t.gif")
    r.start(label, mp4, fps=30, gif_path=gif)
    assert r.recording and states == [True]
    with pytest.raises(NnvizError):
        r.start(label, mp4)
    qtbot.waitUntil(lambda: r.frames >= 12, timeout=5000)
    r.stop()
    assert states == [True, False] and elapsed and elapsed[-1] == pytest.approx(r.frames / 30)
    qtbot.waitUntil(lambda: bool(done), timeout=10000)
    assert done == [f"{mp4}, {gif}"]
    n, w, h, duration, _ = decode(mp4)
    assert n == r.frames and (w, h) == (162, 92)
    assert duration == pytest.approx(r.frames / 30, rel=0.1)
    n, w, h, _, _ = decode(gif)
    assert n == (r.frames + 1) // 2 and (w, h) == (161, 91)   # GIFs: at most 15 fps


def test_start_refuses_bad_rate_and_missing_folder(qtbot, tmp_path):
    label = QLabel("x")
    qtbot.addWidget(label)
    r = Recorder()
    with pytest.raises(NnvizError, match="frame rate"):
        r.start(label, str(tmp_path / "a.mp4"), fps=24)
    with pytest.raises(NnvizError, match="does not exist"):
        r.start(label, str(tmp_path / "missing" / "a.mp4"))
    assert not r.recording


def test_frames_come_from_the_backing_store_and_excluded_widgets_are_blanked(qtbot, tmp_path):
    top = QWidget()
    top.setStyleSheet("QWidget { background: rgb(0, 0, 255); } QPushButton { background: rgb(255, 0, 0); }")
    layout = QVBoxLayout(top)
    inner = QLabel("recorded")
    inner.setMinimumSize(200, 120)
    button = QPushButton("REC 0:01")
    button.setMinimumSize(120, 40)
    layout.addWidget(inner)
    layout.addWidget(button)
    top.resize(300, 240)
    top.show()
    qtbot.addWidget(top)
    qtbot.waitExposed(top)
    # the backing-store copy shows what grab() renders (for the window and for a child)
    for w in (top, inner):
        assert np.array_equal(image_to_bgra(grab_image(w)), image_to_bgra(w.grab().toImage()))
    r = Recorder()
    r.start(top, str(tmp_path / "x.mp4"), fps=15, timer=False, exclude=[button])
    r.capture(3)
    r.stop()
    assert r.wait(30) and r.error is None
    *_, last = decode(str(tmp_path / "x.mp4"))
    centre = button.geometry().center()
    pixel = last[centre.y(), centre.x()]
    assert pixel[2] > 200 and pixel[0] < 60          # blue (the parent's background), not the red button


def _record_command():
    """`nnviz record` once the lead has wired it into nnviz.cli; until then the module's own main."""
    from nnviz import cli
    if "record" in getattr(cli, "COMMANDS", ()):
        return [sys.executable, "-m", "nnviz", "record"]
    return [sys.executable, "-m", "nnviz.record_cli", "record"]


def test_nnviz_record_writes_exact_mp4_and_gif(tmp_path):
    out = tmp_path / "demo.mp4"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path),
               XDG_DATA_HOME=str(tmp_path))
    result = subprocess.run(
        _record_command() + ["circle", "--seconds", "1", "--fps", "15", "--size", "1025x769", "--speed", "200",
                             "--out", str(out), "--gif"],
        capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and "15 frames" in result.stdout
    assert "propagateSizeHints" not in result.stderr   # issue 6 item 14, for record too
    n, w, h, duration, last = decode(str(out))
    assert n == 15 and (w, h) == (1026, 770)           # odd size padded for H.264
    assert duration == pytest.approx(1.0, rel=0.1)
    assert last.std() > 10                              # a picture, not a blank frame
    n, w, h, duration, _ = decode(str(tmp_path / "demo.gif"))
    assert n == 15 and (w, h) == (1025, 769)
    assert duration == pytest.approx(1.0, rel=0.1)


def test_nnviz_record_user_errors(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    for args, message in ((["circle", "--out", str(tmp_path / "x.avi")], "must end in .mp4"),
                          (["no-such-lesson", "--out", str(tmp_path / "x.mp4")], "no-such-lesson"),
                          (["circle", "--out", str(tmp_path / "no" / "x.mp4")], "does not exist")):
        result = subprocess.run(_record_command() + args + ["--seconds", "1"], capture_output=True, text=True,
                                env=env, timeout=60)
        assert result.returncode == 1 and "nnviz: error:" in result.stderr and message in result.stderr
        assert "Traceback" not in result.stderr
    result = subprocess.run(_record_command() + ["--fps", "24", "--out", "x.mp4"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 2


def test_fps_choices_are_the_documented_ones():
    assert rec.FPS_CHOICES == (15, 30, 60)
