"""The distributed algorithms in the event simulator: Downpour, delay-tolerant AdaGrad, EASGD.

Exact equalities where the algorithm reduces to a serial one; statistics
over seeds where it is stochastic; and the seed's claims (delay-tolerant
AdaGrad beats plain asynchronous AdaGrad at large delays).
"""

import numba
import numpy as np
import pytest

import gdlib
from gdlib.parallel import (
    AdaptiveRevision, ParameterServer, async_adagrad, async_sgd, downpour, easgd, easgd_round, hogwild,
    logistic_loss, shard_gradients,
)
from gdlib.parallel.clock import Clock
from gdlib.surfaces import RAVINE, ROSENBROCK


def blobs_problem(seed=0):
    s = gdlib.data.blobs(n=1500, p=5, n_classes=2, separation=2.0, seed=seed)
    model = gdlib.models.LogisticRegression(s.n_features)
    return model, s.X_train, s.y_train


def best_loss(model, X, y):
    """An independent near-optimum: many full-batch Adam steps."""
    theta = np.zeros(model.n_params)
    opt = gdlib.Adam(eta=0.05)
    state = opt.init(theta)
    for _ in range(3000):
        opt.step(theta, model.gradient(theta, X, y), state)
    return model.loss(theta, X, y)


# ---------------------------------------------------------------- Downpour
@pytest.mark.parametrize("make, n_shards", [(lambda: gdlib.SGD(eta=1e-3), 1), (lambda: gdlib.Adagrad(eta=0.1), 2),
                                            (lambda: gdlib.Adam(eta=0.01), 2)])
def test_one_replica_fetching_and_pushing_every_step_is_serial_optimization(make, n_shards):
    """With one replica, no latency and n_fetch = n_push = 1 every gradient is fresh: the server's
    path is the serial path. Per-coordinate optimizers give the same result on any sharding."""
    run = downpour([ROSENBROCK.gradient_at], (-1.2, 1.0), 300, optimizer=make(), n_shards=n_shards)
    serial = gdlib.trajectory(make(), "rosenbrock", (-1.2, 1.0), 300).trajectory
    np.testing.assert_array_equal(run.path[n_shards::n_shards], serial[1:])
    assert run.updates == 300 * n_shards and np.all(run.staleness == 0)


def test_every_accrued_gradient_reaches_every_shard():
    """p replicas × ceil(n_steps / n_push) pushes × n_shards shard updates: none lost, none doubled,
    whatever the latency."""
    grads = [RAVINE.gradient_at] * 3
    run = downpour(grads, (1.0, 1.0), 23, optimizer=gdlib.SGD(eta=1e-3), n_fetch=4, n_push=5, n_shards=2,
                   latency=3.0, seed=1)
    assert run.updates == 3 * 5 * 2 and len(run.staleness) == run.updates and len(run.path) == run.updates + 1
    assert np.all(np.diff(run.times) >= 0)


def test_more_replicas_mean_staler_gradients():
    """Equal-speed replicas pushing every step: each gradient is about p − 1 updates old."""
    for p in (1, 2, 4, 8):
        run = downpour([RAVINE.gradient_at] * p, (1.0, 1.0), 50, optimizer=gdlib.SGD(eta=1e-3), spread=0.0,
                       jitter=0.0)
        assert run.staleness[p:].mean() == pytest.approx(p - 1, abs=0.01)


def test_downpour_converges_across_seeds():
    model, X, y = blobs_problem()
    target = best_loss(model, X, y)
    start = model.loss(np.zeros(model.n_params), X, y)
    for seed in range(3):
        shards = shard_gradients(model, X, y, 4, batch_size=8, seed=seed)
        run = downpour(shards, np.zeros(model.n_params), 400, optimizer=gdlib.Adagrad(eta=0.3), n_fetch=5,
                       n_push=5, n_shards=2, local_eta=0.05, latency=0.5, seed=seed)
        assert model.loss(run.theta, X, y) - target < 0.05 * (start - target)


