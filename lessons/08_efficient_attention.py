# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   language_info:
#     codemirror_mode:
#       name: ipython
#       version: 3
#     file_extension: .py
#     mimetype: text/x-python
#     name: python
#     nbconvert_exporter: python
#     pygments_lexer: ipython3
#     version: 3.11.7
# ---

# %% [markdown]
# # 08 · What attention costs, and how real systems make it cheaper
#
# Every query meets every key: that is what makes attention powerful, and what makes it expensive.
# For a sequence of T tokens the score matrix QKᵀ has T × T entries, per head, per layer. This lesson
# measures that cost on this machine and then looks at three ways practitioners avoid paying it:
#
# **Learning goals.** After this lesson you can
# 1. say how the memory and time of attention grow with the sequence length T (like T², slope 2 on
#    a log-log plot), and compute the size of a score matrix in bytes;
# 2. explain the **KV cache** that every text generator uses, and measure its speed-up (same tokens);
# 3. derive **online softmax**, a softmax computed one chunk at a time with a running maximum and a
#    rescaled running sum, and use it for exact attention that never builds the T × T matrix
#    (`chunked_attention`, the idea behind FlashAttention);
# 4. tell which kernel PyTorch's fused `scaled_dot_product_attention` runs on this CPU, and what it
#    saves in time and memory.
#
# Timings depend on the machine and on what else runs on it: cells that print a measured time or
# memory say so, and the conclusions rest on ratios and on checks that do not depend on the clock.

# %%
import itertools
import math
import os
import statistics

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from torch.nn.attention import SDPBackend, sdpa_kernel

from attn_lib import MultiHeadAttention, Transformer, causal_mask, greedy_decode, scaled_dot_product_attention
from attn_lib.efficient import (
    chunked_attention,
    measure_peak_memory,
    measure_time,
    online_softmax_steps,
    operators_called,
)
from attn_lib.widgets import format_bytes, plot_score_memory, score_memory

torch.manual_seed(0)
torch.set_num_threads(1)  # one thread: reproducible sums, and timings that do not fight over cores
torch.set_printoptions(precision=4, sci_mode=False)
MiB = 2**20
print("torch", torch.__version__, "| threads:", torch.get_num_threads())

# %% [markdown]
# ## 1 · The score matrix is T × T
#
# In softmax(QKᵀ/√d_k)V with Q, K, V of shape `(B, H, T, Dh)`, the scores QKᵀ are `(B, H, T, T)`:
# one number per (query, key) pair, per head. In float32 each number takes 4 bytes. For one sequence
# (B = 1) and 8 heads, `score_memory` (from `attn_lib.widgets`) gives the bytes of that matrix:

# %%
H, Dh = 8, 64  # heads and head_dim used throughout
print(f"{'T':>7s}  {'scores (1, 8, T, T), float32':>28s}")
for T in [512, 1024, 2048, 4096, 8192, 16384, 32768]:
    print(f"{T:>7d}  {format_bytes(score_memory(T, T, num_heads=H)['explicit']):>28s}")
assert score_memory(4096, 4096, num_heads=H)["explicit"] == 1 * H * 4096 * 4096 * 4 == 512 * MiB

# %% [markdown]
# Doubling T quadruples the matrix. At 32,768 tokens, a context length that current language
# models handle routinely, one layer's scores would need 32 GiB — more than the memory of most
# laptops. Does it fit in this machine's? The cell reads the machine's RAM (so its output differs
# from machine to machine):

# %% tags=["nbval-ignore-output"]
try:
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")  # bytes of physical memory
except (ValueError, OSError, AttributeError):  # not available on this system
    ram = None
scores_32k = score_memory(32768, 32768, num_heads=H)["explicit"]
if ram is None:
    print("this system does not report its RAM")
else:
    print(f"RAM of this machine: {format_bytes(ram)}; the scores at T = 32,768 ({format_bytes(scores_32k)}) "
          f"are {'less' if scores_32k < ram else 'more'} than that")

# %% [markdown]
# Work grows the same way: computing QKᵀ takes T · T · Dh multiply-adds per head, and so does
# multiplying the weights with V.
#
# ### Measured: time and memory against T
#
# Let us measure `attn_lib.scaled_dot_product_attention` (the explicit formula of lesson 02) for
# T = 128 … 2048, with 8 heads of head_dim 64. `measure_peak_memory(fn)` reads the PyTorch
# profiler's allocation events and returns the largest amount of tensor memory alive at once while
# `fn` runs; `measure_time(fn)` returns wall-clock seconds of repeated calls (we keep the fastest,
# the one least disturbed by other programs). No autograd here (`torch.no_grad()`): the library then
# overwrites the scores with the weights in place, so one T × T block is alive at a time. Measured
# numbers, so this cell's output changes from run to run:

