"""The experiment configuration: plain dataclasses, validated from and to JSON.

Every field carries its limits and a one-sentence help text in its metadata.
The same text is the GUI's tooltip, so the explanation lives in one place.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin_x1", "sin_x2")
INITS = ("glorot", "he", "uniform")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
SCHEDULES = ("constant", "step", "exponential", "inverse_time", "cosine", "plateau")
MONITORS = ("test_loss", "test_error", "validation_loss", "validation_error")
PROBLEMS = ("classification", "regression")
DTYPES = ("float64", "float32")

MAX_HIDDEN_LAYERS = 16
MAX_NEURONS = 512


def _field(default, help: str, *, lo=None, hi=None, choices=None, item_lo=None, item_hi=None):
    meta = {"help": help, "lo": lo, "hi": hi, "choices": choices, "item_lo": item_lo, "item_hi": item_hi}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ArchitectureConfig:
    hidden_layers: list[int] = _field(
        [4, 2], "Number of neurons in each hidden layer, from input side to output side.",
        lo=0, hi=MAX_HIDDEN_LAYERS, item_lo=1, item_hi=MAX_NEURONS)
    activation: str = _field(
        "tanh", "The non-linearity every hidden neuron applies to its weighted input.", choices=ACTIVATIONS)
    layer_activations: list[str | None] | None = _field(
        None, "Optional activation per hidden layer; an empty entry uses the global activation.",
        choices=ACTIVATIONS)
    features: list[str] = _field(
        ["x1", "x2"], "Which functions of the point's coordinates the network sees as inputs.",
        lo=1, hi=len(FEATURES), choices=FEATURES)
    init: str = _field(
        "glorot", "How the starting weights are drawn: Glorot/Xavier suits tanh and sigmoid, He suits ReLU.",
        choices=INITS)
    seed: int = _field(
        0, "Random seed: the same seed, settings and points give exactly the same run.", lo=0, hi=2**32 - 1)
    dtype: str = _field(
        "float64", "Number precision of training: float64 (default) or float32, up to twice as fast on bigger "
        "networks, with slightly different results.", choices=DTYPES)


@dataclass
class OptimizerConfig:
    name: str = _field("sgd", "The rule that turns gradients into weight updates.", choices=OPTIMIZERS)
    learning_rate: float = _field(
        0.03, "How big a step each update takes; too big diverges, too small crawls.", lo=1e-7, hi=10.0)
    momentum: float = _field(
        0.9, "Momentum (SGD with momentum and Nesterov): how much of the previous step carries over.",
        lo=0.0, hi=0.999)
    rho: float = _field(0.9, "RMSprop: how slowly the running average of squared gradients forgets.",
                        lo=0.0, hi=0.9999)
    beta1: float = _field(0.9, "Adam: decay of the running mean of gradients.", lo=0.0, hi=0.9999)
    beta2: float = _field(0.999, "Adam: decay of the running mean of squared gradients.", lo=0.0, hi=0.99999)
    epsilon: float = _field(1e-8, "RMSprop and Adam: a tiny number that keeps the division finite.",
                            lo=1e-12, hi=1.0)
    batch_size: int = _field(
        10, "Points per weight update; 0 means the whole training set (full batch).", lo=0, hi=1_000_000)


@dataclass
class ScheduleConfig:
    name: str = _field("constant", "How the learning rate changes as training goes on.", choices=SCHEDULES)
    step_size: int = _field(100, "Step schedule: epochs between two drops of the learning rate.", lo=1, hi=10**9)
    gamma: float = _field(0.5, "Step schedule: the factor applied at each drop.", lo=1e-6, hi=1.0)
    decay_rate: float = _field(
        0.99, "Exponential schedule: the factor applied to the learning rate every epoch.", lo=1e-6, hi=1.0)
    decay: float = _field(
        0.01, "Inverse-time schedule: lr / (1 + decay x epoch).", lo=0.0, hi=1e6)
    period: int = _field(1000, "Cosine schedule: epochs from the full rate down to the minimum.", lo=1, hi=10**9)
    min_lr: float = _field(0.0, "The learning rate never goes below this (cosine and plateau).", lo=0.0, hi=10.0)
    factor: float = _field(
        0.5, "Reduce-on-plateau: the factor applied when the training loss stops improving.", lo=1e-6, hi=1.0)
    patience: int = _field(
        20, "Reduce-on-plateau: epochs without improvement before the rate is cut.", lo=1, hi=10**9)
    threshold: float = _field(
        1e-4, "Reduce-on-plateau: the smallest drop in loss that counts as improvement.", lo=0.0, hi=1e6)


@dataclass
class RegularizationConfig:
    l1: float = _field(0.0, "L1 penalty strength: pushes many weights to near zero (|w| < 0.001): sparse weights.",
                       lo=0.0, hi=10.0)
    l2: float = _field(0.0, "L2 penalty strength: keeps all weights small and even.", lo=0.0, hi=10.0)
    dropout: float = _field(
        0.0, "Fraction of hidden neurons switched off at random in each training step.", lo=0.0, hi=0.95)
    layer_dropout: list[float | None] | None = _field(
        None, "Optional dropout rate per hidden layer; an empty entry uses the global rate.",
        item_lo=0.0, item_hi=0.95)


@dataclass
class EarlyStoppingConfig:
    enabled: bool = _field(False, "Stop training when the monitored number stops improving.")
    monitor: str = _field("test_loss", "What early stopping watches: loss or error, on test or validation points.",
                          choices=MONITORS)
    patience: int = _field(100, "Epochs without improvement before training stops.", lo=1, hi=10**9)
    min_delta: float = _field(0.0, "The smallest improvement that resets the patience count.", lo=0.0, hi=1e6)
    restore_best: bool = _field(True, "On stopping, go back to the weights of the best epoch.")


@dataclass
class ExperimentConfig:
    problem: str = _field(
        "classification", "Classification colours points by class; regression fits a real value per point.",
        choices=PROBLEMS)
    architecture: ArchitectureConfig = field(default_factory=ArchitectureConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    regularization: RegularizationConfig = field(default_factory=RegularizationConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)

    # -- helpers ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "config") -> "ExperimentConfig":
        return _from_dict(cls, data, path)

    def copy(self) -> "ExperimentConfig":
        return ExperimentConfig.from_dict(self.to_dict())

    def validate(self) -> "ExperimentConfig":
        """Check every field; raises :class:`ConfigError` naming the first bad one."""
        ExperimentConfig.from_dict(self.to_dict())
        return self

    def hidden_activations(self) -> list[str]:
        arch = self.architecture
        per = arch.layer_activations or []
        return [(per[i] if i < len(per) and per[i] else arch.activation) for i in range(len(arch.hidden_layers))]

    def hidden_dropout(self) -> list[float]:
        reg = self.regularization
        per = reg.layer_dropout or []
        return [(per[i] if i < len(per) and per[i] is not None else reg.dropout)
                for i in range(len(self.architecture.hidden_layers))]


def needs_new_weights(old: ExperimentConfig, new: ExperimentConfig) -> bool:
    """True when a change alters the shape or meaning of the weights (so training must reset).

    The seed counts too: a new seed asks for new initial weights; so does the precision (``dtype``).
    Everything else (learning rate, optimiser, schedule, penalties, dropout, early stopping, batch size)
    applies to the running weights.
    """
    a, b = old.architecture, new.architecture
    return (old.problem != new.problem or a.hidden_layers != b.hidden_layers or a.features != b.features
            or a.init != b.init or a.seed != b.seed or a.dtype != b.dtype
            or old.hidden_activations() != new.hidden_activations())


def field_help(section: str, name: str) -> str:
    """The one-sentence explanation of a config field (used for tooltips)."""
    klass = {"architecture": ArchitectureConfig, "optimizer": OptimizerConfig, "schedule": ScheduleConfig,
             "regularization": RegularizationConfig, "early_stopping": EarlyStoppingConfig,
             "": ExperimentConfig}[section]
    for f in dataclasses.fields(klass):
        if f.name == name:
            return f.metadata.get("help", "")
    raise KeyError(f"{section}.{name}")


# -- validation ------------------------------------------------------------------------------------------

def _type_name(t) -> str:
    return getattr(t, "__name__", str(t))


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_number(value, kind, path, lo, hi):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(path, f"expected a {'whole number' if kind is int else 'number'}, got {_short(value)}")
    if kind is int:
        if isinstance(value, float):
            if not value.is_integer():
                raise ConfigError(path, f"expected a whole number, got {_short(value)}")
            value = int(value)
    else:
        try:
            value = float(value)
        except OverflowError:   # an int too big for a float
            value = math.inf
        if not math.isfinite(value):
            raise ConfigError(path, f"expected a finite number, got {_short(value)}")
    if lo is not None and value < lo:
        raise ConfigError(path, f"must be at least {lo}, got {_short(value)}")
    if hi is not None and value > hi:
        raise ConfigError(path, f"must be at most {hi}, got {_short(value)}")
    return value


def _check_scalar(value, t, path, meta, item=False):
    lo = meta.get("item_lo" if item else "lo")
    hi = meta.get("item_hi" if item else "hi")
    if t is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"expected true or false, got {_short(value)}")
        return value
    if t in (int, float):
        return _check_number(value, t, path, lo, hi)
    if t is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"expected text, got {_short(value)}")
        choices = meta.get("choices")
        if choices and value not in choices:
            raise ConfigError(path, f"must be one of {', '.join(choices)}; got {_short(value)}")
        return value
    raise TypeError(f"unsupported config type {t!r}")  # programming error, not user input


def _check_value(value, t, path, meta):
    origin = typing.get_origin(t)
    args = typing.get_args(t)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check_value(value, inner[0], path, meta)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(path, f"expected a list, got {_short(value)}")
        lo, hi = meta.get("lo"), meta.get("hi")
        if lo is not None and len(value) < lo:
            raise ConfigError(path, f"needs at least {lo} entries, got {len(value)}")
        if hi is not None and len(value) > hi:
            raise ConfigError(path, f"allows at most {hi} entries, got {len(value)}")
        (item_t,) = args
        item_origin_args = typing.get_args(item_t)
        out = []
        for i, v in enumerate(value):
            if v is None and type(None) in item_origin_args:
                out.append(None)
                continue
            base = [a for a in item_origin_args if a is not type(None)][0] if item_origin_args else item_t
            out.append(_check_scalar(v, base, f"{path}[{i}]", meta, item=True))
        if item_t is str and meta.get("choices") and len(set(out)) != len(out):
            raise ConfigError(path, "lists an entry twice")
        return out
    return _check_scalar(value, t, path, meta)


def _from_dict(cls, data, path):
    if not isinstance(data, dict):
        raise ConfigError(path, f"expected an object with fields, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names, key=str)
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}", f"unknown field (known: {', '.join(sorted(names))})")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue  # missing fields take their defaults, so older files keep loading
        t = hints[f.name]
        sub = f"{path}.{f.name}"
        if dataclasses.is_dataclass(t):
            kwargs[f.name] = _from_dict(t, data[f.name], sub)
        else:
            kwargs[f.name] = _check_value(data[f.name], t, sub, f.metadata)
    return cls(**kwargs)


def layer_sizes(config: ExperimentConfig, n_classes: int = 2) -> list[int]:
    """Widths from input to output: [n_features, *hidden, n_outputs].

    Two classes and regression use one output unit (sigmoid or linear); 3-4 classes use softmax.
    """
    if config.problem == "regression" or n_classes <= 2:
        n_out = 1
    else:
        n_out = n_classes
    return [len(config.architecture.features), *config.architecture.hidden_layers, n_out]
