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

# %% [markdown] en="a31ef984d1"
# # 01 · 소프트 조회로서의 어텐션
#
# 파이썬 딕셔너리는 찾는 것과 키가 *똑같은* 값 하나를 찾아 줍니다. 어텐션(attention)은 같은 일을
# **부드럽게** 합니다. 질문을 모든 키와 비교해 잘 맞는 정도에 따라 키마다 가중치를 주고, 그 가중치로
# 밸류를 섞어 돌려줍니다. 이것이 어텐션의 전부이며, 이 강좌의 나머지는 모두 이 위에 쌓입니다.
#
# **학습 목표(learning goals).** 이 수업을 마치면 다음을 할 수 있습니다.
#
# 1. 어텐션의 세 가지 역할인 **쿼리(query)**, **키(key)**, **밸류(value)** 와 키의 차원 $d_k$를
#    말할 수 있습니다(시드 노트의 주장 S1).
# 2. 소프트 조회(soft lookup)를 손으로 계산할 수 있습니다: 내적(dot product) **점수(score)**,
#    소프트맥스(softmax) **가중치**, 밸류의 **가중합(weighted sum)**.
# 3. 키가 쿼리와 닮은 밸류일수록 출력에서 가장 큰 가중치를 받는다는 것을 숫자로 보일 수 있습니다(주장 S4).
# 4. 쿼리의 **길이**가 하는 일을 설명할 수 있습니다. 쿼리가 길수록 가중치가 날카로워지고(딕셔너리의
#    하드 조회(hard lookup) 쪽으로), 짧을수록 평평해집니다(단순 평균 쪽으로).
# 5. 행렬 곱 두 번으로 여러 쿼리를 한꺼번에 조회하고, 그 결과가
#    `attn_lib.scaled_dot_product_attention(Q, K, V, scale=1.0)`임을 알아볼 수 있습니다.

# %% en="setup"
from attn_lib.i18n import set_language

set_language("ko")

# %% en="adbb5b51dc"
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display

import attn_lib
from attn_lib.i18n import pad
from attn_lib.viz import plot_attention, plot_query_length
from attn_lib.widgets import lookup_state, plot_soft_lookup

torch.manual_seed(0)
torch.set_num_threads(1)  # 출력하는 합이 스레드 수에 따라 달라지지 않도록
torch.set_printoptions(precision=4, sci_mode=False)
print("torch", torch.__version__)

# %% [markdown] en="734059ec2e"
# ## 1. 하드 조회: 파이썬 딕셔너리
#
# 아주 작은 "데이터베이스"에 네 가지 사물의 다리 수와 바퀴 수를 저장합니다. **키**는 이름("cat"은
# 고양이, "bird"는 새, "car"는 자동차, "bike"는 자전거)이고 **밸류**는 (다리 수, 바퀴 수) 쌍입니다.

# %% en="e4669ff9a2"
legs_and_wheels = {"cat": (4, 0), "bird": (2, 0), "car": (0, 4), "bike": (0, 2)}
print('legs_and_wheels["cat"] =', legs_and_wheels["cat"])
try:
    legs_and_wheels["kitten"]
except KeyError as err:
    print("legs_and_wheels['kitten'] -> KeyError (키 없음):", err)

# %% [markdown] en="c093731845"
# 딕셔너리는 키와 **정확히** 일치하는 질문에만 답합니다. "kitten"(새끼 고양이)은 "cat"이 아니므로
# 아무것도 얻지 못합니다.
#
# 같은 조회를 산술로 써 보면 다음과 같고, 어텐션은 바로 이 형태를 유지합니다. 밸류를 행렬 $V$의 행에
# 넣고, 키마다 **가중치**를 줍니다(일치하는 키는 1, 나머지는 0). 그리고 $V$의 행을 가중합하면 됩니다.
# 이것은 벡터-행렬 곱입니다.

# %% en="2c3b6c47d4"
items = list(legs_and_wheels)  # ['cat', 'bird', 'car', 'bike']
V = torch.tensor([legs_and_wheels[name] for name in items], dtype=torch.float32)  # (T_k, d_v) = (4, 2)
print("V =\n", V, "  모양", tuple(V.shape), "= (T_k, d_v): 키마다 밸류 (다리, 바퀴) 하나")

one_hot = torch.tensor([1.0, 0.0, 0.0, 0.0])  # (T_k,): "cat"에 가중치 1, 나머지는 0
print("one_hot @ V =", one_hot @ V, '= legs_and_wheels["cat"] (과 같음)')

