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

# %% [markdown] en="2fe4436701"
# # 04 · 인코더 셀프 어텐션
#
# 01–03 수업에서 쿼리(query)는 다른 곳에서 온 키(key)와 밸류(value) 사이에서 정보를 찾았습니다.
# 트랜스포머의 인코더(encoder)에서는 문장이 **자기 자신 안에서** 정보를 찾습니다. 모든 토큰(token)이
# 쿼리이면서 동시에 키이고 밸류입니다.
#
# **학습 목표.** 이 수업을 마치면 다음을 할 수 있습니다.
#
# 1. 어텐션(attention)을 *셀프* 어텐션(self-attention)으로 만드는 조건(Q = K = V = 층의 입력)을 설명하고,
#    `attn_lib.MultiHeadAttention(x, x, x)`로 실행합니다.
# 2. 위치 정보가 없는 셀프 어텐션은 **순열 등변(permutation-equivariant)**임을 보입니다. 토큰을 섞으면
#    출력도 똑같이 섞입니다. 그래서 위치 정보가 꼭 필요하다는 것도 설명합니다.
# 3. **사인파 위치 인코딩(sinusoidal positional encoding)**을 손으로 계산하고 히트맵을 읽으며, 두 인코딩의
#    내적(dot product)이 거리에만 의존함을 보입니다. 그리고 이 내적이 알려 주지 *않는* 것(앞인지 뒤인지,
#    투영(projection) 뒤의 어떤 값이든)도 확인합니다.
# 4. **인코더 층(encoder layer)**(셀프 어텐션, 잔차 연결(residual connection), LayerNorm, 피드포워드 네트워크(feed-forward network))을
#    한 부분씩 만들고 여러 층을 쌓은 뒤, 깊은 스택에서 LayerNorm을 앞에 두는(pre-norm) 이유를 측정합니다.
# 5. 길이가 다른 문장을 **패딩(padding)**과 **패딩 마스크(padding mask)**로 한 배치(batch)에 묶고, 패딩이
#    실제 토큰에 아무 영향도 주지 않음을 증명합니다.
#
# 이것은 시드 노트의 주장 S6입니다: *"인코더 셀프 어텐션에서 Q, K, V는 같은 것, 즉 이전 인코더 층의
# 출력이므로 모든 위치가 이전 층의 모든 위치에 어텐션할 수 있다. 첫 층에서는 입력 임베딩에 위치 인코딩을
# 더한 것이다."*

# %% en="setup"
from attn_lib.i18n import set_language

set_language("ko")

# %% en="ab605cd514"
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display
from torch import nn

import attn_lib
from attn_lib.viz import (
    plot_attention,
    plot_grad_norm_per_layer,
    plot_mask,
    plot_pe_dot_products,
    plot_positional_encoding,
)
from attn_lib.widgets import encoder_attention_row, plot_encoder_attention
from attn_lib.widgets.lesson04 import grad_norm_per_layer

torch.manual_seed(0)
torch.set_num_threads(1)  # 출력되는 합이 스레드 수에 따라 달라지지 않도록
torch.set_printoptions(precision=4, sci_mode=False)
print("torch", torch.__version__)

# %% [markdown] en="7f0bde3d6c"
# ## 1. 셀프 어텐션: Q = K = V = x
#
# 사람이 읽을 수 있는 문장이 필요합니다. 작은 단어 어휘(vocabulary)면 충분합니다. 토큰 id 0은
# 패딩용으로 남겨 둡니다(7절).

# %% en="f4d49ad0bc"
vocab = ["<pad>", "the", "a", "cat", "dog", "sat", "ran", "on", "mat", "fast"]
word_id = {w: i for i, w in enumerate(vocab)}
PAD = word_id["<pad>"]


def ids(sentence: str) -> torch.Tensor:
    """'the cat sat' -> tensor([[1, 3, 5]]), 모양 (1, T)."""
    return torch.tensor([[word_id[w] for w in sentence.split()]])


print(ids("the cat sat"), ids("the cat sat").shape)

# %% [markdown] en="0bc4c2e167"
# 각 토큰 id는 임베딩(embedding) 표를 거쳐 `d_model`개의 숫자로 된 벡터가 됩니다(실제 모델에서는 학습되고,
# 여기서는 무작위입니다). `d_model = 32`, `num_heads = 4`를 쓰므로 각 헤드(head)는
# `head_dim = 32 / 4 = 8`차원에서 작동합니다(03 수업). 아직 위치 정보는 없습니다. "cat"이 어디에 있든
# "cat"의 벡터는 같습니다.

# %% en="8b74186386"
d_model, num_heads = 32, 4
embed = nn.Embedding(len(vocab), d_model)  # 표: (어휘 크기 10, D = 32)
nn.init.normal_(embed.weight, std=d_model**-0.5)  # 이 크기인 이유: 4절

x = embed(ids("the cat sat")).detach() * math.sqrt(d_model)  # (B, T, D) = (1, 3, 32); × √d_model: 4절
print("x:", tuple(x.shape), " = (B, T, D)")

# %% [markdown] en="380eb7242c"
# 셀프 어텐션은 세 입력이 **같은 텐서**인 멀티헤드 어텐션(multi-head attention)입니다. 각 토큰의 쿼리,
# 키, 밸류는 *자기 자신의* 벡터에 서로 다른 세 선형 투영(03 수업의 `q_proj`, `k_proj`, `v_proj`)을
# 적용한 것입니다. 그러면 모든 토큰이 자신을 포함한 같은 문장의 모든 토큰에 어텐션합니다. 헤드마다
# `(T, T)` 맵이 하나씩 나옵니다.

# %% en="c4c14e520f"
self_attn = attn_lib.MultiHeadAttention(d_model, num_heads).eval()
out, weights = self_attn(x, x, x)  # 쿼리 = 키 = 밸류 = x
print("출력  :", tuple(out.shape), "      = (B, T, D): 토큰마다 새 벡터 하나")
print("가중치:", tuple(weights.shape), "= (B, H, T_q, T_k), 여기서 T_q = T_k = T")
print("헤드 0의 가중치 (행 = 쿼리, 행의 합은 1):\n", weights[0, 0].detach())

