"""The Dask driver loop against a fake client: ordering, resubmits, timeouts and barriers, in milliseconds.

``fake_dask.FakeClient`` runs the tasks in this process when the test's
script says they finish, so every interleaving, lost future and timeout
is reproducible; the real-cluster tests are in test_dask.py.
"""

import numpy as np
import pytest
from fake_dask import (
    FakeClient, drop_data, fail, finish, lose, lose_while_waiting, newest, set_workers, time_out,
)

import gdlib
from gdlib.parallel import (
    DistributedRunError, async_adagrad, downpour, easgd, shard_gradients, sync_sgd, task_gradients,
)
from gdlib.parallel.cluster import DelayTolerantAdagrad, Downpour, ElasticAveraging, SyncSGD
from gdlib.parallel.driver import Driver


def toy_task(w, k, seen, seed):
    return ("result", w, k, seen)


class Toy:
    """A minimal algorithm that logs what the driver asks of it."""

    def __init__(self, n_tasks, synchronous=False):
        self.n_tasks, self.synchronous, self.shards = n_tasks, synchronous, [f"shard {w}" for w in range(len(n_tasks))]
        self.reads, self.applied, self.data = [], [], []

    def read(self, w, k):
        self.reads.append((w, k))
        return len(self.reads)  # a different value at every read

    def task(self, w, k, seen, data):
        self.data.append(data)
        return toy_task, (w, k, seen, (0, w, k))

    def apply(self, w, k, seen, result):
        assert result == ("result", w, k, seen)  # the task ran on what was read when it was submitted
        self.applied.append((w, k))
        return 2

    def record(self, events):
        return {"applied": list(self.applied), "events": list(events)}


def drive(algorithm, client, max_resubmits=3, on_update=None):
    try:
        return Driver(client, algorithm, timeout=5.0, max_resubmits=max_resubmits, on_update=on_update,
                      wait=client.wait).run()
    finally:
        assert not client.script, "the run ended before the script did: a step named a task that never ran"


@pytest.fixture(scope="module")
def shards():
    s = gdlib.data.blobs(n=300, p=4, n_classes=2, separation=2.0, seed=0)
    model = gdlib.models.LogisticRegression(s.n_features)
    return shard_gradients(model, s.X_train, s.y_train, 3, batch_size=8, seed=3), model.n_params


# ------------------------------------------------------------ asynchronous
def test_each_worker_runs_its_tasks_in_turn_and_results_are_applied_as_they_finish():
    toy, updates = Toy([3, 2]), []
    client = FakeClient(pick=newest)
    run = drive(toy, client, on_update=updates.append)
    finished = [name for what, name in client.log if what == "finish"]
    assert run["applied"] == finished                 # applied in the order they finished
    for w, n in enumerate(toy.n_tasks):
        assert [k for v, k in run["applied"] if v == w] == list(range(n))
    assert updates == list(range(1, 2 * 5 + 1))       # on_update after each of apply's updates
    assert run["events"] == []
    # a worker's next task is submitted (and reads) only after its previous one was applied
    for w, k in toy.reads:
        if k:
            assert client.log.index(("finish", (w, k - 1))) < client.log.index(("submit", (w, k)))


def test_a_worker_without_tasks_and_no_tasks_at_all():
    assert drive(Toy([0, 2]), FakeClient())["applied"] == [(1, 0), (1, 1)]
    assert drive(Toy([0, 0]), FakeClient())["applied"] == []


@pytest.mark.parametrize("losing", [lose, lose_while_waiting])
def test_a_lost_task_runs_again_on_what_it_read_and_is_applied_once(losing):
    toy = Toy([2, 2])
    client = FakeClient(script=[finish((1, 0)), losing((0, 0)), losing((0, 0))])
    run = drive(toy, client)
    assert sorted(run["applied"]) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert run["events"] == [("task resubmitted", 0, 0), ("task resubmitted", 0, 0)]
    assert toy.reads.count((0, 0)) == 1               # read once, submitted three times with the same inputs
    again = [f.args for f in client.submitted if f.name == (0, 0)]
    assert len(again) == 3 and again[0] == again[1] == again[2]


def test_a_task_lost_more_than_max_resubmits_times_ends_the_run_with_the_state_so_far():
    client = FakeClient(script=[finish((1, 0))] + [lose((0, 0))] * 3)
    with pytest.raises(DistributedRunError, match="worker 0's task 0 was lost 3 times") as error:
        drive(Toy([1, 2]), client, max_resubmits=2)
    assert error.value.partial["applied"] == [(1, 0)]
    assert error.value.partial["events"] == [("task resubmitted", 0, 0)] * 2
    with pytest.raises(DistributedRunError, match="lost 1 times"):
        drive(Toy([1]), FakeClient(script=[lose()]), max_resubmits=0)


