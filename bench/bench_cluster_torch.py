"""PyTorch equivalent of bench_cluster.c: clustering-phase iteration throughput.

One iteration, as dci_deep_iteration (docs/methods.md "EDCWRN", step 5) on random data in [0, 1)
with a random autoencoder 784-500-500-2000-10 (ReLU on internal layers,
uniform +-sqrt(1/fan_in) weights, zero biases), K = 10, batch 256, CPU:

edcwrn (neighbours k = 2, weighting on, proposed kernel + cross-entropy):
  e = enc(x_b), e' = enc_nb(x_b)             (one forward each, on the batch)
  batch-local kNN: the k nearest OTHER rows by e + e' (no grad; cdist + topk)
  z_i = e_i + max_l e'_{nbr(i,l)}             (gather + max: autograd sums the
                                               gradient per winning row, as ours)
  s_ij = sum_m M w_jm (z_im - r_jm)^2,  q = 1 / (1 + a s^b), a = 1.93, b = 0.79
  L_c = -(1/B) sum_i sum_j p_ij log(q_ij / sum_j' q_ij')
  L = MSE(dec(z), x_b) + 0.1 L_c; SGD lr 0.1 momentum 0.9 over enc, enc_nb,
  dec and the centres r; w from the batch (Eq. 15, alpha = beta = 2) with the
  forward's z, q and r, before the step moves r (as ours)
idec (no neighbour branch, no weighting, Student-t + KL(P||Q)):
  z = 2 enc(x_b), with enc receiving dL/dz (not 2 dL/dz), as ours.

The neighbour encoder runs once on the batch and its rows are gathered (as
ours), not once more on the k.B neighbour rows. The targets P, the weights
and the centres' starting point come from one target update (embedding of
all n rows, global kNN, Q, P, w, labels) timed on its own, as in
bench_cluster.c; updates are not in the timed loop.

    python3 bench_cluster_torch.py [method=edcwrn|idec] [n=4096] [steps=40] [batch=256]

Threads: torch's default (all cores) unless TORCH_THREADS is set.
Needs Debian's python3-torch.
"""
import copy
import os
import sys
import time

import torch
from torch import nn

from bench_pretrain_torch import mlp  # same network init as the pre-training bench

DIMS = [784, 500, 500, 2000, 10]
K = 10
LR, MOMENTUM, LAMBDA = 0.1, 0.9, 0.1
A, B_EXP = 1.93, 0.79
NEIGHBORS = 2


class Net(nn.Module):
    """Encoders, decoder, centres r (trained) and weights w (not trained)."""

    def __init__(self, method, dims, k, neighbors=NEIGHBORS):
        super().__init__()
        self.edcwrn = method == "edcwrn"
        self.kn = neighbors if self.edcwrn else 0
        self.enc = mlp(dims)
        self.enc_nb = copy.deepcopy(self.enc) if self.kn else None
        self.dec = mlp(dims[::-1])
        m = dims[-1]
        self.r = nn.Parameter(torch.zeros(k, m))
        self.register_buffer("w", torch.full((k, m), 1.0 / m) if self.edcwrn else None)

    def kernel(self, z):
        """Raw kernel q (B x K) and its row-normalised form."""
        diff2 = (z[:, None, :] - self.r[None, :, :]) ** 2
        if self.edcwrn:
            s = (diff2 * (z.shape[1] * self.w)[None]).sum(-1)
            q = 1.0 / (1.0 + A * s ** B_EXP)
        else:
            q = 1.0 / (1.0 + diff2.sum(-1))
        return q, q / q.sum(1, keepdim=True)

    def embed(self, x, nbr):
        """z for the rows x with neighbour lists nbr (B x kn, indices into x);
        nbr None: the batch-local lists. Returns z and e + e' (or None)."""
        e = self.enc(x)
        if not self.kn:
            return e + e.detach(), None  # 2 enc(x), enc gets dL/dz once
        en = self.enc_nb(x)
        zself = (e + en).detach()
        if nbr is None:
            nbr = knn_self(zself, self.kn)
        return e + en[nbr].max(dim=1).values, zself


def knn_self(z, k, chunk=1024):
    """The k nearest OTHER rows of each row of z (Euclidean), n x k."""
    n = z.shape[0]
    out = torch.empty(n, k, dtype=torch.long)
    for s in range(0, n, chunk):
        dist = torch.cdist(z[s:s + chunk], z)
        rows = torch.arange(dist.shape[0])
        dist[rows, rows + s] = float("inf")
        out[s:s + chunk] = dist.topk(k, dim=1, largest=False).indices
    return out


