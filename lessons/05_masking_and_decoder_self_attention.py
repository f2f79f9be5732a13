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
# # 05 · Masking and decoder self-attention
#
# The encoder of lesson 04 reads a whole sentence at once: every token may look at every
# other. The decoder *writes* a sentence, one token after the other, and it must never peek
# at the tokens it has not written yet. This lesson is about the one line that enforces it.
#
# **Learning goals.** After this lesson you can
#
# 1. explain why the decoder must not see the future: in auto-regressive generation, output
#    i is fed back as input i+1 (claim S8 of the seed);
# 2. draw the **causal mask** and show, number by number, that the *scores* (logits) of later
#    positions are set to −∞ **before** the softmax, so their weights are exactly 0 (claim
#    S7, stated exactly);
# 3. show why zeroing the weights **after** the softmax is wrong, and why renormalising
#    afterwards agrees by an exact identity in mathematics yet breaks in floating point;
# 4. **prove there is no leak**: a changed future token leaves earlier outputs exactly
#    unchanged, and the gradient of output i with respect to input j > i is exactly 0;
# 5. state what teacher forcing shares with step-by-step generation (**same prefix ⇒ same
#    logits**, up to rounding) and where they part (gold tokens vs the model's own:
#    *exposure bias*);
# 6. combine causal and padding masks, and avoid the silent bug caused by the **opposite
#    mask meaning** of `torch.nn.MultiheadAttention`.

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display
from torch import nn

import attn_lib
from attn_lib.viz import plot_attention, plot_mask, plot_masked_matrix
from attn_lib.widgets import generation_prefix_attention, generation_step_view

torch.manual_seed(0)
torch.set_num_threads(1)  # printed sums do not depend on the thread count
torch.set_printoptions(precision=4, sci_mode=False)
print("torch", torch.__version__)

# %% [markdown]
# ## 1. Why the decoder must not see the future
#
# A decoder **generates**: it starts from a begin-of-sequence token `<bos>`, predicts the
# first word, appends it to its input, predicts the second word, and so on until it
# predicts `<eos>`. Output i is fed back as input i+1: the model is *auto-regressive*.
#
# **Training** does not loop. We know the whole target, so we feed it at once, shifted one
# step to the right (*teacher forcing*): position i gets the true words up to i and must
# predict word i+1.

# %%
vocab = "<pad> <bos> <eos> the a cat dog sat ran on mat fast big small".split()  # 14 words
word_id = {w: i for i, w in enumerate(vocab)}
PAD, BOS, EOS = word_id["<pad>"], word_id["<bos>"], word_id["<eos>"]

target = ["the", "cat", "sat", "<eos>"]
decoder_input = ["<bos>", *target[:-1]]  # shifted right by one
for i, (seen, wanted) in enumerate(zip(decoder_input, target, strict=True)):
    print(f"position {i}: input {seen:>5}  ->  must predict {wanted:>5}")

# %% [markdown]
# Look at position 1: it must predict "sat", and "sat" **is** the input at position 2.
# Plain self-attention lets position 1 read position 2, so the model could learn to copy the
# answer — and at generation time, when position 2 does not exist yet, it would have
# nothing to copy. Measured on a self-attention layer: change the input at position 2 and
# see which outputs move.

# %%
d_model, num_heads = 32, 4
T = len(decoder_input)
self_attn = attn_lib.MultiHeadAttention(d_model, num_heads).eval()
x = torch.randn(1, T, d_model)  # (B, T, D): stand-ins for the 4 input vectors
x_changed = x.clone()
x_changed[0, 2] = torch.randn(d_model)  # a different word at position 2


def change_per_position(mask: torch.Tensor | None) -> torch.Tensor:
    """Largest change of each output i when the input at position 2 is replaced: (T,)."""
    with torch.no_grad():
        before, _ = self_attn(x, x, x, mask=mask)
        after, _ = self_attn(x_changed, x_changed, x_changed, mask=mask)
    return (after - before).abs().amax(-1)[0]


print("without a mask, |change of output i| for i = 0..3:", change_per_position(None))
print("with the mask,  |change of output i| for i = 0..3:", change_per_position(attn_lib.causal_mask(T)))

# %% [markdown]
# Without a mask, outputs 0 and 1 changed although position 2 lies in their future: they saw
# it. With the causal mask (next section) only the outputs at and after position 2 move, as
# they are allowed to.
#
# ## 2. The causal mask
#
# The rule "query i may attend to key j only if j ≤ i" is a lower-triangular bool matrix,
# True = may attend (the convention of this course and of
# `torch.nn.functional.scaled_dot_product_attention`).

# %%
causal = attn_lib.causal_mask(T)  # (T_q, T_k) = (4, 4)
print(causal.int())

plot_mask(causal, decoder_input, decoder_input, title="Causal mask: query i may attend to keys j ≤ i")
plt.show()

