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

# %% [markdown] en="e6da3e1367"
# # 09 · 작은 번역기: 크로스 어텐션이 순서 바꾸기를 학습한다 (날짜)
#
# 수업 07에서 학습된 모델의 크로스 어텐션(cross-attention)은 반대 대각선이었습니다. 뒤집기에는 입력과 상관없이
# 늘 같은 정렬(alignment) 하나만 있기 때문입니다. 실제 번역은 그렇지 않습니다. 단어가 자리를 옮기고, 대응하는 말이
# 없는 원문 단어도 있으며, 어디를 봐야 하는지는 문장마다 다릅니다. 이 수업에서는 바로 그런 성질을 가졌으면서도
# 노트북 CPU에서 1분이 채 안 걸려 학습되는 작은 번역 문제를 다룹니다: **날짜를 ISO 형식으로 쓰기**입니다.
#
# `25 March 2019`, `March 25, 2019`, `25/03/2019`, `Mon 25 Mar 19`, `the 25th of march, 2019`,
# `2019년 3월 25일 월요일`은 모두 `2019-03-25`가 됩니다. 출력에서는 연도가 맨 앞에 오므로 일-월-연 순서의 원문에서는
# 정렬이 *교차*합니다. 월 이름은 두 자리 숫자가 되어야 하고, 요일 단어에는 답에 필요한 정보가 없습니다. 모델에게
# 이 중 어느 것도 알려 주지 않습니다. 어디를 봐야 하는지는 모델이 스스로 찾아내야 합니다.
#
# 이 수업은 수업 07(같은 `attn_lib.Transformer`, `train`, 그리디 디코딩(greedy decoding))을 바탕으로 하며 07 바로
# 다음에 들어도 됩니다. 수업 08은 필요하지 않습니다.
#
# **학습 목표(learning goals).** 이 수업을 마치면 다음을 할 수 있습니다.
# 1. 문자 단위 번역 과제를 배치(batch)로 만들고, 학습과 날짜가 하나도 겹치지 않는 홀드아웃(held-out) 집합을 만든다.
# 2. 인코더-디코더(encoder–decoder)를 학습시키고, 그리디 디코딩으로 원문 형식별 정확 일치(exact match)를 측정한다.
# 3. 층(layer)과 헤드(head)별 크로스 어텐션 맵을 읽고, 그것이 보여 주는 것을 *측정*한다: 답이 들어 있는 원문
#    구간(span)에 놓인 어텐션의 몫을, 구간을 섞은 기준선(baseline)과 비교한다.
# 4. 헤드를 꺼 보는 것(어블레이션(ablation))으로 맵의 해석을 검증하고, 맵이 설명이 되지 못하는 경우를 말할 수 있다.
# 5. 인코더와 디코더의 셀프 어텐션(self-attention)을 읽고, 실패 사례 하나를 읽는다.

# %% en="setup"
from attn_lib.i18n import set_language

set_language("ko")

# %% en="1970a64761"
import datetime as dt
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from attn_lib import Transformer
from attn_lib import dates as D
from attn_lib.i18n import pad
from attn_lib.train import ProgressBar, train
from attn_lib.widgets.lesson09 import (
    plot_date_attention,
    plot_head_grid,
    plot_one_head_per_format,
    plot_share_vs_ablation,
    plot_span_share,
    run_date,
)

torch.manual_seed(0)
torch.set_num_threads(1)  # 모든 수업처럼 스레드 하나: 이 기계에서는 같은 합을 같은 순서로 계산
torch.set_printoptions(precision=2, sci_mode=False, linewidth=110)
print("torch", torch.__version__, "| 스레드 수:", torch.get_num_threads())

# %% [markdown] en="89290ec2ef"
# ## 1 · 과제: 날짜를 쓰는 여섯 가지 방법
#
# `attn_lib.dates`는 1950년부터 2049년 사이의 어떤 날짜든 여섯 가지 형식으로 씁니다. `render_date`는 원문에서 연, 월,
# 일이 어디에 있는지도 `[start, end)` 문자 구간으로 기록합니다. 모델이 무엇을 보는지 확인할 때 필요합니다. 요일은 그
# 날짜의 실제 요일입니다.

