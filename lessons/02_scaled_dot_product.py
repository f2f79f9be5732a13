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
# # 02 · Scaled dot-product attention
#
# Lesson 01 looked up **one** query among a few keys. A Transformer does it for every
# position at once, with matrices, and it divides every score by $\sqrt{d_k}$ before the
# softmax. This lesson writes the formula of the paper line by line and then *measures* why
# the division is there.
#
# $$\text{Attention}(Q, K, V) = \text{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V$$
#
# **Learning goals.** After this lesson you can
#
# 1. compute attention in matrix form and name the shape of every intermediate, first for
#    one sequence, then with a batch and a heads dimension (claim S2 of the seed);
# 2. show that your step-by-step version equals `attn_lib.scaled_dot_product_attention`,
#    and that this equals PyTorch's `torch.nn.functional.scaled_dot_product_attention`;
# 3. explain why a softmax subtracts the maximum first (and watch the naive one overflow);
# 4. read a division of the scores as a **temperature**;
# 5. explain *why* $\sqrt{d_k}$ with numbers you measured: the variance of $q\cdot k$
#    grows like $d_k$; without the scale the softmax **saturates** (one weight → 1) and
#    its **gradient vanishes**; with the scale both level off (claim S3), and dividing by
#    $d_k$ instead overshoots towards uniform weights.

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display

import attn_lib
from attn_lib.i18n import display_width, pad
from attn_lib.viz import plot_attention, plot_scaling_curves, plot_score_variance, plot_temperature
from attn_lib.widgets import SCALING_DK_CHOICES, plot_scaling_demo, scaling_curves, scaling_demo
from attn_lib.widgets.lesson02 import query_norm_spread, table_header

torch.manual_seed(0)
torch.set_num_threads(1)  # printed sums do not depend on the thread count
torch.set_printoptions(precision=4, sci_mode=False)
print("torch", torch.__version__)

# %% [markdown]
# ## 1. From one query to a matrix of queries
#
# In lesson 01 one query $q$ scored every key by a dot product $q\cdot k_j$, a softmax
# turned the scores into weights, and the output was the weighted sum of the values. With
# many queries we stack them as the **rows** of a matrix, and likewise the keys and values:
#
# - $Q$: `(T_q, d_k)`, one row per query;
# - $K$: `(T_k, d_k)`, one row per key (same width $d_k$ as the queries, or no dot product);
# - $V$: `(T_k, d_v)`, one row per key: every key has its value.

# %%
T_q, T_k, d_k, d_v = 3, 5, 4, 6
Q = torch.randn(T_q, d_k)  # (T_q, d_k) = (3, 4)
K = torch.randn(T_k, d_k)  # (T_k, d_k) = (5, 4)
V = torch.randn(T_k, d_v)  # (T_k, d_v) = (5, 6)
print("Q", tuple(Q.shape), " K", tuple(K.shape), " V", tuple(V.shape))

# %% [markdown]
# Now the formula, one operation per line. $QK^\top$ holds **all** query-key dot products
# at once: entry $(i, j)$ is row $i$ of $Q$ times column $j$ of $K^\top$, that is
# $q_i \cdot k_j$. The softmax runs along the last axis (over the keys), so each row is one
# query's distribution over the keys. As promised in lesson 01, the softmax is
# `attn_lib.softmax`.

# %%
K_t = K.transpose(-2, -1)  # (d_k, T_k)
scores = Q @ K_t  # (T_q, d_k) @ (d_k, T_k) -> (T_q, T_k): scores[i, j] = q_i · k_j
scaled = scores / math.sqrt(d_k)  # (T_q, T_k)
weights = attn_lib.softmax(scaled, dim=-1)  # (T_q, T_k), each row sums to 1
output = weights @ V  # (T_q, T_k) @ (T_k, d_v) -> (T_q, d_v)

for name, t in [("Q", Q), ("K^T", K_t), ("scores", scores), ("weights", weights), ("output", output)]:
    print(f"{name:8s} {tuple(t.shape)}")
print("row sums of the weights (rounded to 4 digits):", weights.sum(-1).round(decimals=4))
torch.testing.assert_close(scores[1, 3], Q[1] @ K[3])  # entry (1, 3) is q_1 · k_3
print(f"scores[1, 3] = q_1 · k_3 = {scores[1, 3].item():.3f}")

# %% [markdown]
# Row $i$ of the output is the weighted average of the value rows, with row $i$ of the
# weights: $\text{output}_i = \sum_j w_{ij} v_j$. The matrix product does all $T_q$ of
# them at once; here is row 0 written as the sum.

# %%
row0 = sum(weights[0, j] * V[j] for j in range(T_k))  # (d_v,)
torch.testing.assert_close(row0, output[0])
print("output[0]          :", output[0])
print("sum_j w_0j * v_j   :", row0)

# %% [markdown]
# The weights as a picture: one row per query, one column per key, each row sums to 1.

