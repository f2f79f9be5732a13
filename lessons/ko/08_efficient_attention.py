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

# %% [markdown] en="91af3202d1"
# # 08 · 어텐션의 비용, 그리고 무엇이 정말로 어텐션을 싸게 만드는가
#
# 모든 쿼리(query)가 모든 키(key)를 만납니다. 이것이 어텐션(attention)을 강력하게 만드는 점이자 비싸게 만드는 점입니다.
# 토큰 T개의 시퀀스(sequence)에서 점수(score) 행렬 QKᵀ는 헤드마다, 층마다 T × T개의 항목을 가집니다. 이 수업에서는
# 이 기계에서 시간과 메모리가 어디에 쓰이는지 측정하고, FlashAttention 방식의 커널, PyTorch의 퓨즈드 커널(fused
# kernel), KV 캐시(KV cache)가 무엇을 바꾸고 무엇을 바꾸지 않는지 봅니다.
#
# **학습 목표(learning goals).** 이 수업을 마치면 다음을 할 수 있습니다.
# 1. 어텐션 블록(block) 하나의 FLOPs(부동소수점 연산 수)와 옮기는 바이트 수를 세고, 측정을 근거로 가느다란 스텝(한
#    번에 키 몇 개와 모든 쿼리)이 왜 느린지 설명한다: 호출 오버헤드(call overhead)가 아니라 메모리 트래픽 때문이다.
# 2. **온라인 소프트맥스(online softmax)**(누적 최댓값과 다시 스케일되는 누적 합)를 유도하고, 이를 이용해 T × T 행렬
#    없이 정확한 어텐션을 계산한다. 키를 청크(chunk)로 나누거나(`chunked_attention`), FlashAttention처럼 쿼리 블록 × 키
#    블록으로 **타일링(tiling)**한다(`tiled_attention`).
# 3. PyTorch의 퓨즈드 커널을 포함해 이 방법들이 여전히 **O(T²)의 계산**을 한다는 것을 측정으로 보인다. 이 방법들이
#    아끼는 것은 산술이 아니라 메모리(와 GPU에서는 메모리 왕복)다.
# 4. 타일링 어텐션의 **역전파(backward pass)**를 설명한다: T × T 가중치 대신 쿼리마다 log-sum-exp 하나를 보관하고,
#    가중치는 블록 단위로 다시 계산한다. 학습 메모리를 측정한다.
# 5. 생성에 **KV 캐시**를 쓰고, 각 스텝이 왜 여전히 O(t)의 비용이 드는지 말하며, 새 토큰에 위치 오프셋을 주고, 캐시
#    메모리의 해결책(그룹 쿼리 / 멀티 쿼리 어텐션)을 말한다.
#
# 시간은 기계에 따라 달라집니다. 측정한 시간이나 메모리를 출력하는 셀은 그렇다고 밝히며, 그 주장은 셀 안에서 넉넉한
# 여유를 두고 단언합니다. 결론은 비율과, 시계에 의존하지 않는 검사에 근거합니다. 시간은 CPU 시간(초, `measure_time`의
# 기본값)입니다: 계산 자체가 드는 시간이며, 그동안 기계의 다른 프로그램이 가져가는 시간은 들어가지 않습니다.

# %% en="setup"
from attn_lib.i18n import set_language

set_language("ko")

# %% en="69dfa02bc7"
import itertools
import math
import os
import statistics

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display
from matplotlib.ticker import FuncFormatter
from torch.nn.attention import SDPBackend, sdpa_kernel

from attn_lib import MultiHeadAttention, Transformer, causal_mask, greedy_decode, scaled_dot_product_attention
from attn_lib.efficient import (
    chunked_attention,
    measure_peak_memory,
    measure_time,
    online_softmax_steps,
    operators_called,
    tiled_attention,
)
from attn_lib.i18n import pad
from attn_lib.widgets import format_bytes, score_memory
from attn_lib.widgets.lesson08 import plot_tile_choice, step_cost

torch.manual_seed(0)
torch.set_num_threads(1)  # 스레드 하나: 재현 가능한 합, 그리고 코어를 두고 다투지 않는 시간 측정
torch.set_printoptions(precision=4, sci_mode=False)
MiB = 2**20


def median_time(fn, repeats=3):
    """워밍업 한 번 뒤 ``repeats``번 호출한 CPU 시간(초)의 중앙값."""
    return statistics.median(measure_time(fn, repeats=repeats))


print("torch", torch.__version__, "| 스레드 수:", torch.get_num_threads())

# %% [markdown] en="71d953135f"
# ## 1 · 점수 행렬은 T × T다
#
# Q, K, V의 모양(shape)이 `(B, H, T, Dh)`인 softmax(QKᵀ/√d_k)V에서 점수 QKᵀ는 `(B, H, T, T)`입니다. 헤드마다 (쿼리, 키)
# 쌍 하나에 숫자 하나입니다. float32에서 숫자 하나는 4바이트를 차지합니다. 시퀀스 하나(B = 1)와 헤드 8개에 대해
# `score_memory`(`attn_lib.widgets`에 있음)가 그 행렬의 바이트 수를 알려 줍니다.

# %% en="3b768ee22a"
H, Dh = 8, 64  # 수업 내내 쓰는 헤드 수와 head_dim
print(f"{pad('T', 7, '>')}  {pad('점수 (1, 8, T, T), float32', 28, '>')}")
for T in [512, 1024, 2048, 4096, 8192, 16384, 32768]:
    print(f"{T:>7d}  {format_bytes(score_memory(T, T, num_heads=H)['explicit']):>28s}")
assert score_memory(4096, 4096, num_heads=H)["explicit"] == 1 * H * 4096 * 4096 * 4 == 512 * MiB

# %% [markdown] en="6d30877c84"
# T를 두 배로 하면 행렬은 네 배가 됩니다. 오늘날 언어 모델이 흔히 다루는 문맥 길이인 32,768토큰에서는 층 하나의 점수만
# 32 GiB가 필요합니다. 대부분의 노트북 메모리보다 큽니다. 이 기계의 메모리에는 들어갈까요? 아래 셀은 기계의 RAM을
# 읽습니다(따라서 출력은 기계마다 다릅니다).

# %% en="fc712db3f1" tags=["nbval-ignore-output"]
try:
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")  # 물리 메모리의 바이트 수
except (ValueError, OSError, AttributeError):  # 이 시스템에서는 알 수 없음
    ram = None
scores_32k = score_memory(32768, 32768, num_heads=H)["explicit"]
if ram is None:
    print("이 시스템은 RAM 크기를 알려 주지 않습니다")
else:
    print(f"이 기계의 RAM: {format_bytes(ram)}; T = 32,768에서의 점수({format_bytes(scores_32k)})는 "
          f"RAM보다 {'작은 크기' if scores_32k < ram else '큰 크기'}입니다")

# %% [markdown] en="525f1cae1b"
# 계산량도 같은 방식으로 늘어납니다. QKᵀ를 계산하는 데 헤드마다 T · T · Dh번의 곱셈-덧셈이 들고, 가중치에 V를 곱하는
# 데에도 같은 만큼이 듭니다. 이 수업의 질문은, 어떤 방법이 실제로 아끼는 것이 둘 중 어느 쪽, 즉 산술인지 메모리인지입니다.

# %% [markdown] en="00f856846d"
# ## 2 · 시간은 어디로 가는가: 산술과 옮기는 바이트
#
# CPU(또는 GPU) 코어는 주 메모리가 숫자를 전달하는 속도보다 훨씬 많은 산술을 초당 할 수 있습니다. 대략 가져오는
# 바이트당 수십 FLOP입니다. **산술 강도(arithmetic intensity)**(옮긴 바이트당 FLOP)가 그보다 낮은 계산은 메모리를
# 기다립니다. 온라인 소프트맥스(3절에서 유도합니다)에서 쿼리 `rows`개가 폭 d인 키 `keys`개를 만나는 한 스텝을 세어
# 봅시다. 행렬곱 두 번으로 4 · rows · keys · d FLOPs입니다. 옮기는 바이트는, 아무것도 캐시에 남지 않는다면, 쿼리, 키와
# 밸류 블록, 읽고 쓰는 누적값(accumulator), 그리고 몇 번 쓰고 읽는 점수 블록입니다. `step_cost`(`attn_lib.widgets.lesson08`에
# 있음)가 이 셈을 합니다.

