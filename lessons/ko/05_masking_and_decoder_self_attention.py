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

# %% [markdown] en="c3f6812f07"
# # 05 · 마스킹과 디코더 셀프 어텐션
#
# 04 수업의 인코더(encoder)는 문장 전체를 한 번에 읽습니다. 모든 토큰(token)이 다른 모든 토큰을 볼 수
# 있습니다. 디코더(decoder)는 문장을 토큰 하나씩 차례로 *써 나가며*, 아직 쓰지 않은 토큰을 절대 엿보면
# 안 됩니다. 이 수업은 그것을 강제하는 단 한 줄에 관한 것입니다.
#
# **학습 목표.** 이 수업을 마치면 다음을 할 수 있습니다.
#
# 1. 디코더가 미래를 보면 안 되는 이유를 설명합니다. 자기회귀(auto-regressive) 생성에서는 출력 i가 입력
#    i+1로 다시 들어갑니다(시드 노트의 주장 S8).
# 2. **인과 마스크(causal mask)**를 그리고, 뒤쪽 위치의 *점수(score)*(로짓, logit)가 소프트맥스(softmax)
#    **전에** −∞로 설정되어 그 가중치가 정확히 0이 됨을 숫자 하나하나로 보입니다(주장 S7을 정확하게 다시
#    씀).
# 3. 소프트맥스 **뒤에** 가중치를 0으로 만드는 것이 왜 틀렸는지, 그리고 뒤에서 다시 정규화하면 수학적으로는
#    정확한 항등식으로 일치하지만 부동소수점에서는 깨지는 이유를 보입니다.
# 4. **누출이 없음을 증명합니다.** 미래 토큰을 바꿔도 앞쪽 출력은 정확히 그대로이고, 출력 i의 입력
#    j > i에 대한 그래디언트(gradient)는 정확히 0입니다.
# 5. 교사 강요(teacher forcing)와 단계별 생성이 공유하는 것(**같은 접두사 ⇒ 같은 로짓**, 반올림 오차
#    범위에서)과 갈라지는 지점(정답 토큰 대 모델 자신의 토큰: *노출 편향(exposure bias)*)을 설명합니다.
# 6. 인과 마스크와 패딩 마스크(padding mask)를 결합하고, `torch.nn.MultiheadAttention`의 **반대 마스크
#    의미** 때문에 생기는 조용한 버그를 피합니다.

# %% en="setup"
from attn_lib.i18n import set_language

set_language("ko")

# %% en="3d74369b9b"
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display
from torch import nn

import attn_lib
from attn_lib.viz import plot_attention, plot_mask, plot_masked_matrix
from attn_lib.widgets import generation_prefix_attention, generation_step_view

torch.manual_seed(0)
torch.set_num_threads(1)  # 출력되는 합이 스레드 수에 따라 달라지지 않도록
torch.set_printoptions(precision=4, sci_mode=False)
print("torch", torch.__version__)

# %% [markdown] en="c9b9c5626b"
# ## 1. 디코더가 미래를 보면 안 되는 이유
#
# 디코더는 **생성**합니다. 시퀀스 시작 토큰 `<bos>`에서 출발해 첫 단어를 예측하고, 그것을 입력에 덧붙여
# 둘째 단어를 예측하는 식으로 `<eos>`를 예측할 때까지 계속합니다. 출력 i가 입력 i+1로 다시 들어가므로 이
# 모델은 *자기회귀* 모델입니다.
#
# **학습(training)**은 반복하지 않습니다. 정답 전체를 알고 있으니 한 칸 오른쪽으로 밀어서 한꺼번에
# 넣습니다(*교사 강요*). 위치 i는 i까지의 실제 단어를 받고 단어 i+1을 예측해야 합니다.

# %% en="c1de99a975"
vocab = "<pad> <bos> <eos> the a cat dog sat ran on mat fast big small".split()  # 단어 14개
word_id = {w: i for i, w in enumerate(vocab)}
PAD, BOS, EOS = word_id["<pad>"], word_id["<bos>"], word_id["<eos>"]

target = ["the", "cat", "sat", "<eos>"]
decoder_input = ["<bos>", *target[:-1]]  # 오른쪽으로 한 칸 밀기
for i, (seen, wanted) in enumerate(zip(decoder_input, target, strict=True)):
    print(f"위치 {i}: 입력 {seen:>5}  ->  예측해야 할 단어 {wanted:>5}")

# %% [markdown] en="51943f83ab"
# 위치 1을 보세요. 위치 1은 "sat"을 예측해야 하는데, "sat"은 **바로** 위치 2의 입력입니다. 일반 셀프
# 어텐션(self-attention)은 위치 1이 위치 2를 읽게 허용하므로, 모델은 정답을 베끼는 법을 배울 수 있습니다.
# 그러나 생성할 때는 위치 2가 아직 없으니 베낄 것이 없습니다. 셀프 어텐션 층에서 측정해 봅시다. 위치 2의
# 입력을 바꾸고 어느 출력이 움직이는지 봅니다.

# %% en="9c9345a1af"
d_model, num_heads = 32, 4
T = len(decoder_input)
self_attn = attn_lib.MultiHeadAttention(d_model, num_heads).eval()
x = torch.randn(1, T, d_model)  # (B, T, D): 입력 벡터 4개를 대신하는 값
x_changed = x.clone()
x_changed[0, 2] = torch.randn(d_model)  # 위치 2에 다른 단어


def change_per_position(mask: torch.Tensor | None) -> torch.Tensor:
    """위치 2의 입력을 바꿨을 때 각 출력 i의 최대 변화: (T,)."""
    with torch.no_grad():
        before, _ = self_attn(x, x, x, mask=mask)
        after, _ = self_attn(x_changed, x_changed, x_changed, mask=mask)
    return (after - before).abs().amax(-1)[0]


print("마스크 없음, i = 0..3에서 |출력 i의 변화|:", change_per_position(None))
print("마스크 있음, i = 0..3에서 |출력 i의 변화|:", change_per_position(attn_lib.causal_mask(T)))

# %% [markdown] en="dadac7e197"
# 마스크가 없으면 위치 2가 미래인데도 출력 0과 1이 바뀌었습니다. 위치 2를 본 것입니다. 인과 마스크(다음
# 절)를 쓰면 위치 2와 그 뒤의 출력만, 허용된 대로 움직입니다.
#
# ## 2. 인과 마스크
#
# "쿼리(query) i는 j ≤ i일 때만 키(key) j에 어텐션할 수 있다"는 규칙은 하삼각 bool 행렬이며, True = 어텐션
# 가능입니다(이 과정과 `torch.nn.functional.scaled_dot_product_attention`의 규약).

