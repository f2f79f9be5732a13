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
# # 07 · A tiny Transformer, trained: reversing digit strings
#
# Lessons 01–06 built every piece: scaled dot-product attention, multi-head attention, encoder
# self-attention with positional encoding, the causal mask, cross-attention. Here we put them
# together into the encoder–decoder `attn_lib.Transformer`, train it on the CPU in well under a
# minute (the training cell prints how long it took), and then open it up: does its
# cross-attention do what we would expect?
#
# **Learning goals.** After this lesson you can
# 1. turn a toy task into padded token batches for teacher forcing (`src`, `tgt_in`, `tgt_out`);
# 2. count the parameters of an encoder–decoder Transformer, part by part;
# 3. train it with a masked cross-entropy loss and measure exact-match accuracy with greedy decoding;
# 4. read its cross-attention maps, and check numerically that for reversal they form the
#    anti-diagonal: output position *i* looks at source position *L − 1 − i*.
#
# The task: the source is a string of 8 to 12 digits, the target is the same string reversed.
# `31415926` → `62951413`. Easy to state, impossible without attention to *positions*.

# %%
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from attn_lib import Transformer, greedy_decode
from attn_lib.data import (
    BOS,
    EOS,
    PAD,
    VOCAB_SIZE,
    decode,
    encode,
    make_reversal_batch,
    reversal_held_out_set,
    to_strings,
)
from attn_lib.train import ProgressBar, exact_match_accuracy, sequence_loss, train
from attn_lib.widgets import plot_reversal_attention, run_reversal

torch.manual_seed(0)
torch.set_num_threads(1)  # one thread: the same sums in the same order, so every run prints the same numbers
torch.set_printoptions(precision=3, sci_mode=False, linewidth=110)
print("torch", torch.__version__, "| threads:", torch.get_num_threads())

# %% [markdown]
# ## 1 · The data: digits as tokens, padded batches
#
# The vocabulary has 13 tokens: three special ones, `PAD = 0` (filler), `BOS = 1` (begin of
# sequence) and `EOS = 2` (end of sequence), then the digits 0–9 as ids 3–12. `attn_lib.data`
# converts between strings and ids.

# %%
print("vocabulary size:", VOCAB_SIZE, "| PAD, BOS, EOS =", (PAD, BOS, EOS))
print('encode("2024") =', encode("2024"), '| decode back:', decode(encode("2024")))

# %% [markdown]
# A batch holds three tensors. For a source $x_1 \dots x_L$ and its answer $y_1 \dots y_L$ (here
# $y_i = x_{L+1-i}$):
#
# | tensor | content | shape |
# |---|---|---|
# | `src` | $x_1 \dots x_L$ | `(B, S)` |
# | `tgt_in` (decoder input) | `BOS` $y_1 \dots y_L$ | `(B, T)` |
# | `tgt_out` (what to predict) | $y_1 \dots y_L$ `EOS` | `(B, T)` |
#
# `tgt_in` is `tgt_out` shifted one step right: at position *i* the decoder sees the answer up to
# *i − 1* and must predict token *i*. That is **teacher forcing** (lesson 05): all positions train at
# once, and the causal mask keeps each from peeking at its own answer. Sequences have different
# lengths, so each tensor is padded with `PAD` up to the longest one. A small batch, lengths 3–6:

# %%
example = make_reversal_batch(4, 3, 6, torch.Generator().manual_seed(5))
for name, t in zip(["src", "tgt_in", "tgt_out"], example, strict=True):
    print(f"{name:8s} {tuple(t.shape)}\n{t}")
print("as strings:", to_strings(example.src), "->", to_strings(example.tgt_out))

# %% [markdown]
# `S = 6` is the longest source in this batch and `T = S + 1` (BOS or EOS adds one). The zeros
# are padding: they are not data, and the model must ignore them. That is what the padding masks
# are for.
#
# ## 2 · The model: `attn_lib.Transformer`
#
# Every part comes from the earlier lessons: token embeddings (scaled by √d_model) plus sinusoidal
# positional encoding (lesson 04), an encoder of `EncoderLayer`s, a decoder of `DecoderLayer`s with
# masked self-attention and cross-attention (lessons 05 and 06), and a final linear layer, the
# *generator*, that turns each decoder output into 13 scores, one per token. We use a small size:
# d_model = 64, two heads of head_dim = 32, d_ff = 128, two encoder and two decoder layers.

