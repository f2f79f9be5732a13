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

# %% [markdown] en="42a1de51d9"
# # 07 · 작은 트랜스포머 학습시키기: 숫자열 뒤집기
#
# 01–06 수업에서 모든 부품을 만들었습니다. 스케일드 닷-프로덕트 어텐션(scaled dot-product attention),
# 멀티헤드 어텐션(multi-head attention), 위치 인코딩(positional encoding)을 쓰는 인코더 셀프 어텐션, 인과
# 마스크(causal mask), 크로스 어텐션(cross-attention)입니다. 여기서는 그것들을 인코더–디코더
# `attn_lib.Transformer`로 조립해 CPU에서 1분이 채 안 되게 학습(training)시키고(학습 셀이 걸린 시간을
# 출력합니다), 그다음 속을 열어 봅니다. 크로스 어텐션이 우리가 예상하는 일을 할까요?
#
# **학습 목표.** 이 수업을 마치면 다음을 할 수 있습니다.
# 1. 장난감 과제를 교사 강요(teacher forcing)용 패딩된 토큰 배치(`src`, `tgt_in`, `tgt_out`)로 바꿉니다.
# 2. 인코더–디코더 트랜스포머의 파라미터를 부분별로 셉니다.
# 3. 마스킹된 교차 엔트로피 손실(loss)로 학습시키고, 그리디 디코딩(greedy decoding)으로 정확 일치(exact match) 정확도
#    (accuracy)를 측정합니다.
# 4. 크로스 어텐션 맵을 읽고, 뒤집기에서는 그것이 반대각선을 이룬다는 것을 수치로 확인합니다. 출력 위치
#    *i*는 원문 위치 *L − 1 − i*를 봅니다. 그것이 어디서 깨지는지(본 적 없는 길이)와 복사 과제에서는
#    대신 무엇을 하는지도 봅니다.
# 5. 한 번의 학습 실행이 보여 주는 것과 일반적으로 성립하는 것을 구별합니다. 학습된 숫자는 실행마다, 기계마다
#    다르므로 이 수업은 여유를 두고 단언합니다.
#
# 과제: 원문은 8~12자리 숫자열이고, 목표는 같은 숫자열을 뒤집은 것입니다. `31415926` → `62951413`. 말로는
# 쉽지만 *위치*에 대한 어텐션 없이는 불가능합니다.

# %% en="setup"
from attn_lib.i18n import set_language

set_language("ko")

# %% en="3cd6c96476"
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display

from attn_lib import Transformer, greedy_decode
from attn_lib.data import (
    BOS,
    EOS,
    PAD,
    VOCAB_SIZE,
    decode,
    encode,
    make_copy_batch,
    make_reversal_batch,
    reversal_held_out_set,
    to_strings,
)
from attn_lib.i18n import pad
from attn_lib.train import ProgressBar, exact_match_accuracy, sequence_loss, train, warmup_cosine_schedule
from attn_lib.viz import plot_training_history
from attn_lib.widgets import (
    alignment_stats,
    anti_diagonal_hit_rate,
    mirror_positions,
    plot_reversal_attention,
    probe_neighbour_digits,
    run_reversal,
)

torch.manual_seed(0)
torch.set_num_threads(1)  # 스레드 하나: 이 기계에서 같은 합을 같은 순서로
torch.set_printoptions(precision=3, sci_mode=False, linewidth=110)
print("torch", torch.__version__, "| 스레드 수:", torch.get_num_threads())

# %% [markdown] en="fff9b88b35"
# ## 1 · 데이터: 토큰으로서의 숫자, 패딩된 배치
#
# 어휘(vocabulary)에는 토큰 13개가 있습니다. 특수 토큰 세 개 `PAD = 0`(채움), `BOS = 1`(시퀀스 시작),
# `EOS = 2`(시퀀스 끝)와, id 3–12인 숫자 0–9입니다. `attn_lib.data`가 문자열과 id 사이를 변환합니다.

# %% en="91f940e9a9"
print("어휘 크기:", VOCAB_SIZE, "| PAD, BOS, EOS =", (PAD, BOS, EOS))
print('encode("2024") =', encode("2024"), '| 다시 decode:', decode(encode("2024")))

# %% [markdown] en="a3b0742357"
# 배치(batch) 하나에는 텐서 세 개가 들어 있습니다. 원문 $x_1 \dots x_L$와 그 답 $y_1 \dots y_L$(여기서는
# $y_i = x_{L+1-i}$)에 대해:
#
# | 텐서 | 내용 | 모양 |
# |---|---|---|
# | `src` | $x_1 \dots x_L$ | `(B, S)` |
# | `tgt_in` (디코더 입력) | `BOS` $y_1 \dots y_L$ | `(B, T)` |
# | `tgt_out` (예측할 것) | $y_1 \dots y_L$ `EOS` | `(B, T)` |
#
# `tgt_in`은 `tgt_out`을 오른쪽으로 한 칸 민 것입니다. 위치 *i*에서 디코더는 *i − 1*까지의 답을 보고 토큰
# *i*를 예측해야 합니다. 이것이 **교사 강요**입니다(05 수업). 모든 위치가 한꺼번에 학습되고, 인과 마스크가
# 각 위치가 자기 답을 엿보지 못하게 합니다. 시퀀스마다 길이가 다르므로 각 텐서는 가장 긴 것에 맞춰 `PAD`로
# 채웁니다. 길이 3–6인 작은 배치입니다.

# %% en="ec2d49dfca"
example = make_reversal_batch(4, 3, 6, torch.Generator().manual_seed(5))
for name, t in zip(["src", "tgt_in", "tgt_out"], example, strict=True):
    print(f"{name:8s} {tuple(t.shape)}\n{t}")
print("문자열로:", to_strings(example.src), "->", to_strings(example.tgt_out))

# %% [markdown] en="6d5cfe5353"
# `S = 6`은 이 배치에서 가장 긴 원문이고 `T = S + 1`입니다(BOS 또는 EOS가 하나 더해짐). 0은 패딩(padding)입니다.
# 데이터가 아니므로 모델이 무시해야 합니다. 패딩 마스크(padding mask)가 그 일을 합니다.
#
# ## 2 · 모델: `attn_lib.Transformer`
#
# 모든 부분은 앞의 수업에서 왔습니다. (√d_model로 스케일링한) 토큰 임베딩(embedding)에 사인파 위치 인코딩을
# 더한 것(04 수업), `EncoderLayer`로 된 인코더, 마스킹된 셀프 어텐션과 크로스 어텐션을 가진 `DecoderLayer`로
# 된 디코더(05, 06 수업), 그리고 각 디코더 출력을 토큰마다 하나씩 13개의 점수로 바꾸는 마지막 선형 층
# *generator*입니다. 작은 크기를 씁니다. d_model = 64, head_dim = 32인 헤드 두 개, d_ff = 128, 인코더 층 두
# 개와 디코더 층 두 개입니다.

