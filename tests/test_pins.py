"""Pins: frozen, labelled copies of a run's curves that survive resets and setting changes (issue 7)."""
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from nnviz.ui import pins as pins_module
from nnviz.ui.pins import MAX_PINS, PinList, PinsWidget
from nnviz.ui.plots import GradientPlot, LossPlot, WeightsPlot
from test_plots import data, legend_labels, make_history, make_rows, shown


def test_a_pin_is_a_frozen_copy(qtbot):
    h = make_history(100)
    pins = PinList()
    changes = []
    pins.changed.connect(lambda: changes.append(1))
    key = pins.add("ReLU, 2x8, lr 0.03 @ epoch 100", h)
    assert changes == [1] and [p.key for p in pins.pins] == [key]
    pin = pins.get(key)
    np.testing.assert_array_equal(pin.history["train_loss"], h["train_loss"])
    h.extend(make_rows(100, 50))                  # the live run goes on...
    assert len(pin.history) == 100                # ...the pin does not
    overlay = pins.overlays()[0]
    assert overlay.faded and overlay.key == key and overlay.label == "ReLU, 2x8, lr 0.03 @ epoch 100"
    assert overlay.history is pin.history and overlay.colour == pin.colour
    with pytest.raises(TypeError):
        pins.add("x", {"epoch": [1]})
    assert len(pins) == 1


def test_keys_and_colours_differ_and_the_oldest_pin_makes_room():
    pins = PinList()
    keys = [pins.add(f"run {i}", make_history(10)) for i in range(MAX_PINS)]
    assert len(set(keys)) == MAX_PINS
    assert len({p.colour for p in pins.pins}) == MAX_PINS
    extra = pins.add("one more", make_history(10))
    assert len(pins) == MAX_PINS and pins.pins[0].key == keys[1] and pins.pins[-1].key == extra
    assert extra not in keys                       # keys are never reused
    assert pins.add("   ", make_history(3)) and pins.pins[-1].label.startswith("pin ")   # no empty labels


def test_rename_and_remove_in_the_list():
    pins = PinList()
    a = pins.add("a", make_history(5))
    assert pins.rename(a, "  sigmoid\n@ epoch 400 ") and pins.get(a).label == "sigmoid @ epoch 400"
    assert not pins.rename(a, "   ") and pins.get(a).label == "sigmoid @ epoch 400"
    assert not pins.rename("nope", "x") and not pins.remove("nope")
    pins.rename(a, "x" * 500)
    assert len(pins.get(a).label) == pins_module.MAX_LABEL
    assert pins.remove(a) and len(pins) == 0


def test_pins_survive_a_new_history_of_the_window(qtbot):
    live = make_history(300, n_layers=3)
    pins = PinList()
    key = pins.add("sigmoid @ epoch 300", live, weight_histograms=[(np.linspace(-1, 1, 5), [1, 2, 3, 4])])
    plots = [shown(cls(), qtbot) for cls in (LossPlot, GradientPlot, WeightsPlot)]
    for p in plots:
        p.set_history(live)
        p.set_overlays(pins.overlays())
    pinned = pins.get(key).history
    for fresh in (make_history(20, n_layers=3, seed=4), make_history(20, n_layers=5, seed=5)):   # reset, new net
        for p in plots:
            p.set_history(fresh)
            p.refresh()
            assert p.overlays == [key]
            assert "pin: sigmoid @ epoch 300" in legend_labels(p)
        x, y = data(plots[0]._overlays[key].curves["train"])
        # (several runs: about one min/max stroke per pixel column, so compare the values drawn)
        np.testing.assert_array_equal(np.sort(y), np.sort(pinned["train_loss"]))
        assert x[-1] == 300 and plots[0].view_box.viewRange()[0][1] >= 300
        assert len(plots[1]._overlays[key].curves) == 3     # the pin keeps its own layer count
    weights = plots[2]
    assert any(c.isVisible() for c in weights._hist_curves)   # the pin's histogram
    pins.remove(key)
    for p in plots:
        p.set_overlays(pins.overlays())
        assert p.overlays == [] and not p.coloured


def widget_with_pins(qtbot, n=3):
    pins = PinList()
    keys = [pins.add(f"run {i}", make_history(20 + i)) for i in range(n)]
    w = PinsWidget(pins)
    qtbot.addWidget(w)
    w.resize(220, 140)
    w.show()
    return pins, keys, w


def test_widget_lists_pins_with_tooltips_and_follows_the_list(qtbot):
    pins, keys, w = widget_with_pins(qtbot)
    assert [w.list.item(i).text() for i in range(w.list.count())] == ["run 0", "run 1", "run 2"]
    assert "22 epochs" in w.list.item(2).toolTip()
    assert w.list.toolTip() and w.remove_button.toolTip() and w.title.toolTip()
    assert w.list.isVisible() and not w.empty_note.isVisible()
    pins.add("new", make_history(5))
    assert w.list.count() == 4
    pins.clear()
    assert w.list.count() == 0 and w.empty_note.isVisible() and not w.list.isVisible()
    assert w.sizeHint().height() <= 140 and w.sizeHint().width() <= 220   # compact


def editing(w):
    """The open (visible) name editor of the pins list, or None."""
    return next((e for e in w.list.findChildren(QLineEdit) if e.isVisible()), None)


def test_widget_renames_with_f2_and_double_click(qtbot):
    pins, keys, w = widget_with_pins(qtbot)
    w.list.setFocus()
    w.list.setCurrentRow(1)
    qtbot.keyClick(w.list, Qt.Key.Key_F2)
    editor = editing(w)
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, "ReLU @ epoch 21")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: pins.get(keys[1]).label == "ReLU @ epoch 21", timeout=2000)   # a queued commit
    assert w.item_for(keys[1]).text() == "ReLU @ epoch 21"
    # double-click opens the editor too; an empty name is refused and the old one comes back
    qtbot.waitUntil(lambda: editing(w) is None, timeout=2000)   # the first editor is closed
    item = w.item_for(keys[0])
    rect = w.list.visualItemRect(item)
    # a real double-click: press, release, then the double-click event (QTest sends only the last)
    qtbot.mouseClick(w.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(w.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: editing(w) is not None, timeout=2000)
    editor = editing(w)
    assert w.list.currentItem() is item
    editor.clear()
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: editing(w) is None, timeout=2000)
    assert pins.get(keys[0]).label == "run 0" and w.item_for(keys[0]).text() == "run 0"


def test_widget_removes_with_del_the_button_and_the_menu(qtbot):
    pins, keys, w = widget_with_pins(qtbot)
    w.list.setFocus()
    w.list.setCurrentRow(0)
    qtbot.keyClick(w.list, Qt.Key.Key_Delete)
    assert [p.key for p in pins.pins] == keys[1:]
    w.list.setCurrentRow(1)
    qtbot.mouseClick(w.remove_button, Qt.MouseButton.LeftButton)
    assert [p.key for p in pins.pins] == [keys[1]]
    w.list.setCurrentRow(0)
    w.remove_action.trigger()                     # what the context menu's "Remove pin" does
    assert pins.pins == [] and not w.remove_button.isEnabled()
    w.remove_selected()                           # nothing selected: nothing happens
