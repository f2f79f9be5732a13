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

# %% [markdown] en="1b38566b03"
# # 06 · 크로스 어텐션: 디코더가 원문을 읽습니다
#
# 인코더(encoder, 04 수업)는 원문 문장을 원문 토큰(token)마다 벡터 하나로, 즉 *메모리(memory)*로 바꿉니다.
# 디코더(decoder, 05 수업)는 목표 문장을 토큰 하나씩 써 나가며 이미 쓴 것만 볼 수 있습니다. 이 수업은 둘
# 사이의 다리, 원문 정보가 디코더로 들어오는 유일한 곳인 **크로스 어텐션(cross-attention)**에 관한 것입니다.
#
# **학습 목표.** 이 수업을 마치면 다음을 할 수 있습니다.
#
# 1. 크로스 어텐션이 입력을 어디서 가져오는지 설명합니다. **쿼리(query)는 디코더에서**(마스킹된 셀프
#    어텐션 서브층의 출력), **키(key)와 밸류(value)는 인코더 출력에서** 옵니다. 목표 길이 T와 원문 길이 S가
#    다를 때의 모든 모양(shape)을 적습니다(시드 노트의 주장 S9).
# 2. 크로스 어텐션 맵을 목표 단어와 원문 단어 사이의 **정렬(alignment)**로 읽고, W^K를 손으로 사전처럼
#    설정한 작은 "번역"에서 그 메커니즘이 작동하는 것을 봅니다.
# 3. 행의 합이 **원문에 대해** 1인 이유와, 크로스 어텐션에 **인과 마스크가 필요 없는데도** 디코더가 여전히
#    인과적인 이유를 설명합니다.
# 4. **원문 패딩 마스크(padding mask)**를 적용하고, 패딩된 원문 위치가 아무것도 바꾸지 않음을 증명합니다.
# 5. `attn_lib.DecoderLayer`를 정확히 분해하고(마스킹된 셀프 어텐션 → 크로스 어텐션 → 피드포워드, 각각 잔차
#    연결(residual connection)과 LayerNorm 포함), 두 쪽을 뒤바꾸는 고전적인 실수를 찾아냅니다.
# 6. 원문 패딩 마스크와 함께 `attn_lib`을 `torch.nn.MultiheadAttention`,
#    `torch.nn.TransformerDecoderLayer`와 비교해 확인합니다.
#
# 시드 노트는 이것을 한 문장으로 말합니다: *"인코더-디코더 어텐션에서 쿼리는 이전 디코더 층에서, 키와
# 밸류는 인코더 출력에서 오므로 디코더의 모든 위치가 입력 시퀀스의 모든 위치에 어텐션할 수 있다."*

# %% en="setup"
from attn_lib.i18n import set_language

set_language("ko")

# %% en="bcc3b15fc4"
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display
from torch import nn

import attn_lib
from attn_lib.i18n import pad
from attn_lib.viz import plot_alignment, plot_dictionary
from attn_lib.widgets import cross_attention_row, plot_cross_attention_row

torch.manual_seed(0)
torch.set_num_threads(1)  # 출력되는 합이 스레드 수에 따라 달라지지 않도록
torch.set_printoptions(precision=4, sci_mode=False)
print("torch", torch.__version__)

# %% [markdown] en="ff088a0540"
# ## 1. 두 시퀀스, 두 길이
#
# 셀프 어텐션(self-attention, 04와 05 수업)에서는 쿼리, 키, 밸류가 모두 한 시퀀스에서 왔으므로 모든 어텐션
# 맵이 정사각형이었습니다. 크로스 어텐션은 길이가 다른 두 시퀀스를 받습니다.
#
# | 텐서 | 출처 | 모양 |
# |---|---|---|
# | `x` | 디코더: 마스킹된 셀프 어텐션 서브층의 출력 | `(B, T, D)` |
# | `memory` | 인코더: 최종 출력 | `(B, S, D)` |
# | 쿼리 Q = x W^Q | 디코더 | `(B, H, T, Dh)` |
# | 키 K = memory W^K, 밸류 V = memory W^V | 인코더 | `(B, H, S, Dh)` |
# | 점수 Q Kᵀ/√Dh, 가중치 | 목표 위치마다 행 하나, 원문 위치마다 열 하나 | `(B, H, T, S)` |
# | 출력 | **목표** 위치마다 벡터 하나 | `(B, T, D)` |
#
# 크기를 모두 다르게 골라서, 출력된 모양마다 어느 글자가 무엇인지 알 수 있게 합니다. B = 문장 2개, T = 목표
# 위치 4개, S = 원문 위치 5개, D = 24, H = 헤드 3개, 헤드당 Dh = 8차원입니다.

# %% en="da86e6b80f"
B, T, S, D, H = 2, 4, 5, 24, 3
Dh = D // H  # head_dim = 8
x = torch.randn(B, T, D)  # (B, T, D): 디코더의 마스킹된 셀프 어텐션 출력을 대신하는 값
memory = torch.randn(B, S, D)  # (B, S, D): 인코더 출력을 대신하는 값
cross_attn = attn_lib.MultiHeadAttention(D, H).eval()
print("x (디코더 쪽)     ", tuple(x.shape), "= (B, T, D)")
print("memory (인코더 쪽)", tuple(memory.shape), "= (B, S, D)")

# %% [markdown] en="547c37befc"
# `cross_attn`의 투영으로 단계별로 계산합니다. **쿼리는 `x`에서**, **키와 밸류는 `memory`에서**
# 투영됩니다. 03 수업과 달라지는 것은 그것뿐입니다.

# %% en="7a36144e54"
with torch.no_grad():
    q = attn_lib.split_heads(cross_attn.q_proj(x), H)  # (B, T, D) -> (B, H, T, Dh)
    k = attn_lib.split_heads(cross_attn.k_proj(memory), H)  # (B, S, D) -> (B, H, S, Dh)
    v = attn_lib.split_heads(cross_attn.v_proj(memory), H)  # (B, S, D) -> (B, H, S, Dh)
    scores = q @ k.transpose(-2, -1) / math.sqrt(Dh)  # (B, H, T, Dh) @ (B, H, Dh, S) -> (B, H, T, S)
    weights = torch.softmax(scores, dim=-1)  # (B, H, T, S): 원문(SOURCE) 축에 대한 소프트맥스
    heads = weights @ v  # (B, H, T, S) @ (B, H, S, Dh) -> (B, H, T, Dh)
    out = cross_attn.out_proj(attn_lib.merge_heads(heads))  # (B, H, T, Dh) -> (B, T, D)

for name, t, letters in [
    ("쿼리", q, "(B, H, T, Dh)"),
    ("키", k, "(B, H, S, Dh)"),
    ("밸류", v, "(B, H, S, Dh)"),
    ("점수", scores, "(B, H, T, S)"),
    ("가중치", weights, "(B, H, T, S)"),
    ("헤드", heads, "(B, H, T, Dh)"),
    ("출력", out, "(B, T, D)"),
]:
    print(f"{pad(name, 8)} {tuple(t.shape)!s:<14} = {letters}")

# %% [markdown] en="479859fae3"
# 이것이 `attn_lib.MultiHeadAttention`을 `query = x`, `key = value = memory`로 호출했을 때 계산하는 것과
# 정확히 같습니다.

# %% en="d884ec5108"
with torch.no_grad():
    out_lib, weights_lib = cross_attn(x, memory, memory)  # 쿼리는 디코더에서, 키 = 밸류 = memory
