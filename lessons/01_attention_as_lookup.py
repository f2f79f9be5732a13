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
# # 01 · Attention as a soft lookup
#
# A Python dictionary finds the one value whose key *equals* what you ask for. Attention
# does the same job **softly**: it compares your question with every key, gives each key a
# weight according to how well it matches, and returns the weighted mix of the values.
# That is the whole idea; the rest of the course builds on it.
#
# **Learning goals.** After this lesson you can
#
# 1. name the three roles in attention: the **query**, the **keys** and the **values**, and
#    the key dimension $d_k$ (claim S1 of the seed);
# 2. compute a soft lookup by hand: dot-product **scores**, softmax **weights**, and the
#    **weighted sum** of the values;
# 3. show with numbers that the values whose keys resemble the query get the largest
#    weights in the output (claim S4);
# 4. say what the **length** of the query does: a longer query gives sharper weights (towards
#    the dictionary's hard lookup), a shorter one flatter weights (towards the plain mean);
# 5. look up many queries at once with two matrix products, and recognise the result as
#    `attn_lib.scaled_dot_product_attention(Q, K, V, scale=1.0)`.

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display

import attn_lib
from attn_lib.i18n import pad
from attn_lib.viz import plot_attention, plot_query_length
from attn_lib.widgets import lookup_state, plot_soft_lookup

torch.manual_seed(0)
torch.set_num_threads(1)  # printed sums do not depend on the thread count
torch.set_printoptions(precision=4, sci_mode=False)
print("torch", torch.__version__)

# %% [markdown]
# ## 1. A hard lookup: the Python dictionary
#
# Our tiny "database" stores, for four things, how many legs and how many wheels they
# have. The **key** is the name, the **value** is the pair (legs, wheels).

# %%
legs_and_wheels = {"cat": (4, 0), "bird": (2, 0), "car": (0, 4), "bike": (0, 2)}
print('legs_and_wheels["cat"] =', legs_and_wheels["cat"])
try:
    legs_and_wheels["kitten"]
except KeyError as err:
    print("legs_and_wheels['kitten'] -> KeyError:", err)

# %% [markdown]
# The dictionary only answers a question that matches a key **exactly**; "kitten" is not
# "cat", so it gets nothing at all.
#
# Here is the same lookup written as arithmetic, which is the form attention keeps. Put the
# values in the rows of a matrix $V$, give every key a **weight** (1 for the key that
# matches, 0 for the others), and take the weighted sum of the rows of $V$: that is a
# vector-matrix product.

# %%
items = list(legs_and_wheels)  # ['cat', 'bird', 'car', 'bike']
V = torch.tensor([legs_and_wheels[name] for name in items], dtype=torch.float32)  # (T_k, d_v) = (4, 2)
print("V =\n", V, "  shape", tuple(V.shape), "= (T_k, d_v): one value (legs, wheels) per key")

one_hot = torch.tensor([1.0, 0.0, 0.0, 0.0])  # (T_k,): weight 1 on "cat", 0 elsewhere
print("one_hot @ V =", one_hot @ V, '= legs_and_wheels["cat"]')

# %% [markdown]
# Attention keeps `output = weights @ values` but lets the weights be **any** numbers
# between 0 and 1 that add up to 1, computed from how well the question matches each key.
# For that, keys and questions must be things we can compare with numbers: vectors.
#
# ## 2. Keys and a query as vectors
#
# Each key becomes a vector of $d_k$ numbers. In a Transformer the keys are not stored
# vectors: each key is computed from a token's current vector $x_j$ by a learned projection,
# $k_j = x_j W^K$ (and the query likewise, $q = x W^Q$; lesson 03). What is learned is the
# projection. Here we make the keys up so that the numbers are easy to follow: four arrows of
# length 1, "cat" pointing right, "bird" up, "car" left and "bike" down, so $d_k = 2$.
#
# The question is a **query**: a vector with the same number of entries, $d_k$ (it will be
# compared with every key by a dot product, so it must be). We ask with $q = (2, 1)$: an arrow
# pointing mostly towards "cat" and a little towards "bird", a "kitten-ish" question.

