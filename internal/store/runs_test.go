package store_test

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/store"
)

func TestRunLog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		s := open(t)
		t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		runs := []store.RunOutcome{
			{WorkflowID: "w1", RunID: "r1", AutomationID: "a", LeadID: "L1", FranchiseID: "f1", Status: "completed", Path: []string{"t", "d"}, Nodes: map[string]string{"t": "passed", "d": "passed"}, StartedAt: t0, ClosedAt: t0.Add(time.Hour)},
			{WorkflowID: "w2", RunID: "r2", AutomationID: "a", LeadID: "L2", FranchiseID: "f1", Status: "failed", FailedNode: "call", Error: "boom", Path: []string{"t", "call"}, Nodes: map[string]string{"t": "passed", "call": "failed"}, Steps: json.RawMessage(`[{"nodeId":"t"}]`), StartedAt: t0, ClosedAt: t0.Add(2 * time.Hour)},
			{WorkflowID: "w3", RunID: "r3", AutomationID: "b", LeadID: "L1", FranchiseID: "f2", Status: "goal_reached", StartedAt: t0, ClosedAt: t0.Add(3 * time.Hour)},
		}
		for i, o := range runs {
			var n *store.Notification
			if o.Status == "failed" {
				n = &store.Notification{URL: "http://hook", Body: json.RawMessage(`{"runId":"r2"}`)}
			}
			ins, err := s.RecordRun(ctx, o, n)
			if err != nil || !ins {
				t.Fatalf("run %d: inserted %v, %v", i, ins, err)
			}
		}
		if ins, err := s.RecordRun(ctx, runs[1], &store.Notification{URL: "http://other"}); err != nil || ins {
			t.Fatalf("recording r2 again: inserted %v, %v; want false, nil", ins, err)
		}
		if ok, err := s.HasRun(ctx, "r2"); !ok || err != nil {
			t.Fatalf("HasRun r2 = %v, %v", ok, err)
		}
		if ok, err := s.HasRun(ctx, "nope"); ok || err != nil {
			t.Fatalf("HasRun nope = %v, %v", ok, err)
		}
		ids := func(os []store.RunOutcome) (out []string) {
			for _, o := range os {
				out = append(out, o.RunID)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    store.RunFilter
			want []string
		}{
			{"all newest first", store.RunFilter{}, []string{"r3", "r2", "r1"}},
			{"automation", store.RunFilter{AutomationID: "a"}, []string{"r2", "r1"}},
			{"lead", store.RunFilter{LeadID: "L1"}, []string{"r3", "r1"}},
			{"failed at node", store.RunFilter{Status: "failed", FailedNode: "call"}, []string{"r2"}},
			{"other node", store.RunFilter{FailedNode: "x"}, nil},
			{"since", store.RunFilter{ClosedSince: t0.Add(2 * time.Hour)}, []string{"r3", "r2"}},
			{"franchise", store.RunFilter{Franchises: []string{"f2"}}, []string{"r3"}},
			{"no franchise", store.RunFilter{Franchises: []string{}}, nil},
			{"limit", store.RunFilter{Limit: 1}, []string{"r3"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Runs(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if g := ids(got); !slices.Equal(g, tc.want) {
					t.Fatalf("runs %v, want %v", g, tc.want)
				}
			})
		}
		got, _ := s.Runs(ctx, store.RunFilter{LeadID: "L2"})
		if len(got) != 1 || got[0].Error != "boom" || len(got[0].Path) != 2 || got[0].Path[1] != "call" || string(got[0].Steps) != `[{"nodeId":"t"}]` || !got[0].ClosedAt.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("r2 read back as %+v", got)
		}

		counts, err := s.NodeCounts(ctx, "a", t0)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]store.NodeCount{"t": {Passed: 2}, "d": {Passed: 1}, "call": {Failed: 1}}; !maps.Equal(counts, want) {
			t.Fatalf("node counts %v, want %v", counts, want)
		}
		if counts, _ := s.NodeCounts(ctx, "a", t0.Add(90*time.Minute)); !maps.Equal(counts, map[string]store.NodeCount{"t": {Passed: 1}, "call": {Failed: 1}}) {
			t.Fatalf("node counts since 11:30: %v", counts)
		}
		if at, err := s.RunsAtNode(ctx, "a", "t", store.NodePassed, t0, 0); err != nil || !slices.Equal(ids(at), []string{"r2", "r1"}) {
			t.Fatalf("runs that passed t: %v, %v", ids(at), err)
		}
		if at, _ := s.RunsAtNode(ctx, "a", "call", store.NodeFailed, t0, 0); !slices.Equal(ids(at), []string{"r2"}) {
			t.Fatalf("runs that failed at call: %v", ids(at))
		}

		// The outbox: one notification, leased to one claimer at a time.
		claimed, err := s.ClaimNotifications(ctx, 10, time.Minute)
		if err != nil || len(claimed) != 1 || claimed[0].RunID != "r2" || claimed[0].URL != "http://hook" {
			t.Fatalf("claimed %+v, %v", claimed, err)
		}
		if again, _ := s.ClaimNotifications(ctx, 10, time.Minute); len(again) != 0 {
			t.Fatalf("a leased notification was claimed again: %+v", again)
		}
		if err := s.NotificationFailed(ctx, "r2", time.Now().Add(-time.Second), "503"); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.NotificationState(ctx, "r2"); st.Attempts != 1 || st.Delivered || st.LastError != "503" {
			t.Fatalf("after a failed attempt: %+v", st)
		}
		claimed, _ = s.ClaimNotifications(ctx, 10, time.Minute)
		if len(claimed) != 1 || claimed[0].Attempts != 1 {
			t.Fatalf("retry claimed %+v", claimed)
		}
		if err := s.NotificationDelivered(ctx, "r2"); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.NotificationState(ctx, "r2"); st.Attempts != 2 || !st.Delivered {
			t.Fatalf("after delivery: %+v", st)
		}
		if again, _ := s.ClaimNotifications(ctx, 10, 0); len(again) != 0 {
			t.Fatalf("a delivered notification was claimed: %+v", again)
		}
		if _, err := s.NotificationState(ctx, "r1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("r1 has no notification, got %v", err)
		}

		// Cursors only move forward.
		if v, err := s.Cursor(ctx, "c"); v != 0 || err != nil {
			t.Fatalf("unset cursor %d, %v", v, err)
		}
		for _, v := range []int64{5, 3, 9} {
			if err := s.SetCursor(ctx, "c", v); err != nil {
				t.Fatal(err)
			}
		}
		if v, _ := s.Cursor(ctx, "c"); v != 9 {
			t.Fatalf("cursor %d, want 9", v)
		}
	})
}
