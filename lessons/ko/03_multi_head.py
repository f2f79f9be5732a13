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

# %% [markdown] en="7863114edd"
# # 03 · 멀티헤드 어텐션
#
# 스케일드 닷-프로덕트 어텐션(scaled dot-product attention) 하나(수업 02)는 쿼리(query)마다 키(key) 위의
# 분포를 **하나** 줍니다. 멀티헤드 어텐션(multi-head attention)은 이런 어텐션 여러 개를 **같은 입력 위에서
# 나란히** 실행합니다. 각각 자기 투영(projection)을 가지고 특징(feature)의 자기 몫에서 동작하며, 그 결과를
# 행렬 하나로 한 번 더 섞습니다.
#
# $$\text{MultiHead}(Q, K, V) = \text{Concat}(\text{head}_1, \dots, \text{head}_h)\,W^O,
#   \qquad \text{head}_i = \text{Attention}(Q W_i^Q,\; K W_i^K,\; V W_i^V)$$
#
# 여기서 $W_i^Q, W_i^K, W_i^V$의 모양(shape)은 `(d_model, head_dim)`, `head_dim = d_model / h`이고,
# $W^O$의 모양은 `(d_model, d_model)`입니다(논문: `d_model = 512`, `h = 8`, `head_dim = 64`).
#
# **학습 목표(learning goals).** 이 수업을 마치면 다음을 할 수 있습니다.
#
# 1. 멀티헤드 어텐션이 무엇을 계산하는지 정확히 말할 수 있습니다(시드 노트의 주장 S5). 헤드(head)는 깊이
#    방향으로 *쌓이는* 것이 아니라 **같은 입력 위에서 병렬로** 실행되고, 각각 `d_model / h`개 차원에서
#    동작하며, 그 연결(concatenation) 뒤에 $W^O$가 옵니다.
# 2. 정수 텐서(tensor)로 `split_heads` / `merge_heads`의 모양 바꾸기를 읽고, 오류 없이 틀리는 모양 바꾸기를
#    알아볼 수 있습니다.
# 3. 헤드에 대한 루프와 명시적인 가중치 조각으로 멀티헤드 어텐션을 만들고, 그것이 벡터화된
#    `attn_lib.MultiHeadAttention`과 같음을 보일 수 있습니다.
# 4. 파라미터 수와 FLOPs(부동소수점 연산 수)를 세고(전체 폭 헤드 하나와 같습니다), 헤드가 무엇을 얻어
#    주는지 말할 수 있습니다.
# 5. `attn_lib.MultiHeadAttention`이 `torch.nn.MultiheadAttention`과 일치함을 보일 수 있습니다.
# 6. 헤드 2개짜리 층(layer)의 가중치를 손으로 정해 한 헤드는 이전 토큰(token)을, 다른 헤드는 같은 토큰의 다른
#    사본을 보게 하고, 헤드 두 개가 몇 초의 학습(training)만으로 그런 규칙 두 개를 *학습하는* 것을 볼 수 있습니다.

# %% en="setup"
from attn_lib.i18n import set_language

set_language("ko")

# %% en="fc75619149"
import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import attn_lib
from attn_lib.i18n import pad
from attn_lib.viz import plot_attention, plot_attention_heads
from attn_lib.widgets import HEAD_MAP_D_MODEL, HEAD_MAP_TOKENS, head_map, plot_head_map
from attn_lib.widgets.lesson03 import train_neighbour_heads

torch.manual_seed(0)
torch.set_num_threads(1)  # 출력하는 합이 스레드 수에 따라 달라지지 않도록
torch.set_printoptions(precision=4, sci_mode=False)
print("torch", torch.__version__)

# %% [markdown] en="e7a4c747b3"
# ## 1. 특징을 헤드로 자르기: `split_heads`와 `merge_heads`
#
# 층 안에서는 모든 헤드의 h개 투영을 `(d_model, d_model)` 행렬 하나가 한꺼번에 계산합니다(2절). 그 출력
# `(B, T, D)`에는 모든 헤드의 특징이 나란히 들어 있습니다. 헤드 0이 특징 `0 … Dh-1`을, 헤드 1이 그다음
# `Dh`개를 갖는 식입니다. 어텐션을 하려면 헤드마다 자기 `(T, Dh)` 블록이 필요하므로 `(B, H, T, Dh)`로
# 모양을 바꿉니다. 어디서 왔는지 알려 주는 숫자를 쓰면 차원 배열이 눈에 보입니다. 시퀀스 `B = 2`개, 위치
# `T = 3`개, 특징 `D = 8`개, `Dh = 4`인 헤드 2개입니다.

# %% en="df97a9f62d"
x_int = torch.arange(2 * 3 * 8).view(2, 3, 8)  # (B, T, D) = (2, 3, 8): 성분 = 24*b + 8*t + 특징
print("시퀀스 0, 모양 (T, D) = (3, 8):\n", x_int[0])

# %% [markdown] en="2db8809c4f"
# `split_heads`는 두 단계로 이를 합니다. 먼저 `view`가 마지막 축을 `(H, Dh)`로 자르고, 이어서
# `transpose`가 헤드를 시간 앞으로 옮깁니다: `(B, T, D) -> (B, T, H, Dh) -> (B, H, T, Dh)`.

# %% en="40d59b2e4f"
step1 = x_int.view(2, 3, 2, 4)  # (B, T, H, Dh): 시간 단계마다 특징 8개를 2 x 4로 자름
heads = attn_lib.split_heads(x_int, num_heads=2)  # (B, H, T, Dh) = (2, 2, 3, 4)
torch.testing.assert_close(heads, step1.transpose(1, 2))
print("split_heads:", tuple(x_int.shape), "->", tuple(heads.shape))
print("시퀀스 0의 헤드 0, (T, Dh) = (3, 4): 모든 위치의 특징 0-3\n", heads[0, 0])
print("시퀀스 0의 헤드 1: 모든 위치의 특징 4-7\n", heads[0, 1])

# %% [markdown] en="791d36260b"
# 각 헤드는 **세 위치를 모두** 보지만, 자기 특징 네 개만 봅니다. 어텐션에 필요한 것이 바로 이것입니다.
# 헤드는 자기 몫 안에서 위치들을 서로 비교합니다.
#
# 함정: `x.view(B, H, T, Dh)`는 모양이 맞고, 오류도 나지 않지만, 틀렸습니다. view는 숫자를 옮기지 않고
# 순서대로 다시 읽을 뿐입니다. 숫자 24개를 `(H, T, Dh) = (2, 3, 4)`로 읽으면 "헤드 0"은 위치 0 전체와
# 위치 1의 절반을 받습니다.