# %% [markdown] en="d4b433f210"
# 어텐션은 `output = weights @ values`를 그대로 두되, 가중치가 합이 1인 0과 1 사이의 **어떤** 수든 될 수
# 있게 합니다. 가중치는 질문이 각 키와 얼마나 잘 맞는지로 계산합니다. 그러려면 키와 질문을 숫자로 비교할
# 수 있어야 합니다. 즉 벡터여야 합니다.
#
# ## 2. 벡터로 나타낸 키와 쿼리
#
# 각 키는 $d_k$개의 수로 된 벡터가 됩니다. 트랜스포머에서 키는 저장된 벡터가 아닙니다. 각 키는 토큰의
# 현재 벡터 $x_j$로부터 학습된 투영(projection)으로 계산됩니다: $k_j = x_j W^K$ (쿼리도 마찬가지로
# $q = x W^Q$; 수업 03). 학습되는 것은 투영입니다. 여기서는 숫자를 따라가기 쉽도록 키를 직접 정합니다.
# 길이 1인 화살표 네 개로, "cat"은 오른쪽, "bird"는 위, "car"는 왼쪽, "bike"는 아래를 가리키므로
# $d_k = 2$입니다.
#
# 질문은 **쿼리**입니다. 쿼리는 같은 개수 $d_k$의 성분을 가진 벡터입니다(모든 키와 내적으로 비교하므로
# 그래야 합니다). 질문은 $q = (2, 1)$로 합니다. 주로 "cat" 쪽을, 조금은 "bird" 쪽을 가리키는 화살표,
# 말하자면 "새끼 고양이 같은" 질문입니다.

# %% en="6915f912b4"
K = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])  # (T_k, d_k) = (4, 2)
q = torch.tensor([2.0, 1.0])  # (d_k,) = (2,)
T_k, d_k = K.shape
print("K =\n", K, "  모양", tuple(K.shape), "= (T_k, d_k)")
print("q =", q, "  모양", tuple(q.shape), "= (d_k,)")
print(f"키 T_k = {T_k}개, 키와 쿼리마다 수 d_k = {d_k}개, 밸류마다 d_v = {V.shape[1]}개")

# %% [markdown] en="2611f4268f"
# 여기서는 $d_v = 2$가 우연히 $d_k = 2$와 같지만, 같을 필요는 없습니다. 키와 쿼리는 한 공간에 있고(서로
# 비교되므로), 밸류는 다른 공간에 있습니다(섞이기만 하므로).
#
# ## 3. 점수: 키마다 내적 하나
#
# 쿼리는 키 $j$와 얼마나 잘 맞을까요? 어텐션은 **내적** $s_j = q \cdot k_j = \sum_i q_i\, k_{j,i}$를
# 씁니다. 모든 키에 대해 한꺼번에 쓰면 행렬-벡터 곱 $K q$입니다: `(4, 2) @ (2,) -> (4,)`.

# %% en="1a0e886b2f"
scores = K @ q  # (T_k, d_k) @ (d_k,) -> (T_k,)
print("scores = K @ q =", scores, "  모양", tuple(scores.shape))
for name, k_j, s_j in zip(items, K.tolist(), scores.tolist(), strict=True):
    print(f"  {name:>4}: q·k = 2*{k_j[0]:+.0f} + 1*{k_j[1]:+.0f} = {s_j:+.0f}")

# %% [markdown] en="d5764c96f1"
# 내적은 왜 "닮은 정도"를 잴까요? 기하학적으로 $q \cdot k = \lVert q\rVert\, \lVert k\rVert \cos\angle(q, k)$입니다.
# 우리 키는 모두 길이가 1이므로 점수는 $\lVert q\rVert \cos\angle(q, k_j)$입니다. 쿼리와 키 사이의 각이
# 작을수록 점수가 큽니다. 재어 보면:

# %% en="3d2d82da62"
q_length = q.norm().item()  # ‖q‖ = √5
for name, k_j, s_j in zip(items, K, scores, strict=True):
    angle = math.degrees(math.acos((q @ k_j / (q.norm() * k_j.norm())).item()))
    print(f"  {name:>4}: q와의 각 {angle:5.1f}°, ‖q‖·cos(각) = {q_length * math.cos(math.radians(angle)):+.3f}", end="")
    print(f" = 점수 {s_j.item():+.3f}")

# %% [markdown] en="d179bceaa1"
# ## 4. 가중치: 소프트맥스
#
# 점수는 어떤 실수든 될 수 있습니다. 밸류를 섞으려면 **양수이고 합이 1인** 가중치가 필요합니다.
# 소프트맥스가 정확히 그 일을 하며, 순서도 유지합니다(점수가 크면 가중치도 항상 더 큽니다).
#
# $$w_j = \frac{e^{s_j}}{\sum_{i=1}^{T_k} e^{s_i}}.$$
#
# 먼저 손으로, 그다음 라이브러리로 계산합니다.

