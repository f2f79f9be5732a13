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

# %% [markdown] en="cee5016d6a"
# # 10 · 디코더 전용 모델과, 규칙을 배우는 헤드: 인덕션 헤드
#
# GPT, Llama, Mistral, Qwen에는 인코더(encoder)도 크로스 어텐션(cross-attention)도 없습니다. 수업 05의 *디코더 셀프
# 어텐션(decoder self-attention)*을 쌓아 다음 토큰(token)을 예측하도록 학습시킨 것이 전부입니다. 이 수업에서는 강좌의
# 층(layer)들로 이런 모델을 만들고, 아주 작은 모델(어텐션만 있는 층 두 개)을 CPU에서 학습시킨 뒤 속을 열어 봅니다. 한
# 구간이 반복되는 텍스트에서 모델은 반복을 이어 가는 법을 배우고, 우리는 그 일을 하는 두 헤드를 찾습니다: 층 0의
# **이전 토큰 헤드(previous-token head)**와 층 1의 **인덕션 헤드(induction head)**입니다(Olsson et al., 2022,
# "In-context learning and induction heads").
#
# 수업 03(6절)은 학습된 헤드가 알아볼 수 있는 규칙을 따른다고 주장했고, 그 규칙에 맞춘 과제로 헤드 두 개를
# 학습시켰습니다. 여기서는 규칙을 주지 않습니다. 헤드는 그 규칙이 손실(loss)을 낮추기 때문에 스스로 찾아내고, 우리는
# 세 가지 방법으로 확인합니다: 헤드의 맵으로, 모든 헤드에 매긴 점수(score)로, 그리고 헤드를 꺼 보는 것으로.
#
# **학습 목표(learning goals).** 이 수업을 마치면 다음을 할 수 있습니다.
# 1. 모델이 *디코더 전용(decoder-only)*이라는 것이 무슨 뜻인지 말하고, `attn_lib.DecoderOnlyLM`으로 만들 수 있다
#    (임베딩(embedding), 위치, 인과적 블록, 인코더 없음).
# 2. 두 단계로 된 인덕션 회로를 설명할 수 있다: 층 0은 각 토큰의 바로 앞 토큰을 그 위치로 복사하고, 층 1은 현재 토큰을
#    그 복사본들과 맞춰 보아 앞선 등장 바로 뒤의 토큰을 읽는다.
# 3. 모든 헤드에 점수를 매길 수 있다: 부대각선(이전 토큰)과 인덕션 오프셋 `k = q − P + 1`에 놓인 가중치를, 균등한
#    어텐션이 줄 값과 비교한다.
# 4. 문맥 내 학습(in-context learning)을 측정하고(반복 구간의 손실이 첫 등장의 손실보다 훨씬 낮음), 어블레이션
#    (ablation)으로 그것이 어느 헤드를 필요로 하는지 보일 수 있다.
# 5. 한 번의 학습 실행이 보여 주는 것과 어디서나 성립하는 것을 구별할 수 있다: 이 수업은 학습된 숫자를 여유를 두고
#    단언하며, 헤드를 번호가 아니라 점수로 고른다.

# %% en="setup"
from attn_lib.i18n import set_language

set_language("ko")

# %% en="ea0e31b608"
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from attn_lib import DecoderOnlyLM, ablation_mask, induction_score, previous_token_score
from attn_lib.i18n import pad
from attn_lib.lm import (
    LM_ALPHABET,
    decode_text,
    encode_text,
    half_losses,
    make_repeated_segments,
    token_losses,
    train_induction_model,
)
from attn_lib.train import ProgressBar
from attn_lib.widgets import (
    char_labels,
    plot_head_scores,
    plot_lm_heads,
    plot_position_losses,
    plot_prompt_attention,
    plot_training_and_scores,
    prompt_attention,
    select_heads,
    uniform_causal_scores,
)

torch.manual_seed(0)
torch.set_num_threads(1)  # 스레드 하나: 이 기계에서는 같은 합을 같은 순서로 계산
torch.set_printoptions(precision=2, sci_mode=False, linewidth=110)
print("torch", torch.__version__, "| 스레드 수:", torch.get_num_threads())

