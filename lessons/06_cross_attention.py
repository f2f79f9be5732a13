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
# # 06 · Cross-attention: the decoder reads the source
#
# The encoder (lesson 04) turns the source sentence into one vector per source token, the
# *memory*. The decoder (lesson 05) writes the target sentence one token at a time and may
# only look at what it has already written. This lesson is about the bridge between the two:
# **cross-attention**, the only place where information from the source enters the decoder.
#
# **Learning goals.** After this lesson you can
#
# 1. say where cross-attention takes its inputs from: **queries from the decoder** (the output
#    of its masked self-attention sub-layer), **keys and values from the encoder output**, and
#    write down every shape when the target length T differs from the source length S
#    (claim S9 of the seed);
# 2. read a cross-attention map as an **alignment** between target and source words, and
#    see the mechanism at work on a tiny "translation" whose W^K is set by hand to a
#    dictionary;
# 3. explain why rows sum to 1 **over the source** and why cross-attention needs **no causal
#    mask**, while the decoder stays causal all the same;
# 4. apply a **source padding mask** and prove that padded source positions change nothing;
# 5. take apart `attn_lib.DecoderLayer` exactly — masked self-attention → cross-attention →
#    feed-forward, each with a residual connection and LayerNorm — and spot the classic mistake
#    of swapping the two sides;
# 6. check `attn_lib` against `torch.nn.MultiheadAttention` and
#    `torch.nn.TransformerDecoderLayer` with a source padding mask.
#
# The seed puts it in one sentence: *"in encoder-decoder attention the queries come from the
# previous decoder layer, and the keys and values from the encoder output, so every position
# of the decoder can attend to every position of the input sequence."*

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display
from torch import nn

import attn_lib
from attn_lib.i18n import pad
from attn_lib.viz import plot_alignment, plot_dictionary
from attn_lib.widgets import cross_attention_row, plot_cross_attention_row

torch.manual_seed(0)
torch.set_num_threads(1)  # printed sums do not depend on the thread count
torch.set_printoptions(precision=4, sci_mode=False)
print("torch", torch.__version__)

# %% [markdown]
# ## 1. Two sequences, two lengths
#
# In self-attention (lessons 04 and 05) queries, keys and values all came from one sequence,
# so every attention map was square. Cross-attention takes two sequences of different
# lengths:
#
# | tensor | comes from | shape |
# |---|---|---|
# | `x` | the decoder: the output of its masked self-attention sub-layer | `(B, T, D)` |
# | `memory` | the encoder: its final output | `(B, S, D)` |
# | queries Q = x W^Q | the decoder | `(B, H, T, Dh)` |
# | keys K = memory W^K, values V = memory W^V | the encoder | `(B, H, S, Dh)` |
# | scores Q Kᵀ/√Dh, weights | one row per target position, one column per source position | `(B, H, T, S)` |
# | output | one vector per **target** position | `(B, T, D)` |
#
# We pick sizes that are all different, so every printed shape says which letter is which:
# B = 2 sentences, T = 4 target positions, S = 5 source positions, D = 24, H = 3 heads of
# Dh = 8 dimensions.

# %%
B, T, S, D, H = 2, 4, 5, 24, 3
Dh = D // H  # head_dim = 8
x = torch.randn(B, T, D)  # (B, T, D): stand-in for the decoder's masked self-attention output
memory = torch.randn(B, S, D)  # (B, S, D): stand-in for the encoder output
cross_attn = attn_lib.MultiHeadAttention(D, H).eval()
print("x (decoder side)     ", tuple(x.shape), "= (B, T, D)")
print("memory (encoder side)", tuple(memory.shape), "= (B, S, D)")

# %% [markdown]
# Step by step, with the projections of `cross_attn`: the **queries are projected from `x`**,
# the **keys and values from `memory`**. Nothing else changes compared with lesson 03.

# %%
with torch.no_grad():
    q = attn_lib.split_heads(cross_attn.q_proj(x), H)  # (B, T, D) -> (B, H, T, Dh)
    k = attn_lib.split_heads(cross_attn.k_proj(memory), H)  # (B, S, D) -> (B, H, S, Dh)
    v = attn_lib.split_heads(cross_attn.v_proj(memory), H)  # (B, S, D) -> (B, H, S, Dh)
    scores = q @ k.transpose(-2, -1) / math.sqrt(Dh)  # (B, H, T, Dh) @ (B, H, Dh, S) -> (B, H, T, S)
    weights = torch.softmax(scores, dim=-1)  # (B, H, T, S): softmax over the SOURCE axis
    heads = weights @ v  # (B, H, T, S) @ (B, H, S, Dh) -> (B, H, T, Dh)
    out = cross_attn.out_proj(attn_lib.merge_heads(heads))  # (B, H, T, Dh) -> (B, T, D)

for name, t, letters in [
    ("queries", q, "(B, H, T, Dh)"),
    ("keys", k, "(B, H, S, Dh)"),
    ("values", v, "(B, H, S, Dh)"),
    ("scores", scores, "(B, H, T, S)"),
    ("weights", weights, "(B, H, T, S)"),
    ("heads", heads, "(B, H, T, Dh)"),
    ("output", out, "(B, T, D)"),
]:
    print(f"{pad(name, 8)} {tuple(t.shape)!s:<14} = {letters}")

# %% [markdown]
# This is exactly what `attn_lib.MultiHeadAttention` computes when it is called with
# `query = x` and `key = value = memory`:

# %%
with torch.no_grad():
    out_lib, weights_lib = cross_attn(x, memory, memory)  # query from the decoder, key = value = memory