# %%
fig, ax = plt.subplots(figsize=(6, 2.8))
plot_attention(
    weights,
    [f"q{i}" for i in range(T_q)],
    [f"k{j}" for j in range(T_k)],
    title="softmax(QKᵀ/√d_k): each query row is a distribution over the 5 keys",
    ax=ax,
    annotate=True,
    vmax=None,
)
plt.show()

# %% [markdown]
# ## 2. With a batch and heads
#
# Real inputs carry more leading dimensions: a **batch** of B sequences, and (lesson 03)
# H **heads**. The layout is `(B, H, T, d)`. Nothing in the formula changes: `@` multiplies
# the last two dimensions and treats every leading dimension as a batch, and
# `transpose(-2, -1)` swaps only the last two.

# %%
B, H = 2, 4
Qb = torch.randn(B, H, T_q, d_k)  # (B, H, T_q, d_k)
Kb = torch.randn(B, H, T_k, d_k)  # (B, H, T_k, d_k)
Vb = torch.randn(B, H, T_k, d_v)  # (B, H, T_k, d_v)

Kb_t = Kb.transpose(-2, -1)  # (B, H, d_k, T_k)
scores_b = Qb @ Kb_t / math.sqrt(d_k)  # (B, H, T_q, T_k)
weights_b = attn_lib.softmax(scores_b, dim=-1)  # (B, H, T_q, T_k)
output_b = weights_b @ Vb  # (B, H, T_q, d_v)
for name, t in [("Q", Qb), ("K^T", Kb_t), ("scores", scores_b), ("weights", weights_b), ("output", output_b)]:
    print(f"{name:8s} {tuple(t.shape)}")

# %% [markdown]
# Each of the $B \cdot H = 8$ problems is the one-sequence computation of section 1;
# for example batch 1, head 2:

# %%
alone = attn_lib.softmax(Qb[1, 2] @ Kb[1, 2].T / math.sqrt(d_k), dim=-1) @ Vb[1, 2]  # (T_q, d_v)
torch.testing.assert_close(alone, output_b[1, 2])
print("output_b[1, 2] equals attention on (Q[1, 2], K[1, 2], V[1, 2]) alone:", tuple(alone.shape))

# %% [markdown]
# ## 3. This is `attn_lib.scaled_dot_product_attention`, and PyTorch agrees
#
# The library function does exactly these lines (plus checks of its inputs and an optional
# mask, lesson 05) and returns the output and the weights. PyTorch has its own,
# `torch.nn.functional.scaled_dot_product_attention` (a fused kernel that returns only the
# output). Three implementations, one answer:

# %%
out_lib, weights_lib = attn_lib.scaled_dot_product_attention(Qb, Kb, Vb)  # (B, H, T_q, d_v), (B, H, T_q, T_k)
torch.testing.assert_close(out_lib, output_b)
torch.testing.assert_close(weights_lib, weights_b)

out_torch = F.scaled_dot_product_attention(Qb, Kb, Vb)  # (B, H, T_q, d_v)
torch.testing.assert_close(out_lib, out_torch)
print("mine == attn_lib:  max |difference| < 1e-6:", (output_b - out_lib).abs().max().item() < 1e-6)
print("attn_lib == torch: max |difference| < 1e-6:", (out_lib - out_torch).abs().max().item() < 1e-6)
print("for scale: the outputs themselves are of size", round(out_lib.abs().max().item(), 1))

# %% [markdown]
# Any difference is float32 rounding (at most about $10^{-7}$ here, and on some machines
# exactly 0): the three do the same arithmetic, possibly in other orders, and which last
# bits come out depends on your CPU and PyTorch's kernels. From now on the course calls
# `attn_lib.scaled_dot_product_attention`.
#
# ## 4. A softmax that cannot overflow
#
# The softmax of the formula is $p_i = e^{x_i} / \sum_j e^{x_j}$. Written literally, it
# breaks as soon as a score is large: float32 holds numbers up to about $3.4\cdot10^{38}$,
# so $e^{x}$ is `inf` from $x \approx 88.7$ on, and `inf / inf` is `nan`.

# %%
print(
    "exp(88.) =", torch.exp(torch.tensor(88.0)).item(), "  exp(89.) =", torch.exp(torch.tensor(89.0)).item()
)
big = torch.tensor([1000.0, 1001.0, 1002.0])  # (3,) float32
naive = torch.exp(big) / torch.exp(big).sum()
print("exp(x)             :", torch.exp(big))
print("naive softmax(x)   :", naive)

# %% [markdown]
# The fix costs one line. For any constant $c$,
#
# $$\frac{e^{x_i - c}}{\sum_j e^{x_j - c}} = \frac{e^{-c}\,e^{x_i}}{e^{-c}\sum_j e^{x_j}} = \frac{e^{x_i}}{\sum_j e^{x_j}},$$
#
# so we may subtract any $c$ we like. Take $c = \max_j x_j$: every exponent is then
# $\le 0$, so every $e^{x_i - c}$ lies in $(0, 1]$ (no overflow), and the largest one is
# exactly $e^0 = 1$, so the sum is at least 1 (no division by zero). Very negative scores
# underflow to a weight of 0, which is harmless.