# %% [markdown]
# ## 3. Scores of later positions are set to −∞ *before* the softmax
#
# The seed says the *inputs* of later positions are set to −∞. The paper says "all values in
# the **input of the softmax** which correspond to illegal connections", which is most likely
# what the seed's "inputs" means. Exactly: it is the **attention scores** (the logits
# $q_i\cdot k_j/\sqrt{d_k}$) at the blocked cells that are set to −∞, before the softmax.
# Since $e^{-\infty} = 0$, their weights become exactly 0 and each row still sums to 1 over
# the allowed keys. Step by step, on one head with $d_k = 8$:

# %%
d_k = 8
q, k, v = torch.randn(T, d_k), torch.randn(T, d_k), torch.randn(T, d_k)  # (T, d_k) each

scores = q @ k.T / math.sqrt(d_k)  # (T_q, T_k) = (4, 4)
masked_scores = scores.masked_fill(~causal, float("-inf"))  # blocked cells -> -inf
weights = torch.softmax(masked_scores, dim=-1)  # (4, 4)
print("weights:\n", weights)
print("row sums:", weights.sum(-1).round(decimals=4))  # sums of 1 print as 1
print(
    "weights at blocked cells are exactly 0:",
    bool((weights[~causal] == 0).all()),
    f"({int((~causal).sum())} cells)",
)

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
plot_masked_matrix(
    scores, torch.zeros_like(causal), decoder_input, decoder_input, title="1. scores q·k/√d_k", ax=axes[0]
)
plot_masked_matrix(
    masked_scores, ~causal, decoder_input, decoder_input, title="2. blocked scores := −∞", ax=axes[1]
)
plot_attention(weights, decoder_input, decoder_input, title="3. softmax: weights", ax=axes[2], annotate=True)
for ax in axes[1:]:
    ax.set_ylabel("")
fig.suptitle("Later positions' scores are set to −∞ before the softmax, so their weights are exactly 0")
fig.tight_layout()
plt.show()

# %% [markdown]
# This is what `attn_lib.scaled_dot_product_attention(..., mask=...)` does inside, and
# PyTorch's fused function agrees (its `is_causal=True` builds the same mask):

# %%
out_lib, w_lib = attn_lib.scaled_dot_product_attention(q, k, v, mask=causal)
torch.testing.assert_close(w_lib, weights)
torch.testing.assert_close(out_lib, weights @ v)
torch.testing.assert_close(
    F.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True)[0], out_lib
)
print("by hand == attn_lib.scaled_dot_product_attention == F.scaled_dot_product_attention(is_causal=True)")

# %% [markdown]
# Why the exact wording matters: setting the *inputs* (here the key of position 3) to −∞
# does not block anything, it destroys the arithmetic: −∞ times a negative number is +∞, and
# +∞ − ∞ is NaN.

# %%
k_inf = k.clone()
k_inf[3] = float("-inf")  # "set the input of position 3 to -inf", literally
scores_inf = q @ k_inf.T / math.sqrt(d_k)  # (T_q, T_k) = (4, 4)
print("scores, column 3 (key 3):", scores_inf[:, 3])
print("softmax:\n", torch.softmax(scores_inf, dim=-1))

# %% [markdown]
# All four rows became NaN, including rows 0–2, whose queries were never meant to see
# position 3 at all: each score in column 3 sums products of −∞ with positive *and* negative
# query entries, +∞ + (−∞) = NaN, and one NaN in a row makes the softmax of the whole row NaN.
#
# ## 4. Why zeroing the weights *after* the softmax is wrong
#
# A tempting shortcut: run the softmax over all scores and multiply the weights by the mask
# afterwards. Two things go wrong.
#
# **(a) Rows no longer sum to 1**, so the outputs are shrunken, different vectors:

# %%
after = torch.softmax(scores, dim=-1) * causal  # zero the future AFTER the softmax: wrong
print("row sums:", after.sum(-1).round(decimals=4))
print("max |output(after) - output(proper)| =", round((after @ v - weights @ v).abs().max().item(), 4))

# %% [markdown]
# **(b) The future leaks anyway.** The softmax denominator of row i,
# $Z_i = \sum_{\text{all } j} e^{s_{ij}}$, contains the future scores. Change the key of
# position 3 — which only query 3 may see — and rows 0, 1, 2 change too:

# %%
k_changed = k.clone()
k_changed[3] = k_changed[3] + 2.0 * torch.randn(d_k)  # a different future key
scores_changed = q @ k_changed.T / math.sqrt(d_k)

after_changed = torch.softmax(scores_changed, dim=-1) * causal
proper_changed = torch.softmax(scores_changed.masked_fill(~causal, float("-inf")), dim=-1)
print(
    "rows 0-2 change by",
    round((after_changed[:3] - after[:3]).abs().max().item(), 4),
    "when zeroing after the softmax",
)
print(
    "rows 0-2 change by",
    (proper_changed[:3] - weights[:3]).abs().max().item() + 0.0,
    "with the mask before the softmax",
)