torch.testing.assert_close(out_lib, out)
torch.testing.assert_close(weights_lib, weights)
print("by hand == attn_lib.MultiHeadAttention(x, memory, memory)")
print("output length:", out_lib.shape[1], "= T, the decoder's length (S =", S, "is summed away)")

# %% [markdown]
# Each weight row belongs to one target position and runs over the **source** positions, so
# the rows sum to 1 over the source. The columns do not: a source position may be read by
# many target positions or by none.

# %%
print("row sums, sentence 0, (H, T):\n", weights[0].sum(-1).round(decimals=4))  # sums of 1 print as 1
print("column sums, sentence 0, head 0, (S,):", weights[0, 0].sum(0))

# %% [markdown]
# ## 2. Cross-attention as an alignment: a tiny translation with a known answer
#
# When a model translates, target word i should read the source word(s) it translates. A map
# of cross-attention weights, target positions × source positions, is then an **alignment**.
# To see this without training anything, we build a cross-attention layer **by hand** for a
# German → English toy whose alignment we know in advance:
#
# * *ich habe den Hund gesehen* → *I saw the dog*: the verb "gesehen" stands at the end of the
#   German sentence but "saw" is the second English word, so the alignment is **not** the
#   diagonal; the auxiliary "habe" has no English word of its own, and T = 4 ≠ S = 5.
# * *ich sehe den Hund* → *I see the dog*: one word shorter, so in a batch it gets a
#   `<pad>` at the end (section 4).

# %%
src_vocab = ["<pad>", "ich", "habe", "sehe", "den", "Hund", "gesehen"]
tgt_vocab = ["<pad>", "<bos>", "I", "saw", "see", "the", "dog"]
PAD = 0  # the same id in both vocabularies
translation = {"ich": "I", "gesehen": "saw", "sehe": "see", "den": "the", "Hund": "dog"}  # no "habe"

source_sentences = [["ich", "habe", "den", "Hund", "gesehen"], ["ich", "sehe", "den", "Hund", "<pad>"]]
target_sentences = [["I", "saw", "the", "dog"], ["I", "see", "the", "dog"]]
src = torch.tensor([[src_vocab.index(w) for w in s] for s in source_sentences])  # (B, S) = (2, 5)
tgt = torch.tensor([[tgt_vocab.index(w) for w in t] for t in target_sentences])  # (B, T) = (2, 4)

# the known alignment: for target word i, the source position of its translation
known = [
    [next(j for j, s_word in enumerate(s) if translation.get(s_word) == t_word) for t_word in t]
    for s, t in zip(source_sentences, target_sentences, strict=True)
]
print("src", tuple(src.shape), src.tolist())
print("tgt", tuple(tgt.shape), tgt.tolist())
print("known alignment (target i -> source position):", known)

# %% [markdown]
# The hand-made layer has one head and d_model = 8. Every word is a one-hot vector of its id
# (`F.one_hot`), and the source vectors stand in for the encoder output. The four projections:
#
# * **W^Q** = c · identity: the query of target word t is (c times) the one-hot of t, its "meaning";
# * **W^K** = a **dictionary**: it maps source word s to the one-hot of the English word it
#   translates (and "habe" and `<pad>` to the zero vector);
# * **W^V** = **W^O** = identity: the output of target i is the weighted mix of the one-hots of
#   the source words it reads, so we can see *what* it read.
#
# A translation pair then scores q·k/√d_k = c/√8, every other pair 0. We pick c = 4√8, so
# that a translation scores 4 and gets e⁴/(e⁴ + 4) ≈ 0.93 of the weight in a 5-word source.

# %%
D_toy = 8
dictionary = torch.zeros(D_toy, D_toy)  # (meaning = English word id, source word id)
for s_word, t_word in translation.items():
    dictionary[tgt_vocab.index(t_word), src_vocab.index(s_word)] = 1.0
sharpness = 4.0 * math.sqrt(D_toy)  # a translation scores q·k/√d_k = 4, everything else 0

toy = attn_lib.MultiHeadAttention(D_toy, num_heads=1, bias=False).eval()
with torch.no_grad():  # nn.Linear computes x Wᵀ, so weight[out, in]
    toy.q_proj.weight.copy_(sharpness * torch.eye(D_toy))  # query = the target word's meaning
    toy.k_proj.weight.copy_(dictionary)  # key = the meaning of the source word
    toy.v_proj.weight.copy_(torch.eye(D_toy))  # value = the source word itself
    toy.out_proj.weight.copy_(torch.eye(D_toy))

tgt_features = F.one_hot(tgt, D_toy).float()  # (B, T, D) = (2, 4, 8): the decoder side
src_memory = F.one_hot(src, D_toy).float()  # (B, S, D) = (2, 5, 8): the encoder side
with torch.no_grad():
    read, align = toy(tgt_features, src_memory, src_memory)  # (B, T, D), (B, 1, T, S)
print("weights", tuple(align.shape), "= (B, H, T, S); sentence 0:\n", align[0, 0])

# %% [markdown]
# We built the dictionary into W^K, so every row's largest weight should sit on the known
# translation: this checks the mechanism (scores → softmax → weights), it discovers
# nothing. It does:

# %%
found = align[0, 0].argmax(-1)  # (T,): the most-read source position per target word
for i, t_word in enumerate(target_sentences[0]):
    j = int(found[i])
    print(
        f"{t_word:>4} reads {source_sentences[0][j]:<8} (position {j}, weight {float(align[0, 0, i, j]):.4f})"
    )
assert found.tolist() == known[0], "the weights do not recover the alignment"
print("argmax per row == known alignment:", found.tolist() == known[0])