# %%
K = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])  # (T_k, d_k) = (4, 2)
q = torch.tensor([2.0, 1.0])  # (d_k,) = (2,)
T_k, d_k = K.shape
print("K =\n", K, "  shape", tuple(K.shape), "= (T_k, d_k)")
print("q =", q, "  shape", tuple(q.shape), "= (d_k,)")
print(f"T_k = {T_k} keys, d_k = {d_k} numbers per key and per query, d_v = {V.shape[1]} per value")

# %% [markdown]
# Here $d_v = 2$ happens to equal $d_k = 2$; it need not. The keys and the query live in
# one space (they are compared with each other), the values in another (they are only
# mixed).
#
# ## 3. Scores: one dot product per key
#
# How well does the query match key $j$? Attention uses the **dot product**
# $s_j = q \cdot k_j = \sum_i q_i\, k_{j,i}$. For all keys at once that is the
# matrix-vector product $K q$: `(4, 2) @ (2,) -> (4,)`.

# %%
scores = K @ q  # (T_k, d_k) @ (d_k,) -> (T_k,)
print("scores = K @ q =", scores, "  shape", tuple(scores.shape))
for name, k_j, s_j in zip(items, K.tolist(), scores.tolist(), strict=True):
    print(f"  {name:>4}: q·k = 2*{k_j[0]:+.0f} + 1*{k_j[1]:+.0f} = {s_j:+.0f}")

# %% [markdown]
# Why does a dot product measure "resemblance"? Geometrically
# $q \cdot k = \lVert q\rVert\, \lVert k\rVert \cos\angle(q, k)$. All our keys have length 1,
# so the score is $\lVert q\rVert \cos\angle(q, k_j)$: the smaller the angle between the
# query and a key, the larger the score. Measured:

# %%
q_length = q.norm().item()  # ‖q‖ = √5
for name, k_j, s_j in zip(items, K, scores, strict=True):
    angle = math.degrees(math.acos((q @ k_j / (q.norm() * k_j.norm())).item()))
    print(f"  {name:>4}: angle to q {angle:5.1f}°, ‖q‖·cos(angle) = {q_length * math.cos(math.radians(angle)):+.3f}", end="")
    print(f" = score {s_j.item():+.3f}")

# %% [markdown]
# ## 4. Weights: the softmax
#
# Scores can be any real numbers. To mix values we need weights that are **positive and
# sum to 1**. The softmax does exactly that, and it keeps the order (a larger score always
# gets a larger weight):
#
# $$w_j = \frac{e^{s_j}}{\sum_{i=1}^{T_k} e^{s_i}}.$$
#
# By hand, then with the library:

# %%
by_hand = torch.exp(scores) / torch.exp(scores).sum()  # (T_k,)
weights = attn_lib.softmax(scores, dim=-1)  # (T_k,)
torch.testing.assert_close(weights, by_hand)
torch.testing.assert_close(weights, torch.softmax(scores, dim=-1))
print("weights =", weights, "  shape", tuple(weights.shape))
print("sum of weights =", round(weights.sum().item(), 6))

# %% [markdown]
# `attn_lib.softmax` gives the same numbers as the formula and as `torch.softmax`. (It
# subtracts the largest score before taking `exp`, which changes nothing mathematically but
# keeps `exp` from overflowing on large scores; lesson 02 shows why that matters.) From now
# on we use `attn_lib.softmax`.
#
# ## 5. The output: a weighted sum of the values
#
# Finally mix the values with these weights, $\text{output} = \sum_j w_j v_j$, which is the
# product `weights @ V`: `(4,) @ (4, 2) -> (2,)`.

# %%
output = weights @ V  # (T_k,) @ (T_k, d_v) -> (d_v,)
for name, w_j, v_j in zip(items, weights.tolist(), V.tolist(), strict=True):
    print(f"  {name:>4}: {w_j:.4f} × {tuple(v_j)} = ({w_j * v_j[0]:.4f}, {w_j * v_j[1]:.4f})")
