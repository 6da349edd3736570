"""Fuzzing the two loaders: whatever comes in, the only failure allowed is an NnvizError with a message."""
import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnviz.data.csv_io import read_points_csv
from nnviz.data.generators import generate
from nnviz.engine.config import ExperimentConfig, layer_sizes
from nnviz.engine.history import History
from nnviz.errors import NnvizError
from nnviz.experiment import Experiment, experiment_from_json, experiment_to_json

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_experiment() -> Experiment:
    config = ExperimentConfig()
    config.architecture.hidden_layers = [3]
    points = generate("gaussian", n=8, seed=1, n_classes=3, validation_fraction=0.25)
    sizes = layer_sizes(config, points.n_classes())
    rng = np.random.default_rng(0)
    weights = [(rng.normal(size=(a, b)), rng.normal(size=b)) for a, b in zip(sizes[:-1], sizes[1:])]
    history = History(len(sizes) - 1)
    history.append({"epoch": 1, "train_loss": 0.7}, {"grad_norm": [0.1, 0.2]})
    history.append({"epoch": 2, "train_loss": 0.6}, {"grad_norm": [0.1, 0.3]})
    return Experiment(config, points, name="fuzz", weights=weights, history=history)


VALID_TEXT = experiment_to_json(_valid_experiment())
VALID_DOC = json.loads(VALID_TEXT)
VALID_CSV = "x,y,label,role\n1.5,-2,0,train\n0.25,3,1,test\n-4,0.5,2,validation\n3,3,1,train\n"


def _fails_cleanly_or_loads(load, value):
    try:
        load(value)
    except NnvizError as e:
        assert str(e).strip(), f"{type(e).__name__} without a message"


# -- random input -------------------------------------------------------------------------------------------

# Small alphabets and sizes: generating deep random JSON is the slow part of these tests.
_keys = st.sampled_from(["x", "y", "W", "b", "role", "target", "epoch", "n_layers", ""]) | st.text(max_size=3)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_keys, children, max_size=3),
    max_leaves=8,
)
FUZZ_JSON = settings(FUZZ, max_examples=100)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(data):
    _fails_cleanly_or_loads(experiment_from_json, data)
    _fails_cleanly_or_loads(read_points_csv, data)


@FUZZ
@given(st.text(max_size=200))
def test_random_text(text):
    _fails_cleanly_or_loads(experiment_from_json, text)
    _fails_cleanly_or_loads(read_points_csv, text.encode("utf-8", "surrogatepass"))


@FUZZ_JSON
@given(json_values)
def test_random_json_values(value):
    _fails_cleanly_or_loads(experiment_from_json, json.dumps(value))


@FUZZ_JSON
@given(st.fixed_dictionaries({}, optional={**{key: json_values for key in VALID_DOC}, "other": json_values}),
       st.sampled_from([None, 0, 1]))
def test_random_objects_with_the_documents_keys(doc, version):
    if version is not None:  # a valid version reaches the checks behind it more often
        doc["version"] = version
    _fails_cleanly_or_loads(experiment_from_json, json.dumps(doc))


# -- mutations of a valid document --------------------------------------------------------------------------

def _paths(value, prefix=()):
    """Every (path) inside a JSON value, containers included."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


ALL_PATHS = [p for p in _paths(VALID_DOC) if p]
replacements = st.one_of(
    json_values,
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 10 ** 400, -(10 ** 30), 1e308, 2 ** 63, -1, 0,
                     0.5, 4, 65, True, "", "1", "NaN", "train", [], {}, None, [[]], [1, 2]]),
)


def _mutate(doc, path, action, new):
    *parents, last = path
    node = doc
    for key in parents:
        node = node[key]
    if action == "delete":
        del node[last]
    elif action == "string" and isinstance(node[last], (int, float)):
        node[last] = str(node[last])
    elif action == "wrap":
        node[last] = [node[last]]
    else:
        node[last] = new


@FUZZ_JSON
@given(st.lists(st.tuples(st.sampled_from(ALL_PATHS), st.sampled_from(["delete", "replace", "string", "wrap"]),
                          replacements), min_size=1, max_size=3))
def test_mutated_documents(mutations):
    doc = json.loads(VALID_TEXT)
    for path, action, new in mutations:
        try:
            _mutate(doc, path, action, new)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation removed or retyped this path
    _fails_cleanly_or_loads(experiment_from_json, json.dumps(doc))


@FUZZ
@given(st.integers(0, len(VALID_TEXT)))
def test_truncated_documents(cut):
    _fails_cleanly_or_loads(experiment_from_json, VALID_TEXT[:cut])
    _fails_cleanly_or_loads(experiment_from_json, VALID_TEXT.encode()[:cut])


@FUZZ
@given(st.integers(0, len(VALID_TEXT) - 1), st.integers(1, 20), st.text(max_size=10))
def test_spliced_documents(start, length, insert):
    _fails_cleanly_or_loads(experiment_from_json, VALID_TEXT[:start] + insert + VALID_TEXT[start + length:])


def test_the_unmutated_document_loads():
    assert experiment_from_json(VALID_TEXT) == _valid_experiment()  # the mutations start from a valid file


# -- mutations of a valid CSV -------------------------------------------------------------------------------

@FUZZ
@given(st.integers(0, len(VALID_CSV)), st.integers(0, 12),
       st.text(alphabet=st.sampled_from(list("0123456789.,;\t\n\r\"#-+eEnaifxyzrole ")) | st.characters(),
               max_size=12))
def test_spliced_csv(start, length, insert):
    text = VALID_CSV[:start] + insert + VALID_CSV[start + length:]
    _fails_cleanly_or_loads(read_points_csv, text + "\n")
    _fails_cleanly_or_loads(read_points_csv, text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.lists(st.lists(st.text(max_size=6) | st.floats().map(repr) | st.sampled_from(["train", "2", ""]),
                         min_size=0, max_size=5), max_size=6), st.sampled_from([",", ";", "\t"]))
def test_random_csv_tables(rows, delimiter):
    text = "\n".join(delimiter.join(row) for row in rows) + "\n"
    _fails_cleanly_or_loads(read_points_csv, text.encode("utf-8", "surrogatepass"))
