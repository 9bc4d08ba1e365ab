"""Every differentiable operation, grouped by family; each family's public functions are re-exported here."""

# each family module lists its public functions in __all__ and is star-imported here
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
