"""Issue 10 item 5: a big network's boundary is drawn smaller while training plays, full size when paused.

The session times each boundary image with its injectable clock; here a fake boundary advances that
clock by a fixed cost per pixel, so the choice is deterministic (no sleeps, no real timing).
"""
import numpy as np
import pytest

from engine_data import circle
from nnviz.engine.config import ExperimentConfig
from nnviz.session import child
from nnviz.session import core
from nnviz.session import messages as m
from nnviz.session.core import TrainingSession

VIEW = m.SetView((-6.0, 6.0, -6.0, 6.0), 100, 80, predictions=False)


def session(pixel_seconds: float, layers=(8, 8)):
    now = [0.0]
    cfg = ExperimentConfig()
    cfg.architecture.hidden_layers = list(layers)
    s = TrainingSession(cfg, circle(n=40), clock=lambda: now[0])
    sizes = []

    def fake_boundary(extent, width=100, height=100):
        now[0] += pixel_seconds * width * height   # the image costs this much of the session's clock
        sizes.append((width, height))
        return np.full((height, width), 0.5, np.float32)

    s.trainer.boundary = fake_boundary
    s.handle(VIEW)
    return s, now, sizes


def play_frames(s, now, n):
    shapes = []
    for _ in range(n):
        now[0] += 0.05
        s.work(budget=0.0)
        shapes.append(s.snapshot().boundary.shape)
    return shapes


def test_cheap_network_is_drawn_full_size_while_playing():
    s, now, _ = session(pixel_seconds=1e-7)        # 8,000 pixels: 0.8 ms
    s.handle(m.Play())
    assert play_frames(s, now, 10) == [(80, 100)] * 10
    assert not s.boundary_reduced


def test_dear_network_is_drawn_smaller_while_playing_within_the_budget():
    s, now, _ = session(pixel_seconds=20e-6)       # full size would take 160 ms a frame
    s.snapshot()                                   # a still first: it measures the cost (full size)
    s.handle(m.Play())
    shapes = play_frames(s, now, 10)
    assert all(h < 80 and w < 100 for h, w in shapes)
    for h, w in shapes:
        assert 20e-6 * h * w <= core.PLAYING_BOUNDARY_SECONDS
        assert abs(w / h - 100 / 80) < 0.2          # the view's aspect kept
    # the biggest size that fits, not needlessly small: one step up would not
    h, w = shapes[-1]
    assert 20e-6 * (h / core.BOUNDARY_STEP) * (w / core.BOUNDARY_STEP) > 0.7 * core.PLAYING_BOUNDARY_SECONDS
    assert len(set(shapes[2:])) == 1               # steady: no size flipping from frame to frame
    assert s.boundary_reduced


def test_pause_brings_a_full_size_still_at_once():
    s, now, sizes = session(pixel_seconds=20e-6)
    s.handle(m.Play())
    play_frames(s, now, 5)
    assert s.boundary_reduced
    s.handle(m.Pause())
    s.dirty = False                                # even if nothing else asked for a snapshot ...
    s.work(budget=0.0)
    assert s.dirty                                 # ... the reduced image calls for a sharp still
    assert s.snapshot().boundary.shape == (80, 100)
    assert not s.boundary_reduced
    s.dirty = False
    s.work(budget=0.0)
    assert not s.dirty                             # and only once


def test_steps_end_with_a_full_size_image():
    s, now, _ = session(pixel_seconds=20e-6)
    s.snapshot()                                   # the still measures the cost
    s.handle(m.Step(3))
    now[0] += 0.05
    s.work(budget=0.0)                             # one epoch of three: still busy
    assert s.snapshot().boundary.shape[0] < 80
    s.work(budget=1.0)
    assert not s.busy
    s.work(budget=0.0)
    assert s.dirty and s.snapshot().boundary.shape == (80, 100)


def test_unmeasured_big_network_starts_small_and_tiny_one_full():
    # before any image was timed the guess comes from the multiply-adds: pessimistic for big nets
    big, _, _ = session(pixel_seconds=0.0, layers=[256] * 10)
    big.handle(m.Play())
    w, h = big.boundary_size(100, 80)
    assert w * h < 100 * 80 / 4
    small, _, _ = session(pixel_seconds=0.0, layers=[8] * 6)
    small.handle(m.Play())
    assert small.boundary_size(100, 80) == (100, 80)


def test_cost_drop_grows_the_image_back():
    s, now, _ = session(pixel_seconds=20e-6)
    s.handle(m.Play())
    small = play_frames(s, now, 6)[-1]

    def cheap(extent, width=100, height=100):
        now[0] += 1e-8 * width * height
        return np.full((height, width), 0.5, np.float32)

    s.trainer.boundary = cheap                     # e.g. the other programs on the machine finished
    assert play_frames(s, now, 40)[-1] == (80, 100) != small


