"""Peer of apps/bench/src/speed.ts's SASRec row: one training epoch of a small PyTorch SASRec written
in the shape of pmixer/SASRec.pytorch (item/positional embeddings, embedding dropout, blocks of
LayerNorm -> nn.MultiheadAttention with the query from the normed input and a residual from it ->
LayerNorm -> Conv1d point-wise feed-forward, timeline mask, last LayerNorm; BCE on one sampled
negative per position; Adam), with the same settings and the same initial weights as mmesid.

Usage: sasrec.py THREADS DIR. DIR holds what speed.ts wrote: model.safetensors (mmesid's initial
weights, pmixer's parameter names), meta.json (architecture, Adam settings, the batch shapes and
mmesid's first-batch loss in eval mode), batches.i32 (for every batch of mmesid's epoch, in order:
inputs, targets and negatives [size, length] each, left-padded, 0 = padding).

Two differences from pmixer's code, both so the losses can be compared exactly: padded keys are
masked out of attention (mmesid does; pmixer does not, so its padded positions leak into real ones),
and the epoch's batches are mmesid's (same users, same negatives) instead of pmixer's sampler. The
timed epoch pads every batch to maxLen as pmixer does ("fixed"), and a second epoch runs each batch
at its own width as mmesid does ("same width"). Dropout is on while training, off for the check.
Prints one JSON object.
"""
import json
import os
import sys
import time

from common import loaded_blas, pin_threads, read_safetensors, torch_or_reason

threads, d = int(sys.argv[1]), sys.argv[2]
pin_threads(threads)
import numpy as np  # noqa: E402

torch, reason = torch_or_reason()
if torch is None:
    print(json.dumps({"skipped": reason}))
    sys.exit(0)
torch.set_num_threads(threads)
nn = torch.nn
meta = json.load(open(os.path.join(d, "meta.json")))
N, D, H, BLOCKS, MAXLEN = meta["numItems"], meta["d"], meta["heads"], meta["blocks"], meta["maxLen"]
P, EPS = meta["dropout"], meta["eps"]


class PointWiseFeedForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(D, D, kernel_size=1)
        self.dropout1 = nn.Dropout(p=P)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv1d(D, D, kernel_size=1)
        self.dropout2 = nn.Dropout(p=P)

    def forward(self, x):
        y = self.dropout2(self.conv2(self.relu(self.dropout1(self.conv1(x.transpose(-1, -2))))))
        return y.transpose(-1, -2) + x


class SASRec(nn.Module):
    def __init__(self):
        super().__init__()
        self.item_emb = nn.Embedding(N + 1, D, padding_idx=0)
        self.pos_emb = nn.Embedding(MAXLEN, D)
        self.emb_dropout = nn.Dropout(p=P)
        self.attention_layernorms = nn.ModuleList([nn.LayerNorm(D, eps=EPS) for _ in range(BLOCKS)])
        self.attention_layers = nn.ModuleList([nn.MultiheadAttention(D, H, P) for _ in range(BLOCKS)])
        self.forward_layernorms = nn.ModuleList([nn.LayerNorm(D, eps=EPS) for _ in range(BLOCKS)])
        self.forward_layers = nn.ModuleList([PointWiseFeedForward() for _ in range(BLOCKS)])
        self.last_layernorm = nn.LayerNorm(D, eps=EPS)

    def log2feats(self, ids):
        B, L = ids.shape
        seqs = self.item_emb(ids) * D**0.5
        # Positions counted from the right, as mmesid (equal to pmixer's when padded to maxLen).
        seqs = seqs + self.pos_emb.weight[MAXLEN - L :].unsqueeze(0)
        seqs = self.emb_dropout(seqs)
        valid = (ids != 0).float()
        timeline = valid.unsqueeze(-1)
        seqs = seqs * timeline
        # Query i sees keys j <= i holding an item, and itself: the additive bias mmesid uses.
        lower = torch.tril(torch.ones(L, L))
        allowed = torch.clamp(lower.unsqueeze(0) * valid.unsqueeze(1) + torch.eye(L).unsqueeze(0), max=1)
        bias = ((allowed - 1) * 1e9).repeat_interleave(H, dim=0)
        for i in range(BLOCKS):
            s = seqs.transpose(0, 1)
            q = self.attention_layernorms[i](s)
            out, _ = self.attention_layers[i](q, s, s, attn_mask=bias, need_weights=False)
            seqs = (q + out).transpose(0, 1)
            seqs = self.forward_layernorms[i](seqs)
            seqs = self.forward_layers[i](seqs)
            seqs = seqs * timeline
        return self.last_layernorm(seqs)

    def forward(self, ids, pos, neg):
        f = self.log2feats(ids)
        return (f * self.item_emb(pos)).sum(-1), (f * self.item_emb(neg)).sum(-1)


def load_weights(model):
    w = read_safetensors(os.path.join(d, "model.safetensors"))
    sd = model.state_dict()
    for k in sd:
        a = torch.from_numpy(w.pop(k))
        sd[k].copy_(a.reshape(sd[k].shape))  # Conv1d weights gain a trailing axis of 1
    if w:
        raise ValueError(f"unused tensors in model.safetensors: {sorted(w)}")


flat = np.fromfile(os.path.join(d, "batches.i32"), dtype=np.int32)
batches, off = [], 0
for size, length in meta["batches"]:
    n = size * length
    parts = [flat[off + k * n : off + (k + 1) * n].reshape(size, length) for k in range(3)]
    off += 3 * n
    batches.append(parts)


def pad(a, width):
    out = np.zeros((a.shape[0], width), dtype=np.int64)
    out[:, width - a.shape[1] :] = a
    return torch.from_numpy(out)


bce = nn.BCEWithLogitsLoss()


def loss_of(model, b, width):
    ids, pos, neg = (pad(x, width or x.shape[1]) for x in b)
    pl, nl = model(ids, pos, neg)
    idx = pos != 0
    return bce(pl[idx], torch.ones_like(pl[idx])) + bce(nl[idx], torch.zeros_like(nl[idx]))


def epoch(width):
    model = SASRec()
    load_weights(model)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=meta["lr"], betas=tuple(meta["betas"]), eps=meta["adamEps"])
    t0 = time.perf_counter()
    total = 0.0
    for b in batches:
        opt.zero_grad()
        loss = loss_of(model, b, width)
        loss.backward()
        opt.step()
        total += loss.item()
    return time.perf_counter() - t0, total / len(batches)


out = {"threads": threads, "torch": torch.__version__, "numpy": np.__version__}
check = SASRec()
load_weights(check)
check.eval()
with torch.no_grad():
    out["first_batch_loss_eval_fixed"] = loss_of(check, batches[0], MAXLEN).item()
    out["first_batch_loss_eval_same_width"] = loss_of(check, batches[0], 0).item()
torch.manual_seed(0)
out["fixed_s"], out["fixed_mean_loss"] = epoch(MAXLEN)
out["same_width_s"], out["same_width_mean_loss"] = epoch(0)
out["blas"] = loaded_blas()
print(json.dumps(out))
