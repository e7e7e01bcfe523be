// Package catalog holds the automations the starter enrols leads into:
// every version compiled once, the latest version of each automation used
// for new enrolments.
package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/plan"
)

// Catalog is an in-memory catalog, safe for concurrent use. Standing alone
// it is filled with Put and LoadDir; over a store, Sync mirrors the store's
// current versions.
type Catalog struct {
	mu    sync.RWMutex
	byID  map[string]*plan.Plan
	seq   map[string]int
	order []string
	// touched is when Set or Remove last changed an id, so that a Sync
	// working from an older listing does not undo it.
	touched map[string]time.Time
	// routes indexes the current versions by (franchise, trigger); nil
	// after a change, rebuilt by the next Route.
	routes map[routeKey][]*plan.Plan
}

type routeKey struct{ franchise, trigger string }

// New returns an empty catalog.
func New() *Catalog {
	return &Catalog{byID: map[string]*plan.Plan{}, seq: map[string]int{}, touched: map[string]time.Time{}}
}

// Put compiles a document and makes it the current version of its automation.
func (c *Catalog) Put(doc *automation.Document) (*plan.Plan, error) {
	if doc.ID == "" {
		return nil, fmt.Errorf("automation %q has no id", doc.Name)
	}
	p, problems := plan.Compile(doc, nodes.Builtin())
	if len(problems) > 0 {
		return nil, problems
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byID[doc.ID]; !ok {
		c.order = append(c.order, doc.ID)
	}
	c.byID[doc.ID] = p
	c.routes = nil
	return p, nil
}

// Remove drops an automation: no new enrolments.
func (c *Catalog) Remove(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byID, id)
	delete(c.seq, id)
	c.touched[id] = time.Now()
	c.order = slices.DeleteFunc(c.order, func(s string) bool { return s == id })
	c.routes = nil
}

// Get returns the current version of an automation.
func (c *Catalog) Get(id string) (*plan.Plan, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.byID[id]
	return p, ok
}

// All returns the current version of every automation, in insertion order.
func (c *Catalog) All() []*plan.Plan {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*plan.Plan, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, c.byID[id])
	}
	return out
}

// Route returns the current versions of the franchise's automations whose
// trigger is the event type, in insertion order: what an event of that
// franchise and type can enrol a lead in. Automations without a franchise
// are in no route (they enrol nobody). The index is rebuilt after a change,
// so an event costs a map lookup however many automations there are.
func (c *Catalog) Route(franchise, trigger string) []*plan.Plan {
	if franchise == "" {
		return nil
	}
	c.mu.RLock()
	if c.routes != nil {
		out := c.routes[routeKey{franchise, trigger}]
		c.mu.RUnlock()
		return out
	}
	c.mu.RUnlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.routes == nil {
		routes := map[routeKey][]*plan.Plan{}
		for _, id := range c.order {
			p := c.byID[id]
			if p == nil || p.Doc.Franchise == nil || p.Doc.Franchise.ID == "" {
				continue
			}
			k := routeKey{p.Doc.Franchise.ID, p.Doc.AutomationTrigger}
			routes[k] = append(routes[k], p)
		}
		c.routes = routes
	}
	return c.routes[routeKey{franchise, trigger}]
}

// LoadDir adds every *.json document in dir, in name order. It returns the
// problems of every invalid file joined, after loading the valid ones.
func (c *Catalog) LoadDir(dir string) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return 0, err
	}
	sort.Strings(files)
	var errs []error
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		doc, err := automation.Parse(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		if _, err := c.Put(doc); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		n++
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("%d of %d automation files rejected: %v", len(errs), len(files), errs)
	}
	return n, nil
}