# %% [markdown]
# The output of a target position is what it *took* from the source: a mix of the value
# vectors, here the one-hot source words, with the weights of its row. The output of "saw"
# is 93 % "gesehen". And the column of "habe" sums to far less than 1: no target word needs
# it, so it is barely read (the exact total is printed):

# %%
print("output of 'saw' over the source vocabulary:")
print({w: round(float(read[0, 1, i]), 4) for i, w in enumerate(src_vocab)})
column_sums = align[0, 0].sum(0)  # (T, S) -> (S,)
print("column sums, sentence 0 (S,):", column_sums)
print(f"'habe' (column 1) is barely read: {column_sums[1]:.2f} in total")

# %% [markdown]
# A column can also sum to **more** than 1: nothing normalises columns. Three target words
# that all mean "dog" all read "Hund":

# %%
dogs = torch.tensor([[tgt_vocab.index(w) for w in ["dog", "dog", "the", "dog"]]])  # (1, T) = (1, 4)
with torch.no_grad():
    _, align_dogs = toy(F.one_hot(dogs, D_toy).float(), src_memory[:1], src_memory[:1])  # (1, 1, T, S)
print("column sums for 'dog dog the dog' (S,):", align_dogs[0, 0].sum(0))
print(f"'Hund' (column 3) is read {align_dogs[0, 0, :, 3].sum():.2f} times in total")
assert align_dogs[0, 0, :, 3].sum() > 1

# %% [markdown]
# The left panel is the dictionary W^K, the right one the weights it produces; dashed frames
# mark the known alignment. The "gesehen" → "saw" cell lies far off the diagonal.

# %%
fig, (ax_dict, ax_map) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1, 1.15]})
rows, cols = list(range(2, 7)), list(range(7))  # English words I..dog, all source words
plot_dictionary(
    dictionary[rows][:, cols],
    [tgt_vocab[i] for i in rows],
    [src_vocab[j] for j in cols],
    title="W^K, the hand-set dictionary (white = 0)",
    ax=ax_dict,
)
plot_alignment(
    align[0, 0],
    source_sentences[0],
    target_sentences[0],
    known[0],
    title="weights softmax(QKᵀ/√d_k)\n(dashed frames: the known alignment)",
    ax=ax_map,
)
fig.suptitle("A dictionary set into W^K makes each target word's query match its translation's key")
fig.tight_layout()
plt.show()

# %% [markdown]
# Nothing in these scores depends on *where* a word stands: the toy has **no positional
# encoding**, its vectors are the words alone. That is why "saw" reaches the far-away
# "gesehen" as easily as a neighbour, and why shuffling the source only shuffles the
# columns of the map:

# %%
perm = torch.tensor([4, 2, 0, 3, 1])  # a new order of the 5 source words
with torch.no_grad():
    _, align_shuffled = toy(tgt_features[:1], src_memory[:1, perm], src_memory[:1, perm])  # (1, 1, T, S)
torch.testing.assert_close(align_shuffled[0, 0], align[0, 0][:, perm])
print("shuffled source:", [source_sentences[0][j] for j in perm.tolist()])
print("weights of the shuffled source == the old weights with their columns shuffled: True")

# %% [markdown]
# So "no preference for nearby positions" is a property of this toy, not of attention. In a
# real Transformer the positional encoding is added to every token vector (lesson 04), the
# queries and keys carry position, and a trained model can learn to prefer positions: lesson
# 07's model reads source position L − 1 − i for output i, by position alone.
#
# In a trained Transformer nobody sets W^Q and W^K by hand: they are learned, and in a real
# decoder the query at position i is computed from the words *before* it and asks for what to
# write next. Lesson 07 trains a model and finds a clean alignment in its cross-attention.

# %% [markdown]
# ## 3. No causal mask in cross-attention
#
# The decoder's self-attention needs the causal mask (lesson 05): target position i must not
# read the target words after i, because at generation time they do not exist yet.
# Cross-attention reads the **source**, and the source is **fully known** before the first
# target word is generated: the encoder has read all of it. So every target position may
# look at **every** source position — that is the seed's "every position of the decoder can
# attend to every position of the input sequence".
#
# A causal mask here would be a bug, not a precaution. `causal_mask(T, S)` would keep target
# i from the source words after i + 1: with S > T, `attn_lib` aligns the diagonal
# **bottom-right** (the last query sees every key; why, in a moment). Either way "saw" could
# no longer reach "gesehen":

# %%
wrong_mask = attn_lib.causal_mask(T, S)  # (T, S) = (4, 5): a mistake in cross-attention
with torch.no_grad():
    _, align_causal = toy(tgt_features, src_memory, src_memory, mask=wrong_mask)
print("attn_lib.causal_mask(T, S), bottom-right:\n", wrong_mask.int())
print("argmax with a causal mask:", align_causal[0, 0].argmax(-1).tolist(), "| known:", known[0])

# %% [markdown]
# Beware when comparing with PyTorch: `F.scaled_dot_product_attention(..., is_causal=True)`
# aligns the diagonal **top-left** instead (query i sees keys j ≤ i, whatever S is), so for
# T ≠ S the two "causal" masks differ:

# %%
top_left = torch.ones(T, S, dtype=torch.bool).tril()  # (T, S): query i sees keys j <= i
gen = torch.Generator().manual_seed(0)
q_demo, k_demo = torch.randn(1, T, D_toy, generator=gen), torch.randn(1, S, D_toy, generator=gen)
torch.testing.assert_close(
    F.scaled_dot_product_attention(q_demo, k_demo, k_demo, is_causal=True),
    F.scaled_dot_product_attention(q_demo, k_demo, k_demo, attn_mask=top_left),
)
print("is_causal=True == attn_mask=top_left:\n", top_left.int())
print("the same as attn_lib.causal_mask(T, S):", torch.equal(top_left, wrong_mask))