# %%
CONFIG = dict(d_model=64, num_heads=2, num_encoder_layers=2, num_decoder_layers=2, d_ff=128, max_len=32)


def new_model(seed: int = 0) -> Transformer:
    torch.manual_seed(seed)
    return Transformer(VOCAB_SIZE, VOCAB_SIZE, **CONFIG)


model = new_model()
parts = {
    "source embedding": model.src_embed,
    "target embedding": model.tgt_embed,
    "encoder (2 layers)": model.encoder,
    "decoder (2 layers)": model.decoder,
    "generator (D -> V)": model.generator,
}
for name, part in parts.items():
    print(f"{name:20s} {sum(p.numel() for p in part.parameters()):>7,d}")
total = sum(p.numel() for p in model.parameters())
print(f"{'total':20s} {total:>7,d}   (the positional encoding is a fixed table: 0 parameters)")

# %% [markdown]
# The decoder is the largest part: each of its layers has *two* multi-head attentions (self and
# cross) against one in an encoder layer. Per layer the count is easy to check by hand:

# %%
D, d_ff = CONFIG["d_model"], CONFIG["d_ff"]
mha = 4 * (D * D + D)  # W^Q, W^K, W^V, W^O with biases
ffn = (D * d_ff + d_ff) + (d_ff * D + D)
norm = 2 * D  # LayerNorm gain and bias
print("encoder layer:", mha + ffn + 2 * norm, "=", sum(p.numel() for p in model.encoder.layers[0].parameters()))
print("decoder layer:", 2 * mha + ffn + 3 * norm, "=", sum(p.numel() for p in model.decoder.layers[0].parameters()))

# %% [markdown]
# ### Masks reach every attention
#
# The model builds its masks from `PAD` itself (bool, **True = may attend**): the source padding
# mask `(B, 1, 1, S)` goes to every encoder self-attention *and* every cross-attention (no query
# may look at a padded source position); the decoder self-attention gets the causal mask combined
# with the target padding mask, `(B, 1, T, T)`.

# %%
src_mask = model.src_mask(example.src)
tgt_mask = model.tgt_mask(example.tgt_in)
print("source padding mask", tuple(src_mask.shape), "| decoder self-attention mask", tuple(tgt_mask.shape))
print("row 3 of the batch (4 digits), decoder mask (True = may attend):\n", tgt_mask[3, 0].int())

# %% [markdown]
# Row 3 has four digits, so `tgt_in[3]` has five real tokens (BOS and four digits): the causal lower
# triangle stops at column 4, and columns 5 and 6, the padding, are blocked for every query. Now a forward pass with teacher forcing: logits `(B, T, V)`, one score per
# token at every target position. Before training the model should be no better than a uniform
# guess over 13 tokens, a cross-entropy of ln 13 ≈ 2.565; the loss ignores `PAD` positions.

# %%
logits = model(example.src, example.tgt_in)
print("logits", tuple(logits.shape), "= (B, T, V)")
print("untrained loss:", round(sequence_loss(logits, example.tgt_out, PAD).item(), 3), "| ln 13 =", round(math.log(13), 3))

# %% [markdown]
# ### One detail that decides whether this trains in seconds: the embedding scale
#
# The paper multiplies token embeddings by √d_model before adding the positional encoding. That
# assumes small embeddings: the paper shares them with the output layer (it states no
# initialisation), and a typical initialisation of a shared output layer has standard deviation
# ≈ 1/√d_model. PyTorch's `nn.Embedding` starts at standard deviation 1; after the multiplication
# by √64 = 8 the token part would be more than ten times larger than the positional part, whose
# entries are sines and cosines. `attn_lib.Transformer` therefore starts its embeddings at
# standard deviation 1/√d_model, so that both parts have a comparable size. Compare with what
# PyTorch's default start would give:


