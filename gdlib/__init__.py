"""gdlib: the gradient-descent optimizers of the course, compiled with Numba.

Quick start::

    import numpy as np, gdlib
    opt = gdlib.Adam(eta=0.1)
    theta = np.array([1.0, -2.0])
    state = opt.init(theta)
    for _ in range(100):
        g = 2 * theta                 # gradient of J(θ) = ||θ||²
        opt.step(theta, g, state)     # θ and state are updated in place
    state.m, state.v, state.t         # inspect the moments and the step count
"""

from . import clipping, data, models, range_test, schedules, second_order, surfaces
from .optim import (
    ALL, AMSGrad, AdaMax, Adadelta, Adagrad, Adam, AdamW, Momentum, Nadam, Nesterov, Optimizer, RMSprop,
    RunResult, SGD, State, run_compiled,
)
from .optim import LAMB, LARS, Layers
from .train import train
from .trajectory import trajectory

__version__ = "0.1.0"

__all__ = [
    "SGD", "Momentum", "Nesterov", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdaMax", "Nadam",
    "AMSGrad", "AdamW", "ALL", "Optimizer", "State", "RunResult", "run_compiled", "trajectory", "train",
    "data", "models", "schedules", "surfaces", "clipping", "range_test", "second_order",
    "LARS", "LAMB", "Layers",
]