# %% en="979befb847"
causal = attn_lib.causal_mask(T)  # (T_q, T_k) = (4, 4)
print(causal.int())

plot_mask(causal, decoder_input, decoder_input, title="인과 마스크: 쿼리 i는 키 j ≤ i에 어텐션할 수 있습니다")
plt.show()

# %% [markdown] en="34628d4beb"
# ## 3. 뒤쪽 위치의 점수는 소프트맥스 *전에* −∞로 설정됩니다
#
# 시드 노트는 뒤쪽 위치의 *입력*을 −∞로 설정한다고 말합니다. 논문은 "**소프트맥스의 입력** 중 허용되지 않는
# 연결에 해당하는 모든 값"이라고 말하며, 시드 노트의 "입력"은 아마 이것을 뜻할 것입니다. 정확히 말하면
# 막힌 칸의 **어텐션 점수**(로짓 $q_i\cdot k_j/\sqrt{d_k}$)를 소프트맥스 전에 −∞로 설정합니다.
# $e^{-\infty} = 0$이므로 그 가중치는 정확히 0이 되고, 각 행은 허용된 키에 대해 여전히 합이 1입니다.
# $d_k = 8$인 헤드 하나에서 단계별로 봅니다.

# %% en="be92a54041"
d_k = 8
q, k, v = torch.randn(T, d_k), torch.randn(T, d_k), torch.randn(T, d_k)  # 각각 (T, d_k)

scores = q @ k.T / math.sqrt(d_k)  # (T_q, T_k) = (4, 4)
masked_scores = scores.masked_fill(~causal, float("-inf"))  # 막힌 칸 -> -inf
weights = torch.softmax(masked_scores, dim=-1)  # (4, 4)
print("가중치:\n", weights)
print("행의 합:", weights.sum(-1).round(decimals=4))  # 합 1은 1로 출력
print(
    "막힌 칸의 가중치가 정확히 0:",
    bool((weights[~causal] == 0).all()),
    f"(칸 {int((~causal).sum())}개)",
)

# %% en="63067feeb5"
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
plot_masked_matrix(
    scores, torch.zeros_like(causal), decoder_input, decoder_input, title="1. 점수 q·k/√d_k", ax=axes[0]
)
plot_masked_matrix(
    masked_scores, ~causal, decoder_input, decoder_input, title="2. 막힌 점수 := −∞", ax=axes[1]
)
plot_attention(weights, decoder_input, decoder_input, title="3. 소프트맥스: 가중치", ax=axes[2], annotate=True)
for ax in axes[1:]:
    ax.set_ylabel("")
fig.suptitle("뒤쪽 위치의 점수를 소프트맥스 전에 −∞로 두므로 그 가중치는 정확히 0입니다")
fig.tight_layout()
plt.show()

# %% [markdown] en="46aa7c51d8"
# `attn_lib.scaled_dot_product_attention(..., mask=...)`가 내부에서 하는 일이 바로 이것이고, PyTorch의
# 퓨즈드(fused) 함수도 같은 결과를 냅니다(`is_causal=True`가 같은 마스크를 만듭니다).

# %% en="55b8a7868b"
out_lib, w_lib = attn_lib.scaled_dot_product_attention(q, k, v, mask=causal)
torch.testing.assert_close(w_lib, weights)
torch.testing.assert_close(out_lib, weights @ v)
torch.testing.assert_close(
    F.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True)[0], out_lib
)
print("손 계산 == attn_lib.scaled_dot_product_attention == F.scaled_dot_product_attention(is_causal=True): 같음")

# %% [markdown] en="6c9601637a"
# 정확한 표현이 중요한 이유: *입력*(여기서는 위치 3의 키)을 −∞로 설정하면 아무것도 막지 못하고 산술만
# 망가집니다. −∞에 음수를 곱하면 +∞이고, +∞ − ∞는 NaN입니다.

# %% en="41865c8c5f"
k_inf = k.clone()
k_inf[3] = float("-inf")  # 글자 그대로 "위치 3의 입력을 -inf로 설정"
scores_inf = q @ k_inf.T / math.sqrt(d_k)  # (T_q, T_k) = (4, 4)
print("점수, 열 3 (키 3):", scores_inf[:, 3])
print("소프트맥스:\n", torch.softmax(scores_inf, dim=-1))

# %% [markdown] en="29fbbc9ca1"
# 네 행 모두 NaN이 되었습니다. 애초에 위치 3을 볼 일이 없던 쿼리의 행 0–2까지 그렇습니다. 열 3의 각 점수는
# −∞와 양수 *및* 음수 쿼리 항목의 곱을 더하므로 +∞ + (−∞) = NaN이 되고, 한 행에 NaN이 하나라도 있으면 그
# 행 전체의 소프트맥스가 NaN이 됩니다.
#
# ## 4. 소프트맥스 *뒤에* 가중치를 0으로 만들면 왜 틀릴까
#
# 솔깃한 지름길이 있습니다. 모든 점수에 소프트맥스를 적용한 뒤 가중치에 마스크를 곱하는 것입니다. 두 가지가
# 잘못됩니다.
#
# **(a) 행의 합이 더 이상 1이 아닙니다.** 그래서 출력은 줄어든, 다른 벡터가 됩니다.

# %% en="095ff9bb42"
after = torch.softmax(scores, dim=-1) * causal  # 소프트맥스 뒤에 미래를 0으로: 틀림
print("행의 합:", after.sum(-1).round(decimals=4))
print("max |출력(뒤에서 0) - 출력(올바름)| =", round((after @ v - weights @ v).abs().max().item(), 4))

# %% [markdown] en="f352fb2a2a"
# **(b) 어쨌든 미래가 샙니다.** 행 i의 소프트맥스 분모 $Z_i = \sum_{\text{all } j} e^{s_{ij}}$에는 미래의
# 점수가 들어 있습니다. 쿼리 3만 볼 수 있는 위치 3의 키를 바꾸면 행 0, 1, 2도 바뀝니다.

# %% en="449c43ae5d"
k_changed = k.clone()
k_changed[3] = k_changed[3] + 2.0 * torch.randn(d_k)  # 다른 미래 키
scores_changed = q @ k_changed.T / math.sqrt(d_k)

after_changed = torch.softmax(scores_changed, dim=-1) * causal
proper_changed = torch.softmax(scores_changed.masked_fill(~causal, float("-inf")), dim=-1)
print(
    "행 0-2의 변화:",
    round((after_changed[:3] - after[:3]).abs().max().item(), 4),
    "(소프트맥스 뒤에 0으로 만들 때)",
)
print(
    "행 0-2의 변화:",
    (proper_changed[:3] - weights[:3]).abs().max().item() + 0.0,
    "(소프트맥스 전에 마스킹할 때)",
)

