"""The logic behind every widget of the course, as pure functions.

A notebook cell only wires ipywidgets controls to these functions; each function takes
plain numbers (the control values) and returns numbers or a matplotlib ``Figure``, so it
is tested by pytest without a browser. Sections follow the lessons.
"""

from __future__ import annotations

# ------------------------------------------------ lesson 01 (soft lookup)

# ------------------------------------------------ lesson 02 (scaled dot product)

# ------------------------------------------------ lesson 03 (multi-head)

# ------------------------------------------------ lesson 04 (encoder self-attention)

# ------------------------------------------------ lesson 05 (masking, decoder)

# ------------------------------------------------ lesson 06 (cross-attention)

# ------------------------------------------------ lesson 07 (tiny Transformer)

# ------------------------------------------------ lesson 08 (efficient attention)
