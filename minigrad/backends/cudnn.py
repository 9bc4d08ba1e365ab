"""``minigrad.backends.cudnn``: settings accepted for torch compatibility; minigrad does not use cuDNN."""

deterministic = False  # minigrad's GPU code is deterministic apart from atomic scatter-adds (embedding backward)
benchmark = False
enabled = True
allow_tf32 = True


def is_available() -> bool:
    return False


def version():
    return None
