package mdm

import (
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/osversion"
)

func decodeAvailable(t *testing.T, rel string) *AvailableOSUpdatesResponse {
	t.Helper()
	r, err := DecodeAvailableOSUpdates(golden.Read(t, golden.Path(t, rel)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAvailableOSUpdatesMacOS(t *testing.T) {
	r := decodeAvailable(t, "mdm/responses/AvailableOSUpdates-macOS-14.plist")
	if len(r.AvailableOSUpdates) != 3 || len(r.Warnings) != 0 {
		t.Fatalf("items %d, warnings %q", len(r.AvailableOSUpdates), r.Warnings)
	}
	minor, major, xprotect := r.AvailableOSUpdates[0], r.AvailableOSUpdates[1], r.AvailableOSUpdates[2]
	if minor.DownloadSize.Int64() != 1468006400 || !minor.RequiresBootstrapToken {
		t.Errorf("minor = %+v", minor)
	}
	if v, ok := minor.ParsedVersion(); !ok || v != osversion.MustParse("14.4.1") {
		t.Errorf("minor version = %v, %v", v, ok)
	}
	if !major.IsMajorOSUpdate || major.DeferredUntil.IsZero() {
		t.Errorf("major = %+v", major)
	}
	if !xprotect.IsConfigDataUpdate || xprotect.MetadataURL == "" {
		t.Errorf("config data item = %+v", xprotect)
	}
}

func TestAvailableOSUpdatesSecurityResponse(t *testing.T) {
	it := decodeAvailable(t, "mdm/responses/AvailableOSUpdates-macOS-13-rsr.plist").AvailableOSUpdates[0]
	v, ok := it.ParsedVersion()
	if !ok || v.String() != "13.3.1 (a)" || !it.IsSecurityResponse {
		t.Errorf("RSR version = %v, %v", v, ok)
	}
	if b, ok := it.ParsedBuild(); !ok || b.Suffix != "a" {
		t.Errorf("RSR build = %v, %v", b, ok)
	}
}

func TestAvailableOSUpdatesIOS(t *testing.T) {
	for _, rel := range []string{"mdm/responses/AvailableOSUpdates-iOS-17.plist", "mdm/real/commandment/AvailableOSUpdates-iOS-11.3.1.plist"} {
		it := decodeAvailable(t, rel).AvailableOSUpdates[0]
		if it.ProductName != "iOS" || it.DownloadSize <= 0 || it.InstallSize <= it.DownloadSize {
			t.Errorf("%s: %+v", rel, it)
		}
		if _, ok := it.ParsedBuild(); !ok {
			t.Errorf("%s: build %q", rel, it.Build)
		}
	}
}

func TestAvailableOSUpdatesRealMacQuirks(t *testing.T) {
	r := decodeAvailable(t, "mdm/real/commandment/AvailableOSUpdates-macOS-10.13.1.plist")
	if len(r.AvailableOSUpdates) != 7 {
		t.Fatalf("%d items", len(r.AvailableOSUpdates))
	}
	blank := r.AvailableOSUpdates[0]
	if blank.Version != " " {
		t.Errorf("blank Version not kept: %q", blank.Version)
	}
	if _, ok := blank.ParsedVersion(); ok {
		t.Error("\" \" parsed as a version")
	}
	if len(r.Warnings) != 2 || !strings.Contains(r.Warnings[0], "091-51303") {
		t.Errorf("warnings = %q", r.Warnings)
	}
	if apps := r.AvailableOSUpdates[6].AppIdentifiersToClose; len(apps) != 7 {
		t.Errorf("AppIdentifiersToClose = %q", apps)
	}
	// The 10.12.5 capture echoes RequestType at the top level.
	old := decodeAvailable(t, "mdm/real/commandment/AvailableOSUpdates-macOS-10.12.5.plist")
	if old.RequestType != RequestAvailableOSUpdates {
		t.Errorf("RequestType = %q", old.RequestType)
	}
}

func TestAvailableOSUpdatesRealError(t *testing.T) {
	r := decodeAvailable(t, "mdm/real/commandment/AvailableOSUpdates-iOS-11.3.1-error-no-update.plist")
	if r.Status != StatusError || len(r.ErrorChain) != 2 || r.ErrorChain[0].ErrorCode != 2213 || r.AvailableOSUpdates != nil {
		t.Errorf("error response = %+v", r)
	}
}

func availableWith(item string) []byte {
	return []byte(rawHead + `<dict><key>AvailableOSUpdates</key><array><dict>` + item +
		`</dict></array><key>CommandUUID</key><string>c</string><key>Status</key><string>Acknowledged</string></dict></plist>`)
}

func TestAvailableOSUpdatesRejects(t *testing.T) {
	for name, item := range map[string]string{
		"no ProductKey":          `<key>Version</key><string>14.4</string>`,
		"ProductKey as integer":  `<key>ProductKey</key><integer>1</integer>`,
		"DownloadSize as string": `<key>ProductKey</key><string>k</string><key>DownloadSize</key><string>12</string>`,
		"negative size":          `<key>ProductKey</key><string>k</string><key>InstallSize</key><integer>-1</integer>`,
		"absurd size":            `<key>ProductKey</key><string>k</string><key>DownloadSize</key><real>1e30</real>`,
		"IsCritical as string":   `<key>ProductKey</key><string>k</string><key>IsCritical</key><string>no</string>`,
		"DeferredUntil as text":  `<key>ProductKey</key><string>k</string><key>DeferredUntil</key><string>tomorrow</string>`,
	} {
		if _, err := DecodeAvailableOSUpdates(availableWith(item)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
