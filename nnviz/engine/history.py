"""Per-epoch metric history, stored column-wise in growable NumPy arrays.

Scalar columns hold one number per epoch; layer columns one number per weight matrix per epoch
(index 0 is the input side). A value that does not exist (no test points, say) is NaN.

Not every epoch is evaluated (see :mod:`nnviz.engine.trainer`, "the record"): a row whose ``evaluated`` is
0.0 holds NaN in the :data:`EVALUATED_ONLY` columns, and its ``train_loss`` is the mean loss of the epoch's
batches (measured while training, with dropout if any), not the loss of the weights after the epoch. Data
from before the column existed loads as all evaluated.
"""
from __future__ import annotations

import csv
import io

import numpy as np

from ..errors import FileFormatError

SCALAR_COLUMNS = (
    "epoch",             # 1-based count of epochs completed
    "learning_rate",     # the rate used during this epoch
    "train_loss",        # data loss on the training points (no penalty, no dropout)
    "penalty",           # L1 + L2 penalty term added to the training objective
    "test_loss",
    "validation_loss",
    "train_error",       # fraction misclassified (classification) or NaN (regression)
    "test_error",
    "validation_error",
    "evaluated",         # 1.0: this epoch's weights were evaluated on every point; 0.0: only train_loss (the
                         # mean batch loss), penalty and learning_rate are known, the rest is NaN
)
LAYER_COLUMNS = (
    "grad_norm",         # L2 norm of dL/dW for the layer, root-mean-square over the epoch's steps
    "grad_mean_abs",     # mean |dL/dW| over the layer's weights, averaged over the epoch's steps
    "weight_norm",       # L2 norm of W after the epoch
    "near_zero",         # fraction of |W| < NEAR_ZERO after the epoch (L1 sparsity)
)
# Columns that only an evaluated epoch has (NaN in rows with evaluated = 0.0).
EVALUATED_ONLY = ("test_loss", "validation_loss", "train_error", "test_error", "validation_error") + LAYER_COLUMNS
# Columns that data written before they existed may lack, with the value such rows get.
OPTIONAL_COLUMNS = {"evaluated": 1.0}
NEAR_ZERO = 1e-3
_DEFAULTS = {c: OPTIONAL_COLUMNS.get(c, np.nan) for c in SCALAR_COLUMNS}   # a value a row was not given
# Memory stays bounded on long runs: past this many rows the history keeps every 2nd, then every
# 4th, ... epoch (uniformly over the whole run), plus always the newest one.
MAX_ROWS = 100_000


