"""Downpour SGD for real on Dask distributed: local clusters of worker processes.

Runs finish and converge; a worker killed mid-run neither hangs the run nor
loses a push (the server lives in the client, tasks are recomputed); a
cluster that loses all its workers stops with a clear error and the state so
far. Every run has a hard deadline, so nothing here can hang the suite.
"""

import os
import signal
import time

import numpy as np
import pytest

import gdlib
from gdlib.parallel import (
    DistributedRunError, async_adagrad_on_dask, downpour, downpour_on_dask, easgd_on_dask, shard_gradients,
    sync_sgd, sync_sgd_on_dask, task_gradients,
)

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def problem():
    s = gdlib.data.blobs(n=1500, p=5, n_classes=2, separation=2.0, seed=0)
    model = gdlib.models.LogisticRegression(s.n_features)
    return model, s.X_train, s.y_train


def fresh_cluster(n_workers=2):
    return distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                    dashboard_address=None, silence_logs=50)


def relative_gap(model, X, y, theta):
    start = model.loss(np.zeros(model.n_params), X, y)
    # the simulator's long serial run is the reference optimum
    ref = downpour(shard_gradients(model, X, y, 1, batch_size=64), np.zeros(model.n_params), 3000,
                   optimizer=gdlib.Adagrad(eta=0.3)).theta
    best = model.loss(ref, X, y)
    return (model.loss(theta, X, y) - best) / (start - best)


