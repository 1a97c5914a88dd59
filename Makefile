# The two commands: `make run` (set up, index if stale, start the chat) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: install run test lint chromium ingest bench eval audit clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

ingest: install
	$(BIN)/stemchat ingest --if-stale

run: install
	$(BIN)/stemchat ingest --if-stale
	@echo "stemchat is starting at http://$(HOST):$(PORT)"
	STEMCHAT_MAINTAINER_PAGE=$${STEMCHAT_MAINTAINER_PAGE:-$(if $(filter 127.0.0.1 localhost ::1,$(HOST)),true,false)} \
	$(BIN)/streamlit run app.py --server.address $(HOST) --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; }

test: install chromium
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests app.py
	$(BIN)/ruff format --check src tests app.py
	$(BIN)/mypy src

# Known vulnerabilities in the pinned set (needs the PyPI JSON API or api.osv.dev; see README).
audit:
	@test -x .venv-audit/bin/pip-audit || { python3 -m venv .venv-audit && .venv-audit/bin/pip install --quiet pip-audit==2.10.1; }
	.venv-audit/bin/pip-audit -r requirements.lock --no-deps --disable-pip --strict --progress-spinner off

clean:
	rm -rf $(VENV) data test-artifacts
