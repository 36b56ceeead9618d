package ddm

import (
	"encoding/json"
	"testing"
)

func ptr[T any](v T) *T { return &v }

// fixtureEnforcement is the enforcement payload most tests start from.
func fixtureEnforcement() EnforcementSpecific {
	return EnforcementSpecific{
		TargetOSVersion:     "26.1",
		TargetBuildVersion:  "25B78",
		TargetLocalDateTime: "2026-12-20T18:00:00",
		DetailsURL:          "https://it.example.com/updates?os=26.1&x=1",
	}
}

// fixtureSettings sets every key that is valid on macOS.
func fixtureSettings() SoftwareUpdateSettings {
	return SoftwareUpdateSettings{
		Notifications: ptr(false),
		Deferrals: &Deferrals{
			MajorPeriodInDays:  ptr(30),
			MinorPeriodInDays:  ptr(7),
			SystemPeriodInDays: ptr(3),
		},
		AutomaticActions: &AutomaticActions{
			Download:              "AlwaysOn",
			InstallOSUpdates:      "Allowed",
			InstallSecurityUpdate: "AlwaysOn",
		},
		RapidSecurityResponse:      &RapidSecurityResponse{Enable: ptr(true), EnableRollback: ptr(false)},
		AllowStandardUserOSUpdates: ptr(true),
	}
}

// fixtureSet is a device's declaration set with one of each kind served.
func fixtureSet(t testing.TB) []*Declaration {
	t.Helper()
	enf, err := NewEnforcement("tidemark.enforcement.macos-26.1", fixtureEnforcement())
	must(t, err)
	set, err := NewSettings("tidemark.settings.default", fixtureSettings())
	must(t, err)
	subs, err := NewStatusSubscriptions("tidemark.status-subscriptions", DefaultStatusItems())
	must(t, err)
	act, err := NewActivation("tidemark.activation", []string{
		"tidemark.enforcement.macos-26.1", "tidemark.settings.default", "tidemark.status-subscriptions",
	})
	must(t, err)
	org := &Declaration{
		Type:       "com.apple.management.organization-info",
		Identifier: "tidemark.org",
		Payload:    json.RawMessage(`{ "Name": "Example & Co", "Email": "it@example.com" }`),
	}
	asset := &Declaration{
		Type:       "com.apple.asset.data",
		Identifier: "tidemark.asset.readme",
		Payload:    json.RawMessage(`{"Reference":{"DataURL":"https://example.com/a","ContentType":"text/plain"}}`),
	}
	return []*Declaration{enf, set, subs, act, org, asset}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