# %% en="1927ecd940"
FIELD_LABEL = {"year": "연", "month": "월", "day": "일"}  # D.FIELDS의 이름 대신 보여 줄 말
example_date = dt.date(2019, 3, 25)
for fmt in D.DATE_FORMATS:
    e = D.render_date(example_date, fmt)
    spans = ", ".join(f"{FIELD_LABEL[name]} {e.source[a:b]!r} 위치 [{a}, {b})" for name, (a, b) in zip(D.FIELDS, e.spans, strict=True))
    print(f"{fmt:10s} {pad(e.source, 26)} -> {e.target}   {spans}")

# %% [markdown] en="e95ac41a9d"
# 과제를 단순한 숫자 복사 이상으로 만드는 세부 사항이 두 가지 있습니다. `dow_short`는 연도를 두 자리로 쓰므로, 모델은
# 날짜 범위의 세기 규칙(50–99 → 19xx, 00–49 → 20xx)을 배워야 합니다. 한국어 형식에서 월은 월 숫자 뒤에서는
# *month*를, 월요일에서는 *Monday*를 뜻합니다. 같은 글자가 두 역할을 하며, 어느 쪽인지는 문맥이 정합니다.
#
# 모델은 문자를 읽습니다. 원문 어휘(vocabulary)는 여섯 형식에 나오는 모든 문자(와 `PAD = 0`)이고, 목표 어휘는
# `PAD`, `BOS`, `EOS`, 숫자 10개와 `-`입니다.

# %% en="ce8cf87ef8"
print("원문 어휘:", D.SOURCE_VOCAB_SIZE, "개 id; 문자:", repr(D.SOURCE_CHARS))
print("목표 어휘:", D.TARGET_VOCAB_SIZE, "개 id: PAD, BOS, EOS, 0-9, '-'")
print("encode_source('25/03/2019') =", D.encode_source("25/03/2019"))

# %% [markdown] en="7d7a7e05ee"
# ### 학습과 날짜가 하나도 겹치지 않는 홀드아웃 집합
#
# 36,525개의 날짜를 고정된 시드로 한 번 나눕니다. 2,000개의 날짜는 따로 떼어 두어 어떤 형식으로도 학습에 나오지
# 않습니다. 학습 배치는 나머지 34,525개에서 날짜를, 여섯 형식에서 형식을 각각 균등하게 뽑습니다.

# %% en="ee8b453f2e"
train_dates, held_dates = D.split_dates(2000, seed=0)
print("학습 날짜:", len(train_dates), "| 홀드아웃 날짜:", len(held_dates))
print("양쪽에 다 있는 날짜:", len(set(train_dates) & set(held_dates)))

# %% [markdown] en="76a87a4bd3"
# 배치는 수업 07의 교사 강요(teacher forcing) 삼총사입니다: `src`(`PAD`로 채운 문자들), `tgt_in`
# = `BOS` + `YYYY-MM-DD`, `tgt_out` = `YYYY-MM-DD` + `EOS`, 그리고 정답 구간 `(B, 3, 2)`입니다.

# %% en="dddb3d8b2a"
batch = D.make_date_batch(train_dates, 3, torch.Generator().manual_seed(1))
print("원문:", [e.source for e in batch.examples])
for name, t in zip(["src", "tgt_in", "tgt_out", "spans"], [batch.src, batch.tgt_in, batch.tgt_out, batch.spans], strict=True):
    print(f"{name:8s} {tuple(t.shape)}")
print("tgt_out[0] =", batch.tgt_out[0].tolist(), "=", repr(D.decode_target(batch.tgt_out[0])))

# %% [markdown] en="16491a3d49"
# ## 2 · 모델과 학습
#
# 수업 07과 같은 `attn_lib.Transformer`이되, 비교할 거리가 있도록 어텐션마다 헤드를 4개 둡니다: d_model = 64,
# head_dim 16인 헤드 4개, d_ff = 128, 인코더 층 2개와 디코더 층 2개. 매번 새로 만든 예제 64개로 600스텝을 학습하며,
# 워밍업 뒤 코사인 감쇠를 쓰고, 시드를 고정하고, 스레드 하나로 돌립니다. 한 기계에서는 매번 같은 모델이 나옵니다.
# 셀은 벽시계 시간과 CPU 시간을 출력합니다(저장된 실행에서 CPU 시간 약 25초, 바쁜 기계에서는 벽시계 시간이 더
# 깁니다). 다른 기계에서는 마지막 비트가 달라지고 학습이 그 차이를 키우므로, 아래 숫자들이 조금씩 다르게 나옵니다.
# 그래서 각 주장은 마지막 자리까지 출력하는 대신 여유를 둔 단언으로 확인합니다.

