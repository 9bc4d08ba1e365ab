"""An ordinary little PyTorch script; tests/test_parity_swap.py runs it with `python -m parity swap`.

It fits y = x @ w + b with a two-layer MLP and prints which library actually ran.
"""

import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 60
torch.manual_seed(0)
X = torch.randn(64, 3)
y = X @ torch.tensor([[1.5], [-2.0], [0.5]]) + 0.3
model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 1))
opt = optim.Adam(model.parameters(), lr=0.05)
losses = []
for _ in range(steps):
    loss = F.mse_loss(model(X), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
with torch.no_grad():
    pred = model(X)
print(
    f"backend={type(pred).__module__.split('.')[0]} torch_name={torch.__name__} "
    f"first_loss={losses[0]:.4f} final_loss={losses[-1]:.4f}"
)