# %% [markdown]
# Why does `attn_lib` align bottom-right? Because of the one place where a causal mask with
# T_q < T_k is right: decoder **self**-attention behind a **KV cache**. There the queries are
# only the newest positions, while the keys are all positions so far; the last query is the
# last position and may see every key. `causal_mask(T_new, T_all)` is then exactly the last
# T_new rows of the full `causal_mask(T_all)`, and attention over the new queries alone gives
# the last rows of full causal attention. (This is the mask `attn_lib.Transformer` gives the
# new tokens when it decodes with a cache, `greedy_decode(..., use_cache=True)`; lesson 08
# measures what the cache saves.)

# %%
T_new, T_all = 2, 5  # 2 new queries behind a cache of 3 earlier positions: 5 keys
x_all = torch.randn(1, T_all, D_toy, generator=gen)  # (1, T_all, D): one sequence, self-attention
full_out, _ = attn_lib.scaled_dot_product_attention(x_all, x_all, x_all, mask=attn_lib.causal_mask(T_all))
new_out, _ = attn_lib.scaled_dot_product_attention(
    x_all[:, -T_new:], x_all, x_all, mask=attn_lib.causal_mask(T_new, T_all)
)  # queries: the 2 newest positions only, (1, 2, D)
torch.testing.assert_close(new_out, full_out[:, -T_new:])
print("causal_mask(2, 5):\n", attn_lib.causal_mask(T_new, T_all).int())
print("== the last 2 rows of causal_mask(5):", torch.equal(attn_lib.causal_mask(T_new, T_all), attn_lib.causal_mask(T_all)[-T_new:]))
print("attention of the 2 newest queries == the last 2 rows of full causal attention (up to rounding)")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
plot_alignment(
    align[0, 0], source_sentences[0], target_sentences[0], known[0], "no mask (correct)", axes[0], False
)
plot_alignment(
    align_causal[0, 0],
    source_sentences[0],
    target_sentences[0],
    known[0],
    "causal_mask(T, S) (wrong)",
    axes[1],
    mask=wrong_mask,
)
axes[1].set_ylabel("")
fig.suptitle('A causal mask in cross-attention hides "gesehen" from "saw": the alignment breaks')
fig.tight_layout()
plt.show()

# %% [markdown]
# Is the decoder still causal without a mask here? Yes: the query of target position i is
# computed from target positions ≤ i only (its masked self-attention), and keys and values
# come from the source only. No path leads from a later target word into position i.
# Section 5 checks this on a full decoder layer.
#
# ## 4. Source padding masks
#
# Sentence 1 (we count from 0, as the code does) has only 4 source words, padded to S = 5.
# The encoder output at a padded position is **not** zero: it is whatever the encoder
# computed there (lesson 04), and it can resemble a real word. To make the point, we give the padded position a vector that
# happens to look exactly like "Hund":

# %%
memory_padded = src_memory.clone()
memory_padded[1, 4] = F.one_hot(torch.tensor(src_vocab.index("Hund")), D_toy).float()  # garbage at the pad
with torch.no_grad():
    _, align_nomask = toy(tgt_features, memory_padded, memory_padded)  # (B, 1, T, S)
print('sentence 1 without a padding mask, row "dog":', align_nomask[1, 0, 3])

# %% [markdown]
# Without a mask, "dog" gives half of its attention to the padding. The fix is the padding
# mask of lesson 04, built from the **source** tokens: `padding_mask(src, PAD)` has shape
# `(B, 1, 1, S)`, True at real tokens. It broadcasts over the H heads and the T target
# positions to the scores' `(B, H, T, S)`: no target position of any head may read a padded
# source position.

# %%
src_mask = attn_lib.padding_mask(src, PAD)  # (B, 1, 1, S) = (2, 1, 1, 5)
print("src_mask", tuple(src_mask.shape), "= (B, 1, 1, S):", src_mask[:, 0, 0].tolist())
print(
    "broadcast to the scores:",
    tuple(torch.broadcast_shapes(src_mask.shape, (B, 1, T, S))),
    "= (B, H, T, S), with the toy's H = 1",
)
with torch.no_grad():
    read_masked, align_masked = toy(tgt_features, memory_padded, memory_padded, mask=src_mask)
print("weights on the padded column:", align_masked[1, 0, :, 4])
print("exactly 0:", bool((align_masked[1, 0, :, 4] == 0).all()))
print("row sums, sentence 1:", align_masked[1, 0].sum(-1).round(decimals=4))

# %% [markdown]
# With the mask, sentence 1 gets exactly what it would get **without any padding**, computed
# on its 4 real source words alone:

# %%
with torch.no_grad():
    read_alone, align_alone = toy(tgt_features[1:], src_memory[1:, :4], src_memory[1:, :4])  # S = 4, no pad
torch.testing.assert_close(align_masked[1:, :, :, :4], align_alone)
torch.testing.assert_close(read_masked[1:], read_alone)
print("masked, padded sentence == the same sentence without padding")

# %% [markdown]
# And whatever the encoder leaves at the padded position, the outputs do not move, not even
# in the last bit:

# %%
changes = []
for scale in (1.0, 10.0, 1000.0):
    garbage = memory_padded.clone()
    garbage[1, 4] = scale * torch.randn(D_toy)  # any vector at the pad
    with torch.no_grad():
        with_mask, _ = toy(tgt_features, garbage, garbage, mask=src_mask)
        without_mask, _ = toy(tgt_features, garbage, garbage)
    changes.append(
        (scale, (with_mask - read_masked).abs().max().item(), (without_mask - read).abs().max().item())
    )
