"""``nnviz screenshot``: train N epochs and save a PNG of the whole window, never showing it."""
from __future__ import annotations

import os
import tempfile

from ..errors import NnvizError


def take_screenshot(experiment: str | None, epochs: int, out: str, size: tuple[int, int] = (1440, 900)) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from ..presets import get_preset
    from .app import initial_experiment, make_app
    from .main_window import MainWindow
    from .session_client import InProcessSessionClient

    if epochs < 0:
        raise NnvizError("--epochs must be 0 or more")
    w, h = size
    if not (320 <= w <= 8000 and 240 <= h <= 8000):
        raise NnvizError("--size must be between 320x240 and 8000x8000")
    app = make_app()
    preset = None
    if experiment and not os.path.exists(experiment):
        preset = get_preset(experiment)
        exp, path = preset.build(), None
    else:
        exp, path = initial_experiment(experiment), experiment
    with tempfile.TemporaryDirectory() as tmp:
        # a throw-away settings file: a screenshot must not depend on (or change) the user's layout
        settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.IniFormat)
        client = InProcessSessionClient()   # deterministic: exactly N epochs, then one frame
        window = MainWindow(client, settings=settings, experiment=exp, path=path)
        if preset is not None:
            window.show_generator_settings(preset.data)
        window.resize(w, h)
        window.show()
        app.processEvents()
        window.canvas.fit_view()
        window._view_timer.stop()   # the layout has settled: send the final view now, not after a delay
        window._send_view()
        client.pump(epochs)
        client.pump(0)
        for _ in range(3):
            app.processEvents()
        ok = window.grab().save(out)
        window.forget_unsaved()
        window.close()
        QApplication.processEvents()
    if not ok:
        raise NnvizError(f"could not write the image {out!r}")
    print(f"wrote {out} ({w}x{h}, epoch {epochs})")
    return 0