torch.testing.assert_close(out_lib, out)
torch.testing.assert_close(weights_lib, weights)
print("손 계산 == attn_lib.MultiHeadAttention(x, memory, memory): 같음")
print("출력 길이:", out_lib.shape[1], "= T, 디코더의 길이 (S =", S, "는 합산되어 사라짐)")

# %% [markdown] en="1897802ca5"
# 가중치의 각 행은 목표 위치 하나에 속하며 **원문** 위치들에 걸쳐 있으므로, 행의 합은 원문에 대해 1입니다.
# 열은 그렇지 않습니다. 원문 위치 하나를 여러 목표 위치가 읽을 수도 있고, 아무도 읽지 않을 수도 있습니다.

# %% en="817cc0cec4"
print("행의 합, 문장 0, (H, T):\n", weights[0].sum(-1).round(decimals=4))  # 합 1은 1로 출력
print("열의 합, 문장 0, 헤드 0, (S,):", weights[0, 0].sum(0))

# %% [markdown] en="65c196a7ab"
# ## 2. 정렬로서의 크로스 어텐션: 답을 아는 작은 번역
#
# 모델이 번역할 때 목표 단어 i는 자신이 번역하는 원문 단어를 읽어야 합니다. 그러면 목표 위치 × 원문 위치로
# 된 크로스 어텐션 가중치 맵은 **정렬**이 됩니다. 아무것도 학습시키지 않고 이를 보기 위해, 정렬을 미리 아는
# 독일어 → 영어 장난감 예제에 대해 크로스 어텐션 층을 **손으로** 만듭니다.
#
# * *ich habe den Hund gesehen* → *I saw the dog*: 동사 "gesehen"은 독일어 문장 끝에 있지만 "saw"는 영어의
#   둘째 단어이므로 정렬은 대각선이 **아닙니다**. 조동사 "habe"에는 대응하는 영어 단어가 없고, T = 4 ≠ S = 5입니다.
# * *ich sehe den Hund* → *I see the dog*: 한 단어 짧으므로 배치(batch)에서는 끝에 `<pad>`가 붙습니다(4절).

# %% en="5d2f26faf8"
src_vocab = ["<pad>", "ich", "habe", "sehe", "den", "Hund", "gesehen"]
tgt_vocab = ["<pad>", "<bos>", "I", "saw", "see", "the", "dog"]
PAD = 0  # 두 어휘에서 같은 id
translation = {"ich": "I", "gesehen": "saw", "sehe": "see", "den": "the", "Hund": "dog"}  # "habe"는 없음

source_sentences = [["ich", "habe", "den", "Hund", "gesehen"], ["ich", "sehe", "den", "Hund", "<pad>"]]
target_sentences = [["I", "saw", "the", "dog"], ["I", "see", "the", "dog"]]
src = torch.tensor([[src_vocab.index(w) for w in s] for s in source_sentences])  # (B, S) = (2, 5)
tgt = torch.tensor([[tgt_vocab.index(w) for w in t] for t in target_sentences])  # (B, T) = (2, 4)

# 알려진 정렬: 목표 단어 i마다 그 번역의 원문 위치
known = [
    [next(j for j, s_word in enumerate(s) if translation.get(s_word) == t_word) for t_word in t]
    for s, t in zip(source_sentences, target_sentences, strict=True)
]
print("src", tuple(src.shape), src.tolist())
print("tgt", tuple(tgt.shape), tgt.tolist())
print("알려진 정렬 (목표 i -> 원문 위치):", known)

# %% [markdown] en="ebf3b96b61"
# 손으로 만든 층은 헤드가 하나이고 d_model = 8입니다. 모든 단어는 id의 원-핫 벡터(`F.one_hot`)이고, 원문
# 벡터가 인코더 출력을 대신합니다. 네 투영은 다음과 같습니다.
#
# * **W^Q** = c · 단위 행렬: 목표 단어 t의 쿼리는 t의 원-핫(의 c배), 즉 그 "뜻"입니다.
# * **W^K** = **사전**: 원문 단어 s를 그 번역인 영어 단어의 원-핫으로 보냅니다("habe"와 `<pad>`는 영벡터로).
# * **W^V** = **W^O** = 단위 행렬: 목표 i의 출력은 그것이 읽는 원문 단어 원-핫들의 가중 혼합이므로, *무엇을*
#   읽었는지 볼 수 있습니다.
#
# 그러면 번역 쌍의 점수는 q·k/√d_k = c/√8이고 다른 쌍은 모두 0입니다. c = 4√8로 골라서 번역 쌍의 점수가 4가
# 되고, 5단어 원문에서 가중치의 e⁴/(e⁴ + 4) ≈ 0.93을 받게 합니다.

# %% en="641f1efd14"
D_toy = 8
dictionary = torch.zeros(D_toy, D_toy)  # (뜻 = 영어 단어 id, 원문 단어 id)
for s_word, t_word in translation.items():
    dictionary[tgt_vocab.index(t_word), src_vocab.index(s_word)] = 1.0
sharpness = 4.0 * math.sqrt(D_toy)  # 번역 쌍의 점수 q·k/√d_k = 4, 나머지는 모두 0

toy = attn_lib.MultiHeadAttention(D_toy, num_heads=1, bias=False).eval()
with torch.no_grad():  # nn.Linear는 x Wᵀ를 계산하므로 weight[out, in]
    toy.q_proj.weight.copy_(sharpness * torch.eye(D_toy))  # 쿼리 = 목표 단어의 뜻
    toy.k_proj.weight.copy_(dictionary)  # 키 = 원문 단어의 뜻
    toy.v_proj.weight.copy_(torch.eye(D_toy))  # 밸류 = 원문 단어 그 자체
    toy.out_proj.weight.copy_(torch.eye(D_toy))

tgt_features = F.one_hot(tgt, D_toy).float()  # (B, T, D) = (2, 4, 8): 디코더 쪽
src_memory = F.one_hot(src, D_toy).float()  # (B, S, D) = (2, 5, 8): 인코더 쪽
with torch.no_grad():
    read, align = toy(tgt_features, src_memory, src_memory)  # (B, T, D), (B, 1, T, S)
print("weights", tuple(align.shape), "= (B, H, T, S); 문장 0:\n", align[0, 0])

# %% [markdown] en="d6d8027426"
# 사전을 W^K에 넣었으므로 모든 행의 최대 가중치는 알려진 번역에 있어야 합니다. 이는 메커니즘(점수 →
# 소프트맥스 → 가중치)을 확인할 뿐, 아무것도 발견하지 않습니다. 실제로 그렇습니다.

# %% en="1e21906986"
found = align[0, 0].argmax(-1)  # (T,): 목표 단어마다 가장 많이 읽은 원문 위치
for i, t_word in enumerate(target_sentences[0]):
    j = int(found[i])
    print(
        f"{t_word:>4} -> {source_sentences[0][j]:<8} 읽음 (위치 {j}, 가중치 {float(align[0, 0, i, j]):.4f})"
    )
assert found.tolist() == known[0], "가중치가 정렬을 복원하지 못합니다"
print("행별 argmax == 알려진 정렬:", found.tolist() == known[0])

