"""The desktop-integration files of the one-folder bundle: where each comes from and where it goes.

Used by ``nnviz.spec`` (to put them into ``dist/nnviz/``) and by ``tests/test_packaging.py`` (to build a
fake bundle and try ``install.sh`` / ``uninstall.sh`` on it), so the two never disagree. Paths are
relative to the checkout (source) and to the bundle folder (destination); ``install.sh`` reads the
``share/`` ones, the scripts sit beside the executable.
"""

BUNDLE_FILES = [
    # (source in the checkout, destination in the bundle, executable)
    ("resources/nnviz.desktop", "share/applications/nnviz.desktop", False),
    ("resources/nnviz-mime.xml", "share/mime/packages/nnviz.xml", False),
    ("nnviz/resources/nnviz.png", "share/icons/hicolor/256x256/apps/nnviz.png", False),
    ("packaging/install.sh", "install.sh", True),
    ("packaging/uninstall.sh", "uninstall.sh", True),
    ("packaging/BUNDLE-README.txt", "README.txt", False),
]


def copy_bundle_files(root, bundle) -> None:
    """Copy :data:`BUNDLE_FILES` from the checkout ``root`` into the bundle folder ``bundle``."""
    import os
    import shutil

    for src, dest, executable in BUNDLE_FILES:
        target = os.path.join(bundle, dest)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(root, src), target)
        os.chmod(target, 0o755 if executable else 0o644)
