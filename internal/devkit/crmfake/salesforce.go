package crmfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Salesforce fakes the REST API: SOQL query, sObject create, update by id,
// upsert by external id (201/200/300) and composite. Required fields per
// object (RequiredFields) fail with REQUIRED_FIELD_MISSING like a validation
// rule would. Requests are checked against the documented shapes.
type Salesforce struct {
	common
	// APIPath is the versioned prefix the fake serves.
	APIPath string
	// RequiredFields per sObject, checked on create.
	RequiredFields map[string][]string
	// DailyLimit is the org's API request allocation, stated in every
	// answer's Sforce-Limit-Info and enforced (403 REQUEST_LIMIT_EXCEEDED)
	// once spent; 0 states 15,000 and enforces nothing.
	DailyLimit int
	apiUsage   int
	records    map[string][]*sfRecord
	// tokens, once any is issued, are the only access tokens accepted,
	// until their expiry (zero: none); others answer 401
	// INVALID_SESSION_ID like an expired session.
	tokens map[string]time.Time
	// refreshTokens are accepted by the OAuth token endpoint.
	refreshTokens map[string]bool
	refreshes     int
	issuedTTL     time.Duration
	now           func() time.Time
}

// IssueToken makes tok a valid access token for ttl (0: no expiry). From
// the first issued token on, unknown tokens are refused.
func (s *Salesforce) IssueToken(tok string, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		s.tokens = map[string]time.Time{}
	}
	var exp time.Time
	if ttl > 0 {
		exp = s.clock().Add(ttl)
	}
	s.tokens[tok] = exp
}

// RevokeToken invalidates an access token (a password change, a revoked
// connected app).
func (s *Salesforce) RevokeToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, tok)
}

func (s *Salesforce) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// tokenOK reports whether a bearer token is accepted; s.mu is held.
func (s *Salesforce) tokenOK(auth string) bool {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		return false
	}
	if s.tokens == nil {
		return true
	}
	exp, ok := s.tokens[tok]
	return ok && (exp.IsZero() || s.clock().Before(exp))
}

type sfRecord struct {
	ID      string
	Fields  map[string]any
	Created time.Time
}

// NewSalesforce returns a fake serving /services/data/v60.0.
func NewSalesforce() *Salesforce {
	return &Salesforce{
		APIPath:        "/services/data/v60.0",
		RequiredFields: map[string][]string{"Account": {"Name"}, "Contact": {"LastName"}, "Opportunity": {"Name", "StageName", "CloseDate"}},
		records:        map[string][]*sfRecord{},
	}
}

// Seed stores a record directly and returns its id.
func (s *Salesforce) Seed(object string, fields map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.insert(object, fields).ID
}

// Records returns the fields of every record of an sObject.
func (s *Salesforce) Records(object string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, r := range s.records[object] {
		out = append(out, r.Fields)
	}
	return out
}

var sfPrefix = map[string]string{"Account": "001", "Contact": "003", "Opportunity": "006", "Lead": "00Q"}

func (s *Salesforce) insert(object string, fields map[string]any) *sfRecord {
	s.seq++
	p := sfPrefix[object]
	if p == "" {
		p = "a0X"
	}
	rec := &sfRecord{ID: fmt.Sprintf("%s%015d", p, s.seq), Fields: map[string]any{}, Created: time.Date(2025, 1, 1, 0, 0, s.seq, 0, time.UTC)}
	for k, v := range fields {
		rec.Fields[k] = v
	}
	rec.Fields["Id"] = rec.ID
	s.records[object] = append(s.records[object], rec)
	return rec
}

type sfResult struct {
	status int
	body   any
}

func sfErr(status int, code, msg string, fields ...string) sfResult {
	e := map[string]any{"message": msg, "errorCode": code}
	if len(fields) > 0 {
		e["fields"] = fields
	}
	return sfResult{status, []any{e}}
}

var (
	sfIdent   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	sfRefID   = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	sfVersion = regexp.MustCompile(`^/services/data/v\d+\.\d$`)
	sfRef     = regexp.MustCompile(`^@\{([A-Za-z0-9_]+)\.id\}$`)
)