# %%
stable = torch.exp(big - big.max()) / torch.exp(big - big.max()).sum()
print("stable softmax(x)  :", stable)
torch.testing.assert_close(stable, attn_lib.softmax(big))
torch.testing.assert_close(stable, torch.softmax(big, dim=-1))
print("equals attn_lib.softmax and torch.softmax: True")

small = torch.tensor([0.0, 1.0, 2.0])  # where the naive version works, both agree
torch.testing.assert_close(torch.exp(small) / torch.exp(small).sum(), attn_lib.softmax(small))
print("softmax([1000, 1001, 1002]) == softmax([0, 1, 2]):", torch.allclose(stable, attn_lib.softmax(small)))

# %% [markdown]
# This is `attn_lib.softmax`. PyTorch's `torch.softmax` subtracts the maximum internally
# too. Note the last line: only the *differences* between scores matter, never their level.
#
# One case where the two differ: a row whose scores are **all** $-\infty$, a query that may
# attend to nothing (it happens with masks, lesson 05). Its maximum is $-\infty$ and
# $-\infty - (-\infty)$ is `nan`. `attn_lib.softmax` defines the answer as all-zero weights
# instead, so no `nan` spreads through a model:

# %%
nothing = torch.full((3,), -math.inf)  # (3,) every key blocked
print("torch.softmax   :", torch.softmax(nothing, dim=-1))
print("attn_lib.softmax:", attn_lib.softmax(nothing))

# %% [markdown]
# ## 5. Temperature
#
# Dividing the scores by a number $\tau > 0$ before the softmax, $\text{softmax}(x/\tau)$,
# is called a **temperature**. Small $\tau$ stretches the differences between scores: the
# largest wins everything (**argmax**, one-hot). Large $\tau$ squeezes them: every key gets
# about the same weight (**uniform**, $1/T_k$).

# %%
x = torch.tensor([2.0, 1.0, 0.5, -1.0])  # four scores
for tau in [0.05, 0.25, 1.0, 4.0, 100.0]:
    p = attn_lib.softmax(x / tau)
    print(f"tau = {tau:6.2f}: weights", [round(v + 0.0, 3) for v in p.tolist()])

# %%
taus = torch.logspace(-2, 2, 200)  # (200,) from 0.01 to 100
fig = plot_temperature(x, taus)  # attn_lib.viz: one curve softmax(x / τ)[j] per score
plt.show()

# %% [markdown]
# So $\text{softmax}(QK^\top/\sqrt{d_k})$ is a softmax at temperature $\sqrt{d_k}$: for
# $d_k = 64$, temperature 8. (In lesson 01 a *longer* query gave sharper weights: lengthening
# the query by a factor $a$ is a temperature of $1/a$.) The next sections show why exactly
# this temperature: it cancels how the scores grow with $d_k$.
#
# ## 6. Why √d_k, part 1: the variance of $q\cdot k$ grows like $d_k$
#
# Suppose the entries of $q$ and $k$ are independent, with mean 0 and variance 1 (the
# assumption of the paper's footnote 4). Then $q\cdot k = \sum_{i=1}^{d_k} q_i k_i$ is a sum
# of $d_k$ independent terms, each with mean 0 and variance
# $E[q_i^2]\,E[k_i^2] = 1$, so
#
# $$\operatorname{Var}(q\cdot k) = d_k,\qquad \operatorname{Var}\!\left(\frac{q\cdot k}{\sqrt{d_k}}\right) = 1.$$
#
# We do not have to believe it: draw 10,000 random pairs for every $d_k$ from 1 to 1024 and
# measure.

# %%
torch.manual_seed(0)
d_ks = list(SCALING_DK_CHOICES)  # 1, 2, 4, ..., 1024
n_pairs = 10_000
var_raw, var_scaled = [], []
print(" d_k   Var(q·k)   Var(q·k)/d_k   Var(q·k/√d_k)")
for d in d_ks:
    q, k = torch.randn(n_pairs, d), torch.randn(n_pairs, d)  # (N, d_k) each
    dots = (q * k).sum(-1)  # (N,): one q·k per pair
    var_raw.append(dots.double().var().item())  # float64 for the variance: stable printed digits
    var_scaled.append((dots.double() / math.sqrt(d)).var().item())
    print(f"{d:4d} {var_raw[-1]:10.1f} {var_raw[-1] / d:12.2f} {var_scaled[-1]:14.2f}")

# %%
fig = plot_score_variance(d_ks, var_raw, var_scaled)  # attn_lib.viz
plt.show()