# %% en="aa3dc03fd7"
wrong = x_int.view(2, 2, 3, 4)  # (B, "H", "T", "Dh"): split_heads와 모양은 같고 내용은 틀림
print("시퀀스 0의 틀린 '헤드 0':\n", wrong[0, 0])
print("split_heads와 모양이 같음:", wrong.shape == heads.shape, "  내용이 같음:", torch.equal(wrong, heads))

# %% [markdown] en="3c89c7e571"
# "위치 0" 행 `[0, 1, 2, 3]`은 우연히 맞지만, "위치 1" 행 `[4, 5, 6, 7]`은 실제로는 위치 0 특징의 뒤쪽
# 절반입니다. 이제 각 "헤드"가 서로 다른 위치의 특징을 섞으므로, 어텐션은 토큰이 아니라 토큰의 조각들을
# 비교하게 됩니다. 오류는 나지 않고 모든 모양이 맞습니다. 이런 확인만이 이를 찾아냅니다.
#
# `merge_heads`는 `split_heads`를 되돌립니다. `(B, T, H, Dh)`로 다시 전치한 뒤 헤드들을 이어 붙여
# `(B, T, D)`로 만듭니다. 이 이어 붙이기가 공식의 **연결(concatenation)** 입니다.

# %% en="d96c23b416"
merged = attn_lib.merge_heads(heads)  # (B, H, T, Dh) -> (B, T, H, Dh) -> (B, T, D)
print(
    "merge_heads:", tuple(heads.shape), "->", tuple(merged.shape), "  x와 같음:", torch.equal(merged, x_int)
)

# %% [markdown] en="60540d6da0"
# ## 2. 멀티헤드 어텐션, 헤드 하나씩
#
# 이제 진짜를 작게 만들어 봅니다. `d_model = 16`, `num_heads = 4`이므로 `head_dim = 4`이고, 무작위 벡터
# `T = 5`개로 된 시퀀스 하나에 적용합니다(셀프 어텐션(self-attention): 쿼리, 키, 밸류(value)가 모두 같은 `x`에서
# 나옵니다).
#
# `attn_lib.MultiHeadAttention`은 h개의 행렬 $W_i^Q$를 `q_proj`라는 `nn.Linear(16, 16)` 하나에 나란히
# 저장하고(`k_proj`, `v_proj`도 마찬가지), $W^O$는 `out_proj`에 저장합니다. `nn.Linear`는
# `x @ weight.T + bias`를 계산하고 `weight`의 모양은 `(out, in)`입니다. 따라서 헤드 i의 $W_i^Q$는
# `q_proj.weight`의 **행** `i*Dh : (i+1)*Dh`를 `(d_model, head_dim)`으로 전치한 것입니다.

# %% en="a0faf86774"
d_model, num_heads = 16, 4
head_dim = d_model // num_heads  # 4
mha = attn_lib.MultiHeadAttention(d_model, num_heads).eval()
x = torch.randn(1, 5, d_model)  # (B, T, D) = (1, 5, 16)


def head_slice(linear: nn.Linear, i: int) -> tuple[torch.Tensor, torch.Tensor]:
    """묶인 (D -> D) 투영 안에서 헤드 i의 W_i (D, Dh)와 b_i (Dh,)."""
    rows = slice(i * head_dim, (i + 1) * head_dim)
    return linear.weight[rows].T, linear.bias[rows]


W0_q, b0_q = head_slice(mha.q_proj, 0)
print("W_0^Q:", tuple(W0_q.shape), "= (d_model, head_dim)   b_0^Q:", tuple(b0_q.shape))

# %% [markdown] en="3dd55a34cd"
# 루프: 헤드마다 **같은** `x`의 투영 세 개, `head_dim = 4`개 차원 위의 스케일드 닷-프로덕트 어텐션 하나
# (수업 02의 `attn_lib.scaled_dot_product_attention`). 그다음 헤드들을 연결하고 $W^O$를 적용합니다.

# %% en="4b376f6989"
head_outputs, head_weights = [], []
for i in range(num_heads):
    W_q, b_q = head_slice(mha.q_proj, i)
    W_k, b_k = head_slice(mha.k_proj, i)
    W_v, b_v = head_slice(mha.v_proj, i)
    q_i, k_i, v_i = x @ W_q + b_q, x @ W_k + b_k, x @ W_v + b_v  # 각각 (1, 5, 4) = (B, T, Dh)
    out_i, w_i = attn_lib.scaled_dot_product_attention(q_i, k_i, v_i)  # (1, 5, 4), (1, 5, 5)
    head_outputs.append(out_i)
    head_weights.append(w_i)

concat = torch.cat(head_outputs, dim=-1)  # 4 x (1, 5, 4) -> (1, 5, 16): 헤드 i는 특징 4i..4i+3
by_hand = concat @ mha.out_proj.weight.T + mha.out_proj.bias  # W^O: (1, 5, 16)
print("헤드 하나의 출력:", tuple(head_outputs[0].shape), "  연결한 뒤:", tuple(concat.shape))
print("W^O 뒤:", tuple(by_hand.shape))

# %% [markdown] en="f07d0ff0e8"
# 벡터화된 층은 같은 일을 투영마다 행렬 곱 하나, `split_heads`, 모든 헤드 `(B, H, T, Dh)`에 대한 배치
# 어텐션 하나, 그리고 `merge_heads`로 합니다. 숫자도 같습니다.

# %% en="09d6e14335"
out, weights = mha(x, x, x)  # (B, T, D) = (1, 5, 16), (B, H, T, T) = (1, 4, 5, 5)
torch.testing.assert_close(out, by_hand)
torch.testing.assert_close(weights, torch.stack(head_weights, dim=1))
print(
    "헤드 루프 == attn_lib.MultiHeadAttention: 출력",
    tuple(out.shape),
    "가중치",
    tuple(weights.shape),
)
print("max |차이| < 1e-6:", (out - by_hand).abs().max().item() < 1e-6)

# %% [markdown] en="6a8168ede6"
# **쌓는 것이 아니라 나란히.** 시드 노트는 이것을 "h번 쌓은 스케일드 닷-프로덕트 어텐션"이라고 부르지만,
# 쌓은 것이 아닙니다. 어떤 헤드도 다른 헤드의 출력을 읽지 않고, 모두 `x`를 읽습니다. autograd가 벡터화된
# 층 자체에서 이를 확인해 줍니다(우리 루프는 구조상 헤드 0의 행만 읽으므로 아무것도 증명하지 못합니다).
# 순전파 훅(forward hook)으로 $W^O$의 입력, 즉 연결된 헤드들을 잡아서 그중 헤드 0의 블록을 미분합니다. 이
# 블록은 다른 헤드의 가중치에 *전혀* 의존하지 않고(그래디언트가 정확히 0), 자기 가중치에는 의존합니다.

