"""Exercises that grade themselves: fill in the functions, then run the tests (see lessons/README.md).

Each module holds one lesson's exercises as stubs; ``lessons/answers/`` holds worked answers under the
same names. ``EXERCISES=exercises .venv/bin/pytest -q tests/test_exercises.py`` grades your work.
"""