# %%
def pytorch_default_embeddings(m: Transformer) -> Transformer:
    """Re-initialise the embeddings as a plain nn.Embedding would (std 1), for comparison."""
    with torch.no_grad():
        for embed in (m.src_embed, m.tgt_embed):
            embed.weight.normal_(0.0, 1.0)
    return m


tokens = torch.arange(3, 13)  # the ten digits
pe = model.pos.pe[:12]  # (12, D), the positional table
rms = lambda t: round(t.pow(2).mean().sqrt().item(), 2)  # noqa: E731
print("per-coordinate RMS, positional part:                ", rms(pe))
print("per-coordinate RMS, token part (attn_lib, std 1/√D):", rms(model.src_embed(tokens) * math.sqrt(D)))
print("per-coordinate RMS, token part (PyTorch, std 1):    ", rms(pytorch_default_embeddings(new_model()).src_embed(tokens) * math.sqrt(D)))

# %% [markdown]
# Reversal is *all* about positions, and a signal ten times weaker is hard to find. Does it matter?
# A short experiment: 80 training steps from the same starting weights, once with PyTorch's default
# embedding start and once with the library's (`train` is introduced just below).

# %%
for default in (True, False):
    m = new_model()
    if default:
        pytorch_default_embeddings(m)
    g = torch.Generator().manual_seed(0)
    losses = train(m, lambda step, g=g: make_reversal_batch(64, 8, 12, g), steps=80, lr=2e-3, warmup=40)
    label = "PyTorch default (std 1)  " if default else "attn_lib (std 1/√d_model)"
    print(f"embeddings {label} -> mean loss of steps 71-80: {sum(losses[-10:]) / 10:.3f}")

# %% [markdown]
# ## 3 · Training
#
# `attn_lib.train.train(model, batch_fn, steps, ...)` is a plain loop: fetch a batch, compute the
# logits with teacher forcing, the cross-entropy over the non-`PAD` target positions
# (`sequence_loss`), back-propagate, clip the gradient norm to 1, take an Adam step. The learning
# rate warms up linearly for 50 steps, then decays along a cosine. Every batch is fresh: 64 random
# strings of length 8–12 from a seeded generator, so the run is reproducible. We also keep every
# training string, to check later that the test strings were never seen.
#
# The cell shows a progress bar while it runs and prints how long the training took.

# %% tags=["nbval-ignore-output"]
STEPS, BATCH, MIN_LEN, MAX_LEN = 600, 64, 8, 12
model = new_model(seed=0)
data_gen = torch.Generator().manual_seed(0)
seen: set[str] = set()


def batch_fn(step: int):
    batch = make_reversal_batch(BATCH, MIN_LEN, MAX_LEN, data_gen)
    seen.update(to_strings(batch.src))
    return batch


start = time.perf_counter()
history = train(
    model, batch_fn, STEPS, lr=2e-3, warmup=50, min_lr_factor=0.02, progress=ProgressBar(STEPS, "training")
)
train_seconds = time.perf_counter() - start
print(f"{STEPS} steps of {BATCH} sequences in {train_seconds:.1f} s")

# %% [markdown]
# The loss is plotted on a log scale: the interesting part happens over three orders of magnitude.

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(range(1, STEPS + 1), history, lw=1)
ax.axhline(math.log(13), color="grey", ls="--", lw=1, label="ln 13: uniform guess")
ax.set_yscale("log")
ax.set_xlabel("training step")
ax.set_ylabel("cross-entropy per token (nats)")
ax.set_title(f"reversal: the loss falls from {history[0]:.2f} to {history[-1]:.4f} in {STEPS} steps")
ax.legend()
plt.show()
print("first step:", round(history[0], 2), "| mean of the last 50 steps:", round(sum(history[-50:]) / 50, 4))

# %% [markdown]
# ## 4 · Exact match on held-out strings, with greedy decoding
#
# A low loss per token is not the same as getting whole strings right. At test time there is no
# teacher: `greedy_decode` starts from `BOS`, picks the most likely token, feeds it back as the next
# input, and stops at `EOS` (lesson 05's auto-regressive loop). A string counts as correct only if
# every digit *and* the `EOS` are right. The 500 test strings come from a separate seeded generator;
# first we check that none of them appeared in training (out of $10^8$ or more strings per length, a
# repeat would be a coincidence).

