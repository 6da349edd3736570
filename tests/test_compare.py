"""Compare mode's runs (nnviz.ui.compare.CompareGroup): one session per run, settings and points reach every
run (each keeping its own change), the transport acts on all, lock-step keeps them at one epoch, the
comparison saves its runs' weights and histories, and every extra child process ends with the group."""
from __future__ import annotations

import numpy as np
import pytest

from engine_data import circle
from nnviz.engine.config import ExperimentConfig
from nnviz.session import messages as m
from nnviz.ui.compare import RUN_COLOURS, CompareGroup
from nnviz.ui.document import Document, Variant
from nnviz.ui.session_client import InProcessSessionClient, ProcessSessionClient
from nnviz.ui.training_run import TrainingRun

VIEW = m.SetView((-6, 6, -6, 6), 16, 16)


def make_document(hidden=(4,), points=None) -> Document:
    doc = Document()
    config = ExperimentConfig()
    config.architecture.hidden_layers = list(hidden)
    doc.config_model.set_config(config, undo_text=None)
    doc.points_model.replace_all(points if points is not None else circle(n=60), "points")
    return doc


def start_primary(doc, client) -> TrainingRun:
    """Run A as the window runs it: the document's settings and points, sent again on every change."""
    run = TrainingRun(client)
    run.send(m.SetConfig(doc.config))
    run.send(m.SetPoints(doc.points, doc.points_version))
    doc.config_model.changed.connect(lambda config, _reset: run.send(m.SetConfig(config)))
    doc.points_model.changed.connect(lambda points: run.send(m.SetPoints(points, doc.points_version)))
    return run


@pytest.fixture
def make_group(qapp):
    made = []

    def make(variants, hidden=(4,), points=None):
        doc = make_document(hidden, points)
        primary = start_primary(doc, InProcessSessionClient())
        group = CompareGroup(doc, primary, InProcessSessionClient)
        group.send_all(VIEW)
        doc.set_comparison([Variant(label, changes) for label, changes in variants])
        made.append(group)
        return doc, group

    yield make
    for group in made:
        group.shutdown()
        group.primary.shutdown()


def pump(group, rounds=1, epochs=None):
    for _ in range(rounds):
        for run in group.runs:
            run.client.pump(epochs)


def session(run):
    return run.client.session


TWO = [("A", {}), ("L2 0.03", {"regularization": {"l2": 0.03}})]
FOUR = [("A", {}), ("L2 0.03", {"regularization": {"l2": 0.03}}), ("ReLU", {"architecture": {"activation": "relu"}}),
        ("lr 0.3", {"optimizer": {"learning_rate": 0.3}})]


# -- the runs --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("variants", [TWO, FOUR], ids=["2 runs", "4 runs"])
def test_one_session_per_run_each_with_its_own_settings(make_group, variants):
    doc, group = make_group(variants)
    assert group.active and len(group.runs) == len(variants)
    assert group.labels == [label for label, _ in variants]
    assert group.colours == list(RUN_COLOURS[:len(variants)]) and len(set(group.colours)) == len(variants)
    clients = {id(run.client) for run in group.runs}
    assert len(clients) == len(variants)                       # each run its own session
    for i, run in enumerate(group.runs):
        assert session(run).trainer.config.to_dict() == doc.variant_config(i).to_dict()
        assert session(run).points_version == doc.points_version
        assert session(run).view == VIEW                    # the window's view reached every run


def test_a_single_run_group_is_just_run_a(make_group):
    doc, group = make_group([])
    assert not group.active and group.runs == [group.primary] and group.labels == [""]
    group.play()
    assert group.playing and group.primary.playing and group.limit is None   # no lock-step with one run


def test_runs_follow_the_comparison_kept_relabelled_added_and_removed(make_group):
    doc, group = make_group(FOUR)
    b, c, d = group.runs[1:]
    changed = []
    group.runs_changed.connect(lambda: changed.append(list(group.labels)))
    doc.set_comparison([Variant("A", {}), Variant("lr three tenths", FOUR[3][1]), Variant("L2 0.03", FOUR[1][1])])
    assert group.runs[1:] == [d, b]                             # kept (one relabelled), in the new order
    assert changed[-1] == ["A", "lr three tenths", "L2 0.03"]
    assert not c.alive or c.client._timer.isActive() is False   # dropped: its session was shut down
    doc.set_comparison([])
    assert group.runs == [group.primary] and not group.active and group.labels == [""]


