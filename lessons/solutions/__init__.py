"""Solutions to the course note's five exercises, written with minigrad (each runnable as a script), and
the training loop of lesson 11 (``training_loop.py``) that the warm-up, optimiser and MCC solutions reuse."""