# %% [markdown] en="2701b7b136"
# ## 1 · 디코더 전용 모델
#
# `DecoderOnlyLM`은 수업 05의 디코더에서 크로스 어텐션을 뺀 것입니다.
#
# 1. 토큰 id `(B, T)` → 임베딩 `(B, T, D)`, 여기에 위치마다 위치 벡터를 더합니다(여기서는 학습되는 표;
#    `positional="sinusoidal"`이면 수업 04의 것, `"none"`이면 없음).
# 2. 블록 `num_layers`개. 각 블록은 pre-norm입니다: **인과 마스크(causal mask)**를 쓴 `x = x + Attn(LayerNorm(x))`,
#    그다음 (`d_ff=0`이 아니면) `x = x + FF(LayerNorm(x))`. 어텐션은 강좌의 `MultiHeadAttention`, 피드포워드
#    네트워크(feed-forward network)는 강좌의 `FeedForward`입니다.
# 3. 마지막 LayerNorm과, `V`개의 점수로 가는 선형 층. 로짓의 행 `t`는 `t + 1`에 올 토큰에 점수를 매깁니다.
#
# 우리 모델은 아주 작고 *어텐션만* 있습니다(`d_ff=0`): 헤드 4개짜리 층 2개, `d_model = 64`, 문자 32개의 어휘
# (vocabulary)입니다.

# %% en="6af6875fd1"
model = DecoderOnlyLM(len(LM_ALPHABET), d_model=64, num_heads=4, num_layers=2, d_ff=0, max_len=32)
print(model.layers[0])
print("파라미터 수:", sum(p.numel() for p in model.parameters()))
print("어휘:", repr(LM_ALPHABET))

# %% [markdown] en="34d3080a54"
# 모델은 토큰 id `(B, T)`를 읽어 로짓 `(B, T, V)`를 반환하고, 요청하면 층마다 어텐션 맵 `(B, H, T, T)`도 하나씩
# 반환합니다. 모든 맵은 하삼각 행렬입니다. 막힌(미래의) 키(key)의 점수는 소프트맥스(softmax) 전에 −∞이므로, 그
# 가중치는 정확히 0입니다.

# %% en="a2b16f1b86"
x = encode_text("hello world")[None]  # (1, 11)
logits, maps = model(x, need_weights=True)
print("토큰", tuple(x.shape), "-> 로짓", tuple(logits.shape), "| 맵:", [tuple(w.shape) for w in maps])
future = ~torch.ones(11, 11, dtype=torch.bool).tril()
print("미래 키에 놓인 가중치, 모든 헤드와 층에서 정확히 0:", all(bool((w[..., future] == 0).all()) for w in maps))

# %% [markdown] en="a8b2010f58"
# 따라서 위치 `t`는 뒤에 오는 토큰을 볼 수 없습니다. 마지막 다섯 글자를 바꾸어도 처음 여섯 행의 로짓은 반올림 오차
# 범위에서 같고, 뒤쪽 행들은 바뀝니다(대조군).

# %% en="5b03f921a9"
y = encode_text("hello there")[None]
with torch.no_grad():
    early = (model(x)[:, :6] - model(y)[:, :6]).abs().max().item()
    late = (model(x)[:, 6:] - model(y)[:, 6:]).abs().max().item()
print("처음 6개 행: max |diff| < 1e-5:", early < 1e-5, "| 뒤쪽 행: max |diff| > 0.01:", late > 0.01)

# %% [markdown] en="63866ae1ee"
# ## 2 · 과제: 무작위 구간의 반복
#
# 학습 시퀀스(sequence)는 각각 `P`글자의 무작위 구간을 32글자가 찰 때까지 반복한 것입니다. 첫 등장은 순수한
# 잡음이라, 어떤 모델도 균등 추측(글자당 ln 32 ≈ 3.47 nat)보다 잘 예측할 수 없습니다. 그 뒤는 모두 예측할 수 있습니다.
# 모델이 앞을 돌아본다면 *말이죠*. 주기 `P`는 시퀀스마다 새로 뽑으므로(4부터 16까지) 고정된 오프셋("10칸 앞에서
# 복사")은 통하지 않습니다. 모델은 현재 문자가 앞에서 등장한 곳을 내용으로 찾아야 합니다.

# %% en="89fddd5e3d"
examples, periods = make_repeated_segments(4, len(LM_ALPHABET), 32, generator=torch.Generator().manual_seed(3))
for row, p in zip(examples, periods.tolist(), strict=True):
    print(f"P = {p:2d}: {decode_text(row)!r}")

