"""The runs of a comparison as changes to one configuration (nnviz.compare_variants, Qt-free)."""
from __future__ import annotations

import pytest

from nnviz.compare_variants import apply_changes, describe, diff_changes, layers_text, variant_choices
from nnviz.engine.config import ExperimentConfig
from nnviz.errors import ConfigError
from nnviz.presets import PRESETS, get_preset


def config(**sections) -> ExperimentConfig:
    return apply_changes(ExperimentConfig(), sections)


# -- apply_changes ---------------------------------------------------------------------------------------

def test_apply_changes_puts_fields_on_top_and_leaves_the_rest():
    base = config(architecture={"hidden_layers": [8, 8]}, optimizer={"learning_rate": 0.1})
    out = apply_changes(base, {"regularization": {"l2": 0.03}, "architecture": {"activation": "relu"}})
    assert out.regularization.l2 == 0.03 and out.architecture.activation == "relu"
    assert out.architecture.hidden_layers == [8, 8] and out.optimizer.learning_rate == 0.1
    assert base.regularization.l2 == 0.0 and base.architecture.activation == "tanh"   # base untouched
    assert apply_changes(base, {}) is not base and apply_changes(base, {}).to_dict() == base.to_dict()


def test_apply_changes_does_not_share_lists_with_the_changes():
    changes = {"architecture": {"hidden_layers": [3, 3]}}
    out = apply_changes(ExperimentConfig(), changes)
    out.architecture.hidden_layers.append(9)
    assert changes == {"architecture": {"hidden_layers": [3, 3]}}


@pytest.mark.parametrize("changes, field", [
    ({"regularization": {"l2": -1}}, "changes.regularization.l2"),
    ({"architecture": {"activation": "softplus"}}, "changes.architecture.activation"),
    ({"optimizer": {"speed": 3}}, "changes.optimizer.speed"),
    ({"nonsense": {"x": 1}}, "changes.nonsense"),
    ({"regularization": 0.03}, "changes.regularization"),
    ([("l2", 0.03)], "changes"),
])
def test_apply_changes_refuses_bad_changes_naming_the_field(changes, field):
    with pytest.raises(ConfigError) as info:
        apply_changes(ExperimentConfig(), changes)
    assert info.value.field == field


def test_apply_changes_names_the_path_it_is_given():
    with pytest.raises(ConfigError, match=r"^comparison\[2\]\.changes\.optimizer\.learning_rate: "):
        apply_changes(ExperimentConfig(), {"optimizer": {"learning_rate": 0}}, path="comparison[2].changes")


# -- diff_changes ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [n for n, p in PRESETS.items() if p.is_comparison])
def test_diff_changes_of_every_lesson_run_gives_that_run_back(name):
    preset = get_preset(name)
    base = preset.config(preset.runs[0])
    for run in preset.runs:
        other = preset.config(run)
        diff = diff_changes(base, other)
        assert apply_changes(base, diff).to_dict() == other.to_dict()
        # minimal: every field named differs
        for section, fields in diff.items():
            for key, value in fields.items():
                assert base.to_dict()[section][key] != value
    assert diff_changes(base, base) == {}


def test_diff_changes_is_minimal():
    base = ExperimentConfig()
    other = config(regularization={"l2": 0.03}, architecture={"hidden_layers": [4, 2], "activation": "relu"})
    assert diff_changes(base, other) == {"regularization": {"l2": 0.03}, "architecture": {"activation": "relu"}}
    assert diff_changes(base, config(problem="regression")) == {"problem": "regression"}


