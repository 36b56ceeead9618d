package osversion

import (
	"errors"
	"strconv"
	"strings"
)

// Build is an Apple build number: major release number, train letter(s),
// build number, optional lowercase suffix. "23E224" is {23, "E", 224, ""};
// the Rapid Security Response build "22E772610a" is {22, "E", 772610, "a"};
// builds forked for new hardware just carry a larger number ("25A8364").
type Build struct {
	Major  int
	Train  string
	Number int
	Suffix string
}

// ParseBuild reads a build string such as "23E224" or "21E219a".
func ParseBuild(s string) (Build, error) {
	fail := func(reason string) (Build, error) {
		return Build{}, &ParseError{Input: s, Kind: "build", Reason: reason}
	}
	major, rest := leading(s, isDigit)
	train, rest := leading(rest, isUpper)
	number, suffix := leading(rest, isDigit)
	switch {
	case major == "":
		return fail("must start with the major release number")
	case train == "":
		return fail("missing train letter after the major number")
	case number == "":
		return fail("missing build number after the train letter")
	case strings.TrimLeftFunc(suffix, isLower) != "":
		return fail("suffix must be lowercase letters")
	case len(train) > 3 || len(suffix) > 3:
		return fail("train or suffix too long")
	}
	m, err := parseComponent(major)
	if err != nil {
		return fail(err.Error())
	}
	n, err := parseBuildNumber(number)
	if err != nil {
		return fail(err.Error())
	}
	return Build{Major: m, Train: train, Number: n, Suffix: suffix}, nil
}

// parseBuildNumber allows longer numbers than version parts: security
// response builds carry long ones (772610 in "22E772610a").
func parseBuildNumber(p string) (int, error) {
	if len(p) > 1 && p[0] == '0' {
		return 0, errors.New("build number has a leading zero")
	}
	if len(p) > 10 {
		return 0, errors.New("build number too long")
	}
	return strconv.Atoi(p)
}

// MustParseBuild is ParseBuild for constants in code and tests.
func MustParseBuild(s string) Build {
	b, err := ParseBuild(s)
	if err != nil {
		panic(err)
	}
	return b
}

func leading(s string, ok func(rune) bool) (head, tail string) {
	i := strings.IndexFunc(s, func(r rune) bool { return !ok(r) })
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }
func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }
func isLower(r rune) bool { return r >= 'a' && r <= 'z' }

// Compare orders builds as Apple issues them: major number, then train
// letter, then build number, then suffix (none first). The ordering is only
// meaningful within one platform; a fork's larger number sorts after the
// base build it branched from, which matches what it contains.
func (b Build) Compare(o Build) int {
	if c := cmpInt(b.Major, o.Major); c != 0 {
		return c
	}
	if c := cmpSuffix(b.Train, o.Train); c != 0 {
		return c
	}
	if c := cmpInt(b.Number, o.Number); c != 0 {
		return c
	}
	return cmpSuffix(b.Suffix, o.Suffix)
}

// Less reports whether b was issued before o.
func (b Build) Less(o Build) bool { return b.Compare(o) < 0 }

// IsZero reports whether b is the zero Build.
func (b Build) IsZero() bool { return b == Build{} }

// String gives the build as Apple writes it.
func (b Build) String() string {
	return strconv.Itoa(b.Major) + b.Train + strconv.Itoa(b.Number) + b.Suffix
}

// MarshalText writes String(); the zero Build marshals as empty text.
func (b Build) MarshalText() ([]byte, error) {
	if b.IsZero() {
		return []byte{}, nil
	}
	return []byte(b.String()), nil
}

// UnmarshalText parses text; empty text gives the zero Build.
func (b *Build) UnmarshalText(t []byte) error {
	if len(t) == 0 {
		*b = Build{}
		return nil
	}
	p, err := ParseBuild(string(t))
	if err != nil {
		return err
	}
	*b = p
	return nil
}
