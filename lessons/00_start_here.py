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
# # 00 · Start here
#
# Welcome! This short lesson shows how the course works, so that the next eleven lessons can
# be about attention and nothing else. It takes about ten minutes.
#
# **Learning goals.** After this lesson you can
#
# 1. find your way through the course: what each lesson is about and in which order;
# 2. run cells one by one or all at once, and know why the order matters;
# 3. check that your machine has everything the course needs;
# 4. move a widget and watch a figure follow it;
# 5. read the report of an exercise, and reset a lesson to how it was shipped;
# 6. state the one convention the whole course relies on: in a mask, `True` means "may attend".

# %% [markdown]
# ## 1. What this course is
#
# A Transformer is built from **attention**: every position of a sequence looks at the other
# positions and takes a weighted mix of what it finds there. This course takes attention
# apart, one idea per lesson, and you rebuild it as you go. Every claim is followed by a cell
# that shows it with numbers you can check, and every lesson has a figure and a widget to
# play with.
#
# The code you write lives on in **`attn_lib`**, a small PyTorch library in this repository
# (`attn_lib/attention.py`, `masks.py`, `multihead.py`, ...). A lesson derives a piece in the
# open, checks that it equals the library's version, and imports it from then on.
#
# | # | Lesson | What you will see |
# |---|---|---|
# | 00 | `00_start_here` | this page: how the course works |
# | 01 | `01_attention_as_lookup` | a Python dictionary lookup made *soft*: query, keys, values, softmax weights; steer a 2-D query |
# | 02 | `02_scaled_dot_product` | softmax(QKᵀ/√d_k)V step by step, and *why* √d_k, measured |
# | 03 | `03_multi_head` | several attention heads side by side; parity with `torch.nn.MultiheadAttention` |
# | 04 | `04_encoder_self_attention` | a sentence attends to itself; positional encoding; encoder layers; padding masks |
# | 05 | `05_masking_and_decoder_self_attention` | the causal mask: no position sees the future |
# | 06 | `06_cross_attention` | the decoder reads the encoder: queries from one sequence, keys and values from another |
# | 07 | `07_tiny_transformer` | train a tiny encoder–decoder on your CPU and look inside its attention |
# | 08 | `08_efficient_attention` | what attention costs: FLOPs against bytes moved, tiling queries × keys, the backward pass, the KV cache |
# | 09 | `09_learned_alignment_dates` | a tiny translator: cross-attention learns which source span each output reads |
# | 10 | `10_decoder_only_and_induction_heads` | decoder-only language models, and heads that learn to copy: induction heads |
# | 11 | `11_attention_in_todays_llms` | the attention of today's LLMs: RoPE, grouped-query / multi-query attention, sliding windows |
#
# Take them in order: each lesson uses what the previous ones built. You need Python and a
# little linear algebra (vectors, dot products, matrix products); no GPU.

# %% [markdown]
# ## 2. Running cells
#
# A notebook is a list of **cells**: markdown cells (text like this one) and code cells.
#
# - Click into a code cell and press **Shift+Enter**: it runs, its output appears below it,
#   and the cursor moves to the next cell.
# - **Run ▸ Run All Cells** runs the whole lesson from top to bottom.
# - **Kernel ▸ Restart Kernel and Run All Cells…** starts from a clean slate. Use it when
#   things look odd: a variable keeps the value of the *last* cell that set it, not of the
#   cell above it, so running cells out of order can give surprising results.
#
# Every lesson starts like the cell below: imports, a fixed random seed (so your numbers
# equal the ones stored in the notebook) and one CPU thread (so sums are added in the same
# order on every machine). Run it with Shift+Enter.

# %%
import math
import os
import platform
import re

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import numpy
import torch
from IPython.display import display

import attn_lib
from attn_lib.i18n import pad
from attn_lib.widgets import plot_softmax_demo, softmax_demo

default_threads = torch.get_num_threads()  # remembered for the environment check below
torch.manual_seed(0)
torch.set_num_threads(1)  # printed sums do not depend on the thread count
torch.set_printoptions(precision=4, sci_mode=False)

x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # a (2, 3) tensor: 2 rows, 3 columns
print(f"attn_lib imported OK; a 2x3 tensor has shape {tuple(x.shape)}")

