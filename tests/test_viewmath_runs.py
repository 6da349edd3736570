"""Qt-free view maths for several runs in one plot: finite points, last evaluated values, a run's layer
shades and the all-layers weight histogram."""
import colorsys

import numpy as np
import pytest

from nnviz.viewmath import finite_points, last_finite_index, mix, nearest_evaluated_row, shade_ramp, sum_histograms


def test_finite_points_drop_rows_without_a_value_and_keep_the_rest_in_order():
    x = np.arange(1.0, 8.0)
    y = np.array([1.0, np.nan, 3.0, np.inf, np.nan, 6.0, 7.0])
    fx, fy = finite_points(x, y)
    np.testing.assert_array_equal(fx, [1, 3, 6, 7])
    np.testing.assert_array_equal(fy, [1, 3, 6, 7])
    same = np.ones(3)
    assert finite_points(same, same)[1] is same          # nothing to drop: no copy


@pytest.mark.parametrize("n, finite_at", [(0, None), (5, None), (5, 4), (100_000, 3), (100_000, 99_990),
                                          (1000, 0)])
def test_last_finite_index(n, finite_at):
    a = np.full(n, np.nan)
    if finite_at is not None:
        a[finite_at] = 1.0
        if finite_at > 0:
            a[0] = 2.0                                     # an earlier finite value does not count
    assert last_finite_index(a) == finite_at
    flags = np.zeros(n)
    if finite_at is not None:
        flags[finite_at] = 1.0
    assert last_finite_index(flags, test=lambda v: v > 0) == finite_at


def test_shade_ramp_keeps_the_hue_and_orders_lightness_from_input_to_output():
    for colour in ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000"):
        for dark in (False, True):
            shades = shade_ramp(colour, 10, dark)
            assert len(shades) == 10 and len(set(shades)) == 10
            hls = [colorsys.rgb_to_hls(*(int(c[i:i + 2], 16) / 255 for i in (1, 3, 5))) for c in shades]
            light = [h[1] for h in hls]
            assert light == sorted(light) and light[-1] - light[0] > 0.4
            assert (min(light) >= 0.35) if dark else (max(light) <= 0.75)   # off the background
            if colour != "#000000":
                base = colorsys.rgb_to_hls(*(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)))[0]
                assert all(abs(h[0] - base) < 0.02 for h in hls)
    assert len(shade_ramp("#0072B2", 1)) == 1


def test_mix_and_bad_colours():
    assert mix("#000000", "#ffffff", 0.5) == "#808080"
    assert mix("#0072B2", "#ffffff", 0.0) == "#0072b2" and mix("#0072B2", "#ffffff", 1.0) == "#ffffff"
    assert mix("#abc", "#abc", 0.3) == "#aabbcc"
    with pytest.raises(ValueError):
        mix("blue", "#ffffff", 0.5)


def test_sum_histograms_adds_layers_with_shared_edges_and_rebins_others():
    edges = np.linspace(-1, 1, 5)
    total = sum_histograms([(edges, [1, 2, 3, 4]), (edges, [0, 1, 0, 1])])
    np.testing.assert_array_equal(total[0], edges)
    np.testing.assert_array_equal(total[1], [1, 3, 3, 5])
    mixed = sum_histograms([(edges, [1, 2, 3, 4]), (np.linspace(-2, 2, 5), [5, 0, 0, 5])])
    assert mixed[1].sum() == 20 and mixed[0][0] == -2 and mixed[0][-1] == 2
    assert sum_histograms([]) is None and sum_histograms(None) is None
    assert sum_histograms([(edges, [1, 2])]) is None        # malformed: left out


def test_nearest_evaluated_row():
    flags = np.zeros(100)
    flags[[10, 20, 90]] = 1.0
    h = {"evaluated": flags}
    assert nearest_evaluated_row(h, 10) == 10
    assert nearest_evaluated_row(h, 14) == 10 and nearest_evaluated_row(h, 16) == 20
    assert nearest_evaluated_row(h, 15) == 10                 # a tie goes to the earlier row
    assert nearest_evaluated_row(h, 99) == 90 and nearest_evaluated_row(h, 0) == 10
    assert nearest_evaluated_row(h, 50, reach=5) == 50        # none near: the row itself
    assert nearest_evaluated_row({}, 7) == 7                  # no such column: every row counts
    assert nearest_evaluated_row({"evaluated": np.zeros(5)}, 2) == 2
