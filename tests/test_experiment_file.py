import copy
import json

import numpy as np
import pytest

from nnviz import fileio
from nnviz import experiment as experiment_module
from nnviz.data.generators import generate
from nnviz.data.points import PointSet
from nnviz.engine.config import ExperimentConfig, layer_sizes
from nnviz.engine.history import History
from nnviz.errors import ConfigError, DataError, FileFormatError, NnvizError
from nnviz.experiment import (
    MIGRATIONS, Experiment, experiment_from_json, experiment_to_json, load_experiment, migrate_0_to_1,
    save_experiment,
)


def _config(problem="classification", hidden=(3, 2)):
    config = ExperimentConfig(problem=problem)
    config.architecture.hidden_layers = list(hidden)
    config.optimizer.learning_rate = 0.1
    return config


def _weights(config, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    sizes = layer_sizes(config, n_classes)
    return [(rng.normal(size=(a, b)), rng.normal(size=b)) for a, b in zip(sizes[:-1], sizes[1:])]


def _history(n_layers, epochs=4):
    h = History(n_layers)
    for e in range(1, epochs + 1):
        h.append({"epoch": e, "learning_rate": 0.1, "train_loss": 1.0 / e, "test_loss": 1.2 / e},
                 {"grad_norm": np.arange(n_layers) + e, "weight_norm": np.ones(n_layers)})
    return h  # validation columns stay NaN: they must come back as NaN


def _experiment(**changes):
    config = _config()
    exp = Experiment(config=config, points=generate("spiral", n=30, noise=0.1, seed=1, validation_fraction=0.2),
                     name="Spiral é", description="two arms\nsecond line", weights=_weights(config),
                     history=_history(3))
    for key, value in changes.items():
        setattr(exp, key, value)
    return exp


def _doc(exp=None):
    return json.loads(experiment_to_json(exp or _experiment()))


def _load_doc(doc):
    return experiment_from_json(json.dumps(doc))


# -- round trips --------------------------------------------------------------------------------------------

def test_save_then_load_gives_an_equal_experiment(tmp_path):
    exp = _experiment()
    path = tmp_path / "spiral.nnviz"
    save_experiment(exp, path)
    back = load_experiment(path)
    assert back == exp
    assert back.name == "Spiral é" and back.description == "two arms\nsecond line"
    for (w, b), (w2, b2) in zip(back.weights, exp.weights):
        assert np.array_equal(w, w2) and np.array_equal(b, b2)
    assert np.array_equal(back.history["train_loss"], exp.history["train_loss"])
    assert np.isnan(back.history["validation_loss"]).all()
    assert np.array_equal(back.history["grad_norm"], exp.history["grad_norm"])


def test_equality_notices_a_changed_weight():
    exp = _experiment()
    other = _experiment()
    other.weights[1][0][0, 0] += 1e-9
    assert exp != other


@pytest.mark.parametrize("n_classes", [3, 4])
def test_multiclass_round_trip_uses_one_output_per_class(n_classes):
    config = _config()
    points = generate("gaussian", n=40, seed=2, n_classes=n_classes)
    exp = Experiment(config, points, weights=_weights(config, n_classes))
    assert exp.weights[-1][0].shape[1] == n_classes
    assert experiment_from_json(experiment_to_json(exp)) == exp


def test_regression_round_trip_without_weights_or_history():
    exp = Experiment(_config("regression"), generate("gaussians", n=25, seed=3))
    back = experiment_from_json(experiment_to_json(exp))
    assert back == exp and back.weights is None and back.history is None
    assert back.name == "Untitled"


def test_empty_point_set_round_trips():
    exp = Experiment(_config(), PointSet.empty())
    assert experiment_from_json(experiment_to_json(exp)) == exp


def test_written_json_is_strict_and_has_the_documented_shape():
    text = experiment_to_json(_experiment())

    def refuse(name):
        raise AssertionError(f"{name} written into JSON")

    doc = json.loads(text, parse_constant=refuse)
    assert doc["format"] == "nnviz-experiment" and doc["version"] == 2
    assert set(doc["points"]) == {"x", "y", "target", "role"}
    assert set(doc["points"]["role"]) <= {"train", "test", "validation"}
    assert [len(layer["W"]) for layer in doc["weights"]] == [2, 3, 2]
    assert [len(layer["b"]) for layer in doc["weights"]] == [3, 2, 1]
    assert doc["history"]["validation_loss"] == [None] * 4


def test_bytes_with_a_byte_order_mark_load():
    text = experiment_to_json(_experiment())
    assert experiment_from_json(b"\xef\xbb\xbf" + text.encode()) == _experiment()


# -- saving -------------------------------------------------------------------------------------------------

def test_diverged_weights_cannot_be_saved_and_the_old_file_survives(tmp_path):
    path = tmp_path / "run.nnviz"
    save_experiment(_experiment(), path)
    before = path.read_bytes()
    broken = _experiment()
    broken.weights[1][1][0] = np.nan
    with pytest.raises(DataError, match=r"weights\[1\]\.b.*non-finite"):
        save_experiment(broken, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.nnviz"]


def test_wrong_weight_shapes_are_refused_when_saving():
    exp = _experiment()
    exp.weights = exp.weights[:-1]
    with pytest.raises(FileFormatError, match="3 weight layers"):
        experiment_to_json(exp)


def test_interrupted_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "run.nnviz"
    save_experiment(_experiment(), path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(experiment_module.os, "replace", broken_replace)
    with pytest.raises(FileFormatError, match="No space left"):
        save_experiment(_experiment(name="new"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.nnviz"]


def test_save_into_a_missing_folder_names_the_path(tmp_path):
    target = tmp_path / "missing" / "x.nnviz"
    with pytest.raises(FileFormatError, match="cannot write") as info:
        save_experiment(_experiment(), target)
    assert str(target) in str(info.value)


# -- loading errors -----------------------------------------------------------------------------------------

def _set(doc, path, value):
    *parents, last = path
    for key in parents:
        doc = doc[key]
    doc[last] = value


def _delete(doc, path):
    *parents, last = path
    for key in parents:
        doc = doc[key]
    del doc[last]


@pytest.mark.parametrize("path, value, error, words", [
    (("format",), "something-else", FileFormatError, ["format", "not an nnviz experiment"]),
    (("version",), "1", FileFormatError, ["version", "whole number"]),
    (("version",), 1.5, FileFormatError, ["version"]),
    (("version",), True, FileFormatError, ["version"]),
    (("version",), -1, FileFormatError, ["version"]),
    (("extra",), 1, FileFormatError, ["extra: unknown key"]),
    (("name",), 5, FileFormatError, ["name: expected text"]),
    (("name",), "n" * 201, FileFormatError, ["name: at most 200"]),
    (("description",), ["a"], FileFormatError, ["description: expected text"]),
    (("config",), [], ConfigError, ["config"]),
    (("config", "optimizer", "learning_rate"), "fast", ConfigError, ["config.optimizer.learning_rate"]),
    (("config", "architecture", "hidden_layers"), [3, 0], ConfigError, ["config.architecture.hidden_layers[1]"]),
    (("points",), [], FileFormatError, ["points: expected an object"]),
    (("points", "x"), "1,2", FileFormatError, ["points.x: expected a list"]),
    (("points", "z"), [], FileFormatError, ["points.z: unknown key"]),
    (("points", "target", 3), "1", FileFormatError, ["points.target[3]: expected a number"]),
    (("points", "target", 3), True, FileFormatError, ["points.target[3]: expected a number"]),
    (("points", "target", 4), 1.5, DataError, ["points.target[4]", "class index"]),
    (("points", "target", 5), 4, DataError, ["points.target[5]", "class index"]),
    (("points", "target", 5), -1, DataError, ["points.target[5]", "class index"]),
    (("points", "x", 2), 1e400, FileFormatError, ["points.x[2]: expected a finite number"]),
    (("points", "y", 7), 2e6, DataError, ["points.y[7]", "within"]),
    (("points", "y", 7), None, FileFormatError, ["points.y[7]: expected a number", "null"]),
    (("points", "role", 0), "training", FileFormatError, ["points.role[0]", "\"training\""]),
    (("points", "role", 0), 0, FileFormatError, ["points.role[0]"]),
    (("weights",), {}, FileFormatError, ["weights: expected a list"]),
    (("weights", 0), [], FileFormatError, ["weights[0]: expected an object"]),
    (("weights", 0, "W"), [[1, 2, 3]], FileFormatError, ["weights[0].W: expected 2 rows of 3", "got 1 rows"]),
    (("weights", 1, "W", 2), [1.0], FileFormatError, ["weights[1].W[2]: expected 2 numbers"]),
    (("weights", 1, "W", 2, 1), "0.5", FileFormatError, ["weights[1].W[2][1]: expected a number"]),
    (("weights", 2, "b"), [0.1, 0.2], FileFormatError, ["weights[2].b: expected 1 numbers"]),
    (("weights", 2, "b", 0), 1e999, FileFormatError, ["weights[2].b[0]: expected a finite number"]),
    (("weights", 2, "c"), [], FileFormatError, ["weights[2].c: unknown key"]),
    (("history",), [], FileFormatError, ["history: expected an object"]),
    (("history",), _history(2).to_dict(), FileFormatError, ["history.n_layers", "3 weight layers", "has 2"]),
    (("history", "train_loss"), [1, 2], FileFormatError, ["history.train_loss"]),
    (("history", "grad_norm", 0), ["a", "b", "c"], FileFormatError, ["history.grad_norm"]),
    (("history", "grad_norm", 0, 1), 10 ** 400, FileFormatError, ["history.grad_norm"]),
    (("history", "grad_norm", 0, 1), "1.5", FileFormatError, ["history.grad_norm[0][1]: expected a number or null"]),
    (("history", "weight_norm", 3, 2), True, FileFormatError, ["history.weight_norm[3][2]", "true"]),
])
def test_every_bad_field_is_reported_with_its_json_path(path, value, error, words):
    doc = _doc()
    _set(doc, path, value)
    with pytest.raises(error) as info:
        _load_doc(doc)
    message = str(info.value)
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("path, words", [
    (("format",), ["format: missing"]),
    (("version",), ["version: missing"]),
    (("config",), ["config: missing"]),
    (("points",), ["points: missing"]),
    (("points", "role"), ["points.role: missing"]),
    (("weights", 1, "b"), ["weights[1].b: missing"]),
    (("history", "near_zero"), ["history.near_zero: missing"]),
])
def test_missing_keys_are_named(path, words):
    doc = _doc()
    _delete(doc, path)
    with pytest.raises(NnvizError) as info:
        _load_doc(doc)
    for word in words:
        assert word in str(info.value)


def test_weights_and_history_may_be_absent_or_null():
    doc = _doc()
    del doc["weights"], doc["history"], doc["name"], doc["description"]
    exp = _load_doc(doc)
    assert exp.weights is None and exp.history is None and exp.name == "Untitled"
    doc["weights"] = None
    assert _load_doc(doc).weights is None


def test_unequal_point_columns_are_refused():
    doc = _doc()
    doc["points"]["target"].pop()
    with pytest.raises(FileFormatError, match="points.target: has 29 entries but points.x has 30"):
        _load_doc(doc)


def test_a_changed_architecture_makes_saved_weights_mismatch():
    doc = _doc()
    doc["config"]["architecture"]["hidden_layers"] = [3, 3]
    with pytest.raises(FileFormatError, match=r"weights\[1\]\.W\[0\]: expected 3 numbers, got 2"):
        _load_doc(doc)


def test_the_first_problem_is_the_one_reported():
    doc = _doc()
    doc["points"]["x"][1] = "a"
    doc["points"]["x"][5] = "b"
    doc["weights"] = "later"
    with pytest.raises(FileFormatError, match=r"points\.x\[1\]"):
        _load_doc(doc)


def test_a_huge_bad_value_does_not_make_a_huge_message():
    doc = _doc()
    doc["config"]["optimizer"]["learning_rate"] = list(range(100_000))
    with pytest.raises(ConfigError, match="config.optimizer.learning_rate") as info:
        _load_doc(doc)
    assert len(str(info.value)) < 1000


def test_messages_name_the_source():
    doc = _doc()
    doc["points"]["x"][1] = "a"
    with pytest.raises(FileFormatError, match=r"^my\.nnviz: points\.x\[1\]"):
        experiment_from_json(json.dumps(doc), source="my.nnviz")
    doc = _doc()
    doc["config"]["optimizer"]["name"] = "magic"
    with pytest.raises(ConfigError) as info:
        experiment_from_json(json.dumps(doc), source="my.nnviz")
    assert str(info.value).startswith("my.nnviz: config.optimizer.name")
    assert info.value.field == "config.optimizer.name"


@pytest.mark.parametrize("text, words", [
    ("", ["empty"]),
    ("   \n", ["empty"]),
    ('{"format": "nnviz-experiment",\n "version": 1,,}', ["not valid JSON", "line 2, column 15"]),
    ('{"a": 1', ["not valid JSON", "line 1"]),
    ("[1, 2, 3]", ["expected a JSON object", "a list"]),
    ('"just text"', ["expected a JSON object", "text"]),
    ("null", ["expected a JSON object", "null"]),
    ("[" * 100_000 + "]" * 100_000, ["nested too deeply"]),
    ('{"version": ' + "9" * 5000 + "}", ["version"]),
])
def test_unreadable_text_is_a_clean_error(text, words):
    with pytest.raises(FileFormatError) as info:
        experiment_from_json(text)
    for word in words:
        assert word in str(info.value)


def test_non_utf8_bytes_are_a_clean_error():
    with pytest.raises(FileFormatError, match="UTF-8"):
        experiment_from_json(b'{"name": "\xff"}')
    with pytest.raises(FileFormatError, match="UTF-8"):
        experiment_from_json(bytes(range(256)))


@pytest.mark.parametrize("value, literal", [(float("nan"), "NaN"), (float("-inf"), "-Infinity")])
def test_nan_and_infinity_literals_are_refused_with_their_path(value, literal):
    doc = _doc()
    doc["points"]["x"][2] = value
    text = json.dumps(doc)  # Python writes the non-standard literal
    assert literal in text
    with pytest.raises(FileFormatError, match=r"points\.x\[2\]: expected a finite number"):
        experiment_from_json(text)


# -- versions -----------------------------------------------------------------------------------------------

def test_newer_version_is_refused_with_both_numbers():
    doc = _doc()
    doc["version"] = 99
    with pytest.raises(FileFormatError, match=r"made by a newer nnviz \(version 99\); this one reads up to 2"):
        _load_doc(doc)


def _version_0(doc):
    old = {k: v for k, v in doc.items() if k not in ("format", "points")}
    old["version"] = 0
    p = doc["points"]
    roles = {"train": 0, "test": 1, "validation": 2}
    old["points"] = [[x, y, t, roles[r]] for x, y, t, r in zip(p["x"], p["y"], p["target"], p["role"])]
    return old


def test_version_0_files_are_migrated():
    exp = _experiment()
    old = _version_0(_doc(exp))
    assert _load_doc(old) == exp
    del old["version"]  # the oldest files had no version key at all
    assert _load_doc(old) == exp


def test_version_0_roles_may_be_words():
    doc = _doc()
    old = _version_0(doc)
    old["points"][0][3] = doc["points"]["role"][0]
    assert _load_doc(old) == _load_doc(doc)


def test_migration_reports_bad_version_0_rows():
    old = _version_0(_doc())
    old["points"][2] = [1, 2, 0]
    with pytest.raises(FileFormatError, match=r"points\[2\]: expected a row"):
        _load_doc(old)
    old["points"] = {"x": []}
    with pytest.raises(FileFormatError, match="points: expected a list of"):
        _load_doc(old)
    old = _version_0(_doc())
    old["points"][4][3] = 7
    with pytest.raises(FileFormatError, match=r"points\.role\[4\]"):
        _load_doc(old)


def test_migrate_0_to_1_does_not_change_its_input():
    old = _version_0(_doc())
    snapshot = copy.deepcopy(old)
    new = migrate_0_to_1(old)
    assert old == snapshot
    assert new["version"] == 1 and new["format"] == "nnviz-experiment"
    assert set(new["points"]) == {"x", "y", "target", "role"}


def test_migrations_chain_one_version_at_a_time(monkeypatch):
    calls = []

    def migrate_2_to_3(doc):
        calls.append(doc["version"])
        return {**doc, "version": 3, "name": doc["name"] + " (upgraded)"}

    monkeypatch.setattr(experiment_module, "VERSION", 3)
    monkeypatch.setitem(MIGRATIONS, 2, migrate_2_to_3)
    exp = _load_doc(_version_0(_doc()))
    assert calls == [2]
    assert exp.name == "Spiral é (upgraded)"


# -- loading files ------------------------------------------------------------------------------------------

def test_missing_file_folder_and_unreadable_file_name_the_path(tmp_path, monkeypatch):
    missing = tmp_path / "nope.nnviz"
    with pytest.raises(FileFormatError, match="no such file") as info:
        load_experiment(missing)
    assert str(missing) in str(info.value)
    with pytest.raises(FileFormatError, match="folder") as info:
        load_experiment(tmp_path)
    assert str(tmp_path) in str(info.value)

    path = tmp_path / "locked.nnviz"
    save_experiment(_experiment(), path)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(fileio, "open", denied, raising=False)  # chmod would not stop root
    with pytest.raises(FileFormatError, match="permission denied") as info:
        load_experiment(path)
    assert str(path) in str(info.value)


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.nnviz"
    save_experiment(_experiment(), path)
    monkeypatch.setattr(experiment_module, "MAX_FILE_BYTES", 1000)
    with pytest.raises(FileFormatError, match="larger than"):
        load_experiment(path)
    with pytest.raises(FileFormatError, match="larger than"):
        experiment_from_json(path.read_bytes())


def test_load_error_messages_start_with_the_path(tmp_path):
    path = tmp_path / "bad.nnviz"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(FileFormatError) as info:
        load_experiment(path)
    assert str(info.value).startswith(str(path))


# -- special files, links and permissions (issue 6 items 5-7) --------------------------------------------

@pytest.fixture
def no_hang():
    """Fail (instead of hanging the suite) if the code under test blocks, e.g. opening a FIFO."""
    import signal

    def timeout(signum, frame):
        raise TimeoutError("blocked: the code opened something that never answers")

    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_a_named_pipe_is_refused_before_it_is_opened(tmp_path, no_hang):
    import os
    from nnviz.data.csv_io import read_points_csv
    fifo = tmp_path / "f.nnviz"
    os.mkfifo(fifo)
    with pytest.raises(FileFormatError, match="named pipe") as info:
        load_experiment(fifo)
    assert str(fifo) in str(info.value)
    with pytest.raises(FileFormatError, match="named pipe"):
        read_points_csv(fifo)
    link = tmp_path / "link.nnviz"
    link.symlink_to(fifo)
    with pytest.raises(FileFormatError, match="named pipe"):
        load_experiment(link)


def test_saving_onto_a_named_pipe_is_refused_and_it_stays_a_pipe(tmp_path, no_hang):
    import os
    import stat
    fifo = tmp_path / "f.nnviz"
    os.mkfifo(fifo)
    with pytest.raises(FileFormatError, match="named pipe.*not replaced"):
        save_experiment(_experiment(), fifo)
    with pytest.raises(FileFormatError, match="named pipe"):
        fileio.write_atomically(str(fifo), "x,y\n")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.nnviz"]   # no temporary file left


@pytest.mark.skipif(not hasattr(__import__("os"), "getuid") or __import__("os").getuid() != 0,
                    reason="creating a device node needs root")
def test_saving_onto_a_device_node_is_refused(tmp_path):
    import os
    import stat
    dev = tmp_path / "full"
    os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 7))   # a copy of /dev/full
    with pytest.raises(FileFormatError, match="device"):
        save_experiment(_experiment(), dev)
    assert stat.S_ISCHR(os.lstat(dev).st_mode)
    with pytest.raises(FileFormatError, match="device"):
        load_experiment(dev)


def test_saving_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path):
    import os
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "run.nnviz"
    save_experiment(_experiment(name="old"), target)
    link = tmp_path / "link.nnviz"
    link.symlink_to(target)
    save_experiment(_experiment(name="new"), link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert load_experiment(target).name == "new"
    dangling = tmp_path / "dangling.nnviz"
    dangling.symlink_to(real_dir / "created.nnviz")
    save_experiment(_experiment(), dangling)
    assert dangling.is_symlink() and load_experiment(real_dir / "created.nnviz") == _experiment()
    assert sorted(p.name for p in real_dir.iterdir()) == ["created.nnviz", "run.nnviz"]


def test_a_replaced_file_keeps_its_mode_and_new_files_follow_the_umask(tmp_path):
    import os
    import stat
    kept = tmp_path / "shared.nnviz"
    kept.write_text("old")
    os.chmod(kept, 0o644)
    save_experiment(_experiment(), kept)
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o644
    os.chmod(kept, 0o640)
    fileio.write_atomically(str(kept), "text")
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o640
    old = os.umask(0o022)
    try:
        save_experiment(_experiment(), tmp_path / "new.nnviz")
        os.umask(0o027)
        fileio.write_atomically(str(tmp_path / "new.csv"), "a,b\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.nnviz").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "new.csv").st_mode) == 0o640


# -- version 2: long histories as base64 columns (issue 6 item 1) -------------------------------------------

def _long_history(n_layers=3, rows=60):
    h = _history(n_layers, epochs=rows)
    arrays = h.to_arrays()
    arrays["penalty"][5] = np.inf          # a diverged value: saved as missing, as lists save it as null
    arrays["train_loss"][7] = -0.0
    arrays["train_loss"][8] = 5e-324
    return History.from_arrays({**arrays, "penalty": np.where(np.isinf(arrays["penalty"]), 1.0, arrays["penalty"])})


def test_long_histories_are_base64_columns_and_load_back_exactly(monkeypatch):
    monkeypatch.setattr(experiment_module, "HISTORY_LIST_ROWS", 50)
    exp = _experiment(history=_long_history(rows=60))
    doc = _doc(exp)
    assert doc["version"] == 2
    assert all(isinstance(doc["history"][c], str) for c in doc["history"] if c != "n_layers")
    back = _load_doc(doc)
    assert back == exp
    for c in ("train_loss", "grad_norm", "test_loss"):   # bit for bit, NaN where a value is missing
        assert np.array_equal(back.history[c], exp.history[c], equal_nan=True)
    assert np.signbit(back.history["train_loss"][7]) and back.history["train_loss"][8] == 5e-324
    small = _doc(_experiment(history=_long_history(rows=50)))
    assert all(isinstance(small["history"][c], list) for c in small["history"] if c != "n_layers")


def test_version_1_files_still_load_and_may_not_hold_base64(monkeypatch):
    exp = _experiment()
    doc = _doc(exp)
    doc["version"] = 1
    assert _load_doc(doc) == exp
    monkeypatch.setattr(experiment_module, "HISTORY_LIST_ROWS", 2)
    doc = _doc(exp)
    doc["version"] = 1
    with pytest.raises(FileFormatError, match=r"history\.epoch: expected a list"):
        _load_doc(doc)


@pytest.mark.parametrize("change, words", [
    (lambda h: h.update(train_loss="not base64!"), ["history.train_loss", "base64"]),
    (lambda h: h.update(train_loss=_b64([0.5] * 5)), ["history.train_loss", "has 5 rows, expected 6"]),
    (lambda h: h.update(train_loss="AAAA"), ["history.train_loss", "float64"]),
    (lambda h: h.update(train_loss="é" * 8), ["history.train_loss", "base64"]),
    (lambda h: h.update(train_loss=[1.0] * 6), ["history.train_loss", "base64 text like the other"]),
    (lambda h: h.update(grad_norm=_b64([0.5] * 7)), ["history.grad_norm", "rows of 3"]),
    (lambda h: h.update(test_loss=_b64([np.inf] * 6)), ["history.test_loss", "finite"]),
    (lambda h: h.update(epoch=_b64([1, 2, 3, 3, 4, 5])), ["history.epoch", "each larger"]),
    (lambda h: h.update(epoch=_b64([1, 2, np.nan, 4, 5, 6])), ["history.epoch", "whole numbers"]),
    (lambda h: h.pop("penalty"), ["history.penalty", "missing"]),
    (lambda h: h.update(extra="AAAA"), ["history.extra", "unknown column"]),
    (lambda h: h.update(n_layers=2), ["history.grad_norm", "has 9 rows, expected 6"]),
])
def test_bad_base64_histories_are_refused_with_their_path(monkeypatch, change, words):
    monkeypatch.setattr(experiment_module, "HISTORY_LIST_ROWS", 2)
    doc = _doc(_experiment(history=_history(3, epochs=6)))
    change(doc["history"])
    with pytest.raises(NnvizError) as info:
        _load_doc(doc)
    for word in words:
        assert word in str(info.value)


def _b64(values):
    import base64
    return base64.b64encode(np.asarray(values, dtype="<f8").tobytes()).decode()


def test_a_long_history_saves_fast_and_small(tmp_path):
    """100,000 rows of a 10-layer net: seconds at most (it took minutes as decimal lists)."""
    import time
    n, layers = 100_000, 10
    rng = np.random.default_rng(0)
    arrays = {c: rng.random(n) for c in ("learning_rate", "train_loss", "penalty", "test_loss",
                                         "validation_loss", "train_error", "test_error", "validation_error")}
    arrays.update({c: rng.random((n, layers)) for c in ("grad_norm", "grad_mean_abs", "weight_norm", "near_zero")})
    arrays.update(epoch=np.arange(1.0, n + 1), n_layers=layers)
    config = _config(hidden=[4] * (layers - 1))
    exp = _experiment(config=config, weights=_weights(config), history=History.from_arrays(arrays))
    path = tmp_path / "long.nnviz"
    start = time.perf_counter()
    save_experiment(exp, path)
    assert time.perf_counter() - start < 5
    assert path.stat().st_size < 60e6
    assert load_experiment(path) == exp


# -- what parsing may cost (issue 6 item 4) -----------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "[" + ",".join(["{}"] * 2_100_000) + "]",                    # the document, 6 MB of it
    "[" + " ,\n ".join(["[ ]"] * 2_100_000) + "]",               # whitespace does not dodge the count
    "[" * 2_100_000 + "]" * 2_100_000,                           # nor does nesting
    '{"a":' * 2_100_000 + "1" + "}" * 2_100_000,
])
def test_documents_that_would_cost_too_much_to_parse_are_refused_first(text):
    import time
    start = time.perf_counter()
    with pytest.raises(FileFormatError, match="too many lists, objects or values"):
        experiment_from_json(text)
    assert time.perf_counter() - start < 1.0