# %% [markdown] en="5597f5bbe0"
# **뒤에서 다시 정규화하면**(각 행을 새 합으로 나누면) 올바른 숫자가 돌아옵니다. 운이 아닙니다. 원치 않는
# 분모 $Z_i$가 행의 공통 인수라서 약분되므로 정확한 항등식입니다.
#
# $$\frac{e^{s_{ij}}/Z_i}{\sum_{j' \le i} e^{s_{ij'}}/Z_i} = \frac{e^{s_{ij}}}{\sum_{j'\le i} e^{s_{ij'}}}.$$
#
# 부동소수점에서는 양변을 서로 다른 연산으로 계산하므로 비트 단위로가 아니라 반올림 오차 범위에서
# 일치합니다.

# %% en="b807781a45"
renormalised = after / after.sum(-1, keepdim=True)
print(
    "max |재정규화 - 올바름| < 1e-6:",
    (renormalised - weights).abs().max().item() < 1e-6,
    "(부동소수점 반올림 오차 범위에서 같음)",
)

# %% [markdown] en="b6b56e2ca5"
# 이 항등식은 과거 가중치 $e^{s_{ij}}/Z_i$를 표현할 수 있어야 성립합니다. float32에서는 *미래* 점수 하나가
# 그 행의 허용된 모든 점수보다 약 100 이상 크면 표현할 수 없습니다. 그러면 전체 행에 대한 소프트맥스가 과거
# 가중치 e^{−gap}/Z를 0으로 반올림하고, 재정규화는 0을 0으로 나누어 행이 NaN이 됩니다. 소프트맥스 전에
# 마스킹하면 그런 숫자를 아예 계산하지 않습니다.

# %% en="fbcc050f23"
scores_big = scores.clone()
scores_big[0, 3] = 200.0  # 쿼리 0에 대해 다른 점수보다 훨씬 큰 미래 점수
after_big = torch.softmax(scores_big, dim=-1) * causal
print("재정규화한 행 0 :", (after_big / after_big.sum(-1, keepdim=True))[0])
print("먼저 마스킹한 행 0:", torch.softmax(scores_big.masked_fill(~causal, float("-inf")), dim=-1)[0])

# %% [markdown] en="3d6bda697f"
# 차이가 얼마나 커야 할까요? 허용된 점수 0 하나와 미래 점수 g 하나를 float32와, 범위가 훨씬 일찍 끝나는
# float16(반정밀도, GPU에서 흔함)에서 비교합니다.

# %% en="42bde0fbfc"
gaps = torch.arange(0.0, 110.0, 0.25)  # (G,) 후보 차이 g
for dtype in (torch.float32, torch.float16):
    two_scores = torch.stack([torch.zeros_like(gaps), gaps], dim=-1).to(dtype)  # (G, 2): 과거 0, 미래 g
    past_weight = torch.softmax(two_scores, dim=-1)[:, 0]  # (G,) 허용된 키의 가중치
    tiny = torch.finfo(dtype).smallest_normal
    print(f"{dtype!s:14s} 과거 가중치가 최소 정규수({tiny:.2e}) 미만(정밀도 손실)이 되는 g =",
          gaps[past_weight < tiny].min().item())
    print(f"{dtype!s:14s} 과거 가중치가 정확히 0(재정규화하면 0/0 = NaN)이 되는 g =",
          gaps[past_weight == 0].min().item())

# %% [markdown] en="0b0cba314c"
# ## 5. 디코더 전체에서 아무것도 새지 않음을 증명하기
#
# 이제 학습되지 않은(시드 고정) 인코더–디코더 `attn_lib.Transformer` 전체를 씁니다. 디코더 층은 두 개이고,
# 각각 마스킹된 셀프 어텐션, 인코더로의 크로스 어텐션(cross-attention), 피드포워드 네트워크(feed-forward
# network)를 가집니다. `model.decode`는 인과 마스크를 스스로 만듭니다. 원문 문장과 어휘(vocabulary)는 위의
# 장난감 예제이고, 시드는 학습되지 않은 모델이 6절에서 다양한 단어를 만들어 내는 것으로 골랐습니다.

# %% en="6c3d1d8b11"
torch.manual_seed(5)
model = attn_lib.Transformer(
    len(vocab),
    len(vocab),
    d_model=d_model,
    num_heads=num_heads,
    num_encoder_layers=2,
    num_decoder_layers=2,
    d_ff=64,
    max_len=32,
    pad_id=PAD,
).eval()


def ids(words: list[str]) -> torch.Tensor:
    """['the', 'cat'] -> tensor([[3, 5]]), 모양 (1, T)."""
    return torch.tensor([[word_id[w] for w in words]])


src = ids("the big cat sat on the mat".split())  # (1, S) = (1, 7)
memory = model.encode(src).detach()  # (1, 7, 32) = (B, S, D)
memory_mask = model.src_mask(src)  # (1, 1, 1, 7)
tgt = ids(["<bos>", "the", "cat", "sat", "on", "the"])  # (1, T) = (1, 6)
print("src", tuple(src.shape), " memory", tuple(memory.shape), " tgt", tuple(tgt.shape))

# %% [markdown] en="041fb7a9a2"
# **시험 1: 미래 토큰 바꾸기.** 위치 3의 "sat"을 "ran"으로 바꿉니다. 위치 0, 1, 2의 로짓은 한 비트도
# 움직이면 안 됩니다. 여기서 "정확히"는 부동소수점에 대한 주장이며 어느 기계에서나 성립합니다. 두 실행은
# 길이가 같으므로 모든 행렬 곱이 같은 방식으로 계산되고, 바뀐 토큰은 정확히 0인 가중치(−∞ 점수의
# 가중치)를 곱한 채로만 행 0–2에 들어가므로 정확히 아무것도 더하지 않습니다.

# %% en="cd9ecfe71d"
tgt_changed = tgt.clone()
tgt_changed[0, 3] = word_id["ran"]
with torch.no_grad():
    logits = model.decode(tgt, memory, memory_mask)  # (1, 6, 14) = (B, T, V)
    logits_changed = model.decode(tgt_changed, memory, memory_mask)
change = (logits_changed - logits).abs().amax(-1)[0]  # (T,): 위치별 최대 변화
print("위치별 max |로짓 변화|:", change)
print("위치 0-2의 변화가 정확히 0.0:", bool((change[:3] == 0).all()))
assert (change[:3] == 0).all()