# %% [markdown] en="e09edde883"
# ## 3 · 학습, 그리고 헤드가 생겨나는 모습
#
# `attn_lib.lm.train_induction_model(seed)`는 위의 모델을 시드를 고정한 초기값으로 만들고 `train_lm`으로 학습시킵니다:
# 매번 새로 만든 시퀀스 32개의 배치로 AdamW 800스텝, 모든 위치의 다음 토큰 교차 엔트로피, 50스텝 동안 워밍업한 뒤
# 코사인을 따라 줄어드는 학습률(learning rate). 25스텝마다 `watch`가 고정된 `[s s]` 시퀀스 50개(길이 16인 구간과 그
# 반복)로 헤드에 점수를 매깁니다. 점수는 5절에서 정의합니다: 층 0에서 가장 좋은 헤드가 이전 토큰에 두는 가중치, 층
# 1에서 가장 좋은 헤드가 앞선 등장 뒤의 토큰에 두는 가중치입니다. CPU 스레드 하나로 전체 실행이 1분도 채 걸리지
# 않습니다(셀이 시간을 출력합니다).

# %% en="9f212ebfbe" tags=["nbval-ignore-output"]
STEPS, P = 800, 16
probe, _ = make_repeated_segments(50, len(LM_ALPHABET), 2 * P, P, P, generator=torch.Generator().manual_seed(7))
watched = {"step": [], "prev": [], "ind": []}


def watch(step: int, m: DecoderOnlyLM) -> None:
    _, w = m(probe, need_weights=True)  # 2 x (50, 4, 32, 32)
    watched["step"].append(step)
    watched["prev"].append(float(previous_token_score(w[0]).mean(0).max()))  # 층 0에서 가장 좋은 헤드
    watched["ind"].append(float(induction_score(w[1], P).mean(0).max()))  # 층 1에서 가장 좋은 헤드


start = time.perf_counter()
model, losses = train_induction_model(seed=0, steps=STEPS, progress=ProgressBar(STEPS, "학습"), watch=watch)
seconds = time.perf_counter() - start
print(f"학습 시간 {seconds:.0f}초; 마지막 50스텝의 평균 손실 {sum(losses[-50:]) / 50:.2f}")
assert sum(losses[-50:]) / 50 < sum(losses[:50]) / 50 - 1.0, losses[-50:]  # 무언가를 배웠다
assert seconds < 300, seconds  # 상식선의 한계; 한가한 기계에서는 "1분도 안 걸림"

# %% [markdown] en="cb85824d6b"
# 손실과 두 점수를 하나의 시간 축에 그립니다.

# %% en="e29038ac77"
fig = plot_training_and_scores(
    losses, watched["step"], watched["prev"], watched["ind"], math.log(len(LM_ALPHABET)),
    "인덕션 점수가 오를 때 손실이 떨어진다",
)  # fmt: skip
plt.show()

# %% [markdown] en="8789fd1fd6"
# 손실이 가파르게 떨어지는 구간과 인덕션 점수가 오르는 시점이 겹칩니다. 정확히 언제인지는 한 번의 실행 결과이므로(다른
# 기계는 다른 마지막 비트로 학습합니다), 아래 셀은 두 시점을 모두 재고 둘이 가깝다는 것만 단언합니다.

# %% en="a87fb79180" tags=["nbval-ignore-output"]
smooth = [sum(losses[s - 25 : s]) / 25 for s in watched["step"]]  # 직전 25스텝의 평균 손실
t_ind = next(s for s, v in zip(watched["step"], watched["ind"], strict=True) if v > 0.3)
t_loss = next(s for s, v in zip(watched["step"], smooth, strict=True) if v < 2.0)
print(f"가장 좋은 인덕션 점수가 0.3을 넘는 스텝: {t_ind}; 손실이 2 nat 아래로 떨어지는 스텝: {t_loss}")
print(f"인덕션 점수, 스텝 {watched['step'][1]}: {watched['ind'][1]:.2f}, 마지막: {watched['ind'][-1]:.2f}")
assert watched["ind"][1] < 0.2 and watched["ind"][-1] > 0.5, watched["ind"]
assert abs(t_ind - t_loss) <= 100, (t_ind, t_loss)

# %% [markdown] en="a3aafd2345"
# 저장된 실행에서는 인덕션 점수가 150스텝에서 0.3을 넘고, 손실은 175스텝에서 2 nat 아래로 떨어집니다. 이전 토큰
# 점수도 같은 시기에 오르고, 그 뒤로도 계속 커집니다. Olsson et al.도 훨씬 큰 모델에서 같은 일치, 즉 *상전이(phase
# change)*를 관찰합니다. 학습 손실은 0이 될 수 없습니다. 예측할 수 없는 첫 등장(약 3.5 nat)과 예측할 수 있는 반복이
# 섞여 있기 때문입니다.

