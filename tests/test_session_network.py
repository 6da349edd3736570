"""The network view's maths (nnviz.engine.units) and its session commands: SetNetworkView and SetEpochLimit,
through the production session loop (SessionLoop, InProcessSessionClient) and one real child process."""
from __future__ import annotations

import numpy as np
import pytest

from engine_data import blobs, circle
from nnviz.engine.config import ExperimentConfig
from nnviz.engine.features import feature_matrix
from nnviz.engine.network import Network
from nnviz.engine.trainer import Trainer
from nnviz.engine.units import (DETAIL_UNITS, MAX_FRAME_FLOATS, MIN_RESOLUTION, frame_resolution, grid_points,
                                input_maps, is_summarised, network_frame)
from nnviz.session import messages as m
from nnviz.session.core import TrainingSession
from nnviz.session.loop import SessionLoop, coalesce

EXTENT = (-6.0, 6.0, -5.0, 7.0)


def config(hidden=(4, 2), activation="tanh", features=("x1", "x2", "x1*x2")):
    c = ExperimentConfig()
    c.architecture.hidden_layers = list(hidden)
    c.architecture.activation = activation
    c.architecture.features = list(features)
    return c


def forward_layers(net: Network, X: np.ndarray) -> list[np.ndarray]:
    """Each hidden layer's activations and the logits, in float64, written out plainly (the reference)."""
    from nnviz.engine.functions import ACTIVATIONS
    out, h = [], X
    for i, (W, b) in enumerate(zip(net.W, net.b)):
        z = h @ W + b
        if i < len(net.activations):
            z = ACTIVATIONS[net.activations[i]](z, z.copy())
        out.append(z)
        h = z
    return out


