# rediscluster: `make demo` (a real local cluster, keys written and placed from Rust and Python,
# shown) and `make test` (everything CI checks). Both install what is missing on a fresh Debian
# box: redis-server, a Python virtualenv in .venv with the package built from this tree.

SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
# Root installs directly; anyone else through sudo (when there is one).
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
# The Python extension builds in its own target dir, so cargo and maturin never rebuild each
# other's artefacts (different features and profiles).
PYTHON_TARGET_DIR := $(CURDIR)/target-python
# redis-py's own test_commands.py, run against our client (see that folder's README).
CONFORMANCE_DIR ?= $(CURDIR)/../shared/conformance
# The PHP extension, built by cargo (cached like any crate): load it with `extension=` this path.
PHP_EXT := $(CURDIR)/target/release/librediscluster_php.so
PHP := php -d extension=$(PHP_EXT)
# Test and lint tools for the virtualenv, pinned (pytest as the conformance harness pins it).
PY_TOOLS := "maturin>=1.5,<2" "pytest==8.4.2" "pytest-timeout==2.4.0" "hiredis>=3,<4" "ruff==0.17.6" \
	"mypy==2.4.1" "uvloop==0.21.0"

.PHONY: all demo test deps lint check-generated bench bench-python python-env python-install \
	python-test php-build php-test php-stubs bench-php bench-php-instructions bench-php-request \
	bench-migrate bench-redis-cluster bench-move-to-redis-cluster distribution-vectors cross-language conformance conformance-redis-cluster conformance-async conformance-php bench-python-async \
	cluster-start cluster-stop fault-suite soak refresh-commands library-suites

all: test

## deps: the Debian packages the tests and the demo need: redis-server for real servers,
## Python's venv module where the distribution ships it separately, and for the PHP extension
## the PHP headers, libclang (ext-php-rs's bindgen), phpredis (the tests' oracle) and PHPUnit.
deps:
	@missing=""; \
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null || missing="redis-server redis-tools"; \
	$(PYTHON) -c "import venv, ensurepip" 2>/dev/null || missing="$$missing python3-venv python3-pip"; \
	command -v php >/dev/null || missing="$$missing php-cli"; \
	command -v php-config >/dev/null || missing="$$missing php-dev"; \
	dpkg -s libclang-dev >/dev/null 2>&1 || missing="$$missing libclang-dev"; \
	php -m 2>/dev/null | grep -qx redis || missing="$$missing php-redis"; \
	command -v phpunit >/dev/null || missing="$$missing phpunit"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing (Debian packages)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	@redis-server --version

## python-env: .venv with the build and test tools (once; again when pyproject.toml changes).
python-env: $(VENV)/.tools
$(VENV)/.tools: pyproject.toml | deps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check $(PY_TOOLS)
	touch $@

## python-install: `pip install .` into .venv: the wheel a user gets (abi3), built by maturin.
python-install: python-env
	CARGO_TARGET_DIR=$(PYTHON_TARGET_DIR) $(PY) -m pip install -q --disable-pip-version-check .

## demo: starts the dev cluster (3 masters + 3 replicas), writes keys through the cluster from
## Rust, then from Python, then from PHP, prints where each one is, confirmed on the servers, and
## that the three agree; then stops it.
demo: deps python-install php-build
	$(CARGO) build --release -p cluster-core --example demo
	@set -e; \
	tests/cluster.sh start; \
	trap 'tests/cluster.sh stop' EXIT; \
	tests/cluster.sh config > target/dev-cluster.json; \
	$(CARGO) run --release -q -p cluster-core --example demo -- target/dev-cluster.json target/demo-placements.json; \
	echo; echo "the same keys, written from Python:"; \
	$(PY) python/examples/demo.py target/dev-cluster.json target/demo-placements.json; \
	echo; echo "the same keys, written from PHP:"; \
	$(PHP) php/examples/demo.php target/dev-cluster.json target/demo-placements.json