def test_too_many_values_are_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(experiment_module, "MAX_VALUES", 10_000)
    with pytest.raises(FileFormatError, match="too many"):
        experiment_from_json("[" + ",".join(["0"] * 10_001) + "]")
    assert experiment_from_json(experiment_to_json(_experiment())) == _experiment()   # real files are far below


# -- the optional sweep (issue 8: a sweep is saved with the experiment) -------------------------------------

def _sweep_dict(config):
    from nnviz.sweep import SweepResult, SweepSpec
    spec = SweepSpec("hidden_units", [1, 4], seeds=2, epochs=30, metric="error", first_seed=0)
    rows = [{"value": v, "seed": s, "epochs": 30, "best_epoch": None, "train_loss": 0.5 / v,
             "test_loss": 0.6 / v, "train_error": 0.2 / v, "test_error": 0.25 / v, "seconds": 0.01}
            for v in (1, 4) for s in (0, 1)]
    return SweepResult(spec, rows, config.to_dict()).to_dict()


def test_a_sweep_round_trips_with_the_experiment(tmp_path):
    config = _config()
    exp = Experiment(config, generate("circle", 30, 0.1, 0.5, seed=1), name="swept")
    exp.sweep = _sweep_dict(config)
    path = tmp_path / "swept.nnviz"
    save_experiment(exp, path)
    doc = json.loads(path.read_text())
    assert doc["version"] == experiment_module.VERSION == 2   # an optional key: no new format version
    assert doc["sweep"]["spec"]["param"] == "hidden_units" and len(doc["sweep"]["rows"]) == 4
    back = load_experiment(path)
    assert back == exp and back.sweep == exp.sweep
    exp.sweep["rows"][0]["test_error"] = 0.99
    assert back != exp                                        # equality sees the sweep


