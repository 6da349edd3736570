"""Live metric plots: the curves show the history's columns, toggles switch what is shown, and long
runs stay bounded."""
from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from nnviz.engine.history import History
from nnviz.ui import plots
from nnviz.ui.plots import MAX_BUCKETS, GradientPlot, LearningRatePlot, LossPlot, _bucket_extremes, _Envelope, ema

BEST = 300


def make_rows(start: int, n: int, n_layers: int = 4, validation: bool = True, regression: bool = False,
              penalty: float = 0.01, seed: int = 0) -> dict:
    """Epochs start+1 .. start+n of a plausible run: train loss falls, test loss bottoms out at BEST,
    and gradient norms shrink by a factor of 20 per layer towards the input (vanishing gradients)."""
    rng = np.random.default_rng(seed + start)
    e = np.arange(start + 1, start + n + 1, dtype=float)
    train = 0.7 * np.exp(-e / 150) + 0.05 + 0.005 * rng.random(n)
    test = 0.35 + 0.4 * np.exp(-e / 100) + 0.2 * ((e - BEST) / 700) ** 2
    test[(e == BEST)] -= 0.05   # make BEST the unambiguous minimum
    nan = np.full(n, np.nan)
    rows = {
        "epoch": e,
        "learning_rate": 0.03 * 0.998 ** e,
        "train_loss": train,
        "penalty": np.full(n, penalty),
        "test_loss": test,
        "validation_loss": test + 0.03 if validation else nan,
        "train_error": nan if regression else np.clip(train * 0.4 - 0.03, 0, 1),   # reaches exactly 0
        "test_error": nan if regression else test * 0.4,
        "validation_error": nan if regression or not validation else test * 0.4 + 0.01,
    }
    scale = 20.0 ** (np.arange(n_layers) - (n_layers - 1))          # input side smallest
    grad = np.exp(-e / 400)[:, None] * scale[None, :] * (1 + 0.1 * rng.random((n, n_layers)))
    rows.update(grad_norm=grad, grad_mean_abs=grad / 30, weight_norm=np.ones((n, n_layers)),
                near_zero=np.zeros((n, n_layers)))
    return rows


def make_history(n: int, n_layers: int = 4, **kw) -> History:
    h = History(n_layers, capacity=max(16, n))
    h.extend(make_rows(0, n, n_layers, **kw))
    return h


def reference_ema(x, a):
    out, s = [], None
    for v in x:
        if np.isnan(v):
            out.append(np.nan)
            continue
        s = v if s is None else a * s + (1 - a) * v
        out.append(s)
    return np.array(out)


def shown(widget, qtbot, size=(500, 300)):
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    return widget


def data(curve):
    x, y = curve.getOriginalDataset()
    return (np.empty(0), np.empty(0)) if x is None else (np.asarray(x), np.asarray(y))


def legend_labels(widget):
    return [label.text for _, label in widget.legend.items]


# -- numerics ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("factor", [0.0, 0.3, 0.9, 0.999])
def test_ema_matches_reference_and_continues_across_chunks(factor):
    x = np.random.default_rng(1).normal(size=5000).cumsum()
    x[[10, 11, 4000]] = np.nan
    want = reference_ema(x, factor)
    whole, _ = ema(x, factor)
    np.testing.assert_allclose(whole, want, rtol=1e-9, atol=1e-9)
    parts, state = [], None
    for chunk in np.array_split(x, [1, 7, 700, 701, 3000]):   # includes a chunk of one row
        y, state = ema(chunk, factor, state)
        parts.append(y)
    np.testing.assert_allclose(np.concatenate(parts), want, rtol=1e-9, atol=1e-9)


def test_ema_of_all_nan_keeps_state():
    y, state = ema(np.full(3, np.nan), 0.9, 1.5)
    assert np.isnan(y).all() and state == 1.5


@pytest.mark.parametrize("factor", [1.0, -0.1, float("nan")])
def test_ema_rejects_factors_outside_0_1(factor):
    with pytest.raises(ValueError, match="smoothing factor"):
        ema(np.ones(3), factor)


