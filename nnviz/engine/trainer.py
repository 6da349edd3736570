"""The training loop: epochs of mini-batch steps, per-epoch records, early stopping, divergence.

A :class:`Trainer` owns one :class:`Network`, its optimiser, schedule and run RNG. Everything that
does not change the meaning of the weights (learning rate, optimiser, schedule, penalties, dropout,
early stopping, batch size) can be changed between epochs with :meth:`set_config` and applies to the
running weights; architecture changes rebuild and reset.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..data.points import TEST, TRAIN, VALIDATION, PointSet
from ..errors import DataError
from .boundary import BoundaryEvaluator
from .config import ExperimentConfig, layer_sizes, needs_new_weights
from .features import feature_matrix
from .history import NEAR_ZERO, History
from .network import Network
from .penalties import add_penalty_gradient, penalty_value
from .optimizers import make_optimizer, optimizer_matches, update_hyperparameters
from .schedules import Schedule

ROLE_KEYS = {TRAIN: "train", TEST: "test", VALIDATION: "validation"}


@dataclass(frozen=True)
class StopInfo:
    """Why training stopped. ``kind`` is 'diverged', 'early_stopping' or 'no_training_points'."""
    kind: str
    epoch: int
    message: str


def new_random_seed() -> int:
    return int(np.random.SeedSequence().entropy % (2**32))


class Trainer:
    def __init__(self, config: ExperimentConfig, points: PointSet, weights=None):
        self.config = config.copy()          # validates, and the caller's object stays theirs
        self.points = points
        self.stop_info: StopInfo | None = None
        self.notice = ""                     # a non-fatal remark for the user (e.g. early stopping idle)
        self.last_dropout_masks: list = []   # keep-masks (batch x units, bool) of the last step, per hidden layer
        self._boundary = BoundaryEvaluator()
        self._prepare_data(points)
        self._build()
        self.reset()
        if weights is not None:
            self.network.set_weights(weights)

    # -- set-up ----------------------------------------------------------------------------------------
    @property
    def head(self) -> str:
        if self.config.problem == "regression":
            return "regression"
        return "binary" if self.n_classes <= 2 else "softmax"

    def _prepare_data(self, points: PointSet) -> None:
        if self.config.problem == "classification":
            points.check_classification()
        self.points = points
        self.n_classes = points.n_classes() if self.config.problem == "classification" else 1
        features = self.config.architecture.features
        self._sets = {}
        for role in (TRAIN, TEST, VALIDATION):
            xy, t = points.subset(role)
            F = feature_matrix(xy, features)
            if self.config.problem == "classification" and self.n_classes > 2:
                y = t.astype(np.intp)
            else:
                y = t.reshape(-1, 1).copy()
            self._sets[role] = (F, y)

    def _build(self) -> None:
        sizes = layer_sizes(self.config, self.n_classes)
        self.network = Network(sizes, self.config.hidden_activations(), self.head)
        nw = self.network.n_weights
        self._prev_params = np.empty(self.network.n_params)
        self._best_params = np.empty(self.network.n_params)
        self._acc_sq, self._acc_abs, self._tmp = np.zeros(nw), np.zeros(nw), np.empty(nw)
        self.history = History(self.network.n_layers)

    def reset(self, redraw: bool = False) -> None:
        """Start over: the same initial weights again, or (``redraw``) weights from a new random seed."""
        if redraw:
            self.config.architecture.seed = new_random_seed()
        seed = self.config.architecture.seed
        self.network.initialize(self.config.architecture.init, np.random.default_rng(seed))
        self._rng = np.random.default_rng([seed, 1])   # shuffling and dropout: a stream of its own
        self.optimizer = make_optimizer(self.config.optimizer, self.network.n_params)
        self.schedule = Schedule(self.config.schedule)
        self.history = History(self.network.n_layers)
        self.epoch = 0
        self.stop_info = None
        self.notice = ""
        self.last_dropout_masks = []
        self._reset_best()

    def _reset_best(self) -> None:
        self.best_epoch: int | None = None
        self.best_value = math.inf
        self._wait = 0
        self._best_params[:] = self.network.params

    # -- live changes ----------------------------------------------------------------------------------
    def set_config(self, config: ExperimentConfig) -> bool:
        """Apply a new configuration. Returns True when it needed new weights (and so reset)."""
        config = config.copy()
        old = self.config
        self.config = config
        if needs_new_weights(old, config):
            self._prepare_data(self.points)
            self._build()
            self.reset()
            return True
        if not optimizer_matches(self.optimizer, config.optimizer):
            self.optimizer = make_optimizer(config.optimizer, self.network.n_params)
        else:
            update_hyperparameters(self.optimizer, config.optimizer)
        self.schedule.reconfigure(config.schedule)
        if (old.early_stopping.monitor != config.early_stopping.monitor
                or old.early_stopping.min_delta != config.early_stopping.min_delta):
            self._reset_best()
        if self.stop_info and self.stop_info.kind == "early_stopping" and not config.early_stopping.enabled:
            self.stop_info = None
        return False

    def set_points(self, points: PointSet) -> bool:
        """Train on new points from the next step on. Returns True if the output layer changed (reset)."""
        old_head, old_classes = self.head, self.n_classes
        self._prepare_data(points)
        self._reset_best()  # the monitored set changed: earlier bests are not comparable
        if self.stop_info and self.stop_info.kind == "no_training_points":
            self.stop_info = None
        if (self.head, self.n_classes) != (old_head, old_classes):
            self._build()
            self.reset()
            self.notice = f"The points now have {self.n_classes} classes: the output layer was rebuilt."
            return True
        return False

    def resume(self) -> None:
        """Allow training to go on after an early stop or divergence (the user pressed play again)."""
        if self.stop_info and self.stop_info.kind != "no_training_points":
            self.stop_info = None
            self._wait = 0

    # -- training --------------------------------------------------------------------------------------
    def train(self, epochs: int) -> int:
        """Run up to ``epochs`` epochs; returns how many ran (fewer if training stopped)."""
        done = 0
        while done < epochs and self.step_epoch():
            done += 1
        return done

    def step_epoch(self) -> bool:
        """One pass over the training points. Returns False (and sets ``stop_info``) if it cannot run."""
        if self.stop_info is not None:
            return False
        F, y = self._sets[TRAIN]
        n = len(F)
        if n == 0:
            self.stop_info = StopInfo("no_training_points", self.epoch,
                                      "There are no training points: add some, or re-split the data.")
            return False
        cfg = self.config
        net, params, grad = self.network, self.network.params, self.network.grad
        nw = net.n_weights
        lr = self.schedule.rate(self.epoch, cfg.optimizer.learning_rate)
        bs = cfg.optimizer.batch_size or n
        bs = min(bs, n)
        dropout = cfg.hidden_dropout()
        if not any(dropout):
            dropout = None
        l1, l2 = cfg.regularization.l1, cfg.regularization.l2
        w, gw, tmp = params[:nw], grad[:nw], self._tmp
        acc_sq, acc_abs = self._acc_sq, self._acc_abs
        acc_sq.fill(0.0)
        acc_abs.fill(0.0)
        self._prev_params[:] = params
        order = self._rng.permutation(n) if bs < n else None
        steps = 0
        masks: list = []
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for start in range(0, n, bs):
                if order is None:
                    Xb, yb = F, y
                else:
                    idx = order[start:start + bs]
                    Xb, yb = F[idx], y[idx]
                masks.clear()
                inputs, logits = net.forward(Xb, dropout, self._rng, masks)
                net.backward(inputs, logits, yb, dropout)
                # gradient statistics describe the data loss alone (the vanishing-gradient lesson)
                np.multiply(gw, gw, out=tmp)
                acc_sq += tmp
                np.abs(gw, out=tmp)
                acc_abs += tmp
                add_penalty_gradient(w, gw, l1, l2, tmp)
                self.optimizer.step(params, grad, lr)
                steps += 1
            self.last_dropout_masks = list(masks)
            self.epoch += 1
            record = self._evaluate()
        if not (math.isfinite(record["train_loss"]) and np.isfinite(params).all()):
            return self._diverged(lr)
        record["learning_rate"] = lr
        with np.errstate(over="ignore"):
            layers = self._layer_stats(steps)
        self.history.append(record, layers)
        self.schedule.observe(record["train_loss"] + record["penalty"])
        self._track_best(record)
        return self.stop_info is None

    def _diverged(self, lr: float) -> bool:
        bad = self.epoch
        self.network.params[:] = self._prev_params
        self.epoch -= 1
        self.optimizer = make_optimizer(self.config.optimizer, self.network.n_params)
        self.stop_info = StopInfo(
            "diverged", bad,
            f"Training diverged at epoch {bad}: the loss or the weights stopped being finite numbers. "
            f"The weights from epoch {bad - 1} were kept; try a lower learning rate (it was {lr:.3g}).")
        return False

    def _evaluate(self) -> dict:
        net = self.network
        rec = {"epoch": self.epoch}
        for role, key in ROLE_KEYS.items():
            F, y = self._sets[role]
            if len(F) == 0:
                rec[f"{key}_loss"] = rec[f"{key}_error"] = math.nan
                continue
            _, logits = net.forward(F)
            rec[f"{key}_loss"] = net.loss(logits, y)
            rec[f"{key}_error"] = self._error(logits, y)
        reg = self.config.regularization
        rec["penalty"] = penalty_value(net.params[: net.n_weights], reg.l1, reg.l2)
        return rec

    def _error(self, logits, y) -> float:
        if self.head == "binary":
            return float(np.mean((logits[:, 0] > 0.0) != (y[:, 0] > 0.5)))
        if self.head == "softmax":
            return float(np.mean(logits.argmax(axis=1) != y))
        return math.nan

    def _layer_stats(self, steps: int) -> dict:
        net = self.network
        off, counts = net.layer_offsets, net.layer_counts
        w = net.params[: net.n_weights]
        tmp = self._tmp
        np.multiply(w, w, out=tmp)
        weight_norm = np.sqrt(np.add.reduceat(tmp, off))
        np.abs(w, out=tmp)
        near_zero = np.add.reduceat(tmp < NEAR_ZERO, off) / counts
        return {
            "grad_norm": np.sqrt(np.add.reduceat(self._acc_sq, off) / steps),
            "grad_mean_abs": np.add.reduceat(self._acc_abs, off) / (steps * counts),
            "weight_norm": weight_norm,
            "near_zero": near_zero,
        }

    def _track_best(self, rec: dict) -> None:
        es = self.config.early_stopping
        value = rec.get(es.monitor)
        if value is None or not math.isfinite(value):
            if es.enabled:
                role = es.monitor.split("_")[0]
                self.notice = f"Early stopping is waiting: there are no {role} points to monitor."
            return
        if value < self.best_value - es.min_delta:
            self.best_value, self.best_epoch, self._wait = value, self.epoch, 0
            self._best_params[:] = self.network.params
            return
        self._wait += 1
        if es.enabled and self._wait >= es.patience:
            what = es.monitor.replace("_", " ")
            msg = f"Early stopping at epoch {self.epoch}: {what} has not improved for {es.patience} epochs."
            if es.restore_best and self.best_epoch is not None:
                self.network.params[:] = self._best_params
                msg += f" Restored the best weights, from epoch {self.best_epoch}."
            self.stop_info = StopInfo("early_stopping", self.epoch, msg)

    # -- reading the model -----------------------------------------------------------------------------
    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return self.network.get_weights()

    def predict(self, xy: np.ndarray) -> np.ndarray:
        """P(class 1) (binary), class probabilities (N, K) (3-4 classes) or values (regression)."""
        F = feature_matrix(np.asarray(xy, dtype=np.float64).reshape(-1, 2), self.config.architecture.features)
        with np.errstate(over="ignore"):
            return self.network.output(self.network.predict_logits(F))

    def predict_class(self, xy: np.ndarray) -> np.ndarray:
        p = self.predict(xy)
        if self.head == "binary":
            return (p > 0.5).astype(np.intp)
        if self.head == "softmax":
            return p.argmax(axis=1)
        raise DataError("regression predicts values, not classes")

    def boundary(self, extent, width: int = 100, height: int = 100) -> np.ndarray:
        """The decision-boundary image over ``extent`` = (xmin, xmax, ymin, ymax); see BoundaryEvaluator."""
        with np.errstate(over="ignore", under="ignore"):
            return self._boundary.evaluate(self.network, self.config.architecture.features, extent, width, height)

    def summary(self) -> dict:
        h = self.history
        return {"epochs": self.epoch, "stop": self.stop_info.message if self.stop_info else "",
                "best_epoch": self.best_epoch, "train_loss": h.last("train_loss"),
                "test_loss": h.last("test_loss"), "train_error": h.last("train_error"),
                "test_error": h.last("test_error")}