# %% [markdown] en="f1fc614955"
# ## 4 · 문맥 내 학습 측정하기
#
# 홀드아웃(held-out) 시퀀스 `[s s]`: 16글자 구간과 그 반복입니다(`T = 32`, 학습과 다른 시드). 위치별 손실은 모델이 각
# 문자를 얼마나 잘 예측하는지 알려 줍니다. 앞쪽 절반에서는 추측할 수밖에 없고, 반복 구간에서는 답이 문맥 안에
# 있습니다.

# %% en="324e2d663e" tags=["nbval-ignore-output"]
held_out, _ = make_repeated_segments(200, len(LM_ALPHABET), 2 * P, P, P, generator=torch.Generator().manual_seed(99))
per_token = token_losses(model, held_out)  # (200, 31): 항목 t는 토큰 t + 1을 예측
first, repeat = half_losses(per_token, P)
print(f"평균 손실: 앞쪽 절반 {first:.2f} nat, 반복 구간 {repeat:.2f} nat (ln 32 = 3.47)")
assert first > 3.0, first  # 앞쪽 절반은 학습할 수 없다: 균등 추측 근처(여기서는 그보다 위)
assert repeat < 0.25 * first, (first, repeat)  # 반복 구간은 문맥으로 예측된다

# %% [markdown] en="f3b7e99377"
# 저장된 실행에서는 앞쪽 절반이 약 3.8 nat, 반복 구간이 약 0.2 nat입니다. (앞쪽 절반은 균등 추측보다 오히려 조금 *더
# 나쁩니다*. 모델이 이미 본 문자에 거는 법을 배웠기 때문인데, 이 내기는 반복 구간에서만 이득이 됩니다.) 셀은 반복
# 구간의 손실이 앞쪽 절반의 4분의 1보다 낮다는 것을 단언합니다. 정확한 숫자는 기계마다 다릅니다.

# %% [markdown] en="d9105d1ea5"
# ## 5 · 모든 헤드에 점수 매기기
#
# 헤드마다 숫자 두 개를, 홀드아웃 시퀀스 200개에 대해 평균합니다(`attn_lib.previous_token_score`,
# `attn_lib.induction_score`).
#
# * **이전 토큰 점수(previous-token score)**: 쿼리(query) `q`가 키 `q − 1`(부대각선)에 두는 평균 가중치.
# * **인덕션 점수(induction score)**: 반복 구간의 쿼리 `q`(`q ≥ P`)에서, `q`의 문자는 `q − P`에 나온 적이 있고 그 뒤를
#   이은 토큰은 `q − P + 1`에 있습니다. 점수는 그 키에 놓인 평균 가중치입니다.
#
# 앞부분 전체에 가중치를 고르게 퍼뜨리는 헤드는 점선으로 표시한 기준선(여기서는 약 0.10과 0.04)을 얻습니다. 헤드는
# 번호가 아니라 점수로 고릅니다. 다른 기계의 실행에서는 같은 역할이 다른 헤드에 갈 수 있기 때문입니다.

# %% en="a94fa21880" tags=["nbval-ignore-output"]
with torch.no_grad():
    _, held_maps = model(held_out, need_weights=True)  # 2 x (200, 4, 32, 32)
prev = torch.stack([previous_token_score(w).mean(0) for w in held_maps])  # (2, 4): 층 x 헤드
ind = torch.stack([induction_score(w, P).mean(0) for w in held_maps])  # (2, 4)
print("이전 토큰 점수 (행: 층 0, 층 1)\n", prev)
print("인덕션 점수\n", ind)
prev_heads = select_heads(prev, layer=0, threshold=0.3)
induction_heads = select_heads(ind, layer=1, threshold=0.5)
print("이전 토큰 헤드 (층 0, 점수 > 0.3):", prev_heads)
print("인덕션 헤드 (층 1, 점수 > 0.5):", induction_heads)
assert prev_heads and induction_heads, (prev, ind)
assert float(prev[0].max()) > 0.35 and float(ind[1].max()) > 0.5, (prev, ind)
assert float(ind[0].max()) < 0.15 and float(prev[1].max()) < 0.15, (prev, ind)  # 역할이 섞이지 않는다

# %% [markdown] en="75f00121ec"
# 저장된 실행에서 층 0의 헤드 3은 가중치의 약 절반을 이전 토큰에 두고(헤드 0은 약 0.4), 층 1의 헤드 세 개는 인덕션
# 오프셋에 약 0.7을 둡니다. 균등한 어텐션이면 각각 0.10과 0.04입니다. 층 0의 어떤 헤드도 인덕션 오프셋에서 점수를 얻지
# 않고, 층 1의 어떤 헤드도 이전 토큰에서 점수를 얻지 않습니다. 셀은 이 역할들을 여유를 두고 단언합니다.

