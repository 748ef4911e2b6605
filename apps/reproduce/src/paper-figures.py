"""Copies the paper's Table 3 from ../shared/paper/FIGURES.md into paper-figures.json (key table3).

Run from apps/reproduce/src: python3 paper-figures.py
"""
import json
from pathlib import Path

here = Path(__file__).parent
fig = (here / "../../../../shared/paper/FIGURES.md").read_text()
sec = fig.split("## Table 3")[1].split("## Table 4")[0]
rows = [l for l in sec.splitlines() if l.startswith("|")]
methods = [c.strip() for c in rows[0].strip("|").split("|")][2:]
table3 = {}
for line in rows[2:]:
    cells = [c.strip() for c in line.strip("|").split("|")]
    dataset, metric = cells[0].lower(), cells[1].replace("nDCG", "NDCG")
    for m, v in zip(methods, cells[2:]):
        table3.setdefault(dataset, {}).setdefault(m, {})[metric] = float(v)
path = here / "paper-figures.json"
j = json.loads(path.read_text())
j["table3"] = table3
path.write_text(json.dumps(j, indent=2) + "\n")
