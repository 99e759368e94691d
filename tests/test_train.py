"""The compiled training loop: every row once per epoch, schedules, early stopping,
noise, reproducibility and bad input."""

import numba
import numpy as np
import pytest

import gdlib
from gdlib import data, models, schedules
from gdlib.models.base import Model
from gdlib.epoch import compiled_epoch
from gdlib.train import epoch_order, train


@numba.njit(cache=True)
def _counting_loss_grad(theta, X, y, idx, grad, spec, buffers, mode):
    """A stand-in model that counts how often each row is visited (in ``buffers``)."""
    for r in range(idx.size):
        buffers[idx[r]] += 1.0
    grad[:] = 0.0
    return float(idx.size)


@pytest.mark.parametrize("n, batch_size", [(50, 7), (50, 50), (50, 1), (64, 16), (10, 3)])
@pytest.mark.parametrize("order", ["shuffle", "fixed"])
def test_every_row_is_visited_exactly_once_per_epoch(n, batch_size, order):
    opt = gdlib.SGD()
    theta = np.zeros(1)
    state = opt.init(theta)
    counts = np.zeros(n)
    batch_sizes = np.empty((n + batch_size - 1) // batch_size)
    X, y = np.zeros((n, 1)), np.zeros(n)
    for epoch in (1, 2):
        rows = epoch_order(n, epoch, order=order, seed=5)
        steps, status = compiled_epoch(opt, theta, state, _counting_loss_grad, X, y, rows, batch_size,
                                       spec=np.zeros(1, np.int64), buffers=counts, step_losses=batch_sizes)
        assert status == "ok" and steps == len(batch_sizes)
        np.testing.assert_array_equal(counts, epoch)  # each row once more, none skipped or repeated
    # the last batch holds the remainder
    expected = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    np.testing.assert_array_equal(batch_sizes, expected)


@pytest.mark.parametrize("opt", [gdlib.SGD(eta=0.1), gdlib.Nesterov(eta=0.05), gdlib.Adam(eta=0.01)])
def test_the_readable_epoch_takes_the_steps_of_the_compiled_one(opt):
    from gdlib.train import minibatch_epoch

    d = data.blobs(n=200, p=4, seed=3)
    m = models.MLP(4, 3, (8,))
    r = train(m, opt, d, epochs=2, batch_size=16, seed=4)
    theta, state = m.init_params(4), opt.init(m.init_params(4))
    for epoch in (1, 2):
        rows = epoch_order(len(d.y_train), epoch, seed=4)
        minibatch_epoch(m, opt, theta, state, d.X_train, d.y_train, batch_size=16, rows=rows)
    np.testing.assert_allclose(theta, r.theta, rtol=1e-12, atol=1e-14)


def test_shuffle_changes_every_epoch_and_is_seeded():
    a1, a2 = epoch_order(100, 1, seed=0), epoch_order(100, 2, seed=0)
    assert not np.array_equal(a1, a2)
    np.testing.assert_array_equal(a1, epoch_order(100, 1, seed=0))
    np.testing.assert_array_equal(np.sort(a1), np.arange(100))


def test_curriculum_orders_rows_easy_to_hard():
    difficulty = np.array([3.0, 1.0, 2.0, 0.5])
    np.testing.assert_array_equal(epoch_order(4, 1, order="curriculum", difficulty=difficulty), [3, 1, 2, 0])


def test_training_is_reproducible_bit_for_bit():
    d = data.blobs(n=300, p=4, seed=1)
    m = models.MLP(4, 3, (8,), batchnorm=True)
    runs = [train(m, gdlib.Adam(eta=0.01), d, epochs=3, batch_size=16, seed=7, gradient_noise=(0.01, 0.55),
                  record_steps=True) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].theta, runs[1].theta)
    np.testing.assert_array_equal(runs[0].buffers, runs[1].buffers)
    assert runs[0].history.step_loss == runs[1].history.step_loss
    other = train(m, gdlib.Adam(eta=0.01), d, epochs=3, batch_size=16, seed=8, gradient_noise=(0.01, 0.55))
    assert not np.array_equal(runs[0].theta, other.theta)


def test_batch_stochastic_and_minibatch_take_the_expected_number_of_steps():
    d = data.blobs(n=100, p=2, seed=0)  # 60 training rows
    m = models.SoftmaxRegression(2, 3)
    for batch_size, steps in (("full", 1), (1, 60), (25, 3)):
        r = train(m, gdlib.SGD(eta=0.1), d, epochs=2, batch_size=batch_size)
        assert r.steps == 2 * steps and r.state.t == 2 * steps


def test_full_batch_training_equals_gradient_descent_by_hand():
    d = data.linear(n=40, p=3, seed=0)
    m = models.LinearRegression(3)
    theta0 = m.init_params(1)
    r = train(m, gdlib.SGD(eta=0.1), d, epochs=5, batch_size="full", theta0=theta0, order="fixed")
    theta = theta0.copy()
    for _ in range(5):
        theta -= 0.1 * m.gradient(theta, d.X_train, d.y_train)
    np.testing.assert_allclose(r.theta, theta, rtol=1e-13)


