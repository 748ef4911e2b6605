"""Peer of apps/bench/src/speed.ts's MM-RQ-VAE rows: one training epoch of the same MM-RQ-VAE in
PyTorch from mmesid's weights after its k-means initialisation, and a numpy k-means initialisation
of the codebooks on the same encodings.

Usage: rqvae.py THREADS DIR. DIR holds what speed.ts wrote: model.safetensors (mmesid's weights
after k-means: `<modality>.encoder.layers.<i>.weight|bias` [out, in], `<modality>.rq.vq_layers.<l>
.embedding.weight` [K, eDim], decoder likewise), meta.json (config, AdamW settings, mmesid's
first-batch losses), x.f32 [N, inputDim] (the item table), order.i32 (mmesid's shuffled row order
of its first epoch) and z.f32 [N, eDim] (the encodings mmesid's k-means ran on).

The model is @mmesid/rqvae's MMRQVAE with one modality, written out: MLP encoder (ReLU between
layers), residual quantisation with per-level codebook + beta * commitment losses (mean over
levels), the residual detached between levels, Sinkhorn-Knopp (log domain, distances centred to
[-1, 1]) on the levels with epsilon > 0, straight-through estimator, MLP decoder, Gaussian-kernel
MMD reconstruction (unbiased, bandwidth alpha times the mean squared distance of the pooled batch,
no gradient through it), total = w_rec * MMD + w_q * quantisation; torch.optim.AdamW.

k-means (numpy): per level, k-means++ seeding then Lloyd iterations (empty clusters refilled with
the farthest points of clusters holding more than one), on the residual of the previous level,
as @mmesid/rqvae's kmeans; its RNG is numpy's, so codebooks differ from mmesid's, and the inertia
per level is printed to compare quality. Prints one JSON object.
"""
import json
import os
import sys
import time

from common import loaded_blas, pin_threads, read_safetensors, torch_or_reason

threads, d = int(sys.argv[1]), sys.argv[2]
pin_threads(threads)
import numpy as np  # noqa: E402

meta = json.load(open(os.path.join(d, "meta.json")))
cfg = meta["config"]
N, IN, E, K, L = meta["rows"], meta["inputDim"], cfg["eDim"], cfg["codebookSize"], cfg["levels"]
name = meta["modality"]
x_np = np.fromfile(os.path.join(d, "x.f32"), dtype=np.float32).reshape(N, IN)
order = np.fromfile(os.path.join(d, "order.i32"), dtype=np.int32)
out = {"threads": threads, "numpy": np.__version__}


# ---- numpy k-means initialisation ----------------------------------------------------------
def nearest(x, c):
    d2 = (x * x).sum(1, keepdims=True) + (c * c).sum(1)[None, :] - 2.0 * (x @ c.T)
    np.maximum(d2, 0, out=d2)
    idx = d2.argmin(1)
    return idx, d2[np.arange(len(x)), idx]


def kmeans(x, k, iters, rng):
    n = len(x)
    xx = (x * x).sum(1)
    chosen = [int(rng.integers(n))]
    mind = np.full(n, np.inf)
    for _ in range(1, k):
        row = x[chosen[-1]]
        dist = np.maximum(xx - 2.0 * (x @ row) + row @ row, 0)
        np.minimum(mind, dist, out=mind)
        total = mind.sum()
        chosen.append(int(rng.integers(n)) if not total > 0 else int(np.searchsorted(np.cumsum(mind), rng.random() * total, side="right").clip(max=n - 1)))
    c = x[chosen].copy()
    prev = None
    for it in range(iters + 1):
        idx, dist = nearest(x, c)
        counts = np.bincount(idx, minlength=k)
        moved = 0
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            far = np.argsort(-dist, kind="stable")
            p = 0
            for j in empty:
                while p < n and counts[idx[far[p]]] <= 1:
                    p += 1
                if p >= n:
                    break
                i = far[p]
                p += 1
                counts[idx[i]] -= 1
                idx[i] = j
                counts[j] = 1
                dist[i] = 0
                moved += 1
        if not moved and prev is not None and np.array_equal(idx, prev):
            break
        prev = idx
        # Cluster sums as one product with the [k, n] assignment matrix (np.add.at is far slower).
        onehot = np.zeros((k, n), dtype=np.float32)
        onehot[idx, np.arange(n)] = 1
        c = (onehot @ x) / np.maximum(counts, 1)[:, None].astype(np.float32)
        if it == iters:
            idx, dist = nearest(x, c)
    return c, float(dist.sum())


z_np = np.fromfile(os.path.join(d, "z.f32"), dtype=np.float32).reshape(N, E)
t0 = time.perf_counter()
rng = np.random.default_rng(cfg["seed"])
res, inertia = z_np.copy(), []
for level in range(L):
    c, inert = kmeans(res, K, cfg["kmeansIters"], rng)
    inertia.append(inert)
    idx, _ = nearest(res, c)
    res = res - c[idx]
out["kmeans_numpy_s"] = time.perf_counter() - t0
out["kmeans_numpy_inertia"] = inertia

