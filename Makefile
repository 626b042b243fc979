# Sparse Autoencoders, hands-on
#
#   make lab           open the course in JupyterLab (sets everything up on first use)
#   make test          lint (ruff), unit tests, then every notebook run top to bottom with nbval
#   make lint          ruff on the library, tests, tools and notebooks
#   make exercises     regenerate exercises/ from solutions/
#   make notebooks-setup  refresh the Colab set-up cell and badges of every notebook and the
#                      README, regenerating exercises/ on the way (run after adding a notebook)
#   make site          the course as a website in build/site/: every lesson run in full mode
#                      (COURSE_FAST=1 make site: fast mode, a quick preview); make html does the same
#   make lessons-full  run every lesson once in full mode with strict claims and checks (CI)
#   make bench         time the course's training loops on this machine
#   make test-browser  drive JupyterLab and the fast-mode site in headless Chromium (needs
#                      chromium, chromium-driver)
#   make clean         remove caches and build output (keeps .venv and the data)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SITE_STAMP := $(VENV)/.installed-site
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: lab test lint data exercises notebooks-setup site html lessons-full bench test-browser clean

# Serves the whole repository (notebooks/, exercises/, solutions/) and opens lesson 00.
# Jupyter refuses to start as root unless told to (containers, some cloud machines).
lab: data
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" \
	  --LabApp.default_url=/lab/tree/notebooks/00_setup.ipynb \
	  $$([ "$$(id -u)" -eq 0 ] && echo --allow-root)

# The virtual environment; reinstalled only when pyproject.toml changes.
$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3 not found: install python3 (3.11 recommended)."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[dev]"
	touch $@

# The site's tools (Sphinx, MyST-NB, the book theme, MathJax): the optional extra "site".
$(SITE_STAMP): pyproject.toml | $(STAMP)
	$(PY) -m pip install -e ".[dev,site]"
	touch $@

data: $(STAMP)
	$(PY) -m course_lib.data --prepare

# $(call nbval,ENV,FOLDERS): run the notebooks in FOLDERS under nbval with ENV set. Folders
# without notebooks are skipped; pytest's exit status 5 ("nothing collected") is not a failure,
# every other non-zero status is.
define nbval
dirs=""; for d in $(2); do if ls $$d/*.ipynb >/dev/null 2>&1; then dirs="$$dirs $$d"; fi; done; \
if [ -z "$$dirs" ]; then echo "No notebooks in $(2) yet; skipped."; \
else env $(1) $(PY) -m pytest $(NBVAL) $$dirs || { rc=$$?; [ $$rc -eq 5 ] || exit $$rc; \
  echo "Nothing collected in$$dirs."; }; fi
endef

# Solutions and lesson notebooks run with strict checks (a wrong solution fails); exercise
# notebooks run without them, since their checks report "not implemented yet".
lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: data lint $(SITE_STAMP)
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	export COURSE_FAST=1 COURSE_PROGRESS_FILE="$$tmp/progress.json"; \
	COURSE_STRICT_CHECKS=1 $(PY) -m pytest -m "not browser" tests/; \
	$(call nbval,COURSE_STRICT_CHECKS=1,notebooks solutions); \
	$(call nbval,COURSE_STRICT_CHECKS=0,exercises)

exercises: $(STAMP)
	$(PY) -m course_lib.exercises

# The managed first cell (Colab set-up) and badge of every notebook: solutions first, so that the
# regenerated exercises inherit them; then again for the README's table of the new exercises.
notebooks-setup: $(STAMP)
	$(PY) tools/colab.py
	$(PY) -m course_lib.exercises
	$(PY) tools/colab.py
	$(PY) -m course_lib.exercises --check

# The course website in build/site/ (tools/build_site.py): every lesson executed, in full mode
# unless COURSE_FAST is set, with claims checked strictly in full mode; executions are cached in
# build/site-cache/<mode>/, so a rebuild after a prose edit does not retrain.
site: data $(SITE_STAMP)
	case "$$(echo "$${COURSE_FAST:-}" | tr A-Z a-z)" in 1|true|yes|on) ;; *) export COURSE_STRICT_CLAIMS=1;; esac; \
	COURSE_STATIC_OUTPUT=1 $(PY) tools/build_site.py --out build/site

html: site

# Every lesson notebook once, top to bottom in full mode: a claim its run contradicts or a failing
# check fails it. Prints each lesson's wall time; runs them all, then fails if any failed. The
# executed notebooks (every claim's line, every figure) are kept in build/lessons-full/.
# LESSONS=notebooks/02_l1_sparsity.ipynb runs only that one.
LESSONS ?= notebooks/*.ipynb
lessons-full: data
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	export COURSE_FAST=0 COURSE_STRICT_CLAIMS=1 COURSE_STRICT_CHECKS=1 COURSE_STATIC_OUTPUT=1 \
	  COURSE_PROGRESS_FILE="$$tmp/progress.json"; \
	failed=""; for nb in $(LESSONS); do \
	  start=$$(date +%s); \
	  if $(VENV)/bin/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=1200 \
	      --output-dir build/lessons-full "$$nb" >"$$tmp/log" 2>&1; then status=passed; \
	  else status=FAILED; failed="$$failed $$nb"; tail -n 40 "$$tmp/log"; fi; \
	  echo "$$nb: $$status in $$(( $$(date +%s) - start )) s (full mode, strict claims)"; \
	done; \
	[ -z "$$failed" ] || { echo "Lessons that failed:$$failed"; exit 1; }

bench: data
	$(PY) -m course_lib.bench

# Screenshots land in build/screenshots/.
test-browser: data $(SITE_STAMP)
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	COURSE_FAST=1 COURSE_PROGRESS_FILE="$$tmp/progress.json" $(PY) -m pytest -m browser -s tests/test_browser.py tests/test_site.py

clean:
	rm -rf build .pytest_cache
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d \
	  -exec rm -rf {} +
