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

# %% [markdown] en="75c9c6cb99"
# # 02 · 스케일드 닷-프로덕트 어텐션
#
# 수업 01에서는 **쿼리 하나**를 키 몇 개 사이에서 조회했습니다. 트랜스포머는 이 일을 모든 위치에 대해
# 행렬로 한꺼번에 하고, 소프트맥스(softmax) 전에 모든 점수(score)를 $\sqrt{d_k}$로 나눕니다. 이 수업에서는
# 논문의 공식을 한 줄씩 써 본 다음, 왜 나누는지를 *측정*합니다.
#
# $$\text{Attention}(Q, K, V) = \text{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V$$
#
# 스케일드 닷-프로덕트 어텐션(scaled dot-product attention)은 풀어 말하면 "스케일된 내적 어텐션"입니다.
#
# **학습 목표(learning goals).** 이 수업을 마치면 다음을 할 수 있습니다.
#
# 1. 어텐션(attention)을 행렬 형태로 계산하고 모든 중간 결과의 모양(shape)을 말할 수 있습니다. 먼저
#    시퀀스(sequence) 하나에 대해, 그다음 배치(batch)와 헤드(head) 차원까지 붙여서(시드 노트의 주장 S2).
# 2. 한 단계씩 만든 구현이 `attn_lib.scaled_dot_product_attention`과 같고, 이것이 다시 PyTorch의
#    `torch.nn.functional.scaled_dot_product_attention`과 같다는 것을 보일 수 있습니다.
# 3. 소프트맥스가 왜 최댓값을 먼저 빼는지 설명할 수 있습니다(그리고 단순한 구현이 오버플로되는 것을 봅니다).
# 4. 점수를 나누는 것을 **온도(temperature)** 로 읽을 수 있습니다.
# 5. 직접 측정한 숫자로 *왜* $\sqrt{d_k}$인지 설명할 수 있습니다. $q\cdot k$의 분산(variance)은 $d_k$에
#    비례해 커지고, 스케일이 없으면 소프트맥스가 **포화되며(saturate)** (가중치 하나 → 1) 그
#    **그래디언트(gradient)가 소실됩니다(vanishing gradient)**. 스케일을 쓰면 둘 다 일정한 범위에 머물고(주장 S3),
#    $\sqrt{d_k}$ 대신 $d_k$로 나누면 지나쳐서 가중치가 균등해집니다.

# %% en="setup"
from attn_lib.i18n import set_language

set_language("ko")

# %% en="4769200f94"
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display

import attn_lib
from attn_lib.i18n import display_width, pad
from attn_lib.viz import plot_attention, plot_scaling_curves, plot_score_variance, plot_temperature
from attn_lib.widgets import SCALING_DK_CHOICES, plot_scaling_demo, scaling_curves, scaling_demo
from attn_lib.widgets.lesson02 import query_norm_spread, table_header

torch.manual_seed(0)
torch.set_num_threads(1)  # 출력하는 합이 스레드 수에 따라 달라지지 않도록
torch.set_printoptions(precision=4, sci_mode=False)
print("torch", torch.__version__)

# %% [markdown] en="09efc9f364"
# ## 1. 쿼리 하나에서 쿼리 행렬로
#
# 수업 01에서는 쿼리(query) $q$ 하나가 내적(dot product) $q\cdot k_j$로 모든 키(key)에 점수를 매기고,
# 소프트맥스가 점수를 가중치로 바꾸었으며, 출력은 밸류(value)의 가중합이었습니다. 쿼리가 여러 개이면 이를
# 행렬의 **행**으로 쌓고, 키와 밸류도 마찬가지로 쌓습니다.
#
# - $Q$: `(T_q, d_k)`, 쿼리마다 한 행
# - $K$: `(T_k, d_k)`, 키마다 한 행(쿼리와 같은 폭 $d_k$여야 내적을 할 수 있습니다)
# - $V$: `(T_k, d_v)`, 키마다 한 행: 모든 키에는 자기 밸류가 있습니다.

# %% en="85d7da46b0"
T_q, T_k, d_k, d_v = 3, 5, 4, 6
Q = torch.randn(T_q, d_k)  # (T_q, d_k) = (3, 4)
K = torch.randn(T_k, d_k)  # (T_k, d_k) = (5, 4)
V = torch.randn(T_k, d_v)  # (T_k, d_v) = (5, 6)
print("Q", tuple(Q.shape), " K", tuple(K.shape), " V", tuple(V.shape))

# %% [markdown] en="fca25f3f1f"
# 이제 공식을 한 줄에 연산 하나씩 씁니다. $QK^\top$에는 쿼리-키 내적이 **모두** 한꺼번에 들어 있습니다.
# $(i, j)$ 성분은 $Q$의 $i$행과 $K^\top$의 $j$열의 곱, 즉 $q_i \cdot k_j$입니다. 소프트맥스는 마지막 축을
# 따라(키에 대해) 계산하므로, 각 행은 한 쿼리가 키들 위에 놓는 분포입니다. 수업 01에서 약속한 대로
# 소프트맥스는 `attn_lib.softmax`입니다.

# %% en="8e90e1b29d"
K_t = K.transpose(-2, -1)  # (d_k, T_k)
scores = Q @ K_t  # (T_q, d_k) @ (d_k, T_k) -> (T_q, T_k): scores[i, j] = q_i · k_j
scaled = scores / math.sqrt(d_k)  # (T_q, T_k)
weights = attn_lib.softmax(scaled, dim=-1)  # (T_q, T_k), 각 행의 합은 1
output = weights @ V  # (T_q, T_k) @ (T_k, d_v) -> (T_q, d_v)

for name, t in [("Q", Q), ("K^T", K_t), ("scores", scores), ("weights", weights), ("output", output)]:
    print(f"{name:8s} {tuple(t.shape)}")
print("가중치 행의 합 (소수 4자리로 반올림):", weights.sum(-1).round(decimals=4))
torch.testing.assert_close(scores[1, 3], Q[1] @ K[3])  # (1, 3) 성분은 q_1 · k_3
print(f"scores[1, 3] = q_1 · k_3 = {scores[1, 3].item():.3f}")

# %% [markdown] en="3133b96fae"
# 출력의 $i$행은 가중치의 $i$행으로 밸류 행들을 가중 평균한 것입니다: $\text{output}_i = \sum_j w_{ij} v_j$.
# 행렬 곱은 $T_q$개를 모두 한꺼번에 계산합니다. 아래는 0행을 합으로 쓴 것입니다.

