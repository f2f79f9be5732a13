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

# %% [markdown] en="909bedb8b6"
# # 11 · 오늘날 LLM의 어텐션: RoPE, GQA/MQA, 슬라이딩 윈도
#
# Llama, Mistral, Qwen의 어텐션(attention) 코드를 열어 보면, 수업 05의 인과적 셀프 어텐션(self-attention)에 세 가지
# 변경이 있을 뿐입니다. 위치는 토큰(token)에 더해지는 대신 쿼리(query)와 키(key)를 **회전**시키는 방식으로 들어가고(RoPE),
# 여러 쿼리 헤드가 키/밸류(value) 헤드 하나를 **공유**하며(그룹 쿼리 어텐션(grouped-query attention, GQA), 모두가
# 하나를 공유하면 멀티 쿼리 어텐션(multi-query attention, MQA)), 일부 모델은 각 토큰이 자기 앞의 마지막 `w`개만 보게
# 합니다(**슬라이딩 윈도(sliding window)**). `attn_lib`에서 이 셋은 이미 아는 `MultiHeadAttention` 하나의 인자 세
# 개이며, 기본값은 꺼져 있습니다.
#
# ```python
# MultiHeadAttention(d_model, num_heads, num_kv_heads=2, rope=10000.0, window=4096)
# ```
#
# **학습 목표(learning goals).** 이 수업을 마치면 다음을 할 수 있습니다.
# 1. RoPE를 차원 쌍의 회전으로 유도하고, 측정으로 보인다: 노름을 보존하며, q_m과 k_n의 점수(score)가 위치에는 m − n을
#    통해서만 의존한다.
# 2. 학습된 위치, 사인파 위치, 회전 위치가 학습 때보다 긴 시퀀스(sequence)를 어떻게 다루는지 비교하고, 그 측정이 보여
#    주는 것과 보여 주지 않는 것을 말한다.
# 3. MHA, GQA, MQA의 토큰당 KV 캐시(KV cache) 메모리를 계산하고 측정하며, 장난감 과제에서 키/밸류 헤드를 공유하는 데
#    드는 품질 비용을 잰다.
# 4. L개 층(layer)의 w-토큰 윈도가 왜 여전히 정보를 L·(w − 1) 위치만큼 전달하는지(그래디언트(gradient)로 보임), 왜
#    캐시 크기가 유한하게 유지되는지, 왜 비용이 O(T²) 대신 O(T·w)인지(측정) 설명한다.
#
# 이 모듈은 사람들이 실제로 돌리는 코드와 대조해 검증되어 있습니다. `tests/test_transformers_parity.py`는 Hugging Face
# `transformers`의 `LlamaAttention`(헤드 4개, KV 헤드 1, 2, 4개)과 `MistralAttention`(슬라이딩 윈도 사용)의 가중치를
# `attn_lib`에 복사하고, 마스크, 이동된 위치, 캐시된 스텝에서 출력이 같다는 것을 단언합니다. 이 수업 자체에는
# `transformers`가 필요하지 않습니다.

# %% en="setup"
from attn_lib.i18n import set_language

set_language("ko")

# %% en="37a23d58e4"
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from attn_lib import KVCache, MultiHeadAttention, causal_mask, sliding_window_mask
from attn_lib.i18n import pad
from attn_lib.lm import LM_ALPHABET, DecoderOnlyLM, make_repeated_segments, train_lm
from attn_lib.multihead import sliding_window_attention
from attn_lib.positional import sinusoidal_positional_encoding
from attn_lib.rope import apply_rope, rope_angles
from attn_lib.widgets import kv_cache_bytes, plot_kv_cache_memory, plot_receptive_field, receptive_field
from attn_lib.widgets.lesson08 import format_bytes

torch.manual_seed(0)
torch.set_num_threads(1)  # 스레드 하나: 이 기계에서는 같은 합을 같은 순서로 계산
torch.set_printoptions(precision=3, sci_mode=False, linewidth=110)
LESSON_START = time.perf_counter()
print("torch", torch.__version__, "| 스레드 수:", torch.get_num_threads())

# %% [markdown] en="f6c771aaf6"
# ## 1 · RoPE: 차원 쌍을 위치만큼 회전시키기
#
# 수업 04에서는 각 토큰에 위치 벡터를 *더했습니다*. RoPE(Su et al., 2021)는 대신 쿼리와 키를 *돌립니다*. 헤드의 `Dh`개
# 차원을 `Dh/2`개의 쌍으로 나누고, 위치 m에서 쌍 i를 각도 m·ωᵢ만큼 회전시킵니다. 여기서 ωᵢ = base^(−2i/Dh)
# (base 10000)입니다. 쌍 0은 위치마다 1라디안씩 돌고, 마지막 쌍은 거의 돌지 않습니다. 수업 04의 표와 같은
# 주파수입니다.
#
# 한 쌍 (a, b)를 θ만큼 돌리는 것은 2 × 2 회전 행렬입니다:
# (a, b) ↦ (a cos θ − b sin θ, a sin θ + b cos θ). 아래에서는 `transformers`의 Llama가 쓰는 쌍 구성인
# i = (j, j + Dh/2)에 대해 직접 써 보고, `attn_lib.rope.apply_rope`와 대조합니다.

