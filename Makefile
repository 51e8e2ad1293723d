# Quick start: `make run` (set up and start on SQLite with demo data) and `make test`.
PYTHON_SYSTEM ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Test processes (pytest-xdist): one per core by default; TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= auto
HOST ?= 127.0.0.1
VENDOR := crm/static/vendor

.PHONY: run port test setup assets migrate demo lint check bench clean messages

# A busy port stops make run before anything migrates or starts; a second start migrates
# only when a migration is pending and keeps the demo data it finds.
run: port setup demo
	@PORT=$(PORT) HOST=$(HOST) scripts/run.sh

port:
	@$(PYTHON_SYSTEM) scripts/check_port.py "$(HOST)" "$(PORT)"

test: setup
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

setup: $(VENV)/.installed assets

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON_SYSTEM) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

assets: $(VENDOR)/.copied

# The files are copied as npm ships them, each with the source map its sourceMappingURL
# names: the hashed static storage of production follows every reference and refuses a
# missing one, which is how a broken reference is caught at collectstatic, not in a browser.
$(VENDOR)/.copied: node_modules/.installed Makefile
	@mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.min.css.map $(VENDOR)/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map $(VENDOR)/
	cp node_modules/sortablejs/Sortable.min.js $(VENDOR)/
	cp node_modules/echarts/dist/echarts.min.js node_modules/echarts/i18n/langRU.js $(VENDOR)/
	@touch $@

migrate: setup
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py createcachetable

demo: setup
	$(PY) manage.py demo

messages:
	cd crm && ../$(PY) ../manage.py makemessages -l ru -l en --no-obsolete
	cd crm && ../$(PY) ../manage.py compilemessages

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy crm
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) node_modules $(VENDOR)
