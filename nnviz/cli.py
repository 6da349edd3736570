"""The ``nnviz`` command: open the app, train headless, list the lessons, take screenshots.

This module never imports Qt at the top level: ``nnviz train`` and ``nnviz presets`` run on
machines without a display (or without PySide6). Every user error ends as one line on stderr,
``nnviz: error: <message>``, with exit code 2 (bad arguments) or 1 (anything else), never a traceback.
"""
from __future__ import annotations

import argparse
import difflib
import math
import multiprocessing
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from . import __version__
from .errors import NnvizError

if TYPE_CHECKING:
    from .experiment import Experiment
    from .presets import Preset

COMMANDS = ("train", "presets", "screenshot", "sweep", "record")
FILE_DEFAULT_EPOCHS = 1000
MAX_EPOCHS = 100_000_000
PROGRESS_SECONDS = 0.5
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but sub-command errors also read ``nnviz: error: ...`` (not ``nnviz train: error``)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"nnviz: error: {message}\n")


def _fail(message: str, code: int = 1) -> int:
    print(f"nnviz: error: {message}", file=sys.stderr)
    return code


# -- argument types ---------------------------------------------------------------------------------------

def _epochs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of epochs, got {text!r}") from None
    if not 0 <= value <= MAX_EPOCHS:
        raise argparse.ArgumentTypeError(f"epochs must be from 0 to {MAX_EPOCHS}, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole-number seed, got {text!r}") from None
    if not 0 <= value <= 2**32 - 1:
        raise argparse.ArgumentTypeError(f"the seed must be from 0 to {2**32 - 1}, got {value}")
    return value


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,6})\s*[xX×]\s*(\d{1,6})\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels (e.g. 1440x900), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nnviz",
        description="Watch a neural network learn. Without a command, opens the app "
                    "(with FILE.nnviz if given).",
        epilog="Run `nnviz COMMAND --help` for a command's options.")
    parser.add_argument("--version", action="version", version=f"nnviz {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation: open the window off-screen, train in the training "
                             "process, render, save and reopen a file; exit 0 if all works")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    experiment_help = "a lesson name (see `nnviz presets`) or a .nnviz file; default: the opening lesson"
    train = commands.add_parser(
        "train", help="train an experiment without the app and print a one-line summary",
        description="Train a lesson or an experiment file headless and print one summary line. Training "
                    "starts from the experiment's initial weights (its seed); weights saved in a file are "
                    "not reused. A comparison lesson (marked in `nnviz presets`) trains each of its runs "
                    "in turn and prints one line per run, prefixed by the run's label.")
    train.add_argument("experiment", nargs="?", metavar="EXPERIMENT", help=experiment_help)
    train.add_argument("--epochs", type=_epochs, metavar="N",
                       help=f"epochs to train (default: the lesson's length, {FILE_DEFAULT_EPOCHS} for a file)")
    train.add_argument("--csv", metavar="FILE",
                       help="write the per-epoch metrics to this CSV file (a comparison lesson: one file per "
                            "run, FILE's name with the run's label added, e.g. m-l1-0.01.csv)")
    train.add_argument("--save", metavar="FILE",
                       help="save the trained experiment (weights and history) here (a comparison lesson: "
                            "one .nnviz file per run, named like the --csv files)")
    train.add_argument("--seed", type=_seed, metavar="S",
                       help="seed for the initial weights, shuffling and dropout (the points stay the same; "
                            "a run of a lesson with fixed initial weights keeps them)")
    train.add_argument("--quiet", action="store_true", help="print nothing but errors")

    commands.add_parser("presets", help="list the built-in lessons",
                        description="List the built-in lessons: name, title and what each one shows; a "
                                    "comparison lesson (several runs side by side) is marked [compare N runs].")

    shot = commands.add_parser(
        "screenshot", help="train an experiment in the app off-screen and save a picture of the window",
        description="Train a lesson or an experiment file in the app off-screen and save the window as PNG.")
    shot.add_argument("experiment", nargs="?", metavar="EXPERIMENT", help=experiment_help)
    shot.add_argument("--epochs", type=_epochs, metavar="N",
                      help=f"epochs to train first (default: the lesson's length, {FILE_DEFAULT_EPOCHS} for a file)")
    shot.add_argument("--out", required=True, metavar="PNG", help="the image file to write")
    shot.add_argument("--size", type=_size, metavar="WxH", help="window size in pixels (default: 1440x900)")
    shot.add_argument("--network", choices=("tab", "centre"), default=None,
                      help="also show the network view: in its tab under the canvas, or large in the centre")

    from . import sweep_cli   # imports no Qt
    sweep_cli.add_parser(commands)
    from . import record_cli   # imports no Qt at the top level
    record_cli.add_parser(commands)
    return parser


