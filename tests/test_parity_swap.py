"""`python -m parity swap`: an unchanged torch script runs on minigrad; missing APIs are named as torch APIs."""

import os
import pathlib
import subprocess
import sys

import pytest

from parity.__main__ import main
from parity.swap import MissingTorchAPI, MissingTorchModule, swapped

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "swap_example_torch_script.py"


def run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _parse(stdout):
    return dict(kv.split("=") for kv in stdout.split())


def test_script_runs_on_minigrad_and_learns():
    swapped_run = run("-m", "parity", "swap", str(SCRIPT), "40")
    assert swapped_run.returncode == 0, swapped_run.stderr
    got = _parse(swapped_run.stdout)
    assert got["backend"] == "minigrad" and got["torch_name"] == "torch"
    assert float(got["final_loss"]) < 0.2 * float(got["first_loss"])
    plain = run(str(SCRIPT), "40")  # the same file under real torch
    assert plain.returncode == 0, plain.stderr
    assert _parse(plain.stdout)["backend"] == "torch"


@pytest.mark.parametrize(
    "body, name, kind",
    [
        (
            "import torch\nimport torch.nn.functional as F\nF.no_such_function(torch.zeros(2))\n",
            "torch.nn.functional.no_such_function",
            "MissingTorchAPI",
        ),
        ("import torch.no_such_module\n", "torch.no_such_module", "MissingTorchModule"),
        ("from torch import no_such_name\n", "no_such_name", "cannot import name"),
        ("import torch\ntorch.zeros(2).no_such_method()\n", "torch.Tensor.no_such_method", "MissingTorchAPI"),
        ("import torch\ntorch.nn.Linear(2, 2).no_such_method()\n", "torch.nn.Linear.no_such_method", "MissingTorchAPI"),
    ],
)
def test_missing_api_is_named(tmp_path, body, name, kind, capsys):
    script = tmp_path / "uses_missing.py"
    script.write_text(body)
    assert main(["swap", str(script)]) == 3
    err = capsys.readouterr().err
    assert name in err and kind in err and "minigrad" in err
    assert "Traceback" not in err


def test_unrelated_attribute_errors_are_not_relabelled(tmp_path):
    script = tmp_path / "own_bug.py"
    script.write_text("import torch\nclass A:\n    pass\nA().missing\n")
    with pytest.raises(AttributeError, match="'A' object has no attribute 'missing'"):
        main(["swap", str(script)])


def test_script_exit_status_and_missing_script(tmp_path):
    script = tmp_path / "exits.py"
    script.write_text("import sys\nimport torch\nsys.exit(7)\n")
    assert main(["swap", str(script)]) == 7
    assert main(["swap", str(tmp_path / "nope.py")]) == 2  # one line, no traceback (see below)


def test_swapped_context_restores_real_torch():
    import torch as real_torch

    import minigrad

    with swapped():
        import torch
        import torch.nn as nn

        assert torch.Tensor is minigrad.Tensor and nn.Linear is minigrad.nn.Linear
        assert torch.__name__ == "torch" and torch.nn is nn
        with pytest.raises(MissingTorchAPI, match="torch.no_such_thing is not implemented by minigrad"):
            torch.no_such_thing  # noqa: B018
        assert not hasattr(torch.nn, "NoSuchLayer")
        with pytest.raises(MissingTorchModule, match="torch.nope is not implemented by minigrad"):
            import torch.nope  # noqa: F401
    import torch

    assert torch is real_torch and sys.modules["torch.nn"] is real_torch.nn


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda d: d, "is a directory, not a Python script"),
        (lambda d: d / "missing.py", "no such script: "),
        (
            lambda d: (d / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR") and d / "image.png",
            "not a runnable Python script: source code string cannot contain null bytes",
        ),
        (
            lambda d: (d / "latin1.py").write_bytes("x = 1\ns = '\u00e9'\n".encode("latin-1")) and d / "latin1.py",
            "latin1.py:2: not a runnable Python script: ",
        ),
        (
            lambda d: (d / "broken.py").write_text("import torch\ndef f(:\n") and d / "broken.py",
            "broken.py:2: not a runnable Python script: ",
        ),
    ],
    ids=["directory", "missing", "binary", "latin1", "syntax-error"],
)
def test_bad_script_is_one_line_exit_2(tmp_path, capsys, make, expected):
    code = main(["swap", str(make(tmp_path)), "--its-arg"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("parity swap: error: ") and err.count("\n") == 1, err
    assert expected in err and "Traceback" not in err


def test_no_script_is_one_line_exit_2(capsys):
    assert main(["swap"]) == 2
    err = capsys.readouterr().err
    assert err == "parity swap: error: no script given (usage: python -m parity swap SCRIPT.py [args...])\n"
    assert main(["swap", "--help"]) == 0 and "usage: python -m parity swap" in capsys.readouterr().out


def test_an_os_error_inside_the_script_keeps_its_traceback(tmp_path):
    """Only the script file itself is checked; the script's own errors are not turned into exit 2."""
    script = tmp_path / "reads.py"
    script.write_text("open('no_such_input.txt')\n")
    with pytest.raises(FileNotFoundError, match="no_such_input.txt"):
        main(["swap", str(script)])