def test_a_file_without_a_sweep_has_no_sweep_key(tmp_path):
    exp = Experiment(_config(), generate("circle", 10, 0.1, 0.5, seed=1))
    assert "sweep" not in json.loads(experiment_to_json(exp))
    assert experiment_from_json(experiment_to_json(exp)).sweep is None
    doc = json.loads(experiment_to_json(exp))
    doc["sweep"] = None                                       # null is the same as absent
    assert experiment_from_json(json.dumps(doc)).sweep is None


@pytest.mark.parametrize("sweep, words", [
    ("garbage", "sweep"),
    ({"rows": []}, "sweep"),
    ({"spec": {"param": "colour", "values": [1]}, "rows": []}, "colour"),
    ({"spec": {"param": "hidden_units", "values": [1, 2]}, "rows": [{"value": "x"}]}, "sweep.rows[0].value"),
    ({"spec": {"param": "hidden_units", "values": [1, 2], "bogus": 1}, "rows": []}, "bogus"),
])
def test_a_garbage_sweep_is_a_clear_error(tmp_path, sweep, words):
    config = _config()
    doc = json.loads(experiment_to_json(Experiment(config, generate("circle", 10, 0.1, 0.5, seed=1))))
    doc["sweep"] = sweep
    path = tmp_path / "bad-sweep.nnviz"
    path.write_text(json.dumps(doc))
    with pytest.raises(NnvizError) as err:
        load_experiment(path)
    message = str(err.value)
    assert words in message and str(path) in message and "Traceback" not in message
    assert len(message) < 600