for scale, masked_change, unmasked_change in changes:
    print(
        f"pad vector ~ {scale:>6} * N(0,1): max output change with mask {masked_change}, without {unmasked_change:.4f}"
    )
assert all(masked_change == 0.0 for _, masked_change, _ in changes)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
args = (source_sentences[1], target_sentences[1], known[1])
plot_alignment(align_nomask[1, 0], *args, title="no padding mask", ax=axes[0], colorbar=False)
plot_alignment(align_masked[1, 0], *args, title="padding_mask(src, PAD)", ax=axes[1], mask=src_mask[1, 0])
axes[1].set_ylabel("")
fig.suptitle('Without a source padding mask "dog" reads the padding; with it the <pad> column is exactly 0')
fig.tight_layout()
plt.show()

# %% [markdown]
# What about padding on the **target** side? A padded target position still sends a query and
# gets an output, but nothing uses it: the loss skips padded targets (lesson 07). So
# cross-attention needs only the source padding mask.
#
# ## 5. The full decoder layer, exactly
#
# The seed names the three attentions but leaves out what holds a layer together. Exactly,
# `attn_lib.DecoderLayer` (post-norm, as in the paper) computes, for decoder input y
# `(B, T, D)` and encoder memory `(B, S, D)`:
#
# 1. **masked self-attention**: x₁ = LayerNorm₁(y + SelfAttn(y, y, y, causal ∧ target padding))
# 2. **cross-attention**: x₂ = LayerNorm₂(x₁ + CrossAttn(x₁, memory, memory, source padding))
# 3. **feed-forward**: x₃ = LayerNorm₃(x₂ + FFN(x₂)), FFN(z) = ReLU(z W₁ + b₁) W₂ + b₂ with
#    d_ff hidden units, the same for every position.
#
# The queries of step 2 are x₁, the **output of the masked self-attention sub-layer** (after
# its residual and LayerNorm); with `norm_first=True` (pre-norm) they are LayerNorm₂(x₁)
# instead, and the residual is added outside the LayerNorm (checked below, after the
# post-norm layer).
#
# We make real inputs: an encoder (lesson 04) reads the source; the decoder input is the
# target shifted right behind `<bos>` (lesson 05): "`<bos>` I saw the" must produce "I saw
# the dog".

# %%
torch.manual_seed(0)
d_ff = 64
src_embed, tgt_embed = nn.Embedding(len(src_vocab), D), nn.Embedding(len(tgt_vocab), D)
for embed in (src_embed, tgt_embed):  # as attn_lib.Transformer starts them (lesson 07 says why)
    nn.init.normal_(embed.weight, mean=0.0, std=D**-0.5)
pos = attn_lib.PositionalEncoding(D, max_len=16)


def embed_tokens(embed: nn.Embedding, tokens: torch.Tensor) -> torch.Tensor:
    """(B, T) ids -> (B, T, D): embedding × √d_model + positional encoding, as attn_lib.Transformer."""
    return pos(embed(tokens) * math.sqrt(D))


encoder = attn_lib.Encoder(1, D, H, d_ff).eval()
layer = attn_lib.DecoderLayer(D, H, d_ff).eval()

decoder_inputs = [["<bos>", *t[:-1]] for t in target_sentences]  # shifted right
tgt_in = torch.tensor([[tgt_vocab.index(w) for w in t] for t in decoder_inputs])  # (B, T) = (2, 4)
self_mask = attn_lib.combine_masks(
    attn_lib.causal_mask(T), attn_lib.padding_mask(tgt_in, PAD)
)  # (B, 1, T, T)
with torch.no_grad():
    memory, _ = encoder(embed_tokens(src_embed, src), src_mask)  # (B, S, D): the encoder output
    y = embed_tokens(tgt_embed, tgt_in)  # (B, T, D): embedding × √D + positional encoding
print("decoder input:", decoder_inputs[0], "| y", tuple(y.shape), "| memory", tuple(memory.shape))
print("self_mask", tuple(self_mask.shape), "| src_mask", tuple(src_mask.shape))

# %% [markdown]
# The three sub-layers, one line each, with the layer's own modules:

# %%
with torch.no_grad():
    a, w_self = layer.self_attn(y, y, y, mask=self_mask)  # (B, T, D), (B, H, T, T)
    x1 = layer.norm1(y + a)  # 1. masked self-attention + residual + LayerNorm
    c, w_cross = layer.cross_attn(x1, memory, memory, mask=src_mask)  # (B, T, D), (B, H, T, S)
    x2 = layer.norm2(x1 + c)  # 2. cross-attention + residual + LayerNorm
    x3 = layer.norm3(x2 + layer.ff(x2))  # 3. feed-forward + residual + LayerNorm

for name, t in [("y", y), ("self-attn", a), ("x1", x1), ("cross-attn", c), ("x2", x2), ("x3", x3)]:
    print(f"{pad(name, 13)} {tuple(t.shape)}")
print("self-attention weights ", tuple(w_self.shape), "= (B, H, T, T)")
print("cross-attention weights", tuple(w_cross.shape), "= (B, H, T, S)")

# %% [markdown]
# This is `attn_lib.DecoderLayer.forward`; with `need_weights=True` it also returns both
# weight tensors:

# %%
with torch.no_grad():
    out_layer, self_weights, cross_weights = layer(y, memory, self_mask, src_mask, need_weights=True)
torch.testing.assert_close(out_layer, x3)
torch.testing.assert_close(self_weights, w_self)
torch.testing.assert_close(cross_weights, w_cross)
print(
    "by hand == attn_lib.DecoderLayer:",
    tuple(out_layer.shape),
    tuple(self_weights.shape),
    tuple(cross_weights.shape),
)

