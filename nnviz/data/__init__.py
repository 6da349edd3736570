"""Point sets, generators and point files."""
from .points import ROLE_NAMES, TEST, TRAIN, VALIDATION, PointSet

__all__ = ["PointSet", "TRAIN", "TEST", "VALIDATION", "ROLE_NAMES"]
