"""Public PyTorch tutorial scripts, copied unchanged into tests/tutorials/, run through `python -m parity swap`.

Each script runs in its own subprocess (torch mapped to minigrad) in a fresh folder, since some save ``model.pt``.
Scripts that stop because minigrad lacks a torch feature are listed in EXPECTED_GAPS with the exact error line
they must end on, so the list stays true: when a gap closes, its test fails until the entry is removed.
tests/tutorials/README.md lists each script's source, licence and what it exercises.
"""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tests" / "tutorials"
SCRIPTS = sorted(p.name for p in TUTORIALS.glob("*.py"))

# script -> the last line it must print on stderr under swap (the torch feature minigrad lacks)
EXPECTED_GAPS = {
    # forward mode, torch.func.functional_call and Function.jvp run; it then imports the separate functorch
    "forward_ad_usage.py": "parity swap: MissingTorchModule: torch._functorch is not implemented by minigrad",
    # after torch.svd it would next stop at torch.rand(out=) and Tensor.unsqueeze_
    "tensors_deeper_tutorial.py": "parity swap: MissingTorchAPI: torch.svd is not implemented by minigrad",
    "reasoning_about_shapes.py": "RuntimeError: device: unknown device type 'meta' in 'meta'; use 'cpu' or 'cuda[:N]'",
    # torch.save(model) pickles the whole Module; minigrad saves only tensors and containers of them
    "saving_and_loading_models_for_inference.py": (
        "TypeError: minigrad.save: cannot save an object of type __main__.Net"
    ),
}

# scripts that real torch refuses too: minigrad must stop on the same error line
TORCH_ALSO_FAILS = {
    "regression_main.py": "RuntimeError: a leaf Variable that requires grad is being used in an in-place operation.",
}

# scripts that use no random numbers, so every number they print must match torch's
DETERMINISTIC = ["polynomial_custom_function.py"]

# over 10 s on one core (dynamic_net: 30000 SGD steps); still part of the default run
SLOW = {"dynamic_net.py"}

TIMEOUT_S = 180


def run(tmp_path, *args):
    """Run python with ``args`` in ``tmp_path``, one BLAS thread (several threads fight over a shared core)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )


def swap(tmp_path, script):
    return run(tmp_path, "-m", "parity", "swap", str(TUTORIALS / script))


def last_line(text):
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def numbers(text):
    return np.array([float(m) for m in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", text)])


def with_marks(name):
    return pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name


RUNNING = [with_marks(s) for s in SCRIPTS if s not in EXPECTED_GAPS and s not in TORCH_ALSO_FAILS]


@pytest.mark.parametrize("script", RUNNING)
def test_tutorial_runs_unchanged(tmp_path, script):
    done = swap(tmp_path, script)
    assert done.returncode == 0, f"{script} failed under parity swap:\n{done.stderr[-3000:]}"


@pytest.mark.parametrize("script", sorted(EXPECTED_GAPS))
def test_tutorial_stops_at_known_gap(tmp_path, script):
    done = swap(tmp_path, script)
    assert done.returncode != 0, f"{script} now runs: remove it from EXPECTED_GAPS"
    assert last_line(done.stderr).startswith(EXPECTED_GAPS[script]), done.stderr[-3000:]


@pytest.mark.parametrize("script", sorted(TORCH_ALSO_FAILS))
def test_tutorial_fails_like_torch(tmp_path, script):
    mine, theirs = swap(tmp_path, script), run(tmp_path, str(TUTORIALS / script))
    assert theirs.returncode != 0 and last_line(theirs.stderr) == TORCH_ALSO_FAILS[script], theirs.stderr[-3000:]
    assert mine.returncode != 0 and last_line(mine.stderr) == TORCH_ALSO_FAILS[script], mine.stderr[-3000:]


@pytest.mark.parametrize("script", DETERMINISTIC)
def test_deterministic_tutorial_prints_torchs_numbers(tmp_path, script):
    mine, theirs = swap(tmp_path, script), run(tmp_path, str(TUTORIALS / script))
    assert mine.returncode == 0 and theirs.returncode == 0, mine.stderr[-3000:] + theirs.stderr[-3000:]
    got, want = numbers(mine.stdout), numbers(theirs.stdout)
    assert got.shape == want.shape and len(want) > 0
    # float32 training over 2000 steps: losses agree to ~1e-6 relative; coefficients that end near 0 are noise
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_every_script_is_documented_and_attributed():
    readme = (TUTORIALS / "README.md").read_text()
    listed = set(EXPECTED_GAPS) | set(TORCH_ALSO_FAILS) | set(DETERMINISTIC) | SLOW
    assert listed <= set(SCRIPTS), listed - set(SCRIPTS)
    for script in SCRIPTS:
        header = (TUTORIALS / script).read_text().splitlines()[:2]
        assert header[0].startswith("# Source: https://github.com/pytorch/"), script
        assert "BSD-3-Clause" in header[1], script
        assert f"`{script}`" in readme, f"{script} is missing from tests/tutorials/README.md"
    count = f"**Count: {len(RUNNING)} of {len(SCRIPTS)} run unchanged; {len(TORCH_ALSO_FAILS)} more stops"
    assert count in readme, f"update the count line in tests/tutorials/README.md to: {count}"