# %% [markdown] en="b5f3bbd881"
# **시험 2: 그래디언트.** 출력 i가 입력 j에 의존하지 않으면
# $\partial\,\text{output}_i / \partial\,\text{input}_j = 0$입니다. 디코더 스택의 전체 야코비안(Jacobian),
# 즉 출력 `(T, D)`를 입력 벡터 `(T, D)`로 미분한 `(T, D, T, D)`개의 숫자를 계산하고, 각 `(D, D)` 블록을 그
# 노름으로 요약합니다. 그러면 (i, j) 항목이
# $\lVert\partial\,\text{output}_i / \partial\,\text{input}_j\rVert$인 `(T, T)` 행렬이 됩니다.

# %% en="e2b2bd6df4"
# model.decode가 디코더 스택에 넣는 것: 임베딩 × √d_model + PE, (1, T, D) -> (T, D)
x_dec = model.pos(model.tgt_embed(tgt) * math.sqrt(d_model)).detach()[0]


def decoder_stack(x: torch.Tensor, self_mask: torch.Tensor | None) -> torch.Tensor:
    """문장 하나에 대해 (T, D) 입력 벡터 -> (T, D) 디코더 출력."""
    return model.decoder(x[None], memory, self_mask, memory_mask)[0][0]


jac = torch.autograd.functional.jacobian(lambda x: decoder_stack(x, attn_lib.causal_mask(6)), x_dec)
grad_norms = jac.pow(2).sum(dim=(1, 3)).sqrt()  # (T, D, T, D) -> (T, T)
print("야코비안:", tuple(jac.shape), "-> 노름", tuple(grad_norms.shape))
print(torch.round(grad_norms, decimals=2))
print("대각선 위의 모든 항목이 정확히 0:", bool((grad_norms.triu(1) == 0).all()))

# %% en="5fe7b5e7bc"
jac_open = torch.autograd.functional.jacobian(lambda x: decoder_stack(x, None), x_dec)  # 마스크 없음
grad_norms_open = jac_open.pow(2).sum(dim=(1, 3)).sqrt()

words = [vocab[i] for i in tgt[0]]
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
vmax = float(max(grad_norms.max(), grad_norms_open.max()))
for ax, g, name in zip(
    axes, (grad_norms, grad_norms_open), ("인과 마스크 있음", "마스크 없음"), strict=True
):
    plot_masked_matrix(
        g,
        g == 0,
        words,
        words,
        title=name,
        ax=ax,
        hidden_text="0",
        cbar_label="그래디언트 노름",
        cmap="magma",
        vmin=0.0,
        vmax=vmax,
    )
    ax.set_xlabel("입력 위치 j")
    ax.set_ylabel("출력 위치 i")
fig.suptitle("‖∂ 출력 i / ∂ 입력 j‖: 인과 마스크가 있으면 모든 j > i가 정확히 0 (회색)")
fig.tight_layout()
plt.show()

# %% [markdown] en="b14c3d14a2"
# 마스크가 있으면 상삼각이 정확히 0입니다. 학습 중에 위치 i의 손실(loss)은 모델이 위치 i 뒤의 어떤
# 것도 쓰도록 밀어붙일 수 없습니다. 마스크가 없으면 정보가 양방향으로 흐릅니다.
#
# 대각선은 왜 이렇게 밝을까요? 모든 서브층(sub-layer)은 LayerNorm(x + sublayer(x))를 계산합니다. 잔차
# 경로가 입력 i를 곧바로 출력 i로 넘기고, 크로스 어텐션과 피드포워드 서브층은 각 위치에서 따로 작동합니다.
# 위치 *사이*의 경로는 어텐션뿐입니다. 대각선 중 얼마가 잔차 경로에서 오는지 보기 위해, 같은 두 층을 셀프
# 어텐션 서브층을 끈 채(x₁ = LayerNorm₁(x + 0 · SelfAttn(x))) 손으로 실행합니다. 그러면 위치별 경로만
# 남습니다.


# %% en="3ae81266d7"
def decoder_stack_by_hand(x: torch.Tensor, self_attention_on: bool) -> torch.Tensor:
    """(T, D) -> (T, D): model.decoder를 풀어 쓴 것. self_attention_on=False이면 SelfAttn(x)를 뺍니다."""
    x = x[None]  # (1, T, D)
    for layer in model.decoder.layers:
        a, _ = layer.self_attn(x, x, x, mask=attn_lib.causal_mask(x.shape[1]))
        x = layer.norm1(x + (a if self_attention_on else 0.0 * a))  # 마스킹된 셀프 어텐션 (또는 끔)
        a, _ = layer.cross_attn(x, memory, memory, mask=memory_mask)
        x = layer.norm2(x + a)  # 크로스 어텐션: 디코더 쪽에서는 위치별
        x = layer.norm3(x + layer.ff(x))  # 피드포워드: 위치별
    return x[0]


torch.testing.assert_close(decoder_stack_by_hand(x_dec, True), decoder_stack(x_dec, attn_lib.causal_mask(6)))
jac_residual = torch.autograd.functional.jacobian(lambda x: decoder_stack_by_hand(x, False), x_dec)
grad_norms_residual = jac_residual.pow(2).sum(dim=(1, 3)).sqrt()  # (T, T)
print("손 계산 == model.decoder: True")
print("대각선 ‖∂ 출력 i / ∂ 입력 i‖, 디코더 전체    :", [round(g, 1) for g in grad_norms.diagonal().tolist()])
print("대각선 ‖∂ 출력 i / ∂ 입력 i‖, 셀프 어텐션 끔 :", [round(g, 1) for g in grad_norms_residual.diagonal().tolist()])
print("대각선 밖 최대 항목, 디코더 전체:", round(grad_norms.tril(-1).max().item(), 1),
      "| 셀프 어텐션 끔:", grad_norms_residual.tril(-1).max().item() + 0.0)

# %% [markdown] en="9f8517531d"
# 셀프 어텐션이 없어도 대각선의 크기는 거의 같지만(셀프 어텐션이 있을 때 4~7, 없을 때 5~7), 대각선 밖의
# 모든 항목은 정확히 0으로 떨어집니다. 대각선은 주로 잔차 경로이고, 그 아래 항목이 어텐션이 더하는
# 부분입니다.
#
# ## 6. 같은 접두사, 같은 로짓: 교사 강요와 단계별 생성
#
# 생성: `<bos>`에서 시작해 접두사에 디코더를 실행하고, 가장 그럴듯한 다음 단어를 골라 덧붙이고, 반복합니다.
# 단계마다 더 긴 접두사에 대한 새 순전파(forward pass)입니다. `attn_lib.greedy_decode`가 정확히 이렇게 하며,
# 여기서는 단계마다 로짓을 보관하려고 루프를 직접 씁니다. (모델이 학습되지 않았으므로 단어는 엉터리이지만,
# 여기서는 상관없습니다.)

