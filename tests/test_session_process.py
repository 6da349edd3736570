"""The training child process: it never outlives the GUI, even when the GUI is killed."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from engine_data import circle
from nnviz.session import messages as m
from nnviz.session.child import _coalesce
from nnviz.session.core import TrainingSession

PARENT = textwrap.dedent("""
    import sys, time
    from PySide6.QtCore import QCoreApplication
    from nnviz.ui.session_client import ProcessSessionClient
    from nnviz.session import messages as m
    if __name__ == "__main__":
        app = QCoreApplication([])
        client = ProcessSessionClient()
        client.start()
        client.send(m.Play())   # busy: the child is inside its training loop when we die
        print(client.pid, flush=True)
        time.sleep(60)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:   # a zombie counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and SIGKILL")
def test_child_exits_when_the_gui_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the training process outlived the GUI"


def test_bursts_of_edits_are_coalesced_in_order():
    p1, p2 = circle(n=10), circle(n=12)
    cmds = [m.SetPoints(p1, 1), m.Play(), m.SetPoints(p2, 2), m.Step(1)]
    out = _coalesce(cmds)
    assert [type(c) for c in out] == [m.Play, m.SetPoints, m.Step] and out[1].version == 2


def test_session_sends_every_row_once_and_respects_speed_cap():
    now = [0.0]
    s = TrainingSession(clock=lambda: now[0])
    s.handle(m.SetPoints(circle(), 1))
    s.handle(m.SetSpeed(100))
    s.handle(m.Play())
    seen = []
    for _ in range(20):
        now[0] += 0.05            # 50 ms of wall time: the cap allows 5 epochs
        s.work(budget=1.0)
        snap = s.snapshot()
        seen.extend(snap.rows["epoch"].tolist())
    assert seen == list(range(1, len(seen) + 1))      # no row lost or repeated
    assert 95 <= s.trainer.epoch <= 101               # 100 epochs/s for 1 s
    s.handle(m.Reset())
    snap = s.snapshot()
    assert snap.generation == 1 and snap.epoch == 0 and len(snap.rows["epoch"]) == 0


def test_session_reports_bad_input_instead_of_dying():
    s = TrainingSession()
    pts = circle()
    from nnviz.data.points import PointSet
    s.handle(m.SetPoints(PointSet(pts.xy, pts.xy[:, 0], pts.role)))   # real values for a classifier
    errors = s.take_outbox()
    assert errors and isinstance(errors[0], m.SessionError) and "class labels" in errors[0].message
    s.handle(m.SetPoints(pts))
    s.handle(m.Step(3))
    s.work(1.0)
    assert s.trainer.epoch == 3


def test_a_stop_always_reaches_the_gui_even_with_a_speed_cap():
    from nnviz.engine import ExperimentConfig
    now = [0.0]
    s = TrainingSession(clock=lambda: now[0])
    c = ExperimentConfig()
    c.early_stopping.enabled, c.early_stopping.patience = True, 1
    c.optimizer.learning_rate = 5.0            # bounces: the test loss stops improving within a few epochs
    s.handle(m.SetExperiment(c, circle(), 1))
    s.handle(m.SetSpeed(5))
    s.handle(m.Play())
    for _ in range(400):
        now[0] += 0.2                          # one epoch allowed per chunk
        s.work(1.0)
        if s.dirty:
            snap = s.snapshot()
            if snap.stop_kind:
                break
    assert snap.stop_kind == "early_stopping" and not snap.playing
    assert snap.epoch == s.trainer.epoch


def test_speed_cap_holds_after_an_architecture_change():
    from nnviz.engine import ExperimentConfig
    now = [0.0]
    s = TrainingSession(clock=lambda: now[0])
    s.handle(m.SetPoints(circle(), 1))
    s.handle(m.SetSpeed(2))
    s.handle(m.Play())
    for _ in range(50):
        now[0] += 1.0
        s.work(1.0)
    c = ExperimentConfig()
    c.architecture.hidden_layers = [3]
    s.handle(m.SetConfig(c))                   # rebuild: epochs restart at 0
    now[0] += 0.01
    s.work(1.0)
    assert s.trainer.epoch <= 1 and s.epochs_per_second() >= 0


