"""The trainer's behaviour: reproducibility, live changes, divergence, early stopping, records."""
import subprocess
import sys

import numpy as np
import pytest

from engine_data import blobs, circle
from nnviz.data.points import PointSet
from nnviz.engine import ExperimentConfig, Trainer


def cfg(**changes):
    c = ExperimentConfig()
    for path, value in changes.items():
        section, name = path.split("__") if "__" in path else ("", path)
        setattr(getattr(c, section) if section else c, name, value)
    return c.validate()


def test_same_seed_same_history_different_seed_differs():
    a, b = Trainer(cfg(), circle()), Trainer(cfg(), circle())
    a.train(30)
    b.train(30)
    np.testing.assert_array_equal(a.history["train_loss"], b.history["train_loss"])
    np.testing.assert_array_equal(a.history["grad_norm"], b.history["grad_norm"])
    c = Trainer(cfg(architecture__seed=7), circle())
    c.train(30)
    assert not np.array_equal(a.history["train_loss"], c.history["train_loss"])


def test_dropout_runs_are_reproducible_too():
    c = cfg(regularization__dropout=0.3, architecture__hidden_layers=[8, 8])
    a, b = Trainer(c, circle()), Trainer(c, circle())
    a.train(20)
    b.train(20)
    np.testing.assert_array_equal(a.history["train_loss"], b.history["train_loss"])
    assert a.last_dropout_masks and a.last_dropout_masks[0].shape[1] == 8
    assert 0.4 < a.last_dropout_masks[0].mean() < 0.95


def test_reset_keeps_or_redraws_initial_weights():
    t = Trainer(cfg(), circle())
    initial = t.network.params.copy()
    t.train(10)
    assert not np.array_equal(t.network.params, initial)
    t.reset()
    np.testing.assert_array_equal(t.network.params, initial)
    assert t.epoch == 0 and len(t.history) == 0
    seed = t.config.architecture.seed
    t.reset(redraw=True)
    assert t.config.architecture.seed != seed
    assert not np.array_equal(t.network.params, initial)


def test_live_changes_keep_weights_and_history():
    t = Trainer(cfg(), circle())
    t.train(10)
    before = t.network.params.copy()
    new = t.config.copy()
    new.optimizer.learning_rate = 0.3
    new.optimizer.name = "adam"
    new.regularization.l2 = 0.01
    new.regularization.dropout = 0.2
    new.schedule.name = "exponential"
    new.optimizer.batch_size = 0
    assert t.set_config(new) is False
    np.testing.assert_array_equal(t.network.params, before)
    t.train(5)
    assert t.epoch == 15 and len(t.history) == 15
    assert t.history["learning_rate"][-1] == pytest.approx(0.3 * 0.99**14)
    assert t.history["penalty"][-1] > 0
    # an architecture change rebuilds and resets
    arch = t.config.copy()
    arch.architecture.hidden_layers = [3]
    assert t.set_config(arch) is True
    assert t.epoch == 0 and t.network.sizes == [2, 3, 1]


def test_learning_rate_change_really_changes_the_step():
    slow, fast = Trainer(cfg(), circle()), Trainer(cfg(), circle())
    c = fast.config.copy()
    c.optimizer.learning_rate = 0.3
    fast.set_config(c)
    p0 = slow.network.params.copy()
    slow.step_epoch()
    fast.step_epoch()
    assert np.linalg.norm(fast.network.params - p0) > 3 * np.linalg.norm(slow.network.params - p0)


def test_divergence_stops_with_a_clear_reason_and_keeps_finite_weights():
    pts = circle()
    big = PointSet(pts.xy * 1e3, pts.xy[:, 0] * 1e3, pts.role)
    t = Trainer(cfg(problem="regression", optimizer__learning_rate=5.0, architecture__activation="relu",
                    architecture__hidden_layers=[8, 8]), big)
    ran = t.train(200)
    assert t.stop_info is not None and t.stop_info.kind == "diverged"
    assert "lower learning rate" in t.stop_info.message
    assert ran < 200
    assert np.isfinite(t.network.params).all()
    assert len(t.history) == t.epoch and np.isfinite(t.history["train_loss"]).all()
    assert t.step_epoch() is False  # stays stopped until resumed