## test: formatting, lints, generated files up to date, then every test against real servers:
## the Rust suite (property tests included), the Python package installed with `pip install .`
## and its pytest suite, PHPUnit, the cross-language check, and the fault suite (short phases).
test: deps lint check-generated
	$(CARGO) test
	$(MAKE) python-test php-test cross-language fault-suite

## python-test: the stubs (rediscluster/_core.pyi) against the built module, then pytest.
python-test: python-install
	$(PY) -m mypy.stubtest rediscluster._core
	$(PY) -m pytest -q -p no:cacheprovider python/tests

## php-build: the extension (release; cargo rebuilds it only when its sources changed).
php-build: deps
	$(CARGO) build --release -p rediscluster-php

## php-test: the PHPUnit suite, with the extension loaded.
php-test: php-build
	$(PHP) $$(command -v phpunit) -c php/phpunit.xml

## php-stubs: php/stubs/ for IDEs, from the extension itself (reflection for the signatures, the
## Rust doc comments for the docs, the __call table as @method lines), then checked.
php-stubs: php-build
	$(PHP) tools/php_stubs_gen.php > php/stubs/rediscluster.stubs.php
	$(PHP) tools/php_stubs_check.php php/stubs/rediscluster.stubs.php

## fault-suite: a shared client under mixed load while a replica is killed, a master killed
## and restarted, a node SIGSTOPped and a node out of memory (tests/faults/fault_suite.py).
fault-suite: python-install
	$(PY) tests/faults/fault_suite.py --phase-seconds 3

## soak: the same, longer: 20 s phases, 5 rounds (about 15 minutes); figures in target/soak.json.
soak: python-install
	$(PY) tests/faults/fault_suite.py --phase-seconds $${SOAK_PHASE_SECONDS:-20} \
		--rounds $${SOAK_ROUNDS:-5} --json target/soak.json

## cross-language: the same keys written from Rust, Python and PHP are found by the other two.
cross-language: python-install php-build
	$(CARGO) build --release -p cluster-core --example cross_language
	$(PY) tests/cross_language/run.py --php "$(PHP)"

## bench-migrate: rediscluster copy/reshard of 300k mixed keys with TTLs, beside the floor the
## servers' own CPU sets and the seed's one-key-at-a-time.
bench-migrate: python-install
	$(PY) bench/migrate_bench.py

## distribution-vectors: record tests/vectors/distributions.json again by running the peers
## themselves (phpredis RedisArray, Predis, nutcracker) against servers it starts; not run by CI.
distribution-vectors: python-env
	@command -v nutcracker >/dev/null && [ -f /usr/share/php/Predis/Autoloader.php ] || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq php-nrk-predis nutcracker >/dev/null; }
	$(PY) tools/gen_distribution_vectors.py

## bench-php: our extension vs phpredis RedisArray (same masters) vs phpredis on one server.
bench-php: php-build
	$(PHP) bench/php_bench.php

## bench-php-instructions: each PHP client's own work per call (MGET/MSET x1000, a pipeline,
## GET, SET) in instructions counted by callgrind: steady on a noisy machine where wall-clock
## figures are not (needs valgrind, installed here if missing).
bench-php-instructions: php-build
	@command -v valgrind >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq valgrind >/dev/null)
	REDISCLUSTER_PHP_EXT=$(PHP_EXT) $(PHP) bench/php_instructions.php

## bench-php-request: a PHP-FPM-style request (new client + one GET) over 3 masters + 3
## replicas: ours persistent, with replica reads, mastersOnly, vs phpredis pconnect, connect and
## RedisArray.
bench-php-request: php-build
	$(PHP) bench/php_request_bench.php

lint: python-env
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check python bench tests tools
	$(VENV)/bin/ruff format --check python bench tests tools
	$(PYTHON) tools/module_graph.py

## check-generated: the golden vectors and the command table match their generators (the table
## from the vendored COMMAND INFO snapshot, so the answer does not depend on the redis-server
## installed), and the PHP stubs match the extension (the Python stubs are checked against the
## module by python-test, which installs it).
check-generated: php-build
	$(PYTHON) tools/gen_placement_vectors.py --check
	$(PYTHON) tools/gen_placement_modes_vectors.py --check
	$(PYTHON) tools/gen_command_table.py --check
	$(PHP) tools/php_stubs_check.php php/stubs/rediscluster.stubs.php

