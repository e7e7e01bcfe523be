package nodes

import (
	"fmt"
	"math"
	"testing"
)

func compiledSplit(t *testing.T, weights map[string]int, order ...string) *Split {
	t.Helper()
	s := &Split{}
	for _, h := range order {
		s.Branches = append(s.Branches, SplitBranch{Handle: h, Weight: weights[h]})
	}
	c := NewCompiler("ab", "nodes[1].data")
	s.Compile(c)
	if len(c.Problems()) > 0 {
		t.Fatalf("split does not compile: %v", c.Problems())
	}
	return s
}

// Over 10,000 synthetic lead ids each branch gets close to its share of the
// weights; the bound is loose (about 5 standard deviations at these sizes),
// since the point is the mapping onto weights, not the hash's quality.
func TestSplitDistributionFollowsWeights(t *testing.T) {
	const leads = 10000
	for _, tc := range []struct {
		name    string
		weights map[string]int
		order   []string
	}{
		{"50/50", map[string]int{"a": 50, "b": 50}, []string{"a", "b"}},
		{"90/10", map[string]int{"control": 90, "variant": 10}, []string{"control", "variant"}},
		{"1/2/7", map[string]int{"x": 1, "y": 2, "z": 7}, []string{"x", "y", "z"}},
		{"3 equal, weights 1", map[string]int{"a": 1, "b": 1, "c": 1}, []string{"a", "b", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := compiledSplit(t, tc.weights, tc.order...)
			got := map[string]int{}
			for i := 0; i < leads; i++ {
				br, _ := s.Pick("0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0a07", "ab", fmt.Sprintf("0192f0a0-0005-7000-8000-%012d", i))
				got[br.Handle]++
			}
			total := 0
			for _, w := range tc.weights {
				total += w
			}
			for _, h := range tc.order {
				p := float64(tc.weights[h]) / float64(total)
				want := p * leads
				tolerance := 5*math.Sqrt(leads*p*(1-p)) + 1
				if math.Abs(float64(got[h])-want) > tolerance {
					t.Errorf("branch %s: %d leads, want %.0f ± %.0f (counts %v)", h, got[h], want, tolerance, got)
				}
			}
		})
	}
}

// The same lead always takes the same branch; another automation or another
// split node of the same automation decides independently.
func TestSplitIsDeterministicPerLead(t *testing.T) {
	s := compiledSplit(t, map[string]int{"a": 50, "b": 50}, "a", "b")
	const auto = "0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0a07"
	differsByAutomation, differsByNode := 0, 0
	for i := 0; i < 200; i++ {
		lead := fmt.Sprintf("lead-%d", i)
		first, bucket := s.Pick(auto, "ab", lead)
		for j := 0; j < 3; j++ {
			again, b2 := s.Pick(auto, "ab", lead)
			if again != first || b2 != bucket {
				t.Fatalf("lead %s: branch %s then %s", lead, first.Handle, again.Handle)
			}
		}
		if other, _ := s.Pick("another-automation", "ab", lead); other != first {
			differsByAutomation++
		}
		if other, _ := s.Pick(auto, "second-split", lead); other != first {
			differsByNode++
		}
	}
	// Independent 50/50 choices differ about half the time.
	if differsByAutomation < 50 || differsByNode < 50 {
		t.Errorf("of 200 leads, %d change branch in another automation and %d in another split node; want about 100 each", differsByAutomation, differsByNode)
	}
}

// Buckets map onto cumulative weights: bucket b takes the first branch whose
// running total exceeds b.
func TestSplitCumulativeWeights(t *testing.T) {
	s := compiledSplit(t, map[string]int{"x": 1, "y": 2, "z": 7}, "x", "y", "z")
	want := []string{"x", "y", "y", "z", "z", "z", "z", "z", "z", "z"}
	seen := map[uint64]bool{}
	for i := 0; len(seen) < 10 && i < 10000; i++ {
		lead := fmt.Sprint(i)
		br, b := s.Pick("auto", "ab", lead)
		if b >= 10 {
			t.Fatalf("bucket %d out of [0, 10)", b)
		}
		if br.Handle != want[b] {
			t.Fatalf("bucket %d took %s, want %s", b, br.Handle, want[b])
		}
		if b != Bucket("auto", "ab", lead, 10) {
			t.Fatalf("Pick's bucket %d differs from Bucket's", b)
		}
		seen[b] = true
	}
	if len(seen) < 10 {
		t.Fatalf("only buckets %v seen", seen)
	}
}
