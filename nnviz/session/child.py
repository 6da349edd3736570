"""The training session's process: commands in, snapshots out, over a multiprocessing pipe.

Imports no Qt (the spawned child stays small and starts fast). The rules (Ack, pacing, merging,
interrupts) are those of :class:`nnviz.session.loop.SessionLoop`, shared with the in-process client:
after sending a snapshot it sends no other until the GUI acknowledges it, and never more than
``MAX_FPS`` a second, while training goes on regardless, so training speed never depends on drawing speed.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..engine.threads import limit_blas_threads
from . import messages as m
from .core import TrainingSession
from .loop import CHUNK_SECONDS, IDLE_POLL_SECONDS, MAX_FPS, SessionLoop, coalesce


def serve(conn, parent_pid: int) -> None:
    """Entry point of the child process (target of multiprocessing.Process): the session loop over a pipe."""
    limit_blas_threads(1)
    session = TrainingSession()

    def poll() -> None:
        while conn.poll():
            loop.put(conn.recv())

    loop = SessionLoop(session, lambda msg: send(conn, msg), poll=poll, max_fps=MAX_FPS)
    try:
        while os.getppid() == parent_pid:   # reparented: the GUI died, so do we
            if not loop.pending and conn.poll(0.0 if session.busy else IDLE_POLL_SECONDS):
                poll()
            if not loop.turn(CHUNK_SECONDS):
                return
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


_coalesce = coalesce   # the old name (tests import it from here)
