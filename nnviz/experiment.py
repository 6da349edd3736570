"""The ``.nnviz`` experiment file: settings, points and optionally trained weights and history.

One UTF-8 JSON document::

    {"format": "nnviz-experiment", "version": 2, "name": str, "description": str,
     "config": ExperimentConfig.to_dict(),
     "points": {"x": [...], "y": [...], "target": [...], "role": ["train" | "test" | "validation", ...]},
     "weights": null | [{"W": [[...fan_out...] x fan_in], "b": [...fan_out...]}, ...],  # input side first
     "history": null | {"n_layers": int, <column>: [...] | "<base64>", ...},
     "sweep": {"spec": {...}, "base_config": {...}, "rows": [...]},   # optional: a model complexity sweep
     "comparison": [{"label": str},                                   # optional: runs side by side
                    {"label": str, "changes": {...}, "weights": null | [...], "history": null | {...}}, ...]}

``sweep`` (optional, no version change: files without it are as before) is
:meth:`nnviz.sweep.SweepResult.to_dict` output, checked on load with ``SweepResult.from_dict``.

``comparison`` (optional, no version change) lists the 2-4 runs of a comparison on these points. Entry 0 is
run A: only its label, as its settings, weights and history are the top-level ones. Every further entry is
a run given by its ``changes`` (config sections of fields on top of the top-level config, see
:mod:`nnviz.compare_variants`), with its own weights and history in the top-level forms (checked against
that run's network). A comparison's runs all solve the same problem: ``changes`` may not hold ``problem``.

History columns (see nnviz.engine.history): a scalar column holds one value per row, a layer column one
row of ``n_layers`` values per row. Either every column is a JSON list (null for a missing value), or
every column is a string: the base64 of the column's little-endian IEEE float64 values, row-major
(rows x n_layers for layer columns), NaN for a missing value. Histories of at most
:data:`HISTORY_LIST_ROWS` rows are written as lists (readable), longer ones as base64 (an exact copy,
about half the size and fifty times faster to write than decimal text). Version 1 files (lists only)
and version 0 files still load.

Loading checks everything and reports the first problem as an :class:`NnvizError` with its JSON path
(``points.target[3]: expected a number``). Older versions are upgraded one step at a time through
:data:`MIGRATIONS`; files from a newer nnviz are refused. NaN is never written: history gaps are null,
and weights that are not finite cannot be saved.
"""
from __future__ import annotations

import binascii
import json
import math
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .compare_variants import MAX_RUNS, apply_changes
from .data.points import COORD_LIMIT, MAX_CLASSES, MAX_POINTS, ROLE_NAMES, PointSet
from .engine.config import ExperimentConfig, layer_sizes
from .engine.history import LAYER_COLUMNS, MAX_ROWS, OPTIONAL_COLUMNS, SCALAR_COLUMNS, History, check_epochs
from .fileio import read_limited, write_atomically
from .errors import DataError, FileFormatError, NnvizError

FORMAT = "nnviz-experiment"
VERSION = 2
HISTORY_LIST_ROWS = 1000         # longer histories are written as base64 columns
# What parsing may cost, not only the byte count: a document may hold at most this many lists/objects
# and values (each costs memory once parsed; 190 MB of "[{},{},...]" would take several GB).
MAX_CONTAINERS = 2_000_000
MAX_VALUES = 20_000_000
_LIST_PIECE = 8192               # long lists are written this many values at a time
_B64_VALUES = 3 * 8192           # float64 values encoded at a time (a multiple of 3: no padding inside)
_B64_PIECE = 3 * 2**18           # bytes decoded at a time (times 4/3 characters)
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 100_000
SUFFIX = ".nnviz"
_KEYS = ("format", "version", "name", "description", "config", "points", "weights", "history", "sweep",
         "comparison")
_RUN_KEYS = ("label", "changes", "weights", "history")
MAX_LABEL_CHARS = 200
_REQUIRED = ("format", "version", "config", "points")
# Integers this long are beyond any float; reading them as infinity lets the range checks report them.
_MAX_INT_DIGITS = 300
_MAX_MESSAGE_CHARS = 500


