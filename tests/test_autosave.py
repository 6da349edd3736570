"""Autosave and crash recovery (nnviz/ui/autosave.py): per-instance files, locks, pending recoveries of dead
instances, restore/discard, weights from the training session, and (once the window is wired) kill -9."""
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import QObject, Signal

from nnviz.errors import NnvizError
from nnviz.experiment import Experiment
from nnviz.presets import get_preset
from nnviz.session import messages as m
from nnviz.ui import autosave as A
from nnviz.ui.session_client import InProcessSessionClient


@pytest.fixture
def exp():
    return get_preset("circle").build()


class Doc:
    """What a window gives the autosaver: its experiment, whether it is modified, its window state."""

    def __init__(self, exp):
        self.exp, self.modified, self.epoch = exp, True, 0
        self.window = {"geometry": b"\x01\x02\x00\xff", "speed": 200, "discretize": True, "path": None}

    def autosaver(self, directory, **kw):
        return A.Autosaver(lambda: self.exp, lambda: self.modified, window_state=lambda: self.window,
                           epoch=lambda: self.epoch, directory=str(directory), **kw)


def _files(directory):
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


def test_writes_while_modified_and_a_clean_exit_removes_it(qtbot, tmp_path, exp):
    doc = Doc(exp)
    saver = doc.autosaver(tmp_path)
    saved = []
    saver.saved.connect(saved.append)
    saver.tick()
    assert saver.wait()
    assert saved == [saver.experiment_path]
    ident = saver.id
    assert ident.startswith(f"{os.getpid()}-")
    assert _files(tmp_path) == sorted([f"{ident}.json", f"{ident}.lock", f"{ident}.nnviz"])
    meta = json.loads((tmp_path / f"{ident}.json").read_text())
    assert meta["format"] == "nnviz-recovery" and meta["pid"] == os.getpid() and meta["weights"] is False
    assert meta["window"]["geometry"] == {"base64": "AQIA/w=="}
    saver.tick()                      # nothing changed: nothing written
    assert saver.wait() and len(saved) == 1
    doc.epoch = 5                     # training moved on: written again
    saver.tick()
    assert saver.wait() and len(saved) == 2
    assert pytest.approx(json.loads((tmp_path / f"{ident}.json").read_text())["saved_at"], abs=60) \
        == meta["saved_at"]
    saver.finish()
    assert _files(tmp_path) == []     # files and lock gone


def test_a_new_sweep_result_is_written_even_when_nothing_else_changed(qtbot, tmp_path, exp):
    doc = Doc(exp)
    saver = doc.autosaver(tmp_path)
    saved = []
    saver.saved.connect(saved.append)
    saver.tick()
    assert saver.wait() and len(saved) == 1
    rows = [{"value": 2, "seed": 0, "epochs": 5, "best_epoch": None, "train_loss": 0.5, "test_loss": 0.6,
             "train_error": 0.2, "test_error": 0.3, "seconds": 0.1}]
    doc.exp = Experiment(exp.config, exp.points, name=exp.name, description=exp.description,
                         sweep={"spec": {"param": "hidden_units", "values": [2], "seeds": 1, "epochs": 5,
                                         "metric": "error", "first_seed": 0},
                                "base_config": exp.config.to_dict(), "rows": rows})
    saver.tick()                      # the same points, settings and epoch; a sweep run came in
    assert saver.wait() and len(saved) == 2
    assert A.pending_recoveries(str(tmp_path)) == []          # (alive: not pending)
    from nnviz.experiment import load_experiment
    assert load_experiment(saver.experiment_path).sweep["rows"][0]["test_error"] == 0.3
    saver.finish()


def test_saving_the_document_removes_the_recovery_file(qtbot, tmp_path, exp):
    doc = Doc(exp)
    saver = doc.autosaver(tmp_path)
    saver.tick()
    assert saver.wait() and saver.has_file
    doc.modified = False              # the user saved
    saver.tick()
    assert saver.wait()
    assert [f for f in _files(tmp_path) if not f.endswith(".lock")] == []
    saver.finish()


def test_live_instances_are_not_pending_and_never_share_files(qtbot, tmp_path, exp):
    a, b = Doc(exp), Doc(exp)
    b.exp = Experiment(exp.config, exp.points, name="Other")
    sa, sb = a.autosaver(tmp_path), b.autosaver(tmp_path)
    assert sa.id != sb.id and sa.experiment_path != sb.experiment_path
    for s in (sa, sb):
        s.tick()
        assert s.wait()
    assert A.pending_recoveries(str(tmp_path)) == []    # both alive (their locks are held)
    names = {json.loads((tmp_path / f"{s.id}.json").read_text())["name"] for s in (sa, sb)}
    assert names == {exp.name, "Other"}
    sa.finish()
    sb.finish()


