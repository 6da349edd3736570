"""Record a widget (the whole window or the canvas) to an MP4 (H.264) and/or a GIF.

Frames come from the widget itself (``QWidget.grab()``), never from a screen-capture tool, so nothing
outside the widget (another window, the recording indicator in the status bar if it is outside the
recorded widget) ends up in the video.

Timing. A ``QTimer`` ticks at the frame rate; each tick looks at the wall clock and works out how many
frames the video should hold by now (``floor(elapsed * fps) + 1``). A late tick (the GUI was busy)
grabs once and repeats that picture for the frames it missed; an early tick does nothing. So the video
always runs at a steady rate and its length equals the wall-clock time recorded, however fast or slow
training and drawing are. If the encoder falls behind (more than ``MAX_BACKLOG_SECONDS`` of frames
waiting) the tick repeats the previous picture without grabbing a new one: the rate holds, the GUI is
spared, and the picture catches up once the encoder does.

Encoding runs in a worker thread (``threading.Thread``) with PyAV (FFmpeg's libx264 and GIF encoder in
the ``av`` wheel; no system ffmpeg). PyAV releases the GIL while FFmpeg converts and encodes, and the
per-frame NumPy work (padding, GIF palette mapping) is vectorised, so the GUI thread keeps running:
its only per-frame cost is the ``grab()`` itself (see benchmarks/bench_record.py).

- MP4: H.264, yuv420p (plays everywhere), constant frame rate, ``+faststart``. yuv420p needs even
  sizes: an odd width or height is padded by one pixel (the edge repeated), never refused.
- GIF: a fixed 252-colour palette (6 x 7 x 6 levels), at most ``GIF_MAX_FPS`` frames per second (GIF
  delays are whole 1/100 s and browsers slow down delays under 2/100 s: a 60 fps recording keeps every
  second frame in the GIF). The GIF's duration equals the MP4's.

If the widget changes size while recording, every frame is cropped or padded to the first frame's
size (a video has one size).

Headless use (``nnviz record``): ``start(..., timer=False)`` and call ``capture()`` once per frame.
"""
from __future__ import annotations

import math
import os
import queue
import threading
import time
from fractions import Fraction

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from ..errors import NnvizError

FPS_CHOICES = (15, 30, 60)
GIF_MAX_FPS = 30
MAX_BACKLOG_SECONDS = 2.0     # frames waiting for the encoder before the recorder stops grabbing new ones
ELAPSED_SIGNAL_SECONDS = 0.25
H264_OPTIONS = {"preset": "veryfast", "crf": "20", "movflags": "+faststart"}


def _require_av():
    try:
        import av  # noqa: F401
    except ImportError as e:   # pragma: no cover - av is a dependency; a trimmed install may lack it
        raise NnvizError(f"recording needs PyAV (pip install av): {e}") from None
    return av


# -- frames -------------------------------------------------------------------------------------------------

def image_to_bgra(image: QImage) -> np.ndarray:
    """A copy of ``image`` as an (h, w, 4) uint8 array in B, G, R, A byte order (QImage's RGB32)."""
    if image.format() not in (QImage.Format_RGB32, QImage.Format_ARGB32, QImage.Format_ARGB32_Premultiplied):
        image = image.convertToFormat(QImage.Format_RGB32)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buf[:, : 4 * w].reshape(h, w, 4).copy()