@dataclass(eq=False)
class Experiment:
    config: ExperimentConfig
    points: PointSet
    name: str = "Untitled"
    description: str = ""
    weights: list[tuple[np.ndarray, np.ndarray]] | None = None  # (W (fan_in, fan_out), b (fan_out,)) per layer
    history: History | None = None
    sweep: dict | None = None   # SweepResult.to_dict() of a sweep made on these points, or None
    # A comparison: the runs after run A (whose settings, weights and history are the fields above), each
    # {"label": str, "changes": dict, "weights": list | None, "history": History | None}; None: a single run
    comparison: list[dict] | None = None
    comparison_a_label: str = ""   # run A's label in a comparison

    def __eq__(self, other) -> bool:
        """Same settings, points, weights, history and comparison (NaN equals NaN in the histories)."""
        if not isinstance(other, Experiment):
            return NotImplemented
        return (self.name == other.name and self.description == other.description
                and self.config.to_dict() == other.config.to_dict() and self.points == other.points
                and _same_weights(self.weights, other.weights)
                and _same_history(self.history, other.history) and self.sweep == other.sweep
                and _same_comparison(self, other))

    def run_configs(self) -> list[ExperimentConfig]:
        """The settings of every run: [config] for a single run, else run A's and each further run's."""
        return [self.config] + [apply_changes(self.config, run.get("changes") or {}, path=f"comparison[{i}].changes")
                                for i, run in enumerate(self.comparison or [], 1)]


# -- writing ------------------------------------------------------------------------------------------------

def experiment_to_json(exp: Experiment) -> str:
    """The document as text. Raises an :class:`NnvizError` if the experiment could not be loaded back."""
    return "".join(_document_pieces(exp))


def save_experiment(exp: Experiment, path: str | os.PathLike) -> None:
    """Write atomically: a failure (bad data, full disk) leaves any existing file untouched.

    Follows a symlink to its target, refuses special files, keeps a replaced file's mode (see
    :func:`nnviz.fileio.write_atomically`). The work is done in small pieces (no single step holds the
    GIL for long), so it can run in a worker thread while a GUI stays responsive.
    """
    pieces = _document_pieces(exp)   # checked before anything is written
    write_atomically(os.fspath(path), pieces)


def _document_pieces(exp: Experiment) -> list[str]:
    """The document as a list of text pieces, after checking that it would load back."""
    doc = _to_document(exp)
    history = doc["history"]
    # What we write must load: the same checks as reading (they catch wrong weight shapes early). The
    # histories are checked on their arrays, the rest on the very values that are written.
    check = {**doc, "history": None}
    if "comparison" in doc:
        check["comparison"] = [{**run, "history": None} if "history" in run else run for run in doc["comparison"]]
    loaded = _from_document(check)
    if history is not None:
        _check_history_arrays(history, exp.config, exp.points, "history")
    for i, (run, config) in enumerate(zip(doc.get("comparison", [])[1:], loaded.run_configs()[1:]), 1):
        if run["history"] is not None:
            _check_history_arrays(run["history"], config, exp.points, f"comparison[{i}].history")
    try:
        return list(_layout(doc))
    except (TypeError, ValueError) as e:  # a NaN or a non-JSON value slipped past the checks below
        raise DataError(f"experiment: cannot be saved ({e})") from None


def _check_history_arrays(history: History, config: ExperimentConfig, points: PointSet, path: str) -> None:
    """What the loader checks of a history that the writer could get wrong (the rest a History ensures;
    infinity is written as a missing value)."""
    if not isinstance(history, History):
        raise DataError(f"{path}: expected a History, got {type(history).__name__}")
    sizes = layer_sizes(config, points.n_classes())
    if history.n_layers != len(sizes) - 1:
        raise FileFormatError(f"{path}.n_layers: the network has {len(sizes) - 1} weight layers, "
                              f"the history has {history.n_layers}")
    check_epochs(history["epoch"], path)


def _finite_or_nan(arrays: dict) -> dict:
    """Infinity (a diverged loss) is written as a missing value, as the list form writes null."""
    return {c: (np.where(np.isfinite(a), a, np.nan) if isinstance(a, np.ndarray) else a)
            for c, a in arrays.items()}


def _to_document(exp: Experiment) -> dict[str, Any]:
    pts = exp.points
    classification = exp.config.problem == "classification"
    targets = pts.target.tolist()
    if classification and np.all(pts.target == np.round(pts.target)):
        targets = [int(t) for t in targets]
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "name": exp.name,
        "description": exp.description,
        "config": exp.config.to_dict(),
        "points": {"x": pts.xy[:, 0].tolist(), "y": pts.xy[:, 1].tolist(), "target": targets,
                   "role": [ROLE_NAMES[r] for r in pts.role.tolist()]},
        "weights": _weights_document(exp.weights, "weights"),
        "history": exp.history,   # a History: laid out column by column by _history_pieces
    }
    if exp.sweep is not None:
        doc["sweep"] = exp.sweep
    if exp.comparison is not None:
        doc["comparison"] = _comparison_document(exp)
    return doc