print("output = weights @ V =", output, "  shape", tuple(output.shape))
print(f"the kitten-ish query gets back {output[0].item():.2f} legs and {output[1].item():.2f} wheels")

# %% [markdown]
# The answer is mostly the cat's value, some of the bird's, and almost nothing of the
# vehicles'. "3.30 legs" is not a value stored anywhere: a soft lookup **blends**.
#
# One figure holds the whole lookup: the keys and the query (left), the weights (middle)
# and the values with the output (right). The widget at the end of the lesson redraws it as
# you steer the query; `lookup_state` is the function behind it, and it agrees with the
# numbers we just computed.

# %%
angle_deg = math.degrees(math.atan2(q[1].item(), q[0].item()))  # the direction of q = (2, 1): 26.57°
state = lookup_state(angle_deg, q_length, K, V)
torch.testing.assert_close(state["weights"], weights)
torch.testing.assert_close(state["output"], output)
print(f"q = (2, 1) points at {angle_deg:.2f}° and has length {q_length:.4f}")

fig = plot_soft_lookup(angle_deg, q_length, K, V, items, value_names=("legs", "wheels"))
plt.show()

# %% [markdown]
# On the right, the star (the output) sits between "cat" and "bird", pulled by a line to
# every value that is as thick as that value's weight; the cross is the plain mean of the
# four values.
#
# ## 6. The keys most like the query win (claim S4)
#
# The seed says that multiplying the softmax weights by $V$ gives "more weight to the values
# whose keys resemble the query". With our query: order the keys by their angle to $q$ and
# by their weight. The two orders are the same.

# %%
angles = torch.rad2deg(torch.acos(K @ q / (K.norm(dim=1) * q.norm())))  # (T_k,): angle between q and each key
by_angle = [items[j] for j in angles.argsort().tolist()]
by_weight = [items[j] for j in weights.argsort(descending=True).tolist()]
print("keys from the smallest angle to the largest:", by_angle)
print("keys from the largest weight to the smallest:", by_weight)
assert by_angle == by_weight

# %% [markdown]
# One query could be luck. Turn the query all the way round, one degree at a time (keeping
# its length), and check every time that the order of the weights is the order of the
# angles, so in particular that the key closest in direction gets the largest weight.

# %%
directions = torch.arange(360) + 0.5  # 0.5°, 1.5°, ..., 359.5° (never exactly between two keys)
agree = 0
for a in directions.tolist():
    q_a = q_length * torch.tensor([math.cos(math.radians(a)), math.sin(math.radians(a))])  # (2,)
    w_a = attn_lib.softmax(K @ q_a, dim=-1)  # (T_k,)
    angles_a = torch.rad2deg(torch.acos((K @ q_a / q_a.norm()).clamp(-1, 1)))  # keys have length 1
    agree += int(torch.equal(w_a.argsort(descending=True), angles_a.argsort()))
print(f"query directions tried: {len(directions)}; weights ordered like the angles: {agree}")
assert agree == len(directions)

# %% [markdown]
# Be honest about what this check proves: nothing we did not know. With keys of length 1,
# every score is $\lVert q\rVert \cos\angle(q, k_j)$, which falls as the angle grows, and the
# softmax keeps the order of the scores; two decreasing maps of the same angles *must* give
# the same order. The 360 directions test our code, not a fact about attention.
#
# Here is something that is not automatic. Make "car" twice as long (length 2, same
# direction) and ask again, for every direction, whether the key closest in *direction* still
# gets the largest weight:

