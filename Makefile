# Thermablate: `make run` serves the web application with a demo cohort on http://127.0.0.1:8000,
# with its background worker;
# `make test` runs ruff and the whole test suite (set TEST_DATABASE_URL to run it on PostgreSQL).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
ASSETS := src/thermablate/web/static/vendor/nhsuk/nhsuk-frontend.min.css
export THERMABLATE_DATA_DIR ?= $(CURDIR)/data
# The demo prints its e-mails to patients (with their questionnaire links) instead of sending them.
DEMO_EMAIL := DEBUG=true EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend THERMABLATE_PUBLIC_URL=http://127.0.0.1:8000

.PHONY: run test install install-dev assets lint demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(STAMP)
install-dev: $(DEV_STAMP)

$(ASSETS): package.json package-lock.json scripts/vendor-assets.sh
	./scripts/vendor-assets.sh

assets: $(ASSETS)

demo: install assets
	$(BIN)/thermablate migrate --no-input
	$(BIN)/thermablate demo --patients 60
	$(BIN)/thermablate demo_plans
	$(DEMO_EMAIL) $(BIN)/thermablate demo_proms

# The background worker (plans run there) starts beside the web server and stops with it.
run: demo
	@echo "Thermablate on http://127.0.0.1:8000 (sign in with a demo user printed above)"
	$(DEMO_EMAIL) $(BIN)/thermablate worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=true $(BIN)/thermablate runserver 127.0.0.1:8000

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install-dev assets lint
ifdef TEST_DATABASE_URL
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)
else
	$(BIN)/python -m pytest $(PYTEST_ARGS)
endif

clean:
	rm -rf $(VENV) node_modules src/thermablate/web/static/vendor test-artifacts
