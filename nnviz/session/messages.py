"""Messages between the GUI and a training session. All picklable, all immutable by convention."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data.points import PointSet
from ..engine.config import ExperimentConfig
from ..engine.units import DEFAULT_RESOLUTION, NetworkFrame  # noqa: F401  (Snapshot.network's type)


# -- commands (GUI -> session) -----------------------------------------------------------------------------
@dataclass
class SetConfig:
    config: ExperimentConfig


@dataclass
class SetPoints:
    points: PointSet
    version: int = 0


@dataclass
class SetExperiment:
    """Settings and points together (loading a file, changing the problem): applied atomically."""
    config: ExperimentConfig
    points: PointSet
    version: int = 0


@dataclass
class Play:
    seq: int = 0                     # transport commands are numbered; snapshots say which they follow


@dataclass
class Pause:
    seq: int = 0


@dataclass
class Step:
    epochs: int = 1
    seq: int = 0


@dataclass
class Reset:
    redraw: bool = False


@dataclass
class SetSpeed:
    epochs_per_second: float = 0.0   # 0 = as fast as possible


@dataclass
class SetView:
    extent: tuple[float, float, float, float]
    width: int = 100
    height: int = 100
    predictions: bool = True         # classify every point each frame (for "show mistakes")


@dataclass
class SetNetworkView:
    """Send (``enabled``) or stop sending ``Snapshot.network``: every unit's activation over a
    ``resolution`` x ``resolution`` grid covering the view of the last SetView (see nnviz.engine.units)."""
    enabled: bool
    resolution: int = DEFAULT_RESOLUTION


@dataclass
class SetEpochLimit:
    """While playing, do not train past epoch ``limit`` (None: no limit); snapshots held there say
    ``waiting``. Steps are not limited. Used by the lock-step of compare mode."""
    limit: int | None = None


@dataclass
class LoadState:
    weights: list | None
    history: dict | None             # History.to_arrays() (History.to_dict() is accepted too)


@dataclass
class RequestState:
    token: int


@dataclass
class Ack:
    pass


@dataclass
class Shutdown:
    pass


# -- replies (session -> GUI) -------------------------------------------------------------------------------
@dataclass
class Snapshot:
    generation: int                  # bumps whenever the history restarts (reset, rebuild, load)
    epoch: int
    rows: dict                       # History.slice: metric rows of the epochs after the last snapshot's
    n_layers: int
    playing: bool
    boundary: np.ndarray | None      # see BoundaryEvaluator; None if no view was set
    extent: tuple | None
    mode: str                        # 'binary', 'multiclass' or 'regression'
    points_version: int
    predictions: np.ndarray | None   # predicted class per point (classification), in point order
    best_epoch: int | None
    stop_message: str
    stop_kind: str
    notice: str
    dropout_keep: list = field(default_factory=list)   # per hidden layer: bool (units,) of the last step
    epochs_per_second: float = 0.0
    seed: int = 0
    transport_seq: int = 0           # the last Play/Pause/Step handled before this snapshot
    in_sync: bool = True             # False while the session holds settings or points it could not apply
    sync_message: str = ""           # why not in sync ("" when in sync)
    # per weight matrix, input side first: (edges float64 (bins + 1,), counts int64 (bins,)) on one shared
    # symmetric range (nnviz.engine.stats.weight_histograms). None: unchanged since the last snapshot that
    # carried some (keep showing those). Sent with the first snapshot of each generation, at most
    # ~HISTOGRAM_INTERVAL apart while training plays (big layers sampled), and exact once it pauses or stops.
    weight_histograms: list | None = None
    # the network view (SetNetworkView): None when it is off, or when nothing changed since the last frame
    # that carried one (keep showing that one). Sent with the first snapshot after it is enabled, of each
    # generation and of each still; while training plays at a bounded rate (big networks less often).
    network: NetworkFrame | None = None
    waiting: bool = False            # playing, but held at the SetEpochLimit epoch (playing stays True)


@dataclass
class StateReply:
    token: int
    config: ExperimentConfig         # the settings the session trains with
    weights: list                    # [(W, b), ...] NumPy arrays, input side first
    epoch: int
    history: dict | None = None      # History.to_arrays() of the same moment as the weights
    points: PointSet | None = None   # the points the session trains on
    points_version: int = 0          # their version (as sent with SetPoints / SetExperiment)
    in_sync: bool = True             # False: settings or points sent later are waiting (not applied)
    sync_message: str = ""


@dataclass
class HistoryColumns:
    """Sent by the child just before a message that carries many metric rows (a StateReply's
    ``history``, a Snapshot's ``rows`` after a load): that message travels with the field set to None
    and each column follows as raw bytes (``send_bytes``), in this order, so that no single unpickling
    step in the GUI process holds the interpreter for long. The pipe reader puts the columns back;
    Qt code only ever sees whole messages."""
    field: str                       # "history" or "rows": the attribute of the next message
    n_layers: int | None             # the "n_layers" entry of the dict, if it has one
    columns: list                    # [(name, shape), ...] of little-endian float64 arrays


@dataclass
class SessionError:
    message: str
    detail: str = ""

