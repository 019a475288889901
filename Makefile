# Two commands: `make run` (the portal on embedded defaults) and `make test`.
# Both build on `make install`, which only does work when its inputs changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: install run test lint format lock migrate demo worker clean bench load fuzz

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Regenerate the pinned versions after changing ranges in pyproject.toml.
lock:
	$(BIN)/pip-compile --quiet --extra dev --strip-extras --allow-unsafe -o requirements.lock pyproject.toml

migrate: install
	PORTAL_DEMO=1 $(BIN)/python manage.py migrate --no-input

# The demo: seed the catalog, demo accounts and a local deploy repository,
# then web + worker + beat under one process manager (Procfile).
run: install
	PORTAL_DEMO=1 $(BIN)/python manage.py migrate --no-input
	PORTAL_DEMO=1 $(BIN)/python manage.py seed_catalog
	PORTAL_DEMO=1 $(BIN)/python manage.py demo_accounts
	PORTAL_DEMO=1 $(BIN)/python manage.py demo_repo
	PORTAL_DEMO=1 DEBUG=$${DEBUG:-1} PORTAL_PORT=$(PORT) \
		PORTAL_BASE_URL=$${PORTAL_BASE_URL:-http://127.0.0.1:$(PORT)} $(BIN)/honcho start -f Procfile

# Static analysis: bandit (findings triaged inline, `# nosec <id>` after the reason) and
# semgrep with the portal's own rules (.semgrep/portal.yml; offline, no metrics), whose
# examples beside them are tested first, so a rule that stops matching fails too.
SEMGREP := SEMGREP_ENABLE_VERSION_CHECK=0 $(BIN)/semgrep
SEMGREP_OPTIONS := --metrics=off --disable-version-check --quiet
# What is deployed (bench/ and tests/ are not).
CODE := accounts events hubs monitoring notifications portal provisioning

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
	$(BIN)/bandit -q -r $(CODE) -x '*/migrations/*'
	rules=$$(mktemp -d) && cp .semgrep/portal.* $$rules/ && \
		$(SEMGREP) --test $(SEMGREP_OPTIONS) $$rules; status=$$?; rm -rf $$rules; exit $$status
	$(SEMGREP) scan $(SEMGREP_OPTIONS) --error --config .semgrep/portal.yml $(CODE) templates

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install lint
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/review_queue.py
	$(BIN)/python bench/render.py
	$(BIN)/python bench/members.py
	$(BIN)/python bench/live_status.py
	$(BIN)/python bench/events.py
	$(BIN)/python bench/health.py

# The API fuzzing of `make test` at depth: 300 generated requests per operation and
# persona (about 25 minutes on two cores; `make test` runs 40).
fuzz: install
	PORTAL_SCHEMATHESIS_EXAMPLES=$${PORTAL_SCHEMATHESIS_EXAMPLES:-300} $(BIN)/pytest -p no:randomly tests/test_schemathesis.py

# gunicorn (4 workers) on Postgres under 50 users for 2 minutes (bench/load.py).
load: install
	$(BIN)/python bench/load.py $(LOAD_ARGS)

clean:
	rm -rf var/test var/broker
