"""Each optimiser and schedule does what its formula says."""
import math

import numpy as np
import pytest

from nnviz.engine.config import OptimizerConfig, ScheduleConfig
from nnviz.engine.optimizers import make_optimizer
from nnviz.engine.schedules import Schedule

G1 = np.array([0.5, -2.0, 0.1])
G2 = np.array([-0.3, 1.0, 0.4])


def run(name, lr=0.1, **kw):
    cfg = OptimizerConfig(name=name, **kw)
    opt = make_optimizer(cfg, 3)
    w = np.array([1.0, 2.0, -1.0])
    out = []
    for g in (G1, G2):
        opt.step(w, g.copy(), lr)
        out.append(w.copy())
    return out


def test_sgd():
    w1, w2 = run("sgd")
    np.testing.assert_allclose(w1, [1, 2, -1] - 0.1 * G1)
    np.testing.assert_allclose(w2, w1 - 0.1 * G2)


def test_momentum():
    mu = 0.8
    w1, w2 = run("momentum", momentum=mu)
    v1 = -0.1 * G1
    v2 = mu * v1 - 0.1 * G2
    np.testing.assert_allclose(w1, [1, 2, -1] + v1)
    np.testing.assert_allclose(w2, w1 + v2)


def test_nesterov():
    mu = 0.8
    w1, w2 = run("nesterov", momentum=mu)
    v1 = -0.1 * G1
    v2 = mu * v1 - 0.1 * G2
    np.testing.assert_allclose(w1, [1, 2, -1] + mu * v1 - 0.1 * G1)
    np.testing.assert_allclose(w2, w1 + mu * v2 - 0.1 * G2)


def test_rmsprop():
    rho, eps = 0.9, 1e-8
    w1, w2 = run("rmsprop", rho=rho, epsilon=eps)
    s1 = (1 - rho) * G1**2
    s2 = rho * s1 + (1 - rho) * G2**2
    np.testing.assert_allclose(w1, [1, 2, -1] - 0.1 * G1 / (np.sqrt(s1) + eps))
    np.testing.assert_allclose(w2, w1 - 0.1 * G2 / (np.sqrt(s2) + eps))


def test_adam():
    b1, b2, eps = 0.9, 0.999, 1e-8
    w1, w2 = run("adam", beta1=b1, beta2=b2, epsilon=eps)
    w = np.array([1.0, 2.0, -1.0])
    m = v = np.zeros(3)
    for t, g in enumerate((G1, G2), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat, vhat = m / (1 - b1**t), v / (1 - b2**t)
        w = w - 0.1 * mhat / (np.sqrt(vhat) + eps / np.sqrt(1 - b2**t))  # eps folded in, as scikit-learn
        np.testing.assert_allclose((w1, w2)[t - 1], w, rtol=1e-10)
    # first Adam step moves every weight by about lr, whatever the gradient's scale
    np.testing.assert_allclose(np.abs(w1 - [1, 2, -1]), 0.1, rtol=1e-5)


@pytest.mark.parametrize("epoch", [0, 1, 99, 100, 250, 1000])
def test_schedules(epoch):
    base = 0.2
    s = lambda **kw: Schedule(ScheduleConfig(**kw)).rate(epoch, base)  # noqa: E731
    assert s(name="constant") == base
    assert s(name="step", step_size=100, gamma=0.5) == pytest.approx(base * 0.5 ** (epoch // 100))
    assert s(name="exponential", decay_rate=0.99) == pytest.approx(base * 0.99**epoch)
    assert s(name="inverse_time", decay=0.01) == pytest.approx(base / (1 + 0.01 * epoch))
    cos = s(name="cosine", period=500, min_lr=0.01)
    t = min(epoch, 500) / 500
    assert cos == pytest.approx(0.01 + (base - 0.01) * 0.5 * (1 + math.cos(math.pi * t)))


def test_reduce_on_plateau():
    sched = Schedule(ScheduleConfig(name="plateau", factor=0.5, patience=3, threshold=0.0, min_lr=0.01))
    losses = [1.0, 0.9, 0.8] + [0.8] * 3 + [0.7] + [0.7] * 3 + [0.7] * 30
    rates = []
    for e, loss in enumerate(losses):
        rates.append(sched.rate(e, 0.1))
        sched.observe(loss)
    assert rates[0] == 0.1
    assert rates[6] == pytest.approx(0.05)       # three epochs without improvement: halved
    assert rates[7] == pytest.approx(0.05)       # improved at 0.7: no further cut
    assert rates[10] == pytest.approx(0.025)     # another plateau
    assert min(rates) == pytest.approx(0.01)     # never below min_lr
