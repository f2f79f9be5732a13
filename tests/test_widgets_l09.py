"""Widget logic and figures of lesson 09 (the date translator)."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch

from attn_lib import Transformer, dates
from attn_lib.widgets import (
    plot_date_attention,
    plot_head_grid,
    plot_one_head_per_format,
    plot_share_vs_ablation,
    plot_span_share,
    run_date,
)


@pytest.fixture(scope="module")
def model() -> Transformer:
    torch.manual_seed(0)  # untrained: the widget logic does not depend on what the model learned
    return Transformer(
        dates.SOURCE_VOCAB_SIZE, dates.TARGET_VOCAB_SIZE, d_model=16, num_heads=2, d_ff=32, max_len=32
    )


def test_run_date_returns_the_output_and_every_map_with_matching_shapes(model):
    r = run_date(model, "25 March 2019")
    assert r["ok"] and r["source"] == "25 March 2019"
    layers, H, T, S = r["cross"].shape
    assert (layers, H, S) == (2, 2, 13) and T == len(r["out_labels"])
    assert r["encoder"].shape == (2, 2, 13, 13) and r["decoder_self"].shape == (2, 2, T, T)
    assert r["output"] == "".join(t for t in r["out_labels"] if t not in ("<eos>", "<pad>"))
    torch.testing.assert_close(r["cross"].sum(-1), torch.ones(layers, H, T))


def test_run_date_maps_are_the_maps_of_the_generation_steps(model):
    r = run_date(model, "Mon 25 Mar 19")
    src = torch.tensor([dates.encode_source("Mon 25 Mar 19")])
    ys = dates.translate(model, src)  # (1, 11)
    first = model.attention_maps(src, torch.tensor([[dates.BOS]])).cross[-1][0, :, 0]  # step 1 alone
    torch.testing.assert_close(r["cross"][-1, :, 0], first)
    assert r["out_labels"][0] == {13: "-", 2: "<eos>"}.get(int(ys[0, 0]), str(int(ys[0, 0]) - 3))


def test_switching_a_head_off_changes_its_layer_output_and_is_reported(model):
    on = run_date(model, "the 25th of march, 2019")
    off = run_date(model, "the 25th of march, 2019", ablate=("cross", 0, 1))
    assert off["ablated"] == ("cross", 0, 1) and "switched off" in off["message"]
    # the first output row reads only BOS: in layer 0 its weights are computed as before; layer 1
    # reads what the ablated head no longer delivers, so its weights change
    torch.testing.assert_close(off["cross"][0, :, 0], on["cross"][0, :, 0])
    assert not torch.allclose(off["cross"][1, :, 0], on["cross"][1, :, 0])
    assert not model.decoder.layers[0].cross_attn.out_proj._forward_pre_hooks  # nothing left behind


def test_korean_input_is_labelled_without_hangul_glyphs(model):
    r = run_date(model, "2019년 3월 25일 월요일")
    assert r["ok"] and "[wol]" in r["src_labels"] and "[nyeon]" in r["src_labels"]
    assert not any("\uac00" <= ch <= "\ud7a3" for label in r["src_labels"] for ch in label)


@pytest.mark.parametrize(
    ("text", "words"),
    [("", "Type a date"), ("25.03.2019", "never seen"), ("1" * 40, "too long"), (2019, "Please type")],
)
def test_bad_input_gets_a_message_not_an_error(model, text, words):
    r = run_date(model, text)
    assert not r["ok"] and words in r["message"]


def test_the_figures_draw_without_missing_glyphs(model):
    r = run_date(model, "2019년 3월 25일 월요일", ablate=("cross", 1, 0))
    runs = [run_date(model, dates.render_date(dates.FIRST_DATE, f).source) for f in dates.DATE_FORMATS]
    share = torch.tensor([[0.6, 0.3], [0.7, 0.2]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "Glyph missing" warning fails the test
        figs = [
            plot_date_attention(r, layer=1, head=0),
            plot_head_grid(r["cross"], r["out_labels"], r["src_labels"], "cross"),
            plot_head_grid(
                r["encoder"], r["src_labels"], r["src_labels"], "encoder", row_name="encoder layer"
            ),
            plot_one_head_per_format(runs, 1, 0, "six forms"),
            plot_span_share(share, torch.full((2, 2), 0.2)),
            plot_share_vs_ablation(share, torch.tensor([[1.0, 0.9], [0.95, 1.0]]), 1.0),
        ]
        for fig in figs:
            fig.canvas.draw()
    assert "switched off" in figs[0].axes[0].get_title()
    assert [len(f.axes) for f in figs[1:4]] == [5, 5, 7]  # 2 x 2 heads + colour bar; 6 panels + colour bar
    plt.close("all")


def test_plot_arguments_are_checked(model):
    r = run_date(model, "25/03/2019")
    with pytest.raises(ValueError, match="layer must be"):
        plot_date_attention(r, layer=2)
    with pytest.raises(ValueError, match="head must be"):
        plot_date_attention(r, head=5)
    with pytest.raises(ValueError, match="successful run_date"):
        plot_date_attention({"ok": False})
    with pytest.raises(ValueError, match="row labels"):
        plot_head_grid(r["cross"], ["a"], r["src_labels"], "x")
    with pytest.raises(ValueError, match="share and baseline"):
        plot_span_share(torch.zeros(2, 2), torch.zeros(3))
