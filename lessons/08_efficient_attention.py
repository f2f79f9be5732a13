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
# # 08 · What attention costs, and what really makes it cheap
#
# Every query meets every key: that is what makes attention powerful, and what makes it expensive.
# For a sequence of T tokens the score matrix QKᵀ has T × T entries, per head, per layer. This lesson
# measures where the time and memory go on this machine, and what FlashAttention-style kernels,
# PyTorch's fused kernel and the KV cache change, and what they do not.
#
# **Learning goals.** After this lesson you can
# 1. count the FLOPs and the bytes moved by a block of attention, and explain from measurements
#    why skinny steps (few keys at a time, all queries at once) are slow: memory traffic, not call
#    overhead;
# 2. derive **online softmax** (a running maximum and a rescaled running sum) and use it for exact
#    attention without the T × T matrix, chunked over keys (`chunked_attention`) or **tiled** over
#    query blocks × key blocks like FlashAttention (`tiled_attention`);
# 3. show by measurement that these methods, PyTorch's fused kernel included, still do **O(T²)
#    work**: what they save is memory (and, on a GPU, trips to memory), not arithmetic;
# 4. explain the **backward pass** of tiled attention: keep one log-sum-exp per query instead of the
#    T × T weights, and recompute the weights block by block; measure the training memory;
# 5. use a **KV cache** for generation, say why each step still costs O(t), give the new token its
#    position offset, and name the cure for cache memory (grouped-query / multi-query attention).
#
# Timings depend on the machine: cells that print a measured time or memory say so; their claims
# are asserted in the cell with generous margins, and the conclusions rest on ratios and on checks
# that do not depend on the clock. Times are CPU seconds (`measure_time`'s default): what the
# computation itself costs, without the time other programs on the machine take meanwhile.

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
from matplotlib.ticker import FuncFormatter
from torch.nn.attention import SDPBackend, sdpa_kernel

from attn_lib import MultiHeadAttention, Transformer, causal_mask, greedy_decode, scaled_dot_product_attention
from attn_lib.efficient import (
    chunked_attention,
    measure_peak_memory,
    measure_time,
    online_softmax_steps,
    operators_called,
    tiled_attention,
)
from attn_lib.i18n import pad
from attn_lib.widgets import format_bytes, score_memory
from attn_lib.widgets.lesson08 import plot_tile_choice, step_cost

torch.manual_seed(0)
torch.set_num_threads(1)  # one thread: reproducible sums, and timings that do not fight over cores
torch.set_printoptions(precision=4, sci_mode=False)
MiB = 2**20


def median_time(fn, repeats=3):
    """Median CPU seconds of ``repeats`` calls after one warm-up."""
    return statistics.median(measure_time(fn, repeats=repeats))


print("torch", torch.__version__, "| threads:", torch.get_num_threads())

# %% [markdown]
# ## 1 · The score matrix is T × T
#
# In softmax(QKᵀ/√d_k)V with Q, K, V of shape `(B, H, T, Dh)`, the scores QKᵀ are `(B, H, T, T)`:
# one number per (query, key) pair, per head. In float32 each number takes 4 bytes. For one sequence
# (B = 1) and 8 heads, `score_memory` (from `attn_lib.widgets`) gives the bytes of that matrix:

# %%
H, Dh = 8, 64  # heads and head_dim used throughout
print(f"{pad('T', 7, '>')}  {pad('scores (1, 8, T, T), float32', 28, '>')}")
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
# multiplying the weights with V. The question of this lesson is which of the two, the arithmetic
# or the memory, a method really saves.

# %% [markdown]
# ## 2 · Where the time goes: arithmetic and bytes moved
#
# A CPU (or GPU) core can do far more arithmetic per second than its main memory can deliver
# numbers: roughly, tens of FLOPs per byte fetched. A computation whose **arithmetic intensity**
# (FLOPs per byte moved) is lower than that waits for memory. Counting for one step of online
# softmax (section 3 derives it) where `rows` queries meet `keys` keys of width d: two matmuls, 4 ·
# rows · keys · d FLOPs; bytes moved, if nothing stays in a cache: the queries, the key and value
# block, the accumulator read and written, and the score block written and read a few times.
# `step_cost` (in `attn_lib.widgets.lesson08`) does the counting:

# %%
print(f"{pad('rows x keys', 12, '>')}  {pad('MFLOP', 7, '>')}  {pad('MiB moved', 9, '>')}  {pad('FLOP/byte', 11, '>')}")
for rows, keys in [(2048, 4), (2048, 64), (2048, 256), (256, 256)]:
    c = step_cost(rows, keys, head_dim=64)
    print(f"{rows:>5d} x {keys:<4d}  {c['flops'] / 1e6:7.1f}  {c['bytes'] / MiB:9.2f}  {c['intensity']:11.1f}")