# %% en="e9c250e1cf"
row0 = sum(weights[0, j] * V[j] for j in range(T_k))  # (d_v,)
torch.testing.assert_close(row0, output[0])
print("output[0]          :", output[0])
print("sum_j w_0j * v_j   :", row0)

# %% [markdown] en="5caa124850"
# 가중치를 그림으로 보면, 쿼리마다 한 행, 키마다 한 열이고 각 행의 합은 1입니다.

# %% en="5b6f0a4d0e"
fig, ax = plt.subplots(figsize=(6, 2.8))
plot_attention(
    weights,
    [f"q{i}" for i in range(T_q)],
    [f"k{j}" for j in range(T_k)],
    title="softmax(QKᵀ/√d_k): 쿼리의 각 행은 키 5개 위의 분포입니다",
    ax=ax,
    annotate=True,
    vmax=None,
)
plt.show()

# %% [markdown] en="e9935d9a6a"
# ## 2. 배치와 헤드를 붙이면
#
# 실제 입력에는 앞쪽 차원이 더 있습니다. 시퀀스 B개의 **배치**와, (수업 03에서 보는) **헤드** H개입니다.
# 차원 순서는 `(B, H, T, d)`입니다. 공식은 아무것도 바뀌지 않습니다. `@`는 마지막 두 차원을 곱하고 앞쪽 차원은
# 모두 배치로 취급하며, `transpose(-2, -1)`은 마지막 두 차원만 맞바꿉니다.

# %% en="1d21169f6c"
B, H = 2, 4
Qb = torch.randn(B, H, T_q, d_k)  # (B, H, T_q, d_k)
Kb = torch.randn(B, H, T_k, d_k)  # (B, H, T_k, d_k)
Vb = torch.randn(B, H, T_k, d_v)  # (B, H, T_k, d_v)

Kb_t = Kb.transpose(-2, -1)  # (B, H, d_k, T_k)
scores_b = Qb @ Kb_t / math.sqrt(d_k)  # (B, H, T_q, T_k)
weights_b = attn_lib.softmax(scores_b, dim=-1)  # (B, H, T_q, T_k)
output_b = weights_b @ Vb  # (B, H, T_q, d_v)
for name, t in [("Q", Qb), ("K^T", Kb_t), ("scores", scores_b), ("weights", weights_b), ("output", output_b)]:
    print(f"{name:8s} {tuple(t.shape)}")

# %% [markdown] en="985da53b1b"
# $B \cdot H = 8$개의 문제 하나하나가 1절의 시퀀스 하나짜리 계산입니다. 예를 들어 배치 1, 헤드 2:

# %% en="767791d7ef"
alone = attn_lib.softmax(Qb[1, 2] @ Kb[1, 2].T / math.sqrt(d_k), dim=-1) @ Vb[1, 2]  # (T_q, d_v)
torch.testing.assert_close(alone, output_b[1, 2])
print("output_b[1, 2]는 (Q[1, 2], K[1, 2], V[1, 2])만으로 계산한 어텐션과 같습니다:", tuple(alone.shape))

# %% [markdown] en="4e12ccb37a"
# ## 3. 이것이 `attn_lib.scaled_dot_product_attention`이고, PyTorch도 같은 답을 냅니다
#
# 라이브러리 함수는 정확히 이 줄들을 실행하고(입력 검사와 선택적인 마스크(mask)가 더해집니다, 수업 05),
# 출력과 가중치를 돌려줍니다. PyTorch에는 자체 구현 `torch.nn.functional.scaled_dot_product_attention`이
# 있습니다(출력만 돌려주는 퓨즈드 커널(fused kernel)). 구현은 셋, 답은 하나입니다.

# %% en="3c0fc1afaf"
out_lib, weights_lib = attn_lib.scaled_dot_product_attention(Qb, Kb, Vb)  # (B, H, T_q, d_v), (B, H, T_q, T_k)
torch.testing.assert_close(out_lib, output_b)
torch.testing.assert_close(weights_lib, weights_b)

out_torch = F.scaled_dot_product_attention(Qb, Kb, Vb)  # (B, H, T_q, d_v)
torch.testing.assert_close(out_lib, out_torch)
print("직접 구현 == attn_lib:  max |차이| < 1e-6:", (output_b - out_lib).abs().max().item() < 1e-6)
print("attn_lib == torch: max |차이| < 1e-6:", (out_lib - out_torch).abs().max().item() < 1e-6)
print("비교 기준: 출력 자체의 크기는", round(out_lib.abs().max().item(), 1))

# %% [markdown] en="8227c7b486"
# 차이가 있다면 float32 반올림 오차(rounding error)입니다(여기서는 많아야 약 $10^{-7}$이고, 어떤 컴퓨터에서는
# 정확히 0). 세 구현은 같은 산술을, 어쩌면 다른 순서로 하며, 마지막 비트가 어떻게 나오는지는 여러분의
# CPU와 PyTorch 커널에 달려 있습니다. 이제부터 이 강좌는 `attn_lib.scaled_dot_product_attention`을
# 호출합니다.
#
# ## 4. 오버플로되지 않는 소프트맥스
#
# 공식의 소프트맥스는 $p_i = e^{x_i} / \sum_j e^{x_j}$입니다. 그대로 쓰면 점수가 커지는 순간 망가집니다.
# float32는 약 $3.4\cdot10^{38}$까지의 수를 담으므로 $x \approx 88.7$부터 $e^{x}$는 `inf`이고,
# `inf / inf`는 `nan`입니다.

# %% en="0e8cd787c1"
print(
    "exp(88.) =", torch.exp(torch.tensor(88.0)).item(), "  exp(89.) =", torch.exp(torch.tensor(89.0)).item()
)
big = torch.tensor([1000.0, 1001.0, 1002.0])  # (3,) float32
naive = torch.exp(big) / torch.exp(big).sum()
print("exp(x)             :", torch.exp(big))
print("단순한 softmax(x)  :", naive)