# %% en="aa3ab6767e"
CONFIG = dict(d_model=64, num_heads=4, num_encoder_layers=2, num_decoder_layers=2, d_ff=128, max_len=32)
torch.manual_seed(0)
model = Transformer(D.SOURCE_VOCAB_SIZE, D.TARGET_VOCAB_SIZE, **CONFIG)
print(f"{sum(p.numel() for p in model.parameters()):,d} 개 파라미터")

# %% en="dae357db7b" tags=["nbval-ignore-output"]
STEPS, BATCH = 600, 64
data_gen = torch.Generator().manual_seed(0)
start, cpu_start = time.perf_counter(), time.process_time()
history = train(
    model,
    lambda step: D.make_date_batch(train_dates, BATCH, data_gen),
    STEPS,
    lr=3e-3,
    warmup=50,
    min_lr_factor=0.02,
    progress=ProgressBar(STEPS, "학습"),
)
train_seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
model.eval()
print(f"{STEPS}스텝 × 예제 {BATCH}개: {train_seconds:.0f}초 (CPU {cpu_seconds:.0f}초), 스레드 1개")

# %% en="ede2d7080c"
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.plot(range(1, STEPS + 1), history, lw=1, color="#0072B2")
ax.set_yscale("log")
ax.set_xlabel("학습 스텝")
ax.set_ylabel("토큰당 교차 엔트로피 (nat, 로그 눈금)")
ax.set_title("손실이 600스텝 동안 세 자릿수만큼 줄어든다")
plt.show()
assert history[-1] < history[0] / 100, (history[0], history[-1])
print("마지막 손실이 첫 손실의 1/100 미만:", history[-1] < history[0] / 100)

# %% [markdown] en="553b93bd21"
# ## 3 · 홀드아웃 날짜에서의 형식별 정확 일치
#
# `BOS`에서 시작하는 그리디 디코딩(수업 07)을 씁니다. 열 글자와 `EOS`가 모두 맞아야만 맞은 예제로 칩니다. 홀드아웃
# 날짜 500개를 각각 여섯 형식으로 써서 3,000개의 예제를 씁니다. 셀은 이번 실행의 숫자를 출력하고, 어느 기계에서나
# 성립해야 하는 것을 단언으로 확인합니다: 전체 형식에서 99 % 이상(저장된 실행은 전부 또는 거의 전부 맞힘), 모든
# 형식 각각에서 97 % 이상.

# %% en="dec3900f5a" tags=["nbval-ignore-output"]
held_out = D.held_out_batch(held_dates[:500])
correct = D.correct_rows(model, held_out)
accuracy = D.accuracy_per_format(correct, held_out)
ROW_LABEL = {"all": "전체"}  # 형식은 D.DATE_FORMATS의 이름 그대로 보여 줍니다
for fmt, acc in accuracy.items():
    print(f"{pad(ROW_LABEL.get(fmt, fmt), 10)} {100 * acc:6.2f} %")
print("틀린 예제:", [e.source for e, ok in zip(held_out.examples, correct.tolist(), strict=True) if not ok])
assert accuracy["all"] >= 0.99, accuracy
assert min(accuracy.values()) >= 0.97, accuracy

# %% en="658549ee80"
print("홀드아웃 정확 일치 >= 99 %:", accuracy["all"] >= 0.99, "| 모든 형식 >= 97 %:", min(accuracy.values()) >= 0.97)

# %% [markdown] en="cf9a0a704d"
# ## 4 · 층과 헤드별 크로스 어텐션
#
# `run_date`는 텍스트 하나를 번역하면서 디코더가 출력을 만들 때 쓴 어텐션 맵을 모두 보관합니다(자기 출력에 대해
# 교사 강요로 한 번 통과시키면 생성 단계마다의 맵이 정확히 그대로 나옵니다). 행은 만들어지는 출력 문자, 열은 원문
# 문자입니다. 레이블에서 한글은 로마자로 적습니다(`[wol]` = 월). 일-월-연 순서의 홀드아웃 날짜 하나를 봅시다.

# %% en="bd5efc58f2"
sample_date = held_dates[123]
sample = D.render_date(sample_date, "dmy_long").source
result = run_date(model, sample)
print(result["message"], "| 크로스 어텐션", tuple(result["cross"].shape), "= (층, H, T_out, S)")
fig = plot_head_grid(
    result["cross"],
    result["out_labels"],
    result["src_labels"],
    f"모든 헤드의 크로스 어텐션, 입력 {sample!r}: 출력의 연도는 원문의 끝을, 일은 시작을 읽는다",
)
plt.show()

