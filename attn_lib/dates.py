"""The date task: many written forms of a date -> ISO ``YYYY-MM-DD``, character by character.

Letters: ``B`` batch, ``S`` source length (characters, padded), ``T`` target length
(``T = 11``: ten characters of ``YYYY-MM-DD`` plus BOS or EOS).

Dates are drawn uniformly from 1950-01-01 .. 2049-12-31 (36,525 days). A fixed, seeded set of
dates is *held out*: training never sees them in any written form (:func:`split_dates`).
Each date can be written in six forms (:data:`DATE_FORMATS`), e.g. for 25 March 2019::

    dmy_long     25 March 2019
    mdy_long     March 25, 2019
    dmy_slash    25/03/2019
    dow_short    Tue 25 Mar 19          (two-digit year: 50..99 -> 19xx, 00..49 -> 20xx)
    ordinal      the 25th of march, 2019
    korean       2019년 3월 25일 화요일   (year, month, day, weekday)

Weekday words are correct for the date and carry no information the answer needs.

Vocabularies. Source: ``PAD = 0`` and one id per character of :data:`SOURCE_CHARS`.
Target: ``PAD = 0``, ``BOS = 1``, ``EOS = 2``, the digits ``"0"..."9"`` as ``3..12`` and
``"-"`` as ``13`` (:data:`TARGET_VOCAB_SIZE` = 14).

A :class:`DateBatch` carries, besides ``src``/``tgt_in``/``tgt_out``, the *answer spans*:
for every example, the source characters ``[start, end)`` that hold its year, month and day
(``spans`` ``(B, 3, 2)``), so that :func:`span_share` can measure how much cross-attention an
output character puts on the part of the source that holds its answer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import torch

__all__ = [
    "ATTENTION_KINDS",
    "BOS",
    "DATE_FORMATS",
    "EOS",
    "FIELDS",
    "FIRST_DATE",
    "HANGUL_NAMES",
    "LAST_DATE",
    "OUTPUT_FIELD",
    "PAD",
    "SOURCE_CHARS",
    "SOURCE_VOCAB_SIZE",
    "TARGET_LEN",
    "TARGET_VOCAB_SIZE",
    "DateBatch",
    "DateExample",
    "ablate_heads",
    "ablation_table",
    "accuracy_per_format",
    "all_dates",
    "batch_from_examples",
    "char_label",
    "correct_rows",
    "decode_target",
    "encode_source",
    "encode_target",
    "held_out_batch",
    "make_date_batch",
    "render_date",
    "shuffled_span_share",
    "span_share",
    "span_share_table",
    "split_dates",
    "translate",
]

FIRST_DATE = dt.date(1950, 1, 1)
LAST_DATE = dt.date(2049, 12, 31)
DATE_FORMATS = ("dmy_long", "mdy_long", "dmy_slash", "dow_short", "ordinal", "korean")
FIELDS = ("year", "month", "day")
TARGET_LEN = 10  # len("2019-03-25")
# Which field each output character YYYY-MM-DD answers (-1: the hyphens, which answer nothing).
OUTPUT_FIELD = (0, 0, 0, 0, -1, 1, 1, -1, 2, 2)

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
KOREAN_WEEKDAYS = ("월", "화", "수", "목", "금", "토", "일")  # + "요일"

# Romanised names of the Hangul syllables, for figure labels (matplotlib may have no Hangul font).
HANGUL_NAMES = {
    "년": "nyeon",
    "월": "wol",
    "일": "il",
    "요": "yo",
    "화": "hwa",
    "수": "su",
    "목": "mok",
    "금": "geum",
    "토": "to",
}

PAD = 0
BOS = 1
EOS = 2
_DIGIT_OFFSET = 3
_HYPHEN = 13
TARGET_VOCAB_SIZE = 14


def _source_alphabet() -> str:
    chars = set("0123456789 ,/")
    for word in (*MONTHS, *WEEKDAYS, "the", "of", "st", "nd", "rd", "th", "요일", "년월일", *KOREAN_WEEKDAYS):
        chars.update(word)
        chars.update(word.lower())
    return "".join(sorted(chars))


SOURCE_CHARS = _source_alphabet()
_SOURCE_ID = {c: i + 1 for i, c in enumerate(SOURCE_CHARS)}  # 0 is PAD
SOURCE_VOCAB_SIZE = len(SOURCE_CHARS) + 1


@dataclass(frozen=True)
class DateExample:
    """One written date: ``source`` text, ISO ``target``, and the ``[start, end)`` source spans
    of ``year``, ``month`` and ``day`` (in that order, :data:`FIELDS`)."""

    source: str
    target: str
    fmt: str
    spans: tuple[tuple[int, int], tuple[int, int], tuple[int, int]]


def _ordinal(day: int) -> str:
    if 11 <= day % 100 <= 13:
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th') }"


def render_date(date: dt.date, fmt: str) -> DateExample:
    """Write ``date`` in the form ``fmt`` (one of :data:`DATE_FORMATS`) and locate its fields.

    >>> render_date(dt.date(2019, 3, 25), "ordinal").source
    'the 25th of march, 2019'
    """
    if not isinstance(date, dt.date):
        raise TypeError(f"date must be a datetime.date, got {type(date).__name__}")
    if not FIRST_DATE <= date <= LAST_DATE:
        raise ValueError(f"date must be between {FIRST_DATE} and {LAST_DATE}, got {date}")
    y, m, d = date.year, date.month, date.day
    month = MONTHS[m - 1]
    if fmt == "dmy_long":
        parts = [("day", str(d)), ("", " "), ("month", month), ("", " "), ("year", str(y))]
    elif fmt == "mdy_long":
        parts = [("month", month), ("", " "), ("day", str(d)), ("", ", "), ("year", str(y))]
    elif fmt == "dmy_slash":
        parts = [("day", f"{d:02d}"), ("", "/"), ("month", f"{m:02d}"), ("", "/"), ("year", str(y))]
    elif fmt == "dow_short":
        wd = WEEKDAYS[date.weekday()]
        parts = [
            ("", f"{wd} "),
            ("day", str(d)),
            ("", " "),
            ("month", month[:3]),
            ("", " "),
            ("year", f"{y % 100:02d}"),
        ]
    elif fmt == "ordinal":
        # the span of the day is its digits; the suffix st/nd/rd/th follows from them
        parts = [
            ("", "the "),
            ("day", str(d)),
            ("", _ordinal(d)[len(str(d)) :] + " of "),
            ("month", month.lower()),
        ]
        parts += [("", ", "), ("year", str(y))]
    elif fmt == "korean":
        wd = KOREAN_WEEKDAYS[date.weekday()]
        parts = [
            ("year", str(y)),
            ("", "년 "),
            ("month", str(m)),
            ("", "월 "),
            ("day", str(d)),
            ("", f"일 {wd}요일"),
        ]
    else:
        raise ValueError(f"fmt must be one of {DATE_FORMATS}, got {fmt!r}")
    spans: dict[str, tuple[int, int]] = {}
    pos = 0
    for name, text in parts:
        if name:
            spans[name] = (pos, pos + len(text))
        pos += len(text)
    source = "".join(text for _, text in parts)
    return DateExample(source, date.isoformat(), fmt, (spans["year"], spans["month"], spans["day"]))


def all_dates() -> list[dt.date]:
    """Every date of the task, :data:`FIRST_DATE` .. :data:`LAST_DATE` (36,525 days)."""
    n = (LAST_DATE - FIRST_DATE).days + 1
    return [FIRST_DATE + dt.timedelta(days=i) for i in range(n)]


def split_dates(n_held_out: int = 2000, seed: int = 0) -> tuple[list[dt.date], list[dt.date]]:
    """``(training_dates, held_out_dates)``: a seeded random ``n_held_out`` dates are held out;
    the two lists are disjoint and together are :func:`all_dates`."""
    dates = all_dates()
    if isinstance(n_held_out, bool) or not isinstance(n_held_out, int) or not 0 < n_held_out < len(dates):
        raise ValueError(f"n_held_out must be an int in [1, {len(dates) - 1}], got {n_held_out!r}")
    order = torch.randperm(len(dates), generator=torch.Generator().manual_seed(seed)).tolist()
    held = sorted(order[:n_held_out])
    train = sorted(order[n_held_out:])
    return [dates[i] for i in train], [dates[i] for i in held]


def encode_source(text: str) -> list[int]:
    """Source text -> ids (no BOS/EOS); a character outside :data:`SOURCE_CHARS` is a ValueError."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    bad = sorted({c for c in text if c not in _SOURCE_ID})
    if bad:
        raise ValueError(f"text {text!r} has characters the model does not know: {bad}")
    return [_SOURCE_ID[c] for c in text]