# %% [markdown] en="40c12a853a"
# 목표 위치의 출력은 그것이 원문에서 *가져간* 것입니다. 밸류 벡터들, 여기서는 원-핫 원문 단어들을 그 행의
# 가중치로 섞은 것입니다. "saw"의 출력은 93 %가 "gesehen"입니다. 그리고 "habe"의 열은 합이 1보다 훨씬
# 작습니다. 어떤 목표 단어도 그것이 필요 없으므로 거의 읽히지 않습니다(정확한 합계가 출력됩니다).

# %% en="fd5e88562b"
print("원문 어휘에 대한 'saw'의 출력:")
print({w: round(float(read[0, 1, i]), 4) for i, w in enumerate(src_vocab)})
column_sums = align[0, 0].sum(0)  # (T, S) -> (S,)
print("열의 합, 문장 0 (S,):", column_sums)
print(f"'habe'(열 1)는 거의 읽히지 않음: 합계 {column_sums[1]:.2f}")

# %% [markdown] en="0892cfe30a"
# 열의 합이 1보다 **클** 수도 있습니다. 열을 정규화하는 것은 아무것도 없습니다. 모두 "dog"을 뜻하는 목표
# 단어 세 개가 모두 "Hund"를 읽습니다.

# %% en="f18e84e5a1"
dogs = torch.tensor([[tgt_vocab.index(w) for w in ["dog", "dog", "the", "dog"]]])  # (1, T) = (1, 4)
with torch.no_grad():
    _, align_dogs = toy(F.one_hot(dogs, D_toy).float(), src_memory[:1], src_memory[:1])  # (1, 1, T, S)
print("'dog dog the dog'의 열의 합 (S,):", align_dogs[0, 0].sum(0))
print(f"'Hund'(열 3)는 모두 합쳐 {align_dogs[0, 0, :, 3].sum():.2f}번 읽힘")
assert align_dogs[0, 0, :, 3].sum() > 1

# %% [markdown] en="e6088efe1b"
# 왼쪽 패널은 사전 W^K, 오른쪽은 그것이 만들어 내는 가중치입니다. 점선 테두리는 알려진 정렬을 표시합니다.
# "gesehen" → "saw" 칸은 대각선에서 멀리 떨어져 있습니다.

# %% en="da90a351f5"
fig, (ax_dict, ax_map) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1, 1.15]})
rows, cols = list(range(2, 7)), list(range(7))  # 영어 단어 I..dog, 모든 원문 단어
plot_dictionary(
    dictionary[rows][:, cols],
    [tgt_vocab[i] for i in rows],
    [src_vocab[j] for j in cols],
    title="W^K, 손으로 설정한 사전 (흰색 = 0)",
    ax=ax_dict,
)
plot_alignment(
    align[0, 0],
    source_sentences[0],
    target_sentences[0],
    known[0],
    title="가중치 softmax(QKᵀ/√d_k)\n(점선 테두리: 알려진 정렬)",
    ax=ax_map,
)
fig.suptitle("W^K에 넣은 사전 덕분에 각 목표 단어의 쿼리가 그 번역의 키와 맞아떨어집니다")
fig.tight_layout()
plt.show()

# %% [markdown] en="f3245f2651"
# 이 점수에는 단어가 *어디에* 있는지에 의존하는 것이 없습니다. 장난감 예제에는 **위치 인코딩(positional
# encoding)이 없고**, 벡터는 단어 그 자체입니다. 그래서 "saw"는 멀리 있는 "gesehen"에도 이웃만큼 쉽게
# 닿고, 원문을 섞으면 맵의 열만 섞입니다.

# %% en="67fb261ffa"
perm = torch.tensor([4, 2, 0, 3, 1])  # 원문 단어 5개의 새 순서
with torch.no_grad():
    _, align_shuffled = toy(tgt_features[:1], src_memory[:1, perm], src_memory[:1, perm])  # (1, 1, T, S)
torch.testing.assert_close(align_shuffled[0, 0], align[0, 0][:, perm])
print("섞은 원문:", [source_sentences[0][j] for j in perm.tolist()])
print("섞은 원문의 가중치 == 열을 섞은 기존 가중치: True")

# %% [markdown] en="40e7982b32"
# 따라서 "가까운 위치를 선호하지 않음"은 이 장난감 예제의 성질이지 어텐션의 성질이 아닙니다. 실제
# 트랜스포머에서는 위치 인코딩이 모든 토큰 벡터에 더해지고(04 수업) 쿼리와 키가 위치 정보를 지니므로,
# 학습된 모델은 위치를 선호하도록 배울 수 있습니다. 07 수업의 모델은 출력 i에 대해 원문 위치 L − 1 − i를
# 위치만으로 읽습니다.
#
# 학습된 트랜스포머에서는 아무도 W^Q와 W^K를 손으로 설정하지 않습니다. 그것들은 학습되며, 실제 디코더에서
# 위치 i의 쿼리는 그 *앞의* 단어들로 계산되어 다음에 무엇을 쓸지 묻습니다. 07 수업에서 모델을 학습시켜 그
# 크로스 어텐션에서 깔끔한 정렬을 찾습니다.

# %% [markdown] en="24c2f16df8"
# ## 3. 크로스 어텐션에는 인과 마스크가 없습니다
#
# 디코더의 셀프 어텐션에는 인과 마스크(causal mask)가 필요합니다(05 수업). 목표 위치 i는 i 뒤의 목표 단어를
# 읽으면 안 됩니다. 생성할 때는 아직 존재하지 않기 때문입니다. 크로스 어텐션은 **원문**을 읽고, 원문은 첫
# 목표 단어가 생성되기 전에 **완전히 알려져** 있습니다. 인코더가 전부 읽었습니다. 따라서 모든 목표 위치가
# **모든** 원문 위치를 볼 수 있습니다. 시드 노트의 "디코더의 모든 위치가 입력 시퀀스의 모든 위치에 어텐션할
# 수 있다"가 이것입니다.
#
# 여기서 인과 마스크는 예방책이 아니라 버그입니다. `causal_mask(T, S)`는 목표 i가 i + 1 뒤의 원문 단어를
# 보지 못하게 합니다. S > T이면 `attn_lib`은 대각선을 **오른쪽 아래**에 맞춥니다(마지막 쿼리가 모든 키를
# 봅니다. 이유는 곧 설명합니다). 어느 쪽이든 "saw"는 더 이상 "gesehen"에 닿지 못합니다.

# %% en="cf5bbb4e7d"
wrong_mask = attn_lib.causal_mask(T, S)  # (T, S) = (4, 5): 크로스 어텐션에서의 실수
with torch.no_grad():
    _, align_causal = toy(tgt_features, src_memory, src_memory, mask=wrong_mask)
print("attn_lib.causal_mask(T, S), 오른쪽 아래 정렬:\n", wrong_mask.int())
print("인과 마스크를 쓴 argmax:", align_causal[0, 0].argmax(-1).tolist(), "| 알려진 정렬:", known[0])

# %% [markdown] en="504e6a0353"
# PyTorch와 비교할 때 조심하세요. `F.scaled_dot_product_attention(..., is_causal=True)`는 대각선을 대신
# **왼쪽 위**에 맞춥니다(S와 상관없이 쿼리 i는 키 j ≤ i를 봅니다). 그래서 T ≠ S이면 두 "인과" 마스크가
# 다릅니다.

