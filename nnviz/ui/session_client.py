"""Qt side of a training session: send commands, receive snapshots as Qt signals.

``ProcessSessionClient`` runs the session in a spawned child process (the GUI's interpreter never
trains: a NumPy loop in a GUI-process thread starves the GUI through the GIL). A QThread blocks on
the pipe and re-emits what arrives as signals, delivered to the GUI thread by Qt's queued
connections. ``InProcessSessionClient`` runs the same session class in the GUI process, pumped by
hand or by a timer: deterministic, for tests.
"""
from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import time

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QThread, QTimer, Signal, Slot

from ..session import messages as m
from ..session.child import receive, serve
from ..session.core import TrainingSession
from ..session.loop import SessionLoop


class SessionClient(QObject):
    snapshot = Signal(object)        # messages.Snapshot
    state_received = Signal(object)  # messages.StateReply of a request_state() token, however late
    error = Signal(str, str)         # message, detail
    died = Signal(str)               # the session is gone (child crashed or was killed)

    _tokens = itertools.count(1)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._outstanding: set[int] = set()            # tokens whose reply is still wanted
        self._blocking: dict[int, m.StateReply | None] = {}   # replies awaited by request_state_blocking

    def send(self, cmd) -> None:
        raise NotImplementedError

    def ack(self) -> None:
        self.send(m.Ack())

    def _dispatch(self, msg) -> None:
        if isinstance(msg, m.Snapshot):
            self.snapshot.emit(msg)
        elif isinstance(msg, m.SessionError):
            self.error.emit(msg.message, msg.detail)
        elif isinstance(msg, m.StateReply):
            if msg.token in self._blocking:
                self._blocking[msg.token] = msg
            elif msg.token in self._outstanding:
                self._outstanding.discard(msg.token)
                self.state_received.emit(msg)
            # else: cancelled or unknown: dropped, never stored

    def request_state(self) -> int:
        """Ask for the current state; returns the request's token at once.

        The reply comes through ``state_received`` (a StateReply with this token) however long the
        session takes; if the session dies first, ``died`` fires instead. ``cancel_state`` drops it.
        """
        token = next(self._tokens)
        self._outstanding.add(token)
        self.send(m.RequestState(token))
        return token

    def cancel_state(self, token: int) -> None:
        """Forget a request: its reply, if it still comes, is dropped."""
        self._outstanding.discard(token)
        self._blocking.pop(token, None)

    @property
    def pending_states(self) -> frozenset:
        """Tokens of the requests whose reply is still awaited (for tests and diagnostics)."""
        return frozenset(self._outstanding)

    def request_state_blocking(self, timeout: float | None = None) -> m.StateReply | None:
        """Ask and wait (processing events other than user input) for the reply; for tests and the CLI.

        Waits while the session lives (``timeout`` None) or at most ``timeout`` seconds; None if the
        session died or the time ran out (a reply that comes later is dropped).
        """
        token = next(self._tokens)
        self._blocking[token] = None
        try:
            self.send(m.RequestState(token))
            deadline = None if timeout is None else time.monotonic() + timeout
            while deadline is None or time.monotonic() < deadline:
                reply = self._blocking.get(token)
                if reply is not None:
                    return reply
                if not self.alive:
                    return None
                self._wait_a_little()
            return None
        finally:
            self._blocking.pop(token, None)

    def _wait_a_little(self) -> None:
        # the reply arrives as a queued signal; user input waits, so nothing can change what is saved
        QCoreApplication.processEvents(QEventLoop.ExcludeUserInputEvents, 20)

    def shutdown(self) -> None:
        pass

    @property
    def alive(self) -> bool:
        return True


class _PipeReader(QObject):
    """Lives in a QThread; blocks on the pipe, re-emits messages as a signal."""
    received = Signal(object)
    closed = Signal()

    def __init__(self, conn):
        super().__init__()
        self._conn = conn
        self.running = True

    @Slot()
    def run(self) -> None:
        while self.running:
            try:
                if self._conn.poll(0.05):
                    self.received.emit(receive(self._conn))
            except Exception:   # EOF, a broken pipe, a message that cannot be read: the session is gone
                if self.running:
                    self.closed.emit()
                return


