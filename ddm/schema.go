package ddm

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// valueKind is a JSON type as Apple's schema names it.
type valueKind int

const (
	kString valueKind = iota
	kInteger
	kBoolean
	kDictionary
	kArray
)

// spec describes one payload key, mirroring Apple's YAML: type, presence,
// rangelist, range, subkeys. check adds rules the YAML states in prose.
type spec struct {
	kind     valueKind
	required bool
	enum     []string
	rng      *[2]int // inclusive min, max
	fields   map[string]*spec
	elem     *spec
	check    func(path string, v any, errs *ValidationErrors)
}

// checkTree validates v against s and reports every problem under path.
// Unknown keys are reported at every level with their name.
func checkTree(path string, v any, s *spec, errs *ValidationErrors) {
	if !hasKind(v, s.kind) {
		errs.add(path, fmt.Sprintf("must be %s, not %s", kindName(s.kind), jsonTypeName(v)))
		return
	}
	switch s.kind {
	case kString:
		checkEnum(path, v.(string), s.enum, errs)
	case kInteger:
		checkInteger(path, v.(json.Number), s.rng, errs)
	case kDictionary:
		checkFields(path, v.(map[string]any), s.fields, errs)
	case kArray:
		for i, e := range v.([]any) {
			checkTree(fmt.Sprintf("%s[%d]", path, i), e, s.elem, errs)
		}
	}
	if s.check != nil {
		s.check(path, v, errs)
	}
}

func checkFields(path string, obj map[string]any, fields map[string]*spec, errs *ValidationErrors) {
	for _, name := range sortedKeys(fields) {
		fs := fields[name]
		v, present := obj[name]
		switch {
		case present:
			checkTree(path+"."+name, v, fs, errs)
		case fs.required:
			errs.add(path+"."+name, "required key is missing")
		}
	}
	for _, name := range sortedKeys(obj) {
		if _, known := fields[name]; !known {
			errs.add(path+"."+name, "unknown key "+strconv.Quote(name))
		}
	}
}

func checkEnum(path, s string, enum []string, errs *ValidationErrors) {
	if len(enum) == 0 {
		return
	}
	for _, e := range enum {
		if s == e {
			return
		}
	}
	errs.add(path, fmt.Sprintf("%s is not one of %s", quoteShort(s), strings.Join(enum, ", ")))
}

func checkInteger(path string, n json.Number, rng *[2]int, errs *ValidationErrors) {
	if !isIntegerLiteral(string(n)) {
		errs.add(path, "must be an integer, not "+quoteShort(string(n)))
		return
	}
	if rng == nil {
		return
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || i < int64(rng[0]) || i > int64(rng[1]) {
		errs.add(path, fmt.Sprintf("%s is outside the range %d-%d", n, rng[0], rng[1]))
	}
}

func hasKind(v any, k valueKind) bool {
	switch v.(type) {
	case string:
		return k == kString
	case json.Number:
		return k == kInteger
	case bool:
		return k == kBoolean
	case map[string]any:
		return k == kDictionary
	case []any:
		return k == kArray
	}
	return false
}

func kindName(k valueKind) string {
	return [...]string{"a string", "an integer", "a boolean", "an object", "an array"}[k]
}

// jsonTypeName names the JSON type of a tree value for error messages.
func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
