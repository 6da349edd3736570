"""One run of a sweep, as a worker process (local or on a Dask worker) executes it.

Input and output are plain JSON-able data: no Qt, no callables, no pickled objects of the app. This module
imports only the engine and the data package, so a worker needs nothing but ``nnviz.engine`` (and NumPy).
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..data.points import PointSet
from ..engine.config import ExperimentConfig
from ..engine.threads import limit_blas_threads
from ..engine.trainer import Trainer

ROW_FIELDS = ("value", "seed", "epochs", "best_epoch", "train_loss", "test_loss", "train_error", "test_error",
              "seconds")
_limited = False


def points_payload(points: PointSet) -> dict[str, list]:
    """The points as plain lists (x, y, target, role): what travels to a worker."""
    return {"x": points.xy[:, 0].tolist(), "y": points.xy[:, 1].tolist(), "target": points.target.tolist(),
            "role": points.role.astype(int).tolist()}


def points_from_payload(d: dict) -> PointSet:
    xy = np.column_stack([np.asarray(d["x"], np.float64), np.asarray(d["y"], np.float64)])
    return PointSet(xy, np.asarray(d["target"], np.float64), np.asarray(d["role"], np.int8))


def make_task(config: dict, points: dict, param: str, value, seed: int, epochs: int,
              return_weights: bool = False) -> dict[str, Any]:
    """The payload of one run; ``config`` already has the value and seed applied (spec.apply_value)."""
    return {"config": config, "points": points, "param": param, "value": value, "seed": int(seed),
            "epochs": int(epochs), "return_weights": bool(return_weights)}


def _metrics_of_held_weights(trainer: Trainer, summary: dict) -> dict:
    """Loss and error of the weights the trainer holds (those of the best epoch after a restore)."""
    keys = ("train_loss", "test_loss", "train_error", "test_error")
    if "restored" in summary:           # the engine's summary already describes the held weights
        return {k: summary[k] for k in keys}
    stop = trainer.stop_info
    es = trainer.config.early_stopping
    if stop is not None and stop.kind == "early_stopping" and es.restore_best and trainer.best_epoch is not None:
        epochs = trainer.history["epoch"]
        idx = np.flatnonzero(epochs == trainer.best_epoch)
        if len(idx):
            return {k: float(trainer.history[k][idx[0]]) for k in keys}
    return {k: summary[k] for k in keys}


def _plain(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


class TaskError(Exception):
    """A run failed; one plain message (so it crosses process and machine boundaries intact)."""


def run_task(task: dict) -> dict[str, Any]:
    """Train one model and return its row (see :func:`_run`). Any failure is a TaskError with its message."""
    try:
        return _run(task)
    except Exception as e:   # noqa: BLE001 - exceptions with custom constructors do not survive pickling
        raise TaskError(f"{type(e).__name__}: {e}") from None


def _run(task: dict) -> dict[str, Any]:
    """Train one model and return its row: value, seed, epochs, best epoch, losses, errors, seconds.

    The seed defines the initial weights and the batch order and dropout; the result depends on nothing
    else, so it is the same in any process or on any machine. NaN (no test points, regression error) and
    infinity become None.
    """
    global _limited
    if not _limited:      # one BLAS thread per worker: workers are the parallelism
        limit_blas_threads(1)
        _limited = True
    started = time.perf_counter()
    config = ExperimentConfig.from_dict(task["config"], path="sweep config")
    points = points_from_payload(task["points"])
    trainer = Trainer(config, points)
    trainer.train(int(task["epochs"]))
    summary = trainer.summary()
    metrics = _metrics_of_held_weights(trainer, summary)
    row: dict[str, Any] = {
        "value": task["value"], "seed": int(task["seed"]), "epochs": int(trainer.epoch),
        "best_epoch": None if trainer.best_epoch is None else int(trainer.best_epoch),
        **{k: _plain(v) for k, v in metrics.items()},
        "stop": trainer.stop_info.kind if trainer.stop_info else "",
        "seconds": time.perf_counter() - started,
    }
    if task.get("return_weights"):
        row["weights"] = [[W.tolist(), b.tolist()] for W, b in trainer.weights()]
    return row


def run_task_json(task_json: str) -> str:
    """The same, JSON text in and out (for executors that only move text)."""
    import json
    return json.dumps(run_task(json.loads(task_json)))