assert step_cost(2048, 4, 64)["intensity"] < 1.5 < 8 < step_cost(2048, 256, 64)["intensity"]

# %% [markdown]
# A step over 4 keys with all 2048 queries does about one FLOP per byte: it reads the whole query
# matrix and rewrites the whole accumulator to do a sliver of arithmetic. Measured: the same 512
# steps (T_k = 2048 keys in chunks of C = 4) with 64 queries and with 2048 queries, and the pieces of
# one step: rescaling the accumulator (`acc.mul_`), the skinny matmul `q @ k_chunkᵀ`, and a call on a
# one-element tensor (what a PyTorch call costs when there is nothing to do). Measured times, so
# the output changes from run to run; the claims are asserted:

# %% tags=["nbval-ignore-output"]
T_k, C = 2048, 4
k, v = torch.randn(2, 1, 4, T_k, 64).unbind(0)  # each (B, H, T_k, Dh) = (1, 4, 2048, 64)
per_step = {}
with torch.no_grad():
    for T_q in (64, 2048):
        q = torch.randn(1, 4, T_q, 64)  # (1, 4, T_q, 64)
        per_step[T_q] = median_time(lambda q=q: chunked_attention(q, k, v, chunk_size=C), 3 if T_q == 64 else 1) / (T_k // C)
        print(f"T_q = {T_q:4d}: {per_step[T_q] * 1e6:7.0f} µs per step ({T_k // C} steps)")
    acc, k_c, tiny = torch.randn(1, 4, 2048, 64), k[..., :C, :], torch.zeros(1)
    op_time = {
        "acc.mul_(rescale), acc (1, 4, 2048, 64)": median_time(lambda: acc.mul_(1.0), repeats=20),
        "q @ k_chunkᵀ, (2048 x 64) @ (64 x 4)": median_time(lambda: q @ k_c.transpose(-2, -1), repeats=20),
        "a call with nothing to do (1 element)": median_time(lambda: tiny.mul_(1.0), repeats=20),
    }
OP_LABEL = {"a call with nothing to do (1 element)": "a call with nothing to do (1 element)"}  # the code expressions are shown as they are
for name, sec in op_time.items():
    print(f"{pad(OP_LABEL.get(name, name), 42)} {sec * 1e6:7.1f} µs")
ratio = per_step[2048] / per_step[64]
print(f"a step with 2048 queries takes {ratio:.1f}x as long as with 64")
assert ratio > 3, ratio  # call overhead would not depend on T_q; memory traffic grows with it
assert op_time["acc.mul_(rescale), acc (1, 4, 2048, 64)"] > 3 * op_time["a call with nothing to do (1 element)"]

# %% [markdown]
# The number of steps is the same in both runs, so the call overhead is the same; yet the step with
# 32× more queries takes several times longer (the printed ratio: about 8× in our runs). One
# call with nothing to do costs a few µs, while rescaling the accumulator and the skinny matmul each
# cost tens to hundreds: **the cost of a tiny chunk is the O(T_q · d) memory traffic of each step**
# (re-reading Q, rescaling the accumulator, matmuls of intensity about C), not the per-call overhead.
#
# That is why FlashAttention tiles the **queries** too: a block of B_q queries and its accumulator
# (here 256 × 64 floats = 64 KiB per head) stay in fast memory (registers and on-chip memory on a
# GPU, the caches on a CPU) while the key blocks stream past; each key block is read once per query
# block. We measure that contrast in section 4.

# %% [markdown]
# ## 3 · Online softmax: a softmax one chunk at a time
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
fig.suptitle("Online softmax: a running max and a rescaled running sum; after the last chunk the weights equal softmax (up to rounding)",
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
print(pad("plain softmax, query 0:", 27), torch.softmax(scores_0, dim=-1)[0, :4], "...")
print("F.scaled_dot_product_attention, query 0:",
      F.scaled_dot_product_attention(q, k, v, attn_mask=no_keys)[0, 0, 0, :4], "...")

# %% [markdown]
# ## 4 · Key-only chunks against query × key tiles
#
# `chunked_attention` walks over the keys only, with all T_q queries in every step; its score block
# is `(B, H, T_q, C)`. `attn_lib.efficient.tiled_attention(query, key, value, mask, block_q,
# block_k)` also splits the queries into blocks of B_q and runs the online softmax per query block:
# its score block is `(B, H, B_q, B_k)`, whatever T is. It is exact too, masks and fully masked rows
# included, and it returns, besides the output, the **log-sum-exp** of each row, lse = m + log ℓ
# (section 7 needs it). Checked against PyTorch, with block sizes that do not divide T:

# %%
q, k, v = torch.randn(3, 2, 4, 300, 32).unbind(0)  # each (B, H, T, Dh) = (2, 4, 300, 32)
mask = causal_mask(300)  # (T, T)
mask_0 = mask.clone()
mask_0[0] = False  # query 0 may attend to nothing
for bq, bk in [(1, 7), (64, 64), (100, 300), (512, 512)]:
    out, lse = tiled_attention(q, k, v, mask=mask_0, block_q=bq, block_k=bk)  # (2, 4, 300, 32), (2, 4, 300)
    err = (out - F.scaled_dot_product_attention(q, k, v, attn_mask=mask_0)).abs().max().item()
    print(f"B_q={bq:3d}, B_k={bk:3d}: max |diff| to PyTorch < 1e-5: {err < 1e-5}")
scores = (q @ k.transpose(-2, -1) / math.sqrt(32)).masked_fill(~mask_0, float("-inf"))  # (2, 4, 300, 300)
torch.testing.assert_close(lse[..., 1:], torch.logsumexp(scores, dim=-1)[..., 1:])
print("query 0 (nothing to attend to): output all 0:", bool((out[..., 0, :] == 0).all()), "| lse:", lse[0, 0, 0].item())
print("lse equals torch.logsumexp of the masked scores (assert_close): True")

# %% [markdown]
# Now time and memory against the key block size, both ways: key-only chunks of C, and tiles with
# B_q = 256 queries and B_k = C keys, at T = 1024 with 4 heads (the explicit scores would be 16 MiB).
# Fastest of 3 runs; measured, so the output changes from run to run:

# %% tags=["nbval-ignore-output"]
T = 1024
q, k, v = torch.randn(3, 1, 4, T, 64).unbind(0)  # each (1, 4, 1024, 64)
chunk_sizes = [4, 16, 64, 256, 1024]
sweep = {"key-only chunks (T_q x C)": ([], []), "tiles (256 x C)": ([], [])}
with torch.no_grad():
    for C in chunk_sizes:
        for name, fn in {
            "key-only chunks (T_q x C)": lambda C=C: chunked_attention(q, k, v, chunk_size=C),
            "tiles (256 x C)": lambda C=C: tiled_attention(q, k, v, block_q=256, block_k=C),
        }.items():
            sweep[name][0].append(min(measure_time(fn, repeats=3)))
            sweep[name][1].append(measure_peak_memory(fn))
        print(f"C={C:5d}: key-only {sweep['key-only chunks (T_q x C)'][0][-1] * 1e3:6.0f} ms, "
              f"{sweep['key-only chunks (T_q x C)'][1][-1] / MiB:5.1f} MiB | tiles "
              f"{sweep['tiles (256 x C)'][0][-1] * 1e3:6.0f} ms, {sweep['tiles (256 x C)'][1][-1] / MiB:5.1f} MiB")
best_chunk, best_tile = min(sweep["key-only chunks (T_q x C)"][0]), min(sweep["tiles (256 x C)"][0])
assert sweep["key-only chunks (T_q x C)"][0][0] > 2 * best_chunk  # tiny key-only chunks are slow
assert best_tile < 1.5 * best_chunk  # at good block sizes tiling costs no time ...
assert sweep["tiles (256 x C)"][1][-1] < sweep["key-only chunks (T_q x C)"][1][-1] / 2  # ... and less memory

# %%
fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9.5, 3.6))
SWEEP_LABEL = {"key-only chunks (T_q x C)": "key-only chunks (T_q x C)", "tiles (256 x C)": "tiles (256 x C)"}
for (name, (secs, peaks)), colour, marker in zip(sweep.items(), ["#0072b2", "#e69f00"], ["o", "s"], strict=True):
    ax_t.loglog(chunk_sizes, [s * 1e3 for s in secs], marker + "-", color=colour, label=SWEEP_LABEL[name])
    ax_m.loglog(chunk_sizes, [p / MiB for p in peaks], marker + "-", color=colour, label=SWEEP_LABEL[name])
