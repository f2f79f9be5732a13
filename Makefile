# The one way to do things in this course. Every target creates .venv on first use
# (pip, pinned by constraints.txt) and reuses it afterwards.
#
#   make lab    open the course in JupyterLab (127.0.0.1, token required)
#   make test   lint + library tests + every lesson under nbval + the browser suite, then the
#               library tests and nbval again under two other sets of CPU kernels (KERNELS)
#   make nbval NB=lessons/05_masking_and_decoder_self_attention.ipynb   one lesson, all three kernel sets
#   make execute [NB=lessons/02_scaled_dot_product.py]   regenerate notebook outputs
#   make bench  run the benchmarks (tables + plots under benchmarks/results/)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8888
JUPYTER_ARGS ?=
NB     ?= $(sort $(wildcard lessons/[0-9][0-9]_*.py))
PYTEST_ARGS ?=
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
# Other machines compute other last bits. These settings make PyTorch's vectorised kernels
# (ATEN_CPU_CAPABILITY) and MKL's code paths (MKL_CBWR) those of other CPUs, so a stored
# output that only holds on this machine fails here. Read at process start.
KERNELS := "ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE" "ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2"

.PHONY: help venv lab test test-native test-kernels nbval lint format execute bench clean

help:
	@sed -n '1,9p' Makefile

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
	@if [ "$$(id -u)" = "0" ]; then echo "make lab: running as root, so JupyterLab is started with --allow-root."; fi
	@TOKEN=$${JUPYTER_TOKEN:-$$($(PY) -c 'import secrets; print(secrets.token_hex(24))')}; \
	echo "make lab: JupyterLab on http://127.0.0.1:$(PORT)/lab?token=$$TOKEN"; \
	exec $(VENV)/bin/jupyter lab \
		--ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) --ServerApp.port_retries=0 \
		--IdentityProvider.token=$$TOKEN \
		--ServerApp.root_dir=$(CURDIR) \
		--LabApp.default_url=/lab/tree/lessons/00_start_here.ipynb \
		$$( [ "$$(id -u)" = "0" ] && echo --allow-root ) \
		$(JUPYTER_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check attn_lib tests lessons benchmarks
	$(VENV)/bin/ruff format --check attn_lib tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff check --fix attn_lib tests lessons benchmarks
	$(VENV)/bin/ruff format attn_lib tests benchmarks

test: lint test-native test-kernels

test-native: $(STAMP)
	@echo "make test: native kernels (this machine's), with the browser suite"
	$(PY) -m pytest tests lessons $(NBVAL) \
		--cov=attn_lib --cov-report=term-missing:skip-covered --cov-fail-under=90 \
		$(PYTEST_ARGS)

test-kernels: $(STAMP)
	@for k in $(KERNELS); do \
		echo "make test: library tests and every lesson under nbval with $$k"; \
		env $$k $(PY) -m pytest tests lessons $(NBVAL) --ignore=tests/browser -q -p no:cacheprovider \
			$(PYTEST_ARGS) || exit 1; \
	done

nbval: $(STAMP)
	@for k in "" $(KERNELS); do \
		echo "make nbval: $(NB) with $${k:-native kernels}"; \
		env $$k $(PY) -m pytest $(NB:.py=.ipynb) $(NBVAL) -q -p no:cacheprovider || exit 1; \
	done

execute: $(STAMP)
	@for f in $(NB); do \
		nb=$${f%.py}.ipynb; \
		echo "execute: $$f -> $$nb"; \
		$(VENV)/bin/jupytext --quiet --to ipynb --output $$nb $$f || exit 1; \
		$(VENV)/bin/jupyter nbconvert --log-level=WARN --to notebook --execute --inplace \
			--ExecutePreprocessor.record_timing=False --ExecutePreprocessor.timeout=600 $$nb || exit 1; \
		$(PY) tools/tidy_notebook.py $$nb || exit 1; \
	done

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .coverage htmlcov benchmarks/results tests/browser/results