def test_never_below_the_minimum_side():
    s, now, _ = session(pixel_seconds=1.0)         # absurdly dear
    s.handle(m.Play())
    assert play_frames(s, now, 3)[-1] == (core.MIN_BOUNDARY_SIDE, core.MIN_BOUNDARY_SIDE)


@pytest.mark.parametrize("layers", [[8] * 6, [64] * 4])
def test_real_boundary_of_any_size_is_finite(layers):
    cfg = ExperimentConfig()
    cfg.architecture.hidden_layers = layers
    s = TrainingSession(cfg, circle(n=40))
    for w, h in [(100, 80), (37, 30), (8, 8)]:
        img = s.trainer.boundary(VIEW.extent, w, h)
        assert img.shape == (h, w) and np.isfinite(img).all()


def test_child_uses_the_session_share():
    from nnviz.session import loop
    assert loop.SNAPSHOT_SHARE == core.SNAPSHOT_SHARE
    assert core.PLAYING_BOUNDARY_SECONDS * core.PLAYING_FPS == pytest.approx(core.SNAPSHOT_SHARE)
    assert core.PLAYING_FPS >= 10


class ScriptedPipe:
    """The GUI's end of the pipe, in-process: scripted commands in, every snapshot acknowledged at once."""

    def __init__(self, commands, frames):
        self.inbox = list(commands)
        self.snapshots = []
        self.frames = frames

    def poll(self, timeout=0.0):
        return bool(self.inbox)

    def recv(self):
        return self.inbox.pop(0)

    def send(self, msg):
        if isinstance(msg, m.Snapshot):
            self.snapshots.append(msg)
            self.inbox.append(m.Shutdown() if len(self.snapshots) >= self.frames else m.Ack())

    def send_bytes(self, data):
        raise AssertionError("no big tables here")


def test_child_sends_frames_during_long_epochs():
    import os
    cfg = ExperimentConfig()
    cfg.architecture.hidden_layers = [256] * 4
    cfg.optimizer.batch_size = 1                   # 400 steps an epoch: ~0.1-0.3 s
    pipe = ScriptedPipe([m.SetConfig(cfg), m.SetPoints(circle(n=800), 1), VIEW, m.Play()], frames=12)
    child.serve(pipe, os.getppid())
    playing = [s for s in pipe.snapshots if s.playing]
    epochs = [s.epoch for s in playing]
    # several frames show the same finished epoch: they were sent mid-epoch, with the weights as they are
    assert len(epochs) - len(set(epochs)) >= 3, epochs
    assert all(len(s.rows["epoch"]) == 0 for a, s in zip(playing, playing[1:]) if s.epoch == a.epoch)


def mistakes_session(point_seconds: float, n=300):
    s, now, _ = session(pixel_seconds=1e-7)
    s.handle(m.SetView(VIEW.extent, VIEW.width, VIEW.height, predictions=True))
    s.handle(m.SetPoints(circle(n=n), 2))
    real = s.trainer.predict_class
    counts = []

    def fake_predict_class(xy):
        now[0] += point_seconds * len(xy)
        counts.append(len(xy))
        return real(xy)

    s.trainer.predict_class = fake_predict_class
    return s, now, counts


def test_cheap_predictions_are_all_fresh_every_frame():
    s, now, counts = mistakes_session(point_seconds=1e-6)    # 300 points: 0.3 ms
    s.handle(m.Play())
    play_frames(s, now, 5)
    assert counts == [300] * 5 and not s.predictions_partial


def test_dear_predictions_refresh_a_slice_per_frame_while_playing_and_all_when_paused():
    s, now, counts = mistakes_session(point_seconds=1e-4)    # 300 points: 30 ms, over a frame's budget
    s.snapshot()                                             # paused: all, and the cost is measured
    s.handle(m.Play())
    play_frames(s, now, 12)
    per_frame = counts[1:]
    assert max(per_frame) * 1e-4 <= core.PLAYING_BOUNDARY_SECONDS / 3 + 1e-12
    assert sum(per_frame) >= 300                             # round the whole set within the frames
    assert s.predictions_partial
    s.handle(m.Pause())
    s.dirty = False
    s.work(budget=0.0)
    assert s.dirty                                           # the partial classes call for an exact still
    before = len(counts)
    snap = s.snapshot()
    assert counts[before:] == [300] and not s.predictions_partial
    assert np.array_equal(snap.predictions, s.trainer.predict_class(s.trainer.points.xy))
