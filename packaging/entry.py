"""The frozen (PyInstaller) program's entry point.

``freeze_support()`` must run before anything else: the GUI starts its training process with the
"spawn" method, which in a frozen app re-runs this executable with multiprocessing's own arguments.
Called first, the child goes straight to ``nnviz.session.child.serve`` without importing the CLI or Qt.
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()

    import nnviz.cli

    sys.exit(nnviz.cli.main())
