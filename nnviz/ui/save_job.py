"""Write an experiment file on a worker thread, and report back on the GUI thread.

``save_experiment`` turns a long history into text, which can take a second or more; on the GUI
thread that would freeze the window. It holds the GIL only in short pieces, so a plain worker thread
keeps the window responsive. The result comes back as a queued signal, delivered by the event loop.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from .. import experiment as _experiment


class SaveJob(QObject):
    """One save: ``start()`` runs it on a thread; ``finished(error)`` arrives on the GUI thread.

    ``error`` is "" on success, else a message for the user.
    """
    finished = Signal(str)
    _done = Signal(str)   # emitted on the worker thread; queued to this object's (the GUI) thread

    def __init__(self, exp, path: str, parent=None):
        super().__init__(parent)
        self.exp = exp
        self.path = path
        self.error: str | None = None   # None while running
        self._done.connect(self._on_done)
        self._thread = threading.Thread(target=self._run, name="nnviz-save", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self.error is None

    def _run(self) -> None:
        try:
            _experiment.save_experiment(self.exp, self.path)
        except Exception as exc:   # noqa: BLE001 - any failure is reported to the user, never lost
            message = str(exc) or type(exc).__name__
            if isinstance(exc, OSError) and exc.strerror:
                message = f"{self.path}: {exc.strerror}"
            self._done.emit(message)
            return
        self._done.emit("")

    def _on_done(self, error: str) -> None:
        self.error = error
        self._thread.join()
        self.exp = None          # the written history can be tens of MB: keep nothing of it
        self.finished.emit(error)
        self.deleteLater()       # one job per save: never accumulate them under the window
