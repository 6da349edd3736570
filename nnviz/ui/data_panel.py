"""The data panel: generator settings and the canvas's drawing tools.

It holds no points and runs no generator: it only says what the user asked for through signals,
and the main window does the work.
"""
from __future__ import annotations

import random

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractSpinBox, QButtonGroup, QComboBox, QFormLayout, QFrame, QGridLayout, QHBoxLayout, QLabel,
    QPushButton, QSizePolicy, QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

from ..data.generators import DATASETS, REGRESSION_DATASETS
from ..data.points import MAX_CLASSES, ROLE_NAMES, TRAIN
from .palette import CLASS_COLORS, CLASS_NAMES
from .pgutil import guard_wheel

#: the data sets offered for each problem: every kind the generators module makes
KINDS_FOR = {"classification": tuple(DATASETS), "regression": tuple(REGRESSION_DATASETS)}

DATASET_NAMES = {
    "circle": ("Circle", "One class inside a ring of the other."),
    "xor": ("XOR", "Opposite quadrants share a class: needs a hidden layer or the x₁·x₂ feature."),
    "gaussian": ("Gaussian blobs", "Two well-separated clouds of points: the easy case."),
    "spiral": ("Spiral", "Two interleaved spiral arms: the hard case."),
    "moons": ("Two moons", "Two interlocking half circles."),
    "linear": ("Linear", "Two classes split by a straight line."),
    "plane": ("Plane", "The value rises linearly across the plane."),
    "gaussians": ("Gaussian bumps", "Hills and valleys of value on a grid."),
}

#: tool name, button text, shortcut, what it does
TOOLS = (
    ("add", "Add", "A", "Click to add a point of the current class and role."),
    ("brush", "Brush", "B", "Drag to spray points of the current class and role."),
    ("erase", "Erase", "E", "Click or drag over points to delete them."),
    ("select", "Select", "V", "Drag a box to select points, then move, relabel or delete them."),
)

MAX_COUNT = 100_000
#: fewest points Regenerate draws: fewer makes no data set worth training on (one point, zoomed onto)
MIN_COUNT = 10
SEED_MAX = 2**31 - 1  # QSpinBox limit; generators accept larger seeds, but these are plenty


def _swatch(color: str, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor("#303030"))
    painter.setBrush(QColor(color))
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


