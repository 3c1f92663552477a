# resourceequality: `make` builds the engine, the header, the collector and the explain tool;
# `make run` runs the collector on examples/local.yaml; `make test` runs every test layer. Tools
# are installed at pinned versions into .tools/ by the targets that need them, so a fresh
# machine needs only Go, Rust, Python, gcc and make.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all
MAKEFLAGS += --no-builtin-rules

ROOT := $(abspath .)
TOOLS := $(ROOT)/.tools
BIN := $(TOOLS)/bin
export PATH := $(BIN):$(PATH)

CBINDGEN_VERSION := 0.29.2
CARGO_FUZZ_VERSION := 0.13.2
COLLECTOR := build/otelcol-resourceequality
EXPLAIN := build/explain
ENGINE_LIB := target/release/libresourceequality.a
# The engine as the processor's Go code links it: inside the Go module of this machine's platform
# (go-processor/platform/README.md), where a module registry would serve it.
PLATFORM := $(shell go env GOOS)-$(shell go env GOARCH)
ENGINE_MODULE_LIB := go-processor/platform/$(PLATFORM)/libresourceequality.a
HEADER := include/resourceequality.h
# The header's copy inside the Go module, so that the module builds on its own.
GO_HEADER := go-processor/internal/engine/resourceequality.h
VENV := $(ROOT)/.venv
PYTHON := $(VENV)/bin/python

RUST_SRC := Cargo.toml Cargo.lock $(shell find rust -type f \( -name '*.rs' -o -name '*.toml' -o -name '*.json' \) -not -path '*/target/*')
GO_SRC := $(shell find go-processor -type f \( -name '*.go' -o -name '*.h' -o -name 'go.mod' -o -name 'go.sum' -o -name '*.yaml' \))

# Go does not hash the static library named in #cgo LDFLAGS: pass its checksum in CGO_CFLAGS so
# that every engine change recompiles and relinks the cgo package (no stale engine in a binary).
GO_ENV = CGO_ENABLED=1 CGO_CFLAGS="-O2 -g -DRE_ENGINE_BUILD=$$(cksum < $(ROOT)/$(ENGINE_MODULE_LIB) | cut -d' ' -f1)"

.PHONY: all engine engine-module header header-check generate collector explain run tools test test-rust test-c test-go \
        test-nocgo test-collector e2e lint bench bench-engine bench-memory bench-go bench-load bench-entities bench-check \
        fuzz fuzz-short fuzz-run soak clean check-tools send-example image-tools image image-test

all: $(COLLECTOR) $(EXPLAIN)

# ---- tools (pinned) ---------------------------------------------------------------------------
$(BIN)/builder: go-processor/internal/tools/go.mod
	cd go-processor/internal/tools && GOBIN=$(BIN) go install tool
$(BIN)/mdatagen: go-processor/go.mod
	cd go-processor && GOBIN=$(BIN) go install go.opentelemetry.io/collector/cmd/mdatagen
$(BIN)/telemetrygen: tests/e2e/tools/go.mod
	cd tests/e2e/tools && GOBIN=$(BIN) go install tool
$(BIN)/cbindgen:
	cargo install cbindgen --version $(CBINDGEN_VERSION) --locked --root $(TOOLS)
$(BIN)/loadgen: $(shell find tests/load/loadgen -type f)
	cd tests/load/loadgen && go build -o $(BIN)/loadgen .
$(BIN)/cargo-fuzz:
	cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked --root $(TOOLS)
$(VENV)/.installed: tests/e2e/requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r tests/e2e/requirements.txt
	touch $@

tools: $(BIN)/builder $(BIN)/mdatagen $(BIN)/telemetrygen $(BIN)/loadgen $(BIN)/cbindgen $(VENV)/.installed

# ---- build ------------------------------------------------------------------------------------
engine: $(ENGINE_LIB)
$(ENGINE_LIB): $(RUST_SRC)
	cargo build --release --locked -p resourceequality
	touch $@

# The engine inside its platform's Go module (not committed: this target builds it).
engine-module: $(ENGINE_MODULE_LIB)
$(ENGINE_MODULE_LIB): $(ENGINE_LIB)
	@test -f $(dir $@)go.mod || { echo "no Go module for $(PLATFORM): see go-processor/platform/README.md"; exit 1; }
	cp $(ENGINE_LIB) $@

