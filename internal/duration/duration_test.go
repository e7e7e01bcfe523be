package duration

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"90m", 90 * time.Minute, ""},
		{"2d", 48 * time.Hour, ""},
		{"1w", 7 * 24 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"1.5h", 90 * time.Minute, ""},
		{" 30s ", 30 * time.Second, ""},
		{"", 0, "empty"},
		{"0s", 0, "must be positive"},
		{"-1h", 0, "must be positive"},
		{"10", 0, "missing unit"},
		{"3y", 0, "unknown unit"},
		{"abc", 0, "expected a number"},
		{"10000d", 0, "longer than the maximum"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	cases := map[time.Duration]string{
		48 * time.Hour:   "2d",
		36 * time.Hour:   "1d12h",
		90 * time.Minute: "1h30m",
		time.Hour:        "1h",
		30 * time.Second: "30s",
		0:                "0s",
	}
	for d, want := range cases {
		if got := Format(d); got != want {
			t.Errorf("Format(%v) = %q, want %q", d, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"90m", "2d", "1d12h", "-1h", "1.5w", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err == nil && (d <= 0 || d > Max) {
			t.Fatalf("Parse(%q) = %v without error", s, d)
		}
	})
}
