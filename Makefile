# mixstat: `make demo` and `make test` are the whole set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# pytest workers: the suite is CPU-bound and each worker runs 1-2 numba threads
JOBS   ?= 2

.PHONY: demo test test-fast lint fuzz bench bench-gpu clean-cache clean docs docs-check test-interop

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,demo]'
	touch $@

# numba-cuda with the NVVM compiler from pip wheels (no GPU needed): the CUDA
# kernels are compiled to PTX in the suite (tests/test_cuda_ptx.py)
$(VENV)/.stamp-cuda: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,demo,cuda]'
	touch $@

$(VENV)/.stamp-docs: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[docs]'
	touch $@

$(VENV)/.stamp-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[demo]'
	touch $@

# The peers (extra `bench`): all at once, else one by one, so that one that cannot be
# installed here (say torch==2.13.0) leaves the others; compare.py skips what is missing.
$(VENV)/.stamp-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[demo]'
	$(BIN)/python -m pip install -q -e '.[bench]' || \
	for p in $$($(BIN)/python -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['bench']))"); do \
		$(BIN)/python -m pip install -q "$$p" || echo "bench: $$p is not installable here; its peer is skipped"; \
	done
	touch $@

# the demo compiles the kernels it calls in two background processes while it fits
demo: $(VENV)/.stamp-demo
	$(BIN)/python -m mixstat.demo

# The public gufuncs the suite calls (tests/test_gufuncs.py checks every other one through its
# float64 body on numba's serial target, which compiles in a quarter of the time; the docs pages
# call the Normal ones): warmed with the kernels, so that both test workers load them. A gufunc
# missing here is only compiled lazily, by each worker that calls it.
TEST_GUFUNCS := normal_log_prob normal_cdf normal_mixture_log_prob normal_mixture_cdf \
	normal_diag_log_prob normal_diag_mixture_log_prob mvn_log_prob mvn_mixture_log_prob \
	lowrank_mvn_log_prob lowrank_mvn_mixture_log_prob dirichlet_log_prob dirichlet_mixture_log_prob \
	categorical_log_prob categorical_mixture_log_prob binomial_log_prob binomial_mixture_log_prob \
	negative_binomial_log_prob gamma_log_prob poisson_mixture_log_prob

# The kernels compiled once into the disk cache (python -m mixstat warmup, in
# $(JOBS) processes, so pytest workers do not compile the same kernels twice),
# the whole suite (with every CUDA kernel compiled to PTX for cc 9.0, and every (op, family) pair for 8.0),
# then the CUDA path under numba's simulator in a process of its own (the
# variable must be set before numba is imported), then the kernel tests again
# with numba's bounds checking on (compiled into a separate kernel cache, see
# mixstat/_jit.py) on one float64 example of every family and event kind (its warmup
# compiles the kernels those tests call: no icdf, log_cdf/log_sf or sample_grad kernels, and
# the float32 cdfs they call, which would otherwise compile in both test workers); last, the
# documentation site is built (its gallery runs on the warm kernel cache) and checked
# in headless Chromium.
test: $(VENV)/.stamp-cuda
	$(MAKE) lint
	$(BIN)/python -m mixstat warmup --jobs $(JOBS) --gufuncs $(TEST_GUFUNCS)
	MIXSTAT_REQUIRE_PTX=1 $(BIN)/python -m pytest -n $(JOBS) -q --durations=25
	NUMBA_ENABLE_CUDASIM=1 $(BIN)/python -m pytest -q tests/test_cuda_sim.py tests/test_fit_cuda_sim.py
	NUMBA_BOUNDSCHECK=1 $(BIN)/python -m mixstat warmup --jobs $(JOBS) --dtype float64 --skip-op icdf sample_grad log_cdf log_sf
	NUMBA_BOUNDSCHECK=1 $(BIN)/python -m mixstat warmup --jobs $(JOBS) --dtype float32 --op cdf
	NUMBA_BOUNDSCHECK=1 MIXSTAT_TEST_SUBSET=1 $(BIN)/python -m pytest -n $(JOBS) -q -m "not slow" tests/test_kernels.py tests/test_generic.py tests/test_grad.py
	NUMBA_BOUNDSCHECK=1 MIXSTAT_TEST_SUBSET=1 $(BIN)/python -m pytest -n $(JOBS) -q tests/test_fuzz.py tests/test_numerics.py tests/test_reliability.py -k "not cold_cache and not workqueue_aborts"
	$(MAKE) docs-check

# The quality gates, first in `make test` (each stops it): ruff's lint rules and formatting,
# mypy on the package, numpydoc validation of the public docstrings, and the Scientific
# Python repo-review checks (offline; the accepted deviations are listed, with their reasons,
# under [tool.repo-review] in pyproject.toml and in docs/contributing.md, "Quality gates").
lint: $(VENV)/.stamp-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_docstrings.py
	$(BIN)/sp-repo-review --show err .

$(VENV)/.stamp-interop: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,interop]'
	touch $@

# The torch and JAX adapters' own tests (mixstat.torch, mixstat.jax) and the torch-tensor inputs, with the CPU builds
# of torch and JAX (extra `interop`); the main suite skips them where those are missing.
test-interop: $(VENV)/.stamp-interop
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_torch_adapter.py tests/test_jax_adapter.py tests/test_interop_arrays.py

# Hypothesis fuzzing with the large profile (tests/conftest.py): at least 10^4 cases, counted at the end.
fuzz: $(VENV)/.stamp-cuda
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -n $(JOBS) -q tests/test_fuzz.py tests/test_numerics.py

# The documentation site: Sphinx with warnings as errors, offline; the HTML lands in
# docs/_build/html. -E rereads every page (docstrings change without Sphinx seeing it);
# the gallery re-runs only the examples whose source changed.
docs: $(VENV)/.stamp-docs
	$(BIN)/python -m sphinx -E -W --keep-going -q -b html docs docs/_build/html
	@echo "docs: open docs/_build/html/index.html"

# The built site in headless Chromium (Debian's package, installed here when missing):
# every page from a local server, no console errors, images, internal links, search.
CHROMIUM ?= /usr/bin/chromium
docs-check: docs
	@test -x $(CHROMIUM) || { echo "docs-check: installing Debian's chromium"; \
		S=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$S apt-get update -q && DEBIAN_FRONTEND=noninteractive $$S apt-get install -y -q chromium; }
	$(BIN)/python docs/check_site.py --chromium $(CHROMIUM)

# make bench BENCH_ARGS="--quick --json bench.json"
BENCH_ARGS ?=
bench: $(VENV)/.stamp-bench
	$(BIN)/python benchmarks/compare.py $(BENCH_ARGS)

# W1-W4 on a GPU beside torch and CuPy where installed; says so and exits 0 without a GPU
bench-gpu: $(VENV)/.stamp-cuda
	$(BIN)/python benchmarks/gpu.py

clean-cache:
	rm -rf $${MIXSTAT_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/mixstat}

clean: clean-cache
	rm -rf $(VENV) demo_output .pytest_cache docs/_build docs/auto_examples docs/reference