# %% [markdown] en="aa39b60a5b"
# 호출 자체에는 특별한 것이 없습니다. `x`의 복사본 세 개를 따로 넘겨도 결과는 같습니다
# (`MultiHeadAttention`은 세 투영을 한 번의 행렬 곱으로 처리하려고 `query is key is value`인지만
# 확인합니다).

# %% en="60db8cd6d3"
out_copies, _ = self_attn(x, x.clone(), x.clone())
torch.testing.assert_close(out_copies, out)
print("self_attn(x, x, x) == self_attn(x, 복사본, 복사본): True")

# %% [markdown] en="f80e065fc9"
# ## 2. 위치 정보가 없으면 순서가 보이지 않습니다
#
# 토큰을 섞어 봅시다: "the cat sat" → "sat the cat". 이 섞기를 순열 `perm`(새 위치 i에 옛 토큰
# `perm[i]`가 옴)이나 순열 행렬 $P$로 씁니다. 그러면 셀프 어텐션은 다음을 만족합니다.
#
# $$\text{SelfAttn}(P X) = P\,\text{SelfAttn}(X).$$
#
# 이유: 점수(score)는 $(PXW^Q)(PXW^K)^\top = P\,(XW^Q W^{K\top} X^\top)\,P^\top$가 됩니다. 같은 숫자들이
# 행과 열만 똑같이 섞인 것입니다. 행 단위 소프트맥스(softmax)는 이를 신경 쓰지 않고, $P^\top P = I$이므로
# $P A P^\top \cdot P X W^V = P\,(A X W^V)$입니다. 이 층에는 **편향(bias)**도 있습니다:
# $q = xW^Q + b^Q$, 모든 행을 한꺼번에 쓰면 $XW^Q + \mathbf 1 b^{Q\top}$이고 $\mathbf 1$은 1로 된 열입니다.
# 1로 된 열은 섞어도 1로 된 열이므로($P\mathbf 1 = \mathbf 1$) 편향은 논증에 아무 영향을 주지 않습니다:
# $P X W^Q + \mathbf 1 b^{Q\top} = P\,(XW^Q + \mathbf 1 b^{Q\top})$이고, 키, 밸류, $W^O$도 마찬가지입니다.
# 믿기보다는 확인해 봅시다(우리 층에는 편향이 있습니다).

# %% en="7ad4dc393a"
perm = torch.tensor([2, 0, 1])  # "the cat sat" -> "sat the cat"
x_shuffled = embed(ids("sat the cat")).detach() * math.sqrt(d_model)  # (1, 3, 32)
torch.testing.assert_close(x_shuffled, x[:, perm])  # 같은 행들, 순서만 바뀜

out_shuffled, weights_shuffled = self_attn(x_shuffled, x_shuffled, x_shuffled)
torch.testing.assert_close(out_shuffled, out[:, perm])  # 출력도 똑같이 섞임
torch.testing.assert_close(weights_shuffled, weights[:, :, perm][:, :, :, perm])  # P A Pᵀ
gap = (out_shuffled - out[:, perm]).abs().max().item()
print("max |SelfAttn(PX) - P SelfAttn(X)| < 1e-6:", gap < 1e-6, "(부동소수점 반올림 오차 범위에서 같음)")

# %% [markdown] en="5a7cd5d6a4"
# 따라서 "cat"은 두 문장에서 정확히 같은 출력 벡터를 받고, 두 문장은 같은 출력 벡터의 *묶음(bag)*을
# 받습니다. 그림은 같은 숫자를 배치만 바꿔 보여 줍니다.

# %% en="34293872b5"
print('"the cat sat"에서 "cat"의 출력:', out[0, 1, :4].detach(), "...")
print('"sat the cat"에서 "cat"의 출력:', out_shuffled[0, 2, :4].detach(), "...")

fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.6))
for ax, w, sentence in zip(axes, (weights, weights_shuffled), ("the cat sat", "sat the cat"), strict=True):
    words = sentence.split()
    plot_attention(w[0, 0], words, words, title=f'"{sentence}" (헤드 0)', ax=ax, annotate=True, vmax=None)
fig.suptitle("위치 정보가 없으면 단어를 섞어도 어텐션 맵이 똑같이 섞일 뿐입니다")
fig.tight_layout()
plt.show()

# %% [markdown] en="cf9672d382"
# 언어 모델(language model)에게 이는 재앙입니다. "dog bites man"과 "man bites dog"가 같은 뜻이 되어
# 버립니다. 논문의 해결책은 각 토큰 벡터에 그 **위치**에 따라 달라지는 벡터를 더하는 것입니다.
#
# ## 3. 사인파 위치 인코딩
#
# 위치 `pos`와 차원 쌍 `i`(열 `2i`와 `2i+1`)에 대해 Vaswani et al. (2017, §3.5)은 다음을 씁니다.
#
# $$PE[pos, 2i] = \sin\!\left(\frac{pos}{10000^{2i/d_\text{model}}}\right),\qquad
#   PE[pos, 2i+1] = \cos\!\left(\frac{pos}{10000^{2i/d_\text{model}}}\right).$$
#
# 각 쌍은 하나의 주파수 $\omega_i = 10000^{-2i/d_\text{model}}$입니다. 쌍 0은 빠르게 돌고(파장 $2\pi$
# 위치), 마지막 쌍이 가장 느립니다. 그 파장은 $2\pi \cdot 10000^{(d_\text{model}-2)/d_\text{model}}$이며,
# $d_\text{model}$이 커져야 논문의 $2\pi \cdot 10000$에 가까워집니다(셀이 $d_\text{model} = 32$일 때의 값을
# 출력합니다). 두 항목을 손으로 계산해 라이브러리의 표와 비교합니다.

