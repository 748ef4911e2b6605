"""Reference values for infoNce (packages/rqvae/src/infonce.ts), written from the definition.

Symmetric InfoNCE of two aligned batches a, b [B, d]: logits_ij = cos(a_i, b_j) / t; the loss is
the mean over the two directions of the batch-mean cross-entropy with the diagonal as the target.
Run: python3 infonce.py > infonce.json
"""
import json

import numpy as np


def info_nce(a, b, t):
    an = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-8)
    bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-8)
    logits = an @ bn.T / t

    def ce(l):
        m = l.max(axis=1, keepdims=True)
        lse = (m + np.log(np.exp(l - m).sum(axis=1, keepdims=True)))[:, 0]
        return float(np.mean(lse - np.diag(l)))

    return (ce(logits) + ce(logits.T)) / 2


rng = np.random.default_rng(20250902)
cases = []
for B, d, t in [(4, 3, 0.1), (6, 5, 0.5), (5, 8, 1.0)]:
    a = rng.normal(size=(B, d))
    b = a + 0.7 * rng.normal(size=(B, d))
    cases.append({"a": a.tolist(), "b": b.tolist(), "temperature": t, "loss": info_nce(a, b, t)})
print(json.dumps({"generator": "infonce.py", "cases": cases}, indent=1))
