"""Compare mode, Qt side, no widgets: the runs of a comparison, kept on the document and in lock-step.

A :class:`CompareGroup` holds run A (the window's :class:`TrainingRun`) and one more run per further entry of
``document.comparison``, each with its own session client (its own child process). It sends every extra run
its settings (``document.variant_config(i)``) on every settings change, the points on every points change,
and whatever the window sends to all runs (:meth:`CompareGroup.send_all`: SetView, SetSpeed). The transport
(play, pause, step, reset) acts on all runs.

**Lock-step** (``locked``, on by default): while playing, no run trains past ``limit`` =
the slowest run's epoch + a quantum (:class:`nnviz.session.messages.SetEpochLimit`), raised as the slowest run
moves on. The quantum is what the slowest run trains in about :data:`LOCK_SPAN` seconds (at least two of its
frames; at most cap x LOCK_SPAN under a speed cap), so the slowest run never waits for the others while the
others never get more than that far ahead. Under a speed cap that every run keeps up with, the cap alone
keeps them at one epoch and there is no limit (it would only disturb the cap's count); a run slower than
the cap (a big network) brings the limit back. Runs that stopped (early stopping, an error, a dead process)
do not hold the others back. Unlocked, every run trains at its own pace.
"""
from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Signal

from ..engine.config import needs_new_weights
from ..engine.history import History
from ..errors import NnvizError
from ..session import messages as m
from .training_run import TrainingRun

#: run colours, run A first: Okabe-Ito black, reddish purple, bluish green and sky blue, away from the class
#: colours (blue #0072B2 and vermillion #D55E00) the boundary and points use
RUN_COLOURS = ("#000000", "#CC79A7", "#009E73", "#56B4E9")
LOCK_SPAN = 0.1           # seconds of the slowest run's training between two raises of the epoch limit
FIRST_QUANTUM = 8         # epochs, before the slowest run's speed is known
MAX_QUANTUM = 1 << 20
# under a speed cap, runs training at this share of it or more are held by the cap (not by their compute):
# the cap keeps them in step; below it (a big network slower than the cap) the epoch limit does
CAP_HOLDS_ENTER = 0.9
CAP_HOLDS_LEAVE = 0.8
_RATE_WEIGHT = 0.3        # weight of a new speed sample in the running estimate


