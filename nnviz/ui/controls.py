"""The settings panel: one control per config field, in collapsible sections.

The panel owns no settings: every edit goes to :meth:`ConfigModel.set_field`, and the widgets are
redrawn from the model's ``changed`` signal (with a guard so redrawing does not send edits back).
Tooltips come from each field's ``help`` text in :mod:`nnviz.engine.config`, plus a note saying
whether the change resets the weights.
"""
from __future__ import annotations

import dataclasses
import math
import random
import re
from contextlib import contextmanager
from typing import Any, Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QFrame,
    QGridLayout, QHBoxLayout, QLabel, QMenu, QPushButton, QScrollArea, QSizePolicy, QSlider, QSpinBox,
    QToolButton, QVBoxLayout, QWidget,
)

from ..engine.config import (
    ACTIVATIONS, FEATURES, MAX_HIDDEN_LAYERS, ArchitectureConfig, EarlyStoppingConfig, ExperimentConfig,
    OptimizerConfig, RegularizationConfig, ScheduleConfig, field_help,
)
from .config_model import ConfigModel, field_resets_weights
from .pgutil import guard_wheel

RESET_NOTE = "Changing this resets the weights."
LIVE_NOTE = "Applies live, without reset."
ERROR_COLOR = "#B00020"

ACTIVATION_NAMES = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU", "leaky_relu": "Leaky ReLU",
                    "linear": "Linear"}
FEATURE_NAMES = {"x1": "x₁", "x2": "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1*x2": "x₁·x₂",
                 "sin_x1": "sin x₁", "sin_x2": "sin x₂"}
INIT_NAMES = {"glorot": "Glorot (Xavier)", "he": "He", "uniform": "Uniform"}
OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "SGD + momentum", "nesterov": "Nesterov", "rmsprop": "RMSprop",
                   "adam": "Adam"}
SCHEDULE_NAMES = {"constant": "Constant", "step": "Step", "exponential": "Exponential",
                  "inverse_time": "Inverse time", "cosine": "Cosine", "plateau": "Reduce on plateau"}
MONITOR_NAMES = {"test_loss": "Test loss", "test_error": "Test error", "validation_loss": "Validation loss",
                 "validation_error": "Validation error"}
PROBLEM_NAMES = {"classification": "Classification", "regression": "Regression"}
DTYPE_NAMES = {"float64": "float64 (precise)", "float32": "float32 (faster)"}
#: why one would pick float32, and why the change starts training again (shown under the field's help)
DTYPE_MORE = ("Choose float32 for wide or deep networks and many points: epochs run faster and the weights "
              "take half the memory. Keep float64 to repeat an earlier float64 run exactly; small networks "
              "gain little. The network is rebuilt in the new precision, so training "
              "starts again at epoch 0 from the seed's initial weights.")

#: which optimiser / schedule fields matter for each choice (the others are hidden)
OPTIMIZER_PARAMS = {"sgd": (), "momentum": ("momentum",), "nesterov": ("momentum",),
                    "rmsprop": ("rho", "epsilon"), "adam": ("beta1", "beta2", "epsilon")}
SCHEDULE_PARAMS = {"constant": (), "step": ("step_size", "gamma"), "exponential": ("decay_rate",),
                   "inverse_time": ("decay",), "cosine": ("period", "min_lr"),
                   "plateau": ("factor", "patience", "threshold", "min_lr")}

#: TensorFlow Playground's regularisation rates, offered as quick picks
PENALTY_PRESETS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)

LR_SLIDER_MIN_EXP, LR_SLIDER_MAX_EXP = -5, 1   # slider spans 1e-5 .. 10
LR_SLIDER_STEPS_PER_DECADE = 100
INT32_MAX = 2**31 - 1

_SECTIONS = {"": ExperimentConfig, "architecture": ArchitectureConfig, "optimizer": OptimizerConfig,
             "schedule": ScheduleConfig, "regularization": RegularizationConfig,
             "early_stopping": EarlyStoppingConfig}


#: why the Activation box is disabled for a model without hidden layers
NO_HIDDEN_ACTIVATION_TIP = ("Disabled: this model has no hidden layer, and the activation applies to hidden "
                            "neurons only (the output uses sigmoid, softmax or nothing, set by the problem). "
                            "Add a layer with + Layer to choose one.")


