# Two commands for a fresh machine:  `make demo`  and  `make test`.
# Every install goes through requirements/constraints.txt (exact pins of the set the suite last passed on);
# `make constraints` re-resolves requirements/*.txt in a scratch venv and rewrites it (then run `make test`, commit both).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONSTRAINTS := requirements/constraints.txt
# A venv that differs from $(VENV) only in OpenCV's major version: tests/delayed/test_resample.py checks that our
# interpolation gives the same pixels under both.
OTHER_OPENCV_VENV := .venv-opencv-other
OTHER_OPENCV_STAMP := $(OTHER_OPENCV_VENV)/.installed

.PHONY: setup demo test bench clean constraints

setup: $(STAMP)

$(STAMP): setup.py pyproject.toml requirements/runtime.txt requirements/torch.txt requirements/tests.txt $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -r requirements/tests.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check
	touch $(STAMP)

$(OTHER_OPENCV_STAMP): $(STAMP) requirements/opencv-other.txt
	$(PYTHON) -m venv $(OTHER_OPENCV_VENV)
	$(OTHER_OPENCV_VENV)/bin/python -m pip install --quiet --no-deps -r requirements/opencv-other.txt
	main_site=$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') && \
	other_site=$$($(OTHER_OPENCV_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') && \
	echo "import site; site.addsitedir('$$main_site')" > "$$other_site/_ndsampler_main_venv.pth"
	touch $(OTHER_OPENCV_STAMP)

demo: setup
	$(VENV)/bin/ndsampler demo --out demo_output

test: setup $(OTHER_OPENCV_STAMP)
	NDSAMPLER_OTHER_OPENCV_PYTHON=$(abspath $(OTHER_OPENCV_VENV))/bin/python $(PY) -m pytest

bench: setup
	$(PY) -m benchmarks

constraints:
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install --quiet --upgrade pip
	.venv-constraints/bin/python -m pip install --quiet -r requirements/tests.txt
	{ echo '# Exact pins of everything `make setup` installs: the set the test suite last passed on.'; \
	  echo '# Regenerate with `make constraints`, run `make test`, and commit both together.'; \
	  .venv-constraints/bin/python -m pip freeze --all --exclude-editable | grep -v '^ndsampler'; } > $(CONSTRAINTS)
	rm -rf .venv-constraints

clean:
	rm -rf $(VENV) $(OTHER_OPENCV_VENV) demo_output bench_output .pytest_cache .hypothesis

# Issue #13's measure: ndsampler 0.8.1's own doctests/tests and kwcoco-dataloader 0.1.2 against 0.8.1 and against ours,
# each in a throwaway venv (from PyPI) under /tmp/compat; COMPAT_ARGS="--reuse --examples PATH" to reuse venvs, add upstream examples/.
.PHONY: compat-upstream
compat-upstream: setup
	$(PY) tools/compat_upstream.py $(COMPAT_ARGS)

# Issue #16's side-by-side: the same cases, data and windows under ndsampler 0.8.1 (its own throwaway venv, built or
# reused by tools/compat_upstream.py under /tmp/compat) and under ours; BENCH_COMPARE_ARGS="--quick" for the small size.
.PHONY: bench-compare
bench-compare: setup
	$(PY) benchmarks/bench_compare.py $(BENCH_COMPARE_ARGS)
