package ddmsvc_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/ddmsvc"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

func TestCapable(t *testing.T) {
	for _, tc := range []struct {
		platform, version string
		seen, want        bool
	}{
		{"macOS", "12.7.6", false, false},
		{"macOS", "13.0", false, true},
		{"macOS", "26.1", false, true},
		{"iOS", "15.8", false, false},
		{"iOS", "16.0", false, true},
		{"iPadOS", "17.2", false, true},
		{"tvOS", "16.1", false, true},
		{"", "26.0", false, false},
		{"macOS", "", false, false},
		{"macOS", "not-a-version", false, false},
		{"", "", true, true},
		{"macOS", "12.0", true, true},
	} {
		d := &storage.Device{Facts: storage.Facts{Platform: tc.platform, OSVersion: tc.version}}
		if got := ddmsvc.Capable(d, tc.seen); got != tc.want {
			t.Errorf("Capable(%s %s, seen=%v) = %v, want %v", tc.platform, tc.version, tc.seen, got, tc.want)
		}
	}
}

// TestRequestErrorStatuses: refusals carry their HTTP status, and an HTTP
// layer that only knows decode errors still answers a client error.
func TestRequestErrorStatuses(t *testing.T) {
	s, d := goldenStack(t)
	ctx := context.Background()
	for endpoint, want := range map[string]int{
		"../x":                               http.StatusBadRequest,
		"declaration/configuration/missing":  http.StatusNotFound,
		"declaration/management/nope.really": http.StatusNotFound,
	} {
		_, _, err := s.svc.HandleDeclarativeManagement(ctx, d.UDID(), endpoint, nil)
		var re *ddmsvc.RequestError
		var de *mdm.DecodeError
		if !errors.As(err, &re) || re.HTTPStatus() != want || !errors.As(err, &de) {
			t.Errorf("%s: %v, want a RequestError with status %d", endpoint, err, want)
		}
	}
	_, _, err := s.svc.HandleDeclarativeManagement(ctx, d.UDID(), "status", []byte(`{"StatusItems":`))
	var re *ddmsvc.RequestError
	if !errors.As(err, &re) || re.HTTPStatus() != http.StatusBadRequest || !errors.Is(err, ddm.ErrMalformed) {
		t.Errorf("malformed status: %v", err)
	}
	_, _, err = s.svc.HandleDeclarativeManagement(ctx, "UNKNOWN-DEVICE", "tokens", nil)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown device: %v", err)
	}
}

// TestStatusHookAndCheckinCapability: a device of unknown OS is DDM-capable
// once it speaks DDM, and every report reaches the hooks merged.
func TestStatusHookAndCheckinCapability(t *testing.T) {
	s := newStack(t)
	a := mac(1, "")
	a.Platform, a.ProductName = "", "VirtualMac2,1"
	d := s.enroll(t, a)
	var mu sync.Mutex
	var seen []*ddm.DeviceStatus
	s.svc.OnStatus(func(_ context.Context, id string, st *ddm.DeviceStatus) {
		mu.Lock()
		defer mu.Unlock()
		if id == d.UDID() {
			seen = append(seen, st)
		}
	})
	ctx := context.Background()
	view, err := s.svc.DeviceDeclarations(ctx, d.UDID())
	if err != nil || view.DDMCapable || len(view.Declarations) != 0 {
		t.Fatalf("before any DDM check-in: %+v %v", view, err)
	}
	for _, report := range []string{
		`{"StatusItems":{"device":{"operating-system":{"version":"26.0"}}},"FullReport":true}`,
		`{"StatusItems":{"softwareupdate":{"install-state":"waiting"}}}`,
	} {
		if _, err := d.Declarative(ctx, "status", []byte(report)); err != nil {
			t.Fatal(err)
		}
	}
	if view, err = s.svc.DeviceDeclarations(ctx, d.UDID()); err != nil || !view.DDMCapable || len(view.Declarations) != 2 {
		t.Fatalf("after a DDM check-in: %+v %v", view, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[1].OSVersion == nil || seen[1].OSVersion.Value != "26.0" || seen[1].InstallState.Value != "waiting" {
		t.Fatalf("hook saw %+v", seen)
	}
}

// TestAdminRefusals: validation lists every problem; platform-only keys
// are refused for devices of that platform, naming device and key.
func TestAdminRefusals(t *testing.T) {
	s, _ := goldenStack(t)
	ctx := context.Background()
	phone := s.enroll(t, iphone(2, "18.6"))
	bad := `{"Type":"com.apple.configuration.softwareupdate.settings","Identifier":"bad","Payload":{"Deferrals":{"MajorPeriodInDays":0},"Typo":true}}`
	_, _, err := s.svc.PutDeclaration(ctx, []byte(bad))
	var inv *ddmsvc.InvalidError
	if !errors.As(err, &inv) || len(inv.Problems) != 2 {
		t.Fatalf("invalid declaration: %v", err)
	}
	macOnly := `{"Type":"com.apple.configuration.softwareupdate.settings","Identifier":"mac-only","Payload":{"AllowStandardUserOSUpdates":true}}`
	if _, _, err := s.svc.PutDeclaration(ctx, []byte(macOnly)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.UpdateSet(ctx, "macs", []string{"mac-only"}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.svc.Assign(ctx, "macs", []string{phone.UDID()}, false)
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), phone.UDID()) || !strings.Contains(err.Error(), "AllowStandardUserOSUpdates") {
		t.Fatalf("macOS-only key to an iPhone: %v", err)
	}
	if _, err := s.svc.Assign(ctx, "macs", nil, false); !errors.As(err, &inv) {
		t.Fatalf("assign to nobody: %v", err)
	}
	err = s.svc.DeleteDeclaration(ctx, "tidemark.enforce.macos-26.1")
	var inUse *storage.InUseError
	if !errors.As(err, &inUse) || inUse.Sets[0] != "fleet" || inUse.Activations[0] != "tidemark.activation.fleet" {
		t.Fatalf("delete in use: %v", err)
	}
	if err := s.svc.DeleteDeclaration(ctx, "never-existed"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
}

// FuzzHandleDeclarativeManagement: whatever a device sends as Endpoint and
// Data, the answer is a document or a refusal, never a panic or a 500.
func FuzzHandleDeclarativeManagement(f *testing.F) {
	s, d := goldenStack(f)
	for _, seed := range []struct {
		endpoint string
		data     string
	}{
		{"tokens", ""}, {"declaration-items", ""}, {"declaration/configuration/tidemark.enforce.macos-26.1", ""},
		{"status", `{"StatusItems":{"softwareupdate":{"install-state":"waiting"}}}`}, {"status", `{"StatusItems":`},
		{"../x", ""}, {"%2e%2e/x", ""}, {"declaration/asset/%00", ""}, {"status", `{"Errors":[{"StatusItem":1}]}`},
	} {
		f.Add(seed.endpoint, []byte(seed.data))
	}
	f.Fuzz(func(t *testing.T, endpoint string, data []byte) {
		body, _, err := s.svc.HandleDeclarativeManagement(context.Background(), d.UDID(), endpoint, data)
		var re *ddmsvc.RequestError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("%q %q: unexpected error %v", endpoint, data, err)
		}
		if err != nil && body != nil {
			t.Fatalf("%q: a refusal with a body", endpoint)
		}
	})
}