# %% en="4bd8f8d3eb"
baselines = uniform_causal_scores(2 * P, P)
fig = plot_head_scores(
    prev, ind, baselines,
    f"층 0의 이전 토큰 헤드 {len(prev_heads)}개, 층 1의 인덕션 헤드 {len(induction_heads)}개",
)  # fmt: skip
plt.show()

# %% [markdown] en="fed803f967"
# 홀드아웃 시퀀스 하나의 맵을 보면 점수가 무엇을 재는지 알 수 있습니다. 층 0의 이전 토큰 헤드는 대각선 바로 아래의 한
# 줄입니다. 층 1의 인덕션 헤드는 앞쪽 절반의 주대각선을 `P − 1 = 15`만큼 아래로 옮긴 한 줄입니다: 쿼리 16(두 번째
# `s[0]`)은 키 1(`s[1]`), 즉 자신이 예측할 바로 그 문자를 봅니다. 앞쪽 절반에서는 대부분 토큰 0에 머뭅니다.

# %% en="dae963b5b0"
roles = {h: "previous-token" for h in prev_heads} | {h: "induction" for h in induction_heads}
one = torch.stack([w[0] for w in held_maps])  # (2, 4, 32, 32): 첫 번째 홀드아웃 시퀀스
print("시퀀스:", repr(decode_text(held_out[0])))
fig = plot_lm_heads(
    one, char_labels(held_out[0]), prev, ind, roles,
    "층 0은 한 토큰 앞을 보고, 층 1은 앞선 등장 바로 뒤의 토큰을 본다",
)  # fmt: skip
plt.show()

# %% [markdown] en="593f8ff062"
# **왜 층이 두 개일까요?** 헤드는 쿼리를 키와 비교할 때 그 층에서의 키 내용으로만 비교할 수 있습니다. "*바로 앞
# 토큰*이 내 토큰과 같은 키"라는 정보는 어떤 키의 임베딩에도 들어 있지 않습니다. 층 0의 이전 토큰 헤드가 먼저 각
# 토큰의 앞 토큰을 그 위치에 써 넣고, 그다음 층 1의 인덕션 헤드가 쿼리를 그것과 맞춰 봅니다(층 1의 키가 층 0이 쓴 것을
# 읽습니다: *K-합성(K-composition)*). 층 하나로는 할 수 없습니다. 아래의 어블레이션이 이것을 검증합니다.

# %% [markdown] en="2e94566b1c"
# ## 6 · 헤드 끄기
#
# `model(tokens, head_mask=...)`는 각 헤드의 출력에 `W^O` 앞에서 숫자 하나를 곱합니다. 0을 곱하면 그 헤드가 꺼집니다(맵은
# 여전히 계산되지만, 그 헤드가 읽은 것은 모델의 나머지 부분에 전혀 닿지 않습니다). `ablation_mask(model, heads)`가 이
# 마스크를 만듭니다. 인덕션 헤드가 반복을 예측 가능하게 만든다면, 그 헤드들을 끄면 반복 구간의 손실이 앞쪽 절반 수준으로
# 돌아가야 합니다. 인덕션 헤드는 층 0이 쓴 것을 읽으므로 층 0을 꺼도 같아야 하고, 층 0의 이전 토큰 헤드만 꺼도 그중
# 상당 부분이 설명되어야 합니다. 인덕션 헤드가 아닌 층 1의 헤드가 대조군입니다.

# %% en="92c17e6c2e" tags=["nbval-ignore-output"]
LABEL = {  # 표와 그림에 보여 줄 실행 이름 (키는 아래에서 씁니다)
    "induction heads off": "인덕션 헤드 끔",
    "previous-token heads off": "이전 토큰 헤드 끔",
    "all of layer 0 off": "층 0 전체 끔",
    "the other layer-1 head(s) off (control)": "층 1의 나머지 헤드 끔 (대조군)",
}
curves = {"학습된 모델": per_token.mean(0)}
runs = {
    "induction heads off": induction_heads,
    "previous-token heads off": prev_heads,
    "all of layer 0 off": [(0, h) for h in range(4)],
}
others = [(1, h) for h in range(4) if (1, h) not in induction_heads]
if others:
    runs["the other layer-1 head(s) off (control)"] = others
