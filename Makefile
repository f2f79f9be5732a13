# The one way to do things in this course. Every target creates .venv on first use
# (pip, pinned by constraints.txt) and reuses it afterwards.
#
#   make lab    open the course in JupyterLab (127.0.0.1, token required)
#   make test   lint + library tests + every lesson under nbval + the browser suite
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

.PHONY: help venv lab test lint format execute bench clean

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

test: lint
	$(PY) -m pytest tests lessons \
		--nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--cov=attn_lib --cov-report=term-missing:skip-covered --cov-fail-under=90 \
		$(PYTEST_ARGS)

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