# %% en="400bd85058"
by_hand = torch.exp(scores) / torch.exp(scores).sum()  # (T_k,)
weights = attn_lib.softmax(scores, dim=-1)  # (T_k,)
torch.testing.assert_close(weights, by_hand)
torch.testing.assert_close(weights, torch.softmax(scores, dim=-1))
print("weights =", weights, "  모양", tuple(weights.shape))
print("가중치의 합 =", round(weights.sum().item(), 6))

# %% [markdown] en="9d4564cf32"
# `attn_lib.softmax`는 공식과도, `torch.softmax`와도 같은 값을 냅니다. (`exp`를 취하기 전에 가장 큰 점수를
# 빼는데, 수학적으로는 아무것도 바뀌지 않지만 큰 점수에서 `exp`가 오버플로되는 것을 막습니다. 그것이 왜
# 중요한지는 수업 02에서 봅니다.) 이제부터는 `attn_lib.softmax`를 씁니다.
#
# ## 5. 출력: 밸류의 가중합
#
# 마지막으로 이 가중치로 밸류를 섞습니다: $\text{output} = \sum_j w_j v_j$. 이것은 곱
# `weights @ V`입니다: `(4,) @ (4, 2) -> (2,)`.

# %% en="7a640a5bd9"
output = weights @ V  # (T_k,) @ (T_k, d_v) -> (d_v,)
for name, w_j, v_j in zip(items, weights.tolist(), V.tolist(), strict=True):
    print(f"  {name:>4}: {w_j:.4f} × {tuple(v_j)} = ({w_j * v_j[0]:.4f}, {w_j * v_j[1]:.4f})")
print("output = weights @ V =", output, "  모양", tuple(output.shape))
print(f"새끼 고양이 같은 쿼리가 돌려받는 것: 다리 {output[0].item():.2f}개, 바퀴 {output[1].item():.2f}개")

# %% [markdown] en="78e6dadf10"
# 답은 대부분 고양이의 밸류이고, 새의 밸류가 조금 섞였으며, 탈것의 밸류는 거의 없습니다. "다리 3.30개"는
# 어디에도 저장되어 있지 않은 값입니다. 소프트 조회는 **섞습니다**.
#
# 그림 하나에 조회 전체가 담깁니다. 키와 쿼리(왼쪽), 가중치(가운데), 밸류와 출력(오른쪽)입니다. 수업 끝의
# 위젯(widget)은 쿼리를 움직일 때마다 이 그림을 다시 그립니다. 그 뒤에 있는 함수가 `lookup_state`이며,
# 방금 계산한 숫자와 일치합니다.

# %% en="b894957611"
angle_deg = math.degrees(math.atan2(q[1].item(), q[0].item()))  # q = (2, 1)의 방향: 26.57°
state = lookup_state(angle_deg, q_length, K, V)
torch.testing.assert_close(state["weights"], weights)
torch.testing.assert_close(state["output"], output)
print(f"q = (2, 1)의 방향은 {angle_deg:.2f}°, 길이는 {q_length:.4f}")

fig = plot_soft_lookup(angle_deg, q_length, K, V, items, value_names=("다리", "바퀴"))
plt.show()

# %% [markdown] en="0cb55d7f43"
# 오른쪽에서 별(출력)은 "cat"과 "bird" 사이에 있고, 각 밸류와 선으로 이어져 끌려갑니다. 선의 굵기는 그
# 밸류의 가중치입니다. 십자는 네 밸류의 단순 평균입니다.
#
# ## 6. 쿼리와 가장 닮은 키가 이긴다 (주장 S4)
#
# 시드 노트는 소프트맥스 가중치에 $V$를 곱하면 "키가 쿼리와 닮은 밸류에 더 많은 가중치를 준다"고 말합니다.
# 우리 쿼리로 확인해 봅시다. 키를 $q$와의 각도 순으로, 그리고 가중치 순으로 정렬합니다. 두 순서는 같습니다.

# %% en="c7398a9b2e"
angles = torch.rad2deg(torch.acos(K @ q / (K.norm(dim=1) * q.norm())))  # (T_k,): q와 각 키 사이의 각
by_angle = [items[j] for j in angles.argsort().tolist()]
by_weight = [items[j] for j in weights.argsort(descending=True).tolist()]
print("각이 작은 키부터 큰 키까지:", by_angle)
print("가중치가 큰 키부터 작은 키까지:", by_weight)
assert by_angle == by_weight

# %% [markdown] en="29870e2f2a"
# 쿼리 하나로는 우연일 수 있습니다. 쿼리를 (길이는 그대로 두고) 1도씩 한 바퀴 돌리면서, 매번 가중치의
# 순서가 각의 순서와 같은지, 그래서 특히 방향이 가장 가까운 키가 가장 큰 가중치를 받는지 확인합니다.

