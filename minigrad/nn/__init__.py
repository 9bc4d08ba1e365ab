"""Neural-network building blocks with torch.nn's names, defaults and semantics."""

from . import functional, init, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .parameter import Parameter  # noqa: F401
