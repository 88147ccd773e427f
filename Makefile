# Two commands do all the set-up:
#   make app    install what the app needs (in .venv) and start it on http://localhost:8501
#   make test   install what the tests need (and Debian's Chromium, where apt-get exists) and run them all
# and one more, not part of those:
#   make container   build the Dockerfile with Podman and check the image (scripts/container-check.sh)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: app test chromium lint bench container

$(BIN)/.installed: requirements.txt requirements-dev.txt scripts/pip-install.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	sh scripts/pip-install.sh $(BIN)/python requirements-dev.txt --quiet
	touch $@

app: $(BIN)/.installed
	$(BIN)/python -m streamlit run app.py

test: $(BIN)/.installed chromium
	$(BIN)/python -m pytest

chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; \
	else echo "No apt-get: install Chromium yourself, or the browser test skips (it fails in CI)."; fi

lint: $(BIN)/.installed
	$(BIN)/ruff format --check . && $(BIN)/ruff check .

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks.first_seconds
	$(BIN)/python -m benchmarks.engine_overhead
	$(BIN)/python -m benchmarks.cli_vs_script
	$(BIN)/python -m benchmarks.live_page

container:
	bash scripts/container-check.sh