# %% [markdown] en="c211dfde96"
# 고치는 데는 한 줄이면 됩니다. 임의의 상수 $c$에 대해
#
# $$\frac{e^{x_i - c}}{\sum_j e^{x_j - c}} = \frac{e^{-c}\,e^{x_i}}{e^{-c}\sum_j e^{x_j}} = \frac{e^{x_i}}{\sum_j e^{x_j}},$$
#
# 이므로 어떤 $c$를 빼도 됩니다. $c = \max_j x_j$로 잡으면 모든 지수가 $\le 0$이므로 모든 $e^{x_i - c}$는
# $(0, 1]$ 안에 있고(오버플로 없음), 가장 큰 것은 정확히 $e^0 = 1$이므로 합은 적어도 1입니다(0으로 나누기
# 없음). 아주 작은 음수 점수는 언더플로되어 가중치 0이 되는데, 이는 해가 없습니다.

# %% en="918893d498"
stable = torch.exp(big - big.max()) / torch.exp(big - big.max()).sum()
print("안정한 softmax(x)  :", stable)
torch.testing.assert_close(stable, attn_lib.softmax(big))
torch.testing.assert_close(stable, torch.softmax(big, dim=-1))
print("attn_lib.softmax, torch.softmax와 같음: True")

small = torch.tensor([0.0, 1.0, 2.0])  # 단순한 구현이 동작하는 곳에서는 둘이 일치
torch.testing.assert_close(torch.exp(small) / torch.exp(small).sum(), attn_lib.softmax(small))
print("softmax([1000, 1001, 1002]) == softmax([0, 1, 2]):", torch.allclose(stable, attn_lib.softmax(small)))

# %% [markdown] en="596db16a6d"
# 이것이 `attn_lib.softmax`입니다. PyTorch의 `torch.softmax`도 내부에서 최댓값을 뺍니다. 마지막 줄을
# 보세요. 중요한 것은 점수 사이의 *차이*뿐이고, 점수의 높낮이 자체는 결코 중요하지 않습니다.
#
# 둘이 다른 경우가 하나 있습니다. 점수가 **모두** $-\infty$인 행, 즉 아무것에도 어텐션할 수 없는 쿼리입니다
# (마스크를 쓰면 생깁니다, 수업 05). 최댓값이 $-\infty$이고 $-\infty - (-\infty)$는 `nan`입니다.
# `attn_lib.softmax`는 이때의 답을 모두 0인 가중치로 정의하므로, `nan`이 모델 전체로 퍼지지 않습니다.

# %% en="54a3fb1efd"
nothing = torch.full((3,), -math.inf)  # (3,) 모든 키가 막힘
print("torch.softmax   :", torch.softmax(nothing, dim=-1))
print("attn_lib.softmax:", attn_lib.softmax(nothing))

# %% [markdown] en="58ff2f2c53"
# ## 5. 온도
#
# 소프트맥스 전에 점수를 수 $\tau > 0$로 나누는 것, $\text{softmax}(x/\tau)$를 **온도**라고 합니다. 작은
# $\tau$는 점수 사이의 차이를 벌립니다. 가장 큰 점수가 전부를 가져갑니다(**argmax**, 원-핫). 큰 $\tau$는
# 차이를 좁힙니다. 모든 키가 거의 같은 가중치를 받습니다(**균등**, $1/T_k$).

# %% en="56b4cd1944"
x = torch.tensor([2.0, 1.0, 0.5, -1.0])  # 점수 네 개
for tau in [0.05, 0.25, 1.0, 4.0, 100.0]:
    p = attn_lib.softmax(x / tau)
    print(f"tau = {tau:6.2f}: 가중치", [round(v + 0.0, 3) for v in p.tolist()])

# %% en="e7a7aceaa4"
taus = torch.logspace(-2, 2, 200)  # (200,) 0.01부터 100까지
fig = plot_temperature(x, taus)  # attn_lib.viz: 점수마다 곡선 softmax(x / τ)[j] 하나
plt.show()

# %% [markdown] en="8b46c9dbcc"
# 그러니까 $\text{softmax}(QK^\top/\sqrt{d_k})$는 온도 $\sqrt{d_k}$의 소프트맥스입니다. $d_k = 64$이면
# 온도는 8입니다. (수업 01에서는 *더 긴* 쿼리가 더 날카로운 가중치를 주었습니다. 쿼리를 $a$배 늘이는 것은
# 온도 $1/a$입니다.) 다음 절들에서는 왜 하필 이 온도인지 봅니다. 점수가 $d_k$와 함께 커지는 만큼을
# 정확히 상쇄하기 때문입니다.
#
# ## 6. 왜 √d_k인가 (1): $q\cdot k$의 분산은 $d_k$에 비례해 커진다
#
# $q$와 $k$의 성분이 서로 독립이고 평균 0, 분산 1이라고 합시다(논문 각주 4의 가정). 그러면
# $q\cdot k = \sum_{i=1}^{d_k} q_i k_i$는 서로 독립인 항 $d_k$개의 합이고, 각 항은 평균 0, 분산
# $E[q_i^2]\,E[k_i^2] = 1$이므로
#
# $$\operatorname{Var}(q\cdot k) = d_k,\qquad \operatorname{Var}\!\left(\frac{q\cdot k}{\sqrt{d_k}}\right) = 1.$$
#
# 믿을 필요는 없습니다. 1부터 1024까지 모든 $d_k$에 대해 무작위 쌍 10,000개를 뽑아 재 봅시다.

# %% en="707d2bf555"
torch.manual_seed(0)
d_ks = list(SCALING_DK_CHOICES)  # 1, 2, 4, ..., 1024
n_pairs = 10_000
var_raw, var_scaled = [], []
print(" d_k   Var(q·k)   Var(q·k)/d_k   Var(q·k/√d_k)")
for d in d_ks:
    q, k = torch.randn(n_pairs, d), torch.randn(n_pairs, d)  # 각각 (N, d_k)
    dots = (q * k).sum(-1)  # (N,): 쌍마다 q·k 하나
    var_raw.append(dots.double().var().item())  # 분산은 float64로: 출력 자릿수가 안정적
    var_scaled.append((dots.double() / math.sqrt(d)).var().item())
    print(f"{d:4d} {var_raw[-1]:10.1f} {var_raw[-1] / d:12.2f} {var_scaled[-1]:14.2f}")

# %% en="008817ee89"
fig = plot_score_variance(d_ks, var_raw, var_scaled)  # attn_lib.viz
plt.show()

