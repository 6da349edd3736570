"""Start the GUI: the application object, the training process, the main window."""
from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
import traceback

from ..errors import NnvizError

# The system libraries Qt's X11 platform plugin (libqxcb.so and libQt6XcbQpa.so) loads that a PyPI wheel
# does not carry, with the Debian/Ubuntu package of each. A stock desktop often lacks the first few.
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
}


def platform_is_xcb(environ=None) -> bool:
    """Whether Qt will start on X11 (xcb): a display is set and neither the user nor the session chose
    another platform (Qt 6 prefers Wayland when XDG_SESSION_TYPE=wayland and a Wayland display exists)."""
    env = os.environ if environ is None else environ
    if not env.get("DISPLAY") or not sys.platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen.split(";")[0].split(":")[0].strip() == "xcb"
    return not (env.get("XDG_SESSION_TYPE") == "wayland" and env.get("WAYLAND_DISPLAY"))


def _can_load(soname: str) -> bool:
    """Whether the dynamic loader finds ``soname`` as Qt would: the system's paths, then Qt's own
    library folder (a wheel's or a PyInstaller bundle's)."""
    folders = []
    spec = importlib.util.find_spec("PySide6")
    for base in (spec.submodule_search_locations or []) if spec else []:
        folders.append(os.path.join(base, "Qt", "lib"))
    if getattr(sys, "_MEIPASS", None):
        folders.append(sys._MEIPASS)
    for candidate in [soname] + [os.path.join(f, soname) for f in folders]:
        try:
            ctypes.CDLL(candidate)
            return True
        except OSError:
            continue
    return False


def missing_xcb_libraries(environ=None, can_load=None) -> list[str]:
    """The X11 libraries Qt needs but cannot load; [] when all are there or the platform is not xcb."""
    if not platform_is_xcb(environ):
        return []
    can_load = can_load or _can_load
    return [name for name in XCB_LIBRARIES if not can_load(name)]


def xcb_advice(missing: list[str]) -> str:
    """What to tell the user when ``missing`` is not empty: the libraries and the exact install line."""
    packages = " ".join(dict.fromkeys(XCB_LIBRARIES[name] for name in missing))
    return (f"nnviz: Qt's X11 platform plugin (xcb) needs system libraries that are missing: "
            f"{', '.join(missing)}.\n"
            f"nnviz: on Debian/Ubuntu install them with:\n"
            f"    sudo apt install {packages}\n"
            f"nnviz: (other distributions: the packages that provide these files; or on a Wayland desktop "
            f"run with QT_QPA_PLATFORM=wayland)")


def warn_missing_system_libraries(environ=None, can_load=None, stream=None) -> bool:
    """Before Qt starts: print the install line if Qt's X11 plugin lacks libraries (Qt would abort with a
    message that does not say what to install). Returns whether something is missing; Qt still tries."""
    missing = missing_xcb_libraries(environ, can_load)
    if missing:
        print(xcb_advice(missing), file=stream or sys.stderr, flush=True)
    return bool(missing)


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
    warn_missing_system_libraries()   # before the QApplication, which loads the platform plugin
    from PySide6.QtCore import QThread

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
        preset = get_preset(DEFAULT_PRESET)
        window.show_generator_settings(preset.data)
        window.set_speed(int(preset.speed))   # the opening lesson at a speed where it can be watched
    showing = []

    def excepthook(kind, value, tb):  # a bug in a slot: report it, keep the window and the user's work
        traceback.print_exception(kind, value, tb)
        if showing or QThread.currentThread() is not app.thread():
            return   # one dialog at a time, and only from the GUI thread
        showing.append(True)
        try:
            report_internal_error(window, kind, value)
        finally:
            showing.clear()
    sys.excepthook = excepthook
    window.show()
    if error:
        window._error("Cannot open the file", error)
    window.offer_recoveries()   # after a crash or kill: restore, discard, or later
    window.start_autosave()     # from now on unsaved work (and the layout) is written every few seconds
    return app.exec()


def report_internal_error(window, kind, value) -> bool:
    """Pause training and say what went wrong. The window may be gone already (an exception while the
    application shuts down): then nothing is shown. Returns whether the dialog was shown."""
    from PySide6.QtWidgets import QMessageBox
    try:
        import shiboken6
        if window is None or not shiboken6.isValid(window):
            return False
        window.pause()   # a bug in a per-frame slot would otherwise repeat with every frame
        QMessageBox.critical(window, "nnviz: internal error", f"{kind.__name__}: {value}\n\n"
                             "Training is paused. Your points and settings are still there; "
                             "please save your work.")
    except RuntimeError:   # "Internal C++ object already deleted": the window went while we used it
        return False
    return True
