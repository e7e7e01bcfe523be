package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/plan"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// Lister lists the current version of every automation.
type Lister interface {
	List(ctx context.Context) ([]store.Automation, error)
}

// Sync makes the catalog mirror the store: changed versions are compiled,
// deleted automations removed. Versions already compiled are kept.
func (c *Catalog) Sync(ctx context.Context, st Lister) error {
	started := time.Now()
	list, err := st.List(ctx)
	if err != nil {
		return err
	}
	keep := make(map[string]bool, len(list))
	var errs []error
	for _, a := range list {
		keep[a.ID] = true
		c.mu.RLock()
		same := c.seq[a.ID] == a.Seq && c.byID[a.ID] != nil
		newer := c.touched[a.ID].After(started)
		c.mu.RUnlock()
		if same || newer {
			continue
		}
		p, err := PlanOf(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("automation %s version %d: %w", a.ID, a.Seq, err))
			continue
		}
		c.set(a.Seq, p, started)
	}
	c.mu.Lock()
	for id := range c.byID {
		if !keep[id] && !c.touched[id].After(started) {
			delete(c.byID, id)
			delete(c.seq, id)
		}
	}
	c.routes = nil
	order := make([]string, 0, len(c.byID))
	for _, a := range list {
		if c.byID[a.ID] != nil {
			order = append(order, a.ID)
		}
	}
	for _, id := range c.order {
		if !keep[id] && c.byID[id] != nil {
			order = append(order, id) // added since the listing
		}
	}
	c.order = order
	c.mu.Unlock()
	return errors.Join(errs...)
}

// Set makes p, numbered seq, the current version of its automation unless
// a newer one is already there.
func (c *Catalog) Set(seq int, p *plan.Plan) { c.set(seq, p, time.Now()) }

// set is Set, unless the id was changed after since (by a newer Set or a
// Remove).
func (c *Catalog) set(seq int, p *plan.Plan, since time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := p.Doc.ID
	if cur, ok := c.seq[id]; ok && cur > seq {
		return
	}
	if c.touched[id].After(since) {
		return
	}
	c.touched[id] = time.Now()
	if _, ok := c.byID[id]; !ok {
		c.order = append(c.order, id)
	}
	c.byID[id] = p
	c.seq[id] = seq
	c.routes = nil
}

// Refresh syncs every interval until ctx ends, so that changes another
// starter wrote to a shared database reach this one.
func (c *Catalog) Refresh(ctx context.Context, st Lister, every time.Duration, log zerolog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Sync(ctx, st); err != nil && ctx.Err() == nil {
				log.Warn().Err(err).Msg("refreshing automations from the store")
			}
		}
	}
}

// PlanOf compiles a stored version, its activity applied to the document.
func PlanOf(a store.Automation) (*plan.Plan, error) {
	doc, err := automation.Parse(a.Document)
	if err != nil {
		return nil, err
	}
	doc.ID = a.ID
	active := a.Active
	doc.IsActive = &active
	p, problems := plan.Compile(doc, nodes.Builtin())
	if len(problems) > 0 {
		return nil, problems
	}
	return p, nil
}

// metadataKeys are record fields the server owns: ignored in requests,
// never stored in the document.
var metadataKeys = []string{"id", "isActive", "isDeleted", "dateCreated", "dateModified", "dateDeleted", "createdBy", "modifiedBy",
	"deletedBy", "dtype", "delayedAutomationsCount", "version", "versionNumber"}

var validID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)

// RequireFranchise rejects documents without a franchise: events enrol a
// lead only in its own franchise's automations, so one without a franchise
// would enrol nobody.
const RequireFranchise = true

// Prepared is a validated document ready to store.
type Prepared struct {
	Version store.NewVersion
	Plan    *plan.Plan
	// ActiveSet reports whether the body said isActive.
	ActiveSet bool
}

