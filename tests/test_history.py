"""History: column storage, bounded memory on long runs, serialisation."""
import numpy as np
import pytest

from nnviz.engine.history import History
from nnviz.errors import FileFormatError


def fill(h, start, stop):
    for e in range(start, stop):
        h.append({"epoch": e, "train_loss": 1.0 / e}, {"grad_norm": np.full(h.n_layers, e)})


def test_long_runs_keep_memory_bounded_and_the_time_span():
    h = History(2, max_rows=1000)
    fill(h, 1, 100_001)
    assert len(h) <= 1000
    epochs = h["epoch"]
    assert epochs[0] == 1 or epochs[0] < 200          # the start of the run is still represented
    assert epochs[-1] == 100_000                        # the newest row always stays
    assert np.all(np.diff(epochs) > 0)
    assert np.allclose(h["train_loss"], 1.0 / epochs)   # rows stay whole: columns are thinned together
    assert np.array_equal(h["grad_norm"][:, 1], epochs)


def test_rows_after_and_extend_across_processes():
    src, dst = History(3, max_rows=64), History(3, max_rows=64)
    sent = 0
    for stop in (10, 50, 200, 201, 500):
        fill(src, len(src) and int(src.last("epoch")) + 1 or 1, stop)
        rows = src.slice(src.rows_after(sent))
        if len(rows["epoch"]):
            sent = rows["epoch"][-1]
        dst.extend(rows)
    assert dst.last("epoch") == src.last("epoch") == 499
    assert len(dst) <= 64 and np.all(np.diff(dst["epoch"]) > 0)


def test_round_trip_and_bad_documents():
    h = History(2)
    fill(h, 1, 20)
    back = History.from_dict(h.to_dict())
    assert np.array_equal(back["grad_norm"], h["grad_norm"])
    assert np.isnan(back["test_loss"]).all()
    d = h.to_dict()
    d["train_loss"] = d["train_loss"][:-1]
    with pytest.raises(FileFormatError, match="train_loss"):
        History.from_dict(d)
    assert h.to_csv().splitlines()[0].startswith("epoch,learning_rate,train_loss")


def test_loaded_epochs_must_be_whole_and_increasing():
    h = History(1)
    fill(h, 1, 5)
    for bad in ([1, 2, None, 4], [0, 1, 2, 3], [1, 3, 2, 4], [1, 2, 2.5, 4]):
        d = h.to_dict()
        d["epoch"] = bad
        with pytest.raises(FileFormatError, match="epoch"):
            History.from_dict(d)


def test_arrays_round_trip_exactly_and_bad_arrays_are_refused():
    import pickle
    h = History(3)
    fill(h, 1, 50)
    d = h.to_arrays()
    assert all(isinstance(d[c], np.ndarray) for c in d if c != "n_layers") and d["n_layers"] == 3
    back = History.from_arrays(pickle.loads(pickle.dumps(d)))
    assert back.to_dict() == h.to_dict()
    d["train_loss"][0] = 7.0                       # a copy: the history itself is untouched
    assert h["train_loss"][0] == 1.0
    for column, bad, match in (("grad_norm", np.zeros((49, 2)), "shape"), ("epoch", np.arange(49.0), "epoch"),
                               ("test_loss", np.full(49, np.inf), "finite"), ("penalty", [0.0] * 49, "NumPy")):
        d = h.to_arrays()
        d[column] = bad
        with pytest.raises(FileFormatError, match=match):
            History.from_arrays(d)


def _rows(evaluated):
    from nnviz.engine.history import LAYER_COLUMNS, SCALAR_COLUMNS
    n = len(evaluated)
    rows = {c: np.full(n, np.nan) for c in SCALAR_COLUMNS}
    rows.update({c: np.full((n, 1), np.nan) for c in LAYER_COLUMNS})
    rows["epoch"] = np.arange(1.0, n + 1)
    rows["train_loss"] = np.arange(n, dtype=float)
    rows["evaluated"] = np.asarray(evaluated, dtype=float)
    return rows


@pytest.mark.parametrize("gap", [0, 1, 63, 64, 65, 1000, 5000])
def test_last_evaluated_row_is_found_however_far_back(gap):
    """The newest evaluated row, searched from the end: found wherever it is, None when there is none."""
    h = History(1)
    n = gap + 10
    evaluated = np.zeros(n)
    evaluated[n - 1 - gap] = 1.0
    evaluated[0] = 1.0
    h.extend(_rows(evaluated))
    assert h.last_evaluated_row() == n - 1 - gap
    assert h.last_evaluated("train_loss") == n - 1 - gap
    none = History(1)
    none.extend(_rows(np.zeros(5)))
    assert none.last_evaluated_row() is None and np.isnan(none.last_evaluated("train_loss"))
