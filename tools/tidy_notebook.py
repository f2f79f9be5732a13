"""Make an executed lesson notebook reproducible and diff-friendly.

Run by `make execute` after nbconvert has executed a notebook in place:
- cell ids are derived from the cell source (not random), so re-executing does not churn them;
- ``language_info`` is taken from the paired ``.py`` header, so the pair stays identical
  whichever Python patch release executed it;
- saved widget state is dropped (it is large; widgets come alive when the cells run).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import jupytext
import nbformat


def tidy(ipynb: Path) -> None:
    nb = nbformat.read(ipynb, as_version=4)
    paired = ipynb.with_suffix(".py")
    if paired.exists():
        header = jupytext.read(paired).metadata
        if "language_info" in header:
            nb.metadata["language_info"] = header["language_info"]
        if "kernelspec" in header:
            nb.metadata["kernelspec"] = header["kernelspec"]
    nb.metadata.pop("widgets", None)
    seen: dict[str, int] = {}
    for cell in nb.cells:
        digest = hashlib.sha1(cell.source.encode()).hexdigest()[:8]
        seen[digest] = seen.get(digest, 0) + 1
        cell["id"] = digest if seen[digest] == 1 else f"{digest}-{seen[digest]}"
        cell.metadata.pop("execution", None)
    nbformat.validate(nb)
    nbformat.write(nb, ipynb)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        tidy(Path(arg))
