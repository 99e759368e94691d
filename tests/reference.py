from gdlib.reference import *  # noqa: F401,F403  (the rules moved to gdlib/reference.py)
from gdlib.reference import Rule  # noqa: F401