## refresh-commands: the COMMAND INFO/DOCS snapshot (tools/redis-commands.json) read again from
## the installed redis-server, and the command table regenerated from it.
refresh-commands: deps
	$(PYTHON) tools/gen_command_table.py --refresh

## conformance: redis-py 8.1's own test_commands.py against StrictRedisCluster (3 masters), and
## the comparison with plain redis.Redis (the harness's recorded baseline).
conformance: python-install
	$(PY) -m pip install -q --disable-pip-version-check -r $(CONFORMANCE_DIR)/requirements.txt
	CONFORMANCE_PYTHON=$(PY) CONFORMANCE_CLIENT=conformance_factories:rediscluster_candidate \
		$(CONFORMANCE_DIR)/run.sh -q -p no:cacheprovider
	$(PYTHON) $(CONFORMANCE_DIR)/compare.py $(CONFORMANCE_DIR)/baseline/junit-redis_baseline.xml \
		$${CONFORMANCE_OUT:-$${TMPDIR:-/tmp}/redis-conformance-out}/junit-rediscluster_candidate.xml

## conformance-redis-cluster: the same redis-py tests with our client on a real Redis Cluster
## (tests/cluster.sh CLUSTER_KIND=redis_cluster on REDIS_CLUSTER_TEST_BASE_PORT, database 0, the
## harness's own servers not started), compared with our client on client-side shards (the
## conformance target's last run: run that first).
RC_BASE = $(shell sed -n 's/^REDIS_CLUSTER_TEST_BASE_PORT=//p' tests/ports.env)
conformance-redis-cluster: python-install
	$(PY) -m pip install -q --disable-pip-version-check -r $(CONFORMANCE_DIR)/requirements.txt
	export CLUSTER_KIND=redis_cluster REDISCLUSTER_DEV_DIR=$${TMPDIR:-/tmp}/rediscluster-conformance-rc; \
	tests/cluster.sh start $(RC_BASE) >/dev/null && \
	CONFORMANCE_PYTHON=$(PY) CONFORMANCE_START_SERVERS=0 CONFORMANCE_DB=0 \
		CONFORMANCE_PORT_BASE=$(RC_BASE) CONFORMANCE_REPLICA_OFFSET=3 \
		PYTHONPATH=$(CURDIR)/tests/conformance_redis_cluster \
		CONFORMANCE_CLIENT=factory:redis_cluster_candidate CONFORMANCE_LABEL=rediscluster_on_redis_cluster \
		$(CONFORMANCE_DIR)/run.sh -q -p no:cacheprovider; status=$$?; \
	tests/cluster.sh stop $(RC_BASE) >/dev/null; exit $$status
	$(PYTHON) $(CONFORMANCE_DIR)/compare.py \
		$${CONFORMANCE_OUT:-$${TMPDIR:-/tmp}/redis-conformance-out}/junit-rediscluster_candidate.xml \
		$${CONFORMANCE_OUT:-$${TMPDIR:-/tmp}/redis-conformance-out}/junit-rediscluster_on_redis_cluster.xml

## conformance-async: redis-py 8.1's own tests/test_asyncio/test_commands.py through the same
## harness, twice: redis.asyncio.Redis on the first master (redis-py's own create_redis fixture:
## the baseline), then rediscluster.asyncio over the 3 masters (tests/conformance_async swaps
## that fixture); compare.py prints what passes on the baseline and not here.
CONFORMANCE_ASYNC_RUN = CONFORMANCE_PYTHON=$(PY) CONFORMANCE_TESTS=tests/test_asyncio/test_commands.py
CONFORMANCE_ASYNC_ARGS = -q -p no:cacheprovider -p pytest_asyncio.plugin -o asyncio_mode=auto \
	-o asyncio_default_fixture_loop_scope=function