# %% [markdown]
# The standard deviation of the scores is $\sqrt{d_k}$: at $d_k = 1024$ two keys' scores
# typically differ by tens. What does a softmax make of that?
#
# ## 7. Why √d_k, part 2: without it the softmax saturates
#
# One query against 16 random keys at $d_k = 256$, the same draw with and without the
# scale ($T_k = 16$; `scaling_demo` from `attn_lib.widgets` draws $q$ and $K$ with
# entries from $N(0, 1)$, seeded):

# %%
demo_raw = scaling_demo(256, scaled=False, seed=0)  # one draw: q (1, 256), keys (1, 16, 256)
demo_scaled = scaling_demo(256, scaled=True, seed=0)  # the same q and keys
rows = [
    ("unscaled scores", [round(v) for v in demo_raw["logits"][0].tolist()]),
    ("unscaled weights", [round(v + 0.0, 3) for v in demo_raw["weights"][0].tolist()]),
    ("scaled scores", [round(v, 1) for v in demo_scaled["logits"][0].tolist()]),
    ("scaled weights", [round(v + 0.0, 3) for v in demo_scaled["weights"][0].tolist()]),
]
width = max(display_width(name) for name, _ in rows)  # in columns of a fixed-width font
for name, values in rows:
    print(f"{pad(name, width)}:", values)  # pad: like f"{name:<{width}}", and lines up Hangul too

# %% [markdown]
# Unscaled, the largest score beats the runner-up by more than ten, and $e^{10} \approx 22000$:
# one key takes (almost) all the weight. Scaled, the scores are the same numbers divided by
# 16, and the weights stay spread. Two numbers say how peaked a distribution $p$ over
# $T_k$ keys is:
#
# - the **largest weight** $\max_j p_j$: $1/T_k$ if uniform, 1 if one-hot;
# - the **entropy** $-\sum_j p_j \ln p_j$ in nats: $\ln T_k = 2.77$ if uniform, 0 if one-hot.

# %%
runs = [("unscaled", demo_raw), ("scaled", demo_scaled)]
width = max(display_width(name) for name, _ in runs)
for name, demo in runs:
    p = demo["weights"][0]  # (16,)
    entropy = -(p * torch.log(p)).nansum()  # nansum: 0 · log 0 counts as 0
    torch.testing.assert_close(entropy, demo["entropy"][0])
    print(
        f"{pad(name, width)}: largest weight {p.max().item():.4f}, entropy {entropy.item():.4f} nats (uniform: 2.7726)"
    )

fig = plot_scaling_demo(256, scaled=False, seed=0)
plt.show()

# %% [markdown]
# The right panel of that figure already shows the consequence, the *gradient*. Let us say
# precisely which gradient.
#
# ## 8. Why √d_k, part 3: a saturated softmax has (almost) no gradient
#
# Call the softmax input $z$ (the scores, divided by $\sqrt{d_k}$ or not) and its output
# $p = \text{softmax}(z)$. How much the weights move when the scores move is the
# **Jacobian** $J_{ij} = \partial p_i / \partial z_j$. Differentiating
# $p_i = e^{z_i}/\sum_k e^{z_k}$ gives $J_{ij} = p_i(\delta_{ij} - p_j)$, in matrices
#
# $$J = \operatorname{diag}(p) - p\,p^\top.$$
#
# For one-hot weights ($p = e_m$) this is $\operatorname{diag}(e_m) - e_m e_m^\top = 0$:
# nothing at all flows back. By the chain rule, for **any** loss $L$ the gradient that
# reaches the scores is $\partial L/\partial z = J^\top\, \partial L/\partial p$, and through
# them the gradient of $q$, $k$ and the projections $W^Q$, $W^K$ that made them. So we
# measure the size of $J$, its Frobenius norm $\|J\|_F = \sqrt{\sum_{ij} J_{ij}^2}$.
# First check the formula against autograd on the draw above (in float64: for nearly one-hot
# weights, $p_m - p_m^2$ is a difference of two numbers close to 1, and float32 would keep
# only a few of its digits):

# %%
for name, demo in runs:
    z = demo["logits"][0].double()  # (16,)
    p = attn_lib.softmax(z, dim=-1)  # (16,)
    J_formula = torch.diag(p) - torch.outer(p, p)  # (16, 16)
    J_autograd = torch.autograd.functional.jacobian(lambda s: attn_lib.softmax(s, dim=-1), z)  # (16, 16)
    torch.testing.assert_close(J_formula, J_autograd)
    torch.testing.assert_close(J_formula.norm().float(), demo["grad_norm"][0])
    print(f"{pad(name, width)}: ||dp/dz||_F = {J_formula.norm().item():.3g}  (formula == autograd == grad_norm)")

# %% [markdown]
# Those are the three numbers `scaling_demo` returns for every draw: `max_weight`,
# `entropy` and `grad_norm` ($\|J\|_F$). `scaling_curves` runs it for every $d_k$ from 1 to
# 1024 on 1000 draws (the same draws with and without the scale) and takes the **median**,
# the typical draw.
#
# ## 9. The measurement: saturation and gradient against $d_k$

