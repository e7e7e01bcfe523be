package workerapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/metrics"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/internal/store/crmstore"
)

// WithCRMFromEnv gives the activities the CRM push service: integrations
// are read from the starter's store (DATABASE_URL, else DATA_DIR's SQLite
// file) and their credentials decrypted with CRM_SECRETS_KEY. Without that
// key push_to_crm nodes fail with a message saying so, and the rest of the
// runtime works. The returned function closes the store.
func WithCRMFromEnv(ctx context.Context, acts *activities.Activities, log zerolog.Logger) (func() error, error) {
	cipher, err := crm.NewCipherFromEnv()
	if errors.Is(err, crm.ErrNoSecretsKey) {
		log.Warn().Msg("CRM_SECRETS_KEY is not set: push_to_crm nodes will fail")
		return func() error { return nil }, nil
	}
	if err != nil {
		return nil, err
	}
	dataDir := os.Getenv("DATA_DIR")
	if dataDir == "" {
		dataDir = "data"
	}
	st, err := store.Open(ctx, store.Options{DatabaseURL: os.Getenv("DATABASE_URL"), DataDir: dataDir})
	if err != nil {
		return nil, fmt.Errorf("CRM integrations store: %w", err)
	}
	p, err := push.New(push.Options{
		Store:      crmstore.New(st),
		Cipher:     cipher,
		Writer:     push.ConeCRMWriter{Client: acts.ConeCRM},
		HTTPClient: metrics.Client("crm", &http.Client{Timeout: 30 * time.Second}),
		Logger:     log,
		Notifier:   crm.NotifierFromEnv(metrics.Client("crm_notify", &http.Client{Timeout: 10 * time.Second}), log),
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	acts.CRM = p
	return st.Close, nil
}
