"""Widget logic of lesson 03 (multi-head): pure functions, tested by pytest."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..i18n import _
from ._common import _check_positive_int

HEAD_MAP_TOKENS = ("the", "cat", "sat", "on", "the", "mat", "because", "it", "was", "tired")
HEAD_MAP_D_MODEL = 32  # the widget's num_heads choices are the divisors 1, 2, 4, 8 (16, 32)


def head_map(num_heads: int, head: int, seed: int = 0, init: str = "sharp") -> dict:
    """The self-attention map of one head, for a fixed sentence and seeded random weights.

    The sentence is :data:`HEAD_MAP_TOKENS` (random token embeddings plus sinusoidal
    positions, ``d_model = 32``). W^Q and W^K are one random ``(32, 32)`` matrix each, the
    *same* whatever ``num_heads`` is: ``num_heads`` only decides how their output features
    are cut into heads (head i reads features ``i*Dh : (i+1)*Dh``, ``Dh = 32 / num_heads``).

    ``init`` says how large the random weights are. ``"sharp"`` (the default, the widget's):
    entries N(0, (1.5/√32)²), about 2.6 times the library's; the scores are then about 7 times
    larger than at initialisation, so the maps are peaked (mean largest weight about 0.55
    against the uniform 0.1) and the differences between heads are easy to see.
    ``"library"``: U(−1/√32, 1/√32), the default initialisation of ``nn.Linear`` and so of
    ``attn_lib.MultiHeadAttention``; its maps are close to uniform, as in lesson 04.

    Args:
        num_heads: H, a divisor of 32.
        head: which head to show; a head ``>= num_heads`` does not exist and is clamped to
            the last head (``clamped`` says so).
        seed: seeds the embeddings and the weights.
        init: ``"sharp"`` or ``"library"``, see above.

    Returns:
        A dict: ``weights`` (T, T) of the shown head, ``all_weights`` (H, T, T), ``head``
        (the head shown), ``clamped`` (bool), ``num_heads``, ``head_dim``, ``d_model``,
        ``tokens`` (the T token strings).
    """
    from ..attention import scaled_dot_product_attention
    from ..multihead import split_heads
    from ..positional import sinusoidal_positional_encoding

    D = HEAD_MAP_D_MODEL
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads <= 0 or D % num_heads:
        divisors = [h for h in range(1, D + 1) if D % h == 0]
        raise ValueError(f"num_heads must divide d_model={D}, i.e. be one of {divisors}; got {num_heads!r}")
    if isinstance(head, bool) or not isinstance(head, int) or head < 0:
        raise ValueError(f"head must be an int >= 0, got {head!r}")
    if init not in ("sharp", "library"):
        raise ValueError(f'init must be "sharp" or "library", got {init!r}')
    shown = min(head, num_heads - 1)
    gen = torch.Generator().manual_seed(seed)
    vocab = sorted(set(HEAD_MAP_TOKENS))
    embedding = torch.randn(len(vocab), D, generator=gen)  # (V, D)
    ids = torch.tensor([vocab.index(t) for t in HEAD_MAP_TOKENS])  # (T,)
    x = embedding[ids] + sinusoidal_positional_encoding(len(ids), D)  # (T, D)
    if init == "sharp":  # deliberately larger than at initialisation, so that the maps are peaked
        w_q = torch.randn(D, D, generator=gen) * 1.5 / D**0.5  # (D, D): all heads' W_i^Q side by side
        w_k = torch.randn(D, D, generator=gen) * 1.5 / D**0.5
    else:  # nn.Linear's default: U(-1/√D, 1/√D)
        w_q = (2 * torch.rand(D, D, generator=gen) - 1) / D**0.5  # (D, D)
        w_k = (2 * torch.rand(D, D, generator=gen) - 1) / D**0.5
    q = split_heads((x @ w_q)[None], num_heads)  # (1, T, D) -> (1, H, T, Dh)
    k = split_heads((x @ w_k)[None], num_heads)  # (1, T, D) -> (1, H, T, Dh)
    _out, weights = scaled_dot_product_attention(q, k, k)  # (1, H, T, T); the values do not matter here
    return {
        "weights": weights[0, shown],
        "all_weights": weights[0],
        "head": shown,
        "clamped": shown != head,
        "num_heads": num_heads,
        "head_dim": D // num_heads,
        "d_model": D,
        "tokens": list(HEAD_MAP_TOKENS),
    }


def plot_head_map(num_heads: int, head: int, seed: int = 0) -> Figure:
    """The map of one head (from :func:`head_map`), and below it the d_model features of
    q and k cut into ``num_heads`` slices, the shown head's slice highlighted."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    from ..viz import OKABE_ITO, plot_attention

    r = head_map(num_heads, head, seed)
    H, Dh, D, h = r["num_heads"], r["head_dim"], r["d_model"], r["head"]
    fig, (ax_map, ax_strip) = plt.subplots(2, 1, figsize=(7.5, 6.4), gridspec_kw={"height_ratios": [6, 1]})
    words = r["tokens"]
    title = _("head {h} of {H}: softmax(q_h·k_h / √{Dh}), head_dim = d_model / num_heads = {D}/{H} = {Dh}")
    title = title.format(h=h, H=H, Dh=Dh, D=D)  # translated first, filled after (was looked up filled in)
    plot_attention(r["weights"], words, words, title=title, ax=ax_map)
    if r["clamped"]:
        ax_map.set_title(
            _("(there is no head {head} with {H} heads; showing head {h})\n{title}").format(
                head=head, H=H, h=h, title=title
            ),
            fontsize=10,
        )

    owner = torch.arange(D) // Dh  # (D,): the head that reads each feature
    colours = ListedColormap([OKABE_ITO[i % 7] for i in range(H)])  # colour-blind safe, one per head
    ax_strip.imshow(owner[None].numpy(), cmap=colours, vmin=-0.5, vmax=H - 0.5, aspect="auto", alpha=0.35)
    ax_strip.add_patch(Rectangle((h * Dh - 0.5, -0.5), Dh, 1, fill=False, edgecolor="black", linewidth=2.5))
    for i in range(H):
        if H <= 8:
            ax_strip.text(
                i * Dh + (Dh - 1) / 2, 0, _("h{i}").format(i=i), ha="center", va="center", fontsize=8
            )
    ax_strip.set_xlim(-0.7, D - 0.3)
    ax_strip.set_ylim(0.6, -0.6)
    ax_strip.set_yticks([])
    ax_strip.set_xticks(sorted({0, h * Dh, (h + 1) * Dh - 1, D - 1}))
    ax_strip.set_xlabel(
        _("feature index of q and k (0 … {value}): head {h} reads {value2} … {value3}").format(
            value=D - 1, h=h, value2=h * Dh, value3=(h + 1) * Dh - 1
        )
    )
    fig.tight_layout()
    return fig


NEIGHBOUR_VOCAB, NEIGHBOUR_T = 8, 8  # the toy task of lesson 03: 8 token types, sequences of 8


def train_neighbour_heads(seed: int = 0, steps: int = 300, batch_size: int = 64, lr: float = 0.03) -> dict:
    """Train one 2-head self-attention layer to read off both neighbours of every token.

    Every position's vector is a token one-hot (``NEIGHBOUR_VOCAB`` types) next to a position
    one-hot (``NEIGHBOUR_T`` positions), so ``d_model = 16``. An ``attn_lib.MultiHeadAttention(16,
    2)`` and a linear read-out are trained with Adam on random token sequences to predict, at
    every position i, the token at i − 1 and the token at i + 1 (cross-entropy, where the
    neighbour exists). Nothing in the model says which head does what.

    Args:
        seed: seeds the initialisation and the data (the global RNG is left as it was).
        steps: Adam steps; 300 take about two seconds on one CPU thread.
        batch_size: sequences per step.
        lr: Adam's learning rate.

    Returns:
        ``weights`` ``(H, T, T)``: each head's map averaged over 256 fresh sequences;
        ``scores``: for each rule (``"previous (i-1)"``, ``"same (i)"``, ``"next (i+1)"``) a
        ``(H,)`` tensor, the head's mean weight on that key (rows where it exists);
        ``accuracy``: ``{"previous": float, "next": float}`` of the read-out on those
        sequences; ``losses``: the training loss of every step.
    """
    import torch.nn.functional as F
    from torch import nn

    from ..multihead import MultiHeadAttention

    steps = _check_positive_int("steps", steps)
    batch_size = _check_positive_int("batch_size", batch_size)
    V, T = NEIGHBOUR_VOCAB, NEIGHBOUR_T
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # the initialisation draws from the global RNG
        torch.manual_seed(seed)
        mha = MultiHeadAttention(V + T, 2)
        readout = nn.Linear(V + T, 2 * V)  # per position: logits of the previous and the next token
    opt = torch.optim.Adam([*mha.parameters(), *readout.parameters()], lr=lr)

    def inputs(tokens: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B, T, V + T)
        positions = torch.eye(T).expand(tokens.shape[0], T, T)  # (B, T, T): position one-hot
        return torch.cat([F.one_hot(tokens, V).float(), positions], dim=-1)

    losses = []
    for _step in range(steps):
        tokens = torch.randint(V, (batch_size, T), generator=gen)  # (B, T)
        x = inputs(tokens)
        out, _weights = mha(x, x, x)  # (B, T, D)
        logits = readout(out).view(batch_size, T, 2, V)  # (B, T, 2, V)
        loss = F.cross_entropy(logits[:, 1:, 0].reshape(-1, V), tokens[:, :-1].reshape(-1)) + F.cross_entropy(
            logits[:, :-1, 1].reshape(-1, V), tokens[:, 1:].reshape(-1)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        tokens = torch.randint(V, (256, T), generator=gen)
        x = inputs(tokens)
        out, w = mha(x, x, x)  # (256, T, D), (256, H, T, T)
        logits = readout(out).view(256, T, 2, V)
        weights = w.mean(dim=0)  # (H, T, T)
    scores = {
        "previous (i-1)": torch.stack([weights[h].diagonal(-1).mean() for h in range(2)]),
        "same (i)": torch.stack([weights[h].diagonal().mean() for h in range(2)]),
        "next (i+1)": torch.stack([weights[h].diagonal(1).mean() for h in range(2)]),
    }
    accuracy = {
        "previous": float((logits[:, 1:, 0].argmax(-1) == tokens[:, :-1]).float().mean()),
        "next": float((logits[:, :-1, 1].argmax(-1) == tokens[:, 1:]).float().mean()),
    }
    return {"weights": weights, "scores": scores, "accuracy": accuracy, "losses": losses}
