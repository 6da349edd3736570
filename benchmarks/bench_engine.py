"""Engine speed: nnviz against PyTorch and scikit-learn on the same workloads, in one process.

    python benchmarks/bench_engine.py            # full run (about a minute)
    python benchmarks/bench_engine.py --quick    # fewer, shorter repeats (about 20 s)

Workloads (two-class spiral data; nnviz's data also has as many test points as training points, as the
app's default 50 % split does; --test-ratio changes that):
  W1  TensorFlow Playground's heavy case: 250 training points, 6 hidden layers of 8 tanh, batch 10, SGD lr 0.03
  W2  500 training points, 2 x 16 ReLU, full batch, SGD lr 0.03
  W3  5,000 training points, 4 x 64 ReLU, Adam lr 1e-3, batch 64
  W4  a 200 x 200 decision-boundary grid evaluated by W3's network (grids per second)

nnviz epochs are ``Trainer.step_epoch()`` exactly as the app runs them: the mini-batch steps *plus* the
per-epoch record (train and test loss and error after the epoch, per-layer gradient norms and mean |g|,
weight norms and sparsity). PyTorch and scikit-learn only train. Every engine runs with one BLAS thread.
Engines are interleaved within each repeat (order alternating), and the figure is the median over repeats.
PyTorch and scikit-learn are optional: without them only nnviz runs.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from nnviz.data.points import TEST, TRAIN, PointSet  # noqa: E402
from nnviz.engine import ExperimentConfig, Trainer, limit_blas_threads  # noqa: E402

try:
    import torch
except ImportError:  # optional comparison
    torch = None
try:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    import sklearn
except ImportError:  # optional comparison
    MLPClassifier = None

GRID = 200
TARGETS = {"W1": 8.0, "W2": 4.0, "W3": 6.0, "W4": 1.2}   # nnviz / torch (one thread) wanted
EXTENT = (-6.0, 6.0, -6.0, 6.0)


# -- data ----------------------------------------------------------------------------------------------------

def spiral(n_train: int, test_ratio: float = 1.0, seed: int = 0) -> PointSet:
    """``n_train`` training points of Playground's two-class spiral, plus ``test_ratio`` x as many test points."""
    n_test = int(round(n_train * test_ratio))
    try:
        from nnviz.data.generators import generate
    except ImportError:
        return _local_spiral(n_train, n_test, seed)
    return generate("spiral", n=n_train + n_test, noise=0.0, train_fraction=n_train / (n_train + n_test), seed=seed)


