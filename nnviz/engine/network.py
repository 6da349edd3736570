"""A multi-layer perceptron for 2-D inputs, with all parameters in one flat buffer.

Layout of ``params`` (and of ``grad``): every layer's weights W_i (fan_in x fan_out, row-major),
input side first, then every layer's bias b_i. ``W[i]``/``b[i]`` are views into it, so optimisers and
per-layer statistics work on one array, and per-layer sums are a single ``np.add.reduceat``.

Speed: the networks are small, so a training step is dominated by the fixed cost of each NumPy call,
not by arithmetic. Every step writes into buffers kept per batch size; products use ``ndarray.dot``
(less dispatch than ``np.dot`` or ``np.matmul``); bias gradients are ``ones @ delta`` (one BLAS call
instead of a reduction); constant operands (zeros for ReLU, ones, bias rows) are full arrays of the
operand's shape, which keeps NumPy on its fast same-shape loops. Evaluation over many rows runs in row
blocks whose activations stay in the CPU cache.
"""
from __future__ import annotations

import numpy as np

from .functions import ACTIVATIONS, DERIVATIVE_FACTORS, LOSS_GRADIENTS, LOSSES, softmax
from .functions import _sigmoid as sigmoid

INITS = ("glorot", "he", "uniform")
BLOCK_BYTES = 256 * 1024   # one row block's activations: about a core's L2 cache share