def test_a_timeout_ends_the_run_with_the_state_so_far():
    client = FakeClient(script=[finish(), finish(), time_out()])
    with pytest.raises(DistributedRunError, match=r"no task finished in 5 s \(2 Dask workers alive\).*4 updates") as e:
        drive(Toy([3, 3]), client)
    assert len(e.value.partial["applied"]) == 2


def test_a_failed_task_ends_the_run_and_says_why():
    with pytest.raises(DistributedRunError, match="worker 1's task 0 failed on the cluster: ValueError: boom") as e:
        drive(Toy([2, 2]), FakeClient(script=[finish((0, 0)), fail((1, 0))]))
    assert e.value.partial["applied"] == [(0, 0)]


def test_lost_data_is_sent_again_before_the_next_task():
    toy = Toy([2, 2])
    client = FakeClient(script=[finish((0, 0)), drop_data(), finish((1, 0))])
    drive(toy, client)
    assert len(client.scattered) == 2
    first, again = client.scattered
    # tasks (0, 0), (1, 0), (0, 1) were submitted before the loss, (1, 1) after it
    assert toy.data == [first[0], first[1], first[0], again[1]]


def test_the_cluster_must_have_workers_and_take_the_data():
    with pytest.raises(DistributedRunError, match="fake://scheduler has no workers"):
        drive(Toy([1]), FakeClient(workers=[]))
    client = FakeClient()
    client.scatter_fails = True
    with pytest.raises(DistributedRunError, match="could not send the data shards to any Dask worker in 5 s"):
        drive(Toy([1]), client)


def test_workers_that_left_or_joined_are_recorded():
    client = FakeClient(workers=["a", "b"], script=[finish(), set_workers(["b", "c", "d"])])
    assert drive(Toy([2, 1]), client)["events"] == [("workers lost", ["a"]), ("workers joined", ["c", "d"])]


# ------------------------------------------------------------- synchronous
def test_a_barrier_starts_round_k_plus_1_only_when_round_k_is_applied():
    toy = Toy([3, 3, 2], synchronous=True)
    client = FakeClient(pick=newest, script=[finish((2, 0)), lose((0, 0))])
    run = drive(toy, client)
    assert sorted(run["applied"]) == sorted((w, k) for w, n in enumerate(toy.n_tasks) for k in range(n))
    rounds = [k for _, k in run["applied"]]
    assert rounds == sorted(rounds)                   # never a round k + 1 result before all of round k
    for what, (w, k) in client.log:
        if what == "submit" and k:
            assert all(("finish", (v, k - 1)) in client.log[:client.log.index((what, (w, k)))] for v in range(3))


@pytest.mark.parametrize("optimizer", [lambda: gdlib.SGD(eta=0.5), lambda: gdlib.Nesterov(eta=0.1, gamma=0.9)])
def test_synchronous_sgd_is_the_reference_run_bit_for_bit_in_any_order_with_lost_tasks(shards, optimizer):
    shards, d = shards
    reference = sync_sgd(optimizer(), task_gradients(shards, seed=7), np.zeros(d), 12)
    rng = np.random.default_rng(0)
    client = FakeClient(pick=lambda pending: pending[rng.integers(len(pending))],
                        script=[finish(), lose((1, 0)), finish(), lose_while_waiting((2, 3))])
    steps = []
    run = drive(SyncSGD(shards, np.zeros(d), 12, optimizer=optimizer(), seed=7), client, on_update=steps.append)
    np.testing.assert_array_equal(run.path, reference)
    assert run.updates == 12 and steps == list(range(1, 13))
    assert run.events == [("task resubmitted", 1, 0), ("task resubmitted", 2, 3)]


# ------------------------------------------ the algorithms against the simulator
def one_worker(shards):
    return [shards[0][0]], shards[1]


def test_one_replica_of_downpour_fetching_every_step_is_the_simulator(shards):
    shard, d = one_worker(shards)
    run = drive(Downpour(shard, np.zeros(d), 20, optimizer=gdlib.Adagrad(eta=0.3), n_fetch=1, n_push=1, n_shards=2,
                         local_eta=None, seed=5), FakeClient())
    sim = downpour(task_gradients(shard, seed=5), np.zeros(d), 20, optimizer=gdlib.Adagrad(eta=0.3), n_shards=2)
    np.testing.assert_array_equal(run.theta, sim.theta)
    assert run.updates == sim.updates == 40