def weights_eq15(q, z, r):
    """w_jm = (1/D_jm) / sum_s (1/D_js), D_jm = sum_i q_ij^2 (z_im - r_jm)^2."""
    d = torch.einsum("ij,ijm->jm", q * q, (z[:, None, :] - r[None, :, :]) ** 2)
    inv = 1.0 / d
    return inv / inv.sum(1, keepdim=True)


def batch_loss(net, xb, pb, nbr=None):
    """L, L_r, L_c (tensors) and the forward's z (detached) and raw q."""
    z, _ = net.embed(xb, nbr)
    lr_loss = nn.functional.mse_loss(net.dec(z), xb)
    q, qhat = net.kernel(z)
    if net.edcwrn:
        lc = -(pb * qhat.log()).sum(1).mean()
    else:
        lc = nn.functional.kl_div(qhat.log(), pb, reduction="batchmean")
    return lr_loss + LAMBDA * lc, lr_loss, lc, z.detach(), q.detach()


@torch.no_grad()
def target_update(net, x, nbr, batch):
    """Embed all rows with the global lists nbr, new lists, Q, P, w, labels."""
    n = x.shape[0]
    e = torch.cat([net.enc(x[s:s + batch]) for s in range(0, n, batch)])
    if net.kn:
        en = torch.cat([net.enc_nb(x[s:s + batch]) for s in range(0, n, batch)])
        z = e + en[nbr].max(dim=1).values
        nbr = knn_self(z, net.kn)
    else:
        z = 2 * e
    q, qhat = net.kernel(z)
    qq = qhat if not net.edcwrn else q
    f = qq.sum(0)
    p = qq * qq / f
    p = p / p.sum(1, keepdim=True)
    if net.edcwrn:
        net.w.copy_(weights_eq15(q, z, net.r))
    return p, nbr, qq.argmax(1), z


def main():
    args = sys.argv[1:]
    method = args[0] if args else "edcwrn"
    if method not in ("edcwrn", "idec"):
        sys.exit(f"method must be edcwrn or idec, not {method}")
    n, steps, batch = ([int(a) for a in args[1:]] + [4096, 40, 256][len(args[1:]):])[:3]
    batch = min(batch, n)
    if "TORCH_THREADS" in os.environ:
        torch.set_num_threads(int(os.environ["TORCH_THREADS"]))
    torch.manual_seed(1)
    x = torch.rand(n, DIMS[0])
    net = Net(method, DIMS, K)
    with torch.no_grad():  # centres: embeddings of K random rows (bench_cluster.c: k-means)
        z0, _ = net.embed(x[torch.randperm(n)[:K]], torch.arange(K)[:, None].repeat(1, net.kn))
        net.r.copy_(z0)
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    self_nbr = torch.arange(n)[:, None].repeat(1, max(net.kn, 1))
    t0 = time.perf_counter()
    p, _, _, _ = target_update(net, x, self_nbr, batch)
    t_update = time.perf_counter() - t0

    order, pos = torch.randperm(n), 0

    def step():
        nonlocal order, pos
        if pos >= n:
            order, pos = torch.randperm(n), 0
        idx = order[pos:pos + batch]
        pos += len(idx)
        xb, pb = x[idx], p[idx]
        opt.zero_grad(set_to_none=True)
        loss, lr_loss, lc, z, q = batch_loss(net, xb, pb)
        loss.backward()
        if net.edcwrn:
            with torch.no_grad():
                net.w.copy_(weights_eq15(q, z, net.r))
        opt.step()
        return loss, lr_loss, lc

    for _ in range(3):  # warm-up
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss, lr_loss, lc = step()
    t = time.perf_counter() - t0
    print(f"{method}: n {n}, dims 784-500-500-2000-10, K {K}, batch {batch}, "
          f"neighbours {net.kn}, weighting {'on' if net.edcwrn else 'off'}, {steps} steps, "
          f"{torch.get_num_threads()} threads, final loss {loss.item():.5f} "
          f"(L_r {lr_loss.item():.5f}, L_c {lc.item():.5g})")
    print(f"iteration: {1e3 * t / steps:.2f} ms")
    print(f"cluster throughput: {steps * batch / t:.0f} samples/s")
    print(f"update ({n} rows): {t_update:.3f} s")
    if not all(torch.isfinite(v) for v in (loss, lr_loss, lc)):
        sys.exit("loss not finite")


if __name__ == "__main__":
    main()
