"""The comparison lessons (issue 7, section 5): each one's runs, trained headless with fixed seeds as
`nnviz train LESSON` trains them, really show what the lesson text promises."""
import functools
import re

import numpy as np
import pytest

from nnviz.data.points import TRAIN
from nnviz.engine import Trainer
from nnviz.engine.features import feature_matrix
from nnviz.experiment import Experiment, experiment_from_json, experiment_to_json
from nnviz.presets import PRESETS, SPEED_CHOICES, RunSpec, get_preset

COMPARISONS = ("train-vs-test", "model-size", "large-weights", "l1-vs-l2", "dropout-vs-none", "sigmoid-vs-relu",
               "learning-rates")


def start(name: str) -> dict[str, Trainer]:
    """label -> a fresh trainer per run, from the run's initial weights (as `nnviz train` starts it)."""
    return {label: Trainer(exp.config, exp.points, exp.weights) for label, exp in get_preset(name).build_runs()}


@functools.lru_cache(maxsize=None)
def trained(name: str, epochs: int | None = None) -> dict[str, Trainer]:
    runs = start(name)
    for t in runs.values():
        t.train(get_preset(name).epochs if epochs is None else epochs)
    return runs


def last(t: Trainer, column: str) -> float:
    return t.history.last(column)


def evaluated(t: Trainer, column: str) -> np.ndarray:
    """A column's rows of the evaluated epochs (the others hold no gradient or test figures)."""
    rows = t.history[column]
    return rows[t.history["evaluated"] == 1.0]


def all_weights(t: Trainer) -> np.ndarray:
    return np.concatenate([W.ravel() for W, _ in t.weights()])


# -- what every comparison lesson is made of -------------------------------------------------------------

def test_the_comparison_lessons_are_exactly_these():
    assert tuple(n for n, p in PRESETS.items() if p.is_comparison) == COMPARISONS
    assert not any(PRESETS[n].runs for n in ("circle", "overfitting", "dropout", "vanishing-gradients"))


@pytest.mark.parametrize("name", COMPARISONS)
def test_a_comparison_is_one_set_of_points_and_two_to_four_labelled_runs(name):
    preset = get_preset(name)
    assert 2 <= len(preset.runs) <= 4 and all(isinstance(r, RunSpec) for r in preset.runs)
    labels = [r.label for r in preset.runs]
    assert len(set(labels)) == len(labels) and all(0 < len(label) <= 30 for label in labels)
    slugs = [r.slug for r in preset.runs]      # file names of `nnviz train --csv/--save`
    assert len(set(slugs)) == len(slugs) and all(re.fullmatch(r"[a-z0-9][a-z0-9.-]*", s) for s in slugs)
    assert preset.speed in SPEED_CHOICES and preset.speed > 0 and preset.epochs > 0
    runs = preset.build_runs()
    assert [label for label, _ in runs] == labels
    points = runs[0][1].points
    for (_, exp), run in zip(runs, preset.runs):
        assert isinstance(exp, Experiment) and exp.points is points, "all runs share one PointSet"
        assert exp.name == preset.title and exp.description == preset.lesson
        exp.config.validate()
        assert exp.config == preset.config(run)
        assert experiment_from_json(experiment_to_json(exp)) == exp
    configs = [exp.config.to_dict() for _, exp in runs]
    assert all(a != b or ra.weights != rb.weights for i, (a, ra) in enumerate(zip(configs, preset.runs))
               for b, rb in zip(configs[i + 1:], preset.runs[i + 1:])), "every run differs from the others"
    # fresh objects each time; build() (one run at a time) is the first run
    again = preset.build_runs()
    assert again[0][1] == runs[0][1] and again[0][1] is not runs[0][1]
    again[0][1].config.architecture.hidden_layers.append(3)
    assert preset.build_runs()[0][1] == runs[0][1] == preset.build()
    assert 1 <= len(re.findall(r"[.!?](\s|$)", preset.lesson)) <= 3


def test_a_single_run_lesson_builds_one_run_named_after_it():
    runs = get_preset("spiral").build_runs()
    assert len(runs) == 1 and runs[0][0] == "spiral" and runs[0][1] == get_preset("spiral").build()


# -- each comparison shows its effect ----------------------------------------------------------------------

def test_train_vs_test_complex_model_has_lower_train_and_higher_test_error():
    simple, complex_ = trained("train-vs-test").values()
    assert simple.network.sizes == [2, 1] and complex_.network.sizes == [2, 32, 32, 32, 1]
    assert last(complex_, "train_error") < last(simple, "train_error") - 0.05       # measured 0.0 vs 0.10
    assert last(complex_, "test_error") > last(simple, "test_error") + 0.05         # measured 0.16 vs 0.06
    assert last(complex_, "test_loss") > 3 * last(simple, "test_loss")


def test_model_size_train_error_falls_with_size_and_test_error_is_lowest_in_the_middle():
    small, right, big = trained("model-size").values()
    assert small.network.n_weights < right.network.n_weights < big.network.n_weights
    train = [last(t, "train_error") for t in (small, right, big)]
    test = [last(t, "test_error") for t in (small, right, big)]
    assert train[0] > train[1] > train[2]                        # measured 12.7%, 2.7%, 0%
    assert test[1] < min(test[0], test[2]) - 0.04                # measured 20.0%, 12.7%, 20.0%