header: $(BIN)/cbindgen
	cbindgen --quiet --config rust/cbindgen.toml --crate resourceequality --output $(HEADER) rust
	cp $(HEADER) $(GO_HEADER)

# Fails when the committed header is not what cbindgen generates from rust/src/capi/.
header-check: $(BIN)/cbindgen
	cbindgen --quiet --config rust/cbindgen.toml --crate resourceequality --output build/header-check.h rust
	diff -u $(HEADER) build/header-check.h || { echo "include/ is stale: run 'make header' and commit"; exit 1; }
	diff -u $(HEADER) $(GO_HEADER) || { echo "$(GO_HEADER) is stale: run 'make header' and commit"; exit 1; }

# Renews every file generated from one definition: the README's rule and engine-metrics tables
# and the engine metrics in metadata.yaml (rust/tests/generated.rs), the C header, and
# mdatagen's code.
DISTRIBUTION_URL := https://github.com/resourceequality/resourceequality/blob/main/collector-builder.yaml
generate: $(BIN)/mdatagen $(BIN)/cbindgen
	RE_UPDATE_GENERATED=1 cargo test --release -q -p resourceequality --test generated
	cbindgen --quiet --config rust/cbindgen.toml --crate resourceequality --output $(HEADER) rust
	cp $(HEADER) $(GO_HEADER)
	cd go-processor/resourceequalityprocessor && mdatagen metadata.yaml
	cd go-processor/resourceequalityreceiver && mdatagen metadata.yaml
	# mdatagen links only the OpenTelemetry project's distributions; ours is this repository's.
	sed -i 's|^\[resourceequality\]: $$|[resourceequality]: $(DISTRIBUTION_URL)|' \
		go-processor/resourceequalityprocessor/README.md go-processor/resourceequalityreceiver/README.md

collector: $(COLLECTOR)
$(COLLECTOR): $(ENGINE_MODULE_LIB) $(GO_SRC) collector-builder.yaml $(BIN)/builder
	rm -f $@
	$(GO_ENV) builder --config collector-builder.yaml

# The explain tool (go-processor/cmd/explain): why the processor decides what it does.
explain: $(EXPLAIN)
$(EXPLAIN): $(ENGINE_MODULE_LIB) $(GO_SRC)
	mkdir -p build
	cd go-processor && $(GO_ENV) go build -o $(ROOT)/$(EXPLAIN) ./cmd/explain

run: $(COLLECTOR)
	./$(COLLECTOR) --config examples/local.yaml

# With `make run` going in another terminal: the README's worked example, sent by real clients.
send-example: $(VENV)/.installed
	$(VENV)/bin/python examples/send/worked_example.py --endpoint http://localhost:4318

# ---- tests ------------------------------------------------------------------------------------
test: check-tools test-rust test-c header-check test-go test-nocgo test-collector e2e fuzz-short

test-rust:
	cargo test --release --locked --workspace

test-c: $(ENGINE_LIB)
	mkdir -p build
	cc -std=c11 -Wall -Wextra -Werror -Iinclude tests/c/abi_test.c -Ltarget/release -lresourceequality \
	  -Wl,-rpath,$(ROOT)/target/release -o build/abi_test
	if command -v valgrind >/dev/null; then \
	  valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=1 build/abi_test; \
	else build/abi_test; fi

test-go: $(ENGINE_MODULE_LIB)
	cd go-processor && $(GO_ENV) go test -race -count=1 ./...
	cd tests/load/loadgen && go test -count=1 ./...

# The package must build without cgo, and then report a clear error.
test-nocgo:
	cd go-processor && CGO_ENABLED=0 go test -count=1 -run 'TestWithoutCgo' ./resourceequalityprocessor/

test-collector: $(COLLECTOR)
	tests/collector_smoke.sh $(COLLECTOR)

E2E_ENV = COLLECTOR=$(ROOT)/$(COLLECTOR) EXPLAIN=$(ROOT)/$(EXPLAIN) TELEMETRYGEN=$(BIN)/telemetrygen LOADGEN=$(BIN)/loadgen BUILDER=$(BIN)/builder

e2e: $(COLLECTOR) $(EXPLAIN) $(BIN)/telemetrygen $(BIN)/loadgen $(VENV)/.installed
	cd tests/e2e && $(E2E_ENV) $(PYTHON) -m pytest -q -p no:cacheprovider