for ax in (ax_t, ax_m):
    ax.set_xscale("log", base=2)
    ax.set_xlabel("keys per step C = B_k (log scale)")
    ax.legend(fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))  # plain numbers, not 4×10¹
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}" if str(y)[0] in "25" else ""))
ax_t.set_ylabel("time (ms, fastest of 3, log scale)")
ax_m.set_ylabel("peak memory (MiB, log scale)")
ax_t.set_title("time: tiny steps are slow either way", fontsize=10)
ax_m.set_title("memory: the key-only block grows with T_q·C", fontsize=10)
fig.suptitle(f"T={T}, 4 heads: tiles keep the score block at 256×C (a {T // 256}× smaller block); "
             "time is set by bytes moved and steps taken", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the two curves together. Key-only chunks are slow when C is small because every one of the
# T_k / C steps moves O(T_q · d) bytes (section 2); their memory grows with C, since the block is
# T_q × C. Tiles move only O(B_q · d) bytes per step and their block is B_q × B_k, so at a few
# hundred keys per step they are as fast as the best key-only chunk (asserted above) with a smaller
# block. At the smallest B_k the tiles are slow too, for another reason: there are T_q / B_q times
# more steps, and in Python each step is about ten PyTorch calls. A compiled kernel
# (FlashAttention on a GPU, PyTorch's fused kernel here) pays no such per-step cost and keeps the
# query block in registers or on-chip memory; that, not fewer FLOPs, is where its speed comes from.
#
# ### Try it: block sizes against memory and time
#
# Pick B_q and B_k: the cell runs `tiled_attention` at T = 1024 with 8 heads and shows its time
# (measured now, beside PyTorch's fused kernel) and its memory: predicted by
# `attn_lib.widgets.lesson08.tile_memory` (output + query block and accumulator + one score block)
# beside the measured peak. Try both extremes: B_q = B_k = 16 (tiny blocks, many steps) and 1024
# (one block: the explicit computation again).

# %% tags=["nbval-ignore-output"]
qw, kw, vw = torch.randn(3, 1, 8, 1024, 64).unbind(0)  # each (1, 8, 1024, 64)
with torch.no_grad():
    fused_w = median_time(lambda: F.scaled_dot_product_attention(qw, kw, vw))
block_q_slider = widgets.SelectionSlider(options=[16, 64, 256, 1024], value=256, description="B_q",
                                         continuous_update=False)
block_k_slider = widgets.SelectionSlider(options=[16, 64, 256, 1024], value=256, description="B_k",
                                         continuous_update=False)


def show_tile_choice(block_q: int, block_k: int) -> None:
    with torch.no_grad():
        fn = lambda: tiled_attention(qw, kw, vw, block_q=block_q, block_k=block_k)  # noqa: E731
        seconds = min(measure_time(fn, repeats=1))
        peak = measure_peak_memory(fn)
    plot_tile_choice(block_q, block_k, seconds, peak, fused_w, seq_len=1024, num_heads=8)
    plt.show()


display(widgets.VBox([widgets.HBox([block_q_slider, block_k_slider]),
                      widgets.interactive_output(show_tile_choice, {"block_q": block_q_slider, "block_k": block_k_slider})]))

# %% [markdown]
# ## 5 · The work stays O(T²)
#
# None of these methods skips a (query, key) pair: they all compute every score, so the
# arithmetic grows like T², exactly as for the explicit formula. What changes is the memory: O(T)
# instead of O(T²). Measured for the explicit formula, `tiled_attention` and PyTorch's fused
# kernel, T = 256 … 2048, 4 heads (CPU seconds, fastest of 3; measured, so the output changes from
# run to run):

# %% tags=["nbval-ignore-output"]
lengths = [256, 512, 1024, 2048]
methods = {
    "explicit (attn_lib)": lambda q, k, v: scaled_dot_product_attention(q, k, v)[0],
    "tiled_attention": lambda q, k, v: tiled_attention(q, k, v)[0],
    "torch fused": lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
}
LABEL = {"explicit (attn_lib)": "explicit (attn_lib)", "tiled_attention": "tiled_attention", "torch fused": "torch fused"}
grow = {name: ([], []) for name in methods}  # seconds, peak bytes
with torch.no_grad():
    for T in lengths:
        q, k, v = torch.randn(3, 1, 4, T, 64).unbind(0)  # each (1, 4, T, 64)
        for name, method in methods.items():
            grow[name][0].append(min(measure_time(lambda method=method, q=q, k=k, v=v: method(q, k, v), 3)))
            grow[name][1].append(measure_peak_memory(lambda method=method, q=q, k=k, v=v: method(q, k, v)))
for name, (secs, peaks) in grow.items():
    t_factors = ", ".join(f"x{b / a:.1f}" for a, b in itertools.pairwise(secs))
    m_factors = ", ".join(f"x{b / a:.1f}" for a, b in itertools.pairwise(peaks))
    print(f"{pad(LABEL[name], 20)} time per doubling of T: {t_factors}; memory: {m_factors}")
quadrupled = {name: secs[-1] / secs[-3] for name, (secs, _) in grow.items()}  # T x4: O(T²) gives x16
assert all(f > 7 for f in quadrupled.values()), quadrupled  # well above the x4 of O(T) work
assert grow["explicit (attn_lib)"][1][-1] / grow["explicit (attn_lib)"][1][-2] > 3.5  # O(T²) memory
assert grow["tiled_attention"][1][-1] / grow["tiled_attention"][1][-2] < 2.5  # O(T) memory
assert grow["torch fused"][1][-1] / grow["torch fused"][1][-2] < 2.5

# %%
fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9.5, 3.6))
colours = {"explicit (attn_lib)": "#d55e00", "tiled_attention": "#e69f00", "torch fused": "#0072b2"}
styles = {"explicit (attn_lib)": "o-", "tiled_attention": "s--", "torch fused": "^:"}  # not colour alone
for name, (secs, peaks) in grow.items():
    ax_t.loglog(lengths, [s * 1e3 for s in secs], styles[name], color=colours[name], label=LABEL[name])
    ax_m.loglog(lengths, [p / MiB for p in peaks], styles[name], color=colours[name], label=LABEL[name])
