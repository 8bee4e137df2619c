# Groundwork: `make run` to try it, `make test` to check it. See README.md.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app intake
HOST ?= 127.0.0.1
PORT ?= 5000
DEV := GROUNDWORK_ENV=development GROUNDWORK_PUBLIC_URL=http://$(HOST):$(PORT)

.PHONY: install lock run code test test-sqlite test-postgresql lint format clean translations compile-translations plain load bench weight screenshots review

# Every package exactly as locked, each checked against its hash; then Groundwork itself, built
# with the locked setuptools (no unhashed download).
PIP := $(PY) -m pip install -q --disable-pip-version-check
$(VENV)/.installed: pyproject.toml requirements/development.lock
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) --require-hashes -r requirements/development.lock
	$(PIP) -q --no-deps --no-build-isolation -e .  # -qq: setuptools warns of every editable install
	touch $@

# Write both locks again from pyproject.toml: what production installs, and what development adds
# on top of exactly those versions. Keeps every pin it can; `make lock UPGRADE=1` takes the newest.
LOCK := $(VENV)/bin/uv pip compile pyproject.toml -q --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
lock: $(VENV)/.installed
	$(LOCK) -o requirements/production.lock
	$(LOCK) --extra dev -c requirements/production.lock -o requirements/development.lock

install: $(VENV)/.installed compile-translations $(if $(wildcard package-lock.json),node_modules/.installed)

# axe-core and the Nu Html Checker (vnu-jar) for the browser tests, from npm, exactly as locked;
# no install scripts run (vnu-jar's would fetch a Java of its own: CI installs Debian's).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch $@; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI needs npm for axe-core; .ci/run installs it." >&2; exit 1; \
	else \
		echo "npm is not installed: the browser tests will skip (they need axe-core)."; \
	fi

# The compiled catalogs (.mo) are made from the .po files at every install step.
compile-translations: $(VENV)/.installed
	@if ls translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(VENV)/bin/pybabel -q compile -d translations; \
	fi

# Extract every string again and update each locale's catalog (new strings arrive empty).
translations: $(VENV)/.installed
	$(PY) -m tools.languages
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k N_ --add-comments=Translators: \
		--no-wrap --sort-by-file --project=Groundwork --copyright-holder=Groundwork \
		-o translations/messages.pot .
	@for po in translations/*/LC_MESSAGES/messages.po; do \
		[ -f "$$po" ] || continue; \
		locale=$$(basename $$(dirname $$(dirname $$po))); \
		$(VENV)/bin/pybabel -q update --no-wrap --ignore-obsolete \
			-i translations/messages.pot -d translations -l $$locale; \
	done

# The ten hardest client-facing English strings to read, and any that are too hard.
plain: $(VENV)/.installed
	$(PY) -m tools.plain

run: install
	$(DEV) $(FLASK) db upgrade
	$(DEV) $(FLASK) demo
	$(DEV) $(FLASK) run --host $(HOST) --port $(PORT)

# The current 6-digit code of a demo account: make code ACCOUNT=coach
ACCOUNT ?= coach
code: install
	@$(DEV) $(FLASK) db upgrade >/dev/null && $(DEV) $(FLASK) demo >/dev/null
	@$(DEV) $(FLASK) demo code $(ACCOUNT)

test: test-sqlite test-postgresql

# Each client page's HTML, CSS and script as the browser receives them, against 14 KB.
weight: install
	WEIGHT_TABLE=1 $(PY) -m pytest -q tests/browser/test_weight.py

# Every client page in each of the ten languages at 360 x 740, in screenshots/<locale>/, with
# any letter that has no font or text that is cut off (tests/browser/test_scripts_render.py).
screenshots: install
	$(PY) -m pytest -q -s tests/browser/screenshots.py

# For a native speaker reviewing one language: every client page in English beside it, with
# the words seen on each, notes for translators, the consent texts and the form's questions, in
# review/xx/index.html (translations/STATUS.md). `make review LANG=ar`. Make hands LANG to every
# program it runs, where it names the system's locale: they get C.UTF-8 instead.
REVIEW_LANG := $(if $(filter command line,$(origin LANG)),$(LANG))
REVIEWING := LANG=C.UTF-8 REVIEW_LOCALE=$(REVIEW_LANG)
review: install
	@$(REVIEWING) $(PY) -m tools.review check "$(REVIEW_LANG)"
	$(REVIEWING) $(PY) -m pytest -q tests/browser/review.py
	@$(REVIEWING) $(PY) -m tools.review write "$(REVIEW_LANG)"

# The suite on every core (pytest-xdist); each worker has its own SQLite files, and its own
# schema on the PostgreSQL server. WORKERS=0 runs it in one process.
WORKERS ?= auto
PYTEST := $(PY) -m pytest -n $(WORKERS) --dist worksteal

test-sqlite: install
	$(PYTEST)

# Runs where a PostgreSQL server is named by TEST_DATABASE_URL; CI always has one.
test-postgresql: install
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		$(PYTEST) --database=postgresql; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI needs TEST_DATABASE_URL (a PostgreSQL server); .ci/run sets it." >&2; exit 1; \
	else \
		echo "Skipping the PostgreSQL run: set TEST_DATABASE_URL to include it."; \
	fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis node_modules screenshots review

# N simulated people walk the whole client journey against gunicorn for a while; then every
# acknowledged send must be stored and open. `make load CLIENTS=16 SECONDS=60`.
# DATABASE_URL=postgresql+psycopg://... runs it on an empty PostgreSQL database instead.
CLIENTS ?= 8
SECONDS ?= 30
HOSTS ?= 1
load: install
	$(PY) -m tools.load --clients $(CLIENTS) --seconds $(SECONDS) --hosts $(HOSTS)

# Client pages, saves, the workspace at 100 and 10,000 clients, one full record and key
# rotation, against a bare Flask page on the same gunicorn settings. See docs/performance.md.
bench: install
	$(PY) -m tools.bench