def _weights_document(weights: list | None, path: str) -> list | None:
    if weights is None:
        return None
    out = []
    try:
        layers = list(weights)
    except TypeError:
        raise DataError(f"{path}: expected a list of (W, b) layers, got {type(weights).__name__}") from None
    for i, layer in enumerate(layers):
        try:
            w, b = layer
            w, b = np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{path}[{i}]: expected a pair (W, b) of number arrays") from None
        for key, arr in (("W", w), ("b", b)):
            if not np.isfinite(arr).all():
                raise DataError(f"{path}[{i}].{key}: holds a non-finite number (the training diverged); "
                                f"reset the network or save without weights")
        out.append({"W": w.tolist(), "b": b.tolist()})
    return out


def _comparison_document(exp: Experiment) -> list[dict]:
    """Entry 0 is run A (its label; the rest is top-level), then each further run in full."""
    runs = exp.comparison
    if not isinstance(runs, list):
        raise DataError(f"comparison: expected a list of runs, got {type(runs).__name__}")
    out: list[dict] = [{"label": exp.comparison_a_label}]
    for i, run in enumerate(runs, 1):
        path = f"comparison[{i}]"
        if not isinstance(run, dict):
            raise DataError(f"{path}: expected a dict with label, changes, weights and history")
        unknown = sorted(set(run) - set(_RUN_KEYS), key=str)
        if unknown:
            raise DataError(f"{path}.{unknown[0]}: unknown key (known: {', '.join(_RUN_KEYS)})")
        out.append({"label": run.get("label", ""), "changes": run.get("changes") or {},
                    "weights": _weights_document(run.get("weights"), f"{path}.weights"),
                    "history": run.get("history")})
    return out


def _dump(value, indent=None) -> str:
    return json.dumps(value, allow_nan=False, ensure_ascii=False, indent=indent,
                      separators=(",", ": ") if indent else (",", ":"))


def _list_pieces(values: list):
    """A (long) list as compact JSON, a slice at a time, so no one call runs for long."""
    if len(values) <= _LIST_PIECE:
        yield _dump(values)
        return
    yield "["
    for i in range(0, len(values), _LIST_PIECE):
        yield ("," if i else "") + _dump(values[i:i + _LIST_PIECE])[1:-1]
    yield "]"


def _weights_pieces(weights: list | None):
    if weights is None:
        yield "null"
        return
    yield "["
    for i, layer in enumerate(weights):
        yield ("," if i else "") + '{"W":['
        for r, row in enumerate(layer["W"]):
            if r:
                yield ","
            yield from _list_pieces(row)
        yield '],"b":'
        yield from _list_pieces(layer["b"])
        yield "}"
    yield "]"


def _history_pieces(history: History | None):
    if history is None:
        yield "null"
        return
    as_lists = len(history) <= HISTORY_LIST_ROWS
    yield "{"
    for k, c in enumerate(SCALAR_COLUMNS + LAYER_COLUMNS):
        yield ("," if k else "") + _dump(c) + ":"
        col = history[c]   # a read-only view: nothing is copied whole
        if as_lists:
            fine = np.isfinite(col)
            values = col.tolist()
            if c in SCALAR_COLUMNS:
                yield _dump([v if ok else None for v, ok in zip(values, fine.tolist())])
            else:
                yield _dump([[v if ok else None for v, ok in zip(row, oks)]
                             for row, oks in zip(values, fine.tolist())])
        else:
            yield '"'
            yield from _base64_pieces(col)
            yield '"'
    yield f',"n_layers":{int(history.n_layers)}' + "}"


def _base64_pieces(column: np.ndarray):
    """Little-endian float64, base64 without line breaks, non-finite values as NaN, in short pieces
    (each a fraction of a millisecond, so a GUI thread beside this one never waits long)."""
    flat = column.reshape(-1)
    for i in range(0, len(flat), _B64_VALUES):
        part = flat[i:i + _B64_VALUES]
        data = np.where(np.isfinite(part), part, np.nan).astype("<f8", copy=False).tobytes()
        yield binascii.b2a_base64(data, newline=False).decode("ascii")


