"""A training session: a Trainer driven by command messages, producing snapshots.

Plain Python: the child process runs it (``child.serve``), and tests run it in-process. It never
waits on the GUI: training runs in short chunks between command checks, and a snapshot carries
every metric row produced since the previous one, so no row is lost however slowly the GUI draws.
"""
from __future__ import annotations

import time
import traceback
from collections import deque

import numpy as np

from ..data.points import PointSet
from ..engine.config import ExperimentConfig
from ..engine.history import History
from ..engine.stats import weight_histograms
from ..engine.trainer import Trainer
from ..engine.units import frame_resolution, is_summarised, multiply_adds, network_frame
from ..errors import DataError, NnvizError
from . import messages as m

# While training plays, each snapshot's boundary image must stay cheap: the training process spends at most
# SNAPSHOT_SHARE of its time on snapshots (child.serve paces them so), and a frame's boundary is given
# PLAYING_BOUNDARY_SECONDS = SNAPSHOT_SHARE / PLAYING_FPS, so even the biggest network is shown at about
# PLAYING_FPS frames a second (the window needs >= 10). A network whose full-size image would cost more is
# drawn smaller while it plays (the canvas stretches any image over the view); once training pauses or
# stops, the next snapshot carries the full-size image, so a still is always sharp.
SNAPSHOT_SHARE = 0.25
PLAYING_FPS = 20.0
PLAYING_BOUNDARY_SECONDS = SNAPSHOT_SHARE / PLAYING_FPS
MIN_BOUNDARY_SIDE = 8
BOUNDARY_STEP = 2 ** -0.25   # the side shrinks by steps of ~16 % (the pixel count by ~29 %)
# before any image of this network was timed: a pessimistic guess of the cost per pixel, from the
# multiply-adds per pixel (measured ~20 ps each for 10x256 on one core, ~100 ns per pixel for tiny nets)
PRIOR_PIXEL_SECONDS = 1e-7
PRIOR_MAC_SECONDS = 5e-11
# Weight histograms (the Weights plot): while training plays at most one every HISTOGRAM_INTERVAL seconds,
# counted from a fixed sample of at most ~PLAYING_HISTOGRAM_WEIGHTS weights (each big layer read at an odd
# stride: ~2-3 ms for 16x512 instead of ~20-30 ms exact); exact in the first snapshot after a pause, a step,
# a stop or a reset, so a still is exact. Their cost comes out of the frame's boundary budget.
HISTOGRAM_INTERVAL = 0.25
PLAYING_HISTOGRAM_WEIGHTS = 1 << 16
# The network view (SetNetworkView): while training plays, a frame's unit maps may cost at most
# NETWORK_SECONDS (their grid is made coarser for big networks, see units.frame_resolution), and a new frame
# comes at most every NETWORK_COST_FACTOR times its cost (so they take at most ~5 % of training time), and
# for summarised networks (beyond 10 x 32) at most every NETWORK_SUMMARY_INTERVAL. A still (paused, stopped,
# waiting) gets the full resolution asked for, once: unchanged stills carry no frame (network None).
NETWORK_SECONDS = PLAYING_BOUNDARY_SECONDS / 3
NETWORK_COST_FACTOR = 20.0
NETWORK_SUMMARY_INTERVAL = 0.25


