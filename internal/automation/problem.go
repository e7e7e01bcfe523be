package automation

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a document, located precisely enough for
// a builder UI to highlight it.
type Problem struct {
	NodeID  string `json:"nodeId,omitempty"`
	EdgeID  string `json:"edgeId,omitempty"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.NodeID != "":
		fmt.Fprintf(&b, "node %s: ", p.NodeID)
	case p.EdgeID != "":
		fmt.Fprintf(&b, "edge %s: ", p.EdgeID)
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every problem found in a document; it is an error when non-empty.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