# -- resolving an EXPERIMENT argument ----------------------------------------------------------------------

@dataclass(frozen=True)
class Resolved:
    """What an EXPERIMENT argument names: a lesson (``preset`` set) or a file (``path`` set)."""
    label: str                  # how the summary names it: the lesson name or the file's base name
    experiment: Experiment
    epochs: int                 # the default length of a run: the lesson's, or FILE_DEFAULT_EPOCHS
    path: str | None = None
    preset: Preset | None = None


def looks_like_path(text: str) -> bool:
    """A file rather than a lesson name: an existing path (a folder only if it is not also a lesson name),
    or anything with a path separator or a .nnviz/.csv suffix."""
    from .presets import PRESETS

    if os.sep in text or "/" in text or (os.altsep and os.altsep in text):
        return True
    if text.lower().endswith((".nnviz", ".csv")):
        return True
    if text in PRESETS:
        return os.path.lexists(text) and not os.path.isdir(text)
    return os.path.lexists(text)


def resolve_experiment(text: str | None) -> Resolved:
    """The one way every command reads an EXPERIMENT argument (None: the opening lesson).

    A path is loaded (``no such file`` when missing, and whatever the loader says about a bad or special
    file: it refuses what is not a regular file before opening it); anything else is a lesson name.
    """
    from .presets import DEFAULT_PRESET, PRESETS

    if text is None:
        text = DEFAULT_PRESET
    if looks_like_path(text):
        if text.lower().endswith(".csv") and os.path.isfile(text):
            raise NnvizError(f"{text}: a points CSV, not an experiment; import it in the app "
                             "(File > Import points) and save it as a .nnviz file")
        from .experiment import load_experiment
        return Resolved(os.path.basename(text) or text, load_experiment(text), FILE_DEFAULT_EPOCHS, path=text)
    preset = PRESETS.get(text)
    if preset is None:
        close = difflib.get_close_matches(text, list(PRESETS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise NnvizError(f"unknown lesson {text!r}{hint}; see `nnviz presets`, or give the path of a .nnviz file")
    return Resolved(preset.name, preset.build(), preset.epochs, preset=preset)


# -- commands ---------------------------------------------------------------------------------------------

# Qt's own system libraries (any platform, offscreen too), by the file name in an ImportError
QT_SYSTEM_LIBRARIES = {"libEGL": "libegl1", "libGL": "libgl1", "libxkbcommon": "libxkbcommon0",
                       "libfontconfig": "libfontconfig1", "libdbus-1": "libdbus-1-3"}


def _qt_missing(what: str, error: ImportError) -> int:
    """An ImportError of PySide6: a missing system library (say which package) or a missing PySide6."""
    text = str(error)
    if ".so" in text:
        name = text.split(":")[0].strip()
        package = next((p for stem, p in QT_SYSTEM_LIBRARIES.items() if name.startswith(stem + ".so")), None)
        hint = f" (on Debian/Ubuntu: sudo apt install {package})" if package else ""
        return _fail(f"{what}: Qt needs the system library {name}, which is missing{hint}")
    return _fail(f"{what}: {error} (is PySide6 installed?)")


def _run_gui(path: str | None) -> int:
    try:
        from .ui.app import run_gui
    except ImportError as e:
        return _qt_missing("the app cannot start", e)
    return run_gui(path)


def _cmd_presets() -> int:
    from .presets import PRESETS

    width = max(map(len, PRESETS))
    for name, preset in PRESETS.items():
        mark = f"[compare {len(preset.runs)} runs] " if preset.runs else ""
        print(f"{name:<{width}}  {mark}{preset.title}: {_first_sentence(preset.lesson)}")
    return 0


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text


def _cmd_screenshot(args) -> int:
    resolved = resolve_experiment(args.experiment)   # before Qt: a bad argument fails fast, with or without it
    epochs = resolved.epochs if args.epochs is None else args.epochs
    try:
        from .ui import screenshot
    except ImportError as e:
        return _qt_missing("screenshots need the app", e)
    size = args.size or screenshot.DEFAULT_SIZE
    # a comparison lesson (or a file holding a comparison) shows all its runs side by side
    return screenshot.take_screenshot(resolved, epochs, args.out, size, network=args.network)


def _cmd_record(args) -> int:
    try:
        from .record_cli import run
    except ImportError as e:
        return _fail(f"recording needs the app: {e} (are PySide6 and av installed?)")
    return run(args)


def _cmd_train(args) -> int:
    resolved = resolve_experiment(args.experiment)
    epochs = resolved.epochs if args.epochs is None else args.epochs
    preset = resolved.preset
    if preset is not None and preset.is_comparison:
        # one run after the other; each run's files: FILE's name with the run's label added
        runs = []
        for (label, exp), spec in zip(preset.build_runs(), preset.runs):
            exp.name = f"{preset.title} [{label}]"   # a saved run's file says which run it is
            runs.append((f"{preset.name} [{label}]", exp, run_path(args.csv, spec), run_path(args.save, spec)))
    else:
        runs = [(resolved.label, resolved.experiment, args.csv, args.save)]
    for _, _, csv_path, save_path in runs:   # fail before a long run, not after it
        for path in (csv_path, save_path):
            if path is not None:
                _check_writable(path)
    for label, experiment, csv_path, save_path in runs:
        code = _train_one(args, label, experiment, epochs, csv_path, save_path)
        if code != 0:   # interrupted (the rest is not trained) or an error
            return code
    return 0


def run_path(path: str | None, run) -> str | None:
    """The file of one run of a comparison: ``m.csv`` -> ``m-l1-0.01.csv`` (``run.slug`` added)."""
    if path is None:
        return None
    stem, ext = os.path.splitext(path)
    return f"{stem}-{run.slug}{ext}"


def _train_one(args, label: str, experiment: Experiment, epochs: int, csv_path: str | None,
               save_path: str | None) -> int:
    """Train one experiment from its initial weights (the seed's, or those a lesson's run fixes), write
    its files and print its summary line."""
    from .engine import Trainer, limit_blas_threads

    config = experiment.config.copy()
    if args.seed is not None:
        config.architecture.seed = args.seed
    limit_blas_threads(1)
    # a file's saved weights are not reused (its history would not match them); a lesson run's weights are
    # its initial weights (large-weights)
    weights = experiment.weights if experiment.history is None and not _is_file(args) else None
    trainer = Trainer(config, experiment.points, weights)
    progress = _Progress(label, epochs, enabled=not args.quiet and sys.stderr.isatty())
    start = time.perf_counter()
    interrupted = False
    try:
        while trainer.epoch < epochs:
            asked = min(epochs - trainer.epoch, 25)
            if trainer.train(asked) < asked:
                break
            progress.update(trainer)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.clear()
    seconds = time.perf_counter() - start
    trainer.complete_record()   # after Ctrl-C the newest row may not be evaluated yet: the files get it whole

    if trainer.stop_info is not None and trainer.stop_info.kind == "no_training_points":
        return _fail(f"{label}: {trainer.stop_info.message}")
    if csv_path is not None:
        from .fileio import write_atomically
        write_atomically(csv_path, trainer.history.to_csv())
    if save_path is not None:
        from .experiment import Experiment, save_experiment
        save_experiment(Experiment(config=trainer.config.copy(), points=experiment.points, name=experiment.name,
                                   description=experiment.description, weights=trainer.weights(),
                                   history=trainer.history), save_path)
    if not args.quiet:
        print(summary_line(label, trainer, seconds, interrupted))
    return EXIT_INTERRUPTED if interrupted else 0


def _is_file(args) -> bool:
    return args.experiment is not None and looks_like_path(args.experiment)


def _check_writable(path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise NnvizError(f"{path}: is a folder, not a file")
    if not os.path.isdir(directory):
        raise NnvizError(f"{path}: the folder {directory} does not exist")
    if os.path.exists(path) and not os.path.isfile(path):   # a pipe or a device is never replaced
        raise NnvizError(f"{path}: is not a regular file")
    if not os.access(directory, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise NnvizError(f"{path}: permission denied")


class _Progress:
    """A self-overwriting progress line on a terminal's stderr, at most every PROGRESS_SECONDS."""

    def __init__(self, label: str, epochs: int, enabled: bool):
        self.label, self.epochs, self.enabled = label, epochs, enabled
        self._next = time.perf_counter() + PROGRESS_SECONDS
        self._shown = False

    def update(self, trainer) -> None:
        now = time.perf_counter()
        if not self.enabled or now < self._next:
            return
        self._next = now + PROGRESS_SECONDS
        loss = trainer.history.last("train_loss")
        sys.stderr.write(f"\r{self.label}: epoch {trainer.epoch}/{self.epochs}, train loss {loss:.4g}  ")
        sys.stderr.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


# -- the summary line -------------------------------------------------------------------------------------

def summary_line(label: str, trainer, seconds: float, interrupted: bool = False) -> str:
    """E.g. ``spiral: 300 epochs (completed), best test loss 0.004 at epoch 295, final train loss 0.011
    error 0.4%, test loss 0.004 error 0.0%, 120 epochs/s``.

    Everything comes from ``Trainer.summary()``: the true number of epochs (not history rows, which thin
    out on long runs), and the losses of the weights the trainer holds now; after an early stop that
    restored the best weights, those are the restored epoch's and are labelled so.
    """
    s = trainer.summary()
    epochs = int(s["epochs"])
    kind = s.get("stop_kind") or ""
    restored = bool(s.get("restored"))
    if interrupted:
        reason = "interrupted"
    elif not kind:
        reason = "completed"
    elif kind == "early_stopping":
        reason = f"early stopping{', best weights restored' if restored else ''}"
    elif kind == "diverged":
        stop = getattr(trainer, "stop_info", None)
        reason = f"diverged at epoch {stop.epoch if stop else epochs + 1}; lower the learning rate"
    else:
        reason = kind.replace("_", " ")
    parts = [f"{label}: {epochs} epoch{'s' if epochs != 1 else ''} ({reason})"]
    best_epoch = s.get("best_epoch")
    best_value = s.get("best_value", getattr(trainer, "best_value", math.nan))
    if best_epoch is not None and best_value is not None and math.isfinite(best_value):
        monitor = s.get("monitor") or trainer.config.early_stopping.monitor
        parts.append(f"best {monitor.replace('_', ' ')} {_number(best_value)} at epoch {best_epoch}")
    finals = []
    for role in ("train", "test", "validation"):
        loss = s.get(f"{role}_loss", math.nan)
        if loss is None or not math.isfinite(loss):
            continue
        error = s.get(f"{role}_error", math.nan)
        text = f"{role} loss {_number(loss)}"
        if error is not None and math.isfinite(error):
            text += f" error {100 * error:.1f}%"
        finals.append(text)
    if finals:
        held = s.get("weights_epoch", best_epoch if restored else epochs)
        if restored:
            finals[0] = f"restored weights of epoch {held}: " + finals[0]
        elif kind == "diverged":   # the weights from before the epoch that diverged were kept
            finals[0] = f"kept weights of epoch {held}: " + finals[0]
        else:
            finals[0] = "final " + finals[0]
        parts.extend(finals)
    rate = epochs / seconds if seconds > 0 else math.inf
    if not math.isfinite(rate):
        parts.append("instant")
    elif rate >= 10:
        parts.append(f"{rate:.0f} epochs/s")
    else:   # a big network: seconds per epoch read better than "0 epochs/s"
        parts.append(f"{1 / rate:.3g} s/epoch" if rate > 0 else "0 epochs/s")
    return ", ".join(parts)


def _number(value: float) -> str:
    return f"{value:.3g}" if value >= 0.001 or value == 0 else f"{value:.2e}"


# -- entry point ------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    multiprocessing.freeze_support()   # a frozen (PyInstaller) app re-enters here in its training process
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    parser = build_parser()
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        return _open_file(parser, argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:   # --help, --version and usage errors: argparse has printed its message
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    try:
        if args.self_test:
            if args.command is not None:
                parser.print_usage(sys.stderr)
                return _fail("--self-test takes no command", 2)
            from .selftest import run as self_test
            return self_test()
        if args.command is None:
            return _run_gui(None)
        if args.command == "record":
            return _cmd_record(args)
        if args.command == "presets":
            return _cmd_presets()
        if args.command == "train":
            return _cmd_train(args)
        if args.command == "sweep":
            from . import sweep_cli
            return sweep_cli.run(args)
        return _cmd_screenshot(args)
    except NnvizError as e:
        return _fail(str(e))
    except MemoryError:   # the engine bounds its memory (a last resort for what it did not foresee)
        return _fail("out of memory: use fewer neurons or layers, a smaller batch, or fewer points")
    except OSError as e:   # the loaders and writers turn these into NnvizError; this is the safety net
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        return _fail(f"{where}{e.strerror or e}")


def _open_file(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    """`nnviz FILE.nnviz`: the app, opening that file (the app itself reports a file it cannot read)."""
    from .presets import PRESETS

    path = argv[0]
    if len(argv) > 1:
        parser.print_usage(sys.stderr)
        return _fail(f"unexpected arguments after {path!r}: {' '.join(argv[1:])}", 2)
    if not os.path.exists(path):
        hint = f"; to train the lesson, run `nnviz train {path}`" if path in PRESETS else ""
        return _fail(f"{path}: no such file{hint}")
    return _run_gui(path)


if __name__ == "__main__":
    sys.exit(main())
