"""The built-in lessons: each one builds, and each one really shows what its lesson text promises."""
import functools
import re

import numpy as np
import pytest

from nnviz.data.points import TEST, TRAIN
from nnviz.engine import Trainer
from nnviz.errors import NnvizError
from nnviz.experiment import experiment_from_json, experiment_to_json
from nnviz.presets import DEFAULT_PRESET, PRESETS, Preset, get_preset, preset_names

EXPECTED = ("circle", "spiral", "underfitting", "overfitting", "early-stopping", "l1-sparsity", "l2-weight-decay",
            "dropout", "vanishing-gradients", "lr-decay", "multiclass", "regression", "model-complexity",
            # comparisons (several runs side by side): their effects are tested in test_compare_lessons.py
            "train-vs-test", "model-size", "large-weights", "l1-vs-l2", "dropout-vs-none", "sigmoid-vs-relu",
            "learning-rates")


def make_trainer(name: str, **changes) -> Trainer:
    """A trainer for the preset, with config fields changed, e.g. ``schedule__name="constant"``."""
    exp = get_preset(name).build()
    for path, value in changes.items():
        section, field = path.split("__")
        setattr(getattr(exp.config, section), field, value)
    return Trainer(exp.config, exp.points)


@functools.lru_cache(maxsize=None)
def trained(name: str, epochs: int | None = None) -> Trainer:
    """The preset trained for ``epochs`` (default: its own length); shared by tests that only read it."""
    t = make_trainer(name)
    t.train(get_preset(name).epochs if epochs is None else epochs)
    return t


def final_gap(t: Trainer) -> float:
    return t.history.last("test_loss") - t.history.last("train_loss")


# -- the catalogue -------------------------------------------------------------------------------------------