def fit_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Crop or pad (repeating the edge) ``frame`` to exactly ``height`` x ``width``."""
    h, w = frame.shape[:2]
    if h > height or w > width:
        frame = frame[:height, :width]
        h, w = frame.shape[:2]
    if h < height or w < width:
        frame = np.pad(frame, ((0, height - h), (0, width - w), (0, 0)), mode="edge")
    return frame


def even(n: int) -> int:
    return n + (n & 1)


# a fixed palette for GIFs: 6 red x 7 green x 6 blue levels (the eye sees green best), index r*42 + g*6 + b
_R, _G, _B = 6, 7, 6


def _gif_palette() -> np.ndarray:
    r, g, b = np.meshgrid(np.arange(_R), np.arange(_G), np.arange(_B), indexing="ij")
    pal = np.zeros((256, 4), np.uint8)   # ARGB, as PyAV wants it
    n = _R * _G * _B
    pal[:n, 0] = 255
    pal[:n, 1] = np.rint(r.ravel() * 255 / (_R - 1))
    pal[:n, 2] = np.rint(g.ravel() * 255 / (_G - 1))
    pal[:n, 3] = np.rint(b.ravel() * 255 / (_B - 1))
    pal[n:, 0] = 255
    return pal


GIF_PALETTE = _gif_palette()


# 4x4 Bayer thresholds as offsets of (2m - 15) / 32 of a palette step: within +-15/32, so a colour that is
# in the palette (white, pure red, ...) stays exact and gradients dither instead of banding
_BAYER4 = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.int32) * 2 - 15


def bgra_to_pal8(frame: np.ndarray) -> np.ndarray:
    """Palette indices (h, w) of a BGRA frame for :data:`GIF_PALETTE`, with 4x4 ordered dithering
    (smooth gradients such as the decision boundary's come out as a fine pattern, not bands)."""
    h, w = frame.shape[:2]
    dither = np.tile(_BAYER4, ((h + 3) // 4, (w + 3) // 4))[:h, :w]
    out = np.zeros((h, w), np.int32)
    for channel, levels, weight in ((2, _R, _G * _B), (1, _G, _B), (0, _B, 1)):
        step = 255 / (levels - 1)
        value32 = frame[..., channel].astype(np.int32) * 32 + (dither * step).astype(np.int32)
        index = (value32 * (levels - 1) + 16 * 255) // (32 * 255)
        out += np.clip(index, 0, levels - 1) * weight
    return out.astype(np.uint8)


# -- writers (used by one thread at a time) ------------------------------------------------------------------

class VideoWriter:
    """Writes BGRA frames of one size to ``path``: H.264 MP4, or GIF if the path ends in .gif."""

    def __init__(self, path: str, width: int, height: int, fps: int):
        av = _require_av()
        self.path = path
        self.gif = path.lower().endswith(".gif")
        self.fps = fps
        self.width, self.height = (width, height) if self.gif else (even(width), even(height))
        # a GIF keeps every `step`-th frame; its frame times stay those of the full-rate video
        self.step = max(1, math.ceil(fps / GIF_MAX_FPS)) if self.gif else 1
        self.frames_in = 0     # frames offered (the video's length in frames at `fps`)
        self.frames_out = 0    # frames encoded
        self._container = av.open(path, mode="w", format="gif" if self.gif else "mp4",
                                  options={} if self.gif else {"movflags": "+faststart"})
        try:
            if self.gif:
                stream = self._container.add_stream("gif", rate=Fraction(fps, self.step))
                stream.pix_fmt = "pal8"
            else:
                stream = self._container.add_stream("libx264", rate=fps)
                stream.pix_fmt = "yuv420p"
                stream.options = {k: v for k, v in H264_OPTIONS.items() if k != "movflags"}
            stream.width, stream.height = self.width, self.height
            stream.codec_context.time_base = Fraction(self.step, fps)
        except Exception:
            self._container.close()
            raise
        self._stream = stream
        self._last = None   # the last av.VideoFrame, for repeats

    def write(self, frame: np.ndarray | None, repeat: int = 1) -> None:
        """Append ``frame`` (or the previous one if None) ``repeat`` times."""
        import av
        if frame is not None:
            frame = fit_frame(frame, self.width, self.height)
            if self.gif:
                self._last = av.VideoFrame.from_ndarray((bgra_to_pal8(frame), GIF_PALETTE), format="pal8")
            else:
                self._last = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="bgra")
        if self._last is None:
            return
        for _ in range(repeat):
            if self.frames_in % self.step == 0:
                self._last.pts = self.frames_in // self.step
                for packet in self._stream.encode(self._last):
                    self._container.mux(packet)
                self.frames_out += 1
            self.frames_in += 1

    def close(self) -> None:
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        finally:
            self._container.close()


class _Encoder(threading.Thread):
    """Takes (frame or None, repeat) items from a queue and feeds every writer; ``_END`` finishes."""

    _END = object()

    def __init__(self, paths: list[str], fps: int):
        super().__init__(name="nnviz-recorder", daemon=True)
        self.paths, self.fps = paths, fps
        self.queue: queue.Queue = queue.Queue()
        self.writers: list[VideoWriter] = []
        self.error: str | None = None
        self.pending_frames = 0   # frames queued and not yet encoded (read by the GUI thread)
        self._lock = threading.Lock()
        self.on_done = None

    def put(self, image, repeat: int) -> None:
        with self._lock:
            self.pending_frames += repeat
        self.queue.put((image, repeat))

    def finish(self) -> None:
        self.queue.put((self._END, 0))

    def run(self) -> None:
        try:
            while True:
                image, repeat = self.queue.get()
                if image is self._END:
                    break
                if self.error is None:
                    try:
                        self._write(image, repeat)
                    except Exception as e:   # a full disk, an unwritable folder: report, drain the queue
                        self.error = f"{type(e).__name__}: {e}"
                with self._lock:
                    self.pending_frames -= repeat
        finally:
            for writer in self.writers:
                try:
                    writer.close()
                except Exception as e:
                    self.error = self.error or f"{writer.path}: {e}"
            if self.on_done is not None:
                self.on_done()

    def _write(self, image, repeat: int) -> None:
        frame = None
        if image is not None:
            frame = image_to_bgra(image) if isinstance(image, QImage) else image
            if not self.writers:   # the first frame fixes the size
                h, w = frame.shape[:2]
                for path in self.paths:
                    self.writers.append(VideoWriter(path, w, h, self.fps))
        for writer in self.writers:
            writer.write(frame, repeat)


# -- the recorder --------------------------------------------------------------------------------------------

class Recorder(QObject):
    """Records a widget while the event loop runs; see the module text.

    ``start(widget, path, fps, gif_path)`` / ``stop()``; ``recording_changed(bool)`` and
    ``elapsed_changed(float seconds)`` drive an indicator; ``finished(str)`` reports the written files
    (or ``failed(str)`` the reason) once the encoder has finished, after ``stop()``.
    """

    recording_changed = Signal(bool)
    elapsed_changed = Signal(float)
    finished = Signal(str)
    failed = Signal(str)
    _encoder_done = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._clock = QElapsedTimer()
        self._widget: QWidget | None = None
        self._encoder: _Encoder | None = None
        self._fps = 30
        self._frames = 0          # frames in the video so far
        self._grabs = 0           # of which freshly grabbed pictures
        self._last_elapsed_signal = -1.0
        self._paths: list[str] = []
        self.frame_size: tuple[int, int] | None = None   # of the last grab (the video pads it to even)
        self._encoder_done.connect(self._on_encoder_done, Qt.QueuedConnection)

    # -- state
    @property
    def recording(self) -> bool:
        return self._widget is not None

    @property
    def frames(self) -> int:
        """Frames in the video so far (grabbed or repeated)."""
        return self._frames

    @property
    def grabs(self) -> int:
        return self._grabs

    @property
    def fps(self) -> int:
        return self._fps

    def elapsed(self) -> float:
        return self._frames / self._fps if self.recording or self._frames else 0.0

    # -- control
    def start(self, widget: QWidget, path: str, fps: int = 30, gif_path: str | None = None,
              timer: bool = True) -> None:
        """Start recording ``widget`` to ``path`` (.mp4 or .gif) and, if given, also to ``gif_path``.

        Raises NnvizError for a bad frame rate, a folder that does not exist, or while recording.
        """
        if self.recording:
            raise NnvizError("already recording")
        if self._encoder is not None and self._encoder.is_alive():
            raise NnvizError("the previous recording is still being written")
        if fps not in FPS_CHOICES:
            raise NnvizError(f"the frame rate must be one of {', '.join(map(str, FPS_CHOICES))}, not {fps}")
        _require_av()
        paths = [path] + ([gif_path] if gif_path else [])
        for p in paths:
            folder = os.path.dirname(os.path.abspath(p))
            if not os.path.isdir(folder):
                raise NnvizError(f"{p}: the folder {folder} does not exist")
            if os.path.isdir(p):
                raise NnvizError(f"{p}: is a folder, not a file")
        self._widget, self._fps, self._paths = widget, fps, paths
        self._frames = self._grabs = 0
        self._last_elapsed_signal = -1.0
        self._encoder = _Encoder(paths, fps)
        self._encoder.on_done = self._encoder_done.emit
        self._encoder.start()
        self._clock.start()
        if timer:
            self._timer.start(max(1, int(1000 / fps)))
            self._tick()   # frame 0 now
        self.recording_changed.emit(True)

    def capture(self, repeat: int = 1) -> None:
        """Grab the widget now and append it ``repeat`` times (headless use: one call per frame)."""
        if not self.recording or repeat < 1:
            return
        image = self._widget.grab().toImage()
        self.frame_size = (image.width(), image.height())
        self._encoder.put(image, repeat)
        self._frames += repeat
        self._grabs += 1
        self._signal_elapsed()

    def stop(self) -> None:
        """Stop recording; the files are complete when ``finished`` (or ``failed``) is emitted."""
        if not self.recording:
            return
        if self._timer.isActive():
            self._tick()   # the frames due up to now
            self._timer.stop()
        self._widget = None
        self._encoder.finish()
        self.elapsed_changed.emit(self._frames / self._fps)
        self.recording_changed.emit(False)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the encoder has written the files (for scripts and tests). True if it has."""
        if self._encoder is None:
            return True
        self._encoder.join(timeout)
        return not self._encoder.is_alive()

    @property
    def error(self) -> str | None:
        return self._encoder.error if self._encoder is not None else None

    # -- internals
    def _tick(self) -> None:
        if self._widget is None:
            return
        due = int(self._clock.nsecsElapsed() * self._fps // 1_000_000_000) + 1
        missing = due - self._frames
        if missing <= 0:
            return
        if self._encoder.pending_frames > MAX_BACKLOG_SECONDS * self._fps and self._frames:
            self._encoder.put(None, missing)    # the encoder is behind: repeat the last picture
            self._frames += missing
        else:
            self.capture(missing)
        self._signal_elapsed()

    def _signal_elapsed(self) -> None:
        seconds = self._frames / self._fps
        if seconds - self._last_elapsed_signal >= ELAPSED_SIGNAL_SECONDS:
            self._last_elapsed_signal = seconds
            self.elapsed_changed.emit(seconds)

    def _on_encoder_done(self) -> None:
        encoder = self._encoder
        if encoder is None or encoder.is_alive() and encoder.queue.qsize():
            return
        if encoder.error:
            self.failed.emit(f"Recording failed: {encoder.error}")
        else:
            self.finished.emit(", ".join(self._paths))


def default_video_path(folder: str, stem: str = "nnviz") -> str:
    """``folder/stem-YYYYmmdd-HHMMSS.mp4`` (the window's Record action uses it)."""
    return os.path.join(folder, f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.mp4")
