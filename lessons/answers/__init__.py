"""Worked answers to the exercises in ``lessons/exercises/`` (same module and function names).

``tests/test_exercises.py`` checks these against torch and minigrad, and checks that the untouched
exercise stubs fail the same tests. Try the exercise first.
"""
