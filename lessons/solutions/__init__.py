"""Solutions to the course note's five exercises, written with minigrad (each runnable as a script)."""