def test_classification_settings_wait_for_suitable_points():
    from nnviz.data.points import PointSet
    from nnviz.engine import ExperimentConfig
    pts = circle()
    values = PointSet(pts.xy, pts.xy[:, 0] / 5, pts.role)
    s = TrainingSession()
    reg = ExperimentConfig(problem="regression")
    s.handle(m.SetExperiment(reg, values, 1))
    s.handle(m.SetConfig(ExperimentConfig()))            # back to classification: points do not suit
    errors = s.take_outbox()
    assert errors and "Regenerate" in errors[0].message
    assert s.trainer.config.problem == "regression" and s.trainer.head == "regression"   # consistent
    s.handle(m.SetPoints(pts, 2))                        # class points arrive: the waiting settings apply
    assert s.trainer.config.problem == "classification" and s.trainer.head == "binary"
    assert not s.take_outbox()


def test_points_are_classified_only_while_mistakes_are_shown():
    s = TrainingSession()
    s.handle(m.SetPoints(circle(), 1))
    s.handle(m.SetView((-6, 6, -6, 6), 20, 20, predictions=False))
    assert s.snapshot().predictions is None
    s.handle(m.SetView((-6, 6, -6, 6), 20, 20, predictions=True))
    assert len(s.snapshot().predictions) == len(circle())


def _regression_lesson():
    from nnviz.presets import get_preset
    return get_preset("regression").build()


def test_rejected_points_are_never_dropped_while_later_settings_apply():
    """Issue 11 item 1: the child must not keep training on 500 points while the window shows 501."""
    import numpy as np
    from nnviz.data.points import PointSet
    exp = _regression_lesson()
    s = TrainingSession()
    s.handle(m.SetExperiment(exp.config, exp.points, 1))
    assert s.snapshot().in_sync and s.snapshot().sync_message == ""
    cls = exp.config.copy()
    cls.problem = "classification"
    s.handle(m.SetConfig(cls))                                   # real values do not suit a classifier
    assert s.take_outbox()
    snap = s.snapshot()
    assert not snap.in_sync and snap.sync_message and snap.points_version == 1
    more = PointSet(np.vstack([exp.points.xy, [[0.5, 0.5]]]), np.append(exp.points.target, 0.25),
                    np.append(exp.points.role, 0))
    s.handle(m.SetPoints(more, 2))                               # rejected with the waiting settings
    s.take_outbox()
    assert not s.snapshot().in_sync and s.snapshot().points_version == 1
    deeper = cls.copy()
    deeper.architecture.hidden_layers = list(cls.architecture.hidden_layers) + [4]
    s.handle(m.SetConfig(deeper))                                # + Layer: still classification
    s.take_outbox()
    assert not s.snapshot().in_sync
    back = deeper.copy()
    back.problem = "regression"
    s.handle(m.SetConfig(back))                                  # settings and waiting points suit again
    assert not [e for e in s.take_outbox() if isinstance(e, m.SessionError)]
    snap = s.snapshot()
    assert snap.in_sync and snap.sync_message == "" and snap.points_version == 2
    assert s.trainer.points == more and len(s.trainer.points) == len(exp.points) + 1
    assert s.trainer.config.to_dict() == back.to_dict()
    s.handle(m.RequestState(7))
    reply = s.take_outbox()[-1]
    assert reply.points == more and reply.points_version == 2 and reply.in_sync and reply.sync_message == ""


def test_out_of_sync_session_does_not_train_and_says_why():
    exp = _regression_lesson()
    s = TrainingSession()
    s.handle(m.SetExperiment(exp.config, exp.points, 1))
    cls = exp.config.copy()
    cls.problem = "classification"
    s.handle(m.SetConfig(cls))
    s.take_outbox()
    s.handle(m.Step(3))
    s.handle(m.Play())
    s.work(0.05)
    assert s.trainer.epoch == 0 and not s.snapshot().playing
    errors = [e for e in s.take_outbox() if isinstance(e, m.SessionError)]
    assert errors and "training waits" in errors[-1].message
    s.handle(m.RequestState(3))
    reply = s.take_outbox()[-1]
    assert not reply.in_sync and reply.sync_message and reply.points_version == 1


def test_rejected_points_apply_when_later_settings_suit_them():
    from nnviz.data.points import PointSet
    from nnviz.engine import ExperimentConfig
    pts = circle()
    values = PointSet(pts.xy, pts.xy[:, 0] / 5, pts.role)
    s = TrainingSession()
    s.handle(m.SetExperiment(ExperimentConfig(), pts, 1))      # classification
    s.handle(m.SetPoints(values, 2))                            # real values: rejected, kept waiting
    assert s.take_outbox() and not s.snapshot().in_sync and s.trainer.points == pts
    s.handle(m.SetConfig(ExperimentConfig(problem="regression")))
    assert s.snapshot().in_sync and s.snapshot().points_version == 2 and s.trainer.points == values


