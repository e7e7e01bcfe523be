package crm_test

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
)

func TestLearnRateRules(t *testing.T) {
	cases := []struct {
		name, provider string
		header         http.Header
		want           []crm.RateRule
	}{
		{"hubspot interval and secondly", "hubspot", http.Header{
			"X-Hubspot-Ratelimit-Max": {"100"}, "X-Hubspot-Ratelimit-Interval-Milliseconds": {"10000"}, "X-Hubspot-Ratelimit-Secondly": {"10"},
		}, []crm.RateRule{{Name: "interval", Max: 100, Window: 11 * time.Second}, {Name: "secondly", Max: 10, Window: 1500 * time.Millisecond}}},
		{"hubspot without headers", "hubspot", http.Header{}, nil},
		{"hubspot garbage", "hubspot", http.Header{"X-Hubspot-Ratelimit-Max": {"lots"}, "X-Hubspot-Ratelimit-Interval-Milliseconds": {"10000"}}, nil},
		{"salesforce allocation", "salesforce", http.Header{"Sforce-Limit-Info": {"api-usage=18/100000"}}, []crm.RateRule{{Name: "24h", Max: 100000, Window: 24 * time.Hour}}},
		{"salesforce other limits listed", "salesforce", http.Header{"Sforce-Limit-Info": {"per-app-api-usage=2/250(appName=x), api-usage=3/15000"}}, []crm.RateRule{{Name: "24h", Max: 15000, Window: 24 * time.Hour}}},
		{"openint", "openint", http.Header{"Sforce-Limit-Info": {"api-usage=1/5"}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := crm.LearnRateRules(c.provider, c.header); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestMergeRulesAndClaims(t *testing.T) {
	base := crm.DefaultRateRules()["hubspot"]
	merged := crm.MergeRules(base, []crm.RateRule{{Name: "interval", Max: 100, Window: 11 * time.Second}, {Name: "secondly", Max: 10, Window: 1500 * time.Millisecond}})
	claims := crm.Claims(merged, "hubspot:crm_a", "/crm/v3/objects/contacts/search")
	want := []crm.RateClaim{
		{Bucket: "hubspot:crm_a:interval", Max: 100, Window: 11 * time.Second},
		{Bucket: "hubspot:crm_a:search", Max: 4, Window: 1500 * time.Millisecond},
		{Bucket: "hubspot:crm_a:secondly", Max: 10, Window: 1500 * time.Millisecond},
	}
	if !reflect.DeepEqual(claims, want) {
		t.Fatalf("search claims %+v", claims)
	}
	if c := crm.Claims(merged, "hubspot:crm_a", "/crm/v3/objects/contacts/batch/create"); len(c) != 2 {
		t.Fatalf("create claims %+v", c)
	}
}
