# starter: the durable store's PostgreSQL for tests. Starts a throwaway
# PostgreSQL 15 cluster in data/pgtest on a free port (installing the Debian
# package when missing) and writes its URL to data/postgres-test.url, where
# the store tests find it (TEST_DATABASE_URL overrides).
.PHONY: postgres-test postgres-test-stop
TEST_DEPS += postgres-test

postgres-test:
	@internal/store/testdata/pg-test.sh start

postgres-test-stop:
	@internal/store/testdata/pg-test.sh stop
