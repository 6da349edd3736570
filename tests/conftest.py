import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never read or write the user's settings: Qt keeps them under XDG_CONFIG_HOME on Linux. A test that
# runs the app's own start-up (make_app names the organisation, and the app then remembers choices such as
# the plots' log-epoch axis) writes them here, and every test starts from none (see below).
_CONFIG = tempfile.mkdtemp(prefix="nnviz-test-config-")
os.environ["XDG_CONFIG_HOME"] = _CONFIG

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _no_remembered_settings():
    """Whatever a test made the app remember (under the app's organisation) is forgotten after it, and the
    application's names and style sheet are what they were before it (most tests expect a bare
    QApplication's)."""
    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication
    names = (QCoreApplication.organizationName(), QCoreApplication.applicationName())
    app = QApplication.instance()
    sheet = app.styleSheet() if isinstance(app, QApplication) else None
    yield
    if sheet is not None and QApplication.instance() is app and app.styleSheet() != sheet:
        app.setStyleSheet(sheet)   # make_app's style sheet changes every widget's size
    if QCoreApplication.organizationName() and QCoreApplication.organizationName() != names[0]:
        QSettings().clear()
        QSettings().sync()
    QCoreApplication.setOrganizationName(names[0])
    QCoreApplication.setApplicationName(names[1])


@pytest.fixture
def settings(tmp_path):
    """A settings file of the test's own, for a MainWindow (never the user's)."""
    from PySide6.QtCore import QSettings
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