# %% en="0a0e37f536"
steps = 6
ys = torch.tensor([[BOS]])  # (1, 1)
step_logits = []
with torch.no_grad():
    for _ in range(steps):
        last = model.decode(ys, memory, memory_mask)[:, -1]  # (1, V): 다음 위치에 대한 예측
        step_logits.append(last)
        ys = torch.cat([ys, last.argmax(-1, keepdim=True)], dim=1)  # 출력 i가 입력 i+1이 됨
print("생성됨:", " ".join(vocab[i] for i in ys[0]))
assert torch.equal(ys, attn_lib.greedy_decode(model, src, max_len=steps, bos_id=BOS, eos_id=EOS))
print("attn_lib.greedy_decode와 같은 토큰: True")

# %% [markdown] en="73449c35de"
# 이제 생성된 시퀀스 전체(마지막 토큰 제외)를 인과 마스크와 함께 **한 번** 넣고, 그 한 번의 실행에서 예측
# 6개를 모두 읽습니다.

# %% en="2b9e1d3499"
with torch.no_grad():
    forced = model.decode(ys[:, :-1], memory, memory_mask)  # (1, 6, V): 모든 위치를 한 번에
stepwise = torch.stack(step_logits, dim=1)  # (1, 6, V)
torch.testing.assert_close(forced, stepwise)
print("한 번의 실행", tuple(forced.shape), "== 단계별 실행 여섯 번", tuple(stepwise.shape))
print("max |차이| < 1e-5:", (forced - stepwise).abs().max().item() < 1e-5, "(부동소수점 반올림 오차뿐)")

# %% [markdown] en="79aec121b7"
# 이것이 보여 주는 것은 **같은 접두사 ⇒ 같은 로짓**입니다. 인과 마스크가 있으면 위치 i의 로짓은 토큰 0..i에만
# 의존하므로, 시퀀스에 대한 마스킹된 실행 한 번이 그 접두사들에 대한 i + 1번의 개별 실행과 같은 결과를
# 줍니다. 인과 마스크가 학습을 효율적으로 만드는 이유가 이것입니다. 순전파 한 번으로 모든 위치의 예측을
# 얻습니다.
#
# 이것은 학습이 생성과 같은 것을 본다는 뜻은 **아닙니다**. 학습에서 *교사 강요*는 모델 자신의 단어가 아니라
# **정답** 목표("`<bos>` the cat sat on the")를 넣습니다. 모델의 단어가 정답 단어와 다른 곳에서는 접두사가
# 달라지고, 그 뒤의 로짓도 모두 달라집니다. 학습되지 않은 우리 모델에서 비교합니다.

# %% en="4e807c0b4a"
with torch.no_grad():
    gold_forced = model.decode(tgt, memory, memory_mask)  # (1, 6, V): 정답 목표로 교사 강요
own, gold = ys[0, :-1], tgt[0]  # 각각 (6,): 모델 자신의 입력과 정답 입력
first_diff = int((own != gold).nonzero()[0, 0])  # 입력이 처음으로 달라지는 위치
gap = (gold_forced - stepwise).abs().amax(-1)[0]  # (T,): 위치별 최대 로짓 차이
print("자신의 입력:", " ".join(vocab[i] for i in own))
print("정답 입력  :", " ".join(vocab[i] for i in gold), "| 처음 달라지는 위치:", first_diff)
print(f"위치 0..{first_diff - 1} (같은 접두사): max |로짓 차이| < 1e-5:",
      bool((gap[:first_diff] < 1e-5).all()))
print(f"위치 {first_diff}..5 (다른 접두사): 위치별 max |로짓 차이|:",
      [round(g, 1) for g in gap[first_diff:].tolist()])
assert (gap[first_diff:] > 0.1).all()

# %% [markdown] en="1a022d506d"
# 모델은 정답 단어로 된 접두사로 학습되고, 생성할 때는 실수를 포함한 자기 단어로 된 접두사, 즉 학습 중에 본
# 적 없는 접두사를 이어 가야 합니다. 이 불일치를 **노출 편향**이라고 합니다. 초반의 실수 하나가 모델을 학습
# 때와 전혀 다른 접두사로 이끌 수 있습니다. (scheduled sampling 같은 해결책은 학습 중에 모델 자신의 예측을
# 일부 넣어 줍니다. 이 과정의 범위를 벗어납니다.)
#
# 같은 루프에 대한 마지막 확인: `greedy_decode(..., use_cache=True)`는 접두사를 다시 계산하는 대신 과거
# 위치의 키와 밸류(value)를 `KVCache`에 보관해 생성을 빠르게 합니다(08 수업에서 측정). 토큰은 같습니다.

# %% en="32a6dbd717"
assert torch.equal(
    ys, attn_lib.greedy_decode(model, src, max_len=steps, bos_id=BOS, eos_id=EOS, use_cache=True)
)
print("KV 캐시 사용: 같은 토큰")

# %% [markdown] en="e18e68ab93"
# ## 7. 인과 마스크와 패딩 마스크를 함께
#
# 배치(batch) 안의 목표 문장도 길이가 다르므로 디코더에는 두 규칙이 모두 필요합니다. 쿼리는 j ≤ i **이고**
# j가 패딩이 아닐 때만 키 j에 어텐션할 수 있습니다. `combine_masks`는 브로드캐스트하며 마스크를 AND로
# 묶습니다: `(T, T)` & `(B, 1, 1, T)` → `(B, 1, T, T)`.

# %% en="1c018ed443"
tgt_batch = torch.cat(
    [ids(["<bos>", "the", "cat", "sat", "on"]), ids(["<bos>", "a", "dog", "<pad>", "<pad>"])]
)  # (2, 5)
causal5 = attn_lib.causal_mask(5)  # (5, 5)
pad5 = attn_lib.padding_mask(tgt_batch, PAD)  # (2, 1, 1, 5)
combined = attn_lib.combine_masks(causal5, pad5)  # (2, 1, 5, 5)
print("인과", tuple(causal5.shape), "& 패딩", tuple(pad5.shape), "->", tuple(combined.shape))
assert torch.equal(combined, model.tgt_mask(tgt_batch))  # Transformer가 스스로 만드는 것
print("== model.tgt_mask(tgt_batch): True (같음)")