# %% en="93e786c52b"
top_left = torch.ones(T, S, dtype=torch.bool).tril()  # (T, S): 쿼리 i는 키 j <= i를 봄
gen = torch.Generator().manual_seed(0)
q_demo, k_demo = torch.randn(1, T, D_toy, generator=gen), torch.randn(1, S, D_toy, generator=gen)
torch.testing.assert_close(
    F.scaled_dot_product_attention(q_demo, k_demo, k_demo, is_causal=True),
    F.scaled_dot_product_attention(q_demo, k_demo, k_demo, attn_mask=top_left),
)
print("is_causal=True == attn_mask=top_left:\n", top_left.int())
print("attn_lib.causal_mask(T, S)와 같음:", torch.equal(top_left, wrong_mask))

# %% [markdown] en="cad3d4894b"
# `attn_lib`은 왜 오른쪽 아래에 맞출까요? T_q < T_k인 인과 마스크가 옳은 유일한 경우 때문입니다. 바로
# **KV 캐시(KV cache)** 뒤의 디코더 **셀프** 어텐션입니다. 거기서 쿼리는 가장 새로운 위치들뿐이고, 키는
# 지금까지의 모든 위치입니다. 마지막 쿼리는 마지막 위치이므로 모든 키를 볼 수 있습니다. 그러면
# `causal_mask(T_new, T_all)`는 전체 `causal_mask(T_all)`의 마지막 T_new개 행과 정확히 같고, 새 쿼리만으로 한
# 어텐션은 전체 인과 어텐션의 마지막 행들을 줍니다. (`attn_lib.Transformer`가 캐시로 디코딩할 때,
# `greedy_decode(..., use_cache=True)`, 새 토큰에 주는 마스크가 이것입니다. 캐시가 얼마나 절약하는지는 08
# 수업에서 측정합니다.)

# %% en="6583cd2f8a"
T_new, T_all = 2, 5  # 앞선 위치 3개의 캐시 뒤에 새 쿼리 2개: 키 5개
x_all = torch.randn(1, T_all, D_toy, generator=gen)  # (1, T_all, D): 시퀀스 하나, 셀프 어텐션
full_out, _ = attn_lib.scaled_dot_product_attention(x_all, x_all, x_all, mask=attn_lib.causal_mask(T_all))
new_out, _ = attn_lib.scaled_dot_product_attention(
    x_all[:, -T_new:], x_all, x_all, mask=attn_lib.causal_mask(T_new, T_all)
)  # 쿼리: 가장 새로운 위치 2개만, (1, 2, D)
torch.testing.assert_close(new_out, full_out[:, -T_new:])
print("causal_mask(2, 5):\n", attn_lib.causal_mask(T_new, T_all).int())
print("== causal_mask(5)의 마지막 2행:", torch.equal(attn_lib.causal_mask(T_new, T_all), attn_lib.causal_mask(T_all)[-T_new:]))
print("가장 새로운 쿼리 2개의 어텐션 == 전체 인과 어텐션의 마지막 2행 (반올림 오차 범위에서)")

# %% en="10b03b53ac"
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
plot_alignment(
    align[0, 0], source_sentences[0], target_sentences[0], known[0], "마스크 없음 (올바름)", axes[0], False
)
plot_alignment(
    align_causal[0, 0],
    source_sentences[0],
    target_sentences[0],
    known[0],
    "causal_mask(T, S) (틀림)",
    axes[1],
    mask=wrong_mask,
)
axes[1].set_ylabel("")
fig.suptitle('크로스 어텐션의 인과 마스크는 "saw"에게서 "gesehen"을 가립니다: 정렬이 깨집니다')
fig.tight_layout()
plt.show()

# %% [markdown] en="bb30c71f40"
# 여기에 마스크가 없는데도 디코더는 여전히 인과적일까요? 그렇습니다. 목표 위치 i의 쿼리는 목표 위치 ≤ i에서만
# 계산되고(마스킹된 셀프 어텐션), 키와 밸류는 원문에서만 옵니다. 뒤쪽 목표 단어에서 위치 i로 이어지는 경로는
# 없습니다. 5절에서 디코더 층 전체로 확인합니다.
#
# ## 4. 원문 패딩 마스크
#
# 문장 1(코드처럼 0부터 셉니다)은 원문 단어가 4개뿐이라 S = 5로 패딩됩니다. 패딩된 위치의 인코더 출력은 0이
# **아닙니다**. 인코더가 그 자리에서 계산한 무언가이고(04 수업), 실제 단어와 비슷할 수도 있습니다. 요점을
# 보이기 위해 패딩된 위치에 우연히 "Hund"와 똑같아 보이는 벡터를 줍니다.

# %% en="ab8af38b72"
memory_padded = src_memory.clone()
memory_padded[1, 4] = F.one_hot(torch.tensor(src_vocab.index("Hund")), D_toy).float()  # 패딩 위치의 쓰레기 값
with torch.no_grad():
    _, align_nomask = toy(tgt_features, memory_padded, memory_padded)  # (B, 1, T, S)
print('패딩 마스크 없는 문장 1, "dog" 행:', align_nomask[1, 0, 3])

# %% [markdown] en="f8373e6b0a"
# 마스크가 없으면 "dog"은 어텐션의 절반을 패딩에 줍니다. 해결책은 04 수업의 패딩 마스크를 **원문** 토큰으로
# 만드는 것입니다. `padding_mask(src, PAD)`는 모양이 `(B, 1, 1, S)`이고 실제 토큰에서 True입니다. H개 헤드와
# T개 목표 위치에 걸쳐 점수의 `(B, H, T, S)`로 브로드캐스트되므로, 어느 헤드의 어느 목표 위치도 패딩된 원문
# 위치를 읽을 수 없습니다.

# %% en="7505df6fa8"
src_mask = attn_lib.padding_mask(src, PAD)  # (B, 1, 1, S) = (2, 1, 1, 5)
print("src_mask", tuple(src_mask.shape), "= (B, 1, 1, S):", src_mask[:, 0, 0].tolist())
print(
    "점수로 브로드캐스트:",
    tuple(torch.broadcast_shapes(src_mask.shape, (B, 1, T, S))),
    "= (B, H, T, S), 장난감 예제의 H = 1",
)
with torch.no_grad():
    read_masked, align_masked = toy(tgt_features, memory_padded, memory_padded, mask=src_mask)
print("패딩된 열의 가중치:", align_masked[1, 0, :, 4])
print("정확히 0:", bool((align_masked[1, 0, :, 4] == 0).all()))
print("행의 합, 문장 1:", align_masked[1, 0].sum(-1).round(decimals=4))

# %% [markdown] en="050ea1932a"
# 마스크가 있으면 문장 1은 **패딩이 전혀 없을 때**, 즉 실제 원문 단어 4개만으로 계산했을 때와 정확히 같은
# 결과를 얻습니다.

# %% en="d814d54491"
with torch.no_grad():
    read_alone, align_alone = toy(tgt_features[1:], src_memory[1:, :4], src_memory[1:, :4])  # S = 4, 패딩 없음
torch.testing.assert_close(align_masked[1:, :, :, :4], align_alone)
torch.testing.assert_close(read_masked[1:], read_alone)
print("마스킹된 패딩 문장 == 패딩 없는 같은 문장")

# %% [markdown] en="ab292bc2df"
# 그리고 인코더가 패딩된 위치에 무엇을 남기든 출력은 마지막 비트까지도 움직이지 않습니다.

