# The one way to do things in this course. Every target creates .venv on first use
# (pip, pinned by constraints.txt) and reuses it afterwards.
#
#   make lab    open the course in JupyterLab (127.0.0.1, token required)
#   make lab EDITION=ko   the Korean edition (한국어판, lessons/ko/), with JupyterLab's UI in Korean
#   make test   lint, then at the same time: the browser suite | library tests + every lesson under
#               nbval, then again under two other sets of CPU kernels (KERNELS)
#   make nbval NB=lessons/05_masking_and_decoder_self_attention.ipynb   one lesson, all three kernel sets
#   make execute [NB=lessons/02_scaled_dot_product.py]   regenerate notebook outputs
#   make bench  run the benchmarks (tables + plots under benchmarks/results/)
#   make nbval-ko | execute-ko | test-browser-ko   every Korean lesson: nbval (3 kernel sets), execute, browser
#   make catalogue   after changing a message in attn_lib: update the Korean catalogue, then compile it

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8888
# make lab EDITION=ko opens the Korean edition. Its JupyterLab settings (the UI locale ko_KR of the
# language pack) live in their own directory inside .venv, made here, so plain `make lab` stays English.
EDITION ?= en
KO_SETTINGS := $(CURDIR)/$(VENV)/jupyterlab-settings-ko
KO_NB  := $(sort $(wildcard lessons/ko/[0-9][0-9]_*.py))
JUPYTER_ARGS ?=
NB     ?= $(sort $(wildcard lessons/[0-9][0-9]_*.py))
PYTEST_ARGS ?=
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=600
# Other machines compute other last bits. These settings make PyTorch's vectorised kernels
# (ATEN_CPU_CAPABILITY) and MKL's code paths (MKL_CBWR) those of other CPUs, so a stored
# output that only holds on this machine fails here. Read at process start.
KERNELS := "ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE" "ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2"
# The checkers record progress (attn_lib.progress). Every test and execute command records it in a
# fresh empty directory, removed afterwards: never the user's own, and the stored lesson-00 table
# is the empty one. Prefix a command with it (in a loop: `( $(FRESH_DATA) command ) || exit 1`).
FRESH_DATA = d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && export ATTN_COURSE_DATA_DIR="$$d" &&

.PHONY: help venv lab test test-native test-kernels nbval nbval-ko execute-ko test-browser-ko lint format \
	execute bench catalogue clean

help:
	@sed -n '1,12p' Makefile

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 is needed, found " + sys.version.split()[0]'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[lab,dev]"
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	@cp tools/jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@touch $(STAMP)