class CompareGroup(QObject):
    frame = Signal(int, object, bool)     # run index >= 1, Snapshot, restarted (run A's: the window's own)
    runs_changed = Signal()               # runs were added, removed or relabelled (labels, colours)
    playing_changed = Signal(bool)        # any run plays (the transport shows Pause)
    error = Signal(int, str, str)         # run index >= 1, message, detail
    died = Signal(int, str)               # run index >= 1, message: its process is gone

    def __init__(self, document, primary: TrainingRun, make_client: Callable, parent=None,
                 clock: Callable[[], float] = time.monotonic):
        """``make_client(parent)`` makes a session client for an extra run (e.g. ProcessSessionClient)."""
        super().__init__(parent)
        self.document = document
        self.runs: list[TrainingRun] = [primary]
        self.labels: list[str] = [""]
        self.colours: list[str] = [RUN_COLOURS[0]]
        self.locked = True
        self.playing = bool(primary.playing)
        self.limit: int | None = None        # the epoch limit of every run (None: none)
        self._sent_limit: dict[int, int | None] = {}   # id(run) -> the limit that run was last sent
        self._clients: dict[int, object] = {}          # id(run) -> its session client when last seen
        self.clock = clock
        self._make_client = make_client
        self._variants: list = [None]        # the Variant each run trains (None: run A)
        self._configs: list = [None]         # the config last sent to each extra run
        self._broadcast: dict[type, object] = {}   # the last command of each type given to send_all
        self._speed = 0.0                    # the speed cap (SetSpeed via send_all)
        self._quantum = FIRST_QUANTUM
        self._slowest_epoch = 0
        self._capped = False                 # the speed cap alone keeps the runs in step (see _cap_keeps_step)
        self._pace: dict[int, dict] = {}     # id(run) -> {"t", "epoch", "gen", "waiting", "rate", "dt"}
        self._closed = False
        self._connect_run(primary)
        document.comparison_changed.connect(self._sync_runs)
        document.config_model.changed.connect(self._on_config_changed)
        document.points_model.changed.connect(self._on_points_changed)
        document.loaded.connect(self._on_loaded)
        self._sync_runs()

    # -- facts -------------------------------------------------------------------------------------------
    @property
    def primary(self) -> TrainingRun:
        return self.runs[0]

    @property
    def active(self) -> bool:
        """Comparing: two runs or more."""
        return len(self.runs) >= 2

    def epochs(self) -> list[int]:
        """Each run's epoch as last shown (0 before its first frame of the current generation)."""
        return [self._epoch(run) for run in self.runs]

    # -- the runs ----------------------------------------------------------------------------------------
    def _connect_run(self, run: TrainingRun) -> None:
        self._clients[id(run)] = run.client
        run.frame.connect(lambda snap, restarted, r=run: self._on_frame(r, snap, restarted))
        run.playing_changed.connect(self._update_playing)
        if run is not self.runs[0]:
            run.error.connect(lambda msg, detail, r=run: self._on_run_error(r, msg, detail))
            run.died.connect(lambda msg, r=run: self._on_run_died(r, msg))

    def _sync_runs(self) -> None:
        """Make the runs match ``document.comparison``: keep a run whose variant is unchanged (or only
        relabelled), shut down the others, start one for each new variant."""
        if self._closed:
            return
        variants = list(self.document.comparison)[1:]
        old = list(zip(self.runs[1:], self._variants[1:], self._configs[1:]))
        kept: list = [None] * len(variants)
        for match in (lambda a, b: a == b, lambda a, b: a.changes == b.changes):
            for i, v in enumerate(variants):
                if kept[i] is not None:
                    continue
                for j, (run, ov, cfg) in enumerate(old):
                    if match(ov, v):
                        kept[i] = (run, cfg)
                        old.pop(j)
                        break
        for run, _, _ in old:
            self._drop_run(run)
        runs, configs, new = [self.runs[0]], [None], []
        for v, k in zip(variants, kept):
            if k is None:
                run = TrainingRun(self._make_client(self), self)
                self._connect_run(run)
                runs.append(run)
                configs.append(None)
                new.append(run)
            else:
                runs.append(k[0])
                configs.append(k[1])
        self.runs = runs
        self._configs = configs
        self._variants = [None] + variants
        if old:
            self._finish_if_answered()   # a save waiting for a dropped run: it answers no more
        labels = [v.label for v in self.document.comparison] or [""]
        self.labels = labels
        self.colours = [RUN_COLOURS[i % len(RUN_COLOURS)] for i in range(len(self.runs))]
        for run in new:
            self._start_run(run)
        self._update_playing()
        self._update_limit()
        self.runs_changed.emit()

    def _start_run(self, run: TrainingRun) -> None:
        """A new extra run: the document's points, its settings, the window's view and speed; the epoch limit,
        and Play if the others play."""
        i = self.runs.index(run)
        doc = self.document
        self._send_config(i)
        run.send(m.SetPoints(doc.points, doc.points_version))
        for cmd in self._broadcast.values():
            run.send(cmd)
        self._sent_limit.pop(id(run), None)
        if self.limit is not None:
            self._send_limit(run)
        if self.playing:
            run.play()

    def _drop_run(self, run: TrainingRun) -> None:
        self._pace.pop(id(run), None)
        self._sent_limit.pop(id(run), None)
        self._clients.pop(id(run), None)
        for signal in (run.frame, run.playing_changed, run.error, run.died, run.state_received):
            _disconnect(signal)
        run.shutdown()
        run.client.deleteLater()
        run.deleteLater()

    def restart(self, index: int) -> None:
        """A new process for extra run ``index`` (after it died): its weights and history start over."""
        if index < 1 or index >= len(self.runs):
            raise IndexError(f"run {index}: only extra runs 1..{len(self.runs) - 1} can be restarted here")
        run = self.runs[index]
        self._pace.pop(id(run), None)
        run.restart()
        self._clients[id(run)] = run.client
        self._configs[index] = None
        self._start_run(run)

    def shutdown(self) -> None:
        """End every extra run's process (run A is the window's); the group shows run A alone from now on."""
        self._closed = True
        for run in self.runs[1:]:
            self._drop_run(run)
        self.runs = self.runs[:1]
        self.cancel_states()
        self._variants, self._configs = [None], [None]
        self.labels, self.colours = [""], [RUN_COLOURS[0]]

    # -- what every run is sent --------------------------------------------------------------------------
    def send_all(self, cmd) -> None:
        """Send ``cmd`` to every run (SetView, SetSpeed); runs started later get the last one of its kind."""
        self._broadcast[type(cmd)] = cmd
        if isinstance(cmd, m.SetSpeed):
            self._speed = max(0.0, float(cmd.epochs_per_second or 0.0))
        for run in self.runs:
            run.send(cmd)
        if isinstance(cmd, m.SetSpeed):
            self._update_limit()

    def _send_config(self, i: int) -> bool:
        """Send extra run ``i`` its settings; False (and ``error``) if its changes do not make valid settings."""
        try:
            config = self.document.variant_config(i)
        except NnvizError as exc:
            self.error.emit(i, f"{self.labels[i] if i < len(self.labels) else 'Run'}: {exc}", "")
            return False
        self._configs[i] = config
        self.runs[i].send(m.SetConfig(config))
        return True

    def _on_config_changed(self, config, needs_reset: bool) -> None:
        if self._closed or self.document.loading or not self.active:
            return   # a load sends settings and points together (see _on_loaded)
        restarted = [bool(needs_reset)]
        for i in range(1, len(self.runs)):
            old = self._configs[i]
            if self._send_config(i):
                restarted.append(old is not None and needs_new_weights(old, self._configs[i]))
            else:
                restarted.append(False)
        if any(restarted):
            # one run starts from new weights: all start again, so that they stay comparable, epoch for epoch
            self._limit_from_zero()
            for run, again in zip(self.runs, restarted):
                if not again:
                    run.reset()
            self._restart_pacing()

    def _on_points_changed(self, points) -> None:
        if self._closed or self.document.loading:
            return
        for run in self.runs[1:]:
            run.send(m.SetPoints(points, self.document.points_version))

    def _on_loaded(self, _exp=None) -> None:
        """A new document: settings and points together to every extra run (run A gets them from the window)."""
        if self._closed:
            return
        doc = self.document
        for i in range(1, len(self.runs)):
            try:
                config = doc.variant_config(i)
            except NnvizError as exc:
                self.error.emit(i, f"{self.labels[i]}: {exc}", "")
                continue
            self._configs[i] = config
            self.runs[i].send(m.SetExperiment(config, doc.points, doc.points_version))
        self._restart_pacing()

    def load_states(self, states: list) -> None:
        """Saved weights and histories for runs 1.. : ``[(weights | None, History | arrays | None), ...]``."""
        for run, (weights, history) in zip(self.runs[1:], states):
            if isinstance(history, History):
                history = history.to_arrays()
            run.send(m.LoadState(weights, history))
        self._restart_pacing()

    # -- transport ---------------------------------------------------------------------------------------
    def play(self) -> None:
        self._update_limit(force=True, playing=True)   # before Play: no run runs ahead meanwhile
        for run in self.runs:
            run.play()
        self._update_playing()

    def pause(self) -> None:
        for run in self.runs:
            run.pause()
        self._update_playing()

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def step(self, epochs: int = 1) -> None:
        """``epochs`` more epochs for every run; locked, the runs behind catch up first (all end at one epoch)."""
        epochs = max(1, int(epochs))
        done = self.epochs()
        target = max(done) + epochs
        for run, epoch in zip(self.runs, done):
            run.step(target - epoch if self.locked else epochs)
        self._update_playing()

    def reset(self) -> None:
        """Every run starts again from its initial weights."""
        self._limit_from_zero()   # first: no run trains on to the old limit after its reset
        for run in self.runs:
            run.reset()
        self._restart_pacing()

    def _limit_from_zero(self) -> None:
        """The runs start again from epoch 0: so does the epoch limit (if there is one)."""
        if self.locked and self.playing and self.limit is not None:
            self.limit = self._quantum_now()
            self._slowest_epoch = 0
            for run in self.runs:
                self._send_limit(run)

    def redraw(self) -> None:
        """Every run starts again from new random weights (each its own new seed). The window's New weights
        sets one new seed in the document's settings instead, which reaches every run the same."""
        for run in self.runs:
            run.send(m.Reset(True))
        self._restart_pacing()

    def set_locked(self, locked: bool) -> None:
        """Lock-step on (all runs at one epoch) or off (each at its own pace)."""
        locked = bool(locked)
        if locked == self.locked:
            return
        self.locked = locked
        self._update_limit(force=True)

    def _update_playing(self, _playing: bool | None = None) -> None:
        playing = any(run.playing for run in self.runs)
        if playing != self.playing:
            self.playing = playing
            self.playing_changed.emit(playing)
            if not playing:
                self._update_limit()

    # -- frames and lock-step ----------------------------------------------------------------------------
    @staticmethod
    def _epoch(run: TrainingRun) -> int:
        snap = run.last_snapshot
        return int(snap.epoch) if snap is not None and snap.generation == run.generation else 0

    def _on_frame(self, run: TrainingRun, snap, restarted: bool) -> None:
        if run not in self.runs:
            return
        if self._clients.get(id(run)) is not run.client:   # a new process (the window restarted run A):
            self._clients[id(run)] = run.client             # it has no epoch limit yet
            self._sent_limit.pop(id(run), None)
            self._pace.pop(id(run), None)
        self._measure(run, snap)
        i = self.runs.index(run)
        if i:
            self.frame.emit(i, snap, restarted)
        self._update_limit()

    def _measure(self, run: TrainingRun, snap) -> None:
        """The run's training speed (epochs/s) and frame interval, from consecutive frames of one generation in
        which it trained freely (not held at the limit)."""
        now = self.clock()
        waiting = bool(getattr(snap, "waiting", False))
        pace = self._pace.setdefault(id(run), {"rate": None, "dt": None})
        free = snap.playing and not waiting
        if (free and pace.get("free") and pace.get("gen") == snap.generation and snap.epoch > pace["epoch"]
                and now > pace["t"]):
            dt = now - pace["t"]
            rate = (snap.epoch - pace["epoch"]) / dt
            old = pace["rate"]
            pace["rate"] = rate if old is None else old + _RATE_WEIGHT * (rate - old)
            pace["dt"] = dt if pace["dt"] is None else pace["dt"] + _RATE_WEIGHT * (dt - pace["dt"])
        pace.update(t=now, epoch=snap.epoch, gen=snap.generation, waiting=waiting, free=free)

    def _restart_pacing(self) -> None:
        for pace in self._pace.values():
            pace["free"] = False   # the next frame starts a new measurement

    def _pacing_runs(self) -> list[TrainingRun]:
        """The runs that set the pace: playing (or told to play) and alive; a stopped run holds nobody back."""
        return [run for run in self.runs if run.playing and run.alive]

    def _quantum_now(self) -> int:
        """Epochs the slowest run may train ahead of its last frame: ~LOCK_SPAN seconds of its training."""
        return max(1, min(MAX_QUANTUM, int(self._quantum)))

    def _update_quantum(self, slowest: TrainingRun) -> None:
        pace = self._pace.get(id(slowest), {})
        rate, dt = pace.get("rate"), pace.get("dt")
        if rate:
            quantum = math.ceil(rate * max(LOCK_SPAN, 2.0 * (dt or 0.0)))
        elif pace.get("waiting"):
            quantum = self._quantum * 2    # it waits for the limit: it could go faster than that
        else:
            quantum = self._quantum
        if self._speed > 0:
            quantum = min(quantum, math.ceil(self._speed * LOCK_SPAN)) if rate else math.ceil(self._speed * LOCK_SPAN)
        self._quantum = max(1, min(MAX_QUANTUM, int(quantum)))

    def _cap_keeps_step(self, pacing: list[TrainingRun]) -> bool:
        """Under a speed cap, every run setting the pace trains at about the cap (or is not measured yet): the
        cap alone keeps them at one epoch, and an epoch limit would only get in its way (each new limit
        restarts a session's cap count, which lets it train an epoch early). With hysteresis."""
        if self._speed <= 0:
            self._capped = False
            return False
        share = CAP_HOLDS_LEAVE if self._capped else CAP_HOLDS_ENTER
        rates = [self._pace.get(id(run), {}).get("rate") for run in pacing]
        # and they are at one epoch (a run a little slower than the cap, or slowed down, drifts behind)
        epochs = [self._epoch(run) for run in pacing]
        spread = max(1, math.ceil(self._speed * LOCK_SPAN)) * (2 if self._capped else 1)
        self._capped = (max(epochs) - min(epochs) <= spread
                        and all(rate is None or rate >= share * self._speed for rate in rates))
        return self._capped

    def _update_limit(self, force: bool = False, playing: bool | None = None) -> None:
        """Set, raise or lift the epoch limit of every run; a run is sent it when it changes (or ``force``)."""
        limit = None
        playing = self.playing if playing is None else playing
        if self.locked and playing and self.active:
            pacing = self._pacing_runs() or [run for run in self.runs if run.alive]
            if pacing and not self._cap_keeps_step(pacing):
                slowest = min(pacing, key=self._epoch)
                self._update_quantum(slowest)
                epoch = self._epoch(slowest)
                limit = epoch + self._quantum_now()
                # a smaller quantum never lowers the limit under a run that is past it already, unless the
                # runs went back (a reset) or the limit is set afresh (play, lock)
                if self.limit is not None and not force and epoch >= self._slowest_epoch:
                    limit = max(limit, self.limit)
                self._slowest_epoch = epoch
        self.limit = limit
        for run in self.runs:
            if self._sent_limit.get(id(run)) != limit or (force and limit is not None):
                self._send_limit(run)

    def _send_limit(self, run: TrainingRun) -> None:
        self._sent_limit[id(run)] = self.limit
        run.send(m.SetEpochLimit(self.limit))

    # -- errors ------------------------------------------------------------------------------------------
    def _on_run_error(self, run: TrainingRun, message: str, detail: str) -> None:
        if run in self.runs:
            self.error.emit(self.runs.index(run), message, detail)

    def _on_run_died(self, run: TrainingRun, message: str) -> None:
        if run in self.runs:
            self._update_playing()
            self.died.emit(self.runs.index(run), message)

    # -- saving ------------------------------------------------------------------------------------------
    def request_states(self, done: Callable[[list[dict]], None]) -> None:
        """Ask every extra run for its weights and history; ``done(entries)`` once all have answered (or died),
        with one ``Experiment.comparison`` entry per extra run: label, changes, and weights and history (None
        when the run is gone or does not train on the document's points and settings). Replaces a request
        still under way (its ``done`` is never called)."""
        self.cancel_states()
        runs = self.runs[1:]
        configs = []
        for i in range(1, len(self.runs)):
            try:
                configs.append(self.document.variant_config(i).to_dict())
            except NnvizError:
                configs.append(None)
        request = {"done": done, "tokens": {}, "replies": {}, "runs": runs, "configs": configs,
                   "variants": self._variants[1:], "version": self.document.points_version, "asking": True}
        self._request = request
        for run in runs:
            run.state_received.connect(self._on_state)
            run.died.connect(self._on_state_died)
        for run in runs:
            if run.alive:
                request["tokens"][run.request_state()] = run   # an in-process session answers at once
        request["asking"] = False
        self._finish_if_answered()

    def states_blocking(self, timeout: float | None = None) -> list[dict]:
        """:meth:`request_states` and wait (processing events except user input); for tests and scripts."""
        out: list = []
        self.request_states(out.append)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not out and self._request is not None and (deadline is None or time.monotonic() < deadline):
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents, 20)
        if not out:
            self.cancel_states()
            return []
        return out[0]

    _request: dict | None = None

    def cancel_states(self) -> None:
        request, self._request = self._request, None
        if request is None:
            return
        for run in request["runs"]:
            if run not in self.runs:
                continue   # dropped: disconnected from everything already
            _disconnect(run.state_received, self._on_state)
            _disconnect(run.died, self._on_state_died)
        for token, run in request["tokens"].items():
            if token not in request["replies"]:
                run.cancel_state(token)

    def _on_state(self, reply) -> None:
        request = self._request
        if request is None:
            return
        request["replies"][reply.token] = reply
        self._finish_if_answered()

    def _on_state_died(self, _message: str = "") -> None:
        self._finish_if_answered()

    def _finish_if_answered(self) -> None:
        request = self._request
        if request is None or request["asking"]:
            return
        by_run = {id(run): token for token, run in request["tokens"].items()}
        for run in request["runs"]:
            token = by_run.get(id(run))
            if token is not None and token not in request["replies"] and run.alive and run in self.runs:
                return   # still waiting for this one (not for one that died or was removed)
        entries = []
        for run, variant, config in zip(request["runs"], request["variants"], request["configs"]):
            reply = request["replies"].get(by_run.get(id(run)))
            weights = history = None
            # never weights trained on other points or settings than the ones written
            if (reply is not None and getattr(reply, "in_sync", True) and config is not None
                    and getattr(reply, "points_version", request["version"]) == request["version"]
                    and _same_settings(reply.config.to_dict(), config)):
                weights = reply.weights
                try:
                    history = history_from_reply(reply.history)
                except NnvizError:
                    history = None
            entries.append({"label": variant.label, "changes": dict(variant.changes), "weights": weights,
                            "history": history})
        done = request["done"]
        self.cancel_states()
        done(entries)


def _disconnect(signal, slot=None) -> None:
    """Disconnect ``slot`` (or every slot) quietly: nothing connected is not an error here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            signal.disconnect() if slot is None else signal.disconnect(slot)
        except (RuntimeError, TypeError):
            pass


def _same_settings(a: dict, b: dict) -> bool:
    """The same settings but perhaps the seed (New weights of one run draws it a new seed)."""
    def seedless(d: dict) -> dict:
        return {**d, "architecture": {k: v for k, v in d["architecture"].items() if k != "seed"}}
    return seedless(a) == seedless(b)


def history_from_reply(history) -> History | None:
    """A state reply's history: History.to_arrays() output (or, from an older session, to_dict())."""
    if history is None:
        return None
    if any(hasattr(v, "dtype") for v in history.values()):
        return History.from_arrays(history)
    return History.from_dict(history)