# %% en="aeecb03bf5"
print(f"{pad('쿼리 x 키', 12, '>')}  {pad('MFLOP', 7, '>')}  {pad('옮긴 MiB', 9, '>')}  {pad('FLOP/바이트', 11, '>')}")
for rows, keys in [(2048, 4), (2048, 64), (2048, 256), (256, 256)]:
    c = step_cost(rows, keys, head_dim=64)
    print(f"{rows:>5d} x {keys:<4d}  {c['flops'] / 1e6:7.1f}  {c['bytes'] / MiB:9.2f}  {c['intensity']:11.1f}")
assert step_cost(2048, 4, 64)["intensity"] < 1.5 < 8 < step_cost(2048, 256, 64)["intensity"]

# %% [markdown] en="f957113e69"
# 쿼리 2048개 전부와 키 4개로 하는 스텝은 바이트당 약 1 FLOP을 합니다. 산술 조금을 하려고 쿼리 행렬 전체를 읽고 누적값
# 전체를 다시 씁니다. 측정해 봅시다. 같은 512스텝(키 T_k = 2048개를 C = 4씩 청크로)을 쿼리 64개와 2048개로 돌리고, 한
# 스텝의 조각들도 잽니다: 누적값 다시 스케일하기(`acc.mul_`), 가느다란 행렬곱 `q @ k_chunkᵀ`, 그리고 원소 하나짜리
# 텐서에 대한 호출(할 일이 없을 때 PyTorch 호출 하나의 비용). 측정한 시간이므로 출력은 실행할 때마다 바뀌고, 주장은
# 단언으로 확인합니다.