def test_state_requests_return_at_once_and_a_cancelled_reply_is_dropped(qapp):
    import gc
    import weakref
    import numpy as np
    from nnviz.ui.session_client import InProcessSessionClient
    client = InProcessSessionClient()
    client.send(m.SetPoints(circle(), 4))
    client.pump(epochs=3)
    got = []
    client.state_received.connect(got.append)
    token = client.request_state()
    assert isinstance(token, int) and [r.token for r in got] == [token]
    reply = got.pop()
    assert reply.epoch == 3 and reply.points_version == 4 and reply.points == circle() and reply.in_sync
    assert isinstance(reply.history["train_loss"], np.ndarray) and reply.history["grad_norm"].shape == (3, reply.history["n_layers"])
    assert not client.pending_states
    # a reply that comes after its request was cancelled (or for a token never asked) is dropped, not kept
    late = m.StateReply(99_999, reply.config, reply.weights, reply.epoch, reply.history)
    client._outstanding.add(late.token)
    client.cancel_state(late.token)
    ref = weakref.ref(late)
    client._dispatch(late)
    client._dispatch(m.StateReply(12_345, reply.config, [], 0))
    del late
    gc.collect()
    assert ref() is None and not got and not client.pending_states
    # the blocking form (tests, command line) still answers
    assert client.request_state_blocking().epoch == 3 and not got


def test_a_real_child_answers_state_requests_asynchronously(qapp, qtbot):
    import numpy as np
    from nnviz.engine.history import History
    from nnviz.ui.session_client import ProcessSessionClient
    client = ProcessSessionClient()
    client.start()
    try:
        epochs = []
        client.snapshot.connect(lambda snap: (epochs.append(snap.epoch), client.ack()))
        client.send(m.SetPoints(circle(), 2))
        client.send(m.Step(5))
        qtbot.waitUntil(lambda: bool(epochs) and epochs[-1] == 5, timeout=20_000)
        cancelled = client.request_state()
        client.cancel_state(cancelled)
        with qtbot.waitSignal(client.state_received, timeout=20_000) as blocker:
            token = client.request_state()
        reply = blocker.args[0]
        assert reply.token == token != cancelled and reply.epoch == 5 and reply.points_version == 2
        h = History.from_arrays(reply.history)
        assert len(h) == 5 and np.all(h["epoch"] == np.arange(1, 6))
        assert not client.pending_states
        assert client.request_state_blocking(timeout=20).epoch == 5
    finally:
        client.shutdown()


def test_many_metric_rows_cross_the_pipe_as_raw_columns(monkeypatch):
    """A long history travels as raw column bytes (no big unpickling step in the GUI) and arrives whole."""
    import multiprocessing as mp
    import numpy as np
    from nnviz.session import child
    monkeypatch.setattr(child, "BIG_ROWS", 2)
    s = TrainingSession()
    s.handle(m.SetPoints(circle(), 1))
    s.handle(m.Step(5))
    s.work(10.0)
    s.handle(m.RequestState(9))
    reply = s.take_outbox()[-1]
    snap = s.snapshot()
    a, b = mp.Pipe()
    try:
        child.send(a, reply)
        header = b.recv()
        assert isinstance(header, m.HistoryColumns) and header.field == "history"
        for _ in header.columns:
            b.recv_bytes()
        assert b.recv().history is None
        child.send(a, reply)
        child.send(a, snap)
        child.send(a, m.SessionError("after"))
        got_reply, got_snap, after = child.receive(b), child.receive(b), child.receive(b)
    finally:
        a.close()
        b.close()
    assert got_reply.token == 9 and after.message == "after"
    assert got_reply.history.keys() == reply.history.keys() and got_reply.history["n_layers"] == reply.history["n_layers"]
    for k in reply.history:
        assert np.array_equal(got_reply.history[k], reply.history[k], equal_nan=True)
    assert got_snap.epoch == 5 and got_snap.rows.keys() == snap.rows.keys()
    assert all(np.array_equal(got_snap.rows[k], snap.rows[k], equal_nan=True) for k in snap.rows)