# %% [markdown] en="62d756cb86"
# 연도 숫자의 행(처음 네 행)을 읽어 보세요. 대부분의 헤드에서 가중치가 원문의 마지막 네 글자, 즉 이 형식에서 연도가
# 있는 자리에 놓입니다. 월 숫자는 월 단어를, 일 숫자는 첫 글자들을 읽습니다. 교차하는 정렬을 학습한 것입니다. 모든
# 헤드가 같은 일을 하지는 않습니다. 날카로운 헤드도 있고, 필드 전체에 퍼지는 헤드도 있고, 자기가 쓰는 숫자의 이웃을
# 읽는 헤드도 있습니다. 하이픈과 `EOS`에는 대응하는 원문이 없습니다.
#
# 마지막 디코더 층의 헤드 하나로, 같은 날짜를 여섯 형식으로 모두 써서 봅시다.

# %% en="af0bf9c217"
runs = [run_date(model, D.render_date(sample_date, fmt).source) for fmt in D.DATE_FORMATS]
last = CONFIG["num_decoder_layers"] - 1
share_one = D.span_share_table(model, D.held_out_batch(held_dates[:50]))["share"]
best_head = int(share_one[last].argmax())
fig = plot_one_head_per_format(runs, last, best_head, f"디코더 층 {last}, 헤드 {best_head}: 연도가 어디 있든 그 자리를 읽는다")
plt.show()
print("여섯 형식 모두 정답:", all(r["output"] == sample_date.isoformat() for r in runs))

# %% [markdown] en="6cb67ab0a7"
# ## 5 · 측정하기: 정답 구간에 놓인 어텐션
#
# 맵은 그림이고, 주장에는 숫자가 필요합니다. 출력 숫자마다 어느 원문 구간에 답이 있는지 알고 있습니다(`batch.spans`:
# 연도 숫자 → 연도, 월 숫자 → 월 단어나 숫자, 일 숫자 → 일). `span_share`는 각 행의 가중치를 그 구간에서 더하고,
# 여덟 숫자와 예제들에 대해 평균을 냅니다. 1이면 어텐션이 모두 답에, 0이면 전혀 답에 놓이지 않은 것입니다.
#
# 무엇과 비교할까요? 원문을 무시하는 헤드라도 어느 구간에든 어느 정도 가중치를 두며, 긴 구간에는 더 많이 둡니다.
# **구간 섞기 기준선(shuffled-span baseline)**은 각 구간을 원문 안에서 같은 길이의 다른 모든 자리로 옮겨 그곳의 몫을
# 평균합니다. 답이 어디 있는지와 무관하게 어텐션을 두는 헤드가 얻을 값입니다. 홀드아웃 예제 300개(날짜 50개 × 형식
# 6개)로 잽니다.

# %% en="93903f748a" tags=["nbval-ignore-output"]
probe = D.held_out_batch(held_dates[:50])
table = D.span_share_table(model, probe)
share, baseline = table["share"], table["baseline"]
print("정답 구간에 놓인 어텐션의 몫 (행: 디코더 층, 열: 헤드)\n", share)
print("구간 섞기 기준선\n", baseline)
best_last = float(share[last].max())
assert best_last > 2.5 * float(baseline[last].max()) and best_last > 0.5, (share, baseline)
assert (share > baseline).all(), (share, baseline)

# %% en="9705797c4f"
fig = plot_span_share(share, baseline)
plt.show()
print("마지막 층의 가장 좋은 헤드 > 기준선의 2.5배, 그리고 > 0.5:", best_last > 2.5 * float(baseline[last].max()) and best_last > 0.5)

# %% [markdown] en="7a5f03f912"
# 저장된 실행에서 마지막 디코더 층의 가장 좋은 헤드는 어텐션의 약 0.7을 정답 구간에 두며, 기준선은 약 0.2입니다. 모든
# 헤드가 자기 기준선보다 높습니다. (여러분의 기계에서는 숫자가 다르지만, 단언은 넉넉한 여유를 두고 성립합니다.)
#
# ## 6 · 맵이 설명이 아닐 때: 헤드 끄기
#
# 답을 *보는* 헤드가 답을 *전달하는* 헤드라는 보장은 없습니다. 모델에는 크로스 어텐션 헤드 8개, 잔차 연결(residual
# connection), 피드포워드 층이 있어서 같은 정보가 여러 경로로 전달될 수 있습니다. 검증 방법은 개입입니다.
# `D.ablate_heads`는 헤드 하나의 출력을 W^O 앞에서 0으로 만들고(forward hook을 쓰며 가중치는 그대로 둡니다), 한 번에
# 헤드 하나씩 끄면서 정확 일치를 다시 잽니다. 대조를 위해 한 층의 헤드 네 개를 한꺼번에 끈 경우도 잽니다.