def _comparison_pieces(runs: list[dict]):
    """One run a line; weights and history laid out as the top-level ones."""
    yield "["
    for i, run in enumerate(runs):
        yield ("\n  " if i == 0 else ",\n  ") + "{" + f'"label":{_dump(run["label"])}'
        if i:
            yield f',"changes":{_dump(run["changes"])},"weights":'
            yield from _weights_pieces(run["weights"])
            yield ',"history":'
            yield from _history_pieces(run["history"])
        yield "}"
    yield "\n ]"


def _layout(doc: dict[str, Any]):
    """Readable but compact: one top-level key per line, the config indented, long arrays on one line."""
    yield "{\n"
    for k, (key, value) in enumerate(doc.items()):
        yield ("" if k == 0 else ",\n") + f" {_dump(key)}: "
        if key == "config":
            yield _dump(value, indent=1).replace("\n", "\n ")
        elif key == "points":
            yield "{\n"
            for j, (name, column) in enumerate(value.items()):
                yield ("" if j == 0 else ",\n") + f"  {_dump(name)}: "
                yield from _list_pieces(column)
            yield "\n }"
        elif key == "weights":
            yield from _weights_pieces(value)
        elif key == "history":
            yield from _history_pieces(value)
        elif key == "comparison":
            yield from _comparison_pieces(value)
        else:
            yield _dump(value)
    yield "\n}\n"


# -- reading ------------------------------------------------------------------------------------------------

def load_experiment(path: str | os.PathLike) -> Experiment:
    path = os.fspath(path)
    data = read_limited(path, MAX_FILE_BYTES, "an experiment file")
    return experiment_from_json(data, source=path)


def experiment_from_json(text: str | bytes, source: str = "<text>") -> Experiment:
    """Parse and check a document; every problem is an :class:`NnvizError` starting with ``source``."""
    doc = _parse_json(text, source)
    try:
        return _from_document(doc)
    except NnvizError as e:
        raise _with_source(e, source) from None
    except RecursionError:  # a deeply nested value that reached a recursive check or repr()
        raise FileFormatError(f"{source}: not readable: the JSON is nested too deeply") from None


def _with_source(error: NnvizError, source: str) -> NnvizError:
    """The same kind of error with the file named in front (ConfigError keeps its field)."""
    message = str(error)
    if len(message) > _MAX_MESSAGE_CHARS:  # config errors quote the bad value, which may be a huge list
        message = message[:_MAX_MESSAGE_CHARS] + "..."
    new = type(error).__new__(type(error))
    new.args = (f"{source}: {message}",)
    if hasattr(error, "field"):
        new.field = error.field
    return new


