"""PyTorch equivalent of bench_ae.c: autoencoder pre-training throughput.

Same network (d-500-500-2000-10 and mirrored decoder, ReLU on internal layers,
uniform +-sqrt(1/fan_in) init, zero biases), MSE loss, SGD lr 1.0 momentum 0.9
(or Adam lr 0.001, eps 1e-7), batch 256, CPU, random data in [0, 1).

    python3 bench_pretrain_torch.py [d=784] [batch=256] [steps=40] [embed=10] [sgd|adam]

Threads: torch's default (all cores) unless TORCH_THREADS is set.
Needs Debian's python3-torch.
"""
import os
import sys
import time

import torch
from torch import nn


def mlp(dims):
    layers = []
    for i in range(len(dims) - 1):
        lin = nn.Linear(dims[i], dims[i + 1])
        bound = (1.0 / dims[i]) ** 0.5
        nn.init.uniform_(lin.weight, -bound, bound)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i + 2 < len(dims):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def main():
    adam = "adam" in sys.argv[1:]
    args = [int(a) for a in sys.argv[1:] if a.isdigit()]
    d, batch, steps, embed = (args + [784, 256, 40, 10][len(args):])[:4]
    if "TORCH_THREADS" in os.environ:
        torch.set_num_threads(int(os.environ["TORCH_THREADS"]))
    torch.manual_seed(1)
    dims = [d, 500, 500, 2000, embed]
    model = nn.Sequential(mlp(dims), mlp(dims[::-1]))
    opt = (torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7) if adam
           else torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.9))
    loss_fn = nn.MSELoss()
    x = torch.rand(batch, d)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), x)
        loss.backward()
        opt.step()
        return loss

    for _ in range(3):  # warm-up
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    t = time.perf_counter() - t0
    print(f"dims {d}-500-500-2000-{embed}, batch {batch}, {steps} steps, {'adam' if adam else 'sgd'}, "
          f"{torch.get_num_threads()} threads, final loss {loss.item():.5f}")
    print(f"step: {1e3 * t / steps:.2f} ms")
    print(f"pretrain throughput: {steps * batch / t:.0f} samples/s")


if __name__ == "__main__":
    main()
