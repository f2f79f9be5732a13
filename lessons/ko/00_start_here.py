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

# %% [markdown] en="5683adebb6"
# # 00 · 여기서 시작하세요
#
# 환영합니다! 이 짧은 수업(lesson)은 강좌가 어떻게 돌아가는지 보여 줍니다. 그래야 다음 열한 수업은 오로지
# 어텐션(attention)만 다룰 수 있습니다. 약 10분 걸립니다.
#
# **학습 목표(learning goals).** 이 수업을 마치면 다음을 할 수 있습니다.
#
# 1. 강좌의 길을 찾을 수 있습니다. 각 수업이 무엇을 다루는지, 어떤 순서로 보는지.
# 2. 셀을 하나씩 또는 한꺼번에 실행하고, 왜 순서가 중요한지 압니다.
# 3. 내 컴퓨터에 강좌에 필요한 것이 모두 있는지 확인할 수 있습니다.
# 4. 위젯(widget)을 움직이고 그림이 따라 바뀌는 것을 볼 수 있습니다.
# 5. 연습 문제(exercise)의 결과 보고를 읽고, 수업을 배포된 상태로 되돌릴 수 있습니다.
# 6. 강좌 전체가 기대는 규칙 하나를 말할 수 있습니다. 마스크(mask)에서 `True`는 "어텐션할 수 있음"을 뜻합니다.

# %% [markdown] en="a3121c21fa"
# ## 1. 이 강좌는
#
# 트랜스포머는 **어텐션**으로 만들어집니다. 시퀀스(sequence)의 모든 위치가 다른 위치들을 보고, 거기서 찾은
# 것을 가중치를 주어 섞습니다. 이 강좌는 어텐션을 수업마다 아이디어 하나씩 분해하고, 여러분은 진행하면서
# 그것을 다시 조립합니다. 모든 주장 뒤에는 확인할 수 있는 숫자로 그것을 보여 주는 셀이 따르고, 모든
# 수업에는 가지고 놀 그림과 위젯이 있습니다.
#
# 여러분이 작성하는 코드는 이 저장소의 작은 PyTorch 라이브러리 **`attn_lib`**(`attn_lib/attention.py`,
# `masks.py`, `multihead.py`, ...)로 이어집니다. 수업은 한 조각을 공개적으로 유도하고, 그것이 라이브러리의
# 버전과 같은지 확인한 뒤, 그때부터는 가져다(import) 씁니다.
#
# | # | 수업 | 보게 될 것 |
# |---|---|---|
# | 00 | `00_start_here` | 이 페이지: 강좌가 돌아가는 방식 |
# | 01 | `01_attention_as_lookup` | *소프트*하게 만든 파이썬 딕셔너리 조회: 쿼리(query), 키(key), 밸류(value), 소프트맥스(softmax) 가중치; 2차원 쿼리 조종하기 |
# | 02 | `02_scaled_dot_product` | softmax(QKᵀ/√d_k)V를 한 단계씩, 그리고 *왜* √d_k인지 측정으로 |
# | 03 | `03_multi_head` | 나란히 놓인 어텐션 헤드(head) 여러 개; `torch.nn.MultiheadAttention`과의 일치 |
# | 04 | `04_encoder_self_attention` | 문장이 자기 자신에게 어텐션; 위치 인코딩(positional encoding); 인코더(encoder) 층; 패딩 마스크(padding mask) |
# | 05 | `05_masking_and_decoder_self_attention` | 인과 마스크(causal mask): 어떤 위치도 미래를 보지 않음 |
# | 06 | `06_cross_attention` | 디코더(decoder)가 인코더를 읽음: 쿼리는 한 시퀀스에서, 키와 밸류는 다른 시퀀스에서 |
# | 07 | `07_tiny_transformer` | CPU에서 작은 인코더–디코더를 학습(training)시키고 그 어텐션 들여다보기 |
# | 08 | `08_efficient_attention` | 어텐션의 비용: FLOPs 대 메모리 이동량, 쿼리 × 키 타일링(tiling), 역전파, KV 캐시(KV cache) |
# | 09 | `09_learned_alignment_dates` | 작은 번역기: 크로스 어텐션(cross-attention)이 출력마다 읽을 원문 구간을 배움 |
# | 10 | `10_decoder_only_and_induction_heads` | 디코더 전용(decoder-only) 언어 모델, 그리고 복사를 배우는 헤드: 인덕션 헤드(induction head) |
# | 11 | `11_attention_in_todays_llms` | 오늘날 LLM의 어텐션: RoPE, 그룹 쿼리 / 멀티 쿼리 어텐션(GQA/MQA), 슬라이딩 윈도 |
#
# 순서대로 보세요. 각 수업은 앞 수업들이 만든 것을 씁니다. 파이썬과 약간의 선형대수(벡터, 내적(dot product),
# 행렬 곱)가 필요하고, GPU는 필요 없습니다.