# %% [markdown]
# **Renormalising afterwards** (dividing each row by its new sum) gives back the right
# numbers. That is no luck: it is an exact identity, because the unwanted denominator $Z_i$
# is a common factor of the row and cancels,
#
# $$\frac{e^{s_{ij}}/Z_i}{\sum_{j' \le i} e^{s_{ij'}}/Z_i} = \frac{e^{s_{ij}}}{\sum_{j'\le i} e^{s_{ij'}}}.$$
#
# In floating point the two sides are computed by different operations, so they agree up
# to rounding, not bit for bit:

# %%
renormalised = after / after.sum(-1, keepdim=True)
print(
    "max |renormalised - proper| < 1e-6:",
    (renormalised - weights).abs().max().item() < 1e-6,
    "(equal up to float rounding)",
)

# %% [markdown]
# The identity needs the past weights $e^{s_{ij}}/Z_i$ to be representable. In float32
# they are not once a *future* score exceeds every allowed score of its row by about 100:
# the softmax over the full row then rounds the past weights e^{−gap}/Z to 0, the
# renormalisation divides 0 by 0, and the row becomes NaN. Masking before the softmax never
# computes those numbers at all.

# %%
scores_big = scores.clone()
scores_big[0, 3] = 200.0  # a future score far above the others, for query 0
after_big = torch.softmax(scores_big, dim=-1) * causal
print("renormalised row 0:", (after_big / after_big.sum(-1, keepdim=True))[0])
print("masked-before row 0:", torch.softmax(scores_big.masked_fill(~causal, float("-inf")), dim=-1)[0])

# %% [markdown]
# How large must the gap be? One allowed score 0 against one future score g, in float32
# and in float16 (half precision, common on GPUs), whose range ends far sooner:

# %%
gaps = torch.arange(0.0, 110.0, 0.25)  # (G,) candidate gaps g
for dtype in (torch.float32, torch.float16):
    two_scores = torch.stack([torch.zeros_like(gaps), gaps], dim=-1).to(dtype)  # (G, 2): past 0, future g
    past_weight = torch.softmax(two_scores, dim=-1)[:, 0]  # (G,) the weight of the allowed key
    tiny = torch.finfo(dtype).smallest_normal
    print(f"{dtype!s:14s} past weight below the smallest normal ({tiny:.2e}, precision lost) from g =",
          gaps[past_weight < tiny].min().item())
    print(f"{dtype!s:14s} past weight exactly 0, so renormalising gives 0/0 = NaN, from g =",
          gaps[past_weight == 0].min().item())

# %% [markdown]
# ## 5. Proof that nothing leaks through a whole decoder
#
# Now a full (untrained, seeded) encoder–decoder `attn_lib.Transformer`: two decoder layers,
# each with masked self-attention, cross-attention to the encoder and a feed-forward network.
# `model.decode` builds the causal mask itself. The source sentence and the vocabulary are
# the toy ones from above; the seed is one whose untrained model produces varied words in
# section 6.

# %%
torch.manual_seed(5)
model = attn_lib.Transformer(
    len(vocab),
    len(vocab),
    d_model=d_model,
    num_heads=num_heads,
    num_encoder_layers=2,
    num_decoder_layers=2,
    d_ff=64,
    max_len=32,
    pad_id=PAD,
).eval()


def ids(words: list[str]) -> torch.Tensor:
    """['the', 'cat'] -> tensor([[3, 5]]), shape (1, T)."""
    return torch.tensor([[word_id[w] for w in words]])


src = ids("the big cat sat on the mat".split())  # (1, S) = (1, 7)
memory = model.encode(src).detach()  # (1, 7, 32) = (B, S, D)
memory_mask = model.src_mask(src)  # (1, 1, 1, 7)
tgt = ids(["<bos>", "the", "cat", "sat", "on", "the"])  # (1, T) = (1, 6)
print("src", tuple(src.shape), " memory", tuple(memory.shape), " tgt", tuple(tgt.shape))

# %% [markdown]
# **Test 1: change a future token.** Replace "sat" at position 3 by "ran". Logits at
# positions 0, 1, 2 must not move by a single bit. Here "exactly" is a claim about floating
# point, and it holds on every machine: both runs have the same length, so every matrix
# product is computed the same way, and the changed token enters rows 0–2 only multiplied
# by a weight that is exactly 0 (the weight of a −∞ score), which adds exactly nothing.

# %%
tgt_changed = tgt.clone()
tgt_changed[0, 3] = word_id["ran"]
with torch.no_grad():
    logits = model.decode(tgt, memory, memory_mask)  # (1, 6, 14) = (B, T, V)
    logits_changed = model.decode(tgt_changed, memory, memory_mask)
change = (logits_changed - logits).abs().amax(-1)[0]  # (T,): largest change per position
print("max |logit change| per position:", change)
print("positions 0-2 change by exactly 0.0:", bool((change[:3] == 0).all()))
assert (change[:3] == 0).all()

