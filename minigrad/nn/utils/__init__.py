"""nn utilities: gradient clipping, sequence padding."""
