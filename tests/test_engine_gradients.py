"""Analytic gradients against central finite differences, for every activation, head and penalty."""
import numpy as np
import pytest

from nnviz.engine.network import Network
from nnviz.engine.penalties import add_penalty_gradient, penalty_value

ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]


def make_problem(head, n=7, n_in=3, n_out=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_in))
    if head == "binary":
        y = (rng.random((n, 1)) > 0.5).astype(float)
    elif head == "softmax":
        y = rng.integers(0, n_out, n)
    else:
        y = rng.standard_normal((n, 1))
    return X, y


def objective(net, X, y, l1, l2, dropout=None, mask_seed=0):
    rng = np.random.default_rng(mask_seed)  # same masks every call: dropout is then a fixed function
    _, logits = net.forward(X, dropout, rng)
    return net.loss(logits, y) + penalty_value(net.params[: net.n_weights], l1, l2)


def analytic(net, X, y, l1, l2, dropout=None, mask_seed=0):
    rng = np.random.default_rng(mask_seed)
    inputs, logits = net.forward(X, dropout, rng)
    net.backward(inputs, logits, y, dropout)
    g = net.grad.copy()
    add_penalty_gradient(net.params[: net.n_weights], g[: net.n_weights], l1, l2, np.empty(net.n_weights))
    return g


def numeric(net, X, y, l1, l2, dropout=None, eps=1e-6):
    g = np.zeros(net.n_params)
    for k in range(net.n_params):
        old = net.params[k]
        net.params[k] = old + eps
        up = objective(net, X, y, l1, l2, dropout)
        net.params[k] = old - eps
        down = objective(net, X, y, l1, l2, dropout)
        net.params[k] = old
        g[k] = (up - down) / (2 * eps)
    return g


def check(hidden, acts, head, l1=0.0, l2=0.0, dropout=None, n_out=1, seed=0):
    X, y = make_problem(head, n_in=3, n_out=n_out, seed=seed)
    net = Network([3, *hidden, n_out], acts, head)
    net.initialize("glorot", np.random.default_rng(seed + 1))
    for b in net.b:  # non-zero biases so every parameter matters
        b[...] = np.random.default_rng(seed + 2).uniform(-0.3, 0.3, b.shape)
    if "relu" in acts or "leaky_relu" in acts:
        # keep pre-activations away from the kink, where finite differences are meaningless
        for W in net.W:
            W *= 1.3
    a = analytic(net, X, y, l1, l2, dropout)
    n = numeric(net, X, y, l1, l2, dropout)
    np.testing.assert_allclose(a, n, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("hidden", [[], [5], [4, 3, 5]], ids=["0 hidden", "1 hidden", "3 hidden"])
def test_binary_cross_entropy_gradients(act, hidden):
    check(hidden, [act] * len(hidden), "binary")


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("hidden", [[], [5], [4, 3]])
def test_softmax_gradients(act, hidden):
    check(hidden, [act] * len(hidden), "softmax", n_out=4)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("hidden", [[], [5], [4, 3]])
def test_squared_error_gradients(act, hidden):
    check(hidden, [act] * len(hidden), "regression")


@pytest.mark.parametrize("l1,l2", [(0.01, 0.0), (0.0, 0.05), (0.02, 0.03)])
@pytest.mark.parametrize("hidden", [[], [4], [4, 3]])
def test_penalty_gradients(l1, l2, hidden):
    check(hidden, ["tanh"] * len(hidden), "binary", l1=l1, l2=l2)


def test_mixed_per_layer_activations():
    check([4, 5, 3], ["sigmoid", "leaky_relu", "tanh"], "binary", seed=3)


def test_dropout_gradients_with_fixed_masks():
    check([6, 5], ["tanh", "sigmoid"], "binary", dropout=[0.3, 0.5])


def test_losses_are_stable_for_huge_logits():
    net = Network([2, 1], [], "binary")
    z = np.array([[1000.0], [-1000.0]])
    y = np.array([[1.0], [0.0]])
    assert net.loss(z, y) == pytest.approx(0.0, abs=1e-12)
    assert np.isfinite(net.loss(-z, y)) and net.loss(-z, y) == pytest.approx(1000.0)
    soft = Network([2, 3], [], "softmax")
    z3 = np.array([[1000.0, 0.0, -1000.0]])
    assert soft.loss(z3, np.array([0])) == pytest.approx(0.0, abs=1e-12)
    assert soft.loss(z3, np.array([2])) == pytest.approx(2000.0)


def test_inverted_dropout_is_identity_at_evaluation_and_unbiased_in_training():
    net = Network([2, 200, 1], ["linear"], "regression")
    net.initialize("glorot", np.random.default_rng(0))
    X = np.ones((4000, 2))
    _, clean = net.forward(X)
    clean = clean.copy()
    masks = []
    inputs, _ = net.forward(X, [0.5], np.random.default_rng(1), masks)
    hidden_dropped = inputs[1]
    keep = masks[0]
    assert 0.45 < keep.mean() < 0.55
    # survivors are scaled by 1/(1-p) = 2, dropped units are exactly zero
    _, raw = net.forward(X)
    assert np.all(hidden_dropped[~keep] == 0.0)
    # the mean over many dropped passes matches the clean output (inverted scaling keeps the expectation)
    _, dropped_out = net.forward(X, [0.5], np.random.default_rng(2))
    assert np.mean(dropped_out) == pytest.approx(np.mean(clean), rel=0.05, abs=0.05)
