# The two commands of the README:
#   make book   build the HTML book into _build/html (warnings are errors)
#   make test   run every test
# Both create (or reuse) the virtual environment .venv and install the pinned
# dependencies from constraints.txt first; `make test` also installs Chromium
# and bubblewrap (Debian packages) when missing.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

ASSETS := book/_static/vendor/.installed

.PHONY: book test bench lock clean browser sandbox student mutants

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[book,distributed,grading,test]"
	touch $(STAMP)

# A student's set-up: gdlib, the notebook checks, JupyterLab and matplotlib, nothing else.
student:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[student]"
	@echo "ready: $(VENV)/bin/jupyter lab exercises/"

# MathJax, the widget renderer and Vega-Lite (the explorers), served by the book itself (read offline).
$(ASSETS): book/_assets/package.json book/_assets/package-lock.json book/_ext/vendor_assets.py
	npm ci --prefix book/_assets --ignore-scripts --no-audit --no-fund --loglevel=error
	$(PY) book/_ext/vendor_assets.py
	touch $(ASSETS)

book: $(STAMP) $(ASSETS)
	$(VENV)/bin/jupyter-book build . --builder html -W -n --keep-going
	$(PY) tools/book_stamp.py   # record the sources this build read (tests/test_book.py checks them)

# Headless Chromium renders the built book in the tests (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Bubblewrap isolates the students' code when grading (Debian's package);
# util-linux (setpriv, unshare) is part of every Debian system.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }

# Every test: the book build (warnings are errors) and then the whole suite,
# including the browser tests of the built pages and the hostile class graded in the sandbox.
test: book browser sandbox
	$(PY) -m pytest

bench: $(STAMP) sandbox
	$(PY) bench/bench_optimizers.py
	$(PY) bench/bench_training.py
	$(PY) bench/bench_hogwild.py
	$(PY) bench/bench_sandbox.py
	$(PY) bench/bench_grading.py
	@echo "JSON beside each table in bench/results/; compare two runs: $(PY) bench/harness.py --compare old.json new.json"

# Mutation testing, a benchmark-like job (not part of make test): mutates gdlib/optim/ and
# autograde/runner.py and steps.py one expression at a time, runs the fast tests on each mutant with a
# private Numba cache, prints the score and the survivors (tools/mutants.py; hours for every
# mutant on 2 cores: MUTANTS_ARGS="--sample 150" tests a reproducible subset).
mutants: $(STAMP)
	$(PY) tools/mutants.py $(MUTANTS_ARGS)

# Regenerate the lock after changing a pin in pyproject.toml.
lock: $(STAMP)
	( echo "# The lock: exact versions of every package, direct and transitive (make lock regenerates it)."; \
	  $(PY) -m pip freeze --exclude-editable | grep -v '^-e' | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' ) > constraints.txt

clean:
	rm -rf _build