# -- the optional comparison (issue 7: runs side by side are saved with the experiment) -----------------------

def _compared(long_history=False):
    """Run A (the top-level fields) and two more runs, each with its own network, weights and history."""
    exp = _experiment()
    exp.comparison_a_label = "A: 3-2 tanh"
    n_rows = experiment_module.HISTORY_LIST_ROWS + 5 if long_history else 4
    runs = []
    for i, changes in enumerate(({"regularization": {"l2": 0.03}},
                                 {"architecture": {"hidden_layers": [5]}, "optimizer": {"learning_rate": 0.3}}), 1):
        config = experiment_module.apply_changes(exp.config, changes)
        n_layers = len(config.architecture.hidden_layers) + 1
        runs.append({"label": f"run {i} é", "changes": changes, "weights": _weights(config, n_classes=2, seed=i),
                     "history": _history(n_layers, epochs=n_rows)})
    exp.comparison = runs
    return exp


@pytest.mark.parametrize("long_history", [False, True], ids=["lists", "base64"])
def test_a_comparison_round_trips_exactly(tmp_path, long_history):
    exp = _compared(long_history)
    path = tmp_path / "compared.nnviz"
    save_experiment(exp, path)
    doc = json.loads(path.read_text())
    assert doc["version"] == 2 and [r["label"] for r in doc["comparison"]] == ["A: 3-2 tanh", "run 1 é", "run 2 é"]
    assert set(doc["comparison"][0]) == {"label"}       # run A's settings, weights and history are the top-level ones
    back = load_experiment(path)
    assert back == exp and back.comparison_a_label == "A: 3-2 tanh"
    for run, saved in zip(back.comparison, exp.comparison):
        assert run["label"] == saved["label"] and run["changes"] == saved["changes"]
        for (w, b), (w2, b2) in zip(run["weights"], saved["weights"]):
            assert np.array_equal(w, w2) and np.array_equal(b, b2)      # bit for bit
        for column in ("train_loss", "test_loss", "grad_norm", "validation_loss"):
            assert np.array_equal(run["history"][column], saved["history"][column], equal_nan=True)
    assert [c.to_dict() for c in back.run_configs()] == [c.to_dict() for c in exp.run_configs()]
    assert back.run_configs()[2].architecture.hidden_layers == [5]


