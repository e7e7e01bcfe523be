# Benchmarks and the chaos harness (BENCHMARKS.md). Results go to the
# git-ignored artifacts/. The short chaos variant is a normal Go test
# (internal/devkit/chaos), so make test runs it without anything added here.
.PHONY: bench chaos
BENCH_FLAGS ?=
CHAOS_FLAGS ?=
BENCH_GO_PACKAGES := ./internal/plan ./internal/expr ./internal/querybuilder ./internal/crm/mapping

# Go micro-benchmarks (compile, condition evaluation, QueryBuilder
# translation, field mapping), then bin/bench: interpreter vs hand-written,
# in-memory vs SQLite, eager activities, waiting work, ingestion. The last
# output line is the JSON report. Bigger runs: make bench BENCH_FLAGS='-runs 1000 -rounds 5'.
bench: $(TEMPORAL)
	@mkdir -p $(ARTIFACTS)/bench
	$(GO) test -run '^$$' -bench . -benchmem $(BENCH_GO_PACKAGES) | tee $(ARTIFACTS)/bench/gobench.txt
	$(GO) build -o $(BIN)/bench ./cmd/bench
	$(BIN)/bench -out $(ARTIFACTS)/bench -gobench $(ARTIFACTS)/bench/gobench.txt $(BENCH_FLAGS)

# 300 enrolments under worker SIGKILLs, a dev server restart, 30% failing
# ConeCRM/CRM responses and triple deliveries; non-zero exit on any mismatch.
# With the sandbox ignoring Idempotency-Key (exactly once without the header):
# make chaos CHAOS_FLAGS='-ignore-idempotency -runs 100'
# (or SANDBOX_IGNORE_IDEMPOTENCY=1 make chaos).
chaos: $(TEMPORAL)
	@mkdir -p $(ARTIFACTS)/chaos
	$(GO) build -o $(BIN)/chaos ./cmd/chaos
	$(BIN)/chaos -out $(ARTIFACTS)/chaos $(CHAOS_FLAGS)