# %%
curves = scaling_curves(seed=0, num_keys=16, num_draws=1000)
raw, sc = curves["unscaled"], curves["scaled"]
# table_header (attn_lib.widgets.lesson02): the two header lines, each label over its column
print(
    table_header(
        ("d_k", 4),
        [
            ("without scaling", [("max weight", 10), ("entropy", 8), ("saturated", 9), ("||J||_F", 9)]),
            ("with scaling (÷√d_k)", [("max weight", 10), ("entropy", 8), ("||J||_F", 9)]),
        ],
    )
)
for i, d in enumerate(curves["d_k"]):
    print(
        f"{d:4d} | {raw['max_weight'][i]:10.3f}  {raw['entropy'][i]:8.3f}  {raw['saturated'][i]:9.1%}"
        f"  {raw['grad_norm'][i]:9.1e} | {sc['max_weight'][i]:10.3f}  {sc['entropy'][i]:8.3f}  "
        f"{sc['grad_norm'][i]:9.1e}"
    )
print("(medians over 1000 draws of one query and 16 keys; 'saturated' = share of draws with a weight > 0.99)")

# %%
fig = plot_scaling_curves(curves)  # attn_lib.viz: the three medians against d_k
plt.show()

# %% [markdown]
# Read the table from top to bottom. **Without scaling**, the largest weight climbs from
# 0.16 to 1.000, the entropy falls from 2.59 nats to 0, three draws out of four (77%) are
# saturated at $d_k = 1024$, and the typical Jacobian norm drops by four orders of
# magnitude, from 0.27 to about $10^{-5}$. **With scaling**, all three stay in one range
# (largest weight 0.16–0.23, entropy 2.4–2.6 nats, $\|J\|_F$ about 0.3) and none of them
# saturates. They are not perfectly flat, though: the scaled largest weight still rises from
# 0.16 at $d_k = 1$ to about 0.22 from $d_k \approx 16$ on. Why, if
# $\operatorname{Var}(q\cdot k/\sqrt{d_k}) = 1$ at every $d_k$?
#
# Because that variance is over *pairs*, and the softmax sees something else: **one** query
# against many keys. For a fixed $q$ and keys with $N(0, 1)$ entries, the scaled scores
# $q\cdot k_j/\sqrt{d_k}$ are $N(0,\ \lVert q\rVert^2/d_k)$ across the keys. Their spread is
# $\lVert q\rVert^2/d_k$, which has mean 1 but, for small $d_k$, varies wildly from one query
# to the next (it is $\chi^2_{d_k}/d_k$, standard deviation $\sqrt{2/d_k}$): at $d_k = 1$ the
# typical query is short, its scores are squeezed, and its weights are flatter. As $d_k$ grows,
# $\lVert q\rVert^2/d_k$ settles at 1. `query_norm_spread` measures it on the same draws, and
# then rescales every query to $\lVert q\rVert = \sqrt{d_k}$ exactly: if the argument is
# right, the drift must vanish.

# %%
spread = query_norm_spread(seed=0, num_keys=16, num_draws=1000)
groups = [
    ("||q||²/d_k", [("10%", 6), ("median", 8), ("90%", 6)]),
    ("median largest weight, ÷√d_k", [("as drawn", 14), ("||q|| = √d_k", 14)]),
]
print(table_header(("d_k", 4), groups))
for i, d in enumerate(spread["d_k"]):
    qs = spread["q_sq_over_dk"]
    print(
        f"{d:4d} | {qs['p10'][i]:6.2f}  {qs['median'][i]:8.2f}  {qs['p90'][i]:6.2f} |"
        f" {spread['max_weight_scaled'][i]:14.2f}  {spread['max_weight_fixed_norm'][i]:14.2f}"
    )
fixed = spread["max_weight_fixed_norm"]
assert float(spread["max_weight_scaled"][0]) < 0.18 and float(fixed.max() - fixed.min()) < 0.02

# %% [markdown]
# With the query's length fixed, the largest weight is the same (about 0.22) at every $d_k$, from
# 1 to 1024: the drift of the scaled curve was the fluctuating length of short random queries,
# nothing else. The $\sqrt{d_k}$ fixes the *average* spread of the scores; it cannot fix one
# query's length.
#
# **And dividing by $d_k$ instead?** (Check-yourself question 5.) Then the scores have
# standard deviation $1/\sqrt{d_k}$, which shrinks: the same draws, divided by $d_k$:

# %%
by_d_k = scaling_curves(seed=0, num_keys=16, num_draws=1000, power=1.0)["scaled"]  # scores ÷ d_k
divisors = [("÷√d_k", 11), ("÷d_k", 11)]
print(table_header(("d_k", 4), [("median largest weight", divisors), ("median entropy", divisors)]))
for i, d in enumerate(curves["d_k"]):
    if d in (1, 4, 16, 64, 256, 1024):
        print(
            f"{d:4d} | {sc['max_weight'][i]:11.2f}  {by_d_k['max_weight'][i]:11.2f} |"
            f" {sc['entropy'][i]:11.2f}  {by_d_k['entropy'][i]:11.2f}"
        )