conformance-async: python-install
	$(PY) -m pip install -q --disable-pip-version-check -r $(CONFORMANCE_DIR)/requirements.txt \
		"pytest-asyncio==1.2.0"
	$(CONFORMANCE_ASYNC_RUN) CONFORMANCE_LABEL=asyncio_baseline \
		$(CONFORMANCE_DIR)/run.sh $(CONFORMANCE_ASYNC_ARGS)
	$(CONFORMANCE_ASYNC_RUN) CONFORMANCE_LABEL=asyncio_candidate \
		PYTHONPATH=$(CURDIR)/tests/conformance_async \
		$(CONFORMANCE_DIR)/run.sh $(CONFORMANCE_ASYNC_ARGS) -p rediscluster_async_plugin
	$(PYTHON) $(CONFORMANCE_DIR)/compare.py \
		$${CONFORMANCE_OUT:-$${TMPDIR:-/tmp}/redis-conformance-out}/junit-asyncio_baseline.xml \
		$${CONFORMANCE_OUT:-$${TMPDIR:-/tmp}/redis-conformance-out}/junit-asyncio_candidate.xml

## conformance-php: phpredis 5.3.7's own tests/RedisTest.php against RedisCluster\RedisCluster
## (3 masters), beside phpredis Redis on one server (the harness's ports, 7421-7428; the report
## is $$SCRATCH/report.md). PHPACC_NOSKIP=1 runs every test (a crash hunt).
CONFORMANCE_PHP_DIR ?= $(CURDIR)/../shared/conformance-php
conformance-php: php-build
	PHP_EXT=$(PHP_EXT) TARGETS="$${TARGETS:-baseline ours}" $(CONFORMANCE_PHP_DIR)/run.sh

## bench: criterion benchmarks (placement throughput, round trips against redis-rs).
bench:
	$(CARGO) bench -p cluster-core

## bench-python: our client vs redis-py + hiredis, one server and sharded by hand.
bench-python: python-install
	$(PY) bench/python_bench.py

## bench-redis-cluster: our client vs redis-py's redis.cluster.RedisCluster + hiredis on one real
## Redis Cluster (tests/cluster.sh CLUSTER_KIND=redis_cluster): GET, SET, MGET of 1000 keys.
bench-redis-cluster: python-install
	$(PY) bench/redis_cluster_bench.py

## bench-move-to-redis-cluster: the live move of 1,000,000 keys of every type from 3 client-side
## masters into a 3-master Redis Cluster under Python, PHP and Rust clients at once, the move
## killed with SIGKILL and resumed; every read checked, every key checked after, read p99 before
## and during (MOVE_KEYS to change the size, MOVE_RATE the pace: keys a second, 1000 by
## default, some 17 minutes for 1M keys).
bench-move-to-redis-cluster: python-install php-build
	$(CARGO) build --release -p rediscluster-tools --bin rediscluster
	$(CARGO) build --release -p cluster-core --example move_load
	$(PY) bench/move_to_redis_cluster.py --keys $${MOVE_KEYS:-1000000} --move-rate $${MOVE_RATE:-1000} --php "$(PHP)" \
		--json $(CURDIR)/target/move-to-redis-cluster.json

## bench-python-async: rediscluster.asyncio vs redis.asyncio + hiredis (one server, and sharded by
## hand), 1000 concurrent tasks on one event loop, with the loop's lag.
bench-python-async: python-install
	$(PY) bench/python_async_bench.py

## library-suites: rq's and python-redis-lock's own test suites (pinned PyPI sdists, in their own
## virtualenv under target/library-suites), each on one plain redis.Redis and with the client
## swapped for StrictRedisCluster over 3 masters; pass counts side by side. Not part of `test`.
## Settings for the swapped client: LIBRARY_SUITES_SETTINGS (default
## tests/library_suites/settings.json).
library-suites: python-install
	$(PY) tests/library_suites/run.py

cluster-start: deps
	tests/cluster.sh start
cluster-stop:
	tests/cluster.sh stop