# %% en="8bb69ecd6a"
labels = [vocab[i] for i in tgt_batch[1]]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
panels = [
    (causal5, "인과 (T, T)"),
    (pad5[1, 0].expand(5, 5), "패딩 (1, 1, T) 브로드캐스트"),
    (combined[1, 0], "결합: 인과 AND 패딩"),
]
for ax, (m, name) in zip(axes, panels, strict=True):
    plot_mask(m, labels, labels, title=name, ax=ax, colorbar=ax is axes[-1])
fig.suptitle('"<bos> a dog <pad> <pad>": 쿼리는 앞쪽의 실제 토큰만 봅니다')
fig.tight_layout()
plt.show()

# %% [markdown] en="1b48842e10"
# `<pad>` *쿼리*(행 3, 4)는 여전히 그 앞의 실제 토큰을 보므로 비어 있는 행은 없습니다. 그 출력은 손실에서
# 버려집니다. 어떤 행이 완전히 막혀 있다면 `attn_lib.scaled_dot_product_attention`은 그 행에 NaN이 아니라
# 0을 돌려주지만, 일반 소프트맥스는 −∞로 된 행에서 0을 0으로 나눕니다. 3절의 점수에서 행 1을 완전히 막고
# 확인합니다(이 버전의 PyTorch 퓨즈드 함수도 0을 돌려줍니다).

# %% en="995a33ca82"
blocked_row = causal.clone()
blocked_row[1] = False  # 쿼리 1은 어디에도 어텐션할 수 없음
out_blocked, w_blocked = attn_lib.scaled_dot_product_attention(q, k, v, mask=blocked_row)
print("일반 소프트맥스, 행 1:        ", torch.softmax(scores.masked_fill(~blocked_row, float("-inf")), dim=-1)[1])
print("attn_lib 가중치, 행 1:        ", w_blocked[1])
print("attn_lib 출력, 행 1:          ", out_blocked[1])
fused_blocked = F.scaled_dot_product_attention(q[None], k[None], v[None], attn_mask=blocked_row)[0]
print("F.scaled_dot_product_attention 출력, 행 1:", fused_blocked[1])

# %% [markdown] en="52ac291514"
# ## 8. `torch.nn.MultiheadAttention`은 bool 마스크를 반대로 읽습니다
#
# 이 과정과 `F.scaled_dot_product_attention`에서 bool 마스크는 **True = 어텐션 가능**입니다.
# `torch.nn.MultiheadAttention`(`attn_mask`와 `key_padding_mask`)과 `torch.nn.Transformer`는 bool 마스크를
# **True = 막힘**으로 읽습니다. 한쪽의 마스크를 다른 쪽에 넘겨도 아무런 오류가 나지 않습니다. 두 층이 같은
# 함수를 계산하도록 PyTorch 층의 가중치를 우리 층에 복사합니다.

# %% en="3d315b169d"
torch.manual_seed(1)
torch_mha = nn.MultiheadAttention(d_model, num_heads, batch_first=True).eval()
ours = attn_lib.MultiHeadAttention.from_torch(torch_mha).eval()
x5 = torch.randn(1, 5, d_model)  # (B, T, D)
with torch.no_grad():
    out_bug, w_bug = torch_mha(x5, x5, x5, attn_mask=causal5, average_attn_weights=False)  # 조용한 버그
print("attn_lib의 인과 마스크를 받은 torch MHA, 헤드 0 가중치:\n", w_bug[0, 0])

# %% [markdown] en="60c0279560"
# 이제 모든 쿼리가 **뒤쪽 위치에만** 어텐션합니다. 인과와 정확히 반대입니다. 뒤쪽 위치가 없는 마지막 쿼리는
# NaN을 받습니다(눈에 보이는 유일한 증상). 나머지 모든 행으로 미래가 샙니다. 마지막 토큰을 바꾸면 출력 0이
# 바뀝니다.

# %% en="0466b2c5e4"
x5_changed = x5.clone()
x5_changed[0, 4] = torch.randn(d_model)
with torch.no_grad():
    out_bug_changed, _ = torch_mha(x5_changed, x5_changed, x5_changed, attn_mask=causal5)
    out_ours, w_ours = ours(x5, x5, x5, mask=causal5)
    out_ours_changed, _ = ours(x5_changed, x5_changed, x5_changed, mask=causal5)
print("버그가 있을 때 출력 0의 변화    :", round((out_bug_changed - out_bug)[0, 0].abs().max().item(), 4))
print("attn_lib에서 출력 0의 변화      :", (out_ours_changed - out_ours)[0, 0].abs().max().item() + 0.0)

# %% [markdown] en="27714f22fc"
# 해결책은 한 곳에서 한 번 변환하는 것입니다. `attn_lib.to_torch_mha_mask`가 의미를 뒤집습니다. 그러면
# PyTorch의 층과 우리 층이 부동소수점 반올림 오차 범위에서 일치합니다. 다른 방법은 **float 편향**
# (`attn_lib.to_additive_mask`: 허용된 곳은 0, 막힌 곳은 −∞)입니다. 점수에 *더해지므로* 어느
# 라이브러리에서나 같은 뜻입니다.

# %% en="d29d4afea5"
with torch.no_grad():
    out_fix, w_fix = torch_mha(
        x5, x5, x5, attn_mask=attn_lib.to_torch_mha_mask(causal5), average_attn_weights=False
    )
    bias = attn_lib.to_additive_mask(causal5)  # (5, 5) float: 0 / -inf 값
    out_bias, _ = torch_mha(x5, x5, x5, attn_mask=bias)
torch.testing.assert_close(out_fix, out_ours)
torch.testing.assert_close(w_fix, w_ours)
torch.testing.assert_close(out_bias, out_ours)
print("편향:\n", bias)
print("to_torch_mha_mask(mask)를 쓴 torch MHA == to_additive_mask(mask)를 쓴 torch MHA == attn_lib: True")

# %% [markdown] en="d78657f276"
# 패딩도 마찬가지입니다. `key_padding_mask`는 True = 막힘인 `(B, T_k)`를 원합니다.

# %% en="fc5a55c05f"
tokens5 = torch.tensor([[3, 5, 7, PAD, PAD]])  # (1, 5): "the cat sat <pad> <pad>" 문장
pad_ours = attn_lib.padding_mask(tokens5, PAD)  # (1, 1, 1, 5), True = 어텐션 가능
with torch.no_grad():
    out_pad_torch, _ = torch_mha(x5, x5, x5, key_padding_mask=attn_lib.to_torch_mha_mask(pad_ours[:, 0, 0]))
    out_pad_ours, _ = ours(x5, x5, x5, mask=pad_ours)
torch.testing.assert_close(out_pad_torch, out_pad_ours)
print("key_padding_mask=to_torch_mha_mask(padding_mask[:, 0, 0]) == padding_mask를 쓴 attn_lib: True")

