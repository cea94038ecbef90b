# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
# argon2 needs 19 MiB for each hash. With these malloc settings a worker hands the block
# back after the hash and maps it again as a few huge pages (1–2 ms), instead of
# keeping 19 MiB for good. Production sets the same (docs/production.md).
export GLIBC_TUNABLES ?= glibc.malloc.mmap_threshold=4194304:glibc.malloc.hugetlb=1

.PHONY: run test migrate clean bench lint translations

# The catalogs of app/translations, compiled from their .po files (docs/translating.md);
# the .mo files are built here, never committed.
CATALOGS := $(patsubst %.po,%.mo,$(wildcard app/translations/*/LC_MESSAGES/messages.po))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The web workers run with docstrings and asserts stripped (PYTHONOPTIMIZE=2, 5 MiB less
# per worker); their bytecode is compiled here, or each worker would compile it at start.
# Best effort, as pip's own compiling: a file that does not compile is left to import.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	-$(BIN)/python -OO -m compileall -q -j 0 $(VENV)/lib
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

%.mo: %.po | $(VENV)/.runtime
	$(BIN)/pybabel -q compile -i $< -o $@

migrate: $(VENV)/.runtime
	$(BIN)/flask db upgrade

run: migrate $(CATALOGS)
	PYTHONOPTIMIZE=2 $(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

test: $(VENV)/.dev $(CATALOGS)
	$(BIN)/python -m pytest --cov --cov-report=term $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/bandit -q -r app

# Extract every marked text into app/translations/messages.pot and bring each
# language's catalog up to date with it; then translate what is new (docs/translating.md).
translations: $(VENV)/.runtime
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output \
		--project=Vestibule --copyright-holder="Vestibule's authors" \
		-k lazy_gettext -k _l -o app/translations/messages.pot app
	$(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete \
		-i app/translations/messages.pot -d app/translations

clean:
	rm -f $(CATALOGS)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov

bench: $(VENV)/.dev
	$(BIN)/python bench/run.py $(BENCH_ARGS)
