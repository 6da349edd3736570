"""Built-in lessons: ready-made experiments, each showing one thing about how networks learn.

Every preset is defined here in code and is deterministic: its points come from a generator seed and
its initial weights from the config's seed, so a preset always trains the same way. ``build()`` makes
a fresh :class:`Experiment` each time (the caller may edit it freely). Names are command-line
arguments (``nnviz train spiral``); the app opens with :data:`DEFAULT_PRESET`. ``speed`` is the
epochs/s cap a lesson opens with in the window: slow enough to watch its effect form.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .data.generators import generate
from .engine.config import FEATURES, ExperimentConfig
from .errors import NnvizError
from .experiment import Experiment


@dataclass(frozen=True)
class Preset:
    name: str                          # command-line name, e.g. "spiral"
    title: str                         # shown in menus; also the experiment's name
    lesson: str                        # 1-3 sentences: what to watch and what to try
    build: Callable[[], Experiment]    # a fresh experiment on every call
    epochs: int                        # a sensible default run length for `nnviz train`
    data: dict = field(default_factory=dict)   # the generator's arguments (shown in the Data panel)
    speed: int = 60                    # epochs/s cap the window opens the lesson with (0 = as fast as possible)


#: the window's speed choices (epochs per second, 0 = as fast as possible); every lesson uses one of them
SPEED_CHOICES = (0, 1, 5, 20, 60, 200, 1000)


def _config(**sections: dict[str, Any]) -> ExperimentConfig:
    """Defaults (TensorFlow Playground's) with some fields changed; validated like a file's config."""
    data = ExperimentConfig().to_dict()
    for section, changes in sections.items():
        if isinstance(data.get(section), dict):
            data[section].update(changes)
        else:
            data[section] = changes
    return ExperimentConfig.from_dict(data, path="preset config")


def _preset(name: str, title: str, lesson: str, epochs: int, data: dict[str, Any], speed: int,
            **config: dict[str, Any]) -> Preset:
    def build() -> Experiment:
        return Experiment(config=_config(**config), points=generate(**data), name=title, description=lesson)
    return Preset(name, title, lesson, build, epochs, dict(data), speed)


# The overfitting family shares one setup: 80 noisy circle points, half of them for training, and a
# net far bigger than 40 points need. Full-batch Adam makes the curves smooth, so the turn is clear.
_SMALL_NOISY = dict(kind="circle", n=80, noise=0.25, train_fraction=0.5, seed=0)
_BIG_NET = dict(hidden_layers=[32, 32, 32], activation="tanh")
_FAST_FULL_BATCH = dict(name="adam", learning_rate=0.01, batch_size=0)

_ALL_PRESETS = (
    _preset(
        "circle", "Circle (Playground default)",
        "TensorFlow Playground's opening experiment: an orange disc inside a blue ring, learned by two hidden "
        "layers of 4 and 2 tanh neurons from x1 and x2 alone. Watch the boundary close into a loop; then try "
        "removing the second layer, or giving the network x1² and x2².",
        300, dict(kind="circle", n=500, noise=0.0, train_fraction=0.5, seed=0), 60),
    _preset(
        "spiral", "Spiral (deep network)",
        "Two interleaved spirals need a deep network: six layers of eight tanh neurons. With x1 and x2 alone "
        "this net does get there, but only after many hundreds of epochs and with sudden loss spikes at this "
        "learning rate, so the preset also feeds it sin x1 and sin x2. Remove layers (one layer of 4 neurons "
        "stalls near 8% error) or the sin features, and watch how much harder it gets.",
        300, dict(kind="spiral", n=500, noise=0.0, train_fraction=0.5, seed=0), 200,
        architecture=dict(hidden_layers=[8] * 6, features=["x1", "x2", "sin_x1", "sin_x2"])),
    _preset(
        "underfitting", "Underfitting: a linear model",
        "With no hidden layer the network can only draw a straight line, and no straight line separates a "
        "disc from a ring: training and test error both stay high however long it trains. Add a hidden "
        "layer, or the x1² and x2² features, and the error falls.",
        200, dict(kind="circle", n=500, noise=0.0, train_fraction=0.5, seed=0), 60,
        architecture=dict(hidden_layers=[])),
    _preset(
        "overfitting", "Overfitting: a big net on few noisy points",
        "Three layers of 32 neurons learn 40 noisy training points by heart: the training loss keeps falling "
        "while the test loss reaches a minimum and then rises, as the boundary bends around single noisy "
        "points. The best model sits at the bottom of the test-loss curve; try fewer neurons, L2, or dropout.",
        600, _SMALL_NOISY, 60, architecture=_BIG_NET, optimizer=_FAST_FULL_BATCH),
    _preset(
        "early-stopping", "Early stopping",
        "The overfitting experiment again, with early stopping watching the test loss: training stops once "
        "it has not improved for 50 epochs and goes back to the weights of the best epoch. Compare the "
        "boundary with the overfitting preset's.",
        600, _SMALL_NOISY, 60, architecture=_BIG_NET, optimizer=_FAST_FULL_BATCH,
        early_stopping=dict(enabled=True, monitor="test_loss", patience=50, restore_best=True)),
    _preset(
        "l1-sparsity", "L1: sparse weights",
        "All seven features feed the network, but the circle only needs x1² and x2². The L1 penalty pushes "
        "unneeded weights to exactly zero: in the Weights plot the share of weights at zero climbs. "
        "Compare with the L2 preset, whose weights shrink but stay non-zero.",
        400, dict(kind="circle", n=500, noise=0.1, train_fraction=0.5, seed=0), 60,
        architecture=dict(hidden_layers=[8, 8], features=list(FEATURES)),
        regularization=dict(l1=0.01)),
    _preset(
        "l2-weight-decay", "L2: small weights",
        "The same network and features as the L1 preset, with an L2 penalty instead: every weight is pulled "
        "towards zero in proportion to its size, so weights become small and even but almost none become "
        "exactly zero (the Weights plot's Norm view shows them shrink). Raise the rate and watch the boundary "
        "smooth out.",
        400, dict(kind="circle", n=500, noise=0.1, train_fraction=0.5, seed=0), 60,
        architecture=dict(hidden_layers=[8, 8], features=list(FEATURES)),
        regularization=dict(l2=0.01)),
    _preset(
        "dropout", "Dropout",
        "The overfitting experiment with dropout: in every step half of the hidden neurons are switched off at "
        "random, so no neuron can rely on a few others to memorise a point. The gap between training and test "
        "loss stays much smaller than in the overfitting preset; try 0.1 or 0.8.",
        600, _SMALL_NOISY, 60, architecture=_BIG_NET, optimizer=_FAST_FULL_BATCH,
        regularization=dict(dropout=0.5)),
    _preset(
        "vanishing-gradients", "Vanishing gradients",
        "Eight layers of sigmoid neurons: each layer shrinks the gradient on its way back, so the layers near "
        "the input get gradients thousands of times smaller than the output side. The network barely learns: "
        "the loss sits near 0.69, no better than a coin toss. Watch the per-layer gradient plot, then switch "
        "the activation to tanh or ReLU.",
        300, dict(kind="circle", n=500, noise=0.0, train_fraction=0.5, seed=0), 60,
        architecture=dict(hidden_layers=[8] * 8, activation="sigmoid")),
    _preset(
        "lr-decay", "Learning-rate decay",
        "A single layer on x1² and x2²: its loss is one smooth bowl, so only the step size stands between it "
        "and the bottom. A rate of 1.0 makes the loss bounce from wall to wall; the step schedule halves the "
        "rate every 50 epochs, so training moves fast at first and then settles. Set the schedule to constant "
        "to watch it keep bouncing.",
        300, dict(kind="circle", n=500, noise=0.3, train_fraction=0.5, seed=0), 20,
        architecture=dict(hidden_layers=[], features=["x1", "x2", "x1^2", "x2^2"]),
        optimizer=dict(learning_rate=1.0),
        schedule=dict(name="step", step_size=50, gamma=0.5)),
    _preset(
        "multiclass", "Four classes (softmax)",
        "Four Gaussian blobs, one per class: the output layer has one neuron per class and softmax turns their "
        "values into class probabilities. Watch the plane split into four regions; add noise to make the blobs "
        "overlap.",
        200, dict(kind="gaussian", n=400, noise=0.0, train_fraction=0.5, seed=0, n_classes=4), 20,
        architecture=dict(hidden_layers=[8])),
    _preset(
        "regression", "Regression: a bumpy surface",
        "Here every point carries a number instead of a class, and the network fits a surface to them with a "
        "squared-error loss. Watch the colour map grow the six bumps; with too few neurons it can only blur them.",
        500, dict(kind="gaussians", n=500, noise=0.0, train_fraction=0.5, seed=0), 60,
        problem="regression", architecture=dict(hidden_layers=[8, 8]),
        optimizer=dict(name="adam", learning_rate=0.01)),
    _preset(
        "model-complexity", "Model complexity: too small, just right, too big",
        "The model complexity graph: the same noisy circle points learned by networks from 1 to 128 neurons per "
        "layer. Open View > Sweep and run hidden units 1:128:8 (log) with 3 seeds: training error falls as "
        "the network grows, while test error is lowest in between - smaller nets underfit, bigger ones bend "
        "around noisy points and overfit. Click a point of the graph to see that model's boundary.",
        2000, dict(kind="circle", n=200, noise=0.25, train_fraction=0.2, seed=0), 200,
        architecture=dict(hidden_layers=[8, 8], activation="relu", init="he"),
        optimizer=dict(name="adam", learning_rate=0.03, batch_size=0)),
)

PRESETS: dict[str, Preset] = {p.name: p for p in _ALL_PRESETS}
DEFAULT_PRESET = "circle"


def preset_names() -> list[str]:
    return list(PRESETS)


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise NnvizError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
