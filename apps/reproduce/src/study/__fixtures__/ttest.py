"""Reference values for study/stats.ts: scipy.stats.ttest_rel on paired samples.

Run from this folder: python3 ttest.py > ttest.json
"""
import json

import numpy as np
from scipy import stats

rng = np.random.default_rng(3)
cases = []
for n, shift in [(3, 0.01), (3, 0.002), (5, 0.0), (10, 0.5), (3, -0.004)]:
    b = rng.uniform(0.02, 0.08, size=n)
    a = b + shift + rng.normal(0, 0.003, size=n)
    r = stats.ttest_rel(a, b)
    cases.append({"a": a.tolist(), "b": b.tolist(), "t": float(r.statistic), "p": float(r.pvalue),
                  "meanA": float(np.mean(a)), "stdA": float(np.std(a, ddof=1))})
print(json.dumps({"generator": "ttest.py", "scipy": stats.__name__, "cases": cases}, indent=1))
