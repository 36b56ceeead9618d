package enforcement

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	c := fixtureCatalog(t)
	edit := func(p Policy, change func(*Policy)) Policy { change(&p); return p }
	macPin := func(version, deadline string) Policy { return versionPolicy(version, deadline, "macOS") }
	good := macPin("26.2", "2026-12-15T17:00:00")
	tests := []struct {
		name     string
		policy   Policy
		existing []Policy
		catalog  *Catalog
		force    bool
		wantErr  string // substring; "" = valid
		wantWarn string // substring of some warning; "" = none expected
	}{
		{"latest policy", latestPolicy(), nil, c, false, "", ""},
		{"pinned version", good, nil, c, false, "", ""},
		{"bad id", edit(good, func(p *Policy) { p.ID = "bad id!" }), nil, c, false, `id "bad id!" must be`, ""},
		{"no name", edit(good, func(p *Policy) { p.Name = " " }), nil, c, false, "name is empty", ""},
		{"empty scope", edit(good, func(p *Policy) { p.Scope = Scope{Platforms: []string{"macOS"}} }), nil, c, false, "scope selects no devices", ""},
		{"unsupported platform", edit(good, func(p *Policy) { p.Scope.Platforms = []string{"tvOS"} }), nil, c, false, `platform "tvOS" is not supported`, ""},
		{"unknown kind", edit(good, func(p *Policy) { p.Target.Kind = "newest" }), nil, c, false, `target kind "newest"`, ""},
		{"bad version", macPin("26.x", "2026-12-15T17:00:00"), nil, c, false, "target os_version", ""},
		{"bad build", edit(good, func(p *Policy) { p.Target.BuildVersion = "abc" }), nil, c, false, "target build_version", ""},
		{"latest with a version", edit(latestPolicy(), func(p *Policy) { p.Target.OSVersion = "26.2" }), nil, c, false, "only go with kind version", ""},
		{"latest_major without major", edit(latestPolicy(), func(p *Policy) { p.Target.Kind = TargetLatestMajor }), nil, c, false, "needs major", ""},
		{"both deadlines", edit(good, func(p *Policy) { p.Deadline.DaysAfterPosting = ptr(3) }), nil, c, false, "not both", ""},
		{"no deadline", edit(good, func(p *Policy) { p.Deadline = Deadline{} }), nil, c, false, "set local_date_time or days_after_posting", ""},
		{"deadline with zone", macPin("26.2", "2026-12-15T17:00:00Z"), nil, c, false, "without a zone", ""},
		{"too many days", edit(latestPolicy(), func(p *Policy) { p.Deadline.DaysAfterPosting = ptr(400) }), nil, c, false, "between 0 and 365", ""},
		{"bad time of day", edit(latestPolicy(), func(p *Policy) { p.Deadline.TimeOfDay = "25:00" }), nil, c, false, "HH:MM", ""},
		{"time of day with fixed date", edit(good, func(p *Policy) { p.Deadline.TimeOfDay = "09:00" }), nil, c, false, "time_of_day only goes", ""},
		{"bad details url", edit(good, func(p *Policy) { p.DetailsURL = "ftp://example.com" }), nil, c, false, "details_url", ""},
		{"negative deferrals", edit(good, func(p *Policy) { p.UserDeferrals = -1 }), nil, c, false, "user_deferrals", ""},
		{"past deadline", macPin("26.2", "2026-11-01T17:00:00"), nil, c, false, "already passed everywhere", ""},
		{"past deadline forced", macPin("26.2", "2026-11-01T17:00:00"), nil, c, true, "", "forced: deadline"},
		{"version not in catalog", macPin("26.9", "2026-12-15T17:00:00"), nil, c, false, "26.9 is not in Apple's release catalog for macOS", ""},
		{"version not in catalog forced", macPin("26.9", "2026-12-15T17:00:00"), nil, c, true, "", "forced: 26.9"},
		{"expired", macPin("26.0.1", "2026-12-15T17:00:00"), nil, c, false, "Apple stopped signing macOS 26.0.1 on 2026-11-10", ""},
		{"expired forced", macPin("26.0.1", "2026-12-15T17:00:00"), nil, c, true, "", "Apple stopped signing"},
		{"superseded, unsigned before the deadline", macPin("26.1", "2026-12-15T17:00:00"), nil, c, false,
			"Apple stops signing macOS 26.1 on 2026-12-08, before the deadline 2026-12-15T17:00:00", ""},
		{"superseded, deadline in time", macPin("26.1", "2026-12-05T17:00:00"), nil, c, false, "", ""},
		{"superseded forced", macPin("26.1", "2026-12-15T17:00:00"), nil, c, true, "", "forced: Apple stops signing"},
		{"current release, rolling expiry", macPin("26.2", "2027-03-01T17:00:00"), nil, c, false, "", "usually extends"},
		{"release without device list", versionPolicy("26.2.1", "2026-12-15T17:00:00", "iOS"), nil, c, false, "", "without supported devices"},
		{"version on all platforms", versionPolicy("26.2", "2026-12-15T17:00:00"), nil, c, false, "", "consider setting scope platforms"},
		{"no such major", edit(latestPolicy(), func(p *Policy) {
			p.Target = Target{Kind: TargetLatestMajor, Major: 16}
			p.Scope.Platforms = []string{"macOS"}
		}),
			nil, c, false, "no installable 16.x release for macOS", ""},
		{"major exists on another platform", edit(latestPolicy(), func(p *Policy) { p.Target = Target{Kind: TargetLatestMajor, Major: 16} }),
			nil, c, false, "", ""},
		{"no catalog yet", latestPolicy(), nil, nil, false, "", "not loaded yet"},
		{"older than an overlapping policy", macPin("26.1", "2026-12-05T17:00:00"), []Policy{latestPolicy()}, c, false,
			`target 26.1 on macOS is older than 26.2, enforced by policy "latest-all"`, ""},
		{"older, force does not help", macPin("26.1", "2026-12-05T17:00:00"), []Policy{latestPolicy()}, c, true, "is older than", ""},
		{"older but existing paused", macPin("26.1", "2026-12-05T17:00:00"),
			[]Policy{edit(latestPolicy(), func(p *Policy) { p.Paused = true })}, c, false, "", ""},
		{"older but disjoint groups", edit(macPin("26.1", "2026-12-05T17:00:00"), func(p *Policy) { p.Scope = Scope{Groups: []string{"lab"}, Platforms: []string{"macOS"}} }),
			[]Policy{edit(latestPolicy(), func(p *Policy) { p.Scope = Scope{Groups: []string{"staff"}} })}, c, false, "", ""},
		{"older but other platform", versionPolicy("18.7.3", "2026-12-05T17:00:00", "iOS"),
			[]Policy{macPin("26.2", "2026-12-15T17:00:00")}, c, false, "", ""},
		{"editing itself", edit(latestPolicy(), func(p *Policy) {
			p.Target = Target{Kind: TargetVersion, OSVersion: "26.1"}
			p.Scope.Platforms = []string{"macOS"}
		}),
			[]Policy{latestPolicy()}, c, false, "", ""},
		{"newer than an overlapping pin", latestPolicy(), []Policy{macPin("15.7.3", "2026-12-15T17:00:00")}, c, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warnings, err := tt.policy.Validate(tt.catalog, tt.existing, fixtureNow, tt.force)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("no error, want %q (warnings %q)", tt.wantErr, warnings)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			joined := strings.Join(warnings, "\n")
			if tt.wantWarn != "" && !strings.Contains(joined, tt.wantWarn) {
				t.Errorf("warnings %q do not contain %q", warnings, tt.wantWarn)
			}
			if tt.wantWarn == "" && tt.wantErr == "" && len(warnings) > 0 {
				t.Errorf("unexpected warnings %q", warnings)
			}
		})
	}
}