# ---- PyTorch training epoch ----------------------------------------------------------------
torch, reason = torch_or_reason()
if torch is None:
    out["torch_skipped"] = reason
    out["blas"] = loaded_blas()
    print(json.dumps(out))
    sys.exit(0)
torch.set_num_threads(threads)
out["torch"] = torch.__version__
W0 = read_safetensors(os.path.join(d, "model.safetensors"))
x_all = torch.from_numpy(x_np)


def layer_names(part):
    i, names = 0, []
    while f"{name}.{part}.layers.{i}.weight" in W0:
        names.append(f"{name}.{part}.layers.{i}")
        i += 1
    return names


ENC, DEC = layer_names("encoder"), layer_names("decoder")
CB = [f"{name}.rq.vq_layers.{lv}.embedding.weight" for lv in range(L)]


def fresh_params():
    p = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in W0.items()}
    used = {f"{n}.{s}" for n in ENC + DEC for s in ("weight", "bias")} | set(CB)
    if set(p) != used:
        raise ValueError(f"model.safetensors: unexpected tensors {sorted(set(p) - used)}")
    return p


def mlp(p, names, h):
    for i, n in enumerate(names):
        h = torch.nn.functional.linear(h, p[f"{n}.weight"], p[f"{n}.bias"])
        if i < len(names) - 1:
            h = torch.relu(h)
    return h


def sq_dist(r, e):
    return torch.relu((r * r).sum(1, keepdim=True) + (e * e).sum(1)[None, :] - 2.0 * (r @ e.T))


def sinkhorn(dist, eps, iters):
    mx, mn = dist.max(), dist.min()
    mid = (mx + mn) / 2
    logq = ((dist - mid) / (mx - mid + 1e-5)) / -eps
    b, k = dist.shape
    for _ in range(iters):
        logq = logq - (torch.logsumexp(logq, 0, keepdim=True) + np.log(k))
        logq = logq - (torch.logsumexp(logq, 1, keepdim=True) + np.log(b))
    return logq.argmax(1)


def mmd(a, b, alpha):
    n, m = len(a), len(b)
    zz = torch.cat([a, b], 0)
    t = n + m
    sq = (zz * zz).sum(1, keepdim=True)
    d2 = torch.relu(sq + sq.T - 2.0 * (zz @ zz.T)) * (1 - torch.eye(t))
    sigma2 = d2.detach().mean() * alpha
    kv = torch.exp(d2 * (-0.5 / sigma2))
    sxx, syy, sxy = kv[:n, :n].sum(), kv[n:, n:].sum(), kv[:n, n:].sum()
    return (sxx - n) / (n * (n - 1)) + (syy - m) / (m * (m - 1)) - 2 * sxy / (n * m)


def losses(p, x):
    z = mlp(p, ENC, x)
    residual, parts, level_losses = z, [], []
    for lv in range(L):
        e = p[CB[lv]]
        with torch.no_grad():
            dist = sq_dist(residual, e)
            eps = cfg["sinkhornEpsilons"][lv] if lv < len(cfg["sinkhornEpsilons"]) else 0
            codes = sinkhorn(dist, eps, cfg["sinkhornIters"]) if eps > 0 else dist.argmin(1)
        q = e[codes]  # gradient to the codebook only, as mmesid's lookup
        level_losses.append(((residual.detach() - q) ** 2).mean() + cfg["commitmentWeight"] * ((residual - q.detach()) ** 2).mean())
        parts.append(q)
        residual = (residual - q).detach() if cfg["detachResidual"] else residual - q
    code_sum = sum(parts)
    quantized = z + (code_sum - z).detach()
    x_hat = mlp(p, DEC, quantized)
    rec = mmd(x_hat, x.detach(), cfg["mmdAlpha"])
    qloss = sum(level_losses) / L if cfg["levelLossReduction"] == "mean" else sum(level_losses)
    return cfg["reconstructionWeight"] * rec + cfg["quantizationWeight"] * qloss, rec, qloss


p = fresh_params()
with torch.no_grad():
    total, rec, qloss = losses(p, x_all[torch.from_numpy(order[: meta["batchSize"]]).long()])
out["first_batch_loss"], out["first_batch_reconstruction"], out["first_batch_quantization"] = (
    total.item(),
    rec.item(),
    qloss.item(),
)

opt = torch.optim.AdamW(list(p.values()), lr=meta["lr"], weight_decay=meta["weightDecay"], betas=tuple(meta["betas"]), eps=meta["eps"])
bs = meta["batchSize"]
t0 = time.perf_counter()
mean_loss = 0.0
for s in range(0, N, bs):
    rows = torch.from_numpy(order[s : s + bs]).long()
    opt.zero_grad()
    total, _, _ = losses(p, x_all[rows])
    total.backward()
    opt.step()
    mean_loss += total.item() * len(rows) / N
out["epoch_torch_s"] = time.perf_counter() - t0
out["epoch_mean_loss"] = mean_loss
out["blas"] = loaded_blas()
print(json.dumps(out))
