"""Keep BLAS single-threaded: on two cores with a busy neighbour (the GUI), multi-threaded BLAS on
small matrices runs 2-10x slower than one thread."""
from __future__ import annotations

_limiter = None


def limit_blas_threads(n: int = 1) -> None:
    """Limit BLAS/OpenMP pools of this process to ``n`` threads (idempotent; no-op without threadpoolctl)."""
    global _limiter
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional at run time; the engine works without it
        return
    _limiter = threadpool_limits(limits=n)  # kept referenced so the limit stays in force
