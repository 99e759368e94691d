"""Parallel and distributed SGD.

* :func:`hogwild`: lock-free SGD on shared memory, with real threads;
* a deterministic event simulator of the distributed algorithms, with an
  explicit delay model: :func:`async_sgd` (stale gradients), :func:`sync_sgd`
  (synchronous data parallelism, the baseline), :func:`downpour`,
  :func:`async_adagrad` (delay-tolerant AdaGrad, AdaptiveRevision) and
  :func:`easgd` (synchronous and asynchronous Elastic Averaging SGD);
* real execution on Dask distributed: :func:`downpour_on_dask`,
  :func:`easgd_on_dask`, :func:`async_adagrad_on_dask` and
  :func:`sync_sgd_on_dask`.
"""

from .cluster import (
    DistributedRunError, async_adagrad_on_dask, downpour_on_dask, easgd_on_dask, sync_sgd_on_dask, task_gradients,
)
from .delay_tolerant import AdaptiveRevision, async_adagrad
from .downpour import downpour
from .easgd import easgd, easgd_round
from .hogwild import csr_logistic_loss, hogwild, logistic_loss, lost_writes, to_csr, zipf_csr
from .server import DistributedRun, ParameterServer, ShardGradient, shard_gradients
from .simulate import async_sgd, sync_sgd

__all__ = [
    "hogwild", "logistic_loss", "to_csr", "zipf_csr", "csr_logistic_loss", "lost_writes",
    "async_sgd", "sync_sgd", "downpour", "async_adagrad", "AdaptiveRevision", "easgd", "easgd_round",
    "downpour_on_dask", "easgd_on_dask", "async_adagrad_on_dask", "sync_sgd_on_dask", "task_gradients", "DistributedRunError",
    "DistributedRun", "ParameterServer", "ShardGradient", "shard_gradients",
]