# %% en="d5afb83515"
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
plot_masked_matrix(
    w_bug[0, 0],
    w_bug[0, 0].isnan(),
    hidden_text="NaN",
    title="버그: causal_mask를 그대로 넘김",
    ax=axes[0],
    cbar_label="가중치",
    vmin=0.0,
    vmax=1.0,
)
plot_masked_matrix(
    w_fix[0, 0],
    torch.zeros(5, 5, dtype=torch.bool),
    title="해결: to_torch_mha_mask(causal_mask)",
    ax=axes[1],
    cbar_label="가중치",
    vmin=0.0,
    vmax=1.0,
)
fig.suptitle(
    "torch.nn.MultiheadAttention은 True를 '막힘'으로 읽습니다: 변환하지 않으면 미래에만 어텐션합니다"
)
fig.tight_layout()
plt.show()

# %% [markdown] en="66f828da20"
# ## 9. 탐색: 생성을 단계별로 지켜보기
#
# 슬라이더를 움직여 생성 단계를 따라가 보세요. 단계 t에서 디코더는 입력 `0..t`(`<bos>`와 지금까지 만든
# 단어)를 가지고 단어 t+1을 예측합니다. 맵은 한 층, 한 헤드의 디코더 셀프 어텐션을 **그 접두사만으로
# 계산해** 보여 줍니다(위젯이 실제로 `tgt[:, :t+1]`에 모델을 실행합니다). 지금까지 존재하는 행은 색이
# 칠해지고, 그 미래 칸은 회색(마스킹됨, 가중치 정확히 0)이며, 아직 생성되지 않은 단어의 행과 열은 빗금으로
# 표시됩니다. 행을 지켜보세요. 한 번 나타난 행은 (반올림 오차 범위에서) 다시 바뀌지 않습니다. 시퀀스에 대한
# 한 번의 실행을 그 시퀀스의 단계별 생성과 같게 만드는 것이 인과 마스크입니다(6절). 마스크를 끄면 무엇을
# 막고 있었는지 보입니다. 새 토큰마다 앞쪽 행이 읽을 수 있는 키가 되므로 앞쪽 행이 단계마다 바뀝니다.
#
# 모델은 학습되지 않았으므로(시드 고정) 가중치 자체에는 아직 의미가 없습니다. 학습된 디코더 셀프 어텐션
# 맵은 07 수업(5절)에서 나옵니다. 그림이 보여 주는 것은 규칙, 즉 어느 칸이 언제 0이 아닐 수 있는지입니다.

# %% en="391590df42"
generated_input = ys[:, :-1]  # (1, 6): <bos>와 처음 생성된 단어 5개, 디코더의 입력
weights_t, next_id = generation_prefix_attention(model, src, generated_input, t=2, layer=0, head=0)
print("단계 2, 행 0..2 (뒤쪽 행과 열은 NaN: 아직 생성되지 않음):\n", weights_t[:3])
print("예측한 다음 단어:", vocab[next_id], "| 위치 3에 생성된 단어:", vocab[int(ys[0, 3])])

fig = generation_step_view(model, src, generated_input, t=2, vocab=vocab, layer=0, head=0)
plt.show()

# %% [markdown] en="cd59fc1f36"
# 모든 단계에서 측정한 주장: 단계 t가 토큰을 하나 더할 때, 인과 마스크가 있을 때와 없을 때 앞쪽 행은 얼마나
# 바뀔까요? 5절의 시험 1과 달리 이번 두 실행은 길이가 다르고(t개와 t + 1개 토큰), 더 긴 시퀀스에 대한 행렬
# 곱은 합을 다르게 묶을 수 있습니다. 마스크가 있으면 앞쪽 행은 비트 단위가 아니라 **반올림 오차 범위에서**
# 같습니다(어떤 CPU에서는 우연히 비트까지 같고, 다른 CPU에서는 마지막 비트가 다릅니다). 그래서 상한을
# 보여 주고, 그 옆에 마스크가 없을 때의 대비를 둡니다.

# %% en="2e5b0f2398"
largest_change = {}
for causal_on in (True, False):
    maps_t = [generation_prefix_attention(model, src, generated_input, t, causal=causal_on)[0] for t in range(6)]
    change_t = [(maps_t[t][:t, :t] - maps_t[t - 1][:t, :t]).abs().max().item() for t in range(1, 6)]
    largest_change[causal_on] = max(change_t)
    if causal_on:
        print("인과 마스크 켬: 단계 1..5에서 앞쪽 행의 최대 변화 < 1e-6:", max(change_t) < 1e-6)
    else:
        print("인과 마스크 끔: 단계 1..5에서 앞쪽 행의 최대 변화:", [round(c, 2) for c in change_t])
assert largest_change[True] < 1e-6 < 0.1 < largest_change[False]

# %% en="5d2a12d797" tags=["nbval-ignore-output"]
step_w = widgets.IntSlider(
    value=0, min=0, max=generated_input.shape[1] - 1, description="단계 t", continuous_update=False
)
layer_w = widgets.ToggleButtons(options=[("층 0", 0), ("층 1", 1)], description="층")
head_w = widgets.Dropdown(options=[(f"헤드 {h}", h) for h in range(num_heads)], description="헤드")
causal_w = widgets.ToggleButtons(options=[("켬", True), ("끔", False)], description="인과 마스크")


def show(t, layer, head, causal):
    generation_step_view(model, src, generated_input, t=t, vocab=vocab, layer=layer, head=head, causal=causal)
    plt.show()


view = widgets.interactive_output(show, {"t": step_w, "layer": layer_w, "head": head_w, "causal": causal_w})
display(widgets.VBox([step_w, widgets.HBox([layer_w, head_w]), causal_w, view]))

# %% [markdown] en="d3ddbbccb0"
# ## 연습 문제
#
# 이제 직접 작성해 봅시다. 각 `my_...` 함수의 본문을 채우고 그 아래 셀을 실행하세요. 채점기(checker)가
# 여러 입력으로 함수를 호출해 `attn_lib`과 비교합니다. 노란색 = 아직 시도하지 않음, 빨간색 = 무언가 다름
# (흔한 실수(mistake)의 이름과 힌트(hint)를 알려 줍니다), 초록색 = 정답.
#
# ### 연습 문제 1 · 인과 마스크
#
# **True = 어텐션 가능**인 `(T, T)` bool 마스크를 반환하세요. 쿼리 `i`는 `j <= i`(자기 자신과 과거)일 때에
# 한해 키 `j`에 어텐션할 수 있습니다.
#
# 막히면 `show_solution("causal_mask")`(`from attn_lib.exercises import show_solution` 뒤에).


