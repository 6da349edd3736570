"""The monkey: seeded random user actions on the real main window, with its real training process.

It drives :class:`nnviz.ui.main_window.MainWindow` with a :class:`ProcessSessionClient` (the training
runs in a spawned child, as in the app) through the window's own actions, widgets and synthesised mouse
and key events, and every ``check_every`` actions checks invariants:

* a state request is answered, and the child's settings, points (and points version) and epoch equal
  the window's -- or, when the session says it is not in sync (C4), the window says so;
* the epoch advances while the window shows Play as running (or the window says why it stopped);
* a save/reopen round trip is exact (points, settings, weights, epoch);

and at the end: undo to the start and redo to the end restore exactly the recorded states (points and
settings) and the child follows; closing leaves no child process. Every Python exception (excepthook,
threading.excepthook, exceptions escaping an action), every Python warning, every Qt warning (except
:data:`IGNORED_QT_MESSAGES`), every line the processes write to stderr (child tracebacks and
RuntimeWarnings) and every internal error the session reports is a failure.

Every action is logged as ``(index, name, args)``; ``--replay LOG --upto N`` runs a logged prefix again
(the seed and the log reproduce a failure).

Usage (from the repository root)::

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.monkey --actions 10000 --seeds 1,2,3
    NNVIZ_MONKEY_ACTIONS=10000 NNVIZ_MONKEY_SEEDS=1,2,3 .venv/bin/python tests/monkey.py
    .venv/bin/python -m tests.monkey --replay /tmp/monkey-seed1.jsonl --upto 812
"""
from __future__ import annotations

import argparse
import faulthandler
import json
import math
import os
import random
import sys
import tempfile
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import (  # noqa: E402
    QEventLoop, QPoint, QPointF, QSettings, Qt, QTimer, QtMsgType, qInstallMessageHandler,
)
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton, QAbstractSpinBox, QApplication, QComboBox, QDialog, QDoubleSpinBox,
    QFileDialog, QInputDialog, QMenu, QMessageBox, QSlider, QSpinBox, QWidget,
)

#: Qt messages that are not failures, with the reason
IGNORED_QT_MESSAGES = {
    "This plugin does not support propagateSizeHints()":
        "the offscreen platform plugin lacks this window-manager hint (issue 6 item 14); a real display has it",
    "This plugin does not support raise()":
        "offscreen platform plugin: a popup menu (the canvas's context menu) asks to be raised",
    "This plugin does not support grabbing the keyboard":
        "offscreen platform plugin: a popup menu grabs the keyboard on a real display",
}
#: stderr lines that are not failures, with the reason
IGNORED_STDERR = {
    "This plugin does not support propagateSizeHints()": "as above, when printed before the handler is installed",
}

MAX_COUNT_NORMAL = 3000          # generated points in the default profile (100,000 with big=True)
COST_BUDGET = 2.5e7              # points x weights a random edit may reach (keeps an epoch well under 0.1 s)
STATE_TIMEOUT = 60.0             # a state request must be answered within this (the child is alive)
ADVANCE_TIMEOUT = 10.0           # a playing session shows a later epoch within this


# -- small helpers -------------------------------------------------------------------------------------------
def rss_kb(pid: int | None) -> int | None:
    """VmRSS of a process in kB (psutil is not a dependency)."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def child_pids(pid: int) -> list[int]:
    """Living (non-zombie) processes whose parent is ``pid``."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as fh:
                text = fh.read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(pid) and not fields.get("State", "").strip().startswith("Z"):
            try:
                with open(f"/proc/{name}/cmdline", "rb") as fh:
                    cmdline = fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                cmdline = ""
            if "resource_tracker" in cmdline:
                continue   # multiprocessing's own helper: lives as long as this interpreter, one per process
            out.append(int(name))
    return out


def wait_until(predicate, timeout: float, signal=None, poll_ms: int = 20) -> bool:
    """Run the event loop until ``predicate()`` holds or ``timeout`` seconds pass. No sleeping: the loop
    blocks in Qt's dispatcher and wakes on ``signal`` (if given) or a short poll timer."""
    if predicate():
        return True
    app = QApplication.instance()
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(poll_ms)

    def check(*_):
        if predicate() or time.monotonic() >= deadline:
            loop.quit()
    timer.timeout.connect(check)
    if signal is not None:
        signal.connect(check)
    timer.start()
    try:
        loop.exec()
    finally:
        timer.stop()
        if signal is not None:
            try:
                signal.disconnect(check)
            except (RuntimeError, TypeError):
                pass
    app.processEvents()
    return bool(predicate())


def _config_dict(cfg) -> dict:
    return cfg.to_dict() if hasattr(cfg, "to_dict") else dict(vars(cfg))


def _config_diff(a, b) -> str:
    da, db = _config_dict(a), _config_dict(b)
    diffs = []
    for sec in sorted(set(da) | set(db)):
        va, vb = da.get(sec), db.get(sec)
        if isinstance(va, dict) and isinstance(vb, dict):
            for k in sorted(set(va) | set(vb)):
                if va.get(k) != vb.get(k):
                    diffs.append(f"{sec}.{k}: {va.get(k)!r} != {vb.get(k)!r}")
        elif va != vb:
            diffs.append(f"{sec}: {va!r} != {vb!r}")
    return "; ".join(diffs[:6])