def test_equality_sees_the_comparison():
    exp, other = _compared(), _compared()
    assert exp == other
    other.comparison[1]["weights"][0][0][0, 0] += 1e-12
    assert exp != other
    other = _compared()
    other.comparison[0]["label"] = "renamed"
    assert exp != other
    other = _compared()
    other.comparison_a_label = "renamed"
    assert exp != other
    assert exp != _experiment()


def test_a_comparison_without_weights_or_history_and_the_lessons_round_trip():
    exp = _compared()
    for run in exp.comparison:
        run["weights"] = run["history"] = None
    assert experiment_from_json(experiment_to_json(exp)) == exp
    from nnviz.presets import PRESETS
    for name, preset in PRESETS.items():
        lesson = preset.build_comparison()
        back = experiment_from_json(experiment_to_json(lesson))
        assert back == lesson
        if preset.is_comparison:
            assert [back.comparison_a_label] + [r["label"] for r in back.comparison] == [r.label for r in preset.runs]
            assert [c.to_dict() for c in back.run_configs()] == [preset.config(r).to_dict() for r in preset.runs]
        else:
            assert back.comparison is None
    large = experiment_from_json(experiment_to_json(PRESETS["large-weights"].build_comparison()))
    assert large.weights[0][0].ravel().tolist() == [1.0, 1.0]            # each run's fixed initial weights
    assert large.comparison[0]["weights"][0][0].ravel().tolist() == [10.0, 10.0]


