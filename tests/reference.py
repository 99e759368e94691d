from gdlib.reference import *  # noqa: F401,F403  (the rules moved to the gdlib/reference package)
from gdlib.reference import Rule  # noqa: F401