def test_envelope_grown_piecewise_equals_direct_bucketing():
    rng = np.random.default_rng(2)
    x = rng.normal(size=50_000)
    x[rng.random(x.size) < 0.01] = np.nan
    x[1000:1500] = np.nan                      # whole all-NaN buckets become gaps
    env, n = _Envelope(budget=64), 0
    while n < x.size:
        n = min(x.size, n + int(rng.integers(1, 3000)))
        env.update(x[:n])
    assert env.n_buckets <= 64 < -(-x.size // (env.stride // 2))   # the smallest stride that fits
    lo, hi = _bucket_extremes(x, env.stride)
    np.testing.assert_array_equal(env.lo[:env.n_buckets], lo)
    np.testing.assert_array_equal(env.hi[:env.n_buckets], hi)
    assert np.nanmin(lo) == np.nanmin(x) and np.nanmax(hi) == np.nanmax(x)


def test_log_tick_labels_are_sparse_and_readable():
    assert [plots.log_tick_label(v) for v in (0.01, 0.02, 0.03, 0.05, 0.1)] == ["0.01", "0.02", "", "0.05", "0.1"]
    assert plots.log_tick_label(1e-5) == "10⁻⁵"
    assert plots.log_tick_label(2e-7) == "2·10⁻⁷"
    assert plots.log_tick_label(0.3, all_labels=True) == "0.3"
    assert plots.log_tick_label(0.0) == ""
    assert plots.epoch_tick_labels([0, 250, 500]) == ["0", "250", "500"]
    assert plots.epoch_tick_labels([0, 200_000, 400_000]) == ["0", "200k", "400k"]
    assert plots.epoch_tick_labels([500_000, 1_000_000]) == ["0.5M", "1M"]


# -- LossPlot ---------------------------------------------------------------------------------------------
def test_loss_curves_hold_the_history(qtbot):
    h = make_history(1000)
    w = shown(LossPlot(), qtbot)
    w.set_history(h)
    for key, column in (("train", "train_loss"), ("test", "test_loss"), ("validation", "validation_loss"),
                        ("penalty", "penalty")):
        x, y = data(w.curves[key])
        np.testing.assert_array_equal(x, h["epoch"])
        np.testing.assert_array_equal(y, h[column])
        assert w.curves[key].isVisible()
    assert not w.curves["objective"].isVisible()
    assert legend_labels(w) == ["train", "test", "validation", "penalty"]
    assert w.plot_item.getAxis("left").labelText == "loss"
    assert w.plot_item.getAxis("bottom").labelText == "epoch"
    # data loss and penalty differ by more than colour
    assert w.curves["penalty"].opts["pen"].style() == Qt.PenStyle.DashLine
    assert w.curves["train"].opts["pen"].style() == Qt.PenStyle.SolidLine


def test_objective_is_loss_plus_penalty(qtbot):
    h = make_history(200)
    w = shown(LossPlot(), qtbot)
    w.set_history(h)
    w.objective_button.setChecked(True)
    h.extend(make_rows(200, 50))
    w.refresh()
    x, y = data(w.curves["objective"])
    np.testing.assert_allclose(y, h["train_loss"] + h["penalty"])
    assert "train + penalty" in legend_labels(w)


def test_error_rate_toggle_shows_error_columns(qtbot):
    h = make_history(500)
    w = shown(LossPlot(), qtbot)
    w.set_history(h)
    w.error_button.setChecked(True)
    for key, column in (("train", "train_error"), ("test", "test_error"), ("validation", "validation_error")):
        np.testing.assert_array_equal(data(w.curves[key])[1], h[column])
    assert not w.curves["penalty"].isVisible()   # a penalty is not an error rate
    assert w.plot_item.getAxis("left").labelText == "error rate"
    w.error_button.setChecked(False)
    np.testing.assert_array_equal(data(w.curves["train"])[1], h["train_loss"])


def test_log_toggle_sets_log_mode_and_floors_zeros_without_warnings(qtbot):
    h = make_history(1000)
    assert (h["train_error"] == 0).any()
    w = shown(LossPlot(), qtbot)
    w.set_history(h)
    w.error_button.setChecked(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w.log_button.setChecked(True)
        qtbot.wait(1)   # let pyqtgraph paint the log-mapped data
        w.grab()
    assert w.plot_item.getAxis("left").logMode
    assert w.curves["train"].opts["logMode"] == [False, True]
    y = data(w.curves["train"])[1]
    raw = h["train_error"]
    smallest = raw[raw > 0].min()
    assert (y > 0).all() and y.min() < smallest      # zeros sit on a floor below every real value
    np.testing.assert_array_equal(y[raw > 0], raw[raw > 0])
    w.log_button.setChecked(False)
    assert not w.plot_item.getAxis("left").logMode
    np.testing.assert_array_equal(data(w.curves["train"])[1], raw)


def test_smoothing_displays_reference_ema_and_stays_correct_while_growing(qtbot):
    h = make_history(400)
    w = shown(LossPlot(), qtbot)
    w.set_history(h)
    w.smooth_factor.setValue(0.8)
    w.smooth_button.setChecked(True)
    y = data(w.curves["test"])[1]
    np.testing.assert_allclose(y, reference_ema(h["test_loss"], 0.8), rtol=1e-12)
    assert not np.allclose(y, h["test_loss"])
    for start in (400, 401, 650):                   # grow by 1, 249 and 100 rows
        h.extend(make_rows(start, {400: 1, 401: 249, 650: 100}[start]))
        w.refresh()
    np.testing.assert_allclose(data(w.curves["train"])[1], reference_ema(h["train_loss"], 0.8), rtol=1e-12)
    w.smooth_factor.setValue(0.95)                  # a new factor recomputes from the start
    np.testing.assert_allclose(data(w.curves["train"])[1], reference_ema(h["train_loss"], 0.95), rtol=1e-12)
    w.smooth_button.setChecked(False)
    np.testing.assert_array_equal(data(w.curves["train"])[1], h["train_loss"])


def test_best_and_stop_markers(qtbot):
    h = make_history(500)
    w = shown(LossPlot(), qtbot)
    w.set_history(h)
    best = int(h["epoch"][np.argmin(h["test_loss"])])
    assert best == BEST
    w.set_best_epoch(best)
    w.set_stop_epoch(420, "no test-loss improvement in 120 epochs")
    assert w.best_line.isVisible() and w.best_line.value() == BEST
    assert w.stop_line.isVisible() and w.stop_line.value() == 420
    assert "best test: 300" in w.marks.text()
    assert "no test-loss improvement in 120 epochs" in w.marks.text()
    w.set_stop_epoch(420, "odd {reason} <b>")      # braces or markup in a reason must not break the header
    assert "odd {reason} <b>" in w.marks.text() and "&lt;b&gt;" in w.header.text()
    w.set_stop_epoch(420, "x" * 500)               # a long reason is cut, not drawn across the plot
    assert len(w.marks.text()) < 100 and "x" * 500 in w.header.toolTip()
    w.set_best_epoch(BEST + 1)                     # moving a marker updates its note
    assert w.best_line.value() == BEST + 1 and str(BEST + 1) in w.marks.text()
    w.set_best_epoch(None)
    w.set_stop_epoch(None)
    assert not w.best_line.isVisible() and not w.stop_line.isVisible() and w.marks.text() == ""
    w.set_best_epoch(10)
    w.set_history(make_history(20))                # markers belong to the run they were set for
    assert not w.best_line.isVisible()


def test_refresh_updates_existing_items(qtbot):
    h = make_history(100)
    w = shown(LossPlot(), qtbot)
    w.set_history(h)
    curves = dict(w.curves)
    items = list(w.plot_item.items)
    legend = list(legend_labels(w))
    for k in range(5):
        h.extend(make_rows(100 + 10 * k, 10))
        w.refresh()
    assert w.curves == curves and all(w.curves[k] is curves[k] for k in curves)
    assert w.plot_item.items == items
    assert legend_labels(w) == legend
    x, y = data(w.curves["train"])
    assert len(x) == 150 and x[-1] == 150
    np.testing.assert_array_equal(y, h["train_loss"])


def test_no_validation_hides_its_curve(qtbot):
    h = make_history(300, validation=False)
    w = shown(LossPlot(), qtbot)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w.set_history(h)
        w.log_button.setChecked(True)
        w.smooth_button.setChecked(True)
        w.error_button.setChecked(True)
        w.grab()
    assert not w.curves["validation"].isVisible()
    assert w.curves["train"].isVisible() and w.curves["test"].isVisible()
    assert "validation" not in legend_labels(w)


def test_zero_penalty_is_not_drawn(qtbot):
    w = shown(LossPlot(), qtbot)
    w.set_history(make_history(100, penalty=0.0))
    assert not w.curves["penalty"].isVisible() and "penalty" not in legend_labels(w)


def test_regression_error_mode_says_why_it_is_empty(qtbot):
    w = shown(LossPlot(), qtbot)
    w.set_history(make_history(100, regression=True))
    w.error_button.setChecked(True)
    assert not any(c.isVisible() for c in w.curves.values())
    assert w.empty_note.isVisible() and "regression" in w.empty_note.toPlainText()
    w.error_button.setChecked(False)
    assert not w.empty_note.isVisible()


def test_hover_reports_the_nearest_epoch(qtbot):
    h = make_history(1000)
    w = shown(LossPlot(), qtbot)
    w.set_history(h)
    w.grab()   # lay out the view so scene <-> view mapping is real
    qtbot.wait(1)
    viewport = w.plot_widget.viewport()
    at = w.plot_widget.mapFromScene(w.view_box.mapViewToScene(QPointF(BEST + 0.3, 0.4)))
    qtbot.mouseMove(viewport, at)                  # through the scene's sigMouseMoved
    epoch = round(w.view_box.mapSceneToView(w.plot_widget.mapToScene(at)).x())   # whole pixels
    assert abs(epoch - BEST) <= 2
    i = epoch - 1
    assert w.readout.isVisible() and w.hover_line.isVisible() and w.hover_line.value() == epoch
    text = w.readout.text()
    assert text.startswith(f"epoch {epoch}: train {h['train_loss'][i]:.3g}, test {h['test_loss'][i]:.3g}")
    assert viewport.rect().contains(w.readout.geometry())
    w.error_button.setChecked(True)                 # the text follows the data under a still cursor
    assert w.readout.text().startswith(f"epoch {epoch}: train {100 * h['train_error'][i]:.3g}%")
    right = w.plot_widget.mapFromScene(w.view_box.mapViewToScene(QPointF(1004, 0.1)))   # past the last epoch: snaps to it
    qtbot.mouseMove(viewport, right)
    assert w.readout.text().startswith("epoch 1000:")
    assert viewport.rect().contains(w.readout.geometry())   # long text at the right edge stays inside
    w._on_mouse_moved(QPointF(-50, -50))            # off the plot
    assert not w.readout.isVisible() and not w.hover_line.isVisible()


def test_clear_empties_everything(qtbot):
    w = shown(LossPlot(), qtbot)
    w.set_history(make_history(100))
    w.set_best_epoch(50)
    w.clear()
    assert all(len(data(c)[0]) == 0 and not c.isVisible() for c in w.curves.values())
    assert not w.best_line.isVisible()
    w.refresh()   # no history: nothing to do, no error
    with pytest.raises(TypeError):
        w.set_history({"epoch": [1]})


# -- GradientPlot ---------------------------------------------------------------------------------------------
def test_gradient_curves_per_layer_graded_from_input_to_output(qtbot):
    h = make_history(500, n_layers=4)
    w = shown(GradientPlot(), qtbot)
    w.set_history(h)
    assert len(w.curves) == 4
    for j, curve in enumerate(w.curves.values()):
        np.testing.assert_array_equal(data(curve)[1], h["grad_norm"][:, j])
    assert w.plot_item.getAxis("left").logMode
    assert "|dW|" in w.plot_item.getAxis("left").labelText
    assert legend_labels(w) == [] and w.layer_strip.labels() == ["1", "2", "3", "4"]   # input ... output
    luminance = [0.2126 * c.redF() + 0.7152 * c.greenF() + 0.0722 * c.blueF()
                 for c in (curve.opts["pen"].color() for curve in w.curves.values())]
    assert luminance == sorted(luminance) and luminance[-1] - luminance[0] > 0.4   # a sequential ramp
    # the vanishing gradient is plain: input-side norms far below output-side ones
    first, last = data(w.curves["layer0"])[1], data(w.curves["layer3"])[1]
    assert np.median(last / first) > 1000
    w.mean_button.setChecked(True)
    np.testing.assert_array_equal(data(w.curves["layer1"])[1], h["grad_mean_abs"][:, 1])
    assert "mean" in w.plot_item.getAxis("left").labelText


def test_gradient_layer_count_change_rebuilds_curves_only_then(qtbot):
    w = shown(GradientPlot(), qtbot)
    h = make_history(100, n_layers=4)
    w.set_history(h)
    before = dict(w.curves)
    h.extend(make_rows(100, 20, n_layers=4))
    w.refresh()
    w.set_history(make_history(50, n_layers=4))       # same architecture: same items
    assert all(w.curves[k] is before[k] for k in before)

    def drawn():
        return [c for c in w.plot_item.listDataItems() if c.isVisible()]

    h2 = make_history(80, n_layers=2)
    w.set_history(h2)
    assert list(w.curves) == ["layer0", "layer1"]
    assert drawn() == list(w.curves.values())          # the other two layers' curves are gone from view
    np.testing.assert_array_equal(data(w.curves["layer1"])[1], h2["grad_norm"][:, 1])
    assert legend_labels(w) == ["layer 1 (input)", "layer 2 (output)"]
    w.set_history(make_history(30, n_layers=12))
    assert len(w.curves) == 12 and len(drawn()) == 12
    assert legend_labels(w) == [] and w.layer_strip.labels() == [str(j) for j in range(1, 13)]   # every layer
    assert [c.name() for c in w.layer_strip.colors] == [c.name() for c in w.layer_colors(12)]
    w.grab()
    w.set_history(make_history(30, n_layers=1))
    assert legend_labels(w) == ["layer 1 (input → output)"] and len(drawn()) == 1


def test_gradient_zero_norms_on_log_axis(qtbot):
    h = make_history(100, n_layers=3)
    rows = make_rows(100, 10, n_layers=3)
    rows["grad_norm"][:, 0] = 0.0                      # a dead layer
    h.extend(rows)
    w = shown(GradientPlot(), qtbot)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w.set_history(h)
        w.grab()
    y = data(w.curves["layer0"])[1]
    assert (y > 0).all() and y[-1] < h["grad_norm"][:100].min()


# -- LearningRatePlot -----------------------------------------------------------------------------------------
def test_learning_rate_plot(qtbot):
    h = make_history(300)
    w = shown(LearningRatePlot(), qtbot)
    w.set_history(h)
    np.testing.assert_array_equal(data(w.curves["learning_rate"])[1], h["learning_rate"])
    assert w.plot_item.getAxis("left").labelText == "learning rate"
    w.log_button.setChecked(True)
    assert w.plot_item.getAxis("left").logMode
    h.extend(make_rows(300, 5))
    w.refresh()
    assert len(data(w.curves["learning_rate"])[1]) == 305


# -- long runs --------------------------------------------------------------------------------------------------
def test_zoomed_view_shows_full_resolution(qtbot):
    n = 100_000
    h = make_history(n, n_layers=1)
    w = shown(LossPlot(), qtbot)
    w.set_history(h)
    x, _ = data(w.curves["train"])
    assert len(x) <= 2 * MAX_BUCKETS
    w.view_box.setXRange(5000, 5200, padding=0)
    x, y = data(w.curves["train"])
    rows = (h["epoch"] >= 5000) & (h["epoch"] <= 5200)
    assert x[0] <= 5000 and x[-1] >= 5200 and len(x) < 300
    np.testing.assert_array_equal(y[np.isin(x, h["epoch"][rows])], h["train_loss"][rows])
    w.view_box.enableAutoRange(x=True)
    assert len(data(w.curves["train"])[0]) <= 2 * MAX_BUCKETS


def test_million_epochs_stay_bounded(qtbot):
    n, extra = 10**6, 500
    h = History(2, capacity=n + extra, max_rows=n + extra)   # the plots must cope with 10^6 rows too
    h.extend(make_rows(0, n, n_layers=2))
    loss, grad, lr = (shown(cls(), qtbot) for cls in (LossPlot, GradientPlot, LearningRatePlot))
    loss.smooth_button.setChecked(True)
    loss.log_button.setChecked(True)
    t0 = time.perf_counter()
    for w in (loss, grad, lr):
        w.set_history(h)
    t1 = time.perf_counter()
    h.extend(make_rows(n, extra, n_layers=2))
    refresh_times = []
    for w in (loss, grad, lr):
        t = time.perf_counter()
        w.refresh()
        refresh_times.append(time.perf_counter() - t)
    t = time.perf_counter()
    loss.grab()
    paint = time.perf_counter() - t
    print(f"\n10^6 epochs: set_history x3 {1e3 * (t1 - t0):.0f} ms; refresh after +{extra} rows "
          + ", ".join(f"{1e3 * r:.1f} ms" for r in refresh_times) + f"; paint {1e3 * paint:.0f} ms")
    for w in (loss, grad, lr):
        for key, curve in w.curves.items():
            if key == "objective":   # off unless asked for
                assert not curve.isVisible()
                continue
            assert curve.isVisible()
            x, y = data(curve)
            assert 0 < len(x) <= 2 * MAX_BUCKETS
            assert w.series[key].n == n + extra
            assert x[0] < 1000 and x[-1] > n + extra - 1000
    # the envelope keeps the extremes of the raw data
    _, y = data(grad.curves["layer1"])
    assert y.max() == h["grad_norm"][:, 1].max() and y.min() == h["grad_norm"][:, 1].min()
    assert sum(refresh_times) < 1.0


# -- lifetime ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [LossPlot, GradientPlot, LearningRatePlot])
def test_widget_is_freed_without_the_cycle_collector(qtbot, cls):
    # A reference cycle would leave an unparented plot to the GC, which may run in the middle of the
    # plot's own paint and delete it there (this segfaulted the suite once).
    import gc
    import weakref
    w = cls()
    w.set_history(make_history(50))
    w.show()
    qtbot.wait(1)
    ref = weakref.ref(w)
    gc.disable()
    try:
        del w
        assert ref() is None
    finally:
        gc.enable()


# -- pictures ---------------------------------------------------------------------------------------------------
def test_rendered_plots_show_the_curves(qtbot, tmp_path):
    h = make_history(1000, n_layers=4)
    for cls in (LossPlot, GradientPlot, LearningRatePlot):
        w = shown(cls(), qtbot)
        w.set_history(h)
        if cls is LossPlot:
            w.set_best_epoch(BEST)
            w.set_stop_epoch(1000, "patience ran out")
        image = w.grab().toImage()
        assert image.save(str(tmp_path / f"{cls.__name__}.png"))
        first = QColor(next(iter(w.curves.values())).opts["pen"].color())
        near = 0   # antialiased 1-pixel lines: pixels of the pen's hue blended with the background
        for x in range(image.width()):
            for y in range(image.height()):
                c = image.pixelColor(x, y)
                if max(c.red(), c.green(), c.blue()) - min(c.red(), c.green(), c.blue()) < 40:
                    continue   # background, grid, axes and text are grey
                near += abs(c.hsvHue() - first.hsvHue()) < 12
        assert near > 50, f"{cls.__name__}: first curve's colour was not painted"



def test_weights_plot_shows_near_zero_share_and_norms(qtbot):
    from nnviz.ui.plots import WeightsPlot
    h = History(3)
    for e in range(1, 201):
        h.append({"epoch": e}, {"near_zero": np.array([e / 400, e / 800, 0.0]),
                                "weight_norm": np.array([5.0 / e, 2.0, 1.0])})
    w = shown(WeightsPlot(), qtbot)
    w.set_history(h)
    x, y = data(w.curves["layer0"])
    assert y[-1] == pytest.approx(0.5) and x[-1] == 200
    w.norm_button.setChecked(True)
    x, y = data(w.curves["layer0"])
    assert y[-1] == pytest.approx(5.0 / 200) and w._log   # norms span decades: log axis
    assert "layer 1" in w._describe(199)


# -- epoch axis: whole-number ticks, log scale (issue 6 items 20 and 24) ----------------------------------
def epoch_ticks(w):
    axis = w.plot_item.getAxis("bottom")
    lo, hi = w.view_box.viewRange()[0]
    return [v for _, values in axis.tickValues(lo, hi, 400) for v in values]


def test_epoch_axis_never_shows_fractional_ticks_early_on(qtbot):
    w = shown(LossPlot(), qtbot)
    w.set_history(make_history(3))
    w.grab()
    ticks = epoch_ticks(w)
    assert ticks and all(v == round(v) for v in ticks), ticks
    assert {1.0, 2.0} <= set(ticks)


def test_log_epochs_applies_to_all_plots_of_a_window_and_maps_markers_and_hover(qtbot):
    from PySide6.QtWidgets import QVBoxLayout, QWidget
    root = QWidget()
    layout = QVBoxLayout(root)
    loss, grad, lr = LossPlot(), GradientPlot(), LearningRatePlot()
    for p in (loss, grad, lr):
        layout.addWidget(p)
    qtbot.addWidget(root)
    root.resize(600, 900)
    root.show()
    h = make_history(1000)
    for p in (loss, grad, lr):
        p.set_history(h)
    loss.set_best_epoch(BEST)
    assert not any(p.log_epochs for p in (loss, grad, lr))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grad.log_epochs_button.setChecked(True)      # toggled on one plot...
        root.grab()
    assert all(p.log_epochs for p in (loss, grad, lr))                 # ...applies to all of them
    assert all(p.log_epochs_button.isChecked() for p in (loss, grad, lr))
    assert loss.plot_item.getAxis("bottom").logMode and loss.plot_item.ctrl.logYCheck.isChecked() is False
    lo, hi = loss.view_box.viewRange()[0]
    assert lo == pytest.approx(0.0) and hi == pytest.approx(np.log10(1500), abs=0.2)   # epochs 1 .. ~1000
    assert loss.best_line.value() == pytest.approx(np.log10(BEST))     # markers sit at their epoch
    ticks = epoch_ticks(loss)
    assert ticks and all(abs(10 ** v - round(10 ** v)) < 1e-6 for v in ticks)
    # hovering maps back to epochs
    loss.grab()
    at = loss.plot_widget.mapFromScene(loss.view_box.mapViewToScene(QPointF(np.log10(BEST), 0.4)))
    qtbot.mouseMove(loss.plot_widget.viewport(), at)
    epoch = int(loss.readout.text().split(":")[0].split()[1])
    assert abs(epoch - BEST) <= 0.05 * BEST            # a pixel spans ~1.5% of the epochs here
    assert loss.hover_line.value() == pytest.approx(np.log10(epoch))
    loss.set_log_epochs(False)
    assert not loss.log_epochs and not loss.log_epochs_button.isChecked()
    assert loss.best_line.value() == BEST


def test_log_epochs_is_remembered_by_the_app(qtbot, monkeypatch, tmp_path):
    from PySide6.QtCore import QCoreApplication, QSettings
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    old = QCoreApplication.organizationName()
    QCoreApplication.setOrganizationName("nnviz-test-log-epochs")
    try:
        w = shown(LossPlot(), qtbot)
        assert not w.log_epochs
        w.log_epochs_button.setChecked(True)
        again = shown(GradientPlot(), qtbot)
        assert again.log_epochs and again.log_epochs_button.isChecked()
    finally:
        QCoreApplication.setOrganizationName(old)
        QSettings.setDefaultFormat(QSettings.Format.NativeFormat)
    assert not shown(LossPlot(), qtbot).log_epochs    # without an organisation (tests, scripts): nothing kept


def test_log_epochs_shows_the_first_epochs_of_a_long_run(qtbot):
    w = shown(LossPlot(), qtbot)
    w.set_history(make_history(40000))
    w.set_log_epochs(True)
    x, y = data(w.curves["train"])
    assert x[0] == 1 and np.all(np.diff(x) >= 0)
    assert np.sum(x <= 100) >= 50                     # the early epochs are drawn, not one coarse bucket
    axis = w.plot_item.getAxis("bottom")
    labels = axis.tickStrings([0.0, 1.0, 2.0, 3.0, 4.0, np.log10(2000)], 1.0, 1.0)
    assert labels == ["1", "10", "100", "1000", "10000", ""]
    assert plots.epoch_tick_labels([0, 10000, 50000]) == ["0", "10000", "50000"]


# -- curve pens: cheap to paint (issue 10 item 6) -----------------------------------------------------------
def test_curves_use_one_pixel_cosmetic_pens_and_key_curves_are_drawn_bold(qtbot):
    """A pen wider than 1 px goes through Qt's stroker (11-15 ms per repaint of the gradient plot); key
    curves get their 2-px look from a second 1-px stroke instead."""
    from nnviz.ui.plots import WeightsPlot, is_bold
    h = make_history(300, n_layers=5)
    for cls in (LossPlot, GradientPlot, WeightsPlot, LearningRatePlot):
        w = shown(cls(), qtbot)
        w.set_history(h)
        for key, curve in w.curves.items():
            pen = curve.opts["pen"]
            assert pen.widthF() <= 1 and pen.isCosmetic(), f"{cls.__name__}.{key}: {pen.widthF()} px"
    loss = shown(LossPlot(), qtbot)
    assert is_bold(loss.curves["train"]) and is_bold(loss.curves["test"])
    assert not is_bold(loss.curves["validation"]) and not is_bold(loss.curves["penalty"])
    grad = shown(GradientPlot(), qtbot)
    grad.set_history(h)
    assert [is_bold(grad.curves[f"layer{j}"]) for j in range(5)] == [True, False, False, False, True]
    grad.set_history(make_history(30, n_layers=2))   # reused items are restyled
    assert is_bold(grad.curves["layer0"]) and is_bold(grad.curves["layer1"])


def test_bold_curve_paints_two_pixels_thick(qtbot):
    w = shown(LearningRatePlot(), qtbot)
    w.set_history(lr_history(np.where(np.arange(100) < 50, 0.5, 0.25)))
    image = w.plot_widget.grab().toImage()
    color = QColor(plots.LEARNING_RATE_COLOR)
    x = image.width() * 2 // 3   # across the flat stretch at 0.5 or 0.25: count coloured rows in a column
    rows = [y for y in range(image.height())
            if abs(image.pixelColor(x, y).hsvHue() - color.hsvHue()) < 12
            and image.pixelColor(x, y).hsvSaturation() > 60]
    assert 2 <= len(rows) <= 4


# -- plots that show the evidence (issue 7 section 4) --------------------------------------------------------
def _rect_in(widget, inner):
    """``inner``'s geometry in ``widget``'s coordinates."""
    from PySide6.QtCore import QRect
    top_left = inner.mapTo(widget, inner.rect().topLeft())
    return QRect(top_left, inner.size())


def test_marker_notes_and_numbers_sit_outside_the_data_area(qtbot):
    w = shown(LossPlot(), qtbot, size=(460, 280))
    w.set_history(make_history(500))
    w.set_best_epoch(BEST)
    w.set_stop_epoch(480, "no test-loss improvement in 120 epochs")
    qtbot.waitUntil(lambda: w.header.isVisible() and w.header.height() > 0, timeout=2000)
    view = w.plot_widget.mapFromScene(w.view_box.sceneBoundingRect()).boundingRect()
    view.translate(_rect_in(w, w.plot_widget).topLeft())
    header = _rect_in(w, w.header)
    assert not header.intersects(view), (header, view)
    assert "best test: 300" in w.header.text() and "stopped: 480" in w.header.text()
    # the lines themselves are drawn under the curves, and carry no text inside the plot
    assert all(w.best_line.zValue() < c.zValue() for c in w.curves.values())
    texts = [i for i in w.plot_item.items if isinstance(i, plots.pg.TextItem) and i.isVisible()]
    assert texts == []


def test_current_losses_and_errors_are_shown_as_numbers(qtbot):
    w = shown(LossPlot(), qtbot)
    assert w.current_numbers() == ""
    h = make_history(100)
    w.set_history(h)
    text = w.current_numbers()
    assert text.startswith("loss / error:")
    for key in ("train", "test", "validation"):
        assert f"{key} {h[key + '_loss'][-1]:.3g} / {100 * h[key + '_error'][-1]:.3g}%" in text
    assert w.numbers.text() == text and "train" in w.header.text()
    h.extend(make_rows(100, 50))
    w.refresh()
    assert f"train {h['train_loss'][-1]:.3g}" in w.current_numbers() and w.current_numbers() != text
    w.error_button.setChecked(True)   # the numbers do not depend on what the curves show
    assert f"test {h['test_loss'][-1]:.3g}" in w.numbers.text()
    w.set_history(make_history(50, regression=True, validation=False))
    assert w.numbers.text().startswith("loss: train ") and "%" not in w.numbers.text()
    assert "validation" not in w.numbers.text()
    w.clear()
    assert w.numbers.text() == ""


def test_weight_histograms_count_the_weights_of_each_layer(qtbot):
    from nnviz.ui.plots import HIST_LOG_FLOOR, WeightsPlot
    rng = np.random.default_rng(0)
    weights = [(rng.normal(0, 1, (2, 8)), np.zeros(8)), (rng.laplace(0, 0.1, (8, 8)), np.zeros(8)),
               (rng.normal(0, 0.3, (8, 1)), np.zeros(1))]
    w = shown(WeightsPlot(), qtbot, size=(700, 300))
    assert not w.hist_widget.isVisible()          # nothing to show until histograms arrive
    w.set_weights(weights)
    assert w.hist_widget.isVisible() and w.log_count_button.isVisible()
    top = max(np.abs(W).max() for W, _ in weights)
    for (W, _), curve in zip(weights, w._hist_curves):
        counts, edges = np.histogram(W, bins=41, range=(-top, top))
        x, y = data(curve)
        np.testing.assert_allclose(x, edges)
        np.testing.assert_array_equal(y, counts)
        assert counts.sum() == W.size             # biases are not counted
    colors = [c.opts["pen"].color().name() for c in w._hist_curves]
    assert colors == [c.name() for c in w.layer_colors(3)]
    w.log_count_button.setChecked(True)
    x, y = data(w._hist_curves[1])
    counts = np.histogram(weights[1][0], bins=41, range=(-top, top))[0]
    np.testing.assert_array_equal(y, np.maximum(counts, HIST_LOG_FLOOR))
    assert w.hist_item.getAxis("left").logMode
    w.set_weight_histograms([(np.array([-1.0, 0.0, 1.0]), np.array([3, 4]))])   # fewer layers: items reused
    assert sum(c.isVisible() for c in w._hist_curves) == 1
    with pytest.raises(ValueError):
        w.set_weight_histograms([(np.array([0.0, 1.0]), np.array([1, 2]))])
    w.set_weight_histograms(None)
    assert not w.hist_widget.isVisible()


def test_near_zero_share_axis_is_fixed_from_0_to_1(qtbot):
    from nnviz.ui.plots import WeightsPlot
    h = History(2)
    for e in range(1, 101):   # an L2 run: a share of a few percent must not fill the plot
        h.append({"epoch": e}, {"near_zero": np.array([0.07 * e / 100, 0.01]),
                                "weight_norm": np.array([30.0, 20.0])})
    w = shown(WeightsPlot(), qtbot)
    w.set_history(h)
    def fixed():
        lo, hi = w.view_box.viewRange()[1]
        return lo == pytest.approx(0.0) and 1.0 <= hi <= 1.05
    assert fixed()
    w.norm_button.setChecked(True)                 # norms follow the data (log axis)
    assert not fixed()
    w.norm_button.setChecked(False)
    assert fixed()


def test_gradient_legend_names_ten_layers_without_eating_the_plot(qtbot):
    w = shown(GradientPlot(), qtbot, size=(460, 270))
    w.set_history(make_history(200, n_layers=2))
    assert legend_labels(w) == ["layer 1 (input)", "layer 2 (output)"]
    assert not w.layer_strip.isVisible()
    w.set_history(make_history(200, n_layers=10))
    image = w.grab().toImage()
    assert legend_labels(w) == [] and w.layer_strip.isVisible()
    assert w.layer_strip.labels() == [str(j) for j in range(1, 11)]   # a numbered swatch per layer
    assert w.layer_strip.boundingRect().height() <= 20                # one line
    assert w.view_box.height() >= 130, w.view_box.height()
    strip = w.layer_strip.sceneBoundingRect()
    assert not strip.intersects(w.view_box.sceneBoundingRect())
    at = w.plot_widget.mapFromScene(strip.center())
    at = w.plot_widget.mapTo(w, at)
    colors = {image.pixelColor(x, at.y()).name() for x in range(image.width())}
    assert {c.name() for c in w.layer_colors(10)} <= colors           # every swatch is painted
    w.set_history(make_history(20, n_layers=1))
    assert not w.layer_strip.isVisible() and legend_labels(w) == ["layer 1 (input → output)"]


def test_learning_rate_plot_folds_away_while_the_rate_is_constant(qtbot):
    from PySide6.QtWidgets import QDockWidget, QMainWindow
    from nnviz.ui.plots import COMPACT_LR_WIDTH
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel_("canvas"))
    lr = LearningRatePlot()
    dock = QDockWidget("Learning rate", window)
    dock.setWidget(lr)
    window.addDockWidget(Qt.BottomDockWidgetArea, dock)
    window.resize(1200, 700)
    window.show()
    changes = []
    lr.compact_changed.connect(changes.append)
    assert lr.compact and lr.maximumWidth() <= COMPACT_LR_WIDTH and not lr.plot_widget.isVisible()
    h = lr_history(np.full(50, 0.03))
    lr.set_history(h)
    assert lr.compact and "0.03" in lr.constant_note.text() and lr.constant_note.isVisible()
    lr_history(np.full(10, 0.003), h)   # a step decay
    lr.refresh()
    qtbot.waitUntil(lambda: lr.width() >= 250, timeout=2000)
    assert not lr.compact and lr.plot_widget.isVisible() and changes == [False]
    lr.set_history(lr_history(np.full(10, 0.1)))
    assert lr.compact and changes == [False, True]


def lr_history(rates, h=None):
    """A one-layer history with these learning rates (appended to ``h`` if given)."""
    h = h if h is not None else History(1)
    for r in rates:
        h.append({"epoch": len(h) + 1, "learning_rate": float(r)}, {})
    return h


def QLabel_(text):   # noqa: N802
    from PySide6.QtWidgets import QLabel
    return QLabel(text)


# -- several runs and pins (issue 7 sections 2 and 4) ---------------------------------------------------------
from PySide6.QtWidgets import QApplication  # noqa: E402

from nnviz.engine.history import SCALAR_COLUMNS  # noqa: E402
from nnviz.ui.plots import Overlay, WeightsPlot  # noqa: E402


def apart(item, view_box):
    """Whether a layout item (legend, layer strip) and the data area do not overlap (plot coordinates)."""
    return not item.geometry().intersects(view_box.geometry())

RUN_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")


def sample_pens(widget):
    """(label, pen) of each legend entry."""
    return [(label.text, sample.item.opts["pen"]) for sample, label in widget.legend.items]


def overlay_curves(widget, key):
    return widget._overlays[key].curves


def data_items(widget):
    return [i for i in widget.plot_item.items if isinstance(i, plots.pg.PlotDataItem)]


def test_overlays_are_named_and_coloured_in_the_legend(qtbot):
    a, b = make_history(300), make_history(200, seed=5)
    w = shown(LossPlot(), qtbot)
    w.set_history(a)
    single = {k: (c.opts["pen"].color().name(), c.opts["pen"].style()) for k, c in w.curves.items()}
    w.set_primary("L1 0.003", RUN_COLOURS[0])
    w.set_overlays([Overlay("b", "L2 0.03", b, RUN_COLOURS[1])])
    assert w.coloured
    pens = sample_pens(w)
    assert [label for label, _ in pens][:2] == ["L1 0.003", "L2 0.03"]
    assert [pen.color().name() for _, pen in pens[:2]] == [c.lower() for c in RUN_COLOURS[:2]]
    # train vs test by line style, the same in every run, and named in the legend
    assert ("train", Qt.PenStyle.SolidLine) in [(label, pen.style()) for label, pen in pens]
    assert ("test", Qt.PenStyle.DashLine) in [(label, pen.style()) for label, pen in pens]
    for curves, colour in ((w.curves, RUN_COLOURS[0]), (overlay_curves(w, "b"), RUN_COLOURS[1])):
        assert curves["train"].opts["pen"].color().name() == colour.lower()
        assert curves["test"].opts["pen"].color().name() == colour.lower()
        assert curves["train"].opts["pen"].style() == Qt.PenStyle.SolidLine
        assert curves["test"].opts["pen"].style() == Qt.PenStyle.DashLine
        assert curves["train"].opts["pen"].widthF() <= 1 and curves["train"].opts["pen"].isCosmetic()
    x, y = data(overlay_curves(w, "b")["test"])
    np.testing.assert_array_equal(x, b["epoch"])
    np.testing.assert_array_equal(y, b["test_loss"])
    assert w.view_box.viewRange()[0][1] >= 300              # the x range covers every run
    assert [label for label, _, _ in w.run_numbers()] == ["L1 0.003", "L2 0.03"]   # each run's numbers
    assert "L1&nbsp;0.003" in w.header.text() and "L2&nbsp;0.03" in w.header.text()
    # back to one unnamed run: today's look, colours and legend
    w.set_overlays([])
    w.set_primary(None, None)
    assert not w.coloured
    assert {k: (c.opts["pen"].color().name(), c.opts["pen"].style()) for k, c in w.curves.items()} == single
    assert legend_labels(w) == ["train", "test", "validation", "penalty"]


def test_an_overlay_follows_its_history_as_it_grows_without_new_items(qtbot):
    a, b = make_history(100), make_history(50, seed=3)
    w = shown(LossPlot(), qtbot)
    w.set_history(a)
    w.set_overlays([Overlay("b", "B", b, RUN_COLOURS[1])])
    items = list(w.plot_item.items)
    curve = overlay_curves(w, "b")["train"]
    for k in range(4):
        b.extend(make_rows(50 + 25 * k, 25, seed=3))
        w.refresh()
    assert w.plot_item.items == items and overlay_curves(w, "b")["train"] is curve
    x, y = data(curve)
    assert x[-1] == 150
    np.testing.assert_array_equal(y, b["train_loss"])
    # the same overlay given again (as the window does with every frame) changes nothing
    w.set_overlays([Overlay("b", "B", b, RUN_COLOURS[1])])
    assert w.plot_item.items == items
    # a restarted run (a new History under the same key) is drawn from scratch
    fresh = make_history(10, seed=9)
    w.set_overlays([Overlay("b", "B", fresh, RUN_COLOURS[1])])
    np.testing.assert_array_equal(data(curve)[1], fresh["train_loss"])


@pytest.mark.parametrize("cls", [LossPlot, GradientPlot, WeightsPlot, LearningRatePlot])
def test_removing_overlays_removes_their_items(qtbot, cls):
    w = shown(cls(), qtbot)
    w.set_history(make_history(100, n_layers=3))
    before = len(w.plot_item.items)
    for _ in range(3):   # add and remove repeatedly: nothing accumulates
        w.set_overlays([Overlay(f"r{i}", f"run {i}", make_history(80, n_layers=10, seed=i), RUN_COLOURS[i])
                        for i in (1, 2, 3)])
        assert len(w.plot_item.items) > before
        w.set_overlays([])
        assert len(w.plot_item.items) == before
        assert w.overlays == []
    assert len(w.legend.items) <= 4 and all(label.text != "run 1" for _, label in w.legend.items)


def test_overlays_are_validated(qtbot):
    w = shown(LossPlot(), qtbot)
    h = make_history(10)
    with pytest.raises(TypeError):
        w.set_overlays([("b", "B", h, "#000000")])
    with pytest.raises(TypeError):
        w.set_overlays([Overlay("b", "B", {"epoch": [1]}, "#000000")])
    with pytest.raises(ValueError):
        w.set_overlays([Overlay("b", "B", h, "#000000"), Overlay("b", "C", h, "#111111")])
    with pytest.raises(ValueError):
        w.set_overlays([Overlay("b", "B", h, "blue-ish")])
    with pytest.raises(ValueError):
        w.set_primary("A", "not a colour")
    assert w.overlays == [] and not w.coloured


@pytest.mark.parametrize("cls", [LossPlot, GradientPlot, WeightsPlot, LearningRatePlot])
def test_overlays_without_a_history_of_the_window(qtbot, cls):
    w = shown(cls(), qtbot)
    w.set_overlays([Overlay("pin1", "pinned", make_history(40, n_layers=3), RUN_COLOURS[3], faded=True)])
    curves = [c for key, c in overlay_curves(w, "pin1").items() if key not in ("penalty", "objective")]
    assert curves and all(c.isVisible() for c in curves)
    assert "pin: pinned" in legend_labels(w)
    w.grab()
    w.set_history(make_history(10, n_layers=3))
    w.clear()      # the window's run forgets its history; the pin stays
    assert all(c.isVisible() for c in curves)
    w.refresh()
    w._on_mouse_moved(w.view_box.sceneBoundingRect().center())   # hovering reads the pin alone
    assert w.readout.text().startswith("epoch ") and "pin: pinned" in w.readout.text()


def hand_made_with_gaps(n=400, every=10, n_layers=2):
    """A history whose test/error columns are NaN except every ``every``-th epoch (and the last-but-3):
    what a run that evaluates only some epochs records."""
    rows = make_rows(0, n, n_layers=n_layers, validation=False)
    skip = np.arange(n) % every != 0
    skip[n - 3] = False          # the last evaluated epoch is n - 2 (0-based row n - 3)
    skip[n - 2:] = True
    for c in ("test_loss", "test_error", "train_error"):
        rows[c] = np.where(skip, np.nan, rows[c])
    if "evaluated" in SCALAR_COLUMNS:   # the record says which rows were evaluated
        rows["evaluated"] = np.where(skip, 0.0, 1.0)
    h = History(n_layers, capacity=n)
    h.extend(rows)
    return h, ~skip


def test_non_evaluated_rows_are_skipped_and_the_line_joins_the_evaluated_ones(qtbot):
    h, evaluated = hand_made_with_gaps()
    w = shown(LossPlot(), qtbot, size=(500, 300))
    w.set_history(h)
    x, y = data(w.curves["test"])
    np.testing.assert_array_equal(x, h["epoch"][evaluated])
    np.testing.assert_array_equal(y, h["test_loss"][evaluated])
    assert w.curves["test"].isVisible()
    x, y = data(w.curves["train"])   # train loss from the evaluated epochs only, like test loss (between
    np.testing.assert_array_equal(x, h["epoch"][evaluated])   # them a row holds a batch mean, with dropout)
    w.error_button.setChecked(True)
    assert np.isfinite(data(w.curves["train"])[1]).all() and len(data(w.curves["train"])[0]) == evaluated.sum()
    w.error_button.setChecked(False)
    # drawn as one line: the test colour is painted in (nearly) every pixel column it spans
    image = w.plot_widget.grab().toImage()
    left = w.plot_widget.mapFromScene(w.view_box.mapViewToScene(QPointF(10, 0))).x()
    right = w.plot_widget.mapFromScene(w.view_box.mapViewToScene(QPointF(390, 0))).x()
    target = QColor(plots.TEST_COLOR)
    hit = [any(abs(image.pixelColor(px, py).hsvHue() - target.hsvHue()) < 10
               and image.pixelColor(px, py).hsvSaturation() > 80 for py in range(image.height()))
           for px in range(left + 2, right - 2)]
    assert np.mean(hit) > 0.97, np.mean(hit)
    # hovering an unevaluated epoch reads the nearest evaluated one (when the record says which they are)
    w.grab()
    at = w.plot_widget.mapFromScene(w.view_box.mapViewToScene(QPointF(204, 0.4)))
    qtbot.mouseMove(w.plot_widget.viewport(), at)
    if "evaluated" in SCALAR_COLUMNS:
        cursor = w.view_box.mapSceneToView(w.plot_widget.mapToScene(at)).x()
        epoch = int(w.readout.text().split(":")[0].split()[1])
        assert evaluated[epoch - 1] and abs(epoch - cursor) <= 5 and "test " in w.readout.text()
        assert w.hover_line.value() == epoch
    # the numbers are the last evaluated ones, not NaN
    last = int(np.flatnonzero(evaluated)[-1])
    assert f"test {h['test_loss'][last]:.3g} / {100 * h['test_error'][last]:.3g}%" in w.current_numbers()
    assert "nan" not in w.header.text().lower()


def test_non_evaluated_rows_of_a_long_run_leave_no_gaps(qtbot):
    n = 30_000                                      # past MAX_BUCKETS: the envelope path
    h, evaluated = hand_made_with_gaps(n, every=97, n_layers=1)
    for cls in (LossPlot, GradientPlot):
        w = shown(cls(), qtbot)
        w.set_history(h)
        for curve in w.curves.values():
            if curve.isVisible():
                x, y = data(curve)
                assert x.size and np.isfinite(y).all() and np.isfinite(x).all()
    w = shown(LossPlot(), qtbot)
    w.set_history(h)
    w.set_log_epochs(True)                          # the log-epoch head picks single rows: NaN among them
    x, y = data(w.curves["test"])
    assert np.isfinite(y).all() and x[0] == 1


def test_numbers_come_from_the_last_evaluated_row():
    nan = np.nan
    h = {"evaluated": np.array([1.0, 0.0, 1.0, 0.0, 0.0]),
         "train_loss": np.array([0.9, 0.8, 0.7, 0.6, 0.5]),     # batch means on the unevaluated rows
         "test_loss": np.array([1.0, nan, 0.75, nan, nan])}
    assert LossPlot.last_values(h, ["train_loss", "test_loss"]) == {"train_loss": 0.7, "test_loss": 0.75}
    h.pop("evaluated")                              # without the column: each column's last finite value
    assert LossPlot.last_values(h, ["train_loss", "test_loss"]) == {"train_loss": 0.5, "test_loss": 0.75}
    assert np.isnan(LossPlot.last_values({"a": np.full(3, nan)}, ["a"])["a"])


def sigmoid_vs_relu(n=300, n_layers=10):
    """Two runs' gradients: sigmoid's layers orders of magnitude apart, ReLU's within a factor of 2."""
    sig = make_history(n, n_layers=n_layers)                     # 20x per layer: 10^12 from end to end
    rows = make_rows(0, n, n_layers=n_layers, seed=4)
    rows["grad_norm"] = np.exp(-np.arange(1, n + 1) / 400)[:, None] * np.linspace(0.5, 1.0, n_layers)[None, :]
    relu = History(n_layers, capacity=n)
    relu.extend(rows)
    return sig, relu


def test_gradient_plot_with_two_runs_of_ten_layers_names_every_layer_and_run(qtbot):
    sig, relu = sigmoid_vs_relu()
    w = shown(GradientPlot(), qtbot, size=(700, 300))
    w.set_history(sig)
    w.set_primary("sigmoid", RUN_COLOURS[0])
    w.set_overlays([Overlay("relu", "ReLU", relu, RUN_COLOURS[1])])
    QApplication.processEvents()   # the plot's layout places the rebuilt legend
    image = w.grab().toImage()
    assert legend_labels(w) == ["sigmoid", "ReLU"]
    assert w.layer_strip.isVisible() and w.layer_strip.labels() == [str(j) for j in range(1, 11)]
    assert len(w.layer_strip.rows) == 2 and all(len(r) == 10 for r in w.layer_strip.rows)
    assert w.view_box.height() >= 100, w.view_box.height()
    assert apart(w.layer_strip, w.view_box) and apart(w.legend, w.view_box)
    for run_curves, style in ((w.curves, Qt.PenStyle.SolidLine), (overlay_curves(w, "relu"), Qt.PenStyle.DashLine)):
        pens = [c.opts["pen"] for c in run_curves.values()]
        assert len(pens) == 10 and all(p.style() == style for p in pens)          # the run: line style
        lightness = [p.color().lightnessF() for p in pens]
        assert lightness == sorted(lightness) and lightness[-1] - lightness[0] > 0.4   # the layer: lightness
        assert len({p.color().name() for p in pens}) == 10
    hues = [{round(c.opts["pen"].color().hslHueF(), 1) for c in curves.values()}
            for curves in (w.curves, overlay_curves(w, "relu"))]
    assert hues[0].isdisjoint(hues[1])                                            # the run: hue
    # the lesson stays visible: sigmoid's ladder spans decades, ReLU's does not
    sig_y = [data(c)[1][-1] for c in w.curves.values()]
    relu_y = [data(c)[1][-1] for c in overlay_curves(w, "relu").values()]
    assert sig_y[-1] / sig_y[0] > 1e9 and relu_y[-1] / relu_y[0] < 3
    lo, hi = w.view_box.viewRange()[1]
    assert lo <= np.log10(min(sig_y)) and hi >= np.log10(max(relu_y))
    strip = w.layer_strip.sceneBoundingRect()      # every shade of both runs is painted in the strip
    y = w.plot_widget.mapTo(w, w.plot_widget.mapFromScene(strip.center())).y()
    painted = {image.pixelColor(x, yy).name() for x in range(image.width()) for yy in range(y - 6, y + 6)}
    assert sum(c.name() in painted for row in w.layer_strip.rows for c in row) >= 18


def test_hover_lists_every_run(qtbot):
    a, b = make_history(400), make_history(300, seed=2)
    w = shown(LossPlot(), qtbot)
    w.set_history(a)
    w.set_primary("A", RUN_COLOURS[0])
    w.set_overlays([Overlay("b", "lr 0.3", b, RUN_COLOURS[1])])
    w.grab()
    at = w.plot_widget.mapFromScene(w.view_box.mapViewToScene(QPointF(350, 0.4)))
    qtbot.mouseMove(w.plot_widget.viewport(), at)
    lines = w.readout.text().split("\n")
    assert lines[0].startswith("epoch ") and lines[1].startswith("A: train ")
    assert lines[2].startswith("lr 0.3: train ") and "(epoch 300)" in lines[2]   # B has 300 epochs only


def test_legend_click_hides_a_run(qtbot):
    a, b = make_history(100), make_history(100, seed=1)
    w = shown(LossPlot(), qtbot)
    w.set_history(a)
    w.set_overlays([Overlay("b", "B", b, RUN_COLOURS[1])])
    sample = next(s for s, label in w.legend.items if label.text == "B")
    sample.item.setVisible(False)                 # what a click on the sample does
    w._on_legend_clicked(sample.item)
    assert not any(c.isVisible() for c in overlay_curves(w, "b").values())
    assert w.curves["train"].isVisible()
    test = next(s for s, label in w.legend.items if label.text == "test")
    test.item.setVisible(False)
    w._on_legend_clicked(test.item)               # "test" off: in every run
    assert not w.curves["test"].isVisible() and w.curves["train"].isVisible()
    sample.item.setVisible(True)
    w._on_legend_clicked(sample.item)
    assert overlay_curves(w, "b")["train"].isVisible() and not overlay_curves(w, "b")["test"].isVisible()


def test_near_zero_axis_stays_0_to_1_with_runs_and_histograms_per_run(qtbot):
    def run(share, seed):
        h = History(3)
        for e in range(1, 101):
            h.append({"epoch": e}, {"near_zero": np.array([share * e / 100, share / 2, 0.0]),
                                    "weight_norm": np.array([3.0, 2.0, 1.0])})
        return h
    rng = np.random.default_rng(0)
    shapes = ((2, 8), (8, 8), (8, 1))
    l1 = plots.weight_histograms([rng.laplace(0, 0.02, shape) for shape in shapes])
    l2 = plots.weight_histograms([rng.normal(0, 0.3, shape) for shape in shapes])
    w = shown(WeightsPlot(), qtbot, size=(700, 300))
    w.set_history(run(0.07, 0))
    w.set_weight_histograms(l2)
    w.set_primary("L2 0.03", RUN_COLOURS[1])
    w.set_overlays([Overlay("l1", "L1 0.003", run(0.8, 1), RUN_COLOURS[0], weight_histograms=l1)])
    lo, hi = w.view_box.viewRange()[1]
    assert lo == pytest.approx(0.0) and 1.0 <= hi <= 1.05
    # one outline per run, in the run's colour, counting all its weights
    shown_hists = [c for c in w._hist_curves if c.isVisible()]
    assert [c.opts["pen"].color().name() for c in shown_hists] == [RUN_COLOURS[1].lower(), RUN_COLOURS[0].lower()]
    assert data(shown_hists[1])[1].sum() == 2 * 8 + 8 * 8 + 8
    assert w.per_layer_button.isVisible()
    w.per_layer_button.setChecked(True)           # each layer of each run: shades of the run's colour
    shown_hists = [c for c in w._hist_curves if c.isVisible()]
    assert len(shown_hists) == 6
    assert [data(c)[1].sum() for c in shown_hists[3:]] == [16, 64, 8]
    w.log_count_button.setChecked(True)
    assert all((data(c)[1] > 0).all() for c in shown_hists)
    w.set_overlays([Overlay("l1", "L1 0.003", run(0.8, 1), RUN_COLOURS[0], weight_histograms=[([0, 1], [1, 2])])])
    assert sum(c.isVisible() for c in w._hist_curves) == 3   # a run's bad histograms are left out, no crash


def test_learning_rates_of_runs(qtbot):
    w = shown(LearningRatePlot(), qtbot)
    w.set_history(lr_history(np.full(30, 0.03)))
    w.set_primary("A", RUN_COLOURS[0])
    w.set_overlays([Overlay("b", "B", lr_history(np.full(20, 0.03)), RUN_COLOURS[1])])
    assert w.compact and "every run" in w.constant_note.text()
    w.set_overlays([Overlay("b", "lr 0.3", lr_history(np.full(20, 0.3)), RUN_COLOURS[1])])
    assert not w.compact                          # different rates: plotted
    assert legend_labels(w) == ["A", "lr 0.3"]
    np.testing.assert_array_equal(data(overlay_curves(w, "b")["learning_rate"])[1], np.full(20, 0.3))


def test_pins_stay_behind_and_faded(qtbot):
    w = shown(LossPlot(), qtbot)
    w.set_history(make_history(100))
    w.set_overlays([Overlay("pin1", "ReLU @ epoch 400", make_history(100, seed=1), "#CC79A7", faded=True)])
    assert "pin: ReLU @ epoch 400" in legend_labels(w)
    assert legend_labels(w)[0] == plots.PRIMARY_LABEL       # the window's run, named for the comparison
    pin = overlay_curves(w, "pin1")["train"]
    assert pin.zValue() < w.curves["train"].zValue() and not plots.is_bold(pin)
    colour = pin.opts["pen"].color()
    assert colour.name() != "#cc79a7" and colour.lightness() > QColor("#CC79A7").lightness()


@pytest.mark.parametrize("k", [2, 4])
def test_rendered_runs_are_readable(qtbot, tmp_path, k):
    """Pictures for a person to look at (saved under tmp_path); checks that every run's colour is
    painted and that the legend and strip sit outside the data area."""
    sig, relu = sigmoid_vs_relu(400)
    histories = [sig, relu, make_history(400, n_layers=10, seed=2), make_history(300, n_layers=10, seed=3)][:k]
    labels = ["sigmoid", "ReLU", "tanh", "no regularization"][:k]
    for cls in (LossPlot, GradientPlot, WeightsPlot):
        for size in ((700, 300), (480, 260)):
            w = shown(cls(), qtbot, size=size)
            w.set_history(histories[0])
            w.set_primary(labels[0], RUN_COLOURS[0])
            w.set_overlays([Overlay(f"r{i}", labels[i], histories[i], RUN_COLOURS[i]) for i in range(1, k)])
            QApplication.processEvents()
            image = w.grab().toImage()
            assert image.save(str(tmp_path / f"{cls.__name__}_{k}_{size[0]}.png"))
            assert apart(w.legend, w.view_box)
            assert legend_labels(w)[:k] == labels
            assert w.view_box.height() >= 60, (cls.__name__, size, w.view_box.height())
            hues = {}
            for x in range(0, image.width(), 2):
                for y in range(0, image.height(), 2):
                    c = image.pixelColor(x, y)
                    if c.hsvSaturation() > 90:
                        hues[c.hsvHue() // 10] = hues.get(c.hsvHue() // 10, 0) + 1
            for colour in RUN_COLOURS[:k]:
                h = QColor(colour).hsvHue() // 10
                assert sum(hues.get(b, 0) for b in (h - 1, h, h + 1)) > 10, (cls.__name__, colour)


def test_four_runs_of_ten_layers_and_ten_thousand_epochs_stay_cheap(qtbot):
    n, k, layers = 10_000, 4, 10
    full = [make_rows(0, n + 100, n_layers=layers, seed=i) for i in range(k)]
    hists = []
    for rows in full:
        h = History(layers, capacity=n + 100)
        h.extend({c: v[:n] for c, v in rows.items()})
        hists.append(h)
    loss, grad = shown(LossPlot(), qtbot, size=(700, 300)), shown(GradientPlot(), qtbot, size=(700, 300))
    for w in (loss, grad):
        w.set_history(hists[0])
        w.set_primary("A", RUN_COLOURS[0])
        w.set_overlays([Overlay(f"r{i}", f"run {i}", hists[i], RUN_COLOURS[i]) for i in range(1, k)])
        w.grab()
    items = {w: list(w.plot_item.items) for w in (loss, grad)}
    refresh, paint = {loss: [], grad: []}, {loss: [], grad: []}
    for frame in range(10):
        for h, rows in zip(hists, full):
            s = len(h)
            h.extend({c: v[s:s + 10] for c, v in rows.items()})
        for w in (loss, grad):
            t = time.perf_counter()
            w.refresh()
            refresh[w].append(time.perf_counter() - t)
            t = time.perf_counter()
            w.plot_widget.grab()
            paint[w].append(time.perf_counter() - t)
    for w, name in ((loss, "loss"), (grad, "gradient")):
        assert w.plot_item.items == items[w]                     # curves updated, never recreated
        drawn = [len(data(c)[0]) for run in w._runs() for c in run.curves.values() if c.isVisible()]
        assert max(drawn) <= 2 * 1024                            # about one min/max stroke per pixel column
        print(f"\n{name} plot, {k} runs x {layers} layers x {n} epochs: refresh median "
              f"{1e3 * np.median(refresh[w]):.1f} ms, paint median {1e3 * np.median(paint[w]):.1f} ms")
        assert np.median(refresh[w]) < 0.25 and np.median(paint[w]) < 0.5   # loose: a shared, loaded machine


def test_many_pins_share_one_legend_entry_and_leave_room_for_the_curves(qtbot):
    w = shown(LossPlot(), qtbot, size=(480, 260))
    w.set_history(make_history(300))
    w.set_primary("a run with a rather long descriptive name", RUN_COLOURS[0])
    runs = [Overlay(f"r{i}", f"run {i}", make_history(300, seed=i), RUN_COLOURS[i]) for i in (1, 2, 3)]
    pins = [Overlay(f"pin{i}", f"ReLU, 3x8, lr 0.0{i} @ epoch {100 * i}", make_history(100 * i, seed=10 + i),
                    "#CC79A7", faded=True) for i in range(1, 7)]
    w.set_overlays(runs + pins)
    QApplication.processEvents()
    labels = legend_labels(w)
    assert labels[:4] == ["a run with a rather long…", "run 1", "run 2", "run 3"] and "6 pins" in labels
    assert labels[5:] == ["train", "test", "validation"]   # and what the line styles mean
    full = next(lab for _, lab in w.legend.items if lab.text.startswith("a run"))
    assert full.toolTip() == "a run with a rather long descriptive name"
    assert w.view_box.height() >= 80, w.view_box.height()
    assert apart(w.legend, w.view_box)
    sample = next(s for s, lab in w.legend.items if lab.text == "6 pins")
    sample.item.setVisible(False)
    w._on_legend_clicked(sample.item)               # one click hides every pin
    assert not any(c.isVisible() for p in pins for c in overlay_curves(w, p.key).values())
    assert w.curves["train"].isVisible() and overlay_curves(w, "r1")["train"].isVisible()
    w.set_overlays(runs + pins[:2])                 # two pins: named one by one again
    assert "pin: ReLU, 3x8, lr 0.01 @…" in legend_labels(w)


def test_log_axis_writes_each_tick_label_once(qtbot):
    w = shown(WeightsPlot(), qtbot, size=(700, 300))
    w.set_weight_histograms([(np.linspace(-1, 1, 5), [1, 80, 3, 0])])
    w.log_count_button.setChecked(True)
    axis = w.hist_item.getAxis("left")
    lo, hi = w.hist_item.getViewBox().viewRange()[1]
    labels = [t for spacing, values in axis.tickValues(lo, hi, 250)
              for t in axis.tickStrings(values, 1.0, spacing) if t]
    assert "10" in labels and len(labels) == len(set(labels)), labels


def test_epoch_ticks_do_not_run_together_in_a_narrow_plot(qtbot):
    w = shown(LossPlot(), qtbot, size=(125, 260))   # a loss dock in a 1024 x 700 window of two runs
    w.set_history(make_history(300))
    w.grab()
    axis = w.plot_item.getAxis("bottom")
    lo, hi = w.view_box.viewRange()[0]
    width = w.view_box.width()
    major_spacing, values = axis.tickValues(lo, hi, width)[0]
    labels = axis.tickStrings(values, 1.0, major_spacing)
    px_apart = major_spacing * width / (hi - lo)
    assert px_apart >= 7 * max(len(t) for t in labels) + 8, (labels, px_apart)   # a label and a gap
    wide = shown(LossPlot(), qtbot, size=(700, 300))   # a wide plot keeps its finer ticks
    wide.set_history(make_history(300))
    wide.grab()
    lo, hi = wide.view_box.viewRange()[0]
    assert len(wide.plot_item.getAxis("bottom").tickValues(lo, hi, wide.view_box.width())[0][1]) >= 5