func (s *Salesforce) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := readBody(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	s.log = append(s.log, r.Method+" "+r.URL.Path)
	if !sfVersion.MatchString(s.APIPath) {
		s.violate("fake misconfigured: APIPath %q", s.APIPath)
	}
	if r.URL.Path == sfTokenPath {
		s.token(w, r, body)
		return
	}
	alloc := s.DailyLimit
	if alloc == 0 {
		alloc = 15000
	}
	if s.DailyLimit > 0 && s.apiUsage >= s.DailyLimit {
		s.stats.RateLimited++
		w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.apiUsage, alloc))
		writeJSONStatus(w, http.StatusForbidden, []any{map[string]any{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}})
		return
	}
	s.apiUsage++
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.apiUsage, alloc))
	if !s.tokenOK(r.Header.Get("Authorization")) {
		writeJSONStatus(w, http.StatusUnauthorized, []any{map[string]any{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}})
		return
	}
	if len(body) > 0 && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.violate("%s %s: body without Content-Type application/json", r.Method, r.URL.Path)
	}
	if f := s.takeFault(r.URL.Path); f != nil {
		writeFault(w, f)
		return
	}
	res := s.handle(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, body, map[string]string{})
	if res.status == http.StatusNoContent {
		w.WriteHeader(res.status)
		return
	}
	writeJSONStatus(w, res.status, res.body)
}

