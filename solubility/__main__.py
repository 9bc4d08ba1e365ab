"""``python -m solubility``: see :mod:`solubility.cli`."""

import sys

from .cli import main

sys.exit(main())
