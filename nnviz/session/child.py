"""The training session's process: commands in, snapshots out, over a multiprocessing pipe.

Imports no Qt (the spawned child stays small and starts fast). Backpressure: after sending a
snapshot it sends no other until the GUI acknowledges it, and never more than ``MAX_FPS`` a second,
while training goes on regardless, so training speed never depends on drawing speed.
"""
from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from ..engine.threads import limit_blas_threads
from . import messages as m
from .core import SNAPSHOT_SHARE, TrainingSession

MAX_FPS = 40.0
CHUNK_SECONDS = 0.004
IDLE_POLL_SECONDS = 0.05


def serve(conn, parent_pid: int) -> None:
    """Entry point of the child process (target of multiprocessing.Process)."""
    limit_blas_threads(1)
    session = TrainingSession()
    ready = True
    last_sent = 0.0
    interval = 1.0 / MAX_FPS
    pending: list = []

    def receive() -> None:
        nonlocal ready
        while conn.poll():
            cmd = conn.recv()
            if isinstance(cmd, m.Ack):
                ready = True
            else:
                pending.append(cmd)

    def offer(mid_epoch: bool = False) -> None:
        """Send a snapshot if the GUI is ready for one and it is due (see the pacing rule below)."""
        nonlocal ready, last_sent, interval
        now = time.perf_counter()
        # pacing protects training time; when not training, show the change at once (a pause, an edit)
        if ready and (session.dirty or mid_epoch) and (now - last_sent >= interval or not session.busy):
            snapshot = session.snapshot()
            cost = time.perf_counter() - now
            send(conn, snapshot)
            ready = False
            last_sent = now
            # while training plays, a snapshot may take at most SNAPSHOT_SHARE of the process's time:
            # the session draws a big network's boundary smaller while playing (core.PLAYING_FPS) and
            # anything else dear (many points' predictions) makes frames come less often. A still
            # (full-size image, not playing) does not slow the frames that follow a Play.
            interval = max(1.0 / MAX_FPS, cost / SNAPSHOT_SHARE) if snapshot.playing else 1.0 / MAX_FPS

    def interrupted() -> bool:
        """Polled every ~20 ms during a long epoch: a command cuts it short (it is undone and run again);
        otherwise a frame may be due: it shows the weights as they are mid-epoch (no new metric rows), so
        a network whose epochs take longer than a frame still moves on screen at the frame rate."""
        receive()
        if pending:
            return True
        if session.busy:
            offer(mid_epoch=True)
        return False

    try:
        while os.getppid() == parent_pid:   # reparented: the GUI died, so do we
            if not pending and conn.poll(0.0 if session.busy else IDLE_POLL_SECONDS):
                receive()
            commands, pending[:] = _coalesce(pending), []
            for cmd in commands:
                if isinstance(cmd, m.Shutdown):
                    return
                session.handle(cmd)
            for reply in session.take_outbox():
                send(conn, reply)
            session.work(CHUNK_SECONDS, interrupted)
            offer()
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        return   # the GUI closed the pipe


BIG_ROWS = 4096   # messages with more metric rows than this send them as raw column bytes


def send(conn, msg) -> None:
    """Send a message; many metric rows go column by column as raw bytes (see HistoryColumns)."""
    field = ("history" if isinstance(msg, m.StateReply) else "rows" if isinstance(msg, m.Snapshot) else None)
    table = getattr(msg, field) if field else None
    if table is not None and len(table["epoch"]) > BIG_ROWS:
        names = [k for k in table if k != "n_layers"]
        arrays = [np.ascontiguousarray(table[k], dtype="<f8") for k in names]
        conn.send(m.HistoryColumns(field, table.get("n_layers"), [(k, a.shape) for k, a in zip(names, arrays)]))
        for a in arrays:
            conn.send_bytes(memoryview(a).cast("B"))
        msg = dataclasses.replace(msg, **{field: None})
    conn.send(msg)


def receive(conn):
    """The inverse of :func:`send` (the GUI's pipe reader calls it): one whole message."""
    msg = conn.recv()
    if not isinstance(msg, m.HistoryColumns):
        return msg
    table = {} if msg.n_layers is None else {"n_layers": msg.n_layers}
    for name, shape in msg.columns:
        table[name] = np.frombuffer(conn.recv_bytes(), dtype="<f8").reshape(shape)
    following = conn.recv()
    setattr(following, msg.field, table)
    return following


def _coalesce(commands: list) -> list:
    """Drop what a later command of the burst overrides (a drag sends one SetPoints per mouse move).

    A SetPoints is dropped only if another follows before any settings change, so points are never
    moved across the settings they were sent with; only the last SetView counts.
    """
    keep = []
    for i, cmd in enumerate(commands):
        if isinstance(cmd, m.SetView) and any(isinstance(c, m.SetView) for c in commands[i + 1:]):
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
