package mdm

import (
	"errors"
	"strings"
	"testing"

	"github.com/micromdm/plist"
)

func decodeNumber(t *testing.T, value string) (Number, error) {
	t.Helper()
	var v struct {
		N Number `plist:"N"`
	}
	err := DecodePlist([]byte(rawHead+`<dict><key>N</key>`+value+`</dict></plist>`), &v)
	return v.N, err
}

func TestNumberDecode(t *testing.T) {
	good := map[string]float64{
		`<real>0.82</real>`:                       0.82,
		`<real>-1</real>`:                         -1,
		`<real>1.4680064e+09</real>`:              1468006400,
		`<integer>225236247</integer>`:            225236247,
		`<integer>-3</integer>`:                   -3,
		`<integer>18446744073709551615</integer>`: 18446744073709551615,
	}
	for in, want := range good {
		n, err := decodeNumber(t, in)
		if err != nil || n.Float64() != want {
			t.Errorf("%s = %v, %v; want %v", in, n, err, want)
		}
	}
	for _, in := range []string{`<string>5</string>`, `<true/>`, `<real>nan</real>`, `<real>inf</real>`, `<real>-inf</real>`, `<array/>`, `<date>2024-01-01T00:00:00Z</date>`} {
		if n, err := decodeNumber(t, in); err == nil {
			t.Errorf("%s accepted as %v", in, n)
		}
	}
}

func TestNumberMarshal(t *testing.T) {
	out, err := plist.Marshal(struct {
		A Number `plist:"A"`
		B Number `plist:"B"`
	}{0.35, 128})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "<real>0.35</real>") || !strings.Contains(string(out), "<real>128</real>") {
		t.Errorf("marshal = %s", out)
	}
	var nan Number
	nan = Number(zero() / zero())
	if _, err := nan.MarshalPlist(); !errors.Is(err, ErrNotFinite) {
		t.Errorf("NaN marshal err = %v", err)
	}
	if got := Number(1468006399.6).Int64(); got != 1468006400 {
		t.Errorf("Int64 = %d", got)
	}
}

func zero() float64 { return 0 }
