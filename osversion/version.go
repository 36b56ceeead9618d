// Package osversion models Apple OS versions ("14.4.1", "17.2 (a)") and build
// numbers ("23E224", "22E772610a") and orders them the way Apple releases
// them. It imports only the standard library so every package can use it.
package osversion

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxComponent bounds each numeric part so parsing never overflows and
// absurd input is refused rather than silently accepted.
const maxComponent = 1_000_000

// Version is a dotted OS version with an optional supplemental extra, the
// "(a)" of a Rapid Security Response / Background Security Improvement.
type Version struct {
	Major, Minor, Patch int
	Extra               string
}

// ParseError tells which input could not be parsed and why.
type ParseError struct {
	Input  string
	Kind   string // "version" or "build"
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid OS %s %q: %s", e.Kind, e.Input, e.Reason)
}

// ErrInvalid is matched by every ParseError via errors.Is.
var ErrInvalid = errors.New("invalid OS version or build")

func (e *ParseError) Is(target error) bool { return target == ErrInvalid }

// Parse reads "14", "14.4", "14.4.1", "17.2 (a)" or "13.3.1 (a)". A missing
// minor or patch is zero, so "14.4" equals "14.4.0".
func Parse(s string) (Version, error) {
	fail := func(reason string) (Version, error) {
		return Version{}, &ParseError{Input: s, Kind: "version", Reason: reason}
	}
	nums, extra, err := splitExtra(s)
	if err != nil {
		return fail(err.Error())
	}
	parts := strings.Split(nums, ".")
	if len(parts) > 3 {
		return fail("more than three numeric parts")
	}
	var v [3]int
	for i, p := range parts {
		n, err := parseComponent(p)
		if err != nil {
			return fail(err.Error())
		}
		v[i] = n
	}
	return Version{Major: v[0], Minor: v[1], Patch: v[2], Extra: extra}, nil
}

// splitExtra separates "17.2 (a)" into "17.2" and "(a)".
func splitExtra(s string) (nums, extra string, err error) {
	if s == "" || strings.TrimSpace(s) != s {
		return "", "", errors.New("empty or surrounded by spaces")
	}
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return s, "", nil
	}
	nums = strings.TrimRight(s[:i], " ")
	extra = s[i:]
	if !validExtra(extra) {
		return "", "", errors.New("extra must look like \"(a)\"")
	}
	return nums, extra, nil
}

// validExtra accepts "(" + lowercase letters or digits + ")".
func validExtra(e string) bool {
	if len(e) < 3 || e[0] != '(' || e[len(e)-1] != ')' {
		return false
	}
	for _, c := range e[1 : len(e)-1] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func parseComponent(p string) (int, error) {
	if p == "" {
		return 0, errors.New("empty numeric part")
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("part %q is not a non-negative number", p)
		}
	}
	if len(p) > 1 && p[0] == '0' {
		return 0, fmt.Errorf("part %q has a leading zero", p)
	}
	if len(p) > 7 {
		return 0, fmt.Errorf("part %q is too large", p)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n > maxComponent {
		return 0, fmt.Errorf("part %q is too large", p)
	}
	return n, nil
}

// MustParse is Parse for constants in code and tests; it panics on bad input.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Compare returns -1, 0 or 1. The extra is compared after the numbers:
// none < "(a)" < "(b)", because a supplemental release follows its base.
func (v Version) Compare(o Version) int {
	if c := cmpInt(v.Major, o.Major); c != 0 {
		return c
	}
	if c := cmpInt(v.Minor, o.Minor); c != 0 {
		return c
	}
	if c := cmpInt(v.Patch, o.Patch); c != 0 {
		return c
	}
	return cmpSuffix(v.Extra, o.Extra)
}

// Less reports whether v is older than o.
func (v Version) Less(o Version) bool { return v.Compare(o) < 0 }

// IsZero reports whether v is the zero Version (never the result of Parse
// except for "0").
func (v Version) IsZero() bool { return v == Version{} }

// Base drops the supplemental extra: the version a device returns to when a
// security response is rolled back.
func (v Version) Base() Version { return Version{Major: v.Major, Minor: v.Minor, Patch: v.Patch} }

// String gives the canonical form: minor always shown, patch only when
// non-zero, extra after a space ("14.4", "14.4.1", "17.2 (a)").
func (v Version) String() string {
	s := strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor)
	if v.Patch != 0 {
		s += "." + strconv.Itoa(v.Patch)
	}
	if v.Extra != "" {
		s += " " + v.Extra
	}
	return s
}

// MarshalText writes String(); the zero Version marshals as empty text so
// optional fields stay empty in JSON.
func (v Version) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return []byte{}, nil
	}
	return []byte(v.String()), nil
}

// UnmarshalText parses text; empty text gives the zero Version.
func (v *Version) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*v = Version{}
		return nil
	}
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpSuffix orders letter suffixes: empty first, then shorter, then
// alphabetical ("" < "a" < "b" < "aa").
func cmpSuffix(a, b string) int {
	if c := cmpInt(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}