# %% tags=["nbval-ignore-output"]
lengths = [128, 256, 512, 1024, 2048]
peak_bytes, seconds = [], []
with torch.no_grad():
    for T in lengths:
        q, k, v = torch.randn(3, 1, H, T, Dh).unbind(0)  # each (B, H, T, Dh) = (1, 8, T, 64)

        def explicit(q=q, k=k, v=v):
            return scaled_dot_product_attention(q, k, v)

        peak_bytes.append(measure_peak_memory(explicit))
        seconds.append(min(measure_time(explicit, repeats=3)))
        print(f"T={T:5d}: peak {peak_bytes[-1] / MiB:7.1f} MiB (one score block: "
              f"{score_memory(T, T, num_heads=H)['explicit'] / MiB:6.1f} MiB), time {seconds[-1] * 1e3:7.1f} ms")

# %% [markdown]
# On log-log axes a power law T^p is a straight line of slope p. Fitting a line through the last
# three points (where the T² part dominates the small linear parts such as the output):


# %%
def loglog_slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(y) against log(x)."""
    lx, ly = torch.tensor(xs, dtype=torch.float64).log(), torch.tensor(ys, dtype=torch.float64).log()
    return float(((lx - lx.mean()) * (ly - ly.mean())).sum() / ((lx - lx.mean()) ** 2).sum())


memory_slope = loglog_slope(lengths[-3:], peak_bytes[-3:])
time_slope = loglog_slope(lengths[-3:], seconds[-3:])
print("memory grows like T^p with p between 1.8 and 2.1:", 1.8 < memory_slope < 2.1)

# %% tags=["nbval-ignore-output"]
print(f"fitted slopes: memory {memory_slope:.2f}, time {time_slope:.2f}")

# %%
theory = [score_memory(T, T, num_heads=H)["explicit"] / MiB for T in lengths]
fig, (ax_m, ax_t) = plt.subplots(1, 2, figsize=(9, 3.6))
ax_m.loglog(lengths, [b / MiB for b in peak_bytes], "o-", color="#e76f51", label="measured peak")
ax_m.loglog(lengths, theory, "k--", lw=1, label="one (1, 8, T, T) block: 32·T² bytes")
ax_m.set_ylabel("peak memory (MiB)")
ax_m.set_title(f"memory: slope {memory_slope:.1f}", fontsize=10)
ax_t.loglog(lengths, [s * 1e3 for s in seconds], "o-", color="#264653", label="measured")
guide = [seconds[-1] * 1e3 * (T / lengths[-1]) ** 2 for T in lengths]
ax_t.loglog(lengths, guide, "k--", lw=1, label="slope 2 guide")
ax_t.set_ylabel("time (ms, fastest of 3)")
ax_t.set_title(f"time: slope {time_slope:.1f} at large T", fontsize=10)
for ax in (ax_m, ax_t):
    ax.set_xscale("log", base=2)
    ax.set_xlabel("sequence length T (tokens)")
    ax.legend(fontsize=8)
fig.suptitle(f"Attention's cost grows like T²: doubling T multiplies the memory by {2**memory_slope:.1f} "
             f"and the time by {2**time_slope:.1f} (fitted, large T)", fontsize=11)
fig.tight_layout()
plt.show()

# %% [markdown]
# The memory follows the T² line almost exactly: the score block *is* the memory. The time has a
# slope of about 2 at large T (the fitted value is printed above; a block that no longer fits in the
# CPU caches can push it above 2), while at small T fixed costs, such as calling the kernels, flatten
# the curve. The rest of this lesson is about not paying these costs where they can be avoided.
#
# ## 2 · Online softmax: a softmax one chunk at a time
#
# The T × T matrix exists only because the softmax of a row needs the whole row: its maximum (for
# stability, lesson 02) and its sum. Can a row be processed in chunks? One identity makes it
# possible: for *any* constant m,
#
# $$\operatorname{softmax}(s)_j = \frac{e^{s_j - m}}{\sum_i e^{s_i - m}}.$$
#
# Walk over the row chunk by chunk and keep two numbers: the **running maximum** m of the scores
# seen so far, and the **running sum** ℓ = Σ e^{s_i − m} over them. When a chunk brings a new
# maximum m′ ≥ m, the old sum was computed relative to the wrong constant; multiplying it by
# e^{m − m′} (a number ≤ 1) fixes that:
#
# $$m' = \max(m, \max_{j \in \text{chunk}} s_j), \qquad \ell' = \ell \, e^{m - m'} + \sum_{j \in \text{chunk}} e^{s_j - m'}.$$
#
# One query's scores over T_k = 8 keys, in chunks of 3, by hand:

# %%
scores = torch.tensor([1.0, 3.0, 0.5, 2.0, 6.0, -1.0, 4.0, 2.5])  # (T_k,) one row of QKᵀ/√d_k
m, ell = float("-inf"), 0.0  # running max, running sum
for chunk in scores.split(3):  # (3,), (3,), (2,)
    new_m = max(m, chunk.max().item())
    rescale = math.exp(m - new_m)  # exp(-inf) = 0 before the first chunk
    ell = ell * rescale + torch.exp(chunk - new_m).sum().item()
    print(f"chunk {chunk.tolist()}: max {m:5.1f} -> {new_m:.1f}, old sum x {rescale:.4f}, sum now {ell:.4f}")
    m = new_m
weights = torch.exp(scores - m) / ell
torch.testing.assert_close(weights, torch.softmax(scores, dim=0))
print("weights:", weights, "\nequal to torch.softmax: True")

# %% [markdown]
# The second chunk raised the maximum from 3 to 6, so the sum of the first chunk was multiplied by
# e^{3 − 6} ≈ 0.0498; the third chunk did not raise it (factor 1). `attn_lib.efficient.online_softmax_steps`
# records the same trace, with the weights the row would have if it stopped after each chunk:

# %%
steps = online_softmax_steps(scores, chunk_size=3)
for i, step in enumerate(steps):
    print(f"after chunk {i}: running max {step['max'][0]:.1f}, running sum {step['sum'][0]:.4f}, "
          f"keys seen {step['seen'][0]}")
assert steps[-1]["max"][0] == m and abs(steps[-1]["sum"][0] - ell) < 1e-6
torch.testing.assert_close(torch.tensor(steps[-1]["weights"], dtype=torch.float32), weights)
print("the last step's weights are the softmax: True")

# %%
fig, axes = plt.subplots(1, len(steps), figsize=(10, 3.2), sharey=True)
positions = range(len(scores))
for i, (ax, step) in enumerate(zip(axes, steps, strict=True)):
    seen = step["seen"][0]
    provisional = step["weights"] + [0.0] * (len(scores) - seen)
    ax.bar(positions, provisional, color=["#2a9d8f"] * seen + ["#dddddd"] * (len(scores) - seen))
    ax.axvspan(3 * i - 0.5, seen - 0.5, color="#f4a261", alpha=0.2)  # the chunk just read
    if seen < len(scores):
        ax.text((seen + len(scores) - 1) / 2, 0.4, "not read\nyet", ha="center", color="grey", fontsize=8)
    ax.set_title(f"after chunk {i}: max {step['max'][0]:.0f}, sum {step['sum'][0]:.2f}", fontsize=9)
    ax.set_xticks(list(positions), [f"{s:g}" for s in scores.tolist()], fontsize=8)
    ax.set_xlabel("score of key j")
axes[-1].plot(positions, torch.softmax(scores, 0), "k_", ms=14, mew=2, label="softmax of the full row")
axes[-1].legend(fontsize=8, loc="upper left")
axes[0].set_ylabel("weight (normalised over the keys seen)")
fig.suptitle("Online softmax: a running max and a rescaled running sum; after the last chunk the weights are exactly softmax",
             fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# The shaded band is the chunk just read. After each chunk the weights over the keys seen so far
# sum to 1; they shrink as later chunks add competitors (the score 6 takes most of the weight as
# soon as it appears), and after the last chunk they are the softmax of the whole row.
#
# ### From weights to outputs: chunked attention
#
# Attention needs Σ_j softmax(s)_j v_j, not the weights themselves. The same trick applies to a
# running **numerator** acc = Σ e^{s_j − m} v_j, rescaled by the same factor e^{m − m′}; at the end
# the output is acc / ℓ. Doing this for all queries at once, with matrices, gives
# `attn_lib.efficient.chunked_attention(query, key, value, mask, chunk_size)`: it walks over the
# keys in chunks of C, so only a `(B, H, T_q, C)` block of scores ever exists. It is exact, not an
# approximation; masks work as everywhere in the course (True = may attend, a query with nothing to
# attend to gets zeros):

# %%
q, k, v = torch.randn(3, 2, 4, 300, 32).unbind(0)  # each (B, H, T, Dh) = (2, 4, 300, 32)
mask = causal_mask(300)  # (T, T)
exact, _ = scaled_dot_product_attention(q, k, v, mask=mask)  # (2, 4, 300, 32)
for C in [1, 7, 64, 300, 1000]:
    out = chunked_attention(q, k, v, mask=mask, chunk_size=C)  # (2, 4, 300, 32)
    err = (out - exact).abs().max().item()
    print(f"chunk_size {C:4d}: output {tuple(out.shape)}, max abs error < 1e-5: {err < 1e-5}")

# %% [markdown]
# Chunk sizes of 1 (a key at a time), 7 (which does not divide 300) and 1000 (more than T, a single
# chunk) all agree with the explicit formula to float rounding. And a query whose keys are all
# masked gets zeros, not NaN. Checked with query 0 blocked completely; for comparison, a plain
# softmax over a row of −∞ gives NaN (0/0), while PyTorch's fused function, in this version, also
# returns zeros:

# %%
no_keys = mask.clone()
no_keys[0] = False  # query 0 may attend to nothing
print("chunked_attention, query 0:", chunked_attention(q, k, v, mask=no_keys, chunk_size=64)[0, 0, 0, :4], "...")
scores_0 = (q[0, 0] @ k[0, 0].T).masked_fill(~no_keys, float("-inf"))  # (T, T), head 0 of sentence 0
print("plain softmax, query 0:    ", torch.softmax(scores_0, dim=-1)[0, :4], "...")
print("F.scaled_dot_product_attention, query 0:",
      F.scaled_dot_product_attention(q, k, v, attn_mask=no_keys)[0, 0, 0, :4], "...")

# %% [markdown]
# What changes with C is memory and time. For T = 2048 and 4 heads (the explicit scores would be
# 64 MiB), measured for chunk sizes from 4 to T, each time the median of 5 runs (the machine is
# noisy, so this cell's output changes from run to run):

# %% tags=["nbval-ignore-output"]
T = 2048
q, k, v = torch.randn(3, 1, 4, T, Dh).unbind(0)  # each (1, 4, 2048, 64)
chunk_sizes = [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]
chunk_peak, chunk_seconds = [], []
with torch.no_grad():
    for C in chunk_sizes:

        def chunked(C=C):
            return chunked_attention(q, k, v, chunk_size=C)

        chunk_peak.append(measure_peak_memory(chunked))
        chunk_seconds.append(statistics.median(measure_time(chunked, repeats=5)))
        print(f"C={C:5d}: peak {chunk_peak[-1] / MiB:6.1f} MiB, time {chunk_seconds[-1] * 1e3:6.1f} ms")
fastest = min(chunk_seconds)
print(f"fastest at C={chunk_sizes[chunk_seconds.index(fastest)]}; "
      f"C={chunk_sizes[0]} takes {chunk_seconds[0] / fastest:.1f}x as long, C={T} {chunk_seconds[-1] / fastest:.1f}x")

# %%
block = [score_memory(T, C, num_heads=4)["chunked"] / MiB for C in chunk_sizes]
fig, (ax_m, ax_t) = plt.subplots(1, 2, figsize=(9, 3.6))
ax_m.loglog(chunk_sizes, [b / MiB for b in chunk_peak], "o-", color="#2a9d8f", label="measured peak")
ax_m.loglog(chunk_sizes, block, "k--", lw=1, label="one (1, 4, T, C) score block (slope 1)")
ax_m.set_ylabel("peak memory (MiB, log scale)")
ax_m.set_title("memory: a T×C block (slope 1) plus a constant", fontsize=10)
ax_t.loglog(chunk_sizes, [s * 1e3 for s in chunk_seconds], "o-", color="#264653")
ax_t.set_ylabel("time (ms, median of 5, log scale)")
ax_t.set_title(f"time: tiny chunks are slowest (C={chunk_sizes[0]}: "
               f"{chunk_seconds[0] / fastest:.0f}× the fastest)", fontsize=10)
for ax in (ax_m, ax_t):
    ax.set_xscale("log", base=2)
    ax.set_xlabel("chunk size C (keys per step, log scale)")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))  # ticks at 1, 2, 5, 10, 20, ...
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))  # plain numbers, not 5×10¹
    ax.yaxis.set_minor_formatter(NullFormatter())
ax_m.legend(fontsize=8)
fig.suptitle(f"chunked_attention at T={T}: the chunk size trades memory for the number of steps", fontsize=11)
fig.tight_layout()
plt.show()

# %% [markdown]
# Memory is one score block plus a few `(B, H, T, Dh)` tensors (the scaled queries, the accumulator,
# the output). On log-log axes the block is a line of slope 1; the measured peak follows it once the
# block dominates and flattens at small C, where the constant part is most of it. At C = T it is the
# explicit computation again.
#
# Time is U-shaped (compare the printed ratios). With tiny chunks, each of the T / C steps is a
# handful of PyTorch calls on tiny tensors: the per-call overhead, not the arithmetic, dominates, and
# at the smallest sizes halving C nearly doubles the time. At the large end the time usually rises
# again, probably because the `(1, 4, T, C)` block (32 MiB at C = 1024) no longer fits in the CPU
# caches; at C = T the computation is the explicit one. Where exactly the minimum lies depends on
# the machine and moves from run to run; a few hundred keys per chunk keeps both memory and time
# low.
#
# ### Try it: sequence length and chunk size
#
# The memory of the score matrix, explicit (the whole T × T) against chunked (one T × C block), for
# 8 heads and one sequence. Move T to see where the explicit matrix no longer fits in this machine's
# memory (the dashed line), and C to see what a chunk costs. The logic is
# `attn_lib.widgets.plot_score_memory`.

# %% tags=["nbval-ignore-output"]
seq_slider = widgets.SelectionSlider(
    options=[2**p for p in range(8, 18)], value=4096, description="T", continuous_update=False
)
chunk_slider = widgets.SelectionSlider(
    options=[2**p for p in range(4, 13)], value=256, description="chunk C", continuous_update=False
)


def show_score_memory(seq_len: int, chunk_size: int) -> None:
    plot_score_memory(seq_len, chunk_size, num_heads=8, ram_bytes=ram)
    plt.show()


display(widgets.VBox([widgets.HBox([seq_slider, chunk_slider]),
                      widgets.interactive_output(show_score_memory, {"seq_len": seq_slider, "chunk_size": chunk_slider})]))

# %% [markdown]
# ## 3 · The KV cache: do not recompute the past
#
# Generation (lesson 05) is a loop: run the decoder on the prefix, take the next token, append it,
# repeat. At step t, every layer computes keys and values for **all** t positions of the prefix, yet
# t − 1 of them were computed at the previous step and have not changed: with the causal mask,
# position j only ever sees positions ≤ j, so its vectors cannot depend on anything generated later.
#
# A **KV cache** keeps each self-attention layer's keys and values, `(B, H, T_past, Dh)`, and at each
# step runs the decoder on the new token only: its query attends to the cached keys and values plus
# its own. Cross-attention keys and values come from the encoder output, which never changes; they
# are computed once. In `attn_lib`: `Decoder.new_cache()` gives one empty `(self, cross)` pair of
# `KVCache` per layer, and `greedy_decode(..., use_cache=True)` uses it.
#
# An untrained model of realistic shape: 4 decoder layers, d_model = 256, 4 heads, d_ff = 1024, a
# vocabulary of 1000 tokens. Its outputs are nonsense, which does not matter for cost. We make it
# generate n tokens (an end token it can never produce, so that it always makes exactly n):

# %%
torch.manual_seed(0)
VOCAB = 1000
gen_model = Transformer(VOCAB, VOCAB, d_model=256, num_heads=4, num_encoder_layers=1, num_decoder_layers=4,
                        d_ff=1024, max_len=256).eval()
src = torch.randint(3, VOCAB, (1, 32))  # (B, S) = (1, 32)
NEVER = VOCAB  # token ids are 0 .. VOCAB-1, so this "EOS" never comes
ys = greedy_decode(gen_model, src, max_len=128, bos_id=1, eos_id=NEVER)
ys_cached = greedy_decode(gen_model, src, max_len=128, bos_id=1, eos_id=NEVER, use_cache=True)
print("generated", tuple(ys.shape), "= (B, 1 + n) | identical tokens with the cache:", torch.equal(ys, ys_cached))

# %% [markdown]
# What the cache holds after generating those tokens (step by step, one token per call of
# `Transformer.decode`):

# %%
cache = gen_model.decoder.new_cache()  # one (self, cross) pair per decoder layer
with torch.no_grad():
    memory = gen_model.encode(src)  # (1, 32, 256)
    for t in range(ys.shape[1] - 1):
        logits = gen_model.decode(ys[:, t : t + 1], memory, gen_model.src_mask(src), cache=cache)  # (1, 1, V)
        assert logits[0, -1].argmax() == ys[0, t + 1]  # the same next token as greedy_decode
self_cache, cross_cache = cache[0]
print("layer 0 self-attention cache: key", tuple(self_cache.key.shape), "value", tuple(self_cache.value.shape))
print("layer 0 cross-attention cache: key", tuple(cross_cache.key.shape), "(computed once from the encoder output)")
cache_bytes = sum(c.key.numel() + c.value.numel() for layer in cache for c in layer) * 4
print("whole cache:", format_bytes(cache_bytes))

# %% [markdown]
# `(1, 4, 128, 64)` = (B, H, positions so far, head_dim): one key and one value per head for every
# position, in each of the 4 layers. It grows by one position per step. For this small model the
# whole cache is a little over 1 MiB. For a large language model it is far more. Assume the shape
# of Llama 2 7B: 32 layers of 32 heads with head_dim 128, keys and values stored in 16-bit floats
# (2 bytes each). Per token:

# %%
kv_per_token = 2 * 32 * 32 * 128 * 2  # (key and value) x layers x heads x head_dim x bytes
print(f"{kv_per_token / MiB:g} MiB per token; a 4096-token context: {format_bytes(4096 * kv_per_token)} per sequence")

# %% [markdown]
# That is why long contexts and large batches are limited by cache memory.
#
# How much work does it save? Without a cache, step t pushes t positions through every layer, so
# n steps push 1 + 2 + … + n = n(n+1)/2 positions; with it, n positions:

# %%
for n in [16, 32, 64, 128]:
    print(f"n={n:4d}: positions computed without a cache {n * (n + 1) // 2:6d}, with a cache {n:4d}"
          f"  ({(n + 1) / 2:.1f}x fewer)")

# %% [markdown]
# Positions are not seconds: each step also has work that does not shrink (the cross-attention to
# the source, the feed-forward and output layer of the new token, Python overhead). Measured, with
# identical tokens asserted at every length:

# %% tags=["nbval-ignore-output"]
gen_lengths = [16, 32, 64, 128]
gen_seconds = {"recompute the prefix": [], "KV cache": []}
for n in gen_lengths:
    runs = {
        "recompute the prefix": lambda n=n: greedy_decode(gen_model, src, max_len=n, bos_id=1, eos_id=NEVER),
        "KV cache": lambda n=n: greedy_decode(gen_model, src, max_len=n, bos_id=1, eos_id=NEVER, use_cache=True),
    }
    assert torch.equal(runs["recompute the prefix"](), runs["KV cache"]())
    for name, fn in runs.items():
        gen_seconds[name].append(min(measure_time(fn, repeats=2, warmup=0)))
    print(f"n={n:4d}: recompute {gen_seconds['recompute the prefix'][-1]:.3f} s, "
          f"cache {gen_seconds['KV cache'][-1]:.3f} s")
speedup = gen_seconds["recompute the prefix"][-1] / gen_seconds["KV cache"][-1]
print(f"speed-up at n={gen_lengths[-1]}: {speedup:.1f}x")
for name, values in gen_seconds.items():  # n doubles from one length to the next: x2 = linear, x4 = quadratic
    factors = [later / earlier for earlier, later in itertools.pairwise(values)]
    print(f"{name}: time x" + ", x".join(f"{f:.1f}" for f in factors), "per doubling of n")

# %%
fig, ax = plt.subplots(figsize=(8, 3.6))
for (name, values), colour in zip(gen_seconds.items(), ["#e76f51", "#2a9d8f"], strict=True):
    ax.plot(gen_lengths, values, "o-", color=colour, label=name)
ax.set_xlabel("tokens generated n")
ax.set_ylabel("generation time (s, fastest of 2)")
ax.set_title(f"Generation: recomputing grows faster than linearly (towards n²), the cache like n "
             f"({speedup:.1f}x at n = {gen_lengths[-1]})", fontsize=10)
ax.legend()
plt.show()

# %% [markdown]
# The cached curve is a straight line: its time roughly doubles when n doubles (the printed factors
# are about 2). The recomputing curve bends upwards: its factors are above 2 and tend to grow with n,
# towards the 4 of a purely quadratic cost; at these lengths the per-step work that does not shrink
# (see above) still keeps it below 4. The speed-up grows with n; `make bench` measures it at 256
# tokens (see `benchmarks/results/README.md`).
#
# ## 4 · PyTorch's fused kernel on this machine
#
# `torch.nn.functional.scaled_dot_product_attention` (lesson 02 compared it with the library) is
# not one algorithm: it dispatches to a *backend*. On a GPU it can pick FlashAttention or a
# memory-efficient kernel; on a CPU it has a C++ **flash-attention kernel for the CPU**, which does the
# online softmax of section 2 over blocks of queries and keys (on several threads, if it may use
# them), and a **math** fallback
# that computes softmax(QKᵀ)V explicitly. Which operators run? `operators_called(fn)` lists them
# (from the profiler):

# %%
q, k, v = torch.randn(3, 1, H, 256, Dh).unbind(0)  # each (1, 8, 256, 64)
fused_ops = operators_called(lambda: F.scaled_dot_product_attention(q, k, v))
print("fused:", [op for op in fused_ops if "attention" in op])
with sdpa_kernel(SDPBackend.MATH):  # force the explicit fallback
    math_ops = operators_called(lambda: F.scaled_dot_product_attention(q, k, v))
print("math backend:", [op for op in math_ops if "attention" in op or "softmax" in op or op == "aten::bmm"])
masked_ops = operators_called(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(256)))
print("with a bool mask:", [op for op in masked_ops if "flash" in op])

# %% [markdown]
# On this CPU the default is `_scaled_dot_product_flash_attention_for_cpu`, with or without a mask.
# `attn_lib.MultiHeadAttention(..., need_weights=False)` hands its heads to this fused kernel; with
# `need_weights=True` it must return the T × T weights, so it computes them explicitly:

# %%
mha = MultiHeadAttention(d_model=64, num_heads=4).eval()
x = torch.randn(1, 10, 64)  # (B, T, D)
print("need_weights=False uses the flash kernel:",
      "aten::_scaled_dot_product_flash_attention_for_cpu" in operators_called(lambda: mha(x, x, x, need_weights=False)))
explicit_ops = operators_called(lambda: mha(x, x, x, need_weights=True))
print("need_weights=True uses bmm + softmax:", "aten::bmm" in explicit_ops and "aten::_softmax" in explicit_ops)

# %% [markdown]
# Time and memory at T = 2048 with 8 heads (the scores would be 128 MiB): the explicit formula of
# the library, `chunked_attention` with C = 256, the fused kernel, and the fused function forced to
# its math backend. All four give the same output (checked first); measured:

# %% tags=["nbval-ignore-output"]
T = 2048
q, k, v = torch.randn(3, 1, H, T, Dh).unbind(0)  # each (1, 8, 2048, 64)


def fused_math():
    with sdpa_kernel(SDPBackend.MATH):
        return F.scaled_dot_product_attention(q, k, v)


contenders = {
    "explicit (attn_lib)": lambda: scaled_dot_product_attention(q, k, v)[0],
    "chunked, C=256": lambda: chunked_attention(q, k, v, chunk_size=256),
    "fused: flash (CPU)": lambda: F.scaled_dot_product_attention(q, k, v),
    "fused: math backend": fused_math,
}
cost = {}
with torch.no_grad():
    reference = contenders["explicit (attn_lib)"]()
    for name, fn in contenders.items():
        assert (fn() - reference).abs().max().item() < 1e-5, name
        cost[name] = (min(measure_time(fn, repeats=3)), measure_peak_memory(fn))
        print(f"{name:22s} time {cost[name][0] * 1e3:6.1f} ms   peak memory {cost[name][1] / MiB:6.1f} MiB")

# %%
names = list(cost)
colours = ["#e76f51", "#2a9d8f", "#264653", "#f4a261"]
fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9, 3.6))
bars_t = ax_t.bar(range(4), [cost[n][0] * 1e3 for n in names], color=colours)
bars_m = ax_m.bar(range(4), [cost[n][1] / MiB for n in names], color=colours)
ax_t.bar_label(bars_t, fmt="%.0f ms", fontsize=8)
ax_m.bar_label(bars_m, fmt="%.1f MiB", fontsize=8)
ax_t.margins(y=0.15)
ax_m.set_yscale("log")
ax_m.margins(y=0.3)
for ax in (ax_t, ax_m):
    ax.set_xticks(range(4), [n.replace(", ", "\n").replace(": ", "\n") for n in names], fontsize=8)
ax_t.set_ylabel("time (ms, fastest of 3)")
ax_m.set_ylabel("peak memory (MiB, log scale)")
ax_t.set_title("time", fontsize=10)
ax_m.set_title("memory", fontsize=10)
flash, explicit_cost = cost["fused: flash (CPU)"], cost["explicit (attn_lib)"]
time_ratio = explicit_cost[0] / flash[0]
faster = f"{time_ratio:.1f}× faster" if time_ratio >= 1 else f"{1 / time_ratio:.1f}× slower"
fig.suptitle(f"Attention at T={T}, 8 heads: the flash kernel needs {explicit_cost[1] / flash[1]:.0f}× less memory "
             f"and is {faster} than the explicit formula", fontsize=11)
fig.tight_layout()
plt.show()

# %% tags=["nbval-ignore-output"]
print(f"flash kernel vs explicit: {faster}, {explicit_cost[1] / flash[1]:.0f}× less "
      f"memory (peak {flash[1] / MiB:.1f} MiB: little more than the {q.numel() * 4 / MiB:.0f} MiB output)")

# %% [markdown]
# The flash kernel allocates little more than its output: like `chunked_attention` it never holds
# the T × T matrix, but it runs the online softmax in compiled C++ over blocks small enough to stay
# in the CPU cache, which also makes it fast (compare the bars). It can use several threads; here it
# runs on one, like everything in this lesson (`torch.set_num_threads(1)` at the top). The math backend is the
# explicit formula inside PyTorch: its memory is the T × T blocks. `chunked_attention` shows the
# algorithm in readable Python; its memory is one T × C block plus a few `(B, H, T, Dh)` tensors.
#
# ## Summary
#
# * Attention builds a `(B, H, T_q, T_k)` score matrix: memory and work grow like T² (measured: the
#   memory's slope on log-log axes is about 2; the time's fitted slope is printed in section 1); at
#   4096 tokens and 8 heads one float32 score matrix is 512 MiB.
# * **Online softmax** processes a row in chunks with a running maximum m and a running sum ℓ, rescaled
#   by e^{m − m′} when the maximum grows; applied to the weighted sum of values it gives exact attention
#   (`chunked_attention`) with one `(T_q, C)` block of scores at a time, to float rounding (max error
#   < 1e-5 for every chunk size tried). Its memory grows linearly with the chunk size C; tiny chunks
#   are slow (per-call overhead), and very large ones typically slow down again.
# * The **KV cache** stores each layer's keys and values so that each generation step processes only
#   the new token; tokens are identical, and the saving grows with the output length (positions computed
#   n(n+1)/2 → n).
# * PyTorch's fused `scaled_dot_product_attention` runs a flash-attention kernel on this CPU: the same
#   online-softmax idea in C++, with no T × T memory; `MultiHeadAttention(need_weights=False)` uses it.
#
# ## Check yourself
#
# 1. You double the context length of a model. By how much does the score memory of one attention
#    layer grow? And the memory of its KV cache?
# 2. In online softmax, why multiply the running sum by e^{m − m′}, and why is that factor never
#    larger than 1?
# 3. `chunked_attention` with `chunk_size=1` gives the same output as with `chunk_size=T`. Why would
#    you still not use 1?
# 4. Why is it correct to reuse the keys and values of earlier positions during generation, and
#    which mask makes it correct?
# 5. `MultiHeadAttention(..., need_weights=True)` cannot use the flash kernel. Why not?
#
# <details><summary>Answers</summary>
#
# 1. Score memory grows 4× (T²); the KV cache 2× (one key and one value per position).
# 2. The old sum holds terms e^{s_i − m}; relative to the new maximum they must be e^{s_i − m′} =
#    e^{s_i − m} · e^{m − m′}. Since m′ = max(m, …) ≥ m, the exponent m − m′ is ≤ 0.
# 3. Every chunk costs several PyTorch calls: with C = 1 there are T chunks, and the per-call overhead
#    dominates the arithmetic. The chunk-size sweep shows the time climbing steeply as C shrinks to 4,
#    and C = 1 means four times as many chunks again. Memory is already small at a few hundred keys
#    per chunk.
# 4. The causal mask: position j attends only to positions ≤ j, so its keys and values (in every layer)
#    do not depend on later tokens and stay the same when tokens are appended.
# 5. The weights are the T × T matrix; a kernel that never materialises it cannot return it. Returning
#    the weights means building them explicitly.
#
# </details>
