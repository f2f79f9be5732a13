"""The logic behind every widget of the course, as pure functions, one module per lesson.

A notebook cell only wires ipywidgets controls to these functions; each function takes
plain numbers (the control values) and returns numbers or a matplotlib ``Figure``, so it
is tested by pytest without a browser.
"""

from __future__ import annotations

from ._common import install_static_views
from .lesson00 import SOFTMAX_DEMO_OTHER_SCORES, plot_softmax_demo, softmax_demo
from .lesson01 import LOOKUP_COLOURS, lookup_state, plot_soft_lookup, query_from_angle
from .lesson02 import SCALING_DK_CHOICES, plot_scaling_demo, scaling_curves, scaling_demo
from .lesson03 import HEAD_MAP_D_MODEL, HEAD_MAP_TOKENS, head_map, plot_head_map
from .lesson04 import encoder_attention_row, plot_encoder_attention
from .lesson05 import generation_prefix_attention, generation_step_view
from .lesson06 import TIE_TOLERANCE, cross_attention_row, plot_cross_attention_row
from .lesson07 import (
    REVERSAL_MIN_HEIGHT,
    alignment_stats,
    anti_diagonal_hit_rate,
    mirror_positions,
    plot_reversal_attention,
    position_labels,
    probe_neighbour_digits,
    run_reversal,
)
from .lesson08 import format_bytes, plot_score_memory, score_memory
from .lesson09 import (
    DATE_MAX_CHARS,
    plot_date_attention,
    plot_head_grid,
    plot_one_head_per_format,
    plot_share_vs_ablation,
    plot_span_share,
    run_date,
)
from .lesson10 import (
    PROMPT_MAX_CHARS,
    char_labels,
    plot_head_scores,
    plot_lm_heads,
    plot_position_losses,
    plot_prompt_attention,
    plot_training_and_scores,
    prompt_attention,
    select_heads,
    target_mass,
    uniform_causal_scores,
)
from .lesson11 import (
    kv_cache_bytes,
    plot_kv_cache_memory,
    plot_receptive_field,
    reach_back,
    receptive_field,
)

__all__ = [
    "DATE_MAX_CHARS",
    "HEAD_MAP_D_MODEL",
    "HEAD_MAP_TOKENS",
    "LOOKUP_COLOURS",
    "PROMPT_MAX_CHARS",
    "REVERSAL_MIN_HEIGHT",
    "SCALING_DK_CHOICES",
    "SOFTMAX_DEMO_OTHER_SCORES",
    "TIE_TOLERANCE",
    "alignment_stats",
    "anti_diagonal_hit_rate",
    "char_labels",
    "cross_attention_row",
    "encoder_attention_row",
    "format_bytes",
    "generation_prefix_attention",
    "generation_step_view",
    "head_map",
    "kv_cache_bytes",
    "lookup_state",
    "mirror_positions",
    "plot_cross_attention_row",
    "plot_date_attention",
    "plot_encoder_attention",
    "plot_head_grid",
    "plot_head_map",
    "plot_head_scores",
    "plot_kv_cache_memory",
    "plot_lm_heads",
    "plot_one_head_per_format",
    "plot_position_losses",
    "plot_prompt_attention",
    "plot_receptive_field",
    "plot_reversal_attention",
    "plot_scaling_demo",
    "plot_score_memory",
    "plot_share_vs_ablation",
    "plot_soft_lookup",
    "plot_softmax_demo",
    "plot_span_share",
    "plot_training_and_scores",
    "position_labels",
    "probe_neighbour_digits",
    "prompt_attention",
    "query_from_angle",
    "reach_back",
    "receptive_field",
    "run_date",
    "run_reversal",
    "scaling_curves",
    "scaling_demo",
    "score_memory",
    "select_heads",
    "softmax_demo",
    "target_mass",
    "uniform_causal_scores",
]

install_static_views()  # in a Jupyter kernel: every widget box also carries a PNG of its first view
