"""Engine speed: nnviz against a hand-written NumPy loop, PyTorch and scikit-learn on the same workloads.

    python benchmarks/bench_engine.py            # full run (about a minute)
    python benchmarks/bench_engine.py --quick    # fewer, shorter repeats (about 20 s)

Workloads (two-class spiral data; nnviz's data also has as many test points as training points, as the
app's default 50 % split does; --test-ratio changes that):
  W1  TensorFlow Playground's heavy case: 250 training points, 6 hidden layers of 8 tanh, batch 10, SGD lr 0.03
  W2  500 training points, 2 x 16 ReLU, full batch, SGD lr 0.03
  W3  5,000 training points, 4 x 64 ReLU, Adam lr 1e-3, batch 64
  W4  a 200 x 200 decision-boundary grid evaluated by W3's network (grids per second)

nnviz epochs are ``Trainer.train()`` exactly as the app runs them: the mini-batch steps *plus* the record
(every epoch: the mean batch loss and a history row; on the epochs the trainer's record schedule evaluates,
train and test loss and error after the epoch, per-layer gradient norms and mean |g|, weight norms and
sparsity); "nnviz32" is the same with ``architecture.dtype = "float32"``. "numpy64" and
"numpy32" are a plain hand-written NumPy training loop (in this file) in float64 and float32. The NumPy
loops, PyTorch and scikit-learn only train. Every engine runs with one BLAS thread.
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


class Nnviz32Runner(NnvizRunner):
    name = "nnviz32"

    def __init__(self, w, points):
        c = nnviz_config(w)
        c.architecture.dtype = "float32"
        self.trainer = Trainer(c, points)


class NumpyRunner:
    """A hand-written NumPy MLP training loop, the way one writes it carefully without an engine around it:
    shuffled mini-batches, ``@`` products, in-place activations, BCE from logits, SGD or Adam with torch's
    formulas. No per-epoch record. Glorot-uniform or He-normal initial weights, zero biases."""
    name = "numpy64"
    dtype = np.float64

    def __init__(self, w, points):
        xy, t = train_arrays(points)
        dt = self.dtype
        self.X, self.y = xy.astype(dt), t.reshape(-1, 1).astype(dt)
        self.rng = np.random.default_rng(0)
        sizes = [2, *w["hidden"], 1]
        self.W, self.b = [], []
        for a, b in zip(sizes[:-1], sizes[1:]):
            if w["init"] == "he":
                W = self.rng.standard_normal((a, b)) * math.sqrt(2.0 / a)
            else:
                bound = math.sqrt(6.0 / (a + b))
                W = self.rng.uniform(-bound, bound, (a, b))
            self.W.append(W.astype(dt))
            self.b.append(np.zeros(b, dt))
        self.params = self.W + self.b
        self.tanh = w["activation"] == "tanh"
        self.lr, self.adam = w["lr"], w["optimizer"] == "adam"
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0
        self.batch = w["batch"] or len(self.X)
        gx, gy = np.meshgrid(np.linspace(EXTENT[0], EXTENT[1], GRID), np.linspace(EXTENT[2], EXTENT[3], GRID))
        self.grid_X = np.column_stack([gx.ravel(), gy.ravel()]).astype(dt)

    def forward(self, X):
        hs = [X]
        h = X
        for W, b in zip(self.W[:-1], self.b[:-1]):
            h = h @ W
            h += b
            if self.tanh:
                np.tanh(h, out=h)
            else:
                np.maximum(h, 0, out=h)
            hs.append(h)
        z = h @ self.W[-1]
        z += self.b[-1]
        return hs, z

    def step(self, X, y):
        hs, z = self.forward(X)
        d = 1.0 / (1.0 + np.exp(-z))        # dBCE/dz = sigmoid(z) - y, mean over the batch
        d -= y
        d /= len(X)
        gW, gb = [None] * len(self.W), [None] * len(self.W)
        for i in range(len(self.W) - 1, -1, -1):
            gW[i] = hs[i].T @ d
            gb[i] = d.sum(axis=0)
            if i:
                d = d @ self.W[i].T
                h = hs[i]
                if self.tanh:
                    d *= 1.0 - h * h
                else:
                    d *= h > 0
        grads = gW + gb
        if not self.adam:
            for p, g in zip(self.params, grads):
                g *= self.lr
                p -= g
            return
        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        c1, c2 = 1.0 - b1 ** self.t, math.sqrt(1.0 - b2 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * g * g
            p -= (self.lr / c1) * m / (np.sqrt(v) / c2 + eps)

    def epochs(self, k: int) -> None:
        X, y, n, bs = self.X, self.y, len(self.X), self.batch
        with np.errstate(over="ignore"):
            for _ in range(k):
                if bs >= n:
                    self.step(X, y)
                    continue
                order = self.rng.permutation(n)
                Xs, ys = X[order], y[order]
                for i in range(0, n, bs):
                    self.step(Xs[i:i + bs], ys[i:i + bs])

    def grid(self) -> None:
        with np.errstate(over="ignore"):
            _, z = self.forward(self.grid_X)
            1.0 / (1.0 + np.exp(-z))


class Numpy32Runner(NumpyRunner):
    name = "numpy32"
    dtype = np.float32


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
    ap.add_argument("--engines", help="comma-separated engines to run (default all available: "
                    "nnviz,nnviz32,numpy64,numpy32,torch,sklearn)")
    ap.add_argument("--test-ratio", type=float, default=1.0,
                    help="test points per training point in nnviz's data (default 1, the app's 50%% split)")
    ap.add_argument("--record-check", action="store_true",
                    help="instead: for a range of networks, the measured cost of an evaluated epoch's record against "
                         "the training epoch, next to the trainer's cost model and the record interval it picks")
    ap.add_argument("--flush-check", type=int, metavar="EPOCHS", nargs="?", const=150,
                    help="instead: W3 after EPOCHS (default 150) epochs, with and without the per-epoch flush of "
                         "subnormal optimiser state, timed interleaved; checks the histories are identical")
    args = ap.parse_args(argv)
    # many short interleaved runs: on a shared machine the load changes within seconds
    repeats = args.repeats or (5 if args.quick else 15)
    seconds = args.seconds or (0.15 if args.quick else 0.25)
    only = set(args.only.upper().split(",")) if args.only else {"W1", "W2", "W3", "W4"}

    limit_blas_threads(1)
    limiter = threadpool_limits(limits=1)  # noqa: F841 - every BLAS in the process, torch's included
    engines = [NnvizRunner]
    if not args.no_compare:
        engines += [Nnviz32Runner, NumpyRunner, Numpy32Runner]
        if torch is not None:
            torch.set_num_threads(1)
            engines.append(TorchRunner)
        if MLPClassifier is not None:
            engines.append(SklearnRunner)
    if args.engines:
        wanted = set(args.engines.split(",")) | {"nnviz"}
        engines = [E for E in engines if E.name in wanted]

    print(machine_info())
    if args.record_check:
        return record_check(repeats, seconds)
    if args.flush_check:
        return flush_check(args.flush_check, repeats, seconds)
    print(f"{repeats} repeats of ~{seconds:g} s per engine, interleaved; figures are medians "
          f"(spread = (max - min) / median).")
    print("nnviz epochs include its record (mean batch loss every epoch; train+test loss and error, gradient norms,\n"
          "weight stats on the epochs its record schedule evaluates); numpy, torch and sklearn epochs are training\n"
          "only (on the same training points). nnviz's data also has "
          f"{args.test_ratio:g} test point(s) per training point.\n")

    results = {}
    todo = [w for w in ("W1", "W2", "W3") if w in only]
    if "W4" in only and "W3" not in todo:
        todo.append("W3")  # W4 evaluates W3's network
    for wid in sorted(todo):
        w = WORKLOADS[wid]
        points = spiral(w["n_train"], args.test_ratio)
        runners = [E(w, points) for E in engines]
        if hasattr(runners[0].trainer, "record_interval"):
            print(f"{wid}: nnviz evaluates every {runners[0].trainer.record_interval()} epoch(s)")
        if wid in only:
            results[wid] = ("epochs/s", w["label"], measure(runners, "epochs", repeats, seconds))
            report(wid, *results[wid])
        if wid == "W3" and "W4" in only:
            results["W4"] = ("grids/s", f"{GRID}x{GRID} boundary of W3's net", measure(runners, "grid", repeats, seconds))
            report("W4", *results["W4"])
    print_table(results)
    return 0


def flush_check(warm: int, repeats: int, seconds: float) -> int:
    """W3 late in training (dead ReLU units leave Adam moments that decay into subnormal floats), with the
    engine's once-per-epoch flush and with it disabled: speed and whether anything changed."""
    w = WORKLOADS["W3"]
    points = spiral(w["n_train"])
    flushed, plain = NnvizRunner(w, points), NnvizRunner(w, points)
    plain.name = "no flush"
    plain.trainer.optimizer.flush_subnormals = lambda: None
    print(f"W3 [{w['label']}]: {warm} warm-up epochs each, then {repeats} interleaved repeats of ~{seconds:g} s")
    flushed.epochs(warm)
    plain.epochs(warm)
    t0 = time.perf_counter()
    flushed.epochs(2)
    plain.epochs(2)
    k = max(1, round(seconds / ((time.perf_counter() - t0) / 4)))
    rates = {"flush": [], "no flush": []}
    for rep in range(repeats):
        pair = [("flush", flushed), ("no flush", plain)]
        for name, r in (pair if rep % 2 == 0 else pair[::-1]):
            t0 = time.perf_counter()
            r.epochs(k)
            rates[name].append(k / (time.perf_counter() - t0))
    a, b = flushed.trainer, plain.trainer
    same = all(np.array_equal(a.history[c], b.history[c], equal_nan=True) for c in
               ("train_loss", "test_loss", "grad_norm", "grad_mean_abs", "weight_norm", "near_zero"))
    same = same and np.array_equal(a.network.params, b.network.params)
    sub = [int(((x != 0) & (np.abs(x) < np.finfo(x.dtype).tiny)).sum()) for x in (b.optimizer.m, b.optimizer.v)]
    print(f"    flush    {statistics.median(rates['flush']):7.1f} epochs/s\n"
          f"    no flush {statistics.median(rates['no flush']):7.1f} epochs/s  (subnormal Adam m, v entries: {sub})\n"
          f"    flush / no flush (paired median): {paired(rates, 'flush', 'no flush'):.2f}x; "
          f"identical weights and history after {a.epoch} epochs: {same}")
    return 0 if same else 1


