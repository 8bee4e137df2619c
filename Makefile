# Groundwork: `make run` to try it, `make test` to check it. See README.md.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app intake
HOST ?= 127.0.0.1
PORT ?= 5000
DEV := GROUNDWORK_ENV=development GROUNDWORK_PUBLIC_URL=http://$(HOST):$(PORT)

.PHONY: install run code test test-sqlite test-postgresql lint format clean translations compile-translations plain

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $@

install: $(VENV)/.installed compile-translations

# The compiled catalogs (.mo) are made from the .po files at every install step.
compile-translations: $(VENV)/.installed
	@if ls translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(VENV)/bin/pybabel -q compile -d translations; \
	fi

# Extract every string again and update each locale's catalog (new strings arrive empty).
translations: $(VENV)/.installed
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --add-comments=Translators: \
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

test-sqlite: install
	$(PY) -m pytest

# Runs where a PostgreSQL server is named by TEST_DATABASE_URL; CI always has one.
test-postgresql: install
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		$(PY) -m pytest --database=postgresql; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI needs TEST_DATABASE_URL (a PostgreSQL server); .ci/run sets it." >&2; exit 1; \
	else \
		echo "Skipping the PostgreSQL run: set TEST_DATABASE_URL to include it."; \
	fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