func TestValidateCollectsEveryProblem(t *testing.T) {
	p := Policy{ID: "", Target: Target{Kind: "x"}}
	_, err := p.Validate(nil, nil, fixtureNow, false)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) < 4 {
		t.Fatalf("error %v: want a ValidationError listing id, name, scope, target and deadline", err)
	}
}

// The JSON names are the storage and API format.
func TestPolicyJSONNames(t *testing.T) {
	p := latestPolicy()
	p.Notifications = ptr(false)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"id":"latest-all"`, `"scope":{"all":true}`, `"target":{"kind":"latest"}`,
		`"deadline":{"days_after_posting":14,"time_of_day":"17:00"}`, `"notifications":false`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("%s missing from %s", key, b)
		}
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil || *back.Deadline.DaysAfterPosting != 14 {
		t.Errorf("round trip: %v %+v", err, back)
	}
}

func TestScopeOverlaps(t *testing.T) {
	tests := []struct {
		a, b Scope
		want bool
	}{
		{Scope{All: true}, Scope{Groups: []string{"x"}}, true},
		{Scope{All: true, Platforms: []string{"macOS"}}, Scope{All: true, Platforms: []string{"iOS"}}, false},
		{Scope{Groups: []string{"a", "b"}}, Scope{Groups: []string{"b"}}, true},
		{Scope{Groups: []string{"a"}}, Scope{Groups: []string{"b"}}, false},
		{Scope{DeviceIDs: []string{"d1"}}, Scope{DeviceIDs: []string{"d1"}, Platforms: []string{"iPadOS"}}, true},
	}
	for i, tt := range tests {
		if got := tt.a.Overlaps(tt.b); got != tt.want || tt.b.Overlaps(tt.a) != tt.want {
			t.Errorf("%d: overlaps = %v, want %v (both ways)", i, got, tt.want)
		}
	}
}