# %% [markdown]
# **Test 2: gradients.** If output i does not depend on input j, then
# $\partial\,\text{output}_i / \partial\,\text{input}_j = 0$. We compute the full Jacobian of
# the decoder stack — outputs `(T, D)` with respect to its input vectors `(T, D)`, i.e.
# `(T, D, T, D)` numbers — and summarise each `(D, D)` block by its norm: a `(T, T)` matrix
# whose entry (i, j) is $\lVert\partial\,\text{output}_i / \partial\,\text{input}_j\rVert$.

# %%
# what model.decode feeds its decoder stack: embedding × √d_model + PE, (1, T, D) -> (T, D)
x_dec = model.pos(model.tgt_embed(tgt) * math.sqrt(d_model)).detach()[0]


def decoder_stack(x: torch.Tensor, self_mask: torch.Tensor | None) -> torch.Tensor:
    """(T, D) input vectors -> (T, D) decoder outputs, for one sentence."""
    return model.decoder(x[None], memory, self_mask, memory_mask)[0][0]


jac = torch.autograd.functional.jacobian(lambda x: decoder_stack(x, attn_lib.causal_mask(6)), x_dec)
grad_norms = jac.pow(2).sum(dim=(1, 3)).sqrt()  # (T, D, T, D) -> (T, T)
print("Jacobian:", tuple(jac.shape), "-> norms", tuple(grad_norms.shape))
print(torch.round(grad_norms, decimals=2))
print("every entry above the diagonal is exactly 0:", bool((grad_norms.triu(1) == 0).all()))

# %%
jac_open = torch.autograd.functional.jacobian(lambda x: decoder_stack(x, None), x_dec)  # no mask
grad_norms_open = jac_open.pow(2).sum(dim=(1, 3)).sqrt()

words = [vocab[i] for i in tgt[0]]
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
vmax = float(max(grad_norms.max(), grad_norms_open.max()))
for ax, g, name in zip(
    axes, (grad_norms, grad_norms_open), ("with the causal mask", "without a mask"), strict=True
):
    plot_masked_matrix(
        g,
        g == 0,
        words,
        words,
        title=name,
        ax=ax,
        hidden_text="0",
        cbar_label="gradient norm",
        cmap="magma",
        vmin=0.0,
        vmax=vmax,
    )
    ax.set_xlabel("input position j")
    ax.set_ylabel("output position i")
fig.suptitle("‖∂ output i / ∂ input j‖: with the causal mask every j > i is exactly 0 (grey)")
fig.tight_layout()
plt.show()

# %% [markdown]
# With the mask the upper triangle is exactly 0: during training, the loss at position i
# cannot push the model to use anything after position i. Without the mask, information
# flows in both directions.
#
# Why is the diagonal so bright? Every sub-layer computes LayerNorm(x + sublayer(x)): the
# residual path hands input i straight to output i, and the cross-attention and
# feed-forward sub-layers work on each position separately. Attention is the only path
# *between* positions. To see how much of the diagonal the residual path makes, we run the
# same two layers by hand with the self-attention sub-layers switched off
# (x₁ = LayerNorm₁(x + 0 · SelfAttn(x))): only the position-wise paths remain.


# %%
def decoder_stack_by_hand(x: torch.Tensor, self_attention_on: bool) -> torch.Tensor:
    """(T, D) -> (T, D): model.decoder written out; self_attention_on=False drops SelfAttn(x)."""
    x = x[None]  # (1, T, D)
    for layer in model.decoder.layers:
        a, _ = layer.self_attn(x, x, x, mask=attn_lib.causal_mask(x.shape[1]))
        x = layer.norm1(x + (a if self_attention_on else 0.0 * a))  # masked self-attention (or not)
        a, _ = layer.cross_attn(x, memory, memory, mask=memory_mask)
        x = layer.norm2(x + a)  # cross-attention: position-wise on the decoder side
        x = layer.norm3(x + layer.ff(x))  # feed-forward: position-wise
    return x[0]


torch.testing.assert_close(decoder_stack_by_hand(x_dec, True), decoder_stack(x_dec, attn_lib.causal_mask(6)))
jac_residual = torch.autograd.functional.jacobian(lambda x: decoder_stack_by_hand(x, False), x_dec)
grad_norms_residual = jac_residual.pow(2).sum(dim=(1, 3)).sqrt()  # (T, T)
print("by hand == model.decoder: True")
print("diagonal ‖∂ output i / ∂ input i‖, full decoder:      ", [round(g, 1) for g in grad_norms.diagonal().tolist()])
print("diagonal ‖∂ output i / ∂ input i‖, self-attention off:", [round(g, 1) for g in grad_norms_residual.diagonal().tolist()])
print("largest off-diagonal entry, full decoder:", round(grad_norms.tril(-1).max().item(), 1),
      "| self-attention off:", grad_norms_residual.tril(-1).max().item() + 0.0)