# %% en="b70d37a349"
Dh = 8
x = torch.randn(Dh, dtype=torch.float64)
m = 5  # 위치
theta = m * 10000.0 ** (-torch.arange(0, Dh, 2, dtype=torch.float64) / Dh)  # (Dh/2,): m · ω_i
a, b = x[: Dh // 2], x[Dh // 2 :]  # 쌍 i = (차원 i, 차원 i + Dh/2)
by_hand = torch.cat([a * theta.cos() - b * theta.sin(), a * theta.sin() + b * theta.cos()])
torch.testing.assert_close(by_hand, apply_rope(x[None], torch.tensor([m])).squeeze(0))
print("m = 5에서의 각도 m·ω_i:", theta.numpy().round(4))
print("직접 계산 == attn_lib.rope.apply_rope: True")

# %% [markdown] en="5a1a8758b4"
# 회전은 벡터의 길이를 절대 바꾸지 않습니다. 최대 4095까지의 위치에서 무작위 벡터 1000개로 잽니다(이 한계는 어느
# 기계에서나 성립하지만, 정확한 숫자는 그렇지 않습니다).

# %% en="72080fe908"
vecs = torch.randn(1000, 64, dtype=torch.float64)
positions = torch.randint(0, 4096, (1000,))
rotated = apply_rope(vecs[:, None, :], positions[:, None])[:, 0]  # 각 벡터를 자기 위치에서 회전
norm_change = (rotated.norm(dim=-1) - vecs.norm(dim=-1)).abs().max().item()
print("max |‖R(m)x‖ − ‖x‖| < 1e-12:", norm_change < 1e-12)

# %% [markdown] en="94336cb4bc"
# 중요한 성질은 이것입니다. R(m)ᵀR(n) = R(n − m)이므로, 위치 m에서 회전된 쿼리와 위치 n에서 회전된 키의 점수는
# qᵀR(n − m)k입니다. 즉 점수는 위치에 **m − n을 통해서만** 의존합니다. 모든 위치 쌍 (m, n)에 *같은* 쿼리와 키 내용을
# 넣고 점수 행렬을 보세요. RoPE에서는 모든 대각선(m − n이 고정된 선)이 일정합니다. 수업 04의 *더하는* 사인파 인코딩에서는
# (q + p_m)·(k + p_n)에 q·p_n과 p_m·k도 들어 있어서, m과 n에 각각 따로 의존합니다.

# %% en="325c171a8d"
T_show, Dh_show = 48, 32
q_vec, k_vec = torch.randn(2, Dh_show, dtype=torch.float64)
pos = torch.arange(T_show)
q_rot = apply_rope(q_vec.expand(T_show, Dh_show), pos)  # (T, Dh): 모든 위치에 같은 q
k_rot = apply_rope(k_vec.expand(T_show, Dh_show), pos)
rope_scores = q_rot @ k_rot.T  # (T, T): (위치 m의 q, 위치 n의 k)의 점수
pe = sinusoidal_positional_encoding(T_show, Dh_show).double()  # (T, Dh), lesson 04
added_scores = (q_vec + pe) @ (k_vec + pe).T


def spread_along_diagonals(scores: torch.Tensor) -> float:
    """대각선 m − n = const마다의 (max − min) 중 가장 큰 값: 점수가 m − n에만 의존하면 0."""
    n = scores.shape[0]
    return max((scores.diagonal(d).max() - scores.diagonal(d).min()).item() for d in range(-n + 1, n))


rope_spread, added_spread = spread_along_diagonals(rope_scores), spread_along_diagonals(added_scores)
assert rope_spread < 1e-9 and added_spread > 0.5, (rope_spread, added_spread)
print("RoPE:  각 대각선을 따른 점수의 편차 < 1e-9:", rope_spread < 1e-9)
print(f"더하기: 대각선을 따른 편차 약 {added_spread:.0f} (점수 크기 ≈ {q_vec.norm() * k_vec.norm():.0f})")

# %% en="09c5828d57"
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
for ax, s, title in (
    (axes[0], rope_scores, "RoPE: 대각선을 따라 일정 (m − n에만 의존)"),
    (axes[1], added_scores, "더한 사인파: m과 n에 각각 따로 의존"),
):
    lim = s.abs().max().item()
    im = ax.imshow(s.numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("키 위치 n")
    ax.set_ylabel("쿼리 위치 m")
    fig.colorbar(im, ax=ax, fraction=0.046, label="점수 q·k")
fig.suptitle("모든 위치 쌍에 같은 쿼리와 키 내용", fontsize=11)
fig.tight_layout()
plt.show()

# %% [markdown] en="142edb74cb"
# 공식에서 두 가지 사실이 더 나옵니다. 위치 0은 항등 변환이고(각도 0), 밸류는 **절대** 회전시키지 않습니다. 밸류는
# 섞이는 내용이고, 위치는 점수만으로 전달됩니다. 캐시를 쓰는 디코딩 스텝에서는 새 쿼리와 키 하나를 실제 위치 t만큼
# 회전시켜야 합니다(모듈은 t를 캐시에서 가져옵니다). 수업 08이 경고한 바로 그 오프셋입니다.

# %% en="1dc4179d16"
print("위치 0은 x를 바꾸지 않음:", torch.equal(apply_rope(x[None], torch.tensor([0]))[0], x))
print("Dh = 8일 때 ω_0, ω_1, ω_last:", rope_angles(torch.tensor([1]), 8)[0].numpy().round(4))

# %% [markdown] en="08273d087d"
# ## 2 · 학습 때보다 길게: 학습된 위치, 사인파 위치, 회전 위치
#
# 같은 작은 모델(어텐션만 있는 층 하나, 헤드 2개, `d_model` 32, 수업 10의 `attn_lib.lm.DecoderOnlyLM`)을, 5토큰짜리
# 무작위 구간이 반복되는 32토큰 시퀀스로 학습시킵니다. 다음 토큰을 예측하려면 정확히 4칸 앞을 보면 됩니다. 순전히
# *위치에 관한* 규칙입니다. 학습된 위치, 사인파 위치, RoPE, 윈도 8을 쓴 RoPE로 네 번 학습시킨 뒤 32, 64, 128토큰에서
# 테스트하며, 정확도(accuracy)를 학습 때 본 위치(31까지)와 한 번도 보지 못한 위치로 나누어 셉니다.
#
# (각각 150스텝, 넷을 합쳐 여기서는 몇 초 걸립니다.)

# %% en="dad504e337"
V, P = len(LM_ALPHABET), 5
VARIANTS = {
    "learned": dict(positional="learned"),
    "sinusoidal": dict(positional="sinusoidal"),
    "RoPE": dict(positional="none", attention_options={"rope": 10000.0}),
    "RoPE + window 8": dict(positional="none", attention_options={"rope": 10000.0, "window": 8}),
}


def train_positional(kind: str, seed: int = 0, steps: int = 150) -> DecoderOnlyLM:
    torch.manual_seed(seed)
    model = DecoderOnlyLM(V, d_model=32, num_heads=2, num_layers=1, d_ff=0, max_len=128, **VARIANTS[kind])
    g = torch.Generator().manual_seed(seed + 1)
    batch = lambda step: make_repeated_segments(32, V, 32, min_period=P, max_period=P, generator=g)[0]  # noqa: E731
    train_lm(model, batch, steps, lr=1e-2)
    return model


def repeat_accuracy(model: DecoderOnlyLM, T: int) -> tuple[float, float]:
    """예측 가능한 토큰(반복 구간)에서의 정확도: 학습된 위치(< 32)와 새 위치에서."""
    g = torch.Generator().manual_seed(99)
    tokens, _ = make_repeated_segments(128, V, T, min_period=P, max_period=P, generator=g)
    with torch.no_grad():
        right = model(tokens)[:, :-1].argmax(-1) == tokens[:, 1:]  # (B, T-1): 행 t는 t+1을 예측
    seen, unseen = right[:, P - 1 : 31], right[:, 31:]
    return seen.float().mean().item(), (unseen.float().mean().item() if unseen.numel() else float("nan"))


t0 = time.perf_counter()
models = {kind: train_positional(kind) for kind in VARIANTS}
table = {kind: {T: repeat_accuracy(mdl, T) for T in (32, 64, 128)} for kind, mdl in models.items()}
train_seconds = time.perf_counter() - t0

# %% en="4680d452fc" tags=["nbval-ignore-output"]
print(f"모델 4개 학습 {train_seconds:.0f}초; 반복 구간의 정확도 (본 = 학습 때 본 위치, 새 = 처음 보는 위치; 우연 ≈ {1 / V:.0%})")
print(
    f"{pad('위치 방식', 17)}{pad('T=32 본', 11, '>')}{pad('T=64 본', 11, '>')}{pad('T=64 새', 10, '>')}"
    f"{pad('T=128 본', 12, '>')}{pad('T=128 새', 11, '>')}"
)
LABEL = {"learned": "학습된 위치", "sinusoidal": "사인파 위치", "RoPE": "RoPE", "RoPE + window 8": "RoPE + 윈도 8"}
for kind, row in table.items():
    print(
        f"{pad(LABEL[kind], 17)}{row[32][0]:>11.0%}{row[64][0]:>11.0%}{row[64][1]:>10.0%}{row[128][0]:>12.0%}{row[128][1]:>11.0%}"
    )

# %% [markdown] en="f8b81ab17b"
# 저장된 실행이 보여 주는 것(아래 셀이 여유를 두고 주장을 단언하므로, 여러분의 기계에서 성립하지 않으면 실패합니다):
#
# * 학습 때 본 위치에서는 넷 모두 (거의) 완벽합니다.
# * 한 번도 보지 못한 위치에서는 **학습된** 위치와 **사인파** 위치가 약 20 %로 떨어집니다. 학습된 표의 31 이후 행은
#   학습된 적이 없고, 그곳의 사인파 벡터는 층이 만나 본 적 없는 조합입니다.
# * **RoPE만** 쓰면 64토큰에서는 더 잘하지만(저장된 실행에서 약 3분의 2) 128에서는 무너집니다. 상대 위치만으로는
#   일반화되지 않습니다. 시퀀스가 길어지면 본 적 없는 키 *오프셋*(31칸보다 먼 곳)이 생기고, 그 점수는 통제되지 않기
#   때문입니다.
# * **윈도 8을 쓴 RoPE**는 모든 길이에서 완벽합니다. 모든 쿼리가 오프셋 0..7만 보며, 그 오프셋은 모두 학습되었습니다.
#
# 장난감 과제 하나에 시드도 하나씩입니다. 이것은 메커니즘을 보여 줄 뿐, 실제 모델에 쓸 방법의 순위를 매기는 것이
# 아닙니다.

# %% en="7a4d95e4ca"
seen_ok = all(row[T][0] > 0.95 for row in table.values() for T in (32, 64, 128))
assert seen_ok, table
assert table["learned"][128][1] < 0.6 and table["sinusoidal"][128][1] < 0.6, table
assert min(table["RoPE + window 8"][T][1] for T in (64, 128)) > 0.95, table
print("본 위치에서 넷 모두 > 95 %:", seen_ok)
print("새 위치: T = 128에서 학습된 위치와 사인파 < 60 %; RoPE + 윈도는 64와 128에서 > 95 %: True")

# %% [markdown] en="cdc80c5ae8"
# ## 3 · GQA와 MQA: 키/밸류 헤드를 줄여 캐시를 작게
#
# 생성하는 동안 KV 캐시는 지나간 모든 토큰에 대해 층마다, 헤드마다 키와 밸류를 하나씩 보관합니다: 2 · L · H · Dh개의
# 숫자입니다. 그룹 쿼리 어텐션은 쿼리 헤드 H개를 모두 두되 키/밸류 헤드는 `H_kv`개만 둡니다. 각 키/밸류 헤드는 연속한
# 쿼리 헤드 H / H_kv개로 된 그룹을 맡습니다(쿼리 헤드 h는 KV 헤드 h // (H / H_kv)를 읽습니다). `num_kv_heads=1`이면
# 멀티 쿼리 어텐션입니다. 캐시는 H / H_kv배 줄어듭니다.
#
# Llama-3-8B와 비슷한 모양(shape)(층 32개, 128차원 쿼리 헤드 32개, 16비트 숫자)으로 계산한 다음, `attn_lib`의 캐시로
# 측정합니다.

# %% en="4447f3a73b"
for name, h_kv in (("MHA", 32), ("GQA, KV 헤드 8개 (Llama 3 8B)", 8), ("MQA", 1)):
    print(f"{pad(name, 30)} {format_bytes(kv_cache_bytes(32, h_kv, 128, 2)):>9} (토큰당)")

d_small, H_small, T_cache = 64, 8, 100
x_cache = torch.randn(1, T_cache, d_small)
for h_kv in (8, 2, 1):
    mha = MultiHeadAttention(d_small, H_small, num_kv_heads=h_kv).eval()
    cache = KVCache()
    with torch.no_grad():
        mha(x_cache, x_cache, x_cache, mask=causal_mask(T_cache), cache=cache)
    measured = (cache.key.nelement() * cache.key.element_size() + cache.value.nelement() * cache.value.element_size())
    predicted = kv_cache_bytes(1, h_kv, d_small // H_small, 4) * T_cache
    assert measured == predicted
    print(f"d_model 64, 헤드 8개, KV 헤드 {h_kv}개: 토큰 {T_cache}개의 캐시 = {measured}바이트 (예측 {predicted})")

# %% [markdown] en="6d6991222f"
# PyTorch 자체 커널도 같은 그룹 구성을 합니다: `scaled_dot_product_attention(..., enable_gqa=True)`는 헤드 수가 더 적은
# 키와 밸류를 받습니다. 모듈은 이것과 (반올림 오차 범위에서) 일치합니다.

# %% en="f961b7798d"
from attn_lib import merge_heads, split_heads

gqa = MultiHeadAttention(64, 8, num_kv_heads=2).eval()
x_g = torch.randn(2, 10, 64)
with torch.no_grad():
    q_g = split_heads(gqa.q_proj(x_g), 8)  # (B, H, T, Dh)
    k_g, v_g = split_heads(gqa.k_proj(x_g), 2), split_heads(gqa.v_proj(x_g), 2)  # (B, H_kv, T, Dh)
    out_g = torch.nn.functional.scaled_dot_product_attention(q_g, k_g, v_g, attn_mask=causal_mask(10), enable_gqa=True)
    torch.testing.assert_close(gqa(x_g, x_g, x_g, mask=causal_mask(10))[0], gqa.out_proj(merge_heads(out_g)))
print("MultiHeadAttention(num_kv_heads=2) == scaled_dot_product_attention(enable_gqa=True) (assert_close로 확인): True")

# %% [markdown] en="eac96b21e9"
# 공유하면 무엇을 잃을까요? 수업 10의 문맥 내 과제(3~12토큰의 무작위 구간이 반복됩니다. 모델은 앞선 등장을 찾아 그
# 뒤에 온 것을 복사해야 하며, 층은 두 개입니다)에서, 같은 모델을 쿼리 헤드 4개와 KV 헤드 4, 2, 1개로 학습시키고 반복된
# 토큰에서의 손실(loss)로 평가합니다(낮을수록 좋습니다. 첫 등장은 예측할 수 없으므로 제외합니다).

# %% en="88cf1a44c2"
def train_gqa(h_kv: int, seed: int = 0, steps: int = 250) -> tuple[DecoderOnlyLM, float]:
    torch.manual_seed(seed)
    model = DecoderOnlyLM(V, d_model=32, num_heads=4, num_layers=2, d_ff=0, max_len=24,
                          attention_options={"num_kv_heads": h_kv})
    g = torch.Generator().manual_seed(seed + 1)
    batch = lambda step: make_repeated_segments(32, V, 24, min_period=3, max_period=12, generator=g)[0]  # noqa: E731
    train_lm(model, batch, steps, lr=1e-2)
    ge = torch.Generator().manual_seed(7)
    tokens, periods = make_repeated_segments(256, V, 24, min_period=3, max_period=12, generator=ge)
    with torch.no_grad():
        logits = model(tokens)[:, :-1]  # (B, T-1, V): 행 t는 토큰 t+1을 예측
    losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), tokens[:, 1:], reduction="none")
    repeat = torch.arange(1, 24)[None] >= periods[:, None]  # 목표 t+1 >= P: 반복된 토큰
    return model, losses[repeat].mean().item()


t0 = time.perf_counter()
gqa_loss = {(h_kv, seed): train_gqa(h_kv, seed)[1] for h_kv in (4, 2, 1) for seed in (0, 1)}
gqa_seconds = time.perf_counter() - t0

# %% en="e17b693aa0" tags=["nbval-ignore-output"]
print(f"모델 6개 학습 {gqa_seconds:.0f}초; 반복된 토큰에서의 손실 (균등 추측: {math.log(V):.2f})")
for h_kv, label in ((4, "MHA (KV 헤드 4개)"), (2, "GQA (KV 헤드 2개)"), (1, "MQA (KV 헤드 1개)")):
    runs = [gqa_loss[(h_kv, seed)] for seed in (0, 1)]
    print(f"{pad(label, 18)} 시드 0: {runs[0]:.2f}  시드 1: {runs[1]:.2f}  KV 캐시: MHA의 {h_kv}/4")
spread_seeds = max(abs(gqa_loss[(h, 0)] - gqa_loss[(h, 1)]) for h in (4, 2, 1))
print(f"한 변형의 두 시드 사이 최대 차이: {spread_seeds:.2f}")

# %% [markdown] en="a1b85dd51d"
# 저장된 실행에서, 똑같이 250스텝을 학습한 뒤 두 시드 모두 변형들의 순위가 같습니다: MHA가 가장 낮고(약 1.1과 1.9),
# GQA는 약 2.2, MQA는 약 2.5입니다. 여기서는 키/밸류 헤드가 적을수록 모델이 복사 규칙을 더 느리게 배웠습니다. 같은
# 학습량에서 잰 품질 비용입니다. 최종 판정은 아닙니다. MHA의 두 시드 차이가 MHA와 MQA의 차이와 거의 같고, 이 수업을
# 쓰면서 더 길게(500스텝) 돌려 본 시험에서는 한 시드의 MQA가 그 시드의 MHA를 앞질렀습니다. 실제 모델이 GQA를 고르는
# 이유는, 충분히 오래 학습시키면 비용은 작고 캐시는 4~8배 작아지기 때문입니다. 셀은 여유 있게 성립한 것만
# 단언합니다: 모든 실행이 무언가를 배웠고, MHA의 평균 손실이 MQA보다 낮습니다.

# %% en="8ae125d682"
mean = {h: (gqa_loss[(h, 0)] + gqa_loss[(h, 1)]) / 2 for h in (4, 2, 1)}
assert all(loss < 0.9 * math.log(V) for loss in gqa_loss.values()), gqa_loss  # 모든 실행이 무언가를 배웠다
assert mean[4] < mean[1] - 0.3, mean
print("모든 실행이 균등 추측보다 낮음 (손실 < 0.9 log V):", True)
print("250스텝 뒤 MHA의 평균 손실이 MQA보다 0.3 이상 낮음:", True)

# %% [markdown] en="bb59aaf7d1"
# ### 직접 해 보기: KV 헤드와 캐시 메모리
#
# 헤드 32개, 층 32개, 128차원 헤드, 16비트 숫자인 모델에서 KV 헤드 수를 골라 보세요. 막대는 8192토큰짜리 대화의 캐시를
# 보여 줍니다(로직은 `attn_lib.widgets.plot_kv_cache_memory`).

# %% en="cde2ac0da1" tags=["nbval-ignore-output"]
kv_slider = widgets.SelectionSlider(options=[1, 2, 4, 8, 16, 32], value=8, description="KV 헤드",
                                    continuous_update=False)


def show_cache(num_kv_heads: int) -> None:
    plot_kv_cache_memory(32, num_kv_heads, 128, 32, 8192)
    plt.show()


display(widgets.VBox([kv_slider, widgets.interactive_output(show_cache, {"num_kv_heads": kv_slider})]))

# %% [markdown] en="7ecfb331d7"
# ## 4 · 슬라이딩 윈도
#
# `window=w`이면 위치 p의 쿼리는 키 p − w + 1 .. p에 어텐션할 수 있습니다: **자기 자신을 포함해 키 w개**입니다
# (Mistral의 규칙이며, `transformers`는 이를 `kv_idx > q_idx − sliding_window`로 씁니다).
# `attn_lib.sliding_window_mask(T_q, T_k, w)`가 이 마스크(mask)를 만들며, 캐시된 키 때문에 T_k > T_q이면 `causal_mask`처럼
# 오른쪽 아래에 맞춥니다. 모듈은 이것을 여러분의 인과 마스크나 패딩 마스크(padding mask)와 AND로 결합합니다.

# %% en="be953b6a27"
print(sliding_window_mask(6, 6, 3).int())
print("캐시된 키 2개 (T_q = 2, T_k = 4): 쿼리는 위치 2와 3")
print(sliding_window_mask(2, 4, 3).int())

# %% [markdown] en="ba72910ade"
# ### 수용 영역은 층마다 w − 1씩 자란다
#
# 층 하나는 위치 w개를 보지만, 층 2는 층 1의 출력을 읽고 그 출력은 각각 이미 위치 w개를 섞은 것입니다. 수업 05에서처럼
# 그래디언트로 출력이 무엇에 의존하는지 알 수 있습니다. 아래는 윈도 3인 층 세 개를 (잔차 연결(residual connection)과
# 함께) 쌓고, 모든 출력 위치에 대해 모든 입력에 대한 그래디언트를 구한 것입니다. 합성된 윈도가 닿는 곳에서는 정확히 0이
# 아니고, 그 너머에서는 정확히 0입니다(IEEE 규칙에 따라 −∞ 점수의 가중치와 그것을 통과하는 그래디언트는 정확히
# 0입니다).

# %% en="b7d0798c5f"
T_rf, w_rf, L_rf = 16, 3, 3
torch.manual_seed(1)
layers = [MultiHeadAttention(16, 2, window=w_rf).double() for _ in range(L_rf)]
x_rf = torch.randn(1, T_rf, 16, dtype=torch.float64, requires_grad=True)
h = x_rf
for layer in layers:
    h = h + layer(h, h, h)[0]
reached = torch.zeros(T_rf, T_rf, dtype=torch.bool)
for i in range(T_rf):
    (grad,) = torch.autograd.grad(h[0, i].sum(), x_rf, retain_graph=True)
    reached[i] = grad[0].abs().sum(-1) > 0
print("그래디언트 패턴 == receptive_field(16, w=3, L=3):", torch.equal(reached, receptive_field(T_rf, w_rf, L_rf)))
print("마지막 위치가 의존하는 입력 수:", int(reached[-1].sum()), "= L·(w − 1) + 1 =", L_rf * (w_rf - 1) + 1)

# %% en="7a049fc6d6"
plot_receptive_field(T_rf, w_rf, L_rf)
plt.show()

# %% [markdown] en="2efd1b3ad6"
# ### 직접 해 보기: 윈도와 층
#
# 슬라이더(slider)를 움직여 보세요. 오른쪽 맵이 마지막 층이 볼 수 있는 범위입니다. Mistral 7B의 w = 4096과 32개 층은
# 약 131 000 위치 앞까지 닿습니다. 층 하나하나는 4096개만 보는데도 말입니다.

# %% en="6ec4d588f0" tags=["nbval-ignore-output"]
w_slider = widgets.IntSlider(value=3, min=1, max=8, description="윈도 w", continuous_update=False)
l_slider = widgets.IntSlider(value=2, min=1, max=6, description="층 수 L", continuous_update=False)


def show_field(window: int, layers: int) -> None:
    plot_receptive_field(24, window, layers)
    plt.show()


display(widgets.VBox([widgets.HBox([w_slider, l_slider]),
                      widgets.interactive_output(show_field, {"window": w_slider, "layers": l_slider})]))

# %% [markdown] en="2ad44bd191"
# ### 크기가 유한한 캐시
#
# 윈도는 w − 1 위치보다 더 멀리 보지 않으므로, 캐시도 그 이상을 보관할 필요가 없습니다. `KVCache(max_length=w)`는
# 마지막 w개 항목만 보관하고 지금까지 본 위치 수를 세는(RoPE의 오프셋을 위해) *롤링(rolling)* 캐시입니다. 이 캐시로
# 토큰 200개를 하나씩 생성하면, 200개 대신 8개 항목만 보관하면서도 무제한 캐시와 반올림 오차 범위에서 같은 출력을
# 얻습니다.

# %% en="dd67225f75"
win = MultiHeadAttention(32, 4, num_kv_heads=2, rope=10000.0, window=8).eval()
x_gen = torch.randn(1, 200, 32)
rolling, unbounded = KVCache(max_length=8), KVCache()
worst = 0.0
with torch.no_grad():
    for t in range(200):
        step = x_gen[:, t : t + 1]
        a, _ = win(step, step, step, cache=rolling)
        b, _ = win(step, step, step, cache=unbounded)
        worst = max(worst, (a - b).abs().max().item())
print("보관한 항목 수: 롤링", rolling.length, "| 무제한", unbounded.length)
print("max |롤링 − 무제한| < 1e-5:", worst < 1e-5)

# %% [markdown] en="3222e84f21"
# ### O(T²) 대신 O(T·w)
#
# 마스크만으로는 아무것도 아끼지 못합니다. 위의 모듈은 여전히 T²개의 점수를 모두 계산한 다음 대부분을 막습니다.
# `attn_lib.multihead.sliding_window_attention`은 띠(band)만 계산합니다. 쿼리를 w개씩 블록(block)으로 묶고, 각 블록은
# 그 윈도들이 닿을 수 있는 키 2w − 1개만 만납니다. 결과는 반올림 오차 범위에서 같고, 계산량은 T²에서 약 2·T·w개의
# 점수 쌍으로 줄어듭니다. T = 4096, w = 128에서 시간을 잽니다(여기서 잰 것입니다. 여러분의 기계에서는 시간이 다르게
# 나오며, 주장은 비율입니다).

# %% en="810161619b"
qs, ks, vs = torch.randn(3, 1, 4, 4096, 32).unbind(0)
full_mask = sliding_window_mask(4096, 4096, 128)
full = torch.nn.functional.scaled_dot_product_attention(qs, ks, vs, attn_mask=full_mask)
banded = sliding_window_attention(qs, ks, vs, 128)
print("띠 계산 == 윈도 마스크를 쓴 전체 계산, max |diff| < 1e-5:", (banded - full).abs().max().item() < 1e-5)


def best_time(fn, repeats: int = 3) -> float:
    """`repeats`번 호출 중 가장 빠른 것, 이 프로세스의 CPU 시간(초)으로: 계산 자체가 드는 시간이며
    그동안 다른 프로그램이 가져가는 시간은 빠집니다(그래서 두 값의 비율은 바쁜 기계에서도 성립합니다)."""
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


with torch.no_grad():
    t_full = best_time(lambda: torch.nn.functional.scaled_dot_product_attention(qs, ks, vs, attn_mask=full_mask))
    t_band = best_time(lambda: sliding_window_attention(qs, ks, vs, 128))

# %% en="74b52ae81a" tags=["nbval-ignore-output"]
print(f"마스크를 쓴 전체 T×T: {t_full * 1e3:.0f} ms | 띠: {t_band * 1e3:.0f} ms | 비율 {t_full / t_band:.1f}× "
      f"(점수 쌍: {4096 / (2 * 128):.0f}배 적음)")

# %% en="e424556663"
assert t_full / t_band > 2, (t_full, t_band)
print("T = 4096, w = 128에서 띠 계산이 2배 넘게 빠름:", True)

# %% [markdown] en="523783d9e7"
# ## 연습 문제(exercises)
#
# 각 `my_...` 함수의 본문을 채우고 그 아래 셀을 실행하세요. 채점기(checker)가 여러 입력으로 여러분의 함수를 호출해
# `attn_lib`와 비교합니다. 노란색 = 아직 시도하지 않음, 빨간색 = 다른 곳이 있음(흔한 실수(mistake)를 짚고 힌트(hint)를
# 줍니다), 초록색 = 정답.
# 막혔나요? `show_solution("rope_attention")`(먼저 `from attn_lib.exercises import show_solution`).
#
# ### 연습 문제 1 · RoPE를 쓴 어텐션
#
# `q`, `k`, `v`는 `(B, H, T, Dh)`이고 `positions`는 정수 `(T,)`입니다. 위치 m에 있는 쿼리와 키의 각 쌍 (j, j + Dh/2)를
# m · base^(−2i/Dh)만큼 회전시킨 다음 softmax(q kᵀ / √Dh) v를 반환하세요(마스크 없음).


# %% en="31676785aa"
def my_rope_attention(q, k, v, positions, base=10000.0):
    """q, k, v (B, H, T, Dh), positions (T,) -> (B, H, T, Dh)."""
    ...  # 여기에 코드를 작성하세요


# %% en="ab9938cad7"
from attn_lib.exercises import check_rope_attention

check_rope_attention(my_rope_attention)

# %% [markdown] en="c985c87793"
# ### 연습 문제 2 · GQA를 위해 KV 헤드 반복하기
#
# `kv`는 `(B, H_kv, T, Dh)`입니다. 쿼리 헤드 h가 KV 헤드 h // (H / H_kv)를 받는 `(B, H, T, Dh)`를 반환하세요. KV 헤드를
# *연달아* 반복합니다(KV 헤드 2개, 헤드 4개이면 0, 0, 1, 1).


# %% en="0001055a5c"
def my_repeat_kv(kv, num_heads):
    """kv (B, H_kv, T, Dh), num_heads H -> (B, H, T, Dh)."""
    ...  # 여기에 코드를 작성하세요


# %% en="ec95caf4bd"
from attn_lib.exercises import check_repeat_kv

check_repeat_kv(my_repeat_kv)

# %% [markdown] en="aed365aa1a"
# ### 연습 문제 3 · 윈도 마스크
#
# bool `(T, T)` 인과 슬라이딩 윈도 마스크를 반환하세요. 쿼리 i는 키 `window`개, 즉 i − window + 1 .. i(자기 자신 포함)에
# 어텐션할 수 있습니다. True = 어텐션할 수 있음.


# %% en="e5c8d67d85"
def my_window_mask(T, window):
    """T, window ints -> bool (T, T)."""
    ...  # 여기에 코드를 작성하세요


# %% en="b603a83a27"
from attn_lib.exercises import check_window_mask

check_window_mask(my_window_mask)

# %% [markdown] en="27010db6ea"
# ## 요약(summary)
#
# * **RoPE**는 쿼리와 키 차원의 각 쌍을 m·ωᵢ만큼 회전시킵니다. 측정 결과: 노름은 변하지 않고(1e-12까지), 위치 m의 q와
#   위치 n의 k의 점수는 모든 대각선 m − n을 따라 일정합니다(편차 < 1e-9). 수업 04의 더하는 사인파는 m과 n을 섞습니다.
#   밸류는 절대 회전시키지 않습니다.
# * **학습 때보다 길게**(장난감 과제 하나, 시드 하나): 학습된 위치와 사인파 위치는 본 적 없는 위치에서 실패했습니다.
#   RoPE만 쓰면 두 배 길이에서는 더 잘했지만 네 배에서는 무너졌습니다. 오프셋이 학습된 범위를 벗어나지 않는 윈도 RoPE는
#   완벽하게 유지되었습니다.
# * **GQA/MQA**는 각 키/밸류 헤드를 쿼리 헤드 H / H_kv개가 공유합니다. 토큰당 캐시는 2 · L · H_kv · Dh개의 숫자이며
#   (Llama-3-8B와 비슷한 모양에서 512 KiB 대신 128 KiB), `attn_lib`의 캐시로 측정했습니다. 장난감 과제에서의 품질
#   비용은 3절에 있습니다.
# * (자기 자신을 포함해) 키 w개의 **슬라이딩 윈도**는 L개 층 뒤에 L·(w − 1) + 1의 수용 영역(receptive field)을 주고
#   (그래디언트로 확인), 항목 w개의 캐시로 충분하며(무제한 캐시와 반올림 오차 범위에서 같은 출력), 띠만 계산하면
#   계산량이 O(T·w)입니다(T = 4096, w = 128에서 2배 넘게 빠름, 단언으로 확인).
# * 셋 모두 `attn_lib.MultiHeadAttention`의 인자이며, `tests/test_transformers_parity.py`에서 `transformers`의 Llama 및
#   Mistral 어텐션과 대조해 검증합니다.
#
# ## 스스로 점검하기(check yourself)
#
# 1. RoPE는 왜 밸류에 적용할 수 없을까요? 적용하면 무엇이 잘못될까요?
# 2. 시퀀스의 모든 위치를 100만큼 옮깁니다. RoPE의 어텐션 가중치(attention weights)는 어떻게 될까요? 학습된 절대 위치를
#    쓰는 모델은요?
# 3. 어떤 모델에 쿼리 헤드 64개와 KV 헤드 8개가 있습니다. 캐시는 MHA보다 얼마나 작을까요? 쿼리 헤드 13은 어느 KV
#    헤드를 읽을까요?
# 4. w = 4096이고 층이 32개이면 정보는 얼마나 멀리까지 거슬러 전달될 수 있을까요? 층 하나의 롤링 캐시는 항목을 몇 개
#    보관할까요?
# 5. 슬라이딩 윈도 *마스크* 자체가 어텐션을 더 싸게 만들까요?
#
# <details><summary>답</summary>
#
# 1. 위치는 점수 q·k에만 들어가야 합니다. 밸류는 평균되는 대상입니다. 밸류를 회전시키면 각 출력이 자기가 읽은 키들의
#    위치만큼 회전하므로, 같은 내용이 다른 위치에 있으면 다음 층에 다른 출력 벡터를 넘기게 됩니다.
# 2. RoPE: (반올림 오차 범위에서) 아무것도 바뀌지 않습니다. 점수는 차이에만 의존합니다. 학습된 위치: 모든 토큰이 다른
#    위치 벡터를 받고, 학습된 길이를 넘어서면 학습되지 않은 벡터를 받습니다.
# 3. 64 / 8 = 8배 작습니다. 연속한 쿼리 헤드 8개씩이 KV 헤드 하나를 공유하므로, 헤드 13은 KV 헤드 13 // 8 = 1을
#    읽습니다.
# 4. 32 · 4095 ≈ 131 000 위치. 항목 4096개(w).
# 5. 아니요. 막힌 점수도 여전히 계산됩니다. 띠만 계산해야(쿼리 블록을 그 블록이 닿을 수 있는 키와만 계산) O(T²)가
#    O(T·w)가 됩니다.
#
# </details>

# %% en="646b78efcb" tags=["nbval-ignore-output"]
print(f"수업 실행 시간 약 {time.perf_counter() - LESSON_START:.0f}초")