# %% en="d8ac603cbc" tags=["nbval-ignore-output"]
full = D.accuracy_per_format(D.correct_rows(model, probe), probe)["all"]
ablated = D.ablation_table(model, probe, "cross")  # (층 수, H)
whole_layer = []
for layer in range(CONFIG["num_decoder_layers"]):
    with D.ablate_heads(model, [("cross", layer, h) for h in range(CONFIG["num_heads"])]):
        whole_layer.append(float(D.correct_rows(model, probe).float().mean()))
print(f"모든 헤드를 켬: {100 * full:.1f} %")
print("크로스 어텐션 헤드 하나를 껐을 때의 정확 일치 (%) (행: 층, 열: 헤드)\n", 100 * ablated)
print("층 전체를 끔:", [f"층 {i}: {100 * a:.1f} %" for i, a in enumerate(whole_layer)])
clear_but_unneeded = [(i, h) for i in range(2) for h in range(4) if share[i, h] > 2 * baseline[i, h] and ablated[i, h] > full - 0.01]
print("맵이 뚜렷한데 (몫 > 기준선의 2배) 꺼도 손실이 1 %p 미만인 헤드:", clear_but_unneeded)
assert clear_but_unneeded, (share, ablated)
assert whole_layer[last] < 0.5, whole_layer

# %% en="1d1b521656"
fig = plot_share_vs_ablation(share, ablated, full)
plt.show()
print("맵은 뚜렷하지만 효과가 없는 헤드가 있음:", bool(clear_but_unneeded), "| 마지막 층을 끄면 50 % 미만:", whole_layer[last] < 0.5)

# %% [markdown] en="509287f55c"
# 저장된 실행이 보여 주는 것(한 번의 실행입니다. 다른 기계에서는 헤드끼리 역할이 바뀌며, 위의 단언은 패턴만
# 확인합니다):
#
# * **맵은 뚜렷한데 효과가 없다.** 디코더 층 0의 헤드 0은 헤드 8개 중 구간 몫이 가장 높지만(약 0.8, 기준선의 네
#   배), 끄더라도 손실되는 정확 일치는 1 %p도 안 됩니다. 층 0의 다른 두 헤드도 마찬가지입니다. 이들의 맵은 진짜지만,
#   모델에게 이들이 *필요하지는* 않습니다. 다른 헤드들이 같은 정보를 전달하기 때문입니다.
# * **그 반대.** 마지막 층의 헤드 3은 구간 몫이 이웃 헤드들과 비슷한데도, 모델이 없어서는 안 되는 헤드입니다. 이
#   헤드가 없으면 예제의 약 3분의 1만 맞습니다. 맵에는 이 헤드가 특별하다는 표시가 전혀 없습니다.
# * 층 0의 크로스 어텐션을 모두 끄면 15 %p 정도가 떨어지고, 마지막 층의 것을 끄면 거의 전부를 잃습니다.
#
# 즉 맵은 헤드가 어디를 보는지 알려 줄 뿐, 답이 그 헤드에 달려 있는지는 알려 주지 않습니다. 그것은 개입만이 말해
# 줍니다.
#
# ## 7 · 나머지 두 어텐션: 인코더와 디코더의 셀프 어텐션
#
# 같은 원문에 대한 인코더의 셀프 어텐션입니다. 행은 어텐션을 하는 원문 문자, 열은 어텐션을 받는 문자입니다.

# %% en="0c94773d02"
fig = plot_head_grid(
    result["encoder"],
    result["src_labels"],
    result["src_labels"],
    f"인코더 셀프 어텐션, 입력 {sample!r}: 문자들은 이웃과 자기 필드를 본다",
    xlabel="원문 문자 (어텐션을 받음)",
    ylabel="원문 문자",
    row_name="인코더 층",
)
plt.show()