def encode_target(iso: str) -> list[int]:
    """``"2019-03-25"`` -> target ids (no BOS/EOS)."""
    if not isinstance(iso, str) or any(c not in "0123456789-" for c in iso):
        raise ValueError(f"iso must be a str of digits and '-', got {iso!r}")
    return [_HYPHEN if c == "-" else _DIGIT_OFFSET + int(c) for c in iso]


def decode_target(ids: Sequence[int] | torch.Tensor) -> str:
    """Target ids -> text: skips PAD and BOS, stops at the first EOS."""
    if isinstance(ids, torch.Tensor):
        ids = ids.tolist()
    out = []
    for i in ids:
        i = int(i)
        if i == EOS:
            break
        if i in (PAD, BOS):
            continue
        if not _DIGIT_OFFSET <= i <= _HYPHEN:
            raise ValueError(f"token id {i} is not in the target vocabulary 0..{TARGET_VOCAB_SIZE - 1}")
        out.append("-" if i == _HYPHEN else str(i - _DIGIT_OFFSET))
    return "".join(out)


def char_label(c: str) -> str:
    """A figure label for a source character: Hangul romanised (``"월"`` -> ``"[wol]"``), space as ``"␣"``."""
    if c in HANGUL_NAMES:
        return f"[{HANGUL_NAMES[c]}]"
    return "␣" if c == " " else c


