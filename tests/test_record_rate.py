"""The per-epoch record: evaluated on a fixed schedule whose cost is bounded (issue 10 item 2).

Epochs not evaluated hold the mean batch loss and NaN in the evaluated-only columns; early stopping, the
best epoch and the plateau schedule see the scheduled evaluations only, so extra evaluations (the end of a
train() call, a pause) change nothing, and a run is the same however it is cut up.
"""
import math

import numpy as np
import pytest

from nnviz.data.generators import generate
from nnviz.engine import Trainer
from nnviz.engine import trainer as trainer_module
from nnviz.engine.history import EVALUATED_ONLY, LAYER_COLUMNS, SCALAR_COLUMNS, History
from nnviz.engine.schedules import Schedule
from nnviz.errors import FileFormatError
from nnviz.presets import PRESETS
from test_trainer import cfg


def spiral(n=1000, fraction=0.5):
    return generate("spiral", n=n, noise=0.0, train_fraction=fraction, seed=0)


W2 = dict(architecture__hidden_layers=[16, 16], architecture__activation="relu", architecture__init="he",
          optimizer__batch_size=0)
W1 = dict(architecture__hidden_layers=[8] * 6, architecture__activation="tanh", optimizer__batch_size=10)
EARLY = dict(architecture__hidden_layers=[32, 32], optimizer__name="adam", optimizer__learning_rate=0.02,
             optimizer__batch_size=0, early_stopping__enabled=True, early_stopping__patience=40)


def noisy_circle():
    return generate("circle", n=120, noise=0.25, train_fraction=0.5, seed=3)


# -- the schedule and its cost ----------------------------------------------------------------------------

CASES = [
    (W1, 500), (W2, 1000),
    (dict(architecture__hidden_layers=[64] * 4, architecture__activation="relu", optimizer__name="adam",
          optimizer__batch_size=64), 4000),
    (dict(architecture__hidden_layers=[4, 2], optimizer__batch_size=10), 500),
    (dict(architecture__hidden_layers=[32] * 3, optimizer__batch_size=0, regularization__dropout=0.5), 80),
    (dict(architecture__hidden_layers=[1], optimizer__batch_size=0), 20),
    (dict(architecture__hidden_layers=[16, 16], optimizer__batch_size=100, regularization__l2=0.01), 4000),
    (dict(architecture__hidden_layers=[256] * 2, optimizer__batch_size=10), 200),
]


@pytest.mark.parametrize("changes, n", CASES)
def test_the_interval_keeps_the_modelled_record_within_its_share_of_training(changes, n):
    t = Trainer(cfg(**changes), spiral(n))
    train, row, record = t.epoch_costs()
    k = t.record_interval()
    assert train > 0 and row > 0 and record > 0
    assert 1 <= k <= trainer_module.MAX_RECORD_INTERVAL
    share = trainer_module.RECORD_SHARE
    budget = max(share * train - row, share * train / 2)      # what the rows leave to evaluations
    if k < trainer_module.MAX_RECORD_INTERVAL:
        assert record / k <= budget * (1 + 1e-12)                                # bounded ...
        assert (row + record / k) / train <= max(share, row / train + share / 2) + 1e-12
    if k > 1:
        assert record / (k - 1) > budget                                          # ... by the smallest interval


def test_cheap_records_evaluate_every_epoch_and_expensive_ones_less_often():
    # six thin ReLU layers on batches of 5: the steps' fixed costs dwarf one pass over the points
    deep = Trainer(cfg(architecture__hidden_layers=[8] * 6, architecture__activation="relu",
                       optimizer__batch_size=5), spiral(500))
    assert deep.record_interval() == 1
    # full batch on a tiny net: the record (train + test points) costs more than the step itself
    tiny = Trainer(cfg(**W2), spiral())
    playground = Trainer(cfg(**W1), spiral(500))
    assert tiny.record_interval() > playground.record_interval() >= 1
    # more test points, more record
    assert Trainer(cfg(**W2), spiral(2000, 0.25)).record_interval() > tiny.record_interval()


