import math

import numpy as np
import pytest

from nnviz.data.generators import DATASETS, MULTICLASS_DATASETS, REGRESSION_DATASETS, generate
from nnviz.data.points import TEST, TRAIN, VALIDATION
from nnviz.errors import DataError

ALL_KINDS = DATASETS + REGRESSION_DATASETS


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_kind_gives_exactly_n_points_in_playground_range(kind):
    for n in (1, 2, 7, 201):
        points = generate(kind, n=n, noise=0.5, seed=1)
        assert len(points) == n
    points = generate(kind, n=400, noise=0.0, seed=2)
    assert np.abs(points.xy).max() <= 6.5
    assert np.abs(points.xy).max() >= 3.0  # spread over the plane, not collapsed at the origin


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_same_seed_same_points_and_new_seed_new_points(kind):
    a = generate(kind, n=100, noise=0.2, seed=5)
    assert a == generate(kind, n=100, noise=0.2, seed=5)
    assert a != generate(kind, n=100, noise=0.2, seed=6)


@pytest.mark.parametrize("kind", DATASETS)
def test_classification_labels_are_balanced_class_indices(kind):
    points = generate(kind, n=400, noise=0.0, seed=3)
    assert set(np.unique(points.target)) == {0.0, 1.0}
    share = points.target.mean()
    assert 0.3 < share < 0.7
    points.check_classification()


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_roles_follow_pointset_resplit(kind):
    points = generate(kind, n=101, noise=0.1, seed=9, train_fraction=0.6, validation_fraction=0.2)
    assert points.count(TRAIN) == round(0.6 * 101)
    assert points.count(VALIDATION) == round(0.2 * 101)
    assert points.count(TEST) == 101 - points.count(TRAIN) - points.count(VALIDATION)
    all_train = generate(kind, n=101, noise=0.1, seed=9, train_fraction=1.0)
    assert points == all_train.resplit(0.6, 9, 0.2)


def test_circle_without_noise_labels_inside_radius_2_5_as_class_1():
    points = generate("circle", n=500, seed=4)
    r = np.hypot(points.xy[:, 0], points.xy[:, 1])
    assert np.array_equal(points.target == 1, r < 2.5)
    assert r[points.target == 0].min() >= 3.5 - 1e-9  # the ring starts at 0.7 x 5


def test_xor_without_noise_labels_by_quadrant_and_keeps_off_the_axes():
    points = generate("xor", n=500, seed=4)
    x, y = points.xy.T
    assert np.array_equal(points.target == 1, x * y >= 0)
    assert np.abs(points.xy).min() >= 0.3


@pytest.mark.parametrize("kind", ["circle", "xor", "linear"])
def test_noise_flips_labels_near_the_boundary(kind):
    clean = generate(kind, n=1000, noise=0.0, seed=8)
    noisy = generate(kind, n=1000, noise=0.5, seed=8)
    rule = {"circle": lambda p: np.hypot(*p.xy.T) < 2.5,
            "xor": lambda p: p.xy[:, 0] * p.xy[:, 1] >= 0}
    if kind in rule:
        assert np.array_equal(clean.target == 1, rule[kind](clean))
        disagree = np.mean((noisy.target == 1) != rule[kind](noisy))
        assert 0.05 < disagree < 0.5
    else:
        assert _min_gap(noisy) < _min_gap(clean)


def _min_gap(points):
    a, b = points.xy[points.target == 0], points.xy[points.target == 1]
    return np.min(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2))


def test_linear_is_separable_with_a_margin():
    for seed in range(5):
        points = generate("linear", n=300, seed=seed)
        # Classes lie on opposite sides of a line with no point within 1 of it: at least 2 apart.
        assert _min_gap(points) >= 2.0 - 1e-9


def test_two_gaussians_sit_at_playground_centres_with_noise_widening_them():
    points = generate("gaussian", n=4000, noise=0.0, seed=1)
    for cls, centre in ((1, (2, 2)), (0, (-2, -2))):
        xy = points.xy[points.target == cls]
        assert np.allclose(xy.mean(axis=0), centre, atol=0.1)
        assert xy.std(axis=0) == pytest.approx([math.sqrt(0.5)] * 2, rel=0.08)
    wide = generate("gaussian", n=4000, noise=0.5, seed=1)
    assert wide.xy[wide.target == 1].std(axis=0) == pytest.approx([2.0, 2.0], rel=0.08)  # variance 4