# %% [markdown]
# Without self-attention the diagonal keeps about the same size (between 5 and 7 against
# between 4 and 7 with it), while every entry off the diagonal drops to exactly 0: the
# diagonal is mostly the residual path; the entries below it are what attention adds.
#
# ## 6. Same prefix, same logits: teacher forcing and step-by-step generation
#
# Generation: start from `<bos>`, run the decoder on the prefix, take the most likely next
# word, append it, repeat — each step a new forward pass on a longer prefix.
# `attn_lib.greedy_decode` does exactly this; we write the loop out to keep every step's
# logits. (The model is untrained, so the words are nonsense; that does not matter here.)

# %%
steps = 6
ys = torch.tensor([[BOS]])  # (1, 1)
step_logits = []
with torch.no_grad():
    for _ in range(steps):
        last = model.decode(ys, memory, memory_mask)[:, -1]  # (1, V): prediction for the next position
        step_logits.append(last)
        ys = torch.cat([ys, last.argmax(-1, keepdim=True)], dim=1)  # output i becomes input i+1
print("generated:", " ".join(vocab[i] for i in ys[0]))
assert torch.equal(ys, attn_lib.greedy_decode(model, src, max_len=steps, bos_id=BOS, eos_id=EOS))
print("same tokens as attn_lib.greedy_decode: True")

# %% [markdown]
# Now feed the whole generated sequence (without its last token) **once**, with the causal
# mask, and read all 6 predictions from that one pass.

# %%
with torch.no_grad():
    forced = model.decode(ys[:, :-1], memory, memory_mask)  # (1, 6, V): all positions at once
stepwise = torch.stack(step_logits, dim=1)  # (1, 6, V)
torch.testing.assert_close(forced, stepwise)
print("one pass", tuple(forced.shape), "== six step-by-step passes", tuple(stepwise.shape))
print("max |difference| < 1e-5:", (forced - stepwise).abs().max().item() < 1e-5, "(float rounding only)")

# %% [markdown]
# What this shows is **same prefix ⇒ same logits**: with the causal mask, the logits at
# position i depend only on the tokens 0..i, so one masked pass over a sequence gives what
# i + 1 separate passes over its prefixes give. This is why the causal mask makes training
# efficient: one forward pass yields the prediction of every position.
#
# It does **not** show that training sees what generation sees. In training, *teacher
# forcing* feeds the **gold** target ("`<bos>` the cat sat on the"), not the model's own
# words. Wherever the model's word differs from the gold one, the prefixes differ, and so
# do all later logits. Compared on our untrained model:

# %%
with torch.no_grad():
    gold_forced = model.decode(tgt, memory, memory_mask)  # (1, 6, V): teacher forcing on the gold target
own, gold = ys[0, :-1], tgt[0]  # (6,) each: the model's own inputs and the gold inputs
first_diff = int((own != gold).nonzero()[0, 0])  # the first position where the inputs differ
gap = (gold_forced - stepwise).abs().amax(-1)[0]  # (T,): largest logit difference per position
print("own inputs: ", " ".join(vocab[i] for i in own))
print("gold inputs:", " ".join(vocab[i] for i in gold), "| first difference at position", first_diff)
print(f"positions 0..{first_diff - 1} (same prefix): max |logit difference| < 1e-5:",
      bool((gap[:first_diff] < 1e-5).all()))
print(f"positions {first_diff}..5 (other prefix): max |logit difference| per position:",
      [round(g, 1) for g in gap[first_diff:].tolist()])
assert (gap[first_diff:] > 0.1).all()

# %% [markdown]
# The model is trained on prefixes made of gold words and then, at generation time, has to
# continue prefixes made of its own words, mistakes included, which it never saw in
# training. This mismatch is called **exposure bias**: one early mistake can put the model
# on prefixes unlike anything it was trained on. (Remedies such as scheduled sampling feed
# the model some of its own predictions during training; they are beyond this course.)
#
# A last check on the same loop: `greedy_decode(..., use_cache=True)` speeds generation up
# by keeping the keys and values of the past positions, `KVCache`, instead of recomputing
# the prefix (measured in lesson 08); same tokens.

# %%
assert torch.equal(
    ys, attn_lib.greedy_decode(model, src, max_len=steps, bos_id=BOS, eos_id=EOS, use_cache=True)
)
print("with a KV cache: same tokens")

# %% [markdown]
# ## 7. Causal and padding masks together
#
# Target sentences in a batch have different lengths too, so the decoder needs both rules:
# a query may attend to key j only if j ≤ i **and** j is not padding. `combine_masks` ANDs
# masks with broadcasting: `(T, T)` & `(B, 1, 1, T)` → `(B, 1, T, T)`.

# %%
tgt_batch = torch.cat(
    [ids(["<bos>", "the", "cat", "sat", "on"]), ids(["<bos>", "a", "dog", "<pad>", "<pad>"])]
)  # (2, 5)
causal5 = attn_lib.causal_mask(5)  # (5, 5)
pad5 = attn_lib.padding_mask(tgt_batch, PAD)  # (2, 1, 1, 5)
combined = attn_lib.combine_masks(causal5, pad5)  # (2, 1, 5, 5)
print("causal", tuple(causal5.shape), "& padding", tuple(pad5.shape), "->", tuple(combined.shape))
assert torch.equal(combined, model.tgt_mask(tgt_batch))  # what the Transformer builds itself
print("== model.tgt_mask(tgt_batch): True")