def test_schedules_give_the_documented_factors():
    t = np.arange(1, 8)
    np.testing.assert_allclose(schedules.Constant()(t), 1.0)
    np.testing.assert_allclose(schedules.StepDecay(every=3, factor=0.5)(t), [1, 1, 1, 0.5, 0.5, 0.5, 0.25])
    np.testing.assert_allclose(schedules.Exponential(rate=0.1)(t), np.exp(-0.1 * (t - 1)))
    np.testing.assert_allclose(schedules.InverseTime(tau=2.0)(t), 1 / (1 + (t - 1) / 2.0))


def test_the_compiled_loop_applies_the_schedule_step_by_step():
    d = data.linear(n=20, p=2, seed=0)
    m = models.LinearRegression(2)
    theta0 = m.init_params(0)
    sched = schedules.StepDecay(every=2, factor=0.1)
    r = train(m, gdlib.SGD(eta=0.1), d, epochs=4, batch_size="full", theta0=theta0, schedule=sched)
    theta = theta0.copy()
    for t in range(1, 5):
        theta -= 0.1 * sched(t) * m.gradient(theta, d.X_train, d.y_train)
    np.testing.assert_allclose(r.theta, theta, rtol=1e-13)


def test_plateau_schedule_cuts_the_rate_when_validation_stalls():
    d = data.linear(n=200, p=3, noise=0.5, seed=0)
    m = models.LinearRegression(3)
    r = train(m, gdlib.SGD(eta=0.05), d, epochs=30, batch_size=10,
              plateau=schedules.Plateau(factor=0.5, threshold=0.01, patience=1))
    etas = np.array(r.history.eta[1:])
    assert etas[0] == 0.05 and etas[-1] < 0.05
    assert np.all(np.diff(etas) <= 0)


def test_plateau_counts_stalled_epochs_and_restarts_with_each_run():
    plateau = schedules.Plateau(factor=0.5, threshold=0.1, patience=1)
    plateau.start(10.0)
    # 8 improves on 10 by 20%; 7.9 and 7.5 by less than 10% of the best (8): the second stall cuts η;
    # 7.0 and 6.0 improve on the best by more than 10% again
    assert [plateau.update(loss) for loss in (8.0, 7.9, 7.5, 7.0, 6.0)] == [1.0, 1.0, 0.5, 0.5, 0.5]
    assert plateau.best == 6.0 and plateau.count == 0
    plateau.start(1.0)  # a new run starts from the multiplier 1
    assert (plateau.scale, plateau.count, plateau.best) == (1.0, 0, 1.0)


def test_early_stopping_returns_the_best_parameters():
    d = data.blobs(n=200, p=20, n_classes=3, separation=1.0, seed=0)  # small, noisy: it overfits
    m = models.MLP(20, 3, (64,))
    r = train(m, gdlib.Adam(eta=0.01), d, epochs=60, batch_size=8, early_stopping=3)
    assert r.stopped_early
    val = m.loss(r.theta, d.X_val, d.y_val)
    assert val == pytest.approx(min(r.history.val_loss), rel=1e-12)
    assert val == pytest.approx(r.history.val_loss[r.best_epoch], rel=1e-12)
    assert len(r.history.val_loss) - 1 == r.best_epoch + 3 + 1  # stopped after the patience ran out


def test_gradient_noise_has_the_annealed_variance():
    """With a zero gradient, SGD's displacement after T steps is η Σ_t N(0, σ_t²)."""
    zeros = data.split(np.zeros((2500, 1)), np.zeros(2500), fractions=(0.8, 0.1, 0.1))  # 2000 training rows
    m = models.LinearRegression(1)
    eta_noise, gamma = 0.5, 0.55
    finals = [train(m, gdlib.SGD(eta=1.0), zeros, epochs=1, batch_size=1, theta0=np.zeros(2),
                    gradient_noise=(eta_noise, gamma), seed=seed).theta[0] for seed in range(200)]
    expected_var = sum(eta_noise / (1 + t) ** gamma for t in range(2000))
    # the sample variance of 200 normal draws is within 25% of the truth with probability > 0.99
    assert np.var(finals) == pytest.approx(expected_var, rel=0.25)
    assert abs(np.mean(finals)) < 4 * np.sqrt(expected_var / 200)


def test_training_reaches_good_accuracy_on_digits():
    d = data.digits()
    r = train(models.SoftmaxRegression(64, 10), gdlib.Adam(eta=0.01), d, epochs=10, batch_size=32)
    assert r.history.val_accuracy[-1] > 0.93
    assert r.history.train_loss[-1] < r.history.train_loss[0] / 5


def test_divergence_is_reported_not_hidden():
    d = data.linear(n=100, p=3, seed=0)
    r = train(models.LinearRegression(3), gdlib.SGD(eta=50.0), d, epochs=50, batch_size=10)
    assert r.status in ("diverged", "nonfinite_gradient")