# %% [markdown] en="ec18cb8359"
# 점수의 표준편차(standard deviation)는 $\sqrt{d_k}$입니다. $d_k = 1024$에서 두 키의 점수는 보통 수십씩
# 차이 납니다. 소프트맥스는 이것을 어떻게 만들까요?
#
# ## 7. 왜 √d_k인가 (2): 스케일이 없으면 소프트맥스가 포화된다
#
# $d_k = 256$에서 쿼리 하나를 무작위 키 16개와 비교합니다. 같은 표본을 스케일 없이, 그리고 스케일을
# 써서 계산합니다($T_k = 16$; `attn_lib.widgets`의 `scaling_demo`가 $q$와 $K$의 성분을 $N(0, 1)$에서
# 시드를 고정해 뽑습니다).

# %% en="baaf52f7bd"
demo_raw = scaling_demo(256, scaled=False, seed=0)  # 표본 하나: q (1, 256), keys (1, 16, 256)
demo_scaled = scaling_demo(256, scaled=True, seed=0)  # 같은 q와 키
rows = [
    ("스케일 없는 점수", [round(v) for v in demo_raw["logits"][0].tolist()]),
    ("스케일 없는 가중치", [round(v + 0.0, 3) for v in demo_raw["weights"][0].tolist()]),
    ("스케일한 점수", [round(v, 1) for v in demo_scaled["logits"][0].tolist()]),
    ("스케일한 가중치", [round(v + 0.0, 3) for v in demo_scaled["weights"][0].tolist()]),
]
width = max(display_width(name) for name, _ in rows)  # 고정폭 글꼴의 칸 수로
for name, values in rows:
    print(f"{pad(name, width)}:", values)  # pad: f"{name:<{width}}"와 같지만 한글도 줄이 맞음

# %% [markdown] en="92c36df0fd"
# 스케일이 없으면 가장 큰 점수가 2등보다 10 넘게 크고, $e^{10} \approx 22000$입니다. 키 하나가 가중치를
# (거의) 전부 가져갑니다. 스케일을 쓰면 점수는 같은 수를 16으로 나눈 것이고, 가중치는 퍼진 채로 남습니다.
# 키 $T_k$개 위의 분포 $p$가 얼마나 뾰족한지는 두 수로 나타냅니다.
#
# - **가장 큰 가중치** $\max_j p_j$: 균등하면 $1/T_k$, 원-핫이면 1
# - **엔트로피(entropy)** $-\sum_j p_j \ln p_j$ (단위 nat): 균등하면 $\ln T_k = 2.77$, 원-핫이면 0

# %% en="deeb853dbd"
runs = [("스케일 없음", demo_raw), ("스케일 있음", demo_scaled)]
width = max(display_width(name) for name, _ in runs)
for name, demo in runs:
    p = demo["weights"][0]  # (16,)
    entropy = -(p * torch.log(p)).nansum()  # nansum: 0 · log 0은 0으로 셈
    torch.testing.assert_close(entropy, demo["entropy"][0])
    print(
        f"{pad(name, width)}: 가장 큰 가중치 {p.max().item():.4f}, 엔트로피 {entropy.item():.4f} nats (균등: 2.7726)"
    )

fig = plot_scaling_demo(256, scaled=False, seed=0)
plt.show()

# %% [markdown] en="c56acdf688"
# 이 그림의 오른쪽 패널이 벌써 그 결과, 즉 *그래디언트*를 보여 줍니다. 어떤 그래디언트인지 정확히
# 말해 봅시다.
#
# ## 8. 왜 √d_k인가 (3): 포화된 소프트맥스에는 그래디언트가 (거의) 없다
#
# 소프트맥스의 입력을 $z$ (점수를 $\sqrt{d_k}$로 나눴든 아니든), 출력을 $p = \text{softmax}(z)$라고
# 합시다. 점수가 움직일 때 가중치가 얼마나 움직이는지가 **야코비안(Jacobian)**
# $J_{ij} = \partial p_i / \partial z_j$입니다. $p_i = e^{z_i}/\sum_k e^{z_k}$를 미분하면
# $J_{ij} = p_i(\delta_{ij} - p_j)$이고, 행렬로 쓰면
#
# $$J = \operatorname{diag}(p) - p\,p^\top.$$
#
# 원-핫 가중치($p = e_m$)에서는 $\operatorname{diag}(e_m) - e_m e_m^\top = 0$입니다. 거꾸로 흐르는 것이
# 전혀 없습니다. 연쇄 법칙에 따라 **어떤** 손실(loss) $L$에 대해서든 점수에 도달하는 그래디언트는
# $\partial L/\partial z = J^\top\, \partial L/\partial p$이고, 점수를 거쳐 $q$, $k$, 그리고 그것을 만든
# 투영 $W^Q$, $W^K$의 그래디언트가 됩니다. 그래서 $J$의 크기, 즉 프로베니우스 노름
# $\|J\|_F = \sqrt{\sum_{ij} J_{ij}^2}$를 잽니다. 먼저 위의 표본에서 공식을 autograd와 대조합니다
# (float64로: 거의 원-핫인 가중치에서 $p_m - p_m^2$는 1에 가까운 두 수의 차이라서, float32로는 몇
# 자리밖에 남지 않습니다).

# %% en="ebe0ff176f"
for name, demo in runs:
    z = demo["logits"][0].double()  # (16,)
    p = attn_lib.softmax(z, dim=-1)  # (16,)
    J_formula = torch.diag(p) - torch.outer(p, p)  # (16, 16)
    J_autograd = torch.autograd.functional.jacobian(lambda s: attn_lib.softmax(s, dim=-1), z)  # (16, 16)
    torch.testing.assert_close(J_formula, J_autograd)
    torch.testing.assert_close(J_formula.norm().float(), demo["grad_norm"][0])
    print(f"{pad(name, width)}: ||dp/dz||_F = {J_formula.norm().item():.3g}  (공식 == autograd == grad_norm)")

# %% [markdown] en="50ba18260d"
# 이것이 `scaling_demo`가 표본마다 돌려주는 세 수 `max_weight`, `entropy`, `grad_norm`($\|J\|_F$)입니다.
# `scaling_curves`는 1부터 1024까지 모든 $d_k$에 대해 표본 1000개(스케일 유무와 관계없이 같은 표본)로 이를
# 실행하고 **중앙값**, 즉 전형적인 표본의 값을 취합니다.
#
# ## 9. 측정: $d_k$에 따른 포화와 그래디언트

