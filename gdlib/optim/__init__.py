"""The optimizers of the course, one module per method.

Family tree (each line adds one idea to the one above it)::

    SGD                θ ← θ − η g
    ├── Momentum       + velocity v (sum of past steps)
    │   ├── Nesterov   + gradient at the look-ahead point
    │   └── LARS       + per-layer step η c ‖θ_l‖ / ‖g_l‖ (trust ratio)
    └── Adagrad        + per-parameter scale 1/sqrt(Σ g²)
        ├── RMSprop    sum → moving average E[g²]
        │   ├── Adadelta   η → RMS[Δθ]_{t−1} (units match)
        │   └── Adam       + first moment m, bias correction
        │       ├── AdaMax     ℓ2 → ℓ∞ norm (u_t)
        │       ├── Nadam      + Nesterov look-ahead in m
        │       ├── AMSGrad    + running maximum v̂
        │       └── AdamW      + weight decay outside the moments
        │           └── LAMB       + per-layer step η ‖θ_l‖ / ‖u_l‖ (trust ratio)
"""

from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import AdaMax
from .adamw import AdamW
from .amsgrad import AMSGrad
from .base import Optimizer, State
from .lamb import LAMB
from .lars import LARS
from .layers import Layers
from .loop import RunResult, run_compiled
from .momentum import Momentum
from .nadam import Nadam
from .nesterov import Nesterov
from .rmsprop import RMSprop
from .sgd import SGD

#: Every optimizer class, in the order of the book.
ALL = (SGD, Momentum, Nesterov, Adagrad, Adadelta, RMSprop, Adam, AdaMax, Nadam, AMSGrad, AdamW, LARS, LAMB)

__all__ = [c.__name__ for c in ALL] + ["ALL", "Optimizer", "State", "RunResult", "run_compiled", "Layers"]
