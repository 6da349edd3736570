"""Pinned runs: frozen, labelled copies of a run's history, drawn faded in the plots (issue 7 section 2).

A pin is a copy, so it survives a reset, a new architecture or any setting change of the live run.
:class:`PinList` owns the pins (no widgets); :class:`PinsWidget` is a compact list to rename and remove
them. The window draws them with ``plot.set_overlays(compare_overlays + pins.overlays())``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPalette, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu,
                               QToolButton, QVBoxLayout, QWidget)

from ..engine.history import History
from ..viewmath import mix
from .plots import PIN_FADE, Overlay

# Okabe-Ito colours the compared runs do not use first (they take black, reddish purple, bluish green
# and sky blue: nnviz.ui.compare.RUN_COLOURS), so a pin does not pass for a live run; pins are drawn
# faded and behind the live runs anyway. Yellow is left out: faded, it vanishes on white.
PIN_COLOURS = ("#E69F00", "#0072B2", "#D55E00", "#8C564B", "#CC79A7", "#009E73", "#56B4E9", "#000000")
MAX_PINS = 8            # each pin holds a whole history (up to ~40 MB for 100k epochs of 10 layers)
MAX_LABEL = 80


@dataclass
class Pin:
    key: str
    label: str
    history: History
    colour: str
    weight_histograms: list | None = None

    def overlay(self) -> Overlay:
        return Overlay(self.key, self.label, self.history, self.colour, faded=True,
                       weight_histograms=self.weight_histograms)


def frozen_copy(history: History) -> History:
    """A copy of ``history`` that nothing else holds (so it never changes), with all its rows."""
    if not isinstance(history, History):
        raise TypeError(f"pin: expected a History, got {type(history).__name__}")
    n = len(history)
    copy = History(history.n_layers, capacity=max(16, n), max_rows=max(n, history.max_rows))
    if n:
        copy.extend(history.slice(0))
    return copy


def _clean_label(label) -> str:
    text = " ".join(str(label if label is not None else "").split())
    return text[:MAX_LABEL]


class PinList(QObject):
    """The pinned runs, oldest first. ``changed`` is emitted after every add, remove and rename."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pins: list[Pin] = []
        self._next = 1

    @property
    def pins(self) -> list[Pin]:
        return list(self._pins)

    def __len__(self) -> int:
        return len(self._pins)

    def get(self, key: str) -> Pin | None:
        return next((p for p in self._pins if p.key == key), None)

    def add(self, label: str, history: History, weight_histograms=None, colour: str | None = None) -> str:
        """Pin a frozen copy of ``history`` under ``label`` (e.g. "ReLU, 2x8, lr 0.03 @ epoch 400");
        returns the pin's key. ``weight_histograms`` (optional) are the run's latest, as the weights plot
        takes them. With MAX_PINS pins already, the oldest is dropped to make room."""
        copy = frozen_copy(history)
        hists = None if weight_histograms is None else [
            (np.array(e, dtype=float), np.array(c, dtype=float)) for e, c in weight_histograms]
        if colour is None:
            used = {p.colour for p in self._pins}
            colour = next((c for c in PIN_COLOURS if c not in used), PIN_COLOURS[(self._next - 1) % len(PIN_COLOURS)])
        else:
            mix(colour, colour, 0.0)   # ValueError for a colour that is not '#rrggbb'
        key = f"pin{self._next}"
        self._next += 1
        label = _clean_label(label) or f"pin {self._next - 1}"
        while len(self._pins) >= MAX_PINS:
            self._pins.pop(0)
        self._pins.append(Pin(key, label, copy, colour, hists))
        self.changed.emit()
        return key

    def remove(self, key: str) -> bool:
        """Unpin ``key``; False if there is no such pin."""
        pin = self.get(key)
        if pin is None:
            return False
        self._pins.remove(pin)
        self.changed.emit()
        return True

    def clear(self) -> None:
        if self._pins:
            self._pins.clear()
            self.changed.emit()

    def rename(self, key: str, label: str) -> bool:
        """Give ``key`` a new label (whitespace collapsed, at most MAX_LABEL characters); an empty label
        or an unknown key changes nothing and returns False."""
        pin = self.get(key)
        text = _clean_label(label)
        if pin is None or not text:
            return False
        if text != pin.label:
            pin.label = text
            self.changed.emit()
        return True

    def overlays(self) -> list[Overlay]:
        """The pins as faded plot overlays, oldest first."""
        return [p.overlay() for p in self._pins]


KEY_ROLE = Qt.ItemDataRole.UserRole


