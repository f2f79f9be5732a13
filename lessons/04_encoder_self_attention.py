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
# # 04 · Encoder self-attention
#
# In lessons 01–03 a query looked things up among keys and values that came from somewhere
# else. In the encoder of a Transformer, the sentence looks things up **in itself**: every
# token is at once a query, a key and a value.
#
# **Learning goals.** After this lesson you can
#
# 1. say what makes attention *self*-attention (Q = K = V = the layer input) and run it with
#    `attn_lib.MultiHeadAttention(x, x, x)`;
# 2. show that self-attention without positions is **permutation-equivariant** — shuffle the
#    tokens and the outputs shuffle the same way — and why that makes positions necessary;
# 3. compute the **sinusoidal positional encoding** by hand, read its heatmap, and show that
#    the dot product of two encodings depends only on their distance (and what it does not
#    tell: before from after, or anything after a projection);
# 4. build an **encoder layer** (self-attention, residual connections, LayerNorm,
#    feed-forward network) piece by piece, stack several of them, and measure why deep
#    stacks put the LayerNorm first (pre-norm);
# 5. batch sentences of different lengths with **padding** and a **padding mask**, and prove
#    that padding changes nothing for the real tokens.
#
# This is claim S6 of the seed: *"in encoder self-attention Q, K and V are the same thing,
# the previous encoder layer's output, so every position can attend to every position of the
# previous layer; in the first layer it is the input embedding plus positional encoding."*

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display
from torch import nn

import attn_lib
from attn_lib.viz import (
    plot_attention,
    plot_grad_norm_per_layer,
    plot_mask,
    plot_pe_dot_products,
    plot_positional_encoding,
)
from attn_lib.widgets import encoder_attention_row, plot_encoder_attention
from attn_lib.widgets.lesson04 import grad_norm_per_layer

torch.manual_seed(0)
torch.set_num_threads(1)  # printed sums do not depend on the thread count
torch.set_printoptions(precision=4, sci_mode=False)
print("torch", torch.__version__)

# %% [markdown]
# ## 1. Self-attention: Q = K = V = x
#
# We need sentences a person can read. A tiny word vocabulary will do; token id 0 is
# reserved for padding (section 7).

# %%
vocab = ["<pad>", "the", "a", "cat", "dog", "sat", "ran", "on", "mat", "fast"]
word_id = {w: i for i, w in enumerate(vocab)}
PAD = word_id["<pad>"]


def ids(sentence: str) -> torch.Tensor:
    """'the cat sat' -> tensor([[1, 3, 5]]), shape (1, T)."""
    return torch.tensor([[word_id[w] for w in sentence.split()]])


print(ids("the cat sat"), ids("the cat sat").shape)

# %% [markdown]
# Each token id becomes a vector of `d_model` numbers through an embedding table (learned in
# a real model, random here). We use `d_model = 32` and `num_heads = 4`, so each head works
# on `head_dim = 32 / 4 = 8` dimensions (lesson 03). No positions yet: the vector of "cat"
# is the same wherever "cat" stands.

# %%
d_model, num_heads = 32, 4
embed = nn.Embedding(len(vocab), d_model)  # the table: (vocabulary size 10, D = 32)
nn.init.normal_(embed.weight, std=d_model**-0.5)  # why this size: section 4

x = embed(ids("the cat sat")).detach() * math.sqrt(d_model)  # (B, T, D) = (1, 3, 32); × √d_model: section 4
print("x:", tuple(x.shape), " = (B, T, D)")

# %% [markdown]
# Self-attention is multi-head attention whose three inputs are **the same tensor**: each
# token's query, key and value are three different linear projections of *its own* vector
# (`q_proj`, `k_proj`, `v_proj` of lesson 03). Every token then attends to every token of the
# same sentence, itself included: a `(T, T)` map per head.

# %%
self_attn = attn_lib.MultiHeadAttention(d_model, num_heads).eval()
out, weights = self_attn(x, x, x)  # query = key = value = x
print("output :", tuple(out.shape), "      = (B, T, D): one new vector per token")
print("weights:", tuple(weights.shape), "= (B, H, T_q, T_k) with T_q = T_k = T")
print("head 0 weights (rows = queries, they sum to 1):\n", weights[0, 0].detach())

# %% [markdown]
# Nothing about the call is special: passing three separate copies of `x` gives the same
# result (`MultiHeadAttention` only notices `query is key is value` to do the three
# projections in one matrix multiplication).

# %%
out_copies, _ = self_attn(x, x.clone(), x.clone())
torch.testing.assert_close(out_copies, out)
print("self_attn(x, x, x) == self_attn(x, copy, copy): True")

