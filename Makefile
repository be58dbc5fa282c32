# Two commands on a fresh machine: `make run` serves the site, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
TEST_PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
LINTED := app tests bench config.py wsgi.py

.PHONY: run test lint install browser bench bench-smoke wrk clean catalogues translations

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) translations

# The catalogues' .mo files, compiled from app/translations/*/LC_MESSAGES/messages.po (never
# edited by hand, never committed).
translations: $(STAMP)
	$(BIN)/pybabel -q compile -d app/translations

# After changing marked strings: extract them all again and merge them into each language's
# catalogue (then translate what is new; `make test` fails while anything is untranslated).
catalogues: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k N_ --no-location \
	  -o app/translations/messages.pot .
	$(BIN)/pybabel -q update -i app/translations/messages.pot -d app/translations \
	  --no-fuzzy-matching --ignore-obsolete

# SQLite under instance/, a demo letter, mail printed to the console; Ctrl-C stops both processes.
run: export APP_ENV ?= development
run: $(STAMP) translations
	$(FLASK) db upgrade
	$(FLASK) letters create demo --exist-ok --title "Open letter: ban non-consensual deepfakes" --body-file docs/demo-letter.md
	@echo "Serving on http://127.0.0.1:5000/letters/demo (mail is printed below)"
	@trap 'kill $$(jobs -p) 2>/dev/null' EXIT; \
	  $(FLASK) mail work & \
	  $(FLASK) run --host 127.0.0.1 --port 5000

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy app config.py wsgi.py

# The end-to-end test drives Debian's Chromium; install it when we can (root), else it is skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# Lint and types, then the whole suite on SQLite and again on PostgreSQL.
test: lint browser translations
	APP_ENV=testing TEST_DATABASE_URL=sqlite:///$(CURDIR)/instance/test.db $(BIN)/pytest -q
	APP_ENV=testing TEST_DATABASE_URL=$(TEST_PG_URL) $(BIN)/pytest -q

# wrk, the load generator the benchmarks drive the servers with (Debian's package).
wrk:
	@command -v wrk >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)

# Every performance target against PostgreSQL, as a table (see docs/PERFORMANCE.md).
bench: $(STAMP) wrk
	$(BIN)/python bench/run.py

# The same scenarios in seconds on small data: checks the harness and the invariants.
bench-smoke: $(STAMP) wrk
	$(BIN)/python bench/run.py --smoke

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
