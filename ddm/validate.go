package ddm

import (
	"fmt"
	"strings"
)

// Validate checks a declaration against Apple's schema and the rules its
// documentation states in prose, and returns ValidationErrors listing every
// problem (nil when there is none). known reports whether a configuration
// identifier exists, for activation references; a nil known skips that check.
func Validate(d *Declaration, known func(identifier string) bool) error {
	var errs ValidationErrors
	if d == nil {
		errs.add("", "declaration is missing")
		return errs
	}
	if _, ok := kindOfType(d.Type); !ok {
		errs.add("Type", fmt.Sprintf("%s must look like com.apple.(configuration|activation|asset|management).<name>", quoteShort(d.Type)))
	}
	if p := identifierProblem(d.Identifier); p != "" {
		errs.add("Identifier", p)
	}
	validatePayload(d, known, &errs)
	return errs.err()
}

func validatePayload(d *Declaration, known func(string) bool, errs *ValidationErrors) {
	if len(d.Payload) == 0 {
		errs.add("Payload", "required key is missing")
		return
	}
	tree, err := decodeTree(d.Payload)
	if err != nil {
		errs.add("Payload", err.Error())
		return
	}
	if _, ok := tree.(map[string]any); !ok {
		errs.add("Payload", "must be an object, not "+jsonTypeName(tree))
		return
	}
	if s := payloadSpec(d.Type, known); s != nil {
		checkTree("Payload", tree, s, errs)
	}
}

// payloadSpec returns the schema of a typed declaration, or nil for types
// kept as generic JSON.
func payloadSpec(typ string, known func(string) bool) *spec {
	switch typ {
	case TypeEnforcementSpecific:
		return enforcementSpec
	case TypeSoftwareUpdateSettings:
		return settingsSpec
	case TypeStatusSubscriptions:
		return statusSubscriptionsSpec
	case TypeActivationSimple:
		return activationSpec(known)
	}
	return nil
}

var statusSubscriptionsSpec = &spec{kind: kDictionary, fields: map[string]*spec{
	"StatusItems": {kind: kArray, required: true, check: checkStatusItemList,
		elem: &spec{kind: kDictionary, fields: map[string]*spec{
			"Name": {kind: kString, required: true, check: checkStatusItemName},
		}}},
}}

func checkStatusItemList(path string, v any, errs *ValidationErrors) {
	items := v.([]any)
	if len(items) == 0 {
		errs.add(path, "must list at least one status item")
	}
	seen := map[string]bool{}
	for i, it := range items {
		obj, _ := it.(map[string]any)
		name, _ := obj["Name"].(string)
		if name != "" && seen[name] {
			errs.add(fmt.Sprintf("%s[%d].Name", path, i), "duplicate status item "+quoteShort(name))
		}
		seen[name] = true
	}
}

// checkStatusItemName accepts Apple's dotted lower-case item names.
func checkStatusItemName(path string, v any, errs *ValidationErrors) {
	name := v.(string)
	ok := name != "" && len(name) <= 128 && !strings.HasPrefix(name, ".") && !strings.HasSuffix(name, ".")
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			ok = false
		}
	}
	if !ok {
		errs.add(path, quoteShort(name)+" is not a status item name (dotted lower-case words, such as device.model.family)")
	}
}

func activationSpec(known func(string) bool) *spec {
	return &spec{kind: kDictionary, fields: map[string]*spec{
		"StandardConfigurations": {kind: kArray, required: true, elem: &spec{kind: kString},
			check: func(path string, v any, errs *ValidationErrors) { checkReferences(path, v.([]any), known, errs) }},
		"Predicate": {kind: kString},
	}}
}

// checkReferences: every configuration an activation names must be a valid
// identifier, listed once, and (with known) exist.
func checkReferences(path string, refs []any, known func(string) bool, errs *ValidationErrors) {
	if len(refs) == 0 {
		errs.add(path, "must list at least one configuration")
	}
	seen := map[string]bool{}
	for i, r := range refs {
		id, ok := r.(string)
		if !ok {
			continue // the type error is already reported
		}
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case identifierProblem(id) != "":
			errs.add(p, "configuration identifier "+identifierProblem(id))
		case seen[id]:
			errs.add(p, "configuration "+quoteShort(id)+" is listed twice")
		case known != nil && !known(id):
			errs.add(p, "configuration "+quoteShort(id)+" does not exist")
		}
		seen[id] = true
	}
}

// ValidateForPlatform reports payload keys that Apple's schema marks as not
// available on platform ("macOS", "iOS", "iPadOS", "tvOS", "visionOS",
// "watchOS"). The pinned schema describes key-level support for macOS and
// iOS (which covers iPadOS) only, so other platforms have no key rules.
func ValidateForPlatform(d *Declaration, platform string) error {
	rules, ok := platformRules(platform)
	if !ok {
		return fmt.Errorf("ddm: unknown platform %s", quoteShort(platform))
	}
	if d == nil || d.Type != TypeSoftwareUpdateSettings {
		return nil
	}
	tree, err := decodeTree(d.Payload)
	if err != nil {
		return ValidationErrors{{Path: "Payload", Message: err.Error()}}
	}
	var errs ValidationErrors
	for _, keyPath := range rules {
		if lookupPath(tree, keyPath) {
			errs.add("Payload."+keyPath, fmt.Sprintf("key %s is not supported on %s", keyPath, platform))
		}
	}
	return errs.err()
}

// Keys whose supportedOS says "introduced: n/a" for a platform in
// softwareupdate.settings.yaml.
var (
	notOnMacOS = []string{"RecommendedCadence", "Deferrals.CombinedPeriodInDays", "Beta"}
	notOnIOS   = []string{
		"Deferrals.MajorPeriodInDays", "Deferrals.MinorPeriodInDays", "Deferrals.SystemPeriodInDays",
		"AutomaticActions.InstallSecurityUpdate", "AllowStandardUserOSUpdates",
	}
)

func platformRules(platform string) ([]string, bool) {
	switch platform {
	case "macOS":
		return notOnMacOS, true
	case "iOS", "iPadOS":
		return notOnIOS, true
	case "tvOS", "visionOS", "watchOS":
		return nil, true
	}
	return nil, false
}

// lookupPath reports whether the dotted key path exists in tree.
func lookupPath(tree any, path string) bool {
	for _, k := range strings.Split(path, ".") {
		obj, ok := tree.(map[string]any)
		if !ok {
			return false
		}
		if tree, ok = obj[k]; !ok {
			return false
		}
	}
	return true
}