# %% en="1f0ec3219e"
curves = scaling_curves(seed=0, num_keys=16, num_draws=1000)
raw, sc = curves["unscaled"], curves["scaled"]
# table_header (attn_lib.widgets.lesson02): 머리글 두 줄, 각 이름이 자기 열 위에 옴
print(
    table_header(
        ("d_k", 4),
        [
            ("스케일 없음", [("최대가중치", 10), ("엔트로피", 8), ("포화 비율", 9), ("||J||_F", 9)]),
            ("스케일 있음 (÷√d_k)", [("최대가중치", 10), ("엔트로피", 8), ("||J||_F", 9)]),
        ],
    )
)
for i, d in enumerate(curves["d_k"]):
    print(
        f"{d:4d} | {raw['max_weight'][i]:10.3f}  {raw['entropy'][i]:8.3f}  {raw['saturated'][i]:9.1%}"
        f"  {raw['grad_norm'][i]:9.1e} | {sc['max_weight'][i]:10.3f}  {sc['entropy'][i]:8.3f}  "
        f"{sc['grad_norm'][i]:9.1e}"
    )
print("(쿼리 하나와 키 16개를 1000번 뽑은 중앙값; '포화 비율' = 가중치 하나가 0.99를 넘는 표본의 비율)")

# %% en="505f3e3f09"
fig = plot_scaling_curves(curves)  # attn_lib.viz: d_k에 따른 세 중앙값
plt.show()

# %% [markdown] en="24a8c7d281"
# 표를 위에서 아래로 읽어 보세요. **스케일이 없으면** 가장 큰 가중치가 0.16에서 1.000으로 올라가고,
# 엔트로피는 2.59 nat에서 0으로 떨어지며, $d_k = 1024$에서는 표본 넷 중 셋(77%)이 포화(saturation)되고,
# 전형적인 야코비안 노름은 0.27에서 약 $10^{-5}$로 네 자릿수나 떨어집니다. **스케일을 쓰면** 세 값 모두
# 한 범위에 머물고(가장 큰 가중치 0.16–0.23, 엔트로피 2.4–2.6 nat, $\|J\|_F$ 약 0.3) 어느 것도 포화되지
# 않습니다. 그렇다고 완전히 평평하지는 않습니다. 스케일한 가장 큰 가중치도 $d_k = 1$의 0.16에서
# $d_k \approx 16$부터는 약 0.22로 올라갑니다. 모든 $d_k$에서 $\operatorname{Var}(q\cdot k/\sqrt{d_k}) = 1$인데
# 왜일까요?
#
# 그 분산은 *쌍*에 대한 것이고, 소프트맥스가 보는 것은 다르기 때문입니다. 소프트맥스는 쿼리 **하나**를
# 여러 키와 비교합니다. $q$를 고정하고 키의 성분이 $N(0, 1)$이면, 스케일한 점수 $q\cdot k_j/\sqrt{d_k}$는
# 키들에 걸쳐 $N(0,\ \lVert q\rVert^2/d_k)$를 따릅니다. 그 퍼짐 $\lVert q\rVert^2/d_k$는 평균이 1이지만,
# $d_k$가 작으면 쿼리마다 크게 요동칩니다($\chi^2_{d_k}/d_k$이고 표준편차는 $\sqrt{2/d_k}$). $d_k = 1$에서
# 전형적인 쿼리는 짧아서 점수가 좁게 모이고, 가중치가 더 평평해집니다. $d_k$가 커지면
# $\lVert q\rVert^2/d_k$는 1에 자리 잡습니다. `query_norm_spread`는 같은 표본에서 이를 재고, 이어서 모든
# 쿼리를 정확히 $\lVert q\rVert = \sqrt{d_k}$로 다시 스케일합니다. 이 논증이 맞다면 변화가 사라져야 합니다.

# %% en="3a63ac6bcb"
spread = query_norm_spread(seed=0, num_keys=16, num_draws=1000)
groups = [
    ("||q||²/d_k", [("10%", 6), ("중앙값", 8), ("90%", 6)]),
    ("가장 큰 가중치의 중앙값, ÷√d_k", [("뽑은 그대로", 14), ("||q|| = √d_k", 14)]),
]
print(table_header(("d_k", 4), groups))
for i, d in enumerate(spread["d_k"]):
    qs = spread["q_sq_over_dk"]
    print(
        f"{d:4d} | {qs['p10'][i]:6.2f}  {qs['median'][i]:8.2f}  {qs['p90'][i]:6.2f} |"
        f" {spread['max_weight_scaled'][i]:14.2f}  {spread['max_weight_fixed_norm'][i]:14.2f}"
    )
fixed = spread["max_weight_fixed_norm"]
assert float(spread["max_weight_scaled"][0]) < 0.18 and float(fixed.max() - fixed.min()) < 0.02

# %% [markdown] en="cf33db4209"
# 쿼리의 길이를 고정하면 가장 큰 가중치가 1부터 1024까지 모든 $d_k$에서 같습니다(약 0.22). 스케일한 곡선의
# 변화는 짧은 무작위 쿼리의 길이가 요동친 것일 뿐, 다른 이유는 없었습니다. $\sqrt{d_k}$는 점수의 *평균적인*
# 퍼짐을 바로잡을 뿐, 쿼리 하나의 길이를 바로잡지는 못합니다.
#
# **$\sqrt{d_k}$ 대신 $d_k$로 나누면?** (스스로 점검하기 5번 문제.) 그러면 점수의 표준편차가
# $1/\sqrt{d_k}$가 되어 줄어듭니다. 같은 표본을 $d_k$로 나누면:

# %% en="e307e1aa8c"
by_d_k = scaling_curves(seed=0, num_keys=16, num_draws=1000, power=1.0)["scaled"]  # 점수 ÷ d_k
divisors = [("÷√d_k", 11), ("÷d_k", 11)]
print(table_header(("d_k", 4), [("가장 큰 가중치의 중앙값", divisors), ("엔트로피 중앙값", divisors)]))
for i, d in enumerate(curves["d_k"]):
    if d in (1, 4, 16, 64, 256, 1024):
        print(
            f"{d:4d} | {sc['max_weight'][i]:11.2f}  {by_d_k['max_weight'][i]:11.2f} |"
            f" {sc['entropy'][i]:11.2f}  {by_d_k['entropy'][i]:11.2f}"
        )