@dataclass(frozen=True)
class DateBatch:
    """A padded batch of the date task. Unpacks like a tuple: ``src, tgt_in, tgt_out = batch``."""

    src: torch.Tensor  # (B, S) source character ids, PAD-padded
    tgt_in: torch.Tensor  # (B, 11) BOS + YYYY-MM-DD
    tgt_out: torch.Tensor  # (B, 11) YYYY-MM-DD + EOS
    spans: torch.Tensor  # (B, 3, 2) [start, end) of year, month, day in the source
    examples: tuple[DateExample, ...]

    def __iter__(self) -> Iterator[torch.Tensor]:
        return iter((self.src, self.tgt_in, self.tgt_out))

    def __len__(self) -> int:
        return self.src.shape[0]

    @property
    def formats(self) -> list[str]:
        return [e.fmt for e in self.examples]


def batch_from_examples(examples: Sequence[DateExample]) -> DateBatch:
    """Tensors for written dates: ``src`` padded, ``tgt_in = BOS + target``, ``tgt_out = target + EOS``."""
    if len(examples) == 0:
        raise ValueError("examples is empty; need at least one")
    S = max(len(e.source) for e in examples)
    src = torch.full((len(examples), S), PAD, dtype=torch.long)  # (B, S)
    for b, e in enumerate(examples):
        src[b, : len(e.source)] = torch.tensor(encode_source(e.source))
    tgt = torch.tensor([encode_target(e.target) for e in examples])  # (B, 10)
    tgt_in = torch.cat([torch.full((len(examples), 1), BOS), tgt], dim=1)  # (B, 11)
    tgt_out = torch.cat([tgt, torch.full((len(examples), 1), EOS)], dim=1)  # (B, 11)
    spans = torch.tensor([e.spans for e in examples])  # (B, 3, 2)
    return DateBatch(src, tgt_in, tgt_out, spans, tuple(examples))


