"""Dataset, DataLoader and collate (torch.utils.data)."""