print("(uniform: 0.06, 2.77)")
assert float(by_d_k["max_weight"][-1]) < 0.07 < 0.2 < float(sc["max_weight"][-1])

fig = plot_scaling_curves(curves, by_d_k=by_d_k)
plt.show()

# %% [markdown]
# Dividing by $d_k$ overshoots: at $d_k = 1024$ the largest weight is 0.07, barely above the
# uniform $1/16 = 0.0625$, and the entropy is $\ln 16$: the softmax no longer prefers any key.
# (A model could still learn to undo it by growing $W^Q$, the same way it could learn to undo
# a missing $\sqrt{d_k}$; section 11 comes back to this.)
#
# A word on *median*: the mean of $\|J\|_F$ falls more slowly, because the few draws in
# which the two largest scores happen to nearly tie keep a sizeable gradient. The typical
# draw has none:

# %%
raw_1024 = scaling_demo(1024, scaled=False, seed=0, num_draws=1000)
median, mean = raw_1024["grad_norm"].median().item(), raw_1024["grad_norm"].mean().item()
print(f"d_k = 1024, unscaled: median ||J||_F = {median:.1e}, mean ||J||_F = {mean:.2f}")

# %% [markdown]
# The near-ties, shown: for every draw, the gap between its largest and second-largest score.

# %%
top2 = raw_1024["logits"].double().topk(2, dim=-1).values  # (N, 2): the two largest scores
gap = top2[:, 0] - top2[:, 1]  # (N,)
J = raw_1024["grad_norm"].double()  # (N,)
near = gap < 2.0  # the two largest scores within 2 of each other: exp(-2) = 0.14
print(f"draws whose two largest scores are within 2: {near.float().mean().item():.0%} of the 1000")
print(f"  their median ||J||_F: {J[near].median().item():.2f};  the other draws': {J[~near].median().item():.0e}")
print(f"  their share of the sum of ||J||_F over all draws: {(J[near].sum() / J.sum()).item():.0%}")
assert J[near].median() > 1000 * J[~near].median() and J[near].sum() > 0.5 * J.sum()

# %% [markdown]
# ## 10. End to end: the gradient that reaches the query
#
# The Jacobian is what the seed means by "the softmax moves into regions where its gradient
# is almost flat". What a model learns from is the gradient of its loss with respect to its
# parameters, which passes through $q$. To see it end to end, give every key a random value
# ($V$: `(16, 8)`), take the output $o = pV$ `(8,)` and a simple loss $L = g\cdot o$ with a
# random $g$ `(8,)`, and let autograd compute $\partial L/\partial q$ `(d_k,)`.


# %%
def grad_wrt_query(d_k: int, scaled: bool, num_draws: int = 1000) -> torch.Tensor:
    """Norm of dL/dq, L = g · (softmax(z) V), for each of num_draws draws of scaling_demo."""
    demo = scaling_demo(d_k, scaled, seed=0, num_draws=num_draws)
    gen = torch.Generator().manual_seed(1)
    values = torch.randn(num_draws, 16, 8, generator=gen)  # (N, T_k, d_v)
    g = torch.randn(num_draws, 8, generator=gen)  # (N, d_v)
    q = demo["query"].double().requires_grad_()  # (N, d_k); float64, see below
    z = (demo["keys"].double() @ q[:, :, None])[..., 0] / (math.sqrt(d_k) if scaled else 1.0)  # (N, T_k)
    torch.testing.assert_close(z, demo["logits"].double(), rtol=1e-5, atol=1e-4)  # scaling_demo's scores (float32)
    p = attn_lib.softmax(z, dim=-1)  # (N, T_k)
    o = (p[:, None, :] @ values.double())[:, 0]  # (N, 1, T_k) @ (N, T_k, d_v) -> (N, d_v)
    (grad_q,) = torch.autograd.grad((o * g.double()).sum(), q)  # (N, d_k); the draws do not interact
    return grad_q.norm(dim=-1)  # (N,)


print(table_header(("d_k", 4), [("median ||dL/dq||", [("unscaled", 11), ("scaled", 11)])]))
medians = {}
for d in [1, 4, 16, 64, 256, 1024]:
    medians[d] = (grad_wrt_query(d, False).median().item(), grad_wrt_query(d, True).median().item())
    print(f"{d:4d} | {medians[d][0]:11.1e}  {medians[d][1]:11.1e}")
assert medians[1][0] > 300 * medians[1024][0]  # unscaled: collapses by a factor of several hundred
assert max(m[1] for m in medians.values()) < 2 * min(m[1] for m in medians.values())  # scaled: one range

