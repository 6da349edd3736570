"""The `nnviz` command: headless training, the lesson list, dispatch to the app, and clean user errors."""
import csv
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from nnviz import __version__
from nnviz.cli import main, resolve_experiment, summary_line
from nnviz.engine import Trainer
from nnviz.errors import NnvizError
from nnviz.experiment import load_experiment
from nnviz.presets import DEFAULT_PRESET, PRESETS, get_preset

NUMBER = r"\d[\d.e+-]*"
SUMMARY = re.compile(   # a comparison lesson's label is "name [run label]"
    rf"^(?P<label>\S+(?: \[[^\]]+\])?): (?P<epochs>\d+) epochs \((?P<reason>[^)]*)\), "
    rf"best test loss (?P<best_loss>{NUMBER}) at epoch (?P<best_epoch>\d+), "
    rf"(?P<held>final|restored weights of epoch (?P<held_epoch>\d+):) train loss (?P<train_loss>{NUMBER}) "
    rf"error (?P<train_error>\d+\.\d)%, "
    rf"test loss (?P<test_loss>{NUMBER}) error (?P<test_error>\d+\.\d)%, (?P<rate>\d+) epochs/s$")


def run_cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "nnviz", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def summary(text: str) -> re.Match:
    lines = text.splitlines()
    assert len(lines) == 1, text
    match = SUMMARY.match(lines[0])
    assert match, lines[0]
    return match


# -- training ------------------------------------------------------------------------------------------------

def test_train_subprocess_prints_one_summary_line():
    r = run_cli("train", "circle", "--epochs", 30)
    assert r.returncode == 0 and r.stderr == ""
    m = summary(r.stdout)
    assert m["label"] == "circle" and m["epochs"] == "30" and m["reason"] == "completed"
    assert 1 <= int(m["best_epoch"]) <= 30


def test_train_defaults_to_the_opening_lesson_and_its_length(capsys):
    assert main(["train"]) == 0
    m = summary(capsys.readouterr().out)
    assert m["label"] == DEFAULT_PRESET and int(m["epochs"]) == get_preset(DEFAULT_PRESET).epochs


def test_csv_and_save_write_loadable_files_matching_an_in_process_run(tmp_path, capsys):
    metrics, saved = tmp_path / "metrics.csv", tmp_path / "trained.nnviz"
    assert main(["train", "overfitting", "--epochs", "40", "--csv", metrics, "--save", saved]) == 0
    m = summary(capsys.readouterr().out)

    exp = load_experiment(saved)
    preset = get_preset("overfitting")
    assert exp.name == preset.title and exp.description == preset.lesson
    assert exp.config.to_dict() == preset.build().config.to_dict() and exp.points == preset.build().points
    assert len(exp.history) == 40 and exp.weights is not None
    # the same run in-process gives the same weights: the CLI trains exactly the preset
    reference = Trainer(exp.config, exp.points)
    reference.train(40)
    for (w, b), (w_ref, b_ref) in zip(exp.weights, reference.weights()):
        np.testing.assert_allclose(w, w_ref, rtol=1e-12)
        np.testing.assert_allclose(b, b_ref, rtol=1e-12)

    rows = list(csv.DictReader(io.StringIO(metrics.read_text())))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 41))
    assert float(rows[-1]["train_loss"]) == pytest.approx(exp.history.last("train_loss"), rel=1e-6)
    assert float(m["train_loss"]) == pytest.approx(exp.history.last("train_loss"), rel=1e-2)

    # the saved file trains again, named by its file name and 1000 epochs unless told otherwise
    assert main(["train", saved, "--epochs", "3"]) == 0
    again = summary(capsys.readouterr().out)
    assert again["label"] == "trained.nnviz" and again["epochs"] == "3"


def test_seed_changes_the_initial_weights_reproducibly(tmp_path, capsys):
    paths = [tmp_path / f"{i}.nnviz" for i in range(3)]
    for path, seed in zip(paths, ("1", "1", "2")):
        assert main(["train", "multiclass", "--epochs", "2", "--seed", seed, "--save", path, "--quiet"]) == 0
    assert capsys.readouterr().out == ""   # --quiet
    a, b, c = (load_experiment(p) for p in paths)
    assert a.config.architecture.seed == 1 and a.points == c.points
    np.testing.assert_array_equal(a.weights[0][0], b.weights[0][0])
    assert not np.array_equal(a.weights[0][0], c.weights[0][0])