# %% [markdown] en="3846665aaa"
# ## 2. 셀 실행하기
#
# 노트북은 **셀**의 목록입니다. 마크다운 셀(이런 글)과 코드 셀이 있습니다.
#
# - 코드 셀을 클릭하고 **Shift+Enter**를 누르세요. 셀이 실행되고, 출력이 그 아래에 나타나며, 커서가 다음
#   셀로 옮겨 갑니다.
# - **Run ▸ Run All Cells**는 수업 전체를 위에서 아래로 실행합니다.
# - **Kernel ▸ Restart Kernel and Run All Cells…**는 깨끗한 상태에서 시작합니다. 뭔가 이상해 보일 때
#   쓰세요. 변수는 바로 위 셀이 아니라 그 변수를 *마지막으로* 설정한 셀의 값을 유지하므로, 셀을 순서와
#   다르게 실행하면 뜻밖의 결과가 나올 수 있습니다.
#
# 모든 수업은 아래 셀처럼 시작합니다. import, 고정된 무작위 시드(그래서 여러분의 숫자가 노트북에 저장된
# 숫자와 같습니다), 그리고 CPU 스레드 하나(그래서 어느 컴퓨터에서든 합이 같은 순서로 더해집니다). 한국어판에서는
# 그 바로 앞에 언어를 한국어로 정하는 셀 `set_language("ko")`가 하나 더 있습니다. Shift+Enter로 실행하세요.

# %% en="setup"
from attn_lib.i18n import set_language

set_language("ko")

# %% en="6e0407b456"
import math
import os
import platform
import re

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import numpy
import torch
from IPython.display import display

import attn_lib
from attn_lib.i18n import pad
from attn_lib.widgets import plot_softmax_demo, softmax_demo

default_threads = torch.get_num_threads()  # 아래 환경 확인에서 쓰려고 기억해 둠
torch.manual_seed(0)
torch.set_num_threads(1)  # 출력하는 합이 스레드 수에 따라 달라지지 않도록
torch.set_printoptions(precision=4, sci_mode=False)

x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # (2, 3) 텐서: 2행 3열
print(f"attn_lib 가져오기 성공; 2x3 텐서의 모양은 {tuple(x.shape)}")

# %% [markdown] en="f603776f45"
# `attn_lib 가져오기 성공; 2x3 텐서의 모양은 (2, 3)`이 보이면 준비된 것입니다.
# `ModuleNotFoundError: No module named 'attn_lib'`가 보이면, 노트북이 강좌의 파이썬이 아닌 다른 파이썬에서
# 실행되고 있는 것입니다. 저장소 폴더에서 `make lab`으로 JupyterLab을 시작하고, 커널
# "Python 3 (ipykernel)"을 고르세요.
#
# 이 강좌의 습관 하나: 모든 텐서(tensor)의 **모양(shape)** 은 텐서가 만들어지는 곳에서 출력하거나, 위의
# `# (2, 3)`처럼 주석에 적습니다. 어텐션 코드의 버그는 대부분 모양 버그입니다.

# %% [markdown] en="e66ad4e69f"
# ## 3. 내 컴퓨터는 준비되었나?
#
# 다음 셀은 강좌가 어떤 환경에서 실행되는지 출력합니다. 여러분의 버전과 스레드 수는 여기 저장된 것과 다를
# 수 있습니다(이 셀의 출력은 위젯의 출력처럼 달라도 *괜찮은* 몇 안 되는 출력이고, 자동 테스트도 이 셀은
# 건너뜁니다). 마지막 열은 각 버전이 충분히 새로운지 알려 줍니다.