# %% en="ffa4377db6"
directions = torch.arange(360) + 0.5  # 0.5°, 1.5°, ..., 359.5° (두 키의 정확히 한가운데는 없음)
agree = 0
for a in directions.tolist():
    q_a = q_length * torch.tensor([math.cos(math.radians(a)), math.sin(math.radians(a))])  # (2,)
    w_a = attn_lib.softmax(K @ q_a, dim=-1)  # (T_k,)
    angles_a = torch.rad2deg(torch.acos((K @ q_a / q_a.norm()).clamp(-1, 1)))  # 키의 길이는 1
    agree += int(torch.equal(w_a.argsort(descending=True), angles_a.argsort()))
print(f"시도한 쿼리 방향 수: {len(directions)}; 가중치 순서가 각 순서와 같은 경우: {agree}")
assert agree == len(directions)

# %% [markdown] en="4b4bb42867"
# 이 확인이 무엇을 증명하는지 솔직해집시다. 이미 알던 것 외에는 아무것도 증명하지 않습니다. 키의 길이가
# 1이면 모든 점수는 $\lVert q\rVert \cos\angle(q, k_j)$이고, 이 값은 각이 커질수록 줄어들며, 소프트맥스는
# 점수의 순서를 유지합니다. 같은 각에 대한 두 감소 함수는 순서가 같을 *수밖에* 없습니다. 360개 방향은
# 어텐션에 관한 사실이 아니라 우리 코드를 시험한 것입니다.
#
# 이번에는 저절로 성립하지 않는 것을 봅시다. "car"를 두 배로 길게 하고(길이 2, 방향은 그대로), 모든
# 방향에 대해 *방향*이 가장 가까운 키가 여전히 가장 큰 가중치를 받는지 다시 묻습니다.

# %% en="8a834ee089"
K_long_car = K.clone()
K_long_car[2] *= 2  # 이제 "car"의 길이는 2
closest_wins = 0
for a in directions.tolist():
    q_a = q_length * torch.tensor([math.cos(math.radians(a)), math.sin(math.radians(a))])  # (2,)
    w_a = attn_lib.softmax(K_long_car @ q_a, dim=-1)  # (T_k,)
    cosines = K_long_car @ q_a / (K_long_car.norm(dim=1) * q_a.norm())  # (T_k,): 방향만
    closest_wins += int(w_a.argmax() == cosines.argmax())
lost = len(directions) - closest_wins
print(f'"car"가 더 길 때: 방향이 가장 가까운 키가 이기는 방향은 360개 중 {closest_wins}개')
print(f'나머지 {lost}개 방향에서는 다른 키가 쿼리에 더 가까운 방향인데도 "car"가 이깁니다')
assert 0 < lost < len(directions)

# %% [markdown] en="9a117c2dd8"
# 그러니까 키의 길이가 같으면 "쿼리와 닮았다"는 "비슷한 방향을 가리킨다"는 뜻이고, 가장 닮은 키의 밸류가
# 항상 가장 큰 몫을 받습니다. 키의 길이가 다르면 그렇지 않습니다. 긴 키는 같은 각(90° 미만)에서 더 큰
# 점수를 받아, 이웃 키에 더 가까운 방향까지 차지합니다. 내적은 방향**과** 길이를 함께 잽니다. 스스로
# 점검하기 3번 문제가 이에 관한 것입니다.
#
# ## 7. 쿼리의 길이: 더 날카롭게, 더 평평하게
#
# $q$의 방향은 그대로 두고 길이 $L$만 바꿉니다. 모든 점수는 $L\cos\angle(q, k_j)$이므로 모든 점수에
# $L$이 곱해집니다. 이긴 키는 바뀌지 않지만, **얼마나** 크게 이기는지가 바뀝니다.
#
# - $L = 0$: 모든 점수가 0, 모든 가중치가 $1/4$이고, 출력은 밸류의 단순 평균입니다.
# - $L$이 크면: 가장 큰 점수가 나머지를 멀찍이 앞서고, 그 가중치가 1로 가며, 소프트 조회가 딕셔너리의
#   **하드** 조회가 됩니다.
#
# 가중치가 "얼마나 퍼져 있는지"는 **엔트로피(entropy)** $H = -\sum_j w_j \ln w_j$ (단위 nat)로 잽니다.
# 네 가중치가 같으면 $\ln 4 \approx 1.386$, 가중치 하나가 1이면 0입니다.