# %% [markdown] en="311150753d"
# 열을 찾아보세요. 여러 헤드에서 많은 문자가 같은 몇몇 문자, 즉 필드나 표지(공백, 첫 글자)에 어텐션을 둡니다. 저장된
# 실행에서 인코더 층 1의 헤드 0은 원문 앞쪽 절반의 문자들을 월 단어로, 뒤쪽 절반의 문자들을 연도 숫자로 보냅니다.
# 이런 헤드는 필드 전체에 대한 정보를 각 위치에 섞어 넣어, 숫자의 벡터가 자신이 연도에 속한다는 것을 "알게" 합니다.
# 그러면 디코더가 필드를 찾는 일은 조회가 됩니다. 인코더 맵은 크로스 어텐션보다 읽기 어렵습니다. 어떤 모양이어야
# 하는지 알려 주는 구간 통계가 없기 때문입니다.
#
# 디코더의 셀프 어텐션입니다(인과적: 각 출력 위치는 자기보다 앞선 위치만 봅니다, 수업 05).

# %% en="3cbdd7d7b3"
fig = plot_head_grid(
    result["decoder_self"],
    result["out_labels"],
    ["<bos>", *result["out_labels"][:-1]],
    "디코더 셀프 어텐션: 각 출력은 앞선 출력(BOS와 최근 몇 글자)을 읽는다",
    xlabel="앞선 디코더 입력 (어텐션을 받음)",
    ylabel="만들어지는 출력",
    row_name="디코더 층",
)
plt.show()

# %% [markdown] en="4286a2ea0a"
# 각 출력은 `BOS`와 최근 출력 몇 개에 어텐션을 둡니다. 저장된 실행에서 한 헤드(층 0, 헤드 3)는 하이픈 뒤의 모든
# 출력이 그 하이픈을 보게 합니다. 다음에 어떤 필드가 오는지 알려 주는 표지입니다. 여기서 디코더에게 자기 과거가
# 얼마나 필요할까요? 어떤 자리의 숫자를 쓰고 있는지는 위치 인코딩(positional encoding)으로도 알 수 있고, 숫자 자체는
# 원문에서 옵니다. 어블레이션 도구로 답해 봅시다. 마지막 디코더 층의 셀프 어텐션 헤드를 하나씩 끕니다.

# %% en="256dff0235" tags=["nbval-ignore-output"]
self_ablated = D.ablation_table(model, probe, "decoder_self", layers=[last])  # (1, H): 층 하나, 헤드별
print(f"디코더 층 {last}의 셀프 어텐션 헤드 하나를 껐을 때의 정확 일치 (%):", (100 * self_ablated[0]).tolist())
assert float(self_ablated.min()) > 0.9, self_ablated

# %% [markdown] en="96ab3b2493"
# 저장된 실행에서 마지막 층의 디코더 셀프 어텐션 헤드 중 혼자서 중요한 헤드는 없습니다(위의 단언은 각각 90 %를
# 넘는지 확인합니다).
#
# ## 8 · 실패 하나와 그 맵
#
# 여섯 학습 형식은 모두 연도를 맨 앞(한국어)이나 맨 뒤에 둡니다. 연-월-일 순서에 슬래시를 쓴 `2019/03/25`는 새로운
# 형식입니다. 문자는 모두 아는 것이지만 순서는 처음 봅니다.

# %% en="f3e2cb3475" tags=["nbval-ignore-output"]
failure = run_date(model, "2019/03/25")
print(failure["message"])
assert failure["output"] != "2019-03-25", failure["message"]

# %% en="12e0086d90"
fig = plot_date_attention(failure, layer=last, head=best_head)
plt.show()
print("모델이 2019/03/25를 틀림:", failure["output"] != "2019-03-25")

# %% [markdown] en="293498be12"
# 맵이 그 이유를 보여 줍니다. 원문은 `dd/mm/yyyy`처럼 보이고(슬래시, 열 글자), 헤드들은 필드를 담은 숫자가 아니라 그
# 형식이 필드를 두는 *위치*를 읽습니다. 저장된 실행에서 답은 `2025-03-20`이었습니다. 일 숫자는 첫 두 글자(`20`, 연도의
# 시작)를, 연도 숫자는 마지막 글자들을 읽었습니다. 모델은 본 형식마다 각 필드가 어디 있는지를 배웠을 뿐, 연도가
# 무엇인지를 배운 것이 아닙니다. 테스트 집합에서 완벽한 모델도 학습 분포를 벗어난 첫 입력에서 실패할 수 있습니다.
# (틀린 출력은 기계의 학습 실행에 따라 다르며, 틀린다는 사실만 단언으로 확인합니다.)
#
# ## 9 · 직접 해 보기: 날짜를 입력하세요
#
# 여섯 형식 중 하나(또는 새로운 형식)로 날짜를 입력하고 Enter를 누르세요. 디코더 층과 헤드를 골라 그 크로스 어텐션을
# 볼 수 있습니다. *이 헤드 끄기*를 체크하면 그 헤드를 어블레이션하고 출력이 바뀌는지 볼 수 있습니다. `Sat 1 Jan 00`,
# `the 3rd of july, 1969`, `1999년 12월 31일 금요일`, 틀린 요일(`Sun 25 Mar 19`), 처음 보는 형식(`25 Mar 2019`,
# `25/3/2019`)을 입력해 보세요.