class ProcessSessionClient(SessionClient):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._proc = None
        self._conn = None
        self._thread = None
        self._reader = None
        self._closing = False
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(500)
        self._watchdog.timeout.connect(self._check_child)

    def start(self) -> None:
        ctx = mp.get_context("spawn")   # fork would copy Qt's state into the child
        parent_end, child_end = ctx.Pipe(duplex=True)
        self._proc = ctx.Process(target=serve, args=(child_end, os.getpid()), daemon=True,
                                 name="nnviz-training")
        self._proc.start()
        child_end.close()
        self._conn = parent_end
        self._closing = False
        self._reader = _PipeReader(parent_end)
        self._thread = QThread()
        self._thread.setObjectName("nnviz-session-reader")
        self._reader.moveToThread(self._thread)
        self._thread.started.connect(self._reader.run)
        self._reader.received.connect(self._dispatch)
        self._reader.closed.connect(self._on_closed)
        self._thread.start()
        self._watchdog.start()

    def send(self, cmd) -> None:
        if self._conn is None or self._closing:
            return
        try:
            self._conn.send(cmd)
        except (BrokenPipeError, OSError, EOFError):
            self._on_closed()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def _check_child(self) -> None:
        if self._proc is not None and not self._proc.is_alive() and not self._closing:
            self._on_closed()

    def _on_closed(self) -> None:
        if self._closing:
            return
        if self._proc is not None and self._proc.is_alive():   # the pipe broke but the child lives: end it
            self._proc.kill()
            self._proc.join(1.0)
        code = self._proc.exitcode if self._proc is not None else None
        self._stop_reader()
        self._watchdog.stop()
        self._closing = True
        self._outstanding.clear()   # those replies will never come: the window treats them as failed
        self.died.emit(f"The training process stopped unexpectedly (exit code {code}).")

    def _stop_reader(self) -> None:
        if self._reader is not None:
            self._reader.running = False
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait(2000)

    def shutdown(self) -> None:
        """Stop the child and the reader thread; quick, and leaves no orphan."""
        if self._proc is None:
            return
        self._watchdog.stop()
        if not self._closing:
            try:
                self._conn.send(m.Shutdown())
            except (BrokenPipeError, OSError):
                pass
        self._closing = True
        self._stop_reader()
        self._proc.join(1.0)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(1.0)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(1.0)
        try:
            self._conn.close()
        except OSError:
            pass
        self._proc = None
        self._conn = None


class InProcessSessionClient(SessionClient):
    """The same session and the same loop (nnviz.session.loop), in this process: ``pump()`` trains a chunk
    and delivers a snapshot. Commands are handled as they are sent; frames are not paced by time (a test
    pumps when it wants one) but wait for the Ack as the child's do."""

    def __init__(self, parent=None, autorun: bool = False, chunk: float = 0.004):
        super().__init__(parent)
        self.session = TrainingSession()
        self.loop = SessionLoop(self.session, self._dispatch, max_fps=None, mid_epoch=False)
        self._chunk = chunk
        self._timer = QTimer(self)
        self._timer.setInterval(16)
        self._timer.timeout.connect(self.pump)
        if autorun:
            self._timer.start()

    def start(self) -> None:
        pass

    def send(self, cmd) -> None:
        if isinstance(cmd, m.Shutdown):
            self._timer.stop()
            return
        self.loop.put(cmd)
        if not isinstance(cmd, m.Ack):
            self.loop.handle_pending()

    def pump(self, epochs: int | None = None) -> None:
        """Train one chunk (or exactly ``epochs`` epochs) and deliver a snapshot if the GUI is ready."""
        if epochs is not None:
            self.loop.run_epochs(epochs)
        else:
            self.loop.turn(self._chunk)

    def _wait_a_little(self) -> None:
        pass

    def shutdown(self) -> None:
        self._timer.stop()
