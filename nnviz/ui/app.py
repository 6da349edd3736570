"""Start the GUI: the application object, the training process, the main window."""
from __future__ import annotations

import sys
import traceback

from ..errors import NnvizError


def make_app(argv=None):
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setOrganizationName("nnviz")
    app.setApplicationName("nnviz")
    app.setApplicationDisplayName("nnviz")
    from .style import APP_STYLE
    app.setStyleSheet(APP_STYLE)
    icon = _icon_path()
    if icon:
        app.setWindowIcon(QIcon(icon))
    return app


def _icon_path() -> str | None:
    from importlib.resources import files
    try:
        path = files("nnviz") / "resources" / "nnviz.png"
        return str(path) if path.is_file() else None
    except (ModuleNotFoundError, OSError):
        return None


def initial_experiment(path: str | None):
    """The file asked for, or the default lesson. Raises NnvizError for a bad file."""
    from ..experiment import load_experiment
    from ..presets import DEFAULT_PRESET, get_preset
    if path:
        return load_experiment(path)
    return get_preset(DEFAULT_PRESET).build()


def run_gui(path: str | None = None) -> int:
    from PySide6.QtCore import QThread
    from PySide6.QtWidgets import QMessageBox

    from .main_window import MainWindow
    from .session_client import ProcessSessionClient

    app = make_app()
    error = None
    try:
        experiment = initial_experiment(path)
    except NnvizError as exc:   # open the default lesson and say why the file was not opened
        error = str(exc)
        experiment, path = initial_experiment(None), None

    window = MainWindow(ProcessSessionClient(), experiment=experiment, path=path)
    if path is None:
        from ..presets import DEFAULT_PRESET, get_preset
        window.show_generator_settings(get_preset(DEFAULT_PRESET).data)
    showing = []

    def excepthook(kind, value, tb):  # a bug in a slot: report it, keep the window and the user's work
        traceback.print_exception(kind, value, tb)
        if showing or QThread.currentThread() is not app.thread():
            return   # one dialog at a time, and only from the GUI thread
        showing.append(True)
        try:
            window.pause()   # a bug in a per-frame slot would otherwise repeat with every frame
            QMessageBox.critical(window, "nnviz: internal error", f"{kind.__name__}: {value}\n\n"
                                 "Training is paused. Your points and settings are still there; "
                                 "please save your work.")
        finally:
            showing.clear()
    sys.excepthook = excepthook
    window.show()
    if error:
        window._error("Cannot open the file", error)
    return app.exec()