def test_downpour_is_reproducible_from_its_seeds():
    model, X, y = blobs_problem()

    def run(seed):
        shards = shard_gradients(model, X, y, 3, batch_size=4, seed=seed)
        return downpour(shards, np.zeros(model.n_params), 50, n_fetch=3, n_push=2, latency=1.0, seed=seed).path

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


def test_shards_are_updated_independently():
    server = ParameterServer(np.arange(5.0), gdlib.SGD(eta=0.5), n_shards=2)
    assert [(s.start, s.stop) for s in server.slices] == [(0, 2), (2, 5)]
    server.push(1, np.ones(3))
    np.testing.assert_array_equal(server.theta, [0, 1, 1.5, 2.5, 3.5])
    assert server.versions.tolist() == [0, 1]


# ----------------------------------------------- delay-tolerant AdaGrad
def test_adaptive_revision_by_hand():
    """Two workers read θ_0 = 0; their gradients a then b arrive in that order (η = 1, ε = 0)."""
    a, b = 3.0, -1.0
    server = AdaptiveRevision([0.0], eta=1.0, eps=0.0)
    theta_read, g_old = server.read()
    server.update([a], g_old)                  # no backlog: AdaGrad's first step, −a/|a|
    assert server.theta[0] == pytest.approx(-1.0)
    server.update([b], g_old)                  # backlog g_bck = a
    z = a * a + b * b + 2 * b * a              # (a + b)² = 4 < z' = 9: z' stays 9
    assert server.z[0] == pytest.approx(z) and server.z_max[0] == pytest.approx(9.0)
    # η_old = η_new = 1/3: no revision; θ = −1 − b/3
    assert server.theta[0] == pytest.approx(-1.0 - b / 3)
    server = AdaptiveRevision([0.0], eta=1.0, eps=0.0)
    _, g_old = server.read()
    server.update([a], g_old)
    server.update([a], g_old)                  # same sign: z = 9 + 9 + 18 = 36, η_new = 1/6
    lr_old, lr_new = 1 / 3, 1 / 6
    assert server.theta[0] == pytest.approx(-1.0 - lr_new * a + (lr_old - lr_new) * a)


def test_adaptive_revision_without_delay_is_adagrad_exactly():
    run = async_adagrad(ROSENBROCK.gradient_at, (-1.2, 1.0), 500, eta=0.1, eps=1e-8, delay=0)
    serial = gdlib.trajectory(gdlib.Adagrad(eta=0.1, eps=1e-8), "rosenbrock", (-1.2, 1.0), 500).trajectory
    np.testing.assert_array_equal(run.path, serial)


def test_without_revision_it_is_plain_asynchronous_adagrad():
    run = async_adagrad(RAVINE.gradient_at, (-9.0, 1.5), 300, eta=0.5, delay=7, revise=False)
    plain = async_sgd(gdlib.Adagrad(eta=0.5), RAVINE.gradient_at, (-9.0, 1.5), 300, delay=7)
    np.testing.assert_allclose(run.path, plain, rtol=1e-13, atol=1e-13)
    assert np.all(run.staleness[7:] == 7)


def test_delay_tolerant_adagrad_beats_plain_asynchronous_adagrad_at_large_delay():
    """McMahan and Streeter's claim: with delays of 1000 updates, revising the learning rate
    of the backlog keeps AdaGrad stable where plain asynchronous AdaGrad is thrown off.
    Sparse logistic regression, one example per gradient, three seeds, the same η."""
    s = gdlib.data.sparse_zipf(n=4000, p=200, seed=0)
    model = gdlib.models.LogisticRegression(s.n_features)
    losses = {False: [], True: []}
    for seed in range(3):
        for revise in (False, True):
            g = shard_gradients(model, s.X_train, s.y_train, 1, batch_size=1, seed=seed)[0]
            run = async_adagrad(g, np.zeros(model.n_params), 6000, eta=0.3, delay=1000, revise=revise, seed=seed)
            losses[revise].append(model.loss(run.theta, s.X_train, s.y_train))
    assert all(r < p for r, p in zip(losses[True], losses[False])), losses
    assert np.mean(losses[True]) < 0.5 * np.mean(losses[False]), losses


