"""The update rules in plain NumPy: independent transcriptions of the seed equations.

The book shows these first, as the readable form of each rule (named
arguments, one line per equation), and gdlib's compiled kernels second, as the
fast version; ``tests/test_reference.py`` checks after every step, in float64
and float32, that the two agree.

Written straight from the seed documents (Ruder's overview; You's slides
where marked), one small class per update rule, with none of gdlib's code.
Each ``step(g)`` applies one update to ``self.theta`` and returns nothing;
the state is kept in attributes named as gdlib names them, so tests can
compare everything after every step. Options follow the frameworks'
documented formulas where the seed is silent.

The only convention not in the seed: a 0/0 in AdaMax's m_t / u_t (every
gradient so far exactly zero) is taken as 0, the limit of the update.

One module per family: ``basic`` (``Rule``, SGD, Momentum, Nesterov),
``adaptive`` (Adagrad, Adadelta, RMSprop), ``adam_family`` (Adam, AdaMax,
Nadam, AMSGrad, AdamW) and ``large_batch`` (``trust_ratios``, LARS, LAMB);
every name is importable from ``gdlib.reference`` itself.
"""

from .adam_family import AMSGrad, Adam, AdaMax, AdamW, Nadam
from .adaptive import Adadelta, Adagrad, RMSprop
from .basic import SGD, Momentum, NesterovShifted, Rule
from .large_batch import LAMB, LARS, trust_ratios

# The book's order; ``automodule:: gdlib.reference`` documents these names.
__all__ = ["Rule", "SGD", "Momentum", "NesterovShifted", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdaMax",
           "Nadam", "AMSGrad", "AdamW", "trust_ratios", "LARS", "LAMB"]
