"""Autosave and crash recovery.

While a window has unsaved work, an :class:`Autosaver` writes it every ``AUTOSAVE_SECONDS`` to
``<AppDataLocation>/recovery/`` (``~/.local/share/nnviz/recovery/`` on Linux): the experiment (points,
settings, and the weights and metric history the training process holds) and, beside it, a small JSON
file with the time, the epoch, the document's path and the window state (layout, view settings). A clean
exit (``finish()``) removes both; after a crash or a kill they stay, and the next start lists them with
:func:`pending_recoveries` and offers to restore or discard each one.

Several windows and instances never touch each other's files: each Autosaver has its own id (process id
plus a random part) and holds a ``QLockFile`` (``<id>.lock``) for as long as it lives. A recovery is
*pending* only when nobody holds its lock (the process that wrote it is gone); restoring or discarding it
takes the lock first, so two instances starting together cannot both restore the same one.

Off the GUI thread's critical path: the GUI thread only collects references (the points, the settings, the
session's state reply); building and writing the file (``save_experiment``: atomic, in short GIL pieces)
runs on a worker thread. At most one write runs at a time and a newer state replaces an older one that has
not started yet. Nothing is written while nothing changed since the last autosave.

Files, per id ``<pid>-<8 hex>``: ``<id>.nnviz`` (an ordinary experiment file), ``<id>.json``::

    {"format": "nnviz-recovery", "version": 1, "id": str, "pid": int, "saved_at": unix seconds,
     "epoch": int, "name": str, "document": original path or null, "weights": bool,
     "window": {...the window_state() dict; bytes values as {"base64": "..."}...}}

and ``<id>.lock`` (QLockFile's). The JSON file is written after the experiment: a recovery is listed only
once both exist.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import QByteArray, QLockFile, QObject, QStandardPaths, QTimer, Signal

from ..errors import NnvizError
from ..experiment import Experiment, load_experiment, save_experiment
from ..fileio import write_atomically

AUTOSAVE_SECONDS = 3.0
FORMAT = "nnviz-recovery"
VERSION = 1


def recovery_dir() -> str:
    """``<AppDataLocation>/recovery`` (created on first use by the autosaver)."""
    base = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
    if not base:
        base = os.path.join(os.path.expanduser("~"), ".local", "share", "nnviz")
    return os.path.join(base, "recovery")


# -- window state: JSON with bytes ----------------------------------------------------------------------------

def _to_json_value(value: Any) -> Any:
    if isinstance(value, QByteArray):
        value = bytes(value.data())
    if isinstance(value, (bytes, bytearray)):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): _to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json_value(v) for v in value]
    if hasattr(value, "item"):   # NumPy scalars
        return value.item()
    return value


def _from_json_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"base64"} and isinstance(value["base64"], str):
            try:
                return base64.b64decode(value["base64"], validate=True)
            except ValueError:
                return None
        return {k: _from_json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json_value(v) for v in value]
    return value


# -- recoveries ---------------------------------------------------------------------------------------------

class _RecoveryFiles:
    """The files of one recovery: ``<id>.nnviz`` (the experiment), ``<id>.json`` (its meta), ``<id>.lock``."""
    directory: str
    id: str

    @property
    def experiment_path(self) -> str:
        return os.path.join(self.directory, self.id + ".nnviz")

    @property
    def meta_path(self) -> str:
        return os.path.join(self.directory, self.id + ".json")

    @property
    def lock_path(self) -> str:
        return os.path.join(self.directory, self.id + ".lock")


@dataclass
class Recovery(_RecoveryFiles):
    """A recovery file left by an instance that is gone."""
    id: str
    directory: str
    saved_at: float                  # unix time of the autosave
    epoch: int
    name: str
    document: str | None             # the file the work belonged to (None: never saved)
    weights: bool                    # the autosave has weights and history
    pid: int
    window: dict = field(default_factory=dict)


    def describe(self) -> str:
        """E.g. ``spiral (unsaved), epoch 250,000, autosaved 2026-12-01 15:02:11``."""
        where = os.path.basename(self.document) if self.document else f"{self.name} (never saved)"
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.saved_at))
        return f"{where}, epoch {self.epoch:,}, autosaved {when}"

    def load(self) -> Experiment:
        """The autosaved experiment (NnvizError if it cannot be read)."""
        return load_experiment(self.experiment_path)


def _read_meta(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("id"), str):
        return None
    return meta


def _recovery_from_meta(meta: dict, directory: str) -> Recovery | None:
    try:
        window = _from_json_value(meta.get("window") or {})
        return Recovery(id=meta["id"], directory=directory, saved_at=float(meta.get("saved_at", 0)),
                        epoch=int(meta.get("epoch", 0)), name=str(meta.get("name", "Untitled")),
                        document=meta.get("document") if isinstance(meta.get("document"), str) else None,
                        weights=bool(meta.get("weights", False)), pid=int(meta.get("pid", 0)),
                        window=window if isinstance(window, dict) else {})
    except (TypeError, ValueError):
        return None


def _stale_lock(path: str) -> QLockFile | None:
    """The lock of a dead instance, now held by us; None if a live instance holds it."""
    lock = QLockFile(path)
    lock.setStaleLockTime(0)   # never "stale by age": a live instance keeps its lock however old it is
    return lock if lock.tryLock(0) else None


def pending_recoveries(directory: str | None = None) -> list[Recovery]:
    """Recoveries left by instances that are gone (their lock is free), newest first.

    Files of live instances (other windows, other running nnviz) are never listed.
    """
    directory = directory or recovery_dir()
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    found = []
    for name in names:
        if not name.endswith(".json"):
            continue
        rid = name[:-5]
        if not os.path.isfile(os.path.join(directory, rid + ".nnviz")):
            continue
        meta = _read_meta(os.path.join(directory, name))
        if meta is None or meta["id"] != rid:
            continue
        lock = _stale_lock(os.path.join(directory, rid + ".lock"))
        if lock is None:
            continue   # its instance is alive
        lock.unlock()
        rec = _recovery_from_meta(meta, directory)
        if rec is not None:
            found.append(rec)
    found.sort(key=lambda r: r.saved_at, reverse=True)
    return found


def _remove_files(rec_id: str, directory: str) -> None:
    for suffix in (".json", ".nnviz"):   # the JSON first: without it nothing is listed
        try:
            os.remove(os.path.join(directory, rec_id + suffix))
        except FileNotFoundError:
            pass


def claim(rec: Recovery) -> QLockFile:
    """Take the lock of a pending recovery (NnvizError if another instance has taken it meanwhile)."""
    lock = _stale_lock(rec.lock_path)
    if lock is None:
        raise NnvizError("another nnviz window is restoring this work")
    return lock


def restore_recovery(rec: Recovery) -> Experiment:
    """Load a pending recovery (its files stay until :func:`discard_recovery` or ``Autosaver.adopt``)."""
    lock = claim(rec)
    try:
        return rec.load()
    finally:
        lock.unlock()


def discard_recovery(rec: Recovery) -> None:
    """Delete a pending recovery's files (NnvizError if another instance has taken it meanwhile)."""
    lock = claim(rec)
    try:
        _remove_files(rec.id, rec.directory)
    finally:
        lock.unlock()   # removes the lock file too