def _per_point_gradients(t: Trainer) -> np.ndarray:
    """max |dL/dw| over all weights and the bias, for each training point alone (the engine's backward)."""
    xy, target = t.points.subset(TRAIN)
    F = feature_matrix(xy, t.config.architecture.features)
    net = t.network
    out = []
    for i in range(len(F)):
        inputs, logits = net.forward(F[i:i + 1])
        net.backward(inputs, logits, target[i:i + 1].reshape(-1, 1))
        out.append(np.abs(net.grad).max())
    return np.array(out)


def test_large_weights_same_line_steeper_probabilities_and_vanishing_gradients():
    one, ten = start("large-weights").values()
    assert one.network.sizes == ten.network.sizes == [2, 1]
    np.testing.assert_array_equal(one.weights()[0][0], [[1.0], [1.0]])
    np.testing.assert_array_equal(ten.weights()[0][0], [[10.0], [10.0]])
    # the same boundary line: every point of a grid over the canvas gets the same class
    g = np.linspace(-6, 6, 121)
    grid = np.column_stack([a.ravel() for a in np.meshgrid(g, g)])
    grid = grid[np.abs(grid.sum(axis=1)) > 1e-9]    # on the line itself p = 0.5 up to rounding
    np.testing.assert_array_equal(one.predict_class(grid), ten.predict_class(grid))
    # steeper: the band of uncertain probabilities (0.1 .. 0.9) is ten times thinner
    band = [np.mean(np.abs(t.predict(grid) - 0.5) < 0.4) for t in (one, ten)]
    assert band[1] < band[0] / 5                                              # measured 0.26 vs 0.026
    # the gradient vanishes for most points with the large weights, for almost none with the small ones
    share = [np.mean(_per_point_gradients(t) < 1e-3) for t in (one, ten)]
    assert share[0] < 0.05 and share[1] > 0.9                                 # measured 0.0 vs 0.99
    # training: the small weights keep learning (they grow), the large ones hardly move
    for t in (one, ten):
        t.train(get_preset("large-weights").epochs)
    grad = [evaluated(t, "grad_norm")[:, 0].mean() for t in (one, ten)]
    assert grad[1] < grad[0] / 20                                             # measured ~100x
    w1, w10 = one.weights()[0][0].ravel(), ten.weights()[0][0].ravel()
    assert w1.min() > 1.3 and np.abs(w10 - 10).max() < 0.1
    assert last(one, "test_error") == last(ten, "test_error") < 0.05          # measured 0.01 both


def test_l1_gives_sparse_weights_and_l2_small_even_ones():
    l1, l2 = trained("l1-vs-l2").values()
    w1, w2 = np.abs(all_weights(l1)), np.abs(all_weights(l2))
    near1, near2 = np.mean(w1 < 1e-3), np.mean(w2 < 1e-3)
    assert near1 > 0.6 and near2 < 0.05                                       # measured 0.80 vs 0.01
    assert l1.history["near_zero"][-1].mean() > 0.5 > 0.05 > l2.history["near_zero"][-1].mean()
    assert w2.max() < 0.5 * w1.max()                                          # measured 0.61 vs 2.37
    assert w2.std() / w2.mean() < 0.5 * w1.std() / w1.mean()                  # measured 0.96 vs 4.3
    assert max(last(l1, "test_error"), last(l2, "test_error")) < 0.06         # both still learn


def test_dropout_narrows_the_gap_between_train_and_test_loss():
    none, dropout = trained("dropout-vs-none").values()
    gap = [last(t, "test_loss") - last(t, "train_loss") for t in (none, dropout)]
    assert last(none, "train_loss") < 0.01
    assert gap[1] < gap[0] / 3                                                # measured 0.19 vs 1.14


def test_sigmoid_gradients_are_orders_of_magnitude_apart_relu_ones_are_not():
    sigmoid, relu = trained("sigmoid-vs-relu").values()
    for t in (sigmoid, relu):
        assert t.network.n_layers == 9
    gs, gr = evaluated(sigmoid, "grad_norm"), evaluated(relu, "grad_norm")
    assert len(gs) > 20 and len(gr) > 20
    assert np.all(gs[:, -1] > 1000 * gs[:, 0])          # every evaluated epoch; measured 4.4e4 .. 1.0e5
    assert np.all(gs[:, 0] < gs[:, 4]) and np.all(gs[:, 4] < gs[:, -1])   # shrinking on the way to the input
    spread = gr.max(axis=1) / gr.min(axis=1)            # largest / smallest layer's gradient, each epoch
    assert np.all(spread < 30)                          # measured 2.2 .. 17
    assert last(sigmoid, "train_loss") > 0.69 and last(relu, "train_error") < 0.05


def test_learning_rates_too_large_oscillates_too_small_crawls_decay_gets_both():
    large, small, decay = trained("learning-rates").values()
    loss = {k: t.history["train_loss"] for k, t in (("large", large), ("small", small), ("decay", decay))}
    rises = {k: np.sum(np.diff(v) / v[:-1] > 0.05) for k, v in loss.items()}    # loss up by > 5% in an epoch
    late = {k: np.sum(np.diff(v)[-200:] / v[-201:-1] > 0.05) for k, v in loss.items()}
    assert rises["large"] > 80 and late["large"] > 50                             # measured 117, 73
    assert rises["small"] == 0 and late["decay"] == 0
    assert loss["small"][19] > 2 * loss["decay"][19]                               # epoch 20: 0.82 vs 0.30
    assert loss["decay"][-1] < 0.8 * min(loss["large"][-1], loss["small"][-1])     # 0.233 vs 0.335, 0.299
    assert decay.history["learning_rate"][-1] < 0.001
