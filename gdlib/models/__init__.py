"""Models with loss and gradient compiled in Numba, and a gradient checker."""

from .base import EVAL, TRAIN, TRAIN_FROZEN, Model
from .gradcheck import check_gradient
from .linear import LinearRegression, LogisticRegression
from .mlp import MLP
from .softmax import SoftmaxRegression

__all__ = ["Model", "LinearRegression", "LogisticRegression", "SoftmaxRegression", "MLP", "check_gradient",
           "EVAL", "TRAIN", "TRAIN_FROZEN"]