def make_date_batch(
    dates: Sequence[dt.date],
    batch_size: int,
    generator: torch.Generator | None = None,
    formats: Sequence[str] = DATE_FORMATS,
) -> DateBatch:
    """``batch_size`` examples: dates drawn uniformly from ``dates``, each in a uniformly drawn format."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if len(dates) == 0 or len(formats) == 0:
        raise ValueError("dates and formats must not be empty")
    bad = [f for f in formats if f not in DATE_FORMATS]
    if bad:
        raise ValueError(f"unknown formats {bad}; the formats are {DATE_FORMATS}")
    di = torch.randint(0, len(dates), (batch_size,), generator=generator).tolist()
    fi = torch.randint(0, len(formats), (batch_size,), generator=generator).tolist()
    return batch_from_examples([render_date(dates[i], formats[f]) for i, f in zip(di, fi, strict=True)])


def held_out_batch(dates: Sequence[dt.date], formats: Sequence[str] = DATE_FORMATS) -> DateBatch:
    """Every date of ``dates`` in every format (``len(dates) * len(formats)`` examples, format-major)."""
    return batch_from_examples([render_date(d, f) for f in formats for d in dates])


def _span_masks(spans: torch.Tensor, S: int) -> torch.Tensor:
    """``spans`` ``(B, 3, 2)`` -> bool ``(B, 10, S)``: True on the source span that answers each
    output character (all False for the hyphens)."""
    pos = torch.arange(S)  # (S,)
    field_mask = (pos >= spans[..., :1]) & (pos < spans[..., 1:])  # (B, 3, S)
    rows = [
        field_mask[:, f] if f >= 0 else torch.zeros_like(field_mask[:, 0]) for f in OUTPUT_FIELD
    ]  # 10 x (B, S)
    return torch.stack(rows, dim=1)  # (B, 10, S)


def span_share(cross: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
    """Mean share of cross-attention that each output digit puts on its answer's source span.

    Args:
        cross: cross-attention weights ``(B, H, T, S)`` of one layer, from a teacher-forced pass
            over ``tgt_in`` (``T >= 10``; row i produces output character i).
        spans: ``(B, 3, 2)`` ``[start, end)`` of year, month, day (``DateBatch.spans``).

    Returns:
        ``(H,)``: for each head, the weight on the answer span, summed over the span and averaged
        over the eight digits of ``YYYY-MM-DD`` (hyphens and EOS have no span) and the batch.
    """
    if not isinstance(cross, torch.Tensor) or cross.dim() != 4 or cross.shape[2] < TARGET_LEN:
        got = tuple(cross.shape) if isinstance(cross, torch.Tensor) else type(cross).__name__
        raise ValueError(f"cross must be (B, H, T >= {TARGET_LEN}, S) attention weights, got {got}")
    if not isinstance(spans, torch.Tensor) or spans.shape != (cross.shape[0], 3, 2):
        got = tuple(spans.shape) if isinstance(spans, torch.Tensor) else type(spans).__name__
        raise ValueError(f"spans must be (B={cross.shape[0]}, 3, 2), got {got}")
    mask = _span_masks(spans, cross.shape[3])  # (B, 10, S)
    on_span = (cross[:, :, :TARGET_LEN] * mask[:, None]).sum(-1)  # (B, H, 10)
    digits = torch.tensor([f >= 0 for f in OUTPUT_FIELD])  # (10,)
    return on_span[:, :, digits].mean(dim=(0, 2))  # (H,)


def shuffled_span_share(cross: torch.Tensor, spans: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """The baseline of :func:`span_share`: each answer span moved to every other place of the same
    length in the (unpadded) source, the share averaged over all those places.

    What a head gets whose attention is not related to where the answer is; ``src`` ``(B, S)``
    gives each source's real length. Returns ``(H,)``.
    """
    if not isinstance(src, torch.Tensor) or src.shape != (cross.shape[0], cross.shape[3]):
        raise ValueError(
            f"src must be (B, S) = {(cross.shape[0], cross.shape[3])}, got {getattr(src, 'shape', src)}"
        )
    lengths = (src != PAD).sum(1)  # (B,)
    B, H = cross.shape[:2]
    totals = torch.zeros(H, dtype=torch.float64)
    count = 0
    for b in range(B):
        c = cross[b, :, :TARGET_LEN, : int(lengths[b])].double()  # (H, 10, L)
        cum = torch.nn.functional.pad(c.cumsum(-1), (1, 0))  # (H, 10, L + 1): prefix sums
        L = int(lengths[b])
        for i, f in enumerate(OUTPUT_FIELD):
            if f < 0:
                continue
            width = int(spans[b, f, 1] - spans[b, f, 0])
            starts = torch.arange(0, L - width + 1)
            shares = cum[:, i, starts + width] - cum[:, i, starts]  # (H, places)
            totals += shares.mean(-1)
            count += 1
    return (totals / count).to(cross.dtype)


# ======================================================================== looking inside a trained model

ATTENTION_KINDS = ("encoder", "decoder_self", "cross")


def _attention_module(model: torch.nn.Module, kind: str, layer: int) -> torch.nn.Module:
    if kind not in ATTENTION_KINDS:
        raise ValueError(f"kind must be one of {ATTENTION_KINDS}, got {kind!r}")
    layers = model.encoder.layers if kind == "encoder" else model.decoder.layers
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(layers):
        raise ValueError(f"layer must be an int in [0, {len(layers) - 1}], got {layer!r}")
    return layers[layer].self_attn if kind in ("encoder", "decoder_self") else layers[layer].cross_attn


@contextlib.contextmanager
def ablate_heads(model: torch.nn.Module, heads: Iterable[tuple[str, int, int]]) -> Iterator[None]:
    """Within the ``with`` block, the listed heads of ``model`` output zeros.

    ``heads``: ``(kind, layer, head)`` triples, ``kind`` one of :data:`ATTENTION_KINDS`.
    A forward pre-hook on the attention's ``out_proj`` (W^O) zeroes the head's slice
    ``head*Dh : (head+1)*Dh`` of the concatenated head outputs ``(B, T, H*Dh)``: the head's
    attention weights are still computed (and returned by ``attention_maps``), but nothing it
    reads reaches the rest of the model. The weights of the model are not changed.
    """
    handles = []
    try:
        for kind, layer, head in heads:
            attn = _attention_module(model, kind, layer)
            if isinstance(head, bool) or not isinstance(head, int) or not 0 <= head < attn.num_heads:
                raise ValueError(f"head must be an int in [0, {attn.num_heads - 1}], got {head!r}")
            lo, hi = head * attn.head_dim, (head + 1) * attn.head_dim

            def zero_head(module, args, lo=lo, hi=hi):
                (x,) = args  # (B, T, H*Dh), the heads side by side
                x = x.clone()
                x[..., lo:hi] = 0.0
                return (x,)

            handles.append(attn.out_proj.register_forward_pre_hook(zero_head))
        yield
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def translate(model: torch.nn.Module, src: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Greedy decoding of ``src`` ``(B, S)``: ``(B, 11)`` generated tokens (no BOS), EOS-terminated."""
    from .model import greedy_decode

    outs = []
    for i in range(0, src.shape[0], batch_size):
        ys = greedy_decode(model, src[i : i + batch_size], TARGET_LEN + 1, BOS, EOS, use_cache=True)
        outs.append(torch.nn.functional.pad(ys[:, 1:], (0, TARGET_LEN + 1 - (ys.shape[1] - 1)), value=PAD))
    return torch.cat(outs)  # (B, 11)


