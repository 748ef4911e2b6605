"""Peer of apps/bench/src/speed.ts's full-ranking rows: the same evaluation in numpy (and torch).

Usage: ranking.py THREADS DIR MODE BATCH. DIR holds what speed.ts wrote: users.f32 [U, d],
items.f32 [N + 1, d] (model mode) or freq.f32 [N + 1] (popularity mode), targets.i32 [U],
hist.i32 [U, H] (distinct, non-zero, never the target), meta.json {U, N, d, H}.

For every user: scores over all N + 1 ids (u . item, or the item's count), the rank is the number of
ids scoring >= the target's score (ties count against the target, id 0 included, as
@mmesid/metrics' rankTargets) minus the history items that do. Prints the minimum seconds of 2
runs (wall, and CPU time of the process as *_cpu_s) and the number of users with rank <= 10 (must
equal mmesid's).
"""
import json
import os
import sys
import time

from common import loaded_blas, pin_threads, torch_or_reason

threads, d, mode, batch = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
pin_threads(threads)
import numpy as np  # noqa: E402

meta = json.load(open(os.path.join(d, "meta.json")))
U, N, dim, H = meta["U"], meta["N"], meta["d"], meta["H"]
targets = np.fromfile(os.path.join(d, "targets.i32"), dtype=np.int32)
hist = np.fromfile(os.path.join(d, "hist.i32"), dtype=np.int32).reshape(U, H)
if mode == "model":
    users = np.fromfile(os.path.join(d, "users.f32"), dtype=np.float32).reshape(U, dim)
    items = np.fromfile(os.path.join(d, "items.f32"), dtype=np.float32).reshape(N + 1, dim)
else:
    freq = np.fromfile(os.path.join(d, "freq.f32"), dtype=np.float32)


def run_numpy():
    hits = 0
    for s in range(0, U, batch):
        e = min(U, s + batch)
        rows = np.arange(e - s)
        if mode == "model":
            scores = users[s:e] @ items.T
        else:
            scores = np.broadcast_to(freq, (e - s, N + 1))
        ts = scores[rows, targets[s:e]]
        count = (scores >= ts[:, None]).sum(1)
        count -= (scores[rows[:, None], hist[s:e]] >= ts[:, None]).sum(1)
        hits += int((count <= 10).sum())
    return hits


def run_torch(torch):
    hits = 0
    tu = torch.from_numpy(users) if mode == "model" else None
    ti = torch.from_numpy(items) if mode == "model" else None
    tf_ = torch.from_numpy(freq) if mode != "model" else None
    tt = torch.from_numpy(targets).long()
    th = torch.from_numpy(hist).long()
    with torch.no_grad():
        for s in range(0, U, batch):
            e = min(U, s + batch)
            rows = torch.arange(e - s)
            scores = tu[s:e] @ ti.T if mode == "model" else tf_.expand(e - s, N + 1)
            ts = scores[rows, tt[s:e]]
            count = (scores >= ts[:, None]).sum(1)
            count -= (scores[rows[:, None], th[s:e]] >= ts[:, None]).sum(1)
            hits += int((count <= 10).sum())
    return hits


cpu_times = {}


def best(f, name):
    times, cpus, result = [], [], None
    for _ in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        result = f()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    cpu_times[name] = min(cpus)
    return min(times), result


out = {"threads": threads, "numpy": np.__version__}
out["numpy_s"], out["numpy_hits10"] = best(run_numpy, "numpy_cpu_s")
torch, reason = torch_or_reason()
if torch is None:
    out["torch_skipped"] = reason
else:
    torch.set_num_threads(threads)
    out["torch"] = torch.__version__
    out["torch_s"], out["torch_hits10"] = best(lambda: run_torch(torch), "torch_cpu_s")
out.update(cpu_times)
out["blas"] = loaded_blas()
print(json.dumps(out))