ref = grow["torch fused"][0][-1] * 1e3
ax_t.loglog(lengths, [ref * (T / lengths[-1]) ** 2 for T in lengths], "k--", lw=1, label="slope 2 (T²)")
for ax in (ax_t, ax_m):
    ax.set_xscale("log", base=2)
    ax.set_xlabel("sequence length T (tokens, log scale)")
    ax.legend(fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))  # plain numbers, not 4×10¹
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}" if str(y)[0] in "25" else ""))
ax_t.set_ylabel("time (ms, fastest of 3, log scale)")
ax_m.set_ylabel("peak memory (MiB, log scale)")
ax_t.set_title("time: all three near the slope-2 line", fontsize=10)
ax_m.set_title("memory: ×4 explicit, at most ×2 tiled and fused", fontsize=10)
factors = ", ".join(f"{LABEL[name]} ×{f:.0f}" for name, f in quadrupled.items())
fig.suptitle(f"Same O(T²) work, different memory: T ×4 ({lengths[-3]} → {lengths[-1]}) multiplies the time by "
             f"{factors} (O(T) would be ×4)", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# Doubling T multiplies every method's time by roughly 4 at the larger lengths (the printed factors;
# from T = 512 to 2048 the cell asserts more than ×7, where O(T) work would give ×4, since a busy
# machine blurs single factors): the work is O(T²) for all three. The
# factors are not exactly 4 and need not be: at small T fixed costs flatten the curve, and which
# caches a block fits in changes with T. The memory is where they differ: the explicit formula's
# grows ×4 per doubling (the T × T matrix), the tiled and fused kernels' at most ×2 (the output
# grows like T; a fixed-size block and buffers do not grow at all). Long contexts become possible because memory stops being O(T²), not because
# attention got cheaper to compute.

# %% [markdown]
# ## 6 · PyTorch's fused kernel on this machine
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
# ## 7 · The backward pass: keep the log-sum-exp, recompute the weights
#
# Training needs gradients. Autograd through the explicit formula keeps the `(B, H, T, T)` weights P
# for the backward pass (dV = Pᵀ dO needs them, and so does the softmax's gradient), and the
# backward builds T × T gradients of its own. FlashAttention keeps only one number per query,
# lse = m + log ℓ, and recomputes each block of weights when it needs it: P_ij = exp(s_ij − lse_i)
# is exact, because lse is the log of the softmax's denominator. Per block, with D_i = dO_i · O_i:
#
# $$dV_j \mathrel{+}= P_{ij}^\top dO_i,\quad dP_{ij} = dO_i V_j^\top,\quad dS_{ij} = P_{ij} \odot (dP_{ij} - D_i),
# \quad dQ_i \mathrel{+}= dS_{ij} K_j \cdot \text{scale},\quad dK_j \mathrel{+}= dS_{ij}^\top Q_i \cdot \text{scale}.$$
#
# `tiled_attention` is a `torch.autograd.Function` with exactly this backward. Its gradients agree
# with autograd through the explicit formula, with a causal mask and a fully masked row (whose
# gradients are exactly 0):

# %%
q, k, v = (t.requires_grad_() for t in torch.randn(3, 2, 4, 100, 32).unbind(0))  # each (2, 4, 100, 32)
mask_0 = causal_mask(100).clone()
mask_0[3] = False  # query 3 attends to nothing
d_out = torch.randn(2, 4, 100, 32)  # some gradient arriving from the layers above
grads_tiled = torch.autograd.grad(tiled_attention(q, k, v, mask=mask_0, block_q=32, block_k=16)[0], (q, k, v), d_out)
grads_explicit = torch.autograd.grad(scaled_dot_product_attention(q, k, v, mask=mask_0)[0], (q, k, v), d_out)
for name, a, b in zip(["dQ", "dK", "dV"], grads_tiled, grads_explicit, strict=True):
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    print(f"{name}: equal to autograd through the explicit formula (assert_close)")
print("gradient of the fully masked query 3 is exactly 0:", bool((grads_tiled[0][:, :, 3] == 0).all()))

# %% [markdown]
# (`tests/test_efficient.py` also runs `torch.autograd.gradcheck` on it in float64.) What it saves,
# measured: peak memory of one forward + backward pass at T = 1024 with 8 heads, gradients
# included (measured, so the output is not compared; the ratio is asserted):

# %% tags=["nbval-ignore-output"]
T = 1024
q, k, v = (t.requires_grad_() for t in torch.randn(3, 1, 8, T, 64).unbind(0))  # each (1, 8, 1024, 64)
d_out = torch.randn(1, 8, T, 64)
train = {
    "explicit (autograd)": lambda: torch.autograd.grad(scaled_dot_product_attention(q, k, v)[0], (q, k, v), d_out),
    "tiled (recompute)": lambda: torch.autograd.grad(tiled_attention(q, k, v)[0], (q, k, v), d_out),
}
train_peak = {name: measure_peak_memory(fn) for name, fn in train.items()}
TRAIN_LABEL = {"explicit (autograd)": "explicit (autograd)", "tiled (recompute)": "tiled (recompute)"}
for name, peak in train_peak.items():
    print(f"{pad(TRAIN_LABEL[name], 20)} forward + backward peak {peak / MiB:6.1f} MiB")
weights_mib = 8 * T * T * 4 / MiB
print(f"one (1, 8, T, T) float32 weight matrix: {weights_mib:.0f} MiB")
assert train_peak["tiled (recompute)"] < train_peak["explicit (autograd)"] / 5, train_peak

# %% [markdown]
# The explicit pass holds several T × T matrices at its peak (the weights kept for the backward,
# and the gradients of the weights and the scores); the tiled pass holds Q, K, V, their gradients,
# the output, the log-sum-exp and one block: more than 5× less here (asserted; about 8× in the
# stored run), and the gap grows linearly with T (`make bench` measures about 1/40 at T = 4096). The price is arithmetic: the backward recomputes QKᵀ and the exponentials, about
# a third more FLOPs. On a GPU this is still faster, because reading a T × T matrix back from
# memory costs more time than recomputing it from Q and K, which are small.

# %% [markdown]
# ## 8 · The KV cache: do not recompute the past
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
# generate n tokens (its end token made impossible, so that it always makes exactly n):

# %%
torch.manual_seed(0)
VOCAB = 1000
gen_model = Transformer(VOCAB, VOCAB, d_model=256, num_heads=4, num_encoder_layers=1, num_decoder_layers=4,
                        d_ff=1024, max_len=256).eval()
src = torch.randint(3, VOCAB, (1, 32))  # (B, S) = (1, 32)
NEVER = 2  # the end token; its output bias is set far below the others, so it never comes
with torch.no_grad():
    gen_model.generator.bias[NEVER] = -1e9
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
# That is why long contexts and large batches are limited by cache memory. The standard cure is to
# let several query heads share one key/value head: **grouped-query attention** (GQA, e.g. 8
# key/value heads for 32 query heads) or **multi-query attention** (MQA, a single one). The cache
# shrinks by the ratio of heads:

# %%
for kv_heads, name in [(32, "multi-head (32 K/V heads)"), (8, "grouped-query (8 K/V heads)"), (1, "multi-query (1 K/V head)")]:
    per_token = 2 * 32 * kv_heads * 128 * 2  # (key and value) x layers x K/V heads x head_dim x bytes
    print(f"{pad(name, 28)} {format_bytes(4096 * per_token):>9s} per 4096-token sequence")

# %% [markdown]
# A later lesson on today's attention builds grouped-query attention; here we stay with the cost.
#
# ### Each step still costs O(t)
#
# The cache removes the recomputation of the past, not the attention to it: at step t the new
# query meets all t cached keys, so one step's attention is O(t) and a whole generation of n tokens
# is still O(n²) in attention (1 + 2 + … + n score rows of growing length). Measured, one query
# against t cached keys (8 heads, fastest of 7; measured, so the output is not compared):

# %% tags=["nbval-ignore-output"]
cache_lengths = [2048, 4096, 8192, 16384]
step_seconds = []
with torch.no_grad():
    for t in cache_lengths:
        q1, kc, vc = torch.randn(1, 8, 1, 64), torch.randn(1, 8, t, 64), torch.randn(1, 8, t, 64)  # (B, H, ., Dh)
        step_seconds.append(min(measure_time(lambda q1=q1, kc=kc, vc=vc: F.scaled_dot_product_attention(q1, kc, vc), 7)))
        print(f"t = {t:5d} cached positions: {step_seconds[-1] * 1e6:7.0f} µs per step")
growth = step_seconds[-1] / step_seconds[0]
print(f"8x more cached positions: {growth:.1f}x the time per step")
assert growth > 3, growth  # at least about linear in t (x8), far from constant

# %% [markdown]
# The time per step grows with t: a single query reads each cached key and value once, so the
# step is limited by memory bandwidth and costs at least in proportion to t (here often more than
# 8× for 8× the positions, once the cache no longer fits in the CPU's caches).
#
# How much work does the cache save overall? Without it, step t pushes t positions through every
# layer, so n steps push n(n+1)/2 positions; with it, n positions:

# %%
for n in [16, 32, 64, 128]:
    print(f"n={n:4d}: positions computed without a cache {n * (n + 1) // 2:6d}, with a cache {n:4d}"
          f"  ({(n + 1) / 2:.1f}x fewer)")

# %% [markdown]
# `make bench` measures the speed-up in time at 256 tokens (see `benchmarks/results/README.md`).
#
# ### The position offset of a one-token step (the classic bug)
#
# A cached step runs the model on **one** token. If the code adds positions by counting from 0
# inside the step, that token gets position 0 at every step, as if each generated token were the
# first. Its position is t, the number of cached positions. A single attention head with a learned
# table of positions `W_pos` (one row per position) shows it: the last row of full causal attention
# over t + 1 tokens against one cached step, with the offset t and with the bug:

# %%
g = torch.Generator().manual_seed(8)
t_past, Dh1 = 6, 16
x = torch.randn(1, 1, t_past + 1, Dh1, generator=g) * 0.5  # (B, H, T, Dh): token vectors, the last one new
W_pos = torch.randn(32, Dh1, generator=g)  # (max_len, Dh) positions
full, _ = scaled_dot_product_attention(x + W_pos[: t_past + 1], x + W_pos[: t_past + 1], x,
                                       mask=causal_mask(t_past + 1))  # (1, 1, 7, 16)
k_cache, v_cache = x[..., :t_past, :] + W_pos[:t_past], x[..., :t_past, :]  # (1, 1, 6, 16): the past
new = x[..., t_past:, :]  # (1, 1, 1, 16): the one token of this step


def cached_step(position: int) -> torch.Tensor:
    k_all = torch.cat([k_cache, new + W_pos[position]], dim=-2)  # (1, 1, t + 1, 16)
    v_all = torch.cat([v_cache, new], dim=-2)
    return scaled_dot_product_attention(new + W_pos[position], k_all, v_all)[0]  # (1, 1, 1, 16)


right = (cached_step(t_past) - full[..., -1:, :]).abs().max().item()
bug = (cached_step(0) - full[..., -1:, :]).abs().max().item()
print(f"position t = {t_past}: max |diff| to full attention < 1e-6: {right < 1e-6}")
print(f"position 0 (the bug): max |diff| > 0.1: {bug > 0.1}")

# %% [markdown]
# With the offset the cached step equals full attention up to rounding; without it the new token's
# query and key carry the wrong position and the output is simply different, with no error
# raised: a model generates worse text and nothing crashes. (`attn_lib`'s decoder adds positions
# from the cache length; `tests/test_efficient.py` checks that cached and uncached generation give
# identical tokens.)

# %% [markdown]
# ## Exercises
#
# Now write it yourself. Fill in the body of each `my_...` function and run the cell below it: the
# check calls your function on several inputs and compares with `attn_lib`. Yellow = not
# attempted yet, red = something differs (a common mistake is named, with a hint), green = right.
#
# ### Exercise 1 · one online-softmax step
#
# For a block of queries you hold the running max `m` `(T_q, 1)`, the running sum `denom`
# `(T_q, 1)` and the accumulator `acc` `(T_q, d_v)`, all relative to `m`. A new chunk brings
# `scores` `(T_q, C)` (already scaled; −∞ where masked) and `v_chunk` `(C, d_v)`. Return the
# updated `(m_new, denom_new, acc_new)`. Before the first chunk `m` is −∞ and the sums are 0; a
# row whose scores are all −∞ so far must not become NaN.
#
# Stuck? `show_solution("online_softmax_update")` (after `from attn_lib.exercises import show_solution`).


# %%
def my_online_softmax_update(m, denom, acc, scores, v_chunk):
    """m, denom (T_q, 1), acc (T_q, d_v), scores (T_q, C), v_chunk (C, d_v) -> (m_new, denom_new, acc_new)."""
    ...  # your code here


# %%
from attn_lib.exercises import check_online_softmax_update

check_online_softmax_update(my_online_softmax_update)

# %% [markdown]
# ### Exercise 2 · one KV-cache step
#
# `q_new`, `k_new`, `v_new` are the new token's query, key and value `(B, H, 1, Dh)`; `k_cache`,
# `v_cache` `(B, H, t, Dh)` hold the t earlier positions (their keys already carry their
# positions). `W_pos` `(max_len, Dh)` is a table of positions, added to the new query and key as
# in the last cell of section 8. Return the new token's attention output `(B, H, 1, Dh)` (scaled by
# √Dh) and the grown caches `(B, H, t + 1, Dh)`.
#
# Stuck? `show_solution("kv_cache_step")`.


# %%
def my_kv_cache_step(q_new, k_new, v_new, k_cache, v_cache, W_pos):
    """(B, H, 1, Dh) x 3, caches (B, H, t, Dh), W_pos (max_len, Dh) -> (output, k_cache, v_cache)."""
    ...  # your code here


# %%
from attn_lib.exercises import check_kv_cache_step

check_kv_cache_step(my_kv_cache_step)

# %% [markdown]
# ## Summary
#
# * Attention builds a `(B, H, T_q, T_k)` score matrix: at 4096 tokens and 8 heads one float32 score
#   matrix is 512 MiB.
# * **Where the time goes**: a step in which all T_q queries meet a few keys moves O(T_q · d) bytes
#   for O(T_q · C · d) FLOPs (intensity about C/3 FLOP per byte): measured, the same number of steps
#   took several times longer with 32× more queries, and rescaling the accumulator or a skinny
#   matmul costs far more than a PyTorch call. Tiny key-only chunks are slow because of memory
#   traffic, not call overhead.
# * **Online softmax** processes a row in chunks with a running maximum m and a running sum ℓ,
#   rescaled by e^{m − m′}; applied to the weighted sum of values it gives exact attention.
#   `chunked_attention` chunks the keys only; `tiled_attention` tiles queries × keys like
#   FlashAttention, so its score block is B_q × B_k whatever T is, and at a few hundred keys per
#   step it is as fast as the best key-only chunk with a smaller block.
# * The **work stays O(T²)** for the explicit formula, tiled attention and PyTorch's fused kernel
#   (measured: about ×4 time per doubling of T); only the memory drops from O(T²) to O(T).
# * **Backward**: keep lse = m + log ℓ per query, recompute P = exp(S − lse) block by block; the
#   gradients equal autograd's through the explicit formula, and training memory was more than 5×
#   smaller at T = 1024 (asserted), a gap that grows linearly with T.
# * The **KV cache** stores each layer's keys and values; each step then processes one token, but
#   its attention still reads all t cached positions (O(t) per step, measured), and the new token
#   must get position t, not 0. Grouped-query and multi-query attention shrink the cache.
# * PyTorch's fused `scaled_dot_product_attention` runs a flash-attention kernel on this CPU;
#   `MultiHeadAttention(need_weights=False)` uses it.
#
# ## Check yourself
#
# 1. You double the context length of a model. By how much does the score memory of one attention
#    layer grow? Its work? The memory of its KV cache?
# 2. In online softmax, why multiply the running sum by e^{m − m′}, and why is that factor never
#    larger than 1?
# 3. `chunked_attention` with `chunk_size=4` gives the same output as with `chunk_size=256`, in the
#    same number of PyTorch calls per step. Why is it much slower?
# 4. FlashAttention is much faster than the explicit formula on a GPU. Does it do fewer FLOPs?
# 5. What does the tiled backward pass keep from the forward pass, and what does it recompute?
# 6. A cached generation step gives its token position 0. What goes wrong, and does anything crash?
#
# <details><summary>Answers</summary>
#
# 1. Score memory 4× (T²) and work 4× (every pair of tokens is still scored, with or without
#    tiling); the KV cache 2× (one key and one value per position).
# 2. The old sum holds terms e^{s_i − m}; relative to the new maximum they must be e^{s_i − m′} =
#    e^{s_i − m} · e^{m − m′}. Since m′ = max(m, …) ≥ m, the exponent m − m′ is ≤ 0.
# 3. It takes 64 times as many steps, and each step moves O(T_q · d) bytes: it re-reads all the
#    queries and rescales the whole accumulator to do 4 keys' worth of arithmetic (about one FLOP
#    per byte). Section 2 measured it: a step's time grows with T_q, which call overhead would not.
#    Tiling the queries keeps a small query block and its accumulator in fast memory.
# 4. No: it does the same O(T²) multiply-adds (a little more in the backward, which recomputes).
#    It is faster because it never writes the T × T matrix to the GPU's main memory and reads it
#    back: fewer round trips to memory.
# 5. It keeps Q, K, V, the output and one log-sum-exp per query; it recomputes the scores and the
#    weights P = exp(S − lse) block by block, never the whole T × T matrix.
# 6. Every generated token looks like the first one to the position-dependent parts of the model,
#    so the outputs differ from full attention (section 8 measured a large difference), and
#    nothing raises an error: the model just generates worse text.
#
# </details>
