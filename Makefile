# Two commands do all the set-up:
#   make app    install what the app needs (in .venv) and start it on http://localhost:8501
#   make test   install what the tests need (and Debian's Chromium and HAProxy, where apt-get exists) and run them all
# and the quick loop, beside them:
#   make check  lint, and every test that needs no browser, server or subprocess
#   make container   build the Dockerfile with Podman and check the image (scripts/container-check.sh)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: app test check chromium lint bench container

$(BIN)/.installed: requirements.txt requirements-dev.txt scripts/pip-install.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	sh scripts/pip-install.sh $(BIN)/python requirements-dev.txt --quiet
	touch $@

app: $(BIN)/.installed
	$(BIN)/python -m streamlit run app.py

# The tests without a browser run on every core; the browser tests, which time what a page shows
# while its server trains, run one at a time.
test: $(BIN)/.installed chromium
	$(BIN)/python -m pytest -n auto -m "not browser" --durations=10
	$(BIN)/python -m pytest -m browser --durations=10

check: lint
	$(BIN)/python -m pytest -n auto -m "not browser and not process" -q

# Debian's Chromium for the browser tests, and its HAProxy for the hall's test (tests/test_hall.py).
chromium:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/sbin/haproxy ]; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium haproxy >/dev/null; \
	else echo "No apt-get: install Chromium and HAProxy yourself, or those tests skip (they fail in CI)."; fi

lint: $(BIN)/.installed
	$(BIN)/ruff format --check . && $(BIN)/ruff check .

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks.first_seconds
	$(BIN)/python -m benchmarks.engine_overhead
	$(BIN)/python -m benchmarks.cli_vs_script
	$(BIN)/python -m benchmarks.live_page

container:
	bash scripts/container-check.sh

# A hall of replicas: REPLICAS copies of the image behind HAProxy with cookie affinity, with
# Podman and podman-compose (scripts/hall.sh sets them up; deploy/hall; docs/deploying.md).
#   make hall REPLICAS=3 HALL_PORT=8080    make hall-down
.PHONY: hall hall-down
REPLICAS ?= 2
HALL_PORT ?= 8080

hall:
	REPLICAS=$(REPLICAS) HALL_PORT=$(HALL_PORT) bash scripts/hall.sh up

hall-down:
	bash scripts/hall.sh down
