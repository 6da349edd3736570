"""The `nnviz` command: headless training, the lesson list, dispatch to the app, and clean user errors."""
import csv
import io
import re
import subprocess
import sys

import numpy as np
import pytest

from nnviz import __version__
from nnviz.cli import main
from nnviz.engine import Trainer
from nnviz.experiment import load_experiment
from nnviz.presets import DEFAULT_PRESET, PRESETS, get_preset

NUMBER = r"\d[\d.e+-]*"
SUMMARY = re.compile(
    rf"^(?P<label>\S+): (?P<epochs>\d+) epochs \((?P<reason>[^)]*)\), "
    rf"best test loss (?P<best_loss>{NUMBER}) at epoch (?P<best_epoch>\d+), "
    rf"final train loss (?P<train_loss>{NUMBER}) error (?P<train_error>\d+\.\d)%, "
    rf"test loss (?P<test_loss>{NUMBER}) error (?P<test_error>\d+\.\d)%, \d+ epochs/s$")


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "nnviz", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


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


def test_early_stopping_is_reported_as_the_stop_reason(capsys):
    assert main(["train", "early-stopping"]) == 0
    m = summary(capsys.readouterr().out)
    patience = get_preset("early-stopping").build().config.early_stopping.patience
    assert m["reason"] == "early stopping, best weights restored"
    assert int(m["epochs"]) == int(m["best_epoch"]) + patience < get_preset("early-stopping").epochs


def test_regression_summary_has_no_error_rates(capsys):
    assert main(["train", "regression", "--epochs", "3"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("regression: 3 epochs (completed), best test loss ")
    assert "error" not in line and "train loss" in line and line.endswith("epochs/s")


# -- listing and version -------------------------------------------------------------------------------------

def test_presets_lists_every_lesson_with_title_and_one_line(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(PRESETS)
    for line, preset in zip(lines, PRESETS.values()):
        assert preset.title in line and line.endswith(".")


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


def test_screenshot_passes_its_arguments_through(monkeypatch):
    calls = []
    monkeypatch.setattr("nnviz.ui.screenshot.take_screenshot", lambda *args: calls.append(args) or 0)
    assert main(["screenshot", "spiral", "--epochs", "3", "--out", "x.png", "--size", "800x600"]) == 0
    assert main(["screenshot", "--out", "y.png"]) == 0   # the opening lesson, trained for its length
    assert calls == [("spiral", 3, "x.png", (800, 600)), (None, get_preset(DEFAULT_PRESET).epochs, "y.png")]


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
    "unknown preset": (lambda tmp: ["train", "spirall"], 1, "unknown preset 'spirall'"),
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


@pytest.mark.parametrize("case", ["unknown preset", "bad file", "non-numeric epochs", "save onto a folder"])
def test_user_errors_subprocess(case, tmp_path):
    make_args, code, fragment = BAD_INVOCATIONS[case]
    r = run_cli(*make_args(tmp_path))
    assert r.returncode == code and r.stdout == ""
    assert r.stderr.strip().splitlines()[-1].startswith("nnviz: error: ")
    assert fragment in r.stderr and "Traceback" not in r.stderr
