package binrec

import (
	"bytes"
	"errors"
	"maps"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
)

type sample struct {
	U     uint64
	I     int64
	B     bool
	S     string
	Blob  []byte
	F     float64
	T     time.Time
	OB    *bool
	OF    *float64
	SS    []string
	M     map[string]string
	Nils  []string
	NilB  []byte
	Empty []byte
}

func (s *sample) write() []byte {
	w := NewWriter(3, 0)
	w.Uint(s.U)
	w.Int(s.I)
	w.Bool(s.B)
	w.String(s.S)
	w.Blob(s.Blob)
	w.Float(s.F)
	w.Time(s.T)
	w.OptBool(s.OB)
	w.OptFloat(s.OF)
	w.Strings(s.SS)
	keys := slices.Sorted(maps.Keys(s.M))
	w.StringMap(s.M, keys)
	w.Strings(s.Nils)
	w.Blob(s.NilB)
	w.Blob(s.Empty)
	return w.Bytes()
}

func read(raw []byte) (sample, *Reader) {
	r := NewReader(raw)
	var s sample
	s.U, s.I, s.B, s.S, s.Blob, s.F, s.T = r.Uint(), r.Int(), r.Bool(), r.String(), r.Blob(), r.Float(), r.Time()
	s.OB, s.OF, s.SS, s.M, s.Nils, s.NilB, s.Empty = r.OptBool(), r.OptFloat(), r.Strings(), r.StringMap(), r.Strings(), r.Blob(), r.Blob()
	return s, r
}

func full() sample {
	yes, pi := true, math.Pi
	return sample{U: math.MaxUint64, I: math.MinInt64, B: true, S: "héllo\x00", Blob: []byte{0, 1, 2}, F: -0.25,
		T: time.Date(2026, 11, 22, 3, 4, 5, 123456789, time.UTC), OB: &yes, OF: &pi, SS: []string{"", "x"},
		M: map[string]string{"a": "1", "b": ""}, Empty: []byte{}}
}

func TestRoundTrip(t *testing.T) {
	for name, in := range map[string]sample{"full": full(), "zero": {Empty: []byte{}}} {
		raw := in.write()
		out, r := read(raw)
		if err := r.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Version != 3 || !IsBinary(raw) {
			t.Errorf("%s: version %d", name, r.Version)
		}
		if !reflect.DeepEqual(in, out) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, out, in)
		}
	}
}

// Every truncation of a record is an error, never a panic or a silent
// zero; trailing bytes are an error too.
func TestTruncatedAndTrailing(t *testing.T) {
	f := full()
	raw := f.write()
	for n := range len(raw) {
		if _, r := read(raw[:n]); !errors.Is(r.Err(), ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: err %v", n, r.Err())
		}
	}
	if _, r := read(append(raw, 0)); !errors.Is(r.Err(), ErrCorrupt) {
		t.Errorf("trailing byte accepted")
	}
	if IsBinary([]byte(`{"v":1}`)) || IsBinary(nil) {
		t.Error("JSON taken for binary")
	}
}

func TestBadValues(t *testing.T) {
	for name, raw := range map[string][]byte{
		"bool 2":        {Magic, 1, 2},
		"time tag 7":    {Magic, 1, 7},
		"nanoseconds":   {Magic, 1, 1, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03},
		"string length": {Magic, 1, 5, 'a'},
		"huge count":    {Magic, 1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"no header":     {'{'},
	} {
		r := NewReader(raw)
		switch name {
		case "bool 2":
			r.Bool()
		case "time tag 7", "nanoseconds":
			r.Time()
		case "string length":
			_ = r.String()
		case "huge count":
			r.Strings()
		}
		if !errors.Is(r.Err(), ErrCorrupt) {
			t.Errorf("%s: err %v", name, r.Err())
		}
	}
}

func FuzzReader(f *testing.F) {
	s := full()
	f.Add(s.write())
	f.Add([]byte{Magic, 3})
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, r := read(raw)
		if r.Err() != nil {
			return
		}
		// What decodes cleanly encodes to bytes that decode and encode
		// to themselves (the input itself may use non-canonical varints).
		b1 := out.write()
		again, r2 := read(b1)
		if r2.Err() != nil || !bytes.Equal(again.write(), b1) {
			t.Fatalf("re-encoding changed %+v", out)
		}
	})
}
