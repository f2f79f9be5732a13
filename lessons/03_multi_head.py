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
# # 03 · Multi-head attention
#
# One scaled dot-product attention (lesson 02) gives every query **one** distribution over
# the keys. Multi-head attention runs several of them **side by side on the same input**,
# each with its own projections and on its own slice of the features, and mixes their
# results with one more matrix:
#
# $$\text{MultiHead}(Q, K, V) = \text{Concat}(\text{head}_1, \dots, \text{head}_h)\,W^O,
#   \qquad \text{head}_i = \text{Attention}(Q W_i^Q,\; K W_i^K,\; V W_i^V)$$
#
# with $W_i^Q, W_i^K, W_i^V$ of shape `(d_model, head_dim)`, `head_dim = d_model / h`, and
# $W^O$ of shape `(d_model, d_model)` (the paper: `d_model = 512`, `h = 8`, `head_dim = 64`).
#
# **Learning goals.** After this lesson you can
#
# 1. say exactly what multi-head attention computes (claim S5 of the seed): the heads are
#    *not stacked* in depth, they run **in parallel on the same input**, each on
#    `d_model / h` dimensions, and $W^O$ follows their concatenation;
# 2. read the reshapes `split_heads` / `merge_heads` on a tensor of integers, and recognise
#    the wrong reshape that raises no error;
# 3. build multi-head attention with a loop over heads and explicit weight slices, and show
#    it equals the vectorised `attn_lib.MultiHeadAttention`;
# 4. count its parameters and FLOPs (the same as one full-width head) and say what the
#    heads buy;
# 5. show that `attn_lib.MultiHeadAttention` matches `torch.nn.MultiheadAttention`;
# 6. set the weights of a 2-head layer by hand so that one head looks at the previous token
#    and the other at the other copies of the same token, and watch two heads *learn* two
#    such rules in a few seconds of training.

# %%
import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import attn_lib
from attn_lib.i18n import pad
from attn_lib.viz import plot_attention, plot_attention_heads
from attn_lib.widgets import HEAD_MAP_D_MODEL, HEAD_MAP_TOKENS, head_map, plot_head_map
from attn_lib.widgets.lesson03 import train_neighbour_heads

torch.manual_seed(0)
torch.set_num_threads(1)  # printed sums do not depend on the thread count
torch.set_printoptions(precision=4, sci_mode=False)
print("torch", torch.__version__)

# %% [markdown]
# ## 1. Cutting the features into heads: `split_heads` and `merge_heads`
#
# Inside the layer, the h projections of all heads are done at once by one `(d_model,
# d_model)` matrix (section 2); its output `(B, T, D)` then holds the features of every
# head side by side: head 0 owns features `0 … Dh-1`, head 1 the next `Dh`, and so on. For
# the attention each head needs its own `(T, Dh)` block, so we reshape to
# `(B, H, T, Dh)`. Numbers that say where they came from make the layout visible:
# `B = 2` sequences, `T = 3` positions, `D = 8` features, 2 heads of `Dh = 4`.

# %%
x_int = torch.arange(2 * 3 * 8).view(2, 3, 8)  # (B, T, D) = (2, 3, 8): entry = 24*b + 8*t + feature
print("sequence 0, shape (T, D) = (3, 8):\n", x_int[0])

# %% [markdown]
# `split_heads` does it in two moves. First a `view` cuts the last axis into
# `(H, Dh)`; then a `transpose` moves the heads in front of time:
# `(B, T, D) -> (B, T, H, Dh) -> (B, H, T, Dh)`.

# %%
step1 = x_int.view(2, 3, 2, 4)  # (B, T, H, Dh): every time step's 8 features cut into 2 x 4
heads = attn_lib.split_heads(x_int, num_heads=2)  # (B, H, T, Dh) = (2, 2, 3, 4)
torch.testing.assert_close(heads, step1.transpose(1, 2))
print("split_heads:", tuple(x_int.shape), "->", tuple(heads.shape))
print("head 0 of sequence 0, (T, Dh) = (3, 4): features 0-3 of every position\n", heads[0, 0])
print("head 1 of sequence 0: features 4-7 of every position\n", heads[0, 1])

# %% [markdown]
# Each head sees **all three positions**, but only its own four features. That is what
# attention needs: a head compares positions with each other, inside its slice.
#
# The trap: `x.view(B, H, T, Dh)` has the right shape, raises no error, and is wrong. A
# view never moves numbers, it only re-reads them in order; read 24 numbers as
# `(H, T, Dh) = (2, 3, 4)` and "head 0" gets position 0 whole, then half of position 1:

# %%
wrong = x_int.view(2, 2, 3, 4)  # (B, "H", "T", "Dh"): same shape as split_heads, wrong contents
print("wrong 'head 0' of sequence 0:\n", wrong[0, 0])
print("same shape as split_heads:", wrong.shape == heads.shape, "  same contents:", torch.equal(wrong, heads))

