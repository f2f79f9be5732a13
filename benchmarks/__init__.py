"""Side-by-side benchmarks of ``attn_lib`` against PyTorch: ``python -m benchmarks [--quick]``.

Every benchmark interleaves its contenders (A, B, C, A, B, C, ...), so that a noisy
neighbour on a shared machine slows all of them alike, reports the median of the repeats with
their spread (min–max and interquartile range), and states its result as a ratio. Tables go
to ``benchmarks/results/<name>.md`` and ``benchmarks/results/README.md``, plots to
``benchmarks/results/<name>.png``. Everything runs on the CPU with ``torch.set_num_threads(2)``.
"""

import matplotlib

matplotlib.use("Agg")  # no display needed: figures are written to PNG files
