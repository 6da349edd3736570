"""``nnviz screenshot``: train N epochs and save a PNG of the whole window, never showing it.

It prints what really happened (epochs trained of those asked, an early stop, a divergence, nothing
trained) and fails, without writing the image, when training or drawing hit an error.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import traceback

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QLayout

from ..errors import NnvizError
from .app import make_app
from .main_window import MainWindow
from .session_client import InProcessSessionClient

DEFAULT_SIZE = (1440, 900)


def take_screenshot(resolved, epochs: int, out: str, size: tuple[int, int] = DEFAULT_SIZE,
                    network: str | None = None) -> int:
    """``resolved`` is what ``nnviz.cli.resolve_experiment`` made of the EXPERIMENT argument; ``network``:
    None, "tab" (the Network tab in front) or "centre" (the network large beside the canvas)."""
    if epochs < 0:
        raise NnvizError("--epochs must be 0 or more")
    w, h = size
    if not (320 <= w <= 8000 and 240 <= h <= 8000):
        raise NnvizError("--size must be between 320x240 and 8000x8000")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # before the QApplication exists
    app = make_app()
    errors: list[tuple[str, str]] = []    # (message, detail) from the session or from a slot
    window_output = io.StringIO()         # the window prints tracebacks of session errors: keep stdout clean

    def excepthook(kind, value, tb):      # an exception in a slot (drawing, a snapshot): PySide calls this
        errors.append((f"Internal error: {kind.__name__}: {value}",
                       "".join(traceback.format_exception(kind, value, tb))))

    old_hook, sys.excepthook = sys.excepthook, excepthook
    try:
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(window_output):
            # a throw-away settings file: a screenshot must not depend on (or change) the user's layout
            settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.IniFormat)
            client = InProcessSessionClient()   # deterministic: exactly N epochs, then one frame
            client.error.connect(lambda message, detail: errors.append((message, detail)))
            preset = resolved.preset
            window = MainWindow(client, settings=settings,
                                experiment=resolved.experiment if preset is None else None, path=resolved.path)
            try:
                if preset is not None:   # as File > Open lesson shows it: all its runs, data, speed, sweep
                    window.show_lesson(preset)
                window.resize(w, h)
                # A top-level layout that changes the minimum size of a shown window (at show(), or when a
                # banner appears) makes Qt call propagateSizeHints(), which the offscreen platform does not
                # implement: it printed "This plugin does not support propagateSizeHints()". So the layout
                # sets the window's minimum size once, before there is a native window, and then stops
                # managing it (the window's size is fixed here anyway).
                show_without_size_hints(window)
                app.processEvents()
                window.canvas.fit_view()
                if network == "centre":
                    window.set_network_large(True)
                elif network == "tab":
                    window.show_network_view(True)
                app.processEvents()
                window._view_timer.stop()   # the layout has settled: send the final view now, not after a delay
                window._send_view()
                # every run of a comparison has its own in-process session: each trains exactly N epochs
                clients = [run.client for run in window.compare.runs]
                trainers = [c.session.trainer for c in clients]
                firsts = [t.epoch for t in trainers]
                if not errors:
                    for c in clients:
                        c.pump(epochs)
                for c in clients:
                    c.pump(0)
                for _ in range(3):
                    app.processEvents()
                outcomes = [_outcome(t.summary(), getattr(t, "stop_info", None), t.epoch - first, epochs)
                            for t, first in zip(trainers, firsts)]
                if len(outcomes) > 1:
                    outcome = "; ".join(f"{label or 'run ' + str(i + 1)}: {text}" for i, (label, text)
                                        in enumerate(zip(window.compare.labels, outcomes)))
                else:
                    outcome = outcomes[0]
                window.tile_grid.flush()   # tiles draw their points a turn after the canvas
                window.network_view.flush()
                image = window.grab() if not errors else None
                app.processEvents()
            finally:
                window.forget_unsaved()
                window.close()
                QApplication.processEvents()
    except MemoryError:
        errors.append(("out of memory: use fewer neurons or layers, a smaller batch, or fewer points", ""))
    except NnvizError:
        raise
    except Exception as exc:   # a bug while building or drawing the window
        errors.append((f"Internal error: {type(exc).__name__}: {exc}", traceback.format_exc()))
    finally:
        sys.excepthook = old_hook
    if errors:
        return _report_failure(errors)
    if not image.save(out):
        raise NnvizError(f"{out}: could not write the image (check the folder and the .png name)")
    got = f"{image.width()}x{image.height()}"
    if (image.width(), image.height()) != (w, h):
        got += f", the smallest the window can be; {w}x{h} was asked"
    print(f"wrote {out} ({got}): {outcome}")
    return 0


def _outcome(summary: dict, stop, trained: int, asked: int) -> str:
    """What training did, for the 'wrote' line: epochs trained of those asked and why it stopped."""
    kind = summary.get("stop_kind") or (stop.kind if stop is not None else "")
    message = summary.get("stop") or (stop.message if stop is not None else "")
    now = int(summary["epochs"])
    at = f" (now at epoch {now})" if now != trained else ""
    if kind == "no_training_points" and trained == 0:
        return f"nothing trained of {asked} epochs asked: {message}"
    if asked == 0:
        return f"no epochs asked, epoch {now}"
    if trained == asked and kind != "diverged":
        done = f"trained {trained} epoch{'s' if trained != 1 else ''}{at}"
    else:
        done = f"trained {trained} of {asked} epochs{at}"
    if kind == "early_stopping":
        return f"{done}; stopped early: {message}" if message else f"{done}; stopped early at epoch {now}"
    if kind == "diverged":
        return f"{done}; {message}" if message else f"{done}; diverged at epoch {now + 1}"
    return done


def _report_failure(errors: list[tuple[str, str]]) -> int:
    """The first error decides: its traceback (a bug: worth reporting) and one line, exit code 1."""
    message, detail = errors[0]
    if detail and "MemoryError" not in detail:
        print(detail.rstrip(), file=sys.stderr)
    if "MemoryError" in detail or "ArrayMemoryError" in message:
        message = "out of memory: use fewer neurons or layers, a smaller batch, or fewer points"
    print(f"nnviz: error: {message[0].lower() + message[1:]}; no image written", file=sys.stderr)
    return 1


def show_without_size_hints(window) -> None:
    """Show a window whose size is fixed by the caller without Qt calling propagateSizeHints().

    A top-level layout that changes the minimum size of a shown window makes Qt call it, and the
    offscreen platform prints "This plugin does not support propagateSizeHints()". So the layout sets
    the minimum size once, before there is a native window, and then stops managing it.
    """
    from PySide6.QtWidgets import QLayout
    window.ensurePolished()
    window.layout().activate()
    window.layout().setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
    window.show()
