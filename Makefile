# Two commands a newcomer needs: `make run` (the dashboard) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: install run test test-fast browser bench

# Install says what it is doing and how long each step took (torch alone is a large download: minutes).
$(STAMP): requirements.txt requirements-dev.txt
	@echo "[1/3] creating the virtual environment in $(VENV)…"
	@start=$$(date +%s); $(PYTHON) -m venv $(VENV) && echo "      done in $$(( $$(date +%s) - start )) s"
	@echo "[2/3] upgrading pip…"
	@start=$$(date +%s); $(BIN)/python -m pip install --upgrade pip && \
		echo "      done in $$(( $$(date +%s) - start )) s"
	@echo "[3/3] installing the packages (torch, timm, streamlit, …; several minutes on a fresh machine)…"
	@start=$$(date +%s); $(BIN)/python -m pip install -r requirements.txt -r requirements-dev.txt && \
		echo "      done in $$(( $$(date +%s) - start )) s"
	@touch $(STAMP)

install: $(STAMP)

# Ray is optional for a server (the "ray" executor); the tests run that executor against a real local cluster.
$(VENV)/.installed-ray: requirements-ray.txt $(STAMP)
	@echo "installing Ray for the Ray executor's tests (optional for a server)…"
	@start=$$(date +%s); $(BIN)/python -m pip install -r requirements-ray.txt && \
		echo "      done in $$(( $$(date +%s) - start )) s"
	@touch $@

run: install
	@echo "Starting the dashboard on http://localhost:$(PORT) (the first page load imports torch: a few seconds)…"
	$(BIN)/python -m streamlit run serve.py --server.port $(PORT)

# The browser tests drive Debian's Chromium through Playwright (Playwright's own browser download needs internet).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		echo "note: chromium is not installed; browser tests will be skipped (they fail under CI=true)"; }

test: install $(VENV)/.installed-ray browser
	$(BIN)/python -m pytest -q

# The development loop: every test but those marked browser, ray or slow (pytest.ini); `make test` runs them all.
test-fast: install
	$(BIN)/python -m pytest -q -m "not browser and not ray and not slow"

bench: install
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/domain_adaptation.py