# %% [markdown]
# Its "position 0" row `[0, 1, 2, 3]` is right by luck, its "position 1" row `[4, 5, 6, 7]`
# is really the second half of position 0's features: each "head" now mixes features of
# different positions, so attention compares pieces of tokens rather than tokens. No error
# is raised and every shape is right; only a check like this one finds it.
#
# `merge_heads` undoes `split_heads`: transpose back to `(B, T, H, Dh)`, then glue the heads
# together to `(B, T, D)`. That glueing is the **concatenation** in the formula.

# %%
merged = attn_lib.merge_heads(heads)  # (B, H, T, Dh) -> (B, T, H, Dh) -> (B, T, D)
print(
    "merge_heads:", tuple(heads.shape), "->", tuple(merged.shape), "  equals x:", torch.equal(merged, x_int)
)

# %% [markdown]
# ## 2. Multi-head attention, one head at a time
#
# Now the real thing, small: `d_model = 16`, `num_heads = 4`, so `head_dim = 4`, on one
# sequence of `T = 5` random vectors (self-attention: queries, keys and values all come from
# the same `x`).
#
# `attn_lib.MultiHeadAttention` stores the h matrices $W_i^Q$ side by side in one
# `nn.Linear(16, 16)` called `q_proj` (likewise `k_proj`, `v_proj`), and $W^O$ in
# `out_proj`. An `nn.Linear` computes `x @ weight.T + bias`, with `weight` of shape
# `(out, in)`; so head i's $W_i^Q$ is **rows** `i*Dh : (i+1)*Dh` of `q_proj.weight`,
# transposed to `(d_model, head_dim)`.

# %%
d_model, num_heads = 16, 4
head_dim = d_model // num_heads  # 4
mha = attn_lib.MultiHeadAttention(d_model, num_heads).eval()
x = torch.randn(1, 5, d_model)  # (B, T, D) = (1, 5, 16)


def head_slice(linear: nn.Linear, i: int) -> tuple[torch.Tensor, torch.Tensor]:
    """W_i (D, Dh) and b_i (Dh,) of head i inside a packed (D -> D) projection."""
    rows = slice(i * head_dim, (i + 1) * head_dim)
    return linear.weight[rows].T, linear.bias[rows]


W0_q, b0_q = head_slice(mha.q_proj, 0)
print("W_0^Q:", tuple(W0_q.shape), "= (d_model, head_dim)   b_0^Q:", tuple(b0_q.shape))

# %% [markdown]
# The loop: for each head, three projections of the **same** `x`, one scaled dot-product
# attention on `head_dim = 4` dimensions (`attn_lib.scaled_dot_product_attention` from
# lesson 02); then concatenate the heads and apply $W^O$.

# %%
head_outputs, head_weights = [], []
for i in range(num_heads):
    W_q, b_q = head_slice(mha.q_proj, i)
    W_k, b_k = head_slice(mha.k_proj, i)
    W_v, b_v = head_slice(mha.v_proj, i)
    q_i, k_i, v_i = x @ W_q + b_q, x @ W_k + b_k, x @ W_v + b_v  # each (1, 5, 4) = (B, T, Dh)
    out_i, w_i = attn_lib.scaled_dot_product_attention(q_i, k_i, v_i)  # (1, 5, 4), (1, 5, 5)
    head_outputs.append(out_i)
    head_weights.append(w_i)

concat = torch.cat(head_outputs, dim=-1)  # 4 x (1, 5, 4) -> (1, 5, 16): head i in features 4i..4i+3
by_hand = concat @ mha.out_proj.weight.T + mha.out_proj.bias  # W^O: (1, 5, 16)
print("one head's output:", tuple(head_outputs[0].shape), "  concatenated:", tuple(concat.shape))
print("after W^O:", tuple(by_hand.shape))

# %% [markdown]
# The vectorised layer does the same with one matrix product per projection, `split_heads`,
# one batched attention over all heads `(B, H, T, Dh)`, and `merge_heads`. Same numbers:

# %%
out, weights = mha(x, x, x)  # (B, T, D) = (1, 5, 16), (B, H, T, T) = (1, 4, 5, 5)
torch.testing.assert_close(out, by_hand)
torch.testing.assert_close(weights, torch.stack(head_weights, dim=1))
print(
    "loop over heads == attn_lib.MultiHeadAttention: output",
    tuple(out.shape),
    "weights",
    tuple(weights.shape),
)
print("max |difference| < 1e-6:", (out - by_hand).abs().max().item() < 1e-6)

# %% [markdown]
# **Side by side, not stacked.** The seed calls this "scaled dot-product attention stacked
# h times"; it is not a stack. No head reads another head's output: each reads `x`. Autograd
# confirms it on the vectorised layer itself (our loop reads only head 0's rows by
# construction, so it would prove nothing): a forward hook catches the input of $W^O$, the
# concatenated heads, and we differentiate head 0's block of it. It does not depend on the
# other heads' weights *at all* (gradient exactly zero), while it does depend on its own.