def test_early_stopping_reports_the_restored_weights_the_user_gets(tmp_path, capsys):
    saved = tmp_path / "stopped.nnviz"
    assert main(["train", "early-stopping", "--save", saved]) == 0
    m = summary(capsys.readouterr().out)
    patience = get_preset("early-stopping").build().config.early_stopping.patience
    assert m["reason"] == "early stopping, best weights restored"
    assert int(m["epochs"]) == int(m["best_epoch"]) + patience < get_preset("early-stopping").epochs
    # the losses shown are those of the restored (saved) weights, labelled as such, not the last epoch's
    assert m["held"].startswith("restored weights") and m["held_epoch"] == m["best_epoch"]
    exp = load_experiment(saved)
    last = exp.history.last("test_loss")
    held = Trainer(exp.config, exp.points, weights=exp.weights).summary()
    assert float(m["test_loss"]) == pytest.approx(held["test_loss"], rel=2e-3)
    assert float(m["test_loss"]) == pytest.approx(float(m["best_loss"]), rel=2e-3)
    assert float(m["train_loss"]) == pytest.approx(held["train_loss"], rel=2e-3)
    assert abs(float(m["test_loss"]) - last) > 0.05   # the discarded last epoch scored differently


def test_summary_counts_epochs_not_history_rows(monkeypatch, capsys):
    # long runs thin their history out (every 2nd, 4th, ... epoch); shrink the limit so 300 epochs do
    from nnviz.engine.history import History
    monkeypatch.setattr(History.__init__, "__defaults__", (1024, 16))
    assert main(["train", "circle", "--epochs", "300"]) == 0
    assert summary(capsys.readouterr().out)["epochs"] == "300"

    trainer = Trainer(get_preset("circle").build().config, get_preset("circle").build().points)
    trainer.train(300)
    assert len(trainer.history) < 300   # the history really holds fewer rows than epochs
    m = summary(summary_line("circle", trainer, seconds=2.0))
    assert m["epochs"] == "300" and m["rate"] == "150"   # epochs/s from true epochs