# %% en="fca4598f03"
CONFIG = dict(d_model=64, num_heads=2, num_encoder_layers=2, num_decoder_layers=2, d_ff=128, max_len=32)


def new_model(seed: int = 0) -> Transformer:
    torch.manual_seed(seed)
    return Transformer(VOCAB_SIZE, VOCAB_SIZE, **CONFIG)


model = new_model()
parts = {
    "원문 임베딩": model.src_embed,
    "목표 임베딩": model.tgt_embed,
    "인코더 (2층)": model.encoder,
    "디코더 (2층)": model.decoder,
    "출력 투영 (D -> V)": model.generator,
}
for name, part in parts.items():
    print(f"{pad(name, 20)} {sum(p.numel() for p in part.parameters()):>7,d}")
total = sum(p.numel() for p in model.parameters())
print(f"{pad('합계', 20)} {total:>7,d}   (위치 인코딩은 고정된 표: 파라미터 0개)")

# %% [markdown] en="ab8534e420"
# 디코더가 가장 큰 부분입니다. 인코더 층에는 멀티헤드 어텐션이 하나인데, 디코더 층마다 *두 개*(셀프와
# 크로스)가 있습니다. 층별 개수는 손으로 쉽게 확인할 수 있습니다.

# %% en="f89c181b6e"
D, d_ff = CONFIG["d_model"], CONFIG["d_ff"]
mha = 4 * (D * D + D)  # 편향을 포함한 W^Q, W^K, W^V, W^O
ffn = (D * d_ff + d_ff) + (d_ff * D + D)
norm = 2 * D  # LayerNorm의 이득과 편향
print("인코더 층:", mha + ffn + 2 * norm, "=", sum(p.numel() for p in model.encoder.layers[0].parameters()))
print("디코더 층:", 2 * mha + ffn + 3 * norm, "=", sum(p.numel() for p in model.decoder.layers[0].parameters()))

# %% [markdown] en="fc8954f771"
# ### 마스크는 모든 어텐션에 전달됩니다
#
# 모델은 `PAD`로 마스크를 스스로 만듭니다(bool, **True = 어텐션 가능**). 원문 패딩 마스크 `(B, 1, 1, S)`는
# 모든 인코더 셀프 어텐션*과* 모든 크로스 어텐션으로 갑니다(어떤 쿼리도 패딩된 원문 위치를 볼 수 없습니다).
# 디코더 셀프 어텐션은 인과 마스크와 목표 패딩 마스크를 결합한 `(B, 1, T, T)`를 받습니다.

# %% en="017606383f"
src_mask = model.src_mask(example.src)
tgt_mask = model.tgt_mask(example.tgt_in)
print("원문 패딩 마스크", tuple(src_mask.shape), "| 디코더 셀프 어텐션 마스크", tuple(tgt_mask.shape))
print("배치의 행 3 (숫자 4개), 디코더 마스크 (True = 어텐션 가능):\n", tgt_mask[3, 0].int())

# %% [markdown] en="48160c0554"
# 행 3은 숫자가 네 개이므로 `tgt_in[3]`에는 실제 토큰이 다섯 개(BOS와 숫자 네 개) 있습니다. 인과 하삼각은
# 열 4에서 멈추고, 패딩인 열 5와 6은 모든 쿼리에 대해 막힙니다. 이제 교사 강요로 순전파(forward pass)를 합니다.
# 로짓 `(B, T, V)`, 즉 모든 목표 위치에서 토큰마다 점수 하나입니다. 학습 전의 모델은 13개 토큰에 대한 균등
# 추측보다 나을 것이 없어야 하므로 교차 엔트로피는 ln 13 ≈ 2.565입니다. 손실은 `PAD` 위치를 무시합니다.

# %% en="7a0e2cfd9d"
logits = model(example.src, example.tgt_in)
print("logits", tuple(logits.shape), "= (B, T, V)")
print("학습 전 손실:", round(sequence_loss(logits, example.tgt_out, PAD).item(), 3), "| ln 13 =", round(math.log(13), 3))

# %% [markdown] en="7ae742e1f3"
# ### 몇 초 만에 학습되느냐를 가르는 세부 사항: 임베딩 스케일
#
# 논문은 위치 인코딩을 더하기 전에 토큰 임베딩에 √d_model을 곱합니다. 이는 임베딩이 작다고 가정합니다.
# 논문은 임베딩을 출력 층과 공유하며(초기화는 밝히지 않습니다), 공유된 출력 층의 전형적인 초기화는 표준편차
# ≈ 1/√d_model입니다. PyTorch의 `nn.Embedding`은 표준편차 1에서 시작합니다. √64 = 8을 곱하면 토큰 부분이
# 사인과 코사인으로 된 위치 부분보다 열 배 넘게 커집니다. 그래서 `attn_lib.Transformer`는 임베딩을 표준편차
# 1/√d_model에서 시작해 두 부분의 크기가 비슷하게 합니다. PyTorch의 기본 시작값과 비교해 봅시다.


# %% en="76d2d91082"
def pytorch_default_embeddings(m: Transformer) -> Transformer:
    """비교를 위해 임베딩을 일반 nn.Embedding처럼(std 1) 다시 초기화합니다."""
    with torch.no_grad():
        for embed in (m.src_embed, m.tgt_embed):
            embed.weight.normal_(0.0, 1.0)
    return m


tokens = torch.arange(3, 13)  # 숫자 열 개
pe = model.pos.pe[:12]  # (12, D), 위치 표
rms = lambda t: round(t.pow(2).mean().sqrt().item(), 2)  # noqa: E731
print(pad("좌표별 RMS, 위치 부분:", 52), rms(pe))
print(pad("좌표별 RMS, 토큰 부분 (attn_lib, std 1/√D):", 52), rms(model.src_embed(tokens) * math.sqrt(D)))
print(pad("좌표별 RMS, 토큰 부분 (PyTorch, std 1):", 52), rms(pytorch_default_embeddings(new_model()).src_embed(tokens) * math.sqrt(D)))

# %% [markdown] en="96ea89251d"
# 뒤집기는 *전적으로* 위치에 관한 과제이고, 열 배 약한 신호는 찾기 어렵습니다. 그것이 중요할까요? 짧은
# 실험을 합니다. 같은 시작 가중치에서 80 스텝을 학습시키되, 한 번은 PyTorch의 기본 임베딩 시작값으로, 한 번은
# 라이브러리의 시작값으로 합니다(`train`은 바로 아래에서 소개합니다). 한 번은 운일 수 있으니 시드 세 개로
# 반복합니다(시드마다 시작 가중치와 배치가 정해집니다). 손실은 학습된 숫자라서 기계마다 자릿수가 다르므로, 셀은
# 읽어 볼 수 있게 출력하되 자릿수에 기대지 않고 여유를 두고 주장을 *단언*합니다.

