"""Optimisers (torch.optim): ``SGD``, ``Adam``, ``AdamW``, ``RMSprop`` and learning-rate schedulers."""

from . import lr_scheduler  # noqa: F401
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
