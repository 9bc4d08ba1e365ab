"""Every differentiable operation, grouped by family; each family's public functions are re-exported here."""

# each family module lists its public functions in __all__ and is star-imported here
import sys

from . import registry  # noqa: F401  (first: every family declares through it)
from .convert import clone, contiguous, to_device, to_dtype  # noqa: F401
from .elementwise import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .inplace import *  # noqa: F401,F403

from .linear import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .sorting import *  # noqa: F401,F403
from .trigonometric import *  # noqa: F401,F403
from .matrices import *  # noqa: F401,F403
from .criteria import *  # noqa: F401,F403
from .vision import *  # noqa: F401,F403

# what ``from minigrad.ops import *`` gives (the families' public functions; not the family modules themselves)
# (by module name: ``from .embedding import *`` replaces the attribute ``embedding`` with the function)
_FAMILIES = [
    sys.modules[name]
    for name in sorted(sys.modules)
    if name.startswith(f"{__name__}.") and name.count(".") == 2 and name.rsplit(".", 1)[1] not in ("registry", "_util")
]
__all__ = sorted(
    {"clone", "contiguous", "to_device", "to_dtype"} | {n for m in _FAMILIES for n in getattr(m, "__all__", ())}
)