def test_regression_summary_has_no_error_rates(capsys):
    assert main(["train", "regression", "--epochs", "3"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("regression: 3 epochs (completed), best test loss ")
    assert "error" not in line and "train loss" in line and line.endswith("epochs/s")


# -- comparison lessons: one line and one set of files per run ----------------------------------------------

def summaries(text: str) -> list[re.Match]:
    matches = [SUMMARY.match(line) for line in text.splitlines()]
    assert all(matches), text
    return matches


def test_train_a_comparison_subprocess_prints_one_line_per_run_prefixed_by_its_label():
    r = run_cli("train", "model-size", "--epochs", 15)
    assert r.returncode == 0 and r.stderr == ""
    lines = summaries(r.stdout)
    assert [m["label"] for m in lines] == ["model-size [too small: 1 neuron]", "model-size [right: 8 neurons]",
                                           "model-size [too big: 3 x 32 neurons]"]
    assert all(m["epochs"] == "15" and m["reason"] == "completed" for m in lines)
    # each line is that run trained exactly as the lesson defines it
    for m, (label, exp) in zip(lines, get_preset("model-size").build_runs()):
        t = Trainer(exp.config, exp.points)
        t.train(15)
        assert float(m["train_loss"]) == pytest.approx(t.history.last("train_loss"), rel=1e-2)


def test_train_a_comparison_writes_one_csv_and_one_file_per_run(tmp_path, capsys):
    metrics, saved = tmp_path / "m.csv", tmp_path / "w.nnviz"
    assert main(["train", "large-weights", "--epochs", "12", "--csv", metrics, "--save", saved]) == 0
    lines = summaries(capsys.readouterr().out)
    assert [m["label"] for m in lines] == ["large-weights [weights 1]", "large-weights [weights 10]"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-weights-1.csv", "m-weights-10.csv",
                                                          "w-weights-1.nnviz", "w-weights-10.nnviz"]
    preset = get_preset("large-weights")
    for (label, run_exp), spec in zip(preset.build_runs(), preset.runs):
        exp = load_experiment(tmp_path / f"w-{spec.slug}.nnviz")
        assert exp.name == f"{preset.title} [{label}]" and exp.description == preset.lesson
        assert exp.config == run_exp.config and exp.points == run_exp.points and len(exp.history) == 12
        # trained from the run's fixed initial weights (not the seed's), as the lesson says
        reference = Trainer(run_exp.config, run_exp.points, spec.initial_weights())
        reference.train(12)
        for (w, b), (w_ref, b_ref) in zip(exp.weights, reference.weights()):
            np.testing.assert_allclose(w, w_ref, rtol=1e-12)
            np.testing.assert_allclose(b, b_ref, rtol=1e-12)
        rows = list(csv.DictReader(io.StringIO((tmp_path / f"m-{spec.slug}.csv").read_text())))
        assert [int(r["epoch"]) for r in rows] == list(range(1, 13))
        assert float(rows[-1]["train_loss"]) == pytest.approx(exp.history.last("train_loss"), rel=1e-6)
    assert load_experiment(tmp_path / "w-weights-10.nnviz").weights[0][0].ravel() == pytest.approx([10, 10],
                                                                                                  abs=0.05)


def test_a_comparison_checks_every_runs_file_before_training(tmp_path, capsys):
    (tmp_path / "w-l2-0.03.nnviz").mkdir()   # the second run's file cannot be written
    assert main(["train", "l1-vs-l2", "--epochs", "3", "--save", tmp_path / "w.nnviz"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == f"nnviz: error: {tmp_path / 'w-l2-0.03.nnviz'}: is a folder, not a file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["w-l2-0.03.nnviz"]


def test_an_interrupted_comparison_reports_that_run_and_trains_no_more(monkeypatch, capsys):
    calls, train = [], Trainer.train

    def interrupted(self, epochs):   # Ctrl+C during the second chunk of the first run
        calls.append(epochs)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return train(self, epochs)
    monkeypatch.setattr(Trainer, "train", interrupted)
    assert main(["train", "dropout-vs-none", "--epochs", "40"]) == 130
    (m,) = summaries(capsys.readouterr().out)
    assert m["label"] == "dropout-vs-none [no dropout]" and m["reason"] == "interrupted" and m["epochs"] == "25"
    assert calls == [25, 15]


# -- listing and version -------------------------------------------------------------------------------------

def test_presets_lists_every_lesson_with_title_and_one_line(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(PRESETS)
    for line, preset in zip(lines, PRESETS.values()):
        assert preset.title in line and line.endswith(".")
        mark = f"[compare {len(preset.runs)} runs] "
        assert (mark + preset.title in line) == preset.is_comparison and ("[compare" in line) == preset.is_comparison
    assert sum("[compare" in line for line in lines) == 7


def test_version_subprocess_and_in_process(capsys):
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"nnviz {__version__}"
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"nnviz {__version__}"


# -- dispatch to the app (the app itself is tested elsewhere) ------------------------------------------------

def test_no_arguments_or_a_file_opens_the_app(monkeypatch, tmp_path):
    opened = []
    monkeypatch.setattr("nnviz.ui.app.run_gui", lambda path=None: opened.append(path) or 0)
    assert main([]) == 0
    path = tmp_path / "mine.nnviz"
    path.write_text("{}")
    assert main([str(path)]) == 0
    assert opened == [None, str(path)]


def test_screenshot_passes_the_resolved_experiment_through(monkeypatch):
    calls = []
    monkeypatch.setattr("nnviz.ui.screenshot.take_screenshot", lambda *args, **kw: calls.append(args) or 0)
    assert main(["screenshot", "spiral", "--epochs", "3", "--out", "x.png", "--size", "800x600"]) == 0
    assert main(["screenshot", "--out", "y.png"]) == 0   # the opening lesson, trained for its length
    (spiral, epochs, out, size), (default, default_epochs, out2, size2) = calls
    assert (spiral.label, spiral.preset.name, spiral.path, epochs, out, size) == ("spiral", "spiral", None, 3,
                                                                                   "x.png", (800, 600))
    assert spiral.experiment == get_preset("spiral").build()
    assert (default.label, default_epochs, out2, size2) == (DEFAULT_PRESET, get_preset(DEFAULT_PRESET).epochs,
                                                            "y.png", (1440, 900))


def test_screenshot_of_a_comparison_shows_every_run_side_by_side(tmp_path):
    """The window opens the lesson in compare mode: each run trains the epochs asked for in its own
    session and has its own tile with its caption (the summary line names each run, from the window's
    runs). In a process of its own: the app's start-up styles the whole application."""
    import subprocess
    import sys
    from PySide6.QtGui import QImage
    out = tmp_path / "cmp.png"
    done = subprocess.run([sys.executable, "-m", "nnviz", "screenshot", "learning-rates", "--epochs", "3",
                           "--out", str(out), "--size", "1024x700"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    labels = [r.label for r in get_preset("learning-rates").runs]
    assert len(labels) == 3
    assert "; ".join(f"{label}: trained 3 epochs" for label in labels) in done.stdout
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1024, 700)


# -- one way of reading an EXPERIMENT argument, for every command ---------------------------------------------

@pytest.mark.parametrize("command", ["train", "screenshot"])
@pytest.mark.parametrize("argument", ["missing.nnviz", "points.CSV", "sub/dir/circle", "./spirall"])
def test_anything_path_like_is_a_file_for_every_command(command, argument, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    extra = ["--out", "x.png"] if command == "screenshot" else []
    assert main([command, argument, "--epochs", "3", *extra]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == f"nnviz: error: {argument}: no such file\n"
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("command", ["train", "screenshot"])
def test_a_bare_unknown_name_is_an_unknown_lesson_for_every_command(command, capsys):
    extra = ["--out", "x.png"] if command == "screenshot" else []
    assert main([command, "spirall", *extra]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("nnviz: error: unknown lesson 'spirall' (did you mean 'spiral'?); "
                                        "see `nnviz presets`") and err.count("\n") == 1


def test_existing_files_are_files_but_a_folder_does_not_hide_a_lesson(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "circle").mkdir()   # a folder that happens to share a lesson's name
    assert resolve_experiment("circle").preset.name == "circle"
    saved = tmp_path / "mine"       # an existing file is a file, whatever its name
    from nnviz.experiment import save_experiment
    save_experiment(get_preset("regression").build(), saved)
    resolved = resolve_experiment("mine")
    assert resolved.path == "mine" and resolved.preset is None and resolved.label == "mine"
    assert resolved.experiment.config == get_preset("regression").build().config
    (tmp_path / "pts.csv").write_text("x,y,label\n0,0,0\n")
    with pytest.raises(NnvizError, match="a points CSV, not an experiment"):
        resolve_experiment("pts.csv")


@pytest.mark.parametrize("command", ["train", "screenshot"])
def test_a_named_pipe_is_refused_not_waited_on(command, tmp_path):
    fifo = tmp_path / "f.nnviz"
    os.mkfifo(fifo)
    extra = ["--out", tmp_path / "x.png"] if command == "screenshot" else []
    # a hang fails the test by the timeout instead of blocking the suite
    r = subprocess.run([sys.executable, "-m", "nnviz", command, str(fifo), *map(str, extra)], capture_output=True,
                       text=True, timeout=30, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == f"nnviz: error: {fifo}: is a named pipe (FIFO), not a regular file; not an experiment file\n"


def test_headless_commands_never_import_qt():
    code = ("import sys; from nnviz.cli import main; main(['presets']); main(['train', '--epochs', '2', '--quiet']); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')]; "
            "sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


# -- user errors: one line on stderr, a non-zero exit, never a traceback -------------------------------------

def garbage_file(tmp_path):
    path = tmp_path / "garbage.nnviz"
    path.write_text("this is not json")
    return path


# name: (arguments, given the test's tmp_path), expected exit code, a fragment of the message
BAD_INVOCATIONS = {
    "unknown lesson": (lambda tmp: ["train", "spirall"], 1, "unknown lesson 'spirall'"),
    "missing file": (lambda tmp: ["train", tmp / "missing.nnviz"], 1, "no such file"),
    "bad file": (lambda tmp: ["train", garbage_file(tmp)], 1, "not valid JSON"),
    "non-numeric epochs": (lambda tmp: ["train", "--epochs", "ten"], 2, "--epochs"),
    "negative epochs": (lambda tmp: ["train", "--epochs", "-5"], 2, "--epochs"),
    "bad seed": (lambda tmp: ["train", "--seed", "1.5"], 2, "--seed"),
    "csv in a missing folder": (lambda tmp: ["train", "--csv", tmp / "nope" / "m.csv"], 1, "does not exist"),
    "save onto a folder": (lambda tmp: ["train", "--save", tmp], 1, "is a folder"),
    "unknown option": (lambda tmp: ["train", "--fast"], 2, "--fast"),
    "bad size": (lambda tmp: ["screenshot", "--out", "x.png", "--size", "huge"], 2, "WIDTHxHEIGHT"),
    "missing app file": (lambda tmp: [tmp / "missing.nnviz"], 1, "no such file"),
    "lesson name without train": (lambda tmp: ["spiral"], 1, "nnviz train spiral"),
}


@pytest.mark.parametrize("case", list(BAD_INVOCATIONS))
def test_user_errors_in_process(case, tmp_path, capsys):
    make_args, code, fragment = BAD_INVOCATIONS[case]
    assert main([str(a) for a in make_args(tmp_path)]) == code
    out, err = capsys.readouterr()
    assert out == ""
    assert "nnviz: error: " in err and fragment in err and "Traceback" not in err


@pytest.mark.parametrize("case", ["unknown lesson", "bad file", "non-numeric epochs", "save onto a folder"])
def test_user_errors_subprocess(case, tmp_path):
    make_args, code, fragment = BAD_INVOCATIONS[case]
    r = run_cli(*make_args(tmp_path))
    assert r.returncode == code and r.stdout == ""
    assert r.stderr.strip().splitlines()[-1].startswith("nnviz: error: ")
    assert fragment in r.stderr and "Traceback" not in r.stderr


# -- failures at run time: one line, a non-zero exit, no traceback; the CSV is written atomically ------------

def test_out_of_memory_during_training_is_one_line(monkeypatch, capsys):
    def exhausted(self, epochs):
        raise MemoryError()
    monkeypatch.setattr(Trainer, "train", exhausted)
    assert main(["train", "circle", "--epochs", "5"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("nnviz: error: out of memory: ") and err.count("\n") == 1


def test_a_configuration_the_engine_refuses_is_one_line(monkeypatch, capsys):
    from nnviz.errors import ConfigError

    def refuse(self, config, points, weights=None):
        raise ConfigError("optimizer.batch_size", "this batch does not fit in memory; at most 1000 would")
    monkeypatch.setattr(Trainer, "__init__", refuse)
    assert main(["train", "circle", "--epochs", "5"]) == 1
    assert capsys.readouterr() == ("", "nnviz: error: optimizer.batch_size: this batch does not fit in memory; "
                                       "at most 1000 would\n")


def test_metrics_csv_is_written_atomically(tmp_path, monkeypatch, capsys):
    metrics = tmp_path / "metrics.csv"
    metrics.write_text("epoch,train_loss\n1,0.5\n")
    real_replace = os.replace

    def disk_full(src, dst, *args, **kwargs):   # the last step of an atomic write; a plain open() never gets here
        if os.fspath(dst) == str(metrics):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)
    monkeypatch.setattr(os, "replace", disk_full)
    assert main(["train", "circle", "--epochs", "3", "--csv", metrics]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == f"nnviz: error: {metrics}: cannot write (No space left on device)\n"
    assert metrics.read_text() == "epoch,train_loss\n1,0.5\n"    # the old file is whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv"]   # and no temporary file is left


def test_csv_and_save_onto_a_named_pipe_are_refused_before_training(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for option in ("--csv", "--save"):   # opening a pipe to write would wait for a reader: the timeout says so
        r = run_cli("train", "circle", "--epochs", 3, option, fifo, timeout=30)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", f"nnviz: error: {fifo}: is not a regular file\n")


def test_a_missing_qt_system_library_is_named_with_its_package(capsys):
    from nnviz.cli import _qt_missing
    assert _qt_missing("the app cannot start",
                       ImportError("libEGL.so.1: cannot open shared object file: No such file or directory")) == 1
    assert capsys.readouterr().err == ("nnviz: error: the app cannot start: Qt needs the system library libEGL.so.1, "
                                       "which is missing (on Debian/Ubuntu: sudo apt install libegl1)\n")


# -- nnviz screenshot says what really happened --------------------------------------------------------------

def run_screenshot(tmp_path, *args, patch: str = ""):
    """`nnviz screenshot ARGS --out tmp/shot.png` in a fresh process, after ``patch`` (Python) has run."""
    out = tmp_path / "shot.png"
    code = f"{patch}\nimport sys\nfrom nnviz.cli import main\nsys.exit(main(sys.argv[1:]))"
    r = subprocess.run([sys.executable, "-c", code, "screenshot", *map(str, args), "--out", str(out)],
                       capture_output=True, text=True, timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    return r, out


def experiment_file(tmp_path, preset: str, name: str, change) -> str:
    from nnviz.experiment import save_experiment
    exp = get_preset(preset).build()
    change(exp)
    path = tmp_path / name
    save_experiment(exp, path)
    return path


def test_screenshot_of_a_completed_run_without_qt_noise(tmp_path):
    r, out = run_screenshot(tmp_path, "circle", "--epochs", 5, "--size", "1000x700")
    assert r.returncode == 0 and r.stderr == ""   # no "This plugin does not support propagateSizeHints()"
    assert r.stdout == f"wrote {out} (1000x700): trained 5 epochs\n" and out.stat().st_size > 1000


def test_screenshot_of_an_early_stop_says_where_it_stopped(tmp_path):
    asked = get_preset("early-stopping").epochs
    r, out = run_screenshot(tmp_path, "early-stopping", "--size", "1000x700")
    assert r.returncode == 0 and r.stderr == ""   # the stop banner, shown late, adds no Qt warning either
    m = re.fullmatch(rf"wrote {re.escape(str(out))} \(1000x700\): trained (\d+) of {asked} epochs; stopped early: "
                     r"Early stopping at epoch (\d+): .* Restored the best weights, from epoch \d+\.\n", r.stdout)
    assert m and m[1] == m[2] and int(m[1]) < asked and out.exists()


def explode(exp):
    exp.config.optimizer.name, exp.config.optimizer.learning_rate = "sgd", 10.0
    exp.config.optimizer.momentum, exp.config.optimizer.batch_size = 0.99, 1


def test_train_summary_of_a_diverged_run_names_the_weights_kept(tmp_path, capsys):
    path = experiment_file(tmp_path, "regression", "diverges.nnviz", explode)
    assert main(["train", path, "--epochs", "50"]) == 0
    line = capsys.readouterr().out
    assert re.fullmatch(rf"diverges.nnviz: 0 epochs \(diverged at epoch 1; lower the learning rate\), kept weights "
                        rf"of epoch 0: train loss {NUMBER}, test loss {NUMBER}, 0 epochs/s\n", line), line


def test_screenshot_of_a_diverged_run_says_so(tmp_path):
    path = experiment_file(tmp_path, "regression", "diverges.nnviz", explode)
    r, out = run_screenshot(tmp_path, path, "--epochs", 50, "--size", "1000x700")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith(f"wrote {out} (1000x700): trained 0 of 50 epochs; Training diverged at epoch 1: ")


def test_screenshot_with_no_training_points_says_nothing_was_trained(tmp_path):
    def all_test(exp):
        from nnviz.data.points import PointSet
        p = exp.points
        exp.points = PointSet(p.xy, p.target, np.ones(len(p), np.int8))
    path = experiment_file(tmp_path, "circle", "untrainable.nnviz", all_test)
    r, out = run_screenshot(tmp_path, path, "--epochs", 5, "--size", "1000x700")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout == (f"wrote {out} (1000x700): nothing trained of 5 epochs asked: "
                        "There are no training points: add some, or re-split the data.\n")


def test_screenshot_fails_and_writes_nothing_when_training_crashes(tmp_path):
    patch = ("from nnviz.engine import Trainer\n"
             "def crash(self, *a, **k): raise RuntimeError('boom')\n"
             "Trainer.step_epoch = crash")
    r, out = run_screenshot(tmp_path, "circle", "--epochs", 5, patch=patch)
    assert r.returncode == 1 and r.stdout == "" and not out.exists()
    assert "RuntimeError: boom" in r.stderr   # the traceback of a bug is worth reporting
    assert r.stderr.splitlines()[-1] == "nnviz: error: internal error while training: boom; no image written"


def test_screenshot_fails_and_writes_nothing_when_drawing_crashes(tmp_path):
    patch = ("from nnviz.ui.main_window import MainWindow\n"
             "def crash(self, *a, **k): raise RuntimeError('cannot draw')\n"
             "MainWindow._show_snapshot = crash")
    r, out = run_screenshot(tmp_path, "circle", "--epochs", 5, patch=patch)
    assert r.returncode == 1 and r.stdout == "" and not out.exists()
    assert r.stderr.splitlines()[-1] == ("nnviz: error: internal error: RuntimeError: cannot draw; "
                                         "no image written")


def test_screenshot_out_of_memory_is_one_line(tmp_path):
    patch = ("from nnviz.engine import Trainer\n"
             "def exhausted(self, *a, **k): raise MemoryError()\n"
             "Trainer.step_epoch = exhausted")
    r, out = run_screenshot(tmp_path, "circle", "--epochs", 5, patch=patch)
    assert r.returncode == 1 and r.stdout == "" and not out.exists()
    assert r.stderr == ("nnviz: error: out of memory: use fewer neurons or layers, a smaller batch, or fewer "
                        "points; no image written\n")


# -- Qt's X11 plugin and its system libraries ----------------------------------------------------------------

@pytest.mark.parametrize("env, xcb", [
    ({"DISPLAY": ":0"}, True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, False),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland;xcb"}, False),
    ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, False),
    ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}, True),   # no Wayland display: Qt falls back to X11
    ({"QT_QPA_PLATFORM": "xcb"}, False),                          # no display: a different problem
    ({}, False),
])
def test_xcb_is_checked_only_when_qt_will_use_it(env, xcb):
    from nnviz.ui.app import missing_xcb_libraries, platform_is_xcb
    assert platform_is_xcb(env) is xcb
    assert missing_xcb_libraries(env, can_load=lambda name: False) == ([] if not xcb else missing_xcb_libraries(
        {"DISPLAY": ":0"}, can_load=lambda name: False))


def test_missing_xcb_libraries_are_named_with_the_exact_install_line(monkeypatch, capsys):
    from nnviz.ui import app
    absent = {"libxcb-cursor.so.0", "libxcb-icccm.so.4"}
    monkeypatch.setattr(app, "_can_load", lambda name: name not in absent)
    for name in ("QT_QPA_PLATFORM", "XDG_SESSION_TYPE", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPLAY", ":0")

    class Stop(Exception):
        pass

    def make_app(*args):   # the QApplication (which loads the platform plugin) comes after the advice
        raise Stop
    monkeypatch.setattr(app, "make_app", make_app)
    with pytest.raises(Stop):
        app.run_gui(None)
    err = capsys.readouterr().err
    assert "missing: libxcb-cursor.so.0, libxcb-icccm.so.4." in err
    assert "\n    sudo apt install libxcb-cursor0 libxcb-icccm4\n" in err
    # everything present, or another platform: not a word
    monkeypatch.setattr(app, "_can_load", lambda name: True)
    assert app.warn_missing_system_libraries() is False
    monkeypatch.setattr(app, "_can_load", lambda name: False)
    assert app.warn_missing_system_libraries({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}) is False
    assert capsys.readouterr().err == ""


def test_screenshot_of_a_configuration_the_engine_refuses_is_one_line(tmp_path):
    patch = ("from nnviz.engine import Trainer\n"
             "from nnviz.errors import ConfigError\n"
             "def refuse(self, *a, **k): raise ConfigError('optimizer.batch_size', 'at most 20000 rows would fit')\n"
             "Trainer.set_experiment = refuse")
    r, out = run_screenshot(tmp_path, "circle", "--epochs", 5, patch=patch)
    assert (r.returncode, r.stdout, r.stderr) == (
        1, "", "nnviz: error: optimizer.batch_size: at most 20000 rows would fit; no image written\n")
    assert not out.exists()


def test_summary_of_a_slow_network_gives_seconds_per_epoch_not_zero_epochs_per_second():
    trainer = Trainer(get_preset("circle").build().config, get_preset("circle").build().points)
    trainer.train(2)
    line = summary_line("big", trainer, seconds=150.0)   # 2 epochs in 150 s, as a 16x512 full batch takes
    assert line.endswith("75 s/epoch") and "0 epochs/s" not in line, line