# %%
labels = [vocab[i] for i in tgt_batch[1]]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
panels = [
    (causal5, "causal (T, T)"),
    (pad5[1, 0].expand(5, 5), "padding (1, 1, T) broadcast"),
    (combined[1, 0], "combined: causal AND padding"),
]
for ax, (m, name) in zip(axes, panels, strict=True):
    plot_mask(m, labels, labels, title=name, ax=ax, colorbar=ax is axes[-1])
fig.suptitle('"<bos> a dog <pad> <pad>": a query sees only earlier, real tokens')
fig.tight_layout()
plt.show()

# %% [markdown]
# The `<pad>` *queries* (rows 3, 4) still see the real tokens before them, so no row is
# empty; their outputs are thrown away by the loss. Were a row fully blocked,
# `attn_lib.scaled_dot_product_attention` would return zeros for it, not NaN, whereas a plain
# softmax over a row of −∞ divides 0 by 0. Checked on the scores of section 3, with row 1
# blocked completely (PyTorch's fused function, in this version, also returns zeros):

# %%
blocked_row = causal.clone()
blocked_row[1] = False  # query 1 may attend to nothing
out_blocked, w_blocked = attn_lib.scaled_dot_product_attention(q, k, v, mask=blocked_row)
print("plain softmax, row 1:        ", torch.softmax(scores.masked_fill(~blocked_row, float("-inf")), dim=-1)[1])
print("attn_lib weights, row 1:     ", w_blocked[1])
print("attn_lib output, row 1:      ", out_blocked[1])
fused_blocked = F.scaled_dot_product_attention(q[None], k[None], v[None], attn_mask=blocked_row)[0]
print("F.scaled_dot_product_attention output, row 1:", fused_blocked[1])

# %% [markdown]
#
# ## 8. `torch.nn.MultiheadAttention` reads bool masks the other way round
#
# In this course, and in `F.scaled_dot_product_attention`, a bool mask says **True = may
# attend**. `torch.nn.MultiheadAttention` (its `attn_mask` and `key_padding_mask`) and
# `torch.nn.Transformer` read a bool mask as **True = blocked**. Pass one to the other and
# nothing complains. We copy a PyTorch layer's weights into ours so that both compute the
# same function:

# %%
torch.manual_seed(1)
torch_mha = nn.MultiheadAttention(d_model, num_heads, batch_first=True).eval()
ours = attn_lib.MultiHeadAttention.from_torch(torch_mha).eval()
x5 = torch.randn(1, 5, d_model)  # (B, T, D)
with torch.no_grad():
    out_bug, w_bug = torch_mha(x5, x5, x5, attn_mask=causal5, average_attn_weights=False)  # the silent bug
print("torch MHA given attn_lib's causal mask, head 0 weights:\n", w_bug[0, 0])

# %% [markdown]
# Every query now attends **only to later positions** — the exact opposite of causal — and the
# last query, for which no later position exists, gets NaN (the only visible symptom). The
# future leaks into every other row: changing the last token changes output 0.

# %%
x5_changed = x5.clone()
x5_changed[0, 4] = torch.randn(d_model)
with torch.no_grad():
    out_bug_changed, _ = torch_mha(x5_changed, x5_changed, x5_changed, attn_mask=causal5)
    out_ours, w_ours = ours(x5, x5, x5, mask=causal5)
    out_ours_changed, _ = ours(x5_changed, x5_changed, x5_changed, mask=causal5)
print("change of output 0 with the bug   :", round((out_bug_changed - out_bug)[0, 0].abs().max().item(), 4))
print("change of output 0 with attn_lib  :", (out_ours_changed - out_ours)[0, 0].abs().max().item() + 0.0)

# %% [markdown]
# The fix is one conversion, in one place: `attn_lib.to_torch_mha_mask` flips the meaning.
# Then PyTorch's layer and ours agree to float rounding. The alternative is a **float bias**
# (`attn_lib.to_additive_mask`: 0 where allowed, −∞ where blocked): it is *added* to the
# scores, so it means the same thing in every library.

# %%
with torch.no_grad():
    out_fix, w_fix = torch_mha(
        x5, x5, x5, attn_mask=attn_lib.to_torch_mha_mask(causal5), average_attn_weights=False
    )
    bias = attn_lib.to_additive_mask(causal5)  # (5, 5) float: 0 / -inf
    out_bias, _ = torch_mha(x5, x5, x5, attn_mask=bias)
torch.testing.assert_close(out_fix, out_ours)
torch.testing.assert_close(w_fix, w_ours)
torch.testing.assert_close(out_bias, out_ours)
print("bias:\n", bias)
print("torch MHA with to_torch_mha_mask(mask) == torch MHA with to_additive_mask(mask) == attn_lib: True")

# %% [markdown]
# The same holds for padding: `key_padding_mask` wants `(B, T_k)` with True = blocked.

