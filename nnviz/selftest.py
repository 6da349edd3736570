"""``nnviz --self-test``: check that this installation (a checkout, a wheel or the PyInstaller bundle) works.

It opens the real main window off-screen, trains a few epochs of the opening lesson in the training
process (a separate, spawned process, as in the app), renders the window to a PNG, saves the experiment,
reopens the file and checks that points, weights and history came back. Everything goes to a temporary
folder (settings and recovery files too: the user's are never read or changed). It prints one line per
step and ``nnviz self-test: OK``, exit code 0; the first failure prints ``nnviz self-test: FAILED: <step>:
<reason>`` and exits 1. A watchdog ends a hung test (a stuck training process, a modal dialog) after
``TIMEOUT_SECONDS`` with exit code 1.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import traceback

EPOCHS = 20
TIMEOUT_SECONDS = 120.0
STEP_SECONDS = 60.0


class SelfTestError(Exception):
    pass


def _say(text: str) -> None:
    print(f"nnviz self-test: {text}", flush=True)


def _wait(app, condition, what: str, seconds: float = STEP_SECONDS) -> None:
    from PySide6.QtCore import QEventLoop
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SelfTestError(f"timed out after {seconds:g} s waiting for {what}")
        app.processEvents(QEventLoop.AllEvents, 20)
        time.sleep(0.002)


def _history_epochs(exp) -> int:
    return int(exp.history.last("epoch")) if exp.history is not None and len(exp.history) else 0


def _steps(tmp: str) -> str:
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QImage

    from . import __version__
    from .experiment import load_experiment
    from .presets import DEFAULT_PRESET, get_preset
    from .ui.app import make_app
    from .ui.main_window import MainWindow
    from .ui.session_client import ProcessSessionClient

    step = "start the app"
    app = make_app()
    _say(f"nnviz {__version__}, Python {sys.version.split()[0]}, Qt platform {app.platformName()}")
    slot_errors: list[str] = []
    previous_hook = sys.excepthook
    sys.excepthook = lambda kind, value, tb: slot_errors.append(
        "".join(traceback.format_exception(kind, value, tb)).strip())
    window = client = None
    try:
        step = "open the main window"
        settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.IniFormat)
        client = ProcessSessionClient()
        preset = get_preset(DEFAULT_PRESET)
        window = MainWindow(client, settings=settings, experiment=preset.build())
        window.resize(1280, 800)
        window.show()
        app.processEvents()
        if not client.alive:
            raise SelfTestError("the training process did not start")
        if getattr(client, "pid", None) in (None, os.getpid()):
            raise SelfTestError("training does not run in a separate process")
        _say(f"window open, training process {client.pid} running")

        step = f"train {EPOCHS} epochs in the training process"
        drawn: list[int] = []
        window.frame_drawn.connect(drawn.append)
        window.play()
        _wait(app, lambda: window.last_snapshot is not None and window.last_snapshot.epoch >= EPOCHS and drawn,
              f"epoch {EPOCHS}")
        window.pause()
        _wait(app, lambda: window.last_snapshot is not None and not window.last_snapshot.playing, "the pause")
        epoch = window.last_snapshot.epoch
        _say(f"trained {epoch} epochs, {len(drawn)} frames drawn")

        step = "render the window"
        png = os.path.join(tmp, "window.png")
        if not window.grab().save(png):
            raise SelfTestError(f"could not write {png}")
        image = QImage(png)
        if image.isNull() or image.width() < 320 or image.height() < 240:
            raise SelfTestError(f"the rendered image is empty or tiny ({image.width()}x{image.height()})")
        colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)}
        if len(colours) < 8:
            raise SelfTestError(f"the rendered window is nearly blank ({len(colours)} colours)")
        _say(f"rendered {image.width()}x{image.height()} ({len(colours)} colours sampled)")

        step = "save the experiment"
        path = os.path.join(tmp, "self-test.nnviz")
        if not window.save_to(path):
            raise SelfTestError(f"saving {path} failed: {window.statusBar().currentMessage() or 'no reason given'}")
        _wait(app, lambda: os.path.isfile(path), "the saved file")
        saved = load_experiment(path)
        if saved.weights is None:
            raise SelfTestError("the file has no weights")
        if _history_epochs(saved) < EPOCHS:
            raise SelfTestError(f"the file's history ends at epoch {_history_epochs(saved)}, not {EPOCHS} or more")
        if saved.points != window.points_model.points:
            raise SelfTestError("the file's points differ from the window's")
        _say(f"saved {os.path.getsize(path):,} bytes (epoch {_history_epochs(saved)})")

        step = "reopen the file"
        window.forget_unsaved()
        if not window.open_path(path):
            raise SelfTestError(window.statusBar().currentMessage() or "the window could not open it")
        want = _history_epochs(saved)
        _wait(app, lambda: window.last_snapshot is not None and window.last_snapshot.epoch == want,
              f"the training process to resume at epoch {want}")
        if window.points_model.points != saved.points:
            raise SelfTestError("the reopened points differ from the saved ones")
        if window.config_model.config.to_dict() != saved.config.to_dict():
            raise SelfTestError("the reopened settings differ from the saved ones")
        _say(f"reopened at epoch {want}")

        step = "close"
        if slot_errors:
            raise SelfTestError(f"an error in the app:\n{slot_errors[0]}")
        window.forget_unsaved()
        window.close()
        client.shutdown()
        app.processEvents()
        if client.alive:
            raise SelfTestError("the training process is still running after closing the window")
        window = None
        return f"OK ({epoch} epochs trained, saved and reopened)"
    except SelfTestError as e:
        raise SelfTestError(f"{step}: {e}") from None
    except Exception as e:
        raise SelfTestError(f"{step}: {type(e).__name__}: {e}\n{traceback.format_exc()}") from None
    finally:
        sys.excepthook = previous_hook
        if window is not None:
            try:
                window.forget_unsaved()
                window.close()
            except Exception:
                pass
        if client is not None:
            client.shutdown()


def run() -> int:
    """Run the self-test; 0 if everything worked, 1 (with the reason printed) if not."""
    from PySide6.QtWidgets import QApplication
    if QApplication.instance() is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"   # never shows a window, works without a display

    def hung() -> None:
        _say(f"FAILED: no answer within {TIMEOUT_SECONDS:g} s (hung)")
        sys.stdout.flush()
        os._exit(1)

    watchdog = threading.Timer(TIMEOUT_SECONDS, hung)
    watchdog.daemon = True
    watchdog.start()
    saved_env = {k: os.environ.get(k) for k in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    try:
        with tempfile.TemporaryDirectory(prefix="nnviz-self-test-") as tmp:
            # recovery files, settings and caches of this run stay in the temporary folder
            for key in saved_env:
                os.environ[key] = os.path.join(tmp, key.lower())
            try:
                result = _steps(tmp)
            except SelfTestError as e:
                _say(f"FAILED: {e}")
                return 1
            except ImportError as e:
                _say(f"FAILED: import: {e}")
                return 1
        _say(result)
        return 0
    finally:
        watchdog.cancel()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


if __name__ == "__main__":
    sys.exit(run())
