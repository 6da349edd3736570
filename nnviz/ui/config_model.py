"""The one place the GUI keeps the experiment settings.

Widgets never hold settings of their own: they call :meth:`ConfigModel.set_field` and redraw
themselves when :attr:`ConfigModel.changed` fires. Every accepted edit is validated as a whole config
(so a bad value can never get in) and, when an undo stack is given, becomes an undoable command.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Iterable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..engine.config import ExperimentConfig, needs_new_weights
from ..errors import ConfigError

_SECTION_CLASSES = {name: t for name, t in typing.get_type_hints(ExperimentConfig).items()
                    if dataclasses.is_dataclass(t)}

# Words for undo-menu texts ("Change learning rate") where the field name alone would be unclear.
_LABELS = {
    ("", "problem"): "problem type",
    ("architecture", "hidden_layers"): "hidden layers",
    ("architecture", "layer_activations"): "per-layer activation",
    ("architecture", "features"): "input features",
    ("architecture", "init"): "initialisation",
    ("optimizer", "name"): "optimiser",
    ("optimizer", "epsilon"): "optimiser epsilon",
    ("schedule", "name"): "learning-rate schedule",
    ("schedule", "gamma"): "step gamma",
    ("schedule", "min_lr"): "minimum learning rate",
    ("schedule", "factor"): "plateau factor",
    ("schedule", "patience"): "plateau patience",
    ("schedule", "threshold"): "plateau threshold",
    ("regularization", "l1"): "L1 penalty",
    ("regularization", "l2"): "L2 penalty",
    ("regularization", "dropout"): "dropout",
    ("regularization", "layer_dropout"): "per-layer dropout",
    ("early_stopping", "enabled"): "early stopping",
    ("early_stopping", "monitor"): "early-stopping monitor",
    ("early_stopping", "patience"): "early-stopping patience",
    ("early_stopping", "min_delta"): "early-stopping minimum delta",
    ("early_stopping", "restore_best"): "restore best weights",
}


def field_label(section: str, name: str) -> str:
    """A short human name for a config field, e.g. ``("optimizer", "learning_rate")`` -> "learning rate"."""
    return _LABELS.get((section, name), name.replace("_", " "))


def _section_dict(data: dict, section: str) -> dict:
    return data if section == "" else data[section]


def _get(config: ExperimentConfig, section: str, name: str) -> Any:
    holder = config if section == "" else getattr(config, section)
    return getattr(holder, name)


def _with_values(config: ExperimentConfig, changes: Iterable[tuple[str, str, Any]]) -> ExperimentConfig:
    """A validated copy of ``config`` with the given fields replaced; raises ConfigError."""
    data = config.to_dict()
    for section, name, value in changes:
        if section != "" and section not in _SECTION_CLASSES:
            raise ConfigError(f"config.{section}", "unknown settings section")
        if isinstance(value, list):
            value = list(value)  # never share a caller's list with the stored config
        _section_dict(data, section)[name] = value
    return ExperimentConfig.from_dict(data)


# Merge ids for QUndoCommand.id(): one stable small integer per field, assigned on first use.
_MERGE_IDS: dict[tuple[str, str], int] = {}


def _merge_id(section: str, name: str) -> int:
    return _MERGE_IDS.setdefault((section, name), 1000 + len(_MERGE_IDS))


class _EditCommand(QUndoCommand):
    """Sets some fields to new values; undo sets them back. Stores field values, not whole configs,
    so an undo still makes sense after the model was replaced by something outside the stack."""

    def __init__(self, model: "ConfigModel", text: str, old: dict, new: dict, mergeable: bool):
        super().__init__(text)
        self._model = model
        self._old = old          # {(section, name): value}
        self._new = new
        self._id = _merge_id(*next(iter(new))) if mergeable and len(new) == 1 else -1

    def id(self) -> int:  # noqa: A003 - Qt's name
        return self._id

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, _EditCommand) or other.id() != self._id or self._id == -1:
            return False
        self._new = dict(other._new)
        # dragging back to where it started leaves nothing to undo
        self.setObsolete(self._new == self._old)
        return True

    def redo(self) -> None:
        self._model._apply(self._new)

    def undo(self) -> None:
        self._model._apply(self._old)


class _ReplaceCommand(QUndoCommand):
    def __init__(self, model: "ConfigModel", text: str, old: ExperimentConfig, new: ExperimentConfig):
        super().__init__(text)
        self._model, self._old, self._new = model, old, new

    def redo(self) -> None:
        self._model._replace(self._new)

    def undo(self) -> None:
        self._model._replace(self._old)


class ConfigModel(QObject):
    """Holds the current :class:`ExperimentConfig` and tells everyone when it changes."""

    #: (new config copy, needs_reset): needs_reset is True when the change asks for new weights.
    changed = Signal(object, bool)
    #: a person-readable ConfigError message; the stored config did not change.
    invalid = Signal(str)

    def __init__(self, config: ExperimentConfig | None = None, undo_stack: QUndoStack | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._config = (config or ExperimentConfig()).copy()
        self._undo_stack = undo_stack

    # -- reading -------------------------------------------------------------------------------------
    @property
    def config(self) -> ExperimentConfig:
        """A copy: changing it does not change the model."""
        return self._config.copy()

    @property
    def undo_stack(self) -> QUndoStack | None:
        return self._undo_stack

    def value(self, section: str, name: str) -> Any:
        """The current value of one field (lists are copies)."""
        v = _get(self._config, section, name)
        return list(v) if isinstance(v, list) else v

    # -- editing -------------------------------------------------------------------------------------
    def set_field(self, section: str, name: str, value: Any) -> bool:
        """Set one field (``section`` "" for top-level fields such as ``problem``).

        Returns True if the config changed. An invalid value emits :attr:`invalid` and keeps the old
        value. Consecutive edits of the same field merge into one undo step (a slider drag).
        """
        return self.set_fields({(section, name): value}, merge=True)

    def set_fields(self, changes: dict[tuple[str, str], Any], text: str | None = None,
                   merge: bool = False) -> bool:
        """Set several fields at once, as one undo step (e.g. removing a layer trims per-layer lists)."""
        if not changes:
            return False
        try:
            candidate = _with_values(self._config, [(s, n, v) for (s, n), v in changes.items()])
        except ConfigError as exc:
            self.invalid.emit(str(exc))
            return False
        new = {key: _get(candidate, *key) for key in changes}
        old = {key: _get(self._config, *key) for key in changes}
        if new == old:
            return False
        if self._undo_stack is None:
            self._apply(new)
        else:
            if text is None:
                first = next(iter(changes))
                text = f"Change {field_label(*first)}"
            self._undo_stack.push(_EditCommand(self, text, old, new, merge))
        return True

    def set_config(self, config: ExperimentConfig, undo_text: str | None = "Replace settings") -> None:
        """Replace every setting (loading a file, a preset) and emit ``changed(config, True)``.

        With an undo stack and ``undo_text`` the replacement is itself undoable; pass
        ``undo_text=None`` to replace without touching the stack (e.g. when the caller clears it).
        Raises ConfigError if ``config`` is invalid.
        """
        new = config.copy()  # also validates
        if self._undo_stack is None or undo_text is None:
            self._replace(new)
        else:
            self._undo_stack.push(_ReplaceCommand(self, undo_text, self._config.copy(), new))

    # -- used by the undo commands -------------------------------------------------------------------
    def _apply(self, values: dict) -> None:
        try:
            new = _with_values(self._config, [(s, n, v) for (s, n), v in values.items()])
        except ConfigError as exc:  # only if something outside the stack made the old value invalid
            self.invalid.emit(str(exc))
            return
        old, self._config = self._config, new
        if old != new:
            self.changed.emit(new.copy(), needs_new_weights(old, new))

    def _replace(self, config: ExperimentConfig) -> None:
        self._config = config.copy()
        self.changed.emit(self._config.copy(), True)


# -- which fields need new weights ---------------------------------------------------------------------

def _item_candidates(meta: dict) -> list:
    if meta.get("choices"):
        return list(meta["choices"])
    return [v for v in (meta.get("item_lo"), meta.get("item_hi")) if v is not None]


def _candidates(value: Any, t: Any, meta: dict, n_layers: int) -> list:
    """Some other valid-looking values for a field, to probe needs_new_weights with."""
    if typing.get_origin(t) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        t = [a for a in typing.get_args(t) if a is not type(None)][0]
    if t is bool:
        return [not value]
    if t is str:
        return [c for c in (meta.get("choices") or ()) if c != value]
    if t in (int, float):
        lo, hi = meta.get("lo"), meta.get("hi")
        out = [v for v in (lo, hi) if v is not None and v != value]
        return out or [value + 1]
    if typing.get_origin(t) is list:
        current = list(value or [])
        items = _item_candidates(meta)
        out = [[x] * max(1, n_layers) for x in items]
        out += [current + [x] for x in items if x not in current]
        if current:
            out.append(current[:-1])
        return out
    return []


def field_resets_weights(section: str, name: str, base: ExperimentConfig | None = None) -> bool:
    """True when changing this field (to some valid value) asks for new weights.

    Decided by probing :func:`needs_new_weights`, so the GUI follows the engine's rule without
    repeating it.
    """
    base = base or ExperimentConfig()
    klass = ExperimentConfig if section == "" else _SECTION_CLASSES[section]
    hints = typing.get_type_hints(klass)
    f = next(f for f in dataclasses.fields(klass) if f.name == name)
    value = _get(base, section, name)
    for candidate in _candidates(value, hints[name], dict(f.metadata), len(base.architecture.hidden_layers)):
        try:
            probe = _with_values(base, [(section, name, candidate)])
        except ConfigError:
            continue
        if needs_new_weights(base, probe):
            return True
    return False
