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