// handle serves one request (top-level or composite sub-request).
func (s *Salesforce) handle(method, escapedPath, rawQuery string, body []byte, refs map[string]string) sfResult {
	rest, ok := strings.CutPrefix(escapedPath, s.APIPath+"/")
	if !ok {
		s.violate("%s %s: not under %s", method, escapedPath, s.APIPath)
		return sfErr(404, "NOT_FOUND", "The requested resource does not exist")
	}
	segs := strings.Split(rest, "/")
	for i := range segs {
		if u, err := url.PathUnescape(segs[i]); err == nil {
			segs[i] = u
		}
	}
	switch {
	case method == http.MethodGet && segs[0] == "query" && len(segs) == 1:
		q, _ := url.ParseQuery(rawQuery)
		return s.query(q.Get("q"))
	case method == http.MethodPost && segs[0] == "composite" && len(segs) == 1:
		return s.composite(body)
	case segs[0] == "sobjects" && len(segs) >= 2:
		obj := segs[1]
		if !sfIdent.MatchString(obj) {
			s.violate("%s %s: bad sObject name", method, escapedPath)
		}
		var fields map[string]any
		if method != http.MethodGet {
			if err := json.Unmarshal(body, &fields); err != nil {
				s.violate("%s %s: body is not a JSON object", method, escapedPath)
				return sfErr(400, "JSON_PARSER_ERROR", "Unexpected token")
			}
			for k, v := range fields {
				if !sfIdent.MatchString(k) {
					s.violate("%s %s: field %q is not an API name", method, escapedPath, k)
				}
				switch x := v.(type) {
				case map[string]any, []any:
					s.violate("%s %s: field %q is not a scalar", method, escapedPath, k)
				case string:
					if m := sfRef.FindStringSubmatch(x); m != nil {
						id, ok := refs[m[1]]
						if !ok {
							return sfErr(400, "PROCESSING_HALTED", "Invalid reference specified. No value for "+m[1]+".id found")
						}
						fields[k] = id
					}
				}
			}
		}
		switch {
		case method == http.MethodPost && len(segs) == 2:
			for _, req := range s.RequiredFields[obj] {
				if v, ok := fields[req]; !ok || v == "" || v == nil {
					return sfErr(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: ["+req+"]", req)
				}
			}
			rec := s.insert(obj, fields)
			s.stats.Creates++
			return sfResult{201, map[string]any{"id": rec.ID, "success": true, "errors": []any{}}}
		case method == http.MethodPatch && len(segs) == 3:
			for _, rec := range s.records[obj] {
				if rec.ID == segs[2] {
					for k, v := range fields {
						rec.Fields[k] = v
					}
					s.stats.Updates++
					return sfResult{status: 204}
				}
			}
			return sfErr(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+segs[2])
		case method == http.MethodPatch && len(segs) == 4:
			field, value := segs[2], segs[3]
			if _, dup := fields[field]; dup {
				return sfErr(400, "INVALID_FIELD", "The external ID field cannot be set in the body of an upsert", field)
			}
			var hits []*sfRecord
			for _, rec := range s.records[obj] {
				if fmt.Sprint(rec.Fields[field]) == value {
					hits = append(hits, rec)
				}
			}
			switch len(hits) {
			case 0:
				for _, req := range s.RequiredFields[obj] {
					if v, ok := fields[req]; !ok || v == "" || v == nil {
						return sfErr(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: ["+req+"]", req)
					}
				}
				fields[field] = value
				rec := s.insert(obj, fields)
				s.stats.Creates++
				return sfResult{201, map[string]any{"id": rec.ID, "success": true, "errors": []any{}, "created": true}}
			case 1:
				for k, v := range fields {
					hits[0].Fields[k] = v
				}
				s.stats.Updates++
				return sfResult{200, map[string]any{"id": hits[0].ID, "success": true, "errors": []any{}, "created": false}}
			}
			var urls []string
			for _, h := range hits {
				urls = append(urls, s.APIPath+"/sobjects/"+obj+"/"+h.ID)
			}
			return sfResult{300, urls}
		}
	}
	s.violate("%s %s: not a documented REST resource", method, escapedPath)
	return sfErr(404, "NOT_FOUND", "The requested resource does not exist")
}

func (s *Salesforce) composite(body []byte) sfResult {
	var req struct {
		AllOrNone        *bool `json:"allOrNone"`
		CompositeRequest []struct {
			Method      string          `json:"method"`
			URL         string          `json:"url"`
			ReferenceID string          `json:"referenceId"`
			Body        json.RawMessage `json:"body"`
		} `json:"compositeRequest"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		s.violate("composite: body is not JSON")
		return sfErr(400, "JSON_PARSER_ERROR", "Unexpected token")
	}
	if n := len(req.CompositeRequest); n == 0 || n > 25 {
		s.violate("composite: %d sub-requests (1 to 25 allowed)", n)
	}
	refs := map[string]string{}
	seen := map[string]bool{}
	var out []any
	for _, sub := range req.CompositeRequest {
		if !sfRefID.MatchString(sub.ReferenceID) || seen[sub.ReferenceID] {
			s.violate("composite: bad or duplicate referenceId %q", sub.ReferenceID)
		}
		seen[sub.ReferenceID] = true
		if !slices.Contains([]string{"GET", "POST", "PATCH", "DELETE", "PUT"}, sub.Method) {
			s.violate("composite: bad method %q", sub.Method)
		}
		path, query, _ := strings.Cut(sub.URL, "?")
		if !strings.HasPrefix(path, "/services/data/") {
			s.violate("composite: url %q is not a /services/data/ path", sub.URL)
		}
		res := s.handle(sub.Method, path, query, sub.Body, refs)
		if res.status < 300 {
			if m, ok := res.body.(map[string]any); ok {
				if id, ok := m["id"].(string); ok {
					refs[sub.ReferenceID] = id
				}
			} else if res.status == 204 {
				refs[sub.ReferenceID] = path[strings.LastIndex(path, "/")+1:]
			}
		}
		var b any = res.body
		if res.status == 204 {
			b = nil
		}
		out = append(out, map[string]any{"body": b, "httpHeaders": map[string]string{}, "httpStatusCode": res.status, "referenceId": sub.ReferenceID})
	}
	return sfResult{200, map[string]any{"compositeResponse": out}}
}

// query runs the SOQL subset the runtime emits:
// SELECT Id FROM X WHERE <conds> ORDER BY F ASC|DESC LIMIT n, where conds are
// F = 'v', F = null, F IN ('a','b') joined by AND/OR with parentheses.
func (s *Salesforce) query(q string) sfResult {
	re := regexp.MustCompile(`^SELECT Id FROM ([A-Za-z][A-Za-z0-9_]*) WHERE (.+) ORDER BY ([A-Za-z][A-Za-z0-9_]*) (ASC|DESC) LIMIT (\d+)$`)
	m := re.FindStringSubmatch(q)
	if m == nil {
		s.violate("query: unexpected SOQL shape: %q", q)
		return sfErr(400, "MALFORMED_QUERY", "unexpected token")
	}
	toks, err := lexSOQL(m[2])
	if err != nil {
		s.violate("query: %v in %q", err, q)
		return sfErr(400, "MALFORMED_QUERY", err.Error())
	}
	var hits []*sfRecord
	for _, rec := range s.records[m[1]] {
		p := &soqlParser{toks: toks, rec: rec}
		ok := p.expr()
		if p.err != nil || p.pos != len(toks) {
			s.violate("query: cannot parse WHERE of %q", q)
			return sfErr(400, "MALFORMED_QUERY", "unexpected token")
		}
		if ok {
			hits = append(hits, rec)
		}
	}
	sortField, desc := m[3], m[4] == "DESC"
	slices.SortStableFunc(hits, func(a, b *sfRecord) int {
		var c int
		if sortField == "CreatedDate" {
			c = a.Created.Compare(b.Created)
		} else {
			c = strings.Compare(fmt.Sprint(a.Fields[sortField]), fmt.Sprint(b.Fields[sortField]))
		}
		if desc {
			return -c
		}
		return c
	})
	var limit int
	fmt.Sscan(m[5], &limit)
	if len(hits) > limit {
		hits = hits[:limit]
	}
	recs := []any{}
	for _, h := range hits {
		recs = append(recs, map[string]any{"attributes": map[string]string{"type": m[1], "url": s.APIPath + "/sobjects/" + m[1] + "/" + h.ID}, "Id": h.ID})
	}
	return sfResult{200, map[string]any{"totalSize": len(recs), "done": true, "records": recs}}
}

type soqlTok struct {
	kind string // ident, str, num, op, (, ), ','
	val  string
}

func lexSOQL(s string) ([]soqlTok, error) {
	var toks []soqlTok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case c == '(' || c == ')' || c == ',' || c == '=':
			toks = append(toks, soqlTok{kind: string(c)})
			i++
		case c == '\'':
			var b strings.Builder
			i++
			for ; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					switch s[i] {
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					case 'b':
						b.WriteByte('\b')
					case 'f':
						b.WriteByte('\f')
					case '\\', '\'', '"':
						b.WriteByte(s[i])
					default:
						return nil, fmt.Errorf("invalid escape \\%c", s[i])
					}
					continue
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated string")
			}
			i++
			toks = append(toks, soqlTok{kind: "str", val: b.String()})
		default:
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] == '-' || (s[j] >= '0' && s[j] <= '9') || (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z')) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected %q", c)
			}
			toks = append(toks, soqlTok{kind: "ident", val: s[i:j]})
			i = j
		}
	}
	return toks, nil
}

type soqlParser struct {
	toks []soqlTok
	pos  int
	rec  *sfRecord
	err  error
}

func (p *soqlParser) peek() soqlTok {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return soqlTok{}
}

func (p *soqlParser) next() soqlTok { t := p.peek(); p.pos++; return t }

func (p *soqlParser) expr() bool { // or-expression
	v := p.and()
	for p.peek().kind == "ident" && p.peek().val == "OR" {
		p.next()
		r := p.and()
		v = v || r
	}
	return v
}

func (p *soqlParser) and() bool {
	v := p.term()
	for p.peek().kind == "ident" && p.peek().val == "AND" {
		p.next()
		r := p.term()
		v = v && r
	}
	return v
}

func (p *soqlParser) term() bool {
	t := p.next()
	if t.kind == "(" {
		v := p.expr()
		if p.next().kind != ")" {
			p.err = fmt.Errorf("missing )")
		}
		return v
	}
	if t.kind != "ident" || !sfIdent.MatchString(t.val) {
		p.err = fmt.Errorf("expected field")
		return false
	}
	have, present := p.rec.Fields[t.val]
	op := p.next()
	switch {
	case op.kind == "=":
		lit := p.next()
		switch {
		case lit.kind == "ident" && lit.val == "null":
			return !present || have == nil
		case lit.kind == "str":
			return present && fmt.Sprint(have) == lit.val
		case lit.kind == "ident":
			return present && fmt.Sprint(have) == lit.val
		}
	case op.kind == "ident" && op.val == "IN":
		if p.next().kind != "(" {
			p.err = fmt.Errorf("expected (")
			return false
		}
		match := false
		for {
			lit := p.next()
			if lit.kind != "str" {
				p.err = fmt.Errorf("expected string")
				return false
			}
			match = match || fmt.Sprint(have) == lit.val
			sep := p.next()
			if sep.kind == ")" {
				return match
			}
			if sep.kind != "," {
				p.err = fmt.Errorf("expected ,")
				return false
			}
		}
	}
	p.err = fmt.Errorf("unexpected operator")
	return false
}

// SalesforceLimit is the 403 Salesforce sends when the org's API request
// limit is spent.
func SalesforceLimit() Fault {
	return Fault{Status: http.StatusForbidden, Body: `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`}
}