# %%
K_long_car = K.clone()
K_long_car[2] *= 2  # "car" now has length 2
closest_wins = 0
for a in directions.tolist():
    q_a = q_length * torch.tensor([math.cos(math.radians(a)), math.sin(math.radians(a))])  # (2,)
    w_a = attn_lib.softmax(K_long_car @ q_a, dim=-1)  # (T_k,)
    cosines = K_long_car @ q_a / (K_long_car.norm(dim=1) * q_a.norm())  # (T_k,): direction only
    closest_wins += int(w_a.argmax() == cosines.argmax())
lost = len(directions) - closest_wins
print(f'with a longer "car": the closest key in direction wins in {closest_wins} of 360 directions')
print(f'in the other {lost}, "car" wins although another key points closer to the query')
assert 0 < lost < len(directions)

# %% [markdown]
# So, for keys of equal length, "resembles the query" means "points in a similar
# direction", and the value of the most similar key always gets the largest share of the
# mix. With keys of different lengths it does not: a longer key gets a larger score at the
# same angle (under 90°), and wins directions that are closer to its neighbours. The dot
# product measures direction **and** length. Check-yourself question 3 is about that.
#
# ## 7. The length of the query: sharper or flatter
#
# Keep the direction of $q$ and change only its length $L$. Every score is
# $L\cos\angle(q, k_j)$, so all the scores are multiplied by $L$. That does not change
# which key wins, but it changes **how much** it wins:
#
# - $L = 0$: every score is 0, every weight is $1/4$, and the output is the plain mean of
#   the values;
# - $L$ large: the largest score leaves the others far behind, its weight goes to 1, and the
#   soft lookup becomes the dictionary's **hard** lookup.
#
# To measure "how spread" the weights are we use their **entropy**
# $H = -\sum_j w_j \ln w_j$ (in nats): $\ln 4 \approx 1.386$ for four equal weights, 0 when
# one weight is 1.

# %%
direction = q / q.norm()  # (2,): the unit vector of q = (2, 1)
print(f"equal weights: entropy ln 4 = {math.log(4):.3f};  plain mean of the values: {V.mean(0).tolist()}")
# pad(text, width): padded to `width` columns (a Hangul syllable takes two), so the table lines up in Korean too
header = [
    pad("length", 6, ">"),
    pad("weights (cat, bird, car, bike)", 30),
    pad("max weight", 10, ">"),
    pad("entropy", 8, ">"),
]
print(" " + " | ".join([*header, "output (legs, wheels)"]))
for L in (0.0, 0.5, 1.0, q_length, 5.0, 10.0, 20.0):
    w_L = attn_lib.softmax(K @ (L * direction), dim=-1)  # (T_k,)
    out_L = w_L @ V  # (d_v,)
    H = torch.special.entr(w_L).sum().item()  # −Σ w ln w, with 0·ln 0 = 0
    ws = " ".join(f"{x:.3f}" for x in w_L.tolist())
    print(f" {L:6.3f} | {ws:<30} | {w_L.max().item():10.3f} | {H + 0.0:8.3f} | ({out_L[0].item():.3f}, {out_L[1].item():.3f})")

# %% [markdown]
# Read the table from top to bottom: the largest weight (always "cat") grows from 0.25 to
# 1.000, the entropy falls from 1.386 to 0.001, and the output slides from the plain mean
# (1.5, 1.5) to the cat's value (4, 0). The assertions below pin the two ends, and the
# figure shows the whole way in between.

# %%
lengths = torch.linspace(0, 10, 201)  # (N,) query lengths from 0 to 10
W_L = torch.stack([attn_lib.softmax(K @ (L * direction), dim=-1) for L in lengths])  # (N, T_k)

torch.testing.assert_close(W_L[0], torch.full((T_k,), 0.25))  # length 0: equal weights
torch.testing.assert_close(W_L[0] @ V, V.mean(0))  # ... so the output is the plain mean
assert bool((W_L[1:, 0] > W_L[:-1, 0]).all())  # cat's weight grows with every step in length
torch.testing.assert_close(attn_lib.softmax(K @ (50 * direction), dim=-1) @ V, V[0])  # long: the hard lookup
print(f"max weight at length 0: {W_L[0].max().item():.3f}, at 5: {W_L[100].max().item():.3f}, at 10: {W_L[-1].max().item():.4f}")
peak = int(W_L[:, 1].argmax())
print(f'"bird" (the runner-up) peaks at length {lengths[peak].item():.2f} with weight {W_L[peak, 1].item():.3f}')

