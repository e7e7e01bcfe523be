// Package devkit is the root of the development kit: everything that tests,
// demos and measures the runtime without being part of it — the Temporal dev
// server and the one test stack, the ConeCRM sandbox and the CRM vendor
// fakes, the hand-written baselines, bench, chaos, the browser checks and the
// end-to-end tests. The product binaries (worker, starter) import none of it;
// worker/deps_test.go checks that.
package devkit