# %%
held_out = reversal_held_out_set(500, MIN_LEN, MAX_LEN, seed=1234)
print("held-out src", tuple(held_out.src.shape), "| tgt_out", tuple(held_out.tgt_out.shape))
print("training strings seen:", len(seen), "| held-out strings among them:", len(seen & set(to_strings(held_out.src))))

# %%
accuracy = exact_match_accuracy(model, held_out.src, held_out.tgt_out, BOS, EOS)
print(f"exact match on {len(held_out)} held-out sequences: {100 * accuracy:.1f}%")
assert accuracy >= 0.99

# %% [markdown]
# Greedy decoding, on a few of them. `greedy_decode` returns `BOS` followed by the generated tokens:

# %%
out = greedy_decode(model, held_out.src[:5], max_len=MAX_LEN + 1, bos_id=BOS, eos_id=EOS)
print("generated ids, first row:", out[0].tolist())
for src_str, out_str in zip(to_strings(held_out.src[:5]), to_strings(out), strict=True):
    print(f"{src_str:>12s} -> {out_str:<12s} {'correct' if out_str == src_str[::-1] else 'WRONG'}")

# %% [markdown]
# What about lengths it never saw? The same model on shorter (4–7) and longer (13–16) strings:

# %%
for lo, hi in ((4, 7), (MIN_LEN, MAX_LEN), (13, 16)):
    test = reversal_held_out_set(200, lo, hi, seed=99)
    acc = exact_match_accuracy(model, test.src, test.tgt_out, BOS, EOS)
    print(f"lengths {lo:2d}-{hi:2d}: exact match {100 * acc:5.1f}%")

# %% [markdown]
# It has learned reversal for the lengths it trained on, not reversal in general, and it fails
# on shorter strings as well as on longer ones. To write output *i* it must find source digit
# *L − 1 − i*, and it has only learned to do that for the lengths *L* it was trained on: for
# an *L* it never saw, short or long, it has to compute *L − 1 − i* anew and mostly gets it
# wrong. Longer strings add a second problem: source positions 12 and beyond (counting from 0)
# never occurred in training, so their encodings are new to the model. Keep this in mind whenever a
# model is "perfect" on its test set.
#
# ## 5 · Looking inside: cross-attention is the anti-diagonal
#
# To write output position *i* (counting from 0) of a string of length *L*, the model needs source
# digit *L − 1 − i*. Cross-attention is the only path from the source to the decoder (lesson 06),
# so if the model does what we think, the cross-attention map, output positions × source positions,
# should light up along the **anti-diagonal**. `run_reversal` decodes one string and collects the
# cross-attention weights the decoder used at each step; `plot_reversal_attention` draws one
# decoder layer, each head and their average. The last decoder layer, for a held-out string:

# %%
sample = next(s for s in to_strings(held_out.src) if len(s) == MAX_LEN)
result = run_reversal(model, sample)
print(result["message"], "| cross-attention", tuple(result["cross"].shape), "= (layers, H, T_out, S)")
fig = plot_reversal_attention(result, layer=-1, title=f"last decoder layer, {sample}: output i attends to source L-1-i (the anti-diagonal)")
plt.show()

# %% [markdown]
# Each row is one output step; the bright cell sits on the anti-diagonal: the first output digit
# reads the last source digit, and so on. Some rows share their weight between the mirrored
# position and its right-hand neighbour, probably because after two encoder layers of
# self-attention the vector at position *j + 1* can also carry information about digit *j*, so
# either position can serve (we have not tested this). The last row, which produces `EOS`, looks
# at the start of the string: nothing is left to copy.
#
# A picture of one example is an anecdote. Over all 500 held-out strings: for every output position
# *i < L* (those that produce a digit), is the most-attended source position exactly *L − 1 − i*?
# And how much attention weight lands there?

