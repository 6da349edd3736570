"""Session extras: a diverged run's state reply, weight histograms in snapshots, fixed initial weights.

All in-process (TrainingSession with a fake clock): no child process, no sleeps.
"""
import numpy as np
import pytest

from engine_data import circle
from nnviz.engine import ExperimentConfig
from nnviz.engine.history import LAYER_COLUMNS, SCALAR_COLUMNS, History
from nnviz.session import messages as m
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
