package bench

import (
	"encoding/json"
	"testing"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/mdm"
)

// The bench's device messages are pinned byte for byte and must decode
// with the server's own decoders into what a device means.
func TestBenchMessagesGoldenAndDecodable(t *testing.T) {
	const udid, topic, uuid = "BENCH-run1-0000001", "com.apple.mgmt.External.bench", "BENCH-FAN-run1-0"
	checkins := map[string][]byte{
		"authenticate.plist": authenticateBody(udid, topic, 1),
		"tokenupdate.plist":  tokenUpdateBody(udid, topic),
		"ddm-tokens.plist":   declarativeBody(udid, "tokens", nil),
	}
	for name, body := range checkins {
		golden.Assert(t, golden.Path(t, "bench/"+name), body)
		c, err := mdm.DecodeCheckin(body)
		if err != nil || c.UDID != udid {
			t.Fatalf("%s: %v %+v", name, err, c)
		}
	}
	c, _ := mdm.DecodeCheckin(checkins["authenticate.plist"])
	if c.ProductName != "iPhone15,2" || c.OSVersion != "18.6" || c.Topic != topic {
		t.Errorf("authenticate facts: %+v", c)
	}
	reports := map[string][]byte{
		"idle.plist":           idleBody(udid),
		"deviceinfo-ack.plist": deviceInfoAck(udid, uuid, 0),
	}
	for name, body := range reports {
		golden.Assert(t, golden.Path(t, "bench/"+name), body)
		if _, err := mdm.DecodeReport(body); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	info, err := mdm.DecodeDeviceInformation(reports["deviceinfo-ack.plist"])
	if err != nil || info.QueryResponses.OSVersion != "15.7.1" || info.QueryResponses.SerialNumber != "C02BN0000000" {
		t.Fatalf("DeviceInformation answer: %+v %v", info, err)
	}
}

func TestStatusReportShape(t *testing.T) {
	d := &device{index: 0, udid: "BENCH-x-0000000"}
	var got map[string]any
	if err := json.Unmarshal(statusReport(d, manifestOf("decl.a")), &got); err != nil {
		t.Fatal(err)
	}
	items := got["StatusItems"].(map[string]any)
	decls := items["management"].(map[string]any)["declarations"].(map[string]any)
	acts := decls["activations"].([]any)
	if len(acts) != 1 || acts[0].(map[string]any)["identifier"] != "decl.a" || acts[0].(map[string]any)["valid"] != "valid" {
		t.Errorf("activations: %v", acts)
	}
	osItems := items["device"].(map[string]any)["operating-system"].(map[string]any)
	if osItems["family"] != "macOS" || osItems["version"] != "15.7.1" {
		t.Errorf("operating-system: %v", osItems)
	}
	if eps := declarationEndpoints(manifestOf("a b/c")); len(eps) != 1 || eps[0] != "declaration/activation/a%20b%2Fc" {
		t.Errorf("endpoints: %v", eps)
	}
}

func manifestOf(activation string) ddm.ManifestDeclarations {
	return ddm.ManifestDeclarations{Activations: []ddm.DeclarationItem{{Identifier: activation, ServerToken: "t1"}}}
}