# ------------------------------------------------------------------ EASGD
def test_synchronous_easgd_with_tau_1_is_the_round_of_the_paper():
    rng = np.random.default_rng(0)
    A = [np.diag(rng.uniform(0.5, 2.0, 3)) for _ in range(3)]
    grads = [lambda x, A=A_i: A @ x for A_i in A]
    run = easgd(grads, np.ones(3), 40, eta=0.1, rho=0.5)
    workers, center = np.ones((3, 3)), np.ones(3)
    for _ in range(40):
        workers, center = easgd_round(workers, center, np.array([A_i @ w for A_i, w in zip(A, workers)]), 0.1, 0.5)
    np.testing.assert_allclose(run.theta, center, rtol=1e-14)
    np.testing.assert_allclose(run.events[-1][1], workers, rtol=1e-14)


@pytest.mark.parametrize("asynchronous", [False, True])
def test_easgd_converges_across_seeds(asynchronous):
    model, X, y = blobs_problem()
    target = best_loss(model, X, y)
    start = model.loss(np.zeros(model.n_params), X, y)
    for seed in range(3):
        shards = shard_gradients(model, X, y, 4, batch_size=8, seed=seed)
        run = easgd(shards, np.zeros(model.n_params), 600, eta=0.2, rho=0.25, tau=4, asynchronous=asynchronous,
                    seed=seed)
        assert model.loss(run.theta, X, y) - target < 0.05 * (start - target)


def test_weaker_elastic_force_lets_workers_explore_further():
    """Zhang et al.: a small ρ lets the local variables fluctuate further from the centre.
    On a flat loss (gradients are pure noise) only the elastic force holds the workers."""
    rng = np.random.default_rng(1)

    def noisy(x, rng=rng):
        return rng.standard_normal(x.shape)

    spread = {}
    for rho in (0.1, 2.0):
        run = easgd([noisy] * 4, np.zeros(5), 2000, eta=0.05, rho=rho, asynchronous=True, seed=2)
        workers = run.events[-1][1]
        spread[rho] = np.linalg.norm(workers - run.theta, axis=1).mean()
    assert spread[0.1] > 1.5 * spread[2.0]


# ---------------------------------------------------------- Hogwild! lock
@numba.njit(nogil=True)
def _racy_counting_row(theta, indptr, indices, values, y, r, eta):
    """A stand-in for the per-row update: a read-modify-write of +1 on every
    coordinate the row touches and on the bias, with a pause between the read
    and the write (nogil, so unlocked threads would overwrite each other)."""
    for k in range(indptr[r], indptr[r + 1]):
        j = indices[k]
        old = theta[j]
        spin = 0.0
        for i in range(20_000):
            spin += i * 1e-300
        theta[j] = old + 1.0 + spin * 0.0
    theta[-1] += 1.0


def test_locked_baseline_loses_no_update(monkeypatch):
    """With the lock, every update lands: θ counts exactly epochs × (how often each feature occurs)."""
    import importlib

    hogwild_module = importlib.import_module("gdlib.parallel.hogwild")  # the module, not the function

    monkeypatch.setattr(hogwild_module, "_sgd_row", _racy_counting_row)
    rng = np.random.default_rng(0)
    X = (rng.random((301, 6)) < 0.5).astype(float)  # a row count that does not split evenly
    epochs = 3
    theta = hogwild(X, np.zeros(301), epochs=epochs, eta=0.1, threads=2, lock=True, seed=1)
    np.testing.assert_array_equal(theta[:-1], epochs * (X != 0).sum(axis=0))
    assert theta[-1] == epochs * 301