def test_local_cluster_run_finishes_and_converges(problem):
    model, X, y = problem
    shards = shard_gradients(model, X, y, 3, batch_size=16, seed=0)
    started = time.perf_counter()
    run = downpour_on_dask(shards, np.zeros(model.n_params), 300, optimizer=gdlib.Adagrad(eta=0.3), n_fetch=10,
                           n_push=5, n_shards=2, n_workers=2, timeout=60)
    assert time.perf_counter() - started < 120
    assert run.updates == 3 * (300 // 5) * 2            # every push reached both shards
    assert len(run.path) == 3 * (300 // 5) + 1
    assert relative_gap(model, X, y, run.theta) < 0.05
    assert run.staleness.max() > 0                      # real asynchrony: some pushes were stale


def test_asynchronous_easgd_and_delay_tolerant_adagrad_finish_and_converge(problem):
    model, X, y = problem
    with fresh_cluster(2) as cluster, distributed.Client(cluster) as client:
        shards = shard_gradients(model, X, y, 3, batch_size=16, seed=2)
        elastic = easgd_on_dask(shards, np.zeros(model.n_params), 600, eta=0.2, rho=0.5, tau=10, client=client)
        adagrad = async_adagrad_on_dask(shards, np.zeros(model.n_params), 601, eta=0.3, client=client)
    assert elastic.updates == 3 * 60                   # one exchange per worker and period
    assert elastic.events[-1][0] == "workers" and elastic.events[-1][1].shape == (3, model.n_params)
    assert relative_gap(model, X, y, elastic.theta) < 0.05
    assert adagrad.updates == 601 and len(adagrad.staleness) == 601
    assert relative_gap(model, X, y, adagrad.theta) < 0.05


def test_synchronous_sgd_on_dask_is_the_reference_run_bit_for_bit(problem):
    """Synchronous data parallelism does not depend on timing: the cluster's run equals
    gdlib.parallel.sync_sgd fed the same seeded mini-batches."""
    model, X, y = problem
    shards = shard_gradients(model, X, y, 3, batch_size=8, seed=4)
    reference = sync_sgd(gdlib.Nesterov(eta=0.1, gamma=0.9), task_gradients(shards, seed=7), np.zeros(model.n_params),
                         40)
    with fresh_cluster(2) as cluster, distributed.Client(cluster) as client:
        run = sync_sgd_on_dask(shards, np.zeros(model.n_params), 40, optimizer=gdlib.Nesterov(eta=0.1, gamma=0.9),
                               client=client, seed=7)
    np.testing.assert_array_equal(run.path, reference)
    assert run.updates == 40


def test_any_cluster_by_its_scheduler_address(problem):
    model, X, y = problem
    with fresh_cluster(2) as cluster:
        run = downpour_on_dask(shard_gradients(model, X, y, 2, batch_size=16), np.zeros(model.n_params), 100,
                               client=cluster.scheduler_address, n_fetch=5, n_push=5, timeout=60)
        # pushes every n_push steps across fetch periods, as in the simulator: 23 steps → 5 pushes each
        uneven = downpour_on_dask(shard_gradients(model, X, y, 2, batch_size=16), np.zeros(model.n_params), 23,
                                  client=cluster.scheduler_address, n_fetch=4, n_push=5, timeout=60)
    assert run.updates == 2 * 20
    assert uneven.updates == 2 * 5


def test_a_worker_killed_mid_run_neither_hangs_the_run_nor_loses_a_push(problem):
    model, X, y = problem
    with fresh_cluster(2) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)                     # {worker address: process id}
        victim = sorted(pids)[0]
        killed = []

        def kill_once(n_updates):
            if n_updates >= 20 and not killed:
                os.kill(pids[victim], signal.SIGKILL)     # no goodbye: the process just dies
                killed.append(n_updates)

        shards = shard_gradients(model, X, y, 4, batch_size=16, seed=1)
        run = downpour_on_dask(shards, np.zeros(model.n_params), 200, client=client,
                               optimizer=gdlib.Adagrad(eta=0.3), n_fetch=10, n_push=5, timeout=60,
                               on_update=kill_once)
    assert killed, "the worker was never killed: the test did not test anything"
    assert run.updates == 4 * (200 // 5)                 # the lost worker's tasks were recomputed
    assert ("workers lost", [victim]) in run.events      # and the run says so
    assert relative_gap(model, X, y, run.theta) < 0.05


def test_a_killed_worker_does_not_change_a_synchronous_run_at_all(problem):
    model, X, y = problem
    shards = shard_gradients(model, X, y, 4, batch_size=8, seed=5)
    with fresh_cluster(2) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        victim = sorted(pids)[0]
        killed = []

        def kill_once(n_updates):
            if n_updates == 10:
                os.kill(pids[victim], signal.SIGKILL)
                killed.append(n_updates)

        run = sync_sgd_on_dask(shards, np.zeros(model.n_params), 60, optimizer=gdlib.SGD(eta=0.5), client=client,
                               on_update=kill_once)
        undisturbed = sync_sgd_on_dask(shards, np.zeros(model.n_params), 60, optimizer=gdlib.SGD(eta=0.5),
                                       client=client)
    assert killed
    np.testing.assert_array_equal(run.path, undisturbed.path)
    reference = sync_sgd(gdlib.SGD(eta=0.5), task_gradients(shards), np.zeros(model.n_params), 60)
    np.testing.assert_array_equal(run.path, reference)
    assert ("workers lost", [victim]) in run.events       # the same events as the asynchronous algorithms


def test_a_cluster_without_workers_fails_at_once_with_a_clear_error(problem):
    model, X, y = problem
    with fresh_cluster(0) as cluster, distributed.Client(cluster) as client:
        with pytest.raises(DistributedRunError, match="has no workers"):
            downpour_on_dask(shard_gradients(model, X, y, 2), np.zeros(model.n_params), 10, client=client)


def test_losing_every_worker_stops_with_the_state_so_far(problem):
    model, X, y = problem
    with fresh_cluster(1) as cluster, distributed.Client(cluster) as client:
        def stop_all(n_updates):
            if n_updates == 4:
                cluster.scale(0)

        client.wait_for_workers(1, timeout=60)
        started = time.perf_counter()
        # the timeout leaves a loaded machine time for the first updates, before the workers go
        with pytest.raises(DistributedRunError, match="no task finished|could not send the data shards") as error:
            downpour_on_dask(shard_gradients(model, X, y, 2, batch_size=8), np.zeros(model.n_params), 400,
                             client=client, n_fetch=2, n_push=1, timeout=20, on_update=stop_all)
        assert time.perf_counter() - started < 60
    partial = error.value.partial
    assert partial.updates >= 4 and len(partial.path) == partial.updates + 1
    assert np.all(np.isfinite(partial.theta))


def test_bad_input(problem):
    model, X, y = problem
    with pytest.raises(TypeError, match="shards must be"):
        downpour_on_dask([lambda x: x], np.zeros(model.n_params), 10)
    with pytest.raises(TypeError, match="client must be"):
        downpour_on_dask(shard_gradients(model, X, y, 1), np.zeros(model.n_params), 10, client=42)
    with pytest.raises(ValueError, match="n_push must be"):
        downpour_on_dask(shard_gradients(model, X, y, 1), np.zeros(model.n_params), 10, n_push=0)