# %% [markdown]
# ## 2. Without positions, order is invisible
#
# Shuffle the tokens: "the cat sat" → "sat the cat". Write the shuffle as a permutation
# `perm` (new position i holds old token `perm[i]`), or as a permutation matrix $P$.
# Self-attention then satisfies
#
# $$\text{SelfAttn}(P X) = P\,\text{SelfAttn}(X).$$
#
# Why: the scores become $(PXW^Q)(PXW^K)^\top = P\,(XW^Q W^{K\top} X^\top)\,P^\top$ — the
# same numbers with rows and columns shuffled alike; a row-wise softmax does not care about
# that, and $P A P^\top \cdot P X W^V = P\,(A X W^V)$ because $P^\top P = I$. The layer
# also has **biases**: $q = xW^Q + b^Q$, i.e. $XW^Q + \mathbf 1 b^{Q\top}$ for all rows at
# once, with $\mathbf 1$ a column of ones. They change nothing in the argument, because
# shuffling a column of ones leaves it a column of ones, $P\mathbf 1 = \mathbf 1$:
# $P X W^Q + \mathbf 1 b^{Q\top} = P\,(XW^Q + \mathbf 1 b^{Q\top})$, and likewise for the keys,
# the values and $W^O$. Let us check it instead of believing it (our layer has biases).

# %%
perm = torch.tensor([2, 0, 1])  # "the cat sat" -> "sat the cat"
x_shuffled = embed(ids("sat the cat")).detach() * math.sqrt(d_model)  # (1, 3, 32)
torch.testing.assert_close(x_shuffled, x[:, perm])  # the same rows, reordered

out_shuffled, weights_shuffled = self_attn(x_shuffled, x_shuffled, x_shuffled)
torch.testing.assert_close(out_shuffled, out[:, perm])  # outputs shuffle the same way
torch.testing.assert_close(weights_shuffled, weights[:, :, perm][:, :, :, perm])  # P A Pᵀ
gap = (out_shuffled - out[:, perm]).abs().max().item()
print("max |SelfAttn(PX) - P SelfAttn(X)| < 1e-6:", gap < 1e-6, "(equal up to float rounding)")

# %% [markdown]
# So "cat" gets exactly the same output vector in both sentences, and the two sentences get
# the same *bag* of output vectors. The figure shows the same numbers, only rearranged.

# %%
print('output of "cat" in "the cat sat":', out[0, 1, :4].detach(), "...")
print('output of "cat" in "sat the cat":', out_shuffled[0, 2, :4].detach(), "...")

fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.6))
for ax, w, sentence in zip(axes, (weights, weights_shuffled), ("the cat sat", "sat the cat"), strict=True):
    words = sentence.split()
    plot_attention(w[0, 0], words, words, title=f'"{sentence}" (head 0)', ax=ax, annotate=True, vmax=None)
fig.suptitle("Without positions, shuffling the words only shuffles the attention map")
fig.tight_layout()
plt.show()

# %% [markdown]
# For a language model that is a disaster: "dog bites man" and "man bites dog" would mean the
# same. The fix of the paper: add to each token vector a vector that depends on its
# **position**.
#
# ## 3. Sinusoidal positional encoding
#
# For position `pos` and dimension pair `i` (columns `2i` and `2i+1`), Vaswani et al. (2017,
# §3.5) use
#
# $$PE[pos, 2i] = \sin\!\left(\frac{pos}{10000^{2i/d_\text{model}}}\right),\qquad
#   PE[pos, 2i+1] = \cos\!\left(\frac{pos}{10000^{2i/d_\text{model}}}\right).$$
#
# Each pair is one frequency $\omega_i = 10000^{-2i/d_\text{model}}$: pair 0 turns fast
# (wavelength $2\pi$ positions), the last pair slowest: wavelength
# $2\pi \cdot 10000^{(d_\text{model}-2)/d_\text{model}}$, which approaches the paper's
# $2\pi \cdot 10000$ only as $d_\text{model}$ grows (the cell prints it for $d_\text{model} = 32$).
# Two entries by hand, compared with the library's table:

# %%
pe_table = attn_lib.sinusoidal_positional_encoding(max_len=50, d_model=d_model)  # (50, 32) = (T_max, D)
print("table:", tuple(pe_table.shape))

