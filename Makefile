# ConeCRM automation runtime. `make run` runs the product, `make test` runs
# every test; both install what they need on a fresh machine.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
DATA := $(CURDIR)/data
ARTIFACTS := $(CURDIR)/artifacts
TEMPORAL := $(BIN)/temporal
STATICCHECK_VERSION := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
FUZZTIME ?= 2m
SHORT_FUZZTIME ?= 5s

export PATH := $(BIN):$(PATH)

.PHONY: all build run dev-server test unit lint fuzz fuzz-short node-deps clean help

all: build

help:
	@echo "make run        run the whole product locally (dev server, worker, starter, sandbox, demo)"
	@echo "make test       run every test (installs the pinned Temporal CLI and test dependencies)"
	@echo "make lint       go vet, staticcheck, workflowcheck"
	@echo "make dev-server run only the Temporal dev server on data/temporal.db (UI on :8233)"
	@echo "make fuzz       run every fuzz target for FUZZTIME (default 2m) each"
	@echo "make cluster    run it all on a PostgreSQL-backed Temporal cluster (4 services, UI, 2 workers, 2 starters)"
	@echo "make cluster-test  cluster smoke, chaos, bench and rolling upgrade (not part of make test)"

# The Temporal CLI is pinned in tools/go.mod and built only when missing
# (a cold build takes several minutes).
$(TEMPORAL): tools/go.mod tools/go.sum
	@mkdir -p $(BIN)
	@if [ ! -x $@ ]; then echo "building the pinned Temporal CLI (first time only, several minutes)"; \
	  cd tools && $(GO) build -o $@ github.com/temporalio/cli/cmd/temporal; fi
	@touch $@

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(BIN)/workflowcheck:
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/worker ./worker
	$(GO) build -o $(BIN)/starter ./starter
	$(GO) build -o $(BIN)/dev ./cmd/dev

# cmd/dev (development kit) orchestrates the demo; the product binaries are
# bin/worker and bin/starter.
run: build $(TEMPORAL)
	@mkdir -p $(DATA)
	$(BIN)/dev

dev-server: $(TEMPORAL)
	@mkdir -p $(DATA)
	$(TEMPORAL) server start-dev --ip 127.0.0.1 --port 7233 --ui-port 8233 \
	  --db-filename $(DATA)/temporal.db --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
	  $(foreach a,AutomationId AutomationVersion LeadId FranchiseId Trigger CurrentNode CurrentNodeType,--search-attribute $(a)=Keyword)

# Fragments Makefile.<what>.mk, named for what they do (system packages,
# npm packages, the test PostgreSQL, replay histories, bench and chaos...);
# a fragment appends the targets make test needs first to TEST_DEPS.
TEST_DEPS :=
-include $(sort $(wildcard Makefile.*.mk))

node-deps: querybuilder-node-deps

test: $(TEMPORAL) node-deps $(TEST_DEPS)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) fuzz-short

# Each fuzz target briefly in make test, at length in make fuzz.
FUZZ_TARGETS = $(shell grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sort -u)

# The fuzz engine sometimes ends a run with "context deadline exceeded" when
# -fuzztime runs out while it is still minimising a new interesting input;
# that is not a finding (no failing input is written), so such a run is
# repeated once. A real failure writes testdata/fuzz/... and fails.
fuzz-short:
	@set -e; out=$$(mktemp); trap 'rm -f $$out' EXIT; \
	for dir in $(FUZZ_TARGETS); do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | sed 's/func //'); do \
	    echo "fuzz $$dir $$f ($(SHORT_FUZZTIME))"; \
	    if ! $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(SHORT_FUZZTIME) -fuzzminimizetime 2s $$dir >$$out 2>&1; then \
	      cat $$out; \
	      if grep -q 'context deadline exceeded' $$out && ! grep -q 'Failing input written' $$out; then \
	        echo "fuzz $$dir $$f: the engine's deadline, not a finding; once more"; \
	        $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(SHORT_FUZZTIME) -fuzzminimizetime 2s $$dir; \
	      else exit 1; fi; \
	    else cat $$out; fi; \
	  done; done

fuzz:
	$(MAKE) fuzz-short SHORT_FUZZTIME=$(FUZZTIME)

lint: $(BIN)/staticcheck $(BIN)/workflowcheck
	$(GO) vet ./...
	$(BIN)/staticcheck ./...
	$(BIN)/workflowcheck ./workflows/...

clean:
	rm -rf $(BIN)/worker $(BIN)/starter $(ARTIFACTS)