# %%
captured = []  # the input of out_proj, i.e. merge_heads(...) of all heads: (B, T, D)
hook = mha.out_proj.register_forward_pre_hook(lambda module, args: captured.append(args[0]))
mha.zero_grad()
mha(x, x, x)  # the vectorised layer, with gradients
hook.remove()
concat_in_layer = captured[0]  # (1, 5, 16); head i in features 4i .. 4i+3
concat_in_layer[..., :head_dim].sum().backward()  # head 0's output inside the layer, before W^O
for name, proj in [("W^Q", mha.q_proj), ("W^K", mha.k_proj), ("W^V", mha.v_proj)]:
    grad = proj.weight.grad  # (16, 16); rows 4i .. 4i+3 belong to head i
    sizes = [grad[i * head_dim : (i + 1) * head_dim].abs().sum().item() for i in range(num_heads)]
    print(f"|d head-0 output / d {name}_i| is exactly 0 for heads i = 0..3:", [v == 0.0 for v in sizes])

# %% [markdown]
# Zero for the other heads, not small (exactly 0 on every machine: those weights never enter
# head 0's arithmetic). The h heads are h independent attentions on the same input, which is
# why they can be computed at the same time (one batched product over the `H` axis, above).
# Only $W^O$, after the concatenation, mixes them.
#
# That is the forward pass. In **training** the heads are not independent: the loss is
# computed from the output *after* $W^O$, so the gradient that reaches head 0 depends on
# what the other heads output. The seed's "the heads train in parallel" holds for the
# computation, not for the learning. One number: take a squared-error loss on the layer's
# output, change only head 1's $W^V$ (rows 4–7 of `v_proj`), and see how much the gradient of
# head 0's $W^Q$ moves.

# %%
target = torch.randn(1, 5, d_model, generator=torch.Generator().manual_seed(5))  # (B, T, D)


def head0_query_grad() -> torch.Tensor:
    """Gradient of ||out - target||² with respect to head 0's rows of W^Q, (Dh, D)."""
    mha.zero_grad()
    out_now, _ = mha(x, x, x)  # (1, 5, 16)
    ((out_now - target) ** 2).sum().backward()
    return mha.q_proj.weight.grad[:head_dim].clone()  # rows 0..3 belong to head 0


grad_before = head0_query_grad()
saved = mha.v_proj.weight.detach().clone()
with torch.no_grad():  # change head 1's W^V only (rows 4..7)
    mha.v_proj.weight[head_dim : 2 * head_dim] += torch.randn(
        head_dim, d_model, generator=torch.Generator().manual_seed(6)
    )
grad_after = head0_query_grad()
with torch.no_grad():
    mha.v_proj.weight.copy_(saved)  # put the layer back as it was
mha.zero_grad()
change = ((grad_after - grad_before).norm() / grad_before.norm()).item()
print(f"head 0's W^Q gradient changes by {change:.0%} when only head 1's W^V changes")
assert change > 0.1

# %% [markdown]
# Head 0's output did not change at all (the forward check above), yet its gradient moved by
# a large fraction: through $W^O$ and the loss, each head's learning signal depends on all the
# others. The heads are *computed* in parallel and *trained* jointly.
#
# ## 3. What heads cost, and what they buy
#
# **Parameters.** $W^Q, W^K, W^V$ are `h` blocks of `(d_model, head_dim)`, together
# `(d_model, d_model)` each, whatever `h` is; $W^O$ is `(d_model, d_model)`. So
# $4\,d_\text{model}^2$ weights plus $4\,d_\text{model}$ biases, for **any** number of
# heads, exactly what **one** head of full width (`head_dim = d_model`) with its $W^O$ costs.
#
# **FLOPs.** Projections: $4 \cdot T \cdot d_\text{model}^2$ multiply-adds, independent of
# `h`. Scores and weighted sum: each of the `h` heads does `T² · head_dim` multiply-adds
# twice, so `h · 2 T² · head_dim` $= 2\,T^2 d_\text{model}$ in total, independent of `h` as well.
# PyTorch's `FlopCounterMode` counts the matrix products (2 FLOPs per multiply-add):

# %%
D, T = 64, 10
x64 = torch.randn(1, T, D)  # (B, T, D) = (1, 10, 64)
columns = [("num_heads", 9), ("head_dim", 8), ("parameters", 11), ("matmul FLOPs", 12)]  # (label, width)
print("  ".join(pad(label, width, ">") for label, width in columns), "(T = 10)")
for h in [1, 2, 4, 8, 16]:
    layer = attn_lib.MultiHeadAttention(D, h)
    with FlopCounterMode(display=False) as counter:
        layer(x64, x64, x64)
    n_params = sum(p.numel() for p in layer.parameters())
    print(f"{h:9d}  {D // h:8d}  {n_params:11d}  {counter.get_total_flops():12d}")
print("4 D^2 + 4 D =", 4 * D * D + 4 * D, "   2 * (4 T D^2 + 2 T^2 D) =", 2 * (4 * T * D * D + 2 * T * T * D))

# %% [markdown]
# Identical rows. (Not counted: the softmax, which has one exponential per weight, so
# `h` times more of them, `h · T²`; and storing `h` weight maps instead of one.)
#
# **What they buy: h distributions instead of one.** A dot product over `d_model`
# features is the sum of the dot products over the slices. So a single full-width head,
# given the same projections, computes scores that are exactly the **sum** of the per-head
# scores (up to the $1/\sqrt{\cdot}$ factors) and puts them through **one** softmax:

# %%
q = attn_lib.split_heads(mha.q_proj(x), num_heads)  # (1, 4, 5, 4) = (B, H, T, Dh)
k = attn_lib.split_heads(mha.k_proj(x), num_heads)  # (1, 4, 5, 4)
full_scores = mha.q_proj(x) @ mha.k_proj(x).transpose(-2, -1)  # (1, 5, 5): dot products over all 16 features
per_head_scores = q @ k.transpose(-2, -1)  # (1, 4, 5, 5): dot products over each head's 4 features
torch.testing.assert_close(full_scores, per_head_scores.sum(dim=1))
print("q·k over 16 features == sum over the 4 heads of q_h·k_h over 4 features: True")

# %% [markdown]
# A softmax of a sum is not a mixture of softmaxes. One head gives each query one
# distribution over the positions: if it should look at two places for two different
# reasons, it can only split its weight and *average* the two values it finds. With `h`
# heads each query gets `h` distributions and `h` separate results, which $W^O$ can combine
# as it likes. Section 5 builds exactly such a case. Vaswani et al. (2017, Table 3, rows A)
# report that on their English-to-German development set one head of width 512 scored
# 0.9 BLEU below eight heads of width 64, and that 32 heads of width 16 were worse again:
# a head also needs enough dimensions to compare positions well. (That is their
# measurement, quoted; we do not retrain their model here.)
#
# ## 4. `attn_lib.MultiHeadAttention` matches `torch.nn.MultiheadAttention`
#
# PyTorch's layer packs $W^Q, W^K, W^V$ row-wise into one `in_proj_weight` of shape
# `(3 d_model, d_model)`; `MultiHeadAttention.from_torch` copies the three blocks into
# `q_proj`, `k_proj`, `v_proj` (and `out_proj`). Then both must give the same outputs and the
# same weights, per head (`average_attn_weights=False`) and averaged over the heads (its
# default). We test cross-attention shapes, `T_q = 5` queries against `T_k = 7` keys:

# %%
torch.manual_seed(1)
torch_mha = nn.MultiheadAttention(d_model, num_heads, batch_first=True).eval()
ours = attn_lib.MultiHeadAttention.from_torch(torch_mha).eval()
query = torch.randn(2, 5, d_model)  # (B, T_q, D)
memory = torch.randn(2, 7, d_model)  # (B, T_k, D): keys and values

out_t, w_t = torch_mha(query, memory, memory, average_attn_weights=False)  # (2, 5, 16), (2, 4, 5, 7)
_, w_t_avg = torch_mha(query, memory, memory)  # (2, 5, 7): averaged over the heads
out_o, w_o = ours(query, memory, memory)  # (2, 5, 16), (2, 4, 5, 7)
torch.testing.assert_close(out_o, out_t)
torch.testing.assert_close(w_o, w_t)
torch.testing.assert_close(w_o.mean(dim=1), w_t_avg)
print("outputs", tuple(out_o.shape), "max |diff| < 1e-6:", (out_o - out_t).abs().max().item() < 1e-6)
print("per-head weights", tuple(w_o.shape), "max |diff| < 1e-6:", (w_o - w_t).abs().max().item() < 1e-6)
print("head-averaged weights", tuple(w_t_avg.shape), "equal to ours.mean(dim=1): True")

# %% [markdown]
# One difference to remember: a **boolean mask means the opposite** in
# `torch.nn.MultiheadAttention` (True = *blocked*) from `attn_lib` and
# `torch.nn.functional.scaled_dot_product_attention` (True = *may attend*).
# `attn_lib.to_torch_mha_mask` flips it; lesson 05 shows the silent bug of forgetting.

# %%
mask = attn_lib.causal_mask(5)  # (T_q, T_k) = (5, 5), True = may attend
out_t, _ = torch_mha(query, query, query, attn_mask=attn_lib.to_torch_mha_mask(mask))
out_o, _ = ours(query, query, query, mask=mask)
torch.testing.assert_close(out_o, out_t)
print("with a causal mask, converted by to_torch_mha_mask: equal")

# %% [markdown]
# ## 5. Two heads, two rules, set by hand
#
# Heads of trained models often follow recognisable rules (look at the previous token,
# look at earlier copies of this token, ...); section 6 trains two heads and checks. First
# we *build* two such heads by choosing the weights ourselves, no training, and watch them.
# The sequence has repeated tokens:

# %%
words = "a b c a b d a c".split()
vocab = ["a", "b", "c", "d"]
T, V = len(words), len(vocab)  # 8 positions, 4 token types
token_ids = torch.tensor([vocab.index(w) for w in words])  # (T,)
print(list(zip(range(T), words, strict=True)))

# %% [markdown]
# Each position's vector `x` (`d_model = 16`) holds two one-hot codes: features 0–3 say
# **which token** it is, features 4–11 say **which position** it is (features 12–15 are 0).

