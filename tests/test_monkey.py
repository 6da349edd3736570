"""The monkey in the normal suite: seeded random user actions on the real window with its real child
process, invariant checks every few actions (see tests/monkey.py; long runs: README, testing)."""
import os

from PySide6.QtCore import QTimer

from monkey import Monkey
from monkey import wait_until as monkey_wait_until

SEED = int(os.environ.get("NNVIZ_MONKEY_TEST_SEED", "11"))
ACTIONS = int(os.environ.get("NNVIZ_MONKEY_TEST_ACTIONS", "250"))


def run(tmp_path, seed, actions=0, replay=None, **kwargs):
    monkey = Monkey(seed, str(tmp_path), hang_seconds=90, **kwargs)
    return monkey.run(actions, replay=replay)


def test_a_short_seeded_monkey_run_finds_nothing(qapp, tmp_path):
    result = run(tmp_path, SEED, ACTIONS, check_every=25)
    assert result.actions == ACTIONS and result.checks >= ACTIONS // 25
    assert result.ok, f"monkey seed {SEED} (replay: python -m tests.monkey --seeds {SEED} --actions {ACTIONS}):\n" \
        + result.describe()


# Issue 11 item 1, as the monkey first found it: the Regression lesson, Problem set to Classification, a
# point added (the child refuses the points), + Layer, Save, Problem back to Regression. The child must then
# train on the window's 501 points, or the window must say plainly that it does not.
ITEM_1 = [
    [0, "open_lesson", {"title": "Regression: a bumpy surface"}],
    [1, "control", {"name": "problem", "op": "index", "value": 0}],
    [2, "tool", {"name": "tool.add"}],
    [3, "click", {"x": 0.5, "y": 0.5, "button": "left", "shift": False}],
    [4, "control", {"name": "architecture.hidden_layers.add", "op": "click"}],
    [5, "check", {"round_trip": True}],
    [6, "control", {"name": "problem", "op": "index", "value": 1}],
    [7, "check", {"round_trip": True}],
    [8, "play", {}],
    [9, "wait_frames", {"n": 3}],
    [10, "check", {"round_trip": True, "reopen": True}],
]


def test_item_1_the_child_trains_on_what_the_window_shows_or_the_window_says_not(qapp, tmp_path):
    result = run(tmp_path, 1, replay=ITEM_1, check_every=1000)
    assert not [f for f in result.failures if f.kind in ("invariant", "exception")], result.describe()


# Found by the monkey (seed 2, action 21): erasing the only point of a class made pyqtgraph warn
# "All-NaN slice encountered" (the canvas hid erased points as NaN). Every warning is a failure.
ERASE_LAST_POINT_OF_A_CLASS = [
    [0, "class_button", {"name": "class.3"}],
    [1, "click", {"x": 0.5, "y": 0.5, "button": "left", "shift": False}],
    [2, "stroke", {"tool": "erase", "path": [[0.0, 0.5], [0.5, 0.5], [1.0, 0.5]]}],
]


def test_erasing_the_last_point_of_a_class_warns_nothing(qapp, tmp_path):
    result = run(tmp_path, 2, replay=ERASE_LAST_POINT_OF_A_CLASS, check_every=1000)
    assert result.ok, result.describe()


# Found by the monkey (seed 1, ~action 105): a run that diverges with an L2 penalty records penalty = inf;
# saving it raised in the window's state slot and the save never ended, so the next Open/New/Quit hung
# (fixed in 5073079 and 6bc429c).
SAVE_AFTER_DIVERGENCE = [
    [0, "open_lesson", {"title": "Circle (Playground default)"}],
    [1, "control", {"name": "optimizer.name", "op": "index", "value": 0}],
    [2, "control", {"name": "architecture.activation", "op": "index", "value": 1}],
    [3, "control", {"name": "optimizer.learning_rate", "op": "value", "value": 1.5}],
    [4, "control", {"name": "regularization.l2", "op": "value", "value": 10.0}],
    [5, "play", {}],
    [6, "wait_frames", {"n": 5}],
    [7, "check", {"round_trip": True}],
    [8, "open_lesson", {"title": "Spiral (deep network)"}],
]


def test_saving_after_a_divergence_with_a_penalty_ends_and_nothing_hangs(qapp, tmp_path):
    result = Monkey(1, str(tmp_path), hang_seconds=30, check_every=1000).run(0, replay=SAVE_AFTER_DIVERGENCE)
    assert result.ok, result.describe()


# Found by the monkey (seed 1, actions 4299 and 8724): playing at a capped speed, new weights (or an undo
# that changes the architecture) start a new run at epoch 0; the check began while the window still showed
# the old run's last frame (epoch ~400) and waited for an epoch above it: at 5-20 epochs/s that takes far
# more than the 10 s allowed, so a healthy run was reported as stalled. Here the window is held slow (its
# Acks withheld, so the child keeps the new run's first frame) until the check has started.
class _SlowWindowMonkey(Monkey):
    def do_play_until(self, epoch):
        self.w.act_play.trigger()
        assert monkey_wait_until(lambda: self.w.last_snapshot.epoch > epoch, 30, self.w.frame_drawn)

    def do_hold_acks(self):
        client = self.w.client
        client.ack = lambda: None          # the frame drawn next is not acknowledged: the child waits
        self.do_wait_frames(1)

    def do_release_acks_later(self, ms):
        client = self.w.client

        def release():
            del client.ack                 # the class's own ack again
            client.ack()
        QTimer.singleShot(ms, release)


NEW_RUN_WHILE_PLAYING = [
    [0, "play_until", {"epoch": 30}],
    [1, "speed", {"index": 1}],            # 1 epoch/s: the new run would need > 30 s to pass the old epoch
    [2, "hold_acks", {}],
    [3, "new_weights", {}],
    [4, "release_acks_later", {"ms": 500}],
    [5, "check", {"round_trip": False}],
]


def test_a_new_run_while_playing_is_not_taken_for_a_stall(qapp, tmp_path):
    monkey = _SlowWindowMonkey(1, str(tmp_path), hang_seconds=60, check_every=1000)
    result = monkey.run(0, replay=NEW_RUN_WHILE_PLAYING)
    assert result.ok, result.describe()


# Found by the monkey (seed 2 action 2349, seed 3 actions 3024, 4749, 8999): Restart, then Step (and any
# edits) before the new process has started: the check took the old process's last frame (its transport_seq
# >= the window's, renumbered from 0) for the answer to the Step, asked for the state while the Step was
# still to run, and saw "epoch: child 0, window frame 1 (paused)".
RESTART_THEN_STEP = [
    [0, "restart", {}],
    [1, "step", {}],
    [2, "check", {"round_trip": False}],
]


def test_a_step_just_after_a_restart_is_waited_for(qapp, tmp_path):
    result = run(tmp_path, 1, replay=RESTART_THEN_STEP, check_every=1000)
    assert result.ok, result.describe()