class PinsWidget(QWidget):
    """A compact list of the pins: a swatch and the label per pin. Double-click or F2 renames, Del (or
    the context menu, or the × button) removes."""

    def __init__(self, pin_list: PinList, parent: QWidget | None = None):
        super().__init__(parent)
        self.pin_list = pin_list
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        top = QHBoxLayout()
        top.setContentsMargins(2, 0, 2, 0)
        self.title = QLabel("Pins", self)
        self.title.setToolTip("Pinned runs: frozen copies of a run's curves, drawn faded in the plots. "
                              "They stay when you reset or change settings.")
        top.addWidget(self.title, 1)
        self.remove_button = QToolButton(self)
        self.remove_button.setText("×")
        self.remove_button.setAutoRaise(True)
        font = self.remove_button.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.remove_button.setFont(font)
        self.remove_button.setToolTip("Remove the selected pin (Del)")
        self.remove_button.clicked.connect(self.remove_selected)
        top.addWidget(self.remove_button)
        layout.addLayout(top)

        self.list = QListWidget(self)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)   # F2
        self.list.setIconSize(QSize(12, 12))
        self.list.setUniformItemSizes(True)
        self.list.setToolTip("Double-click or F2 to rename a pin; Del or right-click to remove it.")
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        layout.addWidget(self.list, 1)
        self.empty_note = QLabel("No pins. Pin a run to keep its curves for comparison.", self)
        self.empty_note.setWordWrap(True)
        self.empty_note.setEnabled(False)
        layout.addWidget(self.empty_note)

        # Del/Backspace are read from the list's own key events (a shortcut would need an active window
        # and could clash with the window's Delete); shown in the menu for discoverability
        self.remove_action = QAction("Remove pin", self)
        self.remove_action.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.remove_action.triggered.connect(self.remove_selected)
        self.list.installEventFilter(self)
        self.rename_action = QAction("Rename pin", self)
        self.rename_action.triggered.connect(self.rename_selected)
        self._rebuilding = False
        pin_list.changed.connect(self._rebuild)
        self._rebuild()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if (watched is self.list and event.type() == QEvent.Type.KeyPress
                and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
                and self.list.state() != QAbstractItemView.State.EditingState):
            self.remove_selected()
            return True
        return super().eventFilter(watched, event)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(180, 110)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(100, 60)

    def _swatch(self, colour: str) -> QIcon:
        pixmap = QPixmap(12, 12)
        pixmap.fill(QColor(mix(colour, self.palette().color(QPalette.ColorRole.Base).name(), PIN_FADE)))
        return QIcon(pixmap)

    def _rebuild(self) -> None:
        current = self.selected_key()
        pins = self.pin_list.pins
        self._rebuilding = True
        try:
            same = [self.list.item(i).data(KEY_ROLE) for i in range(self.list.count())] == [p.key for p in pins]
            if not same:   # added or removed: a new list (a rename updates its item in place, below)
                self.list.clear()
            for i, pin in enumerate(pins):
                item = self.list.item(i) if same else QListWidgetItem(self._swatch(pin.colour), "")
                if item.text() != pin.label:
                    item.setText(pin.label)
                h = pin.history
                epochs = int(h["epoch"][-1]) if len(h) else 0
                item.setToolTip(f"{pin.label}\n{epochs} epochs pinned. Double-click or F2 to rename, "
                                "Del to remove.")
                if not same:
                    item.setData(KEY_ROLE, pin.key)
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                    self.list.addItem(item)
                    if pin.key == current:
                        self.list.setCurrentItem(item)
        finally:
            self._rebuilding = False
        empty = not self.pin_list.pins
        self.list.setVisible(not empty)
        self.empty_note.setVisible(empty)
        self._update_buttons()

    def _update_buttons(self) -> None:
        has = self.selected_key() is not None
        self.remove_button.setEnabled(has)
        self.remove_action.setEnabled(has)
        self.rename_action.setEnabled(has)

    def selected_key(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else item.data(KEY_ROLE)

    def item_for(self, key: str) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            if self.list.item(i).data(KEY_ROLE) == key:
                return self.list.item(i)
        return None

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._rebuilding:
            return
        key = item.data(KEY_ROLE)
        if not self.pin_list.rename(key, item.text()):   # empty: back to the old label
            pin = self.pin_list.get(key)
            if pin is not None:
                self._rebuilding = True
                item.setText(pin.label)
                self._rebuilding = False

    def remove_selected(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.pin_list.remove(key)

    def rename_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.list.editItem(item)

    def _context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        self.list.setCurrentItem(item)
        menu = QMenu(self)
        menu.addAction(self.rename_action)
        menu.addAction(self.remove_action)
        menu.exec(self.list.viewport().mapToGlobal(pos))