# %% [markdown]
# **Pre-norm, checked.** With `norm_first=True` each LayerNorm moves into the branch:
# x₁ = y + SelfAttn(LayerNorm₁(y)), and cross-attention gets its queries from LayerNorm₂(x₁).
# A forward pre-hook on the layer's `cross_attn` records the query it is actually given:

# %%
pre = attn_lib.DecoderLayer(D, H, d_ff, norm_first=True).eval()
received = {}
hook = pre.cross_attn.register_forward_pre_hook(lambda module, args: received.update(query=args[0]))
with torch.no_grad():
    pre(y, memory, self_mask, src_mask)
    h = pre.norm1(y)
    x1_pre = y + pre.self_attn(h, h, h, mask=self_mask)[0]  # (B, T, D): residual outside the LayerNorm
hook.remove()
torch.testing.assert_close(received["query"], pre.norm2(x1_pre))
print("pre-norm: cross-attention queries == LayerNorm₂(x₁), x₁ = y + SelfAttn(LayerNorm₁(y)):", tuple(x1_pre.shape))

# %% [markdown]
# The two maps of the (untrained) layer side by side: the self-attention map is square and
# triangular, the cross-attention map a full rectangle. Its weights mean nothing yet — the
# layer is untrained — but the **shape** of what can be non-zero is the lesson.

# %%
fig, (ax_self, ax_cross) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1, 1.2]})
plot_alignment(
    self_weights[0, 0],
    decoder_inputs[0],
    decoder_inputs[0],
    None,
    "self-attention (T × T)",
    ax_self,
    False,
    self_mask[0, 0],
)
ax_self.set_xlabel("decoder input token (key, value)")
ax_self.set_ylabel("decoder input token (query)")
plot_alignment(
    cross_weights[0, 0], source_sentences[0], decoder_inputs[0], title="cross-attention (T × S)", ax=ax_cross
)
ax_cross.set_ylabel("")
fig.suptitle(
    "Untrained decoder layer, head 0: self-attention is causal (T × T), cross-attention sees all of S"
)
fig.tight_layout()
plt.show()

# %% [markdown]
# **The decoder stays causal.** Cross-attention has no causal mask, yet changing the last
# decoder input ("the" → "dog") leaves the outputs of the earlier positions exactly unchanged:

# %%
tgt_changed = tgt_in.clone()
tgt_changed[:, 3] = tgt_vocab.index("dog")
with torch.no_grad():
    # need_weights=True as for out_layer: the same kernel, so equal inputs give equal bits
    out_changed, _, _ = layer(embed_tokens(tgt_embed, tgt_changed), memory, self_mask, src_mask, need_weights=True)
change = (out_changed - out_layer).abs().amax(-1)  # (B, T)
print("max |change| per target position, sentence 0:", change[0])
assert bool((change[:, :3] == 0).all())

# %% [markdown]
# **The classic mistake: swapping the sides.** The query side decides the output length.
# With queries from the encoder, `cross_attn(memory, x1, x1)` returns one vector per
# **source** position, and the residual connection cannot add it to the decoder's x₁:

# %%
with torch.no_grad():
    swapped, w_swapped = layer.cross_attn(memory, x1, x1)  # WRONG: queries from the encoder
print("swapped output ", tuple(swapped.shape), "= (B, S, D), should be (B, T, D)")
print("swapped weights", tuple(w_swapped.shape), "= (B, H, S, T)")
try:
    x1 + swapped
except RuntimeError as err:
    print("x1 + swapped -> RuntimeError:", str(err).splitlines()[0])

# %% [markdown]
# When T = S, the shapes match and nothing complains; the source padding mask `(B, 1, 1, S)`
# then filters the wrong axis. Here, with T ≠ S, `attn_lib` catches it at the door:

# %%
try:
    layer.cross_attn(memory, x1, x1, mask=src_mask)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# With T = S nothing stops the swap, and the future leaks. Take the first T = 4 source
# positions as a stand-in memory of length S = 4 and change only the decoder state x₁ at the
# **last** target position. Swapped, the output row 0 reads every decoder state, the changed
# one included; the right way round, row i reads the decoder only through its own query, and
# rows 0–2 do not move at all (their weights and values are untouched, so exactly 0):

# %%
memory_4 = memory[:, :T]  # (B, S, D) with S = T = 4: the shapes of a swap now match
x1_changed = x1.clone()
x1_changed[:, -1] = torch.randn(D)  # another decoder state at the last target position
with torch.no_grad():
    swap_before, _ = layer.cross_attn(memory_4, x1, x1)  # WRONG: (B, T, D), no error
    swap_after, _ = layer.cross_attn(memory_4, x1_changed, x1_changed)
    right_before, _ = layer.cross_attn(x1, memory_4, memory_4)  # right: queries from the decoder
    right_after, _ = layer.cross_attn(x1_changed, memory_4, memory_4)
print("swapped, |change| of rows 0-2:", round((swap_after - swap_before)[:, :3].abs().max().item(), 2))
print("right,   |change| of rows 0-2:", (right_after - right_before)[:, :3].abs().max().item() + 0.0)
assert (swap_after - swap_before)[:, :3].abs().max() > 0.01 and ((right_after - right_before)[:, :3] == 0).all()

# %% [markdown]
# ## 6. The same numbers as PyTorch
#
# `torch.nn.MultiheadAttention` does cross-attention when `query` differs from `key`/`value`.
# Its `key_padding_mask` is `(B, S)` and means the **opposite**: True = ignore this key
# (lesson 05). `attn_lib.to_torch_mha_mask` flips our mask; `from_torch` copies the weights.