# %% en="06baba73ae"
captured = []  # out_proj의 입력, 즉 모든 헤드의 merge_heads(...): (B, T, D)
hook = mha.out_proj.register_forward_pre_hook(lambda module, args: captured.append(args[0]))
mha.zero_grad()
mha(x, x, x)  # 그래디언트를 켠 벡터화된 층
hook.remove()
concat_in_layer = captured[0]  # (1, 5, 16); 헤드 i는 특징 4i .. 4i+3
concat_in_layer[..., :head_dim].sum().backward()  # 층 안에서 W^O 전의 헤드 0 출력
for name, proj in [("W^Q", mha.q_proj), ("W^K", mha.k_proj), ("W^V", mha.v_proj)]:
    grad = proj.weight.grad  # (16, 16); 행 4i .. 4i+3은 헤드 i의 것
    sizes = [grad[i * head_dim : (i + 1) * head_dim].abs().sum().item() for i in range(num_heads)]
    print(f"헤드 i = 0..3에 대해 |d 헤드 0 출력 / d {name}_i|가 정확히 0인가:", [v == 0.0 for v in sizes])

# %% [markdown] en="34cedd2c48"
# 다른 헤드에 대해서는 작은 것이 아니라 0입니다(모든 컴퓨터에서 정확히 0: 그 가중치들은 헤드 0의 산술에
# 아예 들어가지 않습니다). h개의 헤드는 같은 입력 위의 독립적인 어텐션 h개이고, 그래서 동시에 계산할 수
# 있습니다(위에서 본 `H` 축에 대한 배치 곱 하나). 연결 뒤의 $W^O$만이 이들을 섞습니다.
#
# 여기까지가 순전파(forward pass)입니다. **학습**에서는 헤드들이 독립적이지 않습니다. 손실(loss)은 $W^O$
# *뒤의* 출력으로 계산되므로, 헤드 0에 도달하는 그래디언트(gradient)는 다른 헤드들이 무엇을 출력하는지에
# 달려 있습니다. 시드 노트의 "헤드들은 병렬로 학습된다"는 계산에는 맞지만 학습에는 맞지 않습니다. 숫자
# 하나로 보겠습니다. 층의 출력에 제곱 오차 손실을 두고, 헤드 1의 $W^V$(`v_proj`의 행 4–7)만 바꾼 다음, 헤드
# 0의 $W^Q$의 그래디언트가 얼마나 움직이는지 봅니다.

# %% en="7ff0503f0b"
target = torch.randn(1, 5, d_model, generator=torch.Generator().manual_seed(5))  # (B, T, D)


def head0_query_grad() -> torch.Tensor:
    """헤드 0의 W^Q 행들에 대한 ||out - target||²의 그래디언트, (Dh, D)."""
    mha.zero_grad()
    out_now, _ = mha(x, x, x)  # (1, 5, 16)
    ((out_now - target) ** 2).sum().backward()
    return mha.q_proj.weight.grad[:head_dim].clone()  # 행 0..3은 헤드 0의 것


grad_before = head0_query_grad()
saved = mha.v_proj.weight.detach().clone()
with torch.no_grad():  # 헤드 1의 W^V만 바꿈 (행 4..7)
    mha.v_proj.weight[head_dim : 2 * head_dim] += torch.randn(
        head_dim, d_model, generator=torch.Generator().manual_seed(6)
    )
grad_after = head0_query_grad()
with torch.no_grad():
    mha.v_proj.weight.copy_(saved)  # 층을 원래대로 돌려놓음
mha.zero_grad()
change = ((grad_after - grad_before).norm() / grad_before.norm()).item()
print(f"헤드 1의 W^V만 바꿨을 때 헤드 0의 W^Q 그래디언트가 변한 정도: {change:.0%}")
assert change > 0.1

# %% [markdown] en="b4e2474cc1"
# 헤드 0의 출력은 전혀 바뀌지 않았지만(위의 순전파 확인), 그 그래디언트는 큰 비율로 움직였습니다. $W^O$와
# 손실을 거쳐, 각 헤드의 학습 신호는 다른 모든 헤드에 달려 있습니다. 헤드들은 병렬로 *계산되고* 함께
# *학습됩니다*.
#
# ## 3. 헤드의 비용과 이득
#
# **파라미터.** $W^Q, W^K, W^V$는 각각 `(d_model, head_dim)` 블록 `h`개이고, `h`가 무엇이든 합치면 각각
# `(d_model, d_model)`입니다. $W^O$는 `(d_model, d_model)`입니다. 따라서 헤드 수가 **몇 개든** 가중치
# $4\,d_\text{model}^2$개와 편향 $4\,d_\text{model}$개이고, 이는 전체 폭(`head_dim = d_model`) 헤드 **하나**와
# 그 $W^O$의 비용과 정확히 같습니다.
#
# **FLOPs.** 투영: 곱셈-덧셈 $4 \cdot T \cdot d_\text{model}^2$번으로 `h`와 무관합니다. 점수(score)와 가중합:
# `h`개 헤드 각각이 곱셈-덧셈 `T² · head_dim`번을 두 번 하므로, 합계 `h · 2 T² · head_dim`
# $= 2\,T^2 d_\text{model}$로 역시 `h`와 무관합니다. PyTorch의 `FlopCounterMode`가 행렬 곱을 셉니다(곱셈-덧셈
# 하나에 2 FLOPs).

# %% en="7985e1e609"
D, T = 64, 10
x64 = torch.randn(1, T, D)  # (B, T, D) = (1, 10, 64)
columns = [("num_heads", 9), ("head_dim", 8), ("파라미터 수", 11), ("행렬곱 FLOPs", 12)]  # (label, width)
print("  ".join(pad(label, width, ">") for label, width in columns), "(T = 10)")
for h in [1, 2, 4, 8, 16]:
    layer = attn_lib.MultiHeadAttention(D, h)
    with FlopCounterMode(display=False) as counter:
        layer(x64, x64, x64)
    n_params = sum(p.numel() for p in layer.parameters())
    print(f"{h:9d}  {D // h:8d}  {n_params:11d}  {counter.get_total_flops():12d}")
print("4 D^2 + 4 D =", 4 * D * D + 4 * D, "   2 * (4 T D^2 + 2 T^2 D) =", 2 * (4 * T * D * D + 2 * T * T * D))

# %% [markdown] en="0be7aadf6d"
# 모든 행이 같습니다. (세지 않은 것: 소프트맥스(softmax)는 가중치마다 지수 함수 하나이므로 `h`배 많은
# `h · T²`개이고, 가중치 맵도 하나가 아니라 `h`개를 저장합니다.)
#
# **얻는 것: 분포 하나 대신 h개.** `d_model`개 특징 위의 내적(dot product)은 조각별 내적의 합입니다. 따라서
# 같은 투영을 받은 전체 폭 헤드 하나는 헤드별 점수의 정확히 **합**인 점수를 계산하고($1/\sqrt{\cdot}$ 인자를
# 빼면) 그것을 소프트맥스 **하나**에 넣습니다.