# networks for --record-check: (label, points, train fraction, config changes); the W workloads, the
# lessons' kinds of network and a few extremes
RECORD_CASES = [
    ("W1", 500, 0.5, dict(hidden_layers=[8] * 6, activation="tanh", batch_size=10)),
    ("W2", 1000, 0.5, dict(hidden_layers=[16, 16], activation="relu", batch_size=0)),
    ("W3", 10000, 0.5, dict(hidden_layers=[64] * 4, activation="relu", init="he", optimizer="adam", lr=1e-3,
                            batch_size=64)),
    ("default 4-2 tanh b10", 500, 0.5, dict(hidden_layers=[4, 2], activation="tanh", batch_size=10)),
    ("linear b10", 500, 0.5, dict(hidden_layers=[], batch_size=10)),
    ("8x8 sigmoid b10", 500, 0.5, dict(hidden_layers=[8] * 8, activation="sigmoid", batch_size=10)),
    ("3x32 tanh full, 80 pts", 80, 0.5, dict(hidden_layers=[32] * 3, activation="tanh", optimizer="adam",
                                             lr=0.01, batch_size=0)),
    ("3x32 tanh full, dropout", 80, 0.5, dict(hidden_layers=[32] * 3, activation="tanh", optimizer="adam",
                                              lr=0.01, batch_size=0, dropout=0.5)),
    ("8-8 relu full, 200 pts 20%", 200, 0.2, dict(hidden_layers=[8, 8], activation="relu", optimizer="adam",
                                                  lr=0.03, batch_size=0)),
    ("2x16 full, 5000 pts", 10000, 0.5, dict(hidden_layers=[16, 16], activation="relu", batch_size=0)),
    ("2x16 b100, 5000 pts", 10000, 0.5, dict(hidden_layers=[16, 16], activation="relu", batch_size=100)),
    ("4x64 full, 500 pts", 1000, 0.5, dict(hidden_layers=[64] * 4, activation="relu", batch_size=0)),
    ("4x256 b10", 500, 0.5, dict(hidden_layers=[256] * 4, activation="relu", batch_size=10)),
    ("1 unit full, 20 pts", 40, 0.5, dict(hidden_layers=[1], activation="tanh", batch_size=0)),
]