# %% en="0c32c8b7d6"
direction = q / q.norm()  # (2,): q = (2, 1)의 단위 벡터
print(f"같은 가중치: 엔트로피 ln 4 = {math.log(4):.3f};  밸류의 단순 평균: {V.mean(0).tolist()}")
# pad(text, width): `width` 칸에 맞춰 공백을 채움(한글 한 글자는 두 칸), 그래서 한국어 표도 줄이 맞음
header = [
    pad("길이", 6, ">"),
    pad("가중치 (cat, bird, car, bike)", 30),
    pad("최대가중치", 10, ">"),
    pad("엔트로피", 8, ">"),
]
print(" " + " | ".join([*header, "출력 (다리, 바퀴)"]))
for L in (0.0, 0.5, 1.0, q_length, 5.0, 10.0, 20.0):
    w_L = attn_lib.softmax(K @ (L * direction), dim=-1)  # (T_k,)
    out_L = w_L @ V  # (d_v,)
    H = torch.special.entr(w_L).sum().item()  # −Σ w ln w, 0·ln 0 = 0으로 둠
    ws = " ".join(f"{x:.3f}" for x in w_L.tolist())
    print(f" {L:6.3f} | {ws:<30} | {w_L.max().item():10.3f} | {H + 0.0:8.3f} | ({out_L[0].item():.3f}, {out_L[1].item():.3f})")

# %% [markdown] en="07a86293c1"
# 표를 위에서 아래로 읽어 보세요. 가장 큰 가중치(항상 "cat")는 0.25에서 1.000으로 커지고, 엔트로피는
# 1.386에서 0.001로 떨어지며, 출력은 단순 평균 (1.5, 1.5)에서 고양이의 밸류 (4, 0)으로 미끄러집니다.
# 아래의 단언(assertion)이 양 끝을 고정하고, 그림이 그 사이 전 구간을 보여 줍니다.

# %% en="3ab33260aa"
lengths = torch.linspace(0, 10, 201)  # (N,) 0부터 10까지의 쿼리 길이
W_L = torch.stack([attn_lib.softmax(K @ (L * direction), dim=-1) for L in lengths])  # (N, T_k)

torch.testing.assert_close(W_L[0], torch.full((T_k,), 0.25))  # 길이 0: 같은 가중치
torch.testing.assert_close(W_L[0] @ V, V.mean(0))  # ... 그래서 출력은 단순 평균
assert bool((W_L[1:, 0] > W_L[:-1, 0]).all())  # 길이가 늘 때마다 cat의 가중치가 커짐
torch.testing.assert_close(attn_lib.softmax(K @ (50 * direction), dim=-1) @ V, V[0])  # 길면: 하드 조회
print(f"최대 가중치: 길이 0에서 {W_L[0].max().item():.3f}, 5에서 {W_L[100].max().item():.3f}, 10에서 {W_L[-1].max().item():.4f}")
peak = int(W_L[:, 1].argmax())
print(f'"bird"(2위)의 최고점: 길이 {lengths[peak].item():.2f}, 가중치 {W_L[peak, 1].item():.3f}')

fig = plot_query_length(lengths, W_L, items, marked_length=q_length, direction_deg=angle_deg)  # attn_lib.viz
plt.show()

# %% [markdown] en="0d5055c3b4"
# 2위인 "bird"는 처음에는 가중치를 *얻다가* 나중에 잃습니다. 끝까지 가중치가 커지는 것은 1위뿐입니다.
# (어떤 가중치는 그 키의 점수가 모든 점수의 가중 평균보다 높은 동안 길이와 함께 커집니다. 처음에는 두
# 탈것이 그 평균을 "bird"의 점수 아래로 끌어내리지만, "cat"이 지배하게 되면 평균이 그보다 높아집니다.
# 위에서 잰 최고점은 길이 1.0에서 가중치 0.309입니다.)
#
# 모든 점수에 같은 수를 곱하는 것은 소프트맥스의 **온도(temperature)** 손잡이입니다. 수업 02는 바로
# 이것으로 "스케일드 닷-프로덕트 어텐션"의 $1/\sqrt{d_k}$를 설명합니다.
#
# ## 8. 여러 쿼리를 한꺼번에: 행렬 곱
#
# 트랜스포머는 위치마다 하나씩, 여러 질문을 한꺼번에 던집니다. 쿼리를 모양(shape) `(T_q, d_k)`인 행렬 $Q$의
# **행**으로 쌓습니다. 그러면 모든 점수가 행렬 곱 하나, $S = QK^\top$입니다:
# `(T_q, d_k) @ (d_k, T_k) -> (T_q, T_k)`이고, $(i, j)$ 성분은 $q_i \cdot k_j$입니다. 소프트맥스는 각
# **행**을 따라(키에 대해) 계산하고, 출력은 $W V$입니다: `(T_q, T_k) @ (T_k, d_v) -> (T_q, d_v)`. 쿼리는
# 세 개입니다. 새끼 고양이 같은 쿼리, "bird"를 가리키는 쿼리, "car"와 "bike" 사이를 가리키는 쿼리.