def test_a_settings_change_reaches_every_run_and_each_keeps_its_own_change(make_group):
    doc, group = make_group(FOUR)
    doc.config_model.set_field("optimizer", "batch_size", 5)
    doc.config_model.set_field("regularization", "l1", 0.001)
    configs = [session(run).trainer.config for run in group.runs[1:]]
    assert all(c.optimizer.batch_size == 5 and c.regularization.l1 == 0.001 for c in configs)
    assert configs[0].regularization.l2 == 0.03                 # L2 run keeps its L2
    assert configs[1].architecture.activation == "relu"         # ReLU run keeps ReLU
    assert configs[2].optimizer.learning_rate == 0.3            # lr run keeps its rate
    # a change a variant overrides leaves that variant alone
    doc.config_model.set_field("optimizer", "learning_rate", 0.01)
    assert session(group.runs[3]).trainer.config.optimizer.learning_rate == 0.3
    assert session(group.runs[1]).trainer.config.optimizer.learning_rate == 0.01


def test_a_point_edit_reaches_every_run(make_group):
    doc, group = make_group(FOUR)
    doc.points_model.add_points([[0.5, 0.5], [1.0, -1.0]], 1, 0)
    doc.points_model.remove([0])
    for run in group.runs[1:]:
        assert session(run).points_version == doc.points_version
        assert session(run).trainer.points == doc.points
    pump(group, epochs=2)
    assert all(run.last_snapshot.points_version == doc.points_version for run in group.runs[1:])


def test_play_pause_step_reset_act_on_every_run(make_group):
    doc, group = make_group(FOUR)
    seen = []
    group.playing_changed.connect(seen.append)
    group.play()
    assert group.playing and all(run.playing for run in group.runs) and seen == [True]
    pump(group, rounds=3)
    assert all(run.last_snapshot.playing for run in group.runs)
    group.pause()
    assert not group.playing and not any(run.playing for run in group.runs) and seen == [True, False]
    pump(group)
    epochs = group.epochs()
    group.step()
    pump(group, epochs=0)
    assert group.epochs() == [max(epochs) + 1] * 4             # locked: the runs behind catch up, then one more
    group.set_locked(False)
    group.step(2)
    pump(group, epochs=0)
    assert group.epochs() == [max(epochs) + 3] * 4
    group.reset()
    pump(group, epochs=0)
    assert group.epochs() == [0] * 4 and all(len(run.history) == 0 for run in group.runs)


def test_new_runs_get_the_last_view_and_speed_and_play_if_the_others_do(make_group):
    doc, group = make_group(TWO)
    group.send_all(m.SetSpeed(20))
    group.play()
    doc.set_comparison([Variant(*v) for v in TWO] + [Variant("dropout", {"regularization": {"dropout": 0.3}})])
    new = group.runs[2]
    assert session(new).speed == 20 and session(new).view == VIEW and new.playing and session(new).playing
    assert session(new).epoch_limit == group.limit


# -- lock-step -------------------------------------------------------------------------------------------

LOCKSTEP = [("tiny", {}), ("big", {"architecture": {"hidden_layers": [128, 128, 128]}})]


def test_lock_step_keeps_runs_of_different_sizes_at_one_epoch(make_group):
    doc, group = make_group(LOCKSTEP, hidden=(2,), points=circle(n=100))
    assert group.locked
    group.play()
    waited = False
    for _ in range(25):
        pump(group)
        epochs = group.epochs()
        # no run is ever past the limit, which is the slowest run's epoch plus the quantum
        assert group.limit is not None and max(epochs) <= group.limit
        waited |= bool(group.runs[0].last_snapshot.waiting)
    tiny, big = group.epochs()
    assert waited, "the small network waited for the big one"
    assert big > 10 and tiny - big <= group.limit - big <= max(2 * group._quantum_now(), 0.25 * big)
    group.pause()
    pump(group)
    group.step()
    pump(group, epochs=0)
    assert group.epochs()[0] == group.epochs()[1]


