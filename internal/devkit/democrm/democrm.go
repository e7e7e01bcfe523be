// Package democrm prepares push_to_crm for the demos (`make run`, `make
// cluster`): a CRM secrets key kept in the data directory, fake Salesforce
// and HubSpot servers for automations/integrations/*.json and those
// integrations stored under their file names.
package democrm

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/internal/store/crmstore"
)

// Setup prepares push_to_crm: a CRM secrets key kept in dataDir (unless
// CRM_SECRETS_KEY is set; Setup sets it for the child processes), fake
// Salesforce and HubSpot servers on the ports named in dir/*.json, and those
// integrations stored under their file names ("demo-salesforce",
// "demo-hubspot"), which the example automations reference. addrs, when it
// names a provider, moves its fake to that address (host:port, port 0 for a
// free one) and stores the integration with that instance URL, so a second
// demo does not take `make run`'s ports. The returned function stops the
// fakes.
func Setup(ctx context.Context, st *store.Store, dataDir, dir string, addrs map[string]string, log zerolog.Logger) (func(), error) {
	if os.Getenv(crm.SecretsKeyEnv) == "" {
		key, err := LoadOrCreateKey(filepath.Join(dataDir, "crm-secrets.key"))
		if err != nil {
			return nil, err
		}
		os.Setenv(crm.SecretsKeyEnv, key)
	}
	cipher, err := crm.NewCipherFromEnv()
	if err != nil {
		return nil, err
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var servers []*http.Server
	stop := func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}
	crms := crmstore.New(st)
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".json")
		data, err := os.ReadFile(f)
		if err != nil {
			stop()
			return nil, err
		}
		var in crm.IntegrationInput
		if err := crm.DecodeInput(data, &in); err != nil {
			stop()
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := crm.Validate(&in.Integration); err != nil {
			stop()
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		host := ""
		if a, ok := addrs[in.Provider]; ok {
			host = a
		}
		srv, bound, err := fakeVendor(in.Provider, in.InstanceURL, host)
		if err != nil {
			stop()
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if srv != nil {
			servers = append(servers, srv)
			if host != "" {
				in.InstanceURL = "http://" + bound
			}
		}
		secret := ""
		if in.Secret != nil {
			secret = *in.Secret
		}
		sealed, err := cipher.Seal(id, crm.Credentials{Secret: secret, Auth: in.Auth})
		if err != nil {
			stop()
			return nil, err
		}
		in.Integration.HeronID = id
		raw, _ := json.Marshal(in.Integration)
		now := time.Now().UTC()
		rec := crm.Record{HeronID: id, Integration: raw, SealedCredentials: sealed, CreatedAt: now, UpdatedAt: now}
		if old, err := crms.Get(ctx, id); err == nil {
			rec.CreatedAt = old.CreatedAt
			err = crms.Update(ctx, rec)
			if err != nil {
				stop()
				return nil, err
			}
		} else if err := crms.Create(ctx, rec); err != nil {
			stop()
			return nil, err
		}
		log.Info().Str("integration", id).Str("provider", in.Provider).Str("url", in.InstanceURL).Msg("demo CRM integration ready (fake vendor server)")
	}
	return stop, nil
}

// fakeVendor serves a fake of the provider on host (when set) or the
// instance URL's address, and returns the address bound.
func fakeVendor(provider, instanceURL, host string) (*http.Server, string, error) {
	u, err := url.Parse(instanceURL)
	if err != nil || u.Host == "" {
		return nil, "", fmt.Errorf("instance_url %q is not a URL", instanceURL)
	}
	if host == "" {
		host = u.Host
	}
	var h http.Handler
	switch provider {
	case "salesforce":
		h = crmfake.NewSalesforce()
	case "hubspot":
		// Requests are validated against HubSpot's OpenAPI documents when
		// the shared specs are at hand.
		specs := ""
		if dir, ok := crmfake.SpecDir(); ok {
			specs = filepath.Join(dir, "hubspot")
		}
		hs, err := crmfake.NewHubSpot(specs)
		if err != nil {
			return nil, "", err
		}
		h = hs
	default:
		return nil, "", nil // a real endpoint: nothing to fake
	}
	l, err := net.Listen("tcp", host)
	if err != nil {
		return nil, "", fmt.Errorf("fake %s on %s: %w", provider, host, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return srv, l.Addr().String(), nil
}

// demoSecretsKey reads the demo key from path, creating it the first time,
// so credentials stored by one `make run` still open in the next.
// LoadOrCreateKey reads a base64 32-byte key from path, or makes one and
// writes it there (mode 0600) on the first start, so that a restart keeps
// reading what it encrypted before.
func LoadOrCreateKey(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return "", err
	}
	key := base64.StdEncoding.EncodeToString(k)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", err
	}
	return key, nil
}
