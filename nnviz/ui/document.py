"""The document, Qt side, no widgets: what the user edits and saves.

It owns the undo stack, the points (PointsModel, with the version every SetPoints carries), the settings
(ConfigModel), the generator settings (how Regenerate makes points), and the file state (path, name,
description, which load it is, sweep changes since the last save). Runs (nnviz.ui.training_run) train on
it; several may share one document. Dialogs and messages stay in the window: the operations here raise
NnvizError (or OSError) and the window shows them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from ..compare_variants import apply_changes
from ..data.csv_io import read_points_csv, write_points_csv
from ..data.generators import generate
from ..data.points import PointSet
from ..engine.config import ExperimentConfig
from ..errors import ConfigError
from ..experiment import Experiment, load_experiment
from .config_model import ConfigModel
from .points_model import PointsModel

DEFAULT_GENERATOR = {"kind": "circle", "n": 200, "noise": 0.0, "train_fraction": 0.5, "seed": 0}
MAX_COMPARED_RUNS = 4


@dataclass(frozen=True)
class Variant:
    """One run of a comparison: what differs from the document's settings (those of run A)."""
    label: str
    changes: dict = field(default_factory=dict)   # config sections as in Preset.settings, on top of the document's


def variants_of(exp: Experiment) -> list[Variant]:
    """The comparison an experiment holds ([] for a single run)."""
    runs = getattr(exp, "comparison", None) or []
    if not runs:
        return []
    return [Variant(getattr(exp, "comparison_a_label", "") or "Run A", {})] + [
        Variant(str(run.get("label") or f"Run {chr(66 + i)}"), dict(run.get("changes") or {}))
        for i, run in enumerate(runs)]