def test_unlocked_runs_train_at_their_own_pace(make_group):
    doc, group = make_group(LOCKSTEP, hidden=(2,), points=circle(n=100))
    group.set_locked(False)
    group.play()
    for _ in range(20):
        pump(group)
    assert group.limit is None and all(session(run).epoch_limit is None for run in group.runs)
    tiny, big = group.epochs()
    assert tiny > 3 * big > 0
    group.set_locked(True)                                   # locking again holds the run that is ahead
    assert group.limit is not None and group.limit < tiny
    for _ in range(5):
        pump(group)
    assert group.runs[0].last_snapshot.waiting and group.epochs()[0] == tiny


def test_a_stopped_run_does_not_hold_the_others_back(make_group):
    doc, group = make_group([("A", {}), ("stops", {"early_stopping": {"enabled": True, "patience": 1,
                                                                        "monitor": "test_loss"}})],
                            points=circle(n=60, noise=0.4))
    group.play()
    for _ in range(200):
        pump(group)
        if not group.runs[1].playing:
            break
    assert not group.runs[1].playing and group.runs[1].last_snapshot.stop_kind == "early_stopping"
    before = group.epochs()[0]
    for _ in range(20):
        pump(group)
    assert group.epochs()[0] >= before + 20 and not group.runs[0].last_snapshot.waiting and group.playing


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_under_a_speed_cap_the_runs_keep_step_at_the_cap(make_group):
    """Lock-step must not disturb the cap: two runs at 20 epochs/s train 40 epochs in 2 s, at one epoch."""
    doc, group = make_group(TWO)
    clock = FakeClock()
    group.clock = clock
    for run in group.runs:
        session(run)._clock = clock
    group.send_all(m.SetSpeed(20))
    group.play()
    for _ in range(200):                  # 2 s, a frame every 10 ms
        clock.t += 0.01
        pump(group)
        a, b = group.epochs()
        assert abs(a - b) <= 1
    assert all(39 <= e <= 41 for e in group.epochs()), group.epochs()
    assert group.limit is None            # both keep up with the cap: it alone keeps them in step


def test_a_run_slower_than_the_cap_brings_the_limit_back(make_group):
    doc, group = make_group(LOCKSTEP, hidden=(2,), points=circle(n=100))
    group.send_all(m.SetSpeed(1000))      # the big network cannot train that fast
    group.play()
    for i in range(200):   # how soon the limit comes back depends on the machine's speed (and load)
        pump(group)
        assert group.limit is None or max(group.epochs()) <= group.limit
        if i >= 20 and group.limit is not None:
            break
    tiny, big = group.epochs()
    assert group.limit is not None and group.limit - big <= 100 and tiny <= group.limit


def test_a_settings_change_that_restarts_one_run_restarts_all(make_group):
    doc, group = make_group(TWO)
    group.set_locked(False)
    pump(group, epochs=5)
    assert group.epochs() == [5, 5]
    # the variant overrides the activation: only run A's weights would change; both start again
    doc.set_comparison([Variant("A", {}), Variant("relu", {"architecture": {"activation": "relu"}})])
    pump(group, epochs=3)
    doc.config_model.set_field("architecture", "activation", "sigmoid")
    pump(group, epochs=0)
    assert group.epochs() == [0, 0]


# -- saving ----------------------------------------------------------------------------------------------

def test_states_of_the_extra_runs_for_a_save(make_group):
    doc, group = make_group(FOUR)
    pump(group, epochs=4)
    entries = group.states_blocking(5)
    assert [e["label"] for e in entries] == ["L2 0.03", "ReLU", "lr 0.3"]
    assert [e["changes"] for e in entries] == [v for _, v in FOUR[1:]]
    for entry, run in zip(entries, group.runs[1:]):
        assert len(entry["history"]) == 4
        for (w, b), (w2, b2) in zip(entry["weights"], session(run).trainer.weights()):
            assert np.array_equal(w, w2) and np.array_equal(b, b2)
    # points edited after the state was taken would not match: weights of other points are never saved
    doc.points_model.add_points([[0.1, 0.2]], 0, 0)
    session(group.runs[1]).points_version = -5   # as if this run had not received the edit yet
    entries = group.states_blocking(5)
    assert entries[0]["weights"] is None and entries[1]["weights"] is not None