# %%
D2, H2 = 16, 2
head_dim2 = D2 // H2  # 8
x_hand = torch.zeros(1, T, D2)  # (B, T, D) = (1, 8, 16)
x_hand[0, torch.arange(T), token_ids] = 1.0  # token one-hot: features 0..3
x_hand[0, torch.arange(T), V + torch.arange(T)] = 1.0  # position one-hot: features 4..11
print("x for position 3 (token 'a'):", x_hand[0, 3].int().tolist())

# %% [markdown]
# Now the weights, head 0 in rows 0–7 of each projection and head 1 in rows 8–15 (section 2).
# With a factor `c = 8`, a matching query–key pair scores $c^2/\sqrt{8} \approx 22.6$ and every
# other pair 0, so the softmax is essentially one-hot on the matches ($e^{-22.6} \approx 10^{-10}$).
#
# - **Head 0, "previous token"**: the query of position i is $c\,e_i$, the key of position
#   j is $c\,e_{j+1}$, so $q_i \cdot k_j$ is large exactly when $j = i - 1$. Its value
#   copies the token one-hot, so head 0 outputs **the previous token**.
# - **Head 1, "same token"**: query and key are both $c$ times the token one-hot, so
#   $q_i \cdot k_j$ is large exactly when positions i and j hold the same token (i itself
#   included). Its value copies the position one-hot, so head 1 outputs **where else this
#   token stands**.
# - $W^O$ = identity: the output is the plain concatenation, features 0–7 from head 0,
#   8–15 from head 1.

# %%
c = 8.0
hand = attn_lib.MultiHeadAttention(D2, H2, bias=False).eval()
with torch.no_grad():
    for p in hand.parameters():
        p.zero_()
    for i in range(T):  # head 0 (rows 0..7): "previous position"
        hand.q_proj.weight[i, V + i] = c  # q_i = c * e_i
    for j in range(T - 1):
        hand.k_proj.weight[j + 1, V + j] = c  # k_j = c * e_{j+1}
    for t in range(V):
        hand.v_proj.weight[t, t] = 1.0  # v_j = token one-hot of j
    for t in range(V):  # head 1 (rows 8..15): "same token"
        hand.q_proj.weight[head_dim2 + t, t] = c  # q_i = c * token one-hot
        hand.k_proj.weight[head_dim2 + t, t] = c  # k_j = c * token one-hot
    for i in range(T):
        hand.v_proj.weight[head_dim2 + i, V + i] = 1.0  # v_j = position one-hot of j
    hand.out_proj.weight.copy_(torch.eye(D2))  # W^O = identity

out_hand, w_hand = hand(x_hand, x_hand, x_hand)  # (1, 8, 16), (1, 2, 8, 8)
print("output", tuple(out_hand.shape), " weights", tuple(w_hand.shape), "= (B, H, T, T)")

# %%
fig = plot_attention_heads(
    w_hand[0],
    query_labels=[f"{i}:{w}" for i, w in enumerate(words)],
    key_labels=[f"{i}:{w}" for i, w in enumerate(words)],
    title="Same input, two heads, two rules: head 0 looks one position back, head 1 at copies of the same token",
)
fig.set_size_inches(10, 4.2)
for ax in fig.axes:
    ax.tick_params(labelsize=8)
fig.axes[0].set_title("head 0: the previous position")
fig.axes[1].set_title("head 1: the same token")
fig.tight_layout()
fig.colorbar(fig.axes[1].images[0], ax=fig.axes, fraction=0.025, pad=0.02, label="weight")
plt.show()

# %% [markdown]
# The pictures are the rules; now the numbers. Position 0 has no previous position: all its
# head-0 scores are 0, so its weights are uniform, $1/8$ each. Every other row of head 0 puts its weight on i − 1,
# and every row of head 1 on the positions with the same token.

# %%
w0, w1 = w_hand[0, 0], w_hand[0, 1]  # (T, T) each
on_previous = w0[torch.arange(1, T), torch.arange(0, T - 1)]  # weight of row i on key i-1, i = 1..7
same_token = token_ids[:, None] == token_ids[None, :]  # (T, T) bool
print("head 0, weight on the previous position, rows 1..7:", [round(v, 6) for v in on_previous.tolist()])
print("head 0, row 0:", [round(v, 3) for v in w0[0].tolist()])
print(
    "head 1, weight on same-token positions, per row:",
    [round(v, 6) for v in (w1 * same_token).sum(-1).tolist()],
)
print("head 1, row 0 ('a' at 0, 3, 6):", [round(v, 3) for v in w1[0].tolist()])
assert bool((on_previous > 0.999).all()) and bool(((w1 * same_token).sum(-1) > 0.999).all())

# %% [markdown]
# And the outputs carry what the rules found: features 0–3 (head 0) are the one-hot of the
# previous token, features 8–15 (head 1) spread $1/n$ over the $n$ positions of the same token.
# The **share of the previous token** in features 0–3, `out[i, token_ids[i-1]]`, measures how
# cleanly position i can read "which token came before me"; 1 is perfect.