# %% en="abf649e551" tags=["nbval-ignore-output"]
T_k, C = 2048, 4
k, v = torch.randn(2, 1, 4, T_k, 64).unbind(0)  # 각각 (B, H, T_k, Dh) = (1, 4, 2048, 64)
per_step = {}
with torch.no_grad():
    for T_q in (64, 2048):
        q = torch.randn(1, 4, T_q, 64)  # (1, 4, T_q, 64)
        per_step[T_q] = median_time(lambda q=q: chunked_attention(q, k, v, chunk_size=C), 3 if T_q == 64 else 1) / (T_k // C)
        print(f"T_q = {T_q:4d}: 스텝당 {per_step[T_q] * 1e6:7.0f} µs ({T_k // C}스텝)")
    acc, k_c, tiny = torch.randn(1, 4, 2048, 64), k[..., :C, :], torch.zeros(1)
    op_time = {
        "acc.mul_(rescale), acc (1, 4, 2048, 64)": median_time(lambda: acc.mul_(1.0), repeats=20),
        "q @ k_chunkᵀ, (2048 x 64) @ (64 x 4)": median_time(lambda: q @ k_c.transpose(-2, -1), repeats=20),
        "a call with nothing to do (1 element)": median_time(lambda: tiny.mul_(1.0), repeats=20),
    }
OP_LABEL = {"a call with nothing to do (1 element)": "할 일이 없는 호출 (원소 1개)"}  # 코드 식은 그대로 보여 줍니다
for name, sec in op_time.items():
    print(f"{pad(OP_LABEL.get(name, name), 42)} {sec * 1e6:7.1f} µs")
ratio = per_step[2048] / per_step[64]
print(f"쿼리 2048개인 스텝은 64개일 때의 {ratio:.1f}배 걸림")
assert ratio > 3, ratio  # 호출 오버헤드라면 T_q에 의존하지 않는다; 메모리 트래픽은 T_q에 따라 늘어난다
assert op_time["acc.mul_(rescale), acc (1, 4, 2048, 64)"] > 3 * op_time["a call with nothing to do (1 element)"]

# %% [markdown] en="af888eee3f"
# 두 실행의 스텝 수가 같으므로 호출 오버헤드도 같습니다. 그런데 쿼리가 32배 많은 스텝은 몇 배나 더 오래 걸립니다(출력된
# 비율: 우리 실행에서 약 8배). 할 일이 없는 호출은 몇 µs지만, 누적값을 다시 스케일하는 것과 가느다란 행렬곱은 각각
# 수십에서 수백 µs가 듭니다. **작은 청크의 비용은 스텝마다의 O(T_q · d) 메모리 트래픽**(Q를 다시 읽고, 누적값을 다시
# 스케일하고, 강도 약 C의 행렬곱)이지, 호출당 오버헤드가 아닙니다.
#
# 그래서 FlashAttention은 **쿼리**도 타일로 나눕니다. 쿼리 B_q개의 블록과 그 누적값(여기서는 256 × 64 float = 헤드당
# 64 KiB)는 빠른 메모리(GPU에서는 레지스터와 온칩 메모리, CPU에서는 캐시)에 머물고, 키 블록들이 그 곁을 흘러
# 지나갑니다. 각 키 블록은 쿼리 블록마다 한 번 읽힙니다. 이 대비는 4절에서 측정합니다.

# %% [markdown] en="ed73703542"
# ## 3 · 온라인 소프트맥스: 한 번에 청크 하나씩 하는 소프트맥스
#
# T × T 행렬이 필요한 이유는 한 행의 소프트맥스(softmax)가 행 전체, 즉 그 최댓값(안정성을 위해, 수업 02)과 합을
# 필요로 하기 때문입니다. 한 행을 청크로 나누어 처리할 수 있을까요? 한 가지 항등식이 이를 가능하게 합니다. *어떤*
# 상수 m에 대해서도
#
# $$\operatorname{softmax}(s)_j = \frac{e^{s_j - m}}{\sum_i e^{s_i - m}}.$$
#
# 행을 청크 단위로 훑으면서 숫자 두 개를 유지합니다: 지금까지 본 점수의 **누적 최댓값** m과, 그 점수들에 대한
# **누적 합** ℓ = Σ e^{s_i − m}입니다. 어떤 청크가 새 최댓값 m′ ≥ m을 가져오면, 이전 합은 잘못된 상수를 기준으로 계산된
# 셈입니다. 여기에 e^{m − m′}(1 이하인 수)를 곱하면 바로잡힙니다.
#
# $$m' = \max(m, \max_{j \in \text{chunk}} s_j), \qquad \ell' = \ell \, e^{m - m'} + \sum_{j \in \text{chunk}} e^{s_j - m'}.$$
#
# 키 T_k = 8개에 대한 쿼리 하나의 점수를, 청크 크기 3으로 직접 계산해 봅시다.

# %% en="2432d7d4c1"
scores = torch.tensor([1.0, 3.0, 0.5, 2.0, 6.0, -1.0, 4.0, 2.5])  # (T_k,) QKᵀ/√d_k의 한 행
m, ell = float("-inf"), 0.0  # 누적 최댓값, 누적 합
for chunk in scores.split(3):  # (3,), (3,), (2,)
    new_m = max(m, chunk.max().item())
    rescale = math.exp(m - new_m)  # 첫 청크 전에는 exp(-inf) = 0
    ell = ell * rescale + torch.exp(chunk - new_m).sum().item()
    print(f"청크 {chunk.tolist()}: 최댓값 {m:5.1f} -> {new_m:.1f}, 이전 합 x {rescale:.4f}, 현재 합 {ell:.4f}")
    m = new_m
weights = torch.exp(scores - m) / ell
torch.testing.assert_close(weights, torch.softmax(scores, dim=0))
print("가중치:", weights, "\ntorch.softmax와 같음: True")

# %% [markdown] en="c3c0f6328e"
# 두 번째 청크가 최댓값을 3에서 6으로 올렸으므로, 첫 청크의 합에 e^{3 − 6} ≈ 0.0498을 곱했습니다. 세 번째 청크는
# 최댓값을 올리지 않았습니다(인수 1). `attn_lib.efficient.online_softmax_steps`는 같은 과정을 기록하며, 각 청크 뒤에서
# 멈췄다면 그 행이 가졌을 가중치도 함께 기록합니다.

# %% en="e82eb3433f"
steps = online_softmax_steps(scores, chunk_size=3)
for i, step in enumerate(steps):
    print(f"청크 {i} 뒤: 누적 최댓값 {step['max'][0]:.1f}, 누적 합 {step['sum'][0]:.4f}, "
          f"본 키 수 {step['seen'][0]}")
assert steps[-1]["max"][0] == m and abs(steps[-1]["sum"][0] - ell) < 1e-6
torch.testing.assert_close(torch.tensor(steps[-1]["weights"], dtype=torch.float32), weights)
print("마지막 스텝의 가중치가 소프트맥스임: True")

# %% en="f0747b3124"
fig, axes = plt.subplots(1, len(steps), figsize=(10, 3.2), sharey=True)
positions = range(len(scores))
for i, (ax, step) in enumerate(zip(axes, steps, strict=True)):
    seen = step["seen"][0]
    provisional = step["weights"] + [0.0] * (len(scores) - seen)
    ax.bar(positions, provisional, color=["#2a9d8f"] * seen + ["#dddddd"] * (len(scores) - seen))
    ax.axvspan(3 * i - 0.5, seen - 0.5, color="#f4a261", alpha=0.2)  # 방금 읽은 청크
    if seen < len(scores):
        ax.text((seen + len(scores) - 1) / 2, 0.4, "아직\n읽지 않음", ha="center", color="grey", fontsize=8)
    ax.set_title(f"청크 {i} 뒤: 최댓값 {step['max'][0]:.0f}, 합 {step['sum'][0]:.2f}", fontsize=9)
    ax.set_xticks(list(positions), [f"{s:g}" for s in scores.tolist()], fontsize=8)
    ax.set_xlabel("키 j의 점수")
axes[-1].plot(positions, torch.softmax(scores, 0), "k_", ms=14, mew=2, label="행 전체의 소프트맥스")
axes[-1].legend(fontsize=8, loc="upper left")
axes[0].set_ylabel("가중치 (본 키들에 대해 정규화)")
fig.suptitle("온라인 소프트맥스: 누적 최댓값과 다시 스케일되는 누적 합; 마지막 청크 뒤 가중치는 (반올림 오차 범위에서) 소프트맥스와 같다",
             fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown] en="1f8ee2b6a3"
# 음영으로 칠한 띠가 방금 읽은 청크입니다. 각 청크 뒤에 지금까지 본 키들에 대한 가중치의 합은 1입니다. 뒤의 청크가
# 경쟁자를 더할수록 가중치는 줄어들고(점수 6은 나타나자마자 가중치의 대부분을 가져갑니다), 마지막 청크 뒤에는 행
# 전체의 소프트맥스가 됩니다.
#
# ### 가중치에서 출력으로: 청크 어텐션
#
# 어텐션에 필요한 것은 가중치 자체가 아니라 Σ_j softmax(s)_j v_j입니다. 같은 요령을 누적 **분자** acc = Σ e^{s_j − m} v_j에
# 적용하고, 같은 인수 e^{m − m′}로 다시 스케일합니다. 끝에서 출력은 acc / ℓ입니다. 이것을 행렬로 모든 쿼리에 한꺼번에
# 하면 `attn_lib.efficient.chunked_attention(query, key, value, mask, chunk_size)`가 됩니다. 키를 C개씩 청크로 훑으므로,
# 점수는 언제나 `(B, H, T_q, C)` 블록만큼만 존재합니다. 근사가 아니라 정확한 계산입니다. 마스크(mask)는 강좌의 다른
# 곳과 똑같이 동작합니다(True = 어텐션할 수 있음, 어텐션할 곳이 없는 쿼리는 0을 받습니다).

# %% en="c1bb774946"
q, k, v = torch.randn(3, 2, 4, 300, 32).unbind(0)  # 각각 (B, H, T, Dh) = (2, 4, 300, 32)
mask = causal_mask(300)  # (T, T)
exact, _ = scaled_dot_product_attention(q, k, v, mask=mask)  # (2, 4, 300, 32)
for C in [1, 7, 64, 300, 1000]:
    out = chunked_attention(q, k, v, mask=mask, chunk_size=C)  # (2, 4, 300, 32)
    err = (out - exact).abs().max().item()
    print(f"chunk_size {C:4d}: 출력 {tuple(out.shape)}, 최대 절대 오차 < 1e-5: {err < 1e-5}")

# %% [markdown] en="6437735416"
# 청크 크기 1(키를 하나씩), 7(300을 나누어떨어지게 하지 않음), 1000(T보다 커서 청크 하나)이 모두 float 반올림 오차
# 범위에서 명시적 공식과 일치합니다. 그리고 키가 모두 마스킹된 쿼리는 NaN이 아니라 0을 받습니다. 쿼리 0을 완전히 막아
# 확인합니다. 비교하자면, −∞로 된 행에 그냥 소프트맥스를 하면 NaN(0/0)이 나오고, PyTorch의 퓨즈드 함수는 이 버전에서
# 역시 0을 반환합니다.

# %% en="b74cd5ebed"
no_keys = mask.clone()
no_keys[0] = False  # 쿼리 0은 아무 데도 어텐션할 수 없다
print("chunked_attention, 쿼리 0:", chunked_attention(q, k, v, mask=no_keys, chunk_size=64)[0, 0, 0, :4], "...")
scores_0 = (q[0, 0] @ k[0, 0].T).masked_fill(~no_keys, float("-inf"))  # (T, T), 문장 0의 헤드 0
print(pad("그냥 소프트맥스, 쿼리 0:", 27), torch.softmax(scores_0, dim=-1)[0, :4], "...")
print("F.scaled_dot_product_attention, 쿼리 0:",
      F.scaled_dot_product_attention(q, k, v, attn_mask=no_keys)[0, 0, 0, :4], "...")

# %% [markdown] en="dc69f59af4"
# ## 4 · 키만 나눈 청크 대 쿼리 × 키 타일
#
# `chunked_attention`은 키만 훑으며, 매 스텝 쿼리 T_q개 전부를 씁니다. 점수 블록은 `(B, H, T_q, C)`입니다.
# `attn_lib.efficient.tiled_attention(query, key, value, mask, block_q, block_k)`는 쿼리도 B_q개씩 블록으로 나누고
# 쿼리 블록마다 온라인 소프트맥스를 돌립니다. 점수 블록은 T와 상관없이 `(B, H, B_q, B_k)`입니다. 이것도 마스크와 완전히
# 마스킹된 행(fully masked row)까지 포함해 정확하며, 출력과 함께 각 행의 **log-sum-exp**, lse = m + log ℓ도
# 반환합니다(7절에서 필요합니다). T를 나누어떨어지게 하지 않는 블록 크기로 PyTorch와 대조합니다.

# %% en="03fe32213e"
q, k, v = torch.randn(3, 2, 4, 300, 32).unbind(0)  # 각각 (B, H, T, Dh) = (2, 4, 300, 32)
mask = causal_mask(300)  # (T, T)
mask_0 = mask.clone()
mask_0[0] = False  # 쿼리 0은 아무 데도 어텐션할 수 없다
for bq, bk in [(1, 7), (64, 64), (100, 300), (512, 512)]:
    out, lse = tiled_attention(q, k, v, mask=mask_0, block_q=bq, block_k=bk)  # (2, 4, 300, 32), (2, 4, 300)
    err = (out - F.scaled_dot_product_attention(q, k, v, attn_mask=mask_0)).abs().max().item()
    print(f"B_q={bq:3d}, B_k={bk:3d}: PyTorch와의 max |diff| < 1e-5: {err < 1e-5}")
scores = (q @ k.transpose(-2, -1) / math.sqrt(32)).masked_fill(~mask_0, float("-inf"))  # (2, 4, 300, 300)
torch.testing.assert_close(lse[..., 1:], torch.logsumexp(scores, dim=-1)[..., 1:])
print("쿼리 0 (어텐션할 곳 없음): 출력이 모두 0:", bool((out[..., 0, :] == 0).all()), "| lse:", lse[0, 0, 0].item())
print("lse가 마스킹된 점수의 torch.logsumexp와 같음 (assert_close로 확인): True")

# %% [markdown] en="7183781552"
# 이제 키 블록 크기에 따른 시간과 메모리를 두 방식으로 잽니다: C개씩의 키만 나눈 청크, 그리고 쿼리 B_q = 256개와 키
# B_k = C개의 타일입니다. T = 1024, 헤드 4개에서 잽니다(명시적 점수는 16 MiB). 3번 실행 중 가장 빠른 것이며, 측정한
# 값이므로 출력은 실행할 때마다 바뀝니다.

# %% en="7ed7e8e304" tags=["nbval-ignore-output"]
T = 1024
q, k, v = torch.randn(3, 1, 4, T, 64).unbind(0)  # 각각 (1, 4, 1024, 64)
chunk_sizes = [4, 16, 64, 256, 1024]
sweep = {"key-only chunks (T_q x C)": ([], []), "tiles (256 x C)": ([], [])}
with torch.no_grad():
    for C in chunk_sizes:
        for name, fn in {
            "key-only chunks (T_q x C)": lambda C=C: chunked_attention(q, k, v, chunk_size=C),
            "tiles (256 x C)": lambda C=C: tiled_attention(q, k, v, block_q=256, block_k=C),
        }.items():
            sweep[name][0].append(min(measure_time(fn, repeats=3)))
            sweep[name][1].append(measure_peak_memory(fn))
        print(f"C={C:5d}: 키 청크 {sweep['key-only chunks (T_q x C)'][0][-1] * 1e3:6.0f} ms, "
              f"{sweep['key-only chunks (T_q x C)'][1][-1] / MiB:5.1f} MiB | 타일 "
              f"{sweep['tiles (256 x C)'][0][-1] * 1e3:6.0f} ms, {sweep['tiles (256 x C)'][1][-1] / MiB:5.1f} MiB")
best_chunk, best_tile = min(sweep["key-only chunks (T_q x C)"][0]), min(sweep["tiles (256 x C)"][0])
assert sweep["key-only chunks (T_q x C)"][0][0] > 2 * best_chunk  # 키만 나눈 작은 청크는 느리다
assert best_tile < 1.5 * best_chunk  # 좋은 블록 크기에서 타일링은 시간을 더 쓰지 않고 ...
assert sweep["tiles (256 x C)"][1][-1] < sweep["key-only chunks (T_q x C)"][1][-1] / 2  # ... 메모리는 덜 쓴다

# %% en="109dbce091"
fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9.5, 3.6))
SWEEP_LABEL = {"key-only chunks (T_q x C)": "키 청크 (T_q x C)", "tiles (256 x C)": "타일 (256 x C)"}
for (name, (secs, peaks)), colour, marker in zip(sweep.items(), ["#0072b2", "#e69f00"], ["o", "s"], strict=True):
    ax_t.loglog(chunk_sizes, [s * 1e3 for s in secs], marker + "-", color=colour, label=SWEEP_LABEL[name])
    ax_m.loglog(chunk_sizes, [p / MiB for p in peaks], marker + "-", color=colour, label=SWEEP_LABEL[name])