# %% en="97ad9ef580" tags=["nbval-ignore-output"]
def at_least(version: str, minimum: tuple[int, int]) -> str:
    """버전 문자열이 (major, minor) >= minimum으로 시작하면 'OK'."""
    found = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    return "OK" if found >= minimum else f"너무 오래됨: {minimum[0]}.{minimum[1]} 이상 필요"


if torch.cuda.is_available():
    gpu = f"있음: {torch.cuda.get_device_name(0)} (필요 없음; 수업은 CPU에서 실행됩니다)"
else:
    gpu = "없음 (필요 없음: 모든 수업이 CPU에서 실행됩니다)"
rows = [
    ("Python", platform.python_version(), at_least(platform.python_version(), (3, 10))),
    ("torch", torch.__version__, at_least(torch.__version__, (2, 3))),
    ("ipywidgets", widgets.__version__, at_least(widgets.__version__, (8, 1))),
    ("matplotlib", matplotlib.__version__, at_least(matplotlib.__version__, (3, 8))),
    ("numpy", numpy.__version__, ""),
    ("운영체제", platform.platform(terse=True), ""),
    ("CPU 코어", str(os.cpu_count()), ""),
    ("torch CPU 스레드", f"기본값 {default_threads}; 수업에서는 1로 설정", ""),
    ("CUDA GPU", gpu, ""),
    ("attn_lib 위치", os.path.dirname(attn_lib.__file__), ""),
]
for name, value, verdict in rows:
    print(f"{pad(name, 18)} {pad(value, 12)} {verdict}".rstrip())

# %% [markdown] en="fa09ea653e"
# ## 4. 위젯 움직이기
#
# 거의 모든 수업에 **위젯**이 있습니다. 움직이면 그림을 다시 그리는 슬라이더(slider), 스위치, 메뉴입니다.
# 여기 작은 위젯이 하나 있는데, 모든 수업에서 만나게 될 함수인 **소프트맥스**를 보여 줍니다. 소프트맥스는
# 실수의 목록(*점수(score)*)을 양수이고 합이 1인 *가중치*로 바꿉니다.
#
# $$w_i = \frac{e^{s_i}}{\sum_j e^{s_j}}.$$
#
# 먼저 점수가 0, 1, 0, −1인 네 항목 A, B, C, D의 그림을 위젯 없이 봅니다.

# %% en="0d538091ac"
fig = plot_softmax_demo(score=0.0)
plt.show()

# %% [markdown] en="5d18cf6dd5"
# B의 점수가 가장 크므로 B가 가장 큰 가중치를 받고, A와 C는 점수가 같으므로 가중치도 같습니다. A의 점수를
# 올리면 다른 항목들의 가중치를 빼앗아 와야 하지만(합계는 1로 유지), 그 방식은 **공평**합니다. 다른 가중치가
# 모두 같은 비율로 줄어들므로, B와 C의 비는 $e^{1-0} = e \approx 2.718$로 유지됩니다. 확인하면:

# %% en="d3804d5317"
for score in (0.0, 2.0):
    w = softmax_demo(score)["weights"]  # (4,): A, B, C, D의 가중치
    print(f"A의 점수 = {score}: 가중치 {[round(v, 3) for v in w.tolist()]},", end=" ")
    print(f"합 = {w.sum().item():.3f}, B/C = {(w[1] / w[2]).item():.3f}")
print(f"e = {math.e:.3f}")

# %% [markdown] en="f65c1d694e"
# 이제 위젯입니다. 셀을 실행한 뒤 슬라이더 "A의 점수"를 끌어 보세요(또는 손잡이를 클릭하고 화살표 키를
# 누르세요). 손을 떼면 그림이 다시 그려집니다. −4, 그다음 +4를 해 보세요. A의 가중치는 어디로 가고, B, C,
# D에는 무슨 일이 일어나나요?

# %% en="0ab8be5027" tags=["nbval-ignore-output"]
score_w = widgets.FloatSlider(
    value=0.0,
    min=-4.0,
    max=4.0,
    step=0.5,
    description="A의 점수",
    continuous_update=False,  # 슬라이더를 놓을 때 다시 그림
    style={"description_width": "initial"},
)


def show(score):
    plot_softmax_demo(score)
    plt.show()


view = widgets.interactive_output(show, {"score": score_w})
display(widgets.VBox([score_w, view]))