# %% en="7a98a31899"
q = attn_lib.split_heads(mha.q_proj(x), num_heads)  # (1, 4, 5, 4) = (B, H, T, Dh)
k = attn_lib.split_heads(mha.k_proj(x), num_heads)  # (1, 4, 5, 4)
full_scores = mha.q_proj(x) @ mha.k_proj(x).transpose(-2, -1)  # (1, 5, 5): 특징 16개 전체에 대한 내적
per_head_scores = q @ k.transpose(-2, -1)  # (1, 4, 5, 5): 헤드마다 특징 4개에 대한 내적
torch.testing.assert_close(full_scores, per_head_scores.sum(dim=1))
print("특징 16개에 대한 q·k == 헤드 4개에 걸친, 특징 4개에 대한 q_h·k_h의 합: True")

# %% [markdown] en="a167d16628"
# 합의 소프트맥스는 소프트맥스들의 혼합이 아닙니다. 헤드 하나는 쿼리마다 위치 위의 분포 하나를 줍니다.
# 서로 다른 두 이유로 두 곳을 봐야 한다면, 가중치를 나누어 찾아낸 두 밸류를 *평균*하는 수밖에 없습니다.
# 헤드가 `h`개이면 쿼리마다 분포 `h`개와 따로따로인 결과 `h`개를 얻고, $W^O$가 이를 원하는 대로 조합할 수
# 있습니다. 5절에서 바로 그런 경우를 만듭니다. Vaswani 외(2017, 표 3, A행)는 영어-독일어 개발 세트에서 폭
# 512인 헤드 하나가 폭 64인 헤드 여덟 개보다 BLEU가 0.9 낮았고, 폭 16인 헤드 32개는 다시 더 나빴다고
# 보고합니다. 헤드도 위치를 잘 비교하려면 차원이 충분해야 합니다. (이는 논문의 측정을 인용한 것이며, 여기서
# 그 모델을 다시 학습하지는 않습니다.)
#
# ## 4. `attn_lib.MultiHeadAttention`은 `torch.nn.MultiheadAttention`과 일치한다
#
# PyTorch의 층은 $W^Q, W^K, W^V$를 모양 `(3 d_model, d_model)`인 `in_proj_weight` 하나에 행 방향으로
# 묶습니다. `MultiHeadAttention.from_torch`는 세 블록을 `q_proj`, `k_proj`, `v_proj`(그리고
# `out_proj`)로 복사합니다. 그러면 둘은 같은 출력과 같은 가중치를 내야 합니다. 헤드별로
# (`average_attn_weights=False`), 그리고 헤드에 대해 평균해서(기본값). 크로스 어텐션(cross-attention)의
# 모양, 즉 쿼리 `T_q = 5`개 대 키 `T_k = 7`개로 시험합니다.

# %% en="c27b39cfc5"
torch.manual_seed(1)
torch_mha = nn.MultiheadAttention(d_model, num_heads, batch_first=True).eval()
ours = attn_lib.MultiHeadAttention.from_torch(torch_mha).eval()
query = torch.randn(2, 5, d_model)  # (B, T_q, D)
memory = torch.randn(2, 7, d_model)  # (B, T_k, D): 키와 밸류

out_t, w_t = torch_mha(query, memory, memory, average_attn_weights=False)  # (2, 5, 16), (2, 4, 5, 7)
_, w_t_avg = torch_mha(query, memory, memory)  # (2, 5, 7): 헤드에 대해 평균
out_o, w_o = ours(query, memory, memory)  # (2, 5, 16), (2, 4, 5, 7)
torch.testing.assert_close(out_o, out_t)
torch.testing.assert_close(w_o, w_t)
torch.testing.assert_close(w_o.mean(dim=1), w_t_avg)
print("출력", tuple(out_o.shape), "max |diff| < 1e-6:", (out_o - out_t).abs().max().item() < 1e-6)
print("헤드별 가중치", tuple(w_o.shape), "max |diff| < 1e-6:", (w_o - w_t).abs().max().item() < 1e-6)
print("헤드 평균 가중치", tuple(w_t_avg.shape), "ours.mean(dim=1)과 같음: True")

# %% [markdown] en="d11b8e92cf"
# 기억할 차이가 하나 있습니다. `torch.nn.MultiheadAttention`에서 **불리언 마스크(mask)의 뜻은 반대**입니다
# (True = *막힘*). `attn_lib`와 `torch.nn.functional.scaled_dot_product_attention`에서는 True = *어텐션할 수
# 있음*입니다. `attn_lib.to_torch_mha_mask`가 이를 뒤집습니다. 잊었을 때 생기는 조용한 버그는 수업 05에서
# 봅니다.

# %% en="1a35e2b4b5"
mask = attn_lib.causal_mask(5)  # (T_q, T_k) = (5, 5), True = 어텐션할 수 있음
out_t, _ = torch_mha(query, query, query, attn_mask=attn_lib.to_torch_mha_mask(mask))
out_o, _ = ours(query, query, query, mask=mask)
torch.testing.assert_close(out_o, out_t)
print("to_torch_mha_mask로 변환한 인과 마스크를 쓰면: 같음")

# %% [markdown] en="9b015585d9"
# ## 5. 손으로 정한 두 헤드, 두 규칙
#
# 학습된 모델의 헤드는 알아볼 수 있는 규칙을 따르는 경우가 많습니다(이전 토큰을 본다, 이 토큰의 앞선 사본을
# 본다, ...). 6절에서는 헤드 두 개를 학습시키고 확인합니다. 먼저 학습 없이 가중치를 직접 골라 그런 헤드 두
# 개를 *만들고* 지켜봅니다. 시퀀스에는 반복되는 토큰이 있습니다.

# %% en="ed7b4c401d"
words = "a b c a b d a c".split()
vocab = ["a", "b", "c", "d"]
T, V = len(words), len(vocab)  # 위치 8개, 토큰 종류 4개
token_ids = torch.tensor([vocab.index(w) for w in words])  # (T,)
print(list(zip(range(T), words, strict=True)))

# %% [markdown] en="0273944ad2"
# 각 위치의 벡터 `x`(`d_model = 16`)에는 원-핫 코드 두 개가 들어 있습니다. 특징 0–3은 **어떤 토큰**인지,
# 특징 4–11은 **어떤 위치**인지 나타냅니다(특징 12–15는 0).

