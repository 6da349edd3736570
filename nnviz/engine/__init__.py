"""The pure-NumPy training engine. Never imports Qt (a test enforces it)."""
from .config import ExperimentConfig, layer_sizes, needs_new_weights
from .history import History
from .network import Network
from .threads import limit_blas_threads
from .trainer import StopInfo, Trainer

__all__ = ["ExperimentConfig", "History", "Network", "StopInfo", "Trainer", "layer_sizes", "needs_new_weights",
           "limit_blas_threads"]