# -- the autosaver ------------------------------------------------------------------------------------------

def _history_from_reply(history):
    from ..engine.history import History
    if history is None:
        return None
    if isinstance(history, History):
        return history
    if any(hasattr(v, "dtype") for v in history.values()):
        return History.from_arrays(history)
    return History.from_dict(history)


class _Writer(threading.Thread):
    """One write at a time; a newer job replaces a waiting one."""

    def __init__(self, owner: "Autosaver"):
        super().__init__(name="nnviz-autosave", daemon=True)
        self._owner = owner
        self._cond = threading.Condition()
        self._job = None
        self._busy = False
        self._closed = False

    def submit(self, job) -> None:
        with self._cond:
            self._job = job
            self._cond.notify()

    def close(self, timeout: float | None = None) -> None:
        with self._cond:
            self._closed = True
            self._job = None   # a write not yet started is not wanted any more
            self._cond.notify()
        self.join(timeout)

    def idle(self) -> bool:
        with self._cond:
            return self._job is None and not self._busy

    def run(self) -> None:
        while True:
            with self._cond:
                while self._job is None and not self._closed:
                    self._cond.wait()
                if self._job is None:
                    return
                job, self._job, self._busy = self._job, None, True
            try:
                job()
            except Exception as e:   # never let the thread die: report and go on
                self._owner._written.emit("", f"{type(e).__name__}: {e}")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._job is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True


