"""The training loop: epochs of mini-batch steps, per-epoch records, early stopping, divergence.

A :class:`Trainer` owns one :class:`Network`, its optimiser, schedule and run RNG. Everything that
does not change the meaning of the weights (learning rate, optimiser, schedule, penalties, dropout,
early stopping, batch size) can be changed between epochs with :meth:`set_config` and applies to the
running weights; architecture changes rebuild and reset.

The record. Every epoch appends a history row, but only some epochs are *evaluated* (loss and error of
the weights after the epoch on every point, per-layer gradient and weight statistics): on a small, fast
network that costs as much as the training itself. The epochs evaluated are fixed in advance, from the
epoch number alone: the first epoch, every :meth:`Trainer.record_interval`-th epoch (a cost model of the
network and the point counts picks the interval so that evaluating costs at most about
:data:`RECORD_SHARE` of the training time; small nets on mini-batches evaluate every epoch), and, with
early stopping on, the epoch at which its patience runs out. Early stopping, the best epoch and the
plateau schedule look at these scheduled evaluations only, so a run's results depend on its settings,
points and seed alone, not on the machine's speed or on when it was paused. An epoch not evaluated
records ``train_loss`` as the mean loss of its batches (measured during the epoch), its penalty and
learning rate, ``evaluated`` = 0 and NaN in the evaluated-only columns (``history.EVALUATED_ONLY``).
Extra evaluations, which decide nothing, complete the row a caller will look at: the last epoch of a
:meth:`Trainer.train` call (``step_epoch(evaluate=True)``), and the newest row on demand
(:meth:`Trainer.complete_record`, e.g. when training pauses).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np

from ..data.points import TEST, TRAIN, VALIDATION, PointSet
from ..errors import DataError
from .boundary import BoundaryEvaluator, clamp_coordinates, finite_logits
from .config import ExperimentConfig, layer_sizes, needs_new_weights
from .features import feature_matrix
from .functions import binary_row_losses, binary_row_losses_fast, softmax_row_losses, squared_error_rows
from .history import NEAR_ZERO, History
from .network import Network
from .penalties import add_penalty_gradient, penalty_value
from .optimizers import make_optimizer, optimizer_matches, update_hyperparameters
from .schedules import Schedule

ROLE_KEYS = {TRAIN: "train", TEST: "test", VALIDATION: "validation"}
# Below this many gradient entries per epoch (steps x weights) each step only copies its gradient, and the
# epoch's gradient statistics come from a few whole-matrix operations at the end; above it, each step
# accumulates them (the matrix would no longer fit in the cache).
DEFERRED_STATS_LIMIT = 1 << 16
# Epochs longer than this can be interrupted (and undone) between steps, checked this often.
INTERRUPTIBLE_EPOCH_SECONDS = 0.02
INTERRUPT_CHECK_SECONDS = 0.02
# The record (see the module docstring): evaluating costs at most about this share of the training time,
RECORD_SHARE = 0.1
# and happens at least every this many epochs.
MAX_RECORD_INTERVAL = 50
# With early stopping on, at least this many evaluations fall within its patience.
EVALUATIONS_PER_PATIENCE = 5
# The cost model behind the record interval, in microseconds of one core of the 2-core Xeon of
# benchmarks/README.md (non-negative least-squares fit of bare training epochs and evaluations of 20
# networks, measured as `bench_engine.py --record-check` does).
# They are fixed numbers: the interval, and so every result, is the same on any machine.
COST_CALL = 0.5          # one NumPy call on small arrays (the fixed cost that dominates small nets)
COST_MAC = 0.54e-4       # one multiply-add of a matrix product
COST_ELEMENT = 0.33e-3   # one element of an element-wise operation (a loss row is about 10 of them)
ROW_CALLS = 10           # calls' worth of fixed cost in every epoch's row (batch loss, checks, history row)
# element operations per value of an activation (tanh and sigmoid cost many times a ReLU)
ACTIVATION_ELEMENTS = {"relu": 1, "leaky_relu": 2, "linear": 0, "tanh": 14, "sigmoid": 9}
# (calls per step, element operations per parameter per step) of each optimiser
OPTIMIZER_COSTS = {"sgd": (2, 2), "momentum": (4, 4), "nesterov": (5, 5), "rmsprop": (7, 7), "adam": (9, 9)}


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
        self._initial: tuple | None = None   # (config, weights): fixed initial weights Reset returns to
        self._build()
        self.reset()
        if weights is not None:
            self.set_initial_weights(weights)

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
        # All roles in one matrix (train, test, validation rows in that order): the per-epoch record is then
        # a single forward pass, and ``_sets[role]`` are views of it.
        subsets = [points.subset(role) for role in ROLE_KEYS]
        counts = [len(t) for _, t in subsets]
        dtype = self.dtype
        F = feature_matrix(np.concatenate([xy for xy, _ in subsets]), self.config.architecture.features, dtype)
        t = np.concatenate([t for _, t in subsets])
        softmax = self.config.problem == "classification" and self.n_classes > 2
        y = t.astype(np.intp) if softmax else t.reshape(-1, 1).astype(dtype)
        self._sets = {}
        starts = np.cumsum([0] + counts[:-1])
        for role, start, count in zip(ROLE_KEYS, starts, counts):
            self._sets[role] = (F[start:start + count], y[start:start + count])
        self._eval_F, self._eval_counts = F, counts
        self._eval_starts = [int(st) for st, c in zip(starts, counts) if c]
        n = len(t)
        # per-row loss and error in the network's precision, reduced per role at once (sums in float64)
        self._eval_rows = np.empty((2, n), dtype)
        self._eval_bool = np.empty(n, bool)
        self._eval_zeros = np.zeros(n, dtype)          # array operands keep NumPy on its fast loops
        self._eval_scratch_rows = np.empty(n, dtype)
        self._eval_sign = (1.0 - 2.0 * t).astype(dtype)    # binary: BCE = softplus(sign * logit)
        self._eval_pos = t > 0.5
        self._eval_target = t.astype(dtype)
        if softmax:
            k = self.n_classes
            self._eval_y = y
            self._eval_flat = np.arange(n) * k + y
            self._eval_max, self._eval_scratch = np.empty(n, dtype), np.empty((n, k), dtype)
        self._shuffled = None
        self._interval = None       # the record interval depends on the point counts
        self._held_record = None    # new points: the old records do not describe them
        self._eval_logits = None
        self._train_pass = None

    @property
    def dtype(self) -> np.dtype:
        """The precision training runs in (``architecture.dtype``)."""
        return np.dtype(self.config.architecture.dtype)

    def _build(self) -> None:
        sizes = layer_sizes(self.config, self.n_classes)
        dtype = self.dtype
        self.network = Network(sizes, self.config.hidden_activations(), self.head, dtype)
        nw = self.network.n_weights
        self._prev_params = np.empty(self.network.n_params, dtype)
        self._best_params = np.empty(self.network.n_params, dtype)
        # rows: sum of g^2 and of |g| over the epoch's steps (only for nets small enough for deferred
        # statistics), then w^2 and |w| < NEAR_ZERO: one reduceat gives every per-layer sum
        self._stats = np.zeros((4 if nw <= DEFERRED_STATS_LIMIT else 2, nw), dtype)
        self._acc_sq, self._acc_abs = (self._stats[0], self._stats[1]) if nw <= DEFERRED_STATS_LIMIT else (None, None)
        # per-layer sums of g^2 and |g| accumulated step by step (bigger nets): a dot per layer
        self._layer_grad_sums = np.zeros((2, len(sizes) - 1))
        self._grad_segments = [self.network.grad[o:o + c] for o, c in
                               zip(self.network.layer_offsets, self.network.layer_counts)]
        self._tmp = np.empty(nw, dtype)
        self._grad_rows = None
        self._grad_acc = None
        self._train_pass = None
        self._train_pass_params = np.empty(self.network.n_params, dtype)
        self._zbuf = None             # the epoch's logits, step after step (mean batch loss)
        self._loss_buffers = None
        self._rows_epoch = None       # (history, epoch, steps) whose per-step gradients _grad_rows holds
        self._interval = None
        self.history = History(self.network.n_layers)

    def reset(self, redraw: bool = False) -> None:
        """Start over: the same initial weights again, or (``redraw``) weights from a new random seed.

        The initial weights are the run's fixed ones (:meth:`set_initial_weights`) while there are any and
        they still fit (same architecture, seed, precision, problem and output layer), else the seed's.
        ``redraw`` forgets fixed initial weights.
        """
        if redraw:
            self.config.architecture.seed = new_random_seed()
            self._initial = None
        seed = self.config.architecture.seed
        self.network.initialize(self.config.architecture.init, np.random.default_rng(seed))
        if self._initial is not None:
            config, weights = self._initial
            if needs_new_weights(config, self.config) or not self._weights_fit(weights):
                self._initial = None     # the network changed: they no longer describe it
            else:
                self.network.set_weights(weights)
        self._rng = np.random.default_rng([seed, 1])   # shuffling and dropout: a stream of its own
        self.optimizer = make_optimizer(self.config.optimizer, self.network.n_params, self.dtype)
        self.schedule = Schedule(self.config.schedule)
        self.history = History(self.network.n_layers)
        self.epoch = 0
        self._observed_epoch = 0      # the last scheduled evaluation (the plateau schedule's clock)
        self._rows_epoch = None
        self._last_epoch_seconds = math.inf   # unknown: the first epoch is interruptible
        self.stop_info = None
        self.notice = ""
        self.last_dropout_masks = []
        self._held_record = None    # the record of the weights now held (None: not evaluated yet)
        self.restored = False       # the weights now held were restored from the best epoch
        self._reset_best()

    def set_initial_weights(self, weights) -> None:
        """Fix the run's initial weights (``[(W, b), ...]``, input side first) and start over from them.

        Reset returns to them until the architecture, seed, precision or problem changes, the output layer is
        rebuilt, or a redraw is asked; ``None`` goes back to weights drawn from the seed. ValueError (and no
        change) if they do not fit the network.
        """
        if weights is not None:
            if not self._weights_fit(weights):
                shapes = [(W.shape, b.shape) for W, b in zip(self.network.W, self.network.b)]
                raise ValueError(f"initial weights do not fit the network: expected (W, b) shapes {shapes}")
            weights = [(np.array(W, dtype=np.float64), np.array(b, dtype=np.float64).reshape(-1))
                       for W, b in weights]
        self._initial = None if weights is None else (self.config.copy(), weights)
        self.reset()

    @property
    def has_initial_weights(self) -> bool:
        """True while Reset returns to fixed initial weights (not to the seed's)."""
        return self._initial is not None

    def _weights_fit(self, weights) -> bool:
        net = self.network
        if len(weights) != net.n_layers:
            return False
        return all(np.shape(W) == W0.shape and np.size(b) == b0.size
                   for (W, b), W0, b0 in zip(weights, net.W, net.b))

    def _reset_best(self) -> None:
        self.best_epoch: int | None = None
        self._best_record = None
        self.best_value = math.inf
        self._since = self.epoch      # early stopping waits `patience` epochs from here (best epoch or resume)
        self._best_params[:] = self.network.params

    # -- live changes ----------------------------------------------------------------------------------
    def set_config(self, config: ExperimentConfig) -> bool:
        """Apply a new configuration. Returns True when it needed new weights (and so reset)."""
        config = config.copy()
        old = self.config
        if needs_new_weights(old, config):
            self.set_experiment(config, self.points)
            return True
        self.config = config
        self._interval = None
        if not optimizer_matches(self.optimizer, config.optimizer):
            self.optimizer = make_optimizer(config.optimizer, self.network.n_params, self.dtype)
        else:
            update_hyperparameters(self.optimizer, config.optimizer)
        self.schedule.reconfigure(config.schedule)
        if (old.early_stopping.monitor != config.early_stopping.monitor
                or old.early_stopping.min_delta != config.early_stopping.min_delta):
            self._reset_best()
        if self.stop_info and self.stop_info.kind == "early_stopping" and not config.early_stopping.enabled:
            self.stop_info = None
        return False

    def set_experiment(self, config: ExperimentConfig, points: PointSet) -> None:
        """New settings and new points at once (a loaded file, a change of problem): rebuild and reset.

        All or nothing: if the points do not suit the settings (real values for a classifier, say) the
        error is raised and the trainer keeps its previous settings, points and weights.
        """
        config = config.copy()
        old_config, old_points = self.config, self.points
        self.config = config
        try:
            self._prepare_data(points)
        except Exception:
            self.config = old_config
            self._prepare_data(old_points)
            raise
        self._build()
        self.reset()

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
            self._since = self.epoch

    # -- training --------------------------------------------------------------------------------------
    def step_epoch(self, interrupt=None, evaluate: bool = False) -> bool:
        """One pass over the training points. Returns False (and sets ``stop_info``) if it cannot run.

        The epoch is evaluated if the record's schedule says so (see the module docstring) or if
        ``evaluate`` is True; an extra evaluation asked by ``evaluate`` decides nothing (early stopping,
        best epoch and plateau schedule see the scheduled ones only).

        ``interrupt``, if given, is called every ~20 ms during a long epoch; if it returns True the epoch
        is undone (weights, optimiser and random state as before it) and False is returned with no
        ``stop_info``: a pause or a new setting need not wait for a huge epoch to end, and the run stays
        exactly reproducible.
        """
        if self.stop_info is not None:
            return False
        started = time.perf_counter()
        F, y = self._sets[TRAIN]
        n = len(F)
        if n == 0:
            self.stop_info = StopInfo("no_training_points", self.epoch,
                                      "There are no training points: add some, or re-split the data.")
            return False
        cfg = self.config
        net, params, grad = self.network, self.network.params, self.network.grad
        nw = net.n_weights
        scheduled = self._record_due(self.epoch + 1)
        full = scheduled or evaluate
        lr = self.schedule.rate(self.epoch, cfg.optimizer.learning_rate)
        bs = cfg.optimizer.batch_size or n
        bs = min(bs, n)
        steps = -(-n // bs)
        dropout = cfg.hidden_dropout()
        if not any(dropout):
            dropout = None
        l1, l2 = cfg.regularization.l1, cfg.regularization.l2
        penalised = bool(l1 or l2)
        w, gw, tmp = params[:nw], grad[:nw], self._tmp
        # gradient statistics: small nets copy each step's gradient (cheap, and lets complete_record() give
        # them later); bigger nets sum them per layer, only in epochs that are evaluated
        deferred = steps * nw <= DEFERRED_STATS_LIMIT
        layer_sums = not deferred and full
        self._rows_epoch = None
        if deferred:
            rows = self._gradient_rows(steps, nw)
        elif layer_sums:
            layer_sq, layer_abs = self._layer_grad_sums
            layer_sq.fill(0.0)
            layer_abs.fill(0.0)
            segments, offsets, reduceat = self._grad_segments, net.layer_offsets, np.add.reduceat
        self._prev_params[:] = params
        undo = None
        if interrupt is not None and self._last_epoch_seconds > INTERRUPTIBLE_EPOCH_SECONDS:
            undo = (copy.deepcopy(self._rng.bit_generator.state), copy.deepcopy(self.optimizer))
        checked = started
        order = None
        if bs < n:
            # shuffle once per epoch into reused buffers; each batch is then a contiguous slice
            order = self._rng.permutation(n)
            F, y = self._shuffle(F, y, order)
        chunked = bs > net.row_limit          # a batch too big for memory: summed row chunks (rare)
        full_batch = bs == n and dropout is None and not chunked
        reuse = self._reusable_train_pass() if full_batch else None
        self._train_pass = None
        # every step's logits, for the epoch's mean batch loss (one step: its own logits are all of them)
        zbuf = self._epoch_logits(n) if steps > 1 or chunked else None
        rng, masks = self._rng, []
        forward, backward, update = net.forward, net.backward, self.optimizer.step
        absolute = np.abs
        logits = None
        with np.errstate(all="ignore"):
            for k in range(steps):
                if undo is not None and time.perf_counter() - checked >= INTERRUPT_CHECK_SECONDS:
                    checked = time.perf_counter()
                    if interrupt():
                        params[:] = self._prev_params
                        self._rng.bit_generator.state, self.optimizer = undo
                        return False
                start = k * bs
                masks.clear()
                if chunked:
                    self._chunked_gradient(F, y, start, min(start + bs, n), dropout, masks, zbuf)
                else:
                    if reuse is None:
                        inputs, logits = forward(F[start:start + bs], dropout, rng, masks)
                    else:
                        # full batch: the last record's forward pass over the training points is this step's
                        (inputs, logits), reuse = reuse, None
                        masks.extend([None] * (net.n_layers - 1))
                    if zbuf is not None:
                        zbuf[start:start + bs] = logits
                    backward(inputs, logits, y[start:start + bs], dropout)
                # gradient statistics describe the data loss alone (the vanishing-gradient lesson)
                if deferred:
                    rows[k] = gw
                elif layer_sums:
                    # per layer: sum g^2 as one dot (reads g once), sum |g| from one abs and one reduceat
                    for i, seg in enumerate(segments):
                        layer_sq[i] += seg.dot(seg)
                    absolute(gw, out=tmp)
                    layer_abs += reduceat(tmp, offsets, dtype=np.float64)
                if penalised:
                    add_penalty_gradient(w, gw, l1, l2, tmp)
                update(params, grad, lr)
            self.last_dropout_masks = list(masks)
            # momentum/Adam/RMSprop state of weights with zero gradient (dead units) decays into subnormal
            # floats, which make every later step several times slower: flush them (results unchanged)
            self.optimizer.flush_subnormals()
            self.epoch += 1
            batch_loss = self._batch_loss(logits if zbuf is None else zbuf, y, order)
            # a sum is finite exactly when every parameter is (short of ~1e308, far past divergence)
            if not (math.isfinite(batch_loss) and math.isfinite(np.add.reduce(params))):
                return self._diverged(lr)
            if deferred:
                self._rows_epoch = (self.history, self.epoch, steps)
            if full:
                record = self._evaluate(keep_train_pass=full_batch)
                if deferred:
                    self._gradient_sums(rows)
                layers = self._layer_stats(steps, deferred)
                if not self._finite_record(record, layers):
                    if scheduled:
                        return self._diverged(lr)
                    # an extra evaluation decides nothing, divergence included: what overflowed is left out
                    record, layers = _finite_or_nan(record), _finite_or_nan(layers)
                record["evaluated"] = 1.0
            else:
                penalty = penalty_value(w, l1, l2) if penalised else 0.0
                if not math.isfinite(penalty):
                    return self._diverged(lr)
                record = {"epoch": self.epoch, "train_loss": batch_loss, "penalty": penalty, "evaluated": 0.0}
                layers = {}
        record["learning_rate"] = lr
        self._last_epoch_seconds = time.perf_counter() - started
        self.history.append(record, layers)
        self._held_record, self.restored = (record if full else None), False
        if scheduled:
            self._observe(record)
        return self.stop_info is None

    def train(self, epochs: int) -> int:
        """Run up to ``epochs`` epochs; returns how many ran (fewer if training stopped).

        The last epoch is always evaluated, so the newest history row describes the weights held."""
        done = 0
        while done < epochs and self.step_epoch(evaluate=done == epochs - 1):
            done += 1
        return done

    # -- the record --------------------------------------------------------------------------------------
    def record_interval(self) -> int:
        """Evaluate every this many epochs: the smallest interval at which evaluating costs at most about
        RECORD_SHARE of the training time, by the cost model of :meth:`epoch_costs` (1 to
        MAX_RECORD_INTERVAL; with early stopping on, at most its patience / EVALUATIONS_PER_PATIENCE). A
        function of the settings and point counts alone."""
        k = self._interval
        if k is None:   # forgotten whenever the settings, the network or the points change
            train, row, record = self.epoch_costs()
            # what every epoch's row costs comes first; evaluations get the rest of the share (at least half)
            budget = max(RECORD_SHARE * train - row, 0.5 * RECORD_SHARE * train)
            k = 1 if budget <= 0 else math.ceil(record / budget - 1e-9)
            es = self.config.early_stopping
            if es.enabled:   # early stopping needs several evaluations within its patience
                k = min(k, es.patience // EVALUATIONS_PER_PATIENCE)
            k = self._interval = max(1, min(MAX_RECORD_INTERVAL, k))
        return k

    def epoch_costs(self) -> tuple[float, float, float]:
        """(training, row, evaluation) costs of one epoch by the cost model, in COST_* units (about
        microseconds).

        Training: per step a fixed number of NumPy calls per layer (forward, backward, optimiser), per row
        3 multiply-adds per weight (forward and backward) and element-wise work per unit (activations
        weighted by their price: tanh and sigmoid cost many times a ReLU), the optimiser's passes over the
        parameters. Row (every epoch): the mean batch loss (a copy of each step's logits, a loss per
        training point), the checks and the history row. Evaluation: a forward pass over every point
        (train, test, validation), a loss per row, the per-layer statistics (passes over the weights, and
        over the steps' gradients) and a fixed number of calls.
        """
        calls, macs, elements = self._cost_features()
        train, row, record = (calls[i] * COST_CALL + macs[i] * COST_MAC + elements[i] * COST_ELEMENT
                              for i in range(3))
        return train, row, record

    def _cost_features(self):
        """(calls, multiply-adds, element operations), each as (training, row, evaluation) counts."""
        cfg = self.config
        sizes = self.network.sizes
        n_layers = len(sizes) - 1
        macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        acts = cfg.hidden_activations()
        act_elements = sum(k * ACTIVATION_ELEMENTS.get(a, 10) for k, a in zip(sizes[1:-1], acts))
        units = sum(sizes[1:])
        nw = self.network.n_weights
        n_params = self.network.n_params
        n = self._eval_counts[0]
        n_eval = sum(self._eval_counts)
        if n == 0:
            return (0, 0, 0), (0, 0, 0), (0, 0, 0)
        bs = min(cfg.optimizer.batch_size or n, n)
        steps = -(-n // bs)
        dropped = [k for k, p in zip(sizes[1:-1], cfg.hidden_dropout()) if p > 0]
        opt_calls, opt_elements = OPTIMIZER_COSTS.get(cfg.optimizer.name, (9, 9))
        penalised = bool(cfg.regularization.l1 or cfg.regularization.l2)
        deferred = steps * nw <= DEFERRED_STATS_LIMIT
        step_calls = 6 + 9 * n_layers + 4 * len(dropped) + opt_calls + (3 if penalised else 0) + deferred
        train_calls = steps * step_calls + 12
        row_calls = ROW_CALLS + (steps if steps > 1 else 0)
        train_macs = 3 * n * macs
        train_elements = (n * (6 * units + act_elements + 6 * sum(dropped)) + steps * n_params * opt_elements
                          + (steps * nw if deferred else 0))
        # full batch without dropout: the record's pass over the training points is the next step's
        reused = n if bs == n and not dropped and n <= self.network.row_limit else 0
        blocks = -(-n_eval // 2048)
        record_calls = 70 + 4 * n_layers * blocks + (0 if deferred else steps * (n_layers + 3))
        record_macs = (n_eval - reused) * macs
        # per point a loss, an error and their sums; per weight the statistics; small nets sum the steps'
        # gradients over a (steps, weights) matrix (a multiply, an abs and two reductions along the steps)
        record_elements = ((n_eval - reused) * (2 * units + act_elements) + 10 * n_eval + 6 * nw
                           + (12 * steps * nw if deferred else 2 * steps * nw))
        row_elements = 4 * n + (n if bs < n else 0)      # the batch loss (shuffled: its signs too)
        return ((train_calls, row_calls, record_calls), (train_macs, 0, record_macs),
                (train_elements, row_elements, record_elements))

    def _record_due(self, epoch: int) -> bool:
        """Whether the record's schedule evaluates ``epoch`` (1-based)."""
        if epoch <= 1:
            return True
        k = self.record_interval()
        if k == 1 or epoch % k == 0:
            return True
        es = self.config.early_stopping
        return es.enabled and epoch == self._since + es.patience

    def _observe(self, record: dict) -> None:
        """A scheduled evaluation: the plateau schedule and early stopping look at it."""
        elapsed = max(1, min(self.epoch - self._observed_epoch, self.record_interval()))
        self._observed_epoch = self.epoch
        self.schedule.observe(record["train_loss"] + record["penalty"], elapsed)
        self._track_best(record)

    def complete_record(self) -> bool:
        """Evaluate the weights held if the newest history row describes them but was not evaluated, and
        fill that row in (``evaluated`` = 1). Returns True if the row changed (a session then sends it
        again; ``History.extend`` replaces a row of the same epoch). Decides nothing: early stopping and
        the schedule see only the scheduled evaluations. Cheap when there is nothing to do."""
        h = self.history
        if not len(h) or h.last("evaluated") == 1.0 or h.last("epoch") != self.epoch:
            return False
        with np.errstate(all="ignore"):
            record = self._evaluate()
            rows = self._rows_epoch
            if rows is not None and rows[0] is h and rows[1] == self.epoch:
                steps = rows[2]
                self._gradient_sums(self._grad_rows[:steps])
                layers = self._layer_stats(steps, True)
            else:
                layers = self._layer_stats(1, False, gradients=False)
        record["learning_rate"] = h.last("learning_rate")
        record["evaluated"] = 1.0
        # a value that overflowed is left out (NaN): the history never holds infinity
        record, layers = _finite_or_nan(record), _finite_or_nan(layers)
        h.replace_last(record, layers)
        self._held_record = record
        return True

    def _epoch_logits(self, n: int) -> np.ndarray:
        buf = self._zbuf
        shape = (n, self.network.sizes[-1])
        if buf is None or buf.shape != shape or buf.dtype != self.dtype:
            buf = self._zbuf = np.empty(shape, self.dtype)
        return buf

    def _batch_loss(self, z, y, order=None) -> float:
        """Mean data loss of the epoch's rows, each with the weights (and dropout) of its step: the mean of
        the batch losses, weighted by batch size. ``z``: the steps' logits in epoch order; ``y``: targets
        in that order; ``order``: the epoch's shuffle of the training points (None: not shuffled)."""
        n = len(z)
        buf = self._loss_buffers
        if buf is None or len(buf[0]) != n or buf[0].dtype != self.dtype:
            buf = self._loss_buffers = tuple(np.zeros(n, self.dtype) for _ in range(4))
        rows, tmp, zeros, scratch = buf
        if self.head == "binary":
            sign = self._eval_sign[:n]                  # 1 - 2y of the training points: BCE = softplus(sign * z)
            if order is not None:
                sign = sign.take(order, out=tmp)
            total = float(np.add.reduce(binary_row_losses_fast(z[:, 0], sign, rows), dtype=np.float64))
            if math.isfinite(total):
                return total / n
            binary_row_losses(z[:, 0], sign, rows, zeros, scratch)   # a logit beyond ~709: the careful way
        elif self.head == "softmax":
            k = z.shape[1]
            flat = np.arange(0, n * k, k)
            flat += y
            softmax_row_losses(z, flat, rows, tmp, np.empty_like(z))
        else:
            squared_error_rows(z[:, 0], y[:, 0], rows)
        return float(np.add.reduce(rows, dtype=np.float64)) / n

    def _chunked_gradient(self, F, y, start: int, stop: int, dropout, masks, zbuf=None) -> None:
        """The gradient of rows start:stop into ``network.grad``, as a sum over row chunks.

        Each chunk's loss gradient is divided by the whole batch's row count, so the sum is the batch's
        gradient (up to rounding); memory stays within the network's row limit. Dropout draws its masks
        chunk by chunk (``masks`` receives the last chunk's). ``zbuf`` receives the logits (rows start:stop).
        """
        net = self.network
        m = stop - start
        parts = -(-m // net.row_limit)
        rows = -(-m // parts)                      # equal chunks: at most two buffer sizes
        acc = self._grad_acc
        if acc is None or len(acc) != net.n_params:
            acc = self._grad_acc = np.empty(net.n_params, net.dtype)
        for c in range(start, stop, rows):
            e = min(c + rows, stop)
            masks.clear()
            inputs, logits = net.forward(F[c:e], dropout, self._rng, masks)
            if zbuf is not None:
                zbuf[c:e] = logits
            net.backward(inputs, logits, y[c:e], dropout, batch_rows=m)
            if c == start:
                acc[:] = net.grad
            else:
                acc += net.grad
        net.grad[:] = acc

    def _reusable_train_pass(self):
        """(inputs, logits) of the last record's forward pass over the training points, if still valid."""
        cached = self._train_pass
        if cached is None:
            return None
        net, inputs, logits, calls, F = cached
        if (net is not self.network or calls != net.forward_calls or F is not self._sets[TRAIN][0]
                or not (self._train_pass_params == net.params).all()):
            return None
        return inputs, logits

    def _shuffle(self, F, y, order):
        buf = self._shuffled
        if buf is None or buf[0].shape != F.shape or buf[1].shape != y.shape:
            buf = self._shuffled = (np.empty_like(F), np.empty_like(y))
        F.take(order, axis=0, out=buf[0])
        y.take(order, axis=0, out=buf[1])
        return buf

    def _gradient_rows(self, steps: int, nw: int) -> np.ndarray:
        rows = self._grad_rows
        if rows is None or rows.shape[1] != nw or len(rows) < steps or rows.dtype != self.dtype:
            rows = self._grad_rows = np.empty((steps, nw), self.dtype)
            self._grad_rows_tmp = np.empty((steps, nw), self.dtype)
        return rows[:steps]

    def _gradient_sums(self, rows) -> None:
        """Sum of g^2 and of |g| over the epoch's steps from the per-step gradient copies."""
        if len(rows) == 1:
            np.multiply(rows[0], rows[0], out=self._acc_sq)
            np.abs(rows[0], out=self._acc_abs)
            return
        tmp = self._grad_rows_tmp[:len(rows)]
        np.multiply(rows, rows, out=tmp)
        np.add.reduce(tmp, axis=0, out=self._acc_sq)
        np.abs(rows, out=tmp)
        np.add.reduce(tmp, axis=0, out=self._acc_abs)

    def _finite_record(self, record: dict, layers: dict) -> bool:
        """True when every value the epoch would record is a finite number (NaN only where a value does
        not exist: a role with no points, the error of a regression). A run whose penalty or weight norm
        overflows while the data loss is still finite (a big L2 with a high learning rate) has diverged
        too: its epoch is undone like any other diverged epoch, so the history never holds inf or NaN."""
        regression = self.head == "regression"
        for key, count in zip(ROLE_KEYS.values(), self._eval_counts):
            if count and not (math.isfinite(record[f"{key}_loss"])
                              and (regression or math.isfinite(record[f"{key}_error"]))):
                return False
        if not math.isfinite(record["penalty"]):
            return False
        return all(np.isfinite(v).all() for v in layers.values())

    def _diverged(self, lr: float) -> bool:
        bad = self.epoch
        self.network.params[:] = self._prev_params
        self.epoch -= 1
        self._rows_epoch = None
        self.optimizer = make_optimizer(self.config.optimizer, self.network.n_params, self.dtype)
        self.complete_record()    # the kept weights' row, if it was not evaluated
        self.stop_info = StopInfo(
            "diverged", bad,
            f"Training diverged at epoch {bad}: the loss, the penalty or the weights grew past "
            f"what floating-point numbers hold. "
            f"The weights from epoch {bad - 1} were kept; try a lower learning rate (it was {lr:.3g}).")
        return False

    def _evaluate(self, keep_train_pass: bool = False) -> dict:
        """Loss and error on every role after the epoch, from one forward pass over all points.

        With ``keep_train_pass`` the training points go through the training forward pass instead, whose
        buffers the next full-batch step then reuses rather than repeating the same computation.
        """
        net = self.network
        rec = {"epoch": self.epoch}
        sums = None
        self._train_pass = None
        if self._eval_starts:
            logits = self._eval_logits
            if logits is None or logits.shape != (len(self._eval_F), net.sizes[-1]):
                logits = self._eval_logits = np.empty((len(self._eval_F), net.sizes[-1]), net.dtype)
            n = self._eval_counts[0]
            if keep_train_pass and n:
                F = self._sets[TRAIN][0]
                inputs, train_logits = net.forward(F)
                logits[:n] = train_logits
                if len(logits) > n:
                    net.evaluate(self._eval_F[n:], logits[n:])
                self._train_pass_params[:] = net.params
                self._train_pass = (net, inputs, train_logits, net.forward_calls, F)
            else:
                net.evaluate(self._eval_F, logits)
            sums = self._row_sums(logits)
        j = 0
        for key, count in zip(ROLE_KEYS.values(), self._eval_counts):
            if count == 0:
                rec[f"{key}_loss"] = rec[f"{key}_error"] = math.nan
                continue
            rec[f"{key}_loss"] = float(sums[0, j] / count)
            rec[f"{key}_error"] = float(sums[1, j] / count) if self.head != "regression" else math.nan
            j += 1
        reg = self.config.regularization
        rec["penalty"] = penalty_value(net.params[: net.n_weights], reg.l1, reg.l2)
        return rec

    def _row_sums(self, logits) -> np.ndarray:
        """(2, roles present): summed per-row loss and per-row error (0/1) of each non-empty role."""
        rows = self._eval_rows
        if self.head == "binary":
            z = logits[:, 0]
            np.greater(z, self._eval_zeros, out=self._eval_bool)
            np.not_equal(self._eval_bool, self._eval_pos, out=rows[1])
            binary_row_losses_fast(z, self._eval_sign, rows[0])
            sums = np.add.reduceat(rows, self._eval_starts, axis=1, dtype=np.float64)
            if np.isfinite(sums[0]).all():
                return sums
            binary_row_losses(z, self._eval_sign, rows[0], self._eval_zeros, self._eval_scratch_rows)
        elif self.head == "softmax":
            softmax_row_losses(logits, self._eval_flat, rows[0], self._eval_max, self._eval_scratch)
            np.not_equal(logits.argmax(axis=1), self._eval_y, out=rows[1])
        else:
            squared_error_rows(logits[:, 0], self._eval_target, rows[0])
            rows[1] = 0.0
        return np.add.reduceat(rows, self._eval_starts, axis=1, dtype=np.float64)

    def _layer_stats(self, steps: int, deferred: bool = True, gradients: bool = True) -> dict:
        """Per-layer statistics of the epoch's gradients (``gradients`` False: NaN) and of the weights."""
        net = self.network
        off, counts = net.layer_offsets, net.layer_counts
        w = net.params[: net.n_weights]
        stats = self._stats
        np.multiply(w, w, out=stats[-2])
        np.abs(w, out=stats[-1])
        np.less(stats[-1], NEAR_ZERO, out=stats[-1])
        if not gradients:
            sums = np.concatenate([np.full((2, len(counts)), np.nan),
                                   np.add.reduceat(stats[-2:], off, axis=1, dtype=np.float64)])
        elif deferred:
            sums = np.add.reduceat(stats, off, axis=1, dtype=np.float64)
        else:
            sums = np.concatenate([self._layer_grad_sums,
                                   np.add.reduceat(stats[-2:], off, axis=1, dtype=np.float64)])
        return {
            "grad_norm": np.sqrt(sums[0] / steps),
            "grad_mean_abs": sums[1] / (steps * counts),
            "weight_norm": np.sqrt(sums[2]),
            "near_zero": sums[3] / counts,
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
            self.best_value, self.best_epoch, self._since = value, self.epoch, self.epoch
            self._best_params[:] = self.network.params
            self._best_record = rec
            return
        if es.enabled and self.epoch - self._since >= es.patience:
            what = es.monitor.replace("_", " ")
            msg = f"Early stopping at epoch {self.epoch}: {what} has not improved for {es.patience} epochs."
            if es.restore_best and self.best_epoch is not None:
                self.network.params[:] = self._best_params
                self._held_record, self.restored = self._best_record, True
                msg += f" Restored the best weights, from epoch {self.best_epoch}."
            self.stop_info = StopInfo("early_stopping", self.epoch, msg)

    # -- reading the model -----------------------------------------------------------------------------
    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return self.network.get_weights()

    def predict(self, xy: np.ndarray) -> np.ndarray:
        """P(class 1) (binary), class probabilities (N, K) (3-4 classes) or values (regression).

        Always finite: coordinates are clamped to +-VIEW_LIMIT, and logits that overflow are replaced
        (+-inf by the largest finite float, NaN by 0), so a broken network predicts 0.5, not NaN.
        """
        xy = clamp_coordinates(np.array(xy, dtype=np.float64).reshape(-1, 2))
        F = feature_matrix(xy, self.config.architecture.features)
        with np.errstate(all="ignore"):    # an overflowing network: its inf/NaN logits are replaced
            logits = finite_logits(self.network.predict_logits(F))
            return self.network.output(logits)

    def predict_class(self, xy: np.ndarray) -> np.ndarray:
        p = self.predict(xy)
        if self.head == "binary":
            return (p > 0.5).astype(np.intp)
        if self.head == "softmax":
            return p.argmax(axis=1)
        raise DataError("regression predicts values, not classes")

    def boundary(self, extent, width: int = 100, height: int = 100) -> np.ndarray:
        """The decision-boundary image over ``extent`` = (xmin, xmax, ymin, ymax); see BoundaryEvaluator."""
        with np.errstate(all="ignore"):
            return self._boundary.evaluate(self.network, self.config.architecture.features, extent, width, height)

    def summary(self) -> dict:
        """What a run ended with, for a one-line report (the CLI prints it as it is).

        ``epochs`` is the true number of epochs trained (not history rows, which thin out on long runs).
        The losses and errors are those of the weights the trainer holds now: after an early stop that
        restored the best weights (``restored``), the best epoch's; after a divergence, the last good
        epoch's; with no record of them yet (new points, given weights), evaluated now. ``weights_epoch`` is
        the epoch those weights come from; ``best_value`` the best value of ``monitor`` (inf if none).
        If the newest history row was not evaluated, it is now (:meth:`complete_record`).
        """
        self.complete_record()      # the newest row not evaluated: evaluate it, so the two agree
        rec = self._held_record
        if rec is None:
            with np.errstate(all="ignore"):
                rec = self._evaluate()
            rec["epoch"] = self.epoch
        out = {"epochs": self.epoch, "stop": self.stop_info.message if self.stop_info else "",
               "stop_kind": self.stop_info.kind if self.stop_info else "", "best_epoch": self.best_epoch,
               "restored": bool(self.restored), "weights_epoch": int(rec["epoch"]),
               "monitor": self.config.early_stopping.monitor, "best_value": float(self.best_value)}
        for key in ("train_loss", "test_loss", "validation_loss", "train_error", "test_error",
                    "validation_error"):
            out[key] = float(rec[key])
        return out


def _finite_or_nan(values: dict) -> dict:
    """The same numbers (or arrays of them) with infinity and NaN as NaN: what a history may hold."""
    return {k: (np.where(np.isfinite(v), v, np.nan) if isinstance(v, np.ndarray)
                else (v if math.isfinite(v) else math.nan)) for k, v in values.items()}
