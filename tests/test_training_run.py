"""TrainingRun on its own (no window): an in-process session plays, pauses, steps, answers state requests
and restarts."""
from __future__ import annotations

import pytest

from engine_data import circle
from nnviz.engine.config import ExperimentConfig
from nnviz.session import messages as m
from nnviz.ui.session_client import InProcessSessionClient
from nnviz.ui.training_run import TrainingRun


@pytest.fixture
def run(qapp):
    r = TrainingRun(InProcessSessionClient())
    r.send(m.SetConfig(ExperimentConfig()))
    r.send(m.SetPoints(circle(n=60), 1))
    r.send(m.SetView((-6, 6, -6, 6), 16, 16))
    yield r
    r.shutdown()


def frames_of(run):
    got = []
    run.frame.connect(lambda snap, restarted: got.append((snap, restarted)))
    return got


def test_play_pause_and_the_history_copy(run):
    frames = frames_of(run)
    playing = []
    run.playing_changed.connect(playing.append)
    run.play()
    assert run.playing and playing[-1] is True and run.transport_seq == 1
    for _ in range(5):
        run.client.pump(2)
    assert frames and frames[0][1]                       # the first frame starts the history copy
    epoch = run.last_snapshot.epoch
    assert epoch >= 2 and len(run.history) == epoch     # every row once, none twice
    run.pause()
    assert not run.playing and run.transport_seq == 2
    run.client.pump(0)
    assert not run.last_snapshot.playing and not run.playing


def test_a_frame_older_than_the_last_transport_command_does_not_change_playing(run):
    run.client.pump(0)
    run.play()
    run.client.session.transport_seq = 0   # as if this frame was made before the Play arrived
    run.client.session.dirty = True
    run.client.session.playing = False
    run.client.pump(0)
    assert run.last_snapshot.transport_seq == 0 and run.playing


def test_step_counts_epochs_and_pauses(run):
    run.step(3)
    run.client.pump(0)
    assert run.last_snapshot.epoch == 3 and len(run.history) == 3 and not run.playing


def test_state_requests_come_back_with_their_token(run):
    got = []
    run.state_received.connect(got.append)
    run.step(2)
    run.client.pump(0)
    token = run.request_state()
    assert [r.token for r in got] == [token] and got[0].epoch == 2 and got[0].points_version == 1
    t2 = run.request_state()
    assert t2 != token


def test_a_restart_starts_a_new_session_and_a_new_history(run):
    run.step(4)
    run.client.pump(0)
    old = run.client
    frames = frames_of(run)
    run.restart()
    assert run.client is not old and isinstance(run.client, InProcessSessionClient)
    # numbering goes on (a stale frame of the old process must not answer for the new one), paused
    assert run.transport_seq > 1 and run.generation == -1 and not run.playing
    run.send(m.SetPoints(circle(n=60), 1))
    run.client.pump(0)
    assert frames and frames[-1][1] and run.last_snapshot.epoch == 0 and len(run.history) == 0
    old.session.dirty = True
    old.pump(0)                                         # the old session's frames no longer reach the run
    assert run.last_snapshot.epoch == 0


def test_trained_seconds_count_playing_time_and_restart_with_the_run(run):
    now = [0.0]
    run.clock = lambda: now[0]
    run.play()
    for _ in range(4):
        now[0] += 0.5
        run.client.pump(1)
    assert run.trained_seconds == pytest.approx(1.5)    # from frame to frame while playing
    run.pause()
    run.send(m.Reset(False))
    run.client.pump(0)
    assert run.trained_seconds == 0.0                   # a new generation: the training at stake is gone


def test_sync_changes_are_emitted_once(run):
    changes = []
    run.sync_changed.connect(lambda ok, why: changes.append((ok, why)))
    cfg = ExperimentConfig()
    cfg.problem = "regression"
    run.send(m.SetConfig(cfg))                          # circle's classes do not suit regression
    run.client.pump(0)
    run.client.session.dirty = True
    run.client.pump(0)
    assert len(changes) <= 1 and run.in_sync == (not changes or changes[-1][0])


def test_an_error_stops_playing(run):
    errors = []
    run.error.connect(lambda msg, detail: errors.append(msg))
    run.play()
    run.client.error.emit("boom", "")
    assert errors == ["boom"] and not run.playing


def test_frames_while_playing_are_acknowledged_at_a_bounded_rate(run, qtbot):
    """min_frame_interval (compare mode shares the GUI between runs): a playing frame's Ack waits until the
    interval has passed since the last one, so the session sends no new frame meanwhile; a still is acked
    at once."""
    frames = frames_of(run)
    run.min_frame_interval = 0.2
    run.play()
    run.client.pump(1)
    assert len(frames) == 1              # the first frame: acked at once (no Ack before it)
    run.client.pump(1)
    assert len(frames) == 2              # its Ack waits: 0.2 s have not passed since the first one
    run.client.pump(1)
    assert len(frames) == 2              # so the session holds the next frame back
    qtbot.waitUntil(lambda: not run._ack_timer.isActive(), timeout=2000)
    run.client.pump(1)
    assert len(frames) == 3
    run.pause()
    run.client.pump(0)
    assert not run.last_snapshot.playing and not run._ack_timer.isActive()   # a still: acked at once
