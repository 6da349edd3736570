"""Each optimiser and schedule does what its formula says."""
import math

import numpy as np
import pytest

from nnviz.engine.config import OptimizerConfig, ScheduleConfig
from nnviz.engine.optimizers import make_optimizer
from nnviz.engine.schedules import Schedule

# several steps with a learning rate that changes (as a schedule does), against torch.optim's formulas
# written out here independently of the engine
RNG = np.random.default_rng(4)
GRADS = [RNG.standard_normal(5) * s for s in (1.0, 0.3, 2.0, 1e-3, 0.7, 0.0)]
RATES = [0.1, 0.1, 0.05, 0.05, 0.2, 0.01]
W0 = np.array([1.0, 2.0, -1.0, 0.0, 0.5])


def run(name, **kw):
    opt = make_optimizer(OptimizerConfig(name=name, **kw), len(W0))
    w = W0.copy()
    out = []
    for g, lr in zip(GRADS, RATES):
        opt.step(w, g.copy(), lr)
        out.append(w.copy())
    return out


def test_sgd():
    w = W0.copy()
    for got, g, lr in zip(run("sgd"), GRADS, RATES):
        w = w - lr * g
        np.testing.assert_allclose(got, w, rtol=1e-13)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_and_nesterov_as_torch(nesterov):
    mu = 0.8
    w, b = W0.copy(), None
    for t, (got, g, lr) in enumerate(zip(run("nesterov" if nesterov else "momentum", momentum=mu), GRADS, RATES)):
        b = g.copy() if t == 0 else mu * b + g          # torch: buf = grad at the first step
        d = g + mu * b if nesterov else b
        w = w - lr * d                                 # the buffer is in gradient units: lr scales it all
        np.testing.assert_allclose(got, w, rtol=1e-13)


def test_rmsprop_as_torch():
    rho, eps = 0.9, 1e-6
    w, s = W0.copy(), np.zeros(5)
    for got, g, lr in zip(run("rmsprop", rho=rho, epsilon=eps), GRADS, RATES):
        s = rho * s + (1 - rho) * g * g
        w = w - lr * g / (np.sqrt(s) + eps)           # eps outside the root
        np.testing.assert_allclose(got, w, rtol=1e-13)


def test_adam_as_torch():
    b1, b2, eps = 0.9, 0.999, 1e-3                   # a big eps makes its placement visible
    w, m, v = W0.copy(), np.zeros(5), np.zeros(5)
    for t, (got, g, lr) in enumerate(zip(run("adam", beta1=b1, beta2=b2, epsilon=eps), GRADS, RATES), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat, vhat = m / (1 - b1**t), v / (1 - b2**t)
        w = w - lr * mhat / (np.sqrt(vhat) + eps)      # eps added to sqrt(v_hat), not scaled
        np.testing.assert_allclose(got, w, rtol=1e-12)


def test_adam_first_step_moves_every_weight_by_about_lr():
    w1 = run("adam")[0]
    moved = np.abs(w1 - W0)[np.abs(GRADS[0]) > 1e-3]
    np.testing.assert_allclose(moved, 0.1, rtol=1e-5)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "rmsprop", "adam"])
def test_against_pytorch(name):
    torch = pytest.importorskip("torch")
    kw = {"sgd": {}, "momentum": {"momentum": 0.8}, "nesterov": {"momentum": 0.8},
          "rmsprop": {"rho": 0.95, "epsilon": 1e-6}, "adam": {"beta1": 0.8, "beta2": 0.99, "epsilon": 1e-3}}[name]
    p = torch.tensor(W0.copy(), dtype=torch.float64, requires_grad=True)
    make = {"sgd": lambda: torch.optim.SGD([p], lr=RATES[0]),
            "momentum": lambda: torch.optim.SGD([p], lr=RATES[0], momentum=0.8),
            "nesterov": lambda: torch.optim.SGD([p], lr=RATES[0], momentum=0.8, nesterov=True),
            "rmsprop": lambda: torch.optim.RMSprop([p], lr=RATES[0], alpha=0.95, eps=1e-6),
            "adam": lambda: torch.optim.Adam([p], lr=RATES[0], betas=(0.8, 0.99), eps=1e-3)}[name]
    opt = make()
    for got, g, lr in zip(run(name, **kw), GRADS, RATES):
        for group in opt.param_groups:
            group["lr"] = lr                            # what a schedule does in torch
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        np.testing.assert_allclose(got, p.detach().numpy(), rtol=1e-12, atol=1e-15)


def test_l2_penalty_is_torch_weight_decay():
    # the penalty gradient l2 * w is added to the gradient before the optimiser, as weight_decay does
    torch = pytest.importorskip("torch")
    from nnviz.engine.penalties import add_penalty_gradient
    l2 = 0.3
    for name in ("sgd", "adam"):
        opt = make_optimizer(OptimizerConfig(name=name), len(W0))
        w = W0.copy()
        p = torch.tensor(W0.copy(), dtype=torch.float64, requires_grad=True)
        ref = (torch.optim.SGD if name == "sgd" else torch.optim.Adam)([p], lr=0.1, weight_decay=l2)
        for g, lr in zip(GRADS, RATES):
            gw = g.copy()
            add_penalty_gradient(w, gw, 0.0, l2, np.empty(len(w)))
            opt.step(w, gw, lr)
            ref.param_groups[0]["lr"] = lr
            p.grad = torch.tensor(g, dtype=torch.float64)
            ref.step()
            np.testing.assert_allclose(w, p.detach().numpy(), rtol=1e-12, atol=1e-15)


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


@pytest.mark.parametrize("name", ["momentum", "nesterov", "rmsprop", "adam"])
def test_flushing_subnormal_state_changes_nothing(name):
    # a weight whose gradient becomes exactly zero (a dead unit): its state decays into subnormal floats,
    # which are slow; flushing them to zero leaves every step's result identical
    kw = {"momentum": 0.5, "rho": 0.5, "beta1": 0.5, "beta2": 0.6}
    cfg = OptimizerConfig(name=name, **kw)
    plain, flushed = make_optimizer(cfg, 3), make_optimizer(cfg, 3)
    wa, wb = W0[:3].copy(), W0[:3].copy()
    for t in range(1050):                      # 0.5^t is subnormal from t ~ 1022 to 1074
        g = np.array([0.3, 1e-3 * math.cos(t), 0.0]) if t else np.array([0.3, 0.2, 0.5])
        plain.step(wa, g.copy(), 0.01)
        flushed.step(wb, g.copy(), 0.01)
        if t % 10 == 0:
            flushed.flush_subnormals()
    np.testing.assert_array_equal(wa, wb)
    state = [getattr(plain, s) for s in plain.state]
    tiny = np.finfo(float).tiny
    assert any(((s != 0) & (np.abs(s) < tiny)).any() for s in state)          # the plain one went subnormal
    assert not any(((s != 0) & (np.abs(s) < tiny)).any() for s in (getattr(flushed, s) for s in flushed.state))
