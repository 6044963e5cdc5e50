# rediscluster: `make demo` (a real local cluster, keys written and placed, shown) and
# `make test` (everything CI checks). Both install what is missing on a fresh Debian box.

SHELL := /bin/bash
CARGO ?= cargo
# Root installs directly; anyone else through sudo (when there is one).
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

.PHONY: all demo test deps lint check-generated bench cluster-start cluster-stop

all: test

## deps: the Debian packages the tests and the demo need (redis-server for real servers).
deps:
	@if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then \
		echo "installing redis-server (Debian package)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server redis-tools >/dev/null; \
	fi
	@redis-server --version

## demo: builds, starts the dev cluster (3 masters + 3 replicas), writes keys through the
## cluster and prints where each one is, confirmed on the server itself; then stops it.
demo: deps
	$(CARGO) build --release -p cluster-core --example demo
	@set -e; \
	tests/cluster.sh start; \
	trap 'tests/cluster.sh stop' EXIT; \
	tests/cluster.sh config > target/dev-cluster.json; \
	$(CARGO) run --release -q -p cluster-core --example demo -- target/dev-cluster.json

## test: formatting, lints, generated files up to date, then every test against real servers.
test: deps lint check-generated
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## check-generated: the golden vectors and the command table match their generators.
check-generated:
	python3 tests/vectors/generate_placement.py --check
	python3 tests/gen_command_table.py --check

## bench: criterion benchmarks (placement throughput).
bench:
	$(CARGO) bench -p cluster-core

cluster-start: deps
	tests/cluster.sh start
cluster-stop:
	tests/cluster.sh stop