# %% [markdown]
# If you see `attn_lib imported OK; a 2x3 tensor has shape (2, 3)`, you are set. If you see
# `ModuleNotFoundError: No module named 'attn_lib'`, the notebook runs in another Python than
# the course's: start JupyterLab with `make lab` from the repository folder, and pick the
# kernel "Python 3 (ipykernel)".
#
# A habit of the course: every tensor's **shape** is printed or written in a comment where
# the tensor is born, like `# (2, 3)` above. Most bugs in attention code are shape bugs.

# %% [markdown]
# ## 3. Is your machine ready?
#
# The next cell prints what the course runs on. Your versions and thread counts may differ
# from the ones stored here (this cell's output is one of the few that are *allowed* to
# differ, like the widgets'; the automatic tests skip it); the last column says whether each version is new enough.

# %% tags=["nbval-ignore-output"]
def at_least(version: str, minimum: tuple[int, int]) -> str:
    """'OK' if the version string starts with a (major, minor) >= minimum."""
    found = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    return "OK" if found >= minimum else f"too old: need >= {minimum[0]}.{minimum[1]}"


if torch.cuda.is_available():
    gpu = f"yes: {torch.cuda.get_device_name(0)} (not needed; the lessons run on the CPU)"
else:
    gpu = "none (not needed: every lesson runs on the CPU)"
rows = [
    ("Python", platform.python_version(), at_least(platform.python_version(), (3, 10))),
    ("torch", torch.__version__, at_least(torch.__version__, (2, 3))),
    ("ipywidgets", widgets.__version__, at_least(widgets.__version__, (8, 1))),
    ("matplotlib", matplotlib.__version__, at_least(matplotlib.__version__, (3, 8))),
    ("numpy", numpy.__version__, ""),
    ("operating system", platform.platform(terse=True), ""),
    ("CPU cores", str(os.cpu_count()), ""),
    ("torch CPU threads", f"{default_threads} by default; the lessons set 1", ""),
    ("CUDA GPU", gpu, ""),
    ("attn_lib from", os.path.dirname(attn_lib.__file__), ""),
]
for name, value, verdict in rows:
    print(f"{pad(name, 18)} {pad(value, 12)} {verdict}".rstrip())

# %% [markdown]
# ## 4. Moving a widget
#
# Almost every lesson has a **widget**: a slider, a switch or a menu that redraws a figure
# when you move it. Here is a small one, and it shows the function you will meet in every
# lesson: the **softmax**. It turns any list of real numbers (*scores*) into *weights*
# that are positive and add up to 1:
#
# $$w_i = \frac{e^{s_i}}{\sum_j e^{s_j}}.$$
#
# First the figure for four items A, B, C, D with scores 0, 1, 0, −1, without a widget:

# %%
fig = plot_softmax_demo(score=0.0)
plt.show()

# %% [markdown]
# B has the largest score, so it gets the largest weight; A and C have equal scores, so they
# get equal weights. Raising A's score must take weight away from the others (the total
# stays 1), but it does so **fairly**: their weights all shrink by the same factor, so the
# ratio of B to C stays $e^{1-0} = e \approx 2.718$. Checked:

# %%
for score in (0.0, 2.0):
    w = softmax_demo(score)["weights"]  # (4,): the weights of A, B, C, D
    print(f"score of A = {score}: weights {[round(v, 3) for v in w.tolist()]},", end=" ")
    print(f"sum = {w.sum().item():.3f}, B/C = {(w[1] / w[2]).item():.3f}")
print(f"e = {math.e:.3f}")

# %% [markdown]
# Now the widget. Run the cell, then drag the slider "score of A" (or click its handle and
# press the arrow keys). The figure redraws when you let go. Try −4, then +4: where does A's
# weight end up, and what happens to B, C and D?

# %% tags=["nbval-ignore-output"]
score_w = widgets.FloatSlider(
    value=0.0,
    min=-4.0,
    max=4.0,
    step=0.5,
    description="score of A",
    continuous_update=False,  # redraw when the slider is released
    style={"description_width": "initial"},
)


def show(score):
    plot_softmax_demo(score)
    plt.show()


