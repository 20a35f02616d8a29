# Two commands do all setup: `make run` and `make test` create .venv/ on first use.
SHELL := /bin/bash
# First Python 3.10 that really runs: on PATH (a pyenv shim may point elsewhere), then pyenv's.
PYTHON ?= $(shell for p in python3.10 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.10.*/bin/python 2>/dev/null); do \
  "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1 && { command -v "$$p"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test test-fast bench bench-scale bench-serving image clean-home

$(STAMP): setup.py constraints.txt client/protogen.py
	@if [ -z "$(PYTHON)" ] || ! "$(PYTHON)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then \
	  echo "make: Python 3.10 not found (tried '$(PYTHON)'); set PYTHON=/path/to/python3.10" >&2; exit 2; fi
	@echo "Creating $(VENV) with $(PYTHON) and installing the pinned stack (constraints.txt)..."
	@test -x $(BIN)/python || "$(PYTHON)" -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check "uv==$$(sed -n 's/^uv==//p' constraints.txt)"
	@$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -c constraints.txt -e '.[dev]'
	@# The clients' own protos (serving/client/protos.py): without them `mnist-tfx predict`
	@# imports TensorFlow (~7 s) for the same messages. An editable install runs no build_py.
	@$(BIN)/python client/protogen.py >/dev/null
	@touch $(STAMP)

# The CLI's own defaults (--pipeline mnist --model softmax) apply unless ARGS says otherwise;
# naming them here made `make run ARGS="--pipeline regression"` ask for a regression softmax.
run: $(STAMP)
	$(BIN)/mnist-tfx run $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

# The inner loop: everything but the end-to-end pipeline runs and the slow tests (~2 min).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not e2e" $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run_bench $(ARGS)

# How cost grows with data: the regression pipeline at 10^4…4·10^6 examples (~5 min a round).
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale $(ARGS)

# The model server: REST/gRPC latency and throughput against the in-process floor (~10 min).
bench-serving: $(STAMP)
	$(BIN)/python -m bench.serving $(ARGS)

clean-home:
	rm -rf tfx_home

# The Kubeflow task image (Dockerfile). Needs a Docker engine; these machines have none.
IMAGE ?= mnist-tfx:latest
image:
	@docker info >/dev/null 2>&1 || { echo "make image: no Docker engine reachable here; on a machine with one run: docker build -t $(IMAGE) ." >&2; exit 2; }
	docker build -t $(IMAGE) .
