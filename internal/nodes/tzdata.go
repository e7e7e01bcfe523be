package nodes

// Time zones come from the binary, not from the host's zoneinfo: the same
// automation computes the same timers on every worker, whatever its image
// (plan and nodes load zones; worker and starter import both).
import _ "time/tzdata"