# -- describe --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("base, changes, label", [
    ({}, {"regularization": {"l2": 0.03}}, "L2 0.03"),
    ({"regularization": {"l1": 0.01}}, {"regularization": {"l1": 0.0, "l2": 0.03}}, "L2 0.03"),
    ({}, {"regularization": {"l1": 0.003}}, "L1 0.003"),
    ({"regularization": {"l2": 0.03}}, {"regularization": {"l2": 0.0}}, "no regularization"),
    ({}, {"architecture": {"activation": "relu"}}, "ReLU"),
    ({}, {"architecture": {"hidden_layers": [8, 8, 8]}}, "3 x 8 neurons"),
    ({}, {"architecture": {"hidden_layers": [1]}}, "1 neuron"),
    ({}, {"architecture": {"hidden_layers": []}}, "no hidden layer"),
    ({}, {"optimizer": {"learning_rate": 0.3}}, "lr 0.3"),
    ({}, {"regularization": {"dropout": 0.3}}, "dropout 0.3"),
    ({"regularization": {"dropout": 0.5}}, {"regularization": {"dropout": 0.0}}, "no dropout"),
    ({}, {"schedule": {"name": "exponential", "decay_rate": 0.97}}, "lr decay"),
    ({"schedule": {"name": "step"}}, {"schedule": {"name": "constant"}}, "constant lr"),
    ({}, {"architecture": {"activation": "relu", "init": "he"}}, "ReLU, He init"),
    ({}, {}, "same settings"),
])
def test_describe_names_what_differs(base, changes, label):
    assert describe(config(**base), changes) == label


def test_describe_does_not_mention_the_activation_when_only_the_layer_count_changes():
    assert describe(ExperimentConfig(), {"architecture": {"hidden_layers": [4, 2, 2]}}) == "4-2-2 neurons"


def test_layers_text():
    assert [layers_text(h) for h in ([], [1], [8], [32, 32, 32], [8, 4])] == \
        ["no hidden layer", "1 neuron", "8 neurons", "3 x 32 neurons", "8-4 neurons"]


# -- variant_choices ("Compare with...") -----------------------------------------------------------------

def _choices(cfg):
    return {text: changes for text, changes in variant_choices(cfg)}


def test_every_choice_changes_exactly_one_setting_and_makes_valid_settings():
    for name in ("circle", "spiral", "overfitting", "dropout", "lr-decay", "underfitting", "l1-sparsity"):
        base = get_preset(name).build().config
        choices = variant_choices(base)
        assert choices and len({t for t, _ in choices}) == len(choices)
        for text, changes in choices:
            other = apply_changes(base, changes)
            assert other.to_dict() != base.to_dict(), text
            label = describe(base, changes)
            assert label != "same settings" and ", " not in label, (text, label)   # one setting


def test_the_choices_cover_each_kind_of_setting():
    base = config(architecture={"hidden_layers": [8, 8], "activation": "tanh"}, optimizer={"learning_rate": 0.03})
    labels = {describe(base, c) for _, c in variant_choices(base)}
    assert {"ReLU", "sigmoid", "L1 0.01", "L2 0.03", "dropout 0.5", "3 x 8 neurons", "8 neurons",
            "2 x 16 neurons", "2 x 4 neurons", "lr 0.3", "lr 0.003", "lr decay"} <= labels
    assert "tanh" not in labels                                    # not the activation it has


def test_choices_turn_settings_off_that_are_on():
    base = config(architecture={"hidden_layers": [8]}, regularization={"l2": 0.01, "dropout": 0.3},
                  schedule={"name": "step"})
    labels = {describe(base, c) for _, c in variant_choices(base)}
    assert {"no regularization", "no dropout", "constant lr", "L1 0.01"} <= labels
    assert "L2 0.01" not in labels and "no hidden layer" in labels


def test_choices_stay_within_the_limits():
    base = config(architecture={"hidden_layers": [512] * 16}, optimizer={"learning_rate": 10.0})
    labels = {describe(base, c) for _, c in variant_choices(base)}
    assert "lr 1" in labels and not any(label.startswith("lr 100") for label in labels)
    assert "16 x 256 neurons" in labels and "15 x 512 neurons" in labels
    assert not any("17 x" in label or "1024" in label for label in labels)
    linear = config(architecture={"hidden_layers": []})
    labels = {describe(linear, c) for _, c in variant_choices(linear)}
    assert "4 neurons" in labels and not any("dropout" in label or label in ("ReLU", "sigmoid") for label in labels)


def test_per_layer_settings_follow_a_layer_change():
    base = config(architecture={"hidden_layers": [8, 8], "layer_activations": ["relu", None]},
                  regularization={"layer_dropout": [0.2, None]})
    choices = _choices(base)
    more = apply_changes(base, choices["One layer more: 3 x 8 neurons"])
    assert more.architecture.layer_activations == ["relu", None, None]
    assert more.regularization.layer_dropout == [0.2, None, None]
    relu = apply_changes(base, choices["Activation: ReLU"])
    assert relu.hidden_activations() == ["relu", "relu"]