# %% [markdown]
# (The gradient of a nearly saturated softmax is a difference of two numbers close to 1, so
# this cell computes in float64: in float32 those tiny gradients keep only two or three
# correct digits, and which ones depends on your CPU.)
#
# Two effects meet here. By the chain rule $\partial L/\partial q = \sum_j
# (\partial L/\partial z_j)\, k_j$ (divided by $\sqrt{d_k}$ if scaled), and a random key
# has length about $\sqrt{d_k}$. **Unscaled**, that length first *amplifies* the gradient
# (up to $d_k \approx 16$), then saturation wins and the typical gradient collapses, by a
# factor of several hundred at $d_k = 1024$ compared with $d_k = 1$. **Scaled**, the
# $1/\sqrt{d_k}$ cancels the key length and the gradient stays in the same range for every
# $d_k$. That is the whole argument of the paper's footnote, measured: divide by
# $\sqrt{d_k}$ so that the softmax input has variance 1, whatever the width.
#
# ## 11. The scale could live inside $W^Q$
#
# In a Transformer the query is a projection, $q = xW^Q$. Dividing the scores by $\sqrt{d_k}$
# is then the same as using the matrix $W^Q/\sqrt{d_k}$ and no scale at all:
# $(xW^Q)k^\top/\sqrt{d_k} = (x\,W^Q/\sqrt{d_k})\,k^\top$. Checked on a small projection:

# %%
gen = torch.Generator().manual_seed(3)
x_in = torch.randn(5, 64, generator=gen)  # (T, d_model): 5 token vectors
W_q, W_k = torch.randn(64, 64, generator=gen) / 8, torch.randn(64, 64, generator=gen) / 8  # (d_model, d_k)
keys_in = x_in @ W_k  # (T, d_k)
out_scaled, _ = attn_lib.scaled_dot_product_attention(x_in @ W_q, keys_in, keys_in)  # ÷√64 = ÷8
out_folded, _ = attn_lib.scaled_dot_product_attention(x_in @ (W_q / 8), keys_in, keys_in, scale=1.0)
torch.testing.assert_close(out_folded, out_scaled)
print("softmax((x W_q) Kᵀ / √d_k) == softmax((x W_q/√d_k) Kᵀ): equal up to rounding")

# %% [markdown]
# So the layer with the scale and the layer without it can compute exactly the same
# functions: the $1/\sqrt{d_k}$ adds no expressive power. What it changes is where training
# **starts** and how it **behaves**: with the usual initialisation (entries of $W^Q$ and $W^K$
# about $1/\sqrt{d_\text{model}}$), the scores start with variance about 1 at every width, out
# of saturation, and a learning rate that suits one width suits another. Without it, a wide
# model would start saturated (section 9) and would first have to shrink $W^Q$ through the
# tiny gradients of section 10. It is a matter of initialisation and conditioning, not of
# what the model can represent. (The same holds for $\div d_k$: a model could grow $W^Q$ to
# undo it, starting from almost uniform weights.)
#
# ## 12. Try it: the d_k slider
#
# Move $d_k$ and switch the scale on and off. Left: the weights of one query over 16 random
# keys. Right: the gradient size $\|J\|_F$ of this draw (the star) against median curves
# like those of section 9 (here over 200 draws). The "draw" box picks another random query
# and keys.

# %% tags=["nbval-ignore-output"]
d_k_slider = widgets.SelectionSlider(
    options=list(SCALING_DK_CHOICES), value=16, description="d_k", continuous_update=False
)
scale_box = widgets.Checkbox(value=False, description="scale by √d_k")
seed_box = widgets.BoundedIntText(value=0, min=0, max=999, description="draw (seed)")


def show_scaling(d_k: int, scaled: bool, seed: int) -> None:
    plot_scaling_demo(d_k, scaled, seed=seed)
    plt.show()


view = widgets.interactive_output(show_scaling, {"d_k": d_k_slider, "scaled": scale_box, "seed": seed_box})
display(widgets.VBox([widgets.HBox([d_k_slider, scale_box, seed_box]), view]))

# %% [markdown]
# ## Exercises
#
# Now write it yourself. Fill in the body of each `my_...` function and run the cell below it: the
# check calls your function on several inputs (a batch, batch and heads, T_q ≠ T_k, length 1)
# and compares with `attn_lib`. Yellow = not attempted yet, red = something differs (a
# common mistake is named, with a hint), green = right.
#
# ### Exercise 1 · a stable softmax
#
# Write the softmax over the last axis of `x` (any shape) so that it does not overflow for large
# entries such as 1000, and gives weight 0 to entries that are `-inf`. Do not call `torch.softmax`.
#
# Stuck? `show_solution("stable_softmax")` (after `from attn_lib.exercises import show_solution`).


# %%
def my_stable_softmax(x):
    """Softmax over the last axis of x, shape like x; no overflow for large x."""
    ...  # your code here


# %%
from attn_lib.exercises import check_stable_softmax

check_stable_softmax(my_stable_softmax)