for pos, i in [(3, 2), (17, 9)]:
    omega = 1.0 / 10000 ** (2 * i / d_model)
    by_hand = (math.sin(pos * omega), math.cos(pos * omega))
    from_table = (pe_table[pos, 2 * i].item(), pe_table[pos, 2 * i + 1].item())
    print(f"pos={pos:2d}, i={i}: by hand {by_hand[0]:+.4f} {by_hand[1]:+.4f}", end="   ")
    print(f"table {from_table[0]:+.4f} {from_table[1]:+.4f}")
    assert max(abs(a - b) for a, b in zip(by_hand, from_table, strict=True)) < 1e-6

wavelengths = 2 * math.pi * 10000 ** (torch.arange(0, d_model, 2) / d_model)  # (D/2,) = (16,), one per pair
print(f"wavelength of pair 0: {wavelengths[0]:.2f} positions, of pair 15: {wavelengths[-1]:.0f} positions")
print(f"2π · 10000 = {2 * math.pi * 10000:.0f}; 2π · 10000^(30/32) = {2 * math.pi * 10000 ** (30 / 32):.0f}")

# %% [markdown]
# The whole table as a picture: one row per position, one column per dimension. Left
# columns change from one row to the next, right columns hardly at all — like the hands of a
# clock, every position gets its own combination.

# %%
fig = plot_positional_encoding(pe_table)  # attn_lib.viz
plt.show()

# %% [markdown]
# **The dot product depends only on the distance.** For each pair,
# $\sin(a)\sin(b) + \cos(a)\cos(b) = \cos(a - b)$, so
#
# $$PE[p] \cdot PE[p+k] = \sum_i \cos(k\,\omega_i),$$
#
# which does not contain $p$ at all. And since $\cos$ is even, $\cos(-k\omega_i) = \cos(k\omega_i)$:
# the dot product is the **same for $+k$ and $-k$**. It tells how far apart two positions are,
# not which one comes first. Measured for several starting positions $p$, offsets from
# $-20$ (before $p$) to $+40$ (after):

# %%
pe_long = attn_lib.sinusoidal_positional_encoding(max_len=100, d_model=d_model)  # (100, 32)
ks = torch.arange(-20, 41)  # (61,) offsets k
curves = {p: (pe_long[p] * pe_long[p + ks]).sum(-1) for p in (20, 30, 40)}  # PE[p]·PE[p+k], (61,) each
omegas = 10000 ** (-torch.arange(0, d_model, 2) / d_model)  # (D/2,)
formula = torch.cos(ks[:, None] * omegas).sum(-1)  # (61,): Σ_i cos(k ω_i) for each k
fig = plot_pe_dot_products(ks, curves, formula)  # attn_lib.viz
plt.show()

spread = max((c - formula).abs().max().item() for c in curves.values())
after, before = curves[30][(ks > 0) & (ks <= 20)], curves[30][ks < 0].flip(0)  # k = 1..20 and k = -1..-20
mirror = (after - before).abs().max().item()
print("largest gap between the curves and the formula < 1e-4:", spread < 1e-4, "(equal up to float rounding)")
print("PE[p]·PE[p+k] == PE[p]·PE[p-k] for k = 1..20, max |diff| < 1e-4:", mirror < 1e-4)
print("PE[p]·PE[p] = |PE[p]|² =", round(curves[20][20].item(), 2), "= d_model / 2 (sin² + cos² = 1 per pair)")

# %% [markdown]
# Careful with what this shows. Attention does not take $PE[p]\cdot PE[p+k]$; it takes
# $(x_p W^Q)\cdot(x_{p+k} W^K)$, and for arbitrary projections $W^Q, W^K$ the
# "distance only" property is gone: $PE[p]\,W^Q W^{K\top} PE[p+k]^\top$ changes with $p$ for a
# fixed $k$. With random projections (scaled like an initialised layer), offset $k = 3$:

# %%
gen = torch.Generator().manual_seed(7)
W_q_rand = torch.randn(d_model, d_model, generator=gen) / math.sqrt(d_model)  # (D, D)
W_k_rand = torch.randn(d_model, d_model, generator=gen) / math.sqrt(d_model)
starts = torch.arange(0, 40)  # p = 0..39
plain = (pe_long[starts] * pe_long[starts + 3]).sum(-1)  # (40,): PE[p]·PE[p+3]
projected = ((pe_long[starts] @ W_q_rand) * (pe_long[starts + 3] @ W_k_rand)).sum(-1)  # (40,)
print(f"PE[p]·PE[p+3] over p = 0..39: from {plain.min().item():.2f} to {plain.max().item():.2f}")
print(f"(PE[p] W_q)·(PE[p+3] W_k)   : from {projected.min().item():.2f} to {projected.max().item():.2f}")
assert plain.max() - plain.min() < 1e-3 < 1.0 < projected.max() - projected.min()

