"""The frozen (PyInstaller) program's entry point.

``freeze_support()`` must run before anything else: the GUI starts its training process with the
"spawn" method, which in a frozen app re-runs this executable with multiprocessing's own arguments.
Called first, the child goes straight to ``nnviz.session.child.serve`` without importing the CLI or Qt.

Everything else is ``nnviz.cli.main()``: the app, ``train``, ``presets``, ``screenshot``, ``record`` and
``--self-test``. Until the CLI itself knows ``--self-test`` and ``record``, they are dispatched here so
that the bundle's CI check (packaging/ci_check.sh) can run them.
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()

    import nnviz.cli

    argv = sys.argv[1:]
    if argv == ["--self-test"] and "--self-test" not in nnviz.cli.build_parser().format_help():
        import nnviz.selftest
        sys.exit(nnviz.selftest.run())
    if argv[:1] == ["record"] and "record" not in getattr(nnviz.cli, "COMMANDS", ()):
        import nnviz.record_cli
        sys.exit(nnviz.record_cli.main(argv))

    sys.exit(nnviz.cli.main())
