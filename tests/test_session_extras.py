"""Session extras: a diverged run's state reply, weight histograms in snapshots, fixed initial weights.

All in-process (TrainingSession with a fake clock): no child process, no sleeps.
"""
import numpy as np
import pytest

from engine_data import circle
from nnviz.engine import ExperimentConfig
from nnviz.engine.history import LAYER_COLUMNS, SCALAR_COLUMNS, History
from nnviz.session import messages as m
from nnviz.session import core
from nnviz.session.core import TrainingSession


def config(**changes):
    c = ExperimentConfig()
    for path, value in changes.items():
        section, name = path.split("__")
        setattr(getattr(c, section), name, value)
    return c.validate()


def test_state_reply_of_a_diverged_l2_run_rebuilds_its_history():
    # monkey F1: circle lesson, SGD, tanh, lr 1.5, L2 10, Play -> diverges; Save asks for the state, and
    # History.from_arrays of the reply raised "history.penalty: values must be finite"
    now = [0.0]
    s = TrainingSession(config(optimizer__learning_rate=1.5, architecture__activation="tanh",
                               regularization__l2=10.0), circle(), clock=lambda: now[0])
    s.handle(m.Play())
    for _ in range(50):
        now[0] += 0.01
        s.work(budget=1.0)
        if not s.busy:
            break
    snap = s.snapshot()
    assert snap.stop_kind == "diverged" and not snap.playing
    for c in SCALAR_COLUMNS + LAYER_COLUMNS:
        assert not np.isinf(snap.rows[c]).any(), c
    s.handle(m.RequestState(7))
    reply, = s.take_outbox()
    history = History.from_arrays(reply.history)
    assert len(history) == reply.epoch == s.trainer.epoch
    assert all(np.isfinite(w).all() and np.isfinite(b).all() for w, b in reply.weights)


# -- weight histograms in snapshots ---------------------------------------------------------------------------
def exact_histograms(s):
    from nnviz.viewmath import weight_histograms
    return weight_histograms(s.trainer.weights())


def assert_same_histograms(got, want):
    assert got is not None and len(got) == len(want)
    for (e1, c1), (e2, c2) in zip(got, want):
        assert e1.dtype == np.float64 and e1.shape == (42,) and c1.dtype == np.int64 and c1.shape == (41,)
        np.testing.assert_array_equal(e1, e2)
        np.testing.assert_array_equal(c1, c2)


def playing_session(layers=(8, 8)):
    now = [0.0]
    s = TrainingSession(config(architecture__hidden_layers=list(layers)), circle(n=60), clock=lambda: now[0])
    return s, now


def test_first_snapshot_of_a_generation_carries_exact_histograms_and_a_still_is_not_resent():
    s, now = playing_session()
    snap = s.snapshot()
    assert_same_histograms(snap.weight_histograms, exact_histograms(s))
    assert len(snap.weight_histograms) == s.trainer.network.n_layers == 3
    assert s.snapshot().weight_histograms is None           # nothing changed: the GUI keeps what it has
    s.handle(m.SetView((-6, 6, -6, 6), 20, 20))              # a view change is no weight change
    assert s.snapshot().weight_histograms is None


def test_histograms_at_most_four_a_second_while_playing_and_exact_after_pause():
    s, now = playing_session()
    s.snapshot()
    s.handle(m.SetSpeed(200))
    s.handle(m.Play())
    carried = 0
    for _ in range(40):                      # 2 s of fake time, a frame every 50 ms
        now[0] += 0.05
        s.work(budget=1.0)
        snap = s.snapshot()
        assert snap.playing
        carried += snap.weight_histograms is not None
    assert 7 <= carried <= 9                 # ~4 a second (every 0.25 s), not every frame
    s.handle(m.Pause())
    s.work()
    snap = s.snapshot()
    assert not snap.playing
    assert_same_histograms(snap.weight_histograms, exact_histograms(s))
    assert s.snapshot().weight_histograms is None


