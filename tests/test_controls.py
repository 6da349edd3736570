"""The settings panel and the data panel, driven through their real widgets (pytest-qt, offscreen)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QUndoStack, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractButton, QApplication, QAbstractSpinBox, QComboBox, QFormLayout, QLabel, QScrollArea, QSlider,
    QSpinBox, QWidget,
)

from nnviz.data.points import TEST, VALIDATION
from nnviz.engine.config import FEATURES, MAX_HIDDEN_LAYERS, ExperimentConfig, field_help
from nnviz.ui.config_model import ConfigModel, field_resets_weights
from nnviz.ui.controls import (
    LIVE_NOTE, OPTIMIZER_PARAMS, RESET_NOTE, SCHEDULE_PARAMS, ControlPanel,
)
from nnviz.ui.data_panel import DataPanel


class Recorder:
    """Collects every (config, needs_reset) the model emits."""

    def __init__(self, model: ConfigModel):
        self.calls: list[tuple[ExperimentConfig, bool]] = []
        model.changed.connect(lambda c, r: self.calls.append((c, r)))

    @property
    def last_reset(self) -> bool:
        return self.calls[-1][1]


@pytest.fixture
def stack():
    return QUndoStack()


@pytest.fixture
def model(stack):
    return ConfigModel(undo_stack=stack)


@pytest.fixture
def panel(qtbot, model):
    p = ControlPanel(model)
    qtbot.addWidget(p)
    p.resize(340, 900)
    p.show()
    return p


def w(panel: ControlPanel, name: str):
    widget = panel.findChild(QWidget, name)
    assert widget is not None, f"no widget named {name}"
    return widget


def type_into(qtbot, spin: QAbstractSpinBox, text: str) -> None:
    spin.setFocus()
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)


def choose(combo: QComboBox, data) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


# -- the model -------------------------------------------------------------------------------------------

def test_model_emits_only_real_changes_and_keeps_a_private_copy(qtbot):
    model = ConfigModel()
    rec = Recorder(model)
    outside = model.config
    outside.optimizer.learning_rate = 5.0
    assert model.config.optimizer.learning_rate == 0.03  # a copy, not the stored object

    assert model.set_field("optimizer", "learning_rate", 0.03) is False
    assert rec.calls == []
    assert model.set_field("optimizer", "learning_rate", 0.1) is True
    assert rec.calls[-1][0].optimizer.learning_rate == 0.1
    assert rec.last_reset is False
    assert model.set_field("", "problem", "regression") is True
    assert rec.last_reset is True


def test_model_rejects_invalid_values_with_a_message(qtbot):
    model = ConfigModel()
    rec = Recorder(model)
    with qtbot.waitSignal(model.invalid) as blocker:
        assert model.set_field("optimizer", "learning_rate", 100.0) is False
    assert "learning_rate" in blocker.args[0]
    with qtbot.waitSignal(model.invalid):
        model.set_field("architecture", "features", [])
    with qtbot.waitSignal(model.invalid):
        model.set_field("optimizer", "no_such_field", 1)
    assert rec.calls == []
    assert model.config == ExperimentConfig()


def test_set_config_replaces_everything_and_asks_for_reset(qtbot):
    model = ConfigModel()
    new = ExperimentConfig()
    new.optimizer.learning_rate = 0.5
    with qtbot.waitSignal(model.changed) as blocker:
        model.set_config(new)
    assert blocker.args[0] == new and blocker.args[1] is True
    new.optimizer.learning_rate = 0.7  # the caller's object stays the caller's
    assert model.config.optimizer.learning_rate == 0.5


def test_field_resets_weights_follows_the_engine_rule():
    assert field_resets_weights("", "problem")
    for name in ("hidden_layers", "activation", "layer_activations", "features", "init", "seed"):
        assert field_resets_weights("architecture", name), name
    for section, name in (("optimizer", "learning_rate"), ("optimizer", "name"), ("regularization", "l2"),
                          ("regularization", "dropout"), ("schedule", "name"), ("early_stopping", "enabled")):
        assert not field_resets_weights(section, name), (section, name)


def test_undo_restores_and_merges_consecutive_edits_of_one_field(model, stack):
    model.set_field("optimizer", "learning_rate", 0.1)
    model.set_field("optimizer", "learning_rate", 0.2)
    model.set_field("optimizer", "learning_rate", 0.3)
    assert stack.count() == 1
    assert stack.undoText() == "Change learning rate"
    model.set_field("regularization", "l2", 0.01)
    assert stack.count() == 2
    stack.undo()
    assert model.config.regularization.l2 == 0.0
    stack.undo()
    assert model.config.optimizer.learning_rate == 0.03
    stack.redo()
    assert model.config.optimizer.learning_rate == 0.3


def test_undo_of_a_replaced_config(model, stack):
    new = ExperimentConfig()
    new.architecture.hidden_layers = [7]
    model.set_config(new)
    stack.undo()
    assert model.config.architecture.hidden_layers == [4, 2]


# -- the control panel -----------------------------------------------------------------------------------

def test_learning_rate_follows_the_slider(qtbot, panel, model):
    rec = Recorder(model)
    slider = w(panel, "optimizer.learning_rate.slider")
    assert isinstance(slider, QSlider)
    before = model.config.optimizer.learning_rate
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)  # half a decade up
    lr = model.config.optimizer.learning_rate
    assert lr == pytest.approx(before * 10 ** 0.5, rel=0.02)
    assert rec.last_reset is False
    assert w(panel, "optimizer.learning_rate").value() == lr  # the typed box follows


def test_learning_rate_typed_moves_the_slider(qtbot, panel, model):
    spin = w(panel, "optimizer.learning_rate")
    slider = w(panel, "optimizer.learning_rate.slider")
    type_into(qtbot, spin, "1e-4")
    assert model.config.optimizer.learning_rate == pytest.approx(1e-4)
    assert slider.value() == 100  # 1e-5 .. 10 at 100 steps per decade: 1e-4 is one decade in
    type_into(qtbot, spin, "0.01234")  # between two slider positions: the slider must not round it
    assert model.config.optimizer.learning_rate == 0.01234


def test_absurd_typed_values_cannot_be_entered(qtbot, panel, model):
    spin = w(panel, "optimizer.learning_rate")
    rec = Recorder(model)
    type_into(qtbot, spin, "100")      # above the field's maximum
    spin.clearFocus()
    type_into(qtbot, spin, "abc")      # not a number: the keys are refused
    assert rec.calls == []
    assert model.config.optimizer.learning_rate == 0.03
    assert spin.value() == 0.03


def test_model_errors_show_inline_without_crashing(qtbot, panel, model):
    model.set_field("regularization", "dropout", 2.0)
    assert "dropout" in panel.error_text()
    assert w(panel, "config_error").isVisibleTo(panel)
    model.set_field("regularization", "dropout", 0.5)
    assert panel.error_text() == ""


def test_optimiser_choice_shows_only_its_parameters(qtbot, panel, model):
    combo = w(panel, "optimizer.name")
    all_params = {"momentum", "rho", "beta1", "beta2", "epsilon"}
    for name, params in OPTIMIZER_PARAMS.items():
        choose(combo, name)
        assert model.config.optimizer.name == name
        for p in all_params:
            assert w(panel, f"optimizer.{p}").isVisibleTo(panel) == (p in params), (name, p)


def test_schedule_choice_shows_only_its_parameters(qtbot, panel, model):
    combo = w(panel, "schedule.name")
    all_params = set().union(*SCHEDULE_PARAMS.values())
    for name, params in SCHEDULE_PARAMS.items():
        choose(combo, name)
        assert model.config.schedule.name == name
        for p in all_params:
            assert w(panel, f"schedule.{p}").isVisibleTo(panel) == (p in params), (name, p)
    choose(combo, "step")
    type_into(qtbot, w(panel, "schedule.gamma"), "0.25")
    assert model.config.schedule.gamma == 0.25


def test_optimiser_parameter_edits(qtbot, panel, model):
    choose(w(panel, "optimizer.name"), "adam")
    type_into(qtbot, w(panel, "optimizer.beta2"), "0.99")
    type_into(qtbot, w(panel, "optimizer.epsilon"), "1e-6")
    assert model.config.optimizer.beta2 == 0.99
    assert model.config.optimizer.epsilon == pytest.approx(1e-6)


def test_batch_size_zero_reads_full_batch(qtbot, panel, model):
    spin = w(panel, "optimizer.batch_size")
    type_into(qtbot, spin, "32")
    assert model.config.optimizer.batch_size == 32
    spin.setValue(0)
    assert model.config.optimizer.batch_size == 0
    assert spin.text() == "full batch"


def test_add_and_remove_layers(qtbot, panel, model):
    rec = Recorder(model)
    add, remove = w(panel, "architecture.hidden_layers.add"), w(panel, "architecture.hidden_layers.remove")
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    assert model.config.architecture.hidden_layers == [4, 2, 2]
    assert rec.last_reset is True
    assert w(panel, "architecture.hidden_layers.2").value() == 2
    for _ in range(3):
        qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    assert model.config.architecture.hidden_layers == []
    assert not remove.isEnabled()
    assert panel.findChild(QWidget, "architecture.hidden_layers.0") is None or \
        not panel.findChild(QWidget, "architecture.hidden_layers.0").isVisibleTo(panel)
    for _ in range(MAX_HIDDEN_LAYERS):
        qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    assert len(model.config.architecture.hidden_layers) == MAX_HIDDEN_LAYERS
    assert not add.isEnabled()


def test_removing_a_layer_drops_its_per_layer_settings(qtbot, panel, model, stack):
    choose(w(panel, "architecture.layer_activations.1"), "relu")
    assert model.config.architecture.layer_activations == [None, "relu"]
    qtbot.mouseClick(w(panel, "architecture.hidden_layers.remove"), Qt.MouseButton.LeftButton)
    assert model.config.architecture.hidden_layers == [4]
    assert model.config.architecture.layer_activations is None
    stack.undo()  # one step brings back both the layer and its activation
    assert model.config.architecture.hidden_layers == [4, 2]
    assert model.config.architecture.layer_activations == [None, "relu"]


def test_neurons_and_activations(qtbot, panel, model):
    rec = Recorder(model)
    spin = w(panel, "architecture.hidden_layers.0")
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key.Key_Up)
    assert model.config.architecture.hidden_layers == [5, 2]
    assert rec.last_reset is True
    choose(w(panel, "architecture.layer_activations.0"), "sigmoid")
    assert model.config.hidden_activations() == ["sigmoid", "tanh"]
    choose(w(panel, "architecture.layer_activations.0"), None)  # back to "(global)"
    assert model.config.architecture.layer_activations is None
    choose(w(panel, "architecture.activation"), "relu")
    assert model.config.hidden_activations() == ["relu", "relu"]
    assert rec.last_reset is True
    choose(w(panel, "architecture.init"), "he")
    assert model.config.architecture.init == "he"


def test_features_toggle_and_the_last_one_stays_on(qtbot, panel, model):
    click = lambda f: qtbot.mouseClick(w(panel, f"architecture.features.{f}"), Qt.MouseButton.LeftButton)
    click("x1*x2")
    assert model.config.architecture.features == ["x1", "x2", "x1*x2"]
    click("x1")
    click("x2")
    assert model.config.architecture.features == ["x1*x2"]
    rec = Recorder(model)
    click("x1*x2")  # the last one refuses
    assert model.config.architecture.features == ["x1*x2"]
    assert w(panel, "architecture.features.x1*x2").isChecked()
    assert rec.calls == []
    assert "at least one" in panel.error_text()


def test_seed_and_problem_reset_the_weights(qtbot, panel, model):
    rec = Recorder(model)
    qtbot.mouseClick(w(panel, "architecture.seed.new"), Qt.MouseButton.LeftButton)
    assert model.config.architecture.seed != 0
    assert w(panel, "architecture.seed").value() == model.config.architecture.seed
    assert rec.last_reset is True
    choose(w(panel, "problem"), "regression")
    assert model.config.problem == "regression" and rec.last_reset is True


def test_regularisation(qtbot, panel, model):
    rec = Recorder(model)
    type_into(qtbot, w(panel, "regularization.l2"), "0.003")
    assert model.config.regularization.l2 == 0.003 and rec.last_reset is False
    type_into(qtbot, w(panel, "regularization.dropout"), "0.2")
    assert model.config.regularization.dropout == 0.2 and rec.last_reset is False
    menu = w(panel, "regularization.l1.presets").menu()
    next(a for a in menu.actions() if a.text() == "0.03").trigger()
    assert model.config.regularization.l1 == 0.03
    assert w(panel, "regularization.l1").value() == 0.03
    layer = w(panel, "regularization.layer_dropout.1")
    assert layer.text() == "(global)"
    type_into(qtbot, layer, "0.5")
    assert model.config.regularization.layer_dropout == [None, 0.5]
    assert model.config.hidden_dropout() == [0.2, 0.5]


def test_early_stopping(qtbot, panel, model):
    qtbot.mouseClick(w(panel, "early_stopping.enabled"), Qt.MouseButton.LeftButton)
    assert model.config.early_stopping.enabled is True
    choose(w(panel, "early_stopping.monitor"), "validation_error")
    type_into(qtbot, w(panel, "early_stopping.patience"), "30")
    type_into(qtbot, w(panel, "early_stopping.min_delta"), "0.001")
    qtbot.mouseClick(w(panel, "early_stopping.restore_best"), Qt.MouseButton.LeftButton)
    es = model.config.early_stopping
    assert (es.monitor, es.patience, es.min_delta, es.restore_best) == ("validation_error", 30, 0.001, False)


def test_set_config_from_outside_updates_widgets_without_echo(qtbot, panel, model, stack):
    new = ExperimentConfig()
    new.problem = "regression"
    new.architecture.hidden_layers = [8, 8, 3]
    new.architecture.features = ["x1", "sin_x2"]
    new.architecture.seed = 3_000_000_000  # above a QSpinBox's int32 range
    new.optimizer.name = "rmsprop"
    new.optimizer.learning_rate = 0.001234  # between two slider positions: an echo would round it
    new.schedule.name = "cosine"
    new.regularization.l1 = 0.3
    new.regularization.layer_dropout = [0.1, None, None]
    new.early_stopping.enabled = True
    rec = Recorder(model)
    model.set_config(new, undo_text=None)
    assert len(rec.calls) == 1          # no edits echoed back by the widgets
    assert stack.count() == 0
    assert model.config == new
    assert w(panel, "problem").currentData() == "regression"
    assert [w(panel, f"architecture.hidden_layers.{i}").value() for i in range(3)] == [8, 8, 3]
    assert [f for f in FEATURES if w(panel, f"architecture.features.{f}").isChecked()] == ["x1", "sin_x2"]
    assert int(w(panel, "architecture.seed").value()) == 3_000_000_000
    assert w(panel, "optimizer.name").currentData() == "rmsprop"
    assert w(panel, "optimizer.rho").isVisibleTo(panel)
    assert w(panel, "optimizer.learning_rate.slider").value() == 209  # log10(0.001234) = -2.91
    assert w(panel, "schedule.period").isVisibleTo(panel)
    assert w(panel, "regularization.l1").value() == 0.3
    assert w(panel, "regularization.layer_dropout.0").value() == 0.1
    assert w(panel, "early_stopping.enabled").isChecked()


def test_undo_of_a_widget_edit_updates_the_widget(qtbot, panel, model, stack):
    type_into(qtbot, w(panel, "regularization.l2"), "0.1")
    stack.undo()
    assert model.config.regularization.l2 == 0.0
    assert w(panel, "regularization.l2").value() == 0.0


def test_a_slider_drag_is_one_undo_step(qtbot, panel, model, stack):
    slider = w(panel, "optimizer.learning_rate.slider")
    start = slider.value()
    slider.setSliderDown(True)          # what a mouse press on the handle does
    for step in range(1, 40, 3):
        slider.setValue(start + step)   # what the mouse moves do while it is held
    slider.setSliderDown(False)
    assert model.config.optimizer.learning_rate > 0.03
    assert stack.count() == 1
    stack.undo()
    assert model.config.optimizer.learning_rate == 0.03
    assert slider.value() == start


INPUT_TYPES = (QAbstractSpinBox, QComboBox, QAbstractButton, QSlider)


def _inputs(root: QWidget) -> list[QWidget]:
    return [c for c in root.findChildren(QWidget) if isinstance(c, INPUT_TYPES)
            and c.objectName() != "qt_scrollarea_hcontainer" and c.parent() is not None
            and not isinstance(c.parent(), QAbstractSpinBox)]


def test_every_control_has_a_tooltip_and_is_reachable_by_tab(panel):
    inputs = _inputs(panel)
    assert len(inputs) > 40
    for widget in inputs:
        assert widget.toolTip().strip(), widget.objectName() or widget
        assert widget.focusPolicy() & Qt.FocusPolicy.TabFocus, widget.objectName()


def test_tab_walks_every_control_in_order_including_new_layer_rows(qtbot, panel):
    qtbot.mouseClick(w(panel, "architecture.hidden_layers.add"), Qt.MouseButton.LeftButton)
    qtbot.wait(1)  # let Qt show the new row (layouts show added widgets from the event loop)
    start = panel.sections["architecture"].header
    order, widget = [], start
    for _ in range(500):
        widget = widget.nextInFocusChain()
        if widget is start:
            break
        if isinstance(widget, INPUT_TYPES) and widget.isVisibleTo(panel):
            order.append(widget.objectName())
    visible = {x.objectName() for x in _inputs(panel) if x.isVisibleTo(panel)}
    assert visible <= set(order) | {start.objectName()}
    names = ["architecture.layer_activations.1", "architecture.hidden_layers.2",
             "architecture.layer_activations.2", "architecture.activation", "section.training"]
    assert [order.index(n) for n in names] == sorted(order.index(n) for n in names)


def test_tooltips_use_the_help_text_and_say_what_resets(panel):
    lr = w(panel, "optimizer.learning_rate")
    assert field_help("optimizer", "learning_rate") in lr.toolTip()
    assert LIVE_NOTE in lr.toolTip()
    for name in ("architecture.hidden_layers.0", "architecture.activation", "architecture.seed", "problem",
                 "architecture.features.x1", "architecture.layer_activations.0", "architecture.init"):
        assert RESET_NOTE in w(panel, name).toolTip(), name
    for name in ("regularization.l2", "regularization.dropout", "optimizer.name", "early_stopping.patience"):
        assert LIVE_NOTE in w(panel, name).toolTip(), name
    assert "resets weights" in " ".join(lbl.text() for lbl in panel.sections["architecture"].findChildren(QLabel))


def test_form_labels_have_buddies(panel):
    for section in panel.sections.values():
        form = section.form
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if item is not None and isinstance(item.widget(), QLabel):
                assert item.widget().buddy() is not None, item.widget().text()


def _wheel(widget: QWidget, delta: int = 120) -> None:
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, widget.mapToGlobal(centre), QPoint(0, 0), QPoint(0, delta),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(widget, event)


def test_wheel_over_an_unfocused_control_scrolls_instead_of_editing(qtbot, panel, model):
    spin = w(panel, "regularization.dropout")
    spin.clearFocus()
    _wheel(spin)
    assert model.config.regularization.dropout == 0.0
    spin.setFocus()
    assert spin.hasFocus()
    _wheel(spin)  # a focused control does take the wheel
    assert model.config.regularization.dropout == pytest.approx(0.05)


def test_sections_collapse(qtbot, panel):
    section = panel.sections["regularization"]
    qtbot.mouseClick(section.header, Qt.MouseButton.LeftButton)
    assert not w(panel, "regularization.l2").isVisibleTo(panel)
    qtbot.mouseClick(section.header, Qt.MouseButton.LeftButton)
    assert w(panel, "regularization.l2").isVisibleTo(panel)


def test_panels_fit_a_narrow_dock(qtbot, panel, model):
    # nothing is clipped at a docked width of 340 px: the scrolled column never needs more width
    # than the scroll area shows, whatever rows are visible (horizontal scrolling is off)
    scroll = panel.findChild(QScrollArea)
    room = 340 - scroll.verticalScrollBar().sizeHint().width()
    for layers in ([], [4, 2], [512] * MAX_HIDDEN_LAYERS):
        model.set_field("architecture", "hidden_layers", layers)
        for section, names in (("optimizer", OPTIMIZER_PARAMS), ("schedule", SCHEDULE_PARAMS)):
            for name in names:
                model.set_field(section, "name", name)
                assert scroll.widget().minimumSizeHint().width() <= room, (layers, section, name)
    model.set_field("regularization", "dropout", 5.0)  # a long error message wraps instead of widening
    assert panel.minimumSizeHint().width() <= 340
    data = DataPanel()
    qtbot.addWidget(data)
    assert data.minimumSizeHint().width() <= 340


# -- the data panel --------------------------------------------------------------------------------------

@pytest.fixture
def data(qtbot):
    p = DataPanel()
    qtbot.addWidget(p)
    p.resize(340, 420)
    p.show()
    return p


def test_regenerate_sends_the_settings_and_a_new_seed(qtbot, data):
    choose(data.findChild(QComboBox, "data.kind"), "spiral")
    type_into(qtbot, data.findChild(QWidget, "data.count"), "300")
    type_into(qtbot, data.findChild(QWidget, "data.noise"), "25")
    type_into(qtbot, data.findChild(QWidget, "data.train_ratio"), "70")
    old_seed = data.seed()
    with qtbot.waitSignal(data.regenerate_requested) as blocker:
        qtbot.mouseClick(data.findChild(QWidget, "data.regenerate"), Qt.MouseButton.LeftButton)
    kind, count, noise, train, seed = blocker.args
    assert (kind, count, train) == ("spiral", 300, pytest.approx(0.7))
    assert noise == pytest.approx(0.25)
    assert seed != old_seed and seed == data.findChild(QWidget, "data.seed").value()


def test_typed_seed_rebuilds_that_data_set(qtbot, data):
    with qtbot.waitSignal(data.regenerate_requested) as blocker:
        type_into(qtbot, data.findChild(QWidget, "data.seed"), "42")
    assert blocker.args[4] == 42


def test_generator_settings_do_not_emit_by_themselves(qtbot, data):
    with qtbot.assertNotEmitted(data.regenerate_requested):
        choose(data.findChild(QComboBox, "data.kind"), "xor")
        type_into(qtbot, data.findChild(QWidget, "data.noise"), "10")
        data.set_generator_settings("moons", 50, 0.3, 0.6, 7)
    assert (data.kind(), data.count(), data.noise_fraction(), data.train_fraction(), data.seed()) == \
        ("moons", 50, pytest.approx(0.3), pytest.approx(0.6), 7)


def test_resplit(qtbot, data):
    type_into(qtbot, data.findChild(QWidget, "data.train_ratio"), "80")
    with qtbot.waitSignal(data.resplit_requested) as blocker:
        qtbot.mouseClick(data.findChild(QWidget, "data.resplit"), Qt.MouseButton.LeftButton)
    assert blocker.args == [pytest.approx(0.8)]


def test_train_ratio_and_noise_are_bounded(qtbot, data):
    type_into(qtbot, data.findChild(QWidget, "data.train_ratio"), "95")
    type_into(qtbot, data.findChild(QWidget, "data.noise"), "80")
    assert 0.1 <= data.train_fraction() <= 0.9
    assert 0.0 <= data.noise_fraction() <= 0.5


def test_tool_class_and_role_pickers(qtbot, data):
    with qtbot.waitSignal(data.tool_changed) as blocker:
        qtbot.mouseClick(data.findChild(QWidget, "tool.erase"), Qt.MouseButton.LeftButton)
    assert blocker.args == ["erase"] and data.current_tool() == "erase"
    assert not data.findChild(QWidget, "tool.add").isChecked()
    with qtbot.waitSignal(data.tool_changed) as blocker:
        data.set_tool("select")
    assert blocker.args == ["select"]
    with pytest.raises(ValueError):
        data.set_tool("lasso")
    with qtbot.waitSignal(data.current_class_changed) as blocker:
        qtbot.mouseClick(data.findChild(QWidget, "class.1"), Qt.MouseButton.LeftButton)
    assert blocker.args == [1] and data.current_class() == 1
    with qtbot.waitSignal(data.new_point_role_changed) as blocker:
        choose(data.findChild(QComboBox, "data.role"), VALIDATION)
    assert blocker.args == [VALIDATION]
    choose(data.findChild(QComboBox, "data.role"), TEST)
    assert data.new_point_role() == TEST
    for name, key in (("add", "A"), ("brush", "B"), ("erase", "E"), ("select", "V")):
        assert f"({key})" in data.findChild(QWidget, f"tool.{name}").toolTip()


def test_problem_picks_the_data_sets_offered(qtbot, data):
    combo = data.findChild(QComboBox, "data.kind")
    kinds = lambda: [combo.itemData(i) for i in range(combo.count())]
    assert "spiral" in kinds() and "plane" not in kinds()
    data.set_problem("regression")
    assert set(kinds()) == {"plane", "gaussians"}
    # blue and red draw low (-1) and high (+1) values; the other classes do not apply
    assert data.findChild(QWidget, "class.0").isEnabled() and "−1" in data.findChild(QWidget, "class.0").text()
    assert not data.findChild(QWidget, "class.2").isEnabled()
    data.set_problem("classification")
    assert data.findChild(QWidget, "class.0").text() == "Blue"
    assert "circle" in kinds() and "plane" not in kinds()


def test_every_data_control_has_a_tooltip(data):
    inputs = _inputs(data)
    assert len(inputs) >= 15
    for widget in inputs:
        assert widget.toolTip().strip(), widget.objectName() or widget


# -- issue 6 items 16, 22, 24 -------------------------------------------------------------------------
def test_wheel_over_unfocused_fields_of_a_scrolled_panel_scrolls_it(qtbot, model):
    panel = ControlPanel(model)
    qtbot.addWidget(panel)
    panel.resize(340, 300)            # short: the panel scrolls
    panel.show()
    qtbot.waitExposed(panel)
    bar = panel.findChild(QScrollArea).verticalScrollBar()
    assert bar.maximum() > 0
    before = model.config.to_dict()
    for name in ("optimizer.batch_size", "architecture.activation", "optimizer.name"):
        field = w(panel, name)
        field.clearFocus()
        assert field.focusPolicy() == Qt.FocusPolicy.StrongFocus   # the wheel does not take focus
        bar.setValue(0)
        _wheel(field, -120)
        assert bar.value() > 0, name                                 # the panel scrolled...
        assert model.config.to_dict() == before, name                # ...and nothing changed


def test_wheel_over_unfocused_data_panel_fields_changes_nothing(qtbot, data):
    fields = [data.findChild(QWidget, n) for n in ("data.kind", "data.count", "data.noise", "data.train_ratio",
                                                   "data.seed", "data.role")]
    values = (data.kind(), data.count(), data.noise_fraction(), data.train_fraction(), data.seed(),
              data.new_point_role())
    for field in fields:
        field.clearFocus()
        assert field.focusPolicy() == Qt.FocusPolicy.StrongFocus
        _wheel(field, 120)
        _wheel(field, -120)
    assert (data.kind(), data.count(), data.noise_fraction(), data.train_fraction(), data.seed(),
            data.new_point_role()) == values
    count = data.findChild(QWidget, "data.count")
    count.setFocus()
    _wheel(count, 120)                 # a focused field does take the wheel
    assert data.count() == values[1] + 50


def test_generator_count_never_drops_to_a_useless_handful(qtbot, data):
    from nnviz.ui.data_panel import MIN_COUNT
    data.set_generator_settings("circle", 300, 0.0, 0.5, 1)
    data.set_generator_settings("circle", 1, 0.0, 0.5, 1)        # e.g. an empty experiment was loaded
    assert data.count() == 300                                     # the last good count stays
    data.set_generator_settings("circle", 0, 0.0, 0.5, 1)
    assert data.count() == 300
    count = data.findChild(QSpinBox, "data.count")
    assert count.minimum() == MIN_COUNT >= 10
    type_into(qtbot, count, "1")                                   # typed: clamped to the minimum
    with qtbot.waitSignal(data.regenerate_requested) as blocker:
        qtbot.mouseClick(data.findChild(QWidget, "data.regenerate"), Qt.MouseButton.LeftButton)
    assert blocker.args[1] >= MIN_COUNT


def test_activation_is_disabled_with_a_reason_without_hidden_layers(qtbot, panel, model):
    from nnviz.ui.controls import NO_HIDDEN_ACTIVATION_TIP
    act = w(panel, "architecture.activation")
    assert act.isEnabled() and "hidden layer" not in act.toolTip().lower()[:20]
    while model.config.architecture.hidden_layers:
        qtbot.mouseClick(w(panel, "architecture.hidden_layers.remove"), Qt.MouseButton.LeftButton)
    assert not act.isEnabled() and act.toolTip() == NO_HIDDEN_ACTIVATION_TIP
    assert "no hidden layer" in act.toolTip()
    assert not [c for c in panel.findChildren(QComboBox)   # no per-layer activation box is left to edit
                if c.objectName().startswith("architecture.layer_activations") and c.isVisibleTo(panel)]
    qtbot.mouseClick(w(panel, "architecture.hidden_layers.add"), Qt.MouseButton.LeftButton)
    assert act.isEnabled() and act.toolTip() != NO_HIDDEN_ACTIVATION_TIP


# -- architecture.dtype ------------------------------------------------------------------------------
def test_precision_control_rebuilds_the_trainer_in_float32_and_back(qtbot, panel, model):
    """The Precision box (architecture.dtype, from the engine's metadata) reaches a trainer the way the
    session applies settings (Trainer.set_config on every change): a new network in that precision,
    trained from epoch 0."""
    import numpy as np
    from nnviz.data.points import TEST, TRAIN, PointSet
    from nnviz.engine.config import DTYPES
    from nnviz.engine.trainer import Trainer
    from nnviz.ui.controls import DTYPE_NAMES
    combo = w(panel, "architecture.dtype")
    assert [combo.itemData(i) for i in range(combo.count())] == list(DTYPES)
    assert combo.currentData() == "float64" and "float32" in combo.itemText(combo.findData("float32"))
    tip = combo.toolTip()
    assert field_help("architecture", "dtype") in tip and RESET_NOTE in tip
    assert "twice as fast" in tip and "float32" in tip
    assert set(DTYPE_NAMES) == set(DTYPES)
    assert any(lbl.text() == "Precision" and lbl.buddy() is combo
               for lbl in panel.sections["architecture"].findChildren(QLabel))

    rng = np.random.default_rng(0)
    xy = rng.normal(size=(40, 2))
    roles = np.where(np.arange(40) % 4, TRAIN, TEST)
    trainer = Trainer(model.config, PointSet(xy, (xy[:, 0] > 0).astype(float), roles))
    resets = []
    model.changed.connect(lambda config, _reset: resets.append(trainer.set_config(config)))
    trainer.train(3)
    assert trainer.epoch == 3
    rec = Recorder(model)
    choose(combo, "float32")
    assert model.config.architecture.dtype == "float32" and rec.last_reset is True
    assert trainer.config.architecture.dtype == "float32" and resets == [True]
    assert trainer.network.params.dtype == np.float32 and trainer.epoch == 0
    choose(combo, "float64")
    assert trainer.config.architecture.dtype == "float64" and trainer.network.params.dtype == np.float64
    model.set_field("architecture", "dtype", "float32")           # the model drives the box too
    assert combo.currentData() == "float32"


# -- the data set shown for a lesson --------------------------------------------------------------------
def _kinds(combo: QComboBox) -> list[str]:
    return [combo.itemData(i) for i in range(combo.count())]


def test_every_generator_kind_is_offered_under_its_problem_with_a_name(data):
    from nnviz.data.generators import DATASETS, REGRESSION_DATASETS, generate
    from nnviz.ui.data_panel import DATASET_NAMES
    combo = data.findChild(QComboBox, "data.kind")
    assert _kinds(combo) == list(DATASETS)
    data.set_problem("regression")
    assert _kinds(combo) == list(REGRESSION_DATASETS) and "gaussians" in _kinds(combo)
    for kind in DATASETS + REGRESSION_DATASETS:
        assert kind in DATASET_NAMES and all(DATASET_NAMES[kind]), kind   # a name and a tooltip
        assert len(generate(kind, n=10)) == 10          # each offered kind is one Regenerate can draw


@pytest.mark.parametrize("settings_first", [True, False])
def test_regression_lesson_shows_its_own_data_set_whatever_arrives_first(qtbot, data, settings_first):
    """The Regression lesson draws 'gaussians' (Gaussian bumps); the panel showed a classification set
    (or Plane) when the lesson's generator settings arrived while it still offered classification sets."""
    from nnviz.presets import get_preset
    lesson = get_preset("regression")
    assert lesson.data["kind"] == "gaussians"
    show = lambda: data.set_generator_settings(lesson.data["kind"], lesson.data["n"], lesson.data["noise"],
                                               lesson.data["train_fraction"], lesson.data["seed"])
    combo = data.findChild(QComboBox, "data.kind")
    with qtbot.assertNotEmitted(data.regenerate_requested):
        if settings_first:
            show()
            data.set_problem("regression")
        else:
            data.set_problem("regression")
            show()
    assert data.kind() == "gaussians" and combo.currentText() == "Gaussian bumps"
    assert data.count() == lesson.data["n"]
    with qtbot.waitSignal(data.regenerate_requested) as blocker:
        qtbot.mouseClick(data.findChild(QWidget, "data.regenerate"), Qt.MouseButton.LeftButton)
    assert blocker.args[0] == "gaussians"


def test_switching_the_problem_and_back_keeps_each_problems_data_set(qtbot, data):
    combo = data.findChild(QComboBox, "data.kind")
    choose(combo, "spiral")
    data.set_problem("regression")
    choose(combo, "gaussians")
    data.set_problem("classification")
    assert data.kind() == "spiral"
    data.set_problem("regression")
    assert data.kind() == "gaussians"
    data.set_generator_settings("no-such-kind", 200, 0.0, 0.5, 0)   # unknown: the shown kind stays
    assert data.kind() == "gaussians"
