package sandbox

import (
	"time"

	"github.com/conecrm/automation-runtime/internal/conecrm"
)

// Fixed ids of the seeded dealership data, so demo automations and tests can
// reference them. They are UUIDv7-shaped like ConeCRM's; the second group
// names the kind (0001 users, 0002 stages, 0003 contacts, 0004 accounts,
// 0005 leads, 0006 departments, 0007 franchises).
const (
	UserSam   = "0192f0a0-0001-7000-8000-000000000001" // Sam Ouellet, sales advisor
	UserPriya = "0192f0a0-0001-7000-8000-000000000002" // Priya Shah, BDC agent
	UserMarc  = "0192f0a0-0001-7000-8000-000000000003" // Marc Bouchard, sales manager

	StageNew         = "0192f0a0-0002-7000-8000-000000000001"
	StageContacted   = "0192f0a0-0002-7000-8000-000000000002"
	StageTestDrive   = "0192f0a0-0002-7000-8000-000000000003"
	StageNegotiation = "0192f0a0-0002-7000-8000-000000000004"
	StageSold        = "0192f0a0-0002-7000-8000-000000000005"
	StageLost        = "0192f0a0-0002-7000-8000-000000000006"

	ContactAlice = "0192f0a0-0003-7000-8000-000000000001"
	ContactBob   = "0192f0a0-0003-7000-8000-000000000002"
	ContactChloe = "0192f0a0-0003-7000-8000-000000000003"
	ContactDavid = "0192f0a0-0003-7000-8000-000000000004"

	AccountAlice = "0192f0a0-0004-7000-8000-000000000001"
	AccountBob   = "0192f0a0-0004-7000-8000-000000000002"
	AccountChloe = "0192f0a0-0004-7000-8000-000000000003"
	AccountDavid = "0192f0a0-0004-7000-8000-000000000004"

	// LeadAlice is new; LeadAliceTradeIn is Alice's second open lead.
	LeadAlice        = "0192f0a0-0005-7000-8000-000000000001"
	LeadAliceTradeIn = "0192f0a0-0005-7000-8000-000000000002"
	LeadBob          = "0192f0a0-0005-7000-8000-000000000003"
	LeadChloe        = "0192f0a0-0005-7000-8000-000000000004"
	// LeadDavid is sold and closed, so it is not among David's open leads.
	LeadDavid = "0192f0a0-0005-7000-8000-000000000005"

	DepartmentNewVehicles  = "0192f0a0-0006-7000-8000-000000000001"
	DepartmentUsedVehicles = "0192f0a0-0006-7000-8000-000000000002"
	DepartmentService      = "0192f0a0-0006-7000-8000-000000000003"
	DepartmentReengagement = "0192f0a0-0006-7000-8000-000000000004"

	FranchiseMontreal = "0192f0a0-0007-7000-8000-000000000001"
	FranchiseLaval    = "0192f0a0-0007-7000-8000-000000000002"
)

// User is a seeded user, a possible task assignee.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Contact is a seeded contact.
type Contact struct {
	ID           string `json:"id"`
	FirstName    string `json:"firstName"`
	LastName     string `json:"lastName"`
	PrimaryEmail string `json:"primaryEmail,omitempty"`
	MobilePhone  string `json:"mobilePhone,omitempty"`
	Language     string `json:"language,omitempty"`
}

// SeedStages are the pipeline stages, in pipeline order.
var SeedStages = []conecrm.Stage{
	{ID: StageNew, Name: "New"},
	{ID: StageContacted, Name: "Contacted"},
	{ID: StageTestDrive, Name: "Test drive"},
	{ID: StageNegotiation, Name: "Negotiation"},
	{ID: StageSold, Name: "Sold"},
	{ID: StageLost, Name: "Lost"},
}

// SeedUsers are the users tasks can be assigned to.
var SeedUsers = []User{
	{ID: UserSam, Name: "Sam Ouellet"},
	{ID: UserPriya, Name: "Priya Shah"},
	{ID: UserMarc, Name: "Marc Bouchard"},
}

// SeedContacts are the seeded contacts.
var SeedContacts = []Contact{
	{ID: ContactAlice, FirstName: "Alice", LastName: "Tremblay", PrimaryEmail: "alice.tremblay@example.com", MobilePhone: "+15145550101", Language: "fr-CA"},
	{ID: ContactBob, FirstName: "Bob", LastName: "Nguyen", PrimaryEmail: "bob.nguyen@example.com", MobilePhone: "+14385550102", Language: "en-CA"},
	{ID: ContactChloe, FirstName: "Chloé", LastName: "Gagnon", PrimaryEmail: "chloe.gagnon@example.com", MobilePhone: "+14505550103", Language: "fr-CA"},
	{ID: ContactDavid, FirstName: "David", LastName: "Roy", PrimaryEmail: "david.roy@example.com", MobilePhone: "+15145550104", Language: "en-CA"},
}

