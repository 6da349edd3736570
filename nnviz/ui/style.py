"""The application style sheet: only what the platform style leaves unclear.

Checked toggle buttons (input features, tools, classes, view toggles) must read as "on" at a glance,
in every style and for colour-blind viewers, so they get a border and bold text, not only a tint.
"""

APP_STYLE = """
QToolButton:checked, QPushButton:checked {
    background-color: #CFE3F3;
    border: 1px solid #0072B2;
    border-radius: 3px;
    font-weight: bold;
    color: #0B3D66;
}
"""
