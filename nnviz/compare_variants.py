"""The runs of a comparison as changes to one configuration (Qt-free).

A comparison is run A (the document's settings) and 1-3 more runs, each stored as *changes*: config
sections of fields, as in ``Preset.settings`` (``{"regularization": {"l2": 0.03}}``), applied on top of run
A's settings. So editing run A's settings (the Model panel) edits every run, and each run keeps what
makes it different.

* :func:`apply_changes` - a config with changes on top (validated);
* :func:`diff_changes` - the smallest changes that turn one config into another;
* :func:`describe` - a short label naming what the changes alter ("L2 0.03", "ReLU", "3 x 8 neurons");
* :func:`variant_choices` - the one-setting variants offered by "Compare with...".
"""
from __future__ import annotations

from typing import Any

from .engine.config import ACTIVATIONS, MAX_HIDDEN_LAYERS, MAX_NEURONS, ExperimentConfig
from .errors import ConfigError

MAX_RUNS = 4                  # a comparison shows 2 to 4 runs
#: strengths a "Compare with..." variant uses when the run has none of its own (those of the l1-vs-l2 lesson)
DEFAULT_L1 = 0.01
DEFAULT_L2 = 0.03
DEFAULT_DROPOUT = 0.5
DEFAULT_DECAY = 0.99          # exponential schedule: the rate times this every epoch
MIN_LR, MAX_LR = 1e-7, 10.0   # the learning rate's limits (OptimizerConfig)

ACTIVATION_NAMES = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "leaky ReLU",
                    "linear": "linear"}


def merge_changes(settings: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``settings`` (config sections, as ``ExperimentConfig.to_dict()``) with ``changes`` on top, section by
    section; a section that is not an object in both is replaced whole. Neither argument is modified."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in settings.items()}
    for section, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(section), dict):
            out[section].update(value)
        else:
            out[section] = dict(value) if isinstance(value, dict) else value
    return out


def apply_changes(config: ExperimentConfig, changes: dict, path: str = "changes") -> ExperimentConfig:
    """A new config: ``config`` with ``changes`` on top, validated like a file's config (ConfigError naming
    the bad field under ``path``, e.g. ``changes.regularization.l2: must be at least 0.0``)."""
    if not isinstance(changes, dict):
        raise ConfigError(path, f"expected an object of config sections, got {type(changes).__name__}")
    for section in changes:
        if not isinstance(section, str):
            raise ConfigError(path, f"expected section names, got {section!r}")
    if not changes:
        return config.copy()
    return ExperimentConfig.from_dict(merge_changes(config.to_dict(), changes), path=path)


def diff_changes(base: ExperimentConfig, other: ExperimentConfig) -> dict:
    """The fields where ``other`` differs from ``base``, by section: ``apply_changes(base, diff)`` equals
    ``other``. Equal configs give ``{}``."""
    a, b = base.to_dict(), other.to_dict()
    out: dict[str, Any] = {}
    for section, value in b.items():
        old = a.get(section)
        if isinstance(value, dict) and isinstance(old, dict):
            fields = {k: v for k, v in value.items() if k not in old or old[k] != v}
            if fields:
                out[section] = fields
        elif value != old:
            out[section] = value
    return out


# -- labels ---------------------------------------------------------------------------------------------

def _num(x: float) -> str:
    return f"{x:g}"


def layers_text(hidden: list[int]) -> str:
    """``[8, 8, 8]`` -> "3 x 8 neurons", ``[8]`` -> "8 neurons", ``[1]`` -> "1 neuron", ``[]`` -> "no hidden
    layer", ``[8, 4]`` -> "8-4 neurons"."""
    if not hidden:
        return "no hidden layer"
    if len(set(hidden)) == 1:
        n = hidden[0]
        unit = "neuron" if n == 1 else "neurons"
        return f"{n} {unit}" if len(hidden) == 1 else f"{len(hidden)} x {n} {unit}"
    return "-".join(map(str, hidden)) + " neurons"