// SeedDepartments and SeedFranchises are the ids CopyLeadData may name.
var (
	SeedDepartments = []string{DepartmentNewVehicles, DepartmentUsedVehicles, DepartmentService, DepartmentReengagement}
	SeedFranchises  = []string{FranchiseMontreal, FranchiseLaval}
)

var seedTime = time.Date(2025, 3, 3, 14, 0, 0, 0, time.UTC)

func seedAccounts() []conecrm.Account {
	active := true
	meta := `{"source":"dms_import"}`
	return []conecrm.Account{
		{ID: AccountAlice, Name: "Alice Tremblay", PrimaryEmail: "alice.tremblay@example.com", City: "Montréal", Province: "QC", Country: "CA", Language: "fr-CA", IsActive: &active,
			ThirdPartyIDs: []conecrm.ThirdPartyID{{ID: "0192f0a0-0008-7000-8000-000000000001", DateCreated: &seedTime, SystemName: "DMS", ThirdPartyID: "CUST-100231", Metadata: &meta}}},
		{ID: AccountBob, Name: "Bob Nguyen", PrimaryEmail: "bob.nguyen@example.com", City: "Montréal", Province: "QC", Country: "CA", Language: "en-CA", IsActive: &active, ThirdPartyIDs: []conecrm.ThirdPartyID{}},
		{ID: AccountChloe, Name: "Chloé Gagnon", PrimaryEmail: "chloe.gagnon@example.com", City: "Laval", Province: "QC", Country: "CA", Language: "fr-CA", IsActive: &active, ThirdPartyIDs: []conecrm.ThirdPartyID{}},
		{ID: AccountDavid, Name: "David Roy", PrimaryEmail: "david.roy@example.com", City: "Longueuil", Province: "QC", Country: "CA", Language: "en-CA", IsActive: &active, ThirdPartyIDs: []conecrm.ThirdPartyID{}},
	}
}

func seedLeads() []conecrm.Lead {
	t := func(d int) *time.Time { v := seedTime.AddDate(0, 0, d); return &v }
	web, walkIn := "web", "walk_in"
	return []conecrm.Lead{
		{ID: LeadAlice, DateCreated: t(0), Subject: "2025 RAV4 Hybrid XLE — online inquiry", Category: &web, Direction: "inbound",
			Contact: conecrm.Ref(ContactAlice), Account: conecrm.Ref(AccountAlice), Franchise: conecrm.Ref(FranchiseMontreal), Department: conecrm.Ref(DepartmentNewVehicles), Stage: conecrm.Ref(StageNew)},
		{ID: LeadAliceTradeIn, DateCreated: t(1), Subject: "Trade-in appraisal — 2017 Corolla", Category: &web, Direction: "inbound",
			Contact: conecrm.Ref(ContactAlice), Account: conecrm.Ref(AccountAlice), Franchise: conecrm.Ref(FranchiseMontreal), Department: conecrm.Ref(DepartmentUsedVehicles), Stage: conecrm.Ref(StageContacted)},
		{ID: LeadBob, DateCreated: t(2), Subject: "Used F-150 XLT, financing", Category: &web, Direction: "inbound",
			Contact: conecrm.Ref(ContactBob), Account: conecrm.Ref(AccountBob), Franchise: conecrm.Ref(FranchiseMontreal), Department: conecrm.Ref(DepartmentUsedVehicles), Stage: conecrm.Ref(StageContacted)},
		{ID: LeadChloe, DateCreated: t(3), Subject: "Ioniq 5 test drive", Category: &walkIn, Direction: "inbound",
			Contact: conecrm.Ref(ContactChloe), Account: conecrm.Ref(AccountChloe), Franchise: conecrm.Ref(FranchiseLaval), Department: conecrm.Ref(DepartmentNewVehicles), Stage: conecrm.Ref(StageTestDrive)},
		{ID: LeadDavid, DateCreated: t(-30), Subject: "2024 Civic Sport", Category: &walkIn, Direction: "inbound", ConnectionClosedDate: t(-5),
			Contact: conecrm.Ref(ContactDavid), Account: conecrm.Ref(AccountDavid), Franchise: conecrm.Ref(FranchiseLaval), Department: conecrm.Ref(DepartmentNewVehicles), Stage: conecrm.Ref(StageSold)},
	}
}