class History:
    def __init__(self, n_layers: int, capacity: int = 1024, max_rows: int = MAX_ROWS):
        self.n_layers = n_layers
        self.max_rows = max(4, max_rows)
        self.stride = 1          # one row is kept per `stride` epochs offered
        self._offered = 0
        self._tail = False       # the last row is off the stride grid (kept only as the newest)
        self._n = 0
        self._scalars = {c: np.full(capacity, np.nan) for c in SCALAR_COLUMNS}
        self._layers = {c: np.full((capacity, n_layers), np.nan) for c in LAYER_COLUMNS}

    def __len__(self) -> int:
        return self._n

    def _grow(self):
        cap = max(16, 2 * len(self._scalars["epoch"]))
        for c, a in self._scalars.items():
            b = np.full(cap, np.nan)
            b[: self._n] = a[: self._n]
            self._scalars[c] = b
        for c, a in self._layers.items():
            b = np.full((cap, self.n_layers), np.nan)
            b[: self._n] = a[: self._n]
            self._layers[c] = b

    def _compact(self) -> None:
        """Keep every other grid row (and the newest): halves the rows, keeps the time span."""
        grid = self._n - 1 if self._tail else self._n
        keep = list(range(0, grid, 2))
        if self._tail:
            keep.append(self._n - 1)
        keep = np.array(keep, dtype=np.intp)
        k = len(keep)
        for a in self._scalars.values():
            a[:k] = a[keep]
            a[k:self._n] = np.nan      # rows past the end are always NaN (append writes only what it has)
        for a in self._layers.values():
            a[:k] = a[keep]
            a[k:self._n] = np.nan
        self._n = k
        self.stride *= 2

    def append(self, scalars: dict, layers: dict) -> None:
        on_grid = self._offered % self.stride == 0
        self._offered += 1
        if self._tail:
            i = self._n - 1   # the previous newest row was off-grid: this one replaces it
            self._tail = not on_grid
            self.replace_last(scalars, layers)
            return
        if self._n >= self.max_rows:
            self._compact()
        if self._n == len(self._scalars["epoch"]):
            self._grow()
        i = self._n
        self._n += 1
        # a new row is all NaN already: write what is given (an epoch not evaluated gives few columns)
        cols = self._scalars
        for c, v in scalars.items():
            a = cols.get(c)
            if a is not None:
                a[i] = v
        if "evaluated" not in scalars:
            cols["evaluated"][i] = _DEFAULTS["evaluated"]
        for c, v in layers.items():
            a = self._layers.get(c)
            if a is not None:
                a[i] = v
        self._tail = not on_grid

    def replace_last(self, scalars: dict, layers: dict) -> None:
        """Overwrite the newest row (same epoch): the trainer completing a row it could not evaluate at
        first (training paused on it, say). Columns missing from the dicts become NaN."""
        if not self._n:
            raise IndexError("the history is empty")
        i = self._n - 1
        for c, a in self._scalars.items():
            a[i] = scalars.get(c, _DEFAULTS[c])
        for c, a in self._layers.items():
            a[i] = layers.get(c, np.nan)

    def __getitem__(self, column: str) -> np.ndarray:
        """A read-only view of one column (1-D for scalars, (epochs, layers) for layer columns)."""
        src = self._scalars.get(column)
        if src is None:
            src = self._layers[column]
        view = src[: self._n]
        view.flags.writeable = False
        return view

    def last(self, column: str) -> float:
        return float(self._scalars[column][self._n - 1]) if self._n else float("nan")

    def last_evaluated_row(self) -> int | None:
        """Index of the newest evaluated row (None if there is none)."""
        evaluated = self._scalars["evaluated"][: self._n]
        stop, size = len(evaluated), 64   # newest first, in growing chunks: O(rows since it), not O(history)
        while stop > 0:
            start = max(0, stop - size)
            rows = np.flatnonzero(evaluated[start:stop] == 1.0)
            if len(rows):
                return start + int(rows[-1])
            stop, size = start, size * 4
        return None

    def last_evaluated(self, column: str) -> float:
        """``column`` in the newest evaluated row (NaN if none): what a numbers display should show."""
        i = self.last_evaluated_row()
        return float(self._scalars[column][i]) if i is not None else float("nan")

    def rows_after(self, epoch: float) -> int:
        """Index of the first row whose epoch is greater than ``epoch``."""
        return int(np.searchsorted(self._scalars["epoch"][: self._n], epoch, side="right"))

    def slice(self, start: int, stop: int | None = None) -> dict:
        """Rows [start, stop) as plain arrays (copies): what a snapshot carries to the GUI."""
        stop = self._n if stop is None else min(stop, self._n)
        out = {c: a[start:stop].copy() for c, a in self._scalars.items()}
        out.update({c: a[start:stop].copy() for c, a in self._layers.items()})
        return out

    def extend(self, rows: dict) -> None:
        """Append the rows produced by :meth:`slice` (possibly from another process).

        A first row with the same epoch as the newest row replaces it (the sender completed that row, e.g.
        evaluated it when training paused). Rows without ``evaluated`` count as evaluated.
        """
        k = len(rows["epoch"])
        if "evaluated" not in rows:
            rows = {**rows, "evaluated": np.full(k, OPTIONAL_COLUMNS["evaluated"])}
        if k and self._n and rows["epoch"][0] == self._scalars["epoch"][self._n - 1]:
            self.replace_last({c: rows[c][0] for c in SCALAR_COLUMNS}, {c: rows[c][0] for c in LAYER_COLUMNS})
            rows = {c: rows[c][1:] for c in SCALAR_COLUMNS + LAYER_COLUMNS}
            k -= 1
        if self.stride == 1 and not self._tail and self._n + k <= self.max_rows:
            while self._n + k > len(self._scalars["epoch"]):
                self._grow()
            for c in SCALAR_COLUMNS:
                self._scalars[c][self._n:self._n + k] = rows[c]
            for c in LAYER_COLUMNS:
                self._layers[c][self._n:self._n + k] = rows[c]
            self._n += k
            self._offered += k
            return
        for i in range(k):   # past the bound: row by row, so thinning stays uniform
            self.append({c: rows[c][i] for c in SCALAR_COLUMNS}, {c: rows[c][i] for c in LAYER_COLUMNS})

    # -- serialisation -----------------------------------------------------------------------------
    def to_arrays(self) -> dict:
        """Every column as a NumPy float64 copy plus ``n_layers``: cheap to make and to pickle.

        What a state reply carries between processes; :meth:`from_arrays` rebuilds the history.
        """
        out = self.slice(0)
        out["n_layers"] = self.n_layers
        return out

    @classmethod
    def from_arrays(cls, d: dict, path: str = "history") -> "History":
        """The inverse of :meth:`to_arrays`; FileFormatError if a column is missing or misshapen."""
        if not isinstance(d, dict):
            raise FileFormatError(f"{path}: expected a dict of columns")
        n_layers = d.get("n_layers")
        if isinstance(n_layers, bool) or not isinstance(n_layers, (int, np.integer)) or not 1 <= n_layers <= 64:
            raise FileFormatError(f"{path}.n_layers: expected a whole number from 1 to 64")
        n_layers = int(n_layers)
        unknown = set(d) - set(SCALAR_COLUMNS) - set(LAYER_COLUMNS) - {"n_layers"}
        if unknown:
            raise FileFormatError(f"{path}.{sorted(unknown)[0]}: unknown column")
        rows = {}
        n = None
        for c in SCALAR_COLUMNS + LAYER_COLUMNS:
            a = d.get(c)
            if a is None and c in OPTIONAL_COLUMNS and n is not None:
                a = np.full(n, OPTIONAL_COLUMNS[c])   # data from before the column existed
            if not isinstance(a, np.ndarray) or a.dtype.kind not in "fiu":
                raise FileFormatError(f"{path}.{c}: expected a NumPy array of numbers")
            if n is None:
                n = len(a)
            want = (n,) if c in SCALAR_COLUMNS else (n, n_layers)
            if a.shape != want:
                raise FileFormatError(f"{path}.{c}: expected shape {want}, got {a.shape}")
            rows[c] = _checked_column(a.astype(np.float64, copy=False), f"{path}.{c}")
        check_epochs(rows["epoch"], path)
        check_evaluated(rows["evaluated"], path)
        h = cls(n_layers, capacity=max(16, n))
        h.extend(rows)
        return h

    def to_dict(self) -> dict:
        """JSON-ready: lists of floats with NaN as None."""
        def clean(a):
            return [None if not np.isfinite(v) else float(v) for v in np.ravel(a)]
        d = {c: clean(self[c]) for c in SCALAR_COLUMNS}
        d.update({c: [clean(row) for row in self[c]] for c in LAYER_COLUMNS})
        d["n_layers"] = self.n_layers
        return d

    @classmethod
    def from_dict(cls, d: dict, path: str = "history") -> "History":
        if not isinstance(d, dict):
            raise FileFormatError(f"{path}: expected an object of columns")
        n_layers = d.get("n_layers")
        if isinstance(n_layers, bool) or not isinstance(n_layers, int) or not 1 <= n_layers <= 64:
            raise FileFormatError(f"{path}.n_layers: expected a whole number from 1 to 64")
        unknown = set(d) - set(SCALAR_COLUMNS) - set(LAYER_COLUMNS) - {"n_layers"}
        if unknown:
            raise FileFormatError(f"{path}.{sorted(unknown)[0]}: unknown column")
        n = None
        rows = {}
        for c in SCALAR_COLUMNS + LAYER_COLUMNS:
            col = d.get(c)
            if col is None and c in OPTIONAL_COLUMNS and n is not None:
                col = [OPTIONAL_COLUMNS[c]] * n    # data from before the column existed
            if col is None:
                raise FileFormatError(f"{path}.{c}: missing column")
            if not isinstance(col, list):
                raise FileFormatError(f"{path}.{c}: expected a list")
            if n is None:
                n = len(col)
            elif len(col) != n:
                raise FileFormatError(f"{path}.{c}: has {len(col)} rows, expected {n} like the others")
            try:
                arr = np.array([[np.nan if v is None else v for v in r] if isinstance(r, list) else
                                (np.nan if r is None else r) for r in col], dtype=np.float64)
            except (TypeError, ValueError):
                raise FileFormatError(f"{path}.{c}: expected numbers (or null)") from None
            if any(isinstance(v, (bool, str)) for v in (col if c in SCALAR_COLUMNS else [])):
                raise FileFormatError(f"{path}.{c}: expected numbers (or null)")
            want = (n,) if c in SCALAR_COLUMNS else (n, n_layers)
            if n == 0:
                arr = arr.reshape(want)
            if arr.shape != want:
                raise FileFormatError(f"{path}.{c}: expected shape {want}, got {arr.shape}")
            rows[c] = _checked_column(arr, f"{path}.{c}")
        check_epochs(rows["epoch"], path)
        check_evaluated(rows["evaluated"], path)
        h = cls(n_layers, capacity=max(16, n))
        h.extend(rows)
        return h

    def to_csv(self) -> str:
        """One row per epoch; layer columns become grad_norm_0, grad_norm_1, ..."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        header = list(SCALAR_COLUMNS) + [f"{c}_{j}" for c in LAYER_COLUMNS for j in range(self.n_layers)]
        w.writerow(header)
        cols = [self[c] for c in SCALAR_COLUMNS] + [self[c][:, j] for c in LAYER_COLUMNS
                                                    for j in range(self.n_layers)]
        for i in range(self._n):
            w.writerow(["" if not np.isfinite(col[i]) else (int(col[i]) if k == 0 else f"{col[i]:.8g}")
                        for k, col in enumerate(cols)])
        return buf.getvalue()


def _checked_column(arr: np.ndarray, path: str) -> np.ndarray:
    """Metric values are finite or NaN (a value that does not exist); infinity is refused."""
    if np.isinf(arr).any():
        raise FileFormatError(f"{path}: values must be finite")
    return arr


def check_epochs(epochs: np.ndarray, path: str) -> None:
    if len(epochs) and (not np.isfinite(epochs).all() or epochs[0] < 1 or np.any(np.diff(epochs) <= 0)
                        or np.any(epochs != np.round(epochs))):
        raise FileFormatError(f"{path}.epoch: expected whole numbers from 1 upwards, each larger than the last")


def check_evaluated(flags: np.ndarray, path: str) -> None:
    if len(flags) and not np.isin(flags, (0.0, 1.0)).all():
        raise FileFormatError(f"{path}.evaluated: expected 1 (evaluated) or 0 (not) in every row")