print("(균등: 0.06, 2.77)")
assert float(by_d_k["max_weight"][-1]) < 0.07 < 0.2 < float(sc["max_weight"][-1])

fig = plot_scaling_curves(curves, by_d_k=by_d_k)
plt.show()

# %% [markdown] en="69ee1a4aa8"
# $d_k$로 나누면 지나칩니다. $d_k = 1024$에서 가장 큰 가중치는 0.07로 균등 분포의 $1/16 = 0.0625$를 겨우
# 넘고, 엔트로피는 $\ln 16$입니다. 소프트맥스가 더 이상 어떤 키도 선호하지 않습니다. (모델은 $W^Q$를 키워서
# 이를 되돌리도록 학습할 수도 있습니다. $\sqrt{d_k}$가 빠진 것을 되돌리도록 학습할 수 있는 것과 같은
# 방식입니다. 11절에서 다시 다룹니다.)
#
# *중앙값*에 대해 한마디: $\|J\|_F$의 평균은 더 천천히 떨어집니다. 가장 큰 두 점수가 우연히 거의 같은
# 몇몇 표본이 상당한 그래디언트를 유지하기 때문입니다. 전형적인 표본에는 그래디언트가 없습니다.

# %% en="83757b8ce6"
raw_1024 = scaling_demo(1024, scaled=False, seed=0, num_draws=1000)
median, mean = raw_1024["grad_norm"].median().item(), raw_1024["grad_norm"].mean().item()
print(f"d_k = 1024, 스케일 없음: ||J||_F의 중앙값 = {median:.1e}, ||J||_F의 평균 = {mean:.2f}")

# %% [markdown] en="50236ffe58"
# 거의 동점인 경우를 보여 드리겠습니다. 표본마다 가장 큰 점수와 두 번째로 큰 점수의 차이입니다.

# %% en="200cbce108"
top2 = raw_1024["logits"].double().topk(2, dim=-1).values  # (N, 2): 가장 큰 두 점수
gap = top2[:, 0] - top2[:, 1]  # (N,)
J = raw_1024["grad_norm"].double()  # (N,)
near = gap < 2.0  # 가장 큰 두 점수의 차가 2 이내: exp(-2) = 0.14
print(f"가장 큰 두 점수의 차가 2 이내인 표본: 1000개 중 {near.float().mean().item():.0%}")
print(f"  그 표본들의 ||J||_F 중앙값: {J[near].median().item():.2f};  나머지 표본: {J[~near].median().item():.0e}")
print(f"  모든 표본의 ||J||_F 합에서 그 표본들이 차지하는 몫: {(J[near].sum() / J.sum()).item():.0%}")
assert J[near].median() > 1000 * J[~near].median() and J[near].sum() > 0.5 * J.sum()

# %% [markdown] en="77f46aa270"
# ## 10. 처음부터 끝까지: 쿼리에 도달하는 그래디언트
#
# 시드 노트가 "소프트맥스가 그래디언트가 거의 평평한 영역으로 들어간다"고 한 것이 바로 이 야코비안입니다.
# 모델이 학습(training)에 쓰는 것은 파라미터에 대한 손실의 그래디언트이고, 그것은 $q$를 거쳐 흐릅니다.
# 처음부터 끝까지 보기 위해 모든 키에 무작위 밸류($V$: `(16, 8)`)를 주고, 출력 $o = pV$ `(8,)`와 무작위
# $g$ `(8,)`로 만든 간단한 손실 $L = g\cdot o$를 잡아, autograd로 $\partial L/\partial q$ `(d_k,)`를
# 계산합니다.


# %% en="4396db4211"
def grad_wrt_query(d_k: int, scaled: bool, num_draws: int = 1000) -> torch.Tensor:
    """scaling_demo의 num_draws개 표본 각각에 대한 dL/dq의 노름, L = g · (softmax(z) V)."""
    demo = scaling_demo(d_k, scaled, seed=0, num_draws=num_draws)
    gen = torch.Generator().manual_seed(1)
    values = torch.randn(num_draws, 16, 8, generator=gen)  # (N, T_k, d_v)
    g = torch.randn(num_draws, 8, generator=gen)  # (N, d_v)
    q = demo["query"].double().requires_grad_()  # (N, d_k); float64, 아래 설명 참고
    z = (demo["keys"].double() @ q[:, :, None])[..., 0] / (math.sqrt(d_k) if scaled else 1.0)  # (N, T_k)
    torch.testing.assert_close(z, demo["logits"].double(), rtol=1e-5, atol=1e-4)  # scaling_demo의 점수 (float32)
    p = attn_lib.softmax(z, dim=-1)  # (N, T_k)
    o = (p[:, None, :] @ values.double())[:, 0]  # (N, 1, T_k) @ (N, T_k, d_v) -> (N, d_v)
    (grad_q,) = torch.autograd.grad((o * g.double()).sum(), q)  # (N, d_k); 표본끼리는 서로 영향 없음
    return grad_q.norm(dim=-1)  # (N,)


print(table_header(("d_k", 4), [("||dL/dq|| 중앙값", [("스케일 없음", 11), ("스케일 있음", 11)])]))
medians = {}
for d in [1, 4, 16, 64, 256, 1024]:
    medians[d] = (grad_wrt_query(d, False).median().item(), grad_wrt_query(d, True).median().item())
    print(f"{d:4d} | {medians[d][0]:11.1e}  {medians[d][1]:11.1e}")
assert medians[1][0] > 300 * medians[1024][0]  # 스케일 없음: 수백 분의 일로 무너짐
assert max(m[1] for m in medians.values()) < 2 * min(m[1] for m in medians.values())  # 스케일: 한 범위