for ax in (ax_t, ax_m):
    ax.set_xscale("log", base=2)
    ax.set_xlabel("스텝당 키 수 C = B_k (로그 눈금)")
    ax.legend(fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))  # 4×10¹이 아니라 보통 숫자로
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}" if str(y)[0] in "25" else ""))
ax_t.set_ylabel("시간 (ms, 3번 중 가장 빠른 것, 로그 눈금)")
ax_m.set_ylabel("최대 메모리 (MiB, 로그 눈금)")
ax_t.set_title("시간: 작은 스텝은 어느 방식이든 느리다", fontsize=10)
ax_m.set_title("메모리: 키 청크의 블록은 T_q·C에 따라 커진다", fontsize=10)
fig.suptitle(f"T={T}, 헤드 4개: 타일은 점수 블록을 256×C로 유지한다 ({T // 256}배 작은 블록); "
             "시간은 옮긴 바이트와 스텝 수로 정해진다", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown] en="01ddb29861"
# 두 곡선을 함께 읽어 보세요. 키만 나눈 청크는 C가 작을 때 느립니다. T_k / C개의 스텝 하나하나가 O(T_q · d) 바이트를
# 옮기기 때문입니다(2절). 블록이 T_q × C이므로 메모리는 C에 따라 커집니다. 타일은 스텝마다 O(B_q · d) 바이트만 옮기고
# 블록은 B_q × B_k이므로, 스텝당 키 수백 개에서는 더 작은 블록으로 가장 좋은 키 청크만큼 빠릅니다(위에서 단언). 가장
# 작은 B_k에서는 타일도 느린데, 이유가 다릅니다. 스텝이 T_q / B_q배 많고, Python에서는 스텝마다 PyTorch 호출이 열 번쯤
# 있습니다. 컴파일된 커널(GPU의 FlashAttention, 여기서는 PyTorch의 퓨즈드 커널)은 이런 스텝당 비용을 내지 않고 쿼리
# 블록을 레지스터나 온칩 메모리에 둡니다. 그 속도는 FLOPs가 적어서가 아니라 여기서 나옵니다.
#
# ### 직접 해 보기: 블록 크기와 메모리, 시간
#
# B_q와 B_k를 골라 보세요. 셀은 T = 1024, 헤드 8개로 `tiled_attention`을 돌려 그 시간(지금 측정한 값, PyTorch 퓨즈드 커널과
# 나란히)과 메모리를 보여 줍니다. 메모리는 `attn_lib.widgets.lesson08.tile_memory`의 예측(출력 + 쿼리 블록과 누적값 +
# 점수 블록 하나)과 측정한 최대치를 나란히 보여 줍니다. 양 극단을 모두 해 보세요: B_q = B_k = 16(작은 블록, 많은 스텝)과
# 1024(블록 하나: 다시 명시적 계산).

# %% en="0e6bf3d1b4" tags=["nbval-ignore-output"]
qw, kw, vw = torch.randn(3, 1, 8, 1024, 64).unbind(0)  # 각각 (1, 8, 1024, 64)
with torch.no_grad():
    fused_w = median_time(lambda: F.scaled_dot_product_attention(qw, kw, vw))
block_q_slider = widgets.SelectionSlider(options=[16, 64, 256, 1024], value=256, description="B_q",
                                         continuous_update=False)
block_k_slider = widgets.SelectionSlider(options=[16, 64, 256, 1024], value=256, description="B_k",
                                         continuous_update=False)


def show_tile_choice(block_q: int, block_k: int) -> None:
    with torch.no_grad():
        fn = lambda: tiled_attention(qw, kw, vw, block_q=block_q, block_k=block_k)  # noqa: E731
        seconds = min(measure_time(fn, repeats=1))
        peak = measure_peak_memory(fn)
    plot_tile_choice(block_q, block_k, seconds, peak, fused_w, seq_len=1024, num_heads=8)
    plt.show()


display(widgets.VBox([widgets.HBox([block_q_slider, block_k_slider]),
                      widgets.interactive_output(show_tile_choice, {"block_q": block_q_slider, "block_k": block_k_slider})]))

# %% [markdown] en="34555d356f"
# ## 5 · 계산량은 O(T²) 그대로다
#
# 이 방법들 중 어느 것도 (쿼리, 키) 쌍을 건너뛰지 않습니다. 모두 모든 점수를 계산하므로, 산술은 명시적 공식과 똑같이
# T²처럼 늘어납니다. 바뀌는 것은 메모리입니다: O(T²) 대신 O(T). 명시적 공식, `tiled_attention`, PyTorch 퓨즈드 커널을
# T = 256 … 2048, 헤드 4개로 잽니다(CPU 시간, 3번 중 가장 빠른 것. 측정한 값이므로 출력은 실행할 때마다
# 바뀝니다).

# %% en="95879c3d26" tags=["nbval-ignore-output"]
lengths = [256, 512, 1024, 2048]
methods = {
    "explicit (attn_lib)": lambda q, k, v: scaled_dot_product_attention(q, k, v)[0],
    "tiled_attention": lambda q, k, v: tiled_attention(q, k, v)[0],
    "torch fused": lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
}
LABEL = {"explicit (attn_lib)": "명시적 (attn_lib)", "tiled_attention": "tiled_attention", "torch fused": "torch 퓨즈드"}
grow = {name: ([], []) for name in methods}  # 초, 최대 바이트
with torch.no_grad():
    for T in lengths:
        q, k, v = torch.randn(3, 1, 4, T, 64).unbind(0)  # 각각 (1, 4, T, 64)
        for name, method in methods.items():
            grow[name][0].append(min(measure_time(lambda method=method, q=q, k=k, v=v: method(q, k, v), 3)))
            grow[name][1].append(measure_peak_memory(lambda method=method, q=q, k=k, v=v: method(q, k, v)))
for name, (secs, peaks) in grow.items():
    t_factors = ", ".join(f"x{b / a:.1f}" for a, b in itertools.pairwise(secs))
    m_factors = ", ".join(f"x{b / a:.1f}" for a, b in itertools.pairwise(peaks))
    print(f"{pad(LABEL[name], 20)} T가 두 배가 될 때 시간: {t_factors}; 메모리: {m_factors}")