def field_meta(section: str, name: str) -> dict:
    """The metadata (help, lo, hi, choices, item_lo, item_hi) of a config field."""
    for f in dataclasses.fields(_SECTIONS[section]):
        if f.name == name:
            return dict(f.metadata)
    raise KeyError(f"{section}.{name}")


_RESETS: dict[tuple[str, str], bool] = {}


def resets_weights(section: str, name: str) -> bool:
    key = (section, name)
    if key not in _RESETS:
        _RESETS[key] = field_resets_weights(section, name)
    return _RESETS[key]


def field_tooltip(section: str, name: str, lead: str = "", more: str = "") -> str:
    """Tooltip text: optional lead sentence, the field's help, optional ``more`` explanation, then
    whether it resets the weights."""
    note = RESET_NOTE if resets_weights(section, name) else LIVE_NOTE
    parts = [p for p in (lead, field_help(section, name), more, note) if p]
    return "\n".join(parts)


def _fmt(value: float) -> str:
    return f"{value:.6g}"


class SciSpinBox(QDoubleSpinBox):
    """A double spin box that shows numbers compactly (0.03, 1e-05, 0.999) and accepts typed
    scientific notation. With ``log_steps`` the arrows multiply/divide instead of adding, which is
    what rates spanning many decades need."""

    _PARTIAL = re.compile(r"^[+-]?(\d*\.?\d*)([eE][+-]?\d*)?$")

    def __init__(self, lo: float, hi: float, *, step: float = 0.1, log_steps: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._log_steps = log_steps
        self.setDecimals(15)  # stored precision; the text is formatted by textFromValue
        self.setRange(lo, hi)
        self.setSingleStep(step)
        self.setKeyboardTracking(False)  # emit on Enter / focus-out, not on every keystroke
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt's name
        return _fmt(value)

    def valueFromText(self, text: str) -> float:  # noqa: N802
        text = text.strip()
        if self.specialValueText() and text == self.specialValueText():
            return self.minimum()
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):  # noqa: D401 - Qt's signature
        stripped = text.strip()
        if self.specialValueText() and stripped == self.specialValueText():
            return QValidator.State.Acceptable, text, pos
        if not self._PARTIAL.match(stripped):
            return QValidator.State.Invalid, text, pos
        try:
            value = float(stripped)
        except ValueError:
            return QValidator.State.Intermediate, text, pos  # "", "1e", "." ...: still typing
        if not math.isfinite(value) or not (self.minimum() <= value <= self.maximum()):
            return QValidator.State.Intermediate, text, pos
        return QValidator.State.Acceptable, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802
        if not self._log_steps:
            return super().stepBy(steps)
        value = self.value()
        floor = max(self.minimum(), 1e-4)
        if value <= 0 or (value < floor and steps > 0):
            new = floor if steps > 0 else self.minimum()
        else:
            # a third of a decade per step, rounded to 2 significant digits: 0.01, 0.022, 0.046, 0.1 ...
            new = float(f"{value * 10 ** (steps / 3):.2g}")
            if new < floor and steps < 0:
                new = self.minimum()
        self.setValue(min(max(new, self.minimum()), self.maximum()))


class _Section(QWidget):
    """A titled, collapsible block: a header button with an arrow, then a form."""

    def __init__(self, title: str, resets: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.header = QToolButton(self)
        self.header.setText(title)
        self.header.setCheckable(True)
        self.header.setChecked(True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setArrowType(Qt.ArrowType.DownArrow)
        self.header.setAutoRaise(True)
        # a flat bar whichever way it is toggled (the checked look would suggest a pressed button)
        self.header.setStyleSheet(
            "QToolButton { border: none; border-radius: 3px; padding: 3px 2px; background: palette(midlight); }"
            "QToolButton:hover { background: palette(light); }"
            "QToolButton:focus { border: 1px solid palette(highlight); }")
        self.header.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        font = self.header.font()
        font.setBold(True)
        self.header.setFont(font)
        self.header.setObjectName(f"section.{title.lower().replace(' ', '_')}")
        tip = f"Show or hide the {title} settings."
        tip += f"\n{RESET_NOTE if resets else LIVE_NOTE}"
        self.header.setToolTip(tip)

        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.header, 1)
        if resets:
            note = QLabel("↺ resets weights", self)
            note.setToolTip("Every setting in this section starts training again from new weights.")
            note.setStyleSheet("color: palette(placeholder-text); font-size: small;")
            head.addWidget(note)

        line = QFrame(self)
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)

        self.body = QWidget(self)
        self.form = QFormLayout(self.body)
        self.form.setContentsMargins(8, 2, 2, 6)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        outer.addLayout(head)
        outer.addWidget(line)
        outer.addWidget(self.body)
        self.header.toggled.connect(self._set_expanded)

    def _set_expanded(self, expanded: bool) -> None:
        self.header.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.body.setVisible(expanded)

    def add_row(self, text: str, field: QWidget, buddy: QWidget | None = None) -> None:
        label = QLabel(text, self.body)
        label.setBuddy(buddy or field)
        self.form.addRow(label, field)

    def set_row_visible(self, field: QWidget, visible: bool) -> None:
        self.form.setRowVisible(field, visible)


