"""A multi-layer perceptron for 2-D inputs, with all parameters in one flat buffer.

Layout of ``params`` (and of ``grad``): every layer's weights W_i (fan_in x fan_out, row-major),
input side first, then every layer's bias b_i. ``W[i]``/``b[i]`` are views into it, so optimisers and
per-layer statistics work on one array, and per-layer sums are a single ``np.add.reduceat``.
"""
from __future__ import annotations

import numpy as np

from .functions import ACTIVATIONS, DERIVATIVES, LOSS_GRADIENTS, LOSSES, softmax
from .functions import _sigmoid as sigmoid

INITS = ("glorot", "he", "uniform")


class Network:
    def __init__(self, sizes: list[int], activations: list[str], head: str):
        """``sizes`` = [inputs, *hidden, outputs]; ``head`` is 'binary', 'softmax' or 'regression'."""
        if len(activations) != len(sizes) - 2:
            raise ValueError("one activation per hidden layer")
        self.sizes = list(sizes)
        self.activations = list(activations)
        self.head = head
        shapes = list(zip(sizes[:-1], sizes[1:]))
        self.n_weights = sum(a * b for a, b in shapes)
        self.n_params = self.n_weights + sum(sizes[1:])
        self.params = np.zeros(self.n_params)
        self.grad = np.zeros(self.n_params)
        self.W, self.b = self._views(self.params, shapes)
        self.gW, self.gb = self._views(self.grad, shapes)
        # start offset of each layer's weights inside the weight segment: per-layer reductions
        self.layer_offsets = np.cumsum([0] + [a * b for a, b in shapes[:-1]])
        self.layer_counts = np.array([a * b for a, b in shapes])
        self._buffers: dict[int, tuple] = {}
        self._grid_cache = None

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
            W, b = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64).reshape(-1)
            if W.shape != W0.shape or b.shape != b0.shape:
                raise ValueError(f"layer {i}: expected W {W0.shape} and b {b0.shape}, got {W.shape} and {b.shape}")
            W0[...] = W
            b0[...] = b

    # -- buffers -------------------------------------------------------------------------------------
    def _batch_buffers(self, n: int):
        """Activation and delta buffers for a batch of ``n`` rows, reused across steps."""
        buf = self._buffers.get(n)
        if buf is None:
            if len(self._buffers) > 8:
                self._buffers.clear()
            acts = [np.empty((n, s)) for s in self.sizes[1:]]         # post-activation (or logits)
            dropped = [np.empty((n, s)) for s in self.sizes[1:-1]]   # post-dropout copies
            masks = [np.empty((n, s)) for s in self.sizes[1:-1]]     # keep-mask / (1 - p)
            deltas = [np.empty((n, s)) for s in self.sizes[1:]]
            tmps = [np.empty((n, s)) for s in self.sizes[1:]]
            buf = self._buffers[n] = (acts, dropped, masks, deltas, tmps)
        return buf

    # -- forward / backward --------------------------------------------------------------------------
    def forward(self, X: np.ndarray, dropout=None, rng=None, masks=None):
        """Logits for ``X``. With ``dropout`` rates (per hidden layer) applies inverted dropout.

        Returns (layer inputs, logits): layer_inputs[i] is what layer i saw (needed by backward).
        ``masks``, if a list, receives each hidden layer's keep-mask (bool) or None.
        """
        acts, dropped, scaled_masks, _, _ = self._batch_buffers(len(X))
        inputs = [X]
        h = X
        last = self.n_layers - 1
        for i in range(self.n_layers):
            z = acts[i]
            np.matmul(h, self.W[i], out=z)
            z += self.b[i]
            if i == last:
                break
            ACTIVATIONS[self.activations[i]](z, z)
            h = z
            p = dropout[i] if dropout is not None else 0.0
            if p > 0.0:
                # inverted dropout: survivors are scaled by 1/(1-p) now, so evaluation is the identity
                keep = rng.random(z.shape) >= p
                m = scaled_masks[i]
                np.multiply(keep, 1.0 / (1.0 - p), out=m)
                h = np.multiply(z, m, out=dropped[i])
                if masks is not None:
                    masks.append(keep)
            elif masks is not None:
                masks.append(None)
            inputs.append(h)
        return inputs, acts[last]

    def loss(self, logits, y) -> float:
        return LOSSES[self.head](logits, y)

    def backward(self, inputs, logits, y, dropout=None) -> None:
        """Fill ``self.grad`` with the data-loss gradient for the batch whose forward pass gave these."""
        acts, _, scaled_masks, deltas, tmps = self._batch_buffers(len(logits))
        delta = LOSS_GRADIENTS[self.head](logits, y, deltas[-1])
        for i in range(self.n_layers - 1, -1, -1):
            np.matmul(inputs[i].T, delta, out=self.gW[i])
            np.sum(delta, axis=0, out=self.gb[i])
            if i == 0:
                break
            prev = deltas[i - 1]
            np.matmul(delta, self.W[i].T, out=prev)
            if dropout is not None and dropout[i - 1] > 0.0:
                prev *= scaled_masks[i - 1]
            DERIVATIVES[self.activations[i - 1]](acts[i - 1], prev, tmps[i - 1])
            delta = prev

    # -- prediction ----------------------------------------------------------------------------------
    def output(self, logits: np.ndarray) -> np.ndarray:
        """Probabilities (binary: P(class 1), shape (N,); softmax: (N, K)) or values (regression)."""
        if self.head == "binary":
            return sigmoid(logits[:, 0], np.empty(len(logits), logits.dtype))
        if self.head == "softmax":
            return softmax(logits, np.empty_like(logits))
        return logits[:, 0].copy()

    def predict_logits(self, X: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Evaluation-mode forward pass (no dropout) that allocates its own buffers."""
        h = np.asarray(X, dtype=dtype)
        last = self.n_layers - 1
        for i in range(self.n_layers):
            z = h @ self.W[i].astype(dtype, copy=False)
            z += self.b[i].astype(dtype, copy=False)
            if i < last:
                ACTIVATIONS[self.activations[i]](z, z)
            h = z
        return h
