"""One training run, Qt side, no widgets: its session client, its copy of the metric history and its
protocol state (generation, numbered transport commands, playing, sync state, time trained).

The window holds one run today; nothing here assumes it is the only one: several runs may train on the
same document (each with its own client and child process), each emitting its own frames.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from ..engine.history import History
from ..session import messages as m
from .session_client import SessionClient


class TrainingRun(QObject):
    frame = Signal(object, bool)        # Snapshot, restarted (a new generation: ``history`` is a new object)
    playing_changed = Signal(bool)      # what the transport should show (Play or Pause)
    sync_changed = Signal(bool, str)    # in_sync, reason ("" when in sync): emitted when either changes
    state_received = Signal(object)     # StateReply of a request_state() token
    error = Signal(str, str)            # message, detail (the run stopped playing)
    died = Signal(str)                  # the session process is gone (the run stopped playing)

    def __init__(self, client: SessionClient, parent=None, clock=time.monotonic):
        super().__init__(parent)
        self.client: SessionClient | None = None
        self.history = History(1)
        self.last_snapshot: m.Snapshot | None = None
        self.generation = -1             # of the last snapshot shown: a new one restarts the history copy
        self.transport_seq = 0           # number of the last Play/Pause/Step sent
        self.playing = False
        self.clock = clock               # measures training time for the "save changes?" policy
        self.trained_seconds = 0.0       # seconds of playing since the last save or load
        self._snapshot_time = 0.0
        self._sync: tuple[bool, str] = (True, "")
        # Frames while playing are acknowledged at most this often (0: at once). Several runs side by side
        # share the GUI's time: without a bound, four children at full frame rate kept the event loop busy
        # with frames alone. The child keeps training meanwhile; only its frame rate drops.
        self.min_frame_interval = 0.0
        self._last_ack = 0.0
        self._ack_client: SessionClient | None = None
        self._ack_timer = QTimer(self)
        self._ack_timer.setSingleShot(True)
        self._ack_timer.timeout.connect(self._delayed_ack)
        self.attach(client)

    # -- the session client ------------------------------------------------------------------------------
    def attach(self, client: SessionClient) -> None:
        """Use ``client`` (started here); the caller then sends it the document (settings, points, view)."""
        self.client = client
        client.snapshot.connect(self._on_snapshot)
        client.state_received.connect(self.state_received)
        client.error.connect(self._on_error)
        client.died.connect(self._on_died)
        client.start()

    def detach(self) -> SessionClient:
        old = self.client
        try:
            old.snapshot.disconnect(self._on_snapshot)
            old.state_received.disconnect(self.state_received)
            old.error.disconnect(self._on_error)
            old.died.disconnect(self._on_died)
        except (RuntimeError, TypeError):
            pass
        return old

    def restart(self) -> None:
        """A new session of the same kind (the old one is shut down): weights and history start over."""
        old = self.detach()
        old.shutdown()
        self.generation = -1
        self.attach(type(old)(self.parent()))
        # The new process starts paused. Transport commands stay numbered on from the old process's: until
        # the new one sends its first frame, the old one's last frame is still shown, and its transport_seq
        # must not seem to follow a Play/Pause/Step sent to the new process (numbering afresh from 0 made a
        # stale frame pass for the answer to a Step just sent: monkey seeds 2 and 3). The new process's
        # frames carry this Pause's number, so they set Play/Pause again.
        self.pause()

    def shutdown(self) -> None:
        self.client.shutdown()

    @property
    def alive(self) -> bool:
        return self.client.alive

    def send(self, cmd) -> None:
        self.client.send(cmd)

    def request_state(self) -> int:
        return self.client.request_state()

    def cancel_state(self, token: int) -> None:
        self.client.cancel_state(token)

    # -- transport ---------------------------------------------------------------------------------------
    def _next_seq(self) -> int:
        self.transport_seq += 1
        return self.transport_seq

    def set_playing(self, playing: bool) -> None:
        self.playing = playing
        self.playing_changed.emit(playing)

    def play(self) -> None:
        self.client.send(m.Play(self._next_seq()))
        self.set_playing(True)

    def pause(self) -> None:
        self.client.send(m.Pause(self._next_seq()))
        self.set_playing(False)
        self.flush_ack()   # the still that answers the Pause comes at once

    def flush_ack(self) -> None:
        """Send a delayed Ack now."""
        if self._ack_timer.isActive():
            self._ack_timer.stop()
            self._delayed_ack()

    def step(self, epochs: int = 1, pause: bool = True) -> None:
        self.client.send(m.Step(epochs, self._next_seq()))
        if pause:
            self.set_playing(False)
            self.flush_ack()

    def reset(self) -> None:
        self.client.send(m.Reset(False))

    def forget_training(self) -> None:
        """The training so far is saved or discarded: it no longer counts as unsaved work."""
        self.trained_seconds = 0.0

    @property
    def in_sync(self) -> bool:
        return getattr(self.last_snapshot, "in_sync", True) if self.last_snapshot is not None else True

    @property
    def sync_message(self) -> str:
        return getattr(self.last_snapshot, "sync_message", "") or "" if self.last_snapshot is not None else ""

    # -- frames ------------------------------------------------------------------------------------------
    def _on_snapshot(self, snap: m.Snapshot) -> None:
        client = self.client
        try:
            self.take(snap)
        finally:
            self._ack(client, snap.playing)   # the next frame may come: backpressure is per drawn frame

    def _ack(self, client: SessionClient, playing: bool) -> None:
        now = time.perf_counter()
        wait = self.min_frame_interval - (now - self._last_ack)
        if not playing or wait <= 0:
            self._last_ack = now
            client.ack()
        else:
            self._ack_client = client
            self._ack_timer.start(max(1, int(wait * 1000)))

    def ack_if_due(self) -> None:
        """Send a delayed Ack whose time has come. Called on other runs' frames too: a busy event loop runs
        timers late (Qt runs them when it is idle), and the Ack must not wait for that."""
        if self._ack_client is not None and time.perf_counter() - self._last_ack >= self.min_frame_interval:
            self._ack_timer.stop()
            self._delayed_ack()

    def _delayed_ack(self) -> None:
        client, self._ack_client = self._ack_client, None
        if client is not None and client is self.client:   # not a client replaced meanwhile
            self._last_ack = time.perf_counter()
            client.ack()

    def take(self, snap: m.Snapshot) -> None:
        """Take a snapshot as if the session had sent it (no Ack): update the history copy and state, emit frame."""
        prev, self.last_snapshot = self.last_snapshot, snap
        now = self.clock()
        restarted = snap.generation != self.generation
        if restarted:
            self.trained_seconds = 0.0   # the run restarted: the training that was at stake is gone
        elif snap.playing and prev is not None and prev.playing and snap.epoch > prev.epoch:
            # time spent playing, from frame to frame (a long gap counts at most a second)
            self.trained_seconds += min(max(0.0, now - self._snapshot_time), 1.0)
        self._snapshot_time = now
        if restarted:
            self.generation = snap.generation
            self.history = History(snap.n_layers)
        self.history.extend(snap.rows)
        sync = (bool(getattr(snap, "in_sync", True)), getattr(snap, "sync_message", "") or "")
        if sync != self._sync:
            self._sync = sync
            self.sync_changed.emit(*sync)
        if snap.transport_seq == self.transport_seq:   # older snapshots predate the last Play/Pause
            self.playing = snap.playing
        self.frame.emit(snap, restarted)
        if snap.transport_seq == self.transport_seq:
            self.playing_changed.emit(snap.playing)

    def _on_error(self, message: str, detail: str) -> None:
        self.set_playing(False)
        self.error.emit(message, detail)

    def _on_died(self, message: str) -> None:
        self.set_playing(False)
        self.died.emit(message)
