# Set-up and run targets. Each creates the virtual environment on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export WAREHOUSE_PATH ?= $(CURDIR)/data/warehouse.duckdb
export RAW_DATA_DIR ?= $(CURDIR)/data/raw
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
SCALE ?= full
# Format of the generated CEADs tables: xlsx (as real users have them), csv or parquet; empty
# means Parquet at full scale and xlsx at small.
FORMAT ?=
# Where `make ui` and `make serve` listen.
UI_HOST ?= 127.0.0.1
UI_PORT ?= 3000
# `make serve`: its Dagster instance folder, and the PostgreSQL server holding the instance's
# runs, event logs and schedules. The password here is the one `make postgres` gives the local
# cluster; set your own for a real server.
SERVE_HOME ?= $(CURDIR)/.dagster_serve
export DAGSTER_PG_HOST ?= 127.0.0.1
export DAGSTER_PG_PORT ?= 5432
export DAGSTER_PG_USER ?= dagster
export DAGSTER_PG_PASSWORD ?= dagster
export DAGSTER_PG_DB ?= dagster
# Where `make postgres` keeps its local cluster.
PG_DATA ?= $(CURDIR)/.postgres

.PHONY: install demo generate refresh study replication test ui serve postgres postgres-stop bench clean

# The pinned set is installed by uv (pinned here, itself installed by pip): on a fresh machine
# about 1 minute, against about 2 min 45 s for pip, which resolves the same set. Bytecode is
# compiled at install, so that no process pays for it when PYTHONDONTWRITEBYTECODE is set.
UV_VERSION := 0.13.10
$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python -q --compile-bytecode -c requirements.lock -e '.[dev]'
	touch $@

install: $(BIN)/.installed

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME) && cp dagster.yaml $@

# dbt's manifest, which the Dagster definitions read, and the check of the study files that the
# generator reads (S002's tie thresholds).
dbt/target/manifest.json: $(BIN)/.installed $(shell find dbt/models dbt/seeds dbt/macros -type f) dbt/dbt_project.yml dbt/profiles.yml
	$(BIN)/dbt parse --quiet --project-dir $(CURDIR)/dbt --profiles-dir $(CURDIR)/dbt

# The embedded default at full size, then every asset into the warehouse.
demo: generate refresh

generate: $(BIN)/.installed dbt/target/manifest.json
	$(BIN)/python -m models_py.generate --scale $(SCALE) --out $(RAW_DATA_DIR) --truth $(dir $(RAW_DATA_DIR))truth.json $(if $(FORMAT),--ceads-format $(FORMAT))

# Everything (refresh_all), one source (SOURCE=city_yearbook: refresh_city_yearbook), one
# year of a yearly source (SOURCE=city_yearbook YEAR=2015), or only the sources whose files
# are new or changed (CHANGED=1). The preflight marks runs left unfinished by a killed refresh
# as failed (freeing their pool slot), and stops if a refresh is running or another process
# keeps the warehouse file open.
SOURCE ?=
YEAR ?=
CHANGED ?=
refresh: $(BIN)/.installed dbt/target/manifest.json $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m dagster_project.refresh $(if $(SOURCE),--source $(SOURCE)) $(if $(YEAR),--year $(YEAR)) $(if $(CHANGED),--changed)

# One study (STUDY=s001), or one table of it (TABLE=baseline), estimated against the current
# warehouse and published: its files, results tables, collected coefficients and the analysts'
# copy.
STUDY ?=
TABLE ?=
study: $(BIN)/.installed dbt/target/manifest.json $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m dagster_project.study $(STUDY) $(if $(TABLE),--table $(TABLE))

# The replication package of one study (STUDY=s001) from the current warehouse and published
# results: data/replication/<study>/ and its zip, checked by running its reproduce.py.
replication: $(BIN)/.installed dbt/target/manifest.json $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m dagster_project.replication $(STUDY)

# The suite on TEST_WORKERS pytest-xdist workers, one test module per work unit, the longest
# modules first (tests/conftest.py orders them and shares the warehouse between the workers).
TEST_WORKERS ?= 2
test: $(BIN)/.installed dbt/target/manifest.json
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The Dagster webserver and daemon (sensors, schedules, the run queue) as two processes:
# `make ui` on the single-machine instance in DAGSTER_HOME (SQLite files), `make serve` on the
# PostgreSQL instance of SERVE_HOME. Either stops, with both services, on Ctrl-C or kill.
ui: $(BIN)/.installed dbt/target/manifest.json $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m dagster_project.services -H $(UI_HOST) -p $(UI_PORT)

serve: $(BIN)/.installed dbt/target/manifest.json $(SERVE_HOME)/dagster.yaml
	DAGSTER_HOME=$(SERVE_HOME) $(BIN)/python -m dagster_project.services -H $(UI_HOST) -p $(UI_PORT)

$(SERVE_HOME)/dagster.yaml: dagster.yaml deploy/dagster.serve.yaml
	mkdir -p $(SERVE_HOME) && cat dagster.yaml deploy/dagster.serve.yaml > $@

# A PostgreSQL cluster of the project's own in PG_DATA, on DAGSTER_PG_HOST:DAGSTER_PG_PORT, for
# `make serve` where no server is at hand (Debian: apt-get install postgresql).
postgres: $(BIN)/.installed
	$(BIN)/python -m dagster_project.local_postgres start $(PG_DATA)

postgres-stop: $(BIN)/.installed
	$(BIN)/python -m dagster_project.local_postgres stop $(PG_DATA)

# Benchmarks on the full default (run `make demo` first): input-output engine, the CEADs
# workbook reader and the whole refresh with the CEADs tables as xlsx, then the studies
# S003, S001, and S000, S002 and S004.
bench: $(BIN)/.installed dbt/target/manifest.json
	$(BIN)/python bench/bench_io.py --raw $(RAW_DATA_DIR)
	$(BIN)/python bench/bench_s003.py
	$(BIN)/python bench/bench_s001.py
	$(BIN)/python bench/bench_studies.py

clean:
	rm -rf data/warehouse*.duckdb* data/warehouse*.dbt dbt/target .dagster_home .dagster_serve