fig = plot_query_length(lengths, W_L, items, marked_length=q_length, direction_deg=angle_deg)  # attn_lib.viz
plt.show()

# %% [markdown]
# "bird", the runner-up, first *gains* weight and then loses it; only the winner's weight
# grows all the way. (A weight grows with the length while its key's score is above the
# weighted average of all the scores: at first the two vehicles pull that average below
# "bird"'s score; once "cat" dominates, the average is above it. The peak, measured above:
# weight 0.309 at length 1.0.)
#
# Multiplying all the scores by a number is a **temperature** knob for the softmax; lesson
# 02 uses exactly this to explain the $1/\sqrt{d_k}$ in "scaled dot-product attention".
#
# ## 8. Many queries at once: matrix products
#
# A Transformer asks many questions at once, one per position. Stack the queries as the
# **rows** of a matrix $Q$ of shape `(T_q, d_k)`. All the scores are then one matrix product,
# $S = QK^\top$: `(T_q, d_k) @ (d_k, T_k) -> (T_q, T_k)`, where entry $(i, j)$ is
# $q_i \cdot k_j$. The softmax runs along each **row** (over the keys), and the outputs are
# $W V$: `(T_q, T_k) @ (T_k, d_v) -> (T_q, d_v)`. Three queries: our kitten-ish one, one
# pointing at "bird", one between "car" and "bike".

# %%
Q = torch.tensor([[2.0, 1.0], [0.0, 3.0], [-1.0, -1.0]])  # (T_q, d_k) = (3, 2)
query_names = ["q0 = (2, 1)", "q1 = (0, 3)", "q2 = (-1, -1)"]

S = Q @ K.T  # (T_q, d_k) @ (d_k, T_k) -> (T_q, T_k) = (3, 4)
W = attn_lib.softmax(S, dim=-1)  # (T_q, T_k), softmax over the keys: every row sums to 1
out_many = W @ V  # (T_q, T_k) @ (T_k, d_v) -> (T_q, d_v) = (3, 2)
print("Q", tuple(Q.shape), "@ K.T", tuple(K.T.shape), "-> scores", tuple(S.shape))
print("scores =\n", S)
print("weights =\n", W, "\nrow sums:", W.sum(dim=-1))
print("outputs =\n", out_many, "  shape", tuple(out_many.shape), "= (T_q, d_v)")
torch.testing.assert_close(out_many[0], output)  # row 0 is the single lookup of section 5

# %% [markdown]
# Row 0 is exactly the lookup of section 5: stacking queries only does many lookups side by
# side. The weights as a heatmap, one row per query, one column per key:

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.2))
plot_attention(W, query_names, items, title="each query puts most weight on the keys it resembles", ax=ax, annotate=True)
ax.set_xticklabels(items, rotation=0)
ax.set_xlabel("key")
ax.set_ylabel("query")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 9. This is `attn_lib.scaled_dot_product_attention`
#
# What we built, $\text{softmax}(QK^\top)V$, is attention, the function of the paper
# without its scale factor. The library's `attn_lib.scaled_dot_product_attention(query,
# key, value, scale=...)` returns the output and the weights; with `scale=1.0` the scores
# are used as they are, and it agrees with our three lines:

# %%
out_lib, W_lib = attn_lib.scaled_dot_product_attention(Q, K, V, scale=1.0)  # (T_q, d_v), (T_q, T_k)
torch.testing.assert_close(out_lib, out_many)
torch.testing.assert_close(W_lib, W)
print("attn_lib.scaled_dot_product_attention(Q, K, V, scale=1.0) == softmax(Q @ K.T) @ V: True")
print("output", tuple(out_lib.shape), " weights", tuple(W_lib.shape))

