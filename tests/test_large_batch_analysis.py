"""gdlib.large_batch_analysis: the numbers the large-batch chapter reads off its runs.

Each quantity is checked against a plain computation written out here on a
small made-up study, including the cases the chapter relies on: an unreached
target (infinite steps), the epoch's resolution of a step count, seeds that
meet or overlap, and runs whose best epoch is not their last.
"""

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest

from gdlib import schedules
from gdlib.large_batch_analysis import BatchStudy, decay_shrink, finite_population_factor

BATCHES = (32, 64, 1000)
SPE = {32: 32, 64: 16, 1000: 1}
ACC = {("A", 32): [0.97, 0.96, 0.98], ("A", 64): [0.95, 0.96, 0.955], ("A", 1000): [0.90, 0.91, 0.89],
       ("B", 32): [0.96, 0.97, 0.965], ("B", 64): [0.93, 0.94, 0.945], ("B", 1000): [0.85, 0.95, 0.80],
       ("C", 32): [0.95, 0.95, 0.95], ("C", 64): [0.96, 0.96, 0.96], ("C", 1000): [0.90, 0.90, 0.90]}
STEPS = {("A", 32): 320, ("A", 64): 64, ("A", 1000): np.inf,
         ("B", 32): 96, ("B", 64): 112, ("B", 1000): np.inf,
         ("C", 32): 160, ("C", 64): 80, ("C", 1000): 12}


@pytest.fixture
def study():
    return BatchStudy(test_accuracy={k: np.array(v) for k, v in ACC.items()}, steps_needed=dict(STEPS),
                      batch_sizes=BATCHES, steps_per_epoch=SPE)


def test_means_ranges_and_drops_are_those_of_the_seeds(study):
    assert study.names == ["A", "B", "C"]
    for (name, n), acc in ACC.items():
        assert study.mean(name, n) == pytest.approx(sum(acc) / len(acc), abs=1e-15)
        assert study.seed_range(name, n) == (min(acc), max(acc))
        assert study.spread(name, n) == pytest.approx(max(acc) - min(acc), abs=1e-15)
    assert study.drop("B", 32, 1000) == pytest.approx(0.965 - 0.8666666666666667, abs=1e-12)
    assert study.drop("C", 32, 64) < 0          # C gains accuracy from 32 to 64: a negative drop


def test_separated_means_every_seed_above_every_seed(study):
    # written out: a pair is separated when min(a) > max(b), pair by pair
    for n in BATCHES:
        expected = {(a, b) for a, b in itertools.product("AB", "BC")
                    if a != b and min(ACC[a, n]) > max(ACC[b, n])}
        assert study.separated(n, "AB", "BC") == expected
    assert study.separated(64, ["A"], ["B"]) == {("A", "B")}        # 0.95 > 0.945
    assert study.separated(1000, ["A"], ["B"]) == set()             # 0.89 < 0.95: the ranges overlap
    assert study.separated(32, ["A"], ["B"]) == set()               # 0.96 == 0.96 is not above: they meet


def test_margin_counts_test_images_between_the_nearest_seeds(study):
    assert study.margin_images(64, "A", "B", n_test=1000) == 5      # (0.95 − 0.945) × 1000
    assert study.margin_images(1000, "A", "B", n_test=100) == -6    # overlap: a negative margin


def test_reached_and_monotone_steps(study):
    assert study.reached("A") == {32, 64}
    assert study.reached("C") == set(BATCHES)
    assert study.steps("B") == [96.0, 112.0, math.inf]
    assert study.never_more_steps("A", up_to=64)
    assert not study.never_more_steps("B", up_to=64)                # 96 → 112
    assert study.never_more_steps("B", up_to=32)                    # one batch size: nothing to compare


def test_speedup_bounds_follow_from_the_epoch_resolution(study):
    # A: 320 steps at batch 32 (epochs of 32 steps) → first reached at step 289..320;
    #    64 at batch 64 (epochs of 16 steps) → at step 49..64
    low, high = study.speedup("A", 32, 64)
    assert (low, high) == (289 / 64, 320 / 49)
    # brute force over every pair of first steps the two counts allow
    ratios = [a / b for a in range(320 - 32 + 1, 321) for b in range(64 - 16 + 1, 65)]
    assert low == pytest.approx(min(ratios)) and high == pytest.approx(max(ratios))
    assert study.speedup("C", 64, 1000) == (65 / 12, 80 / 12)        # one step per epoch: exact at the large batch
    assert all(math.isnan(x) for x in study.speedup("A", 32, 1000))  # not reached: no ratio


def test_finite_population_factor_matches_the_sampling_variance():
    # variance of the mean of n draws without replacement from a population, by exhaustive enumeration
    population = np.array([0.0, 1.0, 3.0, 7.0, 8.0])
    sigma2 = population.var()
    for n in range(1, 6):
        means = [np.mean(c) for c in itertools.combinations(population, n)]
        assert np.var(means) == pytest.approx(sigma2 / n * finite_population_factor(n, 5), abs=1e-12)
    with pytest.raises(ValueError, match="batch_size <= n_total"):
        finite_population_factor(6, 5)


def test_decay_shrink_is_the_product_of_the_per_step_factors():
    etas = schedules.Cosine(total_steps=50, warmup=5).etas(0.01, 50)
    theta = np.ones(3)
    for eta in etas:            # decoupled decay alone, step by step
        theta = theta - eta * 0.1 * theta
    assert decay_shrink(etas, weight_decay=0.1) == pytest.approx(1 - theta[0], rel=1e-12)
    assert decay_shrink(np.zeros(4), weight_decay=0.1) == 0.0


def test_bad_input_says_what_is_wrong():
    with pytest.raises(ValueError, match="increase strictly"):
        BatchStudy({}, {}, (64, 32), {32: 1, 64: 1})
    with pytest.raises(ValueError, match="no entry for batch sizes"):
        BatchStudy({}, {}, (32, 64), {32: 1})
    with pytest.raises(ValueError, match="same"):
        BatchStudy({("A", 32): [1.0]}, {}, (32,), {32: 1})
