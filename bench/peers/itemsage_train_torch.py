"""Peer for the ItemSage training benchmark (bench/PinnerSage.Benchmarks `itemsage-train`): the same product tower and
loss in PyTorch (CPU), timed inside Python with time.perf_counter over full training steps (forward, loss, backward,
gradient clipping, optimizer), so interpreter start-up, imports and data generation are excluded. Prints one JSON
object on stdout.

The model is ours layer for layer (src/PinnerSage.Core/ItemSage/Model): hash embeddings (E [rows, hd] and per-token
weights W [vocab, 2], token vector W[t,0]*E[h1(t)] + W[t,1]*E[h2(t)], a field is the sum of its tokens) -> LayerNorm ->
one Linear per feature group into d_model, a learned [CLS] and per-slot embeddings, one pre-norm encoder layer whose
query is only the [CLS] row (the only row the head reads; keys and values are projected for every position; torch 1.13 has no fused attention, so it is written out), the head
LayerNorm -> Linear -> GELU -> Linear -> L2; or the MLP-concat baseline (mean image vector + per-field text vectors ->
Linear -> GELU -> Linear -> L2). With PER_SET = 1 every vector slot has its own projection and the MLP concatenates
the vectors instead of averaging them (ItemSageModelOptions.ProjectionPerVectorSet); DROPOUT is the encoder's. Loss: in-batch softmax with a logQ correction plus a softmax over random catalogue
negatives, tau = 0.05. Dense parameters: AdamW (clip 1.0); embedding tables: sparse gradients with SparseAdam (lazy
rows, as ours). Every item has all fields (TOKENS tokens each) and IMAGES vectors, as in the C# run.

usage: itemsage_train_torch.py TOWER THREADS BATCH NEGATIVES STEPS D_MODEL HEADS FFN HEAD_HIDDEN OUT HASH_ROWS HASH_DIM
       VOCAB FIELDS TOKENS IMAGES IMAGE_DIM ITEMS PER_SET DROPOUT
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def multiply_shift(tokens, multiplier, rows):
    """Our two multiply-shift hashes (HashEmbedding.Hash) in 64-bit integer arithmetic."""
    mask = (1 << 64) - 1
    out = []
    for t in tokens:
        x = ((t + 1) * multiplier) & mask
        x ^= x >> 29
        x = (x * multiplier) & mask
        out.append((x * rows) >> 64)
    return out


class Tower(nn.Module):
    def __init__(self, kind, d, heads, ffn, hidden, out, hash_rows, hash_dim, vocab, fields, images, image_dim, dropout,
                 per_set):
        super().__init__()
        self.kind, self.d, self.heads, self.fields, self.images, self.per_set = kind, d, heads, fields, images, per_set
        self.e = nn.Embedding(hash_rows, hash_dim, sparse=True)
        self.w = nn.Embedding(vocab, 2, sparse=True)
        nn.init.normal_(self.e.weight, std=1 / math.sqrt(hash_dim))
        nn.init.ones_(self.w.weight)
        self.text_ln = nn.LayerNorm(hash_dim)
        self.dropout = dropout
        if kind == "transformer":
            s = 1 + images + fields
            self.text_proj = nn.Linear(hash_dim, d)
            self.image_proj = nn.ModuleList(nn.Linear(image_dim, d) for _ in range(images if per_set else 1))
            self.cls = nn.Parameter(torch.randn(d) * 0.02)
            self.slots = nn.Parameter(torch.randn(s - 1, d) * 0.02)
            self.ln1, self.ln2, self.head_ln = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
            self.wq, self.wkv, self.wo = nn.Linear(d, d), nn.Linear(d, 2 * d), nn.Linear(d, d)
            self.w1, self.w2 = nn.Linear(d, ffn), nn.Linear(ffn, d)
            self.h1, self.h2 = nn.Linear(d, hidden), nn.Linear(hidden, out)
        else:
            vector_in = image_dim * (images if per_set else 1)
            self.h1, self.h2 = nn.Linear(vector_in + fields * hash_dim, hidden), nn.Linear(hidden, out)

    def text(self, rows1, rows2, tokens):
        # rows*, tokens: [N, fields, tokens]; field vector = sum over tokens of W[t,0] E[h1] + W[t,1] E[h2].
        w = self.w(tokens)
        v = (w[..., 0:1] * self.e(rows1) + w[..., 1:2] * self.e(rows2)).sum(dim=2)
        return self.text_ln(v)

    def forward(self, rows1, rows2, tokens, vectors):
        n = tokens.shape[0]
        t = self.text(rows1, rows2, tokens)  # [N, F, hd]
        if self.kind == "mlp":
            x = torch.cat([vectors.reshape(n, -1) if self.per_set else vectors.mean(dim=1), t.reshape(n, -1)], dim=1)
            return F.normalize(self.h2(F.gelu(self.h1(x))), dim=1)
        if self.per_set:
            projected = torch.stack([proj(vectors[:, j]) for j, proj in enumerate(self.image_proj)], dim=1)
        else:
            projected = self.image_proj[0](vectors)
        x = torch.cat([self.cls.expand(n, 1, self.d),
                       torch.cat([projected, self.text_proj(t)], dim=1) + self.slots], dim=1)
        xn = self.ln1(x)
        dh = self.d // self.heads
        q = self.wq(xn[:, :1]).view(n, 1, self.heads, dh).transpose(1, 2)
        k, v = self.wkv(xn).view(n, -1, 2, self.heads, dh).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), dim=-1) @ v  # [N, heads, 1, dh]
        a = a.transpose(1, 2).reshape(n, self.d)
        h = x[:, 0] + F.dropout(self.wo(a), self.dropout, self.training)
        y = h + F.dropout(self.w2(F.gelu(self.w1(self.ln2(h)))), self.dropout, self.training)
        return F.normalize(self.h2(F.gelu(self.h1(self.head_ln(y)))), dim=1)


def main():
    (tower, threads, batch, negatives, steps, d, heads, ffn, hidden, out, hash_rows, hash_dim, vocab, fields, tokens,
     images, image_dim, items, per_set) = sys.argv[1], *map(int, sys.argv[2:20])
    dropout = float(sys.argv[20])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    g = torch.Generator().manual_seed(2)
    catalog_tokens = torch.randint(0, vocab, (items, fields, tokens), generator=g)
    flat = catalog_tokens.flatten().tolist()
    rows1 = torch.tensor(multiply_shift(flat, 0x9E3779B97F4A7C15, hash_rows)).view(items, fields, tokens)
    rows2 = torch.tensor(multiply_shift(flat, 0xC2B2AE3D27D4EB4F, hash_rows)).view(items, fields, tokens)
    catalog_vectors = torch.randn(items, images, image_dim, generator=g)
    model = Tower(tower, d, heads, ffn, hidden, out, hash_rows, hash_dim, vocab, fields, images, image_dim, dropout,
                  per_set == 1)
    sparse = [model.e.weight, model.w.weight]
    dense = [p for p in model.parameters() if all(p is not s for s in sparse)]
    opt_dense = torch.optim.AdamW(dense, lr=1e-3, weight_decay=0.01)
    opt_sparse = torch.optim.SparseAdam(sparse, lr=1e-3)
    counts = torch.ones(items)
    scale = 1 / 0.05

    def step():
        q_ids = torch.randint(0, items, (batch,), generator=g)
        p_ids = torch.randint(0, items, (batch,), generator=g)
        n_ids = torch.randint(0, items, (negatives,), generator=g)
        ids = torch.cat([q_ids, p_ids, n_ids])
        emb = model(rows1[ids], rows2[ids], catalog_tokens[ids], catalog_vectors[ids])
        q, p, neg = emb[:batch], emb[batch:2 * batch], emb[2 * batch:]
        counts.index_add_(0, p_ids, torch.ones(batch))
        log_q = torch.log(counts[p_ids] / counts.sum())
        labels = torch.arange(batch)
        in_batch = F.cross_entropy(q @ p.T * scale - log_q, labels)
        random_neg = F.cross_entropy(torch.cat([(q * p).sum(1, keepdim=True), q @ neg.T], dim=1) * scale,
                                     torch.zeros(batch, dtype=torch.long))
        loss = in_batch + random_neg
        opt_dense.zero_grad(set_to_none=True)
        opt_sparse.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(dense, 1.0)
        opt_dense.step()
        opt_sparse.step()
        return loss.item()

    model.train()
    for _ in range(3):
        step()
    times = []
    cpu0 = time.process_time()
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    cpu = time.process_time() - cpu0
    times.sort()
    median = times[len(times) // 2]
    total = sum(times)
    with open("/proc/self/maps") as maps:
        blas = next((line.split()[-1] for line in maps if "blas" in line.split()[-1]), "unknown")
    print(json.dumps({"torch": torch.__version__, "blas": blas, "threads": torch.get_num_threads(), "steps": steps,
                      "median_step_seconds": median, "examples_per_second": batch * steps / total,
                      "examples_per_second_median": batch / median,
                      # CPU time of the process over the timed steps: on a loaded machine the 1-thread rate per CPU-second
                      # is what the machine would give this process alone.
                      "examples_per_cpu_second": batch * steps / cpu}))


if __name__ == "__main__":
    main()
