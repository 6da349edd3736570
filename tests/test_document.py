"""Document on its own (no window): regenerate, undo, re-split, import/export, save and reopen."""
from __future__ import annotations

import numpy as np
import pytest

from nnviz.engine.config import ExperimentConfig
from nnviz.errors import NnvizError
from nnviz.experiment import Experiment, save_experiment
from nnviz.ui.document import Document


@pytest.fixture
def doc(qapp):
    d = Document()
    yield d
    d.deleteLater()


def test_regenerate_is_undoable_and_counts_versions(doc):
    v0 = doc.points_version
    doc.regenerate("circle", 120, 0.1, 0.7, seed=3)
    assert len(doc.points) == 120 and doc.points_version == v0 + 1
    assert doc.generator == {"kind": "circle", "n": 120, "noise": 0.1, "train_fraction": 0.7, "seed": 3}
    assert not doc.clean
    doc.undo_stack.undo()
    assert len(doc.points) == 0 and doc.points_version == v0 + 2 and doc.clean
    doc.undo_stack.redo()
    assert len(doc.points) == 120


def test_regenerate_refuses_what_it_cannot_make(doc):
    with pytest.raises(NnvizError):
        doc.regenerate("no-such-kind", 10, 0.0, 0.5, 0)
    assert len(doc.points) == 0 and doc.clean


def test_resplit_keeps_the_points_and_deals_roles_afresh(doc):
    doc.regenerate("circle", 200, 0.0, 0.5, seed=1)
    before = doc.points
    doc.resplit(0.8, seed=1)
    assert np.array_equal(doc.points.xy, before.xy)
    assert doc.points.count(0) == 160 and doc.generator["train_fraction"] == 0.8


def test_save_and_reopen(doc, tmp_path):
    doc.regenerate("xor", 80, 0.0, 0.5, seed=2)
    doc.config_model.set_field("optimizer", "learning_rate", 0.05)
    doc.name = "mine"
    path = str(tmp_path / "a.nnviz")
    save_experiment(doc.experiment(), path)
    doc.mark_saved()
    assert doc.clean
    other = Document()
    loaded = []
    other.loaded.connect(loaded.append)
    serial = other.serial
    other.open(path)
    assert other.path == path and other.name == "mine" and other.serial == serial + 1 and loaded
    assert other.config.optimizer.learning_rate == 0.05
    assert np.array_equal(other.points.xy, doc.points.xy)
    assert other.clean and not other.undo_stack.canUndo()   # a load is not undoable


def test_a_save_of_an_older_state_leaves_later_edits_unsaved(doc):
    doc.regenerate("circle", 50, 0.0, 0.5, seed=0)
    index = doc.undo_stack.index()
    doc.regenerate("circle", 60, 0.0, 0.5, seed=0)          # an edit while the file was written
    doc.mark_saved(index)
    assert not doc.clean


def test_sweep_changes_are_unsaved_work(doc):
    doc.sweep_changes += 1
    assert not doc.clean
    doc.mark_saved()
    assert doc.clean


def test_import_and_export_points(doc, tmp_path):
    doc.regenerate("circle", 30, 0.0, 0.5, seed=0)
    path = str(tmp_path / "p.csv")
    doc.export_points(path)
    fresh = Document()
    fresh.import_points(path)
    assert np.allclose(fresh.points.xy, doc.points.xy) and fresh.undo_stack.canUndo()


def test_load_replaces_settings_and_points_while_loading(doc):
    seen = []
    doc.points_model.changed.connect(lambda _p: seen.append(doc.loading))
    from nnviz.data.generators import generate
    doc.load(Experiment(ExperimentConfig(), generate("circle", 20, 0.0, 0.5, 0), name="n", description="d"))
    assert seen == [True] and not doc.loading and doc.description == "d"
