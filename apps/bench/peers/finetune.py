"""Peer of apps/bench/src/speed-finetune.ts: the MME-SID fine-tuning step (efficient mode) of
@mmesid/fusion written out in PyTorch, run from mmesid's weights on mmesid's micro-batches.

Usage: finetune.py check DIR            loss + gradients of micro-batch 0 in eval mode (no dropout)
       finetune.py eval DIR THREADS        full-ranking evaluation of meta["eval"] (speed-eval.ts), no_grad
       finetune.py time DIR THREADS STEPS [MICRO]  one untimed optimiser step, then STEPS timed ones,
                                                   MICRO sequences per micro-batch (default 4)

DIR holds what speed-finetune.ts wrote: model.safetensors (mmesid's state dict; int buffers stored
as float32, exact below 2^24), grads.safetensors (mmesid's gradients of micro-batch 0 in eval mode),
meta.json (shapes, settings, the sequences of the timed steps in training order, mmesid's loss).

The model, as @mmesid/fusion's MmeSidModel computes it (MME-SID defaults):
- item tokens: per modality m (collaborative, visual, text) the Linear projection W_m e_m + b_m of
  the frozen table row and the sum of the item's L semantic-ID code rows; concatenated [n, 6d],
  then Linear(6d -> 3d), ReLU, Linear(3d -> d), GELU (erf);
- Llama (stories260k: d 64, 5 layers, 8 heads, 4 KV heads, head_dim 8): RMSNorm (x * rsqrt(mean x^2
  + eps) * w), rotate-half RoPE with cos/sin of fround(position * inv_freq) taken in float64,
  grouped-query attention (query heads folded per KV head), additive mask bias -1e9, SwiGLU MLP with
  LoRA (r 8, alpha 16, dropout 0.05 on the adapter input) on gate/up/down, final RMSNorm;
- efficient mode with a shared prefix: the prompt prefix runs once (batch 1), its keys/values are
  tiled to the batch, each sequence's item tokens follow left-padded, positions count real tokens
  (cumsum(mask) - 1), and the hidden state at the last prefix token (t = 0) or at item t - 1 is the
  representation of the history items[0..t);
- score head: s = w_0 (u T) + sum_m w_m ((u W_m) E_m^T + u b_m) over all N + 1 items, with the
  fusion weights softmax(MLP2(GELU(MLP1(f))) / temperature) of each item's frequency feature
  (MLPs 1 -> 64 -> 10 and 10 -> 64 -> 4, first layer of the second without bias, GELU between),
  computed on the distinct feature values and gathered per item;
- loss: mean over pairs of logsumexp(s) - s[target] (MME-SID's alignment weight is 0, so the model
  adds no InfoNCE term and neither does this peer);
- optimiser step: gradients of micro-batch loss / accumulation summed over 4 micro-batches, global
  norm clipped to 1 (torch.nn.utils.clip_grad_norm_, the same formula as mmesid's clipGradNorm),
  torch.optim.AdamW with lr = base x warm-up/cosine(step) as mmesid's Trainer, weight decay 0.
Prints one JSON object.
"""
import json
import math
import os
import sys
import time

from common import loaded_blas, pin_threads, read_safetensors, torch_or_reason

mode, d = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if mode in ("time", "eval") else 1
pin_threads(threads)
torch, why = torch_or_reason()
if torch is None:
    print(json.dumps({"skipped": why}))
    sys.exit(0)
import numpy as np  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(threads)
meta = json.load(open(os.path.join(d, "meta.json")))
cfg = meta["model"]
sd = {k: torch.from_numpy(v) for k, v in read_safetensors(os.path.join(d, "model.safetensors")).items()}
trainable = meta["trainable"]
params = {k: sd[k].clone().requires_grad_(True) for k in trainable}
W = {**sd, **params}
H, KV, D, HID = cfg["heads"], cfg["kvHeads"], cfg["headDim"], cfg["hidden"]
LAYERS, EPS, MODS = cfg["layers"], cfg["rmsEps"], cfg["modalities"]
L_SID, K_SID = cfg["sidLevels"], cfg["sidCodebook"]
SCALING, LORA_P, TEMP = cfg["loraScaling"], cfg["loraDropout"], cfg["fusionTemperature"]
PREFIX = meta["prefix"]
P = len(PREFIX)
MASKED = -1e9
sid_ids = {m: sd[f"item_tokenizer.sid.{m}.ids"].long() for m in MODS}
feature_index = sd["head.fusion.feature_index"].long()
feature_values = sd["head.fusion.feature_values"]
table_t = {m: sd[f"item_tokenizer.tables.{m}.weight"].t().contiguous() for m in MODS}