# %%
tokens5 = torch.tensor([[3, 5, 7, PAD, PAD]])  # (1, 5): "the cat sat <pad> <pad>"
pad_ours = attn_lib.padding_mask(tokens5, PAD)  # (1, 1, 1, 5), True = may attend
with torch.no_grad():
    out_pad_torch, _ = torch_mha(x5, x5, x5, key_padding_mask=attn_lib.to_torch_mha_mask(pad_ours[:, 0, 0]))
    out_pad_ours, _ = ours(x5, x5, x5, mask=pad_ours)
torch.testing.assert_close(out_pad_torch, out_pad_ours)
print("key_padding_mask=to_torch_mha_mask(padding_mask[:, 0, 0]) == attn_lib with padding_mask: True")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
plot_masked_matrix(
    w_bug[0, 0],
    w_bug[0, 0].isnan(),
    hidden_text="NaN",
    title="bug: causal_mask passed as is",
    ax=axes[0],
    cbar_label="weight",
    vmin=0.0,
    vmax=1.0,
)
plot_masked_matrix(
    w_fix[0, 0],
    torch.zeros(5, 5, dtype=torch.bool),
    title="fix: to_torch_mha_mask(causal_mask)",
    ax=axes[1],
    cbar_label="weight",
    vmin=0.0,
    vmax=1.0,
)
fig.suptitle(
    "torch.nn.MultiheadAttention reads True as 'blocked': unconverted, it attends only to the future"
)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 9. Explore: watch generation step by step
#
# Move the slider through the steps of generation. At step t the decoder has the inputs
# `0..t` — `<bos>` and the words it has produced so far — and predicts the word t+1. The map
# shows the decoder self-attention of one layer and head **computed from that prefix alone**
# (the widget really runs the model on `tgt[:, :t+1]`): the rows that exist so far are
# coloured, their future cells are grey (masked, weight exactly 0), and the rows and columns
# of words not generated yet are hatched. Watch the rows: once a row has appeared it never
# changes (up to rounding) — the causal mask is what makes one pass over a sequence equal to
# step-by-step generation on it (section 6). Switch
# the mask off to see what it prevents: every new token becomes a key that the earlier rows
# can read, so they change at every step.
#
# The model is untrained (seeded), so the weights themselves mean nothing yet; trained
# decoder self-attention maps come in lesson 07 (section 5). What the picture shows is the
# rule: which cells can be non-zero, when.

# %%
generated_input = ys[:, :-1]  # (1, 6): <bos> and the first 5 generated words, the decoder's inputs
weights_t, next_id = generation_prefix_attention(model, src, generated_input, t=2, layer=0, head=0)
print("step 2, rows 0..2 (later rows and columns are NaN: not generated yet):\n", weights_t[:3])
print("predicted next word:", vocab[next_id], "| generated word at position 3:", vocab[int(ys[0, 3])])

fig = generation_step_view(model, src, generated_input, t=2, vocab=vocab, layer=0, head=0)
plt.show()

# %% [markdown]
# The claim, measured over all steps: how much does any earlier row change when step t adds
# a token, with and without the causal mask? Unlike test 1 of section 5, the two runs now
# have different lengths (t and t + 1 tokens), and a matrix product over a longer sequence
# may group its sums differently: with the mask the earlier rows are equal **up to
# rounding**, not bit for bit (on some CPUs they happen to be bit-identical, on others they
# differ in the last bit). So we show a bound, and the contrast without the mask beside it:

# %%
largest_change = {}
for causal_on in (True, False):
    maps_t = [generation_prefix_attention(model, src, generated_input, t, causal=causal_on)[0] for t in range(6)]
    change_t = [(maps_t[t][:t, :t] - maps_t[t - 1][:t, :t]).abs().max().item() for t in range(1, 6)]
    largest_change[causal_on] = max(change_t)
    if causal_on:
        print("causal mask on : largest change of an earlier row at steps 1..5 < 1e-6:", max(change_t) < 1e-6)
    else:
        print("causal mask off: largest change of an earlier row at steps 1..5:", [round(c, 2) for c in change_t])
assert largest_change[True] < 1e-6 < 0.1 < largest_change[False]

# %% tags=["nbval-ignore-output"]
step_w = widgets.IntSlider(
    value=0, min=0, max=generated_input.shape[1] - 1, description="step t", continuous_update=False
)
layer_w = widgets.ToggleButtons(options=[("layer 0", 0), ("layer 1", 1)], description="layer")
head_w = widgets.Dropdown(options=[(f"head {h}", h) for h in range(num_heads)], description="head")
causal_w = widgets.ToggleButtons(options=[("on", True), ("off", False)], description="causal mask")


def show(t, layer, head, causal):
    generation_step_view(model, src, generated_input, t=t, vocab=vocab, layer=layer, head=head, causal=causal)
    plt.show()


view = widgets.interactive_output(show, {"t": step_w, "layer": layer_w, "head": head_w, "causal": causal_w})
display(widgets.VBox([step_w, widgets.HBox([layer_w, head_w]), causal_w, view]))

