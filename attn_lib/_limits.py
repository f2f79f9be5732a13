"""A size limit for the tensors the library builds from numbers the learner types.

``causal_mask(10**6)`` asks for a 10⁶ x 10⁶ mask, 1 TB. Left to PyTorch, that is a raw allocator
error ("DefaultCPUAllocator: can't allocate memory") or, on a system that overcommits memory,
a kernel that fills the RAM until it is killed. The builders of masks, positional tables and
weight matrices call :func:`check_tensor_size` first, which refuses anything over
``MAX_TENSOR_BYTES`` with a ValueError that names the arguments.

The limit (2 GiB for one tensor) is far above what the course builds this way: its masks,
positional tables and weight matrices are at most tens of MB (a 4096 x 4096 bool mask is 16 MB).
Tensors computed from the learner's own tensors (attention scores, outputs) are not limited.
"""

from __future__ import annotations

import math

import torch

MAX_TENSOR_BYTES = 2**31  # 2 GiB


def _human(n_bytes: int) -> str:
    """Sizes over the limit: GB or TB."""
    return f"{n_bytes / 10**12:.1f} TB" if n_bytes >= 10**12 else f"{n_bytes / 10**9:.1f} GB"


def check_tensor_size(what: str, shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> None:
    """Refuse to build a tensor of ``shape`` and ``dtype`` over MAX_TENSOR_BYTES.

    ``what`` says which call and arguments ask for it, e.g. ``"causal_mask(T_q=1000000)"``.
    """
    n_bytes = math.prod(shape) * dtype.itemsize
    if n_bytes > MAX_TENSOR_BYTES:
        dims = " x ".join(str(d) for d in shape)
        raise ValueError(
            f"{what} would build a {dims} {str(dtype).removeprefix('torch.')} tensor of "
            f"{_human(n_bytes)}, more than the {MAX_TENSOR_BYTES // 2**30} GiB this library builds at "
            f"once; check the sizes (the course's masks and tables are at most tens of MB)"
        )