class Autosaver(_RecoveryFiles, QObject):
    """Autosaves one window's work; see the module text.

    - ``state()`` -> Experiment (points, settings, name, description; weights/history may be None) or None
      (nothing to save now). Called on the GUI thread at each tick while ``modified()`` is true.
    - ``modified()`` -> bool: unsaved work (edits, or training since the last save).
    - ``window_state()`` -> dict (JSON values, bytes/QByteArray allowed): layout, view settings, path...
    - ``epoch()`` -> int: the epoch shown (cheap; lets an unchanged, paused window skip its autosave).
    - ``points_version()`` -> int: the window's points version, so weights are only taken from a state
      reply of the same points (``StateReply.points_version`` / ``in_sync``).
    - ``set_client(client)``: the session client to ask for weights and history (``request_state()``
      returning a token and ``state_received`` / ``died`` signals). Without a client, or when it is dead,
      the autosave holds points and settings only. A reply that takes longer than one interval is not
      waited for: that tick writes points and settings only (edits are never held up by a busy session).
    """

    saved = Signal(str)      # the recovery file written
    failed = Signal(str)     # why an autosave could not be written (the window may show it once)
    _written = Signal(str, str)   # path, error (from the writer thread)

    def __init__(self, state: Callable[[], Experiment | None], modified: Callable[[], bool],
                 window_state: Callable[[], dict] | None = None, epoch: Callable[[], int] | None = None,
                 points_version: Callable[[], int] | None = None, directory: str | None = None,
                 interval: float = AUTOSAVE_SECONDS, parent: QObject | None = None):
        super().__init__(parent)
        self._state, self._modified = state, modified
        self._window_state, self._epoch, self._points_version = window_state, epoch, points_version
        self.directory = directory or recovery_dir()
        self.id = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._lock: QLockFile | None = None
        self._client = None
        self._token: int | None = None
        self._pending: tuple | None = None     # (exp, meta, asked_at, points_version) awaiting a reply
        self._last_key = None
        self._on_disk = False
        self._adopted: list[Recovery] = []
        self._writer = _Writer(self)
        self._writer.start()
        self._written.connect(self._on_written)
        self._timer = QTimer(self)
        self._timer.setInterval(int(interval * 1000))
        self._timer.timeout.connect(self.tick)
        self.last_error = ""

    # -- files of this instance: _RecoveryFiles

    @property
    def has_file(self) -> bool:
        return self._on_disk

    # -- control
    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def set_client(self, client) -> None:
        if self._client is not None:
            for signal, slot in ((self._client.state_received, self._on_state), (self._client.died, self._on_died)):
                try:
                    signal.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass
        self._client, self._token, self._pending = client, None, None
        if client is not None:
            client.state_received.connect(self._on_state)
            client.died.connect(self._on_died)

    def adopt(self, rec: Recovery) -> None:
        """This window restored ``rec``: delete its files once this autosaver has written its own (or at a
        clean exit, ``finish()``)."""
        self._adopted.append(rec)
        self._last_key = None   # write at the next tick even if nothing changes

    def tick(self) -> None:
        """One autosave step (the timer calls it; tests and the window may call it directly)."""
        if not self._modified():
            if self._on_disk:   # saved (or undone back to the saved state): the file is not needed
                self._remove_own()
            return
        if self._pending is not None:
            exp, meta, asked_at, _ = self._pending
            if time.monotonic() - asked_at < self._timer.interval() / 1000:
                return   # the session has not answered yet; give it this interval
            self._pending = None
            self._cancel_request()
            self._submit(exp, meta)   # points and settings now; weights at a later tick
        exp = self._state()
        if exp is None:
            return
        window = _to_json_value(self._window_state() if self._window_state else {})
        epoch = int(self._epoch()) if self._epoch else 0
        key = (epoch, json.dumps(exp.config.to_dict(), sort_keys=True), exp.name, exp.description,
               json.dumps(window, sort_keys=True), id(exp.points), len(exp.points),
               json.dumps(getattr(exp, "sweep", None), sort_keys=True))   # a sweep's runs are work too
        if key == self._last_key and (self._last_points is exp.points or self._last_points == exp.points):
            return   # nothing changed since the last autosave
        self._last_key, self._last_points = key, exp.points
        meta = {"format": FORMAT, "version": VERSION, "id": self.id, "pid": os.getpid(), "epoch": epoch,
                "name": exp.name, "document": window.get("path") if isinstance(window, dict) else None,
                "window": window}
        client = self._client
        if exp.weights is None and client is not None and getattr(client, "alive", False):
            version = self._points_version() if self._points_version else None
            self._pending = (exp, meta, time.monotonic(), version)
            token = client.request_state()
            if self._pending is not None:   # (an in-process session may have answered already)
                self._token = token
            return
        self._submit(exp, meta)

    def finish(self, timeout: float = 5.0) -> None:
        """A clean exit: stop, let a running write end, delete this instance's files and release the lock."""
        self._timer.stop()
        self._cancel_request()
        self._pending = None
        self._writer.close(timeout)
        self._remove_own()
        adopted, self._adopted = self._adopted, []
        for rec in adopted:   # restored into this window, which now closes cleanly (saved or discarded)
            try:
                discard_recovery(rec)
            except NnvizError:
                pass
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until queued writes are done (tests, scripts). Delivers the saved/failed signals."""
        ok = self._writer.wait_idle(timeout)
        from PySide6.QtCore import QCoreApplication
        QCoreApplication.sendPostedEvents(self)
        return ok

    # -- internals
    _last_points = None

    def _cancel_request(self) -> None:
        if self._token is not None and self._client is not None:
            try:
                self._client.cancel_state(self._token)
            except Exception:
                pass
        self._token = None

    def _on_state(self, reply) -> None:
        if self._pending is None:
            return
        if self._token is not None and getattr(reply, "token", None) != self._token:
            return
        exp, meta, _, version = self._pending
        self._pending, self._token = None, None
        in_sync = getattr(reply, "in_sync", True)
        if version is not None and getattr(reply, "points_version", version) != version:
            in_sync = False
        if in_sync:
            try:
                exp = Experiment(exp.config, exp.points, name=exp.name, description=exp.description,
                                 weights=reply.weights, history=_history_from_reply(reply.history))
                epoch = int(getattr(reply, "epoch", 0) or 0)
                if exp.history is not None and len(exp.history):
                    epoch = int(exp.history.last("epoch"))
                meta = {**meta, "epoch": epoch}
            except NnvizError:
                pass
        self._submit(exp, meta)

    def _on_died(self, *_args) -> None:
        if self._pending is not None:
            exp, meta, _, _ = self._pending
            self._pending, self._token = None, None
            self._submit(exp, meta)

    def _submit(self, exp: Experiment, meta: dict) -> None:
        self._writer.submit(lambda: self._write(exp, meta))

    def _ensure_lock(self) -> None:   # writer thread; QLockFile is reentrant (one object per thread)
        if self._lock is None:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            lock = QLockFile(self.lock_path)
            lock.setStaleLockTime(0)
            if not lock.tryLock(1000):
                raise OSError(f"cannot lock {self.lock_path}")
            self._lock = lock

    def _write(self, exp: Experiment, meta: dict) -> None:
        """On the writer thread: the experiment, then the JSON that makes it a recovery."""
        try:
            self._ensure_lock()
            meta = {**meta, "saved_at": time.time(), "weights": exp.weights is not None}
            save_experiment(exp, self.experiment_path)
            write_atomically(self.meta_path, json.dumps(meta))
        except (NnvizError, OSError) as e:
            self._written.emit("", str(e))
            return
        self._written.emit(self.experiment_path, "")

    def _on_written(self, path: str, error: str) -> None:
        if error:
            self.last_error = error
            self.failed.emit(error)
            return
        self._on_disk = True
        self.last_error = ""
        adopted, self._adopted = self._adopted, []
        for rec in adopted:
            try:
                discard_recovery(rec)
            except NnvizError:
                pass
        self.saved.emit(path)

    def _remove_own(self) -> None:
        """Delete this instance's files: on the writer thread (after a write in progress), or now once it
        has stopped (finish)."""
        self._on_disk = False
        self._last_key = None
        if self._writer.is_alive():
            self._writer.submit(lambda: _remove_files(self.id, self.directory))
        else:
            _remove_files(self.id, self.directory)