def correct_rows(model: torch.nn.Module, batch: DateBatch) -> torch.Tensor:
    """Bool ``(B,)``: does greedy decoding produce exactly ``YYYY-MM-DD`` + EOS for each example?"""
    from .train import exact_match

    return exact_match(translate(model, batch.src), batch.tgt_out, EOS, PAD)


def accuracy_per_format(correct: torch.Tensor, batch: DateBatch) -> dict[str, float]:
    """Exact-match accuracy of each format present in ``batch``, and ``"all"``."""
    fmts = batch.formats
    out = {}
    for f in DATE_FORMATS:
        rows = [i for i, x in enumerate(fmts) if x == f]
        if rows:
            out[f] = float(correct[rows].float().mean())
    out["all"] = float(correct.float().mean())
    return out


@torch.no_grad()
def span_share_table(model: torch.nn.Module, batch: DateBatch) -> dict[str, torch.Tensor]:
    """Cross-attention on the answer span, per decoder layer and head, with its baseline.

    Returns ``{"share": (layers, H), "baseline": (layers, H)}`` from one teacher-forced pass
    over ``batch`` (see :func:`span_share` and :func:`shuffled_span_share`).
    """
    was_training = model.training
    model.eval()
    maps = model.attention_maps(batch.src, batch.tgt_in)
    model.train(was_training)
    share = torch.stack([span_share(c, batch.spans) for c in maps.cross])  # (layers, H)
    base = torch.stack([shuffled_span_share(c, batch.spans, batch.src) for c in maps.cross])  # (layers, H)
    return {"share": share, "baseline": base}


def ablation_table(
    model: torch.nn.Module, batch: DateBatch, kind: str = "cross", layers: Sequence[int] | None = None
) -> torch.Tensor:
    """Exact-match accuracy with each head of ``kind`` ablated alone: ``(len(layers), H)``
    (``layers`` defaults to all of them)."""
    stack = model.encoder.layers if kind == "encoder" else model.decoder.layers
    layers = list(range(len(stack))) if layers is None else list(layers)
    H = _attention_module(model, kind, 0).num_heads
    acc = torch.zeros(len(layers), H)
    for row, layer in enumerate(layers):
        for head in range(H):
            with ablate_heads(model, [(kind, layer, head)]):
                acc[row, head] = correct_rows(model, batch).float().mean()
    return acc