# %% en="8171681a20"
Q = torch.tensor([[2.0, 1.0], [0.0, 3.0], [-1.0, -1.0]])  # (T_q, d_k) = (3, 2)
query_names = ["q0 = (2, 1)", "q1 = (0, 3)", "q2 = (-1, -1)"]

S = Q @ K.T  # (T_q, d_k) @ (d_k, T_k) -> (T_q, T_k) = (3, 4)
W = attn_lib.softmax(S, dim=-1)  # (T_q, T_k), 키에 대한 소프트맥스: 모든 행의 합이 1
out_many = W @ V  # (T_q, T_k) @ (T_k, d_v) -> (T_q, d_v) = (3, 2)
print("Q", tuple(Q.shape), "@ K.T", tuple(K.T.shape), "-> 점수", tuple(S.shape))
print("scores =\n", S)
print("weights =\n", W, "\n행의 합:", W.sum(dim=-1))
print("outputs =\n", out_many, "  모양", tuple(out_many.shape), "= (T_q, d_v)")
torch.testing.assert_close(out_many[0], output)  # 0행은 5절의 단일 조회

# %% [markdown] en="a6b8ac9c3b"
# 0행은 5절의 조회와 정확히 같습니다. 쿼리를 쌓는 것은 조회 여러 개를 나란히 할 뿐입니다. 가중치를
# 히트맵(heatmap)으로 그리면 쿼리마다 한 행, 키마다 한 열입니다.

# %% en="db05fdc5f1"
fig, ax = plt.subplots(figsize=(6.5, 3.2))
plot_attention(W, query_names, items, title="각 쿼리는 자신과 닮은 키에 가장 많은 가중치를 줍니다", ax=ax, annotate=True)
ax.set_xticklabels(items, rotation=0)
ax.set_xlabel("키")
ax.set_ylabel("쿼리")
fig.tight_layout()
plt.show()

# %% [markdown] en="e3a83b9c4d"
# ## 9. 이것이 `attn_lib.scaled_dot_product_attention`입니다
#
# 우리가 만든 $\text{softmax}(QK^\top)V$가 바로 어텐션, 즉 논문의 함수에서 스케일 인자만 뺀 것입니다.
# 라이브러리의 `attn_lib.scaled_dot_product_attention(query, key, value, scale=...)`은 출력과 가중치를
# 돌려줍니다. `scale=1.0`이면 점수를 그대로 쓰며, 우리의 세 줄과 일치합니다.

# %% en="bc173fba66"
out_lib, W_lib = attn_lib.scaled_dot_product_attention(Q, K, V, scale=1.0)  # (T_q, d_v), (T_q, T_k)
torch.testing.assert_close(out_lib, out_many)
torch.testing.assert_close(W_lib, W)
print("attn_lib.scaled_dot_product_attention(Q, K, V, scale=1.0) == softmax(Q @ K.T) @ V: 참(True)")
print("출력", tuple(out_lib.shape), " 가중치", tuple(W_lib.shape))

# %% [markdown] en="e3d5c73f5a"
# `scale=...`을 주지 않으면 함수는 점수에 $1/\sqrt{d_k}$를 곱합니다. 논문의 *스케일된* 내적이며, 수업
# 02의 주제입니다. 7절에 따르면 이것은 모든 쿼리를 $\sqrt{d_k}$배, 여기서는 $\sqrt 2$배 짧게 만드는 것과
# 같습니다.

# %% en="c15fad0581"
out_scaled, _ = attn_lib.scaled_dot_product_attention(Q, K, V)  # scale = 1/√d_k = 1/√2
out_short, _ = attn_lib.scaled_dot_product_attention(Q / math.sqrt(d_k), K, V, scale=1.0)
torch.testing.assert_close(out_scaled, out_short)
print("기본 스케일 1/√d_k == 쿼리를 √d_k배 줄인 것: 참(True)")
print("1/√2 스케일을 쓴 출력 (가중치가 더 평평해서 평균 (1.5, 1.5)에 더 가까움):\n", out_scaled)