# %% en="c1b64f417b" tags=["nbval-ignore-output"]
DEFAULT, LIBRARY = "PyTorch 기본값 (std 1)", "attn_lib 방식 (std 1/√d_model)"
late_loss = {}  # (시드, 시작값) -> 스텝 71-80의 평균 손실
for seed in (0, 1, 2):
    for start in (DEFAULT, LIBRARY):
        m = new_model(seed)
        if start == DEFAULT:
            pytorch_default_embeddings(m)
        g = torch.Generator().manual_seed(seed)
        losses = train(m, lambda step, g=g: make_reversal_batch(64, 8, 12, g), steps=80, lr=2e-3, warmup=40)
        late_loss[seed, start] = sum(losses[-10:]) / 10
    print(f"시드 {seed}: 스텝 71-80의 평균 손실은 {DEFAULT}에서 {late_loss[seed, DEFAULT]:.2f},",
          f"{LIBRARY}에서 {late_loss[seed, LIBRARY]:.2f}")
gaps = [late_loss[seed, DEFAULT] - late_loss[seed, LIBRARY] for seed in (0, 1, 2)]
assert min(gaps) > 0.5, gaps  # 주장: 모든 시드에서 80 스텝 뒤에 확실히 뒤처짐
print("PyTorch 기본 시작값이 세 시드 모두에서 0.5 nats 넘게 뒤처짐:", min(gaps) > 0.5)

# %% [markdown] en="32f828cbc4"
# 저장된 실행에서 기본 시작값은 80 스텝 뒤에도 약 1.7 nats, 라이브러리 시작값은 약 0.7이며 세 시드 모두
# 그렇습니다. 이것은 학습의 *시작*입니다. 여기서는 기본 시작값을 끝까지 따라가 보지 않습니다(스스로 점검하기
# 질문 5에서 해 보세요).

# %% [markdown] en="2828cadb24"
# ## 3 · 학습
#
# `attn_lib.train.train(model, batch_fn, steps, ...)`은 평범한 루프입니다. 배치를 가져오고, 교사 강요로
# 로짓을 계산하고, `PAD`가 아닌 목표 위치에 대한 교차 엔트로피(`sequence_loss`)를 구해 역전파(backward pass)하고,
# 그래디언트 노름을 1로 자르고, Adam 스텝을 밟습니다. 학습률(learning rate)은 50 스텝 동안 선형으로
# 워밍업(warm-up)한 뒤 코사인을 따라 줄어듭니다(아래 그림). 배치는 매번 새것입니다. 시드를 고정한 생성기에서
# 나온 길이 8–12의 무작위 문자열 64개이므로, 한 기계에서는 실행이 재현됩니다(다른 CPU는 다른 마지막 비트를
# 계산하고 학습은 그것을 증폭하므로, 손실과 정확도가 조금 다릅니다). 나중에 시험 문자열이 학습 중에 나온 적
# 없음을 확인하려고 모든 학습 문자열도 보관합니다.
#
# 셀은 실행 중에 진행 막대를 보여 주고 학습에 걸린 시간을 출력합니다.

# %% en="83032d11cb" tags=["nbval-ignore-output"]
STEPS, BATCH, MIN_LEN, MAX_LEN = 600, 64, 8, 12
model = new_model(seed=0)
data_gen = torch.Generator().manual_seed(0)
seen: set[str] = set()


def batch_fn(step: int):
    batch = make_reversal_batch(BATCH, MIN_LEN, MAX_LEN, data_gen)
    seen.update(to_strings(batch.src))
    return batch


start = time.perf_counter()
history = train(
    model, batch_fn, STEPS, lr=2e-3, warmup=50, min_lr_factor=0.02, progress=ProgressBar(STEPS, "학습")
)
train_seconds = time.perf_counter() - start
print(f"시퀀스 {BATCH}개짜리 {STEPS} 스텝, {train_seconds:.1f} 초")

# %% [markdown] en="07d73a512a"
# 손실은 로그 스케일로 그립니다. 흥미로운 부분이 세 자릿수에 걸쳐 일어나기 때문입니다. 그 아래는 `train`이
# 설정한 스텝별 학습률 `lr × warmup_cosine_schedule(step, ...)`입니다. 워밍업 50 스텝 동안 선형으로 오르고
# (Adam의 초기 스텝은 믿을 만하지 않고, 큰 스텝은 막 초기화된 어텐션을 흔들어 놓습니다), 그다음 코사인으로
# 최고치의 2 %까지 내려갑니다.

# %% en="5bffba784a"
learning_rates = [2e-3 * warmup_cosine_schedule(step, STEPS, 50, 0.02) for step in range(STEPS)]
fig = plot_training_history(
    history,
    learning_rates,
    reference_loss=math.log(13),
    title=f"뒤집기: {STEPS} 스텝 동안 손실이 두 자릿수 넘게 떨어집니다",
)
plt.show()
print(f"학습률: 스텝 {learning_rates.index(max(learning_rates)) + 1}에서 최고치 {max(learning_rates):.0e},",
      f"마지막 스텝 {learning_rates[-1]:.1e}")

# %% en="52b2e2567b" tags=["nbval-ignore-output"]
print("첫 스텝:", round(history[0], 2), "| 마지막 50 스텝의 평균:", round(sum(history[-50:]) / 50, 4))
assert history[0] > 2.3 and sum(history[-50:]) / 50 < 0.01  # 약 ln 13에서 0.01 nats 미만으로

# %% [markdown] en="6108dbf412"
# ## 4 · 홀드아웃(held-out) 문자열에서의 정확 일치, 그리디 디코딩으로
#
# 토큰당 손실이 낮다고 문자열 전체를 맞히는 것은 아닙니다. 시험 때는 교사가 없습니다. `greedy_decode`는
# `BOS`에서 시작해 가장 그럴듯한 토큰을 골라 다음 입력으로 다시 넣고, `EOS`에서 멈춥니다(05 수업의 자기회귀
# 루프). 모든 숫자*와* `EOS`가 맞아야만 정답으로 칩니다. 시험 문자열 500개는 시드를 고정한 별도의 생성기에서
# 나옵니다. 먼저 그중 어느 것도 학습에 나오지 않았는지 확인합니다(길이마다 $10^8$개 이상의 문자열이 있으니
# 겹친다면 우연일 것입니다).

# %% en="057f763f5c"
held_out = reversal_held_out_set(500, MIN_LEN, MAX_LEN, seed=1234)
print("홀드아웃 src", tuple(held_out.src.shape), "| tgt_out", tuple(held_out.tgt_out.shape))
print("학습에서 본 문자열 수:", len(seen), "| 그중 홀드아웃 문자열:", len(seen & set(to_strings(held_out.src))))

