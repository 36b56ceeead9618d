package ddm

import (
	"encoding/json"
	"fmt"
	"math"
)

// itemDecoder decodes one status item into the report, or records why not.
type itemDecoder func(p *reportParser, path string, v any)

// itemDecoders maps dotted item names to decoders. The report nests items
// by name ("device" → "operating-system" → "version"), so the walk joins
// keys until it meets a name listed here.
var itemDecoders = map[string]itemDecoder{
	ItemInstallState:        decodeInstallState,
	ItemPendingVersion:      decodePendingVersion,
	ItemFailureReason:       decodeFailureReason,
	ItemInstallReason:       decodeInstallReason,
	ItemDeviceID:            stringItem(func(s *StatusItems) **string { return &s.DeviceID }),
	ItemBetaEnrollment:      stringItem(func(s *StatusItems) **string { return &s.BetaEnrollment }),
	ItemOSFamily:            stringItem(func(s *StatusItems) **string { return &s.OSFamily }),
	ItemOSVersion:           stringItem(func(s *StatusItems) **string { return &s.OSVersion }),
	ItemOSBuildVersion:      stringItem(func(s *StatusItems) **string { return &s.OSBuildVersion }),
	ItemOSMarketingName:     stringItem(func(s *StatusItems) **string { return &s.OSMarketingName }),
	ItemOSSupplementalBuild: stringItem(func(s *StatusItems) **string { return &s.OSSupplementalBuildVersion }),
	ItemOSSupplementalExtra: stringItem(func(s *StatusItems) **string { return &s.OSSupplementalExtraVersion }),
	ItemModelFamily:         stringItem(func(s *StatusItems) **string { return &s.ModelFamily }),
	ItemModelIdentifier:     stringItem(func(s *StatusItems) **string { return &s.ModelIdentifier }),
	ItemModelMarketingName:  stringItem(func(s *StatusItems) **string { return &s.ModelMarketingName }),
	ItemSerialNumber:        stringItem(func(s *StatusItems) **string { return &s.SerialNumber }),
	ItemUDID:                stringItem(func(s *StatusItems) **string { return &s.UDID }),
	ItemBatteryHealth:       decodeBatteryHealth,
	ItemDeclarations:        decodeDeclarations,
	ItemClientCapabilities:  decodeClientCapabilities,
}

// itemPrefixes holds every proper prefix of a known item name ("device",
// "device.operating-system", ...), where the walk descends.
var itemPrefixes = func() map[string]bool {
	m := map[string]bool{}
	for name := range itemDecoders {
		for i := range name {
			if name[i] == '.' {
				m[name[:i]] = true
			}
		}
	}
	return m
}()

func (p *reportParser) walkItems(prefix string, obj map[string]any) {
	for _, k := range sortedKeys(obj) {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		child, isObj := obj[k].(map[string]any)
		dec, known := itemDecoders[path]
		if !known && isObj && itemPrefixes[path] {
			p.walkItems(path, child)
			continue
		}
		if !p.countItem(path) {
			return
		}
		switch {
		case !known && itemPrefixes[path]:
			p.wrongType(path, "an object", obj[k])
		case !known:
			p.problem(path, "unknown status item; skipped")
		case p.seen[path]:
			// Possible only when a device mixes nested and dotted keys.
			p.problem(path, "status item reported twice; second skipped")
		default:
			p.seen[path] = true
			dec(p, path, obj[k])
		}
	}
}

// countItem enforces MaxStatusItems over known and unknown items alike.
func (p *reportParser) countItem(path string) bool {
	p.items++
	if p.items == MaxStatusItems+1 {
		p.problem(path, fmt.Sprintf("more than %d status items; rest skipped", MaxStatusItems))
	}
	return p.items <= MaxStatusItems
}

// str reads a string, refusing other types and over-long values.
func (p *reportParser) str(path string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		p.wrongType(path, "a string", v)
		return "", false
	}
	if len(s) > MaxStringLen {
		p.problem(path, fmt.Sprintf("longer than %d bytes; skipped", MaxStringLen))
		return "", false
	}
	return s, true
}

// obj reads an object.
func (p *reportParser) obj(path string, v any) (map[string]any, bool) {
	o, ok := v.(map[string]any)
	if !ok {
		p.wrongType(path, "an object", v)
	}
	return o, ok
}