# %% [markdown]
# ## Exercises
#
# Now write it yourself. Fill in the body of each `my_...` function and run the cell below it: the
# check calls your function on several inputs and compares with `attn_lib`. Yellow = not
# attempted yet, red = something differs (a common mistake is named, with a hint), green = right.
#
# ### Exercise 1 · the causal mask
#
# Return the `(T, T)` bool mask with **True = may attend**: query `i` may attend to key `j` exactly
# when `j <= i` (itself and the past).
#
# Stuck? `show_solution("causal_mask")` (after `from attn_lib.exercises import show_solution`).


# %%
def my_causal_mask(T):
    """-> bool (T, T), True on and below the diagonal."""
    ...  # your code here


# %%
from attn_lib.exercises import check_causal_mask

check_causal_mask(my_causal_mask)

# %% [markdown]
# ### Exercise 2 · masked attention weights
#
# From `scores` `(..., T_q, T_k)` and a bool `mask` broadcastable to it (True = may attend), return
# the attention weights, shape like `scores`: blocked scores become −∞ *before* the softmax over the
# keys. A query whose keys are all blocked gets zeros, not NaN. Do not change `scores` itself.
#
# Stuck? `show_solution("masked_attention_weights")`.


# %%
def my_masked_attention_weights(scores, mask):
    """scores (..., T_q, T_k), mask bool broadcastable to it -> weights (..., T_q, T_k)."""
    ...  # your code here


# %%
from attn_lib.exercises import check_masked_attention_weights

check_masked_attention_weights(my_masked_attention_weights)

# %% [markdown]
# ## Summary
#
# - Generation is auto-regressive: output i is fed back as input i+1. Training feeds the
#   whole shifted target at once (teacher forcing), so position i must be kept from reading
#   the inputs after i — in particular input i+1, its own answer.
# - The **causal mask** (`causal_mask(T)`, True on and below the diagonal) does it: the
#   **scores** of blocked cells are set to −∞ *before* the softmax, their weights are exactly
#   0 and every row still sums to 1.
# - Zeroing weights *after* the softmax is wrong: rows no longer sum to 1 and the future
#   still leaks through the softmax denominator. Renormalising afterwards is an exact
#   identity in mathematics (the denominator cancels) and equal up to rounding in floating
#   point, until a future score exceeds every allowed score of its row by enough that the
#   past weights underflow to 0: a gap of about 104 in float32, only 17.5 in float16. Then
#   the row is NaN.
# - **No leak, proven**: changing a future token (same length) changes earlier logits by
#   exactly 0, and $\partial\,\text{output}_i/\partial\,\text{input}_j = 0$ exactly for j > i.
#   The bright diagonal of that Jacobian is mostly the residual path. Recomputed from a longer
#   prefix, an earlier row is equal up to rounding (below 1e-6; 0.59 without the mask).
# - **Same prefix ⇒ same logits**: one masked pass over a sequence gives the logits of T
#   step-by-step passes over its prefixes (up to rounding). Teacher forcing feeds *gold*
#   prefixes, generation the model's own: where they differ, so do the logits (*exposure
#   bias*).
# - Padding and causality combine with `combine_masks` into `(B, 1, T, T)`.
# - `torch.nn.MultiheadAttention` reads bool masks as True = **blocked**: convert with
#   `to_torch_mha_mask`, or use a float bias from `to_additive_mask`.
#
# ## Check yourself
#
# 1. During training, why is the decoder input the target shifted one step to the right,
#    and what would an unmasked decoder learn from it?
# 2. In a causal `(5, 5)` attention map, how many weights are exactly 0, and which?
# 3. A colleague masks by `weights = softmax(scores) * mask`. Name two things wrong with the
#    result, even though the future weights are 0.
# 4. You pass `attn_lib.causal_mask(T)` as `attn_mask` to `torch.nn.MultiheadAttention`.
#    What does each query attend to, and what happens to the last one?
# 5. Why may we compute the loss on all positions of a target in one forward pass, although
#    the model generates one token at a time?
#
# <details><summary>Answers</summary>
#
# 1. Position i must predict word i+1 from the words before it; the shift puts the known
#    words up to i at positions ≤ i. Unmasked, position i could read input i+1 — the answer —
#    and learn to copy it, which is impossible at generation time.
# 2. 10 = 5·4/2: every cell above the diagonal (key j > query i).
# 3. Rows sum to less than 1 (the outputs shrink), and the row sums depend on the future
#    scores through the softmax denominator, so the future still leaks.
# 4. Only to the strictly later positions (the mask means "blocked" there); the last query
#    may attend to nothing and its output is NaN. Convert with `to_torch_mha_mask`.
# 5. With the causal mask, the output at position i depends only on inputs 0..i, so one pass
#    gives every position the logits it would get from its prefix alone (section 6 checked
#    it). In training the prefix is the gold one; at generation time it is the model's own,
#    which differs after a mistake: that is exposure bias, not a flaw of the mask.
#
# </details>