def test_step_and_reset_bring_exact_histograms():
    s, now = playing_session()
    s.snapshot()
    s.handle(m.Step(3))
    while s.busy:
        s.work(budget=1.0)
    snap = s.snapshot()
    assert snap.epoch == 3
    assert_same_histograms(snap.weight_histograms, exact_histograms(s))
    s.handle(m.Reset())
    snap = s.snapshot()
    assert snap.generation == 1 and snap.epoch == 0
    assert_same_histograms(snap.weight_histograms, exact_histograms(s))
    s.handle(m.Play())                       # playing: the new generation's first frame has some at once
    now[0] += 0.01
    s.work(budget=0.0)                       # (a fake clock stands still: one epoch per call)
    s.snapshot()
    s.handle(m.Reset(redraw=True))
    s.handle(m.Play())
    now[0] += 0.01                           # only 10 ms after the last ones, but a new generation
    s.work(budget=0.0)
    snap = s.snapshot()
    assert snap.playing and snap.generation == 2 and snap.weight_histograms is not None
    now[0] += 0.01
    s.work(budget=0.0)
    assert s.snapshot().weight_histograms is None   # and then not again within HISTOGRAM_INTERVAL


def test_a_big_layer_is_sampled_while_playing_and_exact_once_stopped():
    from nnviz.engine.stats import weight_histograms
    s, now = playing_session(layers=(256, 256))     # the middle layer has 65,536 weights
    s.handle(m.Play())
    now[0] += 0.01
    s.work(budget=0.0)
    snap = s.snapshot()
    assert snap.playing
    exact = exact_histograms(s)
    got = snap.weight_histograms
    for j, ((e1, c1), (e2, c2)) in enumerate(zip(got, exact)):
        np.testing.assert_array_equal(e1, e2)        # the range is always that of all the weights
        if j == 1:
            assert not np.array_equal(c1, c2)        # sampled...
            assert abs(c1.sum() - c2.sum()) <= 41 and np.abs(c1 - c2).sum() < 0.15 * c2.sum()   # ...but close
        else:
            np.testing.assert_array_equal(c1, c2)    # small layers are read whole
    # deterministic: the same weights give the same sampled counts
    again = weight_histograms(s.trainer.network.W, max_weights=core.PLAYING_HISTOGRAM_WEIGHTS)
    for (_, c1), (_, c2) in zip(got, again):
        np.testing.assert_array_equal(c1, c2)
    s.handle(m.Pause())
    assert_same_histograms(s.snapshot().weight_histograms, exact_histograms(s))


def test_histogram_time_comes_out_of_the_boundary_budget(monkeypatch):
    # a fake histogram that costs 4 ms of the session's clock: the boundary of that frame gets 4 ms less
    s, now = playing_session()
    cost = {"hist": 0.0}

    def fake_histograms(weights, max_weights=None):
        now[0] += cost["hist"]
        return []

    budgets = []
    real_size = s.boundary_size
    monkeypatch.setattr(core, "weight_histograms", fake_histograms)
    monkeypatch.setattr(s, "boundary_size", lambda w, h, budget: budgets.append(budget) or real_size(w, h, budget))
    s.handle(m.SetView((-6, 6, -6, 6), 10, 10, predictions=False))
    s.handle(m.Play())
    cost["hist"] = 0.004
    now[0] += 1.0
    s.snapshot()
    assert budgets[-1] == pytest.approx(core.PLAYING_BOUNDARY_SECONDS - 0.004)


# -- fixed initial weights ------------------------------------------------------------------------------------
def fixed_weights(s, value=3.0):
    return [(np.full(W.shape, value), np.full(b.shape, -value / 10)) for W, b in s.trainer.weights()]


def assert_weights(got, want):
    assert len(got) == len(want)
    for (W1, b1), (W2, b2) in zip(got, want):
        np.testing.assert_array_equal(W1, W2)
        np.testing.assert_array_equal(b1, b2)