def test_load_states_gives_the_extra_runs_their_saved_training(make_group):
    doc, group = make_group(TWO)
    pump(group, epochs=6)
    saved = group.states_blocking(5)
    group.reset()
    pump(group, epochs=0)
    assert group.epochs()[1] == 0
    group.load_states([(e["weights"], e["history"]) for e in saved])
    pump(group, epochs=0)
    assert group.epochs()[1] == 6 and len(group.runs[1].history) == 6


# -- real child processes ----------------------------------------------------------------------------------

def _children():
    """Training processes of this test process (not multiprocessing's resource tracker)."""
    import psutil
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if "spawn_main" in " ".join(p.cmdline()) and p.status() != psutil.STATUS_ZOMBIE:
                out.add(p.pid)
        except psutil.Error:
            pass
    return out


def test_one_child_per_run_and_all_gone_after_shutdown(qapp):
    before = _children()
    doc = make_document()
    primary = start_primary(doc, ProcessSessionClient())
    group = CompareGroup(doc, primary, ProcessSessionClient)
    try:
        assert _children() - before == {primary.client.pid}
        doc.set_comparison([Variant(*v) for v in FOUR])
        pids = [run.client.pid for run in group.runs]
        assert len(set(pids)) == 4 and set(pids) <= _children() - before
        # a point edit reaches every child, each trains on the new version
        doc.points_model.add_points([[0.5, 0.5], [-2.0, 1.0]], 1, 0)
        for i, run in enumerate(group.runs[1:], 1):
            state = run.client.request_state_blocking(20)
            assert state.points_version == doc.points_version and state.points == doc.points
            assert state.config.to_dict() == doc.variant_config(i).to_dict()
        doc.set_comparison([Variant(*v) for v in TWO])      # two runs dropped: their children end
        assert all(p not in _children() for p in pids[2:])
        group.shutdown()
        assert group.runs == [primary] and primary.alive
        assert _children() - before == {primary.client.pid}     # only run A's (the window's) is left
    finally:
        group.shutdown()
        primary.shutdown()
    assert not (_children() - before)


def test_run_a_restarted_by_the_window_is_held_at_the_limit_again(make_group):
    doc, group = make_group(LOCKSTEP, hidden=(2,), points=circle(n=100))
    group.play()
    pump(group, rounds=3)
    assert session(group.primary).epoch_limit == group.limit is not None
    group.primary.restart()                     # the window's "Restart training": a new process, paused
    group.primary.send(m.SetConfig(doc.config))
    group.primary.send(m.SetPoints(doc.points, doc.points_version))
    pump(group)
    assert session(group.primary).epoch_limit == group.limit


def test_a_save_waiting_for_a_run_that_is_removed_still_finishes(make_group):
    doc, group = make_group(FOUR)
    silent = group.runs[2]
    silent.client.request_state = lambda: 424242      # this run never answers
    got = []
    group.request_states(got.append)
    assert not got                                      # waiting for run 2
    doc.set_comparison([Variant(*v) for v in FOUR[:2]])  # run 2 (and 3) removed
    assert len(got) == 1 and [e["label"] for e in got[0]] == ["L2 0.03", "ReLU", "lr 0.3"]
    assert got[0][0]["weights"] is not None and got[0][1]["weights"] is None


def test_runs_that_start_again_while_playing_locked_start_the_limit_again(make_group):
    doc, group = make_group(LOCKSTEP, hidden=(2,), points=circle(n=100))
    group.play()
    pump(group, rounds=15)
    for _ in range(200):   # until the limit is well past one quantum (how soon depends on the machine)
        if group.limit > 2 * group._quantum_now():
            break
        pump(group)
    assert group.limit > 2 * group._quantum_now()
    doc.config_model.set_field("architecture", "activation", "relu")   # new weights for every run
    assert all(session(run).epoch_limit == group.limit <= group._quantum_now() for run in group.runs)
    pump(group)
    assert max(group.epochs()) <= group.limit
    pump(group, rounds=5)
    group.reset()
    assert all(session(run).epoch_limit == group.limit <= group._quantum_now() for run in group.runs)