def block_rows(widths, itemsize: int) -> int:
    """Rows per evaluation block so that the widest layer's block fits in BLOCK_BYTES."""
    return int(min(8192, max(64, BLOCK_BYTES // (itemsize * max(widths)))))


class BlockBuffers:
    """Scratch for evaluating ``rows`` rows at a time: activations, bias tiles, constant zeros and ones.

    A bias tile (the bias repeated on every row) and a zeros block keep the per-block additions and
    ReLUs on NumPy's fast same-shape loops; they are filled once per pass and reused by every block.
    """

    def __init__(self, rows: int, widths, dtype):
        self.rows, self.widths, self.dtype = rows, list(widths), np.dtype(dtype)
        self.acts = [np.empty((rows, k), dtype) for k in widths[:-1]]
        self.tiles = [np.empty((rows, k), dtype) for k in widths]
        constants = {k: (np.zeros((rows, k), dtype), np.ones((rows, k), dtype)) for k in set(widths[:-1])}
        self.zeros = [constants[k][0] for k in widths[:-1]]
        self.ones = [constants[k][1] for k in widths[:-1]]

    def fits(self, rows: int, widths, dtype) -> bool:
        return self.rows == rows and self.widths == list(widths) and self.dtype == np.dtype(dtype)


def forward_blocks(X, Ws, bs, activations, out, blocks: BlockBuffers) -> np.ndarray:
    """Evaluation-mode forward pass of ``X`` into ``out`` (N x outputs), ``blocks.rows`` rows at a time.

    Works for any float dtype as long as ``Ws``, ``bs``, ``out`` and ``blocks`` agree.
    """
    n = len(X)
    last = len(Ws) - 1
    block = max(1, blocks.rows)
    add = np.add
    tiled = n > block                      # with one block, broadcasting the bias is cheaper than tiling
    if tiled:
        for tile, b in zip(blocks.tiles, bs):
            np.copyto(tile, b)
    for start in range(0, n, block):
        h = X[start:start + block]
        m = len(h)
        for i in range(last):
            z = blocks.acts[i][:m]
            h.dot(Ws[i], out=z)
            add(z, blocks.tiles[i][:m] if tiled else bs[i], out=z)
            activations[i](z, z, blocks.zeros[i][:m], blocks.ones[i][:m])
            h = z
        z = out[start:start + m]
        h.dot(Ws[last], out=z)
        add(z, blocks.tiles[last][:m] if tiled else bs[last], out=z)
    return out


TILE_LIMIT = 4096   # bias tiles for batches up to this many (rows x biases) entries: tiny steps only
# Memory bound of one training step: a batch whose buffers would need more than this runs in row chunks
# whose gradients are summed (the same gradient, up to rounding). 64 MiB keeps a 16 x 512 net at about
# 145 rows per chunk, where matrix products already run at full speed; small nets never reach it.
TRAIN_BUDGET_BYTES = 64 * 1024 * 1024
BUFFERS_PER_HIDDEN_UNIT = 7   # activations, factors, ones, zeros, dropped, masks, deltas (see _BatchBuffers)


def train_row_limit(sizes, itemsize: int = 8, budget: int | None = None) -> int:
    """Most rows one training forward/backward pass may take at once within the memory budget."""
    budget = TRAIN_BUDGET_BYTES if budget is None else budget
    per_row = itemsize * (BUFFERS_PER_HIDDEN_UNIT * sum(sizes[1:-1]) + 2 * sizes[-1] + 1)
    return max(1, budget // per_row)


class _BatchBuffers:
    """Everything one training step on a batch of ``n`` rows writes to."""
    __slots__ = ("hidden", "factors_flat", "ones_flat", "acts", "factors", "zeros", "ones", "dropped", "masks",
                 "deltas", "ones_column", "tile_index", "tile_flat", "tiles")

    def __init__(self, n: int, sizes: list[int], dtype=np.float64):
        hidden = sizes[1:-1]
        # hidden activations (and their derivative factors) share one buffer, layer after layer, so one
        # call can turn all activations into derivative factors
        self.hidden = np.empty(n * sum(hidden), dtype)
        self.factors_flat = np.empty_like(self.hidden)
        self.ones_flat = np.ones_like(self.hidden)
        self.acts = _split(self.hidden, n, hidden) + [np.empty((n, sizes[-1]), dtype)]   # post-activation, logits
        self.factors = _split(self.factors_flat, n, hidden)
        self.ones = _split(self.ones_flat, n, hidden)
        self.zeros = _split(np.zeros_like(self.hidden), n, hidden)
        self.dropped = [np.empty((n, s), dtype) for s in hidden]   # post-dropout copies
        self.masks = [np.empty((n, s), dtype) for s in hidden]     # keep-mask / (1 - p)
        self.deltas = [np.empty((n, s), dtype) for s in sizes[1:]]
        self.ones_column = np.ones(n, dtype)                       # bias gradient = ones @ delta
        # On tiny batches, adding a broadcast bias row costs about three same-shape additions. One gather
        # then lays every layer's bias out on every row ("tiles"), and each layer adds its tile.
        self.tile_index = self.tile_flat = self.tiles = None
        widths = sizes[1:]
        if n * sum(widths) <= TILE_LIMIT:
            offsets = np.cumsum([0] + widths[:-1])
            self.tile_index = np.concatenate([np.tile(np.arange(o, o + k), n) for o, k in zip(offsets, widths)])
            self.tile_flat = np.empty(len(self.tile_index), dtype)
            self.tiles = _split(self.tile_flat, n, widths)


def _split(flat, n, widths):
    views, pos = [], 0
    for w in widths:
        views.append(flat[pos:pos + n * w].reshape(n, w))
        pos += n * w
    return views


class Network:
    def __init__(self, sizes: list[int], activations: list[str], head: str, dtype=np.float64):
        """``sizes`` = [inputs, *hidden, outputs]; ``head`` is 'binary', 'softmax' or 'regression'.

        ``dtype`` (float64 or float32) is the precision of the parameters and of every training buffer.
        """
        if len(activations) != len(sizes) - 2:
            raise ValueError("one activation per hidden layer")
        self.sizes = list(sizes)
        self.activations = list(activations)
        self.head = head
        self.dtype = np.dtype(dtype)
        self._act = [ACTIVATIONS[a] for a in activations]
        self._factor = [DERIVATIVE_FACTORS[a] for a in activations]
        uniform = len(set(activations)) == 1
        self._all_factors = self._factor[0] if uniform else None   # one call for every hidden layer
        self._loss_grad = LOSS_GRADIENTS[head]
        shapes = list(zip(sizes[:-1], sizes[1:]))
        self.n_weights = sum(a * b for a, b in shapes)
        self.n_params = self.n_weights + sum(sizes[1:])
        self.params = np.zeros(self.n_params, self.dtype)
        self.grad = np.zeros(self.n_params, self.dtype)
        self.W, self.b = self._views(self.params, shapes)
        self.gW, self.gb = self._views(self.grad, shapes)
        self._WT = [W.T for W in self.W]
        self._bias_segment = self.params[self.n_weights:]
        # start offset of each layer's weights inside the weight segment: per-layer reductions
        self.layer_offsets = np.cumsum([0] + [a * b for a, b in shapes[:-1]])
        self.layer_counts = np.array([a * b for a, b in shapes])
        self._buffers: dict[int, _BatchBuffers] = {}
        self._blocks: BlockBuffers | None = None
        # rows one training pass may take (the trainer splits bigger batches into chunks of at most this)
        self.row_limit = train_row_limit(self.sizes, self.dtype.itemsize)
        self.forward_calls = 0   # lets a caller tell whether the batch buffers still hold its forward pass

    @staticmethod
    def _views(flat, shapes):
        Ws, bs, pos = [], [], 0
        for a, b in shapes:
            Ws.append(flat[pos:pos + a * b].reshape(a, b))
            pos += a * b
        for _, b in shapes:
            bs.append(flat[pos:pos + b])
            pos += b
        return Ws, bs

    @property
    def n_layers(self) -> int:
        return len(self.W)

    @property
    def weights_segment(self) -> np.ndarray:
        return self.params[: self.n_weights]

    # -- initialisation ----------------------------------------------------------------------------
    def initialize(self, method: str, rng: np.random.Generator) -> None:
        for W, b in zip(self.W, self.b):
            fan_in, fan_out = W.shape
            if method == "glorot":
                bound = np.sqrt(6.0 / (fan_in + fan_out))
                W[...] = rng.uniform(-bound, bound, W.shape)
                b[...] = 0.0
            elif method == "he":
                W[...] = rng.standard_normal(W.shape) * np.sqrt(2.0 / fan_in)
                b[...] = 0.0
            elif method == "uniform":
                # TensorFlow Playground's choice: small uniform weights, biases 0.1
                W[...] = rng.uniform(-0.5, 0.5, W.shape)
                b[...] = 0.1
            else:
                raise ValueError(f"unknown initialisation {method!r}")

    def get_weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(W.copy(), b.copy()) for W, b in zip(self.W, self.b)]

    def set_weights(self, weights) -> None:
        if len(weights) != self.n_layers:
            raise ValueError(f"expected {self.n_layers} layers of weights, got {len(weights)}")
        for i, ((W, b), (W0, b0)) in enumerate(zip(weights, zip(self.W, self.b))):
            W, b = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64).reshape(-1)   # then cast
            if W.shape != W0.shape or b.shape != b0.shape:
                raise ValueError(f"layer {i}: expected W {W0.shape} and b {b0.shape}, got {W.shape} and {b.shape}")
            W0[...] = W
            b0[...] = b

    # -- buffers -------------------------------------------------------------------------------------
    def _batch_buffers(self, n: int) -> _BatchBuffers:
        """Activation and delta buffers for a batch of ``n`` rows, reused across steps."""
        buf = self._buffers.get(n)
        if buf is None:
            if len(self._buffers) > 8:
                self._buffers.clear()
            buf = self._buffers[n] = _BatchBuffers(n, self.sizes, self.dtype)
        return buf

    # -- forward / backward --------------------------------------------------------------------------
    def forward(self, X: np.ndarray, dropout=None, rng=None, masks=None):
        """Logits for ``X``. With ``dropout`` rates (per hidden layer) applies inverted dropout.

        Returns (layer inputs, logits): layer_inputs[i] is what layer i saw (needed by backward).
        ``masks``, if a list, receives each hidden layer's keep-mask (bool) or None.
        The returned arrays are buffers reused by the next call with the same number of rows.
        """
        # ndarray.dot skips np.dot's dispatch layer: a third of the cost of a small product
        if type(X) is not np.ndarray or X.dtype != self.dtype:
            X = np.asarray(X, dtype=self.dtype)
        self.forward_calls += 1
        buf = self._batch_buffers(len(X))
        acts, zeros, ones = buf.acts, buf.zeros, buf.ones
        W, act, add = self.W, self._act, np.add
        if buf.tiles is not None:
            self._bias_segment.take(buf.tile_index, out=buf.tile_flat)
            b = buf.tiles
        else:
            b = self.b
        inputs = [X]
        h = X
        last = len(W) - 1
        for i in range(last):
            z = acts[i]
            h.dot(W[i], out=z)
            add(z, b[i], out=z)
            act[i](z, z, zeros[i], ones[i])
            h = z
            if dropout is not None and dropout[i] > 0.0:
                # inverted dropout: survivors are scaled by 1/(1-p) now, so evaluation is the identity
                p = dropout[i]
                keep = rng.random(z.shape) >= p
                m = buf.masks[i]
                np.multiply(keep, 1.0 / (1.0 - p), out=m)
                h = np.multiply(z, m, out=buf.dropped[i])
                if masks is not None:
                    masks.append(keep)
            elif masks is not None:
                masks.append(None)
            inputs.append(h)
        z = acts[last]
        h.dot(W[last], out=z)
        add(z, b[last], out=z)
        return inputs, z

    def loss(self, logits, y) -> float:
        return LOSSES[self.head](logits, y)

    def backward(self, inputs, logits, y, dropout=None, batch_rows=None) -> None:
        """Fill ``self.grad`` with the data-loss gradient for the batch whose forward pass gave these.

        ``batch_rows``: when these rows are a chunk of a bigger batch, that batch's row count (the loss is
        the batch's mean, so the chunks' gradients add up to the batch's gradient).
        """
        buf = self._batch_buffers(len(logits))
        deltas, factors, ones = buf.deltas, buf.factors, buf.ones_column
        gW, gb, WT, factor = self.gW, self.gb, self._WT, self._factor
        if self._all_factors is not None:
            self._all_factors(buf.hidden, buf.factors_flat, buf.ones_flat)
        else:
            for i, f in enumerate(factor):
                if f is not None:
                    f(buf.acts[i], factors[i], buf.ones[i])
        delta = self._loss_grad(logits, y, deltas[-1], batch_rows)
        for i in range(len(WT) - 1, 0, -1):
            inputs[i].T.dot(delta, out=gW[i])
            ones.dot(delta, out=gb[i])
            prev = deltas[i - 1]
            delta.dot(WT[i], out=prev)
            if dropout is not None and dropout[i - 1] > 0.0:
                prev *= buf.masks[i - 1]
            if factor[i - 1] is not None:
                prev *= factors[i - 1]
            delta = prev
        inputs[0].T.dot(delta, out=gW[0])
        ones.dot(delta, out=gb[0])

    # -- prediction ----------------------------------------------------------------------------------
    def output(self, logits: np.ndarray) -> np.ndarray:
        """Probabilities (binary: P(class 1), shape (N,); softmax: (N, K)) or values (regression)."""
        if self.head == "binary":
            return sigmoid(logits[:, 0], np.empty(len(logits), logits.dtype))
        if self.head == "softmax":
            return softmax(logits, np.empty_like(logits))
        return logits[:, 0].copy()

    def evaluate(self, X: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Evaluation-mode logits of ``X`` written into ``out`` (the trainer's per-epoch path); both in the
        network's dtype."""
        dtype = self.dtype
        rows = max(1, min(len(X), block_rows(self.sizes[1:], dtype.itemsize)))
        if self._blocks is None or not self._blocks.fits(rows, self.sizes[1:], dtype):
            self._blocks = BlockBuffers(rows, self.sizes[1:], dtype)
        return forward_blocks(X, self.W, self.b, self._act, out, self._blocks)

    def predict_logits(self, X: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Evaluation-mode forward pass (no dropout) that allocates its own buffers."""
        X = np.ascontiguousarray(X, dtype=dtype)
        rows = max(1, min(len(X), block_rows(self.sizes[1:], np.dtype(dtype).itemsize)))
        Ws = [W.astype(dtype, copy=False) for W in self.W]
        bs = [b.astype(dtype, copy=False) for b in self.b]
        out = np.empty((len(X), self.sizes[-1]), dtype)
        return forward_blocks(X, Ws, bs, self._act, out, BlockBuffers(rows, self.sizes[1:], dtype))
