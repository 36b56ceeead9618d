package enrollment

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/storage"
)

func TestSettingsValidate(t *testing.T) {
	ok := minimum("macOS", "15.4")
	for _, tc := range []struct {
		name  string
		rules []MinOSRule
		want  string // substring of a problem; "" = valid
	}{
		{"valid", []MinOSRule{{Platform: "iOS", Mode: ModeLatest, Models: []string{"iPhone15,*"}}, ok,
			{Platform: "iPadOS", Mode: ModeLatestWithinMajor, Major: 18}}, ""},
		{"empty", nil, ""},
		{"platform", []MinOSRule{minimum("tvOS", "17.0")}, `platform "tvOS"`},
		{"mode", []MinOSRule{{Platform: "macOS", Mode: "newest"}}, `mode "newest"`},
		{"version", []MinOSRule{minimum("macOS", "fifteen")}, "min_version"},
		{"version with latest", []MinOSRule{{Platform: "macOS", Mode: ModeLatest, MinVersion: "15.4"}}, "only for mode"},
		{"major with minimum", []MinOSRule{{Platform: "macOS", Mode: ModeMinimum, MinVersion: "15.4", Major: 15}}, "major"},
		{"negative major", []MinOSRule{{Platform: "macOS", Mode: ModeLatestWithinMajor, Major: -1}}, "major"},
		{"match-all model", []MinOSRule{{Platform: "macOS", Mode: ModeLatest, Models: []string{"*"}}}, "matches everything"},
		{"blank device id", []MinOSRule{{Platform: "macOS", Mode: ModeLatest, DeviceIDs: []string{" J413AP"}}}, "blank-padded"},
		{"shadowed", []MinOSRule{ok, {Platform: "macOS", Mode: ModeLatest, DeviceIDs: []string{"J413AP"}}}, "can never apply"},
		{"too many", make([]MinOSRule, MaxRules+1), "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Settings{Rules: tc.rules}.Validate()
			var invalid *InvalidSettingsError
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.As(err, &invalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want a problem about %q, got %v", tc.want, err)
			}
		})
	}
}

func TestSettingsStoreRoundTrip(t *testing.T) {
	st := newFakeStore()
	ctx := context.Background()
	empty, err := LoadSettings(ctx, st)
	if err != nil || len(empty.Rules) != 0 || empty.Rules == nil || empty.AllowUnsigned {
		t.Fatalf("nothing stored: %+v %v", empty, err)
	}
	in := Settings{Rules: []MinOSRule{minimum("macOS", "15.4")}, AllowUnsigned: true}
	saved, err := SaveSettings(ctx, st, in, "ana", now)
	if err != nil || saved.UpdatedBy != "ana" || !saved.UpdatedAt.Equal(now) || saved.Version != settingsVersion {
		t.Fatalf("saved %+v %v", saved, err)
	}
	back, err := LoadSettings(ctx, st)
	if err != nil || !reflect.DeepEqual(back, saved) {
		t.Fatalf("read back %+v %v, want %+v", back, err, saved)
	}
	if _, err := SaveSettings(ctx, st, Settings{Rules: []MinOSRule{minimum("macOS", "x")}}, "ana", now); err == nil {
		t.Fatal("invalid settings saved")
	}
	if again, _ := LoadSettings(ctx, st); !reflect.DeepEqual(again, saved) {
		t.Fatal("a refused save changed the stored settings")
	}
	st.meta[MetaKey] = []byte("{not json")
	if _, err := LoadSettings(ctx, st); err == nil {
		t.Fatal("corrupt settings read as empty")
	}
	st.failMeta = &storage.DiskFullError{Err: errors.New("ENOSPC")}
	if _, err := SaveSettings(ctx, st, in, "ana", now); !errors.As(err, new(*storage.DiskFullError)) {
		t.Fatalf("store error lost: %v", err)
	}
}

func TestParseRuleSpec(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want MinOSRule
	}{
		{"macOS:15.4", MinOSRule{Platform: "macOS", Mode: ModeMinimum, MinVersion: "15.4"}},
		{"iOS:17.4 (a)", MinOSRule{Platform: "iOS", Mode: ModeMinimum, MinVersion: "17.4 (a)"}},
		{"iOS:latest", MinOSRule{Platform: "iOS", Mode: ModeLatest}},
		{"macOS:latest-in-major:major=15:name=mac fleet", MinOSRule{Platform: "macOS", Mode: ModeLatestWithinMajor, Major: 15, Name: "mac fleet"}},
		{"iPadOS:17.6:model=iPad13,*:model=iPad14,1:device-id=J517AP", MinOSRule{Platform: "iPadOS", Mode: ModeMinimum,
			MinVersion: "17.6", Models: []string{"iPad13,*", "iPad14,1"}, DeviceIDs: []string{"J517AP"}}},
	} {
		got, err := ParseRuleSpec(tc.spec)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %+v %v", tc.spec, got, err)
		}
	}
	for _, bad := range []string{"macOS", "tvOS:17.0", "macOS:soon", "macOS:15.4:colour=red", "macOS:15.4:major=15",
		"macOS:latest-in-major:major=x", "macOS:15.4:model="} {
		if r, err := ParseRuleSpec(bad); err == nil {
			t.Errorf("%q accepted as %+v", bad, r)
		}
	}
}

func TestRequirement(t *testing.T) {
	for rule, want := range map[*MinOSRule]string{
		{Mode: ModeMinimum, MinVersion: "15.4"}:  ">= 15.4",
		{Mode: ModeLatest}:                       "latest",
		{Mode: ModeLatestWithinMajor}:            "latest of its major",
		{Mode: ModeLatestWithinMajor, Major: 15}: "latest 15.x",
	} {
		if got := rule.Requirement(); got != want {
			t.Errorf("%+v: %q, want %q", rule, got, want)
		}
	}
}
