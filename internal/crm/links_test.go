package crm_test

import (
	"testing"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/crmtest"
)

func TestMemoryLinkStore(t *testing.T) {
	crmtest.LinkStoreContract(t, crm.NewMemoryStore())
}

func TestMemoryLeaseStore(t *testing.T) {
	crmtest.LeaseStoreContract(t, crm.NewMemoryStore())
}

func TestMemoryCredentialStore(t *testing.T) {
	crmtest.CredentialStoreContract(t, crm.NewMemoryStore())
}

func TestMemoryRateStore(t *testing.T) {
	crmtest.RateStoreContract(t, crm.NewMemoryStore())
}
