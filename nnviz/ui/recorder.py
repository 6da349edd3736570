"""Record a widget (the whole window or the canvas) to an MP4 (H.264) and/or a GIF.

Frames come from the window itself, never from a screen-capture tool: a copy of the window's backing store
(the image Qt has just painted the window into; ~1 ms for a 1440x900 window), cropped to the recorded
widget. Where a platform's backing store is not an image (or not readable) the recorder falls back to
``QWidget.grab()``, which repaints the whole widget tree into a pixmap (~100 ms for the main window with its
plots: the stall the backing-store copy avoids). Other windows never appear, and widgets passed as
``exclude`` (the recording indicator, the Record button) are blanked with their parent's background
colour, so the video never shows that it was being recorded.

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
its only per-frame cost is the copy of the picture (see benchmarks/bench_record.py).

- MP4: H.264 (libx264 ``ultrafast``, CRF 20), yuv420p (plays everywhere), constant frame rate, ``+faststart``. yuv420p needs even
  sizes: an odd width or height is padded by one pixel (the edge repeated), never refused.
- GIF: a fixed 252-colour palette (6 x 7 x 6 levels) with ordered dithering, at most ``GIF_MAX_FPS`` (15)
  frames per second (GIF delays are whole 1/100 s, browsers slow down delays under 2/100 s, and GIFs
  are for slides and web pages: a 30 fps recording keeps every second frame in the GIF, 60 fps every
  fourth). The GIF's duration equals the MP4's.

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
from PySide6.QtCore import QElapsedTimer, QObject, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import QWidget

from ..errors import NnvizError

FPS_CHOICES = (15, 30, 60)
GIF_MAX_FPS = 15   # GIFs for slides and web pages: smaller files, half the encoding work
MAX_BACKLOG_SECONDS = 2.0     # frames waiting for the encoder before the recorder stops grabbing new ones
ELAPSED_SIGNAL_SECONDS = 0.25
# ultrafast: measured on 2 busy cores while training as fast as possible (benchmarks/bench_record.py, A/B
# runs), veryfast needed more CPU than was left: GUI gaps p99 ~170 ms instead of ~65 ms and the encoder fell
# behind (half the frames repeated). ultrafast keeps up at 1440x900, 30 fps; files are ~3x larger (~15 MB
# a minute at 1440x900), still small for a demo.
H264_OPTIONS = {"preset": "ultrafast", "crf": "20", "movflags": "+faststart"}
# Nice value for the encoder thread (and x264's threads, which inherit it). 0: measured on 2 busy cores
# (benchmarks/bench_record.py), a niced encoder did not shorten the GUI's stalls but fell seconds behind,
# so the video repeated more pictures. NNVIZ_ENCODER_NICE=10 tries it again.
ENCODER_NICE = int(os.environ.get("NNVIZ_ENCODER_NICE", "0") or 0)


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


def _channel_luts() -> list[np.ndarray]:
    """Per channel (R, G, B): palette-index contribution for (Bayer rank k, value v) at ``k * 256 + v``."""
    offsets = np.sort(_BAYER4.ravel())[:, None]        # row k: the k-th smallest threshold (= rank k)
    values = np.arange(256)[None, :]
    luts = []
    for levels, weight in ((_R, _G * _B), (_G, _B), (_B, 1)):
        step = 255 / (levels - 1)
        index = ((values * 32 + (offsets * step).astype(np.int32)) * (levels - 1) + 16 * 255) // (32 * 255)
        luts.append((np.clip(index, 0, levels - 1) * weight).astype(np.uint8).ravel())
    return luts


_LUTS = _channel_luts()
_RANKS = np.argsort(np.argsort(_BAYER4.ravel())).reshape(4, 4).astype(np.uint16)
_rank_cache: dict = {}


def bgra_to_pal8(frame: np.ndarray) -> np.ndarray:
    """Palette indices (h, w) of a BGRA frame for :data:`GIF_PALETTE`, with 4x4 ordered dithering
    (smooth gradients such as the decision boundary's come out as a fine pattern, not bands).

    Three table look-ups per pixel (~20 ms for 1440x900)."""
    h, w = frame.shape[:2]
    base = _rank_cache.get((h, w))
    if base is None:
        base = np.tile(_RANKS, ((h + 3) // 4, (w + 3) // 4))[:h, :w] * np.uint16(256)
        _rank_cache.clear()
        _rank_cache[(h, w)] = base
    out = np.take(_LUTS[0], base + frame[..., 2])
    out += np.take(_LUTS[1], base + frame[..., 1])
    out += np.take(_LUTS[2], base + frame[..., 0])
    return out


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


def _lower_thread_priority() -> None:
    """Nice this thread (Linux: per thread; x264's worker threads, made by it, inherit it): when the CPU is
    short, the GUI thread and the training process come first and the encoder catches up afterwards."""
    if ENCODER_NICE <= 0:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ENCODER_NICE)
    except (AttributeError, OSError):   # not Linux, or not allowed: encode at normal priority
        pass


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

    def put(self, image, repeat: int, blank=()) -> None:
        with self._lock:
            self.pending_frames += repeat
        self.queue.put((image, repeat, blank))

    def finish(self) -> None:
        self.queue.put((self._END, 0, ()))

    def run(self) -> None:
        _lower_thread_priority()
        try:
            while True:
                image, repeat, blank = self.queue.get()
                if image is self._END:
                    break
                if self.error is None:
                    try:
                        self._write(image, repeat, blank)
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

    def _write(self, image, repeat: int, blank=()) -> None:
        frame = None
        if image is not None:
            frame = image_to_bgra(image) if isinstance(image, QImage) else image
            for x, y, w, h, bgra in blank:   # excluded widgets: their parent's background colour
                frame[max(0, y):max(0, y + h), max(0, x):max(0, x + w)] = bgra
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
              timer: bool = True, exclude=()) -> None:
        """Start recording ``widget`` to ``path`` (.mp4 or .gif) and, if given, also to ``gif_path``.

        ``exclude``: widgets inside ``widget`` to blank in every frame (the recording indicator, the
        Record button). ``timer=False``: no timer; call ``capture()`` for each frame (headless).

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
        self._exclude = list(exclude)
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
        image = grab_image(self._widget)
        self.frame_size = (image.width(), image.height())
        self._encoder.put(image, repeat, self._blank_rects(image))
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
    _exclude: list = []

    def _blank_rects(self, image: QImage) -> list:
        rects = []
        scale = image.devicePixelRatio() or 1.0
        for w in self._exclude:
            try:
                if not w.isVisible() or not self._widget.isAncestorOf(w):
                    continue
                top_left = w.mapTo(self._widget, QPoint(0, 0))
                colour = (w.parentWidget() or w).palette().color(QPalette.Window)
            except RuntimeError:   # the widget was deleted meanwhile
                continue
            rects.append((int(top_left.x() * scale), int(top_left.y() * scale), int(w.width() * scale) + 1,
                          int(w.height() * scale) + 1,
                          np.array([colour.blue(), colour.green(), colour.red(), 255], np.uint8)))
        return rects

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


def grab_image(widget: QWidget) -> QImage:
    """What ``widget`` shows now, as a QImage (a copy): from its window's backing store, cropped to the
    widget, where the platform keeps it as an image (xcb, wayland-shm, offscreen: ~1 ms), else
    ``widget.grab()`` (a full repaint into a pixmap)."""
    top = widget.window()
    store = top.backingStore() if top.isVisible() else None
    device = store.paintDevice() if store is not None else None
    if isinstance(device, QImage) and not device.isNull():
        scale = device.devicePixelRatio() or 1.0
        origin = widget.mapTo(top, QPoint(0, 0)) if widget is not top else QPoint(0, 0)
        rect = QRect(round(origin.x() * scale), round(origin.y() * scale),
                     round(widget.width() * scale), round(widget.height() * scale))
        if rect.isValid() and device.rect().contains(rect):
            return device.copy(rect)
    return widget.grab().toImage()


def default_video_path(folder: str, stem: str = "nnviz") -> str:
    """``folder/stem-YYYYmmdd-HHMMSS.mp4`` (the window's Record action uses it)."""
    return os.path.join(folder, f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.mp4")
