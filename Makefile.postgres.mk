# The throwaway PostgreSQL 15 the store tests use: a cluster in data/pgtest on
# a free port, its URL in data/postgres-test.url, where the store tests find
# it (TEST_DATABASE_URL overrides). The server package comes from
# `make system-deps`.
.PHONY: postgres-test postgres-test-stop
TEST_DEPS += postgres-test

postgres-test: system-deps
	@internal/devkit/storetest/pg-test.sh start

postgres-test-stop:
	@internal/devkit/storetest/pg-test.sh stop