# %% en="f0221d2ad4" tags=["nbval-ignore-output"]
accuracy = exact_match_accuracy(model, held_out.src, held_out.tgt_out, BOS, EOS)
print(f"홀드아웃 시퀀스 {len(held_out)}개에서 정확 일치: {100 * accuracy:.1f}%")
assert accuracy >= 0.98, accuracy  # 주장, 다른 기계의 실행을 위한 여유 포함

# %% [markdown] en="71eed4ff4b"
# 저장된 실행에서 모델은 500개를 모두 맞힙니다(100 %). 다른 시드로 다시 학습시켜도 그랬으며, 셀은 최소 98 %를
# 단언합니다. 그중 몇 개를 그리디 디코딩으로 봅니다. `greedy_decode`는 `BOS`와 그 뒤에 생성된 토큰들을
# 돌려줍니다.

# %% en="6cc9d738d2" tags=["nbval-ignore-output"]
out = greedy_decode(model, held_out.src[:5], max_len=MAX_LEN + 1, bos_id=BOS, eos_id=EOS)
print("생성된 id, 첫 행:", out[0].tolist())
for src_str, out_str in zip(to_strings(held_out.src[:5]), to_strings(out), strict=True):
    print(f"{src_str:>12s} -> {out_str:<12s} {'정답' if out_str == src_str[::-1] else '오답'}")

# %% [markdown] en="aa1c5f3653"
# 본 적 없는 길이는 어떨까요? 같은 모델을 더 짧은(4–7) 문자열과 더 긴(13–16) 문자열에 적용합니다.

# %% en="8baf58e606" tags=["nbval-ignore-output"]
length_tests = {(lo, hi): reversal_held_out_set(200, lo, hi, seed=99) for lo, hi in ((4, 7), (MIN_LEN, MAX_LEN), (13, 16))}
length_acc = {}
for (lo, hi), test in length_tests.items():
    length_acc[lo, hi] = exact_match_accuracy(model, test.src, test.tgt_out, BOS, EOS)
    print(f"길이 {lo:2d}-{hi:2d}: 정확 일치 {100 * length_acc[lo, hi]:5.1f}%")
assert length_acc[MIN_LEN, MAX_LEN] >= 0.98 and length_acc[4, 7] < 0.7 and length_acc[13, 16] < 0.4, length_acc

# %% [markdown] en="8c80c95a98"
# 모델은 학습한 길이에 대한 뒤집기를 배웠을 뿐 일반적인 뒤집기를 배운 것이 아니며, 더 긴 문자열뿐 아니라 더
# 짧은 문자열에서도 실패합니다. 저장된 실행에서 4–7자리 문자열은 약 30 %, 13–16자리 문자열은 약 15 %만
# 맞힙니다(다른 시드로 다시 학습시키면 30~50 %와 약 10~15 %이고, 셀은 70 %와 40 % 미만을 단언합니다).
#
# 왜일까요? 출력 *i*를 쓰려면 모델은 원문 숫자 *L − 1 − i*를 찾아야 합니다. 우리의 추측: 모델은 학습한 길이
# *L*에 대해서만 그렇게 하는 법을 배웠고, 본 적 없는 *L*에서는 *L − 1 − i*를 새로 계산해야 하는데 대개
# 틀립니다. 그렇다면 실패한 문자열의 크로스 어텐션에 그것이 드러나야 합니다. 행의 최고점이 반대각선을
# 벗어나야 합니다. 모델이 틀리는 첫 짧은 문자열을 마지막 디코더 층(학습한 길이에서 반대각선을 가장 충실하게
# 따르는 층, 5절)으로 봅니다.

# %% en="1af758ecb5" tags=["nbval-ignore-output"]
failing = next(r for r in map(lambda s: run_reversal(model, s), to_strings(length_tests[4, 7].src)) if not r["correct"])
print(failing["message"])
L_fail = len(failing["source"])
fig = plot_reversal_attention(
    failing, layer=-1, title=f"학습한 적 없는 길이 {L_fail}: 행이 반대각선(원문 {L_fail}-1-i)을 벗어납니다"
)
plt.show()

# %% [markdown] en="edafbe6aee"
# 어느 문자열이 먼저 실패하는지는 실행에 따라 다릅니다. 저장된 실행에서는 `28995`(5자리)입니다. 행 2는 원문
# 위치 2를 읽어야 하지만 위치 4를 다시 읽어서 모델이 5를 두 번 쓰고, 그 뒤로 어텐션이 반대각선보다 한 칸씩
# 늦게 따라갑니다. 그림 하나는 역시 일화일 뿐이므로, 각 길이 범위의 문자열 200개 전체에서 같은 통계를 봅니다.
# 마지막 층의 헤드 평균 맵이 정확히 *L − 1 − i*에서 최고점을 찍는 비율은 얼마일까요? 모든 행이 써야 할 숫자를
# 묻도록 *정답*을 교사 강요로 넣습니다(`mirror_positions`가 *L − 1 − i*와 숫자를 내는 행을 주고,
# `alignment_stats`가 맵을 채점합니다).

# %% en="757b8386f8" tags=["nbval-ignore-output"]
hit_by_length = {}
for (lo, hi), test in length_tests.items():
    cross_last = model.attention_maps(test.src, test.tgt_in).cross[-1].mean(1)  # (B, T, S), 헤드 평균
    mirror_t, digit_rows = mirror_positions((test.src != PAD).sum(1), test.tgt_in.shape[1])  # 각각 (B, T)
    hit_by_length[lo, hi] = alignment_stats(cross_last, mirror_t, digit_rows)["exact"]
    print(f"길이 {lo:2d}-{hi:2d}: 마지막 층이 숫자 행의 {100 * hit_by_length[lo, hi]:5.1f}%에서 L-1-i에 최고점")
trained_hit = hit_by_length[MIN_LEN, MAX_LEN]
assert trained_hit > 0.85 and all(hit_by_length[r] < trained_hit - 0.15 for r in ((4, 7), (13, 16))), hit_by_length

