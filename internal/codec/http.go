package codec

import (
	"crypto/subtle"
	"net/http"
	"os"
	"strings"

	"go.temporal.io/sdk/converter"
)

// DefaultOrigin is the Web UI of `make run`'s dev server.
const DefaultOrigin = "http://127.0.0.1:8233"

// HandlerOptions configures the codec endpoint.
type HandlerOptions struct {
	// Token, when set, must arrive as "Authorization: Bearer <token>".
	Token string
	// Origins may call the endpoint from a browser (the Web UI); "*" allows
	// any.
	Origins []string
}

// HandlerOptionsFromEnv reads PAYLOAD_CODEC_TOKEN and PAYLOAD_CODEC_ORIGINS.
func HandlerOptionsFromEnv() HandlerOptions {
	o := HandlerOptions{Token: os.Getenv(EnvToken), Origins: []string{DefaultOrigin, "http://localhost:8233"}}
	if v := os.Getenv(EnvOrigins); v != "" {
		o.Origins = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				o.Origins = append(o.Origins, strings.TrimRight(s, "/"))
			}
		}
	}
	return o
}

// Handler is the codec endpoint the Web UI and `temporal --codec-endpoint`
// call: POST <prefix>/encode and <prefix>/decode (the SDK's handler), with
// CORS for the UI's origins and an optional bearer token. Mount it under a
// prefix with http.StripPrefix or as is; it matches on the path suffix.
func (c *Codec) Handler(opts HandlerOptions) http.Handler {
	inner := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && allowed(opts.Origins, origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Namespace")
			h.Set("Access-Control-Max-Age", "600")
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST, OPTIONS")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if opts.Token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(opts.Token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="payload-codec"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<20)
		inner.ServeHTTP(w, r)
	})
}

func allowed(origins []string, origin string) bool {
	for _, o := range origins {
		if o == "*" || o == origin {
			return true
		}
	}
	return false
}