# %% en="aca6f50cc7"
changes = []
for scale in (1.0, 10.0, 1000.0):
    garbage = memory_padded.clone()
    garbage[1, 4] = scale * torch.randn(D_toy)  # 패딩 위치에 아무 벡터
    with torch.no_grad():
        with_mask, _ = toy(tgt_features, garbage, garbage, mask=src_mask)
        without_mask, _ = toy(tgt_features, garbage, garbage)
    changes.append(
        (scale, (with_mask - read_masked).abs().max().item(), (without_mask - read).abs().max().item())
    )
for scale, masked_change, unmasked_change in changes:
    print(
        f"pad 벡터 ~ {scale:>6} * N(0,1): 최대 출력 변화, 마스크 있음 {masked_change}, 없음 {unmasked_change:.4f}"
    )
assert all(masked_change == 0.0 for _, masked_change, _ in changes)

# %% en="975a1f1bcf"
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
args = (source_sentences[1], target_sentences[1], known[1])
plot_alignment(align_nomask[1, 0], *args, title="패딩 마스크 없음", ax=axes[0], colorbar=False)
plot_alignment(align_masked[1, 0], *args, title="padding_mask(src, PAD)", ax=axes[1], mask=src_mask[1, 0])
axes[1].set_ylabel("")
fig.suptitle('원문 패딩 마스크가 없으면 "dog"이 패딩을 읽고, 있으면 <pad> 열이 정확히 0입니다')
fig.tight_layout()
plt.show()

# %% [markdown] en="4219b4ef4e"
# **목표** 쪽의 패딩은 어떨까요? 패딩된 목표 위치도 쿼리를 보내고 출력을 받지만, 아무것도 그것을 쓰지
# 않습니다. 손실(loss)이 패딩된 목표를 건너뜁니다(07 수업). 그래서 크로스 어텐션에는 원문 패딩 마스크만
# 필요합니다.
#
# ## 5. 디코더 층 전체를 정확히
#
# 시드 노트는 세 어텐션의 이름을 대지만 층을 하나로 묶는 것은 빠뜨립니다. 정확히 말하면
# `attn_lib.DecoderLayer`(논문처럼 post-norm)는 디코더 입력 y `(B, T, D)`와 인코더 메모리 `(B, S, D)`에 대해
# 다음을 계산합니다.
#
# 1. **마스킹된 셀프 어텐션**: x₁ = LayerNorm₁(y + SelfAttn(y, y, y, causal ∧ target padding))
# 2. **크로스 어텐션**: x₂ = LayerNorm₂(x₁ + CrossAttn(x₁, memory, memory, source padding))
# 3. **피드포워드**: x₃ = LayerNorm₃(x₂ + FFN(x₂)), FFN(z) = ReLU(z W₁ + b₁) W₂ + b₂이며 은닉 유닛은 d_ff개이고
#    모든 위치에 똑같이 적용됩니다.
#
# 2단계의 쿼리는 x₁, 즉 (잔차와 LayerNorm을 거친) **마스킹된 셀프 어텐션 서브층의 출력**입니다.
# `norm_first=True`(pre-norm)이면 대신 LayerNorm₂(x₁)이 되고, 잔차는 LayerNorm 밖에서 더해집니다(post-norm
# 층 다음에 아래에서 확인합니다).
#
# 실제 입력을 만듭니다. 인코더(04 수업)가 원문을 읽고, 디코더 입력은 `<bos>` 뒤로 오른쪽으로 민 목표입니다
# (05 수업). "`<bos>` I saw the"가 "I saw the dog"을 만들어야 합니다.

# %% en="820497a698"
torch.manual_seed(0)
d_ff = 64
src_embed, tgt_embed = nn.Embedding(len(src_vocab), D), nn.Embedding(len(tgt_vocab), D)
for embed in (src_embed, tgt_embed):  # attn_lib.Transformer가 시작하는 방식대로 (이유는 07 수업에서)
    nn.init.normal_(embed.weight, mean=0.0, std=D**-0.5)
pos = attn_lib.PositionalEncoding(D, max_len=16)


def embed_tokens(embed: nn.Embedding, tokens: torch.Tensor) -> torch.Tensor:
    """(B, T) id -> (B, T, D): attn_lib.Transformer처럼 임베딩 × √d_model + 위치 인코딩."""
    return pos(embed(tokens) * math.sqrt(D))


encoder = attn_lib.Encoder(1, D, H, d_ff).eval()
layer = attn_lib.DecoderLayer(D, H, d_ff).eval()

decoder_inputs = [["<bos>", *t[:-1]] for t in target_sentences]  # 오른쪽으로 밀기
tgt_in = torch.tensor([[tgt_vocab.index(w) for w in t] for t in decoder_inputs])  # (B, T) = (2, 4)
self_mask = attn_lib.combine_masks(
    attn_lib.causal_mask(T), attn_lib.padding_mask(tgt_in, PAD)
)  # (B, 1, T, T)
with torch.no_grad():
    memory, _ = encoder(embed_tokens(src_embed, src), src_mask)  # (B, S, D): 인코더 출력
    y = embed_tokens(tgt_embed, tgt_in)  # (B, T, D): 임베딩 × √D + 위치 인코딩
print("디코더 입력:", decoder_inputs[0], "| y", tuple(y.shape), "| memory", tuple(memory.shape))
print("self_mask", tuple(self_mask.shape), "| src_mask", tuple(src_mask.shape))

# %% [markdown] en="21127ae2f7"
# 세 서브층을 층 자신의 모듈로 한 줄씩 실행합니다.

# %% en="85efc3538a"
with torch.no_grad():
    a, w_self = layer.self_attn(y, y, y, mask=self_mask)  # (B, T, D), (B, H, T, T)
    x1 = layer.norm1(y + a)  # 1. 마스킹된 셀프 어텐션 + 잔차 + LayerNorm
    c, w_cross = layer.cross_attn(x1, memory, memory, mask=src_mask)  # (B, T, D), (B, H, T, S)
    x2 = layer.norm2(x1 + c)  # 2. 크로스 어텐션 + 잔차 + LayerNorm
    x3 = layer.norm3(x2 + layer.ff(x2))  # 3. 피드포워드 + 잔차 + LayerNorm

for name, t in [("y", y), ("셀프 어텐션", a), ("x1", x1), ("크로스 어텐션", c), ("x2", x2), ("x3", x3)]:
    print(f"{pad(name, 13)} {tuple(t.shape)}")
print("셀프 어텐션 가중치  ", tuple(w_self.shape), "= (B, H, T, T)")
print("크로스 어텐션 가중치", tuple(w_cross.shape), "= (B, H, T, S)")

# %% [markdown] en="2371f33fcf"
# 이것이 `attn_lib.DecoderLayer.forward`입니다. `need_weights=True`이면 두 가중치 텐서도 함께 돌려줍니다.

# %% en="3e34197bcb"
with torch.no_grad():
    out_layer, self_weights, cross_weights = layer(y, memory, self_mask, src_mask, need_weights=True)
torch.testing.assert_close(out_layer, x3)
torch.testing.assert_close(self_weights, w_self)
torch.testing.assert_close(cross_weights, w_cross)
print(
    "손 계산 == attn_lib.DecoderLayer:",
    tuple(out_layer.shape),
    tuple(self_weights.shape),
    tuple(cross_weights.shape),
)