drop = {}  # 반복 구간의 손실이 앞쪽 절반보다 얼마나 낮은가
for name, heads in runs.items():
    curves[LABEL[name]] = curve = token_losses(model, held_out, head_mask=ablation_mask(model, heads)).mean(0)
    f, r = half_losses(curve[None], P)
    drop[name] = f - r
    print(f"{pad(LABEL[name], 40)} {heads!s:34s} 앞쪽 절반 {f:.2f}, 반복 구간 {r:.2f} nat")
gap = first - repeat
print(f"낙폭: 온전한 모델에서 {gap:.2f} nat;", {LABEL[k]: round(v / gap, 2) for k, v in drop.items()}, "만큼 남음")
assert drop["induction heads off"] < 0.3 * gap, drop  # 낙폭이 대부분 사라진다
assert drop["all of layer 0 off"] < 0.3 * gap, drop  # 층 1만으로는 할 수 없다
assert drop["previous-token heads off"] < 0.7 * gap, drop  # 이 헤드들이 큰 몫을 담당한다
if others:
    assert drop["the other layer-1 head(s) off (control)"] > 0.7 * gap, drop  # 대조군을 꺼도 유지된다

# %% [markdown] en="a590546267"
# 저장된 실행에서 반복 구간의 손실은 인덕션 헤드를 끄면 약 0.2에서 약 3 nat으로 오르고(3.7 nat이던 낙폭의 약 6분의
# 1이 남음), 층 0 전체를 끄면 약 4로 오릅니다(하나도 남지 않음: 반복 구간이 앞쪽 절반보다 오히려 조금 나쁨). 이전 토큰
# 헤드 두 개만 끄면 약 2.8로 오릅니다(낙폭의 약 5분의 1이 남음). 층 1의 네 번째 헤드(대조군, 인덕션 점수 약 0.3)를
# 끄면 반복 구간은 약 0.2에 머뭅니다. 셀은 인덕션 헤드와 층 0이 각각 낙폭의 70 % 이상을, 이전 토큰 헤드가 30 % 이상을
# 담당하고(다른 시드에서는 이전 토큰 역할이 층 0의 더 많은 헤드에 더 약한 점수로 나뉩니다), 대조군을 끄더라도 70 %
# 이상이 남는다는 것을 단언합니다.

# %% en="665e73784f"
fig = plot_position_losses(
    curves, P, math.log(len(LM_ALPHABET)),
    "반복 구간은 예측된다; 인덕션 헤드나 이전 토큰 헤드를 끄면 예측되지 않는다",
)  # fmt: skip
plt.show()

# %% [markdown] en="523be09bd0"
# 위치 17부터는 학습된 모델의 손실이 0 가까이로 떨어집니다. 어느 쪽 헤드든 끄면 높은 곳에 머뭅니다. 반복 구간의 첫
# 문자인 위치 16은 특별한 경우입니다. 어떤 인덕션 헤드도 이 문자를 찾을 수 없는데(그 앞 문자는 전에 나온 적이
# 없습니다), 그곳의 손실은 추측보다 낮습니다. 학습에서는 모든 주기가 시퀀스의 첫 문자로 다시 시작하므로, 모델은 그
# 문자에 거는 법을 배웠습니다(맵에서 보듯 층 1의 헤드들은 일치하는 것을 찾지 못하면 토큰 0에 머뭅니다).
# `half_losses`는 위치 16을 양쪽 절반에서 모두 뺍니다.

# %% [markdown] en="e18132fcb7"
# ## 7 · 직접 해 보기: 프롬프트를 입력하세요
#
# 문자(영문자, 공백, `.,!?-`; 최대 32자)를 입력하고 헤드를 고르세요. 맵은 각 문자가 어디를 보는지 보여 줍니다. 주황색
# 사각형은 그 문자의 *인덕션 목표*, 즉 같은 문자가 앞에서 등장했을 때 그 뒤를 이은 문자들을 표시합니다
# (`attn_lib.lm.induction_targets`). 각 행에는 모델이 추측한 다음 문자가 레이블로 붙습니다. 반복되는 구절(`the cat sat.
# the cat sat.`), 반복이 없는 구절, 중간에 오타가 있는 반복을 넣어 보세요.

# %% en="a68ac6160c" tags=["nbval-ignore-output"]
text = widgets.Text(value="the cat sat. the cat sat.", description="프롬프트", continuous_update=False)
ROLE_LABEL = {"previous-token": "이전 토큰 헤드", "induction": "인덕션 헤드"}  # 역할의 이름 (보여 줄 말)
head_options = [(f"층 {layer}, 헤드 {h}" + (f" ({ROLE_LABEL[roles[layer, h]]})" if (layer, h) in roles else ""), (layer, h))
                for layer in range(2) for h in range(4)]  # fmt: skip