def test_the_interval_follows_settings_and_points_and_early_stopping_keeps_it_within_its_patience():
    t = Trainer(cfg(**W2), spiral())
    k = t.record_interval()
    assert k >= 5
    t.set_config(cfg(**{**W2, "optimizer__batch_size": 10}))      # 50 steps an epoch: the record is cheap
    assert t.record_interval() < k
    t.set_config(cfg(**W2, early_stopping__enabled=True, early_stopping__patience=10))
    assert t.record_interval() <= 10 // trainer_module.EVALUATIONS_PER_PATIENCE
    t.set_config(cfg(**W2))
    t.set_points(spiral(200))
    assert t.record_interval() != k


def test_every_lesson_is_recorded_on_a_schedule_within_bounds():
    for name, preset in PRESETS.items():
        for exp in [preset.build()]:
            t = Trainer(exp.config, exp.points)
            train, row, record = t.epoch_costs()
            k = t.record_interval()
            assert 1 <= k <= trainer_module.MAX_RECORD_INTERVAL, name
            capped = exp.config.early_stopping.enabled or k == trainer_module.MAX_RECORD_INTERVAL
            share = trainer_module.RECORD_SHARE
            assert capped or (row + record / k) / train <= max(share, row / train + share / 2) + 1e-12, name


# -- what a row holds ---------------------------------------------------------------------------------------

HEADS = {
    "binary": (W2, lambda: spiral()),
    "softmax": (dict(W2, architecture__hidden_layers=[8]),
                lambda: generate("gaussian", n=400, noise=0.0, train_fraction=0.5, seed=0, n_classes=4)),
    "regression": (dict(W2, problem="regression", optimizer__learning_rate=0.01),
                   lambda: generate("gaussians", n=500, noise=0.0, train_fraction=0.5, seed=0)),
}


@pytest.mark.parametrize("head", HEADS)
def test_rows_not_evaluated_hold_the_batch_loss_and_nan_and_say_so(head):
    changes, points = HEADS[head]
    t = Trainer(cfg(**changes), points())
    assert t.head == head
    k = t.record_interval()
    assert k > 2
    t.train(3 * k + 2)
    h = t.history
    epochs = h["epoch"].astype(int)
    want = (epochs == 1) | (epochs % k == 0) | (epochs == t.epoch)    # first, scheduled, last of train()
    np.testing.assert_array_equal(h["evaluated"], want.astype(float))
    off = ~want
    for column in EVALUATED_ONLY:
        values = h[column]
        assert np.isnan(values[off]).all(), column
        if not column.startswith("validation") and not (head == "regression" and "error" in column):
            assert np.isfinite(values[want]).all(), column     # (no validation points; no regression error)
    for column in ("train_loss", "penalty", "learning_rate"):
        assert np.isfinite(h[column]).all()
    # full batch: an epoch's batch loss is the loss of the weights before it, i.e. the previous record's
    loss = h["train_loss"]
    for i in np.flatnonzero(want[:-1] & off[1:]):
        assert loss[i + 1] == pytest.approx(loss[i], rel=1e-12)


def test_mini_batch_rows_hold_the_mean_batch_loss():
    t = Trainer(cfg(**W1), spiral(500))
    t.train(1)
    t._interval = 10 ** 6                     # from here on, no scheduled evaluation
    before = t.history["train_loss"][-1]
    t.step_epoch()
    assert t.history.last("evaluated") == 0.0
    # the mean over the epoch's batches lies between the losses before and after the epoch, roughly
    mean_batch = t.history.last("train_loss")
    t.complete_record()
    after = t.history.last("train_loss")
    assert after < mean_batch < before * 1.05