// field reads a string key of o: required keys must be present, optional
// ones default to "".
func (p *reportParser) field(o map[string]any, path, key string, required bool) (string, bool) {
	v, present := o[key]
	if !present {
		if required {
			p.problem(path+"."+key, "required key is missing; skipped")
		}
		return "", !required
	}
	return p.str(path+"."+key, v)
}

func stringItem(target func(*StatusItems) **string) itemDecoder {
	return func(p *reportParser, path string, v any) {
		if s, ok := p.str(path, v); ok {
			*target(&p.r.Items) = &s
		}
	}
}

func decodeInstallState(p *reportParser, path string, v any) {
	s, ok := p.str(path, v)
	if !ok {
		return
	}
	st := InstallState(s)
	if !st.Known() {
		p.problem(path, fmt.Sprintf("undocumented install state %s; kept as sent", quoteShort(s)))
	}
	p.r.Items.InstallState = &st
}

func decodeBatteryHealth(p *reportParser, path string, v any) {
	s, ok := p.str(path, v)
	if !ok {
		return
	}
	switch s {
	case "non-genuine", "normal", "service-recommended", "unknown", "unsupported":
	default:
		p.problem(path, fmt.Sprintf("undocumented battery health %s; kept as sent", quoteShort(s)))
	}
	p.r.Items.BatteryHealth = &s
}

func decodePendingVersion(p *reportParser, path string, v any) {
	o, ok := p.obj(path, v)
	if !ok {
		return
	}
	var pv PendingVersion
	var ok1, ok2, ok3 bool
	pv.OSVersion, ok1 = p.field(o, path, "os-version", true)
	pv.BuildVersion, ok2 = p.field(o, path, "build-version", true)
	// iOS has been seen sending the key with the item's prefix.
	key := "target-local-date-time"
	if _, plain := o[key]; !plain {
		if _, prefixed := o["softwareupdate."+key]; prefixed {
			key = "softwareupdate." + key
		}
	}
	pv.TargetLocalDateTime, ok3 = p.field(o, path, key, false)
	if ok1 && ok2 && ok3 {
		p.r.Items.PendingVersion = &pv
	}
}

func decodeFailureReason(p *reportParser, path string, v any) {
	o, ok := p.obj(path, v)
	if !ok {
		return
	}
	var fr FailureReason
	c, ok := countValue(o["count"])
	if !ok {
		p.problem(path+".count", "must be a non-negative integer; skipped")
		return
	}
	fr.Count = c
	var ok1, ok2 bool
	fr.Reason, ok1 = p.field(o, path, "reason", false)
	fr.Timestamp, ok2 = p.field(o, path, "timestamp", false)
	if ok1 && ok2 {
		p.r.Items.FailureReason = &fr
	}
}

// installReasons is the rangelist of softwareupdate.install-reason.
var installReasons = []string{
	"system-settings", "install-tonight", "auto-update", "notification",
	"setup-assistant", "command-line", "mdm", "declaration",
}

func decodeInstallReason(p *reportParser, path string, v any) {
	o, ok := p.obj(path, v)
	if !ok {
		return
	}
	arr, ok := o["reason"].([]any)
	if !ok {
		p.wrongType(path+".reason", "an array", o["reason"])
		return
	}
	ir := InstallReason{Reasons: []string{}}
	for i, e := range arr {
		if i >= MaxReasons {
			p.problem(path+".reason", fmt.Sprintf("more than %d reasons; rest skipped", MaxReasons))
			break
		}
		itemPath := fmt.Sprintf("%s.reason[%d]", path, i)
		s, ok := p.str(itemPath, e)
		if !ok {
			return
		}
		if rank(installReasons, s) < 0 {
			p.problem(itemPath, fmt.Sprintf("undocumented install reason %s; kept as sent", quoteShort(s)))
		}
		ir.Reasons = append(ir.Reasons, s)
	}
	if ir.DeclarationID, ok = p.field(o, path, "declaration-id", false); ok {
		p.r.Items.InstallReason = &ir
	}
}

func decodeClientCapabilities(p *reportParser, path string, v any) {
	o, ok := p.obj(path, v)
	if !ok {
		return
	}
	raw, err := canonical(o)
	if err != nil || len(raw) > MaxRawLen {
		p.problem(path, "unreadable or larger than 64 KiB; skipped")
		return
	}
	p.r.Items.ClientCapabilities = raw
}

// countValue reads a non-negative count. A whole number written as a real
// ("2.0") is accepted: devices have sent integers as reals elsewhere.
func countValue(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1<<31 || f != math.Trunc(f) {
		return 0, false
	}
	return int(f), true
}
