"""Parallel and distributed SGD. So far: Elastic Averaging SGD's update (Zhang, Choromanska and LeCun, 2015)."""

from .easgd import easgd_round

__all__ = ["easgd_round"]