def _row(*widgets: QWidget) -> QWidget:
    """Widgets side by side; the first takes the spare width."""
    box = QWidget()
    lay = QHBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(4)
    for i, w in enumerate(widgets):
        lay.addWidget(w, 1 if i == 0 else 0)
    return box


class ControlPanel(QWidget):
    """Every experiment setting as a control. Edits go to ``model.set_field`` only.

    Controls carry object names ``"<section>.<field>"`` (per-layer ones ``"...<field>.<i>"``) so
    tests and style sheets can find them.
    """

    def __init__(self, model: ConfigModel, parent: QWidget | None = None):
        super().__init__(parent)
        self._model = model
        self._syncing = False
        self._label_width = 0  # set once all sections exist (see _align_labels)
        self._fields: dict[tuple[str, str], QWidget] = {}
        self._layer_rows: list[tuple[QLabel, QSpinBox, QComboBox]] = []
        self._dropout_rows: list[tuple[QLabel, SciSpinBox]] = []

        self._error = QLabel(self)
        self._error.setObjectName("config_error")
        self._error.setWordWrap(True)
        self._error.setStyleSheet(f"color: {ERROR_COLOR}; font-weight: bold;")
        self._error.setVisible(False)

        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # not a Tab stop; it follows the focus
        content = QWidget()
        self._column = QVBoxLayout(content)
        self._column.setContentsMargins(4, 4, 4, 4)
        self._column.setSpacing(6)
        self._scroll.setWidget(content)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._error)
        outer.addWidget(self._scroll)

        self.sections: dict[str, _Section] = {}
        self._build_architecture()
        self._build_training()
        self._build_regularization()
        self._build_early_stopping()
        self._column.addStretch(1)
        self._align_labels()
        self._fix_tab_order()

        model.changed.connect(self._on_model_changed)
        model.invalid.connect(self._on_invalid)
        self._sync(model.config)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(340, 700)

    def _align_labels(self) -> None:
        """One label-column width for every section (and the per-layer rows), so fields line up."""
        labels = []
        for sec in self.sections.values():
            for row in range(sec.form.rowCount()):
                item = sec.form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                if item is not None and isinstance(item.widget(), QLabel):
                    labels.append(item.widget())
        self._label_width = max(label.sizeHint().width() for label in labels)
        for label in labels:
            label.setMinimumWidth(self._label_width)
        for row in self._layer_rows + self._dropout_rows:
            self._fit_row_label(row[0])

    def _fit_row_label(self, label: QLabel) -> None:
        # per-layer grids sit inside the form's field column margin, so subtract the form spacing
        if self._label_width:
            label.setMinimumWidth(self._label_width + self.sections["architecture"].form.horizontalSpacing()
                                  - self._layers_grid.horizontalSpacing())

    # -- widget factories ------------------------------------------------------------------------------
    def _register(self, section: str, name: str, widget: QWidget, lead: str = "", more: str = "") -> QWidget:
        widget.setObjectName(f"{section}.{name}" if section else name)
        widget.setToolTip(field_tooltip(section, name, lead, more))
        self._fields[(section, name)] = widget
        self._guard_wheel(widget)
        return widget

    def _guard_wheel(self, widget: QWidget) -> None:
        if isinstance(widget, (QAbstractSpinBox, QComboBox, QSlider)):
            guard_wheel(widget)   # the wheel scrolls the panel unless the field has focus

    def _edit(self, section: str, name: str) -> Callable[[Any], None]:
        def handler(value: Any) -> None:
            if not self._syncing:
                self._model.set_field(section, name, value)
        return handler

    def _combo(self, section: str, name: str, names: dict[str, str], more: str = "") -> QComboBox:
        combo = QComboBox()
        for choice in field_meta(section, name)["choices"]:
            combo.addItem(names.get(choice, choice), choice)
        combo.currentIndexChanged.connect(lambda _i: self._edit(section, name)(combo.currentData()))
        return self._register(section, name, combo, more=more)

    def _int_spin(self, section: str, name: str, special: str = "") -> QSpinBox:
        meta = field_meta(section, name)
        spin = QSpinBox()
        spin.setRange(int(meta["lo"]), int(min(meta["hi"], INT32_MAX)))
        spin.setKeyboardTracking(False)
        if special:
            spin.setSpecialValueText(special)
        spin.valueChanged.connect(self._edit(section, name))
        return self._register(section, name, spin)

    def _float_spin(self, section: str, name: str, *, step: float = 0.1, log_steps: bool = False) -> SciSpinBox:
        meta = field_meta(section, name)
        spin = SciSpinBox(float(meta["lo"]), float(meta["hi"]), step=step, log_steps=log_steps)
        spin.valueChanged.connect(self._edit(section, name))
        return self._register(section, name, spin)

    def _check(self, section: str, name: str, text: str) -> QCheckBox:
        box = QCheckBox(text)
        box.toggled.connect(self._edit(section, name))
        return self._register(section, name, box)

    def _section(self, key: str, title: str) -> _Section:
        fields = [f.name for f in dataclasses.fields(_SECTIONS[key])]
        resets = all(resets_weights(key, n) for n in fields)
        section = _Section(title, resets)
        self.sections[key] = section
        self._column.addWidget(section)
        return section

    # -- Architecture ----------------------------------------------------------------------------------
    def _build_architecture(self) -> None:
        sec = self._section("architecture", "Architecture")
        sec.add_row("Problem", self._combo("", "problem", PROBLEM_NAMES))

        # input features: seven toggle buttons in a grid
        features = QWidget()
        grid = QGridLayout(features)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(3)
        self._feature_buttons: dict[str, QToolButton] = {}
        help_text = field_tooltip("architecture", "features")
        for i, feat in enumerate(FEATURES):
            b = QToolButton()
            b.setText(FEATURE_NAMES[feat])
            b.setCheckable(True)
            b.setObjectName(f"architecture.features.{feat}")
            b.setToolTip(f"Feed {FEATURE_NAMES[feat]} to the network.\n{help_text}\nAt least one stays on.")
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.toggled.connect(lambda checked, f=feat: self._on_feature_toggled(f, checked))
            grid.addWidget(b, i // 4, i % 4)
            self._feature_buttons[feat] = b
        features.setObjectName("architecture.features")
        features.setToolTip(help_text)
        self._fields[("architecture", "features")] = features
        sec.add_row("Inputs", features, buddy=self._feature_buttons[FEATURES[0]])

        # hidden layers: one row per layer, plus add/remove
        self._layers_box = QWidget()
        self._layers_grid = QGridLayout(self._layers_box)
        self._layers_grid.setContentsMargins(0, 0, 0, 0)
        self._layers_grid.setHorizontalSpacing(4)
        self._layers_grid.setVerticalSpacing(2)
        self._layers_grid.setColumnStretch(1, 1)
        self._layers_grid.setColumnStretch(2, 2)
        self._layers_summary = QLabel()
        self._layers_summary.setObjectName("architecture.hidden_layers.summary")
        self._add_layer = QPushButton("+ Layer")
        self._add_layer.setObjectName("architecture.hidden_layers.add")
        self._add_layer.setToolTip(field_tooltip(
            "architecture", "hidden_layers", f"Add a hidden layer at the output end (at most {MAX_HIDDEN_LAYERS})."))
        self._add_layer.clicked.connect(self._on_add_layer)
        self._remove_layer = QPushButton("− Layer")
        self._remove_layer.setObjectName("architecture.hidden_layers.remove")
        self._remove_layer.setToolTip(field_tooltip(
            "architecture", "hidden_layers", "Remove the last hidden layer."))
        self._remove_layer.clicked.connect(self._on_remove_layer)
        buttons = _row(self._layers_summary, self._remove_layer, self._add_layer)
        self._layers_summary.setToolTip(field_tooltip("architecture", "hidden_layers"))
        sec.add_row("Hidden layers", buttons, buddy=self._add_layer)
        sec.form.addRow(self._layers_box)

        sec.add_row("Activation", self._combo("architecture", "activation", ACTIVATION_NAMES))
        sec.add_row("Initialisation", self._combo("architecture", "init", INIT_NAMES))

        seed = QDoubleSpinBox()  # a double so the whole 0 .. 2^32-1 range fits (QSpinBox stops at 2^31-1)
        meta = field_meta("architecture", "seed")
        seed.setDecimals(0)
        seed.setRange(meta["lo"], meta["hi"])
        seed.setKeyboardTracking(False)
        seed.valueChanged.connect(lambda v: self._edit("architecture", "seed")(int(v)))
        self._register("architecture", "seed", seed)
        dice = QToolButton()
        dice.setText("⚄ New")
        dice.setObjectName("architecture.seed.new")
        dice.setToolTip(field_tooltip("architecture", "seed", "Draw a new random seed."))
        dice.clicked.connect(self._on_new_seed)
        sec.add_row("Seed", _row(seed, dice), buddy=seed)
        sec.add_row("Precision", self._combo("architecture", "dtype", DTYPE_NAMES, more=DTYPE_MORE))

    # -- Training --------------------------------------------------------------------------------------
    def _build_training(self) -> None:
        sec = self._section("optimizer", "Training")
        sec.add_row("Optimiser", self._combo("optimizer", "name", OPTIMIZER_NAMES))

        lr_spin = self._float_spin("optimizer", "learning_rate", log_steps=True)
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setObjectName("optimizer.learning_rate.slider")
        slider.setRange(0, (LR_SLIDER_MAX_EXP - LR_SLIDER_MIN_EXP) * LR_SLIDER_STEPS_PER_DECADE)
        slider.setPageStep(LR_SLIDER_STEPS_PER_DECADE // 2)
        slider.setToolTip(field_tooltip("optimizer", "learning_rate",
                                        "Drag for a log scale from 1e-5 to 10."))
        slider.valueChanged.connect(self._on_lr_slider)
        self._guard_wheel(slider)
        self._lr_slider = slider
        lr_spin.setMinimumWidth(72)
        sec.add_row("Learning rate", _row(slider, lr_spin), buddy=lr_spin)

        self._optimizer_params = {
            "momentum": self._float_spin("optimizer", "momentum", step=0.05),
            "rho": self._float_spin("optimizer", "rho", step=0.01),
            "beta1": self._float_spin("optimizer", "beta1", step=0.01),
            "beta2": self._float_spin("optimizer", "beta2", step=0.001),
            "epsilon": self._float_spin("optimizer", "epsilon", log_steps=True),
        }
        labels = {"momentum": "Momentum", "rho": "Rho (ρ)", "beta1": "Beta 1 (β₁)", "beta2": "Beta 2 (β₂)",
                  "epsilon": "Epsilon (ε)"}
        for key, w in self._optimizer_params.items():
            sec.add_row(labels[key], w)

        sec.add_row("Batch size", self._int_spin("optimizer", "batch_size", special="full batch"))

        sec.add_row("LR schedule", self._combo("schedule", "name", SCHEDULE_NAMES))
        self._schedule_params = {
            "step_size": self._int_spin("schedule", "step_size"),
            "gamma": self._float_spin("schedule", "gamma", step=0.05),
            "decay_rate": self._float_spin("schedule", "decay_rate", step=0.005),
            "decay": self._float_spin("schedule", "decay", log_steps=True),
            "period": self._int_spin("schedule", "period"),
            "min_lr": self._float_spin("schedule", "min_lr", log_steps=True),
            "factor": self._float_spin("schedule", "factor", step=0.05),
            "patience": self._int_spin("schedule", "patience"),
            "threshold": self._float_spin("schedule", "threshold", log_steps=True),
        }
        self._schedule_params["step_size"].setSuffix(" epochs")
        self._schedule_params["period"].setSuffix(" epochs")
        self._schedule_params["patience"].setSuffix(" epochs")
        labels = {"step_size": "Step every", "gamma": "Gamma (γ)", "decay_rate": "Decay rate",
                  "decay": "Decay", "period": "Period", "min_lr": "Minimum LR", "factor": "Factor",
                  "patience": "Patience", "threshold": "Threshold"}
        for key, w in self._schedule_params.items():
            sec.add_row(labels[key], w)

    # -- Regularisation --------------------------------------------------------------------------------
    def _build_regularization(self) -> None:
        sec = self._section("regularization", "Regularisation")
        for name, text in (("l1", "L1 λ"), ("l2", "L2 λ")):
            spin = self._float_spin("regularization", name, log_steps=True)
            sec.add_row(text, _row(spin, self._preset_button(name)), buddy=spin)
        sec.add_row("Dropout", self._float_spin("regularization", "dropout", step=0.05))

        self._dropout_box = QWidget()
        self._dropout_grid = QGridLayout(self._dropout_box)
        self._dropout_grid.setContentsMargins(0, 0, 0, 0)
        self._dropout_grid.setVerticalSpacing(2)
        self._dropout_grid.setHorizontalSpacing(4)
        self._dropout_grid.setColumnStretch(1, 1)
        self._dropout_title = QLabel("Per-layer dropout")
        self._dropout_title.setToolTip(field_tooltip("regularization", "layer_dropout"))
        sec.form.addRow(self._dropout_title)
        sec.form.addRow(self._dropout_box)

    def _preset_button(self, name: str) -> QToolButton:
        button = QToolButton()
        button.setText("▾")
        button.setObjectName(f"regularization.{name}.presets")
        button.setToolTip(field_tooltip("regularization", name, "Pick one of TensorFlow Playground's rates."))
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(button)
        for value in PENALTY_PRESETS:
            action = QAction(_fmt(value), menu)
            action.triggered.connect(lambda _c=False, v=value: self._model.set_field("regularization", name, v))
            menu.addAction(action)
        button.setMenu(menu)
        button.setStyleSheet("QToolButton::menu-indicator { image: none; }")
        return button

    # -- Early stopping --------------------------------------------------------------------------------
    def _build_early_stopping(self) -> None:
        sec = self._section("early_stopping", "Early stopping")
        sec.form.addRow(self._check("early_stopping", "enabled", "Stop when no longer improving"))
        sec.add_row("Monitor", self._combo("early_stopping", "monitor", MONITOR_NAMES))
        patience = self._int_spin("early_stopping", "patience")
        patience.setSuffix(" epochs")
        sec.add_row("Patience", patience)
        sec.add_row("Min delta", self._float_spin("early_stopping", "min_delta", log_steps=True))
        sec.form.addRow(self._check("early_stopping", "restore_best", "Restore best weights on stop"))

    # -- per-layer rows --------------------------------------------------------------------------------
    def _rebuild_layer_rows(self, n: int) -> None:
        """Add or drop rows at the end so there is one per hidden layer (existing rows keep focus)."""
        while len(self._layer_rows) > n:
            for w in self._layer_rows.pop():
                self._layers_grid.removeWidget(w)
                w.hide()  # deleteLater runs only once control returns to the event loop
                w.deleteLater()
        while len(self._dropout_rows) > n:
            for w in self._dropout_rows.pop():
                self._dropout_grid.removeWidget(w)
                w.hide()
                w.deleteLater()
        neurons_tip = field_tooltip("architecture", "hidden_layers")
        act_tip = field_tooltip("architecture", "layer_activations")
        meta = field_meta("architecture", "hidden_layers")
        for i in range(len(self._layer_rows), n):
            label = QLabel(f"Layer {i + 1}")
            spin = QSpinBox()
            spin.setRange(meta["item_lo"], meta["item_hi"])
            spin.setSuffix(" neurons")
            spin.setKeyboardTracking(False)
            spin.setObjectName(f"architecture.hidden_layers.{i}")
            spin.setToolTip(neurons_tip)
            spin.valueChanged.connect(lambda v, i=i: self._on_neurons(i, v))
            combo = QComboBox()
            combo.addItem("(global)", None)
            for a in ACTIVATIONS:
                combo.addItem(ACTIVATION_NAMES[a], a)
            combo.setObjectName(f"architecture.layer_activations.{i}")
            combo.setToolTip(act_tip)
            combo.currentIndexChanged.connect(lambda _x, i=i, c=combo: self._on_layer_activation(i, c.currentData()))
            label.setBuddy(spin)
            self._fit_row_label(label)
            for w in (spin, combo):
                self._guard_wheel(w)
            self._layers_grid.addWidget(label, i, 0)
            self._layers_grid.addWidget(spin, i, 1)
            self._layers_grid.addWidget(combo, i, 2)
            self._layer_rows.append((label, spin, combo))

        d_meta = field_meta("regularization", "layer_dropout")
        d_tip = field_tooltip("regularization", "layer_dropout")
        for i in range(len(self._dropout_rows), n):
            label = QLabel(f"Layer {i + 1}")
            # one step below the range shows "(global)", meaning: no per-layer value
            spin = SciSpinBox(d_meta["item_lo"] - 0.05, d_meta["item_hi"], step=0.05)
            spin.setSpecialValueText("(global)")
            spin.setObjectName(f"regularization.layer_dropout.{i}")
            spin.setToolTip(d_tip)
            spin.valueChanged.connect(lambda v, i=i: self._on_layer_dropout(i, v))
            label.setBuddy(spin)
            self._fit_row_label(label)
            self._guard_wheel(spin)
            self._dropout_grid.addWidget(label, i, 0)
            self._dropout_grid.addWidget(spin, i, 1)
            self._dropout_rows.append((label, spin))
        reg = self.sections.get("regularization")
        if reg is not None:  # hide whole rows, or the form keeps their spacing
            reg.set_row_visible(self._dropout_title, n > 0)
            reg.set_row_visible(self._dropout_box, n > 0)
        self._fix_tab_order()

    def _fix_tab_order(self) -> None:
        """Tab walks the panel top to bottom, left to right, including rows added later (which Qt
        would otherwise put at the end of the chain)."""
        chain: list[QWidget] = []

        def collect(item) -> None:
            widget = item.widget()
            layout = item.layout() if widget is None else widget.layout()
            if widget is not None and widget.focusPolicy() & Qt.FocusPolicy.TabFocus \
                    and not isinstance(widget, QLabel):
                chain.append(widget)
                return  # a spin box's line edit follows its spin box by itself
            if layout is not None:
                for i in range(layout.count()):
                    collect(layout.itemAt(i))

        for section in self.sections.values():
            chain.append(section.header)
            form = section.form
            for row in range(form.rowCount()):
                for role in (QFormLayout.ItemRole.FieldRole, QFormLayout.ItemRole.SpanningRole):
                    item = form.itemAt(row, role)
                    if item is not None:
                        collect(item)
        for a, b in zip(chain, chain[1:]):
            QWidget.setTabOrder(a, b)

    # -- edits from widgets ----------------------------------------------------------------------------
    def _on_feature_toggled(self, feature: str, checked: bool) -> None:
        if self._syncing:
            return
        chosen = [f for f in FEATURES if self._feature_buttons[f].isChecked()]
        if not chosen:
            with self._sync_guard():
                self._feature_buttons[feature].setChecked(True)
            self._show_error("Keep at least one input feature: the network needs something to look at.")
            return
        self._model.set_field("architecture", "features", chosen)

    def _per_layer(self, section: str, name: str) -> list:
        n = len(self._model.value("architecture", "hidden_layers"))
        values = list(self._model.value(section, name) or [])[:n]
        return values + [None] * (n - len(values))

    def _on_neurons(self, index: int, value: int) -> None:
        if self._syncing:
            return
        layers = self._model.value("architecture", "hidden_layers")
        if index < len(layers):
            layers[index] = value
            self._model.set_field("architecture", "hidden_layers", layers)

    def _on_layer_activation(self, index: int, activation: str | None) -> None:
        if self._syncing:
            return
        acts = self._per_layer("architecture", "layer_activations")
        acts[index] = activation
        self._model.set_field("architecture", "layer_activations",
                              acts if any(a is not None for a in acts) else None)

    def _on_layer_dropout(self, index: int, value: float) -> None:
        if self._syncing:
            return
        rates = self._per_layer("regularization", "layer_dropout")
        rates[index] = None if value < field_meta("regularization", "layer_dropout")["item_lo"] else value
        self._model.set_field("regularization", "layer_dropout",
                              rates if any(r is not None for r in rates) else None)

    def _resized_per_layer(self, n: int) -> dict:
        out = {}
        for section, name in (("architecture", "layer_activations"), ("regularization", "layer_dropout")):
            values = list(self._model.value(section, name) or [])[:n]
            out[(section, name)] = values if any(v is not None for v in values) else None
        return out

    def _on_add_layer(self) -> None:
        layers = self._model.value("architecture", "hidden_layers")
        if len(layers) >= MAX_HIDDEN_LAYERS:
            return
        layers.append(layers[-1] if layers else 4)
        changes = {("architecture", "hidden_layers"): layers}
        changes.update(self._resized_per_layer(len(layers)))
        self._model.set_fields(changes, text="Add hidden layer")

    def _on_remove_layer(self) -> None:
        layers = self._model.value("architecture", "hidden_layers")
        if not layers:
            return
        layers.pop()
        changes = {("architecture", "hidden_layers"): layers}
        changes.update(self._resized_per_layer(len(layers)))  # drop the removed layer's extras
        self._model.set_fields(changes, text="Remove hidden layer")

    def _on_new_seed(self) -> None:
        hi = int(field_meta("architecture", "seed")["hi"])
        current = self._model.value("architecture", "seed")
        seed = current
        while seed == current:
            seed = random.randint(0, hi)
        self._model.set_field("architecture", "seed", seed)

    def _on_lr_slider(self, position: int) -> None:
        if self._syncing:
            return
        exponent = LR_SLIDER_MIN_EXP + position / LR_SLIDER_STEPS_PER_DECADE
        lr = float(f"{10 ** exponent:.3g}")  # round so the number shown stays readable
        self._model.set_field("optimizer", "learning_rate", lr)

    # -- model -> widgets ------------------------------------------------------------------------------
    @contextmanager
    def _sync_guard(self):
        previous, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = previous

    def _on_model_changed(self, config: ExperimentConfig, _needs_reset: bool) -> None:
        self._error.setVisible(False)
        self._error.clear()
        self._sync(config)

    def _on_invalid(self, message: str) -> None:
        self._show_error(message)
        self._sync(self._model.config)  # put back what the model still holds

    def _show_error(self, message: str) -> None:
        # "config.optimizer.learning_rate: ..." reads better without the root name
        self._error.setText(message.removeprefix("config."))
        self._error.setVisible(True)

    def error_text(self) -> str:
        """The error currently shown under the panel title ("" when none)."""
        return self._error.text() if not self._error.isHidden() else ""

    def _sync(self, config: ExperimentConfig) -> None:
        with self._sync_guard():
            for (section, name), widget in self._fields.items():
                holder = config if section == "" else getattr(config, section)
                value = getattr(holder, name)
                if isinstance(widget, QComboBox):
                    widget.setCurrentIndex(widget.findData(value))
                elif isinstance(widget, QCheckBox):
                    widget.setChecked(bool(value))
                elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                    widget.setValue(value)
            for feat, button in self._feature_buttons.items():
                button.setChecked(feat in config.architecture.features)

            lr = config.optimizer.learning_rate
            if not self._lr_slider.isSliderDown():
                pos = round((math.log10(lr) - LR_SLIDER_MIN_EXP) * LR_SLIDER_STEPS_PER_DECADE)
                self._lr_slider.setValue(min(max(pos, 0), self._lr_slider.maximum()))

            layers = config.architecture.hidden_layers
            if len(layers) != len(self._layer_rows):
                self._rebuild_layer_rows(len(layers))
            acts = config.architecture.layer_activations or []
            rates = config.regularization.layer_dropout or []
            for i, (_label, spin, combo) in enumerate(self._layer_rows):
                spin.setValue(layers[i])
                combo.setCurrentIndex(combo.findData(acts[i] if i < len(acts) else None))
            for i, (_label, spin) in enumerate(self._dropout_rows):
                rate = rates[i] if i < len(rates) else None
                spin.setValue(spin.minimum() if rate is None else rate)
            n = len(layers)
            self._layers_summary.setText("none" if n == 0 else f"{n} layer{'s' if n != 1 else ''}")
            self._add_layer.setEnabled(n < MAX_HIDDEN_LAYERS)
            self._remove_layer.setEnabled(n > 0)
            activation = self._fields[("architecture", "activation")]
            activation.setEnabled(n > 0)
            activation.setToolTip(field_tooltip("architecture", "activation") if n else NO_HIDDEN_ACTIVATION_TIP)

            sec = self.sections["optimizer"]
            shown = OPTIMIZER_PARAMS.get(config.optimizer.name, ())
            for key, w in self._optimizer_params.items():
                sec.set_row_visible(w, key in shown)
            shown = SCHEDULE_PARAMS.get(config.schedule.name, ())
            for key, w in self._schedule_params.items():
                sec.set_row_visible(w, key in shown)