# %%
maps = model.attention_maps(held_out.src, held_out.tgt_in)  # cross: one (B, H, T, S) map per decoder layer
lengths = (held_out.src != PAD).sum(dim=1)  # (B,)
i = torch.arange(held_out.tgt_in.shape[1])  # (T,) output positions
mirror = lengths[:, None] - 1 - i  # (B, T): the source position that holds output i's digit
produces_digit = i < lengths[:, None]  # (B, T): positions before EOS and padding
print(f"{'':26s}  argmax = L-1-i   within 1 of it   weight on L-1-i")
for layer, w in enumerate(maps.cross):
    for name, m in [(f"head {h}", w[:, h]) for h in range(w.shape[1])] + [("average of heads", w.mean(1))]:
        top = m.argmax(dim=-1)  # (B, T)
        exact = (top == mirror)[produces_digit].float().mean().item()
        near = ((top - mirror).abs() <= 1)[produces_digit].float().mean().item()
        # weight on L-1-i: pick column mirror[b, i] of each row. mirror < 0 only where no digit is
        # produced; clamp it to a valid column there, those rows are dropped by produces_digit.
        column = mirror.clamp(min=0)[..., None]  # (B, T, 1)
        weight_on_mirror = m.gather(-1, column)[..., 0]  # (B, T, S) -> (B, T)
        weight = weight_on_mirror[produces_digit].mean().item()
        print(f"decoder layer {layer}, {name:16s}  {100 * exact:13.1f}%  {100 * near:14.1f}%  {weight:15.2f}")
    if layer == len(maps.cross) - 1:
        last_exact, last_near = exact, near

# %%
assert last_exact > 0.9 and last_near > 0.99
offsets = (maps.cross[-1].mean(1).argmax(-1) - mirror)[produces_digit]
print("last layer, head average: where the argmax lands relative to L-1-i:", dict(zip(*[t.tolist() for t in offsets.unique(return_counts=True)], strict=True)))

# %% [markdown]
# The numbers back the picture, and say where it is not the whole story:
#
# * In the **last decoder layer**, the head-averaged map peaks exactly on the anti-diagonal for
#   about 95% of the output positions and within one position of it for all of them; every miss is
#   one step to the right (offset +1), the neighbour effect seen above. Each head on its own follows
#   the anti-diagonal too, one more sharply than the other (about 96% and 86% exact).
# * The **first decoder layer** does something else: its weights are spread over several positions,
#   a broad band that follows the anti-diagonal only roughly (its peak is on it for about one
#   position in four). Nothing forces a particular layer to do the aligning; this one seems to
#   provide a coarse first guess, and perhaps context such as the length of the source, which the
#   second layer needs to compute *L − 1 − i*. The numbers alone cannot tell us which. Its picture,
#   for the same string:

# %%
fig = plot_reversal_attention(result, layer=0, title=f"first decoder layer, {sample}: a broad band, only roughly anti-diagonal")
plt.show()

# %% [markdown]
# ## 6 · Try it: type a string
#
# Type digits and press Enter: you see the model's output and the cross-attention of the layer you
# pick. Try a string of 8–12 digits, a repeated digit (`11111111`: positions, not values, decide
# where it looks), and lengths outside 8–12 to watch it break. Letters or an overly long string get
# a message instead of an answer.

# %% tags=["nbval-ignore-output"]
text = widgets.Text(value="271828182845", description="digits", continuous_update=False)
layer_pick = widgets.Dropdown(options=[("decoder layer 0", 0), ("decoder layer 1", 1)], value=1, description="layer")


def show(text: str, layer: int) -> None:
    result = run_reversal(model, text)
    print(result["message"])
    if result["ok"]:
        plot_reversal_attention(result, layer=layer)
        plt.show()


display(widgets.VBox([widgets.HBox([text, layer_pick]), widgets.interactive_output(show, {"text": text, "layer": layer_pick})]))

# %% [markdown]
# ## Exercises
#
# Now write it yourself. Fill in the body of each `my_...` function and run the cell below it: the
# check calls your function on several inputs and compares with the reference. Yellow = not
# attempted yet, red = something differs (a common mistake is named, with a hint), green = right.
#
# ### Exercise 1 · the teacher-forcing pair
#
# `answers` `(B, L)` holds the answer token ids (all of length `L`, no padding). Return
# `(tgt_in, tgt_out)`, each `(B, L+1)`: `tgt_in` is `bos_id` followed by the answer (what the
# decoder reads), `tgt_out` is the answer followed by `eos_id` (what it must predict). For
# `bos_id = BOS` and `eos_id = EOS` this is what `attn_lib.data.make_batch` builds.
#
# Stuck? `show_solution("teacher_forcing_pair")` (after `from attn_lib.exercises import show_solution`).