# %% en="17e222d7b8"
D2, H2 = 16, 2
head_dim2 = D2 // H2  # 8
x_hand = torch.zeros(1, T, D2)  # (B, T, D) = (1, 8, 16)
x_hand[0, torch.arange(T), token_ids] = 1.0  # 토큰 원-핫: 특징 0..3
x_hand[0, torch.arange(T), V + torch.arange(T)] = 1.0  # 위치 원-핫: 특징 4..11
print("위치 3(토큰 'a')의 x:", x_hand[0, 3].int().tolist())

# %% [markdown] en="7af6edcf0a"
# 이제 가중치입니다. 각 투영의 행 0–7에 헤드 0, 행 8–15에 헤드 1을 둡니다(2절). 인자 `c = 8`을 쓰면 맞는
# 쿼리–키 쌍의 점수는 $c^2/\sqrt{8} \approx 22.6$, 다른 모든 쌍은 0이므로, 소프트맥스는 사실상 맞는 쌍 위의
# 원-핫입니다($e^{-22.6} \approx 10^{-10}$).
#
# - **헤드 0, "이전 토큰"**: 위치 i의 쿼리는 $c\,e_i$, 위치 j의 키는 $c\,e_{j+1}$이므로 $q_i \cdot k_j$는
#   정확히 $j = i - 1$일 때 큽니다. 밸류는 토큰 원-핫을 복사하므로, 헤드 0은 **이전 토큰**을 출력합니다.
# - **헤드 1, "같은 토큰"**: 쿼리와 키가 모두 토큰 원-핫의 $c$배이므로, $q_i \cdot k_j$는 정확히 위치 i와 j에
#   같은 토큰이 있을 때(i 자신 포함) 큽니다. 밸류는 위치 원-핫을 복사하므로, 헤드 1은 **이 토큰이 또 어디에
#   있는지**를 출력합니다.
# - $W^O$ = 단위 행렬: 출력은 단순한 연결로, 특징 0–7은 헤드 0, 8–15는 헤드 1에서 옵니다.

# %% en="0bb916a6c9"
c = 8.0
hand = attn_lib.MultiHeadAttention(D2, H2, bias=False).eval()
with torch.no_grad():
    for p in hand.parameters():
        p.zero_()
    for i in range(T):  # 헤드 0 (행 0..7): "이전 위치"
        hand.q_proj.weight[i, V + i] = c  # q_i = c * e_i
    for j in range(T - 1):
        hand.k_proj.weight[j + 1, V + j] = c  # k_j = c * e_{j+1}
    for t in range(V):
        hand.v_proj.weight[t, t] = 1.0  # v_j = j의 토큰 원-핫
    for t in range(V):  # 헤드 1 (행 8..15): "같은 토큰"
        hand.q_proj.weight[head_dim2 + t, t] = c  # q_i = c * 토큰 원-핫
        hand.k_proj.weight[head_dim2 + t, t] = c  # k_j = c * 토큰 원-핫
    for i in range(T):
        hand.v_proj.weight[head_dim2 + i, V + i] = 1.0  # v_j = j의 위치 원-핫
    hand.out_proj.weight.copy_(torch.eye(D2))  # W^O = 단위 행렬

out_hand, w_hand = hand(x_hand, x_hand, x_hand)  # (1, 8, 16), (1, 2, 8, 8)
print("출력", tuple(out_hand.shape), " 가중치", tuple(w_hand.shape), "= (B, H, T, T)")

# %% en="905c392ccb"
fig = plot_attention_heads(
    w_hand[0],
    query_labels=[f"{i}:{w}" for i, w in enumerate(words)],
    key_labels=[f"{i}:{w}" for i, w in enumerate(words)],
    title="같은 입력, 헤드 둘, 규칙 둘: 헤드 0은 한 위치 앞을, 헤드 1은 같은 토큰의 사본을 봅니다",
)
fig.set_size_inches(10, 4.2)
for ax in fig.axes:
    ax.tick_params(labelsize=8)
fig.axes[0].set_title("헤드 0: 이전 위치")
fig.axes[1].set_title("헤드 1: 같은 토큰")
fig.tight_layout()
fig.colorbar(fig.axes[1].images[0], ax=fig.axes, fraction=0.025, pad=0.02, label="가중치")
plt.show()

# %% [markdown] en="7cd2ba5d75"
# 그림이 곧 규칙입니다. 이제 숫자를 봅시다. 위치 0에는 이전 위치가 없으므로 헤드 0의 점수가 모두 0이고, 가중치는
# 균등하게 각각 $1/8$입니다. 헤드 0의 다른 모든 행은 가중치를 i − 1에 두고, 헤드 1의 모든 행은 같은 토큰이
# 있는 위치들에 둡니다.

# %% en="0e02315ad2"
w0, w1 = w_hand[0, 0], w_hand[0, 1]  # 각각 (T, T)
on_previous = w0[torch.arange(1, T), torch.arange(0, T - 1)]  # 행 i가 키 i-1에 둔 가중치, i = 1..7
same_token = token_ids[:, None] == token_ids[None, :]  # (T, T) bool
print("헤드 0, 이전 위치에 둔 가중치, 행 1..7:", [round(v, 6) for v in on_previous.tolist()])
print("헤드 0, 행 0:", [round(v, 3) for v in w0[0].tolist()])
print(
    "헤드 1, 같은 토큰 위치에 둔 가중치, 행마다:",
    [round(v, 6) for v in (w1 * same_token).sum(-1).tolist()],
)
print("헤드 1, 행 0 ('a'는 0, 3, 6에):", [round(v, 3) for v in w1[0].tolist()])
assert bool((on_previous > 0.999).all()) and bool(((w1 * same_token).sum(-1) > 0.999).all())

# %% [markdown] en="756ecefb4d"
# 그리고 출력에는 규칙이 찾아낸 것이 담깁니다. 특징 0–3(헤드 0)은 이전 토큰의 원-핫이고, 특징 8–15(헤드 1)는
# 같은 토큰의 위치 $n$개에 $1/n$씩 퍼져 있습니다. 특징 0–3에서 **이전 토큰의 몫** `out[i, token_ids[i-1]]`은
# 위치 i가 "내 앞에 어떤 토큰이 왔는가"를 얼마나 깔끔하게 읽을 수 있는지를 잽니다. 1이면 완벽합니다.

# %% en="2341f67885"
prev_read = [vocab[int(v)] for v in out_hand[0, 1:, :V].argmax(-1)]  # 헤드 0이 읽어 낸 것, 위치 1..7
prev_share = out_hand[0, torch.arange(1, T), token_ids[:-1]]  # (7,): 실제 이전 토큰의 가중치
print("토큰                     :", words)
print("헤드 0이 읽은 것 (1..7)  :", ["-", *prev_read])
print("이전 토큰의 몫           :", [round(v, 3) for v in prev_share.tolist()])
assert prev_read == words[:-1]
print("위치 1('b')의 헤드 1: 위치마다의 가중치", [round(v, 2) for v in out_hand[0, 1, 8:].tolist()])

