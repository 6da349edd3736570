"""nnviz: a desktop lab in which you watch a neural network learn."""

__version__ = "0.1.0"