# %% [markdown] en="1f6f9a1821"
# 저장된 실행에서 학습한 길이에서는 행의 약 95 %에서 최고점이 반대각선 위에 있지만, 본 적 없는 길이에서는 약
# 절반(4–7)과 3분의 1(13–16)뿐입니다(다른 시드로 다시 학습시키면 학습한 길이보다 최소 25 %p 낮고, 셀은 15
# %p를 단언합니다). 추측이 예측한 대로 실패는 더 이상 *L − 1 − i*를 찾지 못하는 어텐션과 함께 나타납니다.
# 모델이 *L − 1 − i*에 대한 규칙을 배우지 못했다는 것은 여전히 우리의 해석이지, 이 측정이 증명하는 것은
# 아닙니다. 더 긴 문자열에는 두 번째 문제가 더해집니다. (0부터 세어) 원문 위치 12 이상은 학습 중에 나온 적이
# 없으므로 그 인코딩은 모델에게 새것입니다. 모델이 시험 세트에서 "완벽"할 때마다 이를 기억하세요.
#
# ## 5 · 속 들여다보기: 크로스 어텐션은 반대각선입니다
#
# 길이 *L*인 문자열의 출력 위치 *i*(0부터 셈)를 쓰려면 모델은 원문 숫자 *L − 1 − i*가 필요합니다. 크로스
# 어텐션은 원문에서 디코더로 가는 유일한 경로이므로(06 수업), 모델이 우리 생각대로 한다면 출력 위치 × 원문
# 위치로 된 크로스 어텐션 맵은 **반대각선**을 따라 밝아야 합니다. `run_reversal`은 문자열 하나를 디코딩하며
# 디코더가 단계마다 쓴 크로스 어텐션 가중치를 모으고, `plot_reversal_attention`은 디코더 층 하나의 각 헤드와
# 그 평균을 그립니다. 홀드아웃 문자열 하나에 대한 마지막 디코더 층입니다.

# %% en="f114ec53eb" tags=["nbval-ignore-output"]
sample = next(s for s in to_strings(held_out.src) if len(s) == MAX_LEN)
result = run_reversal(model, sample)
print(result["message"], "| 크로스 어텐션", tuple(result["cross"].shape), "= (층, H, T_out, S)")
assert result["correct"]
fig = plot_reversal_attention(result, layer=-1, title=f"마지막 디코더 층, {sample}: 출력 i는 원문 L-1-i에 어텐션합니다 (반대각선)")
plt.show()

# %% [markdown] en="c49ec42e2f"
# 각 행은 출력 단계 하나입니다(눈금은 출력 위치 *i*와 만들어진 토큰을, 열은 원문 위치 *j*와 그 숫자를
# 나타냅니다). 밝은 칸이 반대각선 위에 있습니다. 출력 0은 원문 위치 *L − 1*을 읽는 식입니다. 어떤 행은
# 거울 위치와 그 오른쪽 이웃이 가중치를 나눠 가집니다(아래에서 더 봅니다). `EOS`를 만드는 마지막 행은 문자열의
# 시작을 봅니다. 더 베낄 것이 없기 때문입니다.
#
# 예 하나의 그림은 일화입니다. 홀드아웃 문자열 500개 전체에서: 모든 출력 위치 *i < L*(숫자를 내는 위치)에
# 대해, 가장 많이 어텐션한 원문 위치가 정확히 *L − 1 − i*일까요? 그리고 거기에 어텐션 가중치가 얼마나
# 놓일까요? `mirror_positions`가 *L − 1 − i*와 숫자를 내는 행을 주고, `alignment_stats`가 그것들에 대해 맵을
# 채점합니다(연습 문제 3에서 그 첫 숫자를 직접 작성합니다).

# %% en="2138cbdc0f" tags=["nbval-ignore-output"]
maps = model.attention_maps(held_out.src, held_out.tgt_in)  # cross: 디코더 층마다 (B, H, T, S) 맵 하나
lengths = (held_out.src != PAD).sum(dim=1)  # (B,)
mirror, produces_digit = mirror_positions(lengths, held_out.tgt_in.shape[1])  # 각각 (B, T)
stats = {}  # (층, 이름) -> alignment_stats
print(pad("", 33), pad("argmax = L-1-i", 15, ">"), pad("1칸 이내", 15, ">"), pad("L-1-i의 가중치", 16, ">"))
for layer, w in enumerate(maps.cross):
    heads = [(f"head {h}", f"헤드 {h}", w[:, h]) for h in range(w.shape[1])]  # (키, 보여 줄 이름, 맵)
    for name, label, m in [*heads, ("average of heads", "헤드 평균", w.mean(1))]:
        st = stats[layer, name] = alignment_stats(m, mirror, produces_digit)
        row = pad(f"디코더 층 {layer}, {label}", 33)
        print(row, f"{100 * st['exact']:14.1f}%", f"{100 * st['near']:14.1f}%", f"{st['weight']:16.2f}")
last = stats[1, "average of heads"]
print("마지막 층, 헤드 평균: L-1-i 대비 argmax의 위치:", last["offsets"])

# %% en="f206abdeeb"
assert last["exact"] > 0.85 and last["near"] > 0.98, last  # 반대각선, 아슬아슬한 빗나감 포함
assert set(last["offsets"]) <= {0, 1}, last["offsets"]  # 빗나감은 모두 오른쪽으로 한 칸
assert all(stats[1, f"head {h}"]["near"] > 0.95 for h in range(2))  # 마지막 층의 각 헤드
assert stats[0, "average of heads"]["exact"] < 0.5  # 첫 층: 대략적으로만
assert anti_diagonal_hit_rate(maps.cross[-1].mean(1), lengths).item() == last["exact"]  # 연습 문제 3의 숫자
print("마지막 층: 대부분의 숫자 행에서 L-1-i에 최고점, 빗나감은 모두 오른쪽으로 한 칸; 첫 층: 넓은 띠")

# %% [markdown] en="11c52ae22d"
# 숫자가 그림을 뒷받침하고, 그림이 전부가 아닌 곳도 알려 줍니다(숫자는 저장된 실행의 것입니다. 다른 시드로
# 다시 학습시키면 몇 %p 움직이지만 위의 주장은 성립합니다).
#
# * **마지막 디코더 층**에서 헤드 평균 맵은 출력 위치의 약 95 %에서 정확히 반대각선 위에 최고점이 있고, 모두
#   반대각선에서 한 칸 이내입니다. 빗나간 것은 모두 오른쪽으로 한 칸입니다(오프셋 +1). 각 헤드도 따로
#   반대각선을 따릅니다(저장된 실행에서 정확히 일치가 약 87 %와 97 %이고, 둘 다 모든 곳에서 한 칸 이내).
# * **첫 디코더 층**은 다른 일을 합니다. 가중치가 여러 위치에 퍼져 있어, 반대각선을 대략적으로만 따르는 넓은
#   띠를 이룹니다(최고점이 반대각선 위에 있는 것은 약 네 위치 중 하나). 어느 층이 정렬을 맡아야 한다고
#   강제하는 것은 없습니다. 이 층은 대략적인 첫 추측과, 아마도 둘째 층이 *L − 1 − i*를 계산하는 데 필요한
#   원문 길이 같은 맥락을 제공하는 것으로 보입니다. 숫자만으로는 어느 쪽인지 알 수 없습니다. 같은 문자열에
#   대한 그 그림입니다.

# %% en="012da7e42d"
fig = plot_reversal_attention(result, layer=0, title=f"첫 디코더 층, {sample}: 대략적으로만 반대각선인 넓은 띠")
plt.show()