# %% [markdown] en="3f2c034e3a"
# **같은 가중치를 헤드 하나에.** 전체 폭 헤드 하나(`num_heads = 1`, `head_dim = 16`)에 정확히 이
# 파라미터를 줍니다. 그 점수는 두 헤드 점수의 *합*이고(3절), $\sqrt{8}$이 아니라 $\sqrt{16}$으로 나뉘며,
# 소프트맥스 하나가 두 규칙을 모두 맡아야 합니다. 각 행은 가중치를 이전 위치와 같은 토큰 위치들 사이에
# 나누고, 그 출력은 뒤섞인 것이 됩니다.

# %% en="31de3a13de"
single = attn_lib.MultiHeadAttention(D2, 1, bias=False).eval()
single.load_state_dict(hand.state_dict())  # 바로 그 네 행렬
out_single, w_single = single(x_hand, x_hand, x_hand)  # (1, 8, 16), (1, 1, 8, 8)
share_single = out_single[0, torch.arange(1, T), token_ids[:-1]]  # (7,)
print("이전 토큰의 몫, 헤드 하나  :", [round(v, 3) for v in share_single.tolist()])
print(
    "토큰 자신의 몫, 헤드 하나  :",
    [round(v, 3) for v in out_single[0, torch.arange(1, T), token_ids[1:]].tolist()],
)
print("헤드 하나, 행 1 ('b'): 가중치", [round(v, 3) for v in w_single[0, 0, 1].tolist()])

fig, ax = plt.subplots(figsize=(6, 4.2))
labels = [f"{i}:{w}" for i, w in enumerate(words)]
plot_attention(
    w_single[0, 0], labels, labels, title="헤드 하나, 같은 가중치: 두 규칙이 하나의 맵으로 흐려집니다", ax=ax
)
plt.show()

# %% [markdown] en="17ad787cb3"
# 헤드가 하나이면 이전 토큰은 읽어 낸 값의 4분의 1에서 절반 사이를 받고, (같은 토큰 규칙으로 찾은) 토큰
# 자신도 그만큼 또는 그 이상을 받습니다. 두 답이 한 벡터로 평균됩니다. 폭이 절반인 헤드 두 개를 쓰면,
# 파라미터 수는 같은데도 규칙마다 자기 소프트맥스와 자기 출력이 있어 둘 다 깔끔하게 읽힙니다. 논문은 이를 한
# 문장으로 말합니다. "멀티헤드 어텐션은 모델이 서로 다른 위치의 서로 다른 표현 부분공간에서 오는 정보에 함께
# 어텐션할 수 있게 합니다. 어텐션 헤드가 하나이면 평균이 이를 가로막습니다."
#
# ## 6. 학습된 두 헤드: 스스로 규칙을 찾을까?
#
# 이번에는 손으로 정한 가중치가 없습니다. 헤드 2개짜리 `attn_lib.MultiHeadAttention`(`d_model = 16`: 토큰
# 종류 8개의 원-핫과 위치 8개의 원-핫을 나란히)과 선형 읽기 층을, 토큰 8개로 된 무작위 시퀀스에서 모든 위치
# i마다 **양쪽 이웃**, 즉 i − 1의 토큰과 i + 1의 토큰을 출력하도록 Adam으로 학습시킵니다. 어느 헤드가 무엇을
# 해야 하는지는 아무도 알려 주지 않습니다. `train_neighbour_heads`(`attn_lib.widgets.lesson03`에 있음)는
# 300단계를 약 2초 동안 실행한 뒤 **헤드마다 점수를 매깁니다**. 이전 키(맵의 아래 대각선), 자기 자신(대각선),
# 다음 키(위 대각선)에 둔 평균 가중치입니다. 정확한 숫자는 학습 중 CPU의 반올림에 따라 달라지므로, 셀은
# 숫자를 보여 주기만 하고 반드시 성립해야 하는 것만 단언(assert)합니다.

# %% en="0da6421751" tags=["nbval-ignore-output"]
trained = train_neighbour_heads(seed=0, steps=300)
print(f"학습 손실: 첫 단계 {trained['losses'][0]:.2f}, 마지막 단계 {trained['losses'][-1]:.4f}")
rule_label = {"previous (i-1)": "이전 위치 (i-1)", "same (i)": "같은 위치 (i)", "next (i+1)": "다음 위치 (i+1)"}  # 표에 보이는 이름 (키는 영어 그대로)
readout_label = {"previous": "이전 토큰", "next": "다음 토큰"}
print("읽기 정확도:", ", ".join(f"{readout_label[k]} {v:.0%}" for k, v in trained["accuracy"].items()))
print(pad("키 위치별 평균 가중치", 29), pad("헤드 0", 8, ">"), pad("헤드 1", 8, ">"))
for rule, score in trained["scores"].items():
    print(f"  {pad(rule_label[rule], 27)} {score[0].item():8.2f} {score[1].item():8.2f}")
prev_head = int(trained["scores"]["previous (i-1)"].argmax())
next_head = int(trained["scores"]["next (i+1)"].argmax())
assert prev_head != next_head  # 두 규칙이 서로 다른 헤드로 감
assert trained["scores"]["previous (i-1)"][prev_head] > 0.7 and trained["scores"]["next (i+1)"][next_head] > 0.7
assert min(trained["accuracy"].values()) > 0.95

# %% [markdown] en="772da148e5"
# 저장된 실행에서는 한 헤드가 가중치의 약 0.9를 이전 키에, 다른 헤드가 약 0.9를 다음 키에 두었고, 양쪽
# 이웃이 모두 거의 완벽하게 읽혔습니다. 헤드들이 **일을 나누어**, 각자 위치 규칙 하나씩을 학습한 것입니다.
# (어느 헤드가 어느 규칙을 맡는지는 시드에 달려 있으므로, 단언은 둘이 다르다는 것만 확인합니다.) 아래는
# 새 시퀀스 256개에 대해 평균한 맵입니다. 그런 이웃이 없는 양 끝 두 행은 반대쪽을 봅니다.

# %% en="a9304cfed0"
rule_of = {prev_head: "이전 위치 (i−1)", next_head: "다음 위치 (i+1)"}
fig = plot_attention_heads(
    trained["weights"],
    [str(i) for i in range(8)],
    [str(i) for i in range(8)],
    title="양쪽 이웃을 맞히도록 학습하자 두 헤드가 일을 나눕니다: 하나는 i−1에, 다른 하나는 i+1에 어텐션",
)
fig.set_size_inches(10, 4.2)
for h, ax in enumerate(fig.axes[:2]):
    ax.set_title(f"헤드 {h}: {rule_of[h]}")
fig.tight_layout()
fig.colorbar(fig.axes[1].images[0], ax=fig.axes, fraction=0.025, pad=0.02, label="가중치 (256개 평균)")
plt.show()