def test_downpour_applies_every_push_in_any_order(shards):
    shards, d = shards
    rng = np.random.default_rng(1)
    client = FakeClient(pick=lambda pending: pending[rng.integers(len(pending))], script=[lose((1, 1))])
    run = drive(Downpour(shards, np.zeros(d), 23, optimizer=gdlib.Adagrad(eta=0.3), n_fetch=4, n_push=5,
                         n_shards=2, local_eta=None, seed=0), client)
    assert run.updates == 3 * 5 * 2 and len(run.path) == 3 * 5 + 1 and len(run.staleness) == 3 * 5 * 2
    assert run.staleness.max() > 0


def test_one_worker_of_asynchronous_easgd_with_tau_1_is_the_simulator(shards):
    shard, d = one_worker(shards)
    run = drive(ElasticAveraging(shard, np.zeros(d), 15, eta=0.2, rho=0.5, tau=1, seed=2), FakeClient())
    sim = easgd(task_gradients(shard, seed=2), np.zeros(d), 15, eta=0.2, rho=0.5, tau=1, asynchronous=True)
    np.testing.assert_array_equal(run.path, sim.path)
    np.testing.assert_array_equal(run.events[-1][1], sim.events[-1][1])


def test_one_worker_of_delay_tolerant_adagrad_is_the_simulator_without_delay(shards):
    shard, d = one_worker(shards)
    run = drive(DelayTolerantAdagrad(shard, np.zeros(d), 15, eta=0.3, eps=1e-8, revise=True, seed=4), FakeClient())
    sim = async_adagrad(task_gradients(shard, seed=4)[0], np.zeros(d), 15, eta=0.3)
    np.testing.assert_array_equal(run.path, sim.path)
    assert run.staleness.tolist() == [0] * 15


def test_delay_tolerant_adagrad_measures_staleness(shards):
    shards, d = shards
    run = drive(DelayTolerantAdagrad(shards, np.zeros(d), 10, eta=0.3, eps=1e-8, revise=True, seed=4),
                FakeClient())                         # oldest first: each gradient waits for the other two
    assert run.updates == 10 and run.staleness.tolist() == [0, 1, 2] + [2] * 7


def test_a_lost_task_changes_nothing_even_where_reading_moves_the_server(shards):
    """EASGD's read is the elastic exchange: a task run again must not exchange again."""
    shards, d = shards

    def run(script):
        return drive(ElasticAveraging(shards, np.zeros(d), 12, eta=0.2, rho=0.5, tau=3, seed=1),
                     FakeClient(script=script))

    undisturbed, disturbed = run([]), run([lose_while_waiting((0, 1)), lose((1, 2))])
    np.testing.assert_array_equal(disturbed.path, undisturbed.path)
    assert disturbed.updates == undisturbed.updates == 3 * 4
    assert disturbed.events[:-1] == [("task resubmitted", 0, 1), ("task resubmitted", 1, 2)]


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call, error, words", [
    (lambda s, d: gdlib.parallel.sync_sgd_on_dask(s, np.zeros(d), 5, optimizer=None), TypeError, "optimizer must be"),
    (lambda s, d: gdlib.parallel.sync_sgd_on_dask([], np.zeros(d), 5, optimizer=gdlib.SGD(eta=0.1)), TypeError,
     "shards must be"),
    (lambda s, d: gdlib.parallel.easgd_on_dask(s, np.zeros(d), 5, eta=-1, rho=0.5), ValueError, "eta"),
    (lambda s, d: gdlib.parallel.easgd_on_dask(s, np.zeros(d), 5, eta=0.1, rho=0.5, tau=0), ValueError, "tau"),
    (lambda s, d: gdlib.parallel.async_adagrad_on_dask(s, np.zeros(d), -1, eta=0.1), ValueError, "n_updates"),
    (lambda s, d: gdlib.parallel.downpour_on_dask(s, np.zeros(d), 5, timeout=0), ValueError, "timeout"),
    (lambda s, d: gdlib.parallel.downpour_on_dask(s, np.zeros(d), 5, max_resubmits=-1), ValueError, "max_resubmits"),
    (lambda s, d: gdlib.parallel.downpour_on_dask(s, np.zeros(d), 5, n_workers=0), ValueError, "n_workers"),
])
def test_bad_input_is_refused_before_any_cluster_starts(shards, call, error, words):
    with pytest.raises(error, match=words):
        call(*shards)