# %% en="67b7d7b644"
pe_table = attn_lib.sinusoidal_positional_encoding(max_len=50, d_model=d_model)  # (50, 32) = (T_max, D)
print("표:", tuple(pe_table.shape))

for pos, i in [(3, 2), (17, 9)]:
    omega = 1.0 / 10000 ** (2 * i / d_model)
    by_hand = (math.sin(pos * omega), math.cos(pos * omega))
    from_table = (pe_table[pos, 2 * i].item(), pe_table[pos, 2 * i + 1].item())
    print(f"pos={pos:2d}, i={i}: 손 계산 {by_hand[0]:+.4f} {by_hand[1]:+.4f}", end="   ")
    print(f"표 {from_table[0]:+.4f} {from_table[1]:+.4f}")
    assert max(abs(a - b) for a, b in zip(by_hand, from_table, strict=True)) < 1e-6

wavelengths = 2 * math.pi * 10000 ** (torch.arange(0, d_model, 2) / d_model)  # (D/2,) = (16,), 쌍마다 하나
print(f"쌍 0의 파장: {wavelengths[0]:.2f} 위치, 쌍 15의 파장: {wavelengths[-1]:.0f} 위치")
print(f"2π · 10000 = {2 * math.pi * 10000:.0f}; 2π · 10000^(30/32) = {2 * math.pi * 10000 ** (30 / 32):.0f}")

# %% [markdown] en="17459b47c7"
# 표 전체를 그림으로 봅니다. 행 하나가 위치 하나, 열 하나가 차원 하나입니다. 왼쪽 열은 행마다 바뀌고
# 오른쪽 열은 거의 바뀌지 않습니다. 시계 바늘처럼 위치마다 고유한 조합이 생깁니다.

# %% en="047cffc5c6"
fig = plot_positional_encoding(pe_table)  # attn_lib.viz
plt.show()

# %% [markdown] en="ffe0bbea6b"
# **내적은 거리에만 의존합니다.** 각 쌍에서 $\sin(a)\sin(b) + \cos(a)\cos(b) = \cos(a - b)$이므로
#
# $$PE[p] \cdot PE[p+k] = \sum_i \cos(k\,\omega_i)$$
#
# 이고, 여기에는 $p$가 전혀 없습니다. 또 $\cos$는 우함수라 $\cos(-k\omega_i) = \cos(k\omega_i)$입니다.
# 즉 내적은 **$+k$와 $-k$에서 같습니다**. 두 위치가 얼마나 떨어져 있는지는 알려 주지만 어느 쪽이 먼저인지는
# 알려 주지 않습니다. 여러 시작 위치 $p$에서 $-20$($p$ 앞)부터 $+40$($p$ 뒤)까지의 오프셋으로 측정합니다.

# %% en="b86fbefc83"
pe_long = attn_lib.sinusoidal_positional_encoding(max_len=100, d_model=d_model)  # (100, 32)
ks = torch.arange(-20, 41)  # (61,) 오프셋 k
curves = {p: (pe_long[p] * pe_long[p + ks]).sum(-1) for p in (20, 30, 40)}  # PE[p]·PE[p+k], 각각 (61,)
omegas = 10000 ** (-torch.arange(0, d_model, 2) / d_model)  # (D/2,)
formula = torch.cos(ks[:, None] * omegas).sum(-1)  # (61,): 각 k에 대한 Σ_i cos(k ω_i)
fig = plot_pe_dot_products(ks, curves, formula)  # attn_lib.viz
plt.show()

spread = max((c - formula).abs().max().item() for c in curves.values())
after, before = curves[30][(ks > 0) & (ks <= 20)], curves[30][ks < 0].flip(0)  # k = 1..20 and k = -1..-20
mirror = (after - before).abs().max().item()
print("곡선과 공식 사이의 최대 차이 < 1e-4:", spread < 1e-4, "(부동소수점 반올림 오차 범위에서 같음)")
print("k = 1..20에서 PE[p]·PE[p+k] == PE[p]·PE[p-k], max |diff| < 1e-4:", mirror < 1e-4)
print("PE[p]·PE[p] = |PE[p]|² =", round(curves[20][20].item(), 2), "= d_model / 2 (쌍마다 sin² + cos² = 1)")

# %% [markdown] en="3a9604eae2"
# 이것이 보여 주는 바를 조심해서 읽어야 합니다. 어텐션은 $PE[p]\cdot PE[p+k]$가 아니라
# $(x_p W^Q)\cdot(x_{p+k} W^K)$를 계산하며, 임의의 투영 $W^Q, W^K$에서는 "거리에만 의존"하는 성질이
# 사라집니다. $k$를 고정해도 $PE[p]\,W^Q W^{K\top} PE[p+k]^\top$는 $p$에 따라 변합니다. 무작위 투영
# (초기화된 층처럼 스케일링)과 오프셋 $k = 3$으로 확인합니다.

# %% en="bb8fd55500"
gen = torch.Generator().manual_seed(7)
W_q_rand = torch.randn(d_model, d_model, generator=gen) / math.sqrt(d_model)  # (D, D)
W_k_rand = torch.randn(d_model, d_model, generator=gen) / math.sqrt(d_model)
starts = torch.arange(0, 40)  # p = 0..39
plain = (pe_long[starts] * pe_long[starts + 3]).sum(-1)  # (40,): PE[p]·PE[p+3]
projected = ((pe_long[starts] @ W_q_rand) * (pe_long[starts + 3] @ W_k_rand)).sum(-1)  # (40,)
print(f"p = 0..39에서 PE[p]·PE[p+3]      : {plain.min().item():.2f}부터 {plain.max().item():.2f}까지")
print(f"p = 0..39에서 (PE[p] W_q)·(PE[p+3] W_k): {projected.min().item():.2f}부터 {projected.max().item():.2f}까지")
assert plain.max() - plain.min() < 1e-3 < 1.0 < projected.max() - projected.min()