# %% [markdown] en="7a27140ea5"
# ### 한 칸 번짐: 가설 둘, 탐침 하나
#
# 왜 빗나간 것은 **오른쪽**으로 한 칸, 원문 위치 *L − i*에 있을까요? 두 가지 설명이 맞아떨어집니다.
#
# 1. **인코더가 번지게 합니다.** 셀프 어텐션 인코더 층 두 개를 지나면 원문 위치 *j + 1*의 벡터가 숫자 *j*도
#    담을 수 있어서, *L − i*를 읽어도 올바른 숫자를 얻을 수 있습니다.
# 2. **디코더가 뒤를 돌아봅니다.** *L − i*는 정확히 출력 *i − 1*이 읽은 위치입니다. 단계 *i*에서 디코더의
#    쿼리는 방금 쓴 토큰으로 만들어지므로, 어텐션의 일부가 이전 단계가 본 곳에 머물 수 있습니다.
#
# **선형 탐침(linear probe)**으로 (1)이 가능하기라도 한지 시험합니다. 새 문자열 1,000개에서 위치 *j*의 인코더
# 출력을 위치 *j + k*의 숫자로 보내는 선형 사상을 맞추고, 홀드아웃 문자열에서 채점합니다
# (`probe_neighbour_digits`, 우연 수준은 10 %). 크로스 어텐션도 선형 사상을 거쳐 밸류를 읽으므로, 어떤 선형
# 사상도 위치 *j + 1*에서 숫자 *j*를 읽지 못한다면 크로스 어텐션도 읽지 못합니다. 비교를 위해 학습되지 않은
# 모델(시드 0, 학습 전)에서도 같은 탐침을 합니다.

# %% en="4c54ce604a" tags=["nbval-ignore-output"]
probe_src = make_reversal_batch(1000, MIN_LEN, MAX_LEN, torch.Generator().manual_seed(7)).src
probe = probe_neighbour_digits(model, probe_src, held_out.src, offsets=(-1, 0, 1))
for k, acc in probe.items():
    print(f"j의 인코더 출력 -> j{k:+d}의 숫자: {100 * acc:5.1f}% 정답 (우연 수준 10%)")
probe_untrained = probe_neighbour_digits(new_model(seed=0), probe_src, held_out.src, offsets=(-1, 0, 1))
print("같은 탐침, 학습 전 모델:", {k: f"{100 * acc:.1f}%" for k, acc in probe_untrained.items()})
assert probe[0] > 0.95 and probe[-1] < 0.6 and probe[-1] < probe_untrained[-1] + 0.15, (probe, probe_untrained)

# %% [markdown] en="def1d6ebb5"
# 각 위치는 자기 숫자를 완벽하게 담지만 이웃의 숫자는 약하게만 담습니다. 저장된 실행에서 왼쪽 이웃은 약 28 %만
# 맞게 읽히며, 셀프 어텐션이 모든 숫자를 모든 위치에 조금씩 섞는 학습되지 않은 모델(약 28 %)보다 나을 것이
# 없습니다. 학습이 인코더에게 숫자 *j*를 위치 *j + 1*로 복사하도록 가르치지 않았습니다. 따라서 탐침은 가설 1에
# **불리한** 증거입니다. *L − i*에서 최고점을 찍는 행에서 올바른 숫자는 *L − 1 − i*에 아직 남아 있는
# 가중치에서 와야 합니다(그림에서 보듯 행이 가중치를 나눠 가집니다). 가설 2는 열려 있습니다. 6절에서 디코더가
# 방금 쓴 토큰에 실제로 어텐션함을 보입니다.

# %% [markdown] en="09a2c43f49"
# ## 6 · 학습된 디코더 셀프 어텐션
#
# 05 수업은 학습되지 않은 모델의 마스킹된 디코더 셀프 어텐션을 보여 주고 학습된 맵을 약속했습니다. 같은
# 문자열에 대한 그 맵입니다. 행은 출력 위치, 열은 각 행이 읽을 수 있는 디코더 입력(`<bos>`와 지금까지 쓴
# 숫자)이며, 인과 마스크가 상삼각을 정확히 0으로 유지합니다.

# %% en="6642df7c05"
for layer in range(2):
    title = ["첫 층: 가중치가 접두사 전체에 퍼짐", "마지막 층: 한 헤드가 주로 가장 새로운 입력을 읽음"][layer]
    fig = plot_reversal_attention(result, layer=layer, kind="self", title=f"디코더 셀프 어텐션, {title} ({sample})")
    plt.show()
assert (result["self"].triu(1) == 0).all()  # 인과: 뒤쪽 입력의 가중치는 정확히 0
print("대각선 위의 가중치, 모든 층과 헤드: 정확히 0")

# %% [markdown] en="39fd362bf9"
# 디코더 셀프 어텐션에는 정렬할 것이 없습니다. 지금까지 쓴 답을 읽을 뿐입니다. 저장된 실행에서 첫 층은 가중치를
# 접두사 전체에 퍼뜨립니다. 마지막 층에서는 한 헤드(여기서는 헤드 0)가 가중치 대부분을 가장 새로운 입력 두
# 개, 즉 대각선을 따르는 띠에 두고, 다른 헤드는 퍼뜨립니다. 모든 홀드아웃 문자열에서 각 헤드가 가장 새로운
# 입력과 그 바로 앞 입력에 두는 가중치입니다.

# %% en="d8f47b46af" tags=["nbval-ignore-output"]
self_maps = model.attention_maps(held_out.src, held_out.tgt_in).decoder_self  # 층 x (B, H, T, T)
T_in = held_out.tgt_in.shape[1]
rows_counted = (torch.arange(T_in) >= 2) & (torch.arange(T_in) <= lengths[:, None])  # (B, T): 실제 행, 입력 2개 뒤까지
recent = {}
for layer, w in enumerate(self_maps):
    newest = w.diagonal(dim1=-2, dim2=-1)  # (B, H, T): 입력 i 자신의 가중치
    before = F.pad(w.diagonal(offset=-1, dim1=-2, dim2=-1), (1, 0))  # (B, H, T): 입력 i - 1의 가중치
    for h in range(w.shape[1]):
        recent[layer, h] = (newest + before)[:, h][rows_counted].mean().item()
        print(f"디코더 층 {layer}, 헤드 {h}: 가장 새로운 입력 두 개의 가중치 {100 * recent[layer, h]:5.1f}%")
assert max(recent[1, h] for h in range(2)) > 0.6, recent  # 마지막 층의 한 헤드: 주로 가장 새로운 입력

