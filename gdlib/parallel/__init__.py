"""Parallel and distributed SGD: Hogwild! (lock-free threads) and Elastic Averaging SGD's update."""

from .easgd import easgd_round
from .hogwild import hogwild, logistic_loss, to_csr

__all__ = ["easgd_round", "hogwild", "logistic_loss", "to_csr"]