# %%
prev_read = [vocab[int(v)] for v in out_hand[0, 1:, :V].argmax(-1)]  # head 0's read-out, positions 1..7
prev_share = out_hand[0, torch.arange(1, T), token_ids[:-1]]  # (7,): weight of the true previous token
print("tokens                   :", words)
print("head 0 reads (1..7)      :", ["-", *prev_read])
print("share of previous token  :", [round(v, 3) for v in prev_share.tolist()])
assert prev_read == words[:-1]
print("head 1 at position 1 ('b'): weight per position", [round(v, 2) for v in out_hand[0, 1, 8:].tolist()])

# %% [markdown]
# **The same weights in one head.** Give a single head of full width (`num_heads = 1`,
# `head_dim = 16`) exactly these parameters. Its scores are the *sum* of the two heads'
# scores (section 3), divided by $\sqrt{16}$ rather than $\sqrt{8}$, and one softmax must serve both rules: each row splits its weight
# between the previous position and the same-token positions, and its output is a blend.

# %%
single = attn_lib.MultiHeadAttention(D2, 1, bias=False).eval()
single.load_state_dict(hand.state_dict())  # the very same four matrices
out_single, w_single = single(x_hand, x_hand, x_hand)  # (1, 8, 16), (1, 1, 8, 8)
share_single = out_single[0, torch.arange(1, T), token_ids[:-1]]  # (7,)
print("share of previous token, one head :", [round(v, 3) for v in share_single.tolist()])
print(
    "share of the token itself, one head:",
    [round(v, 3) for v in out_single[0, torch.arange(1, T), token_ids[1:]].tolist()],
)
print("one head, row 1 ('b'): weights", [round(v, 3) for v in w_single[0, 0, 1].tolist()])

fig, ax = plt.subplots(figsize=(6, 4.2))
labels = [f"{i}:{w}" for i, w in enumerate(words)]
plot_attention(
    w_single[0, 0], labels, labels, title="One head, same weights: the two rules blur into one map", ax=ax
)
plt.show()

# %% [markdown]
# With one head the previous token gets between a quarter and a half of the read-out, and
# the token itself (found by the same-token rule) as much or more: the two answers are
# averaged into one vector. With two heads of half the width, and the same number of
# parameters, each rule has its own softmax and its own output, and both are read off
# cleanly. The paper puts it in one sentence: "Multi-head attention allows the model to
# jointly attend to information from different representation subspaces at different
# positions. With a single attention head, averaging inhibits this."
#
# ## 6. Two heads, trained: do they find rules on their own?
#
# Now no hand-set weights. A 2-head `attn_lib.MultiHeadAttention` (`d_model = 16`: a token
# one-hot of 8 types next to a position one-hot of 8 positions) and a linear read-out are
# trained with Adam on random sequences of 8 tokens to output, at every position i, **both
# neighbours**: the token at i − 1 and the token at i + 1. Nothing says which head should do
# what. `train_neighbour_heads` (in `attn_lib.widgets.lesson03`) runs 300 steps, about two
# seconds, and then **scores each head**: its mean weight on the previous key (the
# sub-diagonal of its map), on itself (the diagonal) and on the next key (the
# super-diagonal). The exact numbers depend on your CPU's rounding during training, so the
# cell prints them for you and asserts only what must hold.

# %% tags=["nbval-ignore-output"]
trained = train_neighbour_heads(seed=0, steps=300)
print(f"training loss: first step {trained['losses'][0]:.2f}, last step {trained['losses'][-1]:.4f}")
rule_label = {"previous (i-1)": "previous (i-1)", "same (i)": "same (i)", "next (i+1)": "next (i+1)"}  # what the table shows for each key
readout_label = {"previous": "previous token", "next": "next token"}
print("read-out accuracy:", ", ".join(f"{readout_label[k]} {v:.0%}" for k, v in trained["accuracy"].items()))
print(pad("mean weight on the key at ...", 29), pad("head 0", 8, ">"), pad("head 1", 8, ">"))
for rule, score in trained["scores"].items():
    print(f"  {pad(rule_label[rule], 27)} {score[0].item():8.2f} {score[1].item():8.2f}")
prev_head = int(trained["scores"]["previous (i-1)"].argmax())
next_head = int(trained["scores"]["next (i+1)"].argmax())
assert prev_head != next_head  # the two rules went to different heads
assert trained["scores"]["previous (i-1)"][prev_head] > 0.7 and trained["scores"]["next (i+1)"][next_head] > 0.7
assert min(trained["accuracy"].values()) > 0.95

# %% [markdown]
# In the stored run, one head puts about 0.9 of its weight on the previous key and the
# other about 0.9 on the next one, and both neighbours are read off almost perfectly: the
# heads **split the job**, each learning one positional rule. (Which head takes which rule
# depends on the seed: the assertion checks only that they differ.) The maps, averaged over
# 256 fresh sequences; the two edge rows, which have no such neighbour, look the other way:

# %%
rule_of = {prev_head: "the previous position (i−1)", next_head: "the next position (i+1)"}
fig = plot_attention_heads(
    trained["weights"],
    [str(i) for i in range(8)],
    [str(i) for i in range(8)],
    title="Trained to name both neighbours, the two heads split the job: one attends to i−1, the other to i+1",
)
fig.set_size_inches(10, 4.2)
for h, ax in enumerate(fig.axes[:2]):
    ax.set_title(f"head {h}: {rule_of[h]}")
fig.tight_layout()
fig.colorbar(fig.axes[1].images[0], ax=fig.axes, fraction=0.025, pad=0.02, label="weight (mean of 256)")
plt.show()

# %% [markdown]
# Heads of real language models are scored the same way (how much weight on the previous
# token, on earlier copies of the current token, ...); "previous-token heads" are among the
# first found. Here the task made the rules; what the picture shows is that separate
# softmaxes let two heads settle on two different rules at once.
#
# Lesson 10 shows such rules forming without a task made for them: a two-layer language model
# trained on repeated random text grows a previous-token head in layer 0 and induction heads in
# layer 1, found with the same kind of score and confirmed by switching them off.
#
# ## 7. Try it: how num_heads cuts the same features
#
# A sentence of 10 tokens with random embeddings (plus sinusoidal positions, lesson 04) and
# **one** fixed pair of random $W^Q, W^K$ of shape `(32, 32)`. Changing `num_heads` changes
# nothing but how the 32 features are cut: 1 head of 32, 2 of 16, 4 of 8 or 8 of 4. The
# weights are random, so the maps mean nothing; what to see is that every head has its
# own map and that `head_dim = d_model / num_heads`.
#
# One disclosure: `head_map` draws $W^Q$ and $W^K$ **larger than a fresh layer would**
# (entries $N(0, (1.5/\sqrt{32})^2)$, about 2.6 times the standard deviation of `nn.Linear`'s
# default initialisation, which `attn_lib.MultiHeadAttention` uses), so its scores are about
# 7 times larger and its maps peaked: the differences between heads are then easy to see.
# At the real initialisation the maps are close to uniform, as lesson 04 will show:

# %%
for init in ("sharp", "library"):
    w_init = head_map(num_heads=4, head=0, seed=0, init=init)["all_weights"]  # (H, T, T)
    print(f'init="{init}": mean largest weight per row {w_init.amax(-1).mean().item():.2f}  (uniform: 0.10)')

# %% [markdown]
# All four heads for `num_heads = 4`, with the widget's sharper weights:

# %%
r = head_map(num_heads=4, head=0, seed=0)
print("d_model =", r["d_model"], " num_heads =", r["num_heads"], " head_dim =", r["head_dim"])
print("all heads' weights:", tuple(r["all_weights"].shape), "= (H, T, T)")
fig = plot_attention_heads(
    r["all_weights"],
    HEAD_MAP_TOKENS,
    HEAD_MAP_TOKENS,
    title="Random (deliberately large) weights, 4 heads of 8 dims: four different maps",
)
fig.set_size_inches(12, 3.8)
fig.tight_layout()
fig.colorbar(fig.axes[0].images[0], ax=fig.axes, fraction=0.015, pad=0.01, label="weight")
plt.show()

# %% [markdown]
# Now pick the number of heads and a head. The strip under the map shows which of the 32
# features of q and k the head reads.

# %% tags=["nbval-ignore-output"]
heads_dd = widgets.Dropdown(
    options=[h for h in (1, 2, 4, 8) if HEAD_MAP_D_MODEL % h == 0], value=4, description="num_heads"
)
head_slider = widgets.IntSlider(value=0, min=0, max=3, description="head", continuous_update=False)


def fit_head_slider(change: dict) -> None:
    head_slider.max = change["new"] - 1  # heads 0 .. num_heads-1 (the value is clamped if needed)


heads_dd.observe(fit_head_slider, names="value")


def show_head(num_heads: int, head: int) -> None:
    plot_head_map(num_heads, head)
    plt.show()


view = widgets.interactive_output(show_head, {"num_heads": heads_dd, "head": head_slider})
display(widgets.VBox([widgets.HBox([heads_dd, head_slider]), view]))

# %% [markdown]
# ## Exercises
#
# Now write it yourself. Fill in the body of each `my_...` function and run the cell below it: the
# check calls your function on several inputs and compares with `attn_lib`. Yellow = not
# attempted yet, red = something differs (a common mistake is named, with a hint), green = right.
#
# ### Exercise 1 · split the heads
#
# `x` has shape `(B, T, D)`. Cut its features into `num_heads` consecutive slices of
# `head_dim = D // num_heads` (head `i` owns features `i·head_dim … (i+1)·head_dim − 1`) and
# return `(B, H, T, head_dim)`: heads in front of time.
#
# Stuck? `show_solution("split_heads")` (after `from attn_lib.exercises import show_solution`).


# %%
def my_split_heads(x, num_heads):
    """(B, T, D) -> (B, H, T, Dh)."""
    ...  # your code here


# %%
from attn_lib.exercises import check_split_heads

check_split_heads(my_split_heads)