# %% en="f3d59f24a4"
def my_causal_mask(T):
    """-> bool (T, T), 대각선과 그 아래가 True."""
    ...  # 여기에 코드를 작성하세요


# %% en="16306ceca7"
from attn_lib.exercises import check_causal_mask

check_causal_mask(my_causal_mask)

# %% [markdown] en="b0c5202a01"
# ### 연습 문제 2 · 마스킹된 어텐션 가중치
#
# `scores` `(..., T_q, T_k)`와 그것에 브로드캐스트되는 bool `mask`(True = 어텐션 가능)에서 어텐션 가중치를
# 반환하세요. 모양은 `scores`와 같습니다. 막힌 점수는 키에 대한 소프트맥스 *전에* −∞가 됩니다. 모든 키가
# 막힌 쿼리는 NaN이 아니라 0을 받습니다. `scores` 자체는 바꾸지 마세요.
#
# 막히면 `show_solution("masked_attention_weights")`.


# %% en="1cf03015cd"
def my_masked_attention_weights(scores, mask):
    """scores (..., T_q, T_k), 그것에 브로드캐스트되는 bool mask -> weights (..., T_q, T_k)."""
    ...  # 여기에 코드를 작성하세요


# %% en="e0d10e72d4"
from attn_lib.exercises import check_masked_attention_weights

check_masked_attention_weights(my_masked_attention_weights)

# %% [markdown] en="91410aac78"
# ## 요약
#
# - 생성은 자기회귀적입니다. 출력 i가 입력 i+1로 다시 들어갑니다. 학습은 밀린 목표 전체를 한 번에 넣으므로
#   (교사 강요), 위치 i가 i 뒤의 입력, 특히 자기 정답인 입력 i+1을 읽지 못하게 막아야 합니다.
# - **인과 마스크**(`causal_mask(T)`, 대각선과 그 아래가 True)가 그 일을 합니다. 막힌 칸의 **점수**를
#   소프트맥스 *전에* −∞로 설정하므로 그 가중치는 정확히 0이고 모든 행의 합은 여전히 1입니다.
# - 소프트맥스 *뒤에* 가중치를 0으로 만드는 것은 틀렸습니다. 행의 합이 1이 아니게 되고, 미래가 소프트맥스
#   분모를 통해 여전히 샙니다. 뒤에서 다시 정규화하는 것은 수학적으로 정확한 항등식이고(분모가 약분됨)
#   부동소수점에서는 반올림 오차 범위에서 같습니다. 단, 미래 점수 하나가 그 행의 허용된 모든 점수보다 충분히
#   커서 과거 가중치가 0으로 언더플로하면 그렇지 않습니다. float32에서는 차이가 약 104, float16에서는 17.5에
#   불과합니다. 그러면 행이 NaN이 됩니다.
# - **누출 없음, 증명됨**: 미래 토큰을 바꾸면(같은 길이) 앞쪽 로짓은 정확히 0만큼 바뀌고, j > i에 대해
#   $\partial\,\text{output}_i/\partial\,\text{input}_j = 0$이 정확히 성립합니다. 그 야코비안의 밝은 대각선은
#   주로 잔차 경로입니다. 더 긴 접두사로 다시 계산한 앞쪽 행은 반올림 오차 범위에서 같습니다(1e-6 미만,
#   마스크가 없으면 0.59).
# - **같은 접두사 ⇒ 같은 로짓**: 시퀀스에 대한 마스킹된 실행 한 번은 그 접두사들에 대한 T번의 단계별 실행과
#   같은 로짓을 줍니다(반올림 오차 범위에서). 교사 강요는 *정답* 접두사를, 생성은 모델 자신의 접두사를
#   넣습니다. 둘이 다른 곳에서는 로짓도 다릅니다(*노출 편향*).
# - 패딩과 인과성은 `combine_masks`로 `(B, 1, T, T)`에 결합됩니다.
# - `torch.nn.MultiheadAttention`은 bool 마스크를 True = **막힘**으로 읽습니다. `to_torch_mha_mask`로
#   변환하거나 `to_additive_mask`로 만든 float 편향을 쓰세요.
#
# ## 스스로 점검하기
#
# 1. 학습 중에 디코더 입력이 목표를 오른쪽으로 한 칸 민 것인 이유는 무엇이고, 마스킹되지 않은 디코더는
#    거기서 무엇을 배울까요?
# 2. 인과 `(5, 5)` 어텐션 맵에서 정확히 0인 가중치는 몇 개이고, 어느 것일까요?
# 3. 동료가 `weights = softmax(scores) * mask`로 마스킹합니다. 미래 가중치가 0인데도 결과에서 잘못된 점 두
#    가지를 대 보세요.
# 4. `attn_lib.causal_mask(T)`를 `torch.nn.MultiheadAttention`의 `attn_mask`로 넘깁니다. 각 쿼리는 무엇에
#    어텐션하고, 마지막 쿼리에는 무슨 일이 생길까요?
# 5. 모델은 토큰을 하나씩 생성하는데, 왜 순전파 한 번으로 목표의 모든 위치에서 손실을 계산해도 될까요?
#
# <details><summary>정답</summary>
#
# 1. 위치 i는 그 앞의 단어로 단어 i+1을 예측해야 합니다. 한 칸 밀면 i까지의 알려진 단어가 위치 ≤ i에
#    놓입니다. 마스킹하지 않으면 위치 i가 입력 i+1, 즉 정답을 읽고 베끼는 법을 배울 수 있는데, 생성할 때는
#    불가능한 일입니다.
# 2. 10 = 5·4/2개: 대각선 위의 모든 칸(키 j > 쿼리 i)입니다.
# 3. 행의 합이 1보다 작고(출력이 줄어듦), 행의 합이 소프트맥스 분모를 통해 미래 점수에 의존하므로 미래가
#    여전히 샙니다.
# 4. 엄밀히 뒤쪽 위치에만 어텐션합니다(거기서는 마스크가 "막힘"을 뜻합니다). 마지막 쿼리는 어디에도
#    어텐션할 수 없어 출력이 NaN입니다. `to_torch_mha_mask`로 변환하세요.
# 5. 인과 마스크가 있으면 위치 i의 출력은 입력 0..i에만 의존하므로, 한 번의 실행이 모든 위치에 그 접두사만
#    넣었을 때의 로짓을 줍니다(6절에서 확인). 학습에서 접두사는 정답이고 생성할 때는 모델 자신의 것이라
#    실수 뒤에는 달라집니다. 그것이 노출 편향이며, 마스크의 결함이 아닙니다.
#
# </details>