def test_early_stopping_stops_and_restores_the_best_weights():
    # few noisy training points and a big net: test loss has a minimum, then rises
    pts = circle(n=60, noise=0.25, seed=3)
    c = cfg(architecture__hidden_layers=[32, 32], optimizer__name="adam", optimizer__learning_rate=0.02,
            optimizer__batch_size=0, early_stopping__enabled=True, early_stopping__patience=40)
    t = Trainer(c, pts)
    t.train(5000)
    assert t.stop_info is not None and t.stop_info.kind == "early_stopping"
    assert t.best_epoch is not None and t.best_epoch == t.epoch - 40
    assert f"epoch {t.best_epoch}" in t.stop_info.message
    test_loss = t.history["test_loss"]     # NaN in epochs not evaluated
    assert test_loss[t.best_epoch - 1] == pytest.approx(np.nanmin(test_loss))
    assert test_loss[-1] > np.nanmin(test_loss)
    # the restored weights reproduce the best test loss
    F, y = t._sets[1]
    assert t.network.loss(t.network.predict_logits(F), y) == pytest.approx(np.nanmin(test_loss))


def test_l1_gives_sparser_weights_than_l2():
    base = dict(architecture__hidden_layers=[8, 8], architecture__features=["x1", "x2", "x1^2", "x2^2", "x1*x2",
                                                                               "sin_x1", "sin_x2"],
                optimizer__learning_rate=0.03)
    l1 = Trainer(cfg(regularization__l1=0.003, **base), circle())
    l2 = Trainer(cfg(regularization__l2=0.003, **base), circle())
    l1.train(300)
    l2.train(300)
    assert l1.history["near_zero"][-1].mean() > l2.history["near_zero"][-1].mean() + 0.1


def test_records_separate_data_loss_and_penalty():
    t = Trainer(cfg(regularization__l2=0.1), circle())
    t.train(3)
    w = t.network.params[: t.network.n_weights]
    assert t.history["penalty"][-1] == pytest.approx(0.05 * np.dot(w, w))
    assert t.history["train_loss"][-1] < 1.0
    assert np.isnan(t.history["validation_loss"]).all()   # no validation points: not available


def test_deep_sigmoid_gradients_vanish_towards_the_input():
    t = Trainer(cfg(architecture__hidden_layers=[8] * 8, architecture__activation="sigmoid"), circle())
    t.train(5)
    g = t.history["grad_norm"][-1]
    assert g[0] < g[-1] / 100


def test_multiclass_and_new_class_rebuilds_output():
    t = Trainer(cfg(architecture__hidden_layers=[8]), blobs(k=3))
    t.train(100)
    assert t.network.sizes[-1] == 3 and t.history["train_error"][-1] < 0.1
    p = t.predict(np.array([[0.0, 3.0]]))
    assert p.shape == (1, 3) and p.argmax() == 2
    assert t.set_points(blobs(k=4)) is True and t.network.sizes[-1] == 4


def test_no_training_points_is_a_stop_reason_not_a_crash():
    pts = circle()
    only_test = PointSet(pts.xy, pts.target, np.ones(len(pts), np.int8))
    t = Trainer(cfg(), only_test)
    assert t.step_epoch() is False and t.stop_info.kind == "no_training_points"
    t.set_points(pts)
    assert t.step_epoch() is True


def test_classification_rejects_real_valued_targets():
    from nnviz.errors import DataError
    pts = circle()
    with pytest.raises(DataError):
        Trainer(cfg(), PointSet(pts.xy, pts.xy[:, 0], pts.role))


def test_boundary_image_matches_predictions():
    t = Trainer(cfg(), circle())
    t.train(50)
    img = t.boundary((-5, 5, -5, 5), 40, 30)
    assert img.shape == (30, 40) and img.dtype == np.float32
    # pixel (row 0, col 0) is centred at (xmin + dx/2, ymin + dy/2)
    centre = np.array([[-5 + 10 / 80, -5 + 10 / 60]])
    assert img[0, 0] == pytest.approx(t.predict(centre)[0], abs=1e-5)
    assert img[15, 20] == pytest.approx(t.predict(np.array([[0.125, 0.1666667]]))[0], abs=1e-4)