# %% [markdown]
# ### Exercise 2 · scaled dot-product attention
#
# Write $\text{Attention}(Q, K, V) = \text{softmax}(QK^\top/\sqrt{d_k})\,V$ for
# `q` `(..., T_q, d_k)`, `k` `(..., T_k, d_k)` and `v` `(..., T_k, d_v)`, where `...` is any
# number of batch dimensions (e.g. `(B, H)`). Return `(output, weights)`: `(..., T_q, d_v)` and
# `(..., T_q, T_k)`. (Masks come in lesson 05, with an exercise of their own.)
#
# Stuck? `show_solution("scaled_dot_product_attention")`.


# %%
def my_scaled_dot_product_attention(q, k, v):
    """q (..., T_q, d_k), k (..., T_k, d_k), v (..., T_k, d_v) -> (output (..., T_q, d_v), weights (..., T_q, T_k))."""
    ...  # your code here


# %%
from attn_lib.exercises import check_scaled_dot_product_attention

check_scaled_dot_product_attention(my_scaled_dot_product_attention)

# %% [markdown]
# ## Summary
#
# - **Matrix form** (claim S2): with $Q$ `(T_q, d_k)`, $K$ `(T_k, d_k)`, $V$ `(T_k, d_v)`:
#   scores $QK^\top$ `(T_q, T_k)`, weights $\text{softmax}(QK^\top/\sqrt{d_k})$ `(T_q, T_k)`
#   with rows summing to 1, output `(T_q, d_v)`. Leading dimensions `(B, H, ...)` are
#   batch dimensions; nothing else changes.
# - Our lines equal `attn_lib.scaled_dot_product_attention`, which equals
#   `torch.nn.functional.scaled_dot_product_attention` up to float32 rounding ($\sim10^{-7}$).
# - **Stable softmax**: subtracting the maximum changes nothing mathematically but keeps
#   every exponent ≤ 0: `softmax([1000, 1001, 1002])` is `nan` naively and
#   `[0.090, 0.245, 0.665]` stably.
# - **Temperature**: $\text{softmax}(x/\tau)$ goes from argmax ($\tau\to0$) to uniform
#   ($\tau\to\infty$); ÷√d_k is temperature √d_k.
# - **Why √d_k** (claim S3), measured: $\operatorname{Var}(q\cdot k) \approx d_k$
#   (about 1028 measured at $d_k = 1024$), $\operatorname{Var}(q\cdot k/\sqrt{d_k}) \approx 1$.
#   Without scaling, at $d_k = 1024$ the median largest weight is 1.000, the entropy 0 and
#   the softmax Jacobian $\|\partial p/\partial z\|_F \approx 10^{-5}$ (only near-ties keep a
#   gradient); with scaling they stay in one range (largest weight 0.16–0.23, entropy
#   2.4–2.6 nats, $\|J\|_F$ about 0.3), and the small drift at small $d_k$ is the fluctuating
#   length of one query: the softmax sees scores of variance $\lVert q\rVert^2/d_k$.
#   Dividing by $d_k$ instead drives the weights to uniform.
# - The scale could be folded into $W^Q$: it does not change what attention can compute, it
#   sets where training starts (out of saturation at every width).
#
# ## Check yourself
#
# 1. $Q$ is `(2, 7, 10, 64)` and $K$ is `(2, 7, 12, 64)`. What are the shapes of
#    $QK^\top$ and of the weights, and along which axis do the weights sum to 1?
# 2. Why may a softmax subtract the maximum score, and what goes wrong without it for the
#    scores `[1000, 1001, 1002]` in float32?
# 3. With independent unit-variance entries, what is the standard deviation of $q\cdot k$
#    for $d_k = 400$? And of $q\cdot k/\sqrt{d_k}$?
# 4. Why does a one-hot softmax output pass no gradient back to the scores?
# 5. Someone divides by $d_k$ instead of $\sqrt{d_k}$. What happens to the weights as
#    $d_k$ grows?
#
# <details><summary>Answers</summary>
#
# 1. $QK^\top$ and the weights are `(2, 7, 10, 12)`; the weights sum to 1 along the last
#    axis (over the 12 keys), separately for each of the 10 queries.
# 2. Because $e^{-c}$ cancels between numerator and denominator. Without it $e^{1000}$ is
#    `inf` in float32 (the limit is about $e^{88.7}$) and `inf / inf` gives `nan`.
# 3. $\sqrt{400} = 20$; after the division, 1.
# 4. Its Jacobian $\operatorname{diag}(p) - pp^\top$ is exactly 0 for $p = e_m$, and every
#    gradient reaching the scores is $J^\top$ times the gradient reaching the weights.
# 5. The scores then have standard deviation $1/\sqrt{d_k}$, which shrinks: the weights
#    drift towards uniform (temperature $d_k$ is too hot), and at initialisation attention
#    barely prefers any key (section 9: largest weight 0.07 against the uniform 0.0625 at
#    $d_k = 1024$). A model could grow $W^Q$ to undo it (section 11), from a poor start.
#
# </details>