// Prepare validates a document body for automation id: it drops record
// metadata, compiles the document and returns every problem found.
// defaultActive applies when the body has no isActive.
func Prepare(body []byte, id string, defaultActive bool) (*Prepared, validate.Problems) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		if _, perr := automation.Parse(body); perr != nil {
			err = perr
		}
		return nil, validate.Problems{{Message: err.Error()}}
	}
	if fields == nil {
		return nil, validate.Problems{{Message: "the body must be a JSON object"}}
	}
	var problems validate.Problems
	if !validID.MatchString(id) {
		problems = append(problems, validate.Problem{Path: "id", Message: "must be 1 to 100 letters, digits or . _ : -"})
	}
	active := defaultActive
	p := &Prepared{}
	if raw, ok := fields["isActive"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &active); err != nil {
			problems = append(problems, validate.Problem{Path: "isActive", Message: "must be true or false"})
		}
		p.ActiveSet = true
	}
	for _, k := range metadataKeys {
		delete(fields, k)
	}
	idJSON, _ := json.Marshal(id)
	fields["id"] = idJSON
	docBytes, err := json.Marshal(fields)
	if err != nil {
		return nil, append(problems, validate.Problem{Message: err.Error()})
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, docBytes)
	docBytes = compact.Bytes()
	doc, err := automation.Parse(docBytes)
	if err != nil {
		return nil, append(problems, validate.Problem{Message: err.Error()})
	}
	doc.IsActive = &active
	if RequireFranchise && (doc.Franchise == nil || doc.Franchise.ID == "") {
		problems = append(problems, validate.Problem{Path: "franchise.id", Message: "is required: every automation belongs to one franchise and enrols only its leads"})
	}
	pl, cproblems := plan.Compile(doc, nodes.Builtin())
	problems = append(problems, cproblems...)
	if len(problems) > 0 {
		return nil, problems
	}
	sum := sha256.Sum256(docBytes)
	p.Plan = pl
	p.Version = store.NewVersion{ID: id, Version: pl.Version, ContentHash: hex.EncodeToString(sum[:16]), Document: docBytes, Active: active}
	if doc.Franchise != nil {
		p.Version.Franchise = doc.Franchise.ID
	}
	return p, nil
}

// ImportResult counts what ImportDir did, per outcome (store.Import*).
type ImportResult map[string]int

// ImportDir imports every *.json document of dir into the store,
// idempotently by id and content hash (see store.Import). Invalid files are
// reported together after the valid ones are imported.
func ImportDir(ctx context.Context, st *store.Store, dir string) (ImportResult, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	res := ImportResult{}
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		if head.ID == "" {
			errs = append(errs, fmt.Errorf("%s: the document has no id", f))
			continue
		}
		p, problems := Prepare(data, head.ID, true)
		if len(problems) > 0 {
			errs = append(errs, fmt.Errorf("%s: %w", f, problems))
			continue
		}
		sum := sha256.Sum256(data)
		p.Version.SourceHash = hex.EncodeToString(sum[:16])
		r, err := st.Import(ctx, p.Version)
		if err != nil {
			return res, fmt.Errorf("%s: %w", f, err)
		}
		res[r]++
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("%d of %d automation files rejected: %w", len(errs), len(files), errors.Join(errs...))
	}
	return res, nil
}

// ExportDir writes the current version of every automation to dir as
// <id>.json, isActive included; it returns the number written.
func ExportDir(ctx context.Context, st Lister, dir string) (int, error) {
	list, err := st.List(ctx)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	for _, a := range list {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(a.Document, &fields); err != nil {
			return 0, fmt.Errorf("automation %s: %w", a.ID, err)
		}
		fields["isActive"], _ = json.Marshal(a.Active)
		out, err := json.MarshalIndent(fields, "", "  ")
		if err != nil {
			return 0, err
		}
		name := a.ID
		if !validID.MatchString(name) || name[0] == '.' {
			sum := sha256.Sum256([]byte(a.ID))
			name = "h-" + hex.EncodeToString(sum[:8])
		}
		if err := os.WriteFile(filepath.Join(dir, name+".json"), append(out, '\n'), 0o644); err != nil {
			return 0, err
		}
	}
	return len(list), nil
}
