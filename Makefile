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

install: $(STAMP)

bench: $(STAMP)
	$(VENV)/bin/vlmbench run
	$(VENV)/bin/vlmbench report results/latest -o reports/latest
	@echo "report: reports/latest/index.html"

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

clean:
	rm -rf $(VENV) results/*/ reports/*/