quadrupled = {name: secs[-1] / secs[-3] for name, (secs, _) in grow.items()}  # T x4: O(T²)이면 x16
assert all(f > 7 for f in quadrupled.values()), quadrupled  # O(T) 계산의 x4보다 훨씬 크다
assert grow["explicit (attn_lib)"][1][-1] / grow["explicit (attn_lib)"][1][-2] > 3.5  # O(T²) 메모리
assert grow["tiled_attention"][1][-1] / grow["tiled_attention"][1][-2] < 2.5  # O(T) 메모리
assert grow["torch fused"][1][-1] / grow["torch fused"][1][-2] < 2.5

# %% en="705c334259"
fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9.5, 3.6))
colours = {"explicit (attn_lib)": "#d55e00", "tiled_attention": "#e69f00", "torch fused": "#0072b2"}
styles = {"explicit (attn_lib)": "o-", "tiled_attention": "s--", "torch fused": "^:"}  # 색만으로 구분하지 않음
for name, (secs, peaks) in grow.items():
    ax_t.loglog(lengths, [s * 1e3 for s in secs], styles[name], color=colours[name], label=LABEL[name])
    ax_m.loglog(lengths, [p / MiB for p in peaks], styles[name], color=colours[name], label=LABEL[name])
ref = grow["torch fused"][0][-1] * 1e3
ax_t.loglog(lengths, [ref * (T / lengths[-1]) ** 2 for T in lengths], "k--", lw=1, label="기울기 2 (T²)")
for ax in (ax_t, ax_m):
    ax.set_xscale("log", base=2)
    ax.set_xlabel("시퀀스 길이 T (토큰, 로그 눈금)")
    ax.legend(fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))  # 4×10¹이 아니라 보통 숫자로
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}" if str(y)[0] in "25" else ""))
ax_t.set_ylabel("시간 (ms, 3번 중 가장 빠른 것, 로그 눈금)")
ax_m.set_ylabel("최대 메모리 (MiB, 로그 눈금)")
ax_t.set_title("시간: 셋 모두 기울기 2인 선 근처", fontsize=10)
ax_m.set_title("메모리: 명시적 계산은 ×4, 타일링과 퓨즈드는 많아야 ×2", fontsize=10)
factors = ", ".join(f"{LABEL[name]} ×{f:.0f}" for name, f in quadrupled.items())
fig.suptitle(f"같은 O(T²) 계산, 다른 메모리: T ×4 ({lengths[-3]} → {lengths[-1]})이면 시간이 "
             f"{factors} (O(T)라면 ×4)", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown] en="57f2296510"
# T를 두 배로 하면 긴 길이에서 모든 방법의 시간이 대략 4배가 됩니다(출력된 인수들. 바쁜 기계에서는 개별 인수가
# 흐려지므로, 셀은 T = 512에서 2048까지 7배보다 크다는 것을 단언합니다. O(T) 계산이라면 4배일 것입니다). 세 방법 모두
# 계산량이 O(T²)입니다. 인수가 정확히 4는 아니며 그럴 필요도 없습니다. 작은 T에서는 고정 비용이 곡선을 평평하게 만들고,
# 블록이 어느 캐시에 들어가는지가 T에 따라 바뀝니다. 차이는 메모리에서 납니다. 명시적 공식의 메모리는 두 배마다 4배로
# 늘어나고(T × T 행렬), 타일링과 퓨즈드 커널의 메모리는 많아야 2배입니다(출력은 T처럼 늘어나고, 고정 크기 블록과 버퍼는
# 전혀 늘지 않습니다). 긴 문맥이 가능해진 것은 메모리가 더 이상 O(T²)가 아니기 때문이지, 어텐션 계산이 싸졌기 때문이
# 아닙니다.

# %% [markdown] en="822b9ab1b4"
# ## 6 · 이 기계에서의 PyTorch 퓨즈드 커널
#
# `torch.nn.functional.scaled_dot_product_attention`(수업 02에서 라이브러리와 비교했습니다)은 하나의 알고리즘이 아니라
# *백엔드*로 보내 주는 창구입니다. GPU에서는 FlashAttention이나 메모리 효율적인 커널을 고를 수 있고, CPU에는 2절의
# 온라인 소프트맥스를 쿼리와 키 블록 단위로 (쓸 수 있으면 여러 스레드로) 하는 C++ **CPU용 flash-attention 커널**과,
# softmax(QKᵀ)V를 명시적으로 계산하는 **math** 대체 경로가 있습니다. 어떤 연산자가 실행될까요? `operators_called(fn)`이
# (프로파일러로) 목록을 보여 줍니다.

# %% en="edbe3f8b8f"
q, k, v = torch.randn(3, 1, H, 256, Dh).unbind(0)  # 각각 (1, 8, 256, 64)
fused_ops = operators_called(lambda: F.scaled_dot_product_attention(q, k, v))
print("퓨즈드:", [op for op in fused_ops if "attention" in op])
with sdpa_kernel(SDPBackend.MATH):  # 명시적 대체 경로를 강제
    math_ops = operators_called(lambda: F.scaled_dot_product_attention(q, k, v))
print("math 백엔드:", [op for op in math_ops if "attention" in op or "softmax" in op or op == "aten::bmm"])
masked_ops = operators_called(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(256)))
print("bool 마스크가 있을 때:", [op for op in masked_ops if "flash" in op])

# %% [markdown] en="ef580f2559"
# 이 CPU에서 기본값은 마스크가 있든 없든 `_scaled_dot_product_flash_attention_for_cpu`입니다.
# `attn_lib.MultiHeadAttention(..., need_weights=False)`는 헤드들을 이 퓨즈드 커널에 넘깁니다. `need_weights=True`이면
# T × T 가중치를 반환해야 하므로 명시적으로 계산합니다.

# %% en="71f79261a6"
mha = MultiHeadAttention(d_model=64, num_heads=4).eval()
x = torch.randn(1, 10, 64)  # (B, T, D)
print("need_weights=False는 flash 커널을 씀:",
      "aten::_scaled_dot_product_flash_attention_for_cpu" in operators_called(lambda: mha(x, x, x, need_weights=False)))
explicit_ops = operators_called(lambda: mha(x, x, x, need_weights=True))
print("need_weights=True는 bmm + softmax를 씀:", "aten::bmm" in explicit_ops and "aten::_softmax" in explicit_ops)

# %% [markdown] en="840703318f"
# ## 7 · 역전파: log-sum-exp를 보관하고 가중치는 다시 계산한다
#
# 학습에는 그래디언트(gradient)가 필요합니다. 명시적 공식을 통한 autograd는 역전파를 위해 `(B, H, T, T)` 가중치 P를
# 보관하고(dV = Pᵀ dO에 필요하고, 소프트맥스의 그래디언트에도 필요합니다), 역전파는 자기만의 T × T 그래디언트를 또
# 만듭니다. FlashAttention은 쿼리마다 숫자 하나, lse = m + log ℓ만 보관하고, 가중치 블록이 필요할 때마다 다시
# 계산합니다. lse가 소프트맥스 분모의 로그이므로 P_ij = exp(s_ij − lse_i)는 정확합니다. 블록마다, D_i = dO_i · O_i로
#
# $$dV_j \mathrel{+}= P_{ij}^\top dO_i,\quad dP_{ij} = dO_i V_j^\top,\quad dS_{ij} = P_{ij} \odot (dP_{ij} - D_i),
# \quad dQ_i \mathrel{+}= dS_{ij} K_j \cdot \text{scale},\quad dK_j \mathrel{+}= dS_{ij}^\top Q_i \cdot \text{scale}.$$
#
# `tiled_attention`은 정확히 이 역전파를 가진 `torch.autograd.Function`입니다. 그 그래디언트는 인과 마스크(causal mask)와
# 완전히 마스킹된 행(그 그래디언트는 정확히 0)이 있을 때도 명시적 공식을 통한 autograd와 일치합니다.