# %% [markdown]
# Without `scale=...` the function multiplies the scores by $1/\sqrt{d_k}$: the *scaled*
# dot product of the paper, the subject of lesson 02. By section 7 that is the same as
# making every query $\sqrt{d_k}$ times shorter, here $\sqrt 2$ times:

# %%
out_scaled, _ = attn_lib.scaled_dot_product_attention(Q, K, V)  # scale = 1/√d_k = 1/√2
out_short, _ = attn_lib.scaled_dot_product_attention(Q / math.sqrt(d_k), K, V, scale=1.0)
torch.testing.assert_close(out_scaled, out_short)
print("default scale 1/√d_k == queries shortened by √d_k: True")
print("outputs with the 1/√2 scale (flatter weights, closer to the mean (1.5, 1.5)):\n", out_scaled)

# %% [markdown]
# In the paper's words (claim S1): attention takes queries $Q$, keys $K$ and values $V$;
# $d_k$ is the width of the queries and keys. We have now seen all three roles on numbers
# small enough to check by hand.
#
# ## 10. Try it: steer the query
#
# Run the cell, then move the sliders (the figure redraws when you let go):
# **angle** turns the query, **length** stretches it.
#
# - Put the length at 0. Whatever the angle, all weights are 0.25 and the output is the
#   plain mean (1.5, 1.5). Why?
# - Length 2, angle 45°: "cat" and "bird" get equal weights. Why exactly equal?
# - Length 5, angle 90°: "bird" takes almost all the weight, and the output is almost
#   `legs_and_wheels["bird"] = (2, 0)`: nearly a hard lookup.
# - Turn the angle slowly at length 1 and at length 5. When does the output jump, when
#   does it glide?
# - Can you make the output leave the quadrilateral with the four values as its corners
#   (their convex hull), say, reach 5 legs?

# %% tags=["nbval-ignore-output"]
angle_w = widgets.IntSlider(
    value=30, min=0, max=355, step=5, description="angle (°)", continuous_update=False
)
length_w = widgets.FloatSlider(
    value=2.0, min=0.0, max=5.0, step=0.25, description="length", continuous_update=False
)


def show(angle, length):
    plot_soft_lookup(angle, length, K, V, items, value_names=("legs", "wheels"))
    plt.show()


view = widgets.interactive_output(show, {"angle": angle_w, "length": length_w})
display(widgets.VBox([widgets.HBox([angle_w, length_w]), view]))

# %% [markdown]
# ## Exercises
#
# Now write it yourself. Fill in the body of each `my_...` function and run the cell below it: the
# check calls your function on several inputs and compares with `attn_lib`. Yellow = not
# attempted yet, red = something differs (a common mistake is named, with a hint), green = right.
#
# ### Exercise 1 · attention weights
#
# One query `query` of shape `(d,)` and `n` keys `keys` of shape `(n, d)`. Return the weights of the
# soft lookup, shape `(n,)`: the softmax of the dot products of the query with every key,
# $\text{softmax}(K q)$. Use the plain dot product (no scaling: that comes in lesson 02).
#
# **Watch out:** the checker's last input is a long query whose largest dot product is 500.
# `torch.exp(500.)` is `inf` in float32 (the limit is about $e^{88.7}$), so the formula
# $e^{s_j}/\sum_i e^{s_i}$ written literally gives `inf / inf = nan` there. Use
# `attn_lib.softmax` or `torch.softmax`, which subtract the largest score first (section 4
# said so; lesson 02 shows why that changes nothing else), or subtract it yourself.
#
# Stuck? `show_solution("attention_weights")` (after `from attn_lib.exercises import show_solution`).


# %%
def my_attention_weights(query, keys):
    """query (d,), keys (n, d) -> weights (n,), positive and summing to 1."""
    ...  # your code here


# %%
from attn_lib.exercises import check_attention_weights

check_attention_weights(my_attention_weights)

