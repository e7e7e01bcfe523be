// Package jsonmerge applies RFC 7396 JSON merge patches, as the starter's
// PATCH endpoints (automations, CRM integrations) accept them.
package jsonmerge

// Apply merges patch into target (both decoded JSON) and returns the
// result: objects merge key by key, null deletes a key, anything else
// replaces.
func Apply(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = Apply(t[k], v)
	}
	return t
}