lab: $(STAMP)
	@case "$(EDITION)" in en|ko) ;; *) echo "make lab: EDITION must be en or ko, not '$(EDITION)'"; exit 2;; esac
	@if [ "$$(id -u)" = "0" ]; then echo "make lab: running as root, so JupyterLab is started with --allow-root."; fi
	@START=lessons/00_start_here.ipynb; \
	if [ "$(EDITION)" = ko ]; then \
		START=lessons/ko/00_start_here.ipynb; \
		mkdir -p "$(KO_SETTINGS)/@jupyterlab/translation-extension" || exit 1; \
		cp tools/jupyterlab-settings-ko.json \
			"$(KO_SETTINGS)/@jupyterlab/translation-extension/plugin.jupyterlab-settings" || exit 1; \
		export JUPYTERLAB_SETTINGS_DIR="$(KO_SETTINGS)"; \
		echo "make lab: 한국어판 (Korean edition): $$START, JupyterLab settings in $(KO_SETTINGS)"; \
	fi; \
	TOKEN=$${JUPYTER_TOKEN:-$$($(PY) -c 'import secrets; print(secrets.token_hex(24))')}; \
	echo "make lab: JupyterLab on http://127.0.0.1:$(PORT)/lab?token=$$TOKEN"; \
	exec $(VENV)/bin/jupyter lab \
		--ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) --ServerApp.port_retries=0 \
		--IdentityProvider.token=$$TOKEN \
		--ServerApp.root_dir=$(CURDIR) \
		--LabApp.default_url=/lab/tree/$$START \
		$$( [ "$$(id -u)" = "0" ] && echo --allow-root ) \
		$(JUPYTER_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check attn_lib tests lessons benchmarks tools conftest.py
	$(VENV)/bin/ruff format --check attn_lib tests benchmarks tools conftest.py

format: $(STAMP)
	$(VENV)/bin/ruff check --fix attn_lib tests lessons benchmarks tools conftest.py
	$(VENV)/bin/ruff format attn_lib tests benchmarks tools conftest.py

test: lint
	@$(RUN_TESTS)

# make test's stages (tools/run_tests.py): the browser suite in one lane and, at the same time, in
# the other lane the library tests (coverage gate) and every lesson under nbval with this machine's
# kernels, then the library tests and the English lessons under each KERNELS set. Each line is
# prefixed with its lane; logs in tests/results/logs/, a table of times at the end.
# The library tests start no kernels and use every CPU (pytest-xdist); nbval gives each worker
# whole notebooks (-n auto --dist loadfile). The Korean lessons (lessons/ko/) run with the native
# kernels only: their code cells are the English code (tests/test_korean_edition.py proves it), so
# the kernel dependence of every printed number is exercised by the English lessons; `make
# nbval-ko` checks them under all three kernel sets.
RUN_TESTS = $(PY) tools/run_tests.py --kernels $(KERNELS) --nbval-args "$(NBVAL)" --pytest-args "$(PYTEST_ARGS)"
test-native: $(STAMP)
	@$(RUN_TESTS) --only native browser

test-kernels: $(STAMP)
	@$(RUN_TESTS) --only kernels

nbval: $(STAMP)
	@for k in "" $(KERNELS); do \
		echo "make nbval: $(NB) with $${k:-native kernels}"; \
		( $(FRESH_DATA) env $$k $(PY) -m pytest $(NB:.py=.ipynb) $(NBVAL) -q -p no:cacheprovider ) || exit 1; \
	done

# Every Korean lesson: nbval under all three kernel sets, executed, and in the browser (all of them;
# `make test` runs the subset named in tests/browser/test_lessons_ko.py).
nbval-ko: $(STAMP)
	@$(MAKE) --no-print-directory nbval NB="$(KO_NB)"

execute-ko: $(STAMP)
	@$(MAKE) --no-print-directory execute NB="$(KO_NB)"

test-browser-ko: $(STAMP)
	$(FRESH_DATA) $(PY) -m pytest tests/browser/test_lessons_ko.py -m browser_ko_all -p no:cacheprovider \
		$(PYTEST_ARGS)

execute: $(STAMP)
	@for f in $(NB); do \
		nb=$${f%.py}.ipynb; \
		echo "execute: $$f -> $$nb"; \
		$(VENV)/bin/jupytext --quiet --to ipynb --output $$nb $$f || exit 1; \
		( $(FRESH_DATA) $(VENV)/bin/jupyter nbconvert --log-level=WARN --to notebook --execute --inplace \
			--ExecutePreprocessor.record_timing=False --ExecutePreprocessor.timeout=600 $$nb ) || exit 1; \
		$(PY) tools/tidy_notebook.py $$nb || exit 1; \
	done

# The message catalogue (attn_lib/i18n.py): extract every _("...")/N_/ngettext message of attn_lib
# into the template, merge it into the Korean .po (new messages come in untranslated, with no fuzzy
# guesses; removed ones are dropped), compile the .mo that ships. Translate the new entries in
# attn_lib/locale/ko/LC_MESSAGES/attn_lib.po and run it again; tests/test_i18n.py names any left.
PYBABEL := $(VENV)/bin/pybabel
catalogue: $(STAMP)
	$(PYBABEL) -q extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-default-keywords -w 100 \
		--project=attn_lib -o attn_lib/locale/attn_lib.pot attn_lib
	$(PYBABEL) -q update -i attn_lib/locale/attn_lib.pot -d attn_lib/locale -D attn_lib -l ko \
		--no-fuzzy-matching --ignore-obsolete -w 100
	$(PYBABEL) compile -d attn_lib/locale -D attn_lib -l ko --statistics

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .coverage htmlcov benchmarks/results tests/browser/results
