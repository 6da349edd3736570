"""What a sweep varies: the parameter, its values, the seeds, the run length and the metric.

Everything here is plain data and plain Python: a :class:`SweepSpec` and the config dicts it makes go to
worker processes (or other machines) as JSON-able values. User mistakes raise :class:`NnvizError` with a
message naming the bad part.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from ..engine.config import MAX_HIDDEN_LAYERS, MAX_NEURONS, ExperimentConfig
from ..errors import NnvizError

MAX_VALUES = 200
MAX_SEEDS = 100
MAX_RUNS = 10_000
MAX_SWEEP_EPOCHS = 1_000_000
METRICS = ("error", "loss")
SCALES = ("lin", "log")


@dataclass(frozen=True)
class Param:
    name: str
    label: str          # axis title and combo text
    kind: type          # int or float
    lo: float
    hi: float
    lo_open: bool       # True: the value must be strictly above lo
    log: bool           # log x axis by default
    hint: str           # a sensible example for the values field


PARAMS: dict[str, Param] = {p.name: p for p in (
    Param("hidden_units", "hidden units per layer", int, 1, MAX_NEURONS, False, True, "1:128:8:log"),
    Param("layers", "hidden layers", int, 0, MAX_HIDDEN_LAYERS, False, False, "0,1,2,3,4"),
    Param("epochs", "training epochs", int, 1, MAX_SWEEP_EPOCHS, False, True, "10:1000:7:log"),
    Param("l2", "L2 lambda", float, 0.0, 10.0, False, True, "0.0001:1:5:log"),
    Param("l1", "L1 lambda", float, 0.0, 10.0, False, True, "0.0001:1:5:log"),
    Param("dropout", "dropout rate", float, 0.0, 0.95, False, False, "0:0.8:5"),
    Param("learning_rate", "learning rate", float, 1e-7, 10.0, False, True, "0.001:1:7:log"),
)}


def get_param(name: str) -> Param:
    try:
        return PARAMS[name]
    except (KeyError, TypeError):
        raise NnvizError(f"sweep parameter: unknown {name!r}; choose one of {', '.join(PARAMS)}") from None


def _number(text: str, param: Param) -> float:
    try:
        value = float(text)
    except ValueError:
        raise NnvizError(f"values: {text.strip()!r} is not a number (give a list like 1,2,4,8 or a range "
                         f"like {param.hint})") from None
    if not math.isfinite(value):
        raise NnvizError(f"values: {text.strip()!r} is not a finite number")
    return value


def _checked(value: float, param: Param):
    if param.kind is int:
        if value != round(value):
            raise NnvizError(f"{param.name}: values must be whole numbers, got {value:g}")
        value = int(round(value))
    if value < param.lo or value > param.hi:
        what = "whole numbers" if param.kind is int else "numbers"
        extra = ""
        if param.name == "dropout" and value >= 1:
            extra = " (a rate of 1 or more would switch every neuron off)"
        elif param.name == "hidden_units" and value < 1:
            extra = " (a layer needs at least one neuron)"
        raise NnvizError(f"{param.name}: values must be {what} from {param.lo:g} to {param.hi:g}, "
                         f"got {value:g}{extra}")
    return value


def parse_values(text: str, param: str, scale: str | None = None) -> list:
    """The sorted distinct values of ``text``: a list ``1,2,4,8`` or a range ``START:STOP:COUNT[:lin|log]``.

    ``scale`` (lin or log) is the range's spacing when ``text`` does not name one (the panel's combo).
    Integer parameters round range values to whole numbers (duplicates are dropped: ``1:128:8:log`` gives
    1, 2, 4, ..., 128).
    """
    p = get_param(param)
    if not isinstance(text, str) or not text.strip():
        raise NnvizError(f"values: give at least one value, as a list like 1,2,4,8 or a range like {p.hint}")
    text = text.strip()
    if ":" in text:
        parts = [s.strip() for s in text.split(":")]
        if len(parts) == 4:
            if parts[3].lower() not in SCALES:
                raise NnvizError(f"values: a range ends with lin or log, got {parts[3]!r}")
            scale = parts[3].lower()
            parts = parts[:3]
        if len(parts) != 3:
            raise NnvizError(f"values: a range is START:STOP:COUNT or START:STOP:COUNT:log, got {text!r}")
        start, stop = _number(parts[0], p), _number(parts[1], p)
        if not re.fullmatch(r"\d+", parts[2]) or not 1 <= int(parts[2]) <= MAX_VALUES:
            raise NnvizError(f"values: the range's COUNT must be a whole number from 1 to {MAX_VALUES}, "
                             f"got {parts[2]!r}")
        count = int(parts[2])
        scale = scale or "lin"
        if scale not in SCALES:
            raise NnvizError(f"values: the spacing must be lin or log, got {scale!r}")
        _checked(start, p), _checked(stop, p)   # range ends outside the limits: say so before spacing
        if scale == "log":
            if start <= 0 or stop <= 0:
                raise NnvizError(f"values: a log range needs positive ends, got {start:g} and {stop:g}")
            if count == 1:
                raw = [start]
            else:
                a, b = math.log(start), math.log(stop)
                raw = [math.exp(a + (b - a) * i / (count - 1)) for i in range(count)]
            raw[0], raw[-1] = start, stop
        else:
            raw = [start] if count == 1 else [start + (stop - start) * i / (count - 1) for i in range(count)]
        if p.kind is int:
            raw = [float(round(v)) for v in raw]
        else:
            raw = [float(f"{v:.6g}") for v in raw]   # 0.001, 0.00316, 0.01 rather than 17 digits
    else:
        items = [s for s in re.split(r"[,\s;]+", text) if s]
        if not items:
            raise NnvizError("values: give at least one value")
        if len(items) > MAX_VALUES:
            raise NnvizError(f"values: at most {MAX_VALUES} values, got {len(items)}")
        raw = [_number(s, p) for s in items]
    return sorted({_checked(v, p) for v in raw})


def format_value(value) -> str:
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return str(int(value))
    return f"{value:.6g}"


@dataclass
class SweepSpec:
    """One sweep: ``param`` takes each of ``values``, with ``seeds`` seeds each, for ``epochs`` epochs.

    Run ``i`` of a value uses seed ``first_seed + i`` (weight init, shuffling and dropout; the points stay
    the same). ``epochs`` is each run's length (the maximum, when the config's early stopping is on);
    for an ``epochs`` sweep the value is the length. ``metric`` is what the graph and the best value use.
    """
    param: str
    values: list
    seeds: int = 3
    epochs: int = 500
    metric: str = "error"
    first_seed: int = 0

    def __post_init__(self):
        p = get_param(self.param)
        if not isinstance(self.values, (list, tuple)) or not self.values:
            raise NnvizError("values: give at least one value")
        self.values = sorted({_checked(float(v) if not isinstance(v, (int, float)) or isinstance(v, bool)
                                       else v, p) for v in self.values})
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or not 1 <= self.seeds <= MAX_SEEDS:
            raise NnvizError(f"seeds: must be a whole number from 1 to {MAX_SEEDS}, got {self.seeds!r}")
        if (isinstance(self.epochs, bool) or not isinstance(self.epochs, int)
                or not 1 <= self.epochs <= MAX_SWEEP_EPOCHS):
            raise NnvizError(f"epochs: must be a whole number from 1 to {MAX_SWEEP_EPOCHS}, got {self.epochs!r}")
        if self.metric not in METRICS:
            raise NnvizError(f"metric: must be error or loss, got {self.metric!r}")
        if (isinstance(self.first_seed, bool) or not isinstance(self.first_seed, int)
                or not 0 <= self.first_seed <= 2**32 - 1):
            raise NnvizError(f"first seed: must be a whole number from 0 to {2**32 - 1}")
        if len(self.values) * self.seeds > MAX_RUNS:
            raise NnvizError(f"a sweep runs at most {MAX_RUNS} models; {len(self.values)} values x "
                             f"{self.seeds} seeds is {len(self.values) * self.seeds}")

    @property
    def seed_list(self) -> list[int]:
        return [(self.first_seed + i) % 2**32 for i in range(self.seeds)]

    def runs(self) -> list[tuple[Any, int]]:
        """(value, seed) of every run, value by value."""
        return [(v, s) for v in self.values for s in self.seed_list]

    def run_epochs(self, value) -> int:
        return int(value) if self.param == "epochs" else self.epochs

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> "SweepSpec":
        if not isinstance(d, dict):
            raise NnvizError("sweep: expected an object with param, values, seeds, epochs and metric")
        known = {"param", "values", "seeds", "epochs", "metric", "first_seed"}
        unknown = sorted(set(d) - known, key=str)
        if unknown:
            raise NnvizError(f"sweep: unknown field {unknown[0]!r}")
        if "param" not in d or "values" not in d:
            raise NnvizError("sweep: needs param and values")
        return cls(**d)


def apply_value(config: ExperimentConfig | dict, param: str, value, seed: int | None = None) -> dict:
    """A copy of ``config`` (as a dict) with ``param`` set to ``value`` (and the seed, if given); validated.

    hidden_units sets the width of every hidden layer (one layer if there is none); layers sets the number
    of hidden layers, each as wide as the first one (4 if there is none); epochs leaves the config alone.
    """
    d = config.to_dict() if isinstance(config, ExperimentConfig) else ExperimentConfig.from_dict(config).to_dict()
    p = get_param(param)
    value = _checked(value, p)
    arch, reg = d["architecture"], d["regularization"]
    if param == "hidden_units":
        arch["hidden_layers"] = [value] * max(1, len(arch["hidden_layers"]))
    elif param == "layers":
        width = arch["hidden_layers"][0] if arch["hidden_layers"] else 4
        arch["hidden_layers"] = [width] * value
        if arch.get("layer_activations"):
            arch["layer_activations"] = (arch["layer_activations"] + [None] * value)[:value] or None
        if reg.get("layer_dropout"):
            reg["layer_dropout"] = (reg["layer_dropout"] + [None] * value)[:value] or None
    elif param in ("l1", "l2", "dropout"):
        reg[param] = float(value)
        if param == "dropout":
            reg["layer_dropout"] = None     # the swept rate applies to every layer
    elif param == "learning_rate":
        d["optimizer"]["learning_rate"] = float(value)
    if seed is not None:
        arch["seed"] = int(seed)
    return ExperimentConfig.from_dict(d, path="sweep config").to_dict()


def check_metric(spec: SweepSpec, config: ExperimentConfig | dict) -> None:
    problem = config.problem if isinstance(config, ExperimentConfig) else config.get("problem")
    if spec.metric == "error" and problem == "regression":
        raise NnvizError("metric: a regression has no error rate; use the loss (--metric loss)")