def _local_spiral(n_train: int, n_test: int, seed: int) -> PointSet:
    # Playground's spiral (dataset.ts), used only when nnviz.data.generators is missing
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    xy, target = [], []
    for cls, delta, count in ((1, 0.0, n - n // 2), (0, math.pi, n // 2)):
        i = np.arange(count)
        r = i / count * 5.0
        t = 1.75 * i / count * 2 * math.pi + delta
        xy.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        target.append(np.full(count, float(cls)))
    role = np.full(n, TEST, np.int8)
    role[rng.permutation(n)[:n_train]] = TRAIN
    return PointSet(np.vstack(xy), np.concatenate(target), role)


# -- workloads -----------------------------------------------------------------------------------------------

WORKLOADS = {
    "W1": dict(n_train=250, hidden=[8] * 6, activation="tanh", optimizer="sgd", lr=0.03, batch=10,
               init="glorot", label="spiral 250 pts, 6x8 tanh, batch 10, SGD 0.03"),
    "W2": dict(n_train=500, hidden=[16, 16], activation="relu", optimizer="sgd", lr=0.03, batch=0,
               init="he", label="500 pts, 2x16 ReLU, full batch, SGD 0.03"),
    "W3": dict(n_train=5000, hidden=[64] * 4, activation="relu", optimizer="adam", lr=1e-3, batch=64,
               init="he", label="5000 pts, 4x64 ReLU, batch 64, Adam 1e-3"),
}


def nnviz_config(w: dict) -> ExperimentConfig:
    c = ExperimentConfig()
    c.architecture.hidden_layers = list(w["hidden"])
    c.architecture.activation = w["activation"]
    c.architecture.init = w["init"]
    c.optimizer.name = w["optimizer"]
    c.optimizer.learning_rate = w["lr"]
    c.optimizer.batch_size = w["batch"]
    return c.validate()


def train_arrays(points: PointSet):
    xy, t = points.subset(TRAIN)
    return xy, t


class NnvizRunner:
    name = "nnviz"

    def __init__(self, w, points):
        self.trainer = Trainer(nnviz_config(w), points)

    def epochs(self, k: int) -> None:
        ran = self.trainer.train(k)
        if ran != k:
            raise RuntimeError(f"nnviz stopped training: {self.trainer.stop_info}")

    def grid(self) -> None:
        self.trainer.boundary(EXTENT, GRID, GRID)


class TorchRunner:
    """A plain nn.Sequential and a manual shuffled mini-batch loop (float32, torch's default)."""
    name = "torch"

    def __init__(self, w, points):
        torch.manual_seed(0)
        xy, t = train_arrays(points)
        self.X = torch.tensor(xy, dtype=torch.float32)
        self.y = torch.tensor(t, dtype=torch.float32).reshape(-1, 1)
        act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[w["activation"]]
        layers, fan_in = [], 2
        for width in w["hidden"]:
            layers += [torch.nn.Linear(fan_in, width), act()]
            fan_in = width
        layers.append(torch.nn.Linear(fan_in, 1))
        self.model = torch.nn.Sequential(*layers)
        opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[w["optimizer"]]
        self.opt = opt(self.model.parameters(), lr=w["lr"])
        self.loss = torch.nn.BCEWithLogitsLoss()
        self.batch = w["batch"] or len(self.X)
        self.gen = torch.Generator().manual_seed(0)
        gx, gy = np.meshgrid(np.linspace(EXTENT[0], EXTENT[1], GRID), np.linspace(EXTENT[2], EXTENT[3], GRID))
        self.grid_X = torch.tensor(np.column_stack([gx.ravel(), gy.ravel()]), dtype=torch.float32)

    def epochs(self, k: int) -> None:
        X, y, n, bs = self.X, self.y, len(self.X), self.batch
        model, opt, loss_fn = self.model, self.opt, self.loss
        for _ in range(k):
            if bs >= n:
                batches = [(X, y)]
            else:
                perm = torch.randperm(n, generator=self.gen)
                batches = ((X[idx], y[idx]) for idx in (perm[i:i + bs] for i in range(0, n, bs)))
            for xb, yb in batches:
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()

    def grid(self) -> None:
        with torch.no_grad():
            torch.sigmoid(self.model(self.grid_X))


class SklearnRunner:
    """MLPClassifier.partial_fit: one epoch of shuffled mini-batches per call, no penalty, no early stopping."""
    name = "sklearn"

    def __init__(self, w, points):
        xy, t = train_arrays(points)
        self.X, self.y = xy, t.astype(int)
        kw = dict(momentum=0.0, nesterovs_momentum=False) if w["optimizer"] == "sgd" else {}
        self.clf = MLPClassifier(hidden_layer_sizes=tuple(w["hidden"]), activation=w["activation"],
                                 solver=w["optimizer"], learning_rate_init=w["lr"], alpha=0.0,
                                 batch_size=w["batch"] or len(xy), shuffle=True, early_stopping=False,
                                 learning_rate="constant", random_state=0, **kw)
        self.classes = np.array([0, 1])
        gx, gy = np.meshgrid(np.linspace(EXTENT[0], EXTENT[1], GRID), np.linspace(EXTENT[2], EXTENT[3], GRID))
        self.grid_X = np.column_stack([gx.ravel(), gy.ravel()])

    def epochs(self, k: int) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for _ in range(k):
                self.clf.partial_fit(self.X, self.y, classes=self.classes)

    def grid(self) -> None:
        self.clf.predict_proba(self.grid_X)


# -- timing --------------------------------------------------------------------------------------------------

def calibrate(fn, target_s: float) -> int:
    """How many calls of ``fn`` (one epoch or one grid) take about ``target_s``."""
    fn(1)  # warm-up (buffers, caches, lazy initialisation)
    k = 1
    while True:
        t0 = time.perf_counter()
        fn(k)
        dt = time.perf_counter() - t0
        if dt >= target_s / 4 or k >= 1 << 16:
            return max(1, round(k * target_s / dt))
        k *= 2


def measure(runners, kind: str, repeats: int, target_s: float) -> dict:
    """Rates (calls per second) per runner name: a list with one entry per repeat."""
    def caller(r):
        if kind == "epochs":
            return r.epochs
        return lambda k: [r.grid() for _ in range(k)]
    calls = {r.name: calibrate(caller(r), target_s) for r in runners}
    rates = {r.name: [] for r in runners}
    for rep in range(repeats):
        order = runners if rep % 2 == 0 else runners[::-1]   # alternate so drift hits everyone alike
        for r in order:
            k = calls[r.name]
            fn = caller(r)
            t0 = time.perf_counter()
            fn(k)
            rates[r.name].append(k / (time.perf_counter() - t0))
    return rates


def spread(values) -> float:
    """(max - min) / median, as a percentage: how noisy the repeats were."""
    med = statistics.median(values)
    return 100.0 * (max(values) - min(values)) / med


def machine_info() -> str:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('threading_layer', '')})"
                     for i in threadpool_info() if i.get("user_api") == "blas")
    lines = [f"python {platform.python_version()}, {os.cpu_count()} CPUs ({cpu}), load avg "
             f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}",
             f"numpy {np.__version__} (BLAS: {blas or 'unknown'})"]
    if torch is not None:
        mkl = "MKL" if torch.backends.mkl.is_available() else "no MKL"
        lines.append(f"torch {torch.__version__} ({mkl}, {torch.get_num_threads()} thread(s), float32)")
    else:
        lines.append("torch: not installed (skipped)")
    lines.append(f"scikit-learn {sklearn.__version__}" if MLPClassifier else "scikit-learn: not installed (skipped)")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer and shorter repeats")
    ap.add_argument("--repeats", type=int, help="repeats per engine (default 15, quick 5)")
    ap.add_argument("--seconds", type=float, help="target seconds per timed run (default 0.25, quick 0.15)")
    ap.add_argument("--only", help="comma-separated workloads to run, e.g. W1,W4")
    ap.add_argument("--no-compare", action="store_true", help="run nnviz alone")
    ap.add_argument("--test-ratio", type=float, default=1.0,
                    help="test points per training point in nnviz's data (default 1, the app's 50%% split)")
    args = ap.parse_args(argv)
    # many short interleaved runs: on a shared machine the load changes within seconds
    repeats = args.repeats or (5 if args.quick else 15)
    seconds = args.seconds or (0.15 if args.quick else 0.25)
    only = set(args.only.upper().split(",")) if args.only else {"W1", "W2", "W3", "W4"}

    limit_blas_threads(1)
    limiter = threadpool_limits(limits=1)  # noqa: F841 - every BLAS in the process, torch's included
    engines = [NnvizRunner]
    if not args.no_compare:
        if torch is not None:
            torch.set_num_threads(1)
            engines.append(TorchRunner)
        if MLPClassifier is not None:
            engines.append(SklearnRunner)

    print(machine_info())
    print(f"{repeats} repeats of ~{seconds:g} s per engine, interleaved; figures are medians "
          f"(spread = (max - min) / median).")
    print("nnviz epochs include its per-epoch record (train+test loss and error, gradient norms, weight stats);\n"
          "torch and sklearn epochs are training only (on the same training points). nnviz's data also has\n"
          f"{args.test_ratio:g} test point(s) per training point, evaluated in every record.\n")

    results = {}
    todo = [w for w in ("W1", "W2", "W3") if w in only]
    if "W4" in only and "W3" not in todo:
        todo.append("W3")  # W4 evaluates W3's network
    for wid in sorted(todo):
        w = WORKLOADS[wid]
        points = spiral(w["n_train"], args.test_ratio)
        runners = [E(w, points) for E in engines]
        if wid in only:
            results[wid] = ("epochs/s", w["label"], measure(runners, "epochs", repeats, seconds))
            report(wid, *results[wid])
        if wid == "W3" and "W4" in only:
            results["W4"] = ("grids/s", f"{GRID}x{GRID} boundary of W3's net", measure(runners, "grid", repeats, seconds))
            report("W4", *results["W4"])
    print_table(results)
    return 0


