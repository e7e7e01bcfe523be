# workflows/: recorded histories of the example automations, replayed by
# make test (TestReplayRecordedHistories) so a change that breaks running
# executions fails the build.
.PHONY: record-histories workflows-event-counts

# Re-run every example automation on a fresh dev server and overwrite
# workflows/testdata/histories/*.json. Do it when a change to the workflow is
# intended to be incompatible (and version running executions accordingly),
# or when an example automation is added.
record-histories: $(TEMPORAL)
	set -o pipefail; RECORD_HISTORIES=1 $(GO) test -count=1 -run '^TestExampleHistories$$' -v ./workflows/ | grep -v '^\s*$$' | grep -v 'INFO\|DEBUG'

# Print the history-event table: interpreter vs hand-written workflows, per
# example automation and per node type.
workflows-event-counts: $(TEMPORAL)
	set -o pipefail; $(GO) test -count=1 -run '^(TestExampleHistories|TestNodeTypeEventCounts)$$' -v ./workflows/ | grep -v 'INFO\|DEBUG' | grep -A40 'history events'