def record_case_trainer(points: int, fraction: float, ch: dict):
    from nnviz.data.generators import generate
    c = ExperimentConfig()
    c.architecture.hidden_layers = list(ch["hidden_layers"])
    c.architecture.activation = ch.get("activation", "tanh")
    c.architecture.init = ch.get("init", "glorot")
    c.optimizer.name = ch.get("optimizer", "sgd")
    c.optimizer.learning_rate = ch.get("lr", 0.03)
    c.optimizer.batch_size = ch["batch_size"]
    c.regularization.dropout = ch.get("dropout", 0.0)
    pts = generate("spiral", n=points, noise=0.0, train_fraction=fraction, seed=0)
    return Trainer(c.validate(), pts)


def record_check(repeats: int, seconds: float) -> int:
    """Per case, in CPU microseconds of this thread (robust to other load; interleaved repeats, medians): an
    epoch of training alone ("bare": no batch loss, no history row, no evaluation), what every epoch adds
    ("row": mean batch loss, checks, history row), what an evaluation adds ("eval"), the cost model's
    evaluation/training ratio and the interval it picks, and the record's resulting share of the training
    time, (row + eval / k) / bare."""
    print(f"{'case':28} {'bare us':>8} {'row us':>7} {'eval us':>8} {'row/bare':>8} {'model':>6} {'eval/bare':>9}"
          f" {'model':>6} {'k':>3} {'share':>6}")
    shares = []
    for label, points, fraction, ch in RECORD_CASES:
        t = record_case_trainer(points, fraction, ch)
        t.train(3)
        k = t.record_interval()
        model_train, model_row, model_record = t.epoch_costs()
        t._interval = 10 ** 9                      # from here on, evaluated only when asked
        bare = record_case_trainer(points, fraction, ch)
        bare.train(3)
        bare._interval = 10 ** 9
        bare._batch_loss = lambda *a: 0.0
        bare.history.append = lambda *a: None
        kinds = {"bare": lambda: bare.step_epoch(), "row": lambda: t.step_epoch(),
                 "eval": lambda: t.step_epoch(evaluate=True)}
        t0 = time.thread_time()
        t.step_epoch()
        per = max(1, round(seconds / 4 / max(time.thread_time() - t0, 1e-6)))
        times = {name: [] for name in kinds}
        for rep in range(repeats):
            for name, fn in (list(kinds.items()) if rep % 2 == 0 else list(kinds.items())[::-1]):
                t0 = time.thread_time()
                for _ in range(per):
                    fn()
                times[name].append((time.thread_time() - t0) / per * 1e6)
        tb, tr, te = (statistics.median(times[n]) for n in ("bare", "row", "eval"))
        row, ev = max(tr - tb, 0.0), max(te - tr, 0.0)
        share = (row + ev / k) / tb
        shares.append(share)
        print(f"{label:28} {tb:8.1f} {row:7.1f} {ev:8.1f} {row / tb:8.2f} {model_row / model_train:6.2f}"
              f" {ev / tb:9.2f} {model_record / model_train:6.2f} {k:3d} {100 * share:5.1f}%", flush=True)
    print(f"record share: median {100 * statistics.median(shares):.1f}%, largest {100 * max(shares):.1f}%")
    return 0