# %% [markdown] en="60e11c79df"
# ## 7 · 복사 과제: 다른 대각선
#
# 스스로 점검하기 질문 3은 복사 과제(목표 = 원문)가 어떻게 보일지 묻습니다. 그냥 해 볼 수 있습니다. 같은
# 크기의 새 모델을 `make_copy_batch`로 32개 문자열씩 300 스텝 학습시킵니다(뒤집기보다 적은 예산입니다. 복사에는
# *L − 1 − i*가 필요 없습니다). 출력 *i*는 원문 위치 *i*, 즉 **주대각선**을 읽어야 합니다.

# %% en="d1dcf5e08d" tags=["nbval-ignore-output"]
copy_model = new_model(seed=0)
copy_gen = torch.Generator().manual_seed(0)
start = time.perf_counter()
copy_history = train(
    copy_model, lambda step: make_copy_batch(32, MIN_LEN, MAX_LEN, copy_gen), 300, lr=2e-3, warmup=50, min_lr_factor=0.02
)
copy_test = make_copy_batch(500, MIN_LEN, MAX_LEN, torch.Generator().manual_seed(1234))
copy_accuracy = exact_match_accuracy(copy_model, copy_test.src, copy_test.tgt_out, BOS, EOS)
copy_maps = copy_model.attention_maps(copy_test.src, copy_test.tgt_in).cross[-1].mean(1)  # (B, T, S)
_, copy_rows = mirror_positions((copy_test.src != PAD).sum(1), copy_test.tgt_in.shape[1])  # 숫자 행
diagonal = torch.arange(copy_test.tgt_in.shape[1]).expand_as(copy_rows)  # (B, T): 출력 i는 원문 i를 읽음
copy_stats = alignment_stats(copy_maps, diagonal, copy_rows)
print(f"복사: 300 스텝 {time.perf_counter() - start:.1f} 초, 정확 일치 {100 * copy_accuracy:.1f}%,",
      f"마지막 층이 숫자 행의 {100 * copy_stats['exact']:.1f}%에서 원문 i에 최고점, 빗나감: {copy_stats['offsets']}")
assert copy_accuracy >= 0.95 and copy_stats["exact"] > 0.9, (copy_accuracy, copy_stats)

# %% en="ae4f1f4f55" tags=["nbval-ignore-output"]
copy_result = run_reversal(copy_model, sample, task="copy")
print(copy_result["message"])
fig = plot_reversal_attention(copy_result, layer=-1, title=f"복사 과제, 마지막 디코더 층, {sample}: 출력 i는 원문 i에 어텐션합니다 (대각선)")
plt.show()

# %% [markdown] en="c4ee81ff74"
# 저장된 실행에서 복사 모델은 시험 문자열 500개를 모두 맞히고, 마지막 층은 숫자 행의 약 98 %에서 주대각선
# 위에 최고점이 있습니다. 몇 안 되는 빗나감은 **왼쪽**으로 한 칸, 원문 *i − 1*에 있는데, 이는 역시 *이전*
# 출력이 읽은 위치입니다. 5절의 가설 2와 맞아떨어집니다(증명하지는 않습니다).

# %% [markdown] en="382d0cb95c"
# ## 8 · 직접 해 보기: 문자열 입력
#
# 숫자를 입력하고 Enter를 누르면 모델의 출력과 고른 층의 크로스 어텐션이 보입니다. 8~12자리 문자열, 같은 숫자의
# 반복(`11111111`: 어디를 볼지는 값이 아니라 위치가 정합니다), 그리고 8–12 밖의 길이를 넣어 깨지는 것을
# 보세요. 문자나 지나치게 긴 문자열에는 답 대신 메시지가 나옵니다.

# %% en="fb3aa4f6c2" tags=["nbval-ignore-output"]
text = widgets.Text(value="271828182845", description="숫자열", continuous_update=False)
layer_pick = widgets.Dropdown(options=[("디코더 층 0", 0), ("디코더 층 1", 1)], value=1, description="층")


def show(text: str, layer: int) -> None:
    result = run_reversal(model, text)
    print(result["message"])
    if result["ok"]:
        plot_reversal_attention(result, layer=layer)
        plt.show()


display(widgets.VBox([widgets.HBox([text, layer_pick]), widgets.interactive_output(show, {"text": text, "layer": layer_pick})]))

# %% [markdown] en="a047956144"
# ## 연습 문제
#
# 이제 직접 작성해 봅시다. 각 `my_...` 함수의 본문을 채우고 그 아래 셀을 실행하세요. 채점기(checker)가
# 여러 입력으로 함수를 호출해 참조 구현과 비교합니다. 노란색 = 아직 시도하지 않음, 빨간색 = 무언가 다름
# (흔한 실수(mistake)의 이름과 힌트(hint)를 알려 줍니다), 초록색 = 정답.
#
# ### 연습 문제 1 · 교사 강요 쌍
#
# `answers` `(B, L)`에는 답 토큰 id가 들어 있습니다(모두 길이 `L`, 패딩 없음). 각각 `(B, L+1)`인
# `(tgt_in, tgt_out)`을 반환하세요. `tgt_in`은 `bos_id` 뒤에 답이 오는 것(디코더가 읽는 것), `tgt_out`은 답
# 뒤에 `eos_id`가 오는 것(예측해야 할 것)입니다. `bos_id = BOS`, `eos_id = EOS`이면 `attn_lib.data.make_batch`가
# 만드는 것과 같습니다.
#
# 막히면 `show_solution("teacher_forcing_pair")`(`from attn_lib.exercises import show_solution` 뒤에).


# %% en="b69e379e50"
def my_teacher_forcing_pair(answers, bos_id, eos_id):
    """answers (B, L) -> (tgt_in (B, L+1), tgt_out (B, L+1)) 쌍."""
    ...  # 여기에 코드를 작성하세요


# %% en="46e5809500"
from attn_lib.exercises import check_teacher_forcing_pair

check_teacher_forcing_pair(my_teacher_forcing_pair)

# %% [markdown] en="ce211fe83f"
# ### 연습 문제 2 · 그리디 디코딩 한 단계
#
# 디코더는 `logits` `(B, t, V)`를 돌려줍니다. 지금까지 생성된 `t`개 위치 각각에서 `V`개 토큰에 대한
# 점수입니다. `greedy_decode`가 고르듯 모든 시퀀스의 다음 토큰, 즉 점수가 가장 높은 id를 모양 `(B,)`로
# 반환하세요.
#
# 막히면 `show_solution("greedy_next_token")`.


# %% en="e1473f733b"
def my_greedy_next_token(logits):
    """logits (B, t, V) -> 토큰 id (B,)."""
    ...  # 여기에 코드를 작성하세요


# %% en="6cab1f276e"
from attn_lib.exercises import check_greedy_next_token

check_greedy_next_token(my_greedy_next_token)

