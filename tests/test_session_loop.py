"""The one session loop (nnviz.session.loop) on its own: a fake session, a fake clock, a fake connection."""
from __future__ import annotations

import os
from types import SimpleNamespace

from engine_data import circle
from nnviz.engine.config import ExperimentConfig
from nnviz.session import child
from nnviz.session import messages as m
from nnviz.session.loop import SNAPSHOT_SHARE, SessionLoop, coalesce


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


class FakeSession:
    """What the loop needs of a TrainingSession: handle, take_outbox, work, busy, dirty, snapshot."""

    def __init__(self, clock, snapshot_cost=0.0):
        self.clock = clock
        self.handled = []
        self.outbox = []
        self.dirty = True
        self.playing = False
        self.snapshot_cost = snapshot_cost
        self.interrupt_polls = []   # what interrupt() answered during work
        self.long_epoch_polls = 0   # work() polls interrupt this many times (a long epoch)

    @property
    def busy(self):
        return self.playing

    def handle(self, cmd):
        self.handled.append(cmd)
        if isinstance(cmd, m.Play):
            self.playing = True
        elif isinstance(cmd, m.Pause):
            self.playing = False
        elif isinstance(cmd, m.RequestState):
            self.outbox.append(("reply", cmd.token))
        self.dirty = True

    def take_outbox(self):
        out, self.outbox = self.outbox, []
        return out

    def work(self, budget, interrupt=None):
        if not self.playing:
            return 0
        for _ in range(self.long_epoch_polls):
            self.clock.t += 0.02
            if interrupt is not None:
                answer = interrupt()
                self.interrupt_polls.append(answer)
                if answer:
                    return 0
        self.clock.t += budget
        self.dirty = True
        return 1

    def snapshot(self):
        self.clock.t += self.snapshot_cost
        self.dirty = False
        return SimpleNamespace(playing=self.playing)


def make(max_fps=40.0, snapshot_cost=0.0, **kw):
    clock = Clock()
    session = FakeSession(clock, snapshot_cost)
    out = []
    loop = SessionLoop(session, out.append, clock=clock, max_fps=max_fps, **kw)
    return loop, session, clock, out


def frames(out):
    return [x for x in out if isinstance(x, SimpleNamespace)]


def test_no_second_frame_before_the_ack():
    loop, s, clock, out = make()
    assert loop.offer() and len(out) == 1
    s.dirty = True
    clock.t += 10
    assert not loop.offer()                      # not acknowledged
    loop.put(m.Ack())
    assert loop.offer() and len(out) == 2
    assert m.Ack() not in loop.pending          # an Ack is taken at once, never queued


def test_frames_while_playing_are_paced_by_the_clock():
    loop, s, clock, out = make(max_fps=10.0)
    loop.put(m.Play())
    loop.handle_pending()
    assert loop.offer()
    loop.put(m.Ack())
    s.dirty = True
    clock.t += 0.05
    assert not loop.offer()                      # 0.05 s < 1/10 s: not due while training
    clock.t += 0.06
    assert loop.offer()


def test_a_dear_snapshot_makes_frames_come_less_often_while_playing():
    loop, s, clock, out = make(max_fps=40.0, snapshot_cost=0.05)
    loop.put(m.Play())
    loop.handle_pending()
    assert loop.offer()
    assert abs(loop.interval - 0.05 / SNAPSHOT_SHARE) < 1e-9
    loop.put(m.Ack())
    s.dirty = True
    clock.t += 0.1
    assert not loop.offer()                      # 0.15 s since the last, 0.2 s due
    clock.t += 0.11
    assert loop.offer()


def test_when_not_training_a_change_shows_at_once():
    loop, s, clock, out = make(max_fps=1.0)
    assert loop.offer()
    loop.put(m.Ack())
    s.dirty = True                               # an edit while paused
    assert loop.offer()                          # no wait for the interval


