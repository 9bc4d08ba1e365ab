"""Optimisers (torch.optim)."""
