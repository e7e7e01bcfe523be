package nodes

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"go.temporal.io/sdk/workflow"
)

var splitDef = Definition{
	Type:        "split",
	Category:    CategoryCondition,
	Description: "Sends each lead down one weighted branch, the same branch every time for the same lead (A/B tests).",
	OneTarget:   true,
	New:         func() Node { return &Split{} },
}

// Split sends a lead down one of its branches, chosen by a hash of the
// automation, the node and the lead rather than a random draw: the choice is
// the same on replay, on re-enrolment and in a dry run, and needs no
// history event.
type Split struct {
	Branches []SplitBranch `json:"branches" validate:"required,min=2,max=20,dive"`

	total uint64
}

// SplitBranch is one exit of a split and its share of the leads.
type SplitBranch struct {
	Handle string `json:"handle" validate:"required,max=64,ne=error"`
	// Weight is relative: 50/50, 1/1 and 3/3 split alike.
	Weight int `json:"weight" validate:"min=1,max=1000000"`
}

func (n *Split) Handles() []string {
	out := make([]string, len(n.Branches))
	for i, b := range n.Branches {
		out[i] = b.Handle
	}
	return out
}

func (n *Split) Compile(c *Compiler) {
	seen := map[string]bool{}
	n.total = 0
	for i, b := range n.Branches {
		if b.Handle != "" && seen[b.Handle] {
			c.Problemf(fmt.Sprintf("branches[%d].handle", i), "handle %q is used by two branches", b.Handle)
		}
		seen[b.Handle] = true
		if b.Weight > 0 {
			n.total += uint64(b.Weight)
		}
	}
}

// Bucket is where a lead falls in [0, total weight): the first 8 bytes of
// SHA-256 over the automation id, the node id and the lead id. The node id
// keeps two splits of one automation independent of each other.
func Bucket(automationID, nodeID, leadID string, total uint64) uint64 {
	sum := sha256.Sum256([]byte(automationID + "\x00" + nodeID + "\x00" + leadID))
	return binary.BigEndian.Uint64(sum[:8]) % total
}

// Pick returns the branch a lead takes and its bucket.
func (n *Split) Pick(automationID, nodeID, leadID string) (SplitBranch, uint64) {
	b := Bucket(automationID, nodeID, leadID, n.total)
	var acc uint64
	for _, br := range n.Branches {
		acc += uint64(br.Weight)
		if b < acc {
			return br, b
		}
	}
	return n.Branches[len(n.Branches)-1], b // unreachable: b < total
}

func (n *Split) Run(_ workflow.Context, x Exec) (Outcome, error) {
	if n.total == 0 {
		return Outcome{}, fmt.Errorf("the split has no branch with a weight")
	}
	v := x.Vars()
	automationID, _ := v.Automation["id"].(string)
	leadID, _ := v.Lead["id"].(string)
	if leadID == "" {
		return Outcome{}, Invalid(fmt.Errorf("the lead has no id to split on"))
	}
	br, bucket := n.Pick(automationID, x.NodeID(), leadID)
	return Outcome{
		Handle:  br.Handle,
		Output:  map[string]any{"branch": br.Handle, "bucket": bucket, "of": n.total},
		Summary: fmt.Sprintf("branch %s (bucket %d of %d)", br.Handle, bucket, n.total),
	}, nil
}
