import os
import pathlib

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# few examples per op keep the whole suite within minutes on 2 cores
settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", 12)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared"
DATA = SHARED / "data" / "solubility"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def shared_data():
    if not DATA.is_dir():
        pytest.skip("../shared/data/solubility is not present")
    return DATA