default_head = induction_heads[0]
head_pick = widgets.Dropdown(options=head_options, value=default_head, description="헤드")


def show(text: str, head: tuple[int, int]) -> None:
    state = prompt_attention(model, text)
    print(state["message"])
    if state["ok"]:
        plot_prompt_attention(state, *head, role=roles.get(head))
        plt.show()


display(widgets.VBox([widgets.HBox([text, head_pick]), widgets.interactive_output(show, {"text": text, "head": head_pick})]))

# %% [markdown] en="694d9d8845"
# ## 연습 문제(exercises)
#
# 이제 직접 써 봅시다. 각 `my_...` 함수의 본문을 채우고 그 아래 셀을 실행하세요. 채점기(checker)가 여러 입력으로
# 여러분의 함수를 호출해 참조 구현과 비교합니다. 노란색 = 아직 시도하지 않음, 빨간색 = 다른 곳이 있음(흔한 실수
# (mistake)를 짚고 힌트(hint)를 줍니다), 초록색 = 정답.
#
# ### 연습 문제 1 · 이전 토큰 점수
#
# `weights` `(H, T, T)`에는 헤드마다 인과적 어텐션 맵이 하나씩 들어 있습니다(행: 쿼리, 열: 키). 바로 앞 키가 있는
# 쿼리들에 대해, 각 헤드가 쿼리 바로 앞의 키에 두는 평균 가중치를 모양(shape) `(H,)`로 반환하세요.
#
# 막혔나요? `show_solution("previous_token_score")`(먼저 `from attn_lib.exercises import show_solution`).


# %% en="8c5df7b402"
def my_previous_token_score(weights):
    """weights (H, T, T) -> (H,): mean of weights[h, q, q - 1] over q = 1 .. T - 1."""
    ...  # 여기에 코드를 작성하세요


# %% en="b395d4f8a0"
from attn_lib.exercises import check_previous_token_score

check_previous_token_score(my_previous_token_score)

# %% [markdown] en="ead33a2779"
# ### 연습 문제 2 · 인덕션 점수
#
# `weights` `(H, T, T)`는 앞과 같고, 시퀀스의 구간은 주기 `period`로 반복됩니다. 쿼리의 토큰이 앞에서 등장한 적이 *있는*
# 쿼리들에 대해, 각 헤드가 앞선 등장 뒤의 토큰에 두는 평균 가중치를 모양 `(H,)`로 반환하세요. 오프셋(정확히 어느
# 키일까요?)과 어느 쿼리를 셀지에 주의하세요.
#
# 막혔나요? `show_solution("induction_score")`.


# %% en="6cac9991a4"
def my_induction_score(weights, period):
    """weights (H, T, T), period P -> (H,): the mean weight on the induction offset."""
    ...  # 여기에 코드를 작성하세요


# %% en="2cc6c594e9"
from attn_lib.exercises import check_induction_score

check_induction_score(my_induction_score)

# %% [markdown] en="b94d68980c"
# ### 연습 문제 3 · 아무 텍스트에서나 인덕션 목표 찾기
#
# 위젯의 주황색 사각형입니다. `tokens` `(T,)`에는 아무 텍스트의 토큰 id가 들어 있습니다(고정된 주기 없음). 키 `k`가 쿼리의
# 토큰이 앞에서 등장했을 때 그 *뒤를 이은* 토큰을 담고 있으면 `(q, k)`에서 True인 bool 맵 `(T, T)`를 반환하세요:
# `k ≤ q`이고 `tokens[k − 1] == tokens[q]`.
#
# 막혔나요? `show_solution("induction_targets")`.


# %% en="868969e107"
def my_induction_targets(tokens):
    """tokens (T,) -> bool (T, T)."""
    ...  # 여기에 코드를 작성하세요


# %% en="ac27033e00"
from attn_lib.exercises import check_induction_targets

check_induction_targets(my_induction_targets)

