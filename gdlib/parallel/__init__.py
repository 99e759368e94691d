"""Parallel and distributed SGD: Hogwild! (lock-free threads), Elastic Averaging SGD's update,
and a deterministic simulator of stale (asynchronous) and synchronous data-parallel SGD."""

from .easgd import easgd_round
from .hogwild import hogwild, logistic_loss, to_csr
from .simulate import async_sgd, sync_sgd

__all__ = ["easgd_round", "hogwild", "logistic_loss", "to_csr", "async_sgd", "sync_sgd"]