def test_unpaced_loop_delivers_whenever_ready():
    loop, s, clock, out = make(max_fps=None)
    loop.put(m.Play())
    loop.handle_pending()
    for _ in range(3):
        assert loop.offer()
        loop.put(m.Ack())
        s.dirty = True


def test_commands_are_coalesced_handled_and_their_replies_delivered():
    loop, s, clock, out = make()
    pts = circle(n=10)
    for cmd in (m.SetPoints(pts, 1), m.SetPoints(pts, 2), m.RequestState(7), m.SetView((0, 1, 0, 1)),
                m.SetView((0, 2, 0, 2))):
        loop.put(cmd)
    assert loop.handle_pending()
    assert [type(c).__name__ for c in s.handled] == ["SetPoints", "RequestState", "SetView"]
    assert s.handled[0].version == 2 and s.handled[2].extent == (0, 2, 0, 2)
    assert out == [("reply", 7)]


def test_coalesce_keeps_points_sent_before_a_settings_change():
    pts = circle(n=10)
    cmds = [m.SetPoints(pts, 1), m.SetConfig(ExperimentConfig()), m.SetPoints(pts, 2), m.SetPoints(pts, 3)]
    assert [getattr(c, "version", None) for c in coalesce(cmds)] == [1, None, 3]


def test_shutdown_ends_the_loop():
    loop, s, clock, out = make()
    loop.put(m.Shutdown())
    loop.put(m.Play())
    assert not loop.turn() and loop.closed and s.handled == []


def test_a_command_interrupts_a_long_epoch_and_frames_come_mid_epoch():
    arrivals = {3: m.Pause()}   # the 3rd poll finds a Pause on the transport
    polls = [0]

    def poll():
        polls[0] += 1
        if polls[0] in arrivals:
            loop.put(arrivals[polls[0]])

    loop, s, clock, out = make(max_fps=100.0, poll=poll)
    loop.put(m.Play())
    loop.handle_pending()
    loop.offer()
    loop.put(m.Ack())
    s.long_epoch_polls = 5
    assert loop.turn()
    assert s.interrupt_polls == [False, False, True]   # cut short by the command
    assert len(frames(out)) == 2                        # a frame was delivered mid-epoch (then no Ack)
    assert loop.turn() and isinstance(s.handled[-1], m.Pause)


def test_without_mid_epoch_the_loop_neither_interrupts_nor_shows_half_epochs():
    loop, s, clock, out = make(max_fps=None, mid_epoch=False)
    loop.put(m.Play())
    loop.handle_pending()
    s.long_epoch_polls = 3
    loop.turn()
    assert s.interrupt_polls == [] and len(frames(out)) == 1


class FakeConn:
    """The GUI's end of the pipe in-process: scripted commands, every snapshot acknowledged until one
    shows ``epochs`` epochs, then Shutdown."""

    def __init__(self, commands, epochs):
        self.inbox = list(commands)
        self.sent = []
        self.epochs = epochs

    def poll(self, timeout=0.0):
        return bool(self.inbox)

    def recv(self):
        return self.inbox.pop(0)

    def send(self, msg):
        self.sent.append(msg)
        if isinstance(msg, m.Snapshot):
            self.inbox.append(m.Shutdown() if msg.epoch >= self.epochs else m.Ack())

    def send_bytes(self, data):
        raise AssertionError("no big tables here")


def test_the_child_serves_through_the_loop():
    conn = FakeConn([m.SetPoints(circle(n=100), 1), m.Step(3), m.RequestState(5)], epochs=3)
    child.serve(conn, os.getppid())              # returns on the Shutdown
    replies = [x for x in conn.sent if isinstance(x, m.StateReply)]
    snaps = [x for x in conn.sent if isinstance(x, m.Snapshot)]
    assert [r.token for r in replies] == [5] and snaps
    assert snaps[-1].epoch == 3 and snaps[-1].points_version == 1
    assert sum(len(s.rows["epoch"]) for s in snaps) == 3   # every metric row once