def test_complete_record_fills_the_newest_row_and_a_copy_takes_it_again():
    t = Trainer(cfg(**W2), spiral())
    t.train(1)
    t.step_epoch()
    assert t.history.last("evaluated") == 0.0
    gui = History(t.network.n_layers)
    gui.extend(t.history.slice(0))
    assert t.complete_record() is True
    assert t.complete_record() is False                       # nothing left to do
    assert t.history.last("evaluated") == 1.0 and len(t.history) == 2
    for column in EVALUATED_ONLY:
        if not column.startswith("validation"):
            assert np.isfinite(t.history[column][-1]).all(), column
    # a session sends the newest row again; the copy replaces its row of the same epoch
    gui.extend(t.history.slice(t.history.rows_after(t.epoch - 1)))
    assert len(gui) == 2
    for column in SCALAR_COLUMNS + LAYER_COLUMNS:
        np.testing.assert_array_equal(gui[column], t.history[column])
    # and the summary describes it
    s = t.summary()
    assert s["test_loss"] == t.history.last("test_loss") and s["weights_epoch"] == t.epoch


def test_summary_evaluates_a_row_left_unevaluated():
    t = Trainer(cfg(**W2), spiral())
    t.train(2)
    t.step_epoch()
    s = t.summary()
    assert t.history.last("evaluated") == 1.0
    assert s["train_error"] == t.history.last("train_error") and math.isfinite(s["test_error"])


def test_big_nets_completed_later_have_weight_statistics_but_no_gradient_ones(monkeypatch):
    monkeypatch.setattr(trainer_module, "DEFERRED_STATS_LIMIT", 0)    # per-layer sums, only when evaluated
    t = Trainer(cfg(**W2), spiral())
    t.train(1)
    t._interval = 10 ** 6
    t.step_epoch()
    t.complete_record()
    assert np.isnan(t.history["grad_norm"][-1]).all()
    assert np.isfinite(t.history["weight_norm"][-1]).all() and np.isfinite(t.history["near_zero"][-1]).all()


# -- decisions: only the schedule counts --------------------------------------------------------------------

def test_early_stopping_stops_patience_epochs_after_the_best_evaluated_epoch_and_restores_it():
    t = Trainer(cfg(**EARLY), noisy_circle())
    k = t.record_interval()
    assert 1 < k <= 40 // trainer_module.EVALUATIONS_PER_PATIENCE
    t.train(5000)
    assert t.stop_info is not None and t.stop_info.kind == "early_stopping"
    assert t.epoch == t.best_epoch + 40
    h = t.history
    evaluated = h["evaluated"] == 1.0
    assert evaluated[t.best_epoch - 1] and evaluated[-1] and not evaluated.all()
    test_loss = h["test_loss"]
    assert np.isnan(test_loss[~evaluated]).all()
    assert t.best_epoch == int(np.nanargmin(test_loss)) + 1             # the true best evaluated epoch
    F, y = t._sets[1]
    assert t.network.loss(t.network.predict_logits(F), y) == pytest.approx(np.nanmin(test_loss), rel=1e-9)
    assert t.summary()["test_loss"] == pytest.approx(np.nanmin(test_loss), rel=1e-12)


def run(config, points, pieces, pauses=False):
    """Train ``sum(pieces)`` epochs as train() calls of these sizes; ``pauses``: complete the record
    (as a session does when paused) after every call."""
    t = Trainer(config, points)
    for p in pieces:
        if not t.train(p):
            break
        if pauses:
            t.complete_record()
    return t


@pytest.mark.parametrize("changes", [
    EARLY,
    dict(W2, schedule__name="plateau", schedule__patience=5, schedule__factor=0.5, optimizer__learning_rate=0.3),
    dict(W1, regularization__dropout=0.2),
])
def test_results_do_not_depend_on_extra_evaluations(changes):
    config = cfg(**changes)
    points = noisy_circle() if changes is EARLY else spiral(400)
    whole = run(config, points, [400])
    cut = run(config, points, [7, 1, 1, 30, 13, 2, 346], pauses=True)
    assert whole.epoch == cut.epoch and whole.best_epoch == cut.best_epoch
    assert (whole.stop_info and whole.stop_info.kind) == (cut.stop_info and cut.stop_info.kind)
    np.testing.assert_array_equal(whole.network.params, cut.network.params)
    a, b = whole.history, cut.history
    np.testing.assert_array_equal(a["learning_rate"], b["learning_rate"])
    np.testing.assert_array_equal(a["penalty"], b["penalty"])
    both = (a["evaluated"] == 1.0) & (b["evaluated"] == 1.0)
    assert (a["evaluated"] <= b["evaluated"]).all() and both.sum() >= 3   # the cut run evaluated more
    neither = (a["evaluated"] == 0.0) & (b["evaluated"] == 0.0)
    for column in SCALAR_COLUMNS + LAYER_COLUMNS:
        np.testing.assert_array_equal(a[column][both], b[column][both], err_msg=column)
    np.testing.assert_array_equal(a["train_loss"][neither], b["train_loss"][neither])