view = widgets.interactive_output(show, {"score": score_w})
display(widgets.VBox([score_w, view]))

# %% [markdown]
# If you see a slider and a figure, widgets work. If you see only a line of text such as
# `VBox(children=...)`, the widget extension of JupyterLab is not loaded: open the course
# with `make lab`, which uses the course's JupyterLab.
#
# The widgets never hide logic: the function behind this one is `plot_softmax_demo` in
# `attn_lib/widgets/` (one module per lesson), an ordinary function (a number in, a figure out) with its own tests
# in `tests/`. You can call it yourself, as the first figure above did.

# %% [markdown]
# ## 5. How exercises report
#
# Lessons 01–11 end with a few exercises: you write a small function `my_...`, and the cell
# below it checks your function on the spot. The check calls it on several inputs (random
# ones from a fixed seed, a batch, length 1, a fully masked row, ...) and compares every result
# with `attn_lib`. It answers with a coloured box:
#
# - **yellow**: not attempted yet (the function still returns `None`, as it does when a lesson opens);
# - **red**: something differs. It says on which input, what differs and where, and when your
#   result is what a *common mistake* gives, it names that mistake and suggests a fix;
# - **green**: every input gave the expected result.

# %% [markdown]
# Every check also **records your progress**, on your machine only: which exercises passed and
# which mistakes it recognised, with the time, in a small file `progress.json` in your user data
# folder (`~/.local/share/attn-course/` on Linux, `~/Library/Application Support/attn-course/` on
# macOS, `%APPDATA%\attn-course\` on Windows), never inside the course folder, so updating the
# course with `git pull` never conflicts with it. A pass stays recorded, even if a later check
# fails; restarting the kernel or re-running a lesson resets nothing. Here is the table (on a
# fresh machine, as stored here, it is empty; the totals are each lesson's exercises):

# %%
from attn_lib import progress

progress.table()

# %% [markdown]
# In a terminal, `python -m attn_lib progress` prints the same table and where the file is
# (`--verbose` adds each exercise and the mistakes by name);
# `python -m attn_lib progress --reset 01` forgets lesson 01, `--reset` alone forgets everything.
# To record nothing at all, set the environment variable `ATTN_COURSE_PROGRESS=off` before
# starting JupyterLab (`ATTN_COURSE_DATA_DIR` chooses another folder for the file).
#
# Here is a warm-up exercise (it is not one of the lessons' own). A softmax is "exponentiate,
# then normalise"; the second half on its own: divide every row of `x` (the last axis) by the
# row's sum, so that each row sums to 1. First the function as a lesson ships it, with an
# empty body:

# %%
from attn_lib.exercises import check_normalise_rows


def my_normalise_rows(x):
    """x (..., n) with positive entries -> same shape, every row divided by its sum."""
    ...  # your code here


check_normalise_rows(my_normalise_rows)

# %% [markdown]
# A first attempt that divides by the sum of **all** entries. On a single row that is right, but
# the check also tries several rows and a batch, and recognises the mistake:


# %%
def my_normalise_rows(x):
    return x / x.sum()  # the total of every entry, not each row's own sum


check_normalise_rows(my_normalise_rows)

# %% [markdown]
# And fixed as the hint says (`keepdim=True` keeps the summed axis with size 1, so that each
# row is divided by its own sum):


# %%
def my_normalise_rows(x):
    return x / x.sum(dim=-1, keepdim=True)  # (..., n) / (..., 1)


check_normalise_rows(my_normalise_rows)

# %% [markdown]
# The result also works as `True`/`False` (`bool(check_normalise_rows(my_normalise_rows))`). Stuck
# on an exercise? `show_solution("normalise_rows")` (after `from attn_lib.exercises import
# show_solution`) shows one solution; any function that passes the check is right.

