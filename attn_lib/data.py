"""Toy sequence tasks on digit strings: reversal and copy, as padded token batches.

Letters: ``B`` batch, ``S`` source length, ``T`` target length (both padded to the longest
sequence of the batch).

Vocabulary (shared by source and target): ``PAD = 0``, ``BOS = 1``, ``EOS = 2`` and the
digits ``"0"`` .. ``"9"`` as ids ``3`` .. ``12`` (``DIGIT_OFFSET + digit``), so
``VOCAB_SIZE = 13``.

For a source ``x_1 .. x_L`` and its answer ``y_1 .. y_L`` (reversed or copied), a batch holds

- ``src``     = ``x_1 .. x_L``               padded with PAD, ``(B, S)``;
- ``tgt_out`` = ``y_1 .. y_L EOS``           padded with PAD, ``(B, T)``, what the model must predict;
- ``tgt_in``  = ``BOS y_1 .. y_L``           padded with PAD, ``(B, T)``, the decoder input:
  ``tgt_out`` shifted one step to the right (teacher forcing), so ``T = L_max + 1``.

Sequences in a batch have different lengths, so the padding masks matter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

__all__ = [
    "BOS",
    "DIGIT_OFFSET",
    "EOS",
    "PAD",
    "VOCAB_SIZE",
    "Batch",
    "decode",
    "encode",
    "make_batch",
    "make_copy_batch",
    "make_reversal_batch",
    "pad_sequences",
    "reversal_held_out_set",
    "to_strings",
    "token_labels",
]

PAD = 0
BOS = 1
EOS = 2
DIGIT_OFFSET = 3
VOCAB_SIZE = DIGIT_OFFSET + 10
_SPECIAL_NAMES = {PAD: "<pad>", BOS: "<bos>", EOS: "<eos>"}


def _check_ids(name: str, ids: object) -> list[int]:
    """A 1-D integer tensor or a sequence of ints -> list of ints, else a named error."""
    if isinstance(ids, torch.Tensor):
        if ids.dim() != 1:
            raise ValueError(f"{name} must be one sequence (1-D), got shape {tuple(ids.shape)}")
        if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
            raise TypeError(f"{name} must hold integer token ids, got dtype {ids.dtype}")
        return ids.tolist()
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence):
        raise TypeError(f"{name} must be a sequence of int token ids, got {type(ids).__name__}")
    out = []
    for i in ids:
        if (
            isinstance(i, torch.Tensor)
            and i.dim() == 0
            and not (i.is_floating_point() or i.dtype == torch.bool)
        ):
            i = int(i)
        if isinstance(i, bool) or not isinstance(i, int):
            raise TypeError(f"{name} must hold int token ids, got {type(i).__name__} {i!r}")
        out.append(i)
    return out


def encode(digits: str) -> list[int]:
    """Digit string -> token ids, e.g. ``"2024"`` -> ``[5, 3, 5, 7]`` (no BOS/EOS added)."""
    if not isinstance(digits, str):
        raise TypeError(f"digits must be a str of decimal digits, got {type(digits).__name__}")
    bad = sorted({c for c in digits if c not in "0123456789"})
    if bad:
        raise ValueError(f"digits may only contain 0-9, got {digits!r} with {bad}")
    return [DIGIT_OFFSET + int(c) for c in digits]


def decode(ids: Sequence[int] | torch.Tensor) -> str:
    """Token ids -> digit string: skips PAD and BOS, stops at the first EOS.

    ``decode([1, 5, 3, 5, 7, 2, 0])`` -> ``"2024"``.
    """
    out = []
    for i in _check_ids("ids", ids):
        if i == EOS:
            break
        if i in (PAD, BOS):
            continue
        if not DIGIT_OFFSET <= i < VOCAB_SIZE:
            raise ValueError(f"token id {i} is not in the vocabulary 0..{VOCAB_SIZE - 1}")
        out.append(str(i - DIGIT_OFFSET))
    return "".join(out)


def token_labels(ids: Sequence[int] | torch.Tensor) -> list[str]:
    """One readable label per id, for plot axes: ``[1, 5, 2, 0]`` -> ``["<bos>", "2", "<eos>", "<pad>"]``."""
    ids = _check_ids("ids", ids)
    bad = [i for i in ids if not 0 <= i < VOCAB_SIZE]
    if bad:
        raise ValueError(f"token id {bad[0]} is not in the vocabulary 0..{VOCAB_SIZE - 1}")
    return [_SPECIAL_NAMES.get(i, str(i - DIGIT_OFFSET)) for i in ids]


def to_strings(tokens: torch.Tensor) -> list[str]:
    """``(B, T)`` token ids -> one digit string per row (see :func:`decode`)."""
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2:
        got = tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else type(tokens).__name__
        raise ValueError(f"tokens must be a (B, T) tensor of ids, got {got}")
    return [decode(row) for row in tokens.tolist()]


def pad_sequences(seqs: Sequence[Sequence[int]], pad_id: int = PAD) -> torch.Tensor:
    """Lists of ids of different lengths -> ``(B, T_max)`` long tensor, right-padded with ``pad_id``."""
    if isinstance(seqs, (str, bytes, torch.Tensor)) or not isinstance(seqs, Sequence):
        raise TypeError(f"seqs must be a list of sequences of int ids, got {type(seqs).__name__}")
    if len(seqs) == 0:
        raise ValueError("seqs is empty; need at least one sequence")
    if isinstance(pad_id, bool) or not isinstance(pad_id, int):
        raise TypeError(f"pad_id must be an int token id, got {type(pad_id).__name__} {pad_id!r}")
    seqs = [_check_ids(f"seqs[{b}]", s) for b, s in enumerate(seqs)]
    T = max(len(s) for s in seqs)
    out = torch.full((len(seqs), T), pad_id, dtype=torch.long)  # (B, T_max)
    for b, s in enumerate(seqs):
        out[b, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


@dataclass(frozen=True)
class Batch:
    """A padded batch of a sequence-to-sequence task (see the module docstring).

    Unpacks like a tuple: ``src, tgt_in, tgt_out = batch``.
    """

    src: torch.Tensor  # (B, S)
    tgt_in: torch.Tensor  # (B, T)  BOS + answer
    tgt_out: torch.Tensor  # (B, T)  answer + EOS

    def __iter__(self) -> Iterator[torch.Tensor]:
        return iter((self.src, self.tgt_in, self.tgt_out))

    def __len__(self) -> int:
        return self.src.shape[0]


def make_batch(sources: Sequence[Sequence[int]], answers: Sequence[Sequence[int]]) -> Batch:
    """Build ``src``, ``tgt_in = BOS + answer`` and ``tgt_out = answer + EOS``, each padded with PAD."""
    for name, seqs in (("sources", sources), ("answers", answers)):
        if isinstance(seqs, (str, bytes, torch.Tensor)) or not isinstance(seqs, Sequence):
            raise TypeError(f"{name} must be a list of sequences of int ids, got {type(seqs).__name__}")
    if len(sources) != len(answers):
        raise ValueError(f"got {len(sources)} sources but {len(answers)} answers; they must pair up")
    src = pad_sequences(sources)  # (B, S)
    tgt_in = pad_sequences([[BOS, *a] for a in answers])  # (B, T)
    tgt_out = pad_sequences([[*a, EOS] for a in answers])  # (B, T)
    return Batch(src, tgt_in, tgt_out)


def _check_lengths(batch_size: int, min_len: int, max_len: int) -> None:
    for name, v in (("batch_size", batch_size), ("min_len", min_len), ("max_len", max_len)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
        if v <= 0:
            raise ValueError(f"{name} must be positive, got {v}")
    if min_len > max_len:
        raise ValueError(f"min_len={min_len} is larger than max_len={max_len}")


def _random_digit_batch(
    batch_size: int,
    min_len: int,
    max_len: int,
    generator: torch.Generator | None,
    answer: Callable[[list[int]], list[int]],
) -> Batch:
    _check_lengths(batch_size, min_len, max_len)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    lengths = torch.randint(min_len, max_len + 1, (batch_size,), generator=generator)  # (B,)
    digits = torch.randint(0, 10, (batch_size, max_len), generator=generator) + DIGIT_OFFSET  # (B, max_len)
    sources = [row[:n] for row, n in zip(digits.tolist(), lengths.tolist(), strict=True)]
    return make_batch(sources, [answer(s) for s in sources])


def make_reversal_batch(
    batch_size: int, min_len: int, max_len: int, generator: torch.Generator | None = None
) -> Batch:
    """Random digit strings with lengths uniform in ``[min_len, max_len]``; the answer is the string reversed.

    ``src`` ``(B, S)``, ``tgt_in`` and ``tgt_out`` ``(B, T)`` with ``S = max length in the batch``
    and ``T = S + 1``. Pass a seeded ``torch.Generator`` for reproducible batches.
    """
    return _random_digit_batch(batch_size, min_len, max_len, generator, lambda s: s[::-1])


def make_copy_batch(
    batch_size: int, min_len: int, max_len: int, generator: torch.Generator | None = None
) -> Batch:
    """Like :func:`make_reversal_batch`, but the answer is the string itself (the copy task)."""
    return _random_digit_batch(batch_size, min_len, max_len, generator, lambda s: list(s))


def reversal_held_out_set(n: int, min_len: int, max_len: int, seed: int = 1234) -> Batch:
    """A fixed evaluation set of ``n`` reversal examples, drawn with its own seeded generator.

    Training batches are drawn from another generator, so the held-out strings are not excluded
    from training by construction; with 10^L strings of each length L the chance of a repeat is
    negligible (for L >= 8, 64,000 training strings hit a given held-out string with probability
    below 64,000 / 10^8 < 0.1 %), and a lesson can count the overlap with :func:`to_strings`.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return make_reversal_batch(n, min_len, max_len, torch.Generator().manual_seed(seed))
