package mdm

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/micromdm/plist"
	"github.com/tidemark-mdm/tidemark/internal/golden"
)

// responseDecoders maps a fixture's name prefix to its decoder.
var responseDecoders = map[string]func([]byte) (any, error){
	"AvailableOSUpdates":   func(b []byte) (any, error) { return DecodeAvailableOSUpdates(b) },
	"DeviceInformation":    func(b []byte) (any, error) { return DecodeDeviceInformation(b) },
	"OSUpdateStatus":       func(b []byte) (any, error) { return DecodeOSUpdateStatus(b) },
	"ScheduleOSUpdate":     func(b []byte) (any, error) { return DecodeScheduleOSUpdate(b) },
	"ScheduleOSUpdateScan": func(b []byte) (any, error) { return DecodeScheduleOSUpdateScan(b) },
	"SecurityInfo":         func(b []byte) (any, error) { return DecodeSecurityInfo(b) },
}

// fixtures lists every response plist under testdata/mdm/responses and
// testdata/mdm/real, relative to testdata/.
func fixtures(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"mdm/responses", "mdm/real"} {
		root := golden.Path(t, dir)
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(golden.Path(t, ""), path)
			if !d.IsDir() && strings.HasSuffix(path, ".plist") && !strings.Contains(rel, "/encoded/") {
				out = append(out, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d fixtures found", len(out))
	}
	return out
}

func decoderFor(t *testing.T, rel string) func([]byte) (any, error) {
	t.Helper()
	prefix, _, _ := strings.Cut(filepath.Base(rel), "-")
	dec, ok := responseDecoders[prefix]
	if !ok {
		t.Fatalf("no decoder for %s", rel)
	}
	return dec
}

// TestResponseFixtures decodes every fixture, compares the decoded value
// (as JSON) and its re-encoded plist with golden files, and checks that the
// re-encoded plist decodes to the same value.
func TestResponseFixtures(t *testing.T) {
	for _, rel := range fixtures(t) {
		t.Run(rel, func(t *testing.T) {
			decode := decoderFor(t, rel)
			v, err := decode(golden.Read(t, golden.Path(t, rel)))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			name := strings.TrimSuffix(strings.ReplaceAll(strings.TrimPrefix(rel, "mdm/"), "/", "_"), ".plist")
			js, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, golden.Path(t, "mdm/responses/decoded/"+name+".json"), append(js, '\n'))
			enc, err := plist.MarshalIndent(v, "\t")
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			golden.Assert(t, golden.Path(t, "mdm/responses/encoded/"+name+".plist"), enc)
			back, err := decode(enc)
			if err != nil {
				t.Fatalf("re-decode: %v\n%s", err, enc)
			}
			if !reflect.DeepEqual(back, v) {
				t.Errorf("round trip changed the value:\n got %+v\nwant %+v", back, v)
			}
		})
	}
}

// TestDecodersRejectOtherResponses: each decoder refuses a response that
// names another request type, and a Status it cannot handle.
func TestDecodersRejectBadHeaders(t *testing.T) {
	wrongType := []byte(rawHead + `<dict><key>CommandUUID</key><string>a</string><key>RequestType</key><string>ProfileList</string>` +
		`<key>Status</key><string>Error</string></dict></plist>`)
	idle := []byte(rawHead + `<dict><key>Status</key><string>Idle</string><key>UDID</key><string>u</string></dict></plist>`)
	noUUID := []byte(rawHead + `<dict><key>Status</key><string>Error</string></dict></plist>`)
	noStatus := []byte(rawHead + `<dict><key>CommandUUID</key><string>a</string></dict></plist>`)
	ackEmpty := []byte(rawHead + `<dict><key>CommandUUID</key><string>a</string><key>Status</key><string>Acknowledged</string></dict></plist>`)
	notNow := []byte(rawHead + `<dict><key>CommandUUID</key><string>a</string><key>Status</key><string>NotNow</string></dict></plist>`)
	for name, decode := range responseDecoders {
		for label, raw := range map[string][]byte{"wrong RequestType": wrongType, "Idle": idle, "no CommandUUID": noUUID, "no Status": noStatus, "Acknowledged without result": ackEmpty} {
			if _, err := decode(raw); err == nil {
				t.Errorf("%s accepted %s", name, label)
			}
		}
		if _, err := decode(notNow); err != nil {
			t.Errorf("%s refused NotNow: %v", name, err)
		}
		if _, err := decode(bytes.Repeat([]byte("<dict>"), 100)); err == nil {
			t.Errorf("%s accepted garbage", name)
		}
	}
}

// addFuzzSeeds seeds a fuzz target with every fixture of one kind.
func addFuzzSeeds(f *testing.F, prefix string) {
	for _, rel := range fixtures(f) {
		if p, _, _ := strings.Cut(filepath.Base(rel), "-"); p == prefix {
			f.Add(golden.Read(f, golden.Path(f, rel)))
		}
	}
	f.Add([]byte(rawHead + `<dict><key>CommandUUID</key><string>a</string><key>Status</key><string>Acknowledged</string></dict></plist>`))
	f.Add([]byte("bplist00"))
}

// fuzzDecoder checks that a decoder never panics and that whatever it
// accepts marshals and decodes back to the same value.
func fuzzDecoder(f *testing.F, prefix string) {
	addFuzzSeeds(f, prefix)
	decode := responseDecoders[prefix]
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := decode(raw)
		if err != nil {
			return
		}
		enc, err := plist.MarshalIndent(v, "\t")
		if err != nil {
			t.Fatalf("accepted value does not marshal: %v", err)
		}
		if _, err := decode(enc); err != nil {
			t.Fatalf("re-encoded value refused: %v\n%s", err, enc)
		}
	})
}

func FuzzDecodeAvailableOSUpdates(f *testing.F)   { fuzzDecoder(f, "AvailableOSUpdates") }
func FuzzDecodeDeviceInformation(f *testing.F)    { fuzzDecoder(f, "DeviceInformation") }
func FuzzDecodeOSUpdateStatus(f *testing.F)       { fuzzDecoder(f, "OSUpdateStatus") }
func FuzzDecodeScheduleOSUpdate(f *testing.F)     { fuzzDecoder(f, "ScheduleOSUpdate") }
func FuzzDecodeScheduleOSUpdateScan(f *testing.F) { fuzzDecoder(f, "ScheduleOSUpdateScan") }
func FuzzDecodeSecurityInfo(f *testing.F)         { fuzzDecoder(f, "SecurityInfo") }
