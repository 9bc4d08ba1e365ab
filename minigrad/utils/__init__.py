"""Data loading utilities (torch.utils)."""