# RoPE tables as mmesid's RopeTable: angle = fround(p * inv_freq), cos/sin in float64 rounded once.
inv_freq = torch.tensor(
    [1.0 / cfg["ropeTheta"] ** ((2 * i) / D) for i in range(D // 2)], dtype=torch.float64
).float()
_pos = torch.arange(512, dtype=torch.float32)[:, None] * inv_freq[None, :]
COS = torch.cos(_pos.double()).float()
SIN = torch.sin(_pos.double()).float()


def gelu(x):
    return x * 0.5 * (1 + torch.erf(x * math.sqrt(0.5)))


def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def lora(x, name, training):
    y = F.linear(x, W[f"{name}.base_layer.weight"])
    h = F.dropout(x, LORA_P, training) if LORA_P > 0 else x
    return y + F.linear(F.linear(h, W[f"{name}.lora_A.weight"]), W[f"{name}.lora_B.weight"]) * SCALING


def rope(positions):
    c = COS[positions]
    s = SIN[positions]
    return torch.cat([c, c], -1), torch.cat([s, s], -1)


def rotary(x, cos, sin):
    c, s = cos.unsqueeze(1), sin.unsqueeze(1)
    x1, x2 = x[..., : D // 2], x[..., D // 2 :]
    return x * c + torch.cat([-x2, x1], -1) * s


def attention_bias(B, past, T, mask):
    S = past + T
    q = torch.arange(past, past + T, dtype=torch.float32)[:, None]
    k = torch.arange(0, S, dtype=torch.float32)[None, :]
    allowed = (k <= q).float().reshape(1, 1, 1, T, S)
    if mask is not None:
        allowed = allowed * (mask != 0).float().reshape(B, 1, 1, 1, S)
    return (1 - allowed) * MASKED


def llama(x, positions, bias, past_kv, training):
    """x [B, T, d]; past_kv: per layer (k, v) [B, KV, S0, D] or None. Returns normed h and the layers' (k, v)."""
    B, T, _ = x.shape
    cos, sin = rope(positions)
    rep = H // KV
    kvs = []
    h = x
    for i in range(LAYERS):
        p = f"llm.layers.{i}."
        a = rmsnorm(h, W[p + "input_layernorm.weight"])
        q = F.linear(a, W[p + "self_attn.q_proj.weight"]).reshape(B, T, H, D).transpose(1, 2)
        k = F.linear(a, W[p + "self_attn.k_proj.weight"]).reshape(B, T, KV, D).transpose(1, 2)
        v = F.linear(a, W[p + "self_attn.v_proj.weight"]).reshape(B, T, KV, D).transpose(1, 2)
        q, k = rotary(q, cos, sin), rotary(k, cos, sin)
        if past_kv is not None:
            k = torch.cat([past_kv[i][0], k], 2)
            v = torch.cat([past_kv[i][1], v], 2)
        kvs.append((k, v))
        S = k.shape[2]
        qg = q.reshape(B * KV, rep * T, D)
        scores = (qg @ k.reshape(B * KV, S, D).transpose(1, 2) * (1 / math.sqrt(D))).reshape(B, KV, rep, T, S)
        probs = torch.softmax(scores + bias, -1).reshape(B * KV, rep * T, S)
        out = (probs @ v.reshape(B * KV, S, D)).reshape(B, H, T, D).transpose(1, 2).reshape(B, T, H * D)
        h = h + F.linear(out, W[p + "self_attn.o_proj.weight"])
        m = rmsnorm(h, W[p + "post_attention_layernorm.weight"])
        g = lora(m, p + "mlp.gate_proj", training)
        u = lora(m, p + "mlp.up_proj", training)
        h = h + lora(g * torch.sigmoid(g) * u, p + "mlp.down_proj", training)
    return rmsnorm(h, W["llm.norm.weight"]), kvs


def item_tokens(items):
    parts = []
    for m in MODS:
        e = W[f"item_tokenizer.tables.{m}.weight"][items]
        parts.append(F.linear(e, W[f"item_tokenizer.proj.{m}.weight"], W[f"item_tokenizer.proj.{m}.bias"]))
        codes = W[f"item_tokenizer.sid.{m}.codes"].reshape(L_SID * K_SID, -1)
        parts.append(codes[sid_ids[m][items].reshape(-1)].reshape(len(items), L_SID, -1).sum(1))
    x = torch.cat(parts, 1)
    x = torch.relu(F.linear(x, W["item_tokenizer.mlp.layers.0.weight"], W["item_tokenizer.mlp.layers.0.bias"]))
    return gelu(F.linear(x, W["item_tokenizer.mlp.layers.1.weight"], W["item_tokenizer.mlp.layers.1.bias"]))


def prefix_representations(batch, training):
    seqs = [r["items"] for r in batch]
    B = len(seqs)
    T = max(len(s) for s in seqs)
    padding = [T - len(s) for s in seqs]
    flat = torch.tensor([i for s in seqs for i in s], dtype=torch.long)
    tokens = item_tokens(flat)
    rows, off = [], 0
    for b, s in enumerate(seqs):
        part = tokens[off : off + len(s)]
        off += len(s)
        rows.append(torch.cat([torch.zeros(padding[b], HID), part], 0) if padding[b] else part)
    x = torch.stack(rows)
    pre_x = W["llm.embed_tokens.weight"][torch.tensor([PREFIX], dtype=torch.long)]
    pre, kvs = llama(pre_x, torch.arange(P)[None, :], attention_bias(1, 0, P, None), None, training)
    tiled = [(k.expand(B, -1, -1, -1), v.expand(B, -1, -1, -1)) for k, v in kvs]
    mask = torch.ones(B, P + T)
    for b in range(B):
        mask[b, P : P + padding[b]] = 0
    pos = torch.cumsum(mask, 1) - 1
    pos = torch.where(mask == 0, torch.ones_like(pos), pos)[:, P:].long()
    rest, _ = llama(x, pos, attention_bias(B, P, T, mask), tiled, training)
    flat_h = torch.cat([pre.reshape(P, HID), rest.reshape(B * T, HID)], 0)
    idx = [P - 1 if t == 0 else P + b * T + padding[b] + t - 1 for b, r in enumerate(batch) for t in r["prefixLengths"]]
    return flat_h[torch.tensor(idx, dtype=torch.long)]


def fusion_weights():
    f = "head.fusion."
    x = gelu(F.linear(feature_values, W[f + "mlp_head.0.weight"], W[f + "mlp_head.0.bias"]))
    x = F.linear(x, W[f + "mlp_head.2.weight"], W[f + "mlp_head.2.bias"])
    x = gelu(F.linear(x, W[f + "mlp_meta_embedding.0.weight"]))
    x = F.linear(x, W[f + "mlp_meta_embedding.2.weight"], W[f + "mlp_meta_embedding.2.bias"])
    return torch.softmax(x / TEMP, -1)[feature_index]


def scores_of(u):
    w = fusion_weights()
    s = (u @ W["head.target_table_t"]) * w[:, 0][None, :]
    for j, m in enumerate(MODS, 1):
        t = (u @ W[f"item_tokenizer.proj.{m}.weight"]) @ table_t[m]
        t = t + u @ W[f"item_tokenizer.proj.{m}.bias"].reshape(-1, 1)
        s = s + t * w[:, j][None, :]
    return s


def loss_of(batch, training):
    s = scores_of(prefix_representations(batch, training))
    targets = torch.tensor([t for r in batch for t in r["targets"]], dtype=torch.long)
    return (torch.logsumexp(s, 1) - s[torch.arange(len(targets)), targets]).mean()


out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": loaded_blas()}
if mode == "check":
    loss = loss_of(meta["sequences"][: meta["checkMicro"]], False)
    loss.backward()
    ref = read_safetensors(os.path.join(d, "grads.safetensors"))
    worst = {"name": None, "relToMax": 0.0}
    for k in trainable:
        g = params[k].grad.numpy() if params[k].grad is not None else np.zeros_like(ref[k])
        scale = max(float(np.abs(ref[k]).max()), float(np.abs(g).max()), 1e-30)
        rel = float(np.abs(g - ref[k]).max()) / scale
        if rel > worst["relToMax"]:
            worst = {"name": k, "relToMax": rel, "maxAbs": scale}
    out.update({"loss": float(loss), "mmesidLoss": meta["mmesidLoss"], "gradWorst": worst, "gradTensors": len(trainable)})
elif mode == "eval":
    # What @mmesid/fusion's evaluateMmeSid does with its FrozenScorer: item tokens of every id, the
    # prefix keys/values and the fusion weights once; users sorted by history length (stable) in
    # batches of at most batchSize users and batchTokens padded item tokens; each batch's rows left-
    # padded after the prefix; u = the last hidden state; scores over all ids; rank = 1 + the ids
    # other than the target and the history scoring >= the target (ties against the target).
    ev = meta["eval"]
    hists, targets = ev["histories"], ev["targets"]
    U = len(targets)
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        rows = W["head.target_table_t"].shape[1]
        tokens = item_tokens(torch.arange(rows))
        pre_x = W["llm.embed_tokens.weight"][torch.tensor([PREFIX], dtype=torch.long)]
        _, kvs = llama(pre_x, torch.arange(P)[None, :], attention_bias(1, 0, P, None), None, False)
        w = fusion_weights()
        order = sorted(range(U), key=lambda i: len(hists[i]))
        ranks = [0] * U
        i = 0
        while i < U:
            end = min(i + ev["batchSize"], U)
            n = 1
            while i + n < end and (n + 1) * len(hists[order[i + n]]) <= ev["batchTokens"]:
                n += 1
            batch = order[i : i + n]
            i += n
            B = len(batch)
            T = max(len(hists[j]) for j in batch)
            x = torch.zeros(B, T, HID)
            mask = torch.ones(B, P + T)
            for b, j in enumerate(batch):
                h = hists[j]
                if h:
                    x[b, T - len(h) :] = tokens[torch.tensor(h, dtype=torch.long)]
                mask[b, P : P + T - len(h)] = 0
            pos = torch.cumsum(mask, 1) - 1
            pos = torch.where(mask == 0, torch.ones_like(pos), pos)[:, P:].long()
            tiled = [(k.expand(B, -1, -1, -1), v.expand(B, -1, -1, -1)) for k, v in kvs]
            rest, _ = llama(x, pos, attention_bias(B, P, T, mask), tiled, False)
            u = rest[:, -1]
            s = (u @ W["head.target_table_t"]) * w[:, 0][None, :]
            for jm, m in enumerate(MODS, 1):
                t = (u @ W[f"item_tokenizer.proj.{m}.weight"]) @ table_t[m]
                t = t + u @ W[f"item_tokenizer.proj.{m}.bias"].reshape(-1, 1)
                s = s + t * w[:, jm][None, :]
            tg = torch.tensor([targets[j] for j in batch], dtype=torch.long)
            ts = s[torch.arange(B), tg]
            count = (s >= ts[:, None]).sum(1)
            for b, j in enumerate(batch):
                ex = sorted(set(hists[j]) - {targets[j], 0})
                if ex:
                    count[b] -= int((s[b, torch.tensor(ex, dtype=torch.long)] >= ts[b]).sum())
                ranks[j] = int(count[b])
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    out.update({"users": U, "seconds": sec, "cpuSeconds": cpu, "usersPerSecond": U / sec, "hits10": sum(r <= 10 for r in ranks), "ranks": ranks})
else:
    steps = int(sys.argv[4])
    tr = meta["train"]
    size = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    acc = tr["effectiveBatch"] // size
    seqs = meta["sequences"]
    micro = [seqs[i : i + size] for i in range(0, len(seqs), size)]
    plist = [params[k] for k in trainable]
    opt = torch.optim.AdamW(plist, lr=tr["lr"], betas=tuple(tr["betas"]), eps=tr["eps"], weight_decay=tr["weightDecay"])
    warm, total = tr["warmupSteps"], tr["totalSteps"]

    def schedule(step):
        if step < warm:
            return step / max(1, warm)
        progress = (step - warm) / max(1, total - warm)
        return max(0.0, 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))

    losses = []

    def optimiser_step(s):
        for j in range(acc):
            loss = loss_of(micro[(s * acc + j) % len(micro)], True)
            (loss / acc).backward()
            losses.append(loss.item())
        norm = torch.nn.utils.clip_grad_norm_(plist, tr["clipNorm"])
        for g in opt.param_groups:
            g["lr"] = tr["lr"] * schedule(s)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(norm)

    torch.manual_seed(1)
    optimiser_step(0)  # warm-up, as mmesid's side runs one step before its timed run
    # The timed run starts over from step 0's batches, as trainMmeSid does for each call.
    t0, c0 = time.perf_counter(), time.process_time()
    for s in range(steps):
        optimiser_step(s)
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    pairs = sum(len(r["targets"]) for s in range(steps) for j in range(acc) for r in micro[(s * acc + j) % len(micro)])
    out.update({"microBatch": size, "steps": steps, "pairs": pairs, "seconds": sec, "cpuSeconds": cpu, "pairsPerSecond": pairs / sec, "pairsPerCpuSecond": pairs / cpu, "meanLoss": float(np.mean(losses[acc:]))})
print(json.dumps(out))