# %% [markdown]
# ### Exercise 2 · the soft lookup
#
# Add values `values` of shape `(n, d_v)`, one per key, and return the soft lookup: the values
# mixed by the weights of exercise 1, shape `(d_v,)`. You may call `my_attention_weights`
# (the long query of exercise 1 is among the inputs here too).
#
# Stuck? `show_solution("soft_lookup")`.


# %%
def my_soft_lookup(query, keys, values):
    """query (d_k,), keys (n, d_k), values (n, d_v) -> output (d_v,)."""
    ...  # your code here


# %%
from attn_lib.exercises import check_soft_lookup

check_soft_lookup(my_soft_lookup)

# %% [markdown]
# ## Summary
#
# - A dictionary lookup is `one_hot @ values`: weight 1 on the exact match. Attention keeps
#   `output = weights @ values` and makes the weights **soft**.
# - The **query** is compared with every **key** by a dot product (so both have width
#   $d_k$); the **softmax** turns the scores into weights that are positive and sum to 1;
#   the output is the weighted sum of the **values** (width $d_v$).
# - Values whose keys resemble the query get the largest weights (S4): with keys of equal
#   length, the key closest in direction always wins (which follows from the formula; the
#   360 directions only confirm the code). With keys of different lengths it need not: a
#   longer key can win directions that point closer to another key.
# - The query's **length** multiplies every score: length 0 gives equal weights and the plain
#   mean; a long query gives a hard lookup. The winner never changes, only how much it wins.
# - Many queries at once: $\text{softmax}(QK^\top)V$ with shapes
#   `(T_q, d_k) @ (d_k, T_k) -> (T_q, T_k)`, softmax over the keys, then
#   `(T_q, T_k) @ (T_k, d_v) -> (T_q, d_v)`. This is
#   `attn_lib.scaled_dot_product_attention(Q, K, V, scale=1.0)`; the default scale
#   $1/\sqrt{d_k}$ comes in lesson 02.
#
# ## Check yourself
#
# 1. A query's weights over three keys are (0.7, 0.2, 0.1) and the values are the numbers
#    10, 20 and 30. What is the output?
# 2. You double the length of a query. What happens to its scores, to its weights, and to
#    which key gets the largest weight?
# 3. Key A has length 1 and points exactly along the query; key B has length 2 and points
#    60° away from it. Which one gets the larger weight? And if B were 70° away?
# 4. $Q$ has shape `(5, 16)`, $K$ `(7, 16)` and $V$ `(7, 3)`. What are the shapes of the
#    scores, the weights and the output, and along which dimension does the softmax run?
# 5. All values have both coordinates between 0 and 4. Can an output of attention be (5, 1)?
#
# <details><summary>Answers</summary>
#
# 1. $0.7\cdot 10 + 0.2\cdot 20 + 0.1\cdot 30 = 7 + 4 + 3 = 14$.
# 2. All scores double, so the weights get sharper: the largest weight grows and the
#    entropy falls (unless all weights were equal to begin with). The order of the scores
#    does not change, so the same key keeps the largest weight.
# 3. The scores are $\lVert q\rVert \cdot 1 \cdot \cos 0° = \lVert q\rVert$ for A and
#    $\lVert q\rVert \cdot 2 \cos 60° = \lVert q\rVert$ for B: a tie, equal weights. At 70°,
#    $2\cos 70° \approx 0.68 < 1$, so A wins. The dot product measures direction *and*
#    length.
# 4. Scores and weights `(5, 7)` (one row per query, one column per key), output `(5, 3)`.
#    The softmax runs along the last dimension, over the 7 keys, so each row sums to 1.
# 5. No. The weights are positive and sum to 1, so the output is a weighted *average* of
#    the values: every coordinate lies between the smallest and the largest value of that
#    coordinate; more precisely, the output stays inside the convex hull of the values.
#
# </details>
#
# Next: **`02_scaled_dot_product`**, attention in matrix form with the $1/\sqrt{d_k}$ scale,
# and why that scale is there.