# %% [markdown] en="b634966e87"
# 슬라이더와 그림이 보이면 위젯이 동작하는 것입니다. `VBox(children=...)` 같은 글 한 줄만 보이면
# JupyterLab의 위젯 확장이 로드되지 않은 것입니다. 강좌의 JupyterLab을 쓰는 `make lab`으로 강좌를 여세요.
#
# 위젯은 절대 로직을 숨기지 않습니다. 이 위젯 뒤의 함수는 `attn_lib/widgets/`(수업마다 모듈 하나)에 있는
# `plot_softmax_demo`이고, `tests/`에 자기 테스트가 있는 평범한 함수(숫자가 들어가고 그림이 나옴)입니다. 위의
# 첫 그림처럼 직접 호출할 수도 있습니다.

# %% [markdown] en="8e3bef64d3"
# ## 5. 연습 문제의 결과 보고
#
# 수업 01–11은 연습 문제 몇 개로 끝납니다. 작은 함수 `my_...`를 작성하면, 그 아래 셀이 그 자리에서 함수를
# 확인합니다. 채점기(checker)는 여러 입력(고정된 시드의 무작위 입력, 배치(batch), 길이 1, 완전히 마스킹된 행,
# ...)으로 함수를 호출하고 모든 결과를 `attn_lib`와 비교합니다. 답은 색깔 있는 상자로 옵니다.
#
# - **노란색**: 아직 시도하지 않음(수업을 열었을 때처럼 함수가 아직 `None`을 돌려줌)
# - **빨간색**: 무언가 다름. 어떤 입력에서, 무엇이, 어디서 다른지 알려 주고, 여러분의 결과가 *흔한 실수(mistake)*
#   가 내는 결과와 같으면 그 실수의 이름을 대고 고치는 방법을 제안합니다.
# - **초록색**: 모든 입력이 기대한 결과를 냄

# %% [markdown] en="27b5ba2071"
# 모든 채점은 **진도도 기록합니다**. 기록은 여러분의 컴퓨터에만 남습니다. 어떤 연습 문제를 통과했는지, 어떤
# 실수를 알아보았는지를 시각과 함께, 사용자 데이터 폴더(Linux는 `~/.local/share/attn-course/`, macOS는
# `~/Library/Application Support/attn-course/`, Windows는 `%APPDATA%\attn-course\`)의 작은 파일
# `progress.json`에 적습니다. 강좌 폴더 안에는 절대 적지 않으므로, `git pull`로 강좌를 업데이트해도 충돌하지
# 않습니다. 한 번 통과하면 나중 채점이 실패해도 기록은 남고, 커널을 다시 시작하거나 수업을 다시 실행해도
# 아무것도 초기화되지 않습니다. 아래가 그 표입니다(여기 저장된 것처럼 새 컴퓨터에서는 비어 있고, 합계는 각
# 수업의 연습 문제 수입니다).

# %% en="78d6d687a4"
from attn_lib import progress

progress.table()

# %% [markdown] en="85d6ee1772"
# 터미널에서 `python -m attn_lib progress`는 같은 표와 파일 위치를 출력합니다(`--verbose`를 붙이면 연습 문제
# 하나하나와 실수 이름이 더해집니다). `python -m attn_lib progress --reset 01`은 수업 01의 기록을 지우고,
# `--reset`만 쓰면 전부 지웁니다. 아무것도 기록하지 않으려면 JupyterLab을 시작하기 전에 환경 변수
# `ATTN_COURSE_PROGRESS=off`를 설정하세요(`ATTN_COURSE_DATA_DIR`로 파일을 둘 다른 폴더를 고를 수 있습니다).
#
# 몸풀기 연습 문제를 하나 풀어 봅시다(수업들의 연습 문제에는 들어가지 않습니다). 소프트맥스는 "지수를 취한
# 다음 정규화"입니다. 그 뒷부분만 따로 해 봅니다. `x`의 모든 행(마지막 축)을 그 행의 합으로 나누어, 각 행의
# 합이 1이 되게 합니다. 먼저 수업이 배포될 때처럼 본문이 빈 함수입니다.

# %% en="1f9b693b34"
from attn_lib.exercises import check_normalise_rows


def my_normalise_rows(x):
    """x (..., n), 성분은 양수 -> 같은 모양, 모든 행을 그 행의 합으로 나눔."""
    ...  # 여기에 코드를 작성하세요


