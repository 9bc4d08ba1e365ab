"""The lessons' exercises grade themselves (lessons/exercises/, answers in lessons/answers/).

The checks live in ``tests/exercise_checks/lessonNN.py``, one module per lesson: each takes the module of that
lesson's exercises and compares its functions with torch (or minigrad's own op) on the same inputs. By default
the checks run against ``lessons.answers`` (they must pass), and each check also runs against the untouched stubs
in ``lessons.exercises`` (it must fail: a check that a stub passes checks nothing). A student grades their own
work with

    EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py

which runs the checks against ``lessons.exercises`` and skips the stub test.
"""

import importlib
import inspect
import os
import pkgutil

import pytest

from tests import exercise_checks
from tests.exercise_checks import CHECKS

PACKAGE = os.environ.get("EXERCISES", "answers")
for _info in pkgutil.iter_modules(exercise_checks.__path__):  # each module registers its lesson's checks
    importlib.import_module(f"tests.exercise_checks.{_info.name}")


def exercises_of(lesson, package=PACKAGE):
    return importlib.import_module(f"lessons.{package}.{lesson}")


# ------------------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_exercise(name):
    """Run one check against the package EXERCISES names (default: the answers)."""
    lesson, _ = name.split(".")
    CHECKS[name](exercises_of(lesson))


@pytest.mark.skipif(PACKAGE != "answers", reason="grading your own exercises: the stubs are no longer stubs")
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_untouched_stub_fails(name):
    """The stub as shipped fails its check: the check can fail, and a student starts from red."""
    lesson, _ = name.split(".")
    with pytest.raises((NotImplementedError, AssertionError)):
        CHECKS[name](exercises_of(lesson, "exercises"))


@pytest.mark.parametrize("lesson", sorted({name.split(".")[0] for name in CHECKS}))
def test_exercises_and_answers_match_and_are_checked(lesson):
    """Stubs and answers define the same functions, each stub has a docstring and raises, and each is checked."""
    ex, ans = exercises_of(lesson, "exercises"), exercises_of(lesson, "answers")

    def functions(module):
        return {n for n, f in vars(module).items() if inspect.isfunction(f) and f.__module__ == module.__name__}

    assert functions(ex) == functions(ans), f"{lesson}: exercises and answers define different functions"
    assert functions(ex) == {n.split(".")[1] for n in CHECKS if n.startswith(lesson + ".")}, f"{lesson}: unchecked"
    for name in functions(ex):
        stub = getattr(ex, name)
        assert inspect.getdoc(stub), f"{lesson}.{name} has no docstring stating the task"
        assert 'raise NotImplementedError("exercise: ' in inspect.getsource(stub)