# %% [markdown] en="b56679b1b4"
# ### 연습 문제 3 · 반대각선 통계
#
# 5절의 첫 숫자를 직접 작성합니다. `weights` `(B, T, S)`에는 문자열마다 크로스 어텐션 맵 하나(헤드 하나 또는
# 헤드 평균)가, `lengths` `(B,)`에는 각 원문의 숫자 개수 `L`이 들어 있습니다(문자열은 `S`까지 패딩되고,
# `T = S + 1`은 숫자들과 `EOS`). 출력 위치 `i < L`(숫자를 내는 위치) 중 가장 많이 어텐션한 원문 위치가
# `L - 1 - i`인 비율을 float 스칼라 텐서로 반환하세요. 어느 위치를 세는지, 그리고 누구의 길이인지 주의하세요.
#
# 막히면 `show_solution("anti_diagonal_hit_rate")`.


# %% en="79794ceeb3"
def my_anti_diagonal_hit_rate(weights, lengths):
    """weights (B, T, S), lengths (B,) -> float 스칼라: 행 i < L 중 L-1-i에서 최고점인 비율."""
    ...  # 여기에 코드를 작성하세요


# %% en="ad62c5b423"
from attn_lib.exercises import check_anti_diagonal_hit_rate

check_anti_diagonal_hit_rate(my_anti_diagonal_hit_rate)

# %% [markdown] en="a3364051d6"
# ## 요약
#
# * 장난감 과제는 패딩된 텐서 세 개가 됩니다: `src`, `tgt_in = BOS + 답`, `tgt_out = 답 + EOS`. 교사 강요는 모든
#   목표 위치를 한꺼번에 학습시키고, `PAD` 위치는 어텐션에서 마스킹되며 손실에서 무시됩니다.
# * `attn_lib.Transformer`는 임베딩 + 위치 인코딩, 인코더 스택, 디코더 스택(마스킹된 셀프 어텐션, 크로스
#   어텐션, 피드포워드)을 조립합니다. 여기서는 파라미터가 17만 개이고 대부분 디코더에 있습니다.
# * 임베딩 스케일이 중요합니다. PyTorch의 기본 임베딩에 √d_model을 곱하면 위치 인코딩이 묻혀 버리고, 80 스텝
#   뒤에도 손실이 크게 뒤처졌습니다(세 시드 모두 약 1.7 대 0.7 nats).
# * 학습률 워밍업과 코사인 감쇠로 600 스텝 학습시킨 모델은 저장된 실행에서 홀드아웃 문자열 500개를 모두
#   뒤집었습니다(수업은 최소 98 %를 단언합니다). 본 적 없는 길이에서는 짧든 길든 대부분의 문자열에서
#   실패하고, 그 어텐션은 거기서 *L − 1 − i*를 훨씬 자주 놓칩니다.
# * 마지막 디코더 층의 크로스 어텐션은 반대각선입니다. 출력 *i*는 원문 *L − 1 − i*에 어텐션하며, 따로 홀드아웃
#   세트 전체에서 확인했고, 빗나감은 오른쪽으로 한 칸, 이전 단계가 읽은 위치에만 있습니다. 이유는 열려
#   있습니다. 선형 탐침은 각 숫자를 이웃으로 복사하는 인코더에 불리한 증거이고(학습 전보다 거기서 읽기 쉬워지지
#   않았습니다), 디코더가 어텐션의 일부를 이전 단계가 본 곳에 둔다는 것은 가설입니다(왼쪽으로 한 칸인 복사
#   과제의 빗나감도 이와 맞습니다). 첫 층의 크로스 어텐션은 넓은 띠일 뿐이고, 복사 과제는 주대각선을 줍니다.
# * 학습된 디코더 셀프 어텐션에는 정렬할 것이 없습니다. 마지막 층의 한 헤드는 주로 가장 새로운 입력을 읽고,
#   나머지는 접두사 전체에 퍼집니다.
# * 학습된 숫자(손실, 정확도, 백분율)는 실행마다, 기계마다 다릅니다. 셀은 주장마다 여유를 두고 assert하며,
#   인용한 숫자는 한 번의 실행에서 나온 것입니다.
#
# ## 스스로 점검하기
#
# 1. 디코더 입력이 `BOS + 답`이고 목표가 `답 + EOS`인 이유는 무엇이며, 왜 같은 텐서가 아닐까요?
# 2. 손실은 `PAD` 위치를 무시합니다. 무시하지 않으면 무엇이 잘못될까요?
# 3. 복사 과제(목표 = 원문)에서 마지막 층의 크로스 어텐션은 어떤 패턴일까요? (7절을 보기 전에 예측해 보세요.)
# 4. 모델이 길이 8–12에서는 100%를 맞히지만 길이 14에서는 실패합니다. 모델이 위치를 아는 방식에 뿌리를 둔
#    이유를 대 보세요.
# 5. `pytorch_default_embeddings(model)` 뒤에 학습 셀을 실행하세요. 무엇을 예상하고, 왜 그럴까요?
#
# <details><summary>정답</summary>
#
# 1. 위치 *i*에서 디코더는 그 *앞의* 토큰들로 토큰 *i*를 예측해야 합니다. (앞에 `BOS`를 붙여) 답을 오른쪽으로
#    한 칸 밀면 각 입력이 예측할 다음 토큰과 나란히 놓입니다. `EOS`는 예측할 마지막 것이라 생성이 언제
#    멈출지 알게 됩니다.
# 2. `ignore_index`(`sequence_loss`가 `PAD`로 설정하는 `F.cross_entropy`의 인자)가 없으면 모델은 `EOS` 뒤의
#    `PAD`도 예측하도록 학습됩니다. 그런 목표는 쉬운데 평균에 들어가므로 배치의 패딩 비율만큼 손실과
#    그래디언트를 희석하고, 보고된 손실이 모델의 실제보다 좋아 보입니다.
# 3. 주대각선입니다. 출력 *i*가 원문 *i*를 읽습니다. 7절에서 학습시켰고, 저장된 실행에서 마지막 층은 숫자 행의
#    약 98 %에서 대각선 위에 최고점이 있습니다.
# 4. 모델은 본 적 없는 *L*에 대해 *L − 1 − i*를 찾아야 합니다. 4절에서 보았듯 본 적 없는 길이에서는 짧든 길든
#    어텐션이 그것을 훨씬 자주 놓칩니다(4–7자리 문자열도 대부분 틀립니다). 길이 14에는 문제가 더 있습니다.
#    (0부터 세어) 원문 위치 12 이상은 학습 중에 나온 적이 없으므로 모델은 그 위치 인코딩이 무엇을 뜻하는지
#    배운 적이 없습니다.
# 5. 처음에는 손실이 훨씬 느리게 떨어집니다(위의 80 스텝 비교, 시드 세 개). 위치 신호가 토큰 신호보다 약 열 배
#    약하고, 뒤집기는 위치에만 의존하기 때문입니다. 나중에 따라잡는지는 이 수업에서 측정하지 않았으니 직접
#    해 보세요.
#
# </details>