# %%
def my_teacher_forcing_pair(answers, bos_id, eos_id):
    """answers (B, L) -> (tgt_in (B, L+1), tgt_out (B, L+1))."""
    ...  # your code here


# %%
from attn_lib.exercises import check_teacher_forcing_pair

check_teacher_forcing_pair(my_teacher_forcing_pair)

# %% [markdown]
# ### Exercise 2 · one step of greedy decoding
#
# The decoder returns `logits` `(B, t, V)`: scores over the `V` tokens at each of the `t` positions
# generated so far. Return the next token of every sequence, as `greedy_decode` picks it: the id
# with the highest score, shape `(B,)`.
#
# Stuck? `show_solution("greedy_next_token")`.


# %%
def my_greedy_next_token(logits):
    """logits (B, t, V) -> token ids (B,)."""
    ...  # your code here


# %%
from attn_lib.exercises import check_greedy_next_token

check_greedy_next_token(my_greedy_next_token)

# %% [markdown]
# ## Summary
#
# * A toy task becomes three padded tensors: `src`, `tgt_in = BOS + answer`, `tgt_out = answer + EOS`;
#   teacher forcing trains every target position at once, and `PAD` positions are masked out of
#   attention and ignored by the loss.
# * `attn_lib.Transformer` puts together embeddings + positional encoding, an encoder stack and a
#   decoder stack (masked self-attention, cross-attention, feed-forward); here 170 thousand
#   parameters, most of them in the decoder.
# * Embedding scale matters: with PyTorch's default embeddings multiplied by √d_model, the positional
#   encoding is drowned and a position-based task learns far more slowly.
# * Trained for 600 steps (well under a minute on one CPU thread; the training cell prints the time),
#   the model reverses all 500 held-out strings exactly, with greedy decoding; on lengths it never
#   saw, shorter or longer, it fails on most strings.
# * The last decoder layer's cross-attention is the anti-diagonal: output *i* attends to source
#   *L − 1 − i*, checked over the whole held-out set, with a one-step blur to the right that the
#   encoder's self-attention makes possible. The first layer's cross-attention is only a broad band.
#
# ## Check yourself
#
# 1. Why is the decoder input `BOS + answer` and the target `answer + EOS`, and not the same tensor?
# 2. The loss ignores `PAD` positions. What would go wrong if it did not?
# 3. For the copy task (target = source), what pattern would you expect in the last layer's
#    cross-attention?
# 4. The model scores 100% on lengths 8–12 but fails on length 14. Give a reason rooted in how it
#    knows positions.
# 5. Run the training cell after `pytorch_default_embeddings(model)`. What do you expect, and why?
#
# <details><summary>Answers</summary>
#
# 1. At position *i* the decoder must predict token *i* from the tokens *before* it; shifting the
#    answer right by one (with `BOS` in front) lines each input up with the next token to predict.
#    `EOS` is the last thing to predict, so that generation knows when to stop.
# 2. Without `ignore_index` (the argument of `F.cross_entropy` that `sequence_loss` sets to `PAD`)
#    the model is also trained to predict `PAD` after `EOS`. Those targets are easy, and they enter
#    the mean: they dilute the loss and the gradient by the batch's padding fraction, and the
#    reported loss looks better than the model is.
# 3. The main diagonal: output *i* reads source *i*.
# 4. The model must compute *L − 1 − i* for an *L* it never saw, which it has not learned to do
#    for any unseen length, short or long (the 4–7 digit strings mostly go wrong too). For length
#    14 there is more: source positions 12 and beyond (counting from 0) never occurred in
#    training, so the model never learned what their positional encodings mean.
# 5. The loss falls much more slowly (the 80-step comparison above shows the start of it): the
#    positional signal is about ten times weaker than the token signal, and reversal depends on
#    positions only.
#
# </details>