class DataPanel(QWidget):
    """Generator settings plus the current tool, class and role for drawing on the canvas."""

    #: kind, count, noise fraction (0..0.5), train fraction (0.1..0.9), seed
    regenerate_requested = Signal(str, int, float, float, int)
    #: train fraction
    resplit_requested = Signal(float)
    tool_changed = Signal(str)
    current_class_changed = Signal(int)
    #: TRAIN, TEST or VALIDATION (nnviz.data.points)
    new_point_role_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._problem = "classification"
        # the data set last chosen or shown for each problem: a lesson's kind is kept whichever arrives first,
        # its generator settings or its problem, and a switch of problem and back finds the kind again
        self._kind_for = {problem: kinds[0] for problem, kinds in KINDS_FOR.items()}

        # -- generator ------------------------------------------------------------------------------
        self._kind = QComboBox()
        self._kind.setObjectName("data.kind")
        self._kind.setToolTip("Which built-in data set Regenerate draws.")
        self._fill_kinds(KINDS_FOR[self._problem], self._kind_for[self._problem])
        self._kind.currentIndexChanged.connect(self._on_kind_chosen)

        self._count = QSpinBox()
        self._count.setObjectName("data.count")
        self._count.setRange(MIN_COUNT, MAX_COUNT)
        self._count.setValue(200)
        self._count.setSingleStep(50)
        self._count.setKeyboardTracking(False)
        self._count.setToolTip(f"How many points Regenerate draws ({MIN_COUNT} to {MAX_COUNT:,}).")

        self._noise = QSpinBox()
        self._noise.setObjectName("data.noise")
        self._noise.setRange(0, 50)
        self._noise.setSingleStep(5)
        self._noise.setSuffix(" %")
        self._noise.setKeyboardTracking(False)
        self._noise.setToolTip("How much the generated points scatter around the clean pattern (0 to 50 %).")

        self._train = QSpinBox()
        self._train.setObjectName("data.train_ratio")
        self._train.setRange(10, 90)
        self._train.setValue(50)
        self._train.setSingleStep(10)
        self._train.setSuffix(" %")
        self._train.setKeyboardTracking(False)
        self._train.setToolTip("Share of points used for training; the rest are test points. "
                               "Used by Regenerate and Re-split.")

        self._seed = QSpinBox()
        self._seed.setObjectName("data.seed")
        self._seed.setRange(0, SEED_MAX)
        self._seed.setKeyboardTracking(False)
        self._seed.setToolTip("The data set's random seed. Type one and press Enter to rebuild exactly "
                              "that data set; Regenerate picks a new one.")
        self._seed.valueChanged.connect(self._emit_regenerate)

        self._regenerate = QPushButton("Regenerate")
        self._regenerate.setObjectName("data.regenerate")
        self._regenerate.setToolTip("Replace all points with a fresh draw (new seed) of the chosen data set.")
        self._regenerate.clicked.connect(self._on_regenerate)
        self._resplit = QPushButton("Re-split")
        self._resplit.setObjectName("data.resplit")
        self._resplit.setToolTip("Keep the points but choose anew which are training and which are test "
                                 "points, at the train share above.")
        self._resplit.clicked.connect(lambda: self.resplit_requested.emit(self.train_fraction()))

        # -- drawing --------------------------------------------------------------------------------
        self._tools = QButtonGroup(self)
        self._tools.setExclusive(True)
        self._tool_buttons: dict[str, QToolButton] = {}
        tools_row = QWidget()
        tools_lay = QHBoxLayout(tools_row)
        tools_lay.setContentsMargins(0, 0, 0, 0)
        tools_lay.setSpacing(3)
        for name, text, key, what in TOOLS:
            b = QToolButton()
            b.setText(text)
            b.setCheckable(True)
            b.setObjectName(f"tool.{name}")
            b.setShortcut(QKeySequence(key))
            b.setToolTip(f"{text} tool ({key}): {what}")
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self._tools.addButton(b)
            self._tool_buttons[name] = b
            tools_lay.addWidget(b)
            b.toggled.connect(lambda on, n=name: on and self.tool_changed.emit(n))
        self._tool_buttons["add"].setChecked(True)

        self._classes = QButtonGroup(self)
        self._classes.setExclusive(True)
        classes_row = QWidget()
        classes_lay = QGridLayout(classes_row)
        classes_lay.setContentsMargins(0, 0, 0, 0)
        classes_lay.setSpacing(3)
        self._class_buttons: list[QToolButton] = []
        for index in range(MAX_CLASSES):
            b = QToolButton()
            b.setText(CLASS_NAMES[index].capitalize())
            b.setIcon(_swatch(CLASS_COLORS[index]))
            b.setIconSize(QSize(12, 12))
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setCheckable(True)
            b.setObjectName(f"class.{index}")
            b.setToolTip(f"New points belong to class {index} ({CLASS_NAMES[index]}). "
                         "Classes 3 and 4 make it a multi-class problem." if index >= 2 else
                         f"New points belong to class {index} ({CLASS_NAMES[index]}).")
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self._classes.addButton(b, index)
            self._class_buttons.append(b)
            classes_lay.addWidget(b, index // 2, index % 2)
        self._class_buttons[0].setChecked(True)
        self._classes.idToggled.connect(lambda i, on: on and self.current_class_changed.emit(i))

        self._role = QComboBox()
        self._role.setObjectName("data.role")
        for value, name in enumerate(ROLE_NAMES):
            self._role.addItem(name.capitalize(), value)
        self._role.setCurrentIndex(self._role.findData(TRAIN))
        self._role.setToolTip("Whether new points train the network, test it, or serve as validation "
                              "points for early stopping.")
        self._role.currentIndexChanged.connect(lambda _i: self.new_point_role_changed.emit(self._role.currentData()))

        # -- layout ---------------------------------------------------------------------------------
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Data set", self._kind)
        form.addRow("Points", self._count)
        form.addRow("Noise", self._noise)
        form.addRow("Train share", self._train)
        form.addRow("Seed", self._seed)
        buttons = QHBoxLayout()
        buttons.addWidget(self._regenerate)
        buttons.addWidget(self._resplit)
        form.addRow(buttons)

        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        draw = QFormLayout()
        draw.setContentsMargins(0, 0, 0, 0)
        draw.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        tool_label = QLabel("Tool")
        tool_label.setBuddy(self._tool_buttons["add"])
        draw.addRow(tool_label, tools_row)
        self._class_label = QLabel("Class")
        self._class_label.setBuddy(self._class_buttons[0])
        draw.addRow(self._class_label, classes_row)
        draw.addRow("New points", self._role)

        # one label width for both forms so the fields line up
        width = max(QLabel(t).sizeHint().width() for t in ("Data set", "Train share", "New points"))
        for f in (form, draw):
            for row in range(f.rowCount()):
                item = f.itemAt(row, QFormLayout.ItemRole.LabelRole)
                if item is not None and item.widget() is not None:
                    item.widget().setMinimumWidth(width)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(6)
        outer.addLayout(form)
        outer.addWidget(line)
        outer.addLayout(draw)
        outer.addStretch(1)

        for w in (self._kind, self._count, self._noise, self._train, self._seed, self._role):
            guard_wheel(w)   # the wheel over an unfocused field scrolls (or does nothing), never edits it

    # -- state -------------------------------------------------------------------------------------------
    def kind(self) -> str:
        return self._kind.currentData()

    def count(self) -> int:
        return self._count.value()

    def noise_fraction(self) -> float:
        return self._noise.value() / 100.0

    def train_fraction(self) -> float:
        return self._train.value() / 100.0

    def seed(self) -> int:
        return self._seed.value()

    def current_tool(self) -> str:
        return next(n for n, b in self._tool_buttons.items() if b.isChecked())

    def current_class(self) -> int:
        return self._classes.checkedId()

    def new_point_role(self) -> int:
        return self._role.currentData()

    def set_tool(self, name: str) -> None:
        """Select a tool (as if its button was clicked); emits tool_changed if it changed."""
        if name not in self._tool_buttons:
            raise ValueError(f"tool: must be one of {', '.join(self._tool_buttons)}; got {name!r}")
        self._tool_buttons[name].setChecked(True)

    def set_generator_settings(self, kind: str, count: int, noise: float, train_fraction: float,
                               seed: int) -> None:
        """Show these settings (e.g. from a loaded file) without emitting anything.

        ``kind`` may belong to the other problem (a regression lesson's settings can arrive before its
        problem): it is shown as soon as :meth:`set_problem` switches to that problem. An unknown kind
        keeps the one shown. A count below :data:`MIN_COUNT` (e.g. that of an empty or tiny experiment)
        keeps the count shown before, so Regenerate never draws a useless handful of points."""
        widgets = (self._kind, self._count, self._noise, self._train, self._seed)
        for w in widgets:
            w.blockSignals(True)
        try:
            for problem, kinds in KINDS_FOR.items():
                if kind in kinds:
                    self._kind_for[problem] = kind
            index = self._kind.findData(kind)
            if index >= 0:
                self._kind.setCurrentIndex(index)
            if int(count) >= MIN_COUNT:
                self._count.setValue(min(int(count), MAX_COUNT))
            self._noise.setValue(round(noise * 100))
            self._train.setValue(round(train_fraction * 100))
            self._seed.setValue(int(seed))
        finally:
            for w in widgets:
                w.blockSignals(False)

    def set_problem(self, problem: str) -> None:
        """Offer the data sets that suit the problem (classification or regression)."""
        if problem == self._problem:
            return
        self._problem = problem
        regression = problem == "regression"
        problem = "regression" if regression else "classification"
        self._fill_kinds(KINDS_FOR[problem], self._kind_for[problem])
        # regression: blue draws a point of value -1, orange one of +1 (the canvas's convention)
        for index, b in enumerate(self._class_buttons):
            b.setEnabled(not regression or index < 2)
            if regression and index < 2:
                b.setText(("Low (−1)", "High (+1)")[index])
                b.setToolTip(f"New points get the value {('-1', '+1')[index]}.")
            else:
                b.setText(CLASS_NAMES[index].capitalize())
        if regression and self.current_class() >= 2:
            self._class_buttons[0].setChecked(True)

    # -- internals ---------------------------------------------------------------------------------------
    def _fill_kinds(self, kinds: tuple[str, ...], current: str) -> None:
        self._kind.blockSignals(True)
        self._kind.clear()
        for kind in kinds:
            name, what = DATASET_NAMES.get(kind, (kind.capitalize(), ""))
            self._kind.addItem(name, kind)
            self._kind.setItemData(self._kind.count() - 1, what, Qt.ItemDataRole.ToolTipRole)
        index = self._kind.findData(current)
        self._kind.setCurrentIndex(max(index, 0))
        self._kind.blockSignals(False)

    def _on_kind_chosen(self, _index: int) -> None:
        kind = self._kind.currentData()
        for problem, kinds in KINDS_FOR.items():
            if kind in kinds:
                self._kind_for[problem] = kind

    def _on_regenerate(self) -> None:
        seed = self._seed.value()
        while seed == self._seed.value():
            seed = random.randint(0, SEED_MAX)
        self._seed.blockSignals(True)
        self._seed.setValue(seed)
        self._seed.blockSignals(False)
        self._emit_regenerate()

    def _emit_regenerate(self, *_args) -> None:
        self.regenerate_requested.emit(self.kind(), self.count(), self.noise_fraction(),
                                       self.train_fraction(), self.seed())