CRASHING_INSTANCE = textwrap.dedent("""
    import os, signal, sys
    from PySide6.QtCore import QCoreApplication
    app = QCoreApplication([])
    from nnviz.presets import get_preset
    from nnviz.ui.autosave import Autosaver
    from nnviz.ui.session_client import InProcessSessionClient
    from nnviz.session import messages as m
    exp = get_preset("circle").build()
    client = InProcessSessionClient()
    client.send(m.SetExperiment(exp.config, exp.points, 1))
    client.pump(7)
    saver = Autosaver(lambda: exp, lambda: True, window_state=lambda: {"speed": 60, "path": "/x/y.nnviz"},
                      epoch=lambda: 7, points_version=lambda: 1, directory=sys.argv[1])
    saver.set_client(client)
    saver.tick()
    assert saver.wait()
    print(saver.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


def _crash(directory):
    result = subprocess.run([sys.executable, "-c", CRASHING_INSTANCE, str(directory)], capture_output=True,
                            text=True, timeout=60, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert result.returncode == -signal.SIGKILL, result.stderr
    return result.stdout.strip()


def test_a_killed_instance_leaves_a_pending_recovery_to_restore_or_discard(qtbot, tmp_path, exp):
    ident = _crash(tmp_path)
    pending = A.pending_recoveries(str(tmp_path))
    assert [r.id for r in pending] == [ident]
    rec = pending[0]
    assert rec.epoch == 7 and rec.weights and rec.document == "/x/y.nnviz" and rec.window["speed"] == 60
    assert "y.nnviz, epoch 7, autosaved " in rec.describe()
    restored = A.restore_recovery(rec)
    assert restored.points == exp.points and restored.config.to_dict() == exp.config.to_dict()
    assert restored.weights is not None and int(restored.history.last("epoch")) == 7
    assert A.pending_recoveries(str(tmp_path)) == [rec]   # restoring alone keeps it (until adopted)

    # a new instance adopts it: the old files go once the new autosave is written
    doc = Doc(restored)
    saver = doc.autosaver(tmp_path)
    saver.adopt(rec)
    saver.tick()
    assert saver.wait()
    assert not os.path.exists(rec.meta_path) and not os.path.exists(rec.experiment_path)
    assert A.pending_recoveries(str(tmp_path)) == []
    saver.finish()

    rec2 = A.pending_recoveries(str(tmp_path)) or None
    assert rec2 is None
    ident2 = _crash(tmp_path)
    (rec2,) = A.pending_recoveries(str(tmp_path))
    assert rec2.id == ident2
    A.discard_recovery(rec2)
    assert _files(tmp_path) == []


def test_a_clean_exit_also_removes_an_adopted_recovery(qtbot, tmp_path, exp):
    _crash(tmp_path)
    (rec,) = A.pending_recoveries(str(tmp_path))
    saver = Doc(A.restore_recovery(rec)).autosaver(tmp_path)
    saver.adopt(rec)
    saver.finish()                    # closed (saved or discarded) before its first autosave
    assert _files(tmp_path) == []


def test_a_recovery_being_restored_elsewhere_cannot_be_claimed(qtbot, tmp_path):
    _crash(tmp_path)
    (rec,) = A.pending_recoveries(str(tmp_path))
    lock = A.claim(rec)               # another instance is restoring it
    try:
        assert A.pending_recoveries(str(tmp_path)) == []
        with pytest.raises(NnvizError, match="another nnviz window"):
            A.discard_recovery(rec)
    finally:
        lock.unlock()


def test_weights_come_from_the_session_only_for_the_same_points(qtbot, tmp_path, exp):
    client = InProcessSessionClient()
    client.send(m.SetExperiment(exp.config, exp.points, 3))
    client.pump(4)
    doc = Doc(exp)
    version = [3]
    saver = doc.autosaver(tmp_path, points_version=lambda: version[0])
    saver.set_client(client)
    saver.tick()
    assert saver.wait()
    meta = json.loads((tmp_path / f"{saver.id}.json").read_text())
    assert meta["weights"] is True and meta["epoch"] == 4
    version[0] = 4                    # the window has newer points than the session trains on
    doc.epoch = 1
    saver.tick()
    assert saver.wait()
    assert json.loads((tmp_path / f"{saver.id}.json").read_text())["weights"] is False
    saver.finish()


class SilentClient(QObject):
    """A live session that never answers (a long epoch)."""
    state_received = Signal(object)
    died = Signal(str)
    alive = True

    def __init__(self):
        super().__init__()
        self.asked, self.cancelled = [], []

    def request_state(self):
        self.asked.append(len(self.asked) + 1)
        return self.asked[-1]

    def cancel_state(self, token):
        self.cancelled.append(token)


def test_a_session_that_does_not_answer_does_not_hold_up_edits(qtbot, tmp_path, exp):
    client = SilentClient()
    doc = Doc(exp)
    saver = doc.autosaver(tmp_path, interval=0.05)
    saver.set_client(client)
    saver.tick()
    assert client.asked == [1] and not os.path.exists(saver.meta_path)
    qtbot.waitUntil(lambda: saver._pending is not None and A.time.monotonic() - saver._pending[2] > 0.06)
    saver.tick()                       # overdue: points and settings now, without weights
    assert saver.wait()
    assert json.loads((tmp_path / f"{saver.id}.json").read_text())["weights"] is False
    assert client.cancelled == [1]
    client.died.emit("gone")           # the second request's experiment is written when the session dies
    saver.finish()


def test_recovery_dir_is_in_the_app_data_location():
    program = ("from PySide6.QtCore import QCoreApplication; app = QCoreApplication([]); "
               "app.setOrganizationName('nnviz'); app.setApplicationName('nnviz'); "
               "from nnviz.ui.autosave import recovery_dir; print(recovery_dir())")
    env = dict(os.environ, XDG_DATA_HOME="/tmp/nnviz-xdg-test")
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=30)
    assert out.stdout.strip() == "/tmp/nnviz-xdg-test/nnviz/nnviz/recovery" or \
        out.stdout.strip() == "/tmp/nnviz-xdg-test/nnviz/recovery", out.stdout + out.stderr


KILLED_APP = textwrap.dedent("""
    import os, signal, time
    from PySide6.QtCore import QEventLoop
    from nnviz.ui.app import make_app
    from nnviz.ui.main_window import MainWindow
    from nnviz.ui.session_client import ProcessSessionClient
    from nnviz.presets import get_preset
    app = make_app()
    w = MainWindow(ProcessSessionClient(), experiment=get_preset("circle").build())
    w.show()
    w.start_autosave()
    def spin(cond, seconds):
        end = time.monotonic() + seconds
        while not cond() and time.monotonic() < end:
            app.processEvents(QEventLoop.AllEvents, 20)
    pts = w.points_model.points
    w.points_model.replace_all(pts.without(list(range(0, len(pts), 2))), "Thin")   # an edit: half the points
    config = w.config_model.config.copy()
    config.optimizer.learning_rate = 0.1                                           # and a setting
    w.config_model.set_config(config)
    w.act_discretize.setChecked(True)                                              # and a view setting
    w.play()
    spin(lambda: w.last_snapshot is not None and w.last_snapshot.epoch >= 50, 60)
    w.pause()
    spin(lambda: w.last_snapshot is not None and not w.last_snapshot.playing, 10)
    epoch = w.last_snapshot.epoch
    saved = []
    w.autosaver.saved.connect(saved.append)
    t0 = time.monotonic()
    spin(lambda: saved, 15)                     # the next autosave after the pause
    print(len(w.points_model.points), epoch, round(time.monotonic() - t0, 2), flush=True)
    os.kill(w.client.pid, signal.SIGKILL)       # no orphan training process
    os.kill(os.getpid(), signal.SIGKILL)
""")

RESTARTED_APP = textwrap.dedent("""
    import time
    from PySide6.QtCore import QEventLoop
    from nnviz.ui.app import make_app
    from nnviz.ui.autosave import pending_recoveries
    from nnviz.ui.main_window import MainWindow
    from nnviz.ui.session_client import ProcessSessionClient
    from nnviz.presets import get_preset
    app = make_app()
    (rec,) = pending_recoveries()
    w = MainWindow(ProcessSessionClient(), experiment=get_preset("circle").build())
    w.show()
    w.start_autosave()
    w.restore_recovery(rec)
    end = time.monotonic() + 30
    while (w.last_snapshot is None or w.last_snapshot.epoch != rec.epoch) and time.monotonic() < end:
        app.processEvents(QEventLoop.AllEvents, 20)
    print(len(w.points_model.points), w.last_snapshot.epoch, w.config_model.config.optimizer.learning_rate,
          w.act_discretize.isChecked(), w.is_modified(), flush=True)
    w.forget_unsaved()
    w.close()
    print(len(pending_recoveries()), flush=True)
""")


def test_kill_9_and_restore_end_to_end(tmp_path):
    """Start the app as a separate process, edit, wait for the autosave, SIGKILL, start again, restore."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", KILLED_APP], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr
    n_points, epoch, waited = result.stdout.split()
    assert float(waited) <= A.AUTOSAVE_SECONDS + 2    # at most ~5 s of work lost
    result = subprocess.run([sys.executable, "-c", RESTARTED_APP], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.split("\n")
    assert lines[0].split() == [n_points, epoch, "0.1", "True", "True"]   # restored, and still unsaved work
    assert lines[1] == "0"                            # adopted, then removed by the clean exit
