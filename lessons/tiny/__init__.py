"""The small engine lesson 02 builds: scalars first (scalar.py), then arrays (tensor.py)."""