# %% en="251352e636"
q, k, v = (t.requires_grad_() for t in torch.randn(3, 2, 4, 100, 32).unbind(0))  # 각각 (2, 4, 100, 32)
mask_0 = causal_mask(100).clone()
mask_0[3] = False  # 쿼리 3은 아무 데도 어텐션하지 않는다
d_out = torch.randn(2, 4, 100, 32)  # 위쪽 층에서 들어오는 어떤 그래디언트
grads_tiled = torch.autograd.grad(tiled_attention(q, k, v, mask=mask_0, block_q=32, block_k=16)[0], (q, k, v), d_out)
grads_explicit = torch.autograd.grad(scaled_dot_product_attention(q, k, v, mask=mask_0)[0], (q, k, v), d_out)
for name, a, b in zip(["dQ", "dK", "dV"], grads_tiled, grads_explicit, strict=True):
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    print(f"{name}: 명시적 공식을 통한 autograd와 같음 (assert_close로 확인)")
print("완전히 마스킹된 쿼리 3의 그래디언트가 정확히 0:", bool((grads_tiled[0][:, :, 3] == 0).all()))

# %% [markdown] en="c1af4524d5"
# (`tests/test_efficient.py`는 float64에서 `torch.autograd.gradcheck`도 돌립니다.) 이것이 아끼는 것을 측정해 봅시다.
# T = 1024, 헤드 8개에서 순전파(forward pass) + 역전파 한 번의 최대 메모리를, 그래디언트까지 포함해 잽니다(측정한 값이므로
# 출력은 비교하지 않고, 비율을 단언합니다).

# %% en="5d0ecad260" tags=["nbval-ignore-output"]
T = 1024
q, k, v = (t.requires_grad_() for t in torch.randn(3, 1, 8, T, 64).unbind(0))  # 각각 (1, 8, 1024, 64)
d_out = torch.randn(1, 8, T, 64)
train = {
    "explicit (autograd)": lambda: torch.autograd.grad(scaled_dot_product_attention(q, k, v)[0], (q, k, v), d_out),
    "tiled (recompute)": lambda: torch.autograd.grad(tiled_attention(q, k, v)[0], (q, k, v), d_out),
}
train_peak = {name: measure_peak_memory(fn) for name, fn in train.items()}
TRAIN_LABEL = {"explicit (autograd)": "명시적 (autograd)", "tiled (recompute)": "타일링 (재계산)"}
for name, peak in train_peak.items():
    print(f"{pad(TRAIN_LABEL[name], 20)} 순전파 + 역전파 최대 {peak / MiB:6.1f} MiB")
weights_mib = 8 * T * T * 4 / MiB
print(f"(1, 8, T, T) float32 가중치 행렬 하나: {weights_mib:.0f} MiB")
assert train_peak["tiled (recompute)"] < train_peak["explicit (autograd)"] / 5, train_peak

# %% [markdown] en="35a069fff3"
# 명시적 계산은 최대치에서 T × T 행렬을 여러 개 보관합니다(역전파를 위해 보관한 가중치, 가중치와 점수의 그래디언트).
# 타일링 계산은 Q, K, V와 그 그래디언트, 출력, log-sum-exp, 블록 하나를 보관합니다. 여기서 5배 넘게 적고(단언, 저장된
# 실행에서 약 8배), 그 차이는 T에 비례해 커집니다(`make bench`는 T = 4096에서 약 1/40을 잽니다). 대가는 산술입니다.
# 역전파는 QKᵀ와 지수 함수를 다시 계산하므로 FLOPs가 약 3분의 1 더 듭니다. GPU에서는 그래도 더 빠릅니다. T × T 행렬을
# 메모리에서 다시 읽는 것이, 작은 Q와 K로부터 다시 계산하는 것보다 시간이 더 들기 때문입니다.

# %% [markdown] en="d9480cd566"
# ## 8 · KV 캐시: 과거를 다시 계산하지 않기
#
# 생성(수업 05)은 반복문입니다. 접두부로 디코더(decoder)를 돌리고, 다음 토큰을 골라 붙이고, 반복합니다. 스텝 t에서 모든
# 층은 접두부의 t개 위치 **전부**에 대해 키와 밸류를 계산하지만, 그중 t − 1개는 이전 스텝에서 계산했고 바뀌지
# 않았습니다. 인과 마스크에서 위치 j는 j 이하의 위치만 보므로, 그 벡터는 나중에 생성된 것에 의존할 수 없습니다.
#
# **KV 캐시**는 각 셀프 어텐션 층의 키와 밸류 `(B, H, T_past, Dh)`를 보관하고, 스텝마다 새 토큰 하나로만 디코더를
# 돌립니다. 그 쿼리는 캐시된 키와 밸류, 그리고 자기 자신의 것에 어텐션합니다. 크로스 어텐션(cross-attention)의 키와
# 밸류는 바뀌지 않는 인코더 출력에서 오므로 한 번만 계산합니다. `attn_lib`에서는 `Decoder.new_cache()`가 층마다 빈
# `(self, cross)` `KVCache` 쌍을 하나씩 주고, `greedy_decode(..., use_cache=True)`가 이를 씁니다.
#
# 현실적인 모양의 학습되지 않은 모델을 씁니다: 디코더 층 4개, d_model = 256, 헤드 4개, d_ff = 1024, 토큰 1000개의
# 어휘(vocabulary). 출력은 의미가 없지만 비용에는 상관없습니다. 모델이 토큰 n개를 생성하게 합니다(끝 토큰이 나올 수
# 없게 해서 언제나 정확히 n개를 만듭니다).

# %% en="e3f17880b0"
torch.manual_seed(0)
VOCAB = 1000
gen_model = Transformer(VOCAB, VOCAB, d_model=256, num_heads=4, num_encoder_layers=1, num_decoder_layers=4,
                        d_ff=1024, max_len=256).eval()
src = torch.randint(3, VOCAB, (1, 32))  # (B, S) = (1, 32)
NEVER = 2  # 끝 토큰; 출력 편향을 다른 것보다 훨씬 낮게 두어 절대 나오지 않는다
with torch.no_grad():
    gen_model.generator.bias[NEVER] = -1e9
ys = greedy_decode(gen_model, src, max_len=128, bos_id=1, eos_id=NEVER)
ys_cached = greedy_decode(gen_model, src, max_len=128, bos_id=1, eos_id=NEVER, use_cache=True)
print("생성:", tuple(ys.shape), "= (B, 1 + n) | 캐시를 써도 토큰이 똑같음:", torch.equal(ys, ys_cached))

# %% [markdown] en="3a0fd2c206"
# 그 토큰들을 생성한 뒤 캐시에 들어 있는 것입니다(스텝마다 `Transformer.decode`를 한 번 호출해 토큰 하나씩).

# %% en="5ef583714b"
cache = gen_model.decoder.new_cache()  # 디코더 층마다 (self, cross) 쌍 하나
with torch.no_grad():
    memory = gen_model.encode(src)  # (1, 32, 256)
    for t in range(ys.shape[1] - 1):
        logits = gen_model.decode(ys[:, t : t + 1], memory, gen_model.src_mask(src), cache=cache)  # (1, 1, V)
        assert logits[0, -1].argmax() == ys[0, t + 1]  # greedy_decode와 같은 다음 토큰
self_cache, cross_cache = cache[0]
print("층 0 셀프 어텐션 캐시: 키", tuple(self_cache.key.shape), "밸류", tuple(self_cache.value.shape))
print("층 0 크로스 어텐션 캐시: 키", tuple(cross_cache.key.shape), "(인코더 출력에서 한 번 계산)")
cache_bytes = sum(c.key.numel() + c.value.numel() for layer in cache for c in layer) * 4
print("캐시 전체:", format_bytes(cache_bytes))

# %% [markdown] en="2abf0e62d2"
# `(1, 4, 128, 64)` = (B, H, 지금까지의 위치 수, head_dim): 층 4개 각각에서, 모든 위치에 대해 헤드마다 키 하나와 밸류
# 하나입니다. 스텝마다 위치 하나씩 늘어납니다. 이 작은 모델에서는 캐시 전체가 1 MiB를 조금 넘습니다. 거대 언어 모델에서는
# 훨씬 큽니다. Llama 2 7B의 모양을 가정해 봅시다: head_dim 128인 헤드 32개짜리 층 32개, 키와 밸류는 16비트 float(각
# 2바이트)로 저장. 토큰당:

# %% en="6b2c1da17d"
kv_per_token = 2 * 32 * 32 * 128 * 2  # (키와 밸류) x 층 x 헤드 x head_dim x 바이트
print(f"토큰당 {kv_per_token / MiB:g} MiB; 4096토큰 문맥: 시퀀스당 {format_bytes(4096 * kv_per_token)}")