# -- the maths ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_a_units_heatmap_is_its_activation_at_the_grid_points(activation):
    c = config(activation=activation)
    t = Trainer(c, circle())
    t.train(5)
    g = 7
    frame = network_frame(t.network, c.architecture.features, EXTENT, g)
    xy = grid_points(EXTENT, g)
    # row 0 is at ymin and column 0 at xmin, as the boundary image
    assert xy[0].tolist() == pytest.approx([-6 + 12 / 14, -5 + 12 / 14])
    assert xy[g - 1, 0] > xy[0, 0] and xy[g, 1] > xy[0, 1]
    ref = forward_layers(t.network, feature_matrix(xy, c.architecture.features))
    for layer, maps in enumerate(frame.hidden):
        assert maps.dtype == np.float32 and maps.shape == (t.network.sizes[layer + 1], g, g)
        for unit in range(maps.shape[0]):
            np.testing.assert_allclose(maps[unit].ravel(), ref[layer][:, unit], rtol=1e-4, atol=1e-5)
    # the output is what the trainer predicts there (P(class 1)), the inputs the features themselves
    np.testing.assert_allclose(frame.output[0].ravel(), t.predict(xy), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(frame.inputs.reshape(3, -1).T, feature_matrix(xy, c.architecture.features),
                               rtol=1e-6)
    assert frame.features == ("x1", "x2", "x1*x2") and frame.sizes == (3, 4, 2, 1)
    for (W, b), W0, b0 in zip(frame.weights, t.network.W, t.network.b):
        assert W.dtype == np.float32 and np.allclose(W, W0) and np.allclose(b, b0)
    lo, hi = frame.levels[0]
    if activation == "tanh":
        assert (lo, hi) == (-1, 1)
    elif activation == "sigmoid":
        assert (lo, hi) == (0, 1)
    else:   # unbounded: symmetric over the layer's largest value
        assert hi == pytest.approx(float(np.abs(frame.hidden[0]).max())) and lo == -hi


def test_output_matches_the_boundary_image_for_softmax_and_regression():
    c = config()
    t = Trainer(c, blobs(k=3))
    t.train(3)
    g = 6
    frame = network_frame(t.network, c.architecture.features, EXTENT, g)
    image = t.boundary(EXTENT, g, g)   # (g, g, K), row 0 at ymin
    assert frame.head == "softmax" and frame.output.shape == (3, g, g)
    np.testing.assert_allclose(np.moveaxis(frame.output, 0, -1), image, rtol=1e-4, atol=1e-5)
    c.problem = "regression"
    pts = circle()
    from nnviz.data.points import PointSet
    t = Trainer(c, PointSet(pts.xy, pts.xy[:, 0] * 0.1, pts.role))
    frame = network_frame(t.network, c.architecture.features, EXTENT, g)
    np.testing.assert_allclose(frame.output[0], t.boundary(EXTENT, g, g), rtol=1e-4, atol=1e-5)


def test_no_hidden_layer_and_an_overflowing_network_give_finite_maps():
    c = config(hidden=())
    t = Trainer(c, circle())
    frame = network_frame(t.network, c.architecture.features, EXTENT, 5)
    assert frame.hidden == [] and frame.output.shape == (1, 5, 5) and len(frame.weights) == 1
    c = config(activation="relu")
    t = Trainer(c, circle())
    t.network.params[:] = 1e30
    frame = network_frame(t.network, c.architecture.features, (-1e6, 1e6, -1e6, 1e6), 5)
    assert all(np.isfinite(h).all() for h in frame.hidden) and np.isfinite(frame.output).all()


def test_big_networks_are_summarised_and_their_frames_stay_small():
    assert not is_summarised([2, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 1])
    assert is_summarised([2] + [32] * 11 + [1]) and is_summarised([2, 33, 1])
    assert frame_resolution([2, 4, 4, 1], 24) == 24
    assert frame_resolution([2] + [32] * 10 + [1], 24) < 24
    for sizes in ([2] + [32] * 10 + [1], [2] + [256] * 4 + [1], [7] + [512] * 16 + [4]):
        g = frame_resolution(sizes, 24)
        assert g >= MIN_RESOLUTION and (g * g * sum(sizes) <= MAX_FRAME_FLOATS or g == MIN_RESOLUTION)
    # a time budget lowers it further: 1e-9 s per multiply-add, 0.1 ms: 1120 multiply-adds a point
    assert frame_resolution([2, 32, 32, 1], 24, seconds_per_mac=1e-9, budget=1e-4) == int(np.sqrt(1e5 / 1120))
    c = config(hidden=(DETAIL_UNITS + 1, 8))
    t = Trainer(c, circle())
    frame = network_frame(t.network, c.architecture.features, EXTENT, 6)
    assert frame.summarised and frame.weights == [] and len(frame.weight_stats) == 3
    assert frame.hidden[0].shape == (DETAIL_UNITS + 1, 6, 6)
    mean_abs, max_abs, positive = frame.weight_stats[1]
    W = t.network.W[1]
    assert mean_abs == pytest.approx(np.abs(W).mean()) and max_abs == pytest.approx(np.abs(W).max())
    assert positive == pytest.approx((W > 0).mean())


def test_input_maps_cover_any_feature():
    maps = input_maps(["x1", "sin_x2"], EXTENT, 4)
    xy = grid_points(EXTENT, 4)
    assert maps.shape == (2, 4, 4) and maps.dtype == np.float32
    np.testing.assert_allclose(maps[1].ravel(), np.sin(xy[:, 1]), rtol=1e-6)


# -- the session ---------------------------------------------------------------------------------------------

class Clock:
    """Moves on by 0.1 ms each time it is read (so a chunk of training ends), and by hand."""
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        self.t += 1e-4
        return self.t


def session(hidden=(4, 2), clock=None):
    s = TrainingSession(clock=clock) if clock else TrainingSession()
    s.handle(m.SetExperiment(config(hidden=hidden), circle(), 1))
    s.handle(m.SetView(EXTENT, 40, 40))
    return s


def test_network_frames_only_while_enabled_and_only_when_changed():
    s = session()
    out = []
    loop = SessionLoop(s, out.append, max_fps=None, mid_epoch=False)
    loop.offer()
    assert out[-1].network is None                       # off by default
    loop.put(m.Ack())
    loop.put(m.SetNetworkView(True, resolution=10))
    loop.handle_pending()
    loop.offer()
    frame = out[-1].network
    assert frame.resolution == 10 and frame.extent == EXTENT and frame.epoch == 0
    assert [h.shape for h in frame.hidden] == [(4, 10, 10), (2, 10, 10)]
    loop.put(m.Ack())
    loop.put(m.SetView(EXTENT, 41, 40))                  # a still with the same weights and view: no new frame
    loop.handle_pending()
    loop.offer()
    assert out[-1].network is None
    loop.put(m.Ack())
    loop.put(m.SetView((-1.0, 1.0, -1.0, 1.0), 40, 40))  # the view moved: a frame over the new extent
    loop.handle_pending()
    loop.offer()
    assert out[-1].network.extent == (-1.0, 1.0, -1.0, 1.0)
    loop.put(m.Ack())
    loop.put(m.Step(3))
    loop.handle_pending()
    loop.turn(1.0)
    snap = out[-1]
    assert snap.epoch == 3 and snap.network.epoch == 3
    np.testing.assert_allclose(snap.network.weights[0][0], s.trainer.network.W[0], rtol=1e-6)
    loop.put(m.Ack())
    loop.put(m.SetNetworkView(False))
    loop.handle_pending()
    loop.offer()
    assert out[-1].network is None and s.network_view is None


def test_network_frames_while_playing_are_rate_bounded_and_the_still_is_full_size():
    clock = Clock()
    s = session(hidden=(64, 64), clock=clock)            # summarised: at most one frame per 0.25 s
    s.handle(m.SetNetworkView(True, 24))
    s.handle(m.Play())
    frames = []
    for _ in range(20):                                  # 20 frames 50 ms apart: 1 s
        clock.t += 0.05
        s.work(0.0005)
        frames.append(s.snapshot().network)
    sent = [f for f in frames if f is not None]
    assert 3 <= len(sent) <= 5
    assert all(f.summarised and f.weights == [] for f in sent)
    s.handle(m.Pause())
    s.work(0.0005)
    still = s.snapshot().network
    assert still is not None and still.resolution == frame_resolution(s.trainer.network.sizes, 24)


def test_epoch_limit_holds_play_and_says_waiting():
    client_out = []
    s = session()
    loop = SessionLoop(s, client_out.append, max_fps=None, mid_epoch=False)

    def turn():
        loop.put(m.Ack())
        loop.turn(0.02)
        return client_out[-1]

    def until_waiting():
        for _ in range(50):
            snap = turn()
            if snap.waiting:
                return snap
        return snap

    loop.put(m.SetEpochLimit(5))
    loop.put(m.Play(seq=1))
    loop.handle_pending()
    snap = until_waiting()
    assert snap.waiting and snap.playing and snap.epoch == 5 and s.trainer.epoch == 5
    for _ in range(5):                     # held: no epoch passes the limit, the process does not spin
        turn()
        assert s.trainer.epoch == 5 and not s.busy
    loop.put(m.Step(2, seq=2))             # steps are not limited (and pause, as always)
    loop.handle_pending()
    loop.turn(1.0)
    assert s.trainer.epoch == 7 and not s.waiting and not s.playing
    loop.put(m.SetEpochLimit(12))          # the next lock-step
    loop.put(m.Play(seq=3))
    loop.handle_pending()
    snap = until_waiting()
    assert snap.epoch == 12 and snap.waiting and not client_out[-2].waiting
    loop.put(m.SetEpochLimit(None))
    loop.handle_pending()
    snap = turn()
    assert not snap.waiting and s.busy
    turn()
    assert s.trainer.epoch > 12
    loop.put(m.Pause(seq=4))
    loop.put(m.SetEpochLimit(s.trainer.epoch))
    loop.handle_pending()
    snap = turn()
    assert not snap.playing and not snap.waiting   # paused is not waiting


def test_bad_epoch_limits_are_reported_and_bursts_keep_the_last():
    s = session()
    s.handle(m.SetEpochLimit("ten"))
    errors = s.take_outbox()
    assert errors and "epoch limit" in errors[0].message and s.epoch_limit is None
    cmds = [m.SetEpochLimit(3), m.SetNetworkView(True), m.Play(), m.SetEpochLimit(4), m.SetNetworkView(False)]
    out = coalesce(cmds)
    assert [type(c) for c in out] == [m.Play, m.SetEpochLimit, m.SetNetworkView]
    assert out[1].limit == 4 and out[2].enabled is False


def test_in_process_client_and_a_real_child_send_frames(qtbot):
    from nnviz.ui.session_client import InProcessSessionClient, ProcessSessionClient
    for client in (InProcessSessionClient(), ProcessSessionClient()):
        snaps = []

        def on_snapshot(snap, client=client):
            snaps.append(snap)
            client.ack()

        client.snapshot.connect(on_snapshot)
        client.start()
        try:
            client.send(m.SetExperiment(config(hidden=(5, 3)), circle(), 1))
            client.send(m.SetView(EXTENT, 30, 30))
            client.send(m.SetNetworkView(True, 12))
            client.send(m.SetEpochLimit(4))
            client.send(m.Play(seq=1))
            if isinstance(client, InProcessSessionClient):
                for _ in range(40):
                    client.pump()
            qtbot.waitUntil(lambda: bool(snaps) and snaps[-1].waiting, timeout=20000)
            frames = [s.network for s in snaps if s.network is not None]
            assert frames and snaps[-1].epoch == 4 and snaps[-1].playing
            f = frames[-1]
            assert f.features == ("x1", "x2", "x1*x2") and f.inputs.shape == (3, 12, 12)
            assert [h.shape for h in f.hidden] == [(5, 12, 12), (3, 12, 12)] and f.output.shape == (1, 12, 12)
            assert all(h.dtype == np.float32 for h in f.hidden)
            assert [W.shape for W, _ in f.weights] == [(3, 5), (5, 3), (3, 1)]
        finally:
            client.shutdown()


def test_turning_the_view_off_while_playing_leaves_no_still_to_send(monkeypatch):
    from nnviz.session import core
    monkeypatch.setattr(core, "NETWORK_SECONDS", 1e-9)   # a dear network: coarse maps while playing
    clock = Clock()
    s = session(hidden=(64, 64), clock=clock)
    s.handle(m.SetNetworkView(True, 64))
    s.handle(m.Play())
    clock.t += 1.0
    s.work(0.0005)
    assert s.snapshot().network is not None and s.network_reduced   # coarser while playing
    s.handle(m.SetNetworkView(False))
    s.handle(m.Pause())
    s.snapshot()
    s.work(0.0005)
    s.snapshot()
    s.work(0.0005)
    assert not s.dirty   # idle: no more snapshots are due