# %% en="1af2942a9b" tags=["nbval-ignore-output"]
text = widgets.Text(value="the 25th of march, 2019", description="날짜", continuous_update=False)
layer_pick = widgets.Dropdown(options=[("디코더 층 0", 0), ("디코더 층 1", 1)], value=1, description="층")
head_pick = widgets.Dropdown(options=[(f"헤드 {h}", h) for h in range(4)], value=best_head, description="헤드")
off = widgets.Checkbox(value=False, description="이 헤드 끄기")


def show(text: str, layer: int, head: int, off: bool) -> None:
    result = run_date(model, text, ablate=("cross", layer, head) if off else None)
    print(result["message"])
    if result["ok"]:
        plot_date_attention(result, layer=layer, head=head)
        plt.show()


controls = widgets.HBox([text, layer_pick, head_pick, off])
display(widgets.VBox([controls, widgets.interactive_output(show, {"text": text, "layer": layer_pick, "head": head_pick, "off": off})]))

# %% [markdown] en="a1d5e9c617"
# ## 연습 문제(exercises)
#
# 각 `my_...` 함수의 본문을 채우고 그 아래 셀을 실행하세요. 채점기(checker)가 여러 입력에서 참조 구현과 비교하고 흔한
# 실수(mistake)를 짚어 줍니다. 노란색 = 아직 시도하지 않음, 빨간색 = 다른 곳이 있음, 초록색 = 정답.
#
# ### 연습 문제 1 · 정답 구간에 놓인 어텐션의 몫
#
# `weights` `(T, S)`는 예제 하나에 대한 헤드 하나의 크로스 어텐션입니다(각 행의 합은 1). `span` `(T, S)`는 bool이며,
# 행 *t*의 답을 담은 원문 문자에서 True입니다(하이픈의 행처럼 모두 False인 행도 있을 수 있습니다). 각 행의 어텐션 중
# 자기 구간에 놓인 몫을 모양(shape) `(T,)`로 반환하세요.
#
# 막혔나요? `show_solution("answer_span_share")`(먼저 `from attn_lib.exercises import show_solution`).


# %% en="7b8a81a6f9"
def my_answer_span_share(weights, span):
    """weights (T, S), span bool (T, S) -> (T,)."""
    ...  # 여기에 코드를 작성하세요


# %% en="e50bc9a934"
from attn_lib.exercises import check_answer_span_share

check_answer_span_share(my_answer_span_share)

# %% [markdown] en="8752852268"
# ### 연습 문제 2 · argmax 정렬 읽기
#
# 크로스 어텐션 맵 `weights` `(T, S)`에서, 출력 행마다 가장 많이 어텐션을 두는 원문 위치를 모양 `(T,)`(long)로
# 반환하세요. 사람들이 맵에서 읽어 내는 "정렬"이 바로 이것입니다.
#
# 막혔나요? `show_solution("argmax_alignment")`.


# %% en="fca6683af5"
def my_argmax_alignment(weights):
    """weights (T, S) -> source positions (T,)."""
    ...  # 여기에 코드를 작성하세요


# %% en="a6998b3c13"
from attn_lib.exercises import check_argmax_alignment

check_argmax_alignment(my_argmax_alignment)

# %% [markdown] en="70c0f24798"
# ### 연습 문제 3 · 예제 하나의 구간 마스크
#
# `spans` `(3, 2)`는 길이 `S`인 원문에서 연, 월, 일의 `[start, end)`를 담고 있습니다. 출력 문자 열 개 `YYYY-MM-DD`에
# 대해 연습 문제 1에 필요한 bool 마스크(mask) `(10, S)`를 만드세요: 행 0–3은 연도 구간에서, 행 5–6은 월에서, 행
# 8–9는 일에서 True이고, 행 4와 7(하이픈)은 모두 False입니다.
#
# 막혔나요? `show_solution("date_span_mask")`.