# %% [markdown] en="05a08b53c5"
# **pre-norm 확인.** `norm_first=True`이면 각 LayerNorm이 가지 안으로 들어갑니다.
# x₁ = y + SelfAttn(LayerNorm₁(y))이고, 크로스 어텐션은 LayerNorm₂(x₁)에서 쿼리를 받습니다. 층의
# `cross_attn`에 단 forward pre-hook이 실제로 받은 쿼리를 기록합니다.

# %% en="dfb3abfeb7"
pre = attn_lib.DecoderLayer(D, H, d_ff, norm_first=True).eval()
received = {}
hook = pre.cross_attn.register_forward_pre_hook(lambda module, args: received.update(query=args[0]))
with torch.no_grad():
    pre(y, memory, self_mask, src_mask)
    h = pre.norm1(y)
    x1_pre = y + pre.self_attn(h, h, h, mask=self_mask)[0]  # (B, T, D): 잔차는 LayerNorm 밖에서
hook.remove()
torch.testing.assert_close(received["query"], pre.norm2(x1_pre))
print("pre-norm: 크로스 어텐션 쿼리 == LayerNorm₂(x₁), x₁ = y + SelfAttn(LayerNorm₁(y)):", tuple(x1_pre.shape))

# %% [markdown] en="83941e9af9"
# (학습되지 않은) 층의 두 맵을 나란히 봅니다. 셀프 어텐션 맵은 정사각형이고 삼각형이며, 크로스 어텐션 맵은
# 꽉 찬 직사각형입니다. 층이 학습되지 않았으므로 가중치에는 아직 의미가 없지만, 0이 아닐 수 있는 영역의
# **모양**이 이 수업의 요점입니다.

# %% en="e9abdf43f4"
fig, (ax_self, ax_cross) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1, 1.2]})
plot_alignment(
    self_weights[0, 0],
    decoder_inputs[0],
    decoder_inputs[0],
    None,
    "셀프 어텐션 (T × T)",
    ax_self,
    False,
    self_mask[0, 0],
)
ax_self.set_xlabel("디코더 입력 토큰 (키, 밸류)")
ax_self.set_ylabel("디코더 입력 토큰 (쿼리)")
plot_alignment(
    cross_weights[0, 0], source_sentences[0], decoder_inputs[0], title="크로스 어텐션 (T × S)", ax=ax_cross
)
ax_cross.set_ylabel("")
fig.suptitle(
    "학습되지 않은 디코더 층, 헤드 0: 셀프 어텐션은 인과적 (T × T), 크로스 어텐션은 S 전체를 봄"
)
fig.tight_layout()
plt.show()

# %% [markdown] en="c9f41fe395"
# **디코더는 여전히 인과적입니다.** 크로스 어텐션에는 인과 마스크가 없지만, 마지막 디코더 입력을 바꿔도
# ("the" → "dog") 앞쪽 위치의 출력은 정확히 그대로입니다.

# %% en="8f5db3946e"
tgt_changed = tgt_in.clone()
tgt_changed[:, 3] = tgt_vocab.index("dog")
with torch.no_grad():
    # out_layer와 같이 need_weights=True: 같은 커널이므로 같은 입력이면 같은 비트
    out_changed, _, _ = layer(embed_tokens(tgt_embed, tgt_changed), memory, self_mask, src_mask, need_weights=True)
change = (out_changed - out_layer).abs().amax(-1)  # (B, T)
print("목표 위치별 max |변화|, 문장 0:", change[0])
assert bool((change[:, :3] == 0).all())

# %% [markdown] en="32f4677e9a"
# **고전적인 실수: 두 쪽 뒤바꾸기.** 출력 길이는 쿼리 쪽이 정합니다. 쿼리를 인코더에서 가져오면
# `cross_attn(memory, x1, x1)`은 **원문** 위치마다 벡터 하나를 돌려주고, 잔차 연결은 그것을 디코더의 x₁에
# 더할 수 없습니다.

# %% en="2b9a37cb34"
with torch.no_grad():
    swapped, w_swapped = layer.cross_attn(memory, x1, x1)  # 틀림: 쿼리를 인코더에서
print("뒤바꾼 출력  ", tuple(swapped.shape), "= (B, S, D), (B, T, D)여야 함")
print("뒤바꾼 가중치", tuple(w_swapped.shape), "= (B, H, S, T)")
try:
    x1 + swapped
except RuntimeError as err:
    print("x1 + swapped -> RuntimeError:", str(err).splitlines()[0])

# %% [markdown] en="8464bafb9d"
# T = S이면 모양이 맞아서 아무 오류도 나지 않고, 원문 패딩 마스크 `(B, 1, 1, S)`는 엉뚱한 축을 걸러 냅니다.
# 여기처럼 T ≠ S이면 `attn_lib`이 입구에서 잡아냅니다.

# %% en="6a57bc9436"
try:
    layer.cross_attn(memory, x1, x1, mask=src_mask)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown] en="248a856c21"
# T = S이면 아무것도 뒤바꾸기를 막지 못하고 미래가 샙니다. 처음 T = 4개의 원문 위치를 길이 S = 4인 대용
# 메모리로 삼고, **마지막** 목표 위치의 디코더 상태 x₁만 바꿉니다. 뒤바꾸면 출력 행 0이 바뀐 것을 포함한
# 모든 디코더 상태를 읽습니다. 올바른 방향에서는 행 i가 자기 쿼리를 통해서만 디코더를 읽으므로 행 0–2는
# 전혀 움직이지 않습니다(가중치와 밸류가 그대로이므로 정확히 0).

# %% en="e8f9456235"
memory_4 = memory[:, :T]  # S = T = 4인 (B, S, D): 이제 뒤바꿔도 모양이 맞음
x1_changed = x1.clone()
x1_changed[:, -1] = torch.randn(D)  # 마지막 목표 위치에 다른 디코더 상태
with torch.no_grad():
    swap_before, _ = layer.cross_attn(memory_4, x1, x1)  # 틀림: (B, T, D), 오류 없음
    swap_after, _ = layer.cross_attn(memory_4, x1_changed, x1_changed)
    right_before, _ = layer.cross_attn(x1, memory_4, memory_4)  # 올바름: 쿼리를 디코더에서
    right_after, _ = layer.cross_attn(x1_changed, memory_4, memory_4)
print("뒤바꿈, 행 0-2의 |변화|:", round((swap_after - swap_before)[:, :3].abs().max().item(), 2))
print("올바름, 행 0-2의 |변화|:", (right_after - right_before)[:, :3].abs().max().item() + 0.0)
assert (swap_after - swap_before)[:, :3].abs().max() > 0.01 and ((right_after - right_before)[:, :3] == 0).all()

# %% [markdown] en="ec19995a00"
# ## 6. PyTorch와 같은 숫자
#
# `torch.nn.MultiheadAttention`은 `query`가 `key`/`value`와 다르면 크로스 어텐션을 합니다. 그
# `key_padding_mask`는 `(B, S)`이고 의미가 **반대**입니다. True = 이 키를 무시(05 수업).
# `attn_lib.to_torch_mha_mask`가 우리 마스크를 뒤집고, `from_torch`가 가중치를 복사합니다.

# %% en="49498f7c2a"
torch.manual_seed(1)
torch_mha = nn.MultiheadAttention(D, H, batch_first=True).eval()
ours = attn_lib.MultiHeadAttention.from_torch(torch_mha).eval()
key_padding_mask = attn_lib.to_torch_mha_mask(src_mask[:, 0, 0])  # (B, 1, 1, S) -> (B, S), True = 무시
print("key_padding_mask (B, S):", key_padding_mask.tolist())
with torch.no_grad():
    out_torch, w_torch = torch_mha(
        x1, memory, memory, key_padding_mask=key_padding_mask, average_attn_weights=False
    )
    out_ours, w_ours = ours(x1, memory, memory, mask=src_mask)
