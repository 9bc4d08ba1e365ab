"""Functional forms of the layers (torch.nn.functional): stateless functions on tensors.

A layer module (``nn.Linear``) owns its parameters and calls one of these functions
(``F.linear(x, self.weight, self.bias)``). Every name here is an op declared with ``functional=True``
(minigrad/ops/registry.py), so nothing is listed twice: ``F.relu`` is ``minigrad.relu`` with torch's
extra ``inplace=False`` argument, ``F.conv1d`` is ``minigrad.conv1d``. Only attention, built from other
ops, is written here (in ``_attention_functional``).
"""

from __future__ import annotations

from ..ops import registry as _registry
from ._attention_functional import scaled_dot_product_attention

__all__ = [*_registry.functional_names(), "scaled_dot_product_attention"]

globals().update({name: _registry.functional_function(name) for name in _registry.functional_names()})
