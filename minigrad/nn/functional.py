"""Functional forms of the layers (torch.nn.functional)."""