torch.testing.assert_close(out_ours, out_torch)
torch.testing.assert_close(w_ours, w_torch)
print(
    "출력",
    tuple(out_ours.shape),
    "가중치",
    tuple(w_ours.shape),
    "| max |차이| < 1e-6:",
    (out_ours - out_torch).abs().max().item() < 1e-6,
)

# %% [markdown] en="517f41c0a7"
# 층 전체도 마찬가지입니다. `torch.nn.TransformerDecoderLayer`(post-norm, ReLU, 드롭아웃 없음)의 가중치를
# `attn_lib.DecoderLayer`에 복사하고, 둘에 같은 마스크를 각자의 규약으로 넣습니다. 같은 서브층, 같은 순서,
# 같은 잔차와 LayerNorm이니 같은 숫자가 나옵니다.

# %% en="85392d2a16"
torch_layer = nn.TransformerDecoderLayer(D, H, d_ff, dropout=0.0, batch_first=True).eval()
mine = attn_lib.DecoderLayer(D, H, d_ff)
mine.self_attn = attn_lib.MultiHeadAttention.from_torch(torch_layer.self_attn)  # 마스킹된 셀프 어텐션
mine.cross_attn = attn_lib.MultiHeadAttention.from_torch(torch_layer.multihead_attn)  # 크로스 어텐션
same_module = {  # attn_lib 이름 -> torch 이름
    "ff.linear1": "linear1",
    "ff.linear2": "linear2",
    "norm1": "norm1",  # 마스킹된 셀프 어텐션 뒤
    "norm2": "norm2",  # 크로스 어텐션 뒤
    "norm3": "norm3",  # 피드포워드 네트워크 뒤
}
for ours_name, torch_name in same_module.items():
    mine.get_submodule(ours_name).load_state_dict(torch_layer.get_submodule(torch_name).state_dict())
mine.eval()

causal = attn_lib.causal_mask(T)  # (T, T); tgt_in에는 패딩이 없음
with torch.no_grad():
    ref = torch_layer(
        y, memory, tgt_mask=attn_lib.to_torch_mha_mask(causal), memory_key_padding_mask=key_padding_mask
    )
    got, _, _ = mine(y, memory, self_mask=causal, memory_mask=src_mask)
torch.testing.assert_close(got, ref)
print(
    "attn_lib.DecoderLayer == torch.nn.TransformerDecoderLayer:",
    tuple(got.shape),
    "| max |차이| < 1e-6:",
    (got - ref).abs().max().item() < 1e-6,
)

# %% [markdown] en="4ac6a86031"
# ## 7. 위젯: 목표 단어는 어디를 볼까?
#
# 문장과 목표 단어를 고르세요. 오른쪽 패널은 그 단어의 원문 토큰에 대한 가중치(막대, 알려진 번역은 검은
# 테두리)를, 왼쪽 패널은 그 행이 빨간 테두리로 표시된 전체 맵을 보여 줍니다. 원문 패딩 마스크를 끄면 문장
# 1의 "dog"이 어텐션의 절반을 `<pad>`에 빼앗기는 것을 볼 수 있습니다. 그러면 "Hund"와 `<pad>`가 같은 가중치를
# 받고, 제목이 이를 동점이라고 알려 줍니다(argmax라면 위치만으로 둘 중 앞의 것을 골랐을 것입니다). 문장 0에는
# 패딩이 없으므로 마스크 토글은 맵의 제목("마스크: 0칸 막힘")만 바꿉니다. 가중치는 어느 쪽이든 똑같습니다(아래에서
# 확인). 로직은 `attn_lib.widgets.cross_attention_row`와 `plot_cross_attention_row`에 있습니다. 먼저 정적
# 호출입니다.

# %% en="c0e72ae0db"
row = cross_attention_row(align_masked[0], target=1)  # (S,): 문장 0의 원문에 대한 "saw"
print('"saw"의 행:', row, "| 합:", round(float(row.sum()), 4))
print("문장 0, 마스크가 있든 없든 같은 가중치:", torch.equal(align_masked[0], align_nomask[0]))
fig = plot_cross_attention_row(
    align_masked[0], source_sentences[0], target_sentences[0], target=1, head=0, expected=known[0]
)
plt.show()

# %% en="403aff684b" tags=["nbval-ignore-output"]
alignments = {True: align_masked, False: align_nomask}  # 각각 (B, 1, T, S), 패딩 위치에 쓰레기 값 "Hund"
words_at = [" / ".join(dict.fromkeys(t[i] for t in target_sentences)) for i in range(T)]  # "saw / see"
sentence_w = widgets.ToggleButtons(
    options=[("0: ich habe den Hund gesehen", 0), ("1: ich sehe den Hund <pad>", 1)], description="원문"
)
target_w = widgets.Dropdown(
    options=[(f"{i}: {w}", i) for i, w in enumerate(words_at)], value=1, description="목표 단어"
)
mask_w = widgets.ToggleButtons(options=[("켬", True), ("끔", False)], description="패딩 마스크")


def show(sentence: int, target: int, masked: bool) -> None:
    weights = alignments[masked][sentence]  # (1, T, S): 헤드 하나
    plot_cross_attention_row(
        weights,
        source_sentences[sentence],
        target_sentences[sentence],
        target,
        head=0,
        expected=known[sentence],
        mask=src_mask[sentence, 0] if masked else None,
    )
    plt.show()


view = widgets.interactive_output(show, {"sentence": sentence_w, "target": target_w, "masked": mask_w})
display(widgets.VBox([sentence_w, widgets.HBox([target_w, mask_w]), view]))

# %% [markdown] en="7327c9ad04"
# ## 연습 문제
#
# 이제 직접 작성해 봅시다. 각 `my_...` 함수의 본문을 채우고 그 아래 셀을 실행하세요. 채점기(checker)가
# 여러 입력으로 함수를 호출해 `attn_lib`과 비교합니다. 노란색 = 아직 시도하지 않음, 빨간색 = 무언가 다름
# (흔한 실수(mistake)의 이름과 힌트(hint)를 알려 줍니다), 초록색 = 정답.
#
# ### 연습 문제 1 · 단일 헤드 크로스 어텐션
#
# `decoder_x`는 `(B, T_dec, D)`, `encoder_out`은 `(B, T_enc, D)`이고, `W_q`와 `W_k`는 `(D, d_k)`, `W_v`는
# `(D, d_v)`이며 `decoder_x @ W_q`처럼 곱합니다. 어느 쪽이 쿼리를, 어느 쪽이 키와 밸류를 주는지 정하고
# $\text{softmax}(QK^\top/\sqrt{d_k})\,V$를 반환하세요. 출력은 디코더 위치마다 행이 하나입니다:
# `(B, T_dec, d_v)`.
#
# 막히면 `show_solution("cross_attention")`(`from attn_lib.exercises import show_solution` 뒤에).


# %% en="8b0043ec3c"
def my_cross_attention(decoder_x, encoder_out, W_q, W_k, W_v):
    """decoder_x (B, T_dec, D), encoder_out (B, T_enc, D) -> (B, T_dec, d_v) 모양."""
    ...  # 여기에 코드를 작성하세요


