# Braid: `make demo` and `make test` are the two commands a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export MLFLOW_DISABLE_TELEMETRY := true
export GX_ANALYTICS_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PREFECT_HOME := $(CURDIR)/.braid/prefect
# Quiet Prefect's console only: INFO logs still reach the Prefect API (and its UI).
export PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL ?= WARNING
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180

.PHONY: install lint format test test-e2e test-fast demo demo-multimodal ui stack stack-down benchmark clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,pretrained]'
	touch $(STAMP)

install: $(STAMP)

# pytest exits 5 when it collected no test: that is a failure here, as is any other non-zero code.
# Two pytest-xdist workers, a module (or a test class) to a worker at a time, so module fixtures run
# once: long tests sit in classes of their own to balance the two. (`--dist loadgroup` would group by
# mark, but pytest-xdist 3.8 cannot rename pytest 9's node ids, so its groups never form.)
# `make test`: lint and every test but the end-to-end ones (marked `e2e`: whole runs through processes,
# servers, kills; minutes each), which `make test-e2e` runs; CI (.ci/run) runs both.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope --durations=25
test: $(STAMP) lint
	$(PYTEST) -m "not e2e" tests

test-e2e: $(STAMP)
	$(PYTEST) -m e2e tests

# ruff (configured in pyproject.toml): lint and the formatter's check; `make format` rewrites.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not e2e" tests

demo: $(STAMP)
	$(BIN)/braid demo

# The five-modality demo: + a sound clip and a vibration series per row, three heads (README).
demo-multimodal: $(STAMP)
	$(BIN)/braid demo --contract multimodal

ui: $(STAMP)
	$(BIN)/braid ui

# PostgreSQL + MLflow + Prefect servers + a worker on 127.0.0.1, no docker (README "A local stack").
stack: $(STAMP)
	$(BIN)/braid stack up

stack-down:
	@if [ -x $(BIN)/braid ]; then $(BIN)/braid stack down; else echo "no $(BIN)/braid: nothing to stop"; fi

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.preprocess_bench
	$(BIN)/python -m benchmarks.real_sets

clean:
	rm -rf .braid .pytest_cache build *.egg-info
