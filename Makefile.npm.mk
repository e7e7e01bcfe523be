# npm packages the tests use. internal/querybuilder: react-querybuilder's CEL export, the reference of the agreement test.
# (The test runs npm ci itself when node_modules is missing; this target does it ahead of time.)
QUERYBUILDER_RQB_DIR := internal/querybuilder/testdata/rqb

.PHONY: querybuilder-node-deps querybuilder-fuzz
querybuilder-node-deps:
	cd $(QUERYBUILDER_RQB_DIR) && npm ci --no-audit --no-fund

# Fuzz the translation for a while (FUZZTIME=5m make querybuilder-fuzz).
querybuilder-fuzz:
	go test -run '^$$' -fuzz FuzzToCEL -fuzztime $(or $(FUZZTIME),60s) ./internal/querybuilder
