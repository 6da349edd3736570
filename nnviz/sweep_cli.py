"""``nnviz sweep``: train an experiment once per value of one parameter (and per seed), print the model
complexity table, write the CSV (one row per run) and optionally the graph as PNG.

Wiring (in nnviz/cli.py): ``sweep_cli.add_parser(commands)`` in ``build_parser`` and
``if args.command == "sweep": return sweep_cli.run(args)`` in ``main``. Qt is imported only for ``--png``.
"""
from __future__ import annotations

import argparse
import sys
import time

from .errors import NnvizError

EPILOG = """values: a list (1,2,4,8) or a range START:STOP:COUNT with lin (default) or log spacing, e.g.
1:128:8:log gives 1,2,4,...,128 (whole-number parameters are rounded, duplicates dropped).
Runs go to local worker processes (all cores by default) or, with --scheduler, to a Dask cluster
(pip install 'nnviz[distributed]'; start one with `dask scheduler` and `dask worker tcp://HOST:8786`).
The same seeds give the same results whatever the number of workers or where they ran."""


def _whole(lo: int, hi: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number of {what}, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be from {lo} to {hi}, got {value}")
        return value
    return parse


def add_parser(subparsers) -> argparse.ArgumentParser:
    from .sweep.spec import MAX_SEEDS, MAX_SWEEP_EPOCHS, METRICS, PARAMS

    p = subparsers.add_parser(
        "sweep", help="train once per value of one parameter and print the model complexity table",
        description="Sweep one parameter of a lesson or an experiment file: train it for every value and "
                    "seed on the same points, print train and test error (or loss) per value - mean and "
                    "min-max across seeds, the best test value - and write one CSV row per run.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", nargs="?", metavar="EXPERIMENT",
                   help="a lesson name (see `nnviz presets`) or a .nnviz file; default: the opening lesson")
    p.add_argument("--param", default="hidden_units", choices=list(PARAMS),
                   help="the parameter to vary (default: hidden_units, the width of every hidden layer)")
    p.add_argument("--values", required=True, metavar="LIST|RANGE",
                   help="the values: 1,2,4,8 or a range like 1:128:8:log")
    p.add_argument("--seeds", type=_whole(1, MAX_SEEDS, "seeds"), default=3, metavar="N",
                   help="runs per value, with seeds S, S+1, ... from the experiment's seed (default: 3)")
    p.add_argument("--epochs", type=_whole(1, MAX_SWEEP_EPOCHS, "epochs"), metavar="N",
                   help="epochs per run (at most, with early stopping on); default: the lesson's length")
    p.add_argument("--metric", choices=list(METRICS), default=None,
                   help="what the table and graph compare: error (default) or loss (regression: loss)")
    p.add_argument("--workers", type=_whole(1, 4096, "workers"), metavar="N",
                   help="local worker processes (default: all cores); ignored with --scheduler")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:PORT)")
    p.add_argument("--timeout", type=float, default=5.0, metavar="S",
                   help="seconds to wait for the Dask scheduler to answer (default: 5)")
    p.add_argument("--csv", metavar="FILE", help="write one row per run to this CSV file")
    p.add_argument("--png", metavar="FILE", help="draw the model complexity graph into this PNG file")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return p


def _resolve(text):
    from .cli import resolve_experiment
    r = resolve_experiment(text)
    if isinstance(r, tuple):          # older resolver: (label, experiment, epochs)
        return r[0], r[1], r[2]
    return r.label, r.experiment, r.epochs


def run(args) -> int:
    """Run the sweep the arguments describe; 0 on success, 1 on an error (message on stderr), 130 on Ctrl+C."""
    try:
        return _run(args)
    except NnvizError as e:
        print(f"nnviz: error: {e}", file=sys.stderr)
        return 1


def _run(args) -> int:
    from .sweep import SweepSpec, check_metric, format_value, parse_values, run_sweep

    values = parse_values(args.values, args.param)           # a bad --values fails before anything runs
    label, experiment, default_epochs = _resolve(args.experiment)
    config = experiment.config
    metric = args.metric or ("loss" if config.problem == "regression" else "error")
    spec = SweepSpec(args.param, values, seeds=args.seeds, epochs=args.epochs or max(1, default_epochs),
                     metric=metric, first_seed=config.architecture.seed)
    check_metric(spec, config)
    for path in (args.csv, args.png):
        if path:
            from .cli import _check_writable   # one check for every command (refuses devices too)
            _check_writable(path)
    if args.png:
        _check_qt()
    total = len(spec.runs())
    show = not args.quiet
    tty = show and sys.stderr.isatty()
    if show:
        where = f"the Dask cluster at {args.scheduler}" if args.scheduler else \
            f"{args.workers or 'all'} local worker(s)"
        print(f"{label}: {spec.param} = {', '.join(format_value(v) for v in values)}; {spec.seeds} seed(s), "
              f"{spec.epochs if spec.param != 'epochs' else 'value'} epochs; {total} runs on {where}",
              file=sys.stderr)
    started = time.perf_counter()

    def progress(out, done, n):
        if tty:
            elapsed = time.perf_counter() - started
            eta = elapsed / done * (n - done)
            sys.stderr.write(f"\r{done}/{n} runs, {elapsed:.0f} s, about {eta:.0f} s left   ")
            sys.stderr.flush()

    result, problems = run_sweep(spec, config, experiment.points, workers=args.workers,
                                 scheduler=args.scheduler, connect_timeout=args.timeout, on_outcome=progress)
    if tty:
        sys.stderr.write("\r" + " " * 60 + "\r")
    seconds = time.perf_counter() - started
    if show and len(result):
        print(result.table())
        print(f"{len(result)} of {total} runs in {seconds:.1f} s")
    for p in problems:
        print(f"nnviz: warning: {p}", file=sys.stderr)
    if args.csv and len(result):
        result.write_csv(args.csv)
    if args.png and len(result):
        from .ui.sweep_panel import render_png
        render_png(result, args.png)
    interrupted = any(p.startswith("interrupted") for p in problems)
    if interrupted:
        return 130
    if len(result) < total:
        print(f"nnviz: error: only {len(result)} of {total} runs finished", file=sys.stderr)
        return 1
    return 0


def _check_qt() -> None:
    try:
        import PySide6.QtWidgets  # noqa: F401
        import pyqtgraph  # noqa: F401
    except ImportError as e:
        raise NnvizError(f"--png needs the app's graphics libraries: {e} (is PySide6 installed?)") from None


def main(argv=None) -> int:
    """``python -m nnviz.sweep_cli ...`` (the same as ``nnviz sweep ...`` once wired into nnviz.cli)."""
    parser = argparse.ArgumentParser(prog="nnviz")
    add_parser(parser.add_subparsers(dest="command"))
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(["sweep", *argv])
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
