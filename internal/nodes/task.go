package nodes

import (
	"fmt"
	"time"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/expr"
)

// taskData are the TaskRequest fields create_task and update_task both
// take, as the node's data holds them.
type taskData struct {
	Assignee, Title, Note, Start, End, DueIn, Contact, Account, Connection string
}

// taskTemplates are those fields compiled.
type taskTemplates struct {
	assignee, title, note, start, end, contact, account, connection *expr.Template
	dueIn                                                           time.Duration
}

// compileTask compiles the shared task fields; an end before the start is
// a problem when both are literal.
func compileTask(c *Compiler, d taskData) taskTemplates {
	t := taskTemplates{
		assignee:   uuidTemplate(c, "assignee", d.Assignee),
		title:      c.Template("title", d.Title),
		note:       c.Template("note", d.Note),
		start:      timeTemplate(c, "start", d.Start),
		end:        timeTemplate(c, "end", d.End),
		contact:    uuidTemplate(c, "contact", d.Contact),
		account:    uuidTemplate(c, "account", d.Account),
		connection: uuidTemplate(c, "connection", d.Connection),
	}
	if d.DueIn != "" {
		t.dueIn = c.Duration("dueIn", d.DueIn)
	}
	if !expr.IsTemplate(d.Start) && !expr.IsTemplate(d.End) && d.Start != "" && d.End != "" {
		start, err1 := time.Parse(time.RFC3339, d.Start)
		end, err2 := time.Parse(time.RFC3339, d.End)
		if err1 == nil && err2 == nil && end.Before(start) {
			c.Problemf("end", "the task ends (%s) before it starts (%s)", d.End, d.Start)
		}
	}
	return t
}

// taskRefs are the defaults of a task's references: create_task's are the
// lead's contact, account and the lead itself; update_task has none.
type taskRefs struct{ contact, account, connection string }

// render renders the shared fields into a TaskRequest of type typ. ref
// renders the assignee and the references (create_task takes them as
// rendered, update_task checks they are UUIDs); dueIn counts from the
// workflow clock in r's vars. Errors are collected in r.
func (t *taskTemplates) render(r *renderer, typ string, ref func(field string, tmpl *expr.Template, def string) string, defs taskRefs) conecrm.TaskRequest {
	req := conecrm.TaskRequest{
		Type:       typ,
		Assignee:   ref("assignee", t.assignee, ""),
		Title:      r.render("title", t.title),
		Note:       r.render("note", t.note),
		Contact:    ref("contact", t.contact, defs.contact),
		Account:    ref("account", t.account, defs.account),
		Connection: ref("connection", t.connection, defs.connection),
	}
	at := func(field string, tmpl *expr.Template) *time.Time {
		s := r.render(field, tmpl)
		if s == "" {
			return nil
		}
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			r.fail(field, fmt.Sprintf("%q is not an RFC 3339 timestamp", s))
			return nil
		}
		return &ts
	}
	req.Start, req.End = at("start", t.start), at("end", t.end)
	if t.dueIn > 0 {
		due := r.v.Now.Add(t.dueIn).UTC()
		req.Start = &due
	}
	return req
}