# %% [markdown] en="245075c39f"
# ## 요약(summary)
#
# * 디코더 전용 모델은 임베딩 + 위치, 인과적 셀프 어텐션 블록의 스택(피드포워드 네트워크는 있어도 되고 없어도 됨),
#   그리고 언임베딩으로 이루어집니다. 인코더도 크로스 어텐션도 없습니다. 로짓의 각 행은 다음 토큰을 예측하고, 뒤쪽
#   토큰을 바꿔도 앞쪽 행은 반올림 오차 범위에서 그대로입니다.
# * 무작위 구간이 바뀌는 주기로 반복되는 시퀀스에서 800스텝 학습한, 어텐션만 있는 2층 모델은 반복을 이어 가는 법을
#   배웠습니다. 저장된 실행에서 반복 구간은 글자당 약 0.2 nat, 첫 등장은 약 3.8 nat입니다(단언: 4분의 1 미만).
# * 모든 헤드에 점수를 매기니 회로가 드러났습니다: 층 0의 이전 토큰 헤드(저장된 실행에서 키 `q − 1`에 가중치의 약
#   0.5)와 층 1의 인덕션 헤드(키 `q − P + 1`에 약 0.7). 균등한 어텐션이면 0.10과 0.04입니다.
# * 인덕션 점수는 학습 중 손실이 가파르게 떨어지는 바로 그때 올랐습니다(저장된 실행에서 150스텝 무렵; 단언: 서로
#   100스텝 이내).
# * 인덕션 헤드나 층 0 전체를 끄면 낙폭의 대부분이 사라졌습니다(단언: 70 % 이상). 이전 토큰 헤드만으로도 큰 몫을
#   담당했고(저장된 실행에서 약 80 %, 단언: 30 % 이상), 인덕션 점수가 낮은 층 1의 헤드는 꺼도 손해가 없었습니다.
#   헤드를 점수로 골랐으므로, 역할이 다른 헤드에 가는 기계에서도 이 검사는 성립합니다.
# * 이것은 과제가 규칙을 나눠 주지 않은 상태에서의 수업 03의 "학습된 헤드는 규칙을 따른다"입니다. 규칙이 손실을
#   낮췄고, 두 층의 두 헤드가 함께 그 규칙을 만들었습니다.
#
# ## 스스로 점검하기(check yourself)
#
# 1. 어텐션 층 하나만으로는 왜 인덕션 헤드가 될 수 없을까요?
# 2. 완벽한 인덕션 헤드의 인덕션 점수는 `[s s]` 시퀀스에서 1입니다. `[s s s]`에서는 얼마이고, 가중치는 어디로 갈까요?
# 3. 주기는 왜 학습 시퀀스마다 달라야 할까요? `P = 16`으로 고정하면 모델은 무엇을 배울까요?
# 4. 앞쪽 절반의 손실은 왜 ln 32보다 조금 *높을까요*?
# 5. 이 수업은 점수에 대한 임계값으로 헤드를 고릅니다. 왜 그냥 "층 0의 헤드 3"이라고 하지 않을까요?
#
# <details><summary>답</summary>
#
# 1. 어텐션은 쿼리를 각 키의 *현재* 내용과 비교합니다. 층 0에서 키에는 자기 토큰과 위치만 들어 있습니다. "내 앞
#    토큰은 A였다"는 정보는 이전 토큰 헤드가 써 넣기 전에는 없으므로, 일치를 찾으려면 첫 층이 쓴 것을 읽는 두 번째
#    층이 필요합니다.
# 2. 세 번째 사본의 각 쿼리에는 앞선 등장이 두 번 있습니다. 헤드는 그 둘의 바로 뒤 위치(`q − P + 1`과 `q − 2P + 1`)에
#    가중치를 나눌 수 있고, 첫째만 세는 점수는 헤드가 제 할 일을 하는데도 1보다 작을 수 있습니다. (우리 모델은 반복이
#    여러 번 있는 이런 시퀀스로 학습되었습니다.)
# 3. 주기가 고정되어 있으면 "위치 `q − 15`의 토큰을 복사하라"는 위치만의 규칙이 됩니다. 학습되는 위치를 가진 층
#    하나로 할 수 있고, 인덕션 헤드는 필요 없습니다. `P`를 바꾸면 내용으로 맞춰 보는 것만이 일반적인 해법으로
#    남습니다.
# 4. 모델은 문맥에 이미 있는 문자가 다음에 올 가능성이 높다는 것(특히 모든 주기가 다시 시작하는 시퀀스의 첫 문자)을
#    배웠습니다. 그래서 앞쪽 절반에서 본 문자에는 1/32보다 높은 확률을, 보지 못한 문자에는 낮은 확률을 줍니다. 무작위
#    앞쪽 절반의 다음 문자는 대개 보지 못한 문자이므로, 손실이 균등 추측보다 높아집니다.
# 5. 다른 시드, 다른 CPU, 다른 버전의 PyTorch는 다른 마지막 비트를 계산하고, 학습은 그 차이를 키우며, 같은 역할이 다른
#    헤드에 갈 수 있습니다. 발견한 것은 역할이고, 번호는 한 번의 실행에 속한 것입니다.
#
# </details>