# %% [markdown] en="8b22dda5e8"
# 논문의 말로 하면(주장 S1): 어텐션은 쿼리 $Q$, 키 $K$, 밸류 $V$를 받고, $d_k$는 쿼리와 키의 폭입니다.
# 이제 세 역할을 모두 손으로 확인할 수 있을 만큼 작은 숫자로 보았습니다.
#
# ## 10. 직접 해 보기: 쿼리 조종하기
#
# 셀을 실행한 뒤 슬라이더(slider)를 움직이세요(손을 떼면 그림이 다시 그려집니다). **각도**는 쿼리를
# 돌리고, **길이**는 쿼리를 늘입니다.
#
# - 길이를 0에 두세요. 각도가 무엇이든 모든 가중치가 0.25이고 출력은 단순 평균 (1.5, 1.5)입니다. 왜일까요?
# - 길이 2, 각도 45°: "cat"과 "bird"가 같은 가중치를 받습니다. 왜 정확히 같을까요?
# - 길이 5, 각도 90°: "bird"가 가중치를 거의 다 가져가고, 출력은 거의
#   `legs_and_wheels["bird"] = (2, 0)`입니다. 하드 조회에 가깝습니다.
# - 길이 1과 길이 5에서 각도를 천천히 돌려 보세요. 출력은 언제 뛰고, 언제 미끄러지나요?
# - 네 밸류를 꼭짓점으로 하는 사각형(볼록 껍질(convex hull)) 밖으로 출력을 내보낼 수 있나요? 예를 들어
#   다리 5개에 닿을 수 있나요?

# %% en="7e38d3cbd8" tags=["nbval-ignore-output"]
angle_w = widgets.IntSlider(
    value=30, min=0, max=355, step=5, description="각도 (°)", continuous_update=False
)
length_w = widgets.FloatSlider(
    value=2.0, min=0.0, max=5.0, step=0.25, description="길이", continuous_update=False
)


def show(angle, length):
    plot_soft_lookup(angle, length, K, V, items, value_names=("다리", "바퀴"))
    plt.show()


view = widgets.interactive_output(show, {"angle": angle_w, "length": length_w})
display(widgets.VBox([widgets.HBox([angle_w, length_w]), view]))

# %% [markdown] en="129a0b2a59"
# ## 연습 문제
#
# 이제 직접 작성해 봅니다. 각 `my_...` 함수의 본문을 채우고 그 아래 셀을 실행하세요. 채점기(checker)가
# 여러 입력으로 여러분의 함수를 호출해 `attn_lib`와 비교합니다. 노란색 = 아직 시도하지 않음, 빨간색 = 무언가
# 다름(흔한 실수(mistake)라면 그 이름과 힌트(hint)를 알려 줍니다), 초록색 = 정답.
#
# ### 연습 문제(exercise) 1 · 어텐션 가중치
#
# 모양 `(d,)`인 쿼리 `query` 하나와 모양 `(n, d)`인 키 `n`개 `keys`가 주어집니다. 소프트 조회의 가중치를
# 모양 `(n,)`으로 돌려주세요. 쿼리와 모든 키의 내적에 소프트맥스를 취한 $\text{softmax}(K q)$입니다.
# 스케일 없는 그냥 내적을 쓰세요(스케일은 수업 02에서 다룹니다).
#
# **주의:** 채점기의 마지막 입력은 가장 큰 내적이 500인 긴 쿼리입니다. float32에서 `torch.exp(500.)`은
# `inf`이므로(한계는 약 $e^{88.7}$), 공식 $e^{s_j}/\sum_i e^{s_i}$를 그대로 쓰면 그 입력에서
# `inf / inf = nan`이 됩니다. 가장 큰 점수를 먼저 빼 주는 `attn_lib.softmax`나 `torch.softmax`를 쓰거나
# (4절에서 말했고, 그래도 다른 것은 바뀌지 않는 이유는 수업 02에서 봅니다), 직접 빼세요.
#
# 막히면 `show_solution("attention_weights")`를 실행하세요(`from attn_lib.exercises import show_solution` 후).


# %% en="19fe7a927b"
def my_attention_weights(query, keys):
    """query (d,), keys (n, d) -> 가중치 (n,), 양수이고 합이 1."""
    ...  # 여기에 코드를 작성하세요


# %% en="5bfeedf1ee"
from attn_lib.exercises import check_attention_weights

check_attention_weights(my_attention_weights)

# %% [markdown] en="3761a2142e"
# ### 연습 문제 2 · 소프트 조회
#
# 키마다 하나씩, 모양 `(n, d_v)`인 밸류 `values`를 추가하고 소프트 조회 결과를 돌려주세요. 연습 문제 1의
# 가중치로 밸류를 섞은 것으로, 모양은 `(d_v,)`입니다. `my_attention_weights`를 호출해도 됩니다(연습 문제
# 1의 긴 쿼리가 여기 입력에도 있습니다).
#
# 막히면 `show_solution("soft_lookup")`.


# %% en="687711d458"
def my_soft_lookup(query, keys, values):
    """query (d_k,), keys (n, d_k), values (n, d_v) -> 출력 (d_v,)."""
    ...  # 여기에 코드를 작성하세요


# %% en="4a4388e9f1"
from attn_lib.exercises import check_soft_lookup

check_soft_lookup(my_soft_lookup)