# %% [markdown]
# ### Exercise 2 · merge the heads
#
# The inverse: `(B, H, T, head_dim)` → `(B, T, H·head_dim)`, the heads' outputs side by side
# (head 0's features first). `my_merge_heads(my_split_heads(x, h))` must give `x` back.
#
# Stuck? `show_solution("merge_heads")`.


# %%
def my_merge_heads(x):
    """(B, H, T, Dh) -> (B, T, H*Dh)."""
    ...  # your code here


# %%
from attn_lib.exercises import check_merge_heads

check_merge_heads(my_merge_heads)

# %% [markdown]
# ### Exercise 3 · multi-head attention from its matrices
#
# Queries come from `x_q` `(B, T_q, D)`, keys and values from `x_kv` `(B, T_k, D)`. The four
# matrices are `(D, D)` and apply as in the paper, $Q = X W^Q$: `x_q @ W_q`. Split Q, K and V
# into `num_heads` heads, run scaled dot-product attention in every head (scaled by
# $\sqrt{\text{head\_dim}}$), merge the heads and apply `W_o`. Return `(B, T_q, D)`. You may use
# your functions above and `attn_lib.scaled_dot_product_attention`.
#
# Stuck? `show_solution("multi_head_attention")`.


# %%
def my_multi_head_attention(x_q, x_kv, W_q, W_k, W_v, W_o, num_heads):
    """x_q (B, T_q, D), x_kv (B, T_k, D), W_* (D, D) -> (B, T_q, D)."""
    ...  # your code here


# %%
from attn_lib.exercises import check_multi_head_attention

check_multi_head_attention(my_multi_head_attention)

# %% [markdown]
# ## Summary
#
# - **Multi-head attention** (claim S5, stated exactly): h scaled dot-product attentions
#   run **side by side on the same input**, each with its own $W_i^Q, W_i^K, W_i^V$
#   `(d_model, head_dim)` and on `head_dim = d_model / h` dimensions; their outputs are
#   **concatenated** to `(B, T, d_model)` and multiplied by $W^O$. They are not stacked:
#   head 0's output has exactly zero gradient with respect to every other head's weights.
# - Layout: `split_heads` is `view (B, T, H, Dh)` then `transpose -> (B, H, T, Dh)`;
#   `merge_heads` undoes it (the concatenation). `view(B, H, T, Dh)` alone has the right
#   shape and the wrong contents.
# - The loop over heads with weight slices equals the vectorised
#   `attn_lib.MultiHeadAttention`, which equals `torch.nn.MultiheadAttention` (outputs,
#   per-head and averaged weights; remember its opposite bool-mask meaning).
# - **Cost**: $4d_\text{model}^2 + 4d_\text{model}$ parameters and the same matmul FLOPs for
#   any h, the same as one full-width head. **Gain**: h softmax distributions per query
#   instead of one; a full-width head's scores are the sum of the per-head scores, so one
#   head blends rules that separate heads keep apart (the previous token's share of the
#   read-out: 1.0 at every position with two heads, 0.25–0.5 with one head of the same
#   weights).
# - Heads are *computed* independently, but *trained* jointly: the loss sees them only
#   through $W^O$, so one head's gradient depends on the others (a change of head 1's $W^V$
#   alone moved head 0's gradient by a large fraction).
# - **Trained** heads find rules on their own: asked for both neighbours, two heads split the
#   job, one attending to i − 1 and the other to i + 1 (scored by the mass on the sub- and
#   super-diagonal).
#
# ## Check yourself
#
# 1. `d_model = 512`, `h = 8`. What are the shapes of $W_3^Q$, of head 3's output for a
#    sequence of 20 tokens, and of the concatenation?
# 2. Someone writes `x.view(B, H, T, Dh)` instead of `split_heads(x, H)`. Does it raise an
#    error? What does head 0 see?
# 3. How many parameters does `MultiHeadAttention(256, num_heads)` have for 1, 4 and 16
#    heads (with biases)?
# 4. Why can the h heads be computed at the same time, and where are their results mixed?
# 5. In `torch.nn.MultiheadAttention`, what does `attn_mask=True` at position (i, j) mean?
#
# <details><summary>Answers</summary>
#
# 1. $W_3^Q$: `(512, 64)`; head 3's output: `(20, 64)`; the concatenation: `(20, 512)`
#    (then $W^O$ keeps `(20, 512)`).
# 2. No error, the shape is right. Head 0 gets the first `T·Dh` numbers of the sequence in
#    memory order: whole positions' feature vectors cut into pieces, mixing positions and
#    features; every head sees the wrong thing.
# 3. $4 \cdot 256^2 + 4 \cdot 256 = 263{,}168$ for every number of heads.
# 4. Every head reads the same input and none reads another's output, so they are
#    independent (one batched matrix product over the head axis). Only $W^O$, after the
#    concatenation, mixes them; through it (and the loss) their *gradients* depend on each
#    other, so they are computed in parallel but trained jointly.
# 5. That query i may **not** attend to key j: the opposite of `attn_lib` and
#    `F.scaled_dot_product_attention`; convert with `attn_lib.to_torch_mha_mask`.
#
# </details>
