"""Colours shared by every view, chosen to stay distinct for colour-blind viewers.

Class colours are from the Okabe-Ito palette: blue, vermillion (named "orange", which is what people
see), bluish green and yellow. Simulated deuteranopia and protanopia keep the four apart (dark blue,
dark olive, mid grey, bright yellow: they differ in lightness as well as hue), and each name matches
its colour. The binary boundary field is a diverging blue-white-orange ramp, pale enough that the
points drawn on it stay readable on light and dark themes alike.
"""
from __future__ import annotations

import numpy as np

CLASS_COLORS = ("#0072B2", "#D55E00", "#009E73", "#F0E442")   # class 0..3
CLASS_NAMES = ("blue", "orange", "green", "yellow")
ROLE_MARKERS = {0: "filled disc", 1: "hollow ring", 2: "diamond"}
CONTOUR_COLOR = "#202020"
MISCLASSIFIED_COLOR = "#FFD700"


def _hex_rgb(h: str) -> np.ndarray:
    return np.array([int(h[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


def diverging_lut(n: int = 256, strength: float = 0.55) -> np.ndarray:
    """(n, 4) uint8 LUT from class-0 blue through white to class-1 orange.

    ``strength`` < 1 keeps the ends pale so filled points remain visible on top.
    """
    t = np.linspace(-1.0, 1.0, n)[:, None]
    white = np.full(3, 255.0)
    blue, orange = _hex_rgb(CLASS_COLORS[0]), _hex_rgb(CLASS_COLORS[1])
    # a smooth (not linear) ramp so the region near p=0.5 stays light and the sides saturate
    w = np.abs(t) ** 0.8 * strength
    rgb = np.where(t < 0, white + (blue - white) * w, white + (orange - white) * w)
    lut = np.empty((n, 4), np.uint8)
    lut[:, :3] = np.clip(rgb, 0, 255).round().astype(np.uint8)
    lut[:, 3] = 255
    return lut


def class_tints(strength: float = 0.45) -> np.ndarray:
    """(4, 3) float RGB tints for the 3-4 class field (blended by class probability)."""
    white = np.full(3, 255.0)
    return np.array([white + (_hex_rgb(c) - white) * strength for c in CLASS_COLORS])
