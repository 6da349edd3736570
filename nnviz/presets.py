"""Built-in lessons: ready-made experiments, each showing one thing about how networks learn.

Every preset is defined here in code and is deterministic: its points come from a generator seed and
its initial weights from the config's seed, so a preset always trains the same way. ``build()`` makes
a fresh :class:`Experiment` each time (the caller may edit it freely). Names are command-line
arguments (``nnviz train spiral``); the app opens with :data:`DEFAULT_PRESET`. ``speed`` is the
epochs/s cap a lesson opens with in the window: slow enough to watch its effect form.

A *comparison* lesson (``preset.runs`` not empty) is one set of points and 2-4 runs side by side, each a
:class:`RunSpec`: a label saying what differs ("L1 0.01") and the settings that differ (optionally fixed
initial weights). ``build_runs()`` gives one fresh experiment per run, all on the same (shared, immutable)
points; ``build()`` of a comparison is its first run, for a window that shows one run at a time, and
``build_comparison()`` is the whole comparison as one experiment (run A plus ``comparison`` entries).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .compare_variants import diff_changes, merge_changes
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
    runs: tuple[RunSpec, ...] = ()     # a comparison lesson's runs (2-4), or () for a single-run lesson
    settings: dict = field(default_factory=dict)   # the config sections the lesson changes from the defaults

    @property
    def is_comparison(self) -> bool:
        return bool(self.runs)

    def config(self, run: RunSpec | None = None) -> ExperimentConfig:
        """The lesson's configuration, with ``run``'s changes on top (a fresh object on every call)."""
        return _config(**merge_changes(self.settings, run.changes if run is not None else {}))

    def build_runs(self) -> list[tuple[str, Experiment]]:
        """(label, fresh experiment) per run, all on one PointSet; a run with fixed initial weights has them
        as the experiment's ``weights`` (with no history). A single-run lesson gives [(its name, build())]."""
        if not self.runs:
            return [(self.name, self.build())]
        points = generate(**self.data)
        return [(run.label, Experiment(config=self.config(run), points=points, name=self.title,
                                       description=self.lesson, weights=run.initial_weights()))
                for run in self.runs]

    def build_comparison(self) -> Experiment:
        """The lesson as one experiment: run A's settings, points and initial weights, and for a comparison
        its further runs in ``comparison`` (changes from run A's settings, initial weights, no history)."""
        runs = self.build_runs()
        exp = runs[0][1]
        if self.runs:
            exp.comparison_a_label = runs[0][0]
            exp.comparison = [{"label": label, "changes": diff_changes(exp.config, other.config),
                               "weights": other.weights, "history": None} for label, other in runs[1:]]
        return exp


@dataclass(frozen=True)
class RunSpec:
    """One run of a comparison lesson."""
    label: str                         # what differs, short: "L1 0.01", "3 x 32 neurons"
    changes: dict = field(default_factory=dict)   # config sections on top of the lesson's, as in Preset.settings
    # initial weights: per layer (W as rows of fan_out numbers, b), as nested tuples; None: drawn from the seed
    weights: tuple | None = None

    @property
    def slug(self) -> str:
        """The label as a file-name part: "L1 0.01" -> "l1-0.01" (unique within a lesson; a test checks)."""
        return re.sub(r"[^a-z0-9.]+", "-", self.label.lower()).strip("-.") or "run"

    def initial_weights(self) -> list[tuple[np.ndarray, np.ndarray]] | None:
        if self.weights is None:
            return None
        return [(np.array(W, dtype=np.float64), np.array(b, dtype=np.float64)) for W, b in self.weights]


#: the window's speed choices (epochs per second, 0 = as fast as possible); every lesson uses one of them
SPEED_CHOICES = (0, 1, 5, 20, 60, 200, 1000)


def _config(**sections: dict[str, Any]) -> ExperimentConfig:
    """Defaults (TensorFlow Playground's) with some fields changed; validated like a file's config."""
    return ExperimentConfig.from_dict(merge_changes(ExperimentConfig().to_dict(), sections), path="preset config")


def _preset(name: str, title: str, lesson: str, epochs: int, data: dict[str, Any], speed: int,
            runs: tuple[RunSpec, ...] = (), **config: dict[str, Any]) -> Preset:
    if runs:
        def build() -> Experiment:   # a comparison opened as one experiment: its first run
            return preset.build_runs()[0][1]
    else:
        def build() -> Experiment:
            return Experiment(config=_config(**config), points=generate(**data), name=title, description=lesson)
    preset = Preset(name, title, lesson, build, epochs, dict(data), speed, tuple(runs), dict(config))
    return preset