def _regularization_text(reg: dict, old: dict) -> list[str]:
    parts = []
    l1, l2 = reg["l1"], reg["l2"]
    if (l1, l2) != (old["l1"], old["l2"]):
        if l1 > 0 and l2 > 0:
            parts.append(f"L1 {_num(l1)} + L2 {_num(l2)}")
        elif l1 > 0:
            parts.append(f"L1 {_num(l1)}")
        elif l2 > 0:
            parts.append(f"L2 {_num(l2)}")
        else:
            parts.append("no regularization")
    if reg["dropout"] != old["dropout"] or reg["layer_dropout"] != old["layer_dropout"]:
        per = reg["layer_dropout"]
        if per and any(p is not None for p in per):
            parts.append("dropout " + "/".join(_num(reg["dropout"] if p is None else p) for p in per))
        else:
            parts.append(f"dropout {_num(reg['dropout'])}" if reg["dropout"] > 0 else "no dropout")
    return parts


def _schedule_text(sched: dict, old: dict) -> str:
    name = sched["name"]
    if name == "constant":
        return "constant lr"
    if old["name"] == "constant":
        return "lr decay"
    detail = {"step": f"x{_num(sched['gamma'])} every {sched['step_size']}",
              "exponential": f"x{_num(sched['decay_rate'])} per epoch"}.get(name, name.replace("_", " "))
    return f"lr decay {detail}"