# %% [markdown]
# ## 6. Resetting a lesson
#
# Change anything you like: you cannot break the course. Each lesson is stored twice, as a
# **pair** that JupyterLab keeps in sync whenever you save: `lessons/NN_name.py` (the
# readable source) and `lessons/NN_name.ipynb` (the notebook with its outputs). To get a
# lesson back exactly as it was shipped, close its tab and, in a terminal in the repository
# folder, restore **both** files with git:
#
# ```bash
# git checkout -- lessons/01_attention_as_lookup.ipynb lessons/01_attention_as_lookup.py
# # or, the same with newer git:
# git restore lessons/01_attention_as_lookup.ipynb lessons/01_attention_as_lookup.py
# ```
#
# Then open the lesson again (if its tab was still open, use **File ▸ Reload Notebook from
# Disk**, or your next save writes the old content back). This throws your changes away; to
# see them first, run `git diff lessons/01_attention_as_lookup.py`, and to keep them, copy
# the files elsewhere before restoring.
#
# Restoring a lesson does not touch your progress (it is not in the repository); to forget
# a lesson's recorded progress too, run `python -m attn_lib progress --reset 01`.

# %% [markdown]
# ## 7. The one convention: `True` means "may attend"
#
# Later lessons **mask** attention: they forbid some query positions to look at some key
# positions (padding, or the future). In this course a mask is always a **boolean tensor in
# which `True` means "may attend"**, broadcastable to the shape `(..., T_q, T_k)` of the
# attention scores (T_q queries, T_k keys), exactly like `attn_mask` of PyTorch's
# `torch.nn.functional.scaled_dot_product_attention`. Where the mask is `False`, the score is
# set to −∞ before the softmax, so the weight becomes exactly 0. Beware:
# `torch.nn.MultiheadAttention` reads boolean masks **the other way round** (`True` =
# blocked); `attn_lib.to_torch_mha_mask` converts, and lesson 05 shows the silent bug that
# mixing them causes. Here is the mask of lesson 05, for three positions, in both readings:

# %%
mask = attn_lib.causal_mask(3)  # (T_q, T_k) = (3, 3): query i may attend to keys 0..i
print("attn_lib (True = may attend):\n", mask)
print("torch.nn.MultiheadAttention (True = blocked):\n", attn_lib.to_torch_mha_mask(mask))

# %% [markdown]
# ## Summary
#
# - The course has twelve lessons, 00 to 11; take them in order. The code you build is the
#   library `attn_lib`; each lesson derives a piece, checks it against the library, then
#   imports it.
# - **Shift+Enter** runs a cell; **Run All** runs a lesson; **Restart Kernel and Run All**
#   starts clean when cells were run out of order.
# - Widgets redraw a figure from an ordinary, tested function in `attn_lib/widgets/`.
# - The **softmax** turns scores into positive weights that sum to 1; raising one score
#   shrinks all the other weights by the same factor.
# - Exercises are checked on the spot: green box = right, red box = the mistake, named.
#   Your progress is recorded outside the repository; `python -m attn_lib progress` shows it.
# - `git restore lessons/NN_name.ipynb lessons/NN_name.py` resets a lesson (both files of
#   the pair).
# - A mask is boolean with **`True` = may attend**; `torch.nn.MultiheadAttention` reads it
#   the other way round.
#
# ## Check yourself
#
# 1. You edited a cell near the top of a lesson, and the numbers further down no longer
#    make sense. What do you do?
# 2. In the widget, A's score goes from 0 to 4. What happens to the weights of B, C and D,
#    and to the ratio of B's weight to C's?
# 3. Why must you restore both `lessons/NN_name.py` and `lessons/NN_name.ipynb`?
# 4. A mask holds `True` at row 2, column 0. May query 2 attend to key 0 in this course?
#    And if you passed the same tensor to `torch.nn.MultiheadAttention`?
#
# <details><summary>Answers</summary>
#
# 1. Re-run the cells below it, or **Kernel ▸ Restart Kernel and Run All Cells…** so that
#    every variable is computed again, in order.
# 2. They all shrink (the four weights still sum to 1), by the same factor, so B's weight
#    stays $e \approx 2.718$ times C's.
# 3. They are one lesson stored twice, and JupyterLab expects the two to agree. Restore only
#    one, and the pair disagrees: JupyterLab may open your changed version, and your next
#    save writes it into both files again.
# 4. Yes: `True` = may attend. `torch.nn.MultiheadAttention` would read the same `True` as
#    "blocked"; convert with `attn_lib.to_torch_mha_mask` first.
#
# </details>
#
# Next: **`01_attention_as_lookup`**, where a Python dictionary lookup becomes attention.