def _weights_equal(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if len(a) != len(b):
        return False
    return all(np.array_equal(wa, wb) and np.array_equal(ba, bb) for (wa, ba), (wb, bb) in zip(a, b))


def _menu(widget):
    fn = getattr(widget, "menu", None)
    return fn() if callable(fn) else None


def _n_weights(cfg, n_classes: int = 2) -> int:
    arch = cfg.architecture
    sizes = [len(arch.features), *arch.hidden_layers, max(1, n_classes)]
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


# -- failures and the log ------------------------------------------------------------------------------------
@dataclass
class Failure:
    kind: str        # exception, invariant, qt-warning, python-warning, stderr, session-error, modal, hang
    action: int      # index of the last action done when it was seen (-1: before the first)
    message: str
    detail: str = ""

    def __str__(self) -> str:
        return f"[{self.kind} after action {self.action}] {self.message}" + (f"\n{self.detail}" if self.detail else "")


@dataclass
class Result:
    seed: int
    actions: int = 0
    checks: int = 0
    round_trips: int = 0
    reopens: int = 0
    out_of_sync_seen: int = 0
    failures: list = field(default_factory=list)
    log: list = field(default_factory=list)
    rss: dict = field(default_factory=dict)     # label -> (gui kB, child kB)
    seconds: float = 0.0
    infos: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def counts(self) -> dict:
        out: dict = {}
        for f in self.failures:
            out[f.kind] = out.get(f.kind, 0) + 1
        return out

    def figures(self) -> str:
        c = self.counts()
        exc = c.get("exception", 0)
        inv = c.get("invariant", 0)
        other = sum(v for k, v in c.items() if k not in ("exception", "invariant"))
        rss = "  ".join(f"{k}: GUI {g / 1024:.0f} MB, child {(ch or 0) / 1024:.0f} MB"
                        for k, (g, ch) in self.rss.items())
        return (f"seed {self.seed}: {self.actions} actions, {self.checks} invariant checks, "
                f"{self.round_trips} save round trips ({self.reopens} reopened), {exc} exceptions, "
                f"{inv} invariant failures, {other} other failures, out-of-sync states shown {self.out_of_sync_seen}, "
                f"{self.seconds:.0f} s\n  RSS {rss}")

    def describe(self, last: int = 25) -> str:
        lines = [self.figures()]
        for f in self.failures[:12]:
            lines.append(str(f))
            lines.append("  last actions before it:")
            lines += [f"    {json.dumps(e)}" for e in self.log if f.action - last < e[0] <= f.action]
        if len(self.failures) > 12:
            lines.append(f"... and {len(self.failures) - 12} more failures")
        return "\n".join(lines)


# -- the client: ProcessSessionClient that notes the order of what arrives ------------------------------------
def _client_class():
    from nnviz.ui.session_client import ProcessSessionClient

    class MonkeyClient(ProcessSessionClient):
        """The real child-process client; also counts messages, so a check can wait for a snapshot that
        left the child after a given state reply (the pipe keeps the order)."""

        def __init__(self, parent=None):
            super().__init__(parent)
            self.seq = 0
            self.reply_seq = 0
            self.snap_seq = 0
            self.last_snap = None
            self.session_errors: list = []

        def _dispatch(self, msg):
            self.seq += 1
            name = type(msg).__name__
            if name == "StateReply":
                self.reply_seq = self.seq
            elif name == "Snapshot":
                self.snap_seq = self.seq
                self.last_snap = msg
            elif name == "SessionError":
                self.session_errors.append((msg.message, getattr(msg, "detail", "")))
            super()._dispatch(msg)

    return MonkeyClient


# -- the monkey ------------------------------------------------------------------------------------------------
class Monkey:
    def __init__(self, seed: int, workdir: str, check_every: int = 25, big: bool = False,
                 reopen_every: int = 3, verbose: bool = False, stop_on_failure: bool = False,
                 log_path: str | None = None, hang_seconds: float = 120.0, hard_exit: bool = False):
        self.seed = seed
        self.workdir = workdir
        self.check_every = max(1, check_every)
        self.big = big
        self.reopen_every = max(1, reopen_every)
        self.verbose = verbose
        self.stop_on_failure = stop_on_failure
        self.log_path = log_path
        self.hang_seconds = hang_seconds
        self.hard_exit = hard_exit
        self._hung = False
        self._real_stderr = None
        self.rng = random.Random(seed)
        self.result = Result(seed)
        self.index = -1
        self.w = None
        self._saved_files: list[str] = []
        self._csv_files: list[str] = []
        self._n_files = 0
        self._states: dict[int, tuple] = {}   # undo index -> (points, config) after it
        self._commands: list = []             # the undo stack's command objects, to see what stays valid
        self._last_emitted = None
        self._cleared = False
        self._log_fh = None
        self._middle = -1
        self._restore: list = []
        self._stderr_file = None
        self._in_check = False
        self._dialog_rng = random.Random(seed * 7919 + 1)
        self._seen_session_errors = 0

    # -- failures ------------------------------------------------------------------------------------------
    def fail(self, kind: str, message: str, detail: str = "") -> None:
        f = Failure(kind, self.index, message, detail)
        self.result.failures.append(f)
        if self.verbose:
            print(f"FAILURE {f}", flush=True)

    def info(self, message: str) -> None:
        self.result.infos.append((self.index, message))
        if self.verbose:
            print(f"info [{self.index}] {message}", flush=True)

    # -- hooks ---------------------------------------------------------------------------------------------
    def _install_hooks(self) -> None:
        old_hook = sys.excepthook

        def excepthook(kind, value, tb):
            self.fail("exception", f"{kind.__name__}: {value}", "".join(traceback.format_exception(kind, value, tb)))
        sys.excepthook = excepthook
        self._restore.append(lambda: setattr(sys, "excepthook", old_hook))

        old_thread_hook = threading.excepthook

        def thread_hook(args):
            self.fail("exception", f"in thread {args.thread.name if args.thread else '?'}: "
                      f"{args.exc_type.__name__}: {args.exc_value}",
                      "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)))
        threading.excepthook = thread_hook
        self._restore.append(lambda: setattr(threading, "excepthook", old_thread_hook))

        def qt_handler(mode, context, message):
            if any(m in message for m in IGNORED_QT_MESSAGES):
                return
            if mode in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
                where = f"{context.file}:{context.line}" if context.file else ""
                self.fail("qt-warning", message, where)
        previous = qInstallMessageHandler(qt_handler)
        self._restore.append(lambda: qInstallMessageHandler(previous))

        old_showwarning = warnings.showwarning

        def showwarning(message, category, filename, lineno, file=None, line=None):
            self.fail("python-warning", f"{category.__name__}: {message}", f"{filename}:{lineno}")
        warnings.showwarning = showwarning
        filters = warnings.filters[:]
        warnings.simplefilter("always")

        def restore_warnings():
            warnings.showwarning = old_showwarning
            warnings.filters[:] = filters
        self._restore.append(restore_warnings)

        # pyqtgraph drops mouse moves closer than 10 ms apart; synthesised events come faster
        old_rate = pg.getConfigOption("mouseRateLimit")
        pg.setConfigOption("mouseRateLimit", 0)
        self._restore.append(lambda: pg.setConfigOption("mouseRateLimit", old_rate))

        # modal dialogs answer at once, deterministically (seeded)
        patches = {
            (QMessageBox, "question"): self._answer_question,
            (QMessageBox, "warning"): lambda *a, **k: QMessageBox.Ok,
            (QMessageBox, "critical"): self._answer_critical,
            (QMessageBox, "information"): lambda *a, **k: QMessageBox.Ok,
            (QMessageBox, "about"): lambda *a, **k: None,
            (QFileDialog, "getSaveFileName"): self._answer_save_name,
            (QFileDialog, "getOpenFileName"): self._answer_open_name,
            (QInputDialog, "getItem"): self._answer_get_item,
            (QInputDialog, "getInt"): lambda *a, **k: (self._dialog_rng.choice([1, 2, 4]), True),
            (QInputDialog, "getDouble"): lambda *a, **k: (self._dialog_rng.choice([1.0, 2.0]), True),
        }
        for (cls, name), fn in patches.items():
            old = cls.__dict__.get(name, getattr(cls, name))
            setattr(cls, name, staticmethod(fn))
            self._restore.append(lambda cls=cls, name=name, old=old: setattr(cls, name, old))

        # a hang (an action or check that never returns, e.g. a nested event loop nobody quits) is a
        # failure that ends the run: report what is known and leave (the log file has every action)
        self._action_started = None
        self._hang_timer = QTimer()
        self._hang_timer.setInterval(1000)
        self._hang_timer.timeout.connect(self._check_hang)
        self._hang_timer.start()
        self._restore.append(self._hang_timer.stop)

        # any other modal dialog or popup menu (a context menu) is answered by a timer
        self._modal_timer = QTimer()
        self._modal_timer.setInterval(50)
        self._modal_timer.timeout.connect(self._answer_modal)
        self._modal_timer.start()
        self._restore.append(self._modal_timer.stop)

    def _check_hang(self) -> None:
        started = self._action_started
        if started is None or time.monotonic() - started < self.hang_seconds:
            return
        self.fail("hang", f"action {self.index} ({self.result.log[-1][1] if self.result.log else '?'}) has not "
                  f"returned after {self.hang_seconds:.0f} s", "".join(traceback.format_stack(
                      sys._current_frames()[threading.main_thread().ident])))
        out = self._real_stderr or sys.__stderr__
        out.write("\nMONKEY HANG\n" + self.result.describe() + "\n")
        out.flush()
        faulthandler.dump_traceback(file=out, all_threads=True)
        out.flush()
        if self.hard_exit:
            if self._log_fh is not None:
                self._log_fh.close()
            os._exit(3)
        # inside a test: leave every nested event loop (QCoreApplication.exit ends all of this thread's),
        # stop the run and report the hang as a failure
        self._hung = True
        self._action_started = None
        QApplication.exit(3)

    def _uninstall_hooks(self) -> None:
        while self._restore:
            fn = self._restore.pop()
            try:
                fn()
            except Exception:   # noqa: BLE001 - restoring must go on
                traceback.print_exc()

    def _redirect_stderr(self) -> None:
        """fd 2 goes to a file while the run lasts: the child inherits it, so its tracebacks and
        RuntimeWarnings are seen too."""
        sys.stderr.flush()
        self._stderr_file = tempfile.TemporaryFile(mode="w+b", dir=self.workdir)
        self._saved_fd2 = os.dup(2)
        os.dup2(self._stderr_file.fileno(), 2)
        self._real_stderr = os.fdopen(os.dup(self._saved_fd2), "w")
        faulthandler.enable(file=self._real_stderr, all_threads=True)

    def _restore_stderr(self) -> str:
        sys.stderr.flush()
        os.dup2(self._saved_fd2, 2)
        os.close(self._saved_fd2)
        faulthandler.enable(file=sys.__stderr__, all_threads=True)
        self._real_stderr.close()
        self._real_stderr = None
        self._stderr_file.seek(0)
        text = self._stderr_file.read().decode("utf-8", "replace")
        self._stderr_file.close()
        return text

    def _check_stderr_so_far(self) -> None:
        if self._stderr_file is None:
            return
        self._stderr_file.seek(self._stderr_seen if hasattr(self, "_stderr_seen") else 0)
        text = self._stderr_file.read().decode("utf-8", "replace")
        self._stderr_seen = self._stderr_file.tell()
        self._stderr_file.seek(0, 2)
        text = "\n".join(line for line in text.splitlines()
                         if line.strip() and not any(m in line for m in IGNORED_STDERR))
        if text:
            self.fail("stderr", text.splitlines()[-1][:300], text[-3000:])

    # -- dialog answers ------------------------------------------------------------------------------------
    def _answer_question(self, *args, **kwargs):
        offered = args[3] if len(args) > 3 else kwargs.get("buttons", QMessageBox.Yes | QMessageBox.No)
        choices = [b for b in (QMessageBox.Save, QMessageBox.Discard, QMessageBox.Discard, QMessageBox.Cancel,
                               QMessageBox.Yes, QMessageBox.Yes, QMessageBox.No, QMessageBox.Ok)
                   if offered & b]
        answer = self._dialog_rng.choice(choices or [QMessageBox.Cancel])
        self.info(f"question {args[2] if len(args) > 2 else ''!r} -> {answer}")
        return answer

    def _answer_critical(self, *args, **kwargs):
        # the app's excepthook shows an internal error this way; a window under test must not need it
        self.fail("modal", f"critical message box: {args[1:3]!r}")
        return QMessageBox.Ok

    def _new_path(self, suffix: str) -> str:
        self._n_files += 1
        return os.path.join(self.workdir, f"m{self.seed}-{self._n_files}{suffix}")

    def _prune_files(self, keep: int = 6) -> None:
        """A long run saves hundreds of files: keep the last few (Open and Open recent use them)."""
        for pool in (self._saved_files, self._csv_files):
            while len(pool) > keep:
                old = pool.pop(0)
                if old not in pool:
                    try:
                        os.remove(old)
                    except OSError:
                        pass

    def _answer_save_name(self, parent=None, caption="", directory="", filt="", *args, **kwargs):
        if "png" in (filt or "").lower() or str(directory).endswith(".png"):
            suffix = ".png"
        elif "csv" in (filt or "").lower() or str(directory).endswith(".csv"):
            suffix = ".csv"
        else:
            suffix = ".nnviz"
        return self._save_answer(suffix, "metric" in str(directory) or "metric" in caption.lower()), filt

    def _save_answer(self, suffix: str, metrics: bool = False) -> str:
        r = self._dialog_rng.random()
        if r < 0.1:
            return ""   # the user cancels
        path = self._new_path(suffix)
        if suffix == ".nnviz" and r < 0.2:
            path = path[: -len(suffix)]   # no extension: the window adds it
        if suffix == ".nnviz":
            self._saved_files.append(path if path.endswith(".nnviz") else path + ".nnviz")
        elif suffix == ".csv" and not metrics:
            self._csv_files.append(path)
        return path

    def _answer_open_name(self, parent=None, caption="", directory="", filt="", *args, **kwargs):
        r = self._dialog_rng.random()
        csv = "csv" in (filt or "").lower() and "nnviz" not in (filt or "").lower()
        pool = [p for p in (self._csv_files if csv else self._saved_files) if os.path.exists(p)]
        if r < 0.1 or not pool:
            return "", ""
        if r < 0.15:
            return os.path.join(self.workdir, "missing" + (".csv" if csv else ".nnviz")), filt
        return self._dialog_rng.choice(pool), filt

    def _answer_get_item(self, parent, title, label, items, current=0, editable=True, *args, **kwargs):
        items = list(items)
        return (self._dialog_rng.choice(items), True) if items else ("", False)

    def _answer_open_dialogs(self) -> None:
        """A menu shown with popup() (not exec()) is still open when its action returns: answer it now, so
        the edit it makes belongs to this action (and never lands in the middle of a check)."""
        app = QApplication.instance()
        for _ in range(5):
            if app.activePopupWidget() is None and app.activeModalWidget() is None:
                return
            self._answer_modal()
            app.processEvents()

    def _answer_modal(self) -> None:
        app = QApplication.instance()
        # answering may open another modal inside (e.g. "replace the file?"): a running timer does not fire
        # again until its slot returns, so a fresh one-shot timer answers that one
        if app.activePopupWidget() is not None or app.activeModalWidget() is not None:
            QTimer.singleShot(100, self._answer_modal)
        popup = app.activePopupWidget()
        if isinstance(popup, QMenu):
            actions = [a for a in popup.actions() if a.isEnabled() and not a.isSeparator() and a.isVisible()
                       and a.menu() is None]
            if actions and self._dialog_rng.random() < 0.8:
                a = self._dialog_rng.choice(actions)
                self.info(f"popup menu: chose {a.text()!r}")
                popup.setActiveAction(a)
                QTest.keyClick(popup, Qt.Key_Return)
            else:
                popup.close()
            return
        if popup is not None:
            popup.close()
            return
        modal = app.activeModalWidget()
        if modal is None:
            return
        if isinstance(modal, QMessageBox):
            buttons = modal.buttons()
            b = self._dialog_rng.choice(buttons) if buttons else None
            self.info(f"message box {modal.text()[:80]!r}: clicked {b.text() if b else None!r}")
            if b is not None:
                b.click()
            else:
                modal.close()
        elif isinstance(modal, QFileDialog):
            if modal.acceptMode() == QFileDialog.AcceptSave:
                suffix = "." + (modal.defaultSuffix() or "nnviz")
                path = self._save_answer(suffix, "metric" in modal.windowTitle().lower())
            else:
                csv = "csv" in " ".join(modal.nameFilters()).lower() and "nnviz" not in " ".join(
                    modal.nameFilters()).lower()
                path = self._answer_open_name(filt="csv" if csv else "nnviz")[0]
            self.info(f"file dialog {modal.windowTitle()!r} -> {path!r}")
            if path:
                from PySide6.QtWidgets import QLineEdit
                from PySide6.QtWidgets import QAbstractItemView
                edit = modal.findChild(QLineEdit, "fileNameEdit")   # type the name, as a user does
                if edit is not None:
                    # a user typing has the focus there, and Qt then drops the file selected in the list
                    # (the suggested one); without that, accept() would take the listed file, not the name
                    modal.activateWindow()
                    edit.setFocus()
                    for view in modal.findChildren(QAbstractItemView):
                        view.clearSelection()
                    edit.setText(path)
                else:
                    modal.selectFile(path)
                modal.accept()
            else:
                modal.reject()
        elif isinstance(modal, QDialog):
            accept = self._dialog_rng.random() < 0.85
            self.info(f"dialog {type(modal).__name__} {modal.windowTitle()!r}: {'accept' if accept else 'reject'}")
            modal.accept() if accept else modal.reject()

    # -- set-up --------------------------------------------------------------------------------------------
    def start(self) -> None:
        from nnviz.presets import get_preset
        from nnviz.ui.main_window import MainWindow
        app = QApplication.instance() or QApplication([])
        self.app = app
        self._t0 = time.monotonic()
        random.seed(self.seed)            # the window's own random choices (data seeds, new seeds)
        np.random.seed(self.seed % 2**32)
        self._redirect_stderr()
        self._install_hooks()
        settings = QSettings(os.path.join(self.workdir, f"settings-{self.seed}.ini"), QSettings.IniFormat)
        client = _client_class()()
        preset = get_preset("circle")
        self.w = w = MainWindow(client, settings=settings, experiment=preset.build())
        if hasattr(w, "show_generator_settings"):
            w.show_generator_settings(preset.data)
        w.resize(1280, 860)
        w.show()
        QTest.qWaitForWindowExposed(w)
        w.activateWindow()
        self._seed_canvas_rng()
        w.points_model.changed.connect(self._on_points_emitted)
        self._watch_clear()
        self._last_emitted = w.points_model.points
        if not wait_until(lambda: w.last_snapshot is not None, 60, w.frame_drawn):
            self.fail("invariant", "no first frame from the training process within 60 s")
        self.result.rss["start"] = (rss_kb(os.getpid()), rss_kb(self.client_pid()))
        self._record_state()

    def _watch_clear(self) -> None:
        """Loading clears the undo stack: the states recorded before it are no longer reachable."""
        stack = self.w.undo_stack
        original = stack.clear

        def clear():
            self._cleared = True
            original()
        stack.clear = clear

    def _seed_canvas_rng(self) -> None:
        if hasattr(self.w.canvas, "_rng"):   # brush sprays are random: make them reproducible
            self.w.canvas._rng = np.random.default_rng(self.seed)

    def _on_points_emitted(self, points) -> None:
        self._last_emitted = points

    def client_pid(self) -> int | None:
        c = self.w.client if self.w is not None else None
        return getattr(c, "pid", None) if c is not None else None

    # -- undo bookkeeping ----------------------------------------------------------------------------------
    def _current_state(self) -> tuple:
        return self.w.points_model.points, self.w.config_model.config

    def _record_state(self) -> None:
        stack = self.w.undo_stack
        cmds = [stack.command(i) for i in range(stack.count())]
        keep = 0
        while keep < min(len(cmds), len(self._commands)) and cmds[keep] is self._commands[keep]:
            keep += 1
        # states after 0..keep commands are still those recorded; later ones were replaced
        if self._cleared:
            self._states, self._cleared = {}, False
        self._states = {i: s for i, s in self._states.items() if i <= keep}
        self._commands = cmds
        self._states[stack.index()] = self._current_state()

    # -- the actions ---------------------------------------------------------------------------------------
    def _actions(self) -> list:
        """(name, weight) of every action; choose_<name>(rng) returns its args or None (not possible now)."""
        return [
            ("play", 6), ("step", 4), ("reset", 2), ("new_weights", 1), ("speed", 2), ("restart", 0.25),
            ("wait_frames", 6), ("fit", 1), ("toggle_action", 2), ("dock", 0.6),
            ("undo", 5), ("redo", 4), ("select_all", 1), ("delete_selected", 1), ("key", 4),
            ("new", 0.4), ("open_lesson", 1.5), ("open_dialog", 0.5), ("open_recent", 0.3), ("save", 0.6),
            ("save_as", 0.6), ("import_csv", 0.4), ("export", 0.8), ("quit_cancel", 0.2), ("about", 0.1),
            ("control", 14), ("type_control", 3), ("penalty_preset", 1), ("data_control", 3),
            ("regenerate", 2), ("resplit", 1), ("tool", 3), ("class_button", 2),
            ("click", 8), ("drag", 5), ("stroke", 3), ("select_box", 2), ("delete_key", 1.5), ("escape", 0.5),
            ("wheel", 1), ("pan", 0.5), ("context_menu", 1), ("round_trip", 0.4),
        ]

    def choose(self, rng: random.Random) -> tuple[str, dict]:
        table = self._actions()
        names = [n for n, _ in table]
        weights = [wt for _, wt in table]
        for _ in range(50):
            name = rng.choices(names, weights)[0]
            args = getattr(self, f"choose_{name}")(rng)
            if args is not None:
                return name, args
        return "wait_frames", {"n": 1}

    def do(self, name: str, args: dict) -> None:
        getattr(self, f"do_{name}")(**args)

    # transport
    def choose_play(self, rng):
        return {}

    def do_play(self):
        self.w.act_play.trigger()

    def choose_step(self, rng):
        return {}

    def do_step(self):
        self.w.act_step.trigger()

    def choose_reset(self, rng):
        return {}

    def do_reset(self):
        self.w.act_reset.trigger()

    def choose_new_weights(self, rng):
        return {}

    def do_new_weights(self):
        self.w.act_redraw.trigger()

    def choose_speed(self, rng):
        return {"index": rng.randrange(self.w.speed_combo.count())}

    def do_speed(self, index):
        self.w.speed_combo.setCurrentIndex(index)

    def choose_restart(self, rng):
        return {} if self.w.act_restart.isEnabled() else None

    def do_restart(self):
        self.w.act_restart.trigger()
        wait_until(lambda: self.w.client.alive and self.w.last_snapshot is not None, 30, self.w.frame_drawn)

    def choose_wait_frames(self, rng):
        return {"n": rng.choice([1, 1, 2, 3, 5])}

    def do_wait_frames(self, n):
        """Let the window draw up to n frames (bounded: 2 s)."""
        count = [0]

        def seen(_epoch):
            count[0] += 1
        self.w.frame_drawn.connect(seen)
        try:
            wait_until(lambda: count[0] >= n, 2.0, self.w.frame_drawn)
        finally:
            self.w.frame_drawn.disconnect(seen)

    # view
    def choose_fit(self, rng):
        return {}

    def do_fit(self):
        self.w.act_fit.trigger()

    def _toggle_actions(self) -> dict:
        w = self.w
        acts = {"discretize": w.act_discretize, "mistakes": w.act_misclassified}
        return {k: a for k, a in acts.items() if a.isEnabled()}

    def choose_toggle_action(self, rng):
        acts = self._toggle_actions()
        return {"name": rng.choice(sorted(acts))} if acts else None

    def do_toggle_action(self, name):
        self._toggle_actions()[name].trigger()

    def _docks(self) -> dict:
        from PySide6.QtWidgets import QDockWidget
        return {d.objectName(): d for d in self.w.findChildren(QDockWidget) if d.objectName()}

    def choose_dock(self, rng):
        docks = self._docks()
        return {"name": rng.choice(sorted(docks))} if docks else None

    def do_dock(self, name):
        dock = self._docks().get(name)
        if dock is not None:
            dock.toggleViewAction().trigger()

    # edit
    def choose_undo(self, rng):
        return {"times": rng.choice([1, 1, 1, 2, 5])}

    def do_undo(self, times):
        for _ in range(times):
            self.w.act_undo.trigger()

    def choose_redo(self, rng):
        return {"times": rng.choice([1, 1, 1, 2, 5])}

    def do_redo(self, times):
        for _ in range(times):
            self.w.act_redo.trigger()

    def choose_select_all(self, rng):
        return {}

    def do_select_all(self):
        self.w.act_select_all.trigger()

    def choose_delete_selected(self, rng):
        return {}

    def do_delete_selected(self):
        self.w.act_delete.trigger()

    KEYS = [("Space", Qt.Key_Space, 0), ("S", Qt.Key_S, 0), ("Right", Qt.Key_Right, 0), ("R", Qt.Key_R, 0),
            ("Shift+R", Qt.Key_R, 1), ("F", Qt.Key_F, 0), ("D", Qt.Key_D, 0), ("M", Qt.Key_M, 0),
            ("A", Qt.Key_A, 0), ("B", Qt.Key_B, 0), ("E", Qt.Key_E, 0), ("V", Qt.Key_V, 0),
            ("Ctrl+Z", Qt.Key_Z, 2), ("Ctrl+Y", Qt.Key_Y, 2), ("Ctrl+Shift+Z", Qt.Key_Z, 3),
            ("Ctrl+A", Qt.Key_A, 2), ("Delete", Qt.Key_Delete, 0), ("Backspace", Qt.Key_Backspace, 0),
            ("Escape", Qt.Key_Escape, 0), ("Up", Qt.Key_Up, 0), ("Down", Qt.Key_Down, 0),
            ("PageUp", Qt.Key_PageUp, 0), ("Tab", Qt.Key_Tab, 0), ("Return", Qt.Key_Return, 0),
            ("1", Qt.Key_1, 0), ("2", Qt.Key_2, 0)]

    def _key_targets(self) -> dict:
        w = self.w
        targets = {"canvas": w.canvas.plot_widget, "speed": w.speed_combo}
        for panel, prefix in ((w.control_panel, "control"), (w.data_panel, "data")):
            for child in panel.findChildren(QWidget):
                if child.objectName() and isinstance(child, (QAbstractSpinBox, QComboBox)) and child.isVisible() \
                        and child.isEnabled():
                    targets[f"{prefix}:{child.objectName()}"] = child
        return targets

    def choose_key(self, rng):
        targets = self._key_targets()
        target = "canvas" if rng.random() < 0.5 else rng.choice(sorted(targets))
        return {"target": target, "key": rng.choice(self.KEYS)[0]}

    def do_key(self, target, key):
        widget = self._key_targets().get(target)
        if widget is None:
            return
        _name, code, mods = next(k for k in self.KEYS if k[0] == key)
        modifier = Qt.NoModifier
        if mods & 1:
            modifier |= Qt.ShiftModifier
        if mods & 2:
            modifier |= Qt.ControlModifier
        self.w.activateWindow()
        widget.setFocus()
        QTest.keyClick(widget, code, modifier)

    # files
    def choose_new(self, rng):
        return {}

    def do_new(self):
        self.w.act_new.trigger()

    def _lesson_actions(self) -> list:
        return [a for a in self.w.presets_menu.actions() if a.text()]

    def choose_open_lesson(self, rng):
        acts = self._lesson_actions()
        return {"title": rng.choice(acts).text()} if acts else None

    def do_open_lesson(self, title):
        for a in self._lesson_actions():
            if a.text() == title:
                a.trigger()
                return

    def choose_open_dialog(self, rng):
        return {}

    def do_open_dialog(self):
        self.w.act_open.trigger()

    def choose_open_recent(self, rng):
        acts = [a for a in self.w.recent_menu.actions() if a.text() and not a.isSeparator()]
        return {"n": rng.randrange(len(acts))} if acts and self.w.recent_menu.isEnabled() else None

    def do_open_recent(self, n):
        acts = [a for a in self.w.recent_menu.actions() if a.text() and not a.isSeparator()]
        if n < len(acts):
            acts[n].trigger()

    def choose_save(self, rng):
        return {}

    def do_save(self):
        self.w.act_save.trigger()
        self._wait_save()

    def choose_save_as(self, rng):
        return {}

    def do_save_as(self):
        self.w.act_save_as.trigger()
        self._wait_save()

    def _save_busy(self) -> bool:
        w = self.w
        for name in ("saving", "is_saving", "_saving", "_save_job", "save_job", "_save"):
            v = getattr(w, name, None)
            if callable(v):
                try:
                    v = v()
                except TypeError:
                    continue
            if v:
                running = getattr(v, "isRunning", None) or getattr(v, "is_alive", None) or getattr(v, "running", None)
                if callable(running):
                    return bool(running())
                return True
        return False

    def _wait_save(self) -> None:
        """Saving may be asynchronous (C3): wait until it has finished (bounded)."""
        if not wait_until(lambda: not self._save_busy(), 60):
            self.fail("invariant", "a save did not finish within 60 s")

    def choose_import_csv(self, rng):
        return {}

    def do_import_csv(self):
        self.w.act_import_csv.trigger()

    def _export_actions(self) -> dict:
        w = self.w
        acts = {"csv": w.act_export_csv, "png": w.act_export_png, "metrics": w.act_export_metrics}
        for name in dir(w):   # more export actions may come (whole window, scale)
            if name.startswith("act_export") and name[len("act_export_"):] not in acts:
                a = getattr(w, name)
                if hasattr(a, "trigger"):
                    acts[name[len("act_export_"):]] = a
        return acts

    def choose_export(self, rng):
        return {"what": rng.choice(sorted(self._export_actions()))}

    def do_export(self, what):
        a = self._export_actions().get(what)
        if a is not None:
            a.trigger()

    def choose_quit_cancel(self, rng):
        return {} if self.w.is_modified() else None

    def do_quit_cancel(self):
        """Quit with unsaved work, answering Cancel: the window must stay."""
        old = QMessageBox.question
        QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.Cancel)
        try:
            if not self.w.is_modified():
                return
            self.w.close()
        finally:
            QMessageBox.question = old
        if not self.w.isVisible():
            self.fail("invariant", "Quit + Cancel closed the window")

    def choose_about(self, rng):
        return {}

    def do_about(self):
        self.w._about()

    # controls
    CONTROL_TYPES = (QComboBox, QAbstractSpinBox, QAbstractButton, QSlider)

    def _controls(self, panel) -> dict:
        out = {}
        for child in panel.findChildren(QWidget):
            name = child.objectName()
            if name and isinstance(child, self.CONTROL_TYPES) and child.isVisible() and child.isEnabled() \
                    and not name.startswith("qt_") and name not in out:
                out[name] = child
        return out

    def _n_points(self) -> int:
        return len(self.w.points_model.points)

    def _too_costly(self, n_points: int | None = None, cfg=None) -> bool:
        cfg = cfg or self.w.config_model.config
        n = self._n_points() if n_points is None else n_points
        return n * _n_weights(cfg, 4) > COST_BUDGET

    def _spin_value(self, rng, spin, name: str):
        lo, hi = spin.minimum(), spin.maximum()
        is_int = isinstance(spin, QSpinBox) or (isinstance(spin, QDoubleSpinBox) and spin.decimals() == 0)
        if name == "data.count":
            hi = min(hi, 100_000 if self.big else MAX_COUNT_NORMAL)
        if name.startswith("architecture.hidden_layers.") or name.startswith("schedule.") \
                or name.startswith("early_stopping.patience"):
            hi = min(hi, 10**6)
        r = rng.random()
        if r < 0.2:
            v = lo
        elif r < 0.35:
            v = hi
        elif r < 0.45:
            v = lo + spin.singleStep()
        elif r < 0.7 and lo > 0 and hi / max(lo, 1e-300) > 1e3:
            v = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        else:
            v = rng.uniform(lo, min(hi, lo + 200 * max(spin.singleStep(), 1e-9)))
        v = min(max(v, lo), hi)
        if is_int:
            return int(round(v))
        return float(f"{v:.6g}")

    def _allowed(self, name: str, value) -> bool:
        """Skip edits that would make epochs slow (the monkey is about agreement, not speed)."""
        cfg = self.w.config_model.config
        if name.startswith("architecture.hidden_layers.") and name.rsplit(".", 1)[1].isdigit():
            i = int(name.rsplit(".", 1)[1])
            if i < len(cfg.architecture.hidden_layers):
                cfg.architecture.hidden_layers[i] = int(value)
            return not self._too_costly(cfg=cfg)
        if name == "architecture.hidden_layers.add":
            layers = cfg.architecture.hidden_layers
            cfg.architecture.hidden_layers = layers + [layers[-1] if layers else 4]
            return not self._too_costly(cfg=cfg)
        if name == "data.count":
            return not self._too_costly(n_points=int(value))
        return True

    def choose_control(self, rng):
        controls = self._controls(self.w.control_panel)
        if not controls:
            return None
        name = rng.choice(sorted(controls))
        widget = controls[name]
        if isinstance(widget, QComboBox):
            return {"name": name, "op": "index", "value": rng.randrange(widget.count())} if widget.count() else None
        if isinstance(widget, QSlider):
            return {"name": name, "op": "slider", "value": rng.randint(widget.minimum(), widget.maximum())}
        if isinstance(widget, QAbstractSpinBox):
            if rng.random() < 0.25:
                return {"name": name, "op": "step", "value": rng.choice([-3, -1, 1, 1, 2, 10])}
            value = self._spin_value(rng, widget, name)
            return {"name": name, "op": "value", "value": value} if self._allowed(name, value) else None
        if isinstance(widget, QAbstractButton):
            if _menu(widget) is not None:
                return None   # penalty presets: see choose_penalty_preset
            return {"name": name, "op": "click"} if self._allowed(name, None) else None
        return None

    def _find(self, panel, name):
        return self._controls(panel).get(name)

    def _apply_control(self, panel, name, op, value=None):
        widget = self._find(panel, name)
        if widget is None:
            return
        if op == "index":
            if value < widget.count():
                widget.setCurrentIndex(value)
        elif op == "slider":
            widget.setSliderDown(True)
            widget.setValue(value)
            widget.setSliderDown(False)
        elif op == "step":
            widget.stepBy(value)
            if hasattr(widget, "editingFinished"):
                widget.editingFinished.emit()
        elif op == "value":
            widget.setValue(value)
            if hasattr(widget, "editingFinished"):
                widget.editingFinished.emit()
        elif op == "click":
            widget.click()
        elif op == "type":
            self.w.activateWindow()
            widget.setFocus()
            QTest.keyClick(widget, Qt.Key_A, Qt.ControlModifier)
            QTest.keyClicks(widget, str(value))
            QTest.keyClick(widget, Qt.Key_Return)

    def do_control(self, name, op, value=None):
        self._apply_control(self.w.control_panel, name, op, value)

    def choose_type_control(self, rng):
        panel = self.w.control_panel if rng.random() < 0.8 else self.w.data_panel
        spins = {n: wd for n, wd in self._controls(panel).items() if isinstance(wd, QAbstractSpinBox)}
        if not spins:
            return None
        name = rng.choice(sorted(spins))
        r = rng.random()
        if r < 0.7:
            v = self._spin_value(rng, spins[name], name)
            if not self._allowed(name, v):
                return None
            if isinstance(v, float):
                text = repr(v) if rng.random() < 0.5 else f"{v:g}"
            else:
                text = str(v)
        else:
            text = rng.choice(["", "-1", "1e", "abc", "1e400", "nan", "0", "0.5", "99999999999", ".", "1e-9"])
            if name == "data.count" and text == "99999999999":
                text = "3000"
        return {"panel": "control" if panel is self.w.control_panel else "data", "name": name, "text": text}

    def do_type_control(self, panel, name, text):
        p = self.w.control_panel if panel == "control" else self.w.data_panel
        self._apply_control(p, name, "type", text)

    def choose_penalty_preset(self, rng):
        buttons = {n: wd for n, wd in self._controls(self.w.control_panel).items() if _menu(wd) is not None}
        if not buttons:
            return None
        name = rng.choice(sorted(buttons))
        acts = [a for a in _menu(buttons[name]).actions() if not a.isSeparator()]
        return {"name": name, "n": rng.randrange(len(acts))} if acts else None

    def do_penalty_preset(self, name, n):
        button = self._find(self.w.control_panel, name)
        if _menu(button) is None:
            return
        acts = [a for a in _menu(button).actions() if not a.isSeparator()]
        if n < len(acts):
            acts[n].trigger()

    # data panel
    DATA_SKIP = ("data.regenerate", "data.resplit", "tool.", "class.", "data.seed")

    def choose_data_control(self, rng):
        controls = {n: wd for n, wd in self._controls(self.w.data_panel).items() if not n.startswith(self.DATA_SKIP)}
        if not controls:
            return None
        name = rng.choice(sorted(controls))
        widget = controls[name]
        if isinstance(widget, QComboBox):
            return {"name": name, "op": "index", "value": rng.randrange(widget.count())} if widget.count() else None
        if isinstance(widget, QAbstractSpinBox):
            value = self._spin_value(rng, widget, name)
            return {"name": name, "op": "value", "value": value} if self._allowed(name, value) else None
        if isinstance(widget, QAbstractButton):
            return {"name": name, "op": "click"}
        return None

    def do_data_control(self, name, op, value=None):
        self._apply_control(self.w.data_panel, name, op, value)

    def choose_regenerate(self, rng):
        if self._too_costly(n_points=self.w.data_panel.count()):
            return None
        return {"seed": rng.randrange(2**31 - 1) if rng.random() < 0.3 else None}

    def do_regenerate(self, seed=None):
        """Regenerate (a new data seed), or type a data seed and press Enter (that exact data set)."""
        if seed is None:
            b = self._find(self.w.data_panel, "data.regenerate")
            if b is not None:
                b.click()
        else:
            self._apply_control(self.w.data_panel, "data.seed", "value", seed)

    def choose_resplit(self, rng):
        return {}

    def do_resplit(self):
        b = self._find(self.w.data_panel, "data.resplit")
        if b is not None:
            b.click()

    def choose_tool(self, rng):
        tools = sorted(n for n in self._controls(self.w.data_panel) if n.startswith("tool."))
        return {"name": rng.choice(tools)} if tools else None

    def do_tool(self, name):
        b = self._find(self.w.data_panel, name)
        if b is not None:
            b.click()

    def choose_class_button(self, rng):
        classes = sorted(n for n in self._controls(self.w.data_panel) if n.startswith("class."))
        return {"name": rng.choice(classes)} if classes else None

    def do_class_button(self, name):
        self.do_tool(name)

    # canvas
    def _random_pos(self, rng, near_point: float = 0.3) -> tuple[float, float]:
        (x0, x1), (y0, y1) = self.w.canvas.view_box.viewRange()
        pts = self.w.points_model.points
        if len(pts) and rng.random() < near_point:
            i = rng.randrange(len(pts))
            x, y = pts.xy[i]
            if x0 < x < x1 and y0 < y < y1:
                return round(float(x), 6), round(float(y), 6)
        return (round(x0 + (x1 - x0) * rng.uniform(0.04, 0.96), 4),
                round(y0 + (y1 - y0) * rng.uniform(0.04, 0.96), 4))

    def _widget_pos(self, x: float, y: float) -> QPoint:
        vp = self.w.canvas.plot_widget.viewport()
        p = self.w.canvas.data_to_widget(x, y)
        return QPoint(min(max(p.x(), 1), vp.width() - 2), min(max(p.y(), 1), vp.height() - 2))

    BUTTONS = {"left": Qt.LeftButton, "right": Qt.RightButton, "middle": Qt.MiddleButton}

    def _mods(self, shift: bool):
        return Qt.ShiftModifier if shift else Qt.NoModifier

    def choose_click(self, rng):
        x, y = self._random_pos(rng)
        return {"x": x, "y": y, "button": rng.choice(["left"] * 6 + ["right", "middle"]), "shift": rng.random() < 0.15}

    def do_click(self, x, y, button="left", shift=False):
        QTest.mouseClick(self.w.canvas.plot_widget.viewport(), self.BUTTONS[button], self._mods(shift),
                         self._widget_pos(x, y))

    def _drag(self, path, button="left", shift=False):
        vp = self.w.canvas.plot_widget.viewport()
        b = self.BUTTONS[button]
        QTest.mousePress(vp, b, self._mods(shift), self._widget_pos(*path[0]))
        for x, y in path[1:]:
            QTest.mouseMove(vp, self._widget_pos(x, y))
        QTest.mouseRelease(vp, b, self._mods(shift), self._widget_pos(*path[-1]))

    def _path(self, rng, start=None, steps=None):
        a = start or self._random_pos(rng, near_point=0.5)
        b = self._random_pos(rng, near_point=0.0)
        steps = steps or rng.randint(2, 10)
        return [(round(a[0] + (b[0] - a[0]) * t, 4), round(a[1] + (b[1] - a[1]) * t, 4))
                for t in np.linspace(0, 1, steps + 1)]

    def choose_drag(self, rng):
        return {"path": self._path(rng), "shift": rng.random() < 0.1}

    def do_drag(self, path, shift=False, button="left"):
        self._drag([tuple(p) for p in path], button, shift)

    def choose_stroke(self, rng):
        return {"tool": rng.choice(["brush", "erase"]), "path": self._path(rng)}

    def do_stroke(self, tool, path):
        self.do_tool(f"tool.{tool}")
        self._drag([tuple(p) for p in path])

    def choose_select_box(self, rng):
        return {"path": self._path(rng, steps=rng.randint(2, 5)), "shift": rng.random() < 0.2}

    def do_select_box(self, path, shift=False):
        self.do_tool("tool.select")
        self._drag([tuple(p) for p in path], "left", shift)

    def choose_delete_key(self, rng):
        return {"key": rng.choice(["Delete", "Backspace"])}

    def do_delete_key(self, key):
        self.w.activateWindow()
        self.w.canvas.plot_widget.setFocus()
        QTest.keyClick(self.w.canvas.plot_widget, Qt.Key_Delete if key == "Delete" else Qt.Key_Backspace)

    def choose_escape(self, rng):
        return {}

    def do_escape(self):
        self.w.canvas.plot_widget.setFocus()
        QTest.keyClick(self.w.canvas.plot_widget, Qt.Key_Escape)

    def choose_wheel(self, rng):
        x, y = self._random_pos(rng, 0.0)
        return {"x": x, "y": y, "delta": rng.choice([-360, -120, 120, 240, 600])}

    def do_wheel(self, x, y, delta):
        vp = self.w.canvas.plot_widget.viewport()
        pos = QPointF(self._widget_pos(x, y))
        ev = QWheelEvent(pos, QPointF(vp.mapToGlobal(pos.toPoint())), QPoint(), QPoint(0, delta), Qt.NoButton,
                         Qt.NoModifier, Qt.NoScrollPhase, False)
        QApplication.sendEvent(vp, ev)

    def choose_pan(self, rng):
        return {"path": self._path(rng, steps=3), "button": rng.choice(["middle", "right"])}

    def do_pan(self, path, button):
        self._drag([tuple(p) for p in path], button)

    def choose_context_menu(self, rng):
        x, y = self._random_pos(rng, near_point=0.7)
        return {"x": x, "y": y}

    def do_context_menu(self, x, y):
        """Right-click with the Select tool (a context menu on a selection, if the canvas offers one)."""
        self.do_tool("tool.select")
        vp = self.w.canvas.plot_widget.viewport()
        pos = self._widget_pos(x, y)
        QTest.mouseClick(vp, Qt.RightButton, Qt.NoModifier, pos)
        from PySide6.QtGui import QContextMenuEvent
        QApplication.sendEvent(vp, QContextMenuEvent(QContextMenuEvent.Mouse, pos, vp.mapToGlobal(pos)))

    def choose_check(self, rng):
        return None   # only in written logs: the periodic checks come every check_every actions

    def do_check(self, round_trip=True, reopen=False):
        self.check(round_trip=round_trip, reopen=reopen)

    def choose_round_trip(self, rng):
        return {"reopen": rng.random() < 0.5}

    def do_round_trip(self, reopen):
        self.check_round_trip(reopen)

    # -- invariants ----------------------------------------------------------------------------------------
    def blocking_state(self, timeout: float = STATE_TIMEOUT):
        c = self.w.client
        if hasattr(c, "request_state_blocking"):
            return c.request_state_blocking(timeout)
        return c.request_state(timeout)   # before C3 the blocking request had this name

    def settle(self) -> None:
        """Let queued work finish: events, an open menu, a gesture's last points, a running save."""
        self.app.processEvents()
        self._answer_open_dialogs()
        pm = self.w.points_model
        if not wait_until(lambda: self._last_emitted is pm.points and not getattr(pm, "in_gesture", False), 5):
            self.fail("invariant", "the points model did not emit its final points within 5 s of the last edit")
        self._wait_save()

    def window_says_out_of_sync(self) -> bool:
        """The window shows that the training process does not train on what it shows (C4): its own idea
        of the session's state says "not in sync" and the banner is up. A window without that idea (or
        an unrelated banner, e.g. a stale error) does not count: that was issue 11 item 1."""
        w = self.w
        in_sync = getattr(w, "_in_sync", None) or getattr(w, "in_sync", None)
        if in_sync is None:
            return False
        if (in_sync() if callable(in_sync) else in_sync) is not False:
            return False
        if not w.banner.isVisible():
            return False
        source = getattr(w, "_banner_source", "sync")
        if source != "sync":
            self.info(f"out of sync, but the banner shows {source!r}: {w.banner.text()[:100]!r}")
        return True

    def check(self, round_trip: bool = True, reopen: bool = False) -> None:
        self._in_check = True
        try:
            self._check(round_trip, reopen)
        finally:
            self._in_check = False
        self.result.checks += 1

    def _check(self, round_trip: bool, reopen: bool) -> None:
        w = self.w
        self.settle()
        self._check_stderr_so_far()
        self._check_session_errors()
        if not w.client.alive:
            self.fail("invariant", "the training process is not alive (nobody killed it)")
            return
        # 1. the epoch advances while the window shows training as running
        if w._playing and w.last_snapshot is not None:
            e0 = w.last_snapshot.epoch
            advanced = self._epoch_advances()
            if not advanced:
                self.fail("invariant", f"the window shows Pause (playing) but the epoch stayed at {e0} for "
                          f"{ADVANCE_TIMEOUT:.0f} s", f"last snapshot: playing={w.last_snapshot.playing} "
                          f"stop={w.last_snapshot.stop_message!r}")
        self.agreement()
        if round_trip:
            self.check_round_trip(reopen)

    def _epoch_advances(self) -> bool:
        """While the window shows Pause, a later epoch of the same run is drawn within ADVANCE_TIMEOUT.

        A new run (another generation: new weights, an architecture change, a load; or a restarted
        process, whose generations count afresh) numbers its epochs from its own start, usually 0: its
        frames are compared with its own first frame, not with the last epoch of the run before it
        (at 5 epochs/s a run reset at epoch 395 would need 79 s to pass it)."""
        w = self.w

        def run_of(snap):
            return w.client, snap.generation

        base = [run_of(w.last_snapshot), w.last_snapshot.epoch]

        def advanced() -> bool:
            if not w._playing:
                return True
            snap = w.last_snapshot
            run = run_of(snap)
            if run[0] is not base[0][0] or run[1] != base[0][1]:
                base[0], base[1] = run, snap.epoch   # a new run: count from its first frame seen
                return False
            return snap.epoch > base[1]
        return wait_until(advanced, ADVANCE_TIMEOUT, w.frame_drawn)

    def _check_session_errors(self) -> None:
        errors = getattr(self.w.client, "session_errors", [])
        for message, detail in errors[self._seen_session_errors:]:
            if "internal error" in message.lower() or detail:
                self.fail("session-error", message, detail)
        self._seen_session_errors = len(errors)

    def _wait_idle(self, label: str = "") -> None:
        """Paused: wait until the child has done what the last Play/Pause/Step asked (a Step's epoch runs
        after the command; a state request would interrupt it, and see or save the epoch before it)."""
        w = self.w
        if w._playing or w.last_snapshot is None:
            return
        seq = getattr(w, "_transport_seq", None)
        idle = wait_until(lambda: not w.last_snapshot.playing and (
            seq is None or getattr(w.last_snapshot, "transport_seq", seq) >= seq), 10, w.frame_drawn)
        if not idle:
            self.fail("invariant", f"{label}the window shows training paused, but 10 s later the child "
                      f"still trains (epoch {w.last_snapshot.epoch})")

    def agreement(self, label: str = "") -> bool:
        """The child trains on the window's settings and points and shows its epoch, or the window says not."""
        w = self.w
        c = w.client
        self._wait_idle(label)
        was_playing = w._playing or (w.last_snapshot is not None and w.last_snapshot.playing)
        reply = self.blocking_state()
        if reply is None:
            self.fail("invariant", f"{label}a state request was not answered within {STATE_TIMEOUT:.0f} s "
                      f"(child alive: {c.alive})")
            return False
        reply_seq = getattr(c, "reply_seq", 0)
        got_snap = wait_until(lambda: getattr(c, "snap_seq", 0) > reply_seq and w.last_snapshot is c.last_snap,
                              10, w.frame_drawn)
        if not got_snap:
            self.fail("invariant", f"{label}no frame followed a state reply within 10 s")
            return False
        snap = w.last_snapshot
        window_cfg = w.config_model.config
        window_pts = w.points_model.points
        window_ver = w._points_version
        child_ver = getattr(reply, "points_version", snap.points_version)
        problems = []
        if reply.config != window_cfg:
            problems.append(f"settings differ: child vs window: {_config_diff(reply.config, window_cfg)}")
        if child_ver != window_ver or snap.points_version != window_ver:
            problems.append(f"points version: child {child_ver} (frame {snap.points_version}), window {window_ver}")
        child_pts = getattr(reply, "points", None)
        if child_pts is not None and child_pts != window_pts:
            problems.append(f"points differ: child {len(child_pts)}, window {len(window_pts)}")
        in_sync = getattr(reply, "in_sync", None)
        if in_sync is False or problems:
            if in_sync is not False and not problems:
                pass
            self.result.out_of_sync_seen += 1
            if not self.window_says_out_of_sync():
                why = getattr(reply, "sync_message", "")
                self.fail("invariant", f"{label}window and child disagree and the window does not say so: "
                          + "; ".join(problems or [f"session not in sync: {why}"]),
                          f"banner visible={w.banner.isVisible()} text={w.banner.text()!r}")
                return False
            return True
        # in sync: the epoch, history and weights agree too
        if not was_playing and not w._playing and not snap.playing:
            if snap.epoch != reply.epoch:
                self.fail("invariant", f"{label}epoch: child {reply.epoch}, window frame {snap.epoch} (paused)")
            if len(w.history) and int(w.history.last("epoch")) != reply.epoch:
                self.fail("invariant", f"{label}the window's last history row is epoch "
                          f"{int(w.history.last('epoch'))}, the child is at {reply.epoch}")
        elif snap.epoch < reply.epoch:
            self.fail("invariant", f"{label}a frame after the state reply shows epoch {snap.epoch} < {reply.epoch}")
        n_layers = len(window_cfg.architecture.hidden_layers) + 1
        if reply.weights is not None and len(reply.weights) != n_layers:
            self.fail("invariant", f"{label}the child's weights have {len(reply.weights)} layers, the settings "
                      f"{n_layers}")
        return True

    def check_round_trip(self, reopen: bool) -> None:
        """Save, read the file back and compare; optionally open it in the window and compare the child."""
        from nnviz.experiment import load_experiment
        w = self.w
        was_playing = w._playing
        if was_playing:
            w.pause()
        self.settle()
        self._wait_idle("save round trip: ")
        path = self._new_path(".nnviz")
        before = self.blocking_state()
        ok = w.save_to(path)
        self._wait_save()
        after = self.blocking_state()
        if before is None or after is None:
            self.fail("invariant", "a state request around a save was not answered")
            return
        if not ok or not os.path.exists(path):
            if not self.window_says_out_of_sync() or not w.banner.isVisible():
                self.fail("invariant", f"save failed: {w.banner.text()!r}")
            else:
                self.info(f"save refused while out of sync: {w.banner.text()!r}")
            if was_playing:
                w.play()
            return
        self._saved_files.append(path)
        self._prune_files()
        self.result.round_trips += 1
        exp = load_experiment(path)
        problems = []
        if exp.points != w.points_model.points:
            problems.append(f"points: file {len(exp.points)}, window {len(w.points_model.points)}")
        if exp.config != w.config_model.config:
            problems.append(f"settings: file vs window: {_config_diff(exp.config, w.config_model.config)}")
        in_sync = getattr(after, "in_sync", True)
        if in_sync is not False:
            if not _weights_equal(exp.weights, after.weights):
                problems.append("weights in the file differ from the child's")
            saved_epoch = int(exp.history.last("epoch")) if exp.history is not None and len(exp.history) else 0
            if exp.history is not None and saved_epoch != after.epoch:
                problems.append(f"history ends at epoch {saved_epoch}, the child is at {after.epoch}")
        elif exp.weights is not None:
            problems.append("saved weights although the session was not in sync (trained on other points)")
        if problems:
            self.fail("invariant", "save round trip: " + "; ".join(problems))
        if reopen:
            self.result.reopens += 1
            if not w.open_path(path):
                self.fail("invariant", f"reopening {path} failed: {w.banner.text()!r}")
            else:
                self.settle()
                st = self.blocking_state()
                if st is None:
                    self.fail("invariant", "no state after reopening")
                else:
                    p2 = []
                    if w.points_model.points != exp.points:
                        p2.append("window points")
                    if w.config_model.config != exp.config:
                        p2.append(f"window settings ({_config_diff(w.config_model.config, exp.config)})")
                    if st.config != exp.config:
                        p2.append(f"child settings ({_config_diff(st.config, exp.config)})")
                    if exp.weights is not None and not _weights_equal(st.weights, exp.weights):
                        p2.append("child weights")
                    if exp.history is not None and len(exp.history) and st.epoch != int(exp.history.last("epoch")):
                        p2.append(f"child epoch {st.epoch} vs file {int(exp.history.last('epoch'))}")
                    if getattr(st, "points", None) is not None and st.points != exp.points:
                        p2.append("child points")
                    if p2:
                        self.fail("invariant", "reopen is not exact: " + ", ".join(p2))
                self.agreement("after reopen: ")
        if was_playing:
            w.play()

    def final_checks(self) -> None:
        w = self.w
        self.index += 1   # the final checks count as one more step in the log
        self.result.log.append([self.index, "final_checks", {}])
        if w._playing:
            w.pause()
        self.settle()
        self.check(round_trip=True, reopen=False)
        self._record_state()
        stack = w.undo_stack
        end = self._current_state()
        end_index = stack.index()
        states = dict(self._states)
        # undo all the way, comparing every recorded state on the way
        guard = stack.count() + 5
        while stack.canUndo() and guard > 0:
            guard -= 1
            w.act_undo.trigger()
            self.app.processEvents()
            self._compare_state(states.get(stack.index()), f"undo to index {stack.index()}")
        if stack.index() != 0:
            self.fail("invariant", f"undo stopped at index {stack.index()} of {stack.count()}")
        self.settle()
        self.agreement("after undo to the start: ")
        guard = stack.count() + 5
        if end_index == 0:
            self._compare_state(end, "undo to the start (the run ended there)")
        while stack.canRedo() and guard > 0:
            guard -= 1
            w.act_redo.trigger()
            self.app.processEvents()
            self._compare_state(states.get(stack.index()), f"redo to index {stack.index()}")
            if stack.index() == end_index:
                self._compare_state(end, f"redo to index {end_index}, where the run ended")
        if stack.index() != stack.count():
            self.fail("invariant", f"redo stopped at index {stack.index()} of {stack.count()}")
        self.settle()
        self.agreement("after redo to the end: ")

    def _compare_state(self, expected, what: str) -> None:
        if expected is None:
            return
        points, cfg = self._current_state()
        if points != expected[0]:
            self.fail("invariant", f"{what}: points differ from the recorded state "
                      f"({len(points)} vs {len(expected[0])} points)")
        if cfg != expected[1]:
            self.fail("invariant", f"{what}: settings differ from the recorded state: {_config_diff(cfg, expected[1])}")

    def close(self) -> None:
        w = self.w
        client = w.client
        proc = getattr(client, "_proc", None)
        thread = getattr(client, "_thread", None)
        self.result.rss["end"] = (rss_kb(os.getpid()), rss_kb(self.client_pid()))
        w.forget_unsaved()
        old = QMessageBox.question
        QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.Discard)
        try:
            closed = w.close()
        finally:
            QMessageBox.question = old
        if not closed:
            self.fail("invariant", "the window did not close")
        self.app.processEvents()
        if proc is not None and proc.is_alive():
            self.fail("invariant", f"the training process {proc.pid} is alive after close")
        if thread is not None and thread.isRunning():
            self.fail("invariant", "the pipe reader thread runs after close")
        left = child_pids(os.getpid())
        if left:
            self.fail("invariant", f"processes left after close: {left}")
        w.deleteLater()
        self.app.processEvents()

    # -- running -------------------------------------------------------------------------------------------
    def step(self, name: str, args: dict) -> None:
        self.index += 1
        entry = [self.index, name, args]
        self.result.log.append(entry)
        if self._log_fh is not None:
            self._log_fh.write(json.dumps(entry) + "\n")
            self._log_fh.flush()
        if self.verbose:
            print(json.dumps(entry), flush=True)
        self._action_started = time.monotonic()
        faulthandler.dump_traceback_later(self.hang_seconds + 60, exit=True, file=self._real_stderr or sys.__stderr__)
        try:
            self.do(name, args)
        except Exception as exc:   # noqa: BLE001 - an exception out of the window's code is a finding
            self.fail("exception", f"{type(exc).__name__}: {exc}", traceback.format_exc())
        self.app.processEvents()
        self._answer_open_dialogs()
        self._record_state()
        self.result.actions += 1
        if (self.index + 1) % self.check_every == 0:
            n = (self.index + 1) // self.check_every
            try:
                self.check(round_trip=True, reopen=n % self.reopen_every == 0)
            except Exception as exc:   # noqa: BLE001
                self.fail("exception", f"in the invariant check: {type(exc).__name__}: {exc}", traceback.format_exc())
            self._record_state()
            if n % 4 == 0:
                self.app.processEvents()
        faulthandler.cancel_dump_traceback_later()
        self._action_started = None
        if self.index == self._middle:
            self.result.rss["middle"] = (rss_kb(os.getpid()), rss_kb(self.client_pid()))

    def run(self, n_actions: int, replay: list | None = None) -> Result:
        """``n_actions`` random actions (or the logged ``replay`` entries), then the final checks."""
        t0 = time.monotonic()
        self._log_fh = open(self.log_path, "w") if self.log_path else None
        self._middle = (len(replay) if replay is not None else n_actions) // 2
        try:
            self.start()
            if replay is not None:
                for _i, name, args in replay:
                    if name == "final_checks":
                        break
                    self.step(name, args)
                    if (self.stop_on_failure and self.result.failures) or self._hung:
                        break
            else:
                for _ in range(n_actions):
                    name, args = self.choose(self.rng)
                    self.step(name, args)
                    if (self.stop_on_failure and self.result.failures) or self._hung:
                        break
            if not (self.stop_on_failure and self.result.failures) and not self._hung:
                self._action_started = time.monotonic()
                try:
                    self.final_checks()
                except Exception as exc:   # noqa: BLE001
                    self.fail("exception", f"in the final checks: {type(exc).__name__}: {exc}",
                              traceback.format_exc())
            if "middle" not in self.result.rss:
                self.result.rss["middle"] = (rss_kb(os.getpid()), rss_kb(self.client_pid()))
            if self._hung:
                self.w.forget_unsaved()
                self.w.client.shutdown()
            self.close()
        except BaseException as exc:
            self.fail("driver", f"the monkey itself failed: {type(exc).__name__}: {exc}", traceback.format_exc())
            if self.w is not None and self.w.isVisible():   # never leave a child or a reader thread behind
                self.w.forget_unsaved()
                self.w.client.shutdown()
            if not isinstance(exc, Exception):
                raise
        finally:
            faulthandler.cancel_dump_traceback_later()
            self._uninstall_hooks()
            text = self._restore_stderr() if self._stderr_file is not None else ""
            if self._log_fh is not None:
                self._log_fh.close()
        seen = getattr(self, "_stderr_seen", 0)
        rest = "\n".join(line for line in text.encode("utf-8")[seen:].decode("utf-8", "replace").splitlines()
                         if line.strip() and not any(m in line for m in IGNORED_STDERR))
        if rest:
            self.fail("stderr", rest.splitlines()[-1][:300], rest[-3000:])
        self.result.seconds = time.monotonic() - t0
        return self.result