# %% [markdown] en="b94a197a40"
# ## 요약
#
# - 딕셔너리 조회는 `one_hot @ values`, 즉 정확히 일치하는 키에 가중치 1입니다. 어텐션은
#   `output = weights @ values`를 유지하고 가중치를 **부드럽게** 만듭니다.
# - **쿼리**는 모든 **키**와 내적으로 비교되고(그래서 둘 다 폭이 $d_k$), **소프트맥스**가 점수를 양수이고
#   합이 1인 가중치로 바꾸며, 출력은 **밸류**(폭 $d_v$)의 가중합입니다.
# - 키가 쿼리와 닮은 밸류가 가장 큰 가중치를 받습니다(S4). 키의 길이가 같으면 방향이 가장 가까운 키가
#   항상 이깁니다(이는 공식에서 바로 나오며, 360개 방향은 코드를 확인할 뿐입니다). 키의 길이가 다르면
#   그렇지 않을 수 있습니다. 긴 키는 다른 키에 더 가까운 방향까지 차지할 수 있습니다.
# - 쿼리의 **길이**는 모든 점수에 곱해집니다. 길이 0은 같은 가중치와 단순 평균을, 긴 쿼리는 하드 조회를
#   줍니다. 이기는 키는 절대 바뀌지 않고, 얼마나 크게 이기는지만 바뀝니다.
# - 여러 쿼리를 한꺼번에: $\text{softmax}(QK^\top)V$, 모양은
#   `(T_q, d_k) @ (d_k, T_k) -> (T_q, T_k)`, 키에 대한 소프트맥스, 그다음
#   `(T_q, T_k) @ (T_k, d_v) -> (T_q, d_v)`입니다. 이것이
#   `attn_lib.scaled_dot_product_attention(Q, K, V, scale=1.0)`이며, 기본 스케일 $1/\sqrt{d_k}$는
#   수업 02에서 다룹니다.
#
# ## 스스로 점검하기
#
# 1. 세 키에 대한 쿼리의 가중치가 (0.7, 0.2, 0.1)이고 밸류가 수 10, 20, 30입니다. 출력은 무엇인가요?
# 2. 쿼리의 길이를 두 배로 늘립니다. 점수, 가중치, 그리고 어느 키가 가장 큰 가중치를 받는지는 어떻게
#    되나요?
# 3. 키 A는 길이 1이고 쿼리와 정확히 같은 방향을 가리킵니다. 키 B는 길이 2이고 쿼리에서 60° 벗어나
#    있습니다. 어느 쪽이 더 큰 가중치를 받나요? B가 70° 벗어나 있다면요?
# 4. $Q$의 모양은 `(5, 16)`, $K$는 `(7, 16)`, $V$는 `(7, 3)`입니다. 점수, 가중치, 출력의 모양은 무엇이고,
#    소프트맥스는 어느 차원을 따라 계산하나요?
# 5. 모든 밸류의 두 좌표가 0과 4 사이에 있습니다. 어텐션의 출력이 (5, 1)이 될 수 있나요?
#
# <details><summary>답</summary>
#
# 1. $0.7\cdot 10 + 0.2\cdot 20 + 0.1\cdot 30 = 7 + 4 + 3 = 14$.
# 2. 모든 점수가 두 배가 되므로 가중치가 날카로워집니다. 가장 큰 가중치는 커지고 엔트로피는 떨어집니다
#    (처음부터 모든 가중치가 같았다면 예외). 점수의 순서는 바뀌지 않으므로 같은 키가 계속 가장 큰 가중치를
#    받습니다.
# 3. 점수는 A가 $\lVert q\rVert \cdot 1 \cdot \cos 0° = \lVert q\rVert$, B가
#    $\lVert q\rVert \cdot 2 \cos 60° = \lVert q\rVert$로 동점이고, 가중치도 같습니다. 70°에서는
#    $2\cos 70° \approx 0.68 < 1$이므로 A가 이깁니다. 내적은 방향*과* 길이를 함께 잽니다.
# 4. 점수와 가중치는 `(5, 7)`(쿼리마다 한 행, 키마다 한 열), 출력은 `(5, 3)`입니다. 소프트맥스는 마지막
#    차원, 즉 7개의 키를 따라 계산하므로 각 행의 합이 1입니다.
# 5. 아닙니다. 가중치는 양수이고 합이 1이므로 출력은 밸류의 가중 *평균*입니다. 모든 좌표는 그 좌표의 가장
#    작은 값과 가장 큰 값 사이에 있습니다. 더 정확히는, 출력은 밸류의 볼록 껍질 안에 머뭅니다.
#
# </details>
#
# 다음: **`02_scaled_dot_product`**, $1/\sqrt{d_k}$ 스케일이 붙은 행렬 형태의 어텐션과, 그 스케일이
# 있는 이유.