def _parse_json(text: str | bytes, source: str) -> Any:
    if isinstance(text, (bytes, bytearray, memoryview)):
        if len(text) > MAX_FILE_BYTES:
            raise FileFormatError(f"{source}: larger than {MAX_FILE_BYTES // 2**20} MB; not an experiment file")
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise FileFormatError(f"{source}: not a UTF-8 text file (undecodable byte at offset {e.start}); "
                                  f"not an nnviz experiment") from None
    elif not isinstance(text, str):
        raise FileFormatError(f"{source}: expected JSON text, got {type(text).__name__}")
    if len(text) > MAX_FILE_BYTES:
        raise FileFormatError(f"{source}: larger than {MAX_FILE_BYTES // 2**20} MB; not an experiment file")
    if not text.strip():
        raise FileFormatError(f"{source}: the file is empty")
    _check_parse_cost(text, source)
    try:
        return json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as e:
        raise FileFormatError(f"{source}: not valid JSON: line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise FileFormatError(f"{source}: not readable: the JSON is nested too deeply") from None
    except ValueError as e:  # e.g. a number literal json itself refuses
        raise FileFormatError(f"{source}: not valid JSON: {e}") from None


def _check_parse_cost(text: str, source: str) -> None:
    """Refuse, before parsing, a document whose parsed form would take far more memory than its text.

    Every list or object and every value becomes a Python object: counting the characters that open a
    container and those that separate values bounds that cost whatever the whitespace or nesting
    (characters inside strings are counted too, which only overestimates).
    """
    containers = text.count("[") + text.count("{")
    values = text.count(",") + containers
    if containers > MAX_CONTAINERS or values > MAX_VALUES:
        raise FileFormatError(f"{source}: too many lists, objects or values to be an nnviz experiment "
                              f"({containers:,} lists/objects, about {values:,} values; at most "
                              f"{MAX_CONTAINERS:,} and {MAX_VALUES:,})")


def _parse_int(literal: str) -> int | float:
    return int(literal) if len(literal) <= _MAX_INT_DIGITS else float(literal)


# -- migrations: each takes a document of version v and returns one of version v + 1 -----------------------

def migrate_0_to_1(doc: dict) -> dict:
    """Version 0 had no "format" key and stored points as rows [x, y, label, role] (role 0/1/2 or a word)."""
    rows = doc.get("points")
    if not isinstance(rows, list):
        raise FileFormatError(f"points: expected a list of [x, y, label, role] rows (version 0), "
                              f"got {_kind(rows)}")
    columns: dict[str, list] = {"x": [], "y": [], "target": [], "role": []}
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != 4:
            raise FileFormatError(f"points[{i}]: expected a row [x, y, label, role], got {_kind(row)}")
        x, y, label, role = row
        if isinstance(role, int) and not isinstance(role, bool) and 0 <= role < len(ROLE_NAMES):
            role = ROLE_NAMES[role]
        for key, value in zip(columns, (x, y, label, role)):
            columns[key].append(value)
    out = {k: v for k, v in doc.items() if k != "points"}
    out.update(format=FORMAT, version=1, points=columns)
    return out


def migrate_1_to_2(doc: dict) -> dict:
    """Version 2 lets history columns be base64 text; version 1 had lists only (so nothing changes)."""
    history = doc.get("history")
    if isinstance(history, dict):
        for column, value in history.items():
            if isinstance(value, str):
                raise FileFormatError(f"history.{column}: expected a list (version 1 files hold no base64 columns)")
    return {**doc, "version": 2}


MIGRATIONS: dict[int, Callable[[dict], dict]] = {0: migrate_0_to_1, 1: migrate_1_to_2}


# -- checks -------------------------------------------------------------------------------------------------

def _from_document(doc: Any) -> Experiment:
    if not isinstance(doc, dict):
        raise FileFormatError(f"expected a JSON object, got {_kind(doc)}; not an nnviz experiment")
    doc = _upgrade(doc)
    for key in doc:
        if key not in _KEYS:
            raise FileFormatError(f"{key}: unknown key (known: {', '.join(_KEYS)})")
    for key in _REQUIRED:
        if key not in doc:
            raise FileFormatError(f"{key}: missing")
    name = _text(doc.get("name", "Untitled"), "name", MAX_NAME_CHARS)
    description = _text(doc.get("description", ""), "description", MAX_DESCRIPTION_CHARS)
    config = ExperimentConfig.from_dict(doc["config"], path="config")
    points = _points(doc["points"], config)
    sizes = layer_sizes(config, points.n_classes())
    weights = None if doc.get("weights") is None else _weights(doc["weights"], sizes)
    history = None if doc.get("history") is None else _history(doc["history"], len(sizes) - 1)
    sweep = None if doc.get("sweep") is None else _sweep(doc["sweep"])
    a_label, comparison = "", None
    if doc.get("comparison") is not None:
        a_label, comparison = _comparison(doc["comparison"], config, points)
    return Experiment(config=config, points=points, name=name, description=description,
                      weights=weights, history=history, sweep=sweep, comparison=comparison,
                      comparison_a_label=a_label)


def _comparison(value: Any, config: ExperimentConfig, points: PointSet) -> tuple[str, list[dict]]:
    """(run A's label, the further runs) of a saved comparison, each run checked against its own network."""
    if not isinstance(value, list):
        raise FileFormatError(f"comparison: expected a list of runs, got {_kind(value)}")
    if not 2 <= len(value) <= MAX_RUNS:
        raise FileFormatError(f"comparison: expected 2 to {MAX_RUNS} runs, got {len(value)}")
    labels = []
    runs = []
    for i, run in enumerate(value):
        path = f"comparison[{i}]"
        if not isinstance(run, dict):
            raise FileFormatError(f"{path}: expected an object with label, changes, weights and history, "
                                  f"got {_kind(run)}")
        for key in run:
            if key not in _RUN_KEYS:
                raise FileFormatError(f"{path}.{key}: unknown key (known: {', '.join(_RUN_KEYS)})")
        if "label" not in run:
            raise FileFormatError(f"{path}.label: missing")
        labels.append(_text(run["label"], f"{path}.label", MAX_LABEL_CHARS))
        changes = run.get("changes", {})
        if not isinstance(changes, dict):
            raise FileFormatError(f"{path}.changes: expected an object of config sections, got {_kind(changes)}")
        if i == 0:
            for key in ("weights", "history"):
                if run.get(key) is not None:
                    raise FileFormatError(f"{path}.{key}: the first run's {key} are the file's top-level {key}")
            if changes:
                raise FileFormatError(f"{path}.changes: the first run uses the file's config; it has no changes")
            continue
        if "problem" in changes:
            raise FileFormatError(f"{path}.changes.problem: every run of a comparison solves the file's problem")
        run_config = apply_changes(config, changes, path=f"{path}.changes")
        sizes = layer_sizes(run_config, points.n_classes())
        weights = None if run.get("weights") is None else _weights(run["weights"], sizes, f"{path}.weights")
        history = (None if run.get("history") is None
                   else _history(run["history"], len(sizes) - 1, f"{path}.history"))
        runs.append({"label": labels[-1], "changes": run_config_changes(changes), "weights": weights,
                     "history": history})
    return labels[0], runs


def run_config_changes(changes: dict) -> dict:
    """A copy of a run's changes (sections copied, so editing one never edits a loaded experiment's)."""
    return json.loads(json.dumps(changes))


def _sweep(value: Any) -> dict:
    """A saved sweep, checked by nnviz.sweep (and returned in its own normal form)."""
    from .sweep import SweepResult
    try:
        return SweepResult.from_dict(value).to_dict()
    except NnvizError as e:
        message = str(e)
        raise FileFormatError(message if message.startswith("sweep") else f"sweep: {message}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as e:   # garbage nnviz.sweep did not foresee
        raise FileFormatError(f"sweep: not a valid sweep ({type(e).__name__}: {e})") from None


def _upgrade(doc: dict) -> dict:
    fmt = doc.get("format", FORMAT)
    if fmt != FORMAT:
        raise FileFormatError(f"format: expected {FORMAT!r}, got {_short(fmt)}; not an nnviz experiment")
    if "version" not in doc and "format" in doc:
        raise FileFormatError("version: missing")
    version = doc.get("version", 0)  # files from before the format and version keys are version 0
    if isinstance(version, bool) or not isinstance(version, int):
        raise FileFormatError(f"version: expected a whole number, got {_short(version)}")
    if version > VERSION:
        raise FileFormatError(f"version: made by a newer nnviz (version {version}); this one reads up to {VERSION}")
    if version < 0:
        raise FileFormatError(f"version: expected a whole number from 0 to {VERSION}, got {version}")
    while version < VERSION:
        doc = MIGRATIONS[version](doc)
        version += 1
    return doc


def _text(value: Any, path: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise FileFormatError(f"{path}: expected text, got {_kind(value)}")
    if len(value) > max_chars:
        raise FileFormatError(f"{path}: at most {max_chars} characters, got {len(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FileFormatError(f"{path}: holds characters that are not valid Unicode") from None
    return value


def _points(value: Any, config: ExperimentConfig) -> PointSet:
    if not isinstance(value, dict):
        raise FileFormatError(f"points: expected an object with x, y, target and role lists, got {_kind(value)}")
    for key in value:
        if key not in ("x", "y", "target", "role"):
            raise FileFormatError(f"points.{key}: unknown key (known: x, y, target, role)")
    columns = {}
    for key in ("x", "y", "target", "role"):
        if key not in value:
            raise FileFormatError(f"points.{key}: missing")
        if not isinstance(value[key], list):
            raise FileFormatError(f"points.{key}: expected a list, got {_kind(value[key])}")
        columns[key] = value[key]
    n = len(columns["x"])
    if n > MAX_POINTS:
        raise DataError(f"points.x: at most {MAX_POINTS} points are supported, got {n}")
    for key in ("y", "target", "role"):
        if len(columns[key]) != n:
            raise FileFormatError(f"points.{key}: has {len(columns[key])} entries but points.x has {n}")
    x = _numbers(columns["x"], "points.x", COORD_LIMIT)
    y = _numbers(columns["y"], "points.y", COORD_LIMIT)
    target = _numbers(columns["target"], "points.target", None)
    role = np.empty(n, np.int8)
    for i, r in enumerate(columns["role"]):
        if r not in ROLE_NAMES:  # only str compares equal to a name
            raise FileFormatError(f"points.role[{i}]: expected \"train\", \"test\" or \"validation\", got {_short(r)}")
        role[i] = ROLE_NAMES.index(r)
    points = PointSet(np.column_stack([x, y]), target, role)
    if config.problem == "classification":
        try:
            points.check_classification()
        except DataError:
            bad = np.flatnonzero((target != np.round(target)) | (target < 0) | (target >= MAX_CLASSES))[0]
            raise DataError(f"points.target[{bad}]: expected a class index 0, 1, 2 or 3, "
                            f"got {_short(columns['target'][bad])}") from None
    return points


def _weights(value: Any, sizes: list[int], where: str = "weights") -> list[tuple[np.ndarray, np.ndarray]]:
    shapes = list(zip(sizes[:-1], sizes[1:]))
    if not isinstance(value, list):
        raise FileFormatError(f"{where}: expected a list of layers (or null), got {_kind(value)}")
    if len(value) != len(shapes):
        raise FileFormatError(f"{where}: the network has {len(shapes)} weight layers (sizes "
                              f"{' -> '.join(map(str, sizes))}), the file has {len(value)}")
    out = []
    for i, ((fan_in, fan_out), layer) in enumerate(zip(shapes, value)):
        path = f"{where}[{i}]"
        if not isinstance(layer, dict):
            raise FileFormatError(f"{path}: expected an object with W and b, got {_kind(layer)}")
        for key in layer:
            if key not in ("W", "b"):
                raise FileFormatError(f"{path}.{key}: unknown key (known: W, b)")
        for key in ("W", "b"):
            if key not in layer:
                raise FileFormatError(f"{path}.{key}: missing")
        w_rows = layer["W"]
        if not isinstance(w_rows, list) or len(w_rows) != fan_in:
            got = f"{len(w_rows)} rows" if isinstance(w_rows, list) else _kind(w_rows)
            raise FileFormatError(f"{path}.W: expected {fan_in} rows of {fan_out} numbers, got {got}")
        w = np.empty((fan_in, fan_out))
        for r, row in enumerate(w_rows):
            if not isinstance(row, list) or len(row) != fan_out:
                got = f"{len(row)} numbers" if isinstance(row, list) else _kind(row)
                raise FileFormatError(f"{path}.W[{r}]: expected {fan_out} numbers, got {got}")
            w[r] = _numbers(row, f"{path}.W[{r}]", None)
        b = layer["b"]
        if not isinstance(b, list) or len(b) != fan_out:
            got = f"{len(b)} numbers" if isinstance(b, list) else _kind(b)
            raise FileFormatError(f"{path}.b: expected {fan_out} numbers, got {got}")
        out.append((w, _numbers(b, f"{path}.b", None)))
    return out


def _history(value: Any, n_layers: int, path: str = "history") -> History:
    if isinstance(value, dict) and any(isinstance(v, str) for v in value.values()):
        history = _history_from_base64(value, path)
    else:
        history = _history_from_lists(value, path)
    if history.n_layers != n_layers:
        raise FileFormatError(f"{path}.n_layers: the network has {n_layers} weight layers, "
                              f"the history has {history.n_layers}")
    return history


def _history_from_lists(value: Any, where: str = "history") -> History:
    if isinstance(value, dict) and isinstance(value.get("epoch"), list) and len(value["epoch"]) > MAX_ROWS:
        raise FileFormatError(f"{where}.epoch: at most {MAX_ROWS} rows, got {len(value['epoch'])}")
    try:
        history = History.from_dict(value, path=where)
    except NnvizError:
        raise
    except (TypeError, ValueError, OverflowError) as e:  # History.from_dict lets a few of these through
        raise FileFormatError(f"{where}: not a readable metric history ({e})") from None
    # History.from_dict lets NumPy convert entries, which would accept "1.5" and true as numbers.
    for column in LAYER_COLUMNS:
        rows = value[column]
        if not all(v is None or type(v) is float or type(v) is int for row in rows for v in row):
            i, j = next((i, j) for i, row in enumerate(rows) for j, v in enumerate(row)
                        if not (v is None or type(v) is float or type(v) is int))
            raise FileFormatError(f"{where}.{column}[{i}][{j}]: expected a number or null, "
                                  f"got {_short(rows[i][j])}")
    return history


def _history_from_base64(value: dict, where: str = "history") -> History:
    """Every column base64 of little-endian float64 (NaN = missing); checked as strictly as lists."""
    n_layers = value.get("n_layers")
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or not 1 <= n_layers <= 64:
        raise FileFormatError(f"{where}.n_layers: expected a whole number from 1 to 64")
    unknown = set(value) - set(SCALAR_COLUMNS) - set(LAYER_COLUMNS) - {"n_layers"}
    if unknown:
        raise FileFormatError(f"{where}.{sorted(unknown)[0]}: unknown column")
    arrays: dict[str, Any] = {"n_layers": n_layers}
    n = None
    for c in SCALAR_COLUMNS + LAYER_COLUMNS:
        path = f"{where}.{c}"
        if c not in value and c in OPTIONAL_COLUMNS:
            continue   # a file from before the column existed: History.from_arrays fills in its default
        if c not in value:
            raise FileFormatError(f"{path}: missing column")
        text = value[c]
        if not isinstance(text, str):
            raise FileFormatError(f"{path}: expected base64 text like the other columns, got {_kind(text)}")
        values = _decode_float64(text, path)
        width = 1 if c in SCALAR_COLUMNS else n_layers
        if len(values) % width:
            raise FileFormatError(f"{path}: {len(values)} values do not make rows of {n_layers}")
        rows = len(values) // width
        if n is None:
            n = rows
            if n > MAX_ROWS:
                raise FileFormatError(f"{path}: at most {MAX_ROWS} rows, got {n}")
        elif rows != n:
            raise FileFormatError(f"{path}: has {rows} rows, expected {n} like the others")
        arrays[c] = values if c in SCALAR_COLUMNS else values.reshape(n, n_layers)
    return History.from_arrays(arrays, path=where)


def _decode_float64(text: str, path: str) -> np.ndarray:
    if not text.isascii() or len(text) % 4:
        raise FileFormatError(f"{path}: not base64 text (expected groups of 4 characters A-Z a-z 0-9 + /)")
    step = _B64_PIECE // 3 * 4
    try:
        data = b"".join(binascii.a2b_base64(text[i:i + step], strict_mode=True)
                        for i in range(0, len(text), step))
    except binascii.Error as e:
        raise FileFormatError(f"{path}: not base64 text ({e})") from None
    if len(data) % 8:
        raise FileFormatError(f"{path}: {len(data)} bytes is not a whole number of float64 values")
    return np.frombuffer(data, dtype="<f8").astype(np.float64)


def _numbers(values: list, path: str, limit: float | None) -> np.ndarray:
    """A float array of finite JSON numbers (not booleans) within ±limit; else the first bad index."""
    if all(type(v) is float or type(v) is int for v in values):
        arr = np.array(values, dtype=np.float64)
        bad = ~np.isfinite(arr) if limit is None else ~(np.abs(arr) <= limit)
        if not bad.any():
            return arr
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise FileFormatError(f"{path}[{i}]: expected a number, got {_short(v)}")
        if not math.isfinite(v):
            raise FileFormatError(f"{path}[{i}]: expected a finite number, got {_short(v)}")
        if limit is not None and abs(v) > limit:
            raise DataError(f"{path}[{i}]: must lie within ±{limit:g}, got {_short(v)}")
    raise AssertionError("unreachable: the fast check found a bad value the slow one did not")


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null",
             int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    """A value for an error message: scalars as JSON, containers by kind (they may be huge or deep)."""
    if isinstance(value, (dict, list)):
        return _kind(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, (str, int, float, bool, type(None))) \
        else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- equality helpers ---------------------------------------------------------------------------------------

def _same_weights(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return len(a) == len(b) and all(np.array_equal(wa, wb) and np.array_equal(ba, bb)
                                    for (wa, ba), (wb, bb) in zip(a, b))


def _same_comparison(a: Experiment, b: Experiment) -> bool:
    ra, rb = a.comparison or [], b.comparison or []
    if (a.comparison is None) != (b.comparison is None) or len(ra) != len(rb):
        return False
    if a.comparison is not None and a.comparison_a_label != b.comparison_a_label:
        return False
    return all(x.get("label") == y.get("label") and (x.get("changes") or {}) == (y.get("changes") or {})
               and _same_weights(x.get("weights"), y.get("weights"))
               and _same_history(x.get("history"), y.get("history")) for x, y in zip(ra, rb))


def _same_history(a: History | None, b: History | None) -> bool:
    """Equal as saved: same rows, NaN equals NaN and infinity counts as missing (it is saved as null)."""
    if a is None or b is None:
        return a is None and b is None
    da, db = _finite_or_nan(a.to_arrays()), _finite_or_nan(b.to_arrays())
    return da.keys() == db.keys() and all(
        da[k] == db[k] if k == "n_layers" else np.array_equal(da[k], db[k], equal_nan=True) for k in da)