lint: $(ENGINE_MODULE_LIB)
	cargo clippy --release --locked --workspace --all-targets -- -D warnings
	cargo fmt --all -- --check
	test -z "$$(gofmt -l go-processor tests | tee /dev/stderr)"
	cd go-processor && $(GO_ENV) go vet ./...

# The tools every target needs, at their minimum versions (the README's Quick start states them):
# Go as go-processor/go.mod's go line, Rust as Cargo.toml's rust-version, Python with venv.
check-tools:
	@go_min=$$(sed -n 's/^go //p' go-processor/go.mod); go_have=$$(go env GOVERSION | sed 's/^go//'); \
	  [ "$$(printf '%s\n' "$$go_min" "$$go_have" | sort -V | head -1)" = "$$go_min" ] || \
	  { echo "Go $$go_have is older than the $$go_min go-processor/go.mod needs"; exit 1; }
	@rust_min=$$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml); rust_have=$$(rustc --version | cut -d' ' -f2); \
	  [ "$$(printf '%s\n' "$$rust_min" "$$rust_have" | sort -V | head -1)" = "$$rust_min" ] || \
	  { echo "Rust $$rust_have is older than the $$rust_min Cargo.toml needs"; exit 1; }
	@python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' 2>/dev/null || \
	  { echo "make needs Python 3.9 or newer with its venv module (Debian: apt-get install python3-venv)"; exit 1; }
	@command -v cc >/dev/null || { echo "make needs a C compiler (cc) for cgo"; exit 1; }

# ---- fuzzing and soak ---------------------------------------------------------------------------
# cargo fuzz needs the nightly toolchain; without it the corpora are still replayed by
# `cargo test` (rust/tests/fuzz_corpus.rs). Corpora live in the repo; new finds are added to them.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS := process config snapshot
GO_FUZZ_TARGETS := FuzzProcessLogs FuzzApplyAnswer

fuzz: $(BIN)/cargo-fuzz $(ENGINE_MODULE_LIB)
	$(MAKE) fuzz-run FUZZ_SECONDS=$(FUZZ_SECONDS)

# fuzz-short (in make test) writes what it finds to a scratch corpus under build/, reading the
# committed corpora too, so that make test leaves the tree as it found it; fuzz adds its finds to
# the committed corpora.
fuzz-short: $(ENGINE_MODULE_LIB)
	if cargo +nightly --version >/dev/null 2>&1; then \
	  $(MAKE) $(BIN)/cargo-fuzz && $(MAKE) fuzz-run FUZZ_SECONDS=15 FUZZ_FINDS=$(ROOT)/build/fuzz-corpus; \
	else echo "fuzz-short: no nightly toolchain; corpora replayed by cargo test only"; fi

FUZZ_FINDS ?= corpus
# Go's fuzzing is budgeted in executions, not seconds: with a wall-clock -fuzztime, Go before
# 1.27 can report its own stop as "context deadline exceeded" and fail a run that found nothing
# (golang/go#75804). 10,000 executions per second is what a loaded 2-core runner sustains;
# the timeout only catches a hang.
GO_FUZZ_EXECS = $(shell echo $$(( $(FUZZ_SECONDS) * 10000 )))
GO_FUZZ_TIMEOUT = $(shell echo $$(( $(FUZZ_SECONDS) * 6 + 120 )))
fuzz-run:
	cd rust/fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_FINDS)/$$t corpus/$$t && \
	  cargo +nightly fuzz run --release $$t $(FUZZ_FINDS)/$$t $$( [ "$(FUZZ_FINDS)" = corpus ] || echo corpus/$$t ) -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 2>&1 | tail -12 || exit 1; \
	done
	cd go-processor && for t in $(GO_FUZZ_TARGETS); do \
	  $(GO_ENV) go test -run '^$$' -fuzz "^$$t$$" -fuzztime $(GO_FUZZ_EXECS)x -timeout $(GO_FUZZ_TIMEOUT)s ./resourceequalityprocessor/ || exit 1; \
	done

