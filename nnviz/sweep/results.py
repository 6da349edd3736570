"""A sweep's results: one row per run, the per-value summary the graph draws, CSV and save/load.

Qt-free. A row is the dict :func:`nnviz.sweep.task.run_task` returns (value, seed, epochs, best_epoch,
train/test loss and error, seconds; optionally the weights). Rows are keyed by (value, seed): re-running
with more seeds merges, a run that is already there is replaced by the newer one.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import Any

from ..errors import NnvizError
from ..fileio import write_atomically
from .spec import SweepSpec, format_value, get_param

CSV_FIELDS = ("value", "seed", "epochs", "best_epoch", "train_loss", "test_loss", "train_error", "test_error",
              "seconds")
_NUMBER_FIELDS = ("train_loss", "test_loss", "train_error", "test_error", "seconds")


@dataclass
class ValueStats:
    """Train and test metric across the seeds of one value."""
    value: Any
    runs: int
    train_mean: float
    train_min: float
    train_max: float
    test_mean: float
    test_min: float
    test_max: float


@dataclass
class Summary:
    """What the graph shows: per-value statistics, the best value and the two sides of it."""
    metric: str
    stats: list[ValueStats]
    best_value: Any            # the value with the lowest mean test metric (None without test numbers)
    underfitting: list         # values left of the best (smaller models / stronger constraints)
    overfitting: list          # values right of the best
    best_inside: bool          # the minimum is strictly inside the swept range


def _stats(values: list[float]) -> tuple[float, float, float]:
    xs = [v for v in values if v is not None and math.isfinite(v)]
    if not xs:
        return math.nan, math.nan, math.nan
    return sum(xs) / len(xs), min(xs), max(xs)


def summarize(rows: list[dict], metric: str = "error") -> Summary:
    """Per value: mean, min and max across seeds of the train and test metric; the best test value."""
    by_value: dict[Any, list[dict]] = {}
    for r in rows:
        by_value.setdefault(r["value"], []).append(r)
    stats = []
    for value in sorted(by_value):
        rs = by_value[value]
        tr = _stats([r.get(f"train_{metric}") for r in rs])
        te = _stats([r.get(f"test_{metric}") for r in rs])
        stats.append(ValueStats(value, len(rs), *tr, *te))
    finite = [s for s in stats if math.isfinite(s.test_mean)]
    best = min(finite, key=lambda s: s.test_mean).value if finite else None
    values = [s.value for s in stats]
    if best is None:
        return Summary(metric, stats, None, [], [], False)
    under = [v for v in values if v < best]
    over = [v for v in values if v > best]
    return Summary(metric, stats, best, under, over, bool(under and over))


class SweepResult:
    """The spec, the base settings it varied and the rows that have come in (any order)."""

    def __init__(self, spec: SweepSpec, rows: list[dict] | None = None, base_config: dict | None = None):
        self.spec = spec
        self.base_config = base_config
        self._rows: dict[tuple, dict] = {}
        for r in rows or []:
            self.add(r)

    # -- rows ----------------------------------------------------------------------------------------
    def add(self, row: dict) -> None:
        self._rows[(row["value"], int(row["seed"]))] = row

    @property
    def rows(self) -> list[dict]:
        """Every run, sorted by value then seed."""
        return [self._rows[k] for k in sorted(self._rows)]

    def __len__(self) -> int:
        return len(self._rows)

    def has(self, value, seed) -> bool:
        return (value, int(seed)) in self._rows

    def missing(self, spec: SweepSpec | None = None) -> list[tuple[Any, int]]:
        """(value, seed) runs of ``spec`` (default: this one) that are not here yet."""
        spec = spec or self.spec
        return [(v, s) for v, s in spec.runs() if (v, s) not in self._rows]

    def merge(self, other: "SweepResult") -> "SweepResult":
        """This sweep's runs plus ``other``'s (same parameter and base settings): more seeds or values."""
        if other.spec.param != self.spec.param:
            raise NnvizError(f"cannot merge a {other.spec.param} sweep into a {self.spec.param} sweep")
        if (self.base_config is not None and other.base_config is not None
                and self.base_config != other.base_config):
            raise NnvizError("cannot merge sweeps of different settings")
        values = sorted(set(self.spec.values) | set(other.spec.values))
        seeds = max(self.spec.seed_list[-1], other.spec.seed_list[-1]) - min(self.spec.first_seed,
                                                                             other.spec.first_seed) + 1
        spec = SweepSpec(self.spec.param, values, seeds=seeds, epochs=other.spec.epochs, metric=other.spec.metric,
                         first_seed=min(self.spec.first_seed, other.spec.first_seed))
        merged = SweepResult(spec, self.rows, self.base_config or other.base_config)
        for r in other.rows:
            merged.add(r)
        return merged

    def summary(self, metric: str | None = None) -> Summary:
        return summarize(self.rows, metric or self.spec.metric)

    # -- CSV -----------------------------------------------------------------------------------------
    def to_csv(self, seconds: bool = True) -> str:
        """One row per run; the first column is named after the parameter. Numbers in full precision."""
        fields = [f for f in CSV_FIELDS if seconds or f != "seconds"]
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow([self.spec.param if f == "value" else f for f in fields])
        for r in self.rows:
            line = []
            for f in fields:
                v = r.get(f)
                if f == "value":
                    line.append(format_value(v))
                elif v is None:
                    line.append("")
                else:
                    line.append(repr(float(v)) if f in _NUMBER_FIELDS else str(v))
            w.writerow(line)
        return out.getvalue()

    def write_csv(self, path: str) -> None:
        write_atomically(path, self.to_csv())

    def table(self) -> str:
        """A plain-text table of the per-value summary (what the command prints)."""
        s = self.summary()
        m = s.metric
        head = (f"{get_param(self.spec.param).label:>22}  runs  train {m} mean [min-max]      "
                f"test {m} mean [min-max]")
        lines = [head]
        fmt = (lambda x: f"{100 * x:6.2f}%") if m == "error" else (lambda x: f"{x:7.4f}")
        for st in s.stats:
            mark = "  <- best test" if st.value == s.best_value else ""
            lines.append(f"{format_value(st.value):>22}  {st.runs:4d}  {fmt(st.train_mean)} "
                         f"[{fmt(st.train_min)}-{fmt(st.train_max)}]  {fmt(st.test_mean)} "
                         f"[{fmt(st.test_min)}-{fmt(st.test_max)}]{mark}")
        if s.best_value is not None:
            if s.best_inside:
                lines.append(f"best test {m} at {format_value(s.best_value)}: smaller values underfit, "
                             f"larger ones overfit")
            else:
                lines.append(f"best test {m} at {format_value(s.best_value)} (an end of the range: "
                             f"widen it to see both sides)")
        return "\n".join(lines)

    # -- save / load ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain JSON-able data (weights left out: a run is re-made exactly from its value and seed)."""
        rows = [{k: r.get(k) for k in CSV_FIELDS} for r in self.rows]
        return {"spec": self.spec.to_dict(), "base_config": self.base_config, "rows": rows}

    @classmethod
    def from_dict(cls, d: Any) -> "SweepResult":
        if not isinstance(d, dict) or "spec" not in d:
            raise NnvizError("sweep: expected an object with spec and rows")
        spec = SweepSpec.from_dict(d["spec"])
        rows_in = d.get("rows", [])
        if not isinstance(rows_in, list):
            raise NnvizError("sweep.rows: expected a list")
        p = get_param(spec.param)
        rows = []
        for i, r in enumerate(rows_in):
            where = f"sweep.rows[{i}]"
            if not isinstance(r, dict):
                raise NnvizError(f"{where}: expected an object")
            row = {}
            for k in CSV_FIELDS:
                v = r.get(k)
                if k in ("value",):
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                        raise NnvizError(f"{where}.value: expected a number")
                    v = int(v) if p.kind is int else float(v)
                elif k in ("seed", "epochs"):
                    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                        raise NnvizError(f"{where}.{k}: expected a whole number")
                elif k == "best_epoch":
                    if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                        raise NnvizError(f"{where}.best_epoch: expected a whole number or null")
                elif v is not None:
                    if isinstance(v, bool) or not isinstance(v, (int, float)):
                        raise NnvizError(f"{where}.{k}: expected a number or null")
                    v = float(v)
                row[k] = v
            rows.append(row)
        base = d.get("base_config")
        if base is not None and not isinstance(base, dict):
            raise NnvizError("sweep.base_config: expected an object")
        return cls(spec, rows, base)