# %% [markdown] en="f74d59129b"
# 그래서 긴 문맥과 큰 배치(batch)는 캐시 메모리에 막힙니다. 표준적인 해결책은 여러 쿼리 헤드가 키/밸류 헤드 하나를
# 공유하게 하는 것입니다: **그룹 쿼리 어텐션(grouped-query attention)**(GQA, 예를 들어 쿼리 헤드 32개에 키/밸류 헤드
# 8개) 또는 **멀티 쿼리 어텐션(multi-query attention)**(MQA, 하나만). 캐시는 헤드 수의 비율만큼 줄어듭니다.

# %% en="8a18e402b3"
for kv_heads, name in [(32, "멀티헤드 (K/V 헤드 32개)"), (8, "그룹 쿼리 (K/V 헤드 8개)"), (1, "멀티 쿼리 (K/V 헤드 1개)")]:
    per_token = 2 * 32 * kv_heads * 128 * 2  # (키와 밸류) x 층 x K/V 헤드 x head_dim x 바이트
    print(f"{pad(name, 28)} {format_bytes(4096 * per_token):>9s} (4096토큰 시퀀스당)")

# %% [markdown] en="6fd11de844"
# 오늘날의 어텐션을 다루는 뒤 수업에서 그룹 쿼리 어텐션을 만듭니다. 여기서는 비용에 집중합니다.
#
# ### 각 스텝은 여전히 O(t)의 비용이 든다
#
# 캐시가 없애는 것은 과거의 재계산이지, 과거에 대한 어텐션이 아닙니다. 스텝 t에서 새 쿼리는 캐시된 키 t개를 모두
# 만나므로, 한 스텝의 어텐션은 O(t)이고 토큰 n개를 생성하는 전체는 어텐션에서 여전히 O(n²)입니다(길이가 늘어나는 점수 행
# 1 + 2 + … + n개). 캐시된 키 t개에 대한 쿼리 하나를 측정합니다(헤드 8개, 7번 중 가장 빠른 것. 측정한 값이므로 출력은
# 비교하지 않습니다).

# %% en="66c5eaa62c" tags=["nbval-ignore-output"]
cache_lengths = [2048, 4096, 8192, 16384]
step_seconds = []
with torch.no_grad():
    for t in cache_lengths:
        q1, kc, vc = torch.randn(1, 8, 1, 64), torch.randn(1, 8, t, 64), torch.randn(1, 8, t, 64)  # (B, H, ., Dh)
        step_seconds.append(min(measure_time(lambda q1=q1, kc=kc, vc=vc: F.scaled_dot_product_attention(q1, kc, vc), 7)))
        print(f"캐시된 위치 t = {t:5d}: 스텝당 {step_seconds[-1] * 1e6:7.0f} µs")
growth = step_seconds[-1] / step_seconds[0]
print(f"캐시된 위치가 8배: 스텝당 시간 {growth:.1f}배")
assert growth > 3, growth  # 적어도 t에 대략 선형(x8), 상수와는 거리가 멀다

# %% [markdown] en="ab60355844"
# 스텝당 시간은 t에 따라 늘어납니다. 쿼리 하나가 캐시된 키와 밸류를 각각 한 번씩 읽으므로, 스텝은 메모리 대역폭(memory
# bandwidth)에 묶이고 비용은 적어도 t에 비례합니다(캐시가 CPU 캐시에 더 이상 들어가지 않으면, 여기서는 위치가 8배일 때
# 8배보다 더 드는 경우가 많습니다).
#
# 캐시는 전체적으로 얼마나 많은 계산을 아낄까요? 캐시가 없으면 스텝 t가 위치 t개를 모든 층에 통과시키므로, n스텝이면
# n(n+1)/2개의 위치를 통과시킵니다. 캐시가 있으면 n개입니다.

# %% en="1e509ef447"
for n in [16, 32, 64, 128]:
    print(f"n={n:4d}: 계산한 위치 수, 캐시 없이 {n * (n + 1) // 2:6d}, 캐시로 {n:4d}"
          f"  ({(n + 1) / 2:.1f}배 적음)")

# %% [markdown] en="4a733e1302"
# `make bench`는 256토큰에서 시간상의 속도 향상을 잽니다(`benchmarks/results/README.md` 참고).
#
# ### 토큰 하나짜리 스텝의 위치 오프셋 (고전적인 버그)
#
# 캐시를 쓰는 스텝은 토큰 **하나**로 모델을 돌립니다. 코드가 스텝 안에서 0부터 세어 위치를 더하면, 그 토큰은 매
# 스텝 위치 0을 받습니다. 생성된 토큰 하나하나가 마치 첫 토큰인 것처럼요. 그 토큰의 위치는 캐시된 위치의 수인 t입니다.
# 학습되는 위치 표 `W_pos`(위치마다 행 하나)를 쓰는 어텐션 헤드 하나로 보여 줍니다: 토큰 t + 1개에 대한 전체 인과
# 어텐션의 마지막 행을, 오프셋 t를 쓴 캐시 스텝 및 버그가 있는 캐시 스텝과 비교합니다.

# %% en="18aa3e942a"
g = torch.Generator().manual_seed(8)
t_past, Dh1 = 6, 16
x = torch.randn(1, 1, t_past + 1, Dh1, generator=g) * 0.5  # (B, H, T, Dh): 토큰 벡터, 마지막 것이 새 토큰
W_pos = torch.randn(32, Dh1, generator=g)  # (max_len, Dh) 위치
full, _ = scaled_dot_product_attention(x + W_pos[: t_past + 1], x + W_pos[: t_past + 1], x,
                                       mask=causal_mask(t_past + 1))  # (1, 1, 7, 16)
k_cache, v_cache = x[..., :t_past, :] + W_pos[:t_past], x[..., :t_past, :]  # (1, 1, 6, 16): 과거
new = x[..., t_past:, :]  # (1, 1, 1, 16): 이 스텝의 토큰 하나


def cached_step(position: int) -> torch.Tensor:
    k_all = torch.cat([k_cache, new + W_pos[position]], dim=-2)  # (1, 1, t + 1, 16)
    v_all = torch.cat([v_cache, new], dim=-2)
    return scaled_dot_product_attention(new + W_pos[position], k_all, v_all)[0]  # (1, 1, 1, 16)


right = (cached_step(t_past) - full[..., -1:, :]).abs().max().item()
bug = (cached_step(0) - full[..., -1:, :]).abs().max().item()
print(f"위치 t = {t_past}: 전체 어텐션과의 max |diff| < 1e-6: {right < 1e-6}")
print(f"위치 0 (버그): max |diff| > 0.1: {bug > 0.1}")

# %% [markdown] en="1280984f4c"
# 오프셋을 주면 캐시 스텝은 전체 어텐션과 반올림 오차 범위에서 같습니다. 오프셋이 없으면 새 토큰의 쿼리와 키가 잘못된
# 위치를 가지고 출력은 그냥 달라지며, 아무 오류도 나지 않습니다. 모델은 더 나쁜 텍스트를 생성하고, 아무것도 멈추지
# 않습니다. (`attn_lib`의 디코더는 캐시 길이로부터 위치를 더합니다. `tests/test_efficient.py`는 캐시를 쓴 생성과 쓰지 않은
# 생성이 같은 토큰을 내는지 확인합니다.)

# %% [markdown] en="b136eafe0d"
# ## 연습 문제(exercises)
#
# 이제 직접 써 봅시다. 각 `my_...` 함수의 본문을 채우고 그 아래 셀을 실행하세요. 채점기(checker)가 여러 입력으로
# 여러분의 함수를 호출해 `attn_lib`와 비교합니다. 노란색 = 아직 시도하지 않음, 빨간색 = 다른 곳이 있음(흔한 실수
# (mistake)를 짚고 힌트(hint)를 줍니다), 초록색 = 정답.
#
# ### 연습 문제 1 · 온라인 소프트맥스 한 스텝
#
# 쿼리 블록 하나에 대해 누적 최댓값 `m` `(T_q, 1)`, 누적 합 `denom` `(T_q, 1)`, 누적값 `acc` `(T_q, d_v)`를 가지고
# 있습니다. 모두 `m`을 기준으로 한 값입니다. 새 청크가 `scores` `(T_q, C)`(이미 스케일됨, 마스킹된 곳은 −∞)와
# `v_chunk` `(C, d_v)`를 가져옵니다. 갱신된 `(m_new, denom_new, acc_new)`를 반환하세요. 첫 청크 전에는 `m`이 −∞이고
# 합들은 0입니다. 지금까지 점수가 모두 −∞인 행은 NaN이 되면 안 됩니다.
#
# 막혔나요? `show_solution("online_softmax_update")`(먼저 `from attn_lib.exercises import show_solution`).