def _one_layer(*w: float, bias: float = 0.0) -> tuple:
    """Weights of a net without hidden layers and one output neuron: bias + sum of w_i * feature_i."""
    return ((tuple((x,) for x in w), (bias,)),)


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

    # -- comparisons: one set of points, 2-4 runs side by side (settings found by trying; tests guard them) --
    _preset(
        "train-vs-test", "Training vs test error: a simple and a complex model",
        "Two overlapping clouds of blue and orange points, where the best boundary is a straight line: a "
        "model with no hidden layer finds it, while three layers of 32 neurons bend around every noisy "
        "training point. The big network ends with no training error at all, yet makes far more mistakes on "
        "the test points than the straight line: a low training error alone proves nothing.",
        1000, dict(kind="gaussian", n=300, noise=0.5, train_fraction=0.5, seed=3), 200,
        runs=(RunSpec("simple: no hidden layer", dict(architecture=dict(hidden_layers=[]))),
              RunSpec("complex: 3 x 32 neurons", dict(architecture=dict(hidden_layers=[32, 32, 32])))),
        architecture=dict(activation="tanh"), optimizer=_FAST_FULL_BATCH),
    _preset(
        "model-size", "Model size: too small, just right, too big",
        "Three networks learn the same noisy moons: one neuron (too small), one layer of 8 (about right) and "
        "three layers of 32 (too big). Training error falls as the network grows, but test error is lowest "
        "for the middle one: the small net underfits, the big one bends around noisy points and overfits.",
        1000, dict(kind="moons", n=300, noise=0.4, train_fraction=0.5, seed=2), 200,
        runs=(RunSpec("too small: 1 neuron", dict(architecture=dict(hidden_layers=[1]))),
              RunSpec("right: 8 neurons", dict(architecture=dict(hidden_layers=[8]))),
              RunSpec("too big: 3 x 32 neurons", dict(architecture=dict(hidden_layers=[32, 32, 32])))),
        architecture=dict(activation="tanh"), optimizer=_FAST_FULL_BATCH),
    _preset(
        "large-weights", "Large weights: too confident to learn",
        "Two models with no hidden layer start on the same boundary line, x1 + x2 = 0: one computes "
        "sigmoid(x1 + x2), the other sigmoid(10 x1 + 10 x2). The second is far more certain (its probability "
        "jumps from blue to orange across a thin band), and for almost every point its gradient is practically "
        "zero, so it hardly learns: compare their gradient plots.",
        200, dict(kind="gaussian", n=200, noise=0.1, train_fraction=0.5, seed=0), 20,
        runs=(RunSpec("weights 1", weights=_one_layer(1.0, 1.0)),
              RunSpec("weights 10", weights=_one_layer(10.0, 10.0))),
        architecture=dict(hidden_layers=[])),
    _preset(
        "l1-vs-l2", "L1 vs L2: sparse or small weights",
        "The same network on all seven features, once with an L1 penalty and once with L2. L1 drives most "
        "weights to exactly zero and keeps a few large ones (sparse weights); L2 shrinks every weight, so they "
        "end small and even but almost none is zero. Compare the share of weights near zero and their sizes.",
        300, dict(kind="circle", n=500, noise=0.1, train_fraction=0.5, seed=0), 60,
        runs=(RunSpec("L1 0.01", dict(regularization=dict(l1=0.01))),
              RunSpec("L2 0.03", dict(regularization=dict(l2=0.03)))),
        architecture=dict(hidden_layers=[8, 8], features=list(FEATURES))),
    _preset(
        "dropout-vs-none", "Dropout vs none",
        "A big network learns 40 noisy training points, with and without dropout (half of the hidden neurons "
        "switched off at random in every step). Without dropout the training loss goes to zero while the test "
        "loss climbs; with dropout the gap between the two stays several times smaller.",
        600, _SMALL_NOISY, 60,
        runs=(RunSpec("no dropout", dict(regularization=dict(dropout=0.0))),
              RunSpec("dropout 0.5", dict(regularization=dict(dropout=0.5)))),
        architecture=_BIG_NET, optimizer=_FAST_FULL_BATCH),
    _preset(
        "sigmoid-vs-relu", "Sigmoid vs ReLU: vanishing gradients",
        "Eight layers of eight neurons, sigmoid against ReLU. With sigmoid each layer shrinks the gradient on "
        "its way back, so the input layer's gradient is about ten thousand times smaller than the output "
        "layer's and the network barely learns; with ReLU all layers' gradients stay within a factor of twenty "
        "of each other, and it learns the circle.",
        300, dict(kind="circle", n=500, noise=0.0, train_fraction=0.5, seed=0), 60,
        runs=(RunSpec("sigmoid", dict(architecture=dict(activation="sigmoid", init="glorot"))),
              RunSpec("ReLU", dict(architecture=dict(activation="relu", init="he")))),
        architecture=dict(hidden_layers=[8] * 8)),
    _preset(
        "learning-rates", "Learning rates: too large, too small, decaying",
        "One layer on x1² and x2², three learning rates: 1.0 is too large and the loss keeps bouncing up and "
        "down, 0.001 is too small and the loss crawls downhill, and 1.0 shrinking by 3% every epoch moves fast "
        "at first and then settles lowest of all.",
        300, dict(kind="circle", n=500, noise=0.3, train_fraction=0.5, seed=0), 20,
        runs=(RunSpec("too large: 1.0", dict(optimizer=dict(learning_rate=1.0))),
              RunSpec("too small: 0.001", dict(optimizer=dict(learning_rate=0.001))),
              RunSpec("decay: 1.0 x 0.97 per epoch", dict(optimizer=dict(learning_rate=1.0),
                                                         schedule=dict(name="exponential", decay_rate=0.97)))),
        architecture=dict(hidden_layers=[], features=["x1", "x2", "x1^2", "x2^2"])),
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
