package mdm

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/osversion"
)

// schemaRule is one platform of a command's payload.supportedOS block.
type schemaRule struct {
	introduced string
	supervised bool
}

// readSupportedOS pulls payload.supportedOS out of an Apple schema YAML
// file. The format is regular enough (fixed two-space indents) that a line
// scanner is exact for these files.
func readSupportedOS(t *testing.T, data []byte) map[string]schemaRule {
	t.Helper()
	out := map[string]schemaRule{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	inPayload, inSupported, platform := false, false, ""
	for sc.Scan() {
		line := sc.Text()
		indent := len(line) - len(strings.TrimLeft(line, " "))
		text := strings.TrimSpace(line)
		switch {
		case indent == 0:
			inPayload = text == "payload:"
			inSupported = false
		case inPayload && indent == 2:
			inSupported = text == "supportedOS:"
		case inSupported && indent == 4:
			platform = strings.TrimSuffix(text, ":")
			out[platform] = schemaRule{}
		case inSupported && indent == 6:
			r := out[platform]
			if v, ok := strings.CutPrefix(text, "introduced: "); ok {
				r.introduced = strings.Trim(v, "'")
			}
			if text == "supervised: true" {
				r.supervised = true
			}
			out[platform] = r
		}
	}
	if len(out) == 0 {
		t.Fatal("no supportedOS block found")
	}
	return out
}

// TestRulesMatchAppleSchema checks every typed command's platform rules
// against the copy of Apple's schema in testdata.
func TestRulesMatchAppleSchema(t *testing.T) {
	files := map[string]ruledPayload{
		"system.update.available.yaml": AvailableOSUpdates{},
		"system.update.schedule.yaml":  ScheduleOSUpdate{},
		"system.update.scan.yaml":      ScheduleOSUpdateScan{},
		"system.update.status.yaml":    OSUpdateStatus{},
		"information.device.yaml":      DeviceInformation{},
		"information.security.yaml":    SecurityInfo{},
		"declarativemanagement.yaml":   DeclarativeManagement{},
	}
	for file, p := range files {
		schema := readSupportedOS(t, golden.Read(t, golden.Path(t, "mdm/commands/apple-schema/"+file)))
		ours := p.rules().platforms
		for _, platform := range []string{PlatformIOS, PlatformMacOS, PlatformTVOS} {
			want, listed := schema[platform]
			got, have := ours[platform]
			if !listed || want.introduced == "n/a" {
				if have {
					t.Errorf("%s: we allow %s, the schema does not", file, platform)
				}
				continue
			}
			if !have {
				t.Errorf("%s: schema allows %s, we do not", file, platform)
				continue
			}
			if got.introduced != osversion.MustParse(want.introduced) || got.supervised != want.supervised {
				t.Errorf("%s %s: ours %v supervised=%v, schema %s supervised=%v",
					file, platform, got.introduced, got.supervised, want.introduced, want.supervised)
			}
		}
	}
}