def describe(base: ExperimentConfig, changes: dict) -> str:
    """A short label naming what ``changes`` alter in ``base``: "L2 0.03", "ReLU", "3 x 8 neurons",
    "lr 0.3", "dropout 0.3", "lr decay", "no regularization"; several joined by ", "; "same settings" when
    nothing differs. Raises ConfigError if the changes do not make a valid config."""
    other = apply_changes(base, changes)
    a, b = base.to_dict(), other.to_dict()
    parts: list[str] = []
    if a["problem"] != b["problem"]:
        parts.append(b["problem"])
    arch, old_arch = b["architecture"], a["architecture"]
    acts, old_acts = other.hidden_activations(), base.hidden_activations()
    common = min(len(acts), len(old_acts))   # layers added or removed take the global activation
    if acts[:common] != old_acts[:common] or arch["activation"] != old_arch["activation"]:
        if arch["layer_activations"] and len(set(acts)) > 1:
            parts.append("/".join(ACTIVATION_NAMES.get(x, x) for x in acts))
        else:
            parts.append(ACTIVATION_NAMES.get(arch["activation"], arch["activation"]))
    if arch["hidden_layers"] != old_arch["hidden_layers"]:
        parts.append(layers_text(arch["hidden_layers"]))
    if arch["features"] != old_arch["features"]:
        parts.append("features " + ", ".join(arch["features"]))
    if arch["init"] != old_arch["init"]:
        parts.append({"he": "He", "glorot": "Glorot", "uniform": "uniform"}.get(arch["init"], arch["init"]) + " init")
    if arch["seed"] != old_arch["seed"]:
        parts.append(f"seed {arch['seed']}")
    if arch["dtype"] != old_arch["dtype"]:
        parts.append(arch["dtype"])
    opt, old_opt = b["optimizer"], a["optimizer"]
    if opt["name"] != old_opt["name"]:
        parts.append({"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}.get(opt["name"], opt["name"]))
    if opt["learning_rate"] != old_opt["learning_rate"]:
        parts.append(f"lr {_num(opt['learning_rate'])}")
    if opt["batch_size"] != old_opt["batch_size"]:
        parts.append("full batch" if opt["batch_size"] == 0 else f"batch {opt['batch_size']}")
    for key in ("momentum", "rho", "beta1", "beta2", "epsilon"):
        if opt[key] != old_opt[key]:
            parts.append(f"{key} {_num(opt[key])}")
    if b["schedule"] != a["schedule"]:
        parts.append(_schedule_text(b["schedule"], a["schedule"]))
    parts += _regularization_text(b["regularization"], a["regularization"])
    stop, old_stop = b["early_stopping"], a["early_stopping"]
    if stop != old_stop:
        if stop["enabled"] != old_stop["enabled"]:
            parts.append("early stopping" if stop["enabled"] else "no early stopping")
        else:
            parts.append(f"early stopping {stop['monitor'].replace('_', ' ')}, patience {stop['patience']}")
    return ", ".join(parts) if parts else "same settings"


# -- "Compare with..." ----------------------------------------------------------------------------------

def _resized(config: ExperimentConfig, hidden: list[int]) -> dict:
    """Architecture changes for new hidden layers; per-layer activations and dropout keep their length."""
    arch: dict[str, Any] = {"hidden_layers": hidden}
    per = config.architecture.layer_activations
    if per is not None:
        arch["layer_activations"] = (list(per) + [None] * len(hidden))[:len(hidden)]
    changes: dict[str, Any] = {"architecture": arch}
    drop = config.regularization.layer_dropout
    if drop is not None:
        changes["regularization"] = {"layer_dropout": (list(drop) + [None] * len(hidden))[:len(hidden)]}
    return changes


def variant_choices(config: ExperimentConfig) -> list[tuple[str, dict]]:
    """One-setting variants of ``config`` for "Compare with...": (menu text, changes), each valid and each
    different from ``config``: another activation, L1 / L2 / no regularization, dropout on or off, one
    layer more or fewer, layers twice as wide or half as wide, learning rate x10 or /10, learning-rate
    decay on or off."""
    out: list[tuple[str, dict]] = []
    arch, reg, opt = config.architecture, config.regularization, config.optimizer
    hidden = list(arch.hidden_layers)

    if hidden:
        per_layer = bool(arch.layer_activations and any(arch.layer_activations))
        for act in ACTIVATIONS:
            change: dict[str, Any] = {"activation": act}
            if per_layer:
                change["layer_activations"] = None   # one activation for every layer
            out.append((f"Activation: {ACTIVATION_NAMES[act]}", {"architecture": change}))

    l1 = reg.l1 if reg.l1 > 0 else DEFAULT_L1
    l2 = reg.l2 if reg.l2 > 0 else DEFAULT_L2
    if not (reg.l1 > 0 and reg.l2 == 0):
        out.append((f"L1 regularization {_num(l1)}", {"regularization": {"l1": l1, "l2": 0.0}}))
    if not (reg.l2 > 0 and reg.l1 == 0):
        out.append((f"L2 regularization {_num(l2)}", {"regularization": {"l1": 0.0, "l2": l2}}))
    if reg.l1 > 0 or reg.l2 > 0:
        out.append(("No regularization", {"regularization": {"l1": 0.0, "l2": 0.0}}))

    if hidden:
        if any(d > 0 for d in config.hidden_dropout()):
            out.append(("No dropout", {"regularization": {"dropout": 0.0, "layer_dropout": None}}))
        else:
            out.append((f"Dropout {_num(DEFAULT_DROPOUT)}", {"regularization": {"dropout": DEFAULT_DROPOUT,
                                                                                  "layer_dropout": None}}))

    if len(hidden) < MAX_HIDDEN_LAYERS:
        more = hidden + [hidden[-1] if hidden else 4]
        out.append((f"One layer more: {layers_text(more)}", _resized(config, more)))
    if hidden:
        fewer = hidden[:-1]
        out.append((f"One layer fewer: {layers_text(fewer)}", _resized(config, fewer)))
        wider = [min(MAX_NEURONS, 2 * n) for n in hidden]
        if wider != hidden:
            out.append((f"Twice as wide: {layers_text(wider)}", {"architecture": {"hidden_layers": wider}}))
        narrower = [max(1, n // 2) for n in hidden]
        if narrower != hidden:
            out.append((f"Half as wide: {layers_text(narrower)}", {"architecture": {"hidden_layers": narrower}}))

    lr = opt.learning_rate
    if lr * 10 <= MAX_LR:
        out.append((f"Learning rate x10: {_num(_round_lr(lr * 10))}",
                    {"optimizer": {"learning_rate": _round_lr(lr * 10)}}))
    if lr / 10 >= MIN_LR:
        out.append((f"Learning rate /10: {_num(_round_lr(lr / 10))}",
                    {"optimizer": {"learning_rate": _round_lr(lr / 10)}}))

    if config.schedule.name == "constant":
        out.append((f"Learning-rate decay (x{_num(DEFAULT_DECAY)} per epoch)",
                    {"schedule": {"name": "exponential", "decay_rate": DEFAULT_DECAY}}))
    else:
        out.append(("Constant learning rate", {"schedule": {"name": "constant"}}))

    valid = []
    for text, changes in out:
        try:
            other = apply_changes(config, changes)
        except ConfigError:
            continue
        if other.to_dict() != config.to_dict():
            valid.append((text, changes))
    return valid


def _round_lr(x: float) -> float:
    """x10 and /10 of 0.03 give 0.3 and 0.003, not 0.30000000000000004."""
    return float(f"{x:.12g}")
