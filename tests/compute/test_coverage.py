"""Every function the fast backend overrides has a case that holds it equal to the reference."""

import importlib
import pkgutil

import tests.compute as pkg
from minigrad.compute import fast, reference


def _cases():
    names = set()
    for m in pkgutil.iter_modules(pkg.__path__):
        if m.name.startswith("test_") and m.name != "test_coverage":
            names |= {c.name for c in getattr(importlib.import_module(f"tests.compute.{m.name}"), "CASES", ())}
    return names


def test_every_fast_function_is_checked_against_the_reference():
    overridden = {n for n, fn in fast.TABLE.items() if fn is not reference.TABLE[n]}
    missing = sorted(overridden - _cases())
    assert not missing, f"fast functions with no case in tests/compute/: {missing}"


def test_both_backends_offer_the_same_names():
    assert set(fast.TABLE) == set(reference.TABLE)