def test_reset_returns_to_loaded_initial_weights_and_redraw_to_the_seeds():
    s = TrainingSession(config(), circle(n=60))
    seed_weights = s.trainer.weights()
    loaded = fixed_weights(s)
    s.handle(m.LoadState(loaded, None))          # a lesson's run with fixed initial weights (large-weights)
    assert s.take_outbox() == []
    assert_weights(s.trainer.weights(), loaded)
    s.handle(m.Step(5))
    s.work(budget=1.0)
    assert s.trainer.epoch == 5
    assert not np.array_equal(s.trainer.weights()[0][0], loaded[0][0])
    s.handle(m.Reset())                          # R: back to the loaded weights, not the seed's
    assert s.trainer.epoch == 0 and len(s.trainer.history) == 0
    assert_weights(s.trainer.weights(), loaded)
    s.handle(m.Step(5))
    s.work(budget=1.0)
    s.handle(m.Reset())                          # again: they stay the run's initial weights
    assert_weights(s.trainer.weights(), loaded)
    seed = s.trainer.config.architecture.seed
    s.handle(m.Reset(redraw=True))               # New weights: drawn from a new seed, the loaded ones forgotten
    assert s.trainer.config.architecture.seed != seed
    redrawn = s.trainer.weights()
    assert not np.array_equal(redrawn[0][0], loaded[0][0])
    s.handle(m.Step(2))
    s.work(budget=1.0)
    s.handle(m.Reset())
    assert_weights(s.trainer.weights(), redrawn)
    # and the original seed gives the original seed weights again
    back = s.trainer.config.copy()
    back.architecture.seed = seed
    s.handle(m.SetConfig(back))
    assert_weights(s.trainer.weights(), seed_weights)


def test_initial_weights_last_until_the_architecture_or_seed_changes():
    s = TrainingSession(config(), circle(n=60))
    seed_weights = s.trainer.weights()
    loaded = fixed_weights(s)
    s.handle(m.LoadState(loaded, None))
    live = s.trainer.config.copy()               # a live change keeps them
    live.optimizer.learning_rate = 0.5
    live.regularization.l2 = 0.01
    s.handle(m.SetConfig(live))
    s.handle(m.Step(3))
    s.work(budget=1.0)
    s.handle(m.Reset())
    assert_weights(s.trainer.weights(), loaded)
    s.handle(m.SetPoints(circle(n=50, seed=3), 2))   # new points (same classes) too
    s.handle(m.Reset())
    assert_weights(s.trainer.weights(), loaded)
    other = s.trainer.config.copy()              # a new seed: its own weights, and Reset keeps to them
    other.architecture.seed += 1
    s.handle(m.SetConfig(other))
    s.handle(m.Reset())
    assert not np.array_equal(s.trainer.weights()[0][0], loaded[0][0])
    assert not s.trainer.has_initial_weights
    back = s.trainer.config.copy()               # back to the old seed: the seed's weights, not the loaded
    back.architecture.seed -= 1
    s.handle(m.SetConfig(back))
    assert_weights(s.trainer.weights(), seed_weights)
    s.handle(m.LoadState(loaded, None))          # an architecture change forgets them too
    assert s.trainer.has_initial_weights
    arch = s.trainer.config.copy()
    arch.architecture.hidden_layers = [5]
    s.handle(m.SetConfig(arch))
    assert not s.trainer.has_initial_weights and s.trainer.network.sizes[1] == 5


def test_loading_trained_weights_or_none_forgets_fixed_initial_weights():
    s = TrainingSession(config(), circle(n=60))
    seed_weights = s.trainer.weights()
    loaded = fixed_weights(s)
    s.handle(m.LoadState(loaded, None))
    s.handle(m.LoadState(None, None))            # an experiment with no weights: the seed's, Reset too
    assert_weights(s.trainer.weights(), seed_weights)
    s.handle(m.Reset())
    assert_weights(s.trainer.weights(), seed_weights)
    s.handle(m.LoadState(loaded, None))
    s.handle(m.Step(4))
    s.work(budget=1.0)
    s.handle(m.RequestState(1))
    reply, = s.take_outbox()
    s.handle(m.LoadState(reply.weights, reply.history))   # trained weights with their history (a saved run)
    assert s.trainer.epoch == 4 and not s.trainer.has_initial_weights
    assert_weights(s.trainer.weights(), reply.weights)
    s.handle(m.Reset())
    assert_weights(s.trainer.weights(), seed_weights)


def test_weights_that_do_not_fit_are_refused_without_a_change():
    s = TrainingSession(config(), circle(n=60))
    before = s.trainer.weights()
    s.handle(m.LoadState([(np.ones((2, 3)), np.zeros(3))], None))
    errors = s.take_outbox()
    assert errors and isinstance(errors[0], m.SessionError)
    assert_weights(s.trainer.weights(), before)
    assert not s.trainer.has_initial_weights