# %% [markdown] en="28132d85ef"
# (거의 포화된 소프트맥스의 그래디언트는 1에 가까운 두 수의 차이이므로 이 셀은 float64로 계산합니다.
# float32로는 그 작은 그래디언트의 정확한 자릿수가 두세 개뿐이고, 그것이 어떤 자릿수인지는 CPU에 따라
# 다릅니다.)
#
# 여기서 두 효과가 만납니다. 연쇄 법칙에 따라 $\partial L/\partial q = \sum_j
# (\partial L/\partial z_j)\, k_j$이고(스케일하면 $\sqrt{d_k}$로 나눔), 무작위 키의 길이는 약
# $\sqrt{d_k}$입니다. **스케일이 없으면** 그 길이가 처음에는 그래디언트를 *키우다가*($d_k \approx 16$까지),
# 이후에는 포화가 이겨 전형적인 그래디언트가 무너집니다. $d_k = 1024$에서는 $d_k = 1$에 비해 수백 분의
# 일입니다. **스케일을 쓰면** $1/\sqrt{d_k}$가 키의 길이를 상쇄해, 그래디언트가 모든 $d_k$에서 같은 범위에
# 머뭅니다. 이것이 논문 각주의 논증 전부를 측정한 것입니다. 폭이 얼마든 소프트맥스 입력의 분산이 1이
# 되도록 $\sqrt{d_k}$로 나눕니다.
#
# ## 11. 스케일은 $W^Q$ 안에 들어갈 수도 있다
#
# 트랜스포머에서 쿼리는 투영(projection) $q = xW^Q$입니다. 그러면 점수를 $\sqrt{d_k}$로 나누는 것은
# 행렬 $W^Q/\sqrt{d_k}$를 쓰고 스케일은 쓰지 않는 것과 같습니다:
# $(xW^Q)k^\top/\sqrt{d_k} = (x\,W^Q/\sqrt{d_k})\,k^\top$. 작은 투영으로 확인하면:

# %% en="fa8def6520"
gen = torch.Generator().manual_seed(3)
x_in = torch.randn(5, 64, generator=gen)  # (T, d_model): 토큰 벡터 5개
W_q, W_k = torch.randn(64, 64, generator=gen) / 8, torch.randn(64, 64, generator=gen) / 8  # (d_model, d_k)
keys_in = x_in @ W_k  # (T, d_k)
out_scaled, _ = attn_lib.scaled_dot_product_attention(x_in @ W_q, keys_in, keys_in)  # ÷√64 = ÷8
out_folded, _ = attn_lib.scaled_dot_product_attention(x_in @ (W_q / 8), keys_in, keys_in, scale=1.0)
torch.testing.assert_close(out_folded, out_scaled)
print("softmax((x W_q) Kᵀ / √d_k) == softmax((x W_q/√d_k) Kᵀ): 반올림 오차 범위에서 같음")

# %% [markdown] en="31c0b9f2d8"
# 따라서 스케일이 있는 층(layer)과 없는 층은 정확히 같은 함수들을 계산할 수 있습니다. $1/\sqrt{d_k}$는 표현력을
# 더하지 않습니다. 바뀌는 것은 학습이 어디서 **시작하고** 어떻게 **움직이는지**입니다. 보통의 초기화($W^Q$와
# $W^K$의 성분이 약 $1/\sqrt{d_\text{model}}$)에서는 어떤 폭에서든 점수의 분산이 약 1로 시작해 포화를
# 벗어나 있고, 한 폭에 맞는 학습률(learning rate)이 다른 폭에도 맞습니다. 스케일이 없으면 넓은 모델은 포화된
# 채로 시작하고(9절), 먼저 10절의 아주 작은 그래디언트로 $W^Q$를 줄여야 합니다. 이것은 초기화와 조건화의
# 문제이지, 모델이 무엇을 표현할 수 있느냐의 문제가 아닙니다. ($\div d_k$도 마찬가지입니다. 모델은 거의
# 균등한 가중치에서 시작해 $W^Q$를 키워 이를 되돌릴 수 있습니다.)
#
# ## 12. 직접 해 보기: d_k 슬라이더
#
# $d_k$를 움직이고 스케일을 켜고 꺼 보세요. 왼쪽: 무작위 키 16개에 대한 쿼리 하나의 가중치. 오른쪽: 이
# 표본의 그래디언트 크기 $\|J\|_F$(별)를 9절과 같은 중앙값 곡선(여기서는 표본 200개)과 비교합니다.
# "표본" 상자는 다른 무작위 쿼리와 키를 고릅니다.

# %% en="53486ce6d7" tags=["nbval-ignore-output"]
d_k_slider = widgets.SelectionSlider(
    options=list(SCALING_DK_CHOICES), value=16, description="d_k", continuous_update=False
)
scale_box = widgets.Checkbox(value=False, description="√d_k로 스케일")
seed_box = widgets.BoundedIntText(value=0, min=0, max=999, description="표본 (시드)")


def show_scaling(d_k: int, scaled: bool, seed: int) -> None:
    plot_scaling_demo(d_k, scaled, seed=seed)
    plt.show()


view = widgets.interactive_output(show_scaling, {"d_k": d_k_slider, "scaled": scale_box, "seed": seed_box})
display(widgets.VBox([widgets.HBox([d_k_slider, scale_box, seed_box]), view]))

# %% [markdown] en="234759e1b2"
# ## 연습 문제
#
# 이제 직접 작성해 봅니다. 각 `my_...` 함수의 본문을 채우고 그 아래 셀을 실행하세요. 채점기(checker)가 여러
# 입력(배치, 배치와 헤드, T_q ≠ T_k, 길이 1)으로 여러분의 함수를 호출해 `attn_lib`와 비교합니다. 노란색 =
# 아직 시도하지 않음, 빨간색 = 무언가 다름(흔한 실수라면 그 이름과 힌트를 알려 줍니다), 초록색 = 정답.
#
# ### 연습 문제(exercise) 1 · 안정한 소프트맥스
#
# `x`(모양은 무엇이든)의 마지막 축에 대한 소프트맥스를, 1000 같은 큰 성분에서도 오버플로되지 않고 `-inf`인
# 성분에는 가중치 0을 주도록 작성하세요. `torch.softmax`는 호출하지 마세요.
#
# 막히면 `show_solution("stable_softmax")`를 실행하세요(`from attn_lib.exercises import show_solution` 후).


# %% en="e6779e05ca"
def my_stable_softmax(x):
    """x의 마지막 축에 대한 소프트맥스, 모양은 x와 같음; 큰 x에서도 오버플로 없음."""
    ...  # 여기에 코드를 작성하세요


# %% en="f622cae39a"
from attn_lib.exercises import check_stable_softmax

check_stable_softmax(my_stable_softmax)