# %% [markdown] en="a3ec244a34"
# 실제 언어 모델(language model)의 헤드도 같은 방식으로 점수를 매깁니다(이전 토큰에, 현재 토큰의 앞선 사본에
# 가중치를 얼마나 두는가, ...). "이전 토큰 헤드"는 가장 먼저 발견된 것 중 하나입니다. 여기서는 과제가 규칙을
# 만들었습니다. 그림이 보여 주는 것은, 소프트맥스가 따로따로이기 때문에 두 헤드가 서로 다른 두 규칙에 동시에
# 자리 잡을 수 있다는 점입니다.
#
# 수업 10은 그런 규칙이 그것을 위해 만든 과제 없이도 생기는 것을 보여 줍니다. 반복되는 무작위 텍스트로 학습한
# 2층 언어 모델이 층 0에 이전 토큰 헤드를, 층 1에 인덕션 헤드(induction head)를 키우고, 같은 종류의 점수로
# 찾아내며, 그 헤드들을 꺼서 확인합니다.
#
# ## 7. 직접 해 보기: num_heads가 같은 특징을 자르는 방식
#
# 무작위 임베딩(embedding)(에 사인파 위치 인코딩(positional encoding)을 더한 것, 수업 04)을 가진 토큰 10개짜리
# 문장과, 모양 `(32, 32)`인 무작위 $W^Q, W^K$ 한 쌍을 **고정**해 둡니다. `num_heads`를 바꾸면 32개 특징을
# 자르는 방식만 바뀝니다. 폭 32인 헤드 1개, 16인 헤드 2개, 8인 헤드 4개, 4인 헤드 8개. 가중치가 무작위이므로
# 맵 자체에는 의미가 없습니다. 볼 것은 헤드마다 자기 맵이 있다는 것과 `head_dim = d_model / num_heads`라는
# 것입니다.
#
# 밝혀 둘 것이 하나 있습니다. `head_map`은 $W^Q$와 $W^K$를 **새로 만든 층보다 크게** 뽑습니다(성분
# $N(0, (1.5/\sqrt{32})^2)$, `attn_lib.MultiHeadAttention`이 쓰는 `nn.Linear` 기본 초기화의 표준편차의 약
# 2.6배). 그래서 점수가 약 7배 크고 맵이 뾰족해서, 헤드 사이의 차이가 잘 보입니다. 실제 초기화에서는 맵이
# 균등에 가깝습니다. 수업 04에서 보게 됩니다.

# %% en="00e78d57da"
for init in ("sharp", "library"):
    w_init = head_map(num_heads=4, head=0, seed=0, init=init)["all_weights"]  # (H, T, T)
    print(f'init="{init}": 행마다 가장 큰 가중치의 평균 {w_init.amax(-1).mean().item():.2f}  (균등: 0.10)')

# %% [markdown] en="da9809c4ef"
# 위젯(widget)의 더 뾰족한 가중치로 본 `num_heads = 4`의 헤드 네 개 전부:

# %% en="3f3bf2622e"
r = head_map(num_heads=4, head=0, seed=0)
print("d_model =", r["d_model"], " num_heads =", r["num_heads"], " head_dim =", r["head_dim"])
print("모든 헤드의 가중치:", tuple(r["all_weights"].shape), "= (H, T, T)")
fig = plot_attention_heads(
    r["all_weights"],
    HEAD_MAP_TOKENS,
    HEAD_MAP_TOKENS,
    title="무작위(일부러 크게 뽑은) 가중치, 8차원 헤드 4개: 서로 다른 맵 네 개",
)
fig.set_size_inches(12, 3.8)
fig.tight_layout()
fig.colorbar(fig.axes[0].images[0], ax=fig.axes, fraction=0.015, pad=0.01, label="가중치")
plt.show()

# %% [markdown] en="6d4663d9cc"
# 이제 헤드 수와 헤드를 골라 보세요. 맵 아래의 띠는 그 헤드가 q와 k의 32개 특징 중 어느 것을 읽는지 보여 줍니다.

# %% en="546090b85e" tags=["nbval-ignore-output"]
heads_dd = widgets.Dropdown(
    options=[h for h in (1, 2, 4, 8) if HEAD_MAP_D_MODEL % h == 0], value=4, description="num_heads"
)
head_slider = widgets.IntSlider(value=0, min=0, max=3, description="헤드", continuous_update=False)


def fit_head_slider(change: dict) -> None:
    head_slider.max = change["new"] - 1  # 헤드 0 .. num_heads-1 (필요하면 값이 범위 안으로 조정됨)


heads_dd.observe(fit_head_slider, names="value")


def show_head(num_heads: int, head: int) -> None:
    plot_head_map(num_heads, head)
    plt.show()


view = widgets.interactive_output(show_head, {"num_heads": heads_dd, "head": head_slider})
display(widgets.VBox([widgets.HBox([heads_dd, head_slider]), view]))

# %% [markdown] en="59bdcbe80d"
# ## 연습 문제
#
# 이제 직접 작성해 봅니다. 각 `my_...` 함수의 본문을 채우고 그 아래 셀을 실행하세요. 채점기(checker)가 여러
# 입력으로 여러분의 함수를 호출해 `attn_lib`와 비교합니다. 노란색 = 아직 시도하지 않음, 빨간색 = 무언가
# 다름(흔한 실수라면 그 이름과 힌트를 알려 줍니다), 초록색 = 정답.
#
# ### 연습 문제(exercise) 1 · 헤드 나누기
#
# `x`의 모양은 `(B, T, D)`입니다. 특징을 `head_dim = D // num_heads`개씩 연속된 조각 `num_heads`개로 자르고
# (헤드 `i`가 특징 `i·head_dim … (i+1)·head_dim − 1`을 가짐), 헤드가 시간 앞에 오는 `(B, H, T, head_dim)`을
# 돌려주세요.
#
# 막히면 `show_solution("split_heads")`를 실행하세요(`from attn_lib.exercises import show_solution` 후).


# %% en="f544419445"
def my_split_heads(x, num_heads):
    """(B, T, D) -> (B, H, T, Dh)."""
    ...  # 여기에 코드를 작성하세요


# %% en="c981aad441"
from attn_lib.exercises import check_split_heads

check_split_heads(my_split_heads)

# %% [markdown] en="d4e1b31dff"
# ### 연습 문제 2 · 헤드 합치기
#
# 역연산입니다: `(B, H, T, head_dim)` → `(B, T, H·head_dim)`, 헤드들의 출력을 나란히(헤드 0의 특징이 먼저).
# `my_merge_heads(my_split_heads(x, h))`는 `x`를 그대로 돌려줘야 합니다.
#
# 막히면 `show_solution("merge_heads")`.