check_normalise_rows(my_normalise_rows)

# %% [markdown] en="334d3d9537"
# 첫 시도는 **모든** 성분의 합으로 나눕니다. 행이 하나뿐이면 맞지만, 채점기는 여러 행과 배치도 시험해 보고
# 그 실수를 알아봅니다.


# %% en="19678719ab"
def my_normalise_rows(x):
    return x / x.sum()  # 각 행의 합이 아니라 모든 성분의 합계


check_normalise_rows(my_normalise_rows)

# %% [markdown] en="a7c961478f"
# 그리고 힌트(hint)대로 고친 것입니다(`keepdim=True`는 합한 축을 크기 1로 남겨 두므로, 각 행이 자기 합으로
# 나뉩니다).


# %% en="360c069453"
def my_normalise_rows(x):
    return x / x.sum(dim=-1, keepdim=True)  # (..., n) / (..., 1)


check_normalise_rows(my_normalise_rows)

# %% [markdown] en="a050c65b11"
# 결과는 `True`/`False`로도 쓸 수 있습니다(`bool(check_normalise_rows(my_normalise_rows))`). 연습 문제가
# 막히면 `show_solution("normalise_rows")`(`from attn_lib.exercises import show_solution` 후)가 풀이 하나를
# 보여 줍니다. 채점을 통과하는 함수라면 어떤 것이든 정답입니다.

# %% [markdown] en="3fd03cb64a"
# ## 6. 수업 되돌리기
#
# 무엇이든 마음대로 바꾸세요. 강좌를 망가뜨릴 수는 없습니다. 각 수업은 **쌍**으로 두 번 저장되고,
# JupyterLab이 저장할 때마다 둘을 맞춰 줍니다. `lessons/NN_name.py`(읽기 좋은 소스)와
# `lessons/NN_name.ipynb`(출력이 담긴 노트북)입니다. 수업을 배포된 그대로 되돌리려면 그 탭을 닫고, 저장소
# 폴더의 터미널에서 git으로 **두** 파일을 모두 복원하세요.
#
# ```bash
# git checkout -- lessons/01_attention_as_lookup.ipynb lessons/01_attention_as_lookup.py
# # 또는, 새 버전의 git에서는 같은 일을 이렇게:
# git restore lessons/01_attention_as_lookup.ipynb lessons/01_attention_as_lookup.py
# ```
#
# (위 명령은 영어판 수업입니다. 한국어판 수업은 `lessons/ko/` 아래에 있으므로 경로에 `ko/`를 넣으세요. 예:
# `git restore lessons/ko/01_attention_as_lookup.ipynb lessons/ko/01_attention_as_lookup.py`.)
#
# 그런 다음 수업을 다시 여세요(탭이 아직 열려 있었다면 **File ▸ Reload Notebook from Disk**를 쓰세요. 그러지
# 않으면 다음 저장이 옛 내용을 다시 써 넣습니다). 이렇게 하면 바꾼 내용이 사라집니다. 먼저 보고 싶다면
# `git diff lessons/01_attention_as_lookup.py`를 실행하고, 남겨 두고 싶다면 복원하기 전에 파일을 다른 곳에
# 복사하세요.
#
# 수업을 복원해도 진도 기록은 건드리지 않습니다(저장소 안에 있지 않으므로). 수업의 진도 기록까지 지우려면
# `python -m attn_lib progress --reset 01`을 실행하세요.

# %% [markdown] en="03081f2cfa"
# ## 7. 단 하나의 규칙: `True`는 "어텐션할 수 있음"
#
# 뒤의 수업들은 어텐션을 **마스킹(masking)** 합니다. 어떤 쿼리 위치가 어떤 키 위치를 보지 못하게 막는
# 것입니다(패딩(padding)이나 미래). 이 강좌에서 마스크는 언제나 **`True`가 "어텐션할 수 있음"을 뜻하는
# 불리언 텐서**이고, 어텐션 점수의 모양 `(..., T_q, T_k)`(쿼리 T_q개, 키 T_k개)로 브로드캐스트될 수
# 있습니다. PyTorch `torch.nn.functional.scaled_dot_product_attention`의 `attn_mask`와 정확히 같습니다.
# 마스크가 `False`인 곳의 점수는 소프트맥스 전에 −∞로 설정되므로, 가중치가 정확히 0이 됩니다. 주의하세요.
# `torch.nn.MultiheadAttention`은 불리언 마스크를 **반대로** 읽습니다(`True` = 막힘).
# `attn_lib.to_torch_mha_mask`가 변환해 주며, 둘을 섞으면 생기는 조용한 버그는 수업 05에서 봅니다. 아래는
# 위치 세 개에 대한 수업 05의 마스크를 두 가지 읽는 법으로 본 것입니다.

