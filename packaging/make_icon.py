"""Draw the application icon (nnviz/resources/nnviz.png): a decision boundary between two classes."""
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen  # noqa: E402

BLUE, RED = QColor("#0072B2"), QColor("#D55E00")


def draw(size: int = 256) -> QImage:
    img = QImage(size, size, QImage.Format_ARGB32)
    img.fill(Qt.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.Antialiasing)
    s = size / 256
    frame = QPainterPath()
    frame.addRoundedRect(QRectF(8 * s, 8 * s, 240 * s, 240 * s), 40 * s, 40 * s)
    p.setClipPath(frame)
    p.fillRect(img.rect(), QColor("#BFD9EC"))
    boundary = QPainterPath(QPointF(0, 70 * s))
    boundary.cubicTo(QPointF(110 * s, 40 * s), QPointF(120 * s, 220 * s), QPointF(256 * s, 180 * s))
    red = QPainterPath(boundary)
    red.lineTo(256 * s, 256 * s)
    red.lineTo(0, 256 * s)
    red.closeSubpath()
    p.fillPath(red, QColor("#F2C9B0"))
    p.setPen(QPen(QColor("#202020"), 7 * s))
    p.drawPath(boundary)
    p.setPen(QPen(QColor("#202020"), 3 * s))
    for color, pts in ((BLUE, [(50, 30), (150, 60), (200, 120), (205, 40)]),
                       (RED, [(50, 140), (70, 210), (140, 200), (200, 230)])):
        p.setBrush(color)
        for x, y in pts:
            p.drawEllipse(QPointF(x * s, y * s), 17 * s, 17 * s)
    p.end()
    return img


if __name__ == "__main__":
    app = QGuiApplication(sys.argv)
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "nnviz",
                                                               "resources", "nnviz.png")
    draw().save(out)
    print("wrote", out)