# %% en="3c46b239d4"
def my_merge_heads(x):
    """(B, H, T, Dh) -> (B, T, H*Dh)."""
    ...  # 여기에 코드를 작성하세요


# %% en="a672ad5809"
from attn_lib.exercises import check_merge_heads

check_merge_heads(my_merge_heads)

# %% [markdown] en="5c075318fe"
# ### 연습 문제 3 · 행렬로 만드는 멀티헤드 어텐션
#
# 쿼리는 `x_q` `(B, T_q, D)`에서, 키와 밸류는 `x_kv` `(B, T_k, D)`에서 옵니다. 네 행렬은 `(D, D)`이고
# 논문처럼 $Q = X W^Q$, 즉 `x_q @ W_q`로 적용합니다. Q, K, V를 `num_heads`개 헤드로 나누고, 헤드마다
# 스케일드 닷-프로덕트 어텐션을 실행하고($\sqrt{\text{head\_dim}}$으로 스케일), 헤드들을 합친 뒤 `W_o`를
# 적용하세요. `(B, T_q, D)`를 돌려주세요. 위에서 만든 함수들과 `attn_lib.scaled_dot_product_attention`을 써도
# 됩니다.
#
# 막히면 `show_solution("multi_head_attention")`.


# %% en="a3ee3ca6a8"
def my_multi_head_attention(x_q, x_kv, W_q, W_k, W_v, W_o, num_heads):
    """x_q (B, T_q, D), x_kv (B, T_k, D), W_* (D, D) -> (B, T_q, D)."""
    ...  # 여기에 코드를 작성하세요


# %% en="c5710578b8"
from attn_lib.exercises import check_multi_head_attention

check_multi_head_attention(my_multi_head_attention)

# %% [markdown] en="406553384f"
# ## 요약
#
# - **멀티헤드 어텐션**(주장 S5를 정확히 말하면): 스케일드 닷-프로덕트 어텐션 h개가 **같은 입력 위에서
#   나란히** 실행되고, 각각 자기 $W_i^Q, W_i^K, W_i^V$ `(d_model, head_dim)`를 가지고 `head_dim = d_model / h`개
#   차원에서 동작합니다. 그 출력들은 `(B, T, d_model)`로 **연결**되고 $W^O$가 곱해집니다. 쌓는 것이 아닙니다.
#   헤드 0의 출력은 다른 모든 헤드의 가중치에 대해 그래디언트가 정확히 0입니다.
# - 차원 순서: `split_heads`는 `view (B, T, H, Dh)` 다음 `transpose -> (B, H, T, Dh)`이고, `merge_heads`가 이를
#   되돌립니다(연결). `view(B, H, T, Dh)`만 쓰면 모양은 맞고 내용은 틀립니다.
# - 가중치 조각을 쓴 헤드 루프는 벡터화된 `attn_lib.MultiHeadAttention`과 같고, 이것은
#   `torch.nn.MultiheadAttention`과 같습니다(출력, 헤드별 가중치와 평균 가중치; 불리언 마스크의 뜻이 반대라는
#   점을 기억하세요).
# - **비용**: 파라미터 $4d_\text{model}^2 + 4d_\text{model}$개와 행렬 곱 FLOPs가 h에 관계없이 같고, 전체 폭
#   헤드 하나와 같습니다. **이득**: 쿼리마다 소프트맥스 분포가 하나가 아니라 h개입니다. 전체 폭 헤드의 점수는
#   헤드별 점수의 합이므로, 헤드 하나는 따로 된 헤드들이 구분해 두는 규칙들을 뒤섞습니다(읽어 낸 값에서 이전
#   토큰의 몫: 헤드 둘이면 모든 위치에서 1.0, 같은 가중치의 헤드 하나면 0.25–0.5).
# - 헤드들은 독립적으로 *계산되지만* 함께 *학습됩니다*. 손실은 $W^O$를 거쳐서만 헤드들을 보므로, 한 헤드의
#   그래디언트는 다른 헤드들에 달려 있습니다(헤드 1의 $W^V$만 바꿔도 헤드 0의 그래디언트가 큰 비율로 움직였습니다).
# - **학습된** 헤드는 스스로 규칙을 찾습니다. 양쪽 이웃을 맞히라고 하면 두 헤드가 일을 나누어, 하나는
#   i − 1에, 다른 하나는 i + 1에 어텐션합니다(아래 대각선과 위 대각선에 놓인 가중치로 점수를 매김).
#
# ## 스스로 점검하기
#
# 1. `d_model = 512`, `h = 8`입니다. $W_3^Q$, 토큰 20개짜리 시퀀스에 대한 헤드 3의 출력, 그리고 연결한 결과의
#    모양은 무엇인가요?
# 2. 누군가 `split_heads(x, H)` 대신 `x.view(B, H, T, Dh)`를 씁니다. 오류가 나나요? 헤드 0은 무엇을 보나요?
# 3. `MultiHeadAttention(256, num_heads)`의 파라미터는 헤드가 1, 4, 16개일 때 각각 몇 개인가요(편향 포함)?
# 4. h개의 헤드를 왜 동시에 계산할 수 있고, 그 결과는 어디서 섞이나요?
# 5. `torch.nn.MultiheadAttention`에서 위치 (i, j)의 `attn_mask=True`는 무슨 뜻인가요?
#
# <details><summary>답</summary>
#
# 1. $W_3^Q$: `(512, 64)`; 헤드 3의 출력: `(20, 64)`; 연결한 결과: `(20, 512)`(그 뒤 $W^O$를 거쳐도
#    `(20, 512)`).
# 2. 오류는 나지 않습니다. 모양이 맞기 때문입니다. 헤드 0은 메모리 순서상 시퀀스의 처음 `T·Dh`개 숫자를
#    받습니다. 여러 위치의 특징 벡터 전체를 조각낸 것이라 위치와 특징이 뒤섞이고, 모든 헤드가 엉뚱한 것을 봅니다.
# 3. 헤드 수와 관계없이 $4 \cdot 256^2 + 4 \cdot 256 = 263{,}168$개.
# 4. 모든 헤드가 같은 입력을 읽고 어느 헤드도 다른 헤드의 출력을 읽지 않으므로 독립적입니다(헤드 축에 대한 배치
#    행렬 곱 하나). 연결 뒤의 $W^O$만이 이들을 섞습니다. 그것을(그리고 손실을) 거쳐 헤드들의 *그래디언트*가
#    서로에게 의존하므로, 병렬로 계산되지만 함께 학습됩니다.
# 5. 쿼리 i가 키 j에 어텐션할 수 **없다**는 뜻입니다. `attn_lib`와 `F.scaled_dot_product_attention`과는
#    반대이며, `attn_lib.to_torch_mha_mask`로 변환합니다.
#
# </details>