def test_catalogue_names_default_and_lookup():
    assert preset_names() == list(EXPECTED)
    assert DEFAULT_PRESET == "circle" and DEFAULT_PRESET in PRESETS
    assert get_preset("spiral") is PRESETS["spiral"]
    with pytest.raises(NnvizError) as err:
        get_preset("spirals")
    assert "spirals" in str(err.value) and all(name in str(err.value) for name in EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_every_preset_builds_a_valid_fresh_experiment(name):
    preset = get_preset(name)
    assert isinstance(preset, Preset) and preset.name == name and preset.epochs > 0
    exp = preset.build()
    exp.config.validate()
    assert exp.name == preset.title and exp.description == preset.lesson
    assert 1 <= len(re.findall(r"[.!?](\s|$)", preset.lesson)) <= 3, "a lesson is one to three sentences"
    assert exp.points.count(TRAIN) > 0 and exp.points.count(TEST) > 0
    # deterministic, and every build is a new object the caller may change
    again = preset.build()
    assert again == exp and again is not exp and again.config is not exp.config
    again.config.optimizer.learning_rate = 0.5
    again.config.architecture.hidden_layers.append(3)
    again.config.architecture.features.clear()
    assert preset.build() == exp
    # it trains, and what the app would save loads back
    Trainer(exp.config, exp.points).train(1)
    assert experiment_from_json(experiment_to_json(exp)) == exp


def test_circle_is_playgrounds_opening_experiment_and_learns():
    exp = get_preset("circle").build()
    arch, opt = exp.config.architecture, exp.config.optimizer
    assert (arch.hidden_layers, arch.activation, arch.features) == ([4, 2], "tanh", ["x1", "x2"])
    assert (opt.name, opt.learning_rate, opt.batch_size) == ("sgd", 0.03, 10)
    assert exp.points.count(TRAIN) == exp.points.count(TEST)
    t = trained("circle", 150)
    assert t.history.last("train_error") < 0.05 and t.history.last("test_error") < 0.05


# -- each lesson shows its effect ----------------------------------------------------------------------------

def test_spiral_deep_network_gets_under_five_percent_training_error():
    preset = get_preset("spiral")
    exp = preset.build()
    assert exp.config.architecture.hidden_layers == [8] * 6 and exp.config.architecture.activation == "tanh"
    assert exp.points.count(TRAIN) == 250 and len(exp.points) == 500
    assert (exp.config.optimizer.name, exp.config.optimizer.learning_rate, exp.config.optimizer.batch_size) == \
        ("sgd", 0.03, 10)
    t = trained("spiral")   # exactly what `nnviz train spiral` runs
    assert t.epoch == preset.epochs
    assert t.history.last("train_error") < 0.05


def test_underfitting_linear_model_stays_wrong_until_it_gets_curved_features():
    t = trained("underfitting", 100)
    assert t.network.sizes == [2, 1]
    assert t.history.last("train_error") > 0.3 and t.history.last("test_error") > 0.3
    # the lesson's fix works: the same linear model with x1² and x2² separates disc and ring
    fixed = make_trainer("underfitting", architecture__features=["x1", "x2", "x1^2", "x2^2"])
    fixed.train(100)
    assert fixed.history.last("test_error") < 0.1


def test_overfitting_test_loss_turns_up_while_training_loss_keeps_falling():
    t = trained("overfitting")
    train_loss, test_loss = t.history["train_loss"], t.history["test_loss"]   # test: NaN when not evaluated
    best = int(np.nanargmin(test_loss))
    assert 5 <= best < len(test_loss) - 100, "the minimum lies inside the run, not at either end"
    assert test_loss[-1] > 2 * test_loss[best]
    assert train_loss[-1] < 0.2 * train_loss[best]
    assert train_loss[-1] <= 1.01 * train_loss[best:].min()


def test_early_stopping_stops_near_the_minimum_and_restores_the_best_weights():
    preset = get_preset("early-stopping")
    t = trained("early-stopping")
    assert t.stop_info is not None and t.stop_info.kind == "early_stopping"
    assert t.epoch < preset.epochs
    test_loss = t.history["test_loss"]   # NaN in epochs not evaluated
    assert t.best_epoch == int(np.nanargmin(test_loss)) + 1
    assert t.epoch == t.best_epoch + t.config.early_stopping.patience
    xy, target = t.points.subset(TEST)
    p = np.clip(np.ravel(t.predict(xy)), 1e-12, 1 - 1e-12)
    restored = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
    assert restored == pytest.approx(np.nanmin(test_loss), rel=1e-6)
    assert restored < 0.5 * trained("overfitting").history.last("test_loss")


def test_l1_zeroes_many_weights_while_l2_keeps_them_small_but_nonzero():
    epochs = 100
    l1, l2 = trained("l1-sparsity", epochs), trained("l2-weight-decay", epochs)
    assert l1.config.architecture.features == l2.config.architecture.features and \
        len(l1.config.architecture.features) == 7
    l1_zero, l2_zero = l1.history["near_zero"][-1].mean(), l2.history["near_zero"][-1].mean()
    assert l1_zero > 0.4 and l1_zero > l2_zero + 0.3
    assert l2_zero < 0.1
    plain = make_trainer("l2-weight-decay", regularization__l2=0.0)
    plain.train(epochs)
    assert l2.history["weight_norm"][-1].sum() < 0.8 * plain.history["weight_norm"][-1].sum()
    assert max(l1.history.last("test_error"), l2.history.last("test_error")) < 0.1  # both still learn


def test_dropout_narrows_the_gap_between_training_and_test_loss():
    dropout, overfit = trained("dropout"), trained("overfitting")
    assert dropout.config.regularization.dropout >= 0.3
    assert final_gap(dropout) < 0.5 * final_gap(overfit)


def test_deep_sigmoid_gradients_vanish_towards_the_input_and_tanh_fixes_it():
    t = trained("vanishing-gradients", 5)
    grad = t.history["grad_norm"][-1]
    assert len(grad) == 9 and grad[0] < grad[-1] / 100
    tanh = make_trainer("vanishing-gradients", architecture__activation="tanh")
    tanh.train(5)
    grad = tanh.history["grad_norm"][-1]
    assert grad[0] > grad[-1] / 10


def test_lr_decay_settles_where_the_constant_rate_keeps_bouncing():
    preset = get_preset("lr-decay")
    decayed = trained("lr-decay")
    constant = make_trainer("lr-decay", schedule__name="constant")
    constant.train(preset.epochs)
    assert decayed.stop_info is None and constant.stop_info is None
    rate = decayed.history["learning_rate"]
    assert rate[0] == 1.0 and rate[-1] < rate[0] / 10
    assert decayed.history.last("train_loss") < 0.9 * constant.history.last("train_loss")
    tail = slice(-50, None)
    bounce_const = np.ptp(constant.history["train_loss"][tail])
    bounce_decay = np.ptp(decayed.history["train_loss"][tail])
    assert bounce_const > 10 * bounce_decay


def test_multiclass_softmax_separates_the_blobs():
    t = trained("multiclass", 100)
    assert t.head == "softmax" and t.network.sizes[-1] == t.points.n_classes() >= 3
    assert t.history.last("train_error") < 0.05 and t.history.last("test_error") < 0.05


def test_regression_fits_the_surface_far_better_than_its_mean():
    t = trained("regression", 200)
    assert t.head == "regression"
    _, target = t.points.subset(TRAIN)
    baseline = 0.5 * np.var(target)   # half mean squared error of predicting the mean
    assert t.history.last("train_loss") < 0.25 * baseline
    assert t.history.last("test_loss") < 0.4 * baseline


# -- what the window opens a lesson with (issue 6 items 20 and 23) -------------------------------------------

@pytest.mark.parametrize("name", EXPECTED)
def test_every_preset_opens_at_a_watchable_speed_from_the_combo(name):
    from nnviz.presets import SPEED_CHOICES
    assert SPEED_CHOICES == (0, 1, 5, 20, 60, 200, 1000)
    speed = get_preset(name).speed
    assert isinstance(speed, int) and speed in SPEED_CHOICES
    assert 0 < speed <= 1000, "a lesson opens slow enough to watch its effect form"


COLOUR_WORDS = ("red", "orange", "blue", "green", "yellow", "purple", "pink", "vermillion", "vermilion",
                "violet", "brown", "cyan", "magenta", "black", "white")


@pytest.mark.parametrize("name", EXPECTED)
def test_colours_named_in_lessons_are_class_names(name):
    from nnviz.ui.palette import CLASS_NAMES
    words = re.findall(r"[a-z]+", get_preset(name).lesson.lower())
    assert {w for w in words if w in COLOUR_WORDS} <= set(CLASS_NAMES)


def test_class_names_match_their_colours():
    from nnviz.ui.palette import CLASS_COLORS, CLASS_NAMES
    assert len(set(CLASS_NAMES)) == len(CLASS_NAMES) == len(CLASS_COLORS) == 4
    assert "red" not in CLASS_NAMES, "vermillion #D55E00 reads as orange next to the other colours"
    rgb = {n: tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for n, c in zip(CLASS_NAMES, CLASS_COLORS)}
    assert max(rgb["blue"]) == rgb["blue"][2] and max(rgb["green"]) == rgb["green"][1]
    r, g, b = rgb["orange"]
    assert r > g > b and g > 0.3 * r              # red with a clear share of green: orange, not red
    r, g, b = rgb["yellow"]
    assert min(r, g) > 200 and b < 100


def test_class_colours_stay_apart_for_colour_blind_viewers():
    """Simulated deuteranopia and protanopia (Machado et al. 2009, severity 1): every pair of class
    colours stays clearly apart (distance in sRGB after the simulation)."""
    from nnviz.ui.palette import CLASS_COLORS
    deu = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]])
    pro = np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]])
    c = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in CLASS_COLORS]) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    for m in (np.eye(3), deu, pro):
        s = np.clip(lin @ m.T, 0, 1)
        s = np.where(s <= 0.0031308, s * 12.92, 1.055 * s ** (1 / 2.4) - 0.055) * 255
        dist = np.sqrt(((s[:, None] - s[None]) ** 2).sum(-1)) + np.eye(4) * 1e9
        assert dist.min() > 60