def test_engine_and_data_never_import_qt():
    code = ("import sys, nnviz.engine, nnviz.data, nnviz.engine.trainer; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6', 'PyQt5', "
            "'PyQt6')]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_config_rejects_nonsense_with_the_field_named():
    from nnviz.errors import ConfigError
    bad = [({"optimizer": {"learning_rate": 10**400}}, "optimizer.learning_rate"),
           ({"optimizer": {"batch_size": 2.5}}, "optimizer.batch_size"),
           ({"architecture": {"hidden_layers": [8] * 17}}, "architecture.hidden_layers"),
           ({"architecture": {"features": ["x1", "x1"]}}, "architecture.features"),
           ({"architecture": {"activation": "swish"}}, "architecture.activation"),
           ({"early_stopping": {"enabled": "yes"}}, "early_stopping.enabled"),
           ({"regularization": {"l2": float("nan")}}, "regularization.l2"),
           ({"optimiser": {}}, "config.optimiser")]
    for doc, field in bad:
        with pytest.raises(ConfigError) as info:
            ExperimentConfig.from_dict(doc)
        assert field in str(info.value) and len(str(info.value)) < 200


def test_an_interrupted_epoch_is_undone_exactly(monkeypatch):
    import nnviz.engine.trainer as trainer_module
    monkeypatch.setattr(trainer_module, "INTERRUPT_CHECK_SECONDS", 0.0)   # check at every step
    c = cfg(optimizer__name="adam", optimizer__batch_size=10, regularization__dropout=0.2,
            architecture__hidden_layers=[8, 8])
    plain, cut = Trainer(c, circle()), Trainer(c, circle())
    plain.train(3)
    cut.step_epoch()
    calls = []
    cut._last_epoch_seconds = 1.0                                            # a "long" epoch
    assert cut.step_epoch(interrupt=lambda: calls.append(1) or len(calls) > 3) is False
    assert cut.stop_info is None and cut.epoch == 1 and len(calls) == 4      # cut after 3 steps
    cut.step_epoch()
    cut.step_epoch(evaluate=True)     # as train() evaluates its last epoch
    np.testing.assert_array_equal(cut.network.params, plain.network.params)
    np.testing.assert_array_equal(cut.history["train_loss"], plain.history["train_loss"])


@pytest.mark.parametrize("batch", [0, 50])
def test_batches_beyond_the_row_limit_run_in_chunks_with_the_same_result(batch):
    # a small net with a forced tiny row limit: every batch is cut into chunks whose gradients are summed,
    # and the optimiser steps once per batch, so the run equals the unchunked one up to rounding
    c = cfg(architecture__hidden_layers=[6, 5], optimizer__name="adam", optimizer__learning_rate=0.01,
            optimizer__batch_size=batch, regularization__l2=0.001)
    plain, chunked = Trainer(c, circle()), Trainer(c, circle())
    chunked.network.row_limit = 7
    plain.train(4)
    chunked.train(4)
    np.testing.assert_allclose(chunked.network.params, plain.network.params, rtol=1e-10, atol=1e-13)
    for column in ("train_loss", "test_loss", "grad_norm", "grad_mean_abs"):
        np.testing.assert_allclose(chunked.history[column], plain.history[column], rtol=1e-10)
    assert all(n <= 7 for n in chunked.network._buffers)      # no buffer for more rows than the limit


def test_training_memory_is_bounded_by_the_row_budget(monkeypatch):
    import tracemalloc
    import nnviz.engine.network as network_module
    monkeypatch.setattr(network_module, "TRAIN_BUDGET_BYTES", 1 << 20)
    pts = circle(n=10_000, train_fraction=0.5)
    t = Trainer(cfg(architecture__hidden_layers=[64, 64], architecture__activation="relu",
                    optimizer__batch_size=0), pts)
    # unchunked, the 5,000-row batch needs 5000 x 128 units x 7 buffers x 8 bytes = 36 MB of buffers
    tracemalloc.start()
    try:
        t.train(2)
        t.predict(pts.xy)
        t.boundary((-5, 5, -5, 5), 200, 200)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert t.network.row_limit < 200
    assert peak < 8e6, f"peak {peak / 1e6:.1f} MB"
    assert np.isfinite(t.history["train_loss"]).all()


def test_summary_reports_the_weights_held_and_true_epochs():
    pts = circle(n=60, noise=0.25, seed=3)
    c = cfg(architecture__hidden_layers=[32, 32], optimizer__name="adam", optimizer__learning_rate=0.02,
            optimizer__batch_size=0, early_stopping__enabled=True, early_stopping__patience=40)
    t = Trainer(c, pts)
    t.train(5000)
    s = t.summary()
    assert s["stop_kind"] == "early_stopping" and s["restored"] is True and s["epochs"] == t.epoch
    assert s["best_epoch"] == t.best_epoch == s["weights_epoch"]
    best = t.best_epoch - 1
    assert s["test_loss"] == t.history["test_loss"][best] != t.history["test_loss"][-1]
    assert s["train_error"] == t.history["train_error"][best]
    # the held weights really score that
    F, y = t._sets[1]
    assert t.network.loss(t.network.predict_logits(F), y) == pytest.approx(s["test_loss"])
    # training on after a resume: the summary follows the new weights
    t.resume()
    t.step_epoch()
    s = t.summary()
    assert s["restored"] is False and s["test_loss"] == t.history["test_loss"][-1] and s["stop_kind"] == ""


def test_summary_counts_epochs_not_history_rows():
    from nnviz.engine.history import History
    t = Trainer(cfg(), circle())
    t.history = History(t.network.n_layers, max_rows=8)
    t.train(40)
    s = t.summary()
    assert s["epochs"] == 40 and len(t.history) < 40 and s["weights_epoch"] == 40
    assert s["train_loss"] == t.history.last("train_loss") and s["restored"] is False and s["stop"] == ""
    # new points: nothing recorded describes them yet, so the summary evaluates the weights now
    t.set_points(circle(seed=5))
    fresh = t.summary()
    assert fresh["epochs"] == 40 and fresh["train_loss"] != s["train_loss"] and np.isfinite(fresh["train_loss"])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("problem", ["binary", "softmax", "regression"])
def test_no_non_finite_numbers_leak_and_no_warnings(problem):
    # a huge view box, features that overflow there, and a network with huge weights (as after a near
    # divergence): the boundary image and the predictions stay finite, with warnings raised as errors
    pts = {"binary": circle(), "softmax": blobs(k=3), "regression": None}[problem]
    if pts is None:
        base = circle()
        pts = PointSet(base.xy, base.xy[:, 0], base.role)
    c = cfg(problem="regression" if problem == "regression" else "classification",
            architecture__activation="relu", architecture__hidden_layers=[8, 8],
            architecture__features=["x1", "x2", "x1^2", "x1*x2"])
    t = Trainer(c, pts)
    t.train(3)
    extent = (-1e200, 1e200, -1e200, 1e200)
    for scale in (1.0, 1e30):
        t.network.params[:] *= scale
        img = t.boundary(extent, 30, 20)
        assert np.isfinite(img).all()
        assert np.isfinite(t.boundary((-1e6, 1e6, -1e6, 1e6), 30, 20)).all()
        p = t.predict(np.array([[1e6, -1e6], [1e6, 1e6], [0.0, 0.0], [1e300, -np.inf]]))
        assert np.isfinite(p).all()
        if problem == "binary":
            assert ((0 <= p) & (p <= 1)).all()
    # the clamp: beyond +-1e6 a pixel shows the network at the nearest coordinate inside
    t.network.params[:] /= 1e30
    far = t.boundary((1e7, 2e7, -1.0, 1.0), 4, 4)
    np.testing.assert_allclose(far[:, 0], far[:, -1])
    np.testing.assert_allclose(far[0, 0], t.predict(np.array([[1e6, -0.75]]))[0], rtol=1e-3, atol=1e-6)
    assert np.isfinite(t.summary()["train_loss"])


def test_per_step_layer_statistics_equal_the_deferred_ones(monkeypatch):
    import nnviz.engine.trainer as trainer_module
    c = cfg(architecture__hidden_layers=[8, 6, 5], optimizer__batch_size=10)
    deferred = Trainer(c, circle())
    for _ in range(3):
        deferred.step_epoch(evaluate=True)
    monkeypatch.setattr(trainer_module, "DEFERRED_STATS_LIMIT", 0)   # per-layer dots at every step
    stepwise = Trainer(c, circle())
    for _ in range(3):
        stepwise.step_epoch(evaluate=True)
    for column in ("grad_norm", "grad_mean_abs", "weight_norm", "near_zero", "train_loss"):
        np.testing.assert_allclose(stepwise.history[column], deferred.history[column], rtol=1e-12)


def test_float32_training_runs_in_float32_and_learns_like_float64():
    c32 = cfg(architecture__dtype="float32", architecture__hidden_layers=[8, 8], optimizer__name="adam",
              optimizer__learning_rate=0.01)
    a, b = Trainer(c32, circle()), Trainer(c32, circle())
    t64 = Trainer(cfg(architecture__hidden_layers=[8, 8], optimizer__name="adam", optimizer__learning_rate=0.01),
                  circle())
    for t in (a, b, t64):
        t.train(60)
    net = a.network
    assert net.params.dtype == np.float32 and net.grad.dtype == np.float32
    assert a.optimizer.m.dtype == np.float32 and a._eval_F.dtype == np.float32
    assert all(W.dtype == np.float32 for W, _ in a.weights())
    np.testing.assert_array_equal(a.history["train_loss"], b.history["train_loss"])   # reproducible
    np.testing.assert_allclose(a.history["train_loss"], t64.history["train_loss"], rtol=1e-3)
    assert a.history["train_error"][-1] < 0.1
    assert abs(a.history["test_error"][-1] - t64.history["test_error"][-1]) < 0.02
    # weights round-trip exactly, and switching precision is a rebuild
    c = Trainer(c32, circle(), weights=a.weights())
    np.testing.assert_array_equal(c.network.params, a.network.params)
    back = c32.copy()
    back.architecture.dtype = "float64"
    assert c.set_config(back) is True and c.network.params.dtype == np.float64


def test_float32_chunks_and_statistics(monkeypatch):
    import nnviz.engine.trainer as trainer_module
    c = cfg(architecture__dtype="float32", architecture__hidden_layers=[6, 5], optimizer__batch_size=0,
            optimizer__name="momentum")
    plain, chunked = Trainer(c, circle()), Trainer(c, circle())
    chunked.network.row_limit = 9
    monkeypatch.setattr(trainer_module, "DEFERRED_STATS_LIMIT", 0)
    stepwise = Trainer(c, circle())
    for t in (plain, chunked, stepwise):
        t.train(5)
    np.testing.assert_allclose(chunked.network.params, plain.network.params, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(stepwise.history["grad_norm"], plain.history["grad_norm"], rtol=1e-5)
    assert np.isfinite(plain.boundary((-5, 5, -5, 5), 10, 10)).all()


def test_chunked_batches_with_dropout_are_reproducible():
    c = cfg(architecture__hidden_layers=[6, 5], optimizer__batch_size=0, regularization__dropout=0.3)
    a, b = Trainer(c, circle()), Trainer(c, circle())
    a.network.row_limit = b.network.row_limit = 7
    a.train(3)
    b.train(3)
    np.testing.assert_array_equal(a.network.params, b.network.params)
    assert np.isfinite(a.history["train_loss"]).all()
    assert a.last_dropout_masks and all(m.shape[0] <= 7 for m in a.last_dropout_masks)   # the last chunk's


def test_an_oversized_boundary_image_is_refused_with_a_clear_error():
    from nnviz.errors import NnvizError
    t = Trainer(cfg(), circle())
    with pytest.raises(NnvizError, match="at most"):
        t.boundary((-5, 5, -5, 5), 5000, 5000)
    assert t.boundary((-5, 5, -5, 5), 0, 0).shape == (0, 0)


def _assert_history_round_trips(h):
    """Every value finite or NaN (missing), and both serialisations give the same history back."""
    from nnviz.engine.history import LAYER_COLUMNS, SCALAR_COLUMNS, History
    arrays = h.to_arrays()
    for c in SCALAR_COLUMNS + LAYER_COLUMNS:
        assert not np.isinf(arrays[c]).any(), c
    for back in (History.from_arrays(arrays), History.from_dict(h.to_dict())):
        assert len(back) == len(h)
        for c in SCALAR_COLUMNS + LAYER_COLUMNS:
            np.testing.assert_array_equal(back[c], h[c])


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "rmsprop", "adam"])
@pytest.mark.parametrize("l1, l2", [(1.0, 0.0), (0.0, 1.0), (0.5, 0.5)])
def test_a_penalty_or_weight_norm_that_overflows_is_a_divergence_not_an_inf_row(optimizer, l1, l2):
    # monkey F1: weights so big that the penalty (or the weight norm) overflows while tanh keeps the data
    # loss finite. The old trainer recorded penalty = inf for such epochs, and History.from_arrays of the
    # session's state reply refused it. Now such an epoch is diverged: undone, no row, last finite weights.
    for scale in (1e155, 1e154):   # each weight's square overflows / only their sum does (L2 may shrink it back)
        t = Trainer(cfg(optimizer__name=optimizer, optimizer__learning_rate=0.05, architecture__activation="tanh",
                        regularization__l1=l1, regularization__l2=l2), circle())
        assert t.train(5) == 5
        nw = t.network.n_weights
        t.network.params[:nw] = np.where(t.network.params[:nw] < 0, -scale, scale)
        t.train(5)
        assert len(t.history) == t.epoch and np.isfinite(t.network.params).all()
        _assert_history_round_trips(t.history)
        assert np.isfinite(t.summary()["train_loss"])
        if scale == 1e155:
            assert t.stop_info.kind == "diverged" and t.stop_info.epoch == 6 and t.epoch == 5
            assert (np.abs(t.network.params[:nw]) == scale).all()   # the last finite weights were kept


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "rmsprop", "adam"])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_diverging_runs_with_penalties_keep_a_history_that_round_trips(optimizer, activation):
    # the monkey's run (circle, tanh, SGD, lr 1.5, L2 10) and its kin: whatever stops them, the history holds
    # only finite numbers (NaN where a value does not exist) and survives to_arrays/from_arrays, to_dict/from_dict
    for lr, l1, l2 in ((1.5, 0.0, 10.0), (10.0, 1.0, 1.0), (10.0, 10.0, 0.0)):
        t = Trainer(cfg(optimizer__name=optimizer, optimizer__learning_rate=lr, architecture__activation=activation,
                        regularization__l1=l1, regularization__l2=l2), circle())
        t.train(40)
        if optimizer in ("sgd", "momentum", "nesterov") and l2 and activation != "relu":
            assert t.stop_info is not None and t.stop_info.kind == "diverged"
        assert len(t.history) == t.epoch
        _assert_history_round_trips(t.history)


def test_given_weights_are_the_initial_weights_reset_returns_to():
    seed_trainer = Trainer(cfg(), circle())
    fixed = [(np.full(W.shape, 2.0), np.full(b.shape, 0.5)) for W, b in seed_trainer.weights()]
    t = Trainer(cfg(), circle(), fixed)
    t.train(3)
    t.reset()
    for (W, b), (W0, b0) in zip(t.weights(), fixed):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
    t.reset(redraw=True)
    assert not t.has_initial_weights and not np.array_equal(t.weights()[0][0], fixed[0][0])
    with pytest.raises(ValueError, match="do not fit"):
        t.set_initial_weights(fixed[:1])