# %% en="3d3e0d866a"
mask = attn_lib.causal_mask(3)  # (T_q, T_k) = (3, 3): 쿼리 i는 키 0..i에 어텐션할 수 있음
print("attn_lib (True = 어텐션할 수 있음):\n", mask)
print("torch.nn.MultiheadAttention (True = 막힘):\n", attn_lib.to_torch_mha_mask(mask))

# %% [markdown] en="89fafc58fa"
# ## 요약
#
# - 강좌는 00부터 11까지 열두 수업으로 되어 있습니다. 순서대로 보세요. 여러분이 만드는 코드는 라이브러리
#   `attn_lib`입니다. 각 수업은 한 조각을 유도하고, 라이브러리와 대조한 뒤, 가져다 씁니다.
# - **Shift+Enter**는 셀 하나를, **Run All**은 수업 전체를 실행합니다. 셀을 순서와 다르게 실행했다면
#   **Restart Kernel and Run All**로 깨끗하게 시작하세요.
# - 위젯은 `attn_lib/widgets/`의 평범하고 테스트된 함수로 그림을 다시 그립니다.
# - **소프트맥스**는 점수를 합이 1인 양수 가중치로 바꿉니다. 점수 하나를 올리면 다른 가중치가 모두 같은
#   비율로 줄어듭니다.
# - 연습 문제는 그 자리에서 채점됩니다. 초록 상자 = 정답, 빨간 상자 = 실수, 이름과 함께. 진도는 저장소 밖에
#   기록되고, `python -m attn_lib progress`가 보여 줍니다.
# - `git restore lessons/NN_name.ipynb lessons/NN_name.py`로 수업을 되돌립니다(쌍의 두 파일 모두; 한국어판은
#   `lessons/ko/` 아래).
# - 마스크는 불리언이고 **`True` = 어텐션할 수 있음**입니다. `torch.nn.MultiheadAttention`은 반대로 읽습니다.
#
# ## 스스로 점검하기
#
# 1. 수업 위쪽의 셀을 고쳤더니 아래쪽 숫자가 더 이상 말이 되지 않습니다. 어떻게 하나요?
# 2. 위젯에서 A의 점수가 0에서 4로 갑니다. B, C, D의 가중치와, B의 가중치 대 C의 가중치의 비는 어떻게 되나요?
# 3. 왜 `lessons/NN_name.py`와 `lessons/NN_name.ipynb`를 모두 복원해야 하나요?
# 4. 마스크의 2행 0열에 `True`가 있습니다. 이 강좌에서 쿼리 2는 키 0에 어텐션할 수 있나요? 같은 텐서를
#    `torch.nn.MultiheadAttention`에 넘기면요?
#
# <details><summary>답</summary>
#
# 1. 그 아래 셀들을 다시 실행하거나, **Kernel ▸ Restart Kernel and Run All Cells…**로 모든 변수를 순서대로
#    다시 계산하세요.
# 2. 모두 같은 비율로 줄어듭니다(네 가중치의 합은 여전히 1). 그래서 B의 가중치는 계속 C의 $e \approx 2.718$배입니다.
# 3. 둘은 한 수업을 두 번 저장한 것이고, JupyterLab은 둘이 일치한다고 기대합니다. 하나만 복원하면 쌍이 서로
#    어긋납니다. JupyterLab이 바뀐 버전을 열 수 있고, 다음 저장이 그것을 다시 두 파일 모두에 써 넣습니다.
# 4. 예: `True` = 어텐션할 수 있음. `torch.nn.MultiheadAttention`은 같은 `True`를 "막힘"으로 읽을 것입니다.
#    먼저 `attn_lib.to_torch_mha_mask`로 변환하세요.
#
# </details>
#
# 다음: **`01_attention_as_lookup`**, 파이썬 딕셔너리 조회가 어텐션이 되는 수업.