def test_a_run_that_explodes_but_stays_finite_is_diverged():
    # full-batch GD past the stability limit: the loss grows geometrically and stays finite for a long time
    d = data.linear(n=200, p=3, seed=0)
    m = models.LinearRegression(3)
    unchecked = train(m, gdlib.SGD(eta=3.0), d, epochs=20, batch_size="full", diverge_above=1e300)
    assert unchecked.status == "ok" and np.isfinite(unchecked.theta).all()  # finite, yet blown up:
    assert unchecked.history.train_loss[-1] > 1e9 * unchecked.history.train_loss[0]
    r = train(m, gdlib.SGD(eta=3.0), d, epochs=20, batch_size="full")  # the default check catches it
    assert r.status == "diverged"
    assert r.history.train_loss[-1] > 100 * r.history.train_loss[0]  # the epoch that crossed the line
    assert all(loss <= 100 * r.history.train_loss[0] for loss in r.history.train_loss[:-1])
    assert len(r.history.train_loss) < 21  # stopped there


def test_a_healthy_run_is_ok():
    d = data.linear(n=200, p=3, seed=0)
    r = train(models.LinearRegression(3), gdlib.SGD(eta=0.5), d, epochs=20, batch_size="full")
    assert r.status == "ok" and len(r.history.train_loss) == 21
    assert r.history.train_loss[-1] < r.history.train_loss[0] / 100


def test_divergence_edge_cases():
    d = data.linear(n=200, p=3, seed=0)
    m = models.LinearRegression(3)
    # at the edge of stability the loss rises about 12-fold, below the default multiple of 100: "ok"
    edge = train(m, gdlib.SGD(eta=2.0), d, epochs=20, batch_size="full")
    assert edge.status == "ok"
    assert 1 < max(edge.history.train_loss) / edge.history.train_loss[0] < 100
    # a stricter multiple calls the same run diverged
    assert train(m, gdlib.SGD(eta=2.0), d, epochs=20, batch_size="full", diverge_above=5).status == "diverged"
    # from an exact minimum (loss 0) the relative test is meaningless: only a non-finite loss counts
    X = d.X_train
    exact = data.split(np.vstack([X, d.X_val]), np.concatenate([X @ [1.0, -2.0, 0.5], d.X_val @ [1.0, -2.0, 0.5]]))
    r = train(m, gdlib.SGD(eta=0.1), exact, epochs=3, batch_size=16, theta0=np.array([1.0, -2.0, 0.5, 0.0]))
    assert r.history.train_loss[0] == 0 and r.status == "ok"


@pytest.mark.parametrize("bad", [1, 0.5, -3, "large", True])
def test_diverge_above_must_be_a_multiple_above_one(bad):
    d = data.linear(n=100, p=3, seed=0)
    with pytest.raises(ValueError, match="diverge_above must be a number > 1"):
        train(models.LinearRegression(3), gdlib.SGD(), d, diverge_above=bad)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(batch_size=0), ValueError, "batch_size must be between 1"),
    (dict(batch_size=10_000), ValueError, "batch_size must be between 1"),
    (dict(batch_size=2.5), TypeError, "batch_size must be a whole number"),
    (dict(epochs=0), ValueError, "epochs must be"),
    (dict(epochs=True), ValueError, "epochs must be a whole number"),
    (dict(order="random"), ValueError, "order must be one of"),
    (dict(order="curriculum"), ValueError, "needs difficulty"),
    (dict(order="curriculum", difficulty=np.ones(3)), ValueError, "difficulty must hold"),
    (dict(early_stopping=-1), ValueError, "patience"),
    (dict(gradient_noise=(0.1,)), ValueError, "eta_noise, gamma"),
    (dict(gradient_noise=(-0.1, 0.5)), ValueError, "must be > 0"),
    (dict(schedule="1/t"), TypeError, "gdlib.schedules"),
    (dict(theta0=np.zeros(5)), ValueError, "flat vector of"),
])
def test_train_bad_input(kwargs, error, words):
    d = data.blobs(n=100, p=2, seed=0)  # 60 training rows
    with pytest.raises(error, match=words):
        train(models.SoftmaxRegression(2, 3), gdlib.SGD(), d, **kwargs)


def test_train_rejects_bad_data():
    m = models.SoftmaxRegression(2, 3)
    bad = data.split(np.ones((20, 3)), np.zeros(20))
    with pytest.raises(ValueError, match="X has 3 features"):
        train(m, gdlib.SGD(), bad, batch_size=4)
    with pytest.raises(TypeError, match="gdlib.data.Split"):
        train(m, gdlib.SGD(), (np.ones((20, 2)), np.zeros(20)))
    with pytest.raises(TypeError, match="gdlib optimizer"):
        train(m, "adam", data.blobs(n=100, p=2))
    assert isinstance(m, Model)


@pytest.mark.parametrize("theta", [np.zeros(3, np.int64), np.zeros(3, np.float16), [0.0, 0.0, 0.0]])
def test_compiled_epoch_names_a_theta_it_cannot_run(theta):
    opt = gdlib.SGD()
    state = opt.init(np.zeros(3))
    with pytest.raises(TypeError, match="float32 or float64"):
        compiled_epoch(opt, theta, state, _counting_loss_grad, np.zeros((4, 1)), np.zeros(4), np.arange(4), 2,
                       spec=np.zeros(1, np.int64), buffers=np.zeros(4))