def report(wid, unit, label, rates) -> None:
    parts = [f"{name:8} {statistics.median(r):9.1f} {unit} (spread {spread(r):3.0f}%)" for name, r in rates.items()]
    print(f"{wid} [{label}]\n    " + "\n    ".join(parts), flush=True)


def paired_ratio(rates, other: str) -> float:
    """Median over repeats of nnviz's rate / the other engine's rate in the same repeat."""
    return statistics.median(a / b for a, b in zip(rates["nnviz"], rates[other]))


def print_table(results) -> None:
    print("\nsummary: medians over repeats; ratios are medians of the per-repeat (paired) ratios")
    print(f"{'':4} {'unit':9} {'nnviz':>9} {'torch':>9} {'sklearn':>9} {'nnviz/torch':>12} {'nnviz/sklearn':>14}"
          f" {'target':>8}")
    for wid, (unit, _, rates) in sorted(results.items()):
        med = {k: statistics.median(v) for k, v in rates.items()}

        def fmt(name):
            return f"{med[name]:9.1f}" if name in med else f"{'-':>9}"

        def ratio(name):
            return f"{paired_ratio(rates, name):.2f}x" if name in rates else "-"
        print(f"{wid:4} {unit:9} {fmt('nnviz')} {fmt('torch')} {fmt('sklearn')} {ratio('torch'):>12} "
              f"{ratio('sklearn'):>14} {TARGETS[wid]:>7.1f}x")


if __name__ == "__main__":
    sys.exit(main())