# %%
torch.manual_seed(1)
torch_mha = nn.MultiheadAttention(D, H, batch_first=True).eval()
ours = attn_lib.MultiHeadAttention.from_torch(torch_mha).eval()
key_padding_mask = attn_lib.to_torch_mha_mask(src_mask[:, 0, 0])  # (B, 1, 1, S) -> (B, S), True = ignore
print("key_padding_mask (B, S):", key_padding_mask.tolist())
with torch.no_grad():
    out_torch, w_torch = torch_mha(
        x1, memory, memory, key_padding_mask=key_padding_mask, average_attn_weights=False
    )
    out_ours, w_ours = ours(x1, memory, memory, mask=src_mask)
torch.testing.assert_close(out_ours, out_torch)
torch.testing.assert_close(w_ours, w_torch)
print(
    "output",
    tuple(out_ours.shape),
    "weights",
    tuple(w_ours.shape),
    "| max |difference| < 1e-6:",
    (out_ours - out_torch).abs().max().item() < 1e-6,
)

# %% [markdown]
# The whole layer, too: copy the weights of a `torch.nn.TransformerDecoderLayer` (post-norm,
# ReLU, no dropout) into an `attn_lib.DecoderLayer` and feed both the same masks, each in its
# own convention. Same sub-layers, same order, same residuals and LayerNorms: same numbers.

# %%
torch_layer = nn.TransformerDecoderLayer(D, H, d_ff, dropout=0.0, batch_first=True).eval()
mine = attn_lib.DecoderLayer(D, H, d_ff)
mine.self_attn = attn_lib.MultiHeadAttention.from_torch(torch_layer.self_attn)  # masked self-attention
mine.cross_attn = attn_lib.MultiHeadAttention.from_torch(torch_layer.multihead_attn)  # cross-attention
same_module = {  # attn_lib name -> torch name
    "ff.linear1": "linear1",
    "ff.linear2": "linear2",
    "norm1": "norm1",  # after masked self-attention
    "norm2": "norm2",  # after cross-attention
    "norm3": "norm3",  # after the feed-forward network
}
for ours_name, torch_name in same_module.items():
    mine.get_submodule(ours_name).load_state_dict(torch_layer.get_submodule(torch_name).state_dict())
mine.eval()

causal = attn_lib.causal_mask(T)  # (T, T); tgt_in has no padding
with torch.no_grad():
    ref = torch_layer(
        y, memory, tgt_mask=attn_lib.to_torch_mha_mask(causal), memory_key_padding_mask=key_padding_mask
    )
    got, _, _ = mine(y, memory, self_mask=causal, memory_mask=src_mask)
torch.testing.assert_close(got, ref)
print(
    "attn_lib.DecoderLayer == torch.nn.TransformerDecoderLayer:",
    tuple(got.shape),
    "| max |difference| < 1e-6:",
    (got - ref).abs().max().item() < 1e-6,
)

# %% [markdown]
# ## 7. Widget: where does a target word look?
#
# Pick a sentence and a target word: the right panel shows that word's weights over the source
# tokens (bars, the known translation outlined in black), the left panel the whole map with
# its row framed in red. Switch the source padding mask off to watch sentence 1's "dog" lose
# half of its attention to the `<pad>`: "Hund" and `<pad>` then get equal weights, and the
# title calls it a tie (an argmax would pick the first of the two by position alone).
# Sentence 0 has no padding, so for it the mask toggle changes nothing but the map's title
# ("0 cells blocked"): its weights are identical either way (checked below). The logic is
# `attn_lib.widgets.cross_attention_row` and `plot_cross_attention_row`; first a static call:

# %%
row = cross_attention_row(align_masked[0], target=1)  # (S,): "saw" over the source of sentence 0
print('row of "saw":', row, "| sum:", round(float(row.sum()), 4))
print("sentence 0, same weights with and without the mask:", torch.equal(align_masked[0], align_nomask[0]))
fig = plot_cross_attention_row(
    align_masked[0], source_sentences[0], target_sentences[0], target=1, head=0, expected=known[0]
)
plt.show()

# %% tags=["nbval-ignore-output"]
alignments = {True: align_masked, False: align_nomask}  # (B, 1, T, S) each, garbage "Hund" at the pad
words_at = [" / ".join(dict.fromkeys(t[i] for t in target_sentences)) for i in range(T)]  # "saw / see"
sentence_w = widgets.ToggleButtons(
    options=[("0: ich habe den Hund gesehen", 0), ("1: ich sehe den Hund <pad>", 1)], description="source"
)
target_w = widgets.Dropdown(
    options=[(f"{i}: {w}", i) for i, w in enumerate(words_at)], value=1, description="target word"
)
mask_w = widgets.ToggleButtons(options=[("on", True), ("off", False)], description="pad mask")


def show(sentence: int, target: int, masked: bool) -> None:
    weights = alignments[masked][sentence]  # (1, T, S): one head
    plot_cross_attention_row(
        weights,
        source_sentences[sentence],
        target_sentences[sentence],
        target,
        head=0,
        expected=known[sentence],
        mask=src_mask[sentence, 0] if masked else None,
    )
    plt.show()


view = widgets.interactive_output(show, {"sentence": sentence_w, "target": target_w, "masked": mask_w})
display(widgets.VBox([sentence_w, widgets.HBox([target_w, mask_w]), view]))

