# Two commands do all the set-up on a fresh machine:
#   make run    - creates .venv, installs, runs the main job (python -m parity)
#   make test   - creates .venv, installs, runs ruff, mypy (the core) and the test suite on three backends
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install clean tutorials

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m parity $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/ruff format --check .

TESTENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1

# tests check correctness, not speed: one BLAS thread per pytest worker avoids two workers'
# thread pools fighting over the 2 cores
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(TESTENV) $(PY) -m pytest -q -n 2 $(ARGS)
	@echo "--- the same suite on the reference backend (MINIGRAD_BACKEND=reference): the code the lessons quote"
	$(TESTENV) MINIGRAD_BACKEND=reference $(PY) -m pytest -q -n 2 $(ARGS)
	@echo "--- the same suite again on the GPU stand-in (MINIGRAD_FAKE_GPU=1): catches silent host/device mixing"
	$(TESTENV) MINIGRAD_FAKE_GPU=1 MINIGRAD_TEST_DEVICE=cuda $(PY) -m pytest -q -n 2 $(ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

# differential fuzzing against torch, long budget: 5000 random programs take about 2.5 min on one core
# (tests/fuzz_support.py)
# FUZZ_EXAMPLES / FUZZ_STEPS size it, FUZZ_INPLACE=0 leaves out in-place rules, FUZZ_OFF=rule,... skips known findings
.PHONY: fuzz
fuzz: $(STAMP)
	$(TESTENV) FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-5000} FUZZ_RANDOM=1 $(PY) -m pytest -q -s -p no:cacheprovider \
		tests/test_fuzz_torch.py $(ARGS)

# public PyTorch tutorial scripts run unchanged on minigrad via `python -m parity swap` (tests/tutorials/README.md);
# the same tests are part of make test
.PHONY: tutorials
tutorials: $(STAMP)
	$(TESTENV) MPLBACKEND=Agg $(PY) -m pytest -q -p no:cacheprovider tests/test_tutorials.py $(ARGS)