def test_locked_baseline_trains_like_serial_sgd():
    """The real update under the lock: the threads' interleaving changes the order of rows, so
    compare the loss with serial SGD's over seeds."""
    s = gdlib.data.sparse_zipf(n=3000, p=200, seed=3)
    serial, locked = [], []
    for seed in range(3):
        serial.append(logistic_loss(hogwild(s.X_train, s.y_train, epochs=5, eta=0.05, threads=1, seed=seed),
                                    s.X_train, s.y_train))
        locked.append(logistic_loss(hogwild(s.X_train, s.y_train, epochs=5, eta=0.05, threads=2, lock=True,
                                            seed=seed), s.X_train, s.y_train))
    assert np.mean(locked) == pytest.approx(np.mean(serial), rel=0.03)


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, words", [
    (lambda: downpour([], (1.0,), 3), "at least one replica"),
    (lambda: downpour([RAVINE.gradient_at], (1.0, 1.0), 3, n_fetch=0), "n_fetch must be a whole number >= 1"),
    (lambda: downpour([RAVINE.gradient_at], (1.0, 1.0), 3, n_shards=3), "n_shards .3. cannot exceed"),
    (lambda: downpour([RAVINE.gradient_at], (1.0, 1.0), 3, optimizer="adagrad"), "optimizer must be a gdlib"),
    (lambda: downpour([RAVINE.gradient_at], (np.nan, 1.0), 3), "theta0 contains NaN"),
    (lambda: Clock(2, jitter=1.0), "jitter must be < 1"),
    (lambda: async_adagrad(RAVINE.gradient_at, (1.0, 1.0), 3, eta=0.1, delay=-2), "delay must be"),
    (lambda: async_adagrad(RAVINE.gradient_at, (1.0, 1.0), 3, eta=0.0), "eta must be > 0"),
    (lambda: easgd([RAVINE.gradient_at] * 4, (1.0, 1.0), 3, eta=0.5, rho=1.0), "unstable"),
    (lambda: easgd([RAVINE.gradient_at], (1.0, 1.0), 3, eta=0.1, rho=1.0, tau=0), "tau must be"),
    (lambda: shard_gradients(gdlib.models.LinearRegression(2), np.ones((3, 2)), np.ones(3), 5), "larger than"),
])
def test_bad_input(call, words):
    with pytest.raises((ValueError, TypeError), match=words):
        call()


def test_a_non_finite_gradient_changes_nothing_in_adaptive_revision():
    server = AdaptiveRevision([1.0, 2.0], eta=0.1)
    _, g_old = server.read()
    with pytest.raises(ValueError, match="NaN or infinite"):
        server.update([np.nan, 1.0], g_old)
    np.testing.assert_array_equal(server.theta, [1.0, 2.0])
    assert server.t == 0


def test_lost_writes_counts_exactly_with_one_thread_and_never_invents_writes():
    """Races can only lose increments, never add any; one thread loses none. How many two threads
    lose depends on timing, so the chapter measures it rather than a test demanding a number."""
    from gdlib.parallel import lost_writes, zipf_csr

    csr, _ = zipf_csr(20_000, 500, seed=1)
    dense = np.ones((5000, 8))
    assert lost_writes(csr, threads=1) == 0.0 and lost_writes(dense, threads=1) == 0.0
    threads = min(2, numba.config.NUMBA_NUM_THREADS)
    for X, writes, touched in ((csr, len(csr[1]), len(np.unique(csr[1]))), (dense, dense.size, 8)):
        lost = lost_writes(X, threads=threads)
        counted = round((1.0 - lost) * writes)
        assert counted == pytest.approx((1.0 - lost) * writes, abs=1e-6)  # a whole number of writes
        # every feature touched keeps at least its last write: at most writes − touched are lost
        assert touched <= counted <= writes
    # Rows split into contiguous shards, one per thread (5001 rows: 2500 and 2501). If the
    # shards touch disjoint features, no two threads ever write the same coordinate: exactly
    # nothing is lost, whatever the timing, and no row is dropped or counted twice.
    blocks = np.zeros((5001, 8))
    blocks[:2500, :4] = 1.0
    blocks[2500:, 4:] = 1.0
    assert lost_writes(blocks, threads=threads) == 0.0
    with pytest.raises(ValueError, match="threads must be between 1"):
        lost_writes(dense, threads=0)
