# workflows/: recorded histories of the example automations, replayed by
# make test (TestReplayRecordedHistories) so a change that breaks running
# executions fails the build.
.PHONY: record-histories workflows-event-counts

# Run every example automation on a fresh dev server and save the history of
# each example that has none yet in workflows/testdata/histories/. Committed
# histories are never rewritten or deleted: they stand for runs in flight,
# and make test replays every one of them with the current code. A change
# that breaks one is versioned with workflow.GetVersion (README: "Changing
# the interpreter"); a new behaviour gets a new example, hence a new history.
record-histories: $(TEMPORAL)
	set -o pipefail; RECORD_HISTORIES=1 $(GO) test -count=1 -run '^TestExampleHistories$$' -v ./workflows/ | grep -v '^\s*$$' | grep -v 'INFO\|DEBUG'
	@git diff --quiet --diff-filter=DM -- workflows/testdata/histories || { echo "a committed history was changed or deleted: restore it (git checkout -- workflows/testdata/histories)"; exit 1; }
	@git status --short -- workflows/testdata/histories

# Print the history-event table: interpreter vs hand-written workflows, per
# example automation and per node type.
workflows-event-counts: $(TEMPORAL)
	set -o pipefail; $(GO) test -count=1 -run '^(TestExampleHistories|TestNodeTypeEventCounts)$$' -v ./workflows/ | grep -v 'INFO\|DEBUG' | grep -A40 'history events'
