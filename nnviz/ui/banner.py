"""A dismissable message strip above the canvas: divergence, early stopping, a dead child process.

Non-modal on purpose: a message must never block a running lesson or a test.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton

STYLES = {
    "info": ("#E8F1FA", "#0B3D66"),
    "warning": ("#FFF4D6", "#5C4200"),
    "error": ("#FDE5DD", "#6B1D05"),
}


class Banner(QFrame):
    action_triggered = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        # messages quote file names and values: shown word for word, never read as HTML
        self.label.setTextFormat(Qt.PlainText)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.action_button = QPushButton(self)
        self.action_button.clicked.connect(self.action_triggered)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide this message.")
        close.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(close)
        self.kind = ""
        self.hide()

    def show_message(self, text: str, kind: str = "info", action: str | None = None) -> None:
        bg, fg = STYLES[kind]
        self.kind = kind
        self.setStyleSheet(f"QFrame#banner {{ background: {bg}; border-bottom: 1px solid {fg}; }}"
                           f" QLabel {{ color: {fg}; }}")
        self.label.setText(text)
        self.action_button.setVisible(bool(action))
        self.action_button.setText(action or "")
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""
