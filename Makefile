# Two commands a newcomer needs: `make run` (the dashboard) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: install run test browser bench

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m streamlit run app.py --server.port $(PORT)

# The browser tests drive Debian's Chromium through Playwright (Playwright's own browser download needs internet).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		echo "note: chromium is not installed; browser tests will be skipped (they fail under CI=true)"; }

test: install browser
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/domain_adaptation.py