def report(wid, unit, label, rates) -> None:
    parts = [f"{name:8} {statistics.median(r):9.1f} {unit} (spread {spread(r):3.0f}%)" for name, r in rates.items()]
    print(f"{wid} [{label}]\n    " + "\n    ".join(parts), flush=True)


ENGINES = ("nnviz", "nnviz32", "numpy64", "numpy32", "torch", "sklearn")
RATIOS = (("nnviz", "numpy64"), ("nnviz32", "numpy32"), ("nnviz", "torch"), ("nnviz32", "torch"),
          ("nnviz", "sklearn"))


def paired(rates, a: str, b: str) -> float:
    return statistics.median(x / y for x, y in zip(rates[a], rates[b]))


def print_table(results) -> None:
    print("\nsummary: medians over repeats; ratios are medians of the per-repeat (paired) ratios")
    print(f"{'':4} {'unit':9}" + "".join(f" {e:>8}" for e in ENGINES)
          + "".join(f" {a + '/' + b:>15}" for a, b in RATIOS) + f" {'target/torch':>13}")
    for wid, (unit, _, rates) in sorted(results.items()):
        med = {k: statistics.median(v) for k, v in rates.items()}
        cells = "".join(f" {med[e]:8.1f}" if e in med else f" {'-':>8}" for e in ENGINES)
        ratios = "".join(f" {paired(rates, a, b):14.2f}x" if a in rates and b in rates else f" {'-':>15}"
                         for a, b in RATIOS)
        print(f"{wid:4} {unit:9}{cells}{ratios} {TARGETS[wid]:>12.1f}x")


if __name__ == "__main__":
    sys.exit(main())
