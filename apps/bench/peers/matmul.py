"""Peer of apps/bench/src/speed.ts's matmul rows: the same f32 products in numpy and PyTorch.

Usage: matmul.py THREADS SHAPES_JSON, SHAPES_JSON a list of
{"name", "a": [..., M, K] or [..., K, M], "b": [...], "transposeA", "transposeB"}.
Prints one JSON object: per shape the minimum seconds of `reps` runs for numpy and torch, plus the
BLAS libraries loaded. Inputs are seeded uniform [-1, 1); the product is the same as tf.matMul with
the same flags (numpy/torch `swapaxes(-1, -2)` views, broadcasting batch dims).
"""
import json
import sys
import time

from common import loaded_blas, pin_threads, torch_or_reason

threads = int(sys.argv[1])
shapes = json.loads(sys.argv[2])
pin_threads(threads)
import numpy as np  # noqa: E402

torch, torch_reason = torch_or_reason()
if torch is not None:
    torch.set_num_threads(threads)


def best(f, min_s=0.3, min_reps=3):
    f()
    times = []
    t_end = time.perf_counter() + min_s
    while len(times) < min_reps or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


rng = np.random.default_rng(0)
out = {"threads": threads, "numpy": np.__version__, "shapes": {}}
for s in shapes:
    a = rng.uniform(-1, 1, s["a"]).astype(np.float32)
    b = rng.uniform(-1, 1, s["b"]).astype(np.float32)
    ta, tb = s["transposeA"], s["transposeB"]
    an = a.swapaxes(-1, -2) if ta else a
    bn = b.swapaxes(-1, -2) if tb else b
    row = {"numpy_s": best(lambda: np.matmul(an, bn))}
    if torch is not None:
        at, bt = torch.from_numpy(a), torch.from_numpy(b)
        at2 = at.transpose(-1, -2) if ta else at
        bt2 = bt.transpose(-1, -2) if tb else bt
        with torch.no_grad():
            row["torch_s"] = best(lambda: torch.matmul(at2, bt2))
    out["shapes"][s["name"]] = row
if torch is None:
    out["torch_skipped"] = torch_reason
else:
    out["torch"] = torch.__version__
out["blas"] = loaded_blas()
print(json.dumps(out))
