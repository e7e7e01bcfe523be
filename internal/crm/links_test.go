package crm_test

import (
	"testing"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/crmtest"
)

func TestMemoryLinkStore(t *testing.T) {
	crmtest.LinkStoreContract(t, crm.NewMemoryStore())
}