# %% en="5eecb5cdeb"
def my_date_span_mask(spans, S):
    """spans (3, 2) long, S int -> bool (10, S)."""
    ...  # 여기에 코드를 작성하세요


# %% en="2071ec8358"
from attn_lib.exercises import check_date_span_mask

check_date_span_mask(my_date_span_mask)

# %% [markdown] en="c236553d45"
# ## 요약(summary)
#
# * 날짜 정규화는 작지만 진짜 번역 과제입니다: 여섯 가지 표기 → `YYYY-MM-DD`, 문자 단위이며, 학습에 한 번도 나오지
#   않는 날짜 2,000개의 홀드아웃 집합이 있습니다.
# * 어텐션마다 헤드가 4개인 수업 07의 Transformer는 CPU 스레드 하나로 600스텝 만에 학습되며(학습 셀이 시간을 출력),
#   홀드아웃 예제의 99 % 이상을 정확히 맞히고 형식마다 97 % 이상을 맞힙니다(단언으로 확인, 저장된 실행은 전부 또는
#   거의 전부 맞힘).
# * 크로스 어텐션은 순서 바꾸기를 학습합니다: 출력의 연도 숫자는 원문 연도가 어디 있든 그것을 읽고, 월 숫자는 월
#   단어나 숫자를, 일 숫자는 일을 읽습니다. 정답 구간에 놓인 어텐션의 몫으로 재면 모든 헤드가 구간 섞기 기준선보다
#   높고, 마지막 층의 가장 좋은 헤드는 훨씬 높습니다.
# * 뚜렷한 맵이 곧 설명은 아닙니다: 헤드를 하나씩 끄면 맵이 뚜렷한데도 모델에 필요 없는 헤드가 드러나고, 한 층의
#   크로스 어텐션 전체를 끄면 모델이 무너집니다.
# * 인코더는 자기 필드를 아는 문자 표현을 만들고, 디코더의 셀프 어텐션은 여기서 별로 중요하지 않습니다.
# * 모델은 본 형식들에서 필드가 어디 있는지를 배웠습니다: 새로운 순서(`2019/03/25`)에서는 실패합니다.
#
# ## 스스로 점검하기(check yourself)
#
# 1. 홀드아웃 집합은 왜 예제가 아니라 *날짜*를 떼어 둘까요?
# 2. 구간 몫을 따로 읽지 않고 왜 기준선과 비교할까요? 어떤 구간이 우연히 높은 몫을 얻을까요?
# 3. 어떤 헤드가 정답 구간에 날카로운 맵을 갖는데도 끄면 아무것도 바뀌지 않습니다. 그럴 수 있는 이유 두 가지를 드세요.
# 4. 요일 단어는 어텐션을 거의 받지 않습니다. 일부 학습 예제에서 요일이 틀려 있다면 이것이 달라질까요? 이유는?
# 5. 모델이 `2019/03/25`를 처리하게 하려면 어떻게 하겠습니까?
#
# <details><summary>답</summary>
#
# 1. 같은 날짜를 다른 형식으로 쓴 것은 거의 같은 문제입니다. `25 March 2019`가 학습에 있었다면 테스트의
#    `25/03/2019`는 읽기가 아니라 그 날짜를 기억하는지를 재게 됩니다. 날짜를 떼어 두면 모든 테스트 날짜가 모든
#    형식에서 새로운 것이 됩니다.
# 2. 어텐션을 고르게 퍼뜨리는 헤드도 모든 구간에 그 길이에 비례하는 가중치를 둡니다. 긴 구간(`september` 같은 월
#    단어)은 우연히 높은 몫을 얻습니다. 기준선은 바로 그 구간 길이와 원문에 대한 우연 수준을 잽니다.
# 3. 다른 헤드(또는 다른 층의 같은 헤드)가 같은 정보를 전달해서 모델에 중복 경로가 있을 수 있습니다. 또는 그 헤드의
#    출력이 작거나 W^O와 뒤쪽 층에서 상쇄되어, 그 헤드가 읽은 것이 뒤에서 전혀 쓰이지 않을 수 있습니다.
# 4. 아니요. 요일은 출력을 결정하지 않으므로, 맞든 틀리든 요일에 어텐션을 두어도 손실(loss)이 줄지 않습니다.
#    (*목표*가 요일에 달려 있다면 달라질 것입니다.)
# 5. 그 형식을 학습 데이터에 넣습니다(일곱 번째 형식). 모델 안의 어떤 것도 연도가 무엇인지 모릅니다. 아는 것은
#    학습한 예제뿐입니다.
#
# </details>