def test_same_settings_and_seed_same_history_and_weights():
    one, two = run(cfg(**W2), spiral(), [120]), run(cfg(**W2), spiral(), [120])
    np.testing.assert_array_equal(one.network.params, two.network.params)
    for column in SCALAR_COLUMNS + LAYER_COLUMNS:
        np.testing.assert_array_equal(one.history[column], two.history[column])


def test_plateau_counts_the_epochs_between_observations():
    from nnviz.engine.config import ScheduleConfig
    s = Schedule(ScheduleConfig(name="plateau", patience=10, factor=0.5))
    s.observe(1.0)
    s.observe(1.0, 5)
    assert s.plateau_scale == 1.0
    s.observe(1.0, 5)                 # 10 epochs without improvement
    assert s.plateau_scale == 0.5


# -- divergence -----------------------------------------------------------------------------------------------

def test_an_epoch_not_evaluated_that_diverges_is_undone_and_the_kept_row_evaluated():
    regression = dict(problem="regression", architecture__hidden_layers=[8, 8], optimizer__batch_size=0,
                      optimizer__learning_rate=3.0)
    t = Trainer(cfg(**regression), generate("gaussians", n=500, noise=0.0, train_fraction=0.5, seed=0))
    t.train(1)
    t._interval = 10 ** 6                    # no scheduled evaluation: divergence shows in the batch loss
    with np.errstate(all="ignore"):
        for _ in range(200):
            if not t.step_epoch():
                break
    assert t.stop_info.kind == "diverged" and t.stop_info.epoch == t.epoch + 1 == len(t.history) + 1 > 2
    assert t.step_epoch() is False
    assert t.history.last("evaluated") == 1.0 and (t.history["evaluated"][1:-1] == 0.0).all()
    assert np.isfinite(t.network.params).all()
    for column in SCALAR_COLUMNS + LAYER_COLUMNS:
        assert not np.isinf(t.history[column]).any(), column


def test_nan_in_rows_not_evaluated_is_not_divergence():
    t = Trainer(cfg(**W2), spiral())
    assert t.train(60) == 60 and t.stop_info is None
    assert (t.history["evaluated"] == 0.0).sum() > 30


# -- old data -------------------------------------------------------------------------------------------------

def test_histories_without_the_column_load_as_evaluated_and_bad_flags_are_refused():
    t = Trainer(cfg(**W2), spiral())
    t.train(2)
    d = t.history.to_dict()
    del d["evaluated"]
    old = History.from_dict(d)
    assert old["evaluated"].tolist() == [1.0, 1.0]
    arrays = t.history.to_arrays()
    del arrays["evaluated"]
    assert History.from_arrays(arrays)["evaluated"].tolist() == [1.0, 1.0]
    rows = t.history.slice(0)
    del rows["evaluated"]
    h = History(t.network.n_layers)
    h.extend(rows)
    assert h["evaluated"].tolist() == [1.0, 1.0]
    bad = t.history.to_dict()
    bad["evaluated"] = [1.0, 0.5]
    with pytest.raises(FileFormatError, match="evaluated"):
        History.from_dict(bad)
    # round trips keep it
    t.step_epoch()
    back = History.from_dict(t.history.to_dict())
    np.testing.assert_array_equal(back["evaluated"], t.history["evaluated"])
    np.testing.assert_array_equal(History.from_arrays(t.history.to_arrays())["evaluated"], t.history["evaluated"])
    assert t.history.to_csv().splitlines()[0].split(",").count("evaluated") == 1
    assert t.history.last_evaluated("test_loss") == t.history["test_loss"][1]
