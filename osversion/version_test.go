package osversion

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Version
		str  string
	}{
		{"14.4", Version{14, 4, 0, ""}, "14.4"},
		{"14.4.0", Version{14, 4, 0, ""}, "14.4"},
		{"14.4.1", Version{14, 4, 1, ""}, "14.4.1"},
		{"26", Version{26, 0, 0, ""}, "26.0"},
		{"17.7.11", Version{17, 7, 11, ""}, "17.7.11"},
		{"17.2 (a)", Version{17, 2, 0, "(a)"}, "17.2 (a)"},
		{"13.3.1 (a)", Version{13, 3, 1, "(a)"}, "13.3.1 (a)"},
		{"13.3.1(c)", Version{13, 3, 1, "(c)"}, "13.3.1 (c)"},
		{"10.12.5", Version{10, 12, 5, ""}, "10.12.5"},
		{"0", Version{}, "0.0"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if got.String() != tt.str {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got.String(), tt.str)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"", " ", "abc", "-1", "14.-1", "14.4.1.2", "14..1", "14.", ".14",
		" 14.4", "14.4 ", "14.4 (A)", "14.4 (a", "14.4 ()", "14.4 a", "+14",
		"14.04", "99999999", "14.4 (a) (b)", "14,4", "\u0661\u0664",
	} {
		v, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want error", in, v)
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) error %v is not a *ParseError matching ErrInvalid", in, err)
		}
	}
}

func TestVersionCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"14.4", "14.4.0", 0},
		{"14.4", "14.4.1", -1},
		{"14.10", "14.9", 1},
		{"26.0.1", "26.2", -1},
		{"13.7.8", "14.4.1", -1},
		{"26.3.1", "26.3.1 (a)", -1},
		{"26.3.1 (a)", "26.3.2", -1},
		{"13.3.1 (b)", "13.3.1 (a)", 1},
		{"13.3.1 (c)", "13.3.1 (c)", 0},
		{"17.2 (a)", "17.2.1", -1},
	}
	for _, tt := range tests {
		a, b := MustParse(tt.a), MustParse(tt.b)
		if got := a.Compare(b); got != tt.want {
			t.Errorf("%q.Compare(%q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := b.Compare(a); got != -tt.want {
			t.Errorf("%q.Compare(%q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
		if got := a.Less(b); got != (tt.want < 0) {
			t.Errorf("%q.Less(%q) = %v", tt.a, tt.b, got)
		}
	}
}

func TestVersionBase(t *testing.T) {
	if got := MustParse("26.3.1 (a)").Base(); got != MustParse("26.3.1") {
		t.Errorf("Base = %v", got)
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse(\"x\") did not panic")
		}
	}()
	MustParse("x")
}

func TestVersionJSON(t *testing.T) {
	type rec struct {
		V Version `json:"v"`
		Z Version `json:"z"`
	}
	b, err := json.Marshal(rec{V: MustParse("17.2 (a)")})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"v":"17.2 (a)","z":""}` {
		t.Fatalf("marshal = %s", b)
	}
	var back rec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.V != MustParse("17.2 (a)") || !back.Z.IsZero() {
		t.Errorf("round trip = %+v", back)
	}
	if err := json.Unmarshal([]byte(`{"v":"x"}`), &back); err == nil {
		t.Error("bad version accepted from JSON")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"14.4", "17.2 (a)", "13.3.1 (a)", "", "1.2.3.4", "14.04"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		// The canonical form must parse back to the same value.
		back, err := Parse(v.String())
		if err != nil || back != v {
			t.Fatalf("Parse(%q) = %+v; String %q re-parses to %+v, %v", s, v, v.String(), back, err)
		}
	})
}
