// Package duration parses the durations automations are written with:
// Go durations plus days ("2d") and weeks ("1w"), combinable ("1d12h").
package duration

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Max is the longest duration an automation may ask for.
const Max = 5 * 365 * 24 * time.Hour

// Parse parses s. It rejects negative, zero and overlong durations.
func Parse(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("duration is empty")
	}
	var total time.Duration
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("duration %q must be positive", s)
	}
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("duration %q: expected a number at %q", s, rest)
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		var d time.Duration
		switch unit {
		case "d", "w":
			n, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("duration %q: %w", s, err)
			}
			day := 24 * time.Hour
			if unit == "w" {
				day *= 7
			}
			d = time.Duration(n * float64(day))
		case "":
			return 0, fmt.Errorf("duration %q: missing unit after %s (use s, m, h, d or w)", s, num)
		default:
			var err error
			d, err = time.ParseDuration(num + unit)
			if err != nil {
				return 0, fmt.Errorf("duration %q: unknown unit %q (use s, m, h, d or w)", s, unit)
			}
		}
		total += d
		if total > Max {
			return 0, fmt.Errorf("duration %q is longer than the maximum of %d days", s, int(Max/(24*time.Hour)))
		}
	}
	if total <= 0 {
		return 0, fmt.Errorf("duration %q must be positive", s)
	}
	return total, nil
}

// Format renders d compactly with days: 2d, 1d12h, 1h30m, 45s.
func Format(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.size; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.size
		}
	}
	if b.Len() == 0 {
		return d.String()
	}
	return b.String()
}