def run_monkey(seed: int, actions: int, workdir: str | None = None, **kwargs) -> Result:
    """One run on a fresh window and child; returns the Result (never raises for a finding)."""
    own = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix=f"nnviz-monkey-{seed}-")
    try:
        return Monkey(seed, workdir, **kwargs).run(actions)
    finally:
        if own:
            import shutil
            shutil.rmtree(workdir, ignore_errors=True)


def replay_log(path: str, upto: int | None = None, workdir: str | None = None, **kwargs) -> Result:
    entries = []
    with open(path) as fh:
        for line in fh:
            if line.strip():
                entries.append(json.loads(line))
    seed = int(kwargs.pop("seed", None) or 0)
    if upto is not None:
        entries = [e for e in entries if e[0] <= upto]
    workdir = workdir or tempfile.mkdtemp(prefix="nnviz-monkey-replay-")
    return Monkey(seed, workdir, **kwargs).run(len(entries), replay=entries)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--actions", type=int, default=int(os.environ.get("NNVIZ_MONKEY_ACTIONS", "300")))
    p.add_argument("--seeds", default=os.environ.get("NNVIZ_MONKEY_SEEDS", "1"),
                   help="comma-separated seeds, one run each")
    p.add_argument("--check-every", type=int, default=int(os.environ.get("NNVIZ_MONKEY_CHECK_EVERY", "25")))
    p.add_argument("--reopen-every", type=int, default=3, help="every Nth check also reopens the saved file")
    p.add_argument("--big", action="store_true", help="allow the Data panel's maximum of 100,000 points")
    p.add_argument("--log-dir", default=None, help="write each run's action log (JSON lines) here")
    p.add_argument("--replay", default=None, help="replay this action log instead of random actions")
    p.add_argument("--seed", type=int, default=0, help="with --replay: the seed of the logged run")
    p.add_argument("--upto", type=int, default=None, help="with --replay: the last action index to replay")
    p.add_argument("--stop-on-failure", action="store_true")
    p.add_argument("--hang-seconds", type=float, default=120.0,
                   help="an action or check that takes longer ends the run as a hang")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    QApplication.instance() or QApplication([sys.argv[0]])
    results = []
    if a.replay:
        results.append(replay_log(a.replay, a.upto, seed=a.seed, check_every=a.check_every, big=a.big,
                                  reopen_every=a.reopen_every, verbose=a.verbose,
                                  stop_on_failure=a.stop_on_failure, hang_seconds=a.hang_seconds,
                                  hard_exit=True))
    else:
        for seed in [int(s) for s in a.seeds.split(",") if s.strip()]:
            log = os.path.join(a.log_dir, f"monkey-seed{seed}.jsonl") if a.log_dir else None
            if a.log_dir:
                os.makedirs(a.log_dir, exist_ok=True)
            r = run_monkey(seed, a.actions, check_every=a.check_every, big=a.big, reopen_every=a.reopen_every,
                           verbose=a.verbose, stop_on_failure=a.stop_on_failure, log_path=log,
                           hang_seconds=a.hang_seconds, hard_exit=True)
            results.append(r)
            print(r.describe() if r.failures else r.figures(), flush=True)
    if a.replay:
        print(results[0].describe() if results[0].failures else results[0].figures())
    total_f = sum(len(r.failures) for r in results)
    print(f"TOTAL: {sum(r.actions for r in results)} actions over {len(results)} run(s), "
          f"{sum(r.counts().get('exception', 0) for r in results)} exceptions, "
          f"{sum(r.counts().get('invariant', 0) for r in results)} invariant failures, {total_f} failures in all")
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
