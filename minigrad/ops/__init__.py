"""Every differentiable operation, grouped by family; each family's public functions are re-exported here."""
from .convert import clone, contiguous, to_device, to_dtype  # noqa: F401
from .elementwise import *  # noqa: F401,F403
# each family module lists its public functions in __all__