# %% [markdown] en="1f5899f69f"
# ### 연습 문제 2 · 스케일드 닷-프로덕트 어텐션
#
# `q` `(..., T_q, d_k)`, `k` `(..., T_k, d_k)`, `v` `(..., T_k, d_v)`에 대해
# $\text{Attention}(Q, K, V) = \text{softmax}(QK^\top/\sqrt{d_k})\,V$를 작성하세요. `...`는 배치 차원이
# 몇 개든 됩니다(예: `(B, H)`). `(output, weights)`, 즉 `(..., T_q, d_v)`와 `(..., T_q, T_k)`를
# 돌려주세요. (마스크는 수업 05에서 별도의 연습 문제와 함께 다룹니다.)
#
# 막히면 `show_solution("scaled_dot_product_attention")`.


# %% en="8424cf2a13"
def my_scaled_dot_product_attention(q, k, v):
    """q (..., T_q, d_k), k (..., T_k, d_k), v (..., T_k, d_v) -> (출력 (..., T_q, d_v), 가중치 (..., T_q, T_k))."""
    ...  # 여기에 코드를 작성하세요


# %% en="82673ce977"
from attn_lib.exercises import check_scaled_dot_product_attention

check_scaled_dot_product_attention(my_scaled_dot_product_attention)

# %% [markdown] en="d21ea66975"
# ## 요약
#
# - **행렬 형태**(주장 S2): $Q$ `(T_q, d_k)`, $K$ `(T_k, d_k)`, $V$ `(T_k, d_v)`일 때 점수 $QK^\top$는
#   `(T_q, T_k)`, 가중치 $\text{softmax}(QK^\top/\sqrt{d_k})$는 행의 합이 1인 `(T_q, T_k)`, 출력은
#   `(T_q, d_v)`입니다. 앞쪽 차원 `(B, H, ...)`는 배치 차원이고, 그 밖에는 아무것도 바뀌지 않습니다.
# - 우리가 쓴 줄들은 `attn_lib.scaled_dot_product_attention`과 같고, 이것은
#   `torch.nn.functional.scaled_dot_product_attention`과 float32 반올림 오차($\sim10^{-7}$) 범위에서 같습니다.
# - **안정한 소프트맥스**: 최댓값을 빼도 수학적으로는 아무것도 바뀌지 않지만 모든 지수가 ≤ 0으로 유지됩니다.
#   `softmax([1000, 1001, 1002])`는 단순하게 계산하면 `nan`, 안정하게 계산하면 `[0.090, 0.245, 0.665]`입니다.
# - **온도**: $\text{softmax}(x/\tau)$는 argmax($\tau\to0$)에서 균등($\tau\to\infty$)까지 변합니다.
#   ÷√d_k는 온도 √d_k입니다.
# - **왜 √d_k인가**(주장 S3), 측정 결과: $\operatorname{Var}(q\cdot k) \approx d_k$
#   ($d_k = 1024$에서 약 1028로 측정), $\operatorname{Var}(q\cdot k/\sqrt{d_k}) \approx 1$. 스케일이 없으면
#   $d_k = 1024$에서 가장 큰 가중치의 중앙값이 1.000, 엔트로피가 0, 소프트맥스 야코비안
#   $\|\partial p/\partial z\|_F \approx 10^{-5}$입니다(거의 동점인 표본만 그래디언트가 남음). 스케일을 쓰면
#   한 범위에 머물고(가장 큰 가중치 0.16–0.23, 엔트로피 2.4–2.6 nat, $\|J\|_F$ 약 0.3), 작은 $d_k$에서의
#   작은 변화는 쿼리 하나의 길이가 요동친 것입니다. 소프트맥스가 보는 점수의 분산은 $\lVert q\rVert^2/d_k$입니다.
#   $d_k$로 나누면 가중치가 균등해집니다.
# - 스케일은 $W^Q$ 안으로 접어 넣을 수 있습니다. 어텐션이 계산할 수 있는 것은 바뀌지 않고, 학습이 어디서
#   시작하는지(모든 폭에서 포화 밖)를 정합니다.
#
# ## 스스로 점검하기
#
# 1. $Q$는 `(2, 7, 10, 64)`, $K$는 `(2, 7, 12, 64)`입니다. $QK^\top$와 가중치의 모양은 무엇이고, 가중치는
#    어느 축을 따라 합이 1인가요?
# 2. 소프트맥스는 왜 가장 큰 점수를 빼도 되나요? float32에서 점수 `[1000, 1001, 1002]`에 대해 빼지 않으면
#    무엇이 잘못되나요?
# 3. 성분이 서로 독립이고 분산이 1일 때, $d_k = 400$이면 $q\cdot k$의 표준편차는 얼마인가요?
#    $q\cdot k/\sqrt{d_k}$는요?
# 4. 원-핫 소프트맥스 출력은 왜 점수 쪽으로 그래디언트를 전혀 전달하지 않나요?
# 5. 누군가 $\sqrt{d_k}$ 대신 $d_k$로 나눕니다. $d_k$가 커지면 가중치는 어떻게 되나요?
#
# <details><summary>답</summary>
#
# 1. $QK^\top$와 가중치는 `(2, 7, 10, 12)`입니다. 가중치는 마지막 축을 따라(12개의 키에 대해), 10개의
#    쿼리 각각에 대해 따로 합이 1입니다.
# 2. $e^{-c}$가 분자와 분모에서 약분되기 때문입니다. 빼지 않으면 float32에서 $e^{1000}$은 `inf`이고(한계는
#    약 $e^{88.7}$) `inf / inf`는 `nan`이 됩니다.
# 3. $\sqrt{400} = 20$; 나눈 뒤에는 1입니다.
# 4. 야코비안 $\operatorname{diag}(p) - pp^\top$가 $p = e_m$에서 정확히 0이고, 점수에 도달하는 모든
#    그래디언트는 $J^\top$에 가중치에 도달한 그래디언트를 곱한 것이기 때문입니다.
# 5. 그러면 점수의 표준편차가 $1/\sqrt{d_k}$가 되어 줄어듭니다. 가중치가 균등 쪽으로 흘러가고(온도 $d_k$는
#    너무 뜨겁습니다), 초기화 시점의 어텐션은 어떤 키도 거의 선호하지 않습니다(9절: $d_k = 1024$에서 가장 큰
#    가중치 0.07, 균등은 0.0625). 모델이 $W^Q$를 키워 되돌릴 수는 있지만(11절), 나쁜 출발점에서 시작합니다.
#
# </details>