# %% en="67dd907242"
def my_online_softmax_update(m, denom, acc, scores, v_chunk):
    """m, denom (T_q, 1), acc (T_q, d_v), scores (T_q, C), v_chunk (C, d_v) -> (m_new, denom_new, acc_new)."""
    ...  # 여기에 코드를 작성하세요


# %% en="b66ba87f24"
from attn_lib.exercises import check_online_softmax_update

check_online_softmax_update(my_online_softmax_update)

# %% [markdown] en="4ec9418fe1"
# ### 연습 문제 2 · KV 캐시 한 스텝
#
# `q_new`, `k_new`, `v_new`는 새 토큰의 쿼리, 키, 밸류 `(B, H, 1, Dh)`입니다. `k_cache`, `v_cache` `(B, H, t, Dh)`는
# 앞선 위치 t개를 담고 있습니다(그 키들은 이미 자기 위치를 담고 있습니다). `W_pos` `(max_len, Dh)`는 위치 표이며, 8절의
# 마지막 셀에서처럼 새 쿼리와 키에 더합니다. 새 토큰의 어텐션 출력 `(B, H, 1, Dh)`(√Dh로 스케일)와 늘어난 캐시
# `(B, H, t + 1, Dh)`를 반환하세요.
#
# 막혔나요? `show_solution("kv_cache_step")`.


# %% en="13b25d740b"
def my_kv_cache_step(q_new, k_new, v_new, k_cache, v_cache, W_pos):
    """(B, H, 1, Dh) x 3, caches (B, H, t, Dh), W_pos (max_len, Dh) -> (output, k_cache, v_cache)."""
    ...  # 여기에 코드를 작성하세요


# %% en="d4016eb910"
from attn_lib.exercises import check_kv_cache_step

check_kv_cache_step(my_kv_cache_step)

# %% [markdown] en="ecd20f56af"
# ## 요약(summary)
#
# * 어텐션은 `(B, H, T_q, T_k)` 점수 행렬을 만듭니다. 토큰 4096개, 헤드 8개에서 float32 점수 행렬 하나가 512 MiB입니다.
# * **시간이 가는 곳**: 쿼리 T_q개 전부가 키 몇 개를 만나는 스텝은 O(T_q · C · d) FLOPs를 위해 O(T_q · d) 바이트를
#   옮깁니다(강도 약 C/3 FLOP/바이트). 측정해 보니 스텝 수가 같아도 쿼리가 32배 많으면 몇 배 더 오래 걸렸고, 누적값을
#   다시 스케일하거나 가느다란 행렬곱을 하는 데는 PyTorch 호출 하나보다 훨씬 많은 비용이 듭니다. 키만 나눈 작은
#   청크가 느린 것은 호출 오버헤드가 아니라 메모리 트래픽 때문입니다.
# * **온라인 소프트맥스**는 누적 최댓값 m과 누적 합 ℓ을 e^{m − m′}로 다시 스케일하면서 행을 청크 단위로 처리합니다.
#   밸류의 가중합에 적용하면 정확한 어텐션이 됩니다. `chunked_attention`은 키만 청크로 나누고, `tiled_attention`은
#   FlashAttention처럼 쿼리 × 키로 타일링하므로 점수 블록이 T와 상관없이 B_q × B_k이며, 스텝당 키 수백 개에서는 더
#   작은 블록으로 가장 좋은 키 청크만큼 빠릅니다.
# * 명시적 공식, 타일링 어텐션, PyTorch 퓨즈드 커널 모두 **계산량은 O(T²) 그대로**입니다(측정: T가 두 배가 될 때마다
#   시간이 약 4배). 메모리만 O(T²)에서 O(T)로 줄어듭니다.
# * **역전파**: 쿼리마다 lse = m + log ℓ을 보관하고 P = exp(S − lse)를 블록 단위로 다시 계산합니다. 그래디언트는 명시적
#   공식을 통한 autograd와 같고, 학습 메모리는 T = 1024에서 5배 넘게 작았으며(단언), 그 차이는 T에 비례해 커집니다.
# * **KV 캐시**는 각 층의 키와 밸류를 저장합니다. 그러면 각 스텝은 토큰 하나만 처리하지만, 그 어텐션은 여전히 캐시된
#   위치 t개를 모두 읽고(스텝당 O(t), 측정), 새 토큰은 위치 0이 아니라 t를 받아야 합니다. 그룹 쿼리와 멀티 쿼리
#   어텐션이 캐시를 줄입니다.
# * PyTorch의 퓨즈드 `scaled_dot_product_attention`은 이 CPU에서 flash-attention 커널을 돌리며,
#   `MultiHeadAttention(need_weights=False)`가 이를 씁니다.
#
# ## 스스로 점검하기(check yourself)
#
# 1. 모델의 문맥 길이를 두 배로 늘립니다. 어텐션 층 하나의 점수 메모리는 얼마나 늘어날까요? 계산량은? KV 캐시의
#    메모리는?
# 2. 온라인 소프트맥스에서 누적 합에 왜 e^{m − m′}를 곱할까요? 그 인수는 왜 절대 1보다 크지 않을까요?
# 3. `chunk_size=4`인 `chunked_attention`은 `chunk_size=256`과 같은 출력을, 스텝당 같은 수의 PyTorch 호출로 냅니다.
#    그런데 왜 훨씬 느릴까요?
# 4. GPU에서 FlashAttention은 명시적 공식보다 훨씬 빠릅니다. FLOPs가 더 적을까요?
# 5. 타일링 역전파는 순전파에서 무엇을 보관하고, 무엇을 다시 계산할까요?
# 6. 캐시를 쓰는 생성 스텝이 자기 토큰에 위치 0을 줍니다. 무엇이 잘못되며, 무언가 멈추나요?
#
# <details><summary>답</summary>
#
# 1. 점수 메모리 4배(T²), 계산량 4배(타일링을 하든 안 하든 모든 토큰 쌍에 여전히 점수를 매깁니다). KV 캐시는
#    2배(위치마다 키 하나와 밸류 하나).
# 2. 이전 합은 항 e^{s_i − m}을 담고 있습니다. 새 최댓값을 기준으로 하면 그 항들은 e^{s_i − m′} = e^{s_i − m} · e^{m − m′}이어야
#    합니다. m′ = max(m, …) ≥ m이므로 지수 m − m′은 0 이하입니다.
# 3. 스텝이 64배 많고, 각 스텝이 O(T_q · d) 바이트를 옮깁니다. 키 4개만큼의 산술(바이트당 약 1 FLOP)을 하려고 쿼리
#    전부를 다시 읽고 누적값 전체를 다시 스케일합니다. 2절에서 측정했듯 스텝의 시간은 T_q에 따라 늘어나는데, 호출
#    오버헤드라면 그렇지 않을 것입니다. 쿼리를 타일로 나누면 작은 쿼리 블록과 그 누적값이 빠른 메모리에 머뭅니다.
# 4. 아니요. 같은 O(T²)번의 곱셈-덧셈을 합니다(다시 계산하는 역전파에서는 조금 더). 더 빠른 이유는 T × T 행렬을 GPU
#    주 메모리에 쓰고 다시 읽지 않기 때문입니다. 메모리 왕복이 적습니다.
# 5. Q, K, V, 출력, 그리고 쿼리마다 log-sum-exp 하나를 보관합니다. 점수와 가중치 P = exp(S − lse)는 블록 단위로 다시
#    계산하며, T × T 행렬 전체는 절대 만들지 않습니다.
# 6. 생성된 모든 토큰이 모델의 위치 의존적인 부분에게는 첫 토큰처럼 보이므로, 출력이 전체 어텐션과 달라집니다(8절에서
#    큰 차이를 측정했습니다). 그리고 아무 오류도 나지 않습니다. 모델은 그냥 더 나쁜 텍스트를 생성합니다.
#
# </details>