def test_spiral_without_noise_lies_on_playground_arms():
    points = generate("spiral", n=400, seed=0)
    x, y = points.xy.T
    r = np.hypot(x, y)
    assert r.max() < 5.0
    # Playground: radius r = 5 i/n and angle t = 1.75 * 2 pi * i/n + delta, with x = r sin t, y = r cos t.
    delta = np.where(points.target == 1, 0.0, math.pi)
    expected = 1.75 * 2 * math.pi * r / 5.0 + delta
    diff = np.angle(np.exp(1j * (np.arctan2(x, y) - expected)))
    assert np.abs(diff[r > 1e-9]).max() < 1e-9


def test_moons_without_noise_lie_on_two_half_circles():
    points = generate("moons", n=300, seed=0)
    u = points.xy / 3.5 + [0.5, 0.25]
    upper, lower = u[points.target == 0], u[points.target == 1]
    assert np.allclose(np.hypot(*upper.T), 1.0)
    assert np.all(upper[:, 1] >= -1e-9)
    assert np.allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert np.all(lower[:, 1] <= 0.5 + 1e-9)


def test_regress_plane_without_noise_is_playground_label_scale():
    points = generate("plane", n=300, seed=0)
    assert np.allclose(points.target, points.xy.sum(axis=1) / 10.0)
    noisy = generate("plane", n=300, noise=0.3, seed=0)
    assert not np.allclose(noisy.target, noisy.xy.sum(axis=1) / 10.0)


def test_regress_gaussians_is_zero_far_from_bumps_and_signed_near_them():
    points = generate("gaussians", n=2000, seed=0)
    centres = np.array([(-4, 2.5), (0, 2.5), (4, 2.5), (-4, -2.5), (0, -2.5), (4, -2.5)])
    signs = np.array([1, -1, 1, -1, 1, -1])
    dist = np.linalg.norm(points.xy[:, None, :] - centres[None], axis=2)
    far = dist.min(axis=1) >= 2.0
    assert np.all(points.target[far] == 0)
    near = dist.min(axis=1) < 1.5
    assert np.all(np.sign(points.target[near]) == signs[dist[near].argmin(axis=1)])
    assert np.abs(points.target).max() <= 1.0


@pytest.mark.parametrize("kind", MULTICLASS_DATASETS)
@pytest.mark.parametrize("n_classes", [3, 4])
def test_multiclass_sets_have_balanced_classes(kind, n_classes):
    points = generate(kind, n=401, seed=2, n_classes=n_classes)
    counts = np.bincount(points.target.astype(int))
    assert len(counts) == n_classes and counts.min() >= 401 // n_classes
    assert points.n_classes() == n_classes
    points.check_classification()


def test_multiclass_gaussian_blobs_are_separated():
    points = generate("gaussian", n=800, seed=2, n_classes=4)
    means = np.array([points.xy[points.target == c].mean(axis=0) for c in range(4)])
    gaps = np.linalg.norm(means[:, None] - means[None], axis=2) + np.eye(4) * 99
    assert gaps.min() > 3.0


@pytest.mark.parametrize("kwargs, words", [
    ({"kind": "spirals"}, ["spirals", "circle", "xor", "moons", "linear", "plane", "gaussians"]),
    ({"kind": None}, ["unknown kind"]),
    ({"n": 0}, ["n:", "1", "100000"]),
    ({"n": 100_001}, ["n:", "100000"]),
    ({"n": 2.5}, ["n:", "whole number"]),
    ({"n": True}, ["n:", "whole number"]),
    ({"noise": -0.1}, ["noise", "0 to 1"]),
    ({"noise": 1.5}, ["noise", "0 to 1"]),
    ({"noise": float("nan")}, ["noise"]),
    ({"noise": "lots"}, ["noise", "number"]),
    ({"train_fraction": 1.2}, ["train_fraction"]),
    ({"train_fraction": -0.2}, ["train_fraction"]),
    ({"validation_fraction": 2.0}, ["validation_fraction"]),
    ({"train_fraction": 0.7, "validation_fraction": 0.5}, ["validation_fraction", "more than 1"]),
    ({"seed": -1}, ["seed"]),
    ({"n_classes": 5}, ["n_classes"]),
    ({"n_classes": 1}, ["n_classes"]),
    ({"kind": "circle", "n_classes": 3}, ["n_classes", "gaussian", "spiral"]),
])
def test_invalid_arguments_raise_data_error_naming_them(kwargs, words):
    kwargs = {"kind": "gaussian", **kwargs}
    with pytest.raises(DataError) as info:
        generate(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_fractions_that_add_up_to_one_exactly_are_accepted():
    points = generate("xor", n=10, train_fraction=0.7, validation_fraction=0.3)
    assert points.count(TEST) == 0