# %% [markdown]
# The plain dot product is the same at every start $p$; the projected one is not. What does
# survive any projection is the next property: the encoding of $p + k$ is a fixed *linear*
# function of the encoding of $p$, which a trained $W^Q, W^K$ can exploit (and can make
# direction-aware, unlike the symmetric plain dot product).

# %% [markdown]
# The paper's own reason for the choice: for a fixed offset $k$, $PE[p+k]$ is a
# **linear function** of $PE[p]$ — each (sin, cos) pair is rotated by the angle $k\omega_i$.
# One matrix $R_k$ works for every position $p$:

# %%
k = 3
R = torch.zeros(d_model, d_model)  # (D, D) = (32, 32), block-diagonal: one 2x2 rotation per frequency
for i, w in enumerate(omegas.tolist()):
    c, s = math.cos(k * w), math.sin(k * w)
    R[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.tensor([[c, -s], [s, c]])  # (sin, cos) -> shifted
torch.testing.assert_close(pe_table[:-k] @ R, pe_table[k:], atol=1e-5, rtol=0)
print(f"PE[p + {k}] == PE[p] @ R_{k} for all p = 0..{pe_table.shape[0] - k - 1}: True")

# %% [markdown]
# ## 4. The first layer's input: embedding × √d_model + positional encoding
#
# The paper multiplies the embeddings by $\sqrt{d_\text{model}}$ (§3.4), then adds the
# encoding. It does not say why. A reading that fits the authors' code (tensor2tensor): the
# embedding table is initialised with standard deviation $1/\sqrt{d_\text{model}}$ (we did
# the same in section 1), so after the factor each entry has standard deviation about 1 and
# a token vector has norm about $\sqrt{d_\text{model}} \approx 5.7$: the size of a positional
# encoding, whose norm is exactly $\sqrt{d_\text{model}/2} = 4$ (half of its entries are
# sines, half cosines, $\sin^2 + \cos^2 = 1$ per pair). Neither drowns the other:

# %%
tokens = ids("the cat sat")  # (1, 3)
x_emb = embed(tokens).detach() * math.sqrt(d_model)  # (1, 3, 32)
x_in = x_emb + pe_table[: tokens.shape[1]]  # (1, 3, 32) + (3, 32) broadcasts over the batch
print("|embedding × √d_model| per token:", x_emb.norm(dim=-1)[0])
print("|PE[pos]| per position        :", pe_table[:3].norm(dim=-1))

# %% [markdown]
# `attn_lib.PositionalEncoding` is this addition as a module (with the table as a buffer and
# optional dropout). From now on we use it. (`attn_lib.Transformer` does the same: its embeddings
# start at standard deviation 1/√d_model and are multiplied by √d_model; lesson 07 measures what
# PyTorch's default start, standard deviation 1, would cost.)

# %%
pos_enc = attn_lib.PositionalEncoding(d_model, max_len=50)
torch.testing.assert_close(pos_enc(x_emb), x_in)
print("pos_enc(x_emb) == x_emb + PE[:T]:", tuple(pos_enc(x_emb).shape))

# %% [markdown]
# With positions added, the two sentences are no longer a shuffle of each other, and "cat"
# gets a different output in each:

# %%
x_in_shuffled = pos_enc(embed(ids("sat the cat")).detach() * math.sqrt(d_model))
out_1, _ = self_attn(x_in, x_in, x_in)  # "the cat sat", with positions
out_2, _ = self_attn(x_in_shuffled, x_in_shuffled, x_in_shuffled)  # "sat the cat", with positions
gap = (out_1[0, 1] - out_2[0, 2]).norm().item()  # "cat" is at position 1, then at position 2
print('|output("cat" in "the cat sat") - output("cat" in "sat the cat")| =', round(gap, 4))

# %% [markdown]
# ## 5. An encoder layer, one sub-layer at a time
#
# The seed only speaks of the attention. A real encoder layer (paper, §3.1 and Figure 1) has
# **two sub-layers**, and each is wrapped the same way:
#
# $$x \leftarrow \text{LayerNorm}\big(x + \text{Sublayer}(x)\big)$$
#
# 1. **multi-head self-attention** — the only place where positions exchange information;
# 2. **position-wise feed-forward network** $\text{FFN}(x) = \max(0, xW_1 + b_1)W_2 + b_2$,
#    from `d_model` to `d_ff` and back (the paper: 512 → 2048 → 512; we keep the ratio, 32 →
#    128 → 32), applied to every position separately;
#
# around each: a **residual connection** ($x + \ldots$: the sub-layer only adds a correction
# to the token's vector) and **layer normalisation** (each position's D features are
# rescaled to mean 0 and variance 1, then multiplied by a learned gain and shifted by a
# learned bias). In this arrangement, the paper's "post-norm", the LayerNorm comes *after*
# the addition, so even the residual path goes through a LayerNorm in every layer; section 6
# measures what that does to the gradients of a deep stack.
#
# We take an `attn_lib.EncoderLayer` and run its parts by hand, watching the shapes.

# %%
layer = attn_lib.EncoderLayer(d_model, num_heads, d_ff=4 * d_model).eval()
print(layer)

# %%
a, _ = layer.self_attn(x_in, x_in, x_in)  # sub-layer 1: self-attention, (1, 3, 32)
h = layer.norm1(x_in + a)  # residual + LayerNorm, (1, 3, 32)
print("attention output a:", tuple(a.shape), "  after LayerNorm(x + a):", tuple(h.shape))
print("per-position mean of h:", torch.round(h.mean(-1), decimals=4).detach() + 0.0)
print("per-position std  of h:", h.std(-1, unbiased=False).detach().round(decimals=4))

# %% [markdown]
# LayerNorm worked per position: each of the three rows now has mean 0 and standard deviation
# 1 (the learned gain and bias start at 1 and 0). Next, the feed-forward network:

# %%
hidden = torch.relu(layer.ff.linear1(h))  # (1, 3, 128) = (B, T, d_ff)
f = layer.ff.linear2(hidden)  # (1, 3, 32)
y = layer.norm2(h + f)  # residual + LayerNorm, (1, 3, 32)
print("FFN hidden:", tuple(hidden.shape), " FFN output:", tuple(f.shape), " layer output:", tuple(y.shape))

y_lib, _ = layer(x_in)
torch.testing.assert_close(y, y_lib)
print("by hand == attn_lib.EncoderLayer: True")

# %% [markdown]
# "Position-wise" means exactly this: the FFN of one position does not look at the others.
# Feeding the middle position alone gives the same numbers as its row in the batch.

# %%
torch.testing.assert_close(layer.ff(h[:, 1:2]), f[:, 1:2])
print("FFN(row 1 alone) == row 1 of FFN(all rows): True")

n_attn = sum(p.numel() for p in layer.self_attn.parameters())
n_ff = sum(p.numel() for p in layer.ff.parameters())
n_norm = sum(p.numel() for p in (*layer.norm1.parameters(), *layer.norm2.parameters()))
print(f"parameters: self-attention {n_attn}, feed-forward {n_ff}, two LayerNorms {n_norm}")

# %% [markdown]
# Two thirds of the layer's parameters sit in the feed-forward network; attention mixes
# *positions*, the FFN transforms *features*. (`attn_lib` also offers `norm_first=True`,
# the "pre-norm" variant $x + \text{Sublayer}(\text{LayerNorm}(x))$ used by most later
# models; the paper's layer is post-norm, as above. Section 6 shows why the difference
# matters.)
#
# ## 6. A stack of encoder layers
#
# The encoder is N such layers in a row (the paper: N = 6; here 2). This is the core of S6:
# **layer l's output is layer l+1's query, key and value**, so every position of layer l+1
# attends to every position of layer l. `attn_lib.Encoder` is exactly this loop:

# %%
encoder = attn_lib.Encoder(num_layers=2, d_model=d_model, num_heads=num_heads, d_ff=4 * d_model).eval()

state = x_in  # (1, 3, 32): embedding × √d_model + PE
for index, enc_layer in enumerate(encoder.layers):
    state, _ = enc_layer(state)  # inside: self_attn(state, state, state)
    print(f"after layer {index}: {tuple(state.shape)}")
torch.testing.assert_close(state, encoder(x_in)[0])
print("loop over layers == attn_lib.Encoder: True")

# %% [markdown]
# Every sub-layer is either self-attention or position-wise, so **the whole stack** is still
# permutation-equivariant when no positions are added: the positional encoding at the bottom
# is the encoder's only source of word order.

# %%
stack_out = encoder(x)[0]  # embeddings of section 1, no positions
stack_out_shuffled = encoder(x_shuffled)[0]
torch.testing.assert_close(stack_out_shuffled, stack_out[:, perm])
print("Encoder(P x) == P Encoder(x) without positions: True")

# %% [markdown]
# **Deep stacks: post-norm or pre-norm.** It is often said that the residual connections give
# gradients "a direct path" through a deep stack. In the paper's post-norm layer,
# $x \leftarrow \text{LayerNorm}(x + \text{Sublayer}(x))$, that is not quite so: the path
# from the loss down to layer l passes through the LayerNorms of every layer above it, and
# each LayerNorm divides by the standard deviation of $x + \text{Sublayer}(x)$, which is
# above 1. The pre-norm layer, $x \leftarrow x + \text{Sublayer}(\text{LayerNorm}(x))$, keeps
# an untouched identity path from the top of the stack to the bottom. Measured at
# initialisation on a stack of 24 layers (`grad_norm_per_layer`: the gradient of a stand-in
# loss with respect to each layer's input, median over 5 seeds):

# %%
post = grad_norm_per_layer(norm_first=False, num_layers=24)  # (24,), layer 0 = nearest the input
pre = grad_norm_per_layer(norm_first=True, num_layers=24)
print(f"post-norm: gradient at the bottom layer / at the top layer = {post[0] / post[-1]:.1f}")
print(f"pre-norm : gradient at the bottom layer / at the top layer = {pre[0] / pre[-1]:.1f}")
assert post[0] / post[-1] < 0.8 and pre[0] / pre[-1] > 1.2

fig = plot_grad_norm_per_layer(
    {"post-norm (the paper): LayerNorm(x + F(x))": post, "pre-norm: x + F(LayerNorm(x))": pre},
    title="At initialisation, post-norm's gradient shrinks towards the input; pre-norm's does not",
)
plt.show()

# %% [markdown]
# In post-norm the gradient shrinks layer by layer on the way down (the bottom layer gets
# about two thirds of what the top layer gets, in 24 layers), so at the start of training
# the layers near the output get the largest updates. Xiong et al. (2020, "On Layer
# Normalization in the Transformer Architecture") show that this is why the paper's
# post-norm Transformer needs a learning-rate **warm-up** (its first steps at a full learning
# rate are unstable), and that pre-norm, whose gradient does not shrink with depth, trains
# without one. That is the reason most later models are pre-norm. (At 2 layers, as here,
# the difference is small; it grows with depth.)

# %% [markdown]
# ## 7. A batch of sentences of different lengths: padding and its mask
#
# To run several sentences at once they must have the same length `T`, so the short ones are
# filled up with `<pad>` tokens. Padding must not change anything: **no query may attend to
# a padded key**. That is what a padding mask says, bool, True = may attend, shape
# `(B, 1, 1, T)` so that it broadcasts over heads `H` and query positions `T_q`.

# %%
sentences = ["the cat sat on the mat", "a dog ran fast", "the cat sat", "sat the cat"]
T = max(len(s.split()) for s in sentences)
batch = torch.full((len(sentences), T), PAD)  # (B, T) = (4, 6)
for b, s in enumerate(sentences):
    batch[b, : len(s.split())] = ids(s)[0]
labels = [[vocab[i] for i in row] for row in batch.tolist()]
print(batch)
for row in labels:
    print("  ", " ".join(f"{w:>5}" for w in row))

pad_mask = attn_lib.padding_mask(batch, PAD)  # (B, 1, 1, T)
print("padding mask:", tuple(pad_mask.shape), "\n", pad_mask[:, 0, 0])

# %% [markdown]
# Broadcast to one sentence's `(T_q, T_k)` grid, the mask blocks whole **columns**: the
# padded keys. Rows of padded queries are allowed to attend (to the real tokens); their
# outputs are simply never used later.

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
for ax, b in zip(axes, (1, 2), strict=True):
    plot_mask(pad_mask[b, 0].expand(T, T), labels[b], labels[b], title=f'"{sentences[b]}"', ax=ax)
fig.suptitle("Padding mask: no query may attend to a <pad> key (grey columns)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Now the whole batch goes through embedding × √d_model + PE and the 2-layer encoder, with the
# mask reaching every self-attention. First, the weights on padded keys are **exactly 0**
# (scores set to −∞ before the softmax; lesson 05 looks at this closely):

# %%
x_batch = pos_enc(embed(batch).detach() * math.sqrt(d_model))  # (4, 6, 32)
enc_out, maps = encoder(x_batch, pad_mask, need_weights=True)  # (4, 6, 32) and 2 x (4, 4, 6, 6)
print("encoder output:", tuple(enc_out.shape), " maps:", len(maps), "x", tuple(maps[0].shape), "(B, H, T, T)")

blocked = ~pad_mask.expand_as(maps[0])  # (4, 4, 6, 6): True where a query looks at a pad key
for index, w in enumerate(maps):
    rows_ok = torch.allclose(w.sum(-1), torch.ones(4, 4, 6))
    print(f"layer {index}: largest weight on a pad key = {w[blocked].max().item()}, rows sum to 1: {rows_ok}")
    assert (w[blocked] == 0).all()

# %% [markdown]
# Second, the strongest check: replace the pad tokens' vectors by large random noise. With the
# mask, the real tokens' outputs do not move **at all**: the difference is exactly 0.0, on
# every machine, because IEEE arithmetic makes it so (the pad keys' weights are exactly 0,
# $0 \cdot v = 0$ for any finite noise $v$, and every other step works on each position
# alone, with the same numbers in the same order). Without the mask, the noise leaks into
# every real token.

# %%
noisy = x_batch.clone()
noisy[batch == PAD] = 10 * torch.randn(int((batch == PAD).sum()), d_model)  # new pad vectors
real = batch != PAD  # (4, 6)

with_mask = (encoder(noisy, pad_mask)[0] - encoder(x_batch, pad_mask)[0])[real].abs().max().item()
without_mask = (encoder(noisy)[0] - encoder(x_batch)[0])[real].abs().max().item()
print("real tokens' outputs change by", with_mask + 0.0, "with the mask")
print("real tokens' outputs change by", round(without_mask, 4), "without the mask")
assert with_mask == 0.0

# %% [markdown]
# Third: a padded sentence in the batch gets the same outputs as the same sentence encoded
# alone, without padding (equal up to float rounding, because the matrices have other shapes).

# %%
alone = encoder(x_batch[1:2, :4])[0]  # "a dog ran fast" alone: (1, 4, 32), no mask needed
torch.testing.assert_close(alone, enc_out[1:2, :4])
print('"a dog ran fast" alone == its 4 real rows in the padded batch: True')

# %% [markdown]
# ## 8. Explore: where does a token attend?
#
# Pick a sentence, a token (by its position, 0–5), a layer and a head. The left map is that
# sentence's whole self-attention (rows = queries), with the chosen token's row framed in
# red; the bars on the right are that row. Things to try:
#
# - a token of "the cat sat" and the same word in "sat the cat": the positions make the rows
#   differ;
# - any token of "a dog ran fast": the two `<pad>` keys get exactly 0;
# - a `<pad>` query: it attends to real tokens, but its output is never used.
#
# **Be warned: this encoder is untrained** (random but seeded weights, the library's
# initialisation). Its maps are close to uniform, as is typical at initialisation with the
# √d_k scale (measured below: the largest weight of a row is 0.25 on average, against 1/6 for
# uniform weights), and their patterns mean nothing yet. (Lesson 03's random head maps were
# peaked because `head_map` draws its weights about 2.6 times larger than this, on purpose;
# with `init="library"` its maps are close to uniform too.) Heads that *learned* a rule
# were shown in lesson 03, section 6; lesson 07 trains a whole Transformer. The picture
# below is the widget's first view.

# %%
row = encoder_attention_row(maps, sentence=0, token=2, layer=0, head=0)
print('"sat" in "the cat sat on the mat", layer 0, head 0:', row)
real_rows = maps[0][0]  # (H, T, T) of sentence 0, which has no padding
print(f"largest weight per row, mean over heads and rows: {real_rows.amax(-1).mean().item():.2f} (uniform: 1/6 = 0.17)")

fig = plot_encoder_attention(maps, labels, sentence=0, token=2, layer=0, head=0)
plt.show()

# %% tags=["nbval-ignore-output"]
sentence_w = widgets.Dropdown(options=[(s, b) for b, s in enumerate(sentences)], description="sentence")
token_w = widgets.IntSlider(value=2, min=0, max=T - 1, description="token position", continuous_update=False)
layer_w = widgets.ToggleButtons(options=[(f"layer {i}", i) for i in range(len(maps))], description="layer")
head_options = [*[(f"head {h}", h) for h in range(num_heads)], ("mean of heads", "mean")]
head_w = widgets.Dropdown(options=head_options, description="head")


def show(sentence, token, layer, head):
    plot_encoder_attention(maps, labels, sentence, token, layer, None if head == "mean" else head)
    plt.show()


controls = {"sentence": sentence_w, "token": token_w, "layer": layer_w, "head": head_w}
view = widgets.interactive_output(show, controls)
display(widgets.VBox([widgets.HBox([sentence_w, token_w]), widgets.HBox([layer_w, head_w]), view]))

# %% [markdown]
# ## Exercises
#
# Now write it yourself. Fill in the body of each `my_...` function and run the cell below it: the
# check calls your function on several inputs and compares with `attn_lib`. Yellow = not
# attempted yet, red = something differs (a common mistake is named, with a hint), green = right.
#
# ### Exercise 1 · the sinusoidal positional encoding
#
# Return the `(max_len, d_model)` table (float32, `d_model` even) with
# $PE_{pos,\,2i} = \sin(pos / 10000^{2i/d_{model}})$ and
# $PE_{pos,\,2i+1} = \cos(pos / 10000^{2i/d_{model}})$, positions starting at 0.
#
# Stuck? `show_solution("positional_encoding")` (after `from attn_lib.exercises import show_solution`).


# %%
def my_positional_encoding(max_len, d_model):
    """-> (max_len, d_model): sin in the even columns, cos in the odd ones."""
    ...  # your code here


# %%
from attn_lib.exercises import check_positional_encoding

check_positional_encoding(my_positional_encoding)

# %% [markdown]
# ### Exercise 2 · single-head self-attention
#
# Self-attention takes Q, K and V from the same input: `x` `(B, T, D)` through `W_q` and `W_k`
# `(D, d_k)` and `W_v` `(D, d_v)`, applied as `x @ W_q`. Return
# $\text{softmax}(QK^\top/\sqrt{d_k})\,V$, shape `(B, T, d_v)`.
#
# Stuck? `show_solution("self_attention")`.


# %%
def my_self_attention(x, W_q, W_k, W_v):
    """x (B, T, D), W_q and W_k (D, d_k), W_v (D, d_v) -> (B, T, d_v)."""
    ...  # your code here


# %%
from attn_lib.exercises import check_self_attention

check_self_attention(my_self_attention)

# %% [markdown]
# ## Summary
#
# - **Self-attention** is attention with Q = K = V = the layer input (three different
#   projections of the same vectors): `MultiHeadAttention(x, x, x)`; every position attends
#   to every position.
# - Without positions it is **permutation-equivariant**: `SelfAttn(PX) = P SelfAttn(X)`
#   (checked up to float rounding; the biases go along because `P·1 = 1`), so a sentence is
#   a bag of words. The stack inherits this.
# - **Sinusoidal positional encoding** gives each position a pattern of sines and cosines
#   of `d_model/2` frequencies; `PE[p]·PE[p+k] = Σᵢ cos(kωᵢ)` depends only on the distance,
#   the same for ±k (it cannot tell before from after), and not at all after arbitrary
#   projections W^Q, W^K; what survives any projection is that `PE[p+k]` is a fixed
#   rotation of `PE[p]`.
# - The first layer's input is **embedding × √d_model + PE**; every later layer's Q, K, V
#   is the previous layer's output.
# - An **encoder layer** = self-attention and a position-wise FFN, each inside
#   `LayerNorm(x + Sublayer(x))` — the residuals, LayerNorm and FFN the seed leaves out.
#   In this post-norm form even the residual path goes through every LayerNorm: at
#   initialisation the gradient shrinks towards the input of a deep stack, which pre-norm
#   (`x + Sublayer(LayerNorm(x))`) avoids.
# - **Padding masks** `(B, 1, 1, T)` block the padded keys: their weights are exactly 0 and
#   the real tokens' outputs are exactly the same whatever the padding holds.
#
# ## Check yourself
#
# 1. You swap two words of a sentence and feed it to a self-attention layer **without**
#    positional encoding. What happens to the outputs?
# 2. What is $PE[4]\cdot PE[9]$ compared with $PE[20]\cdot PE[25]$, and why?
# 3. In a batch, a sentence is padded from 4 to 6 tokens. Which cells of its `(T, T)`
#    attention map are forced to 0, rows or columns? What about the rows of the pad tokens?
# 4. Which sub-layer of an encoder layer lets position 2 use information from position 5,
#    and which one never does?
# 5. Why does the padding mask have shape `(B, 1, 1, T)` and not `(B, T)`?
#
# <details><summary>Answers</summary>
#
# 1. The two output vectors swap places and nothing else changes (permutation
#    equivariance); the layer cannot tell the two sentences apart.
# 2. Equal: both are at distance 5, and the dot product is $\sum_i \cos(5\,\omega_i)$,
#    which does not depend on the start position.
# 3. The two **columns** of the pad keys (weights exactly 0). The rows of the pad queries
#    still attend to the real tokens; their outputs are ignored later (loss, cross-attention
#    masks).
# 4. Self-attention mixes positions; the feed-forward network (and LayerNorm) works on each
#    position alone.
# 5. It must broadcast against the scores `(B, H, T_q, T_k)`: the same keys are blocked for
#    every head (dim 1) and every query (dim 2).
#
# </details>
