"""The one session loop: commands in, snapshots out, whatever carries them.

Used by the child process (``child.serve``, over a pipe) and by ``InProcessSessionClient`` (pumped by
hand or a timer), so tests exercise the production rules:

* **Ack**: after delivering a snapshot no other is delivered until the GUI acknowledges it;
* **pacing**: never more than ``max_fps`` snapshots a second, and while training plays a snapshot may
  take at most ``SNAPSHOT_SHARE`` of the time (measured with the injectable ``clock``); when not training
  a change is shown at once (a pause, an edit);
* **merging**: a burst of commands is coalesced (:func:`coalesce`) before it is handled;
* **interrupts**: a command that arrives during a long epoch cuts it short (it is undone and run again),
  and a due frame is delivered mid-epoch (the weights as they are, no new metric rows).

Imports no Qt.
"""
from __future__ import annotations

import time

from . import messages as m
from .core import SNAPSHOT_SHARE

MAX_FPS = 40.0
CHUNK_SECONDS = 0.004
IDLE_POLL_SECONDS = 0.05


class SessionLoop:
    """Drives one ``TrainingSession``.

    ``deliver(msg)`` sends a reply or snapshot to the GUI. ``poll()``, if given, moves commands that are
    waiting on the transport into the loop (with :meth:`put`); it is called during long epochs to find
    interrupts. ``max_fps`` None: no pacing (a snapshot whenever the GUI is ready and something changed).
    ``mid_epoch`` False: long epochs are neither interrupted nor shown mid-way.
    """

    def __init__(self, session, deliver, *, clock=time.perf_counter, max_fps: float | None = MAX_FPS,
                 poll=None, mid_epoch: bool = True):
        self.session = session
        self.deliver = deliver
        self.clock = clock
        self.max_fps = max_fps
        self.poll = poll
        self.mid_epoch = mid_epoch
        self.ready = True            # the GUI acknowledged the last snapshot
        self.last_sent = 0.0
        self.interval = self.min_interval
        self.pending: list = []      # commands received, not handled yet
        self.closed = False          # a Shutdown was handled

    @property
    def min_interval(self) -> float:
        return 0.0 if not self.max_fps else 1.0 / self.max_fps

    # -- commands ----------------------------------------------------------------------------------------
    def put(self, cmd) -> None:
        """A command arrived (an Ack is taken at once; the others wait for :meth:`handle_pending`)."""
        if isinstance(cmd, m.Ack):
            self.ready = True
        else:
            self.pending.append(cmd)

    def handle_pending(self) -> bool:
        """Handle the waiting commands (coalesced) and deliver their replies. False after a Shutdown."""
        commands, self.pending[:] = coalesce(self.pending), []
        for cmd in commands:
            if isinstance(cmd, m.Shutdown):
                self.closed = True
                return False
            self.session.handle(cmd)
        self.flush_outbox()
        return True

    def flush_outbox(self) -> None:
        for reply in self.session.take_outbox():
            self.deliver(reply)

    # -- frames ------------------------------------------------------------------------------------------
    def offer(self, mid_epoch: bool = False) -> bool:
        """Deliver a snapshot if the GUI is ready for one and it is due. True if one was delivered."""
        session = self.session
        now = self.clock()
        # pacing protects training time; when not training, show the change at once (a pause, an edit)
        if not (self.ready and (session.dirty or mid_epoch)
                and (now - self.last_sent >= self.interval or not session.busy)):
            return False
        snapshot = session.snapshot()
        cost = self.clock() - now
        self.ready = False           # before delivering: an in-process GUI may acknowledge at once
        self.last_sent = now
        # while training plays, a snapshot may take at most SNAPSHOT_SHARE of the process's time: the
        # session draws a big network's boundary smaller while playing (core.PLAYING_FPS) and anything
        # else dear (many points' predictions) makes frames come less often. A still (full-size image,
        # not playing) does not slow the frames that follow a Play.
        if snapshot.playing and self.max_fps:
            self.interval = max(self.min_interval, cost / SNAPSHOT_SHARE)
        else:
            self.interval = self.min_interval
        self.deliver(snapshot)
        return True

    def interrupted(self) -> bool:
        """Polled every ~20 ms during a long epoch: a command cuts it short (it is undone and run again);
        otherwise a frame may be due: it shows the weights as they are mid-epoch (no new metric rows), so
        a network whose epochs take longer than a frame still moves on screen at the frame rate."""
        if self.poll is not None:
            self.poll()
        if self.pending:
            return True
        if self.session.busy:
            self.offer(mid_epoch=True)
        return False

    # -- one turn ----------------------------------------------------------------------------------------
    def turn(self, chunk: float = CHUNK_SECONDS) -> bool:
        """Handle waiting commands, train about ``chunk`` seconds, deliver a due snapshot. False: shut down."""
        if not self.handle_pending():
            return False
        self.session.work(chunk, self.interrupted if self.mid_epoch else None)
        self.flush_outbox()
        self.offer()
        return True

    def run_epochs(self, epochs: int) -> None:
        """Train exactly ``epochs`` epochs now (however long they take), then deliver a due snapshot."""
        session = self.session
        was_playing = session.playing
        session.playing = False
        session.pending_steps += epochs
        while session.pending_steps > 0 and session.busy:
            session.work(1e9)
        session.playing = was_playing
        self.flush_outbox()
        self.offer()


_LAST_ONLY = (m.SetView, m.SetNetworkView, m.SetEpochLimit)


def coalesce(commands: list) -> list:
    """Drop what a later command of the burst overrides (a drag sends one SetPoints per mouse move).

    A SetPoints is dropped only if another follows before any settings change, so points are never
    moved across the settings they were sent with; only the last SetView, SetNetworkView and SetEpochLimit
    count (each replaces the one before, and steps are not limited, so their order does not matter).
    """
    keep = []
    for i, cmd in enumerate(commands):
        if isinstance(cmd, _LAST_ONLY) and any(type(c) is type(cmd) for c in commands[i + 1:]):
            continue
        if isinstance(cmd, m.SetPoints) and _superseded(commands, i):
            continue
        keep.append(cmd)
    return keep


def _superseded(commands: list, i: int) -> bool:
    for c in commands[i + 1:]:
        if isinstance(c, (m.SetConfig, m.SetExperiment)):
            return False
        if isinstance(c, m.SetPoints):
            return True
    return False
