"""Qt-free view maths: overflow-proof smoothing (issue 11 item 2) and whole-number epoch ticks."""
import warnings

import numpy as np
import pytest

from nnviz.viewmath import ema, integer_tick_levels, whole_ticks


def reference_ema(x, a, s=None):
    out = []
    for v in x:
        if not np.isfinite(v):
            out.append(np.nan)
            continue
        s = v if s is None else a * s + (1 - a) * v
        out.append(s)
    return np.array(out), s


@pytest.mark.parametrize("factor", [0.0, 0.5, 0.9, 0.99, 0.999])
def test_ema_matches_the_recurrence(factor):
    x = np.random.default_rng(0).lognormal(size=5000)
    x[[10, 300]] = np.nan
    got, state = ema(x, factor)
    want, want_state = reference_ema(x, factor)
    assert np.allclose(got, want, rtol=1e-9, equal_nan=True) and state == pytest.approx(want_state, rel=1e-9)
    # piece by piece gives the same as all at once
    a, s = ema(x[:1234], factor)
    b, s = ema(x[1234:], factor, s)
    assert np.allclose(np.concatenate([a, b]), got, rtol=1e-9, equal_nan=True)


@pytest.mark.parametrize("factor", [0.5, 0.9, 0.99])
def test_ema_of_huge_finite_values_stays_finite_and_comes_back(factor):
    x = np.concatenate([np.full(5000, 1e300), np.full(80000, 0.5)])   # a long run of huge losses
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):  # an overflow would raise here
            y, state = ema(x, factor)
    assert np.isfinite(y).all()
    assert y[4999] == pytest.approx(1e300)
    assert y[-1] == pytest.approx(0.5) and state == pytest.approx(0.5)
    assert np.all(np.diff(y[5000:]) <= 1e-12), "the average falls steadily towards 0.5"


def test_ema_near_the_float_limit_and_piecewise():
    big = np.finfo(np.float64).max
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, s = ema(np.array([big, -big, big]), 0.9)
        assert np.isfinite(y).all() and np.isfinite(s)
        y2, s2 = ema(np.full(10000, 0.5), 0.9, s)
    assert np.isfinite(y2).all() and y2[-1] == pytest.approx(0.5)
    # a state that is already infinite (e.g. from an old version) is dropped, not carried on
    y3, s3 = ema(np.array([0.5, 0.5]), 0.9, float("inf"))
    assert np.allclose(y3, 0.5) and s3 == 0.5


def test_ema_rejects_bad_factors_and_passes_empty():
    with pytest.raises(ValueError):
        ema(np.array([1.0]), 1.0)
    y, s = ema(np.array([np.nan, np.inf]), 0.9, 3.0)
    assert np.isnan(y).all() and s == 3.0


def test_epoch_ticks_are_whole_numbers():
    assert integer_tick_levels([(0.5, 0.0), (0.1, 0.0)]) == [(1.0, 0.0)]
    assert integer_tick_levels([(2.0, 0.0), (0.5, 0.5)]) == [(2.0, 0.0), (1.0, 0.0)]
    assert integer_tick_levels([(1000.0, 0.0), (200.0, 0.0)]) == [(1000.0, 0.0), (200.0, 0.0)]
    assert whole_ticks([0.0, 0.5, 1.0, 1.5, 2.0]) == [0.0, 1.0, 2.0]


def test_weight_histograms_share_symmetric_edges_and_count_like_numpy():
    from nnviz.viewmath import weight_histograms
    rng = np.random.default_rng(1)
    weights = [(rng.normal(0, 2, (3, 5)), rng.normal(size=5)), (rng.normal(0, 0.1, (5, 2)), np.zeros(2))]
    weights[1][0][0, 0] = np.nan   # not counted
    hists = weight_histograms(weights, bins=21)
    top = np.nanmax([np.nanmax(np.abs(W)) for W, _ in weights])
    for (W, _), (edges, counts) in zip(weights, hists):
        assert edges.size == 22 and edges[0] == -top and edges[-1] == top
        np.testing.assert_array_equal(counts, np.histogram(W[np.isfinite(W)], edges)[0])
    assert hists[0][1].sum() == 15 and hists[1][1].sum() == 9
    zero = weight_histograms([np.zeros((2, 2))])   # all-zero weights: a unit range, all in the middle bin
    assert zero[0][0][0] == -1.0 and zero[0][1][20] == 4
