package retryafter

import (
	"net/http"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{"empty", "", 0},
		{"blank", "   ", 0},
		{"seconds", "7", 7 * time.Second},
		{"seconds with spaces", " 30 ", 30 * time.Second},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"fraction is not a delay", "1.5", 0},
		{"garbage", "soon", 0},
		{"seconds capped", "86400", Max},
		{"huge seconds capped", "99999999999999999", Max},
		{"overflowing seconds capped", "999999999999999999999999", Max},
		{"overflowing negative", "-999999999999999999999999", 0},
		{"http date", date(90 * time.Second), 90 * time.Second},
		{"http date capped", date(time.Hour), Max},
		{"http date in the past", date(-time.Minute), 0},
		{"http date now", date(0), 0},
		{"rfc 850 date", now.Add(2 * time.Minute).Format(time.RFC850), 2 * time.Minute},
		{"asctime date", now.Add(3 * time.Minute).Format(time.ANSIC), 3 * time.Minute},
		{"rfc 3339 is not an http date", now.Add(time.Minute).Format(time.RFC3339), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.value, now); got != tt.want {
				t.Errorf("Parse(%q) = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

func TestFromHeader(t *testing.T) {
	h := http.Header{}
	if got := FromHeader(h, time.Now()); got != 0 {
		t.Errorf("no header: %v, want 0", got)
	}
	h.Set("Retry-After", "12")
	if got := FromHeader(h, time.Now()); got != 12*time.Second {
		t.Errorf("got %v, want 12s", got)
	}
}