class TrainingSession:
    def __init__(self, config: ExperimentConfig | None = None, points: PointSet | None = None,
                 clock=time.perf_counter):
        self._clock = clock
        self.trainer = Trainer(config or ExperimentConfig(), points if points is not None else PointSet.empty())
        self.playing = False
        self.pending_steps = 0
        self.speed = 0.0
        self.view: m.SetView | None = None
        self.generation = 0
        self.points_version = 0
        self.transport_seq = 0
        self.dirty = True
        self._pending_config: ExperimentConfig | None = None   # sent but not applicable yet
        self._pending_points: tuple[PointSet, int] | None = None   # (points, version) likewise
        self._sync_reason = ""
        self._sync_data = True
        self._history_seen = self.trainer.history
        self._sent_epoch = 0   # rows are sent by epoch, so a compacting history never repeats or skips one
        self._outbox: list = []
        self._anchor = (0.0, 0)          # (time, epoch) when play or the speed cap last changed
        self._rate = deque(maxlen=64)    # (time, epoch) samples for the epochs/s figure
        self._pixel_cost: tuple | None = None   # (network shape, seconds per boundary pixel, smoothed)
        self._boundary_level = 0         # playing: the image side is BOUNDARY_STEP ** level of the view's
        self.boundary_reduced = False    # the last snapshot's image was smaller than the view asked
        self._point_cost: tuple | None = None   # (network shape, seconds per point classified, smoothed)
        self._predicted: tuple | None = None    # (PointSet, int8 classes): the latest class of every point
        self._predict_next = 0           # playing with many points: where the next slice to refresh starts
        self.predictions_partial = False # the last snapshot's classes were not all of the current weights
        self._histogram_sent: tuple | None = None   # (generation, clock) of the last weight histograms sent
        self._histogram_still = None     # the weights key of the last exact histograms sent while not busy
        self.epoch_limit: int | None = None   # SetEpochLimit: playing does not train past this epoch
        self.network_view: m.SetNetworkView | None = None   # the network view's request (None: off)
        self._network_still = None       # the key of the last full-resolution frame sent while not busy
        self._network_sent: tuple | None = None   # (generation, clock, cost) of the last frame sent
        self._mac_cost: tuple | None = None       # (network shape, seconds per multiply-add of its frames)
        self.network_reduced = False     # the last frame's grid was coarser than asked (training played)

    # -- commands ----------------------------------------------------------------------------------------
    def handle(self, cmd) -> None:
        try:
            self._handle(cmd)
        except NnvizError as exc:
            self.playing = False
            self._outbox.append(m.SessionError(str(exc)))
        except Exception as exc:  # a bug must not kill the session: report it, keep the last good state
            self.playing = False
            self._outbox.append(m.SessionError(f"Internal error: {exc}", traceback.format_exc()))
        self._check_generation()
        self.dirty = True

    def _handle(self, cmd) -> None:
        t = self.trainer
        if isinstance(cmd, m.SetConfig):
            self._apply(cmd.config, None, None)
        elif isinstance(cmd, m.SetPoints):
            self._apply(self._pending_config, cmd.points, cmd.version)
        elif isinstance(cmd, m.SetExperiment):
            self._apply(cmd.config, cmd.points, cmd.version, together=True)
        elif isinstance(cmd, m.Play):
            self.transport_seq = cmd.seq
            self._refuse_if_out_of_sync()
            t.resume()
            self.playing = True
            self._reanchor()
        elif isinstance(cmd, m.Pause):
            self.transport_seq = cmd.seq
            self.playing = False
            self.pending_steps = 0
        elif isinstance(cmd, m.Step):
            self.transport_seq = cmd.seq
            self._refuse_if_out_of_sync()
            t.resume()
            self.playing = False
            self.pending_steps += max(1, int(cmd.epochs))
        elif isinstance(cmd, m.Reset):
            t.reset(redraw=cmd.redraw)
            self.pending_steps = 0
            self._reanchor()
        elif isinstance(cmd, m.SetSpeed):
            self.speed = max(0.0, float(cmd.epochs_per_second))
            self._reanchor()
        elif isinstance(cmd, m.SetView):
            self.view = cmd
        elif isinstance(cmd, m.SetNetworkView):
            self.network_view = cmd if cmd.enabled else None
            self._network_still = self._network_sent = None   # the next snapshot carries a frame
        elif isinstance(cmd, m.SetEpochLimit):
            limit = cmd.limit
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer))):
                raise ValueError(f"epoch limit: expected a whole number or None, got {limit!r}")
            self.epoch_limit = None if limit is None else int(limit)
            self._reanchor()   # the speed cap counts from the release, not from when it began to wait
        elif isinstance(cmd, m.LoadState):
            self._load_state(cmd)
        elif isinstance(cmd, m.RequestState):
            self._outbox.append(m.StateReply(
                cmd.token, t.config.copy(), t.weights(), t.epoch,
                t.history.to_arrays() if len(t.history) else None, points=t.points,
                points_version=self.points_version, in_sync=self.in_sync, sync_message=self.sync_message))
        else:
            raise ValueError(f"unknown command {type(cmd).__name__}")

    # -- settings and points: applied together, or held together until they suit each other -------------
    @property
    def in_sync(self) -> bool:
        """True when the session trains with the last settings and points it was sent."""
        return self._pending_config is None and self._pending_points is None

    @property
    def sync_message(self) -> str:
        if self.in_sync:
            return ""
        what = " and ".join(w for w, p in (("settings", self._pending_config), ("points", self._pending_points))
                            if p is not None)
        hint = ("the points suit the settings (Regenerate in the Data panel, or change the problem back)"
                if self._sync_data else "the settings are changed")
        return f"The latest {what} are not applied ({self._sync_reason}): training waits until {hint}."

    def _apply(self, config: ExperimentConfig | None, points: PointSet | None, version: int | None,
               together: bool = False) -> None:
        """Apply new settings and/or points; if they do not suit each other keep both waiting.

        ``None`` means "unchanged": the waiting settings (or points) if any, else the trainer's own. The
        trainer is changed all or nothing, so it never trains on a mix it was not sent.
        """
        t = self.trainer
        if together:
            self._pending_config = self._pending_points = None
        config = config if config is not None else self._pending_config
        if points is None and self._pending_points is not None:
            points, version = self._pending_points
        try:
            if points is not None and config is not None:
                t.set_experiment(config, points)
            elif points is not None:
                t.set_points(points)
            elif config is not None:
                t.set_config(config)
        except NnvizError as exc:
            # e.g. classification asked for while the points carry real values (or settings that cannot
            # be trained at all): keep the request and apply it with the next settings or points that
            # suit it; the trainer kept its old, consistent state, and does not train on it meanwhile
            self.playing = False
            self.pending_steps = 0
            if config is not None:
                self._pending_config = config.copy()
            if points is not None:
                self._pending_points = (points, version)
            self._sync_reason = str(exc).rstrip(".")
            self._sync_data = isinstance(exc, DataError)
            if self._sync_data:
                raise DataError(f"{exc}. The new settings and points apply as soon as they suit each other "
                                "(Regenerate in the Data panel, or change the problem back).") from None
            raise
        self._pending_config = self._pending_points = None
        self._sync_reason = ""
        if points is not None:
            self.points_version = version

    def _refuse_if_out_of_sync(self) -> None:
        if not self.in_sync:
            self.playing = False
            self.pending_steps = 0
            raise DataError(self.sync_message)

    def _load_state(self, cmd: m.LoadState) -> None:
        t = self.trainer
        hist = None
        if cmd.history is not None:   # checks first
            is_arrays = any(isinstance(v, np.ndarray) for v in cmd.history.values())
            hist = History.from_arrays(cmd.history) if is_arrays else History.from_dict(cmd.history)
        if hist is None:
            # weights with no history are the run's initial weights (a lesson's fixed ones): Reset returns
            # to them; no weights: back to the seed's
            t.set_initial_weights(cmd.weights)
        else:
            t.set_initial_weights(None)    # trained weights: Reset starts the run again from the seed
            if cmd.weights is not None:
                t.network.set_weights(cmd.weights)
        if hist is not None and hist.n_layers == t.network.n_layers:
            t.history = hist
            t.epoch = int(hist.last("epoch")) if len(hist) else 0
        t._reset_best()

    def _reanchor(self) -> None:
        self._anchor = (self._clock(), self.trainer.epoch)

    def _check_generation(self) -> None:
        if self.trainer.history is not self._history_seen:
            self._history_seen = self.trainer.history
            self.generation += 1
            self._sent_epoch = 0
            self._rate.clear()   # epochs restarted: old samples would give a negative rate
            self._reanchor()     # and the speed cap counts from here

    def take_outbox(self) -> list:
        out, self._outbox = self._outbox, []
        return out

    # -- work --------------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Training is due: playing (and not held at the epoch limit) or steps pending, and not stopped."""
        return ((self.playing and not self._at_limit()) or self.pending_steps > 0) and self.trainer.stop_info is None

    def _at_limit(self) -> bool:
        return self.epoch_limit is not None and self.trainer.epoch >= self.epoch_limit

    @property
    def waiting(self) -> bool:
        """Playing, but held at the epoch limit (SetEpochLimit) with no steps pending."""
        return (self.playing and self._at_limit() and self.pending_steps == 0
                and self.trainer.stop_info is None)

    def work(self, budget: float = 0.005, interrupt=None) -> int:
        """Train for about ``budget`` seconds (at least one epoch if any is due). Returns epochs run.

        ``interrupt`` (see Trainer.step_epoch) lets a command cut a long epoch short; it is undone and
        run again after the command.
        """
        if not self.busy:
            if self.trainer.complete_record():   # the newest row was not evaluated: it is now; send it again
                self._sent_epoch = min(self._sent_epoch, self.trainer.epoch - 1)
                self.dirty = True
            if (self.boundary_reduced or self.predictions_partial or self._histogram_still != self._weights_key()
                    or self.network_reduced):
                self.dirty = True   # training paused or stopped: the still must be sharp and exact
            return 0
        t = self.trainer
        start = self._clock()
        done = 0
        try:
            while True:
                stepping = self.pending_steps > 0
                if stepping:
                    self.pending_steps -= 1
                elif not self.playing or self._at_limit():
                    break   # paused, or held at the epoch limit (SetEpochLimit)
                elif self.speed > 0:
                    t0, e0 = self._anchor
                    if t.epoch - e0 >= (self._clock() - t0) * self.speed:
                        break   # ahead of the speed cap
                if not t.step_epoch(interrupt):
                    if t.stop_info is None:   # interrupted by a command: the epoch is due again
                        self.pending_steps += stepping
                        break
                    self.playing = False
                    self.pending_steps = 0
                    self.dirty = True   # the GUI must hear of the stop even if no epoch ran in this chunk
                    break
                done += 1
                if self._clock() - start >= budget:
                    break
        except (EOFError, BrokenPipeError, ConnectionResetError):
            raise   # the interrupt callback could not send a mid-epoch frame: the GUI is gone
        except Exception as exc:
            self.playing = False
            self.pending_steps = 0
            self._outbox.append(m.SessionError(f"Internal error while training: {exc}", traceback.format_exc()))
        if done:
            self._rate.append((self._clock(), t.epoch))
            self.dirty = True
        self._check_generation()
        return done

    def epochs_per_second(self) -> float:
        if len(self._rate) < 2:
            return 0.0
        (t0, e0), (t1, e1) = self._rate[0], self._rate[-1]
        if self._clock() - t1 > 0.5:   # stalled or paused
            return 0.0
        return (e1 - e0) / (t1 - t0) if t1 > t0 else 0.0

    # -- boundary resolution -----------------------------------------------------------------------------
    def _network_shape(self) -> tuple:
        net = self.trainer.network
        return (tuple(net.sizes), tuple(net.activations))

    def pixel_seconds(self) -> float:
        """Estimated seconds per boundary pixel of the current network (measured, else a pessimistic guess)."""
        shape = self._network_shape()
        if self._pixel_cost is not None and self._pixel_cost[0] == shape:
            return self._pixel_cost[1]
        sizes = shape[0]
        macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        guess = PRIOR_PIXEL_SECONDS + PRIOR_MAC_SECONDS * macs
        if self._pixel_cost is not None:   # how fast this machine was on the last network, per multiply-add
            old = self._pixel_cost[0][0]
            old_guess = PRIOR_PIXEL_SECONDS + PRIOR_MAC_SECONDS * sum(a * b for a, b in zip(old[:-1], old[1:]))
            guess *= max(0.25, min(4.0, self._pixel_cost[1] / old_guess))
        return guess

    def _learn_pixel_cost(self, pixels: int, seconds: float) -> None:
        if pixels <= 0 or seconds <= 0:
            return
        shape, measured = self._network_shape(), seconds / pixels
        if self._pixel_cost is not None and self._pixel_cost[0] == shape:
            measured = 0.7 * self._pixel_cost[1] + 0.3 * measured   # smoothed: one slow frame (load) is noise
        else:
            self._boundary_level = 0   # a new network: chosen afresh from its own cost
        self._pixel_cost = (shape, measured)

    def boundary_size(self, width: int, height: int, budget: float = PLAYING_BOUNDARY_SECONDS) -> tuple[int, int]:
        """The boundary image's size for the next snapshot: the view's own unless training plays and that
        would cost more than PLAYING_BOUNDARY_SECONDS; then the biggest smaller size (same aspect) that fits,
        with some hysteresis so the size does not flip between two steps from frame to frame."""
        width, height = int(width), int(height)
        if not self.busy:
            return width, height
        cost = self.pixel_seconds()

        def size(level: int) -> tuple[int, int]:
            f = BOUNDARY_STEP ** level
            return (min(width, max(MIN_BOUNDARY_SIDE, round(width * f))),
                    min(height, max(MIN_BOUNDARY_SIDE, round(height * f))))

        def seconds(level: int) -> float:
            w, h = size(level)
            return cost * w * h

        level = self._boundary_level
        while seconds(level) > budget and size(level + 1) != size(level):
            level += 1                          # too dear: shrink
        while level > 0 and seconds(level - 1) <= 0.7 * budget:
            level -= 1                          # clearly affordable: grow
        self._boundary_level = level
        return size(level)

    def _frame_predictions(self) -> tuple[np.ndarray, float]:
        """Every point's class for "show mistakes", and the seconds spent on it.

        Paused, or cheap (at most a third of PLAYING_BOUNDARY_SECONDS): all points, from the current
        weights. Playing with so many points (or so big a network) that this would cost more: only the
        next slice of points that fits is classified again, round the set, and the rest keep the class of
        a few frames ago, so a frame stays within its budget. Paused or stopped, all are exact again.
        """
        t, shape = self.trainer, self._network_shape()
        points, n = t.points, len(t.points)
        started = self._clock()
        per_point = self._point_cost[1] if self._point_cost is not None and self._point_cost[0] == shape else None
        share = PLAYING_BOUNDARY_SECONDS / 3
        known = self._predicted is not None and self._predicted[0] is points
        if not self.busy or not known or per_point is None or per_point * n <= share:
            classes = t.predict_class(points.xy).astype(np.int8)
            self._predicted, self._predict_next, count = (points, classes), 0, n
        else:
            classes = self._predicted[1]
            count = max(1, min(n, int(share / per_point)))
            start = self._predict_next
            index = np.arange(start, start + count) % n
            classes[index] = t.predict_class(points.xy[index])
            self._predict_next = (start + count) % n
            self.predictions_partial = count < n
        spent = self._clock() - started
        if spent > 0:
            measured = spent / count
            if per_point is not None:
                measured = 0.7 * per_point + 0.3 * measured
            self._point_cost = (shape, measured)
        return classes.copy(), spent   # a copy: an in-process GUI keeps it while the next is made

    def _weights_key(self) -> tuple:
        """Names the weights held between epochs: a still's histograms are made again only when it changes."""
        t = self.trainer
        return (self.generation, t.epoch, t.restored, t.stop_info.kind if t.stop_info else "")

    def _frame_histograms(self) -> list | None:
        """The weight histograms this snapshot carries, or None (unchanged: the GUI keeps the last ones)."""
        t, now = self.trainer, self._clock()
        first = self._histogram_sent is None or self._histogram_sent[0] != self.generation
        if self.busy:
            if not first and now - self._histogram_sent[1] < HISTOGRAM_INTERVAL:
                return None
            self._histogram_still = None
            hists = weight_histograms(t.network.W, max_weights=PLAYING_HISTOGRAM_WEIGHTS)
        else:
            key = self._weights_key()
            if not first and self._histogram_still == key:
                return None
            self._histogram_still = key
            hists = weight_histograms(t.network.W)
        self._histogram_sent = (self.generation, now)
        return hists

    def _frame_network(self):
        """The network view's frame for this snapshot, or None (off, no view yet, or unchanged / not due)."""
        req, t = self.network_view, self.trainer
        if req is None or self.view is None:
            self.network_reduced = False   # nothing to make sharp (or the idle loop would keep sending stills)
            return None
        net, now = t.network, self._clock()
        sizes = net.sizes
        if self.busy:
            if self._network_sent is not None and self._network_sent[0] == self.generation:
                interval = self._network_sent[2] * NETWORK_COST_FACTOR
                if is_summarised(sizes):
                    interval = max(interval, NETWORK_SUMMARY_INTERVAL)
                if now - self._network_sent[1] < interval:
                    return None
            self._network_still = None
            known = self._mac_cost is not None and self._mac_cost[0] == self._network_shape()
            per_mac = self._mac_cost[1] if known else PRIOR_MAC_SECONDS
            g = frame_resolution(sizes, req.resolution, per_mac, NETWORK_SECONDS)
        else:
            key = (self._weights_key(), tuple(self.view.extent), req.resolution,
                   tuple(t.config.architecture.features), float(net.params.sum()))
            if self._network_still == key:
                return None
            self._network_still = key
            g = frame_resolution(sizes, req.resolution)
        started = self._clock()
        frame = network_frame(net, t.config.architecture.features, self.view.extent, g,
                              generation=self.generation, epoch=t.epoch)
        cost = self._clock() - started
        self.network_reduced = g < frame_resolution(sizes, req.resolution)
        if cost > 0:
            measured = cost / (g * g * max(1, multiply_adds(sizes)))
            shape = self._network_shape()
            if self._mac_cost is not None and self._mac_cost[0] == shape:
                measured = 0.7 * self._mac_cost[1] + 0.3 * measured   # smoothed: one slow frame is noise
            self._mac_cost = (shape, measured)
        self._network_sent = (self.generation, now, cost)
        return frame

    # -- snapshots ---------------------------------------------------------------------------------------
    def snapshot(self) -> m.Snapshot:
        t = self.trainer
        rows = t.history.slice(t.history.rows_after(self._sent_epoch))
        if len(rows["epoch"]):
            self._sent_epoch = rows["epoch"][-1]
        mode = {"binary": "binary", "softmax": "multiclass", "regression": "regression"}[t.head]
        predictions, spent = None, 0.0
        self.predictions_partial = False
        if mode != "regression" and len(t.points) and (self.view is None or self.view.predictions):
            predictions, spent = self._frame_predictions()
        started = self._clock()
        histograms = self._frame_histograms()
        network = self._frame_network()
        spent += self._clock() - started
        boundary = extent = None
        if self.view is not None:
            v = self.view
            extent = v.extent
            budget = max(PLAYING_BOUNDARY_SECONDS - spent, PLAYING_BOUNDARY_SECONDS / 2)
            width, height = self.boundary_size(v.width, v.height, budget)
            started = self._clock()
            boundary = t.boundary(v.extent, width, height)
            self._learn_pixel_cost(width * height, self._clock() - started)
            self.boundary_reduced = (width, height) != (v.width, v.height)
        keep = [None if mk is None else mk[0].copy() for mk in t.last_dropout_masks]
        self.dirty = False
        return m.Snapshot(
            generation=self.generation, epoch=t.epoch, rows=rows,
            n_layers=t.network.n_layers, playing=self.busy or self.waiting, boundary=boundary, extent=extent, mode=mode,
            points_version=self.points_version, predictions=predictions, best_epoch=t.best_epoch,
            stop_message=t.stop_info.message if t.stop_info else "",
            stop_kind=t.stop_info.kind if t.stop_info else "", notice=t.notice, dropout_keep=keep,
            epochs_per_second=self.epochs_per_second(), seed=t.config.architecture.seed,
            transport_seq=self.transport_seq, in_sync=self.in_sync, sync_message=self.sync_message,
            weight_histograms=histograms, network=network, waiting=self.waiting)
