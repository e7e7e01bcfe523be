package validate

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a document (an automation, a CRM
// integration, a node's fields), located precisely enough for a builder UI
// to highlight it. Every validation in the runtime reports this one type.
type Problem struct {
	NodeID string `json:"nodeId,omitempty"`
	EdgeID string `json:"edgeId,omitempty"`
	// Path is the JSON path of the offending value: relative to the
	// automation document ("nodes[2].data.title"), to the CRM integration
	// ("$.config.object_configs[0].key") or to the validated struct.
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

// Problems is every problem found; it is an error when non-empty.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