# %% [markdown] en="fad6aae597"
# 투영하지 않은 내적은 모든 시작 위치 $p$에서 같지만, 투영한 내적은 그렇지 않습니다. 어떤 투영을 거쳐도
# 살아남는 것은 다음 성질입니다. $p + k$의 인코딩은 $p$의 인코딩의 고정된 *선형* 함수이고, 학습된
# $W^Q, W^K$는 이를 활용할 수 있습니다(그리고 대칭인 투영 전 내적과 달리 방향을 구분하게 만들 수도 있습니다).

# %% [markdown] en="0627671084"
# 논문이 직접 밝힌 선택 이유는 이렇습니다. 오프셋 $k$를 고정하면 $PE[p+k]$는 $PE[p]$의 **선형 함수**입니다.
# 각 (sin, cos) 쌍이 각도 $k\omega_i$만큼 회전합니다. 행렬 $R_k$ 하나가 모든 위치 $p$에 통합니다.

# %% en="9f728c2043"
k = 3
R = torch.zeros(d_model, d_model)  # (D, D) = (32, 32), 블록 대각: 주파수마다 2x2 회전 하나
for i, w in enumerate(omegas.tolist()):
    c, s = math.cos(k * w), math.sin(k * w)
    R[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.tensor([[c, -s], [s, c]])  # (sin, cos) -> 이동된 값
torch.testing.assert_close(pe_table[:-k] @ R, pe_table[k:], atol=1e-5, rtol=0)
print(f"모든 p = 0..{pe_table.shape[0] - k - 1}에서 PE[p + {k}] == PE[p] @ R_{k}: True")

# %% [markdown] en="ae89529d47"
# ## 4. 첫 층의 입력: 임베딩 × √d_model + 위치 인코딩
#
# 논문은 임베딩에 $\sqrt{d_\text{model}}$을 곱한 뒤(§3.4) 인코딩을 더합니다. 이유는 밝히지 않습니다.
# 저자들의 코드(tensor2tensor)와 맞는 해석은 이렇습니다. 임베딩 표는 표준편차(standard deviation)
# $1/\sqrt{d_\text{model}}$로 초기화되므로(1절에서도 그렇게 했습니다), 이 배수를 곱하면 각 항목의 표준편차는
# 약 1이 되고 토큰 벡터의 노름은 약 $\sqrt{d_\text{model}} \approx 5.7$이 됩니다. 이는 위치 인코딩의
# 크기와 비슷합니다. 위치 인코딩의 노름은 정확히 $\sqrt{d_\text{model}/2} = 4$입니다(항목의 절반은 사인,
# 절반은 코사인이고 쌍마다 $\sin^2 + \cos^2 = 1$). 어느 쪽도 다른 쪽을 묻어 버리지 않습니다.

# %% en="0e1f6eb61e"
tokens = ids("the cat sat")  # (1, 3)
x_emb = embed(tokens).detach() * math.sqrt(d_model)  # (1, 3, 32)
x_in = x_emb + pe_table[: tokens.shape[1]]  # (1, 3, 32) + (3, 32)는 배치 전체로 브로드캐스트
print("토큰별 |임베딩 × √d_model|:", x_emb.norm(dim=-1)[0])
print("위치별 |PE[pos]|           :", pe_table[:3].norm(dim=-1))

# %% [markdown] en="39a4002c3e"
# `attn_lib.PositionalEncoding`은 이 덧셈을 모듈로 만든 것입니다(표는 버퍼로 두고, 드롭아웃은 선택).
# 이제부터는 이것을 씁니다. (`attn_lib.Transformer`도 같은 방식입니다. 임베딩은 표준편차 1/√d_model에서
# 시작하고 √d_model을 곱합니다. PyTorch의 기본 시작값인 표준편차 1을 쓰면 무엇을 잃는지는 07 수업에서
# 측정합니다.)

# %% en="d6d1c7bcdd"
pos_enc = attn_lib.PositionalEncoding(d_model, max_len=50)
torch.testing.assert_close(pos_enc(x_emb), x_in)
print("pos_enc(x_emb) == x_emb + PE[:T], 모양:", tuple(pos_enc(x_emb).shape))

# %% [markdown] en="2179e36767"
# 위치를 더하면 두 문장은 더 이상 서로를 섞어 놓은 것이 아니고, "cat"은 문장마다 다른 출력을 받습니다.

# %% en="5be3bf50ad"
x_in_shuffled = pos_enc(embed(ids("sat the cat")).detach() * math.sqrt(d_model))
out_1, _ = self_attn(x_in, x_in, x_in)  # "the cat sat", 위치 포함
out_2, _ = self_attn(x_in_shuffled, x_in_shuffled, x_in_shuffled)  # "sat the cat", 위치 포함
gap = (out_1[0, 1] - out_2[0, 2]).norm().item()  # "cat"은 위치 1에, 그다음엔 위치 2에 있음
print('|출력("the cat sat"의 "cat") - 출력("sat the cat"의 "cat")| =', round(gap, 4))

# %% [markdown] en="4a98ae1b59"
# ## 5. 인코더 층, 서브층 하나씩
#
# 시드 노트는 어텐션만 이야기합니다. 실제 인코더 층(논문 §3.1과 그림 1)에는 **서브층(sub-layer)이 두 개**
# 있고, 둘 다 같은 방식으로 감싸입니다.
#
# $$x \leftarrow \text{LayerNorm}\big(x + \text{Sublayer}(x)\big)$$
#
# 1. **멀티헤드 셀프 어텐션**: 위치들이 정보를 주고받는 유일한 곳입니다.
# 2. **위치별 피드포워드 네트워크** $\text{FFN}(x) = \max(0, xW_1 + b_1)W_2 + b_2$: `d_model`에서 `d_ff`로
#    갔다가 돌아오며(논문: 512 → 2048 → 512, 여기서는 같은 비율로 32 → 128 → 32), 각 위치에 따로
#    적용됩니다.
#
# 각각을 감싸는 것은 **잔차 연결**($x + \ldots$: 서브층은 토큰 벡터에 보정값만 더합니다)과
# **층 정규화(layer normalization)**(각 위치의 D개 특징을 평균 0, 분산 1로 맞춘 뒤 학습되는 이득을 곱하고
# 학습되는 편향만큼 이동)입니다. 논문의 이 배치, 즉 "post-norm"에서는 LayerNorm이 덧셈 *뒤에* 오므로
# 잔차 경로마저 층마다 LayerNorm을 지납니다. 이것이 깊은 스택의 그래디언트(gradient)에 무엇을 하는지는
# 6절에서 측정합니다.
#
# `attn_lib.EncoderLayer`를 하나 만들어 그 부분들을 손으로 실행하며 모양(shape)을 지켜봅니다.

# %% en="751045ec60"
layer = attn_lib.EncoderLayer(d_model, num_heads, d_ff=4 * d_model).eval()
print(layer)

# %% en="41cf0d6dbd"
a, _ = layer.self_attn(x_in, x_in, x_in)  # 서브층 1: 셀프 어텐션, (1, 3, 32)
h = layer.norm1(x_in + a)  # 잔차 + LayerNorm, (1, 3, 32)
print("어텐션 출력 a:", tuple(a.shape), "  LayerNorm(x + a) 뒤:", tuple(h.shape))
print("위치별 h의 평균    :", torch.round(h.mean(-1), decimals=4).detach() + 0.0)
print("위치별 h의 표준편차:", h.std(-1, unbiased=False).detach().round(decimals=4))

# %% [markdown] en="a76ff4e241"
# LayerNorm은 위치별로 작동했습니다. 세 행 모두 이제 평균 0, 표준편차 1입니다(학습되는 이득과 편향은 1과
# 0에서 시작합니다). 다음은 피드포워드 네트워크입니다.

# %% en="d7ee5c9407"
hidden = torch.relu(layer.ff.linear1(h))  # (1, 3, 128) = (B, T, d_ff)
f = layer.ff.linear2(hidden)  # (1, 3, 32)
y = layer.norm2(h + f)  # 잔차 + LayerNorm, (1, 3, 32)
print("FFN 은닉층:", tuple(hidden.shape), " FFN 출력:", tuple(f.shape), " 층 출력:", tuple(y.shape))

y_lib, _ = layer(x_in)
torch.testing.assert_close(y, y_lib)
print("손 계산 == attn_lib.EncoderLayer: True")

# %% [markdown] en="e96379e76d"
# "위치별(position-wise)"이란 바로 이것입니다. 한 위치의 FFN은 다른 위치를 보지 않습니다. 가운데 위치만
# 넣어도 배치 안에서의 그 행과 같은 숫자가 나옵니다.

# %% en="2159a4e646"
torch.testing.assert_close(layer.ff(h[:, 1:2]), f[:, 1:2])
print("FFN(행 1만) == FFN(모든 행)의 행 1: True")

n_attn = sum(p.numel() for p in layer.self_attn.parameters())
n_ff = sum(p.numel() for p in layer.ff.parameters())
n_norm = sum(p.numel() for p in (*layer.norm1.parameters(), *layer.norm2.parameters()))
print(f"파라미터 수: 셀프 어텐션 {n_attn}, 피드포워드 {n_ff}, LayerNorm 두 개 {n_norm}")

# %% [markdown] en="3a92821023"
# 층 파라미터의 3분의 2가 피드포워드 네트워크에 있습니다. 어텐션은 *위치*를 섞고, FFN은 *특징*을
# 변환합니다. (`attn_lib`는 `norm_first=True`도 제공합니다. 이후 대부분의 모델이 쓰는 "pre-norm" 방식
# $x + \text{Sublayer}(\text{LayerNorm}(x))$입니다. 논문의 층은 위와 같은 post-norm입니다. 그 차이가 왜
# 중요한지는 6절에서 봅니다.)
#
# ## 6. 인코더 층 쌓기
#
# 인코더는 이런 층 N개를 차례로 이은 것입니다(논문: N = 6, 여기서는 2). 이것이 S6의 핵심입니다.
# **층 l의 출력이 층 l+1의 쿼리, 키, 밸류**이므로 층 l+1의 모든 위치가 층 l의 모든 위치에 어텐션합니다.
# `attn_lib.Encoder`가 정확히 이 루프입니다.

# %% en="d2d7bf099e"
encoder = attn_lib.Encoder(num_layers=2, d_model=d_model, num_heads=num_heads, d_ff=4 * d_model).eval()

state = x_in  # (1, 3, 32): 임베딩 × √d_model + PE
for index, enc_layer in enumerate(encoder.layers):
    state, _ = enc_layer(state)  # 내부: self_attn(state, state, state)
    print(f"층 {index} 뒤: {tuple(state.shape)}")
torch.testing.assert_close(state, encoder(x_in)[0])
print("층을 도는 루프 == attn_lib.Encoder: True")

# %% [markdown] en="74fcf1d641"
# 모든 서브층은 셀프 어텐션이거나 위치별 연산이므로, 위치를 더하지 않으면 **스택 전체**도 여전히 순열
# 등변입니다. 맨 아래의 위치 인코딩이 인코더가 단어 순서를 아는 유일한 통로입니다.

# %% en="ad6211123a"
stack_out = encoder(x)[0]  # 1절의 임베딩, 위치 없음
stack_out_shuffled = encoder(x_shuffled)[0]
torch.testing.assert_close(stack_out_shuffled, stack_out[:, perm])
print("위치 없이 Encoder(P x) == P Encoder(x): True")

# %% [markdown] en="6e8435ede2"
# **깊은 스택: post-norm이냐 pre-norm이냐.** 흔히 잔차 연결이 깊은 스택을 관통하는 "직통 경로"를
# 그래디언트에 준다고 합니다. 논문의 post-norm 층 $x \leftarrow \text{LayerNorm}(x + \text{Sublayer}(x))$
# 에서는 꼭 그렇지 않습니다. 손실(loss)에서 층 l까지 내려가는 경로는 그 위 모든 층의 LayerNorm을 지나고,
# 각 LayerNorm은 1보다 큰 $x + \text{Sublayer}(x)$의 표준편차로 나눕니다. pre-norm 층
# $x \leftarrow x + \text{Sublayer}(\text{LayerNorm}(x))$은 스택 꼭대기에서 바닥까지 손대지 않은 항등
# 경로를 유지합니다. 24층 스택에서 초기화 시점에 측정합니다(`grad_norm_per_layer`: 대용 손실의 각 층
# 입력에 대한 그래디언트, 시드 5개의 중앙값).

# %% en="b3c6a62a70"
post = grad_norm_per_layer(norm_first=False, num_layers=24)  # (24,), 층 0 = 입력에 가장 가까운 층
pre = grad_norm_per_layer(norm_first=True, num_layers=24)
print(f"post-norm: 맨 아래 층의 그래디언트 / 맨 위 층의 그래디언트 = {post[0] / post[-1]:.1f}")
print(f"pre-norm : 맨 아래 층의 그래디언트 / 맨 위 층의 그래디언트 = {pre[0] / pre[-1]:.1f}")
assert post[0] / post[-1] < 0.8 and pre[0] / pre[-1] > 1.2

fig = plot_grad_norm_per_layer(
    {"post-norm (논문): LayerNorm(x + F(x))": post, "pre-norm: x + F(LayerNorm(x))": pre},
    title="초기화 시점에 post-norm의 그래디언트는 입력 쪽으로 갈수록 줄지만 pre-norm은 그렇지 않습니다",
)
plt.show()

# %% [markdown] en="aeba55d7a2"
# post-norm에서는 그래디언트가 아래로 내려가며 층마다 줄어듭니다(24층에서 맨 아래 층은 맨 위 층이 받는 것의
# 약 3분의 2를 받습니다). 그래서 학습(training) 초기에는 출력에 가까운 층이 가장 큰 업데이트를 받습니다.
# Xiong et al. (2020, "On Layer Normalization in the Transformer Architecture")은 이 때문에 논문의
# post-norm 트랜스포머에 학습률(learning rate) **워밍업(warm-up)**이 필요하고(처음부터 전체 학습률로 한
# 스텝은 불안정합니다), 그래디언트가 깊이에 따라 줄지 않는 pre-norm은 워밍업 없이 학습된다는 것을
# 보였습니다. 이후 대부분의 모델이 pre-norm인 이유입니다. (여기처럼 2층이면 차이는 작고, 깊어질수록
# 커집니다.)

# %% [markdown] en="f4df9a6f25"
# ## 7. 길이가 다른 문장의 배치: 패딩과 그 마스크
#
# 여러 문장을 한 번에 실행하려면 길이 `T`가 같아야 하므로, 짧은 문장은 `<pad>` 토큰으로 채웁니다. 패딩은
# 아무것도 바꾸면 안 됩니다. **어떤 쿼리도 패딩된 키에 어텐션하면 안 됩니다.** 패딩 마스크가 말하는 것이
# 바로 이것입니다. bool이고 True = 어텐션 가능, 모양은 `(B, 1, 1, T)`라서 헤드 `H`와 쿼리 위치 `T_q`에 걸쳐
# 브로드캐스트됩니다.

# %% en="4544cf5b57"
sentences = ["the cat sat on the mat", "a dog ran fast", "the cat sat", "sat the cat"]
T = max(len(s.split()) for s in sentences)
batch = torch.full((len(sentences), T), PAD)  # (B, T) = (4, 6)
for b, s in enumerate(sentences):
    batch[b, : len(s.split())] = ids(s)[0]
labels = [[vocab[i] for i in row] for row in batch.tolist()]
print(batch)
for row in labels:
    print("  ", " ".join(f"{w:>5}" for w in row))

pad_mask = attn_lib.padding_mask(batch, PAD)  # (B, 1, 1, T)
print("패딩 마스크:", tuple(pad_mask.shape), "\n", pad_mask[:, 0, 0])

# %% [markdown] en="11077fd92b"
# 한 문장의 `(T_q, T_k)` 격자로 브로드캐스트하면 마스크는 **열** 전체, 즉 패딩된 키를 막습니다. 패딩된
# 쿼리의 행은 (실제 토큰에) 어텐션해도 됩니다. 그 출력은 나중에 쓰이지 않을 뿐입니다.

# %% en="9532dbefe1"
fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
for ax, b in zip(axes, (1, 2), strict=True):
    plot_mask(pad_mask[b, 0].expand(T, T), labels[b], labels[b], title=f'"{sentences[b]}"', ax=ax)
fig.suptitle("패딩 마스크: 어떤 쿼리도 <pad> 키에 어텐션할 수 없습니다 (회색 열)")
fig.tight_layout()
plt.show()

# %% [markdown] en="10eb1b9454"
# 이제 배치 전체가 임베딩 × √d_model + PE와 2층 인코더를 지나고, 마스크는 모든 셀프 어텐션에 전달됩니다.
# 먼저, 패딩된 키의 가중치는 **정확히 0**입니다(소프트맥스 전에 점수를 −∞로 두기 때문입니다. 05 수업에서
# 자세히 봅니다).

# %% en="328323adca"
x_batch = pos_enc(embed(batch).detach() * math.sqrt(d_model))  # (4, 6, 32)
enc_out, maps = encoder(x_batch, pad_mask, need_weights=True)  # (4, 6, 32)와 2 x (4, 4, 6, 6)
print("인코더 출력:", tuple(enc_out.shape), " 맵:", len(maps), "x", tuple(maps[0].shape), "(B, H, T, T)")

blocked = ~pad_mask.expand_as(maps[0])  # (4, 4, 6, 6): 쿼리가 pad 키를 보는 곳이 True
for index, w in enumerate(maps):
    rows_ok = torch.allclose(w.sum(-1), torch.ones(4, 4, 6))
    print(f"층 {index}: pad 키에 놓인 최대 가중치 = {w[blocked].max().item()}, 행의 합이 1: {rows_ok}")
    assert (w[blocked] == 0).all()

# %% [markdown] en="627e53e07b"
# 둘째, 가장 강한 확인입니다. pad 토큰의 벡터를 큰 무작위 노이즈로 바꿉니다. 마스크가 있으면 실제 토큰의
# 출력은 **전혀** 움직이지 않습니다. 차이는 어느 기계에서나 정확히 0.0입니다. IEEE 산술이 그렇게 만들기
# 때문입니다(pad 키의 가중치는 정확히 0이고, 유한한 노이즈 $v$에 대해 $0 \cdot v = 0$이며, 나머지 모든
# 단계는 각 위치에서 따로, 같은 숫자를 같은 순서로 계산합니다). 마스크가 없으면 노이즈가 모든 실제 토큰으로
# 새어 들어갑니다.

# %% en="fd8976a92e"
noisy = x_batch.clone()
noisy[batch == PAD] = 10 * torch.randn(int((batch == PAD).sum()), d_model)  # 새 pad 벡터
real = batch != PAD  # (4, 6)

with_mask = (encoder(noisy, pad_mask)[0] - encoder(x_batch, pad_mask)[0])[real].abs().max().item()
without_mask = (encoder(noisy)[0] - encoder(x_batch)[0])[real].abs().max().item()
print("실제 토큰 출력의 변화:", with_mask + 0.0, "(마스크 있음)")
print("실제 토큰 출력의 변화:", round(without_mask, 4), "(마스크 없음)")
assert with_mask == 0.0

# %% [markdown] en="b1cb592348"
# 셋째, 배치 안의 패딩된 문장은 같은 문장을 패딩 없이 따로 인코딩했을 때와 같은 출력을 받습니다(행렬 모양이
# 다르므로 부동소수점 반올림 오차 범위에서 같습니다).

# %% en="9540962ab1"
alone = encoder(x_batch[1:2, :4])[0]  # "a dog ran fast"만: (1, 4, 32), 마스크 필요 없음
torch.testing.assert_close(alone, enc_out[1:2, :4])
print('"a dog ran fast" 단독 == 패딩된 배치 속 그 문장의 실제 4행: True')

# %% [markdown] en="906bcf53db"
# ## 8. 탐색: 토큰은 어디에 어텐션할까?
#
# 문장, 토큰(위치 0–5로 지정), 층, 헤드를 고르세요. 왼쪽 맵은 그 문장의 셀프 어텐션 전체이고(행 = 쿼리),
# 고른 토큰의 행은 빨간 테두리로 표시됩니다. 오른쪽 막대는 그 행입니다. 해 볼 것:
#
# - "the cat sat"의 한 토큰과 "sat the cat"의 같은 단어: 위치 때문에 행이 달라집니다.
# - "a dog ran fast"의 아무 토큰: 두 `<pad>` 키는 정확히 0을 받습니다.
# - `<pad>` 쿼리: 실제 토큰에 어텐션하지만 그 출력은 쓰이지 않습니다.
#
# **주의: 이 인코더는 학습되지 않았습니다**(무작위지만 시드를 고정한 가중치, 라이브러리의 초기화). √d_k
# 스케일에서는 초기화 시점에 흔히 그렇듯 맵이 균등에 가깝고(아래 측정: 행의 최대 가중치는 평균 0.25, 균등
# 가중치라면 1/6), 그 패턴에는 아직 아무 의미가 없습니다. (03 수업의 무작위 헤드 맵이 뾰족했던 것은
# `head_map`이 일부러 이보다 약 2.6배 큰 가중치를 뽑기 때문입니다. `init="library"`로 하면 그 맵도 균등에
# 가깝습니다.) 규칙을 *학습한* 헤드는 03 수업 6절에서 보았고, 07 수업에서는 트랜스포머 전체를
# 학습시킵니다. 아래 그림은 위젯의 첫 화면입니다.

# %% en="28bbbabc79"
row = encoder_attention_row(maps, sentence=0, token=2, layer=0, head=0)
print('"the cat sat on the mat"의 "sat", 층 0, 헤드 0:', row)
real_rows = maps[0][0]  # 패딩이 없는 문장 0의 (H, T, T)
print(f"행별 최대 가중치의 헤드·행 평균: {real_rows.amax(-1).mean().item():.2f} (균등: 1/6 = 0.17)")

fig = plot_encoder_attention(maps, labels, sentence=0, token=2, layer=0, head=0)
plt.show()

# %% en="1024fdad04" tags=["nbval-ignore-output"]
sentence_w = widgets.Dropdown(options=[(s, b) for b, s in enumerate(sentences)], description="문장")
token_w = widgets.IntSlider(value=2, min=0, max=T - 1, description="토큰 위치", continuous_update=False)
layer_w = widgets.ToggleButtons(options=[(f"층 {i}", i) for i in range(len(maps))], description="층")
head_options = [*[(f"헤드 {h}", h) for h in range(num_heads)], ("헤드 평균", "mean")]
head_w = widgets.Dropdown(options=head_options, description="헤드")


def show(sentence, token, layer, head):
    plot_encoder_attention(maps, labels, sentence, token, layer, None if head == "mean" else head)
    plt.show()


controls = {"sentence": sentence_w, "token": token_w, "layer": layer_w, "head": head_w}
view = widgets.interactive_output(show, controls)
display(widgets.VBox([widgets.HBox([sentence_w, token_w]), widgets.HBox([layer_w, head_w]), view]))

# %% [markdown] en="3a1638803c"
# ## 연습 문제
#
# 이제 직접 작성해 봅시다. 각 `my_...` 함수의 본문을 채우고 그 아래 셀을 실행하세요. 채점기(checker)가
# 여러 입력으로 함수를 호출해 `attn_lib`과 비교합니다. 노란색 = 아직 시도하지 않음, 빨간색 = 무언가 다름
# (흔한 실수(mistake)의 이름과 힌트(hint)를 알려 줍니다), 초록색 = 정답.
#
# ### 연습 문제 1 · 사인파 위치 인코딩
#
# `(max_len, d_model)` 표(float32, `d_model`은 짝수)를 반환하세요.
# $PE_{pos,\,2i} = \sin(pos / 10000^{2i/d_{model}})$,
# $PE_{pos,\,2i+1} = \cos(pos / 10000^{2i/d_{model}})$이고 위치는 0부터 시작합니다.
#
# 막히면 `show_solution("positional_encoding")`(`from attn_lib.exercises import show_solution` 뒤에).


# %% en="8d3a1b88b7"
def my_positional_encoding(max_len, d_model):
    """-> (max_len, d_model): 짝수 열에는 sin, 홀수 열에는 cos."""
    ...  # 여기에 코드를 작성하세요


# %% en="0532ea5fa0"
from attn_lib.exercises import check_positional_encoding

check_positional_encoding(my_positional_encoding)

# %% [markdown] en="073b8e54d8"
# ### 연습 문제 2 · 단일 헤드 셀프 어텐션
#
# 셀프 어텐션은 Q, K, V를 같은 입력에서 얻습니다. `x` `(B, T, D)`를 `W_q`와 `W_k` `(D, d_k)`, `W_v`
# `(D, d_v)`에 `x @ W_q`처럼 곱합니다. $\text{softmax}(QK^\top/\sqrt{d_k})\,V$를 반환하세요. 모양은
# `(B, T, d_v)`입니다.
#
# 막히면 `show_solution("self_attention")`.


# %% en="c21c47aad8"
def my_self_attention(x, W_q, W_k, W_v):
    """x (B, T, D), W_q와 W_k (D, d_k), W_v (D, d_v) -> (B, T, d_v)."""
    ...  # 여기에 코드를 작성하세요


# %% en="6998709fb2"
from attn_lib.exercises import check_self_attention

check_self_attention(my_self_attention)

# %% [markdown] en="4a84173773"
# ## 요약
#
# - **셀프 어텐션**은 Q = K = V = 층의 입력(같은 벡터의 서로 다른 세 투영)인 어텐션입니다:
#   `MultiHeadAttention(x, x, x)`. 모든 위치가 모든 위치에 어텐션합니다.
# - 위치 정보가 없으면 **순열 등변**입니다: `SelfAttn(PX) = P SelfAttn(X)`(부동소수점 반올림 오차 범위에서
#   확인했고, `P·1 = 1`이므로 편향도 함께 따라갑니다). 그래서 문장은 단어의 묶음이 됩니다. 스택도 이 성질을
#   물려받습니다.
# - **사인파 위치 인코딩**은 각 위치에 `d_model/2`개 주파수의 사인과 코사인 패턴을 줍니다.
#   `PE[p]·PE[p+k] = Σᵢ cos(kωᵢ)`는 거리에만 의존하고 ±k에서 같으며(앞뒤를 구분하지 못합니다), 임의의 투영
#   W^Q, W^K 뒤에는 이 성질이 전혀 남지 않습니다. 어떤 투영을 거쳐도 남는 것은 `PE[p+k]`가 `PE[p]`의 고정된
#   회전이라는 점입니다.
# - 첫 층의 입력은 **임베딩 × √d_model + PE**이고, 이후 모든 층의 Q, K, V는 이전 층의 출력입니다.
# - **인코더 층** = 셀프 어텐션과 위치별 FFN이며, 각각 `LayerNorm(x + Sublayer(x))` 안에 있습니다. 시드
#   노트가 빠뜨린 잔차, LayerNorm, FFN입니다. 이 post-norm 형태에서는 잔차 경로마저 모든 LayerNorm을 지나므로,
#   초기화 시점에 깊은 스택의 그래디언트가 입력 쪽으로 갈수록 줄어듭니다. pre-norm
#   (`x + Sublayer(LayerNorm(x))`)은 이를 피합니다.
# - **패딩 마스크** `(B, 1, 1, T)`는 패딩된 키를 막습니다. 그 가중치는 정확히 0이고, 패딩에 무엇이 들어
#   있든 실제 토큰의 출력은 정확히 같습니다.
#
# ## 스스로 점검하기
#
# 1. 문장의 두 단어를 바꿔서 위치 인코딩 **없이** 셀프 어텐션 층에 넣습니다. 출력은 어떻게 될까요?
# 2. $PE[4]\cdot PE[9]$는 $PE[20]\cdot PE[25]$와 비교해 어떤 값일까요? 이유는?
# 3. 배치 안의 한 문장이 4토큰에서 6토큰으로 패딩되었습니다. `(T, T)` 어텐션 맵에서 0으로 강제되는 것은
#    행일까요, 열일까요? pad 토큰의 행은 어떨까요?
# 4. 인코더 층의 어느 서브층이 위치 2가 위치 5의 정보를 쓰게 해 주고, 어느 서브층은 절대 그렇지 않을까요?
# 5. 패딩 마스크의 모양이 `(B, T)`가 아니라 `(B, 1, 1, T)`인 이유는?
#
# <details><summary>정답</summary>
#
# 1. 두 출력 벡터가 자리를 바꿀 뿐 다른 것은 변하지 않습니다(순열 등변성). 층은 두 문장을 구별하지
#    못합니다.
# 2. 같습니다. 둘 다 거리가 5이고, 내적은 시작 위치와 무관한 $\sum_i \cos(5\,\omega_i)$입니다.
# 3. pad 키의 두 **열**입니다(가중치 정확히 0). pad 쿼리의 행은 여전히 실제 토큰에 어텐션하지만, 그 출력은
#    나중에 무시됩니다(손실, 크로스 어텐션 마스크).
# 4. 셀프 어텐션이 위치를 섞습니다. 피드포워드 네트워크(와 LayerNorm)는 각 위치에서 따로 작동합니다.
# 5. 점수 `(B, H, T_q, T_k)`와 브로드캐스트되어야 하기 때문입니다. 모든 헤드(차원 1)와 모든 쿼리(차원 2)에서
#    같은 키가 막힙니다.
#
# </details>