# %% en="1b3766ac1a"
from attn_lib.exercises import check_cross_attention

check_cross_attention(my_cross_attention)

# %% [markdown] en="d66152bfcd"
# ### 연습 문제 2 · 패딩 마스크
#
# `tokens` `(B, T)`에는 `pad_id`로 패딩된 토큰 id가 들어 있습니다. 모든 쿼리가 패딩된 *키*를 보지 못하게
# 하는 bool 마스크를 반환하세요. True = 어텐션 가능이고, 점수 `(B, H, T_q, T_k)`와 브로드캐스트되도록 모양은
# `(B, 1, 1, T)`입니다.
#
# 막히면 `show_solution("padding_mask")`.


# %% en="1e4135653a"
def my_padding_mask(tokens, pad_id):
    """tokens (B, T) -> bool (B, 1, 1, T), 토큰이 pad_id가 아닌 곳이 True."""
    ...  # 여기에 코드를 작성하세요


# %% en="3fde3363a1"
from attn_lib.exercises import check_padding_mask

check_padding_mask(my_padding_mask)

# %% [markdown] en="9727e01fa2"
# ## 요약
#
# - **크로스 어텐션**(주장 S9): 쿼리는 디코더, 즉 마스킹된 셀프 어텐션 서브층의 출력에서, 키와 밸류는 인코더
#   출력에서 옵니다. 모양: 쿼리 `(B, H, T, Dh)`, 키와 밸류 `(B, H, S, Dh)`, 가중치 `(B, H, T, S)`, 출력
#   `(B, T, D)`. **출력의 길이는 디코더의 길이**이고, 원문 길이는 합산되어 사라집니다.
# - 가중치의 각 행은 **원문에 대해** 합이 1입니다. 열은 그럴 필요가 없습니다(원문 단어 하나를 여러 목표
#   단어가 읽을 수도, 아무도 읽지 않을 수도 있고, 열의 합이 1보다 클 수도 있습니다). 크로스 어텐션 맵은
#   **정렬**로 읽힙니다. W^K에 사전을 손으로 넣었더니 어순이 다른 곳("saw" ← "gesehen")에서도 모든 행의
#   argmax가 알려진 번역이었습니다. 장난감 예제에는 위치 인코딩이 없으므로 위치는 점수에 아무 역할도 하지
#   않습니다.
# - **인과 마스크 없음**: 디코딩이 시작되기 전에 원문은 완전히 알려져 있으므로, 모든 목표 위치가 모든 원문
#   위치를 읽을 수 있습니다. 거기에 인과 마스크를 넣으면 정렬이 깨집니다. 디코더는 마스킹된 셀프 어텐션을
#   통해 인과성을 유지합니다(뒤쪽 입력을 바꿔도 앞쪽 출력은 정확히 그대로였습니다).
# - **원문 패딩 마스크** `padding_mask(src, PAD)`, `(B, 1, 1, S)`는 헤드와 목표 위치에 걸쳐 브로드캐스트됩니다.
#   패딩된 열의 가중치는 정확히 0이고, 인코더가 패딩 위치에 무엇을 남기든 패딩된 문장은 패딩 없는 문장과
#   같은 숫자를 줍니다.
# - **`DecoderLayer`** = 마스킹된 셀프 어텐션 → 크로스 어텐션 → 피드포워드이며, 각각 LayerNorm(x + sublayer(x))
#   (post-norm)입니다. `need_weights=True`이면 셀프 가중치 `(B, H, T, T)`와 크로스 가중치 `(B, H, T, S)`를
#   돌려줍니다. `torch.nn.TransformerDecoderLayer`와 일치합니다.
# - **두 쪽을 뒤바꾸면**(쿼리를 인코더에서) 출력 길이가 T가 아니라 S가 됩니다. T = S이면 조용히 통과하고
#   미래가 새게 합니다.
# - T_q < T_k인 인과 마스크가 있을 곳은 **KV 캐시** 뒤입니다. `causal_mask(T_new, T_all)`은
#   `causal_mask(T_all)`의 마지막 T_new개 행(오른쪽 아래 정렬)이며, 크로스 어텐션에는 절대 넣지 않습니다.
#
# ## 스스로 점검하기
#
# 1. 목표 위치가 T = 7개인 디코더가 S = 12 토큰의 원문을 읽습니다. d_model = 512, 헤드 8개입니다. 크로스
#    어텐션 한 번 호출(배치 B)의 쿼리, 키, 가중치, 출력의 모양은?
# 2. 크로스 어텐션에 인과 마스크가 필요 없는 이유는 무엇이고, 그래도 디코더가 인과적인 이유는?
# 3. 크로스 어텐션 맵의 행은 합이 1입니다. 열도 그럴까요? 합이 아주 작은 열(위의 "habe"처럼)은 무엇을
#    말해 줄까요?
# 4. 크로스 어텐션에는 어떤 마스크가 들어가고 모양은 무엇이며, 거기에 목표 패딩 마스크가 필요 없는 이유는?
# 5. 동료가 T = S = 10에서 `layer.cross_attn(memory, x, x)`라고 썼는데 오류가 나지 않습니다. 결과에서 무엇이
#    잘못되었을까요?
#
# <details><summary>정답</summary>
#
# 1. 쿼리 `(B, 8, 7, 64)`, 키와 밸류 `(B, 8, 12, 64)`, 가중치 `(B, 8, 7, 12)`, 출력 `(B, 7, 512)`: 목표
#    위치마다 벡터 하나입니다.
# 2. 원문은 첫 목표 단어가 생성되기 전에 완성되어 있으므로 그 안에 "미래"는 없습니다. 위치 i의 쿼리는 목표
#    위치 ≤ i에서(그 앞의 마스킹된 셀프 어텐션), 키와 밸류는 원문에서만 옵니다. 뒤쪽 목표 단어에서 위치 i로
#    가는 경로는 없습니다.
# 3. 아닙니다. 열의 합은 모든 목표 단어가 그 원문 단어를 모두 합쳐 얼마나 읽는지를 말합니다. 합이 아주
#    작으면 어떤 목표 단어도 그 단어가 필요 없다는 뜻입니다(여기서는 조동사 "habe", 그 뜻은 "saw"가
#    담습니다). 열의 합이 1보다 클 수도 있습니다(2절에서 "dog dog the dog"은 "Hund"를 약 2.8번 읽었습니다).
# 4. 원문 패딩 마스크 `padding_mask(src, PAD)`, `(B, 1, 1, S)`이며 헤드와 목표 위치에 걸쳐 브로드캐스트됩니다.
#    패딩된 목표 위치도 출력을 받지만 손실이 무시하므로 크로스 어텐션에서 마스크가 필요 없습니다.
# 5. 쿼리가 인코더에서 옵니다. 각 출력 행은 *원문* 위치에 속하고 *디코더* 상태를 읽습니다. 모양은 T = S라서
#    맞을 뿐입니다. 디코더의 잔차는 원문 인덱스의 벡터를 목표 위치에 더하고, 원문 패딩 마스크는 엉뚱한 축을
#    거르며, 목표 위치 i가 i 뒤의 디코더 상태를 볼 수 있어 미래가 샙니다(5절에서 마지막 디코더 상태를 바꾸자
#    뒤바꾼 출력의 행 0–2가 움직였습니다).
#
# </details>