def test_files_without_a_comparison_load_as_before_and_write_no_comparison_key():
    exp = _experiment()
    text = experiment_to_json(exp)
    assert "comparison" not in json.loads(text)
    back = experiment_from_json(text)
    assert back.comparison is None and back.comparison_a_label == "" and back == exp
    doc = json.loads(text)
    doc["comparison"] = None                                  # null is the same as absent
    assert experiment_from_json(json.dumps(doc)).comparison is None


def _bad(doc_change):
    doc = json.loads(experiment_to_json(_compared()))
    doc_change(doc)
    return doc


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(comparison={"runs": []}), "comparison: expected a list of runs"),
    (lambda d: d.update(comparison=d["comparison"][:1]), "comparison: expected 2 to 4 runs, got 1"),
    (lambda d: d.update(comparison=d["comparison"] + d["comparison"][1:]), "comparison: expected 2 to 4 runs, got 5"),
    (lambda d: d["comparison"].__setitem__(1, "L2"), "comparison[1]: expected an object"),
    (lambda d: d["comparison"][1].update(colour="red"), "comparison[1].colour: unknown key"),
    (lambda d: d["comparison"][2].pop("label"), "comparison[2].label: missing"),
    (lambda d: d["comparison"][1].update(label=3), "comparison[1].label: expected text"),
    (lambda d: d["comparison"][1].update(label="x" * 201), "comparison[1].label: at most 200 characters"),
    (lambda d: d["comparison"][0].update(changes={"regularization": {"l1": 0.1}}),
     "comparison[0].changes: the first run"),
    (lambda d: d["comparison"][0].update(weights=d["weights"]), "comparison[0].weights: the first run's weights"),
    (lambda d: d["comparison"][1].update(changes=[1]), "comparison[1].changes: expected an object"),
    (lambda d: d["comparison"][1].update(changes={"regularization": {"l2": -1}}),
     "comparison[1].changes.regularization.l2: must be at least"),
    (lambda d: d["comparison"][2].update(changes={"architecture": {"widths": [3]}}),
     "comparison[2].changes.architecture.widths: unknown field"),
    (lambda d: d["comparison"][1].update(changes={"problem": "regression"}), "comparison[1].changes.problem"),
    (lambda d: d["comparison"][2]["weights"].pop(), "comparison[2].weights: the network has 2 weight layers"),
    (lambda d: d["comparison"][2]["weights"][0]["W"][0].append(0.5),
     "comparison[2].weights[0].W[0]: expected 5 numbers"),
    (lambda d: d["comparison"][1]["weights"][1].update(b="zero"), "comparison[1].weights[1].b: expected 2 numbers"),
    (lambda d: d["comparison"][1].update(weights=d["comparison"][2]["weights"]), "comparison[1].weights"),
    (lambda d: d["comparison"][2].update(history=d["comparison"][1]["history"]),
     "comparison[2].history.n_layers: the network has 2 weight layers, the history has 3"),
    (lambda d: d["comparison"][1]["history"]["train_loss"].__setitem__(0, "low"), "comparison[1].history.train_loss"),
    (lambda d: d["comparison"][1]["history"].update(colour=[1]), "comparison[1].history.colour: unknown column"),
])
def test_a_bad_comparison_is_a_clear_error_with_its_path(tmp_path, change, words):
    path = tmp_path / "bad-comparison.nnviz"
    path.write_text(json.dumps(_bad(change)))
    with pytest.raises(NnvizError) as err:
        load_experiment(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and words in message and "Traceback" not in message
    assert len(message) < 600


def test_a_bad_base64_history_of_a_compared_run_names_its_path(monkeypatch):
    monkeypatch.setattr(experiment_module, "HISTORY_LIST_ROWS", 2)
    doc = json.loads(experiment_to_json(_compared()))
    assert isinstance(doc["comparison"][2]["history"]["train_loss"], str)
    doc["comparison"][2]["history"]["train_loss"] = "not base64!"
    with pytest.raises(FileFormatError, match=r"comparison\[2\]\.history\.train_loss: not base64"):
        _load_doc(doc)


def test_a_comparison_that_would_not_load_back_is_not_saved(tmp_path):
    path = tmp_path / "never.nnviz"
    exp = _compared()
    exp.comparison[0]["weights"][0][0][1, 1] = np.nan
    with pytest.raises(DataError, match=r"comparison\[1\]\.weights\[0\]\.W: holds a non-finite number"):
        save_experiment(exp, path)
    exp = _compared()
    exp.comparison[1]["history"] = _history(3)                 # run 2 has 2 weight layers
    with pytest.raises(FileFormatError, match=r"comparison\[2\]\.history\.n_layers"):
        save_experiment(exp, path)
    exp = _compared()
    exp.comparison[1]["changes"] = {"optimizer": {"learning_rate": -1}}
    with pytest.raises(ConfigError, match=r"comparison\[2\]\.changes\.optimizer\.learning_rate"):
        save_experiment(exp, path)
    exp = _compared()
    exp.comparison[0]["colour"] = "red"
    with pytest.raises(DataError, match=r"comparison\[1\]\.colour: unknown key"):
        save_experiment(exp, path)
    assert not path.exists()


@pytest.mark.parametrize("rows", [4, 60], ids=["lists", "base64"])
def test_a_history_saved_before_the_evaluated_column_loads_as_all_evaluated(monkeypatch, rows):
    monkeypatch.setattr(experiment_module, "HISTORY_LIST_ROWS", 50)
    exp = _experiment(history=_history(3, epochs=rows))
    doc = json.loads(experiment_to_json(exp))
    del doc["history"]["evaluated"]                       # as written before record-rate (issue 10)
    back = _load_doc(doc)
    assert np.array_equal(back.history["evaluated"], np.ones(rows))
    assert np.array_equal(back.history["train_loss"], exp.history["train_loss"])
    doc["history"]["test_loss"] = doc["history"].pop("epoch")   # a required column is still required
    with pytest.raises(FileFormatError, match="history.epoch"):
        _load_doc(doc)