class Document(QObject):
    loaded = Signal(object)          # Experiment: a new document replaced the old one (a load, New, a lesson)
    comparison_changed = Signal()    # runs were added to or removed from the comparison, or relabelled

    def __init__(self, parent=None):
        super().__init__(parent)
        self.points_model = PointsModel(PointSet.empty(), self)
        self.undo_stack = self.points_model.undo_stack
        self.config_model = ConfigModel(ExperimentConfig(), undo_stack=self.undo_stack, parent=self)
        self.points_version = 0          # bumps with every change of the points; sent with them to the runs
        self.path: str | None = None
        self.name = "Untitled"
        self.description = ""
        self.serial = 0                  # bumps on every load: a late save result knows its document
        self.loading = False             # a load is replacing points and settings (sent together)
        self.generator = dict(DEFAULT_GENERATOR)   # how Regenerate makes points (shown by the Data panel)
        self.sweep_changes = 0           # bumps when a sweep result changes (a run came in, a load)
        self.sweep_saved = 0             # sweep_changes at the last save or load
        # [] = a single run; else 2-4 runs on these points, entry 0 is run A (no changes: the settings above)
        self.comparison: list[Variant] = []
        self.comparison_changes = 0      # bumps when the comparison changes
        self.comparison_saved = 0        # comparison_changes at the last save or load
        # connected first: the version is current for every other listener of the points
        self.points_model.changed.connect(self._count_version)

    def _count_version(self, _points) -> None:
        self.points_version += 1

    # -- facts -------------------------------------------------------------------------------------------
    @property
    def points(self) -> PointSet:
        return self.points_model.points

    @property
    def config(self) -> ExperimentConfig:
        return self.config_model.config

    @property
    def clean(self) -> bool:
        """Nothing edited since the last save or load (training time is the runs' business)."""
        return (self.undo_stack.isClean() and self.sweep_changes == self.sweep_saved
                and self.comparison_changes == self.comparison_saved)

    def mark_saved(self, undo_index: int | None = None, sweep_changes: int | None = None) -> None:
        """A save of the state at ``undo_index`` (default: now) was written: edits made since stay unsaved."""
        if undo_index is None or self.undo_stack.index() == undo_index:
            self.undo_stack.setClean()
        self.sweep_saved = self.sweep_changes if sweep_changes is None else sweep_changes
        self.comparison_saved = self.comparison_changes

    # -- the comparison ------------------------------------------------------------------------------------
    @property
    def comparing(self) -> bool:
        return len(self.comparison) >= 2

    def set_comparison(self, variants: list[Variant], mark_modified: bool = True) -> None:
        """Compare these runs (``[]`` or one entry: a single run). Entry 0 is run A: its changes must be
        empty (the document's settings are run A's). Raises ConfigError for more than four runs."""
        variants = list(variants)
        if len(variants) > MAX_COMPARED_RUNS:
            raise ConfigError(f"At most {MAX_COMPARED_RUNS} runs can be compared.")
        if variants and variants[0].changes:
            raise ConfigError("The first run of a comparison uses the document's settings: it has no changes.")
        if len(variants) < 2:
            variants = []
        if variants == self.comparison:
            return
        self.comparison = variants
        if mark_modified:
            self.comparison_changes += 1
        self.comparison_changed.emit()

    def variant_config(self, index: int) -> ExperimentConfig:
        """The settings of run ``index`` of the comparison (0: the document's); raises NnvizError."""
        if index == 0 or not self.comparison:
            return self.config.copy()
        return apply_changes(self.config, self.comparison[index].changes, path=f"comparison[{index}].changes")

    def set_generator(self, kind: str | None = None, n: int | None = None, noise: float | None = None,
                      train_fraction: float | None = None, seed: int | None = None) -> None:
        for key, value in (("kind", kind), ("n", n), ("noise", noise), ("train_fraction", train_fraction),
                           ("seed", seed)):
            if value is not None:
                self.generator[key] = value

    # -- operations --------------------------------------------------------------------------------------
    def load(self, exp: Experiment, path: str | None = None) -> None:
        """Replace points and settings (not undoable: the undo stack starts afresh), name and path."""
        self.loading = True
        try:
            self.config_model.set_config(exp.config, undo_text=None)
            self.points_model.replace_all(exp.points, "Load")
        finally:
            self.loading = False
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.serial += 1
        self.sweep_saved = self.sweep_changes
        self.set_comparison(variants_of(exp), mark_modified=False)
        self.comparison_saved = self.comparison_changes
        self.name = exp.name
        self.description = exp.description
        self.path = path
        self.loaded.emit(exp)

    def open(self, path: str) -> Experiment:
        """Load a .nnviz file (raises NnvizError); returns the experiment (its weights are the runs')."""
        exp = load_experiment(path)
        self.load(exp, path)
        return exp

    def experiment(self, sweep: dict | None = None) -> Experiment:
        """The document now: its points and settings (no weights: a save asks a run for them)."""
        exp = Experiment(self.config.copy(), self.points, name=self.name, description=self.description,
                         sweep=sweep)
        if self.comparing:   # the runs' definitions; a save asks each run for its weights and history
            exp.comparison_a_label = self.comparison[0].label
            exp.comparison = [{"label": v.label, "changes": dict(v.changes), "weights": None, "history": None}
                              for v in self.comparison[1:]]
        return exp

    def regenerate(self, kind: str, count: int, noise: float, train_fraction: float, seed: int) -> None:
        """New points from a generator (undoable); raises NnvizError for settings it cannot make."""
        points = generate(kind, count, noise, train_fraction, seed)
        self.set_generator(kind, count, noise, train_fraction, seed)
        self.points_model.replace_all(points, f"Generate {kind} data")

    def resplit(self, train_fraction: float, seed: int | None = None) -> None:
        """Deal the points afresh into train and test (undoable)."""
        seed = self.generator["seed"] if seed is None else seed
        new = self.points.resplit(train_fraction, seed=seed)
        self.set_generator(train_fraction=train_fraction)
        self.points_model.replace_all(new, f"Re-split {train_fraction:.0%} train")

    def import_points(self, path: str) -> None:
        """Replace the points with a CSV file's (undoable); raises NnvizError or OSError."""
        self.points_model.replace_all(read_points_csv(path), "Import points")

    def export_points(self, path: str) -> None:
        write_points_csv(self.points, path)