# %% [markdown]
# ## Exercises
#
# Now write it yourself. Fill in the body of each `my_...` function and run the cell below it: the
# check calls your function on several inputs and compares with `attn_lib`. Yellow = not
# attempted yet, red = something differs (a common mistake is named, with a hint), green = right.
#
# ### Exercise 1 · single-head cross-attention
#
# `decoder_x` is `(B, T_dec, D)`, `encoder_out` is `(B, T_enc, D)`; `W_q` and `W_k` are `(D, d_k)`,
# `W_v` is `(D, d_v)`, applied as `decoder_x @ W_q`. Decide which side gives the queries and which
# the keys and values, and return $\text{softmax}(QK^\top/\sqrt{d_k})\,V$. The output has one row
# per decoder position: `(B, T_dec, d_v)`.
#
# Stuck? `show_solution("cross_attention")` (after `from attn_lib.exercises import show_solution`).


# %%
def my_cross_attention(decoder_x, encoder_out, W_q, W_k, W_v):
    """decoder_x (B, T_dec, D), encoder_out (B, T_enc, D) -> (B, T_dec, d_v)."""
    ...  # your code here


# %%
from attn_lib.exercises import check_cross_attention

check_cross_attention(my_cross_attention)

# %% [markdown]
# ### Exercise 2 · the padding mask
#
# `tokens` `(B, T)` holds token ids, padded with `pad_id`. Return the bool mask that keeps every
# query away from the padded *keys*, True = may attend, shaped `(B, 1, 1, T)` so that it
# broadcasts against scores `(B, H, T_q, T_k)`.
#
# Stuck? `show_solution("padding_mask")`.


# %%
def my_padding_mask(tokens, pad_id):
    """tokens (B, T) -> bool (B, 1, 1, T), True where the token is not pad_id."""
    ...  # your code here


# %%
from attn_lib.exercises import check_padding_mask

check_padding_mask(my_padding_mask)

# %% [markdown]
# ## Summary
#
# - **Cross-attention** (claim S9): queries from the decoder — the output of its masked
#   self-attention sub-layer — keys and values from the encoder output. Shapes: queries
#   `(B, H, T, Dh)`, keys and values `(B, H, S, Dh)`, weights `(B, H, T, S)`, output
#   `(B, T, D)`: **the output has the decoder's length**; the source length is summed away.
# - Each row of the weights sums to 1 **over the source**; columns need not (a source word may be
#   read by many target words or by none; a column may sum to more than 1). A cross-attention
#   map reads as an **alignment**; with a dictionary set by hand into W^K, the argmax of every
#   row was the known translation, even where the word order differs ("saw" ← "gesehen"):
#   the toy has no positional encoding, so position plays no part in its scores.
# - **No causal mask**: the source is fully known before decoding starts, so every target
#   position may read every source position. A causal mask there breaks the alignment. The
#   decoder stays causal through its masked self-attention (a changed later input left earlier
#   outputs exactly unchanged).
# - **Source padding mask** `padding_mask(src, PAD)`, `(B, 1, 1, S)`, broadcasts over heads and
#   target positions: padded columns get weight exactly 0, and a padded sentence gives the same
#   numbers as the unpadded one, whatever the encoder left at the pads.
# - **`DecoderLayer`** = masked self-attention → cross-attention → feed-forward, each as
#   LayerNorm(x + sublayer(x)) (post-norm); with `need_weights=True` it returns self weights
#   `(B, H, T, T)` and cross weights `(B, H, T, S)`. It matches `torch.nn.TransformerDecoderLayer`.
# - **Swapping the sides** (queries from the encoder) gives an output of length S instead of T;
#   when T = S it passes silently and lets the future leak.
# - A causal mask with T_q < T_k belongs behind a **KV cache**: `causal_mask(T_new, T_all)` is the
#   last T_new rows of `causal_mask(T_all)` (bottom-right), never into cross-attention.
#
# ## Check yourself
#
# 1. A decoder with T = 7 target positions reads a source of S = 12 tokens, with d_model = 512
#    and 8 heads. What are the shapes of the queries, keys, weights and output of one
#    cross-attention call (batch B)?
# 2. Why does cross-attention need no causal mask, and why is the decoder causal all the same?
# 3. The rows of a cross-attention map sum to 1. Do the columns? What does a column with a tiny
#    sum (like "habe" above) tell you?
# 4. Which mask goes into cross-attention, what shape does it have, and why is no target padding
#    mask needed there?
# 5. A colleague writes `layer.cross_attn(memory, x, x)` with T = S = 10 and gets no error. What
#    is wrong with the result?
#
# <details><summary>Answers</summary>
#
# 1. Queries `(B, 8, 7, 64)`, keys and values `(B, 8, 12, 64)`, weights `(B, 8, 7, 12)`, output
#    `(B, 7, 512)`: one vector per target position.
# 2. The source is complete before the first target word is generated, so nothing in it is
#    "future". Queries at position i come from target positions ≤ i (the masked self-attention
#    before it), keys and values from the source only; no path leads from a later target word
#    into position i.
# 3. No. A column sum says how much all target words together read that source word; a tiny sum
#    means no target word needs it (here the auxiliary "habe", whose meaning is carried by
#    "saw"). A column can also sum to more than 1 ("dog dog the dog" read "Hund" about 2.8
#    times in section 2).
# 4. The source padding mask `padding_mask(src, PAD)`, `(B, 1, 1, S)`, broadcast over heads and
#    target positions. Padded target positions still get outputs, but the loss ignores them, so
#    they need no mask in cross-attention.
# 5. The queries come from the encoder: each output row belongs to a *source* position and reads
#    the *decoder* states. The shapes match only because T = S; the decoder's residual then adds
#    source-indexed vectors to target positions, the source padding mask filters the wrong axis,
#    and target position i can see decoder states after i: the future leaks (section 5 changed
#    the last decoder state and watched rows 0–2 of the swapped output move).
#
# </details>
