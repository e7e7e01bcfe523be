# make cluster: the runtime on a real Temporal cluster on this machine
# (cmd/cluster, internal/devkit/cluster) — Temporal Server on PostgreSQL
# with frontend, history, matching and worker as separate processes, the Web
# UI server, 2 workers and 2 starters on one store. Ports are make run's plus
# 10000 (frontend 17233, Web UI 18233, starters 18080/18081...); state in
# data/cluster. make cluster-test runs the cluster tests (build tag cluster;
# make test does not run them).
.PHONY: cluster cluster-bins cluster-test cluster-chaos cluster-bench
CLUSTER_BINS := $(BIN)/temporal-server $(BIN)/temporal-sql-tool $(BIN)/temporal-ui-server
CLUSTER_FLAGS ?=
CLUSTER_TEST_FLAGS ?=

# Server, SQL tool and UI server at the versions the pinned CLI embeds
# (tools/go.mod), built once like bin/temporal.
$(BIN)/temporal-server: tools/go.mod tools/go.sum
	@mkdir -p $(BIN)
	cd tools && $(GO) build -o $@ go.temporal.io/server/cmd/server
$(BIN)/temporal-sql-tool: tools/go.mod tools/go.sum
	@mkdir -p $(BIN)
	cd tools && $(GO) build -o $@ go.temporal.io/server/cmd/tools/sql
$(BIN)/temporal-ui-server: tools/go.mod tools/go.sum
	@mkdir -p $(BIN)
	cd tools && $(GO) build -o $@ github.com/temporalio/ui-server/v2/cmd/server

cluster-bins: $(CLUSTER_BINS) build system-deps
	$(GO) build -o $(BIN)/cluster ./cmd/cluster

cluster: cluster-bins
	@mkdir -p $(DATA)
	$(BIN)/cluster $(CLUSTER_FLAGS)

cluster-test: cluster-bins
	$(GO) test -tags cluster -count=1 -timeout 30m -v ./internal/devkit/cluster/... $(CLUSTER_TEST_FLAGS)

# The chaos tests (TestClusterChaos, TestClusterChaosHarness): SIGKILLed
# workers, starter, history and matching, a frontend
# restart, triple deliveries; or interpreter vs hand-written on the cluster.
cluster-chaos:
	$(MAKE) cluster-test CLUSTER_TEST_FLAGS='-run TestClusterChaos'
cluster-bench:
	$(MAKE) cluster-test CLUSTER_TEST_FLAGS='-run TestClusterBench'