# Long reliability runs; their figures go in the README's Reliability section.
SOAK ?= 5m
soak: $(COLLECTOR) $(BIN)/loadgen $(VENV)/.installed $(ENGINE_MODULE_LIB)
	cd go-processor && RE_SOAK=$(SOAK) $(GO_ENV) go test -race -count=1 -timeout 30m -run TestSoakSharedEngine -v ./resourceequalityprocessor/ | grep -E 'soak:|^(ok|FAIL|---)'
	cd tests/e2e && $(E2E_ENV) FLOOD_PODS=1000000 FLOOD_MAX_ENTITIES=100000 JUNK_A_REQUESTS=60 JUNK_A_KEYS=8000 \
	  JUNK_B_REQUESTS=30 TENANT_FLOOD=40000 RELOAD_PODS=260000 RELOADS=10 $(PYTHON) -m pytest -q -s -p no:cacheprovider test_flood.py

# ---- benchmarks (not part of `make test`) ------------------------------------------------------
bench: bench-engine bench-memory bench-go bench-load bench-entities

bench-engine:
	cargo bench -p resourceequality --bench engine
	python3 rust/benches/report.py target/criterion

bench-memory:
	cargo run --release -q -p resourceequality --example memory_per_entity -- 100000

bench-go: $(ENGINE_MODULE_LIB)
	cd go-processor && $(GO_ENV) go test -run '^$$' -bench . -benchmem -benchtime 2000x -count 3 ./resourceequalityprocessor/

bench-load: $(COLLECTOR) $(BIN)/loadgen
	python3 tests/load/compare_pipelines.py --rounds 5 --workloads abcde --pipelines "ABCB'N" --collector $(COLLECTOR) --loadgen $(BIN)/loadgen

# CPU per item against live entities, for B and C, drawn into tests/load/cost_by_entities.png.
bench-entities: $(COLLECTOR) $(BIN)/loadgen $(VENV)/.bench-installed
	$(PYTHON) tests/load/cost_by_entities.py --collector $(COLLECTOR) --loadgen $(BIN)/loadgen

$(VENV)/.bench-installed: $(VENV)/.installed tests/load/requirements.txt
	$(PYTHON) -m pip install --quiet -r tests/load/requirements.txt
	touch $@

# A guard before releases (not in `make test`): fails when B/C on workload (b), or on (e), its
# churning twin, exceeds 1.0 by more than the machine's measured noise (10%). Each collector is
# sent every resource at least once before its 10-second run is measured (about 4 minutes in
# all): measured from the start, the engine learning 10,000 pods moved B/C from 1.05 to 1.10 at
# half length.
bench-check: $(COLLECTOR) $(BIN)/loadgen
	python3 tests/load/compare_pipelines.py --workloads be --rounds 3 --check 1.10 \
	  --collector $(COLLECTOR) --loadgen $(BIN)/loadgen --json build/bench-check.json

# ---- maintenance ------------------------------------------------------------------------------

# ---- the image (not in make test: it needs root and Debian's podman; .ci/run runs image-test) ----
VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' rust/Cargo.toml)
IMAGE := localhost/otelcol-resourceequality
# No image registry is reachable here: the base is built from Debian's packages and imported
# under this name (examples/deploy/image/Containerfile's default BASE).
IMAGE_BASE := localhost/debian:bookworm-slim

image-tools:
	@if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v mmdebstrap >/dev/null; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc mmdebstrap; fi
	@# crun, podman's default runtime, fails on these machines; runc, with no default ulimits, works.
	@test -f /etc/containers/containers.conf || printf '[containers]\ndefault_ulimits = []\n' > /etc/containers/containers.conf

image: $(COLLECTOR) image-tools
	podman image exists $(IMAGE_BASE) || { \
	  mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm build/base-rootfs.tar && \
	  podman import build/base-rootfs.tar $(IMAGE_BASE) && rm build/base-rootfs.tar; }
	rm -rf build/image && mkdir -p build/image
	cp $(COLLECTOR) examples/deploy/image/Containerfile examples/deploy/image/config.yaml build/image/
	podman build --runtime runc --quiet -t $(IMAGE):$(VERSION) -t $(IMAGE):latest build/image

image-test: image $(VENV)/.installed
	cd tests/e2e && IMAGE=$(IMAGE):$(VERSION) $(PYTHON) -m pytest -q -s -p no:cacheprovider -m image test_image.py

clean:
	rm -rf build target .venv .tools
